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

Finite batches and Adam (numerics: :mod:`flowphase.numerics.exact.stochastic`)
-----------------------------------------------------------------------------------------
With ``K`` fresh draws of x0 per point and step the gradient is unbiased with per-coordinate second moments
(:func:`noise_second_moments`, leading orders in 1/sqrt(d) kept where they lead in one of the phases; each a
Gaussian expectation reduced by Stein's lemma ``E[H F] = v alpha E[D F]``, ``E[H^2 F] = q E F + v^2 alpha^2
E[D^2 F]``, ``D = (1 - phi^2) d/dphi``, to the power moments ``T_k = E phi^k``, k <= 6):
``<Var g_u,i> = V_u/(K d^2)``, ``<Var g_w,i> = V_w/(K d)``, ``<Cov> = C_uw/(K d^{3/2})``, ``Var g_c = V_c/K``,
``Var g_b = V_b/K``.  Their variance goes into the perpendicular norms (``rho_u += eta_u^2 <Var g_u,i>``, ...),
the mean follows the drift.  The parts of the noise along the data (the ``(c beta - 1) x1`` term of g_u, the
``beta x1`` term of g_w) are fluctuations of m, a_nu, omega, z_nu; counting their variance in rho_u, rho_w keeps q
and r right, but in phase 2 a fluctuation dz_nu shifts point nu's preactivation by ``B sigma dz_nu``, which is not
carried (under Adam at the authors' lr 1e-4, d = 5000, n = 128 its variance is ~1e-3; under plain SGD with K = 1 at
lr d/n = O(d) it is O(1), so this closure is for Adam and for GD with many draws).  The w-noise is O(1/sqrt(d))
per coordinate against an O(1/d) drift: in phase 1 it dominates Adam's normalisation of w.

What of Adam closes:

* exactly: the scalars c, b (one coordinate each: ``v = EMA(E g^2) = EMA((E g)^2 + Var g)``, closed in the
  overlaps; the first-moment EMA only delays the drift by ~1/(1 - beta1) steps);
* the mu-component of u and w: common to all coordinates, so every coordinate's ``v_i`` contains the same
  ``(E g)_mu``; kept exactly per coordinate class;
