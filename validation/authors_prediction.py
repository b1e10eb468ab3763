"""The authors' full-size run predicted epoch by epoch (PAPER §2.3, §5 Figure A).

The run of :mod:`flowphase.validation.authors_paper` (d = 5000, n = 128, T = 80, Adam lr 1e-4, betas 0.9/0.999,
eps 1e-8, wd 1e-5 on u, w -> lam = wd d T / 2 = 2, random N(0, 1) init, K = 1 fresh draw, 40 000 epochs) is
predicted by the stochastic exact map of :mod:`flowphase.numerics.exact.stochastic` (Adam with the
perpendicular coordinates' own normalisation, finite-batch noise term), started from every job's own initial
per-point coordinates, re-drawn from the run's streams (:func:`paper_initial_states`; the same draws as
:func:`flowphase.validation.authors_paper.train_resumable`, float32 storage included).

Convergence: the first recorded epoch from which on ``|omega - omega*| < 1e-3`` and
``r - omega^2 - sum_nu z_nu^2 < 0.01`` (the perpendicular norm ``rho_w`` of the per-point state) hold at every
later record up to the horizon, ``omega*`` the exact finite-n fixed point at the run's d, n_+, lam
(:func:`flowphase.numerics.exact.solver.solve_exact`); ``None`` when not reached by the horizon.
"""
from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from flowphase.numerics.exact.perpoint import perpoint_state
from flowphase.numerics.exact.stochastic import derived_overlaps, iterate_stochastic

__all__ = ["paper_initial_states", "predict_job", "predict_run", "convergence_epoch", "convergence_fields",
           "checkpoint_overlaps",
           "PRED_NAMES", "OMEGA_TOL", "RHO_W_TOL"]

PRED_NAMES = ("c", "m", "omega", "b", "sqrt_q", "sqrt_r", "rho_w")
OMEGA_TOL = 1e-3
RHO_W_TOL = 0.01


def paper_initial_states(size: dict, seed: int, problem=None):
    """``(labels (n,), y0 (T, 7 + 2n), ts)`` of one seed of the authors' run (module docstring)."""
    from flowphase.validation.authors_paper import paper_problem
    from flowphase.validation.simulator.inputs import DATA_STREAM, INIT_STREAM, draw_init

    problem = paper_problem(size) if problem is None else problem
    d, n, T = int(size["d"]), int(size["n"]), int(size["n_times"])
    dtype = np.dtype(size.get("dtype", "float64"))
    ts = problem.schedule.grid(T)
    xs, ss, _ = problem.mixture.sample(n, d, rng=np.random.default_rng([int(seed), DATA_STREAM]), labels="bernoulli")
    c, b, u, w = draw_init(np.random.default_rng([int(seed), INIT_STREAM]), size["init"], 1e-3, "tanh", T, d, xs, ss,
                           problem.training.lam_u, dtype)
    x1 = xs.astype(dtype).astype(np.float64)
    y0 = np.stack([perpoint_state(float(c[k]), float(b[k]), u[k].astype(np.float64), w[k].astype(np.float64), x1, ss,
                                  problem.sigma) for k in range(T)])
    return np.asarray(ss, float), y0, np.asarray(ts, float)


def convergence_epoch(epochs, omega, rho_w, omega_star: float, omega_tol: float = OMEGA_TOL,
                      rho_tol: float = RHO_W_TOL):
    """First recorded epoch from which both criteria hold at every later record (module docstring), else None."""
    ok = (np.abs(np.asarray(omega) - omega_star) < omega_tol) & (np.asarray(rho_w) < rho_tol)
    if not ok[-1]:
        return None
    bad = np.nonzero(~ok)[0]
    return int(np.asarray(epochs)[0 if bad.size == 0 else bad[-1] + 1])


