"""The outcome of a simulation: final overlaps, history, parameters, configuration and diagnostics."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np

from flowphase.theory.problem import Problem
from flowphase.theory.records import OVERLAP_NAMES

__all__ = ["SimulationResult"]


@dataclass
class SimulationResult:
    """Outcome of :func:`flowphase.validation.simulator.simulate`.

    Attributes
    ----------
    problem : Problem
        The (finite-d, finite-n) problem simulated.
    ts : (T,) array
        Schedule times trained.
    seeds : list of int
    overlaps : (S, T, 6) array
        Final canonicalised overlaps ``c, m, omega, b, sqrt_q, sqrt_r`` (``OVERLAP_NAMES``), with
        ``m + omega >= 0`` by flipping ``(u, w, b)`` together (PAPER §2.2, §7.12;
        :mod:`.canonical`: equal to omega >= 0 where omega is informative, and
        defined at t = 0 where omega ~ 0).
    history : (S, T, R, 7) array
        Overlaps (canonicalised) and the training loss, recorded before the steps in ``record_steps``.
    record_steps : (R,) int array
    params : dict
        Final canonicalised parameters ``c, b`` (S, T) and ``u, w`` (S, T, d) (if ``keep_params``).
    data : dict
        Training data per seed: ``x1`` (S, n, d) and labels ``s`` (S, n) (if ``keep_params``).
    config : dict
        Every option of the run (JSON-serialisable), including ``protocol`` and ``overrides``.
    sign_degenerate : (S, T) bool array
        Jobs whose sign is not determined (``|m + omega|`` within 3 random-projection standard
        deviations of 0, :func:`flowphase.validation.simulator.canonical.sign_degenerate`).
    grad_norm : (S, T) array
        Stationarity diagnostic: the Euclidean norm of the gradient of the training loss (PAPER §2.3,
        theory units) in the trained parameters (c if trained, b if trained, u, and w unless tied) at the
        **final** parameters, evaluated by one extra step with learning rate 0 (global step ``epochs``).
        Near 0 for a run that reached a stationary point of its loss (GD on the exact expectation or on
        fixed noise); large for a run stopped early or running away.  With fresh draws (``draws >= 1``) it
        is the norm of one sampled K-draw gradient, so it keeps a floor of order of the gradient noise.
    """

    problem: Problem
    ts: np.ndarray
    seeds: list
    overlaps: np.ndarray
    history: np.ndarray
    record_steps: np.ndarray
    params: Dict[str, np.ndarray] = field(default_factory=dict)
    data: Dict[str, np.ndarray] = field(default_factory=dict)
    config: Dict[str, object] = field(default_factory=dict)
    sign_degenerate: Optional[np.ndarray] = None
    grad_norm: Optional[np.ndarray] = None

    def overlap(self, name: str) -> np.ndarray:
        """(S, T) array of one overlap."""
        if name not in OVERLAP_NAMES:
            raise ValueError(f"name must be one of {OVERLAP_NAMES}, got {name!r}")
        return self.overlaps[:, :, OVERLAP_NAMES.index(name)]

    def mean(self) -> np.ndarray:
        """(T, 6) mean over seeds."""
        return self.overlaps.mean(axis=0)

    def stderr(self) -> np.ndarray:
        """(T, 6) standard error over seeds (0 with a single seed)."""
        S = self.overlaps.shape[0]
        if S < 2:
            return np.zeros(self.overlaps.shape[1:])
        return self.overlaps.std(axis=0, ddof=1) / math.sqrt(S)

    def final_loss(self) -> np.ndarray:
        """(S, T) loss at the last record."""
        return self.history[:, :, -1, 6]

    def to_dict(self) -> dict:
        """JSON-friendly summary: per-seed overlaps, mean and stderr keyed by time."""
        mean, se = self.mean(), self.stderr()
        runs = [{"seed": int(s), "overlaps": {f"{t:g}": dict(zip(OVERLAP_NAMES, map(float, self.overlaps[i, k])))
                                                for k, t in enumerate(self.ts)}}
                for i, s in enumerate(self.seeds)]
        out = {"problem": self.problem.to_dict(), "config": dict(self.config), "runs": runs,
               "mean": {f"{t:g}": dict(zip(OVERLAP_NAMES, map(float, mean[k]))) for k, t in enumerate(self.ts)},
               "stderr": {f"{t:g}": dict(zip(OVERLAP_NAMES, map(float, se[k]))) for k, t in enumerate(self.ts)}}
        if self.grad_norm is not None:
            out["grad_norm"] = {f"{t:g}": [float(g) for g in self.grad_norm[:, k]] for k, t in enumerate(self.ts)}
        if self.sign_degenerate is not None:
            out["sign_degenerate"] = {f"{t:g}": int(self.sign_degenerate[:, k].sum()) for k, t in enumerate(self.ts)}
        return out

    def save_npz(self, path) -> str:
        """Export the trained parameters, data, times, seeds and config (:func:`.inputs.save_npz`)."""
        from .inputs import save_npz

        return save_npz(self, path)
