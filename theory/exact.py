"""Exact finite-n theory (d -> inf at fixed n, fresh noise): one potential for both phases (EXACT_FINITE_N §2-4).

Nothing here is typed in as a result: the per-point loss is **built** from the inner-product table of
the vectors involved (EXACT_FINITE_N §2), summed over the two label classes with their realised counts
``n_plus, n_minus``, and then differentiated and solved by sympy.  :mod:`flowphase.numerics._codegen`
turns the expressions into the numba kernels of ``numerics/_generated_exact.py``.

Coordinates (EXACT_FINITE_N §2-3, class-symmetric)
-------------------------------------------------
``w = sqrt(d) (omega e0 + sum_nu z_{s_nu} e_nu) + w_perp``, ``u = sqrt(d) (m e0 + sum_nu a_{s_nu} e_nu)
+ u_perp`` with ``e0 = mu/sqrt(d)``, ``e_nu = eta^nu/sqrt(d)``; so ``omega = w.mu/d``, ``z_pm = w.eta^nu/d``
(nu in class +-), ``m = u.mu/d``, ``a_pm = u.eta^nu/d``, and

* ``r = |w|^2/d = omega^2 + n_plus z_plus^2 + n_minus z_minus^2`` (w_perp = 0 at the minimum),
* ``q = |u|^2/d = m^2 + n_plus a_plus^2 + n_minus a_minus^2``,
* ``v = u.w/d = m omega + n_plus a_plus z_plus + n_minus a_minus z_minus``.

The preactivation of a point of class k = +-1 is ``alpha sqrt(r) g + B (k omega + sigma z_k) + b`` with
``g ~ N(0, 1)`` fresh and ``B = beta sqrt(d)``; its tanh has the class moments ``M_k = E phi``,
``Q_k = E phi^2``, ``P_k = E phi' = 1 - Q_k``.

Per-point loss (EXACT_FINITE_N §2)
---------------------------------
``f(x) - x1 = c alpha x0 + (c beta - 1) x1 + u phi`` and, with the table of leading-order inner
products per d (``|x0|^2 -> 1``, ``|x1|^2 -> 1 + sigma^2``, ``E x0.x1 = 0``, ``u.x1 -> k m + sigma a_k``,
``|u|^2 -> q``) and Stein's lemma ``E[phi x0] = alpha (w/sqrt d) E phi'`` for the one term where the fresh
noise meets the activation, ``E |f - x1|^2 / d =
c^2 alpha^2 + (c beta - 1)^2 (1 + sigma^2) + q Q_k + 2 (c beta - 1)(k m + sigma a_k) M_k + 2 c alpha^2 v P_k / sqrt(d)``.
The Stein term is O(d^-1/2) but c is itself O(d^-1/2) in phase 1 (beta = kappa t / sqrt d): it fixes c at
leading order when the theory is evaluated at finite d (symbol ``inv_sqrt_d``; 0 at d = inf).

Elimination
-----------
``L/d`` is a quadratic form in ``y = (c, m, a_plus, a_minus)`` for fixed ``(omega, b, z_plus, z_minus)``:
``L/d = y^T H y - 2 g^T y + L0``.  :func:`quadratic_form` returns ``H, g, L0`` (symbolic); the effective
potential is ``E = L0 - g^T H^-1 g`` (one 4x4 linear solve, done numerically), and by the envelope theorem
its gradient is the explicit partial derivative of ``L/d`` at ``y* = H^-1 g`` (:func:`loss_partials`),
chained through the class moments.

Limits (EXACT_FINITE_N §4), checked symbolically in :func:`limit_residuals`
-----------------------------------------------------------------------
1. d = inf in phase 1 (``beta = 0``, ``inv_sqrt_d = 0``): ``c = 0``.
2. Saturated tanh (``M_k = k``, ``Q_k = 1``, ``inv_sqrt_d = 0``): the fresh-noise ridge closed forms of
   PAPER §3.4 (``c = beta A/(beta^2 A + alpha^2 (n + lam_u))``, ``m = n (1 - c beta)/(n + lam_u)``,
   ``a_pm = +-sigma (1 - c beta)/(n + lam_u)``).
3. ``z = 0``, ``a_pm = +-q_eta``, ``n_pm = n p, n (1-p)``: the PAPER §3.2 potential
   ``-n (n + sigma^2) M_s^2/(lam_u + n M_2) + lam_w omega^2`` (+ the constant ``n (1 + sigma^2)``).
"""
from __future__ import annotations

