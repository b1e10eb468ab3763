"""K-mode mixtures at n = infinity (issue 15): problem description, Bayes field, MSE, windows, decision times, flow."""
import math

import numpy as np
import pytest
from scipy.special import logsumexp

from flowphase.numerics.mse import bayes_mse
from flowphase.numerics.multimode import (analyse_windows, asymptotic_mse, bayes_denoiser, bayes_mse_k, design_multiwindow,
                                          full_flow, mode_curves, projection_flow, schedule_from_mixture,
                                          snr_of_tau, spectral_speciation, tau_of_snr)
from flowphase.numerics.multimode.flow import initial_points
from flowphase.numerics.schedules import PiecewiseSchedule
from flowphase.numerics.speciation import speciation_time_linear
from flowphase.theory.mixtures import Hierarchy, KMixture, hierarchical
from flowphase.theory.problem import Mixture, Problem, TimeDilation, UniformSchedule
from flowphase.validation.tolerances import agrees, allowed_deviation

EX = Hierarchy(coarse=(0.6, 0.4), fine=((0.8, 0.2), (0.6, 0.4)), eps=(0.15, 0.02))


# ----------------------------------------------------------------------------- problem description
@pytest.mark.parametrize("kw, msg", [
    (dict(weights=(0.5, 0.4), gram=np.eye(2)), "sum to 1"),
    (dict(weights=(0.5, 0.5), gram=[[1, 2], [2, 1]]), "positive semi-definite"),
    (dict(weights=(0.5, 0.5), gram=[[1, 0.1], [0.2, 1]]), "symmetric"),
    (dict(weights=(0.5, 0.5), gram=[[2, 0], [0, 1]]), "unit diagonal"),
    (dict(weights=(0.5, 0.5), gram=[[1, 1], [1, 1]]), "coincide"),
    (dict(weights=(0.5, 0.5), gram=np.eye(3)), "3 x 3|2 x 2"),
    (dict(weights=(0.5, 0.5), gram=np.eye(2), sigma=0.0), "sigma"),
    (dict(weights=(0.5, 0.5), gram=np.eye(2), d=10.5), "integer"),
    (dict(weights=(1.2, -0.2), gram=np.eye(2)), "> 0"),
])
def test_kmixture_rejects_bad_input(kw, msg):
    with pytest.raises(ValueError, match=msg):
        KMixture(**kw)


def test_two_mode_is_the_k2_case():
    m = Mixture(p=0.7, sigma=1.3, d=50)
    k = KMixture.from_two_mode(m)
    assert k.K == 2 and k.rank == 1 and k.to_two_mode() == m
    with pytest.raises(ValueError):
        KMixture(weights=(0.5, 0.5), gram=np.eye(2)).to_two_mode()


def test_vectors_gram_and_means_roundtrip():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 40))
    M *= math.sqrt(40) / np.linalg.norm(M, axis=1, keepdims=True)
    k = KMixture.from_vectors((0.2, 0.3, 0.5), M)
    np.testing.assert_allclose(k.G, M @ M.T / 40, atol=1e-12)
    for rot in (None, 3):
        Mk = k.means(40, rotate=rot)
        np.testing.assert_allclose(Mk @ Mk.T / 40, k.G, atol=1e-10)
    with pytest.raises(ValueError, match=r"\|mu_k\|\^2 = d"):
        KMixture.from_vectors((0.5, 0.5), 2 * M[:2])


def test_hierarchy_sibling_separation_and_scaling():
    H = Hierarchy(coarse=(0.5, 0.3, 0.2), fine=((0.5, 0.5), (0.2, 0.3, 0.5), (1.0,)), eps=(0.3, 0.1, 0.5),
                  gamma=0.25, d_ref=100)
    for d in (100, 1600):
        m = H.mixture(d)
        eps = H.eps_at(d)
        np.testing.assert_allclose(eps, np.array([0.3, 0.1, 0.5]) * (d / 100) ** -0.25)
        G = m.G
        assert np.linalg.eigvalsh(G).min() > -1e-12
        np.testing.assert_allclose(1 - G[0, 1], eps[0] ** 2, rtol=1e-12)
        for a, b in ((2, 3), (2, 4), (3, 4)):
            np.testing.assert_allclose(1 - G[a, b], eps[1] ** 2, rtol=1e-12)
        assert abs(sum(m.weights) - 1) < 1e-12 and m.weights[2] == pytest.approx(0.3 * 0.2)
        assert len(m.tree) == 3 and sorted(len(ch) for ch in m.tree[0]) == [1, 2, 3]
    with pytest.raises(ValueError, match="eps"):
        Hierarchy(coarse=(0.5, 0.5), fine=((0.5, 0.5), (1.0,)), eps=1.5)
    with pytest.raises(ValueError, match="one weight list per parent"):
        hierarchical((0.5, 0.5), ((0.5, 0.5),), d=10)


