"""Tests of the generated distribution (numerics/generation/, PAPER §3.5, §3.7)."""
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.special import ndtr

from flowphase.numerics import generation as G
from flowphase.numerics import rk
from flowphase.theory.problem import Problem

P, KAPPA = 0.8, 2.0
H = math.atanh(2 * P - 1)


def _mixture_cdf(y, kappa=KAPPA, p=P):
    return p * ndtr(y - kappa) + (1 - p) * ndtr(y + kappa)


@pytest.fixture(scope="module")
def pop():
    return Problem.dilated(p=P, kappa=KAPPA)


def test_phase_one_population_transport_moments(pop):
    # y(1) ~ p N(kappa, 1) + (1-p) N(-kappa, 1): E y = kappa (2p-1) = 1.2, E y^2 = kappa^2 + 1 = 5
    x, w, y1, _ = G.phase_one_transport(pop)
    assert np.sum(w * y1) == pytest.approx(1.2, abs=1e-6)
    assert np.sum(w * y1 ** 2) == pytest.approx(5.0, abs=1e-5)


def test_phase_one_population_cdf_via_separatrix(pop):
    tg, cv = G.phase_one_curves(pop)
    for y in (-2.0, -0.3466, 0.0, 1.0, 3.0):
        p_above = G.separatrix_fraction(y, [(tg, cv, 0.0, 1.0)]).value
        assert p_above == pytest.approx(1 - _mixture_cdf(y), abs=1e-8)
    g = G.generated_distribution(pop, "euler")
    assert g.y1_prob_positive == pytest.approx(0.78635, abs=1e-5)
    assert g.y1_mean == pytest.approx(1.2, abs=1e-6)


def test_transition_conventions_population(pop):
    ex = G.generated_distribution(pop, "exact")
    eu = G.generated_distribution(pop, "euler")
    assert ex.p_hat == pytest.approx(P, abs=1e-6)                       # exact flow: p_hat = p
    ref = P * ndtr(KAPPA + H / KAPPA) + (1 - P) * ndtr(H / KAPPA - KAPPA)
    assert eu.p_hat == pytest.approx(ref, abs=1e-8)
    assert eu.p_hat == pytest.approx(0.8022, abs=1e-4)
    assert G.euler_threshold_fraction(KAPPA, P) == pytest.approx(ref, rel=1e-14)
    # the Euler threshold artefact shrinks as kappa grows (PAPER §3.5)
    big = G.generated_distribution(pop.replace(kappa=4.0), "euler")
    assert abs(big.p_hat - P) < abs(eu.p_hat - P)


def test_transport_matches_solve_ivp_on_finite_n_curves():
    pr = Problem.dilated(p=P, kappa=KAPPA, n=128, lam_u=2.0, lam_w=2.0)
    tg, cv = G.phase_one_curves(pr, n_grid=21)
    y0 = np.array([-2.0, -0.5, 0.0, 0.7, 2.5])
    ours = rk.solve(rk.rhs_tanh, [0.0, 1.0], y0, tgrid=tg, curves=cv, stop_at_nodes=True).value[-1]

    def f(t, y):
        a, om, b, m = (np.interp(t, tg, c) for c in cv)
        return a * y + m * np.tanh(om * y + b)

    ref = y0.copy()
    for k in range(len(tg) - 1):  # scipy leg by leg between the curve nodes (no step straddles a kink)
        ref = solve_ivp(f, (tg[k], tg[k + 1]), ref, rtol=1e-12, atol=1e-13, method="DOP853").y[:, -1]
    assert np.max(np.abs(ours - ref)) < 1e-7


@pytest.mark.parametrize("noise", ["fixed", "fresh", "notebook"])
def test_phase_two_ode_vs_closed_form(noise):
    pr = Problem.dilated(n=128, lam_u=2.0, lam_w=2.0, sigma=1.3, noise=noise)
    tps = np.array([0.0, 0.25, 0.5, 0.9, 1.0])
    res = G.phase_two_flow(pr, tps=tps)
    for k, tp in enumerate(tps):
        cl = G.phase_two_closed_form(tp, 128, 1.3, 2.0, noise)
        assert res.value[k] == pytest.approx([cl["R"], cl["Q_eta"], cl["Q_xi"], cl["P"]], abs=2e-6)


def test_generated_mean_and_variance_closed_forms():
    n, lam, s = 128, 2.0, 1.0
    kw = dict(n_grid=21, n_nodes=41)
    fresh = G.generated_distribution(Problem.dilated(n=n, lam_u=lam, lam_w=lam, noise="fresh"), "euler", **kw)
    fixed = G.generated_distribution(Problem.dilated(n=n, lam_u=lam, lam_w=lam, noise="fixed"), "euler", **kw)
    assert fresh.mean_overlap == pytest.approx(0.984615, abs=1e-6)      # n/(n+lam)
    assert fixed.mean_overlap == pytest.approx(n / (n + lam), rel=1e-14)
    assert fresh.variance == pytest.approx(s ** 2 + (lam - s ** 2) / (n + lam), rel=1e-13)
    assert fixed.variance == pytest.approx(s ** 2 + lam / (n + lam - 1), rel=1e-13)
    assert fresh.info["ode"]["R"] == pytest.approx(fresh.mean_overlap, abs=1e-6)
    assert fresh.info["ode"]["P"] == pytest.approx(fresh.variance, abs=1e-6)


