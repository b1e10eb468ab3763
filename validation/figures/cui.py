"""The ``cui-flow`` and ``cui-mse`` figures: Cui et al.'s summary statistics and end-of-flow error (PREDECESSOR §2, §5)."""
from __future__ import annotations

import numpy as np

from flowphase.theory.problem import Problem
from flowphase.validation.claims import Claim, FigureOutput, combine, within
from flowphase.validation.metrics import sign_aligned_mean_error
from flowphase.validation.tolerances import claim_limit, claim_noise

from ._common import SIM_BACKEND, figure_builder, figure_problem, figure_size, finish, plt

__all__ = ["DEFAULT_PROBLEM", "cui_flow_data", "cui_flow_figure", "cui_mse_data", "cui_mse_figure"]

#: Cui et al.'s problem: balanced modes (p = 1/2), σ = 1.5, λ = 0.1, one fixed noise per point, no dilation;
#: the figures take σ and λ (λ_u = λ_w, the tied model has one penalty) from the user's problem
DEFAULT_PROBLEM = Problem.undilated(p=0.5, sigma=1.5, lam_u=0.1, lam_w=0.1, noise="fixed")
FIELDS = ("sigma", "lam_u", "lam_w")


def _cui_problem(figure, problem):
    base = figure_problem(figure, problem, DEFAULT_PROBLEM, FIELDS)
    if base.training.lam_u != base.training.lam_w:
        raise ValueError(f"figure {figure!r}: Cui et al.'s tied model has one penalty, lam_u must equal lam_w "
                         f"(got {base.training.lam_u}, {base.training.lam_w})")
    return base


def cui_flow_data(quick: bool = False, *, problem=None, n=None) -> dict:
    """Cui et al.'s Figure 1 (left panel): M, Q^xi, Q, theta along t (PREDECESSOR §2.2, §5).

    Three integrations of the same summary-statistics ODE: adaptive RK (Dormand–Prince), the
    closed form, and the authors' notebook Euler scheme (100 points, stops at t = 0.99).  ``problem``
    (default :data:`DEFAULT_PROBLEM`) gives σ and λ, ``n`` the number of samples (default 8).
    """
    from flowphase.numerics.cui import cui_flow, cui_flow_extremes

    base = _cui_problem("cui-flow", problem)
    n = figure_size("cui-flow", "n", n, problem, 8)
    sigma, lam = base.sigma, base.training.lam_u

    t = np.linspace(0.0, 1.0, 101 if quick else 401)
    rk = cui_flow(t, n, sigma, lam=lam)
    t_e = np.linspace(0.0, 0.99, 100)
    eu = cui_flow(t_e, n, sigma, lam=lam, method="euler", evaluate="right")
    keys = ("M", "Q_xi", "Q_eta", "P", "Q", "theta")
    return {"params": {"n": n, "sigma": sigma, "lam": lam, "interpolant": "linear (Cui: alpha = t data)"},
            "t": t.tolist(), "ode": {k: rk.stats[k].tolist() for k in keys},
            "closed_form": {k: np.asarray(rk.closed[k]).tolist() for k in keys},
            "t_euler": t_e.tolist(), "euler": {k: eu.stats[k].tolist() for k in keys},
            "extremes": cui_flow_extremes(n, sigma, lam)}