def convergence_fields(tr: dict, omega_star: float) -> dict:
    """``convergence_epoch`` (the issue's criterion), the same with ``|omega - omega*| < 1e-2``, the epoch from
    which ``rho_w < 0.01`` alone holds, and ``|omega - omega*|``, ``rho_w`` at the horizon."""
    ep, om, rw = tr["epochs"], tr["omega"], tr["rho_w"]
    return {"convergence_epoch": convergence_epoch(ep, om, rw, omega_star),
            "convergence_epoch_omega_1e-2": convergence_epoch(ep, om, rw, omega_star, omega_tol=1e-2),
            "rho_w_below_epoch": convergence_epoch(ep, np.zeros(len(om)), rw, 0.0),
            "omega_gap_at_horizon": float(abs(om[-1] - omega_star)), "rho_w_at_horizon": float(rw[-1])}


def predict_job(problem, t: float, y0, labels, epochs: int, *, lr: float, record_every: int = 1000,
                stride: int = 20, rule=None, draws: int = 1) -> dict:
    """One job's predicted trajectory: ``{"epochs", name: [...] for PRED_NAMES}``, sign-canonicalised at the end
    (final ``m + omega >= 0``)."""
    run = iterate_stochastic(problem, t, y0, labels, int(epochs), optimizer="adam", lr=float(lr), draws=int(draws),
                             d=float(problem.d), record_every=int(record_every), stride=int(stride), rule=rule)
    ov = derived_overlaps(run["y"], int(problem.n))
    if ov["m"][-1] + ov["omega"][-1] < 0:
        for k in ("m", "omega", "b"):
            ov[k] = -ov[k]
    out = {"epochs": run["steps"].tolist()}
    out.update({k: np.asarray(ov[k], float).tolist() for k in PRED_NAMES})
    return out


def predict_run(size: dict, seeds=None, ts_index=None, *, horizon: int = None, stride: int = 20, rule=None,
                progress: bool = True, workers: int = None) -> dict:
    """Predicted overlaps after ``size['epochs']`` epochs at every grid time (per seed, and their mean), and the
    predicted convergence epoch per time (module docstring), the map run to ``horizon`` epochs (default
    ``4 x epochs``).  ``ts_index`` restricts to some grid indices (tests); ``workers`` threads (default: the
    CPU count) run the jobs of a seed side by side (same numbers as one thread)."""
    from tqdm.auto import tqdm

    from flowphase.numerics.exact.solver import solve_exact
    from flowphase.numerics.quadrature import trapezoid_rule
    from flowphase.validation.authors_paper import paper_problem

    problem = paper_problem(size)
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    seeds = list(size["seeds"] if seeds is None else seeds)
    epochs = int(size["epochs"])
    horizon = int(4 * epochs if horizon is None else horizon)
    rec = int(size["record_every"])
    stride = math.gcd(math.gcd(int(stride), rec), horizon)      # macro steps must tile the records
    rule = trapezoid_rule(61) if rule is None else rule
    t0 = time.perf_counter()
    per_seed = []
    for sd in seeds:
        labels, y0, ts = paper_initial_states(size, sd, problem)
        idx = range(len(ts)) if ts_index is None else list(ts_index)
        npl = int(np.sum(labels > 0))

        def one(k, labels=labels, y0=y0, ts=ts, npl=npl):
            tr = predict_job(problem, float(ts[k]), y0[k], labels, horizon, lr=float(size["lr"]), record_every=rec,
                             stride=stride, rule=rule, draws=int(size["draws"]))
            star = solve_exact(problem, float(ts[k]), d=float(problem.d), n_plus=npl)
            om_star = abs(float(star.omega))
            i_end = tr["epochs"].index(epochs)
            return dict({"t": float(ts[k]), "omega_star": om_star,
                         "final": {nm: tr[nm][i_end] for nm in PRED_NAMES}, "trajectory": tr},
                        **convergence_fields(tr, om_star))

        # the map of one job runs in numba without the GIL: the jobs of a seed share the cores as threads
        with ThreadPoolExecutor(max(1, int(workers))) as pool:
            jobs = list(tqdm(pool.map(one, idx), total=len(idx), disable=not progress,
                             desc=f"authors' run predicted, seed {sd}", unit="time"))
        per_seed.append({"seed": int(sd), "n_plus": npl, "jobs": jobs})
    tsel = [j["t"] for j in per_seed[0]["jobs"]]
    mean = {nm: np.mean([[j["final"][nm] for j in ps["jobs"]] for ps in per_seed], axis=0).tolist()
            for nm in PRED_NAMES}
    def seed_mean(key):
        out = []
        for i in range(len(tsel)):
            vals = [ps["jobs"][i][key] for ps in per_seed]
            out.append(None if any(v is None for v in vals) else float(np.mean(vals)))
        return out

    return {"t": tsel, "final_mean": mean, "convergence_epoch_mean": seed_mean("convergence_epoch"),
            "convergence_epoch_omega_1e-2_mean": seed_mean("convergence_epoch_omega_1e-2"),
            "rho_w_below_epoch_mean": seed_mean("rho_w_below_epoch"), "per_seed": per_seed,
            "config": {"size": {k: (list(v) if isinstance(v, tuple) else v) for k, v in size.items()},
                       "seeds": seeds, "horizon": horizon, "stride": int(stride), "quadrature_nodes": int(rule[0].size),
                       "omega_tol": OMEGA_TOL, "rho_w_tol": RHO_W_TOL, "adam_law": "coordinate", "draws": size["draws"],
                       "lam": float(problem.training.lam_u)},
            "seconds": time.perf_counter() - t0}


