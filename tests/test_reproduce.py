"""`flowphase reproduce all --quick`: every figure builds, its JSON equals the library's values and carries its
claims with verdicts, and the report's verdicts are the ones computed from the plotted numbers; figures are built
for the user's own problem (``--p --sigma --kappa --lam-u --lam-w --d --n``)."""
import json

import numpy as np
import pytest

from flowphase.theory.problem import Problem
from flowphase.validation.reproduce import FIGURES, available_figures


@pytest.fixture(scope="module")
def built(quick_reproduction):
    return quick_reproduction      # tests/conftest.py: built once per session


def test_every_figure_builds_in_quick_mode(built):
    out, outputs = built
    assert set(available_figures()) == set(FIGURES)
    assert set(outputs) == set(FIGURES)
    for name in FIGURES:
        for ext in ("png", "pdf", "json"):
            assert (out / f"{name}.{ext}").stat().st_size > 0, (name, ext)
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / f"{name}.pdf").read_bytes()[:4] == b"%PDF"


def test_theory_curves_in_json_equal_library_values(built):
    from flowphase.numerics.learned import learned_curve
    from flowphase.numerics.mse import mse_curve
    from flowphase.numerics.speciation import cloning_probability, speciation_time

    out, _ = built
    ov = json.loads((out / "overlaps.json").read_text())
    n = ov["params"]["n"]
    lam_u, lam_w = ov["params"]["lam_theory"]
    cur = learned_curve(Problem.dilated(d=ov["params"]["d"], n=n, lam_u=lam_u, lam_w=lam_w), ov["t_theory"])
    for k in ("c", "m", "omega"):
        got = np.array(ov["theory_finite_n"][k], dtype=float)
        ref = getattr(cur, k)
        ok = np.isfinite(ref)
        np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-10, atol=1e-12)
    # n = inf dashed curves are the population fixed point: omega = kappa t on phase 1
    t = np.array(ov["t_theory"])
    np.testing.assert_allclose(np.array(ov["theory_infinite_n"]["omega"], float)[t <= 1], 2.0 * t[t <= 1], atol=1e-6)

    ms = json.loads((out / "mse.json").read_text())
    np.testing.assert_allclose(ms["theory_dilated"]["2"], mse_curve(Problem.dilated(), ms["t_dilated"]), rtol=1e-12)
    assert ms["jump_undilated"][0]["size"] == pytest.approx(0.64, abs=1e-12)
    assert ms["jumps_dilated"]["2"][0]["size"] == pytest.approx(0.0527, abs=1e-4)

    sp = json.loads((out / "speciation.json").read_text())
    d = sp["d"][1]
    ts = speciation_time(d)
    np.testing.assert_allclose(sp["phi"][str(d)], cloning_probability(np.array(sp["t_over_ts"]) * ts, d), rtol=1e-12)

    cf = json.loads((out / "cui-flow.json").read_text())
    assert cf["closed_form"]["Q"][-1] == pytest.approx(3.7900, abs=1e-4)      # PREDECESSOR §2.7
    assert cf["closed_form"]["M"][-1] == pytest.approx(0.9877, abs=1e-4)


def test_report_verdicts_are_computed(built):
    out, outputs = built
    report = (out / "REPORT.md").read_text()
    for name, o in outputs.items():
        assert f"## {name}" in report
        counts = [sum(c.verdict == v for c in o.claims) for v in ("confirmed", "refuted", "inconclusive")]
        assert f"| {name} | {counts[0]} | {counts[1]} | {counts[2]} |" in report
        for c in o.claims:
            assert f"| {name} | {c.text.replace('|', chr(92) + '|')} | {c.verdict.upper()} |" in report
    # recompute verdicts independently from the JSON numbers (limit 0.03, budget 3 standard errors)
    mf = json.loads((out / "mode-fraction.json").read_text())
    p = mf["params"]["p"]
    dev = [abs(x - p) for x in mf["sim_dilated"]]
    if all(v <= 0.03 for v in dev):
        expect = "confirmed"
    elif any(v > 0.03 + 3 * e for v, e in zip(dev, mf["sim_dilated_se"])):
        expect = "refuted"
    else:
        expect = "inconclusive"
    assert outputs["mode-fraction"].claims[0].verdict == expect
    sim = json.loads((out / "simplification.json").read_text())
    c2 = np.array(sim["phase2"]["finite_n"]["c"])
    spread = float(np.max(c2.max(axis=0) - c2.min(axis=0)))
    assert spread < 1e-12
    assert outputs["simplification"].claims[2].confirmed == (spread < 1e-12)
    # the U-Turn re-allocation claim follows its 95 % t-interval over seeds: above 0, below 0, or containing 0
    ut = json.loads((out / "uturn.json").read_text())
    lo, hi = ut["reallocation"]["summary"]["error_uniform_minus_reallocated"]["ci95"]
    realloc = [c for c in outputs["uturn"].claims if c.text.startswith("oversampling the window")][0]
    assert realloc.verdict == ("confirmed" if lo > 0 else "refuted" if hi < 0 else "inconclusive")
    # a claim that is false is reported as such
    from flowphase.validation.reproduce import Claim, FigureOutput, write_report

    path = write_report([FigureOutput("x", [], {}, claims=[Claim("c", False, "d")])], out / "neg", quick=True)
    assert "| x | c | REFUTED | d |" in path.read_text()


