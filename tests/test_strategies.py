"""The theory strategies reproduce the numbers of the functions they replaced.

Reference values: the learned curves of problem A below, recorded with the code before the strategies existed
(``learned_curve(problem, TS, theory)`` at the problem's d = inf and d = 1000).  The paper's ansatz is the
same arithmetic and must agree bitwise; the exact theory's Newton solver has since changed within its tolerance,
so it is compared at 1e-9 relative.  The dynamics and the generated distribution are compared bitwise with the
low-level functions the strategies call.
"""
import math
import os

import numpy as np
import pytest

from flowphase.numerics.learned import learned_curve, learned_parameters
from flowphase.numerics.theories import (Adam, ExactFiniteN, GradientDescent, GradientFlow, PaperAnsatz,
                                         default_theory, theory_from_name)
from flowphase.theory.problem import Problem
from flowphase.theory.records import OVERLAP_NAMES

nan = math.nan
#: the recorded values come from the compiled kernels; the pure-Python path (NUMBA_DISABLE_JIT=1) rounds differently
JIT = os.environ.get("NUMBA_DISABLE_JIT", "0") in ("", "0")
A = dict(p=0.8, sigma=1.0, kappa=2.0, n=128, lam_u=2.0, lam_w=2.0)
TS = np.array([0.1, 0.35, 0.6, 0.85, 1.0, 1.2, 1.5, 1.9])
REF = {
    ('paper', math.inf): {
        'c': [0.0, 0.0, 0.0, 0.0, 0.0, 0.29624604251469916, 1.003831417624521, 1.0976631598547621],
        'm': [0.7651757005645862, 0.9858587594996998, 1.0311805517132704, 1.0355552716140723, 1.0318655623552915,
              0.9262777023971055, 0.4904214559386973, 0.011916953728703121],
        'omega': [0.3281617290292966, 0.6552594529518077, 0.9110319775751731, 1.013472583092528, 1.0011884022528672,
                  nan, nan, nan],
        'b': [1.0593677529239562, 0.677462860051585, 0.5605733057839771, 0.4571761117563663, 0.39773762320673367,
              nan, nan, nan],
        'sqrt_q': [0.7681588530108818, 0.9897022780117665, 1.035200764042473, 1.039592539446167, 1.0358884453014137,
                   0.9298889352052255, 0.4923334376769045, 0.011963413763492442],
        'sqrt_r': [0.3281617290292966, 0.6552594529518077, 0.9110319775751731, 1.013472583092528, 1.0011884022528672,
                   nan, nan, nan],
    },
    ('paper', 1000): {
        'c': [0.0, 0.0, 0.0, 0.0, 0.0, 0.4041114188130156, 1.0625541179850764, 1.091783263866398],
        'm': [0.7651757005645862, 0.9858587594996998, 1.0311805517132704, 1.0355552716140723, 1.0318655623552915,
              0.884904483491934, 0.42842784443787885, 0.010328633964407205],
        'omega': [0.3281617290292966, 0.6552594529518077, 0.9110319775751731, 1.013472583092528, 1.0011884022528672,
                  nan, nan, nan],
        'b': [1.0593677529239562, 0.677462860051585, 0.5605733057839771, 0.4571761117563663, 0.39773762320673367,
              nan, nan, nan],
        'sqrt_q': [0.7681588530108818, 0.9897022780117665, 1.035200764042473, 1.039592539446167, 1.0358884453014137,
                   0.8883544165892855, 0.43009813476630016, 0.010368901695929625],
        'sqrt_r': [0.3281617290292966, 0.6552594529518077, 0.9110319775751731, 1.013472583092528, 1.0011884022528672,
                   nan, nan, nan],
    },
    ('exact', math.inf): {
        'c': [0.0, 0.0, 0.0, 0.0, 0.0, 0.2962460425146991, 1.003831417624521, 1.0976631598547628],
        'm': [0.7592663275311273, 0.9854712682464184, 1.0316236588664742, 1.0356767600381875, 1.0318392453686505,
              0.9262777023971054, 0.4904214559386973, 0.0119169537287026],
        'omega': [0.3263207519662336, 0.6518957310783128, 0.9074937698147776, 1.0083755629763873, 0.9947445490255521,
                  nan, nan, nan],
        'b': [1.0561916101135054, 0.6747800146205113, 0.5614205026404805, 0.46233361776468745, 0.4051368269568314,
              nan, nan, nan],
        'sqrt_q': [0.7670283575086074, 0.9909499005168375, 1.035927293797054, 1.0397626447364554, 1.0358798629836334,
                   0.9298889352052254, 0.4923334376769045, 0.011963413763491916],
        'sqrt_r': [0.32828360125823497, 0.6558169437701069, 0.9129524281834029, 1.0144410345956274,
                   1.000728028844142, nan, nan, nan],
    },
    ('exact', 1000): {
        'c': [0.007349789069487802, 0.02385527663917124, 0.04103160780712305, 0.05942252081256052,
              0.07122615399398126, 0.4041111436690613, 1.0628013707637507, 1.0923191353759016],
        'm': [0.760333370788655, 0.9892902206257278, 1.0340333608440717, 1.034514823778206, 1.0282573857217026,
              0.8982070236936329, 0.43476769607240284, 0.01918432140740623],
        'omega': [0.3283093194863718, 0.6718785346560925, 0.9462264110670872, 1.0392946357412156, 1.0084902644393923,
                  0.29786670549180694, 0.13768569361304633, 0.01762322464379012],
        'b': [1.0530920482115382, 0.6675466124499702, 0.5465883284241303, 0.4364166892780539, 0.3742955610502964,
              0.2116091515600131, 0.21287892684557075, 0.04155313174552851],
        'sqrt_q': [0.7681005492930768, 0.9947106930140116, 1.0383070450616636, 1.0385845191344778,
                   1.0322789374823862, 0.9017089429066073, 0.436462764819312, 0.01925929558647931],
        'sqrt_r': [0.3302903553275863, 0.6759279616604953, 0.9519273701074347, 1.0455572109165223,
                   1.0145691371970376, 0.29970899743635526, 0.13854113285398842, 0.01773051892383144],
    },
}
GEN_PAPER = {
    'continuous': [0.8080108509590764, 0.9846153846153847, 1.0076923076923077],
    'euler': [0.8088123239117493, 0.9846153846153847, 1.0076923076923077],
}
GEN_EXACT_EULER = {
    math.inf: [0.8139430219460483, 0.9315521335125627, 0.8040543404014919],
    1000: [0.8176119925084726, 0.9108383315396149, 0.8193966975505828],
}

