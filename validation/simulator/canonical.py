"""Sign canonicalisation of the learned denoiser, defined at every time including t = 0.

tanh is odd, so ``(u, w, b) -> (-u, -w, -b)`` leaves ``f_t(x) = c x + u tanh(w.x/sqrt(d) + b)``
unchanged (PAPER §2.2, §7.12): m = u.mu/d, omega = w.mu/d and b change sign together, c, sqrt_q,
sqrt_r and m tanh(b) do not.  A simulation must fix this gauge before it compares m, omega, b.

Rule: **flip (u, w, b) so that m + omega >= 0**.  The theory has m > 0 and omega >= 0 at every t
(phase 1: m > 0, omega >= 0, b >= 0 for p > 1/2, PAPER §3.2; phase 2: m > 0, PAPER §3.3), so the rule
agrees with the theory's omega >= 0 wherever omega is informative, and it stays defined where
omega ~ 0: at t = 0 and on the trivial branch the network learns ``u tanh(b) ~ (2p - 1) mu``
(m tanh b = n(2p-1)/(n + lam_u) at d = inf), so m is O(1) while omega is a left-over of the
initialisation.  Canonicalising by the sign of omega there flips m and b at random between runs.

A job is flagged **sign-degenerate** when ``|m + omega|`` is below ``k`` standard deviations of the
projection of a random direction, ``k sqrt((q + r)/d)`` (``(u + w).mu/d`` of u, w independent of mu
is N(0, |u + w|^2/d^2)); there the gauge (and m, omega, b) are not determined by the run.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["canonical_sign", "sign_degenerate", "canonicalise_params", "canonicalise_overlaps", "DEGENERATE_K"]

#: threshold of :func:`sign_degenerate` in standard deviations of a random projection
DEGENERATE_K = 3.0
#: columns of (c, m, omega, b, sqrt_q, sqrt_r[, loss]) rows that change sign under the symmetry
ODD_COLUMNS = (1, 2, 3)


def canonical_sign(m, omega) -> np.ndarray:
    """+1 or -1 per job: the factor that makes ``m + omega >= 0`` (+1 where it is 0)."""
    g = np.asarray(m, dtype=np.float64) + np.asarray(omega, dtype=np.float64)
    return np.where(g < 0, -1.0, 1.0)


def sign_degenerate(m, omega, sqrt_q, sqrt_r, d, *, k: float = DEGENERATE_K) -> np.ndarray:
    """True where ``|m + omega| < k sqrt((q + r)/d)``: the sign is not determined by the run."""
    if not (d >= 1 and math.isfinite(float(d))):
        raise ValueError(f"d must be a finite number >= 1, got {d!r}")
    g = np.abs(np.asarray(m, dtype=np.float64) + np.asarray(omega, dtype=np.float64))
    q = np.asarray(sqrt_q, dtype=np.float64) ** 2 + np.asarray(sqrt_r, dtype=np.float64) ** 2
    return g < k * np.sqrt(q / float(d))


def canonicalise_params(b, u, w):
    """``(b, u, w, flip)`` with (u, w, b) multiplied by the canonical sign of each job.

    ``b`` (J,), ``u, w`` (J, d); returns new arrays of the same dtype and ``flip`` (J,) in {+1, -1}.
    """
    d = u.shape[1]
    m = u.sum(axis=1, dtype=np.float64) / d
    om = w.sum(axis=1, dtype=np.float64) / d
    flip = canonical_sign(m, om)
    f = flip.astype(u.dtype)
    return b * f.astype(b.dtype), u * f[:, None], w * f[:, None], flip


def canonicalise_overlaps(rows: np.ndarray) -> np.ndarray:
    """Canonicalise overlap rows ``(..., >= 4)`` ordered c, m, omega, b, ... in place; returns ``rows``."""
    flip = canonical_sign(rows[..., 1], rows[..., 2])
    for col in ODD_COLUMNS:
        rows[..., col] *= flip
    return rows
