"""Paired comparison of flowphase's simulator with another trainer (your own PyTorch loop, say).

A *paired* run gives both implementations the same training data and the same initial
parameters (``simulate(data=..., init_params=...)``), so what remains between them is the fresh
noise x0 drawn at every step.  The noise floor of that difference is measured inside flowphase by
running the same data and initialisation with several noise streams (the seeds):
:func:`paired_comparison` tabulates, per time and overlap, the other trainer's mean minus the
flowphase mean next to the spread between flowphase's own streams, and the z-score of the
difference.  A correct replication has |z| of order 1 everywhere (docs/pytorch_recipe.md).

:func:`overlaps_of` turns any trainer's final parameters into the simulator's canonical overlaps
(``c, m, omega, b, sqrt_q, sqrt_r``, sign fixed by :mod:`flowphase.validation.simulator.canonical`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List

import numpy as np

from flowphase.validation.simulator.canonical import canonicalise_params
from flowphase.validation.simulator import OVERLAP_NAMES

__all__ = ["overlaps_of", "PairedComparison", "paired_comparison"]


def overlaps_of(c, b, u, w) -> np.ndarray:
    """(T, 6) canonical overlaps ``c, m, omega, b, sqrt_q, sqrt_r`` of parameters c, b (T,), u, w (T, d)."""
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    u = np.atleast_2d(np.asarray(u, dtype=np.float64))
    w = np.atleast_2d(np.asarray(w, dtype=np.float64))
    if not (c.shape == b.shape == (u.shape[0],) and u.shape == w.shape):
        raise ValueError(f"overlaps_of needs c, b (T,) and u, w (T, d); got {c.shape}, {b.shape}, {u.shape}, "
                         f"{w.shape}")
    b, u, w, _ = canonicalise_params(b, u, w)
    d = u.shape[1]
    return np.stack([c, u.sum(1) / d, w.sum(1) / d, b, np.sqrt((u * u).sum(1) / d), np.sqrt((w * w).sum(1) / d)],
                    axis=1)


@dataclass
class PairedComparison:
    """Rows per (t, quantity) of a paired comparison; see :func:`paired_comparison`."""

    rows: List[dict] = field(default_factory=list)
    n_streams: int = 0
    n_other: int = 0

    def max_abs_z(self) -> float:
        zs = [abs(r["z"]) for r in self.rows if r["z"] is not None]
        return max(zs) if zs else 0.0

    def rms_z(self) -> float:
        zs = [r["z"] for r in self.rows if r["z"] is not None]
        return float(math.sqrt(np.mean(np.square(zs)))) if zs else 0.0

    def summary(self) -> dict:
        """Per quantity: max |other - flowphase| and max |flowphase - flowphase (another stream)| over times."""
        out = {}
        for q in OVERLAP_NAMES:
            rs = [r for r in self.rows if r["quantity"] == q]
            out[q] = {"max_abs_other_minus_flowphase": max(abs(r["other_minus_flowphase"]) for r in rs),
                      "max_abs_flowphase_minus_flowphase": max(abs(r["flowphase_minus_flowphase"]) for r in rs),
                      "max_abs_z": max((abs(r["z"]) for r in rs if r["z"] is not None), default=0.0)}
        return out


def paired_comparison(sim, other) -> PairedComparison:
    """Compare another trainer's overlaps with a flowphase run on the same data and initialisation.

    Parameters
    ----------
    sim : SimulationResult
        Flowphase run with S >= 2 seeds on given ``data`` and ``init_params`` (the seeds are then
        independent noise streams of the same experiment).
    other : (R, T, 6) or (T, 6) array
        The other trainer's canonical overlaps (:func:`overlaps_of`) for R >= 1 runs (own noise).

    Returns
    -------
    PairedComparison
        ``rows``: ``t, quantity, flowphase_mean, flowphase_sd`` (spread between streams, ddof 1),
        ``other_mean``, ``other_minus_flowphase`` (other mean - flowphase mean),
        ``flowphase_minus_flowphase`` (stream 1 - stream 0: one unpaired-noise difference, the scale
        to read the previous column against), ``z`` = difference / (sd sqrt(1/R + 1/S)) (None where
        sd = 0).
    """
    if sim.config.get("data") != "given" or sim.config.get("init_params") != "given":
        raise ValueError("paired_comparison needs a simulation on given data and init_params (the shared experiment)")
    ov = np.asarray(sim.overlaps, dtype=np.float64)
    S, T, Q = ov.shape
    if S < 2:
        raise ValueError(f"paired_comparison needs >= 2 flowphase noise streams (seeds), got {S}")
    oth = np.asarray(other, dtype=np.float64)
    if oth.ndim == 2:
        oth = oth[None]
    if oth.shape[1:] != (T, Q):
        raise ValueError(f"other must have shape (R, {T}, {Q}) like the simulation's overlaps, got {oth.shape}")
    R = oth.shape[0]
    mean, sd = ov.mean(0), ov.std(0, ddof=1)
    om = oth.mean(0)
    rows = []
    for k, t in enumerate(sim.ts):
        for j, q in enumerate(OVERLAP_NAMES):
            diff = float(om[k, j] - mean[k, j])
            scale = float(sd[k, j]) * math.sqrt(1.0 / R + 1.0 / S)
            rows.append({"t": float(t), "quantity": q, "flowphase_mean": float(mean[k, j]),
                         "flowphase_sd": float(sd[k, j]), "other_mean": float(om[k, j]),
                         "other_minus_flowphase": diff, "flowphase_minus_flowphase": float(ov[1, k, j] - ov[0, k, j]),
                         "z": diff / scale if scale > 0 else None})
    return PairedComparison(rows=rows, n_streams=S, n_other=R)
