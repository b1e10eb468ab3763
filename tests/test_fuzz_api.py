"""Property-based fuzzing of the public API (issue 12).

Hypothesis draws arguments for the public constructors and solvers from pools of valid values and of
hostile ones (None, strings, bools, NaN, inf, 1e-320, 1e308, 10**400, lists, huge sizes).  Every call
must either return a result without a non-finite number (outside the documented keys ``n``, ``d``,
``b``, ``t_c``, ``t_s``) or raise ``ValueError`` / ``ConvergenceError`` -- never another exception type,
and without a RuntimeWarning.  Examples are derandomised; the module runs in a few tens of seconds.
"""
from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz_util import non_finite_paths, report, tally_guard
from flowphase.numerics.results import ConvergenceError

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])

HOSTILE = [None, "0.5", "", True, False, float("nan"), float("inf"), -float("inf"), 1e-320, 1e308, -1.0, 0,
           10 ** 400, 2 ** 63, [0.5], (1, 2), {"a": 1}, 1e-300, 2.7, -0.0, np.float64(0.5), np.int64(3)]


def val(*valid):
    return st.one_of(st.sampled_from(valid), st.sampled_from(HOSTILE))


def _result_values(res):
    """A nested structure of the numbers a result carries (dataclass fields, dict values, arrays)."""
    if dataclasses.is_dataclass(res) and not isinstance(res, type):
        return {f.name: _result_values(getattr(res, f.name)) for f in dataclasses.fields(res)
                if f.name not in ("problem", "results", "info", "value")}
    if isinstance(res, dict):
        return {k: _result_values(v) for k, v in res.items()}
    if isinstance(res, (list, tuple)):
        return [_result_values(v) for v in res[:200]]
    return res


#: result fields documented to hold NaN: ``PhaseOneResult.energy_informative`` (no informative minimum was
#: found) and ``PhaseOneResult.t`` (the solver was called with ``kt`` only); ``read_idx`` returns what a float
#: IDX file stores (``load_mnist`` checks the values)
DOCUMENTED_NAN = {"energy_informative", "t"}
#: ``ExactParameters`` on the saturated branch: w and b are flat directions, documented as NaN; and at d = inf its
#: ``B = beta sqrt(d)`` is documented as inf
FLAT_ON_SATURATED = {"omega", "b", "z_plus", "z_minus", "sqrt_r"}


def _nan_only_where_saturated(res) -> bool:
    """The flat fields of a point (``branch`` a string) or curve (``branch`` a list) result are NaN only on the
    saturated branch."""
    branch = getattr(res, "branch", None)
    if isinstance(branch, str):
        return branch == "saturated"
    if not isinstance(branch, list):
        return False
    sat = np.array([b == "saturated" for b in branch])
    for name in FLAT_ON_SATURATED:
        v = getattr(res, name, None)
        if isinstance(v, np.ndarray) and v.shape == sat.shape and np.any(np.isnan(v) & ~sat):
            return False
    return True


def check_call(fn, *args, allow_raw=False, allow_type_error=False, **kwargs):
    """Call ``fn`` and return the contract violations (``allow_type_error``: a ``TypeError`` is a clean refusal
    too, for arguments of the wrong kind such as a non-problem)."""
    v = []
    allowed = (ValueError, ConvergenceError, TypeError) if allow_type_error else (ValueError, ConvergenceError)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = fn(*args, **kwargs)
        except allowed:
            res = None
        except Exception as exc:  # noqa: BLE001 - the property under test
            v.append(f"{type(exc).__name__}: {str(exc)[:100]}")
            res = None
    for w in caught:
        if issubclass(w.category, RuntimeWarning):
            v.append(f"RuntimeWarning: {str(w.message)[:80]}")
            break
    if res is not None and not allow_raw:
        bad = [b for b in non_finite_paths(_result_values(res)) if b.split(".")[-1] not in DOCUMENTED_NAN]
        if _nan_only_where_saturated(res):
            bad = [b for b in bad if b.split(".")[-1] not in FLAT_ON_SATURATED]
        if isinstance(getattr(res, "d", None), float) and math.isinf(res.d):
            bad = [b for b in bad if b.split(".")[-1] != "B"]
        if bad:
            v.append(f"non-finite result at {bad[:3]}")
    return v


