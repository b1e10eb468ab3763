"""Adaptive training-time samplers: they learn from the losses of the user's own training.

Both have the interface of :class:`flowphase.validation.pytorch.samplers.TimestepSampler` (``sampler(batch_size,
device=None, generator=None)``, ``importance_weights(t)``, a ``convention``) plus ``update(t, losses)`` (the times
of the batch, in the sampler's convention, and the per-example losses) and ``state_dict()`` /
``load_state_dict()`` (a resumed run draws the same times as an uninterrupted one).

* :class:`LossAwareSampler` -- improved-diffusion's loss-second-moment resampler over ``n_bins`` equal bins of
  tau: the last ``history_per_term`` losses of every bin; once every bin is full, bin ``j`` is drawn with
  probability ``(1 - uniform_prob) sqrt(E[L_j^2]) / sum_k sqrt(E[L_k^2]) + uniform_prob / n_bins`` (uniform
  inside the bin), before that uniformly.
* :class:`PhaseAwareSampler` -- the paper's "detect the transition from the MSE, then dilate there", online:
  a running per-bin mean of the losses converted to the data-prediction MSE (``loss_kind``), the MSE-jump
  detector :func:`flowphase.numerics.detect.detect_windows` run on it every ``detect_every`` updates, and
  ``phase_aware(base, windows, mass)`` (:mod:`flowphase.theory.densities`) as the new sampling density, with a
  uniform exploration share ``explore`` so that every bin keeps being measured.

``update`` only appends the batch to a buffer (two tensor references); the buffered losses are binned when they
are needed (LossAwareSampler: before the next draw; PhaseAwareSampler: at the next detection), so the per-step
cost is a few microseconds (benchmarks/bench_samplers.py).
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch

from flowphase.numerics.detect import detect_windows
from flowphase.theory.densities import Density, MixtureDensity, Uniform, Windows, phase_aware

from .samplers import TimestepSampler, _INT_CONVENTIONS, _check_n, check_convention, from_convention, \
    to_convention

__all__ = ["LossAwareSampler", "PhaseAwareSampler", "LOSS_KINDS"]

#: per-example loss -> data-prediction (x1) MSE, as a factor of tau: velocity v = (x1 - x)/(1 - tau) on the linear
#: interpolant, so |v err|^2 = |x1 err|^2 / (1 - tau)^2; noise prediction: |x1 err|^2 = ((1-tau)/tau)^2 |x0 err|^2
LOSS_KINDS = {"velocity": lambda tau: (1.0 - tau) ** 2, "data": lambda tau: np.ones_like(tau),
              "noise": lambda tau: ((1.0 - tau) / np.maximum(tau, 1e-12)) ** 2}


def _int_arg(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= int(value) <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _unit_arg(name, value, lo_open=False, hi_open=True):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}") from None
    lo_ok = v > 0.0 if lo_open else v >= 0.0
    hi_ok = v < 1.0 if hi_open else v <= 1.0
    if not (lo_ok and hi_ok):
        raise ValueError(f"{name} must lie in {'(' if lo_open else '['}0, 1{')' if hi_open else ']'}, got {value!r}")
    return v


class _Buffered:
    """Shared plumbing: convention, bins of tau, the update buffer."""

    def __init__(self, n_bins, convention, num_train_timesteps, dtype):
        self.n_bins = _int_arg("n_bins", n_bins, 3, 10 ** 6)
        self.convention = check_convention(convention)
        self.num_train_timesteps = _check_n(num_train_timesteps)
        self.dtype = dtype
        self._pending: List = []

    def update(self, t, losses) -> None:
        """Record the batch's times ``t`` (this sampler's convention) and per-example ``losses`` (same length)."""
        t = t.detach() if isinstance(t, torch.Tensor) else torch.as_tensor(t)
        losses = losses.detach() if isinstance(losses, torch.Tensor) else torch.as_tensor(losses)
        if t.shape != losses.shape or t.dim() != 1:
            raise ValueError(f"update needs t and losses of the same (batch,) shape, got {tuple(t.shape)} and "
                             f"{tuple(losses.shape)}")
        self._pending.append((t, losses))

    def _drain(self):
        """The buffered (tau, loss) as float64 numpy arrays, in update order; empties the buffer."""
        if not self._pending:
            return np.empty(0), np.empty(0)
        t = torch.cat([a for a, _ in self._pending]).cpu()
        loss = torch.cat([b for _, b in self._pending]).double().cpu().numpy()
        self._pending = []
        tau = from_convention(t, self.convention, self.num_train_timesteps).double().numpy()
        if not (np.all(np.isfinite(loss)) and np.all((tau >= 0) & (tau <= 1))):
            raise ValueError("update: losses must be finite and t must map to tau in [0, 1]")
        return tau, loss

    def _bin(self, tau):
        return np.clip((tau * self.n_bins).astype(np.int64), 0, self.n_bins - 1)

    def _convert(self, tau: torch.Tensor) -> torch.Tensor:
        if self.convention in ("edm", "k-diffusion"):
            tau = torch.clamp(tau, min=2.0 ** -60)
        out = to_convention(tau, self.convention, self.num_train_timesteps)
        return out if self.convention in _INT_CONVENTIONS else out.to(self.dtype)


class LossAwareSampler(_Buffered):
    """improved-diffusion's ``LossSecondMomentResampler`` over ``n_bins`` bins of tau (module docstring).

    Parameters
    ----------
    n_bins : int
        Equal bins of tau in [0, 1] (the "terms" of improved-diffusion).
    history_per_term : int
        Losses kept per bin (ring buffer).
    uniform_prob : float in [0, 1)
        Uniform floor mixed into the bin probabilities.
    refresh_every : int
        The buffered losses enter the histories (and the probabilities are recomputed) once this many updates are
        pending (1: after every update, as improved-diffusion; the histories are identical either way, only the
        probabilities lag by fewer than ``refresh_every`` steps).
    convention, num_train_timesteps, dtype
        As for :class:`flowphase.validation.pytorch.samplers.TimestepSampler`.
    """

    def __init__(self, *, n_bins: int = 100, history_per_term: int = 10, uniform_prob: float = 0.001,
                 refresh_every: int = 10, convention: str = "torchcfm", num_train_timesteps: int = 1000,
                 dtype=torch.float32):
        super().__init__(n_bins, convention, num_train_timesteps, dtype)
        self.refresh_every = _int_arg("refresh_every", refresh_every, 1, 10 ** 9)
        self.history_per_term = _int_arg("history_per_term", history_per_term, 1, 10 ** 6)
        self.uniform_prob = _unit_arg("uniform_prob", uniform_prob)
        self._history = np.zeros((self.n_bins, self.history_per_term))
        self._counts = np.zeros(self.n_bins, dtype=np.int64)
        self._probs = None
        self._sampler, self._sampler_probs = None, None

    # -- state
    def _ingest(self):
        tau, loss = self._drain()
        if tau.size == 0:
            return
        b = self._bin(tau)
        order = np.argsort(b, kind="stable")  # keeps update order within a bin
        bs, ls = b[order], loss[order]
        nb = np.bincount(bs, minlength=self.n_bins)
        first = np.concatenate([[0], np.cumsum(nb)[:-1]])
        rank = np.arange(bs.size) - first[bs]
        h = self.history_per_term
        keep = rank >= nb[bs] - h  # only the last h losses of each bin survive
        pos = (self._counts[bs] + rank) % h
        self._history[bs[keep], pos[keep]] = ls[keep]
        self._counts += nb
        self._probs = None

    def weights(self) -> np.ndarray:
        """Probabilities of the bins (uniform until every bin holds ``history_per_term`` losses)."""
        if len(self._pending) >= self.refresh_every or self._probs is None:
            self._ingest()
        if self._probs is None:
            if np.all(self._counts >= self.history_per_term):
                w = np.sqrt(np.mean(self._history ** 2, axis=1))
                w = w / w.sum() if w.sum() > 0 else np.full(self.n_bins, 1.0 / self.n_bins)
                w = w * (1.0 - self.uniform_prob) + self.uniform_prob / self.n_bins
            else:
                w = np.full(self.n_bins, 1.0 / self.n_bins)
            self._probs = w / w.sum()
        return self._probs

    def density(self) -> Windows:
        """The current sampling density (piecewise uniform on the bins)."""
        e = np.arange(self.n_bins + 1) / self.n_bins
        return Windows(list(zip(e[:-1], e[1:])), self.weights().tolist())

    # -- drawing
    def _current(self) -> TimestepSampler:
        """A tabulated sampler of the current piecewise-uniform density (rebuilt when the weights change)."""
        w = self.weights()
        if self._sampler is None or self._sampler_probs is not w:
            edges = np.arange(self.n_bins + 1) / self.n_bins
            dens = Windows(list(zip(edges[:-1], edges[1:])), w.tolist())
            self._sampler = TimestepSampler(dens, convention=self.convention,
                                            num_train_timesteps=self.num_train_timesteps, table_size=4096,
                                            dtype=self.dtype, knots=edges)
            self._sampler_probs = w
        return self._sampler

    def sample_tau(self, batch_size, device=None, generator: Optional[torch.Generator] = None,
                   dtype=torch.float32) -> torch.Tensor:
        return self._current().sample_tau(batch_size, device=device, generator=generator, dtype=dtype)

    def __call__(self, batch_size, device=None, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        return self._current()(batch_size, device=device, generator=generator)

    def importance_weights(self, t) -> torch.Tensor:
        """``1/p(tau) = 1/(n_bins P(bin))``: keeps the uniform objective unbiased (improved-diffusion's weights)."""
        t = torch.as_tensor(t)
        tau = from_convention(t, self.convention, self.num_train_timesteps).double().cpu().numpy()
        p = self.weights()[self._bin(tau)] * self.n_bins
        return torch.as_tensor(1.0 / p, dtype=self.dtype, device=t.device)

    def state_dict(self) -> dict:
        self._ingest()
        return {"kind": "loss-aware", "n_bins": self.n_bins, "history_per_term": self.history_per_term,
                "uniform_prob": self.uniform_prob, "convention": self.convention,
                "num_train_timesteps": self.num_train_timesteps, "history": torch.as_tensor(self._history.copy()),
                "counts": torch.as_tensor(self._counts.copy())}

    def load_state_dict(self, state: dict) -> None:
        if not isinstance(state, dict) or state.get("kind") != "loss-aware":
            raise ValueError("not a LossAwareSampler state_dict")
        for key in ("n_bins", "history_per_term", "convention", "num_train_timesteps"):
            if state[key] != getattr(self, key):
                raise ValueError(f"state_dict {key} = {state[key]!r} differs from this sampler's "
                                 f"{getattr(self, key)!r}")
        self.uniform_prob = _unit_arg("uniform_prob", state["uniform_prob"])
        hist = np.asarray(torch.as_tensor(state["history"]).double().numpy())
        counts = np.asarray(torch.as_tensor(state["counts"]).numpy(), dtype=np.int64)
        if hist.shape != self._history.shape or counts.shape != self._counts.shape:
            raise ValueError("state_dict history/counts have the wrong shape")
        self._history, self._counts, self._pending, self._probs = hist.copy(), counts.copy(), [], None


class PhaseAwareSampler(_Buffered):
    """Online phase-aware sampler (module docstring): detect the loss jump, move ``mass`` into its window.

    Parameters
    ----------
    base : Density
        The density to start from and to keep ``1 - mass`` of (e.g. ``LogitNormal(0, 1)``).
    mass : float in (0, 1)
        Share of the draws moved uniformly into the detected windows.
    n_bins : int
        Equal bins of tau on which the running loss curve is kept (resolve the window: ``n_bins >> sqrt(d)``).
    detect_every : int
        Run the detector every this many updates (``K``).
    ema : float in [0, 1)
        The running per-bin loss is ``ema * old + (1 - ema) * (mean over the last K updates)``.
    explore : float in [0, 1)
        Uniform share of the draws, so that bins the base density never visits are measured.
    loss_kind : ``"velocity"``, ``"data"`` or ``"noise"``
        What the loss measures (:data:`LOSS_KINDS`); it is converted to the data-prediction MSE, the curve whose
        jump marks a decision window (PAPER §4).
    detector : dict, optional
        Keyword arguments of :func:`flowphase.numerics.detect.detect_windows` (``rel_height``, ``min_sharpness``,
        ``min_size``, ``min_points``).
    convention, num_train_timesteps, dtype, table_size
        As for :class:`flowphase.validation.pytorch.samplers.TimestepSampler`.
    merge_gap : int
        Detected windows at most this many bins apart are merged (a single noisy bin must not split a window).
    """

    def __init__(self, base: Density, *, mass: float = 0.5, n_bins: int = 256, detect_every: int = 100,
                 ema: float = 0.5, explore: float = 0.05, loss_kind: str = "velocity", detector: Optional[dict] = None,
                 convention: str = "torchcfm", num_train_timesteps: int = 1000, dtype=torch.float32,
                 table_size: int = 4096, merge_gap: int = 2):
        super().__init__(n_bins, convention, num_train_timesteps, dtype)
        self.merge_gap = _int_arg("merge_gap", merge_gap, 0, 10 ** 6)
        if not isinstance(base, Density):
            raise ValueError(f"base must be a flowphase.theory.densities.Density, got {type(base).__name__}")
        self.base = base
        self.mass = _unit_arg("mass", mass, lo_open=True)
        self.detect_every = _int_arg("detect_every", detect_every, 1, 10 ** 9)
        self.ema = _unit_arg("ema", ema)
        self.explore = _unit_arg("explore", explore)
        if loss_kind not in LOSS_KINDS:
            raise ValueError(f"loss_kind must be one of {tuple(LOSS_KINDS)}, got {loss_kind!r}")
        self.loss_kind = loss_kind
        self.detector = dict(detector or {})
        bad = set(self.detector) - {"rel_height", "min_sharpness", "min_size", "min_points"}
        if bad:
            raise ValueError(f"detector accepts rel_height, min_sharpness, min_size, min_points; got {sorted(bad)}")
        self.table_size = _int_arg("table_size", table_size, 16, 2 ** 24)
        self._base_knots = np.asarray(base.quantile(np.linspace(0.0, 1.0, self.table_size + 1)), dtype=float)
        self._curve = np.full(self.n_bins, np.nan)
        self._counts = np.zeros(self.n_bins, dtype=np.int64)
        self.steps = 0
        self.windows: List[tuple] = []
        self.detections = 0
        self._set_density()

    # -- the sampling density
    @property
    def centres(self) -> np.ndarray:
        return (np.arange(self.n_bins) + 0.5) / self.n_bins

    @property
    def curve(self) -> np.ndarray:
        """The running per-bin data-prediction MSE (NaN for bins never measured)."""
        return self._curve.copy()

    def _set_density(self):
        dens = self.base if not self.windows else phase_aware(self.base, self.windows, self.mass)
        if self.explore > 0:
            dens = MixtureDensity([dens, Uniform()], [1.0 - self.explore, self.explore])
        edges = [e for w in self.windows for e in w]
        self.density = dens
        self._sampler = TimestepSampler(dens, convention=self.convention,
                                        num_train_timesteps=self.num_train_timesteps, table_size=self.table_size,
                                        dtype=self.dtype, knots=np.concatenate([self._base_knots, edges]))

    def _ingest(self):
        tau, loss = self._drain()
        if tau.size == 0:
            return
        b = self._bin(tau)
        mse = loss * LOSS_KINDS[self.loss_kind](tau)
        n = np.bincount(b, minlength=self.n_bins)
        s = np.bincount(b, weights=mse, minlength=self.n_bins)
        seen = n > 0
        mean = np.where(seen, s / np.maximum(n, 1), np.nan)
        old = self._curve
        fresh = seen & np.isnan(old)
        both = seen & ~np.isnan(old)
        self._curve = np.where(fresh, mean, np.where(both, self.ema * old + (1.0 - self.ema) * mean, old))
        self._counts += n

    def detect(self) -> list:
        """Run the detector on the running curve now and reset the sampling density; returns the windows."""
        self._ingest()
        ok = np.isfinite(self._curve)
        self.detections += 1
        wins = []
        if ok.sum() >= 3:
            c, y = self.centres[ok], self._curve[ok]
            h = 0.5 / self.n_bins
            for w in detect_windows(c, y, **self.detector):
                a, b = max(0.0, w.start - h), min(1.0, w.end + h)
                if wins and a - wins[-1][1] <= self.merge_gap / self.n_bins + 1e-12:
                    wins[-1] = (wins[-1][0], float(b))  # one noisy bin must not split a window
                elif b > a:
                    wins.append((float(a), float(b)))
        if wins != self.windows:
            self.windows = wins
            self._set_density()
        return list(self.windows)

    def update(self, t, losses) -> None:
        """Record a batch (``t`` in this sampler's convention, per-example ``losses``); every ``detect_every``
        updates the detector runs and the sampling density is reset."""
        super().update(t, losses)
        self.steps += 1
        if self.steps % self.detect_every == 0:
            self.detect()

    # -- drawing
    def sample_tau(self, batch_size, device=None, generator=None, dtype=torch.float32):
        return self._sampler.sample_tau(batch_size, device=device, generator=generator, dtype=dtype)

    def __call__(self, batch_size, device=None, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        return self._sampler(batch_size, device=device, generator=generator)

    def importance_weights(self, t) -> torch.Tensor:
        """``1/p(tau)`` of the current sampling density (keeps the uniform objective unbiased)."""
        return self._sampler.importance_weights(t)

    def window_mass(self) -> float:
        """Probability of the current density in the detected windows."""
        return float(sum(self.density.mass(a, b) for a, b in self.windows))

    def state_dict(self) -> dict:
        self._ingest()
        return {"kind": "phase-aware", "base": self.base.to_dict(), "mass": self.mass, "n_bins": self.n_bins,
                "detect_every": self.detect_every, "ema": self.ema, "explore": self.explore,
                "loss_kind": self.loss_kind, "detector": dict(self.detector), "convention": self.convention,
                "num_train_timesteps": self.num_train_timesteps, "steps": self.steps,
                "detections": self.detections, "windows": [list(w) for w in self.windows],
                "curve": torch.as_tensor(self._curve.copy()), "counts": torch.as_tensor(self._counts.copy())}

    def load_state_dict(self, state: dict) -> None:
        if not isinstance(state, dict) or state.get("kind") != "phase-aware":
            raise ValueError("not a PhaseAwareSampler state_dict")
        for key in ("n_bins", "convention", "num_train_timesteps"):
            if state[key] != getattr(self, key):
                raise ValueError(f"state_dict {key} = {state[key]!r} differs from this sampler's "
                                 f"{getattr(self, key)!r}")
        if state["base"] != self.base.to_dict():
            raise ValueError("state_dict base density differs from this sampler's base")
        self.mass = _unit_arg("mass", state["mass"], lo_open=True)
        self.detect_every = _int_arg("detect_every", state["detect_every"], 1, 10 ** 9)
        self.ema = _unit_arg("ema", state["ema"])
        self.explore = _unit_arg("explore", state["explore"])
        self.loss_kind = state["loss_kind"]
        self.detector = dict(state["detector"])
        curve = torch.as_tensor(state["curve"]).double().numpy()
        counts = torch.as_tensor(state["counts"]).numpy().astype(np.int64)
        if curve.shape != (self.n_bins,) or counts.shape != (self.n_bins,):
            raise ValueError("state_dict curve/counts have the wrong shape")
        self._curve, self._counts, self._pending = curve.copy(), counts.copy(), []
        self.steps, self.detections = int(state["steps"]), int(state["detections"])
        self.windows = [tuple(float(x) for x in w) for w in state["windows"]]
        self._set_density()
