"""`flowphase theory ...` answers with the contract's keys and the library's / spec's values (issue 2 §5)."""
import json
import math
import subprocess
import sys

import pytest

from flowphase.validation.cli import main


def run(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_overlaps_phase_one_matches_spec_table(capsys):
    rc, out, _ = run(capsys, "theory", "overlaps", "--t", "0.5", "--n", "128", "--lam-u", "50", "--lam-w", "1",
                     "--theory", "paper", "--json")
    assert rc == 0
    res = json.loads(out)
    assert set(res) == {"t", "phase", "theory", "branch", "c", "m", "omega", "b", "z_plus", "z_minus", "a_plus",
                        "a_minus", "sqrt_r", "sqrt_q"}
    assert res["theory"] == "paper" and res["z_plus"] == 0.0 and res["a_minus"] == -res["a_plus"]
    assert res["phase"] == 1 and res["c"] == 0.0
    # PAPER §3.2 reference table, (n, lam_u, lam_w) = (128, 50, 1), t = 0.5
    assert res["omega"] == pytest.approx(1.400, abs=1e-3)
    assert res["b"] == pytest.approx(1.065, abs=1e-3)
    assert res["m"] == pytest.approx(0.617, abs=1e-3)


def test_overlaps_phase_two_is_ridge_and_flat_directions_are_null(capsys):
    rc, out, _ = run(capsys, "theory", "overlaps", "--t", "1.5", "--json")
    res = json.loads(out)
    assert rc == 0 and res["phase"] == 2 and res["omega"] is None and res["b"] is None
    assert res["c"] == pytest.approx(1.0, abs=1e-12)        # PAPER §3.3: c(t'=0.5) = 1 at n = inf
    assert res["m"] == pytest.approx(0.5, abs=1e-12)
    rc, out, _ = run(capsys, "theory", "overlaps", "--t", "1.5", "--n", "128", "--lam-u", "50", "--noise", "fixed",
                     "--json")
    assert json.loads(out)["c"] == pytest.approx(1.1238, abs=1e-4)   # PAPER §3.4 reference value


def test_generated_mse_cui_speciation(capsys):
    _, out, _ = run(capsys, "theory", "generated", "--json")
    g = json.loads(out)
    assert set(g) == {"theory", "p_hat", "mean_overlap", "variance"} and g["theory"] == "paper"   # n = inf
    assert g["p_hat"] == pytest.approx(0.8, abs=1e-4) and g["mean_overlap"] == pytest.approx(1.0, abs=1e-6)
    _, out, _ = run(capsys, "theory", "generated", "--sampler", "euler", "--json")
    from scipy.stats import norm
    p, k = 0.8, 2.0
    h = math.atanh(2 * p - 1)
    assert json.loads(out)["p_hat"] == pytest.approx(p * norm.cdf(k + h / k) + (1 - p) * norm.cdf(h / k - k),
                                                     abs=1e-6)   # PAPER §3.5
    _, out, _ = run(capsys, "theory", "generated", "--n", "128", "--theory", "paper", "--json")
    g = json.loads(out)
    assert g["mean_overlap"] == pytest.approx(128 / 130, abs=1e-6)
    assert g["variance"] == pytest.approx(1 + (2 - 1) / 130, abs=1e-6)
    _, out, _ = run(capsys, "theory", "mse", "--t", "0", "--no-dilation", "--json")
    assert json.loads(out) == {"t": 0.0, "mse": pytest.approx(1.64, abs=1e-12)}
    _, out, _ = run(capsys, "theory", "mse", "--t", "1.0", "--json")
    assert json.loads(out)["mse"] == pytest.approx(1.0527, abs=1e-4)
    _, out, _ = run(capsys, "theory", "cui", "--t", "0.5", "--n", "8", "--sigma", "1.5", "--json")
    c = json.loads(out)
    assert set(c) == {"c", "m", "q_xi", "q_eta", "M", "Q_xi", "Q_eta", "P", "Q", "cos", "mse", "cos_mu",
                      "mse_bayes", "cos_bayes"}
    assert (c["c"], c["m"], c["q_xi"], c["q_eta"]) == pytest.approx((1.3873, 0.3026, -0.08563, 0.03782), abs=1e-4)
    assert c["mse"] == pytest.approx(0.55057, abs=1e-4) and c["mse_bayes"] == pytest.approx(0.21951, abs=1e-5)
    _, out, _ = run(capsys, "theory", "speciation", "--d", "5000", "--n", "100", "--json")
    s = json.loads(out)
    assert s["t_s"] == pytest.approx(0.5 * math.log(5001.0), abs=1e-12)
    assert s["t_c"] == pytest.approx(0.5 * math.log(1 + 1 / (100 ** (2 / 5000) - 1)), rel=1e-10)
    assert 0.5 < s["phi_at_t_s"] < 1.0


@pytest.mark.parametrize("argv,word", [
    (["theory", "overlaps", "--t", "2.5"], "t must lie"),
    (["theory", "overlaps", "--t", "0.5", "--p", "1.5"], "p must lie"),
    (["theory", "overlaps", "--t", "0.5", "--sigma", "0"], "sigma"),
    (["theory", "overlaps", "--t", "0.5", "--kappa", "-1"], "kappa"),
    (["theory", "overlaps", "--t", "0.5", "--lam-u", "-1"], "lam_u"),
    (["theory", "overlaps", "--t", "0.5", "--noise", "sometimes"], "noise"),
    (["theory", "speciation", "--d", "0.5"], "d must"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, word):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert word in err and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_runs_as_a_process():
    proc = subprocess.run([sys.executable, "-m", "flowphase.validation", "theory", "mse", "--t", "1.5", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["mse"] == pytest.approx(0.5, abs=1e-12)
    proc = subprocess.run([sys.executable, "-m", "flowphase.validation", "theory", "overlaps", "--t", "-1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_dynamics_trajectory_reaches_the_phase_one_fixed_point(capsys):
    """issue 7 CLI: the gradient-flow trajectory ends at the n = inf fixed point omega = kappa t, b = h, m = 1."""
    rc, out, _ = run(capsys, "theory", "dynamics", "--t", "0.5", "--epochs", "20000", "--init", "small",
                     "--points", "11", "--json")
    assert rc == 0
    res = json.loads(out)
    assert {"epochs", "c", "m", "omega", "b", "r", "q"} <= set(res)
    assert len(res["epochs"]) == 11 and res["epochs"][-1] == 20000
    assert res["omega"][-1] == pytest.approx(1.0, abs=2e-3)
    assert res["b"][-1] == pytest.approx(math.atanh(0.6), abs=2e-3)
    assert res["m"][-1] == pytest.approx(1.0, abs=2e-3)
    assert res["r"][-1] == pytest.approx(res["omega"][-1] ** 2, abs=2e-3)


def test_overlaps_exact_theory_default_and_finite_d(capsys):
    from flowphase.numerics.exact import solve_exact
    from flowphase.theory.problem import Problem

    rc, out, _ = run(capsys, "theory", "overlaps", "--t", "0.5", "--n", "64", "--d", "1000", "--n-plus", "50",
                     "--json")
    assert rc == 0
    res = json.loads(out)
    ref = solve_exact(Problem.dilated(n=64), 0.5, d=1000.0, n_plus=50)
    assert res["theory"] == "exact" and res["branch"] == "informative"
    for k in ("c", "m", "omega", "b", "z_plus", "z_minus", "a_plus", "a_minus", "sqrt_r", "sqrt_q"):
        assert res[k] == pytest.approx(getattr(ref, k), rel=1e-12, abs=1e-15), k
    assert res["c"] > 0.0 and res["sqrt_r"] > res["omega"]
    rc, _, err = run(capsys, "theory", "overlaps", "--t", "0.5", "--n", "64", "--n-plus", "64", "--json")
    assert rc == 2 and "n_plus" in err


def test_generated_exact_theory_on_the_authors_grid(capsys):
    """Exact field (default at finite n), Euler on the 80-point grid, d = inf: the sampler stops at t = 1.975,
    so the mode mean is near n tau_end/(n + lam) (PAPER §3.5) and p_hat near p."""
    rc, out, _ = run(capsys, "theory", "generated", "--n", "128", "--json")
    assert rc == 0
    g = json.loads(out)
    assert g["theory"] == "exact" and g["sampler"] == "euler" and g["n_times"] == 80
    assert g["mean_overlap"] == pytest.approx(128 * 0.975 / 130, abs=5e-3)
    assert g["p_hat"] == pytest.approx(0.8, abs=0.02)
    rc, _, err = run(capsys, "theory", "generated", "--n", "128", "--theory", "paper", "--d", "1000", "--json")
    assert rc == 2 and "--theory exact" in err
