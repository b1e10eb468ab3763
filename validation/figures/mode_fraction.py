"""The ``mode-fraction`` figure: generated p̂ vs d, dilated and undilated, theory and simulation (PAPER §3.5, §3.7)."""
from __future__ import annotations

import math

import numpy as np

from flowphase.theory.problem import Problem
from flowphase.validation.claims import Claim, FigureOutput, combine, exceeds, within
from flowphase.validation.metrics import weighted_slope
from flowphase.validation.tolerances import claim_limit, claim_noise

from ._common import SIM_BACKEND, figure_builder, figure_problem, figure_size, finish, plt

__all__ = ["DEFAULT_PROBLEM", "mode_fraction_data", "mode_fraction_figure", "mode_fraction_claims"]

#: the figure's default problem: p, σ, κ and the trained denoisers' λ_u, λ_w come from the user's problem
DEFAULT_PROBLEM = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, lam_u=2.0, lam_w=2.0)
FIELDS = ("p", "sigma", "kappa", "lam_u", "lam_w")


def mode_fraction_data(quick: bool = False, *, problem=None, n=None, n_times: int = 80) -> dict:
    """Generated mode fraction p_hat vs d, dilated vs undilated (PAPER §3.5, §3.7).

    Theory: the d -> inf dilated prediction (exact transition: p; Euler threshold:
    p Phi(kappa + h/kappa) + (1-p) Phi(h/kappa - kappa)) and the undilated finite-d reduction of the
    exact flow at fixed T.  Simulation: the d-dimensional exact (Bayes) velocity integrated with
    the authors' Euler convention on T grid points, many samples per d.  ``problem`` (default
    :data:`DEFAULT_PROBLEM`) gives p, σ, κ and the λ of the trained denoisers, ``n`` their training-set size
    (default 128); d is swept.
    """
    from flowphase.numerics.generation import generated_distribution, undilated_mode_fraction
    from flowphase.validation.sampling import generate_bayes

    base = figure_problem("mode-fraction", problem, DEFAULT_PROBLEM, FIELDS)
    p, sigma, kappa = base.p, base.sigma, base.kappa
    lam_u, lam_w = base.training.lam_u, base.training.lam_w
    ds = [100, 400, 1600] if quick else [100, 400, 1600, 6400]
    figure_size("mode-fraction", "d", None, problem, ds, swept=True)
    n_learn = figure_size("mode-fraction", "n", n, problem, 128)
    n_gen = 4000 if quick else 10000
    th_exact = generated_distribution(Problem.dilated(p=p, sigma=sigma, kappa=kappa), transition="exact").p_hat
    th_euler = generated_distribution(Problem.dilated(p=p, sigma=sigma, kappa=kappa), transition="euler").p_hat
    out = {"params": {"p": p, "kappa": kappa, "n_times": n_times, "n_gen": n_gen, "sigma": sigma,
                      "integrator": "euler, network at t_k drives step k, stops at the last grid point"},
           "d": ds, "theory_dilated_exact": th_exact, "theory_dilated_euler": th_euler,
           "theory_undilated": [], "sim_dilated": [], "sim_dilated_se": [], "sim_undilated": [],
           "sim_undilated_se": []}
    for d in ds:
        out["theory_undilated"].append(float(undilated_mode_fraction(p, sigma, d, n_times - 1,
                                                                    t_end=(n_times - 1) / n_times)))
        for key, prob in (("dilated", Problem.dilated(p=p, sigma=sigma, kappa=kappa, d=d)),
                          ("undilated", Problem.undilated(p=p, sigma=sigma, d=d))):
            g = generate_bayes(prob, d=d, ts=prob.schedule.grid(n_times), n_gen=n_gen, seeds=(0,),
                               backend=SIM_BACKEND)
            ph = g.mean("p_hat")
            out[f"sim_{key}"].append(ph)
            out[f"sim_{key}_se"].append(math.sqrt(ph * (1 - ph) / n_gen))
    # trained denoisers (n = 128, exact class counts, exact fresh-noise expectation, GD) then the same sampler
    from flowphase.validation.sampling import generate
    from flowphase.validation.simulator import simulate

    d_learn = [250, 1000] if quick else [250, 1000, 4000]
    seeds = (0, 1) if quick else (0, 1, 2, 3)
    out["params"].update({"learned_n": n_learn, "learned_lam": [lam_u, lam_w], "learned_seeds": list(seeds), "learned_epochs": 300,
                          "learned_optimizer": "gd, lr 0.25, exact class counts, draws = 0"})
    out["d_learned"] = d_learn
    for key in ("dilated", "undilated"):
        out[f"learned_{key}"], out[f"learned_{key}_se"] = [], []
    for d in d_learn:
        for key, prob in (("dilated", Problem.dilated(p=p, sigma=sigma, kappa=kappa, d=d, n=n_learn, lam_u=lam_u,
                                                      lam_w=lam_w)),
                          ("undilated", Problem.undilated(p=p, sigma=sigma, d=d, n=n_learn, lam_u=lam_u, lam_w=lam_w))):
            sim = simulate(prob, ts=prob.schedule.grid(n_times), seeds=seeds, epochs=300, optimizer="gd", lr=0.25,
                           lr_final=0.25, draws=0, labels="exact", progress=False, backend=SIM_BACKEND)
            ph = np.array([st["p_hat"] for st in generate(sim, n_gen=2000, seed=1, method="euler",
                                                           backend=SIM_BACKEND).per_seed])
            out[f"learned_{key}"].append(float(ph.mean()))
            out[f"learned_{key}_se"].append(float(ph.std(ddof=1) / math.sqrt(len(ph))))
    return out


