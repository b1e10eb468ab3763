"""Array-module (NumPy / CuPy) twin of the projected fresh-noise sampler (:mod:`.projected_numba`).

Same derivation, algorithm, counter-based random numbers (:mod:`.rng`) and optimiser step (:mod:`.update`) as
:func:`.projected_numba.train_projected` (see its module docstring, PAPER §2.3),
vectorised over the jobs of one seed: the rows' V-coordinates are a (jobs, nK, n + 2) array, the
products with the seed's data basis ``Q_Y`` are batched matrix products.  With ``xp = numpy`` it is
the reference the numba kernels are tested against; with ``xp = cupy`` it runs on a GPU unchanged.
"""
from __future__ import annotations

import math

import numpy as np

from .projected_numba import CHI_ROW, DEGENERATE_REL, XI_ROW0, Z_ROW0, seed_blocks
from .rng import gamma_counter_array, row_keys, zig_normals_array
from .update import MODEL_TANH, adam_or_gd_array, lr_at, overlaps_array

__all__ = ["train_projected_array"]

def _add_e1(xp, vec, s, has1, nw, cw, n):
    f = xp.where(has1, s / nw, 0.0)
    vec[:, :n] -= f[:, None] * cw
    vec[:, n] += f


def _add_e2(xp, vec, s, has1, has2, nw, nuu, t1, cw, cu, n):
    f = xp.where(has2, s / nuu, 0.0)
    vec[:, :n] -= f[:, None] * cu
    vec[:, n + 1] += f
    _add_e1(xp, vec, -f * t1, has1, nw, cw, n)


def _add_zperp(xp, vec, s, r, cz, e1z, e2z, has1, has2, nw, nuu, t1, cw, cu, n):
    vec[:, :n] -= s[:, None] * cz
    vec[:, n + 2 + r] += s
    _add_e1(xp, vec, -s * e1z, has1, nw, cw, n)
    _add_e2(xp, vec, -s * e2z, has1, has2, nw, nuu, t1, cw, cu, n)


