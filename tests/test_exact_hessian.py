"""The exact solver's symbolic Hessian and its fast paths (EXACT_FINITE_N §2-3).

* gradient and Hessian of the eliminated potential ``E(omega, b, z_plus, z_minus)`` from the generated
  ``exact_outer_derivatives`` (second-order chain rule, implicit-function elimination of the inner y) against
  central finite differences of the compiled potential and against an mpmath potential (28-digit quadrature of
  the class moments, the sympy quadratic form evaluated in mpmath, 28-digit differences);
* the std-adapted moment rule against mpmath quadrature at its stated error;
* the learned curve of ``benchmarks/bench_learned_curve.py`` (both theories, d = inf and d = 1000) against the
  values recorded with the previous solver (finite-difference Hessian, fixed 121-node rule;
  ``tests/data/exact_curve_fd_hessian.npz``): the same branches, the jumps within the bisection tolerance and
  the minimisers within the image of the Newton tolerance ``|grad E|/n < 1e-10`` in theta,
  ``2 n tol / lambda_min(Hess E)``;
* the compiled warm-start continuation gives bitwise the results of the per-time Python path;
* the creep stop (a run heading down the w -> 0 valley above the trivial energy) takes the decision of the full
  Newton run, and the curve of ``benchmarks/bench_exact_curve.py`` is the same with and without it;
* a far start that switches to the moment rule of its current std ends at the minimiser of the fixed-rule run;
* a check run stopped where it joins the continuation's minimiser lies in that minimiser's basin, and the curves
  (both benchmark problems, d = inf and 1000) are bitwise those of checks that polish every run.
"""
import math
import pathlib

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from flowphase.numerics.exact import _kernels as K
from flowphase.numerics.exact import solver as S
from flowphase.numerics.exact._moment_rule import moment_rule
from flowphase.numerics.learned import learned_curve
from flowphase.theory import exact as ex
from flowphase.theory.problem import Problem

DATA = pathlib.Path(__file__).with_name("data") / "exact_curve_fd_hessian.npz"
BENCH = dict(p=0.8, sigma=1.0, kappa=2.0, n=128, lam_u=50.0, lam_w=1.0)
# (prm = alpha, beta, B, inv_sqrt_d, sigma, n_plus, n_minus, lam_u, lam_w; theta = omega, b, z_plus, z_minus)
POINTS = [
    ((0.8, 0.3, 1.7, 0.03, 1.0, 100.0, 28.0, 2.0, 1.5), (1.2, 0.4, 0.05, -0.08)),
    ((1.0, 0.0, 1.4, 0.0, 1.0, 102.0, 26.0, 50.0, 1.0), (0.9, 1.1, 0.02, 0.01)),
    ((0.6, 0.8, 25.0, 1 / math.sqrt(1000), 0.7, 6.0, 2.0, 2.0, 2.0), (0.15, 0.2, -0.3, 0.25)),
]


def _eval(theta, prm):
    theta, prm = np.asarray(theta, float), np.asarray(prm, float)
    std = prm[0] * math.sqrt(theta[0] ** 2 + prm[5] * theta[2] ** 2 + prm[6] * theta[3] ** 2)
    x, w = moment_rule(std)
    g, H, y = np.empty(4), np.empty((4, 4)), np.empty(4)
    E = K.evaluate_hessian(theta, prm, x, w, K.uniform_step(x), g, H, y)
    return E, g, H, y, (x, w)


@pytest.mark.parametrize("prm,theta", POINTS)
def test_gradient_and_hessian_match_finite_differences(prm, theta):
    E, g, H, y, (x, w) = _eval(theta, prm)
    prm, theta = np.asarray(prm), np.asarray(theta)
    # the generated gradient is the hand-written chain rule of `evaluate` (an independent route)
    E0, g0, y0 = K.evaluate(theta, prm, x, w, True)
    assert E == pytest.approx(E0, rel=1e-13)
    np.testing.assert_allclose(g, g0, rtol=1e-11, atol=1e-11 * np.abs(g0).max())
    np.testing.assert_allclose(y, y0, rtol=1e-12, atol=1e-13)
    h = 1e-5
    Hfd = np.empty((4, 4))
    gfd = np.empty(4)
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        Hfd[:, j] = (K.evaluate(theta + e, prm, x, w, True)[1] - K.evaluate(theta - e, prm, x, w, True)[1]) / (2 * h)
        gfd[j] = (K.evaluate(theta + e, prm, x, w, False)[0] - K.evaluate(theta - e, prm, x, w, False)[0]) / (2 * h)
    np.testing.assert_allclose(g, gfd, atol=1e-7 * max(1.0, np.abs(g).max()))
    np.testing.assert_allclose(H, Hfd, atol=1e-7 * np.abs(H).max())
    assert np.array_equal(H, H.T)


