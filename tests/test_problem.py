"""theory/problem.py: validation and schedule values (PAPER §1.3, §2.3, §8 rows 1-2)."""
import math

import numpy as np
import pytest

from flowphase.theory.problem import (LinearInterpolant, Mixture, Problem, TimeDilation, TrainingSetup,
                                      UniformSchedule, log_odds, weight_decay_to_lambda)

from _match import whole_word


@pytest.mark.parametrize("call,name", [
    (lambda: Mixture(p=0.0), "p"), (lambda: Mixture(p=1.0), "p"), (lambda: Mixture(p=1.3), "p"),
    (lambda: Mixture(sigma=0.0), "sigma"), (lambda: Mixture(sigma=-1.0), "sigma"),
    (lambda: TimeDilation(kappa=0.0), "kappa"), (lambda: TimeDilation(kappa=-2.0), "kappa"),
    (lambda: Mixture(d=0.5), "d"), (lambda: TimeDilation(d=0.0), "d"),
    (lambda: TrainingSetup(n=0), "n"), (lambda: TrainingSetup(n=0.5), "n"),
    (lambda: TrainingSetup(lam_u=-1.0), "lam_u"), (lambda: TrainingSetup(lam_w=-0.1), "lam_w"),
    (lambda: TrainingSetup(noise="stale"), "noise"),
    (lambda: Problem.dilated(p=1.2), "p"), (lambda: Problem.dilated(sigma=0), "sigma"),
    (lambda: Problem.dilated(kappa=-1), "kappa"), (lambda: Problem.dilated(n=0), "n"),
    (lambda: Problem.dilated(lam_u=-2), "lam_u"), (lambda: Problem.dilated(noise="x"), "noise"),
])
def test_bad_values_raise_value_error_naming_parameter(call, name):
    with pytest.raises(ValueError, match=whole_word(name)):
        call()


@pytest.mark.parametrize("sched,t", [(TimeDilation(), -0.01), (TimeDilation(), 2.01), (UniformSchedule(), 1.5),
                                     (UniformSchedule(), -1.0), (TimeDilation(), float("nan"))])
def test_t_outside_schedule_range(sched, t):
    with pytest.raises(ValueError, match="t must lie"):
        sched.tau(t)


def test_time_dilation_values():
    # PAPER §8 row 2: tau(1) = kappa/sqrt(d) = 0.02828 at d = 5000, kappa = 2; tau(2) = 1
    s = TimeDilation(kappa=2.0, d=5000)
    assert s.tau(1.0) == pytest.approx(0.02828, abs=5e-6)
    assert s.tau(1.0) == pytest.approx(2.0 / math.sqrt(5000), rel=1e-15)
    assert s.tau(2.0) == pytest.approx(1.0, abs=1e-15)
    assert s.tau(0.0) == 0.0
    assert s.dtau(0.5) == pytest.approx(2.0 / math.sqrt(5000)) and s.dtau(1.5) == pytest.approx(1 - 2.0 / math.sqrt(5000))
    np.testing.assert_allclose(s.tau(np.array([0.5, 1.5])), [1 / math.sqrt(5000), 0.02828427 + (1 - 0.02828427) / 2],
                               rtol=1e-7)
    assert s.phase(1.0) == 1 and s.phase(1.0001) == 2
    inf = TimeDilation(kappa=2.0)
    assert inf.tau(0.7) == 0.0 and inf.tau(1.5) == pytest.approx(0.5)


def test_weight_decay_conversion_and_log_odds():
    # PAPER §2.3: wd = 1e-5, d = 5000, T = 80 -> lambda = 2; PAPER §8 row 1: h(0.8) = 0.693147
    assert weight_decay_to_lambda(1e-5, 5000, 80) == pytest.approx(2.0, rel=1e-14)
    assert log_odds(0.8) == pytest.approx(0.693147, abs=1e-6)
    with pytest.raises(ValueError, match="weight_decay"):
        weight_decay_to_lambda(-1e-5, 5000, 80)


def test_problem_consistency_and_velocity():
    with pytest.raises(ValueError, match=r"schedule d .* must equal mixture d"):
        Problem(mixture=Mixture(d=100), schedule=TimeDilation(d=200))
    pr = Problem.dilated(d=5000)
    a_x, a_f = pr.velocity_coefficients(1.5)
    tau = pr.tau(1.5)
    # PAPER §2.4: b_t(x) = tau'/(1 - tau) (f - x) for the linear interpolant
    assert a_f == pytest.approx((1 - 2 / math.sqrt(5000)) / (1 - tau), rel=1e-13)
    assert a_x == pytest.approx(-a_f, rel=1e-13)
    assert isinstance(pr.interpolant, LinearInterpolant)
    assert pr.replace(n=64).n == 64 and pr.replace(kappa=3.0).kappa == 3.0
    with pytest.raises(ValueError, match="unknown"):
        pr.replace(foo=1)
