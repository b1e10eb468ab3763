"""The generated distribution of the learned flow at d -> infinity (PAPER §3.5, §3.7).

Three pieces, all integrated with the Runge–Kutta engine :mod:`flowphase.numerics.rk`:

1. **Phase 1** (t in [0, 1]): only the projection ``y = mu.X/sqrt(d)`` moves at O(1),
   ``dy/dt = kappa m_t tanh(omega_t y + b_t)``, ``y(0) ~ N(0, 1)`` (PAPER §3.5), with the learned
   ``(omega_t, b_t, m_t)`` of :func:`flowphase.numerics.phase_one.phase_one_curve` (closed forms
   ``omega = kappa t, b = h, m = 1`` at n = inf) passed as piecewise-linear curves.  Expectations of
   y(1) use a trapezoid rule on nodes of y(0); probabilities of a threshold use the
   **separatrix**: the 1-D flow map is monotone, so ``P(y(1) > y*) = Phi(-y0*)`` where ``y0*`` is y*
   integrated backward to t = 0 (exact up to the ODE tolerance, no histogram of samples).

2. **The transition at t = 1+** (the window ``tau sqrt(d) = sigma' in (kappa, inf)`` squeezed into t = 1):

   * ``'euler'`` — the authors' sampler: the first phase-2 Euler step uses the t = 1 network and moves
     y by ~ sqrt(d), so the mode is ``sign(omega_1 y(1) + b_1)`` (PAPER §3.5, §7.8).  At n = inf,
     ``p_hat = p Phi(kappa + h/kappa) + (1-p) Phi(h/kappa - kappa)`` (0.8022 at kappa = 2, p = 0.8).
   * ``'exact'`` — exact integration of the flow through the window to saturation,
     ``dy/dsigma' = m(sigma') tanh(omega(sigma') y + b(sigma'))`` from ``sigma' = kappa`` to
     ``sigma_max``; the mode is ``sign(omega y + b)`` at ``sigma_max``, where the tanh has saturated.
     At n = inf the field is the exact (Bayes) one, ``omega = sigma', b = h, m = 1``, and p_hat = p
     (PAPER §3.5: 0.7995 quoted for sigma' up to 60; the separatrix gives p to 1e-6).
     **Choice at finite n** (``window='learned'``, default): inside the window the data still live at
     ``tau sqrt(d) = O(1)``, so the per-time network trained there is the phase-1 effective-potential
     minimiser (PAPER §3.2) at signal strength ``kappa t -> sigma'`` — E_t depends on t only through
     kappa t; we continue with :func:`flowphase.numerics.phase_one.solve_phase_one` at ``kt = sigma'``.
     The saturated phase-2 networks (PAPER §3.3: w, b flat at d = inf) cannot be used there, and once
     saturated the learned model only applies ``sign(omega y + b)``, which is what we threshold at
     ``sigma_max``.  ``window='bayes'`` instead continues with the exact field (learned phase 1, Bayes
     window) to isolate the phase-1 learning error.

3. **Phase 2** (t' = t - 1 in [0, 1]): with the mode sign fixed, ``X = s_X (R mu + Q_eta eta~ + Q_xi xi~)
   + X_perp``, ``P = |X_perp|^2/d``; ``dR/dt' = [(c-1) R + m]/(1-t')`` (same for Q_eta with q_eta, Q_xi with
   q_xi), ``dP/dt' = 2 (c-1) P/(1-t')``, R = Q = 0, P = 1 at t' = 0 (derived in
   :mod:`flowphase.theory.flow`).  Closed forms: ``R = n t'/(n+lam_u)``, ``Q_eta = sigma t'/(n+lam_u)``,
   ``P = D/B`` so the mean overlap is ``R(1) = n/(n+lam_u)`` and the variance ``sigma_hat^2 = A/B``
   (PAPER §3.5, §8 checks 9-10).

Also :func:`bayes_euler_mode_fraction` / :func:`undilated_mode_fraction`: the exact (Bayes) field at
**finite d** integrated with T Euler steps (PAPER §3.7).  The reduction is exact at any d: the Bayes
denoiser ``f*(x) = c x + m mu tanh(h + beta mu.x/D)`` (PAPER §2.1) depends on x only through
``y = mu.x/sqrt(d)``, and ``mu.b(x)/sqrt(d) = a_x y + a_f (c y + m sqrt(d) tanh(h + beta sqrt(d) y / D))``
with ``b = a_x x + a_f f`` (PAPER §2.4), so the d-dimensional Euler scheme projects onto a 1-D Euler
scheme for y with ``y(0) = mu.X0/sqrt(d) ~ N(0, 1)`` exactly; the generated mode is sign(y(T)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.special import ndtr

from flowphase.numerics import rk
from flowphase.numerics.results import ConvergenceError, SolverResult, check_finite
from flowphase.theory.closed_forms import bayes_denoiser, phase_one_population, phase_two_ridge
from flowphase.theory.problem import LinearInterpolant, Problem, TimeDilation

__all__ = [
    "GeneratedDistribution",
    "generated_distribution",
    "phase_one_curves",
    "window_curves",
    "phase_one_transport",
    "separatrix_fraction",
    "phase_two_flow",
    "phase_two_closed_form",
    "euler_threshold_fraction",
    "bayes_euler_mode_fraction",
    "undilated_mode_fraction",
    "mode_fraction_table",
]

#: tanh(B_SAT) == 1 in float64: the trivial branch's b = +-inf is clipped to this (same function)
B_SAT = 40.0
TRANSITIONS = ("exact", "euler")
WINDOWS = ("learned", "bayes")


# ----------------------------------------------------------------------------- helpers
def _check_problem(problem) -> Problem:
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a flowphase Problem, got {type(problem).__name__}")
    if not isinstance(problem.schedule, TimeDilation):
        raise ValueError("the generated-distribution theory needs the dilated schedule (TimeDilation); "
                         "for the undilated schedule use undilated_mode_fraction")
    if not isinstance(problem.interpolant, LinearInterpolant):
        raise ValueError("the phase-2 flow theory is written for the linear interpolant (PAPER §3.5)")
    return problem


def _rows(omega, b, m, scale=1.0, a=None):
    """Stack ``a, omega, b, scale*m``; trivial-branch nodes are rewritten in an equivalent, interpolable form.

    On the trivial branch (omega = 0, b = +-inf, PAPER §3.1-§3.2) the field is the constant
    ``m tanh(b) = +-m``; for ``|m| < 1`` the same constant is ``1 * tanh(+-artanh(m))`` with a finite bias
    close to h, which interpolates smoothly into the informative branch (omega ~ 0+, b ~ h, m ~ 1) instead
    of producing a spurious ``tanh(~20) = 1`` between a b = inf node and its neighbour.
    """
    omega = np.asarray(omega, dtype=float).copy()
    b = np.asarray(b, dtype=float).copy()
    m = np.asarray(m, dtype=float).copy()
    triv = (omega == 0.0) & ~np.isfinite(b) & (np.abs(m) < 1.0)
    b[triv] = np.sign(b[triv]) * np.arctanh(np.abs(m[triv]))
    m[triv] = np.sign(m[triv])
    b = np.clip(b, -B_SAT, B_SAT)
    m = scale * m
    a = np.zeros_like(omega) if a is None else np.asarray(a, dtype=float)
    cv = np.vstack([a, omega, b, m])
    check_finite("learned parameter curves", cv)
    return cv


def phase_one_curves(problem: Problem, n_grid: int = 101):
    """``(tgrid, curves)`` for :func:`flowphase.numerics.rk.rhs_tanh`: rows ``0, omega_t, b_t, kappa m_t``.

    n = inf: the closed forms of :func:`flowphase.theory.closed_forms.phase_one_population`
    (PAPER §3.1); finite n: :func:`flowphase.numerics.phase_one.phase_one_curve` (PAPER §3.2) on the
    nodes ``(k/(n_grid-1))^2`` plus two nodes straddling each detected jump of omega; trivial-branch
    nodes are rewritten by :func:`_rows`.
    """
    if int(n_grid) < 2:
        raise ValueError(f"n_grid must be >= 2, got {n_grid!r}")
    # quadratic spacing: at finite n the minimiser has a boundary layer at t -> 0 (the 1/n corrections
    # grow as the signal kappa t vanishes), which a uniform grid does not resolve
    ts = np.linspace(0.0, 1.0, int(n_grid)) ** 2
    if problem.training.infinite:
        vals = [phase_one_population(problem.kappa, float(t), problem.p) for t in ts]
        om = [v["omega"] for v in vals]
        bb = [v["b"] for v in vals]
        mm = [v["m"] for v in vals]
    else:
        from flowphase.numerics.phase_one import phase_one_curve

        cur = phase_one_curve(problem, ts)
        if cur.jumps:
            # resolve each first-order jump of omega (PAPER §3.2) by nodes just before / after it,
            # so that the integrator (stop_at_nodes) never interpolates across the discontinuity
            extra = [j.t_star + sgn * 1e-7 for j in cur.jumps for sgn in (-1.0, 1.0)]
            ts = np.unique(np.clip(np.concatenate([ts, extra]), 0.0, 1.0))
            cur = phase_one_curve(problem, ts)
        if not np.all(cur.converged):
            raise ConvergenceError("phase-1 learned curve did not converge at t = "
                                   f"{ts[~cur.converged]}")
        om, bb, mm = cur.omega, cur.b, cur.m
    return ts, _rows(om, bb, mm, scale=problem.kappa)


def window_curves(problem: Problem, sigma_max: float, window: str = "learned", n_grid: int = 60):
    """``(sgrid, curves)`` of the field in the t = 1+ window, variable ``sigma' = tau sqrt(d)`` in [kappa, sigma_max].

    ``window='bayes'`` or n = inf: the exact field ``omega = sigma', b = h, m = 1`` (PAPER §3.5);
    ``window='learned'`` at finite n: the phase-1 potential minimiser at ``kt = sigma'`` (see module
    notes), by continuation from ``sigma' = kappa``.
    """
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")
    k = problem.kappa
    if not sigma_max > k:
        raise ValueError(f"sigma_max must exceed kappa = {k}, got {sigma_max!r}")
    if window == "bayes" or problem.training.infinite:
        sg = np.array([k, float(sigma_max)])
        h = problem.h
        return sg, _rows(sg, [h, h], [1.0, 1.0])
    from flowphase.numerics.phase_one import solve_phase_one

    tr = problem.training
    # geometric spacing: the learned parameters vary on the scale of sigma' itself
    sg = np.geomspace(k, float(sigma_max), int(n_grid))
    om, bb, mm = [], [], []
    prev = None
    for s in sg:
        starts = [(s, abs(problem.h)), (0.5 * s, 1.0)] if prev is None else [prev, (s, abs(problem.h))]
        r = solve_phase_one(float(s), problem.p, tr.n, problem.sigma, tr.lam_u, tr.lam_w, starts=starts)
        om.append(r.omega)
        bb.append(r.b)
        mm.append(r.m)
        if r.branch == "informative":
            prev = (r.omega, abs(r.b))
    return sg, _rows(om, bb, mm)


def _solve(t_eval, y0, grid, curves, rtol, atol):
    return rk.solve(rk.rhs_tanh, np.asarray(t_eval, dtype=float), np.atleast_1d(np.asarray(y0, dtype=float)),
                    grid, curves, rtol=rtol, atol=atol, stop_at_nodes=True)


def phase_one_transport(problem: Problem, n_nodes: int = 401, n_grid: int = 101, rtol: float = 1e-10,
                        atol: float = 1e-12, curves=None, y_max: float = 9.0):
    """Push quadrature nodes of y(0) ~ N(0, 1) through phase 1 (PAPER §3.5).

    Nodes: ``n_nodes`` equally spaced points on ``[-y_max, y_max]`` with weights ``phi(y0)`` (normalised):
    the trapezoid rule is spectrally accurate for smooth, Gaussian-decaying integrands, whereas
    Gauss–Hermite converges slowly here because the flow map steepens near the separatrix (E[y(1)] to
    1e-9 with 401 nodes, against 6e-3 for 60 Gauss–Hermite nodes).
    Returns ``(nodes, weights, y1, result)``: ``y1[i]`` is y(1) from ``y(0) = nodes[i]``; expectations are
    ``sum(weights * g(y1))``.
    """
    if int(n_nodes) < 3:
        raise ValueError(f"n_nodes must be >= 3, got {n_nodes!r}")
    tg, cv = phase_one_curves(problem, n_grid) if curves is None else curves
    x = np.linspace(-float(y_max), float(y_max), int(n_nodes))
    w = np.exp(-0.5 * x * x)
    w = w / w.sum()
    res = _solve([0.0, 1.0], x, tg, cv, rtol, atol)
    return x, w, res.value[-1], res


def separatrix_fraction(y_threshold: float, legs, rtol: float = 1e-11, atol: float = 1e-13):
    """``P(y_final > y_threshold)`` for y(0) ~ N(0, 1) pushed through monotone 1-D flows.

    ``legs`` is a list of ``(grid, curves, t_start, t_end)`` in forward order; the threshold is
    integrated backward through them to ``y0*`` and ``P = Phi(-y0*)`` (the flow map of a 1-D ODE is
    increasing).  Returns ``(p, y0_star, total_steps)``.
    """
    y = float(y_threshold)
    steps = 0
    for grid, curves, t0, t1 in reversed(legs):
        r = _solve([t1, t0], [y], grid, curves, rtol, atol)
        y = float(r.value[-1, 0])
        steps += r.iterations
    check_finite("separatrix", y)
    return float(ndtr(-y)), y, steps


def euler_threshold_fraction(kappa: float, p: float) -> float:
    """n = inf Euler-transition fraction ``p Phi(kappa + h/kappa) + (1-p) Phi(h/kappa - kappa)`` (PAPER §3.5)."""
    h = math.atanh(2.0 * p - 1.0)
    return float(p * ndtr(kappa + h / kappa) + (1.0 - p) * ndtr(h / kappa - kappa))


# ----------------------------------------------------------------------------- phase 2
def phase_two_closed_form(tp, n: float, sigma: float, lam_u: float, noise: str = "fresh") -> dict:
    """Closed-form phase-2 generated statistics at t' (PAPER §3.5; verified symbolically in theory/flow.py).

    ``R = n t'/(n+lam_u)``, ``Q_eta = sigma t'/(n+lam_u)``, ``Q_xi = s (1 - t' - sqrt(D/B))/(n+lam_u)`` with
    s = +1 fixed, 0 fresh, -1 notebook, ``P = D/B`` (A, B, D from
    :func:`flowphase.theory.closed_forms.phase_two_ridge`).  n = inf: R = t', Q = 0.
    """
    ridge = phase_two_ridge(float(tp), n, sigma, lam_u, noise)
    tp = float(tp)
    P = ridge["D"] / ridge["B"]
    if math.isinf(n):
        return {"R": tp, "Q_eta": 0.0, "Q_xi": 0.0, "P": P, "variance": ridge["A"] / ridge["B"]}
    sgn = {"fixed": 1.0, "fresh": 0.0, "notebook": -1.0}[noise]
    k = n + lam_u
    return {"R": n * tp / k, "Q_eta": sigma * tp / k, "Q_xi": sgn * (1.0 - tp - math.sqrt(P)) / k, "P": P,
            "variance": ridge["A"] / ridge["B"]}


def phase_two_flow(problem: Problem, tps=None, n_grid: int = 4001, rtol: float = 1e-10, atol: float = 1e-12,
                   end_offset: float = 1e-9):
    """Integrate the phase-2 summary-statistics ODE with the RK engine (PAPER §3.5).

    The learned ``c, m, q_eta, q_xi`` (:func:`flowphase.numerics.phase_two.phase_two_arrays`, fresh /
    fixed / notebook conventions) are tabulated on ``n_grid`` points of t' and the coefficients
    ``(c-1)/(1-t')`` and ``(m, q_eta, q_xi)/(1-t')`` passed as curves to
    :func:`flowphase.numerics.rk.rhs_affine`.  Both are regular at t' = 1 (``(c-1)/(1-t') = 1/2 dlnD/dt'``);
    the last node is evaluated at ``1 - end_offset`` to avoid the 0/0.  Returns the RK result with
    ``value[:, k]`` = (R, Q_eta, Q_xi, P) at ``tps`` (default [0, 1]).
    """
    from flowphase.numerics.phase_two import phase_two_arrays

    tr = problem.training
    grid = np.linspace(0.0, 1.0, int(n_grid))
    ev = grid.copy()
    ev[-1] = 1.0 - end_offset
    rows = phase_two_arrays(ev, 1.0 - ev, tr.n, problem.sigma, tr.lam_u, tr.noise)
    c, m, qe, qx = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    inv = 1.0 / (1.0 - ev)
    G = (c - 1.0) * inv
    curves = np.vstack([G, G, G, 2.0 * G, m * inv, qe * inv, qx * inv, np.zeros_like(G)])
    tps = np.array([0.0, 1.0]) if tps is None else np.asarray(tps, dtype=float)
    if np.any(tps < 0) or np.any(tps > 1):
        raise ValueError("tps must lie in [0, 1]")
    return rk.solve(rk.rhs_affine, tps, np.array([0.0, 0.0, 0.0, 1.0]), grid, curves, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- public result
@dataclass
class GeneratedDistribution(SolverResult):
    """Generated distribution of the learned flow (PAPER §3.5).

    Attributes
    ----------
    p_hat : float
        Generated mode fraction P(mu.X_final > 0) (transition convention in ``transition``).
    mean_overlap : float
        R(1) = generated mode mean projected on mu (closed form n/(n+lam_u)).
    variance : float
        Generated within-mode variance sigma_hat^2 = A/B (closed form; P(1) of the ODE).
    y1_mean, y1_prob_positive : float
        E[y(1)] and P(y(1) > 0) after phase 1.
    transition : str
        ``'exact'`` or ``'euler'``.
    """

    p_hat: float = math.nan
    mean_overlap: float = math.nan
    variance: float = math.nan
    y1_mean: float = math.nan
    y1_prob_positive: float = math.nan
    transition: str = ""

    def as_dict(self) -> dict:
        return {"p_hat": self.p_hat, "mean_overlap": self.mean_overlap, "variance": self.variance,
                "y1_mean": self.y1_mean, "y1_prob_positive": self.y1_prob_positive, "transition": self.transition}


def generated_distribution(problem: Problem, transition: str = "exact", *, window: str = "learned",
                           sigma_max: Optional[float] = None, n_nodes: int = 401, n_grid: int = 101,
                           rtol: float = 1e-10, atol: float = 1e-12) -> GeneratedDistribution:
    """Generated mode fraction, mean overlap and variance of the learned flow (PAPER §3.5).

    Parameters
    ----------
    problem : Problem
        Dilated schedule, linear interpolant; ``problem.d`` is not used (d -> inf theory).
    transition : {'exact', 'euler'}
        Treatment of the t = 1+ window (module notes).
    window : {'learned', 'bayes'}
        Field inside the window for ``'exact'`` at finite n (module notes).
    sigma_max : float, optional
        End of the window in ``sigma' = tau sqrt(d)`` (default 60; for n = 128, lam = 2 the learned-window
        p_hat is 0.80632, 0.80747, 0.80796, 0.80801, 0.80802 at sigma_max = 6, 12, 30, 60, 100).
    n_nodes, n_grid : int
        Quadrature nodes of y(0) for expectations of y(1); time-grid points of the phase-1 curves.

    Returns
    -------
    GeneratedDistribution
        ``value`` = :meth:`GeneratedDistribution.as_dict`; ``info`` holds the ODE values of
        R(1), Q_eta(1), Q_xi(1), P(1), the separatrix y0*, the window end and the step counts.
    """
    problem = _check_problem(problem)
    if transition not in TRANSITIONS:
        raise ValueError(f"transition must be one of {TRANSITIONS}, got {transition!r}")
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")
    tg, cv = phase_one_curves(problem, n_grid)
    nodes, weights, y1, res1 = phase_one_transport(problem, n_nodes, curves=(tg, cv), rtol=rtol, atol=atol)
    y1_mean = float(np.sum(weights * y1))
    phase1 = (tg, cv, 0.0, 1.0)
    p_pos, _, _ = separatrix_fraction(0.0, [phase1])
    info = {"n_nodes": int(n_nodes), "phase1_steps": res1.iterations}
    if transition == "euler":
        om1, b1 = cv[1, -1], cv[2, -1]
        if om1 > 0.0:
            p_hat, y0s, steps = separatrix_fraction(-b1 / om1, [phase1])
        else:  # omega_1 = 0: every sample follows sign(b_1)
            p_hat, y0s, steps = (1.0 if b1 > 0 else 0.0 if b1 < 0 else 0.5), math.nan, 0
        info.update(threshold_y1=(-b1 / om1 if om1 > 0 else None), omega_1=float(om1), b_1=float(b1))
    else:
        learned = window == "learned" and not problem.training.infinite
        smax = 60.0 if sigma_max is None else float(sigma_max)
        sg, wc = window_curves(problem, smax, window)
        om_e, b_e = wc[1, -1], wc[2, -1]
        if not om_e > 0.0:
            raise ConvergenceError(f"the window field has omega = {om_e} at sigma' = {smax}: no saturation")
        p_hat, y0s, steps = separatrix_fraction(-b_e / om_e, [phase1, (sg, wc, problem.kappa, smax)])
        info.update(sigma_max=smax, window=("bayes" if not learned else "learned"))
    info.update(y0_star=y0s, separatrix_steps=steps)
    tr = problem.training
    flow = phase_two_flow(problem)
    R, Qe, Qx, P = (float(v) for v in flow.value[-1])
    closed = phase_two_closed_form(1.0, tr.n, problem.sigma, tr.lam_u, tr.noise)
    info.update(ode={"R": R, "Q_eta": Qe, "Q_xi": Qx, "P": P}, closed_form=closed)
    out = GeneratedDistribution(value=None, converged=True, iterations=res1.iterations + steps + flow.iterations,
                                residual=max(res1.residual, flow.residual), message="ok", info=info,
                                p_hat=float(p_hat), mean_overlap=float(closed["R"]),
                                variance=float(closed["variance"]), y1_mean=y1_mean,
                                y1_prob_positive=float(p_pos), transition=transition)
    check_finite("generated distribution", [out.p_hat, out.mean_overlap, out.variance, out.y1_mean])
    out.value = out.as_dict()
    return out


# ----------------------------------------------------------------------------- finite d, exact field, Euler
def _bayes_euler_curves(problem: Problem, ts: np.ndarray):
    """rhs_tanh rows of the projected Bayes velocity at the Euler nodes (module notes, PAPER §2.1, §2.4)."""
    d = float(problem.d)
    sd = math.sqrt(d)
    it = problem.interpolant
    rows = np.empty((4, ts.size))
    for j, t in enumerate(ts[:-1]):
        a_x, a_f = problem.velocity_coefficients(float(t))
        tau = float(problem.tau(float(t)))
        alpha, beta = float(it.alpha(tau)), float(it.beta(tau))
        bd = bayes_denoiser(beta, problem.sigma, problem.p, alpha=alpha)
        rows[:, j] = (a_x + a_f * bd["c"], sd * bd["omega_over_sqrt_d"], bd["b"], a_f * bd["m"] * sd)
    rows[:, -1] = rows[:, -2]  # never evaluated by Euler (left-point rule); avoids alpha = 0 at the end
    return rows


def bayes_euler_mode_fraction(problem: Problem, n_steps: int, t_end: Optional[float] = None,
                              bracket: float = 12.0, n_probe: int = 257) -> SolverResult:
    """Mode fraction P(mu.X_T > 0) of the exact field at finite d with ``n_steps`` Euler steps (PAPER §3.7).

    Euler steps of equal length on the schedule time from ``t_min`` to ``t_end`` (default ``t_max``;
    the authors' dilated sampler is ``n_steps = 79, t_end = 1.975``), on the exact 1-D reduction of the
    module notes.  The Euler map is increasing (each step's slope ``1 + dt (a + m omega sech^2) > 0`` since
    ``dt |a| <= dtau/(1-tau) < 1``; checked on the probes), so ``p_hat = Phi(-y0*)`` with ``y0*`` the
    root of ``y_T(y0)``, found by repeated refinement of ``n_probe`` probes.

    Returns a :class:`SolverResult` with ``value = p_hat`` and ``info['y0_star']``.
    """
    if not isinstance(problem, Problem):
        raise ValueError("problem must be a flowphase Problem")
    if not math.isfinite(problem.d):
        raise ValueError("bayes_euler_mode_fraction needs a finite dimension d")
    if int(n_steps) < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    sch = problem.schedule
    t_end = sch.t_max if t_end is None else float(t_end)
    if not sch.t_min < t_end <= sch.t_max:
        raise ValueError(f"t_end must lie in ({sch.t_min}, {sch.t_max}], got {t_end!r}")
    ts = np.linspace(sch.t_min, t_end, int(n_steps) + 1)
    if t_end == sch.t_max:
        ts[-1] = t_end
    curves = _bayes_euler_curves(problem, ts)
    check_finite("Bayes velocity curves", curves)

    def final(y0):
        return rk.solve(rk.rhs_tanh, ts, np.asarray(y0, dtype=float), ts, curves, method="euler").value[-1]

    lo, hi = -float(bracket), float(bracket)
    for _ in range(4):
        probes = np.linspace(lo, hi, int(n_probe))
        yT = final(probes)
        if np.any(np.diff(yT) < 0):
            raise ConvergenceError("the Euler map is not monotone on the probes; refine n_steps")
        pos = yT > 0
        if pos.all():
            return SolverResult(value=float(ndtr(-lo)), converged=True, iterations=int(n_steps), residual=0.0,
                                message="all probes end in the + mode", info={"y0_star": lo})
        if not pos.any():
            return SolverResult(value=float(ndtr(-hi)), converged=True, iterations=int(n_steps), residual=0.0,
                                message="all probes end in the - mode", info={"y0_star": hi})
        k = int(np.argmax(pos))
        lo, hi = probes[k - 1], probes[k]
        ylo, yhi = yT[k - 1], yT[k]
    y0s = lo - ylo * (hi - lo) / (yhi - ylo)
    return SolverResult(value=float(ndtr(-y0s)), converged=True, iterations=int(n_steps), residual=float(hi - lo),
                        message="separatrix bracketed", info={"y0_star": float(y0s)})


def undilated_mode_fraction(p: float, sigma: float, d: float, n_steps: int, t_end: float = 1.0) -> float:
    """p_hat of the exact (Bayes) field on the undilated schedule tau = t with T Euler steps (PAPER §3.7).

    Uses the exact 1-D reduction of the module notes (y = mu.X/sqrt(d)); ``n_steps`` equal steps from
    tau = 0 to ``t_end`` (default 1, steps ``tau_k = k/T``).  The authors' sampler on a T-point grid is
    ``n_steps = T - 1, t_end = (T - 1)/T`` (step 1/T, PAPER §2.5).  At fixed T, p_hat drifts from p towards
    1 as d grows (the first step moves y by ``sqrt(d)(2p-1) dt``); it recovers p only for T >> sqrt(d).
    """
    pr = Problem.undilated(p=p, sigma=sigma, d=d)
    return float(bayes_euler_mode_fraction(pr, n_steps, t_end=t_end).value)


def mode_fraction_table(problem: Problem, ns, transitions=("exact", "euler"), **kw) -> list:
    """p_hat of the learned flow against n (PAPER §3.8: close to p already at n = 128, lam ~ 2).

    One row per n: ``{'n', 'p_hat_<transition>' ..., 'mean_overlap', 'variance'}``; other parameters from
    ``problem``; ``kw`` is passed to :func:`generated_distribution`.
    """
    rows = []
    for n in ns:
        pr = problem.replace(n=n)
        row = {"n": float(n)}
        for tr in transitions:
            g = generated_distribution(pr, tr, **kw)
            row[f"p_hat_{tr}"] = g.p_hat
            row["mean_overlap"], row["variance"] = g.mean_overlap, g.variance
        rows.append(row)
    return rows