def _mp_energy(theta, prm, lam):
    """E(theta) in mpmath: class moments by mp.quad, L/d = y^T H y - 2 g^T y + L0 from the sympy form."""
    alpha, beta, B, isd, sigma, npl, nmi, lam_u, lam_w = [mp.mpf(v) for v in prm]
    om, b, zp, zm = theta
    std = alpha * mp.sqrt(om ** 2 + npl * zp ** 2 + nmi * zm ** 2)
    pdf = lambda g: mp.exp(-g * g / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731

    def moments(mean):
        c = min(max(-mean / std, -9), 9)
        pts = [-mp.inf, c - 3, c, c + 3, mp.inf]
        return (mp.quad(lambda g: mp.tanh(mean + std * g) * pdf(g), pts),
                mp.quad(lambda g: mp.tanh(mean + std * g) ** 2 * pdf(g), pts))

    Mp, Qp = moments(B * (om + sigma * zp) + b)
    Mm, Qm = moments(B * (-om + sigma * zm) + b)
    Hs, gs, L0 = lam(alpha, beta, isd, sigma, npl, nmi, lam_u, lam_w, om, zp, zm, Mp, Mm, Qp, Qm)
    Hm, gm = mp.matrix(Hs), mp.matrix(gs)
    yv = mp.lu_solve(Hm, gm)
    return L0 - sum(gm[i] * yv[i] for i in range(4))


@pytest.mark.parametrize("prm,theta", POINTS[:2])
def test_gradient_and_hessian_match_mpmath(prm, theta):
    Hs, gs, L0 = ex.quadratic_form()
    E_ = ex.SYMBOLS
    args = [E_[k] for k in ("alpha", "beta", "inv_sqrt_d", "sigma", "n_plus", "n_minus", "lam_u", "lam_w", "omega",
                            "z_plus", "z_minus", "M_plus", "M_minus", "Q_plus", "Q_minus")]
    lam = sp.lambdify(args, [Hs.tolist(), [gs[i] for i in range(4)], L0], modules="mpmath")
    E, g, H, _, _ = _eval(theta, prm)
    with mp.workdps(28):                  # differences of step 1e-9: truncation ~1e-18, rounding ~1e-10 |E| / |H|
        th = [mp.mpf(v) for v in theta]
        h = mp.mpf("1e-9")

        def Ef(*shifts):
            t = list(th)
            for i, s in shifts:
                t[i] += s * h
            return _mp_energy(t, prm, lam)

        E0 = Ef()
        gref = [(Ef((i, 1)) - Ef((i, -1))) / (2 * h) for i in range(4)]
        Href = np.empty((4, 4))
        for i in range(4):
            Href[i, i] = float((Ef((i, 1)) - 2 * E0 + Ef((i, -1))) / h ** 2)
            for j in range(i + 1, 4):
                Href[i, j] = Href[j, i] = float((Ef((i, 1), (j, 1)) - Ef((i, 1), (j, -1)) - Ef((i, -1), (j, 1))
                                                 + Ef((i, -1), (j, -1))) / (4 * h * h))
    assert E == pytest.approx(float(E0), rel=1e-13)
    np.testing.assert_allclose(g, [float(v) for v in gref], atol=1e-11 * max(1.0, np.abs(g).max()))
    np.testing.assert_allclose(H, Href, atol=1e-10 * np.abs(Href).max())


@pytest.mark.parametrize("mean,std", [(0.0, 0.2), (0.7, 1.0), (2.0, 1.6), (-1.3, 2.5), (4.0, 3.0)])
def test_moment_rule_error_against_mpmath(mean, std):
    x, w = moment_rule(std)
    out = np.empty(12)
    K.class_moments2(mean, std, x, w, K.uniform_step(x), out)
    tanh_path = np.empty(12)
    K.class_moments2(mean, std, x, w, 0.0, tanh_path)          # math.tanh instead of the geometric sequence
    np.testing.assert_allclose(out, tanh_path, atol=1e-14)
    with mp.workdps(30):
        pdf = lambda g: mp.exp(-g * g / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
        c = min(max(-mean / std, -9), 9)
        pts = [-mp.inf, c - 3, c, c + 3, mp.inf]
        th = lambda g: mp.tanh(mean + std * g)  # noqa: E731
        dp = lambda g: 1 - th(g) ** 2  # noqa: E731
        d2 = lambda g: -2 * th(g) * dp(g)  # noqa: E731
        q1 = lambda g: 2 * th(g) * dp(g)  # noqa: E731
        q2 = lambda g: 2 * dp(g) * (dp(g) - 2 * th(g) ** 2)  # noqa: E731
        fs = (th, dp, lambda g: g * dp(g), d2, lambda g: g * d2(g), lambda g: g * g * d2(g), lambda g: th(g) ** 2,
              q1, lambda g: g * q1(g), q2, lambda g: g * q2(g), lambda g: g * g * q2(g))
        ref = np.array([float(mp.quad(lambda g: f(g) * pdf(g), pts)) for f in fs])
    np.testing.assert_allclose(out, ref, atol=1e-13)


def _newton_residuals(theta0, prm, iters):
    x, w = moment_rule(1.1 * prm[0] * math.sqrt(theta0[0] ** 2 + prm[5] * theta0[2] ** 2 + prm[6] * theta0[3] ** 2))
    return [K.newton_y(theta0, prm, x, w, 0.0, k, 12.0, 1.0, -math.inf, 0.0, 0, theta0, 0.0)[2]
            for k in range(iters)]


def test_newton_converges_quadratically():
    r = S.solve_exact(Problem.dilated(**BENCH), 0.7, starts=[(1.3, 1.0, 0.0, 0.0)])
    assert r.branch == "informative"
    theta0 = np.array([r.omega, r.b, r.z_plus, r.z_minus]) + np.array([2e-2, -3e-2, 1e-3, -1e-3])
    _, alpha, beta, B = S.time_coefficients(Problem.dilated(**BENCH), 0.7)
    prm = S._prm(alpha, beta, B, math.inf, 1.0, r.n_plus, r.n_minus, 50.0, 1.0)
    res = _newton_residuals(theta0, prm, 5)    # measured: 1.5e-2, 2.3e-4, 3.9e-7, 1.2e-12, 1.7e-16
    assert res[0] > 1e-3
    for a, b in zip(res[:3], res[1:4]):
        assert b < 20.0 * a * a          # |grad_{k+1}| = O(|grad_k|^2): the Hessian is the exact one
    assert res[4] < 1e-14


def test_c_is_invariant_under_the_sign_symmetry():
    pr = Problem.dilated(**BENCH)
    r = S.solve_exact(pr, 0.7, starts=[(1.3, 1.0, 0.0, 0.0)])
    m = S.solve_exact(pr, 0.7, starts=[(-1.3, -1.0, 0.0, 0.0)])   # converges to the mirror minimum, reported canonically
    for k in ("c", "m", "a_plus", "a_minus", "omega", "b", "z_plus", "z_minus", "energy"):
        assert getattr(m, k) == pytest.approx(getattr(r, k), rel=1e-8, abs=1e-10), k


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(DATA))


@pytest.mark.parametrize("theory", ["exact", "paper"])
@pytest.mark.parametrize("d", [math.inf, 1000.0])
def test_benchmark_curve_unchanged(reference, theory, d):
    ts = reference["t"]
    pr = Problem.dilated(**BENCH, d=d)
    cur = learned_curve(pr, ts, theory=theory)
    key = f"{theory}_{'inf' if math.isinf(d) else int(d)}"
    assert list(cur.branch) == [str(b) for b in reference[f"{key}_branch"]]
    ref_jumps = reference[f"{key}_jumps"]
    assert len(cur.jumps) == ref_jumps.size
    for j, t_star in zip(cur.jumps, ref_jumps):
        assert abs(j.t_star - t_star) <= 1e-9          # the bisection tolerance
    fields = ("c", "m", "omega", "b", "q_eta", "sqrt_q", "z_plus", "z_minus", "a_plus", "a_minus")
    if theory == "paper":                                # not touched: the same arithmetic
        from numba.core import config as numba_config
        for f in fields:
            if numba_config.DISABLE_JIT:                 # pure Python rounds differently from the compiled kernels
                np.testing.assert_allclose(getattr(cur, f), reference[f"{key}_{f}"], rtol=1e-12, atol=1e-14,
                                           equal_nan=True, err_msg=f)
            else:
                assert np.array_equal(getattr(cur, f), reference[f"{key}_{f}"], equal_nan=True), f
        return
    n = BENCH["n"]
    for i, t in enumerate(ts):
        if cur.branch[i] != "informative":
            for f in fields:
                a, b = getattr(cur, f)[i], reference[f"{key}_{f}"][i]
                assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-14), (t, f)
            continue
        theta = np.array([cur.omega[i], cur.b[i], cur.z_plus[i], cur.z_minus[i]])
        _, alpha, beta, B = S.time_coefficients(pr, t, d)
        prm = S._prm(alpha, beta, B, d, 1.0, cur.n_plus, n - cur.n_plus, BENCH["lam_u"], BENCH["lam_w"])
        lam_min = np.linalg.eigvalsh(_eval(theta, prm)[2])[0]
        bound = 2.0 * n * 1e-10 / lam_min
        for f in ("omega", "b", "z_plus", "z_minus"):
            assert abs(getattr(cur, f)[i] - reference[f"{key}_{f}"][i]) <= bound, (t, f)
        for f in ("c", "m", "a_plus", "a_minus", "sqrt_q", "q_eta"):   # y* moves with theta: |dy| <~ |dtheta|
            assert abs(getattr(cur, f)[i] - reference[f"{key}_{f}"][i]) <= bound, (t, f)


