"""Finite-n phase-1 solver: minimise the effective potential E_t(omega, b) (PAPER §3.2).

``E_t(omega, b) = -n (n + sigma^2) M_s^2 / (lam_u + n M_2) + lam_w omega^2`` on ``omega >= 0``,
``b >= 0`` (for ``p >= 1/2``), with ``M_s, M_2`` the Gaussian expectations of
:mod:`flowphase.numerics.quadrature` and the potential, gradient and Hessian generated from the
sympy derivation (:mod:`flowphase.numerics._generated`).  Then ``m = n M_s/(lam_u + n M_2)``,
``q_eta = sigma M_s/(lam_u + n M_2)``, ``sqrt_q = sqrt(m^2 + n q_eta^2)``, ``c = 0``.

Algorithm
---------
Projected Newton with an Armijo back-tracking line search on the projected path (a numba
kernel): the Hessian is shifted to be positive definite where it is not, the step is capped
(``max_step``), and convergence is declared on the **projected gradient** of ``E / (n (n+sigma^2))``
(``E/(n + sigma^2) -> -M_s^2/M_2`` is O(1) for every n).

Two branches coexist (PAPER §3.2, ENGINEERING note 4):

* ``trivial``: ``omega = 0`` and ``b -> +inf`` (on ``omega = 0`` the potential decreases
  strictly in ``tanh^2 b``), energy ``-n (n+sigma^2) (2p-1)^2/(lam_u + n)``,
  ``m = n |2p-1|/(lam_u + n)``.  It is an asymptotic minimum, reported exactly with ``b = inf``;
* ``informative``: a finite local minimum with ``omega > 0``, found by Newton from several
  starts (the continuation from the previous t, the population point ``(kappa t, h)``, and a
  shrunken point).

The global minimum is the lower of the two; along a curve the solver reports where it
switches branch (a first-order jump of omega) and refines the switching time by bisection.
For ``p < 1/2`` the mirror symmetry ``E(omega, b; p) = E(omega, -b; 1-p)`` is used (b <= 0).
At ``n = inf`` the minimiser is the population fixed point (PAPER §3.1) and no solve is done.

Residual (one meaning): the projected gradient norm of ``E / (n + sigma^2)`` at the reported minimum
(``grad_norm``; 0 on the trivial asymptote and at n = inf, ``inf`` when no start converged).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np
from numba import njit

from flowphase.numerics import _generated as G
from flowphase.numerics.quadrature import _gaussian_moments_hessian as gaussian_moments_hessian  # the numba kernel
from flowphase.numerics.quadrature import default_rule
from flowphase.numerics.jumps import Jump, bisect_switch, branch_jumps
from flowphase.numerics.results import ConvergenceError, CurveResult, SolverResult, check_finite
from flowphase.theory.checks import check_training as check_training_params

__all__ = ["PhaseOneResult", "PhaseOneCurve", "Jump", "solve_phase_one", "phase_one_solution", "phase_one_curve",
           "phase_one_energy"]

_STATUS = {0: "converged", 1: "maximum number of iterations reached", 2: "ran off to b -> inf (trivial branch)",
           3: "non-finite value", 4: "line search failed"}


#: validated range of the signal strength kappa t and of p: solved and tested up to
#: kt = 1e6; p within 1e-12 of 0 or 1 makes atanh(2p - 1) infinite
KT_MAX = 1e6
P_MIN = 1e-12

# ----------------------------------------------------------------------------- numba kernels
@njit(cache=True)
def _evaluate(omega, b, kt, p, n, sigma, lam_u, lam_w, nodes, weights):
    """Normalised E, gradient and Hessian at (omega, b)."""
    (Ms, M2, Ms_w, Ms_b, M2_w, M2_b, Ms_ww, Ms_wb, Ms_bb, M2_ww, M2_wb,
     M2_bb) = gaussian_moments_hessian(omega, b, kt, p, nodes, weights)
    scale = n + sigma * sigma
    if lam_u + n * M2 <= 0.0:  # lam_u = 0 at omega = b = 0 (tanh = 0): E undefined, treated as +inf
        return math.inf, 0.0, 0.0, 0.0, 0.0, 0.0
    E = G.phase_one_potential(Ms, M2, omega, n, sigma, lam_u, lam_w) / scale
    gw, gb = G.phase_one_gradient(Ms, M2, Ms_w, Ms_b, M2_w, M2_b, omega, n, sigma, lam_u, lam_w)
    hww, hwb, hbb = G.phase_one_hessian(Ms, M2, Ms_w, Ms_b, M2_w, M2_b, Ms_ww, Ms_wb, Ms_bb, M2_ww, M2_wb, M2_bb,
                                        omega, n, sigma, lam_u, lam_w)
    return E, gw / scale, gb / scale, hww / scale, hwb / scale, hbb / scale


@njit(cache=True)
def _energy(omega, b, kt, p, n, sigma, lam_u, lam_w, nodes, weights):
    """Normalised E only (cheap path for the line search)."""
    Ms = 0.0
    M2 = 0.0
    for k in range(2):
        sl = 1.0 if k == 0 else -1.0
        ps = p if k == 0 else 1.0 - p
        for i in range(nodes.shape[0]):
            th = math.tanh(b + omega * (nodes[i] + kt * sl))
            Ms += ps * weights[i] * sl * th
            M2 += ps * weights[i] * th * th
    if lam_u + n * M2 <= 0.0:
        return math.inf
    return G.phase_one_potential(Ms, M2, omega, n, sigma, lam_u, lam_w) / (n + sigma * sigma)


@njit(cache=True)
def _projected_newton(omega0, b0, kt, p, n, sigma, lam_u, lam_w, nodes, weights, tol, max_iter, b_cap, max_step,
                      step_tol):
    """Projected Newton on omega >= 0, b >= 0.  Returns (omega, b, E, |proj grad|, iterations, status).

    Converged when the projected gradient is below ``tol`` or, on a positive-definite
    Hessian, the Newton step is below ``step_tol (1 + |omega| + |b|)`` (round-off floor).
    """
    w = max(omega0, 0.0)
    b = max(b0, 0.0)
    E, gw, gb, hww, hwb, hbb = _evaluate(w, b, kt, p, n, sigma, lam_u, lam_w, nodes, weights)
    for it in range(max_iter + 1):
        if not (math.isfinite(E) and math.isfinite(gw) and math.isfinite(gb)):
            return w, b, E, math.inf, it, 3
        fw = w > 0.0 or gw < 0.0
        fb = b > 0.0 or gb < 0.0
        pw = gw if fw else 0.0
        pb = gb if fb else 0.0
        gn = math.sqrt(pw * pw + pb * pb)
        if gn < tol:
            return w, b, E, gn, it, 0
        if b > b_cap or (w <= 1e-12 and gw >= 0.0 and gb < 0.0):
            # on omega = 0 the potential decreases strictly in b: the run goes to the trivial asymptote
            return w, b, E, gn, it, 2
        if it == max_iter:
            break
        hscale = max(abs(hww), abs(hbb), abs(hwb), 1e-300)
        delta = 1e-10 * hscale + 1e-14
        dw = 0.0
        db = 0.0
        mu = 1.0
        if fw and fb:
            tr = 0.5 * (hww + hbb)
            disc = math.sqrt(0.25 * (hww - hbb) ** 2 + hwb * hwb)
            lmin = tr - disc
            # scale-invariant positive-definiteness test (the two diagonal entries can differ
            # by many orders of magnitude, e.g. lam_w vs the exponentially small b-curvature)
            if hww > 0.0 and hbb > 0.0 and hww * hbb - hwb * hwb > 1e-12 * hww * hbb:
                mu = 0.0
            else:
                mu = delta - lmin + 1e-3 * abs(lmin)
            a11 = hww + mu
            a22 = hbb + mu
            det = a11 * a22 - hwb * hwb
            dw = -(a22 * gw - hwb * gb) / det
            db = -(a11 * gb - hwb * gw) / det
        elif fw:
            mu = 0.0 if hww > 0.0 else 1.0
            dw = -gw / hww if hww > 0.0 else -gw / delta
        elif fb:
            mu = 0.0 if hbb > 0.0 else 1.0
            db = -gb / hbb if hbb > 0.0 else -gb / delta
        nd = math.sqrt(dw * dw + db * db)
        if mu == 0.0 and nd < step_tol * (1.0 + abs(w) + abs(b)):
            # Newton step on a positive-definite Hessian below round-off: the gradient is at its
            # floating-point floor (cancellation of O(n) terms); the residual reported is |grad|
            return w, b, E, gn, it, 0
        if nd > max_step:
            dw *= max_step / nd
            db *= max_step / nd
        alpha = 1.0
        accepted = False
        if mu == 0.0 and abs(gw * dw + gb * db) < 1e-10 * (1.0 + abs(E)):
            # quadratic-convergence region on a positive-definite Hessian: the predicted decrease
            # is below the round-off of E, so the energy test is meaningless; take the full step
            wn = max(w + dw, 0.0)
            bn = max(b + db, 0.0)
            # ... unless the projected step lands where E is undefined (lam_u = 0 at omega = b = 0)
            accepted = math.isfinite(_energy(wn, bn, kt, p, n, sigma, lam_u, lam_w, nodes, weights))
        for _ in range(0 if accepted else 60):
            wn = max(w + alpha * dw, 0.0)
            bn = max(b + alpha * db, 0.0)
            En = _energy(wn, bn, kt, p, n, sigma, lam_u, lam_w, nodes, weights)
            # Armijo with a round-off slack: close to the minimum E cannot resolve the decrease
            # (~|grad|^2) of a Newton step, which is then taken in full
            if En <= E + 1e-4 * (gw * (wn - w) + gb * (bn - b)) + 1e-14 * abs(E):
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            # no decrease possible at double precision: accept convergence if the gradient is tiny
            return w, b, E, gn, it, 0 if gn < 1e3 * tol else 4
        w = wn
        b = bn
        E, gw, gb, hww, hwb, hbb = _evaluate(w, b, kt, p, n, sigma, lam_u, lam_w, nodes, weights)
    return w, b, E, gn, max_iter, 1


# ----------------------------------------------------------------------------- results
@dataclass
class PhaseOneResult(SolverResult):
    """Phase-1 minimiser at one time (``value`` holds the same numbers as a dict).

    Attributes
    ----------
    t, kt : float
        Time and signal strength ``kappa t``.
    omega, b, m, q_eta, sqrt_q, c : float
        Learned overlaps (PAPER §3.2); ``b = +-inf`` on the trivial branch.
    grad_norm : float
        Projected gradient norm of ``E / (n + sigma^2)`` (0 on the exact trivial asymptote).
    branch : str
        ``'trivial'`` (omega = 0, b -> inf), ``'informative'`` or ``'population'`` (n = inf).
    energy, energy_trivial, energy_informative : float
        ``E_t`` of the reported minimum, of the trivial asymptote and of the best informative
        minimum (NaN if none was found).
    """

    t: float = math.nan
    kt: float = math.nan
    omega: float = math.nan
    b: float = math.nan
    m: float = math.nan
    q_eta: float = math.nan
    sqrt_q: float = math.nan
    c: float = 0.0
    grad_norm: float = math.nan
    branch: str = ""
    energy: float = math.nan
    energy_trivial: float = math.nan
    energy_informative: float = math.nan


@dataclass
class PhaseOneCurve(CurveResult):
    """Arrays of :class:`PhaseOneResult` fields along ``t`` plus the detected jumps.

    ``residual`` is ``grad_norm`` (the projected gradient norm of ``E / (n + sigma^2)``, the residual of
    :func:`solve_phase_one`); ``value`` / ``message`` / ``raise_if_failed`` as in
    :class:`~flowphase.numerics.results.CurveResult`.
    """

    t: np.ndarray
    omega: np.ndarray
    b: np.ndarray
    m: np.ndarray
    q_eta: np.ndarray
    sqrt_q: np.ndarray
    c: np.ndarray
    energy: np.ndarray
    grad_norm: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    branch: List[str]
    jumps: List[Jump] = field(default_factory=list)
    results: List[PhaseOneResult] = field(default_factory=list)

    @property
    def residual(self) -> np.ndarray:
        return self.grad_norm

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("t", "omega", "b", "m", "q_eta", "sqrt_q", "c", "energy", "grad_norm",
                                              "iterations", "converged")}
        out.update(residual=self.grad_norm, branch=list(self.branch), jumps=[vars(j).copy() for j in self.jumps])
        return out


# ----------------------------------------------------------------------------- drivers
def _check_params(kt, p, n, sigma, lam_u, lam_w):
    from flowphase.theory.checks import as_real

    for name, v in (("kt", kt), ("p", p), ("n", n), ("sigma", sigma), ("lam_u", lam_u), ("lam_w", lam_w)):
        as_real(name, v, allow_inf=True)
    if not 0.0 <= kt <= KT_MAX:
        raise ValueError(f"kt (= kappa t) must lie in [0, {KT_MAX:g}] (the solver's tested range), got {kt!r}")
    if not P_MIN <= p <= 1.0 - P_MIN:
        raise ValueError(f"p must lie in [{P_MIN:g}, 1 - {P_MIN:g}] (atanh(2p - 1) must be finite), got {p!r}")
    check_training_params(n, sigma, lam_u)
    if not 0.0 <= lam_w < math.inf:
        raise ValueError(f"lam_w must lie in [0, inf), got {lam_w!r}")


def phase_one_energy(omega, b, kt, p, n, sigma, lam_u, lam_w, *, rule=None) -> float:
    """Un-normalised ``E_t(omega, b)`` (PAPER §3.2) with the solver's quadrature."""
    nodes, weights = default_rule() if rule is None else rule
    n = float(n)
    return float(_energy(float(omega), float(b), float(kt), float(p), n, float(sigma), float(lam_u), float(lam_w),
                         nodes, weights)) * (n + sigma * sigma)


