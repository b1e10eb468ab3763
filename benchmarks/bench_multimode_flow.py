"""Exact-flow weights in the projection space vs the d-dimensional flow, same run.

Times, warm and in one process:

* ``projection d``  -- :func:`flowphase.numerics.multimode.projection_flow` (Euler, 80 grid points,
  ``N`` initial points) at d = 10^3 and d = 10^6: the cost does not depend on d;
* ``full d=1000``   -- :func:`flowphase.numerics.multimode.full_flow`, the same flow in d = 1000
  dimensions with the same number of points (the baseline the projection replaces).

Prints the wall times and the ratios.  Run: ``python benchmarks/bench_multimode_flow.py [--points 4096]``.
"""
from __future__ import annotations

import argparse

import numpy as np

from flowphase.numerics.multimode import full_flow, projection_flow
from flowphase.theory.mixtures import Hierarchy
from flowphase.theory.problem import UniformSchedule
from _timing import best_time  # noqa: E402 - benchmarks/ is on sys.path when run as a script

H = Hierarchy(coarse=(0.6, 0.4), fine=((0.8, 0.2), (0.6, 0.4)), eps=(0.15, 0.02))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=4096, help="initial points (a power of 2)")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args(argv)
    m = int(np.log2(a.points))
    sch = UniformSchedule()
    times = {}
    for d in (1000, 10 ** 6):
        mix = H.mixture(d)
        times[f"projection d={d}"] = best_time(lambda: projection_flow(mix, sch, n_times=80, m=m, reps=1), a.reps)
    mix = H.mixture(1000)
    M = mix.means(1000)
    X0 = np.random.default_rng(0).standard_normal((2 ** m, 1000))
    times["full d=1000"] = best_time(lambda: full_flow(mix, sch, X0, M, n_times=80), a.reps)
    for k, v in times.items():
        print(f"{k:>22}: {v:8.3f} s")
    print(f"ratio projection(1e6) / projection(1e3): {times['projection d=1000000'] / times['projection d=1000']:.2f}")
    print(f"ratio full(1e3) / projection(1e3):       {times['full d=1000'] / times['projection d=1000']:.1f}")


if __name__ == "__main__":
    main()
