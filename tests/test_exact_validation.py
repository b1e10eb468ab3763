"""Exact finite-n theory vs the finite-d simulator (the exact theory at the simulated d, n).

Simulator: the exact fresh-noise expectation (``draws=0``), full-batch GD, exact class counts, so that the
theory is evaluated with the simulation's realised ``n_plus`` at the simulation's d.  Tolerances: the one
table (``exact_finite_d``, ``exact_sigma_gap``).
"""
import math

import numba
import numpy as np
import pytest

from flowphase.numerics.exact import exact_energy, solve_exact
from flowphase.theory.problem import Problem
from flowphase.validation.compare import compare
from flowphase.validation.simulator import simulate
from flowphase.validation.tolerances import agrees, allowed_deviation, loglog_slope, slope_ok

FAST = "numpy" if numba.config.DISABLE_JIT else "numba"
GD = dict(optimizer="gd", lr=0.25, lr_final=0.25, draws=0, labels="exact", backend=FAST, progress=False)
TS = (0.25, 0.5, 1.0, 1.05, 1.1, 1.2, 1.5, 1.75)     # both phases and the crossover just after t = 1
D_LIST = (250, 1000, 4000)
PR = Problem.dilated(n=64)


@pytest.fixture(scope="module")
def tables():
    out = {}
    for d in D_LIST:
        sim = simulate(PR, d=d, ts=TS, seeds=range(4), epochs=300, **GD)
        out[d] = (compare(PR, d=d, simulation=sim), compare(PR, d=d, simulation=sim, theory="paper"))
    return out


@pytest.mark.parametrize("d", (1000, 4000))
def test_c_m_omega_follow_exact_theory_at_finite_d_over_both_phases(tables, d):
    """5(b): c, m, omega at every time (phase 1, crossover t in (1, 1.2], phase 2) within 4 s.e. + 0.01 (d/1000)^-1/2."""
    ex, paper = tables[d]
    paper_fails = 0
    for t in TS:
        for q in ("c", "m", "omega"):
            row = ex.row(t, q)
            assert agrees("exact_finite_d", row["sim_mean"], row["theory"], row["sim_stderr"], d=d), row
            pr_ = paper.row(t, q)
            if pr_["theory"] is None or not agrees("exact_finite_d", pr_["sim_mean"], pr_["theory"],
                                                    pr_["sim_stderr"], d=d):
                paper_fails += 1
    # the paper's ansatz (c = 0 in phase 1, saturated ridge in phase 2, no omega there) fails most of them
    assert paper_fails >= 10, paper_fails


def test_deviation_from_exact_theory_shrinks_with_d(tables):
    devs = []
    for d in D_LIST:
        ex, _ = tables[d]
        devs.append(float(np.sqrt(np.mean([ex.row(t, q)["difference"] ** 2 for t in TS for q in ("c", "m", "omega")]))))
    slope = loglog_slope(D_LIST, devs)
    assert slope_ok("exact_finite_d", slope), (devs, slope)


def test_wrong_lambda_in_the_theory_fails_the_comparison(tables):
    """The table is tight enough that the exact theory with lam_u = lam_w = 4 (2x) is rejected at d = 1000."""
    ex, _ = tables[1000]
    wrong = Problem.dilated(n=64, lam_u=4.0, lam_w=4.0)
    n_plus = ex.config["n_plus"]
    fails = 0
    for t in TS:
        r = solve_exact(wrong, t, d=1000.0, n_plus=n_plus)
        for q in ("c", "m", "omega"):
            row = ex.row(t, q)
            fails += not agrees("exact_finite_d", row["sim_mean"], getattr(r, q), row["sim_stderr"], d=1000)
    assert fails >= 8, fails


