"""Symbolic checks of theory/derivations.py against the documented closed forms (PAPER §3.1-§3.4, PREDECESSOR §2.1)."""
import math

import numpy as np
import pytest
import sympy as sp

from flowphase.theory import closed_forms as cf
from flowphase.theory import derivations as dv

S = dv.SYMBOLS


@pytest.mark.parametrize("noise", ["fresh", "fixed"])
def test_phase_two_derivation_equals_documented_formula(noise):
    derived = dv.phase_two_solution(noise)
    documented = dv.documented_phase_two(noise)
    for key in ("c", "m", "q_eta", "q_xi"):
        assert sp.simplify(derived[key] - documented[key]) == 0, key


@pytest.mark.parametrize("noise", ["fresh", "fixed", "notebook"])
def test_documented_symbolic_formula_equals_closed_forms_module(noise):
    doc = dv.documented_phase_two(noise)
    args = (S["data_coef"], S["noise_coef"], S["n"], S["sigma"], S["lam_u"])
    fns = {k: sp.lambdify(args, v, "math") for k, v in doc.items()}
    rng = np.random.default_rng(1)
    for _ in range(20):
        tp, n, sig, lam = rng.uniform(0, 1), float(rng.integers(2, 500)), rng.uniform(0.2, 3), rng.uniform(0, 60)
        ref = cf.phase_two_ridge(tp, n, sig, lam, noise)
        for k, f in fns.items():
            assert f(tp, 1 - tp, n, sig, lam) == pytest.approx(ref[k], rel=1e-12, abs=1e-15)


def test_phase_two_population_limit():
    pop = dv.phase_two_population()
    tp, sig = S["tp"], S["sigma"]
    ref_c = tp * sig ** 2 / ((1 - tp) ** 2 + tp ** 2 * sig ** 2)   # PAPER §3.3
    sub = {S["data_coef"]: tp, S["noise_coef"]: 1 - tp}
    assert sp.simplify(pop["c"].subs(sub) - ref_c) == 0
    assert sp.simplify(pop["m"].subs(sub) - (1 - ref_c * tp)) == 0
    assert pop["q_eta"] == 0 and pop["q_xi"] == 0


def test_fresh_noise_has_no_xi_component():
    assert dv.phase_two_solution("fresh")["q_xi"] == 0


def test_cui_derivation_equals_result_2_1():
    a, be, n, sig, lam = S["data_coef"], S["noise_coef"], S["n"], S["sigma"], S["lam"]
    A = lam * (1 + sig ** 2) + (n - 1) * sig ** 2      # PREDECESSOR §2
    B = lam + n - 1
    D = a ** 2 * A + be ** 2 * B
    c = a * A / D
    m = n / (n + lam) * be ** 2 * B / D
    ref = {"c": c, "m": m, "q_xi": -be * c / (n + lam), "q_eta": m / n}
    derived = dv.cui_solution()
    for k, v in ref.items():
        assert sp.simplify(derived[k] - v) == 0, k
    f = sp.lambdify((a, be, n, sig, lam), derived["c"], "math")
    assert f(0.5, 0.5, 8, 1.5, 0.1) == pytest.approx(cf.cui_learned_parameters(0.5, 0.5, 8, 1.5, 0.1)["c"], rel=1e-13)


def test_phase_one_elimination():
    sol = dv.phase_one_solution()
    Ms, M2, n, sig, lu, lw, om = (S[k] for k in ("M_s", "M_2", "n", "sigma", "lam_u", "lam_w", "omega"))
    assert sol["c"] == 0                                                   # skip connection off (PAPER §3.1)
    assert sp.simplify(sol["m"] - n * Ms / (lu + n * M2)) == 0             # PAPER §3.2
    assert sp.simplify(sol["q_eta"] - sig * Ms / (lu + n * M2)) == 0
    E_doc = -n * (n + sig ** 2) * Ms ** 2 / (lu + n * M2) + lw * om ** 2
    assert sp.simplify(sol["E"] - E_doc) == 0
    assert sp.simplify(sol["const"] - n * (1 + sig ** 2)) == 0