@pytest.mark.parametrize("d", [math.inf, 1000.0])
def test_compiled_continuation_is_the_python_path(monkeypatch, d):
    pr = Problem.dilated(**dict(BENCH, lam_u=2.0, lam_w=2.0))
    ts = np.linspace(0.0, 2.0, 61)
    fast = S.exact_curve(pr, ts, d)
    monkeypatch.setattr(S._WarmBatch, "run", lambda self, j, *a: j)     # every time through _solve_at
    slow = S.exact_curve(pr, ts, d)
    assert fast.branch == slow.branch
    for f in S.FIELDS + ("iterations",):
        assert np.array_equal(getattr(fast, f), getattr(slow, f), equal_nan=True), f
    for a, b in zip(fast.results, slow.results):
        assert a.info == b.info and a.message == b.message and a.value.keys() == b.value.keys()
    assert [j.t_star for j in fast.jumps] == [j.t_star for j in slow.jumps]


LAM2 = dict(BENCH, lam_u=2.0, lam_w=2.0)     # benchmarks/bench_exact_curve.py: a late jump back to trivial at d = 1000


def _prm_at(pr, t, d, n_plus=102):
    _, alpha, beta, B = S.time_coefficients(pr, t, d)
    return S._prm(alpha, beta, B, d, 1.0, n_plus, 128 - n_plus, pr.training.lam_u, pr.training.lam_w)


