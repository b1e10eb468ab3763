"""flowphase.validation — finite-d simulator, theory-vs-simulation comparisons, figures, sweeps, CLI.

Public API in :data:`__all__`, imported lazily (PEP 562) so that the CLI starts fast.
"""
from importlib import import_module
from importlib.util import find_spec

# ``simulate`` is bound eagerly (the simulator lives in the package ``simulator``, so no sub-module is
# named ``simulate``); every other public name of a sub-module is bound lazily and never under a
# sub-module's own name, so that ``flowphase.validation.compare`` and ``flowphase.validation.reproduce``
# are the modules
from .simulator import simulate  # noqa: E402,F401

_EXPORTS = {
    "SimulationResult": "simulator", "SimulationConfig": "simulator", "save_npz": "simulator",
    "load_npz": "simulator",
    "generate": "sampling", "generate_bayes": "sampling", "generate_from_params": "sampling",
    "generated_statistics": "sampling", "GenerationResult": "sampling",
    "ComparisonTable": "compare", "paired_comparison": "pairing",
    "tolerance": "tolerances", "agrees": "tolerances", "TOLERANCES": "tolerances",
    "FIGURES": "reproduce", "Claim": "claims", "FigureOutput": "claims",
    "run_sweep": "sweep", "load_spec": "sweep", "parse_spec": "sweep", "collect": "sweep", "SpecError": "sweep",
    "compare_dynamics": "dynamics_compare", "compare_with_simulator": "dynamics_compare",
    "compare_exact_with_simulator": "exact_dynamics_compare",
    "compare_adam_with_simulator": "exact_adam_compare",
    "run_uturn": "uturn", "load_imbalanced_digits": "digits", "train_denoiser": "digits",
    "train_classifier": "digits", "load_mnist": "mnist_idx",
    "PROTOCOLS": "protocols", "resolve_protocol": "protocols",
}

__all__ = sorted(set(_EXPORTS) | {"simulate"})


def __getattr__(name):
    mod = _EXPORTS.get(name)
    if mod is None:
        if name.startswith("__") or find_spec(f"{__name__}.{name}") is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return import_module(f"{__name__}.{name}")     # a sub-module (binds itself on import)
    value = getattr(import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
