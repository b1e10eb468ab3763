"""Sweeps: spec validation, crash-safe store, kill-and-resume, joblib and Dask executors.

Numbers are checked against the closed forms of PAPER §2.3 (lambda = wd d T / 2) and §3.3-3.4
(phase-2 ridge: c = t'A / (t'^2 A + B (1-t')^2), m = n (1 - c t') / (n + lam_u)), and against the
spec's reference value c = 1.1238 (n = 128, lam_u = 50, fixed noise, t' = 0.5).
"""
from __future__ import annotations

import csv
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

from flowphase.validation import sweep as sw
from flowphase.validation.cli import main

PHASE_TWO = textwrap.dedent("""\
    task = "theory.closed_forms.phase_two"
    [grid]
    tp = [0.0, 0.25, 0.5, 0.75]
    n = [128, inf]
    lam_u = [2.0, 50.0]
    noise = ["fresh", "fixed"]
    """)  # 32 tasks


def ridge_reference(tp, n, sigma, lam, noise):
    """Independent evaluation of PAPER §3.3-3.4 (c, m) for one parameter set."""
    if math.isinf(n):
        c = tp * sigma**2 / ((1 - tp) ** 2 + tp**2 * sigma**2)
        return c, 1 - c * tp
    A = lam + sigma**2 * (n + lam - 1)
    B = {"fixed": n + lam - 1, "fresh": n + lam, "notebook": n + lam + 1}[noise]
    c = tp * A / (tp**2 * A + B * (1 - tp) ** 2)
    return c, n * (1 - c * tp) / (n + lam)


def read_table(path, drop=("elapsed_s",)):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ----------------------------------------------------------------------------- values and resume
def test_grid_sweep_matches_closed_forms(tmp_path):
    spec = sw.parse_spec(PHASE_TWO)
    assert len(spec.items()) == 4 * 2 * 2 * 2
    rep = sw.run_sweep(spec, tmp_path / "out", progress=False)
    assert (rep.total, rep.ran, rep.done, rep.failed) == (32, 32, 32, 0)
    rows = read_table(rep.table)
    assert len(rows) == 32 and len({r["key"] for r in rows}) == 32
    assert list(rows[0])[:7] == ["tp", "n", "sigma", "lam_u", "noise", "c", "m"]
    for r in rows:
        n = math.inf if r["n"] == "inf" else int(r["n"])
        c, m = ridge_reference(float(r["tp"]), n, 1.0, float(r["lam_u"]), r["noise"])
        assert float(r["c"]) == pytest.approx(c, rel=1e-12, abs=1e-15)
        assert float(r["m"]) == pytest.approx(m, rel=1e-12, abs=1e-15)
        assert r["flowphase_version"] == sw._version() and r["status"] == "done"
    ref = [r for r in rows if (r["tp"], r["n"], r["lam_u"], r["noise"]) == ("0.5", "128", "50.0", "fixed")]
    assert float(ref[0]["c"]) == pytest.approx(1.1238, abs=5e-5)  # PAPER §3.4 reference value
    m0 = [r for r in rows if (r["tp"], r["n"], r["lam_u"]) == ("0.0", "128", "50.0")]
    assert float(m0[0]["m"]) == pytest.approx(128 / 178, abs=1e-12)  # PAPER §8 check 8: 0.7191
    # every record holds params, result, seed and version, keyed by the canonical parameters
    rec = json.loads(next((tmp_path / "out" / "records").glob("*.json")).read_text())
    assert rec["key"] == sw.task_key(rec["task"], {k: (math.inf if v == "inf" else v)
                                                   for k, v in rec["params"].items()})
    assert {"params", "result", "seed", "flowphase_version", "elapsed_s"} <= set(rec)


def test_keys_are_canonical():
    a = sw.parse_spec('task = "theory.weight_decay_to_lambda"\n[fixed]\nweight_decay = 1e-5\n'
                      'd = 5000\n').items()
    b = sw.parse_spec('task = "theory.weight_decay_to_lambda"\n[[points]]\nd = 5000.0\n'
                      'weight_decay = 0.00001\nn_times = 1\n').items()
    assert a[0][0] == b[0][0]  # defaults filled, int/float and order do not change the key
    c = sw.parse_spec('task = "theory.weight_decay_to_lambda"\n[fixed]\nweight_decay = 1e-5\n'
                      'd = 5001\n').items()
    assert c[0][0] != a[0][0]


