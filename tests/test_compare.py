"""compare(), the tolerance table and the ``flowphase simulate`` CLI."""
import csv
import io
import json
import math

import numba
import pytest

from flowphase.theory.closed_forms import phase_two_ridge
from flowphase.theory.problem import Problem, weight_decay_to_lambda
from flowphase.validation.cli import main
from flowphase.validation.compare import COLUMNS, compare, theory_values
from flowphase.validation.tolerances import (TOLERANCES, agrees, allowed_deviation, loglog_slope, slope_ok,
                                             tolerance)

FAST = "numpy" if numba.config.DISABLE_JIT else "numba"


def test_compare_table_rows_and_exports(tmp_path):
    pr = Problem.dilated(n=32)
    tab = compare(pr, d=400, seeds=(0, 1, 2), ts=(0.5, 1.5), epochs=150, optimizer="gd", lr=0.25, lr_final=0.25,
                  draws=0, backend=FAST)
    assert len(tab.rows) == 2 * 5
    r = tab.row(1.5, "c")
    tau = 2 / math.sqrt(400) + (1 - 2 / math.sqrt(400)) * 0.5
    assert r["tau"] == pytest.approx(tau) and r["phase"] == 2
    # default: the exact finite-n theory at the simulator's d (B = beta sqrt(400) finite: tanh not saturated)
    from flowphase.numerics.exact import solve_exact

    assert tab.config["theory"] == "exact"
    assert r["theory"] == pytest.approx(solve_exact(pr, 1.5, d=400.0, n_plus=tab.config["n_plus"]).c, rel=1e-10)
    paper = compare(pr, d=400, simulation=tab.simulation, ts=(0.5, 1.5), theory="paper")
    assert paper.row(1.5, "c")["theory"] == pytest.approx(phase_two_ridge(tau, 32, 1.0, 2.0, "fresh")["c"],
                                                          rel=1e-12)
    assert r["difference"] == pytest.approx(r["sim_mean"] - r["theory"])
    assert paper.row(1.5, "omega")["theory"] is None          # w, b are flat directions of the saturated ridge
    assert tab.row(1.5, "omega")["theory"] > 0.0              # ... but not at finite d in the exact theory
    assert tab.row(0.5, "omega")["theory"] == pytest.approx(
        theory_values(pr.replace(d=400), 0.5, n_plus=tab.config["n_plus"])["omega"])
    rows = list(csv.DictReader(io.StringIO(tab.to_csv(tmp_path / "t.csv"))))
    assert tuple(rows[0].keys()) == COLUMNS and len(rows) == len(tab.rows)
    js = json.loads(tab.to_json(tmp_path / "t.json"))
    assert js["rows"][0]["quantity"] == tab.rows[0]["quantity"] and js["problem"]["d"] == 400
    with pytest.raises(ValueError, match="quantities"):
        compare(pr, d=50, quantities=("zeta",))
    # a strategy object carries its own d: ExactFiniteN(d=None) is the exact theory at d = inf (solve_exact by hand)
    from flowphase.numerics.theories import ExactFiniteN, PaperAnsatz

    inf = compare(pr, d=400, simulation=tab.simulation, ts=(0.5, 1.5), theory=ExactFiniteN(d=None))
    assert inf.config["theory"] == "exact" and inf.config["theory_d"] is None
    assert inf.config["n_plus"] == tab.config["n_plus"]                 # filled in from the simulation
    assert inf.row(0.5, "m")["theory"] == pytest.approx(
        solve_exact(pr, 0.5, d=math.inf, n_plus=tab.config["n_plus"]).m, rel=1e-10)
    at400 = compare(pr, d=400, simulation=tab.simulation, ts=(0.5, 1.5), theory=ExactFiniteN(d=400))
    assert [r["theory"] for r in at400.rows] == [r["theory"] for r in tab.rows]      # the name's default d
    pap = compare(pr, d=400, simulation=tab.simulation, ts=(0.5, 1.5), theory=PaperAnsatz(d=400))
    assert [r["theory"] for r in pap.rows] == [r["theory"] for r in paper.rows]
    with pytest.raises(ValueError, match="theory"):
        compare(pr, d=400, simulation=tab.simulation, theory="finite")
    with pytest.raises(ValueError, match="theory"):
        compare(pr, d=400, simulation=tab.simulation, theory=3)


