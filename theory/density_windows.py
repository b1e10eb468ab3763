"""Piecewise-uniform densities and mixtures (part of :mod:`flowphase.theory.densities`).

:class:`Windows` (detected / U-Turn windows, the designed multi-window schedule), the paper's :class:`Dilation`
(PAPER §1.3), :class:`MixtureDensity` and :class:`PhaseAware` / :func:`phase_aware` (move a mass of any base density
into decision windows).  Import from :mod:`flowphase.theory.densities`.
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import numpy as np

from flowphase.theory import checks
from flowphase.theory.density_base import Density, _fmt

__all__ = ["Windows", "Dilation", "MixtureDensity", "PhaseAware", "phase_aware"]


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


