"""The ``flowphase`` command line.

Each command family lives in its own module of this package and exposes
``register(subparsers)``; :func:`main` wires them together.  Bad input gives a one-line message on
stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import sys

#: command-family modules, imported lazily so that one family's import cost is not paid by another
COMMAND_MODULES = ("theory", "simulate", "reproduce", "schedule", "sweep", "uturn")


class CLIError(ValueError):
    """A user-facing error: printed as one line, exit status 2."""


def json_default(obj):
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


def dump_json(obj) -> str:
    """JSON text with NaN/inf mapped to null/'inf' so the output is always strict JSON."""
    def clean(o):
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        try:
            import numpy as np

            if isinstance(o, np.ndarray):
                return [clean(v) for v in o.tolist()]
            if isinstance(o, np.generic):
                o = o.item()
        except ImportError:  # pragma: no cover
            pass
        return _finite_or_none(o)

    return json.dumps(clean(obj), default=json_default)


def parse_n(text: str) -> float:
    """Parse ``--n``: a positive integer or ``inf``."""
    if str(text).lower() in ("inf", "infinity", "oo"):
        return math.inf
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"n must be a positive integer or 'inf', got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowphase", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a family not installed in this build
            if exc.name and exc.name.startswith(__name__):
                continue
            raise
        mod.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from flowphase.numerics.results import ConvergenceError

    try:
        return int(args.func(args) or 0)
    except ConvergenceError as exc:
        print(f"flowphase: solver did not converge: {_first_line(exc)}", file=sys.stderr)
        return 1
    except (ValueError, CLIError, FileNotFoundError, KeyError) as exc:
        print(f"flowphase: error: {_first_line(exc)}", file=sys.stderr)
        return 2


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
