"""The atlas: the theory ranks training-time densities by the mode weights their sampler grid generates.

For a problem (two modes ``(p, sigma)``, :class:`TwoMode`, or a K-mode mixture such as the 4-mode hierarchy,
:class:`KMode`), a training-time density F (:mod:`flowphase.theory.densities`), a dimension d, a grid size T and a
sample size n, the model is the paper's: one network per grid time, trained on the density's grid
``tau_k = F^{-1}(k/T)``, k = 0..T-1 (tau_0 = 0 is pure noise), and the generated distribution is Euler through the
learned field with the field at the left end of each step, ``tau_k -> tau_{k+1}``, stopping at the last grid point
``tau_end = tau_{T-1}`` (PAPER §2.5; the convention of :mod:`flowphase.numerics.multimode.flow` and of the exact
finite-n flow).  n = inf is the Bayes field (PAPER §2.1); finite n is the exact finite-n learned field
(:func:`flowphase.numerics.exact.solver.exact_curve` pushed through :func:`flowphase.numerics.exact.flow.generated_flow`,
two modes only).

Reported per (density, d, T, n): the generated weights p_hat_k and ``max_weight_error = max_k |p_hat_k - p_k|``;
for two modes also the mode-mean error ``max_+- |E[y/sqrt d | +-] - tau_end|`` over the modes the sampler reaches
(a mode with no generated mass has ``mean_plus``/``mean_minus`` None) and the within-mode (bulk) variance
error ``|P - ((1 - tau_end)^2 + tau_end^2 sigma^2)|`` against the exact law of ``x_tau`` at the end time (so that
only the discretisation and learning errors count, not where the grid stops).  Per density and d also the smallest
T with ``max_weight_error <= tol`` (:func:`smallest_T`) and the mass in each decision window (:func:`window_masses`,
windows from :func:`flowphase.numerics.multimode.windows.analyse_windows`).

Two-mode Bayes field, exactly at every d (PAPER §1.4, §2.1): the flow closes on ``y = mu.x/sqrt(d)``,
``y <- y + dtau/(1 - tau) [(tau sigma^2/D - 1) y + (alpha^2/D) sqrt(d) tanh(h + tau sqrt(d) y/D)]`` with
``D = alpha^2 + tau^2 sigma^2``, ``y_0 ~ N(0, 1)``; the Euler map is increasing, so ``p_hat = Phi(-y0*)`` with the
separatrix y0* (bisection to 1e-13); the orthogonal coordinates are rescaled by ``1 + dtau/(1 - tau)(tau sigma^2/D
- 1)`` per step.  Numba kernels (``cache=True``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from numba import njit
from scipy.special import ndtr

from flowphase.numerics.results import check_finite
from flowphase.theory import checks
from flowphase.theory.densities import Density, PhaseAware, parse_density
from flowphase.theory.problem import Problem, Schedule

__all__ = ["DensitySchedule", "TwoMode", "KMode", "AtlasPoint", "evaluate", "smallest_T", "window_masses", "decision_windows",
           "atlas", "density_at", "check_spec", "T_MAX"]

#: largest grid the smallest-T search tries
T_MAX = 2 ** 21


class DensitySchedule(Schedule):
    """A density as a :class:`~flowphase.theory.problem.Schedule`: ``t in [0, 1]``, ``tau(t) = F^{-1}(t)``, so the
    authors' grid ``t_k = k/T`` is the density's grid."""

    t_min, t_max = 0.0, 1.0

    def __init__(self, density: Density):
        if not isinstance(density, Density):
            raise ValueError(f"density must be a Density, got {type(density).__name__}")
        self.density = density
        self.name = f"density {density.spec}"

    def tau(self, t):
        self.check_t(t)
        return self.density.quantile(t)

    def dtau(self, t):
        self.check_t(t)
        with np.errstate(divide="ignore"):
            out = 1.0 / np.asarray(self.density.pdf(self.density.quantile(t)), dtype=float)
        return float(out) if np.ndim(t) == 0 else out

    def to_dict(self) -> dict:
        return {"kind": "density", "density": self.density.to_dict()}


# ----------------------------------------------------------------------------- two-mode Bayes kernels
@njit(cache=True)
def _euler_final(y0, tau, h, sig2, sd):
    out = y0.copy()
    for k in range(tau.size - 1):
        a = tau[k]
        dt = tau[k + 1] - a
        if dt <= 0.0:
            continue
        al = 1.0 - a
        D = al * al + a * a * sig2
        g = dt / al * (a * sig2 / D - 1.0)
        f = dt / al * al * al / D * sd
        w = a * sd / D
        for i in range(out.size):
            out[i] = out[i] + g * out[i] + f * math.tanh(h + w * out[i])
    return out


@njit(cache=True)
def _bulk(tau, sig2):
    P = 1.0
    for k in range(tau.size - 1):
        a = tau[k]
        al = 1.0 - a
        D = al * al + a * a * sig2
        fac = 1.0 + (tau[k + 1] - a) / al * (a * sig2 / D - 1.0)
        P *= fac * fac
    return P


@njit(cache=True)
def _separatrix(tau, h, sig2, sd, lo, hi):
    """(y0*, status): status 1 every start in [lo, hi] ends +, -1 every start ends -, 0 bracketed."""
    one = np.empty(1)
    one[0] = lo
    if _euler_final(one, tau, h, sig2, sd)[0] > 0.0:
        return lo, 1
    one[0] = hi
    if _euler_final(one, tau, h, sig2, sd)[0] <= 0.0:
        return hi, -1
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if hi - lo <= 1e-13 * max(1.0, abs(mid)):
            break
        one[0] = mid
        if _euler_final(one, tau, h, sig2, sd)[0] > 0.0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi), 0


_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)


def _panels(a: float, b: float, star: float) -> np.ndarray:
    """Panel edges on [a, b], graded geometrically towards the separatrix ``star`` (the map's boundary layer)."""
    side = np.concatenate([[0.0], np.geomspace(1e-10, 1.0, 21), np.arange(2.0, 13.0)])
    edges = np.unique(np.concatenate([star - side, star + side, [a, b]]))
    return edges[(edges >= a) & (edges <= b)]


def _two_mode_bayes(tau: np.ndarray, d: float, p: float, sigma: float) -> dict:
    h = 0.5 * math.log(p / (1.0 - p))
    sd, sig2 = math.sqrt(d), sigma * sigma
    L = 12.0
    star, status = _separatrix(tau, h, sig2, sd, -L, L)
    p_hat = float(ndtr(-star)) if status == 0 else (1.0 if status == 1 else 0.0)
    edges = _panels(-L, L, star)
    lo, hi = edges[:-1], edges[1:]
    x = (0.5 * (hi - lo))[:, None] * _GL_X[None, :] + (0.5 * (hi + lo))[:, None]
    w = (0.5 * (hi - lo))[:, None] * _GL_W[None, :] * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    x, w = x.ravel(), w.ravel()
    yT = _euler_final(x, tau, h, sig2, sd)
    check_finite("two-mode Euler final states", yT)
    plus = yT > 0.0
    mp, mm = float(w[plus].sum()), float(w[~plus].sum())
    # a mode the sampler never reaches has no mean: None (JSON null), not NaN
    mean_plus = float(np.sum(w[plus] * yT[plus]) / sd / mp) if mp > 1e-300 else None
    mean_minus = float(-np.sum(w[~plus] * yT[~plus]) / sd / mm) if mm > 1e-300 else None
    return {"p_hat": p_hat, "mean_plus": mean_plus, "mean_minus": mean_minus, "bulk_variance": float(_bulk(tau, sig2)),
            "y0_star": float(star)}


# ----------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class TwoMode:
    """The two-mode mixture ``p N(mu, sigma^2) + (1 - p) N(-mu, sigma^2)``, ``|mu|^2 = d`` (PAPER §1.1)."""

    p: float = 0.8
    sigma: float = 1.0
    lam_u: float = 2.0
    lam_w: float = 2.0

    def __post_init__(self):
        object.__setattr__(self, "p", checks.open_unit("p", self.p))
        object.__setattr__(self, "sigma", checks.positive("sigma", self.sigma))

    @property
    def weights(self) -> np.ndarray:
        return np.array([self.p, 1.0 - self.p])

    def kmixture(self, d: float):
        from flowphase.theory.mixtures import KMixture
        from flowphase.theory.problem import Mixture

        return KMixture.from_two_mode(Mixture(p=self.p, sigma=self.sigma, d=d))

    def to_dict(self) -> dict:
        return {"kind": "two-mode", "p": self.p, "sigma": self.sigma, "lam_u": self.lam_u, "lam_w": self.lam_w}


@dataclass(frozen=True)
class KMode:
    """A K-mode mixture given by a :class:`~flowphase.theory.mixtures.Hierarchy` (or anything with ``mixture(d)``
    returning a :class:`~flowphase.theory.mixtures.KMixture`); n = inf only."""

    hierarchy: object = None
    m: int = 11
    reps: int = 4

    def __post_init__(self):
        if self.hierarchy is None:
            object.__setattr__(self, "hierarchy", _default_hierarchy())
        if not hasattr(self.hierarchy, "mixture"):
            raise ValueError("KMode needs a hierarchy with a mixture(d) method (theory.mixtures.Hierarchy)")

    @property
    def weights(self) -> np.ndarray:
        return self.hierarchy.mixture(1e4).p.copy()

    def kmixture(self, d: float):
        return self.hierarchy.mixture(d)

    def to_dict(self) -> dict:
        return {"kind": "k-mode", "hierarchy": self.hierarchy.to_dict(), "qmc_m": self.m, "qmc_reps": self.reps}


def _default_hierarchy():
    from flowphase.theory.mixtures import Hierarchy

    return Hierarchy(coarse=(0.6, 0.4), fine=((0.8, 0.2), (0.6, 0.4)), eps=(0.15, 0.02))


AtlasProblem = Union[TwoMode, KMode]


# ----------------------------------------------------------------------------- one point
@dataclass
class AtlasPoint:
    """Result of :func:`evaluate` (module notes); ``to_dict`` is the JSON row."""

    density: str
    d: float
    T: int
    n: float
    p: List[float]
    p_hat: List[float]
    max_weight_error: float
    tau_end: float
    mean_error: Optional[float] = None
    variance_error: Optional[float] = None
    p_hat_se: Optional[List[float]] = None
    info: Dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON row: ``p_hat`` is the generated weight of the mode of weight p for two modes (a float) and the
        list of generated weights for K modes; ``weights`` / ``weights_hat`` are always the lists."""
        out = {"density": self.density, "d": self.d, "T": self.T, "n": self.n,
               "p_hat": self.p_hat[0] if len(self.p) == 2 else list(self.p_hat),
               "max_weight_error": self.max_weight_error, "weights": self.p, "weights_hat": self.p_hat,
               "tau_end": self.tau_end}
        if self.mean_error is not None:
            out.update(mean_error=self.mean_error, variance_error=self.variance_error)
        if self.p_hat_se is not None:
            out["p_hat_se"] = self.p_hat_se
        out.update(self.info)
        return out


def _check_T(T) -> int:
    return checks.as_int("T", T, 2, T_MAX)


def evaluate(problem: AtlasProblem, density: Density, d, *, T: int = 80, n=math.inf, n_plus=None) -> AtlasPoint:
    """Generated weights (and two-mode mean/variance errors) of Euler on ``density``'s grid (module notes)."""
    if not isinstance(density, Density):
        raise ValueError(f"density must be a Density, got {type(density).__name__}")
    d = checks.real("d", d)
    if not (2.0 <= d <= 1e15):
        raise ValueError(f"d must lie in [2, 1e15], got {d!r}")
    T = _check_T(T)
    n = checks.size("n", n)
    tau = np.asarray(density.grid(T), dtype=float)
    if not tau[-1] < 1.0:
        raise ValueError(f"the grid of {density.spec} reaches tau = 1 before its last point (T = {T})")
    tau_end = float(tau[-1])
    if isinstance(problem, TwoMode):
        if math.isinf(n):
            r = _two_mode_bayes(tau, d, problem.p, problem.sigma)
            info = {"y0_star": r["y0_star"], "field": "bayes"}
        else:
            r, info = _two_mode_exact(problem, density, d, T, n, n_plus)
        p_hat = [r["p_hat"], 1.0 - r["p_hat"]]
        info.update(mean_plus=r["mean_plus"], mean_minus=r["mean_minus"], bulk_variance=r["bulk_variance"])
        target_var = (1.0 - tau_end) ** 2 + tau_end ** 2 * problem.sigma ** 2
        means = [v for v in (r["mean_plus"], r["mean_minus"]) if v is not None]
        return AtlasPoint(density=density.spec, d=d, T=T, n=n, p=[problem.p, 1.0 - problem.p], p_hat=p_hat,
                          max_weight_error=abs(r["p_hat"] - problem.p), tau_end=tau_end,
                          mean_error=max(abs(m - tau_end) for m in means),
                          variance_error=abs(r["bulk_variance"] - target_var), info=info)
    if isinstance(problem, KMode):
        if not math.isinf(n):
            raise ValueError("finite n is available for the two-mode problem only (the exact finite-n theory); "
                             "use n = inf for a K-mode mixture")
        from flowphase.numerics.multimode.flow import projection_flow

        fw = projection_flow(problem.kmixture(d), DensitySchedule(density), n_times=T, method="euler", d=d,
                             m=problem.m, reps=problem.reps)
        return AtlasPoint(density=density.spec, d=d, T=T, n=n, p=fw.p.tolist(), p_hat=fw.p_hat.tolist(),
                          max_weight_error=fw.max_error, tau_end=tau_end, p_hat_se=fw.p_hat_se.tolist(),
                          info={"p_hard": fw.p_hard.tolist(), "field": "bayes"})
    raise ValueError(f"problem must be a TwoMode or a KMode, got {type(problem).__name__}")


def _two_mode_exact(problem: TwoMode, density: Density, d: float, T: int, n: float, n_plus):
    from flowphase.numerics.exact.flow import generated_flow
    from flowphase.numerics.exact.solver import exact_curve

    pr = Problem(mixture=Problem.undilated(p=problem.p, sigma=problem.sigma, d=d).mixture,
                 schedule=DensitySchedule(density),
                 training=Problem.undilated(n=n, lam_u=problem.lam_u, lam_w=problem.lam_w).training)
    ts = np.arange(T, dtype=float) / T
    curve = exact_curve(pr, ts, d, n_plus=n_plus)
    g = generated_flow(curve, pr, "euler", d=d)
    r = {"p_hat": g.p_hat, "bulk_variance": g.bulk_variance,
         **{k: (v if math.isfinite(v) else None) for k, v in (("mean_plus", g.mean_plus), ("mean_minus", g.mean_minus))}}
    return r, {"field": "exact finite-n", "n_plus": int(curve.n_plus), "lam_u": problem.lam_u,
               "lam_w": problem.lam_w, "jumps": len(curve.jumps)}


# ----------------------------------------------------------------------------- smallest T, window mass
def smallest_T(problem: AtlasProblem, density_of: Callable[[float], Density], d, *, tol: float = 0.01,
               T_max: int = 2 ** 18, T_min: int = 2) -> Optional[int]:
    """The smallest grid size T with ``max_weight_error <= tol`` at n = inf (None above ``T_max``).

    Doubling from ``T_min`` until the error is within ``tol``, then bisection between the last failing and the
    first passing size (assumes the error is below tol for every larger T, which the doubling samples)."""
    tol = checks.as_real("tol", tol, 0.0, hi=1.0, lo_open=True)
    T_max = checks.as_int("T_max", T_max, 2, T_MAX)
    den = density_of(d)
    fine = {}

    def grid(T):
        # the doubling sizes divide T_max when T_min and T_max are powers of 2: one quantile call serves them all
        if T >= 256 and T_max % T == 0:
            if "g" not in fine:
                fine["g"] = np.asarray(den.grid(T_max), dtype=float)
            return fine["g"][:: T_max // T]
        return np.asarray(den.grid(T), dtype=float)

    def ok(T):
        if isinstance(problem, TwoMode):  # p_hat only: the separatrix, no quadrature of the moments
            tau = grid(T)
            h = 0.5 * math.log(problem.p / (1.0 - problem.p))
            star, status = _separatrix(tau, h, problem.sigma ** 2, math.sqrt(float(d)), -12.0, 12.0)
            p_hat = float(ndtr(-star)) if status == 0 else (1.0 if status == 1 else 0.0)
            return abs(p_hat - problem.p) <= tol
        return evaluate(problem, den, d, T=T).max_weight_error <= tol

    lo, T = None, max(2, int(T_min))
    while not ok(T):
        lo = T
        if T >= T_max:
            return None
        T = min(2 * T, T_max)
    if lo is None:
        return T
    hi = T
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


_WINDOW_CACHE: Dict[str, list] = {}


def decision_windows(problem: AtlasProblem, d: float, *, qmc_m: int = 9) -> List[dict]:
    """Decision windows in tau at dimension d (:func:`flowphase.numerics.multimode.windows.analyse_windows`).

    The split curves live on the signal-to-noise ratio s, independent of d for a d-independent Gram matrix; they
    are analysed once per problem and mapped to tau at each d (``tau_of_snr``), merging what overlaps after the
    map (the windows of :func:`analyse_windows` at that d)."""
    import json

    from flowphase.numerics.multimode.mse import tau_of_snr
    from flowphase.numerics.multimode.windows import analyse_windows

    key = json.dumps([problem.to_dict(), qmc_m], sort_keys=True)
    if key not in _WINDOW_CACHE:
        an = analyse_windows(problem.kmixture(1e4), 1e4, m=int(qmc_m))
        _WINDOW_CACHE[key] = [dict(w) for w in an.windows]
    sigma = problem.sigma if isinstance(problem, TwoMode) else problem.hierarchy.sigma
    out = []
    for m in _WINDOW_CACHE[key]:
        lo = float(min(tau_of_snr(m["s_start"], d, sigma), 0.999))
        hi = float(min(tau_of_snr(m["s_end"], d, sigma), 0.999))
        if out and lo <= out[-1]["end"]:
            out[-1]["end"] = max(out[-1]["end"], hi)
            out[-1]["size"] += m["size"]
            out[-1]["splits"] = out[-1]["splits"] + list(m["splits"])
            continue
        if hi > lo:
            out.append({"start": lo, "end": hi, "size": float(m["size"]), "splits": list(m["splits"])})
    return out


def window_masses(density: Density, windows: Sequence[dict]) -> List[float]:
    """The fraction of the training times (of the grid, as T -> inf) that ``density`` puts in each window."""
    return [float(density.mass(w["start"], w["end"])) for w in windows]


def density_at(spec: str, problem: AtlasProblem, d: float) -> Density:
    """``parse_density(spec, d=d)``, plus forms that read the problem's decision windows at d
    (:func:`decision_windows`):

    * ``phase-aware:BASE@auto,MASS`` -- ``phase_aware(BASE, windows, MASS)`` with the first window extended down to
      tau = 0 (pure noise): the Euler grid must not jump from tau = 0 over the start of the decision window, where
      the mode is already being decided (the atlas: error 0.004 instead of 0.017 at T = 80, two modes);
    * ``phase-aware:BASE@detected,MASS`` -- the same with the windows exactly as detected;
    * ``designed:MASS`` -- the designed multi-window schedule of
      :func:`flowphase.numerics.multimode.windows.design_multiwindow` (log-uniform inside each detected window).

    The windows' shares of MASS are in proportion to their jump sizes (as
    :func:`flowphase.numerics.schedules.design_schedule`)."""
    if isinstance(spec, Density):
        return spec
    text = str(spec).strip()
    low = text.lower()
    if low.startswith("phase-aware:") and ("@auto," in text or "@detected," in text):
        key = "@auto," if "@auto," in text else "@detected,"
        base, _, mass = text[len("phase-aware:"):].rpartition(key)
        wins = decision_windows(problem, d)
        edges = [(w["start"], w["end"]) for w in wins]
        if key == "@auto,":              # the sampler's window starts at pure noise (docs/schedules.md, the atlas)
            edges[0] = (0.0, edges[0][1])
        return PhaseAware(parse_density(base, d=d), edges,
                          checks.real("phase-aware mass", float(mass)) if _is_float(mass) else _bad_mass(mass),
                          shares=[w["size"] for w in wins])
    if text.lower().startswith("designed:"):
        from flowphase.numerics.multimode.windows import design_multiwindow
        from flowphase.theory.densities import density_from_dict

        mass = text.split(":", 1)[1]
        mass = checks.real("designed mass", float(mass)) if _is_float(mass) else _bad_mass(mass, "designed mass")
        return density_from_dict(design_multiwindow(decision_windows(problem, d), mass=mass).to_dict())
    return parse_density(text, d=d)


def check_spec(spec: str, d: float) -> None:
    """Validate ``spec`` at dimension d as :func:`density_at` would, without computing any decision window
    (``ValueError`` naming the parameter; used by the CLI before any work)."""
    text = str(spec).strip()
    low = text.lower()
    if low.startswith("phase-aware:") and ("@auto," in text or "@detected," in text):
        key = "@auto," if "@auto," in text else "@detected,"
        base, _, mass = text[len("phase-aware:"):].rpartition(key)
        parse_density(base, d=d)
        m = float(mass) if _is_float(mass) else _bad_mass(mass)
        if not 0.0 < m < 1.0:
            raise ValueError(f"phase-aware mass must lie in the open interval (0, 1), got {m!r}")
        return
    if low.startswith("designed:"):
        mass = text.split(":", 1)[1]
        m = float(mass) if _is_float(mass) else _bad_mass(mass, "designed mass")
        if not 0.0 < m < 1.0:
            raise ValueError(f"designed mass must lie in the open interval (0, 1), got {m!r}")
        return
    parse_density(text, d=d)


def _is_float(text) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _bad_mass(text, what: str = "phase-aware mass"):
    raise ValueError(f"{what} must be a number in (0, 1), got {text!r}")


def atlas(problem: AtlasProblem, densities: Sequence[str], ds: Sequence[float], *, T: int = 80, n=math.inf,
          tol: float = 0.01, with_min_T: bool = True, progress: bool = False) -> dict:
    """The table of :func:`evaluate` over densities x ds, with the smallest T (n = inf) and the window masses."""
    rows = []
    it = [(s, float(d)) for s in densities for d in ds]
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="atlas", leave=False)
    for spec, d in it:
        den = density_at(spec, problem, d)
        pt = evaluate(problem, den, d, T=T, n=n)
        row = {"spec": spec, **pt.to_dict()}
        wins = decision_windows(problem, d)
        row["windows"] = [{"start": w["start"], "end": w["end"]} for w in wins]
        row["window_mass"] = window_masses(den, wins)
        if with_min_T:
            row["min_T"] = smallest_T(problem, lambda dd, s=spec: density_at(s, problem, dd), d, tol=tol)
        rows.append(row)
    return {"problem": problem.to_dict(), "T": T, "n": n, "tol": tol, "rows": rows,
            "grid": "tau_k = F^-1(k/T), k = 0..T-1; Euler, field at the left end, stops at tau_{T-1}"}
