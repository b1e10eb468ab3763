"""Generation with the learned (or the exact Bayes) velocity field (PAPER §2.4–2.5, §3.5–3.7).

The probability-flow ODE ``dX/dt = b_t(X)`` with ``b_t(x) = a_x(t) x + a_f(t) f_t(x)``
(``= tau'/(1-tau) (f_t(x) - x)`` for the linear interpolant, PAPER §2.4) is integrated from
``X(0) ~ N(0, I_d)`` over the training grid ``t_0 < ... < t_{T-1}``:

* ``'euler'`` -- the authors' convention (PAPER §2.5): the network of grid time ``t_k`` drives the
  step ``t_k -> t_{k+1}``; ``T - 1`` steps, integration **stops at the last grid point**
  (t = 1.975 for T = 80 on [0, 2); tau(1.975) = 0.9757 at d = 5000);
* ``'heun'`` -- the trapezoidal predictor-corrector, using the networks at both ends of a step.

On each step the schedule speed is that of the interval, ``(tau(t_{k+1}) - tau(t_k)) / dt``; for
the dilated schedule this is the convention of the code (the step from t = 1 already uses the
phase-2 speed, PAPER §2.5).  Reported statistics (:func:`generated_statistics`): the mode fraction
``p_hat`` (fraction with ``mu.X > 0``), the sign-corrected mean overlap ``E[|mu.X|/d]`` and the
within-mode variance orthogonal to mu.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np

from flowphase.numerics.results import ConvergenceError, SolverResult, check_finite
from flowphase.numerics.velocity import interval_velocity_coefficients  # noqa: F401  (public here too)
from flowphase.theory.checks import as_array, as_int, check_memory
from flowphase.theory.problem import Problem

__all__ = ["GenerationResult", "interval_velocity_coefficients", "generated_statistics", "generate",
           "generate_from_params", "generate_bayes", "METHODS"]

METHODS = ("euler", "heun")
_GEN_STREAM = 0x6E4


def generated_statistics(X) -> Dict[str, float]:
    """Summary of generated samples X (N, d), mu = 1_d (PAPER §3.5).

    Returns
    -------
    dict
        ``p_hat`` = fraction with mu.X > 0 (and its binomial ``p_hat_stderr``);
        ``mean_overlap`` = mean of s_X mu.X/d with s_X = sign(mu.X) (the generated mode mean R);
        ``variance`` = within-mode variance orthogonal to mu: the sample covariance trace of
        s_X X projected orthogonally to mu, divided by (d - 1) (unbiased; PAPER §3.5's sigma_hat^2
        = P at the end of the flow).
    """
    X = np.asarray(X)
    if X.dtype.kind not in "iuf" or X.ndim != 2:
        raise ValueError(f"X must be a real (N, d) array, got dtype {X.dtype} and shape {X.shape}")
    X = X.astype(float, copy=False)
    N, d = X.shape
    if N < 2 or d < 2:
        raise ValueError("need at least two samples of dimension >= 2")
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds non-finite samples (NaN or inf): the statistics would be NaN")
    if np.max(np.abs(X)) > 1e150:
        raise ValueError("X holds samples beyond +-1e150: its variance would overflow")
    proj = X.sum(axis=1) / d
    p_hat = float(np.mean(proj > 0))
    s = np.where(proj >= 0, 1.0, -1.0)
    Y = s[:, None] * X
    Yp = Y - (s * proj)[:, None]
    Yp = Yp - Yp.mean(axis=0, keepdims=True)
    var = float((Yp * Yp).sum() / ((N - 1) * (d - 1)))
    return {"p_hat": p_hat, "p_hat_stderr": math.sqrt(max(p_hat * (1 - p_hat), 1.0 / N) / N),
            "mean_overlap": float(np.mean(s * proj)), "mean_overlap_stderr": float(np.std(s * proj, ddof=1) / math.sqrt(N)),
            "variance": var}


_STAT_KEYS = ("p_hat", "mean_overlap", "variance")


@dataclass
class GenerationResult(SolverResult):
    """Generated-sample statistics per training seed and their mean/stderr over seeds (:class:`SolverResult`).

    ``value`` = the means over seeds of ``p_hat``, ``mean_overlap``, ``variance``; ``converged`` = every sample
    of every seed stayed finite (a fixed-step integrator has no other convergence test); ``iterations`` = the
    integration steps taken, all seeds together; ``residual`` = 0.0 when converged, inf when a seed diverged
    (the one meaning: the integrator's blow-up indicator); ``per_seed`` is a list of
    :func:`generated_statistics` dicts; ``t_end`` / ``tau_end`` give where the integration stopped.
    """

    value: Optional[dict] = None
    converged: bool = True
    iterations: int = 0
    residual: float = 0.0
    per_seed: list = field(default_factory=list)
    method: str = ""
    n_gen: int = 0
    t_end: float = math.nan
    tau_end: float = math.nan
    samples: Optional[np.ndarray] = None

    def __post_init__(self):
        if self.value is None and self.per_seed:
            self.value = {k: self.mean(k) for k in _STAT_KEYS}

    def mean(self, key: str) -> float:
        return float(np.mean([r[key] for r in self.per_seed]))

    def stderr(self, key: str) -> float:
        v = np.array([r[key] for r in self.per_seed])
        if v.size < 2:
            return float(self.per_seed[0].get(key + "_stderr", 0.0))
        return float(v.std(ddof=1) / math.sqrt(v.size))

    def to_dict(self) -> dict:
        keys = _STAT_KEYS
        return {"method": self.method, "n_gen": self.n_gen, "t_end": self.t_end, "tau_end": self.tau_end,
                "per_seed": self.per_seed, **{k: self.mean(k) for k in keys},
                "stderr": {k: self.stderr(k) for k in keys}, "converged": self.converged,
                "iterations": self.iterations, "residual": self.residual, "message": self.message}


def _diverged(what: str, err: ConvergenceError, throw: bool, **kw) -> GenerationResult:
    if throw:
        raise err
    return GenerationResult(converged=False, residual=math.inf, message=f"{what}: {err}", **kw)


def _initial(n_gen, d, seed):
    return np.random.default_rng([int(seed), _GEN_STREAM]).standard_normal((int(n_gen), int(d)))


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return 1 if method == "heun" else 0


def generate_from_params(problem: Problem, ts, c, b, u, w, *, n_gen: int = 256, seed: int = 0,
                         method: str = "euler", model: str = "tanh", backend: str = "numba",
                         keep_samples: bool = False, array_module=None):
    """Integrate the learned flow for one parameter set (c, b: (T,), u, w: (T, d)); return X_end or stats.

    Returns ``(stats_dict, X)`` with X None unless ``keep_samples``.
    """
    heun = _check_method(method)
    if model not in ("tanh", "sign"):
        raise ValueError(f"model must be 'tanh' or 'sign', got {model!r}")
    n_gen = as_int("n_gen", n_gen, 2, 10 ** 9)
    seed = as_int("seed", seed, 0)
    ts = as_array("ts", ts, (None,))
    ax, af, ax2, af2, dt = interval_velocity_coefficients(problem, ts)
    # every shape is checked here: the numba kernels index without bounds checks
    T = len(ts)
    u = as_array("u", u, (T, None))
    d = u.shape[1]
    if d < 2:
        raise ValueError(f"u must have d >= 2 columns, got {d}")
    w = as_array("w", w, (T, d))
    c = as_array("c", c, (T,))
    b = as_array("b", b, (T,))
    check_memory(8.0 * n_gen * d * 3, "generate_from_params")
    X = _initial(n_gen, d, seed)
    mdl = 0 if model == "tanh" else 1
    if backend == "numba":
        from flowphase.validation.simulator.sampling_kernels import sample_kernel

        sample_kernel(X, c, b, u, w, ax, af, ax2, af2, dt, mdl, heun)
    else:
        from flowphase.validation.simulator.sampling_kernels import sample_array
        from flowphase.validation.simulator.backends import get_array_module, to_numpy as _to_numpy

        xp = get_array_module(backend, array_module)
        X = _to_numpy(sample_array(xp, xp.asarray(X), xp.asarray(c), xp.asarray(b), xp.asarray(u), xp.asarray(w),
                                   ax, af, ax2, af2, dt, mdl, heun))
    if not np.all(np.isfinite(X)):
        raise ConvergenceError("generated samples are non-finite: the learned flow diverged")
    return generated_statistics(X), (X if keep_samples else None)


def generate(sim, *, n_gen: int = 256, seed: int = 0, method: str = "euler", backend: str = "numba",
             keep_samples: bool = False, array_module=None, throw: bool = True) -> GenerationResult:
    """Generate from every seed's learned model of a :class:`SimulationResult` (PAPER §2.5).

    The simulation must have been run on an increasing grid (e.g. the authors' 80 points) with
    ``keep_params=True``.  A diverging flow raises :class:`ConvergenceError` (``throw``, default) or returns
    with ``converged=False``.
    """
    if not sim.params:
        raise ValueError("the simulation result holds no parameters (run simulate with keep_params=True)")
    ts = np.asarray(sim.ts, float)
    per, last = [], None
    meta = dict(method=method, n_gen=int(n_gen), t_end=float(ts[-1]), tau_end=float(sim.problem.tau(ts[-1])))
    steps = (len(ts) - 1) * (2 if method == "heun" else 1)
    for i in range(len(sim.seeds)):
        try:
            st, X = generate_from_params(sim.problem, ts, sim.params["c"][i], sim.params["b"][i],
                                         sim.params["u"][i], sim.params["w"][i], n_gen=n_gen, seed=seed + 7919 * i,
                                         method=method, model=sim.config.get("model", "tanh"), backend=backend,
                                         keep_samples=keep_samples, array_module=array_module)
        except ConvergenceError as err:
            return _diverged(f"seed {sim.seeds[i]}", err, throw, per_seed=per, iterations=steps * i, **meta)
        per.append(st)
        last = X
    return GenerationResult(per_seed=per, iterations=steps * len(per), message="every sample finite",
                            samples=last, **meta)


def generate_bayes(problem: Problem, *, d: Optional[int] = None, ts=None, n_gen: int = 1024, seeds=(0,),
                   method: str = "euler", backend: str = "numba", keep_samples: bool = False,
                   array_module=None, throw: bool = True) -> GenerationResult:
    """Generate with the exact (Bayes) velocity, the reference flow (PAPER §2.1, §3.5, §3.7).

    ``f*(x) = c* x + m* mu tanh(h + beta mu.x/D)``, ``D = alpha^2 + beta^2 sigma^2``,
    ``c* = beta sigma^2/D``, ``m* = alpha^2/D``, integrated with the same grid and integrator
    conventions as the learned model (default grid: 80 points).  A diverging flow raises
    :class:`ConvergenceError` (``throw``, default) or returns with ``converged=False``.
    """
    heun = _check_method(method)
    from flowphase.validation.simulator.sampling_kernels import sample_bayes_array
    from flowphase.validation.simulator.backends import get_array_module, to_numpy as _to_numpy

    if d is None:
        d = problem.d
    if isinstance(d, bool) or not isinstance(d, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(d)) or int(d) != d or int(d) < 2:
        raise ValueError(f"d must be a finite integer >= 2, got {d!r}")
    d = int(d)
    n_gen = as_int("n_gen", n_gen, 2, 10 ** 9)
    check_memory(8.0 * n_gen * d * 3, "generate_bayes")
    if problem.d != d:
        problem = problem.replace(d=d)
    ts = problem.schedule.grid(80) if ts is None else np.asarray(ts, dtype=float)
    ax, af, ax2, af2, dt = interval_velocity_coefficients(problem, ts)
    tau = np.asarray(problem.tau(ts), float)
    it = problem.interpolant
    al, be = np.asarray(it.alpha(tau), float), np.asarray(it.beta(tau), float)
    per, last = [], None
    meta = dict(method=method, n_gen=int(n_gen), t_end=float(ts[-1]), tau_end=float(tau[-1]),
                info={"velocity": "bayes"})
    steps = (len(ts) - 1) * (2 if method == "heun" else 1)
    for sd in seeds:
        if backend == "numba":
            from flowphase.validation.simulator.sampling_kernels import sample_bayes_kernel

            X = _initial(n_gen, d, sd)
            sample_bayes_kernel(X, al[:-1].copy(), be[:-1].copy(), al[1:].copy(), be[1:].copy(), ax, af, ax2, af2,
                                dt, problem.h, problem.sigma, heun)
        else:
            xp = get_array_module(backend, array_module)
            X0 = xp.asarray(_initial(n_gen, d, sd))
            X = _to_numpy(sample_bayes_array(xp, X0, al[:-1], be[:-1], al[1:], be[1:], ax, af, ax2, af2, dt,
                                             problem.p, problem.sigma, heun))
        try:
            check_finite("generated samples (Bayes)", X)
        except ConvergenceError as err:
            return _diverged(f"seed {sd}", err, throw, per_seed=per, iterations=steps * len(per), **meta)
        per.append(generated_statistics(X))
        last = X if keep_samples else None
    return GenerationResult(per_seed=per, iterations=steps * len(per), message="every sample finite",
                            samples=last, **meta)