def train_projected_array(xp, x1, basis, job_seed_index, job_tix, seeds, alpha, beta, c, b, u, w, state_s,
                          state_v, *, model, optimizer, K, step0, n_steps, lr, lr_decay_to, total_steps, beta1, beta2,
                          eps, lam_u, lam_w, use_fixed, train_c, train_b, record_every, hist, gnorm2=None,
                          job_chunk=None):
    """Array-module twin of :func:`.projected_numba.train_projected` (same arguments;
    ``basis = (QY, RY, YY)`` as ``xp`` arrays, QY in the parameters' dtype)."""
    if use_fixed:
        raise ValueError("noise_sampler='projected' is for fresh noise")
    QY, RY, YY = basis
    S, n, d = x1.shape
    J = c.shape[0]
    nK = n * K
    sqd = math.sqrt(d)
    inv = 2.0 / (K * d)
    dt = u.dtype
    seeds_np = np.asarray(seeds)
    sidx_np = np.asarray(job_seed_index)
    tix_np = np.asarray(job_tix)
    chunk = J if job_chunk is None else max(1, int(job_chunk))
    xi_rows = XI_ROW0 + np.arange(nK, dtype=np.uint64)
    z_rows = Z_ROW0 + np.arange(2, dtype=np.uint64)
    tanh_model = model == MODEL_TANH
    lam_dec = lam_u if tanh_model else lam_w
    if gnorm2 is None:
        gnorm2 = xp.empty(J)
    for k in range(n_steps):
        step = step0 + k
        lr_k = lr_at(step, lr, lr_decay_to, total_steps)
        for s, b0, b1 in seed_blocks(sidx_np):
            R = RY[s]
            Rrep = xp.repeat(R.T, K, axis=0)                                  # (nK, n): R[:, nu] per row
            yyr = xp.repeat(YY[s], K)
            for j0 in range(b0, b1, chunk):
                sl = slice(j0, min(b1, j0 + chunk))
                sd, tx = seeds_np[sidx_np[sl]], tix_np[sl]
                Z = zig_normals_array(xp, row_keys(xp, sd, step, tx, z_rows), d)     # (Tb, 2, d) float64
                uj = u[sl].astype(xp.float64)
                wj = w[sl].astype(xp.float64)
                cj = c[sl].astype(xp.float64)
                bj = b[sl].astype(xp.float64)
                ww = (wj * wj).sum(1)
                uu = (uj * uj).sum(1)
                uw = (uj * wj).sum(1)
                wz = (Z * wj[:, None, :]).sum(2)
                uz = (Z * uj[:, None, :]).sum(2)
                zz = (Z * Z).sum(2)
                Qt = QY[s].T
                cw = (w[sl] @ Qt).astype(xp.float64)
                cu = (u[sl] @ Qt).astype(xp.float64)
                cz = xp.matmul(Z.astype(dt), Qt).astype(xp.float64)           # (Tb, 2, n)
                nw2 = ww - (cw * cw).sum(1)
                has1 = (ww > 0.0) & (nw2 > DEGENERATE_REL * ww)
                nw = xp.where(has1, xp.sqrt(xp.where(has1, nw2, 1.0)), 1.0)
                t1 = xp.where(has1, (uw - (cw * cu).sum(1)) / nw, 0.0)
                nu2 = uu - (cu * cu).sum(1) - t1 * t1
                has2 = (uu > 0.0) & (nu2 > DEGENERATE_REL * uu)
                nuu = xp.where(has2, xp.sqrt(xp.where(has2, nu2, 1.0)), 1.0)
                snw = xp.where(has1, nw, 0.0)
                snu = xp.where(has2, nuu, 0.0)
                wy = xp.repeat(cw @ R, K, axis=1)                               # (Tb, nK)
                uy = xp.repeat(cu @ R, K, axis=1)
                Xi = zig_normals_array(xp, row_keys(xp, sd, step, tx, xi_rows), n + 2)   # (Tb, nK, n + 2)
                Xi[:, :, n] *= has1[:, None]
                Xi[:, :, n + 1] *= has2[:, None]
                XY = Xi[:, :, :n]
                pw = xp.matmul(XY, cw[:, :, None])[:, :, 0] + snw[:, None] * Xi[:, :, n]
                pu = xp.matmul(XY, cu[:, :, None])[:, :, 0] + t1[:, None] * Xi[:, :, n] + snu[:, None] * Xi[:, :, n + 1]
                xx = (Xi * Xi).sum(2)
                py = (XY * Rrep[None]).sum(2)
                al = xp.asarray(np.asarray(alpha)[sl])[:, None]
                be = xp.asarray(np.asarray(beta)[sl])[:, None]
                swx = al * pw + be * wy
                sux = al * pu + be * uy
                suy = uy
                sxx = al * al * xx + 2.0 * al * be * py + be * be * yyr[None]
                sxy = al * py + be * yyr[None]
                zpre = swx / sqd + bj[:, None]
                a = xp.tanh(zpre) if tanh_model else xp.sign(zpre)
                c_ = cj[:, None]
                ur = c_ * sux + a * uu[:, None] - suy
                loss = (c_ * c_ * sxx + a * a * uu[:, None] + yyr[None] + 2.0 * c_ * a * sux - 2.0 * c_ * sxy
                        - 2.0 * a * suy).sum(1)
                g_c = (c_ * sxx + a * sux - sxy).sum(1)
                if tanh_model:
                    gz = ur * (1.0 - a * a)
                    g_b = gz.sum(1)
                    gzs = gz / sqd
                else:
                    g_b = xp.zeros(cj.shape)
                    gzs = xp.zeros_like(a)
                SA = xp.matmul(a[:, None, :], Xi)[:, 0, :]                   # (Tb, n + 2)
                SG = xp.matmul(gzs[:, None, :], Xi)[:, 0, :]
                aagg = a.reshape(-1, n, K).sum(2)
                gagg = gzs.reshape(-1, n, K).sum(2)
                Gaa = (a * a).sum(1)
                Gag = (a * gzs).sum(1)
                Ggg = (gzs * gzs).sum(1)
                pos = Gaa > 0.0
                L11 = xp.sqrt(Gaa)
                L21 = xp.where(pos, Gag / xp.where(pos, L11, 1.0), 0.0)
                L22 = xp.where(pos, xp.sqrt(xp.maximum(Ggg - L21 * L21, 0.0)), xp.sqrt(Ggg))
                e1z = xp.where(has1[:, None], (wz - (cw[:, None, :] * cz).sum(2)) / nw[:, None], 0.0)
                e2z = xp.where(has2[:, None], (uz - (cu[:, None, :] * cz).sum(2) - t1[:, None] * e1z) / nuu[:, None],
                               0.0)
                zp2 = xp.maximum(zz - (cz * cz).sum(2) - e1z * e1z - e2z * e2z, 0.0)
                rank = n + has1.astype(xp.int64) + has2.astype(xp.int64)
                qperp = zp2[:, 0]
                if nK >= 2:
                    keys = row_keys(xp, sd, step, tx, [CHI_ROW])[:, 0]
                    qperp = qperp + zp2[:, 1] + 2.0 * gamma_counter_array(
                        xp, keys, 0.5 * ((nK - 2) * (d - rank)).astype(xp.float64))
                loss = loss + cj * cj * al[:, 0] * al[:, 0] * qperp
                g_c = g_c + cj * al[:, 0] * al[:, 0] * qperp
                Tb = cj.shape[0]
                vA = xp.zeros((Tb, n + 4))
                vG = xp.zeros((Tb, n + 4))
                vA[:, :n] = SA[:, :n]
                vG[:, :n] = SG[:, :n]
                _add_e1(xp, vA, SA[:, n], has1, nw, cw, n)
                _add_e2(xp, vA, SA[:, n + 1], has1, has2, nw, nuu, t1, cw, cu, n)
                _add_e1(xp, vG, SG[:, n], has1, nw, cw, n)
                _add_e2(xp, vG, SG[:, n + 1], has1, has2, nw, nuu, t1, cw, cu, n)
                _add_zperp(xp, vA, L11, 0, cz[:, 0], e1z[:, 0], e2z[:, 0], has1, has2, nw, nuu, t1, cw, cu, n)
                _add_zperp(xp, vG, L21, 0, cz[:, 0], e1z[:, 0], e2z[:, 0], has1, has2, nw, nuu, t1, cw, cu, n)
                _add_zperp(xp, vG, L22, 1, cz[:, 1], e1z[:, 1], e2z[:, 1], has1, has2, nw, nuu, t1, cw, cu, n)
                ra = aagg @ R.T
                rg = gagg @ R.T
                Pm = xp.stack([inv * (c_ * al * vA[:, :n] + (c_ * be - 1.0) * ra), inv * (al * vG[:, :n] + be * rg)],
                              axis=1)                                          # (Tb, 2, n)
                KC = xp.stack([inv * c_ * al * vA[:, n:], inv * al * vG[:, n:]], axis=1)   # (Tb, 2, 4)
                KC[:, 0, 1] += inv * Gaa + 2.0 * lam_dec / d
                KC[:, 1, 0] += 2.0 * lam_w / d
                loss = loss / (K * d) + ((lam_u * uu + lam_w * ww) / d if tanh_model else lam_w * uu / d)
                if step % record_every == 0:
                    rec = step // record_every
                    hist[sl, rec, :6] = overlaps_array(xp, c[sl], b[sl], u[sl], w[sl])
                    hist[sl, rec, 6] = loss
                GQ = xp.matmul(Pm.astype(dt), QY[s]).astype(xp.float64)      # (Tb, 2, d)
                V4 = (wj, uj, Z[:, 0], Z[:, 1])
                gu = GQ[:, 0] + sum(KC[:, 0, q][:, None] * V4[q] for q in range(4))
                gw = GQ[:, 1] + sum(KC[:, 1, q][:, None] * V4[q] for q in range(4))
                adam_or_gd_array(xp, sl, c, b, u, w, state_s, state_v, inv * g_c, inv * g_b, gu, gw, cj, bj, uj, wj,
                                 optimizer, lr_k, step + 1, beta1, beta2, eps, n, train_c, train_b and tanh_model,
                                 not tanh_model, gnorm2)
