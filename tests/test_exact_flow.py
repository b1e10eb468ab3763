"""Generated distribution of the exact learned field: the 3-D flow of (y, e_+, e_-) and P (EXACT_FINITE_N §5)."""
import dataclasses
import math

import numba
import numpy as np
import pytest
from scipy.special import ndtr

from flowphase.numerics.exact.fields import bayes_field, paper_field
from flowphase.numerics.exact.flow import flow_final, generated_flow
from flowphase.numerics.generation import bayes_euler_mode_fraction, euler_threshold_fraction, generated_distribution
from flowphase.numerics.results import ConvergenceError
from flowphase.numerics.velocity import interval_velocity_coefficients
from flowphase.theory.closed_forms import phase_two_ridge
from flowphase.theory.problem import Problem
from flowphase.validation import sampling
from flowphase.validation.sampling import _initial, generate_from_params
from flowphase.validation.tolerances import agrees, loglog_slope, tolerance

FAST = "numpy" if numba.config.DISABLE_JIT else "numba"
#: the continuous flow over 1e3-1e4 trajectories is tens of minutes in pure Python; without the JIT its code path
#: is covered by test_continuous_flow_of_few_samples_converges_to_heun_on_refined_grids
needs_jit = pytest.mark.skipif(numba.config.DISABLE_JIT, reason="pure-Python RK over 1e3-1e4 trajectories")
KEYS = ("p_hat", "mean_overlap", "mean_plus", "mean_minus", "q_plus", "q_minus", "variance", "second_moment")


def _synthetic(problem, ts):
    """An unsaturated field with memorisation and e-coupling: phase 1 of the paper's ansatz, then a finite
    encoder with z_+ != -z_- and a_+ != -a_- (tests the reduction, not a physical claim)."""
    f = paper_field(problem, ts)
    t = f.t
    two = t > 1.0
    # trivial-branch nodes (omega = 0, b = inf) written as the same constant field with a finite bias
    triv = ~np.isfinite(f.b) & ~two
    am = np.where(triv, np.abs(f.m), 1.0)
    b = np.where(triv, np.sign(f.b) * np.arctanh(np.where(triv, am, 0.0)), f.b)
    live = ~triv
    return dataclasses.replace(
        f, omega=np.where(two, 1.5 + 0.5 * (t - 1.0), f.omega), b=np.where(two, 0.2 * (t - 1.0), b),
        m=f.m / am, z_plus=np.where(two, 0.03, 0.02 * t * live), z_minus=np.where(two, -0.05, -0.04 * t * live),
        a_plus=1.2 * f.a_plus / am, a_minus=f.a_minus / am, branch=[])


def _embed(curve, d, seed=0):
    """d-dimensional (c, b, u, w) of a reduced field with exactly orthonormal mu/sqrt(d), S_+, S_-."""
    rng = np.random.default_rng(seed)
    q0 = np.ones(d) / math.sqrt(d)
    g = rng.standard_normal((d, 2))
    g -= np.outer(q0, q0 @ g)
    q1 = g[:, 0] / np.linalg.norm(g[:, 0])
    q2 = g[:, 1] - q1 * (q1 @ g[:, 1])
    q2 /= np.linalg.norm(q2)
    sp, sm = math.sqrt(curve.n_plus * d), math.sqrt(curve.n_minus * d)
    u = np.outer(curve.m, np.ones(d)) + np.outer(curve.a_plus * sp, q1) + np.outer(curve.a_minus * sm, q2)
    w = np.outer(curve.omega, np.ones(d)) + np.outer(curve.z_plus * sp, q1) + np.outer(curve.z_minus * sm, q2)
    return curve.c.copy(), curve.b.copy(), u, w, (q0, q1, q2)


# ----------------------------------------------------------------------------- layering and input checks
def test_sampler_coefficients_live_in_numerics_and_keep_their_public_name():
    assert sampling.interval_velocity_coefficients is interval_velocity_coefficients
    assert "interval_velocity_coefficients" in sampling.__all__


