"""What every training kernel does with its gradient: learning-rate schedule, Adam / GD step, records.

One Adam / GD step per engine, shared by every trainer of the package that can share it:

* numba: :func:`adam_scalar`, :func:`adam_vector`, :func:`gd_vector` -- used by :func:`adam_or_gd` (the
  dense, projected and exact-expectation kernels of the paper's model), by the K-head softmax kernel
  (:mod:`flowphase.validation._softmax_numba`) and by the digits MLP (:mod:`flowphase.validation.digits`:
  :func:`adam_vector` on each raveled weight array);
* NumPy / CuPy: :func:`adam_array` -- used by :func:`adam_or_gd_array` (the array twins) and by the
  softmax array path (:func:`flowphase.validation.multimode_sim.train_array`);

with one schedule :func:`lr_at`, and the records :func:`job_overlaps` / :func:`overlaps_array`.  Every
step takes its bias corrections ``bc1 = 1 - beta1^t, bc2 = 1 - beta2^t`` from the caller and computes the
new parameter from the float64 moments (stored in their own dtype).

Trainers that do not share it, and why: the PyTorch paths (:mod:`flowphase.validation.pairing` and the
authors' loop it pairs with) use ``torch.optim.Adam`` -- being the other implementation is their point;
the learning-dynamics theory (:mod:`flowphase.numerics.dynamics`, :mod:`flowphase.numerics.exact`) maps
overlaps, not parameters, with Adam's coordinate-class law.

Optimiser (PAPER §2.3, theory-unit loss): Adam with bias correction (``beta1, beta2, eps``; moments of
``(c, b)`` in ``state_s[:, 0:4]``, of ``(u, w)`` in ``state_v[:, 0:4]``), or gradient descent with the
per-block preconditioner ``lr/n`` (scalars c, b) and ``lr d/n`` (vectors u, w), which makes all
curvatures O(1).  ``tied`` (Cui's sign model, PREDECESSOR §1.3): w is u, so w is not updated but copied.

Stationarity: each update also writes the squared Euclidean norm of the gradient in the trained
parameters (c if trained, b if trained, u, and w unless tied) into ``gnorm2[j]``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["OPT_ADAM", "OPT_GD", "MODEL_TANH", "MODEL_SIGN", "N_OVERLAPS", "lr_at", "row_terms", "adam_scalar",
           "adam_vector", "gd_vector", "adam_or_gd", "job_overlaps", "adam_array", "adam_or_gd_array",
           "overlaps_array"]

from .config import MODEL_SIGN, MODEL_TANH, N_OVERLAPS, OPT_ADAM, OPT_GD  # noqa: F401  (re-exported)


@njit(cache=True)
def row_terms(cj, z, tanh_model, sux, uu, suy, sxx, sxy, yy):
    """One noise row of the per-point loss ``|c x + u a - y|^2`` (PAPER §2.3), shared by the dense and projected
    numba kernels: ``a`` (tanh or sign of the preactivation ``z``), the loss ``rr``, ``dL/dc`` term ``rx`` and
    the preactivation factor ``gz = (u.r)(1 - a^2)`` (0 for the sign model), from the row's scalars
    ``u.x, |u|^2, u.y, |x|^2, x.y, |y|^2``."""
    if tanh_model:
        a = math.tanh(z)
    else:
        a = 1.0 if z > 0.0 else (-1.0 if z < 0.0 else 0.0)
    ur = cj * sux + a * uu - suy
    rx = cj * sxx + a * sux - sxy
    rr = cj * cj * sxx + a * a * uu + yy + 2.0 * cj * a * sux - 2.0 * cj * sxy - 2.0 * a * suy
    gz = ur * (1.0 - a * a) if tanh_model else 0.0
    return a, rr, rx, gz


@njit(cache=True)
def lr_at(step, lr, lr_final, total_steps):
    """Learning rate of global step ``step``: geometric decay from ``lr`` to ``lr_final`` over ``total_steps``."""
    if total_steps > 1 and lr_final != lr:
        return lr * math.exp(math.log(lr_final / lr) * step / (total_steps - 1))
    return lr


# ============================================================================ numba
@njit(cache=True, fastmath={"reassoc"})
def _sum_squares(g):
    """``sum_i g_i^2`` in any order of summation (``reassoc`` lets LLVM vectorise it; kept out of the update
    loop, which then vectorises too)."""
    s = 0.0
    for i in range(g.shape[0]):
        s += g[i] * g[i]
    return s


@njit(cache=True)
def adam_scalar(p, m, v, g, lr_k, bc1, bc2, beta1, beta2, eps):
    """One Adam step of a scalar parameter: returns the new ``(p, m, v)`` (float64)."""
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    return p - lr_k * (m / bc1) / (math.sqrt(v / bc2) + eps), m, v


@njit(cache=True)
def gd_vector(p, g, rate):
    """One gradient-descent step ``p -= rate * g`` of a parameter vector (in place)."""
    for i in range(p.shape[0]):
        p[i] = p[i] - rate * g[i]


@njit(cache=True, error_model="numpy")
def adam_vector(p, m, v, g, lr_k, bc1, bc2, beta1, beta2, eps):
    """Adam on one parameter vector ``p`` with moments ``m, v`` (bias corrections ``bc1, bc2``).

    ``error_model='numpy'``: no zero-division checks (the denominators are > 0), so LLVM vectorises the loop
    (2x faster at d = 5000); the numbers are those of the scalar loop."""
    for i in range(p.shape[0]):
        gi = g[i]
        mi = beta1 * m[i] + (1.0 - beta1) * gi
        vi = beta2 * v[i] + (1.0 - beta2) * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = p[i] - lr_k * (mi / bc1) / (math.sqrt(vi / bc2) + eps)


@njit(cache=True)
def adam_or_gd(j, c, b, u, w, state_s, state_v, g_c, g_b, gu, gw, optimizer, lr_k, tstep,
               beta1, beta2, eps, n, train_c, train_b, tied, gnorm2):
    """One Adam / preconditioned-GD update of job j from the gradients (g_c, g_b, gu, gw); ``tstep`` = step + 1.

    ``gu, gw`` are float64 d-vectors; with ``tied`` w is set to the updated u (gw unused).
    """
    d = u.shape[1]
    g2 = 0.0
    if train_c:
        g2 += g_c * g_c
    if train_b:
        g2 += g_b * g_b
    if optimizer == OPT_ADAM:
        bc1 = 1.0 - beta1 ** tstep
        bc2 = 1.0 - beta2 ** tstep
        if train_c:
            c[j], state_s[j, 0], state_s[j, 1] = adam_scalar(c[j], state_s[j, 0], state_s[j, 1], g_c, lr_k, bc1, bc2,
                                                             beta1, beta2, eps)
        if train_b:
            b[j], state_s[j, 2], state_s[j, 3] = adam_scalar(b[j], state_s[j, 2], state_s[j, 3], g_b, lr_k, bc1, bc2,
                                                             beta1, beta2, eps)
        adam_vector(u[j], state_v[j, 0], state_v[j, 1], gu, lr_k, bc1, bc2, beta1, beta2, eps)
        if tied:
            for i in range(d):
                w[j, i] = u[j, i]
        else:
            adam_vector(w[j], state_v[j, 2], state_v[j, 3], gw, lr_k, bc1, bc2, beta1, beta2, eps)
    else:
        ps = lr_k / n
        pv = lr_k * d / n
        if train_c:
            c[j] = c[j] - ps * g_c
        if train_b:
            b[j] = b[j] - ps * g_b
        for i in range(d):
            u[j, i] = u[j, i] - pv * gu[i]
            if tied:
                w[j, i] = u[j, i]
            else:
                w[j, i] = w[j, i] - pv * gw[i]
    g2 += _sum_squares(gu)
    if not tied:
        g2 += _sum_squares(gw)
    gnorm2[j] = g2


@njit(cache=True)
def job_overlaps(j, c, b, u, w, hist, rec, loss):
    """Record job j's overlaps (c, m, omega, b, sqrt_q, sqrt_r; PAPER §2.2) and its loss into ``hist[j, rec]``."""
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


