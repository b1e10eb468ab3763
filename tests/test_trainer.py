"""The one trainer: resumable checkpoints, divergence, the shared Adam step, presets that arrive, weight decay."""
import math

import numba
import numpy as np
import pytest

from flowphase.numerics.results import ConvergenceError
from flowphase.theory.problem import Problem, weight_decay_to_lambda
from flowphase.validation.simulator import SimulationConfig, driver, simulate, update
from flowphase.validation.tolerances import allowed_deviation

FAST = "numpy" if numba.config.DISABLE_JIT else "numba"


class _Stop(Exception):
    """Raised in place of a kill, and to capture the configuration a call would train."""


def _kill_after(monkeypatch, cfg_like_step: int):
    """Make the backend entry raise once a kernel call would start at or after ``cfg_like_step``."""
    real = dict(driver.BACKEND_TABLE)

    def wrap(fn):
        def dying(xp, jobs, hp, step0, n_steps):
            if step0 >= cfg_like_step and hp.lr > 0:
                raise _Stop("killed")
            return fn(xp, jobs, hp, step0, n_steps)
        return dying

    for k, fn in real.items():
        monkeypatch.setitem(driver.BACKEND_TABLE, k, wrap(fn))
    return real


# ----------------------------------------------------------------------------- resumable training
@pytest.mark.parametrize("backend,kw", [
    (FAST, dict(protocol="authors", epochs=40, lr=1e-2, draws=1)),                  # Adam, projected sampler
    ("numpy", dict(epochs=40, optimizer="gd", lr=0.05, draws=2, init="random", noise_sampler="dense")),
    (FAST, dict(epochs=40)),                                                          # theory preset, expectation
])
def test_killed_run_resumes_bitwise_equal_to_an_uninterrupted_one(tmp_path, monkeypatch, backend, kw):
    pr = Problem.dilated(d=30, n=6, lam_u=1.0, lam_w=1.0)
    args = dict(ts=[0.4, 1.3], seeds=[0, 2], backend=backend, record_every=4, checkpoint_every=10, step_chunk=5, **kw)
    ref = simulate(pr, **args)                                          # uninterrupted, no checkpoint
    ck = tmp_path / "run.ckpt.npz"
    real = _kill_after(monkeypatch, 20)                                 # killed half-way (N/2 = 20)
    with pytest.raises(_Stop):
        simulate(pr, checkpoint=ck, **args)
    for k, fn in real.items():
        monkeypatch.setitem(driver.BACKEND_TABLE, k, fn)
    assert int(np.load(ck)["epoch"]) == 20
    again = simulate(pr, checkpoint=ck, **args)                         # restarted: continues from 20
    assert again.config["resumed_from"] == 20
    assert np.array_equal(again.overlaps, ref.overlaps) and np.array_equal(again.history, ref.history)
    assert np.array_equal(again.grad_norm, ref.grad_norm)
    for k in ("c", "b", "u", "w"):
        assert np.array_equal(again.params[k], ref.params[k]), k
    assert np.max(np.abs(ref.history[:, :, -1, :6] - ref.history[:, :, 0, :6])) > 1e-3     # it trained
    done = simulate(pr, checkpoint=ck, **args)                          # finished: read back, nothing trained
    assert done.config["resumed_from"] == 40 and np.array_equal(done.overlaps, ref.overlaps)


def test_checkpoint_of_another_configuration_is_refused(tmp_path):
    pr = Problem.dilated(d=20, n=4)
    ck = tmp_path / "c.npz"
    simulate(pr, ts=[0.5], epochs=6, checkpoint=ck, checkpoint_every=3)
    with pytest.raises(ValueError, match="another configuration"):
        simulate(pr, ts=[0.5], epochs=6, lr=0.1, checkpoint=ck, checkpoint_every=3)


def test_authors_full_size_trainer_is_the_driver(tmp_path):
    from flowphase.validation import authors_paper as AP

    size = dict(AP.PAPER_SIZE, d=24, n=5, n_times=3, epochs=12, record_every=4, lr=1e-2)
    pr = AP.paper_problem(size)
    ts = pr.schedule.grid(3)
    run = AP.train_resumable(pr, ts, (0, 1), 12, lr=1e-2, record_every=4, progress=False, dtype="float32",
                             checkpoint=tmp_path / "a.npz", checkpoint_every=6)
    sim = simulate(pr, ts=ts, seeds=(0, 1), protocol="authors", epochs=12, lr=1e-2, record_every=4,
                   dtype="float32", noise_sampler="projected")
    assert np.array_equal(run["overlaps"], sim.overlaps) and np.array_equal(run["history"], sim.history)
    assert run["config"]["protocol"] == "authors" and run["config"]["lr_final"] == 1e-2