def test_phase_one_sigma_dependence_matches_exact_theory_not_the_paper():
    """5(a): sigma = 1.5 vs 0.5 gap of the learned phase-1 (omega, b), n = 16, 64, 256, d = 500, t = 0.5."""
    d, t = 500, 0.5
    misses = 0
    gaps = []
    for n in (16, 64, 256):
        sims = {s: simulate(Problem.dilated(n=n, sigma=s), d=d, ts=(t,), seeds=range(3), epochs=300, **GD)
                for s in (0.5, 1.5)}
        n_plus = int(round(0.8 * n))
        # the gap is d-independent in the simulator (measured: 0.031/0.030/0.029 at d = 250/1000/4000), and the
        # finite-d evaluation adds only the O(B/sqrt d) terms, not the O(sqrt(n/d)) cross overlaps of the data
        # noises, which matter at n = 256, d = 500: compare with the d = inf limit at fixed n
        ex = {s: solve_exact(Problem.dilated(n=n, sigma=s), t, n_plus=n_plus) for s in (0.5, 1.5)}
        from flowphase.numerics.learned import learned_parameters

        pa = {s: learned_parameters(Problem.dilated(n=n, sigma=s), t, "paper") for s in (0.5, 1.5)}
        for j, q in ((2, "omega"), (3, "b")):
            gap = sims[1.5].mean()[0, j] - sims[0.5].mean()[0, j]
            se = math.hypot(sims[1.5].stderr()[0, j], sims[0.5].stderr()[0, j])
            ex_gap = getattr(ex[1.5], q) - getattr(ex[0.5], q)
            pa_gap = getattr(pa[1.5], q) - getattr(pa[0.5], q)
            assert agrees("exact_sigma_gap", gap, ex_gap, se), (n, q, gap, se, ex_gap)
            misses += not agrees("exact_sigma_gap", gap, pa_gap, se)
            if q == "b":
                gaps.append(gap)
                assert abs(pa_gap) < 0.35 * abs(ex_gap)        # the ansatz under-predicts the b gap ~10x
            else:
                assert np.sign(pa_gap) != np.sign(ex_gap)       # ... and has the wrong sign in omega
    assert misses >= 3, misses
    assert slope_ok("exact_sigma_gap", loglog_slope((16, 64, 256), gaps)), gaps


def test_phase_two_bias_is_an_almost_flat_direction():
    """5(d): curvature of E in b at t = 1.5 (d = 1000) relative to phase 1, and what the simulator does with it.

    A GD step moves b by lr/n times the gradient, so the relaxation of b needs ~n / (lr E_bb) steps; the
    simulation started near b = 0 approaches the theory's b only that slowly (b is not comparable in phase 2
    after a few hundred epochs; c, m, omega are).
    """
    def curvature(t, d):
        r = solve_exact(PR, t, d)
        th = np.array([r.omega, r.b, r.z_plus, r.z_minus])
        h = 1e-3
        e = [exact_energy(th + k * h * np.array([0, 1.0, 0, 0]), PR, t, d=d, n_plus=r.n_plus) for k in (-1, 0, 1)]
        ew = [exact_energy(th + k * h * np.array([1.0, 0, 0, 0]), PR, t, d=d, n_plus=r.n_plus) for k in (-1, 0, 1)]
        return (e[0] - 2 * e[1] + e[2]) / h ** 2, (ew[0] - 2 * ew[1] + ew[2]) / h ** 2, r

    bb1, ww1, _ = curvature(0.5, 1000.0)
    bb2, ww2, r2 = curvature(1.5, 1000.0)
    assert bb1 > 0 and bb2 > 0
    assert bb2 < 0.05 * bb1 and bb2 < 0.1 * ww2
    # GD relaxation steps of b: n / (lr * E_bb); the simulation closes the gap in b only over that many epochs
    steps = 64 / (0.25 * bb2)
    assert steps > 300
    sims = [simulate(PR, d=1000, ts=(1.5,), seeds=range(2), epochs=ep, **GD) for ep in (150, 600)]
    b_sim = [s.mean()[0, 3] for s in sims]
    assert abs(r2.b - b_sim[1]) < abs(r2.b - b_sim[0])          # moving towards the theory's b ...
    assert not agrees("phase2_b_not_relaxed", b_sim[1], r2.b, sims[1].stderr()[0, 3])   # ... but far from it