def test_failed_task_recorded_skipped_and_retried(tmp_path):
    # n = 1, lam_u = 0, fixed noise: A = B = 0, the ridge problem is degenerate (D = 0)
    text = textwrap.dedent("""\
        task = "theory.closed_forms.phase_two"
        [fixed]
        noise = "fixed"
        lam_u = 0.0
        [[points]]
        tp = 0.5
        n = 1
        [[points]]
        tp = 0.5
        n = 64
        """)
    out = tmp_path / "out"
    rep = sw.run_sweep(sw.parse_spec(text), out, progress=False)
    assert (rep.done, rep.failed) == (1, 1)
    rows = {r["n"]: r for r in read_table(rep.table)}
    assert rows["1"]["status"] == "failed" and "degenerate" in rows["1"]["error"]
    c, _ = ridge_reference(0.5, 64, 1.0, 0.0, "fixed")
    assert float(rows["64"]["c"]) == pytest.approx(c, rel=1e-12)
    before = {p.name: p.read_bytes() for p in (out / "records").glob("*.json")}
    rep2 = sw.run_sweep(sw.parse_spec(text), out, progress=False)
    assert (rep2.ran, rep2.skipped, rep2.failed) == (0, 2, 1)
    assert {p.name: p.read_bytes() for p in (out / "records").glob("*.json")} == before
    rep3 = sw.run_sweep(sw.parse_spec(text), out, retry_failed=True, progress=False)
    assert (rep3.ran, rep3.done, rep3.failed) == (1, 1, 1)
    after = {p.name: p.read_bytes() for p in (out / "records").glob("*.json")}
    changed = [k for k in before if before[k] != after[k]]
    assert len(changed) == 1 and json.loads(after[changed[0]])["params"]["n"] == 1


def test_progress_bar_counts(tmp_path, capsys):
    spec = sw.parse_spec(PHASE_TWO.replace("lam_u = [2.0, 50.0]", "lam_u = [0.0]")
                         .replace("n = [128, inf]", "n = [1, 8]").replace('["fresh", "fixed"]', '["fixed"]'))
    rep = sw.run_sweep(spec, tmp_path / "o", progress=True)
    assert (rep.done, rep.failed) == (4, 4)  # n = 1, lam_u = 0 is degenerate at every tp
    assert "done=4, failed=4, remaining=0" in capsys.readouterr().err


# ----------------------------------------------------------------------------- malformed specs
BAD_SPECS = [
    ('task = "theory.nope"\n[grid]\nt = [0.1]\n', "task", 1, "unknown task"),
    ('task = "theory.closed_forms.phase_two"\n\n[grid]\ntp = [0.5]\nq = [1]\n', "q", 5,
     "unknown parameter"),
    ('task = "theory.closed_forms.phase_one"\n[grid]\nt = [0.1, 0.5]\n[fixed]\np = 1.2\n', "p", 5,
     "open interval|(0.0, 1.0)"),
    ('task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.5]\nn = [64,\n     0]\n', "n", 4,
     "integer >= 1"),
    ('task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.5]\nn = [64.5]\n', "n", 4,
     "integer >= 1"),
    ('task = "theory.closed_forms.phase_two"\n[grid]\ntp = ["a"]\n', "tp", 3, "real number"),
    ('task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.5]\nlam_u = [true]\n', "lam_u", 4,
     "real number"),
    ('task = "theory.closed_forms.phase_two"\n[grid]\ntp = 0.5\n', "tp", 3, "must be a list"),
    ('task = "theory.closed_forms.phase_two"\n[grid]\nn = [64]\n', "task", 1, "required parameter 'tp'"),
    ('task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.5]\n[[points]]\nn = 8\n'
     '[[points]]\nn = 4\nnoise = "cold"\n', "noise", 8, "one of"),
    ('task = "theory.overlaps"\n[grid]\nt = [0.5]\n[fixed]\nd = 3\nn = 16\n', "d", 5,
     "kappa/sqrt\\(d\\)"),
    ('task = "theory.overlaps"\n[grid]\nt = [0.5, 2.5]\n[fixed]\nd = 100\nn = 16\n', "t", 3,
     r"\[0.0, 2.0\]"),
    ('task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.5]\nn = [4, 8]\n[[points]]\n'
     'sigma = 2.0\n[[points]]\nn = 1\n', "n", 8, "given twice"),
    ('task = "simulation"\n[grid]\nt = [0.5]\nn = [16]\n[fixed]\nd = inf\n', "d", 6,
     "finite for a simulation"),
    ('task = "theory.closed_forms.phase_two"\ngird = 1\n', "gird", 2, "unknown top-level key"),
    ('task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.5]\n[options]\nsleep = -1\n',
     "sleep", 5, "sleep"),
    ('task = "theory.closed_forms.phase_two"\nseed = -3\n[grid]\ntp = [0.5]\n', "seed", 2,
     "seed must be"),
]


