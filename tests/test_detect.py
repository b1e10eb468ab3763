"""Phase-transition detector: synthetic jumps, the GMM's 1/sqrt(d) window, and detect -> design -> sample."""
import math

import numpy as np
import pytest

from flowphase.numerics.detect import detect_windows, gmm_bayes_mse, read_curve_csv
from flowphase.validation.tolerances import agrees
from flowphase.numerics.schedules import PiecewiseSchedule, design_schedule
from flowphase.theory.problem import TimeDilation, log_odds


def _tanh_steps(t, jumps, slope=0.0):
    y = slope * t
    for tc, w, H in jumps:
        y = y - 0.5 * H * np.tanh((t - tc) / w)
    return y


@pytest.mark.parametrize("rel_height,frac", [(0.1, math.tanh(math.acosh(math.sqrt(10)))),
                                             (0.5, math.tanh(math.acosh(math.sqrt(2))))])
def test_single_tanh_jump(rel_height, frac):
    rng = np.random.default_rng(0)
    t = np.sort(np.concatenate([[0.0, 1.0], rng.random(3000)]))  # non-uniform grid
    tc, w, H = 0.37, 0.01, 0.8
    y = _tanh_steps(t, [(tc, w, H)])
    (win,) = detect_windows(t, y, rel_height=rel_height)
    res = win.resolution
    assert abs(win.peak - tc) < 2 * res
    # window = tc ± w acosh(1/sqrt(rel_height)), to the grid resolution
    half = w * math.acosh(1 / math.sqrt(rel_height))
    assert abs(win.start - (tc - half)) < 2 * res and abs(win.end - (tc + half)) < 2 * res
    # captured height tanh(acosh(1/sqrt(rel))) H
    assert win.size == pytest.approx(frac * H, rel=0.02)
    assert win.resolved


def test_two_jumps_on_a_background():
    t = np.linspace(0, 2, 4001)
    jumps = [(0.3, 0.004, 0.64), (1.4, 0.02, 0.3)]
    y = _tanh_steps(t, jumps, slope=-0.2)
    wins = detect_windows(t, y)
    assert len(wins) == 2
    for win, (tc, w, H) in zip(wins, jumps):
        assert abs(win.peak - tc) < 2 * (t[1] - t[0])
        # 94.9% of the jump, plus the background drop over the window
        expect = 0.949 * H + 0.2 * (win.end - win.start)
        assert win.size == pytest.approx(expect, rel=0.03)
    # widths scale with w: ratio 5
    assert (wins[1].end - wins[1].start) / (wins[0].end - wins[0].start) == pytest.approx(5.0, rel=0.1)


def test_smooth_curves_have_no_window():
    t = np.linspace(0, 1, 500)
    assert detect_windows(t, 3 - 2 * t) == []
    assert detect_windows(t, np.cos(np.pi * t)) == []  # smooth: peak slope pi/2 = 1.57 x mean slope
    assert detect_windows(t, np.ones_like(t)) == []


def test_unresolved_jump_flagged():
    t = np.linspace(0, 1, 101)
    y = np.where(t < 0.505, 1.0, 0.0)  # a jump inside one grid cell
    (win,) = detect_windows(t, y)
    assert not win.resolved and win.size == pytest.approx(1.0)
    assert win.start == pytest.approx(0.50) and win.end == pytest.approx(0.51)


@pytest.mark.parametrize("kw,msg", [({"rel_height": 1.5}, "rel_height"), ({"min_sharpness": 0.5}, "min_sharpness"),
                                    ({"min_size": 1.0}, "min_size"), ({"min_points": 0}, "min_points")])
def test_bad_parameters(kw, msg):
    t = np.linspace(0, 1, 10)
    with pytest.raises(ValueError, match=msg):
        detect_windows(t, t, **kw)


def test_bad_curves():
    with pytest.raises(ValueError, match="strictly increasing"):
        detect_windows([0, 0.5, 0.4, 1.0], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="NaN"):
        detect_windows([0, 0.5, 1.0], [1, float("nan"), 3])
    with pytest.raises(ValueError, match="same length"):
        detect_windows([0, 0.5, 1.0], [1, 2])


