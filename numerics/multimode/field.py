"""Bayes denoiser and velocity of a K-mode mixture, in d dimensions and in the K-dim projection space.

With ``x = alpha x0 + beta x1``, ``x1 = mu_k + sigma eta`` (alpha the noise coefficient, PAPER §1.2) and
``D = alpha^2 + beta^2 sigma^2``, given the mode k the point x1 | x is Gaussian with mean
``c x + m mu_k`` (``c = beta sigma^2/D``, ``m = alpha^2/D``) and per-coordinate variance ``sigma^2 alpha^2/D``;
the mode posterior is

    pi_k(x) = softmax_k(log p_k + beta mu_k.x / D)        (the term -beta^2 |mu_k|^2/(2D) is the same for all k),

so the Bayes denoiser (PAPER §2.1 for K = 2) and the velocity (PAPER §2.4) are

    f*(x) = c x + m sum_k pi_k(x) mu_k,     b(x) = (alpha'/alpha) x + (beta' - alpha' beta/alpha) f*(x).

Projection space: with ``mu_k = sqrt(d) Q a_k`` (A = rows a_k, ``A A^T = G``, Q an orthonormal d x r frame) the
posterior depends on x only through ``z = Q^T x`` (logits ``log p + (beta sqrt(d)/D) A z``) and
``Q^T b(x) = (alpha'/alpha) z + (beta' - alpha' beta/alpha)(c z + m sqrt(d) A^T pi)``: the flow of z is closed
and exact at every d (the orthogonal part only rescales linearly).
"""
from __future__ import annotations

import numpy as np

from flowphase.theory.closed_forms import bayes_coefficients
from flowphase.theory.mixtures import KMixture
from flowphase.theory.problem import LinearInterpolant

__all__ = ["coefficients", "softmax", "posterior", "bayes_denoiser", "velocity", "posterior_z", "velocity_z"]


def _interp(interpolant):
    return LinearInterpolant() if interpolant is None else interpolant


def coefficients(tau, sigma: float, interpolant=None):
    """(alpha, beta, D, c, m, dalpha, dbeta) at physical time tau (derivatives in tau)."""
    it = _interp(interpolant)
    tau = float(tau)
    if not 0.0 <= tau < 1.0:
        raise ValueError(f"tau must lie in [0, 1), got {tau!r}")
    alpha, beta = float(it.alpha(tau)), float(it.beta(tau))
    bc = bayes_coefficients(alpha, beta, sigma)        # the Bayes denoiser (PAPER §2.1), written once
    return alpha, beta, bc["D"], bc["c"], bc["m"], float(it.dalpha(tau)), float(it.dbeta(tau))


def softmax(logits):
    """Row-wise softmax along the last axis (shifted by the row maximum)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def posterior(mixture: KMixture, x, tau, means, interpolant=None):
    """pi_k(x) for points x (N, d) with explicit means (K, d) (module notes)."""
    _, beta, D, *_ = coefficients(tau, mixture.sigma, interpolant)
    return softmax(np.log(mixture.p)[None, :] + (beta / D) * (np.asarray(x) @ np.asarray(means).T))


def bayes_denoiser(mixture: KMixture, x, tau, means, interpolant=None):
    """f*(x) = c x + m sum_k pi_k mu_k for x (N, d)."""
    _, _, _, c, m, _, _ = coefficients(tau, mixture.sigma, interpolant)
    return c * np.asarray(x) + m * posterior(mixture, x, tau, means, interpolant) @ np.asarray(means)


def velocity(mixture: KMixture, x, tau, means, interpolant=None):
    """Probability-flow velocity in tau, ``(alpha'/alpha) x + (beta' - alpha' beta/alpha) f*(x)``."""
    alpha, beta, _, _, _, dalpha, dbeta = coefficients(tau, mixture.sigma, interpolant)
    return (dalpha / alpha) * np.asarray(x) + (dbeta - dalpha * beta / alpha) * bayes_denoiser(mixture, x, tau, means,
                                                                                              interpolant)


def posterior_z(mixture: KMixture, z, tau, d: float, interpolant=None):
    """pi_k from the projections z (N, r): logits ``log p + (beta sqrt(d)/D) A z``."""
    _, beta, D, *_ = coefficients(tau, mixture.sigma, interpolant)
    A = mixture.factor
    return softmax(np.log(mixture.p)[None, :] + (beta * np.sqrt(d) / D) * (np.asarray(z) @ A.T))


def velocity_z(mixture: KMixture, z, tau, d: float, interpolant=None):
    """Projected velocity ``(alpha'/alpha) z + (beta' - alpha' beta/alpha)(c z + m sqrt(d) A^T pi)``."""
    alpha, beta, D, c, m, dalpha, dbeta = coefficients(tau, mixture.sigma, interpolant)
    A = mixture.factor
    z = np.asarray(z)
    pi = softmax(np.log(mixture.p)[None, :] + (beta * np.sqrt(d) / D) * (z @ A.T))
    return (dalpha / alpha) * z + (dbeta - dalpha * beta / alpha) * (c * z + m * np.sqrt(d) * (pi @ A))
