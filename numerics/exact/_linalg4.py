"""4x4 linear algebra for the exact solver's Newton iteration (numba, no LAPACK call per step).

The outer problem has four variables (omega, b, z_plus, z_minus) and the inner elimination four (c, m, a_plus,
a_minus), so every system is 4x4: a symmetric solve from the upper triangle, an LU factorisation reused for
several right-hand sides, a cyclic-Jacobi eigen-decomposition, and the Newton direction that falls back from
Cholesky to the |curvature|-modified eigen-step at saddles (the outer potential of EXACT_FINITE_N §2).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["jacobi4"]


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
def _lu4(A, piv):
    """In-place LU factorisation with partial pivoting of a 4x4 matrix; False if singular."""
    for col in range(4):
        p = col
        for r in range(col + 1, 4):
            if abs(A[r, col]) > abs(A[p, col]):
                p = r
        piv[col] = p
        if A[p, col] == 0.0:
            return False
        if p != col:
            for j in range(4):
                tmp = A[col, j]
                A[col, j] = A[p, j]
                A[p, j] = tmp
        for r in range(col + 1, 4):
            A[r, col] /= A[col, col]
            f = A[r, col]
            for j in range(col + 1, 4):
                A[r, j] -= f * A[col, j]
    return True


@njit(cache=True)
def _lu4_solve(A, piv, x):
    """Solve in place with the factors of :func:`_lu4` (row swaps replayed in order)."""
    for col in range(4):
        p = piv[col]
        if p != col:
            tmp = x[col]
            x[col] = x[p]
            x[p] = tmp
    for i in range(1, 4):
        s = x[i]
        for j in range(i):
            s -= A[i, j] * x[j]
        x[i] = s
    for i in range(3, -1, -1):
        s = x[i]
        for j in range(i + 1, 4):
            s -= A[i, j] * x[j]
        x[i] = s / A[i, i]


@njit(cache=True)
def jacobi4(A):
    """Eigen-decomposition of a symmetric 4x4 matrix by cyclic Jacobi rotations: (ascending eigenvalues, vectors)."""
    a = A.copy()
    v = np.eye(4)
    for sweep in range(50):
        off = 0.0
        for p in range(3):
            for q in range(p + 1, 4):
                off += a[p, q] * a[p, q]
        scale = 0.0
        for p in range(4):
            scale += a[p, p] * a[p, p]
        if off <= 1e-36 * scale or off == 0.0:
            break
        for p in range(3):
            for q in range(p + 1, 4):
                apq = a[p, q]
                if apq == 0.0:
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * apq)
                t = (1.0 if theta >= 0.0 else -1.0) / (abs(theta) + math.sqrt(theta * theta + 1.0))
                c = 1.0 / math.sqrt(t * t + 1.0)
                s = t * c
                for k in range(4):
                    akp = a[k, p]
                    akq = a[k, q]
                    a[k, p] = c * akp - s * akq
                    a[k, q] = s * akp + c * akq
                for k in range(4):
                    apk = a[p, k]
                    aqk = a[q, k]
                    a[p, k] = c * apk - s * aqk
                    a[q, k] = s * apk + c * aqk
                for k in range(4):
                    vkp = v[k, p]
                    vkq = v[k, q]
                    v[k, p] = c * vkp - s * vkq
                    v[k, q] = s * vkp + c * vkq
    lam = np.empty(4)
    for i in range(4):
        lam[i] = a[i, i]
    order = np.argsort(lam)
    return lam[order], v[:, order]


@njit(cache=True)
def _newton_direction(Hs, gr, step):
    """``step = -H^-1 grad`` where H is safely positive definite (Cholesky, pivots above 1e-8 of the largest
    diagonal entry); else the eigen-decomposition with each eigenvalue below ``1e-8 lmax`` replaced by
    ``max(|lambda|, 1e-8 lmax)`` (saddle / flat directions move downhill along |curvature|).  Returns whether H
    was positive definite."""
    dmax = max(abs(Hs[0, 0]), abs(Hs[1, 1]), abs(Hs[2, 2]), abs(Hs[3, 3]))
    Lc = np.zeros((4, 4))
    pd = dmax > 0.0
    i = 0
    while pd and i < 4:
        s = Hs[i, i]
        for k in range(i):
            s -= Lc[i, k] * Lc[i, k]
        if not s > 1e-8 * dmax:
            pd = False
            break
        Lc[i, i] = math.sqrt(s)
        for j in range(i + 1, 4):
            t = Hs[j, i]
            for k in range(i):
                t -= Lc[j, k] * Lc[i, k]
            Lc[j, i] = t / Lc[i, i]
        i += 1
    if pd:
        for i in range(4):
            s = -gr[i]
            for k in range(i):
                s -= Lc[i, k] * step[k]
            step[i] = s / Lc[i, i]
        for i in range(3, -1, -1):
            s = step[i]
            for k in range(i + 1, 4):
                s -= Lc[k, i] * step[k]
            step[i] = s / Lc[i, i]
        return True
    lam, vec = jacobi4(Hs)
    lmax = max(abs(lam[3]), 1e-300)
    for i in range(4):
        step[i] = 0.0
    for k in range(4):
        lk = lam[k]
        floor = 1e-8 * lmax
        if lk < floor:
            lk = max(abs(lk), floor)
        coef = 0.0
        for i in range(4):
            coef += vec[i, k] * gr[i]
        for i in range(4):
            step[i] -= vec[i, k] * coef / lk
    return False
