"""Cui et al.'s flow model with limited samples: learned denoiser, flow statistics, end of flow (PREDECESSOR §2).

Letters follow PREDECESSOR: ``alpha(t)`` multiplies the **data**, ``beta(t)`` the noise.  A flowphase
:class:`~flowphase.theory.problem.Interpolant` (whose ``alpha`` is the noise) is mapped by
``alpha_Cui = interpolant.beta(t)``, ``beta_Cui = interpolant.alpha(t)``.

* Learned parameters ``c, m, q_xi, q_eta`` (Result 2.1, PREDECESSOR §2.1):
  :func:`flowphase.theory.closed_forms.cui_learned_parameters`.
* Flow statistics (Result III.1, PREDECESSOR §2.2): ``X = s_X (M mu + Q^xi xi + Q^eta eta) + X_perp``,
  ``dM/dt = gamma M + zeta m``, ``dQ^xi/dt = gamma Q^xi + zeta q_xi``, ``dQ^eta/dt = gamma Q^eta + zeta q_eta``,
  ``dP/dt = 2 gamma P`` with ``zeta = alpha' - beta' alpha/beta``, ``gamma = zeta c + beta'/beta``;
  M = Q = 0, P = 1 at t = 0.  Integrated with :mod:`flowphase.numerics.rk` (DOPRI5 or the notebook's
  Euler scheme), and in closed form (:func:`flowphase.theory.flow.cui_closed_forms`, verified
  symbolically there): ``M = n alpha/(n+lam)``, ``Q^xi = (beta - sqrt(D/B))/(n+lam)``,
  ``Q^eta = alpha/(n+lam)``, ``P = D/B``.  ``Q = M^2 + n (Q^xi)^2 + n sigma^2 (Q^eta)^2 + P``,
  ``theta = M / sqrt(Q)`` (per-sample cosine with mu).
* End of flow (PREDECESSOR §2.3-§2.4): the generated cluster mean ``mu_hat = M mu + Q^xi xi + Q^eta eta``
  at t = 1 has ``MSE = |mu_hat - mu|^2/d = (M-1)^2 + n (Q^xi)^2 + n sigma^2 (Q^eta)^2
  = [lam^2 + n(sigma^2 + v)]/(n+lam)^2`` and ``cos(mu_hat, mu) = 1/sqrt(1 + (sigma^2+v)/n)``,
  ``v = A/B = sigma^2 + lam/(n+lam-1)``; the Bayes-optimal estimator has ``MSE_BO = sigma^2/(n+sigma^2)``,
  ``cos_BO = sqrt(n/(n+sigma^2))``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np
from scipy.optimize import minimize_scalar

from flowphase.numerics import _generated as G
from flowphase.numerics import rk
from flowphase.numerics.results import SolverResult, check_finite
from flowphase.theory import checks
from flowphase.theory.closed_forms import cui_learned_parameters
from flowphase.theory.problem import Interpolant, LinearInterpolant

__all__ = ["CuiFlow", "cui_learned", "cui_flow", "cui_closed_form", "cui_end_of_flow", "cui_bayes_optimal",
           "cui_point", "cui_cli_record", "cui_flow_extremes", "STATS"]

STATS = ("M", "Q_xi", "Q_eta", "P")


def _check(n, sigma, lam):
    """Cui et al.'s ranges (:mod:`flowphase.theory.checks`): n finite >= 2, sigma in (0, inf), lam in [0, inf)."""
    n = checks.real("n", n)
    if not (2.0 <= n < math.inf):
        raise ValueError(f"n must be a finite number >= 2 (n = 1 is degenerate, PREDECESSOR §2.1), got {n!r}")
    return n, checks.positive("sigma", sigma), checks.nonnegative("lam", lam)


def _coefs(interpolant: Interpolant, t):
    """Cui letters: (alpha, beta, alpha', beta') = (data, noise, d data/dt, d noise/dt).

    Locals of this module call them ``data, noise, ddata, dnoise`` so that no letter changes meaning.
    """
    return (np.asarray(interpolant.beta(t), dtype=float), np.asarray(interpolant.alpha(t), dtype=float),
            np.asarray(interpolant.dbeta(t), dtype=float), np.asarray(interpolant.dalpha(t), dtype=float))


