"""One problem description, shared by the theory and the finite-d simulator.

Every object here is frozen and validated on construction: a bad value raises ``ValueError``
naming the parameter and its allowed range.  The asymptotic solvers (``flowphase.numerics``)
and the simulator (``flowphase.validation``) are both driven by a :class:`Problem`, so the two
can never disagree on conventions.

Conventions (PAPER §1, table of symbols)
----------------------------------------
* data ``x1 = s mu + sigma eta`` with ``mu = 1_d`` (``|mu|^2 = d``), ``s = +1`` w.p. ``p``;
* interpolant ``x_t = alpha(tau) x0 + beta(tau) x1`` with ``x0 ~ N(0, I_d)`` the noise;
  ``alpha`` multiplies the **noise** and ``beta`` the **data** (PAPER §1.2; PREDECESSOR uses the
  opposite letters; the interpolant classes live in :mod:`flowphase.theory.interpolants`);
* the schedule maps the training/sampling time ``t`` to the physical time ``tau(t)`` in [0, 1]:
  :class:`TimeDilation` (PAPER §1.3, t in [0, 2], t = 0 noise, t = 2 data) or
  :class:`UniformSchedule` (undilated, tau = t in [0, 1]);
* the training loss in theory units is
  ``L_t = sum_nu |f_t(x_t^nu) - x1^nu|^2 / d + (lam_u |u|^2 + lam_w |w|^2) / d`` (PAPER §2.3).
"""
from __future__ import annotations

import abc
import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Optional, Union

import numpy as np

from flowphase.theory.conventions import NOISE_CONVENTIONS
from flowphase.theory.checks import count as _check_count
from flowphase.theory.checks import in_range as _check_range
from flowphase.theory.checks import nonnegative as _check_nonnegative
from flowphase.theory.checks import open_unit as _check_open_unit
from flowphase.theory.checks import positive as _check_positive
from flowphase.theory.checks import size as _check_size
from flowphase.theory.interpolants import (CustomInterpolant, Interpolant, LinearInterpolant,
                                           TrigonometricInterpolant)

__all__ = [
    "Mixture",
    "Interpolant",
    "LinearInterpolant",
    "TrigonometricInterpolant",
    "CustomInterpolant",
    "Schedule",
    "TimeDilation",
    "UniformSchedule",
    "TrainingSetup",
    "Problem",
    "NOISE_CONVENTIONS",
    "log_odds",
    "weight_decay_to_lambda",
    "lambda_to_weight_decay",
]


# ----------------------------------------------------------------------------- validation helpers
#: Ranges of the problem parameters: beyond them the closed forms over- or underflow
#: in double precision (sigma^2, 1/sigma^2, atanh(2p - 1), lam / n ...), so such values are refused with
#: the range instead of producing ZeroDivision/Overflow errors or inf downstream.
P_RANGE = (1e-12, 1.0 - 1e-12)
SIGMA_RANGE = (1e-8, 1e8)
KAPPA_RANGE = (1e-12, 1e6)
LAM_RANGE = (1e-12, 1e12)       # or exactly 0


def log_odds(p: float) -> float:
    """h = artanh(2p - 1) = 1/2 ln(p / (1 - p))  (PAPER §1.1, table of symbols)."""
    p = _check_open_unit("p", p)
    return 0.5 * math.log(p / (1.0 - p))


def weight_decay_to_lambda(weight_decay: float, d: float, n_times: int = 1) -> float:
    """Convert a PyTorch-style coupled weight decay to a ridge penalty in theory units.

    The authors' loss is ``n * MSELoss`` averaged over ``d * n * T`` elements with coupled
    (Adam, not AdamW) weight decay ``wd``; its stationary points are those of
    ``(1/(d T)) sum |f - x1|^2 + (wd/2) |u|^2``, i.e. of the theory-unit loss with
    ``lambda = wd * d * T / 2`` (PAPER §2.3).  ``wd = 1e-5, d = 5000, T = 80`` gives ``lambda = 2``.
    """
    wd = _check_nonnegative("weight_decay", weight_decay)
    d = _check_positive("d", d)
    n_times = _check_count("n_times", n_times)
    lam = wd * d * n_times / 2.0
    if not math.isfinite(lam):
        raise ValueError(f"weight_decay * d * n_times / 2 overflows (weight_decay={weight_decay!r}, d={d!r})")
    return lam


