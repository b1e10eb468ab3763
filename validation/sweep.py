"""Resumable, crash-safe parameter sweeps over theory solves and simulations.

A sweep is a TOML file naming one *task* (a pure function ``params -> flat dict of results``) and
the parameter sets to run it on.  Every finished task is stored at once, atomically, as one JSON
record keyed by a hash of its canonical parameters, so a killed sweep resumes where it stopped and
never duplicates work.  Tasks run in-process, on a joblib/loky pool, or on a Dask cluster
(``LocalCluster`` or a remote scheduler); see ``docs/sweeps.md``.

Spec format (TOML, read with :mod:`tomllib`)::

    task = "theory.overlaps"       # a name from TASKS
    seed = 0                        # optional base seed (recorded; drives seeded tasks)
    [grid]                          # lists, multiplied out (cartesian product, file order)
    t = [0.1, 0.5, 1.5]
    n = [64, 128]
    [fixed]                         # optional scalars shared by every task
    p = 0.8
    [[points]]                      # optional explicit parameter sets (each x the grid)
    sigma = 0.5
    [options]                       # execution options that change neither keys nor results
    sleep = 0.0                     # seconds slept before each task (crash tests, overhead benchmarks)

Every parameter of every task is validated before any work starts; an error names the offending
key and its line in the file.  The mathematics lives in the task functions (PAPER §3.1-§3.5, §4);
this module only schedules, stores and tabulates them.
"""
from __future__ import annotations

import collections
import concurrent.futures as cf
import csv
import dataclasses
import functools
import hashlib
import importlib
import io
import importlib.util
import itertools
import json
import math
import numbers
import os
import re
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from flowphase.theory.checks import DOCUMENTED_INF_KEYS, as_int
from flowphase.validation._io import atomic_write_text

__all__ = [
    "Param", "Task", "TASKS", "register_task", "get_task", "describe_tasks", "SpecError",
    "SweepSpec", "parse_spec", "load_spec", "task_key", "SweepStore", "RecordWriter", "run_task",
    "prepare_worker", "run_sweep", "SweepReport", "collect", "RECORD_FORMAT",
]

RECORD_FORMAT = 1
RECORDS_DIR = "records"
TABLE_NAME = "results.csv"
_REQUIRED = object()
_MAX_TASKS = 100_000         # tasks per spec: validating the limit takes ~10 s on one core (issue 12, class 15)
_MAX_WORKERS = 1024          # worker processes per sweep
_MAX_SIZE = 1e15             # largest finite d and n of a theory task (as theory.problem.SIZE_MAX)
_MAX_SIM_SIZE = 10 ** 7      # largest d and n of a simulation task (memory is also checked by simulate)
SCHEDULER_TIMEOUT = "30s"  # how long to wait for a --scheduler to answer
_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ============================================================================ parameters and tasks
_frozen = dataclasses.dataclass(frozen=True)


