"""GENERATED FILE - do not edit by hand.

Written by ``python -m flowphase.numerics._codegen`` from the sympy derivations in
``flowphase.theory.derivations`` (sympy 1.14.0).  Every function is a common-sub-expression-
eliminated ``math`` expression list compiled with numba; the docstrings name the derivation
and the spec section it implements.  ``tests/test_codegen.py`` fails if this file is stale.
"""
import math  # noqa: F401

from numba import njit

__all__ = [
    "phase_two_fresh",
    "phase_two_fixed",
    "phase_two_notebook",
    "phase_two_population",
    "cui_learned",
    "phase_one_overlaps",
    "phase_one_potential",
    "phase_one_gradient",
    "phase_one_hessian",
    "exact_quadratic_form",
    "exact_loss_partials",
]

@njit(cache=True)
def phase_two_fresh(data_coef, noise_coef, n, sigma, lam_u):
    """Phase-2 ridge solution, fresh noise: returns (c, m, q_eta, q_xi); derived from derivations.phase_two_loss('fresh') by stationarity, PAPER §3.4."""
    x0 = sigma**2
    x1 = data_coef**2
    x2 = lam_u*x1
    x3 = noise_coef**2
    x4 = n*x3
    x5 = x0*x1
    x6 = 1/(lam_u*x3 + n*x5 + x0*x2 + x2 + x4 - x5)
    c = data_coef*x6*(lam_u*x0 + lam_u + n*x0 - x0)
    m = x4*x6
    q_eta = sigma*x3*x6
    q_xi = 0.0
    return c, m, q_eta, q_xi

@njit(cache=True)
def phase_two_fixed(data_coef, noise_coef, n, sigma, lam_u):
    """Phase-2 ridge solution, fixed noise: returns (c, m, q_eta, q_xi); derived from derivations.phase_two_loss('fixed') by stationarity, PAPER §3.4."""
    x0 = sigma**2
    x1 = noise_coef**2
    x2 = data_coef**2
    x3 = lam_u*x2
    x4 = n*x1
    x5 = x0*x2
    x6 = 1/(lam_u*x1 + n*x5 + x0*x3 - x1 + x3 + x4 - x5)
    x7 = data_coef*x6*(lam_u*x0 + lam_u + n*x0 - x0)
    x8 = lam_u + n
    x9 = 1/x8
    x10 = x6*x9*(x8 - 1)
    c = x7
    m = x10*x4
    q_eta = sigma*x1*x10
    q_xi = -noise_coef*x7*x9
    return c, m, q_eta, q_xi

@njit(cache=True)
def phase_two_notebook(data_coef, noise_coef, n, sigma, lam_u):
    """Phase-2 ridge solution, notebook noise: returns (c, m, q_eta, q_xi); documented formula (not derivable from a loss), PAPER §3.4."""
    x0 = lam_u + n
    x1 = lam_u + sigma**2*(x0 - 1)
    x2 = data_coef**2*x1
    x3 = 1/(noise_coef**2*(x0 + 1) + x2)
    x4 = data_coef*x1*x3
    x5 = 1/x0
    x6 = x5*(-x2*x3 + 1)
    c = x4
    m = n*x6
    q_eta = sigma*x6
    q_xi = noise_coef*x4*x5
    return c, m, q_eta, q_xi

@njit(cache=True)
def phase_two_population(data_coef, noise_coef, sigma):
    """Phase-2 population limit n -> inf: returns (c, m); PAPER §3.3."""
    x0 = sigma**2
    x1 = noise_coef**2
    x2 = 1/(data_coef**2*x0 + x1)
    c = data_coef*x0*x2
    m = x1*x2
    return c, m

@njit(cache=True)
def cui_learned(data_coef, noise_coef, n, sigma, lam):
    """Cui et al. Result 2.1 derived from derivations.cui_loss(): returns (c, m, q_xi, q_eta); PREDECESSOR §2.1."""
    x0 = sigma**2
    x1 = noise_coef**2
    x2 = data_coef**2
    x3 = lam*x2
    x4 = n*x1
    x5 = x0*x2
    x6 = 1/(lam*x1 + n*x5 + x0*x3 - x1 + x3 + x4 - x5)
    x7 = data_coef*x6*(lam*x0 + lam + n*x0 - x0)
    x8 = lam + n
    x9 = 1/x8
    x10 = x6*x9*(x8 - 1)
    c = x7
    m = x10*x4
    q_xi = -noise_coef*x7*x9
    q_eta = x1*x10
    return c, m, q_xi, q_eta

