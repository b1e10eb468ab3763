"""flowphase.theory — problem definitions, schedules, sympy derivations and closed forms (no numba).

Public API is re-exported here; implementation lives in small private-ish modules.
"""
from .problem import (  # noqa: F401
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
