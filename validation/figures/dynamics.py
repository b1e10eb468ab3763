"""The ``dynamics`` figure: both theories of the learning dynamics against the simulator.

Top row, gradient descent on the exact fresh-noise expectation (``draws = 0``; PAPER §2.3 loss, the simulator's
preconditioned GD, one epoch = ``lr`` ODE units): the exact-coordinate GD map (EXACT_FINITE_N §2-3; per-point
coordinates for the random initialisation in phase 2, :mod:`flowphase.numerics.exact.perpoint`) and the paper's
restricted overlap ODE (:mod:`flowphase.theory.dynamics`, its GD map at the simulation's d), both from the
simulation's own initial overlaps (:func:`flowphase.validation.exact_dynamics_compare.compare_exact_with_simulator`).

Bottom row, the authors' optimiser: Adam, one fresh draw per point and step, random N(0, 1) init: the stochastic
exact map (:mod:`flowphase.numerics.exact.stochastic`: Adam's coordinate-class law and the finite-batch noise
term), the same without the noise term, and the isotropic-Adam surrogate, over the simulator's seed mean
(:func:`flowphase.validation.exact_adam_compare.compare_adam_with_simulator`).

Verdicts from the plotted numbers against ``exact_dynamics_gd`` and ``exact_adam_sim`` of
:mod:`flowphase.validation.tolerances`.
"""
from __future__ import annotations

import numpy as np

from flowphase.theory.problem import Problem

from ._common import figure_builder, figure_problem, figure_size, finish

__all__ = ["SIZES", "DEFAULT_PROBLEM", "dynamics_figure_data", "dynamics_figure"]

#: the figure's default problem (n and d are the sizes below); it takes p, σ, κ, λ_u, λ_w from the user's
DEFAULT_PROBLEM = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, lam_u=2.0, lam_w=2.0)
FIELDS = ("p", "sigma", "kappa", "lam_u", "lam_w")

#: quick: seconds; full: a few minutes (2 cores)
SIZES = {
    True: dict(gd=dict(d=500, n=16, epochs=100, lr=0.05, record_every=20, seeds=(0,)),
               adam=dict(d=300, n=8, epochs=400, lr=1e-2, record_every=50, skip=100, seeds=(0,), ts=(0.5, 1.5))),
    False: dict(gd=dict(d=1000, n=16, epochs=400, lr=0.05, record_every=20, seeds=(0, 1, 2)),
                adam=dict(d=1000, n=32, epochs=4000, lr=1e-3, record_every=200, skip=400, seeds=(0, 1, 2),
                          ts=(0.3, 1.05, 1.5))),
}
GD_PANELS = ((0.5, "small"), (1.05, "small"), (1.5, "random"))
_COLORS = {"c": "tab:blue", "m": "tab:orange", "omega": "tab:green", "b": "tab:red", "sqrt_q": "tab:brown",
           "sqrt_r": "tab:purple"}
SHOW = ("c", "m", "omega", "b", "sqrt_r")