# ----------------------------------------------------------------------------- GMM Bayes MSE
def _mc_bayes_mse(tau, d, p, sigma, n, rng):
    """Monte-Carlo MSE of the explicit posterior-mean denoiser (PAPER §2.1), with its standard error."""
    s = np.where(rng.random(n) < p, 1.0, -1.0)
    x1 = s[:, None] + sigma * rng.standard_normal((n, d))
    x0 = rng.standard_normal((n, d))
    a = 1 - tau
    D = a * a + tau * tau * sigma * sigma
    x = a * x0 + tau * x1
    logit = 2 * log_odds(p) + 2 * tau * x.sum(axis=1) / D
    pi = 1 / (1 + np.exp(-logit))
    m_plus = 1 + (tau * sigma ** 2 / D) * (x - tau)
    m_minus = -1 + (tau * sigma ** 2 / D) * (x + tau)
    f = pi[:, None] * m_plus + (1 - pi[:, None]) * m_minus
    err = ((f - x1) ** 2).mean(axis=1)
    return err.mean(), err.std() / math.sqrt(n)


@pytest.mark.parametrize("tau,d,p,sigma", [(0.0, 9, 0.8, 1.0), (0.15, 16, 0.8, 1.0), (0.3, 16, 0.7, 0.6),
                                           (0.6, 4, 0.8, 1.5)])
def test_gmm_bayes_mse_monte_carlo(tau, d, p, sigma):
    mean, se = _mc_bayes_mse(tau, d, p, sigma, 100000, np.random.default_rng(1))
    assert agrees("bayes_mse_mc", gmm_bayes_mse(tau, d, p, sigma), mean, se)


def test_gmm_bayes_mse_limits():
    assert gmm_bayes_mse(0.0, 100, 0.8) == pytest.approx(1.0 + 4 * 0.8 * 0.2, abs=1e-14)
    # d -> inf at fixed tau: the phase-2 curve sigma^2 (1-tau)^2 / D (PAPER §4)
    tau = 0.25
    assert gmm_bayes_mse(tau, 1e8, 0.8) == pytest.approx(0.75 ** 2 / (0.75 ** 2 + 0.25 ** 2), rel=1e-10)


DS = [400, 1600, 6400, 25600]


def _gmm_curve(d):
    w = 1 / math.sqrt(d)
    tau = np.unique(np.concatenate([np.linspace(0, 12 * w, 1200), np.linspace(12 * w, 0.99, 400)]))
    return tau, gmm_bayes_mse(tau, d, 0.8, 1.0)


def test_gmm_window_width_scales_as_inverse_sqrt_d():
    widths = []
    for d in DS:
        tau, eps = _gmm_curve(d)
        wins = detect_windows(tau, eps)
        first = wins[0]
        assert first.start < 0.2 / math.sqrt(d)  # starts at tau ~ 0
        assert first.resolved
        # the jump height 4p(1-p) = 0.64 (PAPER §4), 90-105% captured
        assert 0.9 * 0.64 < first.size < 1.05 * 0.64
        widths.append(first.end - first.start)
    slope = np.polyfit(np.log(DS), np.log(widths), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.04)
    # in units of 1/sqrt(d) the window is [0, ~2.4]
    assert 1.5 < widths[-1] * math.sqrt(DS[-1]) < 3.5


# ----------------------------------------------------------------------------- detect -> design -> sample
def _bayes_projection_sampler(tau_grid, d, p, sigma, n, rng):
    """Euler sampler of the exact Bayes velocity projected on y = mu.x/sqrt(d) (PAPER §2.4, §3.5).

    dy/dtau = [(c* - 1) y + m* sqrt(d) tanh(h + tau sqrt(d) y / D)] / (1 - tau); the network of grid
    time tau_k drives the step tau_k -> tau_{k+1} (PAPER §2.5).  Returns the fraction with y > 0.
    """
    h = log_odds(p)
    y = rng.standard_normal(n)
    for k in range(len(tau_grid) - 1):
        tau = tau_grid[k]
        a = 1 - tau
        D = a * a + tau * tau * sigma * sigma
        c, m = tau * sigma ** 2 / D, a * a / D
        v = ((c - 1) * y + m * math.sqrt(d) * np.tanh(h + tau * math.sqrt(d) * y / D)) / a
        y = y + (tau_grid[k + 1] - tau) * v
    return float(np.mean(y > 0))


