"""A tiny PyTorch version of the authors' training loop against the simulator (issue 16).

Same data, same initial parameters (``simulate(data=..., init_params=...)``), the authors'
normalisation (``n * MSELoss`` over the T times, coupled Adam weight decay ``wd = 2 lam / (d T)``,
PAPER §2.3).  Needs the ``bench`` extra (torch); skipped without it.

1. Fed flowphase's own counter-based noise, the PyTorch loop reproduces the simulator's trained
   parameters (an implementation cross-check: model, loss normalisation, lambda mapping, Adam).
2. With its own noise (torch.randn), its overlaps differ from flowphase's by no more than
   flowphase differs from itself with other noise streams (|z| <= k of the tolerance table), and the
   same comparison flags a loop with the weight decay mapped without the factor T.
"""
import math

import numba
import numpy as np
import pytest

from flowphase.theory.problem import Problem
from flowphase.validation.simulator.rng import noise_rows
from flowphase.validation.pairing import overlaps_of, paired_comparison
from flowphase.validation.simulator import simulate
from flowphase.validation.tolerances import tolerance

torch = pytest.importorskip("torch")

D, N, EPOCHS, LR, LAM = 200, 32, 300, 1e-2, 2.0
TS = (0.0, 0.25, 0.5, 1.0, 1.5)
FAST = "numpy" if numba.config.DISABLE_JIT else "numba"


def torch_train(problem, x1, init, ts, epochs, lr, lam, eps=1e-8, seed=0, noise=None, times_in_wd=True):
    """The authors' loop in PyTorch (float64): T independent denoisers trained on one summed loss."""
    T, d = init["u"].shape
    n = x1.shape[0]
    f64 = torch.float64
    c, b, u, w = (torch.tensor(np.asarray(init[k], dtype=np.float64), dtype=f64, requires_grad=True)
                  for k in ("c", "b", "u", "w"))
    wd = 2.0 * lam / (d * T) if times_in_wd else 2.0 * lam / d          # lam = wd d T / 2 (PAPER §2.3)
    # Adam is invariant to the loss scale except for eps: the authors' loss is the theory loss / T
    opt = torch.optim.Adam([{"params": [c, b], "weight_decay": 0.0}, {"params": [u, w], "weight_decay": wd}],
                           lr=lr, eps=eps / T)
    alpha, beta, _, _ = problem.coefficients(np.asarray(ts, dtype=float))
    al = torch.tensor(np.broadcast_to(alpha, (T,)).copy(), dtype=f64)[:, None, None]
    be = torch.tensor(np.broadcast_to(beta, (T,)).copy(), dtype=f64)[:, None, None]
    X1 = torch.tensor(x1, dtype=f64)
    gen = torch.Generator().manual_seed(seed)
    for step in range(epochs):
        x0 = torch.randn(T, n, d, generator=gen, dtype=f64) if noise is None else torch.tensor(noise(step))
        xt = al * x0 + be * X1[None]                                       # (T, n, d)
        z = (xt @ w[:, :, None])[..., 0] / math.sqrt(d) + b[:, None]
        f = c[:, None, None] * xt + torch.tanh(z)[..., None] * u[:, None, :]
        loss = n * torch.nn.functional.mse_loss(f, X1.expand(T, n, d))     # the authors' n * MSELoss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.detach().numpy() for k, v in zip("cbuw", (c, b, u, w))}


@pytest.fixture(scope="module")
def experiment():
    pr = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, d=D, n=N, lam_u=LAM, lam_w=LAM)
    rng = np.random.default_rng(2024)
    x1, s, _ = pr.mixture.sample(N, D, rng=rng)
    T = len(TS)
    init = {"c": rng.standard_normal(T), "b": rng.standard_normal(T), "u": rng.standard_normal((T, D)),
            "w": rng.standard_normal((T, D))}                               # the authors' N(0, 1) init
    return pr, {"x1": x1, "s": s}, init


def test_torch_loop_with_flowphase_noise_reproduces_the_simulator(experiment):
    pr, data, init = experiment
    seed, T = 7, len(TS)
    sim = simulate(pr, ts=TS, seeds=[seed], protocol="authors", epochs=EPOCHS, data=data, init_params=init,
                   backend="numpy", progress=False, noise_sampler="dense")   # the rows torch is fed
    noise = lambda step: noise_rows(np, [seed] * T, step, np.arange(T), np.arange(N), D)   # noqa: E731
    got = torch_train(pr, data["x1"], init, TS, EPOCHS, LR, LAM, noise=noise)
    ref = overlaps_of(*(got[k] for k in "cbuw"))
    tol = tolerance("torch_same_noise")
    assert np.all(np.abs(ref - sim.overlaps[0]) <= tol.abs_floor + tol.rel * np.abs(sim.overlaps[0])), \
        np.abs(ref - sim.overlaps[0]).max()
    # and the parameters moved far from the initialisation (not a comparison of two initial states)
    assert np.abs(got["u"] - init["u"]).max() > 0.5


def test_torch_loop_with_its_own_noise_is_at_the_flowphase_noise_floor(experiment):
    pr, data, init = experiment
    sim = simulate(pr, ts=TS, seeds=range(24), protocol="authors", epochs=EPOCHS, data=data, init_params=init,
                   backend=FAST, progress=False)
    runs = [torch_train(pr, data["x1"], init, TS, EPOCHS, LR, LAM, seed=s) for s in (1, 2)]
    ours = np.stack([overlaps_of(*(r[k] for k in "cbuw")) for r in runs])
    tab = paired_comparison(sim, ours)
    k = tolerance("paired_noise_floor").k
    for row in tab.rows:
        assert row["z"] is not None and abs(row["z"]) <= k, row
    # the same comparison detects a wrongly mapped weight decay (wd = 2 lam / d, i.e. lam x T)
    wrong = torch_train(pr, data["x1"], init, TS, EPOCHS, LR, LAM, seed=1, times_in_wd=False)
    bad = paired_comparison(sim, overlaps_of(*(wrong[k] for k in "cbuw")))
    assert bad.max_abs_z() > 3 * k, bad.max_abs_z()
