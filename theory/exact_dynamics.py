"""Learning dynamics in the exact finite-n coordinates (EXACT_FINITE_N §2-3): gradient flow and the GD map.

The loss is the exact per-time loss of :mod:`flowphase.theory.exact` (``L = sum_nu E_x0 |f - x1|^2/d +
(lam_u |u|^2 + lam_w |w|^2)/d`` in theory units, with the Stein term), now written with the three norms
``r = |w|^2/d``, ``q = |u|^2/d``, ``v = u.w/d`` as **independent** symbols (``ell(c, m, a_pm, q, r, v; M_k, Q_k)``,
:func:`generic_loss`), the class moments ``M_k, Q_k`` being functions of ``mean_k = B (k omega + sigma z_k) + b``
and of r (``std = alpha sqrt(r)``).  Nothing of the flow is typed in: the microscopic gradients are built from
the chain rule over the vectors and read back through their inner-product table (:func:`flow_expressions`).

Coordinates (state, 11 numbers)
-------------------------------
``u = m mu + a_+ E_+ + a_- E_- + u_perp``, ``w = omega mu + z_+ E_+ + z_- E_- + w_perp`` with
``E_k = sum_{nu in k} eta^nu`` (so ``a_k = u.eta^nu/d``, ``z_k = w.eta^nu/d`` for nu in class k, class-symmetric
as in EXACT_FINITE_N §3), and the orthogonal remainders through ``rho_w = |w_perp|^2/d``, ``rho_u = |u_perp|^2/d``
and ``nu = u_perp.w_perp/d`` (needed for closure: the Stein term's gradient ``d(u.w)/du = w`` couples u_perp
to w_perp; it is 0 for independent initialisations up to O(d^-1/2) and decays).  Then
``r = omega^2 + n_+ z_+^2 + n_- z_-^2 + rho_w``, ``q = m^2 + n_+ a_+^2 + n_- a_-^2 + rho_u``,
``v = m omega + n_+ a_+ z_+ + n_- a_- z_- + nu``.  State order :data:`STATE`:
``(c, b, m, a_plus, a_minus, omega, z_plus, z_minus, rho_w, rho_u, nu)``.

Metric and time unit
--------------------
Gradient descent with step ``eta`` on L (the theory-unit loss, PAPER §2.3) moves
``u -> u - eta grad_u L`` with ``grad_u L = (1/d) [ell_m mu + sum_nu ell_{a_nu} eta^nu + 2 ell_q u + ell_v w]``,
and ``ell_{a_nu} = ell_{a_k} / n_k`` (the derivative of the class-symmetric loss in the common value ``a_k``
is the sum over its n_k points).  Projecting on ``mu/d`` and ``eta^nu/d`` (leading order, ``mu.eta/d``,
``eta^nu.eta^nu'/d -> 0``):  ``dm = -(eta/d)(ell_m + 2 ell_q m + ell_v omega)``,
``da_k = -(eta/d)(ell_{a_k}/n_k + 2 ell_q a_k + ell_v z_k)``, and the same for w with ``ell_r, ell_omega, ell_z``.
The ODE time is the one of :mod:`flowphase.theory.dynamics`: **one GD step advances s by ``eta n / d``**
(``du/ds = -d grad_u (L/n)``), and the scalars move as ``dc/ds = -rho_c ell_c / n``, ``db/ds = -rho_b ell_b/n``
(``rho_c = rho_b = d`` for one learning rate on all parameters; the simulator's preconditioned GD, step
``lr/n`` on c, b and ``lr d/n`` on u, w, is ``rho = 1`` with ``ds = lr`` per step).  The perpendicular norms
decay as ``drho_u/ds = -(2/n)(2 ell_q rho_u + ell_v nu)``, ``drho_w/ds = -(2/n)(2 ell_r rho_w + ell_v nu)``,
``dnu/ds = -(1/n)(2 (ell_q + ell_r) nu + ell_v (rho_u + rho_w))``, with ``ell_q = sum_k n_k Q_k + lam_u > 0``
and ``ell_r = lam_w + sum_k n_k (dL_k/dM_k dM_k/dr + dL_k/dQ_k dQ_k/dr)`` (the loss's r-dependence through
the preactivation noise ``alpha^2 r``).

Stationary points with ``rho_u = rho_w = nu = 0`` are exactly the critical points of the class-symmetric L/d of
:func:`flowphase.theory.exact.total_loss` (the flow is its gradient in this metric): the fixed points of the
exact finite-n solver.  The GD map (:func:`gd_map_expressions`) is exact in these coordinates at d = inf:
linear in the step for the components, quadratic for ``rho_u, rho_w, nu``.

Moments enter through symbols (numerics computes them by quadrature): ``M_k, Q_k``, their mean derivatives
``Mk_b, Qk_b`` and their r-derivatives at fixed mean ``Mk_r = (alpha^2/2) E tanh''``, ``Qk_r = (alpha^2/2)
E (tanh^2)''`` (Stein; regular at r = 0).  At d = inf in phase 2 (B = inf) the tanh saturates, all derivatives
vanish and the numerics pass ``B = 0`` with zero derivatives (the products ``B * Mk_b`` are 0).

Adam is not closed in these coordinates (its per-coordinate normalisation sees the empirical distribution of
``(u_i, w_i, eta_i)``, :mod:`flowphase.theory.dynamics`); the finite-batch noise term of that module is not
carried over here (GD with ``draws=0`` is what this flow describes).
"""
from __future__ import annotations

