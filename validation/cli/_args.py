"""Argument handling shared by every ``flowphase`` sub-command.

* :class:`FlowphaseParser`: argparse errors are **one line** on stderr, exit status 2 (no usage block);
  every ``type=float`` option is parsed by :func:`finite_float` (NaN, inf and overflow such as ``1e400``
  refused) and every ``type=int`` option by :func:`bounded_int` (|value| < 2**63), so options added
  later inherit the checks;
* :func:`check_output_dir` / :func:`check_output_file` / :func:`check_input_file`: file-system checks done
  **before** any computation, each failing with one ``ValueError`` line that names the path.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

__all__ = ["FlowphaseParser", "finite_float", "float_or_inf", "bounded_int", "check_output_dir",
           "check_output_file", "check_input_file"]

INT_MAX = 2 ** 63 - 1


def finite_float(text) -> float:
    """A finite float (``nan``, ``inf`` and numbers that overflow to inf are refused)."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def float_or_inf(text) -> float:
    """A float that may be ``inf`` (never NaN)."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number or 'inf', got {text!r}") from None
    if math.isnan(v):
        raise argparse.ArgumentTypeError(f"expected a number or 'inf', got {text!r}")
    return v


def bounded_int(text) -> int:
    """An integer with |value| <= 2**63 - 1 (no float syntax: ``2.7`` and ``1e3`` are refused)."""
    s = str(text).strip()
    if len(s) > 40:
        raise argparse.ArgumentTypeError(f"integer too large: {s[:20]}...")
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if abs(v) > INT_MAX:
        raise argparse.ArgumentTypeError(f"integer out of range (|value| < 2**63): {text!r}")
    return v


class FlowphaseParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line (``flowphase <cmd>: error: ...``), exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        msg = " ".join(str(message).split())
        sys.stderr.write(f"{self.prog}: error: {msg} (see {self.prog} --help)\n")
        raise SystemExit(2)

    def add_argument(self, *args, **kwargs):
        if kwargs.get("type") is float:
            kwargs["type"] = finite_float
        elif kwargs.get("type") is int:
            kwargs["type"] = bounded_int
        return super().add_argument(*args, **kwargs)


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def _check_writable_dir_chain(path: Path, what: str) -> None:
    """The nearest existing ancestor of ``path`` (or ``path`` itself) is a writable folder."""
    anc = _nearest_existing(path)
    if not anc.is_dir():
        raise ValueError(f"{what} {str(path)!r}: {str(anc)!r} is not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {str(path)!r}: folder {str(anc)!r} is not writable")


def check_output_dir(path, what: str = "--out") -> Path:
    """Refuse an output folder that cannot be written, before anything is computed.

    Empty, an existing file, under a file, or a read-only folder -> ``ValueError`` naming the path.
    Nothing is created here.
    """
    if path is None or str(path).strip() == "":
        raise ValueError(f"{what} must name a folder, got an empty path")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{what} {str(p)!r} is an existing file, not a folder")
    _check_writable_dir_chain(p, what)
    return p


def check_output_file(path, what: str = "--out") -> Path:
    """Refuse an output file path that cannot be written (empty, a folder, under a file, read-only)."""
    if path is None or str(path).strip() == "":
        raise ValueError(f"{what} must name a file, got an empty path")
    p = Path(path)
    if p.is_dir() or str(path).endswith(os.sep):
        raise ValueError(f"{what} {str(p)!r} is a folder, not a file")
    if p.exists() and not os.access(p, os.W_OK):
        raise ValueError(f"{what} {str(p)!r} is not writable")
    _check_writable_dir_chain(p.parent, what)
    return p


def check_input_file(path, what: str) -> Path:
    """An existing, readable regular file (a folder, a missing or unreadable path -> ``ValueError``)."""
    if path is None or str(path).strip() == "":
        raise ValueError(f"{what} must name a file, got an empty path")
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{what} {str(p)!r} is a folder, not a file")
    if not p.exists():
        raise ValueError(f"{what} {str(p)!r} does not exist")
    if not p.is_file():
        raise ValueError(f"{what} {str(p)!r} is not a regular file")
    if not os.access(p, os.R_OK):
        raise ValueError(f"{what} {str(p)!r} is not readable")
    return p
