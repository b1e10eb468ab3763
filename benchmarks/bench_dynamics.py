"""One overlap-ODE trajectory vs the simulator run it replaces, same run.

The run: one per-time denoiser (t = 0.5, phase 1) of the dilated problem, n = 128, lam = 2, the
authors' random initialisation, preconditioned full-batch GD (``optimizer='gd'``, lr 0.02: one epoch =
0.02 units of ODE time, balanced convention), ``draws`` fresh noises per point, overlaps every 10
epochs, at dimension d.  Timed in the same process:

* ``simulator``  -- :func:`flowphase.validation.simulator.simulate` (numba backend), warm (compiled);
* ``ode``        -- :func:`flowphase.numerics.dynamics.integrate_overlaps` from the simulator's initial
                    overlaps on the same record times (Dormand-Prince 5(4), rtol 1e-8), warm;
* ``gd-map``     -- :func:`flowphase.numerics.dynamics.iterate_gd_map`, the exact d = inf overlap map of the
                    same GD steps, warm.

Prints the wall times, the ratios simulator / ODE and simulator / GD map, and the largest deviation
between the ODE and the simulation over the run.  The authors' full run (d = 5000, 40 000 epochs, 80
times) is extrapolated from the measured per-epoch cost.

Run: ``python benchmarks/bench_dynamics.py [--d 2000 --epochs 400 --draws 4 --reps 3]``.
"""
from __future__ import annotations

import argparse

import numpy as np

from flowphase.numerics.dynamics import STATE_NAMES, integrate_overlaps, iterate_gd_map
from flowphase.theory.problem import Problem
from flowphase.validation.dynamics_compare import compare_with_simulator
from flowphase.validation.simulator import simulate
from _timing import best_time  # noqa: E402 - benchmarks/ is on sys.path when run as a script


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=2000)
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--draws", type=int, default=4)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--t", type=float, default=0.5)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args(argv)
    problem = Problem.dilated(n=a.n, lam_u=2.0, lam_w=2.0)
    sim_kw = dict(d=a.d, ts=[a.t], seeds=[0], epochs=a.epochs, optimizer="gd", lr=a.lr, lr_final=a.lr,
                  draws=a.draws, labels="exact", init="random", record_every=10, keep_params=False,
                  progress=False)
    simulate(problem, **dict(sim_kw, epochs=2, d=64))                  # compile
    t_sim, res = best_time(lambda: simulate(problem, **sim_kw), a.reps, with_result=True)
    hist = np.asarray(res.history)[0, 0]
    y0 = {"c": hist[0, 0], "m": hist[0, 1], "omega": hist[0, 2], "b": hist[0, 3],
          "q": max(hist[0, 4] ** 2, hist[0, 1] ** 2), "r": max(hist[0, 5] ** 2, hist[0, 2] ** 2), "a": 0.0,
          "v": hist[0, 1] * hist[0, 2]}
    s = np.asarray(res.record_steps, dtype=float) * a.lr
    pd = problem.replace(d=a.d)
    sgd = a.lr * a.d / (a.n * a.draws)
    integrate_overlaps(pd, a.t, y0, [0.0, 0.1], sgd=sgd)                 # compile
    t_ode, tr = best_time(lambda: integrate_overlaps(pd, a.t, y0, s - s[0], sgd=sgd), a.reps, with_result=True)
    iterate_gd_map(pd, a.t, y0, a.lr, 2, sgd=sgd)
    t_gd = best_time(lambda: iterate_gd_map(pd, a.t, y0, a.lr, a.epochs, record_every=10, sgd=sgd), a.reps)
    cmp = compare_with_simulator(problem, a.t, a.d, a.epochs, lr=a.lr, init="random", draws=a.draws,
                                 record_every=10)
    print(f"run: t={a.t}, d={a.d}, n={a.n}, draws={a.draws}, {a.epochs} GD epochs (lr {a.lr}), random init, "
          f"{len(s)} records")
    print(f"simulator (numba, warm)      : {t_sim * 1e3:10.2f} ms")
    print(f"overlap ODE (dopri5, warm)   : {t_ode * 1e3:10.2f} ms   nfev={tr.info['nfev']}")
    print(f"overlap GD map (warm)        : {t_gd * 1e3:10.2f} ms")
    print(f"ratio simulator / ODE        : {t_sim / t_ode:10.1f}x")
    print(f"ratio simulator / GD map     : {t_sim / t_gd:10.1f}x")
    print("max |ODE - simulator| over the run: "
          + ", ".join(f"{k}={v:.3g}" for k, v in cmp["max_dev"].items()))
    per_epoch = t_sim / a.epochs * (5000 / a.d) * (128 / a.n) * (1 / a.draws)
    print(f"authors' run extrapolated (d=5000, n=128, 1 draw, 80 times, 40000 epochs): "
          f"{per_epoch * 80 * 40000 / 3600:.2f} h of simulator vs one ODE per time "
          f"({80 * t_ode:.2f} s for 80 ODE trajectories of this run length)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
