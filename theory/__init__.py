"""flowphase.theory — problem definitions, schedules, sympy derivations and closed forms (no numba).

The sympy derivation modules (``derivations``, ``flow``, ``dynamics``) are imported on demand;
the problem description and the closed forms are re-exported here.
"""
from .closed_forms import (
    bayes_denoiser,
    cui_learned_parameters,
    phase_one_population,
    phase_two_ridge,
)
from .problem import (
    NOISE_CONVENTIONS,
    CustomInterpolant,
    Interpolant,
    LinearInterpolant,
    Mixture,
    Problem,
    Schedule,
    TimeDilation,
    TrainingSetup,
    TrigonometricInterpolant,
    UniformSchedule,
    lambda_to_weight_decay,
    log_odds,
    weight_decay_to_lambda,
)

__all__ = [
    "NOISE_CONVENTIONS", "CustomInterpolant", "Interpolant", "LinearInterpolant", "Mixture", "Problem", "Schedule",
    "TimeDilation", "TrainingSetup", "TrigonometricInterpolant", "UniformSchedule", "lambda_to_weight_decay",
    "log_odds", "weight_decay_to_lambda", "bayes_denoiser", "cui_learned_parameters", "phase_one_population",
    "phase_two_ridge",
]
