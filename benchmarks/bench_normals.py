"""The projected sampler's normal numbers: the vectorised ziggurat fill vs one call per number.

Prints nanoseconds per N(0, 1) number (single thread, best of ``--reps``) for

* ``zig_normal loop`` -- :func:`flowphase.validation.simulator.rng.zig_normal` called once per number (the
  baseline: the projected kernels' generator before the three-pass fill);
* ``zig_fill``        -- :func:`flowphase.validation.simulator.rng.zig_fill`, the same numbers bit for bit;
* ``numpy Generator`` -- ``np.random.default_rng().standard_normal(out=...)`` (NumPy's ziggurat, for scale),

for rows of length d (the two fresh d-vectors per job) and n + 2 (the rows' V-coordinates), and the ratios
against the baseline measured in the same run.  Run: ``python benchmarks/bench_normals.py [--d 5000 --n 128]``.
"""
from __future__ import annotations

import argparse
import os

import numpy as np
from numba import njit

from flowphase.validation.simulator.rng import ZIG_F, ZIG_X, row_key, zig_fill, zig_normal
from _timing import best_time  # noqa: E402 - benchmarks/ is on sys.path when run as a script


@njit(cache=True)
def _loop(Z, zx, zf):
    R, m = Z.shape
    for r in range(R):
        key = row_key(1, 2, r, 7)
        for i in range(m):
            Z[r, i] = zig_normal(key, i, zx, zf)


@njit(cache=True)
def _fill(Z, zx, zf):
    R, m = Z.shape
    hs = np.empty(m, np.uint64)
    us = np.empty(m)
    bad = np.empty(m, np.int64)
    for r in range(R):
        zig_fill(Z[r], row_key(1, 2, r, 7), zx, zf, hs, us, bad)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=5000)
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--numbers", type=int, default=2_000_000, help="numbers per timing")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}; single thread; best of {a.reps}")
    gen = np.random.default_rng(0)
    for m in (a.d, a.n + 2):
        Z = np.empty((max(1, a.numbers // m), m))
        Z2 = np.empty_like(Z)
        _loop(Z[:1], ZIG_X, ZIG_F)
        _fill(Z2[:1], ZIG_X, ZIG_F)
        t_loop = best_time(lambda: _loop(Z, ZIG_X, ZIG_F), a.reps)
        t_fill = best_time(lambda: _fill(Z2, ZIG_X, ZIG_F), a.reps)
        t_np = best_time(lambda: gen.standard_normal(out=Z2.reshape(-1)), a.reps)
        _fill(Z2, ZIG_X, ZIG_F)
        same = bool(np.array_equal(Z, Z2))
        ns = 1e9 / Z.size
        print(f"rows of {m}: zig_normal loop {t_loop * ns:.2f} ns, zig_fill {t_fill * ns:.2f} ns "
              f"(identical numbers: {same}), numpy Generator {t_np * ns:.2f} ns; "
              f"loop / fill = {t_loop / t_fill:.2f}x, fill / numpy = {t_fill / t_np:.2f}x")


if __name__ == "__main__":
    main()
