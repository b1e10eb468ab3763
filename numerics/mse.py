"""The denoising-MSE curve eps(t) and its jumps (PAPER §4), at d -> infinity and at finite d.

``eps(t) = E|f_t(x_t) - x1|^2 / d`` of the optimal (n = inf) denoiser, per dimension.

* Dilated schedule, phase 1 (t in [0, 1], PAPER §4):
  ``eps = sigma^2 + 1 - E[tanh^2(h + kappa t y)]``, ``y ~ p N(kappa t, 1) + (1-p) N(-kappa t, 1)``
  (= sigma^2 + E[Var(s | y)]): 1.640 at t = 0 and 1.0527 at t = 1- for p = 0.8, kappa = 2, sigma = 1.
* Phase 2 (t' = t - 1 in (0, 1]): ``eps = sigma^2 (1-t')^2 / ((1-t')^2 + t'^2 sigma^2)`` (1, 0.9, 0.5, 0.1 at
  t' = 0, .25, .5, .75 for sigma = 1); the residual jump at t = 1 is ``1 - E[tanh^2(h + kappa y)]``
  (0.0527 at kappa = 2, p = 0.8).
* Undilated schedule (tau = t): ``eps(0) = sigma^2 + 4p(1-p)``, then the phase-2 formula with t' = tau;
  the jump at tau = 0+ is ``Var(s) = 4p(1-p)`` (0.64 at p = 0.8).

Finite d (:func:`bayes_mse`): the exact denoiser ``f* = c x + m mu tanh(h + beta mu.x/D)``
(PAPER §2.1; ``D = alpha^2 + beta^2 sigma^2``, ``c = beta sigma^2/D``, ``m = alpha^2/D``, alpha the noise and
beta the data coefficient) has per-dimension MSE

    eps_d = sigma^2 alpha^2 / D + m^2 E[1 - tanh^2(h + beta sqrt(d) y / D)],
    y = mu.x/sqrt(d) ~ p N(beta sqrt(d), D) + (1-p) N(-beta sqrt(d), D),

because given the mode x1 | x is Gaussian with per-coordinate variance sigma^2 alpha^2/D, and the mode
part contributes ``m^2 |mu|^2 Var(s | x) / d``; a 1-D Gauss–Hermite expectation.  (The same
expression, for the linear interpolant only, is ``flowphase.numerics.detect.gmm_bayes_mse``; the tests
cross-check the two.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List

import numpy as np

from flowphase.numerics.quadrature import gauss_hermite
from flowphase.numerics.results import ScalarResult, check_finite
from flowphase.theory.closed_forms import bayes_coefficients
from flowphase.theory.problem import Problem, TimeDilation, UniformSchedule

__all__ = ["phase_one_mse", "phase_two_mse", "mse_at", "mse_curve", "mse_jumps", "bayes_mse", "MSEJump",
           "DEFAULT_QUAD"]

DEFAULT_QUAD = 241


def _gh(n_quad: int):
    if int(n_quad) < 2:
        raise ValueError(f"n_quad must be >= 2, got {n_quad!r}")
    return gauss_hermite(int(n_quad), normalized=True)


def _sech2(z):
    ez = np.exp(-2.0 * np.abs(z))
    return 4.0 * ez / (1.0 + ez) ** 2


def _expected_var_s(snr, p: float, n_quad: int):
    """E[1 - tanh^2(h + snr y)], y ~ p N(snr, 1) + (1-p) N(-snr, 1) (vectorised over snr)."""
    h = math.atanh(2.0 * p - 1.0)
    x, w = _gh(n_quad)
    snr = np.asarray(snr, dtype=float)[..., None]
    plus = (_sech2(h + snr * (snr + x)) * w).sum(axis=-1)
    minus = (_sech2(h + snr * (-snr + x)) * w).sum(axis=-1)
    return p * plus + (1.0 - p) * minus


def _check_problem(problem):
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a flowphase Problem, got {type(problem).__name__}")
    if not isinstance(problem.schedule, (TimeDilation, UniformSchedule)):
        raise ValueError("mse needs the TimeDilation or UniformSchedule schedule")
    return problem


def phase_one_mse(kappa_t, p: float, sigma: float, n_quad: int = DEFAULT_QUAD):
    """``sigma^2 + 1 - E[tanh^2(h + kappa t y)]`` at signal strength ``kappa_t`` (PAPER §4)."""
    kt = np.asarray(kappa_t, dtype=float)
    if np.any(kt < 0) or not np.all(np.isfinite(kt)):
        raise ValueError(f"kappa_t must be finite and >= 0, got {kappa_t!r}")
    out = sigma ** 2 + _expected_var_s(kt, p, n_quad)
    return float(out) if np.ndim(kappa_t) == 0 else out


def phase_two_mse(tp, sigma: float):
    """``sigma^2 (1-t')^2 / ((1-t')^2 + t'^2 sigma^2)`` (PAPER §4; equals m_t at sigma = 1)."""
    tp = np.asarray(tp, dtype=float)
    if np.any(tp < 0) or np.any(tp > 1):
        raise ValueError(f"t' must lie in [0, 1], got {tp!r}")
    a2 = (1.0 - tp) ** 2
    out = sigma ** 2 * a2 / (a2 + tp ** 2 * sigma ** 2)
    return float(out) if out.ndim == 0 else out