# jumps of omega on TS_JUMP for (n, p) = (8, 0.8): (t_lo, t_hi, t_star) recorded before the shared bisection
TS_JUMP = np.linspace(0.02, 1.0, 25)
JUMP = {"paper": (0.265, 0.30583333333333335, 0.3054034708005687),
        "exact": (0.265, 0.30583333333333335, 0.30479520872856186)}


def _theory(name, d):
    return PaperAnsatz(d=d) if name == "paper" else ExactFiniteN(d=d)


@pytest.mark.parametrize("name,d", list(REF))
def test_curve_reproduces_the_recorded_values(name, d):
    cur = _theory(name, d).curve(Problem.dilated(**A), TS)
    assert cur.theory == name and cur.d == d
    for k in OVERLAP_NAMES:
        ref = np.array(REF[(name, d)][k])
        if name == "paper" and JIT:
            assert np.array_equal(getattr(cur, k), ref, equal_nan=True), k
        else:
            # |grad E|/n < 1e-10 leaves each minimiser within 2 n tol / lambda_min(Hess E) ~ 1e-8 of the exact one
            np.testing.assert_allclose(getattr(cur, k), ref, rtol=1e-9, atol=2e-8, err_msg=k)
            assert np.array_equal(np.isnan(getattr(cur, k)), np.isnan(ref)), k


