"""Shared helpers of the fuzz suites (tests/test_fuzz_cli.py, tests/test_fuzz_api.py).

A property check returns a list of violations; :func:`report` fails the example with them.  With
``FLOWPHASE_FUZZ_TALLY=FILE`` set, every example is appended to ``FILE`` (one JSON line:
``{"suite", "surface", "case", "violations"}``, clean examples with an empty list) so that the same
deterministic examples can be counted on an older commit, and the example does not stop the run; the
test still **fails** at its end when any example of it had a violation (:func:`tally_guard`), so the
tally mode records *and* fails.
"""
from __future__ import annotations

import contextlib
import json
import math
import os

#: keys whose value may be infinite (the string "inf" in JSON); mirrors
#: flowphase.theory.checks.DOCUMENTED_INF_KEYS (kept here so the suite also runs on older commits)
INF_KEYS = {"n", "d", "b", "t_c", "t_s"}

#: violations recorded in tally mode during this process (checked by :func:`tally_guard`)
RECORDED: list = []
#: the surface of the running test (set by :func:`tally_guard`), used when a report names none
CURRENT = [""]


def report(suite: str, case, violations, surface: str = "", **extra) -> None:
    path = os.environ.get("FLOWPHASE_FUZZ_TALLY")
    surface = surface or CURRENT[0]
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"suite": suite, "surface": surface, "case": repr(case)[:300],
                                 "violations": list(violations),
                                 **{k: repr(v) for k, v in extra.items()}}) + "\n")
        if violations:
            RECORDED.append((surface, repr(case)[:200], list(violations)))
        return
    assert not violations, f"{case!r}: {violations}"


@contextlib.contextmanager
def tally_guard(surface: str = ""):
    """Fail the surrounding test when an example recorded a violation in tally mode (no-op otherwise:
    :func:`report` then fails the example itself).  ``surface`` names the examples' surface in the tally."""
    start = len(RECORDED)
    CURRENT[0] = surface
    try:
        yield
    finally:
        CURRENT[0] = ""
    new = RECORDED[start:]
    if new:
        raise AssertionError(f"{len(new)} example(s) violated the contract (all recorded in "
                             f"{os.environ.get('FLOWPHASE_FUZZ_TALLY')}); first: {new[0]}")


def non_finite_paths(obj, key=None, path="$", out=None, depth=0):
    """Paths of non-finite numbers (and 'inf'/'nan' strings) outside :data:`INF_KEYS`."""
    import numpy as np

    out = [] if out is None else out
    if depth > 50 or len(out) > 5:
        return out
    if isinstance(obj, dict):
        for k, v in obj.items():
            non_finite_paths(v, str(k), f"{path}.{k}", out, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj[:2000]):
            non_finite_paths(v, key, f"{path}[{i}]", out, depth + 1)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc" and obj.size and not np.all(np.isfinite(obj)) and key not in INF_KEYS:
            out.append(path)
    elif isinstance(obj, (float, np.floating)):
        if not math.isfinite(float(obj)) and (math.isnan(float(obj)) or key not in INF_KEYS):
            out.append(path)
    elif isinstance(obj, str):
        if obj in ("inf", "-inf", "nan", "Infinity", "NaN") and key not in INF_KEYS:
            out.append(path)
    return out
