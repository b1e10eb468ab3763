"""Gradient flow in the exact finite-n coordinates (theory/exact_dynamics.py, numerics/exact/dynamics.py).

References: the exact loss of theory/exact.py (sympy identity), central finite differences of the loss
(the flow must be its gradient in the stated metric, including the chain rule through the class moments),
the exact finite-n solver ``solve_exact`` (stationary points), and the fresh-noise ridge (PAPER §3.4).
"""
import math

import numpy as np
import pytest
import sympy as sp

from flowphase.numerics.exact import solve_exact
from flowphase.numerics.exact.dynamics import (STATE_NAMES, exact_dynamics_params, exact_loss, exact_rhs, exact_state,
                                               exact_stationary_point, integrate_exact, iterate_exact_gd)
from flowphase.theory.closed_forms import phase_two_ridge
from flowphase.theory.problem import Problem

PR = Problem.dilated(n=16, sigma=1.0)
Y0 = dict(c=0.0, b=0.0, m=0.05, omega=0.05, a_plus=0.01, a_minus=-0.01, rho_w=0.01, rho_u=0.01)


def test_state_loss_is_the_exact_loss_plus_perpendicular_norms():
    from flowphase.theory import exact as ex
    from flowphase.theory import exact_dynamics as xd

    L = xd.state_loss()
    assert sp.expand(L.subs({xd.rho_w: 0, xd.rho_u: 0, xd.nu: 0}) - ex.total_loss()) == 0
    # rho_u enters like |u_perp|^2 in q: coefficient sum_k n_k Q_k + lam_u
    dq = sp.expand(sp.diff(L, xd.rho_u) - (ex.n_plus * ex.Q_plus + ex.n_minus * ex.Q_minus + ex.lam_u))
    assert dq == 0


def _rhs(prm, y):
    out = np.empty(11)
    exact_rhs(0.0, np.asarray(y, float), np.zeros(1), np.zeros((1, 1)), prm, out)
    return out


@pytest.mark.parametrize("t,d", [(0.5, math.inf), (0.7, 1000.0), (1.05, 1000.0), (1.4, 4000.0)])
def test_flow_is_the_gradient_of_the_loss_in_the_stated_metric(t, d):
    """dx/ds = -(1/n) G^-1 dL/dx with G = 1 for c, b (rho = 1), m, omega; n_k for a_k, z_k; and
    drho/ds = -(4/n) rho dL/drho, dnu/ds = -(1/n)(rho_u + rho_w) dL/dnu at nu = 0 (finite differences of L)."""
    y = np.array([0.1, 0.3, 0.6, 0.05, -0.04, 0.4, 0.03, -0.06, 0.2, 0.15, 0.0])
    prm = exact_dynamics_params(PR, t, d=d)
    npl, nmi = prm[4], prm[5]          # realised class counts round(p n), n - round(p n)
    n = npl + nmi
    F = _rhs(prm, y)
    metric = np.array([1, 1, 1, npl, nmi, 1, npl, nmi])
    for i in range(8):
        h = 1e-5
        yp, ym = y.copy(), y.copy()
        yp[i] += h
        ym[i] -= h
        dL = (exact_loss(PR, t, yp, d=d) - exact_loss(PR, t, ym, d=d)) / (2 * h)
        assert abs(F[i] + dL / (n * metric[i])) < 1e-7 * (1 + abs(dL)), (STATE_NAMES[i], F[i], -dL / (n * metric[i]))
    for i in (8, 9):
        h = 1e-5
        yp, ym = y.copy(), y.copy()
        yp[i] += h
        ym[i] -= h
        dL = (exact_loss(PR, t, yp, d=d) - exact_loss(PR, t, ym, d=d)) / (2 * h)
        assert abs(F[i] + 4 * y[i] * dL / n) < 1e-7 * (1 + abs(dL)), STATE_NAMES[i]
    yp, ym = y.copy(), y.copy()
    yp[10] += 1e-5
    ym[10] -= 1e-5
    dL = (exact_loss(PR, t, yp, d=d) - exact_loss(PR, t, ym, d=d)) / 2e-5
    assert abs(F[10] + (y[8] + y[9]) * dL / n) < 1e-7 * (1 + abs(dL))