import functools
from typing import Dict

import sympy as sp

__all__ = ["SYMBOLS", "point_loss", "total_loss", "quadratic_form", "loss_partials", "eliminated_potential",
           "limit_residuals", "trivial_energy", "outer_derivatives", "OUTER", "MOMENT_DERIVATIVES"]

# ----------------------------------------------------------------------------- symbols
alpha, beta, inv_sqrt_d = sp.symbols("alpha beta inv_sqrt_d", nonnegative=True)
sigma, n_plus, n_minus, lam_u, lam_w = sp.symbols("sigma n_plus n_minus lam_u lam_w", positive=True)
c, m, a_plus, a_minus = sp.symbols("c m a_plus a_minus", real=True)
omega, z_plus, z_minus = sp.symbols("omega z_plus z_minus", real=True)
M_plus, M_minus, Q_plus, Q_minus = sp.symbols("M_plus M_minus Q_plus Q_minus", real=True)
phi = sp.symbols("phi", real=True)   # the activation tanh(...) before its expectation is taken
B, b = sp.symbols("B b", real=True)  # B = beta sqrt(d) (the class-mean slope of the preactivation), the bias
inv_sqrt_r = sp.symbols("inv_sqrt_r", positive=True)   # 1/sqrt(r) (the kernels pass 0 at r = 0)

SYMBOLS = {str(s): s for s in (alpha, beta, inv_sqrt_d, sigma, n_plus, n_minus, lam_u, lam_w, c, m, a_plus, a_minus,
                               omega, z_plus, z_minus, M_plus, M_minus, Q_plus, Q_minus, B, b, inv_sqrt_r)}
INNER = (c, m, a_plus, a_minus)
OUTER_EXPLICIT = (omega, z_plus, z_minus)
OUTER = (omega, b, z_plus, z_minus)
MOMENTS = (M_plus, M_minus, Q_plus, Q_minus)
#: derivatives of each class moment X in the mean (``_m``) and the std (``_s``) of its Gaussian preactivation:
#: ``X_m, X_s, X_mm, X_ms, X_ss`` for X in :data:`MOMENTS` (computed by quadrature in the kernels)
MOMENT_DERIVATIVES = tuple(sp.Symbol(f"{X}_{k}", real=True) for X in MOMENTS for k in ("m", "s", "mm", "ms", "ss"))
for _s in MOMENT_DERIVATIVES:
    SYMBOLS[str(_s)] = _s


def _overlaps():
    """r, q, v of EXACT_FINITE_N §3 in the class-symmetric coordinates."""
    r = omega ** 2 + n_plus * z_plus ** 2 + n_minus * z_minus ** 2
    q = m ** 2 + n_plus * a_plus ** 2 + n_minus * a_minus ** 2
    v = m * omega + n_plus * a_plus * z_plus + n_minus * a_minus * z_minus
    return r, q, v


