"""Finite-n phase-1 solver (PAPER §3.2, §8 rows 5 and 7) against the spec and an independent scipy path."""
import math

import numpy as np
import pytest
from scipy import integrate, optimize

from flowphase.numerics.phase_one import phase_one_curve, phase_one_energy, phase_one_solution, solve_phase_one
from flowphase.numerics.results import ConvergenceError
from flowphase.theory.problem import Problem

from _match import whole_word

AUTHORS = dict(n=128, sigma=1.0, lam_u=50.0, lam_w=1.0)


def _scipy_potential(x, kt, p, n, sigma, lam_u, lam_w):
    """E_t(omega, b) with scipy.integrate.quad (independent of the package's quadrature)."""
    om, b = x
    Ms = M2 = 0.0
    for sl, ps in ((1.0, p), (-1.0, 1.0 - p)):
        f = lambda g: math.tanh(b + om * (g + kt * sl)) * math.exp(-0.5 * g * g) / math.sqrt(2 * math.pi)  # noqa: E731
        f2 = lambda g: math.tanh(b + om * (g + kt * sl)) ** 2 * math.exp(-0.5 * g * g) / math.sqrt(2 * math.pi)  # noqa
        Ms += ps * sl * integrate.quad(f, -12, 12, epsabs=1e-13, epsrel=1e-13, limit=200)[0]
        M2 += ps * integrate.quad(f2, -12, 12, epsabs=1e-13, epsrel=1e-13, limit=200)[0]
    return -n * (n + sigma ** 2) * Ms ** 2 / (lam_u + n * M2) + lam_w * om ** 2


@pytest.mark.parametrize("t,omega,b,m,sqrt_q", [(0.5, 1.400, 1.065, 0.617, 0.619), (1.0, 1.461, 0.595, 0.712, 0.715)])
def test_authors_theory_curve_reference_values(t, omega, b, m, sqrt_q):
    # PAPER §3.2 table, (n, lam_u, lam_w) = (128, 50, 1), kappa = 2, p = 0.8
    r = solve_phase_one(2.0 * t, 0.8, **AUTHORS)
    assert r.branch == "informative" and r.converged and r.c == 0.0
    assert r.omega == pytest.approx(omega, abs=6e-4)
    assert r.b == pytest.approx(b, abs=6e-4)
    assert r.m == pytest.approx(m, abs=6e-4)
    assert r.sqrt_q == pytest.approx(sqrt_q, abs=6e-4)
    assert r.grad_norm < 1e-9


def test_t_zero_trivial_branch():
    # PAPER §3.2: m(t=0) = n(2p-1)/(lam_u+n) = 0.4315 on the omega = 0 branch (b -> inf)
    r = solve_phase_one(0.0, 0.8, **AUTHORS)
    assert r.branch == "trivial" and r.omega == 0.0 and r.b == math.inf
    assert r.m == pytest.approx(0.4315, abs=5e-5)
    assert r.energy == pytest.approx(-128 * 129 * 0.36 / 178, rel=1e-13)


def test_first_order_jump_between_014_and_015():
    # PAPER §3.2 / §8 row 5: omega jumps from 0 to ~0.73 between t = 0.14 and 0.15
    pr = Problem.dilated(n=128, lam_u=50, lam_w=1)
    ts = np.round(np.arange(0.10, 0.201, 0.01), 10)
    curve = phase_one_curve(pr, ts)
    assert len(curve.jumps) == 1
    j = curve.jumps[0]
    assert (j.t_lo, j.t_hi) == pytest.approx((0.14, 0.15))
    assert j.t_lo < j.t_star < j.t_hi
    assert j.size == pytest.approx(0.73, abs=0.005) and j.omega_before == 0.0
    assert curve.branch[:5] == ["trivial"] * 5 and curve.branch[5:] == ["informative"] * 6
    # at the refined switching time the two branches have equal energy
    k = np.searchsorted(ts, 0.15)
    assert curve.omega[k] == pytest.approx(0.73, abs=0.005)
    r = solve_phase_one(2.0 * j.t_star + 1e-7, 0.8, **AUTHORS)
    assert r.energy_informative == pytest.approx(r.energy_trivial, rel=1e-7)