@_frozen
class Param:
    """One task parameter: its kind, allowed range and default.

    kind : ``'real'`` (float in [low, high], ends open if ``*_open``), ``'int'`` (integer >= low),
    ``'count'`` (integer >= 1 or ``inf``; TOML ``inf`` or the string ``"inf"``), ``'choice'``.
    """

    kind: str
    default: object = _REQUIRED
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    choices: Tuple[str, ...] = ()
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "count":
            return "an integer >= 1 or inf" + ("" if self.high is None else f" (finite: at most {self.high:.0e})")
        if self.kind == "int":
            lo = int(self.low if self.low is not None else 0)
            return f"an integer >= {lo}" + ("" if self.high is None else f" (at most {int(self.high)})")
        lo = "-inf" if self.low is None else repr(float(self.low))
        hi = "inf" if self.high is None else repr(float(self.high))
        left = "(" if (self.low_open or self.low is None) else "["
        right = ")" if (self.high_open or self.high is None) else "]"
        return f"a real number in {left}{lo}, {hi}{right}"

    def coerce(self, name: str, value):
        """Return the canonical value or raise ``ValueError`` naming ``name``."""
        bad = ValueError(f"{name} must be {self.describe()}, got {value!r}")
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise bad
            return value
        if self.kind == "count":
            if isinstance(value, str) and value.strip().lower() in ("inf", "infinity"):
                return math.inf
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise bad
            v = float(value)
            if v == math.inf:
                return math.inf
            if not (math.isfinite(v) and v >= 1 and v == int(v)) or (self.high is not None and v > self.high):
                raise bad
            return int(v)
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise bad
            if self.low is not None and int(value) < self.low:
                raise bad
            if self.high is not None and int(value) > self.high:
                raise bad
            return int(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise bad
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            raise bad
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            raise bad
        if self.high is not None and (v > self.high or (self.high_open and v == self.high)):
            raise bad
        return v


@_frozen
class Task:
    """A sweep task: ``target`` (``"module:function"``, imported lazily) called as ``fn(**params)``.

    ``requires`` lists modules that must be importable for the task to be offered; ``check`` is an
    optional ``"module:function"`` called on every parameter set before any work (cross-parameter
    validation, e.g. building the :class:`~flowphase.theory.problem.Problem`).
    """

    name: str
    target: str
    params: Mapping[str, Param]
    requires: Tuple[str, ...] = ()
    check: Optional[str] = None
    doc: str = ""

    def function(self) -> Callable:
        return _resolve(self.target)

    def missing_modules(self) -> List[str]:
        out = []
        for mod in self.requires:
            try:
                found = importlib.util.find_spec(mod) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                out.append(mod)
        return out


def _resolve(path: str) -> Callable:
    mod, _, attr = path.partition(":")
    obj = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


TASKS: Dict[str, Task] = {}


def register_task(task: Task, replace: bool = False) -> Task:
    """Add ``task`` to the registry :data:`TASKS` (``replace=True`` to overwrite a name)."""
    if task.name in TASKS and not replace:
        raise ValueError(f"task {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The registered task ``name``; ``ValueError`` if unknown or not installed."""
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    task = TASKS[name]
    missing = task.missing_modules()
    if missing:
        raise ValueError(f"task {name!r} is not available in this installation "
                         f"(module {missing[0]} not found)")
    return task


# ---------------------------------------------------------------------------- built-in task functions
def _problem(p, sigma, kappa, d, n, lam_u, lam_w, noise):
    from flowphase.theory.problem import Problem

    return Problem.dilated(p=p, sigma=sigma, kappa=kappa, d=d, n=n, lam_u=lam_u, lam_w=lam_w,
                           noise=noise)


def _scalar(x):
    """A plain Python scalar from a result attribute (None kept: a flat direction)."""
    if x is None or isinstance(x, (str, bool)):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    return float(x)


def check_problem(**params) -> None:
    """Cross-parameter validation of the dilated problem and of t (PAPER §1.3: kappa/sqrt(d) < 1)."""
    keys = ("p", "sigma", "kappa", "d", "n", "lam_u", "lam_w", "noise")
    problem = _problem(**{k: params[k] for k in keys})
    if "t" in params:
        problem.schedule.check_t(params["t"])


def theory_overlaps(t, p, sigma, kappa, d, n, lam_u, lam_w, noise, theory="auto") -> dict:
    """Learned parameters (c, m, omega, b, sqrt(q), and the exact theory's z, a, sqrt(r)) at time t.

    Thin adapter around ``flowphase.numerics.learned.learned_parameters(problem, t, theory)``
    (``theory='auto'``: the exact finite-n theory of EXACT_FINITE_N where defined, evaluated at the
    problem's d; else the paper's, PAPER §3.1-§3.4); ``omega`` and ``b`` are None where flat.
    """
    from flowphase.numerics.learned import learned_parameters

    problem = _problem(p, sigma, kappa, d, n, lam_u, lam_w, noise)
    r = learned_parameters(problem, t, None if theory == "auto" else theory)
    out = {"phase": int(problem.phase(t)), "c": _scalar(r.c), "m": _scalar(r.m),
           "omega": _scalar(r.omega), "b": _scalar(r.b), "sqrt_q": _scalar(r.sqrt_q)}
    out["theory_used"] = r.theory
    for extra in ("z_plus", "z_minus", "a_plus", "a_minus", "sqrt_r", "q_eta", "q_xi", "branch",
                  "converged", "iterations"):  # exact-theory overlaps and solver diagnostics
        if hasattr(r, extra):
            out[extra] = _scalar(getattr(r, extra))
    return out


def theory_generated(p, sigma, kappa, d, n, lam_u, lam_w, noise, transition, window) -> dict:
    """Generated mode fraction, mean overlap and within-mode variance (PAPER §3.5).

    Adapter around ``flowphase.numerics.generation.generated_distribution(problem, transition)``;
    also returns E[y(1)] and P(y(1) > 0) after phase 1.
    """
    from flowphase.numerics.generation import generated_distribution

    r = generated_distribution(_problem(p, sigma, kappa, d, n, lam_u, lam_w, noise), transition,
                               window=window)
    return {k: _scalar(getattr(r, k))
            for k in ("p_hat", "mean_overlap", "variance", "y1_mean", "y1_prob_positive")}


def _mse_problem(p, sigma, kappa, schedule):
    from flowphase.theory.problem import Problem

    if schedule == "dilated":
        return Problem.dilated(p=p, sigma=sigma, kappa=kappa)
    return Problem.undilated(p=p, sigma=sigma)


def check_mse(t, p, sigma, kappa, schedule) -> None:
    """t must lie in the schedule's range: [0, 2] dilated, [0, 1] undilated (PAPER §1.3, §4)."""
    _mse_problem(p, sigma, kappa, schedule).schedule.check_t(t)


def theory_mse(t, p, sigma, kappa, schedule) -> dict:
    """Bayes denoising MSE eps(t) at d -> infinity, n = infinity (PAPER §4).

    Adapter around ``flowphase.numerics.mse.mse_curve``; with ``schedule = 'undilated'`` t is the
    physical time tau in [0, 1].
    """
    from flowphase.numerics.mse import mse_curve

    return {"mse": float(mse_curve(_mse_problem(p, sigma, kappa, schedule), [t])[0])}


def check_simulation(**params) -> None:
    """Cross-parameter validation of a finite-d simulation (finite d, n; kappa/sqrt(d) < 1)."""
    check_problem(**params)
    for key in ("d", "n"):
        if math.isinf(params[key]):
            raise ValueError(f"{key} must be finite for a simulation, got inf")
    if params["noise"] not in ("fresh", "fixed"):
        raise ValueError(f"noise must be 'fresh' or 'fixed' for a simulation, got {params['noise']!r}")


def simulation(t, p, sigma, kappa, d, n, lam_u, lam_w, noise, seed, epochs, optimizer, lr, draws,
               labels, init, backend) -> dict:
    """Finite-d training of the denoiser at one time t, one seed (PAPER §2.1-§2.3).

    Adapter around ``flowphase.validation.simulate.simulate``; returns the canonicalised overlaps
    ``c, m, omega, b, sqrt_q, sqrt_r`` and the final training loss.
    """
    from flowphase.validation.simulate import OVERLAP_NAMES, simulate

    problem = _problem(p, sigma, kappa, d, n, lam_u, lam_w, noise)
    r = simulate(problem, ts=[t], seeds=[seed], epochs=epochs, optimizer=optimizer, lr=lr, lr_final=lr / 100.0,
                 draws=draws, labels=labels, init=init, backend=backend, keep_params=False,
                 progress=False)
    out = {name: float(r.overlaps[0, 0, i]) for i, name in enumerate(OVERLAP_NAMES)}
    out["loss"] = float(r.final_loss()[0, 0])
    return out


def compare_task(t, p, sigma, kappa, d, n, lam_u, lam_w, noise, seed, n_seeds, epochs, optimizer,
                 lr, draws, labels, init, backend, theory_d, theory="auto") -> dict:
    """Theory vs simulation at one time t over seeds ``seed .. seed + n_seeds - 1`` (PAPER §3.9).

    Adapter around ``flowphase.validation.compare.compare``; returns, for each overlap q in
    (c, m, omega, b, sqrt_q), ``q_sim`` (mean over seeds), ``q_stderr``, ``q_theory`` and ``q_z``
    (None where the theory has no value, e.g. omega and b in phase 2).
    """
    from flowphase.validation.compare import compare

    problem = _problem(p, sigma, kappa, d, n, lam_u, lam_w, noise)
    table = compare(problem, seeds=list(range(seed, seed + n_seeds)), ts=[t], epochs=epochs,
                    theory_d=theory_d, theory=None if theory == "auto" else theory, optimizer=optimizer, lr=lr,
                    lr_final=lr / 100.0, draws=draws, labels=labels,
                    init=init, backend=backend, keep_params=False, progress=False)
    out = {}
    for r in table.rows:
        q = r["quantity"]
        out.update({f"{q}_sim": r["sim_mean"], f"{q}_stderr": r["sim_stderr"],
                    f"{q}_theory": r["theory"], f"{q}_z": r["z"]})
    return out


def weight_decay_lambda(weight_decay, d, n_times) -> dict:
    """Ridge penalty lambda = wd d T / 2 of a coupled weight decay (PAPER §2.3)."""
    from flowphase.theory.problem import weight_decay_to_lambda

    return {"lam": weight_decay_to_lambda(weight_decay, d, n_times)}


_P = Param("real", 0.8, 0.0, 1.0, True, True, doc="weight of the + mode")
_PROBLEM_PARAMS = {
    "p": _P,
    "sigma": Param("real", 1.0, 0.0, None, True, doc="within-mode standard deviation"),
    "kappa": Param("real", 2.0, 0.0, None, True, doc="dilation constant"),
    "d": Param("count", math.inf, high=_MAX_SIZE, doc="dimension (inf: d -> infinity theory)"),
    "n": Param("count", math.inf, high=_MAX_SIZE, doc="number of training samples (inf: population)"),
    "lam_u": Param("real", 2.0, 0.0, doc="ridge penalty on u (theory units)"),
    "lam_w": Param("real", 2.0, 0.0, doc="ridge penalty on w (theory units)"),
    "noise": Param("choice", "fresh", choices=("fresh", "fixed", "notebook"), doc="noise convention"),
}
_T = Param("real", _REQUIRED, 0.0, 2.0, doc="dilated time in [0, 2]")
_SIM_PARAMS = {
    "d": Param("count", _REQUIRED, high=_MAX_SIM_SIZE, doc="dimension (finite)"),
    "n": Param("count", _REQUIRED, high=_MAX_SIM_SIZE, doc="number of training samples (finite)"),
    "seed": Param("int", 0, 0, 2 ** 63 - 1, doc="seed (default: the spec's base seed)"),
    "epochs": Param("int", 2000, 1, 10 ** 7, doc="full-batch optimisation steps"),
    "optimizer": Param("choice", "adam", choices=("adam", "gd")),
    "lr": Param("real", 1e-2, 0.0, 1e6, True, doc="learning rate"),
    "draws": Param("int", 1, 1, 10 ** 6, doc="fresh noise draws per point per step"),
    "labels": Param("choice", "bernoulli", choices=("bernoulli", "exact")),
    "init": Param("choice", "small", choices=("random", "small", "informed")),
    "backend": Param("choice", "numba", choices=("numba", "numpy")),
}
_HERE = __name__

for _task in (
    Task("theory.overlaps", f"{_HERE}:theory_overlaps",
         {"t": _T, **_PROBLEM_PARAMS,
          "theory": Param("choice", "auto", choices=("auto", "exact", "paper"),
                          doc="finite-n theory: exact (EXACT_FINITE_N), paper (PAPER §3.2) or auto (exact where "
                              "defined)")},
         requires=("flowphase.numerics.learned",), check=f"{_HERE}:check_problem",
         doc="learned overlaps c, m, omega, b, sqrt_q at time t (PAPER §3.1-3.4)"),
    Task("theory.generated", f"{_HERE}:theory_generated",
         {**_PROBLEM_PARAMS,
          "transition": Param("choice", "exact", choices=("exact", "euler"),
                              doc="transition at t = 1 (PAPER §3.5)"),
          "window": Param("choice", "learned", choices=("learned", "bayes"),
                          doc="field inside the t = 1+ window for the exact transition")},
         requires=("flowphase.numerics.generation",), check=f"{_HERE}:check_problem",
         doc="generated p_hat, mean_overlap, variance, y1_mean, y1_prob_positive (PAPER §3.5)"),
    Task("theory.mse", f"{_HERE}:theory_mse",
         {"t": Param("real", _REQUIRED, 0.0, 2.0, doc="schedule time ([0, 1] undilated)"),
          "p": _P, "sigma": _PROBLEM_PARAMS["sigma"], "kappa": _PROBLEM_PARAMS["kappa"],
          "schedule": Param("choice", "dilated", choices=("dilated", "undilated"))},
         requires=("flowphase.numerics.mse",), check=f"{_HERE}:check_mse",
         doc="Bayes MSE eps(t) at d = n = inf (PAPER §4)"),
    Task("theory.closed_forms.phase_two", "flowphase.theory.closed_forms:phase_two_ridge",
         {"tp": Param("real", _REQUIRED, 0.0, 1.0, doc="phase-2 time t' = t - 1"),
          "n": _PROBLEM_PARAMS["n"], "sigma": _PROBLEM_PARAMS["sigma"],
          "lam_u": _PROBLEM_PARAMS["lam_u"], "noise": _PROBLEM_PARAMS["noise"]},
         requires=("flowphase.theory.closed_forms",),
         doc="phase-2 ridge closed forms c, m, q_eta, q_xi, A, B, D (PAPER §3.3-3.4)"),
    Task("theory.closed_forms.phase_one", "flowphase.theory.closed_forms:phase_one_population",
         {"t": Param("real", _REQUIRED, 0.0, 1.0, doc="phase-1 time"),
          "kappa": _PROBLEM_PARAMS["kappa"], "p": _P},
         requires=("flowphase.theory.closed_forms",),
         doc="phase-1 population fixed point c, m, omega, b, q, r (PAPER §3.1)"),
    Task("simulation", f"{_HERE}:simulation", {"t": _T, **_PROBLEM_PARAMS, **_SIM_PARAMS},
         requires=("flowphase.validation.simulate",), check=f"{_HERE}:check_simulation",
         doc="finite-d training at one time t and seed: c, m, omega, b, sqrt_q, sqrt_r, loss"),
    Task("compare", f"{_HERE}:compare_task",
         {"t": _T, **_PROBLEM_PARAMS, **_SIM_PARAMS,
          "n_seeds": Param("int", 4, 1, 10 ** 4, doc="seeds seed, seed+1, ... averaged"),
          "epochs": Param("int", 400, 1, 10 ** 7, doc="full-batch optimisation steps"),
          "theory_d": Param("choice", "finite", choices=("finite", "infinite"),
                            doc="theory evaluated at the simulated d (finite) or at d = inf"),
          "theory": Param("choice", "auto", choices=("auto", "exact", "paper"),
                          doc="finite-n theory (auto: exact where defined)")},
         requires=("flowphase.validation.compare",), check=f"{_HERE}:check_simulation",
         doc="theory vs simulation at time t: q_sim, q_stderr, q_theory, q_z per overlap q"),
    Task("theory.weight_decay_to_lambda", f"{_HERE}:weight_decay_lambda",
         {"weight_decay": Param("real", _REQUIRED, 0.0, doc="coupled weight decay"),
          "d": Param("real", _REQUIRED, 0.0, _MAX_SIZE, True, doc="dimension"),
          "n_times": Param("int", 1, 1, 10 ** 6, doc="number of grid times T")},
         requires=("flowphase.theory.problem",),
         doc="lambda = wd d T / 2 (PAPER §2.3)"),
):
    register_task(_task)


# ============================================================================ spec parsing
class SpecError(ValueError):
    """A malformed sweep spec; ``key`` and ``line`` (1-based, or None) locate the offence."""

    def __init__(self, message: str, key: Optional[str] = None, line: Optional[int] = None,
                 source: str = "<spec>"):
        self.key, self.line, self.source = key, line, source
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*$")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
_KEYLINE = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+)\s*=")


def _key_lines(text: str) -> Dict[Tuple[str, Optional[int], str], int]:
    """Map (table, array-table index, key) -> 1-based line by scanning the TOML text.

    Strings and comments are blanked first; the line where each ``key =`` starts is kept (a
    multi-line array points at its key).
    """
    out: Dict[Tuple[str, Optional[int], str], int] = {}
    table, index, counts, depth = "", None, {}, 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _STRINGS.sub('""', raw).split("#", 1)[0]
        if depth == 0:
            m = _HEADER.match(line)
            if m:
                name = m.group(2).strip().strip("\"'")
                if m.group(1) == "[[":
                    counts[name] = counts.get(name, -1) + 1
                    table, index = name, counts[name]
                else:
                    table, index = name, None
                continue
            k = _KEYLINE.match(line)
            if k:
                out.setdefault((table, index, k.group(1).strip("\"'")), lineno)
                line = line[k.end():]
        depth = max(0, depth + line.count("[") + line.count("{") - line.count("]") - line.count("}"))
    return out


@_frozen
class SweepSpec:
    """A validated sweep: the task, its canonical parameter sets, base seed and options."""

    task: str
    points: Tuple[Mapping[str, object], ...]
    seed: int = 0
    options: Mapping[str, object] = dataclasses.field(default_factory=dict)
    source: str = "<spec>"

    def items(self) -> List[Tuple[str, dict]]:
        """``[(key, params), ...]`` in spec order (duplicates removed)."""
        seen, out = set(), []
        for p in self.points:
            k = task_key(self.task, p)
            if k not in seen:
                seen.add(k)
                out.append((k, dict(p)))
        return out


def _canonical_json(obj) -> str:
    def enc(v):
        if isinstance(v, float) and math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    return json.dumps({k: enc(v) for k, v in sorted(obj.items())}, sort_keys=True,
                      separators=(",", ":"))


def task_key(task: str, params: Mapping[str, object]) -> str:
    """Stable key of a task: sha256 of its name and canonical (default-filled) parameters."""
    text = task + "\n" + _canonical_json(dict(params))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


_OPTIONS = {"sleep": Param("real", 0.0, 0.0, 3600.0, doc="seconds slept before each task")}
_TOP_KEYS = ("task", "seed", "description", "grid", "fixed", "points", "options")


def parse_spec(text: str, source: str = "<spec>") -> SweepSpec:
    """Parse and fully validate a sweep spec (TOML text) before any work is done.

    Raises
    ------
    SpecError
        Naming the offending key and its line: invalid TOML, unknown task, unknown parameter,
        wrong type, value out of range, missing required parameter, inconsistent combination.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"invalid TOML: {exc}", source=source) from None
    lines = _key_lines(text)

    def line_of(table: str, key: str, index: Optional[int] = None) -> Optional[int]:
        if (table, index, key) in lines:
            return lines[(table, index, key)]
        hits = [v for (tb, _, k), v in lines.items() if k == key and tb == table]
        return min(hits) if hits else None

    def fail(msg, table, key, index=None):
        label = key if not table else (f"[{table}] {key}" if index is None
                                       else f"[[{table}]] #{index + 1} {key}")
        raise SpecError(f"{label}: {msg}", key=key, line=line_of(table, key, index), source=source)

    for k in doc:
        if k not in _TOP_KEYS:
            fail(f"unknown top-level key (allowed: {', '.join(_TOP_KEYS)})", "", k)
    if "task" not in doc:
        raise SpecError("missing key 'task'", key="task", line=None, source=source)
    try:
        task = get_task(doc["task"])
    except ValueError as exc:
        fail(str(exc), "", "task")
    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        fail(f"seed must be an integer >= 0, got {seed!r}", "", "seed")

    options = {}
    opts = doc.get("options", {})
    if not isinstance(opts, dict):
        fail("must be a table", "", "options")
    for k, v in opts.items():
        if k not in _OPTIONS:
            fail(f"unknown option (allowed: {', '.join(_OPTIONS)})", "options", k)
        try:
            options[k] = _OPTIONS[k].coerce(k, v)
        except ValueError as exc:
            fail(str(exc), "options", k)
    for k, prm in _OPTIONS.items():
        options.setdefault(k, prm.default)

    where: Dict[str, Tuple[str, Optional[int]]] = {}  # param -> (table, index) defining it

    def coerce(table, key, value, index=None):
        if key not in task.params:
            fail(f"unknown parameter for task {task.name!r} (parameters: "
                 f"{', '.join(task.params)})", table, key, index)
        if isinstance(value, (dict, list)):
            fail(f"{key} must be a scalar here, got {type(value).__name__}", table, key, index)
        try:
            return task.params[key].coerce(key, value)
        except ValueError as exc:
            fail(str(exc), table, key, index)

    grid = doc.get("grid", {})
    if not isinstance(grid, dict):
        fail("must be a table of lists", "", "grid")
    axes = []
    for key, values in grid.items():
        if not isinstance(values, list):
            fail(f"grid values must be a list, got {values!r}", "grid", key)
        if not values:
            fail("grid list must not be empty", "grid", key)
        axes.append((key, [coerce("grid", key, v) for v in values]))
        where[key] = ("grid", None)
    fixed = doc.get("fixed", {})
    if not isinstance(fixed, dict):
        fail("must be a table of scalars", "", "fixed")
    fixed_c = {}
    for key, value in fixed.items():
        if key in where:
            fail("parameter given twice (in [grid] and [fixed])", "fixed", key)
        fixed_c[key] = coerce("fixed", key, value)
        where[key] = ("fixed", None)
    points = doc.get("points", [{}])
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points) or not points:
        fail("must be a non-empty array of tables ([[points]])", "", "points")
    points_c = []
    for i, pt in enumerate(points):
        pc = {}
        for key, value in pt.items():
            if key in where:
                fail(f"parameter given twice (in [[points]] and [{where[key][0]}])", "points", key, i)
            pc[key] = coerce("points", key, value, i)
        points_c.append(pc)

    size = len(points_c) * math.prod(len(v) for _, v in axes)
    if size > _MAX_TASKS:
        fail(f"the sweep has {size} tasks, more than the limit {_MAX_TASKS} (split it into several specs)", "", "grid")
    check = _resolve(task.check) if task.check else None
    names, lists = [a[0] for a in axes], [a[1] for a in axes]
    out = []
    for i, pc in enumerate(points_c):
        for combo in itertools.product(*lists):
            params = {**fixed_c, **dict(zip(names, combo)), **pc}
            for key, prm in task.params.items():
                if key not in params:
                    if key == "seed":  # seeded tasks default to the spec's base seed
                        params[key] = int(seed)
                        continue
                    if prm.required:
                        fail(f"required parameter {key!r} of task {task.name!r} is missing "
                             f"(give it in [grid], [fixed] or [[points]])", "", "task")
                    params[key] = prm.default
            params = {k: params[k] for k in task.params}
            if check is not None:
                try:
                    check(**params)
                except ValueError as exc:
                    bad = _first_param_named(str(exc), params, where, pc)
                    table, idx = ("points", i) if bad in pc else where.get(bad, ("", None))
                    fail(f"{exc} (parameter set {_canonical_json(params)})", table,
                         bad or "task", idx)
            out.append(params)
    return SweepSpec(task=task.name, points=tuple(out), seed=int(seed), options=options,
                     source=source)


def _first_param_named(msg: str, params, where, point) -> Optional[str]:
    """The spec-given parameter mentioned first in an error message (to locate its line)."""
    best = None
    for name in params:
        if name in where or name in point:
            m = re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", msg)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), name)
    return best[1] if best else None


def load_spec(path) -> SweepSpec:
    """Read and validate a sweep spec file (see :func:`parse_spec`)."""
    path = Path(path)
    return parse_spec(path.read_text(encoding="utf-8"), source=str(path))


# ============================================================================ store
@functools.lru_cache(maxsize=None)
def _version() -> str:
    """The installed flowphase version (cached: the metadata lookup costs ~1 ms)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowphase")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _json_clean(obj):
    """JSON-safe copy: +-inf as the strings 'inf'/'-inf' (NaN is refused upstream)."""
    if isinstance(obj, dict):
        return {str(k): _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, float) and math.isinf(obj):
        return "inf" if obj > 0 else "-inf"
    return obj




class SweepStore:
    """Directory of task records ``DIR/records/<key>.json``, safe for concurrent writers.

    Each record is written to a unique temporary file in the same directory, flushed and
    fsync-ed, then renamed over its final name with :func:`os.replace` (atomic on POSIX): after a
    crash (of the process or of the machine) a record is either absent or complete, and two
    writers of the same key leave one complete record.  The directory itself is not fsync-ed per
    record: after a power loss the last renames may be missing, and those tasks simply run again.
    ``fsync=False`` skips the file fsync too (the rename stays atomic, so a killed *process* still
    leaves complete records; after a power loss an empty or torn record is unreadable, ignored by
    :meth:`load` and recomputed).
    """

    def __init__(self, root, create: bool = True, fsync: bool = True):
        self.root = Path(root)
        self.fsync = bool(fsync)
        self.records = self.root / RECORDS_DIR
        if create:
            self.records.mkdir(parents=True, exist_ok=True)
        elif not self.records.is_dir():
            raise FileNotFoundError(f"{self.root} holds no sweep records ({RECORDS_DIR}/ missing)")

    def path(self, key: str) -> Path:
        return self.records / f"{key}.json"

    def write(self, record: Mapping) -> Path:
        """Atomically write ``record`` (a dict with a ``key``) and return its path."""
        key = record["key"]
        text = json.dumps(_json_clean(dict(record)), allow_nan=False, indent=1)
        return atomic_write_text(self.path(key), text, fsync=self.fsync)

    def read(self, key: str) -> Optional[dict]:
        """The record of ``key``, or None if absent or unreadable."""
        try:
            with open(self.path(key), encoding="utf-8") as f:
                rec = json.load(f)
        except (OSError, ValueError, RecursionError):   # missing, unreadable, torn or not JSON
            return None
        return rec if valid_record(rec, key) else None

    def load(self) -> Dict[str, dict]:
        """Every complete record, by key (temporary files of running writers are ignored)."""
        out = {}
        for path in sorted(self.records.glob("*.json")):
            try:
                with open(path, encoding="utf-8") as f:
                    rec = json.load(f)
            except (OSError, ValueError, RecursionError):   # a folder, unreadable, torn or not JSON
                continue
            if valid_record(rec, path.stem):
                out[path.stem] = rec
        return out

    def clean_temporaries(self) -> int:
        """Remove crash leftovers ``records/.KEY.json.*.tmp`` of writers no longer running."""
        from flowphase.validation._io import clean_stale_temps

        return clean_stale_temps(self.records)

    def write_table(self, path=None) -> Path:
        """Merged CSV: one row per task, parameter columns, then result columns, then metadata."""
        records = list(self.load().values())
        params, results = [], []
        for rec in records:
            task = TASKS.get(rec.get("task"))
            for k in list(task.params if task else []) + list(rec.get("params", {})):
                if k not in params:
                    params.append(k)
        records.sort(key=lambda r: (r.get("task", ""),
                                    tuple(_sort_key(r["params"].get(k)) for k in params)))
        for rec in records:
            for k in rec.get("result") or {}:
                if k not in results:
                    results.append(k)
        meta = [m for m in ("task", "status", "error", "seed", "flowphase_version", "elapsed_s",
                            "key") if m not in params]
        results = [r for r in results if r not in params and r not in meta]
        path = Path(path) if path else self.root / TABLE_NAME
        buf = io.StringIO(newline="")
        w = csv.writer(buf)
        w.writerow(params + results + meta)
        for rec in records:
            res = rec.get("result") or {}
            err = rec.get("error") or {}
            info = {**rec, "error": f"{err.get('type')}: {err.get('message')}" if err else None}
            row = ([rec["params"].get(k) for k in params] + [res.get(k) for k in results]
                   + [info.get(m) for m in meta])
            w.writerow(["" if v is None else v for v in row])
        return atomic_write_text(path, buf.getvalue())


def valid_record(rec, key: str) -> bool:
    """A record as :func:`run_task` writes it: a dict with this key, a task name, a params dict, a status
    'done' (with a result dict) or 'failed' (with an error dict).  Anything else (hand-edited, truncated
    by a disk full, another program's JSON) is treated as missing: ignored by ``collect`` and re-run."""
    if not isinstance(rec, dict) or rec.get("key") != key or not isinstance(rec.get("task", ""), str):
        return False
    if not isinstance(rec.get("params"), dict):
        return False
    st = rec.get("status")
    if st == "done":
        return isinstance(rec.get("result"), dict)
    if st == "failed":
        return rec.get("error") is None or isinstance(rec.get("error"), dict)
    return False


def _sort_key(v):
    if v is None:
        return (0, 0.0, "")
    if isinstance(v, str) and v in ("inf", "-inf"):
        return (1, float(v), "")
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return (1, float(v), "")
    return (2, 0.0, str(v))


def collect(out) -> Path:
    """Write ``DIR/results.csv`` from the records in ``DIR`` and return its path."""
    return SweepStore(out, create=False).write_table()


# ============================================================================ running one task
def _clean_result(raw) -> dict:
    if not isinstance(raw, Mapping):
        raise TypeError(f"a task must return a flat dict of results, got {type(raw).__name__}")
    out = {}
    for k, v in raw.items():
        if not isinstance(k, str):
            raise TypeError(f"result names must be strings, got {k!r}")
        try:
            v = _scalar(v)
        except (TypeError, ValueError):
            raise TypeError(f"result {k!r} must be a scalar, got {type(v).__name__}") from None
        if isinstance(v, float) and math.isnan(v):
            raise ValueError(f"result {k!r} is NaN")
        if isinstance(v, float) and math.isinf(v) and k not in DOCUMENTED_INF_KEYS:
            raise ValueError(f"result {k!r} is {v} (overflow)")
        out[k] = v
    return out


def run_task(task: str, key: str, params: Mapping, seed: int = 0, sleep: float = 0.0) -> dict:
    """Run one task and return its record (never raises for an error inside the task).

    The record holds ``key, task, params, status ('done' | 'failed'), result | error, seed,
    flowphase_version, host, pid, started_at, elapsed_s`` and ``format``.
    """
    started, t0 = time.time(), time.perf_counter()
    result, error = None, None
    try:
        if sleep:
            time.sleep(sleep)
        result = _clean_result(_task_function(task)(**params))
    except Exception as exc:  # noqa: BLE001 - a failing task is recorded, never fatal
        error = {"type": type(exc).__name__, "message": str(exc),
                 "traceback": traceback.format_exc(limit=20)}
    return {"format": RECORD_FORMAT, "key": key, "task": task, "params": dict(params),
            "status": "done" if error is None else "failed", "result": result, "error": error,
            "seed": int(params.get("seed", seed)), "flowphase_version": _version(),
            "host": socket.gethostname(), "pid": os.getpid(), "started_at": started,
            "elapsed_s": time.perf_counter() - t0}


def _task_function(name: str) -> Callable:
    """The task's function, resolved once per process (``get_task`` checks availability)."""
    fn = _FUNCTIONS.get(name)
    if fn is None or fn[0] is not TASKS.get(name):
        task = get_task(name)
        fn = _FUNCTIONS[name] = (task, task.function())
    return fn[1]


_FUNCTIONS: Dict[str, Tuple[Task, Callable]] = {}


# ============================================================================ workers
_WORKER_READY: Dict[Tuple, float] = {}


def _thread_env(threads: int) -> Dict[str, str]:
    return {v: str(int(threads)) for v in _THREAD_VARS}


def prepare_worker(task: str, warm_params: Optional[Mapping], threads: int) -> float:
    """Cap numba/BLAS threads and warm the numba cache, once per worker process.

    Runs the task once on ``warm_params`` (its result is discarded) so that numba compiles or
    loads its cache before the first real task; a second call in the same process does nothing.
    Returns the seconds spent warming (0 when already warm).
    """
    token = (task, int(threads))
    if token in _WORKER_READY:
        _cap_threads(threads)
        return 0.0
    t0 = time.perf_counter()
    env = _thread_env(threads)
    if "numba" in sys.modules:
        # numba already loaded (e.g. an in-process call): its thread count is set by _cap_threads; changing
        # NUMBA_NUM_THREADS now would make the next compilation fail once its threads have been launched
        env.pop("NUMBA_NUM_THREADS", None)
    os.environ.update(env)
    _cap_threads(threads)
    if warm_params is not None:
        try:
            _task_function(task)(**warm_params)
        except Exception:  # noqa: BLE001 - the real run records the error
            pass
    _WORKER_READY[token] = time.perf_counter() - t0
    return _WORKER_READY[token]


def _cap_threads(threads: int) -> None:
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn/joblib
        return
    threadpool_limits(int(threads))


def _run_chunk(task: str, items: Sequence[Tuple[str, dict]], seed: int, sleep: float,
               out: Optional[str], threads: int, warm: Optional[Mapping],
               fsync: bool = True) -> list:
    """Worker side: run ``items``; store each record at once when ``out`` is given.

    Returns ``(key, status)`` pairs when the worker stores, else the full records.
    """
    prepare_worker(task, warm, threads)
    res: list = []
    if not out:
        return [run_task(task, key, params, seed, sleep) for key, params in items]
    with RecordWriter(SweepStore(out, fsync=fsync), lambda k, st: res.append((k, st))) as writer:
        for key, params in items:
            writer.put(run_task(task, key, params, seed, sleep))
    return res


class RecordWriter:
    """Store records on a few background threads so that the fsync of one record overlaps the
    computation of the next tasks (fsync releases the GIL).

    At most ``depth`` finished records wait to be stored; ``on_stored(key, status)`` is called in
    this thread, in submission order, once a record is on disk.  Leaving the ``with`` block waits
    for every pending write (also on an exception or Ctrl-C).  A SIGKILL can lose at most ``depth``
    finished-but-unstored tasks, which a resumed sweep simply recomputes; no record is ever torn.
    """

    def __init__(self, store: "SweepStore", on_stored: Callable[[str, str], None], depth: int = 8):
        self.store, self.on_stored, self.depth = store, on_stored, int(depth)
        self.pool = cf.ThreadPoolExecutor(max_workers=max(1, min(4, self.depth)),
                                          thread_name_prefix="sweep-writer")
        self.pending: collections.deque = collections.deque()

    def put(self, record: Mapping) -> None:
        self.pending.append((self.pool.submit(self.store.write, record), record["key"],
                             record["status"]))
        self._drain(self.depth)

    def _drain(self, keep: int) -> None:
        while self.pending and (self.pending[0][0].done() or len(self.pending) > keep):
            fut, key, status = self.pending.popleft()
            fut.result()
            self.on_stored(key, status)

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                self._drain(0)
        finally:
            self.pool.shutdown(wait=True)
        return False


# ============================================================================ driver
@_frozen
class SweepReport:
    """Counts of a sweep run: ``total`` tasks in the spec, skipped ones already stored, ``ran`` now,
    and the final ``done``/``failed``/``missing`` counts for the spec, plus the table path."""

    total: int
    skipped: int
    ran: int
    done: int
    failed: int
    missing: int
    table: Optional[Path]
    executor: str
    elapsed_s: float


def _choose_executor(executor: str, workers: int, scheduler: Optional[str]) -> str:
    if executor not in ("auto", "serial", "joblib", "dask"):
        raise ValueError(f"executor must be auto, serial, joblib or dask, got {executor!r}")
    if scheduler and executor not in ("auto", "dask"):
        raise ValueError(f"--scheduler needs the dask executor, not {executor!r}")
    if executor != "auto":
        return executor
    if scheduler:
        return "dask"
    if workers <= 1:
        return "serial"
    return "dask" if importlib.util.find_spec("distributed") else "joblib"


def _chunks(items: list, size: int) -> List[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_sweep(spec: SweepSpec, out, *, executor: str = "auto", workers: int = 1,
              scheduler: Optional[str] = None, retry_failed: bool = False,
              threads_per_worker: Optional[int] = None, chunksize: Optional[int] = None,
              write_on: str = "worker", progress: Optional[bool] = None,
              dask_processes: bool = True, fsync: bool = True) -> SweepReport:
    """Run every task of ``spec`` not yet stored in ``out`` and write ``out/results.csv``.

    Parameters
    ----------
    spec : SweepSpec
        From :func:`load_spec` / :func:`parse_spec` (already validated).
    out : path
        Output folder; records go to ``out/records/<key>.json`` as each task finishes.
    executor : {'auto', 'serial', 'joblib', 'dask'}
        ``auto``: dask if a scheduler is given, serial for one worker, else a Dask
        ``LocalCluster`` (joblib/loky when distributed is not installed).
    workers : int
        Worker processes for joblib / LocalCluster.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).
    retry_failed : bool
        Re-run tasks stored as failed (otherwise they are skipped like done ones).
    threads_per_worker : int, optional
        numba/BLAS threads per worker (default ``cpu_count // workers``, at least 1).
    chunksize : int, optional
        Tasks per submitted job (default: about 8 jobs per worker, at most 100 tasks each).
    write_on : {'worker', 'driver'}
        Who writes the records: the workers (the output folder must then be shared with them)
        or this process (no shared folder needed).
    progress : bool, optional
        tqdm bar with done/failed/remaining counts (None: only on a terminal).
    dask_processes : bool
        LocalCluster workers as processes (True) or threads of this process (False).
    fsync : bool
        fsync every record before its rename (see :class:`SweepStore`).

    Returns
    -------
    SweepReport
    """
    t_start, wall_start = time.perf_counter(), time.time()
    # every option is checked before anything is written or started (issue 12, classes 1 and 8)
    workers = as_int("workers", workers, 1, _MAX_WORKERS)
    if threads_per_worker is not None:
        threads_per_worker = as_int("threads_per_worker", threads_per_worker, 1, 1024)
    if chunksize is not None:
        chunksize = as_int("chunksize", chunksize, 1, 10 ** 6)
    if write_on not in ("worker", "driver"):
        raise ValueError(f"write_on must be 'worker' or 'driver', got {write_on!r}")
    kind = _choose_executor(executor, workers, scheduler)
    if kind != "dask" or not scheduler:
        cpus = os.cpu_count() or 1
        if workers > max(64, 8 * cpus):
            raise ValueError(f"workers must be at most {max(64, 8 * cpus)} on this machine ({cpus} cores), "
                             f"got {workers}; use --scheduler for a cluster")
    store = SweepStore(out, fsync=fsync)
    store.clean_temporaries()
    items = spec.items()
    stored = store.load()
    todo = [(k, p) for k, p in items
            if k not in stored or (retry_failed and stored[k].get("status") != "done")]
    status = {k: stored[k].get("status") for k, _ in items if k in stored}
    threads = threads_per_worker or max(1, (os.cpu_count() or 1) // workers)
    sleep = float(spec.options.get("sleep", 0.0))
    bar = _progress(len(todo), status, len(items), progress)

    def record(key, st):
        bar.tick(status.get(key), st)
        status[key] = st

    try:
        if todo and kind == "serial":
            with RecordWriter(store, record) as writer:
                for key, params in todo:
                    writer.put(run_task(spec.task, key, params, spec.seed, sleep))
        elif todo:
            size = chunksize or max(1, min(100, math.ceil(len(todo) / (8 * workers))))
            worker_out = str(Path(out).resolve()) if write_on == "worker" else None
            with _make_executor(kind, workers, scheduler, threads, spec.task, todo[0][1],
                                worker_out, dask_processes) as ex:
                futures = {ex.submit(_run_chunk, spec.task, chunk, spec.seed, sleep, worker_out,
                                     threads, todo[0][1], fsync): chunk
                           for chunk in _chunks(todo, size)}
                for fut in cf.as_completed(futures):
                    try:
                        res = fut.result()
                    except Exception as exc:  # noqa: BLE001 - a lost worker fails its chunk only
                        res = []
                        for key, params in futures[fut]:
                            rec = store.read(key)
                            if rec is None or rec.get("started_at", 0.0) < wall_start:
                                rec = _lost_record(spec, key, params, exc)
                                store.write(rec)
                            res.append((key, rec["status"]))
                    for r in res:
                        if isinstance(r, dict):
                            store.write(r)
                            r = (r["key"], r["status"])
                        record(*r)
    finally:
        bar.close()
    table = store.write_table()
    done = sum(1 for k, _ in items if status.get(k) == "done")
    failed = sum(1 for k, _ in items if status.get(k) == "failed")
    return SweepReport(total=len(items), skipped=len(items) - len(todo), ran=len(todo), done=done,
                       failed=failed, missing=len(items) - done - failed, table=table,
                       executor=kind, elapsed_s=time.perf_counter() - t_start)



def _lost_record(spec: SweepSpec, key: str, params: Mapping, exc: BaseException) -> dict:
    """Failed record for a task whose worker died before storing it (retried by --retry-failed)."""
    return {"format": RECORD_FORMAT, "key": key, "task": spec.task, "params": dict(params),
            "status": "failed", "result": None,
            "error": {"type": type(exc).__name__, "message": f"worker lost: {exc}",
                      "traceback": "".join(traceback.format_exception_only(type(exc), exc))},
            "seed": int(params.get("seed", spec.seed)), "flowphase_version": _version(),
            "host": socket.gethostname(), "pid": os.getpid(), "started_at": time.time(),
            "elapsed_s": 0.0}


class _progress:
    """tqdm bar over the tasks to run, with done/failed/remaining counts for the whole spec."""

    def __init__(self, todo: int, status: Mapping[str, str], total: int, enabled: Optional[bool]):
        from tqdm.auto import tqdm

        self.total = total
        self.counts = {"done": 0, "failed": 0}
        for v in status.values():
            if v in self.counts:
                self.counts[v] += 1
        self.bar = tqdm(total=todo, unit="task", desc="sweep",
                        disable=None if enabled is None else not enabled,
                        dynamic_ncols=True, file=sys.stderr)
        self._show()

    def tick(self, old: Optional[str], new: str) -> None:
        """One task went from status ``old`` (None: not stored) to ``new``."""
        if old in self.counts:
            self.counts[old] -= 1
        if new in self.counts:          # any other status counts as remaining (reported as missing)
            self.counts[new] += 1
        self._show()
        self.bar.update(1)

    def _show(self) -> None:
        done, failed = self.counts["done"], self.counts["failed"]
        self.bar.set_postfix(done=done, failed=failed, remaining=self.total - done - failed,
                             refresh=False)

    def close(self) -> None:
        self.bar.close()


class _make_executor:
    """Context manager yielding a :class:`concurrent.futures.Executor` of the chosen kind.

    * ``joblib``: loky's reusable process pool; NUMBA_NUM_THREADS/OMP_NUM_THREADS... set in the
      worker environment and :func:`prepare_worker` as the worker initialiser (once per worker);
    * ``dask``: ``Client(scheduler)`` or a ``LocalCluster`` (one thread per worker process),
      :func:`prepare_worker` run once on every worker with ``client.run``, then
      ``client.get_executor()``.
    """

    def __init__(self, kind, workers, scheduler, threads, task, warm, out, processes):
        self.kind, self.workers, self.scheduler = kind, workers, scheduler
        self.threads, self.task, self.warm, self.out = threads, task, warm, out
        self.processes = processes
        self.client = self.cluster = self.executor = None

    def __enter__(self) -> cf.Executor:
        if self.kind == "joblib":
            from joblib.externals.loky import get_reusable_executor

            self.executor = get_reusable_executor(
                max_workers=self.workers, initializer=prepare_worker,
                initargs=(self.task, self.warm, self.threads), env=_thread_env(self.threads),
                reuse="auto")
            return self.executor
        import logging

        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout=SCHEDULER_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise ValueError(f"cannot reach the Dask scheduler {self.scheduler!r} within "
                                 f"{SCHEDULER_TIMEOUT}: {exc}") from None
        else:
            kw = {"env": _thread_env(self.threads)} if self.processes else {}
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                        processes=self.processes, dashboard_address=None,
                                        silence_logs=logging.ERROR, **kw)
            self.client = Client(self.cluster)
        if self.out is not None:
            seen = self.client.run(os.path.isdir, self.out)
            blind = sorted(w for w, ok in seen.items() if not ok)
            if blind:
                self.__exit__(None, None, None)
                raise ValueError(f"out folder {self.out} is not visible on worker(s) "
                                 f"{', '.join(blind)}: use a shared folder or --write-on driver")
        self.client.run(prepare_worker, self.task, self.warm, self.threads)
        self.executor = self.client.get_executor(pure=False)
        return self.executor

    def __exit__(self, *exc):
        if self.kind == "joblib":
            if exc and exc[0] is not None:
                self.executor.shutdown(wait=False, kill_workers=True)
            return False
        if self.executor is not None:
            self.executor.shutdown(wait=False)
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False


def describe_tasks() -> str:
    """Human-readable list of the registered tasks, their parameters, defaults and ranges."""
    lines = []
    for name in sorted(TASKS):
        task = TASKS[name]
        missing = task.missing_modules()
        lines.append(f"{name}{'  (not installed: ' + missing[0] + ')' if missing else ''}"
                     f" -- {task.doc}")
        for pname, prm in task.params.items():
            dflt = "required" if prm.required else f"default {prm.default!r}"
            lines.append(f"    {pname}: {prm.describe()}, {dflt}")
    return "\n".join(lines)