@figure_builder(DEFAULT_PROBLEM, FIELDS, sizes=("n",), check=lambda pr: _cui_problem("cui-flow", pr))
def cui_flow_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None) -> FigureOutput:
    """The ``cui-flow`` figure for ``problem`` (see :func:`cui_flow_data`; a d → ∞ theory, no d)."""
    plt_ = plt()
    figure_size("cui-flow", "d", d, problem, "infinite (theory only)", swept=True)
    data = cui_flow_data(quick, problem=problem, n=n)
    fig, ax = plt_.subplots(figsize=(7, 4.5))
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
    ex = data["extremes"]
    gap = max(float(np.max(np.abs(np.array(data["ode"][k]) - np.array(data["closed_form"][k]))))
              for k in ("M", "Q_xi", "Q_eta", "P"))
    e_end = {k: data["euler"][k][-1] for k in ("M", "Q_xi", "Q_eta", "P")}
    rows = [{"quantity": "Q_min", "theory": 0.779, "simulation": ex["Q_min"], "stderr": None},
            {"quantity": "t at Q_min", "theory": 0.220, "simulation": ex["t_Q_min"], "stderr": None},
            {"quantity": "Q(1)", "theory": 3.7900, "simulation": data["closed_form"]["Q"][-1], "stderr": None},
            {"quantity": "Euler-100 M(0.99)", "theory": 0.97284, "simulation": e_end["M"], "stderr": None},
            {"quantity": "Euler-100 P(0.99)", "theory": 2.24843, "simulation": e_end["P"], "stderr": None}]
    lim_q, lim_t, lim_e = claim_limit("claim_cui_q_min"), claim_limit("claim_cui_t_q_min"), claim_limit("claim_cui_euler")
    claims = [
        Claim("the summary-statistics ODE has the closed-form solution (PREDECESSOR §2.2)",
              within(gap, claim_limit("claim_ode_closed_form")), f"max |RK − closed form| = {gap:.1e}"),
        Claim("Q_t dips to 0.779 at t ≈ 0.22 and ends at 3.79",
              combine([within(abs(ex["Q_min"] - 0.779), lim_q), within(abs(ex["t_Q_min"] - 0.220), lim_t),
                       within(abs(data["closed_form"]["Q"][-1] - 3.79), lim_q)]),
              f"Q_min = {ex['Q_min']:.4f} at t = {ex['t_Q_min']:.4f}; Q(1) = {data['closed_form']['Q'][-1]:.4f}"),
        Claim("the authors' 100-step Euler stops at M = 0.97284, P = 2.24843",
              combine([within(abs(e_end["M"] - 0.97284), lim_e), within(abs(e_end["P"] - 2.24843), lim_e)]),
              f"M = {e_end['M']:.5f}, P = {e_end['P']:.5f}"),
    ]
    return finish(fig, out_dir, "cui-flow", data, claims=claims, rows=rows,
                  problem=_cui_problem("cui-flow", problem).replace(n=P["n"]), sizes={"n": P["n"]},
                  caption="The right panel of the original (2-D projections of samples) is qualitative and "
                          "not reproduced (PREDECESSOR §5).")


def cui_mse_data(quick: bool = False, *, problem=None, d=None) -> dict:
    """End-of-flow MSE |mu_hat - mu|^2/d and cos(mu_hat, mu) vs n with the Bayes-optimal baseline
    (PREDECESSOR §2.3–2.4), and the same measured on samples generated by Cui's tied sign model
    trained at finite d (fixed noise, informed initialisation, PREDECESSOR §2.6).  ``problem`` (default
    :data:`DEFAULT_PROBLEM`) gives σ and λ, ``d`` the trained model's dimension (default 2000 quick, 5000);
    n is swept."""
    from flowphase.numerics.cui import cui_end_of_flow, cui_flow
    from flowphase.validation.sampling import generate
    from flowphase.validation.simulator import simulate

    base = _cui_problem("cui-mse", problem)
    sigma, lam = base.sigma, base.training.lam_u

    n_th = np.unique(np.round(np.geomspace(2, 1024, 30)).astype(int))
    ends = [cui_end_of_flow(float(n), sigma, lam) for n in n_th]
    data = {"params": {"sigma": sigma, "lam": lam}, "n_theory": n_th.tolist(),
            "mse": [e["mse"] for e in ends], "cos": [e["cos_mu"] for e in ends],
            "mse_bayes": [e["mse_bayes"] for e in ends], "cos_bayes": [e["cos_bayes"] for e in ends]}
    d = figure_size("cui-mse", "d", d, problem, 2000 if quick else 5000)
    n_sim = [4, 16] if quick else [2, 4, 8, 16, 32]
    n_times = 25 if quick else 50
    epochs = 1500 if quick else 2000
    n_gen = 400 if quick else 1000
    data["params"].update({"sim_d": d, "sim_n_times": n_times, "sim_epochs": epochs, "n_gen": n_gen,
                           "model": "sign (tied)", "noise": "fixed", "init": "informed"})
    data["n_sim"], data["sim_mse"], data["sim_cos"], data["theory_at_sim"] = n_sim, [], [], []
    data["sim_mse_se"] = []
    for n in n_sim:
        pr = Problem.undilated(p=0.5, sigma=sigma, n=n, lam_u=lam, lam_w=lam, noise="fixed")
        ts = pr.schedule.grid(n_times)
        sim = simulate(pr, d=d, ts=ts, seeds=(0,), epochs=epochs, model="sign", init="informed", optimizer="adam",
                       lr=1e-2, lr_final=1e-4, draws=1, progress=False, backend=SIM_BACKEND)
        g = generate(sim, n_gen=n_gen, seed=5, method="euler", keep_samples=True, backend=SIM_BACKEND)
        mse_hat, mse_se, cos_hat = sign_aligned_mean_error(g.samples)
        data["sim_mse"].append(mse_hat)
        data["sim_mse_se"].append(mse_se)
        data["sim_cos"].append(cos_hat)
        end = cui_end_of_flow(float(n), sigma, lam)
        # the same Euler grid as the sampler (network at t_k drives step k, stops at the last grid point)
        eu = cui_flow(ts, float(n), sigma, lam=lam, method="euler", evaluate="left")
        st = {k: float(eu.stats[k][-1]) for k in ("M", "Q_xi", "Q_eta", "P")}
        mse_eu = (st["M"] - 1.0) ** 2 + n * st["Q_xi"] ** 2 + n * sigma ** 2 * st["Q_eta"] ** 2
        # the sample mean of n_gen generated points carries an extra ~ P / n_gen (PREDECESSOR §8)
        data["theory_at_sim"].append({"mse": end["mse"], "mse_euler_grid": mse_eu,
                                      "mse_plus_sampling": mse_eu + st["P"] / n_gen, "cos": end["cos_mu"]})
    return data


