"""Schedule objects: dilation <-> density equivalence, round trip, sampling statistics, validation."""
import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from flowphase.numerics.schedules import (LogitNormalDensity, LogNormalDensity, LossWeight,
                                          PiecewiseSchedule, TrainingObjective, UniformDensity,
                                          Window, design_schedule, schedule_from_json)
from flowphase.theory.problem import Problem, TimeDilation


def _example():
    return PiecewiseSchedule(windows=[(0.05, 0.15, 8.0), (0.5, 0.6, 3.0)], t_max=1.5)


@pytest.mark.parametrize("kappa,d", [(2.0, 5000), (3.0, 400), (2.0, 100)])
def test_paper_dilation_is_an_instance(kappa, d):
    td = TimeDilation(kappa=kappa, d=d)
    sched = PiecewiseSchedule.from_time_dilation(td)
    t = np.linspace(0, 2, 801)
    np.testing.assert_allclose(sched.tau(t), td.tau(t), atol=1e-14)
    tt = t[(np.abs(t - 1.0) > 1e-9) & (t < 2)]
    np.testing.assert_allclose(sched.dtau(tt), td.dtau(tt), rtol=1e-12)
    assert sched.window_mass() == pytest.approx([0.5], abs=1e-14)
    # drops into a Problem like any schedule
    pb = Problem(schedule=sched)
    assert pb.tau(1.0) == pytest.approx(kappa / math.sqrt(d), rel=1e-13)


def test_tau_monotone_and_density_normalised():
    s = _example()
    t = np.linspace(0, s.t_max, 2001)
    tau = s.tau(t)
    assert tau[0] == 0.0 and tau[-1] == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.diff(tau) > 0)
    # density integrates to 1 (piecewise constant: integrate piece by piece)
    total = sum(integrate.quad(s.density, a, b)[0] for a, b in zip(s.edges[:-1], s.edges[1:]))
    assert total == pytest.approx(1.0, abs=1e-10)
    # dtau/dt = 1/(t_max p(tau)) against a finite difference of tau(t)
    tm = 0.5 * (t[1:] + t[:-1])
    fd = np.diff(tau) / np.diff(t)
    ok = np.abs(tm[:, None] - s.knots_t[None, :]).min(axis=1) > 2 * (t[1] - t[0])
    np.testing.assert_allclose(s.dtau(tm[ok]), fd[ok], rtol=1e-9)
    np.testing.assert_allclose(s.dtau(tm[ok]), 1.0 / (s.t_max * s.density(s.tau(tm[ok]))), rtol=1e-12)
    # relative weights as requested
    assert s.density(0.1) / s.density(0.3) == pytest.approx(8.0)
    assert s.density(0.55) / s.density(0.9) == pytest.approx(3.0)


def test_round_trip():
    s = _example()
    s2 = PiecewiseSchedule.from_json(s.to_json())
    assert s2 == s
    assert schedule_from_json(json.loads(s.to_json())) == s
    for dens in (LogNormalDensity(-1.0, 1.5), LogitNormalDensity(0.3, 0.8), UniformDensity()):
        assert schedule_from_json(json.dumps(dens.to_dict())) == dens


@pytest.mark.parametrize("seed", [0, 1])
def test_sampling_matches_density_ks(seed):
    s = _example()
    x = s.sample(20000, np.random.default_rng(seed))
    res = stats.kstest(x, s.cdf)
    assert res.pvalue > 1e-3
    # fraction in the first window vs its mass, within 4 binomial standard errors
    m = s.window_mass()[0]
    frac = np.mean((x >= 0.05) & (x <= 0.15))
    assert abs(frac - m) < 4 * math.sqrt(m * (1 - m) / x.size)
    # a wrong density is rejected
    assert stats.kstest(x, lambda u: np.clip(u, 0, 1)).pvalue < 1e-6


@pytest.mark.parametrize("dens", [LogNormalDensity(), LogitNormalDensity(), LogitNormalDensity(0.5, 1.3)])
def test_baseline_densities(dens):
    total = integrate.quad(dens.density, 0, 1, limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-7)
    # cdf is the integral of the density
    for u in (0.1, 0.37, 0.8):
        assert dens.cdf(u) == pytest.approx(integrate.quad(dens.density, 0, u, limit=200)[0], abs=1e-7)
    x = dens.sample(20000, np.random.default_rng(3))
    assert stats.kstest(x, dens.cdf).pvalue > 1e-3


