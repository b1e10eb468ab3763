"""The schedule atlas (numerics/atlas.py) against independent computations.

* two modes, n = inf: the Bayes flow closes on y = mu.x/sqrt(d); here the 1-D flow is written again from the
  Gaussian mixture of y (y | s ~ N(tau s sqrt d, D), posterior from the two Gaussian densities, not the tanh form),
  Euler on the density's grid, the separatrix by scipy brentq and the mode mean by scipy quad;
* a d-dimensional Monte-Carlo run of the Euler sampler with the Bayes denoiser at d = 300 (p_hat, mode mean and
  bulk variance within 4 standard errors);
* K modes: the d-dimensional flow of the hierarchy at d = 200 (Monte Carlo) against the projected flow;
* finite n: the atlas on the uniform density equals the exact finite-n theory of the undilated problem.
"""
import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from flowphase.numerics import atlas as at
from flowphase.theory import densities as dn


def _ref_flow(tau, d, p, sigma):
    """The 1-D Euler map y0 -> y_end on the grid tau, from the Gaussian mixture of y (module notes)."""
    sd = math.sqrt(d)

    def step(y, a, b):
        al = 1.0 - a
        D = al * al + a * a * sigma ** 2
        lp = math.log(p) - 0.5 * (y - a * sd) ** 2 / D       # log p + log N(y; tau sqrt d, D) + const
        lm = math.log(1 - p) - 0.5 * (y + a * sd) ** 2 / D
        post = 1.0 / (1.0 + np.exp(np.clip(lm - lp, -700, 700)))       # P(s = + | y)
        e1 = sum(w * (s * sd + a * sigma ** 2 / D * (y - a * s * sd)) for s, w in ((1, post), (-1, 1 - post)))
        return y + (b - a) * (e1 - y) / al

    def final(y0):
        y = np.asarray(y0, dtype=float)
        for a, b in zip(tau[:-1], tau[1:]):
            y = step(y, a, b)
        return y

    return final


def _ref_two_mode(den, d, T, p=0.8, sigma=1.0):
    tau = den.grid(T)
    final = _ref_flow(tau, d, p, sigma)
    star = optimize.brentq(lambda y: float(final(y)), -12, 12, xtol=1e-13)
    mass = stats.norm.sf(star)
    brk = list(star + np.array([1e-8, 1e-6, 1e-4, 1e-2, 0.1, 1.0]))
    mean_plus = integrate.quad(lambda y: float(final(y)) * stats.norm.pdf(y), star, 12, points=brk, limit=400)[0]
    return mass, mean_plus / math.sqrt(d) / mass, tau[-1]


@pytest.mark.parametrize("spec, d", [("uniform", 1e3), ("logit-normal:0,1", 1e3), ("dilation:2", 1e6),
                                     ("cosmap", 1e4), ("shift:3", 1e5)])
def test_two_mode_bayes_against_independent_1d_flow(spec, d):
    den = dn.parse_density(spec, d=d)
    pt = at.evaluate(at.TwoMode(0.8, 1.0), den, d, T=40)
    p_ref, mean_ref, tau_end = _ref_two_mode(den, d, 40)
    assert pt.p_hat[0] == pytest.approx(p_ref, abs=1e-9)
    assert pt.max_weight_error == pytest.approx(abs(p_ref - 0.8), abs=1e-9)
    assert pt.info["mean_plus"] == pytest.approx(mean_ref, abs=1e-7)
    assert pt.mean_error >= abs(mean_ref - tau_end) - 1e-7 and pt.tau_end == tau_end


def test_reference_numbers():
    """uniform T = 80, p = 0.8: 0.82 at d = 1e3, 0.88 at 1e4; logit-normal(0, 1) 0.99 at 1e3; dilation 0.805 at 1e8."""
    P = at.TwoMode(0.8, 1.0)
    assert round(at.evaluate(P, dn.Uniform(), 1e3).p_hat[0], 2) == 0.82
    assert round(at.evaluate(P, dn.Uniform(), 1e4).p_hat[0], 2) == 0.88
    assert round(at.evaluate(P, dn.LogitNormal(0, 1), 1e3).p_hat[0], 2) == 0.99
    assert round(at.evaluate(P, dn.Dilation(2.0, 1e8), 1e8).p_hat[0], 3) == 0.805


