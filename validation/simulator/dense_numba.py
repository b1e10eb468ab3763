"""Numba training kernels that read every data row: the dense sampler and the exact expectation.

* :func:`train_kernel` -- fresh noise with all ``n K d`` numbers of x0 drawn per step
  (``noise_sampler='dense'``, the reference), or Cui's fixed noise (one x0 per point);
* :func:`train_expected_kernel` -- the exact expectation over the fresh noise (``draws=0``, K -> infinity).

Model and loss (PAPER §2.1, §2.3): ``f_t(x) = c x + u tanh(w.x/sqrt(d) + b)`` and
``L_t = (1/K) sum_{nu,k} |f_t(x_t^{nu k}) - x1^nu|^2 / d + (lam_u |u|^2 + lam_w |w|^2) / d`` with
``x_t = alpha x0 + beta x1``.  The tied sign model of Cui et al. (PREDECESSOR §1.3–1.4) is
``f = c x + w sign(w.x/sqrt(d))`` with ridge ``lam_w |w|^2 / d`` and no gradient through the sign.
Noise: counter based (:mod:`.rng`), so the NumPy/CuPy twins (:mod:`.dense_array`) draw the same numbers.
The optimiser step and the schedule are :mod:`.update`'s.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .rng import normal_pair, row_key
from .update import MODEL_TANH, adam_or_gd, job_overlaps, lr_at, row_terms

__all__ = ["train_kernel", "expected_point", "train_expected_kernel"]


@njit(cache=True, parallel=True)
def train_kernel(x1, fixed_x0, job_seed_index, job_tix, seeds, alpha, beta,
                 c, b, u, w, state_s, state_v,
                 model, optimizer, K, step0, n_steps, lr, lr_decay_to, total_steps,
                 beta1, beta2, eps, lam_u, lam_w, use_fixed, train_c, train_b,
                 record_every, hist, gnorm2):
    """Train all jobs (independent per-time problems) for ``n_steps`` full-batch steps.

    Parameters
    ----------
    x1 : (S, n, d) float array
        Training data per seed, ``x1 = s mu + sigma eta`` (PAPER §1.1).
    fixed_x0 : (S, n, d) float array
        The fixed noises (Cui's convention, used when ``use_fixed``); ignored otherwise.
    job_seed_index, job_tix : (J,) int64
        Seed index into ``x1``/``seeds`` and time index (noise stream) of each job.
    seeds : (S,) int64
        Integer seeds of the counter-based noise.
    alpha, beta : (J,) float64
        Interpolant coefficients of each job's time (``x_t = alpha x0 + beta x1``).
    c, b : (J,) ; u, w : (J, d)
        Parameters, updated in place.
    state_s : (J, 8) float64 ; state_v : (J, 4, d) float64 or float32 (the storage dtype of u)
        Adam moments of (c, b) and of (u, w) (:func:`.update.adam_or_gd`).
    model : 0 tanh (untied, bias), 1 Cui's tied sign model (u is w, no bias).
    optimizer : 0 Adam, 1 gradient descent (preconditioned, :mod:`.update`).
    K : noise draws per data point per step (fresh noise); 1 for fixed noise.
    step0 : global index of the first step (Adam bias correction, noise counters, lr schedule).
    lr, lr_decay_to, total_steps : :func:`.update.lr_at`.
    hist : (J, n_records, 7)
        Overlaps and loss recorded before global step ``k`` into record ``k // record_every``
        when ``k % record_every == 0``.
    gnorm2 : (J,) float64
        Squared gradient norm of the last step (in the trained parameters).

    Notes
    -----
    Gradients of the theory-unit loss (PAPER §2.3), with ``r = c x + u a - x1``,
    ``a = tanh(z)``, ``z = w.x/sqrt(d) + b``:
    ``dL/dc = 2/(K d) sum r.x``, ``dL/du = 2/(K d) sum a r + 2 lam_u u/d``,
    ``dL/dw = 2/(K d) sum (u.r)(1-a^2) x/sqrt(d) + 2 lam_w w/d``,
    ``dL/db = 2/(K d) sum (u.r)(1-a^2)``.  All dot products of a row are taken in one pass
    (``u.r = c u.x + a |u|^2 - u.x1``), the gradient accumulation in a second pass over the
    row while it is in cache; the n x d residual matrix is never formed.
    """
    S, n, d = x1.shape
    J = c.shape[0]
    sqd = math.sqrt(d)
    nrows = n * K
    inv = 2.0 / (K * d)
    tanh_model = model == MODEL_TANH
    for j in prange(J):
        sidx = job_seed_index[j]
        seed = seeds[sidx]
        tix = job_tix[j]
        al = alpha[j]
        be = beta[j]
        buf = np.empty(d, dtype=np.float64)   # the row x_t (float64 work buffer)
        acc_ax = np.empty(d, dtype=np.float64)   # sum a x
        acc_gx = np.empty(d, dtype=np.float64)   # sum g_z x
        acc_ay = np.empty(d, dtype=np.float64)   # sum a x1
        gu = np.empty(d, dtype=np.float64)
        gw = np.empty(d, dtype=np.float64)
        for k in range(n_steps):
            step = step0 + k
            uu = 0.0
            for i in range(d):
                uu += u[j, i] * u[j, i]
            for i in range(d):
                acc_ax[i] = 0.0
                acc_gx[i] = 0.0
                acc_ay[i] = 0.0
            g_c = 0.0
            g_b = 0.0
            sum_a2 = 0.0
            loss = 0.0
            cj = c[j]
            bj = b[j]
            for row in range(nrows):
                nu = row // K
                # pass 1: build the row x_t, dot products
                if use_fixed:
                    for i in range(d):
                        buf[i] = al * fixed_x0[sidx, nu, i] + be * x1[sidx, nu, i]
                else:
                    key = row_key(seed, step, tix, row)
                    npair = (d + 1) // 2
                    for p in range(npair):
                        g0, g1 = normal_pair(key, p)
                        i0 = 2 * p
                        buf[i0] = al * g0 + be * x1[sidx, nu, i0]
                        if i0 + 1 < d:
                            buf[i0 + 1] = al * g1 + be * x1[sidx, nu, i0 + 1]
                swx = 0.0
                sux = 0.0
                suy = 0.0
                sxx = 0.0
                sxy = 0.0
                syy = 0.0
                for i in range(d):
                    xi = buf[i]
                    yi = x1[sidx, nu, i]
                    swx += w[j, i] * xi
                    sux += u[j, i] * xi
                    suy += u[j, i] * yi
                    sxx += xi * xi
                    sxy += xi * yi
                    syy += yi * yi
                a, rr, rx, gz = row_terms(cj, swx / sqd + bj, tanh_model, sux, uu, suy, sxx, sxy, syy)
                loss += rr
                g_c += rx
                sum_a2 += a * a
                if tanh_model:
                    g_b += gz
                    gzs = gz / sqd
                else:
                    gzs = 0.0
                # pass 2: accumulate while the row is in cache
                for i in range(d):
                    xi = buf[i]
                    acc_ax[i] += a * xi
                    acc_gx[i] += gzs * xi
                    acc_ay[i] += a * x1[sidx, nu, i]
            loss = loss / (K * d)
            ww = 0.0
            for i in range(d):
                ww += w[j, i] * w[j, i]
            loss += (lam_u * uu + lam_w * ww) / d if tanh_model else lam_w * uu / d
            if (step % record_every) == 0:
                job_overlaps(j, c, b, u, w, hist, step // record_every, loss)
            g_c *= inv
            g_b *= inv
            lam_dec = lam_u if tanh_model else lam_w
            for i in range(d):
                ui = u[j, i]
                gu[i] = inv * (cj * acc_ax[i] + sum_a2 * ui - acc_ay[i]) + 2.0 * lam_dec * ui / d
                gw[i] = inv * acc_gx[i] + 2.0 * lam_w * w[j, i] / d
            adam_or_gd(j, c, b, u, w, state_s, state_v, g_c, g_b, gu, gw, optimizer,
                       lr_at(step, lr, lr_decay_to, total_steps), step + 1, beta1, beta2, eps, n, train_c,
                       train_b and tanh_model, not tanh_model, gnorm2)


@njit(cache=True)
def expected_point(c, b, alpha, beta, sqd, uu, uw, ww, uy, wy, yy, gq, wq):
    """Exact expectation over x0 ~ N(0, I_d) of one point's loss and its scalar derivatives.

    With ``g = w.x0/|w|``, ``z = s g + z0``, ``s = alpha |w|/sqrt(d)``, ``z0 = beta w.y/sqrt(d) + b``,
    ``a = tanh z`` and Stein's lemma ``E[g phi(z)] = s E[phi'(z)]``:
    ``l = c^2 alpha^2 d + (c beta - 1)^2 |y|^2 + |u|^2 E[a^2] + 2 c alpha^2 (1 - E[a^2]) u.w/sqrt(d)
    + 2 (c beta - 1) E[a] u.y``  (PAPER §2.3, fresh noise, K -> infinity).
    Gaussian averages by Gauss--Hermite nodes ``gq`` with normalised weights ``wq``.

    Returns (l, dl/dc, dl/dz0, coef_u_u, coef_u_w, coef_u_y, coef_w_u, coef_w_w) where
    ``dl/du = coef_u_u u + coef_u_w w + coef_u_y y`` and
    ``dl/dw = coef_w_u u + coef_w_w w + (dl/dz0) beta/sqrt(d) y``.
    """
    s = alpha * math.sqrt(ww) / sqd
    z0 = beta * wy / sqd + b
    ea = 0.0
    ea2 = 0.0
    eap = 0.0
    eaap = 0.0
    eapp = 0.0
    ea2pp = 0.0
    for q in range(gq.shape[0]):
        a = math.tanh(s * gq[q] + z0)
        ap = 1.0 - a * a
        app = -2.0 * a * ap
        ea += wq[q] * a
        ea2 += wq[q] * a * a
        eap += wq[q] * ap
        eaap += wq[q] * a * ap
        eapp += wq[q] * app
        ea2pp += wq[q] * (2.0 * ap * ap + 2.0 * a * app)
    d = sqd * sqd
    cb1 = c * beta - 1.0
    l = (c * c * alpha * alpha * d + cb1 * cb1 * yy + uu * ea2 + 2.0 * c * alpha * alpha * (1.0 - ea2) * uw / sqd
         + 2.0 * cb1 * ea * uy)
    dl_dc = (2.0 * c * alpha * alpha * d + 2.0 * beta * cb1 * yy + 2.0 * alpha * alpha * (1.0 - ea2) * uw / sqd
             + 2.0 * beta * ea * uy)
    G1 = 2.0 * cb1 * uy                       # dl/dE[a]
    G2 = uu - 2.0 * c * alpha * alpha * uw / sqd   # dl/dE[a^2]
    dl_dz0 = G1 * eap + G2 * 2.0 * eaap
    coef_u_u = 2.0 * ea2
    coef_u_w = 2.0 * c * alpha * alpha * (1.0 - ea2) / sqd
    coef_u_y = 2.0 * cb1 * ea
    coef_w_u = coef_u_w
    coef_w_w = alpha * alpha / d * (G1 * eapp + G2 * ea2pp)
    return l, dl_dc, dl_dz0, coef_u_u, coef_u_w, coef_u_y, coef_w_u, coef_w_w


@njit(cache=True, parallel=True)
def train_expected_kernel(x1, job_seed_index, alpha, beta, c, b, u, w, state_s, state_v, gq, wq,
                          optimizer, step0, n_steps, lr, lr_decay_to, total_steps, beta1, beta2, eps,
                          lam_u, lam_w, train_c, train_b, record_every, hist, gnorm2):
    """Train all jobs on the **exact** fresh-noise objective (expectation over x0, K -> infinity).

    Same model, loss, optimiser and arguments as :func:`train_kernel` (tanh model only), with
    the average over x0 computed by :func:`expected_point` (Gauss--Hermite in the single
    Gaussian direction w.x0; the orthogonal directions are integrated exactly).  One pass over
    each data row per step; no random numbers, O(n d) per step (PAPER §2.3).
    """
    S, n, d = x1.shape
    J = c.shape[0]
    sqd = math.sqrt(d)
    for j in prange(J):
        sidx = job_seed_index[j]
        al = alpha[j]
        be = beta[j]
        gu = np.empty(d, dtype=np.float64)
        gw = np.empty(d, dtype=np.float64)
        for k in range(n_steps):
            step = step0 + k
            uu = 0.0
            uw = 0.0
            ww = 0.0
            for i in range(d):
                uu += u[j, i] * u[j, i]
                uw += u[j, i] * w[j, i]
                ww += w[j, i] * w[j, i]
            for i in range(d):
                gu[i] = 0.0
                gw[i] = 0.0
            cj = c[j]
            bj = b[j]
            loss = 0.0
            g_c = 0.0
            g_b = 0.0
            cuu = 0.0
            cuw = 0.0
            cwu = 0.0
            cww = 0.0
            for nu in range(n):
                uy = 0.0
                wy = 0.0
                yy = 0.0
                for i in range(d):
                    yi = x1[sidx, nu, i]
                    uy += u[j, i] * yi
                    wy += w[j, i] * yi
                    yy += yi * yi
                l, dl_dc, dl_dz0, c_uu, c_uw, c_uy, c_wu, c_ww = expected_point(
                    cj, bj, al, be, sqd, uu, uw, ww, uy, wy, yy, gq, wq)
                loss += l
                g_c += dl_dc
                g_b += dl_dz0
                cuu += c_uu
                cuw += c_uw
                cwu += c_wu
                cww += c_ww
                cy_w = dl_dz0 * be / sqd
                for i in range(d):
                    yi = x1[sidx, nu, i]
                    gu[i] += c_uy * yi
                    gw[i] += cy_w * yi
            for i in range(d):
                ui = u[j, i]
                wi = w[j, i]
                gu[i] = (gu[i] + cuu * ui + cuw * wi) / d + 2.0 * lam_u * ui / d
                gw[i] = (gw[i] + cwu * ui + cww * wi) / d + 2.0 * lam_w * wi / d
            loss = loss / d + (lam_u * uu + lam_w * ww) / d
            if (step % record_every) == 0:
                job_overlaps(j, c, b, u, w, hist, step // record_every, loss)
            g_c /= d
            g_b /= d
            adam_or_gd(j, c, b, u, w, state_s, state_v, g_c, g_b, gu, gw, optimizer,
                       lr_at(step, lr, lr_decay_to, total_steps), step + 1, beta1, beta2, eps, n, train_c,
                       train_b, False, gnorm2)
