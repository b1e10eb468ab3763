"""Learned parameters for every time of the schedule through one function (PAPER §3).

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
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from flowphase.numerics.phase_one import Jump, phase_one_curve, solve_phase_one
from flowphase.numerics.phase_two import phase_two_arrays, phase_two_coefficients
from flowphase.numerics.results import SolverResult

__all__ = ["LearnedParameters", "LearnedCurve", "learned_parameters", "learned_curve"]


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

    def as_dict(self) -> dict:
        return {"t": self.t, "phase": self.phase, "c": self.c, "m": self.m, "omega": self.omega, "b": self.b,
                "q_eta": self.q_eta, "q_xi": self.q_xi, "sqrt_q": self.sqrt_q, "tau": self.tau,
                "branch": self.branch}


@dataclass
class LearnedCurve:
    """Arrays of the learned parameters along ``t`` (``omega``/``b`` NaN where flat, see ``phase``)."""

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
    jumps: List[Jump] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Plain dict of the arrays (and the jumps as dicts)."""
        out = {k: getattr(self, k) for k in ("t", "tau", "phase", "c", "m", "omega", "b", "q_eta", "q_xi", "sqrt_q",
                                              "converged", "iterations", "residual")}
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


def learned_parameters(problem, t: float, **solver_kw) -> LearnedParameters:
    """Learned parameters of ``problem`` at schedule time ``t`` (one entry point for both phases).

    Parameters
    ----------
    problem : flowphase.theory.problem.Problem
    t : float
        Time in the schedule's range (``[0, 2]`` dilated, ``[0, 1]`` undilated).
    **solver_kw
        Passed to :func:`flowphase.numerics.phase_one.solve_phase_one` (phase 1 only).

    Returns
    -------
    LearnedParameters
        ``value`` holds :meth:`LearnedParameters.as_dict`.
    """
    problem.schedule.check_t(t)
    t = float(t)
    tau = float(problem.tau(t))
    phase = problem.phase(t)
    kind = _kind(problem, t)
    tr = problem.training
    if kind in ("one", "degenerate"):
        kt = problem.kappa * t if kind == "one" else 0.0
        r = solve_phase_one(kt, problem.p, tr.n, problem.sigma, tr.lam_u, tr.lam_w, t=t, **solver_kw)
        res = _phase_one_result(problem, t, r, tau, phase, None if kind == "one" else "degenerate")
    else:
        _, beta, alpha = phase_two_coefficients(problem, t)
        row = phase_two_arrays([beta], [alpha], tr.n, problem.sigma, tr.lam_u, tr.noise)[0]
        res = LearnedParameters(value=None, converged=True, iterations=0, residual=0.0,
                                message="ridge closed form (PAPER §3.4)", t=t, tau=tau, phase=int(phase),
                                c=float(row[0]), m=float(row[1]), omega=None, b=None, q_eta=float(row[2]),
                                q_xi=float(row[3]), sqrt_q=float(row[4]), branch="ridge")
    res.value = res.as_dict()
    return res


def learned_curve(problem, ts, **solver_kw) -> LearnedCurve:
    """Learned parameters at many times (any order); phase 1 by continuation with jump detection.

    Returns
    -------
    LearnedCurve
        Arrays aligned with ``ts``; ``jumps`` lists the first-order jumps of omega found in
        phase 1 (PAPER §3.2).
    """
    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError("ts must be a non-empty 1-d array of times")
    problem.schedule.check_t(ts)
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
        curve = phase_one_curve(problem, ts[order], **solver_kw)
        for j, k in enumerate(order):
            r = curve.results[j]
            out["c"][k], out["m"][k], out["omega"][k], out["b"][k] = 0.0, r.m, r.omega, r.b
            out["q_eta"][k], out["q_xi"][k], out["sqrt_q"][k], out["residual"][k] = r.q_eta, 0.0, r.sqrt_q, r.grad_norm
            converged[k], iterations[k], branch[k] = r.converged, r.iterations, r.branch
        jumps = curve.jumps
    for k in np.flatnonzero(kinds == "degenerate"):
        r = learned_parameters(problem, ts[k], **solver_kw)
        for key in ("c", "m", "omega", "b", "q_eta", "q_xi", "sqrt_q", "residual"):
            out[key][k] = getattr(r, key)
        converged[k], iterations[k], branch[k] = r.converged, r.iterations, r.branch
    two = np.flatnonzero(kinds == "two")
    if two.size:
        _, beta, alpha = phase_two_coefficients(problem, ts[two])
        rows = phase_two_arrays(beta, alpha, tr.n, problem.sigma, tr.lam_u, tr.noise)
        for key, col in (("c", 0), ("m", 1), ("q_eta", 2), ("q_xi", 3), ("sqrt_q", 4)):
            out[key][two] = rows[:, col]
        out["residual"][two] = 0.0
        for k in two:
            branch[k] = "ridge"
    return LearnedCurve(t=ts.copy(), tau=tau, phase=phase, converged=converged, iterations=iterations,
                        branch=branch, jumps=jumps, **out)