def test_convergence_to_population_slope_minus_one():
    # PAPER §3.2 / §8 row 7: |omega - kappa t| at t = 0.5, lam = 2: 4.2e-2, 4.9e-3, 4.9e-4
    ns = np.array([1e3, 1e4, 1e5])
    errs = np.array([abs(solve_phase_one(1.0, 0.8, n, sigma=1.0, lam_u=2.0, lam_w=2.0).omega - 1.0) for n in ns])
    np.testing.assert_allclose(errs, [4.2e-2, 4.9e-3, 4.9e-4], rtol=0.03)
    slope = np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.05)
    berr = abs(solve_phase_one(1.0, 0.8, 1e6, sigma=1.0, lam_u=2.0, lam_w=2.0).b - math.atanh(0.6))
    assert berr < 1e-4  # PAPER §3.9 check 2: omega = kappa t and b = h to 1e-4 at n = 1e6


@pytest.mark.parametrize("t,params", [(0.5, AUTHORS), (1.0, AUTHORS), (0.25, dict(n=64, sigma=1.0, lam_u=2.0, lam_w=2.0)),
                                      (0.8, dict(n=20, sigma=1.7, lam_u=1.0, lam_w=0.5))])
def test_against_scipy_lbfgsb_with_quad(t, params):
    kt, p = 2.0 * t, 0.8
    ref = optimize.minimize(_scipy_potential, x0=[kt, math.atanh(0.6)], args=(kt, p, params["n"], params["sigma"],
                            params["lam_u"], params["lam_w"]), method="L-BFGS-B", bounds=[(0, None), (0, None)],
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500})
    r = solve_phase_one(kt, p, **params)
    assert r.omega == pytest.approx(ref.x[0], abs=2e-5)
    assert r.b == pytest.approx(ref.x[1], abs=2e-5)
    assert r.energy == pytest.approx(ref.fun, rel=1e-9)
    assert r.energy <= ref.fun + 1e-9 * abs(ref.fun)
    assert phase_one_energy(r.omega, r.b, kt, p, **params) == pytest.approx(
        _scipy_potential([r.omega, r.b], kt, p, **params), rel=1e-11)


def test_overlaps_from_stationarity():
    # m = n M_s/(lam_u + n M_2), q_eta = sigma M_s/(lam_u + n M_2), with M_s, M_2 from scipy quad
    r = solve_phase_one(1.2, 0.7, 50, sigma=1.5, lam_u=3.0, lam_w=1.0)
    Ms = M2 = 0.0
    for sl, ps in ((1.0, 0.7), (-1.0, 0.3)):
        dens = lambda g: math.exp(-0.5 * g * g) / math.sqrt(2 * math.pi)  # noqa: E731
        Ms += ps * sl * integrate.quad(lambda g: math.tanh(r.b + r.omega * (g + 1.2 * sl)) * dens(g), -12, 12)[0]
        M2 += ps * integrate.quad(lambda g: math.tanh(r.b + r.omega * (g + 1.2 * sl)) ** 2 * dens(g), -12, 12)[0]
    assert r.m == pytest.approx(50 * Ms / (3 + 50 * M2), rel=1e-9)
    assert r.q_eta == pytest.approx(1.5 * Ms / (3 + 50 * M2), rel=1e-9)
    assert r.sqrt_q == pytest.approx(math.sqrt(r.m ** 2 + 50 * r.q_eta ** 2), rel=1e-14)


def test_mirror_symmetry_p_below_half():
    a = solve_phase_one(1.0, 0.8, **AUTHORS)
    b = solve_phase_one(1.0, 0.2, **AUTHORS)
    assert b.omega == pytest.approx(a.omega, rel=1e-12) and b.b == pytest.approx(-a.b, rel=1e-12)
    assert b.m == pytest.approx(a.m, rel=1e-12)
    # E(omega, b; p) = E(omega, -b; 1-p) evaluated directly
    assert phase_one_energy(a.omega, -a.b, 1.0, 0.2, **AUTHORS) == pytest.approx(a.energy, rel=1e-12)


