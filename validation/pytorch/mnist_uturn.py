"""The real-data experiment's driver: statistics over seeds, computed verdicts, the figure and its JSON.

``make_uturn_torch_figure(out_dir, dataset="mnist", size="full")`` runs
:func:`flowphase.validation.pytorch.diffusion_experiment.run_experiment` (resumable: checkpoints in
``out_dir/.checkpoints-uturn-DATASET-SIZE``) and writes ``uturn-DATASET.{png,pdf,json}`` atomically.

Statistics (all 95 %):

* per arm, over seeds: mean and Student-t interval of ``p0_hat`` (``p0_hat_ci``), of the error
  ``|p0_hat - 0.8|``, of the classifier confidence and of the Fréchet distance (classifier feature space);
* the paper's claim "re-allocating training times improves class accuracy more than 5×" (PAPER §6.3): the ratio
  ``R = mean error(uniform) / mean error(arm)`` over paired seeds with **Fieller's** interval (the exact
  confidence set of a ratio of two correlated normal means, Student-t quantile); confirmed when the whole
  interval lies above 5, refuted when it lies below 5, inconclusive otherwise (also when the denominator is not
  resolved from zero and the set is unbounded).  Decided for the authors' split (the paper's own sampler) and,
  as a second claim, for the U-Turn window;
* each arm against uniform: the paired difference ``error(uniform) - error(arm)`` (positive = the arm is
  better), confirmed / refuted / inconclusive by the sign of its t-interval; and its image quality: the paired
  difference of Fréchet distances, the arm "does not lose quality" when the interval's upper end stays below
  10 % of the uniform arm's distance (refuted when the lower end exceeds it).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np
from scipy import stats

from flowphase.validation.claims import CONFIRMED, INCONCLUSIVE, REFUTED, Claim

from .diffusion_experiment import ARMS, TARGET_P0, config_for, run_experiment

__all__ = ["CLAIM_RATIO", "QUALITY_MARGIN", "fieller_ratio", "summarise", "make_uturn_torch_figure"]

CLAIM_RATIO = 5.0
#: a re-allocated arm "does not lose quality" if its Fréchet distance exceeds uniform's by < 10 % (upper 95 % end)
QUALITY_MARGIN = 0.10


def _t(values):
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if v.size < 2 or not np.all(np.isfinite(v)):
        return m, [float("nan"), float("nan")]
    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, [m - half, m + half]


def fieller_ratio(num, den, level: float = 0.95) -> dict:
    """Ratio of paired means ``mean(num) / mean(den)`` with Fieller's confidence set.

    Solves ``(nbar - rho dbar)^2 <= t^2 (V_nn - 2 rho V_nd + rho^2 V_dd)`` (``V`` the covariance of the means,
    ``t`` the Student quantile with ``n - 1`` degrees of freedom).  Returns ``{"ratio", "ci", "bounded"}``; when
    the denominator is not resolved from zero (``dbar^2 <= t^2 V_dd``) the set is unbounded and ``ci`` is
    ``[-inf, inf]``.
    """
    a_, b_ = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    n = a_.size
    if n < 2 or b_.size != n:
        raise ValueError("fieller_ratio needs two paired samples of at least 2 values")
    nb, db = a_.mean(), b_.mean()
    cov = np.cov(np.vstack([a_, b_])) / n
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    qa = db * db - t * t * cov[1, 1]
    qb = -2.0 * (nb * db - t * t * cov[0, 1])
    qc = nb * nb - t * t * cov[0, 0]
    ratio = float(nb / db) if db != 0 else float("inf")
    disc = qb * qb - 4 * qa * qc
    if qa <= 0 or disc < 0:
        return {"ratio": ratio, "ci": [-math.inf, math.inf], "bounded": False}
    r = math.sqrt(disc)
    return {"ratio": ratio, "ci": [float((-qb - r) / (2 * qa)), float((-qb + r) / (2 * qa))], "bounded": True}


def _ratio_claim(arm, uni, rec, size):
    fr = fieller_ratio([r["error"] for r in uni], [r["error"] for r in rec])
    lo, hi = fr["ci"]
    if all(r.get("p0_hat", 1.0) == 0.0 for r in list(uni) + list(rec)):
        # no model of either arm generates a single zero: the errors are all 0.8 and say nothing about the claim
        verdict = (INCONCLUSIVE, "no model of either arm generates a zero at this size (p0_hat = 0 in every seed)")
    elif lo > CLAIM_RATIO:
        verdict = (CONFIRMED, "")
    elif hi < CLAIM_RATIO:
        verdict = (REFUTED, "")
    else:
        why = ("the arm's error is not resolved from zero, so the ratio's confidence set is unbounded"
               if not fr["bounded"] else f"the 95 % interval [{lo:.3g}, {hi:.3g}] of the ratio contains {CLAIM_RATIO:g}")
        verdict = (INCONCLUSIVE, why)
    c = Claim(text=f"re-allocated training ({arm}) reduces the class-proportion error |p0_hat - 0.8| more than "
                   f"{CLAIM_RATIO:g}x against uniform at equal budget (PAPER §6.3)",
              verdict=verdict, detail=f"ratio {fr['ratio']:.3g}, 95 % Fieller interval [{lo:.3g}, {hi:.3g}]",
              size=size)
    return c, fr


def summarise(raw: dict) -> dict:
    """Arms table and claims from :func:`run_experiment`'s raw result (module docstring)."""
    recs = raw["records"]
    seeds = raw["config"]["seeds"]
    size = f"{len(seeds)} seeds, {raw['config']['n_gen']} generated images per model"
    arms = {}
    for arm, rs in recs.items():
        row = {"seeds": [r["seed"] for r in rs]}
        for key in ("p0_hat", "error", "confidence", "frechet", "p1_hat", "p0_among_01"):
            m, ci = _t([r[key] for r in rs])
            row[key] = m
            row[key + "_ci"] = ci
        row["per_seed"] = [{k: r[k] for k in ("seed", "p0_hat", "error", "p1_hat", "confidence", "frechet")}
                           for r in rs]
        row["sampler"] = rs[0]["train"]["sampler"]
        row["train_seconds"] = float(np.mean([r["train"]["train_seconds"] for r in rs]))
        row["final_loss"] = float(np.mean([r["train"]["final_loss"] for r in rs]))
        if arm == "phase-aware":
            row["online_windows_tau"] = [r["train"]["sampler"].get("windows_tau") for r in rs]
        arms[arm] = row
    claims, ratios, vs_uniform = [], {}, {}
    uni = recs.get("uniform")
    for arm in [a for a in ARMS if a != "uniform" and a in recs]:
        rs = recs[arm]
        if arm in ("authors", "uturn"):
            c, fr = _ratio_claim(arm, uni, rs, size)
            claims.append(c)
            ratios[arm] = fr
        d, ci = _t([u["error"] - r["error"] for u, r in zip(uni, rs)])
        v = (CONFIRMED, "") if ci[0] > 0 else (REFUTED, "") if ci[1] < 0 else (
            INCONCLUSIVE, f"the 95 % interval [{ci[0]:.3g}, {ci[1]:.3g}] of the error difference contains 0")
        claims.append(Claim(text=f"{arm} has a smaller class-proportion error than uniform at equal budget", verdict=v,
                            detail=f"error(uniform) - error({arm}) = {d:.3g}, 95 % CI [{ci[0]:.3g}, {ci[1]:.3g}]",
                            size=size))
        fd, fci = _t([r["frechet"] - u["frechet"] for u, r in zip(uni, rs)])
        margin = QUALITY_MARGIN * arms["uniform"]["frechet"]
        q = (CONFIRMED, "") if fci[1] < margin else (REFUTED, "") if fci[0] > margin else (
            INCONCLUSIVE, f"the 95 % interval [{fci[0]:.3g}, {fci[1]:.3g}] of the Frechet-distance increase "
                          f"contains the margin {margin:.3g}")
        claims.append(Claim(text=f"{arm} does not lose image quality against uniform (Frechet distance in the "
                                 f"classifier's features at most {QUALITY_MARGIN:.0%} above uniform's)", verdict=q,
                            detail=f"FD({arm}) - FD(uniform) = {fd:.3g}, 95 % CI [{fci[0]:.3g}, {fci[1]:.3g}]",
                            size=size))
        vs_uniform[arm] = {"error_difference": d, "error_difference_ci": ci, "frechet_difference": fd,
                           "frechet_difference_ci": fci}
    return {"arms": arms, "ratios": ratios, "vs_uniform": vs_uniform, "claims": [c.to_dict() for c in claims]}