def mode_fraction_claims(data) -> list:
    """The four claims of ``mode-fraction``, decided with the sampling / seed standard errors (``claim_p_hat*``)."""
    p = data["params"]["p"]
    ds = np.array(data["d"], float)
    dil, dil_se = np.array(data["sim_dilated"]), np.array(data["sim_dilated_se"])
    und, und_se = np.array(data["sim_undilated"]), np.array(data["sim_undilated_se"])
    ldil, ldil_se = np.array(data["learned_dilated"]), np.array(data["learned_dilated_se"])
    lund, lund_se = np.array(data["learned_undilated"]), np.array(data["learned_undilated_se"])
    lim = claim_limit("claim_p_hat")
    size_bayes = f"{data['params']['n_gen']} samples per d"
    size_learned = f"{len(data['params']['learned_seeds'])} seeds per d"
    dec_dil = combine(within(abs(v - p), lim, claim_noise("claim_p_hat", e), "|p̂ − p|") for v, e in zip(dil, dil_se))
    dec_ldil = combine(within(abs(v - p), lim, claim_noise("claim_p_hat", e), "|p̂ − p|")
                       for v, e in zip(ldil, ldil_se))
    # drift without dilation: the weighted slope of p_hat against log d (all d's), and the end-to-end change of
    # the trained models (two d's), each against its standard error
    slope, slope_se = weighted_slope(np.log(ds), und, und_se)
    dec_und = exceeds(slope, 0.0, claim_noise("claim_p_hat_drift", slope_se), "the slope dp̂/d(ln d)")
    drift = float(lund[-1] - lund[0])
    drift_se = float(math.hypot(lund_se[-1], lund_se[0]))
    dec_lund = exceeds(drift, 0.0, claim_noise("claim_p_hat_drift", drift_se),
                       f"p̂(d = {data['d_learned'][-1]}) − p̂(d = {data['d_learned'][0]})")
    return [
        Claim("p̂ → p with dilation", dec_dil, f"max |p̂ − p| over d = {np.max(np.abs(dil - p)):.3f} (limit {lim:g})",
              size=size_bayes),
        Claim("trained denoisers with dilation generate p̂ within 0.03 of p", dec_ldil,
              "p̂ = " + ", ".join(f"{m_:.3f} ± {e_:.3f} (d = {d})" for d, m_, e_ in
                                  zip(data["d_learned"], ldil, ldil_se)), size=size_learned),
        Claim("trained denoisers without dilation drift away from p as d grows", dec_lund,
              "p̂ − p = " + ", ".join(f"{m_ - p:+.3f} ± {e_:.3f} (d = {d})" for d, m_, e_ in
                                      zip(data["d_learned"], lund, lund_se)), size=size_learned),
        Claim("p̂ drifts away from p without dilation as d grows", dec_und,
              f"p̂ − p from {und[0] - p:+.3f} (d = {int(ds[0])}) to {und[-1] - p:+.3f} (d = {int(ds[-1])}); "
              f"weighted slope in ln d {slope:+.4f} ± {slope_se:.4f}", size=size_bayes),
    ]


