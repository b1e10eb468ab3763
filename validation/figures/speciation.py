"""The ``speciation`` figure: cloning probability vs t/t_S as d grows (PREDECESSOR §4)."""
from __future__ import annotations

import math

import numpy as np

from flowphase.theory.problem import Problem
from flowphase.validation.claims import CONFIRMED, Claim, FigureOutput, within
from flowphase.validation.tolerances import claim_limit

from ._common import figure_builder, figure_problem, figure_size, finish, plt

__all__ = ["DEFAULT_PROBLEM", "speciation_data", "speciation_figure"]

#: Biroli et al.'s balanced two-mode mixture (|μ|² = d, m̃ = 1); the figure takes σ from the user's problem
DEFAULT_PROBLEM = Problem.undilated(p=0.5, sigma=1.0)
FIELDS = ("sigma",)


def speciation_data(quick: bool = False, *, problem=None) -> dict:
    """Cloning probability phi vs t/t_S for d in {256, 1024, 4096, 16384} (PREDECESSOR §4); ``problem``
    (default :data:`DEFAULT_PROBLEM`) gives σ."""
    from flowphase.numerics.speciation import cloning_probability, speciation_time, speciation_time_linear

    sigma = figure_problem("speciation", problem, DEFAULT_PROBLEM, FIELDS).sigma

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


@figure_builder(DEFAULT_PROBLEM, FIELDS)
def speciation_figure(out_dir, *, quick: bool = False, problem=None, d=None, n=None) -> FigureOutput:
    """The ``speciation`` figure for ``problem``'s σ (d is swept; an exact n = ∞ computation, no n)."""
    plt_ = plt()
    figure_size("speciation", "d", d, problem, [256, 1024, 4096, 16384], swept=True)
    figure_size("speciation", "n", n, problem, "infinite (Bayes field)", swept=True)
    data = speciation_data(quick, problem=problem)
    x = np.array(data["t_over_ts"])
    fig, ax = plt_.subplots(figsize=(6.5, 4.2))
    for d in data["d"]:
        ax.plot(x, data["phi"][str(d)], label=f"d = {d} (t_S = {data['t_s'][str(d)]:.2f})")
    ax.axvline(1.0, color="grey", lw=0.6)
    ax.set_xlabel("t / t_S")
    ax.set_ylabel("cloning probability φ")
    ax.set_title("Speciation: φ sharpens to a step at t_S = ½ ln(d + σ²)")
    ax.legend(fontsize=8)
    # sharpness: the drop of phi across [0.8, 1.2] t_S grows with d
    lo, hi = np.argmin(np.abs(x - 0.8)), np.argmin(np.abs(x - 1.2))
    drops = [data["phi"][str(d)][lo] - data["phi"][str(d)][hi] for d in data["d"]]
    sig2 = data["params"]["sigma"] ** 2
    rows = [{"quantity": f"t_S (d={d})", "theory": 0.5 * math.log(d + sig2), "simulation": data["t_s"][str(d)],
             "stderr": None} for d in data["d"]]
    lin = [data["t_s_linear"][str(d)] * math.sqrt(d) for d in data["d"]]
    lim = claim_limit("claim_speciation_linear")
    claims = [Claim("φ(t) sharpens into a step at t_S as d grows", bool(np.all(np.diff(drops) > 0)),
                    "drop of φ over t/t_S ∈ [0.8, 1.2]: " + ", ".join(f"d={d}: {v:.3f}" for d, v in zip(data["d"], drops))),
              Claim("speciation on the linear interpolant at t_s ≈ 1/√d (√d·t_s → 1)",
                    bool(np.all(np.diff([abs(v - 1) for v in lin]) < 0))
                    and within(abs(lin[-1] - 1), lim)[0] == CONFIRMED,
                    ", ".join(f"d={d}: √d·t_s = {v:.4f}" for d, v in zip(data["d"], lin))
                    + f" (limit |√d·t_s − 1| ≤ {lim:g})")]
    return finish(fig, out_dir, "speciation", data, claims=claims, rows=rows,
                  problem=figure_problem("speciation", problem, DEFAULT_PROBLEM, FIELDS))