def test_detect_design_sample_restores_p():
    d, p, T, n = 10000, 0.8, 40, 200000
    tau, eps = _gmm_curve(d)
    windows = [w.to_dict() for w in detect_windows(tau, eps)]                 # call 1: detect
    sched = design_schedule(windows[:1], mass=0.5)                             # call 2: design
    grid = sched.tau_grid(T)                                                   # call 3: the sampler's grid
    rng = np.random.default_rng(5)
    p_designed = _bayes_projection_sampler(grid, d, p, 1.0, n, rng)
    p_uniform = _bayes_projection_sampler(PiecewiseSchedule.uniform().tau_grid(T), d, p, 1.0, n, rng)
    se = math.sqrt(p * (1 - p) / n)
    # the uniform grid collapses towards the majority mode (PAPER §3.7); the designed one restores p
    assert p_uniform - p > 0.05
    assert abs(p_designed - p) < 0.01
    assert abs(p_designed - p) + 4 * se < p_uniform - p
    # the paper's own dilation (kappa = 2) also restores p on the same budget
    paper = PiecewiseSchedule.from_time_dilation(TimeDilation(2.0, d))
    assert abs(_bayes_projection_sampler(paper.tau_grid(T), d, p, 1.0, n, rng) - p) < 0.01


# ----------------------------------------------------------------------------- CSV reading
def test_read_curve_csv(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("t,loss,mse\n0,3,1.64\n0.5,2,1.0\n1,1,0.0\n")
    t, y, col = read_curve_csv(f, "mse")
    np.testing.assert_allclose(y, [1.64, 1.0, 0.0])
    assert col == "mse"
    t, y, col = read_curve_csv(f)
    assert col == "loss" and list(t) == [0, 0.5, 1]


@pytest.mark.parametrize("text,col,msg", [
    ("t,loss\n0,1\n0.5,2\n1,3\n", "mse", "column 'mse' not found"),
    ("t,mse\n0,1\n0.5,2\n0.4,3\n", "mse", "strictly increasing"),
    ("t,mse\n0,1\n0.5,nan\n1,3\n", "mse", "NaN"),
    ("t,mse\n0,1\n0.5,abc\n1,3\n", "mse", "not numeric"),
    ("t\n0\n1\n2\n", None, "two columns"),
    ("", None, "empty"),
])
def test_bad_csv(tmp_path, text, col, msg):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ValueError, match=msg):
        read_curve_csv(f, col)


