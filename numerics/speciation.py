"""Speciation and collapse times of Biroli, Bonnaire, de Bortoli & Mézard (PREDECESSOR §4).

Forward Ornstein–Uhlenbeck process ``x(t) = x(0) e^{-t} + sqrt(Delta_t) z``, ``Delta_t = 1 - e^{-2t}``, on
the balanced two-mode mixture ``+-m`` with ``|m|^2 = d m_tilde^2`` and within-mode variance ``sigma^2``.

* Speciation time: ``t_S = 1/2 ln Lambda`` with ``Lambda = d m_tilde^2 + sigma^2`` the largest eigenvalue of
  the data covariance (``~ 1/2 ln d``).
* Cloning probability (two copies split at time t and run backward independently end in the same class):
  ``phi(t) = 1/2 int (G_+^2 + G_-^2)/(G_+ + G_-) dx``, ``G_+- = N(x; +-a, Gamma_t)``, ``a = m_tilde sqrt(d) e^{-t}``,
  ``Gamma_t = Delta_t + sigma^2 e^{-2t}``.  Since ``(G_+^2 + G_-^2)/(G_+ + G_-) = G_+ + G_- - 2 G_+ G_-/(G_+ + G_-)``
  and ``G_-/G_+ = exp(-2 a x/Gamma)``, with ``x = a + sqrt(Gamma) g`` and ``r = a/sqrt(Gamma)``:
  ``phi = 1 - E_g[ expit(-2 r^2 - 2 r g) ]``, g ~ N(0, 1): a 1-D integral done by adaptive quadrature
  (scipy ``quad``, breakpoint at the logistic step g = -r), checked against mpmath on the original form.
* Collapse time (exact empirical score, n = e^{alpha d} points): ``t_C = 1/2 ln(1 + sigma^2/(n^{2/d} - 1))``.
* Linear interpolant ``x = alpha x1 + beta x0`` (alpha = t, PREDECESSOR letters): normalising by
  ``sqrt(alpha^2 + beta^2)`` gives ``e^{-2 t_OU} = alpha^2/(alpha^2 + beta^2)``, i.e.
  ``t_lin = 1/(1 + sqrt(e^{2 t_OU} - 1))``; speciation ``t_s = 1/(1 + sqrt(Lambda - 1)) ~ 1/sqrt(d + sigma^2 - 1)``
  (0.0306, 0.0139, 0.00445 for d = 1000, 5000, 50000) and collapse ``rho/(1 + rho)``,
  ``rho = sqrt(n^{2/d} - 1)/sigma``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import expit

from flowphase.numerics.results import ConvergenceError, check_finite
from flowphase.theory import checks

__all__ = ["speciation_time", "speciation_time_linear", "cloning_probability", "collapse_time",
           "collapse_time_linear", "ou_to_linear", "collapse_criterion"]


def _pos(name, v, allow_zero=False):
    v = checks.real(name, v)          # the one check module (type, overflow, NaN)
    ok = (v >= 0.0) if allow_zero else (v > 0.0)
    if not ok or not v <= MAX_VALUE:
        raise ValueError(f"{name} must lie in {'[0' if allow_zero else '(0'}, {MAX_VALUE:g}], got {v!r}")
    return v


#: largest d, n, sigma, m_tilde accepted: their squares stay finite
MAX_VALUE = 1e150


def speciation_time(d: float, sigma: float = 1.0, m_tilde: float = 1.0) -> float:
    """``t_S = 1/2 ln(d m_tilde^2 + sigma^2)`` (OU time, PREDECESSOR §4)."""
    d, sigma, m_tilde = _pos("d", d), _pos("sigma", sigma), _pos("m_tilde", m_tilde)
    return 0.5 * math.log(_lambda(d, sigma, m_tilde))


def _lambda(d, sigma, m_tilde) -> float:
    """``Lambda = d m_tilde^2 + sigma^2``, refused when it overflows (no silent t_S = inf)."""
    try:
        lam = d * m_tilde ** 2 + sigma ** 2
    except OverflowError:
        lam = math.inf
    if not math.isfinite(lam):
        raise ValueError(f"d m_tilde^2 + sigma^2 overflows (d={d!r}, sigma={sigma!r}, m_tilde={m_tilde!r})")
    return lam


def ou_to_linear(t_ou):
    """Map OU time to the linear interpolant's time: ``t = 1/(1 + sqrt(e^{2 t_OU} - 1))`` (PREDECESSOR §4)."""
    t = np.asarray(t_ou, dtype=float)
    if np.any(t < 0) or np.any(~np.isfinite(t)):
        raise ValueError(f"t_ou must be finite and >= 0, got {t_ou!r}")
    out = 1.0 / (1.0 + np.sqrt(np.expm1(2.0 * t)))
    return float(out) if out.ndim == 0 else out


