"""Symbolic derivation of the summary-statistics flows (sympy) and verification of their closed forms.

Phase 2 of the dilated schedule (PAPER §3.5) and Cui et al.'s model (PREDECESSOR §2.2) generate samples
with the probability-flow ODE ``dX/dt = b_t(X)`` whose learned velocity is

    b_t(x) = a_x(t) x + a_f(t) f_t(x),   a_x = noise'/noise,   a_f = data' - noise' data / noise

(PAPER §2.4 with ``x_t = noise x0 + data x1``; PREDECESSOR §1.2 writes ``a_f = zeta_t`` and
``a_x = beta'/beta``), and the learned denoiser ``f_t(x) = c x + u s_x`` (tanh or sign saturated on the
sample, so the activation is the sample's mode sign ``s_x``; PAPER §3.3, PREDECESSOR §1.3) with
``u = m mu + q_eta eta_tilde + q_xi xi_tilde``.  Writing a sample as
``X = s_X (R mu + Q_eta eta_tilde + Q_xi xi_tilde) + X_perp`` and ``P = |X_perp|^2 / d`` (the directions are
orthogonal at d = inf, PREDECESSOR §2), :func:`summary_odes` projects the velocity on each direction and
returns the ODEs

    dS_k/dt = gamma_t S_k + a_f u_k,   dP/dt = 2 gamma_t P,   gamma_t = a_x + a_f c.

:func:`phase_two_check` and :func:`cui_check` substitute the learned parameters *derived* in
:mod:`flowphase.theory.derivations` (never re-typed here) and the closed-form solutions

* phase 2 (PAPER §3.5; linear interpolant in t' = t - 1): ``R = n t'/(n+lam)``, ``Q_eta = sigma t'/(n+lam)``,
  ``P = D/B``, ``Q_xi = -/+ (1 - t' - sqrt(D/B))/(n+lam)`` (fixed / notebook; 0 for fresh),
  ``D = t'^2 A + B (1-t')^2``;
* Cui et al. (PREDECESSOR §2.2, *any* schedule alpha(t) (data), beta(t) (noise)): ``M = n alpha/(n+lam)``,
  ``Q^xi = (beta - sqrt(D/B))/(n+lam)``, ``Q^eta = alpha/(n+lam)``, ``P = D/B``, ``D = alpha^2 A + beta^2 B``;

and the identity ``gamma_t = 1/2 d ln D / dt``; each residual must simplify to 0 (tests assert it).
The Q_xi closed forms of phase 2 are derived here (not stated in PAPER §3.5): the fixed-noise one is
Cui's Q^xi with PAPER's letters, the notebook one its mirror image (q_xi has the opposite sign).
"""
from __future__ import annotations

import functools
from typing import Dict, Tuple

import sympy as sp

from flowphase.theory import derivations as der
from flowphase.theory.conventions import NOISE_CONVENTIONS, noise_convention

__all__ = [
    "T",
    "summary_odes",
    "phase_two_closed_forms",
    "cui_closed_forms",
    "phase_two_check",
    "cui_check",
    "gamma_identity_residual",
]

#: the flow time (t' for phase 2, t for Cui)
T = sp.symbols("t", real=True)
_sX = sp.symbols("s_X", real=True)  # the sample's mode sign, s_X^2 = 1


def _velocity_coefficients(data: sp.Expr, noise: sp.Expr) -> Tuple[sp.Expr, sp.Expr]:
    """(a_x, a_f) of ``b = a_x x + a_f f`` for ``x_t = noise x0 + data x1`` (PAPER §2.4, PREDECESSOR §1.2)."""
    dd, dn = sp.diff(data, T), sp.diff(noise, T)
    return dn / noise, dd - dn * data / noise


def summary_odes(learned: Dict[str, sp.Expr], data: sp.Expr, noise: sp.Expr,
                 directions=("mu", "eta", "xi")) -> Dict[str, sp.Expr]:
    """Right-hand sides of the summary-statistics ODEs, derived by projecting the learned velocity.

    Parameters
    ----------
    learned : dict
        ``c`` and the coefficients of the decoder on each direction (``mu -> m``, ``eta -> q_eta``,
        ``xi -> q_xi``), sympy expressions in :data:`T`.
    data, noise : sympy expressions in :data:`T`
        Data and noise coefficients of the interpolant.

    Returns
    -------
    dict
        ``{'S_mu': ..., 'S_eta': ..., 'S_xi': ..., 'P': ...}``: dS/dt as expressions in the statistics
        symbols ``S_mu, S_eta, S_xi, P`` (= R or M, Q_eta, Q_xi, P) and :data:`T`.

    Notes
    -----
    ``X = s_X (sum_k S_k e_k) + X_perp``; ``f(X) = c X + s_X u`` (saturated activation, PAPER §3.3);
    ``b(X) = a_x X + a_f f(X)``.  The component of ``s_X b`` on ``e_k`` (using ``s_X^2 = 1``) is
    ``dS_k/dt``; the orthogonal part moves as ``dX_perp/dt = (a_x + a_f c) X_perp``, so
    ``dP/dt = 2 X_perp . dX_perp/dt / d = 2 (a_x + a_f c) P`` (PAPER §3.5, PREDECESSOR §2.2).
    """
    a_x, a_f = _velocity_coefficients(data, noise)
    S = {k: sp.Symbol(f"S_{k}", real=True) for k in directions}
    P = sp.Symbol("P", nonnegative=True)
    u = {"mu": learned["m"], "eta": learned["q_eta"], "xi": learned["q_xi"]}
    c = learned["c"]
    out = {}
    for k in directions:
        x_k = _sX * S[k]                       # component of X on e_k
        f_k = c * x_k + _sX * u[k]             # component of f(X) on e_k
        b_k = a_x * x_k + a_f * f_k            # component of the velocity
        proj = sp.expand(_sX * b_k).subs(_sX ** 2, 1)
        out[f"S_{k}"] = proj
    # X_perp = sqrt(P) e_perp (unit direction, moves only in norm): d sqrt(P)/dt = (a_x + a_f c) sqrt(P)
    r = sp.sqrt(P)
    out["P"] = sp.simplify(2 * r * (a_x + a_f * c) * r)
    return out


