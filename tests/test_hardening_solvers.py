"""Hardening of the solvers and the simulator's library entry points: large signals solved against scipy,
ranges refused with their bounds, non-finite values raised, loose types refused, exact small ridges.

(Split from test_hardening.py, which keeps the CLI, file and sweep hardening.)
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import optimize

from flowphase.numerics.results import ConvergenceError
from flowphase.theory.problem import Problem
from flowphase.validation.cli import dump_json

from test_hardening import assert_one_line_error


@pytest.mark.parametrize("kt,n,lam_w", [(300.0, 8, 2.0), (1e4, 128, 2.0), (50.0, 2, 0.0)])
def test_phase_one_solves_large_signal_against_scipy(kt, n, lam_w):
    from flowphase.numerics.phase_one import phase_one_energy, solve_phase_one

    p, sig, lu = 0.8, 1.0, 2.0
    r = solve_phase_one(kt, p, n, sigma=sig, lam_u=lu, lam_w=lam_w)
    assert r.converged
    f = lambda x: phase_one_energy(x[0], x[1], kt, p, n, sig, lu, lam_w)  # noqa: E731
    best = r.energy_trivial
    for w0 in (0.5 / kt, 5.0 / kt, 1.0, kt):
        for b0 in (0.1, math.atanh(0.6), 2.0):
            best = min(best, optimize.minimize(f, [w0, b0], method="L-BFGS-B", bounds=[(0, None), (0, 30)]).fun)
    assert r.energy <= best + 1e-9 * abs(best)


def test_phase_one_lam_u_zero_is_solved_or_refused_with_the_range():
    from flowphase.numerics.phase_one import solve_phase_one

    with pytest.raises(ValueError, match="lam_u >= 1e-12"):
        solve_phase_one(0.1, 0.8, 8, sigma=1.0, lam_u=0.0, lam_w=2.0)
    r = solve_phase_one(1.3, 0.7, 3, sigma=2.0, lam_u=0.0, lam_w=0.0)   # lam_w = 0: the Bayes point (Cauchy-Schwarz)
    assert r.omega == pytest.approx(1.3, abs=1e-8)
    assert_one_line_error(["theory", "generated", "--lam-u", "0", "--n", "8", "--theory", "paper"], fragment="lam_u")
    # the exact finite-n theory (default since EXACT_FINITE_N) does not converge there either: one line, exit 1
    assert_one_line_error(["theory", "generated", "--lam-u", "0", "--n", "8"], rc_expected=1)
    assert_one_line_error(["theory", "overlaps", "--t", "0.5", "--p", "1e-17", "--n", "8"], fragment="p must lie")


# ----------------------------------------------------------------------------- class 12: non-finite
def test_non_finite_values_raise():
    from flowphase.numerics.detect import detect_windows
    from flowphase.numerics.schedules import PiecewiseSchedule, UniformDensity
    from flowphase.numerics.speciation import collapse_time, speciation_time
    from flowphase.theory.problem import weight_decay_to_lambda
    from flowphase.validation.sampling import generated_statistics

    X = np.ones((4, 3))
    X[1, 1] = np.nan
    with pytest.raises(ValueError):
        generated_statistics(X)
    t = np.linspace(0, 1, 20)
    with pytest.raises(ValueError):
        detect_windows(t, 1e308 * np.tanh(10 * (t - 0.5)))
    with pytest.raises(ValueError):
        PiecewiseSchedule.uniform().cdf(np.nan)
    with pytest.raises(ValueError):
        UniformDensity().cdf([0.1, np.nan])
    with pytest.raises(ValueError):
        speciation_time(1e300, sigma=1e200)
    with pytest.raises(ValueError):
        collapse_time(2, 1e300, sigma=1e200)
    with pytest.raises(ValueError):
        weight_decay_to_lambda(1e300, 1e300, 80)
    with pytest.raises(ConvergenceError):
        dump_json({"mse": math.inf}, strict=True)
    assert json.loads(dump_json({"b": math.inf, "problem": {"n": "inf"}}, strict=True))["b"] == "inf"


# ----------------------------------------------------------------------------- class 13: loose types
@pytest.mark.parametrize("kw", [dict(epochs=2.7), dict(seeds=[1.7]), dict(draws=1.5), dict(epochs="10"),
                                dict(train_c="no"), dict(betas=(2, 2)), dict(eps=-1), dict(lr=float("nan")),
                                dict(ts=["0.5"]), dict(keep_params=1)])
def test_simulate_refuses_loose_types(kw):
    from flowphase.validation.simulator import simulate

    kw = {"ts": [0.5], **kw}
    with pytest.raises(ValueError):
        simulate(Problem.dilated(d=8, n=4), epochs=kw.pop("epochs", 5), **kw)


def test_times_and_tolerances_are_strict():
    from flowphase.numerics.learned import learned_parameters
    from flowphase.numerics.phase_one import solve_phase_one

    prob = Problem.dilated(n=8)
    for t in ("0.5", True, 2.0 + 1e-13, -1e-13):
        with pytest.raises(ValueError):
            prob.tau(t)
        with pytest.raises(ValueError):
            learned_parameters(prob, t)
    with pytest.raises(ValueError, match="tol"):
        solve_phase_one(0.5, 0.8, 8, tol=float("nan"))
    assert_one_line_error(["simulate", "--d", "8", "--n", "4", "--t", "0.5,,1.5"], fragment="empty")


# ----------------------------------------------------------------------------- class 14: precision
def test_phase_two_n1_small_ridge_is_exact_or_refused():
    from flowphase.numerics.learned import learned_parameters

    # n = 1, fixed noise, sigma = 1: A = 2 lam_u, B = lam_u -> c = 2 beta / (2 beta^2 + alpha^2) = 4/3 at
    # t = 1.5 (d = inf: tau = 1/2, alpha = beta = 1/2), for every lam_u > 0 (PAPER §3.4)
    r = learned_parameters(Problem.dilated(n=1, lam_u=1e-8, noise="fixed"), 1.5)
    assert r.c == pytest.approx(4.0 / 3.0, rel=1e-7)
    with pytest.raises(ValueError, match="lam_u"):
        learned_parameters(Problem.dilated(n=1, lam_u=1e-10, noise="fixed"), 1.5)
    with pytest.raises(ValueError, match="lam_u"):
        Problem.dilated(n=1, lam_u=1e-15, noise="fixed")


# ----------------------------------------------------------------------------- class 15: interrupts, hangs
