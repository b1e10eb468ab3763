"""The one timer of the benchmark scripts: the best wall time of ``reps`` calls.

The scripts run as ``python benchmarks/bench_x.py``, so this folder is on ``sys.path`` and they import it as
``from _timing import best_time``.
"""
from __future__ import annotations

import math
import time


def best_time(fn, reps: int, *, with_result: bool = False):
    """The smallest wall time (``time.perf_counter``) of ``reps`` calls of ``fn()``; with ``with_result``, the pair
    ``(best, result of the last call)``."""
    best, out = math.inf, None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return (best, out) if with_result else best
