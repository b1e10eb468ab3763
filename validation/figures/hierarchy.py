"""The ``hierarchy`` figure of ``flowphase reproduce``: several decision windows and a designed schedule.

Panels: (a) the split uncertainties V_S(s) of the 4-mode hierarchy (the split-resolved mode part of the Bayes
MSE, :mod:`flowphase.numerics.multimode.mse`) with the detected windows and the decision times; (b)
``max_k |p_hat_k - p_k|`` of the exact flow (projection space, Euler on T grid points) vs d for the uniform
schedule, the paper's dilation and the designed schedule; (c) trained K-head softmax models
(:mod:`flowphase.validation.multimode_sim`): p_hat_k with the paper's and the designed schedule.

Every verdict is computed from the plotted numbers; tolerances come from :mod:`flowphase.validation.tolerances`.
"""
from __future__ import annotations

import time

import numpy as np

from flowphase.theory.mixtures import Hierarchy
from flowphase.validation.claims import Claim, FigureOutput, combine, exceeds, within
from flowphase.validation.metrics import fine_split_errors
from flowphase.validation.tolerances import allowed_deviation, claim_noise, tolerance

from ._common import SIM_BACKEND, figure_builder, figure_size, finish, plt

#: the 4-mode example: parents 0.6/0.4, children 0.8/0.2 and 0.6/0.4, sibling separations eps = 0.15 and 0.02
EXAMPLE = Hierarchy(coarse=(0.6, 0.4), fine=((0.8, 0.2), (0.6, 0.4)), eps=(0.15, 0.02))
SCHEDULES = ("uniform", "paper", "designed")

__all__ = ["EXAMPLE", "SCHEDULES", "schedules_at", "fine_split_errors", "exact_table", "trained_comparison",
           "hierarchy_data", "hierarchy_figure",
           "hierarchy_claims"]


def schedules_at(hierarchy: Hierarchy, d: float, kappa: float = 2.0, mass: float = 0.6, **kw):
    """The three schedules at dimension d and the window analysis behind the designed one."""
    from flowphase.numerics.multimode.windows import analyse_windows
    from flowphase.numerics.schedules import PiecewiseSchedule
    from flowphase.theory.problem import TimeDilation, UniformSchedule

    an = analyse_windows(hierarchy.mixture(d), d, **kw)
    return {"uniform": UniformSchedule(), "paper": PiecewiseSchedule.from_time_dilation(TimeDilation(kappa, d)),
            "designed": an.design(mass=mass)}, an


def exact_table(*, hierarchy: Hierarchy = EXAMPLE, ds=(1e2, 1e3, 1e4, 1e5, 1e6), n_times: int = 80, method="euler",
                m: int = 12, reps: int = 4, curve_m: int = 11, progress: bool = False) -> dict:
    """p_hat_k of the exact flow for the three schedules at every d (panel b)."""
    from flowphase.numerics.multimode.flow import projection_flow

    rows = []
    it = ds
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(ds, desc="hierarchy: exact flow vs d")
    for d in it:
        mix = hierarchy.mixture(d)
        sch, an = schedules_at(hierarchy, d, m=curve_m)
        row = {"d": float(d), "windows": an.windows, "decisions": an.decisions, "schedules": {}}
        for name in SCHEDULES:
            r = projection_flow(mix, sch[name], n_times=n_times, method=method, m=m, reps=reps)
            row["schedules"][name] = {"p_hat": r.p_hat.tolist(), "p_hat_se": r.p_hat_se.tolist(),
                                      "max_error": r.max_error, "split_errors": fine_split_errors(mix, r.p_hat),
                                      "tau_end": r.tau_end}
        row["designed_schedule"] = sch["designed"].to_dict()
        rows.append(row)
    return {"n_times": n_times, "method": method, "reps": reps, "rows": rows, "p": hierarchy.mixture(ds[0]).p.tolist(),
            "names": list(hierarchy.mixture(ds[0]).names)}


