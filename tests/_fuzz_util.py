"""Shared helpers of the fuzz suites (tests/test_fuzz_cli.py, tests/test_fuzz_api.py; issue 12).

A property check returns a list of violations; :func:`report` fails the example with them.  With
``FLOWPHASE_FUZZ_TALLY=FILE`` set, violations are appended to ``FILE`` (one JSON line per example:
``{"suite", "case", "violations"}``) instead of failing, so the same deterministic examples can be
counted on an older commit (the "failures before the fixes" of the issue's closing note).
"""
from __future__ import annotations

import json
import math
import os

#: keys whose value may be infinite (the string "inf" in JSON); mirrors
#: flowphase.theory.checks.DOCUMENTED_INF_KEYS (kept here so the suite also runs on older commits)
INF_KEYS = {"n", "d", "b", "t_c", "t_s"}


def report(suite: str, case, violations, **extra) -> None:
    path = os.environ.get("FLOWPHASE_FUZZ_TALLY")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"suite": suite, "case": repr(case)[:300], "violations": list(violations),
                                 **{k: repr(v) for k, v in extra.items()}}) + "\n")
        return
    assert not violations, f"{case!r}: {violations}"


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
