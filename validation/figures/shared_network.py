"""The ``shared-network`` figure: does the atlas's ranking of training densities survive a shared network?

Built by ``flowphase shared-network`` (not by ``reproduce all``: it needs the optional ``torch`` extra); the
experiment is :mod:`flowphase.validation.pytorch.shared_network`, the finding docs/shared_network.md.

Panels: (a) two-mode mixture, p_hat of the shared velocity MLP sampled with the fixed fine-grid solver vs d, one
series per arm, with the atlas's per-time number (exact Bayes field, Euler on the density's grid of T = 80) as
dashed lines; (b) the same networks sampled on their density's T = 80 grid (Euler) next to the Bayes field on that
grid -- training density and sampler grid told apart; (c) the 4-mode hierarchy: max_k |p_hat_k - p_k| per arm.

Every verdict is computed from the plotted numbers with the seed standard errors and the tolerance
``shared_network_p_hat`` of :mod:`flowphase.validation.tolerances`.
"""
from __future__ import annotations

import itertools

import numpy as np

from flowphase.validation.claims import Claim, FigureOutput, claims_record, combine, exceeds, within
from flowphase.validation.tolerances import tolerance

from ._common import plt, save_figure

__all__ = ["ARM_STYLE", "shared_network_claims", "shared_network_figure", "draw_shared_network"]

ARM_STYLE = {"uniform": ("tab:red", "s"), "logit-normal": ("tab:purple", "v"), "dilation": ("tab:blue", "o"),
             "phase-aware": ("tab:green", "D"), "online": ("tab:orange", "^")}
TOL = "shared_network_p_hat"


def _two_mode(data):
    """{arm: {d: row}} of the two-mode rows and the Bayes rows by d."""
    rows = {}
    for r in data["rows"]:
        if r["problem"] == "two-mode":
            rows.setdefault(r["arm"], {})[r["d"]] = r
    return rows, {b["d"]: b for b in data["bayes"]}


def _err(row, where="fine", p=0.8):
    s = row[where]["p_hat"]
    return abs(s["mean"] - p), s["se"]


