"""Tests of Cui et al.'s flow (numerics/cui.py) against PREDECESSOR §2.6-§2.7 and independent references."""
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from flowphase.numerics import cui as C
from flowphase.theory.problem import TrigonometricInterpolant

N, SIG, LAM = 8, 1.5, 0.1


def test_learned_table():
    ts = [0.01, 0.10, 0.25, 0.50, 0.75, 0.90]
    lp = C.cui_learned(ts, N, SIG, LAM)
    ref = np.array([[0.0231, 0.9874, -0.00282, 0.12343], [0.2719, 0.9608, -0.03021, 0.12010],
                    [0.8040, 0.7891, -0.07444, 0.09864], [1.3873, 0.3026, -0.08563, 0.03782],
                    [1.2710, 0.0462, -0.03923, 0.00578], [1.1051, 0.0054, -0.01364, 0.00067]])
    got = np.vstack([lp["c"], lp["m"], lp["q_xi"], lp["q_eta"]]).T
    assert np.max(np.abs(got[:, :2] - ref[:, :2])) < 6e-5
    assert np.max(np.abs(got[:, 2:] - ref[:, 2:])) < 6e-6


def test_flow_table_ode_and_closed_form():
    ts = np.array([0.0, 0.10, 0.25, 0.50, 0.75, 1.00])
    ref = np.array([[0, 0, 0, 1, 1, 0], [0.0988, -0.0015, 0.0123, 0.8326, 0.8452, 0.1074],
                    [0.2469, -0.0110, 0.0309, 0.7040, 0.7831, 0.2790], [0.4938, -0.0498, 0.0617, 0.8160, 1.1483, 0.4608],
                    [0.7407, -0.1118, 0.0926, 1.3360, 2.1391, 0.5065], [0.9877, -0.1858, 0.1235, 2.2641, 3.7900, 0.5073]])
    fl = C.cui_flow(ts, N, SIG, lam=LAM)
    keys = ("M", "Q_xi", "Q_eta", "P", "Q", "theta")
    got = np.vstack([fl.stats[k] for k in keys]).T
    cl = np.vstack([fl.closed[k] for k in keys]).T
    assert np.max(np.abs(got - ref)) < 6e-5
    assert np.max(np.abs(got - cl)) < 1e-6


def test_ode_matches_solve_ivp_on_same_curves():
    # the RK engine vs scipy on the same tabulated coefficients (piecewise-linear), state (M, Qxi, Qeta, sqrt P)
    ts = np.array([0.0, 0.3, 0.6, 0.9])
    grid = np.linspace(0.0, 0.9, 401)
    curves = C._coefficient_curves(grid, N, SIG, LAM, C.LinearInterpolant())
    fl = C.cui_flow(ts, N, SIG, lam=LAM, n_coef=401)

    def f(t, y):
        G = np.array([np.interp(t, grid, curves[j]) for j in range(4)])
        F = np.array([np.interp(t, grid, curves[4 + j]) for j in range(4)])
        return G * y + F

    ref = solve_ivp(f, (0, 0.9), [0, 0, 0, 1], t_eval=ts, rtol=1e-12, atol=1e-13, method="DOP853", max_step=2e-3).y
    got = np.vstack([fl.stats["M"], fl.stats["Q_xi"], fl.stats["Q_eta"], np.sqrt(fl.stats["P"])])
    assert np.max(np.abs(got - ref)) < 1e-7


def test_notebook_euler_runs():
    e = C.cui_flow(np.linspace(0, 0.99, 100), N, SIG, lam=LAM, method="euler", evaluate="right")
    got = [e.stats["M"][-1], abs(e.stats["Q_xi"][-1]), e.stats["Q_eta"][-1], e.stats["P"][-1]]
    assert got == pytest.approx([0.97284, 0.18327, 0.12161, 2.24843], abs=6e-6)
    # 1e4 steps converge to the closed forms (PREDECESSOR §2.6: 0.98751, 0.18574, 0.12344, 2.26393)
    e = C.cui_flow(np.linspace(0, 0.9999, 10000), N, SIG, lam=LAM, method="euler", evaluate="right")
    got = [e.stats["M"][-1], abs(e.stats["Q_xi"][-1]), e.stats["Q_eta"][-1], e.stats["P"][-1]]
    assert got == pytest.approx([0.98751, 0.18574, 0.12344, 2.26393], abs=6e-6)


