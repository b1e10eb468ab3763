"""Executors of a sweep: serial, a joblib/loky process pool, or a Dask cluster (local or a remote scheduler).

See ``docs/sweeps.md`` for the multi-machine set-up.
"""
from __future__ import annotations

import concurrent.futures as cf
import importlib.util
import os
from typing import Optional

from .worker import prepare_worker, thread_env

__all__ = ["SCHEDULER_TIMEOUT", "AUTO_RULE", "choose_executor", "make_executor"]

SCHEDULER_TIMEOUT = "30s"  # how long to wait for a --scheduler to answer


#: what ``executor='auto'`` picks (one text for the CLI help, the docs and :func:`choose_executor`)
AUTO_RULE = ("auto: dask with --scheduler, serial for 1 worker, otherwise a Dask LocalCluster, or a joblib process "
             "pool where dask.distributed is not installed (the summary names the executor that ran)")

#: the package each executor needs, and how to get it
_NEEDS = {"dask": ("distributed", "dask.distributed (pip install 'flowphase[dist]')"),
          "joblib": ("joblib", "joblib (pip install 'flowphase[dist]')")}


def _installed(kind: str) -> bool:
    return kind not in _NEEDS or importlib.util.find_spec(_NEEDS[kind][0]) is not None


def choose_executor(executor: str, workers: int, scheduler: Optional[str]) -> str:
    """The executor that will run: ``executor`` itself, or for ``'auto'`` the rule :data:`AUTO_RULE`.

    Asking for an executor whose package is not installed is a ``ValueError`` (never a silent substitute).
    """
    if executor not in ("auto", "serial", "joblib", "dask"):
        raise ValueError(f"executor must be auto, serial, joblib or dask, got {executor!r}")
    if scheduler and executor not in ("auto", "dask"):
        raise ValueError(f"--scheduler needs the dask executor, not {executor!r}")
    if executor == "auto":
        if scheduler:
            executor = "dask"
        elif workers <= 1:
            return "serial"
        else:
            executor = "dask" if _installed("dask") else "joblib"
    if not _installed(executor):
        what = "--scheduler" if scheduler else f"--executor {executor}"
        raise ValueError(f"{what} needs {_NEEDS[executor][1]}, which is not installed"
                         + ("" if executor == "joblib" else "; or use --executor joblib"))
    return executor



class make_executor:
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
                initargs=(self.task, self.warm, self.threads), env=thread_env(self.threads),
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
            kw = {"env": thread_env(self.threads)} if self.processes else {}
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
