"""The built-in sweep tasks: thin adapters from flat parameters to the library (PAPER §3.1-§3.5, §4).

Each adapter builds the :class:`~flowphase.theory.problem.Problem` from its parameters, calls one library
function (imported lazily, so that listing the tasks stays cheap) and returns a flat dict of scalars.
"""
from __future__ import annotations

import math

from flowphase.theory.closed_forms import phase_one_population, phase_two_ridge

from .params import REQUIRED as _REQUIRED
from .params import Param
from .params import scalar as _scalar
from .registry import task

__all__ = ["check_problem", "theory_overlaps", "theory_generated", "check_mse", "theory_mse", "check_simulation",
           "simulation", "compare_task", "weight_decay_lambda", "MAX_SIZE", "MAX_SIM_SIZE"]

MAX_SIZE = 1e15             # largest finite d and n of a theory task (as theory.checks.SIZE_MAX)
MAX_SIM_SIZE = 10 ** 7      # largest d and n of a simulation task (memory is also checked by simulate)
_MAX_SIZE, _MAX_SIM_SIZE = MAX_SIZE, MAX_SIM_SIZE

_P = Param("real", 0.8, 0.0, 1.0, True, True, doc="weight of the + mode")
_PROBLEM_PARAMS = {
    "p": _P,
    "sigma": Param("real", 1.0, 0.0, None, True, doc="within-mode standard deviation"),
    "kappa": Param("real", 2.0, 0.0, None, True, doc="dilation constant"),
    "d": Param("count", math.inf, high=_MAX_SIZE, doc="dimension (inf: d -> infinity theory)"),
    "n": Param("count", math.inf, high=_MAX_SIZE, doc="number of training samples (inf: population)"),
    "lam_u": Param("real", 2.0, 0.0, doc="ridge penalty on u (theory units)"),
    "lam_w": Param("real", 2.0, 0.0, doc="ridge penalty on w (theory units)"),
    "noise": Param("choice", "fresh", choices=("fresh", "fixed", "notebook"), doc="noise convention"),
}
_T = Param("real", _REQUIRED, 0.0, 2.0, doc="dilated time in [0, 2]")
_SIM_PARAMS = {
    "d": Param("count", _REQUIRED, high=_MAX_SIM_SIZE, doc="dimension (finite)"),
    "n": Param("count", _REQUIRED, high=_MAX_SIM_SIZE, doc="number of training samples (finite)"),
    "seed": Param("int", 0, 0, 2 ** 63 - 1, doc="seed (default: the spec's base seed)"),
    "epochs": Param("int", 2000, 1, 10 ** 7, doc="full-batch optimisation steps"),
    "optimizer": Param("choice", "adam", choices=("adam", "gd")),
    "lr": Param("real", 1e-2, 0.0, 1e6, True, doc="learning rate"),
    "lr_final": Param("real", None, 0.0, 1e6, True,
                      doc="learning rate of the last step, geometric decay (default: constant lr, as both presets)"),
    "draws": Param("int", 1, 1, 10 ** 6, doc="fresh noise draws per point per step"),
    "labels": Param("choice", "bernoulli", choices=("bernoulli", "exact")),
    "init": Param("choice", "small", choices=("random", "small", "informed")),
    "backend": Param("choice", "numba", choices=("numba", "numpy")),
}


def _problem(p, sigma, kappa, d, n, lam_u, lam_w, noise):
    from flowphase.theory.problem import Problem

    return Problem.dilated(p=p, sigma=sigma, kappa=kappa, d=d, n=n, lam_u=lam_u, lam_w=lam_w,
                           noise=noise)


def check_problem(**params) -> None:
    """Cross-parameter validation of the dilated problem and of t (PAPER §1.3: kappa/sqrt(d) < 1)."""
    keys = ("p", "sigma", "kappa", "d", "n", "lam_u", "lam_w", "noise")
    problem = _problem(**{k: params[k] for k in keys})
    if "t" in params:
        problem.schedule.check_t(params["t"])


@task("theory.overlaps",
      {"t": _T, **_PROBLEM_PARAMS,
       "theory": Param("choice", "auto", choices=("auto", "exact", "paper"),
                       doc="finite-n theory: exact (EXACT_FINITE_N), paper (PAPER §3.2) or auto (exact where "
                           "defined)")},
      requires=("flowphase.numerics.learned",), check=check_problem,
      doc="learned overlaps c, m, omega, b, sqrt_q at time t (PAPER §3.1-3.4)")
