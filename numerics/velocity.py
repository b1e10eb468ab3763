"""Velocity coefficients of the probability-flow ODE on a time grid (PAPER §2.4–2.5).

``b_t(x) = a_x(t) x + a_f(t) f_t(x)`` with ``a_x = alpha'/alpha`` and ``a_f = beta' - alpha' beta/alpha``
(derivatives in schedule time through tau(t)).  Two conventions:

* :func:`interval_velocity_coefficients` -- the authors' sampler: on the step ``t_k -> t_{k+1}`` the
  schedule speed is that of the interval, ``(tau(t_{k+1}) - tau(t_k))/dt`` (PAPER §2.5; the step from
  t = 1 of the dilated schedule already uses the phase-2 speed);
* :func:`velocity_table` -- the continuous flow: the instantaneous speed ``tau'(t)``, one-sided on a leg
  between two breakpoints of the schedule (the dilated schedule's kink at t = 1).

Pure NumPy on a :class:`~flowphase.theory.problem.Problem`; used by the finite-d sampler
(:mod:`flowphase.validation.sampling`) and the reduced flow of the exact field
(:mod:`flowphase.numerics.exact.flow`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from flowphase.theory.problem import Problem, TimeDilation

__all__ = ["interval_velocity_coefficients", "velocity_table", "schedule_breakpoints"]


def _coef(it, tau, speed):
    alpha, beta = np.asarray(it.alpha(tau), float), np.asarray(it.beta(tau), float)
    dalpha, dbeta = np.asarray(it.dalpha(tau), float) * speed, np.asarray(it.dbeta(tau), float) * speed
    if np.any(alpha <= 0):
        raise ValueError("the grid reaches alpha = 0 (tau = 1): the velocity is singular there")
    return dalpha / alpha, dbeta - dalpha * beta / alpha


def interval_velocity_coefficients(problem: Problem, ts: Sequence[float]):
    """Velocity coefficients on the grid, with the speed of each interval (PAPER §2.4).

    Returns
    -------
    (ax, af, ax2, af2, dt) : arrays of length T-1
        ``b(x) = a_x x + a_f f(x)`` with ``a_x = alpha'/alpha``, ``a_f = beta' - alpha' beta/alpha``
        (derivatives in t through ``tau' = (tau(t_{k+1}) - tau(t_k))/dt``), evaluated at the left
        end ``t_k`` (ax, af) and at the right end ``t_{k+1}`` (ax2, af2) of each step.
    """
    ts = np.asarray(ts, dtype=float)
    if ts.ndim != 1 or ts.size < 2:
        raise ValueError("ts must hold at least two grid times")
    if np.any(np.diff(ts) <= 0):
        raise ValueError("ts must be strictly increasing")
    problem.schedule.check_t(ts)
    tau = np.asarray(problem.tau(ts), dtype=float)
    dt = np.diff(ts)
    speed = np.diff(tau) / dt
    it = problem.interpolant
    ax, af = _coef(it, tau[:-1], speed)
    ax2, af2 = _coef(it, tau[1:], speed)
    return ax, af, ax2, af2, dt


def schedule_breakpoints(problem: Problem):
    """Times where tau'(t) jumps: ``(1.0,)`` for the dilated schedule (PAPER §1.3), else ``()``."""
    return (1.0,) if isinstance(problem.schedule, TimeDilation) else ()


def velocity_table(problem: Problem, t_lo: float, t_hi: float, nodes):
    """``(a_x, a_f)`` of the continuous flow at ``nodes`` in the leg ``[t_lo, t_hi]`` (PAPER §2.4).

    tau(t) at the nodes themselves, the speed tau'(t) one-sided inside the leg (nodes are nudged
    inwards by 1e-12 for the derivative only), so a leg that ends at a breakpoint of the schedule
    sees the speed of its own side.
    """
    nodes = np.asarray(nodes, dtype=float)
    if not t_lo < t_hi or np.any(nodes < t_lo) or np.any(nodes > t_hi):
        raise ValueError("nodes must lie in the leg [t_lo, t_hi] with t_lo < t_hi")
    nudge = 1e-12 * max(1.0, abs(t_hi))
    speed = np.asarray(problem.schedule.dtau(np.clip(nodes, t_lo + nudge, t_hi - nudge)), dtype=float)
    tau = np.asarray(problem.tau(nodes), dtype=float)
    return _coef(problem.interpolant, tau, speed)