def cui_learned(t, n: float, sigma: float, lam: float = 0.1,
                interpolant: Optional[Interpolant] = None) -> Dict[str, np.ndarray]:
    """Learned ``c, m, q_xi, q_eta`` along ``t`` (PREDECESSOR §2.1, via theory.closed_forms)."""
    n, sigma, lam = _check(n, sigma, lam)
    it = interpolant or LinearInterpolant()
    t = np.atleast_1d(np.asarray(t, dtype=float))
    data, noise, _, _ = _coefs(it, t)
    rows = [cui_learned_parameters(float(di), float(ni), n, sigma, lam) for di, ni in zip(data, noise)]
    return {k: np.array([r[k] for r in rows]) for k in ("c", "m", "q_xi", "q_eta", "D")}


def cui_closed_form(t, n: float, sigma: float, lam: float = 0.1,
                    interpolant: Optional[Interpolant] = None) -> Dict[str, np.ndarray]:
    """Closed-form flow statistics M, Q_xi, Q_eta, P, Q, theta at ``t`` (PREDECESSOR §2.2).

    The kernel is generated from :func:`flowphase.theory.flow.cui_closed_forms` into
    :func:`flowphase.numerics._generated.cui_flow_statistics` (no sympy at run time).
    """
    n, sigma, lam = _check(n, sigma, lam)
    it = interpolant or LinearInterpolant()
    t = np.atleast_1d(np.asarray(t, dtype=float))
    data, noise, _, _ = _coefs(it, t)
    vals = np.array([G.cui_flow_statistics(float(di), float(ni), n, sigma, lam) for di, ni in zip(data, noise)],
                    dtype=float).reshape(t.size, 4)
    M, Qx, Qe, P = (vals[:, j].copy() for j in range(4))
    return _with_derived({"M": M, "Q_xi": Qx, "Q_eta": Qe, "P": P}, n, sigma)


def _with_derived(st, n, sigma):
    st["Q"] = st["M"] ** 2 + n * st["Q_xi"] ** 2 + n * sigma ** 2 * st["Q_eta"] ** 2 + st["P"]
    st["theta"] = st["M"] / np.sqrt(st["Q"])
    return st


@dataclass
class CuiFlow(SolverResult):
    """Flow statistics of Cui et al.'s model along ``t`` (``value`` = dict of arrays, PREDECESSOR §2.2).

    ``stats`` holds M, Q_xi, Q_eta, P, Q, theta; ``learned`` holds c, m, q_xi, q_eta at ``t``;
    ``closed`` the closed forms at ``t`` (for comparison).
    """

    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stats: Dict[str, np.ndarray] = field(default_factory=dict)
    learned: Dict[str, np.ndarray] = field(default_factory=dict)
    closed: Dict[str, np.ndarray] = field(default_factory=dict)


def _coefficient_curves(grid_eval, n, sigma, lam, it):
    data, noise, ddata, dnoise = _coefs(it, grid_eval)
    lp = cui_learned(grid_eval, n, sigma, lam, it)
    zeta = ddata - dnoise * data / noise
    gamma = zeta * lp["c"] + dnoise / noise
    # state (M, Q_xi, Q_eta, r = sqrt(P)): dr/dt = gamma r moves the orthogonal component X_perp as a
    # sampler does (Euler on the vector multiplies P by (1 + dt gamma)^2, as the authors' notebook)
    curves = np.vstack([gamma, gamma, gamma, gamma,
                        zeta * lp["m"], zeta * lp["q_xi"], zeta * lp["q_eta"], np.zeros_like(gamma)])
    check_finite("Cui flow coefficients", curves)
    return curves