@figure_builder(DEFAULT_PROBLEM, FIELDS, sizes=("d",), check=lambda pr: _cui_problem("cui-mse", pr))
def cui_mse_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None) -> FigureOutput:
    """The ``cui-mse`` figure for ``problem`` (see :func:`cui_mse_data`; n is swept)."""
    plt_ = plt()
    figure_size("cui-mse", "n", n, problem, "2-1024", swept=True)
    data = cui_mse_data(quick, problem=problem, d=d)
    n = np.array(data["n_theory"], float)
    fig, axes = plt_.subplots(1, 2, figsize=(11, 4.2))
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
    mse = np.array(data["mse"])
    ratio = mse[-1] / data["mse_bayes"][-1]
    big = n >= 32
    slope = float(np.polyfit(np.log(n[big]), np.log(mse[big]), 1)[0])
    th = np.array([t["mse_plus_sampling"] for t in data["theory_at_sim"]])
    sim, sim_se = np.array(data["sim_mse"]), np.array(data["sim_mse_se"])
    rel = np.abs(sim - th) / th
    rows = [{"quantity": f"MSE n={int(k)}", "theory": t_, "simulation": s_, "stderr": e_}
            for k, t_, s_, e_ in zip(ns, th, sim, sim_se)]
    lim_slope, lim_ratio = claim_limit("claim_one_over_n_slope"), claim_limit("claim_cui_ratio")
    trained = combine(within(abs(s_ - t_), claim_limit("claim_cui_trained", t_), claim_noise("claim_cui_trained", e_),
                             "|trained − theory|") for s_, t_, e_ in zip(sim, th, sim_se))
    claims = [
        Claim("the flow model's MSE decays as Θ(1/n)", within(abs(slope + 1), lim_slope), f"log–log slope {slope:.3f}"),
        Claim("MSE / MSE_Bayes → 2", within(abs(ratio - 2), lim_ratio), f"ratio at n = {int(n[-1])}: {ratio:.3f}"),
        Claim("trained tied sign model matches the theory MSE within 15%", trained,
              "relative gaps: " + ", ".join(f"n={int(k)}: {r:.3f}" for k, r in zip(ns, rel)),
              size=f"1 seed, d = {data['params']['sim_d']}, {data['params']['n_gen']} generated samples"),
    ]
    return finish(fig, out_dir, "cui-mse", data, claims=claims, rows=rows,
                  problem=_cui_problem("cui-mse", problem),
                  sizes={"d": data["params"]["sim_d"], "n": data["n_sim"]})
