"""Symbolic derivations (sympy) of the learned parameters: loss -> stationarity -> closed forms.

Nothing here is hand-typed as a result: each training loss is *built* from the leading-order
(d -> infinity) inner-product table of the vectors involved, then differentiated and solved.
The results feed :mod:`flowphase.numerics._codegen`, which writes the numeric module
``numerics/_generated.py``.

Method (PAPER §3.2-§3.4, PREDECESSOR §2.1)
-------------------------------------------
At d = inf the per-point residual ``r = f(x_t) - x1`` is a linear combination of a few
directions (mu, the point's own data noise eta^nu, the label-weighted sums
``eta_tilde = sum_nu s^nu eta^nu`` and ``xi_tilde = sum_nu s^nu x0^nu``, the point's noise
x0^nu).  Their inner products divided by d converge to the table :data:`GRAM` (e.g.
``eta^nu . eta_tilde / d -> s^nu``, ``|eta_tilde|^2/d -> n``), cross terms between independent
directions being O(1/sqrt d).  ``|r|^2/d`` is then a polynomial in the label ``s`` (``s^2 = 1``)
and, in phase 1, in the activation ``phi = tanh(b + omega (g + kappa t s))``, whose expectation
over ``s ~ (p, 1-p)``, ``g ~ N(0,1)`` replaces ``s phi -> M_s``, ``phi^2 -> M_2``.

* Phase 2 (tanh saturated, ``tanh -> s``) with ``u = m mu + q_eta eta_tilde + q_xi xi_tilde``:
  the loss is quadratic in (m, q_eta, q_xi); eliminating them leaves a rational function of c
  whose stationary point is the ridge closed form (PAPER §3.4).  ``fixed`` noise (one x0 per
  point, Cui et al.) has ``x0^nu . xi_tilde / d = s^nu``; ``fresh`` noise has 0 there
  (a new x0 at every step is independent of any fixed direction), which forces ``q_xi = 0``.
  The ``notebook`` convention is **not** derivable from a loss (PAPER §3.4, §7.5); it is the
  documented formula :func:`documented_phase_two` (B = n + lam_u + 1, q_xi = +c(1-t')/(n+lam_u)).
* Cui et al.'s tied model (PREDECESSOR §2.1): the same loss with u = w, the ridge on w and the
  data noise written as ``z = sigma eta`` (so its coefficient is ``q_eta / sigma``).
* Phase 1 (PAPER §3.2): ansatz ``w = omega mu``, ``u = m mu + q_eta eta_tilde`` and a skip
  connection c; at tau = kappa t / sqrt(d) -> 0 the input is x_t -> x0.  Stationarity gives
  c = 0, ``m = n M_s/(lam_u + n M_2)``, ``q_eta = sigma M_s/(lam_u + n M_2)`` and the effective
  potential ``E_t = -n (n + sigma^2) M_s^2 / (lam_u + n M_2) + lam_w omega^2`` (constant
  ``n (1 + sigma^2)`` dropped).  Its gradient and Hessian follow by the chain rule through
  ``M_s(omega, b)``, ``M_2(omega, b)`` (sympy ``Function`` objects whose derivatives are then
  renamed ``Ms_w, Ms_b, M2_w, ...``).

n = infinity in phase 1 (:func:`phase_one_population_stationarity`)
--------------------------------------------------------------------
``E_t / n^2 -> -M_s^2 / M_2``.  At the Bayes point (omega, b) = (kappa t, h) the activation is
``phi* = tanh(h + kappa t y) = E[s | y]`` with ``y = g + kappa t s`` (PAPER §1.4), hence by the
tower property ``M_s = E[s phi] = E[phi* phi]`` for every (omega, b).  At the Bayes point this
gives the identities ``M_s = M_2`` and ``dM_2 = 2 E[phi* dphi] = 2 dM_s`` for both derivatives.
The symbolic part substitutes these identities and shows that the limit gradient vanishes and
that m -> M_s / M_2 = 1, q_eta -> 0, c = 0.  The identities themselves are a one-line tower-
property argument that sympy cannot carry out on the Gaussian integral; they are **verified
numerically** at rational points with 30-digit mpmath quadrature (:func:`verify_bayes_identities`).
"""
from __future__ import annotations

import functools
from typing import Dict

import sympy as sp

__all__ = [
    "GRAM",
    "phase_two_loss",
    "phase_two_solution",
    "phase_two_population",
    "documented_phase_two",
    "cui_loss",
    "cui_solution",
    "phase_one_loss",
    "phase_one_solution",
    "phase_one_potential",
    "phase_one_derivatives",
    "phase_one_population_stationarity",
    "verify_bayes_identities",
    "SYMBOLS",
]

