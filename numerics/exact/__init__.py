"""Exact finite-n theory (d -> inf at fixed n, fresh noise; EXACT_FINITE_N.md): solver and generated flow.

Public API: :func:`solve_exact`, :func:`exact_curve` (learned overlaps at one time / along t, at d = inf or
evaluated at a finite d), :class:`ExactParameters`, :class:`ExactCurve`, :func:`time_coefficients`.
"""
from .solver import (  # noqa: F401
    FIELDS,
    ExactCurve,
    ExactJump,
    ExactParameters,
    default_n_plus,
    exact_curve,
    exact_energy,
    solve_exact,
    time_coefficients,
)

__all__ = ["FIELDS", "ExactCurve", "ExactJump", "ExactParameters", "default_n_plus", "exact_curve", "exact_energy",
           "solve_exact", "time_coefficients"]
