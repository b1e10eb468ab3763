"""Numba integrator of the overlap dynamics (gradient flow / gradient descent) of the per-time denoiser.

The right-hand side, the exact GD map and the loss are generated from the sympy derivation of
:mod:`flowphase.theory.dynamics` into :mod:`flowphase.numerics._generated_dynamics`; this module adds
the Gaussian kernels (trapezoid rule, one dimension per label) and drives the tableau Runge-Kutta
engine :func:`flowphase.numerics.rk.solve` (Dormand-Prince 5(4) with error control).

State vector ``y = (c, b, m, a, q, omega, r, v)`` (:data:`STATE_NAMES`), ODE time ``s`` as defined in
:mod:`flowphase.theory.dynamics` (``du/ds = -d grad_u Lbar``; ``dc/ds = -rho dLbar/dc``); use
:func:`flowphase.theory.dynamics.ode_time_per_step` to convert simulator epochs to ``s``.

Kernels (PAPER §2.2, §3.1), by the trapezoid rule (see :func:`_gh`): ``z_s = b + omega k s + sqrt(gam r) zeta``, ``zeta ~ N(0, 1)``::

    M_s = sum_s p_s s E tanh(z_s),  dM_s/db = sum_s p_s s E sech^2,  dM_s/domega = k sum_s p_s E sech^2,
    dM_s/dr = gam/2 sum_s p_s s E tanh''     (Stein: d/dr E F(sqrt(gam r) zeta) = gam/2 E F''),
    M_2 = sum_s p_s E tanh^2,  and the same derivatives of tanh^2.

Phase 1 at d = inf: ``k = kappa t beta'(0)``, ``gam = 1``, ``alpha = 1``, ``beta = 0``.  Phase 2 at
d = inf: saturated (``M_s = sign(omega)``, ``M_2 = 1``, derivatives 0; needs ``omega != 0``).
``finite_d=True`` evaluates the same formulas at the schedule's actual ``tau`` (``k = beta sqrt(d)``,
``gam = alpha^2 + beta^2 sigma^2``).

Adam (no closed description, :mod:`flowphase.theory.dynamics`): :func:`adam_epochs` puts an ODE
trajectory on the clock of noise-dominated Adam for the encoder w; :func:`adam_min_epochs` is the
cruder bound "a coordinate moves by at most about ``lr`` per step".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np
from numba import njit

from flowphase.numerics import _generated_dynamics as _gen
from flowphase.numerics.results import ConvergenceError, SolverResult, check_finite
from flowphase.numerics.rk import solve as rk_solve
from flowphase.theory.dynamics import ode_time_per_step
from flowphase.theory.problem import Problem, TimeDilation

__all__ = [
    "STATE_NAMES", "OverlapTrajectory", "gaussian_kernels", "dynamics_params", "initial_overlaps",
    "integrate_overlaps", "iterate_gd_map", "stationary_point", "convergence_time", "overlap_loss",
    "adam_min_epochs", "adam_epochs", "gz_second_moment", "dynamics_json", "problem_from_args",
]

STATE_NAMES = ("c", "b", "m", "a", "q", "omega", "r", "v")
_NPAR = 9          # generated parameter block
_IK, _IGAM, _IP, _ISAT, _INQ = 9, 10, 11, 12, 13
_HEAD = 14
_NKIN = 11


# ----------------------------------------------------------------------------- kernels
@njit(cache=True)
def _kernels(b, om, r, k, gam, p, sat, nodes, weights, kin):
    """Fill ``kin`` = (M_s, M_s_b, M_s_w, M_s_r, M_2, M_2_b, M_2_w, M_2_r, E sech^4, E s tanh sech^4,
    E tanh^2 sech^4) (module docstring)."""
    if sat > 0.5:
        sg = 1.0 if om > 0.0 else (-1.0 if om < 0.0 else 0.0)
        kin[0] = sg
        kin[4] = 1.0
        for i in (1, 2, 3, 5, 6, 7, 8, 9, 10):
            kin[i] = 0.0
        return
    sd = math.sqrt(max(gam * r, 0.0))
    Ms = 0.0
    Msb = 0.0
    Msw = 0.0
    Msr = 0.0
    M2 = 0.0
    M2b = 0.0
    M2w = 0.0
    M2r = 0.0
    Ka = 0.0
    Kb = 0.0
    Kc = 0.0
    for lab in range(2):
        s = 1.0 if lab == 0 else -1.0
        ps = p if lab == 0 else 1.0 - p
        t0 = 0.0
        t1 = 0.0
        t2 = 0.0
        q0 = 0.0
        q2 = 0.0
        p0 = 0.0
        p1 = 0.0
        p2 = 0.0
        shift = b + om * k * s
        for j in range(nodes.shape[0]):
            th = math.tanh(shift + sd * nodes[j])
            se = 1.0 - th * th
            wj = weights[j]
            t0 += wj * th
            t1 += wj * se
            t2 += wj * (-2.0 * th * se)
            q0 += wj * th * th
            q2 += wj * (2.0 * se * se - 4.0 * th * th * se)
            se2 = wj * se * se
            p0 += se2
            p1 += se2 * th
            p2 += se2 * th * th
        # (tanh^2)' = -tanh''
        Ms += ps * s * t0
        Msb += ps * s * t1
        Msw += ps * t1
        Msr += ps * s * t2
        M2 += ps * q0
        M2b += ps * (-t2)
        M2w += ps * s * (-t2)
        M2r += ps * q2
        Ka += ps * p0
        Kb += ps * s * p1
        Kc += ps * p2
    kin[0] = Ms
    kin[1] = Msb
    kin[2] = k * Msw
    kin[3] = 0.5 * gam * Msr
    kin[4] = M2
    kin[5] = M2b
    kin[6] = k * M2w
    kin[7] = 0.5 * gam * M2r
    kin[8] = Ka
    kin[9] = Kb
    kin[10] = Kc


@njit(cache=True)
def _kin_from_params(y, params, kin):
    nq = int(params[_INQ])
    nodes = params[_HEAD:_HEAD + nq]
    weights = params[_HEAD + nq:_HEAD + 2 * nq]
    _kernels(y[1], y[5], y[6], params[_IK], params[_IGAM], params[_IP], params[_ISAT], nodes, weights, kin)


@njit(cache=True)
def overlap_rhs(t, y, tgrid, curves, params, out):
    """Gradient-flow RHS in the :func:`flowphase.numerics.rk.solve` signature (autonomous in s)."""
    kin = np.empty(_NKIN)
    _kin_from_params(y, params, kin)
    _gen.flow_rhs(y, kin, params[:_NPAR], out)


@njit(cache=True)
def _gd_iterate(y0, params, eta, n_steps, record_every):
    nrec = n_steps // record_every + 1
    Y = np.empty((nrec, y0.shape[0]))
    y = y0.copy()
    ynew = np.empty_like(y)
    kin = np.empty(_NKIN)
    Y[0] = y
    k = 1
    for step in range(1, n_steps + 1):
        _kin_from_params(y, params, kin)
        _gen.gd_map(y, kin, params[:_NPAR], eta, ynew)
        for i in range(y.shape[0]):
            y[i] = ynew[i]
        if step % record_every == 0:
            Y[k] = y
            k += 1
    return Y


def gaussian_kernels(b: float, omega: float, r: float, k: float, p: float, gam: float = 1.0,
                     n_quad: int = 151) -> np.ndarray:
    """The eight kernel values (module docstring) with ``n_quad`` trapezoid nodes."""
    nodes, weights = _gh(n_quad)
    kin = np.empty(_NKIN)
    _kernels(float(b), float(omega), float(r), float(k), float(gam), float(p), 0.0, nodes, weights, kin)
    return kin


def _gh(n_quad: int):
    """Nodes and weights of the N(0, 1) expectation: trapezoid rule on [-9, 9] with ``n_quad`` nodes.

    tanh has poles at distance pi / (2 sd) from the real axis (sd = sqrt(gam r)), where Gauss-Hermite
    converges slowly (61 nodes: 7.5e-6 error on E tanh^2(4.69 + 2 zeta), which shifts the t = 1 fixed
    point by 2e-2 because its slowest mode has rate 5e-3); the trapezoid rule converges like
    ``exp(-2 pi dist / h)`` (h = 0.08: ~1e-14 at sd = 2, ~1e-9 at sd = 5).  Tail mass beyond 9 is 2e-19.
    """
    if int(n_quad) < 3:
        raise ValueError(f"n_quad must be an integer >= 3, got {n_quad!r}")
    x = np.linspace(-9.0, 9.0, int(n_quad))
    h = x[1] - x[0]
    w = h * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    w /= w.sum()
    return np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(w, dtype=np.float64)


# ----------------------------------------------------------------------------- parameters
def dynamics_params(problem: Problem, t: float, rho: float = 1.0, finite_d: Optional[bool] = None,
                    n_quad: int = 151, sgd: float = 0.0) -> np.ndarray:
    """Pack the parameter vector of the RHS for the per-time problem at schedule time ``t``.

    Parameters
    ----------
    problem : Problem
        Only ``noise='fresh'`` is derived at finite n (PAPER §3.4 fresh-noise ridge).
    t : float
        Schedule time (dilated: [0, 2]; phase 1 is t <= 1).
    rho : float > 0
        Speed of the scalars c, b relative to the vectors (``rho = d`` for one learning rate on all
        parameters, ``1`` for the balanced convention; :func:`~flowphase.theory.dynamics.ode_time_per_step`).
    finite_d : bool, optional
        Evaluate at the schedule's actual tau (default: True when ``problem.d`` is finite).
    sgd : float >= 0
        Finite-batch noise strength ``eta d / B`` (balanced convention; 0 = gradient flow), see
        :mod:`flowphase.theory.dynamics`.
    """
    if not (isinstance(sgd, (int, float)) and sgd >= 0 and math.isfinite(sgd)):
        raise ValueError(f"sgd must be a finite number >= 0, got {sgd!r}")
    if not isinstance(problem, Problem):
        raise ValueError("problem must be a flowphase Problem")
    if not (isinstance(rho, (int, float)) and rho > 0 and math.isfinite(rho)):
        raise ValueError(f"rho must be a positive finite number, got {rho!r}")
    problem.schedule.check_t(t)
    t = float(t)
    d = problem.d
    n = problem.n
    if math.isfinite(n) and problem.training.noise != "fresh":
        raise ValueError(f"noise must be 'fresh' for the overlap dynamics at finite n, got {problem.training.noise!r}")
    if finite_d is None:
        finite_d = math.isfinite(d)
    if finite_d and not math.isfinite(d):
        raise ValueError("finite_d=True needs a finite problem dimension d")
    it = problem.interpolant
    sig2 = problem.sigma ** 2
    if finite_d:
        tau = float(problem.tau(t))
        al, be = float(it.alpha(tau)), float(it.beta(tau))
        k, gam, sat = be * math.sqrt(d), al * al + be * be * sig2, 0.0
    else:
        dil = isinstance(problem.schedule, TimeDilation)
        if dil and t <= 1.0:
            al, be = 1.0, 0.0
            k, gam, sat = problem.kappa * t * float(it.dbeta(0.0)), 1.0, 0.0
        else:
            tau = (t - 1.0) if dil else t
            al, be = float(it.alpha(tau)), float(it.beta(tau))
            gam = 1.0
            if be > 0.0:
                k, sat = math.inf, 1.0
            else:
                k, sat = 0.0, 0.0
    eps = 0.0 if math.isinf(n) else 1.0 / math.sqrt(n)
    nodes, weights = _gh(n_quad)
    head = [al * al, be, sig2, eps, problem.training.lam_u, problem.training.lam_w, float(rho), float(rho),
            float(sgd), (0.0 if math.isinf(k) else k), gam, problem.p, sat, float(nodes.size)]
    return np.ascontiguousarray(np.concatenate([np.asarray(head, float), nodes, weights]))


def _state(y0) -> np.ndarray:
    if isinstance(y0, dict):
        missing = [k for k in ("c", "b", "m", "q", "omega", "r") if k not in y0]
        if missing:
            raise ValueError(f"initial overlaps miss {missing}")
        arr = np.array([float(y0.get(k, 0.0)) for k in STATE_NAMES])
    else:
        arr = np.asarray(y0, dtype=np.float64).ravel().copy()
        if arr.size != 8:
            raise ValueError(f"y0 must have the 8 entries {STATE_NAMES}, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"y0 must be finite, got {arr}")
    if arr[4] < arr[2] ** 2 + arr[3] ** 2 - 1e-9 or arr[6] < arr[5] ** 2 - 1e-9:
        raise ValueError("y0 must satisfy q >= m^2 + a^2 and r >= omega^2 (Cauchy-Schwarz)")
    return arr


def _check_saturated(params, y):
    if params[_ISAT] > 0.5 and y[5] == 0.0:
        raise ValueError("omega must be nonzero in the saturated phase-2 limit (d = inf); "
                         "use a finite d with finite_d=True to follow the escape from omega = 0")


# ----------------------------------------------------------------------------- results
@dataclass
class OverlapTrajectory(SolverResult):
    """:class:`SolverResult` with ``value`` the array ``Y[k, :]`` of states at ODE times ``s[k]``."""

    @property
    def s(self) -> np.ndarray:
        return self.info["s"]

    def as_dict(self) -> Dict[str, np.ndarray]:
        out = {name: self.value[:, i] for i, name in enumerate(STATE_NAMES)}
        out["s"] = self.s
        return out


def integrate_overlaps(problem: Problem, t: float, y0, s_eval, rho: float = 1.0,
                       finite_d: Optional[bool] = None, n_quad: int = 151, rtol: float = 1e-8,
                       atol: float = 1e-10, method: str = "dopri5", throw: bool = True,
                       sgd: float = 0.0) -> OverlapTrajectory:
    """Integrate the gradient-flow ODE of the overlaps from ``y0`` through the ODE times ``s_eval``.

    Parameters
    ----------
    y0 : dict or array
        Initial overlaps (``c, b, m, q, omega, r`` required; ``a, v`` default 0), e.g. measured on a
        simulator run.
    s_eval : array, increasing, starting at the initial time.
    sgd : float
        Finite-batch noise strength ``eta d / B`` of a simulation to be matched (0: gradient flow).

    Returns
    -------
    OverlapTrajectory
        ``value[k]`` = (c, b, m, a, q, omega, r, v) at ``s_eval[k]``; ``info['nfev']`` etc.

    Notes
    -----
    Equations of :mod:`flowphase.theory.dynamics` (PAPER §2.1-§3.4), Dormand-Prince 5(4) of
    :mod:`flowphase.numerics.rk`.
    """
    params = dynamics_params(problem, t, rho=rho, finite_d=finite_d, n_quad=n_quad, sgd=sgd)
    y = _state(y0)
    _check_saturated(params, y)
    s_eval = np.asarray(s_eval, dtype=np.float64)
    sol = rk_solve(overlap_rhs, s_eval, y, params=params, method=method, rtol=rtol, atol=atol,
                   max_steps=5_000_000, throw=throw)
    if sol.converged:
        check_finite("overlap trajectory", sol.value)
    return OverlapTrajectory(value=sol.value, converged=sol.converged, iterations=sol.iterations,
                             residual=sol.residual, message=sol.message,
                             info={"s": s_eval, "nfev": sol.info["nfev"], "t": float(t), "rho": float(rho)})


def iterate_gd_map(problem: Problem, t: float, y0, eta: float, n_steps: int, record_every: int = 1,
                   rho: float = 1.0, finite_d: Optional[bool] = None, n_quad: int = 151,
                   sgd: float = 0.0) -> OverlapTrajectory:
    """Iterate the exact d = inf overlap map of gradient descent with step ``eta`` (ODE-time units).

    One step advances ``s`` by ``eta``; the map is the flow's Euler step plus the ``eta^2 |grad|^2``
    terms of q, r, v (:func:`flowphase.theory.dynamics.gd_map_expressions`).
    """
    if not (eta > 0 and math.isfinite(eta)):
        raise ValueError(f"eta must be a positive finite number, got {eta!r}")
    if int(n_steps) < 1 or int(record_every) < 1:
        raise ValueError("n_steps and record_every must be integers >= 1")
    params = dynamics_params(problem, t, rho=rho, finite_d=finite_d, n_quad=n_quad, sgd=sgd)
    y = _state(y0)
    _check_saturated(params, y)
    Y = _gd_iterate(y, params, float(eta), int(n_steps), int(record_every))
    ok = bool(np.all(np.isfinite(Y)))
    s = np.arange(Y.shape[0]) * record_every * float(eta)
    res = OverlapTrajectory(value=Y, converged=ok, iterations=int(n_steps), residual=0.0,
                            message="success" if ok else "non-finite overlaps (step too large?)",
                            info={"s": s, "t": float(t), "rho": float(rho), "eta": float(eta)})
    return res.raise_if_failed("gradient-descent overlap map")


def overlap_loss(problem: Problem, t: float, y, finite_d: Optional[bool] = None, n_quad: int = 151) -> float:
    """The per-sample loss Lbar at overlaps ``y`` (:func:`flowphase.theory.dynamics.overlap_loss`)."""
    params = dynamics_params(problem, t, finite_d=finite_d, n_quad=n_quad)
    y = _state(y)
    kin = np.empty(_NKIN)
    _kin_from_params(y, params, kin)
    return float(_gen.loss_value(y, kin, params[:_NPAR]))


def _rhs_norm(params, y) -> float:
    out = np.empty(8)
    overlap_rhs(0.0, y, np.zeros(1), np.zeros((1, 1)), params, out)
    return float(np.max(np.abs(out)))


def stationary_point(problem: Problem, t: float, y0=None, rho: float = 1.0, finite_d: Optional[bool] = None,
                     tol: float = 1e-9, s_max: float = 1e5, n_quad: int = 151, throw: bool = True) -> SolverResult:
    """Long-time limit of the gradient flow: integrate until ``max|dy/ds| < tol``.

    ``y0`` defaults to the informed start (:func:`initial_overlaps` ``'informed'``).  Returns a
    :class:`SolverResult` whose ``value`` is a dict of the overlaps plus ``q_eta = a / sqrt(n)``;
    raises :class:`ConvergenceError` if the flow is not stationary by ``s_max``.
    """
    params = dynamics_params(problem, t, rho=rho, finite_d=finite_d, n_quad=n_quad)
    y = _state(initial_overlaps("informed", problem, t) if y0 is None else y0)
    _check_saturated(params, y)
    s0, span, total = 0.0, 10.0, 0
    res = _rhs_norm(params, y)
    while res >= tol and s0 < s_max:
        sol = rk_solve(overlap_rhs, np.array([s0, s0 + span]), y, params=params, rtol=1e-11, atol=1e-13,
                       max_steps=5_000_000)
        y = sol.value[-1].copy()
        total += sol.iterations
        s0 += span
        span *= 2.0
        res = _rhs_norm(params, y)
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


def convergence_time(problem: Problem, t: float, y0, target: Optional[float] = None, tol: float = 1e-3,
                     quantity: str = "omega", rho: float = 1.0, finite_d: Optional[bool] = None,
                     s_max: float = 1e4, n_grid: int = 201, n_quad: int = 151) -> float:
    """ODE time after which ``|quantity - target| < tol`` for good (first entry of the final run).

    ``target`` defaults to the stationary value (:func:`stationary_point`).  Convert to epochs with
    :func:`flowphase.theory.dynamics.ode_time_per_step`.  Raises :class:`ConvergenceError` if the
    tolerance is not reached by ``s_max``.
    """
    if quantity not in STATE_NAMES:
        raise ValueError(f"quantity must be one of {STATE_NAMES}, got {quantity!r}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    iq = STATE_NAMES.index(quantity)
    if target is None:
        target = stationary_point(problem, t, rho=rho, finite_d=finite_d, n_quad=n_quad).value[quantity]
    s_end = 10.0
    kw = dict(rho=rho, finite_d=finite_d, n_quad=n_quad)
    while True:
        s = np.linspace(0.0, s_end, n_grid)
        tr = integrate_overlaps(problem, t, y0, s, **kw)
        err = np.abs(tr.value[:, iq] - target)
        bad = np.nonzero(err >= tol)[0]
        if bad.size == 0:
            return 0.0
        last = bad[-1]
        if last < n_grid - 1:
            # refine the last crossing on a fine grid, then interpolate linearly inside it
            sub = np.linspace(s[last], s[last + 1], n_grid)
            tr2 = integrate_overlaps(problem, t, tr.value[last], sub, **kw)
            err2 = np.abs(tr2.value[:, iq] - target)
            j = np.nonzero(err2 >= tol)[0][-1]
            if j == n_grid - 1:
                return float(sub[-1])
            e0, e1 = err2[j], err2[j + 1]
            frac = (e0 - tol) / (e0 - e1) if e0 != e1 else 0.0
            return float(sub[j] + frac * (sub[j + 1] - sub[j]))
        if s_end >= s_max:
            raise ConvergenceError(f"{quantity} not within {tol} of {target} by ODE time {s_end} "
                                   f"(error {err[-1]:.3e})")
        s_end = min(4.0 * s_end, s_max)


# ----------------------------------------------------------------------------- initialisations
def initial_overlaps(kind: str, problem: Problem, t: float, seed: int = 0, scale: float = 0.1,
                     d: Optional[float] = None) -> Dict[str, float]:
    """Typical initial overlaps of the simulator's initialisations (PAPER §2.3).

    * ``small``: ``c = b = 0``, u, w with i.i.d. N(0, scale^2) entries: ``q = r = scale^2`` and the
      symmetry-breaking overlaps ``m = omega = scale / sqrt(d)`` (one standard deviation; at d = inf the
      flow needs a seed, ``d`` defaults to 10^4 there);
    * ``random`` (the authors'): ``c, b ~ N(0, 1)`` drawn with ``seed``, ``q = r = 1``,
      ``m = omega = 1/sqrt(d)``;
    * ``informed``: the population fixed point ``c = 0, b = h, m = q = 1, omega = k, r = omega^2``
      in phase 1 and the population ridge point (PAPER §3.3) in phase 2.
    """
    d_eff = problem.d if d is None else float(d)
    if not math.isfinite(d_eff):
        d_eff = 1e4
    if kind == "small":
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        e = scale / math.sqrt(d_eff)
        return {"c": 0.0, "b": 0.0, "m": e, "a": 0.0, "q": scale ** 2, "omega": e, "r": scale ** 2, "v": 0.0}
    if kind == "random":
        rng = np.random.default_rng(seed)
        c0, b0 = rng.standard_normal(2)
        e = 1.0 / math.sqrt(d_eff)
        return {"c": float(c0), "b": float(b0), "m": e, "a": 0.0, "q": 1.0, "omega": e, "r": 1.0, "v": 0.0}
    if kind == "informed":
        params = dynamics_params(problem, t, finite_d=False)
        if params[_ISAT] > 0.5 or (params[1] > 0.0):
            tp = float(params[1])
            al2 = float(params[0])
            s2 = problem.sigma ** 2
            cc = tp * s2 / (al2 + tp * tp * s2)
            mm = 1.0 - cc * tp
            k = 1.0
            return {"c": cc, "b": problem.h, "m": mm, "a": 0.0, "q": mm * mm, "omega": k, "r": k * k,
                    "v": mm * k}
        k = float(params[_IK])
        return {"c": 0.0, "b": problem.h, "m": 1.0, "a": 0.0, "q": 1.0, "omega": k, "r": k * k, "v": k}
    raise ValueError(f"init must be 'small', 'random' or 'informed', got {kind!r}")


def gz_second_moment(problem: Problem, t: float, y, finite_d: Optional[bool] = None, n_quad: int = 151) -> float:
    """``E[g_z^2]``, the per-row second moment of ``d loss / d z`` (:mod:`flowphase.theory.dynamics`)."""
    params = dynamics_params(problem, t, finite_d=finite_d, n_quad=n_quad)
    y = _state(y)
    kin = np.empty(_NKIN)
    _kin_from_params(y, params, kin)
    return float(_gen.gz_second_moment(y, kin, params[:_NPAR]))


def adam_epochs(problem: Problem, t: float, trajectory: "OverlapTrajectory", lr: float, rows: int,
                d: Optional[float] = None, finite_d: Optional[bool] = None) -> np.ndarray:
    """Adam epochs elapsed along an ODE trajectory, on the clock of the encoder w (noise-dominated Adam).

    When every coordinate's gradient is dominated by batch noise of one RMS ``sigma_w`` (the fresh-noise
    rows make it isotropic in the coordinates orthogonal to mu), Adam's ``m_hat / sqrt(v_hat)`` is
    ``g / sigma_w``: SGD with step ``lr / sigma_w`` whatever the loss normalisation.  With
    ``sigma_w^2 = gam_x E[g_z^2] / (rows d)`` (``gam_x = alpha^2 + beta^2 (1 + sigma^2)``) this is the
    balanced convention with ``ds/d(epoch) = lr sqrt(rows) / sqrt(d gam_x E[g_z^2])`` for the w block.
    Returns the cumulative epochs at the trajectory's times (trapezoid rule in s).  An approximation:
    u, c, b run on their own Adam clocks, which the single-rate ODE does not follow.
    """
    if not (lr > 0 and int(rows) >= 1):
        raise ValueError(f"lr must be > 0 and rows >= 1, got lr={lr!r}, rows={rows!r}")
    d = problem.d if d is None else float(d)
    if not math.isfinite(d):
        raise ValueError("adam_epochs needs a finite d")
    params = dynamics_params(problem, t, finite_d=finite_d)
    gx = params[0] + params[1] ** 2 * (1.0 + params[2])
    Y = trajectory.value
    rate = np.empty(Y.shape[0])
    kin = np.empty(_NKIN)
    for i in range(Y.shape[0]):
        _kin_from_params(Y[i], params, kin)
        g2 = max(float(_gen.gz_second_moment(Y[i], kin, params[:_NPAR])), 1e-300)
        rate[i] = math.sqrt(d * gx * g2) / (lr * math.sqrt(int(rows)))   # epochs per unit s
    s = trajectory.s
    out = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(s))])
    return out


def adam_min_epochs(r_perp0: float, r_perp_target: float, lr: float) -> float:
    """Lower bound on Adam epochs to shrink ``sqrt(r - omega^2)`` from ``sqrt(r_perp0)`` to
    ``sqrt(r_perp_target)``: each coordinate moves by at most ``lr`` per step, so the root-mean-square
    orthogonal norm falls by at most ``lr`` per epoch (steady-gradient Adam, ``|m_hat/sqrt(v_hat)| <= 1``).
    """
    if not (lr > 0 and r_perp0 >= 0 and r_perp_target >= 0):
        raise ValueError("lr must be > 0 and r_perp0, r_perp_target >= 0")
    return max(0.0, (math.sqrt(r_perp0) - math.sqrt(r_perp_target)) / lr)


# ----------------------------------------------------------------------------- CLI payload
_PROBLEM_KEYS = ("p", "sigma", "kappa", "d", "n", "lam_u", "lam_w")


def problem_from_args(args: dict) -> Problem:
    """A dilated :class:`Problem` from CLI-style keys ``p, sigma, kappa, d, n, lam_u, lam_w``."""
    kw = {}
    for k in _PROBLEM_KEYS:
        if args.get(k) is not None:
            val = args[k]
            if isinstance(val, str) and val.lower() in ("inf", "infinity"):
                val = math.inf
            kw[k] = float(val)
    for k in ("d", "n"):
        if k in kw and math.isfinite(kw[k]):
            kw[k] = int(kw[k]) if kw[k] == int(kw[k]) else kw[k]
    return Problem.dilated(**kw)


#: largest ``epochs`` of :func:`dynamics_json`: beyond it the adaptive integrator would run for minutes
#: on a trajectory long converged (issue 12, class 15)
MAX_EPOCHS = 1e7
#: budget of ``epochs x ode_time_per_epoch x rho`` (nfev ~ 5 per unit: ~1e6 evaluations, under a minute)
MAX_STIFF_TIME = 2e5
#: largest ODE time the adam convention integrates to
ADAM_S_MAX = 2e4


def _real_arg(name, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {v!r}")
    try:
        v = float(v)
    except OverflowError:
        raise ValueError(f"{name} is too large: {v!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def _int_arg(name, v, lo, hi) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= int(v) <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")
    return int(v)


def dynamics_json(args: dict) -> dict:
    """Payload of ``flowphase theory dynamics --t T --epochs E [--init] [problem flags] --json``.

    Keys of ``args``: ``t`` (required), ``epochs`` (required), ``init`` (small|random|informed,
    default small), ``lr`` (default 0.01), ``convention`` (``balanced`` default, or ``theory``,
    ``authors``, ``mean``: :func:`~flowphase.theory.dynamics.ode_time_per_step`; or ``adam``: the
    noise-dominated Adam clock of :func:`adam_epochs` with ``draws`` noises per point, d = inf ODE,
    finite n and d required), ``n_times``
    (T of the authors' convention, default 80), ``points`` (records, default 201), ``seed``,
    ``scale`` (small init), and the problem keys ``p, sigma, kappa, d, n, lam_u, lam_w``.

    Returns ``{"epochs", "c", "m", "omega", "b", "r", "q", "a", "v", "s", "problem", ...}`` with the
    overlaps along the gradient flow started from the chosen initialisation, sign-canonicalised so that
    the final omega is >= 0 (``(u, w, b) -> -(u, w, b)`` is a symmetry).
    """
    if args.get("t") is None or args.get("epochs") is None:
        raise ValueError("t and epochs are required")

    def opt(key, default):          # honour 0 and other falsy values: only None means "not given"
        v = args.get(key)
        return default if v is None else v

    t = _real_arg("t", args["t"])
    epochs = _real_arg("epochs", args["epochs"])
    if not 0 < epochs <= MAX_EPOCHS:
        raise ValueError(f"epochs must lie in (0, {MAX_EPOCHS:.0e}], got {args['epochs']!r}")
    problem = problem_from_args(args)
    conv = opt("convention", "balanced")
    lr = _real_arg("lr", opt("lr", 0.01))
    if not 0 < lr <= 1e6:
        raise ValueError(f"lr must lie in (0, 1e6], got {lr!r}")
    n_times = _int_arg("n_times", opt("n_times", 80), 1, 10 ** 6)
    if conv not in ("balanced", "theory", "authors", "mean", "adam"):
        raise ValueError(f"convention must be balanced, theory, authors, mean or adam, got {conv!r}")
    if conv != "balanced" and not math.isfinite(problem.d):
        raise ValueError(f"convention {conv!r} needs a finite d (pass --d)")
    points = _int_arg("points", opt("points", 201), 2, 100_000)
    if args.get("draws") is not None and conv != "adam":
        raise ValueError(f"draws applies only to the adam convention, got convention {conv!r}")
    draws = _int_arg("draws", opt("draws", 1), 1, 10 ** 6)
    init = opt("init", "small")
    scale = _real_arg("scale", opt("scale", 0.1))
    if not 0 <= scale <= 1e3:
        raise ValueError(f"scale must lie in [0, 1e3], got {scale!r}")
    y0 = initial_overlaps(init, problem, t, seed=_int_arg("seed", opt("seed", 0), 0, 2 ** 63 - 1), scale=scale)
    ep = np.linspace(0.0, epochs, points)
    if conv == "adam":
        # noise-dominated Adam on the encoder's clock (adam_epochs); rows = n x draws fresh-noise rows
        if not math.isfinite(problem.n):
            raise ValueError("convention 'adam' needs a finite n (pass --n)")
        rows = int(problem.n) * draws
        s_end = 1.0
        while True:
            s_grid = np.concatenate([[0.0], np.geomspace(1e-4 * s_end, s_end, 400)])
            tr = integrate_overlaps(problem, t, y0, s_grid, rho=1.0, finite_d=False)
            ep_s = adam_epochs(problem, t, tr, lr, rows, finite_d=False)
            if ep_s[-1] >= epochs or s_end * 8.0 > ADAM_S_MAX:
                # bounded work (issue 12, class 15): beyond ADAM_S_MAX the clock has stalled (vanishing gradient)
                break
            s_end *= 8.0
        cols = {name: np.interp(ep, ep_s, tr.value[:, i]) for i, name in enumerate(STATE_NAMES)}
        cols["s"] = np.interp(ep, ep_s, s_grid)
        ds = float("nan")
        nfev = tr.info["nfev"]
        adam_clock = float(ep_s[-1])
        if not adam_clock >= epochs:
            raise ConvergenceError(f"the Adam clock stalls at {adam_clock:.3g} epochs by ODE time {s_end:g} (the "
                                   f"gradient vanishes), short of epochs={epochs:g}: the adam convention cannot "
                                   "describe this run (try convention 'mean' or 'theory')")
    else:
        ds = ode_time_per_step(lr, problem.n if conv in ("theory", "authors") else 1.0,
                               problem.d if math.isfinite(problem.d) else 1.0, conv, n_times)
        rho = 1.0 if conv == "balanced" else float(problem.d)
        stiff = float(ep[-1]) * ds * max(rho, 1.0)   # the adaptive integrator takes ~5 steps per unit of it
        if not stiff <= MAX_STIFF_TIME:
            raise ValueError(f"epochs={epochs:g} with convention {conv!r} is {stiff:.3g} units of stiff ODE time, "
                             f"over the budget {MAX_STIFF_TIME:.0e} (~1 minute); use at most "
                             f"{MAX_STIFF_TIME / (ds * max(rho, 1.0)):.3g} epochs")
        tr = integrate_overlaps(problem, t, y0, ep * ds, rho=rho)
        cols = tr.as_dict()
        nfev = tr.info["nfev"]
    if cols["omega"][-1] < 0:          # canonical sign omega >= 0 at the end (PAPER §2.2, §7.12)
        for name in ("m", "a", "omega", "b"):
            cols[name] = -np.asarray(cols[name])
    out = {"epochs": ep.tolist()}
    for name, col in cols.items():
        out[name] = np.asarray(col).tolist()
    out.update({"t": t, "init": init, "lr": lr, "convention": conv,
                "ode_time_per_epoch": None if conv == "adam" else ds,
                "problem": problem.to_dict(), "nfev": nfev})
    return out
