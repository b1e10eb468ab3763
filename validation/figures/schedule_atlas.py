"""The ``schedule-atlas`` figure of ``flowphase reproduce``: the theory ranks the training-time densities people use.

For every density of :data:`DENSITIES` (uniform, SD3's logit-normal / mode / cosmap / resolution shift, EDM's
log-normal, the paper's dilation, ``phase_aware(logit-normal, decision windows, 0.5)`` and the designed multi-window
schedule) and d from 1e2 to 1e8: the error ``max_k |p_hat_k - p_k|`` of the generated mode weights of Euler on the
density's grid (T = 80, n = inf: the Bayes field; :mod:`flowphase.numerics.atlas`) for (a) the two-mode problem and
(b) the 4-mode hierarchy of the ``hierarchy`` figure, and (c) the smallest T that keeps the two-mode error <= 0.01.

Verdicts (computed from the plotted numbers): which densities lose the mode weights (error > :data:`LOSE`) and from
which d; whether the dilation, the phase-aware logit-normal and the designed schedule keep them (error <=
:data:`KEEP_TWO_MODE` for two modes, the hierarchy's tolerance plus its QMC budget for four), and that the windows
must start at pure noise; the reference numbers of the problem statement; and how the uniform grid's smallest T scales with d.  The thresholds classify theory numbers (no simulation
noise for two modes), so they are constants of this figure, not entries of the theory-vs-simulation table.
"""
from __future__ import annotations

import math

import numpy as np

from flowphase.theory.problem import Problem
from flowphase.validation.claims import Claim, FigureOutput, combine, exceeds, within
from flowphase.validation.tolerances import claim_noise, tolerance

from ._common import figure_builder, figure_problem, figure_size, finish, plt

#: the densities of the atlas (CLI specs; ``@auto`` / ``designed`` read the problem's decision windows at each d)
DENSITIES = ("uniform", "logit-normal:0,1", "mode:1.29", "cosmap", "edm:-1.2,1.2", "shift:3", "dilation:2",
             "phase-aware:logit-normal:0,1@auto,0.5", "phase-aware:logit-normal:0,1@detected,0.5", "designed:0.6")
#: densities whose grid does not follow the 1/sqrt(d) decision window (practitioners' defaults)
UNSCALED = ("uniform", "logit-normal:0,1", "mode:1.29", "cosmap", "edm:-1.2,1.2", "shift:3")
#: an error above LOSE means the density has lost the mode weights; KEEP_TWO_MODE is the smallest-T criterion
LOSE = 0.05
KEEP_TWO_MODE = 0.01
DS = (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)
DS_QUICK = (1e2, 1e3, 1e4, 1e6, 1e8)
T = 80
T_MAX_SEARCH = 2 ** 14
#: the reference numbers (p = 0.8, T = 80): (density, d, p_hat, digits quoted)
REFERENCE = (("uniform", 1e3, 0.82, 2), ("uniform", 1e4, 0.88, 2), ("logit-normal:0,1", 1e3, 0.99, 2),
             ("dilation:2", 1e8, 0.805, 3))
DEFAULT_PROBLEM = Problem.dilated(p=0.8, sigma=1.0)

__all__ = ["DENSITIES", "UNSCALED", "LOSE", "KEEP_TWO_MODE", "atlas_data", "atlas_claims",
           "schedule_atlas_figure"]


def _label(spec: str) -> str:
    return {"phase-aware:logit-normal:0,1@auto,0.5": "phase-aware(logit-normal), 0.5 in [0, window end]",
            "phase-aware:logit-normal:0,1@detected,0.5": "phase-aware(logit-normal), 0.5 in detected windows",
            "designed:0.6": "designed multi-window, 0.6"}.get(spec, spec)


