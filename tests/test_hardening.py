"""Regression tests of issue 12 (hardening): one or more per numbered class of the issue.

Every bad input is a ``ValueError`` in the API and one stderr line with exit status 2 on the command line;
a solver or a training run that fails raises ``ConvergenceError`` (exit 1); nothing is written when a
command fails.  References: closed forms (phase-2 ridge, PAPER §3.4), scipy minimisation of the phase-1
potential (PAPER §3.2), the IDX format, and the sweep store's own clean run.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from scipy import optimize

from flowphase.numerics.results import ConvergenceError
from flowphase.theory.problem import Problem
from flowphase.validation import sweep as sw
from flowphase.validation.cli import dump_json, main

from _match import whole_word

TINY_SPEC = textwrap.dedent("""\
    task = "theory.closed_forms.phase_two"
    [grid]
    tp = [0.0, 0.25, 0.5, 0.75]
    n = [128, inf]
    """)  # 8 tasks


def run_cli(argv):
    """(exit status, stdout, stderr) of one in-process command."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def assert_one_line_error(argv, rc_expected=2, fragment=None):
    rc, out, err = run_cli(argv)
    assert rc == rc_expected, (argv, rc, err)
    assert out == ""
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("flowphase"), err
    assert "Traceback" not in err
    if fragment is not None:
        assert fragment in err, err
    return err


def table(path):
    """results.csv rows without the timing column (the only field that differs between runs)."""
    import csv

    with open(path, newline="") as fh:
        return sorted(tuple(sorted((k, v) for k, v in r.items() if k != "elapsed_s")) for r in csv.DictReader(fh))


def tree(path):
    """Every file under ``path`` with its size (to prove that nothing was written)."""
    out = {}
    for root, _, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, path)] = os.path.getsize(p)
    return out


# ----------------------------------------------------------------------------- class 1: silent sweeps
@pytest.mark.parametrize("flags", [["--workers", "2", "--chunksize", "-1"],
                                   ["--workers", "2", "--executor", "joblib", "--chunksize", "-1"],
                                   ["--threads-per-worker", "-1"], ["--workers", "0"], ["--workers", "100000"]])
def test_bad_executor_options_are_refused_before_any_work(tmp_path, flags):
    spec = tmp_path / "s.toml"
    spec.write_text(TINY_SPEC)
    assert_one_line_error(["sweep", spec, "--out", tmp_path / "out", "--no-progress", *flags])
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError):
        sw.run_sweep(sw.parse_spec(TINY_SPEC), tmp_path / "api", workers=2, chunksize=-1, progress=False)
    assert not (tmp_path / "api").exists()


