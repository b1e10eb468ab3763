"""Gauss-Hermite expectations of the phase-1 activation (PAPER §3.1-§3.2).

For ``s ~ (p, 1 - p)`` (values +1, -1) and ``g ~ N(0, 1)``, with ``y = g + kappa t s`` and
``phi = tanh(b + omega y)``:

* ``M_s(omega, b) = E[s phi]``, ``M_2(omega, b) = E[phi^2]`` (PAPER §1, table of symbols);
* first derivatives ``d/domega = E[y d/dz]``, ``d/db = E[d/dz]`` and the second derivatives,
  from ``tanh' = sech^2`` and ``tanh'' = -2 tanh sech^2``.

Two node rules for ``E[f(g)]`` share one ``(nodes, weights)`` interface, so every kernel takes
either:

* :func:`gauss_hermite` - the probabilists' Gauss-Hermite rule
  (``numpy.polynomial.hermite_e.hermegauss``) with weights divided by ``sqrt(2 pi)``;
* :func:`trapezoid_rule` - the trapezoidal rule for the Gaussian-weighted integrand on
  ``[-L, L]``, which converges geometrically in the width ``pi/(2 omega)`` of the strip where
  ``tanh(b + omega y)`` is analytic.

Measured against 25-digit mpmath quadrature (max error over M_s, M_2, dM_s):

==============  ========  ========  ========
rule            omega=1.4 omega=2   omega=4
==============  ========  ========  ========
Gauss-Hermite 80   6e-8      2e-6      4e-4
trapezoid 121      6e-16     1e-13     3e-7
trapezoid 161      2e-16     7e-16     4e-9
==============  ========  ========  ========

Gauss-Hermite converges slowly here because tanh has poles at distance ``pi/(2 omega)`` from the
real axis (it reaches 1e-10 only for omega <~ 0.8 at degree 80); the solvers therefore default to
:func:`default_rule` = trapezoid with 121 nodes on [-9.5, 9.5] (Gaussian tail mass beyond 9.5:
2e-21).
"""
from __future__ import annotations

import functools
import numbers
import math

import numpy as np
from numba import njit

__all__ = ["gauss_hermite", "trapezoid_rule", "default_rule", "gaussian_moments", "gaussian_moments_hessian",
           "DEFAULT_DEGREE", "DEFAULT_TRAPEZOID_NODES", "MAX_DEGREE", "MAX_TRAPEZOID_NODES"]

#: default Gauss-Hermite degree
DEFAULT_DEGREE = 80
#: default number of trapezoid nodes (the solvers' rule)
DEFAULT_TRAPEZOID_NODES = 121


@functools.lru_cache(maxsize=32)
def _gh(degree: int, normalized: bool):
    x, w = np.polynomial.hermite_e.hermegauss(degree)
    w = w / w.sum() if normalized else w / math.sqrt(2.0 * math.pi)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def gauss_hermite(degree: int = DEFAULT_DEGREE, normalized: bool = False):
    """Nodes and weights of the ``degree``-point rule for ``E[f(g)]``, ``g ~ N(0, 1)``.

    The one Gauss-Hermite rule of the package.  ``normalized``: weights divided by their sum instead of by
    sqrt(2 pi) (the two differ by rounding; the MSE and multimode expectations use this form).

    Returns
    -------
    nodes, weights : float64 arrays (read-only), ``sum(weights) = 1``, exact for polynomials of
    degree ``<= 2 degree - 1``.
    """
    if isinstance(degree, (bool, np.bool_)) or not isinstance(degree, numbers.Integral) \
            or not 1 <= int(degree) <= MAX_DEGREE:
        raise ValueError(f"degree must be an integer in [1, {MAX_DEGREE}], got {degree!r}")
    return _gh(int(degree), bool(normalized))


@functools.lru_cache(maxsize=32)
def _trap(n_nodes: int, half_width: float, normalized: bool):
    x = np.linspace(-half_width, half_width, n_nodes)
    w = (x[1] - x[0]) * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    if normalized:
        w /= w.sum()
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def trapezoid_rule(n_nodes: int = DEFAULT_TRAPEZOID_NODES, half_width: float = 9.5, normalized: bool = False):
    """Trapezoidal nodes and weights for ``E[f(g)]``, ``g ~ N(0,1)``, on ``[-half_width, half_width]``.

    ``weights_i = h exp(-x_i^2/2)/sqrt(2 pi)`` with ``h`` the spacing (the end-point halving is
    immaterial: the weight there is below 1e-19); with ``normalized`` the weights are divided by their sum
    (so that ``E[1] = 1`` exactly: the overlap dynamics and the generated distribution use this form).
    The one Gaussian trapezoid rule of the package (read-only cached arrays).
    """
    if isinstance(n_nodes, (bool, np.bool_)) or not isinstance(n_nodes, numbers.Integral) \
            or not 3 <= int(n_nodes) <= MAX_TRAPEZOID_NODES:
        raise ValueError(f"n_nodes must be an integer in [3, {MAX_TRAPEZOID_NODES:.0e}], got {n_nodes!r}")
    if not (isinstance(half_width, (int, float)) and 0.0 < float(half_width) < math.inf):
        raise ValueError(f"half_width must lie in (0, inf), got {half_width!r}")
    return _trap(int(n_nodes), float(half_width), bool(normalized))


def default_rule():
    """The rule the solvers use: :func:`trapezoid_rule` with its defaults."""
    return trapezoid_rule()


