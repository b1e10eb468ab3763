"""Learned parameters for every time of the schedule through one function (PAPER §3, EXACT_FINITE_N).

Two finite-n theories, chosen by ``theory=``: ``'exact'`` (default where defined: fresh noise, finite n) is the
exact d -> inf limit at fixed n of EXACT_FINITE_N (:mod:`flowphase.numerics.exact`, one potential for both
phases, evaluated at d = inf or at a finite d); ``'paper'`` is the paper's restricted ansatz, described below.

* Dilated schedule, ``t in [0, 1]`` (phase 1): the minimiser of the effective potential
  (:mod:`flowphase.numerics.phase_one`; ``c = 0``), or the population fixed point
  ``omega = kappa t, b = h, m = 1`` at ``n = inf`` (PAPER §3.1-§3.2).  Signal strength
  ``kappa t`` (the O(1) variable ``tau sqrt d``) at every d.
* Dilated schedule, ``t in (1, 2]`` (phase 2), and the undilated schedule for ``tau > 0``: the
  ridge closed forms at the physical time ``tau(t)`` (:mod:`flowphase.numerics.phase_two`);
  ``omega`` and ``b`` are flat directions and reported as ``None`` (NaN in curve arrays).
* Undilated schedule at ``tau = 0`` (degenerate: x_t carries no information about the mode):
  the phase-1 problem at ``kappa t = 0`` (``omega = 0``; at finite n the trivial branch
  ``b -> inf``, ``m = n|2p-1|/(lam_u + n)``, PAPER §3.1, §3.7), branch ``'degenerate'``.

Signs are canonicalised to ``omega >= 0`` (PAPER §2.2).

Results (:mod:`flowphase.numerics.results`): :class:`LearnedParameters` is a ``SolverResult`` and
:class:`LearnedCurve` a ``CurveResult``; ``residual`` is the solver's own: ``|grad E|_2 / n`` (exact), the
projected gradient norm of ``E/(n + sigma^2)`` (paper, phase 1), 0 for the phase-2 closed form.  ``throw=True``
(default) raises :class:`~flowphase.numerics.results.ConvergenceError` where a solve fails, ``throw=False``
returns ``converged=False`` there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from flowphase.numerics.phase_one import Jump, phase_one_curve, solve_phase_one
from flowphase.numerics.phase_two import phase_two_arrays, phase_two_coefficients
from flowphase.numerics.results import ConvergenceError, CurveResult, SolverResult

__all__ = ["LearnedParameters", "LearnedCurve", "learned_parameters", "learned_curve", "resolve_theory", "THEORIES"]


@dataclass
class LearnedParameters(SolverResult):
    """Learned overlaps at one time (PAPER §2.2 order parameters).

    Attributes
    ----------
    t, tau : float
        Schedule time and physical interpolation time.
    phase : int
        ``problem.phase(t)`` (1 or 2).
    c, m, q_eta, q_xi, sqrt_q : float
        Skip connection, ``u.mu/d``, memorisation coefficients, ``sqrt(|u|^2/d)``.
    omega, b : float or None
        Encoder overlap and bias; ``None`` where they are flat directions (phase 2).
    branch : str
        ``'informative'``, ``'trivial'``, ``'population'`` (phase 1), ``'ridge'`` (phase 2) or
        ``'degenerate'`` (undilated tau = 0).
    """

    t: float = math.nan
    tau: float = math.nan
    phase: int = 0
    c: float = math.nan
    m: float = math.nan
    omega: Optional[float] = None
    b: Optional[float] = None
    q_eta: float = math.nan
    q_xi: float = 0.0
    sqrt_q: float = math.nan
    branch: str = ""
    theory: str = "paper"
    d: float = math.inf
    n_plus: Optional[int] = None
    z_plus: Optional[float] = None
    z_minus: Optional[float] = None
    a_plus: Optional[float] = None
    a_minus: Optional[float] = None
    sqrt_r: Optional[float] = None

    def as_dict(self) -> dict:
        return {"t": self.t, "phase": self.phase, "c": self.c, "m": self.m, "omega": self.omega, "b": self.b,
                "q_eta": self.q_eta, "q_xi": self.q_xi, "sqrt_q": self.sqrt_q, "tau": self.tau,
                "branch": self.branch, "theory": self.theory, "d": self.d, "n_plus": self.n_plus,
                "z_plus": self.z_plus, "z_minus": self.z_minus, "a_plus": self.a_plus, "a_minus": self.a_minus,
                "sqrt_r": self.sqrt_r}


@dataclass
class LearnedCurve(CurveResult):
    """Arrays of the learned parameters along ``t`` (``omega``/``b`` NaN where flat, see ``phase``).

    ``converged``, ``iterations``, ``residual`` per time (the point solver's meaning, module docstring);
    ``value`` (= :meth:`as_dict`), ``message`` and ``raise_if_failed`` from
    :class:`~flowphase.numerics.results.CurveResult`.
    """

    t: np.ndarray
    tau: np.ndarray
    phase: np.ndarray
    c: np.ndarray
    m: np.ndarray
    omega: np.ndarray
    b: np.ndarray
    q_eta: np.ndarray
    q_xi: np.ndarray
    sqrt_q: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    branch: List[str]
    jumps: list = field(default_factory=list)
    theory: str = "paper"
    d: float = math.inf
    n_plus: Optional[int] = None
    z_plus: Optional[np.ndarray] = None
    z_minus: Optional[np.ndarray] = None
    a_plus: Optional[np.ndarray] = None
    a_minus: Optional[np.ndarray] = None
    sqrt_r: Optional[np.ndarray] = None

    def as_dict(self) -> dict:
        """Plain dict of the arrays (and the jumps as dicts)."""
        out = {k: getattr(self, k) for k in ("t", "tau", "phase", "c", "m", "omega", "b", "q_eta", "q_xi", "sqrt_q",
                                              "converged", "iterations", "residual", "z_plus", "z_minus", "a_plus",
                                              "a_minus", "sqrt_r")}
        out.update(theory=self.theory, d=self.d, n_plus=self.n_plus)
        out["branch"] = list(self.branch)
        out["jumps"] = [vars(j).copy() for j in self.jumps]
        return out


def _phase_one_result(problem, t, r, tau, phase, branch=None) -> LearnedParameters:
    return LearnedParameters(value=None, converged=r.converged, iterations=r.iterations, residual=r.grad_norm,
                             message=r.message, t=float(t), tau=float(tau), phase=int(phase), c=0.0, m=r.m,
                             omega=r.omega, b=r.b, q_eta=r.q_eta, q_xi=0.0, sqrt_q=r.sqrt_q,
                             branch=branch or r.branch, info={"energy": r.energy})


def _kind(problem, t) -> str:
    """'one' (phase-1 solve), 'degenerate' (undilated tau = 0) or 'two' (ridge)."""
    if problem.dilated_schedule:
        return "one" if float(t) <= 1.0 else "two"
    return "degenerate" if float(problem.tau(t)) == 0.0 else "two"


THEORIES = ("exact", "paper")


def resolve_theory(problem, theory: Optional[str]) -> str:
    """``theory=None`` -> ``'exact'`` where it is defined (fresh noise, 2 <= n < inf), else ``'paper'``.

    ``'exact'``: EXACT_FINITE_N (d -> inf at fixed n, no ansatz; :mod:`flowphase.numerics.exact`);
    ``'paper'``: PAPER §3.2 restricted ansatz in phase 1 and the ridge closed forms in phase 2 (any noise
    convention).  At n = inf both are the population limit.
    """
    if theory is None:
        n = problem.training.n
        return "exact" if (problem.training.noise == "fresh" and math.isfinite(n) and n >= 2) else "paper"
    if theory not in THEORIES:
        raise ValueError(f"theory must be one of {THEORIES}, got {theory!r}")
    return theory


def _theory_d(problem, d):
    return problem.d if d is None else d


def _from_exact(r, phase) -> LearnedParameters:
    sat = r.branch == "saturated"
    nn = r.n_plus + r.n_minus
    q_eta = (r.n_plus * r.a_plus - r.n_minus * r.a_minus) / nn if nn else 0.0
    flat = lambda v: None if (sat or v is None or (isinstance(v, float) and math.isnan(v))) else float(v)  # noqa: E731
    out = LearnedParameters(value=None, converged=r.converged, iterations=r.iterations, residual=r.residual,
                            message=r.message, info=dict(r.info, energy=r.energy), t=r.t, tau=r.tau,
                            phase=int(phase), c=r.c, m=r.m, omega=flat(r.omega), b=flat(r.b), q_eta=float(q_eta),
                            q_xi=0.0, sqrt_q=r.sqrt_q, branch=r.branch, theory="exact", d=r.d,
                            n_plus=(r.n_plus or None), z_plus=flat(r.z_plus), z_minus=flat(r.z_minus),
                            a_plus=r.a_plus, a_minus=r.a_minus, sqrt_r=flat(r.sqrt_r))
    out.value = out.as_dict()
    return out


def _paper_extras(res: LearnedParameters) -> LearnedParameters:
    """The paper's ansatz in the exact coordinates: z = 0, a_pm = +-q_eta, sqrt_r = omega."""
    res.z_plus = 0.0 if res.omega is not None else None
    res.z_minus = res.z_plus
    res.a_plus, res.a_minus = res.q_eta, -res.q_eta
    res.sqrt_r = None if res.omega is None else abs(res.omega)
    return res


def learned_parameters(problem, t: float, theory: Optional[str] = None, *, d=None, n_plus=None, throw: bool = True,
                       **solver_kw) -> LearnedParameters:
    """Learned parameters of ``problem`` at schedule time ``t`` (one entry point for both phases).

    Parameters
    ----------
    problem : flowphase.theory.problem.Problem
    t : float
        Time in the schedule's range (``[0, 2]`` dilated, ``[0, 1]`` undilated).
    theory : {'exact', 'paper'}, optional
        Default: ``'exact'`` where defined (:func:`resolve_theory`).
    d : float, optional
        Dimension at which the exact theory is evaluated (default: the problem's d, inf unless set).
        The paper's theory uses the problem's d for the phase-2 tau only.
    n_plus : int, optional
        Realised count of the + class for the exact theory (default ``round(p n)``).
    throw : bool
        Raise :class:`ConvergenceError` where the solve fails (else return ``converged=False``).
    **solver_kw
        Passed to :func:`flowphase.numerics.exact.solve_exact` (exact) or
        :func:`flowphase.numerics.phase_one.solve_phase_one` (paper, phase 1 only).

    Returns
    -------
    LearnedParameters
        ``value`` holds :meth:`LearnedParameters.as_dict`.
    """
    problem.schedule.check_t(t)
    if resolve_theory(problem, theory) == "exact":
        from flowphase.numerics.exact import solve_exact

        r = solve_exact(problem, t, _theory_d(problem, d), n_plus, throw=throw, **solver_kw)
        return _from_exact(r, problem.phase(float(t)))
    if n_plus is not None:
        raise ValueError("n_plus applies to theory='exact' only")
    t = float(t)
    tau = float(problem.tau(t))
    phase = problem.phase(t)
    kind = _kind(problem, t)
    tr = problem.training
    if kind in ("one", "degenerate"):
        kt = problem.kappa * t if kind == "one" else 0.0
        r = solve_phase_one(kt, problem.p, tr.n, problem.sigma, tr.lam_u, tr.lam_w, t=t, throw=throw, **solver_kw)
        if not r.converged:
            return LearnedParameters(value=None, converged=False, iterations=r.iterations, residual=r.residual,
                                     message=r.message, t=t, tau=tau, phase=int(phase), branch=r.branch)
        res = _paper_extras(_phase_one_result(problem, t, r, tau, phase, None if kind == "one" else "degenerate"))
    else:
        _, beta, alpha = phase_two_coefficients(problem, t)
        try:
            row = phase_two_arrays([beta], [alpha], tr.n, problem.sigma, tr.lam_u, tr.noise)[0]
        except ConvergenceError as exc:
            if throw:
                raise
            return LearnedParameters(value=None, converged=False, iterations=0, residual=math.inf, message=str(exc),
                                     t=t, tau=tau, phase=int(phase), branch="ridge")
        res = LearnedParameters(value=None, converged=True, iterations=0, residual=0.0,
                                message="ridge closed form (PAPER §3.4)", t=t, tau=tau, phase=int(phase),
                                c=float(row[0]), m=float(row[1]), omega=None, b=None, q_eta=float(row[2]),
                                q_xi=float(row[3]), sqrt_q=float(row[4]), branch="ridge")
    _paper_extras(res)
    res.value = res.as_dict()
    return res


def learned_curve(problem, ts, theory: Optional[str] = None, *, d=None, n_plus=None, throw: bool = True,
                  refine_jumps: bool = True, **solver_kw) -> LearnedCurve:
    """Learned parameters at many times (any order), by continuation with jump detection.

    ``theory``, ``d``, ``n_plus``, ``throw`` and the solver keywords as in :func:`learned_parameters` (``tol``,
    ``rule``, ``max_iter``, ``max_step``; paper: also ``b_cap``, ``step_tol``; exact: also ``check_every``),
    forwarded to :func:`flowphase.numerics.exact.exact_curve` or
    :func:`flowphase.numerics.phase_one.phase_one_curve` and from there to the solver at every time
    (``starts`` are chosen by the continuation and refused here).  ``refine_jumps``: bisect the jump times.

    Returns
    -------
    LearnedCurve
        Arrays aligned with ``ts``; ``jumps`` lists the first-order jumps of omega.
    """
    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError("ts must be a non-empty 1-d array of times")
    problem.schedule.check_t(ts)
    if "starts" in solver_kw:
        raise ValueError("starts are chosen by the continuation along the curve; use learned_parameters for one time")
    if resolve_theory(problem, theory) == "exact":
        return _exact_learned_curve(problem, ts, _theory_d(problem, d), n_plus, throw=throw,
                                    refine_jumps=refine_jumps, **solver_kw)
    if "check_every" in solver_kw:
        raise ValueError("check_every applies to theory='exact' only")
    if n_plus is not None:
        raise ValueError("n_plus applies to theory='exact' only")
    N = ts.size
    tau = np.atleast_1d(np.asarray(problem.tau(ts), dtype=float))
    phase = np.array([problem.phase(t) for t in ts], dtype=np.int64)
    out = {k: np.full(N, np.nan) for k in ("c", "m", "omega", "b", "q_eta", "q_xi", "sqrt_q", "residual")}
    converged = np.ones(N, dtype=bool)
    iterations = np.zeros(N, dtype=np.int64)
    branch = [""] * N
    jumps: List[Jump] = []
    kinds = np.array([_kind(problem, t) for t in ts])
    tr = problem.training

    one = np.flatnonzero(kinds == "one")
    if one.size:
        order = one[np.argsort(ts[one], kind="stable")]
        curve = phase_one_curve(problem, ts[order], throw=throw, refine_jumps=refine_jumps, **solver_kw)
        for j, k in enumerate(order):
            r = curve.results[j]
            out["c"][k], out["m"][k], out["omega"][k], out["b"][k] = 0.0, r.m, r.omega, r.b
            out["q_eta"][k], out["q_xi"][k], out["sqrt_q"][k], out["residual"][k] = r.q_eta, 0.0, r.sqrt_q, r.grad_norm
            converged[k], iterations[k], branch[k] = r.converged, r.iterations, r.branch
        jumps = curve.jumps
    for k in np.flatnonzero(kinds == "degenerate"):
        r = learned_parameters(problem, ts[k], theory="paper", throw=throw, **solver_kw)
        for key in ("c", "m", "omega", "b", "q_eta", "q_xi", "sqrt_q", "residual"):
            out[key][k] = getattr(r, key)
        converged[k], iterations[k], branch[k] = r.converged, r.iterations, r.branch
    two = np.flatnonzero(kinds == "two")
    if two.size:
        _, beta, alpha = phase_two_coefficients(problem, ts[two])
        try:
            rows = phase_two_arrays(beta, alpha, tr.n, problem.sigma, tr.lam_u, tr.noise)
        except ConvergenceError:
            if throw:
                raise
            rows = np.full((two.size, 5), np.nan)
            converged[two] = False
        for key, col in (("c", 0), ("m", 1), ("q_eta", 2), ("q_xi", 3), ("sqrt_q", 4)):
            out[key][two] = rows[:, col]
        out["residual"][two] = np.where(converged[two], 0.0, np.inf)
        for k in two:
            branch[k] = "ridge"
    sat = np.isnan(out["omega"])
    extras = dict(z_plus=np.where(sat, np.nan, 0.0), z_minus=np.where(sat, np.nan, 0.0), a_plus=out["q_eta"].copy(),
                  a_minus=-out["q_eta"], sqrt_r=np.abs(out["omega"]))
    return LearnedCurve(t=ts.copy(), tau=tau, phase=phase, converged=converged, iterations=iterations,
                        branch=branch, jumps=jumps, theory="paper", d=float(problem.d), **extras, **out)


def _exact_learned_curve(problem, ts, d, n_plus, **kw) -> LearnedCurve:
    from flowphase.numerics.exact import exact_curve

    cur = exact_curve(problem, ts, d, n_plus, **kw)
    sat = np.array([b == "saturated" for b in cur.branch])
    nan_sat = lambda a: np.where(sat, np.nan, a)  # noqa: E731
    nn = cur.n_plus + cur.n_minus
    q_eta = (cur.n_plus * cur.a_plus - cur.n_minus * cur.a_minus) / nn if nn else np.zeros_like(cur.c)
    phase = np.array([problem.phase(t) for t in ts], dtype=np.int64)
    return LearnedCurve(t=ts.copy(), tau=cur.tau, phase=phase, c=cur.c, m=cur.m, omega=nan_sat(cur.omega),
                        b=nan_sat(cur.b), q_eta=q_eta, q_xi=np.zeros_like(cur.c), sqrt_q=cur.sqrt_q,
                        converged=cur.converged, iterations=cur.iterations, residual=cur.residual,
                        branch=list(cur.branch), jumps=cur.jumps, theory="exact", d=float(d),
                        n_plus=(cur.n_plus or None), z_plus=nan_sat(cur.z_plus), z_minus=nan_sat(cur.z_minus),
                        a_plus=cur.a_plus, a_minus=cur.a_minus, sqrt_r=nan_sat(cur.sqrt_r))