import functools
from typing import Dict, Tuple

import sympy as sp

from flowphase.theory import exact as ex

__all__ = ["STATE", "PARAMS", "MOMENTS", "generic_loss", "loss_gradient", "flow_expressions", "gd_map_expressions",
           "state_loss", "step", "point_partials", "POINT_ARGS"]

c, m, a_plus, a_minus = ex.c, ex.m, ex.a_plus, ex.a_minus
omega, z_plus, z_minus = ex.omega, ex.z_plus, ex.z_minus
b = sp.Symbol("b", real=True)
rho_w, rho_u, nu = sp.symbols("rho_w rho_u nu", real=True)
STATE: Tuple[sp.Symbol, ...] = (c, b, m, a_plus, a_minus, omega, z_plus, z_minus, rho_w, rho_u, nu)

B, rho_c, rho_b = sp.symbols("B rho_c rho_b", nonnegative=True)
PARAMS: Tuple[sp.Symbol, ...] = (ex.alpha, ex.beta, ex.inv_sqrt_d, ex.sigma, ex.n_plus, ex.n_minus, ex.lam_u,
                                 ex.lam_w, B, rho_c, rho_b)

Mp_b, Mm_b, Qp_b, Qm_b, Mp_r, Mm_r, Qp_r, Qm_r = sp.symbols("Mp_b Mm_b Qp_b Qm_b Mp_r Mm_r Qp_r Qm_r", real=True)
MOMENTS: Tuple[sp.Symbol, ...] = (ex.M_plus, ex.M_minus, ex.Q_plus, ex.Q_minus, Mp_b, Mm_b, Qp_b, Qm_b,
                                  Mp_r, Mm_r, Qp_r, Qm_r)
step = sp.Symbol("step", real=True)   # GD step in ODE-time units (eta n / d)

# independent norms of the generic loss
R_, Q_, V_ = sp.symbols("R_ Q_ V_", real=True)
_NORMS = (R_, Q_, V_)
# moment symbol -> (its mean derivative, its r derivative, class label)
_CHAIN = {ex.M_plus: (Mp_b, Mp_r, 1), ex.M_minus: (Mm_b, Mm_r, -1),
          ex.Q_plus: (Qp_b, Qp_r, 1), ex.Q_minus: (Qm_b, Qm_r, -1)}


def _mean(label: int) -> sp.Expr:
    z_k = z_plus if label == 1 else z_minus
    return B * (label * omega + ex.sigma * z_k) + b