# ----------------------------------------------------------------------------- divergence
def test_divergence_is_a_convergence_error_naming_the_step():
    pr = Problem.dilated(d=20, n=4)
    with pytest.raises(ConvergenceError, match=r"diverged.*step \d+"):
        simulate(pr, ts=[0.5, 1.5], epochs=60, optimizer="gd", lr=1e5, draws=1, init="random", record_every=1,
                 step_chunk=10, backend=FAST)


def test_authors_trainer_divergence_is_a_convergence_error():
    from flowphase.validation import authors_paper as AP

    pr = AP.paper_problem(dict(AP.PAPER_SIZE, d=20, n=4, n_times=2))
    with pytest.raises(ConvergenceError, match="step"):
        AP.train_resumable(pr, [0.5], (0,), 30, lr=1e6, record_every=1, progress=False, chunk=10)


def test_cli_divergence_exits_1_with_the_step(capsys):
    from flowphase.validation.cli import main

    rc = main(["simulate", "--d", "20", "--n", "4", "--t", "0.5", "--seeds", "1", "--optimizer", "gd",
               "--lr", "1e5", "--draws", "1", "--init", "random", "--epochs", "60"])
    err = capsys.readouterr().err
    assert rc == 1 and "diverged" in err and "step" in err


# ----------------------------------------------------------------------------- one Adam / GD step
def _textbook_adam(p, g_seq, lr, b1, b2, eps):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for k, g in enumerate(g_seq, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** k)) / (np.sqrt(v / (1 - b2 ** k)) + eps)
    return p


def test_shared_adam_steps_match_the_textbook_update():
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal(7)
    gs = rng.standard_normal((5, 7))
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.03
    ref = _textbook_adam(p0, gs, lr, b1, b2, eps)
    pv, m, v = p0.copy(), np.zeros(7), np.zeros(7)                   # numba vector
    pa, ma, va = p0.copy(), np.zeros(7), np.zeros(7)                 # array twin
    ps = [(p0[0], 0.0, 0.0)]                                          # numba scalar
    for k, g in enumerate(gs, start=1):
        bc1, bc2 = 1 - b1 ** k, 1 - b2 ** k
        update.adam_vector(pv, m, v, g, lr, bc1, bc2, b1, b2, eps)
        pa = update.adam_array(np, pa, ma, va, g, lr, bc1, bc2, b1, b2, eps)
        ps.append(update.adam_scalar(*ps[-1], g[0], lr, bc1, bc2, b1, b2, eps))
    tol = allowed_deviation("optimizer_reference", float(np.max(np.abs(ref))))
    assert np.max(np.abs(pv - ref)) <= tol and np.max(np.abs(pa - ref)) <= tol
    assert abs(ps[-1][0] - ref[0]) <= tol
    q = p0.copy()
    update.gd_vector(q, gs[0], 0.5)
    assert np.array_equal(q, p0 - 0.5 * gs[0])


# ----------------------------------------------------------------------------- a preset's values arrive
@pytest.fixture
def captured(monkeypatch):
    """The configuration a call would train, without training it."""
    seen = []

    def fake_run(cfg, **kw):
        seen.append(cfg)
        raise _Stop

    monkeypatch.setattr(driver, "run", fake_run)
    return seen


def test_compare_trains_the_presets_epochs(captured):
    from flowphase.validation.compare import compare

    pr = Problem.dilated(d=50, n=8)
    with pytest.raises(_Stop):
        compare(pr, protocol="authors")
    cfg = captured[-1]
    assert (cfg.protocol, cfg.epochs, cfg.optimizer, cfg.lr, cfg.lr_final) == ("authors", 40000, "adam", 1e-2, 1e-2)
    assert cfg.overrides == ()
    with pytest.raises(_Stop):
        compare(pr)                                                     # default preset: theory
    assert (captured[-1].epochs, captured[-1].optimizer, captured[-1].lr) == (400, "gd", 0.25)
    with pytest.raises(_Stop):
        compare(pr, protocol="authors", epochs=123)                     # a given value overrides
    assert captured[-1].epochs == 123 and captured[-1].overrides == ("epochs",)


@pytest.mark.parametrize("task", ["simulation", "compare"])
def test_sweep_tasks_keep_the_rate_constant_unless_given(captured, task):
    from flowphase.validation.sweep import tasks as T

    fn = T.simulation if task == "simulation" else T.compare_task
    base = dict(t=0.5, p=0.8, sigma=1.0, kappa=2.0, d=40, n=8, lam_u=2.0, lam_w=2.0, noise="fresh", seed=0,
                epochs=50, optimizer="adam", lr=3e-3, draws=1, labels="bernoulli", init="small", backend="numba")
    if task == "compare":
        base.update(n_seeds=2)
    with pytest.raises(_Stop):
        fn(**base)
    assert captured[-1].lr == 3e-3 and captured[-1].lr_final == 3e-3
    with pytest.raises(_Stop):
        fn(**base, lr_final=3e-5)
    assert captured[-1].lr_final == 3e-5


