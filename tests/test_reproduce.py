"""`flowphase reproduce all --quick`: every figure builds, its JSON equals the library's values, and the
report's verdicts are the ones computed from the plotted numbers (issue 4)."""
import json
import math
import re

import numpy as np
import pytest

from flowphase.theory.problem import Problem
from flowphase.validation.reproduce import FIGURES, available_figures, reproduce


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    outputs = reproduce("all", out, quick=True, progress=False)
    return out, {o.name: o for o in outputs}


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
        for c in o.claims:
            verdict = "CONFIRMED" if c.confirmed else "NOT CONFIRMED"
            assert f"| {name} | {c.text.replace('|', chr(92) + '|')} | {verdict} |" in report
    # recompute two verdicts independently from the JSON numbers
    mf = json.loads((out / "mode-fraction.json").read_text())
    p = mf["params"]["p"]
    dil_ok = max(abs(x - p) for x in mf["sim_dilated"]) < 0.03
    assert outputs["mode-fraction"].claims[0].confirmed == dil_ok
    sim = json.loads((out / "simplification.json").read_text())
    c2 = np.array(sim["phase2"]["finite_n"]["c"])
    spread = float(np.max(c2.max(axis=0) - c2.min(axis=0)))
    assert spread < 1e-12
    assert outputs["simplification"].claims[2].confirmed == (spread < 1e-12)
    # a claim that is false is reported as such
    from flowphase.validation.reproduce import Claim, FigureOutput, write_report

    path = write_report([FigureOutput("x", [], {}, claims=[Claim("c", False, "d")])], out / "neg", quick=True)
    assert "| x | c | NOT CONFIRMED | d |" in path.read_text()


def test_cli_reproduce_one_figure(tmp_path, capsys):
    from flowphase.validation.cli import main

    assert main(["reproduce", "speciation", "--out", str(tmp_path), "--quick", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"speciation"}
    assert all(c["confirmed"] for c in summary["speciation"]["claims"])
    assert main(["reproduce", "no-such-figure", "--out", str(tmp_path)]) == 2
    assert "unknown figure" in capsys.readouterr().err