# ============================================================================ NumPy / CuPy
def overlaps_array(xp, c, b, u, w):
    """(J, 6) overlaps c, m, omega, b, sqrt_q, sqrt_r (PAPER §2.2)."""
    d = u.shape[1]
    return xp.stack([c.astype(xp.float64), u.mean(axis=1, dtype=xp.float64), w.mean(axis=1, dtype=xp.float64),
                     b.astype(xp.float64), xp.sqrt((u.astype(xp.float64) ** 2).sum(1) / d),
                     xp.sqrt((w.astype(xp.float64) ** 2).sum(1) / d)], axis=1)


def adam_array(xp, p, m_store, v_store, g, lr_k, bc1, bc2, beta1, beta2, eps):
    """Adam on arrays (:func:`adam_vector` elementwise): the moments ``m_store, v_store`` (views, any float
    dtype) are updated in place, the new parameters are returned, computed from the float64 moments as in
    the numba kernel."""
    m = beta1 * m_store.astype(xp.float64, copy=False) + (1.0 - beta1) * g
    v = beta2 * v_store.astype(xp.float64, copy=False) + (1.0 - beta2) * g * g
    m_store[...] = m
    v_store[...] = v
    return p - lr_k * (m / bc1) / (xp.sqrt(v / bc2) + eps)


