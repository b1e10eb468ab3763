"""The theory of the learned network as a strategy object (diffrax style): one interface, two theories.

* :class:`PaperAnsatz` -- the paper's restricted ansatz (PAPER §3.2) in phase 1 and the ridge closed forms in
  phase 2 (PAPER §3.4), any noise convention; its dynamics are the overlap ODE of :mod:`flowphase.theory.dynamics`.
* :class:`ExactFiniteN` -- the exact d -> inf limit at fixed n (fresh noise, no ansatz; EXACT_FINITE_N in
  ``docs/``), one potential for both phases; its dynamics are those of :mod:`flowphase.theory.exact_dynamics`.

Both take ``d`` (keyword-only; ``None`` = d -> inf) -- the dimension the theory is evaluated at -- and offer

* :meth:`~Theory.overlaps` ``(problem, t)`` -> :class:`~flowphase.numerics.results.LearnedParameters`,
* :meth:`~Theory.curve` ``(problem, ts)`` -> :class:`~flowphase.numerics.results.LearnedCurve` (continuation in t
  with the jumps of omega),
* :meth:`~Theory.dynamics` ``(problem, t, s=..., y0=..., method=...)`` ->
  :class:`~flowphase.numerics.results.Trajectory`, with a method object :class:`GradientFlow`,
  :class:`GradientDescent` or :class:`Adam`,
* :meth:`~Theory.initial_state` -- the simulator's initialisations in the theory's coordinates,
* :meth:`~Theory.dynamics_payload` ``(problem, t, epochs=...)`` -- the dynamics on a simulator's epoch clock as the
  JSON record of ``flowphase theory dynamics``,
* :meth:`~Theory.generated` -> :class:`~flowphase.numerics.results.GeneratedStatistics` -- the statistics of the
  generated distribution (mode fraction ``p_hat``, mean overlap, variance, ...).

The overlap records carry the overlap names :data:`~flowphase.theory.records.OVERLAP_NAMES` (the simulator's).
The strings ``'paper'`` / ``'exact'`` of the command line map to these objects through :func:`theory_from_name`
only; :func:`default_theory` is the choice made when none is given.

Example
-------
>>> import flowphase as fp
>>> pr = fp.Problem.dilated(p=0.8, kappa=2.0, n=128)
>>> fp.ExactFiniteN(d=1000).curve(pr, [0.5, 1.5]).m          # doctest: +SKIP
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from flowphase.numerics.results import (CLASS_FIELDS, ConvergenceError, GeneratedStatistics, LearnedCurve,
                                        LearnedParameters, RECORD_FIELDS, Trajectory)
from flowphase.theory.records import OVERLAP_NAMES

__all__ = ["Theory", "PaperAnsatz", "ExactFiniteN", "GradientFlow", "GradientDescent", "Adam", "THEORY_NAMES",
           "theory_from_name", "default_theory"]

#: the command line's names of the two theories
THEORY_NAMES = ("exact", "paper")
#: record fields that are flat directions (reported ``None`` / NaN) on the saturated phase-2 branch
_FLAT = ("omega", "b", "z_plus", "z_minus", "sqrt_r")
assert set(_FLAT) <= set(RECORD_FIELDS) and set(CLASS_FIELDS) < set(RECORD_FIELDS)


# ----------------------------------------------------------------------------- methods of the dynamics
@dataclass(frozen=True)
class GradientFlow:
    """Gradient flow of the theory's loss, integrated with the Runge-Kutta engine :mod:`flowphase.numerics.rk`.

    ``rtol``, ``atol``: ``None`` takes the theory's default (paper 1e-8 / 1e-10, exact 1e-9 / 1e-11);
    ``solver``: a tableau name of :data:`flowphase.numerics.rk.TABLEAUS`.
    """

    rtol: Optional[float] = None
    atol: Optional[float] = None
    solver: str = "dopri5"


@dataclass(frozen=True)
class GradientDescent:
    """The exact overlap map of full-batch gradient descent with learning rate ``lr`` in ODE-time units (one
    step advances the ODE time by ``lr``; the simulator's preconditioned GD with the same ``lr``)."""

    lr: float

    def __post_init__(self):
        if isinstance(self.lr, bool) or not (isinstance(self.lr, (int, float)) and 0 < self.lr < math.inf):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")


@dataclass(frozen=True)
class Adam:
    """Adam with learning rate ``lr`` (PyTorch's defaults ``betas``, ``eps``).

    :class:`PaperAnsatz` follows the gradient flow and puts it on the noise-dominated Adam clock
    (:func:`flowphase.numerics.dynamics.adam_epochs`, ``rows`` = rows per batch; an approximation);
    :class:`ExactFiniteN` runs the per-point stochastic Adam map (:mod:`flowphase.numerics.exact.stochastic`;
    ``draws`` fresh noise draws per point and step, ``adam_law`` ``'coordinate'`` or ``'isotropic'``).
    """

    lr: float
    rows: int = 1
    betas: Tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    draws: int = 1
    adam_law: str = "coordinate"

    def __post_init__(self):
        if isinstance(self.lr, bool) or not (isinstance(self.lr, (int, float)) and 0 < self.lr < math.inf):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")


def _even_steps(s, lr: float) -> Tuple[int, int]:
    """``(n_steps, record_every)`` of a map whose records lie at ``s = 0, h, 2h, ...`` with ``h`` a multiple of lr."""
    s = np.asarray(s, dtype=float)
    if s.ndim != 1 or s.size < 2 or s[0] != 0.0:
        raise ValueError("s must be an evenly spaced 1-d grid of at least two times starting at 0")
    every = int(round((s[1] - s[0]) / lr))
    if every < 1 or not np.allclose(s, np.arange(s.size) * every * lr, rtol=1e-12, atol=1e-12 * lr):
        raise ValueError(f"s must be 0, h, 2h, ... with h a multiple of lr = {lr!r}")
    return every * (s.size - 1), every


def _check_d(d) -> Optional[float]:
    if d is None:
        return None
    if isinstance(d, bool) or not isinstance(d, (int, float, np.integer, np.floating)) or not float(d) >= 1.0:
        raise ValueError(f"d must be None (d -> inf) or a number >= 1, got {d!r}")
    return None if math.isinf(float(d)) else float(d)


# ----------------------------------------------------------------------------- the strategy interface
class Theory:
    """Interface of a theory of the learned network (module docstring); subclasses are frozen dataclasses."""

    name: str = ""
    d: Optional[float] = None

    @property
    def d_value(self) -> float:
        """The dimension the theory is evaluated at (``inf`` for ``d=None``)."""
        return math.inf if self.d is None else float(self.d)

    def overlaps(self, problem, t, *, throw: bool = True, **solver_kw) -> LearnedParameters:
        """Learned overlaps at schedule time ``t`` (``throw=False``: ``converged=False`` instead of raising)."""
        raise NotImplementedError

    def curve(self, problem, ts, *, throw: bool = True, refine_jumps: bool = True, **solver_kw) -> LearnedCurve:
        """Learned overlaps at many times (any order), by continuation, with the jumps of omega bisected
        (``refine_jumps``)."""
        raise NotImplementedError

    def initial_state(self, problem, t, *, init: str = "small", seed: int = 0, scale: float = 0.1) -> dict:
        """The simulator's initialisation ``init`` (``'small'``, ``'random'``, ``'informed'``) in the theory's
        state coordinates."""
        raise NotImplementedError

    def dynamics(self, problem, t, *, s, y0=None, method=GradientFlow(), rho: float = 1.0, **kw) -> Trajectory:
        """The learning dynamics of the per-time network at schedule time ``t`` from the state ``y0``.

        ``s``: the ODE times to report (increasing; for :class:`GradientDescent` the grid ``0, h, 2h, ...`` with
        ``h`` a multiple of ``lr``); ``y0``: the initial state (default :meth:`initial_state`, the small
        initialisation); ``rho``: speed of the scalars c, b relative to the vectors.
        """
        raise NotImplementedError

    def generated(self, problem, *, sampler: str = "euler", **kw) -> GeneratedStatistics:
        """Statistics of the generated distribution: ``p_hat``, ``mean_overlap``, ``variance`` and the others the
        theory computes (:class:`~flowphase.numerics.results.GeneratedStatistics`)."""
        raise NotImplementedError

    def dynamics_payload(self, problem, t, *, epochs, convention: Optional[str] = None, lr: Optional[float] = None,
                         init: Optional[str] = None, seed: Optional[int] = None, scale: Optional[float] = None,
                         points: Optional[int] = None, n_times: Optional[int] = None,
                         draws: Optional[int] = None) -> dict:
        """The learning dynamics on a simulator's epoch clock, as the JSON record ``flowphase theory dynamics``
        prints: the overlaps at ``points`` epochs in ``[0, epochs]`` of a run started from the simulator's
        initialisation ``init`` (seeded by ``seed``, scale ``scale``), sign-canonicalised so that the final omega
        is >= 0, with the settings and ``problem``; ``"theory"`` names the strategy.

        ``convention`` (default ``'balanced'``) maps one epoch to ODE time: ``'balanced'``, ``'theory'``,
        ``'authors'`` (with the grid size ``n_times``), ``'mean'`` (:func:`flowphase.theory.dynamics.ode_time_per_step`)
        or ``'adam'`` (Adam with ``draws`` fresh noise draws per point and step); ``lr`` the simulator's learning
        rate.  An option left ``None`` takes the theory's default (the builders named by the subclasses).  The
        theory is evaluated at its ``d`` (``problem.d`` is replaced by it); the problem must be dilated.
        """
        opts = dict(t=t, epochs=epochs, convention=convention, lr=lr, init=init, seed=seed, scale=scale,
                    points=points, n_times=n_times, draws=draws)
        if not problem.dilated_schedule:
            raise ValueError("dynamics_payload takes a dilated problem (Problem.dilated(...))")
        problem = problem if problem.d == self.d_value else problem.replace(d=self.d_value)
        return self._payload({k: v for k, v in opts.items() if v is not None}, problem)

    def _payload(self, args: dict, problem) -> dict:
        raise NotImplementedError

    def _check_ts(self, problem, ts) -> np.ndarray:
        ts = np.atleast_1d(np.asarray(ts, dtype=float))
        if ts.ndim != 1 or ts.size == 0:
            raise ValueError("ts must be a non-empty 1-d array of times")
        problem.schedule.check_t(ts)
        return ts


# ----------------------------------------------------------------------------- the paper's ansatz
def _kind(problem, t) -> str:
    """'one' (phase-1 solve), 'degenerate' (undilated tau = 0) or 'two' (ridge)."""
    if problem.dilated_schedule:
        return "one" if float(t) <= 1.0 else "two"
    return "degenerate" if float(problem.tau(t)) == 0.0 else "two"


def _paper_extras(res: LearnedParameters) -> LearnedParameters:
    """The paper's ansatz in the exact coordinates: z = 0, a_pm = +-q_eta, sqrt_r = omega."""
    res.z_plus = 0.0 if res.omega is not None else None
    res.z_minus = res.z_plus
    res.a_plus, res.a_minus = res.q_eta, -res.q_eta
    res.sqrt_r = None if res.omega is None else abs(res.omega)
    return res


@dataclass(frozen=True, kw_only=True)
class PaperAnsatz(Theory):
    """The paper's restricted ansatz (PAPER §3.2) and phase-2 ridge closed forms (PAPER §3.4).

    ``d`` (keyword-only, ``None`` = inf): the dimension of the physical time ``tau(t)`` of phase 2 and of the
    overlap dynamics (``d`` of :func:`flowphase.numerics.dynamics.dynamics_params`).
    """

    d: Optional[float] = None
    name = "paper"

    def __post_init__(self):
        object.__setattr__(self, "d", _check_d(self.d))

    def _at(self, problem):
        return problem if problem.d == self.d_value else problem.replace(d=self.d_value)

    def overlaps(self, problem, t, *, throw: bool = True, **solver_kw) -> LearnedParameters:
        from flowphase.numerics.phase_one import solve_phase_one
        from flowphase.numerics.phase_two import phase_two_arrays, phase_two_coefficients

        problem = self._at(problem)
        problem.schedule.check_t(t)
        t = float(t)
        tau = float(problem.tau(t))
        phase = problem.phase(t)
        kind = _kind(problem, t)
        tr = problem.training
        if kind in ("one", "degenerate"):
            kt = problem.kappa * t if kind == "one" else 0.0
            r = solve_phase_one(kt, problem.p, tr.n, sigma=problem.sigma, lam_u=tr.lam_u, lam_w=tr.lam_w, t=t,
                                throw=throw, **solver_kw)
            if not r.converged:
                return LearnedParameters(value=None, converged=False, iterations=r.iterations, residual=r.residual,
                                         message=r.message, t=t, tau=tau, phase=int(phase), branch=r.branch)
            res = LearnedParameters(value=None, converged=r.converged, iterations=r.iterations,
                                    residual=r.grad_norm, message=r.message, t=t, tau=tau, phase=int(phase), c=0.0,
                                    m=r.m, omega=r.omega, b=r.b, q_eta=r.q_eta, q_xi=0.0, sqrt_q=r.sqrt_q,
                                    branch=r.branch if kind == "one" else "degenerate", info={"energy": r.energy})
        else:
            _, beta, alpha = phase_two_coefficients(problem, t)
            try:
                row = phase_two_arrays([beta], [alpha], tr.n, problem.sigma, tr.lam_u, noise=tr.noise)[0]
            except ConvergenceError as exc:
                if throw:
                    raise
                return LearnedParameters(value=None, converged=False, iterations=0, residual=math.inf,
                                         message=str(exc), t=t, tau=tau, phase=int(phase), branch="ridge")
            res = LearnedParameters(value=None, converged=True, iterations=0, residual=0.0,
                                    message="ridge closed form (PAPER §3.4)", t=t, tau=tau, phase=int(phase),
                                    c=float(row[0]), m=float(row[1]), omega=None, b=None, q_eta=float(row[2]),
                                    q_xi=float(row[3]), sqrt_q=float(row[4]), branch="ridge")
        _paper_extras(res)
        res.d = float(problem.d)
        res.value = res.as_dict()
        return res

    def curve(self, problem, ts, *, throw: bool = True, refine_jumps: bool = True, **solver_kw) -> LearnedCurve:
        from flowphase.numerics.phase_one import phase_one_curve
        from flowphase.numerics.phase_two import phase_two_arrays, phase_two_coefficients

        problem = self._at(problem)
        ts = self._check_ts(problem, ts)
        if "starts" in solver_kw:
            raise ValueError("starts are chosen by the continuation along the curve; use overlaps() for one time")
        if "check_every" in solver_kw:
            raise ValueError("check_every applies to ExactFiniteN only")
        N = ts.size
        tau = np.atleast_1d(np.asarray(problem.tau(ts), dtype=float))
        phase = np.array([problem.phase(t) for t in ts], dtype=np.int64)
        names = ("c", "m", "omega", "b", "q_eta", "q_xi", "sqrt_q", "residual")
        out = {k: np.full(N, np.nan) for k in names}
        converged = np.ones(N, dtype=bool)
        iterations = np.zeros(N, dtype=np.int64)
        branch = [""] * N
        jumps: List = []
        kinds = np.array([_kind(problem, t) for t in ts])
        tr = problem.training

        one = np.flatnonzero(kinds == "one")
        if one.size:
            order = one[np.argsort(ts[one], kind="stable")]
            cur = phase_one_curve(problem, ts[order], throw=throw, refine_jumps=refine_jumps, **solver_kw)
            for j, k in enumerate(order):
                r = cur.results[j]
                for key, v in zip(names, (0.0, r.m, r.omega, r.b, r.q_eta, 0.0, r.sqrt_q, r.grad_norm)):
                    out[key][k] = v
                converged[k], iterations[k], branch[k] = r.converged, r.iterations, r.branch
            jumps = cur.jumps
        for k in np.flatnonzero(kinds == "degenerate"):
            r = self.overlaps(problem, ts[k], throw=throw, **solver_kw)
            for key in names:
                out[key][k] = getattr(r, key)
            converged[k], iterations[k], branch[k] = r.converged, r.iterations, r.branch
        two = np.flatnonzero(kinds == "two")
        if two.size:
            _, beta, alpha = phase_two_coefficients(problem, ts[two])
            try:
                rows = phase_two_arrays(beta, alpha, tr.n, problem.sigma, tr.lam_u, noise=tr.noise)
            except ConvergenceError:
                if throw:
                    raise
                rows = np.full((two.size, 5), np.nan)
                converged[two] = False
            for key, col in (("c", 0), ("m", 1), ("q_eta", 2), ("q_xi", 3), ("sqrt_q", 4)):
                out[key][two] = rows[:, col]
            out["residual"][two] = np.where(converged[two], 0.0, np.inf)
            for k in two:
                branch[k] = "ridge"
        sat = np.isnan(out["omega"])
        extras = dict(z_plus=np.where(sat, np.nan, 0.0), z_minus=np.where(sat, np.nan, 0.0),
                      a_plus=out["q_eta"].copy(), a_minus=-out["q_eta"], sqrt_r=np.abs(out["omega"]))
        return LearnedCurve(t=ts.copy(), tau=tau, phase=phase, converged=converged, iterations=iterations,
                            branch=branch, jumps=jumps, theory="paper", d=float(problem.d), **extras, **out)

    def initial_state(self, problem, t, *, init: str = "small", seed: int = 0, scale: float = 0.1) -> dict:
        from flowphase.numerics.dynamics import initial_overlaps

        return initial_overlaps(init, problem, t, seed=seed, scale=scale)

    def dynamics(self, problem, t, *, s, y0=None, method=GradientFlow(), rho: float = 1.0, n_quad: int = 151,
                 sgd: float = 0.0, throw: bool = True) -> Trajectory:
        """:meth:`Theory.dynamics` of the overlap ODE / GD map (:mod:`flowphase.numerics.dynamics`; ``sgd``:
        finite-batch noise strength ``lr d / B``, ``n_quad``: trapezoid nodes).  :class:`Adam`: the gradient flow
        at the ODE times ``s`` with ``info['epochs']`` its noise-dominated Adam clock (the simulation's d =
        ``problem.d``)."""
        from flowphase.numerics.dynamics import adam_epochs, integrate_overlaps, iterate_gd_map

        d = self.d_value
        y0 = self.initial_state(problem, t) if y0 is None else y0
        if isinstance(method, GradientDescent):
            n_steps, every = _even_steps(s, method.lr)
            return iterate_gd_map(problem, t, y0, method.lr, n_steps, record_every=every, rho=rho, d=d,
                                  n_quad=n_quad, sgd=sgd)
        if isinstance(method, (GradientFlow, Adam)):
            flow = method if isinstance(method, GradientFlow) else GradientFlow()
            tr = integrate_overlaps(problem, t, y0, s, rho=rho, d=d, n_quad=n_quad,
                                    rtol=1e-8 if flow.rtol is None else flow.rtol,
                                    atol=1e-10 if flow.atol is None else flow.atol, method=flow.solver, throw=throw,
                                    sgd=sgd)
            if isinstance(method, Adam):
                tr.info["epochs"] = adam_epochs(problem, t, tr, method.lr, method.rows)
            return tr
        raise ValueError(f"method must be GradientFlow(), GradientDescent(lr) or Adam(lr), got {method!r}")

    def _payload(self, args: dict, problem) -> dict:
        """:meth:`Theory.dynamics_payload` by :func:`flowphase.numerics.dynamics.payload.dynamics_payload` (the
        overlap ODE; ``'adam'``: the gradient flow on the noise-dominated Adam clock)."""
        from flowphase.numerics.dynamics.payload import dynamics_payload

        out = dynamics_payload(args, problem=problem)
        out["theory"] = self.name
        return out

    def generated(self, problem, *, sampler: str = "euler", **kw) -> GeneratedStatistics:
        """Generated distribution at d -> inf (:func:`flowphase.numerics.generation.generated_distribution`):
        ``sampler='euler'`` the authors' Euler step through the t = 1+ window (transition ``'euler'``),
        ``'continuous'`` the exact flow through it (transition ``'exact'``); ``kw`` (``window``, ``n_nodes``, ...)
        passed on."""
        from flowphase.numerics.generation import generated_distribution

        if self.d is not None:
            raise ValueError("the paper's generated distribution is a d -> inf theory: use PaperAnsatz() "
                             "or ExactFiniteN(d=...)")
        transitions = {"euler": "euler", "continuous": "exact"}
        if sampler not in transitions:
            raise ValueError(f"sampler must be one of {tuple(transitions)} for PaperAnsatz, got {sampler!r}")
        return generated_distribution(problem, transitions[sampler], **kw)


# ----------------------------------------------------------------------------- the exact finite-n theory
def _record_from_exact(r, phase) -> LearnedParameters:
    sat = r.branch == "saturated"
    nn = r.n_plus + r.n_minus
    q_eta = (r.n_plus * r.a_plus - r.n_minus * r.a_minus) / nn if nn else 0.0

    def flat(v):
        return None if (sat or v is None or (isinstance(v, float) and math.isnan(v))) else float(v)

    fields = {k: (flat(getattr(r, k)) if k in _FLAT else getattr(r, k))
              for k in RECORD_FIELDS if k not in ("q_eta", "q_xi")}
    out = LearnedParameters(value=None, converged=r.converged, iterations=r.iterations, residual=r.residual,
                            message=r.message, info=dict(r.info, energy=r.energy), t=r.t, tau=r.tau,
                            phase=int(phase), q_eta=float(q_eta), q_xi=0.0, branch=r.branch, theory="exact", d=r.d,
                            n_plus=(r.n_plus or None), **fields)
    out.value = out.as_dict()
    return out


def _curve_from_exact(cur, problem, ts) -> LearnedCurve:
    sat = np.array([b == "saturated" for b in cur.branch])
    nn = cur.n_plus + cur.n_minus
    q_eta = (cur.n_plus * cur.a_plus - cur.n_minus * cur.a_minus) / nn if nn else np.zeros_like(cur.c)
    fields = {k: (np.where(sat, np.nan, getattr(cur, k)) if k in _FLAT else getattr(cur, k))
              for k in RECORD_FIELDS if k not in ("q_eta", "q_xi")}
    phase = np.array([problem.phase(t) for t in ts], dtype=np.int64)
    return LearnedCurve(t=ts.copy(), tau=cur.tau, phase=phase, q_eta=q_eta, q_xi=np.zeros_like(cur.c),
                        converged=cur.converged, iterations=cur.iterations, residual=cur.residual,
                        branch=list(cur.branch), jumps=cur.jumps, theory="exact", d=float(cur.d),
                        n_plus=(cur.n_plus or None), **fields)


@dataclass(frozen=True, kw_only=True)
class ExactFiniteN(Theory):
    """The exact finite-n theory (d -> inf at fixed n, fresh noise; :mod:`flowphase.numerics.exact`).

    ``d`` (keyword-only, ``None`` = inf): the dimension the theory is evaluated at (``B = beta sqrt(d)``, Stein
    term ``1/sqrt(d)``); ``n_plus``: realised count of the + class (default ``round(p n)``).
    """

    d: Optional[float] = None
    n_plus: Optional[int] = None
    name = "exact"

    def __post_init__(self):
        object.__setattr__(self, "d", _check_d(self.d))

    def overlaps(self, problem, t, *, throw: bool = True, **solver_kw) -> LearnedParameters:
        from flowphase.numerics.exact import solve_exact

        problem.schedule.check_t(t)
        r = solve_exact(problem, t, self.d_value, n_plus=self.n_plus, throw=throw, **solver_kw)
        return _record_from_exact(r, problem.phase(float(t)))

    def curve(self, problem, ts, *, throw: bool = True, refine_jumps: bool = True, **solver_kw) -> LearnedCurve:
        from flowphase.numerics.exact import exact_curve

        ts = self._check_ts(problem, ts)
        if "starts" in solver_kw:
            raise ValueError("starts are chosen by the continuation along the curve; use overlaps() for one time")
        cur = exact_curve(problem, ts, self.d_value, n_plus=self.n_plus, throw=throw, refine_jumps=refine_jumps,
                          **solver_kw)
        return _curve_from_exact(cur, problem, ts)

    def initial_state(self, problem, t, *, init: str = "small", seed: int = 0, scale: float = 0.1) -> dict:
        from flowphase.numerics.exact.dynamics import exact_initial_state

        return exact_initial_state(init, problem, t, seed=seed, scale=scale)

    def dynamics(self, problem, t, *, s, y0=None, method=GradientFlow(), rho: float = 1.0, rule=None,
                 labels=None, throw: bool = True) -> Trajectory:
        """:meth:`Theory.dynamics` in the exact class coordinates (:mod:`flowphase.numerics.exact.dynamics`).

        :class:`Adam`: the per-point stochastic map; ``y0`` a per-point state
        (:func:`flowphase.numerics.exact.perpoint.perpoint_state`), ``labels`` the n labels +-1, ``s`` the
        step counts to report (``0, h, 2h, ...``); ``value`` rows are the per-point states, ``info['opt']`` the
        optimiser's state."""
        from flowphase.numerics.exact.dynamics import integrate_exact, iterate_exact_gd

        d = self.d_value
        if y0 is None:
            if isinstance(method, Adam):
                raise ValueError("Adam in the exact theory needs the per-point state y0 and the labels")
            y0 = self.initial_state(problem, t)
        if isinstance(method, GradientDescent):
            n_steps, every = _even_steps(s, method.lr)
            return iterate_exact_gd(problem, t, y0, method.lr, n_steps, record_every=every, d=d,
                                    n_plus=self.n_plus, rho=rho, rule=rule)
        if isinstance(method, GradientFlow):
            return integrate_exact(problem, t, y0, s, d=d, n_plus=self.n_plus, rho=rho, rule=rule,
                                   rtol=1e-9 if method.rtol is None else method.rtol,
                                   atol=1e-11 if method.atol is None else method.atol, method=method.solver,
                                   throw=throw)
        if isinstance(method, Adam):
            from flowphase.numerics.exact.stochastic import iterate_stochastic

            if labels is None:
                raise ValueError("Adam in the exact theory runs the per-point map: pass labels (n values +-1)")
            n_steps, every = _even_steps(s, 1.0)
            out = iterate_stochastic(problem, t, y0, labels, n_steps, optimizer="adam", lr=method.lr,
                                     draws=method.draws, d=None if self.d is None else d, record_every=every,
                                     betas=method.betas, eps=method.eps, rule=rule, adam_law=method.adam_law)
            n = out["n"]
            names = ("c", "b", "m", "omega", "rho_w", "rho_u", "nu") + tuple(f"a_{i}" for i in range(n)) \
                + tuple(f"z_{i}" for i in range(n))
            info = {k: v for k, v in out.items() if k not in ("y", "steps")}
            info["s"] = out["steps"].astype(float)
            return Trajectory(value=out["y"], names=names, converged=True, iterations=n_steps, residual=0.0,
                              message="success", info=info)
        raise ValueError(f"method must be GradientFlow(), GradientDescent(lr) or Adam(lr), got {method!r}")

    def _payload(self, args: dict, problem) -> dict:
        """:meth:`Theory.dynamics_payload` by :func:`flowphase.numerics.exact.dynamics.exact_dynamics_json` (the
        class-coordinate flow; ``'adam'``: the per-point stochastic map), with this theory's ``n_plus``."""
        from flowphase.numerics.exact.dynamics import exact_dynamics_json

        return exact_dynamics_json(dict(args, n_plus=self.n_plus), problem=problem)

    def generated(self, problem, *, sampler: str = "euler", n_times: int = 80, **kw) -> GeneratedStatistics:
        """Generated distribution of the learned field on the sampler's grid of ``n_times`` times
        (:func:`flowphase.numerics.exact.flow.generated_flow`; ``sampler`` ``'euler'``, ``'heun'`` or
        ``'continuous'``; ``kw`` passed on)."""
        from flowphase.numerics.exact import exact_curve
        from flowphase.numerics.exact.flow import generated_flow

        d = self.d_value
        grid = problem.schedule.grid(n_times)
        return generated_flow(exact_curve(problem, grid, d, n_plus=self.n_plus), problem, sampler, d=d, **kw)


# ----------------------------------------------------------------------------- names of the command line
def theory_from_name(name: str, *, d=None, n_plus=None) -> Theory:
    """The strategy named ``name`` (``'exact'`` or ``'paper'``; the command line's ``--theory``)."""
    if name == "exact":
        return ExactFiniteN(d=d, n_plus=n_plus)
    if name == "paper":
        if n_plus is not None:
            raise ValueError("n_plus applies to theory='exact' only")
        return PaperAnsatz(d=d)
    raise ValueError(f"theory must be one of {THEORY_NAMES}, got {name!r}")


def default_theory(problem) -> str:
    """``'exact'`` where it is defined (fresh noise, 2 <= n < inf), else ``'paper'`` (at n = inf both are the
    population limit)."""
    n = problem.training.n
    return "exact" if (problem.training.noise == "fresh" and math.isfinite(n) and n >= 2) else "paper"


assert OVERLAP_NAMES == RECORD_FIELDS[:len(OVERLAP_NAMES)]
