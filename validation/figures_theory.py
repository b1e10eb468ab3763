"""Theory figures of ``flowphase reproduce`` (PAPER §5, PREDECESSOR §5).

Each ``*_figure(out_dir, quick)`` computes its curves with the library (no figure-only maths),
writes PNG/PDF/JSON through :func:`flowphase.validation.reproduce.save_figure` and returns a
:class:`~flowphase.validation.reproduce.FigureOutput` whose claims are computed from the plotted
numbers.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from flowphase.theory.problem import Problem

from .reproduce import Claim, FigureOutput, save_figure

#: simulator backend: the numba kernels, or their NumPy reference when numba's JIT is disabled (debugging)
SIM_BACKEND = "numpy" if numba.config.DISABLE_JIT else "numba"

__all__ = ["simplification_data", "simplification_figure", "cui_flow_data", "cui_flow_figure", "cui_mse_data", "cui_mse_figure",
           "speciation_data", "speciation_figure"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _spread(values) -> float:
    v = np.asarray(values, dtype=float)
    return float(np.nanmax(v) - np.nanmin(v))


# ----------------------------------------------------------------------------- simplification
def simplification_data(quick: bool = False, n: float = 128, lam: float = 2.0, kappa: float = 2.0) -> dict:
    """Phase-1 (omega, b, m) vs sigma and phase-2 (c, m) vs p, at finite n and n = inf (PAPER §3.6).

    The claims: at n = inf phase 1 does not depend on sigma (PAPER §3.1, §8 row 21); at finite n
    sigma enters only through (n + sigma^2), an O(1/n) effect; phase 2 never depends on p
    (PAPER §3.3, §8 row 20).
    """
    from flowphase.numerics.learned import learned_curve

    sigmas = np.linspace(0.3, 2.0, 6 if quick else 18)
    ps = np.linspace(0.55, 0.95, 5 if quick else 17)
    t1 = [0.25, 0.5, 1.0]
    t2 = [1.25, 1.5, 1.75]
    data = {"params": {"n": n, "lam_u": lam, "lam_w": lam, "kappa": kappa, "p_phase1": 0.8, "sigma_phase2": 1.0,
                       "t_phase1": t1, "t_phase2": t2},
            "sigma": sigmas.tolist(), "p": ps.tolist(), "phase1": {}, "phase2": {}}
    for label, nn in (("finite_n", n), ("infinite_n", math.inf)):
        rows = {k: [] for k in ("omega", "b", "m")}
        for s in sigmas:
            cur = learned_curve(Problem.dilated(p=0.8, sigma=float(s), kappa=kappa, n=nn, lam_u=lam, lam_w=lam), t1)
            for k in rows:
                rows[k].append(getattr(cur, k).tolist())
        data["phase1"][label] = rows  # [sigma][t]
        rows2 = {k: [] for k in ("c", "m")}
        for pp in ps:
            cur = learned_curve(Problem.dilated(p=float(pp), sigma=1.0, kappa=kappa, n=nn, lam_u=lam, lam_w=lam), t2)
            for k in rows2:
                rows2[k].append(getattr(cur, k).tolist())
        data["phase2"][label] = rows2  # [p][t]
    return data


def simplification_figure(out_dir, quick: bool = False) -> FigureOutput:
    plt = _plt()
    data = simplification_data(quick)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    sig = np.array(data["sigma"])
    colors = {"omega": "tab:green", "b": "tab:red", "m": "tab:orange", "c": "tab:blue"}
    for j, t in enumerate(data["params"]["t_phase1"]):
        for k in ("omega", "b", "m"):
            fin = np.array(data["phase1"]["finite_n"][k])[:, j]
            inf = np.array(data["phase1"]["infinite_n"][k])[:, j]
            axes[0].plot(sig, fin, "-o", color=colors[k], ms=3, alpha=0.4 + 0.2 * j,
                         label=f"{k} (n={data['params']['n']})" if j == 0 else None)
            axes[0].plot(sig, inf, "--", color=colors[k], alpha=0.4 + 0.2 * j, label=f"{k} (n=∞)" if j == 0 else None)
    axes[0].set_xlabel("σ")
    axes[0].set_title("phase 1 (t = 0.25, 0.5, 1): learned ω, b, m vs σ")
    axes[0].legend(fontsize=7, ncol=2)
    ps = np.array(data["p"])
    for j, t in enumerate(data["params"]["t_phase2"]):
        for k in ("c", "m"):
            fin = np.array(data["phase2"]["finite_n"][k])[:, j]
            inf = np.array(data["phase2"]["infinite_n"][k])[:, j]
            axes[1].plot(ps, fin, "-o", color=colors[k], ms=3, alpha=0.4 + 0.2 * j,
                         label=f"{k} (n={data['params']['n']})" if j == 0 else None)
            axes[1].plot(ps, inf, "--", color=colors[k], alpha=0.4 + 0.2 * j, label=f"{k} (n=∞)" if j == 0 else None)
    axes[1].set_xlabel("p")
    axes[1].set_title("phase 2 (t = 1.25, 1.5, 1.75): learned c, m vs p")
    axes[1].legend(fontsize=7, ncol=2)
    fig.suptitle("Simplification: each phase ignores the other phase's parameter (flat lines)")
    paths = save_figure(fig, out_dir, "simplification", data)

    inf1 = max(_spread(np.array(data["phase1"]["infinite_n"][k])[:, j]) for k in ("omega", "b", "m")
               for j in range(len(data["params"]["t_phase1"])))
    fin1 = max(_spread(np.array(data["phase1"]["finite_n"][k])[:, j]) for k in ("omega", "b", "m")
               for j in range(len(data["params"]["t_phase1"])))
    sp2 = max(_spread(np.array(data["phase2"][lab][k])[:, j]) for lab in ("finite_n", "infinite_n")
              for k in ("c", "m") for j in range(len(data["params"]["t_phase2"])))
    n = data["params"]["n"]
    claims = [
        Claim("phase 1 does not see σ² (n = ∞)", inf1 < 1e-6,
              f"max spread of ω, b, m over σ ∈ [0.3, 2]: {inf1:.2e}"),
        Claim("phase 1 sees σ² only at O(1/n) (finite n)", fin1 < 10.0 / n,
              f"max spread over σ at n = {n}: {fin1:.3e} (10/n = {10.0 / n:.3e})"),
        Claim("phase 2 does not see p (any n)", sp2 < 1e-12,
              f"max spread of c, m over p ∈ [0.55, 0.95]: {sp2:.2e}"),
    ]
    return FigureOutput("simplification", paths, data, claims=claims,
                        caption="Solid: finite-n theory (n = 128, λ = 2); dashed: n = ∞.")


# ----------------------------------------------------------------------------- Cui et al.
def cui_flow_data(quick: bool = False, n: float = 8, sigma: float = 1.5, lam: float = 0.1) -> dict:
    """Cui et al.'s Figure 1 (left panel): M, Q^xi, Q, theta along t (PREDECESSOR §2.2, §5).

    Three integrations of the same summary-statistics ODE: adaptive RK (Dormand–Prince), the
    closed form, and the authors' notebook Euler scheme (100 points, stops at t = 0.99).
    """
    from flowphase.numerics.cui import cui_flow, cui_flow_extremes

    t = np.linspace(0.0, 1.0, 101 if quick else 401)
    rk = cui_flow(t, n, sigma, lam)
    t_e = np.linspace(0.0, 0.99, 100)
    eu = cui_flow(t_e, n, sigma, lam, method="euler", evaluate="right")
    keys = ("M", "Q_xi", "Q_eta", "P", "Q", "theta")
    return {"params": {"n": n, "sigma": sigma, "lam": lam, "interpolant": "linear (Cui: alpha = t data)"},
            "t": t.tolist(), "ode": {k: rk.stats[k].tolist() for k in keys},
            "closed_form": {k: np.asarray(rk.closed[k]).tolist() for k in keys},
            "t_euler": t_e.tolist(), "euler": {k: eu.stats[k].tolist() for k in keys},
            "extremes": cui_flow_extremes(n, sigma, lam)}


def cui_flow_figure(out_dir, quick: bool = False) -> FigureOutput:
    plt = _plt()
    data = cui_flow_data(quick)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    t = np.array(data["t"])
    for k, col, lab in (("M", "tab:red", "M_t"), ("Q_xi", "tab:blue", "Q^ξ_t"), ("Q", "grey", "Q_t"),
                        ("theta", "tab:pink", "∠(X_t, μ)")):
        ax.plot(t, data["ode"][k], "-", color=col, lw=3, alpha=0.35, label=f"{lab} (RK)")
        ax.plot(t, data["closed_form"][k], "--", color=col, lw=1.2, label=f"{lab} (closed form)")
        ax.plot(data["t_euler"], data["euler"][k], ":", color="k", lw=0.8)
    ax.set_ylim(-0.2, 2.5)
    ax.set_xlabel("t (0 noise, 1 data)")
    P = data["params"]
    ax.set_title(f"Cui et al. Fig. 1: σ = {P['sigma']}, n = {P['n']}, λ = {P['lam']} (dotted: their Euler, 100 steps)",
                 fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    paths = save_figure(fig, out_dir, "cui-flow", data)
    ex = data["extremes"]
    gap = max(float(np.max(np.abs(np.array(data["ode"][k]) - np.array(data["closed_form"][k]))))
              for k in ("M", "Q_xi", "Q_eta", "P"))
    e_end = {k: data["euler"][k][-1] for k in ("M", "Q_xi", "Q_eta", "P")}
    rows = [{"quantity": "Q_min", "theory": 0.779, "simulation": ex["Q_min"], "stderr": None},
            {"quantity": "t at Q_min", "theory": 0.220, "simulation": ex["t_Q_min"], "stderr": None},
            {"quantity": "Q(1)", "theory": 3.7900, "simulation": data["closed_form"]["Q"][-1], "stderr": None},
            {"quantity": "Euler-100 M(0.99)", "theory": 0.97284, "simulation": e_end["M"], "stderr": None},
            {"quantity": "Euler-100 P(0.99)", "theory": 2.24843, "simulation": e_end["P"], "stderr": None}]
    claims = [
        Claim("the summary-statistics ODE has the closed-form solution (PREDECESSOR §2.2)", gap < 1e-6,
              f"max |RK − closed form| = {gap:.1e}"),
        Claim("Q_t dips to 0.779 at t ≈ 0.22 and ends at 3.79", abs(ex["Q_min"] - 0.779) < 1e-3
              and abs(ex["t_Q_min"] - 0.220) < 2e-3 and abs(data["closed_form"]["Q"][-1] - 3.79) < 1e-3,
              f"Q_min = {ex['Q_min']:.4f} at t = {ex['t_Q_min']:.4f}; Q(1) = {data['closed_form']['Q'][-1]:.4f}"),
        Claim("the authors' 100-step Euler stops at M = 0.97284, P = 2.24843",
              abs(e_end["M"] - 0.97284) < 5e-5 and abs(e_end["P"] - 2.24843) < 5e-5,
              f"M = {e_end['M']:.5f}, P = {e_end['P']:.5f}"),
    ]
    return FigureOutput("cui-flow", paths, data, rows=rows, claims=claims,
                        caption="The right panel of the original (2-D projections of samples) is qualitative and "
                                "not reproduced (PREDECESSOR §5).")


def cui_mse_data(quick: bool = False, sigma: float = 1.5, lam: float = 0.1) -> dict:
    """End-of-flow MSE |mu_hat - mu|^2/d and cos(mu_hat, mu) vs n with the Bayes-optimal baseline
    (PREDECESSOR §2.3–2.4), and the same measured on samples generated by Cui's tied sign model
    trained at finite d (fixed noise, informed initialisation, PREDECESSOR §2.6)."""
    from flowphase.numerics.cui import cui_end_of_flow, cui_flow
    from flowphase.validation.sampling import generate
    from flowphase.validation.simulate import simulate

    n_th = np.unique(np.round(np.geomspace(2, 1024, 30)).astype(int))
    ends = [cui_end_of_flow(float(n), sigma, lam) for n in n_th]
    data = {"params": {"sigma": sigma, "lam": lam}, "n_theory": n_th.tolist(),
            "mse": [e["mse"] for e in ends], "cos": [e["cos_mu"] for e in ends],
            "mse_bayes": [e["mse_bayes"] for e in ends], "cos_bayes": [e["cos_bayes"] for e in ends]}
    d = 2000 if quick else 5000
    n_sim = [4, 16] if quick else [2, 4, 8, 16, 32]
    n_times = 25 if quick else 50
    epochs = 1500 if quick else 2000
    n_gen = 400 if quick else 1000
    data["params"].update({"sim_d": d, "sim_n_times": n_times, "sim_epochs": epochs, "n_gen": n_gen,
                           "model": "sign (tied)", "noise": "fixed", "init": "informed"})
    data["n_sim"], data["sim_mse"], data["sim_cos"], data["theory_at_sim"] = n_sim, [], [], []
    for n in n_sim:
        pr = Problem.undilated(p=0.5, sigma=sigma, n=n, lam_u=lam, lam_w=lam, noise="fixed")
        ts = pr.schedule.grid(n_times)
        sim = simulate(pr, d=d, ts=ts, seeds=(0,), epochs=epochs, model="sign", init="informed", optimizer="adam",
                       lr=1e-2, lr_final=1e-4, draws=1, progress=False, backend=SIM_BACKEND)
        g = generate(sim, n_gen=n_gen, seed=5, method="euler", keep_samples=True, backend=SIM_BACKEND)
        X = g.samples
        s = np.where(X.sum(axis=1) >= 0, 1.0, -1.0)
        mu_hat = (s[:, None] * X).mean(axis=0)
        data["sim_mse"].append(float(np.mean((mu_hat - 1.0) ** 2)))
        data["sim_cos"].append(float(mu_hat.sum() / (np.linalg.norm(mu_hat) * math.sqrt(d))))
        end = cui_end_of_flow(float(n), sigma, lam)
        # the same Euler grid as the sampler (network at t_k drives step k, stops at the last grid point)
        eu = cui_flow(ts, float(n), sigma, lam, method="euler", evaluate="left")
        st = {k: float(eu.stats[k][-1]) for k in ("M", "Q_xi", "Q_eta", "P")}
        mse_eu = (st["M"] - 1.0) ** 2 + n * st["Q_xi"] ** 2 + n * sigma ** 2 * st["Q_eta"] ** 2
        # the sample mean of n_gen generated points carries an extra ~ P / n_gen (PREDECESSOR §8)
        data["theory_at_sim"].append({"mse": end["mse"], "mse_euler_grid": mse_eu,
                                      "mse_plus_sampling": mse_eu + st["P"] / n_gen, "cos": end["cos_mu"]})
    return data


def cui_mse_figure(out_dir, quick: bool = False) -> FigureOutput:
    plt = _plt()
    data = cui_mse_data(quick)
    n = np.array(data["n_theory"], float)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    axes[0].loglog(n, data["mse"], "-", color="tab:blue", label="flow model (theory)")
    axes[0].loglog(n, data["mse_bayes"], "--", color="k", label="Bayes optimal σ²/(n+σ²)")
    ns = np.array(data["n_sim"], float)
    axes[0].loglog(ns, data["sim_mse"], "o", color="tab:red", label=f"trained, d = {data['params']['sim_d']}")
    axes[0].loglog(ns, [t["mse_plus_sampling"] for t in data["theory_at_sim"]], "x", color="tab:red",
                   label="theory on the same Euler grid + P/N_gen")
    axes[0].set_xlabel("n")
    axes[0].set_ylabel("|μ̂ − μ|²/d")
    axes[0].legend(fontsize=8)
    axes[1].semilogx(n, data["cos"], "-", color="tab:blue", label="flow model (theory)")
    axes[1].semilogx(n, data["cos_bayes"], "--", color="k", label="Bayes optimal")
    axes[1].semilogx(ns, data["sim_cos"], "o", color="tab:red", label="trained")
    axes[1].set_xlabel("n")
    axes[1].set_ylabel("cos ∠(μ̂, μ)")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Cui et al.: end-of-flow error vs n (σ = {data['params']['sigma']}, λ = {data['params']['lam']})")
    paths = save_figure(fig, out_dir, "cui-mse", data)
    mse = np.array(data["mse"])
    ratio = mse[-1] / data["mse_bayes"][-1]
    big = n >= 32
    slope = float(np.polyfit(np.log(n[big]), np.log(mse[big]), 1)[0])
    th = np.array([t["mse_plus_sampling"] for t in data["theory_at_sim"]])
    rel = np.abs(np.array(data["sim_mse"]) - th) / th
    rows = [{"quantity": f"MSE n={int(k)}", "theory": t_, "simulation": s_, "stderr": None}
            for k, t_, s_ in zip(ns, th, data["sim_mse"])]
    claims = [
        Claim("the flow model's MSE decays as Θ(1/n)", abs(slope + 1) < 0.05, f"log–log slope {slope:.3f}"),
        Claim("MSE / MSE_Bayes → 2", bool(abs(ratio - 2) < 0.05), f"ratio at n = {int(n[-1])}: {ratio:.3f}"),
        Claim("trained tied sign model matches the theory MSE within 15%", bool(np.all(rel < 0.15)),
              "relative gaps: " + ", ".join(f"n={int(k)}: {r:.3f}" for k, r in zip(ns, rel))),
    ]
    return FigureOutput("cui-mse", paths, data, rows=rows, claims=claims)


# ----------------------------------------------------------------------------- speciation
def speciation_data(quick: bool = False, sigma: float = 1.0) -> dict:
    """Cloning probability phi vs t/t_S for d in {256, 1024, 4096, 16384} (PREDECESSOR §4)."""
    from flowphase.numerics.speciation import cloning_probability, speciation_time, speciation_time_linear

    ds = [256, 1024, 4096, 16384]
    x = np.linspace(0.2, 1.8, 41 if quick else 161)
    data = {"params": {"sigma": sigma, "m_tilde": 1.0}, "d": ds, "t_over_ts": x.tolist(), "phi": {},
            "t_s": {}, "t_s_linear": {}}
    for d in ds:
        ts = speciation_time(d, sigma=sigma)
        data["t_s"][str(d)] = ts
        data["t_s_linear"][str(d)] = speciation_time_linear(d, sigma=sigma)
        data["phi"][str(d)] = np.asarray(cloning_probability(x * ts, d, sigma=sigma)).tolist()
    return data


def speciation_figure(out_dir, quick: bool = False) -> FigureOutput:
    plt = _plt()
    data = speciation_data(quick)
    x = np.array(data["t_over_ts"])
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for d in data["d"]:
        ax.plot(x, data["phi"][str(d)], label=f"d = {d} (t_S = {data['t_s'][str(d)]:.2f})")
    ax.axvline(1.0, color="grey", lw=0.6)
    ax.set_xlabel("t / t_S")
    ax.set_ylabel("cloning probability φ")
    ax.set_title("Speciation: φ sharpens to a step at t_S = ½ ln(d + σ²)")
    ax.legend(fontsize=8)
    paths = save_figure(fig, out_dir, "speciation", data)
    # sharpness: the drop of phi across [0.8, 1.2] t_S grows with d
    lo, hi = np.argmin(np.abs(x - 0.8)), np.argmin(np.abs(x - 1.2))
    drops = [data["phi"][str(d)][lo] - data["phi"][str(d)][hi] for d in data["d"]]
    rows = [{"quantity": f"t_S (d={d})", "theory": 0.5 * math.log(d + 1.0), "simulation": data["t_s"][str(d)],
             "stderr": None} for d in data["d"]]
    claims = [Claim("φ(t) sharpens into a step at t_S as d grows", bool(np.all(np.diff(drops) > 0)),
                    "drop of φ over t/t_S ∈ [0.8, 1.2]: " + ", ".join(f"d={d}: {v:.3f}" for d, v in zip(data["d"], drops))),
              Claim("speciation on the linear interpolant at t_s ≈ 1/√d (√d·t_s → 1)", bool(np.all(np.diff(
                  [abs(data["t_s_linear"][str(d)] * math.sqrt(d) - 1) for d in data["d"]]) < 0)) and abs(
                  data["t_s_linear"][str(data["d"][-1])] * math.sqrt(data["d"][-1]) - 1) < 0.01,
                  ", ".join(f"d={d}: √d·t_s = {data['t_s_linear'][str(d)] * math.sqrt(d):.4f}" for d in data["d"]))]
    return FigureOutput("speciation", paths, data, rows=rows, claims=claims)
