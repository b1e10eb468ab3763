"""Quadrature over the Gaussian start of the 3-D flow (EXACT_FINITE_N §5): separatrix and graded panels.

Used by :func:`flowphase.numerics.exact.flow.generated_flow`.  ``flow(y0, e_plus0, e_minus0)`` returns the final
``(y, e_+, e_-)`` of batches of samples.
"""
from __future__ import annotations

import math

import numpy as np

from flowphase.numerics.results import ConvergenceError

__all__ = ["separatrix", "inner_rule", "PANELS"]

#: panel breakpoints (distance from the separatrix) of the inner Gauss-Legendre rule
PANELS = (0.0, 0.002, 0.02, 0.2, 1.0, 3.0, math.inf)


def separatrix(flow, ep0, em0, L, n_probe, n_bisect, *, tol=1e-13):
    """Root ``y0*`` of ``y0 -> y_final`` per outer node (``-inf``/``+inf``: every sample in the +/- mode)."""
    K = ep0.size
    probes = np.linspace(-L, L, int(n_probe))
    yT = flow(np.tile(probes, K), np.repeat(ep0, probes.size), np.repeat(em0, probes.size))[0].reshape(K, -1)
    scale = np.max(np.abs(yT), axis=1, keepdims=True) + 1.0
    if np.any(np.diff(yT, axis=1) < -1e-12 * scale):
        raise ConvergenceError("the map y0 -> y_final is not monotone on the probes; the separatrix "
                               "threshold does not apply (refine the time grid)")
    pos = yT > 0.0
    star = np.empty(K)
    star[pos.all(axis=1)] = -np.inf
    star[~pos.any(axis=1)] = np.inf
    mixed = np.flatnonzero(pos.any(axis=1) & ~pos.all(axis=1))
    width = 0.0
    if mixed.size and flow.method == "continuous" and not flow.fld.coupled:
        star[mixed] = flow.backward_zero()      # 1-D flow: integrate y_final = 0 back to t_0
    elif mixed.size:
        j = np.argmax(pos[mixed], axis=1)
        lo, hi = probes[j - 1].copy(), probes[j].copy()
        flo, fhi = yT[mixed, j - 1].copy(), yT[mixed, j].copy()
        e_p, e_m = ep0[mixed], em0[mixed]
        for _ in range(int(n_bisect)):          # bisection through the ~1/sqrt(d) boundary layer
            mid = 0.5 * (lo + hi)
            f = flow(mid, e_p, e_m)[0]
            up = f > 0.0
            hi, fhi = np.where(up, mid, hi), np.where(up, f, fhi)
            lo, flo = np.where(up, lo, mid), np.where(up, flo, f)
        side = np.zeros(mixed.size)             # +1: hi was replaced last, -1: lo was
        for _ in range(60):                     # Illinois regula falsi down to the bracket tolerance
            if np.max(hi - lo) <= tol:
                break
            x = hi - fhi * (hi - lo) / (fhi - flo)
            bad = ~((x > lo) & (x < hi))
            x[bad] = 0.5 * (lo[bad] + hi[bad])
            f = flow(x, e_p, e_m)[0]
            up = f > 0.0
            flo = np.where(up & (side == 1.0), 0.5 * flo, flo)     # an endpoint kept twice: halve its value
            fhi = np.where(~up & (side == -1.0), 0.5 * fhi, fhi)
            hi, fhi = np.where(up, x, hi), np.where(up, f, fhi)
            lo, flo = np.where(up, lo, x), np.where(up, flo, f)
            side = np.where(up, 1.0, -1.0)
        star[mixed] = lo - flo * (hi - lo) / (fhi - flo)
        width = float(np.max(hi - lo))
    return star, width


def inner_rule(star, L, n_gl):
    """Graded Gauss-Legendre panels on [-L, L] split at each ``star`` (nodes, weights x N(0,1) pdf)."""
    x, w = np.polynomial.legendre.leggauss(int(n_gl))
    cuts = np.array(PANELS)
    nodes, weights = [], []
    for s in star:
        c = np.unique(np.clip(np.concatenate([s - cuts[::-1], s + cuts[1:]]), -L, L)) if math.isfinite(s) \
            else np.array([-L, L])
        a, b = c[:-1, None], c[1:, None]
        xs = (0.5 * (a + b) + 0.5 * (b - a) * x[None, :]).ravel()
        ws = (0.5 * (b - a) * w[None, :]).ravel() * np.exp(-0.5 * xs * xs) / math.sqrt(2.0 * math.pi)
        nodes.append(xs)
        weights.append(ws)
    size = max(v.size for v in nodes)
    X = np.zeros((star.size, size))
    Wt = np.zeros((star.size, size))
    for k, (xs, ws) in enumerate(zip(nodes, weights)):
        X[k, :xs.size], Wt[k, :ws.size] = xs, ws
    return X, Wt
