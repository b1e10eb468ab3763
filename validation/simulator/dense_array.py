"""NumPy/CuPy twins of :mod:`.dense_numba` (the ``numpy`` and ``cupy`` backends; dense sampler, fixed noise,
exact expectation).

Every function takes the array module ``xp`` (``numpy`` or ``cupy``) first and implements exactly the
algorithm of the numba kernel (same loss, gradients, counter-based noise of :mod:`.rng`, optimiser step
and schedule of :mod:`.update`), vectorised over the jobs (independent per-time problems, PAPER §2.1)
and the rows.  With ``xp = numpy`` it is the reference the numba kernels are tested against; with
``xp = cupy`` it runs on a GPU unchanged.
"""
from __future__ import annotations

import math

import numpy as np

from .rng import noise_rows
from .update import MODEL_TANH, adam_or_gd_array, lr_at, overlaps_array

__all__ = ["train_array", "train_expected_array"]


def train_array(xp, x1, fixed_x0, job_seed_index, job_tix, seeds, alpha, beta, c, b, u, w,
                state_s, state_v, *, model, optimizer, K, step0, n_steps, lr, lr_decay_to, total_steps,
                beta1, beta2, eps, lam_u, lam_w, use_fixed, train_c, train_b, record_every, hist, gnorm2,
                job_chunk=None):
    """Array-module twin of :func:`.dense_numba.train_kernel` (same arguments; the numbers keyword-only).

    The jobs are processed in chunks of ``job_chunk`` (all at once by default) with batched
    matrix products; the row matrices are (chunk, n K, d).
    """
    S, n, d = x1.shape
    J = c.shape[0]
    sqd = math.sqrt(d)
    inv = 2.0 / (K * d)
    chunk = J if job_chunk is None else max(1, int(job_chunk))
    rows = np.arange(n * K)
    seeds_np = np.asarray(seeds)
    sidx_np = np.asarray(job_seed_index)
    tanh_model = model == MODEL_TANH
    lam_dec = lam_u if tanh_model else lam_w
    for k in range(n_steps):
        step = step0 + k
        lr_k = lr_at(step, lr, lr_decay_to, total_steps)
        for j0 in range(0, J, chunk):
            sl = slice(j0, min(J, j0 + chunk))
            sidx = sidx_np[sl]
            Y = x1[xp.asarray(sidx)]                                  # (J', n, d)
            Yr = xp.repeat(Y, K, axis=1) if K > 1 else Y              # (J', nK, d)
            if use_fixed:
                X0 = fixed_x0[xp.asarray(sidx)]
            else:
                X0 = noise_rows(xp, seeds_np[sidx], step, np.asarray(job_tix)[sl], rows, d, dtype=xp.float64)
            al = xp.asarray(alpha[sl])[:, None, None]
            be = xp.asarray(beta[sl])[:, None, None]
            X = (al * X0 + be * Yr).astype(xp.float64)
            Yr64 = Yr.astype(xp.float64)
            uj = u[sl].astype(xp.float64)
            wj = w[sl].astype(xp.float64)
            cj = c[sl].astype(xp.float64)
            bj = b[sl].astype(xp.float64)
            swx = xp.matmul(X, wj[:, :, None])[:, :, 0]
            sux = xp.matmul(X, uj[:, :, None])[:, :, 0]
            suy = xp.matmul(Yr64, uj[:, :, None])[:, :, 0]
            sxx = (X * X).sum(axis=2)
            sxy = (X * Yr64).sum(axis=2)
            syy = (Yr64 * Yr64).sum(axis=2)
            if tanh_model:
                a = xp.tanh(swx / sqd + bj[:, None])
            else:
                a = xp.sign(swx / sqd + bj[:, None])
            uu = (uj * uj).sum(axis=1)
            ww = (wj * wj).sum(axis=1)
            ur = cj[:, None] * sux + a * uu[:, None] - suy
            rx = cj[:, None] * sxx + a * sux - sxy
            rr = (cj[:, None] ** 2 * sxx + a * a * uu[:, None] + syy + 2.0 * cj[:, None] * a * sux
                  - 2.0 * cj[:, None] * sxy - 2.0 * a * suy)
            loss = rr.sum(axis=1) / (K * d)
            loss = loss + ((lam_u * uu + lam_w * ww) / d if tanh_model else lam_w * uu / d)
            if step % record_every == 0:
                rec = step // record_every
                hist[sl, rec, :6] = overlaps_array(xp, c[sl], b[sl], u[sl], w[sl])
                hist[sl, rec, 6] = loss
            g_c = inv * rx.sum(axis=1)
            gz = ur * (1.0 - a * a) if tanh_model else xp.zeros_like(ur)
            g_b = inv * gz.sum(axis=1)
            acc_ax = xp.matmul(a[:, None, :], X)[:, 0, :]
            acc_gx = xp.matmul((gz / sqd)[:, None, :], X)[:, 0, :]
            acc_ay = xp.matmul(a[:, None, :], Yr64)[:, 0, :]
            sum_a2 = (a * a).sum(axis=1)
            gu = inv * (cj[:, None] * acc_ax + sum_a2[:, None] * uj - acc_ay) + 2.0 * lam_dec * uj / d
            gw = inv * acc_gx + 2.0 * lam_w * wj / d
            adam_or_gd_array(xp, sl, c, b, u, w, state_s, state_v, g_c, g_b, gu, gw, cj, bj, uj, wj, optimizer,
                             lr_k, step + 1, beta1, beta2, eps, n, train_c, train_b and tanh_model, not tanh_model,
                             gnorm2)


