"""Statistics of the generated samples along the learned flow, at many times t in [0, 2] (PAPER §3.5).

:func:`generated_distribution` gives the end of the flow; :func:`generated_along_flow` evaluates the
same d -> infinity description at every requested time of the sampler:

* **phase 1** (t <= 1): only ``y = mu.X/sqrt(d)`` moves, ``dy/dt = kappa m_t tanh(omega_t y + b_t)``
  from ``y(0) ~ N(0, 1)`` with the learned curves of :func:`~flowphase.numerics.generation.phase_one_curves`.
  Reported: ``p_positive = P(y(t) > 0)`` (separatrix: ``Phi(-y0*)`` with 0 integrated back from t),
  ``y_mean = E[y(t)]`` and ``y_variance`` (trapezoid rule on nodes of y(0), as for y(1)).  The mean
  overlap ``mu.X/d = y/sqrt(d)`` is 0 at d = inf.  At n = inf the field is the Bayes one and y(t) has the
  law of ``mu.x_t/sqrt(d)`` = ``p N(kappa t, 1) + (1-p) N(-kappa t, 1)``.
* **phase 2** (t = 1 + t' > 1): the mode of every sample is fixed (``p_positive = p_hat`` of the chosen
  transition), and ``mean_overlap = R(t')``, ``variance = P(t') = |X_perp|^2/d`` (equal to the generated
  variance A/B at t' = 1), ``Q_eta(t')``, ``Q_xi(t')`` are the closed forms of
  :func:`~flowphase.numerics.generation.phase_two_closed_form` (PAPER §3.5; the ODE of
  :func:`~flowphase.numerics.generation.phase_two_flow` agrees with them, tests/test_generated.py).
"""
from __future__ import annotations

import numpy as np

from flowphase.numerics.generation.curves import check_problem, phase_one_curves
from flowphase.numerics.generation.distribution import generated_distribution
from flowphase.numerics.generation.phase_two_stats import phase_two_closed_form
from flowphase.numerics.generation.transport import phase_one_transport, separatrix_fraction, solve_curves
from flowphase.numerics.results import check_finite

__all__ = ["generated_along_flow"]


def generated_along_flow(problem, ts, transition: str = "exact", *, n_nodes: int = 401, n_grid: int = 101,
                         rtol: float = 1e-10, atol: float = 1e-12) -> dict:
    """Generated-sample statistics at each time of ``ts`` (module notes).

    Returns
    -------
    dict
        ``{"transition", "p_hat", "times": [row, ...]}`` with one row per t (in the given order):
        phase 1 ``{"t", "phase": 1, "p_positive", "y_mean", "y_variance", "mean_overlap": 0.0}``,
        phase 2 ``{"t", "phase": 2, "p_positive", "mean_overlap", "variance", "Q_eta", "Q_xi"}``.
    """
    problem = check_problem(problem)
    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError("ts must be a non-empty list of times")
    problem.schedule.check_t(ts)
    tr = problem.training
    end = generated_distribution(problem, transition=transition, n_nodes=n_nodes, n_grid=n_grid, rtol=rtol,
                                 atol=atol)
    rows = {}
    one = np.unique(ts[ts <= 1.0])
    if one.size:
        tg, cv = phase_one_curves(problem, n_grid)
        x, wts, _, _ = phase_one_transport(problem, n_nodes=n_nodes, curves=(tg, cv), rtol=rtol, atol=atol)
        t_eval = one if one[0] == 0.0 else np.concatenate([[0.0], one])
        ys = solve_curves(t_eval, x, tg, cv, rtol, atol).value if t_eval.size > 1 else x[None, :]
        ys = ys[-one.size:]
        for t, y in zip(one, ys):
            p_pos = 0.5 if t == 0.0 else separatrix_fraction(0.0, [(tg, cv, 0.0, float(t))]).value
            mean = float(np.sum(wts * y))
            var = float(np.sum(wts * (y - mean) ** 2))
            rows[float(t)] = {"t": float(t), "phase": 1, "p_positive": float(p_pos), "y_mean": mean,
                              "y_variance": var, "mean_overlap": 0.0}
    for t in np.unique(ts[ts > 1.0]):
        cf = phase_two_closed_form(float(t) - 1.0, tr.n, problem.sigma, tr.lam_u, tr.noise)
        rows[float(t)] = {"t": float(t), "phase": 2, "p_positive": end.p_hat, "mean_overlap": float(cf["R"]),
                          "variance": float(cf["P"]), "Q_eta": float(cf["Q_eta"]), "Q_xi": float(cf["Q_xi"])}
    out = [rows[float(t)] for t in ts]
    check_finite("generated statistics along the flow", [v for r in out for k, v in r.items() if k != "phase"])
    return {"transition": transition, "p_hat": end.p_hat, "times": out}
