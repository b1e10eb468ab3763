"""Property-based fuzzing of every ``flowphase`` sub-command (issue 12).

Hypothesis draws argument lists from pools of valid values, junk tokens (NaN, inf, 1e400, 2.7, huge
integers, empty strings) and a corpus of malformed files written here.  Every run must satisfy:

* no traceback, no "internal error", no warning on stderr;
* exit status 0, 1 (did not converge), 2 (bad input) or 3 (sweep with failed tasks);
* a failure (1 or 2) prints exactly one stderr line, nothing on stdout, and writes nothing;
* a success prints strict JSON without a non-finite number outside the documented keys (``n``, ``d``,
  ``b``, ``t_c``, ``t_s``).

Plus the kill-and-resume property: a sweep killed (SIGKILL) at a random moment and re-run yields the
table of a clean run, and ``reproduce`` interrupted at any file write leaves only complete figures and
finishes on the next run with the clean run's JSON.  Examples are derandomised (the same on every
run); the whole module runs in well under a minute on 2 cores.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz_util import non_finite_paths, report, tally_guard
from flowphase.validation.cli import main

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])

JUNK = ["0", "-1", "1", "2", "0.5", "2.7", "nan", "inf", "-inf", "1e400", "1e-320", "1e308", "9" * 40, "",
        "abc", "1e23", "0x10", "-5e-324", " 3 ", "1_0"]

# ----------------------------------------------------------------------------- corpus of input files
CORPUS = tempfile.mkdtemp(prefix="flowphase-fuzz-corpus-")


def _write(name, content):
    path = os.path.join(CORPUS, name)
    with open(path, "wb") as fh:
        fh.write(content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content)
    return path


def _curve():
    import numpy as np

    t = np.linspace(0, 1, 41)
    return "t,y,z\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(t, np.tanh(20 * (t - 0.4)), t))


CSV_FILES = [_write("good.csv", _curve()), _write("empty.csv", ""), _write("onecol.csv", "t\n0\n1\n2\n"),
             _write("nan.csv", "t,y\n0,1\n0.5,nan\n1,2\n"), _write("text.csv", "t,y\n0,1\n1,x\n2,3\n"),
             _write("huge.csv", "t,y\n" + "1" * 200_000 + ",1\n"), _write("binary.csv", b"\x00\xff\xfe\x1f\x8b"),
             _write("unsorted.csv", "t,y\n0,1\n0,2\n1,3\n"), _write("big.csv", "t,y\n0,1e308\n0.5,-1e308\n1,1e308\n"),
             _write("tiny_dt.csv", "t,y\n0,0\n1e-320,1\n1,2\n"), CORPUS, os.path.join(CORPUS, "missing.csv")]
JSON_FILES = [_write("sched.json", '{"kind": "piecewise", "t_max": 1.0, "windows": [{"start": 0.0, "end": 0.05, '
                                   '"weight": 9.0}]}'),
              _write("det.json", '{"windows": [{"start": 0.1, "end": 0.2, "size": 0.5}]}'),
              _write("list.json", "[]"), _write("null.json", "null"), _write("num.json", "3"),
              _write("str.json", '"x"'), _write("trunc.json", '{"windows": [{"start": 0.1'),
              _write("nokey.json", '{"windows": [{"start": 0.1}]}'), _write("wtype.json", '{"windows": "abc"}'),
              _write("wint.json", '{"windows": [1, 2]}'),
              _write("hugeint.json", '{"windows": [{"start": ' + "9" * 5000 + ', "end": 0.2}]}'),
              _write("deep.json", "[" * 50_000), _write("bigfloat.json", '{"windows": [{"start": 0, "end": 1e999}]}'),
              _write("kind.json", '{"kind": "lognormal", "p_mean": "x"}'), CORPUS,
              os.path.join(CORPUS, "missing.json")]
SPEC_OK = _write("ok.toml", 'task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.0, 0.5]\nn = [128, inf]\n')
SPEC_FILES = [SPEC_OK, _write("fail.toml", 'task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.5]\n'
                                           'n = [1]\nlam_u = [0.0]\nnoise = ["fixed"]\n'),
              _write("bad.toml", "task = "), _write("unknown.toml", 'task = "nope"\n'),
              _write("range.toml", 'task = "theory.overlaps"\n[grid]\nt = [0.5]\n[fixed]\nd = 1e300\n'),
              _write("sleep.toml", 'task = "theory.mse"\n[grid]\nt = [0.5]\n[options]\nsleep = 1e308\n'),
              _write("many.toml", 'task = "theory.mse"\n[grid]\nt = [' + ",".join(["0.5"] * 3000) + ']\np = ['
                     + ",".join(f"{0.1 + i * 1e-4}" for i in range(3000)) + "]\n"),
              _write("binary.toml", b"\xff\xfe\x00"), CORPUS]



def _npz(name, **arrays):
    path = os.path.join(CORPUS, name)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def _export(name, p=0.8, ts=(0.5,), x1_scale=1.0, nan=False, S=1, n=4, d=8, **over):
    """A simulation export (the layout of validation/simulator/inputs.save_npz) for n = 4, d = 8."""
    from flowphase.theory.problem import Problem

    rng = np.random.default_rng(0)
    T = len(ts)
    x1 = x1_scale * rng.standard_normal((S, n, d))
    if nan:
        x1[0, 0, 0] = np.nan
    meta = json.dumps({"problem": Problem.dilated(p=p, sigma=1.0, kappa=2.0, d=d, n=n).to_dict(), "config": {}})
    arrays = dict(c=np.zeros((S, T)), b=np.zeros((S, T)), u=0.1 * rng.standard_normal((S, T, d)),
                  w=0.1 * rng.standard_normal((S, T, d)), x1=x1, s=np.where(np.arange(n) % 2 == 0, 1.0, -1.0)[None]
                  .repeat(S, 0), ts=np.asarray(ts, float), seeds=np.arange(S), config=np.array(meta))
    arrays.update(over)
    return _npz(name, **arrays)


NPZ_GOOD = _export("export.npz")
NPZ_FILES = [NPZ_GOOD, _export("export_p03.npz", p=0.3), _export("export_t15.npz", ts=(1.5,)),
             _export("export_nan.npz", nan=True), _export("export_huge.npz", x1_scale=1e300),
             _export("export_f32.npz", x1_scale=1e39), _export("export_d16.npz", d=16),
             _npz("data_only.npz", x1=np.ones((4, 8)),
                  s=np.array([1.0, -1.0, 1.0, -1.0])),
             _npz("init_only.npz", c=np.zeros(1), b=np.zeros(1),
                  u=np.full((1, 8), 0.1), w=np.full((1, 8), 0.1)),
             _npz("labels_half.npz", x1=np.ones((4, 8)), s=np.full(4, 0.5)),
             _npz("nokeys.npz", a=np.ones(3)),
             _write("trunc.npz", open(NPZ_GOOD, "rb").read()[:300]), _write("text.npz", "not a zip"),
             _write("empty.npz", b""), os.path.join(CORPUS, "missing.npz"), _write("data.txt", "x")]
WINDOWS_JSON = _write("windows_out.json", json.dumps({"weights": [0.5, 0.5], "windows": [{"t_start": 0.1, "t_end": 0.2,
                                                                                            "t_d": 0.15}]}))
DETECT_JSON = _write("detect_out.json", json.dumps({"column": "y", "windows": [{"start": 0.1, "end": 0.2, "size": 0.5,
                                                                                 "peak": 0.15, "sharpness": 9.0}]}))
TYPO_JSON = _write("typo.json", '{"kind": "piecewise", "t_max": 1.0, "windows": [{"start": 0.0, "end": 0.05, '
                                '"weigth": 9.0}]}')
DUP_JSON = _write("dup.json", '{"kind": "piecewise", "t_max": 1.0, "windows": [], "windows": [{"start": 0.0, '
                              '"end": 0.05, "weight": 9.0}]}')
JSON_FILES += [WINDOWS_JSON, DETECT_JSON, TYPO_JSON, DUP_JSON]


# ----------------------------------------------------------------------------- strategies
def num(*valid):
    return st.one_of(st.sampled_from(valid), st.sampled_from(JUNK))


def flags(spec, required=()):
    """argv fragment: each optional flag present or not; required flags present (mostly)."""
    @st.composite
    def build(draw):
        out = []
        for name, strat in spec.items():
            present = draw(st.integers(0, 9)) < (9 if name in required else 5)
            if not present:
                continue
            if strat is None:
                out.append(name)
            else:
                out += [name, draw(strat)]
        if draw(st.integers(0, 19)) == 0:
            out.append(draw(st.sampled_from(["--bogus", "-x", "extra", "--json=1"])))
        return out
    return build()


PROBLEM = {"--p": num("0.5", "0.8", "0.3"), "--sigma": num("0.5", "1", "2"), "--kappa": num("1", "2", "5"),
           "--n": num("1", "8", "128", "inf"), "--lam-u": num("0", "0.1", "2", "50"), "--lam-w": num("0", "1", "2"),
           "--noise": st.sampled_from(["fresh", "fixed", "notebook", "bad"]), "--json": None}
COMMANDS = {
    "overlaps": (["theory", "overlaps"], flags({"--t": num("0", "0.3", "1", "1.5", "2"), **PROBLEM}, ["--t"]), 45),
    "generated": (["theory", "generated"], flags({**PROBLEM, "--n": num("16", "128", "inf"),
                                                  "--sampler": st.sampled_from(["euler", "continuous", "heun", "rk"])}), 8),
    "mse": (["theory", "mse"], flags({"--t": num("0", "0.5", "1", "2"), "--p": PROBLEM["--p"],
                                      "--sigma": PROBLEM["--sigma"], "--kappa": PROBLEM["--kappa"],
                                      "--no-dilation": None, "--json": None}, ["--t"]), 15),
    "cui": (["theory", "cui"], flags({"--t": num("0.2", "0.5", "1"), "--n": num("1", "8", "64"),
                                      "--sigma": num("0.5", "1.5"), "--lam": num("0", "0.1", "1")},
                                     ["--t", "--n", "--sigma"]), 25),
    "speciation": (["theory", "speciation"], flags({"--d": num("10", "1000", "1e300"), "--sigma": num("1", "0.5"),
                                                    "--n": num("2", "100")}, ["--d"]), 30),
    "dynamics": (["theory", "dynamics"], flags({"--t": num("0.25", "0.5"), "--epochs": num("1", "10", "100"),
                                                "--init": st.sampled_from(["small", "random", "informed", "x"]),
                                                "--lr": num("0.01", "0.1"), "--points": num("2", "5"),
                                                "--convention": st.sampled_from(["balanced", "theory", "mean",
                                                                                 "adam", "authors"]),
                                                "--draws": num("1", "2"), "--seed": num("0", "3"),
                                                "--d": num("inf", "100"), "--n": num("8", "inf"),
                                                "--sigma": PROBLEM["--sigma"]}, ["--t", "--epochs"]), 15),
    "simulate": (["simulate"], flags({"--d": num("2", "8", "16"), "--n": num("1", "4", "8"),
                                      "--t": st.sampled_from(["0.5", "0.5,1.5", "0,2", "1.5", "0.5,,1.5", "3", "nan",
                                                              "", "a,b", "2.0000001", "-0.1"]),
                                      "--seeds": num("1", "2"), "--epochs": num("1", "10", "40"),
                                      "--lr": num("0.1", "0.25", "10", "1e3"),
                                      "--optimizer": st.sampled_from(["gd", "adam"]), "--draws": num("0", "1", "2"),
                                      "--noise": st.sampled_from(["fresh", "fixed"]),
                                      "--init": st.sampled_from(["small", "random", "informed"]),
                                      "--labels": st.sampled_from(["bernoulli", "exact"]),
                                      "--backend": st.sampled_from(["numba", "numpy"]), "--generate": num("4", "8"),
                                      "--grid": num("4", "8"), "--method": st.sampled_from(["euler", "heun"]),
                                      "--no-dilation": None, "--kappa": PROBLEM["--kappa"],
                                      "--lam-u": PROBLEM["--lam-u"]}, ["--d", "--n", "--t"]), 35),
    "detect": (["schedule", "detect"], flags({"--csv": st.sampled_from(CSV_FILES),
                                              "--column": st.sampled_from(["y", "z", "zz", "t"]),
                                              "--rel-height": num("0.1", "0.5"), "--min-sharpness": num("3", "1"),
                                              "--min-size": num("0.05", "0"), "--json": None}, ["--csv"]), 35),
    "design": (["schedule", "design"], flags({"--windows": st.sampled_from(["0:0.05", "0.1:0.2:3,0.5:0.6", "1:0",
                                                                            "a:b", "0:0.05:nan", "", "0:1",
                                                                            "0.1:0.2,0.15:0.3", "0:0.05:1e400"]),
                                              "--from": st.sampled_from(JSON_FILES), "--mass": num("0.5", "0.9"),
                                              "--t-max": num("1", "2"),
                                              "--out": st.sampled_from(["{sb}/s.json", "{sb}", "{sb}/file.txt/x",
                                                                        "{sb}/new/s.json", ""])}), 40),
    "sample": (["schedule", "sample"], flags({"--schedule": st.sampled_from(JSON_FILES),
                                              "--k": num("1", "5", "100"), "--grid": num("2", "10"),
                                              "--seed": num("0", "7")}, ["--schedule"]), 35),
    "sweep": (["sweep"], st.tuples(st.sampled_from(SPEC_FILES),
                                   flags({"--out": st.sampled_from(["{sb}/out", "{sb}/file.txt", "{sb}/file.txt/x",
                                                                    ""]),
                                          "--workers": num("1"), "--executor": st.sampled_from(["serial", "auto",
                                                                                               "nope"]),
                                          "--chunksize": num("1", "5"), "--threads-per-worker": num("1"),
                                          "--dry-run": None, "--retry-failed": None, "--json": None,
                                          "--scheduler": st.sampled_from(["tcp://127.0.0.1:1"])}, ["--out"])), 25),
    "collect": (["sweep", "collect"], st.sampled_from([["{sb}/none"], ["{sb}/file.txt"], ["{sb}"], []]), 8),
    # uturn and reproduce: only failing variants (a valid run computes for minutes)
    "uturn": (["uturn"], st.tuples(st.sampled_from(["--dataset=svhn", "--dataset=cifar", "--dataset="]),
                                   flags({"--out": st.sampled_from(["{sb}/u", "{sb}/file.txt", ""]),
                                          "--quick": None}, ["--out"])), 10),
    "reproduce": (["reproduce"], st.tuples(st.lists(st.sampled_from(["nope", "Overlaps", "all2", ""]), min_size=1,
                                                    max_size=2),
                                           flags({"--out": st.sampled_from(["{sb}/r", "{sb}/file.txt", ""]),
                                                  "--quick": None, "--no-progress": None}, ["--out"])), 10),
    "junk": ([], st.lists(st.sampled_from(["theory", "simulate", "sweep", "schedule", "--help", "-h", "nope", "--t",
                                           "0.5", "overlaps", "detect", "--n", "inf", "reproduce", "all"]),
                          max_size=5), 30),
}

# surfaces added since the first hardening: the exact theory, the dynamics on both theories, the NPZ inputs and
# the export of simulate, the K-mode windows; the schedule commands read the JSON written by other commands
_THEORY = st.sampled_from(["exact", "paper"])
def faulted(base, pool, k=2):
    """A valid command line ``base`` with up to ``k`` options of ``pool`` set to a drawn value (valid or not): one
    fault at a time, so that an option the chosen path ignores shows up as a silent acceptance."""
    @st.composite
    def build(draw):
        argv = list(base)
        names = draw(st.lists(st.sampled_from(sorted(pool)), max_size=k, unique=True))
        for name in names:
            value = draw(st.sampled_from(pool[name]))
            if name in argv:
                i = argv.index(name)
                if value is None:
                    del argv[i:i + 2]
                else:
                    argv[i + 1] = value
            elif value is not None:
                argv += [name, value]
        return argv
    return build()


BADNUM = ["nan", "inf", "1e-320", "abc", "", "1e400", "-1", "0"]
COMMANDS.update({
    "overlaps_exact": (["theory", "overlaps"], faulted(
        ["--t", "0.5", "--n", "16"],
        {"--t": ["0.5,1.5", "0.5,,1.5", "0.3,1,1.7", "nan", "1.5", ",0.5"], "--grid": ["8", "0", "1e9", "100000000"],
         "--theory": ["exact", "paper"], "--d": ["inf", "1000", "nan", "1e-320"], "--n-plus": ["3", "5", "2.5", "99"],
         "--n": ["8", "inf", "1e-320"], "--p": ["0.3", "1e-320", "nan"], "--noise": ["fresh", "fixed", "bad"],
         "--lam-u": ["0", "1e-320", "inf"]}), 30),
    "generated_exact": (["theory", "generated"], faulted(
        ["--n", "16", "--grid", "8"],
        {"--theory": ["exact", "paper"], "--sampler": ["euler", "heun", "continuous"],
         "--grid": ["8", "16", "100000", "10000000", "1e-320", None], "--d": ["inf", "1000", "1e-320"],
         "--n-plus": ["3", "5", "2.5"], "--t": ["0.5", "0.5,1.5", "0.5,,1.5"]}), 25),
    "dynamics_exact": (["theory", "dynamics", "--t", "0.5", "--epochs", "10", "--n", "8", "--points", "3"], faulted(
        [], {"--theory": ["exact", "paper"], "--noise": ["fresh", "fixed", "nan", "abc", "0", "-1", "inf", ""],
             "--n-plus": ["3", "5", "2.5"], "--lr": ["0.01", "0.1", "1e-320", "nan", "-1", "inf"],
             "--d": ["inf", "100", "1e-320"], "--convention": ["balanced", "theory", "adam"], "--draws": ["1", "2"],
             "--epochs": ["10", "1e-320", "1e7"], "--seed": ["1", "-1"], "--init": ["small", "random"]}), 35),
    "npz": (["simulate", "--d", "8", "--n", "4", "--seeds", "1", "--epochs", "2", "--t", "0.5"], faulted(
        [], {"--t": ["0.5", "1.5", "0.5,1.5"], "--data": NPZ_FILES, "--init-params": NPZ_FILES,
             "--p": ["0.8", "0.3"], "--labels": ["exact"], "--init": ["random"],
             "--export": ["{sb}/e.npz", "{sb}/file.txt/e.npz", "{sb}/e.txt", "{sb}/new/e.npz", "{sb}",
                          "{sb}/file.txt"]}, k=3), 45),
    "windows": (["theory", "windows"], faulted(
        ["--d", "100", "--qmc-m", "6", "--weights", "0.5,0.5", "--gram", "1,0.5;0.5,1"], {"--weights": ["0.5,0.5", "0.5,,0.5", "0.2,0.3,0.5", "nan,1", ",".join(["0.001"] * 1000)],
             "--gram": ["1,0.5;0.5,1", "1", "1,0.2,0.1;0.2,1,0.3;0.1,0.3,1", "1,nan;nan,1"],
             "--hierarchy": ["2/2;2", "2/2;3", "200/200;200"], "--eps": ["0.1", "0.3", "nan", ""],
             "--d": ["100", "1000", "1e-320", "inf"], "--qmc-m": ["6", "8", "40", "-1"], "--mass": ["0.6", "1e-320"],
             "--t-max": ["1", "nan"], "--gamma": ["0", "0.5", "1e-320"], "--d-ref": ["100", "1e-320"]}), 30),
    "schedule_json": (["schedule", "sample"], faulted(
        ["--grid", "8", "--schedule", JSON_FILES[0]], {"--schedule": JSON_FILES, "--k": ["3", "0", "1e-320"], "--grid": ["8", "100000000000"]}), 25),
})

#: numeric options whose junk values must be refused (exit 2) on every surface; ``inf`` is documented for these
_INF_OK = {"--n", "--d"}
_BAD_NUMBERS = {"nan", "inf", "-inf", "1e400", "1e-320", "-5e-324", "abc", "", "9" * 40, "1_0", "0x10"}
_LIST_OPTS = {"--t", "--weights"}
_NUMERIC = {"--mass", "--d-ref", "--p", "--sigma", "--kappa", "--n", "--lam-u", "--lam-w", "--d", "--n-plus", "--grid",
            "--lr", "--epochs", "--points", "--draws", "--seed", "--seeds", "--eps", "--qmc-m", "--mass",
            "--t-max", "--gamma", "--k"}
#: options that only one theory reads
_EXACT_ONLY = {"--d", "--n-plus"}


def must_refuse(name, argv):
    """Why ``argv`` must end in exit status 2 (bad input), or None: a junk number, an empty list entry, an option
    that the chosen code path does not read, an input file whose content contradicts the command line."""
    opts = {}
    for i, tok in enumerate(argv):
        if tok.startswith("--") and i + 1 < len(argv):
            opts.setdefault(tok, argv[i + 1])
    for opt, v in opts.items():
        if opt in _NUMERIC and v in _BAD_NUMBERS and not (opt in _INF_OK and v == "inf"):
            return f"{opt} {v!r} accepted"
        if opt in _LIST_OPTS and any(x.strip() == "" for x in v.split(",")):
            return f"{opt} {v!r} (empty entry) accepted"
    theory = opts.get("--theory")
    if name in ("overlaps_exact", "generated_exact", "dynamics_exact") and theory == "paper":
        used = [o for o in _EXACT_ONLY if o in opts and not (name == "dynamics_exact" and o == "--d")]
        if used:
            return f"{used[0]} accepted with --theory paper (the paper's theory does not read it)"
        if name == "generated_exact" and opts.get("--sampler") == "heun":
            return "--sampler heun accepted with --theory paper (the paper's samplers: euler, continuous)"
    if name == "dynamics_exact" and opts.get("--noise", "fresh") != "fresh":
        return f"--noise {opts['--noise']!r} accepted (the dynamics describe fresh noise)"
    if name == "schedule_json" and any(f in opts.get("--schedule", "") for f in ("windows_out", "detect_out", "typo",
                                                                                "dup.json", "det.json")):
        return f"{opts['--schedule']} (not a schedule) accepted"
    if name == "npz":
        data, init = opts.get("--data", ""), opts.get("--init-params", "")
        if "export_p03" in data and "--p" in opts and opts["--p"] != "0.3":
            return "--p contradicts the problem stored in --data"
        if "export_t15" in init and opts.get("--t") != "1.5":
            return "--t contradicts the times stored in --init-params"
        if any(k in data for k in ("export_huge", "export_f32", "export_nan", "labels_half", "export_d16")):
            return "bad --data accepted"
        if "export_d16" in init:
            return "bad --init-params accepted"
    return None


def must_honour(name, argv, out):
    """A violation when a successful run did not use what its input files say (None otherwise)."""
    if name == "npz" and "--data" in argv and "--p" not in argv:
        data = argv[argv.index("--data") + 1]
        if "export_p03" in data and abs(out.get("problem", {}).get("p", 0.3) - 0.3) > 1e-12:
            return "the problem stored in --data (p = 0.3) was not used"
    return None


def _expand(tokens, sandbox):
    out = []
    for t in tokens:
        if isinstance(t, (list, tuple)):
            out += _expand(t, sandbox)
        else:
            out.append(str(t).replace("{sb}", sandbox))
    return out


def _snapshot(path):
    out = {}
    for root, dirs, files in os.walk(path):
        for f in files + dirs:
            p = os.path.join(root, f)
            out[os.path.relpath(p, path)] = os.path.getsize(p) if os.path.isfile(p) else -1
    return out


class _Hang(BaseException):
    """Raised by the alarm: the command ran past :data:`HANG_S`."""


#: a fuzzed command that runs longer than this is a hang (bounded sizes: nothing may run for minutes)
HANG_S = 60


def _alarm(signum, frame):
    raise _Hang()


def check_run(argv, sandbox, name=None):
    """Run one command in-process and return the violations of the CLI contract (and the exit status)."""
    before, corpus_before = _snapshot(sandbox), _snapshot(CORPUS)
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
    except SystemExit as exc:  # older builds let argparse exit
        rc = exc.code if isinstance(exc.code, int) else 2
    except _Hang:
        return [f"hang (over {HANG_S} s)"], None
    except BaseException as exc:  # noqa: BLE001 - anything escaping main is a violation
        return [f"escaped {type(exc).__name__}: {str(exc)[:120]}"], None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    so, se = out.getvalue(), err.getvalue()
    v = []
    if "Traceback" in se:
        v.append("traceback")
    if "internal error" in se:
        v.append("internal error: " + se.strip()[:160])
    if "Warning" in se:
        v.append("warning on stderr")
    if rc not in (0, 1, 2, 3):
        v.append(f"exit status {rc}")
    lines = [ln for ln in se.split("\n") if ln.strip()]
    if rc in (1, 2):
        if len(lines) != 1:
            v.append(f"{len(lines)} stderr lines")
        if so.strip():
            v.append("stdout on failure")
        if _snapshot(sandbox) != before:
            v.append("wrote files although it failed")
    if _snapshot(CORPUS) != corpus_before:
        v.append("modified an input file")
    if rc == 0 and so.lstrip().startswith("{"):
        try:
            obj = json.loads(so, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError as exc:
            v.append(f"invalid JSON on stdout ({str(exc)[:60]})")
        else:
            bad = non_finite_paths(obj)
            if bad:
                v.append(f"non-finite numbers at {bad[:3]}")
            wrong = must_honour(name, argv, obj) if isinstance(obj, dict) else None
            if wrong:
                v.append(wrong)
    why = must_refuse(name, argv) if name else None
    if why and rc != 2:
        v.append(f"exit {rc}: {why}" if rc != 0 else f"silently {why}")
    leftovers = [f for f in _snapshot(sandbox) if f.endswith(".tmp")]
    if leftovers:
        v.append(f"temporaries left: {leftovers[:2]}")
    return v, rc


def _sandbox():
    sb = tempfile.mkdtemp(prefix="flowphase-fuzz-")
    with open(os.path.join(sb, "file.txt"), "w") as fh:
        fh.write("keep")
    return sb


@pytest.mark.parametrize("name", list(COMMANDS))
def test_cli_contract(name):
    prefix, strategy, n_examples = COMMANDS[name]

    @settings(max_examples=n_examples, **SETTINGS)
    @given(strategy)
    def prop(tokens):
        sb = _sandbox()
        try:
            argv = prefix + _expand(tokens, sb)
            if name == "sweep":
                argv.append("--no-progress")
            violations, rc = check_run(argv, sb, name)
            report("cli", argv, violations, surface=name, rc=rc)
        finally:
            shutil.rmtree(sb, ignore_errors=True)

    with tally_guard(name):
        prop()



#: every file of the corpus through every command that reads such a file (deterministic, complete)
CORPUS_RUNS = {
    "schedule_corpus": [(["schedule", "sample", "--grid", "8", "--schedule", f], "schedule_json") for f in JSON_FILES]
    + [(["schedule", "design", "--from", f], "schedule_json") for f in JSON_FILES],
    "npz_corpus": [(["simulate", "--d", "8", "--n", "4", "--seeds", "1", "--epochs", "2", "--t", "0.5", flag, f], "npz")
                   for flag in ("--data", "--init-params") for f in NPZ_FILES],
}


def _corpus_refusal(argv):
    """Files that are not what the option reads must be refused (exit 2)."""
    f = argv[-1]
    if argv[:2] == ["schedule", "sample"] and any(k in f for k in ("windows_out", "detect_out", "typo", "dup.json",
                                                                       "det.json")):
        return f"{os.path.basename(f)} (not a schedule) accepted"
    if argv[:2] == ["schedule", "design"] and any(k in f for k in ("windows_out", "typo", "dup.json", "sched.json")):
        return f"{os.path.basename(f)} (not a detect output) accepted"
    return None


@pytest.mark.parametrize("surface", list(CORPUS_RUNS))
def test_cli_corpus(surface):
    with tally_guard(surface):
        for argv, oracle in CORPUS_RUNS[surface]:
            sb = _sandbox()
            try:
                violations, rc = check_run(list(argv), sb, oracle)
                why = _corpus_refusal(argv)
                if why and rc != 2:
                    violations.append(f"exit {rc}: {why}" if rc else f"silently {why}")
                report("cli", argv, violations, surface=surface, rc=rc)
            finally:
                shutil.rmtree(sb, ignore_errors=True)


# ----------------------------------------------------------------------------- kill and resume
