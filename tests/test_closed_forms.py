"""Golden values of theory/closed_forms.py against the spec (PAPER §3.3, §3.4, §8; PREDECESSOR §2.7)."""
import math

import numpy as np
import pytest

from flowphase.theory.closed_forms import (bayes_denoiser, cui_learned_parameters, phase_one_population,
                                           phase_two_ridge)

from _match import whole_word


def test_phase_one_population_values():
    r = phase_one_population(2.0, 0.5, 0.8)
    assert r["c"] == 0.0 and r["m"] == 1.0 and r["q"] == 1.0
    assert r["omega"] == pytest.approx(1.0, abs=1e-15)
    assert r["b"] == pytest.approx(0.5 * math.log(4.0), abs=1e-12)  # PAPER §8 check 1: 0.693147
    assert r["b"] == pytest.approx(0.693147, abs=1e-6)
    assert r["r"] == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("tp,c,m", [(0.0, 0.0, 1.0), (0.25, 0.4, 0.9), (0.5, 1.0, 0.5), (0.7071, 1.2071, 0.1464),
                                    (0.75, 1.2, 0.1), (0.9, 1.0976, 0.0122), (1.0, 1.0, 0.0)])
def test_phase_two_population_table(tp, c, m):
    # PAPER §3.3 table (sigma = 1), 4 decimals
    for noise in ("fresh", "fixed", "notebook"):
        r = phase_two_ridge(tp, math.inf, 1.0, 2.0, noise)
        assert r["c"] == pytest.approx(c, abs=6e-5)
        assert r["m"] == pytest.approx(m, abs=6e-5)
        assert r["q_eta"] == 0.0 and r["q_xi"] == 0.0


def test_phase_two_population_maximum():
    tps = np.linspace(0.0, 1.0, 20001)
    cs = np.array([phase_two_ridge(x, math.inf, 1.0, 0.0)["c"] for x in tps])
    assert cs.max() == pytest.approx((1.0 + math.sqrt(2.0)) / 2.0, rel=1e-8)  # c(1/sqrt2) = (1+sqrt2)/2
    assert cs.max() == pytest.approx(1.2071, abs=1e-4)  # PAPER §8 check 4
    assert tps[cs.argmax()] == pytest.approx(1.0 / math.sqrt(2.0), abs=1e-3)


def test_phase_two_finite_n_reference():
    # PAPER §3.4 / §8 check 8: n = 128, lam = 50, fixed noise
    r = phase_two_ridge(0.5, 128, 1.0, 50.0, "fixed")
    assert r["c"] == pytest.approx(1.1238, abs=5e-5)
    r0 = phase_two_ridge(0.0, 128, 1.0, 50.0, "fixed")
    assert r0["m"] == pytest.approx(0.7191, abs=5e-5)
    assert r0["m"] == pytest.approx(128 / 178, abs=1e-12)


def test_phase_two_conventions_and_generated_variance():
    n, lam, s = 128, 2.0, 1.3
    fixed = phase_two_ridge(0.3, n, s, lam, "fixed")
    fresh = phase_two_ridge(0.3, n, s, lam, "fresh")
    note = phase_two_ridge(0.3, n, s, lam, "notebook")
    assert fixed["B"] == n + lam - 1 and fresh["B"] == n + lam and note["B"] == n + lam + 1
    # PAPER §3.5 / §8 check 10: sigma_hat^2 = A / B
    assert fixed["A"] / fixed["B"] == pytest.approx(s ** 2 + lam / (n + lam - 1), rel=1e-13)
    assert fresh["A"] / fresh["B"] == pytest.approx(s ** 2 + (lam - s ** 2) / (n + lam), rel=1e-13)
    assert fresh["q_xi"] == 0.0
    assert fixed["q_xi"] == pytest.approx(-fixed["c"] * 0.7 / (n + lam), rel=1e-13)
    assert note["q_xi"] == pytest.approx(+note["c"] * 0.7 / (n + lam), rel=1e-13)


def test_notebook_formula_matches_authors_expression():
    # PAPER §3.4: c = (2t'(l+n) - t'(1+n)) / ((l+n)(1-2t'+3t'^2) + (1-2t'-n t'^2)) at sigma = 1
    n, lam = 128.0, 50.0
    for tp in (0.1, 0.5, 0.8):
        ref = (2 * tp * (lam + n) - tp * (1 + n)) / ((lam + n) * (1 - 2 * tp + 3 * tp ** 2) + (1 - 2 * tp - n * tp ** 2))
        assert phase_two_ridge(tp, n, 1.0, lam, "notebook")["c"] == pytest.approx(ref, rel=1e-13)


def test_phase_two_converges_to_population():
    inf = phase_two_ridge(0.6, math.inf, 1.2, 2.0)
    errs = [abs(phase_two_ridge(0.6, n, 1.2, 2.0)["c"] - inf["c"]) for n in (1e3, 1e4, 1e5)]
    slope = np.polyfit(np.log([1e3, 1e4, 1e5]), np.log(errs), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.02)


@pytest.mark.parametrize("t,c,m,qxi,qeta", [
    (0.01, 0.0231, 0.9874, -0.00282, 0.12343),
    (0.10, 0.2719, 0.9608, -0.03021, 0.12010),
    (0.25, 0.8040, 0.7891, -0.07444, 0.09864),
    (0.50, 1.3873, 0.3026, -0.08563, 0.03782),
    (0.75, 1.2710, 0.0462, -0.03923, 0.00578),
    (0.90, 1.1051, 0.0054, -0.01364, 0.00067),
])
def test_cui_reference_table(t, c, m, qxi, qeta):
    # PREDECESSOR §2.7, sigma = 1.5, n = 8, lam = 0.1, alpha = t (data), beta = 1 - t (noise)
    r = cui_learned_parameters(t, 1.0 - t, 8, 1.5, 0.1)
    assert r["c"] == pytest.approx(c, abs=6e-5)
    assert r["m"] == pytest.approx(m, abs=6e-5)
    assert r["q_xi"] == pytest.approx(qxi, abs=6e-6)
    assert r["q_eta"] == pytest.approx(qeta, abs=6e-6)