def lambda_to_weight_decay(lam: float, d: float, n_times: int = 1) -> float:
    """Inverse of :func:`weight_decay_to_lambda` (PAPER §2.3)."""
    lam = _check_nonnegative("lam", lam)
    d = _check_positive("d", d)
    n_times = _check_count("n_times", n_times)
    wd = 2.0 * lam / (d * n_times)
    if not math.isfinite(wd):
        raise ValueError(f"2 lam / (d n_times) overflows (lam={lam!r}, d={d!r})")
    return wd


# ----------------------------------------------------------------------------- mixture
@dataclass(frozen=True)
class Mixture:
    """Two-mode Gaussian mixture ``p N(+mu, sigma^2 I) + (1-p) N(-mu, sigma^2 I)``, ``|mu|^2 = d``.

    Parameters
    ----------
    p : float in (0, 1)
        Weight of the + mode.
    sigma : float > 0
        Within-mode **standard deviation**.
    d : float >= 1 or ``math.inf``
        Dimension (``mu = 1_d``).  ``inf`` means the asymptotic d -> infinity theory.

    Notes
    -----
    PAPER §1.1.  ``h = artanh(2p-1)`` is exposed as :attr:`h`.
    """

    p: float = 0.8
    sigma: float = 1.0
    d: float = math.inf

    def __post_init__(self):
        object.__setattr__(self, "p", _check_range("p", self.p, *P_RANGE))
        object.__setattr__(self, "sigma", _check_range("sigma", self.sigma, *SIGMA_RANGE))
        object.__setattr__(self, "d", _check_size("d", self.d))

    @property
    def h(self) -> float:
        """Log-odds h = artanh(2p - 1)."""
        return log_odds(self.p)

    @property
    def variance(self) -> float:
        return self.sigma ** 2

    def sample(self, n: int, d: Optional[int] = None, rng=None, labels: str = "bernoulli",
               dtype=np.float64):
        """Draw ``n`` points ``x1 = s mu + sigma eta`` (PAPER §1.1).

        ``labels='bernoulli'`` draws s i.i.d.; ``labels='exact'`` uses exactly ``round(p n)``
        positive labels (shuffled).  Returns ``(x1, s, eta)`` with shapes (n, d), (n,), (n, d).
        """
        d = int(self.d if d is None else d)
        if d < 1:
            raise ValueError(f"d must be >= 1, got {d}")
        if int(n) < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        rng = np.random.default_rng(rng)
        s = class_labels(self.p, int(n), rng, labels)
        eta = rng.standard_normal((int(n), d)).astype(dtype, copy=False)
        x1 = (s[:, None] + self.sigma * eta).astype(dtype, copy=False)
        return x1, s.astype(dtype), eta


def class_labels(p: float, n: int, rng, labels: str = "bernoulli") -> np.ndarray:
    """Mode labels s in {+1, -1}: i.i.d. Bernoulli(p) or exactly round(p n) positives."""
    if labels == "bernoulli":
        return np.where(rng.random(n) < p, 1.0, -1.0)
    if labels == "exact":
        k = int(round(p * n))
        s = np.concatenate([np.ones(k), -np.ones(n - k)])
        rng.shuffle(s)
        return s
    raise ValueError(f"labels must be 'bernoulli' or 'exact', got {labels!r}")


