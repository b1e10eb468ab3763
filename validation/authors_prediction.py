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

import numpy as np

from flowphase.numerics.exact.perpoint import perpoint_state
from flowphase.numerics.exact.stochastic import derived_overlaps, iterate_stochastic
from flowphase.theory.records import OVERLAP_NAMES

__all__ = ["paper_initial_states", "predict_from_run", "run_initial_state", "predict_job", "predict_run",
           "convergence_epoch", "convergence_fields", "PRED_NAMES", "OMEGA_TOL", "RHO_W_TOL"]

PRED_NAMES = OVERLAP_NAMES + ("rho_w",)
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


def convergence_epoch(epochs, omega, rho_w, omega_star: float, *, omega_tol: float = OMEGA_TOL,
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
                stride: int = 20, rule=None, draws: int = 1, optimizer: str = "adam", betas=(0.9, 0.999),
                eps: float = 1e-8) -> dict:
    """One job's predicted trajectory: ``{"epochs", name: [...] for PRED_NAMES}``, sign-canonicalised at the end
    (final ``m + omega >= 0``)."""
    run = iterate_stochastic(problem, t, y0, labels, int(epochs), optimizer=optimizer, lr=float(lr), draws=int(draws),
                             d=float(problem.d), record_every=int(record_every), stride=int(stride), rule=rule,
                             betas=tuple(betas), eps=float(eps))
    ov = derived_overlaps(run["y"], int(problem.n))
    if ov["m"][-1] + ov["omega"][-1] < 0:
        for k in ("m", "omega", "b"):
            ov[k] = -ov[k]
    out = {"epochs": run["steps"].tolist()}
    out.update({k: np.asarray(ov[k], float).tolist() for k in PRED_NAMES})
    return out


def _run_parts(run):
    """``(problem, ts, seeds, config, data)`` of a SimulationResult, an export path or :func:`load_npz` dict."""
    from flowphase.theory.problem import Problem
    from flowphase.validation.simulator import SimulationResult, load_npz

    if isinstance(run, SimulationResult):
        return run.problem, np.asarray(run.ts, float), list(run.seeds), dict(run.config), run.data or None
    if isinstance(run, (str, os.PathLike)):
        run = load_npz(run)
    if isinstance(run, dict) and {"problem", "ts", "seeds", "config", "data"} <= set(run):
        problem = run["problem"] if isinstance(run["problem"], Problem) else Problem.from_dict(run["problem"])
        return problem, np.asarray(run["ts"], float), [int(x) for x in run["seeds"]], dict(run["config"]), run["data"]
    raise ValueError("run must be a SimulationResult, the path of a simulate export (.npz) or its load_npz dict")


def run_initial_state(run, *, init_params=None) -> dict:
    """The state a simulation started from, re-drawn from its own streams (no arithmetic, no guessing).

    Parameters
    ----------
    run : SimulationResult, path or dict
        A finished run (:func:`flowphase.validation.simulator.simulate`), or its export
        (``flowphase simulate --export FILE.npz``, :func:`flowphase.validation.simulator.load_npz`).
    init_params : dict, optional
        The initial ``{"c", "b", "u", "w"}`` when the run was given them (``config['init_params'] == 'given'``).

    Returns
    -------
    dict
        ``problem, ts (T,), seeds, x1 (S, n, d), s (S, n), c, b (S, T), u, w (S, T, d), n_plus (S,)`` in the run's
        storage dtype (the same draws :func:`flowphase.validation.simulator.run` trains from).
    """
    from flowphase.validation.simulator.inputs import setup_data_and_init

    problem, ts, seeds, cfg, data = _run_parts(run)
    if cfg.get("init_params") == "given" and init_params is None:
        raise ValueError("the run was started from given init_params: pass the same init_params")
    if cfg.get("data") == "given" and not data:
        raise ValueError("the run trained on given data and does not hold it: rerun with keep_params=True")
    model = cfg.get("model", "tanh")
    lam = problem.training.lam_u if model == "tanh" else problem.training.lam_w
    S, T = len(seeds), len(ts)
    x1, s_lab, c, b, u, w, _ = setup_data_and_init(
        problem, seeds, T, labels=cfg.get("labels", "bernoulli") if cfg.get("labels") != "given" else "bernoulli",
        init=cfg.get("init") if cfg.get("init") != "given" else "small", init_scale=float(cfg.get("init_scale", 1e-3)),
        model=model, lam=lam, dtype=np.dtype(cfg.get("dtype", "float64")),
        data=None if cfg.get("data", "drawn") == "drawn" else {"x1": data["x1"], "s": data["s"]},
        init_params=init_params)
    d = int(problem.d)
    return {"problem": problem, "ts": ts, "seeds": seeds, "x1": x1, "s": s_lab, "c": c.reshape(S, T),
            "b": b.reshape(S, T), "u": u.reshape(S, T, d), "w": w.reshape(S, T, d),
            "n_plus": [int(np.sum(np.asarray(si) > 0)) for si in s_lab]}


