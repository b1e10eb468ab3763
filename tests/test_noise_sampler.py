"""Projected fresh-noise sampler (issue 13): same law as the dense sampler, cheaper per step."""
import math

import numba
import numpy as np
import pytest

from flowphase.theory.problem import Problem
from flowphase.validation.simulator import projected_numba as PJ
from flowphase.validation.simulator import simulate
from flowphase.validation.simulator.dense_array import train_array, train_expected_array
from flowphase.validation.simulator.projected_array import train_projected_array
from flowphase.validation.simulator.rng import (ZIG_F, ZIG_X, chi2_counter, gamma_counter_array, row_keys, zig_normal,
                                                zig_normals_array)
from flowphase.validation.tolerances import agrees, tolerance

JIT = not numba.config.DISABLE_JIT
FAST = "numba" if JIT else "numpy"


def _close(a, b):
    tol = tolerance("kernel_crosscheck")
    a, b = np.asarray(a), np.asarray(b)
    return np.all(np.abs(a - b) <= tol.abs_floor + tol.rel * np.abs(b))


# ----------------------------------------------------------------------------- random numbers
def test_ziggurat_numba_equals_array_and_is_standard_normal():
    keys = row_keys(np, [3, 4], 5, [0, 1], np.arange(40))            # (2, 40)
    with np.errstate(over="ignore"):
        one = [zig_normal(keys[1, 7], i, ZIG_X, ZIG_F) for i in range(25)]
    z = zig_normals_array(np, keys, 25)
    assert _close(one, z[1, 7])
    big = zig_normals_array(np, row_keys(np, [9], 0, [0], np.arange(2000)), 250).ravel()
    N = big.size
    k = tolerance("noise_moments").k
    assert abs(big.mean()) < k / math.sqrt(N)
    assert abs(big.var() - 1.0) < k * math.sqrt(2.0 / N)
    assert abs(np.mean(big ** 4) - 3.0) < k * math.sqrt(96.0 / N)
    # the tail beyond the base layer (r = 3.654) and a wedge-layer band have their exact probabilities
    from scipy.stats import norm

    for lo, hi in ((ZIG_X[1], np.inf), (0.2, 0.3), (1.9, 2.1)):
        p = 2.0 * (norm.sf(lo) - norm.sf(hi))
        freq = np.mean((np.abs(big) > lo) & (np.abs(big) <= hi))
        assert abs(freq - p) < k * math.sqrt(p * (1 - p) / N), (lo, hi, freq, p)


