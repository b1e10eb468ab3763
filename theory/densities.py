"""Training-time densities as schedule objects, in flowphase's time tau (0 pure noise, 1 data).

One protocol (:class:`Density`) for every density practitioners use to draw training times, plus the paper's
dilation and the window schedules of the MSE-jump detector, so that the theory can rank them
(``flowphase.numerics.atlas``) and a training loop can sample from them
(``flowphase.validation.pytorch.samplers``):

* ``pdf(tau)``, ``cdf(tau)``, ``quantile(u)`` -- vectorised (arrays in, arrays out; a scalar gives a float);
* ``sample(k, rng)`` -- ``k`` i.i.d. draws (exact, or by inversion);
* ``grid(T)`` -- the density's sampling grid ``tau_k = F^{-1}(k/T)``, ``k = 0..T-1`` (``tau_0 = 0`` is pure
  noise; with ``F^{-1}(u) = inf{tau : F(tau) >= u}`` this holds for every density);
* ``mass(a, b) = F(b) - F(a)``; ``to_dict()`` / :func:`density_from_dict` (round trip); ``spec`` (the CLI string,
  :func:`parse_density`).

Conventions of the families (docs/schedules.md): SD3 (Esser et al. 2024) writes ``z_t = (1 - t) x0 + t eps`` with
``t = 1 - tau``; its logit-normal ``logit(t) ~ N(m, s^2)`` is ``logit(tau) ~ N(-m, s^2)`` here, and its mode and
cosmap densities are symmetric under ``t -> 1 - t``.  EDM's ``ln sigma ~ N(P_mean, P_std^2)`` with
``sigma = (1 - tau)/tau`` (the linear interpolant divided by tau) is exactly the logit-normal with
``m = P_mean, s = P_std``.  SD3's resolution shift ``t' = S t / (1 + (S - 1) t)`` is, in tau,
``tau' = tau / (S - (S - 1) tau)`` (S > 1 moves mass towards noise).  The paper's dilation (PAPER §1.3) puts
half of the grid uniformly on ``[0, kappa/sqrt(d)]`` and half uniformly on the rest.

Pure numpy/scipy (theory layer: no numba, no torch).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np
from scipy import special, stats

from flowphase.theory import checks

__all__ = ["Density", "Uniform", "LogitNormal", "EDMLogNormal", "ModeSampling", "CosMap", "Beta", "ResolutionShift",
           "Windows", "Dilation", "MixtureDensity", "PhaseAware", "phase_aware", "density_from_dict",
           "parse_density", "MODE_SCALE_MAX", "DENSITY_SPECS"]

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

    Subclasses implement ``_pdf``, ``_cdf`` (arrays with tau in [0, 1]) and ``to_dict``/``spec``; ``_quantile``
    and ``_sample`` default to numerical inversion of the cdf.
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

    def to_dict(self) -> dict:  # pragma: no cover - every concrete class overrides it
        raise NotImplementedError

    @property
    def spec(self) -> str:  # pragma: no cover
        raise NotImplementedError

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

    def to_dict(self):
        return {"kind": self.kind, "spec": self.spec}

    @property
    def spec(self):
        return "uniform"


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

    def to_dict(self):
        return {"kind": self.kind, "spec": self.spec}

    @property
    def spec(self):
        return "cosmap"


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


# ----------------------------------------------------------------------------- piecewise-uniform families
def _window_list(windows) -> Tuple[Tuple[float, float], ...]:
    if isinstance(windows, (str, bytes, dict)) or not isinstance(windows, Sequence):
        raise ValueError(f"windows must be a list of (start, end) pairs, got {type(windows).__name__}")
    out = []
    for i, w in enumerate(windows):
        if isinstance(w, dict):
            if "start" not in w or "end" not in w:
                raise ValueError(f"window {i} needs keys 'start' and 'end'")
            a, b = w["start"], w["end"]
        elif hasattr(w, "start") and hasattr(w, "end"):
            a, b = w.start, w.end
        elif isinstance(w, (list, tuple)) and len(w) >= 2:
            a, b = w[0], w[1]
        else:
            raise ValueError(f"window {i} must be (start, end) or {{'start', 'end'}}, got {w!r}")
        a, b = checks.real(f"window {i} start", a), checks.real(f"window {i} end", b)
        if not 0.0 <= a < b <= 1.0:
            raise ValueError(f"window {i} must satisfy 0 <= start < end <= 1 (tau), got [{a!r}, {b!r}]")
        out.append((a, b))
    if not out:
        raise ValueError("windows must not be empty")
    order = sorted(range(len(out)), key=lambda i: out[i][0])
    for i, j in zip(order[:-1], order[1:]):
        if out[j][0] < out[i][1]:
            raise ValueError(f"windows must not overlap: {out[i]} and {out[j]}")
    return tuple(out)


class Windows(Density):
    """Piecewise-uniform density: window i = [start_i, end_i] holds mass ``weights[i]``; the rest of the mass,
    ``1 - sum(weights)``, is uniform on the complement (zero if the weights sum to 1).

    The detected / U-Turn windows and the designed multi-window schedule are instances; the paper's dilation is
    ``Windows([(0, kappa/sqrt(d))], [0.5])`` (:class:`Dilation`).
    """

    kind = "windows"

    def __init__(self, windows, weights):
        ws = _window_list(windows)
        if isinstance(weights, (str, bytes)) or np.ndim(weights) != 1 or len(weights) != len(ws):
            raise ValueError(f"weights must be a list of {len(ws)} masses (one per window)")
        ms = [checks.real(f"window {i} weight", m) for i, m in enumerate(weights)]
        if any(not 0.0 < m <= 1.0 for m in ms):
            raise ValueError(f"window weights (masses) must lie in (0, 1], got {ms}")
        total = sum(ms)
        if total > 1.0 + 1e-9:
            raise ValueError(f"window weights (masses) must sum to at most 1, got {total!r}")
        rest = max(0.0, 1.0 - total)
        cover = sum(b - a for a, b in ws)
        if rest > 1e-12 and cover >= 1.0 - 1e-15:
            raise ValueError("windows cover all of [0, 1]: the weights must sum to 1")
        pairs = sorted(zip(ws, ms))
        self.windows = tuple(w for w, _ in pairs)
        self.weights = tuple(m for _, m in pairs)
        edges, masses = [0.0], []
        bg = rest / (1.0 - cover) if rest > 1e-12 else 0.0
        for (a, b), m in pairs:
            if a > edges[-1]:
                masses.append(bg * (a - edges[-1]))
                edges.append(a)
            masses.append(m)
            edges.append(b)
        if edges[-1] < 1.0:
            masses.append(bg * (1.0 - edges[-1]))
            edges.append(1.0)
        masses = np.asarray(masses) / np.sum(masses)
        self._edges = np.asarray(edges)
        self._cum = np.concatenate([[0.0], np.cumsum(masses)])
        self._cum[-1] = 1.0
        self._dens = masses / np.diff(self._edges)

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(self.spec)

    def _piece(self, t):
        return np.clip(np.searchsorted(self._edges, t, side="right") - 1, 0, len(self._dens) - 1)

    def _pdf(self, t):
        return self._dens[self._piece(t)]

    def _cdf(self, t):
        return np.interp(t, self._edges, self._cum)

    def _quantile(self, u):
        # generalised inverse: first piece whose cumulative mass reaches u (zero-mass pieces are skipped)
        j = np.clip(np.searchsorted(self._cum, u, side="left") - 1, 0, len(self._dens) - 1)
        m = self._cum[j + 1] - self._cum[j]
        with np.errstate(all="ignore"):
            frac = np.where(m > 0, (u - self._cum[j]) / m, 0.0)
        return self._edges[j] + np.clip(frac, 0.0, 1.0) * (self._edges[j + 1] - self._edges[j])

    def to_dict(self):
        return {"kind": self.kind, "windows": [{"start": a, "end": b, "mass": m}
                                               for (a, b), m in zip(self.windows, self.weights)],
                "spec": self.spec}

    @property
    def spec(self):
        return "windows:" + ";".join(f"{_fmt(a)}-{_fmt(b)}={_fmt(m)}"
                                     for (a, b), m in zip(self.windows, self.weights))


class Dilation(Windows):
    """The paper's dilation (PAPER §1.3): half the mass uniform on [0, kappa/sqrt(d)], half uniform on the rest
    (the grid of t in [0, 2] with tau = kappa t/sqrt(d) on phase 1)."""

    kind = "dilation"

    def __init__(self, kappa: float = 2.0, d: float = None):
        kappa = checks.positive("dilation kappa", kappa)
        if d is None:
            raise ValueError("dilation needs the dimension d (pass d=..., CLI --d)")
        d = checks.positive("d", d)
        e = kappa / math.sqrt(d)
        if not e < 1.0:
            raise ValueError(f"dilation needs kappa/sqrt(d) < 1 (d > kappa^2 = {kappa * kappa!r}), got d={d!r}")
        self.kappa, self.d = kappa, d
        super().__init__([(0.0, e)], [0.5])

    def to_dict(self):
        return {"kind": self.kind, "kappa": self.kappa, "d": self.d, "spec": self.spec}

    @property
    def spec(self):
        return f"dilation:{_fmt(self.kappa)}"


# ----------------------------------------------------------------------------- mixtures
class MixtureDensity(Density):
    """``sum_i weights[i] * components[i]`` (weights > 0, normalised to 1)."""

    kind = "mix"

    def __init__(self, components, weights):
        comps = tuple(components)
        if not comps or any(not isinstance(c, Density) for c in comps):
            raise ValueError("mixture components must be a non-empty list of Density objects")
        if isinstance(weights, (str, bytes)) or np.ndim(weights) != 1 or len(weights) != len(comps):
            raise ValueError(f"mixture weights must be a list of {len(comps)} numbers")
        ws = np.array([checks.real(f"mixture weight {i}", w) for i, w in enumerate(weights)])
        if np.any(~(ws > 0)) or not np.all(np.isfinite(ws)):
            raise ValueError(f"mixture weights must lie in (0, inf), got {ws.tolist()}")
        self.components, self.weights = comps, tuple((ws / ws.sum()).tolist())

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(self.spec)

    def _pdf(self, t):
        return sum(w * c._pdf(t) for c, w in zip(self.components, self.weights))

    def _cdf(self, t):
        return sum(w * c._cdf(t) for c, w in zip(self.components, self.weights))

    def _sample(self, k, rng):
        which = rng.choice(len(self.components), size=k, p=np.asarray(self.weights))
        out = np.empty(k)
        for i, c in enumerate(self.components):
            sel = which == i
            if np.any(sel):
                out[sel] = np.clip(c._sample(int(sel.sum()), rng), 0.0, 1.0)
        return out

    def to_dict(self):
        return {"kind": self.kind, "components": [c.to_dict() for c in self.components],
                "weights": list(self.weights), "spec": self.spec}

    @property
    def spec(self):
        return "mix:" + "+".join(f"{_fmt(w)}*{c.spec}" for c, w in zip(self.components, self.weights))


class PhaseAware(MixtureDensity):
    """``(1 - mass) * base + mass * uniform-on-the-windows``: moves ``mass`` into the decision windows of any
    base density (the window share of each window is proportional to its length unless ``shares`` is given)."""

    kind = "phase-aware"

    def __init__(self, base, windows, mass, *, shares=None):
        if not isinstance(base, Density):
            raise ValueError(f"phase_aware base must be a Density, got {type(base).__name__}")
        mass = checks.real("mass", mass)
        if not 0.0 < mass < 1.0:
            raise ValueError(f"mass must lie in the open interval (0, 1), got {mass!r}")
        ws = _window_list(windows)
        if shares is None:
            shares = [b - a for a, b in ws]
        sh = np.array([checks.real(f"window {i} share", s) for i, s in enumerate(shares)], dtype=float)
        if len(sh) != len(ws) or np.any(~(sh > 0)):
            raise ValueError(f"shares must be {len(ws)} positive numbers")
        sh = sh / sh.sum()
        sh[-1] = 1.0 - sh[:-1].sum()
        self.base, self.phase_mass = base, mass
        super().__init__([base, Windows(ws, sh.tolist())], [1.0 - mass, mass])
        self.weights = (1.0 - mass, mass)

    @property
    def windows(self):
        return self.components[1]

    def to_dict(self):
        return {"kind": self.kind, "base": self.base.to_dict(), "mass": self.phase_mass,
                "windows": self.windows.to_dict()["windows"], "spec": self.spec}

    @property
    def spec(self):
        ws = ";".join(f"{_fmt(a)}-{_fmt(b)}" for a, b in self.windows.windows)
        same = np.allclose(self.windows.weights, np.diff(np.asarray(self.windows.windows), axis=1).ravel()
                           / sum(b - a for a, b in self.windows.windows))
        if not same:
            ws = ";".join(f"{_fmt(a)}-{_fmt(b)}={_fmt(m)}" for (a, b), m in zip(self.windows.windows,
                                                                                self.windows.weights))
        return f"phase-aware:{self.base.spec}@{ws},{_fmt(self.phase_mass)}"


def phase_aware(base: Density, windows, mass: float, *, shares=None) -> PhaseAware:
    """A density that moves ``mass`` of the training times of ``base`` uniformly into the decision ``windows``
    (a list of (start, end) pairs or the detector's window dicts): ``(1 - mass) base + mass U(windows)``."""
    return PhaseAware(base, windows, mass, shares=shares)


# ----------------------------------------------------------------------------- dict and string forms
#: the keys each kind's JSON may hold (besides ``kind`` and the informational ``_INFO_KEYS``)
_KEYS = {"uniform": set(), "logit-normal": {"m", "s"}, "logitnormal": {"m", "s"}, "edm": {"p_mean", "p_std"},
         "lognormal": {"p_mean", "p_std"}, "mode": {"scale"}, "cosmap": set(), "beta": {"a", "b"},
         "shift": {"shift", "base"}, "dilation": {"kappa", "d"}, "windows": {"windows"}, "piecewise": {"windows", "t_max"},
         "mix": {"components", "weights"}, "phase-aware": {"base", "mass", "windows"}}
_INFO_KEYS = {"kind", "spec", "convention", "window_mass", "name"}


def density_from_dict(d: dict, *, dim=None, strict: bool = True) -> Density:
    """Rebuild a density from :meth:`Density.to_dict` (also the older schedule JSONs: ``piecewise`` window
    schedules with relative weights, ``lognormal``, ``logitnormal``); anything else -> ``ValueError``.

    ``dim`` is the dimension of a ``dilation`` stored without its ``d``; ``strict`` refuses unknown keys (typos).
    """
    if not isinstance(d, dict):
        raise ValueError(f"a density must be a JSON object, got {type(d).__name__}")
    kind = d.get("kind")
    if strict and isinstance(kind, str) and kind in _KEYS:
        unknown = sorted(set(d) - _KEYS[kind] - _INFO_KEYS)
        if unknown:
            raise ValueError(f"density JSON of kind {kind!r} has unknown key(s) {', '.join(map(repr, unknown))} "
                             f"(allowed: {', '.join(sorted(_KEYS[kind] | {'kind', 'spec'}))})")
    try:
        if kind == "uniform":
            return Uniform()
        if kind in ("logit-normal", "logitnormal"):
            return LogitNormal(d.get("m", 0.0), d.get("s", 1.0))
        if kind in ("edm", "lognormal"):
            return EDMLogNormal(d.get("p_mean", -1.2), d.get("p_std", 1.2))
        if kind == "mode":
            return ModeSampling(d["scale"])
        if kind == "cosmap":
            return CosMap()
        if kind == "beta":
            return Beta(d["a"], d["b"])
        if kind == "shift":
            return ResolutionShift(d["shift"], density_from_dict(d.get("base", {"kind": "uniform"}), dim=dim,
                                                                 strict=strict))
        if kind == "dilation":
            return Dilation(d.get("kappa", 2.0), d.get("d", dim))
        if kind == "windows":
            ws = _window_dicts(d["windows"], strict)
            return Windows(ws, [w["mass"] for w in ws])
        if kind == "piecewise":  # numerics.schedules.PiecewiseSchedule: relative weights on a uniform background
            ws = d["windows"]
            pairs = _window_list(ws)
            rel = [float(w.get("weight", 1.0)) if isinstance(w, dict) else float(w[2]) if len(w) > 2 else 1.0
                   for w in ws]
            cover = sum(b - a for a, b in pairs)
            total = sum(r * (b - a) for r, (a, b) in zip(rel, pairs)) + (1.0 - cover)
            return Windows(pairs, [r * (b - a) / total for r, (a, b) in zip(rel, pairs)])
        if kind == "mix":
            return MixtureDensity([density_from_dict(c, dim=dim, strict=strict) for c in d["components"]], d["weights"])
        if kind == "phase-aware":
            ws = _window_dicts(d["windows"], strict, need_mass=False)
            return PhaseAware(density_from_dict(d["base"], dim=dim, strict=strict), ws, d["mass"],
                              shares=[w["mass"] for w in ws] if all("mass" in w for w in ws) else None)
    except (KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"density JSON of kind {kind!r} is missing or has a bad field: {exc}") from None
    raise ValueError(f"not a density/schedule JSON: kind={str(kind)[:40]!r} (expected one of {', '.join(_KEYS)})")


def _window_dicts(ws, strict: bool, need_mass: bool = True):
    if not isinstance(ws, list) or not all(isinstance(w, dict) for w in ws):
        raise ValueError("'windows' must be a list of {start, end, mass} objects")
    for i, w in enumerate(ws):
        unknown = set(w) - {"start", "end", "mass"}
        if strict and unknown:
            raise ValueError(f"window {i} has unknown key(s) {', '.join(map(repr, sorted(unknown)))} "
                             f"(allowed: start, end, mass)")
        if need_mass and "mass" not in w:
            raise ValueError(f"window {i} needs a 'mass'")
    return ws


_MIX_SPLIT = re.compile(r"\+(?=\s*(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*\*)")


def _nums(name: str, text: str, count: Tuple[int, int]):
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if not count[0] <= len(parts) <= count[1]:
        want = str(count[0]) if count[0] == count[1] else f"{count[0]} to {count[1]}"
        raise ValueError(f"density {name!r} takes {want} comma-separated number(s), got {text!r}")
    out = []
    for p in parts:
        try:
            out.append(float(p))
        except ValueError:
            raise ValueError(f"density {name!r}: {p!r} is not a number") from None
    return out


def _range(text: str) -> Tuple[float, float]:
    """'A-B' (tau, so A, B >= 0; a scientific exponent like 1e-3 is allowed): the split where both sides parse."""
    found = []
    for i, ch in enumerate(text):
        if ch == "-" and 0 < i < len(text) - 1:
            try:
                found.append((float(text[:i]), float(text[i + 1:])))
            except ValueError:
                pass
    if len(found) != 1:
        raise ValueError(f"window must be written A-B with 0 <= A < B <= 1, got {text!r}")
    return found[0]


def parse_density(spec: str, *, d=None) -> Density:
    """The density of a CLI string (``DENSITY_SPECS``; docs/schedules.md).

    ``uniform``, ``logit-normal:M,S``, ``mode:S``, ``cosmap``, ``edm:PMEAN,PSTD``, ``beta:A,B``, ``shift:S[,BASE]``,
    ``dilation:KAPPA`` (needs ``d``), ``windows:A-B=MASS[;C-D=MASS]`` (rest uniform),
    ``phase-aware:BASE@A-B[;C-D],MASS`` and ``mix:W1*SPEC1+W2*SPEC2``.  Bad input: ``ValueError`` naming the
    parameter and its range.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"density must be a non-empty string like 'logit-normal:0,1', got {spec!r}")
    spec = spec.strip()
    name, _, arg = spec.partition(":")
    name = name.strip().lower()
    if name == "uniform":
        _nums(name, arg, (0, 0))
        return Uniform()
    if name == "cosmap":
        _nums(name, arg, (0, 0))
        return CosMap()
    if name in ("logit-normal", "logitnormal"):
        m, s = [0.0, 1.0] if not arg else _nums(name, arg, (2, 2))
        return LogitNormal(m, s)
    if name == "edm":
        pm, ps = [-1.2, 1.2] if not arg else _nums(name, arg, (2, 2))
        return EDMLogNormal(pm, ps)
    if name == "mode":
        return ModeSampling(*_nums(name, arg, (1, 1)))
    if name == "beta":
        return Beta(*_nums(name, arg, (2, 2)))
    if name == "shift":
        s_text, _, base = arg.partition(",")
        (s,) = _nums(name, s_text, (1, 1))
        return ResolutionShift(s, parse_density(base, d=d) if base.strip() else Uniform())
    if name == "dilation":
        (kappa,) = [2.0] if not arg else _nums(name, arg, (1, 1))
        if d is None:
            raise ValueError("density 'dilation' needs the dimension d (CLI: --d)")
        return Dilation(kappa, d)
    if name == "windows":
        ws, ms = [], []
        for part in arg.split(";"):
            rng_text, eq, m = part.partition("=")
            if not eq:
                raise ValueError(f"windows must be written A-B=MASS[;C-D=MASS], got {part!r}")
            ws.append(_range(rng_text.strip()))
            ms.append(_nums("windows mass", m, (1, 1))[0])
        return Windows(ws, ms)
    if name == "phase-aware":
        base, at, rest = arg.rpartition("@")
        win_text, comma, mass_text = rest.rpartition(",")
        if not at or not comma or not base.strip():
            raise ValueError(f"phase-aware must be written phase-aware:BASE@A-B[;C-D],MASS, got {spec!r}")
        (mass,) = _nums("phase-aware mass", mass_text, (1, 1))
        ws, shares = [], []
        for part in win_text.split(";"):
            rng_text, eq, sh = part.partition("=")
            ws.append(_range(rng_text.strip()))
            shares.append(_nums("phase-aware share", sh, (1, 1))[0] if eq else None)
        if any(s is None for s in shares) and not all(s is None for s in shares):
            raise ValueError("phase-aware window shares: give '=SHARE' for every window or for none")
        return PhaseAware(parse_density(base, d=d), ws, mass, shares=None if shares[0] is None else shares)
    if name in ("mix", "mixture"):
        comps, weights = [], []
        for part in _MIX_SPLIT.split(arg):
            w_text, star, sub = part.partition("*")
            if not star:
                raise ValueError(f"mix must be written mix:W1*SPEC1+W2*SPEC2, got {part!r}")
            weights.append(_nums("mix weight", w_text, (1, 1))[0])
            comps.append(parse_density(sub, d=d))
        return MixtureDensity(comps, weights)
    raise ValueError(f"unknown density {name!r}; expected one of: {', '.join(DENSITY_SPECS)}")
