"""The ``simplification`` figure: each phase ignores the other phase's parameter (PAPER §3.1, §3.3, §3.6)."""
from __future__ import annotations

import math

import numpy as np

from flowphase.theory.problem import Problem
from flowphase.validation.claims import Claim, FigureOutput, within
from flowphase.validation.tolerances import claim_limit

from ._common import figure_builder, figure_problem, figure_size, finish, plt, spread

__all__ = ["DEFAULT_PROBLEM", "simplification_data", "simplification_figure"]

#: the figure's default problem: phase 1 is swept in σ at its p, phase 2 in p at its σ
DEFAULT_PROBLEM = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, lam_u=2.0, lam_w=2.0)
FIELDS = ("p", "sigma", "kappa", "lam_u", "lam_w")


def simplification_data(quick: bool = False, *, problem=None, d=None, n=None) -> dict:
    """Phase-1 (omega, b, m) vs sigma and phase-2 (c, m) vs p, at finite n and n = inf (PAPER §3.6).

    The claims: at n = inf phase 1 does not depend on sigma (PAPER §3.1, §8 row 21); at finite n
    sigma enters only through (n + sigma^2), an O(1/n) effect; phase 2 never depends on p
    (PAPER §3.3, §8 row 20).  ``problem`` (default :data:`DEFAULT_PROBLEM`) gives the phase-1 p, the
    phase-2 σ, κ and λ_u, λ_w; ``n`` the finite n (default 128), ``d`` the dimension of the theory
    (default d = ∞).
    """
    from flowphase.numerics.learned import learned_curve

    base = figure_problem("simplification", problem, DEFAULT_PROBLEM, FIELDS)
    n = figure_size("simplification", "n", n, problem, 128)
    d = figure_size("simplification", "d", d, problem, math.inf)
    kappa, lam_u, lam_w = base.kappa, base.training.lam_u, base.training.lam_w

    sigmas = np.linspace(0.3, 2.0, 6 if quick else 18)
    ps = np.linspace(0.55, 0.95, 5 if quick else 17)
    t1 = [0.25, 0.5, 1.0]
    t2 = [1.25, 1.5, 1.75]
    data = {"params": {"n": n, "lam_u": lam_u, "lam_w": lam_w, "kappa": kappa, "p_phase1": base.p,
                       "sigma_phase2": base.sigma, "t_phase1": t1, "t_phase2": t2, "d": d},
            "sigma": sigmas.tolist(), "p": ps.tolist(), "phase1": {}, "phase2": {}}
    for label, nn in (("finite_n", n), ("infinite_n", math.inf)):
        rows = {k: [] for k in ("omega", "b", "m")}
        for s in sigmas:
            cur = learned_curve(Problem.dilated(p=base.p, sigma=float(s), kappa=kappa, d=d, n=nn, lam_u=lam_u,
                                                lam_w=lam_w), t1)
            for k in rows:
                rows[k].append(getattr(cur, k).tolist())
        data["phase1"][label] = rows  # [sigma][t]
        rows2 = {k: [] for k in ("c", "m")}
        for pp in ps:
            cur = learned_curve(Problem.dilated(p=float(pp), sigma=base.sigma, kappa=kappa, d=d, n=nn, lam_u=lam_u,
                                                lam_w=lam_w), t2)
            for k in rows2:
                rows2[k].append(getattr(cur, k).tolist())
        data["phase2"][label] = rows2  # [p][t]
    return data


@figure_builder(DEFAULT_PROBLEM, FIELDS, sizes=("d", "n"))
def simplification_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None) -> FigureOutput:
    """The ``simplification`` figure for ``problem`` (see :func:`simplification_data`)."""
    plt_ = plt()
    data = simplification_data(quick, problem=problem, d=d, n=n)
    fig, axes = plt_.subplots(1, 2, figsize=(11, 4.2))
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

    inf1 = max(spread(np.array(data["phase1"]["infinite_n"][k])[:, j]) for k in ("omega", "b", "m")
               for j in range(len(data["params"]["t_phase1"])))
    fin1 = max(spread(np.array(data["phase1"]["finite_n"][k])[:, j]) for k in ("omega", "b", "m")
               for j in range(len(data["params"]["t_phase1"])))
    sp2 = max(spread(np.array(data["phase2"][lab][k])[:, j]) for lab in ("finite_n", "infinite_n")
              for k in ("c", "m") for j in range(len(data["params"]["t_phase2"])))
    n = data["params"]["n"]
    lim_inf, lim_fin, lim_p = (claim_limit("claim_sigma_blind"), claim_limit("claim_sigma_finite_n", 1.0 / n),
                               claim_limit("claim_p_blind"))
    claims = [
        Claim("phase 1 does not see σ² (n = ∞)", within(inf1, lim_inf),
              f"max spread of ω, b, m over σ ∈ [0.3, 2]: {inf1:.2e} (limit {lim_inf:g})"),
        Claim("phase 1 sees σ² only at O(1/n) (finite n)", within(fin1, lim_fin),
              f"max spread over σ at n = {n}: {fin1:.3e} (10/n = {lim_fin:.3e})"),
        Claim("phase 2 does not see p (any n)", within(sp2, lim_p),
              f"max spread of c, m over p ∈ [0.55, 0.95]: {sp2:.2e} (limit {lim_p:g})"),
    ]
    P = data["params"]
    pr = figure_problem("simplification", problem, DEFAULT_PROBLEM, FIELDS)
    return finish(fig, out_dir, "simplification", data, claims=claims, problem=pr.replace(n=P["n"], d=P["d"]),
                  sizes={"d": P["d"], "n": P["n"]},
                  caption=f"Solid: finite-n theory (n = {P['n']:g}, λ_u = {P['lam_u']:g}, λ_w = {P['lam_w']:g}); "
                          "dashed: n = ∞.")