def test_two_mode_monte_carlo_in_d_dimensions():
    d, N, T, p, sigma = 300, 8000, 40, 0.8, 1.0
    rng = np.random.default_rng(11)
    h = 0.5 * math.log(p / (1 - p))
    for spec in ("uniform", "logit-normal:0,1", "dilation:2"):
        den = dn.parse_density(spec, d=d)
        tau = den.grid(T)
        x = rng.standard_normal((N, d))
        mu = np.zeros(d)
        mu[0] = math.sqrt(d)
        for a, b in zip(tau[:-1], tau[1:]):
            al = 1 - a
            D = al * al + a * a * sigma ** 2
            f = (a * sigma ** 2 / D) * x + (al * al / D) * np.tanh(h + a * (x @ mu) / D)[:, None] * mu[None, :]
            x = x + (b - a) * (f - x) / al
        y = x @ mu / math.sqrt(d)
        plus = y > 0
        pt = at.evaluate(at.TwoMode(p, sigma), den, d, T=T)
        se = math.sqrt(pt.p_hat[0] * (1 - pt.p_hat[0]) / N)
        assert abs(plus.mean() - pt.p_hat[0]) < 4 * se + 1e-12, spec
        mean_plus = y[plus].mean() / math.sqrt(d)
        se_m = y[plus].std() / math.sqrt(d) / math.sqrt(plus.sum())
        assert abs(mean_plus - pt.info["mean_plus"]) < 4 * se_m, spec
        bulk = x[:, 1:].var()
        se_v = bulk * math.sqrt(2.0 / (N * (d - 1)))
        assert abs(bulk - pt.info["bulk_variance"]) < 4 * se_v, spec


def test_k_mode_projection_against_d_dimensional_flow():
    from flowphase.numerics.multimode.field import posterior
    from flowphase.numerics.multimode.flow import full_flow

    prob = at.KMode(m=10, reps=4)
    d, N, T = 200, 4000, 30
    den = dn.LogitNormal(0, 1)
    mix = prob.kmixture(d)
    means = mix.means(d)
    X0 = np.random.default_rng(5).standard_normal((N, d))
    X = full_flow(mix, at.DensitySchedule(den), X0, means, n_times=T)
    pi = posterior(mix, X, den.grid(T)[-1], means)
    mc = pi.mean(axis=0)
    se = pi.std(axis=0) / math.sqrt(N)
    pt = at.evaluate(prob, den, d, T=T)
    assert np.all(np.abs(mc - np.array(pt.p_hat)) < 4 * se + 4 * np.array(pt.p_hat_se) + 1e-4)


def test_finite_n_uniform_equals_exact_theory_of_the_undilated_problem():
    from flowphase.numerics.exact.flow import generated_flow
    from flowphase.numerics.exact.solver import exact_curve
    from flowphase.theory.problem import Problem

    d, n, T = 1e3, 200, 8
    pr = Problem.undilated(p=0.8, sigma=1.0, d=d, n=n)
    ts = pr.schedule.grid(T)
    ref = generated_flow(exact_curve(pr, ts, d), pr, "euler", d=d)
    pt = at.evaluate(at.TwoMode(0.8, 1.0), dn.Uniform(), d, T=T, n=n)
    assert pt.p_hat[0] == pytest.approx(ref.p_hat, abs=1e-9)
    assert pt.variance_error == pytest.approx(abs(ref.bulk_variance - ((1 - ts[-1]) ** 2 + ts[-1] ** 2)), abs=1e-9)
    with pytest.raises(ValueError, match="two-mode problem only"):
        at.evaluate(at.KMode(), dn.Uniform(), d, n=n)


def test_smallest_T_is_the_threshold_and_window_masses():
    P = at.TwoMode(0.8, 1.0)
    T = at.smallest_T(P, lambda d: dn.Uniform(), 1e3, tol=0.01)
    assert at.evaluate(P, dn.Uniform(), 1e3, T=T).max_weight_error <= 0.01
    assert at.evaluate(P, dn.Uniform(), 1e3, T=T - 1).max_weight_error > 0.01
    assert at.smallest_T(P, lambda d: dn.LogitNormal(0, 1), 1e6, T_max=256) is None
    wins = at.decision_windows(P, 1e4)
    assert len(wins) == 1 and 0.0 < wins[0]["start"] < 2 / 100 < wins[0]["end"] < 0.05  # tau ~ 1/sqrt(d)
    dil = dn.Dilation(2.0, 1e4)
    m = at.window_masses(dil, wins)[0]
    assert m == pytest.approx(0.5 * (0.02 - wins[0]["start"]) / 0.02 + 0.5 * (wins[0]["end"] - 0.02) / 0.98)


def test_bad_input():
    P = at.TwoMode()
    with pytest.raises(ValueError, match="d must lie in"):
        at.evaluate(P, dn.Uniform(), 1.0)
    with pytest.raises(ValueError, match="T must lie in"):
        at.evaluate(P, dn.Uniform(), 100, T=1)
    with pytest.raises(ValueError, match="p must lie in"):
        at.TwoMode(p=1.0)
    with pytest.raises(ValueError, match="phase-aware mass"):
        at.density_at("phase-aware:uniform@auto,x", P, 1e4)


def test_a_mode_the_sampler_never_reaches_has_no_mean():
    import json

    from flowphase.validation._io import dump_json

    pt = at.evaluate(at.TwoMode(), dn.LogitNormal(0, 1), 1e6)
    assert pt.p_hat[0] == 1.0 and pt.info["mean_minus"] is None and math.isfinite(pt.mean_error)
    assert json.loads(dump_json(pt.to_dict()))["mean_minus"] is None
