"""Gaussian kernels of the overlap dynamics and the numba right-hand side / gradient-descent map.

Kernels (PAPER §2.2, §3.1) by the trapezoid rule of :func:`flowphase.numerics.quadrature.trapezoid_rule`
(normalised, [-9, 9]): ``z_s = b + omega k s + sqrt(gam r) zeta``, ``zeta ~ N(0, 1)``, ``s = +-1`` the mode
label with probabilities ``(p, 1 - p)``::

    M_s = sum_s p_s s E tanh(z_s),  dM_s/db = sum_s p_s s E sech^2,  dM_s/domega = k sum_s p_s E sech^2,
    dM_s/dr = gam/2 sum_s p_s s E tanh''     (Stein: d/dr E F(sqrt(gam r) zeta) = gam/2 E F''),
    M_2 = sum_s p_s E tanh^2,  and the same derivatives of tanh^2.

Phase 2 at d = inf (``saturated``): ``M_s = sign(omega)``, ``M_2 = 1``, derivatives 0.

The trapezoid rule, not Gauss-Hermite: tanh has poles at distance pi / (2 sd) from the real axis
(sd = sqrt(gam r)), where Gauss-Hermite converges slowly (61 nodes: 7.5e-6 error on E tanh^2(4.69 + 2 zeta),
which shifts the t = 1 fixed point by 2e-2 because its slowest mode has rate 5e-3); the trapezoid rule
converges like ``exp(-2 pi dist / h)`` (h = 0.08: ~1e-14 at sd = 2, ~1e-9 at sd = 5).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from flowphase.numerics import _generated_dynamics as _gen
from flowphase.numerics.dynamics.params import (DYNAMICS_HALF_WIDTH, I_GAM, I_K, I_NODES, I_NQ, I_P, I_SAT,
                                                N_GENERATED, N_KERNELS)
from flowphase.numerics.quadrature import trapezoid_rule

__all__ = ["gaussian_kernels", "kernels_from_params", "overlap_rhs", "gd_iterate", "rhs_norm", "at_state"]


# ----------------------------------------------------------------------------- kernels
@njit(cache=True)
def _kernels(b, om, r, k, gam, p, sat, nodes, weights, kin):
    """Fill ``kin`` = (M_s, M_s_b, M_s_w, M_s_r, M_2, M_2_b, M_2_w, M_2_r, E sech^4, E s tanh sech^4,
    E tanh^2 sech^4) (module docstring)."""
    if sat > 0.5:
        sg = 1.0 if om > 0.0 else (-1.0 if om < 0.0 else 0.0)
        kin[0] = sg
        kin[4] = 1.0
        for i in (1, 2, 3, 5, 6, 7, 8, 9, 10):
            kin[i] = 0.0
        return
    sd = math.sqrt(max(gam * r, 0.0))
    Ms = 0.0
    Msb = 0.0
    Msw = 0.0
    Msr = 0.0
    M2 = 0.0
    M2b = 0.0
    M2w = 0.0
    M2r = 0.0
    Ka = 0.0
    Kb = 0.0
    Kc = 0.0
    for lab in range(2):
        s = 1.0 if lab == 0 else -1.0       # the mode label (PAPER §2.1)
        ps = p if lab == 0 else 1.0 - p
        t0 = 0.0
        t1 = 0.0
        t2 = 0.0
        q0 = 0.0
        q2 = 0.0
        p0 = 0.0
        p1 = 0.0
        p2 = 0.0
        shift = b + om * k * s
        for j in range(nodes.shape[0]):
            th = math.tanh(shift + sd * nodes[j])
            se = 1.0 - th * th
            wj = weights[j]
            t0 += wj * th
            t1 += wj * se
            t2 += wj * (-2.0 * th * se)
            q0 += wj * th * th
            q2 += wj * (2.0 * se * se - 4.0 * th * th * se)
            se2 = wj * se * se
            p0 += se2
            p1 += se2 * th
            p2 += se2 * th * th
        # (tanh^2)' = -tanh''
        Ms += ps * s * t0
        Msb += ps * s * t1
        Msw += ps * t1
        Msr += ps * s * t2
        M2 += ps * q0
        M2b += ps * (-t2)
        M2w += ps * s * (-t2)
        M2r += ps * q2
        Ka += ps * p0
        Kb += ps * s * p1
        Kc += ps * p2
    kin[0] = Ms
    kin[1] = Msb
    kin[2] = k * Msw
    kin[3] = 0.5 * gam * Msr
    kin[4] = M2
    kin[5] = M2b
    kin[6] = k * M2w
    kin[7] = 0.5 * gam * M2r
    kin[8] = Ka
    kin[9] = Kb
    kin[10] = Kc


@njit(cache=True)
def kernels_from_params(y, params, kin):
    """Fill ``kin`` at state ``y`` from the flat parameter vector (:meth:`DynamicsParams.to_array`)."""
    nq = int(params[I_NQ])
    nodes = params[I_NODES:I_NODES + nq]
    weights = params[I_NODES + nq:I_NODES + 2 * nq]
    _kernels(y[1], y[5], y[6], params[I_K], params[I_GAM], params[I_P], params[I_SAT], nodes, weights, kin)


@njit(cache=True)
def overlap_rhs(t, y, tgrid, curves, params, out):
    """Gradient-flow RHS in the :func:`flowphase.numerics.rk.solve` signature (autonomous in the ODE time)."""
    kin = np.empty(N_KERNELS)
    kernels_from_params(y, params, kin)
    _gen.flow_rhs(y, kin, params[:N_GENERATED], out)


@njit(cache=True)
def gd_iterate(y0, params, step, n_steps, record_every):
    """``n_steps`` steps of the exact gradient-descent map (step in ODE-time units), every ``record_every``-th kept."""
    nrec = n_steps // record_every + 1
    Y = np.empty((nrec, y0.shape[0]))
    y = y0.copy()
    ynew = np.empty_like(y)
    kin = np.empty(N_KERNELS)
    Y[0] = y
    k = 1
    for it in range(1, n_steps + 1):
        kernels_from_params(y, params, kin)
        _gen.gd_map(y, kin, params[:N_GENERATED], step, ynew)
        for i in range(y.shape[0]):
            y[i] = ynew[i]
        if it % record_every == 0:
            Y[k] = y
            k += 1
    return Y


def at_state(fn, params: np.ndarray, y) -> float:
    """A generated scalar ``fn(y, kin, par)`` (loss, E[g_z^2]) at state ``y`` (flat parameter vector)."""
    kin = np.empty(N_KERNELS)
    kernels_from_params(y, params, kin)
    return float(fn(y, kin, params[:N_GENERATED]))


def rhs_norm(params: np.ndarray, y) -> float:
    """``max |dy/d(ode_t)|`` at ``y`` (flat parameter vector)."""
    out = np.empty(y.shape[0])
    overlap_rhs(0.0, y, np.zeros(1), np.zeros((1, 1)), params, out)
    return float(np.max(np.abs(out)))


def gaussian_kernels(b: float, omega: float, r: float, k: float, p: float, *, gam: float = 1.0,
                     n_quad: int = 151) -> np.ndarray:
    """The kernel values (module docstring) with ``n_quad`` trapezoid nodes."""
    if int(n_quad) < 3:
        raise ValueError(f"n_quad must be an integer >= 3, got {n_quad!r}")
    nodes, weights = trapezoid_rule(int(n_quad), DYNAMICS_HALF_WIDTH, normalized=True)
    kin = np.empty(N_KERNELS)
    _kernels(float(b), float(omega), float(r), float(k), float(gam), float(p), 0.0, nodes, weights, kin)
    return kin
