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

All (seed, time) pairs are independent problems trained together in one batched kernel
(numba ``prange`` over them).  Backends: ``'numba'`` (default), ``'numpy'`` (the reference
implementation) and ``'cupy'`` (the same array-module code on a GPU).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

import numpy as np

from flowphase.theory.checks import as_array, as_bool, as_int, as_int_list, as_real, check_memory
from flowphase.numerics.results import ConvergenceError, check_finite
from flowphase.theory.problem import Problem, TimeDilation

__all__ = ["SimulationResult", "simulate", "resolve_problem", "get_array_module", "OVERLAP_NAMES",
           "BACKENDS", "INITS", "MODELS", "OPTIMIZERS", "NOISE_SAMPLERS"]

OVERLAP_NAMES = ("c", "m", "omega", "b", "sqrt_q", "sqrt_r")
BACKENDS = ("numba", "numpy", "cupy")
INITS = ("random", "small", "informed")
MODELS = ("tanh", "sign")
OPTIMIZERS = ("adam", "gd")
NOISE_SAMPLERS = ("auto", "projected", "dense")
_FIXED_NOISE_STEP = 2 ** 62      # noise-counter value reserved for the fixed x0 (never a training step)


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
    raise ValueError(f"backend must be one of {BACKENDS} for the array path, got {backend!r}")


def _to_numpy(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def resolve_problem(problem: Problem, d=None, n=None) -> Problem:
    """Problem with a finite integer ``d`` and ``n`` (given ones override the problem's)."""
    if not isinstance(problem, Problem):
        raise ValueError("problem must be a flowphase.theory.problem.Problem")
    d = problem.d if d is None else d
    n = problem.n if n is None else n
    for name, v in (("d", d), ("n", n)):
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10 ** 15:
            raise ValueError(f"{name} must be a finite integer in [1, 1e15] for a simulation, got {v!r}")
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(v)) or float(v) < 1 or float(v) != int(v):
            raise ValueError(f"{name} must be a finite integer >= 1 for a simulation, got {v!r}")
    d, n = int(d), int(n)
    if d < 2:
        raise ValueError(f"d must be >= 2 for a simulation, got {d}")
    if problem.d != d or problem.n != n:
        problem = problem.replace(d=d, n=n)
    return problem