def test_record_with_unknown_status_is_rerun_and_counted(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(TINY_SPEC)
    out = tmp_path / "out"
    assert run_cli(["sweep", spec, "--out", out, "--no-progress"])[0] == 0
    clean = table(out / "results.csv")
    rec = sorted((out / "records").glob("*.json"))[0]
    obj = json.loads(rec.read_text())
    obj["status"] = "weird"
    rec.write_text(json.dumps(obj))
    rc, text, _ = run_cli(["sweep", spec, "--out", out, "--no-progress", "--json"])
    summary = json.loads(text)
    assert (rc, summary["ran"], summary["done"], summary["skipped"]) == (0, 1, 8, 7)
    assert table(out / "results.csv") == clean


def test_exit_status_counts_tasks_not_done(tmp_path, monkeypatch):
    spec = tmp_path / "s.toml"
    spec.write_text(TINY_SPEC)
    real = sw.run_task

    def odd_status(task, key, params, seed=0, sleep=0.0):   # a record that is neither done nor failed
        rec = real(task, key, params, seed, sleep)
        if params["tp"] == 0.5 and params["n"] == 128:
            rec["status"] = "weird"
        return rec

    monkeypatch.setattr(sw.worker, "run_task", odd_status)   # the driver runs tasks through sweep.worker
    rc, _, err = run_cli(["sweep", spec, "--out", tmp_path / "out", "--no-progress"])
    assert rc == 3 and "1 task(s) have no record" in err, err


# ----------------------------------------------------------------------------- class 2: divergence
def test_diverged_training_raises_convergence_error():
    from flowphase.validation.simulator import simulate

    prob = Problem.dilated(d=50, n=8)
    with pytest.raises(ConvergenceError, match="diverged"):
        simulate(prob, ts=[0.5, 1.5], epochs=50, optimizer="gd", lr=10.0, draws=0)
    err = assert_one_line_error(["simulate", "--d", 50, "--n", 8, "--t", "0.5,1.5", "--seeds", 1, "--epochs", 50,
                                 "--lr", 10], rc_expected=1)
    assert "diverged" in err
    # the same run at the default lr converges: healthy O(1) overlaps are not flagged
    ok = simulate(prob, ts=[0.5, 1.5], epochs=200, optimizer="gd", lr=0.25, draws=0)
    assert np.all(np.abs(ok.overlaps) < 10)


# ----------------------------------------------------------------------------- class 3: shapes
@pytest.mark.parametrize("bad", ["short_c", "short_b", "narrow_w", "long_u", "int_flag", "nan_u"])
def test_sampling_boundary_checks_every_shape(bad):
    from flowphase.validation.sampling import generate_from_params

    prob = Problem.dilated(d=8, n=4)
    ts = prob.schedule.grid(6)
    rng = np.random.default_rng(0)
    arrs = dict(c=rng.normal(size=6), b=rng.normal(size=6), u=rng.normal(size=(6, 8)), w=rng.normal(size=(6, 8)))
    good, _ = generate_from_params(prob, ts, **arrs, n_gen=16)
    again, _ = generate_from_params(prob, ts, **arrs, n_gen=16)
    assert good == again  # deterministic when the shapes are right
    if bad == "short_c":
        arrs["c"] = arrs["c"][:3]
    elif bad == "short_b":
        arrs["b"] = arrs["b"][:5]
    elif bad == "narrow_w":
        arrs["w"] = arrs["w"][:, :4]
    elif bad == "long_u":
        arrs["u"] = np.vstack([arrs["u"], arrs["u"]])
    elif bad == "int_flag":
        arrs["c"] = np.array([True] * 6)
    else:
        arrs["u"][2, 3] = np.nan
    with pytest.raises(ValueError):
        generate_from_params(prob, ts, **arrs, n_gen=16)


# ----------------------------------------------------------------------------- class 4: substitution
@pytest.mark.parametrize("flags,fragment", [(["--lr", "0"], "lr"), (["--points", "0"], "points"),
                                            (["--d", "1000", "--n", "100", "--convention", "adam", "--draws", "0"],
                                             None),     # refused (draws, or adam under the exact theory)
                                            (["--draws", "3"], "--draws does not apply")])
def test_options_are_honoured_or_refused(flags, fragment):
    assert_one_line_error(["theory", "dynamics", "--t", "0.5", "--epochs", "10", *flags], fragment=fragment)


def test_zero_valued_options_are_not_replaced_by_defaults():
    from flowphase.numerics.dynamics.payload import dynamics_payload

    out = dynamics_payload({"t": 0.5, "epochs": 10, "points": 3, "seed": 0, "lr": 0.02})
    assert len(out["epochs"]) == 3 and out["lr"] == 0.02


# ----------------------------------------------------------------------------- class 5: file system
def test_output_location_is_checked_before_computing(tmp_path, monkeypatch):
    afile = tmp_path / "file.txt"
    afile.write_text("keep")
    rep = sys.modules["flowphase.validation.reproduce"] if "flowphase.validation.reproduce" in sys.modules else \
        __import__("importlib").import_module("flowphase.validation.reproduce")

    monkeypatch.setattr(rep, "reproduce", lambda *a, **k: pytest.fail("computed before checking --out"))
    for out in (afile, afile / "sub", ""):
        assert_one_line_error(["reproduce", "speciation", "--out", out, "--quick"])
        assert_one_line_error(["uturn", "--out", out, "--quick"])
    assert afile.read_text() == "keep"
    assert_one_line_error(["schedule", "design", "--windows", "0:0.05", "--out", tmp_path], fragment="folder")
    assert_one_line_error(["schedule", "detect", "--csv", tmp_path], fragment="folder")
    assert_one_line_error(["schedule", "sample", "--schedule", tmp_path, "--k", "3"], fragment="folder")
    assert_one_line_error(["sweep", tmp_path, "--out", tmp_path / "o"], fragment="folder")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_output_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert_one_line_error(["reproduce", "speciation", "--out", ro / "x", "--quick"], fragment="not writable")
    finally:
        ro.chmod(0o700)


def test_full_disk_is_one_line(tmp_path, monkeypatch):
    import flowphase.validation._io as io_mod

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "s.json"))

    monkeypatch.setattr(io_mod, "atomic_write_bytes", full)
    err = assert_one_line_error(["schedule", "design", "--windows", "0:0.05", "--out", tmp_path / "s.json"])
    assert "no space left on device" in err and "s.json" in err