@pytest.mark.parametrize("name", ["paper", "exact"])
def test_name_front_is_the_strategy(name):
    """learned_curve / learned_parameters by name (d = the problem's) are the strategy's numbers, bitwise."""
    pr = Problem.dilated(d=1000, **A)
    a = learned_curve(pr, TS, name)
    b = theory_from_name(name, d=1000).curve(Problem.dilated(**A), TS)
    for k in OVERLAP_NAMES + ("q_eta", "a_plus", "z_minus", "residual", "tau"):
        assert np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True), k
    one = learned_parameters(pr, 0.6, name)
    two = _theory(name, 1000).overlaps(pr, 0.6)
    assert one.as_dict() == two.as_dict()
    assert one.d == 1000.0 and one.theory == name


@pytest.mark.parametrize("d", [math.inf, 1000])
def test_exact_strategy_is_the_exact_solver(d):
    from flowphase.numerics.exact import exact_curve, solve_exact

    pr = Problem.dilated(**A)
    low = exact_curve(pr, TS, float(d))
    cur = ExactFiniteN(d=d).curve(pr, TS)
    for k in ("c", "m", "sqrt_q", "a_plus", "a_minus", "tau", "residual"):
        assert np.array_equal(getattr(cur, k), getattr(low, k)), k
    sat = np.array([b == "saturated" for b in low.branch])
    assert sat.any() == math.isinf(d) and np.all(np.isnan(cur.omega[sat]))
    assert np.array_equal(cur.omega[~sat], low.omega[~sat]) and np.array_equal(cur.b[~sat], low.b[~sat])
    if math.isinf(d):
        return
    r = solve_exact(pr, 0.6, float(d), n_plus=102)
    p = ExactFiniteN(d=d, n_plus=102).overlaps(pr, 0.6)
    assert (p.c, p.m, p.omega, p.b, p.sqrt_r, p.n_plus) == (r.c, r.m, r.omega, r.b, r.sqrt_r, 102)


def test_paper_strategy_is_the_phase_one_and_ridge_solvers():
    from flowphase.numerics.phase_one import phase_one_curve
    from flowphase.numerics.phase_two import phase_two_arrays, phase_two_coefficients

    pr = Problem.dilated(d=1000, **A)
    cur = PaperAnsatz(d=1000).curve(pr, TS)
    one, two = TS <= 1.0, TS > 1.0
    low = phase_one_curve(pr, TS[one])
    for k in ("m", "omega", "b", "sqrt_q", "q_eta"):
        assert np.array_equal(getattr(cur, k)[one], getattr(low, k)), k
    _, beta, alpha = phase_two_coefficients(pr, TS[two])
    rows = phase_two_arrays(beta, alpha, 128, 1.0, 2.0, noise="fresh")
    assert np.array_equal(cur.c[two], rows[:, 0]) and np.array_equal(cur.m[two], rows[:, 1])


@pytest.mark.parametrize("name", ["paper", "exact"])
def test_jumps_are_bisected_as_before(name):
    cur = _theory(name, None).curve(Problem.dilated(n=8, p=0.8, kappa=2.0, lam_u=2.0, lam_w=2.0), TS_JUMP)
    assert len(cur.jumps) == 1
    j = cur.jumps[0]
    t_lo, t_hi, t_star = JUMP[name]
    assert (j.t_lo, j.t_hi) == (t_lo, t_hi) and j.branch_before == "trivial" and j.size > 0
    if name == "paper" and JIT:
        assert j.t_star == t_star
    else:
        assert abs(j.t_star - t_star) < 1e-9