def test_bad_input_raises_clearly():
    pr = Problem.dilated(d=1000, n=8)
    ts = pr.schedule.grid(10)
    f = paper_field(pr, ts)
    with pytest.raises(ValueError, match="method"):
        generated_flow(f, pr, "rk45")
    with pytest.raises(ValueError, match="solved at d"):
        generated_flow(f, pr, "euler", d=4000)
    with pytest.raises(ValueError, match="solved at d"):          # d = inf (evaluated at 1e12) of a d = 1000 curve
        generated_flow(f, Problem.dilated(n=8), "euler")
    with pytest.raises(ValueError, match="no attribute 'z_plus'"):
        generated_flow(type("C", (), {k: getattr(f, k) for k in ("t", "c", "m", "a_plus", "a_minus", "omega", "b",
                                                                  "converged", "n_plus", "n_minus")})(), pr)
    with pytest.raises(ValueError, match="finite at every"):
        generated_flow(dataclasses.replace(f, m=np.full(10, np.nan)), pr)
    with pytest.raises(ConvergenceError, match="did not converge"):
        generated_flow(dataclasses.replace(f, converged=np.arange(10) != 3), pr)


# ----------------------------------------------------------------------------- the reduction is exact (d-dim run)
@pytest.mark.parametrize("method", ["euler", "heun"])
def test_reduced_flow_equals_the_d_dimensional_sampler_sample_by_sample(method):
    """Orthonormal mu, S_+-: (y, e_+, e_-) of the d-dim run equal the 3-D flow, X_perp = sqrt(P) X0_perp."""
    d, N, seed = 200, 64, 5
    pr = Problem.dilated(d=d, n=8)
    ts = pr.schedule.grid(40)
    f = _synthetic(pr, ts)
    c, b, u, w, (q0, q1, q2) = _embed(f, d)
    _, X = generate_from_params(pr, ts, c, b, u, w, n_gen=N, seed=seed, method=method, backend=FAST,
                                keep_samples=True)
    X0 = _initial(N, d, seed)
    y, ep, em, P = flow_final(f, pr, X0 @ q0, e_plus0=X0 @ q1, e_minus0=X0 @ q2, method=method)
    tol = tolerance("kernel_crosscheck")
    for got, ref in ((y, X @ q0), (ep, X @ q1), (em, X @ q2)):
        assert np.max(np.abs(got - ref)) <= tol.abs_floor + tol.rel * np.max(np.abs(ref)) * 10
    Q = np.stack([q0, q1, q2], axis=1)
    perp_T, perp_0 = X - (X @ Q) @ Q.T, X0 - (X0 @ Q) @ Q.T
    assert np.max(np.abs(perp_T - math.sqrt(P) * perp_0)) <= 1e-9
    assert abs(np.max(np.abs(y)) / math.sqrt(d)) > 0.3            # the samples did reach the modes


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_statistics_match_a_d_dimensional_monte_carlo(method):
    """p_hat, mode mean, variance of the quadrature vs 4000 d-dim samples (d = 200) within k stderr."""
    d, N = 200, 4000
    pr = Problem.dilated(d=d, n=8)
    ts = pr.schedule.grid(40)
    f = _synthetic(pr, ts)
    c, b, u, w, _ = _embed(f, d, seed=1)
    st, _ = generate_from_params(pr, ts, c, b, u, w, n_gen=N, seed=11, method=method, backend=FAST)
    g = generated_flow(f, pr, method)
    assert agrees("exact_flow_vs_samples", st["p_hat"], g.p_hat, st["p_hat_stderr"]), (st, g.value)
    assert agrees("exact_flow_vs_samples", st["mean_overlap"], g.mean_overlap, st["mean_overlap_stderr"])
    se_var = g.variance * math.sqrt(2.0 / (N * (d - 1)))
    assert agrees("exact_flow_vs_samples", st["variance"], g.variance, se_var), (st["variance"], g.variance)
    # the memorised displacement differs between the classes (a_+ != -a_-): not the paper's ansatz
    assert g.q_plus > 0 > g.q_minus and abs(g.q_plus + g.q_minus) > 0.005


