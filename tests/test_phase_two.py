"""Phase-2 closed forms through the generated code (PAPER §3.3-§3.4, §3.9) vs theory/closed_forms.py."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowphase.numerics.phase_two import phase_two_arrays, phase_two_parameters
from flowphase.theory.closed_forms import cui_learned_parameters, phase_two_ridge
from flowphase.theory.problem import Problem, TrigonometricInterpolant


def test_reference_values_dilated_d_inf():
    pr = Problem.dilated(n=128, lam_u=50, lam_w=1, noise="fixed")
    r = phase_two_parameters(pr, 1.5)
    assert r.tau == 0.5 and r.c == pytest.approx(1.1238, abs=5e-5)  # PAPER §8 check 8
    assert phase_two_arrays([0.0], [1.0], 128, 1.0, 50.0, noise="fixed")[0, 1] == pytest.approx(0.7191, abs=5e-5)
    pop = phase_two_parameters(Problem.dilated(), 1.0 + 1 / math.sqrt(2))
    assert pop.c == pytest.approx(1.2071, abs=1e-4) and pop.m == pytest.approx(0.1464, abs=1e-4)  # PAPER §3.3


@pytest.mark.parametrize("noise", ["fresh", "fixed", "notebook"])
def test_matches_closed_forms_for_every_convention(noise):
    pr = Problem.dilated(n=37, lam_u=3.0, sigma=1.4, noise=noise)
    for t in (1.05, 1.3, 1.77, 2.0):
        r = phase_two_parameters(pr, t)
        ref = phase_two_ridge(t - 1.0, 37, 1.4, 3.0, noise)
        assert (r.c, r.m, r.q_eta, r.q_xi) == pytest.approx((ref["c"], ref["m"], ref["q_eta"], ref["q_xi"]),
                                                           rel=1e-12, abs=1e-15)
        assert r.sqrt_q == pytest.approx(math.sqrt(ref["m"] ** 2 + 37 * ref["q_eta"] ** 2 + 37 * ref["q_xi"] ** 2),
                                         rel=1e-13)


def test_finite_d_uses_actual_tau():
    # PAPER §3.9: at finite d phase 2 is evaluated at tau = kappa/sqrt d + (1 - kappa/sqrt d)(t - 1)
    d, kappa = 1000, 2.0
    pr = Problem.dilated(d=d, kappa=kappa, n=64, lam_u=2.0, noise="fresh")
    r = phase_two_parameters(pr, 1.5)
    tau = kappa / math.sqrt(d) + (1 - kappa / math.sqrt(d)) * 0.5
    assert r.tau == pytest.approx(tau, rel=1e-14) and tau == pytest.approx(0.532, abs=1e-3)
    assert r.c == pytest.approx(phase_two_ridge(tau, 64, 1.0, 2.0, "fresh")["c"], rel=1e-13)


def test_undilated_schedule_tau_equals_t():
    pr = Problem.undilated(n=16, lam_u=0.5, noise="fixed")
    r = phase_two_parameters(pr, 0.3)
    assert r.c == pytest.approx(phase_two_ridge(0.3, 16, 1.0, 0.5, "fixed")["c"], rel=1e-13)


def test_trigonometric_interpolant_is_cui_result():
    # general interpolant: data coefficient sin(pi tau/2), noise coefficient cos(pi tau/2) (PREDECESSOR §2.1)
    pr = Problem.undilated(n=8, sigma=1.5, lam_u=0.1, noise="fixed", interpolant=TrigonometricInterpolant())
    for tau in (0.2, 0.5, 0.9):
        r = phase_two_parameters(pr, tau)
        a, b = math.sin(math.pi * tau / 2), math.cos(math.pi * tau / 2)
        ref = cui_learned_parameters(a, b, 8, 1.5, 0.1)
        assert (r.c, r.m, r.q_xi) == pytest.approx((ref["c"], ref["m"], ref["q_xi"]), rel=1e-12)
        assert r.q_eta == pytest.approx(1.5 * ref["q_eta"], rel=1e-12)


def test_population_is_convention_independent_and_limit_of_finite_n():
    taus = np.linspace(0.0, 1.0, 11)
    pops = [phase_two_arrays(taus, 1 - taus, math.inf, 1.3, 2.0, noise=nz) for nz in ("fresh", "fixed", "notebook")]
    np.testing.assert_array_equal(pops[0], pops[1])
    np.testing.assert_array_equal(pops[0], pops[2])
    big = phase_two_arrays(taus, 1 - taus, 1e9, 1.3, 2.0, noise="fresh")
    np.testing.assert_allclose(big[:, :2], pops[0][:, :2], atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(t=st.floats(1.0001, 2.0), n=st.one_of(st.integers(2, 10_000).map(float), st.just(math.inf)),
       noise=st.sampled_from(["fresh", "fixed", "notebook"]))
def test_phase_two_parameters_equal_the_ridge_closed_form(t, n, noise):
    # the generated kernel vs the hand-written PAPER §3.4 table (p-independence, PAPER §8 row 20, is tested
    # through code that receives p: tests/test_learned.py (exact theory) and tests/test_simulator.py)
    r1 = phase_two_parameters(Problem.dilated(n=n, lam_u=2.0, noise=noise), t)
    ref = phase_two_ridge(t - 1.0, n, 1.0, 2.0, noise)
    assert (r1.c, r1.m) == pytest.approx((ref["c"], ref["m"]), rel=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="noise"):
        phase_two_arrays([0.5], [0.5], 10, 1.0, 1.0, noise="stale")
    with pytest.raises(ValueError, match="lam_u"):
        phase_two_arrays([0.5], [0.5], 1, 1.0, 0.0, noise="fixed")
    with pytest.raises(ValueError, match="sigma"):
        phase_two_arrays([0.5], [0.5], 10, -1.0, 1.0)
    with pytest.raises(ValueError, match="both zero"):
        phase_two_arrays([0.0], [0.0], 10, 1.0, 1.0)
    with pytest.raises(ValueError, match="t must lie"):
        phase_two_parameters(Problem.dilated(), 2.5)
