"""Result objects shared by every solver (scipy ``OdeResult`` / diffrax ``throw=True`` style).

A solver returns a :class:`SolverResult` (or a subclass) carrying the value, a ``converged`` flag,
the number of ``iterations`` and the final ``residual``; with ``throw=True`` (the default in the
public API) a non-converged solve raises :class:`ConvergenceError` instead of returning NaN.

Every theory (:mod:`flowphase.numerics.theories`) returns the same four records: :class:`LearnedParameters`
(the learned overlaps at one time), :class:`LearnedCurve` (the same along t, with the jumps of omega),
:class:`Trajectory` (the overlaps along a training run of the learning dynamics) and
:class:`GeneratedStatistics` (the distribution its learned flow generates).  Their overlap fields are
:data:`~flowphase.theory.records.OVERLAP_NAMES` plus the class coordinates :data:`CLASS_FIELDS`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from flowphase.theory.records import OVERLAP_NAMES

__all__ = ["ConvergenceError", "SolverResult", "ScalarResult", "CurveResult", "LearnedParameters", "LearnedCurve",
           "Trajectory", "GeneratedStatistics", "CLASS_FIELDS", "RECORD_FIELDS", "check_finite"]

#: class coordinates of the exact finite-n theory (the paper's ansatz in these coordinates: ``z = 0``,
#: ``a_pm = +-q_eta``) and the memorisation coefficients ``q_eta``, ``q_xi``
CLASS_FIELDS = ("q_eta", "q_xi", "z_plus", "z_minus", "a_plus", "a_minus")
#: the per-time overlap fields of :class:`LearnedParameters` and :class:`LearnedCurve`
RECORD_FIELDS = OVERLAP_NAMES + CLASS_FIELDS


class ConvergenceError(RuntimeError):
    """A solver did not reach its tolerance; the message says which solver, where and by how much."""

    def __init__(self, message: str, result: "SolverResult | None" = None):
        super().__init__(message)
        self.result = result


@dataclass
class SolverResult:
    """Generic solver outcome.

    Attributes
    ----------
    value : Any
        The solution (float, array or dict).
    converged : bool
    iterations : int
        Iterations / accepted steps taken.
    residual : float
        Final residual (gradient norm, |F(x)|, or error estimate) the convergence test used.
    message : str
    info : dict
        Solver-specific extras (branch, function evaluations, ...).
    """

    value: Any
    converged: bool
    iterations: int
    residual: float
    message: str = ""
    info: Dict[str, Any] = field(default_factory=dict)

    def raise_if_failed(self, what: str = "solver") -> "SolverResult":
        if not self.converged:
            raise ConvergenceError(f"{what} did not converge after {self.iterations} iterations "
                                   f"(residual {self.residual:.3e}): {self.message}", self)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ScalarResult(SolverResult):
    """A :class:`SolverResult` whose ``value`` is one float; ``float(result)`` gives it (callers of the
    former bare-float return keep working)."""

    def __float__(self) -> float:
        return float(self.value)


class CurveResult:
    """The same style along a curve of times (mixin of ``LearnedCurve``, ``PhaseOneCurve``, ``ExactCurve``).

    A curve holds per-time arrays ``converged`` (bool), ``iterations`` (int) and ``residual`` (float, the
    point solver's residual, one meaning per solver); :attr:`value` is the dict of the arrays
    (``as_dict()``), :attr:`message` a one-line summary, :meth:`raise_if_failed` raises
    :class:`ConvergenceError` naming the times that did not converge.
    """

    @property
    def value(self) -> dict:
        return self.as_dict()

    @property
    def all_converged(self) -> bool:
        return bool(np.all(np.asarray(self.converged, dtype=bool)))

    @property
    def message(self) -> str:
        conv = np.asarray(self.converged, dtype=bool)
        if conv.all():
            return f"all {conv.size} times converged"
        bad = np.asarray(self.t, dtype=float)[~conv]
        return f"{bad.size} of {conv.size} times did not converge: t = " + ", ".join(f"{x:g}" for x in bad[:10])

    def raise_if_failed(self, what: str = "curve") -> "CurveResult":
        if not self.all_converged:
            raise ConvergenceError(f"{what}: {self.message}")
        return self


def check_finite(name: str, value) -> None:
    """Raise ``ConvergenceError`` if ``value`` holds NaN or inf (never return NaN silently)."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ConvergenceError(f"{name} produced a non-finite value: {value!r}")


@dataclass
class LearnedParameters(SolverResult):
    """The learned overlaps at one time (PAPER §2.2 order parameters), from either theory.

    Attributes
    ----------
    t, tau : float
        Schedule time and physical interpolation time.
    phase : int
        ``problem.phase(t)`` (1 or 2).
    c, m, omega, b, sqrt_q, sqrt_r : float
        :data:`~flowphase.theory.records.OVERLAP_NAMES`; ``omega``, ``b``, ``sqrt_r`` are ``None`` where they
        are flat directions (phase 2 at d = inf).
    q_eta, q_xi, z_plus, z_minus, a_plus, a_minus : float
        :data:`CLASS_FIELDS` (``z_pm`` ``None`` where flat).
    branch : str
        ``'informative'``, ``'trivial'``, ``'population'`` (phase 1), ``'ridge'`` or ``'saturated'`` (phase 2),
        ``'degenerate'`` (undilated tau = 0).
    theory : str
        ``'paper'`` or ``'exact'`` (the strategy's ``name``).
    d : float
        Dimension the theory was evaluated at.
    n_plus : int or None
        Realised count of the + class (exact theory).
    """

    t: float = math.nan
    tau: float = math.nan
    phase: int = 0
    c: float = math.nan
    m: float = math.nan
    omega: Optional[float] = None
    b: Optional[float] = None
    q_eta: float = math.nan
    q_xi: float = 0.0
    sqrt_q: float = math.nan
    branch: str = ""
    theory: str = "paper"
    d: float = math.inf
    n_plus: Optional[int] = None
    z_plus: Optional[float] = None
    z_minus: Optional[float] = None
    a_plus: Optional[float] = None
    a_minus: Optional[float] = None
    sqrt_r: Optional[float] = None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("t", "phase", "c", "m", "omega", "b", "q_eta", "q_xi", "sqrt_q", "tau",
                                              "branch", "theory", "d", "n_plus", "z_plus", "z_minus", "a_plus",
                                              "a_minus", "sqrt_r")}


