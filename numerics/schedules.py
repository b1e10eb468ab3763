"""Training-time schedules: time dilations, time densities and loss weights as three separate notions.

Three things are routinely confused in diffusion/flow codebases; here each is its own object:

* the **interpolant** ``x_tau = alpha(tau) x0 + beta(tau) x1`` (``theory.problem.Interpolant``; tau = 0
  noise, tau = 1 data, PAPER §1.2);
* the **time density** ``p(tau)`` from which training times are drawn (or, equivalently, the
  **time dilation** ``tau(t)`` whose uniform grid in ``t`` has density ``p`` in ``tau``);
* the **loss weight** ``w(tau)`` multiplying the per-time loss.

In expectation the training objective is ``int p(tau) w(tau) L_tau dtau``: only the product
``p * w`` (the *effective weight*, :meth:`TrainingObjective.effective_weight`) matters for the
expected loss, while ``p`` alone decides where the gradient steps (and the sampler's grid points)
go.

Time convention at every interface of this module: **tau in [0, 1], tau = 0 noise, tau = 1 data**
(the GMM theory's convention, PAPER §1.2).  The dilated time ``t`` runs over ``[0, t_max]`` with
``tau(0) = 0`` and ``tau(t_max) = 1``.  Diffusion codes using ``s = 0`` data, ``s = 1`` noise
(PAPER §6.3) convert with ``s = 1 - tau``.

The correspondence (PAPER §1.3): a piecewise-constant density ``p(tau)`` has the piecewise-linear
CDF ``F``; the dilation ``tau(t) = F^{-1}(t / t_max)`` maps a uniform ``t`` to ``tau ~ p``, and
``dtau/dt = 1 / (t_max p(tau(t)))``.  The paper's dilation (``TimeDilation``) is the instance with one
window ``[0, kappa/sqrt(d)]`` holding half of the mass and ``t_max = 2``
(:meth:`PiecewiseSchedule.from_time_dilation`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Iterable, List, Sequence, Tuple

import numpy as np
from scipy import special, stats

from flowphase.theory.problem import Schedule, TimeDilation

__all__ = [
    "Window",
    "PiecewiseSchedule",
    "design_schedule",
    "LogNormalDensity",
    "LogitNormalDensity",
    "UniformDensity",
    "LossWeight",
    "TrainingObjective",
    "schedule_from_json",
    "load_schedule",
    "load_json_object",
]


#: most points a schedule samples or grids in one call (bounds memory)
MAX_POINTS = 10 ** 8


def _finite(name, value) -> float:
    if isinstance(value, (bool, str, bytes, np.bool_)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a real number (of double range), got {_short(value)}")
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _short(value, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + "..."


def _tau_values(tau) -> np.ndarray:
    """tau as a float array; NaN/inf refused (never a NaN result)."""
    tt = np.asarray(tau)
    if tt.dtype.kind not in "iuf":
        raise ValueError(f"tau must be a real number or array, got {_short(tau)}")
    tt = tt.astype(float)
    if not np.all(np.isfinite(tt)):
        raise ValueError(f"tau must be finite, got {_short(tau)}")
    return tt


def load_json_object(text, what: str = "JSON") -> dict:
    """Parse ``text`` (str/bytes, or an already-parsed dict) into a dict; anything else -> ``ValueError``.

    Malformed JSON, a top-level list/number/string/null, nesting too deep for the parser and integers
    with too many digits are all reported as one ``ValueError`` naming ``what``.
    """
    if isinstance(text, dict):
        return dict(text)
    if not isinstance(text, (str, bytes, bytearray)):
        raise ValueError(f"{what} must be a JSON object (text or dict), got {type(text).__name__}")

    def no_duplicates(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                raise ValueError(f"{what} has the key {k!r} twice")
            seen[k] = v
        return seen

    try:
        obj = json.loads(text, object_pairs_hook=no_duplicates)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, over-long integer literals, bad UTF-8
        raise ValueError(f"{what} is not valid JSON: {exc}".splitlines()[0]) from None
    if not isinstance(obj, dict):
        raise ValueError(f"{what} must hold a JSON object at the top level, got {type(obj).__name__}")
    return obj


#: keys a window object may carry: the schedule's (weight), the detector's and the K-mode theory's
WINDOW_KEYS = frozenset({"start", "end", "weight", "size", "peak", "sharpness", "resolution", "resolved", "splits",
                         "s_start", "s_end", "mass"})


def _window_fields(w, i: int):
    """(start, end, weight-or-size) of one window given as a dict or a 2/3-sequence."""
    if isinstance(w, dict):
        missing = [k for k in ("start", "end") if k not in w]
        if missing:
            raise ValueError(f"window {i} needs keys 'start' and 'end' (missing {', '.join(map(repr, missing))})")
        unknown = sorted(set(w) - WINDOW_KEYS)
        if unknown:
            raise ValueError(f"window {i} has unknown key(s) {', '.join(map(repr, unknown))} "
                             f"(allowed: {', '.join(sorted(WINDOW_KEYS))})")
        return w
    if isinstance(w, (list, tuple)) and len(w) in (2, 3):
        return dict(zip(("start", "end", "weight"), w))
    raise ValueError(f"window {i} must be an object {{start, end[, weight]}} or a [start, end[, weight]] list, "
                     f"got {_short(w)}")


@dataclass(frozen=True)
class Window:
    """A window ``[start, end]`` of physical time tau (0 noise, 1 data) with an oversampling factor.

    Parameters
    ----------
    start, end : float, ``0 <= start < end <= 1``
    weight : float > 0
        Relative training-time density inside the window (1 = like the background).
    """

    start: float
    end: float
    weight: float = 1.0

    def __post_init__(self):
        a, b = _finite("window start", self.start), _finite("window end", self.end)
        w = _finite("window weight", self.weight)
        if not (0.0 <= a < b <= 1.0):
            raise ValueError(f"window must satisfy 0 <= start < end <= 1 (tau in [0, 1]), got [{a}, {b}]")
        if not w > 0.0:
            raise ValueError(f"window weight must be > 0, got {w}")
        object.__setattr__(self, "start", a)
        object.__setattr__(self, "end", b)
        object.__setattr__(self, "weight", w)

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "weight": self.weight}


def _check_windows(windows: Iterable) -> Tuple[Window, ...]:
    if isinstance(windows, (str, bytes, dict)) or not isinstance(windows, Iterable):
        raise ValueError(f"windows must be a list of windows, got {_short(windows)}")
    out = []
    for i, w in enumerate(windows):
        if isinstance(w, Window):
            out.append(w)
        else:
            f = _window_fields(w, i)
            out.append(Window(f["start"], f["end"], f.get("weight", 1.0)))
    out.sort(key=lambda w: w.start)
    for a, b in zip(out[:-1], out[1:]):
        if b.start < a.end - 1e-15:
            raise ValueError(f"windows must not overlap: [{a.start}, {a.end}] and [{b.start}, {b.end}]")
    return tuple(out)


@dataclass(frozen=True)
class PiecewiseSchedule(Schedule):
    """Piecewise-linear time dilation tau(t) from windows of oversampled physical time (PAPER §1.3, §4, §6).

    The training-time density in tau is piecewise constant: ``p(tau) ∝ weight_i`` on window i and
    ``∝ 1`` elsewhere, normalised on [0, 1].  The dilation is ``tau(t) = F^{-1}(t / t_max)`` with
    ``F`` the CDF of ``p``; hence ``dtau/dt = 1 / (t_max p(tau))`` and a uniform grid (or uniform
    draws) in ``t`` is distributed with density ``p`` in tau.

    Parameters
    ----------
    windows : sequence of :class:`Window` (or ``(start, end, weight)`` tuples / dicts)
        Non-overlapping, inside [0, 1], positive weights; otherwise ``ValueError``.
    t_max : float > 0
        Range of the dilated time, ``t in [0, t_max]`` (2 for the paper's dilation).

    It is a :class:`flowphase.theory.problem.Schedule`, so it drops into a ``Problem``.
    """

    windows: Tuple[Window, ...] = ()
    t_max: float = 1.0
    name = "piecewise"
    t_min = 0.0

    def __post_init__(self):
        object.__setattr__(self, "windows", _check_windows(self.windows))
        tm = _finite("t_max", self.t_max)
        if not tm > 0:
            raise ValueError(f"t_max must be > 0, got {tm}")
        object.__setattr__(self, "t_max", tm)
        # breakpoints of the density in tau and the value on each piece
        edges = [0.0]
        vals = []
        for w in self.windows:
            if w.start > edges[-1]:
                vals.append(1.0)
                edges.append(w.start)
            vals.append(w.weight)
            edges.append(w.end)
        if edges[-1] < 1.0:
            vals.append(1.0)
            edges.append(1.0)
        edges = np.asarray(edges, dtype=float)
        vals = np.asarray(vals, dtype=float)
        mass = vals * np.diff(edges)
        vals = vals / mass.sum()
        cdf = np.concatenate([[0.0], np.cumsum(vals * np.diff(edges))])
        cdf[-1] = 1.0
        object.__setattr__(self, "_edges", edges)
        object.__setattr__(self, "_vals", vals)
        object.__setattr__(self, "_cdf", cdf)

    # -- constructors
    @classmethod
    def from_time_dilation(cls, dilation: TimeDilation) -> "PiecewiseSchedule":
        """The paper's dilation as a window schedule (PAPER §1.3).

        ``tau = e t`` on t in [0, 1] and ``e + (1 - e)(t - 1)`` on [1, 2] with ``e = kappa/sqrt(d)``:
        the window [0, e] holds half of the t-range, i.e. relative weight ``(1 - e)/e``.
        """
        if not isinstance(dilation, TimeDilation):
            raise ValueError("dilation must be a TimeDilation")
        e = dilation.tau_break
        if not (0.0 < e < 1.0):
            raise ValueError(f"the dilation needs a finite d (kappa/sqrt(d) in (0, 1)), got {e}")
        return cls(windows=(Window(0.0, e, (1.0 - e) / e),), t_max=2.0)

    @classmethod
    def uniform(cls, t_max: float = 1.0) -> "PiecewiseSchedule":
        """The undilated schedule tau = t / t_max (PAPER §2.6)."""
        return cls(windows=(), t_max=t_max)

    # -- the dilation
    @property
    def edges(self) -> np.ndarray:
        """Breakpoints of the density in tau (also the knots of tau(t))."""
        return self._edges.copy()

    @property
    def knots_t(self) -> np.ndarray:
        """The dilated times ``t`` at the knots: ``t_max F(edges)``."""
        return self.t_max * self._cdf

    def tau(self, t):
        """tau(t) = F^{-1}(t / t_max), piecewise linear (PAPER §1.3)."""
        self.check_t(t)
        u = np.clip(np.asarray(t, dtype=float) / self.t_max, 0.0, 1.0)
        out = np.interp(u, self._cdf, self._edges)
        return float(out) if np.ndim(t) == 0 else out

    def dtau(self, t):
        """dtau/dt = 1 / (t_max p(tau(t))), right-continuous at the knots."""
        self.check_t(t)
        u = np.clip(np.asarray(t, dtype=float) / self.t_max, 0.0, 1.0)
        k = np.clip(np.searchsorted(self._cdf, u, side="right") - 1, 0, len(self._vals) - 1)
        out = 1.0 / (self.t_max * self._vals[k])
        return float(out) if np.ndim(t) == 0 else out

    def t_of_tau(self, tau):
        """Inverse dilation t(tau) = t_max F(tau)."""
        tt = np.asarray(tau, dtype=float)
        if np.any(~np.isfinite(tt)) or np.any(tt < 0) or np.any(tt > 1):
            raise ValueError(f"tau must lie in [0, 1], got {tau!r}")
        out = self.t_max * np.interp(tt, self._edges, self._cdf)
        return float(out) if np.ndim(tau) == 0 else out

    # -- the equivalent time density
    def density(self, tau):
        """Training-time density p(tau) on [0, 1] (piecewise constant, integrates to 1)."""
        tt = np.asarray(tau, dtype=float)
        if np.any(~np.isfinite(tt)) or np.any(tt < 0) or np.any(tt > 1):
            raise ValueError(f"tau must lie in [0, 1], got {tau!r}")
        k = np.clip(np.searchsorted(self._edges, tt, side="right") - 1, 0, len(self._vals) - 1)
        out = self._vals[k]
        return float(out) if np.ndim(tau) == 0 else out

    def cdf(self, tau):
        """F(tau) = int_0^tau p (tau clipped to [0, 1]; NaN refused)."""
        tt = np.clip(_tau_values(tau), 0.0, 1.0)
        out = np.interp(tt, self._edges, self._cdf)
        return float(out) if np.ndim(tau) == 0 else out

    def sample(self, k: int, rng=None) -> np.ndarray:
        """k i.i.d. training times tau ~ p (tau = 0 noise, 1 data), by inversion tau = tau(t_max U)."""
        from flowphase.theory.checks import as_int

        k = as_int("k", k, 1, MAX_POINTS)
        rng = np.random.default_rng(rng)
        return np.interp(rng.random(k), self._cdf, self._edges)

    def grid(self, n_times: int, endpoint: bool = False) -> np.ndarray:
        """Uniform grid in the dilated time t (PAPER §2.1); map with :meth:`tau`."""
        return super().grid(n_times, endpoint=endpoint)

    def tau_grid(self, n_times: int, endpoint: bool = False) -> np.ndarray:
        """The physical times tau of the uniform t-grid: the sampler's/trainer's grid."""
        return self.tau(self.grid(n_times, endpoint=endpoint))

    def window_mass(self) -> List[float]:
        """Fraction of the training times (= of the t-range) inside each window."""
        return [float(self.cdf(w.end) - self.cdf(w.start)) for w in self.windows]

    # -- serialisation
    def to_dict(self) -> dict:
        return {"kind": self.name, "t_max": self.t_max, "windows": [w.to_dict() for w in self.windows],
                "convention": "tau in [0,1]: 0 noise, 1 data; t in [0, t_max]"}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text) -> "PiecewiseSchedule":
        """Inverse of :meth:`to_json` (accepts a JSON string or an already-parsed dict)."""
        obj = load_json_object(text, "schedule JSON")
        if obj.get("kind") != cls.name:
            raise ValueError(_not_a_schedule(obj, "schedule JSON", want=f"kind {cls.name!r}"))
        if not isinstance(obj.get("windows"), list):
            raise ValueError("schedule JSON needs a 'windows' list")
        return cls(windows=_check_windows(obj["windows"]), t_max=obj.get("t_max", 1.0))


def design_schedule(windows: Sequence, mass: float = 0.5, t_max: float = 1.0) -> PiecewiseSchedule:
    """Design a schedule that puts a fraction ``mass`` of the training times into the given windows.

    The paper's rule (PAPER §1.3, §6.3): half of the time grid into the decision window.  With
    several windows the mass is split in proportion to their ``size`` (jump height; equal split if
    absent).  Window i of width ``L_i`` receiving mass ``m_i`` has relative weight
    ``w_i = (m_i / L_i) / ((1 - mass) / (1 - sum L))``.

    Parameters
    ----------
    windows : sequence of dicts ``{"start", "end"[, "size"]}`` (the detector's output) or tuples
    mass : float in (0, 1)
    t_max : float > 0
    """
    mass = _finite("mass", mass)
    if not 0.0 < mass < 1.0:
        raise ValueError(f"mass must lie in (0, 1), got {mass}")
    ws = []
    if isinstance(windows, (str, bytes, dict)) or not isinstance(windows, Iterable):
        raise ValueError(f"windows must be a list of windows, got {_short(windows)}")
    for i, w in enumerate(windows):
        f = _window_fields(w, i)
        size = f.get("size", f.get("weight", 1.0)) if isinstance(w, dict) else f.get("weight", 1.0)
        ws.append((_finite(f"window {i} start", f["start"]), _finite(f"window {i} end", f["end"]),
                   abs(_finite(f"window {i} size", size))))
    if not ws:
        raise ValueError("windows must not be empty")
    _check_windows([(a, b, 1.0) for a, b, _ in ws])
    total_len = sum(b - a for a, b, _ in ws)
    if total_len >= 1.0:
        raise ValueError("windows cover all of [0, 1]; nothing to oversample")
    sizes = np.array([s for _, _, s in ws])
    shares = sizes / sizes.sum() if sizes.sum() > 0 else np.full(len(ws), 1.0 / len(ws))
    bg = (1.0 - mass) / (1.0 - total_len)
    return PiecewiseSchedule(windows=tuple(Window(a, b, mass * sh / (b - a) / bg)
                                           for (a, b, _), sh in zip(ws, shares)), t_max=t_max)


# ----------------------------------------------------------------------------- baseline densities
@dataclass(frozen=True)
class UniformDensity:
    """p(tau) = 1 on [0, 1] (the usual uniform training times)."""

    name = "uniform"

    def density(self, tau):
        tt = _tau_values(tau)
        out = np.where((tt >= 0) & (tt <= 1), 1.0, 0.0)
        return float(out) if np.ndim(tau) == 0 else out

    def cdf(self, tau):
        out = np.clip(_tau_values(tau), 0.0, 1.0)
        return float(out) if np.ndim(tau) == 0 else out

    def sample(self, k, rng=None):
        return np.random.default_rng(rng).random(int(k))

    def to_dict(self):
        return {"kind": self.name}


@dataclass(frozen=True)
class LogNormalDensity:
    """EDM's training-time density (Karras et al. 2022): ``ln sigma ~ N(p_mean, p_std^2)``.

    EDM's noise level ``sigma`` (x = y + sigma n) corresponds, for the linear interpolant
    ``x_tau = (1 - tau) x0 + tau x1`` rescaled by ``1/tau``, to ``sigma = (1 - tau)/tau``, i.e.
    ``tau = 1 / (1 + sigma)`` (tau = 0 noise, 1 data).  The induced density on tau is
    ``p(tau) = phi((ln sigma - p_mean)/p_std) / (p_std tau (1 - tau))``.
    Defaults: ``p_mean = -1.2``, ``p_std = 1.2`` (EDM).
    """

    p_mean: float = -1.2
    p_std: float = 1.2
    name = "lognormal"

    def __post_init__(self):
        _finite("p_mean", self.p_mean)
        if not _finite("p_std", self.p_std) > 0:
            raise ValueError(f"p_std must be > 0, got {self.p_std}")

    def density(self, tau):
        tt = np.clip(_tau_values(tau), 1e-300, 1 - 1e-16)
        z = (np.log((1 - tt) / tt) - self.p_mean) / self.p_std
        out = stats.norm.pdf(z) / (self.p_std * tt * (1 - tt))
        return float(out) if np.ndim(tau) == 0 else out

    def cdf(self, tau):
        """F(tau) = P(sigma >= (1 - tau)/tau) = 1 - Phi((ln((1-tau)/tau) - p_mean)/p_std)."""
        tt = np.clip(_tau_values(tau), 1e-300, 1 - 1e-16)
        out = stats.norm.sf((np.log((1 - tt) / tt) - self.p_mean) / self.p_std)
        return float(out) if np.ndim(tau) == 0 else out

    def sample(self, k, rng=None):
        sig = np.exp(self.p_mean + self.p_std * np.random.default_rng(rng).standard_normal(int(k)))
        return 1.0 / (1.0 + sig)

    def to_dict(self):
        return {"kind": self.name, "p_mean": self.p_mean, "p_std": self.p_std}


@dataclass(frozen=True)
class LogitNormalDensity:
    """SD3's logit-normal training-time density (Esser et al. 2024).

    SD3 draws ``t_sd3 = sigmoid(m + s z)`` with ``t_sd3 = 0`` data, ``1`` noise
    (``z_t = (1 - t) x0 + t eps``).  In tau = 1 - t_sd3 (0 noise) this is
    ``logit(tau) ~ N(-m, s^2)``: ``p(tau) = phi((logit(tau) + m)/s) / (s tau (1 - tau))``.
    Defaults ``m = 0, s = 1`` (SD3).
    """

    m: float = 0.0
    s: float = 1.0
    name = "logitnormal"

    def __post_init__(self):
        _finite("m", self.m)
        if not _finite("s", self.s) > 0:
            raise ValueError(f"s must be > 0, got {self.s}")

    def density(self, tau):
        tt = np.clip(_tau_values(tau), 1e-300, 1 - 1e-16)
        z = (special.logit(tt) + self.m) / self.s
        out = stats.norm.pdf(z) / (self.s * tt * (1 - tt))
        return float(out) if np.ndim(tau) == 0 else out

    def cdf(self, tau):
        tt = np.clip(_tau_values(tau), 1e-300, 1 - 1e-16)
        out = stats.norm.cdf((special.logit(tt) + self.m) / self.s)
        return float(out) if np.ndim(tau) == 0 else out

    def sample(self, k, rng=None):
        t_sd3 = special.expit(self.m + self.s * np.random.default_rng(rng).standard_normal(int(k)))
        return 1.0 - t_sd3

    def to_dict(self):
        return {"kind": self.name, "m": self.m, "s": self.s}


# ----------------------------------------------------------------------------- loss weights
_WEIGHT_KINDS = ("constant", "snr", "min_snr")


@dataclass(frozen=True)
class LossWeight:
    """Loss weight w(tau) for the linear interpolant (tau = 0 noise, 1 data).

    * ``constant``: w = 1;
    * ``snr``: w = SNR(tau) = tau^2 / (1 - tau)^2;
    * ``min_snr``: w = min(SNR(tau), gamma) (Hang et al. 2023).
    """

    kind: str = "constant"
    gamma: float = 5.0

    def __post_init__(self):
        if self.kind not in _WEIGHT_KINDS:
            raise ValueError(f"kind must be one of {_WEIGHT_KINDS}, got {self.kind!r}")
        if not _finite("gamma", self.gamma) > 0:
            raise ValueError(f"gamma must be > 0, got {self.gamma}")

    def __call__(self, tau):
        tt = np.asarray(tau, dtype=float)
        if self.kind == "constant":
            out = np.ones_like(tt)
        else:
            with np.errstate(divide="ignore"):
                snr = tt ** 2 / (1.0 - tt) ** 2
            out = snr if self.kind == "snr" else np.minimum(snr, self.gamma)
        return float(out) if np.ndim(tau) == 0 else out

    def to_dict(self):
        return {"kind": self.kind, "gamma": self.gamma}


@dataclass(frozen=True)
class TrainingObjective:
    """Interpolant, time density p(tau) and loss weight w(tau), kept separate.

    The expected training loss is ``int_0^1 p(tau) w(tau) L_tau dtau``; :meth:`effective_weight`
    returns ``p * w``.  Two objectives with equal effective weight have the same expected loss but
    spend their gradient steps (and the variance of the estimator) differently.
    """

    density: object = field(default_factory=UniformDensity)
    weight: LossWeight = field(default_factory=LossWeight)
    interpolant: object = None

    def effective_weight(self, tau):
        """p(tau) w(tau)."""
        return np.asarray(self.density.density(tau)) * np.asarray(self.weight(tau))


def _not_a_schedule(obj: dict, what: str, want: str = "a 'kind'") -> str:
    """The one-line refusal of a JSON that is not a schedule (naming what it looks like)."""
    kind = obj.get("kind")
    if kind is None and "windows" in obj:
        return (f"{what} is not a schedule (no 'kind'; it holds windows, like the output of 'schedule detect'): "
                f"make a schedule with 'flowphase schedule design --from FILE'")
    return f"{what} is not a schedule: expected {want}, got kind={_short(kind)} (keys: {', '.join(sorted(obj)[:8])})"


def load_schedule(text, what: str = "schedule JSON"):
    """The one loader of schedule JSONs: a :class:`flowphase.theory.densities.Density`.

    Accepts every schedule the package writes -- ``schedule design`` (``kind: piecewise``, or a density), the
    ``schedule`` object of ``theory windows``, any :meth:`Density.to_dict` -- and refuses, with one line, anything
    else: a JSON without a ``kind`` (a detector's windows are not a schedule), an unknown kind, unknown keys
    (typos) and duplicate keys.
    """
    from flowphase.theory.densities import density_from_dict

    obj = load_json_object(text, what)
    if "kind" not in obj and isinstance(obj.get("schedule"), dict):
        obj = obj["schedule"]                           # the output of `theory windows`
    if "kind" not in obj:
        raise ValueError(_not_a_schedule(obj, what))
    if obj.get("kind") == PiecewiseSchedule.name:
        PiecewiseSchedule.from_json(obj)                # strict checks of the piecewise format
    try:
        return density_from_dict(obj, strict=True)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def schedule_from_json(text):
    """Rebuild a :class:`PiecewiseSchedule` or a baseline density from its JSON (refuses a JSON without a kind)."""
    obj = load_json_object(text, "schedule JSON")
    kind = obj.get("kind")
    if kind is None:
        raise ValueError(_not_a_schedule(obj, "schedule JSON"))
    if kind == PiecewiseSchedule.name:
        return PiecewiseSchedule.from_json(obj)
    if kind == "lognormal":
        return LogNormalDensity(obj.get("p_mean", -1.2), obj.get("p_std", 1.2))
    if kind == "logitnormal":
        return LogitNormalDensity(obj.get("m", 0.0), obj.get("s", 1.0))
    if kind == "uniform":
        return UniformDensity()
    raise ValueError(f"unknown schedule kind {_short(kind)} (this loader knows piecewise, lognormal, logitnormal, "
                     f"uniform; load_schedule reads every density)")