# ----------------------------------------------------------------------------- symbols
n, sigma, lam_u, lam_w, lam = sp.symbols("n sigma lam_u lam_w lam", positive=True)
data_coef, noise_coef, tp = sp.symbols("data_coef noise_coef tp", nonnegative=True)
c, m, q_eta, q_xi, omega, b = sp.symbols("c m q_eta q_xi omega b", real=True)
s, phi = sp.symbols("s phi", real=True)
p = sp.symbols("p", positive=True)
M_s, M_2, M_1 = sp.symbols("M_s M_2 M_1", real=True)
Ms_w, Ms_b, M2_w, M2_b = sp.symbols("Ms_w Ms_b M2_w M2_b", real=True)
Ms_ww, Ms_wb, Ms_bb, M2_ww, M2_wb, M2_bb = sp.symbols("Ms_ww Ms_wb Ms_bb M2_ww M2_wb M2_bb", real=True)

SYMBOLS = {str(x): x for x in (n, sigma, lam_u, lam_w, lam, data_coef, noise_coef, tp, c, m, q_eta, q_xi, omega, b,
                               s, phi, p, M_s, M_2, M_1, Ms_w, Ms_b, M2_w, M2_b, Ms_ww, Ms_wb, Ms_bb, M2_ww, M2_wb,
                               M2_bb)}

# ----------------------------------------------------------------------------- inner products
#: Leading-order inner products (divided by d) seen from training point nu with label s = s^nu.
#: 'eta' = eta^nu (standard normal data noise of this point), 'eta_sum' = sum_mu s^mu eta^mu,
#: 'x0' = this point's interpolation noise, 'xi_sum' = sum_mu s^mu x0^mu (fixed noise only);
#: 'z'/'z_sum' are Cui's unnormalised data noise sigma*eta and its label-weighted sum.
GRAM = {
    ("mu", "mu"): sp.Integer(1),
    ("eta", "eta"): sp.Integer(1),
    ("eta", "eta_sum"): s,
    ("eta_sum", "eta_sum"): n,
    ("x0", "x0"): sp.Integer(1),
    ("xi_sum", "xi_sum"): n,
    ("z", "z"): sigma ** 2,
    ("z", "z_sum"): s * sigma ** 2,
    ("z_sum", "z_sum"): n * sigma ** 2,
}


def _gram(noise: str) -> Dict[tuple, sp.Expr]:
    g = dict(GRAM)
    # fixed: x0^nu is a summand of xi_sum; fresh: the x0 drawn at this step is independent of it
    g[("x0", "xi_sum")] = s if noise == "fixed" else sp.Integer(0)
    return g


def _sqnorm(vec: Dict[str, sp.Expr], gram: Dict[tuple, sp.Expr]) -> sp.Expr:
    """|v|^2 / d for v = sum_k vec[k] e_k, using the table (missing pairs are orthogonal)."""
    out = sp.Integer(0)
    keys = list(vec)
    for i, ki in enumerate(keys):
        for kj in keys[i:]:
            gij = gram.get((ki, kj), gram.get((kj, ki), sp.Integer(0)))
            out += (1 if ki == kj else 2) * vec[ki] * vec[kj] * gij
    return sp.expand(out)


def _reduce_labels(expr: sp.Expr) -> sp.Expr:
    """Use s^2 = 1 (s = +-1)."""
    poly = sp.Poly(sp.expand(expr), s)
    return sp.expand(sum(coef * (s if k[0] % 2 else 1) for k, coef in poly.terms()))


def _expect_phase_one(expr: sp.Expr) -> sp.Expr:
    """E over s ~ (p, 1-p), g ~ N(0,1): s phi -> M_s, phi^2 -> M_2, phi -> M_1, s -> 2p - 1."""
    poly = sp.Poly(_reduce_labels(expr), s, phi)
    table = {(0, 0): sp.Integer(1), (1, 0): 2 * p - 1, (0, 1): M_1, (1, 1): M_s, (0, 2): M_2}
    out = sp.Integer(0)
    for k, coef in poly.terms():
        if k not in table:
            raise ValueError(f"unexpected moment s^{k[0]} phi^{k[1]} in the phase-1 loss")
        out += coef * table[k]
    return sp.expand(out)


