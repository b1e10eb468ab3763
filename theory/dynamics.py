"""Learning dynamics in overlap space: sympy derivation of the gradient-flow ODEs (d -> infinity).

The per-time denoiser ``f(x) = c x + u tanh(w.x/sqrt(d) + b)`` (PAPER §2.1) is trained by gradient
flow on the per-sample loss (PAPER §2.3 divided by n)::

    Lbar = (1/n) sum_nu E_x0 |f(x_t^nu) - x1^nu|^2 / d + (lam_u |u|^2 + lam_w |w|^2) / (n d).

Nothing in the ODE is typed by hand: the residual ``f - x1`` is built as a linear combination of
directions whose inner products (divided by d) converge to the table :data:`GRAM`; ``|f - x1|^2/d`` is
reduced with ``s^2 = 1`` and averaged (``s phi -> M_s``, ``phi^2 -> M_2``), and the flow of the
microscopic parameters is pushed to the overlaps by the chain rule, again through a Gram table.

State (the overlaps, all per d)
-------------------------------
``c, b`` (scalars), ``m = u.mu/d``, ``a = u.eta_hat/d`` (memorisation overlap,
``eta_hat = sum_nu s^nu eta^nu / sqrt(n)``; the paper's ``q_eta = a / sqrt(n)``), ``q = |u|^2/d``,
``omega = w.mu/d``, ``r = |w|^2/d``, ``v = u.w/d``.

Loss in the overlaps (PAPER §3.2 ansatz for the memorisation part)
------------------------------------------------------------------
With ``alpha, beta`` the interpolant coefficients, ``inv_sqrt_n = 1/sqrt(n)`` (0 at n = inf)::

    Lbar = c^2 (alpha^2 + beta^2 (1 + sigma^2)) + 1 + sigma^2 - 2 c beta (1 + sigma^2)
           - 2 (1 - c beta) (m + sigma a/sqrt(n)) M_s + q M_2 + (lam_u q + lam_w r)/n,

``M_s = E[s tanh(z_s)]``, ``M_2 = E[tanh^2(z_s)]``, ``z_s = b + omega k s + sqrt(gam r) zeta``,
``zeta ~ N(0,1)``, ``s ~ (p, 1-p)``.  Phase 1 (PAPER §1.4, §2.2): ``tau = kappa t/sqrt(d)``, so
``alpha -> 1``, ``beta -> 0``, ``k = sqrt(d) beta -> kappa t beta'(0)`` and ``gam = 1``: the
preactivation ``omega (g + kappa t s) + b + sqrt(r - omega^2) xi`` has its label-free Gaussian part
``omega g + sqrt(r - omega^2) xi`` of variance exactly r, so the expectation is **one-dimensional per
label** (the orthogonal part of w acts only through r).  Phase 2 (PAPER §3.3): ``k -> inf``, tanh
saturates to ``s sign(omega)``: ``M_s = sign(omega)``, ``M_2 = 1``, all their derivatives vanish, and
w, b move only through the penalty.  The same formula evaluated at finite d (``k = beta sqrt(d)``,
``gam = alpha^2 + beta^2 sigma^2``) is offered by the numerics as a finite-d evaluation; it is not a
systematic 1/sqrt(d) expansion.  Cross terms ``E[phi u.x0]/d = alpha E[phi'] v / sqrt(d)`` vanish, so
v never enters the loss.  At finite n the memorisation overlaps of w (``w.eta^nu/d = O(1/n)``) are
neglected, as in the effective potential of PAPER §3.2; the fixed points are then exactly the
effective-potential minimisers (phase 1) and the fresh-noise ridge (phase 2, PAPER §3.4).

Gradient flow and its time unit
-------------------------------
ODE time ``ode_t``: ``du/d(ode_t) = -d grad_u Lbar``, ``dw/d(ode_t) = -d grad_w Lbar``,
``dc/d(ode_t) = -rho_c dLbar/dc``, ``db/d(ode_t) = -rho_b dLbar/db``.  Then (``L_x = dLbar/dx``)::

    dm/d(ode_t) = -(L_m + 2 m L_q)          da/d(ode_t) = -(L_a + 2 a L_q)
    dq/d(ode_t) = -2 (m L_m + a L_a + 2 q L_q)
    domega/d(ode_t) = -(L_omega + 2 omega L_r)   dr/d(ode_t) = -2 (omega L_omega + 2 r L_r)
    dv/d(ode_t) = -(omega L_m + m L_omega + 2 v (L_q + L_r))
    d(r - omega^2)/d(ode_t) = -4 (r - omega^2) L_r       (the orthogonal part of w decays at rate 4 L_r).

Finite batches.  A gradient estimated on B independent rows (fresh data or fresh noise) adds to
``|w|^2/d`` the variance term ``lr^2 d/B E[g_z^2] (alpha^2 + beta^2 (1 + sigma^2))`` per step
(``g_z = 2 (R.u/d) tanh'`` the per-row derivative in the preactivation), i.e. ``dr/d(ode_t)`` gains
``sgd E[g_z^2] (alpha^2 + beta^2 (1 + sigma^2))`` with ``sgd = lr d / B`` (balanced convention): it
does not vanish as d -> inf at fixed B, and the pure gradient flow is the limit ``lr d / B -> 0``.
The analogous terms of q (O(lr/B)) and v (O(lr sqrt(d)/B)) are smaller by 1/d and 1/sqrt(d) and are
dropped; c, b, m, omega get zero-mean noise only.

One step of full-batch **gradient descent** with learning rate ``lr`` on the PAPER §2.3 loss
``L = n Lbar`` (sum over samples, theory units) advances ``ode_t`` by ``lr n / d`` with
``rho_c = rho_b = d``; on the authors' normalisation ``L / T`` (T grid times, PAPER §2.3) by
``lr n / (d T)``; on ``Lbar`` by ``lr / d``; "balanced" GD on ``Lbar`` (learning rate ``d lr`` for
u, w and ``lr`` for c, b) by ``lr`` with ``rho = 1``.  GD itself is the exact map
:func:`gd_map_expressions` (the Euler step of the flow plus the ``lr^2 |grad|^2`` terms of q, r, v).
**Adam** has no closed description in these overlaps: its per-coordinate normalisation
``m_i / sqrt(v_i)`` depends on the empirical distribution of the coordinates ``(u_i, w_i, eta_i)``,
not on their second moments only.  The closest closed statement: when each coordinate's gradient is
dominated by the fresh-noise batch noise, of one RMS ``sigma_w`` for all coordinates of w, Adam moves w
like SGD with step ``lr / sigma_w`` (whatever the loss normalisation), i.e. this flow on the clock
``d(ode_t)/d(epoch) = lr sqrt(rows) / sqrt(d gam_x E[g_z^2])`` (:func:`flowphase.numerics.dynamics.adam_epochs`).
It predicts the encoder overlaps (omega, r); u, c, b run on their own Adam clocks.

The expressions are compiled into ``numerics/_generated_dynamics.py`` by ``python -m flowphase.numerics._codegen``
(this module only builds expressions; it writes no file).
"""
from __future__ import annotations

