"""The density protocol and the closed-form training-time families (part of :mod:`flowphase.theory.densities`).

:class:`Density` (pdf, cdf, quantile, sample, grid, mass, to_dict, spec; tau in [0, 1], 0 noise, 1 data) and the
families with a closed form or a one-dimensional inversion: uniform, SD3's logit-normal, mode and cosmap, EDM's
log-normal, Beta and SD3's resolution shift.  Conventions of each family: the module docstring of
:mod:`flowphase.theory.densities` and docs/schedules.md.  Import from :mod:`flowphase.theory.densities`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from scipy import special, stats

from flowphase.theory import checks

__all__ = ["Density", "Uniform", "LogitNormal", "EDMLogNormal", "ModeSampling", "CosMap", "Beta", "ResolutionShift",
           "MODE_SCALE_MAX", "DENSITY_SPECS"]

#: SD3's mode sampling is a density for ``-1 <= scale <= 2/(pi - 2)``
MODE_SCALE_MAX = 2.0 / (math.pi - 2.0)
#: the CLI string forms (parse_density), for help texts
DENSITY_SPECS = ("uniform", "logit-normal:M,S", "mode:S", "cosmap", "edm:PMEAN,PSTD", "beta:A,B", "shift:S[,BASE]",
                 "dilation:KAPPA", "windows:A-B=MASS[;C-D=MASS]", "phase-aware:BASE@A-B[;C-D],MASS",
                 "mix:W1*SPEC1+W2*SPEC2[+...]")
_MAX_K = 10 ** 8


def _tau(tau) -> Tuple[np.ndarray, bool]:
    """tau as a float array (NaN refused); values outside [0, 1] are allowed (pdf 0, cdf clipped)."""
    arr = np.asarray(tau)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"tau must be a real number or array, got {type(tau).__name__}")
    arr = arr.astype(float)
    if np.any(np.isnan(arr)):
        raise ValueError("tau must not be NaN")
    return arr, arr.ndim == 0


def _u(u) -> Tuple[np.ndarray, bool]:
    arr = np.asarray(u)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"u must be a real number or array in [0, 1], got {type(u).__name__}")
    arr = arr.astype(float)
    if not np.all((arr >= 0.0) & (arr <= 1.0)):
        raise ValueError("u must lie in [0, 1] (NaN refused)")
    return arr, arr.ndim == 0


def _out(arr, scalar):
    return float(arr) if scalar else arr


def _fmt(x: float) -> str:
    return repr(float(x)) if float(x) != int(x) or abs(x) >= 1e16 else str(int(x))


_TABLE = np.unique(np.concatenate([np.linspace(0.0, 1.0, 513), np.geomspace(1e-14, 0.5, 512),
                                   1.0 - np.geomspace(1e-14, 0.5, 512)]))


def _invert(cdf, u: np.ndarray, pdf=None, iters: int = 100) -> np.ndarray:
    """Inverse of an increasing ``cdf`` on [0, 1], vectorised: a bracket from a table of the cdf, then safeguarded
    Newton (bisection fallback) on the points not yet converged (rounding level in ``cdf`` or in tau)."""
    flat = u.ravel()
    table = np.maximum.accumulate(cdf(_TABLE))
    j = np.clip(np.searchsorted(table, flat, side="left"), 1, len(_TABLE) - 1)
    lo, hi = _TABLE[j - 1], _TABLE[j]
    f_lo, f_hi = table[j - 1], table[j]
    with np.errstate(all="ignore"):
        x = np.where(f_hi > f_lo, lo + (flat - f_lo) / (f_hi - f_lo) * (hi - lo), 0.5 * (lo + hi))
    x = np.clip(x, lo, hi)
    out = x.copy()
    act = np.arange(flat.size)
    lo, hi, x, uu = lo.copy(), hi.copy(), x, flat
    for _ in range(iters):
        f = cdf(x)
        below = f < uu
        lo = np.where(below, x, lo)
        hi = np.where(below, hi, x)
        done = (np.abs(f - uu) <= 1e-15 * np.abs(uu)) | (hi - lo <= 4.5e-16 * np.maximum(hi, 1e-300))
        mid = 0.5 * (lo + hi)
        nxt = mid
        if pdf is not None:
            with np.errstate(all="ignore"):
                newton = x - (f - uu) / pdf(x)
            ok = np.isfinite(newton) & (newton > lo) & (newton < hi)
            nxt = np.where(ok, newton, mid)
            done |= ok & (np.abs(newton - x) <= 1e-15 * np.maximum(np.abs(x), 1e-300))
            x = np.where(done & ok, newton, x)
        out[act[done]] = x[done]
        keep = ~done
        if not np.any(keep):
            break
        act, lo, hi, uu, x = act[keep], lo[keep], hi[keep], uu[keep], nxt[keep]
    else:
        out[act] = x
    out = out.reshape(u.shape)
    return np.where(u <= 0.0, 0.0, np.where(u >= 1.0, 1.0, out))


class Density:
    """A training-time density on tau in [0, 1] (tau = 0 pure noise, 1 data); see the module docstring.

    Subclasses implement ``_pdf``, ``_cdf`` (arrays with tau in [0, 1]) and, when they have parameters,
    ``to_dict``/``spec``; ``_quantile`` and ``_sample`` default to numerical inversion of the cdf.
    """

    kind = "density"

    # -- public, validated
    def pdf(self, tau):
        """Density p(tau); 0 outside [0, 1]."""
        t, sc = _tau(tau)
        inside = (t >= 0.0) & (t <= 1.0)
        with np.errstate(all="ignore"):
            out = np.where(inside, self._pdf(np.clip(t, 0.0, 1.0)), 0.0)
        return _out(out, sc)

    def cdf(self, tau):
        """F(tau) = P(T <= tau) (tau clipped to [0, 1])."""
        t, sc = _tau(tau)
        with np.errstate(all="ignore"):
            out = np.clip(self._cdf(np.clip(t, 0.0, 1.0)), 0.0, 1.0)
        return _out(out, sc)

    def quantile(self, u):
        """F^{-1}(u) = inf{tau : F(tau) >= u} for u in [0, 1] (so quantile(0) = 0, pure noise)."""
        v, sc = _u(u)
        with np.errstate(all="ignore"):
            out = np.clip(self._quantile(v), 0.0, 1.0)
        out = np.where(v <= 0.0, 0.0, out)
        return _out(out, sc)

    def sample(self, k, rng=None) -> np.ndarray:
        """``k`` i.i.d. training times tau (float64 array); ``rng`` a numpy Generator (or a seed)."""
        k = checks.as_int("k", k, 0, _MAX_K)
        rng = np.random.default_rng(rng)
        return np.clip(np.asarray(self._sample(k, rng), dtype=float), 0.0, 1.0)

    def grid(self, T) -> np.ndarray:
        """The density's grid ``tau_k = F^{-1}(k/T)``, k = 0..T-1 (tau_0 = 0; the Euler step k ends at tau_{k+1},
        the last at tau_T = 1)."""
        T = checks.as_int("T", T, 1, _MAX_K)
        return self.quantile(np.arange(T, dtype=float) / T)

    def mass(self, a, b):
        """F(b) - F(a): the fraction of training times in [a, b]."""
        return self.cdf(b) - self.cdf(a)

    # -- defaults for subclasses
    def _quantile(self, u):
        return _invert(self._cdf, u, self._pdf)

    def _sample(self, k, rng):
        return self._quantile(rng.random(k))

    def to_dict(self) -> dict:
        """``{"kind", <parameters>, "spec"}``, round-tripping through :func:`flowphase.theory.densities.parse_density`; this default is that of
        a density without parameters (a density with parameters overrides it)."""
        return {"kind": self.kind, "spec": self.spec}

    @property
    def spec(self) -> str:
        """The command-line string of the density; this default, the ``kind``, is that of a density without
        parameters."""
        return self.kind

    def __repr__(self):
        return f"{type(self).__name__}({self.spec!r})"


# ----------------------------------------------------------------------------- closed-form families
@dataclass(frozen=True, repr=False)
class Uniform(Density):
    """p(tau) = 1."""

    kind = "uniform"

    def _pdf(self, t):
        return np.ones_like(t)

    def _cdf(self, t):
        return t

    def _quantile(self, u):
        return u



@dataclass(frozen=True, repr=False)
class LogitNormal(Density):
    """SD3's logit-normal(m, s): ``logit(1 - tau) ~ N(m, s^2)``, i.e. ``logit(tau) ~ N(-m, s^2)``."""

    m: float = 0.0
    s: float = 1.0
    kind = "logit-normal"

    def __post_init__(self):
        object.__setattr__(self, "m", checks.in_closed(f"{self.kind} {self._names[0]}", self.m, -50.0, 50.0))
        object.__setattr__(self, "s", _pos(f"{self.kind} {self._names[1]}", self.s, 50.0))

    _names = ("m", "s")

    def _z(self, t):
        return (special.logit(t) + self.m) / self.s

    def _pdf(self, t):
        out = stats.norm.pdf(self._z(t)) / (self.s * t * (1.0 - t))
        return np.where((t > 0.0) & (t < 1.0), out, 0.0)

    def _cdf(self, t):
        return special.ndtr(self._z(t))

    def _quantile(self, u):
        return special.expit(-self.m + self.s * special.ndtri(u))

    def to_dict(self):
        return {"kind": self.kind, self._names[0]: self.m, self._names[1]: self.s, "spec": self.spec}

    @property
    def spec(self):
        return f"{self.kind}:{_fmt(self.m)},{_fmt(self.s)}"


