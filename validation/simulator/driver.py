"""Finite-d simulator: train the paper's per-time denoisers on n data points (PAPER §2).

At every time t of a grid an independent denoiser ``f_t(x) = c x + u tanh(w.x/sqrt(d) + b)``
(PAPER §2.1), or Cui et al.'s tied sign model ``f_t(x) = c x + w sign(w.x/sqrt(d))``
(PREDECESSOR §1.3), is trained on the **same** n fixed data points ``x1 = s mu + sigma eta``
(PAPER §1.1) by minimising, in theory units (PAPER §2.3),

    L_t = (1/K) sum_{nu, k} |f_t(alpha_t x0^{nu k} + beta_t x1^nu) - x1^nu|^2 / d
          + (lam_u |u|^2 + lam_w |w|^2) / d,

i.e. the expected loss over fresh noise estimated with K new draws per point and step
(``noise='fresh'``, the authors' code) or with one fixed ``x0^nu`` per point shared by all t
(``noise='fixed'``, Cui et al.).  ``lam`` has exactly the meaning it has in the theory; a
PyTorch-style coupled weight decay ``wd`` on the authors' loss ``n * MSELoss`` corresponds to
``lam = wd * d * T / 2`` (:func:`flowphase.theory.problem.weight_decay_to_lambda`; PAPER §2.3).

All (seed, time) pairs are independent problems trained together: :func:`run` takes a frozen
:class:`.config.SimulationConfig`, draws or takes the inputs (:mod:`.inputs`), runs the entry of the
backend table (:mod:`.backends`) chunk by chunk, checks for divergence, evaluates the gradient at the
final parameters (the stationarity diagnostic) and canonicalises the sign (:mod:`.canonical`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from flowphase.theory.checks import check_memory
from flowphase.numerics.results import ConvergenceError, check_finite
from flowphase.theory.problem import Problem

from .backends import BACKEND_TABLE, engine_of, evaluation_hyper, get_array_module, hyper_for, jobs_for, to_numpy
from .config import SimulationConfig
from .result import SimulationResult

__all__ = ["simulate", "run", "DIVERGED_OVERLAP", "DIVERGED_LOSS_GROWTH", "FIXED_NOISE_STEP"]

#: noise-counter value reserved for the fixed x0 (never a training step)
FIXED_NOISE_STEP = 2 ** 62
#: divergence thresholds: a trained overlap beyond this size, or a loss that grew
#: by this factor over the initial one, means the optimiser ran away (lr too large)
DIVERGED_OVERLAP = 1e6
DIVERGED_LOSS_GROWTH = 100.0


def _check_divergence(c, b, u, w, hist, d, lr, record_every: int = 1, epochs: int = 0) -> None:
    """Raise ``ConvergenceError`` if training diverged: non-finite parameters, absurd overlaps or a loss that grew.

    Healthy runs have O(1) overlaps (|c|, |u.mu|/d, |w|/sqrt(d) bounded by the data scale and the
    ridge) and a loss that does not exceed its initial value by orders of magnitude.  The message names the
    first recorded step at which a record shows it (or the last step when no record does).
    """
    for name, arr in (("c", c), ("b", b), ("u", u), ("w", w)):
        if not np.all(np.isfinite(arr)):
            raise ConvergenceError(f"simulate: training diverged ({name} non-finite) by step {epochs}; "
                                   f"lower lr (now {lr})")
    big = max(float(np.max(np.abs(c))), float(np.sqrt(np.max((u.astype(float) ** 2).sum(1)) / d)),
              float(np.sqrt(np.max((w.astype(float) ** 2).sum(1)) / d)))
    loss0, loss1 = hist[:, 0, 6], hist[:, -1, 6]
    grown = bool(np.any(~np.isfinite(loss1))) or bool(np.any(loss1 > DIVERGED_LOSS_GROWTH * np.maximum(loss0, 1.0)))
    if not big <= DIVERGED_OVERLAP or grown:
        with np.errstate(invalid="ignore", over="ignore"):
            bad = (~np.isfinite(hist).all(axis=2)) | (np.abs(hist[:, :, :6]) > DIVERGED_OVERLAP).any(axis=2) \
                | (hist[:, :, 6] > DIVERGED_LOSS_GROWTH * np.maximum(loss0, 1.0)[:, None])
        recs = np.nonzero(bad.any(axis=0))[0]
        step = int(recs[0]) * record_every if recs.size else epochs
        raise ConvergenceError(f"simulate: training diverged at step {step} (largest overlap {big:.3g}, final/initial "
                               f"loss {float(np.max(loss1 / np.maximum(loss0, 1.0))):.3g}); lower lr (now {lr})")


def _checkpoint_key(cfg: SimulationConfig, data, init_params) -> str:
    """What a checkpoint must match to be resumed: every option that changes the numbers, and given inputs."""
    import hashlib
    import json

    rec = dict(cfg.to_dict(), problem=cfg.problem.to_dict(), ts=list(cfg.ts), seeds=list(cfg.seeds),
               sampler=cfg.sampler, model=cfg.model)
    h = hashlib.sha256(json.dumps(rec, sort_keys=True, default=str).encode())
    for given in (data, init_params):
        if isinstance(given, dict):
            for k in sorted(given):
                h.update(k.encode())
                h.update(np.ascontiguousarray(np.asarray(given[k], dtype=np.float64)).tobytes())
        elif given is not None:
            for a in given:
                h.update(np.ascontiguousarray(np.asarray(a, dtype=np.float64)).tobytes())
    return h.hexdigest()[:16]


def _bounds(cfg: SimulationConfig, checkpointing: bool) -> list:
    """Step boundaries of the kernel calls: chunks (progress, Ctrl-C, divergence checks) and checkpoints."""
    epochs, work = cfg.epochs, cfg.work
    progress = work > 1e10 if cfg.progress is None else cfg.progress
    if cfg.step_chunk is not None:
        cuts = set(range(0, epochs, cfg.step_chunk))
    else:
        # a numba kernel cannot be interrupted: long runs are split into pieces of ~1e9 coordinate updates
        n_chunks = min(epochs, 100) if progress else int(min(epochs, 100, max(1.0, work / 1e9)))
        cuts = set(np.linspace(0, epochs, n_chunks + 1).astype(int).tolist())
    if checkpointing:
        cuts |= set(range(0, epochs, cfg.checkpoint_every))
    return sorted(cuts | {0, epochs})


def _first_nonfinite_epoch(xp, jobs, cfg: SimulationConfig, a0: int, a1: int) -> Optional[int]:
    """None if every parameter is finite after step ``a1``; else the first recorded step (in [a0, a1]) with a
    non-finite loss or overlap, or ``a1`` when no record in the chunk shows it yet."""
    if all(bool(xp.all(xp.isfinite(a))) for a in (jobs.c, jobs.b, jobs.u, jobs.w)):
        return None
    hist = to_numpy(jobs.hist)
    for r in range(-(-a0 // cfg.record_every), min(hist.shape[1], (a1 - 1) // cfg.record_every + 1)):
        if not np.all(np.isfinite(hist[:, r, :])):
            return r * cfg.record_every
    return a1


def _save_checkpoint(path, key, jobs, epoch: int) -> None:
    import io

    from flowphase.validation._io import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, key=np.array(key), epoch=np.array(epoch),
             **{k: to_numpy(getattr(jobs, k)) for k in ("c", "b", "u", "w", "state_s", "state_v", "hist")})
    atomic_write_bytes(path, buf.getvalue())


def _load_checkpoint(path, key, xp, jobs) -> int:
    """Restore the training state of ``jobs`` from ``path`` (same configuration) and return its step.

    Shapes are checked from the file's headers before anything is decompressed; a damaged file is one
    ``ValueError`` naming it and the fix (:func:`.inputs.read_npz`)."""
    from .inputs import read_npz

    names = ("c", "b", "u", "w", "state_s", "state_v", "hist")
    fix = f"remove {path} to start the run over"
    head = read_npz(path, ("key", "epoch"), what="checkpoint", shapes={"key": [()], "epoch": [()]}, fix=fix)
    if str(head["key"]) != key:
        raise ValueError(f"checkpoint {path} holds another configuration; remove it or choose another path")
    z = read_npz(path, names, what="checkpoint", shapes={k: [tuple(getattr(jobs, k).shape)] for k in names}, fix=fix)
    for k in names:
        setattr(jobs, k, xp.asarray(z[k].astype(getattr(jobs, k).dtype)))
    return int(head["epoch"])


def run(cfg: SimulationConfig, *, data=None, init_params=None, array_module=None, checkpoint=None) -> SimulationResult:
    """Train a validated configuration: the one trainer of the package.

    Every training of the paper's model (the figures, :func:`flowphase.validation.compare.compare`, the sweeps,
    the authors' full-size run of :mod:`flowphase.validation.authors_paper`) runs here.

    Parameters
    ----------
    cfg : SimulationConfig
        Every option (:meth:`SimulationConfig.create`).
    data, init_params, array_module
        As in :func:`simulate` (must match what ``cfg`` was created with).
    checkpoint : path-like, optional
        Resumable training: the state (parameters, optimiser moments, history, step) is written atomically to
        this file every ``cfg.checkpoint_every`` steps, and a run started again with the same configuration
        continues from it, bitwise equal to an uninterrupted run.  A file of another configuration is a
        ``ValueError``.  ``result.config['resumed_from']`` records the step it continued from.

    Raises
    ------
    ConvergenceError
        Training diverged (non-finite parameters: the message names the step; exploding overlaps or loss).
    """
    if not isinstance(cfg, SimulationConfig):
        raise ValueError("cfg must be a SimulationConfig (build it with SimulationConfig.create)")
    if cfg.given_data != (data is not None) or cfg.given_init != (init_params is not None):
        raise ValueError("data / init_params must be the ones the configuration was created with")
    problem, d, n = cfg.problem, cfg.d, cfg.n
    ts, seeds = cfg.times, list(cfg.seeds)
    S, T = len(seeds), len(ts)
    J = S * T
    n_rec = cfg.n_records
    dtype = np.dtype(cfg.dtype)
    # data (S n d), parameters and Adam state (~7 J d) and the history, before anything is allocated
    check_memory(8.0 * (S * n * d + 7.0 * J * d + J * n_rec * 7), "simulate")
    alpha_t, beta_t, _, _ = problem.coefficients(ts)
    alpha_t = np.broadcast_to(np.asarray(alpha_t, dtype=float), (T,))
    beta_t = np.broadcast_to(np.asarray(beta_t, dtype=float), (T,))
    lam = problem.training.lam_u if cfg.model == "tanh" else problem.training.lam_w

    from .inputs import setup_data_and_init
    from .rng import noise_rows

    x1, s_lab, c, b, u, w, input_record = setup_data_and_init(
        problem, seeds, T, labels=cfg.labels, init=cfg.init, init_scale=cfg.init_scale, model=cfg.model, lam=lam,
        dtype=dtype, data=data, init_params=init_params)
    if cfg.noise == "fixed":
        fixed_x0 = np.stack([noise_rows(np, [sd], FIXED_NOISE_STEP, [0], np.arange(n), d)[0] for sd in seeds])
        fixed_x0 = fixed_x0.astype(dtype)
    else:
        fixed_x0 = np.zeros((1, 1, 1), dtype=dtype)
    engine = engine_of(cfg.backend)
    xp = np if engine == "numba" else get_array_module(cfg.backend, array_module)
    jobs = jobs_for(xp, cfg.sampler, x1, fixed_x0, np.repeat(np.arange(S, dtype=np.int64), T),
                    np.tile(np.arange(T, dtype=np.int64), S), np.asarray(seeds, dtype=np.int64),
                    np.tile(alpha_t, S).astype(np.float64), np.tile(beta_t, S).astype(np.float64), c, b, u, w,
                    n_rec, cfg.quad_nodes)
    step_fn = BACKEND_TABLE[(engine, cfg.sampler)]
    hp = hyper_for(cfg)
    epochs = cfg.epochs
    ckpt = None if checkpoint is None else Path(checkpoint)
    key = None if ckpt is None else _checkpoint_key(cfg, data, init_params)
    start = _load_checkpoint(ckpt, key, xp, jobs) if ckpt is not None and ckpt.exists() else 0
    saves = set(range(cfg.checkpoint_every, epochs + 1, cfg.checkpoint_every)) | {epochs} if ckpt else set()
    progress = cfg.work > 1e10 if cfg.progress is None else cfg.progress
    bounds = sorted(set(_bounds(cfg, ckpt is not None)) | {start})     # a checkpoint of another period resumes too
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs, initial=start, disable=not progress, desc=f"simulate d={d} n={n} J={J}", unit="step")
    with np.errstate(over="ignore"):            # uint64 hashing wraps by design
        for a0, a1 in zip(bounds[:-1], bounds[1:]):
            if a1 <= start:
                continue
            step_fn(xp, jobs, hp, int(a0), int(a1 - a0))
            bar.update(int(a1 - a0))
            bad = _first_nonfinite_epoch(xp, jobs, cfg, a0, a1)
            if bad is not None:
                bar.close()
                raise ConvergenceError(f"simulate: training diverged (non-finite parameters) at step {bad} "
                                       f"(checked after step {a1}); lower lr (now {cfg.lr})")
            if a1 in saves:
                _save_checkpoint(ckpt, key, jobs, a1)
    bar.close()
    c, b, u, w, hist = (to_numpy(a) for a in (jobs.c, jobs.b, jobs.u, jobs.w, jobs.hist))
    _check_divergence(c, b, u, w, hist, d, cfg.lr, cfg.record_every, epochs)
    # stationarity: the gradient at the final parameters (one step with lr = 0, :func:`.backends.evaluation_hyper`)
    with np.errstate(over="ignore"):
        step_fn(xp, jobs, evaluation_hyper(hp), epochs, 1)
    grad_norm = np.sqrt(to_numpy(jobs.gnorm2).astype(np.float64))

    # sign canonicalisation m + omega >= 0: flip (u, w, b) together (tanh odd; PAPER §2.2, .canonical)
    from .canonical import canonicalise_overlaps, canonicalise_params, sign_degenerate

    b, u, w, _ = canonicalise_params(b, u, w)
    ov = np.stack([c.astype(float), u.mean(axis=1, dtype=np.float64), w.mean(axis=1, dtype=np.float64),
                   b.astype(float), np.sqrt((u.astype(float) ** 2).sum(1) / d),
                   np.sqrt((w.astype(float) ** 2).sum(1) / d)], axis=1)
    canonicalise_overlaps(hist)
    check_finite("simulate overlaps", ov)
    config = dict(cfg.to_dict(), **input_record, noise_sampler=cfg.sampler)
    if ckpt is not None:
        config.update(checkpoint=str(ckpt), checkpoint_every=cfg.checkpoint_every, resumed_from=start)
    result = SimulationResult(problem=problem, ts=ts, seeds=seeds, overlaps=ov.reshape(S, T, 6),
                              history=hist.reshape(S, T, n_rec, 7),
                              record_steps=np.arange(n_rec) * cfg.record_every, config=config,
                              sign_degenerate=sign_degenerate(ov[:, 1], ov[:, 2], ov[:, 4], ov[:, 5], d).reshape(S, T),
                              grad_norm=grad_norm.reshape(S, T))
    if cfg.keep_params:
        result.params = {"c": c.reshape(S, T), "b": b.reshape(S, T), "u": u.reshape(S, T, d),
                         "w": w.reshape(S, T, d)}
        result.data = {"x1": x1, "s": s_lab}
    return result


def simulate(problem: Problem, *, d: Optional[int] = None, n: Optional[int] = None,
             ts: Optional[Sequence[float]] = None, seeds: Sequence[int] = (0,), data=None, init_params=None,
             array_module=None, checkpoint=None, **options) -> SimulationResult:
    """Train independent finite-d denoisers at the times ``ts`` for every seed (PAPER §2.1–2.3).

    A thin front: ``SimulationConfig.create(problem, d=d, n=n, ts=ts, seeds=seeds, **options)`` validates every
    option once, :func:`run` trains.  ``problem`` may also be a ready :class:`.config.SimulationConfig` (then
    no options).  Every argument after ``problem`` is keyword-only.

    Parameters
    ----------
    problem : Problem
        Mixture (p, sigma), schedule (dilated / undilated), interpolant and training setup
        (n, lam_u, lam_w, noise in {'fresh', 'fixed'}).
    d, n : int, optional
        Dimension and number of training points; override the problem's (which must then be finite).
    ts : sequence of float, optional
        Schedule times (default: the authors' grid of 80 points, ``problem.schedule.grid(80)``).
    seeds : sequence of int
        One independent run (data, init, noise) per seed; runs are reproducible.  With ``data``
        and ``init_params`` given, seeds differ only in their noise stream.
    data : dict or tuple, optional
        Your own training data ``{"x1": (n, d) or (S, n, d), "s": (n,) or (S, n)}`` (labels +-1)
        instead of the seed's draw; d and n default to x1's (:mod:`.inputs`).
    init_params : dict, optional
        Your own initial ``{"c", "b": (T,) or (S, T), "u", "w": (T, d) or (S, T, d)}`` instead of
        ``init`` (e.g. the ``params`` of :func:`.inputs.load_npz`).
    array_module : module, optional
        Stand-in array module for ``backend='cupy'`` (testing without a GPU).
    checkpoint : path-like, optional
        Resumable training (:func:`run`): a checkpoint every ``checkpoint_every`` steps, continued from
        when called again with the same configuration.
    **options
        The fields of :class:`.config.SimulationConfig` (each documented there with its range and
        default): ``protocol`` ('theory' or 'authors', :mod:`flowphase.validation.protocols`) and its
        fields ``epochs, optimizer, lr, lr_final, draws, labels, init, init_scale, betas, eps`` (the
        preset's value unless given), ``model, backend, dtype, record_every, train_c, train_b,
        keep_params, progress, job_chunk, quad_nodes, noise_sampler``, ``weight_decay`` (a PyTorch
        weight decay mapped to ``lam = wd d T / 2`` with this run's d and T = len(ts)),
        ``checkpoint_every``, ``step_chunk``.

    Returns
    -------
    SimulationResult
        Overlaps sign-canonicalised to ``m + omega >= 0`` (:mod:`.canonical`); ``sign_degenerate`` flags
        jobs where that sign is not determined; ``grad_norm`` the gradient norm at the final parameters
        (the convergence diagnostic).

    Raises
    ------
    ValueError
        Bad input, naming the parameter.
    ConvergenceError
        If the training diverged (non-finite parameters, exploding overlaps or loss).
    """
    if isinstance(problem, SimulationConfig):
        if options or d is not None or n is not None or ts is not None or tuple(seeds) != (0,):
            raise ValueError("simulate(config): give the options in the configuration, not as keywords")
        return run(problem, data=data, init_params=init_params, array_module=array_module, checkpoint=checkpoint)
    cfg = SimulationConfig.create(problem, d=d, n=n, ts=ts, seeds=seeds, data=data, init_params=init_params,
                                  **options)
    return run(cfg, data=data, init_params=init_params, array_module=array_module, checkpoint=checkpoint)
