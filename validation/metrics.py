"""Numbers the figures compute from theory curves and trained models (PAPER §3-§5, PREDECESSOR §2.3).

These are library functions (no plotting): the figure modules of :mod:`flowphase.validation.figures`
call them and plot what they return.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["OVERLAP_KEYS", "theory_curves", "trained_test_mse", "sign_aligned_mean_error", "fine_split_errors",
           "weighted_slope"]

OVERLAP_KEYS = ("c", "m", "omega", "b")


def theory_curves(problem, ts, theory=None):
    """Learned c, m, ω, b of ``learned_curve(problem, ts, theory)`` as lists, and its jumps as dicts."""
    from flowphase.numerics.learned import learned_curve

    cur = learned_curve(problem, ts, theory)
    return {k: getattr(cur, k).tolist() for k in OVERLAP_KEYS}, [vars(j).copy() for j in cur.jumps]


def trained_test_mse(sim, n_test: int = 400, seed: int = 12345) -> tuple:
    """Per-time test MSE per dimension of trained denoisers on fresh data (PAPER §4, eps(t)).

    For every seed's trained ``(c, u, w, b)`` at time t: ``E |f_t(alpha x0 + beta x1) - x1|^2 / d``
    over ``n_test`` fresh pairs; returns (mean over seeds, stderr over seeds), shape (T,).
    """
    pr = sim.problem
    d = int(pr.d)
    rng = np.random.default_rng(seed)
    x1, _, _ = pr.mixture.sample(n_test, d=d, rng=rng)
    x0 = rng.standard_normal((n_test, d))
    tau = np.atleast_1d(pr.tau(np.asarray(sim.ts, float)))
    it = pr.interpolant
    S, T = sim.params["c"].shape
    out = np.empty((S, T))
    for k in range(T):
        x = float(it.alpha(tau[k])) * x0 + float(it.beta(tau[k])) * x1
        for i in range(S):
            u, w = sim.params["u"][i, k], sim.params["w"][i, k]
            f = sim.params["c"][i, k] * x + np.tanh(x @ w / math.sqrt(d) + sim.params["b"][i, k])[:, None] * u[None, :]
            out[i, k] = float(np.mean(np.sum((f - x1) ** 2, axis=1)) / d)
    se = out.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(T)
    return out.mean(axis=0), se


def sign_aligned_mean_error(samples) -> tuple:
    """``(|mu_hat - mu|^2 / d, its stderr, cos(mu_hat, mu))`` of the sign-aligned sample mean, mu = 1_d
    (PREDECESSOR §2.3).

    Each sample is flipped onto the + mode (the sign of its sum) before averaging, as for Cui et al.'s
    symmetric mixture; the standard error is that of the mean over the d coordinates of ``(mu_hat_i - 1)^2``.
    """
    X = np.asarray(samples, dtype=float)
    d = X.shape[1]
    s = np.where(X.sum(axis=1) >= 0, 1.0, -1.0)
    mu_hat = (s[:, None] * X).mean(axis=0)
    sq = (mu_hat - 1.0) ** 2
    return (float(np.mean(sq)), float(np.std(sq, ddof=1) / math.sqrt(d)),
            float(mu_hat.sum() / (np.linalg.norm(mu_hat) * math.sqrt(d))))


def fine_split_errors(mixture, p_hat) -> dict:
    """Error of the children's conditional weights within each split, ``max_c |p_hat_c/p_hat_S - p_c/p_S|``."""
    p_hat = np.asarray(p_hat, dtype=float)
    out = {}
    for sp in mixture.tree:
        q = mixture.split_weights(sp)
        qh = np.array([p_hat[list(ch)].sum() for ch in sp])
        out[" | ".join(",".join(mixture.names[k] for k in ch) for ch in sp)] = float(
            np.max(np.abs(qh / qh.sum() - q / q.sum())))
    return out


def weighted_slope(x, y, stderr) -> tuple:
    """Weighted least-squares slope of ``y`` against ``x`` (weights 1/stderr^2) and its standard error."""
    x, y, se = (np.asarray(v, dtype=float) for v in (x, y, stderr))
    if x.size < 2:
        raise ValueError("weighted_slope needs at least two points")
    w = 1.0 / np.maximum(se, 1e-300) ** 2
    xm = np.sum(w * x) / np.sum(w)
    sxx = float(np.sum(w * (x - xm) ** 2))
    slope = float(np.sum(w * (x - xm) * y) / sxx)
    return slope, float(math.sqrt(1.0 / sxx))