def point_loss(label: int, overlaps=None) -> sp.Expr:
    """``E_x0 |f(x^nu) - x1^nu|^2 / d`` for a point of class ``label`` (EXACT_FINITE_N §2), built from the table.

    ``overlaps = (r, q, v)`` replaces the class-symmetric r, q, v by other expressions (e.g. independent
    symbols, as the learning dynamics of :mod:`flowphase.theory.exact_dynamics` need); default §3's.

    The residual is ``c alpha X0 + (c beta - 1) X1 + phi U``; its squared norm is expanded over the pairs of
    directions and each pair is replaced by its leading-order inner product per d, the activation powers
    ``phi -> M_k``, ``phi^2 -> Q_k``, and the one noise-activation pair by Stein's lemma.
    """
    if label not in (1, -1):
        raise ValueError(f"label must be +1 or -1, got {label!r}")
    r, q, v = _overlaps() if overlaps is None else overlaps
    a_k = a_plus if label == 1 else a_minus
    M_k = M_plus if label == 1 else M_minus
    Q_k = Q_plus if label == 1 else Q_minus
    X0, X1, U = sp.symbols("X0 X1 U", commutative=False)
    coef = {X0: c * alpha, X1: c * beta - 1, U: phi}
    # E over x0 of the inner product per d of each pair, as a polynomial in phi (then E phi^j replaced)
    table = {
        (X0, X0): sp.Integer(1),
        (X1, X1): 1 + sigma ** 2,
        (X0, X1): sp.Integer(0),
        (U, U): q,
        (U, X1): label * m + sigma * a_k,
        # Stein: E[phi u.x0]/d = alpha (u.w/d) E[phi'] / sqrt(d); the phi of the coefficient is consumed here
        (X0, U): alpha * v * (1 - Q_k) * inv_sqrt_d / phi,
    }
    total = sp.Integer(0)
    keys = list(coef)
    for i, ki in enumerate(keys):
        for kj in keys[i:]:
            pair = (ki, kj) if (ki, kj) in table else (kj, ki)
            mult = 1 if ki == kj else 2
            total += mult * coef[ki] * coef[kj] * table[pair]
    total = sp.expand(total)
    # E phi^2 -> Q_k, E phi -> M_k (after the Stein term consumed its phi)
    total = total.subs(phi ** 2, Q_k).subs(phi, M_k)
    return sp.expand(total)


@functools.lru_cache(maxsize=None)
def total_loss() -> sp.Expr:
    """``L/d`` summed over the realised classes plus the ridge penalties (EXACT_FINITE_N §2)."""
    r, q, _ = _overlaps()
    return sp.expand(n_plus * point_loss(1) + n_minus * point_loss(-1) + lam_u * q + lam_w * r)


@functools.lru_cache(maxsize=None)
def quadratic_form():
    """``(H, g, L0)`` with ``L/d = y^T H y - 2 g^T y + L0`` in ``y = (c, m, a_plus, a_minus)``."""
    L = total_loss()
    y = sp.Matrix(INNER)
    H = sp.Matrix(4, 4, lambda i, j: sp.expand(sp.diff(L, INNER[i], INNER[j]) / 2))
    zero = {s: 0 for s in INNER}
    g = sp.Matrix([sp.expand(-sp.diff(L, s).subs(zero) / 2) for s in INNER])
    L0 = sp.expand(L.subs(zero))
    # the form is exact: L - (y^T H y - 2 g^T y + L0) == 0
    assert sp.expand(L - ((y.T * H * y)[0] - 2 * (g.T * y)[0] + L0)) == 0
    return H, g, L0


@functools.lru_cache(maxsize=None)
def loss_partials() -> Dict[str, sp.Expr]:
    """Explicit partial derivatives of ``L/d`` in the moments and in (omega, z_plus, z_minus) at fixed y.

    With ``y* = H^-1 g`` these are the gradient of the effective potential (envelope theorem); the
    chain rule through ``M_k(mean_k, std)``, ``Q_k(mean_k, std)`` is applied numerically.
    """
    L = total_loss()
    out = {f"dL_d{s}": sp.expand(sp.diff(L, s)) for s in MOMENTS + OUTER_EXPLICIT}
    return out