# ----------------------------------------------------------------------------- schedules
class Schedule(abc.ABC):
    """Maps training/sampling time t to physical interpolation time tau(t) in [0, 1]."""

    t_min = 0.0
    t_max = 1.0
    name = "schedule"

    def check_t(self, t):
        """Raise ``ValueError`` if any t lies outside [t_min, t_max]."""
        if type(t) is float or type(t) is np.float64:   # scalar fast path (solvers call this once per time)
            if self.t_min <= t <= self.t_max:
                return t
            raise ValueError(f"t must lie in [{self.t_min}, {self.t_max}] for the {self.name} schedule, got {t!r}")
        arr = np.asarray(t)
        if arr.dtype.kind not in "iuf" or isinstance(t, (bool, np.bool_)):
            raise ValueError(f"t must be a real number or an array of them, got {t!r}")
        arr = arr.astype(float)
        if arr.size == 0:
            raise ValueError("t must not be empty")
        # exact bounds: a time 1e-12 outside would reach tau > 1 and fail later with an unrelated message
        if np.any(~np.isfinite(arr)) or np.any(arr < self.t_min) or np.any(arr > self.t_max):
            raise ValueError(f"t must lie in [{self.t_min}, {self.t_max}] for the {self.name} schedule, got {t!r}")
        return t

    @abc.abstractmethod
    def tau(self, t):
        """tau as a function of t."""

    @abc.abstractmethod
    def dtau(self, t):
        """dtau as a function of t."""

    def phase(self, t) -> int:
        return 2

    def grid(self, n_times: int, endpoint: bool = False) -> np.ndarray:
        """The authors' training grid: ``t_k = t_max * k / T``, k = 0..T-1 (PAPER §2.1)."""
        if isinstance(n_times, (bool, np.bool_)) or not isinstance(n_times, numbers.Integral) \
                or not 1 <= int(n_times) <= 10 ** 8:
            raise ValueError(f"n_times must be an integer in [1, 1e8], got {n_times!r}")
        return np.linspace(self.t_min, self.t_max, int(n_times) + (1 if endpoint else 0), endpoint=endpoint)


@dataclass(frozen=True)
class TimeDilation(Schedule):
    """The paper's time dilation ("dVP") on t in [0, 2] (PAPER §1.3).

    * phase 1, t in [0, 1]: ``tau = kappa t / sqrt(d)``, ``dtau/dt = kappa / sqrt(d)``;
    * phase 2, t in [1, 2]: ``tau = kappa/sqrt(d) + (1 - kappa/sqrt(d)) (t - 1)``.

    With ``d = inf`` the schedule is the asymptotic one: tau = 0 on phase 1 (the window is
    resolved by the O(1) variable ``kappa t``) and ``tau = t - 1`` on phase 2.
    Requires ``kappa / sqrt(d) < 1``.
    """

    kappa: float = 2.0
    d: float = math.inf
    name = "dilated"
    t_min = 0.0
    t_max = 2.0

    def __post_init__(self):
        object.__setattr__(self, "kappa", _check_range("kappa", self.kappa, *KAPPA_RANGE))
        d = _check_size("d", self.d)
        object.__setattr__(self, "d", d)
        if self.kappa / math.sqrt(d) >= 1.0:
            raise ValueError(f"kappa/sqrt(d) must be < 1 for the time dilation, got kappa={self.kappa}, d={d}")

    @property
    def tau_break(self) -> float:
        """tau(1) = kappa / sqrt(d)."""
        return self.kappa / math.sqrt(self.d)

    def phase(self, t) -> int:
        self.check_t(t)
        return 1 if float(t) <= 1.0 else 2

    def tau(self, t):
        self.check_t(t)
        e = self.tau_break
        tt = np.asarray(t, dtype=float)
        out = np.where(tt <= 1.0, e * tt, e + (1.0 - e) * (tt - 1.0))
        return float(out) if np.ndim(t) == 0 else out

    def dtau(self, t):
        self.check_t(t)
        e = self.tau_break
        tt = np.asarray(t, dtype=float)
        out = np.where(tt < 1.0, e, 1.0 - e)
        return float(out) if np.ndim(t) == 0 else out

    def to_dict(self) -> dict:
        return {"kind": self.name, "kappa": self.kappa, "d": self.d}