@pytest.mark.parametrize("t", [0.5, 1.5])
def test_dynamics_are_the_low_level_integrators(t):
    from flowphase.numerics.dynamics import initial_overlaps, integrate_overlaps, iterate_gd_map
    from flowphase.numerics.exact.dynamics import exact_initial_state, integrate_exact, iterate_exact_gd

    pr = Problem.dilated(**A)
    s = np.linspace(0.0, 20.0, 11)
    y0 = PaperAnsatz().initial_state(pr, t, scale=0.3)
    assert y0 == initial_overlaps("small", pr, t, scale=0.3)
    assert np.array_equal(PaperAnsatz().dynamics(pr, t, s=s, y0=y0).value, integrate_overlaps(pr, t, y0, s).value)
    gd = PaperAnsatz().dynamics(pr, t, s=np.linspace(0.0, 5.0, 6), y0=y0, method=GradientDescent(0.1))
    assert np.array_equal(gd.value, iterate_gd_map(pr, t, y0, 0.1, 50, record_every=10).value)
    assert np.array_equal(gd.s, np.arange(6) * 10 * 0.1)
    fin = PaperAnsatz(d=1000).dynamics(pr, t, s=s, y0=y0)
    assert np.array_equal(fin.value, integrate_overlaps(pr.replace(d=1000), t, y0, s).value)
    e0 = ExactFiniteN().initial_state(pr, t, scale=0.3)
    assert e0 == exact_initial_state("small", pr, t, scale=0.3)
    assert np.array_equal(ExactFiniteN().dynamics(pr, t, s=s, y0=e0).value, integrate_exact(pr, t, e0, s).value)
    assert np.array_equal(ExactFiniteN(d=1000).dynamics(pr, t, s=s, y0=e0).value,
                          integrate_exact(pr, t, e0, s, d=1000.0).value)
    egd = ExactFiniteN().dynamics(pr, t, s=np.linspace(0.0, 5.0, 6), y0=e0, method=GradientDescent(0.1))
    assert np.array_equal(egd.value, iterate_exact_gd(pr, t, e0, 0.1, 50, record_every=10).value)


def test_trajectory_overlaps_from_the_norms():
    """sqrt_q, sqrt_r of a trajectory: |u|^2/d = m^2 + n_+ a_+^2 + n_- a_-^2 + rho_u (exact class coordinates)
    and q (paper coordinates), checked at the initial state against its own definition."""
    pr = Problem.dilated(**A)
    e0 = dict(ExactFiniteN().initial_state(pr, 0.5, scale=0.3), a_plus=0.01, a_minus=-0.02, z_plus=0.03)
    ov = ExactFiniteN().dynamics(pr, 0.5, s=[0.0, 1.0], y0=e0).overlaps()
    assert list(ov) == list(OVERLAP_NAMES)
    npl = round(0.8 * 128)
    assert ov["sqrt_q"][0] == pytest.approx(math.sqrt(e0["m"] ** 2 + npl * 0.01 ** 2 + (128 - npl) * 0.02 ** 2
                                                      + e0["rho_u"]), rel=1e-14)
    assert ov["sqrt_r"][0] == pytest.approx(math.sqrt(e0["omega"] ** 2 + npl * 0.03 ** 2 + e0["rho_w"]), rel=1e-14)
    y0 = PaperAnsatz().initial_state(pr, 0.5, scale=0.3)
    pv = PaperAnsatz().dynamics(pr, 0.5, s=[0.0, 1.0], y0=y0).overlaps()
    assert pv["sqrt_q"][0] == pytest.approx(0.3, rel=1e-14) and pv["sqrt_r"][0] == pytest.approx(0.3, rel=1e-14)