def test_creep_stop_takes_the_full_newton_decision():
    """Past the late jump (t* = 1.96163) the warm Newton run creeps for 50-150 iterations down the w -> 0 valley
    above the trivial energy; the creep stop ends it after a few steps with the same (trivial) decision."""
    pr = Problem.dilated(**LAM2)
    ts = np.linspace(0.0, 2.0, 200)
    cur = S.exact_curve(pr, ts, 1000.0)
    assert cur.branch[195] == "informative" and cur.branch[196] == "trivial"
    start = np.array([[cur.omega[195], cur.b[195], cur.z_plus[195], cur.z_minus[195]]])
    for t in (1.963, 1.965, ts[196], ts[197], ts[198]):
        prm = _prm_at(pr, t, 1000.0)
        args = (prm, start, True, S._NO_RULE[0], S._NO_RULE[1], 1.0, 1e-10, 400, S.B_CAP, 1.0)
        full = K.solve_point(*args, 0.0, S._NO_JOIN, 0.0)
        fast = K.solve_point(*args, S.CREEP_SPREAD, S._NO_JOIN, 0.0)
        E_triv = full[0, 0]
        for out in (full, fast):
            om, E, status = out[1, 0], out[1, 4], int(out[1, 7])
            # the informative decision of the solver: converged, |omega| > 1e-7, energy below the trivial one
            assert not (status == 0 and abs(om) > 1e-7 and E < E_triv - 1e-12 * abs(E_triv)), t
            assert E >= E_triv - 1e-12 * abs(E_triv)
        assert full[1, 6] >= 50 and int(fast[1, 7]) == 2 and fast[1, 6] <= 15, (t, full[1, 6], fast[1, 6])


@pytest.mark.parametrize("d", [math.inf, 1000.0])
def test_curve_without_the_creep_stop_is_the_same(monkeypatch, d):
    pr = Problem.dilated(**LAM2)
    ts = np.linspace(0.0, 2.0, 200)
    fast = S.exact_curve(pr, ts, d)
    monkeypatch.setattr(S, "CREEP_SPREAD", 0.0)
    full = S.exact_curve(pr, ts, d)
    assert fast.branch == full.branch and len(fast.jumps) == len(full.jumps)
    for f in S.FIELDS:
        if f != "residual":
            assert np.array_equal(getattr(fast, f), getattr(full, f), equal_nan=True), f
    for a, b in zip(fast.jumps, full.jumps):
        assert abs(a.t_star - b.t_star) <= 1e-9
    if not math.isinf(d):
        assert fast.iterations.sum() < 0.7 * full.iterations.sum()