#: claims a quick run cannot decide: their measured difference lies within the standard-error budget at the quick
#: sizes (the numbers are in each claim's reason).  Every other claim must be confirmed.
QUICK_UNDECIDABLE = {
    ("mode-fraction", "trained denoisers without dilation drift away from p as d grows"),   # 2 seeds per d
    ("mode-fraction", "p̂ drifts away from p without dilation as d grows"),                # 4000 samples per d
    ("finite-n", "trained denoisers approach the predicted mode mean as d grows (finite-d deficit shrinks)"),
    ("uturn", "oversampling the window lowers |p̂₀ − 0.8| at equal budget (95 % CI above 0)"),  # 2 seeds
    ("hierarchy", "trained softmax model, paper schedule, d = 200: p̂ within 4 stderr + 0.03 of the exact flow on "
                  "the same grid"),                                                          # 2 seeds, n = 64
    ("hierarchy", "trained softmax model, designed schedule, d = 200: p̂ within 4 stderr + 0.03 of the exact flow "
                  "on the same grid"),
}


def test_no_quick_claim_is_refuted_and_every_decidable_claim_is_confirmed(built):
    _, outputs = built
    for name, o in outputs.items():
        assert o.claims, name
        for c in o.claims:
            assert c.verdict != "refuted", (name, c.text, c.detail)
            if (name, c.text) in QUICK_UNDECIDABLE:
                assert c.verdict in ("confirmed", "inconclusive"), (name, c.text)
            else:
                assert c.verdict == "confirmed", (name, c.text, c.detail, c.reason)
            if c.verdict == "inconclusive":
                assert "standard-error budget" in c.reason or "t-interval" in c.reason, c.reason
                assert "at this size (" in c.reason, c.reason


def test_verdict_rules():
    from flowphase.validation.claims import Claim, combine, exceeds, within

    assert within(0.09, 0.1, 0.05)[0] == "confirmed"
    assert within(0.12, 0.1, 0.05)[0] == "inconclusive"      # beyond the limit by less than the budget
    assert within(0.16, 0.1, 0.05)[0] == "refuted"
    assert within(float("nan"), 0.1, 0.05)[0] == "refuted"
    assert exceeds(0.2, 0.0, 0.1)[0] == "confirmed"
    assert exceeds(0.05, 0.0, 0.1)[0] == "inconclusive" and exceeds(-0.05, 0.0, 0.1)[0] == "inconclusive"
    assert exceeds(-0.2, 0.0, 0.1)[0] == "refuted"
    assert exceeds(0.0, 0.0)[0] == "refuted" and exceeds(1e-9, 0.0)[0] == "confirmed"   # no noise: two-valued
    assert combine([within(0.0, 1.0), within(1.5, 1.0, 1.0)])[0] == "inconclusive"
    assert combine([within(1.5, 1.0, 1.0), within(9.0, 1.0)])[0] == "refuted"
    c = Claim("t", within(0.12, 0.1, 0.05), size="2 seeds")
    assert c.verdict == "inconclusive" and not c.confirmed and not c.decided
    assert c.reason.endswith("at this size (2 seeds)") and c.to_dict()["verdict"] == "inconclusive"
    assert Claim("t", True).to_dict() == {"claim": "t", "verdict": "confirmed", "confirmed": True, "detail": "",
                                          "reason": ""}
    with pytest.raises(ValueError, match="needs a reason"):
        Claim("t", "inconclusive")
    with pytest.raises(ValueError, match="verdict must be"):
        Claim("t", "maybe")


