"""Tests of the tableau-driven Runge–Kutta engine (numerics/rk.py)."""
import math

import numpy as np
import pytest
from numba import njit
from scipy.integrate import solve_ivp

from flowphase.numerics import rk
from flowphase.numerics.results import ConvergenceError


@njit(cache=True)
def _rhs_decay(t, y, tgrid, curves, params, out):
    for i in range(y.shape[0]):
        out[i] = -params[0] * y[i] + math.sin(t)


@njit(cache=True)
def _rhs_blowup(t, y, tgrid, curves, params, out):
    for i in range(y.shape[0]):
        out[i] = y[i] * y[i]


def _tanh_curves(kappa=2.0, h=0.6931471805599453):
    """Exact n = inf phase-1 field kappa tanh(h + kappa t y) as linear curves (exact interpolation)."""
    tg = np.array([0.0, 1.0])
    return tg, np.array([[0.0, 0.0], [0.0, kappa * kappa], [h, h], [kappa, kappa]])


def test_tableau_consistency():
    for tb in rk.TABLEAUS.values():
        assert np.allclose(tb.A.sum(axis=1), tb.c), tb.name
        assert abs(tb.b.sum() - 1.0) < 1e-14
        if tb.b_err is not None:
            assert abs(tb.b_err.sum()) < 1e-14


def test_dopri_vs_closed_form_linear():
    # y' = -k y + sin t, y(0) = y0: y = (k sin t - cos t)/(1+k^2) + (y0 + 1/(1+k^2)) e^{-kt}
    k = 1.7
    ts = np.linspace(0.0, 3.0, 7)
    y0 = np.array([0.3, -1.0, 2.0])
    res = rk.solve(_rhs_decay, ts, y0, params=[k])
    exact = ((k * np.sin(ts) - np.cos(ts)) / (1 + k * k))[:, None] + \
        (y0[None, :] + 1 / (1 + k * k)) * np.exp(-k * ts)[:, None]
    assert res.converged and res.residual <= 1.0
    assert np.max(np.abs(res.value - exact)) < 1e-8


def test_dopri_vs_solve_ivp_tanh_transport():
    tg, cv = _tanh_curves()
    y0 = np.linspace(-3, 3, 9)
    ts = np.linspace(0, 1, 5)
    res = rk.solve(rk.rhs_tanh, ts, y0, tgrid=tg, curves=cv)
    ref = solve_ivp(lambda t, y: 2.0 * np.tanh(0.6931471805599453 + 4.0 * t * y), (0, 1), y0,
                    t_eval=ts, rtol=1e-12, atol=1e-12, method="DOP853")
    assert np.max(np.abs(res.value - ref.y.T)) < 1e-7


def test_interpolated_curves_vs_solve_ivp():
    # non-trivial curves, interpolated piecewise-linearly on a coarse grid: same equations in scipy
    tg = np.linspace(0.0, 1.0, 11)
    cv = np.vstack([-0.5 * tg, 1 + tg ** 2, np.cos(3 * tg), 1 + 0.5 * np.sin(5 * tg)])
    y0 = np.array([-1.0, 0.2, 1.5])
    ts = np.linspace(0, 1, 4)

    def f(t, y):
        a, om, b, m = (np.interp(t, tg, c) for c in cv)
        return a * y + m * np.tanh(om * y + b)

    res = rk.solve(rk.rhs_tanh, ts, y0, tgrid=tg, curves=cv, rtol=1e-11, atol=1e-12)
    ref = solve_ivp(f, (0, 1), y0, t_eval=ts, rtol=1e-12, atol=1e-13, method="DOP853",
                    first_step=1e-4, max_step=0.01)
    assert np.max(np.abs(res.value - ref.y.T)) < 1e-7


def test_stop_at_nodes_on_kinked_curves():
    # a curve with a steep kink: landing on the nodes reproduces scipy integrated node to node
    tg = np.array([0.0, 0.05, 0.4, 1.0])
    cv = np.vstack([np.zeros(4), [0.0, 0.3, 1.0, 2.0], [40.0, 1.4, 0.8, 0.7], [1.2, 1.3, 1.6, 1.9]])
    y0 = np.array([-1.5, 0.0, 1.0])

    def f(t, y):
        a, om, b, m = (np.interp(t, tg, c) for c in cv)
        return a * y + m * np.tanh(om * y + b)

    ref = y0.copy()
    for k in range(len(tg) - 1):
        ref = solve_ivp(f, (tg[k], tg[k + 1]), ref, rtol=1e-12, atol=1e-13, method="DOP853").y[:, -1]
    res = rk.solve(rk.rhs_tanh, [0.0, 0.7, 1.0], y0, tgrid=tg, curves=cv, stop_at_nodes=True)
    assert res.value.shape == (3, 3)
    assert np.max(np.abs(res.value[-1] - ref)) < 1e-8
    back = rk.solve(rk.rhs_tanh, [1.0, 0.0], res.value[-1], tgrid=tg, curves=cv, stop_at_nodes=True)
    assert np.max(np.abs(back.value[-1] - y0)) < 1e-7