def solve_phase_one(kt: float, p: float, n: float, *, sigma: float = 1.0, lam_u: float = 2.0, lam_w: float = 2.0,
                    starts: Optional[Sequence] = None, rule=None, tol: float = 1e-11, max_iter: int = 100,
                    b_cap: float = 12.0, max_step: float = 1.0, step_tol: float = 1e-13, t: float = math.nan,
                    throw: bool = True) -> PhaseOneResult:
    """Global minimiser of the phase-1 potential at signal strength ``kt = kappa t`` (PAPER §3.2).

    Parameters
    ----------
    kt : float >= 0
    p, n, sigma, lam_u, lam_w : float
        Mixture weight, sample size (``inf`` allowed), within-mode std, ridge penalties.
    starts : sequence of (omega, b), optional
        Starting points of the informative-branch search (``b`` in the ``p >= 1/2`` convention);
        default ``[(kt, |h|), (kt/2 + 0.2, |h| + 1), (1.5 kt + 0.2, |h|/2)]``.
    rule : (nodes, weights), optional
        Gaussian quadrature rule (default :func:`~flowphase.numerics.quadrature.default_rule`).
    tol : float
        Projected-gradient tolerance on ``E / (n + sigma^2)``.
    step_tol : float
        Relative Newton-step size accepted as convergence on a positive-definite Hessian (the
        gradient of the O(1)-normalised potential has a round-off floor ~1e-16 n).
    b_cap : float
        A Newton run whose b exceeds this value is on its way to the trivial asymptote.
    throw : bool
        Raise :class:`ConvergenceError` if no start converged (otherwise return the best attempt
        with ``converged=False``).
    """
    _check_params(kt, p, n, sigma, lam_u, lam_w)
    from flowphase.theory.checks import as_int, as_real

    tol = as_real("tol", tol, 0.0, hi=1.0, lo_open=True)
    step_tol = as_real("step_tol", step_tol, 0.0, hi=1.0, lo_open=True)
    max_iter = as_int("max_iter", max_iter, 1, 10 ** 6)
    b_cap = as_real("b_cap", b_cap, 0.0, hi=700.0, lo_open=True)
    max_step = as_real("max_step", max_step, 0.0, hi=1e6, lo_open=True)
    kt, p, n, sigma, lam_u, lam_w = map(float, (kt, p, n, sigma, lam_u, lam_w))
    flip = p < 0.5
    pp = 1.0 - p if flip else p
    h = math.atanh(2.0 * pp - 1.0)
    sgn = -1.0 if flip else 1.0
    if math.isinf(n):
        res = PhaseOneResult(value=None, converged=True, iterations=0, residual=0.0,
                             message="population fixed point (PAPER §3.1)", t=t, kt=kt, omega=kt, b=sgn * h, m=1.0,
                             q_eta=0.0, sqrt_q=1.0, c=0.0, grad_norm=0.0, branch="population")
        res.value = _value(res)
        return res
    nodes, weights = default_rule() if rule is None else rule
    scale = n + sigma * sigma
    mean_label = abs(2.0 * pp - 1.0)
    e_triv = _trivial_energy(pp, n, lam_u)
    if starts is None:
        starts = [(kt, h), (0.5 * kt + 0.2, h + 1.0), (1.5 * kt + 0.2, 0.5 * h)]
    if kt > 20.0:
        # large signal: the informative minimiser has omega ~ 5/kt (omega kappa t grows only like log kt),
        # out of reach of capped Newton steps from omega ~ kt
        starts = list(starts) + [(5.0 / kt, h), (5.0 / kt, h + 1.0), (2.0 / kt, 0.5 * h)]
    best = None
    total_it = 0
    ok = False
    failures = []
    for (w0, b0) in starts:
        w, b, E, gn, it, status = _projected_newton(float(w0), float(b0), kt, pp, n, sigma, lam_u, lam_w, nodes,
                                                    weights, tol, max_iter, b_cap, max_step, step_tol)
        total_it += int(it)
        if status in (0, 2):
            ok = True
        else:
            failures.append(f"start ({w0:.3g}, {b0:.3g}): {_STATUS[int(status)]} (|grad| {gn:.2e})")
        if status == 0 and w > 1e-7 and b <= b_cap:
            if best is None or E < best[2]:
                best = (w, b, E, gn)
    best_e = best[2] if best is not None else math.nan
    if lam_u == 0.0 and lam_w > 0.0:
        # lam_u = 0: near omega = b = 0 the normalised potential tends to
        # -(E[s]^2 + kt^2 (1-E[s]^2))/(1 + kt^2 (1-E[s]^2))
        # (E[s] = 2p-1; the maximal ratio M_s^2/M_2 of the linearised tanh), below the trivial branch, without
        # being attained (m = M_s/M_2 diverges there).  A minimiser exists only if an informative point beats
        # that limit.
        k2 = kt * kt * (1.0 - mean_label * mean_label)
        e_origin = -(mean_label * mean_label + k2) / (1.0 + k2)
        if best is None or not best_e < e_origin:  # (the Newton runs drift towards the origin)
            raise ValueError(f"no phase-1 minimiser at kappa t = {kt:g} with lam_u = 0 and lam_w = {lam_w:g}: the "
                             "potential's infimum lies at omega = b = 0, where m diverges; use lam_u >= 1e-12 "
                             "(or lam_w = 0, or n = inf)")
    if not ok:
        res = PhaseOneResult(value=None, converged=False, iterations=total_it, residual=math.inf,
                             message="; ".join(failures), t=t, kt=kt, branch="", energy=math.nan,
                             energy_trivial=e_triv * scale)
        if throw:
            raise ConvergenceError(f"phase-1 solver failed at kappa t = {kt}: " + "; ".join(failures), res)
        return res
    e_inf = best[2] if best is not None else math.nan
    if best is not None and best[2] < e_triv:
        w, b, E, gn = best
        Ms, M2 = _moments(w, b, kt, pp, nodes, weights)
        m, q = G.phase_one_overlaps(Ms, M2, n, sigma, lam_u)
        branch = "informative"
        bb = sgn * b
    else:
        w, E, gn = 0.0, e_triv, 0.0
        m, q = G.phase_one_overlaps(mean_label, 1.0, n, sigma, lam_u)
        branch = "trivial"
        bb = sgn * math.inf if h != 0.0 else 0.0
    res = PhaseOneResult(value=None, converged=True, iterations=total_it, residual=float(gn),
                         message=f"{branch} branch" + (f"; {len(failures)} start(s) failed" if failures else ""),
                         t=t, kt=kt, omega=float(w), b=float(bb), m=float(m), q_eta=float(q),
                         sqrt_q=math.sqrt(m * m + n * q * q), c=0.0, grad_norm=float(gn), branch=branch,
                         energy=float(E) * scale, energy_trivial=e_triv * scale, energy_informative=e_inf * scale)
    check_finite("phase-1 overlaps", [res.omega, res.m, res.q_eta, res.energy])
    res.value = _value(res)
    return res