# ----------------------------------------------------------------------------- CLI: detect -> design -> sample
def test_cli_three_calls(tmp_path, capsys):
    import json

    from flowphase.validation.cli import main

    d = 6400
    tau, eps = _gmm_curve(d)
    csv = tmp_path / "curve.csv"
    csv.write_text("tau,loss,mse\n" + "".join(f"{float(a)!r},0,{float(b)!r}\n" for a, b in zip(tau, eps)))
    assert main(["schedule", "detect", "--csv", str(csv), "--column", "mse", "--json"]) == 0
    det = json.loads(capsys.readouterr().out)
    ref = detect_windows(tau, eps)
    assert [set(w) for w in det["windows"]] == [{"start", "end", "size", "peak", "sharpness", "resolution",
                                                 "resolved"}] * len(ref)
    assert [w["resolved"] for w in det["windows"]] == [w.resolved for w in ref]
    assert det["windows"][0]["start"] == pytest.approx(ref[0].start)
    assert det["windows"][0]["size"] == pytest.approx(ref[0].size)
    (tmp_path / "det.json").write_text(json.dumps(det))
    sched_file = tmp_path / "sched.json"
    assert main(["schedule", "design", "--from", str(tmp_path / "det.json"), "--mass", "0.5",
                 "--out", str(sched_file), "--json"]) == 0
    sched = json.loads(capsys.readouterr().out)
    assert sched["window_mass"][0] == pytest.approx(0.5 * det["windows"][0]["size"] / sum(w["size"] for w in det["windows"]))
    assert PiecewiseSchedule.from_json(sched_file.read_text()) == PiecewiseSchedule.from_json(sched)
    assert main(["schedule", "sample", "--schedule", str(sched_file), "--grid", "40", "--json"]) == 0
    grid = np.asarray(json.loads(capsys.readouterr().out)["tau"])
    # the sampler grid restores p where the uniform grid does not (cf. test_detect_design_sample_restores_p)
    rng = np.random.default_rng(9)
    assert abs(_bayes_projection_sampler(grid, d, 0.8, 1.0, 100000, rng) - 0.8) < 0.012
    assert main(["schedule", "sample", "--schedule", str(sched_file), "--k", "5000", "--seed", "1"]) == 0
    draws = np.asarray(json.loads(capsys.readouterr().out)["tau"])
    s = PiecewiseSchedule.from_json(sched_file.read_text())
    from scipy import stats
    assert stats.kstest(draws, s.cdf).pvalue > 1e-3
    # explicit windows
    assert main(["schedule", "design", "--windows", "0.2:0.4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["window_mass"] == pytest.approx([0.5])


@pytest.mark.parametrize("text,extra,msg", [
    ("t,loss\n0,1\n0.5,2\n1,3\n", ["--column", "mse"], "column 'mse' not found"),
    ("t,mse\n0,1\n0.5,2\n0.4,3\n", ["--column", "mse"], "strictly increasing"),
    ("t,mse\n0,1\n0.5,NaN\n1,3\n", [], "NaN"),
])
def test_cli_bad_csv(tmp_path, capsys, text, extra, msg):
    from flowphase.validation.cli import main

    f = tmp_path / "bad.csv"
    f.write_text(text)
    assert main(["schedule", "detect", "--csv", str(f), "--json"] + extra) == 2
    err = capsys.readouterr().err
    assert msg in err and err.startswith("flowphase: error:")


def test_cli_design_errors(capsys):
    from flowphase.validation.cli import main

    assert main(["schedule", "design", "--windows", "0.1:0.3,0.2:0.4"]) == 2
    assert "overlap" in capsys.readouterr().err
    assert main(["schedule", "design", "--windows", "a:b"]) == 2
    assert "not numeric" in capsys.readouterr().err


def test_designed_schedule_restores_p_in_the_simulator():
    """The full-d simulator (validation.sampling.generate_bayes, exact Bayes velocity, Euler on the grid)
    on the detect -> design schedule vs the uniform grid; cross-checked against the 1-D projection sampler."""
    from flowphase.theory.problem import Mixture, Problem
    from flowphase.validation.sampling import generate_bayes

    d, p, T, n_gen = 2000, 0.8, 40, 4000
    tau, eps = _gmm_curve(d)
    sched = design_schedule([detect_windows(tau, eps)[0].to_dict()], mass=0.5)
    se = math.sqrt(p * (1 - p) / n_gen)
    out = {}
    for name, s in (("designed", sched), ("uniform", PiecewiseSchedule.uniform())):
        pb = Problem(mixture=Mixture(p=p, sigma=1.0, d=d), schedule=s)
        out[name] = generate_bayes(pb, d=d, ts=s.grid(T), n_gen=n_gen, seeds=(0,), backend="numpy").mean("p_hat")
        ref = _bayes_projection_sampler(s.tau_grid(T), d, p, 1.0, 200000, np.random.default_rng(2))
        assert abs(out[name] - ref) < 4 * math.sqrt(se ** 2 + p * (1 - p) / 200000)
    assert abs(out["designed"] - p) < 4 * se
    assert abs(out["designed"] - p) + 4 * se < out["uniform"] - p