def test_the_authors_two_learning_rates_have_names():
    from flowphase.validation.authors_paper import PAPER_SIZE
    from flowphase.validation.protocols import PROTOCOLS

    pr = Problem.dilated(d=20, n=4)
    assert PROTOCOLS["authors"].settings["lr"] == 1e-2 and PAPER_SIZE["lr"] == 1e-4
    assert SimulationConfig.create(pr, protocol="authors", lr="authors-paper").lr == 1e-4
    assert SimulationConfig.create(pr, lr="authors-code").lr == 1e-2
    with pytest.raises(ValueError, match="lr"):
        SimulationConfig.create(pr, lr="fast")


# ----------------------------------------------------------------------------- weight decay
def test_weight_decay_maps_with_the_runs_own_d_and_t():
    pr = Problem.dilated(d=40, n=6)
    ts = [0.3, 0.8, 1.4]
    cfg = SimulationConfig.create(pr, ts=ts, weight_decay=1e-3)
    lam = 1e-3 * 40 * 3 / 2                                              # wd d T / 2, by hand
    assert math.isclose(cfg.problem.training.lam_u, lam, rel_tol=1e-15)
    assert math.isclose(cfg.problem.training.lam_w, lam, rel_tol=1e-15)
    assert cfg.to_dict()["weight_decay"] == 1e-3 and cfg.to_dict()["lam_u"] == cfg.problem.training.lam_u
    # the authors' d = 5000, T = 80: their wd = 1e-5 is the Problem's default lam = 2
    assert math.isclose(weight_decay_to_lambda(1e-5, 5000, 80), Problem.dilated().training.lam_u)
    a = simulate(pr, ts=ts, epochs=8, weight_decay=1e-3, backend=FAST)
    b = simulate(pr.replace(lam_u=lam, lam_w=lam), ts=ts, epochs=8, backend=FAST)
    assert np.array_equal(a.overlaps, b.overlaps)
    with pytest.raises(ValueError, match="weight_decay"):
        SimulationConfig.create(pr, ts=ts, weight_decay=-1.0)


def test_options_are_keyword_only():
    from flowphase.validation.compare import compare

    pr = Problem.dilated(d=20, n=4)
    with pytest.raises(TypeError):
        simulate(pr, 20, 4)
    with pytest.raises(TypeError):
        compare(pr, 20, 4)
    with pytest.raises(TypeError):
        SimulationConfig.create(pr, 20)


def test_every_config_field_is_documented():
    import dataclasses

    doc = SimulationConfig.__doc__
    for f in dataclasses.fields(SimulationConfig):
        if not f.name.startswith("_"):
            assert f"    {f.name} :" in doc or f", {f.name} :" in doc or f"    {f.name}," in doc, f.name


# ----------------------------------------------------------------------------- prediction from a run's own start
def test_prediction_starts_from_the_runs_own_initial_state_and_tracks_it(tmp_path):
    from flowphase.validation.authors_prediction import predict_from_run, run_initial_state
    from flowphase.validation.tolerances import agrees

    pr = Problem.dilated(d=400, n=8)
    kw = dict(ts=[0.5, 1.5], seeds=[0, 1, 2], record_every=20, backend=FAST)
    sim = simulate(pr, epochs=100, **kw)                                 # theory preset: GD on the expectation
    start = simulate(pr, epochs=1, lr=1e-300, lr_final=1e-300, **kw)    # the initial state, as trained
    st = run_initial_state(sim)
    assert np.array_equal(st["c"], start.params["c"])
    assert np.array_equal(np.abs(st["u"]), np.abs(start.params["u"]))
    assert st["n_plus"] == [int(np.sum(s > 0)) for s in sim.data["s"]]
    pred = predict_from_run(sim)
    assert pred["epochs"] == [0, 20, 40, 60, 80, 100]
    se = sim.stderr()
    for j, nm in enumerate(("c", "m", "omega", "b", "sqrt_q", "sqrt_r")):
        mean = np.asarray(pred["final_mean"][nm])
        for k in range(2):
            assert agrees("exact_dynamics_gd", sim.mean()[k, j], mean[k], se[k, j], d=400), (nm, k)
    export = sim.save_npz(tmp_path / "run.npz")                        # the same from the run's export
    again = predict_from_run(export)
    assert again["final"] == pred["final"]
    with pytest.raises(ValueError, match="constant learning rate"):
        predict_from_run(simulate(pr, epochs=4, lr_final=0.1, **kw))