def test_edm_and_sd3_conventions():
    # EDM: median noise level exp(P_mean) <-> tau = 1/(1+exp(-1.2))
    e = LogNormalDensity()
    assert e.cdf(1.0 / (1.0 + math.exp(-1.2))) == pytest.approx(0.5, abs=1e-12)
    # SD3 (t=0 data): logit-normal(m) in t_sd3 is logit-normal(-m) in tau = 1 - t_sd3
    a, b = LogitNormalDensity(0.5, 1.0), LogitNormalDensity(-0.5, 1.0)
    assert a.density(0.3) == pytest.approx(b.density(0.7), rel=1e-12)


def test_effective_weight_is_product():
    dens = design_schedule([(0.2, 0.4)], mass=0.5)
    w = LossWeight("min_snr", gamma=2.0)
    obj = TrainingObjective(density=dens, weight=w)
    tau = np.array([0.1, 0.3, 0.5, 0.9])
    snr = tau ** 2 / (1 - tau) ** 2
    np.testing.assert_allclose(obj.effective_weight(tau), dens.density(tau) * np.minimum(snr, 2.0))
    assert dens.density(0.3) == pytest.approx(0.5 / 0.2)
    assert dens.density(0.7) == pytest.approx(0.5 / 0.8)


def test_design_splits_mass_by_size():
    s = design_schedule([{"start": 0.0, "end": 0.1, "size": 3.0}, {"start": 0.5, "end": 0.55, "size": 1.0}],
                        mass=0.6)
    np.testing.assert_allclose(s.window_mass(), [0.45, 0.15], atol=1e-12)


@pytest.mark.parametrize("windows,msg", [
    ([(0.1, 0.3, 2.0), (0.2, 0.4, 2.0)], "overlap"),
    ([(-0.1, 0.3, 2.0)], "start"),
    ([(0.5, 1.2, 2.0)], "end"),
    ([(0.1, 0.3, 0.0)], "weight"),
    ([(0.1, 0.3, -1.0)], "weight"),
    ([(0.3, 0.1, 2.0)], "start"),
    ([(0.1, float("nan"), 2.0)], "end"),
])
def test_bad_windows(windows, msg):
    with pytest.raises(ValueError, match=msg):
        PiecewiseSchedule(windows=windows)


def test_bad_inputs():
    with pytest.raises(ValueError, match="t_max"):
        PiecewiseSchedule(t_max=0.0)
    with pytest.raises(ValueError, match="mass"):
        design_schedule([(0.1, 0.2)], mass=1.0)
    with pytest.raises(ValueError, match="t must lie"):
        _example().tau(2.0)
    with pytest.raises(ValueError, match="kind"):
        LossWeight("bogus")
    with pytest.raises(ValueError, match="k must"):
        _example().sample(0)
    assert isinstance(Window(0, 1, 1), Window)


# ----------------------------------------------------------------------------- one schedule workflow
def _cli(capsys, *argv):
    from flowphase.validation.cli import main

    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _refused(rc, out, err, words):
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and words in err, (rc, out, err)


def test_loader_refuses_what_is_not_a_schedule():
    from flowphase.numerics.schedules import load_schedule

    det = {"windows": [{"start": 0.0, "end": 0.02, "size": 0.6}]}
    for loader in (PiecewiseSchedule.from_json, schedule_from_json, load_schedule):
        with pytest.raises(ValueError, match="not a schedule"):          # the silent uniform sampling of before
            loader(json.dumps(det))
    with pytest.raises(ValueError, match="twice"):
        load_schedule('{"kind": "piecewise", "windows": [], "windows": [{"start": 0, "end": 0.1, "weight": 9}]}')
    with pytest.raises(ValueError, match="unknown key"):
        load_schedule('{"kind": "piecewise", "windows": [{"start": 0, "end": 0.1, "weigth": 9}]}')
    with pytest.raises(ValueError, match="unknown key"):
        load_schedule('{"kind": "logit-normal", "m": 0.5, "ss": 2}')
    with pytest.raises(ValueError, match="not a density"):
        load_schedule('{"kind": "cosine"}')
    # what the package writes loads, with the same law
    sch = design_schedule([{"start": 0.0, "end": 0.02, "size": 1.0}], mass=0.6)
    den = load_schedule(sch.to_json())
    tau = np.linspace(0, 1, 41)
    np.testing.assert_allclose(den.cdf(tau), sch.cdf(tau), atol=1e-13)
    nested = load_schedule(json.dumps({"windows": det["windows"], "schedule": sch.to_dict()}))  # theory windows
    np.testing.assert_allclose(nested.cdf(tau), sch.cdf(tau), atol=1e-13)


