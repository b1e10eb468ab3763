"""Schedule atlas and densities: warm timings in one process, with ratios against baselines of the same run.

* ``evaluate``      -- :func:`flowphase.numerics.atlas.evaluate` (two modes, n = inf, T = 80, logit-normal(0, 1),
  d = 1e4): p_hat, mode means and bulk variance;
* ``cli evaluate``  -- ``flowphase schedule evaluate --density logit-normal:0,1 --d 1e4 --json`` through
  :func:`flowphase.validation.cli.main` in this (warm) process; target <= 0.5 s;
* ``baseline``      -- the same numbers by the package's general route, :func:`flowphase.numerics.exact.flow.
  generated_flow` of :func:`flowphase.numerics.exact.fields.bayes_field` on the density's grid;
* ``atlas figure``  -- ``reproduce('schedule-atlas')`` at the default size (with the PNG/PDF/JSON); target <= 60 s;
  reported with its ratio to one ``evaluate`` of the 4-mode hierarchy (the unit of its cost);
* ``sample 1e6``    -- ``Density.sample(10**6)`` of every atlas density and ``quantile`` of 10**6 points.

Run: ``python benchmarks/bench_schedules.py [--reps 3] [--no-figure]``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time

import numpy as np
from _timing import best_time  # noqa: E402 - benchmarks/ is on sys.path when run as a script


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-figure", action="store_true", help="skip the (about a minute long) figure")
    a = ap.parse_args(argv)

    from flowphase.numerics import atlas as at
    from flowphase.numerics.atlas import DensitySchedule
    from flowphase.numerics.exact.fields import bayes_field
    from flowphase.numerics.exact.flow import generated_flow
    from flowphase.theory.densities import LogitNormal, parse_density
    from flowphase.theory.problem import Mixture, Problem
    from flowphase.validation.cli import main as cli

    d, T = 1e4, 80
    den = LogitNormal(0.0, 1.0)
    prob = at.TwoMode(0.8, 1.0)
    pr = Problem(mixture=Mixture(p=0.8, sigma=1.0, d=d), schedule=DensitySchedule(den))
    ts = np.arange(T) / T

    def run_cli():
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli(["schedule", "evaluate", "--density", "logit-normal:0,1", "--d", "1e4", "--json"]) == 0

    for f in (lambda: at.evaluate(prob, den, d, T=T), run_cli,
              lambda: generated_flow(bayes_field(pr, ts), pr, "euler", d=d)):
        f()                                                     # warm: numba compilation and imports
    times = {"evaluate": best_time(lambda: at.evaluate(prob, den, d, T=T), a.reps),
             "cli evaluate": best_time(run_cli, a.reps),
             "baseline generated_flow": best_time(lambda: generated_flow(bayes_field(pr, ts), pr, "euler", d=d),
                                                  a.reps),
             "evaluate 4-mode": best_time(lambda: at.evaluate(at.KMode(m=10), den, d, T=T), a.reps)}
    ref = at.evaluate(prob, den, d, T=T).p_hat[0]
    base = generated_flow(bayes_field(pr, ts), pr, "euler", d=d).p_hat
    if not a.no_figure:
        from flowphase.validation.reproduce import reproduce

        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            reproduce(["schedule-atlas"], out, quick=False, progress=False)
            times["atlas figure"] = time.perf_counter() - t0
    u = np.random.default_rng(0).random(10 ** 6)
    samp = {}
    for spec in ("uniform", "logit-normal:0,1", "mode:1.29", "cosmap", "edm:-1.2,1.2", "shift:3", "dilation:2",
                 "phase-aware:logit-normal:0,1@0.004-0.023,0.5"):
        dd = parse_density(spec, d=d)
        samp[spec] = (best_time(lambda: dd.sample(10 ** 6, np.random.default_rng(1)), a.reps),
                      best_time(lambda: dd.quantile(u), 1))
    for k, v in times.items():
        print(f"{k:>26}: {v:9.4f} s")
    print(f"p_hat evaluate {ref:.12f}  baseline {base:.12f}  (|diff| {abs(ref - base):.1e})")
    print(f"ratio cli evaluate / target 0.5 s:       {times['cli evaluate'] / 0.5:.3f}")
    print(f"ratio baseline / evaluate:               {times['baseline generated_flow'] / times['evaluate']:.1f}")
    if "atlas figure" in times:
        print(f"ratio atlas figure / target 60 s:        {times['atlas figure'] / 60:.3f}")
        print(f"ratio atlas figure / one 4-mode evaluate: {times['atlas figure'] / times['evaluate 4-mode']:.0f}")
    print("density: sample(1e6) s, quantile(1e6) s")
    for k, (s, q) in samp.items():
        print(f"  {k:>44}: {s:8.4f}  {q:8.4f}")


if __name__ == "__main__":
    main()