@dataclass
class SimulationResult:
    """Outcome of :func:`simulate`.

    Attributes
    ----------
    problem : Problem
        The (finite-d, finite-n) problem simulated.
    ts : (T,) array
        Schedule times trained.
    seeds : list of int
    overlaps : (S, T, 6) array
        Final canonicalised overlaps ``c, m, omega, b, sqrt_q, sqrt_r`` (``OVERLAP_NAMES``), with
        ``m + omega >= 0`` by flipping ``(u, w, b)`` together (PAPER §2.2, §7.12;
        :mod:`flowphase.validation.canonical`: equal to omega >= 0 where omega is informative, and
        defined at t = 0 where omega ~ 0).
    history : (S, T, R, 7) array
        Overlaps (canonicalised) and the training loss, recorded before the steps in ``record_steps``.
    record_steps : (R,) int array
    params : dict
        Final canonicalised parameters ``c, b`` (S, T) and ``u, w`` (S, T, d) (if ``keep_params``).
    data : dict
        Training data per seed: ``x1`` (S, n, d) and labels ``s`` (S, n) (if ``keep_params``).
    config : dict
        Every option of the run (JSON-serialisable), including ``protocol`` and ``overrides``.
    sign_degenerate : (S, T) bool array
        Jobs whose sign is not determined (``|m + omega|`` within 3 random-projection standard
        deviations of 0, :func:`flowphase.validation.canonical.sign_degenerate`).
    """

    problem: Problem
    ts: np.ndarray
    seeds: list
    overlaps: np.ndarray
    history: np.ndarray
    record_steps: np.ndarray
    params: Dict[str, np.ndarray] = field(default_factory=dict)
    data: Dict[str, np.ndarray] = field(default_factory=dict)
    config: Dict[str, object] = field(default_factory=dict)
    sign_degenerate: Optional[np.ndarray] = None

    def overlap(self, name: str) -> np.ndarray:
        """(S, T) array of one overlap."""
        if name not in OVERLAP_NAMES:
            raise ValueError(f"name must be one of {OVERLAP_NAMES}, got {name!r}")
        return self.overlaps[:, :, OVERLAP_NAMES.index(name)]

    def mean(self) -> np.ndarray:
        """(T, 6) mean over seeds."""
        return self.overlaps.mean(axis=0)

    def stderr(self) -> np.ndarray:
        """(T, 6) standard error over seeds (0 with a single seed)."""
        S = self.overlaps.shape[0]
        if S < 2:
            return np.zeros(self.overlaps.shape[1:])
        return self.overlaps.std(axis=0, ddof=1) / math.sqrt(S)

    def final_loss(self) -> np.ndarray:
        """(S, T) loss at the last record."""
        return self.history[:, :, -1, 6]

    def to_dict(self) -> dict:
        """JSON-friendly summary: per-seed overlaps, mean and stderr keyed by time."""
        mean, se = self.mean(), self.stderr()
        runs = [{"seed": int(s), "overlaps": {f"{t:g}": dict(zip(OVERLAP_NAMES, map(float, self.overlaps[i, k])))
                                                for k, t in enumerate(self.ts)}}
                for i, s in enumerate(self.seeds)]
        out = {"problem": self.problem.to_dict(), "config": dict(self.config), "runs": runs,
               "mean": {f"{t:g}": dict(zip(OVERLAP_NAMES, map(float, mean[k]))) for k, t in enumerate(self.ts)},
               "stderr": {f"{t:g}": dict(zip(OVERLAP_NAMES, map(float, se[k]))) for k, t in enumerate(self.ts)}}
        if self.sign_degenerate is not None:
            out["sign_degenerate"] = {f"{t:g}": int(self.sign_degenerate[:, k].sum()) for k, t in enumerate(self.ts)}
        return out

    def save_npz(self, path) -> str:
        """Export the trained parameters, data, times, seeds and config (:func:`~.sim_inputs.save_npz`)."""
        from flowphase.validation.sim_inputs import save_npz

        return save_npz(self, path)


#: bounds on the work one call may request (issue 12, classes 7 and 15)
MAX_EPOCHS = 10 ** 7
MAX_SEEDS = 10 ** 4
#: divergence thresholds (issue 12, class 2): a trained overlap beyond this size, or a loss that grew
#: by this factor over the initial one, means the optimiser ran away (lr too large)
DIVERGED_OVERLAP = 1e6
DIVERGED_LOSS_GROWTH = 100.0


