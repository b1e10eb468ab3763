"""One result style for every solver entry point, keyword forwarding, and Problem.to_dict / from_dict (issue 11)."""
import inspect
import json
import math

import numpy as np
import pytest

from flowphase.numerics.exact import exact_curve, solve_exact
from flowphase.numerics.learned import learned_curve, learned_parameters
from flowphase.numerics.phase_one import phase_one_curve, phase_one_solution, solve_phase_one
from flowphase.numerics.phase_two import phase_two_parameters
from flowphase.numerics.results import ConvergenceError, CurveResult, SolverResult
from flowphase.numerics.schedules import PiecewiseSchedule, Window
from flowphase.theory.problem import CustomInterpolant, Problem, TrigonometricInterpolant

PR = Problem.dilated(n=64)
PAPER = Problem.dilated(n=128, lam_u=50.0, lam_w=1.0, noise="fixed")


@pytest.mark.parametrize("fn", [solve_phase_one, phase_one_curve, phase_two_parameters, learned_parameters,
                                learned_curve, solve_exact, exact_curve])
def test_every_solver_entry_point_takes_throw(fn):
    par = inspect.signature(fn).parameters["throw"]
    assert par.kind == inspect.Parameter.KEYWORD_ONLY and par.default is True


def test_point_results_share_the_solver_result_fields():
    results = [solve_phase_one(1.0, 0.8, 128, sigma=1.0, lam_u=50.0, lam_w=1.0), phase_one_solution(PAPER, 0.5),
               phase_two_parameters(PR, 1.5), learned_parameters(PR, 0.5), learned_parameters(PAPER, 1.5),
               solve_exact(PR, 0.5)]
    for r in results:
        assert isinstance(r, SolverResult), type(r)
        assert r.converged is True and isinstance(r.iterations, int) and math.isfinite(r.residual)
        assert isinstance(r.message, str) and r.message
        assert isinstance(r.value, dict) and all(np.isfinite(v) for k, v in r.value.items()
                                                 if k in ("c", "m") and v is not None)
    p2 = phase_two_parameters(PR, 1.5)
    assert p2.iterations == 0 and p2.residual == 0.0 and p2.value["c"] == p2.c


def test_curve_results_share_the_curve_fields():
    ts = [0.2, 0.6, 1.5]
    for cur in (learned_curve(PR, ts), learned_curve(PAPER, ts), phase_one_curve(PAPER, [0.2, 0.6]),
                exact_curve(PR, ts)):
        assert isinstance(cur, CurveResult)
        n = len(cur.t)
        assert cur.converged.shape == cur.iterations.shape == np.asarray(cur.residual).shape == (n,)
        assert cur.all_converged and cur.message == f"all {n} times converged"
        assert cur.raise_if_failed() is cur and isinstance(cur.value, dict) and "converged" in cur.value


@pytest.mark.parametrize("problem,theory", [(PAPER, "paper"), (PR, "exact")])
def test_learned_curve_forwards_solver_keywords_like_learned_parameters(problem, theory):
    ts = [0.3, 0.7]
    kw = dict(tol=1e-9, max_iter=50, max_step=0.5)
    cur = learned_curve(problem, ts, theory, **kw)
    for k, t in enumerate(ts):
        r = learned_parameters(problem, t, theory, **kw)
        assert cur.omega[k] == pytest.approx(r.omega, rel=1e-7) and cur.m[k] == pytest.approx(r.m, rel=1e-7)
    # a solver budget too small to converge: raised by default, reported with throw=False
    with pytest.raises(ConvergenceError):
        learned_curve(problem, ts, theory, max_iter=1, max_step=1e-3)
    with pytest.raises(ConvergenceError):
        learned_parameters(problem, 0.3, theory, max_iter=1, max_step=1e-3)
    bad = learned_curve(problem, ts, theory, max_iter=1, max_step=1e-3, throw=False)
    assert not bad.all_converged and "did not converge" in bad.message
    with pytest.raises(ConvergenceError, match="did not converge"):
        bad.raise_if_failed()
    assert learned_parameters(problem, 0.3, theory, max_iter=1, max_step=1e-3, throw=False).converged is False
    with pytest.raises(ValueError, match="starts"):
        learned_curve(problem, ts, theory, starts=[(1.0, 1.0)])