def atlas_data(quick: bool = False, *, p: float = 0.8, sigma: float = 1.0, progress: bool = False) -> dict:
    """The atlas tables: two modes (p, sigma) and the 4-mode hierarchy, every density at every d, n = inf."""
    from flowphase.numerics import atlas as at

    ds = DS_QUICK if quick else DS
    two, four = at.TwoMode(p=p, sigma=sigma), at.KMode(m=9, reps=4)
    out = {"densities": list(DENSITIES), "d": list(ds), "T": T, "n": math.inf, "tol_min_T": KEEP_TWO_MODE,
           "T_max_search": T_MAX_SEARCH, "two_mode": {"problem": two.to_dict(), "rows": []},
           "four_mode": {"problem": four.to_dict(), "rows": []},
           "grid": "tau_k = F^-1(k/T), k = 0..T-1; Euler with the field at the left end; stops at tau_{T-1}"}
    jobs = [(spec, d) for spec in DENSITIES for d in ds]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="schedule-atlas")
    for spec, d in jobs:
        den2 = at.density_at(spec, two, d)
        r2 = at.evaluate(two, den2, d, T=T).to_dict()
        wins = at.decision_windows(two, d)
        r2.update(spec=spec, window_mass=at.window_masses(den2, wins),
                  windows=[[w["start"], w["end"]] for w in wins],
                  min_T=at.smallest_T(two, lambda dd, s=spec: at.density_at(s, two, dd), d, tol=KEEP_TWO_MODE,
                                      T_max=T_MAX_SEARCH))
        out["two_mode"]["rows"].append(r2)
        den4 = at.density_at(spec, four, d)
        r4 = at.evaluate(four, den4, d, T=T).to_dict()
        wins4 = at.decision_windows(four, d)
        r4.update(spec=spec, window_mass=at.window_masses(den4, wins4),
                  windows=[[w["start"], w["end"]] for w in wins4])
        out["four_mode"]["rows"].append(r4)
    return out


def _series(block: dict, spec: str, key: str = "max_weight_error"):
    rows = [r for r in block["rows"] if r["spec"] == spec]
    return [r["d"] for r in rows], [r[key] for r in rows], rows


def _onset(ds, errs, limit):
    """The smallest d from which every error exceeds ``limit`` (None if the last one does not)."""
    start = None
    for d, e in zip(ds, errs):
        if e > limit:
            start = d if start is None else start
        else:
            start = None
    return start


