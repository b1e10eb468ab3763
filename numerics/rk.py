"""One explicit Runge–Kutta engine driven by Butcher tableaus given as data.

The stepping logic lives once in :func:`_rk_kernel` (scipy ``integrate/_ivp/rk.py`` style: a method is
only a tableau).  Tableaus: Dormand–Prince 5(4) with adaptive step-size / error control, Heun–Euler 2(1)
(adaptive or fixed), and the fixed-step classical RK4, Euler and Heun methods.

Right-hand sides are numba-compiled functions with the signature::

    rhs(t, y, tgrid, curves, params, out) -> None      # writes dy/dt into ``out``

``y`` is the whole state (all trajectories side by side, so one call advances e.g. every quantile node
of y(0) ~ N(0, 1) at once), ``curves`` is a ``(k, len(tgrid))`` array of parameter curves sampled on
``tgrid`` and read back by piecewise-linear interpolation (:func:`interp_curve`), ``params`` a float64
vector of constants.  The RHS is passed to the kernel as a first-class function object: the kernel
compiles once per RHS function, never per parameter value.  Two RHS are provided (the flows of
PAPER §3.5 and PREDECESSOR §2.2 are all of one of these two forms):

* :func:`rhs_tanh` — ``dy_i/dt = a(t) y_i + m(t) tanh(omega(t) y_i + b(t))`` (curves ``a, omega, b, m``),
  the projected 1-D transport of phase 1, the exact flow through the t = 1 window and the undilated
  Bayes flow;
* :func:`rhs_affine` — ``dy_j/dt = G_j(t) y_j + F_j(t)`` (curves ``G_0..G_{k-1}, F_0..F_{k-1}``), the
  summary-statistics flows of phase 2 and of Cui et al.

Public entry point: :func:`solve` (returns a :class:`~flowphase.numerics.results.SolverResult`, raises
:class:`~flowphase.numerics.results.ConvergenceError` on step-size underflow, too many steps or
non-finite values).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numba import njit

from flowphase.numerics.results import ConvergenceError, SolverResult

__all__ = [
    "Tableau", "TABLEAUS", "DOPRI5", "HEUN_EULER", "RK4", "EULER", "HEUN",
    "interp_curve", "rhs_tanh", "rhs_affine", "solve", "RKSolution",
]


# ----------------------------------------------------------------------------- tableaus (data)
@dataclass(frozen=True)
class Tableau:
    """Butcher tableau ``(A, b, c)`` with optional embedded weights ``b_err = b - b_hat``.

    ``order`` is the order of the propagated solution; ``error_order`` the order of the embedded
    estimator (the step controller uses the exponent ``-1/(error_order + 1)``, as scipy does).
    """

    name: str
    A: np.ndarray
    b: np.ndarray
    c: np.ndarray
    order: int
    b_err: Optional[np.ndarray] = None
    error_order: int = 0

    @property
    def adaptive(self) -> bool:
        return self.b_err is not None

    @property
    def stages(self) -> int:
        return len(self.b)


def _f(x):
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64))


# Dormand & Prince (1980), the tableau of scipy's RK45.
_DP_A = _f([
    [0, 0, 0, 0, 0, 0, 0],
    [1 / 5, 0, 0, 0, 0, 0, 0],
    [3 / 40, 9 / 40, 0, 0, 0, 0, 0],
    [44 / 45, -56 / 15, 32 / 9, 0, 0, 0, 0],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0, 0],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0, 0],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
])
_DP_B = _f([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0])
_DP_BHAT = _f([5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40])
DOPRI5 = Tableau("dopri5", _DP_A, _DP_B, _f([0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1]), 5,
                 _DP_B - _DP_BHAT, 4)
HEUN_EULER = Tableau("heun_euler", _f([[0, 0], [1, 0]]), _f([0.5, 0.5]), _f([0, 1]), 2,
                     _f([0.5, 0.5]) - _f([1.0, 0.0]), 1)
RK4 = Tableau("rk4", _f([[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]]),
              _f([1 / 6, 1 / 3, 1 / 3, 1 / 6]), _f([0, 0.5, 0.5, 1]), 4)
EULER = Tableau("euler", _f([[0.0]]), _f([1.0]), _f([0.0]), 1)
HEUN = Tableau("heun", _f([[0, 0], [1, 0]]), _f([0.5, 0.5]), _f([0, 1]), 2)
TABLEAUS = {tb.name: tb for tb in (DOPRI5, HEUN_EULER, RK4, EULER, HEUN)}


# ----------------------------------------------------------------------------- RHS building blocks
@njit(cache=True)
def interp_curve(t, tgrid, curves, k):
    """Piecewise-linear interpolation of row ``k`` of ``curves`` (sampled on increasing ``tgrid``) at t.

    Constant extrapolation outside ``[tgrid[0], tgrid[-1]]``; a single-node grid is a constant.
    """
    n = tgrid.shape[0]
    if n == 1 or t <= tgrid[0]:
        return curves[k, 0]
    if t >= tgrid[n - 1]:
        return curves[k, n - 1]
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if tgrid[mid] <= t:
            lo = mid
        else:
            hi = mid
    w = (t - tgrid[lo]) / (tgrid[hi] - tgrid[lo])
    return (1.0 - w) * curves[k, lo] + w * curves[k, hi]


@njit(cache=True)
def rhs_tanh(t, y, tgrid, curves, params, out):
    """``dy_i/dt = linear(t) y_i + m(t) tanh(omega(t) y_i + b(t))`` for every trajectory i.

    ``curves`` rows: ``linear, omega, b, m``.  Phase-1 transport (PAPER §3.5) is ``linear = 0``,
    ``m = kappa m_t``; ``params`` is unused (kept for the common signature).
    """
    linear = interp_curve(t, tgrid, curves, 0)
    om = interp_curve(t, tgrid, curves, 1)
    bb = interp_curve(t, tgrid, curves, 2)
    m = interp_curve(t, tgrid, curves, 3)
    for i in range(y.shape[0]):
        out[i] = linear * y[i] + m * math.tanh(om * y[i] + bb)


@njit(cache=True)
def rhs_affine(t, y, tgrid, curves, params, out):
    """``dy_j/dt = G_j(t) y_j + F_j(t)``; ``curves`` rows ``G_0..G_{k-1}, F_0..F_{k-1}`` (k = len(y)).

    The summary-statistics flows of phase 2 (PAPER §3.5) and of Cui et al. (PREDECESSOR §2.2).
    """
    k = y.shape[0]
    for j in range(k):
        out[j] = interp_curve(t, tgrid, curves, j) * y[j] + interp_curve(t, tgrid, curves, k + j)


# ----------------------------------------------------------------------------- the engine
@njit(cache=True)
def _rms_norm(e, y, ynew, rtol, atol):
    total = 0.0
    for i in range(e.shape[0]):
        sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
        total += (e[i] / sc) ** 2
    return math.sqrt(total / e.shape[0])


# The two kernels below take the right-hand side as a first-class function argument.  They are
# compiled once per (signature, RHS function) in a process, but NOT cached on disk: numba's on-disk
# cache of functions with dispatcher-typed arguments is unreliable (numba/numba#2956 and numba/numba#6251 on GitHub; here a
# cache index holding several RHS types raised "ReferenceError: underlying object has vanished"
# when a second RHS was compiled in a later process).  Every other kernel keeps cache=True.
@njit(cache=False)
def _stages(rhs, t, y, h, tgrid, curves, params, A, c, K, ytmp):
    ns = c.shape[0]
    ny = y.shape[0]
    for stage in range(ns):
        for i in range(ny):
            acc = y[i]
            for j in range(stage):
                if A[stage, j] != 0.0:
                    acc += h * A[stage, j] * K[j, i]
            ytmp[i] = acc
        rhs(t + c[stage] * h, ytmp, tgrid, curves, params, K[stage])


@njit(cache=False)
def _rk_kernel(rhs, t_eval, y0, tgrid, curves, params, A, b, c, b_err, err_exp, adaptive,
               rtol, atol, h_init, h_max_fixed, max_steps):
    """Integrate from ``t_eval[0]`` through every ``t_eval[k]`` (monotone, either direction).

    Returns ``(Y, n_accepted, n_rejected, n_rhs, max_err, status)`` with ``Y[k]`` the state at
    ``t_eval[k]``; ``max_err`` is the largest scaled embedded error norm of an accepted step (adaptive)
    and ``status`` 0 = success, 1 = step-size underflow, 2 = non-finite value, 3 = too many steps.
    Adaptive steps are clipped to land on every output time; fixed steps split each output interval
    into ``ceil(|interval| / h_max_fixed)`` equal steps.
    """
    ny = y0.shape[0]
    nt = t_eval.shape[0]
    ns = c.shape[0]
    Y = np.empty((nt, ny))
    y = y0.copy()
    ynew = np.empty(ny)
    err = np.empty(ny)
    ytmp = np.empty(ny)
    K = np.empty((ns, ny))
    for i in range(ny):
        Y[0, i] = y[i]
        if not math.isfinite(y[i]):
            return Y, 0, 0, 0, 0.0, 2
    n_acc = 0
    n_rej = 0
    n_rhs = 0
    max_err = 0.0
    t = t_eval[0]
    h = abs(h_init)
    for k in range(1, nt):
        t_end = t_eval[k]
        span = t_end - t
        if span == 0.0:
            for i in range(ny):
                Y[k, i] = y[i]
            continue
        direction = 1.0 if span > 0 else -1.0
        if not adaptive:
            nsub = int(math.ceil(abs(span) / h_max_fixed - 1e-12))
            if nsub < 1:
                nsub = 1
            hh = span / nsub
            for sstep in range(nsub):
                ts = t + sstep * hh
                _stages(rhs, ts, y, hh, tgrid, curves, params, A, c, K, ytmp)
                n_rhs += ns
                for i in range(ny):
                    acc = y[i]
                    for stage in range(ns):
                        acc += hh * b[stage] * K[stage, i]
                    y[i] = acc
                    if not math.isfinite(acc):
                        return Y, n_acc, n_rej, n_rhs, max_err, 2
                n_acc += 1
                if n_acc > max_steps:
                    return Y, n_acc, n_rej, n_rhs, max_err, 3
            t = t_end
        else:
            while direction * (t_end - t) > 0.0:
                h_min = 16.0 * 2.220446049250313e-16 * max(abs(t), abs(t_end), 1.0)
                if h < h_min:
                    return Y, n_acc, n_rej, n_rhs, max_err, 1
                last = False
                if h >= abs(t_end - t):
                    h_step = t_end - t
                    last = True
                else:
                    h_step = direction * h
                _stages(rhs, t, y, h_step, tgrid, curves, params, A, c, K, ytmp)
                n_rhs += ns
                finite = True
                for i in range(ny):
                    acc = y[i]
                    e = 0.0
                    for stage in range(ns):
                        acc += h_step * b[stage] * K[stage, i]
                        e += h_step * b_err[stage] * K[stage, i]
                    ynew[i] = acc
                    err[i] = e
                    if not (math.isfinite(acc) and math.isfinite(e)):
                        finite = False
                if finite:
                    en = _rms_norm(err, y, ynew, rtol, atol)
                else:
                    en = math.inf
                if en <= 1.0:
                    t = t_end if last else t + h_step
                    for i in range(ny):
                        y[i] = ynew[i]
                    n_acc += 1
                    if en > max_err:
                        max_err = en
                    if en == 0.0:
                        fac = 10.0
                    else:
                        fac = min(10.0, 0.9 * en ** err_exp)
                    if last:
                        h = max(h, abs(h_step) * fac)
                    else:
                        h = abs(h_step) * fac
                else:
                    n_rej += 1
                    if math.isfinite(en):
                        fac = max(0.2, 0.9 * en ** err_exp)
                    else:
                        fac = 0.2
                    h = abs(h_step) * fac
                if n_acc + n_rej > max_steps:
                    return Y, n_acc, n_rej, n_rhs, max_err, 3
        for i in range(ny):
            Y[k, i] = y[i]
    return Y, n_acc, n_rej, n_rhs, max_err, 0


@dataclass
class RKSolution(SolverResult):
    """:class:`SolverResult` whose ``value`` is the array ``Y[k, :]`` of states at ``t``.

    ``iterations`` = accepted steps, ``residual`` = the largest scaled local error estimate of an
    accepted step (adaptive tableaus; <= 1 by construction) or 0.0 for fixed-step tableaus, which carry
    no estimate.  ``info`` holds ``t``, ``n_rejected``, ``nfev`` and the tableau name.
    """

    @property
    def t(self) -> np.ndarray:
        return self.info["t"]

    @property
    def y(self) -> np.ndarray:
        return self.value


_STATUS = {1: "step size underflow", 2: "non-finite value", 3: "too many steps"}


def _initial_step(rhs, t0, y0, direction, tgrid, curves, params, order, rtol, atol):
    """Hairer–Nørsett–Wanner initial step heuristic (as scipy's ``select_initial_step``)."""
    f0 = np.empty_like(y0)
    rhs(t0, y0, tgrid, curves, params, f0)
    scale = atol + np.abs(y0) * rtol
    d0 = np.sqrt(np.mean((y0 / scale) ** 2))
    d1 = np.sqrt(np.mean((f0 / scale) ** 2))
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    y1 = y0 + direction * h0 * f0
    f1 = np.empty_like(y0)
    rhs(t0 + direction * h0, y1, tgrid, curves, params, f1)
    d2 = np.sqrt(np.mean(((f1 - f0) / scale) ** 2)) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    return min(100 * h0, h1)


def solve(rhs, t_eval, y0, *, tgrid=None, curves=None, params=None, method: str = "dopri5",
          rtol: float = 1e-9, atol: float = 1e-11, h: Optional[float] = None,
          max_steps: int = 1_000_000, throw: bool = True, stop_at_nodes: bool = False) -> RKSolution:
    """Integrate ``dy/dt = rhs(t, y)`` from ``t_eval[0]`` through the points ``t_eval``.

    Parameters
    ----------
    rhs : numba-compiled function ``rhs(t, y, tgrid, curves, params, out)``
        E.g. :func:`rhs_tanh` or :func:`rhs_affine`.
    t_eval : array, strictly monotone (increasing or decreasing: backward integration)
        Output times; the first is the initial time.
    y0 : array (ny,)
        Initial state (all trajectories).
    tgrid, curves : arrays, optional
        Parameter curves ``curves[k, j]`` at ``tgrid[j]`` (piecewise-linear in the RHS).
    params : array, optional
        Constants passed to the RHS.
    method : {'dopri5', 'heun_euler', 'rk4', 'euler', 'heun'}
        Adaptive tableaus use ``rtol``/``atol`` (RMS norm, scipy convention); fixed-step tableaus take
        steps of at most ``h`` landing on every output time (``h=None``: one step per output interval).
    throw : bool
        Raise :class:`ConvergenceError` on failure (default) instead of returning ``converged=False``.
    stop_at_nodes : bool
        Also land on every ``tgrid`` node inside the span, so that no step straddles a kink of the
        piecewise-linear curves (the embedded error estimate assumes a smooth RHS; a kink costs accuracy).

    Returns
    -------
    RKSolution
        ``value[k]`` is the state at ``t_eval[k]``.
    """
    if method not in TABLEAUS:
        raise ValueError(f"method must be one of {sorted(TABLEAUS)}, got {method!r}")
    tb = TABLEAUS[method]
    t_eval = _f(np.atleast_1d(t_eval))
    if t_eval.ndim != 1 or t_eval.size < 2:
        raise ValueError("t_eval must be a 1-D array of at least two times")
    dt = np.diff(t_eval)
    if not (np.all(dt > 0) or np.all(dt < 0)) or not np.all(np.isfinite(t_eval)):
        raise ValueError("t_eval must be finite and strictly monotone")
    y0 = _f(np.atleast_1d(y0)).ravel()
    if y0.size == 0:
        raise ValueError("y0 must not be empty")
    tgrid = _f([0.0]) if tgrid is None else _f(tgrid)
    curves = np.zeros((1, tgrid.size)) if curves is None else _f(curves)
    if curves.ndim != 2 or curves.shape[1] != tgrid.size:
        raise ValueError(f"curves must have shape (k, len(tgrid)) = (k, {tgrid.size}), got {curves.shape}")
    if tgrid.size > 1 and not np.all(np.diff(tgrid) > 0):
        raise ValueError("tgrid must be strictly increasing")
    params = _f([0.0]) if params is None else _f(np.atleast_1d(params))
    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol and atol must be > 0, got rtol={rtol}, atol={atol}")
    adaptive = tb.adaptive and method in ("dopri5", "heun_euler")
    direction = 1.0 if dt[0] > 0 else -1.0
    if adaptive:
        h0 = h if h is not None else _initial_step(rhs, t_eval[0], y0, direction, tgrid, curves,
                                                   params, tb.error_order, rtol, atol)
        h_fixed = 1.0
        b_err = tb.b_err
        err_exp = -1.0 / (tb.error_order + 1)
    else:
        h_fixed = float(np.max(np.abs(dt))) if h is None else float(h)
        if not h_fixed > 0:
            raise ValueError(f"h must be > 0, got {h}")
        h0 = h_fixed
        b_err = np.zeros_like(tb.b)
        err_exp = -0.5
    t_run, rows = t_eval, None
    if stop_at_nodes and tgrid.size > 2:
        lo, hi = min(t_eval[0], t_eval[-1]), max(t_eval[0], t_eval[-1])
        inner = tgrid[(tgrid > lo) & (tgrid < hi)]
        t_run = np.unique(np.concatenate([t_eval, inner]))
        if direction < 0:
            t_run = t_run[::-1].copy()
        rows = np.searchsorted(t_run, t_eval) if direction > 0 else \
            (t_run.size - 1 - np.searchsorted(t_run[::-1], t_eval))
    Y, n_acc, n_rej, nfev, max_err, status = _rk_kernel(
        rhs, t_run, y0, tgrid, curves, params, tb.A, tb.b, tb.c, b_err, err_exp, adaptive,
        float(rtol), float(atol), float(h0), float(h_fixed), int(max_steps))
    if rows is not None:
        Y = np.ascontiguousarray(Y[rows])
    info = {"t": t_eval, "n_rejected": int(n_rej), "nfev": int(nfev), "method": method}
    ok = status == 0
    msg = "success" if ok else f"{method} failed: {_STATUS[int(status)]}"
    res = RKSolution(value=Y, converged=ok, iterations=int(n_acc), residual=float(max_err),
                     message=msg, info=info)
    if not ok and throw:
        raise ConvergenceError(f"Runge-Kutta ({method}) failed after {n_acc} accepted steps: "
                               f"{_STATUS[int(status)]}", res)
    return res