def test_adam_clock_of_the_paper_ansatz():
    """Adam on the paper's ansatz: the flow at the given ODE times, with epochs that increase from 0."""
    pr = Problem.dilated(d=1000, **A)
    y0 = PaperAnsatz().initial_state(pr, 0.5, scale=0.3)
    s = np.linspace(0.0, 5.0, 6)
    tr = PaperAnsatz().dynamics(pr, 0.5, s=s, y0=y0, method=Adam(1e-3, rows=256))
    assert np.array_equal(tr.value, PaperAnsatz().dynamics(pr, 0.5, s=s, y0=y0).value)
    small = PaperAnsatz().dynamics(pr, 0.5, s=s)                    # y0 defaults to the small initialisation
    ref = PaperAnsatz().dynamics(pr, 0.5, s=s, y0=PaperAnsatz().initial_state(pr, 0.5, init="small"))
    assert np.array_equal(small.value, ref.value)
    ep = tr.info["epochs"]
    assert ep[0] == 0.0 and np.all(np.diff(ep) > 0)


def test_adam_of_the_exact_theory_is_the_stochastic_map():
    """Adam in the exact theory: the per-point stochastic map, rows = per-point states, its overlaps derived."""
    from flowphase.numerics.exact.perpoint import perpoint_state
    from flowphase.numerics.exact.stochastic import derived_overlaps, iterate_stochastic

    pr = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, n=8, lam_u=2.0, lam_w=2.0, d=300)
    rng = np.random.default_rng(3)
    labels = np.array([1.0] * 6 + [-1.0] * 2)
    x1 = labels[:, None] + rng.standard_normal((8, 300))
    y0 = perpoint_state(0.1, 0.2, rng.standard_normal(300), rng.standard_normal(300), x1, labels, 1.0)
    tr = ExactFiniteN(d=300).dynamics(pr, 0.5, s=[0, 10, 20], y0=y0, labels=labels, method=Adam(1e-2, draws=0))
    ref = iterate_stochastic(pr, 0.5, y0, labels, 20, lr=1e-2, draws=0, d=300.0, record_every=10)
    assert np.array_equal(tr.value, ref["y"]) and np.array_equal(tr.s, [0.0, 10.0, 20.0])
    assert tr.names[:4] == ("c", "b", "m", "omega") and len(tr.names) == 7 + 16
    assert np.array_equal(tr.value[:, 3], derived_overlaps(ref["y"], 8)["omega"])
    with pytest.raises(ValueError, match="labels"):
        ExactFiniteN(d=300).dynamics(pr, 0.5, s=[0, 10], y0=y0, method=Adam(1e-2))


def test_generated_statistics_are_recorded_values():
    pr = Problem.dilated(**A)
    for sampler, ref in GEN_PAPER.items():
        g = PaperAnsatz().generated(pr, sampler=sampler)
        got = [g.p_hat, g.mean_overlap, g.variance]
        assert (got == ref) if JIT else np.allclose(got, ref, rtol=1e-9, atol=0), sampler


def test_both_theories_return_one_generated_record():
    """One record type; each theory fills the statistics it computes and leaves the others None."""
    from flowphase.numerics.results import GeneratedStatistics

    n, lam = 16, 2.0
    pr = Problem.dilated(n=n, lam_u=lam, lam_w=lam)
    gp = PaperAnsatz().generated(pr, sampler="continuous")
    ge = ExactFiniteN().generated(pr, sampler="continuous", n_times=40)
    assert type(gp) is GeneratedStatistics and type(ge) is GeneratedStatistics
    assert (gp.theory, gp.sampler, ge.theory, ge.sampler) == ("paper", "continuous", "exact", "continuous")
    assert gp.mean_overlap == pytest.approx(n / (n + lam), rel=1e-12)          # closed form R(1) = n/(n + lam_u)
    # the exact flow stops at the last grid time t = 1.95: the ridge mode mean n tau/(n + lam), up to O(1/n)
    assert ge.tau_end == pytest.approx(0.95, abs=1e-12)
    assert ge.mean_overlap == pytest.approx(n * ge.tau_end / (n + lam), abs=3e-3)
    assert gp.mean_plus is None and ge.y1_mean is None and ge.q_plus > 0 > ge.q_minus
    assert set(gp.as_dict()) == {"p_hat", "mean_overlap", "variance", "y1_mean", "y1_prob_positive", "sampler",
                                 "theory", "d"}
    assert gp.value == gp.as_dict() and ge.value == ge.as_dict() and "y1_mean" not in ge.value


