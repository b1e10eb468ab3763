"""The one module of parameter checks, for every layer.

Every check raises ``ValueError`` naming the parameter and its allowed range; nothing is truncated or
coerced silently (``2.7`` is not an integer, ``"no"`` is not a bool, a short array is not broadcast).

* scalar checks with the package's usual ranges: :func:`real` (any real, not NaN), :func:`open_unit` (p),
  :func:`positive` (sigma, kappa), :func:`nonnegative` (lam), :func:`in_closed` (t, tau), :func:`in_range`
  (bounded ranges, optionally also exactly 0), :func:`sample_size` (n >= 1 or inf), :func:`size` (integer d, n or
  inf), :func:`count` (positive integers); :func:`check_training` (n, sigma, lam_u of every learned-parameter
  solver);
* boundary checks of the solvers, the simulator and the samplers: :func:`as_real`, :func:`as_int`,
  :func:`as_bool`, :func:`as_int_list`, :func:`as_array`, and :func:`check_memory`, which estimates an
  allocation before it is made and refuses it with the number.

It lives in ``theory/`` (the lowest layer that needs it); ``numerics`` and ``validation`` import it from here.
"""
from __future__ import annotations

import math
import numbers
import os

import numpy as np

__all__ = ["DOCUMENTED_INF_KEYS", "real", "open_unit", "positive", "nonnegative", "in_closed", "in_range",
           "sample_size", "size", "count", "check_training", "SIZE_MAX",
           "as_int", "as_real", "as_bool", "as_array", "as_int_list", "check_memory", "memory_limit_bytes"]

#: largest finite d and n (inf is allowed where documented)
SIZE_MAX = 1e15


# ----------------------------------------------------------------------------- scalar ranges
def _to_float(name: str, value) -> float:
    """``float(value)`` for a real number (not bool, not a string), refusing what overflows a double."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large for a double: {value!r}") from None


def real(name: str, value) -> float:
    """A real number (not bool, not a string, not NaN; inf allowed)."""
    v = _to_float(name, value)
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    return v


def open_unit(name: str, value) -> float:
    """A real in the open interval (0, 1) (a mode weight p)."""
    v = real(name, value)
    if not 0.0 < v < 1.0:
        raise ValueError(f"{name} must lie in the open interval (0, 1), got {v!r}")
    return v


def positive(name: str, value, allow_inf: bool = False) -> float:
    """A real in (0, inf), or (0, inf] with ``allow_inf``."""
    v = real(name, value)
    if not v > 0.0 or (math.isinf(v) and not allow_inf):
        rng = "(0, inf]" if allow_inf else "(0, inf)"
        raise ValueError(f"{name} must lie in {rng}, got {v!r}")
    return v


def nonnegative(name: str, value) -> float:
    """A finite real >= 0."""
    v = real(name, value)
    if not (0.0 <= v < math.inf):
        raise ValueError(f"{name} must lie in [0, inf), got {v!r}")
    return v


def in_closed(name: str, value, lo: float, hi: float) -> float:
    """A real in ``[lo, hi]``."""
    v = real(name, value)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got {v!r}")
    return v


def in_range(name: str, value, lo: float, hi: float, zero_ok: bool = False) -> float:
    """A real in ``[lo, hi]`` (or exactly 0 with ``zero_ok``), the range printed to 13 digits."""
    v = real(name, value)
    if zero_ok and v == 0.0:
        return v
    if not lo <= v <= hi:
        rng = f"{{0}} or [{lo:.13g}, {hi:.13g}]" if zero_ok else f"[{lo:.13g}, {hi:.13g}]"
        raise ValueError(f"{name} must lie in {rng}, got {v!r}")
    return v


def sample_size(name: str, value) -> float:
    """A real >= 1 or inf (a number of samples in a closed form)."""
    v = real(name, value)
    if not v >= 1.0:
        raise ValueError(f"{name} must be >= 1 or inf, got {v!r}")
    return v


def size(name: str, value) -> float:
    """An integer in [1, 1e15] or inf (d, n of a problem)."""
    v = real(name, value)
    if math.isinf(v) and v > 0:
        return v
    if not 1.0 <= v <= SIZE_MAX or v != int(v):
        raise ValueError(f"{name} must be an integer in [1, {SIZE_MAX:.0e}] or inf, got {value!r}")
    return v


def count(name: str, value) -> int:
    """A positive integer (int / numpy integer; floats such as 2.7 are refused, not truncated)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= int(value) <= 2 ** 31:
        raise ValueError(f"{name} must be an integer in [1, 2**31], got {value!r}")
    return int(value)