#: largest Gauss-Hermite degree / trapezoid node count (beyond, the rule costs minutes and gains nothing)
MAX_DEGREE = 2000
MAX_TRAPEZOID_NODES = 10 ** 7


def _moment_args(omega, b, kt, p, nodes, weights):
    """Validated arguments of the public moment kernels: finite reals, ``p`` in (0, 1), a finite float64 rule."""
    from flowphase.theory.checks import as_real, open_unit

    vals = [as_real(k, v) for k, v in (("omega", omega), ("b", b), ("kt", kt))]
    p = open_unit("p", p)
    rule = []
    for name, a in (("nodes", nodes), ("weights", weights)):
        arr = np.asarray(a)
        if arr.dtype.kind not in "fiu" or arr.ndim != 1 or arr.size == 0:
            raise TypeError(f"{name} must be a non-empty 1-D real array (from gauss_hermite), got "
                            f"{type(a).__name__} of dtype {arr.dtype} and shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
        rule.append(np.ascontiguousarray(arr, dtype=np.float64))
    if rule[0].shape != rule[1].shape:
        raise ValueError(f"nodes and weights must have the same length, got {rule[0].size} and {rule[1].size}")
    return (*vals, p, *rule)


def gaussian_moments(omega, b, kt, p, nodes, weights):
    """``(M_s, M_2, dM_s/domega, dM_s/db, dM_2/domega, dM_2/db)`` (PAPER §3.2); arguments validated
    (``ValueError`` / ``TypeError`` naming the argument), then :func:`_gaussian_moments` (numba).

    Parameters
    ----------
    omega, b : float
        Encoder overlap and bias (finite).
    kt : float
        Signal strength ``kappa t`` (finite).
    p : float
        Weight of the ``s = +1`` mode, in (0, 1).
    nodes, weights : 1-D real arrays of one length
        From :func:`gauss_hermite`.
    """
    return _gaussian_moments(*_moment_args(omega, b, kt, p, nodes, weights))


def gaussian_moments_hessian(omega, b, kt, p, nodes, weights):
    """As :func:`gaussian_moments` followed by the second derivatives (arguments validated, then
    :func:`_gaussian_moments_hessian`)."""
    return _gaussian_moments_hessian(*_moment_args(omega, b, kt, p, nodes, weights))


@njit(cache=True)
def _gaussian_moments(omega, b, kt, p, nodes, weights):
    """``(M_s, M_2, dM_s/domega, dM_s/db, dM_2/domega, dM_2/db)`` (PAPER §3.2), unchecked numba kernel.

    Parameters
    ----------
    omega, b : float
        Encoder overlap and bias.
    kt : float
        Signal strength ``kappa t``.
    p : float
        Weight of the ``s = +1`` mode.
    nodes, weights : float64 arrays
        From :func:`gauss_hermite`.
    """
    Ms = 0.0
    M2 = 0.0
    Ms_w = 0.0
    Ms_b = 0.0
    M2_w = 0.0
    M2_b = 0.0
    for k in range(2):
        sl = 1.0 if k == 0 else -1.0
        ps = p if k == 0 else 1.0 - p
        for i in range(nodes.shape[0]):
            y = nodes[i] + kt * sl
            th = math.tanh(b + omega * y)
            se = 1.0 - th * th
            w = ps * weights[i]
            Ms += w * sl * th
            M2 += w * th * th
            Ms_b += w * sl * se
            Ms_w += w * sl * se * y
            M2_b += w * 2.0 * th * se
            M2_w += w * 2.0 * th * se * y
    return Ms, M2, Ms_w, Ms_b, M2_w, M2_b


@njit(cache=True)
def _gaussian_moments_hessian(omega, b, kt, p, nodes, weights):
    """As :func:`gaussian_moments` followed by the second derivatives.

    Returns ``(M_s, M_2, Ms_w, Ms_b, M2_w, M2_b, Ms_ww, Ms_wb, Ms_bb, M2_ww, M2_wb, M2_bb)``
    using ``d^2 tanh/dz^2 = -2 tanh sech^2`` and ``d^2 tanh^2/dz^2 = 2 sech^2 (1 - 3 tanh^2)``.
    """
    Ms = 0.0
    M2 = 0.0
    Ms_w = 0.0
    Ms_b = 0.0
    M2_w = 0.0
    M2_b = 0.0
    Ms_ww = 0.0
    Ms_wb = 0.0
    Ms_bb = 0.0
    M2_ww = 0.0
    M2_wb = 0.0
    M2_bb = 0.0
    for k in range(2):
        sl = 1.0 if k == 0 else -1.0
        ps = p if k == 0 else 1.0 - p
        for i in range(nodes.shape[0]):
            y = nodes[i] + kt * sl
            th = math.tanh(b + omega * y)
            se = 1.0 - th * th
            w = ps * weights[i]
            d1s = sl * se
            d2s = -2.0 * sl * th * se
            d12 = 2.0 * th * se
            d22 = 2.0 * se * (1.0 - 3.0 * th * th)
            Ms += w * sl * th
            M2 += w * th * th
            Ms_b += w * d1s
            Ms_w += w * d1s * y
            M2_b += w * d12
            M2_w += w * d12 * y
            Ms_bb += w * d2s
            Ms_wb += w * d2s * y
            Ms_ww += w * d2s * y * y
            M2_bb += w * d22
            M2_wb += w * d22 * y
            M2_ww += w * d22 * y * y
    return Ms, M2, Ms_w, Ms_b, M2_w, M2_b, Ms_ww, Ms_wb, Ms_bb, M2_ww, M2_wb, M2_bb
