"""PyTorch training-time samplers: drawing 10^6 times, and ``update`` against one training step.

Prints, single thread, best of ``--reps``:

* milliseconds to draw ``--n`` (10^6) times from a :class:`~flowphase.validation.pytorch.samplers.TimestepSampler`
  of every density family (plus stratified, integer diffusers timesteps and EDM sigma), from the two adaptive
  samplers, and from ``torch.rand`` alone (the baseline: the ratio says what the inversion adds); the issue's
  target is <= 50 ms;
* the table's measured law error ``sup |F(Q_table(u)) - u|`` of each density;
* the cost of ``update(t, losses)`` of :class:`LossAwareSampler` and :class:`PhaseAwareSampler` per training step,
  amortised over ``--steps`` steps *including* the buffered work (binning at the next draw; detection and table
  rebuild every ``detect_every`` steps), against one Adam step of the shared-network MLP
  (:class:`flowphase.validation.pytorch.shared_network.VelocityMLP`, width 64, batch 256) at each d; the
  target is a ratio <= 1 %.

Run: ``python benchmarks/bench_samplers.py [--n 1000000 --reps 5 --steps 400]``.
"""
from __future__ import annotations

import argparse
import time

import torch

from flowphase.theory.densities import (Beta, CosMap, Dilation, EDMLogNormal, LogitNormal, ModeSampling,
                                        ResolutionShift, Uniform, phase_aware)
from flowphase.validation.pytorch.adaptive import LossAwareSampler, PhaseAwareSampler
from flowphase.validation.pytorch.samplers import TimestepSampler
from flowphase.validation.pytorch.shared_network import VelocityMLP
from _timing import best_time  # noqa: E402 - benchmarks/ is on sys.path when run as a script


def _feed(s, steps, batch, gen):
    """``steps`` rounds of draw + update with a loss that has a jump at tau ~ 0.03 (the detector finds it)."""
    ts, ls = [], []
    for _ in range(steps):
        t = s(batch, generator=gen)
        ts.append(t)
        ls.append((1.0 + 0.6 * (1 - torch.tanh((t - 0.03) / 0.01)) / 2) / (1 - t).clamp_min(1e-3) ** 2)
    return ts, ls


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    n = args.n
    base = best_time(lambda: torch.rand(n, generator=g), args.reps)
    print(f"draw {n:,} times (best of {args.reps}, 1 thread); baseline torch.rand: {base * 1e3:.1f} ms")
    print(f"{'sampler':46s} {'ms':>8s} {'x rand':>7s} {'table law error':>16s}")
    samplers = [(d.spec, TimestepSampler(d)) for d in
                (Uniform(), LogitNormal(0.0, 1.0), ModeSampling(1.29), CosMap(), EDMLogNormal(-1.2, 1.2),
                 Beta(2.0, 3.0), ResolutionShift(3.0, Uniform()), Dilation(2.0, 4096),
                 phase_aware(LogitNormal(0.0, 1.0), [(0.0, 0.0375)], 0.5))]
    samplers += [("logit-normal:0,1 stratified", TimestepSampler(LogitNormal(0.0, 1.0), stratified=True)),
                 ("logit-normal:0,1 diffusers-timesteps", TimestepSampler(LogitNormal(0.0, 1.0),
                                                                         convention="diffusers-timesteps")),
                 ("logit-normal:0,1 edm sigma", TimestepSampler(LogitNormal(0.0, 1.0), convention="edm"))]
    la = LossAwareSampler(n_bins=100)
    pa = PhaseAwareSampler(LogitNormal(0.0, 1.0), n_bins=256, detect_every=50)
    for s in (la, pa):
        for t, loss in zip(*_feed(s, 60, args.batch, g)):
            s.update(t, loss)
    samplers += [("LossAwareSampler (100 bins, full history)", la),
                 (f"PhaseAwareSampler (windows {[tuple(round(x, 3) for x in w) for w in pa.windows]})", pa)]
    worst = 0.0
    for name, s in samplers:
        ms = best_time(lambda: s(n, generator=g), args.reps)
        worst = max(worst, ms)
        err = getattr(s, "table_error", getattr(getattr(s, "_sampler", None), "table_error", float("nan")))
        print(f"{name[:46]:46s} {ms * 1e3:8.1f} {ms / base:7.2f} {err:16.2e}")
    print(f"slowest: {worst * 1e3:.1f} ms (target <= 50 ms)")

    print(f"\nupdate cost per step, amortised over {args.steps} steps incl. buffered binning, detection, rebuild")
    costs = {}
    for name, make in (("LossAwareSampler", lambda: LossAwareSampler(n_bins=100)),
                       ("PhaseAwareSampler", lambda: PhaseAwareSampler(LogitNormal(0.0, 1.0), n_bins=256,
                                                                      detect_every=50))):
        best = []
        for _ in range(max(1, args.reps // 2)):
            s = make()
            ts, ls = _feed(s, args.steps, args.batch, torch.Generator().manual_seed(1))
            t0 = time.perf_counter()
            for t, loss in zip(ts, ls):
                s.update(t, loss)
                if isinstance(s, LossAwareSampler):
                    s.weights()  # what the next draw would pay: binning the buffered losses
            best.append((time.perf_counter() - t0) / args.steps)
        costs[name] = min(best)
    print(f"{'d':>6s} {'MLP step ms':>12s} " + " ".join(f"{k + ' %':>20s}" for k in costs))
    for d in (256, 1024, 4096):
        m = VelocityMLP(d, 64)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        x, tau = torch.randn(args.batch, d), torch.rand(args.batch)

        def step():
            loss = ((m(x, tau) - x) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        step()
        t0 = time.perf_counter()
        for _ in range(args.steps // 4):
            step()
        step_s = (time.perf_counter() - t0) / (args.steps // 4)  # a mean over steps, like the update cost
        print(f"{d:6d} {step_s * 1e3:12.2f} " + " ".join(f"{100 * c / step_s:20.2f}" for c in costs.values()))
    print("update, microseconds per step: " + ", ".join(f"{k} {c * 1e6:.1f}" for k, c in costs.items()))


if __name__ == "__main__":
    main()
