"""numba kernels of the exact finite-n potential (EXACT_FINITE_N §2-3): moments, elimination, derivatives, Newton.

Parameter vector ``prm`` (float64[9]), one meaning per slot (:data:`PRM`):
``alpha, beta, B, inv_sqrt_d, sigma, n_plus, n_minus, lam_u, lam_w`` (``B = beta sqrt(d)``,
``inv_sqrt_d = 0`` at d = inf).  Outer variables ``theta = (omega, b, z_plus, z_minus)``.
The inner variables ``y = (c, m, a_plus, a_minus)`` are eliminated by one 4x4 solve; the gradient of the
potential is the explicit partial derivative of the loss at ``y*`` (envelope theorem) chained through the
class moments ``M_k = E tanh(mean_k + std g)``, ``Q_k = E tanh^2``, ``mean_k = B (k omega + sigma z_k) + b``,
``std = alpha sqrt(r)``.  The Hessian in theta is symbolic too (``G.exact_outer_derivatives``, from
:func:`flowphase.theory.exact.outer_derivatives`): the Hessian of L at fixed y minus the implicit-function
correction ``L_theta y (2H)^-1 L_y theta`` (one LU factorisation of the inner H, shared with the elimination).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from flowphase.numerics import _generated as G
from flowphase.numerics.exact._linalg4 import _lu4, _lu4_solve, _newton_direction, _solve4, jacobi4  # noqa: F401
from flowphase.numerics.exact._moment_rule import moment_intervals, moment_nodes, trapezoid_nodes

PRM = ("alpha", "beta", "B", "inv_sqrt_d", "sigma", "n_plus", "n_minus", "lam_u", "lam_w")
#: consecutive steps that shrink |w| and grow |b| near w = 0 before a run is stopped as creeping (``newton_y``)
CREEP_STEPS = 3
STATUS = {0: "converged", 1: "maximum number of iterations reached", 2: "ran off to |b| -> inf (trivial branch)",
          3: "non-finite value", 4: "line search failed", 5: "moment rule to be coarsened",
          6: "joined the known minimiser"}


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
def uniform_step(nodes):
    """The spacing h of an equispaced node set (the trapezoid rules), 0.0 for any other rule."""
    n = nodes.shape[0]
    if n < 3:
        return 0.0
    h = (nodes[n - 1] - nodes[0]) / (n - 1)
    if not h > 0.0:
        return 0.0
    for i in range(n):
        if abs(nodes[i] - (nodes[0] + i * h)) > 1e-12 * (1.0 + abs(nodes[i])):
            return 0.0
    return h


@njit(cache=True)
def class_moments2(mean, std, nodes, weights, h, out):
    """``M, Q`` and their first and second derivatives in (mean, std), written into ``out`` (float64[12]).

    Layout: ``M, M_m, M_s, M_mm, M_ms, M_ss, Q, Q_m, Q_s, Q_mm, Q_ms, Q_ss`` (``_m``: d/dmean, ``_s``: d/dstd);
    ``tanh' = 1 - tanh^2``, ``tanh'' = -2 tanh tanh'``, ``(tanh^2)'' = 2 tanh' (tanh' - 2 tanh^2)``.

    ``h > 0`` (equispaced nodes, :func:`uniform_step`): ``tanh x = 1 - 2/(1 + e^{2x})`` with ``e^{2x}`` along the
    nodes a geometric sequence (ratio ``e^{2 std h}``), recomputed by ``exp`` every 16 nodes (relative error of
    ``e^{2x}`` below 16 roundings, so ``|tanh|`` within ~2e-15 of ``math.tanh``); ``h = 0``: ``math.tanh``.
    """
    M = 0.0
    M_m = 0.0
    M_s = 0.0
    M_mm = 0.0
    M_ms = 0.0
    M_ss = 0.0
    Q = 0.0
    Q_m = 0.0
    Q_s = 0.0
    Q_mm = 0.0
    Q_ms = 0.0
    Q_ss = 0.0
    ratio = math.exp(min(2.0 * std * h, 709.0)) if h > 0.0 else 0.0
    E = 0.0
    for i in range(nodes.shape[0]):
        g = nodes[i]
        w = weights[i]
        if h > 0.0:
            if i % 16 == 0:
                x2 = 2.0 * (mean + std * g)
                E = math.exp(x2) if x2 < 709.0 else math.inf   # (math.exp raises past 709 without numba)
            else:
                E *= ratio
            inv = 1.0 / (1.0 + E)
            ph = 1.0 - 2.0 * inv
            dp = 4.0 * E * inv * inv
            if not math.isfinite(dp):   # E = inf: tanh = 1 exactly
                ph = 1.0
                dp = 0.0
        else:
            ph = math.tanh(mean + std * g)
            dp = 1.0 - ph * ph
        d2 = -2.0 * ph * dp
        q1 = 2.0 * ph * dp
        q2 = 2.0 * dp * (dp - 2.0 * ph * ph)
        wg = w * g
        wgg = wg * g
        M += w * ph
        M_m += w * dp
        M_s += wg * dp
        M_mm += w * d2
        M_ms += wg * d2
        M_ss += wgg * d2
        Q += w * ph * ph
        Q_m += w * q1
        Q_s += wg * q1
        Q_mm += w * q2
        Q_ms += wg * q2
        Q_ss += wgg * q2
    out[0] = M
    out[1] = M_m
    out[2] = M_s
    out[3] = M_mm
    out[4] = M_ms
    out[5] = M_ss
    out[6] = Q
    out[7] = Q_m
    out[8] = Q_s
    out[9] = Q_mm
    out[10] = Q_ms
    out[11] = Q_ss


@njit(cache=True)
def evaluate_hessian(theta, prm, nodes, weights, h, grad, hess, y):
    """Potential E at theta; its gradient, its Hessian in theta and the inner minimiser y written in place.

    Gradient and Hessian are the generated ``G.exact_outer_derivatives`` at ``y* = H^-1 g`` (envelope theorem)
    with the implicit-function correction ``Hess E = L_tt - L_ty (2H)^-1 L_yt``.  ``h``: the node spacing of an
    equispaced rule or 0 (:func:`class_moments2`).  Returns E (NaN where the inner H is singular).
    """
    omega, b, zp, zm = theta[0], theta[1], theta[2], theta[3]
    alpha, beta, B, isd, sigma, npl, nmi, lam_u, lam_w = (prm[0], prm[1], prm[2], prm[3], prm[4], prm[5], prm[6],
                                                          prm[7], prm[8])
    r = omega * omega + npl * zp * zp + nmi * zm * zm
    sr = math.sqrt(r)
    inv_sr = 1.0 / sr if sr > 0.0 else 0.0
    std = alpha * sr
    mp = np.empty(12)
    mm = np.empty(12)
    class_moments2(B * (omega + sigma * zp) + b, std, nodes, weights, h, mp)
    class_moments2(B * (-omega + sigma * zm) + b, std, nodes, weights, h, mm)
    Mp, Qp, Mm, Qm = mp[0], mp[6], mm[0], mm[6]
    out = G.exact_quadratic_form(alpha, beta, isd, sigma, npl, nmi, lam_u, lam_w, omega, zp, zm, Mp, Mm, Qp, Qm)
    A = np.empty((4, 4))
    k = 0
    for i in range(4):
        for j in range(i, 4):
            A[i, j] = out[k]
            A[j, i] = out[k]
            k += 1
    piv = np.empty(4, dtype=np.int64)
    if not _lu4(A, piv):
        for i in range(4):
            y[i] = math.nan
        return math.nan
    for i in range(4):
        y[i] = out[10 + i]
    _lu4_solve(A, piv, y)
    E = out[14] - (out[10] * y[0] + out[11] * y[1] + out[12] * y[2] + out[13] * y[3])
    d = G.exact_outer_derivatives(
        alpha, beta, isd, sigma, npl, nmi, lam_u, lam_w, omega, zp, zm, Mp, Mm, Qp, Qm, B, inv_sr,
        mp[1], mp[2], mp[3], mp[4], mp[5], mm[1], mm[2], mm[3], mm[4], mm[5],
        mp[7], mp[8], mp[9], mp[10], mp[11], mm[7], mm[8], mm[9], mm[10], mm[11], y[0], y[1], y[2], y[3])
    for i in range(4):
        grad[i] = d[i]
    k = 4
    for i in range(4):
        for j in range(i, 4):
            hess[i, j] = d[k]
            hess[j, i] = d[k]
            k += 1
    # implicit-function correction: L_ty (2H)^-1 L_yt, with the columns of L_yt = rows of L_ty
    X = np.empty((4, 4))
    col = np.empty(4)
    for i in range(4):
        for a in range(4):
            col[a] = d[14 + 4 * i + a]
        _lu4_solve(A, piv, col)
        for a in range(4):
            X[i, a] = 0.5 * col[a]
    for i in range(4):
        for j in range(i, 4):
            s = 0.0
            for a in range(4):
                s += d[14 + 4 * i + a] * X[j, a]
            hess[i, j] -= s
            if j != i:
                hess[j, i] = hess[i, j]
    return E


@njit(cache=True)
def newton(theta0, prm, nodes, weights, tol, max_iter, b_cap, max_step):
    """Damped Newton on the 4 outer variables with the symbolic Hessian (:func:`evaluate_hessian`).

    Returns ``(theta, E, residual, iterations, status)``; residual = ``|grad E|_2 / n`` (E is O(n)).
    Status 2: |b| passed ``b_cap`` with omega and z ~ 0 (the run heads for the trivial asymptote).
    """
    th, E, gn, it, status, _ = newton_y(theta0, prm, nodes, weights, tol, max_iter, b_cap, max_step, -math.inf, 0.0,
                                        np.int64(0), theta0, 0.0)
    return th, E, gn, it, status


@njit(cache=True)
def newton_y(theta0, prm, nodes, weights, tol, max_iter, b_cap, max_step, e_floor, creep_spread, k_coarse, join,
             join_tol):
    """:func:`newton` that also returns the inner minimiser y at the returned theta (6-tuple).

    Creep stop (status 2, the run heads for the trivial asymptote): on the plane ``w = 0`` every activation is
    ``tanh b`` and the potential, a function of ``|tanh b|`` alone, decreases to its infimum, the trivial
    energy, as ``|b| -> inf``.  A run that has come within ``creep_spread`` of that plane (preactivation
    spread ``((1 + sigma)|B| + alpha) |w|/sqrt(d) < creep_spread``), whose energy is not below ``e_floor``
    (the energy an informative minimiser must beat) and whose last ``CREEP_STEPS`` steps each shrank ``|w|``
    and grew ``|b|`` creeps down that valley (hundreds of iterations with a small gradient) to a point that
    cannot win: it is stopped there.  ``e_floor = -inf`` or ``creep_spread = 0`` disables the stop.

    ``k_coarse > 0``: status 5 (the rule may be coarsened, :func:`newton_auto`) at the first iterate, not yet
    converged, whose std needs at most ``k_coarse`` intervals (:func:`moment_intervals`, 10 % margin).

    ``join_tol > 0``: status 6 (joined a known minimiser) at the first iterate after the start where the Hessian
    is positive definite and every coordinate lies within ``join_tol (1 + |join_i|)`` of ``join`` or of its mirror
    ``-join`` (a converged minimiser, the sign symmetry): the multi-start checks of the curve stop there instead
    of polishing a copy of the continuation's minimiser."""
    n = prm[5] + prm[6]
    h = uniform_step(nodes)
    th = theta0.copy()
    gr = np.empty(4)
    Hs = np.empty((4, 4))
    y = np.empty(4)
    g_new = np.empty(4)
    H_new = np.empty((4, 4))
    y_new = np.empty(4)
    step = np.empty(4)
    tn = np.empty(4)
    E = evaluate_hessian(th, prm, nodes, weights, h, gr, Hs, y)
    spread_w = (1.0 + prm[4]) * abs(prm[2]) + prm[0]
    creep = 0
    rr_last = th[0] * th[0] + prm[5] * th[2] * th[2] + prm[6] * th[3] * th[3]
    for it in range(max_iter + 1):
        gn = math.sqrt(gr[0] ** 2 + gr[1] ** 2 + gr[2] ** 2 + gr[3] ** 2) / n
        if not (math.isfinite(E) and math.isfinite(gn)):
            return th, E, math.inf, it, 3, y
        if gn < tol:
            return th, E, gn, it, 0, y
        rr = th[0] * th[0] + prm[5] * th[2] * th[2] + prm[6] * th[3] * th[3]
        if k_coarse > 0 and it > 0 and moment_intervals(1.1 * prm[0] * math.sqrt(rr)) <= k_coarse:
            return th, E, gn, it, 5, y
        if abs(th[1]) > b_cap or (rr < 1e-12 and th[1] * gr[1] < 0.0 and abs(th[1]) > 1.0):
            # |b| grows without bound on w = 0: the run heads for the trivial asymptote
            return th, E, gn, it, 2, y
        if creep >= CREEP_STEPS and E >= e_floor and spread_w * math.sqrt(rr) < creep_spread:
            return th, E, gn, it, 2, y
        if it == max_iter:
            break
        pd = _newton_direction(Hs, gr, step)
        if join_tol > 0.0 and pd and it > 0:
            near = True
            mirror = True
            for i in range(4):
                tol_i = join_tol * (1.0 + abs(join[i]))
                near = near and abs(th[i] - join[i]) <= tol_i
                mirror = mirror and abs(th[i] + join[i]) <= tol_i
            if near or mirror:
                return th, E, gn, it, 6, y
        nd = math.sqrt(step[0] ** 2 + step[1] ** 2 + step[2] ** 2 + step[3] ** 2)
        if nd > max_step:
            for i in range(4):
                step[i] *= max_step / nd
        slope = gr[0] * step[0] + gr[1] * step[1] + gr[2] * step[2] + gr[3] * step[3]
        if not slope < 0.0:   # not a descent direction (round-off): steepest descent
            for i in range(4):
                step[i] = -gr[i] * min(1.0, max_step / (n * gn + 1e-300))
            slope = -(gr[0] ** 2 + gr[1] ** 2 + gr[2] ** 2 + gr[3] ** 2) * min(1.0, max_step / (n * gn + 1e-300))
        a = 1.0
        accepted = False
        for _ in range(50):
            for i in range(4):
                tn[i] = th[i] + a * step[i]
            En = evaluate_hessian(tn, prm, nodes, weights, h, g_new, H_new, y_new)
            if math.isfinite(En) and En <= E + 1e-4 * a * slope + 1e-13 * abs(E):
                accepted = True
                rr_new = tn[0] * tn[0] + prm[5] * tn[2] * tn[2] + prm[6] * tn[3] * tn[3]
                creep = creep + 1 if (rr_new < rr_last and abs(tn[1]) > abs(th[1])) else 0
                rr_last = rr_new
                th[:] = tn
                E = En
                gr[:] = g_new
                Hs[:, :] = H_new
                y[:] = y_new
                break
            a *= 0.5
        if not accepted:
            return th, E, gn, it, (0 if gn < 1e3 * tol else 4), y
    gn = math.sqrt(gr[0] ** 2 + gr[1] ** 2 + gr[2] ** 2 + gr[3] ** 2) / n
    return th, E, gn, max_iter, 1, y