def _check_divergence(c, u, w, hist, d, lr) -> None:
    """Raise ``ConvergenceError`` if training diverged: absurd overlaps or a loss that grew.

    Healthy runs have O(1) overlaps (|c|, |u.mu|/d, |w|/sqrt(d) bounded by the data scale and the
    ridge) and a loss that does not exceed its initial value by orders of magnitude.
    """
    big = max(float(np.max(np.abs(c))), float(np.sqrt(np.max((u.astype(float) ** 2).sum(1)) / d)),
              float(np.sqrt(np.max((w.astype(float) ** 2).sum(1)) / d)))
    loss0, loss1 = hist[:, 0, 6], hist[:, -1, 6]
    grown = bool(np.any(~np.isfinite(loss1))) or bool(np.any(loss1 > DIVERGED_LOSS_GROWTH * np.maximum(loss0, 1.0)))
    if not big <= DIVERGED_OVERLAP or grown:
        raise ConvergenceError(f"simulate: training diverged (largest overlap {big:.3g}, final/initial loss "
                               f"{float(np.max(loss1 / np.maximum(loss0, 1.0))):.3g}); lower lr (now {lr})")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def simulate(problem: Problem, d: Optional[int] = None, n: Optional[int] = None,
             ts: Optional[Sequence[float]] = None, seeds: Sequence[int] = (0,), *,
             protocol: Optional[str] = None, epochs: Optional[int] = None, optimizer: Optional[str] = None,
             lr: Optional[float] = None, lr_final: Optional[float] = None, draws: Optional[int] = None,
             labels: Optional[str] = None, init: Optional[str] = None, init_scale: Optional[float] = None,
             data=None, init_params=None,
             model: str = "tanh", backend: str = "numba", dtype="float64", record_every: Optional[int] = None,
             betas=None, eps: Optional[float] = None, train_c: bool = True, train_b: bool = True,
             keep_params: bool = True, progress: Optional[bool] = None, job_chunk: Optional[int] = None,
             quad_nodes: int = 48, array_module=None, noise_sampler: str = "auto") -> SimulationResult:
    """Train independent finite-d denoisers at the times ``ts`` for every seed (PAPER §2.1–2.3).

    Parameters
    ----------
    problem : Problem
        Mixture (p, sigma), schedule (dilated / undilated), interpolant and training setup
        (n, lam_u, lam_w, noise in {'fresh', 'fixed'}).
    d, n : int, optional
        Dimension and number of training points; override the problem's (which must then be
        finite).
    ts : sequence of float, optional
        Schedule times (default: the authors' grid of 80 points, ``problem.schedule.grid(80)``).
    seeds : sequence of int
        One independent run (data, init, noise) per seed; runs are reproducible.  With ``data``
        and ``init_params`` given, seeds differ only in their noise stream.
    protocol : {'theory', 'authors'}, optional
        Named preset of ``epochs, optimizer, lr, lr_final, draws, labels, init, init_scale, betas,
        eps`` (:mod:`flowphase.validation.protocols`; default ``'theory'``: GD, constant lr 0.25,
        exact fresh-noise expectation, small init, 400 steps; ``'authors'``: Adam, constant lr 1e-2,
        N(0, 1) init, one fresh draw, 40 000 steps).  Each of those keywords given explicitly
        (not None) overrides the preset; ``config`` records the protocol and the overrides.
    epochs : int
        Full-batch optimisation steps.
    optimizer : {'adam', 'gd'}
        Adam (betas, eps) on the theory-unit loss, or preconditioned gradient descent (step
        ``lr/n`` on c, b and ``lr d/n`` on u, w).
    lr, lr_final : float
        Learning rate, decayed geometrically to ``lr_final`` (default: constant, ``lr_final = lr``).
    draws : int
        K, fresh noise draws per data point per step (must be 1 for ``noise='fixed'``).
        ``draws=0`` trains on the exact expectation over the fresh noise (K -> infinity):
        the only random direction of x0 the loss sees besides the quadratic terms is w.x0,
        integrated by ``quad_nodes``-point Gauss--Hermite (tanh model, fresh noise only).
    labels : {'bernoulli', 'exact'}
        Mode labels i.i.d. Bernoulli(p) (the authors') or exactly round(p n) positives.
    init : {'random', 'small', 'informed'}
        See :func:`flowphase.validation.sim_inputs.draw_init`.
    data : dict or tuple, optional
        Your own training data ``{"x1": (n, d) or (S, n, d), "s": (n,) or (S, n)}`` (labels +-1)
        instead of the seed's draw; d and n default to x1's (see
        :mod:`flowphase.validation.sim_inputs`).
    init_params : dict, optional
        Your own initial ``{"c", "b": (T,) or (S, T), "u", "w": (T, d) or (S, T, d)}`` instead of
        ``init`` (e.g. the ``params`` of :func:`flowphase.validation.sim_inputs.load_npz`).
    model : {'tanh', 'sign'}
        The paper's untied tanh denoiser with bias, or Cui's tied sign model.
    backend : {'numba', 'numpy', 'cupy'}
    dtype : 'float64' or 'float32'
        Storage of data and parameters; accumulations are float64.
    record_every : int, optional
        Record overlaps every this many steps (default ``max(1, epochs // 50)``).
    train_c, train_b : bool
        Freeze c or b at their initial values when False.
    keep_params : bool
        Keep the final u, w and the data in the result.
    progress : bool, optional
        tqdm progress bar (default: on for runs above ~1e10 row-coordinate updates).
    job_chunk : int, optional
        Array backends: number of jobs processed together (bounds memory).
    array_module : module, optional
        Stand-in array module for ``backend='cupy'`` (testing without a GPU).
    noise_sampler : {'auto', 'projected', 'dense'}
        How fresh noise (``draws >= 1``) is drawn.  ``'dense'``: all n K d numbers of x0 per step
        (the reference).  ``'projected'``: only what the step sees -- the rows' coordinates in
        V = span{x1, w, u}, two Gaussian d-vectors in V^perp and a chi-square; the same law of the
        training trajectory (exact, :mod:`flowphase.validation._sim_proj`), needs d >= n + 3.
        ``'auto'`` (default): projected where it applies, dense otherwise.

    Returns
    -------
    SimulationResult
        Overlaps sign-canonicalised to ``m + omega >= 0`` (:mod:`flowphase.validation.canonical`);
        ``sign_degenerate`` flags jobs where that sign is not determined.

    Raises
    ------
    ValueError
        Bad input, naming the parameter.
    ConvergenceError
        If the training diverged (non-finite parameters).
    """
    if data is not None and (d is None or n is None):
        from flowphase.validation.sim_inputs import data_sizes

        n_data, d_data = data_sizes(data)
        for name, v, mine in (("d", d, d_data), ("n", n, n_data)):
            theirs = getattr(problem, name)
            if v is None and math.isfinite(float(theirs)) and int(theirs) != mine:
                raise ValueError(f"data has {name} = {mine} but the problem has {name} = {theirs}")
        d = d_data if d is None else d
        n = n_data if n is None else n
    problem = resolve_problem(problem, d, n)
    d, n = int(problem.d), int(problem.n)
    noise = problem.training.noise
    from flowphase.validation.protocols import resolve_protocol

    _check_choice("model", model, MODELS)
    preset, protocol_record = resolve_protocol(protocol, noise, model, epochs=epochs, optimizer=optimizer, lr=lr,
                                               lr_final=lr_final, draws=draws, labels=labels, init=init,
                                               init_scale=init_scale, betas=betas, eps=eps)
    epochs, optimizer, lr, lr_final = preset["epochs"], preset["optimizer"], preset["lr"], preset["lr_final"]
    draws, labels, init, init_scale = preset["draws"], preset["labels"], preset["init"], preset["init_scale"]
    betas, eps = preset["betas"], preset["eps"]
    if noise not in ("fresh", "fixed"):
        raise ValueError(f"noise must be 'fresh' or 'fixed' for a simulation, got {noise!r}")
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_choice("init", init, INITS)
    _check_choice("backend", backend, BACKENDS)
    _check_choice("labels", labels, ("bernoulli", "exact"))
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype must be float64 or float32, got {dtype}")
    epochs = as_int("epochs", epochs, 1, MAX_EPOCHS)
    draws = as_int("draws", draws, 0, 10 ** 6)   # 0: exact expectation over the fresh noise
    quad_nodes = as_int("quad_nodes", quad_nodes, 1, 1000)
    train_c, train_b, keep_params = (as_bool(k, v) for k, v in
                                     (("train_c", train_c), ("train_b", train_b), ("keep_params", keep_params)))
    if progress is not None:
        progress = as_bool("progress", progress)
    if draws == 0 and (noise != "fresh" or model != "tanh"):
        raise ValueError("draws=0 (exact expectation over x0) needs noise='fresh' and model='tanh'")
    if int(quad_nodes) < 8:
        raise ValueError(f"quad_nodes must be >= 8, got {quad_nodes!r}")
    if noise == "fixed" and draws != 1:
        raise ValueError("draws must be 1 with noise='fixed' (one x0 per data point)")
    _check_choice("noise_sampler", noise_sampler, NOISE_SAMPLERS)
    if noise_sampler == "projected" and (noise != "fresh" or draws < 1):
        raise ValueError("noise_sampler='projected' needs noise='fresh' and draws >= 1")
    if noise_sampler == "projected" and d < n + 3:
        raise ValueError(f"noise_sampler='projected' needs d >= n + 3 (got d = {d}, n = {n}); use 'dense'")
    if noise == "fresh" and draws >= 1:
        sampler = "projected" if noise_sampler == "projected" or (noise_sampler == "auto" and d >= n + 3) else "dense"
    else:
        sampler = "dense" if noise == "fixed" else "expectation"
    lr = as_real("lr", lr, 0.0, 1e6, lo_open=True)
    lr_final = as_real("lr_final", lr_final, 0.0, 1e6, lo_open=True)
    init_scale = as_real("init_scale", init_scale, 0.0, 1e3)
    eps = as_real("eps", eps, 0.0, 1.0, lo_open=True)
    if isinstance(seeds, range):
        seeds = list(seeds) if len(seeds) <= MAX_SEEDS else seeds
    seeds = as_int_list("seeds", seeds, 0, 2 ** 63 - 1, max_len=MAX_SEEDS)
    if ts is None:
        ts = problem.schedule.grid(80)
    ts = as_array("ts", np.atleast_1d(ts), (None,))
    problem.schedule.check_t(ts)
    record_every = max(1, epochs // 50) if record_every is None else as_int("record_every", record_every, 1)
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    beta1 = as_real("betas[0]", betas[0], 0.0, 1.0 - 1e-12)
    beta2 = as_real("betas[1]", betas[1], 0.0, 1.0 - 1e-12)

    S, T = len(seeds), len(ts)
    J = S * T
    # data (S n d), parameters and Adam state (~7 J d) and the history, before anything is allocated
    check_memory(8.0 * (S * n * d + 7.0 * J * d + J * ((epochs - 1) // record_every + 1) * 7), "simulate")
    alpha_t, beta_t, _, _ = problem.coefficients(ts)
    alpha_t = np.broadcast_to(np.asarray(alpha_t, dtype=float), (T,))
    beta_t = np.broadcast_to(np.asarray(beta_t, dtype=float), (T,))
    lam = problem.training.lam_u if model == "tanh" else problem.training.lam_w

    # data and initial parameters per seed: drawn, or given (validation.sim_inputs)
    from flowphase.validation.sim_inputs import setup_data_and_init

    x1, s_lab, c, b, u, w, input_record = setup_data_and_init(
        problem, seeds, T, labels=labels, init=init, init_scale=init_scale, model=model, lam=lam, dtype=dtype,
        data=data, init_params=init_params)
    from flowphase.validation._sim_array import noise_rows

    seeds_arr = np.asarray(seeds, dtype=np.int64)
    if noise == "fixed":
        fixed_x0 = np.stack([noise_rows(np, [sd], _FIXED_NOISE_STEP, [0], np.arange(n), d)[0] for sd in seeds])
        fixed_x0 = fixed_x0.astype(dtype)
    else:
        fixed_x0 = np.zeros((1, 1, 1), dtype=dtype)
    job_seed = np.repeat(np.arange(S, dtype=np.int64), T)
    job_tix = np.tile(np.arange(T, dtype=np.int64), S)
    alpha_j = np.tile(alpha_t, S).astype(np.float64)
    beta_j = np.tile(beta_t, S).astype(np.float64)
    state_s = np.zeros((J, 8))
    state_v = np.zeros((J, 4, d))
    n_rec = (epochs - 1) // record_every + 1
    hist = np.zeros((J, n_rec, 7))
    opt = 0 if optimizer == "adam" else 1
    mdl = 0 if model == "tanh" else 1
    work = float(epochs) * J * n * max(draws, 1) * d
    if progress is None:
        progress = work > 1e10
    # chunks of the kernel loop: progress updates, and Ctrl-C is delivered between chunks (a numba kernel
    # cannot be interrupted), so long runs are split into pieces of ~1e9 coordinate updates (issue 12, class 15)
    n_chunks = min(epochs, 100) if progress else int(min(epochs, 100, max(1.0, work / 1e9)))
    bounds = np.linspace(0, epochs, n_chunks + 1).astype(int)
    common = dict(model=mdl, optimizer=opt, K=draws, lr=float(lr), lr_decay_to=float(lr_final),
                  total_steps=epochs, beta1=beta1, beta2=beta2, eps=float(eps),
                  lam_u=float(problem.training.lam_u), lam_w=float(problem.training.lam_w),
                  use_fixed=noise == "fixed", train_c=bool(train_c), train_b=bool(train_b),
                  record_every=record_every)
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs, disable=not progress, desc=f"simulate d={d} n={n} J={J}", unit="step")
    gq, wq = np.polynomial.hermite_e.hermegauss(int(quad_nodes))
    wq = wq / wq.sum()
    exp_kw = dict(optimizer=opt, total_steps=epochs, lr=float(lr), lr_decay_to=float(lr_final), beta1=beta1,
                  beta2=beta2, eps=float(eps), lam_u=float(problem.training.lam_u),
                  lam_w=float(problem.training.lam_w), train_c=bool(train_c), train_b=bool(train_b),
                  record_every=record_every)
    if draws == 0 and backend == "numba":
        from flowphase.validation._sim_numba import train_expected_kernel

        for a0, a1 in zip(bounds[:-1], bounds[1:]):
            if a1 > a0:
                train_expected_kernel(x1, job_seed, alpha_j, beta_j, c, b, u, w, state_s, state_v, gq, wq,
                                      opt, int(a0), int(a1 - a0), float(lr), float(lr_final), epochs, beta1,
                                      beta2, float(eps), exp_kw["lam_u"], exp_kw["lam_w"], bool(train_c),
                                      bool(train_b), record_every, hist)
                bar.update(int(a1 - a0))
    elif draws == 0:
        from flowphase.validation._sim_array import train_expected_array

        xp = get_array_module(backend, array_module)
        x1_x, c_x, b_x, u_x, w_x, ss_x, sv_x, h_x = (xp.asarray(a) for a in (x1, c, b, u, w, state_s, state_v, hist))
        for a0, a1 in zip(bounds[:-1], bounds[1:]):
            if a1 > a0:
                train_expected_array(xp, x1_x, job_seed, alpha_j, beta_j, c_x, b_x, u_x, w_x, ss_x, sv_x, gq, wq,
                                     step0=int(a0), n_steps=int(a1 - a0), hist=h_x, **exp_kw)
                bar.update(int(a1 - a0))
        c, b, u, w, hist = (_to_numpy(a) for a in (c_x, b_x, u_x, w_x, h_x))
    elif sampler == "projected":
        from flowphase.validation._sim_proj import data_basis

        basis = data_basis(x1)
        if backend == "numba":
            from flowphase.validation._sim_proj import train_projected as run
            xp, arrs, extra = np, [x1, basis, c, b, u, w, state_s, state_v, hist], {}
            arrs[1] = (basis[0].astype(dtype), basis[1], basis[2])
        else:
            from flowphase.validation._sim_proj_array import train_projected_array

            xp = get_array_module(backend, array_module)
            arrs = [xp.asarray(x1), (xp.asarray(basis[0].astype(dtype)), xp.asarray(basis[1]), xp.asarray(basis[2]))]
            arrs += [xp.asarray(a) for a in (c, b, u, w, state_s, state_v, hist)]
            extra = dict(job_chunk=job_chunk)

            def run(*a, **k):
                return train_projected_array(xp, *a, **k)
        x1_x, bas_x, c_x, b_x, u_x, w_x, ss_x, sv_x, h_x = arrs
        with np.errstate(over="ignore"):
            for a0, a1 in zip(bounds[:-1], bounds[1:]):
                if a1 > a0:
                    run(x1_x, bas_x, job_seed, job_tix, seeds_arr, alpha_j, beta_j, c_x, b_x, u_x, w_x, ss_x, sv_x,
                        step0=int(a0), n_steps=int(a1 - a0), hist=h_x, **common, **extra)
                    bar.update(int(a1 - a0))
        c, b, u, w, hist = (_to_numpy(a) for a in (c_x, b_x, u_x, w_x, h_x))
    elif backend == "numba":
        from flowphase.validation._sim_numba import train_kernel

        with np.errstate(over="ignore"):
            for a0, a1 in zip(bounds[:-1], bounds[1:]):
                if a1 > a0:
                    train_kernel(x1, fixed_x0, job_seed, job_tix, seeds_arr, alpha_j, beta_j, c, b, u, w,
                                 state_s, state_v, common["model"], common["optimizer"], common["K"], int(a0),
                                 int(a1 - a0), common["lr"], common["lr_decay_to"], common["total_steps"],
                                 beta1, beta2, common["eps"], common["lam_u"], common["lam_w"],
                                 common["use_fixed"], common["train_c"], common["train_b"], record_every, hist)
                    bar.update(int(a1 - a0))
    else:
        from flowphase.validation._sim_array import train_array

        xp = get_array_module(backend, array_module)
        arrs = [xp.asarray(a) for a in (x1, fixed_x0, c, b, u, w, state_s, state_v, hist)]
        x1_x, fx_x, c_x, b_x, u_x, w_x, ss_x, sv_x, h_x = arrs
        for a0, a1 in zip(bounds[:-1], bounds[1:]):
            if a1 > a0:
                train_array(xp, x1_x, fx_x, job_seed, job_tix, seeds_arr, alpha_j, beta_j, c_x, b_x, u_x, w_x,
                            ss_x, sv_x, step0=int(a0), n_steps=int(a1 - a0), hist=h_x, job_chunk=job_chunk,
                            **common)
                bar.update(int(a1 - a0))
        c, b, u, w, hist = (_to_numpy(a) for a in (c_x, b_x, u_x, w_x, h_x))
    bar.close()
    for name, arr in (("c", c), ("b", b), ("u", u), ("w", w)):
        if not np.all(np.isfinite(arr)):
            raise ConvergenceError(f"simulate: training diverged ({name} non-finite); lower lr (now {lr})")
    _check_divergence(c, u, w, hist, d, lr)

    # sign canonicalisation m + omega >= 0: flip (u, w, b) together (tanh odd; PAPER §2.2, validation.canonical)
    from flowphase.validation.canonical import canonicalise_overlaps, canonicalise_params, sign_degenerate

    b, u, w, _ = canonicalise_params(b, u, w)
    ov = np.stack([c.astype(float), u.mean(axis=1, dtype=np.float64), w.mean(axis=1, dtype=np.float64),
                   b.astype(float), np.sqrt((u.astype(float) ** 2).sum(1) / d),
                   np.sqrt((w.astype(float) ** 2).sum(1) / d)], axis=1)
    canonicalise_overlaps(hist)
    check_finite("simulate overlaps", ov)
    config = dict(epochs=epochs, optimizer=optimizer, lr=float(lr), lr_final=lr_final, draws=draws,
                  labels=labels if data is None else "given", init=init if init_params is None else "given", init_scale=float(init_scale), model=model, backend=backend,
                  dtype=str(dtype), record_every=record_every, betas=[beta1, beta2], eps=float(eps),
                  train_c=bool(train_c), train_b=bool(train_b), noise=noise, quad_nodes=int(quad_nodes),
                  **protocol_record, **input_record, noise_sampler=sampler)
    result = SimulationResult(problem=problem, ts=ts, seeds=seeds, overlaps=ov.reshape(S, T, 6),
                              history=hist.reshape(S, T, n_rec, 7),
                              record_steps=np.arange(n_rec) * record_every, config=config,
                              sign_degenerate=sign_degenerate(ov[:, 1], ov[:, 2], ov[:, 4], ov[:, 5], d).reshape(S, T))
    if keep_params:
        result.params = {"c": c.reshape(S, T), "b": b.reshape(S, T), "u": u.reshape(S, T, d),
                         "w": w.reshape(S, T, d)}
        result.data = {"x1": x1, "s": s_lab}
    return result
