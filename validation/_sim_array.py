"""Array-module implementation of the simulator, used for the ``numpy`` and ``cupy`` backends.

Every function takes the array module ``xp`` (``numpy`` or ``cupy``) as its first argument and
implements exactly the algorithm of :mod:`flowphase.validation._sim_numba` (same loss, gradients,
optimiser, counter-based noise and integrators), vectorised over the jobs (independent
per-time problems, PAPER §2.1) and the rows.  With ``xp = numpy`` it is the reference the
numba kernels are tested against; with ``xp = cupy`` it runs on a GPU unchanged.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["noise_rows", "train_array", "sample_array", "overlaps_array", "bayes_denoiser_array"]

_GOLD = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _u64(xp, v):
    return xp.asarray(v, dtype=xp.uint64)


def _mix64(xp, z):
    z = (z ^ (z >> _u64(xp, 30))) * _u64(xp, _M1)
    z = (z ^ (z >> _u64(xp, 27))) * _u64(xp, _M2)
    return z ^ (z >> _u64(xp, 31))


def row_keys(xp, seeds, step, tix, rows):
    """Keys of noise rows, broadcasting ``seeds``/``tix`` (shape (J,)) against ``rows`` (R,).

    Same hash chain as :func:`flowphase.validation._sim_numba.row_key`.
    """
    seeds = _u64(xp, seeds)[:, None]
    tix = _u64(xp, tix)[:, None]
    rows = _u64(xp, rows)[None, :]
    h = _mix64(xp, seeds + _u64(xp, _GOLD))
    h = _mix64(xp, h ^ (_u64(xp, step) * _u64(xp, _GOLD) + _u64(xp, 1)))
    h = _mix64(xp, h ^ (tix * _u64(xp, _M1) + _u64(xp, 2)))
    h = _mix64(xp, h ^ (rows * _u64(xp, _M2) + _u64(xp, 3)))
    return h


def noise_rows(xp, seeds, step, tix, rows, d, dtype=np.float64):
    """Counter-based N(0,1) noise, shape (J, R, d): splitmix64 + Box--Muller per coordinate pair."""
    keys = row_keys(xp, seeds, step, tix, rows)
    npair = (int(d) + 1) // 2
    pairs = (xp.arange(npair, dtype=xp.uint64) + _u64(xp, 1)) * _u64(xp, _GOLD)
    z = _mix64(xp, keys[:, :, None] + pairs[None, None, :])
    u1 = ((z >> _u64(xp, 32)).astype(xp.float64) + 0.5) * (1.0 / 4294967296.0)
    u2 = ((z & _u64(xp, 0xFFFFFFFF)).astype(xp.float64) + 0.5) * (1.0 / 4294967296.0)
    rad = xp.sqrt(-2.0 * xp.log(u1))
    ang = (2.0 * math.pi) * u2
    out = xp.empty(keys.shape + (2 * npair,), dtype=xp.float64)
    out[..., 0::2] = rad * xp.cos(ang)
    out[..., 1::2] = rad * xp.sin(ang)
    return out[..., : int(d)].astype(dtype, copy=False)


def overlaps_array(xp, c, b, u, w):
    """(J, 6) overlaps c, m, omega, b, sqrt_q, sqrt_r (PAPER §2.2)."""
    d = u.shape[1]
    return xp.stack([c.astype(xp.float64), u.mean(axis=1, dtype=xp.float64), w.mean(axis=1, dtype=xp.float64),
                     b.astype(xp.float64), xp.sqrt((u.astype(xp.float64) ** 2).sum(1) / d),
                     xp.sqrt((w.astype(xp.float64) ** 2).sum(1) / d)], axis=1)


def _act(xp, z, model):
    return xp.tanh(z) if model == 0 else xp.sign(z)


def train_array(xp, x1, fixed_x0, job_seed_index, job_tix, seeds, alpha, beta, c, b, u, w,
                state_s, state_v, model, optimizer, K, step0, n_steps, lr, lr_decay_to, total_steps,
                beta1, beta2, eps, lam_u, lam_w, use_fixed, train_c, train_b, record_every, hist,
                job_chunk=None):
    """Array-module twin of :func:`flowphase.validation._sim_numba.train_kernel` (same arguments).

    The jobs are processed in chunks of ``job_chunk`` (all at once by default) with batched
    matrix products; the row matrices are (chunk, n K, d).  Loss, gradients and optimiser as in
    the numba kernel (PAPER §2.3).
    """
    S, n, d = x1.shape
    J = c.shape[0]
    dt = x1.dtype
    sqd = math.sqrt(d)
    inv = 2.0 / (K * d)
    chunk = J if job_chunk is None else max(1, int(job_chunk))
    rows = np.arange(n * K)
    seeds_np = np.asarray(seeds)
    sidx_np = np.asarray(job_seed_index)
    for k in range(n_steps):
        step = step0 + k
        if total_steps > 1 and lr_decay_to != lr:
            lr_k = lr * math.exp(math.log(lr_decay_to / lr) * step / (total_steps - 1))
        else:
            lr_k = lr
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
            if model == 0:
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
            loss = loss + ((lam_u * uu + lam_w * ww) / d if model == 0 else lam_w * uu / d)
            if step % record_every == 0:
                rec = step // record_every
                hist[sl, rec, :6] = overlaps_array(xp, c[sl], b[sl], u[sl], w[sl])
                hist[sl, rec, 6] = loss
            g_c = inv * rx.sum(axis=1)
            gz = ur * (1.0 - a * a) if model == 0 else xp.zeros_like(ur)
            g_b = inv * gz.sum(axis=1)
            acc_ax = xp.matmul(a[:, None, :], X)[:, 0, :]
            acc_gx = xp.matmul((gz / sqd)[:, None, :], X)[:, 0, :]
            acc_ay = xp.matmul(a[:, None, :], Yr64)[:, 0, :]
            sum_a2 = (a * a).sum(axis=1)
            lam_dec = lam_u if model == 0 else lam_w
            gu = inv * (cj[:, None] * acc_ax + sum_a2[:, None] * uj - acc_ay) + 2.0 * lam_dec * uj / d
            gw = inv * acc_gx + 2.0 * lam_w * wj / d
            tstep = step + 1
            if optimizer == 0:
                bc1 = 1.0 - beta1 ** tstep
                bc2 = 1.0 - beta2 ** tstep
                if train_c:
                    state_s[sl, 0] = beta1 * state_s[sl, 0] + (1.0 - beta1) * g_c
                    state_s[sl, 1] = beta2 * state_s[sl, 1] + (1.0 - beta2) * g_c * g_c
                    c[sl] = (cj - lr_k * (state_s[sl, 0] / bc1) / (xp.sqrt(state_s[sl, 1] / bc2) + eps)).astype(dt)
                if model == 0 and train_b:
                    state_s[sl, 2] = beta1 * state_s[sl, 2] + (1.0 - beta1) * g_b
                    state_s[sl, 3] = beta2 * state_s[sl, 3] + (1.0 - beta2) * g_b * g_b
                    b[sl] = (bj - lr_k * (state_s[sl, 2] / bc1) / (xp.sqrt(state_s[sl, 3] / bc2) + eps)).astype(dt)
                state_v[sl, 0] = beta1 * state_v[sl, 0] + (1.0 - beta1) * gu
                state_v[sl, 1] = beta2 * state_v[sl, 1] + (1.0 - beta2) * gu * gu
                u[sl] = (uj - lr_k * (state_v[sl, 0] / bc1) / (xp.sqrt(state_v[sl, 1] / bc2) + eps)).astype(dt)
                if model == 0:
                    state_v[sl, 2] = beta1 * state_v[sl, 2] + (1.0 - beta1) * gw
                    state_v[sl, 3] = beta2 * state_v[sl, 3] + (1.0 - beta2) * gw * gw
                    w[sl] = (wj - lr_k * (state_v[sl, 2] / bc1) / (xp.sqrt(state_v[sl, 3] / bc2) + eps)).astype(dt)
                else:
                    w[sl] = u[sl]
            else:
                ps = lr_k / n
                pv = lr_k * d / n
                if train_c:
                    c[sl] = (cj - ps * g_c).astype(dt)
                if model == 0 and train_b:
                    b[sl] = (bj - ps * g_b).astype(dt)
                u[sl] = (uj - pv * gu).astype(dt)
                w[sl] = (wj - pv * gw).astype(dt) if model == 0 else u[sl]


def sample_array(xp, X, c, b, u, w, ax, af, ax2, af2, dt, model, heun):
    """Array-module twin of :func:`flowphase.validation._sim_numba.sample_kernel`; returns X."""
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


def train_expected_array(xp, x1, job_seed_index, alpha, beta, c, b, u, w, state_s, state_v, gq, wq,
                         optimizer, step0, n_steps, lr, lr_decay_to, total_steps, beta1, beta2, eps,
                         lam_u, lam_w, train_c, train_b, record_every, hist):
    """Array-module twin of :func:`flowphase.validation._sim_numba.train_expected_kernel`.

    Exact expectation over the fresh noise x0 of the theory-unit loss (PAPER §2.3), Gauss--Hermite
    in the direction of w and Stein's lemma for the derivatives (see
    :func:`flowphase.validation._sim_numba.expected_point`); vectorised over (jobs, points, nodes).
    """
    S, n, d = x1.shape
    dt = x1.dtype
    sqd = math.sqrt(d)
    gq = xp.asarray(gq)
    wq = xp.asarray(wq)
    Y = x1[xp.asarray(np.asarray(job_seed_index))].astype(xp.float64)      # (J, n, d)
    al = xp.asarray(np.asarray(alpha))[:, None]
    be = xp.asarray(np.asarray(beta))[:, None]
    yy = (Y * Y).sum(axis=2)
    for k in range(n_steps):
        step = step0 + k
        if total_steps > 1 and lr_decay_to != lr:
            lr_k = lr * math.exp(math.log(lr_decay_to / lr) * step / (total_steps - 1))
        else:
            lr_k = lr
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
        cj = cj[:, 0]
        bj = bj[:, 0]
        tstep = step + 1
        if optimizer == 0:
            bc1 = 1.0 - beta1 ** tstep
            bc2 = 1.0 - beta2 ** tstep
            if train_c:
                state_s[:, 0] = beta1 * state_s[:, 0] + (1.0 - beta1) * g_c
                state_s[:, 1] = beta2 * state_s[:, 1] + (1.0 - beta2) * g_c * g_c
                c[:] = (cj - lr_k * (state_s[:, 0] / bc1) / (xp.sqrt(state_s[:, 1] / bc2) + eps)).astype(dt)
            if train_b:
                state_s[:, 2] = beta1 * state_s[:, 2] + (1.0 - beta1) * g_b
                state_s[:, 3] = beta2 * state_s[:, 3] + (1.0 - beta2) * g_b * g_b
                b[:] = (bj - lr_k * (state_s[:, 2] / bc1) / (xp.sqrt(state_s[:, 3] / bc2) + eps)).astype(dt)
            state_v[:, 0] = beta1 * state_v[:, 0] + (1.0 - beta1) * gu
            state_v[:, 1] = beta2 * state_v[:, 1] + (1.0 - beta2) * gu * gu
            u[:] = (uj - lr_k * (state_v[:, 0] / bc1) / (xp.sqrt(state_v[:, 1] / bc2) + eps)).astype(dt)
            state_v[:, 2] = beta1 * state_v[:, 2] + (1.0 - beta1) * gw
            state_v[:, 3] = beta2 * state_v[:, 3] + (1.0 - beta2) * gw * gw
            w[:] = (wj - lr_k * (state_v[:, 2] / bc1) / (xp.sqrt(state_v[:, 3] / bc2) + eps)).astype(dt)
        else:
            ps = lr_k / n
            pv = lr_k * d / n
            if train_c:
                c[:] = (cj - ps * g_c).astype(dt)
            if train_b:
                b[:] = (bj - ps * g_b).astype(dt)
            u[:] = (uj - pv * gu).astype(dt)
            w[:] = (wj - pv * gw).astype(dt)
