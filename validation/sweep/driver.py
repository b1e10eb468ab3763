"""The sweep driver: run every task of a spec not yet stored, on the chosen executor, and write the table."""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import math
import os
import sys
import time
from pathlib import Path
from typing import List, Mapping, Optional

from flowphase.theory.checks import as_int

from . import worker as _worker
from .executors import choose_executor, make_executor
from .spec import SweepSpec
from .store import SweepStore
from .worker import RecordWriter, lost_record, run_chunk

__all__ = ["SweepReport", "run_sweep", "MAX_WORKERS"]

MAX_WORKERS = 1024          # worker processes per sweep
_MAX_WORKERS = MAX_WORKERS
_frozen = dataclasses.dataclass(frozen=True)


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
    # every option is checked before anything is written or started
    workers = as_int("workers", workers, 1, _MAX_WORKERS)
    if threads_per_worker is not None:
        threads_per_worker = as_int("threads_per_worker", threads_per_worker, 1, 1024)
    if chunksize is not None:
        chunksize = as_int("chunksize", chunksize, 1, 10 ** 6)
    if write_on not in ("worker", "driver"):
        raise ValueError(f"write_on must be 'worker' or 'driver', got {write_on!r}")
    kind = choose_executor(executor, workers, scheduler)
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
                    writer.put(_worker.run_task(spec.task, key, params, spec.seed, sleep))
        elif todo:
            size = chunksize or max(1, min(100, math.ceil(len(todo) / (8 * workers))))
            worker_out = str(Path(out).resolve()) if write_on == "worker" else None
            with make_executor(kind, workers, scheduler, threads, spec.task, todo[0][1],
                                worker_out, dask_processes) as ex:
                futures = {ex.submit(run_chunk, spec.task, chunk, spec.seed, sleep, worker_out,
                                     threads, todo[0][1], fsync=fsync): chunk
                           for chunk in _chunks(todo, size)}
                for fut in cf.as_completed(futures):
                    try:
                        res = fut.result()
                    except Exception as exc:  # noqa: BLE001 - a lost worker fails its chunk only
                        res = []
                        for key, params in futures[fut]:
                            rec = store.read(key)
                            if rec is None or rec.get("started_at", 0.0) < wall_start:
                                rec = lost_record(spec, key, params, exc)
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
