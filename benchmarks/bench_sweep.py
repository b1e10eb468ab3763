"""Sweep throughput: in-process vs joblib/loky vs Dask LocalCluster, and the overhead per task.

Runs the same sweep of N theory solves (default 10 000) once per executor, each into a fresh
folder, and prints tasks/s, the ratio to the in-process sweep, and the overhead per task against
a bare loop that calls the task function without storing anything (the baseline, measured in the
same run).  Also times one atomic record write (fsync-ed temp file + rename + directory fsync).

Usage::

    python benchmarks/bench_sweep.py [--tasks 10000] [--workers 2] [--task theory.overlaps]

The task defaults to ``theory.overlaps`` (learned parameters, PAPER §3.1-3.4) when
``flowphase.numerics.learned`` is installed, else the phase-2 closed form
``theory.closed_forms.phase_two`` (PAPER §3.4), which then measures almost pure overhead.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from flowphase.validation import sweep as sw


def make_spec(task: str, n_tasks: int) -> sw.SweepSpec:
    """A grid of about ``n_tasks`` tasks (times x sample sizes)."""
    side = int(math.ceil(math.sqrt(n_tasks)))
    ns = [16 + 8 * i for i in range(side)]
    if task == "theory.overlaps":  # both phases: t in (0, 2)
        ts = [round(0.01 + 1.98 * i / (side - 1), 6) for i in range(side)]
        grid = f"t = {ts}\nn = {ns}\n"
    else:
        ts = [round(i / (side - 1), 6) for i in range(side)]
        grid = f"tp = {ts}\nn = {ns}\n"
    spec = sw.parse_spec(f'task = "{task}"\n[grid]\n{grid}')
    return sw.SweepSpec(task=spec.task, points=spec.points[:n_tasks], seed=spec.seed,
                        options=spec.options, source="bench")


def bare_loop(spec: sw.SweepSpec):
    fn = sw.get_task(spec.task).function()
    fn(**spec.points[0])  # compile / warm outside the timing, like the workers do
    failed = 0
    t0 = time.perf_counter()
    for p in spec.points:
        try:
            fn(**p)
        except Exception:  # noqa: BLE001 - counted, as the sweep records it
            failed += 1
    return time.perf_counter() - t0, failed


def write_cost(root: Path, n: int = 500, fsync: bool = True) -> float:
    store = sw.SweepStore(root, fsync=fsync)
    t0 = time.perf_counter()
    for i in range(n):
        store.write({"key": f"k{i:06d}", "params": {"i": i}, "result": {"x": 1.0}})
    return (time.perf_counter() - t0) / n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--task", default=None)
    ap.add_argument("--executors", default="serial,joblib,dask")
    ap.add_argument("--no-fsync", action="store_true", help="records without fsync")
    args = ap.parse_args(argv)
    task = args.task or ("theory.overlaps" if not sw.TASKS["theory.overlaps"].missing_modules()
                         else "theory.closed_forms.phase_two")
    spec = make_spec(task, args.tasks)
    n = len(spec.points)
    root = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    try:
        print(f"task {task}: {n} tasks, {args.workers} workers, {os.cpu_count()} cores, "
              f"python {sys.version.split()[0]}")
        base, failed = bare_loop(spec)
        print(f"{'bare loop (no store)':<28} {n / base:10.1f} tasks/s   {1e3 * base / n:8.3f} ms/task"
              f"   ({failed} tasks raised)")
        for fs in (True, False):
            w = write_cost(root / f"writes{fs}", fsync=fs)
            print(f"{'one record write, fsync=' + str(fs):<28} {'':10}           {1e3 * w:8.3f} ms/write")
        serial = None
        for kind in args.executors.split(","):
            workers = 1 if kind == "serial" else args.workers
            t0 = time.perf_counter()
            rep = sw.run_sweep(spec, root / kind, executor=kind, workers=workers, progress=False,
                               fsync=not args.no_fsync)
            wall = time.perf_counter() - t0
            assert rep.done + rep.failed == n, rep
            serial = serial or wall
            ideal = base / (1 if kind == "serial" else workers)
            print(f"{kind + f' ({workers} worker(s))':<28} {n / wall:10.1f} tasks/s   "
                  f"{1e3 * wall / n:8.3f} ms/task   x{serial / wall:5.2f} vs serial   "
                  f"overhead {1e3 * (wall - ideal) / n:7.3f} ms/task (wall {wall:.1f} s, "
                  f"failed {rep.failed})")
            t0 = time.perf_counter()
            rep = sw.run_sweep(spec, root / kind, executor=kind, workers=workers, progress=False)
            print(f"{'  resume, nothing to do':<28} {1e3 * (time.perf_counter() - t0):10.1f} ms "
                  f"(skipped {rep.skipped})")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