@pytest.mark.parametrize("text,key,line,fragment", BAD_SPECS)
def test_malformed_spec_names_key_and_line(tmp_path, capsys, text, key, line, fragment):
    with pytest.raises(sw.SpecError, match=fragment) as info:
        sw.parse_spec(text, source="s.toml")
    assert (info.value.key, info.value.line) == (key, line)
    assert str(info.value).startswith(f"s.toml:{line}: ")
    # through the CLI: exit status 2, one line naming file:line and key, nothing written
    spec = write(tmp_path, text)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    msg = capsys.readouterr().err.strip()
    assert msg.startswith(f"flowphase: error: {spec}:{line}: ") and key in msg
    assert not (tmp_path / "out").exists()


def test_invalid_toml_reports_line():
    with pytest.raises(sw.SpecError, match=r"line 3"):
        sw.parse_spec('task = "theory.closed_forms.phase_two"\n[grid]\ntp = [0.5,, 1]\n')


# ----------------------------------------------------------------------------- store
WRITER = textwrap.dedent("""\
    import sys, time
    from flowphase.validation.sweep import SweepStore
    store, wid, t0 = SweepStore(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    while time.time() < t0:
        pass
    for i in range(60):
        k = i % 25  # every key is written by every writer, several times
        store.write({"key": f"k{k:04d}", "task": "t", "params": {"i": k}, "status": "done",
                     "result": {"twice": 2 * k, "pad": "x" * (2000 * (1 + wid))}, "writer": wid})
    """)


def test_concurrent_writers_never_collide(tmp_path):
    script = write(tmp_path, WRITER, "writer.py")
    t0 = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "s"), str(w), str(t0)])
             for w in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    files = sorted((tmp_path / "s" / "records").iterdir())
    assert [f.name for f in files] == [f"k{k:04d}.json" for k in range(25)]  # no temp file left
    for f in files:
        rec = json.loads(f.read_text())  # complete, never interleaved
        k = rec["params"]["i"]
        assert rec["result"]["twice"] == 2 * k
        assert len(rec["result"]["pad"]) == 2000 * (1 + rec["writer"])
    assert len(sw.SweepStore(tmp_path / "s").load()) == 25


def test_record_writer_is_bounded_ordered_and_flushed(tmp_path):
    store = sw.SweepStore(tmp_path / "w")
    seen = []
    with sw.RecordWriter(store, lambda k, st: seen.append((k, st)), depth=3) as writer:
        for i in range(20):
            writer.put({"key": f"k{i:02d}", "status": "done", "params": {}, "result": {"i": i}})
            assert len(writer.pending) <= 3
    assert seen == [(f"k{i:02d}", "done") for i in range(20)]
    assert {k: r["result"]["i"] for k, r in store.load().items()} == {f"k{i:02d}": i for i in range(20)}
    with pytest.raises(KeyboardInterrupt):  # an interrupt still lets queued records reach the disk
        with sw.RecordWriter(store, lambda k, st: None, depth=8) as writer:
            for i in range(5):
                writer.put({"key": f"z{i}", "status": "done", "params": {}, "result": {}})
            raise KeyboardInterrupt
    assert len(store.load()) == 25


