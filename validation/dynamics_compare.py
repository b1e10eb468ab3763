"""Overlap dynamics of the paper's ansatz: theory (ODE, GD map) vs finite-d gradient descent.

* :func:`simulate_gd_overlaps` -- a minimal, independent full-batch gradient-descent simulation of one
  per-time denoiser ``f(x) = c x + u tanh(w.x/sqrt(d) + b)`` (PAPER §2.1) at finite d, on the per-sample
  loss ``Lbar`` of :mod:`flowphase.theory.dynamics` (population n = inf: a fresh batch of data each
  step; finite n: fixed data, fresh noise), in the **balanced** convention: step ``eta d`` on u, w and
  ``eta rho`` on c, b, so one step is ``eta`` units of ODE time.  Overlaps are recorded every
  ``record_every`` steps.
* :func:`compare_dynamics` -- runs it and integrates the ODE
  (:func:`flowphase.numerics.dynamics.integrate_overlaps`) from the simulation's own initial overlaps,
  on the same time grid; returns both trajectories and the largest deviations.
* :func:`compare_with_simulator` -- the same overlay for the project simulator
  (:func:`flowphase.validation.simulator.simulate`, ``optimizer='gd'``, whose preconditioned GD is the
  balanced convention with ``ds = lr``).

The ``dynamics`` figure is :mod:`flowphase.validation.figures.dynamics`.
"""
from __future__ import annotations

import math
import time
from typing import Dict, Optional

import numpy as np

from flowphase.numerics.dynamics import STATE_NAMES, integrate_overlaps, iterate_gd_map
from flowphase.theory.problem import Problem
from flowphase.theory.records import OVERLAP_NAMES
from flowphase.validation.tolerances import tolerance

__all__ = ["simulate_gd_overlaps", "compare_dynamics", "compare_with_simulator", "TOL_GD_MAP", "TOL_FLOW"]

#: Largest |theory - simulation| allowed over a whole run at d = 2000 (absolute): the exact overlap map
#: of GD (``iterate_gd_map``, same step) per overlap, and the gradient-flow ODE (all overlaps; it also
#: carries the O(eta) difference between GD and its flow).
#: trajectory tolerances, read from the one tolerance table (validation/tolerances.py)
TOL_GD_MAP = {q: tolerance(f"dynamics_gd_map_{q}").abs_floor for q in ("c", "b", "m", "omega", "q", "r")}
TOL_FLOW = tolerance("dynamics_flow").abs_floor


def _init_params(init: str, problem: Problem, t: float, d: int, rng, scale: float):
    mu = np.ones(d)
    if init == "small":
        u = scale * rng.standard_normal(d)
        w = scale * rng.standard_normal(d)
        return 0.0, 0.0, u, w
    if init == "random":
        c, b = rng.standard_normal(2)
        return float(c), float(b), rng.standard_normal(d), rng.standard_normal(d)
    if init == "informed":
        from flowphase.numerics.dynamics import initial_overlaps

        y = initial_overlaps("informed", problem, t)
        return y["c"], y["b"], y["m"] * mu, y["omega"] * mu
    raise ValueError(f"init must be 'small', 'random' or 'informed', got {init!r}")