def theory_overlaps(t, p, sigma, kappa, d, n, lam_u, lam_w, noise, *, theory="auto") -> dict:
    """Learned parameters (c, m, omega, b, sqrt(q), and the exact theory's z, a, sqrt(r)) at time t.

    Thin adapter around ``flowphase.numerics.learned.learned_parameters(problem, t, theory)``
    (``theory='auto'``: the exact finite-n theory of EXACT_FINITE_N where defined, evaluated at the
    problem's d; else the paper's, PAPER §3.1-§3.4); ``omega`` and ``b`` are None where flat.
    """
    from flowphase.numerics.learned import learned_parameters

    problem = _problem(p, sigma, kappa, d, n, lam_u, lam_w, noise)
    r = learned_parameters(problem, t, None if theory == "auto" else theory)
    out = {"phase": int(problem.phase(t)), "c": _scalar(r.c), "m": _scalar(r.m),
           "omega": _scalar(r.omega), "b": _scalar(r.b), "sqrt_q": _scalar(r.sqrt_q)}
    out["theory_used"] = r.theory
    for extra in ("z_plus", "z_minus", "a_plus", "a_minus", "sqrt_r", "q_eta", "q_xi", "branch",
                  "converged", "iterations"):  # exact-theory overlaps and solver diagnostics
        if hasattr(r, extra):
            out[extra] = _scalar(getattr(r, extra))
    return out


@task("theory.generated",
      {**_PROBLEM_PARAMS,
       "transition": Param("choice", "exact", choices=("exact", "euler"), doc="transition at t = 1 (PAPER §3.5)"),
       "window": Param("choice", "learned", choices=("learned", "bayes"),
                       doc="field inside the t = 1+ window for the exact transition")},
      requires=("flowphase.numerics.generation",), check=check_problem,
      doc="generated p_hat, mean_overlap, variance, y1_mean, y1_prob_positive (PAPER §3.5)")
def theory_generated(p, sigma, kappa, d, n, lam_u, lam_w, noise, transition, window) -> dict:
    """Generated mode fraction, mean overlap and within-mode variance (PAPER §3.5).

    Adapter around ``flowphase.numerics.generation.generated_distribution(problem, transition)``;
    also returns E[y(1)] and P(y(1) > 0) after phase 1.
    """
    from flowphase.numerics.generation import generated_distribution

    r = generated_distribution(_problem(p, sigma, kappa, d, n, lam_u, lam_w, noise), transition,
                               window=window)
    return {k: _scalar(getattr(r, k))
            for k in ("p_hat", "mean_overlap", "variance", "y1_mean", "y1_prob_positive")}


def _mse_problem(p, sigma, kappa, schedule):
    from flowphase.theory.problem import Problem

    if schedule == "dilated":
        return Problem.dilated(p=p, sigma=sigma, kappa=kappa)
    return Problem.undilated(p=p, sigma=sigma)


def check_mse(t, p, sigma, kappa, schedule) -> None:
    """t must lie in the schedule's range: [0, 2] dilated, [0, 1] undilated (PAPER §1.3, §4)."""
    _mse_problem(p, sigma, kappa, schedule).schedule.check_t(t)


@task("theory.mse",
      {"t": Param("real", _REQUIRED, 0.0, 2.0, doc="schedule time ([0, 1] undilated)"),
       "p": _P, "sigma": _PROBLEM_PARAMS["sigma"], "kappa": _PROBLEM_PARAMS["kappa"],
       "schedule": Param("choice", "dilated", choices=("dilated", "undilated"))},
      requires=("flowphase.numerics.mse",), check=check_mse,
      doc="Bayes MSE eps(t) at d = n = inf (PAPER §4)")
def theory_mse(t, p, sigma, kappa, schedule) -> dict:
    """Bayes denoising MSE eps(t) at d -> infinity, n = infinity (PAPER §4).

    Adapter around ``flowphase.numerics.mse.mse_curve``; with ``schedule = 'undilated'`` t is the
    physical time tau in [0, 1].
    """
    from flowphase.numerics.mse import mse_curve

    return {"mse": float(mse_curve(_mse_problem(p, sigma, kappa, schedule), [t])[0])}


def check_simulation(**params) -> None:
    """Cross-parameter validation of a finite-d simulation (finite d, n; kappa/sqrt(d) < 1)."""
    check_problem(**params)
    for key in ("d", "n"):
        if math.isinf(params[key]):
            raise ValueError(f"{key} must be finite for a simulation, got inf")
    if params["noise"] not in ("fresh", "fixed"):
        raise ValueError(f"noise must be 'fresh' or 'fixed' for a simulation, got {params['noise']!r}")


@task("simulation", {"t": _T, **_PROBLEM_PARAMS, **_SIM_PARAMS},
      requires=("flowphase.validation.simulator",), check=check_simulation,
      doc="finite-d training at one time t and seed: c, m, omega, b, sqrt_q, sqrt_r, loss")