def problem_kwargs():
    return st.fixed_dictionaries({}, optional={
        "p": val(0.5, 0.8, 0.3), "sigma": val(0.5, 1.0, 2.0), "kappa": val(1.0, 2.0, 5.0),
        "n": val(1, 8, 128, math.inf), "lam_u": val(0.0, 0.1, 2.0, 50.0), "lam_w": val(0.0, 1.0, 2.0),
        "noise": st.sampled_from(["fresh", "fixed", "notebook", "bad", None]), "d": val(math.inf, 100, 5000)})


def _problem(kw):
    from flowphase.theory.problem import Problem

    return Problem.dilated(**kw)


def _solve(fn_name, kw, t):
    """Build the problem then call the solver (a bad problem is a ValueError, which is allowed)."""
    import importlib

    mod, fn = fn_name.split(":")
    return getattr(importlib.import_module(mod), fn)(_problem(kw), t)


CASES = {}


def case(name, n):
    def deco(f):
        CASES[name] = (f, n)
        return f
    return deco


@case("problem", 80)
@given(problem_kwargs(), st.sampled_from(["dilated", "undilated"]))
def _problem_case(kw, kind):
    from flowphase.theory.problem import Problem

    kw = dict(kw)
    if kind == "undilated":
        kw.pop("kappa", None)
    report("api", ("Problem", kind, kw), check_call(getattr(Problem, kind), **kw))


@case("learned", 60)
@given(problem_kwargs(), val(0.0, 0.3, 1.0, 1.5, 2.0))
def _learned_case(kw, t):
    report("api", ("learned_parameters", kw, t), check_call(_solve, "flowphase.numerics.learned:learned_parameters",
                                                            kw, t))


@case("phase_one", 60)
@given(val(0.0, 0.5, 3.0, 300.0), val(0.6, 0.8), val(1, 8, 128), val(1.0, 0.5), val(0.0, 2.0), val(0.0, 2.0),
       val(1e-11, 1e-8))
def _phase_one_case(kt, p, n, sigma, lu, lw, tol):
    from flowphase.numerics.phase_one import solve_phase_one

    report("api", ("solve_phase_one", kt, p, n, sigma, lu, lw, tol),
           check_call(solve_phase_one, kt, p, n, sigma=sigma, lam_u=lu, lam_w=lw, tol=tol))


@case("mse", 12)
@given(problem_kwargs(), val(0.0, 0.5, 1.0, 2.0))
def _mse_case(kw, t):
    kw = {k: v for k, v in kw.items() if k in ("p", "sigma", "kappa")}
    report("api", ("mse_at", kw, t), check_call(_solve, "flowphase.numerics.mse:mse_at", kw, t))


@case("speciation", 60)
@given(st.sampled_from(["speciation_time", "collapse_time", "cloning_probability", "speciation_time_linear",
                        "collapse_time_linear"]), val(10.0, 1000.0, 1e300), val(1.0, 0.5, 1e200), val(2, 100))
def _speciation_case(fn, d, sigma, n):
    from flowphase.numerics import speciation as S

    args = {"speciation_time": (d,), "speciation_time_linear": (d,), "collapse_time": (n, d),
            "collapse_time_linear": (n, d), "cloning_probability": (0.5, d)}[fn]
    report("api", (fn, args, sigma), check_call(getattr(S, fn), *args, sigma=sigma))


@case("weight_decay", 40)
@given(val(1e-5, 0.0), val(5000, 1.0, 1e300), val(80, 1))
def _wd_case(wd, d, T):
    from flowphase.theory.problem import lambda_to_weight_decay, weight_decay_to_lambda

    report("api", ("weight_decay_to_lambda", wd, d, T), check_call(weight_decay_to_lambda, wd, d, T))
    report("api", ("lambda_to_weight_decay", wd, d, T), check_call(lambda_to_weight_decay, wd, d, T))