def test_half_written_temp_file_is_ignored(tmp_path):
    out = tmp_path / "out"
    spec = sw.parse_spec(PHASE_TWO)
    sw.run_sweep(spec, out, progress=False)
    (out / "records" / ".deadbeef.x.tmp").write_text('{"key": "deadbeef", "task"')
    (out / "records" / "deadbeef.json").write_text('{"key": "deadbeef", "ta')  # torn by hand
    assert main(["sweep", "collect", str(out)]) == 0
    assert len(read_table(out / "results.csv")) == 32


# ----------------------------------------------------------------------------- kill and resume
def _kill_midway(cmd, records, at_least, total):
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        n = len(list(records.glob("*.json"))) if records.is_dir() else 0
        if n >= at_least or proc.poll() is not None:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and any worker it started
    proc.wait(timeout=30)
    n = len(list(records.glob("*.json")))
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    assert at_least <= n < total
    return n


@pytest.mark.parametrize("extra", [["--executor", "serial", "--no-fsync"],
                                   ["--executor", "joblib", "--workers", "2", "--chunksize", "3"]])
def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path, extra):
    slow = write(tmp_path, PHASE_TWO + "[options]\nsleep = 0.08\n", "slow.toml")
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "flowphase.validation", "sweep", str(slow), "--out", str(out),
           "--no-progress"] + extra
    _kill_midway(cmd, out / "records", 6, 32)
    assert not (out / "results.csv").exists()
    before = {p.name: p.read_bytes() for p in (out / "records").glob("*.json")}
    for p in before:
        json.loads(before[p])  # every stored record is complete
    fast = write(tmp_path, PHASE_TWO, "fast.toml")  # same tasks and keys, no artificial delay
    assert main(["sweep", str(fast), "--out", str(out), "--no-progress"]) == 0
    after = {p.name: p.read_bytes() for p in (out / "records").glob("*.json")}
    assert len(after) == 32
    assert all(after[k] == v for k, v in before.items())  # stored tasks were not recomputed
    assert main(["sweep", str(fast), "--out", str(tmp_path / "clean"), "--no-progress"]) == 0
    resumed, clean = read_table(out / "results.csv"), read_table(tmp_path / "clean" / "results.csv")
    assert len({r["key"] for r in resumed}) == 32
    assert resumed == clean


# ----------------------------------------------------------------------------- executors
def test_dask_localcluster_and_joblib_give_the_serial_table(tmp_path):
    spec = sw.parse_spec(PHASE_TWO)
    serial = read_table(sw.run_sweep(spec, tmp_path / "serial", progress=False).table)
    rep = sw.run_sweep(spec, tmp_path / "dask", executor="dask", workers=2, chunksize=4,
                       progress=False)
    assert (rep.executor, rep.done) == ("dask", 32)
    assert read_table(rep.table) == serial
    pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "dask" / "records").glob("*.json")}
    assert os.getpid() not in pids and len(pids) == 2  # written by the two worker processes
    rep = sw.run_sweep(spec, tmp_path / "joblib", executor="joblib", workers=2, progress=False)
    assert rep.executor == "joblib" and read_table(rep.table) == serial


def _ready():
    return {repr(k): v for k, v in sw._WORKER_READY.items()}


def test_dask_scheduler_address_warms_each_worker_once(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        spec = sw.parse_spec(PHASE_TWO)
        rep = sw.run_sweep(spec, tmp_path / "o", scheduler=cluster.scheduler_address,
                           write_on="driver", chunksize=2, threads_per_worker=1, progress=False)
        ready = client.run(_ready)
        threads = client.run(lambda: os.environ.get("NUMBA_NUM_THREADS"))
    assert rep.executor == "dask" and rep.done == 32
    # 16 jobs ran, yet each worker warmed exactly once for this task
    assert len(ready) == 2 and all(list(r) == [repr(("theory.closed_forms.phase_two", 1))]
                                   for r in ready.values())
    assert set(threads.values()) == {"1"}
    pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "o" / "records").glob("*.json")}
    assert os.getpid() not in pids  # computed on the workers, written here (write_on='driver')
    ref = read_table(sw.run_sweep(spec, tmp_path / "ref", progress=False).table)
    assert read_table(rep.table) == ref


def test_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sw.executors, "SCHEDULER_TIMEOUT", "1s")
    spec = write(tmp_path, PHASE_TWO)
    rc = main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"])
    assert rc == 2
    assert "cannot reach the Dask scheduler 'tcp://127.0.0.1:9'" in capsys.readouterr().err
    assert sw.SweepStore(tmp_path / "o").load() == {}  # nothing ran


