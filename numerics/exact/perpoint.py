"""Per-point exact dynamics: the GD map with one (a_nu, z_nu) per training point (EXACT_FINITE_N §2, no symmetry).

The class-symmetric state of :mod:`flowphase.numerics.exact.dynamics` counts the point-to-point spread of
``w.eta^nu/d`` in ``rho_w``; in phase 2 (``B = beta sqrt(d)`` large) that spread shifts each point's preactivation by
``B sigma (z_nu - z_k)``, of standard deviation ``beta sigma sqrt(rho_w)`` under a random initialisation -- O(1).
This module keeps every point's coordinates: state
``y = (c, b, m, omega, rho_w, rho_u, nu, a_1..a_n, z_1..z_n)`` with labels ``s_nu``, per-point class moments
of ``tanh(B (s_nu omega + sigma z_nu) + b + alpha sqrt(r) g)`` and the per-point loss partials generated from
:func:`flowphase.theory.exact_dynamics.point_partials` (``exact_point_partials_plus/minus``).  The step is the
class-symmetric one (one GD step = ODE time ``step``, ``rho = 1`` for the simulator's preconditioned GD):
``da_nu = -(step/n)(ell_{a_nu} + 2 ell_q a_nu + ell_v z_nu)`` etc.  With class-symmetric coordinates it reproduces
:func:`flowphase.numerics.exact.dynamics.iterate_exact_gd` (tested).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from flowphase.numerics import _generated as G
from flowphase.numerics.exact.dynamics import _class_moments, exact_dynamics_params

__all__ = ["perpoint_state", "iterate_perpoint_gd"]


@njit(cache=True)
def _step(y, s, prm, h):
    n = s.shape[0]
    alpha, beta, isd, sigma, lam_u, lam_w, Bv, rho_c, rho_b = (prm[0], prm[1], prm[2], prm[3], prm[6], prm[7],
                                                               prm[8], prm[9], prm[10])
    sat = prm[11] > 0.5
    nq = int(prm[12])
    nodes = prm[13:13 + nq]
    weights = prm[13 + nq:13 + 2 * nq]
    c, b, m, om, rw, ru, nu = y[0], y[1], y[2], y[3], y[4], y[5], y[6]
    a = y[7:7 + n]
    z = y[7 + n:7 + 2 * n]
    r = om * om + rw
    q = m * m + ru
    v = m * om + nu
    for i in range(n):
        r += z[i] * z[i]
        q += a[i] * a[i]
        v += a[i] * z[i]
    lc = 0.0
    lb = 0.0
    lm = 0.0
    lom = 0.0
    lq = lam_u
    lr = lam_w
    lv = 0.0
    la = np.empty(n)
    lz = np.empty(n)
    for i in range(n):
        mean = Bv * (s[i] * om + sigma * z[i]) + b
        if sat:
            M = 1.0 if s[i] * om + sigma * z[i] > 0.0 else -1.0
            Q, Mb, Qb, Mr, Qr = 1.0, 0.0, 0.0, 0.0, 0.0
        else:
            M, Q, Mb, Qb, Mr, Qr = _class_moments(mean, alpha, r, nodes, weights)
        if s[i] > 0:
            out = G.exact_point_partials_plus(alpha, beta, isd, sigma, c, m, a[i], M, Q, q, v)
        else:
            out = G.exact_point_partials_minus(alpha, beta, isd, sigma, c, m, a[i], M, Q, q, v)
        A = out[4] * Mb + out[5] * Qb
        lc += out[1]
        lm += out[2]
        la[i] = out[3]
        lq += out[6]
        lv += out[7]
        lb += A
        lom += Bv * s[i] * A
        lz[i] = Bv * sigma * A
        lr += out[4] * Mr + out[5] * Qr
    f = h / n
    ynew = np.empty_like(y)
    ynew[0] = c - f * rho_c * lc
    ynew[1] = b - f * rho_b * lb
    ynew[2] = m - f * (lm + 2.0 * lq * m + lv * om)
    ynew[3] = om - f * (lom + 2.0 * lr * om + lv * m)
    # perpendicular block: u_p' = (1 - 2 f lq) u_p - f lv w_p, w_p' = (1 - 2 f lr) w_p - f lv u_p
    pu, pw, x = 1.0 - 2.0 * f * lq, 1.0 - 2.0 * f * lr, -f * lv
    ynew[5] = pu * pu * ru + 2.0 * pu * x * nu + x * x * rw
    ynew[4] = pw * pw * rw + 2.0 * pw * x * nu + x * x * ru
    ynew[6] = pu * x * ru + (pu * pw + x * x) * nu + x * pw * rw
    for i in range(n):
        ynew[7 + i] = a[i] - f * (la[i] + 2.0 * lq * a[i] + lv * z[i])
        ynew[7 + n + i] = z[i] - f * (lz[i] + 2.0 * lr * z[i] + lv * a[i])
    return ynew


@njit(cache=True)
def _iterate(y0, s, prm, h, n_steps, record_every):
    nrec = n_steps // record_every + 1
    Y = np.empty((nrec, y0.shape[0]))
    y = y0.copy()
    Y[0] = y
    k = 1
    for it in range(1, n_steps + 1):
        y = _step(y, s, prm, h)
        if it % record_every == 0:
            Y[k] = y
            k += 1
    return Y


def perpoint_state(c, b, u, w, x1, s, sigma):
    """Per-point state measured on parameters and data (rho's are the exact remainders of q, r, v)."""
    u = np.asarray(u, float)
    w = np.asarray(w, float)
    s = np.asarray(s, float)
    d = u.size
    eta = (np.asarray(x1, float) - s[:, None]) / float(sigma)
    m, om = float(u.mean()), float(w.mean())
    a, z = eta @ u / d, eta @ w / d
    q, r, v = float(u @ u) / d, float(w @ w) / d, float(u @ w) / d
    head = [float(c), float(b), m, om, r - om * om - float(z @ z), q - m * m - float(a @ a),
            v - m * om - float(a @ z)]
    return np.concatenate([head, a, z])


def iterate_perpoint_gd(problem, t: float, y0, labels, step: float, n_steps: int, *, record_every: int = 1,
                        d: float = math.inf, rho: float = 1.0, rule=None) -> np.ndarray:
    """Records ``Y[k]`` of the per-point GD map (module docstring) every ``record_every`` steps."""
    s = np.ascontiguousarray(labels, dtype=np.float64)
    n = s.size
    if int(problem.n) != n:
        raise ValueError(f"labels must have n = {int(problem.n)} entries, got {n}")
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    if y0.size != 7 + 2 * n:
        raise ValueError(f"y0 must have 7 + 2n = {7 + 2 * n} entries, got {y0.size}")
    if not (step > 0 and math.isfinite(step)) or int(n_steps) < 1 or int(record_every) < 1:
        raise ValueError("step must be > 0 and n_steps, record_every integers >= 1")
    prm = exact_dynamics_params(problem, t, d=d, n_plus=int(np.sum(s > 0)), rho=rho, rule=rule)
    Y = _iterate(y0, s, prm, float(step), int(n_steps), int(record_every))
    if not np.all(np.isfinite(Y)):
        raise ValueError("per-point GD map produced non-finite overlaps (step too large?)")
    return Y