@case("simulate", 30)
@given(st.fixed_dictionaries({}, optional={
    "epochs": val(1, 5, 20), "seeds": st.one_of(st.just([0]), st.just([0, 1]), st.sampled_from(HOSTILE)),
    "lr": val(0.01, 0.25, 10.0), "optimizer": st.sampled_from(["adam", "gd", "sgd"]), "draws": val(0, 1, 2),
    "init": st.sampled_from(["small", "random", "informed", "x"]), "train_c": val(True, False),
    "betas": st.sampled_from([(0.9, 0.999), (2, 2), (0.9,), "ab", None]), "eps": val(1e-8),
    "record_every": val(1, 2), "backend": st.sampled_from(["numba", "numpy"]),
    "ts": st.sampled_from([[0.5], [0.5, 1.5], [], ["0.5"], [3.0], [float("nan")], 0.5, [[0.5]]])}),
    val(8, 16, 2), val(4, 8))
def _simulate_case(kw, d, n):
    from flowphase.theory.problem import Problem
    from flowphase.validation.simulator import simulate

    def run():
        return simulate(Problem.dilated(), d=d, n=n, **{"ts": [0.5], "epochs": 5, **kw})

    report("api", ("simulate", kw, d, n), check_call(run))


@case("generate", 40)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 4), st.sampled_from(["ok", "short_c", "narrow_w", "nan",
                                                                                   "int", "3d", "bool"]),
       val(16, 2, 1))
def _generate_case(T, d, seed, mode, n_gen):
    from flowphase.theory.problem import Problem
    from flowphase.validation.sampling import generate_from_params

    rng = np.random.default_rng(seed)
    prob = Problem.dilated(kappa=1.0, d=max(d, 2), n=4)
    ts = prob.schedule.grid(max(T, 2))
    c, b = rng.normal(size=len(ts)), rng.normal(size=len(ts))
    u, w = rng.normal(size=(len(ts), d)), rng.normal(size=(len(ts), d))
    if mode == "short_c":
        c = c[:-1]
    elif mode == "narrow_w":
        w = w[:, :-1]
    elif mode == "nan":
        u[0, 0] = np.nan
    elif mode == "int":
        c = np.arange(len(ts))
    elif mode == "3d":
        u = u[None]
    elif mode == "bool":
        b = b > 0
    report("api", ("generate_from_params", T, d, mode, n_gen),
           check_call(generate_from_params, prob, ts, c, b, u, w, n_gen=n_gen))


@case("statistics", 30)
@given(st.integers(0, 5), st.integers(0, 5), st.sampled_from(["ok", "nan", "inf", "1d", "str", "huge"]))
def _stats_case(N, d, mode):
    from flowphase.validation.sampling import generated_statistics

    X = np.random.default_rng(N + 7 * d).normal(size=(N, d))
    if mode == "nan" and X.size:
        X.flat[0] = np.nan
    elif mode == "inf" and X.size:
        X.flat[-1] = np.inf
    elif mode == "1d":
        X = X.ravel()
    elif mode == "str":
        X = X.astype(str)
    elif mode == "huge":
        X = X * 1e300
    report("api", ("generated_statistics", N, d, mode), check_call(generated_statistics, X))


@case("schedules", 80)
@given(st.lists(st.one_of(st.tuples(val(0.0, 0.1, 0.5), val(0.2, 0.6, 1.0)), st.sampled_from(HOSTILE),
                          st.fixed_dictionaries({"start": val(0.1), "end": val(0.3)})), max_size=3),
       val(0.5, 0.9), val(1.0, 2.0), val(0.0, 0.3, 1.0), val(3, 100))
def _schedule_case(windows, mass, t_max, tau, k):
    from flowphase.numerics.schedules import PiecewiseSchedule, design_schedule

    def run():
        s = design_schedule(windows, mass=mass, t_max=t_max)
        return {"cdf": s.cdf(tau), "tau": s.tau(s.t_max * 0.5), "sample": s.sample(k, 0),
                "grid": s.tau_grid(k), "back": PiecewiseSchedule.from_json(s.to_json()).window_mass()}

    report("api", ("design_schedule", windows, mass, t_max, tau, k), check_call(run))


@case("schedule_json", 40)
@given(st.one_of(st.sampled_from(['[]', 'null', '3', '"x"', '{', '{"windows": "x"}', '{"windows": [1]}',
                                  '{"windows": [{"start": 0.1}]}', '{"windows": [[0.1, 0.2, 3, 4]]}',
                                  '{"kind": "lognormal", "p_mean": "x"}', '{"kind": "uniform"}',
                                  '{"windows": [{"start": 0, "end": 1e999}]}', "[" * 30_000,
                                  '{"windows": [{"start": ' + "9" * 5000 + ', "end": 0.2}]}', '{"kind": []}']),
                 st.sampled_from(HOSTILE)))