def test_quadrature_accuracy_against_a_rule_with_twice_the_nodes():
    pr = Problem.dilated(d=1000, n=8)
    f = _synthetic(pr, pr.schedule.grid(40))
    for method in ("euler", "heun"):
        a = generated_flow(f, pr, method)
        b = generated_flow(f, pr, method, n_outer=12, n_gl=32, n_probe=65)
        assert a.info["coupled"] and len(a.info["y0_star"]) == 36
        assert abs(a.p_hat - b.p_hat) < 1e-9
        assert max(abs(a.value[k] - b.value[k]) for k in KEYS) < 1e-6, method
        assert abs(a.info["quadrature_mass"] - 1.0) < 1e-10


# ----------------------------------------------------------------------------- independent 1-D references
@pytest.mark.parametrize("d", [1e3, 1e5])
def test_bayes_field_euler_equals_the_exact_1d_reduction(d):
    """n = inf, authors' grid: p_hat equals bayes_euler_mode_fraction (an independent 1-D code, PAPER §3.7)."""
    pr = Problem.dilated(d=d)
    g = generated_flow(bayes_field(pr, pr.schedule.grid(80)), pr, "euler")
    assert not g.info["coupled"]
    assert abs(g.p_hat - bayes_euler_mode_fraction(pr, 79, t_end=1.975).value) < 1e-8


def _refined(base, k):
    """The piecewise-linear field of ``base`` sampled on a grid k times finer (t = 1 kept as a node)."""
    tf = np.unique(np.concatenate([np.linspace(base.t[0], base.t[-1], k * (base.t.size - 1) + 1), [1.0]]))
    return dataclasses.replace(base, **{a: np.interp(tf, base.t, getattr(base, a)) for a in
                                        ("c", "m", "a_plus", "a_minus", "omega", "b", "z_plus", "z_minus")},
                               t=tf, converged=np.ones(tf.size, bool))


def test_continuous_flow_of_few_samples_converges_to_heun_on_refined_grids():
    """Sample by sample: Heun on k-times refined grids -> the continuous flow at order 2 (runs without the JIT)."""
    pr = Problem.dilated(d=1000, n=8)
    base = _synthetic(pr, pr.schedule.grid(20))
    y0, ep0, em0 = np.array([-2.0, -0.3, 0.4, 1.5]), np.array([0.5, -1.0, 0.2, 0.0]), np.array([-0.7, 0.3, 1.1, 0.0])
    ref = np.concatenate(flow_final(base, pr, y0, e_plus0=ep0, e_minus0=em0, method="continuous")[:3])
    err = [np.max(np.abs(np.concatenate(flow_final(_refined(base, k), pr, y0, e_plus0=ep0, e_minus0=em0,
                                                   method="heun")[:3]) - ref))
           for k in (8, 16, 32)]
    assert err[2] < 1e-4 * np.max(np.abs(ref)) and err[0] / err[1] > 3 and err[1] / err[2] > 3, err


@needs_jit
def test_continuous_flow_is_the_limit_of_heun_on_refined_grids():
    """Heun on grids refining the piecewise-linear field converges to the continuous flow at order 2."""
    pr = Problem.dilated(d=1000, n=8)
    base = _synthetic(pr, pr.schedule.grid(20))
    ref = generated_flow(base, pr, "continuous")
    errs = []
    for k in (4, 8, 16):
        h = generated_flow(_refined(base, k), pr, "heun")
        errs.append(max(abs(h.value[q] - ref.value[q]) for q in KEYS))
    assert errs[2] < 2e-4 and errs[1] / errs[2] > 3.0, errs