@njit(cache=True)
def phase_one_overlaps(M_s, M_2, n, sigma, lam_u):
    """Phase-1 stationary decoder overlaps: returns (m, q_eta); PAPER §3.2."""
    x0 = M_s/(M_2*n + lam_u)
    m = n*x0
    q_eta = sigma*x0
    return m, q_eta

@njit(cache=True)
def phase_one_potential(M_s, M_2, omega, n, sigma, lam_u, lam_w):
    """Phase-1 effective potential E_t = -n(n+sigma^2) M_s^2/(lam_u + n M_2) + lam_w omega^2; PAPER §3.2."""
    E = M_s**2*n*(-n - sigma**2)/(M_2*n + lam_u) + lam_w*omega**2
    return E

@njit(cache=True)
def phase_one_gradient(M_s, M_2, Ms_w, Ms_b, M2_w, M2_b, omega, n, sigma, lam_u, lam_w):
    """Gradient of the phase-1 potential by the chain rule through M_s, M_2: returns (dE/domega, dE/db); PAPER §3.2."""
    x0 = -n - sigma**2
    x1 = M_2*n + lam_u
    x2 = 1/x1
    x3 = M_s**2*n**2*x0/x1**2
    dE_domega = -M2_w*x3 + 2*M_s*Ms_w*n*x0*x2 + 2*lam_w*omega
    dE_db = -M2_b*x3 + 2*M_s*Ms_b*n*x0*x2
    return dE_domega, dE_db

@njit(cache=True)
def phase_one_hessian(M_s, M_2, Ms_w, Ms_b, M2_w, M2_b, Ms_ww, Ms_wb, Ms_bb, M2_ww, M2_wb, M2_bb, omega, n, sigma, lam_u, lam_w):
    """Hessian of the phase-1 potential: returns (E_ww, E_wb, E_bb); PAPER §3.2."""
    x0 = M_2*n + lam_u
    x1 = -n - sigma**2
    x2 = 2*x1
    x3 = n*x2/x0
    x4 = M_s*x3
    x5 = M_s*Ms_w
    x6 = n**2/x0**2
    x7 = x1*x6
    x8 = 4*x7
    x9 = M_s**2
    x10 = x7*x9
    x11 = n**3*x2*x9/x0**3
    x12 = x2*x6
    x13 = M_s*Ms_b
    d2E_domega2 = M2_w**2*x11 - M2_w*x5*x8 - M2_ww*x10 + Ms_w**2*x3 + Ms_ww*x4 + 2*lam_w
    d2E_domega_db = M2_b*M2_w*x11 - M2_b*x12*x5 - M2_w*x12*x13 - M2_wb*x10 + Ms_b*Ms_w*x3 + Ms_wb*x4
    d2E_db2 = M2_b**2*x11 - M2_b*x13*x8 - M2_bb*x10 + Ms_b**2*x3 + Ms_bb*x4
    return d2E_domega2, d2E_domega_db, d2E_db2