@functools.lru_cache(maxsize=None)
def generic_loss() -> sp.Expr:
    """``ell``: :func:`flowphase.theory.exact.point_loss` summed over classes with r, q, v independent symbols."""
    ov = (R_, Q_, V_)
    return sp.expand(ex.n_plus * ex.point_loss(1, ov) + ex.n_minus * ex.point_loss(-1, ov)
                     + ex.lam_u * Q_ + ex.lam_w * R_)


@functools.lru_cache(maxsize=None)
def loss_gradient() -> Dict[str, sp.Expr]:
    """Total partials of ``ell`` in c, b, m, a_pm, omega, z_pm (through the means) and in q, r, v.

    Chain rule: ``d ell/dx = explicit + sum_j d ell/dM_j (M_j,b dmean_j/dx + M_j,r dr/dx)``.
    """
    L = generic_loss()
    out = {}
    for x, name in ((c, "c"), (b, "b"), (m, "m"), (a_plus, "a_plus"), (a_minus, "a_minus"), (omega, "omega"),
                    (z_plus, "z_plus"), (z_minus, "z_minus"), (Q_, "q"), (R_, "r"), (V_, "v")):
        g = sp.diff(L, x)
        for mom, (d_mean, d_r, lab) in _CHAIN.items():
            g += sp.diff(L, mom) * (d_mean * sp.diff(_mean(lab), x) + d_r * sp.diff(R_, x))
        out[name] = sp.expand(g)
    return out


def _norm_subs() -> Dict[sp.Symbol, sp.Expr]:
    npl, nmi = ex.n_plus, ex.n_minus
    return {R_: omega ** 2 + npl * z_plus ** 2 + nmi * z_minus ** 2 + rho_w,
            Q_: m ** 2 + npl * a_plus ** 2 + nmi * a_minus ** 2 + rho_u,
            V_: m * omega + npl * a_plus * z_plus + nmi * a_minus * z_minus + nu}


# vectors as coefficient dicts over (mu, E_plus, E_minus, u_perp, w_perp); inner products / d:
def _gram():
    npl, nmi = ex.n_plus, ex.n_minus
    return {("mu", "mu"): sp.Integer(1), ("Ep", "Ep"): npl, ("Em", "Em"): nmi,
            ("up", "up"): rho_u, ("wp", "wp"): rho_w, ("up", "wp"): nu}


def _ip(x, y):
    G = _gram()
    out = sp.Integer(0)
    for ki, ci in x.items():
        for kj, cj in y.items():
            out += ci * cj * G.get((ki, kj), G.get((kj, ki), sp.Integer(0)))
    return out


def _coords(u, w):
    """State coordinates of the vectors u, w (projections on mu/d and eta^nu/d; perpendicular Gram)."""
    up = {k: v for k, v in u.items() if k in ("up", "wp")}
    wp = {k: v for k, v in w.items() if k in ("up", "wp")}
    return {m: u.get("mu", 0), a_plus: u.get("Ep", 0), a_minus: u.get("Em", 0),
            omega: w.get("mu", 0), z_plus: w.get("Ep", 0), z_minus: w.get("Em", 0),
            rho_u: _ip(up, up), rho_w: _ip(wp, wp), nu: _ip(up, wp)}


def _vectors_and_gradients():
    """u, w and ``d grad (L/n)`` for each, as coefficient dicts (generic partials, norms not substituted)."""
    G = loss_gradient()
    n = ex.n_plus + ex.n_minus
    u = {"mu": m, "Ep": a_plus, "Em": a_minus, "up": sp.Integer(1)}
    w = {"mu": omega, "Ep": z_plus, "Em": z_minus, "wp": sp.Integer(1)}

    def comb(*terms):
        out = {}
        for coef, vec in terms:
            for k, v in vec.items():
                out[k] = out.get(k, 0) + coef * v
        return out

    # d grad_u L = ell_m mu + sum_nu ell_{a_nu} eta^nu + 2 ell_q u + ell_v w, ell_{a_nu} = ell_{a_k}/n_k
    gu = comb((G["m"], {"mu": 1}), (G["a_plus"] / ex.n_plus, {"Ep": 1}), (G["a_minus"] / ex.n_minus, {"Em": 1}),
              (2 * G["q"], u), (G["v"], w))
    gw = comb((G["omega"], {"mu": 1}), (G["z_plus"] / ex.n_plus, {"Ep": 1}), (G["z_minus"] / ex.n_minus, {"Em": 1}),
              (2 * G["r"], w), (G["v"], u))
    gu = {k: v / n for k, v in gu.items()}
    gw = {k: v / n for k, v in gw.items()}
    return G, n, u, w, gu, gw