def _trivial_energy(pp, n, lam_u):
    """Normalised energy ``E/(n + sigma^2)`` of the trivial asymptote: ``-n (2p-1)^2 / (lam_u + n)``."""
    return -n * (2.0 * pp - 1.0) ** 2 / (lam_u + n)


def _moments(w, b, kt, p, nodes, weights):
    out = gaussian_moments_hessian(w, b, kt, p, nodes, weights)
    return out[0], out[1]


def _value(r: PhaseOneResult) -> dict:
    return {"omega": r.omega, "b": r.b, "m": r.m, "q_eta": r.q_eta, "sqrt_q": r.sqrt_q, "c": r.c}


def _problem_params(problem):
    from flowphase.theory.problem import TimeDilation

    if not isinstance(problem.schedule, TimeDilation):
        raise ValueError("phase 1 exists only for the dilated schedule (TimeDilation); got "
                         f"{problem.schedule.name!r}")
    tr = problem.training
    return problem.kappa, problem.p, tr.n, problem.sigma, tr.lam_u, tr.lam_w


def phase_one_solution(problem, t: float, **kw) -> PhaseOneResult:
    """:func:`solve_phase_one` at time ``t in [0, 1]`` of a dilated :class:`Problem` (``kt = kappa t``)."""
    problem.schedule.check_t(t)
    if not 0.0 <= float(t) <= 1.0:
        raise ValueError(f"t must lie in [0, 1] for phase 1, got {t!r}")
    kappa, p, n, sigma, lu, lw = _problem_params(problem)
    return solve_phase_one(kappa * float(t), p, n, sigma=sigma, lam_u=lu, lam_w=lw, t=float(t), **kw)


