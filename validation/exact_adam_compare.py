"""Adam with one fresh draw (the authors' optimiser) in the exact coordinates vs the simulator.

:func:`compare_adam_with_simulator` trains with :func:`flowphase.validation.simulator.simulate` (``optimizer='adam'``,
``draws=K``, ``noise_sampler='projected'``, random N(0, 1) initialisation by default) and runs the stochastic exact
map of :mod:`flowphase.numerics.exact.stochastic` (isotropic-Adam surrogate, finite-batch noise term) from every
job's own initial per-point coordinates (re-drawn from the simulator's streams and checked against its first
record), once with the noise term and once without (``draws = 0`` in the theory: the ablation).  Statistic per
record and overlap (``c, m, omega, b, sqrt_q, sqrt_r``, sign-canonicalised record by record to m + omega >= 0):
the seed mean of ``theory - simulation`` and its standard error over seeds; the run's deviation is the largest
``|mean|`` over the records after ``skip`` epochs (the first epochs of Adam, when its second moment estimate is
still a handful of draws, are not what the surrogate describes).
"""
from __future__ import annotations

import math
import time

import numpy as np

from flowphase.numerics.exact.perpoint import perpoint_state
from flowphase.numerics.exact.stochastic import derived_overlaps, iterate_stochastic
from flowphase.theory.problem import Problem
from flowphase.theory.records import OVERLAP_NAMES

__all__ = ["compare_adam_with_simulator", "adam_agreement_table"]


def _canon(ov: dict) -> dict:
    from flowphase.validation.simulator.canonical import canonical_sign

    out = dict(ov)
    flip = canonical_sign(np.asarray(ov["m"]), np.asarray(ov["omega"])) < 0
    for k in ("b", "m", "omega"):
        out[k] = np.where(flip, -np.asarray(ov[k]), np.asarray(ov[k]))
    return out


