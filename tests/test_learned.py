"""learned_parameters / learned_curve: one entry point for both phases (PAPER §3)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowphase.numerics.learned import learned_curve, learned_parameters
from flowphase.numerics.phase_one import solve_phase_one
from flowphase.theory.closed_forms import phase_one_population, phase_two_ridge
from flowphase.theory.problem import Problem

AUTHORS = Problem.dilated(n=128, lam_u=50, lam_w=1, noise="fixed")


def test_phase_one_and_two_values():
    r = learned_parameters(AUTHORS, 0.5)
    assert r.phase == 1 and r.c == 0.0 and r.omega == pytest.approx(1.400, abs=6e-4) and r.b == pytest.approx(1.065, abs=6e-4)
    r = learned_parameters(AUTHORS, 1.5)
    assert r.phase == 2 and r.omega is None and r.b is None and r.c == pytest.approx(1.1238, abs=5e-5)
    assert r.value["omega"] is None and r.value["phase"] == 2
    r0 = learned_parameters(AUTHORS, 0.0)
    assert r0.m == pytest.approx(0.4315, abs=5e-5) and r0.omega == 0.0 and r0.branch == "trivial"


def test_population_values_both_phases():
    pr = Problem.dilated()  # n = inf
    r = learned_parameters(pr, 0.3)
    ref = phase_one_population(2.0, 0.3, 0.8)
    assert (r.c, r.m, r.omega, r.b) == pytest.approx((ref["c"], ref["m"], ref["omega"], ref["b"]), rel=1e-14)
    r = learned_parameters(pr, 1.5)
    assert (r.c, r.m) == pytest.approx((1.0, 0.5), rel=1e-14)  # PAPER §3.3 table at t' = 0.5


def test_curve_agrees_with_pointwise_and_is_order_independent():
    ts = np.array([1.9, 0.05, 0.5, 1.0, 1.2, 0.3, 0.145, 0.155, 2.0, 0.75])
    cur = learned_curve(AUTHORS, ts)
    for k, t in enumerate(ts):
        r = learned_parameters(AUTHORS, t)
        assert cur.phase[k] == r.phase and cur.branch[k] == r.branch
        for key in ("c", "m", "q_eta", "q_xi", "sqrt_q"):
            assert getattr(cur, key)[k] == pytest.approx(getattr(r, key), rel=1e-9, abs=1e-12), (t, key)
        if r.phase == 1:
            assert cur.omega[k] == pytest.approx(r.omega, rel=1e-9, abs=1e-12)
        else:
            assert math.isnan(cur.omega[k]) and math.isnan(cur.b[k])
    assert len(cur.jumps) == 1 and 0.14 < cur.jumps[0].t_star < 0.15
    assert cur.converged.all()
    assert set(cur.as_dict()) >= {"t", "c", "m", "omega", "b", "jumps"}


def test_undilated_schedule_and_degenerate_tau_zero():
    pr = Problem.undilated(n=100, lam_u=2.0, lam_w=2.0)
    r0 = learned_parameters(pr, 0.0, theory="paper")
    assert r0.branch == "degenerate" and r0.omega == 0.0
    assert r0.m == pytest.approx(100 * 0.6 / 102, rel=1e-13)  # n|2p-1|/(lam_u+n), PAPER §3.7
    r = learned_parameters(pr, 0.4)
    assert r.omega is None and r.c == pytest.approx(phase_two_ridge(0.4, 100, 1.0, 2.0, "fresh")["c"], rel=1e-13)
    cur = learned_curve(pr, [0.0, 0.4], theory="paper")
    assert cur.branch == ["degenerate", "ridge"] and cur.m[0] == pytest.approx(r0.m)
    # the exact theory (default) has the same tau = 0 point: every activation +-1, m = (n+ - n-)/(lam_u + n)
    e0 = learned_parameters(pr, 0.0)
    assert e0.theory == "exact" and e0.branch == "trivial" and e0.m == pytest.approx(r0.m, rel=1e-13)
    ecur = learned_curve(pr, [0.0, 0.4])
    assert ecur.branch == ["trivial", "saturated"] and ecur.c[1] == pytest.approx(r.c, rel=1e-12)


def test_sign_canonicalised_omega_nonnegative():
    for p in (0.2, 0.8):
        r = learned_parameters(Problem.dilated(p=p, n=128, lam_u=50, lam_w=1), 0.6)
        assert r.omega > 0 and math.copysign(1, r.b) == math.copysign(1, p - 0.5)


@settings(max_examples=25, deadline=None)
@given(s1=st.floats(0.1, 5.0), s2=st.floats(0.1, 5.0), t=st.floats(0.0, 1.0), p=st.floats(0.05, 0.95))
def test_phase_one_at_n_inf_does_not_see_sigma(s1, s2, t, p):
    # PAPER §3.1 / §8 row 21
    r1 = learned_parameters(Problem.dilated(p=p, sigma=s1), t)
    r2 = learned_parameters(Problem.dilated(p=p, sigma=s2), t)
    assert (r1.omega, r1.b, r1.m, r1.c) == (r2.omega, r2.b, r2.m, r2.c)
    assert r1.omega == pytest.approx(2.0 * t) and r1.b == pytest.approx(math.atanh(2 * p - 1))


@settings(max_examples=8, deadline=None)
@given(s1=st.floats(0.3, 3.0), s2=st.floats(0.3, 3.0))
def test_phase_one_sigma_enters_only_at_order_one_over_n(s1, s2):
    # at finite n sigma enters through (n + sigma^2): the sigma effect on omega is O(1/n^2) relative
    n = 1e5
    w1 = solve_phase_one(1.0, 0.8, n, s1, 2.0, 2.0).omega
    w2 = solve_phase_one(1.0, 0.8, n, s2, 2.0, 2.0).omega
    assert abs(w1 - w2) < 1e-7 * (1 + abs(s1 ** 2 - s2 ** 2))
    assert abs(w1 - 1.0) > 1e-4  # while the 1/n effect itself is visible (4.9e-4)


@settings(max_examples=25, deadline=None)
@given(p1=st.floats(0.05, 0.95), p2=st.floats(0.05, 0.95), t=st.floats(1.0001, 2.0),
       n=st.one_of(st.integers(2, 5000).map(float), st.just(math.inf)))
def test_phase_two_does_not_see_p(p1, p2, t, n):
    # through the exact theory, which receives p as the realised class count n_plus = round(p n)
    r1 = learned_parameters(Problem.dilated(p=p1, n=n), t)
    r2 = learned_parameters(Problem.dilated(p=p2, n=n), t)
    assert (r1.c, r1.m) == pytest.approx((r2.c, r2.m), rel=1e-12, abs=1e-14)


def test_bad_times():
    with pytest.raises(ValueError, match="t must lie"):
        learned_parameters(AUTHORS, -0.1)
    with pytest.raises(ValueError, match="t must lie"):
        learned_parameters(Problem.undilated(), 1.5)
    with pytest.raises(ValueError, match="t must lie"):
        learned_curve(AUTHORS, [0.5, 2.1])
