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
from flowphase.validation.tolerances import loglog_slope, slope_ok

#: accuracy of a converged solve (the exact solver stops at |grad E|/n <= 1e-10; Newton converges quadratically)
TOL_SOLVER = 1e-9
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


def test_phase_one_sigma_dependence_vanishes_like_one_over_n_in_the_exact_theory():
    """PAPER §3.1 / §8 row 21 ("phase 1 does not see sigma") through code that receives sigma: the exact
    finite-n potential (EXACT_FINITE_N).  The sigma = 1.5 vs 0.5 gap of the phase-1 omega, b at t = 0.5 falls
    like 1/n (measured b gap 0.029, 0.0084, 0.0022, 0.00057 at n = 64 ... 4096), while phase 2 sees sigma at O(1)."""
    ns = (64, 256, 1024, 4096)
    gaps = {"omega": [], "b": []}
    for n in ns:
        r = {s: learned_parameters(Problem.dilated(n=n, sigma=s), 0.5, "exact") for s in (0.5, 1.5)}
        for q in gaps:
            gaps[q].append(abs(getattr(r[1.5], q) - getattr(r[0.5], q)))
    for q, g in gaps.items():
        assert slope_ok("phase1_sigma_blind", loglog_slope(ns, g)), (q, g)
        assert g[0] > 1e2 * TOL_SOLVER          # the gap is resolved, not solver noise
    two = {s: learned_parameters(Problem.dilated(n=4096, sigma=s), 1.5, "exact") for s in (0.5, 1.5)}
    assert abs(two[1.5].c - two[0.5].c) > 0.1     # phase 2 (the ridge) does see sigma


@settings(max_examples=8, deadline=None)
@given(s1=st.floats(0.3, 3.0), s2=st.floats(0.3, 3.0))
def test_phase_one_sigma_enters_only_at_order_one_over_n(s1, s2):
    # at finite n sigma enters through (n + sigma^2): the sigma effect on omega is O(1/n^2) relative
    n = 1e5
    w1 = solve_phase_one(1.0, 0.8, n, sigma=s1, lam_u=2.0, lam_w=2.0).omega
    w2 = solve_phase_one(1.0, 0.8, n, sigma=s2, lam_u=2.0, lam_w=2.0).omega
    assert abs(w1 - w2) < 1e-7 * (1 + abs(s1 ** 2 - s2 ** 2))
    assert abs(w1 - 1.0) > 1e-4  # while the 1/n effect itself is visible (4.9e-4)


def test_phase_two_p_dependence_vanishes_like_one_over_d_while_phase_one_sees_p():
    """PAPER §3.3 / §8 row 20 ("phase 2 does not see p") through the exact finite-d potential, which receives p
    as the class counts n_plus = round(p n): the p = 0.6 vs 0.9 gap of phase-2 c, m at t = 1.5 (n = 64) falls like
    1/d (measured in m: 1.8e-3, 1.9e-4, 1.5e-5 at d = 1e3, 1e4, 1e5), the phase-1 omega gap stays ~0.12."""
    ds = (1e3, 1e4, 1e5)
    gaps = {"c": [], "m": []}
    for d in ds:
        r = {p: learned_parameters(Problem.dilated(n=64, p=p), 1.5, "exact", d=d) for p in (0.6, 0.9)}
        for q in gaps:
            gaps[q].append(abs(getattr(r[0.9], q) - getattr(r[0.6], q)))
        one = {p: learned_parameters(Problem.dilated(n=64, p=p), 0.5, "exact", d=d) for p in (0.6, 0.9)}
        assert abs(one[0.9].omega - one[0.6].omega) > 0.1
    for q, g in gaps.items():
        assert slope_ok("phase2_p_gap_exact", loglog_slope(ds, g)), (q, g)
    # at d = inf the phase-2 values of the two p agree to solver tolerance
    inf = {p: learned_parameters(Problem.dilated(n=64, p=p), 1.5, "exact") for p in (0.6, 0.9)}
    assert abs(inf[0.9].m - inf[0.6].m) <= TOL_SOLVER and abs(inf[0.9].c - inf[0.6].c) <= TOL_SOLVER


def test_bad_times():
    with pytest.raises(ValueError, match="t must lie"):
        learned_parameters(AUTHORS, -0.1)
    with pytest.raises(ValueError, match="t must lie"):
        learned_parameters(Problem.undilated(), 1.5)
    with pytest.raises(ValueError, match="t must lie"):
        learned_curve(AUTHORS, [0.5, 2.1])
