"""First-order jumps of omega along t: one record and one bisection for both finite-n solvers.

Along a curve of times the global minimum of the learned-parameter problem can switch between the trivial
branch (omega = 0) and the informative branch (omega > 0): a first-order jump of omega (PAPER §3.2,
``docs/`` theory notes).  Both the paper's restricted ansatz (:mod:`flowphase.numerics.phase_one`) and the exact
finite-n solver (:mod:`flowphase.numerics.exact.solver`) report such switches as :class:`Jump` records found by
:func:`branch_jumps` and located by the bisection :func:`bisect_switch`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

__all__ = ["Jump", "branch_jumps", "bisect_switch"]


@dataclass
class Jump:
    """A first-order jump of omega along t (the global minimum switches branch, PAPER §3.2).

    ``t_lo < t_star < t_hi`` brackets the switch (``t_star`` refined by bisection on which branch is lower);
    ``size = omega_after - omega_before`` at the bracket ends.
    """

    t_lo: float
    t_hi: float
    t_star: float
    omega_before: float
    omega_after: float
    size: float
    branch_before: str
    branch_after: str


def bisect_switch(t_lo: float, t_hi: float, lo_informative: bool, informative_at: Callable, start, *,
                  iters: int = 40, t_tol: float = 1e-9) -> float:
    """Bisection in t for the time where the informative branch starts (or stops) being the global minimum.

    Parameters
    ----------
    t_lo, t_hi : float
        Bracket; the branch at ``t_lo`` is informative iff ``lo_informative``.
    informative_at : callable
        ``informative_at(t, start) -> (wins, new_start)``: whether the informative branch is the global
        minimum at ``t`` (solved from the warm start ``start``) and the point to start from next (used only
        where it wins).
    start
        Warm start of the informative branch at the bracket's informative end.
    iters, t_tol
        At most ``iters`` halvings, stopped once the bracket is narrower than ``t_tol``.

    Returns
    -------
    float
        The midpoint of the final bracket.
    """
    lo, hi = t_lo, t_hi
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        wins, pt = informative_at(mid, start)
        if wins:
            start = pt
        if wins == lo_informative:
            lo = mid
        else:
            hi = mid
        if hi - lo < t_tol:
            break
    return 0.5 * (lo + hi)


def branch_jumps(results: Sequence, refine: Optional[Callable] = None) -> List[Jump]:
    """The trivial <-> informative switches between consecutive point results (sorted by t).

    ``results`` carry ``t``, ``omega`` and ``branch``; ``refine(left, right) -> t_star`` locates a switch
    (default: the bracket's midpoint).
    """
    jumps: List[Jump] = []
    for left, right in zip(results[:-1], results[1:]):
        if left.branch != right.branch and {left.branch, right.branch} == {"trivial", "informative"}:
            t_star = refine(left, right) if refine is not None else 0.5 * (left.t + right.t)
            jumps.append(Jump(t_lo=left.t, t_hi=right.t, t_star=t_star, omega_before=left.omega,
                              omega_after=right.omega, size=right.omega - left.omega, branch_before=left.branch,
                              branch_after=right.branch))
    return jumps

