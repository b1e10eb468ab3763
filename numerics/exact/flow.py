"""Generated distribution of the exact learned field: the 3-D per-sample flow (EXACT_FINITE_N §5).

A generated sample X in R^d is followed through its coordinates ``y = mu.X/sqrt(d)`` and
``e_+- = S_+-.X`` along the unit class-sum directions ``S_+- = sum_{nu in +-} eta^nu / sqrt(n_+- d)``, and
the bulk variance ``P = |X_perp|^2/d``.  With ``u = m mu + a_+- sum_+- eta^nu``,
``w = omega mu + z_+- sum_+- eta^nu`` and ``b_t(x) = a_x x + a_f f_t(x)`` (PAPER §2.4):

    dy/dt   = a_x y + a_f (c y + m sqrt(d) phi),
    de_+-/dt = a_x e_+- + a_f (c e_+- + a_+- sqrt(n_+- d) phi),
    phi     = tanh(omega y + z_+ sqrt(n_+) e_+ + z_- sqrt(n_-) e_- + b),
    dP/dt   = 2 (a_x + a_f c) P,        y, e_+, e_- ~ N(0, 1),  P(0) = 1.

The reduction is exact for a d-dimensional field whose mu, S_+, S_- are orthonormal (the velocity keeps
X - A(t) X(0) in their span); for random eta it holds up to the O(1/sqrt d) overlaps mu.S_+-, S_+.S_-.

Samplers (``method``), all starting at the first grid time with X ~ N(0, I) and stopping at the last:

* ``'euler'`` -- the authors' sampler (PAPER §2.5): the network of t_k drives the step t_k -> t_{k+1} with
  the speed of the interval (:func:`flowphase.numerics.velocity.interval_velocity_coefficients`);
* ``'heun'`` -- the trapezoidal predictor-corrector of :mod:`flowphase.validation.sampling`;
* ``'continuous'`` -- the exact flow of the field interpolated linearly between grid times (Dormand-Prince
  with :mod:`flowphase.numerics.rk`, the instantaneous speed tau'(t), legs split at the schedule's kink).
  It is the exact continuous flow only where the grid resolves the field (the t = 1+ crossover at finite d).

Saturated nodes (NaN omega, d = inf phase 2): w and b are flat directions there; the flow keeps the
encoder ``(omega, z_+-, b)`` of the last unsaturated node.  On samples that have left the crossover
(|y| ~ sqrt d) this is ``phi = sign(y)``, the saturated field; the mode of a sample is then set by the
threshold of the last unsaturated encoder, which is the authors' Euler transition (PAPER §3.5).
Trivial-branch nodes (omega = z = 0, b = +-inf) are rewritten as in :mod:`flowphase.numerics.generation.curves`.

Expectations over the Gaussian start (:func:`generated_flow`): a Gauss-Hermite product rule over
``(e_+(0), e_-(0))`` (a single node when z = 0 everywhere: then y does not see e and the e(0) variance is
added in closed form) and, at each outer node, the separatrix ``y0*`` of the monotone map
``y0 -> y_final`` (``p_hat = E_e Phi(-y0*)``, exact up to the 1e-13 bracket and the outer rule): bisection
through the boundary layer then Illinois regula falsi, or, for the continuous flow with y blind to e, the
zero of y_final integrated backward to t_0 (one solve) and graded Gauss-Legendre panels on either side of ``y0*`` for the moments (the map has a
boundary layer of width ~ 1/sqrt(d) at y0*).  Measured accuracy (tests): p_hat to < 1e-9 and the moments
to < 1e-6 against rules with twice the nodes; the continuous flow at rtol = 1e-10 differs from rtol = 1e-12 by
2e-11 in p_hat and 1e-7 in the moments.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numba import njit
from scipy.special import ndtr

from flowphase.numerics import rk
from flowphase.numerics.exact._flow_quadrature import inner_rule, separatrix
from flowphase.numerics.exact.fields import FIELD_ARRAYS
from flowphase.numerics.quadrature import gauss_hermite
from flowphase.numerics.results import ConvergenceError, GeneratedStatistics, check_finite
from flowphase.numerics.velocity import interval_velocity_coefficients, schedule_breakpoints, velocity_table
from flowphase.theory.problem import Problem

__all__ = ["generated_flow", "prepare_field", "flow_final", "rhs_flow3", "METHODS"]

METHODS = ("euler", "heun", "continuous")
#: tanh(B_SAT) == 1 in float64 (the trivial branch's b = +-inf is clipped to it)
B_SAT = 40.0
#: d = inf is evaluated at this d: every finite-d correction of the flow is O(d^-1/2) = 1e-6 there (tests: slope -1/2)
D_INF = 1e12


# ----------------------------------------------------------------------------- the field
@dataclass
class _Field:
    """Node values of the reduced field: ``M = m sqrt d``, ``A_+- = a_+- sqrt(n_+- d)``, ``Z_+- = z_+- sqrt n_+-``."""

    t: np.ndarray
    c: np.ndarray
    M: np.ndarray
    Ap: np.ndarray
    Am: np.ndarray
    W: np.ndarray
    Zp: np.ndarray
    Zm: np.ndarray
    b: np.ndarray
    d: float
    n_plus: int
    n_minus: int
    saturated: np.ndarray

    @property
    def coupled(self) -> bool:
        """Whether y sees e_+- (z != 0 somewhere)."""
        return bool(np.any(self.Zp != 0.0) or np.any(self.Zm != 0.0))


def _arr(curve, name, T=None):
    try:
        v = np.asarray(getattr(curve, name), dtype=float)
    except AttributeError:
        raise ValueError(f"the learned curve has no attribute {name!r} (needs {FIELD_ARRAYS})") from None
    if v.ndim != 1 or (T is not None and v.size != T):
        raise ValueError(f"curve.{name} must be a 1-d array over the {T} grid times, got shape {v.shape}")
    return v.copy()


def _ffill(v, ok):
    """Fill the entries where ``ok`` is False by the last ok entry (backward from the first ok one)."""
    idx = np.where(ok, np.arange(v.size), -1)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(ok))
    idx[idx < 0] = first
    return v[idx]


def prepare_field(curve, d: float) -> _Field:
    """Check a learned curve (EXACT_FINITE_N §5 attributes) and scale it to the flow at dimension ``d``.

    ``d`` must be finite; a curve solved at finite d must be evaluated at that d (a d = inf curve may be
    evaluated at any d: its leading order).  Raises ``ValueError`` on malformed input and
    :class:`ConvergenceError` if the curve reports unconverged times.
    """
    d = float(d)
    if not (math.isfinite(d) and d >= 2.0):
        raise ValueError(f"the reduced field needs a finite dimension d >= 2, got {d!r}")
    cd = float(getattr(curve, "d", math.inf))
    if math.isfinite(cd) and abs(cd - d) > 1e-9 * d:
        raise ValueError(f"the curve was solved at d = {cd:g} but the flow is evaluated at d = {d:g}")
    t = _arr(curve, "t")
    T = t.size
    if T < 2 or np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
        raise ValueError("curve.t must hold at least two finite, strictly increasing times")
    conv = np.asarray(getattr(curve, "converged"), dtype=bool)
    if conv.shape != (T,):
        raise ValueError("curve.converged must be a boolean array over the grid")
    if not conv.all():
        raise ConvergenceError(f"the learned curve did not converge at t = {t[~conv]}")
    try:
        npl, nmi = int(curve.n_plus), int(curve.n_minus)
    except (AttributeError, TypeError, ValueError):
        raise ValueError("the curve must carry integer class counts n_plus, n_minus") from None
    if npl < 0 or nmi < 0 or npl != curve.n_plus or nmi != curve.n_minus:
        raise ValueError(f"n_plus, n_minus must be integers >= 0, got {curve.n_plus!r}, {curve.n_minus!r}")
    c, m, ap, am = (_arr(curve, k, T) for k in ("c", "m", "a_plus", "a_minus"))
    om, b, zp, zm = (_arr(curve, k, T) for k in ("omega", "b", "z_plus", "z_minus"))
    for name, n_cls, a, z in (("plus", npl, ap, zp), ("minus", nmi, am, zm)):
        if n_cls == 0:  # no points in the class: its direction carries nothing
            a[:] = 0.0
            z[np.isfinite(z)] = 0.0
    branch = list(getattr(curve, "branch", []) or [])
    sat = ~np.isfinite(om)
    if len(branch) == T:
        sat |= np.array([br == "saturated" for br in branch])
    for name, v in (("c", c), ("m", m), ("a_plus", ap), ("a_minus", am)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"curve.{name} must be finite at every grid time")
    ok = ~sat
    if np.any(ok & ~(np.isfinite(zp) & np.isfinite(zm) & ~np.isnan(b))):
        raise ValueError("omega, z_+-, b must be numbers at every unsaturated grid time")
    # trivial branch (omega = z = 0, b = +-inf): the constant field m sign(b) as sign(m) tanh(+-artanh|m|)
    triv = ok & (om == 0.0) & (zp == 0.0) & (zm == 0.0) & ~np.isfinite(b) & (np.abs(m) < 1.0) & (m != 0.0)
    if np.any(triv):
        am_ = np.abs(m[triv])
        b[triv] = np.sign(b[triv]) * np.arctanh(am_)
        ap[triv] /= am_
        am[triv] /= am_
        m[triv] = np.sign(m[triv])
    if ok.any():
        om, zp, zm, b = (_ffill(v, ok) for v in (om, zp, zm, b))
    else:  # no encoder anywhere: any direction along mu gives sign(y) once |y| >> 1
        om, zp, zm, b = np.ones(T), np.zeros(T), np.zeros(T), np.zeros(T)
    b = np.clip(b, -B_SAT, B_SAT)
    sd = math.sqrt(d)
    fld = _Field(t=t, c=c, M=m * sd, Ap=ap * math.sqrt(npl * d), Am=am * math.sqrt(nmi * d), W=om,
                 Zp=zp * math.sqrt(npl), Zm=zm * math.sqrt(nmi), b=b, d=d, n_plus=npl, n_minus=nmi, saturated=sat)
    check_finite("reduced field", np.vstack([fld.c, fld.M, fld.Ap, fld.Am, fld.W, fld.Zp, fld.Zm, fld.b]))
    return fld


# ----------------------------------------------------------------------------- grid samplers
@njit(cache=True)
def _grid_kernel(Y, g1, g2, F1, F2, W, Zp, Zm, bb, dt, heun):
    """Euler / Heun on the grid for every row (y, e_+, e_-) of Y, in place (PAPER §2.5).

    Step k: ``v = g1[k] x + F1[k] tanh(W[k] y + Zp[k] e_+ + Zm[k] e_- + bb[k])`` with
    ``g1 = a_x + a_f c`` and ``F1 = a_f (M, A_+, A_-)`` at t_k; Heun's corrector uses g2, F2 and node k+1.
    """
    N = Y.shape[0]
    K = dt.shape[0]
    for i in range(N):
        y = Y[i, 0]
        ep = Y[i, 1]
        em = Y[i, 2]
        for k in range(K):
            phi = math.tanh(W[k] * y + Zp[k] * ep + Zm[k] * em + bb[k])
            v0 = g1[k] * y + F1[k, 0] * phi
            v1 = g1[k] * ep + F1[k, 1] * phi
            v2 = g1[k] * em + F1[k, 2] * phi
            if heun == 0:
                y += dt[k] * v0
                ep += dt[k] * v1
                em += dt[k] * v2
            else:
                yp = y + dt[k] * v0
                epp = ep + dt[k] * v1
                emp = em + dt[k] * v2
                phi2 = math.tanh(W[k + 1] * yp + Zp[k + 1] * epp + Zm[k + 1] * emp + bb[k + 1])
                y += 0.5 * dt[k] * (v0 + g2[k] * yp + F2[k, 0] * phi2)
                ep += 0.5 * dt[k] * (v1 + g2[k] * epp + F2[k, 1] * phi2)
                em += 0.5 * dt[k] * (v2 + g2[k] * emp + F2[k, 2] * phi2)
        Y[i, 0] = y
        Y[i, 1] = ep
        Y[i, 2] = em


@njit(cache=True)
def rhs_flow3(t, Y, tgrid, curves, params, out):
    """RHS of the continuous 3-D flow for :func:`flowphase.numerics.rk.solve` (module notes).

    ``Y = [y_0..y_{N-1}, e+_0.., e-_0..]``; ``curves`` rows ``a_x, a_f, c, M, A_+, A_-, W, Z_+, Z_-, b``,
    each interpolated linearly in t (the products are formed here, not interpolated).
    """
    ax = rk.interp_curve(t, tgrid, curves, 0)
    af = rk.interp_curve(t, tgrid, curves, 1)
    c = rk.interp_curve(t, tgrid, curves, 2)
    fy = af * rk.interp_curve(t, tgrid, curves, 3)
    fp = af * rk.interp_curve(t, tgrid, curves, 4)
    fm = af * rk.interp_curve(t, tgrid, curves, 5)
    w = rk.interp_curve(t, tgrid, curves, 6)
    zp = rk.interp_curve(t, tgrid, curves, 7)
    zm = rk.interp_curve(t, tgrid, curves, 8)
    bb = rk.interp_curve(t, tgrid, curves, 9)
    g = ax + af * c
    N = Y.shape[0] // 3
    for i in range(N):
        y = Y[i]
        ep = Y[N + i]
        em = Y[2 * N + i]
        phi = math.tanh(w * y + zp * ep + zm * em + bb)
        out[i] = g * y + fy * phi
        out[N + i] = g * ep + fp * phi
        out[2 * N + i] = g * em + fm * phi


class _Flow:
    """The final-state map (y0, e+0, e-0) -> (y, e+, e-) at the last grid time, and the bulk P there."""

    def __init__(self, fld: _Field, problem: Problem, method: str, n_fine: int, rtol: float, atol: float):
        self.fld, self.method = fld, method
        t = fld.t
        if method in ("euler", "heun"):
            ax, af, ax2, af2, dt = interval_velocity_coefficients(problem, t)
            self.dt = dt
            self.g1 = ax + af * fld.c[:-1]
            self.g2 = ax2 + af2 * fld.c[1:]
            rows = np.vstack([fld.M, fld.Ap, fld.Am]).T
            self.F1 = np.ascontiguousarray(af[:, None] * rows[:-1])
            self.F2 = np.ascontiguousarray(af2[:, None] * rows[1:])
            if method == "euler":
                growth = (1.0 + dt * self.g1) ** 2
            else:
                growth = (1.0 + 0.5 * dt * (self.g1 + self.g2 + dt * self.g1 * self.g2)) ** 2
            self.P = float(np.prod(growth))
            self.steps = int(dt.size)
            return
        problem.schedule.check_t(t)
        cuts = [t[0]] + [x for x in schedule_breakpoints(problem) if t[0] < x < t[-1]] + [t[-1]]
        self.legs = []
        logP = 0.0
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            inner = t[(t >= lo) & (t <= hi)]
            fine = np.unique(np.concatenate([np.linspace(lo, hi, int(n_fine)), inner, [lo, hi]]))
            ax, af = velocity_table(problem, lo, hi, fine)
            learned = [np.interp(fine, t, v) for v in (fld.c, fld.M, fld.Ap, fld.Am, fld.W, fld.Zp, fld.Zm, fld.b)]
            curves = np.ascontiguousarray(np.vstack([ax, af] + learned))
            check_finite("continuous-flow coefficients", curves)
            t_eval = np.unique(np.concatenate([inner, [lo, hi]]))
            self.legs.append((t_eval, fine, curves))
            G = 2.0 * (ax + af * learned[0])
            bulk = rk.solve(rk.rhs_affine, t_eval, np.array([0.0]), tgrid=fine, curves=np.vstack([np.zeros_like(G), G]),
                            rtol=rtol, atol=atol)
            logP += float(bulk.value[-1, 0])   # d(log P)/dt = 2 (a_x + a_f c)
        self.P = math.exp(logP)
        self.rtol, self.atol = rtol, atol
        self.steps = 0

    def backward_zero(self) -> float:
        """y(t_0) of the trajectory with y = 0 at the last grid time (continuous flow, y blind to e)."""
        state = np.zeros(3)
        for t_eval, fine, curves in reversed(self.legs):
            r = rk.solve(rhs_flow3, t_eval[::-1].copy(), state, tgrid=fine, curves=curves, rtol=self.rtol,
                         atol=self.atol)
            state = r.value[-1].copy()
            self.steps += r.iterations
        check_finite("separatrix", state)
        return float(state[0])

    def __call__(self, y0, ep0, em0):
        y0 = np.asarray(y0, dtype=float).ravel()
        ep0 = np.broadcast_to(np.asarray(ep0, dtype=float), y0.shape).ravel()
        em0 = np.broadcast_to(np.asarray(em0, dtype=float), y0.shape).ravel()
        if self.method != "continuous":
            Y = np.ascontiguousarray(np.stack([y0, ep0, em0], axis=1))
            f = self.fld
            _grid_kernel(Y, self.g1, self.g2, self.F1, self.F2, f.W, f.Zp, f.Zm, f.b, self.dt,
                         1 if self.method == "heun" else 0)
            check_finite("flow final states", Y)
            return Y[:, 0], Y[:, 1], Y[:, 2]
        N = y0.size
        state = np.concatenate([y0, ep0, em0])
        for t_eval, fine, curves in self.legs:
            r = rk.solve(rhs_flow3, t_eval, state, tgrid=fine, curves=curves, rtol=self.rtol, atol=self.atol)
            state = r.value[-1].copy()
            self.steps += r.iterations
        check_finite("flow final states", state)
        return state[:N], state[N:2 * N], state[2 * N:]


def _at_dimension(problem: Problem, d):
    """``(problem at the flow's d, d used)``; d = inf is evaluated at :data:`D_INF`."""
    d = float(problem.d if d is None else d)
    d_eval = D_INF if math.isinf(d) else d
    return (problem if d_eval == problem.d else problem.replace(d=d_eval)), d_eval


def flow_final(curve, problem: Problem, y0, *, e_plus0=0.0, e_minus0=0.0, method: str = "euler",
               d: Optional[float] = None, n_fine: int = 4001, rtol: float = 1e-10, atol: float = 1e-10):
    """Final states of individual samples: ``(y, e_+, e_-, P)`` at the last grid time (module notes).

    Used to check the reduction sample by sample against a d-dimensional run; ``d`` defaults to
    ``problem.d``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    problem, d_eval = _at_dimension(problem, d)
    fld = prepare_field(curve, d_eval)
    fl = _Flow(fld, problem, method, n_fine, rtol, atol)
    y, ep, em = fl(y0, e_plus0, e_minus0)
    return y, ep, em, fl.P


# ----------------------------------------------------------------------------- expectations
def generated_flow(curve, problem: Problem, method: str = "euler", *, d: Optional[float] = None,
                   n_outer: int = 6, n_gl: int = 16, n_probe: int = 33, n_bisect: int = 12, y_max: float = 9.0,
                   n_fine: int = 4001, rtol: float = 1e-10, atol: float = 1e-10) -> GeneratedStatistics:
    """p_hat, mode mean and within-mode variance of the learned field's generated distribution (EXACT_FINITE_N §5).

    Parameters
    ----------
    curve : learned curve
        ``ExactCurve`` of the exact solver, or a :class:`~flowphase.numerics.exact.fields.FieldCurve`
        (module notes of :mod:`flowphase.numerics.exact.fields`); its grid is the sampler's grid.
    problem : Problem
        Schedule and interpolant of the sampler (tau(t) and the velocity coefficients, PAPER §2.4).
    method : {'euler', 'heun', 'continuous'}
        The sampler (module notes).
    d : float, optional
        Dimension of the flow (default ``problem.d``); ``inf`` is evaluated at ``D_INF = 1e12`` (the flow's
        finite-d corrections are O(d^-1/2)); a curve solved at finite d must be evaluated at that d.
    n_outer, n_gl, n_probe, n_bisect, y_max
        Gauss-Hermite nodes per e-direction, Gauss-Legendre nodes per panel, probes and bisections of the
        separatrix, half-width of the y(0) range.
    n_fine, rtol, atol
        Continuous flow: nodes per leg of the a_x, a_f tables and the Dormand-Prince tolerances.

    Returns
    -------
    GeneratedStatistics
        ``theory='exact'``, every statistic but the paper's ``y1_*`` (``sampler`` = ``method``, ``d`` the requested
        dimension); ``residual`` = the largest separatrix bracket;
        ``info`` holds the separatrices, the quadrature mass and whether e was coupled.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    for name, v, lo in (("n_outer", n_outer, 1), ("n_gl", n_gl, 2), ("n_probe", n_probe, 3), ("n_bisect", n_bisect, 1)):
        if int(v) != v or int(v) < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    if not y_max > 3.0:
        raise ValueError(f"y_max must exceed 3, got {y_max!r}")
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a flowphase Problem, got {type(problem).__name__}")
    d_req = float(problem.d if d is None else d)
    tau_of = problem.tau if d_req == problem.d else problem.replace(d=d_req).tau
    problem, d_eval = _at_dimension(problem, d)
    fld = prepare_field(curve, d_eval)
    flow = _Flow(fld, problem, method, n_fine, rtol, atol)
    if fld.coupled:
        g, wg = gauss_hermite(int(n_outer), normalized=True)
        ep0, em0 = (v.ravel() for v in np.meshgrid(g, g, indexing="ij"))
        wo = np.outer(wg, wg).ravel()
    else:  # y does not see e: one outer node, the e(0) variance enters in closed form (A^2 = P)
        ep0, em0, wo = np.zeros(1), np.zeros(1), np.ones(1)
    L = float(y_max)
    star, width = separatrix(flow, ep0, em0, L, n_probe, n_bisect)
    if width > 1e-9:
        raise ConvergenceError(f"the separatrix bracket did not close (width {width:.1e})")
    X, Wt = inner_rule(star, L, n_gl)
    K, J = X.shape
    yT, epT, emT = (v.reshape(K, J) for v in flow(X.ravel(), np.repeat(ep0, J), np.repeat(em0, J)))
    Wt = wo[:, None] * Wt
    mass = float(Wt.sum())
    sd = math.sqrt(fld.d)
    s = np.where(yT >= 0.0, 1.0, -1.0)
    plus = yT > 0.0
    p_hat = float(np.sum(wo * ndtr(-star)))
    m_plus, m_minus = float(Wt[plus].sum()), float(Wt[~plus].sum())
    mean_plus = float(np.sum(Wt * np.where(plus, yT, 0.0)) / sd / m_plus) if m_plus > 0 else math.nan
    mean_minus = float(-np.sum(Wt * np.where(plus, 0.0, yT)) / sd / m_minus) if m_minus > 0 else math.nan
    mean_overlap = float(np.sum(Wt * np.abs(yT)) / sd / mass)
    extra = 0.0 if fld.coupled else flow.P   # E[(A e0)^2] of the decoupled outer rule
    moments = {}
    for key, e, n_cls in (("plus", epT, fld.n_plus), ("minus", emT, fld.n_minus)):
        m1 = float(np.sum(Wt * s * e) / mass)
        m2 = float(np.sum(Wt * e * e) / mass) + extra
        moments[key] = (m1, m2, m2 - m1 * m1)
    P = flow.P
    var = ((fld.d - 3.0) * P + moments["plus"][2] + moments["minus"][2]) / (fld.d - 1.0)
    second = ((fld.d - 3.0) * P + moments["plus"][0] ** 2 + moments["minus"][0] ** 2) / fld.d
    q = {k: (moments[k][0] / math.sqrt(n_cls * fld.d) if n_cls > 0 else math.nan)
         for k, n_cls in (("plus", fld.n_plus), ("minus", fld.n_minus))}
    t_end = float(fld.t[-1])
    out = GeneratedStatistics(value=None, converged=True, iterations=int(flow.steps), residual=width,
                              message="separatrix bracketed", p_hat=p_hat, mean_overlap=mean_overlap,
                              mean_plus=mean_plus, mean_minus=mean_minus, q_plus=q["plus"], q_minus=q["minus"],
                              variance=float(var), bulk_variance=float(P), second_moment=float(second),
                              sampler=method, theory="exact", d=d_req, t_end=t_end, tau_end=float(tau_of(t_end)),
                        info={"d_evaluated": d_eval, "y0_star": star.tolist(), "outer_weights": wo.tolist(), "quadrature_mass": mass,
                              "p_hat_quadrature": float(m_plus / mass), "coupled": fld.coupled,
                              "n_plus": fld.n_plus, "n_minus": fld.n_minus,
                              "e_moments": {k: {"mean_s_e": v[0], "mean_e2": v[1], "var_s_e": v[2]}
                                            for k, v in moments.items()}})
    check_finite("generated flow", [p_hat, mean_overlap, var, P])
    out.value = out.as_dict()
    return out
