"""numba kernels of the exact finite-n potential (EXACT_FINITE_N §2-3): moments, elimination, gradient, Newton.

Parameter vector ``prm`` (float64[9]), one meaning per slot (:data:`PRM`):
``alpha, beta, B, inv_sqrt_d, sigma, n_plus, n_minus, lam_u, lam_w`` (``B = beta sqrt(d)``,
``inv_sqrt_d = 0`` at d = inf).  Outer variables ``theta = (omega, b, z_plus, z_minus)``.
The inner variables ``y = (c, m, a_plus, a_minus)`` are eliminated by one 4x4 solve; the gradient of the
potential is the explicit partial derivative of the loss at ``y*`` (envelope theorem) chained through the
class moments ``M_k = E tanh(mean_k + std g)``, ``Q_k = E tanh^2``, ``mean_k = B (k omega + sigma z_k) + b``,
``std = alpha sqrt(r)``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from flowphase.numerics import _generated as G

PRM = ("alpha", "beta", "B", "inv_sqrt_d", "sigma", "n_plus", "n_minus", "lam_u", "lam_w")
STATUS = {0: "converged", 1: "maximum number of iterations reached", 2: "ran off to |b| -> inf (trivial branch)",
          3: "non-finite value", 4: "line search failed"}


@njit(cache=True)
def class_moments(mean, std, nodes, weights):
    """``M, Q`` and their derivatives in the mean and the std of the Gaussian preactivation."""
    M = 0.0
    Q = 0.0
    M_m = 0.0
    M_s = 0.0
    Q_m = 0.0
    Q_s = 0.0
    for i in range(nodes.shape[0]):
        g = nodes[i]
        w = weights[i]
        ph = math.tanh(mean + std * g)
        dp = 1.0 - ph * ph
        M += w * ph
        Q += w * ph * ph
        M_m += w * dp
        M_s += w * g * dp
        Q_m += w * 2.0 * ph * dp
        Q_s += w * 2.0 * g * ph * dp
    return M, Q, M_m, M_s, Q_m, Q_s


@njit(cache=True)
def _solve4(Hu, g):
    """Solve the symmetric 4x4 system from its upper triangle (Gaussian elimination, partial pivoting)."""
    A = np.empty((4, 5))
    k = 0
    for i in range(4):
        for j in range(i, 4):
            A[i, j] = Hu[k]
            A[j, i] = Hu[k]
            k += 1
        A[i, 4] = g[i]
    for col in range(4):
        piv = col
        for r in range(col + 1, 4):
            if abs(A[r, col]) > abs(A[piv, col]):
                piv = r
        if A[piv, col] == 0.0:
            return np.full(4, np.nan)
        if piv != col:
            for j in range(5):
                tmp = A[col, j]
                A[col, j] = A[piv, j]
                A[piv, j] = tmp
        for r in range(col + 1, 4):
            f = A[r, col] / A[col, col]
            for j in range(col, 5):
                A[r, j] -= f * A[col, j]
    y = np.zeros(4)
    for i in range(3, -1, -1):
        s = A[i, 4]
        for j in range(i + 1, 4):
            s -= A[i, j] * y[j]
        y[i] = s / A[i, i]
    return y


@njit(cache=True)
def eliminate(omega, zp, zm, Mp, Mm, Qp, Qm, prm):
    """``(E, y)``: the potential ``L0 - g.y`` and the inner minimiser ``y = H^-1 g`` at given moments."""
    out = G.exact_quadratic_form(prm[0], prm[1], prm[3], prm[4], prm[5], prm[6], prm[7], prm[8], omega, zp, zm,
                                 Mp, Mm, Qp, Qm)
    Hu = np.empty(10)
    for k in range(10):
        Hu[k] = out[k]
    g = np.empty(4)
    for k in range(4):
        g[k] = out[10 + k]
    y = _solve4(Hu, g)
    E = out[14] - (g[0] * y[0] + g[1] * y[1] + g[2] * y[2] + g[3] * y[3])
    return E, y


@njit(cache=True)
def evaluate(theta, prm, nodes, weights, want_grad):
    """Potential E, its gradient in theta (if ``want_grad``) and the inner minimiser y."""
    omega, b, zp, zm = theta[0], theta[1], theta[2], theta[3]
    alpha, B, sigma, npl, nmi = prm[0], prm[2], prm[4], prm[5], prm[6]
    r = omega * omega + npl * zp * zp + nmi * zm * zm
    sr = math.sqrt(r)
    std = alpha * sr
    mp = B * (omega + sigma * zp) + b
    mm = B * (-omega + sigma * zm) + b
    Mp, Qp, Mp_m, Mp_s, Qp_m, Qp_s = class_moments(mp, std, nodes, weights)
    Mm, Qm, Mm_m, Mm_s, Qm_m, Qm_s = class_moments(mm, std, nodes, weights)
    E, y = eliminate(omega, zp, zm, Mp, Mm, Qp, Qm, prm)
    grad = np.zeros(4)
    if want_grad:
        dMp, dMm, dQp, dQm, dw, dzp, dzm = G.exact_loss_partials(
            prm[0], prm[1], prm[3], prm[4], prm[5], prm[6], prm[7], prm[8], omega, zp, zm, Mp, Mm, Qp, Qm,
            y[0], y[1], y[2], y[3])
        if sr > 0.0:
            s_w = alpha * omega / sr
            s_zp = alpha * npl * zp / sr
            s_zm = alpha * nmi * zm / sr
        else:
            s_w = 0.0
            s_zp = 0.0
            s_zm = 0.0
        Ap = dMp * Mp_m + dQp * Qp_m      # dL/dmean_plus
        Am = dMm * Mm_m + dQm * Qm_m
        S = dMp * Mp_s + dQp * Qp_s + dMm * Mm_s + dQm * Qm_s   # dL/dstd
        grad[0] = dw + Ap * B - Am * B + S * s_w
        grad[1] = Ap + Am
        grad[2] = dzp + Ap * B * sigma + S * s_zp
        grad[3] = dzm + Am * B * sigma + S * s_zm
    return E, grad, y


@njit(cache=True)
def newton(theta0, prm, nodes, weights, tol, max_iter, b_cap, max_step):
    """Damped Newton on the 4 outer variables (finite-difference Hessian of the analytic gradient).

    Returns ``(theta, E, residual, iterations, status)``; residual = ``|grad E|_2 / n`` (E is O(n)).
    Status 2: |b| passed ``b_cap`` with omega and z ~ 0 (the run heads for the trivial asymptote).
    """
    n = prm[5] + prm[6]
    th = theta0.copy()
    E, gr, y = evaluate(th, prm, nodes, weights, True)
    scale = np.array([1.0, 1.0, 1.0 / math.sqrt(n), 1.0 / math.sqrt(n)])
    Hs = np.empty((4, 4))
    for it in range(max_iter + 1):
        gn = math.sqrt(gr[0] ** 2 + gr[1] ** 2 + gr[2] ** 2 + gr[3] ** 2) / n
        if not (math.isfinite(E) and math.isfinite(gn)):
            return th, E, math.inf, it, 3
        if gn < tol:
            return th, E, gn, it, 0
        rr = th[0] * th[0] + prm[5] * th[2] * th[2] + prm[6] * th[3] * th[3]
        if abs(th[1]) > b_cap or (rr < 1e-12 and th[1] * gr[1] < 0.0 and abs(th[1]) > 1.0):
            # |b| grows without bound on w = 0: the run heads for the trivial asymptote
            return th, E, gn, it, 2
        if it == max_iter:
            break
        # forward finite-difference Hessian of the analytic gradient (symmetrised below)
        for j in range(4):
            h = 1e-6 * scale[j] * (1.0 + abs(th[j]) / scale[j])
            tp = th.copy()
            tp[j] += h
            _, gp, _ = evaluate(tp, prm, nodes, weights, True)
            for i in range(4):
                Hs[i, j] = (gp[i] - gr[i]) / h
        Hsym = 0.5 * (Hs + Hs.T)
        lam, vec = np.linalg.eigh(Hsym)
        lmax = max(abs(lam[3]), 1e-300)
        step = np.zeros(4)
        for k in range(4):
            lk = lam[k]
            floor = 1e-8 * lmax
            if lk < floor:
                lk = max(abs(lk), floor)   # saddle / flat direction: move downhill along |curvature|
            coef = 0.0
            for i in range(4):
                coef += vec[i, k] * gr[i]
            for i in range(4):
                step[i] -= vec[i, k] * coef / lk
        nd = math.sqrt(step[0] ** 2 + step[1] ** 2 + step[2] ** 2 + step[3] ** 2)
        if nd > max_step:
            for i in range(4):
                step[i] *= max_step / nd
        slope = gr[0] * step[0] + gr[1] * step[1] + gr[2] * step[2] + gr[3] * step[3]
        if slope >= 0.0:   # not a descent direction (round-off): steepest descent
            for i in range(4):
                step[i] = -gr[i] * min(1.0, max_step / (n * gn + 1e-300))
            slope = -(gr[0] ** 2 + gr[1] ** 2 + gr[2] ** 2 + gr[3] ** 2) * min(1.0, max_step / (n * gn + 1e-300))
        a = 1.0
        accepted = False
        for _ in range(50):
            tn = th + a * step
            En, gn_new, yn = evaluate(tn, prm, nodes, weights, True)
            if math.isfinite(En) and En <= E + 1e-4 * a * slope + 1e-13 * abs(E):
                accepted = True
                th = tn
                E = En
                gr = gn_new
                y = yn
                break
            a *= 0.5
        if not accepted:
            return th, E, gn, it, 0 if gn < 1e3 * tol else 4
    gn = math.sqrt(gr[0] ** 2 + gr[1] ** 2 + gr[2] ** 2 + gr[3] ** 2) / n
    return th, E, gn, max_iter, 1
