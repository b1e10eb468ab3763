"""Benchmark: the exact finite-n curve (EXACT_FINITE_N, 4 outer variables) vs today's phase-1 solver (paper's ansatz).

Same run, same problem (n = 128, fresh noise, 200 times over [0, 2]): ``learned_curve(..., theory='exact')``
against ``learned_curve(..., theory='paper')`` (projected Newton on the 2-variable PAPER §3.2 potential plus
the phase-2 closed forms).  Targets: exact within 2x of the paper's solver; the exact curve evaluated at a
finite d (every time is a 4-variable minimisation there, no closed-form phase 2) within 2x of the exact curve at
d = inf (printed as ``finite d / d = inf``, from the best wall times and from the best CPU times: on a loaded
machine the CPU time is the stable one).

Usage::

    python benchmarks/bench_exact_curve.py [--n-times 200] [--repeats 15] [--lam 2]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _best(fs, repeats):
    """For each of ``fs``: best and median wall time, best CPU time (``time.process_time``: on a loaded machine
    the wall time of a 10 ms call mostly measures the scheduler) and the last result.  The functions take turns
    (one call each per round), so that a change of the machine's load falls on all of them alike."""
    times = [[] for _ in fs]
    cpu = [[] for _ in fs]
    outs = [None] * len(fs)
    for _ in range(repeats):
        for i, f in enumerate(fs):
            t0, c0 = time.perf_counter(), time.process_time()
            outs[i] = f()
            cpu[i].append(time.process_time() - c0)
            times[i].append(time.perf_counter() - t0)
    return [(min(w), float(np.median(w)), min(c), o) for w, c, o in zip(times, cpu, outs)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-times", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--lam", type=float, default=2.0)
    ns = ap.parse_args(argv)
    from flowphase.numerics.learned import learned_curve
    from flowphase.theory.problem import Problem

    pr = Problem.dilated(n=128, lam_u=ns.lam, lam_w=ns.lam)
    ts = np.linspace(0.0, 2.0, ns.n_times)
    learned_curve(pr, ts[:5], "exact"), learned_curve(pr, ts[:5], "paper"), learned_curve(pr, ts[:5], "exact",
                                                                                           d=1000.0)  # compile
    runs = (("paper (PAPER §3.2 ansatz, d = inf)", lambda: learned_curve(pr, ts, "paper")),
            ("exact (EXACT_FINITE_N, d = inf)", lambda: learned_curve(pr, ts, "exact")),
            ("exact evaluated at d = 1000", lambda: learned_curve(pr, ts, "exact", d=1000.0)))
    rows = [(name,) + r for (name, _), r in zip(runs, _best([f for _, f in runs], ns.repeats))]
    base = rows[0][1]
    print(f"problem: n = 128, lam_u = lam_w = {ns.lam}, kappa = 2, p = 0.8, fresh noise; {ns.n_times} times on [0, 2]")
    for name, best, med, cpu, cur in rows:
        print(f"{name:40s} best {best * 1e3:8.1f} ms  median {med * 1e3:8.1f} ms  CPU {cpu * 1e3:8.1f} ms  "
              f"ratio to paper {best / base:5.2f}x  "
              f"(all converged: {bool(np.all(cur.converged))}, jumps {len(cur.jumps)})")
    print(f"finite d / d = inf (exact, best times): {rows[2][1] / rows[1][1]:5.2f}x  "
          f"(best CPU times: {rows[2][3] / rows[1][3]:5.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