def train_expected_array(xp, x1, job_seed_index, alpha, beta, c, b, u, w, state_s, state_v, gq, wq, *,
                         optimizer, step0, n_steps, lr, lr_decay_to, total_steps, beta1, beta2, eps,
                         lam_u, lam_w, train_c, train_b, record_every, hist, gnorm2):
    """Array-module twin of :func:`.dense_numba.train_expected_kernel`.

    Exact expectation over the fresh noise x0 of the theory-unit loss (PAPER §2.3), Gauss--Hermite
    in the direction of w and Stein's lemma for the derivatives (see
    :func:`.dense_numba.expected_point`); vectorised over (jobs, points, nodes).
    """
    S, n, d = x1.shape
    sqd = math.sqrt(d)
    gq = xp.asarray(gq)
    wq = xp.asarray(wq)
    Y = x1[xp.asarray(np.asarray(job_seed_index))].astype(xp.float64)      # (J, n, d)
    al = xp.asarray(np.asarray(alpha))[:, None]
    be = xp.asarray(np.asarray(beta))[:, None]
    yy = (Y * Y).sum(axis=2)
    everything = slice(None)
    for k in range(n_steps):
        step = step0 + k
        lr_k = lr_at(step, lr, lr_decay_to, total_steps)
        uj = u.astype(xp.float64)
        wj = w.astype(xp.float64)
        cj = c.astype(xp.float64)[:, None]
        bj = b.astype(xp.float64)[:, None]
        uu = (uj * uj).sum(axis=1)[:, None]
        uw = (uj * wj).sum(axis=1)[:, None]
        ww = (wj * wj).sum(axis=1)[:, None]
        uy = xp.matmul(Y, uj[:, :, None])[:, :, 0]
        wy = xp.matmul(Y, wj[:, :, None])[:, :, 0]
        s = al * xp.sqrt(ww) / sqd
        z0 = be * wy / sqd + bj
        a = xp.tanh(s[:, :, None] * gq[None, None, :] + z0[:, :, None])
        ap = 1.0 - a * a
        app = -2.0 * a * ap
        ea = (a * wq).sum(axis=2)
        ea2 = (a * a * wq).sum(axis=2)
        eap = (ap * wq).sum(axis=2)
        eaap = (a * ap * wq).sum(axis=2)
        eapp = (app * wq).sum(axis=2)
        ea2pp = ((2.0 * ap * ap + 2.0 * a * app) * wq).sum(axis=2)
        cb1 = cj * be - 1.0
        l = (cj * cj * al * al * d + cb1 * cb1 * yy + uu * ea2 + 2.0 * cj * al * al * (1.0 - ea2) * uw / sqd
             + 2.0 * cb1 * ea * uy)
        dl_dc = (2.0 * cj * al * al * d + 2.0 * be * cb1 * yy + 2.0 * al * al * (1.0 - ea2) * uw / sqd
                 + 2.0 * be * ea * uy)
        G1 = 2.0 * cb1 * uy
        G2 = uu - 2.0 * cj * al * al * uw / sqd
        dl_dz0 = G1 * eap + G2 * 2.0 * eaap
        c_uu = (2.0 * ea2).sum(axis=1)[:, None]
        c_uw = (2.0 * cj * al * al * (1.0 - ea2) / sqd).sum(axis=1)[:, None]
        c_uy = 2.0 * cb1 * ea
        c_ww = (al * al / d * (G1 * eapp + G2 * ea2pp)).sum(axis=1)[:, None]
        gu = (xp.matmul(c_uy[:, None, :], Y)[:, 0, :] + c_uu * uj + c_uw * wj) / d + 2.0 * lam_u * uj / d
        gw = (xp.matmul((dl_dz0 * be / sqd)[:, None, :], Y)[:, 0, :] + c_uw * uj + c_ww * wj) / d \
            + 2.0 * lam_w * wj / d
        loss = l.sum(axis=1) / d + (lam_u * uu[:, 0] + lam_w * ww[:, 0]) / d
        if step % record_every == 0:
            rec = step // record_every
            hist[:, rec, :6] = overlaps_array(xp, c, b, u, w)
            hist[:, rec, 6] = loss
        g_c = dl_dc.sum(axis=1) / d
        g_b = dl_dz0.sum(axis=1) / d
        adam_or_gd_array(xp, everything, c, b, u, w, state_s, state_v, g_c, g_b, gu, gw, cj[:, 0], bj[:, 0], uj, wj,
                         optimizer, lr_k, step + 1, beta1, beta2, eps, n, train_c, train_b, False, gnorm2)