def simulate_gd_overlaps(problem: Problem, t: float, d: int, n_steps: int, *, eta: float = 0.02, rho: float = 1.0,
                         init: str = "small", scale: float = 0.1, seed: int = 0, batch: int = 256,
                         record_every: int = 5) -> Dict[str, np.ndarray]:
    """Finite-d full-batch GD of one per-time denoiser; overlaps every ``record_every`` steps.

    Parameters
    ----------
    problem : Problem
        p, sigma, kappa, interpolant, n (``inf``: a fresh batch of ``batch`` points each step; finite:
        ``n`` fixed points with exactly ``round(p n)`` positive labels and ``max(1, batch // n)`` fresh
        noises per point and step), lam_u, lam_w.  Its ``d`` is replaced by ``d``.
    t : float
        Schedule time; the simulation uses the exact finite-d ``tau(t)``.
    eta, rho : float
        Step in ODE-time units; c, b move with ``eta rho``, u, w with ``eta d`` (balanced convention,
        :func:`flowphase.theory.dynamics.ode_time_per_step`).

    Returns
    -------
    dict
        ``s`` (ODE times), and ``c, b, m, a, q, omega, r, v`` arrays, canonicalised to a final
        ``omega >= 0`` by flipping ``(u, w, b)`` (PAPER §7.12) along the whole run.

    Notes
    -----
    Gradients of ``Lbar = mean |c x + u tanh(z) - x1|^2 / d + (lam_u |u|^2 + lam_w |w|^2)/(n d)`` with
    ``x = alpha x0 + beta x1``, ``z = w.x/sqrt(d) + b`` (PAPER §2.3 divided by n).
    """
    d = int(d)
    if d < 2:
        raise ValueError(f"d must be an integer >= 2, got {d!r}")
    if int(n_steps) < 1 or int(record_every) < 1 or int(batch) < 1:
        raise ValueError("n_steps, record_every and batch must be integers >= 1")
    if not (eta > 0 and rho > 0):
        raise ValueError(f"eta and rho must be > 0, got eta={eta!r}, rho={rho!r}")
    prob = problem.replace(d=d)
    tau = float(prob.tau(t))
    al, be = float(prob.interpolant.alpha(tau)), float(prob.interpolant.beta(tau))
    sig = prob.sigma
    n = prob.n
    pen = 0.0 if math.isinf(n) else 1.0 / n
    lam_u, lam_w = prob.training.lam_u, prob.training.lam_w
    rng = np.random.default_rng(seed)
    c, b, u, w = _init_params(init, prob, t, d, rng, scale)
    sqd = math.sqrt(d)
    if math.isfinite(n):
        n_int = int(n)
        k_pos = int(round(prob.p * n_int))
        s_fix = np.concatenate([np.ones(k_pos), -np.ones(n_int - k_pos)])
        eta_fix = rng.standard_normal((n_int, d))
        x1_fix = s_fix[:, None] + sig * eta_fix
        eta_hat = (s_fix @ eta_fix) / math.sqrt(n_int)
        draws = max(1, int(batch) // n_int)
        x1_rows = np.repeat(x1_fix, draws, axis=0)
    else:
        eta_hat = None
        k_pos = int(round(prob.p * batch))
        s_batch = np.concatenate([np.ones(k_pos), -np.ones(batch - k_pos)])
    rec = []

    def record(step):
        rec.append((step * eta, c, b, u.mean(), 0.0 if eta_hat is None else float(u @ eta_hat) / d,
                    float(u @ u) / d, w.mean(), float(w @ w) / d, float(u @ w) / d))

    for step in range(int(n_steps) + 1):
        if step % int(record_every) == 0:
            record(step)
        if step == int(n_steps):
            break
        if eta_hat is None:
            x1 = s_batch[:, None] + sig * rng.standard_normal((batch, d))
        else:
            x1 = x1_rows
        x = al * rng.standard_normal(x1.shape) + be * x1
        z = x @ w / sqd + b
        ph = np.tanh(z)
        R = c * x + ph[:, None] * u[None, :] - x1
        nb = x.shape[0]
        g_c = 2.0 * float(np.einsum("ij,ij->", R, x)) / (nb * d)
        g_u = 2.0 * (ph @ R) / (nb * d) + 2.0 * pen * lam_u * u / d
        g_z = 2.0 * (R @ u) / d * (1.0 - ph * ph)
        g_w = (g_z @ x) / (nb * sqd) + 2.0 * pen * lam_w * w / d
        g_b = float(g_z.mean())
        u = u - eta * d * g_u
        w = w - eta * d * g_w
        c = c - eta * rho * g_c
        b = b - eta * rho * g_b
        if not (np.isfinite(c) and np.isfinite(b)):
            raise FloatingPointError(f"simulation diverged at step {step} (eta={eta} too large?)")
    arr = np.array(rec, dtype=float)
    out = {"s": arr[:, 0]}
    for i, name in enumerate(STATE_NAMES):
        out[name] = arr[:, i + 1]
    if out["omega"][-1] < 0:
        for name in ("b", "m", "a", "omega"):
            out[name] = -out[name]
    return out


def _state0(sim: Dict[str, np.ndarray]) -> np.ndarray:
    return np.array([sim[k][0] for k in STATE_NAMES])


def compare_dynamics(problem: Problem, t: float, d: int, n_steps: int, *, eta: float = 0.02, rho: float = 1.0,
                     init: str = "small", scale: float = 0.1, seed: int = 0, batch: int = 256,
                     record_every: int = 5, ode_d: Optional[float] = None, noise_term: bool = True) -> dict:
    """Simulate with :func:`simulate_gd_overlaps` and integrate the ODE from its initial overlaps.

    ``ode_d``: the dimension the ODE is evaluated at (default ``d``, the simulation's tau; ``math.inf`` the
    strict d = inf limit); ``gd`` is the exact overlap map of GD with the same step
    (:func:`flowphase.numerics.dynamics.iterate_gd_map`).  ``noise_term`` adds the finite-batch term ``sgd = eta d / rows`` of
    :mod:`flowphase.theory.dynamics` (rows = batch, or n times the draws per point).  Returns ``{"sim": {...}, "ode": {...}, "gd": {...}, "max_dev": {name: max |ode - sim|},
    "max_dev_gd": {...},
    "seconds_sim", "seconds_ode"}``.
    """
    t0 = time.perf_counter()
    sim = simulate_gd_overlaps(problem, t, d, n_steps, eta=eta, rho=rho, init=init, scale=scale, seed=seed,
                               batch=batch, record_every=record_every)
    t1 = time.perf_counter()
    prob = problem.replace(d=int(d))
    y0 = _state0(sim)
    y0[4] = max(y0[4], y0[2] ** 2 + y0[3] ** 2)
    y0[6] = max(y0[6], y0[5] ** 2)
    rows = batch if math.isinf(problem.n) else int(problem.n) * max(1, int(batch) // int(problem.n))
    sgd = eta * d / rows if noise_term else 0.0
    tr = integrate_overlaps(prob, t, y0, sim["s"], rho=rho, d=ode_d, sgd=sgd)
    t2 = time.perf_counter()
    ode = tr.as_dict()
    gd = iterate_gd_map(prob, t, y0, eta, int(n_steps), record_every=int(record_every), rho=rho,
                        d=ode_d, sgd=sgd).as_dict()
    dev = {k: float(np.max(np.abs(ode[k] - sim[k]))) for k in STATE_NAMES}
    dev_gd = {k: float(np.max(np.abs(gd[k] - sim[k]))) for k in STATE_NAMES}
    return {"sim": sim, "ode": ode, "gd": gd, "max_dev": dev, "max_dev_gd": dev_gd,
            "seconds_sim": t1 - t0, "seconds_ode": t2 - t1, "t": float(t), "d": int(d), "init": init,
            "eta": float(eta), "sgd": sgd}


def compare_with_simulator(problem: Problem, t: float, d: int, epochs: int, *, lr: float = 0.02,
                           init: str = "small", init_scale: float = 0.1, seed: int = 0, draws: int = 4,
                           record_every: int = 10, ode_d: Optional[float] = None, backend: str = "numba",
                           noise_term: bool = True) -> dict:
    """Overlay the ODE on the project simulator (:func:`flowphase.validation.simulator.simulate`).

    The simulator's ``optimizer='gd'`` (step ``lr/n`` on c, b and ``lr d/n`` on u, w of the theory-unit
    loss ``L = n Lbar``) is the balanced convention: one epoch is ``lr`` units of ODE time, ``rho = 1``.
    Its history records ``c, m, omega, b, sqrt_q, sqrt_r`` canonicalised record by record to
    ``m + omega >= 0`` (the ODE output is canonicalised the same way), not a, v: the ODE starts from a = 0
    and v = m omega (both O(1/sqrt d) off for the small and random initialisations).  The finite-batch
    term uses ``sgd = lr d / (n draws)`` (``noise_term=False`` drops it: the plain gradient flow).  ``ode_d``: the
    dimension the ODE is evaluated at (default ``d``; ``math.inf`` the d = inf limit).
    """
    from flowphase.validation.simulator.canonical import canonical_sign
    from flowphase.validation.simulator import simulate

    res = simulate(problem, d=int(d), ts=[float(t)], seeds=[int(seed)], epochs=int(epochs), optimizer="gd",
                   lr=float(lr), lr_final=float(lr), draws=int(draws), labels="exact", init=init,
                   init_scale=float(init_scale), record_every=int(record_every), keep_params=False,
                   progress=False, backend=backend)
    hist = np.asarray(res.history)[0, 0]
    steps = np.asarray(res.record_steps, dtype=float)
    sim = {nm: hist[:, i] for i, nm in enumerate(OVERLAP_NAMES)}
    sim["q"] = sim.pop("sqrt_q") ** 2
    sim["r"] = sim.pop("sqrt_r") ** 2
    sim["s"] = steps * lr
    sim["epochs"] = steps
    y0 = {"c": sim["c"][0], "b": sim["b"][0], "m": sim["m"][0], "q": max(sim["q"][0], sim["m"][0] ** 2),
          "omega": sim["omega"][0], "r": max(sim["r"][0], sim["omega"][0] ** 2), "a": 0.0,
          "v": sim["m"][0] * sim["omega"][0]}
    prob = problem.replace(d=int(d))
    rows = int(res.problem.n) * int(draws)
    sgd = float(lr) * int(d) / rows if noise_term else 0.0
    tr = integrate_overlaps(prob, t, y0, sim["s"] - sim["s"][0], rho=1.0, d=ode_d, sgd=sgd)
    ode = tr.as_dict()
    # the simulator canonicalises every record to m + omega >= 0 (PAPER §7.12, validation.canonical): same on the ODE
    flip = canonical_sign(ode["m"], ode["omega"]) < 0
    for k in ("m", "a", "omega", "b"):
        ode[k] = np.where(flip, -ode[k], ode[k])
    # sign-sensitive overlaps are compared where the sign is defined (|omega| > 0.02 in both)
    defined = (np.abs(ode["omega"]) > 0.02) & (np.abs(sim["omega"]) > 0.02)
    dev = {}
    for k in ("c", "b", "m", "q", "omega", "r"):
        sel = defined if k in ("b", "m", "omega") else np.ones_like(defined)
        dev[k] = float(np.max(np.abs(ode[k] - sim[k])[sel])) if np.any(sel) else 0.0
    return {"sim": sim, "ode": ode, "max_dev": dev, "t": float(t), "d": int(d), "init": init, "sgd": sgd}
