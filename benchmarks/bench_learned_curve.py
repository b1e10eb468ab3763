"""Benchmark: the full learned-parameter curve (200 times over [0, 2], finite n) vs a scipy baseline.

flowphase's default theory for this (fresh-noise, finite-n) problem -- the exact finite-n theory
(numba Newton with the generated gradient and Hessian, trapezoid quadrature, continuation, multi-start,
jump detection and refinement) -- and the paper's ansatz (``theory='paper'``), against the plain approach
of the authors' notebook:
``scipy.optimize.minimize`` (L-BFGS-B, bounds (0, inf)^2, start (kappa t, h)) on the effective
potential computed with ``scipy.integrate.quad``, and the phase-2 closed form in plain Python.
All run in this process on the same problem; the script prints the times, the ratio of the default
theory's curve to the baseline (the ``speed-up`` line) and of the paper ansatz's, the numba compile/cache-load
time separately, the best CPU times and their ratios (on a loaded machine the wall time of the 2-s baseline
grows with the load far more than that of a 10-ms curve), the first-call time of a fresh ``python -c``
import+solve, and the largest difference between the paper-ansatz curve and the baseline (which computes the
same ansatz).

Usage::

    python benchmarks/bench_learned_curve.py [--n-times 200] [--repeats 5]
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time

import numpy as np
from scipy import integrate, optimize

PARAMS = dict(p=0.8, sigma=1.0, kappa=2.0, n=128, lam_u=50.0, lam_w=1.0, noise="fresh")


def _quad_moments(om, b, kt, p):
    Ms = M2 = 0.0
    for sl, ps in ((1.0, p), (-1.0, 1.0 - p)):
        dens = lambda g: math.exp(-0.5 * g * g) / math.sqrt(2.0 * math.pi)  # noqa: E731
        Ms += ps * sl * integrate.quad(lambda g: math.tanh(b + om * (g + kt * sl)) * dens(g), -12, 12)[0]
        M2 += ps * integrate.quad(lambda g: math.tanh(b + om * (g + kt * sl)) ** 2 * dens(g), -12, 12)[0]
    return Ms, M2


def baseline_curve(ts, p, sigma, kappa, n, lam_u, lam_w, noise):
    """scipy.optimize.minimize + scipy.integrate.quad (phase 1); closed form (phase 2)."""
    h = math.atanh(2 * p - 1)
    out = np.empty((len(ts), 4))
    for k, t in enumerate(ts):
        if t <= 1.0:
            kt = kappa * t

            def E(x):
                Ms, M2 = _quad_moments(x[0], x[1], kt, p)
                return -n * (n + sigma ** 2) * Ms ** 2 / (lam_u + n * M2) + lam_w * x[0] ** 2

            res = optimize.minimize(E, x0=[kt, h], method="L-BFGS-B", bounds=[(0, None), (0, None)], tol=1e-8)
            Ms, M2 = _quad_moments(res.x[0], res.x[1], kt, p)
            out[k] = (0.0, n * Ms / (lam_u + n * M2), res.x[0], res.x[1])
        else:
            tp = t - 1.0
            A = lam_u + sigma ** 2 * (n + lam_u - 1)
            B = {"fixed": n + lam_u - 1, "fresh": n + lam_u, "notebook": n + lam_u + 1}[noise]
            c = tp * A / (tp * tp * A + B * (1 - tp) ** 2)
            out[k] = (c, n * (1 - c * tp) / (n + lam_u), np.nan, np.nan)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-times", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ns = ap.parse_args(argv)
    ts = np.linspace(0.0, 2.0, ns.n_times)

    t0 = time.perf_counter()
    from flowphase.numerics.learned import learned_curve, resolve_theory
    from flowphase.theory.problem import Problem
    t_import = time.perf_counter() - t0
    pr = Problem.dilated(**PARAMS)
    default = resolve_theory(pr, None)
    t0 = time.perf_counter()
    learned_curve(pr, [0.2, 0.5, 1.5])  # compiles (or loads the numba cache)
    learned_curve(pr, [0.2, 0.5, 1.5], theory="paper")
    t_compile = time.perf_counter() - t0

    def best(theory):
        times, cpu = [], []
        for _ in range(ns.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            out = learned_curve(pr, ts, theory=theory)
            cpu.append(time.process_time() - c0)
            times.append(time.perf_counter() - t0)
        return min(times), min(cpu), out

    t_fp, c_fp, cur_default = best(None)
    t_paper, c_paper, cur = best("paper")

    t0, c0 = time.perf_counter(), time.process_time()
    base = baseline_curve(ts, **PARAMS)
    c_base = time.process_time() - c0
    t_base = time.perf_counter() - t0

    ph1 = ts <= 1.0
    inf_ = np.array([b == "informative" for b in cur.branch])
    both = ph1 & inf_ & (base[:, 2] > 1e-3)
    d_omega = float(np.max(np.abs(cur.omega[both] - base[both, 2]))) if both.any() else float("nan")
    d_c = float(np.max(np.abs(cur.c[~ph1] - base[~ph1, 0])))

    cmd = ("from flowphase.numerics.learned import learned_parameters; from flowphase.theory.problem import Problem; "
           "print(learned_parameters(Problem.dilated(n=128, lam_u=50, lam_w=1), 0.5).omega)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", cmd], capture_output=True, text=True, check=True)
    t_cli = time.perf_counter() - t0

    print(f"problem: {PARAMS}, {ns.n_times} times over [0, 2]")
    print(f"flowphase import            : {t_import * 1e3:9.1f} ms")
    print(f"flowphase compile/cache load: {t_compile * 1e3:9.1f} ms (first call, 3 times)")
    for name, tt, cc in ((f"default theory ({default})", t_fp, cur_default), ("paper ansatz", t_paper, cur)):
        print(f"flowphase {name:22s} curve (best of {ns.repeats}): {tt * 1e3:9.2f} ms  ({tt / ns.n_times * 1e6:.0f} us "
              f"per time; jumps found: {[round(j.t_star, 5) for j in cc.jumps]}; all converged: "
              f"{bool(np.all(cc.converged))})")
    print(f"scipy minimize+quad baseline: {t_base * 1e3:9.1f} ms")
    print(f"speed-up (baseline / flowphase, after compilation): {t_base / t_fp:8.1f}x")
    print(f"speed-up of the paper ansatz (baseline / flowphase paper): {t_base / t_paper:8.1f}x")
    print(f"CPU time (time.process_time; stable on a loaded machine): baseline {c_base * 1e3:.1f} ms, default theory "
          f"{c_fp * 1e3:.2f} ms ({c_base / c_fp:.1f}x), paper ansatz {c_paper * 1e3:.2f} ms ({c_base / c_paper:.1f}x)")
    print(f"first call `python -c` import+solve: {t_cli:6.2f} s (printed omega(0.5) = {proc.stdout.strip()})")
    print(f"max |omega_flowphase - omega_scipy| on shared informative phase-1 points: {d_omega:.2e}")
    print(f"max |c_flowphase - c_closed_form| on phase 2: {d_c:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