@dataclass(frozen=True)
class UniformSchedule(Schedule):
    """The undilated schedule: tau = t on [0, 1] (PAPER §2.6 "VP", §3.7)."""

    name = "uniform"
    t_min = 0.0
    t_max = 1.0

    def tau(self, t):
        self.check_t(t)
        return float(t) if np.ndim(t) == 0 else np.asarray(t, dtype=float).copy()

    def dtau(self, t):
        self.check_t(t)
        return 1.0 if np.ndim(t) == 0 else np.ones_like(np.asarray(t, dtype=float))

    def to_dict(self) -> dict:
        return {"kind": self.name}


# ----------------------------------------------------------------------------- training setup
@dataclass(frozen=True)
class TrainingSetup:
    """Finite-sample training setup (PAPER §2.3, §3.2, §3.4).

    Parameters
    ----------
    n : int >= 1 or ``math.inf``
        Number of training points (``inf``: population limit).
    lam_u, lam_w : float >= 0
        Ridge penalties in theory units (see :func:`weight_decay_to_lambda`).
    noise : {'fresh', 'fixed', 'notebook'}
        ``fresh``: a new x0 for each point at every step (the authors' code); ``fixed``: one x0
        per point shared by all t (Cui et al.); ``notebook``: the authors' overlaps notebook
        phase-2 formula (B = n + lam_u + 1), kept only to redraw their figure (PAPER §3.4).
    """

    n: float = math.inf
    lam_u: float = 2.0
    lam_w: float = 2.0
    noise: str = "fresh"

    def __post_init__(self):
        object.__setattr__(self, "n", _check_size("n", self.n))
        object.__setattr__(self, "lam_u", _check_range("lam_u", self.lam_u, *LAM_RANGE, zero_ok=True))
        object.__setattr__(self, "lam_w", _check_range("lam_w", self.lam_w, *LAM_RANGE, zero_ok=True))
        if not isinstance(self.noise, str) or self.noise not in NOISE_CONVENTIONS:
            raise ValueError(f"noise must be one of {tuple(NOISE_CONVENTIONS)}, got {self.noise!r}")

    @property
    def infinite(self) -> bool:
        return math.isinf(self.n)


