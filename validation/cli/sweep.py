"""``flowphase sweep``: resumable parameter sweeps (see ``docs/sweeps.md``).

    flowphase sweep SPEC.toml --out DIR [--workers N] [--scheduler ADDRESS] [--executor KIND]
                              [--retry-failed] [--dry-run]
    flowphase sweep collect DIR       # rewrite DIR/results.csv from the stored records
    flowphase sweep tasks             # list the tasks, their parameters and ranges

Exit status: 0 when every task of the spec is done, 3 when some are recorded as failed (rerun
with ``--retry-failed``) or are still missing, 2 for a malformed spec or bad arguments (all checked
before any work), 130 when interrupted.
"""
from __future__ import annotations

import argparse
import sys

from flowphase.validation.cli import CLIError, check_output_dir, dump_json
from flowphase.validation.cli._args import Applies, given

#: options of a sweep run, which 'collect DIR' and 'tasks' do not read
_RUN_ONLY = ("out", "workers", "scheduler", "executor", "threads_per_worker", "chunksize", "write_on", "no_fsync",
             "retry_failed", "dry_run", "progress")


def _serial(args) -> bool:
    return args.executor == "serial" or (args.executor == "auto" and not args.scheduler and args.workers <= 1)


#: the text of flowphase.validation.sweep.executors.AUTO_RULE (kept here so that the CLI's start-up does not import
#: the sweep package; tests/test_hardening.py checks that the two are the same)
AUTO_RULE = ("auto: dask with --scheduler, serial for 1 worker, otherwise a Dask LocalCluster, or a joblib process "
             "pool where dask.distributed is not installed (the summary names the executor that ran)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run a resumable parameter sweep from a TOML spec",
        description=__doc__.split("\n\n")[0],
        epilog="'flowphase sweep collect DIR' rewrites the merged table; "
               "'flowphase sweep tasks' lists the tasks.")
    p.add_argument("target", nargs="+", metavar="SPEC.toml | collect DIR | tasks")
    p.add_argument("--out", help="output folder (records/ and results.csv)")
    p.add_argument("--workers", type=int, default=1, bounds=(1, 4096), help="worker processes")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--executor", choices=("auto", "serial", "joblib", "dask"), default="auto", help=AUTO_RULE)
    p.add_argument("--threads-per-worker", type=int, default=None, bounds=(1, 1024),
                   help="numba/BLAS threads per worker (default cores // workers)")
    p.add_argument("--chunksize", type=int, default=None, bounds=(1, 10 ** 6),
                   applies=Applies(lambda a: not _serial(a), "the serial executor (one worker)"),
                   help="tasks per submitted job")
    p.add_argument("--write-on", choices=("worker", "driver"), default="worker",
                   help="who writes the records (driver: no shared folder needed)")
    p.add_argument("--no-fsync", action="store_true",
                   help="skip the fsync of each record (faster for very cheap tasks; records stay "
                        "atomic against a killed process, a power loss may cost recomputation)")
    p.add_argument("--retry-failed", action="store_true", help="re-run tasks recorded as failed")
    p.add_argument("--dry-run", action="store_true",
                   help="validate the spec and print the counts, run nothing")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: shown on a terminal)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from flowphase.validation import sweep as sw

    target = args.target
    if target[0] in ("tasks", "collect"):
        extra = sorted(given(args) & set(_RUN_ONLY))
        if extra:
            raise CLIError(f"--{extra[0].replace('_', '-')} does not apply to 'sweep {target[0]}' (it applies to "
                           "'sweep SPEC.toml')")
    if target[0] == "tasks" and len(target) == 1:
        print(sw.describe_tasks())
        return 0
    if target[0] == "collect":
        if len(target) != 2:
            raise CLIError("usage: flowphase sweep collect DIR")
        path = sw.collect(target[1])
        print(dump_json({"table": str(path)}) if args.json else f"wrote {path}")
        return 0
    if len(target) != 1:
        raise CLIError("usage: flowphase sweep SPEC.toml --out DIR (or: sweep collect DIR)")
    if not args.out:
        raise CLIError("--out DIR is required")
    check_output_dir(args.out)
    for name, v, lo, hi in (("--workers", args.workers, 1, sw._MAX_WORKERS),
                            ("--threads-per-worker", args.threads_per_worker, 1, 1024),
                            ("--chunksize", args.chunksize, 1, 10 ** 6)):
        if v is not None and not lo <= v <= hi:
            raise CLIError(f"{name} must lie in [{lo}, {hi}], got {v}")
    if args.executor in ("serial", "joblib") and args.scheduler:
        raise CLIError(f"--scheduler needs the dask executor, not {args.executor!r}")
    from flowphase.validation.cli._args import check_input_file

    check_input_file(target[0], "sweep spec")
    spec = sw.load_spec(target[0])
    if args.dry_run:
        store = sw.SweepStore(args.out, create=False) if _exists(args.out) else None
        stored = store.load() if store else {}
        items = spec.items()
        st = [stored[k].get("status") for k, _ in items if k in stored]
        summary = {"task": spec.task, "total": len(items), "done": st.count("done"),
                   "failed": st.count("failed"), "missing": len(items) - len(st)}
        print(dump_json(summary) if args.json else
              " ".join(f"{k}={v}" for k, v in summary.items()))
        return 0
    try:
        rep = sw.run_sweep(spec, args.out, executor=args.executor, workers=args.workers,
                           scheduler=args.scheduler, retry_failed=args.retry_failed,
                           threads_per_worker=args.threads_per_worker, chunksize=args.chunksize,
                           write_on=args.write_on, fsync=not args.no_fsync,
                           progress=args.progress)
    except KeyboardInterrupt:
        print("flowphase: sweep interrupted; finished tasks are stored, rerun the same command "
              "to resume", file=sys.stderr)
        return 130
    summary = {"task": spec.task, "total": rep.total, "skipped": rep.skipped, "ran": rep.ran,
               "done": rep.done, "failed": rep.failed, "executor": rep.executor,
               "elapsed_s": round(rep.elapsed_s, 3), "table": str(rep.table)}
    if args.json:
        print(dump_json(summary))
    else:
        print(f"sweep {spec.task}: {rep.total} tasks, {rep.skipped} already stored, ran {rep.ran} "
              f"({rep.executor}) -> {rep.done} done, {rep.failed} failed; table {rep.table}")
    if rep.missing:
        print(f"flowphase: {rep.missing} task(s) have no record; rerun the same command", file=sys.stderr)
    return 3 if (rep.failed or rep.missing) else 0


def _exists(path) -> bool:
    from pathlib import Path

    return (Path(path) / "records").is_dir()