def predict_from_run(run, *, epochs: int = None, record_every: int = None, stride: int = None, init_params=None,
                     rule=None, progress: bool = False) -> dict:
    """The exact finite-n theory's prediction of a run, epoch by epoch, from the run's own initial state.

    Every job (seed, time) of ``run`` is started from its own initial per-point coordinates
    (:func:`run_initial_state`, :func:`flowphase.numerics.exact.perpoint.perpoint_state`: the run's data, labels
    and initial parameters) and iterated with the run's optimiser, learning rate, betas, eps and noise draws by the
    stochastic exact map (:func:`flowphase.numerics.exact.stochastic.iterate_stochastic`; ``draws = 0``: the
    deterministic map of the exact expectation) at the run's d, n and lam.

    Parameters
    ----------
    run : SimulationResult, path or dict
        A finished run or its export (:func:`run_initial_state`).  Its learning rate must be constant.
    epochs, record_every : int, optional
        Horizon and recording interval (default: the run's own).
    stride : int, optional
        Macro step of the map (default: 1 for gradient descent, whose steps are large; ``gcd(20, record_every,
        epochs)`` for Adam, whose small steps are taken 20 at a time).
    init_params : dict, optional
        The run's initial parameters when it was given them.

    Returns
    -------
    dict
        ``{"t", "seeds", "n_plus", "epochs" (R,), "trajectory": {name: (S, T, R)}, "final": {name: (S, T)},
        "final_mean": {name: (T,)}, "config"}`` for the names ``c, m, omega, b, sqrt_q, sqrt_r, rho_w``
        (sign-canonicalised to ``m + omega >= 0`` at the end, as the simulator).
    """
    from tqdm.auto import tqdm

    from flowphase.numerics.quadrature import trapezoid_rule

    _, _, _, cfg, _ = _run_parts(run)
    if cfg.get("model", "tanh") != "tanh":
        raise ValueError("predict_from_run describes the tanh model (model='tanh')")
    if float(cfg.get("lr_final", cfg["lr"])) != float(cfg["lr"]):
        raise ValueError("predict_from_run needs a constant learning rate (lr_final == lr)")
    st = run_initial_state(run, init_params=init_params)
    problem, ts, seeds = st["problem"], st["ts"], st["seeds"]
    epochs = int(cfg["epochs"] if epochs is None else epochs)
    record_every = int(cfg.get("record_every", 1) if record_every is None else record_every)
    if epochs < 1 or record_every < 1:
        raise ValueError(f"epochs and record_every must be >= 1, got {epochs}, {record_every}")
    if stride is None:
        stride = 1 if cfg.get("optimizer") == "gd" else 20
    stride = math.gcd(math.gcd(int(stride), record_every), epochs)
    rule = trapezoid_rule(61) if rule is None else rule
    S, T = len(seeds), len(ts)
    traj = {nm: [[None] * T for _ in range(S)] for nm in PRED_NAMES}
    steps = None
    bar = tqdm(total=S * T, disable=not progress, desc="prediction from the run's initial state", unit="job")
    for i in range(S):
        x1 = np.asarray(st["x1"][i], dtype=np.float64)
        for k in range(T):
            y0 = perpoint_state(float(st["c"][i, k]), float(st["b"][i, k]), st["u"][i, k].astype(np.float64),
                                st["w"][i, k].astype(np.float64), x1, st["s"][i], problem.sigma)
            tr = predict_job(problem, float(ts[k]), y0, st["s"][i], epochs, lr=float(cfg["lr"]),
                             record_every=record_every, stride=stride, rule=rule, draws=int(cfg.get("draws", 1)),
                             optimizer=cfg.get("optimizer", "adam"), betas=cfg.get("betas", (0.9, 0.999)),
                             eps=float(cfg.get("eps", 1e-8)))
            steps = tr["epochs"]
            for nm in PRED_NAMES:
                traj[nm][i][k] = tr[nm]
            bar.update(1)
    bar.close()
    arr = {nm: np.asarray(traj[nm], dtype=float) for nm in PRED_NAMES}
    return {"t": [float(t) for t in ts], "seeds": seeds, "n_plus": st["n_plus"], "epochs": steps,
            "trajectory": {nm: a.tolist() for nm, a in arr.items()},
            "final": {nm: a[:, :, -1].tolist() for nm, a in arr.items()},
            "final_mean": {nm: a[:, :, -1].mean(axis=0).tolist() for nm, a in arr.items()},
            "config": {"epochs": epochs, "record_every": record_every, "stride": int(stride),
                       "quadrature_nodes": int(rule[0].size), "optimizer": cfg.get("optimizer"),
                       "lr": float(cfg["lr"]), "draws": int(cfg.get("draws", 1)), "d": float(problem.d),
                       "n": int(problem.n), "lam_u": float(problem.training.lam_u),
                       "lam_w": float(problem.training.lam_w), "theory": "exact finite-n, stochastic map"}}


def predict_run(size: dict, *, seeds=None, ts_index=None, horizon: int = None, stride: int = 20, rule=None,
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
