"""Counter-based random numbers of the simulator (numba kernels and NumPy/CuPy twins).

Every random number of a simulation is a pure function of integers: the noise row
``(seed, step, time index, row)`` is hashed to a 64-bit key (:func:`row_key`, a splitmix64 chain),
and number ``idx`` of that row is a function of ``(key, idx)`` only.  A numba kernel can therefore draw
a number inside its loops, and the array implementation (:func:`row_keys`, :func:`noise_rows`, ...)
reproduces exactly the same numbers.  Three generators:

* :func:`normal_pair` -- Box--Muller on the pair ``idx // 2`` (the dense sampler's rows);
* :func:`zig_normal` -- Marsaglia & Tsang's ziggurat, one hash per number (the projected sampler), and
  :func:`zig_fill`, which writes numbers ``0..m-1`` of a stream, the same numbers, in vectorised passes;
* :func:`gamma_counter` / :func:`chi2_counter` -- Marsaglia--Tsang Gamma variates (its chi-square).

Ziggurat: 256 layers of equal area ``v`` under ``f(x) = exp(-x^2/2)`` (``r = 3.6541528853610088``,
``v = 0.00492867323399``); draw a layer ``i`` and ``x = U x_i``; accept at once when ``x < x_{i+1}``
(about 99 % of the draws), else test the wedge or, in the base layer, draw from the tail ``x > r``
(Marsaglia's exponential method); a rejected draw restarts with fresh bits.  Number ``idx`` of stream
``key`` starts from the 64 bits ``mix64(key + (idx + 1) GOLD')`` (layer: bits 0-7, sign: bit 8,
U: bits 11-63).  The methods are exact.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["mix64", "row_key", "normal_pair", "row_keys", "noise_rows", "ZIG_X", "ZIG_F", "zig_normal",
           "zig_normals_array", "zig_fill", "gamma_counter", "chi2_counter", "gamma_counter_array", "u64", "mix64_array"]

_GOLD_INT = 0x9E3779B97F4A7C15
_M1_INT = 0xBF58476D1CE4E5B9
_M2_INT = 0x94D049BB133111EB
_GOLD = np.uint64(_GOLD_INT)
_M1 = np.uint64(_M1_INT)
_M2 = np.uint64(_M2_INT)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_S8 = np.uint64(8)
_S11 = np.uint64(11)
_LOW32 = np.uint64(0xFFFFFFFF)
_MASK8 = np.uint64(0xFF)
_MASK9 = np.uint64(0x1FF)
_ONE = np.uint64(1)
_INV32 = 1.0 / 4294967296.0
_INV53 = 1.0 / 9007199254740992.0
_TWO_PI = 2.0 * math.pi


# ============================================================================ numba: hash, keys, Box--Muller
@njit(cache=True)
def mix64(z):
    """splitmix64 finaliser (a bijective 64-bit hash)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def row_key(seed, step, tix, row):
    """64-bit key of one noise row: hash chain of (seed, step, time index, row)."""
    h = mix64(np.uint64(seed) + _GOLD)
    h = mix64(h ^ (np.uint64(step) * _GOLD + np.uint64(1)))
    h = mix64(h ^ (np.uint64(tix) * _M1 + np.uint64(2)))
    h = mix64(h ^ (np.uint64(row) * _M2 + np.uint64(3)))
    return h


@njit(cache=True)
def normal_pair(key, pair):
    """Two independent N(0,1) numbers for coordinates ``2*pair, 2*pair+1`` (Box--Muller)."""
    z = mix64(np.uint64(key) + (np.uint64(pair) + np.uint64(1)) * _GOLD)
    u1 = (float(z >> _S32) + 0.5) * _INV32
    u2 = (float(z & _LOW32) + 0.5) * _INV32
    rad = math.sqrt(-2.0 * math.log(u1))
    ang = _TWO_PI * u2
    return rad * math.cos(ang), rad * math.sin(ang)


# ============================================================================ array twins: hash, keys, rows
def u64(xp, v):
    """``v`` as an unsigned 64-bit array of module ``xp``."""
    return xp.asarray(v, dtype=xp.uint64)


def mix64_array(xp, z):
    """:func:`mix64` elementwise."""
    z = (z ^ (z >> u64(xp, 30))) * u64(xp, _M1_INT)
    z = (z ^ (z >> u64(xp, 27))) * u64(xp, _M2_INT)
    return z ^ (z >> u64(xp, 31))