def test_exact_class_counts():
    m = EX.mixture(100)
    cnt = m.class_counts(256)
    assert cnt.sum() == 256 and np.all(np.abs(cnt - 256 * m.p) < 1)
    _, k, _ = m.sample(256, d=20, rng=1)
    np.testing.assert_array_equal(np.bincount(k, minlength=4), cnt)


# ----------------------------------------------------------------------------- Bayes field
def test_bayes_denoiser_matches_brute_force_posterior_mean():
    """f*(x) against E[x1|x] from the Gaussian-mixture likelihood of x (scipy-free, independent algebra)."""
    m = EX.mixture(7)
    M = m.means(7, rotate=2)
    rng = np.random.default_rng(3)
    tau = 0.4
    a, b, s2 = 1 - tau, tau, m.sigma ** 2
    x = rng.standard_normal((5, 7)) * 2
    D = a * a + b * b * s2
    # log p(x | k) = log N(x; b mu_k, D I); E[x1 | x, k] = mu_k + (b s2 / D)(x - b mu_k)
    ll = np.log(m.p)[None] - ((x[:, None, :] - b * M[None]) ** 2).sum(-1) / (2 * D)
    post = np.exp(ll - logsumexp(ll, axis=1, keepdims=True))
    cond = M[None] + (b * s2 / D) * (x[:, None, :] - b * M[None])
    ref = (post[..., None] * cond).sum(1)
    np.testing.assert_allclose(bayes_denoiser(m, x, tau, M), ref, atol=1e-12)


# ----------------------------------------------------------------------------- MSE
def test_mse_k2_equals_two_mode_quadrature():
    k = KMixture.from_two_mode(Mixture(p=0.8, d=1000))
    tau = np.array([0.0, 0.005, 0.02, 0.05, 0.3])
    eps, se = bayes_mse_k(k, tau, m=12)
    ref = bayes_mse(Problem.undilated(p=0.8, d=1000), tau)
    for e, s, r in zip(eps, se, ref):
        assert agrees("multimode_mse_qmc", e, r, s), (e, r, s)


def test_mse_qmc_matches_gauss_hermite_k3():
    m = KMixture(weights=(0.5, 0.3, 0.2), gram=[[1, 0.6, -0.5], [0.6, 1, -0.5], [-0.5, -0.5, 1]], d=400)
    assert m.rank == 3
    s = np.array([0.3, 1.0, 2.5])
    q = mode_curves(m, s, method="qmc", m=11)
    g = mode_curves(m, s, method="gh", n_quad=36)
    for i in range(s.size):
        assert agrees("multimode_mse_qmc", q.U[i], g.U[i], q.U_se[i])
        for j in range(len(m.tree)):
            assert agrees("multimode_mse_qmc", q.V[j, i], g.V[j, i], q.V_se[j, i])


def test_mse_matches_monte_carlo_in_d_dimensions():
    """eps(tau) against a brute-force Monte-Carlo average of |f*(x) - x1|^2/d at d = 30."""
    d, tau, N = 30, 0.15, 40000
    m = EX.mixture(d)
    M = m.means(d, rotate=1)
    x1, _, _ = m.sample(N, rng=5, labels="categorical", means=M)
    x = (1 - tau) * np.random.default_rng(6).standard_normal(x1.shape) + tau * x1
    err = ((bayes_denoiser(m, x, tau, M) - x1) ** 2).sum(1) / d
    eps, se = bayes_mse_k(m, tau, d=d, m=12)
    assert abs(eps[0] - err.mean()) <= 4 * math.hypot(err.std() / math.sqrt(N), se[0])


def test_window_structure_converges_like_one_over_sqrt_d():
    """eps(s/sqrt(d)) at finite d -> sigma^2 + U(s) with O(1/sqrt(d)) corrections (fixed Gram matrix)."""
    from flowphase.validation.tolerances import loglog_slope, slope_ok

    m = hierarchical((0.6, 0.4), ((0.8, 0.2), (0.6, 0.4)), d=100, eps=0.3)
    s = np.array([0.5, 1.0, 3.0])
    lim, _ = asymptotic_mse(m, s, m=10, seed=1)
    ds = np.array([1e3, 1e4, 1e5])
    dev = [np.max(np.abs(bayes_mse_k(m, s / math.sqrt(d), d=d, m=10, seed=1)[0] - lim)) for d in ds]
    assert slope_ok("multimode_asymptotic", loglog_slope(ds, dev)), dev


def test_snr_tau_inverse_and_window_scaling():
    for d in (100, 1e6):
        tau = np.array([1e-4, 0.01, 0.3, 0.9])
        np.testing.assert_allclose(tau_of_snr(snr_of_tau(tau, d, 1.3), d, 1.3), tau, rtol=1e-10)
    assert tau_of_snr(2e3, 100) == 1.0


# ----------------------------------------------------------------------------- decision times and windows
def test_spectral_time_is_predecessor_speciation_for_balanced_two_modes():
    k = KMixture.from_two_mode(Mixture(p=0.5, d=5000))
    lam, tau = spectral_speciation(k, k.tree[0], 5000)
    assert lam == pytest.approx(5001.0)
    assert tau == pytest.approx(speciation_time_linear(5000, sigma=1.0), rel=1e-12)


