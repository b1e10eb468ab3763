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

__all__ = ["FlowphaseParser", "Applies", "DefaultsFormatter", "finite_float", "float_or_inf", "bounded_int",
           "float_list", "given", "check_output_dir", "check_output_file", "check_input_file"]

INT_MAX = 2 ** 63 - 1
#: smallest normal double: a nonzero number below it in magnitude is subnormal (``1e-320``) and refused
TINY = sys.float_info.min
#: attribute of the parsed namespace holding the destinations of the options given on the command line
GIVEN = "_given_options"


def _check_subnormal(v: float, text) -> None:
    if v != 0.0 and abs(v) < TINY:
        raise argparse.ArgumentTypeError(f"expected a normal number, got the subnormal {text!r} (|x| < {TINY:.3g})")


def _no_underscore(text, what):
    if "_" in str(text):   # Python's digit separators (1_0) are not a number a user writes on a command line
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")


def finite_float(text) -> float:
    """A finite, normal float (``nan``, ``inf``, numbers that overflow to inf, subnormals and Python's digit
    separators such as ``1_0`` are refused)."""
    _no_underscore(text, "a number")
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    _check_subnormal(v, text)
    return v


def float_or_inf(text) -> float:
    """A float that may be ``inf`` (never NaN, never subnormal)."""
    _no_underscore(text, "a number or 'inf'")
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number or 'inf', got {text!r}") from None
    if math.isnan(v):
        raise argparse.ArgumentTypeError(f"expected a number or 'inf', got {text!r}")
    _check_subnormal(v, text)
    return v


def bounded_int(text) -> int:
    """An integer with |value| <= 2**63 - 1 (no float syntax: ``2.7`` and ``1e3`` are refused)."""
    s = str(text).strip()
    _no_underscore(s, "an integer")
    if len(s) > 40:
        raise argparse.ArgumentTypeError(f"integer too large: {s[:20]}...")
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if abs(v) > INT_MAX:
        raise argparse.ArgumentTypeError(f"integer out of range (|value| < 2**63): {text!r}")
    return v


def float_list(text, name: str, lo: float = -math.inf, hi: float = math.inf, max_len: int = 10_000) -> list:
    """A comma-separated list of finite, normal numbers in ``[lo, hi]``: an empty entry (``0.5,,1.5``), a junk
    token, NaN, inf, a subnormal or an out-of-range value is a ``ValueError`` naming ``name``."""
    fields = str(text).split(",")
    if len(fields) > max_len:
        raise ValueError(f"{name} holds {len(fields)} values, at most {max_len} allowed")
    if any(x.strip() == "" for x in fields):
        raise ValueError(f"{name} must be a comma-separated list without empty entries, got {text!r}")
    out = []
    for x in fields:
        try:
            v = finite_float(x)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{name}: {exc}") from None
        if not lo <= v <= hi:
            raise ValueError(f"{name} values must lie in [{lo:g}, {hi:g}], got {x.strip()!r}")
        out.append(v)
    return out


class Applies:
    """The code paths that read an option.

    ``when(args) -> bool`` says whether the parsed command line takes a path that reads the option;
    ``otherwise`` names the paths that do not (a string, or ``otherwise(args) -> str``), ``used_by`` those that
    do, for the message ``"--OPTION does not apply to OTHERWISE (it applies to USED_BY)"``.
    """

    def __init__(self, when, otherwise, used_by: str = ""):
        self.when = when
        self.otherwise = otherwise
        self.used_by = used_by

    def message(self, option: str, args) -> str:
        where = self.otherwise(args) if callable(self.otherwise) else self.otherwise
        return f"{option} does not apply to {where}" + (f" (it applies to {self.used_by})" if self.used_by else "")


def given(args) -> frozenset:
    """Destinations of the options given explicitly on the command line (defaults excluded)."""
    return frozenset(getattr(args, GIVEN, ()))


_RECORDING = {}


def _recording(cls):
    """``cls`` (an argparse action class) that also records its destination as given."""
    if cls not in _RECORDING:
        def __call__(self, parser, namespace, values, option_string=None):
            rec = getattr(namespace, GIVEN, None)
            if rec is None:
                rec = set()
                setattr(namespace, GIVEN, rec)
            rec.add(self.dest)
            return cls.__call__(self, parser, namespace, values, option_string)
        _RECORDING[cls] = type(cls.__name__, (cls,), {"__call__": __call__})
    return _RECORDING[cls]


def _bounded_type(base, lo, hi, brackets, name):
    left, right = brackets

    def parse(text):
        v = base(text)
        ok = (v > lo if left == "(" else v >= lo) and (v < hi if right == ")" else v <= hi)
        if not ok:
            raise argparse.ArgumentTypeError(f"{name} must lie in {left}{lo:g}, {hi:g}{right}, got {text!r}")
        return v
    parse.__name__ = getattr(base, "__name__", "value")
    return parse


class DefaultsFormatter(argparse.HelpFormatter):
    """Help that shows every option's default (``(default: X)``), except for flags and options without one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
            return text
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            return text
        return f"{text} (default: %(default)s)"


class FlowphaseParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line (``flowphase <cmd>: error: ...``), exit status 2; options
    declare their range (``bounds=``) and the code paths that read them (``applies=``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)
        self._applies = []

    def error(self, message):  # noqa: D401 - argparse API
        msg = " ".join(str(message).split())
        sys.stderr.write(f"{self.prog}: error: {msg} (see {self.prog} --help)\n")
        raise SystemExit(2)

    def add_argument(self, *args, applies: "Applies | None" = None, bounds=None, **kwargs):
        if kwargs.get("type") is float:
            kwargs["type"] = finite_float
        elif kwargs.get("type") is int:
            kwargs["type"] = bounded_int
        if bounds is not None:
            lo, hi = bounds[0], bounds[1]
            brackets = bounds[2] if len(bounds) > 2 else "[]"
            name = kwargs.get("dest") or next((a for a in args if a.startswith("--")), args[0]).lstrip("-").replace("-", "_")
            kwargs["type"] = _bounded_type(kwargs.get("type") or finite_float, lo, hi, brackets, name)
            rng = f"{brackets[0]}{lo:g}, {hi:g}{brackets[1]}"
            kwargs["help"] = f"{kwargs.get('help') or ''} (range {rng})".strip()
        action = super().add_argument(*args, **kwargs)
        if action.option_strings:
            action.__class__ = _recording(type(action))
        if applies is not None:
            self._applies.append((action, applies))
        return action

    def parse_known_args(self, args=None, namespace=None):
        ns, extras = super().parse_known_args(args, namespace)
        done = given(ns)
        for action, rule in self._applies:
            if action.dest in done and not rule.when(ns):
                self.error(rule.message(action.option_strings[0], ns))
        return ns, extras


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