# ----------------------------------------------------------------------------- phase 2
def phase_two_loss(noise: str) -> sp.Expr:
    """Leading-order phase-2 training loss ``L/d`` as a function of (c, m, q_eta, q_xi).

    Model ``f(x) = c x + u s`` (tanh saturated on training points, PAPER §3.3), input
    ``x_t = noise_coef x0 + data_coef x1``, ``x1 = s mu + sigma eta``, penalty ``lam_u |u|^2/d``
    (PAPER §2.3, §3.4).  Summed over the n points (each contributes the same after s^2 = 1).
    """
    if noise not in ("fresh", "fixed"):
        raise ValueError(f"noise must be 'fresh' or 'fixed' for a loss derivation, got {noise!r}")
    g = _gram(noise)
    # residual c x_t + s u - x1, as coefficients on the directions
    r = {"mu": s * (c * data_coef - 1 + m), "eta": sigma * (c * data_coef - 1), "eta_sum": s * q_eta,
         "x0": c * noise_coef, "xi_sum": s * q_xi}
    u = {"mu": m, "eta_sum": q_eta, "xi_sum": q_xi}
    per_point = _reduce_labels(_sqnorm(r, g))
    if per_point.has(s):
        raise ValueError("phase-2 loss depends on the label: the derivation table is inconsistent")
    return sp.expand(n * per_point + lam_u * _sqnorm(u, g))


def _solve_ridge(loss: sp.Expr, linear: tuple, skip: sp.Symbol) -> Dict[str, sp.Expr]:
    """Eliminate the linear coefficients, then solve the stationarity equation for the skip c."""
    sol = sp.solve([sp.diff(loss, v) for v in linear], list(linear), dict=True)
    if len(sol) != 1:
        raise ValueError("ridge elimination is not unique")
    sol = sol[0]
    reduced = sp.together(loss.subs(sol))
    c_sols = sp.solve(sp.numer(sp.together(sp.diff(reduced, skip))), skip)
    if len(c_sols) != 1:
        raise ValueError(f"expected one stationary skip connection, got {c_sols}")
    c_star = sp.factor(c_sols[0])
    out = {"c": c_star}
    for v in linear:
        out[str(v)] = sp.factor(sp.simplify(sol[v].subs(skip, c_star)))
    return out


@functools.lru_cache(maxsize=None)
def phase_two_solution(noise: str) -> Dict[str, sp.Expr]:
    """Closed forms ``{c, m, q_eta, q_xi}`` (sympy, in data_coef, noise_coef, n, sigma, lam_u).

    Derived from :func:`phase_two_loss` by stationarity (PAPER §3.4); ``notebook`` returns the
    documented, non-derivable formula.  For the linear interpolant substitute
    ``data_coef = t'``, ``noise_coef = 1 - t'``.
    """
    if noise == "notebook":
        return documented_phase_two("notebook")
    return _solve_ridge(phase_two_loss(noise), (m, q_eta, q_xi), c)


@functools.lru_cache(maxsize=None)
def phase_two_population() -> Dict[str, sp.Expr]:
    """n -> inf limit of the fresh-noise solution (PAPER §3.3); identical for every convention."""
    sol = phase_two_solution("fresh")
    return {k: sp.factor(sp.limit(v, n, sp.oo)) for k, v in sol.items()}


def documented_phase_two(noise: str) -> Dict[str, sp.Expr]:
    """PAPER §3.4 table written symbolically (the reference the derivation is checked against).

    ``A = lam_u + sigma^2 (n + lam_u - 1)``, ``B = n + lam_u + {-1, 0, +1}``,
    ``c = t' A / (t'^2 A + B (1-t')^2)`` with ``t' -> data_coef``, ``1 - t' -> noise_coef``.
    """
    A = lam_u + sigma ** 2 * (n + lam_u - 1)
    from flowphase.theory.conventions import noise_convention

    shift = noise_convention(noise).ridge_shift
    B = n + lam_u + shift
    cc = data_coef * A / (data_coef ** 2 * A + B * noise_coef ** 2)
    return {"c": cc, "m": n * (1 - cc * data_coef) / (n + lam_u), "q_eta": sigma * (1 - cc * data_coef) / (n + lam_u),
            "q_xi": shift * cc * noise_coef / (n + lam_u)}


