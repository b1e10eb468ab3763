"""Numba kernels of the finite-d simulator (training, counter-based noise, sampling).

All kernels are pure functions of arrays, compiled once per dtype signature
(``@njit(cache=True)``); the Python wrappers live in :mod:`flowphase.validation.simulate`.
The NumPy/CuPy mirror of every kernel is :mod:`flowphase.validation._sim_array`; the tests
check the two against each other to ~1e-10 for the same seeds.

Noise is **counter based**: the standard normal number of coordinate ``i`` of noise row
``row`` at optimisation step ``step`` of time index ``tix`` and seed ``seed`` is a pure
function of these integers (splitmix64 hash + Box--Muller on the pair ``i // 2``), so the
numba kernel can draw it on the fly inside the single pass over a row, and the array
implementation reproduces exactly the same numbers.

Model and loss (PAPER §2.1, §2.3): ``f_t(x) = c x + u tanh(w.x/sqrt(d) + b)`` and
``L_t = (1/K) sum_{nu,k} |f_t(x_t^{nu k}) - x1^nu|^2 / d + (lam_u |u|^2 + lam_w |w|^2) / d`` with
``x_t = alpha x0 + beta x1``.  The tied sign model of Cui et al. (PREDECESSOR §1.3–1.4) is
``f = c x + w sign(w.x/sqrt(d))`` with ridge ``lam_w |w|^2 / d`` and no gradient through the sign.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["MODEL_TANH", "MODEL_SIGN", "OPT_ADAM", "OPT_GD", "N_OVERLAPS", "mix64", "row_key",
           "normal_pair", "train_kernel", "sample_kernel", "overlaps_kernel"]

MODEL_TANH = 0
MODEL_SIGN = 1
OPT_ADAM = 0
OPT_GD = 1
#: recorded per job and record: c, m, omega, b, sqrt_q, sqrt_r, loss
N_OVERLAPS = 7

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_INV32 = 1.0 / 4294967296.0
_TWO_PI = 2.0 * math.pi


@njit(cache=True)
def mix64(z):
    """splitmix64 finaliser (a bijective 64-bit hash)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def row_key(seed, step, tix, row):
    """64-bit key of one noise row: hash chain of (seed, step, time index, row)."""
    h = mix64(np.uint64(seed) + _GOLD)
    h = mix64(h ^ (np.uint64(step) * _GOLD + np.uint64(1)))
    h = mix64(h ^ (np.uint64(tix) * _M1 + np.uint64(2)))
    h = mix64(h ^ (np.uint64(row) * _M2 + np.uint64(3)))
    return h


@njit(cache=True)
def normal_pair(key, pair):
    """Two independent N(0,1) numbers for coordinates ``2*pair, 2*pair+1`` (Box--Muller)."""
    z = mix64(np.uint64(key) + (np.uint64(pair) + np.uint64(1)) * _GOLD)
    u1 = (float(z >> _S32) + 0.5) * _INV32
    u2 = (float(z & _LOW32) + 0.5) * _INV32
    rad = math.sqrt(-2.0 * math.log(u1))
    ang = _TWO_PI * u2
    return rad * math.cos(ang), rad * math.sin(ang)


@njit(cache=True)
def overlaps_kernel(c, b, u, w, out):
    """Overlaps per job: out[j] = (c, m, omega, b, sqrt_q, sqrt_r) with m = u.mu/d etc. (PAPER §2.2)."""
    J, d = u.shape
    for j in prange(J):
        su = 0.0
        sw = 0.0
        quu = 0.0
        qww = 0.0
        for i in range(d):
            su += u[j, i]
            sw += w[j, i]
            quu += u[j, i] * u[j, i]
            qww += w[j, i] * w[j, i]
        out[j, 0] = c[j]
        out[j, 1] = su / d
        out[j, 2] = sw / d
        out[j, 3] = b[j]
        out[j, 4] = math.sqrt(quu / d)
        out[j, 5] = math.sqrt(qww / d)


@njit(cache=True)
def _job_overlaps(j, c, b, u, w, hist, rec, loss):
    J, d = u.shape
    su = 0.0
    sw = 0.0
    quu = 0.0
    qww = 0.0
    for i in range(d):
        su += u[j, i]
        sw += w[j, i]
        quu += u[j, i] * u[j, i]
        qww += w[j, i] * w[j, i]
    hist[j, rec, 0] = c[j]
    hist[j, rec, 1] = su / d
    hist[j, rec, 2] = sw / d
    hist[j, rec, 3] = b[j]
    hist[j, rec, 4] = math.sqrt(quu / d)
    hist[j, rec, 5] = math.sqrt(qww / d)
    hist[j, rec, 6] = loss


