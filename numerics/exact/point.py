"""The exact finite-n theory at one time: input checks, the time coefficients and the one-time result record.

:func:`time_coefficients` gives ``(tau, alpha, beta, B)`` of a problem's schedule at the dimension the theory is
evaluated at (``B = beta sqrt(d)``; its d = inf limits per phase); :class:`ExactParameters` is the result of one
solve (EXACT_FINITE_N §2-3); ``_prm`` packs the numba kernels' parameter vector (:data:`._kernels.PRM`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flowphase.numerics.results import SolverResult
from flowphase.theory.problem import Problem

__all__ = ["ExactParameters", "time_coefficients", "default_n_plus"]


def default_n_plus(p: float, n: float) -> int:
    """``round(p n)``, the realised count of the + class used by default (EXACT_FINITE_N §1)."""
    return int(round(float(p) * float(n)))


def _check(problem, d, n_plus):
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a flowphase Problem, got {type(problem).__name__}")
    if problem.training.noise != "fresh":
        raise ValueError("the exact finite-n theory is derived for fresh noise (EXACT_FINITE_N §1); "
                         f"noise={problem.training.noise!r} needs theory='paper'")
    if isinstance(d, bool) or not isinstance(d, (int, float, np.integer, np.floating)) or \
            (isinstance(d, (int, np.integer)) and abs(int(d)) > 10 ** 300) or math.isnan(float(d)):
        raise ValueError(f"d must be a number >= 1 or inf, got {d!r}")
    d = float(d)
    if not d >= 1.0:
        raise ValueError(f"d must be >= 1 or inf, got {d!r}")
    n = problem.training.n
    if math.isinf(n):
        return d, None, None
    if n < 2:
        raise ValueError(f"the exact finite-n theory needs n >= 2 (one point of each class), got n = {n:g}")
    if n_plus is None:
        n_plus = min(max(default_n_plus(problem.p, n), 1), int(n) - 1)
    if isinstance(n_plus, bool) or not isinstance(n_plus, (int, np.integer)) and not (
            isinstance(n_plus, (float, np.floating)) and float(n_plus).is_integer()):
        raise ValueError(f"n_plus must be an integer, got {n_plus!r}")
    n_plus = int(n_plus)
    if not 1 <= n_plus <= int(n) - 1:
        raise ValueError(f"n_plus must lie in [1, n - 1] = [1, {int(n) - 1}], got {n_plus}")
    return d, n_plus, int(n) - n_plus


def time_coefficients(problem: Problem, t: float, d: float = math.inf):
    """``(tau, alpha, beta, B)`` at schedule time t for the theory evaluated at dimension d.

    ``B = beta(tau) sqrt(d)``; at ``d = inf`` phase 1 has ``B = beta'(0) kappa t`` and phase 2 ``B = inf``
    (``B = 0`` where tau = 0).
    """
    problem.schedule.check_t(t)
    t = float(t)
    if math.isinf(d):
        pr = problem if math.isinf(problem.d) else problem.replace(d=math.inf)
        tau = float(pr.tau(t))
        it = pr.interpolant
        if pr.dilated_schedule and t <= 1.0:
            return tau, float(it.alpha(0.0)), 0.0, float(it.dbeta(0.0)) * pr.kappa * t
        alpha, beta = float(it.alpha(tau)), float(it.beta(tau))
        return tau, alpha, beta, (math.inf if beta > 0.0 else 0.0)
    pr = problem if problem.d == d else problem.replace(d=d)
    tau = float(pr.tau(t))
    alpha, beta = float(pr.interpolant.alpha(tau)), float(pr.interpolant.beta(tau))
    return tau, alpha, beta, beta * math.sqrt(d)


@dataclass
class ExactParameters(SolverResult):
    """Exact finite-n learned overlaps at one time (EXACT_FINITE_N §2-3; ``value`` = :meth:`as_dict`).

    Attributes
    ----------
    t, tau, alpha, beta, B, d : float
        Schedule time, physical time, interpolant coefficients, ``B = beta sqrt(d)``, evaluation dimension.
    n_plus, n_minus : int
        Realised class counts.
    c, m, a_plus, a_minus : float
        Skip connection, ``u.mu/d``, ``u.eta^nu/d`` for nu in each class.
    omega, b, z_plus, z_minus : float
        ``w.mu/d``, bias, ``w.eta^nu/d`` per class (NaN on the saturated branch: flat directions).
    sqrt_r, sqrt_q : float
        ``|w|/sqrt(d)`` (NaN on the saturated branch, as w is flat there), ``|u|/sqrt(d)``.
    energy : float
        The potential E at the minimum (L/d including the constant).
    branch : str
        ``'informative'``, ``'trivial'``, ``'saturated'`` or ``'population'``.
    """

    t: float = math.nan
    tau: float = math.nan
    alpha: float = math.nan
    beta: float = math.nan
    B: float = math.nan
    d: float = math.inf
    n_plus: int = 0
    n_minus: int = 0
    c: float = math.nan
    m: float = math.nan
    a_plus: float = math.nan
    a_minus: float = math.nan
    omega: float = math.nan
    b: float = math.nan
    z_plus: float = math.nan
    z_minus: float = math.nan
    sqrt_r: float = math.nan
    sqrt_q: float = math.nan
    energy: float = math.nan
    branch: str = ""

    def as_dict(self) -> dict:
        return dict(t=self.t, tau=self.tau, alpha=self.alpha, beta=self.beta, B=self.B, d=self.d,
                    n_plus=self.n_plus, n_minus=self.n_minus, c=self.c, m=self.m, a_plus=self.a_plus,
                    a_minus=self.a_minus, omega=self.omega, b=self.b, z_plus=self.z_plus, z_minus=self.z_minus,
                    sqrt_r=self.sqrt_r, sqrt_q=self.sqrt_q, energy=self.energy, branch=self.branch)


def _prm(alpha, beta, B, d, sigma, n_plus, n_minus, lam_u, lam_w):
    return np.array([alpha, beta, B, 0.0 if math.isinf(d) else 1.0 / math.sqrt(d), sigma, n_plus, n_minus, lam_u,
                     lam_w], dtype=np.float64)