@pytest.mark.parametrize("t", [1.2, 1.5, 1.8])
def test_coarsened_rule_run_finds_the_fixed_rule_minimiser(t):
    """A far multi-start run (omega = 6) at d = 1000 in phase 2 switches to the rule of its current std on the
    way down; it ends at the minimiser of the run that keeps the start's rule, within the Newton tolerance."""
    pr = Problem.dilated(**LAM2)
    prm = _prm_at(pr, t, 1000.0)
    theta0 = np.array([6.0, pr.h, 0.0, 0.0])
    std0 = prm[0] * 6.0
    x, w = moment_rule(1.1 * std0)
    opts = (1e-10, 200, S.B_CAP, 1.0, -math.inf, 0.0)
    th_f, E_f, gn_f, it_f, st_f, _ = K.newton_y(theta0, prm, x, w, *opts, 0, theta0, 0.0)
    th_a, E_a, gn_a, it_a, st_a, _ = K.newton_auto(theta0, prm, *opts, theta0, 0.0)
    assert st_f == 0 and st_a == 0 and x.size > 100
    std_end = prm[0] * math.sqrt(th_a[0] ** 2 + prm[5] * th_a[2] ** 2 + prm[6] * th_a[3] ** 2)
    assert std_end < 0.5 * std0
    lam_min = np.linalg.eigvalsh(_eval(th_a, prm)[2])[0]
    bound = 2.0 * 128 * 1e-10 / lam_min
    np.testing.assert_allclose(th_a, th_f, rtol=0, atol=bound)
    assert E_a == pytest.approx(E_f, rel=1e-12)


@pytest.mark.parametrize("lam", [(2.0, 2.0), (50.0, 1.0)])
@pytest.mark.parametrize("d", [math.inf, 1000.0])
def test_curve_without_the_join_stop_is_the_same(monkeypatch, lam, d):
    """The multi-start checks stop a run that reaches the continuation's minimiser: the curve is bitwise the
    one whose checks polish every run to the tolerance (they found no lower minimum on either problem)."""
    pr = Problem.dilated(**dict(BENCH, lam_u=lam[0], lam_w=lam[1]))
    ts = np.linspace(0.0, 2.0, 200)
    fast = S.exact_curve(pr, ts, d)
    monkeypatch.setattr(S, "JOIN_TOL", 0.0)
    full = S.exact_curve(pr, ts, d)
    assert fast.branch == full.branch
    for f in S.FIELDS + ("iterations",):
        assert np.array_equal(getattr(fast, f), getattr(full, f), equal_nan=True), f
    assert [j.t_star for j in fast.jumps] == [j.t_star for j in full.jumps]


@pytest.mark.parametrize("t", [0.5, 1.3, 1.9])
def test_join_stop_ends_in_the_basin_of_the_full_run(t):
    """A far check run stopped by the join rule (status 6) is in the basin of the minimiser it joined: run on, it
    converges there (and its energy never undercuts that minimiser's by the solver's 1e-12 margin)."""
    pr = Problem.dilated(**LAM2)
    cur = S.exact_curve(pr, np.linspace(0.0, 2.0, 41), 1000.0)
    i = int(round(t * 20))
    assert cur.branch[i] == "informative"
    theta_w = np.array([cur.omega[i], cur.b[i], cur.z_plus[i], cur.z_minus[i]])
    prm = _prm_at(pr, cur.t[i], 1000.0)
    opts = (1e-10, 200, S.B_CAP, 1.0, -math.inf, 0.0)
    for start in ((6.0, pr.h, 0.0, 0.0), (9.2, 0.5 * pr.h, 0.0, 0.0), (-3.0, -pr.h, 0.0, 0.0)):
        start = np.array(start)
        th_j, E_j, _, it_j, st_j, _ = K.newton_auto(start, prm, *opts, theta_w, S.JOIN_TOL)
        th_f, E_f, _, it_f, st_f, _ = K.newton_auto(start, prm, *opts, theta_w, 0.0)
        assert st_f == 0 and st_j == 6 and it_j < it_f
        th_on, E_on, _, _, st_on, _ = K.newton_auto(th_j, prm, *opts, theta_w, 0.0)
        s = 1.0 if th_on[0] > 0 else -1.0
        lam_min = np.linalg.eigvalsh(_eval(theta_w, prm)[2])[0]
        np.testing.assert_allclose(s * th_on, theta_w, rtol=0, atol=2.0 * 128 * 1e-10 / lam_min)
        assert E_j >= cur.energy[i] - 1e-12 * abs(cur.energy[i]) and st_on == 0