def speciation_time_linear(d: float, sigma: float = 1.0, m_tilde: float = 1.0) -> float:
    """Speciation time in the linear interpolant: ``1/(1 + sqrt(Lambda - 1))`` ~ ``1/sqrt(d + sigma^2 - 1)``."""
    d, sigma, m_tilde = _pos("d", d), _pos("sigma", sigma), _pos("m_tilde", m_tilde)
    lam = _lambda(d, sigma, m_tilde)
    if not lam > 1.0:
        raise ValueError(f"d m_tilde^2 + sigma^2 must exceed 1, got {lam!r}")
    return 1.0 / (1.0 + math.sqrt(lam - 1.0))


def _phi_one(t, d, sigma, m_tilde):
    e2 = math.exp(-2.0 * t)
    gamma = -math.expm1(-2.0 * t) + sigma ** 2 * e2
    r = m_tilde * math.sqrt(d) * math.exp(-t) / math.sqrt(gamma)

    def f(g):
        return math.exp(-0.5 * g * g) / math.sqrt(2.0 * math.pi) * float(expit(-2.0 * r * r - 2.0 * r * g))

    lo, hi = -40.0 - r, 40.0
    pts = [-r] if lo < -r < hi else None
    val, err = quad(f, lo, hi, points=pts, epsabs=1e-14, epsrel=1e-12, limit=200)
    if not err < 1e-9:
        raise ConvergenceError(f"cloning probability quadrature error {err:.2e} at t={t}, d={d}")
    return 1.0 - val


def cloning_probability(t, d: float, sigma: float = 1.0, m_tilde: float = 1.0):
    """Probability that two clones split at OU time ``t`` end in the same class (PREDECESSOR §4).

    ``phi(t) = 1/2 int (G_+^2 + G_-^2)/(G_+ + G_-) dx`` (module notes); 1 at t = 0, 1/2 as t -> inf, a step
    at ``t_S`` as d grows.  ``t`` may be an array.
    """
    d, sigma, m_tilde = _pos("d", d), _pos("sigma", sigma), _pos("m_tilde", m_tilde)
    tt = np.asarray(t, dtype=float)
    if np.any(tt < 0) or np.any(~np.isfinite(tt)):
        raise ValueError(f"t must be finite and >= 0, got {t!r}")
    out = np.array([_phi_one(float(x), d, sigma, m_tilde) for x in tt.ravel()]).reshape(tt.shape)
    check_finite("cloning probability", out)
    return float(out) if out.ndim == 0 else out


def collapse_time(n: float, d: float, sigma: float = 1.0) -> float:
    """``t_C = 1/2 ln(1 + sigma^2/(n^{2/d} - 1))`` (PREDECESSOR §4), n >= 2 training points."""
    n, d, sigma = _pos("n", n), _pos("d", d), _pos("sigma", sigma)
    if n < 2.0:
        raise ValueError(f"n must be >= 2 (n = 1 never collapses: t_C = inf), got {n!r}")
    den = math.expm1(2.0 * math.log(n) / d)
    try:
        out = 0.5 * math.log1p(sigma ** 2 / den) if den > 0.0 else math.inf
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise ValueError(f"collapse time overflows for n={n!r}, d={d!r}, sigma={sigma!r} "
                         "(n^(2/d) - 1 underflows: d too large for this n)")
    return out


def collapse_criterion(t, n: float, d: float, sigma: float = 1.0):
    """Biroli et al.'s plotted criterion ``f(t) = ln(n)/d + 1/2 ln(Delta_t/(Delta_t + sigma^2 e^{-2t}))`` (root: t_C)."""
    tt = np.asarray(t, dtype=float)
    delta = -np.expm1(-2.0 * tt)
    return math.log(n) / d + 0.5 * np.log(delta / (delta + sigma ** 2 * np.exp(-2.0 * tt)))


def collapse_time_linear(n: float, d: float, sigma: float = 1.0) -> float:
    """Collapse time in the linear interpolant, ``rho/(1 + rho)``, ``rho = sqrt(n^{2/d} - 1)/sigma`` (PREDECESSOR §4)."""
    n, d, sigma = _pos("n", n), _pos("d", d), _pos("sigma", sigma)
    if n < 2.0:
        raise ValueError(f"n must be >= 2, got {n!r}")
    rho = math.sqrt(math.expm1(2.0 * math.log(n) / d)) / sigma
    if not math.isfinite(rho):
        raise ValueError(f"collapse time overflows for n={n!r}, d={d!r}, sigma={sigma!r}")
    return rho / (1.0 + rho)
