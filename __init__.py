"""flowphase — analytic theory of phase-aware training schedules for flow-based generative models.

``import flowphase as fp`` gives the user's API (:data:`__all__`); everything else is reached through the
sub-packages ``flowphase.theory`` (problems, densities, sympy derivations; no numba), ``flowphase.numerics``
(numba solvers) and ``flowphase.validation`` (simulator, comparisons, figures, command line).  Names are imported
on first use (PEP 562), so ``import flowphase`` and ``flowphase.__version__`` stay cheap.

>>> import flowphase as fp
>>> pr = fp.Problem.dilated(p=0.8, kappa=2.0, n=128)
>>> fp.ExactFiniteN(d=1000).curve(pr, [0.5, 1.5]).m            # doctest: +SKIP
"""
__version__ = "0.2.0"

from importlib import import_module as _import_module

#: public name -> module (relative to the package) that defines it
_API = {
    # the problem: mixture, interpolant, schedule, training set
    "Problem": "theory.problem", "Mixture": "theory.problem", "TrainingSetup": "theory.problem",
    "TimeDilation": "theory.problem", "UniformSchedule": "theory.problem",
    "LinearInterpolant": "theory.problem", "TrigonometricInterpolant": "theory.problem",
    "CustomInterpolant": "theory.problem", "weight_decay_to_lambda": "theory.problem",
    "OVERLAP_NAMES": "theory.records",
    # the two theories (strategies), the methods of the dynamics, their results
    "PaperAnsatz": "numerics.theories", "ExactFiniteN": "numerics.theories", "theory_from_name": "numerics.theories",
    "GradientFlow": "numerics.theories", "GradientDescent": "numerics.theories", "Adam": "numerics.theories",
    "LearnedParameters": "numerics.results", "LearnedCurve": "numerics.results", "Trajectory": "numerics.results",
    "GeneratedStatistics": "numerics.results",
    "SolverResult": "numerics.results", "ConvergenceError": "numerics.results", "Jump": "numerics.jumps",
    # training-time densities and schedules, phase-transition detection
    "Density": "theory.densities", "Uniform": "theory.densities", "LogitNormal": "theory.densities",
    "EDMLogNormal": "theory.densities", "ModeSampling": "theory.densities", "CosMap": "theory.densities",
    "Beta": "theory.densities", "ResolutionShift": "theory.densities", "Windows": "theory.densities",
    "Dilation": "theory.densities", "MixtureDensity": "theory.densities", "PhaseAware": "theory.densities",
    "phase_aware": "theory.densities", "parse_density": "theory.densities",
    "detect_windows": "numerics.detect", "DetectedWindow": "numerics.detect",
    "mse_curve": "numerics.mse", "load_schedule": "numerics.schedules",
    # the atlas: how well a density's grid keeps the mode weights (theory ranks densities)
    "evaluate_density": "numerics.atlas", "TwoMode": "numerics.atlas", "KMode": "numerics.atlas",
    # simulation at finite d, theory against simulation, the paper's figures
    "simulate": "validation.simulator", "SimulationConfig": "validation.simulator",
    "SimulationResult": "validation.simulator", "compare": "validation.compare",
    "ComparisonTable": "validation.compare", "reproduce": "validation.reproduce",
    "predict_from_run": "validation.authors_prediction",
}

#: public names bound to a differently named object of their module
_RENAMED = {"evaluate_density": "evaluate"}

__all__ = sorted(_API)


def __getattr__(name):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(f"{__name__}.{module}"), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