# ----------------------------------------------------------------------------- d -> inf: PAPER §3.5
@needs_jit
def test_bayes_field_continuous_flow_gives_the_exact_marginal():
    """Exact velocity, exact integration: y_final ~ p N(+tau sqrt d, D) + (1-p) N(-tau sqrt d, D), P = D,
    so p_hat = p Phi(tau sqrt(d/D)) + (1-p) Phi(-tau sqrt(d/D)) -> p (PAPER §3.5); grid refinement at order 2."""
    d = 1e6
    pr = Problem.dilated(d=d)
    errs = []
    for k in (1, 2):
        ts = np.unique(np.concatenate([np.linspace(0, 1, 100 * k + 1), 1 + np.geomspace(1e-6, 0.975, 150 * k),
                                       1 + np.linspace(0, 0.975, 200 * k)]))
        g = generated_flow(bayes_field(pr, ts), pr, "continuous")
        tau = g.tau_end
        D = (1 - tau) ** 2 + tau ** 2
        a = tau * math.sqrt(d / D)
        p_ref = 0.8 * ndtr(a) + 0.2 * ndtr(-a)
        R_ref = (tau * math.sqrt(d) * (1 - 2 * ndtr(-a)) + 2 * math.sqrt(D) * math.exp(-a * a / 2) / math.sqrt(2 * math.pi)) / math.sqrt(d)
        errs.append((abs(g.p_hat - p_ref), abs(g.mean_overlap - R_ref), abs(g.bulk_variance - D)))
    # measured: p_hat 2.5e-8 / 6e-9, mode mean 1e-7 / 3e-7 (the quadrature floor), P 3.8e-5 / 9.3e-6
    assert errs[1][0] < 1e-7 and abs(p_ref - 0.8) < 1e-12
    assert errs[0][1] < 1e-6 and errs[1][1] < 1e-6 and errs[1][2] < 2e-5, errs
    assert errs[0][2] / errs[1][2] > 3, errs


def test_bayes_field_euler_tends_to_the_threshold_formula():
    """n = inf, Euler, phase-1 step 1/2000: p_hat -> p Phi(kappa + h/kappa) + (1-p) Phi(h/kappa - kappa)."""
    thr = euler_threshold_fraction(2.0, 0.8)
    ts = np.concatenate([np.linspace(0, 1, 2001), 1 + np.linspace(0, 0.975, 40)[1:]])
    err = []
    for d in (1e4, 1e6, 1e8):
        pr = Problem.dilated(d=d)
        err.append(abs(generated_flow(bayes_field(pr, ts), pr, "euler").p_hat - thr))
    assert err[0] > err[1] > err[2] and err[2] < 5e-5, err


@pytest.mark.parametrize("method", ["heun", pytest.param("continuous", marks=needs_jit)])
def test_paper_field_reduces_to_the_closed_forms_as_d_grows(method):
    """Paper's ansatz (n = 32, lam = 2) at d = 1e4..1e8: R -> n tau/(n+lam), Q_+- -> +-sigma tau/(n+lam),
    P -> D/B (PAPER §3.5 fresh noise), p_hat -> the d = inf theory's Euler threshold; deviations ~ d^(-1/2)."""
    n, lam = 32, 2.0
    ref_p = generated_distribution(Problem.dilated(n=n), "euler").p_hat
    ts = np.concatenate([np.linspace(0, 1, 401), 1 + np.linspace(0, 0.975, 1600)[1:]])
    ds, dev = (1e4, 1e6, 1e8), []
    for d in ds:
        pr = Problem.dilated(d=d, n=n)
        g = generated_flow(paper_field(pr, ts), pr, method)
        tau = g.tau_end
        r = phase_two_ridge(tau, n, 1.0, lam, "fresh")
        dev.append([abs(g.mean_overlap - n * tau / (n + lam)), abs(g.q_plus - tau / (n + lam)),
                    abs(g.q_minus + tau / (n + lam)), abs(g.variance - r["D"] / r["B"]), abs(g.p_hat - ref_p)])
    pr = Problem.dilated(n=n)                                   # d = inf: evaluated at d = 1e12
    g = generated_flow(paper_field(pr, ts), pr, method)
    assert g.d == math.inf and g.tau_end == pytest.approx(0.975, abs=1e-12)
    r = phase_two_ridge(0.975, n, 1.0, lam, "fresh")
    dev.append([abs(g.mean_overlap - n * 0.975 / (n + lam)), abs(g.q_plus - 0.975 / (n + lam)),
                abs(g.q_minus + 0.975 / (n + lam)), abs(g.variance - r["D"] / r["B"]), abs(g.p_hat - ref_p)])
    dev = np.array(dev)
    assert np.all(dev[-2:] < [1e-4, 1e-5, 1e-5, 1e-5, 5e-5]), dev
    slope = loglog_slope(ds[:2], dev[:2, 0])
    assert -0.6 < slope < -0.4, (slope, dev)
