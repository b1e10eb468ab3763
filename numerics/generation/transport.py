"""Phase 1 of the generated flow: quadrature transport of y(0) ~ N(0, 1) and separatrix probabilities (PAPER §3.5).

The 1-D flow map of ``dy/dt = kappa m_t tanh(omega_t y + b_t)`` is monotone, so
``P(y(1) > y*) = Phi(-y0*)`` with ``y0*`` the threshold integrated backward to t = 0 (exact up to the ODE
tolerance, no histogram of samples).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from flowphase.numerics import rk
from flowphase.numerics.generation.curves import phase_one_curves
from flowphase.numerics.quadrature import trapezoid_rule
from flowphase.numerics.results import ScalarResult, check_finite
from flowphase.theory.problem import Problem

__all__ = ["solve_curves", "phase_one_transport", "separatrix_fraction", "euler_threshold_fraction"]


def solve_curves(t_eval, y0, grid, curves, rtol, atol):
    """Integrate ``dy/dt = rhs_tanh`` on the curves, stopping at their nodes (:mod:`flowphase.numerics.rk`)."""
    return rk.solve(rk.rhs_tanh, np.asarray(t_eval, dtype=float), np.atleast_1d(np.asarray(y0, dtype=float)),
                    tgrid=grid, curves=curves, rtol=rtol, atol=atol, stop_at_nodes=True)


def phase_one_transport(problem: Problem, *, n_nodes: int = 401, n_grid: int = 101, rtol: float = 1e-10,
                        atol: float = 1e-12, curves=None, y_max: float = 9.0):
    """Push quadrature nodes of y(0) ~ N(0, 1) through phase 1 (PAPER §3.5).

    Nodes: ``n_nodes`` equally spaced points on ``[-y_max, y_max]`` with weights ``phi(y0)`` (normalised;
    :func:`flowphase.numerics.quadrature.trapezoid_rule`):
    the trapezoid rule is spectrally accurate for smooth, Gaussian-decaying integrands, whereas
    Gauss–Hermite converges slowly here because the flow map steepens near the separatrix (E[y(1)] to
    1e-9 with 401 nodes, against 6e-3 for 60 Gauss–Hermite nodes).
    Returns ``(nodes, weights, y1, result)``: ``y1[i]`` is y(1) from ``y(0) = nodes[i]``; expectations are
    ``sum(weights * g(y1))``.
    """
    if int(n_nodes) < 3:
        raise ValueError(f"n_nodes must be >= 3, got {n_nodes!r}")
    tg, cv = phase_one_curves(problem, n_grid) if curves is None else curves
    x, w = trapezoid_rule(int(n_nodes), float(y_max), normalized=True)
    x, w = np.array(x), np.array(w)
    res = solve_curves([0.0, 1.0], x, tg, cv, rtol, atol)
    return x, w, res.value[-1], res


def separatrix_fraction(y_threshold: float, legs, rtol: float = 1e-11, atol: float = 1e-13,
                        throw: bool = True) -> ScalarResult:
    """``P(y_final > y_threshold)`` for y(0) ~ N(0, 1) pushed through monotone 1-D flows.

    ``legs`` is a list of ``(grid, curves, t_start, t_end)`` in forward order; the threshold is
    integrated backward through them to ``y0*`` and ``P = Phi(-y0*)`` (the flow map of a 1-D ODE is
    increasing).  Returns a :class:`ScalarResult`: ``value = P`` (``float(result)``), ``iterations`` the
    accepted Runge-Kutta steps of all legs, ``residual`` their largest final error estimate,
    ``info['y0_star']``; a leg that does not converge raises :class:`ConvergenceError` (``throw``).
    """
    y = float(y_threshold)
    steps, resid, ok = 0, 0.0, True
    for grid, curves, t0, t1 in reversed(legs):
        r = solve_curves([t1, t0], [y], grid, curves, rtol, atol)
        y = float(r.value[-1, 0])
        steps += r.iterations
        resid = max(resid, float(r.residual))
        ok = ok and bool(r.converged)
    check_finite("separatrix", y)
    out = ScalarResult(value=float(ndtr(-y)), converged=ok, iterations=steps, residual=resid,
                       message="separatrix integrated back to t = 0" if ok else "a leg did not converge",
                       info={"y0_star": y})
    if throw:
        out.raise_if_failed("separatrix")
    return out


def euler_threshold_fraction(kappa: float, p: float) -> float:
    """n = inf Euler-transition fraction ``p Phi(kappa + h/kappa) + (1-p) Phi(h/kappa - kappa)`` (PAPER §3.5)."""
    h = math.atanh(2.0 * p - 1.0)
    return float(p * ndtr(kappa + h / kappa) + (1.0 - p) * ndtr(h / kappa - kappa))