@dataclass
class LearnedCurve(CurveResult):
    """:class:`LearnedParameters` along ``t`` as arrays (NaN where a direction is flat, see ``phase``).

    ``converged``, ``iterations``, ``residual`` per time (the point solver's meaning); ``jumps`` the first-order
    jumps of omega (:class:`~flowphase.numerics.jumps.Jump`); ``value`` (= :meth:`as_dict`), ``message`` and
    ``raise_if_failed`` from :class:`CurveResult`.
    """

    t: np.ndarray
    tau: np.ndarray
    phase: np.ndarray
    c: np.ndarray
    m: np.ndarray
    omega: np.ndarray
    b: np.ndarray
    q_eta: np.ndarray
    q_xi: np.ndarray
    sqrt_q: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    branch: List[str]
    jumps: list = field(default_factory=list)
    theory: str = "paper"
    d: float = math.inf
    n_plus: Optional[int] = None
    z_plus: Optional[np.ndarray] = None
    z_minus: Optional[np.ndarray] = None
    a_plus: Optional[np.ndarray] = None
    a_minus: Optional[np.ndarray] = None
    sqrt_r: Optional[np.ndarray] = None

    def as_dict(self) -> dict:
        """Plain dict of the arrays (and the jumps as dicts)."""
        out = {k: getattr(self, k) for k in ("t", "tau", "phase", "c", "m", "omega", "b", "q_eta", "q_xi", "sqrt_q",
                                              "converged", "iterations", "residual", "z_plus", "z_minus", "a_plus",
                                              "a_minus", "sqrt_r")}
        out.update(theory=self.theory, d=self.d, n_plus=self.n_plus)
        out["branch"] = list(self.branch)
        out["jumps"] = [vars(j).copy() for j in self.jumps]
        return out


