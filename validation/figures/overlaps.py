"""The ``overlaps`` and ``overlaps-authors`` figures: learned c, m, ω, b vs t (PAPER §5 Figure A).

* ``overlaps``: simulation (error bars over seeds), finite-n theory (solid) and n = inf theory (dashed), with the
  **same** lambda in theory and simulation;
* ``overlaps-authors``: the authors' parameters (theory lam_u = 50, lam_w = 1 against a simulation with weight
  decay 1e-5, i.e. lam = wd d T / 2 ~ 2 in theory units), mismatch explained.
"""
from __future__ import annotations

import math

import numpy as np

from flowphase.theory.problem import Problem, weight_decay_to_lambda
from flowphase.validation.claims import Claim, FigureOutput, combine, exceeds, within
from flowphase.validation.metrics import theory_curves
from flowphase.validation.tolerances import claim_limit, claim_noise

from ._common import OVERLAP_COLORS as _COLORS
from ._common import OVERLAP_KEYS as _NAMES
from ._common import SIM_BACKEND, figure_builder, finish, plt

__all__ = ["OVERLAPS_SIZES", "AUTHORS_SIZES", "DEFAULT_PROBLEM", "AUTHORS_PROBLEM", "overlaps_data", "overlaps_figure", "overlaps_authors_figure", "agreement_rows",
           "overlaps_claims", "authors_claims"]

#: simulation sizes of the overlaps figures: quick (CI) and default (the README's main job; sized for a cold run from
#: a fresh clone in <= 90 s on 2 cores, every claim still confirmed: docs/runtimes.md)
OVERLAPS_SIZES = {
    True: dict(d=400, n=32, n_times=10, seeds=(0, 1), epochs=1500, lr=0.05),
    False: dict(d=500, n=64, n_times=20, seeds=(0, 1, 2), epochs=1500, lr=0.05),
}
#: default (not quick) sizes of the ``overlaps-authors`` figure: its earlier sizes, kept (its λ = wd d T / 2 needs d)
AUTHORS_SIZES = dict(d=1000, n=128, n_times=40, seeds=(0, 1, 2), epochs=3000, lr=0.05)


#: the problems the two figures are built for by default (d and n are the sizes above)
DEFAULT_PROBLEM = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, lam_u=2.0, lam_w=2.0)
AUTHORS_PROBLEM = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, lam_u=50.0, lam_w=1.0)
#: the problem parameters both figures take from the user's problem
FIELDS = ("p", "sigma", "kappa", "lam_u", "lam_w")