import functools
from typing import Dict, Tuple

import sympy as sp

__all__ = [
    "STATE", "PARAMS", "KERNELS", "GRAM",
    "overlap_loss", "loss_gradient", "flow_expressions", "preactivation_gradient_second_moment", "gd_map_expressions",
    "ode_time_per_step",
]

# ----------------------------------------------------------------------------- symbols
c, b, m, a, q, om, r, v = sp.symbols("c b m a q om r v", real=True)
STATE: Tuple[sp.Symbol, ...] = (c, b, m, a, q, om, r, v)
alpha2, beta, sig2, inv_sqrt_n, lam_u, lam_w, rho_c, rho_b, sgd = sp.symbols(
    "alpha2 beta sig2 inv_sqrt_n lam_u lam_w rho_c rho_b sgd", real=True)
PARAMS: Tuple[sp.Symbol, ...] = (alpha2, beta, sig2, inv_sqrt_n, lam_u, lam_w, rho_c, rho_b, sgd)
Ms, Ms_b, Ms_w, Ms_r, M2, M2_b, M2_w, M2_r, Ka, Kb, Kc = sp.symbols(
    "Ms Ms_b Ms_w Ms_r M2 M2_b M2_w M2_r Ka Kb Kc", real=True)
KERNELS: Tuple[sp.Symbol, ...] = (Ms, Ms_b, Ms_w, Ms_r, M2, M2_b, M2_w, M2_r, Ka, Kb, Kc)
#: gradient-descent step in ODE-time units (``lr`` of the glossary docs/notation.md, not the data noise eta)
step = sp.Symbol("step", positive=True)
s_lab, phi = sp.symbols("s phi", real=True)
sigma = sp.sqrt(sig2)