def dynamics_figure_data(quick: bool = False, *, problem=None, d=None, n=None) -> dict:
    """Numbers of the figure (module docstring), with the computed verdicts; ``problem`` (default
    :data:`DEFAULT_PROBLEM`) gives p, σ, κ, λ_u, λ_w, ``d`` and ``n`` replace both rows' sizes (:data:`SIZES`)."""
    from flowphase.theory.records import OVERLAP_NAMES
    from flowphase.validation.exact_adam_compare import compare_adam_with_simulator
    from flowphase.validation.exact_dynamics_compare import compare_exact_with_simulator
    from flowphase.validation.tolerances import allowed_deviation

    base = figure_problem("dynamics", problem, DEFAULT_PROBLEM, FIELDS)
    sz = SIZES[bool(quick)]
    sz = {row: dict(v, d=figure_size("dynamics", "d", d, problem, v["d"]),
                    n=figure_size("dynamics", "n", n, problem, v["n"])) for row, v in sz.items()}
    g, a = sz["gd"], sz["adam"]
    gd_problem = Problem.dilated(p=base.p, sigma=base.sigma, kappa=base.kappa, n=g["n"], lam_u=base.training.lam_u,
                                 lam_w=base.training.lam_w)
    gd = []
    for t, init in GD_PANELS:
        runs = [compare_exact_with_simulator(gd_problem, t, g["d"], g["epochs"], lr=g["lr"], init=init, seed=sd,
                                             record_every=g["record_every"]) for sd in g["seeds"]]
        key = "perpoint_gd" if init == "random" else "exact_gd"
        dkey = "dev_perpoint" if init == "random" else "dev"
        dev = np.array([r[dkey] for r in runs])
        devp = np.array([r["dev_paper"] for r in runs])
        se = float(dev.std(ddof=1) / np.sqrt(dev.size)) if dev.size > 1 else 0.0
        gd.append({"t": t, "init": init, "epochs": [int(e) for e in runs[0]["sim"]["epochs"]],
                   "sim": {k: np.mean([r["sim"][k] for r in runs], axis=0).tolist() for k in OVERLAP_NAMES},
                   "exact": {k: np.mean([r[key][k] for r in runs], axis=0).tolist() for k in OVERLAP_NAMES},
                   "paper": {k: np.mean([r["paper_gd"][k] for r in runs], axis=0).tolist() for k in OVERLAP_NAMES},
                   "dev_exact": float(dev.mean()), "dev_exact_se": se, "dev_paper": float(devp.mean()),
                   "allowed": allowed_deviation("exact_dynamics_gd", 0.0, se, d=g["d"]), "exact_kind": key})
    adam_problem = Problem.dilated(p=base.p, sigma=base.sigma, kappa=base.kappa, n=a["n"],
                                   lam_u=base.training.lam_u, lam_w=base.training.lam_w)
    cmp = compare_adam_with_simulator(adam_problem, a["ts"], a["d"], a["epochs"], lr=a["lr"], seeds=a["seeds"],
                                      record_every=a["record_every"], skip=a["skip"])
    names = list(cmp["dev"][f"{a['ts'][0]:g}"])
    adam = []
    for k, t in enumerate(a["ts"]):
        key = f"{t:g}"
        allowed = {nm: allowed_deviation("exact_adam_sim", 0.0, cmp["dev_se"][key][nm], d=a["d"]) for nm in names}
        adam.append({"t": t, "epochs": cmp["epochs"],
                     "sim": {nm: np.mean(np.array(cmp["sim"])[:, k, :, q], axis=0).tolist() for q, nm in enumerate(names)},
                     "exact": {nm: np.mean(np.array(cmp["theory"])[:, k, :, q], axis=0).tolist()
                               for q, nm in enumerate(names)},
                     "exact_no_noise": {nm: np.mean(np.array(cmp["theory_no_noise"])[:, k, :, q], axis=0).tolist()
                                        for q, nm in enumerate(names)},
                     "exact_isotropic": {nm: np.mean(np.array(cmp["theory_other_law"])[:, k, :, q], axis=0).tolist()
                                         for q, nm in enumerate(names)},
                     "dev": cmp["dev"][key], "dev_se": cmp["dev_se"][key], "dev_no_noise": cmp["dev_no_noise"][key],
                     "dev_isotropic": cmp["dev_other_law"][key], "allowed": allowed})
    claims = []
    for p in gd:
        claims.append((f"GD, t = {p['t']} ({p['init']} init): the exact-coordinate dynamics follows the simulator "
                       "within the d-shrinking floor and closer than the paper's ODE",
                       p["dev_exact"] <= p["allowed"] and p["dev_exact"] < p["dev_paper"],
                       f"max |exact - sim| {p['dev_exact']:.4f} (allowed {p['allowed']:.4f}), "
                       f"paper ODE {p['dev_paper']:.4f}"))
    for p in adam:
        ok = all(p["dev"][nm] <= p["allowed"][nm] for nm in names)
        claims.append((f"Adam K = 1, t = {p['t']}: the stochastic exact map follows the simulator's seed mean",
                       ok, ", ".join(f"{nm} {p['dev'][nm]:.3f}/{p['allowed'][nm]:.3f}" for nm in names)))
    noise = max(p["dev_no_noise"]["sqrt_r"] - p["allowed"]["sqrt_r"] for p in adam)
    claims.append(("Adam K = 1: without the finite-batch noise term sqrt(r) leaves the simulator", noise > 0,
                   "max over t of (|no-noise - sim| - allowed) in sqrt_r = " + f"{noise:.3f}"))
    return {"quick": bool(quick), "sizes": {k: {kk: (list(vv) if isinstance(vv, tuple) else vv) for kk, vv in v.items()}
                                            for k, v in sz.items()},
            "gd": gd, "adam": adam, "claims": [{"text": c[0], "confirmed": bool(c[1]), "detail": c[2]} for c in claims],
            "adam_config": cmp["config"]}