def test_vectorised_ziggurat_fill_gives_the_scalar_numbers_bit_for_bit():
    """zig_fill (three passes, the projected kernels' generator) = zig_normal number by number, rejected draws
    (wedge and tail: ~1.2 % of the numbers) included; float32 storage rounds the same numbers."""
    from flowphase.validation.simulator.rng import zig_fill

    keys = row_keys(np, [11], 2, [5], np.arange(3))[0]
    m = 6000
    hs, us, bad = np.empty(m, np.uint64), np.empty(m), np.empty(m, np.int64)
    redrawn = 0
    for key in keys:
        out = np.empty(m)
        zig_fill(out, key, ZIG_X, ZIG_F, hs, us, bad)
        with np.errstate(over="ignore"):
            ref = np.array([zig_normal(key, i, ZIG_X, ZIG_F) for i in range(m)])
        assert np.array_equal(out, ref)
        # the draws that went through the fix-up pass: candidate x >= x_{i+1}
        h = (np.uint64(key) + (np.arange(m, dtype=np.uint64) + np.uint64(1)) * np.uint64(0xD1B54A32D192ED03))
        with np.errstate(over="ignore"):
            from flowphase.validation.simulator.rng import mix64_array

            h = mix64_array(np, h)
        layer = (h & np.uint64(0xFF)).astype(np.int64)
        cand = ((h >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0 ** 53 * ZIG_X[layer]
        redrawn += int(np.sum(cand >= ZIG_X[layer + 1]))
        out32 = np.empty(m, np.float32)
        zig_fill(out32, key, ZIG_X, ZIG_F, hs, us, bad)
        assert np.array_equal(out32, ref.astype(np.float32))
        short = np.empty(7)                                  # a row shorter than the scratch arrays
        zig_fill(short, key, ZIG_X, ZIG_F, hs, us, bad)
        assert np.array_equal(short, ref[:7])
    assert 0.005 * 3 * m < redrawn < 0.03 * 3 * m            # the fix-up pass was exercised (~1.2 %)


def test_triangular_products_of_the_projected_kernel_match_numpy():
    rng = np.random.default_rng(4)
    n = 37
    R = np.triu(rng.standard_normal((n, n)))
    RT = np.ascontiguousarray(R.T)
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    ox, oy = np.empty(n), np.empty(n)
    for transpose, M in ((False, R), (True, R.T)):
        PJ._triangular_products(R, RT, x, y, ox, oy, transpose)
        assert np.allclose(ox, M @ x, rtol=1e-13, atol=1e-13) and np.allclose(oy, M @ y, rtol=1e-13, atol=1e-13)
    g, gq, k = np.empty(50), rng.standard_normal(50).astype(np.float32), rng.standard_normal(4)
    w, u, z1, z2 = (rng.standard_normal(50).astype(np.float32) for _ in range(4))
    PJ._combine(g, gq, k, w, u, z1, z2)
    ref = gq.astype(float) + k[0] * w + k[1] * u + k[2] * z1 + k[3] * z2
    assert np.allclose(g, ref, rtol=1e-14, atol=1e-14)
    gram = PJ._gram(w, u, z1, z2)
    W, U, A, B = (v.astype(float) for v in (w, u, z1, z2))
    assert np.allclose(gram, [W @ W, U @ U, U @ W, W @ A, W @ B, U @ A, U @ B, A @ A, B @ B], rtol=1e-13)


@pytest.mark.parametrize("dof", [1.0, 3.0, 40.0, 2.0e5])
def test_chi_square_counter_moments_and_twins(dof):
    keys = row_keys(np, [1], 2, [0], np.arange(20000))[0]
    x = 2.0 * gamma_counter_array(np, keys, 0.5 * dof)
    k = tolerance("noise_moments").k
    assert abs(x.mean() - dof) < k * math.sqrt(2 * dof / x.size)
    assert abs(x.var() - 2 * dof) < k * math.sqrt((48 * dof + 8 * dof * dof) / x.size)   # var of s^2, chi^2 law
    with np.errstate(over="ignore"):
        assert _close([chi2_counter(keys[i], dof) for i in range(5)], x[:5])


# ----------------------------------------------------------------------------- implementations agree
@pytest.mark.parametrize("draws,optimizer,model", [(2, "adam", "tanh"), (1, "gd", "tanh"), (2, "adam", "sign"),
                                                    (1, "gd", "sign")])
def test_projected_numba_matches_array_reference(draws, optimizer, model):
    pr = Problem.dilated(d=24, n=5, lam_u=2.0, lam_w=1.5)
    kw = dict(ts=[0.3, 1.0, 1.6], seeds=[0, 3], epochs=10, draws=draws, init="random", optimizer=optimizer,
              model=model, lr=1e-2 if optimizer == "adam" else 0.05, record_every=3, noise_sampler="projected")
    a = simulate(pr, backend="numba", **kw)
    b = simulate(pr, backend="numpy", **kw)
    c = simulate(pr, backend="cupy", array_module=np, job_chunk=2, **kw)
    assert a.config["noise_sampler"] == "projected"
    for key in ("c", "b", "u", "w"):
        assert _close(a.params[key], b.params[key]) and _close(c.params[key], b.params[key]), key
    assert _close(a.history, b.history)
    assert _close(a.grad_norm, b.grad_norm) and _close(c.grad_norm, b.grad_norm)
    d0 = simulate(pr, backend="numpy", **dict(kw, noise_sampler="dense"))
    assert np.max(np.abs(d0.params["u"] - b.params["u"])) > 1e-6     # other random numbers than the dense sampler


def test_sampler_choice_and_bad_input():
    pr = Problem.dilated()
    # (the default protocol 'theory' trains on the exact expectation; fresh draws are asked for explicitly)
    assert simulate(pr, d=10, n=3, ts=[0.5], epochs=2, draws=1).config["noise_sampler"] == "projected"
    assert simulate(pr, d=10, n=8, ts=[0.5], epochs=2, draws=1).config["noise_sampler"] == "dense"   # d < n + 3
    assert simulate(pr, d=10, n=3, ts=[0.5], epochs=2, draws=0).config["noise_sampler"] == "expectation"
    for kw, word in ((dict(n=8, draws=1, noise_sampler="projected"), "n \\+ 3"),
                     (dict(noise_sampler="fast"), "noise_sampler"),
                     (dict(draws=0, noise_sampler="projected"), "draws")):
        with pytest.raises(ValueError, match=word):
            simulate(pr, **{**dict(d=10, n=3, ts=[0.5], epochs=2), **kw})
    with pytest.raises(ValueError, match="fresh"):
        simulate(Problem.dilated(noise="fixed"), d=10, n=3, ts=[0.5], epochs=2, draws=1, noise_sampler="projected")


# ----------------------------------------------------------------------------- one step: same law
def _one_step_gradients(sampler, d, n, K, J, x1, c0, b0, u0, w0, al, be, lam_u, lam_w):
    """J independent one-step gradients at the same parameters (GD with lr = 1 reads them off exactly)."""
    c, b = np.full(J, c0), np.full(J, b0)
    u, w = np.tile(u0, (J, 1)), np.tile(w0, (J, 1))
    ss, sv, h = np.zeros((J, 8)), np.zeros((J, 4, d)), np.zeros((J, 1, 7))
    js, jt, seeds = np.zeros(J, np.int64), np.arange(J, dtype=np.int64), np.array([5], np.int64)
    A, B = np.full(J, al), np.full(J, be)
    kw = dict(model=0, optimizer=1, K=K, step0=0, n_steps=1, lr=1.0, lr_decay_to=1.0, total_steps=1, beta1=0.9,
              beta2=0.999, eps=1e-8, lam_u=lam_u, lam_w=lam_w, use_fixed=False, train_c=True, train_b=True,
              record_every=1, hist=h, gnorm2=np.zeros(J))
    with np.errstate(over="ignore"):
        if sampler == "projected":
            basis = PJ.data_basis(x1)
            if JIT:
                PJ.train_projected(x1, basis, js, jt, seeds, A, B, c, b, u, w, ss, sv, **kw)
            else:
                train_projected_array(np, x1, basis, js, jt, seeds, A, B, c, b, u, w, ss, sv, **kw)
        elif sampler == "dense":
            if JIT:
                from flowphase.validation.simulator.dense_numba import train_kernel

                train_kernel(x1, np.zeros((1, 1, 1)), js, jt, seeds, A, B, c, b, u, w, ss, sv, *kw.values())
            else:
                train_array(np, x1, np.zeros((1, 1, 1)), js, jt, seeds, A, B, c, b, u, w, ss, sv, **kw)
        else:
            gq, wq = np.polynomial.hermite_e.hermegauss(48)
            ekw = {k: kw[k] for k in ("optimizer", "step0", "n_steps", "lr", "lr_decay_to", "total_steps", "beta1",
                                      "beta2", "eps", "lam_u", "lam_w", "train_c", "train_b", "record_every", "hist",
                                      "gnorm2")}
            train_expected_array(np, x1, js, A, B, c, b, u, w, ss, sv, gq, wq / wq.sum(), **ekw)
    pv = d / n
    return np.c_[(c0 - c) * n, (b0 - b) * n, (u0 - u) / pv, (w0 - w) / pv, h[:, 0, 6]]


def _stats(G, d, zdir, zperp):
    """Linear statistics (they also have the exact expectation as a reference) and second-order ones.

    ``zperp`` is a unit vector orthogonal to V = span{x1, u, w}: ``gu.zperp`` and ``gw.zperp`` are pure
    perpendicular aggregates (L11 z1, L21 z1 + L22 z2 of the module docstring), so their product tests
    the 2-d combination and their covariance with dL/dc (which carries sum |x0_perp|^2) tests the
    coupling of the norm with the aggregated directions.
    """
    gu, gw = G[:, 2:2 + d], G[:, 2 + d:2 + 2 * d]
    guz, gwz, gu2 = gu @ zdir, gw @ zdir, (gu ** 2).sum(1)
    gup, gwp = gu @ zperp, gw @ zperp
    lin = np.c_[G[:, 0], G[:, 1], gu.mean(1), gw.mean(1), guz, gwz, G[:, -1]]
    gc = G[:, 0] - G[:, 0].mean()
    quad = np.c_[gu2, (gw ** 2).sum(1), guz * gwz, gup * gwp, gc * (gup ** 2 - np.mean(gup ** 2)),
                 gc * (gwp ** 2 - np.mean(gwp ** 2)), gc ** 2, G[:, 1] * gwz]
    return lin, quad


@pytest.mark.parametrize("K", [1, 2])
def test_one_step_gradient_law_projected_vs_dense_vs_exact(K):
    """Mean and second moments of the sampled gradient: projected = dense (two-sample MC) and mean = exact.

    Parameters chosen so that the perpendicular aggregates matter (c = 1, alpha = 0.9, large u, small w):
    with the a-g correlation of the perpendicular parts dropped (L21 = 0) the product (gu.z)(gw.z) is off by
    20 standard errors, with sum |x0_perp|^2 drawn independently of the aggregated directions (the O(1/d)
    shortcut) the two covariance statistics are off by 12-15 (measured by breaking the kernel, issue 13).
    """
    d, n, J = 14, 3, 60000 if JIT else 20000
    pr = Problem.dilated(d=d, n=n)
    rng = np.random.default_rng(0)
    x1 = pr.mixture.sample(n, d, rng=rng)[0][None].copy()
    u0, w0 = 2.0 * rng.standard_normal(d), 0.3 * rng.standard_normal(d)
    args = (d, n, K, J, x1, 1.0, 0.3, u0, w0, 0.9, 0.45, 2.0, 1.5)
    Gp = _one_step_gradients("projected", *args)
    Gd = _one_step_gradients("dense", *args)
    Ge = _one_step_gradients("exact", *(args[:3] + (1,) + args[4:]))[0]
    zr = np.random.default_rng(9).standard_normal(d)
    q, _ = np.linalg.qr(np.c_[x1[0].T, u0, w0])
    zp = zr - q @ (q.T @ zr)
    zp /= np.linalg.norm(zp)
    (lp, qp), (ld, qd) = _stats(Gp, d, zr, zp), _stats(Gd, d, zr, zp)
    le = _stats(Ge[None], d, zr, zp)[0][0]
    for sp, sd in ((lp, ld), (qp, qd)):
        for i in range(sp.shape[1]):
            se = math.sqrt(sp[:, i].var() / J + sd[:, i].var() / J)
            assert agrees("sampler_gradient_law", sp[:, i].mean(), sd[:, i].mean(), se), (i, sp[:, i].mean(),
                                                                                          sd[:, i].mean(), se)
    for i in range(lp.shape[1]):
        # variance of each linear statistic: projected vs dense (standard error of s^2 from the 4th moment)
        vp, vd = lp[:, i].var(), ld[:, i].var()
        se_v = math.sqrt((np.mean((lp[:, i] - lp[:, i].mean()) ** 4) - vp ** 2) / J
                         + (np.mean((ld[:, i] - ld[:, i].mean()) ** 4) - vd ** 2) / J)
        assert agrees("sampler_gradient_law", vp, vd, se_v), (i, vp, vd, se_v)
        # mean against the exact fresh-noise expectation (K -> inf kernel)
        assert agrees("sampler_gradient_law", lp[:, i].mean(), le[i], lp[:, i].std() / math.sqrt(J)), (i, le[i])


# ----------------------------------------------------------------------------- whole trajectories
def test_adam_trajectories_of_both_samplers_agree_within_seed_spread():
    """d = 1000, Adam, K = 1: overlaps every 50 epochs, projected vs dense, 4 seeds each."""
    pr = Problem.dilated(d=1000, n=16, lam_u=2.0, lam_w=2.0)
    kw = dict(ts=[0.5, 1.5], seeds=[0, 1, 2, 3], epochs=300, draws=1, init="random", lr=2e-2, lr_final=2e-3,
              record_every=50, backend=FAST, keep_params=False)
    p = simulate(pr, noise_sampler="projected", **kw)
    q = simulate(pr, noise_sampler="dense", **kw)
    hp, hq = p.history[..., :6], q.history[..., :6]          # (S, T, R, 6)
    S = hp.shape[0]
    se = np.sqrt(hp.std(axis=0, ddof=1) ** 2 / S + hq.std(axis=0, ddof=1) ** 2 / S)
    moved = np.max(np.abs(hp[:, :, -1] - hp[:, :, 0]))
    assert moved > 0.1                                        # the runs trained
    for idx in np.ndindex(se.shape):
        assert agrees("sampler_trajectory", hp.mean(axis=0)[idx], hq.mean(axis=0)[idx], se[idx]), idx
    for a, b in ((p.overlaps, q.overlaps),):
        sef = np.sqrt(a.std(axis=0, ddof=1) ** 2 / S + b.std(axis=0, ddof=1) ** 2 / S)
        assert all(agrees("sampler_trajectory", x, y, s) for x, y, s in
                   zip(a.mean(axis=0).ravel(), b.mean(axis=0).ravel(), sef.ravel()))


# ----------------------------------------------------------------------------- the authors' run, resumable
def test_resumable_run_equals_simulate_and_continues_after_a_kill(tmp_path, monkeypatch):
    from flowphase.validation import authors_paper as AP

    size = dict(AP.PAPER_SIZE, d=30, n=6, n_times=3, epochs=25, checkpoint_every=10, record_every=5, lr=1e-2)
    pr = AP.paper_problem(size)
    ts = pr.schedule.grid(3)
    kw = dict(lr=1e-2, record_every=5, progress=False, checkpoint_every=10, chunk=5)
    ref = AP.train_resumable(pr, ts, (0, 1), 25, **kw)
    sim = simulate(pr, ts=ts, seeds=(0, 1), epochs=25, optimizer="adam", lr=1e-2, lr_final=1e-2, draws=1, init="random",
                   record_every=5, noise_sampler="projected")
    assert np.array_equal(ref["overlaps"], sim.overlaps) and np.array_equal(ref["history"], sim.history)
    calls = {"n": 0}
    real = PJ.train_projected

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4:           # killed during epochs 15..20, after the checkpoint at 10
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(PJ, "train_projected", dying)
    ck = tmp_path / "run.ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        AP.train_resumable(pr, ts, (0, 1), 25, checkpoint=ck, **kw)
    monkeypatch.setattr(PJ, "train_projected", real)
    assert int(np.load(ck)["epoch"]) == 10
    again = AP.train_resumable(pr, ts, (0, 1), 25, checkpoint=ck, **kw)
    assert again["resumed_from"] == 10
    assert np.array_equal(again["overlaps"], ref["overlaps"]) and np.array_equal(again["history"], ref["history"])
    with pytest.raises(ValueError, match="configuration"):
        AP.train_resumable(pr, ts, (0, 1), 30, checkpoint=ck, **kw)


def test_reproduce_size_paper_only_for_overlaps_authors(tmp_path):
    from flowphase.validation.reproduce import reproduce

    with pytest.raises(ValueError, match="overlaps-authors"):
        reproduce(["mse"], tmp_path, size="paper", progress=False)
    with pytest.raises(ValueError, match="size"):
        reproduce(["overlaps-authors"], tmp_path, size="huge", progress=False)


@pytest.mark.slow
def test_paper_figure_at_a_tiny_size_writes_the_trajectory(tmp_path):
    from flowphase.validation import authors_paper as AP

    size = dict(AP.PAPER_SIZE, d=40, n=8, n_times=4, epochs=40, checkpoint_every=20, record_every=10, lr=1e-2,
                seeds=(0, 1))
    out = AP.paper_figure(tmp_path, progress=False, size=size)
    data = out.data
    assert data["trajectory_epochs"] == [0, 10, 20, 30]
    assert np.asarray(data["trajectory"]["m"]).shape == (2, 4, 4)
    assert set(data["dynamics"]) and all(len(v["m"]) == 5 for v in data["dynamics"].values())
    assert len(out.claims) == 3 and (tmp_path / "overlaps-authors.json").exists()
    again = AP.paper_data(tmp_path, size=size, progress=False)      # finished run: read back from the checkpoint
    assert again["resumed_from_epoch"] == 40 and again["sim_mean"] == data["sim_mean"]