# ----------------------------------------------------------------------------- problem
@dataclass(frozen=True)
class Problem:
    """The single problem description: mixture, interpolant, schedule and training setup.

    Build the usual dilated problem with :meth:`Problem.dilated` and the undilated baseline with
    :meth:`Problem.undilated`.  The schedule's ``d`` must equal the mixture's ``d``.
    """

    mixture: Mixture = field(default_factory=Mixture)
    schedule: Schedule = field(default_factory=TimeDilation)
    training: TrainingSetup = field(default_factory=TrainingSetup)
    interpolant: Interpolant = field(default_factory=LinearInterpolant)

    def __post_init__(self):
        if not isinstance(self.mixture, Mixture):
            raise ValueError("mixture must be a Mixture")
        if not isinstance(self.schedule, Schedule):
            raise ValueError("schedule must be a Schedule")
        if not isinstance(self.training, TrainingSetup):
            raise ValueError("training must be a TrainingSetup")
        if not isinstance(self.interpolant, Interpolant):
            raise ValueError("interpolant must be an Interpolant")
        if isinstance(self.schedule, TimeDilation) and self.schedule.d != self.mixture.d:
            raise ValueError(f"schedule d ({self.schedule.d}) must equal mixture d ({self.mixture.d})")

    # -- constructors
    @classmethod
    def dilated(cls, *, p=0.8, sigma=1.0, kappa=2.0, d=math.inf, n=math.inf, lam_u=2.0, lam_w=2.0,
                noise="fresh", interpolant: Optional[Interpolant] = None) -> "Problem":
        mix = Mixture(p=p, sigma=sigma, d=d)
        return cls(mixture=mix, schedule=TimeDilation(kappa=kappa, d=mix.d),
                   training=TrainingSetup(n=n, lam_u=lam_u, lam_w=lam_w, noise=noise),
                   interpolant=interpolant or LinearInterpolant())

    @classmethod
    def undilated(cls, *, p=0.8, sigma=1.0, d=math.inf, n=math.inf, lam_u=2.0, lam_w=2.0,
                  noise="fresh", interpolant: Optional[Interpolant] = None) -> "Problem":
        return cls(mixture=Mixture(p=p, sigma=sigma, d=d), schedule=UniformSchedule(),
                   training=TrainingSetup(n=n, lam_u=lam_u, lam_w=lam_w, noise=noise),
                   interpolant=interpolant or LinearInterpolant())

    def replace(self, **kw) -> "Problem":
        """Return a copy with mixture/training/schedule fields replaced by keyword
        (``p, sigma, d, kappa, n, lam_u, lam_w, noise``)."""
        mix_kw = {k: kw.pop(k) for k in ("p", "sigma", "d") if k in kw}
        tr_kw = {k: kw.pop(k) for k in ("n", "lam_u", "lam_w", "noise") if k in kw}
        kappa = kw.pop("kappa", None)
        if kw:
            raise ValueError(f"unknown problem parameter(s): {sorted(kw)}")
        mix = replace(self.mixture, **mix_kw)
        tr = replace(self.training, **tr_kw)
        sched = self.schedule
        if isinstance(sched, TimeDilation):
            sched = TimeDilation(kappa=sched.kappa if kappa is None else kappa, d=mix.d)
        elif kappa is not None:
            raise ValueError("kappa only applies to the dilated schedule")
        return Problem(mixture=mix, schedule=sched, training=tr, interpolant=self.interpolant)

    # -- shortcuts
    @property
    def p(self):
        return self.mixture.p

    @property
    def sigma(self):
        return self.mixture.sigma

    @property
    def d(self):
        return self.mixture.d

    @property
    def h(self):
        return self.mixture.h

    @property
    def n(self):
        return self.training.n

    @property
    def kappa(self):
        if isinstance(self.schedule, TimeDilation):
            return self.schedule.kappa
        return None

    @property
    def dilated_schedule(self) -> bool:
        return isinstance(self.schedule, TimeDilation)

    def phase(self, t) -> int:
        """1 for t in [0, 1] of the dilated schedule, 2 otherwise (undilated: always 2)."""
        return self.schedule.phase(t)

    def tau(self, t):
        return self.schedule.tau(t)

    def coefficients(self, t):
        """(alpha, beta, dalpha/dt, dbeta/dt) at schedule time t, chain rule through tau(t)."""
        tau = self.schedule.tau(t)
        dt = self.schedule.dtau(t)
        it = self.interpolant
        return it.alpha(tau), it.beta(tau), it.dalpha(tau) * dt, it.dbeta(tau) * dt

    def velocity_coefficients(self, t):
        """Velocity b_t(x) = a_x(t) x + a_f(t) f_t(x) (PAPER §2.4).

        With E[x0 | x_t] = (x - beta f)/alpha: ``a_x = alpha'/alpha`` and
        ``a_f = beta' - alpha' beta / alpha``.  For the linear interpolant this is
        ``tau'/(1 - tau) (f - x)``.
        """
        alpha, beta, dalpha, dbeta = self.coefficients(t)
        return dalpha / alpha, dbeta - dalpha * beta / alpha

    def to_dict(self) -> dict:
        """Every parameter, JSON-serialisable (inf as the string 'inf'); :meth:`from_dict` rebuilds the problem.

        The built-in schedules (``dilated``, ``uniform``) and interpolants (``linear``, ``trigonometric``) are
        named; any other schedule (e.g. :class:`flowphase.numerics.schedules.PiecewiseSchedule`, windows and
        ``t_max``) adds ``schedule_params`` and any other interpolant ``interpolant_params`` (its class and
        fields; functions as ``"module:qualname"`` references, importable when defined at module level).  Keys
        are added only when they carry information, so the dict of a built-in problem is unchanged.
        """
        def f(x):
            return "inf" if isinstance(x, float) and math.isinf(x) else x
        out = {
            "p": self.p, "sigma": self.sigma, "d": f(self.d),
            "n": f(self.n), "lam_u": self.training.lam_u, "lam_w": self.training.lam_w,
            "noise": self.training.noise, "schedule": self.schedule.name,
            "interpolant": self.interpolant.name,
        }
        if self.kappa is not None:
            out["kappa"] = self.kappa
        if not isinstance(self.schedule, (TimeDilation, UniformSchedule)):
            out["schedule_params"] = dict(self.schedule.to_dict(), **{"class": _class_path(type(self.schedule))})
        if not isinstance(self.interpolant, (LinearInterpolant, TrigonometricInterpolant)):
            out["interpolant_params"] = _interpolant_params(self.interpolant)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Problem":
        """Inverse of :meth:`to_dict` (``ValueError`` naming what is missing or not rebuildable)."""
        if not isinstance(data, dict):
            raise ValueError(f"Problem.from_dict needs a dict, got {type(data).__name__}")
        known = {"p", "sigma", "d", "n", "lam_u", "lam_w", "noise", "schedule", "interpolant", "kappa",
                 "schedule_params", "interpolant_params"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown problem key(s): {unknown}")
        missing = [k for k in ("p", "sigma", "d", "n", "lam_u", "lam_w", "noise", "schedule", "interpolant")
                   if k not in data]
        if missing:
            raise ValueError(f"problem dict lacks {missing}")

        def num(k):
            v = data[k]
            return math.inf if v == "inf" else v
        mix = Mixture(p=data["p"], sigma=data["sigma"], d=num("d"))
        tr = TrainingSetup(n=num("n"), lam_u=data["lam_u"], lam_w=data["lam_w"], noise=data["noise"])
        kind = data["schedule"]
        if kind == TimeDilation.name:
            if "kappa" not in data:
                raise ValueError("a dilated problem dict needs 'kappa'")
            sched = TimeDilation(kappa=data["kappa"], d=mix.d)
        elif kind == UniformSchedule.name:
            sched = UniformSchedule()
        else:
            params = data.get("schedule_params")
            if not isinstance(params, dict) or "class" not in params:
                raise ValueError(f"schedule {kind!r} needs 'schedule_params' with its 'class'")
            sc = _import_path(params["class"], Schedule, "schedule")
            body = {k: v for k, v in params.items() if k != "class"}
            sched = sc.from_json(body) if hasattr(sc, "from_json") else sc(**body)
        name = data["interpolant"]
        if name == LinearInterpolant.name and "interpolant_params" not in data:
            interp = LinearInterpolant()
        elif name == TrigonometricInterpolant.name and "interpolant_params" not in data:
            interp = TrigonometricInterpolant()
        else:
            interp = _interpolant_from_params(data.get("interpolant_params"), name)
        return cls(mixture=mix, schedule=sched, training=tr, interpolant=interp)


def _class_path(obj) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _import_path(path, base=None, what="object"):
    """Import ``"module:qualname"`` (refusing anything that is not one, or not a ``base`` subclass)."""
    import importlib

    if not isinstance(path, str) or path.count(":") != 1 or "<" in path:
        raise ValueError(f"{what} reference {path!r} is not an importable 'module:qualname' (a lambda or a local "
                         "function cannot be rebuilt from a dict; define it at module level)")
    mod, qual = path.split(":")
    try:
        obj = importlib.import_module(mod)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import {what} {path!r}: {exc}") from None
    if base is not None and not (isinstance(obj, type) and issubclass(obj, base)):
        raise ValueError(f"{path!r} is not a {base.__name__}")
    return obj


def _interpolant_params(it) -> dict:
    import dataclasses

    out = {"class": _class_path(type(it))}
    if dataclasses.is_dataclass(it):
        for fl in dataclasses.fields(it):
            v = getattr(it, fl.name)
            out[fl.name] = {"callable": _class_path(v)} if callable(v) else v
    return out


def _interpolant_from_params(params, name):
    if not isinstance(params, dict) or "class" not in params:
        raise ValueError(f"interpolant {name!r} needs 'interpolant_params' with its 'class'")
    ic = _import_path(params["class"], Interpolant, "interpolant")
    kw = {}
    for k, v in params.items():
        if k == "class":
            continue
        kw[k] = _import_path(v["callable"], None, f"interpolant function {k!r}") if isinstance(v, dict) \
            and set(v) == {"callable"} else v
    return ic(**kw)