def test_sibling_decision_scales_like_one_over_eps():
    """A sibling split with 1 - G = eps^2 is decided at s ~ 1/eps, i.e. tau ~ 1/(eps sqrt d)."""
    s_half = []
    for eps in (0.04, 0.02):
        m = hierarchical((0.5, 0.5), ((0.7, 0.3), (1.0,)), d=1e6, eps=eps)
        c = mode_curves(m, np.geomspace(1, 400, 60), m=10)
        v = c.V[1]
        s_half.append(float(np.exp(np.interp(0.5, v[::-1], np.log(c.snr)[::-1]))) * eps)
    assert abs(s_half[0] / s_half[1] - 1) < 0.03


def test_detector_finds_every_window_of_the_example():
    an = analyse_windows(EX.mixture(1e4), m=10)
    assert len(an.windows) == 3 and len(an.decisions) == 3
    for w, dec in zip(an.windows, sorted(an.decisions, key=lambda x: x["s_half"])):
        assert w["splits"] == [dec["split"]] and w["s_start"] < dec["s_half"] < w["s_end"]
        assert w["start"] < dec["tau_bayes"] < w["end"]
    # the coarse split at tau ~ 1/sqrt(d): spectral and Bayes decision times within 15 %
    coarse = an.decisions[0]
    assert coarse["tau_spectral"] == pytest.approx(coarse["tau_bayes"], rel=0.15)


def test_designer_puts_the_mass_into_the_windows():
    win = [{"start": 0.001, "end": 0.01, "size": 1.0}, {"start": 0.05, "end": 0.2, "size": 3.0}]
    sch = design_multiwindow(win, mass=0.6, sub=3)
    assert isinstance(sch, PiecewiseSchedule) and len(sch.windows) == 6
    mass = sch.window_mass()
    assert sum(mass) == pytest.approx(0.6) and sum(mass[:3]) == pytest.approx(0.15)
    np.testing.assert_allclose(sch.windows[1].end / sch.windows[1].start, sch.windows[2].end / sch.windows[2].start)
    with pytest.raises(ValueError):
        design_multiwindow([{"start": 0.3, "end": 0.2}])


# ----------------------------------------------------------------------------- flow
@pytest.mark.parametrize("method", ["euler", "heun"])
def test_projection_flow_is_the_d_dimensional_flow(method):
    d = 12
    m = EX.mixture(d)
    M = m.means(d, rotate=4)
    Q = np.linalg.lstsq(math.sqrt(d) * m.factor, M, rcond=None)[0].T   # d x r frame with M = sqrt(d) A Q^T
    X0 = np.random.default_rng(0).standard_normal((64, d))
    sch = PiecewiseSchedule.from_time_dilation(TimeDilation(2.0, d))
    XT = full_flow(m, sch, X0, M, n_times=30, method=method)
    res = projection_flow(m, sch, n_times=30, method=method, z0=(X0 @ Q)[None])
    from flowphase.numerics.multimode.flow import _integrate
    from flowphase.numerics.multimode.field import velocity_z

    zT = _integrate(lambda z, t: velocity_z(m, z, t, d), X0 @ Q, np.asarray(sch.tau(sch.grid(30))), method)
    assert np.max(np.abs(XT @ Q - zT)) <= allowed_deviation("multimode_projection", np.max(np.abs(zT)))
    from flowphase.numerics.multimode.field import posterior

    np.testing.assert_allclose(res.p_hat, posterior(m, XT, res.tau_end, M).mean(0), atol=1e-9)


def test_continuous_exact_flow_generates_the_weights_at_d_1e6():
    m = EX.mixture(1e6)
    sch, _ = schedule_from_mixture(m, m=9)
    res = projection_flow(m, sch, n_times=80, method="continuous", n_fine=256, m=10, reps=4)
    assert res.integration_error < 1e-3
    for a, b, se in zip(res.p_hat, m.p, res.p_hat_se):
        assert agrees("multimode_exact_flow", a, b, se), (res.p_hat, m.p)


def test_designed_schedule_beats_the_dilation_on_the_fine_split_at_d_1e6():
    from flowphase.validation.figures.hierarchy import fine_split_errors, schedules_at
    from flowphase.validation.tolerances import tolerance

    m = EX.mixture(1e6)
    sch, _ = schedules_at(EX, 1e6, m=9)
    tol = tolerance("multimode_designed_p_hat").abs_floor
    des = projection_flow(m, sch["designed"], n_times=80, m=10, reps=2)
    pap = projection_flow(m, sch["paper"], n_times=80, m=10, reps=2)
    assert des.max_error <= tol
    assert max(v for k, v in fine_split_errors(m, pap.p_hat).items() if "," not in k) > tol


def test_initial_points_are_standard_normal():
    z = initial_points(3, m=12, reps=2).reshape(-1, 3)
    np.testing.assert_allclose(z.mean(0), 0, atol=0.01)
    np.testing.assert_allclose(np.cov(z.T), np.eye(3), atol=0.02)