# ----------------------------------------------------------------------------- class 6: malformed JSON
BAD_SCHEDULES = ["[]", "null", "3", '"text"', "{", '{"windows": "x"}', '{"windows": [1]}',
                 '{"windows": [{"start": 0.1}]}', '{"windows": [{"start": "a", "end": 0.2}]}',
                 '{"windows": [[0.1, 0.2, 3, 4]]}', '{"windows": [{"start": ' + "9" * 5000 + ', "end": 0.2}]}',
                 '{"windows": [{"start": 1e999, "end": 0.2}]}', "[" * 100_000, '{"windows": [], "t_max": "x"}',
                 '{"kind": [], "windows": []}']


@pytest.mark.parametrize("text", BAD_SCHEDULES, ids=range(len(BAD_SCHEDULES)))
def test_malformed_schedule_json(tmp_path, text):
    from flowphase.numerics.schedules import PiecewiseSchedule, design_schedule, schedule_from_json

    with pytest.raises(ValueError):
        PiecewiseSchedule.from_json(text)
    with pytest.raises(ValueError):
        schedule_from_json(text)
    path = tmp_path / "s.json"
    path.write_text(text)
    assert_one_line_error(["schedule", "sample", "--schedule", path, "--k", "3"])
    assert_one_line_error(["schedule", "design", "--from", path])
    with pytest.raises(ValueError):
        design_schedule("not a list")


@pytest.mark.parametrize("obj", [5, None, [1, 2], object()])
def test_from_json_of_non_dict(obj):
    from flowphase.numerics.schedules import PiecewiseSchedule

    with pytest.raises(ValueError):
        PiecewiseSchedule.from_json(obj)


@pytest.mark.parametrize("content", ["t,y\n" + "1" * 200_000 + ",1\n", "\x00\xff\xfe garbage", "",
                                     "t\n0\n1\n2\n", "t,y\n0,1\n1,x\n2,3\n"])
def test_malformed_csv_is_one_line(tmp_path, content):
    from flowphase.numerics.detect import read_curve_csv

    path = tmp_path / "c.csv"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(ValueError):
        read_curve_csv(path)
    err = assert_one_line_error(["schedule", "detect", "--csv", path])
    assert "c.csv" in err


# ----------------------------------------------------------------------------- class 7: extreme numbers
@pytest.mark.parametrize("kw", [dict(lam_u=1e-300), dict(sigma=1e-320), dict(sigma=1e155), dict(kappa=10 ** 400),
                                dict(p=5e-17), dict(n=None), dict(d="10"), dict(n=1e300), dict(lam_w=float("nan")),
                                dict(noise=["fresh"])])
def test_problem_refuses_values_outside_its_range(kw):
    name = next(iter(kw))
    with pytest.raises(ValueError, match=whole_word(name)):
        Problem.dilated(**kw)


@pytest.mark.parametrize("kw,fragment", [(dict(seeds=[10 ** 23]), "seeds"), (dict(epochs=10 ** 20), "epochs"),
                                         (dict(d=10 ** 9), "GiB"), (dict(seeds=range(10 ** 9)), "seeds")])