def atlas_claims(data: dict, *, p: float = 0.8) -> list:
    """The computed verdicts of the figure (module notes)."""
    two, four = data["two_mode"], data["four_mode"]
    claims = []
    onsets, onsets4 = {}, {}
    for spec in UNSCALED:
        ds, e2, _ = _series(two, spec)
        _, e4, _ = _series(four, spec)
        onsets[spec], onsets4[spec] = _onset(ds, e2, LOSE), _onset(ds, e4, LOSE)
    claims.append(Claim(
        f"every practitioners' density whose grid ignores the 1/√d decision window loses the two-mode weights "
        f"(error > {LOSE}) from some d <= {data['d'][-1]:.0e} on, and the 4-mode weights too",
        all(onsets[s] is not None and onsets4[s] is not None for s in UNSCALED),
        "; ".join(f"{s}: from d = {onsets[s]:.0e} (two modes), {onsets4[s]:.0e} (four)"
                  if onsets[s] is not None and onsets4[s] is not None else f"{s}: kept up to {data['d'][-1]:.0e}"
                  for s in UNSCALED)))
    ds, dil, _ = _series(two, "dilation:2")
    claims.append(Claim(f"the paper's dilation keeps the two-mode weights within {KEEP_TWO_MODE} at every d "
                        f"(T = {data['T']})", combine(within(e, KEEP_TWO_MODE, 0.0, f"error at d = {d:.0e}")
                                                      for d, e in zip(ds, dil)),
                        ", ".join(f"d={d:.0e}: {e:.4f}" for d, e in zip(ds, dil))))
    ds4, dil4, rows4 = _series(four, "dilation:2")
    se = max(rows4[-1]["p_hat_se"])
    claims.append(Claim(f"the paper's dilation (one window [0, κ/√d]) loses the 4-mode hierarchy's fine splits at large "
                        f"d: error > {LOSE} at d = {ds4[-1]:.0e}",
                        exceeds(dil4[-1], LOSE, claim_noise("claim_multimode_noise", se), "the error"),
                        ", ".join(f"d={d:.0e}: {e:.4f}" for d, e in zip(ds4, dil4)),
                        size=f"randomised QMC, {four['problem']['qmc_reps']} repetitions"))
    pa, raw = "phase-aware:logit-normal:0,1@auto,0.5", "phase-aware:logit-normal:0,1@detected,0.5"
    tol4 = tolerance("multimode_designed_p_hat").abs_floor
    for block, name, keep in ((two, "two-mode", KEEP_TWO_MODE), (four, "4-mode", tol4)):
        ds, e, rows = _series(block, pa)
        claims.append(Claim(f"phase_aware(logit-normal(0, 1), decision windows from pure noise, mass 0.5) keeps the "
                            f"{name} weights within {keep} at every d (logit-normal alone loses them)",
                            combine([within(x, keep, claim_noise("claim_multimode_noise", max(r.get("p_hat_se") or [0.0])),
                                            f"error at d = {dd:.0e}") for dd, x, r in zip(ds, e, rows)]
                                    + [exceeds(_series(block, "logit-normal:0,1")[1][-1], LOSE, 0.0,
                                               "logit-normal's error at the largest d")]),
                            ", ".join(f"d={d:.0e}: {x:.4f}" for d, x in zip(ds, e)),
                            size="randomised QMC" if name == "4-mode" else ""))
    ds, e_raw, _ = _series(two, raw)
    _, e_pa, _ = _series(two, pa)
    claims.append(Claim("the window must start at pure noise: with the windows exactly as detected (the 10 %-slope "
                        "start, τ ≈ 0.42/√d) phase_aware keeps a larger two-mode error at every d (its first Euler "
                        "step jumps over [0, start])",
                        combine(exceeds(a - b, 0.0, 0.0, f"the excess at d = {d:.0e}")
                                for d, a, b in zip(ds, e_raw, e_pa)),
                        ", ".join(f"d={d:.0e}: {a:.4f} vs {b:.4f}" for d, a, b in zip(ds, e_raw, e_pa))))
    ds4, des4, rows4 = _series(four, "designed:0.6")
    claims.append(Claim(f"the designed multi-window schedule keeps the 4-mode weights within {tol4} at every d",
                        combine(within(e, tol4, claim_noise("claim_multimode_noise", max(r["p_hat_se"])),
                                       f"error at d = {d:.0e}") for d, e, r in zip(ds4, des4, rows4)),
                        ", ".join(f"d={d:.0e}: {e:.4f}" for d, e in zip(ds4, des4)),
                        size=f"randomised QMC, {four['problem']['qmc_reps']} repetitions"))
    if abs(p - 0.8) < 1e-12 and two["problem"]["sigma"] == 1.0 and data["T"] == 80:
        parts, detail = [], []
        for spec, d, quoted, digits in REFERENCE:
            rows = [r for r in two["rows"] if r["spec"] == spec and r["d"] == d]
            if not rows:
                continue
            got = rows[0]["p_hat"]
            parts.append(within(abs(got - quoted), 0.5 * 10 ** -digits, 0.0, f"|p̂ − {quoted}|"))
            detail.append(f"{spec}, d = {d:.0e}: p̂ = {got:.4f} (quoted {quoted})")
        if parts:
            claims.append(Claim("the reference numbers: uniform p̂ = 0.82 at d = 1e3 and 0.88 at 1e4, logit-normal(0, 1) "
                                "0.99 at 1e3, the dilation 0.805 at 1e8 (to the quoted digits)", combine(parts),
                                "; ".join(detail)))
    ds, mt, _ = _series(two, "uniform", "min_T")
    pts = [(d, t) for d, t in zip(ds, mt) if t is not None]
    if len(pts) >= 3:
        slope = float(np.polyfit(np.log([d for d, _ in pts]), np.log([t for _, t in pts]), 1)[0])
        claims.append(Claim(f"the uniform grid needs T ∝ √d to keep the two-mode error <= {KEEP_TWO_MODE} "
                            "(log-log slope of the smallest T within 0.05 of 1/2)",
                            within(abs(slope - 0.5), 0.05, 0.0, "|slope − 1/2|"),
                            f"slope {slope:.3f}; " + ", ".join(f"d={d:.0e}: T={t}" for d, t in pts)))
    return claims