def overlaps_data(quick: bool = False, *, problem=None, d=None, n=None, weight_decay=None, progress=False,
                  figure: str = "overlaps") -> dict:
    """Simulated and theoretical learned overlaps along the dilated schedule (PAPER §5 Figure A).

    ``problem`` (default :data:`DEFAULT_PROBLEM`) gives p, σ, κ and the theory's λ_u, λ_w; ``d`` and ``n``
    (default :data:`OVERLAPS_SIZES`, :data:`AUTHORS_SIZES` for ``overlaps-authors``, or the problem's own finite
    d, n) the simulated size.  The simulation
    trains the exact expectation over the fresh noise (``draws=0``, K -> inf) with Adam from the ``small``
    initialisation, lam in theory units.  ``weight_decay`` (if given) sets the simulation's lam through
    lam = wd d T / 2 (PAPER §2.3) with T = 80 as in the authors' code; otherwise lam_sim = lam_theory.
    """
    from flowphase.validation.simulator import simulate

    from ._common import figure_problem, figure_size

    base = figure_problem(figure, problem, DEFAULT_PROBLEM if figure == "overlaps" else AUTHORS_PROBLEM, FIELDS)
    sz = AUTHORS_SIZES if figure == "overlaps-authors" and not quick else OVERLAPS_SIZES[bool(quick)]
    d = figure_size(figure, "d", d, problem, sz["d"])
    n = figure_size(figure, "n", n, problem, sz["n"])
    p, sigma, kappa = base.p, base.sigma, base.kappa
    lam_theory = (base.training.lam_u, base.training.lam_w)
    lam_u_th, lam_w_th = lam_theory
    if weight_decay is None:
        lam_sim = (lam_u_th, lam_w_th)
    else:
        lam = weight_decay_to_lambda(weight_decay, d, 80)
        lam_sim = (lam, lam)
    sim_problem = Problem.dilated(p=p, sigma=sigma, kappa=kappa, d=d, n=n, lam_u=lam_sim[0], lam_w=lam_sim[1])
    ts = sim_problem.schedule.grid(sz["n_times"])
    fine = np.linspace(0.0, 1.995, 160 if quick else 400)
    # the theory curves (mostly numba compilation when cold, one core) in a second process while the simulation
    # (both cores) runs: the same numbers, computed side by side (docs/runtimes.md); in-process when quick or no JIT
    pending = _start_theory(p, sigma, kappa, d, n, lam_u_th, lam_w_th, fine, ts, parallel=not quick)
    sim = simulate(sim_problem, ts=ts, seeds=sz["seeds"], epochs=sz["epochs"], optimizer="adam", lr=sz["lr"],
                   lr_final=sz["lr"] / 100, draws=0, init="small", progress=progress, backend=SIM_BACKEND)
    mean, se = sim.mean(), sim.stderr()
    from flowphase.validation.simulator import OVERLAP_NAMES

    idx = [OVERLAP_NAMES.index(k) for k in _NAMES]
    th_problem, th_fin, jumps, th_inf, th_at, th_paper, th_paper_at = _finish_theory(pending)
    from flowphase.numerics.learned import resolve_theory
    return {
        "params": {"p": p, "sigma": sigma, "kappa": kappa, "d": d, "n": n, "lam_theory": list(lam_theory),
                   "lam_simulation": list(lam_sim), "weight_decay": weight_decay, "epochs": sz["epochs"], "lr": sz["lr"],
                   "seeds": list(sz["seeds"]), "optimizer": "adam", "init": "small", "draws": 0,
                   "n_times": sz["n_times"]},
        "t_sim": ts.tolist(),
        "sim_mean": {k: mean[:, i].tolist() for k, i in zip(_NAMES, idx)},
        "sim_stderr": {k: se[:, i].tolist() for k, i in zip(_NAMES, idx)},
        "t_theory": fine.tolist(), "theory_finite_n": th_fin, "theory_infinite_n": th_inf,
        "theory_at_sim_times": th_at, "jumps": jumps, "theory": resolve_theory(th_problem, None),
        "theory_paper": th_paper, "theory_paper_at_sim_times": th_paper_at,
    }


def _overlaps_theory(p, sigma, kappa, d, n, lam_u, lam_w, fine, ts):
    """The figure's theory curves: finite-n and n = inf on ``fine``, finite-n at ``ts``, the paper's ansatz on both."""
    # finite-n theory on the simulation's own schedule (phase 2 at the finite-d tau(t), PAPER §3.9)
    th_problem = Problem.dilated(p=p, sigma=sigma, kappa=kappa, d=d, n=n, lam_u=lam_u, lam_w=lam_w)
    th_fin, jumps = theory_curves(th_problem, fine)
    th_inf, _ = theory_curves(Problem.dilated(p=p, sigma=sigma, kappa=kappa, n=math.inf), fine)
    # finite-n theory at the simulated times and at the simulation's actual tau (finite d, PAPER §3.9)
    th_at, _ = theory_curves(th_problem, ts)
    # the paper's restricted ansatz (PAPER §3.2 in phase 1, ridge at the actual tau in phase 2), kept to redraw it
    th_paper, _ = theory_curves(th_problem, fine, "paper")
    th_paper_at, _ = theory_curves(th_problem, ts, "paper")
    return th_fin, jumps, th_inf, th_at, th_paper, th_paper_at


def _start_theory(p, sigma, kappa, d, n, lam_u, lam_w, fine, ts, *, parallel: bool):
    """Start :func:`_overlaps_theory` in a spawned worker process (``parallel`` and JIT on), else defer it."""
    args = (p, sigma, kappa, d, n, lam_u, lam_w, np.asarray(fine), np.asarray(ts))
    import numba

    if parallel and not numba.config.DISABLE_JIT:
        import concurrent.futures as cf
        import multiprocessing as mp

        pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
        return args, pool, pool.submit(_overlaps_theory, *args)
    return args, None, None


