"""Fresh-noise training that draws only what the step can see (``noise_sampler='projected'``).

Derivation (PAPER §2.3, fresh noise, K draws per point and step)
-----------------------------------------------------------------
For one job (one time t, ``x = alpha x0 + beta y``, ``y = x1^nu``) the loss and the gradients of
:func:`.dense_numba.train_kernel` use a noise row ``x0`` (row ``(nu, k)``) only through

* the scalars ``w.x0``, ``u.x0``, ``y^nu.x0`` and ``|x0|^2`` (preactivation, ``u.r``, ``r.x``, ``|r|^2``), and
* the two aggregated d-vectors ``sum_rows a x0`` and ``sum_rows g x0`` (``g = (u.r)(1 - a^2)/sqrt(d)``)
  of ``dL/du`` and ``dL/dw``; ``|x0|^2`` enters only through ``sum_rows |x0|^2`` (its coefficients
  ``c^2`` and ``c`` are the same for all rows).

Let ``V = span{y^1..y^n, w, u}`` (dimension ``r <= n + 2``) with the orthonormal basis
``[Q_Y, e1, e2]``: ``Y^T = Q_Y R_Y`` (thin QR of the data, once per seed), ``e1`` is w orthogonalised
against ``Q_Y``, ``e2`` is u orthogonalised against ``Q_Y`` and ``e1``.  Split every row
``x0 = Q_Y xi_Y + xi_1 e1 + xi_2 e2 + x0_perp``.  Because x0 ~ N(0, I_d) is isotropic:

1. ``xi = (xi_Y, xi_1, xi_2)`` are i.i.d. N(0, 1) (``n + 2`` numbers per row, the ones absent when
   ``dim V < n + 2`` are not used), independent of ``x0_perp`` ~ N(0, P_perp).  All the scalars
   (``w.x0 = cw.xi_Y + |w'| xi_1``, ``u.x0 = cu.xi_Y + (e1.u) xi_1 + |u'| xi_2``, ``y^nu.x0 = R_Y[:, nu].xi_Y``
   with ``cw = Q_Y^T w``, ``cu = Q_Y^T u``), hence ``a`` and ``g`` of every row, are functions of
   ``xi`` only: **exact**.
2. Stack the ``nK`` perpendicular parts as the rows of a matrix ``X_perp`` (i.i.d. N(0, 1) entries
   in a basis of ``V^perp``, ``m = d - r`` columns).  For an orthogonal ``O`` whose first two rows
   span ``{a, g}``, ``Z = O X_perp`` again has i.i.d. N(0, 1) entries, so conditionally on ``a, g``

       sum a x0_perp = L11 Z_1,   sum g x0_perp = L21 Z_1 + L22 Z_2,
       sum |x0_perp|^2 = |Z_1|^2 + |Z_2|^2 + chi^2_{(nK - 2) m},

   with ``L`` the 2x2 Cholesky factor of the Gram matrix ``[[a.a, a.g], [a.g, g.g]]`` and the
   chi-square independent of ``Z_1, Z_2``.  ``Z_1, Z_2`` are drawn as ``P_perp z`` for two fresh
   Gaussian d-vectors z (projection with the same basis), the chi-square by Marsaglia--Tsang.
   This is **exact in distribution**, including the coupling of the norm with the aggregated
   directions.  Ignoring that coupling (drawing ``sum |x0_perp|^2`` as an independent
   chi^2_{nK m}) would be the O(1/d) approximation: it changes ``sum |x0|^2 / d`` by
   ``(|Z_1|^2 + |Z_2|^2 - 2m)/d = O(1/sqrt(d))`` relative to its O(nK) fluctuation budget, i.e.
   O(1/d) per row; it is not used here.
3. The joint law of all rows, ``(a, g)`` and the perpendicular aggregates is therefore the law of the
   dense sampler's step: the gradient, the loss and the Adam trajectory have the same distribution as
   with ``noise_sampler='dense'``; only the random numbers differ.  The differences are numerical
   (Gram-Schmidt through the Gram identity ``|w'|^2 = |w|^2 - |cw|^2``; a direction with
   ``|w'|^2 <= 1e-12 |w|^2`` is treated as lying in the span, which drops it from V).

Cost per job and step: ``nK (n + 2) + 2 d`` normal numbers (instead of ``nK d``), ``O(nK n)``
scalar work, and four d x n products with the seed's ``Q_Y`` in (``Q_Y^T [w, u, z_1, z_2]``) and two
out (``Q_Y [p_u, p_w]``) that are batched over the T jobs of a seed as GEMMs (BLAS), so ``Q_Y`` is
read twice per seed and step instead of reading ``n`` data rows and drawing ``n d`` normals per job.

Implementation: three numba ``prange`` kernels per step (fresh ``z`` and its dot products; the per-row
work and the coefficients of the gradients; the gradient assembly and the optimiser step) around the
BLAS products, driven by :func:`train_projected`.  Their inner loops are written so that LLVM vectorises
them: the normal numbers come from :func:`.rng.zig_fill` (the numbers of ``zig_normal``, in three passes),
the sums over d and over a row's V-coordinates are helpers compiled with ``fastmath={'reassoc'}`` (any
order of summation, nothing else relaxed), the triangular products with ``R_Y`` run over slices from index
0, and the Adam step is one loop per vector (:func:`.update.adam_or_gd`).  The NumPy/CuPy twin is
:mod:`.projected_array`; both use the same counter-based random numbers (:mod:`.rng`) and the optimiser
step of :mod:`.update`, so they agree to rounding for the same seeds.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .rng import ZIG_F, ZIG_X, chi2_counter, row_key, zig_fill
from .update import MODEL_TANH, adam_or_gd, job_overlaps, lr_at, row_terms

__all__ = ["XI_ROW0", "Z_ROW0", "CHI_ROW", "DEGENERATE_REL", "data_basis", "seed_blocks", "train_projected"]

#: counter-stream rows of the projected sampler (disjoint from the dense sampler's rows 0..nK-1)
XI_ROW0 = 1 << 40
Z_ROW0 = 1 << 41
CHI_ROW = (1 << 41) + 2
#: a direction w' (or u') with |w'|^2 <= DEGENERATE_REL |w|^2 is treated as lying in the span
DEGENERATE_REL = 1e-12
#: BLAS threads per product and Python threads running the products of a projected step
BLAS_THREADS = 1
GEMM_WORKERS = 2


def data_basis(x1):
    """Orthonormal basis of the data span per seed: ``QY`` (S, n, d) rows, ``RY`` (S, n, n), ``YY`` (S, n).

    ``x1[s].T = QY[s].T @ RY[s]`` (thin QR in float64), so ``y^nu = QY^T R[:, nu]`` and
    ``y^nu . x0 = R[:, nu] . (QY x0)``; ``YY = |y^nu|^2``.
    """
    S, n, d = x1.shape
    if d < n + 3:
        raise ValueError(f"noise_sampler='projected' needs d >= n + 3 (got d = {d}, n = {n}); "
                         "use noise_sampler='dense'")
    QY = np.empty((S, n, d))
    RY = np.empty((S, n, n))
    for s in range(S):
        q, r = np.linalg.qr(np.asarray(x1[s], dtype=np.float64).T)
        QY[s] = q.T
        RY[s] = np.triu(r)          # exactly upper-triangular (the kernels rely on the zeros)
    YY = (np.asarray(x1, dtype=np.float64) ** 2).sum(axis=2)
    return QY, RY, YY


def seed_blocks(job_seed_index):
    """[(seed index, j0, j1)]: the jobs of each seed, which must be contiguous."""
    js = np.asarray(job_seed_index)
    out = []
    j0 = 0
    for j in range(1, js.size + 1):
        if j == js.size or js[j] != js[j0]:
            out.append((int(js[j0]), j0, j))
            j0 = j
    if len({s for s, _, _ in out}) != len(out):
        raise ValueError("the jobs of one seed must be contiguous")
    return out


@njit(cache=True, fastmath={"reassoc"})
def _gram(w, u, z1, z2):
    """``(w.w, u.u, u.w, w.z1, w.z2, u.z1, u.z2, z1.z1, z2.z2)`` in float64, any order of summation (vectorised)."""
    ww = 0.0
    uu = 0.0
    uw = 0.0
    wz1 = 0.0
    wz2 = 0.0
    uz1 = 0.0
    uz2 = 0.0
    z11 = 0.0
    z22 = 0.0
    for i in range(w.shape[0]):
        wi = np.float64(w[i])      # (numba's float() keeps a float32 a float32)
        ui = np.float64(u[i])
        a = np.float64(z1[i])
        e = np.float64(z2[i])
        ww += wi * wi
        uu += ui * ui
        uw += ui * wi
        wz1 += wi * a
        wz2 += wi * e
        uz1 += ui * a
        uz2 += ui * e
        z11 += a * a
        z22 += e * e
    return ww, uu, uw, wz1, wz2, uz1, uz2, z11, z22


@njit(cache=True, parallel=True)
def _draw_z(Z, DOTS, u, w, job_seed_index, job_tix, seeds, step, zx, zf):
    """Two fresh Gaussian d-vectors per job into Z (J, 2, d) and their dot products into DOTS (J, 9).

    DOTS = (w.w, u.u, u.w, w.z1, w.z2, u.z1, u.z2, z1.z1, z2.z2).
    """
    J, _, d = Z.shape
    for j in prange(J):
        seed = seeds[job_seed_index[j]]
        tix = job_tix[j]
        hs = np.empty(d, dtype=np.uint64)
        us = np.empty(d)
        bad = np.empty(d, dtype=np.int64)
        for r in range(2):
            zig_fill(Z[j, r], row_key(seed, step, tix, Z_ROW0 + r), zx, zf, hs, us, bad)
        ww, uu, uw, wz1, wz2, uz1, uz2, z11, z22 = _gram(w[j], u[j], Z[j, 0], Z[j, 1])
        DOTS[j, 0] = ww
        DOTS[j, 1] = uu
        DOTS[j, 2] = uw
        DOTS[j, 3] = wz1
        DOTS[j, 4] = wz2
        DOTS[j, 5] = uz1
        DOTS[j, 6] = uz2
        DOTS[j, 7] = z11
        DOTS[j, 8] = z22


@njit(cache=True)
def _dot(a, b):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


@njit(cache=True, fastmath={"reassoc"})
def _dot_head(a, b, m):
    """``sum_{k < m} a[k] b[k]`` in any order of summation (``reassoc``: the loop is vectorised; the
    per-row sums of :func:`_proj_rows` are otherwise bound by the latency of one chain of additions)."""
    s = 0.0
    for k in range(m):
        s += a[k] * b[k]
    return s


@njit(cache=True, fastmath={"reassoc"})
def _row_dots(cw, cu, rt, xi, n):
    """``(cw.xi_Y, cu.xi_Y, |xi_Y|^2, R[:, nu].xi_Y)`` of one row in one vectorised pass (``rt = R^T[nu]``, zero
    beyond ``nu``: R is upper-triangular), any order of summation."""
    a = 0.0
    b = 0.0
    q = 0.0
    e = 0.0
    for k in range(n):
        x = xi[k]
        a += cw[k] * x
        b += cu[k] * x
        q += x * x
        e += rt[k] * x
    return a, b, q, e


@njit(cache=True)
def _triangular_products(R, RT, x, y, ox, oy, transpose):
    """``ox = R x, oy = R y`` (``transpose``: ``R^T x, R^T y``) for the upper-triangular ``R`` (``RT = R^T``),
    one :func:`_dot_head` per entry over the nonzero part of a row (slices from index 0, so that the loops
    vectorise)."""
    n = x.shape[0]
    for k in range(n):
        if transpose:      # (R^T x)_k = sum_{q <= k} RT[k, q] x_q
            ox[k] = _dot_head(RT[k, : k + 1], x[: k + 1], k + 1)
            oy[k] = _dot_head(RT[k, : k + 1], y[: k + 1], k + 1)
        else:              # (R x)_k = sum_{q >= k} R[k, q] x_q
            ox[k] = _dot_head(R[k, k:], x[k:], n - k)
            oy[k] = _dot_head(R[k, k:], y[k:], n - k)


@njit(cache=True)
def _add_e1(vec, s, has1, nw, cw, n):
    """vec += s e1 with e1 = (w - Q_Y cw)/|w'| (vec = [Q_Y coefficients (n), k_w, k_u, k_z1, k_z2])."""
    if has1:
        f = s / nw
        for k in range(n):
            vec[k] -= f * cw[k]
        vec[n] += f


