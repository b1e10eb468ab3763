"""Exact finite-n theory (EXACT_FINITE_N §2-4): derivation limits, solver against independent references.

References: sympy simplification of the limits (§4), the fresh-noise ridge closed forms of PAPER §3.4,
scipy minimisation of the **full** (n + 2)-parameter problem written directly from the per-point loss
of EXACT_FINITE_N §2 (class symmetry, §3), scipy quadrature, and the n -> inf population point (PAPER §3.1).
"""
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from flowphase.numerics.exact import exact_curve, exact_energy, solve_exact
from flowphase.numerics.results import ConvergenceError  # noqa: F401
from flowphase.theory.closed_forms import phase_two_ridge
from flowphase.theory.problem import Problem
from flowphase.validation.tolerances import loglog_slope


@pytest.fixture(scope="module")
def limits():
    from flowphase.theory import exact as ex

    return ex.limit_residuals()


@pytest.mark.parametrize("name", ["phase1_c", "ridge_c", "ridge_m", "ridge_a_plus", "ridge_a_minus",
                                  "paper_potential"])
def test_symbolic_limits_vanish(limits, name):
    """EXACT_FINITE_N §4.1-4.3: c = 0 at d = inf in phase 1, the saturated limit is the ridge, the paper's
    ansatz is a restriction of the exact potential (each residual simplifies to exactly 0)."""
    assert limits[name] == 0


def test_trivial_energy_closed_form():
    import sympy as sp

    from flowphase.theory import exact as ex

    S = ex.SYMBOLS
    n = S["n_plus"] + S["n_minus"]
    expected = n * (1 + S["sigma"] ** 2) - ((S["n_plus"] - S["n_minus"]) ** 2 + S["sigma"] ** 2 * n) / (S["lam_u"] + n)
    assert sp.cancel(ex.trivial_energy() - expected) == 0


# ----------------------------------------------------------------------------- independent full problem
_G, _W = np.polynomial.hermite_e.hermegauss(121)
_W = _W / _W.sum()


def _full_loss(x, labels, alpha, beta, B, inv_sqrt_d, sigma, lam_u, lam_w):
    """L/d of EXACT_FINITE_N §2 with one z_nu, a_nu per point (no class symmetry assumed)."""
    n = labels.size
    omega, b = x[0], x[1]
    z = x[2:2 + n]
    c, m = x[2 + n], x[3 + n]
    a = x[4 + n:4 + 2 * n]
    r = omega ** 2 + z @ z
    q = m ** 2 + a @ a
    v = m * omega + a @ z
    pre = alpha * math.sqrt(r) * _G[None, :] + (B * (labels * omega + sigma * z) + b)[:, None]
    ph = np.tanh(pre)
    M = ph @ _W
    Q = (ph ** 2) @ _W
    per = (c * c * alpha ** 2 + (c * beta - 1) ** 2 * (1 + sigma ** 2) + q * Q
           + 2 * (c * beta - 1) * (labels * m + sigma * a) * M + 2 * c * alpha ** 2 * v * (1 - Q) * inv_sqrt_d)
    return per.sum() + lam_u * q + lam_w * r


