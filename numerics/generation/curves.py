"""The learned field along the flow as piecewise-linear curves: phase 1 and the t = 1+ window (PAPER §3.2, §3.5).

Rows for :func:`flowphase.numerics.rk.rhs_tanh` (``linear, omega, b, scale m``).  Inside the window the
variable is ``sigma' = tau sqrt(d)`` from kappa to ``window_end``;
see :mod:`flowphase.numerics.generation` for the choice of the field there.
"""
from __future__ import annotations

import numpy as np

from flowphase.numerics.results import ConvergenceError, check_finite
from flowphase.theory.closed_forms import phase_one_population
from flowphase.theory.problem import LinearInterpolant, Problem, TimeDilation

__all__ = ["B_SAT", "WINDOWS", "check_problem", "field_rows", "phase_one_curves", "window_curves"]

#: tanh(B_SAT) == 1 in float64: the trivial branch's b = +-inf is clipped to this (same function)
B_SAT = 40.0
WINDOWS = ("learned", "bayes")


def check_problem(problem) -> Problem:
    """The problem, checked: dilated schedule, linear interpolant (PAPER §3.5)."""
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a flowphase Problem, got {type(problem).__name__}")
    if not isinstance(problem.schedule, TimeDilation):
        raise ValueError("the generated-distribution theory needs the dilated schedule (TimeDilation); "
                         "for the undilated schedule use undilated_mode_fraction")
    if not isinstance(problem.interpolant, LinearInterpolant):
        raise ValueError("the phase-2 flow theory is written for the linear interpolant (PAPER §3.5)")
    return problem


def field_rows(omega, b, m, scale=1.0, linear=None):
    """Stack ``linear, omega, b, scale*m`` (the rows of :func:`flowphase.numerics.rk.rhs_tanh`); trivial-branch nodes are rewritten in an equivalent, interpolable form.

    On the trivial branch (omega = 0, b = +-inf, PAPER §3.1-§3.2) the field is the constant
    ``m tanh(b) = +-m``; for ``|m| < 1`` the same constant is ``1 * tanh(+-artanh(m))`` with a finite bias
    close to h, which interpolates smoothly into the informative branch (omega ~ 0+, b ~ h, m ~ 1) instead
    of producing a spurious ``tanh(~20) = 1`` between a b = inf node and its neighbour.
    """
    omega = np.asarray(omega, dtype=float).copy()
    b = np.asarray(b, dtype=float).copy()
    m = np.asarray(m, dtype=float).copy()
    triv = (omega == 0.0) & ~np.isfinite(b) & (np.abs(m) < 1.0)
    b[triv] = np.sign(b[triv]) * np.arctanh(np.abs(m[triv]))
    m[triv] = np.sign(m[triv])
    b = np.clip(b, -B_SAT, B_SAT)
    m = scale * m
    linear = np.zeros_like(omega) if linear is None else np.asarray(linear, dtype=float)
    cv = np.vstack([linear, omega, b, m])
    check_finite("learned parameter curves", cv)
    return cv


def phase_one_curves(problem: Problem, n_grid: int = 101):
    """``(tgrid, curves)`` for :func:`flowphase.numerics.rk.rhs_tanh`: rows ``0, omega_t, b_t, kappa m_t``.

    n = inf: the closed forms of :func:`flowphase.theory.closed_forms.phase_one_population`
    (PAPER §3.1); finite n: :func:`flowphase.numerics.phase_one.phase_one_curve` (PAPER §3.2) on the
    nodes ``(k/(n_grid-1))^2`` plus two nodes straddling each detected jump of omega; trivial-branch
    nodes are rewritten by :func:`field_rows`.
    """
    if int(n_grid) < 2:
        raise ValueError(f"n_grid must be >= 2, got {n_grid!r}")
    # quadratic spacing: at finite n the minimiser has a boundary layer at t -> 0 (the 1/n corrections
    # grow as the signal kappa t vanishes), which a uniform grid does not resolve
    ts = np.linspace(0.0, 1.0, int(n_grid)) ** 2
    if problem.training.infinite:
        vals = [phase_one_population(problem.kappa, float(t), problem.p) for t in ts]
        om = [v["omega"] for v in vals]
        bb = [v["b"] for v in vals]
        mm = [v["m"] for v in vals]
    else:
        from flowphase.numerics.phase_one import phase_one_curve

        cur = phase_one_curve(problem, ts)
        if cur.jumps:
            # resolve each first-order jump of omega (PAPER §3.2) by nodes just before / after it,
            # so that the integrator (stop_at_nodes) never interpolates across the discontinuity
            extra = [j.t_star + sgn * 1e-7 for j in cur.jumps for sgn in (-1.0, 1.0)]
            ts = np.unique(np.clip(np.concatenate([ts, extra]), 0.0, 1.0))
            cur = phase_one_curve(problem, ts)
        if not np.all(cur.converged):
            raise ConvergenceError("phase-1 learned curve did not converge at t = "
                                   f"{ts[~cur.converged]}")
        om, bb, mm = cur.omega, cur.b, cur.m
    return ts, field_rows(om, bb, mm, scale=problem.kappa)


def window_curves(problem: Problem, window_end: float, window: str = "learned", n_grid: int = 60):
    """``(grid, curves)`` of the field in the t = 1+ window, variable ``sigma' = tau sqrt(d)`` in [kappa, window_end].

    ``window='bayes'`` or n = inf: the exact field ``omega = sigma', b = h, m = 1`` (PAPER §3.5);
    ``window='learned'`` at finite n: the phase-1 potential minimiser at ``kt = sigma'`` (see module
    notes), by continuation from ``sigma' = kappa``.
    """
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")
    k = problem.kappa
    if not window_end > k:
        raise ValueError(f"window_end must exceed kappa = {k}, got {window_end!r}")
    if window == "bayes" or problem.training.infinite:
        grid = np.array([k, float(window_end)])
        h = problem.h
        return grid, field_rows(grid, [h, h], [1.0, 1.0])
    from flowphase.numerics.phase_one import solve_phase_one

    tr = problem.training
    # geometric spacing: the learned parameters vary on the scale of sigma' itself
    grid = np.geomspace(k, float(window_end), int(n_grid))
    om, bb, mm = [], [], []
    prev = None
    for signal in grid:
        starts = [(signal, abs(problem.h)), (0.5 * signal, 1.0)] if prev is None else [prev, (signal, abs(problem.h))]
        r = solve_phase_one(float(signal), problem.p, tr.n, sigma=problem.sigma, lam_u=tr.lam_u, lam_w=tr.lam_w,
                            starts=starts)
        om.append(r.omega)
        bb.append(r.b)
        mm.append(r.m)
        if r.branch == "informative":
            prev = (r.omega, abs(r.b))
    return grid, field_rows(om, bb, mm)
