"""Adam on the overlap dynamics: the noise-dominated clock of the encoder and the crude speed bound.

Adam has no closed description in the overlaps (:mod:`flowphase.theory.dynamics`): :func:`adam_epochs` puts
an ODE trajectory on the clock of noise-dominated Adam for the encoder w; :func:`adam_min_epochs` is the
cruder bound "a coordinate moves by at most about ``lr`` per step".
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from flowphase.numerics import _generated_dynamics as _gen
from flowphase.numerics.results import Trajectory
from flowphase.numerics.dynamics.kernels import at_state
from flowphase.numerics.dynamics.params import as_state, dynamics_params
from flowphase.theory.problem import Problem

__all__ = ["gz_second_moment", "adam_epochs", "adam_min_epochs"]


def gz_second_moment(problem: Problem, t: float, y, d: Optional[float] = None, n_quad: int = 151) -> float:
    """``E[g_z^2]``, the per-row second moment of ``d loss / d z`` (:mod:`flowphase.theory.dynamics`); closed form."""
    return at_state(_gen.gz_second_moment, dynamics_params(problem, t, d=d, n_quad=n_quad).to_array(),
                    as_state(y))


def adam_epochs(problem: Problem, t: float, trajectory: Trajectory, lr: float, rows: int,
                *, d: Optional[float] = None) -> np.ndarray:
    """Adam epochs elapsed along an ODE trajectory, on the clock of the encoder w (noise-dominated Adam).

    When every coordinate's gradient is dominated by batch noise of one RMS ``sigma_w`` (the fresh-noise
    rows make it isotropic in the coordinates orthogonal to mu), Adam's ``m_hat / sqrt(v_hat)`` is
    ``g / sigma_w``: SGD with step ``lr / sigma_w`` whatever the loss normalisation.  With
    ``sigma_w^2 = gam_x E[g_z^2] / (rows d)`` (``gam_x = alpha^2 + beta^2 (1 + sigma^2)``) this is the
    balanced convention with ``d(ode_t)/d(epoch) = lr sqrt(rows) / sqrt(d gam_x E[g_z^2])`` for the w block.
    Returns the cumulative epochs at the trajectory's times (trapezoid rule in the ODE time).  An
    approximation: u, c, b run on their own Adam clocks, which the single-rate ODE does not follow.
    ``d``: the simulation's dimension in the clock (default ``problem.d``); the rates are evaluated at the d the
    trajectory was computed at (``trajectory.info['d']``).
    """
    if not (lr > 0 and int(rows) >= 1):
        raise ValueError(f"lr must be > 0 and rows >= 1, got lr={lr!r}, rows={rows!r}")
    d = problem.d if d is None else float(d)
    if not math.isfinite(d):
        raise ValueError("adam_epochs needs a finite d")
    par = dynamics_params(problem, t, d=trajectory.info.get("d"))
    params = par.to_array()
    gam_x = par.alpha2 + par.beta ** 2 * (1.0 + par.sig2)
    Y = trajectory.value
    rate = np.empty(Y.shape[0])
    for i in range(Y.shape[0]):
        g2 = max(at_state(_gen.gz_second_moment, params, Y[i]), 1e-300)
        rate[i] = math.sqrt(d * gam_x * g2) / (lr * math.sqrt(int(rows)))   # epochs per unit ODE time
    times = trajectory.s
    return np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(times))])


def adam_min_epochs(r_perp0: float, r_perp_target: float, lr: float) -> float:
    """Lower bound on Adam epochs to shrink ``sqrt(r - omega^2)`` from ``sqrt(r_perp0)`` to
    ``sqrt(r_perp_target)``: each coordinate moves by at most ``lr`` per step, so the root-mean-square
    orthogonal norm falls by at most ``lr`` per epoch (steady-gradient Adam, ``|m_hat/sqrt(v_hat)| <= 1``).
    Closed form.
    """
    if not (lr > 0 and r_perp0 >= 0 and r_perp_target >= 0):
        raise ValueError("lr must be > 0 and r_perp0, r_perp_target >= 0")
    return max(0.0, (math.sqrt(r_perp0) - math.sqrt(r_perp_target)) / lr)
