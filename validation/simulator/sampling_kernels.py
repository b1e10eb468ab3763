"""Generation kernels: integrate the probability-flow ODE with learned or exact denoisers (PAPER §2.4–2.5).

numba kernels (:func:`sample_kernel`, :func:`sample_bayes_kernel`) and their NumPy/CuPy twins
(:func:`sample_array`, :func:`sample_bayes_array`), used by :mod:`flowphase.validation.sampling`.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .update import MODEL_TANH

__all__ = ["sample_kernel", "sample_bayes_kernel", "sample_array", "sample_bayes_array", "bayes_denoiser_array"]


@njit(cache=True, parallel=True)
def sample_kernel(X, c, b, u, w, ax, af, ax2, af2, dt, model, heun):
    """Integrate dX/dt = a_x(t) X + a_f(t) f_t(X) over the grid, in place (PAPER §2.4–2.5).

    Parameters
    ----------
    X : (N, d) initial samples X(0) ~ N(0, I), overwritten by X at the last grid point.
    c, b : (T,) ; u, w : (T, d)
        Learned parameters at the grid times t_0..t_{T-1}.
    ax, af : (T-1,) velocity coefficients at the left end t_k of step k (speed of the interval).
    ax2, af2 : (T-1,) the same at the right end t_{k+1} (Heun corrector).
    dt : (T-1,) steps t_{k+1} - t_k.
    heun : 0 forward Euler with the network of t_k driving step t_k -> t_{k+1}; 1 Heun.
    """
    N, d = X.shape
    T = c.shape[0]
    sqd = math.sqrt(d)
    for s in prange(N):
        x = X[s].copy()
        v1 = np.empty(d, dtype=np.float64)
        xp = np.empty(d, dtype=np.float64)
        for k in range(T - 1):
            z = b[k]
            for i in range(d):
                z += w[k, i] * x[i] / sqd
            if model == MODEL_TANH:
                a = math.tanh(z)
            else:
                z -= b[k]
                a = 1.0 if z > 0.0 else (-1.0 if z < 0.0 else 0.0)
            for i in range(d):
                v1[i] = ax[k] * x[i] + af[k] * (c[k] * x[i] + u[k, i] * a)
            if heun == 0:
                for i in range(d):
                    x[i] += dt[k] * v1[i]
            else:
                for i in range(d):
                    xp[i] = x[i] + dt[k] * v1[i]
                z = b[k + 1]
                for i in range(d):
                    z += w[k + 1, i] * xp[i] / sqd
                if model == MODEL_TANH:
                    a = math.tanh(z)
                else:
                    z -= b[k + 1]
                    a = 1.0 if z > 0.0 else (-1.0 if z < 0.0 else 0.0)
                for i in range(d):
                    v2 = ax2[k] * xp[i] + af2[k] * (c[k + 1] * xp[i] + u[k + 1, i] * a)
                    x[i] += 0.5 * dt[k] * (v1[i] + v2)
        for i in range(d):
            X[s, i] = x[i]


@njit(cache=True)
def _bayes_velocity(x, v, a_x, a_f, al, be, h, s2):
    d = x.shape[0]
    D = al * al + be * be * s2
    sx = 0.0
    for i in range(d):
        sx += x[i]
    a = math.tanh(h + be * sx / D)
    cs = be * s2 / D
    ms = al * al / D
    for i in range(d):
        v[i] = a_x * x[i] + a_f * (cs * x[i] + ms * a)


@njit(cache=True, parallel=True)
def sample_bayes_kernel(X, al, be, al2, be2, ax, af, ax2, af2, dt, h, sigma, heun):
    """Integrate the exact velocity ``a_x X + a_f f*(X)`` in place (PAPER §2.1, §2.4).

    ``f*(x) = c* x + m* mu tanh(h + beta mu.x/D)``, ``D = alpha^2 + beta^2 sigma^2``,
    ``c* = beta sigma^2/D``, ``m* = alpha^2/D``; (al, be) at the left and (al2, be2) at the right
    end of each step; Euler (heun=0) or Heun (heun=1).
    """
    N, d = X.shape
    s2 = sigma * sigma
    for s in prange(N):
        x = X[s].copy()
        v1 = np.empty(d, dtype=np.float64)
        v2 = np.empty(d, dtype=np.float64)
        xp = np.empty(d, dtype=np.float64)
        for k in range(dt.shape[0]):
            _bayes_velocity(x, v1, ax[k], af[k], al[k], be[k], h, s2)
            if heun == 0:
                for i in range(d):
                    x[i] += dt[k] * v1[i]
            else:
                for i in range(d):
                    xp[i] = x[i] + dt[k] * v1[i]
                _bayes_velocity(xp, v2, ax2[k], af2[k], al2[k], be2[k], h, s2)
                for i in range(d):
                    x[i] += 0.5 * dt[k] * (v1[i] + v2[i])
        for i in range(d):
            X[s, i] = x[i]


def sample_array(xp, X, c, b, u, w, ax, af, ax2, af2, dt, model, heun):
    """Array-module twin of :func:`sample_kernel`; returns X."""
    d = X.shape[1]
    sqd = math.sqrt(d)
    X = X.astype(xp.float64, copy=True)
    T = c.shape[0]

    def vel(k, Xk, a_x, a_f):
        z = Xk @ w[k].astype(xp.float64) / sqd
        a = xp.tanh(z + float(b[k])) if model == 0 else xp.sign(z)
        return a_x * Xk + a_f * (float(c[k]) * Xk + a[:, None] * u[k].astype(xp.float64)[None, :])

    for k in range(T - 1):
        v1 = vel(k, X, float(ax[k]), float(af[k]))
        if heun:
            Xp = X + float(dt[k]) * v1
            v2 = vel(k + 1, Xp, float(ax2[k]), float(af2[k]))
            X = X + 0.5 * float(dt[k]) * (v1 + v2)
        else:
            X = X + float(dt[k]) * v1
    return X


def bayes_denoiser_array(xp, X, alpha, beta, p, sigma):
    """Exact (Bayes) denoiser E[x1 | x_t = X] for mu = 1_d (PAPER §2.1).

    ``f*(x) = c* x + m* mu tanh(h + beta mu.x / D)``, ``D = alpha^2 + beta^2 sigma^2``,
    ``c* = beta sigma^2 / D``, ``m* = alpha^2 / D``, ``h = artanh(2p-1)`` (for the linear
    interpolant beta = tau).
    """
    h = 0.5 * math.log(p / (1.0 - p))
    D = alpha * alpha + beta * beta * sigma * sigma
    a = xp.tanh(h + beta * X.sum(axis=1) / D)
    return (beta * sigma * sigma / D) * X + (alpha * alpha / D) * a[:, None]


def sample_bayes_array(xp, X, alphas, betas, alphas2, betas2, ax, af, ax2, af2, dt, p, sigma, heun):
    """Integrate the exact velocity ``a_x X + a_f f*(X)`` with Euler or Heun (PAPER §2.4, §3.5)."""
    X = X.astype(xp.float64, copy=True)
    for k in range(len(dt)):
        v1 = ax[k] * X + af[k] * bayes_denoiser_array(xp, X, alphas[k], betas[k], p, sigma)
        if heun:
            Xp = X + dt[k] * v1
            v2 = ax2[k] * Xp + af2[k] * bayes_denoiser_array(xp, Xp, alphas2[k], betas2[k], p, sigma)
            X = X + 0.5 * dt[k] * (v1 + v2)
        else:
            X = X + dt[k] * v1
    return X