#: Leading-order inner products / d of the directions met by one training point nu
#: (mu; its data noise eta_nu; eta_hat = sum s^nu eta^nu / sqrt(n); its fresh noise x0; U_perp the
#: part of u orthogonal to mu and eta_hat).  Independent directions are orthogonal (O(1/sqrt d)).
GRAM: Dict[tuple, sp.Expr] = {
    ("mu", "mu"): sp.Integer(1),
    ("eta", "eta"): sp.Integer(1),
    ("eta", "eta_hat"): s_lab * inv_sqrt_n,
    ("eta_hat", "eta_hat"): sp.Integer(1),
    ("x0", "x0"): sp.Integer(1),
    ("u_perp", "u_perp"): q - m ** 2 - a ** 2,
}

#: Inner products / d of the directions in which the *parameter* vectors move (chain rule).
#: ``w . eta_hat = 0``: the memorisation overlaps of w are neglected (PAPER §3.2 ansatz).
PARAM_GRAM: Dict[tuple, sp.Expr] = {
    ("mu", "mu"): sp.Integer(1), ("eta_hat", "eta_hat"): sp.Integer(1),
    ("u", "mu"): m, ("u", "eta_hat"): a, ("u", "u"): q,
    ("w", "mu"): om, ("w", "w"): r, ("u", "w"): v,
}


def _inner(x: Dict[str, sp.Expr], y: Dict[str, sp.Expr], gram: Dict[tuple, sp.Expr]) -> sp.Expr:
    out = sp.Integer(0)
    for ki, ci in x.items():
        for kj, cj in y.items():
            out += ci * cj * gram.get((ki, kj), gram.get((kj, ki), sp.Integer(0)))
    return sp.expand(out)


def _average(expr: sp.Expr, table: Dict[tuple, sp.Expr], what: str) -> sp.Expr:
    """s^2 = 1, then E over the label s and the activation phi: the monomial ``s^ks phi^kp`` becomes
    ``table[(ks mod 2, kp)]`` (no other moment may occur in ``what``)."""
    poly = sp.Poly(sp.expand(expr), s_lab, phi)
    out = sp.Integer(0)
    for (ks, kp), coef in poly.terms():
        val = table.get((ks % 2, kp))
        if val is None:
            raise ValueError(f"unexpected moment s^{ks} phi^{kp} in {what}")
        out += coef * val
    return sp.expand(out)


def _reduce_and_average(expr: sp.Expr, Msf, M2f) -> sp.Expr:
    """s^2 = 1, then E over s and the activation: s phi -> M_s, phi^2 -> M_2 (no other moment occurs)."""
    return _average(expr, {(0, 0): sp.Integer(1), (1, 1): Msf, (0, 2): M2f}, "the loss")


def _residual() -> Dict[str, sp.Expr]:
    """``f - x1 = c x_t + phi u - x1`` in the directions of :data:`GRAM` (PAPER §2.1-§2.3)."""
    return {"x0": c * sp.sqrt(alpha2), "mu": c * beta * s_lab + phi * m - s_lab, "eta": (c * beta - 1) * sigma,
            "eta_hat": phi * a, "u_perp": phi}


