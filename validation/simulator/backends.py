"""The backend table: one entry per (engine, sampler), all with the signature ``run(xp, jobs, hyper, step0, n_steps)``.

Engines: ``'numba'`` (the kernels of :mod:`.dense_numba` and :mod:`.projected_numba`) and ``'array'``
(the NumPy/CuPy twins of :mod:`.dense_array` and :mod:`.projected_array`, used by the backends
``'numpy'`` and ``'cupy'``).  Samplers: ``'dense'`` (fresh noise, all n K d numbers, or fixed noise),
``'projected'`` (fresh noise, only what the step sees) and ``'expectation'`` (``draws=0``).

:class:`Jobs` holds the arrays of one run in the engine's array module (parameters and optimiser state are
updated in place); :class:`Hyper` the numbers every kernel takes.  :func:`jobs_for` builds the jobs of a
run from NumPy arrays, :func:`get_array_module` resolves ``xp``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np

from .config import MODEL_SIGN, MODEL_TANH, OPT_ADAM, OPT_GD

#: the threading settings that the timed runs (benchmarks/bench_epoch.py, the authors' full-size trainer) measured
#: with, applied here so that the library and the command line run at the documented speed: numba's OpenMP
#: workers otherwise spin between the parallel kernels and steal the cores of the BLAS products of a step (and of
#: the other users of a shared machine); measured 55 -> 40 ms CPU per seed-epoch on the shared 2-core machine.
#: libgomp reads it when numba's OpenMP pool starts, i.e. at the first parallel kernel, after this import; a
#: value set by the user (``OMP_WAIT_POLICY=active`` to measure spinning) is kept.
THREAD_SETTINGS = {"OMP_WAIT_POLICY": "PASSIVE"}


def apply_thread_settings() -> dict:
    """Set :data:`THREAD_SETTINGS` in ``os.environ`` where the user has not; returns the values in force."""
    for key, value in THREAD_SETTINGS.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in THREAD_SETTINGS}


apply_thread_settings()

__all__ = ["THREAD_SETTINGS", "apply_thread_settings", "Jobs", "Hyper", "BACKEND_TABLE", "engine_of", "get_array_module", "to_numpy", "jobs_for",
           "hyper_for", "evaluation_hyper"]


def get_array_module(backend: str, array_module=None):
    """Array module for a backend: numpy for ``'numpy'``, cupy for ``'cupy'``.

    ``array_module`` overrides the import (tests run the CuPy code path with NumPy standing in).
    """
    if backend == "numpy":
        return np if array_module is None else array_module
    if backend == "cupy":
        if array_module is not None:
            return array_module
        try:
            import cupy  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise ValueError("backend='cupy' needs cupy (pip install flowphase[gpu])") from exc
        return cupy
    raise ValueError(f"backend must be one of ('numba', 'numpy', 'cupy') for the array path, got {backend!r}")


def to_numpy(a):
    """A NumPy array from a NumPy or CuPy array."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


def engine_of(backend: str) -> str:
    return "numba" if backend == "numba" else "array"


@dataclass
class Jobs:
    """The arrays of one run (J = seeds x times jobs), in the engine's array module where marked ``xp``.

    ``x1`` (S, n, d) xp; ``fixed_x0`` (S, n, d) xp (fixed noise) or, for fresh noise, an unused (1, 1, 1) array (the kernels' fixed signature); ``basis``
    (QY, RY, YY) of :func:`.projected_numba.data_basis` (xp; projected sampler only); ``job_seed, job_tix``
    (J,) int64, ``seeds`` (S,) int64, ``alpha, beta`` (J,) float64 (NumPy); ``c, b`` (J,), ``u, w`` (J, d),
    ``state_s`` (J, 8), ``state_v`` (J, 4, d) (the Adam moments of u, w, in the storage dtype of u as in
    PyTorch), ``hist`` (J, R, 7), ``gnorm2`` (J,) xp; ``gq, wq``
    Gauss--Hermite nodes and normalised weights (NumPy; expectation only).
    """

    x1: Any
    fixed_x0: Any
    basis: Optional[tuple]
    job_seed: np.ndarray
    job_tix: np.ndarray
    seeds: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    c: Any
    b: Any
    u: Any
    w: Any
    state_s: Any
    state_v: Any
    hist: Any
    gnorm2: Any
    gq: np.ndarray
    wq: np.ndarray


