"""Theory vs simulation on the same :class:`~flowphase.theory.problem.Problem` (ENGINEERING §1).

:func:`compare` trains the finite-d simulator (:func:`flowphase.validation.simulator.simulate`)
over several seeds and evaluates the theory for the same problem at the same times
(:func:`flowphase.numerics.learned.learned_parameters`: the finite-n effective potential in
phase 1, PAPER §3.2, and the ridge closed forms at the actual tau in phase 2, PAPER §3.4), and
returns one row per (t, quantity) with the simulated mean, its standard error over seeds, the
theory value, the deviation's z-score and its verdict against the documented tolerance
(``k * stderr + floor`` of :mod:`flowphase.validation.tolerances`, entry ``tolerance``), and a
convergence flag: a row's training has converged when every seed's gradient norm at its final
parameters (``SimulationResult.grad_norm``, recorded by the simulator) is at most ``grad_tol``.
A z of -40 can be a documented O(1/sqrt(d)) offset (``pass`` true) or an unconverged optimiser
(``converged`` false, and a warning): the table says which.  The default ``theory`` protocol (400 GD steps)
converges phase 1 (gradient < 1e-8) but not the phase-2 bias b, which relaxes over ~1.5-2e4 GD steps at
d = 1000, n = 64 (t = 1.5; ~6e3 at t = 1.2); pass ``epochs=20000`` for a converged phase 2.

Signs: the simulator canonicalises to ``m + omega >= 0`` (:mod:`flowphase.validation.simulator.canonical`),
the theory has ``m > 0, omega >= 0``; the two conventions agree wherever the sign is defined, also at
t = 0 where omega ~ 0.  ``sign_degenerate`` counts the seeds whose sign is not determined at that t
(their m, omega, b enter the mean with an arbitrary sign).
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np

from flowphase.theory.problem import Problem
from flowphase.validation.simulator import OVERLAP_NAMES, SimulationResult, resolve_problem, simulate

__all__ = ["ComparisonTable", "compare", "theory_strategy", "theory_values", "QUANTITIES", "DEFAULT_TOLERANCE", "GRAD_TOL"]

QUANTITIES = ("c", "m", "omega", "b", "sqrt_q")
#: quantities of the exact theory beyond the simulator's overlaps (reported by theory_values)
EXACT_QUANTITIES = ("z_plus", "z_minus", "a_plus", "a_minus", "sqrt_r")
COLUMNS = ("t", "tau", "phase", "quantity", "sim_mean", "sim_stderr", "theory", "difference", "z", "allowed",
           "pass", "converged", "grad_norm", "n_seeds", "sign_degenerate")
#: the tolerance entry of the rows' verdict (the exact finite-n theory at the simulator's d)
DEFAULT_TOLERANCE = "exact_finite_d"
#: largest final gradient norm (Euclidean, in c, b, u, w) of a converged training; the theory preset's 400 GD
#: steps leave phase 1 at < 1e-8 and the slowly relaxing phase-2 bias at ~1e-2 (d = 1000, n = 64)
GRAD_TOL = 1e-4


def theory_strategy(problem: Problem, theory=None, *, n_plus: Optional[int] = None):
    """The theory strategy :func:`compare` evaluates (:mod:`flowphase.numerics.theories`).

    ``theory``: ``None`` (:func:`flowphase.numerics.theories.default_theory`: ``'exact'`` where defined), a name
    (``'exact'``, ``'paper'``: the strategy of :func:`~flowphase.numerics.theories.theory_from_name` at the
    problem's own d), or a strategy object (:class:`~flowphase.numerics.theories.ExactFiniteN`,
    :class:`~flowphase.numerics.theories.PaperAnsatz`) that carries its own ``d`` (``d=None``: d -> inf).
    ``n_plus`` (the simulation's realised + class count) fills an exact strategy's ``n_plus`` where it is None.
    """
    import dataclasses

    from flowphase.numerics.learned import resolve_theory
    from flowphase.numerics.theories import ExactFiniteN, Theory, theory_from_name

    if isinstance(theory, Theory):
        if n_plus is not None and isinstance(theory, ExactFiniteN) and theory.n_plus is None:
            return dataclasses.replace(theory, n_plus=int(n_plus))
        return theory
    if theory is not None and not isinstance(theory, str):
        raise ValueError(f"theory must be None, 'exact', 'paper' or a theory strategy (ExactFiniteN(d=...), "
                         f"PaperAnsatz(d=...)), got {theory!r}")
    return theory_from_name(resolve_theory(problem, theory), d=problem.d, n_plus=n_plus)


def theory_values(problem: Problem, t: float, *, theory=None, n_plus: Optional[int] = None) -> dict:
    """Theory learned parameters at t (``None`` where the theory has no value, e.g. omega, b when saturated).

    ``theory`` (:func:`theory_strategy`): ``None`` or ``'exact'`` is the exact finite-n theory
    (:class:`~flowphase.numerics.theories.ExactFiniteN`; ``docs/``) at the problem's own d (B = tau(t) sqrt(d):
    phase-1 c, the crossover after t = 1, unsaturated phase-2 tanh); ``'paper'`` is the PAPER §3.2 ansatz in
    phase 1 and the ridge at the actual tau(t) in phase 2 (PAPER §3.9.1); a strategy object is evaluated at its
    own d, e.g. ``ExactFiniteN(d=None)`` at d = inf.
    """
    strategy = theory_strategy(problem, theory, n_plus=n_plus)
    pr = problem if problem.d == strategy.d_value else problem.replace(d=strategy.d_value)
    lp = strategy.overlaps(pr, float(t))
    out = {}
    for q in QUANTITIES + EXACT_QUANTITIES:
        v = getattr(lp, q, None)
        out[q] = None if v is None else float(v)
    return out


@dataclass
class ComparisonTable:
    """Rows of (t, quantity, simulated mean, stderr, theory); ``.to_csv()`` and ``.to_json()``."""

    rows: List[dict]
    problem: dict
    config: dict = field(default_factory=dict)
    simulation: Optional[SimulationResult] = None

    def row(self, t: float, quantity: str) -> dict:
        for r in self.rows:
            if abs(r["t"] - t) < 1e-12 and r["quantity"] == quantity:
                return r
        raise ValueError(f"no row for t={t}, quantity={quantity!r}")

    def failing(self) -> List[dict]:
        """Rows whose deviation exceeds the documented tolerance (``pass`` false)."""
        return [r for r in self.rows if r["pass"] is False]

    def unconverged(self) -> List[dict]:
        """Rows whose training had not converged (``converged`` false): their deviation does not test the theory."""
        return [r for r in self.rows if r["converged"] is False]

    def to_text(self) -> str:
        """The table as aligned text: t, quantity, simulation +- stderr, theory, z, allowed, pass, converged."""
        head = f"{'t':>6} {'q':>7} {'sim':>10} {'stderr':>9} {'theory':>10} {'z':>8} {'allowed':>9} {'pass':>5} conv"
        lines = [head]
        for r in self.rows:
            def f(v, w, fmt):
                return f"{'-':>{w}}" if v is None else f"{v:{w}{fmt}}"

            lines.append(f"{r['t']:6.3g} {r['quantity']:>7} {r['sim_mean']:10.4g} {r['sim_stderr']:9.2g} "
                         f"{f(r['theory'], 10, '.4g')} {f(r['z'], 8, '.2f')} {f(r['allowed'], 9, '.2g')} "
                         f"{'-' if r['pass'] is None else ('yes' if r['pass'] else 'NO'):>5} "
                         f"{'-' if r['converged'] is None else ('yes' if r['converged'] else 'NO')}")
        return "\n".join(lines)

    def max_abs_z(self, quantities: Sequence[str] = QUANTITIES) -> float:
        zs = [abs(r["z"]) for r in self.rows if r["quantity"] in quantities and r["z"] is not None]
        return max(zs) if zs else 0.0

    def to_csv(self, path=None) -> str:
        buf = io.StringIO()
        wr = csv.DictWriter(buf, fieldnames=COLUMNS)
        wr.writeheader()
        for r in self.rows:
            wr.writerow({k: ("" if r[k] is None else r[k]) for k in COLUMNS})
        text = buf.getvalue()
        if path is not None:
            with open(path, "w", newline="") as fh:
                fh.write(text)
        return text

    def to_json(self, path=None) -> str:
        from flowphase.validation._io import dump_json

        text = dump_json({"problem": self.problem, "config": self.config, "rows": self.rows})
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text


def compare(problem: Problem, *, d: Optional[int] = None, n: Optional[int] = None,
            ts: Optional[Sequence[float]] = None, seeds: Sequence[int] = (0, 1, 2, 3),
            quantities: Sequence[str] = QUANTITIES, theory=None,
            simulation: Optional[SimulationResult] = None, tolerance: str = DEFAULT_TOLERANCE,
            grad_tol: float = GRAD_TOL, **sim_kw) -> ComparisonTable:
    """Simulate ``problem`` at (d, n) over ``seeds`` and tabulate against the theory at each t.

    Every argument after ``problem`` is keyword-only, in the order of :func:`simulate`.

    Parameters
    ----------
    problem : Problem
        The one problem description; d and n override its own.
    d, n : int, optional
        Dimension and number of training points (override the problem's).
    ts : sequence of float, optional
        Times (default ``(0.25, 0.5, 1.0, 1.5)`` on the dilated schedule, ``(0.25, 0.5, 0.75)``
        undilated).
    seeds : sequence of int
        Independent runs; the standard error is over seeds.
    quantities : sequence of str
        Overlaps to tabulate (among ``c, m, omega, b, sqrt_q, sqrt_r``).
    theory : {'exact', 'paper'} or theory strategy, optional
        Finite-n theory (:func:`theory_strategy`; default ``'exact'`` where defined).  A name is evaluated at
        the simulator's d; a strategy object at its own d (``ExactFiniteN(d=None)``: d -> inf).  The exact
        theory uses the simulation's realised class count n_plus when all seeds share it (``labels='exact'``)
        and the strategy leaves ``n_plus`` None, else ``round(p n)``.
    simulation : SimulationResult, optional
        Reuse a finished simulation instead of running one.
    tolerance : str
        Entry of :data:`flowphase.validation.tolerances.TOLERANCES` deciding ``pass``
        (default ``'exact_finite_d'``: 4 stderr + 0.01 (d/1000)^-1/2).
    grad_tol : float
        ``converged`` is true where every seed's final gradient norm is <= grad_tol (default 1e-4).
    **sim_kw
        Options of :func:`simulate` (fields of :class:`~flowphase.validation.simulator.SimulationConfig`):
        ``protocol`` and every protocol field (``epochs``, ``optimizer``, ``lr``, ...) keep the preset's
        value unless given here.

    Returns
    -------
    ComparisonTable
        ``rows``: dicts with keys ``t, tau, phase, quantity, sim_mean, sim_stderr, theory,
        difference, z, allowed, pass, converged, grad_norm, n_seeds, sign_degenerate`` (``theory``,
        ``difference``, ``z``, ``allowed``, ``pass`` None where the theory has no value; ``allowed`` the
        tolerance's ``k stderr + floor``; ``grad_norm`` the largest final gradient norm over seeds;
        ``sign_degenerate``: seeds whose canonical sign is undetermined at t).
    """
    from flowphase.validation.tolerances import allowed_deviation, tolerance as _tolerance

    for q in quantities:
        if q not in OVERLAP_NAMES:
            raise ValueError(f"quantities must be among {OVERLAP_NAMES}, got {q!r}")
    _tolerance(tolerance)
    if isinstance(grad_tol, bool) or not isinstance(grad_tol, (int, float)) or not grad_tol > 0 \
            or not math.isfinite(grad_tol):
        raise ValueError(f"grad_tol must be a finite number > 0, got {grad_tol!r}")
    problem = resolve_problem(problem, d, n)
    if ts is None:
        ts = (0.25, 0.5, 1.0, 1.5) if problem.dilated_schedule else (0.25, 0.5, 0.75)
    if simulation is None:
        simulation = simulate(problem, ts=ts, seeds=seeds, **sim_kw)
    elif sim_kw:
        raise ValueError(f"simulation given: the simulation options {sorted(sim_kw)} would be ignored")
    sim = simulation
    mean, se = sim.mean(), sim.stderr()
    from flowphase.numerics.learned import resolve_theory
    from flowphase.numerics.theories import ExactFiniteN, Theory

    if not isinstance(theory, Theory):
        theory = resolve_theory(problem, theory)
    is_exact = isinstance(theory, ExactFiniteN) or theory == "exact"
    strategy = theory_strategy(problem, theory, n_plus=_shared_n_plus(sim) if is_exact else None)
    n_plus = strategy.n_plus if is_exact else None
    degenerate = (np.zeros((len(sim.seeds), len(sim.ts)), dtype=bool) if sim.sign_degenerate is None
                  else np.asarray(sim.sign_degenerate, dtype=bool))
    gnorm = None if sim.grad_norm is None else np.asarray(sim.grad_norm, dtype=float).max(axis=0)
    rows = []
    for k, t in enumerate(sim.ts):
        th = theory_values(problem, float(t), theory=strategy)
        for q in quantities:
            j = OVERLAP_NAMES.index(q)
            tv = th.get(q)
            diff = None if tv is None else float(mean[k, j] - tv)
            z = None if (tv is None or se[k, j] <= 0) else diff / float(se[k, j])
            allowed = None if tv is None else float(allowed_deviation(tolerance, tv, float(se[k, j]), d=problem.d))
            rows.append({"t": float(t), "tau": float(problem.tau(float(t))), "phase": int(problem.phase(float(t))),
                         "quantity": q, "sim_mean": float(mean[k, j]), "sim_stderr": float(se[k, j]),
                         "theory": tv, "difference": diff, "z": z, "allowed": allowed,
                         "pass": None if tv is None else bool(abs(diff) <= allowed),
                         "converged": None if gnorm is None else bool(gnorm[k] <= grad_tol),
                         "grad_norm": None if gnorm is None else float(gnorm[k]), "n_seeds": len(sim.seeds),
                         "sign_degenerate": int(degenerate[:, k].sum())})
    if gnorm is not None and np.any(gnorm > grad_tol):
        import warnings

        bad = ", ".join(f"t = {t:g} (|grad| {g:.2g})" for t, g in zip(sim.ts, gnorm) if g > grad_tol)
        warnings.warn(f"compare: training has not converged at {bad} (grad_tol {grad_tol:g}): those rows' deviations "
                      f"do not test the theory; train longer (epochs=, now {sim.config.get('epochs')}) -- the "
                      "phase-2 bias relaxes slowly (~2e4 GD steps at d = 1000, n = 64)", stacklevel=2)
    return ComparisonTable(rows=rows, problem=problem.to_dict(),
                           config=dict(sim.config, theory=strategy.name, theory_d=strategy.d, n_plus=n_plus,
                                       tolerance=tolerance, grad_tol=float(grad_tol)), simulation=sim)


def _shared_n_plus(sim) -> Optional[int]:
    """The + class count shared by every seed of a simulation (None if unknown or different)."""
    labels = sim.data.get("s") if isinstance(getattr(sim, "data", None), dict) else None
    if labels is None:
        if sim.config.get("labels") == "exact":
            from flowphase.numerics.exact import default_n_plus

            return default_n_plus(sim.problem.p, sim.problem.n)
        return None
    counts = {int(np.sum(np.asarray(lab) > 0)) for lab in labels}
    return counts.pop() if len(counts) == 1 else None