def test_schedule_independence_trigonometric():
    lin = C.cui_flow(np.array([0.0, 1.0]), N, SIG, lam=LAM)
    tri = C.cui_flow(np.array([0.0, 0.5, 1.0]), N, SIG, lam=LAM, interpolant=TrigonometricInterpolant())
    for k in ("M", "Q_xi", "Q_eta", "P"):
        assert tri.stats[k][-1] == pytest.approx(lin.stats[k][-1], abs=1e-6)
    # mid-flow the schedules differ (the closed forms depend on alpha(t), beta(t))
    assert abs(tri.stats["M"][1] - C.cui_closed_form(0.5, N, SIG, LAM)["M"][0]) > 0.1


def test_extremes():
    ex = C.cui_flow_extremes(N, SIG, LAM)
    assert ex["Q_min"] == pytest.approx(0.779, abs=5e-4)
    assert ex["t_Q_min"] == pytest.approx(0.220, abs=5e-4)
    assert ex["theta_max"] == pytest.approx(0.509, abs=5e-4)
    assert ex["t_theta_max"] == pytest.approx(0.87, abs=5e-3)


@pytest.mark.parametrize("n,mse,cos,theta,v,mbo,cbo", [
    (2, 2.08431, 0.55086, 0.41252, 2.3409, 0.52941, 0.68599),
    (8, 0.55057, 0.79955, 0.50733, 2.2641, 0.21951, 0.88345),
    (64, 0.07012, 0.96658, 0.54808, 2.2516, 0.03396, 0.98287),
    (1024, 0.00439, 0.99781, 0.55428, 2.2501, 0.00219, 0.99890),
])
def test_end_of_flow_table(n, mse, cos, theta, v, mbo, cbo):
    e = C.cui_end_of_flow(n, SIG, LAM)
    assert [e["mse"], e["cos_mu"], e["theta"], e["v"], e["mse_bayes"], e["cos_bayes"]] == pytest.approx(
        [mse, cos, theta, v, mbo, cbo], abs=6e-5)
    # explicit formulas of PREDECESSOR §2.3
    assert e["mse"] == pytest.approx((LAM ** 2 + n * (SIG ** 2 + v)) / (n + LAM) ** 2, abs=1e-4)
    assert e["cos_mu"] == pytest.approx(1 / math.sqrt(1 + (SIG ** 2 + e["v"]) / n), rel=1e-12)


def test_mse_rate_and_bayes_ratio():
    ns = np.array([64, 256, 1024, 4096])
    mses = np.array([C.cui_end_of_flow(int(n), SIG, LAM)["mse"] for n in ns])
    slope = np.polyfit(np.log(ns), np.log(mses), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.01)
    big = C.cui_end_of_flow(10 ** 6, SIG, LAM)
    assert 1e6 * big["mse"] == pytest.approx(2 * SIG ** 2, rel=1e-3)
    assert big["mse_ratio"] == pytest.approx(2.0, rel=1e-3)


def test_bayes_optimal_monte_carlo():
    rng = np.random.default_rng(3)
    n, sigma, d, reps = 4, 1.5, 400, 200
    errs = []
    for _ in range(reps):
        mu = rng.standard_normal(d)
        s = rng.choice([-1.0, 1.0], size=n)
        x1 = s[:, None] * mu + sigma * rng.standard_normal((n, d))
        est = (s[:, None] * x1).sum(0) / (n + sigma ** 2)
        errs.append(np.mean((est - mu) ** 2))
    errs = np.array(errs)
    ref = C.cui_bayes_optimal(n, sigma)["mse_bayes"]
    assert abs(errs.mean() - ref) < 4 * errs.std(ddof=1) / math.sqrt(reps)


def test_point_keys_and_bad_input():
    pt = C.cui_point(0.5, N, SIG, LAM)
    assert C.cui_cli_record(t=0.5, n=N, sigma=SIG, lam=LAM) == pt
    assert set(pt) == {"c", "m", "q_xi", "q_eta", "M", "Q_xi", "Q_eta", "P", "Q", "cos", "mse", "cos_mu",
                       "mse_bayes", "cos_bayes"}
    assert pt["c"] == pytest.approx(1.3873, abs=1e-4) and pt["cos"] == pytest.approx(0.4608, abs=1e-4)
    with pytest.raises(ValueError, match="n must"):
        C.cui_end_of_flow(1, SIG, LAM)
    with pytest.raises(ValueError, match="sigma"):
        C.cui_point(0.5, N, -1.0)
    with pytest.raises(ValueError, match="t_grid"):
        C.cui_flow(np.array([0.1, 0.5]), N, SIG, lam=LAM)