def _preactivation_derivatives():
    """First and second derivatives in theta = (omega, b, z_plus, z_minus) of the class means and of the std.

    ``mean_k = B (k omega + sigma z_k) + b`` (linear), ``std = alpha sqrt(r)``; ``sqrt(r)`` enters the result only
    through ``inv_sqrt_r = 1/sqrt(r)`` (polynomially), so the kernels can pass 0 at r = 0 (where the std is not
    differentiable; every std derivative is then taken as 0, the convention of the gradient).
    """
    mean = {1: B * (omega + sigma * z_plus) + b, -1: B * (-omega + sigma * z_minus) + b}
    r_s = sp.Symbol("r_s", positive=True)
    r = omega ** 2 + n_plus * z_plus ** 2 + n_minus * z_minus ** 2
    std = alpha * sp.sqrt(r_s)
    d1, d2 = sp.diff(std, r_s), sp.diff(std, r_s, 2)
    to_inv = {r_s: 1 / inv_sqrt_r ** 2}
    s1 = [sp.expand(sp.powsimp((d1 * sp.diff(r, th)).subs(to_inv))) for th in OUTER]
    s2 = [[sp.expand(sp.powsimp((d1 * sp.diff(r, ti, tj) + d2 * sp.diff(r, ti) * sp.diff(r, tj)).subs(to_inv)))
           for tj in OUTER] for ti in OUTER]
    m1 = {k: [sp.diff(mean[k], th) for th in OUTER] for k in (1, -1)}
    return m1, s1, s2


@functools.lru_cache(maxsize=None)
def outer_derivatives() -> Dict[str, sp.Matrix]:
    """Gradient and Hessian of ``L/d`` in the outer variables theta at FIXED inner y, and the cross block.

    The class moments ``X in (M_plus, M_minus, Q_plus, Q_minus)`` depend on theta through their class mean and
    the common std (:func:`_preactivation_derivatives`); their derivatives in (mean, std) are the symbols of
    :data:`MOMENT_DERIVATIVES`.  Second-order chain rule::

        X_i  = X_m mean_i + X_s std_i
        X_ij = X_mm mean_i mean_j + X_ms (mean_i std_j + std_i mean_j) + X_ss std_i std_j + X_s std_ij
        L_i  = dL/dtheta_i|explicit + sum_X L_X X_i
        L_ij = d2L/dtheta_i dtheta_j|explicit + sum_X (L_{X theta_j} X_i + L_{X theta_i} X_j)
               + sum_{X,Y} L_XY X_i Y_j + sum_X L_X X_ij

    Returns ``{"grad": 4x1, "hess": 4x4 (L_theta theta), "cross": 4x4 (L_theta y, rows theta, columns y)}``.
    The eliminated potential ``E(theta) = L(theta, y*(theta))`` then has (envelope theorem and the
    implicit-function rule ``dy*/dtheta = -(2H)^-1 L_y theta``, H of :func:`quadratic_form`)::

        grad E = L_theta(y*),   Hess E = L_theta theta - L_theta y (2H)^-1 L_y theta      (at y = y*)

    the 4x4 inner solve being numerical (:mod:`flowphase.numerics.exact._kernels`).
    """
    L = total_loss()
    m1, s1, s2 = _preactivation_derivatives()
    der = {X: dict(zip(("m", "s", "mm", "ms", "ss"), MOMENT_DERIVATIVES[5 * k:5 * k + 5]))
           for k, X in enumerate(MOMENTS)}
    label = {M_plus: 1, Q_plus: 1, M_minus: -1, Q_minus: -1}
    n4 = len(OUTER)
    X1 = {X: [der[X]["m"] * m1[label[X]][i] + der[X]["s"] * s1[i] for i in range(n4)] for X in MOMENTS}
    X2 = {X: [[der[X]["mm"] * m1[label[X]][i] * m1[label[X]][j]
               + der[X]["ms"] * (m1[label[X]][i] * s1[j] + s1[i] * m1[label[X]][j])
               + der[X]["ss"] * s1[i] * s1[j] + der[X]["s"] * s2[i][j] for j in range(n4)] for i in range(n4)]
          for X in MOMENTS}
    L_X = {X: sp.diff(L, X) for X in MOMENTS}
    grad = sp.Matrix([sp.expand(sp.diff(L, OUTER[i]) + sum(L_X[X] * X1[X][i] for X in MOMENTS)) for i in range(n4)])
    hess = sp.zeros(n4, n4)
    for i in range(n4):
        for j in range(i, n4):
            e = sp.diff(L, OUTER[i], OUTER[j])
            for X in MOMENTS:
                e += sp.diff(L_X[X], OUTER[j]) * X1[X][i] + sp.diff(L_X[X], OUTER[i]) * X1[X][j] + L_X[X] * X2[X][i][j]
                for Y in MOMENTS:
                    e += sp.diff(L_X[X], Y) * X1[X][i] * X1[Y][j]
            hess[i, j] = hess[j, i] = sp.expand(e)
    cross = sp.Matrix(n4, len(INNER), lambda i, a: sp.expand(sp.diff(grad[i], INNER[a])))
    return {"grad": grad, "hess": hess, "cross": cross}