# ----------------------------------------------------------------------------- Problem.to_dict / from_dict
def alpha_sq(tau):
    return (1.0 - np.asarray(tau, dtype=float)) ** 2


def beta_sq(tau):
    return 1.0 - (1.0 - np.asarray(tau, dtype=float)) ** 2


def dalpha_sq(tau):
    return -2.0 * (1.0 - np.asarray(tau, dtype=float))


def dbeta_sq(tau):
    return 2.0 * (1.0 - np.asarray(tau, dtype=float))


def test_default_dilated_dict_is_unchanged():
    """validation/authors_paper.py hashes this dict into its checkpoint key: it must not move."""
    assert Problem.dilated(d=5000, n=5000, lam_u=2.0, lam_w=2.0).to_dict() == {
        "p": 0.8, "sigma": 1.0, "d": 5000, "n": 5000, "lam_u": 2.0, "lam_w": 2.0, "noise": "fresh",
        "schedule": "dilated", "interpolant": "linear", "kappa": 2.0}
    assert Problem.undilated().to_dict() == {"p": 0.8, "sigma": 1.0, "d": "inf", "n": "inf", "lam_u": 2.0,
                                             "lam_w": 2.0, "noise": "fresh", "schedule": "uniform",
                                             "interpolant": "linear"}


@pytest.mark.parametrize("problem", [
    Problem.dilated(p=0.7, sigma=1.3, kappa=3.0, d=1000, n=64, lam_u=1.5, lam_w=0.5, noise="fixed"),
    Problem.undilated(n=8, noise="notebook", interpolant=TrigonometricInterpolant()),
    Problem(schedule=PiecewiseSchedule(windows=(Window(0.0, 0.05, 9.0), Window(0.3, 0.4, 2.0)), t_max=2.0)),
    Problem.undilated(interpolant=CustomInterpolant(alpha_sq, beta_sq, dalpha_sq, dbeta_sq)),
])
def test_problem_dict_round_trips_through_json(problem):
    data = json.loads(json.dumps(problem.to_dict()))
    back = Problem.from_dict(data)
    assert back.to_dict() == problem.to_dict()
    ts = np.linspace(problem.schedule.t_min, problem.schedule.t_max, 7)[1:-1]
    np.testing.assert_array_equal(back.tau(ts), problem.tau(ts))
    for t in ts:
        assert back.coefficients(t) == pytest.approx(problem.coefficients(t), rel=1e-15)
    assert (back.p, back.sigma, back.n, back.training, back.kappa) == \
        (problem.p, problem.sigma, problem.n, problem.training, problem.kappa)


def test_problem_dict_records_what_was_lost_and_refuses_what_cannot_be_rebuilt():
    sch = PiecewiseSchedule(windows=(Window(0.0, 0.05, 9.0),), t_max=2.0)
    data = Problem(schedule=sch).to_dict()
    assert data["schedule_params"]["windows"] == [{"start": 0.0, "end": 0.05, "weight": 9.0}]
    assert data["schedule_params"]["t_max"] == 2.0
    lam = Problem.undilated(interpolant=CustomInterpolant(lambda t: 1 - t, lambda t: t, lambda t: -1.0,
                                                          lambda t: 1.0)).to_dict()
    with pytest.raises(ValueError, match="lambda"):
        Problem.from_dict(lam)
    with pytest.raises(ValueError, match="unknown problem key"):
        Problem.from_dict(dict(Problem.dilated().to_dict(), extra=1))
    with pytest.raises(ValueError, match="lacks"):
        Problem.from_dict({"p": 0.8})
