"""Conventions, each in one table: the noise conventions of phase-2 training and the time conventions of other codes.

Noise conventions (PAPER §3.4; PREDECESSOR §2.1 for ``fixed``):

Every per-convention number of the package is a field of :data:`NOISE_CONVENTIONS`:

* ``ridge_shift`` -- the phase-2 ridge ``B = n + lam_u + ridge_shift`` (PAPER §3.4: -1 fixed, 0 fresh, +1
  notebook); the learned ``q_xi = ridge_shift c (1 - t')/(n + lam_u)`` has the same sign, and the generated
  ``Q_xi = -ridge_shift (1 - t' - sqrt(D/B))/(n + lam_u)`` (PAPER §3.5) the opposite one;
* ``code`` -- the integer the numba kernels of :mod:`flowphase.numerics.phase_two` receive.

Time conventions (:data:`TIME_CONVENTIONS`, :func:`tau_to`, :func:`tau_from`; docs/schedules.md): flowphase's time is
tau in [0, 1], tau = 0 pure noise, tau = 1 data, with the linear interpolant ``x_tau = (1 - tau) x0 + tau x1``.

* ``flowphase``, ``torchcfm``, ``flow_matching`` (facebookresearch): ``t = tau`` (t = 1 is data), the value goes
  straight into their ``t=`` argument;
* ``diffusers`` and ``sd3``: ``sigma = 1 - tau`` (the rectified-flow noise level of ``FlowMatchEulerDiscreteScheduler``
  and of SD3's ``z_t = (1 - t) x0 + t eps``);
* ``diffusers-timesteps``: the integer training timestep ``N sigma`` of ``FlowMatchEulerDiscreteScheduler`` with
  ``N = num_train_timesteps``, i.e. ``N - floor(N tau)`` clipped to ``[1, N]`` (diffusers' SD3 training script:
  ``timesteps[(u N).long()]``); back: ``tau = 1 - timestep/N``.  A quantisation: tau -> timestep -> tau loses at
  most ``1/N``;
* ``edm`` and ``k-diffusion``: the VE noise level ``sigma = (1 - tau)/tau`` of ``x_tau / tau = x1 + sigma x0``
  (``tau = 1/(1 + sigma)``; tau = 0 is sigma = inf).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np

__all__ = ["NoiseConvention", "NOISE_CONVENTIONS", "noise_convention", "TIME_CONVENTIONS", "tau_to", "tau_from"]


@dataclass(frozen=True)
class NoiseConvention:
    """One noise convention (module docstring)."""

    name: str
    ridge_shift: int
    code: int
    description: str


#: name -> :class:`NoiseConvention`, in the order fresh, fixed, notebook (iterating gives the names)
NOISE_CONVENTIONS: Mapping[str, NoiseConvention] = MappingProxyType({
    "fresh": NoiseConvention("fresh", 0, 0, "a new x0 at every step (the authors' code)"),
    "fixed": NoiseConvention("fixed", -1, 1, "one x0 per training point (Cui et al.)"),
    "notebook": NoiseConvention("notebook", 1, 2, "the authors' notebook phase-2 formula (documented, not derived)"),
})


def noise_convention(name) -> NoiseConvention:
    """The convention called ``name``; ``ValueError`` naming the choices otherwise."""
    if not isinstance(name, str) or name not in NOISE_CONVENTIONS:
        raise ValueError(f"noise must be one of {tuple(NOISE_CONVENTIONS)}, got {name!r}")
    return NOISE_CONVENTIONS[name]


# ----------------------------------------------------------------------------- time conventions
#: name -> (what the value is, its range); module docstring
TIME_CONVENTIONS: Mapping[str, str] = MappingProxyType({
    "flowphase": "tau in [0, 1], 0 noise, 1 data",
    "torchcfm": "t = tau in [0, 1], 1 data",
    "flow_matching": "t = tau in [0, 1], 1 data (facebookresearch/flow_matching)",
    "diffusers": "sigma = 1 - tau in [0, 1], 1 noise (FlowMatchEulerDiscreteScheduler)",
    "sd3": "t = 1 - tau in [0, 1], 1 noise (SD3's z_t = (1 - t) x0 + t eps)",
    "diffusers-timesteps": "integer timestep N (1 - tau) in [1, N], N = num_train_timesteps",
    "edm": "sigma = (1 - tau)/tau in [0, inf], inf noise (EDM / k-diffusion)",
    "k-diffusion": "sigma = (1 - tau)/tau in [0, inf], inf noise",
})


def _time_convention(name) -> str:
    if not isinstance(name, str) or name not in TIME_CONVENTIONS:
        raise ValueError(f"convention must be one of {tuple(TIME_CONVENTIONS)}, got {name!r}")
    return name


def _n_train(n) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= 10 ** 9:
        raise ValueError(f"num_train_timesteps must be an integer in [1, 1e9], got {n!r}")
    return int(n)


def _values(name: str, value, lo: float, hi: float):
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a real number or array, got {type(value).__name__}")
    arr = arr.astype(float)
    if not np.all((arr >= lo) & (arr <= hi)):
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}] (NaN refused)")
    return arr, arr.ndim == 0


def tau_to(convention: str, tau, *, num_train_timesteps: int = 1000):
    """flowphase's tau (0 noise, 1 data) in ``convention`` (:data:`TIME_CONVENTIONS`); arrays in, arrays out.

    ``diffusers-timesteps`` gives integers (int64); ``edm``/``k-diffusion`` give inf at tau = 0.
    """
    name = _time_convention(convention)
    t, scalar = _values("tau", tau, 0.0, 1.0)
    if name in ("flowphase", "torchcfm", "flow_matching"):
        out = t
    elif name in ("diffusers", "sd3"):
        out = 1.0 - t
    elif name == "diffusers-timesteps":
        n = _n_train(num_train_timesteps)
        x = n * t
        x = np.where(np.abs(x - np.rint(x)) <= 1e-9 * n, np.rint(x), x)  # k/N survives the round trip
        out = np.clip(n - np.floor(x), 1, n).astype(np.int64)
        return int(out) if scalar else out
    else:
        with np.errstate(divide="ignore"):
            out = np.where(t > 0.0, (1.0 - t) / np.where(t > 0.0, t, 1.0), np.inf)
    return float(out) if scalar else out


def tau_from(convention: str, value, *, num_train_timesteps: int = 1000):
    """The inverse of :func:`tau_to`: flowphase's tau from a value in ``convention``."""
    name = _time_convention(convention)
    if name in ("flowphase", "torchcfm", "flow_matching"):
        t, scalar = _values("t", value, 0.0, 1.0)
        out = t
    elif name in ("diffusers", "sd3"):
        t, scalar = _values("sigma" if name == "diffusers" else "t", value, 0.0, 1.0)
        out = 1.0 - t
    elif name == "diffusers-timesteps":
        n = _n_train(num_train_timesteps)
        t, scalar = _values("timestep", value, 0.0, float(n))
        out = 1.0 - t / n
    else:
        t, scalar = _values("sigma", value, 0.0, np.inf)
        out = np.where(np.isinf(t), 0.0, 1.0 / (1.0 + np.where(np.isinf(t), 0.0, t)))
    return float(out) if scalar else out
