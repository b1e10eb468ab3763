"""Exact-coordinate learning dynamics vs the simulator's gradient descent, epoch by epoch (EXACT_FINITE_N §2-3).

* :func:`exact_coordinates` -- the 11 coordinates of :mod:`flowphase.numerics.exact.dynamics` measured on
  parameters ``(c, b, u, w)`` and data ``(x1, s)``: ``m = u.mu/d``, ``a_k = mean_{nu in k} u.eta^nu/d``
  (``eta^nu = (x1^nu - s_nu mu)/sigma``), the same for w, and the remainders
  ``rho_u = |u|^2/d - m^2 - sum_k n_k a_k^2``, ``rho_w`` likewise, ``nu = u.w/d - m omega - sum_k n_k a_k z_k``
  (so q, r, v are exact; the non-class-symmetric parts of ``u.eta^nu`` obey the same flow as u_perp and are
  counted in it).
* :func:`compare_exact_with_simulator` -- one simulator run (:func:`flowphase.validation.simulator.simulate`,
  ``optimizer='gd'``, ``draws=0``, ``labels='exact'``, constant lr: one epoch = ``lr`` units of ODE time with
  ``rho = 1``), the exact GD map and flow evaluated at the simulation's d from its own initial coordinates
  (re-drawn from the simulator's data/initialisation streams and checked against its first record), and the
  paper's restricted ODE (:func:`flowphase.numerics.dynamics.iterate_gd_map`) from the same start.
  Deviations: max over records of ``|theory - sim|`` for ``c, m, omega, b, sqrt_q, sqrt_r`` (the simulator's
  history, canonicalised record by record to m + omega >= 0, the theory the same way), and the final
  ``a_pm, z_pm`` from the kept parameters.
"""
from __future__ import annotations

import math
import time
from typing import Dict

import numpy as np

from flowphase.numerics.dynamics import iterate_gd_map
from flowphase.numerics.exact.dynamics import STATE_NAMES, integrate_exact, iterate_exact_gd
from flowphase.numerics.exact.perpoint import iterate_perpoint_gd, perpoint_state
from flowphase.theory.problem import Problem
from flowphase.theory.records import OVERLAP_NAMES

__all__ = ["exact_coordinates", "simulator_initial_coordinates", "compare_exact_with_simulator",
           "agreement_table"]

SIGN_DEFINED = 0.02


def exact_coordinates(c, b, u, w, x1, s, sigma) -> Dict[str, float]:
    """The exact-dynamics state (module docstring) of one denoiser; also ``q, r, v`` and the paper's ``a``."""
    u = np.asarray(u, float)
    w = np.asarray(w, float)
    x1 = np.asarray(x1, float)
    s = np.asarray(s, float)
    d = u.size
    eta = (x1 - s[:, None]) / float(sigma)
    m, om = float(u.mean()), float(w.mean())
    au, aw = eta @ u / d, eta @ w / d
    out = {"c": float(c), "b": float(b), "m": m, "omega": om}
    npl, nmi = int(np.sum(s > 0)), int(np.sum(s < 0))
    out["a_plus"], out["a_minus"] = float(au[s > 0].mean()), float(au[s < 0].mean())
    out["z_plus"], out["z_minus"] = float(aw[s > 0].mean()), float(aw[s < 0].mean())
    q, r, v = float(u @ u) / d, float(w @ w) / d, float(u @ w) / d
    out["rho_u"] = q - m * m - npl * out["a_plus"] ** 2 - nmi * out["a_minus"] ** 2
    out["rho_w"] = r - om * om - npl * out["z_plus"] ** 2 - nmi * out["z_minus"] ** 2
    out["nu"] = v - m * om - npl * out["a_plus"] * out["z_plus"] - nmi * out["a_minus"] * out["z_minus"]
    n = s.size
    eta_hat = (s @ eta) / math.sqrt(n)
    out.update(q=q, r=r, v=v, a=float(eta_hat @ u) / d, n_plus=npl, n_minus=nmi)
    return out


