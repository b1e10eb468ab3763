"""Closed forms of the learned parameters: floats in, dict of floats out (no numba, no sympy).

These are the reference formulas every other part of flowphase is checked against; the
symbolic derivation that produces them from the training loss lives in
:mod:`flowphase.theory.derivations`, and a test checks that both agree symbolically.

Conventions (PAPER §1): ``tau`` is the physical interpolation time, the interpolant is
``x_tau = (1 - tau) x0 + tau x1`` (``alpha = 1 - tau`` multiplies the noise), ``|mu|^2 = d``,
``sigma`` is a standard deviation, ``h = artanh(2p - 1)``.  PREDECESSOR (Cui et al.) uses
the opposite letters: its ``alpha`` multiplies the data; :func:`cui_learned_parameters` therefore
takes ``data_coef`` and ``noise_coef`` explicitly.
"""
from __future__ import annotations

import math

from flowphase.theory.checks import in_closed as _in_closed
from flowphase.theory.checks import nonnegative as _nonnegative
from flowphase.theory.checks import open_unit as _open_unit
from flowphase.theory.checks import positive as _positive
from flowphase.theory.checks import sample_size as _sample_size
from flowphase.theory.conventions import NOISE_CONVENTIONS, noise_convention

__all__ = [
    "phase_one_population",
    "phase_two_ridge",
    "cui_learned_parameters",
    "bayes_denoiser",
    "bayes_coefficients",
    "NOISE_CONVENTIONS",
]


# ----------------------------------------------------------------------------- validation
def _noise(noise) -> str:
    return noise_convention(noise).name


# ----------------------------------------------------------------------------- phase 1
def phase_one_population(kappa: float, t: float, p: float) -> dict:
    """Population (n = inf, d = inf) phase-1 learned parameters (PAPER §3.1, §8 check 3).

    Parameters
    ----------
    kappa : float > 0
        Dilation constant.
    t : float in [0, 1]
        Phase-1 time; the signal-to-noise variable is ``kappa t``.
    p : float in (0, 1)
        Weight of the + mode.

    Returns
    -------
    dict
        ``c = 0, m = 1, omega = kappa t, b = h = artanh(2p-1), q = 1, r = (kappa t)^2``.

    Notes
    -----
    The minimiser of ``-M_s^2 / M_2`` is the Bayes point ``tanh(h + kappa t y) = E[s | y]``
    (Cauchy-Schwarz, PAPER §3.1).  At ``t = 0`` the value reported is the code's (m = 1, b = h);
    the ridge-regularised limit instead selects ``b -> inf, m = 2p-1`` (PAPER §3.1, §7.7).
    """
    kappa = _positive("kappa", kappa)
    t = _in_closed("t", t, 0.0, 1.0)
    p = _open_unit("p", p)
    kt = kappa * t
    return {"c": 0.0, "m": 1.0, "omega": kt, "b": math.atanh(2.0 * p - 1.0), "q": 1.0, "r": kt * kt}


# ----------------------------------------------------------------------------- phase 2
def phase_two_ridge(tp: float, n: float, sigma: float, lam_u: float, noise: str = "fresh") -> dict:
    """Phase-2 ridge closed forms at time ``t' = tp`` (PAPER §3.3-§3.4).

    Parameters
    ----------
    tp : float in [0, 1]
        ``t' = t - 1`` (equal to the physical time tau at d = inf).
    n : float >= 1 or ``math.inf``
        Number of training points.
    sigma : float > 0
        Within-mode standard deviation.
    lam_u : float >= 0
        Ridge penalty on u (theory units).
    noise : {'fresh', 'fixed', 'notebook'}
        Noise convention (PAPER §3.4 table).

    Returns
    -------
    dict
        ``c, m, q_eta, q_xi, A, B, D``.

    Notes
    -----
    ``A = lam_u + sigma^2 (n + lam_u - 1)``; ``B = n + lam_u - 1`` (fixed), ``n + lam_u``
    (fresh), ``n + lam_u + 1`` (notebook); ``D = t'^2 A + B (1 - t')^2``;
    ``c = t' A / D``; ``m = n (1 - c t') / (n + lam_u)``; ``q_eta = sigma (1 - c t') / (n + lam_u)``;
    ``q_xi = -c (1 - t')/(n + lam_u)`` (fixed), ``0`` (fresh), ``+c (1 - t')/(n + lam_u)``
    (notebook).  At ``n = inf`` (PAPER §3.3): ``c = t' sigma^2 / ((1-t')^2 + t'^2 sigma^2)``,
    ``m = 1 - c t'``, ``q_eta = q_xi = 0``, and A, B, D are returned **divided by n**
    (``A/n -> sigma^2``, ``B/n -> 1``, ``D/n -> (1-t')^2 + t'^2 sigma^2``) so that the ratios
    ``A/B`` (generated variance) and ``D/B`` (PAPER §3.5) keep their meaning.
    """
    tp = _in_closed("tp", tp, 0.0, 1.0)
    n = _sample_size("n", n)
    sigma = _positive("sigma", sigma)
    lam = _nonnegative("lam_u", lam_u)
    noise = _noise(noise)
    s2 = sigma * sigma
    if math.isinf(n):
        A, B = s2, 1.0
        D = tp * tp * A + B * (1.0 - tp) ** 2
        c = tp * A / D
        return {"c": c, "m": 1.0 - c * tp, "q_eta": 0.0, "q_xi": 0.0, "A": A, "B": B, "D": D}
    A = lam + s2 * (n + lam - 1.0)
    shift = NOISE_CONVENTIONS[noise].ridge_shift
    B = n + lam + shift
    D = tp * tp * A + B * (1.0 - tp) ** 2
    if not D > 0.0:
        raise ValueError(f"degenerate ridge problem (D = {D}) for n={n}, lam_u={lam}, noise={noise!r}, tp={tp}; "
                         "use n >= 2 or lam_u > 0")
    c = tp * A / D
    one_m_ct = 1.0 - c * tp
    return {
        "c": c,
        "m": n * one_m_ct / (n + lam),
        "q_eta": sigma * one_m_ct / (n + lam),
        "q_xi": shift * c * (1.0 - tp) / (n + lam),
        "A": A,
        "B": B,
        "D": D,
    }