@figure_builder(DEFAULT_PROBLEM, FIELDS, sizes=("n",))
def mode_fraction_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None) -> FigureOutput:
    """The ``mode-fraction`` figure for ``problem`` (see :func:`mode_fraction_data`; d is swept)."""
    plt_ = plt()
    figure_size("mode-fraction", "d", d, problem, "100-6400", swept=True)
    data = mode_fraction_data(quick, problem=problem, n=n)
    ds = np.array(data["d"], float)
    p = data["params"]["p"]
    fig, ax = plt_.subplots(figsize=(9.5, 4.2))
    ax.errorbar(ds, data["sim_dilated"], yerr=1.96 * np.array(data["sim_dilated_se"]), fmt="o", color="tab:blue",
                label="dilated, simulated (exact velocity, Euler)")
    ax.errorbar(ds, data["sim_undilated"], yerr=1.96 * np.array(data["sim_undilated_se"]), fmt="s",
                color="tab:red", label="undilated, simulated")
    ax.plot(ds, data["theory_undilated"], "-", color="tab:red", label="undilated, theory (fixed T)")
    dl = np.array(data["d_learned"], float)
    ax.errorbar(dl * 1.06, data["learned_dilated"], yerr=1.96 * np.array(data["learned_dilated_se"]), fmt="o",
                mfc="white", color="tab:blue", label=f"dilated, trained denoisers (n = {data['params']['learned_n']})")
    ax.errorbar(dl * 1.06, data["learned_undilated"], yerr=1.96 * np.array(data["learned_undilated_se"]), fmt="s",
                mfc="white", color="tab:red", label=f"undilated, trained denoisers (n = {data['params']['learned_n']})")
    ax.axhline(data["theory_dilated_euler"], color="tab:blue", ls="-", label="dilated theory, Euler threshold")
    ax.axhline(p, color="k", ls=":", label=f"p = {p}")
    ax.set_xscale("log")
    ax.set_xlabel("d")
    ax.set_ylabel("generated mode fraction p̂")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"p̂ vs d (T = {data['params']['n_times']} grid points)")
    dil = np.array(data["sim_dilated"])
    und = np.array(data["sim_undilated"])
    rows = [{"quantity": f"p_hat dilated (d={int(d)})", "theory": data["theory_dilated_euler"], "simulation": s,
             "stderr": e} for d, s, e in zip(ds, dil, data["sim_dilated_se"])]
    rows += [{"quantity": f"p_hat undilated (d={int(d)})", "theory": th, "simulation": s, "stderr": e}
             for d, th, s, e in zip(ds, data["theory_undilated"], und, data["sim_undilated_se"])]
    rows += [{"quantity": f"p_hat trained, {key} (d={int(d)})", "theory": None, "simulation": m_, "stderr": e_}
             for key in ("dilated", "undilated")
             for d, m_, e_ in zip(data["d_learned"], data[f"learned_{key}"], data[f"learned_{key}_se"])]
    claims = mode_fraction_claims(data)
    caption = ("Simulation: d-dimensional samples X(0) ~ N(0, I_d) integrated with the exact (Bayes) velocity on the "
               f"{data['params']['n_times']}-point grid (authors' Euler convention), {data['params']['n_gen']} samples "
               "per point; error bars 95 %. Theory: the dilated d → ∞ Euler-threshold prediction "
               "pΦ(κ + h/κ) + (1−p)Φ(h/κ − κ) and the undilated finite-d reduction at the same grid. Open markers: "
               f"denoisers trained at n = {data['params']['learned_n']} (exact class counts) on the same grid, then the "
               "same sampler; error bars over seeds.")
    return finish(fig, out_dir, "mode-fraction", data, claims=claims, rows=rows, caption=caption,
                  problem=figure_problem("mode-fraction", problem, DEFAULT_PROBLEM, FIELDS),
                  sizes={"d": data["d"], "n": data["params"]["learned_n"]})
