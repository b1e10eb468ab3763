"""Finite-d simulator of the paper's training protocol (PAPER §2).

Modules, one concern each:

* :mod:`.config` -- :class:`SimulationConfig`, every option validated once and frozen (each field documented
  there with its range and default: the reference of :func:`simulate`'s options);
* :mod:`.driver` -- :func:`simulate` (the keyword front) and :func:`run` (a configuration): the one trainer of
  the package, checkpointed and resumable (``checkpoint=``), divergence a ``ConvergenceError`` naming the step;
* :mod:`.backends` -- the backend table ``(engine, sampler) -> run(xp, jobs, hyper, step0, n_steps)``;
* :mod:`.dense_numba`, :mod:`.projected_numba` -- numba training kernels (dense / fixed noise, exact
  expectation; projected fresh-noise sampler); :mod:`.dense_array`, :mod:`.projected_array` -- their
  NumPy/CuPy twins;
* :mod:`.update` -- learning-rate schedule, Adam / GD step and records, once per engine (also used by the
  K-head softmax simulator);
* :mod:`.rng` -- counter-based random numbers (splitmix64 keys, Box--Muller, ziggurat, Gamma);
* :mod:`.inputs` -- training data and initial parameters, drawn or given; NPZ export;
* :mod:`.canonical` -- the sign canonicalisation ``m + omega >= 0``;
* :mod:`.result` -- :class:`SimulationResult` (with the stationarity diagnostic ``grad_norm``);
* :mod:`.sampling_kernels` -- generation (probability-flow ODE) kernels used by ``validation.sampling``.

Importing the package does not import numba; the kernels compile (``cache=True``) on first use.
"""
from .canonical import canonical_sign, canonicalise_overlaps, canonicalise_params, sign_degenerate
from .config import (BACKENDS, INITS, MAX_EPOCHS, MAX_SEEDS, MODELS, NOISE_SAMPLERS, OPTIMIZERS, OVERLAP_NAMES,
                     SimulationConfig, resolve_problem)
from .backends import get_array_module, to_numpy
from .driver import run, simulate
from .inputs import DATA_STREAM, INIT_STREAM, draw_init, load_npz, save_npz, setup_data_and_init
from .result import SimulationResult

__all__ = ["simulate", "run", "SimulationConfig", "SimulationResult", "resolve_problem", "get_array_module",
           "to_numpy", "OVERLAP_NAMES", "BACKENDS", "INITS", "MODELS", "OPTIMIZERS", "NOISE_SAMPLERS", "MAX_EPOCHS",
           "MAX_SEEDS", "canonical_sign", "canonicalise_overlaps", "canonicalise_params", "sign_degenerate",
           "DATA_STREAM", "INIT_STREAM", "draw_init", "setup_data_and_init", "save_npz", "load_npz"]
