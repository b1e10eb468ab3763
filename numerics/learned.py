"""Learned parameters by the theory's name: a thin front of the strategy objects of :mod:`flowphase.numerics.theories`.

``learned_curve(problem, ts, theory)`` is ``theory_from_name(theory, d=..., n_plus=...).curve(problem, ts)``
with two defaults the command line and the figures rely on: ``theory=None`` picks :func:`default_theory`
(``'exact'`` where defined: fresh noise, 2 <= n < inf; else ``'paper'``), and ``d=None`` evaluates the theory at
the problem's own d.  What each theory computes -- phase 1 by the effective potential, phase 2 by the ridge
closed forms or the exact potential, the jumps of omega, signs canonicalised to ``omega >= 0`` (PAPER §2.2) --
is documented on :class:`~flowphase.numerics.theories.PaperAnsatz` and
:class:`~flowphase.numerics.theories.ExactFiniteN`.

Results: :class:`~flowphase.numerics.results.LearnedParameters` and :class:`~flowphase.numerics.results.LearnedCurve`
(``residual`` is the solver's own: ``|grad E|_2 / n`` (exact), the projected gradient norm of ``E/(n + sigma^2)``
(paper, phase 1), 0 for the phase-2 closed form).  ``throw=True`` (default) raises
:class:`~flowphase.numerics.results.ConvergenceError` where a solve fails, ``throw=False`` returns
``converged=False`` there.
"""
from __future__ import annotations

from typing import Optional

from flowphase.numerics.results import LearnedCurve, LearnedParameters
from flowphase.numerics.theories import THEORY_NAMES, Theory, default_theory, theory_from_name

__all__ = ["learned_parameters", "learned_curve", "resolve_theory", "theory_for"]


def resolve_theory(problem, theory: Optional[str]) -> str:
    """``theory`` checked against ``('exact', 'paper')``; ``None`` -> :func:`default_theory` of ``problem``."""
    if theory is None:
        return default_theory(problem)
    if theory not in THEORY_NAMES:
        raise ValueError(f"theory must be one of {THEORY_NAMES}, got {theory!r}")
    return theory


def theory_for(problem, theory: Optional[str] = None, *, d=None, n_plus=None) -> Theory:
    """The strategy of the name ``theory`` (:func:`resolve_theory`) evaluated at ``d`` (default ``problem.d``)."""
    from flowphase.theory.problem import Problem

    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a flowphase Problem, got {type(problem).__name__}")
    return theory_from_name(resolve_theory(problem, theory), d=problem.d if d is None else d, n_plus=n_plus)


def learned_parameters(problem, t: float, theory: Optional[str] = None, *, d=None, n_plus=None, throw: bool = True,
                       **solver_kw) -> LearnedParameters:
    """Learned parameters of ``problem`` at schedule time ``t``: :meth:`Theory.overlaps` of :func:`theory_for`.

    ``solver_kw`` go to :func:`flowphase.numerics.exact.solve_exact` (exact) or
    :func:`flowphase.numerics.phase_one.solve_phase_one` (paper, phase 1 only).
    """
    return theory_for(problem, theory, d=d, n_plus=n_plus).overlaps(problem, t, throw=throw, **solver_kw)


def learned_curve(problem, ts, theory: Optional[str] = None, *, d=None, n_plus=None, throw: bool = True,
                  refine_jumps: bool = True, **solver_kw) -> LearnedCurve:
    """Learned parameters at many times: :meth:`Theory.curve` of :func:`theory_for`.

    ``solver_kw`` (``tol``, ``rule``, ``max_iter``, ``max_step``; paper: also ``b_cap``, ``step_tol``; exact: also
    ``check_every``) go to :func:`flowphase.numerics.exact.exact_curve` or
    :func:`flowphase.numerics.phase_one.phase_one_curve`.
    """
    return theory_for(problem, theory, d=d, n_plus=n_plus).curve(problem, ts, throw=throw,
                                                                 refine_jumps=refine_jumps, **solver_kw)