@njit(cache=True)
def _std(theta, prm):
    return prm[0] * math.sqrt(theta[0] * theta[0] + prm[5] * theta[2] * theta[2] + prm[6] * theta[3] * theta[3])


@njit(cache=True)
def newton_auto(theta0, prm, tol, max_iter, b_cap, max_step, e_floor, creep_spread, join, join_tol):
    """:func:`newton_y` with the moment rule of the start's std (10 % margin, :func:`moment_nodes`), polished
    with the rule of the minimiser's std where that needs more nodes.

    Where the std falls on the way so far that half the intervals would do (a far start: the multi-start search
    begins at omega up to 6, phase-2 minimisers lie near omega ~ 0.01), the run goes on from there with the
    rule of the current std (status 5 of :func:`newton_y`), ``max_iter`` counting all stages together: each stage
    resolves the moments at its own iterates, and the rule of the end point is checked as before."""
    k = moment_intervals(1.1 * _std(theta0, prm))
    nodes, weights = trapezoid_nodes(k)
    th, E, gn, it, status, y = newton_y(theta0, prm, nodes, weights, tol, max_iter, b_cap, max_step, e_floor,
                                        creep_spread, k // 2 if k >= 64 else 0, join, join_tol)
    while status == 5:
        k = moment_intervals(1.1 * _std(th, prm))
        nodes, weights = trapezoid_nodes(k)
        th, E, gn, it2, status, y = newton_y(th, prm, nodes, weights, tol, max_iter - it, b_cap, max_step, e_floor,
                                             creep_spread, k // 2 if k >= 64 else 0, join, join_tol)
        it += it2
    if status == 0 and moment_intervals(_std(th, prm)) + 1 > nodes.shape[0]:
        nodes, weights = moment_nodes(1.1 * _std(th, prm))
        th, E, gn, it2, status, y = newton_y(th, prm, nodes, weights, tol, max_iter, b_cap, max_step, e_floor,
                                             creep_spread, np.int64(0), join, 0.0)
        it += it2
    return th, E, gn, it, status, y


@njit(cache=True)
def solve_point(prm, starts, auto_rule, nodes, weights, sgn, tol, max_iter, b_cap, max_step, creep_spread, join,
                join_tol):
    """One time: the trivial-branch energy and inner minimiser (every activation ``sgn``) and a Newton run from
    each row of ``starts`` (``auto_rule``: :func:`newton_auto`, else the given rule); ``creep_spread``,
    ``join``, ``join_tol`` as in :func:`newton_y` (the creep stop's energy floor is the trivial energy here).

    Returns one array ``out[k + 1, 12]``: row 0 ``(E_triv, y_triv[4], 0...)``; row ``1 + j`` for start j
    ``(theta[4], E, residual, iterations, status, y[4])``.
    """
    k = starts.shape[0]
    out = np.zeros((k + 1, 12))
    E_triv, y_triv = eliminate(0.0, 0.0, 0.0, sgn, sgn, 1.0, 1.0, prm)
    out[0, 0] = E_triv
    out[0, 1:5] = y_triv
    e_floor = E_triv - 1e-12 * abs(E_triv)
    for j in range(k):
        if auto_rule:
            th, E, gn, it, status, y = newton_auto(starts[j], prm, tol, max_iter, b_cap, max_step, e_floor,
                                                   creep_spread, join, join_tol)
        else:
            th, E, gn, it, status, y = newton_y(starts[j], prm, nodes, weights, tol, max_iter, b_cap, max_step,
                                                e_floor, creep_spread, np.int64(0), join, join_tol)
        out[j + 1, 0:4] = th
        out[j + 1, 4] = E
        out[j + 1, 5] = gn
        out[j + 1, 6] = it
        out[j + 1, 7] = status
        out[j + 1, 8:12] = y
    return out


@njit(cache=True)
def warm_batch(P, ts, sat, j0, prev, prev2, state, check_every, sgn, auto_rule, nodes, weights, tol, max_iter,
               b_cap, max_step, creep_spread, out):
    """The continuation of ``exact_curve`` over sorted times ``j0, j0 + 1, ...`` while it needs no decision.

    Time j (row ``P[j]`` of parameters, ``ts[j]``, ``sat[j]``: d = inf with B = inf) is done here when it is
    saturated (``out[j, 0] = 2``: ``E`` in column 5, the ridge ``y`` in 9:13) or when it is not a check time
    (``j % check_every != 0``), a previous informative minimiser exists and one Newton run from the
    linear predictor (the rule of ``solver._predict``) ends on the informative branch (``out[j, 0] = 1``:
    ``theta`` 1:5, E 5, residual 6, iterations 7, E_triv 8, y 9:13).  The first time that needs the full
    search (no warm start, a check time, or the warm run off the informative branch) is returned.

    ``prev = (t, omega, b, z_plus, z_minus)``, ``prev2`` the one before, ``state = (has_prev, has_prev2,
    last_informative)``; all updated in place.
    """
    K_ = ts.shape[0]
    th0 = np.empty(4)
    for j in range(j0, K_):
        prm = P[j]
        if sat[j]:
            E, y = eliminate(0.0, 0.0, 0.0, 1.0, -1.0, 1.0, 1.0, prm)
            out[j, 0] = 2.0
            out[j, 5] = E
            out[j, 9:13] = y
            state[0] = 0.0
            state[1] = 0.0
            state[2] = 0.0
            continue
        if state[0] == 0.0 or j % check_every == 0:
            return j
        t = ts[j]
        for i in range(4):
            th0[i] = prev[1 + i]
        if state[1] != 0.0 and prev2[0] != prev[0]:
            f = (t - prev[0]) / (prev[0] - prev2[0])
            if 0.0 < f <= 2.0 and prev[1] + f * (prev[1] - prev2[1]) >= 0.5 * prev[1]:
                for i in range(4):
                    th0[i] = prev[1 + i] + f * (prev[1 + i] - prev2[1 + i])
        E_triv, _ = eliminate(0.0, 0.0, 0.0, sgn, sgn, 1.0, 1.0, prm)
        e_floor = E_triv - 1e-12 * abs(E_triv)
        if auto_rule:
            th, E, gn, it, status, y = newton_auto(th0, prm, tol, max_iter, b_cap, max_step, e_floor, creep_spread,
                                                   th0, 0.0)
        else:
            th, E, gn, it, status, y = newton_y(th0, prm, nodes, weights, tol, max_iter, b_cap, max_step, e_floor,
                                                creep_spread, np.int64(0), th0, 0.0)
        if not (status == 0 and abs(th[1]) <= b_cap and E < E_triv - 1e-12 * abs(E_triv) and abs(th[0]) > 1e-7):
            return j
        out[j, 0] = 1.0
        out[j, 1:5] = th
        out[j, 5] = E
        out[j, 6] = gn
        out[j, 7] = it
        out[j, 8] = E_triv
        out[j, 9:13] = y
        # the next predictor: canonical sign omega >= 0 ((u, w, b) -> -(u, w, b)), as the results report it
        s = -1.0 if th[0] < 0.0 else 1.0
        if state[2] != 0.0:
            prev2[:] = prev
            state[1] = 1.0
        else:
            state[1] = 0.0
        prev[0] = t
        for i in range(4):
            prev[1 + i] = s * th[i]
        state[0] = 1.0
        state[2] = 1.0
    return K_