@pytest.mark.parametrize("t,d", [(0.5, math.inf), (1.0, 1000.0)])
def test_class_symmetric_minimum_is_global_minimum_of_full_problem(t, d):
    """n = 16 from random starts: the full (2n + 4)-variable minimum equals the class-symmetric solver's E."""
    n, p = 16, 0.75
    pr = Problem.dilated(n=n, p=p, sigma=1.2)
    r = solve_exact(pr, t, d)
    labels = np.array([1.0] * r.n_plus + [-1.0] * r.n_minus)
    args = (labels, r.alpha, r.beta, r.B, 0.0 if math.isinf(d) else 1 / math.sqrt(d), 1.2, 2.0, 2.0)
    rng = np.random.default_rng(1)
    best = math.inf
    for _ in range(4):
        x0 = np.concatenate([[rng.uniform(0.2, 1.5), rng.uniform(-1, 1.5)], rng.normal(0, 0.05, n),
                             [rng.normal(0, 0.05), rng.uniform(0, 1)], rng.normal(0, 0.05, n)])
        res = minimize(_full_loss, x0, args=args, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
        best = min(best, res.fun)
    assert best >= r.energy - 1e-9 * abs(r.energy)
    assert abs(best - r.energy) < 1e-7 * abs(r.energy), (best, r.energy)
    # and the class-symmetric point itself reproduces the solver's energy in the full loss
    x = np.concatenate([[r.omega, r.b], [r.z_plus] * r.n_plus + [r.z_minus] * r.n_minus, [r.c, r.m],
                        [r.a_plus] * r.n_plus + [r.a_minus] * r.n_minus])
    assert abs(_full_loss(x, *args) - r.energy) < 1e-10 * abs(r.energy)


def test_energy_matches_scipy_quad():
    """The potential's Gaussian moments (trapezoid rule) against scipy.integrate.quad, at a generic point."""
    from scipy.integrate import quad

    pr = Problem.dilated(n=20, sigma=0.8)
    theta = (0.9, 0.4, 0.03, -0.05)
    E = exact_energy(theta, pr, 0.6, d=500.0)
    r = solve_exact(pr, 0.6, d=500.0)
    npl, nmi = r.n_plus, r.n_minus
    omega, b, zp, zm = theta
    sr = math.sqrt(omega ** 2 + npl * zp ** 2 + nmi * zm ** 2)

    def mom(mean, power):
        f = lambda g: np.tanh(r.alpha * sr * g + mean) ** power * math.exp(-g * g / 2) / math.sqrt(2 * math.pi)
        return quad(f, -12, 12, epsabs=1e-14, epsrel=1e-13)[0]

    labels = np.array([1.0] * npl + [-1.0] * nmi)
    z = np.array([zp] * npl + [zm] * nmi)
    M = np.array([mom(r.B * (s * omega + 0.8 * zz) + b, 1) for s, zz in zip(labels, z)])
    Q = np.array([mom(r.B * (s * omega + 0.8 * zz) + b, 2) for s, zz in zip(labels, z)])
    # minimise the (quadratic) inner problem numerically with the quad moments
    inv = 1 / math.sqrt(500.0)

    def inner(y):
        c, m, ap, am = y
        a = np.array([ap] * npl + [am] * nmi)
        q = m * m + a @ a
        v = m * omega + a @ z
        per = (c * c * r.alpha ** 2 + (c * r.beta - 1) ** 2 * (1 + 0.64) + q * Q
               + 2 * (c * r.beta - 1) * (labels * m + 0.8 * a) * M + 2 * c * r.alpha ** 2 * v * (1 - Q) * inv)
        return per.sum() + 2.0 * q + 2.0 * (omega ** 2 + z @ z)

    ref = minimize(inner, np.zeros(4), method="BFGS", options={"gtol": 1e-11}).fun
    assert abs(E - ref) < 1e-9 * abs(ref), (E, ref)


# ----------------------------------------------------------------------------- limits through the solver
def test_saturated_phase_two_equals_fresh_ridge():
    pr = Problem.dilated(n=64, sigma=1.3, lam_u=3.0)
    for t in (1.1, 1.5, 1.9):
        r = solve_exact(pr, t)
        ref = phase_two_ridge(t - 1, 64, 1.3, 3.0, "fresh")
        assert r.branch == "saturated"
        assert abs(r.c - ref["c"]) < 1e-12 and abs(r.m - ref["m"]) < 1e-12
        assert abs(r.a_plus - ref["q_eta"]) < 1e-12 and abs(r.a_minus + ref["q_eta"]) < 1e-12


def test_finite_d_phase_two_approaches_saturated_limit():
    """At t = 1.5 the finite-d c tends to the d = inf ridge value as d grows (B = beta sqrt d -> inf)."""
    pr = Problem.dilated(n=64)
    ds = (1e3, 1e4, 1e5)
    devs = []
    for d in ds:
        r = solve_exact(pr, 1.5, d)
        ref = phase_two_ridge(r.tau, 64, 1.0, 2.0, "fresh")     # ridge at the actual tau
        devs.append(abs(r.c - ref["c"]))
    assert devs[0] > devs[1] > devs[2]
    assert devs[2] < 1e-3


def test_phase_one_c_vanishes_at_infinite_d_and_is_order_inverse_sqrt_d():
    pr = Problem.dilated(n=64)
    assert solve_exact(pr, 0.5).c == 0.0
    cs = [solve_exact(pr, 0.5, d).c for d in (1e3, 1e4, 1e5)]
    assert -0.55 < loglog_slope((1e3, 1e4, 1e5), cs) < -0.45


def test_large_n_reaches_population_point_like_inverse_n():
    pr0 = Problem.dilated()
    ns = (1e3, 1e4, 1e5)
    errs = []
    for n in ns:
        r = solve_exact(pr0.replace(n=n), 0.5)
        errs.append(abs(r.omega - 1.0) + abs(r.b - pr0.h) + abs(r.m - 1.0))
    slope = loglog_slope(ns, errs)
    assert -1.2 < slope < -0.8, (errs, slope)


def test_memorisation_is_class_resolved_and_sigma_dependence_is_order_inverse_n():
    """EXACT_FINITE_N §4.4: z_plus != z_minus, sqrt(r) > omega; the sigma = 1.5 vs 0.5 difference of b decays
    like 1/n at d = inf (n = 16, 64, 256, t = 0.5)."""
    gaps = []
    for n in (16, 64, 256):
        rs = {s: solve_exact(Problem.dilated(n=n, sigma=s), 0.5) for s in (0.5, 1.5)}
        assert rs[1.5].z_plus != rs[1.5].z_minus and rs[1.5].sqrt_r > rs[1.5].omega
        gaps.append(rs[1.5].b - rs[0.5].b)
    assert all(g > 0 for g in gaps)
    assert -1.15 < loglog_slope((16, 64, 256), gaps) < -0.85, gaps


def test_curve_detects_first_order_jump_and_is_continuous_across_phases_at_finite_d():
    pr = Problem.dilated(n=128, lam_u=50.0, lam_w=1.0)
    cur = exact_curve(pr, np.linspace(0.0, 1.0, 101))
    assert len(cur.jumps) == 1
    j = cur.jumps[0]
    assert 0.14 < j.t_star < 0.16 and 0.6 < j.size < 0.85, j
    assert np.all(cur.converged)
    fin = exact_curve(Problem.dilated(n=64), np.linspace(0.9, 1.2, 31), d=1000.0)
    assert all(b == "informative" for b in fin.branch)
    assert np.max(np.abs(np.diff(fin.c))) < 0.05      # the crossover just after t = 1 is smooth at finite d


def test_bad_input_is_rejected():
    pr = Problem.dilated(n=16)
    with pytest.raises(ValueError, match="n_plus"):
        solve_exact(pr, 0.5, n_plus=16)
    with pytest.raises(ValueError, match="fresh noise"):
        solve_exact(Problem.dilated(n=16, noise="fixed"), 0.5)
    with pytest.raises(ValueError, match="d must be"):
        solve_exact(pr, 0.5, d=0.5)
