"""Result objects shared by every solver (scipy ``OdeResult`` / diffrax ``throw=True`` style).

A solver returns a :class:`SolverResult` (or a subclass) carrying the value, a ``converged`` flag,
the number of ``iterations`` and the final ``residual``; with ``throw=True`` (the default in the
public API) a non-converged solve raises :class:`ConvergenceError` instead of returning NaN.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict

import numpy as np

__all__ = ["ConvergenceError", "SolverResult", "ScalarResult", "CurveResult", "check_finite"]


class ConvergenceError(RuntimeError):
    """A solver did not reach its tolerance; the message says which solver, where and by how much."""

    def __init__(self, message: str, result: "SolverResult | None" = None):
        super().__init__(message)
        self.result = result


@dataclass
class SolverResult:
    """Generic solver outcome.

    Attributes
    ----------
    value : Any
        The solution (float, array or dict).
    converged : bool
    iterations : int
        Iterations / accepted steps taken.
    residual : float
        Final residual (gradient norm, |F(x)|, or error estimate) the convergence test used.
    message : str
    info : dict
        Solver-specific extras (branch, function evaluations, ...).
    """

    value: Any
    converged: bool
    iterations: int
    residual: float
    message: str = ""
    info: Dict[str, Any] = field(default_factory=dict)

    def raise_if_failed(self, what: str = "solver") -> "SolverResult":
        if not self.converged:
            raise ConvergenceError(f"{what} did not converge after {self.iterations} iterations "
                                   f"(residual {self.residual:.3e}): {self.message}", self)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ScalarResult(SolverResult):
    """A :class:`SolverResult` whose ``value`` is one float; ``float(result)`` gives it (callers of the
    former bare-float return keep working)."""

    def __float__(self) -> float:
        return float(self.value)


class CurveResult:
    """The same style along a curve of times (mixin of ``LearnedCurve``, ``PhaseOneCurve``, ``ExactCurve``).

    A curve holds per-time arrays ``converged`` (bool), ``iterations`` (int) and ``residual`` (float, the
    point solver's residual, one meaning per solver); :attr:`value` is the dict of the arrays
    (``as_dict()``), :attr:`message` a one-line summary, :meth:`raise_if_failed` raises
    :class:`ConvergenceError` naming the times that did not converge.
    """

    @property
    def value(self) -> dict:
        return self.as_dict()

    @property
    def all_converged(self) -> bool:
        return bool(np.all(np.asarray(self.converged, dtype=bool)))

    @property
    def message(self) -> str:
        conv = np.asarray(self.converged, dtype=bool)
        if conv.all():
            return f"all {conv.size} times converged"
        bad = np.asarray(self.t, dtype=float)[~conv]
        return f"{bad.size} of {conv.size} times did not converge: t = " + ", ".join(f"{x:g}" for x in bad[:10])

    def raise_if_failed(self, what: str = "curve") -> "CurveResult":
        if not self.all_converged:
            raise ConvergenceError(f"{what}: {self.message}")
        return self


def check_finite(name: str, value) -> None:
    """Raise ``ConvergenceError`` if ``value`` holds NaN or inf (never return NaN silently)."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ConvergenceError(f"{name} produced a non-finite value: {value!r}")