def test_cli_reproduce_one_figure(tmp_path, capsys):
    from flowphase.validation.cli import main

    assert main(["reproduce", "speciation", "--out", str(tmp_path), "--quick", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"speciation"}
    assert all(c["confirmed"] and c["verdict"] == "confirmed" for c in summary["speciation"]["claims"])
    assert main(["reproduce", "no-such-figure", "--out", str(tmp_path)]) == 2
    assert "unknown figure" in capsys.readouterr().err


def test_every_figure_json_carries_its_claims_and_verdicts(built):
    out, outputs = built
    for name, o in outputs.items():
        data = json.loads((out / f"{name}.json").read_text())
        assert [c["claim"] for c in data["claims"]] == [c.text for c in o.claims], name
        assert [c["verdict"] for c in data["claims"]] == [c.verdict for c in o.claims], name
        assert data["verdicts"] == {v: sum(c.verdict == v for c in o.claims)
                                    for v in ("confirmed", "refuted", "inconclusive")}, name


def test_overlaps_for_the_users_problem(tmp_path, capsys):
    """``reproduce overlaps --p 0.7 --sigma 1.2``: the JSON records that problem and its theory is that problem's —
    checked against closed forms, not the library: the n = inf phase-1 bias is h = artanh(2p - 1) (PAPER §3.1),
    the n = inf phase-2 c is t' sigma^2 / ((1 - t')^2 + t'^2 sigma^2) (PAPER §3.3), and the verdict lines printed
    on stderr are the JSON's."""
    from flowphase.validation.cli import main

    assert main(["reproduce", "overlaps", "--quick", "--p", "0.7", "--sigma", "1.2", "--d", "200", "--n", "16",
                 "--out", str(tmp_path), "--no-progress"]) == 0
    captured = capsys.readouterr()
    data = json.loads((tmp_path / "overlaps.json").read_text())
    assert (data["problem"]["p"], data["problem"]["sigma"], data["problem"]["kappa"]) == (0.7, 1.2, 2.0)
    assert (data["problem"]["d"], data["problem"]["n"]) == (200, 16) and data["sizes"] == {"d": 200, "n": 16}
    assert (data["params"]["p"], data["params"]["sigma"], data["params"]["d"], data["params"]["n"]) == (0.7, 1.2, 200, 16)
    t = np.array(data["t_theory"])
    b_inf = np.array(data["theory_infinite_n"]["b"], dtype=float)
    ph1 = (t > 0.05) & (t <= 1.0)
    np.testing.assert_allclose(b_inf[ph1], np.arctanh(2 * 0.7 - 1), atol=1e-6)     # 0.4236, default 0.6931
    tp = t[t > 1.05] - 1.0
    c_inf = np.array(data["theory_infinite_n"]["c"], dtype=float)[t > 1.05]
    np.testing.assert_allclose(c_inf, tp * 1.44 / ((1 - tp) ** 2 + tp ** 2 * 1.44), rtol=1e-6)
    lines = [ln for ln in captured.err.splitlines() if ln.split() and ln.split()[0] in
             ("CONFIRMED", "REFUTED", "INCONCLUSIVE")]
    assert [ln.split()[0].lower() for ln in lines] == [c["verdict"] for c in data["claims"]]
    assert json.loads(captured.out)["overlaps"]["claims"] == data["claims"]


def test_options_a_figure_does_not_take_are_refused_before_any_work(tmp_path, capsys):
    from flowphase.validation.cli import main
    from flowphase.validation.reproduce import reproduce

    for argv, msg in ((["speciation", "--p", "0.7"], "does not take p"),
                      (["mode-fraction", "--d", "500"], "does not take d"),
                      (["uturn", "--sigma", "2"], "takes no problem"),
                      (["cui-flow", "--kappa", "3"], "does not take kappa"),
                      (["overlaps", "--p", "1.5"], "p must lie in"),
                      (["cui-flow", "--lam-u", "0.2"], "lam_u must equal lam_w")):
        out = tmp_path / argv[0]
        assert main(["reproduce", *argv, "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1, err
        assert not out.exists() or not any(out.iterdir())
    with pytest.raises(ValueError, match="'hierarchy' takes no problem parameters"):
        reproduce(["overlaps", "hierarchy"], tmp_path / "x", sigma=1.2)
    assert not (tmp_path / "x").exists()


def test_reproduce_help_lists_every_figure_with_its_defaults(capsys):
    from flowphase.validation.cli import main

    try:
        rc = main(["reproduce", "--help"])
    except SystemExit as exc:
        rc = exc.code
    assert rc in (0, None)
    text = capsys.readouterr().out
    for name in FIGURES:
        assert f"\n  {name} " in text, name
    assert "lam_u=50.0" in text and "--lam-u" in text and "--d" in text