def cui_flow(t_grid, n: float, sigma: float, *, lam: float = 0.1, interpolant: Optional[Interpolant] = None,
             method: str = "dopri5", n_coef: int = 4001, end_offset: float = 1e-9, rtol: float = 1e-10,
             atol: float = 1e-12, evaluate: str = "left") -> CuiFlow:
    """Integrate the summary-statistics ODE of Cui et al. on ``t_grid`` (PREDECESSOR §2.2).

    Parameters
    ----------
    t_grid : increasing array in [0, 1] starting at 0
        Output times.
    n, sigma, lam : float
        Samples (>= 2), cluster standard deviation, ridge on w.
    interpolant : Interpolant, optional
        Linear (default) or e.g. :class:`~flowphase.theory.problem.TrigonometricInterpolant`.
    method : {'dopri5', 'euler', ...}
        ``'dopri5'``: adaptive, coefficients tabulated on ``n_coef`` points and interpolated linearly
        (the last node at ``1 - end_offset`` when t = 1 is requested: gamma and the zeta-products are
        regular there, gamma = 1/2 dlnD/dt, but evaluate as 0/0).  Fixed-step tableaus
        take exactly one step per interval of ``t_grid`` with the coefficients at the grid nodes.
    evaluate : {'left', 'right'}
        Fixed-step methods only: coefficients of the step ``t_k -> t_{k+1}`` taken at ``t_k`` (Euler) or
        at ``t_{k+1}``.  The authors' notebook is ``method='euler', evaluate='right'`` on
        ``t_grid = linspace(0, 0.99, 100)``: 99 steps of 0.01 stopping at t = 0.99, giving
        M = 0.97284, |Q^xi| = 0.18327, Q^eta = 0.12161, P = 2.24843 at sigma = 1.5, n = 8, lam = 0.1
        (PREDECESSOR §2.6).

    Notes
    -----
    The integrated state is ``(M, Q^xi, Q^eta, sqrt(P))`` with ``d sqrt(P)/dt = gamma sqrt(P)``
    (equivalent to ``dP/dt = 2 gamma P``; Euler on it is Euler on the vector X_perp).
    """
    n, sigma, lam = _check(n, sigma, lam)
    it = interpolant or LinearInterpolant()
    tg = np.asarray(t_grid, dtype=float)
    if tg.ndim != 1 or tg.size < 2 or tg[0] != 0.0 or np.any(np.diff(tg) <= 0) or tg[-1] > 1.0:
        raise ValueError("t_grid must be a strictly increasing 1-d array in [0, 1] starting at 0")
    if method not in rk.TABLEAUS:
        raise ValueError(f"method must be one of {sorted(rk.TABLEAUS)}, got {method!r}")
    adaptive = method in ("dopri5", "heun_euler")
    if evaluate not in ("left", "right"):
        raise ValueError(f"evaluate must be 'left' or 'right', got {evaluate!r}")
    if adaptive:
        grid = np.linspace(0.0, tg[-1], int(n_coef))
        ev = grid.copy()
    else:
        grid = tg.copy()
        ev = np.append(grid[1:], grid[-1]) if evaluate == "right" else grid.copy()
    ev[ev >= 1.0] = 1.0 - end_offset
    curves = _coefficient_curves(ev, n, sigma, lam, it)
    y0 = np.array([0.0, 0.0, 0.0, 1.0])
    res = rk.solve(rk.rhs_affine, tg, y0, tgrid=grid, curves=curves, method=method, rtol=rtol, atol=atol)
    vals = res.value.copy()
    vals[:, 3] = vals[:, 3] ** 2
    stats = _with_derived({k: vals[:, j].copy() for j, k in enumerate(STATS)}, n, sigma)
    learned = cui_learned(np.minimum(tg, 1.0 - end_offset), n, sigma, lam, it)
    out = CuiFlow(value=stats, converged=res.converged, iterations=res.iterations, residual=res.residual,
                  message=res.message, info={"method": method, "interpolant": it.name, "nfev": res.info["nfev"],
                                             "evaluate": evaluate if not adaptive else "dense"},
                  t=tg, stats=stats, learned=learned, closed=cui_closed_form(tg, n, sigma, lam, it))
    return out


