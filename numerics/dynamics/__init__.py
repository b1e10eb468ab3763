"""Numba integrator of the overlap dynamics (gradient flow / gradient descent) of the per-time denoiser.

The right-hand side, the exact GD map and the loss are generated from the sympy derivation of
:mod:`flowphase.theory.dynamics` into :mod:`flowphase.numerics._generated_dynamics` by
``python -m flowphase.numerics._codegen``.  One concern per module:

* :mod:`.params` -- the named parameter record :class:`DynamicsParams` (``to_array`` / ``from_array``, the index
  constants of the flat numba vector) and :func:`dynamics_params`;
* :mod:`.kernels` -- the Gaussian kernels (trapezoid rule, one dimension per label), the numba RHS and GD map;
* :mod:`.flow` -- trajectories (:func:`integrate_overlaps`, :func:`iterate_gd_map`), loss, stationary point,
  convergence time;
* :mod:`.initial` -- the simulator's initialisations in overlap space;
* :mod:`.adam` -- the noise-dominated Adam clock.

Phase 1 at d = inf: ``k = kappa t beta'(0)``, ``gam = 1``, ``alpha = 1``, ``beta = 0``.  Phase 2 at
d = inf: saturated (``M_s = sign(omega)``, ``M_2 = 1``, derivatives 0; needs ``omega != 0``).
``d=`` (finite) evaluates the same formulas at the schedule's actual ``tau`` (``k = beta sqrt(d)``,
``gam = alpha^2 + beta^2 sigma^2``).  The JSON payload of ``flowphase theory dynamics`` is
:func:`flowphase.numerics.dynamics.payload.dynamics_payload`.
"""
from flowphase.numerics.dynamics.adam import adam_epochs, adam_min_epochs, gz_second_moment
from flowphase.numerics.dynamics.flow import (ADAM_S_MAX, MAX_EPOCHS, MAX_STIFF_TIME, convergence_time,
                                              integrate_overlaps, iterate_gd_map, overlap_loss, stationary_point)
from flowphase.numerics.dynamics.initial import INITIALISATIONS, initial_overlaps
from flowphase.numerics.dynamics.kernels import gaussian_kernels, kernels_from_params, overlap_rhs
from flowphase.numerics.dynamics.params import STATE_NAMES, DynamicsParams, dynamics_params

__all__ = [
    "STATE_NAMES", "INITIALISATIONS", "DynamicsParams", "dynamics_params", "initial_overlaps", "integrate_overlaps",
    "iterate_gd_map", "stationary_point", "convergence_time", "overlap_loss", "adam_epochs", "adam_min_epochs",
]