def test_finite_n_mode_fraction_converges_to_p():
    # p_hat - p = Theta(1/n) (PAPER §3.2, §3.8): measured 2.0e-3, 5.1e-4, 1.6e-4 at n = 512, 2048, 8192
    ns = np.array([512.0, 2048.0, 8192.0])
    errs = []
    for n in ns:
        pr = Problem.dilated(p=P, kappa=KAPPA, n=n, lam_u=2.0, lam_w=2.0)
        g = G.generated_distribution(pr, "exact", n_grid=41, n_nodes=41, window_end=20.0)
        errs.append(abs(g.p_hat - P))
    slope = np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert -1.15 < slope < -0.8
    assert errs[-1] < 3e-4


def test_mode_fraction_table_population_limit():
    rows = G.mode_fraction_table(Problem.dilated(p=P, kappa=KAPPA), [math.inf])
    assert rows[0]["p_hat_exact"] == pytest.approx(P, abs=1e-6)
    assert rows[0]["p_hat_euler"] == pytest.approx(G.euler_threshold_fraction(KAPPA, P), abs=1e-8)
    assert rows[0]["mean_overlap"] == 1.0 and rows[0]["variance"] == pytest.approx(1.0, rel=1e-14)


def test_bayes_window_vs_learned_window_population_agree():
    # at n = inf both windows are the exact field
    pr = Problem.dilated(p=0.7, kappa=1.5)
    a = G.generated_distribution(pr, "exact", window="learned").p_hat
    b = G.generated_distribution(pr, "exact", window="bayes").p_hat
    assert a == pytest.approx(b, abs=1e-12)
    assert a == pytest.approx(0.7, abs=1e-6)


def _mc_bayes_euler(p, sigma, d, T, n_samples, rng, n_steps=None):
    """d-dimensional Euler with the exact Bayes denoiser, undilated tau = t, step 1/T (PAPER §2.1, §2.4)."""
    h = math.atanh(2 * p - 1)
    mu = np.ones(d)
    x = rng.standard_normal((n_samples, d))
    for k in range(T if n_steps is None else n_steps):
        tau, dt = k / T, 1.0 / T
        a = 1 - tau
        D = a * a + tau * tau * sigma * sigma
        f = (tau * sigma ** 2 / D) * x + (a * a / D) * np.tanh(h + tau * (x @ mu) / D)[:, None] * mu[None, :]
        x = x + dt * (f - x) / (1 - tau)
    return np.mean(x @ mu > 0)


def test_undilated_reduction_matches_d_dim_monte_carlo():
    rng = np.random.default_rng(1)
    d, T, N = 64, 6, 40000
    mc = _mc_bayes_euler(0.8, 1.0, d, T, N, rng)
    se = math.sqrt(mc * (1 - mc) / N)
    red = G.undilated_mode_fraction(0.8, 1.0, d, T)
    assert red.converged and abs(mc - red.value) < 4 * se


def test_undilated_drift_with_d_and_recovery_with_T():
    vals = [G.undilated_mode_fraction(0.8, 1.0, d, 20).value for d in (100, 1000, 10000)]
    assert vals[0] < vals[1] < vals[2]
    assert vals[2] > 0.85
    assert float(G.undilated_mode_fraction(0.8, 1.0, 100, 4000)) == pytest.approx(0.8, abs=1e-3)
    # the authors' grid convention (T points, T-1 steps of 1/T) equals an explicit Monte-Carlo of it
    T = 5
    rng = np.random.default_rng(11)
    mc = _mc_bayes_euler(0.8, 1.0, 36, T, 40000, rng, n_steps=T - 1)
    red = G.undilated_mode_fraction(0.8, 1.0, 36, T - 1, t_end=(T - 1) / T).value
    assert abs(mc - red) < 4 * math.sqrt(mc * (1 - mc) / 40000)


def test_dilated_authors_sampler_exact_field():
    # PAPER §8 check 12: code-style Euler (T = 80 grid, 79 steps to t = 1.975, d = 5000, exact field) ~ 0.803
    pr = Problem.dilated(p=0.8, kappa=2.0, d=5000)
    r = G.bayes_euler_mode_fraction(pr, 79, t_end=1.975)
    assert r.value == pytest.approx(0.803, abs=1e-3)


def test_bad_input(pop):
    with pytest.raises(ValueError, match="transition"):
        G.generated_distribution(pop, "bogus")
    with pytest.raises(ValueError, match="window"):
        G.generated_distribution(pop, "exact", window="bogus")
    with pytest.raises(ValueError, match="dilated"):
        G.generated_distribution(Problem.undilated(), "exact")
    with pytest.raises(ValueError, match="n_steps"):
        G.undilated_mode_fraction(0.8, 1.0, 100, 0)
    with pytest.raises(ValueError, match="finite"):
        G.bayes_euler_mode_fraction(Problem.undilated(), 10)