def _pos(name, value, hi):
    v = checks.real(name, value)
    if not 0.0 < v <= hi:
        raise ValueError(f"{name} must lie in (0, {_fmt(hi)}], got {v!r}")
    return v


class EDMLogNormal(LogitNormal):
    """EDM's ``ln sigma ~ N(p_mean, p_std^2)`` with ``sigma = (1 - tau)/tau``: the logit-normal(p_mean, p_std)."""

    kind = "edm"
    _names = ("p_mean", "p_std")

    def __init__(self, p_mean: float = -1.2, p_std: float = 1.2):
        super().__init__(p_mean, p_std)

    @property
    def p_mean(self):
        return self.m

    @property
    def p_std(self):
        return self.s


@dataclass(frozen=True, repr=False)
class ModeSampling(Density):
    """SD3's mode sampling: ``tau = u + scale (cos^2(pi u/2) - 1 + u)``, u ~ U(0, 1), ``-1 <= scale <= 2/(pi-2)``.

    (SD3's ``t = 1 - u - scale(...)``; the law is symmetric under t -> 1 - t, so tau has the same form.)
    """

    scale: float = 1.29
    kind = "mode"

    def __post_init__(self):
        v = checks.real("mode scale", self.scale)
        if not -1.0 <= v <= MODE_SCALE_MAX:
            raise ValueError(f"mode scale must lie in [-1, {MODE_SCALE_MAX:.6g}] (2/(pi-2)), got {v!r}")
        object.__setattr__(self, "scale", v)

    def _g(self, u):
        return u + self.scale * (np.cos(0.5 * np.pi * u) ** 2 - 1.0 + u)

    def _dg(self, u):
        return 1.0 + self.scale * (1.0 - 0.5 * np.pi * np.sin(np.pi * u))

    def _quantile(self, u):
        return self._g(u)

    def _cdf(self, t):
        if self.scale == 0.0:
            return t
        return _invert(lambda u: self._g(u), t, self._dg)

    def _pdf(self, t):
        return 1.0 / self._dg(self._cdf(t))

    def to_dict(self):
        return {"kind": self.kind, "scale": self.scale, "spec": self.spec}

    @property
    def spec(self):
        return f"mode:{_fmt(self.scale)}"


