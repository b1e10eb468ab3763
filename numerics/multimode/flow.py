"""Generated weights p_hat_k of the exact (Bayes) flow, computed in the K-dim projection space.

The probability-flow ODE ``dX/dtau = b(X)`` with the Bayes velocity of
:mod:`flowphase.numerics.multimode.field` closes on the projections ``z = Q^T X`` (r = rank G <= K
coordinates), exactly at every d; ``z(0) ~ N(0, I_r)``.  A d = 10^6 flow therefore costs what a d = 10^3
one costs.  Integrators on a schedule's grid ``t_0 < ... < t_{T-1}`` (PAPER §2.5 conventions, the same
as :func:`flowphase.validation.sampling.generate_bayes`: the step ``t_k -> t_{k+1}`` uses the field at
the left end for ``'euler'``, both ends for ``'heun'``; integration stops at the last grid point):

* ``'euler'``, ``'heun'``: on the grid, ``Delta tau_k = tau(t_{k+1}) - tau(t_k)``;
* ``'continuous'``: classical RK4 on ``n_fine`` steps of the same schedule up to the same end point;
  the result with ``n_fine/2`` steps is computed from the same initial points and its difference is
  reported as ``integration_error`` (the exact flow has ``p_hat_k = p_k`` for every k).

Generated weight: ``p_hat_k = E[pi_k(X_end; tau_end)]``, the posterior of mode k at the end time averaged
over the generated points; for the exact continuous flow ``X_tau`` has the law of ``x_tau`` and this
equals ``p_k`` exactly (law of total probability).  The hard fraction (argmax of the posterior) is
reported too.  Initial points: ``reps`` scrambled Sobol sets of ``2^m`` points (randomised QMC, the
standard error is that of the reps).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy.special import ndtri

from flowphase.numerics.multimode.field import posterior_z, velocity_z, velocity
from flowphase.numerics.results import check_finite
from flowphase.theory.mixtures import KMixture
from flowphase.theory.problem import Schedule

__all__ = ["FlowWeights", "projection_flow", "full_flow", "initial_points", "FLOW_METHODS"]

FLOW_METHODS = ("euler", "heun", "continuous")


@dataclass
class FlowWeights:
    """p_hat_k (soft and hard) with standard errors, the end time, and ``max_error = max_k |p_hat_k - p_k|``."""

    p: np.ndarray
    p_hat: np.ndarray
    p_hat_se: np.ndarray
    p_hard: np.ndarray
    method: str
    n_steps: int
    tau_end: float
    d: float
    integration_error: Optional[float] = None
    info: dict = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return float(np.max(np.abs(self.p_hat - self.p)))

    def to_dict(self) -> dict:
        return {"p": self.p.tolist(), "p_hat": self.p_hat.tolist(), "p_hat_se": self.p_hat_se.tolist(),
                "p_hard": self.p_hard.tolist(), "max_error": self.max_error, "method": self.method,
                "n_steps": self.n_steps, "tau_end": self.tau_end, "d": self.d,
                "integration_error": self.integration_error, **self.info}


def initial_points(r: int, m: int = 12, reps: int = 4, seed: int = 0) -> np.ndarray:
    """(reps, 2^m, r) standard normal initial projections (scrambled Sobol)."""
    from scipy.stats import qmc

    out = [ndtri(np.clip(qmc.Sobol(d=int(r), scramble=True, seed=np.random.default_rng([seed, 77, i]))
                         .random_base2(int(m)), 1e-16, 1 - 1e-16)) for i in range(int(reps))]
    return np.stack(out)


def _taus(schedule: Schedule, n_times: int, grid=None):
    ts = schedule.grid(int(n_times)) if grid is None else np.asarray(grid, dtype=float)
    if ts.ndim != 1 or ts.size < 2 or np.any(np.diff(ts) <= 0):
        raise ValueError("the grid must hold at least two strictly increasing times")
    tau = np.asarray(schedule.tau(ts), dtype=float)
    if np.any(np.diff(tau) < 0) or tau[-1] >= 1.0:
        raise ValueError("the schedule must be increasing and end before tau = 1")
    return ts, tau


def _integrate(v, z, taus, method):
    for k in range(taus.size - 1):
        a, b = taus[k], taus[k + 1]
        h = b - a
        if h == 0.0:
            continue
        if method == "euler":
            z = z + h * v(z, a)
        elif method == "heun":
            k1 = v(z, a)
            k2 = v(z + h * k1, b)
            z = z + 0.5 * h * (k1 + k2)
        else:
            mid = 0.5 * (a + b)
            k1 = v(z, a)
            k2 = v(z + 0.5 * h * k1, mid)
            k3 = v(z + 0.5 * h * k2, mid)
            k4 = v(z + h * k3, b)
            z = z + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z


def _weights(mixture, z, tau_end, d, interpolant):
    R, N, r = z.shape
    pi = posterior_z(mixture, z.reshape(-1, r), tau_end, d, interpolant).reshape(R, N, -1)
    est = pi.mean(axis=1)
    hard = np.eye(mixture.K)[pi.argmax(axis=-1)].mean(axis=(0, 1))
    se = est.std(axis=0, ddof=1) / math.sqrt(R) if R > 1 else pi.reshape(-1, mixture.K).std(0) / math.sqrt(N)
    return est.mean(0), se, hard


def projection_flow(mixture: KMixture, schedule: Schedule, *, n_times: int = 80, method: str = "euler",
                    d: Optional[float] = None, grid=None, n_fine: int = 1024, m: int = 12, reps: int = 4,
                    seed: int = 0, interpolant=None, z0=None) -> FlowWeights:
    """p_hat_k of the exact flow on ``schedule``'s grid of ``n_times`` points (module notes).

    ``z0`` (R, N, r) overrides the initial projections (for the d-dimensional cross-check).
    """
    if method not in FLOW_METHODS:
        raise ValueError(f"method must be one of {FLOW_METHODS}, got {method!r}")
    d = mixture.d if d is None else float(d)
    if not (math.isfinite(d) and d >= 1):
        raise ValueError(f"d must be a finite number >= 1, got {d!r}")
    ts, taus = _taus(schedule, n_times, grid)
    z = initial_points(mixture.rank, m, reps, seed) if z0 is None else np.asarray(z0, dtype=float)
    R, N, r = z.shape
    flat = z.reshape(-1, r)

    def v(x, tau):
        return velocity_z(mixture, x, tau, d, interpolant)

    err = None
    if method == "continuous":
        n_fine = int(n_fine)
        if n_fine < 4 or n_fine % 2:
            raise ValueError(f"n_fine must be an even integer >= 4, got {n_fine}")
        fine = np.asarray(schedule.tau(np.linspace(ts[0], ts[-1], n_fine + 1)), dtype=float)
        zf = _integrate(v, flat, fine, "rk4").reshape(R, N, r)
        zc = _integrate(v, flat, fine[::2], "rk4").reshape(R, N, r)
        ph, se, hard = _weights(mixture, zf, taus[-1], d, interpolant)
        err = float(np.max(np.abs(ph - _weights(mixture, zc, taus[-1], d, interpolant)[0])))
        steps = n_fine
    else:
        zf = _integrate(v, flat, taus, method).reshape(R, N, r)
        ph, se, hard = _weights(mixture, zf, taus[-1], d, interpolant)
        steps = taus.size - 1
    check_finite("generated weights", ph)
    return FlowWeights(p=mixture.p.copy(), p_hat=ph, p_hat_se=se, p_hard=hard, method=method, n_steps=steps,
                       tau_end=float(taus[-1]), d=d, integration_error=err,
                       info={"schedule": schedule.to_dict(), "n_points": int(R * N)})


def full_flow(mixture: KMixture, schedule: Schedule, X0, means, *, n_times: int = 80, method: str = "euler",
              grid=None, interpolant=None) -> np.ndarray:
    """The d-dimensional flow with the Bayes velocity from X0 (N, d), for the exactness check (Euler/Heun)."""
    if method not in ("euler", "heun"):
        raise ValueError("full_flow integrates with 'euler' or 'heun'")
    ts, taus = _taus(schedule, n_times, grid)
    return _integrate(lambda x, tau: velocity(mixture, x, tau, means, interpolant), np.asarray(X0, float), taus,
                      method)