def row_keys(xp, seeds, step, tix, rows):
    """Keys of noise rows, broadcasting ``seeds``/``tix`` (shape (J,)) against ``rows`` (R,): (J, R).

    Same hash chain as :func:`row_key`.
    """
    seeds = u64(xp, seeds)[:, None]
    tix = u64(xp, tix)[:, None]
    rows = u64(xp, rows)[None, :]
    h = mix64_array(xp, seeds + u64(xp, _GOLD_INT))
    h = mix64_array(xp, h ^ (u64(xp, step) * u64(xp, _GOLD_INT) + u64(xp, 1)))
    h = mix64_array(xp, h ^ (tix * u64(xp, _M1_INT) + u64(xp, 2)))
    h = mix64_array(xp, h ^ (rows * u64(xp, _M2_INT) + u64(xp, 3)))
    return h


def noise_rows(xp, seeds, step, tix, rows, d, *, dtype=np.float64):
    """Counter-based N(0,1) noise, shape (J, R, d): splitmix64 + Box--Muller per coordinate pair."""
    keys = row_keys(xp, seeds, step, tix, rows)
    npair = (int(d) + 1) // 2
    pairs = (xp.arange(npair, dtype=xp.uint64) + u64(xp, 1)) * u64(xp, _GOLD_INT)
    z = mix64_array(xp, keys[:, :, None] + pairs[None, None, :])
    u1 = ((z >> u64(xp, 32)).astype(xp.float64) + 0.5) * _INV32
    u2 = ((z & u64(xp, 0xFFFFFFFF)).astype(xp.float64) + 0.5) * _INV32
    rad = xp.sqrt(-2.0 * xp.log(u1))
    ang = _TWO_PI * u2
    out = xp.empty(keys.shape + (2 * npair,), dtype=xp.float64)
    out[..., 0::2] = rad * xp.cos(ang)
    out[..., 1::2] = rad * xp.sin(ang)
    return out[..., : int(d)].astype(dtype, copy=False)


# ============================================================================ ziggurat
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


@njit(cache=True)
def zig_fill(out, key, zx, zf, hs, us, bad):
    """``out[k] = zig_normal(key, k, zx, zf)`` for ``k < out.shape[0]``, bit for bit, in three passes.

    The first pass hashes all counters and keeps the layer-and-sign bits and the uniform ``U`` (a loop
    without branches or table reads, which LLVM vectorises), the second forms the candidate ``x = U x_i``
    and lists the ~1 % of draws that are not accepted at once (branch-free: the index is written, the count
    advances by the test), the third redraws those with :func:`zig_normal`.  Scratch arrays at least as
    long as ``out``: ``hs`` (uint64), ``us`` (float64), ``bad`` (int64).  Speed against a loop of
    :func:`zig_normal`: ``benchmarks/bench_normals.py``.
    """
    m = out.shape[0]
    k0 = np.uint64(key)
    for k in range(m):
        h = mix64(k0 + (np.uint64(k) + _ONE) * _GOLDZ)
        hs[k] = h & _MASK9
        us[k] = _u53(h)
    nbad = 0
    for k in range(m):
        h = hs[k]
        i = h & _MASK8
        x = us[k] * zx[i]
        out[k] = (1.0 - 2.0 * float(h >> _S8)) * x
        bad[nbad] = k
        nbad += x >= zx[i + _ONE]
    for q in range(nbad):
        k = bad[q]
        out[k] = zig_normal(key, k, zx, zf)


def zig_normals_array(xp, keys, count, dtype=np.float64):
    """Numbers ``0..count-1`` of the streams ``keys`` (any shape): array of shape ``keys.shape + (count,)``.

    The same numbers as :func:`zig_normal` (vectorised; rejected draws are redrawn on the subset).
    """
    zx = xp.asarray(ZIG_X)
    zf = xp.asarray(ZIG_F)
    keys = u64(xp, keys)
    shape = tuple(keys.shape) + (int(count),)
    idx = (xp.arange(int(count), dtype=xp.uint64) + u64(xp, 1)) * u64(xp, int(_GOLDZ))
    h = mix64_array(xp, keys[..., None] + idx).reshape(-1)
    out = xp.zeros(h.shape)
    pos = xp.arange(h.size)

    def u53(v):
        return ((v >> u64(xp, 11)).astype(xp.float64) + 0.5) * _INV53

    for _ in range(10000):
        i = (h & u64(xp, 0xFF)).astype(xp.int64)
        sign = xp.where(((h >> u64(xp, 8)) & u64(xp, 1)) == u64(xp, 1), -1.0, 1.0)
        x = u53(h) * zx[i]
        acc = x < zx[i + 1]
        out[pos[acc]] = (sign * x)[acc]
        rest = ~acc
        if not bool(rest.any()):
            break
        h, i, x, sign, pos = h[rest], i[rest], x[rest], sign[rest], pos[rest]
        base = i == 0
        e1 = -xp.log(u53(mix64_array(xp, h ^ u64(xp, int(_SALT_U1))))) / zx[1]
        e2 = -xp.log(u53(mix64_array(xp, h ^ u64(xp, int(_SALT_U2)))))
        y = zf[i] + u53(mix64_array(xp, h ^ u64(xp, int(_SALT_U1)))) * (zf[i + 1] - zf[i])
        tail_ok = base & (2.0 * e2 > e1 * e1)
        wedge_ok = (~base) & (y < xp.exp(-0.5 * x * x))
        ok = tail_ok | wedge_ok
        out[pos[ok]] = (sign * xp.where(tail_ok, zx[1] + e1, x))[ok]
        keep = ~ok
        if not bool(keep.any()):
            break
        h, pos = mix64_array(xp, h[keep] ^ u64(xp, int(_SALT_RETRY))), pos[keep]
    return out.reshape(shape).astype(dtype, copy=False)


