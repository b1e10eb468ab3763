"""Figures of ``flowphase reproduce`` that put finite-d training next to the theory (PAPER §5).

* ``overlaps``: c, m, omega, b vs t in [0, 2] — simulation (error bars over seeds), finite-n theory
  (solid) and n = inf theory (dashed), with the **same** lambda in theory and simulation;
* ``overlaps-authors``: the authors' parameters (theory lam_u = 50, lam_w = 1 against a simulation
  with weight decay 1e-5, i.e. lam = wd d T / 2 ~ 2 in theory units), mismatch explained;
* ``mode-fraction``: generated p_hat vs d, dilated vs undilated, theory and simulation;
* adapters for the ``dynamics`` (issue 7) and ``uturn`` (issue 5) figures.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from flowphase.theory.problem import Problem, weight_decay_to_lambda

from .reproduce import Claim, FigureOutput, save_figure

__all__ = ["OVERLAPS_SIZES", "overlaps_data", "overlaps_figure", "overlaps_authors_figure",
           "mode_fraction_data", "mode_fraction_figure", "dynamics_figure", "uturn_figure"]

#: simulation sizes of the overlaps figures: quick (CI) and default (the README's main job)
OVERLAPS_SIZES = {
    True: dict(d=400, n=32, n_times=10, seeds=(0, 1), epochs=1500, lr=0.05),
    False: dict(d=1000, n=128, n_times=40, seeds=(0, 1, 2), epochs=3000, lr=0.05),
}
_COLORS = {"c": "tab:blue", "m": "tab:orange", "omega": "tab:green", "b": "tab:red"}
_NAMES = ("c", "m", "omega", "b")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _theory_curves(problem: Problem, ts):
    from flowphase.numerics.learned import learned_curve

    cur = learned_curve(problem, ts)
    return {k: getattr(cur, k).tolist() for k in _NAMES}, [vars(j).copy() for j in cur.jumps]


def overlaps_data(quick: bool = False, lam_theory=(2.0, 2.0), weight_decay=None, progress=False) -> dict:
    """Simulated and theoretical learned overlaps along the dilated schedule (PAPER §5 Figure A).

    The simulation trains the exact expectation over the fresh noise (``draws=0``, K -> inf) with
    Adam from the ``small`` initialisation, lam in theory units.  ``weight_decay`` (if given)
    sets the simulation's lam through lam = wd d T / 2 (PAPER §2.3) with T = 80 as in the
    authors' code; otherwise lam_sim = lam_theory.
    """
    from flowphase.validation.simulate import simulate

    sz = OVERLAPS_SIZES[bool(quick)]
    d, n = sz["d"], sz["n"]
    lam_u_th, lam_w_th = lam_theory
    if weight_decay is None:
        lam_sim = (lam_u_th, lam_w_th)
    else:
        lam = weight_decay_to_lambda(weight_decay, d, 80)
        lam_sim = (lam, lam)
    sim_problem = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, d=d, n=n, lam_u=lam_sim[0], lam_w=lam_sim[1])
    ts = sim_problem.schedule.grid(sz["n_times"])
    sim = simulate(sim_problem, ts=ts, seeds=sz["seeds"], epochs=sz["epochs"], lr=sz["lr"], draws=0, init="small",
                   progress=progress)
    mean, se = sim.mean(), sim.stderr()
    from flowphase.validation.simulate import OVERLAP_NAMES

    idx = [OVERLAP_NAMES.index(k) for k in _NAMES]
    fine = np.linspace(0.0, 1.995, 160 if quick else 400)
    th_fin, jumps = _theory_curves(Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, n=n, lam_u=lam_u_th,
                                                   lam_w=lam_w_th), fine)
    th_inf, _ = _theory_curves(Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, n=math.inf), fine)
    # finite-n theory at the simulated times and at the simulation's actual tau (finite d, PAPER §3.9)
    th_at, _ = _theory_curves(Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, d=d, n=n, lam_u=lam_u_th,
                                              lam_w=lam_w_th), ts)
    return {
        "params": {"p": 0.8, "sigma": 1.0, "kappa": 2.0, "d": d, "n": n, "lam_theory": list(lam_theory),
                   "lam_simulation": list(lam_sim), "weight_decay": weight_decay, "epochs": sz["epochs"], "lr": sz["lr"],
                   "seeds": list(sz["seeds"]), "optimizer": "adam", "init": "small", "draws": 0,
                   "n_times": sz["n_times"]},
        "t_sim": ts.tolist(),
        "sim_mean": {k: mean[:, i].tolist() for k, i in zip(_NAMES, idx)},
        "sim_stderr": {k: se[:, i].tolist() for k, i in zip(_NAMES, idx)},
        "t_theory": fine.tolist(), "theory_finite_n": th_fin, "theory_infinite_n": th_inf,
        "theory_at_sim_times": th_at, "jumps": jumps,
    }


def _plot_overlaps(data, title, caption):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    tt = np.array(data["t_theory"])
    ts = np.array(data["t_sim"])
    for k in _NAMES:
        col = _COLORS[k]
        ax.plot(tt, np.array(data["theory_finite_n"][k], dtype=float), "-", color=col, lw=1.6)
        ax.plot(tt, np.array(data["theory_infinite_n"][k], dtype=float), "--", color=col, lw=1.0)
        ax.errorbar(ts, data["sim_mean"][k], yerr=data["sim_stderr"][k], fmt="o", ms=3.5, color=col,
                    capsize=2, label=k)
    ax.axvline(1.0, color="grey", lw=0.6)
    ax.set_xlim(0, 2)
    ax.set_ylim(-0.1, 2.1)
    ax.set_xlabel("t  (phase 1: [0, 1], phase 2: [1, 2])")
    ax.set_ylabel("overlap")
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles += [Line2D([], [], color="k", ls="-"), Line2D([], [], color="k", ls="--"),
                Line2D([], [], color="k", marker="o", ls="")]
    labels += ["finite-n theory", "n = ∞ theory", "simulation (mean ± s.e.)"]
    ax.legend(handles, labels, fontsize=8, ncol=2)
    ax.set_title(title, fontsize=10)
    fig.text(0.01, -0.06, caption, fontsize=7, wrap=True)
    return fig


def _agreement(data):
    """Rows of the theory-vs-simulation table and the max deviation in units of the tolerance."""
    rows = []
    for k in _NAMES:
        for j, t in enumerate(data["t_sim"]):
            th = data["theory_at_sim_times"][k][j]
            if th is None or (isinstance(th, float) and not math.isfinite(th)):
                continue
            rows.append({"quantity": f"{k}(t={t:.3g})", "theory": th, "simulation": data["sim_mean"][k][j],
                         "stderr": data["sim_stderr"][k][j]})
    return rows


def overlaps_figure(out_dir, quick: bool = False) -> FigureOutput:
    data = overlaps_data(quick)
    P = data["params"]
    caption = (f"Simulation: d = {P['d']}, n = {P['n']}, λ_u = λ_w = {P['lam_simulation'][0]:g} (theory units), Adam "
               f"{P['epochs']} epochs, small init, exact fresh-noise expectation, {len(P['seeds'])} seeds. "
               f"Theory: same n and λ (solid), n = ∞ (dashed). Phase-1 c ≈ κtσ²/√d is a finite-d effect (PAPER §8 row 16).")
    fig = _plot_overlaps(data, "Learned overlaps vs time (same λ in theory and simulation)", caption)
    paths = save_figure(fig, out_dir, "overlaps", data)
    rows = _agreement(data)
    ts = np.array(data["t_sim"])
    ph1 = (ts > 0.05) & (ts <= 1.0)
    ph2 = ts > 1.0
    c1 = np.abs(np.array(data["sim_mean"]["c"])[ph1])
    kappa, d = P["kappa"], P["d"]
    c_bound = 2.0 * kappa * 1.0 / math.sqrt(d)  # c* ~ kappa t sigma^2 / sqrt(d) <= kappa/sqrt(d) on phase 1
    m2_sim = np.array(data["sim_mean"]["m"])[ph2]
    m2_th = np.array(data["theory_at_sim_times"]["m"])[ph2]
    c2_sim = np.array(data["sim_mean"]["c"])[ph2]
    c2_th = np.array(data["theory_at_sim_times"]["c"])[ph2]
    dev2 = float(np.max(np.abs(np.r_[m2_sim - m2_th, c2_sim - c2_th]))) if ph2.any() else math.nan
    om = np.array(data["sim_mean"]["omega"])[ph1]
    om_th = np.array(data["theory_at_sim_times"]["omega"])[ph1]
    rel1 = float(np.max(np.abs(om - om_th) / np.maximum(om_th, 0.2))) if ph1.any() else math.nan
    claims = [
        Claim("skip connection off in phase 1 (c ≈ 0, O(κ/√d))", bool(np.all(c1 < c_bound)),
              f"max |c| on phase 1 = {c1.max():.3f} < 2κ/√d = {c_bound:.3f}"),
        Claim("phase-2 c, m follow the ridge theory", dev2 < 0.1,
              f"max |sim − theory| over phase-2 times = {dev2:.3f}"),
        Claim("phase-1 ω follows the finite-n effective potential", rel1 < 0.15,
              f"max relative deviation of ω on phase 1 = {rel1:.3f}"),
    ]
    return FigureOutput("overlaps", paths, data, rows=rows, claims=claims, caption=caption)


def overlaps_authors_figure(out_dir, quick: bool = False) -> FigureOutput:
    data = overlaps_data(quick, lam_theory=(50.0, 1.0), weight_decay=1e-5)
    P = data["params"]
    caption = ("Authors' parameters: theory λ_u = 50, λ_w = 1 (their notebook) against a simulation with weight decay "
               f"1e−5, which is λ = wd·d·T/2 = {P['lam_simulation'][0]:.3g} in theory units at d = {P['d']}, T = 80 "
               "(PAPER §2.3, §7 item 2). The two λ differ, so the finite-n curves are not the theory of this run: "
               "m and ω are pulled down by the large λ_u in the theory only.")
    fig = _plot_overlaps(data, "Learned overlaps, the authors' parameter choice (λ mismatch)", caption)
    paths = save_figure(fig, out_dir, "overlaps-authors", data)
    ts = np.array(data["t_sim"])
    ph1 = (ts > 0.3) & (ts <= 1.0)
    m_sim = np.array(data["sim_mean"]["m"])[ph1]
    m_th = np.array(data["theory_at_sim_times"]["m"])[ph1]
    claims = [Claim("with the authors' λ_u = 50 the theory's phase-1 m lies below the λ ≈ 2 experiment",
                    bool(np.all(m_th < m_sim)),
                    f"mean m on t ∈ (0.3, 1]: theory {m_th.mean():.3f}, simulation {m_sim.mean():.3f}")]
    return FigureOutput("overlaps-authors", paths, data, rows=_agreement(data), claims=claims, caption=caption)


# ----------------------------------------------------------------------------- mode fraction
def mode_fraction_data(quick: bool = False, p: float = 0.8, kappa: float = 2.0, n_times: int = 80) -> dict:
    """Generated mode fraction p_hat vs d, dilated vs undilated (PAPER §3.5, §3.7).

    Theory: the d -> inf dilated prediction (exact transition: p; Euler threshold:
    p Phi(kappa + h/kappa) + (1-p) Phi(h/kappa - kappa)) and the undilated finite-d reduction of the
    exact flow at fixed T.  Simulation: the d-dimensional exact (Bayes) velocity integrated with
    the authors' Euler convention on T grid points, many samples per d.
    """
    from flowphase.numerics.generated import generated_distribution, undilated_mode_fraction
    from flowphase.validation.sampling import generate_bayes

    ds = [100, 400, 1600] if quick else [100, 400, 1600, 6400]
    n_gen = 2000 if quick else 4000
    th_exact = generated_distribution(Problem.dilated(p=p, kappa=kappa), transition="exact").p_hat
    th_euler = generated_distribution(Problem.dilated(p=p, kappa=kappa), transition="euler").p_hat
    out = {"params": {"p": p, "kappa": kappa, "n_times": n_times, "n_gen": n_gen, "sigma": 1.0,
                      "integrator": "euler, network at t_k drives step k, stops at the last grid point"},
           "d": ds, "theory_dilated_exact": th_exact, "theory_dilated_euler": th_euler,
           "theory_undilated": [], "sim_dilated": [], "sim_dilated_se": [], "sim_undilated": [],
           "sim_undilated_se": []}
    for d in ds:
        out["theory_undilated"].append(float(undilated_mode_fraction(p, 1.0, d, n_times - 1)))
        for key, prob in (("dilated", Problem.dilated(p=p, kappa=kappa, d=d)),
                          ("undilated", Problem.undilated(p=p, d=d))):
            g = generate_bayes(prob, d=d, ts=prob.schedule.grid(n_times), n_gen=n_gen, seeds=(0,))
            ph = g.mean("p_hat")
            out[f"sim_{key}"].append(ph)
            out[f"sim_{key}_se"].append(math.sqrt(ph * (1 - ph) / n_gen))
    return out


def mode_fraction_figure(out_dir, quick: bool = False) -> FigureOutput:
    plt = _plt()
    data = mode_fraction_data(quick)
    ds = np.array(data["d"], float)
    p = data["params"]["p"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.errorbar(ds, data["sim_dilated"], yerr=1.96 * np.array(data["sim_dilated_se"]), fmt="o", color="tab:blue",
                label="dilated, simulated (exact velocity, Euler)")
    ax.errorbar(ds, data["sim_undilated"], yerr=1.96 * np.array(data["sim_undilated_se"]), fmt="s",
                color="tab:red", label="undilated, simulated")
    ax.plot(ds, data["theory_undilated"], "-", color="tab:red", label="undilated, theory (fixed T)")
    ax.axhline(data["theory_dilated_euler"], color="tab:blue", ls="-", label="dilated theory, Euler threshold")
    ax.axhline(p, color="k", ls=":", label=f"p = {p}")
    ax.set_xscale("log")
    ax.set_xlabel("d")
    ax.set_ylabel("generated mode fraction p̂")
    ax.legend(fontsize=8)
    ax.set_title(f"p̂ vs d (T = {data['params']['n_times']} grid points)")
    paths = save_figure(fig, out_dir, "mode-fraction", data)
    dil = np.array(data["sim_dilated"])
    und = np.array(data["sim_undilated"])
    slope = float(np.polyfit(np.log(ds), und, 1)[0])
    rows = [{"quantity": f"p_hat dilated (d={int(d)})", "theory": data["theory_dilated_euler"], "simulation": s,
             "stderr": e} for d, s, e in zip(ds, dil, data["sim_dilated_se"])]
    rows += [{"quantity": f"p_hat undilated (d={int(d)})", "theory": th, "simulation": s, "stderr": e}
             for d, th, s, e in zip(ds, data["theory_undilated"], und, data["sim_undilated_se"])]
    claims = [
        Claim("p̂ → p with dilation", bool(np.all(np.abs(dil - p) < 0.03)),
              f"max |p̂ − p| over d = {np.max(np.abs(dil - p)):.3f} (< 0.03)"),
        Claim("p̂ drifts away from p without dilation as d grows", bool(und[-1] - p > und[0] - p and slope > 0),
              f"p̂ − p from {und[0] - p:+.3f} (d = {int(ds[0])}) to {und[-1] - p:+.3f} (d = {int(ds[-1])})"),
    ]
    return FigureOutput("mode-fraction", paths, data, rows=rows, claims=claims)


# ----------------------------------------------------------------------------- adapters
def dynamics_figure(out_dir, quick: bool = False) -> FigureOutput:
    """Issue 7's learning-dynamics figure (ODE lines over simulator points)."""
    from flowphase.validation.dynamics_compare import make_dynamics_figure

    res = make_dynamics_figure(out_dir, quick=quick)
    paths = [str(p) for p in (res.get("paths", res) if isinstance(res, dict) else res)]
    return FigureOutput("dynamics", [p for p in paths if isinstance(p, str)], res if isinstance(res, dict) else {},
                        claims=[Claim(**c) if isinstance(c, dict) else c for c in (res.get("claims", [])
                                                                                   if isinstance(res, dict) else [])])


def uturn_figure(out_dir, quick: bool = False) -> FigureOutput:
    """Issue 5's U-Turn figure on the bundled digits."""
    from flowphase.validation.uturn import make_uturn_figure

    res = make_uturn_figure(out_dir, quick=quick)
    paths = [str(v) for v in (res.values() if isinstance(res, dict) else res) if isinstance(v, (str, Path))]
    return FigureOutput("uturn", paths, {})