@figure_builder(DEFAULT_PROBLEM, ("p", "sigma"))
def schedule_atlas_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None) -> FigureOutput:
    """The ``schedule-atlas`` figure (module notes); ``problem`` sets the two-mode (p, sigma); d is swept, n = inf."""
    prob = figure_problem("schedule-atlas", problem, DEFAULT_PROBLEM, ("p", "sigma"))
    figure_size("schedule-atlas", "d", d, None, "1e2-1e8", swept=True)
    if n is not None:
        raise ValueError("figure 'schedule-atlas' is the n = inf atlas (the Bayes field); use 'flowphase schedule "
                         "evaluate --n N' for a finite n")
    data = atlas_data(quick, p=prob.p, sigma=prob.sigma, progress=not quick)
    claims = atlas_claims(data, p=prob.p)
    plt_ = plt()
    fig, axes = plt_.subplots(1, 3, figsize=(17, 4.8))
    markers = "os^v<>DPX*"
    for i, spec in enumerate(DENSITIES):
        kw = dict(marker=markers[i % len(markers)], label=_label(spec), color=f"C{i}", ms=4)
        ds, e, _ = _series(data["two_mode"], spec)
        axes[0].loglog(ds, np.maximum(e, 1e-5), **kw)
        ds, e, _ = _series(data["four_mode"], spec)
        axes[1].loglog(ds, np.maximum(e, 1e-5), **kw)
        ds, mt, _ = _series(data["two_mode"], spec, "min_T")
        found = [(x, t) for x, t in zip(ds, mt) if t is not None]
        if found:
            axes[2].loglog(*zip(*found), **kw)
    for ax, title in ((axes[0], f"(a) two modes, p = {prob.p:g}, σ = {prob.sigma:g}"),
                      (axes[1], "(b) 4-mode hierarchy")):
        ax.axhline(LOSE, color="k", lw=0.7, ls="--", label=f"lost: > {LOSE}")
        ax.axhline(KEEP_TWO_MODE, color="k", lw=0.7, ls=":", label=f"kept: <= {KEEP_TWO_MODE}")
        ax.set_xlabel("d")
        ax.set_ylabel(f"max_k |p̂_k − p_k|  (Euler, T = {T}, n = ∞)")
        ax.set_title(title)
    dd = np.array(data["d"])
    axes[2].loglog(dd, 5.5 * np.sqrt(dd), color="k", lw=0.6, ls="--", label="5.5 √d")
    axes[2].set_xlabel("d")
    axes[2].set_ylabel(f"smallest T with error <= {KEEP_TWO_MODE} (two modes, <= {T_MAX_SEARCH})")
    axes[2].set_title("(c) grid size needed")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].legend(handles[-2:], labels[-2:], fontsize=7, loc="lower right")
    fig.legend(handles[:-2], labels[:-2], fontsize=7, loc="lower center", ncol=5)
    fig.subplots_adjust(bottom=0.27, wspace=0.3)
    axes[2].legend(fontsize=7, loc="upper left", handles=axes[2].get_legend_handles_labels()[0][-1:])
    rows = []
    for block, name in ((data["two_mode"], "two modes"), (data["four_mode"], "4 modes")):
        for r in block["rows"]:
            rows.append({"quantity": f"max_k |p̂_k − p_k|, {r['spec']}, {name}, d = {r['d']:.0e}", "theory": 0.0,
                         "simulation": r["max_weight_error"], "stderr": max(r.get("p_hat_se") or [0.0])})
    caption = ("Generated mode weights of Euler through the Bayes field on each density's grid τ_k = F⁻¹(k/T), "
               f"T = {T}: (a) two modes, (b) the 4-mode hierarchy (randomised QMC in the projection space), (c) the "
               "smallest T that keeps the two-mode error <= 0.01. Densities that do not follow the decision window "
               "τ ~ 1/√d lose the weights as d grows; moving half of the grid into the detected windows "
               "(phase-aware) keeps them.")
    return finish(fig, out_dir, "schedule-atlas", data, claims=claims, rows=rows, caption=caption, problem=prob)