# ----------------------------------------------------------------------------- Cui et al.
def cui_loss() -> sp.Expr:
    """Cui et al.'s per-time ERM loss at leading order (PREDECESSOR §1.3-1.4, §2.1).

    ``f = c x + w sign(w.x/sqrt d)`` with ``sign -> s`` on training points, one fixed noise per
    point, data noise ``z ~ N(0, sigma^2 I)``, ridge ``lam |w|^2/d`` and
    ``w = m mu + q_xi xi + q_eta eta`` with ``eta = sum s z`` (PREDECESSOR notation).
    """
    g = _gram("fixed")
    r = {"mu": s * (c * data_coef - 1 + m), "z": (c * data_coef - 1), "z_sum": s * q_eta,
         "x0": c * noise_coef, "xi_sum": s * q_xi}
    w = {"mu": m, "z_sum": q_eta, "xi_sum": q_xi}
    return sp.expand(n * _reduce_labels(_sqnorm(r, g)) + lam * _sqnorm(w, g))


@functools.lru_cache(maxsize=None)
def cui_solution() -> Dict[str, sp.Expr]:
    """Result 2.1 of Cui et al. derived from :func:`cui_loss` (PREDECESSOR §2.1)."""
    return _solve_ridge(cui_loss(), (m, q_eta, q_xi), c)


# ----------------------------------------------------------------------------- phase 1
def phase_one_loss() -> sp.Expr:
    """Phase-1 loss ``L/d`` under the ansatz of PAPER §3.2, as a function of M_s, M_2.

    ``f = c x + u phi``, ``u = m mu + q_eta eta_tilde``, ``w = omega mu``; at
    ``tau = kappa t/sqrt d -> 0`` the input is ``x_t -> x0`` and the activation
    ``phi = tanh(b + omega (g + kappa t s))`` with g the (O(1)) projection of x0 on mu.
    Penalty ``(lam_u |u|^2 + lam_w |w|^2)/d``.
    """
    g = _gram("fresh")
    r = {"mu": m * phi - s, "eta_sum": q_eta * phi, "eta": -sigma, "x0": c}
    u = {"mu": m, "eta_sum": q_eta}
    per_point = _expect_phase_one(_sqnorm(r, g))
    return sp.expand(n * per_point + lam_u * _sqnorm(u, g) + lam_w * omega ** 2)


@functools.lru_cache(maxsize=None)
def phase_one_solution() -> Dict[str, sp.Expr]:
    """Stationary ``{c, m, q_eta}`` and the effective potential ``E`` of phase 1 (PAPER §3.2).

    ``E`` is the loss at the stationary (c, m, q_eta) minus its constant ``n (1 + sigma^2)``.
    """
    L = phase_one_loss()
    sol = sp.solve([sp.diff(L, v) for v in (c, m, q_eta)], [c, m, q_eta], dict=True)
    if len(sol) != 1:
        raise ValueError("phase-1 elimination is not unique")
    sol = sol[0]
    const = sp.expand(L.subs({M_s: 0, M_2: 0, omega: 0, m: 0, q_eta: 0, c: 0}))
    E = sp.factor(sp.simplify(L.subs(sol) - const)) + 0 * omega
    # keep the ridge on omega as a separate, readable term
    E = sp.simplify(E - lam_w * omega ** 2) + lam_w * omega ** 2
    return {"c": sp.simplify(sol[c]), "m": sp.factor(sol[m]), "q_eta": sp.factor(sol[q_eta]), "E": E, "const": const}


def phase_one_potential() -> sp.Expr:
    """``E_t(omega, b)`` in terms of the symbols M_s, M_2 (PAPER §3.2)."""
    return phase_one_solution()["E"]


@functools.lru_cache(maxsize=None)
def phase_one_derivatives() -> Dict[str, sp.Expr]:
    """Gradient and Hessian of E_t in (omega, b) by the chain rule through M_s(omega,b), M_2(omega,b).

    Returns ``{"E", "dE_domega", "dE_db", "d2E_domega2", "d2E_domega_db", "d2E_db2"}`` in the
    symbols ``M_s, M_2, Ms_w, Ms_b, M2_w, M2_b, Ms_ww, Ms_wb, Ms_bb, M2_ww, M2_wb, M2_bb``.
    """
    Fs, F2 = sp.Function("Fs")(omega, b), sp.Function("F2")(omega, b)
    E = phase_one_potential().subs({M_s: Fs, M_2: F2})
    rename = {
        sp.Derivative(Fs, omega, 2): Ms_ww, sp.Derivative(Fs, omega, b): Ms_wb, sp.Derivative(Fs, b, omega): Ms_wb,
        sp.Derivative(Fs, b, 2): Ms_bb,
        sp.Derivative(F2, omega, 2): M2_ww, sp.Derivative(F2, omega, b): M2_wb, sp.Derivative(F2, b, omega): M2_wb,
        sp.Derivative(F2, b, 2): M2_bb,
    }
    first = {sp.Derivative(Fs, omega): Ms_w, sp.Derivative(Fs, b): Ms_b, sp.Derivative(F2, omega): M2_w,
             sp.Derivative(F2, b): M2_b}

    def clean(expr):
        expr = expr.subs(rename).subs(first)
        return expr.subs({Fs: M_s, F2: M_2})

    out = {"E": phase_one_potential()}
    gw, gb = sp.diff(E, omega), sp.diff(E, b)
    out["dE_domega"] = clean(gw)
    out["dE_db"] = clean(gb)
    out["d2E_domega2"] = clean(sp.diff(gw, omega))
    out["d2E_domega_db"] = clean(sp.diff(gw, b))
    out["d2E_db2"] = clean(sp.diff(gb, b))
    for k, v in out.items():
        if v.has(sp.Derivative) or v.has(Fs) or v.has(F2):
            raise ValueError(f"unresolved derivative in {k}")
    return out