@figure_builder(DEFAULT_PROBLEM, FIELDS, sizes=("d", "n"))
def dynamics_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None):
    """PNG/PDF/JSON of the figure for ``problem`` and its :class:`~flowphase.validation.claims.FigureOutput`."""
    from flowphase.validation.claims import Claim
    from flowphase.validation.figures._common import plt as _plt

    plt = _plt()
    data = dynamics_figure_data(quick, problem=problem, d=d, n=n)
    ncol = max(len(data["gd"]), len(data["adam"]))
    fig, axes = plt.subplots(2, ncol, figsize=(4.4 * ncol, 8.0), squeeze=False)
    g = data["sizes"]["gd"]
    for ax, p in zip(axes[0], data["gd"]):
        ep = np.array(p["epochs"])
        for nm in SHOW:
            ax.plot(ep, p["exact"][nm], "-", color=_COLORS[nm], lw=1.5, label=nm)
            ax.plot(ep, p["paper"][nm], "--", color=_COLORS[nm], lw=1.0)
            ax.plot(ep, p["sim"][nm], "o", color=_COLORS[nm], ms=2.5)
        ax.set_title(f"GD, t = {p['t']}, {p['init']} init, d = {g['d']}, n = {g['n']}", fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    a = data["sizes"]["adam"]
    for ax, p in zip(axes[1], data["adam"]):
        ep = np.array(p["epochs"])
        for nm in SHOW:
            ax.plot(ep, p["exact"][nm], "-", color=_COLORS[nm], lw=1.5, label=nm)
            ax.plot(ep, p["exact_isotropic"][nm], ":", color=_COLORS[nm], lw=1.0)
            ax.plot(ep, p["exact_no_noise"][nm], "-", color=_COLORS[nm], lw=0.5, alpha=0.5)
            ax.plot(ep, p["sim"][nm], "o", color=_COLORS[nm], ms=2.5)
        ax.set_title(f"Adam lr {a['lr']:g}, K = 1, random init, t = {p['t']}, d = {a['d']}, n = {a['n']}", fontsize=9)
        ax.set_xlabel("Adam epoch")
        ax.grid(alpha=0.3)
    for i, used in enumerate((len(data["gd"]), len(data["adam"]))):
        for ax in axes[i][used:]:
            ax.set_visible(False)
    axes[0][0].legend(fontsize=7, ncol=2)
    axes[0][0].set_ylabel("overlap (solid: exact coordinates, dashed: paper ODE, dots: simulator)", fontsize=8)
    axes[1][0].set_ylabel("overlap (solid: exact + noise, dotted: isotropic Adam, thin: no noise)", fontsize=8)
    caption = ("Learning dynamics vs the simulator. Top: GD on the fresh-noise expectation, exact-coordinate GD map "
               "(EXACT_FINITE_N §2-3) and the paper's restricted ODE from the simulation's own start. Bottom: Adam with "
               "one fresh draw (the authors' optimiser): the stochastic exact map (coordinate-class Adam law, "
               "finite-batch noise term), the isotropic-Adam surrogate and the map without noise; dots: seed means.")
    fig.text(0.01, -0.02, caption, fontsize=7, wrap=True)
    rows = []
    for p in data["adam"]:
        for nm in SHOW:
            rows.append({"quantity": f"{nm}(t={p['t']}) Adam, end", "theory": p["exact"][nm][-1],
                         "simulation": p["sim"][nm][-1], "stderr": None})
    claims = [Claim(c["text"], c["confirmed"], c["detail"]) for c in data["claims"]]
    return finish(fig, out_dir, "dynamics", data, claims=claims, rows=rows, caption=caption,
                  problem=figure_problem("dynamics", problem, DEFAULT_PROBLEM, FIELDS))