def shared_network_claims(data) -> list:
    """The claims of the figure, decided from the seed means and standard errors."""
    tol = tolerance(TOL)
    floor, k, p = tol.abs_floor, tol.k, data["p"]
    rows, bayes = _two_mode(data)
    ds = sorted(bayes)
    size = f"{data['config']['steps']} steps, {len(data['config']['seeds'])} seeds, d = {ds}"
    claims = []

    def keeps(arm):
        if arm not in rows:
            return None
        decs = [within(*(lambda e, se: (e, floor, k * se))(*_err(rows[arm][d], p=p)), what=f"|p̂ − p| at d = {d}")
                for d in ds if d in rows[arm]]
        detail = ", ".join(f"d = {d}: {rows[arm][d]['fine']['p_hat']['mean']:.3f} ± "
                           f"{rows[arm][d]['fine']['p_hat']['se']:.3f}" for d in ds if d in rows[arm])
        return combine(decs), detail

    for arm, text in (("uniform", "a shared network trained with uniform times keeps p on a fine grid at every d"),
                      ("dilation", "a shared network trained with the dilation keeps p at every d"),
                      ("phase-aware", "phase_aware(logit-normal, theory window, 0.5) keeps p at every d"),
                      ("online", "the online phase-aware sampler keeps p at every d")):
        got = keeps(arm)
        if got:
            claims.append(Claim(text, got[0], "p̂ (fine grid) " + got[1], size=size))
    if "logit-normal" in rows:
        big = [d for d in ds if d >= 1024 and d in rows["logit-normal"]] or ds[-1:]
        decs = [exceeds(*(lambda e, se: (e, floor, k * se))(*_err(rows["logit-normal"][d], p=p)),
                        what=f"|p̂ − p| at d = {d}") for d in big]
        claims.append(Claim("a shared network trained with logit-normal(0, 1) times loses p (|p̂ − p| > "
                            f"{floor:g}) on the fine grid at d = {', '.join(str(d) for d in big)}", combine(decs),
                            "p̂ " + ", ".join(f"d = {d}: {rows['logit-normal'][d]['fine']['p_hat']['mean']:.3f} ± "
                                             f"{rows['logit-normal'][d]['fine']['p_hat']['se']:.3f}" for d in big),
                            size=size))
    # the atlas's ranking: every pair the atlas separates by more than the floor keeps its order on the network
    decs, details = [], []
    fixed = [a for a in ("uniform", "logit-normal", "dilation", "phase-aware") if a in rows]
    for d in ds:
        atl = {a: abs(bayes[d]["atlas"][a] - p) for a in fixed if a in bayes[d]["atlas"]}
        for a, b in itertools.permutations(atl, 2):
            if atl[b] > atl[a] + floor and d in rows[a] and d in rows[b]:
                ea, sa = _err(rows[a][d], p=p)
                eb, sb = _err(rows[b][d], p=p)
                decs.append(exceeds(eb - ea, 0.0, k * float(np.hypot(sa, sb)),
                                    f"|p̂ − p|({b}) − |p̂ − p|({a}) at d = {d}"))
                details.append(f"d = {d}: atlas {b} {atl[b]:.3f} > {a} {atl[a]:.3f}; network {eb:.3f} vs {ea:.3f}")
    if decs:
        claims.append(Claim("the atlas's ranking by |p̂ − p| (per-time training on the density's grid) carries over to "
                            "a shared network sampled on a fine grid", combine(decs), "; ".join(details), size=size))
    # the direction of every error the atlas resolves: sign(p̂ − p) of the network = the atlas's
    decs, details = [], []
    for d in ds:
        for a in fixed:
            ref = bayes[d]["atlas"].get(a)
            if ref is None or abs(ref - p) <= floor or d not in rows[a]:
                continue
            st = rows[a][d]["fine"]["p_hat"]
            sign = 1.0 if ref > p else -1.0
            decs.append(exceeds(sign * (st["mean"] - p), 0.0, k * st["se"], f"sign(p̂ − p) of {a} at d = {d}"))
            details.append(f"{a}, d = {d}: atlas {ref - p:+.3f}, network {st['mean'] - p:+.3f} ± {st['se']:.3f}")
    if decs:
        claims.append(Claim("the direction of every mode-weight error of the atlas (p̂ above or below p) carries over "
                            "to the shared network on the fine grid", combine(decs), "; ".join(details), size=size))
    # logit-normal: the same p_hat on the fine grid and on its own T = 80 grid -> the training density decides
    if "logit-normal" in rows:
        decs, det = [], []
        for d in ds:
            if d in rows["logit-normal"]:
                f_, g_ = rows["logit-normal"][d]["fine"]["p_hat"], rows["logit-normal"][d]["atlas_grid"]["p_hat"]
                decs.append(within(abs(f_["mean"] - g_["mean"]), floor, k * float(np.hypot(f_["se"], g_["se"])),
                                   f"|p̂(fine) − p̂(T = 80)| at d = {d}"))
                det.append(f"d = {d}: {f_['mean']:.3f} vs {g_['mean']:.3f}")
        decs2, det2 = [], []
        for d in ds:
            if d in rows["logit-normal"]:
                f_, g_ = rows["logit-normal"][d]["fine"]["p_hat"], rows["logit-normal"][d]["atlas_grid"]["p_hat"]
                effect = abs(f_["mean"] - p) - abs(f_["mean"] - g_["mean"])
                decs2.append(exceeds(effect, 0.0, k * float(np.hypot(f_["se"], g_["se"])) + k * f_["se"],
                                     f"|p̂ − p| − |p̂(fine) − p̂(T = 80)| at d = {d}"))
                det2.append(f"d = {d}: |p̂ − p| = {abs(f_['mean'] - p):.3f}, grid change {abs(f_['mean'] - g_['mean']):.3f}")
        claims.append(Claim("for the logit-normal network the training density, not the sampler grid, sets the error: "
                            "changing the grid (fine vs its own T = 80) moves p̂ less than the error |p̂ − p|",
                            combine(decs2), "; ".join(det2), size=size))
        claims.append(Claim("the logit-normal network generates the same p̂ on the fine grid and on its own T = "
                            f"{data['config']['atlas_T']} grid (its error is the training density's, not the grid's)",
                            combine(decs), "; ".join(det), size=size))
    # training density vs sampler grid: the uniform network on the uniform T = 80 grid reproduces the atlas
    if "uniform" in rows:
        decs, det = [], []
        for d in ds:
            if d not in rows["uniform"]:
                continue
            s = rows["uniform"][d]["atlas_grid"]["p_hat"]
            ref = bayes[d]["atlas"]["uniform"]
            decs.append(within(abs(s["mean"] - ref), floor, k * s["se"], f"|p̂ − atlas| at d = {d}"))
            det.append(f"d = {d}: network {s['mean']:.3f} ± {s['se']:.3f}, atlas {ref:.3f}")
        claims.append(Claim(f"sampled on the uniform T = {data['config']['atlas_T']} Euler grid, the uniform-trained "
                            "shared network reproduces the atlas's p̂ (the uniform loss is the sampler grid's)",
                            combine(decs), "; ".join(det), size=size))
    hier = {r["arm"]: r for r in data["rows"] if r["problem"] == "hierarchy"}
    if "logit-normal" in hier and "phase-aware" in hier:
        a, b = hier["phase-aware"]["fine"]["max_weight_error"], hier["logit-normal"]["fine"]["max_weight_error"]
        claims.append(Claim("4-mode hierarchy: phase_aware(logit-normal) has a smaller max_k |p̂_k − p_k| than "
                            "logit-normal", exceeds(b["mean"] - a["mean"], 0.0, k * float(np.hypot(a["se"], b["se"])),
                                                    "the error difference"),
                            f"{a['mean']:.3f} ± {a['se']:.3f} vs {b['mean']:.3f} ± {b['se']:.3f}", size=size))
    return claims


