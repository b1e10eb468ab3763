"""The one tolerance table of every theory-vs-simulation test (ENGINEERING §6).

Each entry says how far a simulated statistic may sit from its reference: ``k`` standard errors
(over seeds or samples) plus an absolute floor plus a relative floor, and, for finite-size
checks, the expected scaling exponent with the admissible window for a fitted log-log slope.
Tests look entries up by name with :func:`tolerance` and decide with :func:`agrees`; no test
carries its own tolerance number.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

__all__ = ["Tolerance", "TOLERANCES", "tolerance", "agrees", "allowed_deviation", "slope_ok", "loglog_slope"]


@dataclass(frozen=True)
class Tolerance:
    """``|sim - ref| <= k * stderr + abs_floor + rel * |ref|``; optional finite-size exponent.

    Attributes
    ----------
    k : float
        Number of standard errors.
    abs_floor, rel : float
        Absolute and relative floors (systematic effects not in the standard error).
    exponent : float, optional
        Expected finite-size scaling exponent (e.g. -1/2 for d^(-1/2)).  Used twice: it must lie inside
        ``window`` (checked when the entry is built), and with ``floor_d_ref`` it scales the floor with d.
        An entry without a window or a d-dependent floor has no exponent (it would have no effect).
    window : (float, float), optional
        Admissible interval for a fitted log-log slope.
    reference : str
        Where the number comes from.
    """

    k: float = 4.0
    abs_floor: float = 0.0
    rel: float = 0.0
    exponent: Optional[float] = None
    window: Optional[Tuple[float, float]] = None
    reference: str = ""
    #: if set, the absolute floor is ``abs_floor * (d / floor_d_ref) ** exponent`` (a floor that shrinks with d)
    floor_d_ref: Optional[float] = None

    def __post_init__(self):
        if self.exponent is not None and self.window is None and self.floor_d_ref is None:
            raise ValueError("a tolerance exponent needs a slope window or a d-dependent floor (floor_d_ref)")
        if self.floor_d_ref is not None and self.exponent is None:
            raise ValueError("a d-dependent floor (floor_d_ref) needs its exponent")
        if self.window is not None:
            lo, hi = self.window
            if not lo < hi:
                raise ValueError(f"slope window must be increasing, got {self.window}")
            if self.exponent is not None and not lo <= self.exponent <= hi:
                raise ValueError(f"the expected exponent {self.exponent} lies outside its window {self.window}")


TOLERANCES = {
    # implementation cross-checks (not statistical)
    "kernel_crosscheck": Tolerance(k=0.0, abs_floor=1e-10, rel=1e-10,
                                   reference="numba vs NumPy reference, same seeds and noise"),
    "float32_vs_float64": Tolerance(k=0.0, abs_floor=2e-4, rel=2e-4, reference="float32 storage, float64 accumulation"),
    "gradient_fd": Tolerance(k=0.0, abs_floor=1e-6, rel=1e-6, reference="central finite differences, h = 1e-6"),
    # stationarity diagnostic of a simulation (gradient norm at the final parameters), GD run to a
    # stationary point of a deterministic loss (fixed noise or the exact expectation); measured ~1e-15
    "stationary_grad_norm": Tolerance(k=0.0, abs_floor=1e-10, rel=0.0,
                                      reference="final gradient norm of GD run to convergence (float64)"),
    "expected_loss_mc": Tolerance(k=4.0, reference="exact fresh-noise expectation vs Monte-Carlo draws"),
    "noise_moments": Tolerance(k=5.0, reference="counter-based N(0,1) moments"),
    # a PyTorch loop fed the simulator's own noise (float64; Adam eps rescaled by 1/T)
    "torch_same_noise": Tolerance(k=0.0, abs_floor=1e-8, rel=1e-8,
                                  reference="PyTorch authors' loop vs simulate(), same data, init and noise"),
    # one tiny GD step of the sampled-loss kernel vs central finite differences of the same sampled loss
    "sampled_step_fd": Tolerance(k=0.0, abs_floor=1e-5, rel=1e-4, reference="central FD, h = 1e-6, lr = 1e-7"),
    # the simulator's Adam + geometric lr decay vs a textbook Adam (Kingma & Ba Alg. 1) on the same exact gradients
    "optimizer_reference": Tolerance(k=0.0, abs_floor=1e-10, rel=1e-9, reference="textbook Adam, np.geomspace lr"),
    # CuPy on a GPU vs numba on the CPU (different reduction orders)
    "cupy_vs_numba": Tolerance(k=0.0, abs_floor=1e-9, reference="same seeds and noise, float64"),
    # VP forward noise of the digits pipeline: mean and variance of the noised pixels
    "vp_forward_moments": Tolerance(k=4.0, reference="Gaussian sampling error"),
    # U-Turn: the two class curves agree at a large U-Turn time (two-proportion z-test at the 1e-3 level)
    "uturn_forgotten": Tolerance(k=3.3, reference="two-proportion z-test, two-sided 1e-3"),
    # Cui's tied sign model trained with Adam vs PREDECESSOR Result 2.1 (c within 2 %)
    "cui_sign_model_c": Tolerance(k=0.0, rel=0.02, reference="PREDECESSOR §2.7 Result 2.1, d = 20000"),
    # paired runs (same data and init, independent noise): |z| of the mean difference
    "paired_noise_floor": Tolerance(k=5.0, reference="other trainer vs flowphase noise streams, z of the difference"),
    # projected vs dense fresh-noise sampler: same law, different random numbers
    "sampler_gradient_law": Tolerance(k=4.0, reference="per-step gradient moments, two-sample Monte Carlo"),
    "sampler_trajectory": Tolerance(k=4.0, reference="Adam overlap trajectories, two-sample over seeds"),
    # phase 2 (PAPER §3.4, §3.9.1): c at the actual tau, d = 1000, within 0.5 %
    "phase2_c_finite_d": Tolerance(k=4.0, abs_floor=0.0, rel=5e-3, reference="PAPER §3.9.1 (0.5 % at t = 1.5, d = 1000)"),
    # phase 1 (omega, b, m, c) vs the exact finite-n theory at the simulator's d (EXACT_FINITE_N):
    # measured at d = 1000, n = 64, 4 seeds: |rel. deviation| <= 0.31 %, |z| <= 2.4.  A 2x error in lambda
    # (theory at lam = 4 for a lam = 2 run) moves them by 1.7-16 % (|z| 11-169) and fails all 9 omega/b/m rows
    # (the former rel = 0.07, from the paper's 5-7 % with its own ansatz, passed 7 of 9).
    "phase1_finite_n": Tolerance(k=4.0, abs_floor=0.0, rel=0.01,
                                 reference="EXACT_FINITE_N at d = 1000, n = 64 (a 2x smaller tolerance fails 9/9)"),
    # deviation from the d = inf theory shrinks like d^(-1/2) (PAPER §8 check 16)
    "phase1_d_scaling": Tolerance(exponent=-0.5, window=(-0.75, -0.25), reference="finite-d corrections O(kappa/sqrt(d))"),
    # "phase 1 does not see sigma" (PAPER §3.1, §8.21): the sigma = 1.5 vs 0.5 difference of the
    # learned omega, b vanishes as n grows, like 1/n (measured: the finite-n theory's own sigma
    # dependence through n + sigma^2 is ~10x smaller than the simulated one, measured at d = 500-4000)
    "phase1_sigma_blind": Tolerance(exponent=-1.0, window=(-1.5, -0.5), reference="PAPER §3.1, §3.8, §8 check 21"),
    # exact finite-n theory evaluated at the simulator's d (EXACT_FINITE_N): c, m, omega over both
    # phases and the crossover; residual finite-d effects (random data overlaps O(d^-1/2)) in a floor that
    # shrinks like d^-1/2 (0.01 at d = 1000); a 2x error in lambda moves phase-2 m by ~3 % and fails it
    "exact_finite_d": Tolerance(k=4.0, abs_floor=0.01, exponent=-0.5, floor_d_ref=1000.0,
                                window=(-1.3, -0.35), reference="EXACT_FINITE_N §2-4"),
    # sigma = 1.5 vs 0.5 difference of the phase-1 omega, b: simulation vs the exact theory at the same d, n
    # (EXACT_FINITE_N §4.4: the restricted ansatz of PAPER §3.2 under-predicts it ~10x and misses its sign in omega)
    # ... and the b gap falls like 1/n (slope of log gap vs log n over n = 16, 64, 256)
    "exact_sigma_gap": Tolerance(k=4.0, abs_floor=0.005, exponent=-1.0, window=(-1.3, -0.7),
                                 reference="EXACT_FINITE_N §4.4"),
    # phase-2 bias after 600 GD epochs still this many seed standard errors from the exact theory's b (flat
    # direction, EXACT_FINITE_N §4.2)
    "phase2_b_not_relaxed": Tolerance(k=10.0, reference="EXACT_FINITE_N §4.2: b relaxes over n/(lr E_bb) steps"),
    # "phase 2 does not see p" (PAPER §3.3, §8.20): exactly at every n
    "phase2_p_blind": Tolerance(k=4.0, abs_floor=1e-3, reference="PAPER §3.3, §8 check 20"),
    # ... through the exact finite-d potential: the p = 0.6 vs 0.9 gap of phase-2 c, m falls like 1/d
    "phase2_p_gap_exact": Tolerance(exponent=-1.0, window=(-1.3, -0.7), reference="EXACT_FINITE_N §4"),
    # generated mode fraction with dilation (within 0.03 of p)
    "p_hat_dilated": Tolerance(k=0.0, abs_floor=0.03, reference="PAPER §3.5, §3.7, §8 check 12"),
    # Euler threshold formula of PAPER §3.5 for p_hat of the Bayes flow (finite-grid correction in the floor)
    "p_hat_euler_threshold": Tolerance(k=4.0, abs_floor=0.01, reference="PAPER §3.5, §8 check 12"),
    # a claimed drift of p_hat (undilated, growing d): the drift must exceed k standard errors
    "p_hat_drift": Tolerance(k=4.0, reference="PAPER §3.7 (p_hat -> 1 without dilation)"),
    # statistics of samples of a known Gaussian mixture (generated_statistics): k standard errors; the mode
    # mean carries an O(1/d) bias of the sign estimate in its floor
    "mixture_statistics": Tolerance(k=5.0, reference="binomial / Gaussian sampling error"),
    "mixture_mode_mean": Tolerance(k=5.0, abs_floor=1e-3, reference="Gaussian sampling error + O(1/d) sign bias"),
    # generated phase-2 statistics vs closed forms R = n tau/(n+lam), P = D/B (PAPER §3.5)
    "generated_mean": Tolerance(k=4.0, abs_floor=5e-3, reference="PAPER §3.5 (Theta(1/n))"),
    # variance: k standard errors over the generated samples plus a floor below the measured systematic offset
    # (+0.0006 at n = 16, 64, 256, d = 10^4, 600 samples, se 0.0006); rejects the n = inf value at n = 256
    # (0.0043 away) and the fixed-noise closed form at n = 16, 64 (0.059, 0.014 away); the former abs 0.01
    # without the stderr accepted both
    "generated_variance": Tolerance(k=4.0, abs_floor=5e-4, reference="PAPER §3.5 (Theta(1/n))"),
    # Bayes-denoiser MSE at finite d (Gauss-Hermite) vs a Monte-Carlo estimate of the written-out posterior mean
    "bayes_mse_mc": Tolerance(k=4.0, abs_floor=1e-12, reference="PAPER §1.4, §4; Monte-Carlo standard error"),
    # Bayes-velocity generation vs the n = inf closed forms at the stopping point (Heun)
    "bayes_generated": Tolerance(k=4.0, abs_floor=3e-3, reference="PAPER §3.5 at n = inf, tau_end"),
    # generated distribution of a reduced field (EXACT_FINITE_N §5): 3-D flow quadrature vs d-dim samples of the
    # same field (exact reduction; the floor is the quadrature accuracy)
    "exact_flow_vs_samples": Tolerance(k=4.0, abs_floor=1e-6, reference="EXACT_FINITE_N §5, Monte Carlo stderr"),
    # p_hat and mode mean of samples from trained denoisers (GD, exact fresh-noise expectation) vs the
    # flow of the exact finite-n field at the same d, n_+, grid and sampler; stderr over seeds, floored by sampling
    "generated_exact_flow": Tolerance(k=4.0, reference="EXACT_FINITE_N §5"),
    # learning dynamics: max |theory - finite-d GD| over a whole run, d = 1000-2000
    "dynamics_flow": Tolerance(k=0.0, abs_floor=0.08,
                               reference="gradient-flow overlap ODE vs finite-d GD (O(eta) and O(1/sqrt(d)))"),
    **{f"dynamics_gd_map_{q}": Tolerance(k=0.0, abs_floor=v,
                                         reference="exact one-step GD map of the overlaps vs finite-d GD")
       for q, v in (("c", 0.02), ("b", 0.04), ("m", 0.04), ("omega", 0.06), ("q", 0.04), ("r", 0.04))},
    # the ODE vs the project simulator's preconditioned GD at finite n (n = 128, 2 draws, d = 2000, random init):
    # measured max deviation 0.011 (omega); without the finite-batch noise term r is off by 0.038 -- which the
    # per-quantity GD-map floors (0.04) accepted
    "dynamics_simulator_finite_n": Tolerance(k=0.0, abs_floor=0.02,
                                             reference="overlap ODE vs simulate(), finite n"),
    # Adam clock of the encoder (noise-dominated Adam moves w like SGD with step lr / sigma_w), 4000 epochs
    "dynamics_adam_clock": Tolerance(k=0.0, abs_floor=0.06, reference="adam_epochs clock vs simulate() Adam"),
    # K-mode hierarchy: exact flow and trained softmax models
    "multimode_designed_p_hat": Tolerance(k=0.0, abs_floor=0.01,
                                          reference="designed schedule, exact flow, Euler T = 80: every p_hat_k"),
    "multimode_exact_flow": Tolerance(k=4.0, abs_floor=2e-3,
                                      reference="continuous-time exact flow generates p_k (RK4, randomised QMC)"),
    "multimode_projection": Tolerance(k=0.0, abs_floor=1e-9, rel=1e-9,
                                      reference="projection-space flow vs the d-dimensional flow, same initial points"),
    "multimode_mse_qmc": Tolerance(k=5.0, abs_floor=2e-5, reference="randomised QMC vs Gauss-Hermite expectation"),
    "multimode_bayes_flow_p_hat": Tolerance(k=4.0, abs_floor=1e-3,
                                            reference="d-dim samples of the Bayes-point flow vs the projection flow"),
    "multimode_trained_p_hat": Tolerance(k=4.0, abs_floor=0.03,
                                         reference="trained softmax p_hat vs the exact flow on the same grid, n = 256"),
    "multimode_asymptotic": Tolerance(exponent=-0.5, window=(-0.65, -0.35),
                                      reference="finite-d eps(s/sqrt(d)) -> sigma^2 + U(s), O(1/sqrt(d))"),
    "multimode_bayes_point": Tolerance(exponent=-1.0, window=(-1.4, -0.6),
                                       reference="|f_learned - f*|^2/d shrinks like 1/n (finite-sample estimate of u_k)"),
    # exact-coordinate GD map vs the simulator's GD (draws = 0), max over a run of
    # |theory - sim| in c, m, omega, b, sqrt_q, sqrt_r, mean over seeds, phase 1 and crossover: a floor
    # shrinking like d^-1/2 (0.02 at d = 1000) plus 3 seed standard errors (4 seeds; measured 0.010-0.021
    # at d = 1000, 0.0024-0.0047 at d = 4000)
    "exact_dynamics_gd": Tolerance(k=3.0, abs_floor=0.02, exponent=-0.5, floor_d_ref=1000.0, window=(-1.6, -0.35),
                                   reference="EXACT_FINITE_N §2-3 dynamics vs finite-d GD"),
    # stochastic exact map (Adam coordinate-class law + finite-batch noise term) vs the simulator's
    # Adam with K = 1 fresh draw, random init: per overlap, the max over records (after the first 10 %) of
    # |seed mean of theory - sim|, plus 3 seed standard errors; measured at d = 1000, n = 32, lr 1e-3 up to 0.062
    # (b, t = 0.7; 0.022 at d = 2000); without the noise term sqrt(r) is off by 0.25-0.37
    "exact_adam_sim": Tolerance(k=3.0, abs_floor=0.07, exponent=-0.5, floor_d_ref=1000.0, window=(-1.6, -0.2),
                                reference="numerics.exact.stochastic vs simulate(optimizer='adam', draws=1)"),
    # per-coordinate gradient second moments of one fresh draw (theory.exact_dynamics.noise_second_moments) vs the
    # Monte-Carlo variance of the actual estimator; the relative floor covers the dropped O(d^-1/2) terms
    "exact_noise_moments": Tolerance(k=4.0, rel=0.03, reference="EXACT_FINITE_N §2: noise term vs Monte Carlo, d = 2000"),
    # PyTorch timestep samplers: Monte-Carlo means / frequencies / integrals vs their exact values (k s.e.)
    "sampler_monte_carlo": Tolerance(k=5.0, reference="validation/pytorch/samplers.py: draws vs exact density"),
    # shared-network experiment: p_hat of a trained shared velocity MLP, seed standard errors; the floor covers
    # the Heun-grid bias of the fixed ODE solver (measured on the Bayes field: <= 0.003 at d <= 4096, 200 steps)
    "shared_network_p_hat": Tolerance(k=3.0, abs_floor=0.01,
                                      reference="docs/shared_network.md: seed standard errors + solver bias"),
}


def tolerance(name: str) -> Tolerance:
    """Look a tolerance up by name (``ValueError`` naming the unknown key)."""
    try:
        return TOLERANCES[name]
    except KeyError:
        raise ValueError(f"unknown tolerance {name!r}; known: {sorted(TOLERANCES)}") from None


def allowed_deviation(name: str, reference: float, stderr: float = 0.0, d: Optional[float] = None) -> float:
    """``k * stderr + floor + rel * |reference|`` for the named entry.

    The floor is ``abs_floor``, or ``abs_floor (d / floor_d_ref)^exponent`` for entries with a d-dependent
    floor (then ``d`` is required).
    """
    tol = tolerance(name)
    floor = tol.abs_floor
    if tol.floor_d_ref is not None:
        if d is None:
            raise ValueError(f"tolerance {name!r} has a d-dependent floor: pass d")
        floor = tol.abs_floor * (float(d) / tol.floor_d_ref) ** tol.exponent
    return tol.k * float(stderr) + floor + tol.rel * abs(float(reference))


def agrees(name: str, value: float, reference: float, stderr: float = 0.0, d: Optional[float] = None) -> bool:
    """True when ``|value - reference| <= allowed_deviation(name, reference, stderr, d)``."""
    if not (math.isfinite(value) and math.isfinite(reference)):
        return False
    return abs(float(value) - float(reference)) <= allowed_deviation(name, reference, stderr, d)


def loglog_slope(xs, ys) -> float:
    """Least-squares slope of log(ys) against log(xs) (like diffrax's ``test_ode_order``)."""
    import numpy as np

    x = np.log(np.asarray(xs, dtype=float))
    y = np.log(np.asarray(ys, dtype=float))
    if x.size < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("loglog_slope needs at least two positive, finite points")
    return float(np.polyfit(x, y, 1)[0])


def slope_ok(name: str, slope: float) -> bool:
    """True when a fitted slope lies in the entry's window."""
    tol = tolerance(name)
    if tol.window is None:
        raise ValueError(f"tolerance {name!r} has no slope window")
    return tol.window[0] <= slope <= tol.window[1]


# ----------------------------------------------------------------------------- paper claims
# Thresholds of the claims that ``flowphase reproduce`` checks (validation/figures/, verdict rules in
# validation/claims.py): a claim's limit is ``abs_floor + rel * |reference|`` (claim_limit) and its
# standard-error budget ``k * stderr`` (claim_noise).  An agreement inside the limit is confirmed, beyond it by
# less than the budget inconclusive (the size cannot decide), further out refuted; an effect must clear its
# threshold by the budget to be confirmed.  k = 3 throughout; k = 0 marks numbers without sampling noise.
TOLERANCES.update({
    "claim_phase1_c_off": Tolerance(k=3.0, rel=2.0, reference="PAPER §8 row 16: |c| <= 2 kappa/sqrt(d) on phase 1 "
                                                              "(reference kappa/sqrt(d))"),
    "claim_phase2_ridge": Tolerance(k=3.0, abs_floor=0.1, reference="PAPER §3.3-3.4: phase-2 c, m within 0.1 of "
                                                                    "the ridge theory"),
    "claim_phase1_omega": Tolerance(k=3.0, abs_floor=0.03, rel=0.15,
                                    reference="PAPER §3.2: phase-1 omega within 0.03 + 15 % of the finite-n theory"),
    "claim_theory_fit": Tolerance(k=3.0, reference="exact vs paper ansatz: difference of the mean squared residuals, "
                                                   "seed stderr propagated linearly"),
    "claim_authors_m_below": Tolerance(k=3.0, reference="overlaps-authors: simulated m above the lam_u = 50 theory"),
    "claim_mse_jump": Tolerance(k=0.0, abs_floor=1e-12, reference="PAPER §4: undilated jump 4p(1-p) at tau = 0+"),
    "claim_mse_smooth": Tolerance(k=0.0, abs_floor=0.02, reference="PAPER §4: largest step of eps on the phase-1 grid"),
    "claim_mse_bayes": Tolerance(k=3.0, rel=0.10, reference="trained test MSE within 10 % of the finite-d Bayes MSE"),
    "claim_p_hat": Tolerance(k=3.0, abs_floor=0.03, reference="PAPER §3.5, §3.7: generated p_hat within 0.03 of p"),
    "claim_p_hat_drift": Tolerance(k=3.0, reference="PAPER §3.7: undilated p_hat - p grows with d"),
    "claim_sigma_blind": Tolerance(k=0.0, abs_floor=1e-6, reference="PAPER §3.1: phase 1 at n = inf has no sigma"),
    "claim_sigma_finite_n": Tolerance(k=0.0, rel=10.0, reference="PAPER §3.8: sigma enters phase 1 at O(1/n) "
                                                                 "(spread <= 10/n, reference 1/n)"),
    "claim_p_blind": Tolerance(k=0.0, abs_floor=1e-12, reference="PAPER §3.3: phase 2 has no p"),
    "claim_one_over_n_slope": Tolerance(k=0.0, abs_floor=0.05, reference="Theta(1/n): |log-log slope + 1| <= 0.05"),
    "claim_ode_closed_form": Tolerance(k=0.0, abs_floor=1e-6, reference="ODE integration vs its closed form"),
    "claim_finite_d_deficit": Tolerance(k=3.0, reference="PAPER §3.3, §8: R - R_hat shrinks with d (sample stderr)"),
    "claim_cui_q_min": Tolerance(k=0.0, abs_floor=1e-3, reference="PREDECESSOR §2.7: Q_min = 0.779, Q(1) = 3.79"),
    "claim_cui_t_q_min": Tolerance(k=0.0, abs_floor=2e-3, reference="PREDECESSOR §2.7: t(Q_min) = 0.220"),
    "claim_cui_euler": Tolerance(k=0.0, abs_floor=5e-5, reference="authors' 100-step Euler: M = 0.97284, P = 2.24843"),
    "claim_cui_ratio": Tolerance(k=0.0, abs_floor=0.05, reference="PREDECESSOR §2.4: MSE / MSE_Bayes -> 2"),
    "claim_cui_trained": Tolerance(k=3.0, rel=0.15, reference="trained tied sign model within 15 % of the theory MSE "
                                                              "(stderr over coordinates)"),
    "claim_speciation_linear": Tolerance(k=0.0, abs_floor=0.01, reference="PREDECESSOR §4: sqrt(d) t_s -> 1"),
    "claim_uturn_accuracy": Tolerance(k=3.0, abs_floor=0.02, reference="classifier held-out error <= 2 % "
                                                                       "(binomial stderr)"),
    "claim_multimode_noise": Tolerance(k=3.0, reference="hierarchy: QMC stderr budget of the exact-flow p_hat (a "
                                                        "within-split weight: 2 max_k se / split weight)"),
    "claim_uturn_reallocation": Tolerance(k=0.0, reference="PAPER §6.6: 95 % Student-t interval over seeds of the "
                                                           "paired error difference must exclude 0"),
})


def claim_limit(name: str, reference: float = 0.0) -> float:
    """The limit ``abs_floor + rel * |reference|`` of the claim entry ``name``."""
    tol = tolerance(name)
    return tol.abs_floor + tol.rel * abs(float(reference))


def claim_noise(name: str, stderr: float = 0.0) -> float:
    """The standard-error budget ``k * stderr`` of the claim entry ``name``."""
    return tolerance(name).k * float(stderr)
