"""Typical initial overlaps of the simulator's initialisations (PAPER §2.3)."""
from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np

from flowphase.numerics.dynamics.params import dynamics_params
from flowphase.theory.problem import Problem

__all__ = ["initial_overlaps", "INITIALISATIONS"]

INITIALISATIONS = ("small", "random", "informed")


def initial_overlaps(kind: str, problem: Problem, t: float, *, seed: int = 0, scale: float = 0.1,
                     d: Optional[float] = None) -> Dict[str, float]:
    """Typical initial overlaps of the simulator's initialisations (PAPER §2.3).

    * ``small``: ``c = b = 0``, u, w with i.i.d. N(0, scale^2) entries: ``q = r = scale^2`` and the
      symmetry-breaking overlaps ``m = omega = scale / sqrt(d)`` (one standard deviation; at d = inf the
      flow needs a seed, ``d`` defaults to 10^4 there);
    * ``random`` (the authors'): ``c, b ~ N(0, 1)`` drawn with ``seed``, ``q = r = 1``,
      ``m = omega = 1/sqrt(d)``;
    * ``informed``: the population fixed point ``c = 0, b = h, m = q = 1, omega = k, r = omega^2``
      in phase 1 and the population ridge point (PAPER §3.3) in phase 2.
    """
    d_eff = problem.d if d is None else float(d)
    if not math.isfinite(d_eff):
        d_eff = 1e4
    if kind == "small":
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        e = scale / math.sqrt(d_eff)
        return {"c": 0.0, "b": 0.0, "m": e, "a": 0.0, "q": scale ** 2, "omega": e, "r": scale ** 2, "v": 0.0}
    if kind == "random":
        rng = np.random.default_rng(seed)
        c0, b0 = rng.standard_normal(2)
        e = 1.0 / math.sqrt(d_eff)
        return {"c": float(c0), "b": float(b0), "m": e, "a": 0.0, "q": 1.0, "omega": e, "r": 1.0, "v": 0.0}
    if kind == "informed":
        par = dynamics_params(problem, t, d=math.inf)
        if par.saturated or par.beta > 0.0:
            beta, alpha2 = par.beta, par.alpha2
            sig2 = problem.sigma ** 2
            cc = beta * sig2 / (alpha2 + beta * beta * sig2)
            mm = 1.0 - cc * beta
            k = 1.0
            return {"c": cc, "b": problem.h, "m": mm, "a": 0.0, "q": mm * mm, "omega": k, "r": k * k,
                    "v": mm * k}
        k = par.k
        return {"c": 0.0, "b": problem.h, "m": 1.0, "a": 0.0, "q": 1.0, "omega": k, "r": k * k, "v": k}
    raise ValueError(f"init must be 'small', 'random' or 'informed', got {kind!r}")
