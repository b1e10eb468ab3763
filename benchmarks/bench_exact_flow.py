"""Benchmark: generated distribution of a learned field by the 3-D flow vs d-dimensional sampling.

The same field (the paper's ansatz with a synthetic memorisation and e-coupling, n = 32, on the authors' grid of
80 times) is pushed through (a) :func:`flowphase.numerics.exact.flow.generated_flow` (separatrix + quadrature,
p_hat to ~1e-10, moments to ~1e-7) and (b) the baseline, the d-dimensional sampler
:func:`flowphase.validation.sampling.generate_from_params` with N samples (p_hat to ~sqrt(p(1-p)/N)).  Both run
in this process; the script prints the times, their ratio and the samples the baseline would need to match
the flow's p_hat accuracy.

Usage::

    python benchmarks/bench_exact_flow.py [--d 1000] [--n-gen 4000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np

from flowphase.numerics.exact.fields import paper_field
from flowphase.numerics.exact.flow import generated_flow
from flowphase.theory.problem import Problem
from flowphase.validation.sampling import generate_from_params


def _field(pr, ts):
    f = paper_field(pr, ts)
    two = f.t > 1.0
    triv = ~np.isfinite(f.b) & ~two
    am = np.where(triv, np.abs(f.m), 1.0)
    b = np.where(triv, np.arctanh(np.where(triv, am, 0.0)), f.b)
    live = ~triv
    return dataclasses.replace(f, omega=np.where(two, 1.5, f.omega), b=np.where(two, 0.0, b), m=f.m / am,
                               a_plus=1.2 * f.a_plus / am, a_minus=f.a_minus / am, branch=[],
                               z_plus=np.where(two, 0.03, 0.02 * f.t * live), z_minus=np.where(two, -0.05, -0.04 * f.t * live))


def _embed(f, d):
    rng = np.random.default_rng(0)
    q = np.linalg.qr(np.column_stack([np.ones(d), rng.standard_normal((d, 2))]))[0]
    q[:, 0] = np.ones(d) / math.sqrt(d)
    sp, sm = math.sqrt(f.n_plus * d), math.sqrt(f.n_minus * d)
    u = np.outer(f.m, np.ones(d)) + np.outer(f.a_plus * sp, q[:, 1]) + np.outer(f.a_minus * sm, q[:, 2])
    w = np.outer(f.omega, np.ones(d)) + np.outer(f.z_plus * sp, q[:, 1]) + np.outer(f.z_minus * sm, q[:, 2])
    return f.c, f.b, u, w


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=1000)
    ap.add_argument("--n-gen", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    pr = Problem.dilated(d=a.d, n=32)
    ts = pr.schedule.grid(80)
    f = _field(pr, ts)
    c, b, u, w = _embed(f, a.d)
    for method in ("euler", "heun", "continuous"):
        t0 = time.perf_counter()
        g = generated_flow(f, pr, method)
        first = time.perf_counter() - t0
        tf = min(_timed(lambda: generated_flow(f, pr, method)) for _ in range(a.repeats))
        line = f"{method:10s} flow: first call {first:.3f} s, then {tf:.4f} s; p_hat {g.p_hat:.6f} R {g.mean_overlap:.6f}"
        if method != "continuous":
            generate_from_params(pr, ts, c, b, u, w, n_gen=8, method=method)      # compile
            ts_ = min(_timed(lambda: generate_from_params(pr, ts, c, b, u, w, n_gen=a.n_gen, method=method))
                      for _ in range(a.repeats))
            st, _ = generate_from_params(pr, ts, c, b, u, w, n_gen=a.n_gen, method=method)
            line += (f" | d-dim sampler, {a.n_gen} samples: {ts_:.4f} s (ratio sampler/flow {ts_ / tf:.1f}), p_hat"
                     f" {st['p_hat']:.4f} +- {st['p_hat_stderr']:.4f}; samples for the flow's 1e-9 accuracy:"
                     f" {g.p_hat * (1 - g.p_hat) / 1e-18:.1e}")
        print(line)


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