def test_compare_rows_carry_the_tolerance_verdict_and_the_convergence_flag():
    """allowed = 4 stderr + 0.01 (d/1000)^-1/2 (the 'exact_finite_d' entry, by hand); pass = |difference| <= allowed;
    converged from the simulator's final gradient norm: the theory preset's 400 GD steps converge phase 1
    (gradient < 1e-8) but not phase 2, whose bias relaxes over ~2e4 steps at d = 400, n = 32."""
    pr = Problem.dilated(n=32)
    with pytest.warns(UserWarning, match=r"not converged at t = 1\.5"):
        tab = compare(pr, d=400, seeds=(0, 1, 2), ts=(0.5, 1.5), backend=FAST)
    assert tab.config["epochs"] == 400 and tab.config["protocol"] == "theory"
    assert tab.config["tolerance"] == "exact_finite_d"
    for r in tab.rows:
        if r["theory"] is None:
            assert r["allowed"] is None and r["pass"] is None
            continue
        assert r["allowed"] == pytest.approx(4.0 * r["sim_stderr"] + 0.01 * (400 / 1000.0) ** -0.5, rel=1e-12)
        assert r["pass"] == (abs(r["difference"]) <= r["allowed"])
    g = tab.simulation.grad_norm.max(axis=0)
    assert tab.row(0.5, "c")["grad_norm"] == pytest.approx(g[0])
    assert tab.row(1.5, "b")["grad_norm"] == pytest.approx(g[1])
    assert tab.row(0.5, "omega")["converged"] is True and g[0] < 1e-8
    assert tab.row(1.5, "b")["converged"] is False and g[1] > 1e-4
    assert {(r["t"], r["quantity"]) for r in tab.unconverged()} == {(1.5, q) for q in
                                                                   ("c", "m", "omega", "b", "sqrt_q")}
    assert all(not r["pass"] for r in tab.failing())
    assert len(tab.to_text().splitlines()) == len(tab.rows) + 1
    strict = compare(pr, d=400, simulation=tab.simulation, ts=(0.5, 1.5), grad_tol=1e-12)
    assert strict.row(0.5, "c")["converged"] == bool(g[0] <= 1e-12)
    with pytest.raises(ValueError, match="ignored"):
        compare(pr, d=400, simulation=tab.simulation, epochs=10)
    with pytest.raises(ValueError, match="grad_tol"):
        compare(pr, d=400, simulation=tab.simulation, grad_tol=0.0)


def test_tolerance_table():
    assert set(TOLERANCES) >= {"phase2_c_finite_d", "phase1_finite_n", "phase1_d_scaling", "p_hat_dilated",
                               "generated_mean", "generated_variance", "phase1_sigma_blind", "phase2_p_blind"}
    assert allowed_deviation("phase2_c_finite_d", 2.0, 0.001) == pytest.approx(4 * 0.001 + 0.005 * 2.0)
    assert agrees("p_hat_dilated", 0.82, 0.8) and not agrees("p_hat_dilated", 0.84, 0.8)
    assert not agrees("phase1_finite_n", float("nan"), 1.0)
    assert loglog_slope([10, 100, 1000], [1.0, 0.1, 0.01]) == pytest.approx(-1.0)
    assert slope_ok("phase1_d_scaling", -0.5) and not slope_ok("phase1_d_scaling", -1.0)
    with pytest.raises(ValueError, match="unknown tolerance"):
        tolerance("nope")


def test_weight_decay_conversion_used_by_the_simulator():
    """lam = wd d T / 2 (PAPER §2.3): wd = 1e-5, d = 5000, T = 80 gives the theory's lam = 2."""
    assert weight_decay_to_lambda(1e-5, 5000, 80) == pytest.approx(2.0)


def test_cli_simulate_json(capsys):
    rc = main(["simulate", "--d", "200", "--n", "16", "--t", "0.5,1.5", "--epochs", "100", "--seeds", "2",
               "--backend", FAST, "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"runs", "mean", "stderr"}
    assert set(out["mean"]) == {"0.5", "1.5"} and set(out["mean"]["1.5"]) == {"c", "m", "omega", "b", "sqrt_q", "sqrt_r"}
    assert len(out["runs"]) == 2
    tau = 2 / math.sqrt(200) + (1 - 2 / math.sqrt(200)) * 0.5
    c_th = phase_two_ridge(tau, 16, 1.0, 2.0, "fresh")["c"]
    assert abs(out["mean"]["1.5"]["c"] - c_th) < 0.03 * c_th


def test_cli_simulate_generate_and_errors(capsys):
    rc = main(["simulate", "--d", "100", "--n", "16", "--t", "1.5", "--epochs", "80", "--seeds", "1",
               "--generate", "200", "--grid", "40", "--backend", FAST, "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"p_hat", "mean_overlap", "variance"}
    assert 0.6 < out["p_hat"] <= 1.0 and 0.5 < out["mean_overlap"] < 1.0 and 0.5 < out["variance"] < 1.5
    for argv in (["--d", "1", "--n", "4", "--t", "0.5"], ["--d", "50", "--n", "4", "--t", "3.0"],
                 ["--d", "50", "--n", "4", "--t", "a,b"], ["--d", "50", "--n", "4", "--t", "0.5", "--p", "1.5"]):
        assert main(["simulate", *argv, "--json"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("flowphase: error:") and "\n" not in err


def test_tolerance_exponents_are_used_or_refused():
    """An exponent needs a slope window (it must lie inside) or a d-dependent floor (which it scales)."""
    from flowphase.validation.tolerances import Tolerance

    for bad in (dict(exponent=-1.0), dict(exponent=-1.0, window=(-0.9, -0.5)), dict(floor_d_ref=1000.0),
                dict(window=(0.5, -0.5))):
        with pytest.raises(ValueError):
            Tolerance(**bad)
    for name, tol in TOLERANCES.items():
        if tol.exponent is not None:
            assert tol.window is not None or tol.floor_d_ref is not None, name
    # the d-dependent floor shrinks with d by its exponent
    assert allowed_deviation("exact_finite_d", 0.0, d=4000) == pytest.approx(0.01 * 4 ** -0.5)
