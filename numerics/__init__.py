"""flowphase.numerics — numba solvers fed by expressions generated from :mod:`flowphase.theory`.

The public API is listed in :data:`__all__` and imported lazily (PEP 562), so that importing one
solver does not compile the others; everything else is reached through its module
(``flowphase.numerics.phase_one``, ``flowphase.numerics.exact``, ``flowphase.numerics.dynamics``, ...).
"""
from importlib import import_module

_EXPORTS = {
    # the two theories as strategies, the methods of their dynamics, and the records they return
    "PaperAnsatz": "theories", "ExactFiniteN": "theories", "GradientFlow": "theories",
    "GradientDescent": "theories", "Adam": "theories", "theory_from_name": "theories", "default_theory": "theories",
    "SolverResult": "results", "ScalarResult": "results", "ConvergenceError": "results", "LearnedParameters": "results",
    "LearnedCurve": "results", "Trajectory": "results", "Jump": "jumps",
    # the same by the command line's theory name
    "learned_parameters": "learned", "learned_curve": "learned",
    # Runge–Kutta engine (tableaus as data)
    "rk_solve": ("rk", "solve"), "Tableau": "rk", "TABLEAUS": "rk",
    # generated distribution (PAPER §3.5, §3.7)
    "generated_distribution": "generation", "GeneratedStatistics": "results",
    # MSE curve (PAPER §4)
    "mse_curve": "mse", "mse_at": "mse", "mse_jumps": "mse", "bayes_mse": "mse",
    # Cui et al. and Biroli et al. (PREDECESSOR §2–4)
    "cui_flow": "cui", "cui_learned": "cui", "cui_bayes_optimal": "cui",
    "speciation_time": "speciation", "cloning_probability": "speciation", "collapse_time": "speciation",
    # schedules and phase-transition detection (PAPER §4, §6)
    "PiecewiseSchedule": "schedules", "design_schedule": "schedules", "detect_windows": "detect",
    "DetectedWindow": "detect",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mod, attr = (target, name) if isinstance(target, str) else target
    value = getattr(import_module(f"{__name__}.{mod}"), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