def test_cli_sample_refuses_a_detect_json_and_reads_theory_windows(tmp_path, capsys):
    det = tmp_path / "det.json"
    det.write_text(json.dumps({"windows": [{"start": 0.0, "end": 0.02, "size": 0.6}]}))
    _refused(*_cli(capsys, "schedule", "sample", "--schedule", det, "--k", "10"), "schedule design --from")
    rc, out, _ = _cli(capsys, "theory", "windows", "--weights", "0.8,0.2", "--gram", "1,-1;-1,1", "--d", "10000",
                      "--qmc-m", "7", "--mass", "0.5")
    assert rc == 0
    win = tmp_path / "win.json"
    win.write_text(out)
    theory = json.loads(out)
    rc, out, _ = _cli(capsys, "schedule", "sample", "--schedule", win, "--k", "4000", "--seed", "3")
    draws = np.asarray(json.loads(out)["tau"])
    ref = PiecewiseSchedule.from_json(theory["schedule"])
    assert rc == 0 and stats.kstest(draws, ref.cdf).pvalue > 1e-3
    rc, out, _ = _cli(capsys, "schedule", "design", "--from", win, "--mass", "0.5")   # the other route's windows
    assert rc == 0 and sum(json.loads(out)["window_mass"]) == pytest.approx(0.5)


def test_cli_design_refuses_unresolved_windows(tmp_path, capsys):
    det = tmp_path / "det.json"
    det.write_text(json.dumps({"windows": [{"start": 0.0, "end": 0.01, "size": 0.6, "resolved": False,
                                            "resolution": 0.01}]}))
    _refused(*_cli(capsys, "schedule", "design", "--from", det), "--accept-unresolved")
    rc, out, _ = _cli(capsys, "schedule", "design", "--from", det, "--accept-unresolved", "--mass", "0.4")
    assert rc == 0 and json.loads(out)["window_mass"] == pytest.approx([0.4])
    sched = tmp_path / "s.json"
    sched.write_text(out)
    _refused(*_cli(capsys, "schedule", "design", "--from", sched), "is a schedule")
    rc, out, _ = _cli(capsys, "schedule", "design", "--from", det, "--accept-unresolved", "--base", "logit-normal:0,1",
                      "--mass", "0.4")
    from flowphase.theory.densities import LogitNormal, density_from_dict

    pa = density_from_dict({k: v for k, v in json.loads(out).items() if k != "window_mass"})
    assert pa.mass(0.0, 0.01) == pytest.approx(0.4 + 0.6 * LogitNormal(0, 1).mass(0.0, 0.01))


def test_theory_mse_curve_feeds_detect(tmp_path, capsys):
    from flowphase.numerics.detect import detect_windows, gmm_bayes_mse

    d = 1e4
    rc, out, _ = _cli(capsys, "theory", "mse", "--grid", "400", "--no-dilation", "--d", d)
    curve = json.loads(out)
    assert rc == 0 and curve["output"] == "mse-curve" and len(curve["tau"]) == 400
    tau = np.arange(400) / 400
    np.testing.assert_allclose(curve["mse"], gmm_bayes_mse(tau, d, 0.8, 1.0, n_quad=241), rtol=1e-9)
    rc, out, _ = _cli(capsys, "theory", "mse", "--t", "0.0025,0.5", "--no-dilation", "--d", d)
    assert json.loads(out)["mse"] == pytest.approx(gmm_bayes_mse(np.array([0.0025, 0.5]), d, 0.8, 1.0, n_quad=241).tolist())
    f = tmp_path / "mse.json"
    f.write_text(json.dumps(curve))
    rc, out, _ = _cli(capsys, "schedule", "detect", "--from", f, "--json")
    ref = detect_windows(tau, gmm_bayes_mse(tau, d, 0.8, 1.0, n_quad=241))
    got = json.loads(out)["windows"]
    assert rc == 0 and [(w["start"], w["end"]) for w in got] == [(w.start, w.end) for w in ref]
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"t": 0.1, "mse": 1.0}))
    _refused(*_cli(capsys, "schedule", "detect", "--from", single), "not a curve")