def test_simulate_bounds_sizes_before_allocating(kw, fragment):
    from flowphase.validation.simulator import simulate

    kw = {"d": 16, **kw}
    with pytest.raises(ValueError, match=fragment):
        simulate(Problem.dilated(n=8), ts=[0.5], **kw)


@pytest.mark.parametrize("argv", [["simulate", "--d", "10000000000", "--n", "8", "--t", "0.5"],
                                  ["simulate", "--d", "8", "--n", "8", "--t", "0.5", "--seeds", "1" + "0" * 22],
                                  ["simulate", "--d", "8", "--n", "8", "--t", "0.5", "--epochs", "1" + "0" * 20],
                                  ["simulate", "--d", "8", "--n", "8", "--t", "0.5", "--generate", "1" + "0" * 12],
                                  ["simulate", "--d", "8", "--n", "8", "--t", "0.5", "--generate", "4", "--grid",
                                   "1" + "0" * 9],
                                  ["schedule", "sample", "--schedule", "x.json", "--k", "1" + "0" * 12],
                                  ["theory", "overlaps", "--t", "0.5", "--sigma", "1e400"],
                                  ["theory", "overlaps", "--t", "0.5", "--n", "1" + "0" * 400]])
def test_cli_refuses_huge_sizes(argv):
    assert_one_line_error(argv)


# ----------------------------------------------------------------------------- class 8: sweeps
def test_corrupt_records_do_not_break_collect(tmp_path):
    out = tmp_path / "out"
    sw.run_sweep(sw.parse_spec(TINY_SPEC), out, progress=False)
    recs = out / "records"
    (recs / "aaaa.json").write_text('{"key": "aaaa", "params": [1, 2], "status": "done"}')
    (recs / "bbbb.json").write_text('[1, 2, 3]')
    (recs / "cccc.json").write_text('{"key": "cccc", "params": {}, "status": "done", "result": 7}')
    (recs / "dddd.json").mkdir()
    (recs / "eeee.json").write_bytes(b"\xff\xfe\x00")
    (recs / "ffff.json").write_text("[" * 100_000)
    rc, _, err = run_cli(["sweep", "collect", out])
    assert rc == 0, err
    assert len((out / "results.csv").read_text().strip().splitlines()) == 1 + 8


SPEC_HEAD = {"theory": 'task = "theory.overlaps"\n[grid]\nt = [0.5]\n',
             "simulation": 'task = "simulation"\n[grid]\nt = [0.5]\n[fixed]\nd = 16\nn = 8\n',
             "compare": 'task = "compare"\n[grid]\nt = [0.5]\n[fixed]\nd = 16\nn = 8\n'}


@pytest.mark.parametrize("head,tail,key", [("theory", "[options]\nsleep = 1e308\n", "sleep"),
                                           ("theory", "[fixed]\nd = 1e300\n", "d"),
                                           ("simulation", "epochs = 9223372036854775807\n", "epochs"),
                                           ("simulation", "lr = 1e300\n", "lr"),
                                           ("compare", "n_seeds = 100000\n", "n_seeds")])
def test_spec_values_have_upper_bounds(head, tail, key):
    with pytest.raises(sw.SpecError, match=whole_word(key)):
        sw.parse_spec(SPEC_HEAD[head] + tail)


def test_too_many_tasks_is_refused_quickly():
    text = "task = \"theory.mse\"\n[grid]\nt = [" + ", ".join(str(i / 5000) for i in range(5000)) + "]\n" \
           "p = [" + ", ".join(str(0.01 + i * 0.0009) for i in range(1000)) + "]\n"
    t0 = time.perf_counter()
    with pytest.raises(sw.SpecError, match="more than the limit"):
        sw.parse_spec(text)
    assert time.perf_counter() - t0 < 10.0


def test_non_finite_task_result_is_a_failure():
    with pytest.raises(ValueError, match="overflow"):
        sw._clean_result({"lam": math.inf})
    assert sw._clean_result({"b": math.inf})["b"] == math.inf   # documented: trivial phase-1 branch


