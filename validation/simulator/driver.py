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


def _check_divergence(c, b, u, w, hist, d, lr) -> None:
    """Raise ``ConvergenceError`` if training diverged: non-finite parameters, absurd overlaps or a loss that grew.

    Healthy runs have O(1) overlaps (|c|, |u.mu|/d, |w|/sqrt(d) bounded by the data scale and the
    ridge) and a loss that does not exceed its initial value by orders of magnitude.
    """
    for name, arr in (("c", c), ("b", b), ("u", u), ("w", w)):
        if not np.all(np.isfinite(arr)):
            raise ConvergenceError(f"simulate: training diverged ({name} non-finite); lower lr (now {lr})")
    big = max(float(np.max(np.abs(c))), float(np.sqrt(np.max((u.astype(float) ** 2).sum(1)) / d)),
              float(np.sqrt(np.max((w.astype(float) ** 2).sum(1)) / d)))
    loss0, loss1 = hist[:, 0, 6], hist[:, -1, 6]
    grown = bool(np.any(~np.isfinite(loss1))) or bool(np.any(loss1 > DIVERGED_LOSS_GROWTH * np.maximum(loss0, 1.0)))
    if not big <= DIVERGED_OVERLAP or grown:
        raise ConvergenceError(f"simulate: training diverged (largest overlap {big:.3g}, final/initial loss "
                               f"{float(np.max(loss1 / np.maximum(loss0, 1.0))):.3g}); lower lr (now {lr})")


def run(cfg: SimulationConfig, data=None, init_params=None, array_module=None) -> SimulationResult:
    """Run a validated configuration (``data`` / ``init_params`` / ``array_module`` as in :func:`simulate`)."""
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
    work = cfg.work
    progress = work > 1e10 if cfg.progress is None else cfg.progress
    # chunks of the kernel loop: progress updates, and Ctrl-C is delivered between chunks (a numba kernel
    # cannot be interrupted), so long runs are split into pieces of ~1e9 coordinate updates
    n_chunks = min(epochs, 100) if progress else int(min(epochs, 100, max(1.0, work / 1e9)))
    bounds = np.linspace(0, epochs, n_chunks + 1).astype(int)
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs, disable=not progress, desc=f"simulate d={d} n={n} J={J}", unit="step")
    with np.errstate(over="ignore"):            # uint64 hashing wraps by design
        for a0, a1 in zip(bounds[:-1], bounds[1:]):
            if a1 > a0:
                step_fn(xp, jobs, hp, int(a0), int(a1 - a0))
                bar.update(int(a1 - a0))
    bar.close()
    c, b, u, w, hist = (to_numpy(a) for a in (jobs.c, jobs.b, jobs.u, jobs.w, jobs.hist))
    _check_divergence(c, b, u, w, hist, d, cfg.lr)
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


def simulate(problem: Problem, d: Optional[int] = None, n: Optional[int] = None,
             ts: Optional[Sequence[float]] = None, seeds: Sequence[int] = (0,), *, data=None, init_params=None,
             array_module=None, **options) -> SimulationResult:
    """Train independent finite-d denoisers at the times ``ts`` for every seed (PAPER §2.1–2.3).

    A thin front: ``SimulationConfig.create(problem, d, n, ts, seeds, **options)`` validates every option
    once, :func:`run` trains.  ``problem`` may also be a ready :class:`.config.SimulationConfig` (then no
    options).

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
    **options
        protocol : {'theory', 'authors'} -- named preset of ``epochs, optimizer, lr, lr_final, draws,
        labels, init, init_scale, betas, eps`` (:mod:`flowphase.validation.protocols`; default
        ``'theory'``: GD, constant lr 0.25, exact fresh-noise expectation, small init, 400 steps;
        ``'authors'``: Adam, constant lr 1e-2, N(0, 1) init, one fresh draw, 40 000 steps); each of those
        keywords given explicitly (not None) overrides the preset; ``config`` records both.
        epochs -- full-batch optimisation steps.  optimizer {'adam', 'gd'} -- Adam (betas, eps) on the
        theory-unit loss, or preconditioned GD (step ``lr/n`` on c, b and ``lr d/n`` on u, w).
        lr, lr_final -- learning rate, decayed geometrically to ``lr_final``.  draws -- K fresh draws
        per point and step (1 for fixed noise; 0: the exact expectation over x0, ``quad_nodes``-point
        Gauss--Hermite in w.x0, tanh model, fresh noise).  labels {'bernoulli', 'exact'}.
        init {'random', 'small', 'informed'} (:func:`.inputs.draw_init`), init_scale.
        model {'tanh', 'sign'}.  backend {'numba', 'numpy', 'cupy'}.  dtype 'float64' or 'float32'
        (storage; accumulations float64).  record_every (default ``max(1, epochs // 50)``).
        train_c, train_b -- freeze c or b when False.  keep_params -- keep u, w and the data.
        progress -- tqdm bar (default: on above ~1e10 row-coordinate updates).  job_chunk -- array
        backends: jobs processed together.  noise_sampler {'auto', 'projected', 'dense'} -- how fresh
        noise (``draws >= 1``) is drawn: ``'dense'`` all n K d numbers per step (the reference),
        ``'projected'`` only what the step sees (same law, :mod:`.projected_numba`, needs d >= n + 3),
        ``'auto'`` projected where it applies.

    Returns
    -------
    SimulationResult
        Overlaps sign-canonicalised to ``m + omega >= 0`` (:mod:`.canonical`); ``sign_degenerate`` flags
        jobs where that sign is not determined; ``grad_norm`` the gradient norm at the final parameters.

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
        return run(problem, data=data, init_params=init_params, array_module=array_module)
    cfg = SimulationConfig.create(problem, d, n, ts, seeds, data=data, init_params=init_params, **options)
    return run(cfg, data=data, init_params=init_params, array_module=array_module)
