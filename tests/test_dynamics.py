"""Tests of the overlap dynamics (issue 7): derivation, integrator, fixed points, simulation agreement."""
import math

import numpy as np
import pytest
from scipy import integrate, optimize

from flowphase.numerics import _generated_dynamics as _gen
from flowphase.numerics import dynamics as D
from flowphase.numerics.results import ConvergenceError
from flowphase.theory import dynamics as T
from flowphase.theory.closed_forms import phase_one_population, phase_two_ridge
from flowphase.theory.problem import Problem, weight_decay_to_lambda
from flowphase.numerics.dynamics.payload import dynamics_payload
from flowphase.validation.dynamics_compare import TOL_FLOW, TOL_GD_MAP, simulate_gd_overlaps
from flowphase.validation.tolerances import allowed_deviation, loglog_slope, slope_ok

NQ = 121  # trapezoid nodes (h = 0.15: error ~1e-13 at sd = 2) -- keeps NUMBA_DISABLE_JIT runs fast
KEYS = ("c", "b", "m", "omega", "q", "r")


# ----------------------------------------------------------------------------- derivation
def test_parameter_record_round_trips_and_names_the_generated_layout():
    par = D.dynamics_params(Problem.dilated(n=64, d=500), 0.7, rho=3.0, n_quad=NQ, sgd=0.25)
    again = D.DynamicsParams.from_array(par.to_array())
    assert again._replace(nodes=None, weights=None) == par._replace(nodes=None, weights=None)
    np.testing.assert_array_equal(again.nodes, par.nodes)
    np.testing.assert_array_equal(again.weights, par.weights)
    assert par.rho_c == par.rho_b == 3.0 and par.sgd == 0.25 and par.inv_sqrt_n == pytest.approx(1 / 8)
    assert tuple(str(s) for s in T.PARAMS) == D.DynamicsParams._fields[:len(T.PARAMS)]
    assert par.weights.sum() == pytest.approx(1.0, abs=1e-15) and par.nodes[0] == -9.0


def test_loss_reduces_to_the_paper_phase_limits():
    L = T.overlap_loss()
    # phase 2 saturated (Ms = M2 = 1), n = inf: quadratic ridge loss of PAPER §3.3, minimum = m(t') sigma^2...
    tp, s2 = 0.3, 1.7
    sub = {T.Ms: 1, T.M2: 1, T.alpha2: (1 - tp) ** 2, T.beta: tp, T.sig2: s2, T.inv_sqrt_n: 0, T.a: 0}
    c_star = tp * s2 / ((1 - tp) ** 2 + tp ** 2 * s2)
    m_star = 1 - c_star * tp
    val = float(L.subs(sub).subs({T.c: c_star, T.m: m_star, T.q: m_star ** 2}))
    # Bayes MSE of the linear-Gaussian part (PAPER §4 phase 2): sigma^2 (1-t')^2 / ((1-t')^2 + t'^2 sigma^2)
    assert val == pytest.approx(s2 * (1 - tp) ** 2 / ((1 - tp) ** 2 + tp ** 2 * s2), rel=1e-12)


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("b,om,r,k,gam,p", [(0.3, 0.7, 0.9, 1.2, 1.0, 0.8), (-0.5, 1.5, 2.5, 2.0, 0.7, 0.6)])
def test_kernels_against_scipy_quad_and_finite_differences(b, om, r, k, gam, p):
    kin = D.gaussian_kernels(b, om, r, k, p, gam=gam, n_quad=NQ)

    def E(f, bb, oo, rr):
        tot = 0.0
        for s, ps in ((1.0, p), (-1.0, 1 - p)):
            g = lambda z: f(bb + oo * k * s + math.sqrt(gam * rr) * z, s) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
            tot += ps * integrate.quad(g, -12, 12, epsabs=1e-13, epsrel=1e-13, limit=200)[0]
        return tot

    Ms = lambda bb, oo, rr: E(lambda z, s: s * math.tanh(z), bb, oo, rr)
    M2 = lambda bb, oo, rr: E(lambda z, s: math.tanh(z) ** 2, bb, oo, rr)
    h = 1e-4
    ref = [Ms(b, om, r), (Ms(b + h, om, r) - Ms(b - h, om, r)) / (2 * h),
           (Ms(b, om + h, r) - Ms(b, om - h, r)) / (2 * h), (Ms(b, om, r + h) - Ms(b, om, r - h)) / (2 * h),
           M2(b, om, r), (M2(b + h, om, r) - M2(b - h, om, r)) / (2 * h),
           (M2(b, om + h, r) - M2(b, om - h, r)) / (2 * h), (M2(b, om, r + h) - M2(b, om, r - h)) / (2 * h),
           E(lambda z, s: (1 - math.tanh(z) ** 2) ** 2, b, om, r),
           E(lambda z, s: s * math.tanh(z) * (1 - math.tanh(z) ** 2) ** 2, b, om, r),
           E(lambda z, s: math.tanh(z) ** 2 * (1 - math.tanh(z) ** 2) ** 2, b, om, r)]
    np.testing.assert_allclose(kin, ref, atol=2e-8)


