"""Schedule objects: dilation <-> density equivalence, round trip, sampling statistics, validation."""
import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from flowphase.numerics.schedules import (LogitNormalDensity, LogNormalDensity, LossWeight,
                                          PiecewiseSchedule, TrainingObjective, UniformDensity,
                                          Window, design_schedule, schedule_from_json)
from flowphase.theory.problem import Problem, TimeDilation


def _example():
    return PiecewiseSchedule(windows=[(0.05, 0.15, 8.0), (0.5, 0.6, 3.0)], t_max=1.5)


@pytest.mark.parametrize("kappa,d", [(2.0, 5000), (3.0, 400), (2.0, 100)])
def test_paper_dilation_is_an_instance(kappa, d):
    td = TimeDilation(kappa=kappa, d=d)
    sched = PiecewiseSchedule.from_time_dilation(td)
    t = np.linspace(0, 2, 801)
    np.testing.assert_allclose(sched.tau(t), td.tau(t), atol=1e-14)
    tt = t[(np.abs(t - 1.0) > 1e-9) & (t < 2)]
    np.testing.assert_allclose(sched.dtau(tt), td.dtau(tt), rtol=1e-12)
    assert sched.window_mass() == pytest.approx([0.5], abs=1e-14)
    # drops into a Problem like any schedule
    pb = Problem(schedule=sched)
    assert pb.tau(1.0) == pytest.approx(kappa / math.sqrt(d), rel=1e-13)


def test_tau_monotone_and_density_normalised():
    s = _example()
    t = np.linspace(0, s.t_max, 2001)
    tau = s.tau(t)
    assert tau[0] == 0.0 and tau[-1] == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.diff(tau) > 0)
    # density integrates to 1 (piecewise constant: integrate piece by piece)
    total = sum(integrate.quad(s.density, a, b)[0] for a, b in zip(s.edges[:-1], s.edges[1:]))
    assert total == pytest.approx(1.0, abs=1e-10)
    # dtau/dt = 1/(t_max p(tau)) against a finite difference of tau(t)
    tm = 0.5 * (t[1:] + t[:-1])
    fd = np.diff(tau) / np.diff(t)
    ok = np.abs(tm[:, None] - s.knots_t[None, :]).min(axis=1) > 2 * (t[1] - t[0])
    np.testing.assert_allclose(s.dtau(tm[ok]), fd[ok], rtol=1e-9)
    np.testing.assert_allclose(s.dtau(tm[ok]), 1.0 / (s.t_max * s.density(s.tau(tm[ok]))), rtol=1e-12)
    # relative weights as requested
    assert s.density(0.1) / s.density(0.3) == pytest.approx(8.0)
    assert s.density(0.55) / s.density(0.9) == pytest.approx(3.0)


def test_round_trip():
    s = _example()
    s2 = PiecewiseSchedule.from_json(s.to_json())
    assert s2 == s
    assert schedule_from_json(json.loads(s.to_json())) == s
    for dens in (LogNormalDensity(-1.0, 1.5), LogitNormalDensity(0.3, 0.8), UniformDensity()):
        assert schedule_from_json(json.dumps(dens.to_dict())) == dens


@pytest.mark.parametrize("seed", [0, 1])
def test_sampling_matches_density_ks(seed):
    s = _example()
    x = s.sample(20000, np.random.default_rng(seed))
    res = stats.kstest(x, s.cdf)
    assert res.pvalue > 1e-3
    # fraction in the first window vs its mass, within 4 binomial standard errors
    m = s.window_mass()[0]
    frac = np.mean((x >= 0.05) & (x <= 0.15))
    assert abs(frac - m) < 4 * math.sqrt(m * (1 - m) / x.size)
    # a wrong density is rejected
    assert stats.kstest(x, lambda u: np.clip(u, 0, 1)).pvalue < 1e-6


@pytest.mark.parametrize("dens", [LogNormalDensity(), LogitNormalDensity(), LogitNormalDensity(0.5, 1.3)])
def test_baseline_densities(dens):
    total = integrate.quad(dens.density, 0, 1, limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-7)
    # cdf is the integral of the density
    for u in (0.1, 0.37, 0.8):
        assert dens.cdf(u) == pytest.approx(integrate.quad(dens.density, 0, u, limit=200)[0], abs=1e-7)
    x = dens.sample(20000, np.random.default_rng(3))
    assert stats.kstest(x, dens.cdf).pvalue > 1e-3


def test_edm_and_sd3_conventions():
    # EDM: median noise level exp(P_mean) <-> tau = 1/(1+exp(-1.2))
    e = LogNormalDensity()
    assert e.cdf(1.0 / (1.0 + math.exp(-1.2))) == pytest.approx(0.5, abs=1e-12)
    # SD3 (t=0 data): logit-normal(m) in t_sd3 is logit-normal(-m) in tau = 1 - t_sd3
    a, b = LogitNormalDensity(0.5, 1.0), LogitNormalDensity(-0.5, 1.0)
    assert a.density(0.3) == pytest.approx(b.density(0.7), rel=1e-12)


def test_effective_weight_is_product():
    dens = design_schedule([(0.2, 0.4)], mass=0.5)
    w = LossWeight("min_snr", gamma=2.0)
    obj = TrainingObjective(density=dens, weight=w)
    tau = np.array([0.1, 0.3, 0.5, 0.9])
    snr = tau ** 2 / (1 - tau) ** 2
    np.testing.assert_allclose(obj.effective_weight(tau), dens.density(tau) * np.minimum(snr, 2.0))
    assert dens.density(0.3) == pytest.approx(0.5 / 0.2)
    assert dens.density(0.7) == pytest.approx(0.5 / 0.8)


def test_design_splits_mass_by_size():
    s = design_schedule([{"start": 0.0, "end": 0.1, "size": 3.0}, {"start": 0.5, "end": 0.55, "size": 1.0}],
                        mass=0.6)
    np.testing.assert_allclose(s.window_mass(), [0.45, 0.15], atol=1e-12)


@pytest.mark.parametrize("windows,msg", [
    ([(0.1, 0.3, 2.0), (0.2, 0.4, 2.0)], "overlap"),
    ([(-0.1, 0.3, 2.0)], "start"),
    ([(0.5, 1.2, 2.0)], "end"),
    ([(0.1, 0.3, 0.0)], "weight"),
    ([(0.1, 0.3, -1.0)], "weight"),
    ([(0.3, 0.1, 2.0)], "start"),
    ([(0.1, float("nan"), 2.0)], "end"),
])
def test_bad_windows(windows, msg):
    with pytest.raises(ValueError, match=msg):
        PiecewiseSchedule(windows=windows)


def test_bad_inputs():
    with pytest.raises(ValueError, match="t_max"):
        PiecewiseSchedule(t_max=0.0)
    with pytest.raises(ValueError, match="mass"):
        design_schedule([(0.1, 0.2)], mass=1.0)
    with pytest.raises(ValueError, match="t must lie"):
        _example().tau(2.0)
    with pytest.raises(ValueError, match="kind"):
        LossWeight("bogus")
    with pytest.raises(ValueError, match="k must"):
        _example().sample(0)
    assert isinstance(Window(0, 1, 1), Window)