@dataclass
class Trajectory(SolverResult):
    """A run of the learning dynamics: ``value[k]`` is the state (coordinates ``names``) at ODE time ``s[k]``.

    ``residual`` is the integrator's last error estimate (Runge-Kutta) or 0 (iterated maps); ``info`` holds
    ``s`` and the run's settings (``t``, ``rho``, ``step``, ``d``, class counts ``n_plus``/``n_minus``).
    """

    names: Tuple[str, ...] = ()

    @property
    def s(self) -> np.ndarray:
        """The ODE times of the rows of ``value``."""
        return self.info["s"]

    def as_dict(self) -> Dict[str, np.ndarray]:
        """The state coordinates as arrays over the rows, and ``s``."""
        out = {name: self.value[:, i] for i, name in enumerate(self.names)}
        out["s"] = self.s
        return out

    def overlaps(self) -> Dict[str, np.ndarray]:
        """:data:`~flowphase.theory.records.OVERLAP_NAMES` along the run (``sqrt_q``, ``sqrt_r`` from the norms)."""
        st = self.as_dict()
        if "q" in st:                                          # paper coordinates (c, b, m, a, q, omega, r, v)
            sq, sr = np.sqrt(np.maximum(st["q"], 0.0)), np.sqrt(np.maximum(st["r"], 0.0))
        else:                                                  # exact class coordinates
            npl, nmi = self.info["n_plus"], self.info["n_minus"]
            sq = np.sqrt(st["m"] ** 2 + npl * st["a_plus"] ** 2 + nmi * st["a_minus"] ** 2 + st["rho_u"])
            sr = np.sqrt(st["omega"] ** 2 + npl * st["z_plus"] ** 2 + nmi * st["z_minus"] ** 2 + st["rho_w"])
        return dict(zip(OVERLAP_NAMES, (st["c"], st["m"], st["omega"], st["b"], sq, sr)))


@dataclass
class GeneratedStatistics(SolverResult):
    """The distribution a learned flow generates, from either theory (PAPER §3.5; EXACT_FINITE_N §5).

    One record for :func:`flowphase.numerics.generation.generated_distribution` (the paper's ansatz, d -> inf,
    ``theory='paper'``) and :func:`flowphase.numerics.exact.flow.generated_flow` (a learned field pushed through
    the 3-D flow, ``theory='exact'``).  A statistic the producing theory does not compute is ``None``;
    :meth:`as_dict` (also ``value``) holds the others, in the order of the attributes below.

    Attributes
    ----------
    p_hat : float
        Generated mode fraction P(mu.X_final > 0).
    mean_overlap : float
        Mode mean projected on mu, E|mu.X_final|/d (the paper's R(1) = n/(n + lam_u) at d -> inf).
    mean_plus, mean_minus : float or None
        Class-resolved mode means E[y/sqrt d | y > 0] and E[-y/sqrt d | y < 0] (exact; NaN for an empty side).
    q_plus, q_minus : float or None
        Memorised displacement along the class sums, E[s e_+-]/sqrt(n_+- d), s = sign(y) (exact; the paper's
        +Q_eta, -Q_eta; NaN for an empty class).
    variance : float
        Generated within-mode variance: the paper's sigma_hat^2 = A/B (closed form), or, exact, the variance
        orthogonal to mu as a sampler measures it, ((d-3) P + Var(s e_+) + Var(s e_-))/(d-1).
    bulk_variance : float or None
        P at the last grid time, |X_perp|^2/d (exact; the paper's sigma_hat^2 at d = inf).
    second_moment : float or None
        ((d-3) P + E(s e_+)^2 + E(s e_-)^2)/d, the mean square distance from the mu axis per dimension (exact).
    y1_mean, y1_prob_positive : float or None
        E[y(1)] and P(y(1) > 0) after phase 1 (paper).
    sampler : str
        ``'euler'`` (the authors' step), ``'heun'`` or ``'continuous'`` (the exact flow; the paper's t = 1+
        transition ``'exact'``).
    theory : str
        ``'paper'`` or ``'exact'``.
    d : float or None
        Dimension of the flow (the paper's: inf).
    t_end, tau_end : float or None
        Last grid time and its physical time tau (exact).
    """

    p_hat: float = math.nan
    mean_overlap: float = math.nan
    mean_plus: Optional[float] = None
    mean_minus: Optional[float] = None
    q_plus: Optional[float] = None
    q_minus: Optional[float] = None
    variance: float = math.nan
    bulk_variance: Optional[float] = None
    second_moment: Optional[float] = None
    y1_mean: Optional[float] = None
    y1_prob_positive: Optional[float] = None
    sampler: str = ""
    theory: str = ""
    d: Optional[float] = None
    t_end: Optional[float] = None
    tau_end: Optional[float] = None

    def as_dict(self) -> Dict[str, Any]:
        """The statistics the producing theory computed (``None`` ones left out), with ``sampler``, ``theory``, ``d``."""
        names = ("p_hat", "mean_overlap", "mean_plus", "mean_minus", "q_plus", "q_minus", "variance", "bulk_variance",
                 "second_moment", "y1_mean", "y1_prob_positive", "sampler", "theory", "d", "t_end", "tau_end")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}