def mse_curve(problem: Problem, ts, n_quad: int = DEFAULT_QUAD) -> np.ndarray:
    """eps at the schedule times ``ts`` at d -> infinity (PAPER §4).

    Dilated: phase-1 formula on [0, 1] (t = 1 gives the left limit 1-), phase-2 formula at t' = t - 1 on
    (1, 2].  Undilated: ``sigma^2 + 4p(1-p)`` at tau = 0 and the phase-2 formula at t' = tau > 0.
    The problem's d, n and lambdas are not used (optimal denoiser, d = n = inf).
    """
    problem = _check_problem(problem)
    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    problem.schedule.check_t(ts)
    p, sigma = problem.p, problem.sigma
    out = np.empty_like(ts)
    if isinstance(problem.schedule, TimeDilation):
        ph1 = ts <= 1.0
        out[ph1] = phase_one_mse(problem.kappa * ts[ph1], p, sigma, n_quad)
        out[~ph1] = phase_two_mse(np.minimum(ts[~ph1] - 1.0, 1.0), sigma)
    else:
        zero = ts == 0.0
        out[zero] = sigma ** 2 + 4.0 * p * (1.0 - p)
        out[~zero] = phase_two_mse(ts[~zero], sigma)
    check_finite("mse curve", out)
    return out


def mse_at(problem: Problem, t: float, n_quad: int = DEFAULT_QUAD) -> ScalarResult:
    """eps at one schedule time (see :func:`mse_curve`); ``t`` a real number.

    Returns a :class:`ScalarResult` (``float(result)`` is eps): a closed form with an ``n_quad``-node
    Gauss-Hermite expectation, so ``converged`` is True, ``iterations`` 0 and ``residual`` 0 (no iteration).
    """
    import numbers

    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise ValueError(f"t must be a real number, got {t!r}")
    value = float(mse_curve(problem, [t], n_quad)[0])
    return ScalarResult(value=value, converged=True, iterations=0, residual=0.0,
                        message="closed form (Gauss-Hermite expectation)", info={"t": float(t), "n_quad": int(n_quad)})


@dataclass(frozen=True)
class MSEJump:
    """A discontinuity of eps at schedule time ``t``: ``size = eps(t-) - eps(t+)`` (PAPER §4)."""

    t: float
    before: float
    after: float
    size: float
    where: str

    def to_dict(self) -> dict:
        return {"t": self.t, "before": self.before, "after": self.after, "size": self.size, "where": self.where}


def mse_jumps(problem: Problem, n_quad: int = DEFAULT_QUAD) -> List[MSEJump]:
    """Jumps of eps at d -> infinity (PAPER §4).

    Undilated: at tau = 0+, size ``4p(1-p)`` (the whole p-learning phase sits inside it; 0.64 at p = 0.8).
    Dilated: eps is continuous on phase 1; at t = 1 the residual jump ``1 - E[tanh^2(h + kappa y)]``
    (0.0527 at kappa = 2, p = 0.8; it shrinks fast with kappa).
    """
    problem = _check_problem(problem)
    p, sigma = problem.p, problem.sigma
    if isinstance(problem.schedule, TimeDilation):
        before = phase_one_mse(problem.kappa, p, sigma, n_quad)
        after = phase_two_mse(0.0, sigma)
        return [MSEJump(1.0, before, after, before - after, "phase 1 -> phase 2 (t = 1)")]
    before = sigma ** 2 + 4.0 * p * (1.0 - p)
    return [MSEJump(0.0, before, sigma ** 2, before - sigma ** 2, "undilated tau = 0+")]


def bayes_mse(problem: Problem, tau, d=None, n_quad: int = DEFAULT_QUAD):
    """Per-dimension MSE of the exact (Bayes) denoiser at physical time ``tau`` and finite ``d`` (module notes).

    Parameters
    ----------
    problem : Problem
        Supplies p, sigma, the interpolant and (unless ``d`` is given) the dimension.
    tau : float or array in [0, 1)
        Physical interpolation time (data coefficient beta(tau), noise alpha(tau)).
    d : float, optional
        Dimension (default ``problem.d``; must be finite).
    """
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a flowphase Problem, got {type(problem).__name__}")
    d = problem.d if d is None else float(d)
    if not (math.isfinite(d) and d >= 1.0):
        raise ValueError(f"d must be a finite number >= 1, got {d!r}")
    tt = np.asarray(tau, dtype=float)
    if np.any(~np.isfinite(tt)) or np.any(tt < 0) or np.any(tt >= 1):
        raise ValueError(f"tau must lie in [0, 1), got {tau!r}")
    it = problem.interpolant
    alpha = np.asarray(it.alpha(tt), dtype=float)
    beta = np.asarray(it.beta(tt), dtype=float)
    s2 = problem.sigma ** 2
    bc = bayes_coefficients(alpha, beta, problem.sigma)      # the Bayes denoiser (PAPER §2.1)
    D, m = bc["D"], bc["m"]
    h = problem.h
    x, w = _gh(n_quad)
    shift = (beta ** 2 * d / D)[..., None]             # beta sqrt(d)/D * beta sqrt(d)
    scale = (beta * np.sqrt(d / D))[..., None]          # beta sqrt(d)/D * sqrt(D)
    p = problem.p
    ev = p * (_sech2(h + shift + scale * x) * w).sum(-1) + (1 - p) * (_sech2(h - shift + scale * x) * w).sum(-1)
    out = s2 * alpha ** 2 / D + m ** 2 * ev
    check_finite("Bayes mse", out)
    return float(out) if np.ndim(tau) == 0 else out
