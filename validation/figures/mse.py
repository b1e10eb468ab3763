"""The ``mse`` figure: eps(t) with and without time dilation, Bayes MSE at finite d, trained denoisers (PAPER §4)."""
from __future__ import annotations

import numpy as np

from flowphase.theory.problem import Problem
from flowphase.validation.claims import Claim, FigureOutput, combine, within
from flowphase.validation.metrics import trained_test_mse
from flowphase.validation.tolerances import claim_limit, claim_noise

from ._common import SIM_BACKEND, figure_builder, figure_problem, figure_size, finish, plt

__all__ = ["DEFAULT_PROBLEM", "mse_data", "mse_figure"]

#: the figure's default problem; it takes p, σ, and κ, λ_u, λ_w of the trained denoisers from the user's
DEFAULT_PROBLEM = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, lam_u=2.0, lam_w=2.0)
FIELDS = ("p", "sigma", "kappa", "lam_u", "lam_w")


def mse_data(quick: bool = False, *, problem=None, d=None, n=None) -> dict:
    """eps(t) dilated (kappa = 1, 2, 3) vs undilated at d = inf, finite-d Bayes MSE, and the per-time test
    MSE of denoisers trained at finite d (PAPER §4).

    ``problem`` (default :data:`DEFAULT_PROBLEM`) gives p, σ and the κ, λ_u, λ_w of the trained denoisers;
    ``d``, ``n`` their size (default 300, 64 quick; 1000, 256).
    """
    from flowphase.numerics.mse import bayes_mse, mse_curve, mse_jumps
    from flowphase.validation.simulator import simulate

    base = figure_problem("mse", problem, DEFAULT_PROBLEM, FIELDS)
    p, sigma, kappa = base.p, base.sigma, base.kappa
    lam_u, lam_w = base.training.lam_u, base.training.lam_w
    kappas = (1.0, 2.0, 3.0)
    t_dil = np.linspace(0.0, 1.995, 400)
    tau_und = np.r_[0.0, np.geomspace(1e-4, 0.999, 300)]
    data = {"params": {"p": p, "sigma": sigma, "kappas": list(kappas)}, "t_dilated": t_dil.tolist(),
            "tau_undilated": tau_und.tolist(), "theory_dilated": {}, "jumps_dilated": {}}
    for k in kappas:
        pr = Problem.dilated(p=p, sigma=sigma, kappa=k)
        data["theory_dilated"][f"{k:g}"] = mse_curve(pr, t_dil).tolist()
        data["jumps_dilated"][f"{k:g}"] = [j.to_dict() for j in mse_jumps(pr)]
    und = Problem.undilated(p=p, sigma=sigma)
    data["theory_undilated"] = mse_curve(und, tau_und).tolist()
    data["jump_undilated"] = [j.to_dict() for j in mse_jumps(und)]
    ds = [100, 1000, 10000]
    data["bayes_undilated_finite_d"] = {str(d): bayes_mse(und, tau_und[:-1], d=d).tolist() for d in ds}
    # trained denoisers (kappa = 2, dilated grid, and the undilated grid), same lam in theory units
    d = figure_size("mse", "d", d, problem, 300 if quick else 1000)
    n = figure_size("mse", "n", n, problem, 64 if quick else 256)
    n_times = 10 if quick else 40
    epochs = 1500 if quick else 3000
    seeds = (0, 1) if quick else (0, 1, 2)
    data["params"].update({"sim_d": d, "sim_n": n, "sim_epochs": epochs, "sim_seeds": list(seeds), "lam": lam_u,
                           "lam_w": lam_w, "sim_kappa": kappa})
    for key, pr in (("dilated", Problem.dilated(p=p, sigma=sigma, kappa=kappa, d=d, n=n, lam_u=lam_u, lam_w=lam_w)),
                    ("undilated", Problem.undilated(p=p, sigma=sigma, d=d, n=n, lam_u=lam_u, lam_w=lam_w))):
        ts = pr.schedule.grid(n_times)
        sim = simulate(pr, ts=ts, seeds=seeds, epochs=epochs, optimizer="adam", lr=0.05,
                       lr_final=0.05 / 100, draws=0, init="small", progress=False,
                       backend=SIM_BACKEND)
        mean, se = trained_test_mse(sim)
        data[f"sim_{key}_t"] = ts.tolist()
        data[f"sim_{key}_mse"] = mean.tolist()
        data[f"sim_{key}_stderr"] = se.tolist()
        data[f"bayes_{key}_at_sim"] = bayes_mse(pr, np.atleast_1d(pr.tau(ts)), d=d).tolist()
    return data


