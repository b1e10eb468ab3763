"""The parameter record of the overlap dynamics: one named structure, one flat array for numba.

:class:`DynamicsParams` names every entry; :meth:`DynamicsParams.to_array` packs it into the flat
float64 vector the numba kernels read, with the index constants of this module (the only place the
layout is written).  The first :data:`N_GENERATED` entries are the ``par`` block of the generated
code, in the order :data:`flowphase.numerics._generated_dynamics.PARAM_NAMES` that
``python -m flowphase.numerics._codegen`` writes from :data:`flowphase.theory.dynamics.PARAMS`.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

from flowphase.numerics import _generated_dynamics as _gen
from flowphase.numerics.quadrature import trapezoid_rule
from flowphase.theory import checks
from flowphase.theory.problem import Problem, TimeDilation

__all__ = ["STATE_NAMES", "DynamicsParams", "dynamics_params", "as_state", "check_saturated",
           "N_GENERATED", "N_KERNELS", "I_K", "I_GAM", "I_P", "I_SAT", "I_NQ", "I_NODES",
           "DYNAMICS_HALF_WIDTH"]

#: the state vector ``y`` (generated layout)
STATE_NAMES = tuple(_gen.STATE_NAMES[:5]) + ("omega",) + tuple(_gen.STATE_NAMES[6:])
assert _gen.STATE_NAMES[5] == "om"  # the sympy symbol of omega is ``om``

#: entries of the generated ``par`` block (alpha2, beta, sig2, inv_sqrt_n, lam_u, lam_w, rho_c, rho_b, sgd)
N_GENERATED = len(_gen.PARAM_NAMES)
#: length of the kernel vector ``kin`` (generated layout)
N_KERNELS = len(_gen.KERNEL_NAMES)
#: indices of the kernel parameters after the generated block
I_K, I_GAM, I_P, I_SAT, I_NQ = range(N_GENERATED, N_GENERATED + 5)
#: first quadrature node; the weights follow the nodes
I_NODES = N_GENERATED + 5
#: the dynamics' Gaussian trapezoid rule lives on [-9, 9] (tail mass beyond 9: 2e-19)
DYNAMICS_HALF_WIDTH = 9.0


class DynamicsParams(NamedTuple):
    """Every parameter of the overlap right-hand side (PAPER §2.1-§3.4, :mod:`flowphase.theory.dynamics`).

    The first nine fields are the generated ``par`` block; ``k`` is the signal ``sqrt(d) beta`` seen by
    the preactivation (``kappa t beta'(0)`` in phase 1 at d = inf), ``gam`` its noise variance factor,
    ``saturated`` the phase-2 d = inf limit (tanh -> sign), ``nodes, weights`` the trapezoid rule of
    ``E_zeta``.
    """

    alpha2: float
    beta: float
    sig2: float
    inv_sqrt_n: float
    lam_u: float
    lam_w: float
    rho_c: float
    rho_b: float
    sgd: float
    k: float
    gam: float
    p: float
    saturated: bool
    nodes: np.ndarray
    weights: np.ndarray

    def to_array(self) -> np.ndarray:
        """The flat float64 vector of the numba kernels (layout: the ``I_*`` constants of this module)."""
        head = [self.alpha2, self.beta, self.sig2, self.inv_sqrt_n, self.lam_u, self.lam_w, self.rho_c,
                self.rho_b, self.sgd, self.k, self.gam, self.p, 1.0 if self.saturated else 0.0,
                float(self.nodes.size)]
        return np.ascontiguousarray(np.concatenate([np.asarray(head, dtype=np.float64), self.nodes, self.weights]))

    @classmethod
    def from_array(cls, arr) -> "DynamicsParams":
        arr = np.asarray(arr, dtype=np.float64)
        nq = int(arr[I_NQ])
        if arr.size != I_NODES + 2 * nq:
            raise ValueError(f"a dynamics parameter vector with {nq} nodes has {I_NODES + 2 * nq} entries, "
                             f"got {arr.size}")
        head = [float(v) for v in arr[:I_SAT]]
        return cls(*head, bool(arr[I_SAT] > 0.5), arr[I_NODES:I_NODES + nq].copy(),
                   arr[I_NODES + nq:I_NODES + 2 * nq].copy())

    @property
    def generated(self) -> np.ndarray:
        """The generated ``par`` block alone."""
        return self.to_array()[:N_GENERATED]


# the named record and the generated layout are one list (regenerating the code cannot shift an index silently)
assert DynamicsParams._fields[:N_GENERATED] == tuple(_gen.PARAM_NAMES), (DynamicsParams._fields, _gen.PARAM_NAMES)


def dynamics_params(problem: Problem, t: float, *, rho: float = 1.0, d: Optional[float] = None,
                    n_quad: int = 151, sgd: float = 0.0) -> DynamicsParams:
    """The parameters of the RHS for the per-time problem at schedule time ``t``.

    Parameters
    ----------
    problem : Problem
        Only ``noise='fresh'`` is derived at finite n (PAPER §3.4 fresh-noise ridge).
    t : float
        Schedule time (dilated: [0, 2]; phase 1 is t <= 1).
    rho : float > 0
        Speed of the scalars c, b relative to the vectors (``rho = d`` for one learning rate on all
        parameters, ``1`` for the balanced convention; :func:`~flowphase.theory.dynamics.ode_time_per_step`).
    d : float, optional
        Dimension the formulas are evaluated at (default ``problem.d``): finite d at the schedule's actual tau,
        ``inf`` the d -> inf limit.
    n_quad : int >= 3
        Trapezoid nodes of ``E_zeta`` on [-9, 9] (:func:`flowphase.numerics.quadrature.trapezoid_rule`, normalised).
    sgd : float >= 0
        Finite-batch noise strength ``lr d / B`` (balanced convention; 0 = gradient flow), see
        :mod:`flowphase.theory.dynamics`.
    """
    sgd = checks.nonnegative("sgd", sgd)
    if not isinstance(problem, Problem):
        raise ValueError("problem must be a flowphase Problem")
    rho = checks.positive("rho", rho)
    problem.schedule.check_t(t)
    t = float(t)
    if d is None:
        d = problem.d
    elif isinstance(d, bool) or not isinstance(d, (int, float, np.integer, np.floating)) or not float(d) >= 1.0:
        raise ValueError(f"d must be a number >= 1 or inf, got {d!r}")
    elif float(d) != problem.d and math.isfinite(d):
        problem = problem.replace(d=float(d))
    finite_d = math.isfinite(d)
    n = problem.n
    if math.isfinite(n) and problem.training.noise != "fresh":
        raise ValueError(f"noise must be 'fresh' for the overlap dynamics at finite n, got {problem.training.noise!r}")
    it = problem.interpolant
    sig2 = problem.sigma ** 2
    if finite_d:
        tau = float(problem.tau(t))
        alpha, beta = float(it.alpha(tau)), float(it.beta(tau))
        k, gam, sat = beta * math.sqrt(d), alpha * alpha + beta * beta * sig2, False
    else:
        dil = isinstance(problem.schedule, TimeDilation)
        if dil and t <= 1.0:
            alpha, beta = 1.0, 0.0
            k, gam, sat = problem.kappa * t * float(it.dbeta(0.0)), 1.0, False
        else:
            tau = (t - 1.0) if dil else t
            alpha, beta = float(it.alpha(tau)), float(it.beta(tau))
            gam = 1.0
            k, sat = (0.0, True) if beta > 0.0 else (0.0, False)
    inv_sqrt_n = 0.0 if math.isinf(n) else 1.0 / math.sqrt(n)
    if int(n_quad) < 3:
        raise ValueError(f"n_quad must be an integer >= 3, got {n_quad!r}")
    nodes, weights = trapezoid_rule(int(n_quad), DYNAMICS_HALF_WIDTH, normalized=True)
    return DynamicsParams(alpha * alpha, beta, sig2, inv_sqrt_n, problem.training.lam_u, problem.training.lam_w,
                          float(rho), float(rho), float(sgd), float(k), float(gam), float(problem.p), sat,
                          np.asarray(nodes), np.asarray(weights))


def as_state(y0) -> np.ndarray:
    """The state vector (``STATE_NAMES``) from a dict (``a, v`` default 0) or an 8-array, checked."""
    if isinstance(y0, dict):
        missing = [k for k in ("c", "b", "m", "q", "omega", "r") if k not in y0]
        if missing:
            raise ValueError(f"initial overlaps miss {missing}")
        arr = np.array([float(y0.get(k, 0.0)) for k in STATE_NAMES])
    else:
        arr = np.asarray(y0, dtype=np.float64).ravel().copy()
        if arr.size != len(STATE_NAMES):
            raise ValueError(f"y0 must have the 8 entries {STATE_NAMES}, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"y0 must be finite, got {arr}")
    i = {name: j for j, name in enumerate(STATE_NAMES)}
    if arr[i["q"]] < arr[i["m"]] ** 2 + arr[i["a"]] ** 2 - 1e-9 or arr[i["r"]] < arr[i["omega"]] ** 2 - 1e-9:
        raise ValueError("y0 must satisfy q >= m^2 + a^2 and r >= omega^2 (Cauchy-Schwarz)")
    return arr


def check_saturated(params: DynamicsParams, y) -> None:
    if params.saturated and y[STATE_NAMES.index("omega")] == 0.0:
        raise ValueError("omega must be nonzero in the saturated phase-2 limit (d = inf); "
                         "evaluate at a finite d to follow the escape from omega = 0")