def _learned_on_path(sol: Dict[str, sp.Expr], data: sp.Expr, noise: sp.Expr, lam_sym) -> Dict[str, sp.Expr]:
    sub = {der.data_coef: data, der.noise_coef: noise}
    out = {k: v.subs(sub) for k, v in sol.items()}
    out["lam"] = lam_sym
    return out


def _AB_phase_two(noise_conv: str):
    n, sigma, lu = der.n, der.sigma, der.lam_u
    A = lu + sigma ** 2 * (n + lu - 1)
    B = n + lu + noise_convention(noise_conv).ridge_shift
    return A, B


def phase_two_closed_forms(noise_conv: str = "fresh", data: sp.Expr = None, noise: sp.Expr = None) -> Dict[str, sp.Expr]:
    """Closed-form generated statistics of phase 2 (PAPER §3.5).

    Default: the linear interpolant in t' (``data = t'``, ``noise = 1 - t'``):
    ``R = n t'/(n+lam_u)``, ``Q_eta = sigma t'/(n+lam_u)``, ``P = D/B`` with ``D = t'^2 A + B (1-t')^2``,
    ``Q_xi = sgn (1 - t' - sqrt(D/B))/(n+lam_u)`` with ``sgn = +1`` (fixed), 0 (fresh), -1 (notebook).
    ``A, B`` as in PAPER §3.4.  For another schedule replace t' by ``data`` and 1 - t' by ``noise``.
    Returns sympy expressions in :data:`T` (= t').
    """
    if noise_conv not in NOISE_CONVENTIONS:
        raise ValueError(f"noise_conv must be 'fixed', 'fresh' or 'notebook', got {noise_conv!r}")
    data = T if data is None else data
    noise = 1 - T if noise is None else noise
    n, sigma, lu = der.n, der.sigma, der.lam_u
    A, B = _AB_phase_two(noise_conv)
    D = data ** 2 * A + B * noise ** 2
    sgn = -NOISE_CONVENTIONS[noise_conv].ridge_shift
    return {"S_mu": n * data / (n + lu), "S_eta": sigma * data / (n + lu),
            "S_xi": sgn * (noise - sp.sqrt(D / B)) / (n + lu), "P": D / B, "D": D, "A": A, "B": B}


def cui_closed_forms(alpha: sp.Expr = None, beta: sp.Expr = None) -> Dict[str, sp.Expr]:
    """Closed-form flow statistics of Cui et al. for any schedule (PREDECESSOR §2.2).

    ``alpha`` multiplies the data, ``beta`` the noise (PREDECESSOR's letters); default the
    arbitrary functions ``alpha(t), beta(t)``.  ``M = n alpha/(n+lam)``, ``Q^xi = (beta - sqrt(D/B))/(n+lam)``,
    ``Q^eta = alpha/(n+lam)``, ``P = D/B``, ``D = alpha^2 A + beta^2 B``, ``A = lam(1+sigma^2) + (n-1) sigma^2``,
    ``B = lam + n - 1``.
    """
    alpha = sp.Function("alpha")(T) if alpha is None else alpha
    beta = sp.Function("beta")(T) if beta is None else beta
    n, sigma, lam = der.n, der.sigma, der.lam
    A = lam * (1 + sigma ** 2) + (n - 1) * sigma ** 2
    B = lam + n - 1
    D = alpha ** 2 * A + beta ** 2 * B
    return {"S_mu": n * alpha / (n + lam), "S_eta": alpha / (n + lam),
            "S_xi": (beta - sp.sqrt(D / B)) / (n + lam), "P": D / B, "D": D, "A": A, "B": B}


#: stand-in symbol for sqrt(D/B) in the residual algebra (sympy's simplify of nested square roots is slow)
_W = sp.Function("W")(T)


