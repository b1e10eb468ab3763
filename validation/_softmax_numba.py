"""Numba kernel of the K-head softmax denoiser simulator (PAPER §2.1–2.3 generalised).

Model ``f(x) = c x + sum_k u_k pi_k(x)``, ``pi = softmax(W x / sqrt(d) + b)``; loss per job (one time,
one seed) in mean-over-points units

    L = (1/(n K_d)) sum_{nu, q} |f(alpha x0^{nu q} + beta x1^nu) - x1^nu|^2 / d + (lam_u |U|^2 + lam_w |W|^2)/(n d),

with fresh noise ``x0`` drawn per step from the counter-based generator of
:mod:`flowphase.validation.simulator.rng` (row ``nu * K_d + q``), so the array path
(:mod:`flowphase.validation.multimode_sim`) reproduces the same numbers.  Optimisers: Adam (bias-corrected)
and gradient descent preconditioned by d on U and W (their per-coordinate curvature is O(1/d), that of
c and b O(1)).  The Adam / GD steps are the simulator's (:func:`flowphase.validation.simulator.update.adam_scalar`,
:func:`~flowphase.validation.simulator.update.adam_vector`, :func:`~flowphase.validation.simulator.update.gd_vector`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from flowphase.validation.simulator.rng import normal_pair, row_key
from flowphase.validation.simulator.update import adam_scalar, adam_vector, gd_vector

__all__ = ["softmax_train_kernel", "OPT_ADAM", "OPT_GD"]

OPT_ADAM = 0
OPT_GD = 1


@njit(cache=True, parallel=True)
def softmax_train_kernel(x1, job_seed_index, job_tix, seeds, alpha, beta, c, b, U, W,
                         mc, vc, mb, vb, mU, vU, mW, vW, epochs, step0, draws, lr, lam_u, lam_w, optimizer,
                         beta1, beta2, adam_eps, loss_out):
    """Train every job (prange) for ``epochs`` steps in place; ``loss_out[j]`` gets the last step's loss."""
    J = c.shape[0]
    K = b.shape[1]
    n = x1.shape[1]
    d = x1.shape[2]
    sqd = math.sqrt(d)
    npair = (d + 1) // 2
    nrow = n * draws
    for j in prange(J):
        sidx = job_seed_index[j]
        x = np.empty(2 * npair)
        f = np.empty(d)
        lg = np.empty(K)
        pi = np.empty(K)
        gk = np.empty(K)
        gU = np.empty((K, d))
        gW = np.empty((K, d))
        gb = np.empty(K)
        for ep in range(epochs):
            step = step0 + ep
            gU[:, :] = 0.0
            gW[:, :] = 0.0
            gb[:] = 0.0
            gc = 0.0
            loss = 0.0
            for row in range(nrow):
                nu = row // draws
                key = row_key(seeds[sidx], step, job_tix[j], row)
                for pr in range(npair):
                    z0, z1 = normal_pair(key, pr)
                    x[2 * pr] = z0
                    x[2 * pr + 1] = z1
                for i in range(d):
                    x[i] = alpha[j] * x[i] + beta[j] * x1[sidx, nu, i]
                mx = -1e300
                for k in range(K):
                    s = 0.0
                    for i in range(d):
                        s += W[j, k, i] * x[i]
                    lg[k] = s / sqd + b[j, k]
                    if lg[k] > mx:
                        mx = lg[k]
                tot = 0.0
                for k in range(K):
                    pi[k] = math.exp(lg[k] - mx)
                    tot += pi[k]
                for k in range(K):
                    pi[k] /= tot
                scale = 2.0 / (nrow * d)
                for i in range(d):
                    s = c[j] * x[i] - x1[sidx, nu, i]
                    for k in range(K):
                        s += pi[k] * U[j, k, i]
                    f[i] = s
                    loss += s * s / (nrow * d)
                gbar = 0.0
                for k in range(K):
                    s = 0.0
                    for i in range(d):
                        s += f[i] * U[j, k, i]
                    gk[k] = scale * s
                    gbar += pi[k] * gk[k]
                for i in range(d):
                    gc += scale * f[i] * x[i]
                for k in range(K):
                    dl = pi[k] * (gk[k] - gbar)
                    gb[k] += dl
                    for i in range(d):
                        gU[k, i] += scale * pi[k] * f[i]
                        gW[k, i] += dl * x[i] / sqd
            ru = 2.0 * lam_u / (n * d)
            rw = 2.0 * lam_w / (n * d)
            for k in range(K):
                for i in range(d):
                    loss += (lam_u * U[j, k, i] ** 2 + lam_w * W[j, k, i] ** 2) / (n * d)
                    gU[k, i] += ru * U[j, k, i]
                    gW[k, i] += rw * W[j, k, i]
            loss_out[j] = loss
            if optimizer == OPT_GD:
                c[j] -= lr * gc
                gd_vector(b[j], gb, lr)
                for k in range(K):
                    gd_vector(U[j, k], gU[k], lr * d)
                    gd_vector(W[j, k], gW[k], lr * d)
            else:
                t = step + 1.0
                c1 = 1.0 - beta1 ** t
                c2 = 1.0 - beta2 ** t
                c[j], mc[j], vc[j] = adam_scalar(c[j], mc[j], vc[j], gc, lr, c1, c2, beta1, beta2, adam_eps)
                adam_vector(b[j], mb[j], vb[j], gb, lr, c1, c2, beta1, beta2, adam_eps)
                for k in range(K):
                    adam_vector(U[j, k], mU[j, k], vU[j, k], gU[k], lr, c1, c2, beta1, beta2, adam_eps)
                    adam_vector(W[j, k], mW[j, k], vW[j, k], gW[k], lr, c1, c2, beta1, beta2, adam_eps)