def _draw(problem: Problem, d: int, seed: int, init: str, init_scale: float, labels: str = "exact"):
    """The simulator's data and initial parameters of one job (one time, one seed): ``(x1, s, c, b, u, w)``."""
    import importlib

    from flowphase.validation.simulator.inputs import setup_data_and_init

    sm = importlib.import_module("flowphase.validation.simulator")   # the module (the package exports the function)
    pr = sm.resolve_problem(problem, d, None)
    x1, s, c, b, u, w, _ = setup_data_and_init(pr, [int(seed)], 1, labels=labels, init=init, init_scale=init_scale,
                                               model="tanh", lam=pr.training.lam_u, dtype=np.float64)
    return x1[0], s[0], float(c[0]), float(b[0]), u[0], w[0]


def simulator_initial_coordinates(problem: Problem, d: int, seed: int, init: str, init_scale: float,
                                  *, labels: str = "exact") -> Dict[str, float]:
    """Initial coordinates of the simulator's job (one time, one seed), re-drawn from its streams."""
    x1, s, c, b, u, w = _draw(problem, d, seed, init, init_scale, labels)
    return exact_coordinates(c, b, u, w, x1, s, problem.sigma)


def _canon(tr: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Flip (u, w, b) record by record to ``m + omega >= 0`` (the simulator's rule, :mod:`..canonical`)."""
    from flowphase.validation.simulator.canonical import canonical_sign

    out = dict(tr)
    flip = canonical_sign(tr["m"], tr["omega"]) < 0
    for k in ("b", "m", "omega", "a_plus", "a_minus", "z_plus", "z_minus", "a"):
        if k in out:
            out[k] = np.where(flip, -np.asarray(out[k]), np.asarray(out[k]))
    return out


def _derived(tr, npl, nmi):
    tr["sqrt_q"] = np.sqrt(tr["m"] ** 2 + npl * tr["a_plus"] ** 2 + nmi * tr["a_minus"] ** 2 + tr["rho_u"])
    tr["sqrt_r"] = np.sqrt(tr["omega"] ** 2 + npl * tr["z_plus"] ** 2 + nmi * tr["z_minus"] ** 2 + tr["rho_w"])
    return tr


def compare_exact_with_simulator(problem: Problem, t: float, d: int, epochs: int, *, lr: float = 0.05,
                                 init: str = "small", init_scale: float = 0.1, seed: int = 0,
                                 record_every: int = 10, paper: bool = True, perpoint: bool = True,
                                 backend: str = "numba") -> dict:
    """Simulate GD (draws = 0) at one time and overlay the exact GD map / flow and the paper's ODE.

    Returns ``{"sim", "exact_gd", "exact_flow", "paper_gd", "max_dev": {name: ...}, "max_dev_paper",
    "dev": max over OVERLAP_NAMES of the exact GD map's deviation, "dev_paper", "final": {...}, "seconds"}``.
    """
    from flowphase.validation.simulator import simulate

    t0 = time.perf_counter()
    res = simulate(problem, d=int(d), ts=[float(t)], seeds=[int(seed)], epochs=int(epochs), optimizer="gd",
                   lr=float(lr), lr_final=float(lr), draws=0, labels="exact", init=init,
                   init_scale=float(init_scale), record_every=int(record_every), keep_params=True, progress=False,
                   backend=backend)
    t1 = time.perf_counter()
    hist = np.asarray(res.history)[0, 0]
    steps = np.asarray(res.record_steps, dtype=int)
    sim = {nm: hist[:, i] for i, nm in enumerate(OVERLAP_NAMES)}
    sim["epochs"] = steps
    y0 = simulator_initial_coordinates(problem, int(d), int(seed), init, float(init_scale))
    # the re-drawn start is the simulator's: its first record must agree to round-off
    start_err = max(abs(y0["c"] - sim["c"][0]), abs(abs(y0["m"]) - abs(sim["m"][0])),
                    abs(abs(y0["omega"]) - abs(sim["omega"][0])), abs(math.sqrt(y0["q"]) - sim["sqrt_q"][0]),
                    abs(math.sqrt(y0["r"]) - sim["sqrt_r"][0]))
    if start_err > 1e-8:
        raise RuntimeError(f"re-drawn initial overlaps differ from the simulator's first record by {start_err:.3e}")
    npl, nmi = y0["n_plus"], y0["n_minus"]
    pr_d = res.problem
    st0 = {k: y0[k] for k in STATE_NAMES}
    last = int(steps[-1])
    gd = iterate_exact_gd(pr_d, t, st0, float(lr), max(last, 1), record_every=1, d=float(d), n_plus=npl).value
    ex_gd = _derived(_canon({k: gd[steps, i] for i, k in enumerate(STATE_NAMES)}), npl, nmi)
    fl = integrate_exact(pr_d, t, st0, steps * float(lr), d=float(d), n_plus=npl).value
    ex_fl = _derived(_canon({k: fl[:, i] for i, k in enumerate(STATE_NAMES)}), npl, nmi)
    # sign-sensitive overlaps are compared where the sign is defined (|m + omega| > 0.02 in both)
    defined = ((np.abs(ex_gd["m"] + ex_gd["omega"]) > SIGN_DEFINED)
               & (np.abs(sim["m"] + sim["omega"]) > SIGN_DEFINED))

    def _dev(th):
        out_ = {}
        for k in OVERLAP_NAMES:
            sel = defined if k in ("b", "m", "omega") else np.ones_like(defined)
            out_[k] = float(np.max(np.abs(th[k] - sim[k])[sel])) if np.any(sel) else 0.0
        return out_

    dev = _dev(ex_gd)
    dev_flow = _dev(ex_fl)
    out = {"sim": sim, "exact_gd": ex_gd, "exact_flow": ex_fl, "max_dev": dev, "max_dev_flow": dev_flow,
           "dev": max(dev.values()), "dev_flow": max(dev_flow.values()), "t": float(t), "d": int(d), "init": init,
           "lr": float(lr), "epochs": int(epochs), "seed": int(seed)}
    # final class coordinates from the kept parameters vs the exact GD map at the last step
    p = res.params
    fin = exact_coordinates(p["c"][0, 0], p["b"][0, 0], p["u"][0, 0], p["w"][0, 0], res.data["x1"][0],
                            res.data["s"][0], pr_d.sigma)
    yl = _canon({k: gd[-1:, i] for i, k in enumerate(STATE_NAMES)})
    out["final"] = {k: {"sim": fin[k], "exact": float(yl[k][0])} for k in ("a_plus", "a_minus", "z_plus", "z_minus")}
    out["dev_final_class"] = max(abs(v["sim"] - v["exact"]) for v in out["final"].values())
    if perpoint:
        # one (a_nu, z_nu) per point (numerics.exact.perpoint): closes the phase-2 random-init transient
        xs, ss, c0, b0, u0, w0 = _draw(problem, int(d), int(seed), init, float(init_scale))
        Y = iterate_perpoint_gd(pr_d, t, perpoint_state(c0, b0, u0, w0, xs, ss, pr_d.sigma), ss,
                                float(lr), max(last, 1), record_every=1, d=float(d))[steps]
        n = int(pr_d.n)
        pp = {"c": Y[:, 0], "b": Y[:, 1], "m": Y[:, 2], "omega": Y[:, 3]}
        pp = _canon(pp)
        pp["sqrt_q"] = np.sqrt(Y[:, 2] ** 2 + (Y[:, 7:7 + n] ** 2).sum(axis=1) + Y[:, 5])
        pp["sqrt_r"] = np.sqrt(Y[:, 3] ** 2 + (Y[:, 7 + n:] ** 2).sum(axis=1) + Y[:, 4])
        dev_pp = _dev(pp)
        out.update(perpoint_gd=pp, max_dev_perpoint=dev_pp, dev_perpoint=max(dev_pp.values()))
    if paper:
        p0 = {"c": y0["c"], "b": y0["b"], "m": y0["m"], "a": y0["a"], "q": y0["q"], "omega": y0["omega"],
              "r": y0["r"], "v": y0["v"]}
        pg = iterate_gd_map(pr_d, t, p0, float(lr), max(last, 1), record_every=1, rho=1.0)
        pv = {k: pg.value[steps, i] for i, k in enumerate(("c", "b", "m", "a", "q", "omega", "r", "v"))}
        pv = _canon(pv)
        pv["sqrt_q"], pv["sqrt_r"] = np.sqrt(pv["q"]), np.sqrt(pv["r"])
        dev_p = _dev(pv)
        out.update(paper_gd=pv, max_dev_paper=dev_p, dev_paper=max(dev_p.values()))
    out["seconds"] = {"simulate": t1 - t0, "theory": time.perf_counter() - t1}
    return out


def agreement_table(problem: Problem, *, ts=(0.5, 1.05, 1.5), inits=("small", "random"), ds=(1000, 4000),
                    seeds=(0, 1, 2, 3), epochs: int = 400, lr: float = 0.05, record_every: int = 20,
                    init_scale: float = 0.1) -> dict:
    """Seed-averaged max deviation (exact GD map, exact flow, paper's GD map) per (t, init, d), and its d-slope.

    Returns ``{"rows": [...], "slopes": {"t=..,init=..": slope of the exact GD map's mean deviation}, "config"}``.
    """
    from flowphase.validation.tolerances import loglog_slope

    rows, slopes = [], {}
    for t in ts:
        for init in inits:
            means = []
            for d in ds:
                runs = [compare_exact_with_simulator(problem, t, d, epochs, lr=lr, init=init, init_scale=init_scale,
                                                     seed=sd, record_every=record_every) for sd in seeds]
                row = {"t": float(t), "init": init, "d": int(d)}
                for key in ("dev", "dev_flow", "dev_paper", "dev_final_class", "dev_perpoint"):
                    vals = np.array([r[key] for r in runs])
                    row[key] = float(vals.mean())
                    row[key + "_se"] = float(vals.std(ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else 0.0
                row["max_dev"] = {k: float(np.mean([r["max_dev"][k] for r in runs])) for k in OVERLAP_NAMES}
                rows.append(row)
                means.append(row["dev"])
            slopes[f"t={t:g},init={init}"] = float(loglog_slope(ds, means)) if len(ds) > 1 else math.nan
            pts = [r_["dev_perpoint"] for r_ in rows[-len(ds):]]
            slopes[f"t={t:g},init={init},perpoint"] = float(loglog_slope(ds, pts)) if len(ds) > 1 else math.nan
    cfg = dict(problem=problem.to_dict(), ts=list(map(float, ts)), inits=list(inits), ds=list(map(int, ds)),
               seeds=list(map(int, seeds)), epochs=int(epochs), lr=float(lr), record_every=int(record_every),
               init_scale=float(init_scale), optimizer="gd", draws=0, labels="exact")
    return {"rows": rows, "slopes": slopes, "config": cfg}


def main(argv=None) -> int:
    """``python -m flowphase.validation.exact_dynamics_compare OUT.json``: the full agreement table (n = 16)."""
    import argparse

    from flowphase.validation._io import atomic_write_json

    ap = argparse.ArgumentParser(prog="python -m flowphase.validation.exact_dynamics_compare",
                                 description="exact-coordinate dynamics vs simulator GD agreement table")
    ap.add_argument("out", help="JSON output path")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--sigma", type=float, default=1.0)
    ns = ap.parse_args(argv)
    tab = agreement_table(Problem.dilated(n=ns.n, sigma=ns.sigma))
    atomic_write_json(ns.out, tab)
    for r in tab["rows"]:
        print(f"t={r['t']:<5g} {r['init']:<7} d={r['d']:<5d} exact GD {r['dev']:.4f}+-{r['dev_se']:.4f}  "
              f"exact flow {r['dev_flow']:.4f}  per-point GD {r['dev_perpoint']:.4f}+-{r['dev_perpoint_se']:.4f}  "
              f"paper GD {r['dev_paper']:.4f}  final a,z {r['dev_final_class']:.4f}")
    for k, v in tab["slopes"].items():
        print(f"slope {k}: {v:.2f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