def cui_learned_parameters(data_coef: float, noise_coef: float, n: float, sigma: float, lam: float) -> dict:
    """Cui et al.'s learned denoiser, Result 2.1 (PREDECESSOR §2.1).

    Parameters
    ----------
    data_coef : float >= 0
        Coefficient of the data x1 in the interpolant (PREDECESSOR's ``alpha(t)``; ``t`` for the
        linear interpolant).
    noise_coef : float >= 0
        Coefficient of the noise x0 (PREDECESSOR's ``beta(t)``; ``1 - t`` for the linear one).
    n : float >= 1 or inf
    sigma : float > 0
    lam : float >= 0
        Ridge penalty on w.

    Returns
    -------
    dict
        ``c, m, q_xi, q_eta, A, B, D`` with ``A = lam (1 + sigma^2) + (n-1) sigma^2``,
        ``B = lam + n - 1``, ``D = alpha^2 A + beta^2 B``, ``c = alpha A / D``,
        ``m = n/(n+lam) beta^2 B / D``, ``q_xi = -beta c/(n+lam)``, ``q_eta = m/n`` (the
        coefficient of ``eta = sum_nu s^nu z^nu`` with ``z ~ N(0, sigma^2 I)``).
        At ``n = inf``: ``c = alpha sigma^2/(alpha^2 sigma^2 + beta^2)``,
        ``m = beta^2/(alpha^2 sigma^2 + beta^2)``, ``q_xi = q_eta = 0`` and A, B, D divided by n.
    """
    # Cui's alpha (data) and beta (noise) are called data / noise here: alpha, beta keep flowphase's meaning
    data = _nonnegative("data_coef", data_coef)
    noise = _nonnegative("noise_coef", noise_coef)
    n = _sample_size("n", n)
    sigma = _positive("sigma", sigma)
    lam = _nonnegative("lam", lam)
    s2 = sigma * sigma
    if math.isinf(n):
        A, B = s2, 1.0
        D = data * data * A + noise * noise * B
        if not D > 0.0:
            raise ValueError("data_coef and noise_coef must not both vanish")
        return {"c": data * A / D, "m": noise * noise * B / D, "q_xi": 0.0, "q_eta": 0.0, "A": A, "B": B, "D": D}
    A = lam * (1.0 + s2) + (n - 1.0) * s2
    B = lam + n - 1.0
    D = data * data * A + noise * noise * B
    if not D > 0.0:
        raise ValueError(f"degenerate ridge problem (D = {D}) for n={n}, lam={lam}; use n >= 2 or lam > 0")
    c = data * A / D
    m = n / (n + lam) * noise * noise * B / D
    return {"c": c, "m": m, "q_xi": -noise * c / (n + lam), "q_eta": m / n, "A": A, "B": B, "D": D}


# ----------------------------------------------------------------------------- Bayes denoiser
def bayes_denoiser(tau: float, sigma: float, p: float, alpha: float | None = None) -> dict:
    """Exact (Bayes) denoiser ``f*(x) = c* x + m* mu tanh(h + tau mu.x / D_tau)`` (PAPER §2.1).

    Parameters
    ----------
    tau : float in [0, 1]
        Data coefficient of the interpolant (physical time).
    sigma : float > 0
    p : float in (0, 1)
    alpha : float >= 0, optional
        Noise coefficient; defaults to the linear interpolant's ``1 - tau``.

    Returns
    -------
    dict
        ``D = alpha^2 + tau^2 sigma^2``, ``c = tau sigma^2 / D``, ``m = alpha^2 / D``,
        ``omega_over_sqrt_d = tau / D`` (the overlap ``omega* = sqrt(d) tau / D``), ``b = h``.
    """
    beta = _in_closed("tau", tau, 0.0, 1.0)
    sigma = _positive("sigma", sigma)
    p = _open_unit("p", p)
    alpha = 1.0 - beta if alpha is None else _nonnegative("alpha", alpha)
    if not alpha * alpha + beta * beta * sigma * sigma > 0.0:
        raise ValueError("alpha and tau must not both vanish")
    out = {k: float(v) for k, v in bayes_coefficients(alpha, beta, sigma).items()}
    out["b"] = math.atanh(2.0 * p - 1.0)
    return out


def bayes_coefficients(alpha, beta, sigma: float) -> dict:
    """Coefficients of the exact (Bayes) denoiser at noise / data coefficients ``alpha, beta`` (PAPER §2.1).

    The one place they are written (floats or arrays, no checks: :func:`bayes_denoiser` checks its input):
    ``D = alpha^2 + beta^2 sigma^2``, ``c = beta sigma^2 / D`` (skip connection), ``m = alpha^2 / D`` (the
    weight of ``mu tanh(h + beta mu.x / D)``), ``omega_over_sqrt_d = beta / D``.
    """
    s2 = sigma * sigma
    D = alpha * alpha + beta * beta * s2
    return {"c": beta * s2 / D, "m": alpha * alpha / D, "omega_over_sqrt_d": beta / D, "D": D}
