"""The configuration of one simulation: every option, validated once, frozen (PAPER §2.3 protocol).

:meth:`SimulationConfig.create` takes the keywords of :func:`flowphase.validation.simulator.simulate`,
resolves the training protocol preset (:mod:`flowphase.validation.protocols`), checks every value
(ValueError naming the parameter) and decides the noise sampler; the frozen result is what the backends
run and what :meth:`SimulationConfig.to_dict` writes into the JSON of a run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from flowphase.theory.checks import as_array, as_bool, as_int, as_int_list, as_real
from flowphase.theory.problem import Problem
from flowphase.theory.records import OVERLAP_NAMES

__all__ = ["SimulationConfig", "resolve_problem", "OVERLAP_NAMES", "BACKENDS", "INITS", "MODELS", "OPTIMIZERS",
           "NOISE_SAMPLERS", "LABELS", "MAX_EPOCHS", "MAX_SEEDS", "MODEL_TANH", "MODEL_SIGN", "OPT_ADAM", "OPT_GD",
           "N_OVERLAPS"]

BACKENDS = ("numba", "numpy", "cupy")
INITS = ("random", "small", "informed")
MODELS = ("tanh", "sign")
OPTIMIZERS = ("adam", "gd")
NOISE_SAMPLERS = ("auto", "projected", "dense")
LABELS = ("bernoulli", "exact")
#: kernel codes of the model and the optimiser
MODEL_TANH = 0
MODEL_SIGN = 1
OPT_ADAM = 0
OPT_GD = 1
#: recorded per job and record: c, m, omega, b, sqrt_q, sqrt_r, loss
N_OVERLAPS = 7
#: bounds on the work one call may request
MAX_EPOCHS = 10 ** 7
MAX_SEEDS = 10 ** 4


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


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


@dataclass(frozen=True)
class SimulationConfig:
    """Every option of a simulation, validated and frozen: the one documented record of them.

    Build it with :meth:`create` (keywords of :func:`flowphase.validation.simulator.simulate`); the
    driver (:func:`flowphase.validation.simulator.run`) trains exactly what it holds.  The protocol
    fields (``epochs, optimizer, lr, lr_final, draws, labels, init, init_scale, betas, eps``) take the
    preset's value (:mod:`flowphase.validation.protocols`) unless given; ``overrides`` lists the given
    ones.  Units are the theory's (PAPER §2.3): the loss is per coordinate and per data point.

    Attributes
    ----------
    problem : Problem
        Mixture (p, sigma), schedule, interpolant and training setup (n, lam_u, lam_w, noise) at the
        simulation's finite integer d >= 2 and n >= 1.  ``lam_u, lam_w`` are ridge penalties in theory
        units; the Problem's default lam = 2 is the authors' weight decay 1e-5 only at d = 5000, T = 80
        (``lam = wd d T / 2``); pass ``weight_decay`` to map a PyTorch weight decay with this run's d, T.
    ts : tuple of float
        Schedule times, one independent denoiser each (default ``problem.schedule.grid(80)``; each in
        the schedule's domain).  ``times`` is the same as a read-only float array.
    seeds : tuple of int
        One independent run per seed, each in [0, 2**63 - 1], at most :data:`MAX_SEEDS` (default ``(0,)``).
    epochs : int
        Full-batch optimisation steps, in [1, :data:`MAX_EPOCHS`] (preset: 400 ``theory``, 40 000 ``authors``).
    optimizer : {'adam', 'gd'}
        Adam (``betas, eps``) on the theory-unit loss, or gradient descent preconditioned per block
        (step ``lr/n`` on c, b and ``lr d/n`` on u, w) (preset: 'gd' ``theory``, 'adam' ``authors``).
    lr : float
        Learning rate, in (0, 1e6] (preset: 0.25 ``theory``, 1e-2 ``authors``).
    lr_final : float
        Learning rate of the last step, in (0, 1e6]; the rate decays geometrically from ``lr`` to it
        (preset: ``lr``, i.e. constant, in both presets).
    draws : int
        K fresh noise draws per data point and step, in [0, 1e6]; 0 is the exact expectation over x0
        (``quad_nodes``-point Gauss--Hermite; fresh noise, tanh model only); 1 with fixed noise
        (preset: 0 ``theory`` (1 where 0 is unavailable), 1 ``authors``).
    labels : {'bernoulli', 'exact'}
        Class labels of the data: i.i.d. Bernoulli(p), or exactly round(p n) positive (preset: 'bernoulli').
    init : {'random', 'small', 'informed'}
        Initial parameters (:func:`.inputs.draw_init`): N(0, 1) entries (the authors'), ``init_scale``
        N(0, 1) entries, or the class-mean start (preset: 'small' ``theory``, 'random' ``authors``).
    init_scale : float
        Scale of the ``'small'`` initialisation, in [0, 1e3] (preset: 1e-3 ``theory``, 1.0 ``authors``).
    model : {'tanh', 'sign'}
        The paper's ``c x + u tanh(w.x/sqrt(d) + b)`` or Cui et al.'s tied ``c x + w sign(w.x/sqrt(d))``
        (default 'tanh').
    backend : {'numba', 'numpy', 'cupy'}
        Training engine: numba kernels or the NumPy / CuPy array twin (default 'numba').
    dtype : {'float64', 'float32'}
        Storage of data, parameters and the Adam moments of u, w; accumulations are float64
        (default 'float64').
    record_every : int
        Steps between recorded overlaps, >= 1 (default ``max(1, epochs // 50)``).
    betas : (float, float)
        Adam's moment decays, each in [0, 1) (preset: (0.9, 0.999)).
    eps : float
        Adam's denominator constant, in (0, 1] (preset: 1e-8).
    train_c, train_b : bool
        Train c, b (False freezes them at their initial value; default True).
    keep_params : bool
        Keep the final u, w and the data in the result (default True).
    progress : bool or None
        tqdm progress bar (None, the default: on above ~1e10 row-coordinate updates).
    job_chunk : int or None
        Array backends: jobs processed together, >= 1 (default None: all).
    quad_nodes : int
        Gauss--Hermite nodes of the exact expectation (``draws=0``), in [8, 1000] (default 48).
    noise_sampler : {'auto', 'projected', 'dense'}
        Requested fresh-noise sampler: all n K d numbers per step (``'dense'``, the reference), only
        what the step sees (``'projected'``, same law, needs d >= n + 3), or projected where it applies
        (``'auto'``, the default).
    sampler : {'projected', 'dense', 'expectation'}
        The sampler actually used (derived: ``'dense'`` for fixed noise, ``'expectation'`` for draws=0).
    protocol : str
        The preset the protocol fields come from (default ``'theory'``).
    overrides : tuple of str
        The protocol fields given explicitly (sorted).
    weight_decay : float or None
        A PyTorch-style coupled weight decay wd >= 0 given instead of lam: then ``lam_u = lam_w =
        wd d T / 2`` with this run's d and T = len(ts) (:func:`flowphase.theory.problem.weight_decay_to_lambda`;
        default None: the problem's lam_u, lam_w).
    checkpoint_every : int
        Steps between checkpoints when the run is given a checkpoint file, >= 1 (default 1000).
        It changes only where the training pauses, never the numbers.
    step_chunk : int or None
        Steps per kernel call, >= 1 (default None: ~1e9 coordinate updates or 1/100 of the run with a
        progress bar).  Ctrl-C and the divergence check act between calls; the numbers do not depend on it.
    given_data, given_init : bool
        Whether the training data / initial parameters come from the caller.
    """

    problem: Problem
    ts: Tuple[float, ...]
    seeds: Tuple[int, ...]
    epochs: int
    optimizer: str
    lr: float
    lr_final: float
    draws: int
    labels: str
    init: str
    init_scale: float
    model: str
    backend: str
    dtype: str
    record_every: int
    betas: Tuple[float, float]
    eps: float
    train_c: bool
    train_b: bool
    keep_params: bool
    progress: Optional[bool]
    job_chunk: Optional[int]
    quad_nodes: int
    noise_sampler: str
    sampler: str
    protocol: str
    overrides: Tuple[str, ...]
    given_data: bool = False
    given_init: bool = False
    weight_decay: Optional[float] = None
    checkpoint_every: int = 1000
    step_chunk: Optional[int] = None
    _ts_array: np.ndarray = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ derived
    @property
    def d(self) -> int:
        return int(self.problem.d)

    @property
    def n(self) -> int:
        return int(self.problem.n)

    @property
    def noise(self) -> str:
        return self.problem.training.noise

    @property
    def times(self) -> np.ndarray:
        """The schedule times as a float array (as given, validated)."""
        return self._ts_array

    @property
    def n_records(self) -> int:
        return (self.epochs - 1) // self.record_every + 1

    @property
    def work(self) -> float:
        """Row-coordinate updates of the whole run (epochs x jobs x n K d)."""
        return float(self.epochs) * len(self.seeds) * len(self.ts) * self.n * max(self.draws, 1) * self.d

    def to_dict(self) -> dict:
        """JSON-serialisable record of the options (the ``config`` of a result, without the input record)."""
        return dict(epochs=self.epochs, optimizer=self.optimizer, lr=float(self.lr), lr_final=self.lr_final,
                    draws=self.draws, labels="given" if self.given_data else self.labels,
                    init="given" if self.given_init else self.init, init_scale=float(self.init_scale),
                    model=self.model, backend=self.backend, dtype=self.dtype, record_every=self.record_every,
                    betas=list(self.betas), eps=float(self.eps), train_c=self.train_c, train_b=self.train_b,
                    noise=self.noise, quad_nodes=self.quad_nodes, protocol=self.protocol,
                    overrides=list(self.overrides),
                    **({} if self.weight_decay is None else
                       dict(weight_decay=float(self.weight_decay), lam_u=float(self.problem.training.lam_u),
                            lam_w=float(self.problem.training.lam_w))))

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, problem: Problem, *, d=None, n=None, ts=None, seeds=(0,), protocol=None, epochs=None,
               optimizer=None, lr=None, lr_final=None, draws=None, labels=None, init=None, init_scale=None,
               model="tanh", backend="numba", dtype="float64", record_every=None, betas=None, eps=None,
               train_c=True, train_b=True, keep_params=True, progress=None, job_chunk=None, quad_nodes=48,
               noise_sampler="auto", weight_decay=None, checkpoint_every=1000, step_chunk=None, data=None,
               init_params=None) -> "SimulationConfig":
        """Validated configuration from the keywords of :func:`~flowphase.validation.simulator.simulate`.

        Every keyword is a field of the class (documented there, with its range and default); ``None`` for
        a protocol field means "the preset's value".  ``data`` / ``init_params`` are only inspected here
        (their sizes fix d and n where not given; that they are given is recorded); the arrays themselves
        are checked by :mod:`.inputs`.
        """
        if data is not None and (d is None or n is None):
            from .inputs import data_sizes

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
        preset, record = resolve_protocol(protocol, noise=noise, model=model, epochs=epochs, optimizer=optimizer, lr=lr,
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
        _check_choice("labels", labels, LABELS)
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
            projected = noise_sampler == "projected" or (noise_sampler == "auto" and d >= n + 3)
            sampler = "projected" if projected else "dense"
        else:
            sampler = "dense" if noise == "fixed" else "expectation"
        lr = as_real("lr", lr, 0.0, hi=1e6, lo_open=True)
        lr_final = as_real("lr_final", lr_final, 0.0, hi=1e6, lo_open=True)
        init_scale = as_real("init_scale", init_scale, 0.0, hi=1e3)
        eps = as_real("eps", eps, 0.0, hi=1.0, lo_open=True)
        if isinstance(seeds, range):
            seeds = list(seeds) if len(seeds) <= MAX_SEEDS else seeds
        seeds = as_int_list("seeds", seeds, 0, 2 ** 63 - 1, max_len=MAX_SEEDS)
        if ts is None:
            ts = problem.schedule.grid(80)
        ts = as_array("ts", np.atleast_1d(ts), (None,))
        problem.schedule.check_t(ts)
        if weight_decay is not None:        # lam = wd d T / 2 with this run's own d and T (PAPER §2.3)
            from flowphase.theory.problem import weight_decay_to_lambda

            weight_decay = as_real("weight_decay", weight_decay, 0.0, hi=1e6)
            lam = weight_decay_to_lambda(weight_decay, d, len(ts))
            problem = problem.replace(lam_u=lam, lam_w=lam)
        checkpoint_every = as_int("checkpoint_every", checkpoint_every, 1, MAX_EPOCHS)
        if step_chunk is not None:
            step_chunk = as_int("step_chunk", step_chunk, 1, MAX_EPOCHS)
        record_every = max(1, epochs // 50) if record_every is None else as_int("record_every", record_every, 1)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        beta1 = as_real("betas[0]", betas[0], 0.0, hi=1.0 - 1e-12)
        beta2 = as_real("betas[1]", betas[1], 0.0, hi=1.0 - 1e-12)
        if job_chunk is not None:
            job_chunk = as_int("job_chunk", job_chunk, 1)
        ts_arr = np.array(ts, dtype=float)
        ts_arr.setflags(write=False)
        return cls(problem=problem, ts=tuple(float(t) for t in ts_arr), seeds=tuple(int(s) for s in seeds),
                   epochs=int(epochs), optimizer=optimizer, lr=float(lr), lr_final=float(lr_final), draws=int(draws),
                   labels=labels, init=init, init_scale=float(init_scale), model=model, backend=backend,
                   dtype=str(dtype), record_every=int(record_every), betas=(float(beta1), float(beta2)),
                   eps=float(eps), train_c=bool(train_c), train_b=bool(train_b), keep_params=bool(keep_params),
                   progress=progress, job_chunk=job_chunk, quad_nodes=int(quad_nodes), noise_sampler=noise_sampler,
                   sampler=sampler, protocol=record["protocol"], overrides=tuple(record["overrides"]),
                   given_data=data is not None, given_init=init_params is not None,
                   weight_decay=None if weight_decay is None else float(weight_decay),
                   checkpoint_every=int(checkpoint_every), step_chunk=step_chunk, _ts_array=ts_arr)