# ----------------------------------------------------------------------------- class 9: IDX files
def test_idx_reader_rejects_broken_files(tmp_path):
    from flowphase.validation.mnist_idx import load_mnist, read_idx, write_idx

    good = write_idx(tmp_path / "x.idx.gz", np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    assert read_idx(good).shape == (2, 3, 4)
    raw = good.read_bytes()
    (tmp_path / "trunc.gz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "garbage.gz").write_bytes(b"\x1f\x8b" + os.urandom(64))
    for p in (tmp_path / "trunc.gz", tmp_path / "garbage.gz", tmp_path, tmp_path / "missing"):
        with pytest.raises(ValueError):
            read_idx(p)
    with pytest.raises(ValueError):
        write_idx(tmp_path / "zero.idx", np.array(5, dtype=np.uint8))
    imgs = write_idx(tmp_path / "i.idx", np.full((2, 2, 2), np.nan))
    labs = write_idx(tmp_path / "l.idx", np.array([0, 1], dtype=np.int32))
    with pytest.raises(ValueError, match="pixel"):
        load_mnist(imgs, labs)
    imgs = write_idx(tmp_path / "i2.idx", np.zeros((2, 2, 2), dtype=np.uint8))
    neg = write_idx(tmp_path / "neg.idx", np.array([0, -3], dtype=np.int32))
    with pytest.raises(ValueError, match="labels"):
        load_mnist(imgs, neg)


# ----------------------------------------------------------------------------- class 10: argparse
@pytest.mark.parametrize("argv", [[], ["nope"], ["theory"], ["theory", "overlaps"], ["theory", "overlaps", "--t", "x"],
                                  ["theory", "overlaps", "--t", "0.5", "--bogus"],
                                  ["theory", "generated", "--sampler", "rk4"], ["simulate", "--d", "2.5"],
                                  ["sweep"], ["schedule", "sample", "--k", "1.5"], ["theory", "mse", "--t", "nan"],
                                  ["theory", "overlaps", "--t", "0.5", "--p", "inf"]])
def test_every_argument_error_is_one_line(argv):
    assert_one_line_error(argv)


def test_help_still_works():
    rc, out, err = run_cli(["theory", "--help"])
    assert rc == 0 and "overlaps" in out and err == ""


# ----------------------------------------------------------------------------- class 11: phase 1
@pytest.mark.parametrize("argv,target", [
    (["theory", "generated", "--n", "8"], "flowphase.numerics.learned:resolve_theory"),
    (["reproduce", "speciation", "--out", "{tmp}/o", "--quick"], "flowphase.validation.reproduce:reproduce"),
    (["theory", "dynamics", "--t", "0.5", "--epochs", "10"], "flowphase.numerics.dynamics.payload:dynamics_payload"),
    (["simulate", "--d", "8", "--n", "4", "--t", "0.5"], "flowphase.validation.simulator:simulate")])
def test_ctrl_c_is_exit_130_everywhere(tmp_path, monkeypatch, argv, target):
    import importlib

    mod, fn = target.split(":")

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module(mod), fn, interrupted)
    err = assert_one_line_error([a.replace("{tmp}", str(tmp_path)) for a in argv], rc_expected=130)
    assert "interrupted" in err


def test_simulate_kernel_loop_is_chunked_so_ctrl_c_is_delivered(monkeypatch):
    import flowphase.validation.simulator.dense_numba as kern
    from flowphase.validation.simulator import simulate

    calls = []

    def fake_kernel(*a, **k):           # stands in for minutes of training; the 2nd chunk is "interrupted"
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(kern, "train_expected_kernel", fake_kernel)
    with pytest.raises(KeyboardInterrupt):
        simulate(Problem.dilated(d=2000, n=1000), ts=[0.5], epochs=2000, draws=0, optimizer="gd", progress=False)
    assert len(calls) == 2              # the interrupt surfaced after the second of many chunks


def test_unbounded_work_is_refused_up_front(tmp_path):
    t0 = time.perf_counter()
    assert_one_line_error(["theory", "dynamics", "--t", "0.5", "--epochs", "1000000000"], fragment="epochs")
    assert_one_line_error(["theory", "dynamics", "--t", "0.5", "--epochs", "10000000", "--d", "1000", "--n", "100",
                           "--convention", "theory"], fragment="budget")
    spec = tmp_path / "s.toml"
    spec.write_text(TINY_SPEC)
    assert_one_line_error(["sweep", spec, "--out", tmp_path / "o", "--workers", "1000"], fragment="workers")
    assert time.perf_counter() - t0 < 10.0


# ----------------------------------------------------------------------------- class 16: crash leftovers
def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path):
    from flowphase.validation._io import _HOST

    out = tmp_path / "out"
    sw.run_sweep(sw.parse_spec(TINY_SPEC), out, progress=False)
    recs = out / "records"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = recs / f".abc.json.{_HOST}-{dead}.x1y2.tmp"
    live = recs / f".abd.json.{_HOST}-{os.getpid()}.x1y2.tmp"
    legacy = recs / ".abe.json.q7w8.tmp"
    for p in (stale, live, legacy):
        p.write_text("{")
    old = time.time() - 3600
    os.utime(legacy, (old, old))
    sw.run_sweep(sw.parse_spec(TINY_SPEC), out, progress=False)
    assert not stale.exists() and not legacy.exists() and live.exists()