def test_prepare_worker_runs_once_per_process():
    sw._WORKER_READY.pop(("theory.weight_decay_to_lambda", 1), None)
    params = {"weight_decay": 1e-5, "d": 5000.0, "n_times": 80}
    assert sw.prepare_worker("theory.weight_decay_to_lambda", params, 1) > 0.0
    assert sw.prepare_worker("theory.weight_decay_to_lambda", params, 1) == 0.0
    rec = sw.run_task("theory.weight_decay_to_lambda", "k", params)
    assert rec["result"] == {"lam": pytest.approx(1e-5 * 5000 * 80 / 2)}  # PAPER §2.3: lambda = 2


# ----------------------------------------------------------------------------- CLI
def test_cli_dry_run_collect_and_tasks(tmp_path, capsys):
    spec = write(tmp_path, PHASE_TWO)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["missing"] == 32
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["done"] == 32
    (out / "results.csv").unlink()
    assert main(["sweep", "collect", str(out)]) == 0
    assert len(read_table(out / "results.csv")) == 32
    assert main(["sweep", "collect", str(tmp_path / "nothing")]) == 2
    assert main(["sweep", "tasks"]) == 0
    assert "theory.overlaps" in capsys.readouterr().out


def test_issue_form_theory_overlaps(tmp_path):
    """The spec form of issue 6, verbatim: 3 x 2 x 1 x 1 x 2 = 12 learned-parameter solves."""
    text = textwrap.dedent("""\
        task = "theory.overlaps"
        [grid]
        t = [0.1, 0.5, 1.5]
        n = [64, 128]
        lam_u = [2.0]
        lam_w = [2.0]
        p = [0.6, 0.8]
        """)
    assert not sw.TASKS["theory.overlaps"].missing_modules()
    rep = sw.run_sweep(sw.parse_spec(text), tmp_path / "o", progress=False)
    assert (rep.total, rep.done) == (12, 12)
    rows = read_table(rep.table)
    assert len(rows) == 12
    g, wg = np.polynomial.hermite_e.hermegauss(80)
    wg = wg / wg.sum()
    for r in rows:
        t, n, p = float(r["t"]), int(r["n"]), float(r["p"])
        if t == 1.5:  # phase 2: the fresh-noise ridge closed form, independent of p (PAPER §3.4)
            c, m = ridge_reference(0.5, n, 1.0, 2.0, "fresh")
            assert float(r["c"]) == pytest.approx(c, rel=1e-9)
            assert float(r["m"]) == pytest.approx(m, rel=1e-9)
            assert r["omega"] == "" and r["b"] == ""  # flat directions
        else:  # phase 1: the exact finite-n theory (default), EXACT_FINITE_N
            from flowphase.numerics.exact import solve_exact
            from flowphase.theory.problem import Problem

            ref = solve_exact(Problem.dilated(n=n, p=p), t)
            assert r["theory"] == "auto" and r["theory_used"] == "exact"
            for q in ("c", "m", "omega", "b", "z_plus", "a_minus"):
                assert float(r[q]) == pytest.approx(getattr(ref, q), rel=1e-9, abs=1e-14), q
    # the paper's ansatz on request: phase 1 m = n M_s / (lam_u + n M_2) at the solver's (omega, b) (PAPER §3.2)
    rep = sw.run_sweep(sw.parse_spec(text + '[fixed]\ntheory = "paper"\n'), tmp_path / "paper",
                       progress=False)
    for r in read_table(rep.table):
        t, n, p = float(r["t"]), int(r["n"]), float(r["p"])
        if t < 1.0:
            om, b = float(r["omega"]), float(r["b"])
            ms = m2 = 0.0
            for s_, ps in ((1.0, p), (-1.0, 1.0 - p)):
                th = np.tanh(b + om * (g + 2.0 * t * s_))
                ms += ps * s_ * (wg @ th)
                m2 += ps * (wg @ th**2)
            assert float(r["m"]) == pytest.approx(n * ms / (2.0 + n * m2), rel=1e-6)
            assert float(r["c"]) == 0.0