# ============================================================================ Gamma / chi-square
_GAMMA_SALT_INT = 0x5DEECE66D
_GAMMA_SALT = np.uint64(_GAMMA_SALT_INT)


@njit(cache=True)
def _uniform(key, idx):
    z = mix64((np.uint64(key) ^ _GAMMA_SALT) + (np.uint64(idx) + np.uint64(1)) * np.uint64(0x94D049BB133111EB))
    return (float(z >> _S11) + 0.5) * _INV53


@njit(cache=True)
def gamma_counter(key, shape):
    """Gamma(shape, 1) from the counter stream ``key`` (Marsaglia--Tsang; boost U^(1/k) for k < 1)."""
    if shape <= 0.0:
        return 0.0
    k = shape if shape >= 1.0 else shape + 1.0
    dd = k - 1.0 / 3.0
    cc = 1.0 / math.sqrt(9.0 * dd)
    out = 0.0
    for att in range(1000):
        x, _ = normal_pair(key, att)
        v = 1.0 + cc * x
        if v <= 0.0:
            continue
        v = v * v * v
        lu = math.log(_uniform(key, att))
        if lu < 0.5 * x * x + dd - dd * v + dd * math.log(v):
            out = dd * v
            break
    if shape < 1.0:
        out *= _uniform(key, 1000) ** (1.0 / shape)
    return out


@njit(cache=True)
def chi2_counter(key, dof):
    """chi-square with ``dof`` degrees of freedom, ``2 Gamma(dof / 2)``."""
    return 2.0 * gamma_counter(key, 0.5 * dof)


def _normal_first(xp, keys, att):
    z = mix64_array(xp, keys + u64(xp, (att + 1) * _GOLD_INT % (1 << 64)))
    u1 = ((z >> u64(xp, 32)).astype(xp.float64) + 0.5) * _INV32
    u2 = ((z & u64(xp, 0xFFFFFFFF)).astype(xp.float64) + 0.5) * _INV32
    return xp.sqrt(-2.0 * xp.log(u1)) * xp.cos(_TWO_PI * u2)


def _uniform_array(xp, keys, idx):
    z = mix64_array(xp, (keys ^ u64(xp, _GAMMA_SALT_INT)) + u64(xp, (idx + 1) * _M2_INT % (1 << 64)))
    return ((z >> u64(xp, 11)).astype(xp.float64) + 0.5) * _INV53


def gamma_counter_array(xp, keys, shape):
    """Gamma(shape, 1) per key, the numbers of :func:`gamma_counter`."""
    keys = u64(xp, keys)
    shape = xp.asarray(shape, dtype=xp.float64) * xp.ones(keys.shape)
    k = xp.where(shape >= 1.0, shape, shape + 1.0)
    dd = k - 1.0 / 3.0
    cc = 1.0 / xp.sqrt(9.0 * xp.maximum(dd, 1e-300))
    out = xp.zeros(keys.shape)
    done = shape <= 0.0
    for att in range(1000):
        if bool(done.all()):
            break
        x = _normal_first(xp, keys, att)
        v = 1.0 + cc * x
        ok = v > 0.0
        v3 = xp.where(ok, v, 1.0) ** 3
        lu = xp.log(_uniform_array(xp, keys, att))
        acc = (~done) & ok & (lu < 0.5 * x * x + dd - dd * v3 + dd * xp.log(v3))
        out = xp.where(acc, dd * v3, out)
        done = done | acc
    small = (shape > 0.0) & (shape < 1.0)
    if bool(small.any()):
        out = xp.where(small, out * _uniform_array(xp, keys, 1000) ** (1.0 / xp.where(small, shape, 1.0)), out)
    return out