@dataclass(frozen=True)
class Hyper:
    """Numbers of every training kernel (strict types: ints, floats and bools as the kernels are compiled)."""

    model: int
    optimizer: int
    K: int
    lr: float
    lr_final: float
    total_steps: int
    beta1: float
    beta2: float
    eps: float
    lam_u: float
    lam_w: float
    use_fixed: bool
    train_c: bool
    train_b: bool
    record_every: int
    job_chunk: Optional[int] = None


def hyper_for(cfg) -> Hyper:
    """:class:`Hyper` of a :class:`.config.SimulationConfig`."""
    tr = cfg.problem.training
    return Hyper(model=MODEL_TANH if cfg.model == "tanh" else MODEL_SIGN,
                 optimizer=OPT_ADAM if cfg.optimizer == "adam" else OPT_GD, K=int(cfg.draws), lr=float(cfg.lr),
                 lr_final=float(cfg.lr_final), total_steps=int(cfg.epochs), beta1=float(cfg.betas[0]),
                 beta2=float(cfg.betas[1]), eps=float(cfg.eps), lam_u=float(tr.lam_u), lam_w=float(tr.lam_w),
                 use_fixed=cfg.noise == "fixed", train_c=bool(cfg.train_c), train_b=bool(cfg.train_b),
                 record_every=int(cfg.record_every), job_chunk=cfg.job_chunk)


def evaluation_hyper(hp: Hyper) -> Hyper:
    """The hyperparameters of the gradient evaluation at the final parameters (step ``total_steps``).

    lr = 0 leaves the parameters unchanged (Adam: ``c - 0 * step``; GD: ``c - 0 * g``); ``record_every =
    total_steps + 1`` writes no record (``total_steps % (total_steps + 1) != 0``).
    """
    return replace(hp, lr=0.0, lr_final=0.0, record_every=hp.total_steps + 1)


def jobs_for(xp, sampler: str, x1, fixed_x0, job_seed, job_tix, seeds, alpha, beta, c, b, u, w, n_records,
             quad_nodes: int) -> Jobs:
    """The :class:`Jobs` of a run, arrays moved to ``xp`` (zero optimiser state and history)."""
    J, d = u.shape
    basis = None
    if sampler == "projected":
        from .projected_numba import data_basis

        QY, RY, YY = data_basis(x1)
        basis = (xp.asarray(QY.astype(u.dtype)), xp.asarray(RY), xp.asarray(YY))
    gq, wq = np.polynomial.hermite_e.hermegauss(int(quad_nodes))
    return Jobs(x1=xp.asarray(x1), fixed_x0=xp.asarray(fixed_x0), basis=basis,
                job_seed=np.ascontiguousarray(job_seed, dtype=np.int64),
                job_tix=np.ascontiguousarray(job_tix, dtype=np.int64),
                seeds=np.ascontiguousarray(seeds, dtype=np.int64), alpha=np.ascontiguousarray(alpha, dtype=np.float64),
                beta=np.ascontiguousarray(beta, dtype=np.float64), c=xp.asarray(c), b=xp.asarray(b),
                u=xp.asarray(u), w=xp.asarray(w), state_s=xp.zeros((J, 8)), state_v=xp.zeros((J, 4, d), dtype=u.dtype),
                hist=xp.zeros((J, int(n_records), 7)), gnorm2=xp.zeros(J), gq=gq, wq=wq / wq.sum())


# ============================================================================ the entries
def _numba_dense(xp, jb: Jobs, hp: Hyper, step0: int, n_steps: int) -> None:
    from .dense_numba import train_kernel

    train_kernel(jb.x1, jb.fixed_x0, jb.job_seed, jb.job_tix, jb.seeds, jb.alpha, jb.beta, jb.c, jb.b, jb.u, jb.w,
                 jb.state_s, jb.state_v, hp.model, hp.optimizer, hp.K, int(step0), int(n_steps), hp.lr, hp.lr_final,
                 hp.total_steps, hp.beta1, hp.beta2, hp.eps, hp.lam_u, hp.lam_w, hp.use_fixed, hp.train_c,
                 hp.train_b, hp.record_every, jb.hist, jb.gnorm2)