def test_theory_overlaps_reference_row(tmp_path):
    """PAPER §3.2 table, (n, lam_u, lam_w) = (128, 50, 1): t = 0.5 -> omega 1.400, b 1.065, m 0.617."""
    text = ('task = "theory.overlaps"\n[fixed]\nn = 128\nlam_u = 50.0\nlam_w = 1.0\ntheory = "paper"\n'
            '[[points]]\nt = 0.5\n[[points]]\nt = 1.0\n')
    rows = read_table(sw.run_sweep(sw.parse_spec(text), tmp_path / "o", progress=False).table)
    got = {r["t"]: (float(r["omega"]), float(r["b"]), float(r["m"])) for r in rows}
    assert got["0.5"] == pytest.approx((1.400, 1.065, 0.617), abs=1.5e-3)
    assert got["1.0"] == pytest.approx((1.461, 0.595, 0.712), abs=1.5e-3)


def test_simulation_and_compare_tasks_agree(tmp_path):
    """compare's simulated mean over seeds 5, 6 equals the mean of two 'simulation' tasks, and its
    phase-2 theory is the fresh-noise ridge at the finite-d tau (PAPER §3.4, §3.9)."""
    common = 'd = 100\nn = 16\nepochs = 30\nbackend = "numpy"\nt = 1.5\n'
    sim = sw.run_sweep(sw.parse_spec(f'task = "simulation"\n[grid]\nseed = [5, 6]\n[fixed]\n{common}'),
                       tmp_path / "sim", progress=False)
    cmp_ = sw.run_sweep(sw.parse_spec(f'task = "compare"\nseed = 5\n[fixed]\nn_seeds = 2\ntheory = "paper"\n'
                                      f'{common}'),
                        tmp_path / "cmp", progress=False)
    assert (sim.done, cmp_.done) == (2, 1)
    sims = read_table(sim.table)
    (row,) = read_table(cmp_.table)
    assert row["seed"] == "5" and row["n_seeds"] == "2"
    for q in ("c", "m", "sqrt_q"):
        vals = [float(r[q]) for r in sims]
        assert float(row[f"{q}_sim"]) == pytest.approx(sum(vals) / 2, rel=1e-12)
        assert float(row[f"{q}_stderr"]) == pytest.approx(abs(vals[0] - vals[1]) / 2, rel=1e-9)
    tau = 2 / 10 + (1 - 2 / 10) * 0.5  # kappa / sqrt(d) + (1 - kappa / sqrt(d)) t'
    c, m = ridge_reference(tau, 16, 1.0, 2.0, "fresh")
    assert float(row["c_theory"]) == pytest.approx(c, rel=1e-9)
    assert float(row["m_theory"]) == pytest.approx(m, rel=1e-9)
    assert row["omega_theory"] == "" and row["b_theory"] == ""


def test_theory_generated_task_matches_closed_forms(tmp_path):
    """PAPER §3.5 at kappa = 2, p = 0.8: n = inf exact p_hat = p, euler p_hat = p Phi(kappa + h/kappa)
    + (1-p) Phi(h/kappa - kappa) = 0.8022, E y(1) = kappa (2p-1), P(y(1) > 0) = p Phi(kappa) +
    (1-p) Phi(-kappa); n = 128: R(1) = n/(n+lam), sigma_hat^2 = sigma^2 + (lam - sigma^2)/(n+lam)."""
    text = ('task = "theory.generated"\n[[points]]\ntransition = "exact"\n[[points]]\n'
            'transition = "euler"\n[[points]]\ntransition = "euler"\nn = 128\n')
    rep = sw.run_sweep(sw.parse_spec(text), tmp_path / "o", progress=False)
    assert rep.done == 3
    rows = {(r["transition"], r["n"]): r for r in read_table(rep.table)}
    Phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    p, k, h = 0.8, 2.0, math.atanh(0.6)
    assert float(rows["exact", "inf"]["p_hat"]) == pytest.approx(p, abs=1e-6)
    assert float(rows["euler", "inf"]["p_hat"]) == pytest.approx(
        p * Phi(k + h / k) + (1 - p) * Phi(h / k - k), abs=1e-6)
    assert float(rows["euler", "inf"]["y1_mean"]) == pytest.approx(k * (2 * p - 1), abs=1e-6)
    assert float(rows["euler", "inf"]["y1_prob_positive"]) == pytest.approx(
        p * Phi(k) + (1 - p) * Phi(-k), abs=1e-6)
    assert float(rows["euler", "128"]["mean_overlap"]) == pytest.approx(128 / 130, rel=1e-12)
    assert float(rows["euler", "128"]["variance"]) == pytest.approx(1 + 1 / 130, rel=1e-12)