def trained_comparison(*, hierarchy: Hierarchy = EXAMPLE, ds=(1000, 4000), n: int = 256, n_times: int = 40,
                       seeds=(0, 1, 2), epochs: int = 60, lr: float = 3e-2, n_gen: int = 2000,
                       backend: str = SIM_BACKEND, progress: bool = False) -> dict:
    """Trained softmax models with the paper's and the designed schedule (panel c)."""
    from flowphase.numerics.multimode.flow import projection_flow
    from flowphase.validation.multimode_sim import generate_softmax, simulate_softmax

    out = {"n": n, "n_times": n_times, "seeds": list(seeds), "epochs": epochs, "lr": lr, "optimizer": "adam",
           "init": "informed", "labels": "exact", "draws": 1, "n_gen": n_gen, "rows": []}
    for d in ds:
        mix = hierarchy.mixture(d)
        sch, _ = schedules_at(hierarchy, d)
        row = {"d": int(d)}
        for name in ("paper", "designed"):
            t0 = time.perf_counter()
            sim = simulate_softmax(mix, sch[name], d=int(d), n=n, n_times=n_times, seeds=seeds, epochs=epochs,
                                   lr=lr, backend=backend, progress=progress)
            g = generate_softmax(sim, n_gen=n_gen)
            ex = projection_flow(mix, sch[name], n_times=n_times, m=11, reps=4)
            row[name] = {**g, "split_errors": fine_split_errors(mix, g["p_hat"]), "exact_flow_p_hat": ex.p_hat.tolist(),
                         "exact_flow_max_error": ex.max_error, "seconds": time.perf_counter() - t0}
        out["rows"].append(row)
    return out


def hierarchy_data(quick: bool = False, *, n=None) -> dict:
    """Window analysis at d = 1e4, the exact-flow table vs d, the continuous flow at d = 1e6 and trained models
    (``n`` training samples, default 64 quick, 256)."""
    from flowphase.numerics.multimode.flow import projection_flow
    from flowphase.numerics.multimode.windows import analyse_windows

    H = EXAMPLE
    ds = (1e2, 1e4, 1e6) if quick else (1e2, 1e3, 1e4, 1e5, 1e6)
    d_win = 1e4
    an = analyse_windows(H.mixture(d_win), d_win, m=10 if quick else 12)
    data = {"hierarchy": H.to_dict(), "d_windows": d_win, "analysis": an.to_dict(),
            "curves": {"snr": an.curves.snr.tolist(), "V": an.curves.V.tolist(), "V_se": an.curves.V_se.tolist()},
            "exact": exact_table(hierarchy=H, ds=ds, n_times=80, m=10 if quick else 12, curve_m=10 if quick else 11)}
    mix = H.mixture(1e6)
    sch, _ = schedules_at(H, 1e6, m=10 if quick else 11)
    cont = projection_flow(mix, sch["designed"], n_times=80, method="continuous", n_fine=256 if quick else 1024,
                           m=10 if quick else 12, reps=4)
    data["continuous_d1e6"] = cont.to_dict()
    if quick:
        data["trained"] = trained_comparison(hierarchy=H, ds=(200,), n=64 if n is None else n, n_times=16, seeds=(0, 1),
                                             epochs=30, n_gen=500)
    else:
        data["trained"] = trained_comparison(hierarchy=H, progress=True, **({} if n is None else {"n": n}))
    return data


def _split_noise(key: str, names, p, p_hat_se) -> float:
    """Standard error of a within-split conditional weight: about 2 max_k se(p_hat_k) / (weight of the split)."""
    members = [m for child in key.split(" | ") for m in child.split(",")]
    parent = sum(pk for nm, pk in zip(names, p) if nm in members)
    return 2.0 * max(p_hat_se) / parent