def check_training(n, sigma, lam_u) -> None:
    """Ranges shared by every learned-parameter solver: n >= 1 (or inf), sigma in [1e-8, 1e8], lam_u 0 or in
    [1e-12, 1e12]."""
    n, sigma, lam_u = (as_real(k, v, allow_inf=True) for k, v in (("n", n), ("sigma", sigma), ("lam_u", lam_u)))
    if not n >= 1.0:
        raise ValueError(f"n must be >= 1 or inf, got {n!r}")
    if not 1e-8 <= sigma <= 1e8:
        raise ValueError(f"sigma must lie in [1e-08, 1e+08], got {sigma!r}")
    if not (lam_u == 0.0 or 1e-12 <= lam_u <= 1e12):
        raise ValueError(f"lam_u must lie in {{0}} or [1e-12, 1e+12], got {lam_u!r}")


# ----------------------------------------------------------------------------- boundary checks
#: result keys whose value may legitimately be infinite (written as the string "inf" in JSON): n = inf
#: (population limit), d = inf (asymptotic theory), b = +-inf (trivial phase-1 branch, omega = 0),
#: t_c / t_s = inf (no collapse / no speciation).  Any other non-finite result is an error.
DOCUMENTED_INF_KEYS = frozenset({"n", "d", "b", "t_c", "t_s"})



def as_int(name: str, value, lo: int = 0, hi: int = 2 ** 63 - 1) -> int:
    """An integer (``int`` or numpy integer, not bool, not float) in ``[lo, hi]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must lie in [{lo}, {hi:.3g}], got {v}" if hi > 1e6 else
                         f"{name} must lie in [{lo}, {hi}], got {v}")
    return v


def as_real(name: str, value, lo: float = -math.inf, *, hi: float = math.inf, lo_open: bool = False,
            allow_inf: bool = False) -> float:
    """A real number (not bool, not a string), finite unless ``allow_inf``, in ``[lo, hi]`` (``(lo, hi]``
    with ``lo_open``)."""
    v = _to_float(name, value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if v < lo or v > hi or (lo_open and v == lo):
        raise ValueError(f"{name} must lie in {'(' if lo_open else '['}{lo:g}, {hi:g}], got {v!r}")
    return v


def as_bool(name: str, value) -> bool:
    """``True``/``False`` only (``"no"`` or ``1`` are not booleans)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def as_int_list(name: str, values, lo: int = 0, hi: int = 2 ** 63 - 1, max_len: int = 10 ** 6) -> list:
    """A non-empty sequence of integers (each checked by :func:`as_int`)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise ValueError(f"{name} must be a sequence of integers, got {values!r}")
    if not 1 <= len(values) <= max_len:
        raise ValueError(f"{name} must hold between 1 and {max_len} integers, got {len(values)}")
    return [as_int(f"{name}[{i}]", v, lo, hi) for i, v in enumerate(values)]


def as_array(name: str, value, shape, *, dtype=np.float64, finite: bool = True) -> np.ndarray:
    """A C-contiguous array of ``dtype`` with exactly ``shape`` (``None`` entries: any size >= 1).

    Numeric input only (bool, object and string arrays are refused); with ``finite`` NaN/inf are refused.
    Returns the converted array (a copy only when needed).
    """
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != len(shape) or any(s is not None and a != s for a, s in zip(arr.shape, shape)) \
            or any(a < 1 for a in arr.shape):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds non-finite values")
    return arr


def memory_limit_bytes() -> int:
    """Largest single allocation flowphase attempts: ``FLOWPHASE_MAX_BYTES`` or half the physical memory."""
    env = os.environ.get("FLOWPHASE_MAX_BYTES")
    if env:
        try:
            return int(float(env))
        except ValueError:
            pass
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 8 * 2 ** 30
    return int(total // 2)


def check_memory(nbytes: float, what: str) -> None:
    """Refuse an allocation of ``nbytes`` above :func:`memory_limit_bytes`, saying how much it needs."""
    limit = memory_limit_bytes()
    if not nbytes <= limit:
        raise ValueError(f"{what} needs about {nbytes / 2 ** 30:.3g} GiB, more than the {limit / 2 ** 30:.3g} GiB "
                         "allowed (half the memory; set FLOWPHASE_MAX_BYTES to change); use smaller sizes")
