"""Tests of the MSE curve and its jumps (numerics/mse.py, PAPER §4)."""
import math

import mpmath as mp
import numpy as np
import pytest

from flowphase.numerics import mse as M
from flowphase.theory.problem import Problem, TrigonometricInterpolant
from flowphase.validation.tolerances import agrees


def _mp_phase_one(kt, p, sigma):
    """sigma^2 + 1 - E[tanh^2(h + kt y)] with 30-digit mpmath quadrature."""
    mp.mp.dps = 30
    h = mp.atanh(2 * mp.mpf(p) - 1)
    kt = mp.mpf(kt)

    def part(sgn):
        f = lambda g: mp.npdf(g) * mp.tanh(h + kt * (sgn * kt + g)) ** 2  # noqa: E731
        return mp.quad(f, [-mp.inf, -3, 0, 3, mp.inf])

    return float(sigma ** 2 + 1 - (p * part(1) + (1 - p) * part(-1)))


def test_phase_one_values_and_mpmath():
    pr = Problem.dilated(p=0.8, kappa=2.0, sigma=1.0)
    vals = M.mse_curve(pr, [0.0, 1.0])
    assert vals[0] == pytest.approx(1.64, abs=1e-12)
    assert vals[1] == pytest.approx(1.0527, abs=1e-4)
    for t in (0.3, 0.7, 1.0):
        assert M.mse_at(pr, t).value == pytest.approx(_mp_phase_one(2 * t, 0.8, 1.0), abs=1e-9)
    ts = np.linspace(0, 1, 21)
    assert np.all(np.diff(M.mse_curve(pr, ts)) < 0)   # decreasing across phase 1


def test_phase_two_values():
    pr = Problem.dilated(p=0.8, kappa=2.0, sigma=1.0)
    got = M.mse_curve(pr, [1.25, 1.5, 1.75, 1.9])
    assert got == pytest.approx([0.9, 0.5, 0.1, 0.0122], abs=1e-4)
    # phase 2 does not see p
    assert M.mse_curve(pr.replace(p=0.55), [1.3, 1.6]) == pytest.approx(M.mse_curve(pr, [1.3, 1.6]), rel=1e-15)


def test_jumps():
    dil = M.mse_jumps(Problem.dilated(p=0.8, kappa=2.0))
    assert len(dil) == 1 and dil[0].t == 1.0
    assert dil[0].size == pytest.approx(0.0527, abs=1e-4)
    assert M.mse_jumps(Problem.dilated(p=0.8, kappa=3.0))[0].size < dil[0].size
    for p, ref in ((0.8, 0.64), (0.6, 0.96), (0.9, 0.36)):
        und = M.mse_jumps(Problem.undilated(p=p))
        assert und[0].size == pytest.approx(ref, abs=1e-12)
    und = Problem.undilated(p=0.8)
    assert M.mse_curve(und, [0.0, 0.5]) == pytest.approx([1.64, 0.5], abs=1e-12)


def _mc_bayes_mse(pr, tau, N, rng):
    """Monte-Carlo estimate (mean, standard error) of the per-dimension MSE of the Bayes denoiser at tau,
    the denoiser written here from the posterior of the two-mode mixture (PAPER §1.4)."""
    d, p, sigma = int(pr.d), pr.p, pr.sigma
    a, b = float(pr.interpolant.alpha(tau)), float(pr.interpolant.beta(tau))
    s = np.where(rng.random(N) < p, 1.0, -1.0)
    x1 = s[:, None] + sigma * rng.standard_normal((N, d))
    x = a * rng.standard_normal((N, d)) + b * x1
    D = a * a + b * b * sigma ** 2
    f = (b * sigma ** 2 / D) * x + (a * a / D) * np.tanh(math.atanh(2 * p - 1) + b * x.sum(1) / D)[:, None]
    err = ((f - x1) ** 2).mean(axis=1)
    return err.mean(), err.std(ddof=1) / math.sqrt(N)


def test_bayes_mse_at_finite_d_matches_monte_carlo_and_limits():
    rng = np.random.default_rng(11)
    pr = Problem.undilated(p=0.8, sigma=1.2, d=2000)
    for tau in (0.0, 0.003, 0.02, 0.2, 0.7):
        est, se = _mc_bayes_mse(pr, tau, 2000, rng)
        assert agrees("bayes_mse_mc", float(M.bayes_mse(pr, tau)), est, se), (tau, est, se)
    # d -> inf along tau = kappa t / sqrt(d): the phase-1 curve (PAPER §4)
    d = 1e8
    big = Problem.dilated(p=0.8, kappa=2.0, d=d)
    ts = np.array([0.2, 0.6, 1.0])
    assert M.bayes_mse(big, 2.0 * ts / math.sqrt(d)) == pytest.approx(M.mse_curve(big, ts), abs=1e-3)


def test_bayes_mse_monte_carlo():
    rng = np.random.default_rng(7)
    d, N, p, sigma = 40, 20000, 0.7, 0.8
    for interp in (None, TrigonometricInterpolant()):
        pr = Problem.undilated(p=p, sigma=sigma, d=d, interpolant=interp)
        for tau in (0.1, 0.4):
            est, se = _mc_bayes_mse(pr, tau, N, rng)
            assert agrees("bayes_mse_mc", float(M.bayes_mse(pr, tau)), est, se), (tau, est, se)


def test_bad_input():
    with pytest.raises(ValueError, match="t must lie"):
        M.mse_curve(Problem.dilated(), [2.5])
    with pytest.raises(ValueError, match="tau"):
        M.bayes_mse(Problem.undilated(d=100), 1.0)
    with pytest.raises(ValueError, match="d must"):
        M.bayes_mse(Problem.undilated(), 0.1)