@pytest.mark.slow
@pytest.mark.parametrize("d", [math.inf, 1000])
def test_generated_flow_of_the_exact_theory(d):
    g = ExactFiniteN(d=d).generated(Problem.dilated(**A), n_times=40)
    np.testing.assert_allclose([g.p_hat, g.mean_overlap, g.variance], GEN_EXACT_EULER[d], rtol=1e-9)


def test_bad_input_names_the_parameter():
    with pytest.raises(TypeError):
        PaperAnsatz(1000)                                           # keyword-only
    with pytest.raises(ValueError, match="d must be"):
        ExactFiniteN(d=0.5)
    with pytest.raises(ValueError, match="lr"):
        GradientDescent(0.0)
    with pytest.raises(ValueError, match="theory must be"):
        theory_from_name("exactly")
    with pytest.raises(ValueError, match="n_plus"):
        theory_from_name("paper", n_plus=3)
    with pytest.raises(ValueError, match="method"):
        PaperAnsatz().dynamics(Problem.dilated(**A), 0.5, s=[0.0, 1.0], method="gd")
    with pytest.raises(ValueError, match="multiple of lr"):
        PaperAnsatz().dynamics(Problem.dilated(**A), 0.5, s=[0.0, 0.15, 0.3], method=GradientDescent(0.1))
    with pytest.raises(ValueError, match="d -> inf"):
        PaperAnsatz(d=1000).generated(Problem.dilated(**A))
    assert default_theory(Problem.dilated(**A)) == "exact" and default_theory(Problem.dilated()) == "paper"
    assert GradientFlow().solver == "dopri5"


@pytest.mark.parametrize("theory", [PaperAnsatz(), ExactFiniteN()], ids=["paper", "exact"])
def test_dynamics_payload_flows_to_the_theorys_fixed_point(theory):
    """The epoch-clock record of `theory dynamics` ends, after a long run, at the learned overlaps the theory's own
    stationary-point solver finds (two independent computations: ODE integration vs Newton / fixed point)."""
    pr = Problem.dilated(n=32)
    for t, keys in ((0.5, ("c", "m", "omega", "b")), (1.5, ("c", "m"))):
        out = theory.dynamics_payload(pr, t, epochs=20000, init="informed", lr=0.05, points=3)
        ref = theory.overlaps(pr, t)
        assert out["theory"] == theory.name and len(out["epochs"]) == 3 and out["problem"] == pr.to_dict()
        for k in keys:
            assert out[k][-1] == pytest.approx(getattr(ref, k), rel=1e-8, abs=1e-12), (t, k)


def test_dynamics_payload_is_evaluated_at_the_strategys_d():
    from flowphase.numerics.exact.dynamics import exact_dynamics_json
    from flowphase.numerics.dynamics.payload import dynamics_payload

    opts = dict(t=0.5, epochs=50, points=5, convention="mean")
    got = ExactFiniteN(d=1000, n_plus=20).dynamics_payload(Problem.dilated(n=32, d=5000), 0.5, epochs=50, points=5,
                                                           convention="mean")
    assert got == exact_dynamics_json(dict(opts, d=1000, n=32, n_plus=20))
    assert got["n_plus"] == 20 and got["problem"]["d"] == 1000
    got = PaperAnsatz(d=1000).dynamics_payload(Problem.dilated(), 0.5, epochs=50, points=5, convention="mean")
    assert got == dict(dynamics_payload(dict(opts, d=1000)), theory="paper")
    with pytest.raises(ValueError, match="finite d"):
        ExactFiniteN().dynamics_payload(Problem.dilated(n=32, d=1000), 0.5, epochs=50, convention="mean")
    with pytest.raises(ValueError, match="dilated"):
        PaperAnsatz().dynamics_payload(Problem.undilated(), 0.5, epochs=50)