def phase_one_curve(problem, ts, *, refine_jumps: bool = True, tol: float = 1e-11, rule=None,
                    throw: bool = True, **solver_kw) -> PhaseOneCurve:
    """Phase-1 minimisers along sorted times ``ts in [0, 1]`` with continuation and jump detection.

    Each time is solved from the previous informative solution and ``(kappa t, h)`` (from the
    three default starts of :func:`solve_phase_one` until an informative minimum is found); where
    the global minimum switches branch between consecutive times a :class:`Jump` is recorded,
    its location refined by bisection on ``E_informative(t) - E_trivial(t)`` (PAPER §3.2:
    for (n, lam_u, lam_w) = (128, 50, 1) omega jumps from 0 to ~0.73 between t = 0.14 and 0.15).
    ``solver_kw`` (``max_iter``, ``b_cap``, ``max_step``, ``step_tol``) go to every :func:`solve_phase_one`
    (the starts are chosen by the continuation).
    """
    if "starts" in solver_kw:
        raise ValueError("starts are chosen by the continuation along the curve; use solve_phase_one for one time")
    ts = np.asarray(ts, dtype=float)
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError("ts must be a non-empty 1-d array")
    problem.schedule.check_t(ts)
    if np.any(ts < 0.0) or np.any(ts > 1.0):
        raise ValueError("ts must lie in [0, 1] for phase 1")
    if np.any(np.diff(ts) < 0):
        raise ValueError("ts must be sorted in increasing order")
    kappa, p, n, sigma, lu, lw = _problem_params(problem)
    results: List[PhaseOneResult] = []
    prev = None
    for t in ts:
        kt = kappa * t
        hh = abs(math.atanh(2.0 * p - 1.0))
        if prev is None:
            starts = [(kt, hh), (0.5 * kt + 0.2, hh + 1.0), (1.5 * kt + 0.2, 0.5 * hh)]
        else:  # continuation: the previous informative minimiser and the population point
            starts = [prev, (kt, hh)]
        r = solve_phase_one(kt, p, n, sigma=sigma, lam_u=lu, lam_w=lw, starts=starts, tol=tol, rule=rule, t=float(t),
                            throw=throw, **solver_kw)
        if r.branch == "informative" or (math.isfinite(r.energy_informative) and r.branch == "trivial"):
            prev = _informative_point(r, kt, p, n, sigma, lu, lw, rule, tol, prev)
        results.append(r)
    refine = (lambda a, b_: _refine(a, b_, kappa, p, n, sigma, lu, lw, rule, tol)) if refine_jumps else None
    jumps = branch_jumps(results, refine)
    arr = lambda k: np.array([getattr(r, k) for r in results], dtype=float)  # noqa: E731
    return PhaseOneCurve(t=ts.copy(), omega=arr("omega"), b=arr("b"), m=arr("m"), q_eta=arr("q_eta"),
                         sqrt_q=arr("sqrt_q"), c=arr("c"), energy=arr("energy"), grad_norm=arr("grad_norm"),
                         iterations=np.array([r.iterations for r in results], dtype=np.int64),
                         converged=np.array([r.converged for r in results], dtype=bool),
                         branch=[r.branch for r in results], jumps=jumps, results=results)


