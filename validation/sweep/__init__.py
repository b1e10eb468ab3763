"""Resumable, crash-safe parameter sweeps over theory solves and simulations.

A sweep is a TOML file naming one *task* (a callable ``params -> flat dict of results``, registered with
:func:`task` / :func:`register_task`) and the parameter sets to run it on.  Every finished task is stored at
once, atomically, as one JSON record keyed by a hash of its canonical parameters, so a killed sweep resumes
where it stopped and never duplicates work.  Tasks run in-process, on a joblib/loky pool, or on a Dask
cluster (``LocalCluster`` or a remote scheduler); see ``docs/sweeps.md`` and :mod:`.spec` for the file format.

Modules, one concern each:

==============  ==============================================================================
``params``      :class:`Param`: kinds, ranges, defaults, coercion of spec values
``registry``    :class:`Task`, :data:`TASKS`, :func:`task` (decorator), :func:`register_task`
``tasks``       the built-in tasks: adapters to the library (PAPER §3.1-§3.5, §4)
``spec``        TOML parsing and validation: :func:`parse_spec`, :func:`load_spec`, :func:`task_key`
``store``       :class:`SweepStore` (atomic JSON records) and the merged CSV, :func:`collect`
``worker``      :func:`run_task`, :func:`prepare_worker`, :class:`RecordWriter` (writer threads)
``executors``   serial / joblib / Dask executors
``driver``      :func:`run_sweep`, :class:`SweepReport`
==============  ==============================================================================

The mathematics lives in the library functions the tasks call; this package only schedules, stores and
tabulates them.
"""
from __future__ import annotations

from . import tasks as _tasks  # noqa: F401  (registers the built-in tasks)
from .driver import MAX_WORKERS, SweepReport, run_sweep
from .executors import SCHEDULER_TIMEOUT
from .params import Param
from .registry import TASKS, Task, describe_tasks, get_task, register_task, task
from .spec import MAX_TASKS, SpecError, SweepSpec, load_spec, parse_spec, task_key
from .store import RECORD_FORMAT, SweepStore, collect, valid_record
from .store import _version  # noqa: F401  (the cached installed version, recorded in every record)
from .worker import _WORKER_READY, RecordWriter, _clean_result, prepare_worker, run_task  # noqa: F401

_MAX_WORKERS = MAX_WORKERS   # the CLI's bound on --workers

__all__ = [
    "Param", "Task", "TASKS", "task", "register_task", "get_task", "describe_tasks", "SpecError",
    "SweepSpec", "parse_spec", "load_spec", "task_key", "SweepStore", "RecordWriter", "run_task",
    "prepare_worker", "run_sweep", "SweepReport", "collect", "valid_record", "RECORD_FORMAT", "MAX_TASKS",
    "MAX_WORKERS", "SCHEDULER_TIMEOUT",
]