def _finish_theory(pending):
    """The theory problem and the six results of :func:`_overlaps_theory` (waits for the worker, if any)."""
    args, pool, future = pending
    if pool is None:
        res = _overlaps_theory(*args)
    else:
        try:
            res = future.result()
        finally:
            pool.shutdown()
    p, sigma, kappa, d, n, lam_u, lam_w = args[:7]
    return (Problem.dilated(p=p, sigma=sigma, kappa=kappa, d=d, n=n, lam_u=lam_u, lam_w=lam_w),) + tuple(res)


def _theory_problem(P) -> Problem:
    """The problem of the figure's finite-n theory, rebuilt from its ``params``."""
    return Problem.dilated(p=P["p"], sigma=P["sigma"], kappa=P["kappa"], d=P["d"], n=P["n"],
                           lam_u=P["lam_theory"][0], lam_w=P["lam_theory"][1])


def _plot_overlaps(data, title, caption):
    plt_ = plt()
    fig, ax = plt_.subplots(figsize=(8, 4.8))
    tt = np.array(data["t_theory"])
    ts = np.array(data["t_sim"])
    for k in _NAMES:
        col = _COLORS[k]
        ax.plot(tt, np.array(data["theory_finite_n"][k], dtype=float), "-", color=col, lw=1.6)
        ax.plot(tt, np.array(data["theory_infinite_n"][k], dtype=float), "--", color=col, lw=1.0)
        if "theory_paper" in data:
            ax.plot(tt, np.array(data["theory_paper"][k], dtype=float), ":", color=col, lw=1.2)
        ax.errorbar(ts, data["sim_mean"][k], yerr=data["sim_stderr"][k], fmt="o", ms=3.5, color=col,
                    capsize=2, label=k)
    ax.axvline(1.0, color="grey", lw=0.6)
    ax.set_xlim(0, 2)
    ax.set_ylim(-0.1, 2.1)
    ax.set_xlabel("t  (phase 1: [0, 1], phase 2: [1, 2])")
    ax.set_ylabel("overlap")
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles += [Line2D([], [], color="k", ls="-"), Line2D([], [], color="k", ls="--"),
                Line2D([], [], color="k", marker="o", ls="")]
    labels += [f"finite-n theory ({data.get('theory', 'paper')})", "n = ∞ theory", "simulation (mean ± s.e.)"]
    if "theory_paper" in data:
        handles.append(Line2D([], [], color="k", ls=":"))
        labels.append("paper's ansatz (PAPER §3.2)")
    ax.legend(handles, labels, fontsize=8, ncol=2)
    ax.set_title(title, fontsize=10)
    fig.text(0.01, -0.06, caption, fontsize=7, wrap=True)
    return fig


def agreement_rows(data):
    """Rows of the theory-vs-simulation table and the max deviation in units of the tolerance."""
    rows = []
    for k in _NAMES:
        for j, t in enumerate(data["t_sim"]):
            th = data["theory_at_sim_times"][k][j]
            if th is None or (isinstance(th, float) and not math.isfinite(th)):
                continue
            rows.append({"quantity": f"{k}(t={t:.3g})", "theory": th, "simulation": data["sim_mean"][k][j],
                         "stderr": data["sim_stderr"][k][j]})
    return rows


def _arr(data, key, k, sel=None):
    v = np.array(data[key][k], dtype=float)
    return v if sel is None else v[sel]


def _size(P) -> str:
    return f"{len(P['seeds'])} seeds, d = {P['d']}, n = {P['n']}"


