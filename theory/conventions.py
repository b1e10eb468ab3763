"""The noise conventions of phase-2 training, in one table (PAPER §3.4; PREDECESSOR §2.1 for ``fixed``).

Every per-convention number of the package is a field of :data:`NOISE_CONVENTIONS`:

* ``ridge_shift`` -- the phase-2 ridge ``B = n + lam_u + ridge_shift`` (PAPER §3.4: -1 fixed, 0 fresh, +1
  notebook); the learned ``q_xi = ridge_shift c (1 - t')/(n + lam_u)`` has the same sign, and the generated
  ``Q_xi = -ridge_shift (1 - t' - sqrt(D/B))/(n + lam_u)`` (PAPER §3.5) the opposite one;
* ``code`` -- the integer the numba kernels of :mod:`flowphase.numerics.phase_two` receive.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = ["NoiseConvention", "NOISE_CONVENTIONS", "noise_convention"]


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
