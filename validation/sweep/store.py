"""The record store of a sweep: one atomically written JSON record per task, and the merged CSV table."""
from __future__ import annotations

import csv
import functools
import io
import json
import math
import numbers
from pathlib import Path
from typing import Dict, Mapping, Optional

from flowphase.validation._io import atomic_write_text

from .registry import TASKS

__all__ = ["RECORD_FORMAT", "RECORDS_DIR", "TABLE_NAME", "SweepStore", "valid_record", "collect", "version"]

RECORD_FORMAT = 1
RECORDS_DIR = "records"
TABLE_NAME = "results.csv"


@functools.lru_cache(maxsize=None)
def _version() -> str:
    """The installed flowphase version (cached: the metadata lookup costs ~1 ms)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowphase")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _json_clean(obj):
    """JSON-safe copy: +-inf as the strings 'inf'/'-inf' (NaN is refused upstream)."""
    if isinstance(obj, dict):
        return {str(k): _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, float) and math.isinf(obj):
        return "inf" if obj > 0 else "-inf"
    return obj





class SweepStore:
    """Directory of task records ``DIR/records/<key>.json``, safe for concurrent writers.

    Each record is written to a unique temporary file in the same directory, flushed and
    fsync-ed, then renamed over its final name with :func:`os.replace` (atomic on POSIX): after a
    crash (of the process or of the machine) a record is either absent or complete, and two
    writers of the same key leave one complete record.  The directory itself is not fsync-ed per
    record: after a power loss the last renames may be missing, and those tasks simply run again.
    ``fsync=False`` skips the file fsync too (the rename stays atomic, so a killed *process* still
    leaves complete records; after a power loss an empty or torn record is unreadable, ignored by
    :meth:`load` and recomputed).
    """

    def __init__(self, root, create: bool = True, fsync: bool = True):
        self.root = Path(root)
        self.fsync = bool(fsync)
        self.records = self.root / RECORDS_DIR
        if create:
            self.records.mkdir(parents=True, exist_ok=True)
        elif not self.records.is_dir():
            raise FileNotFoundError(f"{self.root} holds no sweep records ({RECORDS_DIR}/ missing)")

    def path(self, key: str) -> Path:
        return self.records / f"{key}.json"

    def write(self, record: Mapping) -> Path:
        """Atomically write ``record`` (a dict with a ``key``) and return its path."""
        key = record["key"]
        text = json.dumps(_json_clean(dict(record)), allow_nan=False, indent=1)
        return atomic_write_text(self.path(key), text, fsync=self.fsync)

    def read(self, key: str) -> Optional[dict]:
        """The record of ``key``, or None if absent or unreadable."""
        try:
            with open(self.path(key), encoding="utf-8") as f:
                rec = json.load(f)
        except (OSError, ValueError, RecursionError):   # missing, unreadable, torn or not JSON
            return None
        return rec if valid_record(rec, key) else None

    def load(self) -> Dict[str, dict]:
        """Every complete record, by key (temporary files of running writers are ignored)."""
        out = {}
        for path in sorted(self.records.glob("*.json")):
            try:
                with open(path, encoding="utf-8") as f:
                    rec = json.load(f)
            except (OSError, ValueError, RecursionError):   # a folder, unreadable, torn or not JSON
                continue
            if valid_record(rec, path.stem):
                out[path.stem] = rec
        return out

    def clean_temporaries(self) -> int:
        """Remove crash leftovers ``records/.KEY.json.*.tmp`` of writers no longer running."""
        from flowphase.validation._io import clean_stale_temps

        return clean_stale_temps(self.records)

    def write_table(self, path=None) -> Path:
        """Merged CSV: one row per task, parameter columns, then result columns, then metadata."""
        records = list(self.load().values())
        params, results = [], []
        for rec in records:
            task = TASKS.get(rec.get("task"))
            for k in list(task.params if task else []) + list(rec.get("params", {})):
                if k not in params:
                    params.append(k)
        records.sort(key=lambda r: (r.get("task", ""),
                                    tuple(_sort_key(r["params"].get(k)) for k in params)))
        for rec in records:
            for k in rec.get("result") or {}:
                if k not in results:
                    results.append(k)
        meta = [m for m in ("task", "status", "error", "seed", "flowphase_version", "elapsed_s",
                            "key") if m not in params]
        results = [r for r in results if r not in params and r not in meta]
        path = Path(path) if path else self.root / TABLE_NAME
        buf = io.StringIO(newline="")
        w = csv.writer(buf)
        w.writerow(params + results + meta)
        for rec in records:
            res = rec.get("result") or {}
            err = rec.get("error") or {}
            info = {**rec, "error": f"{err.get('type')}: {err.get('message')}" if err else None}
            row = ([rec["params"].get(k) for k in params] + [res.get(k) for k in results]
                   + [info.get(m) for m in meta])
            w.writerow(["" if v is None else v for v in row])
        return atomic_write_text(path, buf.getvalue())


def valid_record(rec, key: str) -> bool:
    """A record as :func:`run_task` writes it: a dict with this key, a task name, a params dict, a status
    'done' (with a result dict) or 'failed' (with an error dict).  Anything else (hand-edited, truncated
    by a disk full, another program's JSON) is treated as missing: ignored by ``collect`` and re-run."""
    if not isinstance(rec, dict) or rec.get("key") != key or not isinstance(rec.get("task", ""), str):
        return False
    if not isinstance(rec.get("params"), dict):
        return False
    st = rec.get("status")
    if st == "done":
        return isinstance(rec.get("result"), dict)
    if st == "failed":
        return rec.get("error") is None or isinstance(rec.get("error"), dict)
    return False


def _sort_key(v):
    if v is None:
        return (0, 0.0, "")
    if isinstance(v, str) and v in ("inf", "-inf"):
        return (1, float(v), "")
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return (1, float(v), "")
    return (2, 0.0, str(v))


def collect(out) -> Path:
    """Write ``DIR/results.csv`` from the records in ``DIR`` and return its path."""
    return SweepStore(out, create=False).write_table()



version = _version