def test_figure_files_are_written_as_one_unit(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import flowphase.validation._io as io_mod
    from flowphase.validation.reproduce import save_figure

    order = []
    real = os.replace

    def spy(src, dst):
        order.append(os.path.basename(str(dst)))
        if os.path.basename(str(dst)) == "fail.png":
            raise KeyboardInterrupt      # killed at the first rename: no new file at all
        return real(src, dst)

    monkeypatch.setattr(io_mod.os, "replace", spy)
    fig = plt.figure()
    save_figure(fig, tmp_path, "ok", {"x": [1.0]})
    assert order == ["ok.png", "ok.pdf", "ok.json"]       # the JSON (completeness marker) last
    fig = plt.figure()
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, tmp_path, "fail", {"x": [1.0]})
    assert sorted(os.listdir(tmp_path)) == ["ok.json", "ok.pdf", "ok.png"]   # no temporaries, no partial figure


def test_killed_reproduce_resumes_to_complete_figures(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "flowphase.validation", "reproduce", "speciation", "simplification", "--out",
           str(out), "--quick", "--no-progress"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "speciation.json").exists():
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for js in out.glob("*.json"):              # a figure with its JSON has its PNG and PDF
        assert (out / f"{js.stem}.png").stat().st_size > 0 and (out / f"{js.stem}.pdf").stat().st_size > 0
        json.loads(js.read_text())
    rc = subprocess.run(cmd, capture_output=True, timeout=300).returncode
    assert rc == 0
    assert {p.name for p in out.iterdir()} == {f"{n}.{e}" for n in ("speciation", "simplification")
                                              for e in ("png", "pdf", "json")} | {"REPORT.md"}


# ----------------------------------------------------------------------------- class 17: warnings, messages
@pytest.mark.parametrize("argv", [["theory", "overlaps", "--t", "0.999", "--kappa", "1000000", "--n", "8"],
                                  ["theory", "mse", "--t", "2", "--sigma", "1e-8"],
                                  ["theory", "speciation", "--d", "1e300", "--sigma", "1e100", "--n", "2"],
                                  ["theory", "cui", "--t", "1", "--n", "1", "--sigma", "1e-8", "--lam", "0"]])
def test_extreme_inputs_print_no_warnings(argv):
    rc, out, err = run_cli(argv)
    assert "Warning" not in err and "Traceback" not in err
    assert (rc == 0 and err == "") or len(err.strip().splitlines()) == 1


def test_messages_name_the_key_and_the_file(tmp_path):
    det = tmp_path / "det.json"
    det.write_text('{"windows": [{"start": 0.1}]}')
    err = assert_one_line_error(["schedule", "design", "--from", det])
    assert "'end'" in err and "window 0" in err and "det.json" in err
    gz = tmp_path / "bad.gz"
    gz.write_bytes(gzip.compress(b"abc")[:-4])
    from flowphase.validation.mnist_idx import read_idx

    with pytest.raises(ValueError, match="bad.gz"):
        read_idx(gz)
