"""Exact finite-n theory (d -> inf at fixed n, fresh noise; EXACT_FINITE_N): solver and generated flow.

Public API: :func:`solve_exact`, :func:`exact_curve` (learned overlaps at one time / along t, at d = inf or
evaluated at a finite d), :class:`ExactParameters`, :class:`ExactCurve`, :func:`time_coefficients`;
:func:`generated_flow` (generated distribution of a learned field, EXACT_FINITE_N §5; imported on demand from
:mod:`.flow`).
"""
from .solver import (  # noqa: F401
    FIELDS,
    ExactCurve,
    ExactParameters,
    default_n_plus,
    exact_curve,
    exact_energy,
    solve_exact,
    time_coefficients,
)

def __getattr__(name):
    if name == "generated_flow":
        from . import flow

        return getattr(flow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["generated_flow", "FIELDS", "ExactCurve", "ExactParameters", "default_n_plus", "exact_curve", "exact_energy",
           "solve_exact", "time_coefficients"]