def checkpoint_overlaps(path) -> dict:
    """Overlaps of a :func:`~flowphase.validation.authors_paper.train_resumable` checkpoint (read only):
    ``{"epoch", "final" (J, 6) at the checkpoint, "history" (J, R, 7) up to it, "record_every" implied}``,
    canonicalised like the run (m + omega >= 0)."""
    from flowphase.validation.simulator.canonical import canonicalise_overlaps

    with np.load(Path(path), allow_pickle=False) as z:
        epoch = int(z["epoch"])
        c, b = z["c"].astype(float), z["b"].astype(float)
        u, w = z["u"], z["w"]
        d = u.shape[1]
        ov = np.stack([c, u.mean(axis=1, dtype=np.float64), w.mean(axis=1, dtype=np.float64), b,
                       np.sqrt((u.astype(float) ** 2).sum(1) / d), np.sqrt((w.astype(float) ** 2).sum(1) / d)], axis=1)
        hist = z["hist"].copy()
    canonicalise_overlaps(ov)
    canonicalise_overlaps(hist)
    return {"epoch": epoch, "final": ov, "history": hist}


def main(argv=None) -> int:
    """``python -m flowphase.validation.authors_prediction OUT.json [--seeds 0 1 2] [--horizon E] [--stride S]``."""
    import argparse

    from flowphase.validation._io import atomic_write_json
    from flowphase.validation.authors_paper import PAPER_SIZE

    ap = argparse.ArgumentParser(prog="python -m flowphase.validation.authors_prediction",
                                 description="the authors' full-size run predicted by the stochastic exact map")
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(PAPER_SIZE["seeds"]))
    ap.add_argument("--horizon", type=int, default=2 * PAPER_SIZE["epochs"])
    ap.add_argument("--stride", type=int, default=20)
    ns = ap.parse_args(argv)
    res = predict_run(dict(PAPER_SIZE), seeds=ns.seeds, horizon=ns.horizon, stride=ns.stride)
    atomic_write_json(ns.out, res)
    for i, t in enumerate(res["t"]):
        f = {k: res["final_mean"][k][i] for k in PRED_NAMES}
        print(f"t={t:.3f} " + " ".join(f"{k} {v:.4f}" for k, v in f.items())
              + f"  converged at {res['convergence_epoch_mean'][i]}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
