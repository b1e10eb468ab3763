"""K-head softmax denoiser simulator (issue 15): kernels, gradients, generation, approach to the Bayes point."""
import math

import numpy as np
import pytest

from flowphase.numerics.multimode import projection_flow
from flowphase.theory.mixtures import hierarchical
from flowphase.theory.problem import TimeDilation, UniformSchedule
from flowphase.validation.multimode_sim import (bayes_point, denoiser_distance, generate_softmax, simulate_softmax,
                                                train_array)
from flowphase.validation.tolerances import agrees, allowed_deviation, loglog_slope, slope_ok

from _match import whole_word

MIX = hierarchical((0.6, 0.4), ((0.8, 0.2), (0.6, 0.4)), d=10, eps=0.3)


@pytest.mark.parametrize("optimizer, lr", [("adam", 0.05), ("gd", 0.05)])
def test_numba_kernel_equals_array_path(optimizer, lr):
    kw = dict(d=8, n=5, n_times=3, seeds=(0, 3), epochs=4, optimizer=optimizer, lr=lr, draws=2, lam_u=0.3,
              lam_w=0.2, init="small", init_scale=0.3)
    a = simulate_softmax(MIX, UniformSchedule(), backend="numba", **kw)
    b = simulate_softmax(MIX, UniformSchedule(), backend="numpy", job_chunk=4, **kw)
    for k in a.params:
        ref = np.abs(b.params[k]).max()
        assert np.max(np.abs(a.params[k] - b.params[k])) <= allowed_deviation("kernel_crosscheck", ref), k
    assert np.max(np.abs(a.loss - b.loss)) <= allowed_deviation("kernel_crosscheck", b.loss.max())


def test_gradient_matches_finite_differences():
    """One GD step of lr h moves a parameter by -h * dL/dtheta (x d for U, W); L re-implemented here."""
    from flowphase.validation.simulator.rng import noise_rows

    rng = np.random.default_rng(0)
    J, K, d, n, draws = 1, 4, 6, 3, 2
    x1 = rng.standard_normal((1, n, d))
    params = [rng.standard_normal(J), 0.5 * rng.standard_normal((J, K)), rng.standard_normal((J, K, d)),
              rng.standard_normal((J, K, d))]
    al, be, lam_u, lam_w = np.array([0.7]), np.array([0.3]), 0.4, 0.9
    x0 = noise_rows(np, np.array([5]), 0, np.array([0]), np.arange(n * draws), d)[0]
    X1 = x1[0][np.arange(n * draws) // draws]
    X = al[0] * x0 + be[0] * X1

    def loss(c, b, U, W):
        lg = X @ W[0].T / math.sqrt(d) + b[0]
        pi = np.exp(lg - lg.max(1, keepdims=True))
        pi /= pi.sum(1, keepdims=True)
        r = c[0] * X + pi @ U[0] - X1
        return (r * r).sum() / (n * draws * d) + (lam_u * (U * U).sum() + lam_w * (W * W).sum()) / (n * d)

    h = 1e-7
    moved = [p.copy() for p in params]
    state = {k: np.zeros(1) for k in ("mc", "vc", "mb", "vb", "mU", "vU", "mW", "vW")}
    train_array(np, x1, np.array([0]), np.array([0]), np.array([5]), al, be, *moved, state, epochs=1, step0=0,
                draws=draws, lr=h, lam_u=lam_u, lam_w=lam_w, optimizer="gd")
    for i, (p, q, pre) in enumerate(zip(params, moved, (1, 1, d, d))):
        g_kernel = (p - q) / (h * pre)
        idx = np.unravel_index(np.argmax(np.abs(g_kernel)), p.shape)
        e = 1e-6
        plus = [x.copy() for x in params]
        minus = [x.copy() for x in params]
        plus[i][idx] += e
        minus[i][idx] -= e
        g_fd = (loss(*plus) - loss(*minus)) / (2 * e)
        assert agrees("gradient_fd", g_kernel[idx], g_fd), (i, g_kernel[idx], g_fd)


def test_generation_with_the_bayes_point_reproduces_the_exact_flow():
    d = 40
    mix = hierarchical((0.6, 0.4), ((0.8, 0.2), (0.6, 0.4)), d=d, eps=0.4)
    sch = TimeDilation(2.0, d)
    sim = simulate_softmax(mix, sch, d=d, n=4, n_times=30, epochs=1, backend="numpy")
    for k, tau in enumerate(sim.taus):
        c, b, U, W = bayes_point(mix, sim.means, tau)
        sim.params["c"][0, k], sim.params["b"][0, k], sim.params["U"][0, k], sim.params["W"][0, k] = c, b, U, W
    g = generate_softmax(sim, n_gen=6000)
    ex = projection_flow(mix, sch, n_times=30, m=12, reps=4)
    for a, b in zip(g["p_hat"], ex.p_hat):
        se = math.sqrt(b * (1 - b) / 6000)
        assert agrees("multimode_bayes_flow_p_hat", a, b, se), (g["p_hat"], ex.p_hat)


def test_learned_denoiser_approaches_the_bayes_point_like_one_over_n():
    mix = hierarchical((0.6, 0.4), ((0.7, 0.3), (1.0,)), d=16, eps=0.6)
    ns, dist = (32, 128, 512), []
    for n in ns:
        s = simulate_softmax(mix, UniformSchedule(), d=16, n=n, ts=[0.3], seeds=(0, 1, 2, 3), epochs=300,
                             optimizer="gd", lr=0.3, draws=4, backend="numpy", job_chunk=4)
        dist.append(np.mean([denoiser_distance(s, i, 0, n_test=4000) for i in range(4)]))
    assert np.all(np.diff(dist) < 0)
    assert slope_ok("multimode_bayes_point", loglog_slope(ns, dist)), dist


@pytest.mark.parametrize("kw, msg", [(dict(backend="jax"), "backend"), (dict(optimizer="sgd"), "optimizer"),
                                     (dict(init="zero"), "init"), (dict(lr=-1.0), "lr"), (dict(n=0), "n"),
                                     (dict(d=1), "d")])
def test_simulator_rejects_bad_input(kw, msg):
    base = dict(d=8, n=4, n_times=2, epochs=1)
    base.update(kw)
    with pytest.raises(ValueError, match=whole_word(msg)):
        simulate_softmax(MIX, UniformSchedule(), **base)