# ----------------------------------------------------------------------------- the CLI of replicating a run
def _cli(capsys, *argv):
    import json

    from flowphase.validation.cli import main

    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, (json.loads(out.out) if rc == 0 else out.err)


def test_cli_grid_with_init_params_weight_decay_named_lr_and_checkpoint(tmp_path, capsys):
    rc, a = _cli(capsys, "simulate", "--d", "20", "--n", "4", "--grid", "4", "--seeds", "1", "--epochs", "6",
                 "--export", str(tmp_path / "a.npz"))
    assert rc == 0 and sorted(float(t) for t in a["mean"]) == [0.0, 0.5, 1.0, 1.5]
    z = np.load(tmp_path / "a.npz")
    np.savez(tmp_path / "init.npz", c=z["c"][0], b=z["b"][0], u=z["u"][0], w=z["w"][0], ts=z["ts"])
    args = ("simulate", "--d", "20", "--n", "4", "--grid", "4", "--seeds", "1", "--epochs", "6", "--init-params",
            str(tmp_path / "init.npz"), "--weight-decay", "1e-3", "--optimizer", "adam", "--lr", "authors-paper",
            "--checkpoint", str(tmp_path / "ck.npz"), "--checkpoint-every", "3")
    rc, b = _cli(capsys, *args)
    assert rc == 0 and b["config"]["init_params"] == "given" and b["config"]["lr"] == 1e-4
    assert b["config"]["lam_u"] == pytest.approx(1e-3 * 20 * 4 / 2, rel=1e-15)     # wd d T / 2, T = 4 grid times
    rc, again = _cli(capsys, *args)                                                 # finished: read back
    assert rc == 0 and again["config"]["resumed_from"] == 6 and again["mean"] == b["mean"]
    rc, err = _cli(capsys, "simulate", "--d", "20", "--n", "4", "--t", "0.5", "--weight-decay", "1e-3",
                   "--lam-u", "3")
    assert rc == 2 and "--weight-decay" in err
    rc, err = _cli(capsys, "simulate", "--d", "20", "--n", "4", "--epochs", "3")
    assert rc == 2 and "--grid" in err


def test_cli_dynamics_of_a_run_takes_its_problem_and_class_count(tmp_path, capsys):
    rc, _ = _cli(capsys, "simulate", "--d", "40", "--n", "8", "--t", "0.5,1.5", "--seeds", "2", "--labels", "exact",
                 "--epochs", "20", "--export", str(tmp_path / "r.npz"))
    assert rc == 0
    rc, dyn = _cli(capsys, "theory", "dynamics", "--run", str(tmp_path / "r.npz"), "--t", "0.5,1.5", "--epochs", "20")
    assert rc == 0 and len(dyn["times"]) == 2
    assert all(d["n_plus"] == 6 and d["problem"]["d"] == 40 and d["problem"]["n"] == 8 for d in dyn["times"])
    rc, grid = _cli(capsys, "theory", "dynamics", "--grid", "4", "--epochs", "10", "--n", "8", "--d", "50")
    assert rc == 0 and [d["t"] for d in grid["times"]] == [0.0, 0.5, 1.0, 1.5]
    rc, pred = _cli(capsys, "theory", "dynamics", "--run", str(tmp_path / "r.npz"), "--from-run")
    from flowphase.validation.authors_prediction import predict_from_run

    assert rc == 0 and pred["final"] == predict_from_run(tmp_path / "r.npz")["final"] and pred["n_plus"] == [6, 6]
    rc, err = _cli(capsys, "theory", "dynamics", "--run", str(tmp_path / "r.npz"), "--t", "0.5", "--epochs", "5",
                   "--p", "0.6")
    assert rc == 2 and "--p" in err


def test_resume_with_another_checkpoint_period_continues_exactly(tmp_path, monkeypatch):
    pr = Problem.dilated(d=20, n=4)
    args = dict(ts=[0.5, 1.2], epochs=24, protocol="authors", lr=1e-2, record_every=3, backend=FAST)
    ref = simulate(pr, **args)
    ck = tmp_path / "p.npz"
    real = _kill_after(monkeypatch, 10)
    with pytest.raises(_Stop):
        simulate(pr, checkpoint=ck, checkpoint_every=10, step_chunk=10, **args)
    for k, fn in real.items():
        monkeypatch.setitem(driver.BACKEND_TABLE, k, fn)
    again = simulate(pr, checkpoint=ck, checkpoint_every=4, step_chunk=4, **args)    # 10 is not a multiple of 4
    assert again.config["resumed_from"] == 10 and np.array_equal(again.overlaps, ref.overlaps)