# ----------------------------------------------------------------------------- gradient-flow structure
def _grad_norm2(problem, t, y, rho):
    """|ds(params)/ds|^2 of the microscopic flow = -dLbar/ds, from dLbar/d(overlaps) (chain rule by hand)."""
    par = D.dynamics_params(problem, t, rho=rho, n_quad=NQ).to_array()
    kin = np.empty(11)
    D.kernels_from_params(y, par, kin)
    g = np.empty(8)
    _gen.loss_grad(y, kin, par[:9], g)
    Lc, Lb, Lm, La, Lq, Lo, Lr, Lv = g
    c, b, m, a, q, om, r, v = y
    gu2 = Lm ** 2 + La ** 2 + 4 * Lq * (m * Lm + a * La) + 4 * q * Lq ** 2
    gw2 = Lo ** 2 + 4 * Lr * om * Lo + 4 * r * Lr ** 2
    return rho * Lc ** 2 + rho * Lb ** 2 + gu2 + gw2


@pytest.mark.parametrize("t,n,rho", [(0.5, math.inf, 1.0), (0.8, 64, 3.0), (1.4, 64, 1.0)])
def test_loss_decreases_at_the_gradient_flow_rate(t, n, rho):
    problem = Problem.dilated(n=n, lam_u=2.0, lam_w=1.0, d=2000)
    y = np.array([0.3, 0.4, 0.5, 0.05, 0.6, 0.7, 0.8, 0.2])
    tr = D.integrate_overlaps(problem, t, y, [0.0, 1e-4, 2e-4], rho=rho, n_quad=NQ, rtol=1e-12, atol=1e-14)
    L = [D.overlap_loss(problem, t, tr.value[i], n_quad=NQ) for i in range(3)]
    dLds = (L[2] - L[0]) / 2e-4
    assert dLds == pytest.approx(-_grad_norm2(problem, t, tr.value[1], rho), rel=1e-6)


def test_gd_map_converges_to_the_flow_at_first_order():
    problem = Problem.dilated()
    y0 = D.initial_overlaps("random", problem, 0.5, seed=3)
    flow = D.integrate_overlaps(problem, 0.5, y0, [0.0, 2.0], n_quad=NQ).value[-1]
    errs = [np.max(np.abs(D.iterate_gd_map(problem, 0.5, y0, eta, int(round(2.0 / eta)), n_quad=NQ).value[-1] - flow))
            for eta in (0.02, 0.01)]
    assert errs[0] / errs[1] == pytest.approx(2.0, rel=0.1)


# ----------------------------------------------------------------------------- stationary points
@pytest.mark.parametrize("t", [0.25, 0.75])
def test_phase_one_population_fixed_point(t):
    problem = Problem.dilated(kappa=2.0, p=0.8)
    st = D.stationary_point(problem, t, y0=D.initial_overlaps("small", problem, t), tol=1e-9, n_quad=NQ)
    ref = phase_one_population(2.0, t, 0.8)
    for k in ("c", "m", "omega", "b", "q", "r"):
        assert st.value[k] == pytest.approx(ref[k], abs=2e-7), k
    assert st.value["v"] == pytest.approx(ref["omega"], abs=2e-7)     # u, w both along mu


@pytest.mark.parametrize("n", [math.inf, 128])
def test_phase_two_fixed_point_is_the_ridge(n):
    problem = Problem.dilated(n=n, lam_u=2.0, lam_w=2.0, sigma=1.3)
    t = 1.6
    y0 = dict(D.initial_overlaps("small", problem, t), omega=0.05)
    st = D.stationary_point(problem, t, y0=y0, tol=1e-10, n_quad=NQ)
    ref = phase_two_ridge(0.6, n, 1.3, 2.0, "fresh")
    assert st.value["c"] == pytest.approx(ref["c"], rel=1e-8)
    assert st.value["m"] == pytest.approx(ref["m"], rel=1e-8)
    assert st.value["q_eta"] == pytest.approx(ref["q_eta"], rel=1e-6, abs=1e-12)


