"""Symbolic checks of the summary-statistics flows (theory/flow.py): residuals simplify to exactly 0."""
import math

import pytest
import sympy as sp

from flowphase.theory import closed_forms as cf
from flowphase.theory import derivations as der
from flowphase.theory import flow as F


@pytest.mark.parametrize("noise", ["fresh", "fixed", "notebook"])
def test_phase_two_closed_forms_solve_the_derived_odes(noise):
    chk = F.phase_two_check(noise)
    for k, res in chk["residuals"].items():
        assert sp.simplify(res) == 0, (noise, k, res)
    assert chk["initial"] == {"S_mu": 0, "S_eta": 0, "S_xi": 0, "P": 1}
    assert chk["gamma"] == 0


def test_cui_closed_forms_solve_the_derived_odes_any_schedule():
    chk = F.cui_check()
    for k, res in chk["residuals"].items():
        assert sp.simplify(res) == 0, (k, res)
    assert chk["gamma"] == 0
    for key in ("initial_linear", "initial_trigonometric"):
        assert chk[key] == {"S_mu": 0, "S_eta": 0, "S_xi": 0, "P": 1}


def test_derived_phase_two_ode_has_the_papers_form():
    # on the linear path the derived ODE is dR/dt' = [(c-1) R + m] / (1 - t') (PAPER §3.5)
    sol = der.phase_two_solution("fresh")
    tp = F.T
    learned = {k: v.subs({der.data_coef: tp, der.noise_coef: 1 - tp}) for k, v in sol.items()}
    odes = F.summary_odes(learned, tp, 1 - tp)
    R, P = sp.Symbol("S_mu", real=True), sp.Symbol("P", nonnegative=True)
    c, m = learned["c"], learned["m"]
    assert sp.cancel(sp.together(odes["S_mu"] - ((c - 1) * R + m) / (1 - tp))) == 0
    assert sp.cancel(sp.together(odes["P"] - 2 * (c - 1) * P / (1 - tp))) == 0


def test_wrong_closed_form_is_detected():
    # a perturbed closed form must leave a non-zero residual (the check can fail)
    chk = F.phase_two_check("fresh")
    closed = dict(F.phase_two_closed_forms("fresh", sp.Function("a")(F.T), sp.Function("b")(F.T)))
    closed["S_mu"] = closed["S_mu"] * (1 + der.lam_u / der.n)
    res = F._residuals(chk["odes"], closed)
    assert sp.simplify(res["S_mu"]) != 0


def test_numeric_values_match_closed_forms_module():
    # R(1) = n/(n+lam) = 0.9846 (n=128, lam=2); sigma_hat^2 = A/B against theory/closed_forms.py
    vals = {der.n: 128, der.lam_u: 2, der.sigma: 1}
    for noise, expect_var in (("fixed", 1 + 2 / 129), ("fresh", 1 + (2 - 1) / 130)):
        cl = F.phase_two_closed_forms(noise)
        assert float(cl["S_mu"].subs(vals).subs(F.T, 1)) == pytest.approx(0.984615, abs=1e-6)
        var = float(cl["P"].subs(vals).subs(F.T, 1))
        assert var == pytest.approx(expect_var, rel=1e-12)
        ref = cf.phase_two_ridge(1.0, 128, 1.0, 2.0, noise)
        assert var == pytest.approx(ref["A"] / ref["B"], rel=1e-12)
    # Cui, sigma = 1.5, n = 8, lam = 0.1 at t = 1 (PREDECESSOR §2.7): M, Q^xi, Q^eta, P
    cl = F.cui_closed_forms(F.T, 1 - F.T)
    vals = {der.n: 8, der.lam: sp.Rational(1, 10), der.sigma: sp.Rational(3, 2), F.T: 1}
    got = [float(cl[k].subs(vals)) for k in ("S_mu", "S_xi", "S_eta", "P")]
    assert got == pytest.approx([0.98765, -0.18576, 0.12346, 2.26408], abs=2e-5)
