"""Phase-2 learned parameters: ridge closed forms evaluated through the generated code (PAPER §3.3-§3.4).

With the interpolant ``x = alpha(tau) x0 + beta(tau) x1`` (alpha multiplies the noise) the
derived stationary point (:func:`flowphase.theory.derivations.phase_two_solution`) is

``c = beta A / (beta^2 A + B alpha^2)``, ``m = n alpha^2 B/((n + lam_u) D)``,
``q_eta = sigma alpha^2 B/((n + lam_u) D)``, ``q_xi = -alpha c/(n + lam_u)`` (fixed noise),

with ``A = lam_u + sigma^2 (n + lam_u - 1)`` and ``B = n + lam_u - 1`` (fixed), ``n + lam_u``
(fresh), ``n + lam_u + 1`` (notebook, documented formula).  For the linear interpolant
``beta = t'``, ``alpha = 1 - t'`` this is the PAPER §3.4 table.  ``n = inf`` gives the
population limit of PAPER §3.3.

The physical time is ``tau(t)`` of the problem's schedule: ``t - 1`` for the dilated schedule at
``d = inf``, the actual ``tau = kappa/sqrt d + (1 - kappa/sqrt d)(t - 1)`` at finite d (PAPER §3.9),
and ``tau = t`` for the undilated schedule.

Residual (one meaning): 0 -- a closed form, no iteration (:class:`PhaseTwoResult`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from flowphase.numerics import _generated as G
from flowphase.numerics.results import ConvergenceError, SolverResult, check_finite
from flowphase.theory.checks import check_training as check_training_params
from flowphase.theory.conventions import NOISE_CONVENTIONS, noise_convention

__all__ = ["PhaseTwoResult", "phase_two_coefficients", "phase_two_parameters", "phase_two_arrays", "NOISE_CODES"]

#: integer codes of the noise conventions used by the kernel (``population`` = n -> inf)
NOISE_CODES = {**{k: c.code for k, c in NOISE_CONVENTIONS.items()}, "population": 3}


#: smallest lam_u accepted at n = 1 (relative error of the closed form ~ 1e-16 / lam_u <= 1e-8)
LAM_U_MIN_N1 = 1e-8


@njit(cache=True)
def _phase_two_kernel(data_coef, noise_coef, n, sigma, lam_u, code, out):
    """Fill ``out[k] = (c, m, q_eta, q_xi, sqrt_q)`` for arrays of interpolant coefficients."""
    for k in range(data_coef.shape[0]):
        beta = data_coef[k]
        alpha = noise_coef[k]
        if code == 0:
            c, m, qe, qx = G.phase_two_fresh(beta, alpha, n, sigma, lam_u)
        elif code == 1:
            c, m, qe, qx = G.phase_two_fixed(beta, alpha, n, sigma, lam_u)
        elif code == 2:
            c, m, qe, qx = G.phase_two_notebook(beta, alpha, n, sigma, lam_u)
        else:
            c, m = G.phase_two_population(beta, alpha, sigma)
            qe = 0.0
            qx = 0.0
        out[k, 0] = c
        out[k, 1] = m
        out[k, 2] = qe
        out[k, 3] = qx
        if code == 3:
            out[k, 4] = abs(m)
        else:
            out[k, 4] = math.sqrt(m * m + n * qe * qe + n * qx * qx)


@dataclass
class PhaseTwoResult(SolverResult):
    """Phase-2 closed-form learned parameters at one time (PAPER §3.4), a :class:`SolverResult`.

    ``sqrt_q = sqrt(m^2 + n q_eta^2 + n q_xi^2)`` (``|eta_tilde|^2/d = |xi_tilde|^2/d = n``);
    ``omega`` and ``b`` are flat directions (tanh saturated) and are not part of the result.
    ``value`` holds ``c, m, q_eta, q_xi, sqrt_q``; a closed form: ``iterations = 0`` and ``residual = 0``
    (converged) or ``inf`` (non-finite closed form, ``converged = False``, only with ``throw=False``).
    """

    t: float = math.nan
    tau: float = math.nan
    c: float = math.nan
    m: float = math.nan
    q_eta: float = math.nan
    q_xi: float = math.nan
    sqrt_q: float = math.nan
    noise: str = "fresh"


def _validate(n, sigma, lam_u, noise):
    noise_convention(noise)
    check_training_params(n, sigma, lam_u)
    if math.isfinite(n) and n + lam_u - 1.0 <= 0.0:
        raise ValueError("the phase-2 ridge is degenerate for n = 1 and lam_u = 0 (A = 0, and B = 0 for fixed "
                         "noise); use n >= 2 or lam_u > 0")
    if n == 1.0 and lam_u < LAM_U_MIN_N1:
        # n + lam_u - 1 cancels to lam_u with relative error ~1e-16 / lam_u
        raise ValueError(f"for n = 1 the phase-2 closed form needs lam_u >= {LAM_U_MIN_N1:g} (n + lam_u - 1 = lam_u "
                         f"loses digits to cancellation below it), got lam_u = {lam_u!r}")


def phase_two_arrays(data_coef, noise_coef, n, sigma, lam_u, *, noise="fresh") -> np.ndarray:
    """Array version: returns an ``(N, 5)`` array of ``(c, m, q_eta, q_xi, sqrt_q)``.

    Parameters
    ----------
    data_coef, noise_coef : array_like
        ``beta(tau)`` (data) and ``alpha(tau)`` (noise) coefficients of the interpolant.
    n, sigma, lam_u : float
    noise : {'fresh', 'fixed', 'notebook'}
    """
    n, sigma, lam_u = float(n), float(sigma), float(lam_u)
    _validate(n, sigma, lam_u, noise)
    beta = np.ascontiguousarray(np.atleast_1d(np.asarray(data_coef, dtype=np.float64)))
    alpha = np.ascontiguousarray(np.atleast_1d(np.asarray(noise_coef, dtype=np.float64)))
    if beta.shape != alpha.shape or beta.ndim != 1:
        raise ValueError("data_coef and noise_coef must be 1-d arrays of equal length")
    if np.any(beta < 0) or np.any(alpha < 0) or np.any((beta == 0) & (alpha == 0)):
        raise ValueError("interpolant coefficients must be >= 0 and not both zero")
    code = NOISE_CODES["population"] if math.isinf(n) else NOISE_CODES[noise]
    out = np.empty((beta.shape[0], 5), dtype=np.float64)
    _phase_two_kernel(beta, alpha, n if math.isfinite(n) else 0.0, sigma, lam_u, code, out)
    check_finite("phase-2 closed forms", out)
    return out


def phase_two_coefficients(problem, t):
    """``(tau, beta(tau), alpha(tau))`` at schedule time(s) t: physical time, data and noise coefficients."""
    tau = problem.schedule.tau(t)
    it = problem.interpolant
    return tau, it.beta(tau), it.alpha(tau)


def phase_two_parameters(problem, t: float, *, throw: bool = True) -> PhaseTwoResult:
    """Phase-2 learned parameters of a :class:`~flowphase.theory.problem.Problem` at time t.

    Any t of the schedule's range is accepted (the formula is the phase-2 one; callers decide
    which phase applies, see :func:`flowphase.numerics.learned.learned_parameters`).  ``throw=False``
    returns ``converged=False`` instead of raising :class:`ConvergenceError` on a non-finite closed form.
    """
    tau, beta, alpha = phase_two_coefficients(problem, float(t))
    tr = problem.training
    try:
        row = phase_two_arrays([beta], [alpha], tr.n, problem.sigma, tr.lam_u, noise=tr.noise)[0]
    except ConvergenceError as exc:
        if throw:
            raise
        return PhaseTwoResult(value=None, converged=False, iterations=0, residual=math.inf, message=str(exc),
                              t=float(t), tau=float(tau), noise=tr.noise)
    res = PhaseTwoResult(value=None, converged=True, iterations=0, residual=0.0,
                         message="ridge closed form (PAPER §3.4)", t=float(t), tau=float(tau), c=float(row[0]),
                         m=float(row[1]), q_eta=float(row[2]), q_xi=float(row[3]), sqrt_q=float(row[4]),
                         noise=tr.noise)
    res.value = {k: getattr(res, k) for k in ("c", "m", "q_eta", "q_xi", "sqrt_q")}
    return res