def _cancel_mod_sqrt(expr: sp.Expr, w2: sp.Expr) -> sp.Expr:
    """Reduce ``expr`` (polynomial/rational in ``_W``) with ``_W^2 = w2`` and cancel: c0 + c1 W."""
    num = sp.expand(sp.numer(sp.together(expr)))
    parts = sp.collect(num, _W, evaluate=False)
    c0, c1 = sp.Integer(0), sp.Integer(0)
    for pw, coef in parts.items():
        k = 0 if pw == 1 else (1 if pw == _W else int(pw.as_base_exp()[1]))
        if k % 2:
            c1 += coef * w2 ** (k // 2)
        else:
            c0 += coef * w2 ** (k // 2)
    return sp.cancel(sp.together(c0)) + sp.cancel(sp.together(c1)) * _W


def _residuals(odes: Dict[str, sp.Expr], closed: Dict[str, sp.Expr]) -> Dict[str, sp.Expr]:
    """``d/dt closed - rhs(closed)`` for every statistic, reduced to canonical form (0 if solved)."""
    w2 = closed["D"] / closed["B"]
    root = sp.sqrt(w2)
    cl = {k: closed[k].subs(root, _W) for k in ("S_mu", "S_eta", "S_xi", "P")}
    sub = {sp.Symbol(k, real=True): cl[k] for k in ("S_mu", "S_eta", "S_xi")}
    sub[sp.Symbol("P", nonnegative=True)] = cl["P"]
    dW = sp.diff(w2, T) / (2 * _W)
    out = {}
    for k in ("S_mu", "S_eta", "S_xi", "P"):
        res = sp.diff(cl[k], T).subs(sp.Derivative(_W, T), dW) - odes[k].subs(sub)
        out[k] = _cancel_mod_sqrt(res, w2)
    return out


def _initial_values(closed: Dict[str, sp.Expr], t0=0) -> Dict[str, sp.Expr]:
    return {k: sp.simplify(closed[k].subs(T, t0).doit()) for k in ("S_mu", "S_eta", "S_xi", "P")}


@functools.lru_cache(maxsize=None)
def phase_two_check(noise_conv: str = "fresh") -> Dict[str, Dict[str, sp.Expr]]:
    """Derive the phase-2 ODEs and substitute the closed forms (PAPER §3.5).

    The learned parameters are :func:`flowphase.theory.derivations.phase_two_solution` on an
    **arbitrary** path ``data = a(t), noise = b(t)`` (sympy functions), so the zero residuals prove the
    closed forms for every schedule, the linear one ``a = t', b = 1 - t'`` of PAPER §3.5 included
    (substituting functions into an identically vanishing expression keeps it 0; the initial values
    are checked on the linear path).  Returns ``{'odes', 'residuals', 'initial', 'gamma'}``;
    every residual is 0 and the initial values are R = Q = 0, P = 1.
    """
    sol = der.phase_two_solution(noise_conv)
    data, noise = sp.Function("a")(T), sp.Function("b")(T)
    learned = _learned_on_path(sol, data, noise, der.lam_u)
    odes = summary_odes(learned, data, noise)
    closed = phase_two_closed_forms(noise_conv, data, noise)
    return {"odes": odes, "residuals": _residuals(odes, closed),
            "initial": _initial_values(phase_two_closed_forms(noise_conv)),
            "gamma": gamma_identity_residual(learned["c"], data, noise, closed["D"])}


@functools.lru_cache(maxsize=None)
def cui_check() -> Dict[str, Dict[str, sp.Expr]]:
    """Derive Cui et al.'s summary-statistics ODEs and substitute the closed forms (PREDECESSOR §2.2).

    Done for an **arbitrary** schedule ``alpha(t)`` (data), ``beta(t)`` (noise) given as sympy
    functions, so the zero residuals hold for the linear and trigonometric schedules too (schedule
    independence of the closed forms); the initial values are evaluated on both
    (``initial_linear``, ``initial_trigonometric``: M = Q = 0, P = 1).  The learned parameters are
    :func:`flowphase.theory.derivations.cui_solution` (``q_eta`` there multiplies ``sum s z`` with
    ``z = sigma eta``, PREDECESSOR's eta).
    """
    alpha, beta = sp.Function("alpha")(T), sp.Function("beta")(T)
    sol = der.cui_solution()
    learned = _learned_on_path(sol, alpha, beta, der.lam)
    odes = summary_odes(learned, alpha, beta)
    closed = cui_closed_forms(alpha, beta)
    return {"odes": odes, "residuals": _residuals(odes, closed),
            "gamma": gamma_identity_residual(learned["c"], alpha, beta, closed["D"]),
            "initial_linear": _initial_values(cui_closed_forms(T, 1 - T)),
            "initial_trigonometric": _initial_values(cui_closed_forms(sp.sin(sp.pi * T / 2),
                                                                      sp.cos(sp.pi * T / 2)))}


def gamma_identity_residual(c: sp.Expr, data: sp.Expr, noise: sp.Expr, D: sp.Expr) -> sp.Expr:
    """``gamma_t - 1/2 d ln D/dt`` simplified (0 is the identity of PAPER §3.5 / PREDECESSOR §2.2)."""
    a_x, a_f = _velocity_coefficients(data, noise)
    return sp.cancel(sp.together(a_x + a_f * c - sp.diff(D, T) / (2 * D)))
