"""Atomic file output: nothing written by flowphase is ever left half-written.

Every writer goes through a temporary file in the destination folder, ``fsync`` and ``os.replace``
(atomic on POSIX), so a crash leaves either the old file or the new one.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_savefig"]


def atomic_write_bytes(path, data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace`` (``fsync`` first by default)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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


def atomic_write_json(path, obj) -> Path:
    from flowphase.validation.cli import dump_json

    return atomic_write_text(path, json.dumps(json.loads(dump_json(obj)), indent=2, sort_keys=False) + "\n")


def atomic_savefig(fig, path, **kw) -> Path:
    """Save a matplotlib figure atomically (format from the suffix)."""
    import io

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip("."), **kw)
    return atomic_write_bytes(path, buf.getvalue())