@njit(cache=True)
def _add_e2(vec, s, has1, has2, nw, nuu, t1, cw, cu, n):
    """vec += s e2 with e2 = (u - Q_Y cu - t1 e1)/|u'|."""
    if has2:
        f = s / nuu
        for k in range(n):
            vec[k] -= f * cu[k]
        vec[n + 1] += f
        _add_e1(vec, -f * t1, has1, nw, cw, n)


@njit(cache=True)
def _add_zperp(vec, s, r, cz, e1z, e2z, has1, has2, nw, nuu, t1, cw, cu, n):
    """vec += s P_perp z_r = s (z_r - Q_Y cz - (e1.z_r) e1 - (e2.z_r) e2)."""
    for k in range(n):
        vec[k] -= s * cz[k]
    vec[n + 2 + r] += s
    _add_e1(vec, -s * e1z, has1, nw, cw, n)
    _add_e2(vec, -s * e2z, has1, has2, nw, nuu, t1, cw, cu, n)


@njit(cache=True, parallel=True)
def _proj_rows(RY, RYT, YY, job_seed_index, job_tix, seeds, alpha, beta, c, b, u, w, CW, CU, CZ, DOTS, model, K, step,
               d, lam_u, lam_w, record_every, hist, P, KC, SC, zx, zf):
    """Per job: draw the rows' V-coordinates, compute a, g, the loss and the gradient coefficients.

    Outputs: ``P`` (J, 2, n) Q_Y-coefficients and ``KC`` (J, 2, 4) coefficients of (w, u, z1, z2) of
    dL/du (index 0) and dL/dw (index 1), decay included; ``SC`` (J, 3) = (dL/dc, dL/db, loss).
    Records the overlaps and the loss into ``hist`` when ``step % record_every == 0``.
    """
    J, n = CW.shape
    nK = n * K
    m2 = n + 2
    sqd = math.sqrt(d)
    inv = 2.0 / (K * d)
    for j in prange(J):
        sidx = job_seed_index[j]
        seed = seeds[sidx]
        tix = job_tix[j]
        al = alpha[j]
        be = beta[j]
        cj = np.float64(c[j])
        bj = np.float64(b[j])
        ww = DOTS[j, 0]
        uu = DOTS[j, 1]
        uw = DOTS[j, 2]
        cw = CW[j]
        cu = CU[j]
        R = RY[sidx]
        RT = RYT[sidx]
        # Gram--Schmidt of w, u against the data span, through Gram identities
        nw2 = ww - _dot(cw, cw)
        has1 = ww > 0.0 and nw2 > DEGENERATE_REL * ww
        nw = math.sqrt(nw2) if has1 else 1.0
        t1 = (uw - _dot(cw, cu)) / nw if has1 else 0.0
        nu2 = uu - _dot(cu, cu) - t1 * t1
        has2 = uu > 0.0 and nu2 > DEGENERATE_REL * uu
        nuu = math.sqrt(nu2) if has2 else 1.0
        snw = nw if has1 else 0.0
        snu = nuu if has2 else 0.0
        wy = np.empty(n)
        uy = np.empty(n)
        ra_ = np.empty(n)
        rg_ = np.empty(n)
        _triangular_products(R, RT, cw, cu, wy, uy, True)
        xi = np.empty(m2)
        hs = np.empty(m2, dtype=np.uint64)
        us = np.empty(m2)
        bad = np.empty(m2, dtype=np.int64)
        SA = np.zeros(m2)
        SG = np.zeros(m2)
        aagg = np.zeros(n)
        gagg = np.zeros(n)
        Gaa = 0.0
        Gag = 0.0
        Ggg = 0.0
        loss = 0.0
        g_c = 0.0
        g_b = 0.0
        for row in range(nK):
            nu = row // K
            zig_fill(xi, row_key(seed, step, tix, XI_ROW0 + row), zx, zf, hs, us, bad)
            if not has1:
                xi[n] = 0.0
            if not has2:
                xi[n + 1] = 0.0
            cwx, cux, xx, py = _row_dots(cw, cu, RT[nu], xi, n)
            pw = snw * xi[n] + cwx
            pu = t1 * xi[n] + snu * xi[n + 1] + cux
            xx += xi[n] * xi[n] + xi[n + 1] * xi[n + 1]
            yy = YY[sidx, nu]
            swx = al * pw + be * wy[nu]
            sux = al * pu + be * uy[nu]
            suy = uy[nu]
            sxx = al * al * xx + 2.0 * al * be * py + be * be * yy
            sxy = al * py + be * yy
            a, rr, rx, gz = row_terms(cj, swx / sqd + bj, model == MODEL_TANH, sux, uu, suy, sxx, sxy, yy)
            loss += rr
            g_c += rx
            if model == MODEL_TANH:
                g_b += gz
                gzs = gz / sqd
            else:
                gzs = 0.0
            for k in range(m2):
                SA[k] += a * xi[k]
                SG[k] += gzs * xi[k]
            aagg[nu] += a
            gagg[nu] += gzs
            Gaa += a * a
            Gag += a * gzs
            Ggg += gzs * gzs
        # perpendicular parts: 2x2 Cholesky of the Gram matrix of (a, g) over the rows
        if Gaa > 0.0:
            L11 = math.sqrt(Gaa)
            L21 = Gag / L11
            L22 = math.sqrt(max(Ggg - L21 * L21, 0.0))
        else:
            L11 = 0.0
            L21 = 0.0
            L22 = math.sqrt(Ggg)
        e1z = np.zeros(2)
        e2z = np.zeros(2)
        zp2 = np.zeros(2)
        for r in range(2):
            czr = CZ[j, r]
            cc = _dot(czr, czr)
            e1 = (DOTS[j, 3 + r] - _dot(cw, czr)) / nw if has1 else 0.0
            e2 = (DOTS[j, 5 + r] - _dot(cu, czr) - t1 * e1) / nuu if has2 else 0.0
            e1z[r] = e1
            e2z[r] = e2
            zp2[r] = max(DOTS[j, 7 + r] - cc - e1 * e1 - e2 * e2, 0.0)
        rank = n + (1 if has1 else 0) + (1 if has2 else 0)
        qperp = zp2[0]
        if nK >= 2:
            qperp += zp2[1] + chi2_counter(row_key(seed, step, tix, CHI_ROW), float((nK - 2) * (d - rank)))
        loss += cj * cj * al * al * qperp
        g_c += cj * al * al * qperp
        # sum a x0 and sum g x0 as [Q_Y coefficients, k_w, k_u, k_z1, k_z2]
        vA = np.zeros(n + 4)
        vG = np.zeros(n + 4)
        for k in range(n):
            vA[k] = SA[k]
            vG[k] = SG[k]
        _add_e1(vA, SA[n], has1, nw, cw, n)
        _add_e2(vA, SA[n + 1], has1, has2, nw, nuu, t1, cw, cu, n)
        _add_e1(vG, SG[n], has1, nw, cw, n)
        _add_e2(vG, SG[n + 1], has1, has2, nw, nuu, t1, cw, cu, n)
        _add_zperp(vA, L11, 0, CZ[j, 0], e1z[0], e2z[0], has1, has2, nw, nuu, t1, cw, cu, n)
        _add_zperp(vG, L21, 0, CZ[j, 0], e1z[0], e2z[0], has1, has2, nw, nuu, t1, cw, cu, n)
        _add_zperp(vG, L22, 1, CZ[j, 1], e1z[1], e2z[1], has1, has2, nw, nuu, t1, cw, cu, n)
        # dL/du = inv (c (al A + be Y^T aagg) + Gaa u - Y^T aagg) + 2 lam u / d, Y^T v = Q_Y^T (R v)
        # dL/dw = inv (al G + be Y^T gagg) + 2 lam_w w / d
        lam_dec = lam_u if model == MODEL_TANH else lam_w
        _triangular_products(R, RT, aagg, gagg, ra_, rg_, False)
        for k in range(n):
            ra = ra_[k]
            rg = rg_[k]
            P[j, 0, k] = inv * (cj * al * vA[k] + (cj * be - 1.0) * ra)
            P[j, 1, k] = inv * (al * vG[k] + be * rg)
        for q in range(4):
            KC[j, 0, q] = inv * cj * al * vA[n + q]
            KC[j, 1, q] = inv * al * vG[n + q]
        KC[j, 0, 1] += inv * Gaa + 2.0 * lam_dec / d
        KC[j, 1, 0] += 2.0 * lam_w / d
        loss = loss / (K * d)
        loss += (lam_u * uu + lam_w * ww) / d if model == MODEL_TANH else lam_w * uu / d
        SC[j, 0] = inv * g_c
        SC[j, 1] = inv * g_b
        SC[j, 2] = loss
        if (step % record_every) == 0:
            job_overlaps(j, c, b, u, w, hist, step // record_every, loss)


@njit(cache=True)
def _combine(g, gq, k, w, u, z1, z2):
    """``g = gq + k_0 w + k_1 u + k_2 z1 + k_3 z2`` (float64; one output array, so LLVM vectorises the loop)."""
    k0 = k[0]
    k1 = k[1]
    k2 = k[2]
    k3 = k[3]
    for i in range(g.shape[0]):
        g[i] = np.float64(gq[i]) + k0 * w[i] + k1 * u[i] + k2 * z1[i] + k3 * z2[i]


@njit(cache=True, parallel=True)
def _proj_update(c, b, u, w, Z, GQ, KC, SC, state_s, state_v, model, optimizer, lr_k, tstep, beta1, beta2, eps,
                 n, train_c, train_b, gnorm2):
    """Assemble dL/du, dL/dw from the Q_Y products and the (w, u, z1, z2) coefficients; optimiser step."""
    J, d = u.shape
    for j in prange(J):
        gu = np.empty(d)
        gw = np.empty(d)
        _combine(gu, GQ[j, 0], KC[j, 0], w[j], u[j], Z[j, 0], Z[j, 1])
        _combine(gw, GQ[j, 1], KC[j, 1], w[j], u[j], Z[j, 0], Z[j, 1])
        tanh_model = model == MODEL_TANH
        adam_or_gd(j, c, b, u, w, state_s, state_v, SC[j, 0], SC[j, 1] if tanh_model else 0.0, gu, gw, optimizer,
                   lr_k, tstep, beta1, beta2, eps, n, train_c, train_b and tanh_model, not tanh_model, gnorm2)


def train_projected(x1, basis, job_seed_index, job_tix, seeds, alpha, beta, c, b, u, w, state_s, state_v,
                    model, optimizer, K, step0, n_steps, lr, lr_decay_to, total_steps, beta1, beta2, eps,
                    lam_u, lam_w, use_fixed, train_c, train_b, record_every, hist, *, gnorm2=None):
    """Projected-sampler twin of :func:`.dense_numba.train_kernel` (same arguments,
    plus ``basis = (QY, RY, YY)`` of :func:`data_basis`; fresh noise only; ``gnorm2`` (J,) float64 receives
    the squared gradient norm of the last step, a scratch array when None).

    Per step: :func:`_draw_z`; GEMMs ``[w; u; z1; z2] Q_Y^T`` per seed; :func:`_proj_rows`; GEMM
    ``[p_u; p_w] Q_Y``; :func:`_proj_update` (see the module docstring).
    """
    if use_fixed:
        raise ValueError("noise_sampler='projected' is for fresh noise")
    QY, RY, YY = basis
    S, n, d = x1.shape
    J = c.shape[0]
    dt = u.dtype
    QYd = QY.astype(dt, copy=False)
    # Q_Y^T stored contiguously (d, n) for the products [w; u; z] Q_Y^T (OpenBLAS's single-threaded sgemm is
    # faster on it than on the transposed view of Q_Y; benchmarks/bench_epoch.py times the whole step)
    QYt = np.ascontiguousarray(QYd.transpose(0, 2, 1))
    RYT = np.ascontiguousarray(RY.transpose(0, 2, 1))
    blocks = seed_blocks(job_seed_index)
    Z = np.empty((J, 2, d), dtype=dt)
    DOTS = np.empty((J, 9))
    CW = np.empty((J, n), dtype=dt)
    CU = np.empty((J, n), dtype=dt)
    CZ = np.empty((J, 2, n), dtype=dt)
    P = np.empty((J, 2, n))
    KC = np.empty((J, 2, 4))
    SC = np.empty((J, 3))
    GQ = np.empty((J, 2, d), dtype=dt)
    if gnorm2 is None:
        gnorm2 = np.empty(J)
    with _blas_limit():
        _steps(x1, QYd, QYt, RY, RYT, YY, blocks, job_seed_index, job_tix, seeds, alpha, beta, c, b, u, w, state_s, state_v,
               model, optimizer, K, step0, n_steps, lr, lr_decay_to, total_steps, beta1, beta2, eps, lam_u, lam_w,
               train_c, train_b, record_every, hist, Z, DOTS, CW, CU, CZ, P, KC, SC, GQ, gnorm2)


_POOL = []


def _gemms(tasks, split=False):
    """``out = a @ b`` for each task, spread over ``GEMM_WORKERS`` Python threads (single-threaded BLAS
    each; numpy releases the GIL).  ``split`` also cuts each product in two row halves."""
    if split:
        tasks = [(a[h], b_, o[h]) for a, b_, o in tasks
                 for h in (slice(0, a.shape[0] // 2), slice(a.shape[0] // 2, a.shape[0]))]
    if GEMM_WORKERS <= 1 or len(tasks) < 2:
        for a, b_, o in tasks:
            np.matmul(a, b_, out=o)
        return
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(GEMM_WORKERS))
    list(_POOL[0].map(lambda t: np.matmul(t[0], t[1], out=t[2]), tasks))


def _blas_limit():
    """One BLAS thread during the projected steps (the numba kernels around the GEMMs use the cores;
    a multi-threaded BLAS between them is slower on a shared 2-core machine, see benchmarks/bench_epoch.py)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=BLAS_THREADS, user_api="blas")


def _steps(x1, QYd, QYt, RY, RYT, YY, blocks, job_seed_index, job_tix, seeds, alpha, beta, c, b, u, w, state_s, state_v,
           model, optimizer, K, step0, n_steps, lr, lr_decay_to, total_steps, beta1, beta2, eps, lam_u, lam_w,
           train_c, train_b, record_every, hist, Z, DOTS, CW, CU, CZ, P, KC, SC, GQ, gnorm2):
    S, n, d = x1.shape
    dt = u.dtype
    for k in range(n_steps):
        step = step0 + k
        lr_k = lr_at(step, lr, lr_decay_to, total_steps)
        _draw_z(Z, DOTS, u, w, job_seed_index, job_tix, seeds, step, ZIG_X, ZIG_F)
        tasks = []
        for s, j0, j1 in blocks:
            Qt = QYt[s]
            tasks += [(w[j0:j1], Qt, CW[j0:j1]), (u[j0:j1], Qt, CU[j0:j1]),
                      (Z[j0:j1].reshape(-1, d), Qt, CZ[j0:j1].reshape(-1, n))]
        _gemms(tasks)
        _proj_rows(RY, RYT, YY, job_seed_index, job_tix, seeds, alpha, beta, c, b, u, w, CW.astype(np.float64, copy=False),
                   CU.astype(np.float64, copy=False), CZ.astype(np.float64, copy=False), DOTS, model, K, step, d,
                   lam_u, lam_w, record_every, hist, P, KC, SC, ZIG_X, ZIG_F)
        Pd = P.astype(dt, copy=False)
        _gemms([(Pd[j0:j1].reshape(-1, n), QYd[s], GQ[j0:j1].reshape(-1, d)) for s, j0, j1 in blocks], split=True)
        _proj_update(c, b, u, w, Z, GQ, KC, SC, state_s, state_v, model, optimizer, lr_k, step + 1, beta1, beta2,
                     eps, n, train_c, train_b, gnorm2)