@njit(cache=True)
def exact_quadratic_form(alpha, beta, inv_sqrt_d, sigma, n_plus, n_minus, lam_u, lam_w, omega, z_plus, z_minus, M_plus, M_minus, Q_plus, Q_minus):
    """Exact finite-n loss L/d = y^T H y - 2 g^T y + L0 in y = (c, m, a_plus, a_minus): returns the upper triangle of H (row-major), g and L0; theory.exact.quadratic_form, EXACT_FINITE_N §2-3."""
    x0 = alpha**2
    x1 = n_minus*x0
    x2 = n_plus*x0
    x3 = beta**2
    x4 = n_minus*x3
    x5 = n_plus*x3
    x6 = sigma**2
    x7 = beta*n_minus
    x8 = M_minus*x7
    x9 = inv_sqrt_d*omega
    x10 = beta*n_plus
    x11 = inv_sqrt_d*x1
    x12 = n_plus*x11
    x13 = x12*z_plus
    x14 = n_plus**2
    x15 = inv_sqrt_d*x0
    x16 = x15*z_plus
    x17 = Q_plus*x14
    x18 = n_minus**2
    x19 = x15*z_minus
    x20 = Q_plus*n_plus
    x21 = Q_minus*x18
    x22 = Q_minus*n_minus
    x23 = M_minus*n_minus
    H00 = x1 + x2 + x4*x6 + x4 + x5*x6 + x5
    H01 = M_plus*beta*n_plus - Q_minus*x1*x9 - Q_plus*x2*x9 + inv_sqrt_d*n_minus*omega*x0 + inv_sqrt_d*n_plus*omega*x0 - x8
    H02 = M_plus*sigma*x10 - Q_minus*x13 + x13 + x14*x16 - x16*x17
    H03 = sigma*x8 - x11*x20*z_minus + x12*z_minus + x18*x19 - x19*x21
    H11 = lam_u + x20 + x22
    H12 = 0.0
    H13 = 0.0
    H22 = lam_u*n_plus + n_plus*x22 + x17
    H23 = 0.0
    H33 = lam_u*n_minus + n_minus*x20 + x21
    g0 = x10*x6 + x10 + x6*x7 + x7
    g1 = M_plus*n_plus - x23
    g2 = M_plus*n_plus*sigma
    g3 = sigma*x23
    L0 = lam_w*n_minus*z_minus**2 + lam_w*n_plus*z_plus**2 + lam_w*omega**2 + n_minus*x6 + n_minus + n_plus*x6 + n_plus
    return H00, H01, H02, H03, H11, H12, H13, H22, H23, H33, g0, g1, g2, g3, L0

@njit(cache=True)
def exact_loss_partials(alpha, beta, inv_sqrt_d, sigma, n_plus, n_minus, lam_u, lam_w, omega, z_plus, z_minus, M_plus, M_minus, Q_plus, Q_minus, c, m, a_plus, a_minus):
    """Explicit partial derivatives of the exact finite-n L/d in the class moments and in (omega, z_plus, z_minus) at fixed (c, m, a_plus, a_minus) (envelope theorem); theory.exact.loss_partials, EXACT_FINITE_N §2."""
    x0 = 2*m
    x1 = n_plus*x0
    x2 = 2*sigma
    x3 = a_plus*n_plus*x2
    x4 = beta*c
    x5 = n_minus*x0
    x6 = a_minus*n_minus*x2
    x7 = m**2
    x8 = a_minus**2
    x9 = n_minus*n_plus
    x10 = a_plus**2
    x11 = n_plus**2
    x12 = alpha**2*c*inv_sqrt_d
    x13 = x1*x12
    x14 = 2*x12
    x15 = a_minus*x14
    x16 = x15*x9
    x17 = a_plus*x14
    x18 = x11*x17
    x19 = n_minus**2
    x20 = x12*x5
    x21 = x17*x9
    x22 = x15*x19
    x23 = 2*lam_w
    dL_dM_plus = x1*x4 - x1 + x3*x4 - x3
    dL_dM_minus = -x4*x5 + x4*x6 + x5 - x6
    dL_dQ_plus = n_plus*x7 - omega*x13 + x10*x11 - x16*z_minus - x18*z_plus + x8*x9
    dL_dQ_minus = n_minus*x7 - omega*x20 + x10*x9 + x19*x8 - x21*z_plus - x22*z_minus
    dL_domega = -Q_minus*x20 - Q_plus*x13 + omega*x23 + x13 + x20
    dL_dz_plus = -Q_minus*x21 - Q_plus*x18 + n_plus*x23*z_plus + x18 + x21
    dL_dz_minus = -Q_minus*x22 - Q_plus*x16 + n_minus*x23*z_minus + x16 + x22
    return dL_dM_plus, dL_dM_minus, dL_dQ_plus, dL_dQ_minus, dL_domega, dL_dz_plus, dL_dz_minus