def simulation(t, p, sigma, kappa, d, n, lam_u, lam_w, noise, seed, epochs, optimizer, lr, draws,
               labels, init, backend, *, lr_final=None) -> dict:
    """Finite-d training of the denoiser at one time t, one seed (PAPER §2.1-§2.3).

    Adapter around ``flowphase.validation.simulator.simulate``; returns the canonicalised overlaps
    ``c, m, omega, b, sqrt_q, sqrt_r`` and the final training loss.
    """
    from flowphase.validation.simulator import OVERLAP_NAMES, simulate

    problem = _problem(p, sigma, kappa, d, n, lam_u, lam_w, noise)
    r = simulate(problem, ts=[t], seeds=[seed], epochs=epochs, optimizer=optimizer, lr=lr, lr_final=lr_final,
                 draws=draws, labels=labels, init=init, backend=backend, keep_params=False,
                 progress=False)
    out = {name: float(r.overlaps[0, 0, i]) for i, name in enumerate(OVERLAP_NAMES)}
    out["loss"] = float(r.final_loss()[0, 0])
    return out


@task("compare",
      {"t": _T, **_PROBLEM_PARAMS, **_SIM_PARAMS,
       "n_seeds": Param("int", 4, 1, 10 ** 4, doc="seeds seed, seed+1, ... averaged"),
       "epochs": Param("int", 400, 1, 10 ** 7, doc="full-batch optimisation steps"),
       "theory_d": Param("count", None, high=_MAX_SIZE,
                         doc="dimension the theory is evaluated at (inf: d -> infinity; default: the simulated d)"),
       "theory": Param("choice", "auto", choices=("auto", "exact", "paper"),
                       doc="finite-n theory (auto: exact where defined)")},
      requires=("flowphase.validation.compare",), check=check_simulation,
      doc="theory vs simulation at time t: q_sim, q_stderr, q_theory, q_z per overlap q")
def compare_task(t, p, sigma, kappa, d, n, lam_u, lam_w, noise, seed, n_seeds, epochs, optimizer,
                 lr, draws, labels, init, backend, *, theory_d=None, theory="auto", lr_final=None) -> dict:
    """Theory vs simulation at one time t over seeds ``seed .. seed + n_seeds - 1`` (PAPER §3.9).

    Adapter around ``flowphase.validation.compare.compare``; returns, for each overlap q in
    (c, m, omega, b, sqrt_q), ``q_sim`` (mean over seeds), ``q_stderr``, ``q_theory`` and ``q_z``
    (None where the theory has no value, e.g. omega and b in phase 2).
    """
    from flowphase.numerics.learned import resolve_theory
    from flowphase.numerics.theories import theory_from_name
    from flowphase.validation.compare import compare

    problem = _problem(p, sigma, kappa, d, n, lam_u, lam_w, noise)
    strategy = None if theory == "auto" else theory
    if theory_d is not None:                     # a strategy at its own d; n_plus: the simulation's
        strategy = theory_from_name(resolve_theory(problem, strategy), d=theory_d)
    table = compare(problem, seeds=list(range(seed, seed + n_seeds)), ts=[t], epochs=epochs,
                    theory=strategy, optimizer=optimizer, lr=lr,
                    lr_final=lr_final, draws=draws, labels=labels,
                    init=init, backend=backend, keep_params=False, progress=False)
    out = {}
    for r in table.rows:
        q = r["quantity"]
        out.update({f"{q}_sim": r["sim_mean"], f"{q}_stderr": r["sim_stderr"],
                    f"{q}_theory": r["theory"], f"{q}_z": r["z"], f"{q}_pass": r["pass"],
                    f"{q}_converged": r["converged"]})
    return out


@task("theory.weight_decay_to_lambda",
      {"weight_decay": Param("real", _REQUIRED, 0.0, doc="coupled weight decay"),
       "d": Param("real", _REQUIRED, 0.0, _MAX_SIZE, True, doc="dimension"),
       "n_times": Param("int", 1, 1, 10 ** 6, doc="number of grid times T")},
      requires=("flowphase.theory.problem",),
      doc="lambda = wd d T / 2 (PAPER §2.3)")
def weight_decay_lambda(weight_decay, d, n_times) -> dict:
    """Ridge penalty lambda = wd d T / 2 of a coupled weight decay (PAPER §2.3)."""
    from flowphase.theory.problem import weight_decay_to_lambda

    return {"lam": weight_decay_to_lambda(weight_decay, d, n_times)}


task("theory.closed_forms.phase_two",
     {"tp": Param("real", _REQUIRED, 0.0, 1.0, doc="phase-2 time t' = t - 1"),
      "n": _PROBLEM_PARAMS["n"], "sigma": _PROBLEM_PARAMS["sigma"],
      "lam_u": _PROBLEM_PARAMS["lam_u"], "noise": _PROBLEM_PARAMS["noise"]},
     requires=("flowphase.theory.closed_forms",),
     doc="phase-2 ridge closed forms c, m, q_eta, q_xi, A, B, D (PAPER §3.3-3.4)")(phase_two_ridge)
task("theory.closed_forms.phase_one",
     {"t": Param("real", _REQUIRED, 0.0, 1.0, doc="phase-1 time"),
      "kappa": _PROBLEM_PARAMS["kappa"], "p": _P},
     requires=("flowphase.theory.closed_forms",),
     doc="phase-1 population fixed point c, m, omega, b, q, r (PAPER §3.1)")(phase_one_population)