def _schedule_json_case(text):
    from flowphase.numerics.schedules import PiecewiseSchedule, schedule_from_json

    report("api", ("PiecewiseSchedule.from_json", text), check_call(PiecewiseSchedule.from_json, text))
    report("api", ("schedule_from_json", text), check_call(schedule_from_json, text))


@case("detect", 50)
@given(st.integers(0, 40), st.sampled_from(["ok", "nan", "big", "flat", "unsorted", "str", "2d", "tiny_dt"]),
       val(0.1, 0.5), val(3.0, 1.0), val(0.05, 0.0))
def _detect_case(N, mode, rel, sharp, size):
    from flowphase.numerics.detect import detect_windows

    t = np.linspace(0.0, 1.0, N)
    y = np.tanh(20 * (t - 0.4))
    if mode == "nan" and N:
        y[N // 2] = np.nan
    elif mode == "big":
        y = 1e308 * y
    elif mode == "flat":
        y = np.zeros(N)
    elif mode == "unsorted":
        t = t[::-1]
    elif mode == "str":
        y = y.astype(str)
    elif mode == "2d":
        y = y[:, None]
    elif mode == "tiny_dt" and N > 2:
        t = t * 1e-320
    report("api", ("detect_windows", N, mode, rel, sharp, size),
           check_call(detect_windows, t, y, rel_height=rel, min_sharpness=sharp, min_size=size))


IDX_DIR = tempfile.mkdtemp(prefix="flowphase-fuzz-idx-")


@case("idx", 30)
@given(st.sampled_from(["ok", "gz", "trunc_gz", "garbage_gz", "dir", "missing", "short", "nan_img", "neg_label",
                        "bad_magic", "huge_dims"]), st.integers(1, 4))
def _idx_case(mode, n):
    import gzip

    from flowphase.validation.mnist_idx import load_mnist, read_idx, write_idx

    imgs = os.path.join(IDX_DIR, f"img-{mode}-{n}.idx")
    labs = os.path.join(IDX_DIR, f"lab-{mode}-{n}.idx")
    write_idx(imgs, np.zeros((n, 2, 2), dtype=np.uint8))
    write_idx(labs, np.arange(n, dtype=np.uint8))
    raw = open(imgs, "rb").read()
    if mode == "gz":
        open(imgs, "wb").write(gzip.compress(raw))
    elif mode == "trunc_gz":
        open(imgs, "wb").write(gzip.compress(raw)[:-6])
    elif mode == "garbage_gz":
        open(imgs, "wb").write(b"\x1f\x8b" + bytes(range(40)))
    elif mode == "dir":
        imgs = IDX_DIR
    elif mode == "missing":
        imgs = imgs + ".none"
    elif mode == "short":
        open(imgs, "wb").write(raw[:6])
    elif mode == "nan_img":
        write_idx(imgs, np.full((n, 2, 2), np.nan))
    elif mode == "neg_label":
        write_idx(labs, -np.arange(1, n + 1, dtype=np.int16))
    elif mode == "bad_magic":
        open(imgs, "wb").write(b"\x01" + raw[1:])
    elif mode == "huge_dims":
        open(imgs, "wb").write(bytes([0, 0, 8, 3]) + np.array([2 ** 32 - 1] * 3, dtype=">u4").tobytes())
    report("api", ("load_mnist", mode, n), check_call(load_mnist, imgs, labs))
    report("api", ("read_idx", mode, n), check_call(read_idx, imgs, allow_raw=True))


@case("write_idx", 20)
@given(st.sampled_from([np.array(3, dtype=np.uint8), np.zeros((2, 2), dtype=bool), np.zeros(3, dtype=np.uint64),
                        np.array(["a"]), np.zeros((2, 3), dtype=np.float32), np.zeros(0, dtype=np.uint8)]))
def _write_idx_case(arr):
    from flowphase.validation.mnist_idx import read_idx, write_idx

    path = os.path.join(IDX_DIR, "w.idx")

    def run():
        write_idx(path, arr)
        return {"back": read_idx(path)}

    report("api", ("write_idx", arr.dtype.str, arr.shape), check_call(run))


@case("dynamics", 8)
@given(st.fixed_dictionaries({"t": val(0.25, 0.5), "epochs": val(1, 10)}, optional={
    "lr": val(0.01, 0.1), "points": val(2, 5), "convention": st.sampled_from(["balanced", "theory", "x", None]),
    "draws": val(1), "init": st.sampled_from(["small", "random", "informed", "x"]), "seed": val(0, 3),
    "d": val(math.inf, 100), "n": val(8, math.inf)}))
def _dynamics_case(args):
    from flowphase.numerics.dynamics.payload import dynamics_payload

    report("api", ("dynamics_payload", args), check_call(dynamics_payload, dict(args)))


@case("spec", 20)
@given(st.sampled_from(['task = "theory.mse"\n[grid]\nt = [0.5]\n', "task = ", 'task = "nope"\n',
                        'task = "theory.mse"\n[grid]\nt = 0.5\n', 'task = "theory.mse"\n[grid]\nt = []\n',
                        'task = "theory.mse"\n[grid]\nt = [0.5]\n[options]\nsleep = 1e308\n',
                        'task = "theory.overlaps"\n[grid]\nt = [0.5]\n[fixed]\nd = 1e300\n',
                        'task = "simulation"\n[grid]\nt = [0.5]\n[fixed]\nd = 8\nn = 8\nepochs = 9223372036854775807\n',
                        'task = "theory.mse"\n[grid]\nt = [0.5]\np = [' + "9" * 5000 + "]\n",
                        'task = "theory.mse"\n[grid]\nt = [{a = 1}]\n', 'task = "theory.mse"\npoints = 3\n']),
       st.sampled_from(HOSTILE[:4]))
def _spec_case(text, junk):
    from flowphase.validation.sweep import parse_spec, run_sweep

    report("api", ("parse_spec", text[:80]), check_call(parse_spec, text))
    d = tempfile.mkdtemp(prefix="flowphase-fuzz-sw-")
    spec = None
    try:
        spec = parse_spec('task = "theory.mse"\n[grid]\nt = [0.5]\n')
    except ValueError:
        pass
    if spec is not None:
        report("api", ("run_sweep", junk), check_call(run_sweep, spec, os.path.join(d, "o"), workers=junk,
                                                      progress=False))
        report("api", ("run_sweep chunksize", junk), check_call(run_sweep, spec, os.path.join(d, "o"),
                                                                chunksize=junk, progress=False))


# ----------------------------------------------------------------------------- surfaces added since the first hardening
#: not a problem, wrong kinds of numbers (complex, float sizes), and sizes that would exhaust memory
NON_PROBLEMS = [None, "dilated", {"p": 0.8}, 3, object()]
HOSTILE_T = [complex(0.5, 0.0), complex(0.5, 1.0), np.complex128(1.5), float("nan"), "0.5", [0.5], 2.5, -0.1]
HOSTILE_SIZE = [2.5, 10 ** 9, 10 ** 18, -3, 0, np.float64(8.0), True, "8", float("inf")]


def _exact_problem():
    from flowphase.theory.problem import Problem

    return Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, n=8)


