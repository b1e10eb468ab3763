"""flowphase.numerics — numba solvers fed by expressions generated from :mod:`flowphase.theory`.

The public API is listed in :data:`__all__` and imported lazily (PEP 562), so that importing one
solver does not compile the others.
"""
from importlib import import_module

_EXPORTS = {
    # shared results
    "SolverResult": "results", "ScalarResult": "results", "ConvergenceError": "results", "check_finite": "results",
    # quadrature and learned parameters (PAPER §3.1–3.4)
    "gauss_hermite": "quadrature", "gaussian_moments": "quadrature",
    "solve_phase_one": "phase_one", "phase_one_solution": "phase_one", "phase_one_curve": "phase_one",
    "phase_one_energy": "phase_one", "PhaseOneResult": "phase_one", "PhaseOneCurve": "phase_one", "Jump": "jumps",
    "phase_two_arrays": "phase_two", "phase_two_coefficients": "phase_two",
    "learned_parameters": "learned", "learned_curve": "learned", "LearnedParameters": "results",
    "LearnedCurve": "results",
    # Runge–Kutta engine (tableaus as data)
    "rk_solve": ("rk", "solve"), "Tableau": "rk", "TABLEAUS": "rk", "DOPRI5": "rk", "RK4": "rk", "EULER": "rk",
    "HEUN": "rk",
    # generated distribution (PAPER §3.5, §3.7)
    "generated_distribution": "generation", "GeneratedDistribution": "generation",
    "phase_one_transport": "generation", "phase_two_flow": "generation", "phase_two_closed_form": "generation",
    "undilated_mode_fraction": "generation", "bayes_euler_mode_fraction": "generation",
    "euler_threshold_fraction": "generation", "mode_fraction_table": "generation",
    "generated_along_flow": "generation",
    # MSE curve (PAPER §4)
    "mse_curve": "mse", "mse_at": "mse", "mse_jumps": "mse", "bayes_mse": "mse", "MSEJump": "mse",
    # Cui et al. and Biroli et al. (PREDECESSOR §2–4)
    "cui_flow": "cui", "cui_end_of_flow": "cui", "cui_learned": "cui", "cui_closed_form": "cui",
    "cui_bayes_optimal": "cui", "cui_point": "cui", "cui_flow_extremes": "cui",
    "speciation_time": "speciation", "speciation_time_linear": "speciation", "cloning_probability": "speciation",
    "collapse_time": "speciation", "collapse_time_linear": "speciation",
    # schedules and phase-transition detection (PAPER §4, §6)
    "PiecewiseSchedule": "schedules", "Window": "schedules", "design_schedule": "schedules",
    "schedule_from_json": "schedules", "LogNormalDensity": "schedules", "LogitNormalDensity": "schedules",
    "UniformDensity": "schedules", "LossWeight": "schedules", "TrainingObjective": "schedules",
    "detect_windows": "detect", "DetectedWindow": "detect", "read_curve_csv": "detect",
    # learning dynamics
    "integrate_overlaps": "dynamics", "iterate_gd_map": "dynamics", "stationary_point": "dynamics",
    "convergence_time": "dynamics", "initial_overlaps": "dynamics", "Trajectory": "results",
    "DynamicsParams": "dynamics", "dynamics_params": "dynamics",
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
