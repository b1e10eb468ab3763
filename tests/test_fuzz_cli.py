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

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz_util import non_finite_paths, report
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
                                                  "--transition": st.sampled_from(["exact", "euler", "rk"])}), 8),
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
    "uturn": (["uturn"], st.tuples(st.sampled_from(["--dataset=mnist", "--dataset=cifar", "--dataset="]),
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


def check_run(argv, sandbox):
    """Run one command in-process and return the violations of the CLI contract (and the exit status)."""
    before, corpus_before = _snapshot(sandbox), _snapshot(CORPUS)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
    except SystemExit as exc:  # older builds let argparse exit
        rc = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # noqa: BLE001 - anything escaping main is a violation
        return [f"escaped {type(exc).__name__}: {str(exc)[:120]}"], None
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
            violations, rc = check_run(argv, sb)
            report("cli", argv, violations, rc=rc)
        finally:
            shutil.rmtree(sb, ignore_errors=True)

    prop()


# ----------------------------------------------------------------------------- kill and resume
SLOW_SPEC = textwrap.dedent("""\
    task = "theory.closed_forms.phase_two"
    [grid]
    tp = [0.0, 0.2, 0.4, 0.6]
    n = [16, 128, inf]
    lam_u = [2.0, 50.0]
    [options]
    sleep = 0.03
    """)  # 24 tasks, ~0.7 s of work


def _table(path):
    with open(path, newline="") as fh:
        return sorted(tuple(sorted((k, v) for k, v in r.items() if k != "elapsed_s")) for r in csv.DictReader(fh))


@pytest.fixture(scope="module")
def clean_sweep():
    d = tempfile.mkdtemp(prefix="flowphase-fuzz-sweep-")
    spec = os.path.join(d, "s.toml")
    with open(spec, "w") as fh:
        fh.write(SLOW_SPEC)
    assert main(["sweep", spec, "--out", os.path.join(d, "clean"), "--no-progress"]) == 0
    yield spec, _table(os.path.join(d, "clean", "results.csv"))
    shutil.rmtree(d, ignore_errors=True)


def test_sweep_kill_and_resume(clean_sweep):
    spec, clean = clean_sweep

    @settings(max_examples=3, **SETTINGS)
    @given(st.floats(0.2, 2.5))
    def prop(delay):
        d = tempfile.mkdtemp(prefix="flowphase-fuzz-kill-")
        out = os.path.join(d, "out")
        cmd = [sys.executable, "-m", "flowphase.validation", "sweep", spec, "--out", out, "--no-progress"]
        try:
            proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = main(["sweep", spec, "--out", out, "--no-progress"])
            v = [] if rc == 0 else [f"resume exit status {rc}"]
            if _table(os.path.join(out, "results.csv")) != clean:
                v.append("resumed table differs from the clean run")
            leftovers = [f for f in os.listdir(os.path.join(out, "records")) if f.endswith(".tmp")]
            if leftovers:
                v.append(f"temporaries left: {leftovers[:3]}")
            report("cli-kill", ("sweep", round(delay, 3)), v)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    prop()


FIGS = ["speciation", "simplification"]


@pytest.fixture(scope="module")
def clean_figures():
    d = tempfile.mkdtemp(prefix="flowphase-fuzz-repro-")
    assert main(["reproduce", *FIGS, "--out", d, "--quick", "--no-progress"]) == 0
    yield {n: json.load(open(os.path.join(d, f"{n}.json"))) for n in FIGS}
    shutil.rmtree(d, ignore_errors=True)


def test_reproduce_interrupted_at_any_write_resumes(clean_figures, monkeypatch):
    real = os.replace

    @settings(max_examples=3, **SETTINGS)
    @given(st.integers(1, 7))
    def prop(k):
        d = tempfile.mkdtemp(prefix="flowphase-fuzz-int-")
        calls = [0]

        def replace(src, dst):
            calls[0] += 1
            if calls[0] == k:
                raise KeyboardInterrupt      # the process dies at its k-th file rename
            return real(src, dst)

        try:
            monkeypatch.setattr(os, "replace", replace)
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                try:
                    rc1 = main(["reproduce", *FIGS, "--out", d, "--quick", "--no-progress"])
                except KeyboardInterrupt:
                    rc1 = "KeyboardInterrupt escaped main (a traceback)"
            monkeypatch.setattr(os, "replace", real)
            v = [] if rc1 in (0, 130) else [f"interrupted run exit status {rc1}"]
            names = set(os.listdir(d))
            for n in FIGS:      # a figure whose JSON exists is complete
                if f"{n}.json" in names and not {f"{n}.png", f"{n}.pdf"} <= names:
                    v.append(f"{n}.json without its PNG/PDF")
            if any(f.endswith(".tmp") for f in names):
                v.append("temporaries left")
            with contextlib.redirect_stdout(io.StringIO()):
                rc2 = main(["reproduce", *FIGS, "--out", d, "--quick", "--no-progress"])
            if rc2 != 0:
                v.append(f"resume exit status {rc2}")
            for n in FIGS:
                if json.load(open(os.path.join(d, f"{n}.json"))) != clean_figures[n]:
                    v.append(f"{n}.json differs from the clean run")
            report("cli-kill", ("reproduce", k), v)
        finally:
            monkeypatch.setattr(os, "replace", real)
            shutil.rmtree(d, ignore_errors=True)

    prop()
