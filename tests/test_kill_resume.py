"""Kill -9 at any moment: a sweep and a figure run killed mid-work leave nothing half-written, and a rerun
completes them (split from test_fuzz_cli.py).
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
from hypothesis import given, settings
from hypothesis import strategies as st

from flowphase.validation.cli import main
from _fuzz_util import report, tally_guard
from test_fuzz_cli import SETTINGS


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
            report("cli-kill", ("sweep", round(delay, 3)), v, surface="sweep-kill")
        finally:
            shutil.rmtree(d, ignore_errors=True)

    with tally_guard():
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
            report("cli-kill", ("reproduce", k), v, surface="reproduce-kill")
        finally:
            monkeypatch.setattr(os, "replace", real)
            shutil.rmtree(d, ignore_errors=True)

    with tally_guard():
        prop()
