"""Phase 2 of the generated flow: summary statistics R, Q_eta, Q_xi, P in closed form and by the ODE (PAPER §3.5).

With the mode sign fixed, ``X = s_X (R mu + Q_eta eta~ + Q_xi xi~) + X_perp``, ``P = |X_perp|^2/d``;
``dR/dt' = [(c-1) R + m]/(1-t')`` (same for Q_eta with q_eta, Q_xi with q_xi), ``dP/dt' = 2 (c-1) P/(1-t')``,
R = Q = 0, P = 1 at t' = 0 (derived in :mod:`flowphase.theory.flow`).
"""
from __future__ import annotations

import math

import numpy as np

from flowphase.numerics import rk
from flowphase.theory.closed_forms import phase_two_ridge
from flowphase.theory.conventions import noise_convention
from flowphase.theory.problem import Problem

__all__ = ["phase_two_closed_form", "phase_two_flow"]


def phase_two_closed_form(tp, n: float, sigma: float, lam_u: float, noise: str = "fresh") -> dict:
    """Closed-form phase-2 generated statistics at t' (PAPER §3.5; verified symbolically in theory/flow.py).

    ``R = n t'/(n+lam_u)``, ``Q_eta = sigma t'/(n+lam_u)``, ``Q_xi = sgn (1 - t' - sqrt(D/B))/(n+lam_u)`` with
    ``sgn = -ridge_shift`` = +1 fixed, 0 fresh, -1 notebook (:data:`~flowphase.theory.conventions.NOISE_CONVENTIONS`), ``P = D/B`` (A, B, D from
    :func:`flowphase.theory.closed_forms.phase_two_ridge`).  n = inf: R = t', Q = 0.
    """
    ridge = phase_two_ridge(float(tp), n, sigma, lam_u, noise)
    tp = float(tp)
    P = ridge["D"] / ridge["B"]
    if math.isinf(n):
        return {"R": tp, "Q_eta": 0.0, "Q_xi": 0.0, "P": P, "variance": ridge["A"] / ridge["B"]}
    sgn = -float(noise_convention(noise).ridge_shift)
    k = n + lam_u
    return {"R": n * tp / k, "Q_eta": sigma * tp / k, "Q_xi": sgn * (1.0 - tp - math.sqrt(P)) / k, "P": P,
            "variance": ridge["A"] / ridge["B"]}


def phase_two_flow(problem: Problem, *, tps=None, n_grid: int = 4001, rtol: float = 1e-10, atol: float = 1e-12,
                   end_offset: float = 1e-9):
    """Integrate the phase-2 summary-statistics ODE with the RK engine (PAPER §3.5).

    The learned ``c, m, q_eta, q_xi`` (:func:`flowphase.numerics.phase_two.phase_two_arrays`, fresh /
    fixed / notebook conventions) are tabulated on ``n_grid`` points of t' and the coefficients
    ``(c-1)/(1-t')`` and ``(m, q_eta, q_xi)/(1-t')`` passed as curves to
    :func:`flowphase.numerics.rk.rhs_affine`.  Both are regular at t' = 1 (``(c-1)/(1-t') = 1/2 dlnD/dt'``);
    the last node is evaluated at ``1 - end_offset`` to avoid the 0/0.  Returns the RK result with
    ``value[:, k]`` = (R, Q_eta, Q_xi, P) at ``tps`` (default [0, 1]).
    """
    from flowphase.numerics.phase_two import phase_two_arrays

    tr = problem.training
    grid = np.linspace(0.0, 1.0, int(n_grid))
    ev = grid.copy()
    ev[-1] = 1.0 - end_offset
    rows = phase_two_arrays(ev, 1.0 - ev, tr.n, problem.sigma, tr.lam_u, noise=tr.noise)
    c, m, qe, qx = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    inv = 1.0 / (1.0 - ev)
    G = (c - 1.0) * inv
    curves = np.vstack([G, G, G, 2.0 * G, m * inv, qe * inv, qx * inv, np.zeros_like(G)])
    tps = np.array([0.0, 1.0]) if tps is None else np.asarray(tps, dtype=float)
    if np.any(tps < 0) or np.any(tps > 1):
        raise ValueError("tps must lie in [0, 1]")
    return rk.solve(rk.rhs_affine, tps, np.array([0.0, 0.0, 0.0, 1.0]), tgrid=grid, curves=curves, rtol=rtol, atol=atol)
