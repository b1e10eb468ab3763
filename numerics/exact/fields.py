"""Learned fields in the reduced coordinates of EXACT_FINITE_N §5, for the generated-distribution flow.

The flow of :mod:`flowphase.numerics.exact.flow` reads a learned curve on a time grid with the
attributes of the exact solver's ``ExactCurve`` (EXACT_FINITE_N §2-§3): ``t, tau, alpha, beta, B, c, m,
a_plus, a_minus, omega, b, z_plus, z_minus, sqrt_r, sqrt_q, converged`` (arrays over the grid) and
``n_plus, n_minus`` (ints), ``d`` (float, may be inf).  Conventions: ``u = m mu + a_+ sum_{nu in +} eta^nu
+ a_- sum_{nu in -} eta^nu``, ``w = omega mu + z_+ sum_+ eta^nu + z_- sum_- eta^nu``; where the d = inf
phase-2 field is saturated, ``omega, b, z`` are NaN (flat directions, branch ``'saturated'``).

Two other fields in the same format, used as references and for the paper's variant:

* :func:`paper_field` -- the paper's restricted ansatz (PAPER §3.2, §3.4): ``z_+- = 0``,
  ``a_+- = +-q_eta`` (``u = m mu + q_eta sum_nu s_nu eta^nu``), from
  :func:`flowphase.numerics.learned.learned_curve`;
* :func:`bayes_field` -- the exact (Bayes) denoiser at finite d (PAPER §2.1): ``c = tau sigma^2/D``,
  ``m = alpha^2/D``, ``omega = sqrt(d) tau/D``, ``b = h``, no memorisation (n = inf).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from flowphase.theory.closed_forms import bayes_coefficients
from flowphase.numerics.exact.solver import ReducedFieldArrays
from flowphase.theory.problem import Problem

__all__ = ["FieldCurve", "FIELD_ARRAYS", "paper_field", "bayes_field", "default_n_plus"]

#: the array attributes the flow reads (EXACT_FINITE_N §5)
FIELD_ARRAYS = ("t", "tau", "alpha", "beta", "B", "c", "m", "a_plus", "a_minus", "omega", "b", "z_plus", "z_minus",
                "sqrt_r", "sqrt_q", "converged")


@dataclass
class FieldCurve(ReducedFieldArrays):
    """A learned field on a grid in the reduced coordinates (the attribute set of ``ExactCurve``)."""

    n_plus: int = 0
    n_minus: int = 0
    d: float = math.inf
    branch: List[str] = field(default_factory=list)
    source: str = ""


def default_n_plus(problem: Problem) -> int:
    """Realised positives ``round(p n)`` (the simulator's ``labels='exact'``); 0 at n = inf."""
    if math.isinf(problem.n):
        return 0
    return int(round(problem.p * problem.n))


def _coefficients(problem: Problem, ts):
    tau = np.atleast_1d(np.asarray(problem.tau(ts), dtype=float))
    it = problem.interpolant
    al = np.asarray(it.alpha(tau), dtype=float) * np.ones_like(tau)
    be = np.asarray(it.beta(tau), dtype=float) * np.ones_like(tau)
    return tau, al, be, be * math.sqrt(problem.d) if math.isfinite(problem.d) else np.full_like(tau, np.inf)


def paper_field(problem: Problem, ts, n_plus: Optional[int] = None, **solver_kw) -> FieldCurve:
    """The paper's ansatz (PAPER §3.2, §3.4) in the reduced coordinates: ``z = 0``, ``a_+- = +-q_eta``.

    ``learned_curve`` gives c, m, omega, b, q_eta (phase 1: the effective-potential minimiser with c = 0;
    phase 2: the ridge closed forms at tau(t), omega and b NaN -> branch ``'saturated'``).  The ansatz
    uses population class fractions, so ``n_plus`` only sets which realised counts the flow assumes
    (default ``round(p n)``).
    """
    from flowphase.numerics.learned import learned_curve

    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    lc = learned_curve(problem, ts, theory="paper", **solver_kw)
    n = problem.n
    npl = default_n_plus(problem) if n_plus is None else int(n_plus)
    nmi = 0 if math.isinf(n) else int(n) - npl
    if npl < 0 or nmi < 0:
        raise ValueError(f"n_plus must lie in [0, n], got {n_plus!r}")
    tau, al, be, B = _coefficients(problem, ts)
    sat = ~np.isfinite(lc.omega)
    qe = np.where(np.isfinite(lc.q_eta), lc.q_eta, 0.0) if math.isinf(n) else lc.q_eta
    z = np.where(sat, np.nan, 0.0)
    om = np.where(sat, np.nan, lc.omega)
    branch = ["saturated" if s else br for s, br in zip(sat, lc.branch)]
    return FieldCurve(t=ts, tau=tau, alpha=al, beta=be, B=B, c=lc.c.copy(), m=lc.m.copy(), a_plus=qe.copy(),
                      a_minus=-qe, omega=om, b=lc.b.copy(), z_plus=z, z_minus=z.copy(), sqrt_r=np.abs(om),
                      sqrt_q=lc.sqrt_q.copy(), converged=lc.converged.copy(), n_plus=npl, n_minus=nmi,
                      d=float(problem.d), branch=branch, source="paper ansatz (PAPER §3.2, §3.4)")


def bayes_field(problem: Problem, ts) -> FieldCurve:
    """The exact (Bayes) denoiser at finite d on the grid (PAPER §2.1), no memorisation (n = inf)."""
    d = float(problem.d)
    if not math.isfinite(d):
        raise ValueError("the Bayes field is written at finite d (omega* = sqrt(d) tau / D grows with d)")
    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    tau, al, be, B = _coefficients(problem, ts)
    if np.any(al * al + be * be * problem.sigma ** 2 <= 0):
        raise ValueError("alpha and beta vanish together on the grid")
    bc = bayes_coefficients(al, be, problem.sigma)
    om = math.sqrt(d) * bc["omega_over_sqrt_d"]
    zeros = np.zeros_like(tau)
    m = bc["m"]
    return FieldCurve(t=ts, tau=tau, alpha=al, beta=be, B=B, c=bc["c"], m=m, a_plus=zeros, a_minus=zeros.copy(),
                      omega=om, b=np.full_like(tau, problem.h), z_plus=zeros.copy(), z_minus=zeros.copy(),
                      sqrt_r=np.abs(om), sqrt_q=np.abs(m), converged=np.ones(tau.size, dtype=bool), n_plus=0,
                      n_minus=0, d=d, branch=["bayes"] * tau.size, source="Bayes denoiser (PAPER §2.1)")
