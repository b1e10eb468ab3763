"""Theory on many times in one call: overlaps with sqrt_q, sqrt_r, and the generated samples along the flow (issue 16)."""
import json
import math

import pytest
from scipy.stats import norm

from flowphase.numerics.generation import generated_along_flow, generated_distribution
from flowphase.theory.problem import Problem
from flowphase.validation.cli import main


def test_theory_overlaps_on_a_grid_match_single_calls(capsys):
    rc = main(["theory", "overlaps", "--grid", "80", "--n", "128", "--lam-u", "50", "--lam-w", "1", "--json"])
    assert rc == 0
    g = json.loads(capsys.readouterr().out)
    rows = g["times"]
    assert [r["t"] for r in rows] == pytest.approx([2 * k / 80 for k in range(80)], abs=1e-15)
    assert len(g["jumps"]) == 1 and 0.125 <= g["jumps"][0]["t_star"] <= 0.15
    for k in (0, 20, 40, 41, 79):
        assert main(["theory", "overlaps", "--t", repr(rows[k]["t"]), "--n", "128", "--lam-u", "50",
                     "--lam-w", "1", "--json"]) == 0
        one = json.loads(capsys.readouterr().out)
        assert rows[k]["theory"] == one["theory"] and rows[k]["branch"] == one["branch"]
        for q in ("c", "m", "omega", "b", "z_plus", "z_minus", "a_plus", "a_minus", "sqrt_r", "sqrt_q"):
            if one[q] is None or isinstance(one[q], str):
                assert rows[k][q] == one[q], (k, q)
            else:
                assert rows[k][q] == pytest.approx(one[q], rel=1e-7, abs=1e-9), (k, q)
        if rows[k]["phase"] == 2:
            assert rows[k]["omega"] is None or rows[k]["branch"] != "ridge"
        assert rows[k]["sqrt_q"] >= abs(rows[k]["m"]) - 1e-12   # |u|^2/d >= (u.mu/d)^2
    # the paper's ansatz has w along mu (PAPER §2.2): sqrt(r) = omega in phase 1, flat (null) in phase 2
    assert main(["theory", "overlaps", "--grid", "8", "--theory", "paper", "--n", "128", "--lam-u", "50",
                 "--lam-w", "1"]) == 0
    paper = json.loads(capsys.readouterr().out)
    assert paper["theory"] == "paper"
    for r in paper["times"]:
        assert r["sqrt_r"] == (abs(r["omega"]) if r["phase"] == 1 else None), r
    # PAPER §3.2 table at t = 0.5 through the list form
    assert main(["theory", "overlaps", "--t", "0.25,0.5", "--theory", "paper", "--n", "128", "--lam-u", "50",
                 "--lam-w", "1"]) == 0
    two = json.loads(capsys.readouterr().out)["times"]
    assert (two[1]["omega"], two[1]["b"], two[1]["m"]) == pytest.approx((1.400, 1.065, 0.617), abs=1e-3)
    assert main(["theory", "overlaps", "--t", "0.5", "--grid", "4"]) == 2
    assert main(["theory", "overlaps", "--grid", "0"]) == 2
    assert math.isfinite(two[0]["sqrt_q"])


def test_generated_along_the_flow_at_n_inf_is_the_exact_marginal():
    """n = inf: the learned field is the Bayes one, so y(t) = mu.X_t/sqrt(d) has the law of mu.x_t/sqrt(d):
    p N(kappa t, 1) + (1 - p) N(-kappa t, 1) in phase 1; R = t', P = (1 - t')^2 + t'^2 sigma^2 in phase 2."""
    p, k, sig = 0.8, 2.0, 1.3
    pr = Problem.dilated(p=p, kappa=k, sigma=sig)
    ts = [0.0, 0.3, 0.5, 1.0, 1.25, 1.5, 2.0]
    out = generated_along_flow(pr, ts)
    for row, t in zip(out["times"], ts):
        assert row["t"] == t
        if t <= 1:
            a = k * t
            assert row["p_positive"] == pytest.approx(p * norm.cdf(a) + (1 - p) * norm.cdf(-a), abs=1e-8)
            assert row["y_mean"] == pytest.approx((2 * p - 1) * a, abs=1e-7)
            assert row["y_variance"] == pytest.approx(1 + 4 * p * (1 - p) * a * a, abs=1e-6)
        else:
            tp = t - 1
            assert row["mean_overlap"] == pytest.approx(tp, abs=1e-12)
            assert row["variance"] == pytest.approx((1 - tp) ** 2 + tp ** 2 * sig ** 2, abs=1e-12)
            assert row["p_positive"] == pytest.approx(p, abs=1e-5)


def test_generated_along_the_flow_ends_where_generated_distribution_does(capsys):
    pr = Problem.dilated(n=128)
    end = generated_distribution(pr, transition="euler")
    assert main(["theory", "generated", "--grid", "80", "--theory", "paper", "--n", "128", "--sampler", "euler",
                 "--json"]) == 0
    g = json.loads(capsys.readouterr().out)
    rows = g["times"]
    assert len(rows) == 80 and rows[40]["t"] == 1.0 and rows[40]["phase"] == 1 and rows[41]["phase"] == 2
    assert rows[40]["p_positive"] == pytest.approx(end.y1_prob_positive, abs=1e-9)
    assert rows[40]["y_mean"] == pytest.approx(end.y1_mean, abs=1e-8)
    assert all(r["p_positive"] == pytest.approx(end.p_hat, abs=1e-12) for r in rows[41:])
    two = generated_along_flow(pr, [2.0], transition="euler")["times"][0]
    assert two["mean_overlap"] == pytest.approx(end.mean_overlap, abs=1e-12)
    assert two["variance"] == pytest.approx(end.variance, abs=1e-12)
    # the mode fraction is non-decreasing through phase 1 for p > 1/2 and the overlap grows in phase 2
    ph1 = [r["p_positive"] for r in rows[:41]]
    assert all(b >= a - 1e-12 for a, b in zip(ph1, ph1[1:]))
    assert rows[79]["mean_overlap"] > rows[41]["mean_overlap"]
    assert main(["theory", "generated", "--theory", "paper", "--t", "0.5", "--grid", "3"]) == 2
    assert main(["theory", "generated", "--theory", "paper", "--t", "2.5"]) == 2
    assert main(["theory", "generated", "--theory", "exact", "--t", "0.5"]) == 2     # along the flow: paper only
    capsys.readouterr()
    # --grid T of the exact theory: its training/sampling grid (the same flag as the paper's along-the-flow grid)
    assert main(["theory", "generated", "--theory", "exact", "--n", "16", "--grid", "8", "--json"]) == 0
    g = json.loads(capsys.readouterr().out)
    from flowphase.numerics.theories import ExactFiniteN

    ref = ExactFiniteN().generated(Problem.dilated(n=16), sampler="euler", n_times=8)
    assert g["n_times"] == 8 and g["sampler"] == "euler" and g["p_hat"] == pytest.approx(ref.p_hat, rel=1e-12)
