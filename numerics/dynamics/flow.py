"""Gradient flow and gradient descent of the overlaps: trajectories, loss, stationary point, convergence time.

State ``y = (c, b, m, a, q, omega, r, v)`` (:data:`~flowphase.numerics.dynamics.params.STATE_NAMES`) in the
ODE time ``ode_t`` of :mod:`flowphase.theory.dynamics` (``du/d(ode_t) = -d grad_u Lbar``,
``dc/d(ode_t) = -rho dLbar/dc``; the former letter ``s`` of that time survives only in the public names
``s_eval``, ``s_max``, ``s_end`` and :attr:`Trajectory.s`, the JSON key ``"s"``); use :func:`flowphase.theory.dynamics.ode_time_per_step` to convert simulator
epochs to it.  The right-hand side is the generated :mod:`flowphase.numerics._generated_dynamics` with the
kernels of :mod:`flowphase.numerics.dynamics.kernels`, integrated by the tableau Runge-Kutta engine
:func:`flowphase.numerics.rk.solve` (Dormand-Prince 5(4) with error control).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from flowphase.numerics import _generated_dynamics as _gen
from flowphase.numerics.dynamics.initial import initial_overlaps
from flowphase.numerics.dynamics.kernels import at_state, gd_iterate, overlap_rhs, rhs_norm
from flowphase.numerics.dynamics.params import STATE_NAMES, as_state, check_saturated, dynamics_params
from flowphase.numerics.results import ConvergenceError, ScalarResult, SolverResult, Trajectory, check_finite
from flowphase.numerics.rk import solve as rk_solve
from flowphase.theory.problem import Problem

__all__ = ["integrate_overlaps", "iterate_gd_map", "overlap_loss", "stationary_point",
           "convergence_time", "MAX_EPOCHS", "MAX_STIFF_TIME", "ADAM_S_MAX"]

#: largest number of epochs a dynamics payload integrates: beyond it the adaptive integrator would run for
#: minutes on a trajectory long converged
MAX_EPOCHS = 1e7
#: budget of ``epochs x ode_time_per_epoch x rho`` (nfev ~ 5 per unit: ~1e6 evaluations, under a minute)
MAX_STIFF_TIME = 2e5
#: largest ODE time the Adam clock integrates to
ADAM_S_MAX = 2e4


def integrate_overlaps(problem: Problem, t: float, y0, s_eval, *, rho: float = 1.0,
                       d: Optional[float] = None, n_quad: int = 151, rtol: float = 1e-8,
                       atol: float = 1e-10, method: str = "dopri5", throw: bool = True,
                       sgd: float = 0.0) -> Trajectory:
    """Integrate the gradient-flow ODE of the overlaps from ``y0`` through the ODE times ``s_eval``.

    Parameters
    ----------
    y0 : dict or array
        Initial overlaps (``c, b, m, q, omega, r`` required; ``a, v`` default 0), e.g. measured on a
        simulator run.
    s_eval : array, increasing, starting at the initial time.
    sgd : float
        Finite-batch noise strength ``lr d / B`` of a simulation to be matched (0: gradient flow).

    Returns
    -------
    Trajectory
        ``value[k]`` = (c, b, m, a, q, omega, r, v) at ``s_eval[k]``; ``info['nfev']`` etc.

    Notes
    -----
    Equations of :mod:`flowphase.theory.dynamics` (PAPER §2.1-§3.4), Dormand-Prince 5(4) of
    :mod:`flowphase.numerics.rk`.
    """
    params = dynamics_params(problem, t, rho=rho, d=d, n_quad=n_quad, sgd=sgd)
    y = as_state(y0)
    check_saturated(params, y)
    s_eval = np.asarray(s_eval, dtype=np.float64)
    sol = rk_solve(overlap_rhs, s_eval, y, params=params.to_array(), method=method, rtol=rtol, atol=atol,
                   max_steps=5_000_000, throw=throw)
    if sol.converged:
        check_finite("overlap trajectory", sol.value)
    return Trajectory(value=sol.value, names=STATE_NAMES, converged=sol.converged, iterations=sol.iterations,
                      residual=sol.residual, message=sol.message,
                      info={"s": s_eval, "nfev": sol.info["nfev"], "t": float(t), "rho": float(rho),
                            "d": float(problem.d if d is None else d)})


def iterate_gd_map(problem: Problem, t: float, y0, step: float, n_steps: int, *, record_every: int = 1,
                   rho: float = 1.0, d: Optional[float] = None, n_quad: int = 151,
                   sgd: float = 0.0) -> Trajectory:
    """Iterate the exact d = inf overlap map of gradient descent with ``step`` (ODE-time units).

    One step advances the ODE time by ``step``; the map is the flow's Euler step plus the ``step^2 |grad|^2``
    terms of q, r, v (:func:`flowphase.theory.dynamics.gd_map_expressions`).
    """
    if not (step > 0 and math.isfinite(step)):
        raise ValueError(f"step must be a positive finite number, got {step!r}")
    if int(n_steps) < 1 or int(record_every) < 1:
        raise ValueError("n_steps and record_every must be integers >= 1")
    params = dynamics_params(problem, t, rho=rho, d=d, n_quad=n_quad, sgd=sgd)
    y = as_state(y0)
    check_saturated(params, y)
    Y = gd_iterate(y, params.to_array(), float(step), int(n_steps), int(record_every))
    ok = bool(np.all(np.isfinite(Y)))
    times = np.arange(Y.shape[0]) * record_every * float(step)
    res = Trajectory(value=Y, names=STATE_NAMES, converged=ok, iterations=int(n_steps), residual=0.0,
                     message="success" if ok else "non-finite overlaps (step too large?)",
                     info={"s": times, "t": float(t), "rho": float(rho), "step": float(step),
                           "d": float(problem.d if d is None else d)})
    return res.raise_if_failed("gradient-descent overlap map")


def overlap_loss(problem: Problem, t: float, y, d: Optional[float] = None, n_quad: int = 151) -> float:
    """The per-sample loss Lbar at overlaps ``y`` (:func:`flowphase.theory.dynamics.overlap_loss`); closed form."""
    return at_state(_gen.loss_value, dynamics_params(problem, t, d=d, n_quad=n_quad).to_array(),
                    as_state(y))


def integrate_to_rest(rhs, y, params, norm, tol: float, s_max: float, rtol: float, atol: float):
    """Integrate ``dy/ds = rhs`` over windows of doubling length (10, 20, 40, ...) until ``norm(y) < tol`` or
    ``s >= s_max``; returns ``(y, s, accepted steps, norm(y))``.  The stationarity search of both theories."""
    s0, span, total = 0.0, 10.0, 0
    res = norm(y)
    while res >= tol and s0 < s_max:
        sol = rk_solve(rhs, np.array([s0, s0 + span]), y, params=params, rtol=rtol, atol=atol, max_steps=5_000_000)
        y = sol.value[-1].copy()
        total += sol.iterations
        s0 += span
        span *= 2.0
        res = norm(y)
    return y, s0, total, res


def stationary_point(problem: Problem, t: float, *, y0=None, rho: float = 1.0, d: Optional[float] = None,
                     tol: float = 1e-9, s_max: float = 1e5, n_quad: int = 151, throw: bool = True) -> SolverResult:
    """Long-time limit of the gradient flow: integrate until ``max|dy/d(ode_t)| < tol``.

    ``y0`` defaults to the informed start (:func:`initial_overlaps` ``'informed'``).  Returns a
    :class:`SolverResult` whose ``value`` is a dict of the overlaps plus ``q_eta = a / sqrt(n)`` and whose
    ``residual`` is ``max|dy/d(ode_t)|`` at the end; raises :class:`ConvergenceError` (``throw``) if the flow is not
    stationary by ``s_max``.
    """
    params = dynamics_params(problem, t, rho=rho, d=d, n_quad=n_quad)
    arr = params.to_array()
    y = as_state(initial_overlaps("informed", problem, t) if y0 is None else y0)
    check_saturated(params, y)
    y, s0, total, res = integrate_to_rest(overlap_rhs, y, arr, lambda v: rhs_norm(arr, v), tol, s_max, 1e-11,
                                          1e-13)
    check_finite("stationary overlaps", y)
    val = {name: float(y[i]) for i, name in enumerate(STATE_NAMES)}
    n = problem.n
    val["q_eta"] = 0.0 if math.isinf(n) else val["a"] / math.sqrt(n)
    out = SolverResult(value=val, converged=res < tol, iterations=total, residual=res,
                       message="stationary" if res < tol else f"not stationary by s = {s0}",
                       info={"s": s0})
    if throw:
        out.raise_if_failed("overlap gradient flow (stationary point)")
    return out


def convergence_time(problem: Problem, t: float, y0, *, target: Optional[float] = None, tol: float = 1e-3,
                     quantity: str = "omega", rho: float = 1.0, d: Optional[float] = None,
                     s_max: float = 1e4, n_grid: int = 201, n_quad: int = 151, throw: bool = True) -> ScalarResult:
    """ODE time after which ``|quantity - target| < tol`` for good (first entry of the final run).

    ``target`` defaults to the stationary value (:func:`stationary_point`).  Convert to epochs with
    :func:`flowphase.theory.dynamics.ode_time_per_step`.

    Returns
    -------
    ScalarResult
        ``value`` the ODE time (``float(result)`` also gives it); ``iterations`` the accepted Runge-Kutta steps
        of all integrations; ``residual`` = ``|quantity - target|`` at the end of the last integration window
        (``< tol`` when converged); ``info['target']``, ``info['s_end']``.  With ``throw`` (default) a tolerance
        not reached by ``s_max`` raises :class:`ConvergenceError`; otherwise ``converged`` is False and ``value``
        is NaN.
    """
    if quantity not in STATE_NAMES:
        raise ValueError(f"quantity must be one of {STATE_NAMES}, got {quantity!r}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    iq = STATE_NAMES.index(quantity)
    if target is None:
        target = stationary_point(problem, t, rho=rho, d=d, n_quad=n_quad).value[quantity]
    s_end = 10.0
    kw = dict(rho=rho, d=d, n_quad=n_quad)
    steps = 0

    def done(value, residual):
        return ScalarResult(value=float(value), converged=True, iterations=steps, residual=float(residual),
                            message=f"{quantity} within {tol} of {target}",
                            info={"target": float(target), "s_end": float(s_end), "quantity": quantity})

    while True:
        times = np.linspace(0.0, s_end, n_grid)
        tr = integrate_overlaps(problem, t, y0, times, **kw)
        steps += tr.iterations
        err = np.abs(tr.value[:, iq] - target)
        bad = np.nonzero(err >= tol)[0]
        if bad.size == 0:
            return done(0.0, err[-1])
        last = bad[-1]
        if last < n_grid - 1:
            # refine the last crossing on a fine grid, then interpolate linearly inside it
            sub = np.linspace(times[last], times[last + 1], n_grid)
            tr2 = integrate_overlaps(problem, t, tr.value[last], sub, **kw)
            steps += tr2.iterations
            err2 = np.abs(tr2.value[:, iq] - target)
            j = np.nonzero(err2 >= tol)[0][-1]
            if j == n_grid - 1:
                return done(sub[-1], err[-1])
            e0, e1 = err2[j], err2[j + 1]
            frac = (e0 - tol) / (e0 - e1) if e0 != e1 else 0.0
            return done(sub[j] + frac * (sub[j + 1] - sub[j]), err[-1])
        if s_end >= s_max:
            msg = (f"{quantity} not within {tol} of {target} by ODE time {s_end} "
                   f"(error {err[-1]:.3e})")
            out = ScalarResult(value=math.nan, converged=False, iterations=steps, residual=float(err[-1]),
                               message=msg, info={"target": float(target), "s_end": float(s_end),
                                                  "quantity": quantity})
            if throw:
                raise ConvergenceError(msg, out)
            return out
        s_end = min(4.0 * s_end, s_max)