@functools.lru_cache(maxsize=None)
def overlap_loss(with_functions: bool = False) -> sp.Expr:
    """Per-sample loss Lbar in the overlaps (see the module docstring), built from :data:`GRAM`.

    ``x_t = alpha x0 + beta (s mu + sigma eta)``, ``u = m mu + a eta_hat + U_perp``,
    ``f - x1 = c x_t + phi u - x1`` (PAPER §2.1-§2.3).  With ``with_functions`` the expectations are
    sympy functions ``M_s(om, b, r)``, ``M_2(om, b, r)``; otherwise the kernel symbols ``Ms, M2``.
    """
    if with_functions:
        Msf = sp.Function("M_s")(om, b, r)
        M2f = sp.Function("M_2")(om, b, r)
    else:
        Msf, M2f = Ms, M2
    res = _residual()
    sq = _inner(res, res, GRAM)
    loss = _reduce_and_average(sq, Msf, M2f) + inv_sqrt_n ** 2 * (lam_u * q + lam_w * r)
    return sp.expand(loss)


@functools.lru_cache(maxsize=None)
def loss_gradient() -> Dict[sp.Symbol, sp.Expr]:
    """dLbar/dx for every state variable x, derivatives of M_s, M_2 renamed to the kernel symbols."""
    Lf = overlap_loss(with_functions=True)
    Msf = sp.Function("M_s")(om, b, r)
    M2f = sp.Function("M_2")(om, b, r)
    rename = {
        sp.Derivative(Msf, b): Ms_b, sp.Derivative(Msf, om): Ms_w, sp.Derivative(Msf, r): Ms_r,
        sp.Derivative(M2f, b): M2_b, sp.Derivative(M2f, om): M2_w, sp.Derivative(M2f, r): M2_r,
    }
    out = {}
    for x in STATE:
        g = sp.diff(Lf, x).subs(rename).subs({Msf: Ms, M2f: M2})
        out[x] = sp.expand(g)
    return out


def _param_gradients():
    """(grad_u, grad_w) times d as combinations of the directions mu, eta_hat, u, w (chain rule)."""
    G = loss_gradient()
    gu = {"mu": G[m], "eta_hat": G[a], "u": 2 * G[q], "w": G[v]}
    gw = {"mu": G[om], "w": 2 * G[r], "u": G[v]}
    return G, gu, gw


@functools.lru_cache(maxsize=None)
def preactivation_gradient_second_moment() -> sp.Expr:
    """``E[g_z^2]`` per sample, ``g_z = d loss / d z = 2 (R.u/d) tanh'(z)``, ``R = f - x1``.

    ``R.u/d`` is built from :data:`GRAM` (u = m mu + a eta_hat + U_perp); after ``s^2 = 1`` the moments
    ``E[tanh'^2] -> Ka``, ``E[s tanh tanh'^2] -> Kb``, ``E[tanh^2 tanh'^2] -> Kc``.
    """
    uvec = {"mu": m, "eta_hat": a, "u_perp": sp.Integer(1)}
    gram = dict(GRAM)
    gram[("u_perp", "u_perp")] = q - m ** 2 - a ** 2
    ru = _inner(_residual(), uvec, gram)
    return sp.expand(4 * _average(ru ** 2, {(0, 0): Ka, (1, 1): Kb, (0, 2): Kc}, "E[g_z^2]"))