def phase_one_population_stationarity() -> Dict[str, sp.Expr]:
    """Show that at n = inf the phase-1 stationarity holds at the Bayes point (PAPER §3.1).

    Returns the limits (after dividing the gradient by n^2) of the gradient components, of m,
    q_eta and c, with the Bayes identities ``M_s = M_2``, ``M2_w = 2 Ms_w``, ``M2_b = 2 Ms_b``
    substituted.  Every entry must simplify to 0, except ``m`` -> 1.
    """
    der = phase_one_derivatives()
    sol = phase_one_solution()
    Q = sp.Symbol("Q", positive=True)
    bayes = {M_s: Q, M_2: Q, M2_w: 2 * Ms_w, M2_b: 2 * Ms_b}
    out = {}
    for k in ("dE_domega", "dE_db"):
        lim = sp.limit(sp.together(der[k] / n ** 2), n, sp.oo)
        out[k] = sp.simplify(lim.subs(bayes))
    out["m"] = sp.simplify(sp.limit(sol["m"], n, sp.oo).subs(bayes))
    out["q_eta"] = sp.simplify(sp.limit(sol["q_eta"], n, sp.oo).subs(bayes))
    out["c"] = sp.simplify(sol["c"])
    return out


def verify_bayes_identities(points=((sp.Rational(4, 5), sp.Rational(1, 1)), (sp.Rational(7, 10), sp.Rational(3, 2)),
                                    (sp.Rational(1, 2), sp.Rational(1, 2))), dps: int = 30) -> float:
    """Largest violation of ``M_s = M_2``, ``dM_2 = 2 dM_s`` at the Bayes point, by mpmath quadrature.

    Parameters
    ----------
    points : iterable of (p, kappa t), rational
    dps : int
        Working precision (decimal digits).

    Returns
    -------
    float
        ``max |M_s - M_2|, |M2_w - 2 Ms_w|, |M2_b - 2 Ms_b|`` over the points, evaluated at
        ``omega = kappa t``, ``b = artanh(2p - 1)`` (PAPER §3.1).
    """
    import mpmath as mp

    worst = mp.mpf(0)
    with mp.workdps(dps):
        for pp, kt in points:
            pp, kt = mp.mpf(sp.Rational(pp).p) / sp.Rational(pp).q, mp.mpf(sp.Rational(kt).p) / sp.Rational(kt).q
            h = mp.atanh(2 * pp - 1)

            def expect(fun):
                tot = mp.mpf(0)
                for sl, w in ((1, pp), (-1, 1 - pp)):
                    tot += w * mp.quad(lambda g: fun(sl, g) * mp.npdf(g), [-mp.inf, -kt - 3, 0, kt + 3, mp.inf])
                return tot

            th = lambda sl, g: mp.tanh(h + kt * (g + kt * sl))  # noqa: E731
            sech2 = lambda sl, g: 1 - th(sl, g) ** 2  # noqa: E731
            Ms_ = expect(lambda sl, g: sl * th(sl, g))
            M2_ = expect(lambda sl, g: th(sl, g) ** 2)
            Msw = expect(lambda sl, g: sl * sech2(sl, g) * (g + kt * sl))
            Msb = expect(lambda sl, g: sl * sech2(sl, g))
            M2w = expect(lambda sl, g: 2 * th(sl, g) * sech2(sl, g) * (g + kt * sl))
            M2b = expect(lambda sl, g: 2 * th(sl, g) * sech2(sl, g))
            worst = max(worst, abs(Ms_ - M2_), abs(M2w - 2 * Msw), abs(M2b - 2 * Msb))
    return float(worst)