@functools.lru_cache(maxsize=None)
def flow_expressions() -> Dict[sp.Symbol, sp.Expr]:
    """d(state)/ds of the gradient flow (module docstring), in the state, parameters and moment symbols."""
    G, n, u, w, gu, gw = _vectors_and_gradients()
    du = {k: -v for k, v in gu.items()}
    dw = {k: -v for k, v in gw.items()}
    lin = _coords(du, dw)
    upu = {k: v for k, v in u.items() if k in ("up", "wp")}
    upw = {k: v for k, v in w.items() if k in ("up", "wp")}
    dupu = {k: v for k, v in du.items() if k in ("up", "wp")}
    dupw = {k: v for k, v in dw.items() if k in ("up", "wp")}
    out = {c: -rho_c * G["c"] / n, b: -rho_b * G["b"] / n}
    for x in (m, a_plus, a_minus, omega, z_plus, z_minus):
        out[x] = lin[x]
    out[rho_u] = 2 * _ip(upu, dupu)
    out[rho_w] = 2 * _ip(upw, dupw)
    out[nu] = _ip(dupu, upw) + _ip(upu, dupw)
    sub = _norm_subs()
    return {x: sp.expand(out[x].subs(sub)) for x in STATE}


@functools.lru_cache(maxsize=None)
def gd_map_expressions() -> Dict[sp.Symbol, sp.Expr]:
    """State after one gradient-descent step of ODE-time size ``step`` (= eta n / d), exact at d = inf."""
    G, n, u, w, gu, gw = _vectors_and_gradients()
    un = {k: u.get(k, 0) - step * gu.get(k, 0) for k in set(u) | set(gu)}
    wn = {k: w.get(k, 0) - step * gw.get(k, 0) for k in set(w) | set(gw)}
    new = _coords(un, wn)
    new[c] = c - step * rho_c * G["c"] / n
    new[b] = b - step * rho_b * G["b"] / n
    sub = _norm_subs()
    return {x: sp.expand(sp.sympify(new[x]).subs(sub)) for x in STATE}


@functools.lru_cache(maxsize=None)
def state_loss() -> sp.Expr:
    """``L`` (theory units) at a state: :func:`generic_loss` with the norms of the state."""
    return sp.expand(generic_loss().subs(_norm_subs()))


#: arguments of the per-point partials: one point of class k with its own a, M, Q (EXACT_FINITE_N §2, no symmetry)
POINT_ARGS = (ex.alpha, ex.beta, ex.inv_sqrt_d, ex.sigma, c, m, a_plus, ex.M_plus, ex.Q_plus, Q_, V_)


@functools.lru_cache(maxsize=None)
def point_partials(label: int) -> Tuple[sp.Expr, ...]:
    """One point's loss ``ell_nu`` (class ``label``) and its partials in (c, m, a_nu, M_nu, Q_nu, q, v).

    For the per-point dynamics (z_nu, a_nu unconstrained, EXACT_FINITE_N §2): written with the + class symbols
    ``a_plus, M_plus, Q_plus`` standing for the point's own ``a_nu, M_nu, Q_nu``.
    """
    ov = (R_, Q_, V_)
    L = ex.point_loss(label, ov)
    if label == -1:
        L = L.subs({a_minus: a_plus, ex.M_minus: ex.M_plus, ex.Q_minus: ex.Q_plus}, simultaneous=True)
    L = sp.expand(L)
    return (L,) + tuple(sp.expand(sp.diff(L, x)) for x in (c, m, a_plus, ex.M_plus, ex.Q_plus, Q_, V_))