def compare_adam_with_simulator(problem: Problem, ts, d: int, epochs: int, *, lr: float = 1e-3, seeds=(0, 1, 2, 3),
                                draws: int = 1, init: str = "random", labels: str = "exact", record_every: int = 200,
                                skip: int = 0, stride: int = 1, init_scale: float = 0.1, rule=None,
                                adam_law: str = "coordinate") -> dict:
    """Simulate Adam and overlay the stochastic exact map (with and without its noise term); module docstring.

    Returns ``{"ts", "epochs", "sim" [S, T, R, 6], "theory", "theory_no_noise", "theory_other_law",
    "dev" {t: {name: max |mean|}}, "dev_se", "dev_no_noise", "dev_other_law", "z" {t: {name: max |mean/se|}},
    "config", "seconds"}``.
    """
    import importlib

    from flowphase.validation.simulator.inputs import setup_data_and_init
    from flowphase.validation.simulator import simulate

    ts = [float(t) for t in ts]
    seeds = [int(s) for s in seeds]
    S, T = len(seeds), len(ts)
    t0 = time.perf_counter()
    res = simulate(problem, d=int(d), ts=ts, seeds=seeds, epochs=int(epochs), optimizer="adam", lr=float(lr),
                   lr_final=float(lr), draws=int(draws), labels=labels, init=init, init_scale=float(init_scale),
                   record_every=int(record_every), keep_params=False, progress=False, noise_sampler="projected")
    t1 = time.perf_counter()
    hist = np.asarray(res.history)                       # (S, T, R, 7): c, m, omega, b, sqrt_q, sqrt_r, loss
    steps = np.asarray(res.record_steps, dtype=int)
    pr = res.problem
    sm = importlib.import_module("flowphase.validation.simulator")
    pr_d = sm.resolve_problem(problem, int(d), None)
    x1, s, c, b, u, w, _ = setup_data_and_init(pr_d, seeds, T, labels=labels, init=init, init_scale=init_scale,
                                               model="tanh", lam=pr_d.training.lam_u, dtype=np.float64)
    n = int(pr.n)
    last = int(steps[-1])
    if any(int(st) % record_every for st in steps):
        raise ValueError("record steps must be multiples of record_every")
    variants = ((adam_law, int(draws)), (adam_law, 0), ("isotropic" if adam_law == "coordinate" else "coordinate",
                                                        int(draws)))
    th = np.empty((len(variants), S, T, steps.size, 6))
    for i in range(S):
        for k, t in enumerate(ts):
            j = i * T + k
            y0 = perpoint_state(c[j], b[j], u[j], w[j], x1[i], s[i], pr.sigma)
            ov0 = derived_overlaps(y0, n)
            err = max(abs(ov0["c"][0] - hist[i, k, 0, 0]), abs(ov0["sqrt_r"][0] - hist[i, k, 0, 5]),
                      abs(ov0["sqrt_q"][0] - hist[i, k, 0, 4]))
            if err > 1e-6:
                raise RuntimeError(f"re-drawn initial state differs from the simulator's first record by {err:.2e}")
            for a, (law, K) in enumerate(variants):
                run = iterate_stochastic(pr, t, y0, s[i], max(last, stride), optimizer="adam", lr=float(lr),
                                         draws=K, d=float(d), record_every=int(record_every), stride=int(stride),
                                         rule=rule, adam_law=law)
                ov = _canon(derived_overlaps(run["y"][:steps.size], n))
                th[a, i, k] = np.stack([ov[nm] for nm in OVERLAP_NAMES], axis=1)
    sim = np.empty((S, T, steps.size, 6))
    for i in range(S):
        for k in range(T):
            ov = _canon({nm: hist[i, k, :, q] for q, nm in enumerate(OVERLAP_NAMES)})
            sim[i, k] = np.stack([ov[nm] for nm in OVERLAP_NAMES], axis=1)
    sel = steps >= int(skip)
    out = {"ts": ts, "epochs": steps.tolist(), "d": int(d), "n": n}
    for a, key in enumerate(("", "_no_noise", "_other_law")):
        diff = th[a] - sim                                   # (S, T, R, 6)
        mean = diff.mean(axis=0)
        se = diff.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros_like(mean)
        dev, dse, z = {}, {}, {}
        for k, t in enumerate(ts):
            dev[f"{t:g}"], dse[f"{t:g}"], z[f"{t:g}"] = {}, {}, {}
            for q, nm in enumerate(OVERLAP_NAMES):
                am = np.abs(mean[k, sel, q])
                r = int(np.argmax(am))
                dev[f"{t:g}"][nm] = float(am[r])
                dse[f"{t:g}"][nm] = float(se[k, sel, q][r])
                with np.errstate(divide="ignore", invalid="ignore"):
                    zz = am / np.maximum(se[k, sel, q], 1e-300)
                z[f"{t:g}"][nm] = float(np.max(zz))
        out["dev" + key], out["dev_se" + key], out["z" + key] = dev, dse, z
        out["theory" + key] = th[a].tolist()
    out["sim"] = sim.tolist()
    out["config"] = dict(problem=pr.to_dict(), ts=ts, d=int(d), epochs=int(epochs), lr=float(lr), seeds=seeds,
                         draws=int(draws), init=init, labels=labels, record_every=int(record_every), skip=int(skip),
                         stride=int(stride), optimizer="adam", noise_sampler="projected", adam_law=adam_law,
                         variants=["theory: " + adam_law + " law with the noise term", "theory_no_noise: without it",
                                   "theory_other_law: the other Adam law with the noise term"])
    out["seconds"] = {"simulate": t1 - t0, "theory": time.perf_counter() - t1}
    return out


def adam_agreement_table(problem: Problem, *, ts=(0.3, 0.7, 1.05, 1.5), ds=(1000, 2000), epochs: int = 4000,
                         lr: float = 1e-3, seeds=(0, 1, 2, 3), record_every: int = 200, skip: int = 400) -> dict:
    """Rows per (t, d): the max-over-records seed-mean deviation of every overlap, with and without the noise term,
    and the d-slope of the largest deviation per t (``loglog_slope``)."""
    from flowphase.validation.tolerances import loglog_slope

    runs = {d: compare_adam_with_simulator(problem, ts, d, epochs, lr=lr, seeds=seeds, record_every=record_every,
                                           skip=skip) for d in ds}
    rows, slopes = [], {}
    for t in ts:
        key = f"{float(t):g}"
        worst = []
        for d in ds:
            r = runs[d]
            rows.append({"t": float(t), "d": int(d), "dev": r["dev"][key], "dev_se": r["dev_se"][key],
                         "dev_no_noise": r["dev_no_noise"][key]})
            worst.append(max(r["dev"][key].values()))
        slopes[key] = float(loglog_slope(ds, worst)) if len(ds) > 1 else math.nan
    return {"rows": rows, "slopes": slopes, "runs": {str(d): {k: v for k, v in r.items() if k not in
                                                              ("theory", "theory_no_noise", "sim")}
                                                     for d, r in runs.items()}}
