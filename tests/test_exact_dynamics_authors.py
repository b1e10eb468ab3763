"""The authors' run predicted (issue 14 item 2): initial states re-drawn from the run's streams, convergence epochs."""
import numpy as np
import pytest

from flowphase.numerics.exact.stochastic import derived_overlaps
from flowphase.validation import authors_paper as AP
from flowphase.validation.authors_prediction import (convergence_epoch, paper_initial_states, predict_run,
                                                     PRED_NAMES)

TINY = dict(AP.PAPER_SIZE, d=60, n=8, n_times=4, epochs=40, checkpoint_every=20, record_every=10, lr=1e-2,
            seeds=(0,))


def test_convergence_epoch():
    ep = [0, 10, 20, 30, 40]
    assert convergence_epoch(ep, [0.0, 0.5, 0.5005, 0.4995, 0.5], [1, 0.5, 0.005, 0.004, 0.003], 0.5) == 20
    assert convergence_epoch(ep, [0.0, 0.5, 0.5, 0.6, 0.5], [0.0] * 5, 0.5) == 40
    assert convergence_epoch(ep, [0.5] * 5, [0.0, 0.0, 0.0, 0.0, 0.02], 0.5) is None
    assert convergence_epoch(ep, [0.5] * 5, [0.0] * 5, 0.5) == 0


def test_initial_states_are_the_training_runs_first_record():
    """paper_initial_states re-draws what train_resumable trains (same streams, float32 storage): the first
    recorded overlaps agree to float32 round-off."""
    pr = AP.paper_problem(TINY)
    labels, y0, ts = paper_initial_states(TINY, 0, pr)
    run = AP.train_resumable(pr, ts, (0,), 1, lr=1e-2, record_every=1, progress=False, dtype=TINY["dtype"])
    h0 = np.asarray(run["history"])[0, :, 0]
    ov = derived_overlaps(y0, 8)
    for q, nm in enumerate(("c", "m", "omega", "b", "sqrt_q", "sqrt_r")):
        ref = h0[:, q] if nm in ("c", "sqrt_q", "sqrt_r") else np.abs(h0[:, q])
        got = ov[nm] if nm in ("c", "sqrt_q", "sqrt_r") else np.abs(ov[nm])
        assert np.allclose(got, ref, atol=1e-5), (nm, got, ref)
    assert labels.size == 8 and set(np.unique(labels)) <= {-1.0, 1.0}


def test_predict_run_tiny():
    res = predict_run(TINY, ts_index=[1, 3], horizon=80, stride=10, progress=False)
    assert res["t"] == [0.5, 1.5]
    for nm in PRED_NAMES:
        assert np.all(np.isfinite(res["final_mean"][nm]))
    job = res["per_seed"][0]["jobs"][0]
    assert job["trajectory"]["epochs"] == list(range(0, 81, 10))
    assert job["final"]["c"] == job["trajectory"]["c"][4]           # epoch 40 = TINY["epochs"]
    assert job["convergence_epoch"] is None or 0 <= job["convergence_epoch"] <= 80
    # the jobs of a seed run in threads (the map releases the GIL): the same numbers as one thread, in order
    one = predict_run(TINY, ts_index=[1, 3], horizon=80, stride=10, progress=False, workers=1)
    two = predict_run(TINY, ts_index=[1, 3], horizon=80, stride=10, progress=False, workers=2)
    assert one["final_mean"] == two["final_mean"] == res["final_mean"]
    assert [j["t"] for j in two["per_seed"][0]["jobs"]] == [0.5, 1.5]


@pytest.mark.slow
def test_paper_figure_tiny_carries_prediction_and_published_dots(tmp_path):
    out = AP.paper_figure(tmp_path, progress=False, size=dict(TINY, seeds=(0, 1)))
    d = out.data
    assert len(d["prediction"]["t"]) == 4 and set(d["published_dots"]) >= {"c", "m", "omega", "b"}
    assert (tmp_path / "overlaps-authors-prediction.json").exists()
    again = AP.paper_data(tmp_path, size=dict(TINY, seeds=(0, 1)), progress=False)   # prediction read from the cache
    assert again["prediction"]["final_mean"] == d["prediction"]["final_mean"]