def _numba_projected(xp, jb: Jobs, hp: Hyper, step0: int, n_steps: int) -> None:
    from . import projected_numba

    projected_numba.train_projected(
        jb.x1, jb.basis, jb.job_seed, jb.job_tix, jb.seeds, jb.alpha, jb.beta, jb.c, jb.b, jb.u, jb.w, jb.state_s,
        jb.state_v, model=hp.model, optimizer=hp.optimizer, K=hp.K, step0=int(step0), n_steps=int(n_steps),
        lr=hp.lr, lr_decay_to=hp.lr_final, total_steps=hp.total_steps, beta1=hp.beta1, beta2=hp.beta2, eps=hp.eps,
        lam_u=hp.lam_u, lam_w=hp.lam_w, use_fixed=hp.use_fixed, train_c=hp.train_c, train_b=hp.train_b,
        record_every=hp.record_every, hist=jb.hist, gnorm2=jb.gnorm2)


def _numba_expectation(xp, jb: Jobs, hp: Hyper, step0: int, n_steps: int) -> None:
    from .dense_numba import train_expected_kernel

    train_expected_kernel(jb.x1, jb.job_seed, jb.alpha, jb.beta, jb.c, jb.b, jb.u, jb.w, jb.state_s, jb.state_v,
                          jb.gq, jb.wq, hp.optimizer, int(step0), int(n_steps), hp.lr, hp.lr_final, hp.total_steps,
                          hp.beta1, hp.beta2, hp.eps, hp.lam_u, hp.lam_w, hp.train_c, hp.train_b, hp.record_every,
                          jb.hist, jb.gnorm2)


def _array_dense(xp, jb: Jobs, hp: Hyper, step0: int, n_steps: int) -> None:
    from .dense_array import train_array

    train_array(xp, jb.x1, jb.fixed_x0, jb.job_seed, jb.job_tix, jb.seeds, jb.alpha, jb.beta, jb.c, jb.b, jb.u,
                jb.w, jb.state_s, jb.state_v, model=hp.model, optimizer=hp.optimizer, K=hp.K, step0=int(step0),
                n_steps=int(n_steps), lr=hp.lr, lr_decay_to=hp.lr_final, total_steps=hp.total_steps, beta1=hp.beta1,
                beta2=hp.beta2, eps=hp.eps, lam_u=hp.lam_u, lam_w=hp.lam_w, use_fixed=hp.use_fixed,
                train_c=hp.train_c, train_b=hp.train_b, record_every=hp.record_every, hist=jb.hist, gnorm2=jb.gnorm2,
                job_chunk=hp.job_chunk)


def _array_projected(xp, jb: Jobs, hp: Hyper, step0: int, n_steps: int) -> None:
    from .projected_array import train_projected_array

    train_projected_array(xp, jb.x1, jb.basis, jb.job_seed, jb.job_tix, jb.seeds, jb.alpha, jb.beta, jb.c, jb.b,
                          jb.u, jb.w, jb.state_s, jb.state_v, model=hp.model, optimizer=hp.optimizer, K=hp.K,
                          step0=int(step0), n_steps=int(n_steps), lr=hp.lr, lr_decay_to=hp.lr_final,
                          total_steps=hp.total_steps, beta1=hp.beta1, beta2=hp.beta2, eps=hp.eps, lam_u=hp.lam_u,
                          lam_w=hp.lam_w, use_fixed=hp.use_fixed, train_c=hp.train_c, train_b=hp.train_b,
                          record_every=hp.record_every, hist=jb.hist, gnorm2=jb.gnorm2, job_chunk=hp.job_chunk)


def _array_expectation(xp, jb: Jobs, hp: Hyper, step0: int, n_steps: int) -> None:
    from .dense_array import train_expected_array

    train_expected_array(xp, jb.x1, jb.job_seed, jb.alpha, jb.beta, jb.c, jb.b, jb.u, jb.w, jb.state_s, jb.state_v,
                         jb.gq, jb.wq, optimizer=hp.optimizer, step0=int(step0), n_steps=int(n_steps), lr=hp.lr,
                         lr_decay_to=hp.lr_final, total_steps=hp.total_steps, beta1=hp.beta1, beta2=hp.beta2,
                         eps=hp.eps, lam_u=hp.lam_u, lam_w=hp.lam_w, train_c=hp.train_c, train_b=hp.train_b,
                         record_every=hp.record_every, hist=jb.hist, gnorm2=jb.gnorm2)


#: (engine, sampler) -> run(xp, jobs, hyper, step0, n_steps), training ``n_steps`` steps from global step ``step0``
BACKEND_TABLE = {
    ("numba", "dense"): _numba_dense,
    ("numba", "projected"): _numba_projected,
    ("numba", "expectation"): _numba_expectation,
    ("array", "dense"): _array_dense,
    ("array", "projected"): _array_projected,
    ("array", "expectation"): _array_expectation,
}