@pytest.mark.parametrize("t,d", [(0.5, math.inf), (0.5, 1000.0), (1.05, 1000.0), (1.5, 1000.0)])
def test_stationary_point_is_the_exact_fixed_point(t, d):
    """From a small generic start the flow ends on solve_exact's minimiser (both phases, crossover), the
    perpendicular norms decay to 0."""
    st = exact_stationary_point(PR, t, Y0, d=d)
    fp = solve_exact(PR, t, d)
    assert fp.branch == "informative"
    dev = max(abs(st.value[k] - getattr(fp, k)) for k in STATE_NAMES[:8])
    assert dev < 1e-6, dev
    assert max(abs(st.value[k]) for k in ("rho_w", "rho_u", "nu")) < 1e-9
    assert st.residual < 1e-11


def test_saturated_phase_two_stationary_point_is_the_fresh_ridge():
    st = exact_stationary_point(PR, 1.5, Y0)
    ref = phase_two_ridge(0.5, 16, 1.0, PR.training.lam_u, "fresh")
    assert abs(st.value["c"] - ref["c"]) < 1e-10
    assert abs(st.value["m"] - ref["m"]) < 1e-10
    assert abs(st.value["a_plus"] - ref["q_eta"]) < 1e-10 and abs(st.value["a_minus"] + ref["q_eta"]) < 1e-10


def test_gd_map_converges_to_the_flow_at_first_order():
    """Iterating the GD map with step h approaches the RK flow like O(h) (error ratio 2 for h -> h/2)."""
    S = 2.0
    flow = integrate_exact(PR, 0.5, Y0, [0.0, S], d=1000.0).value[-1]
    errs = []
    for k in (200, 400):
        gd = iterate_exact_gd(PR, 0.5, Y0, S / k, k, record_every=k, d=1000.0).value[-1]
        errs.append(np.max(np.abs(gd - flow)))
    assert 1.8 < errs[0] / errs[1] < 2.2, errs
    assert errs[1] < 1e-2


def test_bad_input():
    with pytest.raises(ValueError, match="finite n"):
        exact_dynamics_params(Problem.dilated(n=math.inf), 0.5)
    with pytest.raises(ValueError, match="Cauchy-Schwarz"):
        exact_state(dict(Y0, nu=1.0))
    with pytest.raises(ValueError, match="unknown"):
        exact_state(dict(Y0, q=1.0))
    with pytest.raises(ValueError, match="11 entries"):
        exact_state(np.zeros(8))
    with pytest.raises(ValueError, match="rho"):
        exact_dynamics_params(PR, 0.5, rho=0.0)


def test_cli_exact_dynamics_ends_on_the_exact_fixed_point(capsys):
    """``flowphase theory dynamics --theory exact`` follows the exact flow to solve_exact's point (n = 16, d = 1000)."""
    import json

    from flowphase.validation.cli import main

    rc = main(["theory", "dynamics", "--t", "0.5", "--epochs", "2000", "--lr", "0.05", "--n", "16", "--d", "1000",
               "--theory", "exact", "--points", "5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["theory"] == "exact" and len(out["epochs"]) == 5
    fp = solve_exact(Problem.dilated(n=16), 0.5, 1000.0)
    for k in ("c", "m", "omega", "b", "a_plus", "a_minus", "z_plus", "z_minus"):
        assert abs(out[k][-1] - getattr(fp, k)) < 1e-6, k
    assert abs(out["sqrt_r"][-1] - fp.sqrt_r) < 1e-6
    rc = main(["theory", "dynamics", "--t", "0.5", "--epochs", "10", "--theory", "exact", "--json"])
    assert rc == 2 and "finite n" in capsys.readouterr().err