def _plot(res: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    ax = axes[0]
    c = res["curves"]
    s = np.asarray(c["s"])
    for start, col in ((0, "C0"), (1, "C1")):
        f = np.asarray(c[f"frac0_from{start}"])
        lo, hi = np.asarray(c[f"frac0_from{start}_lo"]), np.asarray(c[f"frac0_from{start}_hi"])
        ax.errorbar(s, f, yerr=[f - lo, hi - f], color=col, marker="o", ms=3, capsize=2,
                    label=f"start from real {start}s")
    w = res.get("window")
    if w:
        ax.axvspan(w["s_start"], w["s_end"], color="0.85", zorder=0,
                   label=f"window s∈[{w['s_start']:.2f},{w['s_end']:.2f}] (τ∈[{w['tau_start']:.2f},{w['tau_end']:.2f}])")
    ax.axhline(TARGET_P0, color="0.5", ls=":", label="training 0-fraction 0.8")
    ax.set_xlabel("U-Turn time s (0 data, 1 noise); flowphase τ = 1 - s")
    ax.set_ylabel("fraction classified 0 (95 % Wilson)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"U-Turn, {res['data']['name']} {res['image_shape'][1]}×{res['image_shape'][2]}, "
                 f"{c['steps_per_unit']} steps/unit")
    ax.legend(fontsize=7)
    names = [a for a in ARMS if a in res["arms"]]
    for ax, key, lab in ((axes[1], "error", "|p0_hat - 0.8|"), (axes[2], "frechet", "Fréchet distance (classifier)")):
        for j, arm in enumerate(names):
            row = res["arms"][arm]
            vals = [r[key] for r in row["per_seed"]]
            ax.plot(j + np.linspace(-0.12, 0.12, len(vals)), vals, "o", color=f"C{j}", alpha=0.5)
            m, (lo, hi) = row[key], row[key + "_ci"]
            ax.errorbar([j + 0.3], [m], yerr=[[m - lo], [hi - m]], fmt="s", color="k", capsize=4)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, fontsize=8)
        ax.set_ylabel(lab + " (per seed; mean, 95 % t-CI)")
    n_seeds = len(res["config"]["seeds"])
    axes[1].set_title(f"class-proportion error, equal budget, {n_seeds} seeds")
    axes[2].set_title("image quality (lower = closer to the training set)")
    fig.tight_layout()
    return fig