def draw_shared_network(data):
    """The three panels (module docstring)."""
    pyplot = plt()
    rows, bayes = _two_mode(data)
    ds = sorted(bayes)
    p = data["p"]
    hier = [r for r in data["rows"] if r["problem"] == "hierarchy"]
    fig, axes = pyplot.subplots(1, 3 if hier else 2, figsize=(15 if hier else 10.5, 4.2))
    for i, (arm, byd) in enumerate(rows.items()):
        col, mk = ARM_STYLE.get(arm, ("k", "o"))
        dd = np.array(sorted(byd), float)
        shift = 1.0 + 0.03 * (i - 2)
        for ax, where in ((axes[0], "fine"), (axes[1], "atlas_grid")):
            m = [byd[d][where]["p_hat"]["mean"] for d in sorted(byd)]
            e = [1.96 * byd[d][where]["p_hat"]["se"] for d in sorted(byd)]
            ax.errorbar(dd * shift, m, yerr=e, fmt=mk, color=col, label=f"{arm} (network)", capsize=2)
        if arm in bayes[ds[0]]["atlas"]:
            at = [bayes[d]["atlas"][arm] for d in ds]
            for ax in axes[:2]:
                ax.plot(ds, at, "--", color=col, lw=1, alpha=0.8, marker=mk, mfc="white",
                        label=f"{arm} (atlas: Bayes, T = 80)" if ax is axes[0] else None)
    axes[0].plot(ds, [b["fine_heun"] for b in (bayes[d] for d in ds)], ":", color="k", lw=1,
                 label="Bayes field, fine-grid solver")
    for ax, title in ((axes[0], f"(a) fine grid: {data['solver'].split(' (')[0]}"),
                      (axes[1], f"(b) each density's T = {data['config']['atlas_T']} grid, Euler")):
        ax.axhline(p, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xticks(ds)
        ax.set_xticklabels([str(d) for d in ds])
        ax.minorticks_off()
        ax.set_xlim(ds[0] / 1.5, ds[-1] * 1.5)
        ax.set_xlabel("d")
        ax.set_ylabel("generated weight p̂ of the p = 0.8 mode")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=6, loc="best")
    if hier:
        ax = axes[2]
        names = [r["arm"] for r in hier]
        x = np.arange(len(names))
        for j, (where, lab) in enumerate((("fine", "fine grid"), ("atlas_grid", "density's T = 80 grid"))):
            m = [r[where]["max_weight_error"]["mean"] for r in hier]
            e = [1.96 * r[where]["max_weight_error"]["se"] for r in hier]
            ax.bar(x + 0.38 * (j - 0.5), m, 0.38, yerr=e, label=lab, color=[ARM_STYLE[n][0] for n in names],
                   alpha=1.0 if j == 0 else 0.45, capsize=2)
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=20, fontsize=8)
        ax.set_ylabel("max_k |p̂_k − p_k|")
        ax.set_title(f"(c) 4-mode hierarchy, d = {hier[0]['d']} (solid: fine grid)", fontsize=9)
    fig.tight_layout()
    return fig


def shared_network_figure(out_dir, cfg, *, cache_dir=None, progress: bool = False) -> FigureOutput:
    """Run (or resume from ``cache_dir``) the experiment of ``cfg`` and write ``shared-network.{png,pdf,json}``."""
    import time

    from flowphase.validation.pytorch.shared_network import run_experiment

    t0 = time.perf_counter()
    data = run_experiment(cfg, out_dir=cache_dir if cache_dir is not None else out_dir, progress=progress)
    claims = shared_network_claims(data)
    data.update(claims_record(claims))
    data["seconds"] = time.perf_counter() - t0
    fig = draw_shared_network(data)
    paths = save_figure(fig, out_dir, "shared-network", data)
    rows = [{"quantity": f"p_hat {r['arm']} ({r['problem']}, d={r['d']}, fine grid)", "theory": data["p"],
             "simulation": r["fine"]["p_hat"]["mean"], "stderr": r["fine"]["p_hat"]["se"]} for r in data["rows"]]
    return FigureOutput("shared-network", paths, data, rows=rows, claims=claims, seconds=data["seconds"],
                        caption="Shared velocity MLP trained by conditional flow matching with five training-time "
                                "samplers at equal budget; p̂ on a fine grid (a), on each density's T = 80 grid (b), "
                                "4-mode hierarchy (c).")