def _with_alarm(fn, seconds=60):
    """``fn`` under an alarm: a call that runs past ``seconds`` is reported as a hang (unbounded size)."""
    import signal

    class Hang(Exception):
        pass

    def call(*a, **k):
        def handler(signum, frame):
            raise Hang()
        old = signal.signal(signal.SIGALRM, handler)
        signal.alarm(seconds)
        try:
            return fn(*a, **k)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    return call


@case("exact_theory", 40)
@given(st.sampled_from(["solve_exact", "exact_curve", "learned_parameters"]),
       st.one_of(st.sampled_from(NON_PROBLEMS), st.just("ok")), st.one_of(st.sampled_from(HOSTILE_T), val(0.5, 1.5)),
       val(math.inf, 100.0), st.one_of(st.none(), st.sampled_from([3, 2.5, -1, 9, 10 ** 20, True])))
def _exact_case(fn_name, prob, t, d, n_plus):
    from flowphase.numerics import learned
    from flowphase.numerics.exact import exact_curve, solve_exact

    problem = _exact_problem() if prob == "ok" else prob
    if fn_name == "solve_exact":
        call = lambda: solve_exact(problem, t, d, n_plus=n_plus)  # noqa: E731
    elif fn_name == "exact_curve":
        call = lambda: exact_curve(problem, [t, 1.0] if not isinstance(t, list) else t, d, n_plus=n_plus)  # noqa: E731
    else:
        call = lambda: learned.learned_parameters(problem, t, "exact", d=d, n_plus=n_plus)  # noqa: E731
    report("api", (fn_name, repr(prob)[:30], t, d, n_plus), check_call(_with_alarm(call), allow_type_error=True),
           surface="exact_theory")