def make_uturn_torch_figure(out_dir, *, dataset: str = "mnist", size: str = "full", device: str = "cpu",
                            jobs: int = 1, cfg=None, log: Optional[Callable] = None,
                            progress: bool = False) -> Dict[str, str]:
    """Run (or resume) the experiment and write ``uturn-DATASET.{png,pdf,json}`` atomically; returns the paths."""
    from flowphase.validation.uturn import write_figure_files

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {str(out_dir)!r} is an existing file, not a folder")
    cfg = cfg or config_for(dataset, size)
    raw = run_experiment(cfg, out_dir / f".checkpoints-uturn-{dataset}-{size}", device=device, jobs=jobs, log=log,
                         progress=progress)
    res = dict(raw)
    res.update(summarise(raw))
    res["size"] = size
    res["time_convention"] = ("s in [0,1]: the authors' diffusion time (0 data, 1 noise, network input 1000 s); "
                              "flowphase tau = 1 - s (0 noise, 1 data)")
    res["sde"] = {"kind": "VP", "rate": "beta_min + (beta_max - beta_min) s", "beta_min": 0.1, "beta_max": 20.0,
                  "prediction": "epsilon", "loss_weight": 1.0}
    res["optimiser"] = {"kind": "AdamW", "lr": cfg.lr, "weight_decay": cfg.weight_decay, "warmup": cfg.warmup,
                        "schedule": "linear warm-up, cosine decay to 0"}
    res["target_p0"] = TARGET_P0
    return write_figure_files(out_dir, f"uturn-{dataset}", _plot(res), res, dpi=130)
