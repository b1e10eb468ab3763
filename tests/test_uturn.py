"""U-Turn pipeline in quick mode, the decision window, re-allocation bookkeeping, intervals and the CLI."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from flowphase.validation.cli import main
from flowphase.validation.tolerances import agrees
from flowphase.validation.uturn import (QUICK, decision_window, make_uturn_figure, reallocation_experiment,
                                        run_uturn, t_interval, wilson_interval)


@pytest.fixture(scope="module")
def quick_result():
    return run_uturn(QUICK, reallocate=False)


def test_wilson_matches_scipy():
    for k, n in [(0, 60), (3, 60), (30, 60), (60, 60), (812, 1000)]:
        lo, hi = wilson_interval(k, n)
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert lo == pytest.approx(ci.low, abs=1e-12) and hi == pytest.approx(ci.high, abs=1e-12)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


def test_t_interval_matches_scipy():
    v = np.array([0.12, 0.05, 0.09, 0.2, 0.07])
    m, lo, hi = t_interval(v)
    ref = stats.t.interval(0.95, v.size - 1, loc=v.mean(), scale=stats.sem(v))
    assert (lo, hi) == pytest.approx(ref, abs=1e-12) and m == pytest.approx(v.mean())


def test_decision_window_on_a_known_sigmoid():
    s = np.round(np.arange(0.05, 1.0, 0.05), 2)
    f1 = 0.85 / (1 + np.exp(-(s - 0.45) / 0.05))  # minority curve rises around s = 0.45
    curves = {"s": s.tolist(), "frac0_from0": np.full(s.size, 0.95).tolist(), "frac0_from1": f1.tolist()}
    w = decision_window(curves)
    assert w["s_start"] < 0.45 < w["s_end"]
    assert w["s_end"] - w["s_start"] <= 0.35
    assert w["tau_start"] == pytest.approx(1 - w["s_end"]) and w["tau_end"] == pytest.approx(1 - w["s_start"])
    flat = dict(curves, frac0_from1=np.full(s.size, 0.3).tolist())
    assert decision_window(flat) is None


def test_uturn_quick_pipeline(quick_result):
    r = quick_result
    assert r["classifier"]["heldout_accuracy"] >= 0.98
    assert r["data"]["zero_fraction"] == pytest.approx(178 / 222)
    c = r["curves"]
    n = c["n_per_class"]
    # small U-Turn time: the class is kept (Wilson upper/lower bounds exclude 1/2)
    assert c["frac0_from0_lo"][0] > 0.5 and c["frac0_from1_hi"][0] < 0.5
    # large U-Turn time: the class is forgotten — the two curves agree within a two-proportion z-test at 1e-3
    f0, f1 = c["frac0_from0"][-1], c["frac0_from1"][-1]
    pool = 0.5 * (f0 + f1)
    se = math.sqrt(max(pool * (1 - pool), 1.0 / n) * 2 / n)
    assert agrees("uturn_forgotten", f0, f1, se)
    # the start-from-1 curve rises: the decision window is found inside the grid
    w = r["window"]
    assert w is not None and c["s"][0] <= w["s_start"] < w["s_end"] <= c["s"][-1]
    # intervals bracket the estimates
    for key in ("frac0_from0", "frac0_from1"):
        assert np.all(np.asarray(c[key + "_lo"]) <= np.asarray(c[key])) and np.all(np.asarray(c[key]) <= np.asarray(c[key + "_hi"]))


def test_figure_files(quick_result, tmp_path):
    paths = make_uturn_figure(tmp_path, result=dict(quick_result))
    assert set(paths) == {"json", "png", "pdf"}
    assert open(paths["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert open(paths["pdf"], "rb").read(5) == b"%PDF-"
    back = json.loads(open(paths["json"]).read())
    assert back["curves"]["s"] == list(QUICK.s_grid)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files


def test_reallocation_bookkeeping(quick_result):
    from flowphase.validation.digits import load_imbalanced_digits, train_classifier

    data = load_imbalanced_digits()
    clf = train_classifier(data)
    cfg = replace(QUICK, train_steps=150, hidden=32, seeds=(0, 1), n_gen=40, steps_per_unit=40)
    window = {"tau_start": 0.4, "tau_end": 0.7}
    re = reallocation_experiment(data, clf, window, cfg)
    sched = re["schedule"]["windows"][0]
    # half of the training times in a window of width 0.3: weight (0.5/0.3)/(0.5/0.7)
    assert sched["weight"] == pytest.approx(0.7 / 0.3)
    for arm in ("uniform", "reallocated"):
        recs = re["records"][arm]
        assert [r["seed"] for r in recs] == [0, 1]
        for r in recs:
            assert r["error"] == pytest.approx(abs(r["p0_hat"] - 0.8))
            assert 0.5 <= r["confidence"] <= 1.0
        errs = [r["error"] for r in recs]
        summ = re["summary"][arm]["error"]
        assert summ["mean"] == pytest.approx(np.mean(errs))
        ref = stats.t.interval(0.95, 1, loc=np.mean(errs), scale=stats.sem(errs)) if np.std(errs) > 0 else (np.mean(errs),) * 2
        assert summ["ci95"] == pytest.approx(list(ref), abs=1e-12)


def test_cli_uturn_quick(tmp_path, capsys):
    assert main(["uturn", "--dataset", "digits", "--quick", "--no-reallocate", "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["classifier_accuracy"] >= 0.98
    assert (tmp_path / "uturn.png").exists() and (tmp_path / "uturn.pdf").exists()
    assert main(["uturn", "--dataset", "cifar", "--out", str(tmp_path)]) == 2
    assert "digits" in capsys.readouterr().err
    # the NumPy digits path runs on the CPU only; the device belongs to the PyTorch pipeline
    assert main(["uturn", "--dataset", "digits", "--device", "cuda", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