def eliminated_potential(H, g, L0) -> sp.Expr:
    """``L0 - g^T H^-1 g`` (symbolic; only used for the limit checks, the kernels solve numerically)."""
    return L0 - (g.T * H.LUsolve(g))[0]


def trivial_energy() -> sp.Expr:
    """Energy of the trivial asymptote omega = z = 0, b -> inf (every phi = 1) at d = inf in phase 1.

    ``n (1 + sigma^2) - ((n_plus - n_minus)^2 + sigma^2 n) / (lam_u + n)``: the class-resolved
    memorisation ``a_pm`` recovers the whole noise term sigma^2 n, where the paper's ansatz keeps only
    ``sigma^2 n (2p-1)^2``.
    """
    H, g, L0 = quadratic_form()
    sub = {M_plus: 1, M_minus: 1, Q_plus: 1, Q_minus: 1, beta: 0, inv_sqrt_d: 0, omega: 0, z_plus: 0, z_minus: 0}
    return sp.factor(sp.cancel(eliminated_potential(H.subs(sub), g.subs(sub), L0.subs(sub))))


def limit_residuals() -> Dict[str, sp.Expr]:
    """Residuals of the three limits of EXACT_FINITE_N §4 (each simplifies to 0)."""
    H, g, L0 = quadratic_form()
    n = n_plus + n_minus
    out = {}
    # 1. d = inf, phase 1: beta = 0, inv_sqrt_d = 0  ->  c* = 0
    s1 = {beta: 0, inv_sqrt_d: 0}
    y1 = H.subs(s1).LUsolve(g.subs(s1))
    out["phase1_c"] = sp.cancel(y1[0])
    # 2. saturated tanh -> the fresh-noise ridge closed forms (PAPER §3.4): the ridge vector solves H y = g
    #    (H is positive definite, so it is the unique minimiser); each equation's residual cancels to 0
    s2 = {M_plus: 1, M_minus: -1, Q_plus: 1, Q_minus: 1, inv_sqrt_d: 0}
    A = lam_u + sigma ** 2 * (n + lam_u - 1)
    c_ridge = beta * A / (beta ** 2 * A + alpha ** 2 * (n + lam_u))
    shrink = (1 - c_ridge * beta) / (n + lam_u)
    y_ridge = sp.Matrix([c_ridge, n * shrink, sigma * shrink, -sigma * shrink])
    res2 = H.subs(s2) * y_ridge - g.subs(s2)
    for name, k in (("ridge_c", 0), ("ridge_m", 1), ("ridge_a_plus", 2), ("ridge_a_minus", 3)):
        out[name] = sp.cancel(res2[k])
    # 3. the paper's restricted ansatz: z = 0, a_pm = +-q_eta, population class fractions
    p_, nn, q_eta = sp.symbols("p n q_eta", positive=True)
    L = total_loss()
    s3 = {beta: 0, inv_sqrt_d: 0, c: 0, z_plus: 0, z_minus: 0, a_plus: q_eta, a_minus: -q_eta}
    Lr = sp.expand(L.subs(s3).subs({n_plus: p_ * nn, n_minus: (1 - p_) * nn}))
    sol = sp.solve([sp.diff(Lr, m), sp.diff(Lr, q_eta)], [m, q_eta], dict=True)[0]
    E_restricted = sp.cancel(Lr.subs(sol))
    M_s = p_ * M_plus - (1 - p_) * M_minus
    M_2 = p_ * Q_plus + (1 - p_) * Q_minus
    E_paper = -nn * (nn + sigma ** 2) * M_s ** 2 / (lam_u + nn * M_2) + lam_w * omega ** 2
    out["paper_potential"] = sp.cancel(E_restricted - E_paper - nn * (1 + sigma ** 2))
    return out
