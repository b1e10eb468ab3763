"""The generated distribution of the learned flow at d -> infinity: the end of the flow (PAPER §3.5, §3.8).

:func:`generated_distribution` chains phase 1 (:mod:`.transport`), the t = 1+ transition (``'euler'`` or
``'exact'`` through the window of :mod:`.curves`) and phase 2 (:mod:`.phase_two_stats`); the notes of
:mod:`flowphase.numerics.generation` describe each piece.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from flowphase.numerics.generation.curves import WINDOWS, check_problem, phase_one_curves, window_curves
from flowphase.numerics.generation.phase_two_stats import phase_two_closed_form, phase_two_flow
from flowphase.numerics.generation.transport import phase_one_transport, separatrix_fraction
from flowphase.numerics.results import ConvergenceError, GeneratedStatistics, check_finite
from flowphase.theory.problem import Problem

__all__ = ["TRANSITIONS", "SAMPLER_OF_TRANSITION", "generated_distribution", "mode_fraction_table"]

TRANSITIONS = ("exact", "euler")


#: the sampler name (:attr:`GeneratedStatistics.sampler`) of each t = 1+ transition
SAMPLER_OF_TRANSITION = {"exact": "continuous", "euler": "euler"}


def generated_distribution(problem: Problem, transition: str = "exact", *, window: str = "learned",
                           window_end: Optional[float] = None, n_nodes: int = 401, n_grid: int = 101,
                           rtol: float = 1e-10, atol: float = 1e-12, throw: bool = True) -> GeneratedStatistics:
    """Generated mode fraction, mean overlap and variance of the learned flow (PAPER §3.5).

    Parameters
    ----------
    problem : Problem
        Dilated schedule, linear interpolant; ``problem.d`` is not used (d -> inf theory).
    transition : {'exact', 'euler'}
        Treatment of the t = 1+ window (module notes).
    window : {'learned', 'bayes'}
        Field inside the window for ``'exact'`` at finite n (module notes).
    window_end : float, optional
        End of the window in ``sigma' = tau sqrt(d)`` (default 60; for n = 128, lam = 2 the learned-window
        p_hat is 0.80632, 0.80747, 0.80796, 0.80801, 0.80802 at window_end = 6, 12, 30, 60, 100).
    n_nodes, n_grid : int
        Quadrature nodes of y(0) for expectations of y(1); time-grid points of the phase-1 curves.
    throw : bool
        Raise :class:`ConvergenceError` if a leg did not converge (default); otherwise return with
        ``converged=False``.

    Returns
    -------
    GeneratedStatistics
        ``theory='paper'``: ``p_hat``, ``mean_overlap``, ``variance``, ``y1_mean``, ``y1_prob_positive``, and
        ``sampler`` (:data:`SAMPLER_OF_TRANSITION`); ``converged`` when every Runge-Kutta leg (phase-1 transport,
        separatrix, phase-2 flow) converged, ``iterations`` their accepted steps, ``residual`` the largest final
        error estimate of the phase-1 transport and the phase-2 flow; ``info`` holds ``transition``, the ODE values
        of R(1), Q_eta(1), Q_xi(1), P(1), the separatrix y0*, the window end and the step counts.
    """
    problem = check_problem(problem)
    if transition not in TRANSITIONS:
        raise ValueError(f"transition must be one of {TRANSITIONS}, got {transition!r}")
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")
    tg, cv = phase_one_curves(problem, n_grid)
    nodes, weights, y1, res1 = phase_one_transport(problem, n_nodes=n_nodes, curves=(tg, cv), rtol=rtol, atol=atol)
    y1_mean = float(np.sum(weights * y1))
    phase1 = (tg, cv, 0.0, 1.0)
    p_pos = separatrix_fraction(0.0, [phase1]).value
    info = {"n_nodes": int(n_nodes), "phase1_steps": res1.iterations}
    if transition == "euler":
        om1, b1 = cv[1, -1], cv[2, -1]
        if om1 > 0.0:
            sep = separatrix_fraction(-b1 / om1, [phase1])
            p_hat, y0s, steps = sep.value, sep.info["y0_star"], sep.iterations
        else:  # omega_1 = 0: every sample follows sign(b_1)
            p_hat, y0s, steps = (1.0 if b1 > 0 else 0.0 if b1 < 0 else 0.5), math.nan, 0
        info.update(threshold_y1=(-b1 / om1 if om1 > 0 else None), omega_1=float(om1), b_1=float(b1))
    else:
        learned = window == "learned" and not problem.training.infinite
        end = 60.0 if window_end is None else float(window_end)
        grid, wc = window_curves(problem, end, window)
        om_e, b_e = wc[1, -1], wc[2, -1]
        if not om_e > 0.0:
            raise ConvergenceError(f"the window field has omega = {om_e} at sigma' = {end}: no saturation")
        sep = separatrix_fraction(-b_e / om_e, [phase1, (grid, wc, problem.kappa, end)])
        p_hat, y0s, steps = sep.value, sep.info["y0_star"], sep.iterations
        info.update(window_end=end, window=("bayes" if not learned else "learned"))
    info.update(y0_star=y0s, separatrix_steps=steps)
    tr = problem.training
    flow = phase_two_flow(problem)
    R, Qe, Qx, P = (float(v) for v in flow.value[-1])
    closed = phase_two_closed_form(1.0, tr.n, problem.sigma, tr.lam_u, tr.noise)
    info.update(ode={"R": R, "Q_eta": Qe, "Q_xi": Qx, "P": P}, closed_form=closed)
    ok = bool(res1.converged and flow.converged)
    info["transition"] = transition
    out = GeneratedStatistics(value=None, converged=ok, iterations=res1.iterations + steps + flow.iterations,
                              residual=max(res1.residual, flow.residual),
                              message="ok" if ok else "a Runge-Kutta leg did not converge", info=info,
                              p_hat=float(p_hat), mean_overlap=float(closed["R"]),
                              variance=float(closed["variance"]), y1_mean=y1_mean,
                              y1_prob_positive=float(p_pos), sampler=SAMPLER_OF_TRANSITION[transition],
                              theory="paper", d=math.inf)
    check_finite("generated distribution", [out.p_hat, out.mean_overlap, out.variance, out.y1_mean])
    out.value = out.as_dict()
    if throw:
        out.raise_if_failed("generated distribution")
    return out


def mode_fraction_table(problem: Problem, ns, transitions=("exact", "euler"), **kw) -> list:
    """p_hat of the learned flow against n (PAPER §3.8: close to p already at n = 128, lam ~ 2).

    One row per n: ``{'n', 'p_hat_<transition>' ..., 'mean_overlap', 'variance'}``; other parameters from
    ``problem``; ``kw`` is passed to :func:`generated_distribution`.
    """
    rows = []
    for n in ns:
        pr = problem.replace(n=n)
        row = {"n": float(n)}
        for tr in transitions:
            g = generated_distribution(pr, tr, **kw)
            row[f"p_hat_{tr}"] = g.p_hat
            row["mean_overlap"], row["variance"] = g.mean_overlap, g.variance
        rows.append(row)
    return rows