def test_theory_mse_task_matches_spec_values(tmp_path):
    """PAPER §4 at p = 0.8, kappa = 2, sigma = 1: eps(0) = sigma^2 + 4p(1-p) = 1.64 (both schedules),
    phase 2 eps = (1-t')^2 / ((1-t')^2 + t'^2) = 0.9, 0.5, 0.1 at t' = 0.25, 0.5, 0.75."""
    text = ('task = "theory.mse"\n[[points]]\nt = 0.0\nschedule = "undilated"\n'
            '[[points]]\nt = 0.5\nschedule = "undilated"\n[[points]]\nt = [0.0, 1.25, 1.5, 1.75]\n')
    with pytest.raises(sw.SpecError, match="scalar") as info:  # [[points]] values are scalars
        sw.parse_spec(text)
    assert (info.value.key, info.value.line) == ("t", 9)
    text = text.replace("[[points]]\nt = [0.0, 1.25, 1.5, 1.75]\n", "[grid]\nt = [0.0, 1.25, 1.5, 1.75]\n")
    with pytest.raises(sw.SpecError, match="given twice"):
        sw.parse_spec(text)
    rows = []
    for part in ('task = "theory.mse"\n[fixed]\nschedule = "undilated"\n[grid]\nt = [0.0, 0.5]\n',
                 'task = "theory.mse"\n[grid]\nt = [0.0, 1.25, 1.5, 1.75]\n'):
        rows += read_table(sw.run_sweep(sw.parse_spec(part), tmp_path / "o", progress=False).table)
    got = {(r["schedule"], r["t"]): float(r["mse"]) for r in rows}
    assert len(got) == 6
    assert got["undilated", "0.0"] == pytest.approx(1.64, abs=1e-12)
    assert got["dilated", "0.0"] == pytest.approx(1.64, abs=1e-9)
    assert got["undilated", "0.5"] == pytest.approx(0.5, abs=1e-12)
    for t, ref in (("1.25", 0.9), ("1.5", 0.5), ("1.75", 0.1)):
        assert got["dilated", t] == pytest.approx(ref, abs=1e-12)
    with pytest.raises(sw.SpecError, match=r"\[0.0, 1.0\]") as info:
        sw.parse_spec('task = "theory.mse"\n[fixed]\nschedule = "undilated"\n[grid]\nt = [1.5]\n')
    assert (info.value.key, info.value.line) == ("t", 5)


def test_compare_task_theory_d_is_the_strategy_s_d(monkeypatch):
    """``theory_d`` (an integer or inf; default: the simulated d) becomes the strategy's own d."""
    import math

    from flowphase.numerics.theories import ExactFiniteN, PaperAnsatz
    from flowphase.validation import compare as C
    from flowphase.validation.sweep import tasks as T

    seen = []

    class _Stop(Exception):
        pass

    def fake(problem, **kw):
        seen.append(kw["theory"])
        raise _Stop

    monkeypatch.setattr(C, "compare", fake)
    base = dict(t=0.5, p=0.8, sigma=1.0, kappa=2.0, d=40, n=8, lam_u=2.0, lam_w=2.0, noise="fresh", seed=0,
                n_seeds=2, epochs=5, optimizer="gd", lr=0.1, draws=0, labels="bernoulli", init="small",
                backend="numpy")
    for extra in ({}, {"theory_d": math.inf}, {"theory_d": 1000, "theory": "paper"}):
        with pytest.raises(_Stop):
            T.compare_task(**base, **extra)
    assert seen == [None, ExactFiniteN(d=None), PaperAnsatz(d=1000)]
    with pytest.raises(ValueError, match="theory_d"):
        sw.parse_spec('task = "compare"\n[fixed]\nt = 0.5\ntheory_d = "finite"\n')
