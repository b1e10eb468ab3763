"""Counter-based standard normal numbers by the ziggurat method (numba and array-module twins).

Marsaglia & Tsang (2000), 256 layers of equal area ``v`` under ``f(x) = exp(-x^2/2)``
(``r = 3.6541528853610088``, ``v = 0.00492867323399``): draw a layer ``i`` and ``x = U x_i``; accept at
once when ``x < x_{i+1}`` (about 99 % of the draws), else test the wedge (``f(x_{i+1}) + U'(f(x_i) -
f(x_{i+1})) < f(x)``) or, in the base layer, draw from the tail ``x > r`` (Marsaglia's exponential
method); a rejected draw restarts with fresh bits.  The method is exact.  Number ``idx`` of the
stream ``key`` starts from the 64 bits ``mix64(key + (idx + 1) GOLD')`` (layer: bits 0-7, sign: bit
8, U: bits 11-63), so it is a pure function of ``(key, idx)`` -- the numba kernel draws it inside its
loops and the NumPy/CuPy code reproduces the same numbers.  One 64-bit hash per number instead of
Box--Muller's ``log``, ``sqrt``, ``cos``, ``sin`` per pair: several times faster.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._sim_numba import mix64

__all__ = ["ZIG_X", "ZIG_F", "zig_normal", "zig_normals_array"]

_R = 3.6541528853610088
_V = 0.00492867323399


def _tables():
    x = np.empty(257)
    x[0] = _V / math.exp(-0.5 * _R * _R)
    x[1] = _R
    for i in range(1, 256):
        fx = math.exp(-0.5 * x[i] * x[i]) + _V / x[i]
        x[i + 1] = math.sqrt(-2.0 * math.log(fx)) if fx < 1.0 else 0.0
    x[256] = 0.0
    return x, np.exp(-0.5 * x * x)


#: layer edges x_0 (base-strip width) > x_1 = r > ... > x_256 = 0, and f(x_i)
ZIG_X, ZIG_F = _tables()
_GOLDZ = np.uint64(0xD1B54A32D192ED03)
_SALT_RETRY = np.uint64(0x8CB92BA72F3D8DD7)
_SALT_U1 = np.uint64(0xA0761D6478BD642F)
_SALT_U2 = np.uint64(0xE7037ED1A0B428DB)
_MASK8 = np.uint64(0xFF)
_ONE = np.uint64(1)
_S8 = np.uint64(8)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


@njit(cache=True)
def _u53(h):
    return (float(h >> _S11) + 0.5) * _INV53


@njit(cache=True)
def zig_normal(key, idx, zx, zf):
    """N(0, 1) number ``idx`` of the counter stream ``key`` (``zx, zf = ZIG_X, ZIG_F``)."""
    h = mix64(np.uint64(key) + (np.uint64(idx) + _ONE) * _GOLDZ)
    for _ in range(10000):
        i = int(h & _MASK8)
        neg = ((h >> _S8) & _ONE) == _ONE
        x = _u53(h) * zx[i]
        if x < zx[i + 1]:
            return -x if neg else x
        if i == 0:
            # tail x > r: x = r + e1 / r with e1, e2 exponential, accepted when 2 e2 > (e1 / r)^2
            e1 = -math.log(_u53(mix64(h ^ _SALT_U1))) / zx[1]
            e2 = -math.log(_u53(mix64(h ^ _SALT_U2)))
            if 2.0 * e2 > e1 * e1:
                x = zx[1] + e1
                return -x if neg else x
        else:
            y = zf[i] + _u53(mix64(h ^ _SALT_U1)) * (zf[i + 1] - zf[i])
            if y < math.exp(-0.5 * x * x):
                return -x if neg else x
        h = mix64(h ^ _SALT_RETRY)
    return 0.0


def zig_normals_array(xp, keys, count, dtype=np.float64):
    """Numbers ``0..count-1`` of the streams ``keys`` (any shape): array of shape ``keys.shape + (count,)``.

    The same numbers as :func:`zig_normal` (vectorised; rejected draws are redrawn on the subset).
    """
    from ._sim_array import _mix64, _u64

    zx = xp.asarray(ZIG_X)
    zf = xp.asarray(ZIG_F)
    keys = _u64(xp, keys)
    shape = tuple(keys.shape) + (int(count),)
    idx = (xp.arange(int(count), dtype=xp.uint64) + _u64(xp, 1)) * _u64(xp, int(_GOLDZ))
    h = _mix64(xp, keys[..., None] + idx).reshape(-1)
    out = xp.zeros(h.shape)
    pos = xp.arange(h.size)

    def u53(v):
        return ((v >> _u64(xp, 11)).astype(xp.float64) + 0.5) * _INV53

    for _ in range(10000):
        i = (h & _u64(xp, 0xFF)).astype(xp.int64)
        sign = xp.where(((h >> _u64(xp, 8)) & _u64(xp, 1)) == _u64(xp, 1), -1.0, 1.0)
        x = u53(h) * zx[i]
        acc = x < zx[i + 1]
        out[pos[acc]] = (sign * x)[acc]
        rest = ~acc
        if not bool(rest.any()):
            break
        h, i, x, sign, pos = h[rest], i[rest], x[rest], sign[rest], pos[rest]
        base = i == 0
        e1 = -xp.log(u53(_mix64(xp, h ^ _u64(xp, int(_SALT_U1))))) / zx[1]
        e2 = -xp.log(u53(_mix64(xp, h ^ _u64(xp, int(_SALT_U2)))))
        y = zf[i] + u53(_mix64(xp, h ^ _u64(xp, int(_SALT_U1)))) * (zf[i + 1] - zf[i])
        tail_ok = base & (2.0 * e2 > e1 * e1)
        wedge_ok = (~base) & (y < xp.exp(-0.5 * x * x))
        ok = tail_ok | wedge_ok
        out[pos[ok]] = (sign * xp.where(tail_ok, zx[1] + e1, x))[ok]
        keep = ~ok
        if not bool(keep.any()):
            break
        h, pos = _mix64(xp, h[keep] ^ _u64(xp, int(_SALT_RETRY))), pos[keep]
    return out.reshape(shape).astype(dtype, copy=False)
