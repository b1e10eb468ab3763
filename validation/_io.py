"""Atomic file output: nothing written by flowphase is ever left half-written.

Every writer goes through a temporary file in the destination folder, ``fsync`` and ``os.replace``
(atomic on POSIX), so a crash leaves either the old file or the new one.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import tempfile
from pathlib import Path

from flowphase.theory.checks import DOCUMENTED_INF_KEYS as INF_KEYS

def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_write_group",
           "clean_stale_temps", "exclusive_lock", "figure_bytes", "dump_json", "json_default", "strict_output", "INF_KEYS"]

#: temporaries are named ``.NAME.<host>-<pid>.<random>.tmp`` so that a later run can tell its own crash
#: leftovers (dead pid on this host, or older than a day) from files another live writer is using
_HOST = socket.gethostname().replace(".", "_").replace("-", "_")[:40] or "host"
_STALE_AGE_S = 24 * 3600.0


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.{_HOST}-{os.getpid()}."


def _mkstemp(path: Path):
    return tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path), suffix=".tmp")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


def clean_stale_temps(folder) -> int:
    """Remove crash leftovers ``.*.tmp`` of flowphase writers in ``folder`` (not recursive); return the count.

    A temporary is stale when its writer (host and pid in the name) is no longer running on this host, or
    when it is older than a day (a writer on another machine, or an old naming scheme).
    """
    import time

    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    now = time.time()
    for p in folder.glob(".*.tmp"):
        try:
            stem = p.name[:-len(".tmp")]
            owner = stem.rsplit(".", 2)[-2] if stem.count(".") >= 3 else ""
            host, _, pid = owner.rpartition("-")
            stale = now - p.stat().st_mtime > _STALE_AGE_S
            if host == _HOST and pid.isdigit():
                stale = stale or not _pid_alive(int(pid))
            elif not (host and pid.isdigit()):
                stale = stale or now - p.stat().st_mtime > 60.0  # names without a pid: a minute old is dead
            if stale:
                p.unlink()
                removed += 1
        except (FileNotFoundError, ValueError):
            continue
    return removed


@contextlib.contextmanager
def exclusive_lock(path, what: str = "--out"):
    """Hold ``PATH.lock`` (an advisory ``flock``) for the duration of the block, so that two runs cannot share one
    checkpoint or output: a second run is refused at once with a ``ValueError`` naming the file and the holder.

    The lock dies with its process (kill -9 included), so a stale lock file never blocks a rerun.
    """
    import fcntl

    lock = Path(f"{os.fspath(path)}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise ValueError(f"{what} {os.fspath(path)} is in use by a running flowphase ({holder}, lock {lock}); "
                             "wait for it to finish or use another path") from None
        try:        # the holder before us may have removed the file while we opened it: lock the current one
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {_HOST}".encode("ascii"), 0)
        yield lock
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()   # nothing left behind; a killed holder leaves the file, which never blocks (flock died)
        os.close(fd)     # releases the flock


def atomic_write_group(items, fsync: bool = True):
    """Write several files as one unit: every temporary first, then the ``os.replace`` calls back to back.

    ``items`` is a sequence of ``(path, bytes)``; the replacements happen in that order, so put the file
    that marks completeness (the JSON of a figure) last.  A crash before the replacements leaves none of
    the new files (only temporaries, removed by :func:`clean_stale_temps`).
    """
    items = [(Path(p), bytes(b)) for p, b in items]
    tmps = []
    try:
        for path, data in items:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _mkstemp(path)
            tmps.append(tmp)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                if fsync:
                    os.fsync(fh.fileno())
            os.chmod(tmp, _FILE_MODE)
        for (path, _), tmp in zip(items, tmps):
            os.replace(tmp, path)
    except BaseException:
        for tmp in tmps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    return [p for p, _ in items]


def figure_bytes(fig, suffix: str, **kw) -> bytes:
    """A matplotlib figure rendered in memory (format from ``suffix``)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format=suffix.lstrip("."), **kw)
    return buf.getvalue()


def atomic_write_bytes(path, data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace`` (``fsync`` first by default)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _mkstemp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)  # mkstemp creates 0600; results are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str, fsync: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


# ----------------------------------------------------------------------------- JSON text
def json_default(obj):
    """``json.dumps`` default: numpy scalars and arrays as Python numbers and lists."""
    import numpy as np

    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _finite_or_none(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


#: set by :func:`strict_output` (the CLI's ``main`` while a command runs): JSON is then checked by default
_STRICT_OUTPUT = False


@contextlib.contextmanager
def strict_output():
    """Within the block, :func:`dump_json` (``strict=None``) refuses undocumented non-finite numbers."""
    global _STRICT_OUTPUT
    previous, _STRICT_OUTPUT = _STRICT_OUTPUT, True
    try:
        yield
    finally:
        _STRICT_OUTPUT = previous


def dump_json(obj, strict: "bool | None" = None) -> str:
    """JSON text with NaN/inf mapped to null/'inf' so the output is always strict JSON.

    ``strict=True`` refuses NaN anywhere and inf outside :data:`INF_KEYS` with a
    :class:`~flowphase.numerics.results.ConvergenceError` naming the key, so a successful command never
    prints a non-finite number it did not document.  ``strict=None`` (the default) is strict inside
    :func:`strict_output` (the command line's stdout), lenient otherwise (files written by the library map
    NaN to null, see :func:`json_bytes`).
    """
    if strict is None:
        strict = _STRICT_OUTPUT

    def clean(o, key=None, path="$"):
        if isinstance(o, dict):
            return {str(k): clean(v, str(k), f"{path}.{k}") for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v, key, f"{path}[{i}]") for i, v in enumerate(o)]
        try:
            import numpy as np

            if isinstance(o, np.ndarray):
                return [clean(v, key, f"{path}[{i}]") for i, v in enumerate(o.tolist())]
            if isinstance(o, np.generic):
                o = o.item()
        except ImportError:  # pragma: no cover
            pass
        if strict and isinstance(o, float) and not math.isfinite(o) and (math.isnan(o) or key not in INF_KEYS):
            from flowphase.numerics.results import ConvergenceError

            raise ConvergenceError(f"the result holds a non-finite number ({o}) at {path}")
        if strict and isinstance(o, str) and o in ("inf", "-inf", "nan") and key not in INF_KEYS:
            from flowphase.numerics.results import ConvergenceError

            raise ConvergenceError(f"the result holds a non-finite number ({o!r}) at {path}")
        return _finite_or_none(o)

    return json.dumps(clean(obj), default=json_default)


def json_bytes(obj) -> bytes:
    """Indented strict JSON (NaN -> null, inf -> "inf") as UTF-8 bytes."""
    return (json.dumps(json.loads(dump_json(obj, strict=False)), indent=2, sort_keys=False) + "\n").encode("utf-8")


def atomic_write_json(path, obj) -> Path:
    return atomic_write_bytes(path, json_bytes(obj))