def test_detect_csv_in_another_convention(tmp_path, capsys):
    from flowphase.numerics.detect import gmm_bayes_mse

    tau = np.linspace(0.0, 0.99, 500)
    eps = gmm_bayes_mse(tau, 1e4, 0.8, 1.0)
    a, b = tmp_path / "tau.csv", tmp_path / "sigma.csv"
    a.write_text("tau,loss\n" + "".join(f"{float(x)!r},{float(y)!r}\n" for x, y in zip(tau, eps)))
    b.write_text("sigma,loss\n" + "".join(f"{float(1 - x)!r},{float(y)!r}\n" for x, y in zip(tau[::-1], eps[::-1])))
    _, out_a, _ = _cli(capsys, "schedule", "detect", "--csv", a, "--json")
    rc, out_b, _ = _cli(capsys, "schedule", "detect", "--csv", b, "--convention", "diffusers", "--json")
    wa, wb = json.loads(out_a)["windows"], json.loads(out_b)["windows"]
    assert rc == 0 and len(wa) == len(wb) == 1
    assert wb[0]["start"] == pytest.approx(wa[0]["start"], abs=1e-12)
    assert wb[0]["end"] == pytest.approx(wa[0]["end"], abs=1e-12)
    _, out_c, _ = _cli(capsys, "schedule", "detect", "--csv", b, "--json")    # sigma read as tau: the mirror image
    wc = json.loads(out_c)["windows"]
    assert wc[0]["start"] == pytest.approx(1 - wa[0]["end"], abs=1e-12) and wc[0]["start"] > 0.9


def test_cli_evaluate_contract(capsys):
    from flowphase.numerics.atlas import TwoMode, evaluate
    from flowphase.theory.densities import LogitNormal, Uniform

    rc, out, _ = _cli(capsys, "schedule", "evaluate", "--density", "logit-normal:0,1", "--d", "1000", "--json")
    one = json.loads(out)
    ref = evaluate(TwoMode(0.8, 1.0), LogitNormal(0, 1), 1000)
    assert rc == 0 and one["p_hat"] == pytest.approx(ref.p_hat[0], abs=1e-12)
    assert one["max_weight_error"] == pytest.approx(abs(ref.p_hat[0] - 0.8), abs=1e-12)
    rc, out, _ = _cli(capsys, "schedule", "evaluate", "--density", "uniform", "--density", "dilation:2",
                      "--d", "1e3,1e4", "--T", "40", "--p", "0.7")
    rows = json.loads(out)["rows"]
    assert rc == 0 and [(r["spec"], r["d"]) for r in rows] == [("uniform", 1e3), ("uniform", 1e4),
                                                               ("dilation:2", 1e3), ("dilation:2", 1e4)]
    assert rows[1]["p_hat"] == pytest.approx(evaluate(TwoMode(0.7, 1.0), Uniform(), 1e4, T=40).p_hat[0], abs=1e-12)
    _refused(*_cli(capsys, "schedule", "evaluate", "--density", "dilation:2", "--d", "3"), "kappa/sqrt(d)")
    _refused(*_cli(capsys, "schedule", "evaluate", "--density", "logit-normal:0,-1", "--d", "100"), "s must lie")
    _refused(*_cli(capsys, "schedule", "evaluate", "--density", "uniform", "--d", "100", "--n", "10",
                   "--mixture", "hierarchy"), "two-mode only")
    _refused(*_cli(capsys, "schedule", "evaluate", "--density", "uniform", "--density", "phase-aware:foo@auto,0.5",
                   "--d", "100"), "unknown density 'foo'")                 # checked before the first row is computed


def test_cli_sample_density_in_a_convention(capsys):
    rc, out, _ = _cli(capsys, "schedule", "sample", "--density", "dilation:2", "--d", "10000", "--grid", "4",
                      "--convention", "diffusers-timesteps", "--num-train-timesteps", "1000")
    obj = json.loads(out)
    assert rc == 0 and obj["tau"] == pytest.approx([0.0, 0.01, 0.02, 0.51])
    assert obj["values"] == [1000, 990, 980, 490]
    _refused(*_cli(capsys, "schedule", "sample", "--density", "dilation:2", "--grid", "4"), "needs the dimension d")