def test_cui_equals_fixed_noise_phase_two():
    # Same ridge problem: the coefficient of eta_tilde (standard normal) is sigma times Cui's q_eta
    for tp in (0.2, 0.5, 0.9):
        cui = cui_learned_parameters(tp, 1 - tp, 16, 1.5, 0.3)
        ph2 = phase_two_ridge(tp, 16, 1.5, 0.3, "fixed")
        for k in ("c", "m", "q_xi", "A", "B", "D"):
            assert cui[k] == pytest.approx(ph2[k], rel=1e-13)
        assert ph2["q_eta"] == pytest.approx(1.5 * cui["q_eta"], rel=1e-13)


def test_bayes_denoiser_is_posterior_mean():
    # Independent reference: posterior mean of the mixture by Gaussian conditioning in d = 4
    rng = np.random.default_rng(0)
    d, p, sigma = 4, 0.7, 1.3
    mu = rng.standard_normal(d)
    mu *= math.sqrt(d) / np.linalg.norm(mu)  # |mu|^2 = d
    for tau in (0.1, 0.45, 0.9):
        a = 1.0 - tau
        x = rng.standard_normal(d)
        var = a * a + tau * tau * sigma * sigma
        logw = {s: math.log(p if s > 0 else 1 - p) - np.sum((x - tau * s * mu) ** 2) / (2 * var) for s in (1, -1)}
        zmax = max(logw.values())
        w = {s: math.exp(v - zmax) for s, v in logw.items()}
        ref = sum(w[s] * (s * mu + tau * sigma ** 2 / var * (x - tau * s * mu)) for s in (1, -1)) / sum(w.values())
        bd = bayes_denoiser(tau, sigma, p)
        f = bd["c"] * x + bd["m"] * mu * math.tanh(bd["b"] + bd["omega_over_sqrt_d"] * float(mu @ x))
        np.testing.assert_allclose(f, ref, rtol=1e-12, atol=1e-12)


def test_bayes_denoiser_phase_one_limit():
    # PAPER §2.1 / §8 check 16: omega* = sqrt(d) tau / D_tau = kappa t (1 + O(1/sqrt d)),
    # c* ~ kappa t sigma^2 / sqrt(d) (0.028 at t = 1, d = 5000); the relative error decays as 1/sqrt(d)
    kappa = 2.0
    errs = []
    for d in (5e3, 5e5, 5e7):
        bd = bayes_denoiser(kappa / math.sqrt(d), 1.0, 0.8)
        errs.append(abs(bd["omega_over_sqrt_d"] * math.sqrt(d) / kappa - 1.0))
        assert bd["c"] * math.sqrt(d) / kappa == pytest.approx(bd["omega_over_sqrt_d"] * math.sqrt(d) / kappa, rel=1e-12)
    slope = np.polyfit(np.log([5e3, 5e5, 5e7]), np.log(errs), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.02)
    assert kappa / math.sqrt(5000) == pytest.approx(0.028, abs=3e-4)


@pytest.mark.parametrize("call,name", [
    (lambda: phase_one_population(0.0, 0.5, 0.8), "kappa"),
    (lambda: phase_one_population(2.0, 1.5, 0.8), "t"),
    (lambda: phase_one_population(2.0, 0.5, 1.0), "p"),
    (lambda: phase_two_ridge(1.2, 10, 1.0, 1.0), "tp"),
    (lambda: phase_two_ridge(0.5, 0.5, 1.0, 1.0), "n"),
    (lambda: phase_two_ridge(0.5, 10, -1.0, 1.0), "sigma"),
    (lambda: phase_two_ridge(0.5, 10, 1.0, -1.0), "lam_u"),
    (lambda: phase_two_ridge(0.5, 10, 1.0, 1.0, "stale"), "noise"),
    (lambda: cui_learned_parameters(-0.1, 0.5, 8, 1.0, 0.1), "data_coef"),
    (lambda: cui_learned_parameters(0.5, 0.5, 8, 1.0, -0.1), "lam"),
    (lambda: bayes_denoiser(0.5, 0.0, 0.5), "sigma"),
    (lambda: bayes_denoiser(0.5, 1.0, float("nan")), "p"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=whole_word(name)):
        call()


def test_noise_conventions_table_is_the_paper_table():
    # PAPER §3.4: B = n + lam_u - 1 (fixed), n + lam_u (fresh), n + lam_u + 1 (notebook); q_xi has the sign of
    # the shift (the notebook keeps q_xi = +c(1-t')/(lam+n)); n = 128, lam_u = 50
    from flowphase.theory.conventions import NOISE_CONVENTIONS

    assert tuple(NOISE_CONVENTIONS) == ("fresh", "fixed", "notebook")
    for noise, B in (("fixed", 177.0), ("fresh", 178.0), ("notebook", 179.0)):
        r = phase_two_ridge(0.5, 128.0, 1.0, 50.0, noise)
        assert r["B"] == B
        assert r["q_xi"] == pytest.approx((B - 178.0) * r["c"] * 0.5 / 178.0, rel=1e-15, abs=1e-300)
    with pytest.raises(ValueError, match="noise must be one of"):
        phase_two_ridge(0.5, 128.0, 1.0, 50.0, "frozen")