@dataclass(frozen=True, repr=False)
class CosMap(Density):
    """SD3's cosmap: ``p(tau) = 2 / (pi (tau^2 + (1 - tau)^2))``, ``F(tau) = (2/pi) arctan(tau/(1 - tau))``."""

    kind = "cosmap"

    def _pdf(self, t):
        return 2.0 / (np.pi * (t * t + (1.0 - t) ** 2))

    def _cdf(self, t):
        return (2.0 / np.pi) * np.arctan2(t, 1.0 - t)

    def _quantile(self, u):
        a, b = np.sin(0.5 * np.pi * u), np.cos(0.5 * np.pi * u)
        return a / (a + b)



@dataclass(frozen=True, repr=False)
class Beta(Density):
    """Beta(a, b) on tau."""

    a: float = 1.0
    b: float = 1.0
    kind = "beta"

    def __post_init__(self):
        object.__setattr__(self, "a", _pos("beta a", self.a, 1e4))
        object.__setattr__(self, "b", _pos("beta b", self.b, 1e4))

    def _pdf(self, t):
        return stats.beta.pdf(t, self.a, self.b)

    def _cdf(self, t):
        return special.betainc(self.a, self.b, t)

    def _quantile(self, u):
        return special.betaincinv(self.a, self.b, u)

    def to_dict(self):
        return {"kind": self.kind, "a": self.a, "b": self.b, "spec": self.spec}

    @property
    def spec(self):
        return f"beta:{_fmt(self.a)},{_fmt(self.b)}"


@dataclass(frozen=True, repr=False)
class ResolutionShift(Density):
    """SD3's resolution shift of ``base``: ``t' = S t/(1 + (S-1) t)`` in SD3's t = 1 - tau, i.e.
    ``tau' = h(tau) = tau / (S + (1 - S) tau)``, ``h^{-1}(x) = S x / (1 + (S - 1) x)``."""

    shift: float = 3.0
    base: Density = Uniform()
    kind = "shift"

    def __post_init__(self):
        object.__setattr__(self, "shift", _pos("shift S", self.shift, 1e6))
        if not isinstance(self.base, Density):
            raise ValueError(f"shift base must be a Density, got {type(self.base).__name__}")

    def _h(self, t):
        return t / (self.shift + (1.0 - self.shift) * t)

    def _hinv(self, x):
        return self.shift * x / (1.0 + (self.shift - 1.0) * x)

    def _pdf(self, x):
        return self.base._pdf(self._hinv(x)) * self.shift / (1.0 + (self.shift - 1.0) * x) ** 2

    def _cdf(self, x):
        return self.base._cdf(self._hinv(x))

    def _quantile(self, u):
        return self._h(np.clip(self.base._quantile(u), 0.0, 1.0))

    def _sample(self, k, rng):
        return self._h(np.clip(self.base._sample(k, rng), 0.0, 1.0))

    def to_dict(self):
        return {"kind": self.kind, "shift": self.shift, "base": self.base.to_dict(), "spec": self.spec}

    @property
    def spec(self):
        base = "" if isinstance(self.base, Uniform) else "," + self.base.spec
        return f"shift:{_fmt(self.shift)}{base}"