def overlaps_claims(data) -> list:
    """The four claims of the ``overlaps`` figure, decided from its numbers (tolerances ``claim_*``)."""
    P = data["params"]
    ts = np.array(data["t_sim"])
    ph1 = (ts > 0.05) & (ts <= 1.0)
    ph2 = ts > 1.0
    size = _size(P)
    # skip connection off on phase 1: c* ~ kappa t sigma^2 / sqrt(d) <= kappa/sqrt(d)
    c1, c1_se = np.abs(_arr(data, "sim_mean", "c", ph1)), _arr(data, "sim_stderr", "c", ph1)
    c_bound = claim_limit("claim_phase1_c_off", P["kappa"] / math.sqrt(P["d"]))
    dec_c = combine(within(c, c_bound, claim_noise("claim_phase1_c_off", e), "|c|") for c, e in zip(c1, c1_se))
    # phase 2: c and m against the ridge theory at the actual tau
    dev2, se2 = [], []
    for k in ("c", "m"):
        dev2 += list(np.abs(_arr(data, "sim_mean", k, ph2) - _arr(data, "theory_at_sim_times", k, ph2)))
        se2 += list(_arr(data, "sim_stderr", k, ph2))
    lim2 = claim_limit("claim_phase2_ridge")
    dec2 = combine(within(v, lim2, claim_noise("claim_phase2_ridge", e), "|sim − theory|") for v, e in zip(dev2, se2))
    # phase 1: omega against the finite-n effective potential
    om, om_th = _arr(data, "sim_mean", "omega", ph1), _arr(data, "theory_at_sim_times", "omega", ph1)
    om_se = _arr(data, "sim_stderr", "omega", ph1)
    lim1 = [claim_limit("claim_phase1_omega", t) for t in om_th]
    dec1 = combine(within(abs(a - t), lim, claim_noise("claim_phase1_omega", e), "|Δω|")
                   for a, t, lim, e in zip(om, om_th, lim1, om_se))
    rel1 = float(np.max(np.abs(om - om_th) / np.array(lim1))) if ph1.any() else math.nan
    dev2_max = float(np.max(dev2)) if dev2 else math.nan
    claims = [
        Claim("skip connection off in phase 1 (c ≈ 0, O(κ/√d))", dec_c,
              f"max |c| on phase 1 = {c1.max():.3f}, limit 2κ/√d = {c_bound:.3f}", size=size),
        Claim("phase-2 c, m follow the ridge theory", dec2,
              f"max |sim − theory| over phase-2 times = {dev2_max:.3f} (limit {lim2:g})", size=size),
        Claim("phase-1 ω follows the finite-n effective potential", dec1,
              f"max |Δω| / limit on phase 1 = {rel1:.3f} (limit 0.03 + 15 % of the theory)", size=size),
    ]
    # exact finite-n theory vs the paper's ansatz, against the same simulation (c, m, omega where both exist):
    # the difference of the mean squared residuals, its seed noise propagated linearly (independent stderr)
    res = {"exact": [], "paper": []}
    gap, grad = {}, []
    for k in ("c", "m", "omega", "b"):
        ex_k, pa_k = _arr(data, "theory_at_sim_times", k), _arr(data, "theory_paper_at_sim_times", k)
        both = np.isfinite(ex_k) & np.isfinite(pa_k)
        gap[k] = float(np.max(np.abs(ex_k[both] - pa_k[both]))) if both.any() else math.nan
        if k == "b":
            continue
        sim_k, se_k = _arr(data, "sim_mean", k), _arr(data, "sim_stderr", k)
        res["exact"] += list((sim_k - ex_k)[both])
        res["paper"] += list((sim_k - pa_k)[both])
        grad += list((2.0 * (pa_k - ex_k) * se_k)[both])   # d(mse_paper - mse_exact)/d sim_i * stderr_i
    ex_r, pa_r = np.array(res["exact"]), np.array(res["paper"])
    n_pts = max(len(ex_r), 1)
    diff = float(np.mean(pa_r ** 2) - np.mean(ex_r ** 2))
    diff_se = float(np.sqrt(np.sum(np.square(grad)))) / n_pts
    rms = {"exact": float(np.sqrt(np.mean(ex_r ** 2))), "paper": float(np.sqrt(np.mean(pa_r ** 2)))}
    data["theory_difference_exact_vs_paper"] = gap
    claims.append(Claim("the exact finite-n theory at the simulated d fits better than the paper's ansatz",
                        exceeds(diff, 0.0, claim_noise("claim_theory_fit", diff_se), "MSE(paper) − MSE(exact)"),
                        f"RMS |sim − theory| over c, m, ω: exact {rms['exact']:.4f}, paper {rms['paper']:.4f} "
                        f"(MSE difference {diff:.2e} ± {diff_se:.1e}); max |exact − paper| over the grid: "
                        + ", ".join(f"{k} {v:.3f}" for k, v in gap.items()), size=size))
    return claims