def test_phase_one_chain_rule_against_finite_differences():
    # Plug explicit smooth stand-ins for M_s(omega, b), M_2(omega, b) and compare with numeric differentiation.
    der = dv.phase_one_derivatives()
    om, bb = S["omega"], S["b"]
    Ms_f = sp.sin(om) * sp.tanh(bb) + om * bb / 3
    M2_f = sp.Rational(1, 2) + sp.cos(om + bb) ** 2 / 3
    vals = {S["n"]: 17, S["sigma"]: sp.Rational(13, 10), S["lam_u"]: 3, S["lam_w"]: sp.Rational(1, 2)}
    pt = {om: sp.Rational(7, 10), bb: sp.Rational(3, 5)}
    derivs = {S["M_s"]: Ms_f, S["M_2"]: M2_f,
              S["Ms_w"]: sp.diff(Ms_f, om), S["Ms_b"]: sp.diff(Ms_f, bb), S["M2_w"]: sp.diff(M2_f, om),
              S["M2_b"]: sp.diff(M2_f, bb), S["Ms_ww"]: sp.diff(Ms_f, om, 2), S["Ms_wb"]: sp.diff(Ms_f, om, bb),
              S["Ms_bb"]: sp.diff(Ms_f, bb, 2), S["M2_ww"]: sp.diff(M2_f, om, 2), S["M2_wb"]: sp.diff(M2_f, om, bb),
              S["M2_bb"]: sp.diff(M2_f, bb, 2)}
    Efun = der["E"].subs({S["M_s"]: Ms_f, S["M_2"]: M2_f}).subs(vals)
    E_num = sp.lambdify((om, bb), Efun, "mpmath")
    import mpmath as mp
    mp.mp.dps = 30
    x, y = mp.mpf(7) / 10, mp.mpf(3) / 5
    fd = {"dE_domega": mp.diff(E_num, (x, y), (1, 0)), "dE_db": mp.diff(E_num, (x, y), (0, 1)),
          "d2E_domega2": mp.diff(E_num, (x, y), (2, 0)), "d2E_domega_db": mp.diff(E_num, (x, y), (1, 1)),
          "d2E_db2": mp.diff(E_num, (x, y), (0, 2))}
    for k, ref in fd.items():
        val = der[k].subs(derivs).subs(vals).subs(pt)
        assert float(abs(sp.N(val, 30) - ref)) < 1e-20, k


def test_population_stationarity_at_bayes_point():
    out = dv.phase_one_population_stationarity()
    assert out["dE_domega"] == 0 and out["dE_db"] == 0
    assert out["m"] == 1 and out["q_eta"] == 0 and out["c"] == 0


def test_bayes_identities_numerically():
    # M_s = M_2 and dM_2 = 2 dM_s at (omega, b) = (kappa t, h): 30-digit quadrature (PAPER §3.1)
    assert dv.verify_bayes_identities(dps=30) < 1e-25


def test_bayes_identities_fail_away_from_bayes_point():
    # the same quadrature distinguishes a non-Bayes point (guards against a vacuous check)
    import mpmath as mp
    with mp.workdps(20):
        pp, kt, om = mp.mpf("0.8"), mp.mpf(1), mp.mpf("0.5")
        h = mp.atanh(2 * pp - 1)
        Ms = sum(w * mp.quad(lambda g: sl * mp.tanh(h + om * (g + kt * sl)) * mp.npdf(g), [-mp.inf, mp.inf])
                 for sl, w in ((1, pp), (-1, 1 - pp)))
        M2 = sum(w * mp.quad(lambda g: mp.tanh(h + om * (g + kt * sl)) ** 2 * mp.npdf(g), [-mp.inf, mp.inf])
                 for sl, w in ((1, pp), (-1, 1 - pp)))
    assert abs(Ms - M2) > 1e-3


def test_phase_two_loss_rejects_notebook():
    with pytest.raises(ValueError, match="noise"):
        dv.phase_two_loss("notebook")