* the perpendicular coordinates: independent of mu and of the data to leading order and exchangeable, so their
  law (a 2-D law of ``(u_perp,i, w_perp,i)`` with each class's own Adam ``v_i``) closes; it is carried by a
  Gauss-Hermite tensor rule of the initial Gaussian law, pushed forward (exact for any per-class map);
* surrogate: the data directions' share of ``v_i`` (``sum_nu A_nu eta^nu_i``, a Gaussian over coordinates) enters
  every class by its mean square (``isotropic`` in that part), the noise-accumulated part of the perpendicular
  norms is contracted at the class-averaged step, and the z_nu / a_nu components move with the class-averaged
  step.  ``adam_law='isotropic'`` replaces every ``v_i`` by its coordinate average (the cruder surrogate: it
  misses Adam's sign-descent of the large random-init coordinates and errs by up to 0.47 in b, 0.32 in sqrt_q
  at d = 1000, n = 32, lr 1e-3, where the coordinate law stays within 0.06).
"""
from __future__ import annotations

import functools
from typing import Dict, Tuple

import sympy as sp

from flowphase.theory import exact as ex

__all__ = ["STATE", "PARAMS", "MOMENTS", "generic_loss", "loss_gradient", "flow_expressions", "gd_map_expressions",
           "state_loss", "step", "point_partials", "POINT_ARGS", "noise_second_moments", "NOISE_ARGS"]

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


# ----------------------------------------------------------------------------- finite-batch noise
_phi = sp.Symbol("phi", real=True)
T_k = sp.symbols("T1:7", real=True)            # E phi^k, k = 1..6
S_, W_, v_ = sp.symbols("S W v", real=True)    # u.x1/d = s m + sigma a_nu, w.x1/d = s omega + sigma z_nu, u.w/d
#: arguments of :func:`noise_second_moments`, in order
NOISE_ARGS = (ex.alpha, ex.beta, ex.inv_sqrt_d, ex.sigma, c, S_, W_, Q_, v_) + T_k


def _E(expr) -> sp.Expr:
    """E over phi of a polynomial in phi: phi^k -> T_k."""
    poly = sp.Poly(sp.expand(expr), _phi)
    out = sp.Integer(0)
    for (k,), coef in poly.terms():
        out += coef * (sp.Integer(1) if k == 0 else T_k[k - 1])
    return out


def _D(expr) -> sp.Expr:
    """d/dz of a function of phi = tanh(z): (1 - phi^2) d/dphi."""
    return sp.expand((1 - _phi ** 2) * sp.diff(expr, _phi))


@functools.lru_cache(maxsize=None)
def noise_second_moments() -> Dict[str, sp.Expr]:
    """Per-point second moments of the one-draw gradient (module docstring "Finite batches and Adam").

    One point, ``x = alpha x0 + beta x1``, ``phi = tanh(alpha G + mean)``, ``G = w.x0/sqrt(d)``,
    ``H = u.x0/sqrt(d)``, ``e1 = x0.x1/sqrt(d (1 + sigma^2))`` (jointly Gaussian: var r, q, 1; covariances v,
    W/sqrt(1 + sigma^2), S/sqrt(1 + sigma^2)).  Per coordinate, ``x0_i = xi_i + (w_i G/r + ...)/sqrt(d)``:

    * ``g_u,i = (2/d) phi (c alpha x0_i + (c beta - 1) x1_i + u_i phi)`` -> ``V_u`` (coordinate average, x1_i^2 ->
      1 + sigma^2, x1_i u_i -> S);
    * ``g_w,i = (2/sqrt d) psi (alpha x0_i + beta x1_i)``, ``psi = (R.u/d) phi'``,
      ``R.u/d = (c beta - 1) S + q phi + c alpha H/sqrt(d)`` -> ``V_w``; ``g_b = 2 psi`` -> ``V_b``;
    * ``C_uw`` (with the ``x0_i``-``G`` correlation, leading in phase 1);
    * ``g_c = 2 R.x/d`` -> ``V_c`` (the ``|x0|^2``, ``x0.x1`` and ``H`` fluctuations, O(1/d), lead in phase 1).
    """
    al, be, isd, sig = ex.alpha, ex.beta, ex.inv_sqrt_d, ex.sigma
    q = Q_
    x2 = 1 + sig ** 2
    cb1 = c * be - 1
    ph = _phi
    var = lambda f: _E(f ** 2) - _E(f) ** 2                      # noqa: E731
    cov = lambda f, g: _E(f * g) - _E(f) * _E(g)                  # noqa: E731
    Vu = 4 * (c ** 2 * al ** 2 * _E(ph ** 2) + cb1 ** 2 * x2 * var(ph) + q * var(ph ** 2) + 2 * cb1 * S_ * cov(ph, ph ** 2))
    dphi = 1 - ph ** 2
    psi0 = (cb1 * S_ + q * ph) * dphi
    ca = c * al * isd
    # E psi, E psi^2 with the c alpha H/sqrt(d) phi' part (Stein in G)
    Epsi = _E(psi0) + ca * v_ * al * _E(_D(dphi))
    Epsi2 = _E(psi0 ** 2) + ca ** 2 * (q * _E(dphi ** 2) + v_ ** 2 * al ** 2 * _E(_D(_D(dphi ** 2)))) \
        + 2 * ca * v_ * al * _E(_D(psi0 * dphi))
    varpsi = Epsi2 - Epsi ** 2
    Vw = 4 * (al ** 2 * Epsi2 + be ** 2 * x2 * varpsi)
    Vb = 4 * varpsi
    Cuw = 4 * (c * al ** 2 * _E(ph * psi0) + be * (cb1 * x2 * cov(ph, psi0) + S_ * cov(ph ** 2, psi0))) \
        + 4 * isd * al ** 2 * (v_ * _E(_D(ph ** 2 * psi0)) + (2 * c * be - 1) * W_ * _E(_D(ph * psi0)))
    # c: delta g_c / 2 = A0 e0 + A1 e1 + (alpha/sqrt d)(H phi - E H phi) + beta S (phi - M)
    sx = sp.sqrt(x2)
    A0 = c * al ** 2 * sp.sqrt(2) * isd
    A1 = al * sx * (2 * c * be - 1) * isd
    EHphi = v_ * al * _E(_D(ph))
    EH2phi2 = q * _E(ph ** 2) + v_ ** 2 * al ** 2 * _E(_D(_D(ph ** 2)))
    Ee1Hphi = (W_ / sx) * al * v_ * al * _E(_D(_D(ph))) + (S_ / sx) * _E(ph)     # Cov(e1,G) E[d_G(H phi)] + Cov(e1,H) E phi
    cov_e1phi = (W_ / sx) * al * _E(_D(ph))
    cov_Hphi_phi = v_ * al * _E(_D(ph ** 2)) - EHphi * _E(ph)
    Vc = 4 * (A0 ** 2 + A1 ** 2 + al ** 2 * isd ** 2 * (EH2phi2 - EHphi ** 2) + be ** 2 * S_ ** 2 * var(ph)
              + 2 * A1 * al * isd * Ee1Hphi + 2 * A1 * be * S_ * cov_e1phi + 2 * al * isd * be * S_ * cov_Hphi_phi)
    return {k: sp.expand(e) for k, e in (("V_u", Vu), ("V_w", Vw), ("C_uw", Cuw), ("V_c", Vc), ("V_b", Vb))}
