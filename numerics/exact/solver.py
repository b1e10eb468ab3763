"""Exact finite-n learned parameters at one time and along a curve (EXACT_FINITE_N §2-4).

One potential for both phases: at every schedule time t the learned outer variables
``(omega, b, z_plus, z_minus)`` minimise ``E = min_{c, m, a_plus, a_minus} L/d`` (numba kernels of
:mod:`._kernels`, fed by the sympy derivation :mod:`flowphase.theory.exact`).  The time enters only through
``alpha(tau), beta(tau)`` and ``B = beta sqrt(d)``:

* ``d = inf`` (default): phase 1 has ``alpha = 1``, ``beta = 0``, ``B = beta'(0) kappa t`` (``kappa t`` for the
  linear interpolant); in phase 2 (and for the undilated schedule at tau > 0) ``B = inf`` and the tanh
  saturates: the potential is then flat in (omega, b, z) and the inner minimiser is the fresh-noise ridge
  (EXACT_FINITE_N §4.2) -- branch ``'saturated'``, omega/b/z reported as NaN (flat directions);
* finite ``d``: the actual ``tau(t)`` of the schedule at that d, ``B = beta(tau) sqrt(d)`` and the Stein term
  with ``1/sqrt(d)``: the leading finite-d corrections (phase-1 c = O(1/sqrt d), the crossover just after t = 1,
  unsaturated phase-2 tanh).

Branches (EXACT_FINITE_N §2): ``'informative'`` (a finite minimum found by damped Newton from several
starts), ``'trivial'`` (omega = z = 0, b -> +-inf: every activation is +-1, energy evaluated exactly there),
``'saturated'`` (d = inf, B = inf), ``'population'`` (n = inf: PAPER §3.1/§3.3 closed forms).  The global
minimum is the lowest; :func:`exact_curve` reports where it switches (first-order jumps) and refines the
switching time by bisection.  Signs are canonicalised to omega >= 0 ((u, w, b) -> -(u, w, b) symmetry).

Residual (one meaning): ``|grad E|_2 / n`` at the reported informative minimum (0 on the trivial and
saturated branches, where the reported point is exact).
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np

from flowphase.numerics.exact import _kernels as K
from flowphase.numerics.exact._moment_rule import moment_rule
from flowphase.numerics.exact.point import ExactParameters, _check, _prm, default_n_plus, time_coefficients  # noqa: F401
from flowphase.numerics.jumps import Jump, branch_jumps
from flowphase.numerics.results import ConvergenceError, CurveResult, SolverResult, check_finite
from flowphase.theory.problem import Problem

__all__ = ["ExactParameters", "ExactCurve", "solve_exact", "exact_curve", "time_coefficients",
           "default_n_plus", "exact_energy", "FIELDS"]

#: per-time fields of :class:`ExactParameters` that :class:`ExactCurve` stores as arrays
FIELDS = ("tau", "alpha", "beta", "B", "c", "m", "a_plus", "a_minus", "omega", "b", "z_plus", "z_minus", "sqrt_r",
          "sqrt_q", "energy", "residual")
B_CAP = 12.0
#: preactivation spread below which a Newton run heading for w = 0 above the trivial energy is stopped
#: (``_kernels.newton_y``, status 2); 0 disables the stop
CREEP_SPREAD = 1e-2
#: a check run of :func:`exact_curve` stops once within JOIN_TOL (1 + |theta_i|) of the continuation's minimiser
#: (or its mirror) with a positive definite Hessian (``_kernels.newton_y``, status 6); 0 disables the stop
JOIN_TOL = 1e-2
_NO_JOIN = np.zeros(4)


def exact_energy(theta, problem: Problem, t: float, *, d: float = math.inf, n_plus=None, rule=None) -> float:
    """Potential ``E(omega, b, z_plus, z_minus)`` at time t (finite B only; for tests and plots)."""
    d, npl, nmi = _check(problem, d, n_plus)
    tau, alpha, beta, B = time_coefficients(problem, t, d)
    if not math.isfinite(B):
        raise ValueError("the potential is flat (saturated) at d = inf in phase 2")
    tr = problem.training
    prm = _prm(alpha, beta, B, d, problem.sigma, npl, nmi, tr.lam_u, tr.lam_w)
    theta = np.asarray(theta, dtype=np.float64)
    nodes, weights = _moment_rule_at(theta, prm) if rule is None else rule
    return float(K.evaluate(theta, prm, nodes, weights, False)[0])


def _moment_rule_at(theta, prm, margin: float = 1.1):
    """:func:`moment_rule` for the preactivation std ``alpha sqrt(r)`` at theta (times ``margin``)."""
    r = theta[0] * theta[0] + prm[5] * theta[2] * theta[2] + prm[6] * theta[3] * theta[3]
    return moment_rule(margin * prm[0] * math.sqrt(r))


#: the (nodes, weights) pair passed with ``rule=None``: the numba kernel takes arrays of one fixed type, and with its
#: ``auto_rule`` flag set it ignores them and picks its own quadrature from the margin
_NO_RULE = (np.zeros(3), np.zeros(3))


def _starts_array(starts) -> np.ndarray:
    """The Newton starts as a (k, 4) float64 array (``ValueError`` naming the first malformed start)."""
    rows = []
    for st in starts:
        th0 = np.array(st, dtype=np.float64)
        if th0.shape != (4,) or not all(map(math.isfinite, th0.tolist())):
            raise ValueError(f"each start must be 4 finite numbers (omega, b, z_plus, z_minus), got {st!r}")
        rows.append(th0)
    return np.array(rows, dtype=np.float64).reshape(len(rows), 4)


def _fill(res: ExactParameters, theta, y, npl, nmi):
    om, b, zp, zm = (float(v) for v in theta)
    y = [float(v) for v in y]
    if om < 0.0:   # (u, w, b) -> -(u, w, b): omega, b, z, m, a flip; the skip connection c does not
        om, b, zp, zm = -om, -b, -zp, -zm
        y = [y[0], -y[1], -y[2], -y[3]]
    res.omega, res.b, res.z_plus, res.z_minus = om, b, zp, zm
    res.c, res.m, res.a_plus, res.a_minus = y
    res.sqrt_r = math.sqrt(om * om + npl * zp * zp + nmi * zm * zm)
    res.sqrt_q = math.sqrt(res.m ** 2 + npl * res.a_plus ** 2 + nmi * res.a_minus ** 2)


def solve_exact(problem: Problem, t: float, d: float = math.inf, *, n_plus=None, starts: Optional[Sequence] = None,
                rule=None, tol: float = 1e-10, max_iter: int = 200, max_step: float = 1.0,
                throw: bool = True) -> ExactParameters:
    """Global minimiser of the exact finite-n potential at schedule time t (EXACT_FINITE_N §2-3).

    Parameters
    ----------
    problem : Problem
        Fresh noise; any schedule and interpolant; n = inf gives the population closed forms.
    t : float
    d : float, default inf
        Dimension at which the theory is evaluated (``B = beta(tau(t)) sqrt(d)``, Stein term ``1/sqrt d``).
    n_plus : int, optional
        Realised count of the + class (default ``round(p n)``).
    starts : sequence of (omega, b, z_plus, z_minus), optional
        Newton starts (default: the population point ``(B/D, h, 0, 0)`` and two shifted points).
    rule : (nodes, weights), optional
        Gaussian quadrature of the class moments; default: the trapezoid rule that resolves them at the
        preactivation std of each Newton run (:func:`~flowphase.numerics.exact._moment_rule.moment_rule`).
    tol : float
        Convergence on ``|grad E|_2 / n``.
    throw : bool
        Raise :class:`ConvergenceError` when no start converged (else return ``converged=False``).
    """
    d, npl, nmi = _check(problem, d, n_plus)
    return _solve_at(problem, float(t), time_coefficients(problem, t, d), d, npl, nmi, starts, rule, tol, max_iter,
                     max_step, throw)


def _solve_at(problem, t, coeffs, d, npl, nmi, starts=None, rule=None, tol=1e-10, max_iter=200, max_step=1.0,
              throw=True, join=None):
    """:func:`solve_exact` at known time coefficients; ``join``: a converged informative minimiser (omega, b,
    z_plus, z_minus) whose copies the runs need not polish (a run that reaches it ends with status 6: it cannot
    find a lower energy than that minimiser)."""
    tau, alpha, beta, B = coeffs
    base = dict(value=None, t=t, tau=tau, alpha=alpha, beta=beta, B=B, d=d)
    tr = problem.training
    if npl is None:
        return _population(problem, t, base)
    res = ExactParameters(converged=True, iterations=0, residual=0.0, n_plus=npl, n_minus=nmi, **base)
    sigma = problem.sigma
    sgn = 1.0 if npl >= nmi else -1.0
    if not math.isfinite(B):
        # d = inf, tanh saturated: M_k = k, Q_k = 1, no Stein term (EXACT_FINITE_N §4.2)
        prm = _prm(alpha, beta, 0.0, math.inf, sigma, npl, nmi, tr.lam_u, tr.lam_w)
        E, y = K.eliminate(0.0, 0.0, 0.0, 1.0, -1.0, 1.0, 1.0, prm)
        res.c, res.m, res.a_plus, res.a_minus = (float(v) for v in y)
        res.sqrt_q = math.sqrt(res.m ** 2 + npl * res.a_plus ** 2 + nmi * res.a_minus ** 2)
        res.energy, res.branch = float(E), "saturated"
        res.message = "tanh saturated (d = inf, B = inf): fresh-noise ridge (EXACT_FINITE_N §4.2)"
        res.value = res.as_dict()
        return res
    prm = _prm(alpha, beta, B, d, sigma, npl, nmi, tr.lam_u, tr.lam_w)
    if starts is None:
        h = problem.h
        D = alpha * alpha + beta * beta * sigma * sigma
        w_pop = min(B / D, 6.0) if D > 0 else 0.0
        starts = [(w_pop, h, 0.0, 0.0), (0.5 * w_pop + 0.2, h + 1.0, 0.0, 0.0), (1.5 * w_pop + 0.2, 0.5 * h, 0.0, 0.0)]
    S0 = _starts_array(starts)
    nodes, weights = (_NO_RULE if rule is None else rule)
    jn, jtol = (_NO_JOIN, 0.0) if join is None else (np.array(join, dtype=np.float64), JOIN_TOL)
    out = K.solve_point(prm, S0, rule is None, nodes, weights, sgn, tol, max_iter, B_CAP, max_step,
                        CREEP_SPREAD, jn, jtol).tolist()
    E_triv, y_triv = out[0][0], out[0][1:5]
    best = None
    failures = []
    ok = False
    total_it = 0
    for j, row in enumerate(out[1:]):
        E, gn, status = row[4], row[5], int(row[7])
        total_it += int(row[6])
        if status in (0, 2, 6):
            ok = True
        else:
            failures.append(f"start {tuple(round(float(v), 4) for v in S0[j])}: {K.STATUS[status]} "
                            f"(|grad|/n {gn:.2e})")
        if status == 0 and abs(row[1]) <= B_CAP and (best is None or E < best[1]):
            best = (row[0:4], E, gn, row[8:12])
    if not ok:
        res.converged, res.iterations, res.residual = False, total_it, math.inf
        res.message = "; ".join(failures)
        if throw:
            raise ConvergenceError(f"exact finite-n solver failed at t = {t}: {res.message}", res)
        return res
    res.iterations = total_it
    res.info = {"energy_trivial": E_triv, "energy_informative": (best[1] if best else math.nan),
                "starts": len(starts), "failed_starts": len(failures)}
    if best is not None and best[1] < E_triv - 1e-12 * abs(E_triv) and abs(best[0][0]) > 1e-7:
        th, E, gn, y = best
        _fill(res, th, y, npl, nmi)
        res.energy, res.residual, res.branch = E, gn, "informative"
    else:
        res.c, res.m, res.a_plus, res.a_minus = y_triv
        res.omega, res.b, res.z_plus, res.z_minus, res.sqrt_r = 0.0, sgn * math.inf, 0.0, 0.0, 0.0
        res.sqrt_q = math.sqrt(res.m ** 2 + npl * res.a_plus ** 2 + nmi * res.a_minus ** 2)
        res.energy, res.residual, res.branch = E_triv, 0.0, "trivial"
    res.message = f"{res.branch} branch" + (f"; {len(failures)} start(s) failed" if failures else "")
    vals = [res.c, res.m, res.a_plus, res.a_minus, res.energy, res.sqrt_q]
    if not all(map(math.isfinite, vals)):
        check_finite("exact finite-n overlaps", vals)
    res.value = res.as_dict()
    return res


def _population(problem, t, base):
    """n = inf: the population closed forms (PAPER §3.1 phase 1, §3.3 phase 2)."""
    from flowphase.numerics.learned import learned_parameters

    lp = learned_parameters(problem, t, theory="paper")
    res = ExactParameters(converged=True, iterations=0, residual=0.0, message="population limit (n = inf)",
                          n_plus=0, n_minus=0, **base)
    res.c, res.m = lp.c, lp.m
    res.a_plus = res.a_minus = res.z_plus = res.z_minus = 0.0
    res.omega = math.nan if lp.omega is None else lp.omega
    res.b = math.nan if lp.b is None else lp.b
    res.sqrt_r, res.sqrt_q = abs(res.omega), lp.sqrt_q
    res.branch = "population"
    res.value = res.as_dict()
    return res


@dataclass
class ReducedFieldArrays:
    """A learned field along ``t`` in the reduced coordinates of EXACT_FINITE_N §2 (time, interpolant
    coefficients, ``B = beta sqrt(d)``, the overlaps) -- the attribute set shared by :class:`ExactCurve` and
    :class:`~flowphase.numerics.exact.fields.FieldCurve`, which the generated flow reads."""

    t: np.ndarray
    tau: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    B: np.ndarray
    c: np.ndarray
    m: np.ndarray
    a_plus: np.ndarray
    a_minus: np.ndarray
    omega: np.ndarray
    b: np.ndarray
    z_plus: np.ndarray
    z_minus: np.ndarray
    sqrt_r: np.ndarray
    sqrt_q: np.ndarray
    converged: np.ndarray


@dataclass
class ExactCurve(ReducedFieldArrays, CurveResult):
    """Arrays of :class:`ExactParameters` fields along ``t`` (see :data:`FIELDS`) plus the jumps
    (``value`` / ``message`` / ``raise_if_failed``: :class:`~flowphase.numerics.results.CurveResult`)."""

    d: float
    n_plus: int
    n_minus: int
    energy: np.ndarray
    residual: np.ndarray
    iterations: np.ndarray
    branch: List[str]
    jumps: List[Jump] = field(default_factory=list)
    results: List[ExactParameters] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("t",) + FIELDS + ("converged", "iterations")}
        out.update(d=self.d, n_plus=self.n_plus, n_minus=self.n_minus, branch=list(self.branch),
                   jumps=[vars(j).copy() for j in self.jumps])
        return out


def _predict(prev, prev2, t):
    """Warm start at t: the latest informative minimiser moved along the secant through the one before (only
    forward, by at most twice the last step in t, and only while omega keeps at least half its value: on a
    coarse grid the plain previous minimiser is the safer start).  ``kernels.warm_batch`` repeats this rule."""
    t1, th1 = prev
    if prev2 is None or prev2[0] == t1:
        return th1
    t2, th2 = prev2
    f = (float(t) - t1) / (t1 - t2)
    if not 0.0 < f <= 2.0:
        return th1
    pred = tuple(a + f * (a - b) for a, b in zip(th1, th2))
    return pred if pred[0] >= 0.5 * th1[0] else th1


def _outer(r: ExactParameters):
    return (r.omega, r.b, r.z_plus, r.z_minus) if r.branch == "informative" else None


def exact_curve(problem: Problem, ts, d: float = math.inf, *, n_plus=None, refine_jumps: bool = True,
                rule=None, tol: float = 1e-10, check_every: int = 10, throw: bool = True,
                max_iter: int = 200, max_step: float = 1.0) -> ExactCurve:
    """Exact finite-n learned parameters at many times (any order), by continuation in t, with jumps.

    Each time is solved from the previous informative minimiser (warm start); the multi-start search of
    :func:`solve_exact` is run as well where the continuation ends off the informative branch and at every
    ``check_every``-th time (a lower minimum found there replaces the continuation; a check run that reaches the
    continuation's minimiser stops there, :data:`JOIN_TOL`); where the
    global minimum switches branch between consecutive times a :class:`Jump` is recorded and
    (``refine_jumps``) located by bisection on the energy difference of the two branches.  ``tol``,
    ``max_iter``, ``max_step`` as in :func:`solve_exact` (for every time); ``throw=False`` returns
    ``converged=False`` at the times that failed instead of raising.
    """
    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError("ts must be a non-empty 1-d array of times")
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a flowphase Problem, got {type(problem).__name__}")
    problem.schedule.check_t(ts)
    d, npl, nmi = _check(problem, d, n_plus)
    coeffs = _curve_coefficients(problem, ts, d)
    opts = dict(max_iter=max_iter, max_step=max_step)
    order = np.argsort(ts, kind="stable")
    results: List[Optional[ExactParameters]] = [None] * ts.size
    prev = None
    prev2 = None   # (t, theta) of the two latest consecutive informative minimisers: linear predictor
    batch = _WarmBatch(problem, ts, order, coeffs, d, npl, nmi, rule, tol, check_every, max_iter, max_step) \
        if npl is not None else None
    j = 0
    while j < ts.size:
        if batch is not None:
            # the times that need no decision, in one compiled loop (same arithmetic as the lines below)
            j_stop = batch.run(j, prev, prev2, j > 0 and results[order[j - 1]].branch == "informative")
            for jj in range(j, j_stop):
                r = batch.result(jj)
                if r.branch == "informative":
                    prev2 = prev if (prev is not None and jj > 0 and results[order[jj - 1]].branch == "informative") \
                        else None
                    prev = (r.t, _outer(r))
                else:
                    prev, prev2 = None, None
                results[order[jj]] = r
            j = j_stop
            if j == ts.size:
                break
        k = order[j]
        if prev is None or npl is None:
            r = _solve_at(problem, float(ts[k]), coeffs[k], d, npl, nmi, rule=rule, tol=tol, throw=throw, **opts)
        else:
            # warm start from the previous informative minimiser (extrapolated linearly from the two before
            # where both are informative); the default (multi-start) search is added when the continuation
            # loses the informative branch and every `check_every` times
            r = _solve_at(problem, float(ts[k]), coeffs[k], d, npl, nmi, starts=[_predict(prev, prev2, ts[k])],
                          rule=rule, tol=tol, throw=False, **opts)
            if (not r.converged or r.branch != "informative" or j % check_every == 0) and \
                    math.isfinite(r.B):
                alt = _solve_at(problem, float(ts[k]), coeffs[k], d, npl, nmi, rule=rule, tol=tol, throw=throw,
                                join=(_outer(r) if r.converged and r.branch == "informative" else None), **opts)
                if not r.converged or alt.energy < r.energy - 1e-12 * abs(r.energy):
                    r = alt
            if not r.converged and throw:
                raise ConvergenceError(f"exact finite-n solver failed at t = {ts[k]}: {r.message}", r)
        if r.branch == "informative":
            prev2 = prev if (prev is not None and results[order[j - 1]].branch == "informative") else None
            prev = (r.t, _outer(r))
        else:
            prev2 = None
            if r.branch == "saturated":
                prev = None
        results[k] = r
        j += 1
    refine = (lambda a, b_: _refine(problem, a, b_, d, npl, rule, tol)) if refine_jumps else None
    jumps = branch_jumps([results[k] for k in order], refine)
    get = operator.attrgetter(*FIELDS)
    cols = np.array([get(r) for r in results], dtype=float).reshape(len(results), len(FIELDS))
    arr = {f: cols[:, i].copy() for i, f in enumerate(FIELDS)}
    return ExactCurve(t=ts.copy(), d=d, n_plus=(npl or 0), n_minus=(nmi or 0),
                      converged=np.array([r.converged for r in results], dtype=bool),
                      iterations=np.array([r.iterations for r in results], dtype=np.int64),
                      branch=[r.branch for r in results], jumps=jumps, results=list(results), **arr)


class _WarmBatch:
    """Runs :func:`~flowphase.numerics.exact._kernels.warm_batch` over the sorted times and turns its rows into
    the :class:`ExactParameters` that :func:`_solve_at` returns for the same time and start."""

    def __init__(self, problem, ts, order, coeffs, d, npl, nmi, rule, tol, check_every, max_iter, max_step):
        tr = problem.training
        self.npl, self.nmi, self.d = npl, nmi, d
        self.t = [float(ts[k]) for k in order]
        self.coeffs = [coeffs[k] for k in order]
        self.sat = np.array([not math.isfinite(c[3]) for c in self.coeffs])
        isd = 0.0 if math.isinf(d) else 1.0 / math.sqrt(d)
        self.P = np.array([[c[1], c[2], (c[3] if math.isfinite(c[3]) else 0.0), isd, problem.sigma, npl, nmi,
                            tr.lam_u, tr.lam_w] for c in self.coeffs], dtype=np.float64).reshape(-1, 9)
        self.ts = np.array(self.t, dtype=np.float64)
        self.out = np.zeros((ts.size, 13))
        self.sgn = 1.0 if npl >= nmi else -1.0
        self.rule = rule
        self.opts = (float(tol), int(max_iter), B_CAP, float(max_step))
        self.check_every = int(check_every)

    def run(self, j, prev, prev2, last_informative) -> int:
        p1 = np.zeros(5) if prev is None else np.array((prev[0],) + tuple(prev[1]), dtype=np.float64)
        p2 = np.zeros(5) if prev2 is None else np.array((prev2[0],) + tuple(prev2[1]), dtype=np.float64)
        state = np.array([prev is not None, prev2 is not None, bool(last_informative)], dtype=np.float64)
        nodes, weights = _NO_RULE if self.rule is None else self.rule
        return int(K.warm_batch(self.P, self.ts, self.sat, j, p1, p2, state, self.check_every, self.sgn,
                                self.rule is None, nodes, weights, *self.opts, CREEP_SPREAD, self.out))

    def result(self, j) -> ExactParameters:
        tau, alpha, beta, B = self.coeffs[j]
        npl, nmi = self.npl, self.nmi
        row = self.out[j].tolist()
        res = ExactParameters(value=None, converged=True, iterations=0, residual=0.0, n_plus=npl, n_minus=nmi,
                              t=self.t[j], tau=tau, alpha=alpha, beta=beta, B=B, d=self.d)
        if row[0] == 2.0:
            res.c, res.m, res.a_plus, res.a_minus = row[9:13]
            res.sqrt_q = math.sqrt(res.m ** 2 + npl * res.a_plus ** 2 + nmi * res.a_minus ** 2)
            res.energy, res.branch = row[5], "saturated"
            res.message = "tanh saturated (d = inf, B = inf): fresh-noise ridge (EXACT_FINITE_N §4.2)"
        else:
            E, E_triv = row[5], row[8]
            res.iterations = int(row[7])
            res.info = {"energy_trivial": E_triv, "energy_informative": E, "starts": 1, "failed_starts": 0}
            _fill(res, row[1:5], row[9:13], npl, nmi)
            res.energy, res.residual, res.branch = E, row[6], "informative"
            res.message = "informative branch"
            vals = [res.c, res.m, res.a_plus, res.a_minus, res.energy, res.sqrt_q]
            if not all(map(math.isfinite, vals)):
                check_finite("exact finite-n overlaps", vals)
        res.value = res.as_dict()
        return res


def _curve_coefficients(problem, ts, d):
    """``time_coefficients`` for every t, vectorised over the schedule (same values)."""
    pr = problem if problem.d == d else problem.replace(d=d)
    tau = np.atleast_1d(np.asarray(pr.tau(ts), dtype=float))
    it = pr.interpolant
    if math.isinf(d):
        out = []
        dilated = pr.dilated_schedule
        alpha0, slope = (float(it.alpha(0.0)), float(it.dbeta(0.0)) * pr.kappa) if dilated else (None, None)
        for t, ta in zip(ts.tolist(), tau.tolist()):
            if dilated and t <= 1.0:
                out.append((ta, alpha0, 0.0, slope * t))
            else:
                a, b = float(it.alpha(ta)), float(it.beta(ta))
                out.append((float(ta), a, b, math.inf if b > 0.0 else 0.0))
        return out
    al = np.atleast_1d(np.asarray(it.alpha(tau), dtype=float))
    be = np.atleast_1d(np.asarray(it.beta(tau), dtype=float))
    return [(float(ta), float(a), float(b), float(b) * math.sqrt(d)) for ta, a, b in zip(tau, al, be)]


def _refine(problem, a, b_, d, npl, rule, tol, iters: int = 40, t_tol: float = 1e-9) -> float:
    """Where the informative branch starts (stops) being the global minimum between two times on different branches.

    The decision at each trial time is the one of :func:`_solve_at` from the latest winning informative minimiser
    (as in :func:`~flowphase.numerics.jumps.bisect_switch`): the Newton run ends at an informative point
    (converged, ``|b| <= B_CAP``, ``|omega| > 1e-7``) whose energy is below the trivial one.  Where the runs on
    both sides of the bracket end at informative points the trial time is the Illinois regula-falsi root of
    ``g(t) = E_informative - E_trivial (1 - 1e-12 sign)``, whose sign is that decision; elsewhere it is the midpoint.
    Stops once the bracket is narrower than ``t_tol`` (the bisection's tolerance) and returns its midpoint.
    """
    pr = problem if (problem.d == d or math.isinf(d) and math.isinf(problem.d)) else problem.replace(d=d)
    tr = pr.training
    nmi = int(tr.n) - npl
    sgn = 1.0 if npl >= nmi else -1.0
    nodes, weights = _NO_RULE if rule is None else rule
    lo_inf = a.branch == "informative"
    start = np.array(_outer(a if lo_inf else b_), dtype=np.float64).reshape(1, 4)

    def trial(t):
        _, alpha, beta, B = time_coefficients(pr, t, d)
        prm = _prm(alpha, beta, B, d, pr.sigma, npl, nmi, tr.lam_u, tr.lam_w)
        out = K.solve_point(prm, start, rule is None, nodes, weights, sgn, tol, 200, B_CAP, 1.0, CREEP_SPREAD, _NO_JOIN,
                            0.0).tolist()
        E_triv, row = out[0][0], out[1]
        if not (int(row[7]) == 0 and abs(row[1]) <= B_CAP and abs(row[0]) > 1e-7):
            return False, None, None
        g = row[4] - (E_triv - 1e-12 * abs(E_triv))
        theta = row[0:4] if row[0] > 0.0 else [-v for v in row[0:4]]
        return g < 0.0, g, theta

    lo, hi = a.t, b_.t
    g_lo = g_hi = None
    kept = 0          # +1: lo kept its value twice in a row, -1: hi did (Illinois halving)
    for _ in range(iters):
        if hi - lo < t_tol:
            break
        mid = 0.5 * (lo + hi)
        if g_lo is not None and g_hi is not None and (g_lo < 0.0) != (g_hi < 0.0):
            x = lo - g_lo * (hi - lo) / (g_hi - g_lo)
            if lo < x < hi:
                mid = x
        wins, g, theta = trial(mid)
        if wins:
            start[0, :] = theta
        if wins == lo_inf:
            lo, g_lo = mid, g
            if kept == -1 and g_hi is not None:
                g_hi *= 0.5
            kept = -1
        else:
            hi, g_hi = mid, g
            if kept == 1 and g_lo is not None:
                g_lo *= 0.5
            kept = 1
    return 0.5 * (lo + hi)