def adam_or_gd_array(xp, sl, c, b, u, w, state_s, state_v, g_c, g_b, gu, gw, cj, bj, uj, wj, optimizer, lr_k,
                     tstep, beta1, beta2, eps, n, train_c, train_b, tied, gnorm2):
    """:func:`adam_or_gd` for the jobs ``sl`` at once (``cj, bj, uj, wj``: their float64 parameters)."""
    dt = u.dtype
    d = u.shape[1]
    g2 = (gu * gu).sum(axis=1)
    if not tied:
        g2 = g2 + (gw * gw).sum(axis=1)
    if train_c:
        g2 = g2 + g_c * g_c
    if train_b:
        g2 = g2 + g_b * g_b
    gnorm2[sl] = g2
    if optimizer == OPT_ADAM:
        bc1 = 1.0 - beta1 ** tstep
        bc2 = 1.0 - beta2 ** tstep
        if train_c:
            c[sl] = adam_array(xp, cj, state_s[sl, 0], state_s[sl, 1], g_c, lr_k, bc1, bc2, beta1, beta2,
                               eps).astype(dt)
        if train_b:
            b[sl] = adam_array(xp, bj, state_s[sl, 2], state_s[sl, 3], g_b, lr_k, bc1, bc2, beta1, beta2,
                               eps).astype(dt)
        u[sl] = adam_array(xp, uj, state_v[sl, 0], state_v[sl, 1], gu, lr_k, bc1, bc2, beta1, beta2, eps).astype(dt)
        if tied:
            w[sl] = u[sl]
        else:
            w[sl] = adam_array(xp, wj, state_v[sl, 2], state_v[sl, 3], gw, lr_k, bc1, bc2, beta1, beta2,
                               eps).astype(dt)
    else:
        ps = lr_k / n
        pv = lr_k * d / n
        if train_c:
            c[sl] = (cj - ps * g_c).astype(dt)
        if train_b:
            b[sl] = (bj - ps * g_b).astype(dt)
        u[sl] = (uj - pv * gu).astype(dt)
        w[sl] = u[sl] if tied else (wj - pv * gw).astype(dt)