def hierarchy_claims(data) -> list:
    """The claims of the ``hierarchy`` figure, decided with the QMC / seed standard errors of its numbers."""
    an, ex, tr = data["analysis"], data["exact"], data["trained"]
    tol = tolerance("multimode_designed_p_hat").abs_floor
    dec = an["decisions"]
    in_window = []
    for x in dec:
        w = [w for w in an["windows"] if w["s_start"] <= x["s_half"] <= w["s_end"]]
        in_window.append(bool(w) and x["split"] in w[0]["splits"])
    des = [r["schedules"]["designed"]["max_error"] for r in ex["rows"]]
    des_dec = combine(within(r["schedules"]["designed"]["max_error"], tol,
                             claim_noise("claim_multimode_noise", max(r["schedules"]["designed"]["p_hat_se"])),
                             f"max_k |p̂_k − p_k| at d = {r['d']:.0e}") for r in ex["rows"])
    size = f"exact flow, {ex.get('reps', 4)} randomised QMC repetitions"
    claims = [
        Claim("the detector finds a window for every split and each decision time s½ lies inside its split's window",
              all(in_window) and len(dec) == 1 + sum(len(f) > 1 for f in data["hierarchy"]["fine"]),
              f"{len(an['windows'])} windows at d = {data['d_windows']:g}: "
              + "; ".join(f"[{w['start']:.4g}, {w['end']:.4g}] ({', '.join(w['splits'])})" for w in an["windows"])),
        Claim(f"the designed schedule keeps every generated weight within {tol} of p_k at every d (exact flow, T = 80)",
              des_dec, ", ".join(f"d={r['d']:.0e}: {e:.4f}" for r, e in zip(ex["rows"], des)), size=size),
    ]
    for name in SCHEDULES[:2]:
        fine, fine_se = [], []
        for r in ex["rows"]:
            sch = r["schedules"][name]
            key = max((k for k in sch["split_errors"] if "," not in k), key=lambda k: sch["split_errors"][k])
            fine.append(sch["split_errors"][key])
            fine_se.append(_split_noise(key, ex["names"], ex["p"], sch["p_hat_se"]))
        verdict = combine([exceeds(fine[-1], tol, claim_noise("claim_multimode_noise", fine_se[-1]),
                                   "the fine-split error at the largest d"),
                           exceeds(fine[-1] - fine[0], 0.0,
                                   claim_noise("claim_multimode_noise", np.hypot(fine_se[-1], fine_se[0])),
                                   "its growth from the smallest d")])
        claims.append(Claim(f"the {name} schedule fails on a fine split as d grows (fine-split error at the largest d "
                            f"> {tol} and larger than at the smallest d)", verdict,
                            ", ".join(f"d={r['d']:.0e}: {e:.4f} ± {se:.4f}"
                                      for r, e, se in zip(ex["rows"], fine, fine_se)),
                            size=size))
    cont = data["continuous_d1e6"]
    dev = max(abs(a - b) for a, b in zip(cont["p_hat"], cont["p"]))
    c_tol = tolerance("multimode_exact_flow")
    allowed = max(allowed_deviation("multimode_exact_flow", 0.0, se) for se in cont["p_hat_se"])
    claims.append(Claim("the continuous-time exact flow at d = 10^6 (projection space) generates p_k",
                        within(dev, c_tol.abs_floor, c_tol.k * max(cont["p_hat_se"]), "max |p̂ − p|"),
                        f"max |p̂ − p| = {dev:.2e} (allowed {allowed:.2e}; RK4 step-halving difference "
                        f"{cont['integration_error']:.1e})", size=size))
    t_tol = tolerance("multimode_trained_p_hat")
    for row in tr["rows"]:
        for name in ("paper", "designed"):
            parts = [within(abs(a - b), t_tol.abs_floor + t_tol.rel * abs(b), t_tol.k * se, "|p̂ − exact flow|")
                     for a, b, se in zip(row[name]["p_hat"], row[name]["exact_flow_p_hat"], row[name]["p_hat_se"])]
            claims.append(Claim(f"trained softmax model, {name} schedule, d = {row['d']}: p̂ within "
                                f"{t_tol.k:g} stderr + {t_tol.abs_floor} of the exact flow on the same grid",
                                combine(parts),
                                "p̂ = " + ", ".join(f"{v:.3f}±{e:.3f}" for v, e in zip(row[name]["p_hat"], row[name]["p_hat_se"]))
                                + f"; exact flow {', '.join(f'{v:.3f}' for v in row[name]['exact_flow_p_hat'])}",
                                size=f"{len(tr['seeds'])} seeds, n = {tr['n']}"))
    return claims