@functools.lru_cache(maxsize=None)
def flow_expressions() -> Dict[sp.Symbol, sp.Expr]:
    """d(state)/d(ode_t) under gradient flow (module docstring), keyed by the state symbol."""
    G, gu, gw = _param_gradients()
    U = {"u": sp.Integer(1)}
    W = {"w": sp.Integer(1)}
    MU = {"mu": sp.Integer(1)}
    EH = {"eta_hat": sp.Integer(1)}
    ip = functools.partial(_inner, gram=PARAM_GRAM)
    out = {
        c: -rho_c * G[c],
        b: -rho_b * G[b],
        m: -ip(gu, MU),
        a: -ip(gu, EH),
        q: -2 * ip(gu, U),
        om: -ip(gw, MU),
        r: -2 * ip(gw, W) + sgd * (alpha2 + beta ** 2 * (1 + sig2)) * preactivation_gradient_second_moment(),
        v: -(ip(gu, W) + ip(U, gw)),
    }
    return {k: sp.expand(e) for k, e in out.items()}


@functools.lru_cache(maxsize=None)
def gd_map_expressions() -> Dict[sp.Symbol, sp.Expr]:
    """Overlaps after one gradient-descent step of size step (in ODE-time units).

    ``u' = u - step grad_u``, ``w' = w - step grad_w`` (gradients times d), ``c' = c - step rho_c L_c``:
    the new overlaps are exact quadratic polynomials in step (the step^2 terms are
    ``|grad_u|^2``, ``|grad_w|^2`` and ``grad_u . grad_w`` per d, closed in the overlaps).
    """
    G, gu, gw = _param_gradients()
    ip = functools.partial(_inner, gram=PARAM_GRAM)
    unew = {"u": sp.Integer(1)}
    wnew = {"w": sp.Integer(1)}
    for k, e in gu.items():
        unew[k] = unew.get(k, 0) - step * e
    for k, e in gw.items():
        wnew[k] = wnew.get(k, 0) - step * e
    out = {
        c: c - step * rho_c * G[c],
        b: b - step * rho_b * G[b],
        m: ip(unew, {"mu": 1}),
        a: ip(unew, {"eta_hat": 1}),
        q: ip(unew, unew),
        om: ip(wnew, {"mu": 1}),
        r: ip(wnew, wnew) + step * sgd * (alpha2 + beta ** 2 * (1 + sig2))
        * preactivation_gradient_second_moment(),
        v: ip(unew, wnew),
    }
    return {k: sp.expand(e) for k, e in out.items()}


# ----------------------------------------------------------------------------- time scaling
def ode_time_per_step(lr: float, n: float, d: float, loss: str = "theory", n_times: int = 1) -> float:
    """ODE time advanced by one full-batch gradient-descent step (module docstring).

    Parameters
    ----------
    lr : float > 0
        Learning rate of the simulator.
    n : float
        Number of samples (``inf`` only with ``loss='mean'`` or ``'balanced'``).
    d : float
        Dimension.
    loss : {'theory', 'authors', 'mean', 'balanced'}
        ``theory``: GD on ``L = sum_nu |.|^2/d + penalties/d`` (PAPER §2.3), ``d(ode_t) = lr n / d``;
        ``authors``: GD on ``L / T`` (their MSE normalisation), ``d(ode_t) = lr n / (d T)``;
        ``mean``: GD on ``Lbar = L / n``, ``d(ode_t) = lr / d``; these three have ``rho_c = rho_b = d``.
        ``balanced``: learning rate ``d lr`` on u, w and ``lr`` on c, b, ``d(ode_t) = lr``, ``rho = 1``.
    """
    import math

    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if not (isinstance(d, (int, float)) and d >= 1 and math.isfinite(d)):
        raise ValueError(f"d must be a finite number >= 1, got {d!r}")
    if loss not in ("theory", "authors", "mean", "balanced"):
        raise ValueError(f"loss must be 'theory', 'authors', 'mean' or 'balanced', got {loss!r}")
    if loss in ("theory", "authors") and not (n >= 1 and math.isfinite(n)):
        raise ValueError(f"n must be a finite number >= 1 for loss={loss!r}, got {n!r}")
    if int(n_times) < 1:
        raise ValueError(f"n_times must be >= 1, got {n_times!r}")
    if loss == "theory":
        return lr * n / d
    if loss == "authors":
        return lr * n / (d * int(n_times))
    if loss == "mean":
        return lr / d
    return float(lr)