def _informative_point(r, kt, p, n, sigma, lu, lw, rule, tol, prev):
    """The informative minimiser at this time (for continuation), in the p >= 1/2 convention."""
    if r.branch == "informative":
        return (r.omega, abs(r.b))
    return prev


def _informative_energy(kt, start, p, n, sigma, lu, lw, rule, tol):
    nodes, weights = default_rule() if rule is None else rule
    pp = max(p, 1.0 - p)
    w, b, E, gn, it, status = _projected_newton(start[0], start[1], kt, pp, float(n), sigma, lu, lw, nodes, weights,
                                                tol, 100, 12.0, 1.0, 1e-13)
    if status == 0 and w > 1e-7:
        return E, (w, b)
    return math.inf, start


def _refine(left, right, kappa, p, n, sigma, lu, lw, rule, tol, iters: int = 40) -> float:
    """Bisection on E_informative - E_trivial between two times with different branches."""
    inf_side = left if left.branch == "informative" else right
    e_triv = _trivial_energy(max(p, 1.0 - p), float(n), lu)

    def informative_at(t, start):
        E, pt = _informative_energy(kappa * t, start, p, n, sigma, lu, lw, rule, tol)
        return E < e_triv, pt

    return bisect_switch(left.t, right.t, left.branch == "informative", informative_at,
                         (inf_side.omega, abs(inf_side.b)), iters=iters)