def authors_claims(data) -> list:
    """The claim of ``overlaps-authors``: the lam_u = 50 theory's phase-1 m lies below the lam ~ 2 simulation."""
    ts = np.array(data["t_sim"])
    ph1 = (ts > 0.3) & (ts <= 1.0)
    m_sim, m_th = _arr(data, "sim_mean", "m", ph1), _arr(data, "theory_at_sim_times", "m", ph1)
    m_se = _arr(data, "sim_stderr", "m", ph1)
    dec = combine(exceeds(a - t, 0.0, claim_noise("claim_authors_m_below", e), "m_sim − m_theory")
                  for a, t, e in zip(m_sim, m_th, m_se))
    return [Claim("with the authors' λ_u = 50 the theory's phase-1 m lies below the λ ≈ 2 experiment", dec,
                  f"mean m on t ∈ (0.3, 1]: theory {m_th.mean():.3f}, simulation {m_sim.mean():.3f}",
                  size=_size(data["params"]))]


@figure_builder(DEFAULT_PROBLEM, FIELDS, sizes=("d", "n"))
def overlaps_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None,
                    progress: bool = False) -> FigureOutput:
    """The ``overlaps`` figure for ``problem`` (default :data:`DEFAULT_PROBLEM`: p, σ, κ, λ_u, λ_w) at the
    simulated size ``d``, ``n`` (default :data:`OVERLAPS_SIZES`); same λ in theory and simulation."""
    data = overlaps_data(quick, problem=problem, d=d, n=n, progress=progress)
    P = data["params"]
    caption = (f"Simulation: d = {P['d']}, n = {P['n']}, λ_u = λ_w = {P['lam_simulation'][0]:g} (theory units), Adam "
               f"{P['epochs']} epochs, small init, exact fresh-noise expectation, {len(P['seeds'])} seeds. "
               f"Theory: the exact finite-n theory (EXACT_FINITE_N) with the same n and λ evaluated at the simulated d "
               f"(solid), the paper's restricted ansatz (dotted), n = d = ∞ (dashed). Phase-1 c ≈ κtσ²/√d is a finite-d "
               f"effect (PAPER §8 row 16) that the exact theory at finite d contains.")
    if (P["p"], P["sigma"], P["kappa"]) != (0.8, 1.0, 2.0):
        caption += f" Problem: p = {P['p']:g}, σ = {P['sigma']:g}, κ = {P['kappa']:g}."
    fig = _plot_overlaps(data, "Learned overlaps vs time (same λ in theory and simulation)", caption)
    rows = agreement_rows(data)
    claims = overlaps_claims(data)
    return finish(fig, out_dir, "overlaps", data, claims=claims, rows=rows, caption=caption, problem=_theory_problem(P),
                  sizes={"d": P["d"], "n": P["n"]})


@figure_builder(AUTHORS_PROBLEM, FIELDS, sizes=("d", "n"))
def overlaps_authors_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None, size=None,
                            progress: bool = True) -> FigureOutput:
    """The ``overlaps-authors`` figure: the theory with ``problem``'s λ (default :data:`AUTHORS_PROBLEM`, the
    authors' λ_u = 50, λ_w = 1) against a simulation with weight decay 1e-5; ``size='paper'`` runs the
    authors' full-size experiment (default problem only)."""
    if size == "paper":   # the authors' full size, fresh noise, resumable (validation/authors_paper.py)
        if problem is not None or d is not None or n is not None:
            raise ValueError("figure 'overlaps-authors' at size 'paper' is the authors' own run: it takes no "
                             "problem, d or n")
        from flowphase.validation.authors_paper import paper_figure

        return paper_figure(out_dir, progress=progress)
    data = overlaps_data(quick, problem=problem, d=d, n=n, weight_decay=1e-5, figure="overlaps-authors")
    P = data["params"]
    caption = (f"Authors' parameters: theory λ_u = {P['lam_theory'][0]:g}, λ_w = {P['lam_theory'][1]:g} (their "
               "notebook: 50, 1) against a simulation with weight decay "
               f"1e−5, which is λ = wd·d·T/2 = {P['lam_simulation'][0]:.3g} in theory units at d = {P['d']}, T = 80 "
               "(PAPER §2.3, §7 item 2). The two λ differ, so the finite-n curves are not the theory of this run: "
               "m and ω are pulled down by the large λ_u in the theory only.")
    fig = _plot_overlaps(data, "Learned overlaps, the authors' parameter choice (λ mismatch)", caption)
    claims = authors_claims(data)
    return finish(fig, out_dir, "overlaps-authors", data, claims=claims, rows=agreement_rows(data),
                  caption=caption, problem=_theory_problem(P), sizes={"d": P["d"], "n": P["n"]})


# ----------------------------------------------------------------------------- mode fraction