@figure_builder(None, (), sizes=("n",))
def hierarchy_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None) -> FigureOutput:
    """The ``hierarchy`` figure of the 4-mode :data:`EXAMPLE` (a K-mode mixture, so no two-mode ``problem``;
    d is swept; ``n`` sets the trained models' training-set size)."""
    if problem is not None:
        raise ValueError("figure 'hierarchy' describes the 4-mode example mixture; it takes no two-mode problem")
    figure_size("hierarchy", "d", d, None, "1e2-1e6", swept=True)
    n = None if n is None else figure_size("hierarchy", "n", n, None, 256)
    plt_ = plt()
    data = hierarchy_data(quick, n=n)
    an = data["analysis"]
    fig, axes = plt_.subplots(1, 3, figsize=(16, 4.4))
    ax = axes[0]
    s = np.array(data["curves"]["snr"])
    for i, dec in enumerate(an["decisions"]):
        ax.semilogx(s, data["curves"]["V"][i], label=f"split {dec['split']} (s½ = {dec['s_half']:.2f})")
        ax.axvline(dec["s_half"], color=f"C{i}", lw=0.6, ls=":")
    for w in an["windows"]:
        ax.axvspan(w["s_start"], w["s_end"], color="grey", alpha=0.15)
    ax.set_xlabel("signal-to-noise s = β√(d/D)  (τ ≈ s/√d)")
    ax.set_ylabel("split uncertainty V_S(s)")
    ax.set_title("(a) one decision window per split")
    ax.legend(fontsize=7)
    ax = axes[1]
    ex = data["exact"]
    dd = [r["d"] for r in ex["rows"]]
    for name, mk in zip(SCHEDULES, "osD"):
        ax.loglog(dd, [r["schedules"][name]["max_error"] for r in ex["rows"]], marker=mk, label=name)
    tol = tolerance("multimode_designed_p_hat").abs_floor
    ax.axhline(tol, color="k", lw=0.7, ls="--", label=f"tolerance {tol}")
    ax.set_xlabel("d")
    ax.set_ylabel("max_k |p̂_k − p_k| (exact flow, Euler, T = 80)")
    ax.set_title("(b) generated weights vs d")
    ax.legend(fontsize=8)
    ax = axes[2]
    tr = data["trained"]
    K = len(ex["p"])
    width = 0.8 / (1 + 2 * len(tr["rows"]))
    xk = np.arange(K)
    ax.bar(xk, ex["p"], width, color="k", alpha=0.5, label="p_k")
    j = 1
    for row in tr["rows"]:
        for name in ("paper", "designed"):
            ax.bar(xk + j * width, row[name]["p_hat"], width, yerr=row[name]["p_hat_se"],
                   label=f"{name}, d = {row['d']}")
            j += 1
    ax.set_xticks(xk + 0.4 - width / 2)
    ax.set_xticklabels(ex["names"])
    ax.set_ylabel("p̂_k (trained softmax model)")
    ax.set_title(f"(c) trained, n = {tr['n']}, T = {tr['n_times']}, {len(tr['seeds'])} seeds")
    ax.legend(fontsize=7)
    claims = hierarchy_claims(data)
    rows = []
    for r in ex["rows"]:
        for name in SCHEDULES:
            rows.append({"quantity": f"max_k |p̂_k − p_k|, {name}, d = {r['d']:.0e}", "theory": 0.0,
                         "simulation": r["schedules"][name]["max_error"], "stderr": max(r["schedules"][name]["p_hat_se"])})
    for row in tr["rows"]:
        for name in ("paper", "designed"):
            rows.append({"quantity": f"trained max_k |p̂_k − p_k|, {name}, d = {row['d']}",
                         "theory": row[name]["exact_flow_max_error"], "simulation": row[name]["max_error"],
                         "stderr": max(row[name]["p_hat_se"])})
    caption = ("4-mode hierarchy, weights " + ", ".join(f"{n}: {p:.2f}" for n, p in zip(ex["names"], ex["p"]))
               + f", sibling separations ε = {data['hierarchy']['eps']}. (a) split uncertainties and detected windows "
               f"(grey) at d = {data['d_windows']:g}; (b) exact flow in the projection space; (c) trained K-head softmax "
               "denoisers (Adam, fresh noise, informed start, exact class counts); p̂ is the mean posterior of the true "
               "mixture at the last grid time.")
    return finish(fig, out_dir, "hierarchy", data, claims=claims, rows=rows, caption=caption,
                  sizes={"n": data["trained"]["n"]})