def test_population_limit_and_problem_wrapper():
    r = phase_one_solution(Problem.dilated(kappa=3.0), 0.4)
    assert (r.omega, r.b, r.m, r.branch) == (pytest.approx(1.2), pytest.approx(math.atanh(0.6)), 1.0, "population")
    r2 = phase_one_solution(Problem.dilated(n=128, lam_u=50, lam_w=1), 0.5)
    assert r2.omega == pytest.approx(1.400, abs=6e-4) and r2.t == 0.5


def test_raises_convergence_error_when_budget_too_small():
    with pytest.raises(ConvergenceError, match="phase-1"):
        solve_phase_one(1.0, 0.8, 128, sigma=1.0, lam_u=50.0, lam_w=1.0, max_iter=1)
    r = solve_phase_one(1.0, 0.8, 128, sigma=1.0, lam_u=50.0, lam_w=1.0, max_iter=1, throw=False)
    assert not r.converged


@pytest.mark.parametrize("kw,name", [(dict(kt=-1.0), "kt"), (dict(p=1.0), "p"), (dict(n=0.5), "n"),
                                     (dict(sigma=0.0), "sigma"), (dict(lam_u=-1.0), "lam_u"), (dict(lam_w=-1.0), "lam_w")])
def test_bad_parameters(kw, name):
    args = dict(kt=1.0, p=0.8, n=128, sigma=1.0, lam_u=50.0, lam_w=1.0)
    args.update(kw)
    with pytest.raises(ValueError, match=whole_word(name)):
        solve_phase_one(**args)


def test_curve_requires_dilated_schedule_and_sorted_times():
    with pytest.raises(ValueError, match="dilated"):
        phase_one_curve(Problem.undilated(n=10), [0.1, 0.2])
    with pytest.raises(ValueError, match="sorted"):
        phase_one_curve(Problem.dilated(n=10), [0.2, 0.1])


def test_no_ridge_gives_the_bayes_point_at_any_n():
    # lam_u = lam_w = 0: E = -(n + sigma^2) M_s^2 / M_2, maximal at the Bayes point (Cauchy-Schwarz, PAPER §3.1)
    for n in (3, 40):
        r = solve_phase_one(1.3, 0.7, n, sigma=2.0, lam_u=0.0, lam_w=0.0)
        assert r.omega == pytest.approx(1.3, abs=1e-8) and r.b == pytest.approx(math.atanh(0.4), abs=1e-8)
        assert r.m == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("seed", range(4))
def test_global_minimum_against_scipy_multistart(seed):
    # random parameters: the solver's minimum is never above the best of a 12-start L-BFGS-B run
    rng = np.random.default_rng(seed)
    n = float(rng.choice([2, 20, 128, 1e4]))
    lu, lw = float(rng.choice([0.1, 2.0, 50.0])), float(rng.choice([0.1, 1.0, 20.0]))
    sig, p, kt = rng.uniform(0.3, 3), rng.uniform(0.51, 0.97), rng.uniform(0, 3)
    r = solve_phase_one(kt, p, n, sigma=sig, lam_u=lu, lam_w=lw)
    f = lambda x: phase_one_energy(x[0], x[1], kt, p, n, sig, lu, lw)  # noqa: E731
    best = r.energy_trivial
    for w0 in (0.1, 1.0, 2.5, 4.0):
        for b0 in (0.0, 1.0, 3.0):
            best = min(best, optimize.minimize(f, [w0, b0], method="L-BFGS-B", bounds=[(0, None), (0, 30)]).fun)
    assert r.energy <= best + 1e-9 * abs(best)
    assert r.energy == min(r.energy_trivial, r.energy_informative if math.isfinite(r.energy_informative) else math.inf)
