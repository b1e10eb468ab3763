"""One training epoch as a user runs it: ``flowphase simulate`` vs the benchmark's projected kernel and PyTorch.

``benchmarks/bench_epoch.py`` times the projected sampler's kernel in a process that sets the OpenMP wait
policy itself; a user runs the same epoch through the command line.  This script measures, alternately and in
the same period (the machine is shared, so only same-period ratios mean anything):

* ``cli``    -- ``flowphase simulate --protocol authors`` on the authors' 80-point grid (Adam, one fresh draw, the
                projected sampler, float64) in a fresh process whose environment has **no** ``OMP_WAIT_POLICY``: the
                threading settings must come from the library itself.  Per epoch = (wall(E2) - wall(E1)) / (E2 - E1),
                so start-up, import and compilation cancel;
* ``cli-default-omp`` -- the same command with ``OMP_WAIT_POLICY=""`` (libgomp's own default policy: what the command
                line ran with before the library applied the benchmark's setting);
* ``bench``  -- ``bench_epoch.py --case projected`` (the kernel alone, float64);
* ``torch``  -- ``bench_epoch.py --case torch`` (the authors' PyTorch eager loop, float64), if torch is installed.

Printed: the per-epoch times (median over rounds) and the ratios torch / cli, torch / cli-default-omp, torch / bench.

Run: ``python benchmarks/bench_cli_epoch.py [--n 128 --d 1000 --T 80 --rounds 3 --epochs 5,25]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _env_without_wait_policy(value=None) -> dict:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if value is not None:
        env["OMP_WAIT_POLICY"] = value
    return env


def cli_wall(n, d, T, epochs, wait_policy=None) -> float:
    """Wall time of one ``flowphase simulate`` process (``epochs`` Adam epochs on the T-point grid)."""
    times = ",".join(f"{2.0 * k / T:.12g}" for k in range(T))
    cmd = [sys.executable, "-m", "flowphase.validation", "simulate", "--d", str(d), "--n", str(n), "--t", times,
           "--seeds", "1", "--protocol", "authors", "--epochs", str(epochs)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=_env_without_wait_policy(wait_policy))
    return time.perf_counter() - t0


def bench_case(case, n, d, T, reps=3):
    cmd = [sys.executable, os.path.join(HERE, "bench_epoch.py"), "--case", case, "--dtype", "float64", "--n", str(n),
           "--d", str(d), "--T", str(T), "--reps", str(reps)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env_without_wait_policy())
    if out.returncode != 0:
        return None
    t = json.loads(out.stdout.strip().splitlines()[-1])["t"]
    return t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--d", type=int, default=1000)
    ap.add_argument("--T", type=int, default=80)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", default="5,25", help="E1,E2: the per-epoch time is the slope between them")
    args = ap.parse_args(argv)
    e1, e2 = (int(x) for x in args.epochs.split(","))
    cli_wall(args.n, args.d, args.T, 1)          # compile once (the numba cache), not timed
    rows = {"cli": [], "cli-default-omp": [], "bench": [], "torch": []}
    for r in range(args.rounds):
        w1 = cli_wall(args.n, args.d, args.T, e1)
        w2 = cli_wall(args.n, args.d, args.T, e2)
        rows["cli"].append((w2 - w1) / (e2 - e1))
        w1 = cli_wall(args.n, args.d, args.T, e1, wait_policy="")
        w2 = cli_wall(args.n, args.d, args.T, e2, wait_policy="")
        rows["cli-default-omp"].append((w2 - w1) / (e2 - e1))
        rows["bench"].append(bench_case("projected", args.n, args.d, args.T))
        t = bench_case("torch", args.n, args.d, args.T, reps=2)
        if t is not None:
            rows["torch"].append(t)
        print(f"round {r + 1}: cli {rows['cli'][-1] * 1e3:.1f} ms, cli-default-omp "
              f"{rows['cli-default-omp'][-1] * 1e3:.1f} ms, bench {rows['bench'][-1] * 1e3:.1f} ms"
              + (f", torch {t * 1e3:.1f} ms" if t is not None else ""), flush=True)
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    print(f"n = {args.n}, d = {args.d}, T = {args.T}, float64, {args.rounds} alternating rounds, load "
          f"{os.getloadavg()[0]:.2f}")
    for k, v in med.items():
        print(f"  {k:6s} {v * 1e3:8.1f} ms per epoch")
    print(f"  cli / bench = {med['cli'] / med['bench']:.2f}, cli-default-omp / cli = "
          f"{med['cli-default-omp'] / med['cli']:.2f}")
    if "torch" in med:
        print(f"  torch / cli = {med['torch'] / med['cli']:.1f}x, torch / cli-default-omp = "
              f"{med['torch'] / med['cli-default-omp']:.1f}x, torch / bench = {med['torch'] / med['bench']:.1f}x")
    print(json.dumps({k: v for k, v in med.items()}))


if __name__ == "__main__":
    main()