@case("generated_api", 20)
@given(st.sampled_from(["generated_distribution", "generated_flow"]),
       st.one_of(st.sampled_from(NON_PROBLEMS), st.just("ok")), st.sampled_from(["exact", "euler", "x", None, 3]),
       st.sampled_from([401, 2.5, 10 ** 12, -1, "401"]))
def _generated_api_case(fn_name, prob, transition, size):
    from flowphase.theory.problem import Problem

    problem = Problem.dilated(p=0.8) if prob == "ok" else prob
    if fn_name == "generated_distribution":
        from flowphase.numerics.generation import generated_distribution

        call = lambda: generated_distribution(problem, transition=transition, n_nodes=size)  # noqa: E731
    else:
        from flowphase.numerics.exact import exact_curve, generated_flow

        def call():
            curve = exact_curve(_exact_problem(), np.linspace(0, 2, 9), math.inf)
            return generated_flow(curve, problem, "euler" if transition == "exact" else transition, n_fine=size)
    report("api", (fn_name, repr(prob)[:30], transition, size),
           check_call(_with_alarm(call), allow_raw=True, allow_type_error=True), surface="generated_api")


@case("quadrature", 30)
@given(st.sampled_from(["gauss_hermite", "trapezoid_rule"]), st.one_of(st.sampled_from(HOSTILE_SIZE), val(40, 201)))
def _quadrature_case(fn_name, size):
    from flowphase.numerics import quadrature

    call = _with_alarm(lambda: getattr(quadrature, fn_name)(size))
    report("api", (fn_name, size), check_call(call, allow_raw=True, allow_type_error=True), surface="quadrature")


@case("kernels", 40)
@given(st.fixed_dictionaries({"omega": val(1.0), "b": val(0.0), "kt": val(0.5), "p": val(0.8, 0.3)}),
       st.sampled_from(["ok", "list", "nan_nodes", "short_weights", "int_nodes"]))
def _kernels_case(kw, nodes_kind):
    """The public numba kernel of the quadrature: wrong types, NaN and out-of-range p must be refused cleanly."""
    from flowphase.numerics import quadrature

    nodes, weights = quadrature.gauss_hermite(40, normalized=True)
    if nodes_kind == "list":
        nodes = list(nodes)
    elif nodes_kind == "nan_nodes":
        nodes = nodes.copy()
        nodes[3] = np.nan
    elif nodes_kind == "short_weights":
        weights = weights[:-1]
    elif nodes_kind == "int_nodes":
        nodes = np.arange(40)
    v = check_call(lambda: np.asarray(quadrature.gaussian_moments(kw["omega"], kw["b"], kw["kt"], kw["p"], nodes,
                                                                   weights)))
    p = kw["p"]
    bad_p = not (isinstance(p, (float, np.floating)) and 0 < float(p) < 1)
    if not v and bad_p:     # accepted: the call must have refused an out-of-range or wrong-kind p
        try:
            quadrature.gaussian_moments(kw["omega"], kw["b"], kw["kt"], p, nodes, weights)
            v.append(f"p={p!r} accepted")
        except (ValueError, TypeError):
            pass
        except Exception as exc:  # noqa: BLE001
            v.append(f"{type(exc).__name__} for p={p!r}")
    report("api", ("gaussian_moments", kw, nodes_kind), v, surface="kernels")


@pytest.mark.parametrize("name", list(CASES))
def test_api_contract(name):
    fn, n = CASES[name]
    with tally_guard(name):
        settings(max_examples=n, **SETTINGS)(fn)()
