"""Running tasks: one task into one record, a worker process (thread caps, numba warm-up), the writer threads."""
from __future__ import annotations

import collections
import concurrent.futures as cf
import math
import os
import socket
import sys
import time
import traceback
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

from flowphase.theory.checks import DOCUMENTED_INF_KEYS

from .params import scalar as _scalar
from .registry import task_function as _task_function
from .store import RECORD_FORMAT, SweepStore, _version

__all__ = ["run_task", "lost_record", "prepare_worker", "run_chunk", "RecordWriter", "thread_env"]

_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


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



def lost_record(spec, key: str, params: Mapping, exc: BaseException) -> dict:
    """Failed record for a task whose worker died before storing it (retried by --retry-failed)."""
    return {"format": RECORD_FORMAT, "key": key, "task": spec.task, "params": dict(params),
            "status": "failed", "result": None,
            "error": {"type": type(exc).__name__, "message": f"worker lost: {exc}",
                      "traceback": "".join(traceback.format_exception_only(type(exc), exc))},
            "seed": int(params.get("seed", spec.seed)), "flowphase_version": _version(),
            "host": socket.gethostname(), "pid": os.getpid(), "started_at": time.time(),
            "elapsed_s": 0.0}



_WORKER_READY: Dict[Tuple, float] = {}


def thread_env(threads: int) -> Dict[str, str]:
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
    env = thread_env(threads)
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


def run_chunk(task: str, items: Sequence[Tuple[str, dict]], seed: int, sleep: float,
               out: Optional[str], threads: int, warm: Optional[Mapping],
               *, fsync: bool = True) -> list:
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