@figure_builder(DEFAULT_PROBLEM, FIELDS, sizes=("d", "n"))
def mse_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None) -> FigureOutput:
    """The ``mse`` figure for ``problem`` (see :func:`mse_data`)."""
    plt_ = plt()
    data = mse_data(quick, problem=problem, d=d, n=n)
    fig, axes = plt_.subplots(1, 2, figsize=(11, 4.2))
    t = np.array(data["t_dilated"])
    for (k, curve), col in zip(data["theory_dilated"].items(), ("tab:purple", "tab:blue", "tab:cyan")):
        axes[0].plot(t, curve, color=col, label=f"theory, κ = {k}")
        for j in data["jumps_dilated"][k]:
            axes[0].annotate("", xy=(j["t"], j["after"]), xytext=(j["t"], j["before"]),
                             arrowprops=dict(arrowstyle="->", color=col))
    axes[0].errorbar(data["sim_dilated_t"], data["sim_dilated_mse"], yerr=data["sim_dilated_stderr"], fmt="o",
                     color="tab:blue", ms=4, label=f"trained, κ = {data['params']['sim_kappa']:g}, d = {data['params']['sim_d']}")
    axes[0].set_xlabel("dilated time t")
    axes[0].set_ylabel("MSE per dimension ε")
    axes[0].set_title("with time dilation: smooth phase 1, small jump at t = 1")
    axes[0].legend(fontsize=8)
    tau = np.array(data["tau_undilated"])
    axes[1].plot(tau, data["theory_undilated"], color="k", label="theory d = ∞ (jump 4p(1−p) at τ = 0⁺)")
    for (d, curve), col in zip(data["bayes_undilated_finite_d"].items(), ("tab:orange", "tab:red", "tab:brown")):
        axes[1].plot(tau[:-1], curve, color=col, ls="--", label=f"Bayes, d = {d}")
    axes[1].errorbar(np.maximum(data["sim_undilated_t"], 1e-4), data["sim_undilated_mse"],
                     yerr=data["sim_undilated_stderr"], fmt="s", color="tab:red", ms=4,
                     label=f"trained, d = {data['params']['sim_d']}")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("undilated time τ")
    axes[1].set_title("without dilation: the p-phase is a jump at τ ~ 1/√d")
    axes[1].legend(fontsize=7)

    jumps = [data["jumps_dilated"][k][0]["size"] for k in data["theory_dilated"]]
    j_und = data["jump_undilated"][0]["size"]
    p = data["params"]["p"]
    ph1 = t <= 1.0
    steps = np.abs(np.diff(np.array(data["theory_dilated"]["2"])[ph1]))
    sim = np.array(data["sim_dilated_mse"])
    bay = np.array(data["bayes_dilated_at_sim"])
    se = np.array(data["sim_dilated_stderr"])
    rel = float(np.max(np.abs(sim - bay) / bay))
    rows = [{"quantity": f"eps(t={tt:.3g}) dilated", "theory": b_, "simulation": s_, "stderr": e_}
            for tt, b_, s_, e_ in zip(data["sim_dilated_t"], bay, sim, se)]
    size = f"{len(data['params']['sim_seeds'])} seeds, d = {data['params']['sim_d']}, n = {data['params']['sim_n']}"
    lim_j, lim_s = claim_limit("claim_mse_jump"), claim_limit("claim_mse_smooth")
    gaps = [within(abs(s_ - b_), claim_limit("claim_mse_bayes", b_), claim_noise("claim_mse_bayes", e_),
                   "|trained − Bayes|") for s_, b_, e_ in zip(sim, bay, se)]
    claims = [
        Claim("without dilation ε jumps by 4p(1−p) at τ = 0⁺", within(abs(j_und - 4 * p * (1 - p)), lim_j),
              f"jump {j_und:.4f} (4p(1−p) = {4 * p * (1 - p):.4f})"),
        Claim("with dilation ε is smooth on phase 1 and the residual jump at t = 1 shrinks with κ",
              bool(jumps[0] > jumps[1] > jumps[2]) and within(steps.max(), lim_s)[0] == "confirmed",
              "jumps at t = 1 for κ = 1, 2, 3: " + ", ".join(f"{j:.4f}" for j in jumps)
              + f"; largest step on the phase-1 grid {steps.max():.4f} (limit {lim_s:g})"),
        Claim("trained denoisers reach the Bayes MSE (finite d) within 10%", combine(gaps),
              f"max relative gap over the dilated grid: {rel:.3f} (includes O(1/n) overfitting)", size=size),
    ]
    pr = figure_problem("mse", problem, DEFAULT_PROBLEM, FIELDS)
    return finish(fig, out_dir, "mse", data, claims=claims, rows=rows, problem=pr,
                  sizes={"d": data["params"]["sim_d"], "n": data["params"]["sim_n"]})
