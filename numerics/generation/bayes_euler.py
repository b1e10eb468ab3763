"""The exact (Bayes) field at finite d integrated with T Euler steps: mode fraction of the sampler (PAPER §3.7).

The reduction is exact at any d: the Bayes denoiser ``f*(x) = c x + m mu tanh(h + beta mu.x/D)``
(PAPER §2.1, :func:`flowphase.theory.closed_forms.bayes_denoiser`) depends on x only through
``y = mu.x/sqrt(d)``, and the velocity ``a_x x + a_f f*(x)`` (PAPER §2.4) projects to
``a_x y + a_f (c y + m sqrt(d) tanh(h + beta sqrt(d) y / D))``, so the d-dimensional Euler scheme projects onto a 1-D
Euler scheme for y with ``y(0) = mu.X0/sqrt(d) ~ N(0, 1)`` exactly; the generated mode is sign(y(T)).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from scipy.special import ndtr

from flowphase.numerics import rk
from flowphase.numerics.results import ConvergenceError, ScalarResult, check_finite
from flowphase.theory.closed_forms import bayes_denoiser
from flowphase.theory.problem import Problem

__all__ = ["bayes_euler_curves", "bayes_euler_mode_fraction", "undilated_mode_fraction"]


def bayes_euler_curves(problem: Problem, ts: np.ndarray):
    """rhs_tanh rows of the projected Bayes velocity at the Euler nodes (module notes, PAPER §2.1, §2.4)."""
    d = float(problem.d)
    sd = math.sqrt(d)
    it = problem.interpolant
    rows = np.empty((4, ts.size))
    for j, t in enumerate(ts[:-1]):
        a_x, a_f = problem.velocity_coefficients(float(t))
        tau = float(problem.tau(float(t)))
        alpha, beta = float(it.alpha(tau)), float(it.beta(tau))
        bd = bayes_denoiser(beta, problem.sigma, problem.p, alpha=alpha)
        rows[:, j] = (a_x + a_f * bd["c"], sd * bd["omega_over_sqrt_d"], bd["b"], a_f * bd["m"] * sd)
    rows[:, -1] = rows[:, -2]  # never evaluated by Euler (left-point rule); avoids alpha = 0 at the end
    return rows


def bayes_euler_mode_fraction(problem: Problem, n_steps: int, t_end: Optional[float] = None,
                              bracket: float = 12.0, n_probe: int = 257) -> ScalarResult:
    """Mode fraction P(mu.X_T > 0) of the exact field at finite d with ``n_steps`` Euler steps (PAPER §3.7).

    Euler steps of equal length on the schedule time from ``t_min`` to ``t_end`` (default ``t_max``;
    the authors' dilated sampler is ``n_steps = 79, t_end = 1.975``), on the exact 1-D reduction of the
    module notes.  The Euler map is increasing (each step's slope ``1 + dt (a_x + m omega sech^2) > 0`` since
    ``dt |a_x| <= dtau/(1-tau) < 1``; checked on the probes), so ``p_hat = Phi(-y0*)`` with ``y0*`` the
    root of ``y_T(y0)``, found by repeated refinement of ``n_probe`` probes.

    Returns a :class:`ScalarResult` with ``value = p_hat`` (``float(result)`` gives it), ``iterations`` the
    Euler steps, ``residual`` the width of the final bracket of ``y0*`` (0 when every probe ends in one mode)
    and ``info['y0_star']``; a non-monotone Euler map raises :class:`ConvergenceError`.
    """
    if not isinstance(problem, Problem):
        raise ValueError("problem must be a flowphase Problem")
    if not math.isfinite(problem.d):
        raise ValueError("bayes_euler_mode_fraction needs a finite dimension d")
    if int(n_steps) < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    sch = problem.schedule
    t_end = sch.t_max if t_end is None else float(t_end)
    if not sch.t_min < t_end <= sch.t_max:
        raise ValueError(f"t_end must lie in ({sch.t_min}, {sch.t_max}], got {t_end!r}")
    ts = np.linspace(sch.t_min, t_end, int(n_steps) + 1)
    if t_end == sch.t_max:
        ts[-1] = t_end
    curves = bayes_euler_curves(problem, ts)
    check_finite("Bayes velocity curves", curves)

    def final(y0):
        return rk.solve(rk.rhs_tanh, ts, np.asarray(y0, dtype=float), tgrid=ts, curves=curves, method="euler").value[-1]

    lo, hi = -float(bracket), float(bracket)
    for _ in range(4):
        probes = np.linspace(lo, hi, int(n_probe))
        yT = final(probes)
        if np.any(np.diff(yT) < 0):
            raise ConvergenceError("the Euler map is not monotone on the probes; refine n_steps")
        pos = yT > 0
        if pos.all():
            return ScalarResult(value=float(ndtr(-lo)), converged=True, iterations=int(n_steps), residual=0.0,
                                message="all probes end in the + mode", info={"y0_star": lo})
        if not pos.any():
            return ScalarResult(value=float(ndtr(-hi)), converged=True, iterations=int(n_steps), residual=0.0,
                                message="all probes end in the - mode", info={"y0_star": hi})
        k = int(np.argmax(pos))
        lo, hi = probes[k - 1], probes[k]
        ylo, yhi = yT[k - 1], yT[k]
    y0s = lo - ylo * (hi - lo) / (yhi - ylo)
    return ScalarResult(value=float(ndtr(-y0s)), converged=True, iterations=int(n_steps), residual=float(hi - lo),
                        message="separatrix bracketed", info={"y0_star": float(y0s)})


def undilated_mode_fraction(p: float, sigma: float, d: float, n_steps: int, t_end: float = 1.0) -> ScalarResult:
    """p_hat of the exact (Bayes) field on the undilated schedule tau = t with T Euler steps (PAPER §3.7).

    Uses the exact 1-D reduction of the module notes (y = mu.X/sqrt(d)); ``n_steps`` equal steps from
    tau = 0 to ``t_end`` (default 1, steps ``tau_k = k/T``).  The authors' sampler on a T-point grid is
    ``n_steps = T - 1, t_end = (T - 1)/T`` (step 1/T, PAPER §2.5).  At fixed T, p_hat drifts from p towards
    1 as d grows (the first step moves y by ``sqrt(d)(2p-1) dt``); it recovers p only for T >> sqrt(d).
    Returns the :class:`ScalarResult` of :func:`bayes_euler_mode_fraction` (``float(result)`` is p_hat).
    """
    pr = Problem.undilated(p=p, sigma=sigma, d=d)
    return bayes_euler_mode_fraction(pr, n_steps, t_end=t_end)