def test_affine_closed_form_and_backward():
    # y' = G y + F with constant G, F: y = (y0 + F/G) e^{G t} - F/G; integrate forward then back
    tg = np.array([0.0, 2.0])
    cv = np.array([[-0.5, -0.5], [1.2, 1.2], [0.3, 0.3], [0.0, 0.0]])
    ts = np.array([0.0, 0.5, 2.0])
    y0 = np.array([1.0, 2.0])
    res = rk.solve(rk.rhs_affine, ts, y0, tgrid=tg, curves=cv)
    # rows: G_0 = -0.5, G_1 = 1.2, F_0 = 0.3, F_1 = 0
    ex = np.array([(1.0 - 0.6) * np.exp(-0.5 * ts) + 0.6, 2.0 * np.exp(1.2 * ts)]).T
    assert np.max(np.abs(res.value - ex) / np.abs(ex)) < 5e-9
    back = rk.solve(rk.rhs_affine, ts[::-1], res.value[-1], tgrid=tg, curves=cv)
    assert np.max(np.abs(back.value[-1] - y0)) < 1e-8


@pytest.mark.parametrize("method,order", [("euler", 1), ("heun", 2), ("rk4", 4)])
def test_fixed_step_order(method, order):
    k = 1.0
    y0 = np.array([0.5])
    ts = np.array([0.0, 1.0])
    exact = (k * math.sin(1) - math.cos(1)) / (1 + k * k) + (0.5 + 1 / (1 + k * k)) * math.exp(-k)
    ns = np.array([16, 32, 64, 128])
    errs = [abs(rk.solve(_rhs_decay, ts, y0, params=[k], method=method, h=1.0 / n).value[-1, 0] - exact)
            for n in ns]
    slope = np.polyfit(np.log(1.0 / ns), np.log(errs), 1)[0]
    assert abs(slope - order) < 0.15, (method, slope)


def test_dopri_error_control_tolerance_proportionality():
    tg, cv = _tanh_curves()
    y0 = np.array([-0.2, 0.1, 0.7])
    ts = np.array([0.0, 1.0])
    ref = rk.solve(rk.rhs_tanh, ts, y0, tgrid=tg, curves=cv, rtol=1e-13, atol=1e-14).value[-1]
    errs, steps = [], []
    for tol in (1e-5, 1e-7, 1e-9):
        r = rk.solve(rk.rhs_tanh, ts, y0, tgrid=tg, curves=cv, rtol=tol, atol=tol)
        errs.append(np.max(np.abs(r.value[-1] - ref)))
        steps.append(r.iterations)
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-7
    assert steps[0] < steps[1] < steps[2]
    # 5th-order method: steps grow like tol^(-1/5): factor 100 in tol -> ~2.5x steps
    ratio = steps[2] / steps[1]
    assert 1.5 < ratio < 4.5


def test_convergence_errors():
    with pytest.raises(ConvergenceError):
        rk.solve(_rhs_blowup, np.array([0.0, 2.0]), np.array([1.0]))
    res = rk.solve(_rhs_blowup, np.array([0.0, 2.0]), np.array([1.0]), throw=False)
    assert not res.converged
    with pytest.raises(ConvergenceError):
        rk.solve(_rhs_blowup, np.array([0.0, 2.0]), np.array([1.0]), method="rk4", h=0.1)


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        rk.solve(_rhs_decay, [0.0, 1.0], [1.0], params=[1.0], method="bogus")
    with pytest.raises(ValueError, match="t_eval"):
        rk.solve(_rhs_decay, [0.0, 1.0, 0.5], [1.0], params=[1.0])
    with pytest.raises(ValueError, match="curves"):
        rk.solve(rk.rhs_tanh, [0.0, 1.0], [1.0], tgrid=np.array([0.0, 1.0]), curves=np.zeros((4, 3)))