@njit(cache=True, parallel=True)
def train_kernel(x1, fixed_x0, job_seed_index, job_tix, seeds, alpha, beta,
                 c, b, u, w, state_s, state_v,
                 model, optimizer, K, step0, n_steps, lr, lr_decay_to, total_steps,
                 beta1, beta2, eps, lam_u, lam_w, use_fixed, train_c, train_b,
                 record_every, hist):
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
    state_s : (J, 8) float64
        Adam first/second moments of (c, b) in columns 0..3 (m_c, v_c, m_b, v_b).
    state_v : (J, 4, d)
        Adam moments of u and w (m_u, v_u, m_w, v_w).
    model : 0 tanh (untied, bias), 1 Cui's tied sign model (u is w, no bias).
    optimizer : 0 Adam, 1 gradient descent (preconditioned, see Notes).
    K : noise draws per data point per step (fresh noise); 1 for fixed noise.
    step0 : global index of the first step (Adam bias correction, noise counters, lr schedule).
    lr, lr_decay_to, total_steps : learning rate, decayed geometrically from ``lr`` to
        ``lr_decay_to`` over ``total_steps`` (equal values: constant).
    hist : (J, n_records, 7)
        Overlaps and loss recorded before global step ``k`` into record ``k // record_every``
        when ``k % record_every == 0``.

    Notes
    -----
    Gradients of the theory-unit loss (PAPER §2.3), with ``r = c x + u a - x1``,
    ``a = tanh(z)``, ``z = w.x/sqrt(d) + b``:
    ``dL/dc = 2/(K d) sum r.x``, ``dL/du = 2/(K d) sum a r + 2 lam_u u/d``,
    ``dL/dw = 2/(K d) sum (u.r)(1-a^2) x/sqrt(d) + 2 lam_w w/d``,
    ``dL/db = 2/(K d) sum (u.r)(1-a^2)``.  All dot products of a row are taken in one pass
    (``u.r = c u.x + a |u|^2 - u.x1``), the gradient accumulation in a second pass over the
    row while it is in cache; the n x d residual matrix is never formed.
    Gradient descent uses the per-block preconditioner ``1/n`` (scalars) and ``d/n``
    (vectors), which makes all curvatures O(1).
    """
    S, n, d = x1.shape
    J = c.shape[0]
    sqd = math.sqrt(d)
    nrows = n * K
    inv = 2.0 / (K * d)
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
        for k in range(n_steps):
            step = step0 + k
            # ---------------- scalar products of the parameters
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
                z = swx / sqd + bj
                if model == MODEL_TANH:
                    a = math.tanh(z)
                else:
                    a = 1.0 if z > 0.0 else (-1.0 if z < 0.0 else 0.0)
                ur = cj * sux + a * uu - suy
                rx = cj * sxx + a * sux - sxy
                rr = cj * cj * sxx + a * a * uu + syy + 2.0 * cj * a * sux - 2.0 * cj * sxy - 2.0 * a * suy
                loss += rr
                g_c += rx
                sum_a2 += a * a
                if model == MODEL_TANH:
                    gz = ur * (1.0 - a * a)
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
            loss += (lam_u * uu + lam_w * ww) / d if model == MODEL_TANH else lam_w * uu / d
            if (step % record_every) == 0:
                _job_overlaps(j, c, b, u, w, hist, step // record_every, loss)
            g_c *= inv
            g_b *= inv
            # learning rate (geometric decay)
            if total_steps > 1 and lr_decay_to != lr:
                lr_k = lr * math.exp(math.log(lr_decay_to / lr) * step / (total_steps - 1))
            else:
                lr_k = lr
            tstep = step + 1
            if optimizer == OPT_ADAM:
                bc1 = 1.0 - beta1 ** tstep
                bc2 = 1.0 - beta2 ** tstep
                if train_c:
                    state_s[j, 0] = beta1 * state_s[j, 0] + (1.0 - beta1) * g_c
                    state_s[j, 1] = beta2 * state_s[j, 1] + (1.0 - beta2) * g_c * g_c
                    c[j] = cj - lr_k * (state_s[j, 0] / bc1) / (math.sqrt(state_s[j, 1] / bc2) + eps)
                if model == MODEL_TANH and train_b:
                    state_s[j, 2] = beta1 * state_s[j, 2] + (1.0 - beta1) * g_b
                    state_s[j, 3] = beta2 * state_s[j, 3] + (1.0 - beta2) * g_b * g_b
                    b[j] = bj - lr_k * (state_s[j, 2] / bc1) / (math.sqrt(state_s[j, 3] / bc2) + eps)
                for i in range(d):
                    ui = u[j, i]
                    wi = w[j, i]
                    if model == MODEL_TANH:
                        gu = inv * (cj * acc_ax[i] + sum_a2 * ui - acc_ay[i]) + 2.0 * lam_u * ui / d
                        gw = inv * acc_gx[i] + 2.0 * lam_w * wi / d
                    else:
                        gu = inv * (cj * acc_ax[i] + sum_a2 * ui - acc_ay[i]) + 2.0 * lam_w * ui / d
                        gw = 0.0
                    mu_ = beta1 * state_v[j, 0, i] + (1.0 - beta1) * gu
                    vu_ = beta2 * state_v[j, 1, i] + (1.0 - beta2) * gu * gu
                    state_v[j, 0, i] = mu_
                    state_v[j, 1, i] = vu_
                    u[j, i] = ui - lr_k * (mu_ / bc1) / (math.sqrt(vu_ / bc2) + eps)
                    if model == MODEL_TANH:
                        mw_ = beta1 * state_v[j, 2, i] + (1.0 - beta1) * gw
                        vw_ = beta2 * state_v[j, 3, i] + (1.0 - beta2) * gw * gw
                        state_v[j, 2, i] = mw_
                        state_v[j, 3, i] = vw_
                        w[j, i] = wi - lr_k * (mw_ / bc1) / (math.sqrt(vw_ / bc2) + eps)
                    else:
                        w[j, i] = u[j, i]
            else:
                ps = lr_k / n
                pv = lr_k * d / n
                if train_c:
                    c[j] = cj - ps * g_c
                if model == MODEL_TANH and train_b:
                    b[j] = bj - ps * g_b
                for i in range(d):
                    ui = u[j, i]
                    wi = w[j, i]
                    if model == MODEL_TANH:
                        gu = inv * (cj * acc_ax[i] + sum_a2 * ui - acc_ay[i]) + 2.0 * lam_u * ui / d
                        gw = inv * acc_gx[i] + 2.0 * lam_w * wi / d
                        u[j, i] = ui - pv * gu
                        w[j, i] = wi - pv * gw
                    else:
                        gu = inv * (cj * acc_ax[i] + sum_a2 * ui - acc_ay[i]) + 2.0 * lam_w * ui / d
                        u[j, i] = ui - pv * gu
                        w[j, i] = u[j, i]


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
def _adam_or_gd(j, c, b, u, w, state_s, state_v, g_c, g_b, gu, gw, optimizer, lr_k, tstep,
                beta1, beta2, eps, n, train_c, train_b):
    """One Adam / preconditioned-GD update of job j from the gradients (g_c, g_b, gu, gw)."""
    d = u.shape[1]
    if optimizer == OPT_ADAM:
        bc1 = 1.0 - beta1 ** tstep
        bc2 = 1.0 - beta2 ** tstep
        if train_c:
            state_s[j, 0] = beta1 * state_s[j, 0] + (1.0 - beta1) * g_c
            state_s[j, 1] = beta2 * state_s[j, 1] + (1.0 - beta2) * g_c * g_c
            c[j] = c[j] - lr_k * (state_s[j, 0] / bc1) / (math.sqrt(state_s[j, 1] / bc2) + eps)
        if train_b:
            state_s[j, 2] = beta1 * state_s[j, 2] + (1.0 - beta1) * g_b
            state_s[j, 3] = beta2 * state_s[j, 3] + (1.0 - beta2) * g_b * g_b
            b[j] = b[j] - lr_k * (state_s[j, 2] / bc1) / (math.sqrt(state_s[j, 3] / bc2) + eps)
        for i in range(d):
            mu_ = beta1 * state_v[j, 0, i] + (1.0 - beta1) * gu[i]
            vu_ = beta2 * state_v[j, 1, i] + (1.0 - beta2) * gu[i] * gu[i]
            state_v[j, 0, i] = mu_
            state_v[j, 1, i] = vu_
            u[j, i] = u[j, i] - lr_k * (mu_ / bc1) / (math.sqrt(vu_ / bc2) + eps)
            mw_ = beta1 * state_v[j, 2, i] + (1.0 - beta1) * gw[i]
            vw_ = beta2 * state_v[j, 3, i] + (1.0 - beta2) * gw[i] * gw[i]
            state_v[j, 2, i] = mw_
            state_v[j, 3, i] = vw_
            w[j, i] = w[j, i] - lr_k * (mw_ / bc1) / (math.sqrt(vw_ / bc2) + eps)
    else:
        ps = lr_k / n
        pv = lr_k * d / n
        if train_c:
            c[j] = c[j] - ps * g_c
        if train_b:
            b[j] = b[j] - ps * g_b
        for i in range(d):
            u[j, i] = u[j, i] - pv * gu[i]
            w[j, i] = w[j, i] - pv * gw[i]


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
                          lam_u, lam_w, train_c, train_b, record_every, hist):
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
                _job_overlaps(j, c, b, u, w, hist, step // record_every, loss)
            g_c /= d
            g_b /= d
            if total_steps > 1 and lr_decay_to != lr:
                lr_k = lr * math.exp(math.log(lr_decay_to / lr) * step / (total_steps - 1))
            else:
                lr_k = lr
            _adam_or_gd(j, c, b, u, w, state_s, state_v, g_c, g_b, gu, gw, optimizer, lr_k, step + 1,
                        beta1, beta2, eps, n, train_c, train_b)


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
