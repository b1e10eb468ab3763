"""Finite-batch noise and Adam in the exact per-point coordinates (EXACT_FINITE_N §2).

Equations: :func:`flowphase.theory.exact_dynamics.noise_second_moments` (the per-coordinate second moments of
the one-draw gradient estimator) and the update rules of the module docstring of
:mod:`flowphase.theory.exact_dynamics` ("Finite batches and Adam").  State ``y`` as in
:mod:`flowphase.numerics.exact.perpoint`, ``(c, b, m, omega, rho_w, rho_u, nu, a_1..a_n, z_1..z_n)``, plus the
optimiser state: the Adam second-moment EMAs of c, b, and per perpendicular coordinate class those of u, w (scaled
``d^2 v_u``, ``d v_w``, both O(1)).

One step (``K`` fresh draws per point, ``K = 0``: the exact expectation, no noise):

* mean gradient: the per-point partials of the exact loss (as in :mod:`..perpoint`);
* ``|E g_u|^2/d = |G_u|^2/d^3`` and ``|E g_w|^2/d`` from the reduced coordinates, ``G_u = d grad_u L``;
* noise: ``<Var g_u,i> = V_u^noise / (K d^2)``, ``<Var g_w,i> = V_w^noise / (K d)``,
  ``<Cov> = C_uw / (K d^{3/2})``, ``Var g_c``, ``Var g_b`` (theory, summed over points);
* optimiser: ``gd`` = the simulator's preconditioned GD (step ``lr/n`` on c, b and ``lr d/n`` on u, w);
  ``adam``: c, b by scalar Adam on ``E g`` with ``v = EMA(E g^2 + Var g)`` (closed); u and w coordinate class by
  coordinate class (``adam_law='coordinate'``, :func:`perpendicular_law`): class j has perpendicular coordinates
  ``(U_j, W_j)`` and its own ``v_j = EMA((A_mu + 2 ell_q U_j + ell_v W_j)^2 + |A_eta|^2 + V_u/K)`` (u; w alike),
  steps ``lr/(sqrt(v_j) + eps)``; the mu-components move by the class mean of the normalised gradient, the
  eta-components (a_nu, z_nu) by the class-mean step, each class's perpendicular coordinates by its own step minus
  the part of it along mu.  ``adam_law='isotropic'``: every class uses the class-mean ``v`` (one step per vector);
* the noise adds its variance to the noise-accumulated perpendicular part ``N3 = (rho_u, rho_w, nu)``:
  ``+= eta_u^2 <Var g_u,i>``, ``eta_w^2 <Var g_w,i>``, ``eta_u eta_w <Cov>`` (class means of the squared steps),
  contracted with the class-mean step; the first moment's EMA delays the drift by ~1/(1-beta1) steps and filters
  the noise but leaves the accumulated variance per step unchanged: it is not carried.  The totals
  ``rho_w, rho_u, nu`` of the state are the class sums plus N3.

What is exact and what is a surrogate: :mod:`flowphase.theory.exact_dynamics` ("Finite batches and Adam").

``stride`` > 1 takes macro steps of ``stride`` Adam steps (components by Euler with the stride, the perpendicular
block by the per-step map applied ``stride`` times, the EMAs with ``beta2^stride``): for small learning rates
(the authors' 1e-4) it follows the per-step map (tested) at a fraction of the cost.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from flowphase.numerics import _generated as G
from flowphase.numerics.exact.dynamics import exact_dynamics_params

__all__ = ["power_moments", "noise_terms", "iterate_stochastic", "derived_overlaps", "perpendicular_law", "OPTIMIZERS"]

OPTIMIZERS = ("adam", "gd")


@njit(cache=True)
def power_moments(mean, sd, nodes, weights):
    """``(M, Q, T3, T4, T5, T6, dM/dmean, dQ/dmean, dM/dr, dQ/dr)`` of ``phi = tanh(mean + sd g)``;
    the r-derivatives per unit ``alpha^2`` (Stein: ``d/dr E F = (alpha^2/2) E F''``, the caller multiplies)."""
    M = 0.0
    Q = 0.0
    T3 = 0.0
    T4 = 0.0
    T5 = 0.0
    T6 = 0.0
    Mb = 0.0
    Qb = 0.0
    M2 = 0.0
    Q2 = 0.0
    for i in range(nodes.shape[0]):
        ph = math.tanh(mean + sd * nodes[i])
        p2 = ph * ph
        se = 1.0 - p2
        wi = weights[i]
        M += wi * ph
        Q += wi * p2
        T3 += wi * p2 * ph
        T4 += wi * p2 * p2
        T5 += wi * p2 * p2 * ph
        T6 += wi * p2 * p2 * p2
        Mb += wi * se
        Qb += wi * 2.0 * ph * se
        M2 += wi * (-2.0 * ph * se)
        Q2 += wi * (2.0 * se * se - 4.0 * p2 * se)
    return M, Q, T3, T4, T5, T6, Mb, Qb, 0.5 * M2, 0.5 * Q2


@njit(cache=True)
def noise_terms(alpha, beta, isd, sigma, c, S, W, q, v, M, Q, T3, T4, T5, T6):
    """One point's ``(V_u, V_w, C_uw, Var g_c, Var g_b)`` for one draw (:func:`flowphase.theory.exact_dynamics.
    noise_second_moments`): ``<Var g_u,i> = V_u/d^2``, ``<Var g_w,i> = V_w/d``, ``<Cov> = C_uw/d^{3/2}``.

    ``S = u.x1/d = s m + sigma a_nu``, ``W = w.x1/d = s omega + sigma z_nu``; ``isd = 1/sqrt(d)``.
    """
    x2 = 1.0 + sigma * sigma
    cb1 = c * beta - 1.0
    al2 = alpha * alpha
    Vu = 4.0 * (c * c * al2 * Q + cb1 * cb1 * x2 * (Q - M * M) + q * (T4 - Q * Q) + 2.0 * cb1 * S * (T3 - M * Q))
    K0 = 1.0 - 2.0 * Q + T4
    K1 = M - 2.0 * T3 + T5
    K2 = Q - 2.0 * T4 + T6
    Epsi2 = cb1 * cb1 * S * S * K0 + 2.0 * cb1 * S * q * K1 + q * q * K2
    Epsi = cb1 * S * (1.0 - Q) + q * (M - T3)
    Epsi0 = Epsi
    # the c alpha H / sqrt(d) part of R.u/d (H = u.x0/sqrt(d)), by Stein in G = w.x0/sqrt(d)
    ca = c * alpha * isd
    Eg1 = q * (1.0 - 3.0 * Q + 3.0 * T4 - T6) - 4.0 * cb1 * S * K1 - 4.0 * q * K2
    Epsi2 += ca * ca * (q * K0 - 4.0 * v * v * al2 * (K0 - 5.0 * K2)) + 2.0 * ca * v * alpha * Eg1
    Epsi += ca * (-2.0 * v * alpha * (M - T3))
    varpsi = Epsi2 - Epsi * Epsi
    Vw = 4.0 * (al2 * Epsi2 + beta * beta * x2 * varpsi)
    Ephipsi = cb1 * S * (M - T3) + q * (Q - T4)
    Ephi2psi = cb1 * S * (Q - T4) + q * (T3 - T5)
    Cuw = 4.0 * (c * al2 * Ephipsi + beta * (cb1 * x2 * (Ephipsi - M * Epsi0) + S * (Ephi2psi - Q * Epsi0)))
    # x0_i correlates with G (w_i/sqrt d): E[F x0_i] = (w_i/sqrt d) alpha E F'(z) (Stein; leading in phase 1)
    kk = cb1 * S
    D2 = 2.0 * kk * (M - T3) + 3.0 * q * (Q - T4) - 4.0 * kk * (T3 - T5) - 5.0 * q * (T4 - T6)   # E (phi^2 psi)'
    D1 = kk * (1.0 - Q) + 2.0 * q * (M - T3) - 3.0 * kk * (Q - T4) - 4.0 * q * (T3 - T5)          # E (phi psi)'
    Cuw += 4.0 * isd * al2 * (v * D2 + (2.0 * c * beta - 1.0) * W * D1)
    Vb = 4.0 * varpsi
    P = 1.0 - Q
    sx = math.sqrt(x2)
    A0 = c * al2 * math.sqrt(2.0) * isd
    A1 = alpha * sx * (2.0 * c * beta - 1.0) * isd
    EH2phi2 = q * Q + v * v * al2 * (2.0 * K0 - 4.0 * Q + 4.0 * T4)
    varHphi = EH2phi2 - (v * alpha * P) ** 2
    Ee1Hphi = (W / sx) * (-2.0 * al2 * v * (M - T3)) + (S / sx) * M
    cov_e1phi = (W / sx) * alpha * P
    cov_Hphi_phi = v * alpha * (2.0 * (M - T3) - P * M)
    Vc = 4.0 * (A0 * A0 + A1 * A1 + al2 * isd * isd * varHphi + beta * beta * S * S * (Q - M * M)
                + 2.0 * A1 * alpha * isd * Ee1Hphi + 2.0 * A1 * beta * S * cov_e1phi
                + 2.0 * alpha * isd * beta * S * cov_Hphi_phi)
    return Vu, Vw, Cuw, Vc, Vb


@njit(cache=True)
def _gradients(y, s, prm, la, lz):
    """Mean partials ``(lc, lb, lm, lom, lq, lr, lv)`` (fills la, lz) and the noise sums ``(Vu, Vw, Cuw, Vc, Vb)``."""
    n = s.shape[0]
    alpha, beta, isd, sigma, lam_u, lam_w, Bv = prm[0], prm[1], prm[2], prm[3], prm[6], prm[7], prm[8]
    nq = int(prm[12])
    nodes = prm[13:13 + nq]
    weights = prm[13 + nq:13 + 2 * nq]
    c, b, m, om, rw, ru, nu = y[0], y[1], y[2], y[3], y[4], y[5], y[6]
    r = om * om + rw
    q = m * m + ru
    v = m * om + nu
    for i in range(n):
        r += y[7 + n + i] ** 2
        q += y[7 + i] ** 2
        v += y[7 + i] * y[7 + n + i]
    sd = alpha * math.sqrt(max(r, 0.0))
    lc = 0.0
    lb = 0.0
    lm = 0.0
    lom = 0.0
    lq = lam_u
    lr = lam_w
    lv = 0.0
    Vu = 0.0
    Vw = 0.0
    Cuw = 0.0
    Vc = 0.0
    Vb = 0.0
    for i in range(n):
        a_i = y[7 + i]
        z_i = y[7 + n + i]
        mean = Bv * (s[i] * om + sigma * z_i) + b
        M, Q, T3, T4, T5, T6, Mb, Qb, Mr, Qr = power_moments(mean, sd, nodes, weights)
        Mr *= alpha * alpha
        Qr *= alpha * alpha
        if s[i] > 0:
            out = G.exact_point_partials_plus(alpha, beta, isd, sigma, c, m, a_i, M, Q, q, v)
        else:
            out = G.exact_point_partials_minus(alpha, beta, isd, sigma, c, m, a_i, M, Q, q, v)
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
        e = noise_terms(alpha, beta, isd, sigma, c, s[i] * m + sigma * a_i, s[i] * om + sigma * z_i, q, v,
                        M, Q, T3, T4, T5, T6)
        Vu += e[0]
        Vw += e[1]
        Cuw += e[2]
        Vc += e[3]
        Vb += e[4]
    return lc, lb, lm, lom, lq, lr, lv, Vu, Vw, Cuw, Vc, Vb


@njit(cache=True)
def _step(y, o, X, wts, N3, s, prm, d, opt, lr, K, beta2, eps, tstep, stride, isotropic):
    """One (macro) step in place; ``tstep`` = index of the last Adam step it covers (bias correction).

    ``X[j] = (U_j, W_j, v_u,j, v_w,j)``: the perpendicular coordinate law (weights ``wts``) with each class's Adam
    second moments; ``N3 = (rho_u, rho_w, nu)`` of the noise-accumulated perpendicular part; ``y[4:7]`` are the
    totals ``sum_j wts_j (W^2, U^2, U W) + N3``.
    """
    n = s.shape[0]
    P = X.shape[0]
    la = np.empty(n)
    lz = np.empty(n)
    lc, lb, lm, lom, lq, lr_, lv, Vu, Vw, Cuw, Vc, Vb = _gradients(y, s, prm, la, lz)
    kinv = 0.0 if K == 0 else 1.0 / K
    c, b, m, om = y[0], y[1], y[2], y[3]
    Au_mu = lm + 2.0 * lq * m + lv * om
    Aw_mu = lom + 2.0 * lr_ * om + lv * m
    Pu = 0.0                  # the eta parts of |G_u|^2/d, |G_w|^2/d (the mu part is common to all coordinates)
    Pw = 0.0
    for i in range(n):
        au = la[i] + 2.0 * lq * y[7 + i] + lv * y[7 + n + i]
        aw = lz[i] + 2.0 * lr_ * y[7 + n + i] + lv * y[7 + i]
        Pu += au * au
        Pw += aw * aw
    ruN, rwN, nuN = N3[0], N3[1], N3[2]
    Pu += 4.0 * lq * lq * ruN + 4.0 * lq * lv * nuN + lv * lv * rwN
    Pw += 4.0 * lr_ * lr_ * rwN + 4.0 * lr_ * lv * nuN + lv * lv * ruN
    sq_d = math.sqrt(d)
    fu = np.empty(P)
    fw = np.empty(P)
    if opt == 0:
        dec = beta2 ** stride
        o[0] = dec * o[0] + (1.0 - dec) * (lc * lc + Vc * kinv)
        o[1] = dec * o[1] + (1.0 - dec) * (lb * lb + Vb * kinv)
        bc2 = 1.0 - beta2 ** tstep
        eta_c = lr / (math.sqrt(o[0] / bc2) + eps)
        eta_b = lr / (math.sqrt(o[1] / bc2) + eps)
        mu_ = 0.0
        mw_ = 0.0
        for j in range(P):
            gu = Au_mu + 2.0 * lq * X[j, 0] + lv * X[j, 1]
            gw = Aw_mu + 2.0 * lr_ * X[j, 1] + lv * X[j, 0]
            X[j, 2] = dec * X[j, 2] + (1.0 - dec) * (gu * gu + Pu + Vu * kinv)        # d^2 v_u
            X[j, 3] = dec * X[j, 3] + (1.0 - dec) * ((gw * gw + Pw) / d + Vw * kinv)  # d v_w
            mu_ += wts[j] * X[j, 2]
            mw_ += wts[j] * X[j, 3]
        for j in range(P):
            vu = mu_ if isotropic else X[j, 2]
            vw = mw_ if isotropic else X[j, 3]
            fu[j] = lr / (math.sqrt(vu / bc2) + eps * d)                 # eta_u / d of this coordinate class
            fw[j] = lr / (sq_d * math.sqrt(vw / bc2) + eps * d)          # eta_w / d
    else:
        eta_c = lr / n
        eta_b = lr / n
        for j in range(P):
            fu[j] = lr / n
            fw[j] = lr / n
    fu_bar = 0.0
    fw_bar = 0.0
    fu2 = 0.0
    fw2 = 0.0
    fuw = 0.0
    Abar_u = 0.0              # mu-projection of the update (per ODE unit): <f_j g_j>
    Abar_w = 0.0
    for j in range(P):
        fu_bar += wts[j] * fu[j]
        fw_bar += wts[j] * fw[j]
        fu2 += wts[j] * fu[j] * fu[j]
        fw2 += wts[j] * fw[j] * fw[j]
        fuw += wts[j] * fu[j] * fw[j]
        Abar_u += wts[j] * fu[j] * (Au_mu + 2.0 * lq * X[j, 0] + lv * X[j, 1])
        Abar_w += wts[j] * fw[j] * (Aw_mu + 2.0 * lr_ * X[j, 1] + lv * X[j, 0])
    k = float(stride)
    y[0] = c - k * eta_c * lc
    y[1] = b - k * eta_b * lb
    y[2] = m - k * Abar_u
    y[3] = om - k * Abar_w
    for i in range(n):
        au = la[i] + 2.0 * lq * y[7 + i] + lv * y[7 + n + i]
        aw = lz[i] + 2.0 * lr_ * y[7 + n + i] + lv * y[7 + i]
        y[7 + i] -= k * fu_bar * au
        y[7 + n + i] -= k * fw_bar * aw
    # perpendicular coordinate classes: the per-step map (its mean over classes is the mu-move above), stride times
    for j in range(P):
        pu, xu = 1.0 - 2.0 * fu[j] * lq, -fu[j] * lv
        pw, xw = 1.0 - 2.0 * fw[j] * lr_, -fw[j] * lv
        su = Abar_u - fu[j] * Au_mu
        sw = Abar_w - fw[j] * Aw_mu
        U, W = X[j, 0], X[j, 1]
        for _ in range(stride):
            U, W = pu * U + xu * W + su, pw * W + xw * U + sw
        X[j, 0] = U
        X[j, 1] = W
    # noise-accumulated part: contracted with the mean step, fed by eta^2 <Var g>
    pu, xu = 1.0 - 2.0 * fu_bar * lq, -fu_bar * lv
    pw, xw = 1.0 - 2.0 * fw_bar * lr_, -fw_bar * lv
    inj_u = fu2 * Vu * kinv
    inj_w = fw2 * d * Vw * kinv
    inj_c = fuw * sq_d * Cuw * kinv
    for _ in range(stride):
        ru2 = pu * pu * ruN + 2.0 * pu * xu * nuN + xu * xu * rwN + inj_u
        rw2 = pw * pw * rwN + 2.0 * pw * xw * nuN + xw * xw * ruN + inj_w
        nu2 = pu * xw * ruN + (pu * pw + xu * xw) * nuN + xu * pw * rwN + inj_c
        ruN, rwN, nuN = ru2, rw2, nu2
    N3[0] = ruN
    N3[1] = rwN
    N3[2] = nuN
    tu = ruN
    tw = rwN
    tn = nuN
    for j in range(P):
        tu += wts[j] * X[j, 0] * X[j, 0]
        tw += wts[j] * X[j, 1] * X[j, 1]
        tn += wts[j] * X[j, 0] * X[j, 1]
    y[4] = tw
    y[5] = tu
    y[6] = tn


@njit(cache=True, nogil=True)
def _iterate(y0, X0, wts, s, prm, d, opt, lr, K, beta2, eps, n_macro, stride, record_every, isotropic):
    nrec = n_macro // record_every + 1
    Y = np.empty((nrec, y0.shape[0]))
    O = np.empty((nrec, 5))
    y = y0.copy()
    X = X0.copy()
    o = np.zeros(2)
    N3 = np.zeros(3)
    Y[0] = y
    O[0, :] = 0.0
    kk = 1
    for it in range(1, n_macro + 1):
        _step(y, o, X, wts, N3, s, prm, d, opt, lr, K, beta2, eps, it * stride, stride, isotropic)
        if it % record_every == 0:
            Y[kk] = y
            O[kk, 0] = o[0]
            O[kk, 1] = o[1]
            O[kk, 2] = N3[0]
            O[kk, 3] = N3[1]
            O[kk, 4] = N3[2]
            kk += 1
    return Y, O


def perpendicular_law(rho_u: float, rho_w: float, nu: float, nodes: int = 16):
    """Weighted classes ``(U_j, W_j)`` of the perpendicular coordinates: the tensor Gauss-Hermite rule of the
    Gaussian law with covariance ``[[rho_u, nu], [nu, rho_w]]`` (the random initialisation's; exact for the
    quadratic moments, so GD is unchanged).  Returns ``(X (P, 4), weights (P,))``."""
    from flowphase.numerics.quadrature import gauss_hermite

    g, wg = gauss_hermite(int(nodes))
    ru, rw = max(float(rho_u), 0.0), max(float(rho_w), 0.0)
    L11 = math.sqrt(ru)
    L21 = nu / L11 if L11 > 0 else 0.0
    L22 = math.sqrt(max(rw - L21 * L21, 0.0))
    G1, G2 = np.meshgrid(g, g, indexing="ij")
    W1, W2 = np.meshgrid(wg, wg, indexing="ij")
    X = np.zeros((G1.size, 4))
    X[:, 0] = L11 * G1.ravel()
    X[:, 1] = L21 * G1.ravel() + L22 * G2.ravel()
    return np.ascontiguousarray(X), np.ascontiguousarray((W1 * W2).ravel())


def iterate_stochastic(problem, t: float, y0, labels, n_steps: int, *, optimizer: str = "adam", lr: float = 1e-3,
                       draws: int = 1, d: float = None, record_every: int = 1, stride: int = 1,
                       betas=(0.9, 0.999), eps: float = 1e-8, rule=None, adam_law: str = "coordinate",
                       perp_nodes: int = 16) -> dict:
    """Run the per-point map with finite-batch noise and the optimiser (module docstring) for ``n_steps`` steps.

    ``y0``: per-point state (:func:`flowphase.numerics.exact.perpoint.perpoint_state`), ``labels`` the +-1 labels;
    ``draws`` = K fresh noise draws per point and step (0: exact expectation, no noise term); ``d``: the
    dimension the theory is evaluated at (default the problem's; must be finite); ``adam_law``: ``coordinate``
    (the perpendicular coordinates' own Adam normalisation, :func:`perpendicular_law` classes) or ``isotropic``
    (one normalisation for all coordinates of a vector).  ``record_every`` counts steps and must be a multiple
    of ``stride``.  Returns ``{"steps", "y" (R, 7 + 2n), "opt" (R, 5: v_c, v_b, noise rho_u, rho_w, nu), ...}``.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if adam_law not in ("coordinate", "isotropic"):
        raise ValueError(f"adam_law must be 'coordinate' or 'isotropic', got {adam_law!r}")
    d = float(problem.d if d is None else d)
    if not (math.isfinite(d) and d >= 1):
        raise ValueError(f"the stochastic map needs a finite dimension d >= 1, got {d!r}")
    s = np.ascontiguousarray(labels, dtype=np.float64)
    n = s.size
    if int(problem.n) != n:
        raise ValueError(f"labels must have n = {int(problem.n)} entries, got {n}")
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    if y0.size != 7 + 2 * n:
        raise ValueError(f"y0 must have 7 + 2n = {7 + 2 * n} entries, got {y0.size}")
    for name, val in (("n_steps", n_steps), ("record_every", record_every), ("stride", stride)):
        if isinstance(val, bool) or int(val) != val or int(val) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {val!r}")
    n_steps, record_every, stride = int(n_steps), int(record_every), int(stride)
    if record_every % stride or n_steps % stride:
        raise ValueError(f"n_steps ({n_steps}) and record_every ({record_every}) must be multiples of stride ({stride})")
    if isinstance(draws, bool) or int(draws) != draws or int(draws) < 0:
        raise ValueError(f"draws must be an integer >= 0, got {draws!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    b1, b2 = (float(x) for x in betas)
    if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0 and eps >= 0):
        raise ValueError(f"betas must lie in [0, 1) and eps >= 0, got {betas!r}, {eps!r}")
    if y0[4] < 0 or y0[5] < 0 or y0[6] ** 2 > y0[4] * y0[5] * (1 + 1e-9) + 1e-300:
        raise ValueError("y0 needs rho_w, rho_u >= 0 and nu^2 <= rho_w rho_u (Cauchy-Schwarz)")
    X0, wts = perpendicular_law(y0[5], y0[4], y0[6], perp_nodes)
    prm = exact_dynamics_params(problem, t, d=d, n_plus=int(np.sum(s > 0)), rho=1.0, rule=rule)
    Y, O = _iterate(y0, X0, wts, s, prm, d, 0 if optimizer == "adam" else 1, float(lr), int(draws), b2, float(eps),
                    n_steps // stride, stride, record_every // stride, adam_law == "isotropic")
    if not np.all(np.isfinite(Y)):
        raise ValueError("the stochastic exact map produced non-finite overlaps (step too large?)")
    steps = np.arange(Y.shape[0]) * record_every
    return {"steps": steps, "y": Y, "opt": O, "t": float(t), "d": d, "optimizer": optimizer, "lr": float(lr),
            "draws": int(draws), "stride": stride, "n": n, "adam_law": adam_law}


def derived_overlaps(Y: np.ndarray, n: int) -> dict:
    """``c, b, m, omega, sqrt_q, sqrt_r`` and ``rho_w = r - omega^2 - sum z_nu^2`` from per-point records."""
    Y = np.atleast_2d(Y)
    a = Y[:, 7:7 + n]
    z = Y[:, 7 + n:7 + 2 * n]
    return {"c": Y[:, 0], "b": Y[:, 1], "m": Y[:, 2], "omega": Y[:, 3],
            "sqrt_q": np.sqrt(np.maximum(Y[:, 2] ** 2 + (a ** 2).sum(1) + Y[:, 5], 0.0)),
            "sqrt_r": np.sqrt(np.maximum(Y[:, 3] ** 2 + (z ** 2).sum(1) + Y[:, 4], 0.0)),
            "rho_w": Y[:, 4], "rho_u": Y[:, 5]}