def cui_flow_extremes(n: float, sigma: float, lam: float = 0.1) -> dict:
    """Minimum of Q_t and maximum of theta_t along the linear schedule (PREDECESSOR §2.7, §5 Fig. 1)."""
    n, sigma, lam = _check(n, sigma, lam)
    q = minimize_scalar(lambda t: float(cui_closed_form(t, n, sigma, lam)["Q"][0]), bounds=(0.0, 1.0),
                        method="bounded", options={"xatol": 1e-10})
    th = minimize_scalar(lambda t: -float(cui_closed_form(t, n, sigma, lam)["theta"][0]), bounds=(0.3, 1.0),
                         method="bounded", options={"xatol": 1e-10})
    return {"Q_min": float(q.fun), "t_Q_min": float(q.x), "theta_max": float(-th.fun), "t_theta_max": float(th.x)}


def cui_bayes_optimal(n: float, sigma: float) -> dict:
    """Bayes-optimal cluster-mean estimator (PREDECESSOR §2.4): MSE_BO = sigma^2/(n+sigma^2), cos_BO."""
    n, sigma, _ = _check(n, sigma, 0.0)
    s2 = sigma * sigma
    return {"mse_bayes": s2 / (n + s2), "cos_bayes": math.sqrt(n / (n + s2))}


def cui_end_of_flow(n: float, sigma: float, lam: float = 0.1) -> dict:
    """End-of-flow quantities at t = 1 (PREDECESSOR §2.3-§2.4), from the closed-form statistics.

    Returns ``M, Q_xi, Q_eta, P (= v), Q, theta`` (per-sample cosine theta_1), ``v = A/B``,
    ``mse = (M-1)^2 + n Q_xi^2 + n sigma^2 Q_eta^2``, ``cos_mu = M/sqrt(M^2 + n Q_xi^2 + n sigma^2 Q_eta^2)``,
    ``mse_bayes``, ``cos_bayes``, ``mse_ratio = mse/mse_bayes`` (-> 2 as n -> inf).
    """
    n, sigma, lam = _check(n, sigma, lam)
    st = {k: float(v[0]) for k, v in cui_closed_form(1.0, n, sigma, lam).items()}
    spread = n * st["Q_xi"] ** 2 + n * sigma ** 2 * st["Q_eta"] ** 2
    lp = cui_learned_parameters(1.0, 0.0, n, sigma, lam)
    out = dict(st)
    out.update(v=lp["A"] / lp["B"], mse=(st["M"] - 1.0) ** 2 + spread,
               cos_mu=st["M"] / math.sqrt(st["M"] ** 2 + spread))
    out.update(cui_bayes_optimal(n, sigma))
    out["mse_ratio"] = out["mse"] / out["mse_bayes"]
    check_finite("Cui end of flow", list(out.values()))
    return out


def cui_point(t: float, n: float, sigma: float, lam: float = 0.1) -> dict:
    """Everything at one time t of the linear schedule, CLI-ready (PREDECESSOR §2.1-§2.4).

    Keys: ``c, m, q_xi, q_eta`` (learned at t), ``M, Q_xi, Q_eta, P, Q`` and ``cos`` (= theta_t, per-sample
    cosine) of the flow at t (closed form), and the end-of-flow ``mse, cos_mu, mse_bayes, cos_bayes``.
    """
    if not 0.0 <= float(t) <= 1.0:
        raise ValueError(f"t must lie in [0, 1], got {t!r}")
    n, sigma, lam = _check(n, sigma, lam)
    lp = cui_learned_parameters(float(t), 1.0 - float(t), n, sigma, lam)
    st = {k: float(v[0]) for k, v in cui_closed_form(float(t), n, sigma, lam).items()}
    end = cui_end_of_flow(n, sigma, lam)
    return {"c": lp["c"], "m": lp["m"], "q_xi": lp["q_xi"], "q_eta": lp["q_eta"],
            "M": st["M"], "Q_xi": st["Q_xi"], "Q_eta": st["Q_eta"], "P": st["P"], "Q": st["Q"], "cos": st["theta"],
            "mse": end["mse"], "cos_mu": end["cos_mu"], "mse_bayes": end["mse_bayes"], "cos_bayes": end["cos_bayes"]}


#: the record of ``flowphase theory cui`` (same as :func:`cui_point`)
cui_cli_record = cui_point