def test_phase_one_finite_n_fixed_point_minimises_the_effective_potential():
    n, lu, lw, t, kappa, p = 128, 2.0, 2.0, 0.5, 2.0, 0.8
    x, w = np.polynomial.hermite_e.hermegauss(150)
    w = w / math.sqrt(2 * math.pi)

    def moments(om, b):
        ms = m2 = 0.0
        for s, ps in ((1, p), (-1, 1 - p)):
            ph = np.tanh(b + om * (x + kappa * t * s))
            ms += ps * s * np.dot(w, ph)
            m2 += ps * np.dot(w, ph * ph)
        return ms, m2

    def E(z):  # PAPER §3.2 effective potential
        ms, m2 = moments(*z)
        return -n * (n + 1.0) * ms ** 2 / (lu + n * m2) + lw * z[0] ** 2

    opt = optimize.minimize(E, [kappa * t, 0.69], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
    ms, m2 = moments(*opt.x)
    problem = Problem.dilated(n=n, lam_u=lu, lam_w=lw, kappa=kappa, p=p)
    st = D.stationary_point(problem, t, y0=D.initial_overlaps("small", problem, t), tol=1e-10, n_quad=NQ).value
    assert st["omega"] == pytest.approx(opt.x[0], abs=2e-5)
    assert st["b"] == pytest.approx(opt.x[1], abs=2e-5)
    assert st["m"] == pytest.approx(n * ms / (lu + n * m2), abs=2e-5)
    assert st["q_eta"] == pytest.approx(ms / (lu + n * m2), abs=1e-6)
    assert st["r"] == pytest.approx(st["omega"] ** 2, abs=1e-8)


def test_convergence_time_matches_the_slowest_linear_mode():
    problem = Problem.dilated()
    t = 0.5
    ystar = np.array([0.0, problem.h, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    par = D.dynamics_params(problem, t, n_quad=NQ).to_array()

    def f(y):
        out = np.empty(8)
        D.overlap_rhs(0.0, y, np.zeros(1), np.zeros((1, 1)), par, out)
        return out

    J = np.column_stack([(f(ystar + 1e-6 * e) - f(ystar - 1e-6 * e)) / 2e-6 for e in np.eye(8)])
    lam_slow = -np.max(np.linalg.eigvals(J).real)
    y0 = dict(c=0.1, b=0.5, m=0.9, a=0.0, q=0.85, omega=1.2, r=1.5, v=1.0)
    r4 = D.convergence_time(problem, t, y0, target=1.0, tol=1e-4, n_quad=NQ)
    r6 = D.convergence_time(problem, t, y0, target=1.0, tol=1e-6, n_quad=NQ)
    assert r4.converged and r6.converged and r4.residual < 1e-4 and r6.residual < 1e-6 and r6.iterations > 0
    # asymptotically |omega - 1| ~ C exp(-lam_slow s): two tolerances differ by ln(100) / lam_slow
    assert r6.value - r4.value == pytest.approx(math.log(100.0) / lam_slow, rel=2e-2)


# ----------------------------------------------------------------------------- finite-d simulation


@pytest.mark.parametrize("t,init,steps,batch,eta", [
    (0.5, "random", 100, 128, 0.04),
    (0.5, "small", 150, 512, 0.04),
    (1.5, "small", 200, 128, 0.01),
    (1.5, "random", 200, 128, 0.01),
])
def test_ode_follows_finite_d_gradient_descent_at_d2000(t, init, steps, batch, eta):
    d = 2000
    problem = Problem.dilated()
    sim = simulate_gd_overlaps(problem, t, d, steps, eta=eta, init=init, scale=0.1, seed=1, batch=batch,
                               record_every=5)
    y0 = np.array([sim[k][0] for k in D.STATE_NAMES])
    pd = problem.replace(d=d)
    sgd = eta * d / batch
    gd = D.iterate_gd_map(pd, t, y0, eta, steps, record_every=5, sgd=sgd).as_dict()
    flow = D.integrate_overlaps(pd, t, y0, sim["s"], sgd=sgd).as_dict()
    for k in KEYS:
        assert np.max(np.abs(gd[k] - sim[k])) < TOL_GD_MAP[k], k
        assert np.max(np.abs(flow[k] - sim[k])) < TOL_FLOW, k
    # the run really moved (not a trivially constant trajectory)
    assert abs(sim["m"][-1] - sim["m"][0]) > 0.3
    if t <= 1.0:
        # phase 1: dropping the finite-batch noise term (the wrong implementation) fails both checks
        # (measured max |GD map - sim| 0.13 / 0.06 in b, 0.52 / 0.22 in r for batch 128 / 512)
        gd0 = D.iterate_gd_map(pd, t, y0, eta, steps, record_every=5, sgd=0.0).as_dict()
        flow0 = D.integrate_overlaps(pd, t, y0, sim["s"], sgd=0.0).as_dict()
        assert any(np.max(np.abs(gd0[k] - sim[k])) >= TOL_GD_MAP[k] for k in KEYS)
        assert any(np.max(np.abs(flow0[k] - sim[k])) >= TOL_FLOW for k in KEYS)


def test_agreement_with_the_d_infinity_ode_improves_with_d():
    problem = Problem.dilated()
    devs = []
    ds = (250, 500, 1000, 2000)
    for d in ds:
        dev = []
        for seed in (1, 2):
            sim = simulate_gd_overlaps(problem, 0.5, d, 60, eta=0.04, init="random", seed=seed, batch=128,
                                       record_every=5)
            y0 = np.array([sim[k][0] for k in D.STATE_NAMES])
            gd = D.iterate_gd_map(problem, 0.5, y0, 0.04, 60, record_every=5, d=math.inf, n_quad=NQ,
                                  sgd=0.04 * d / 128).as_dict()
            dev.append(max(np.max(np.abs(gd[k] - sim[k])) for k in ("c", "m", "omega", "b")))
        devs.append(np.mean(dev))
    slope = loglog_slope(ds, devs)
    assert slope_ok("phase1_d_scaling", slope), (devs, slope)     # O(1/sqrt(d)) finite-size corrections


# ----------------------------------------------------------------------------- the authors' setting
def test_authors_random_init_does_not_converge_in_their_epochs():
    """PAPER §2.2, §7.2-7.3: random init, weight decay 1e-5 (lambda = 2), Adam lr 1e-4, 40 000 epochs:
    their sqrt(r) ~ 0.8 with omega ~ 0 at small t.  The ODE on the noise-dominated Adam clock of w
    leaves r - omega^2 between 0.25 and 0.8 after 40 000 epochs, and needs > 1e5 epochs to reach 1e-2."""
    lam = weight_decay_to_lambda(1e-5, 5000, 80)
    assert lam == pytest.approx(2.0)
    problem = Problem.dilated(n=128, lam_u=lam, lam_w=lam, d=5000)
    s = np.concatenate([[0.0], np.geomspace(1e-3, 300.0, 240)])
    t = 0.25
    for seed in (0, 1):
        y0 = D.initial_overlaps("random", problem, t, seed=seed)
        tr = D.integrate_overlaps(problem, t, y0, s, d=math.inf, n_quad=NQ)
        ep = D.adam_epochs(problem, t, tr, lr=1e-4, rows=128)
        y = tr.as_dict()
        rperp = y["r"] - y["omega"] ** 2
        at40k = float(np.interp(40000.0, ep, rperp))
        assert 0.25 < at40k < 0.8
        needed = ep[np.argmax(rperp < 1e-2)]
        assert needed > 1e5
        # under gradient flow itself the orthogonal part dies within O(10) ODE time units
        assert rperp[np.searchsorted(s, 30.0)] < 1e-2
    # at t = 1 the authors' dots read omega ~ 0.55-0.6 and sqrt(r) ~ 0.9 (PAPER §5 Figure A table)
    for seed in (0, 1):
        y0 = D.initial_overlaps("random", problem, 1.0, seed=seed)
        tr = D.integrate_overlaps(problem, 1.0, y0, s, d=math.inf, n_quad=NQ)
        ep = D.adam_epochs(problem, 1.0, tr, lr=1e-4, rows=128)
        y = tr.as_dict()
        om = abs(float(np.interp(40000.0, ep, y["omega"])))
        sr = math.sqrt(float(np.interp(40000.0, ep, y["r"])))
        assert 0.4 < om < 0.7
        assert 0.65 < sr < 0.95


# ----------------------------------------------------------------------------- API and CLI payload
def test_ode_time_per_step_conventions():
    assert T.ode_time_per_step(1e-4, 128, 5000, "authors", 80) == pytest.approx(1e-4 * 128 / (5000 * 80))
    assert T.ode_time_per_step(0.1, 128, 1000, "theory") == pytest.approx(0.0128)
    assert T.ode_time_per_step(0.1, math.inf, 1000, "mean") == pytest.approx(1e-4)
    assert T.ode_time_per_step(0.05, math.inf, 1000, "balanced") == 0.05
    with pytest.raises(ValueError, match="loss"):
        T.ode_time_per_step(0.1, 10, 10, "adam")
    with pytest.raises(ValueError, match="lr"):
        T.ode_time_per_step(-1.0, 10, 10)


def test_dynamics_payload_and_errors():
    out = dynamics_payload({"t": 0.5, "epochs": 400, "init": "informed", "lr": 0.05, "points": 11})
    for k in ("epochs", "c", "m", "omega", "b", "r", "q"):
        assert len(out[k]) == 11
    # informed start is the population fixed point: it stays there
    assert out["omega"][-1] == pytest.approx(1.0, abs=1e-9)
    assert out["b"][-1] == pytest.approx(math.atanh(0.6), abs=1e-9)
    adam = dynamics_payload({"t": 1.0, "epochs": 40000, "init": "random", "d": 5000, "n": 128, "lam_u": 2,
                            "lam_w": 2, "convention": "adam", "lr": 1e-4, "points": 3})
    assert adam["epochs"] == [0.0, 20000.0, 40000.0]
    assert 0.4 < adam["omega"][-1] < 0.7           # PAPER §5 Figure A dots at t = 1: omega ~ 0.55
    with pytest.raises(ValueError, match="init"):
        dynamics_payload({"t": 0.5, "epochs": 10, "init": "zeros"})
    with pytest.raises(ValueError, match="convention"):
        dynamics_payload({"t": 0.5, "epochs": 10, "convention": "sgd"})
    with pytest.raises(ValueError, match="epochs"):
        dynamics_payload({"t": 0.5, "epochs": -1})
    with pytest.raises(ValueError, match="finite d"):
        dynamics_payload({"t": 0.5, "epochs": 10, "convention": "authors"})


def test_bad_inputs_raise():
    problem = Problem.dilated()
    with pytest.raises(ValueError, match="y0"):
        D.integrate_overlaps(problem, 0.5, [0.0] * 7, [0.0, 1.0])
    with pytest.raises(ValueError, match="Cauchy"):
        D.integrate_overlaps(problem, 0.5, {"c": 0, "b": 0, "m": 2, "q": 1, "omega": 0, "r": 1}, [0.0, 1.0])
    with pytest.raises(ValueError, match="omega"):
        D.integrate_overlaps(problem, 1.5, {"c": 0, "b": 0, "m": 0, "q": 1, "omega": 0, "r": 1}, [0.0, 1.0])
    with pytest.raises(ValueError, match="noise"):
        D.dynamics_params(Problem.dilated(n=10, noise="fixed"), 0.5)
    with pytest.raises(ValueError, match="rho"):
        D.dynamics_params(problem, 0.5, rho=0.0)
    with pytest.raises(ConvergenceError):
        D.convergence_time(problem, 0.5, D.initial_overlaps("random", problem, 0.5), target=5.0, s_max=20.0,
                           n_quad=NQ)
    quiet = D.convergence_time(problem, 0.5, D.initial_overlaps("random", problem, 0.5), target=5.0, s_max=20.0,
                               n_quad=NQ, throw=False)
    assert not quiet.converged and math.isnan(quiet.value) and quiet.residual > 1e-3


def test_ode_follows_the_project_simulator_finite_n():
    """Finite n = 128 (memorisation overlap of PAPER §3.2), the project simulator's preconditioned GD."""
    from flowphase.validation.dynamics_compare import compare_with_simulator

    problem = Problem.dilated(n=128, lam_u=2.0, lam_w=2.0)
    tol = allowed_deviation("dynamics_simulator_finite_n", 0.0)
    res = compare_with_simulator(problem, 0.5, 2000, 120, lr=0.02, init="random", draws=2, record_every=10,
                                 backend="numpy")
    for k in KEYS:
        assert res["max_dev"][k] <= tol, (k, res["max_dev"])      # measured max 0.011 (omega)
    assert res["sim"]["omega"][-1] > 0.3                     # it moved
    # the wrong implementation (finite-batch noise term dropped) fails: r is off by 0.038
    wrong = compare_with_simulator(problem, 0.5, 2000, 120, lr=0.02, init="random", draws=2, record_every=10,
                                   backend="numpy", noise_term=False)
    assert max(wrong["max_dev"].values()) > tol, wrong["max_dev"]


@pytest.mark.parametrize("t", [0.3, 0.8, 1.5])
def test_stationary_points_are_the_theory_issue_learned_parameters(t):
    from flowphase.numerics.learned import learned_parameters

    problem = Problem.dilated(n=128, lam_u=2.0, lam_w=2.0)
    ref = learned_parameters(problem, t, "paper").value     # these ODEs live in the paper's coordinates
    y0 = dict(D.initial_overlaps("small", problem, t), omega=0.05)
    st = D.stationary_point(problem, t, y0=y0, tol=1e-10, n_quad=NQ).value
    keys = ("c", "m", "q_eta", "omega", "b") if t <= 1 else ("c", "m", "q_eta")
    for k in keys:
        assert st[k] == pytest.approx(ref[k], abs=1e-5), (k, st[k], ref[k])
    assert math.sqrt(st["q"]) == pytest.approx(ref["sqrt_q"], abs=1e-5)


def test_adam_clock_follows_an_adam_simulation_of_the_encoder():
    """Closest testable Adam claim: noise-dominated Adam moves w like SGD with step lr / sigma_w
    (adam_epochs).  Against the project simulator's Adam (d = 1000, n = 64, one fresh noise per point,
    lr 1e-3, random init, t = 0.5), the encoder overlaps omega, r and r - omega^2 follow the ODE on that
    clock within 0.06 over 4000 epochs (u, c, b run on their own Adam clocks and are not compared)."""
    from flowphase.validation.simulator import simulate

    d, n, lr, epochs, t = 1000, 64, 1e-3, 4000, 0.5
    problem = Problem.dilated(n=n, lam_u=2.0, lam_w=2.0)
    res = simulate(problem, d=d, ts=[t], seeds=[0], epochs=epochs, optimizer="adam", lr=lr, lr_final=lr, draws=1,
                   labels="exact", init="random", record_every=200, keep_params=False, progress=False,
                   backend="numpy")
    h = np.asarray(res.history)[0, 0]
    steps = np.asarray(res.record_steps, dtype=float)
    y0 = {"c": h[0, 0], "m": h[0, 1], "omega": h[0, 2], "b": h[0, 3], "q": max(h[0, 4] ** 2, h[0, 1] ** 2),
          "r": max(h[0, 5] ** 2, h[0, 2] ** 2), "a": 0.0, "v": h[0, 1] * h[0, 2]}
    pd = problem.replace(d=d)
    s = np.concatenate([[0.0], np.geomspace(1e-4, 100.0, 400)])
    tr = D.integrate_overlaps(pd, t, y0, s, n_quad=NQ)
    ep = D.adam_epochs(pd, t, tr, lr, n)
    y = tr.as_dict()
    om = np.abs(np.interp(steps, ep, y["omega"]))
    r = np.interp(steps, ep, y["r"])
    tol = allowed_deviation("dynamics_adam_clock", 0.0)
    assert np.max(np.abs(om - np.abs(h[:, 2]))) < tol
    assert np.max(np.abs(r - h[:, 5] ** 2)) < tol
    assert np.max(np.abs((r - om ** 2) - (h[:, 5] ** 2 - h[:, 2] ** 2))) < tol
    assert h[-1, 5] ** 2 - h[-1, 2] ** 2 < 0.5 * h[0, 5] ** 2           # the orthogonal part did move


def test_cli_payload_lives_in_validation_and_problem_keys_in_theory():
    from flowphase.theory.records import problem_from_keys

    assert not any(hasattr(D, k) for k in ("dynamics_json", "problem_from_args"))   # no CLI code in numerics
    pr = problem_from_keys({"p": 0.7, "n": "inf", "d": 1000.0, "lam_u": None, "sigma": 2})
    assert pr.p == 0.7 and math.isinf(pr.n) and pr.d == 1000 and pr.sigma == 2.0
    assert pr.training.lam_u == Problem.dilated().training.lam_u
