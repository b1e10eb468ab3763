"""The ``flowphase`` command line.

Each command family lives in its own module of this package and exposes
``register(subparsers)``; :func:`main` wires them together.  Bad input gives a one-line message on
stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import math
import sys

#: command-family modules, imported lazily so that one family's import cost is not paid by another
COMMAND_MODULES = ("theory", "simulate", "reproduce", "schedule", "sweep", "uturn", "shared_network")


class CLIError(ValueError):
    """A user-facing error: printed as one line, exit status 2."""


# one-line argument errors, strict number types, output-location checks; kept in a
# helper module so that every sub-command (and every option added later) inherits them
from ._args import (FlowphaseParser, check_output_dir, check_output_file, check_input_file,  # noqa: E402,F401
                    finite_float, bounded_int, Applies, given)


# JSON output lives in the library (validation/_io.py); re-exported here for the command modules
from flowphase.validation._io import INF_KEYS, dump_json, json_default, strict_output  # noqa: E402,F401


def parse_n(text: str) -> float:
    """Parse ``--n``: a positive integer (at most 1e15) or ``inf``."""
    if str(text).strip().lower() in ("inf", "infinity", "oo"):
        return math.inf
    try:
        if "_" in str(text):
            raise ValueError(text)
        v = int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"n must be a positive integer or 'inf', got {text!r}")
    if not 1 <= v <= 10 ** 15:
        raise argparse.ArgumentTypeError(f"n must be an integer in [1, 1e15] or 'inf', got {text!r}")
    return v


def _version() -> str:
    """``flowphase.__version__`` of the root ``__init__.py`` (which imports nothing heavy)."""
    from flowphase import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = FlowphaseParser(prog="flowphase", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"flowphase {_version()}")
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
    """Run one command.  Exit status: 0 success, 1 a solver did not converge / training diverged,
    2 bad input or a file-system problem (one line on stderr), 3 a sweep with failed tasks,
    130 interrupted (Ctrl-C).  Never a traceback: an unexpected exception is reported in one line
    as an internal error (exit 1; ``FLOWPHASE_DEBUG=1`` re-raises it)."""
    import os
    import warnings

    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("flowphase: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # --help (0) or a one-line argument error (2), see FlowphaseParser
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    from flowphase.numerics.results import ConvergenceError

    try:
        with warnings.catch_warnings(), strict_output():
            # extreme inputs are refused or reported as errors; numpy's RuntimeWarnings on the way
            # would only add lines to stderr
            warnings.simplefilter("ignore", RuntimeWarning)
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("flowphase: interrupted; nothing half-written is left (files are written atomically)",
              file=sys.stderr)
        return 130
    except ConvergenceError as exc:
        print(f"flowphase: solver did not converge: {_first_line(exc)}", file=sys.stderr)
        return 1
    except (ValueError, CLIError) as exc:
        print(f"flowphase: error: {_first_line(exc)}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"flowphase: error: missing key {_first_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"flowphase: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        print(f"flowphase: error: out of memory ({_first_line(exc)}); use smaller sizes", file=sys.stderr)
        return 2
    except RecursionError:
        print("flowphase: error: input nested too deeply", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the contract: one line, never a traceback
        if os.environ.get("FLOWPHASE_DEBUG"):
            raise
        print(f"flowphase: internal error: {type(exc).__name__}: {_first_line(exc)} "
              "(FLOWPHASE_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


def _os_error(exc: OSError) -> str:
    """One line naming the file: ``PATH: reason``."""
    import errno

    reason = exc.strerror or _first_line(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on device"
    name = exc.filename if exc.filename is not None else None
    return f"{name}: {reason}" if name is not None else reason


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
