"""Finite-d simulator of the K-head softmax denoiser and generation with the learned field.

At every time of a schedule's grid an independent denoiser ``f(x) = c x + sum_k u_k softmax_k(W x/sqrt(d) + b)``
(the paper's tanh model is the K = 2 case, PAPER §2.1) is trained on the **same** n points
``x1 = mu_k + sigma eta`` (exact class counts by default) with fresh noise at every step; the loss and the
optimisers are those of :mod:`flowphase.validation._softmax_numba` (numba backend; the Adam step is the
simulator's, :mod:`flowphase.validation.simulator.update`); the ``numpy`` / ``cupy``
backends run :func:`train_array`, the same algorithm on the same counter-based noise, vectorised over jobs and
rows.  Generation integrates ``dX/dtau = (alpha'/alpha) X + (beta' - alpha' beta/alpha) f_k(X)`` on the grid
(Euler, PAPER §2.5: the network of ``t_k`` drives the step ``t_k -> t_{k+1}``, stop at the last grid point) and
reports ``p_hat_k`` as the mean posterior of the true mixture at the end time (and the hard fraction).

Initialisations: ``informed`` — ``u_k = w_k`` = empirical class mean, ``c = b = 0`` (the K-head analogue of
PREDECESSOR §2.6's informed start: it fixes which head is which mode but carries no weight information);
``small`` — all entries ``init_scale N(0, 1)``.  The Bayes point (:func:`bayes_point`) is ``c* = beta sigma^2/D``,
``u_k* = (alpha^2/D) mu_k``, ``w_k* = (beta sqrt(d)/D) mu_k``, ``b_k* = log p_k`` (W and b up to the softmax gauge).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from flowphase.numerics.multimode.field import coefficients, posterior
from flowphase.numerics.results import check_finite
from flowphase.theory.mixtures import KMixture
from flowphase.theory.problem import Schedule

__all__ = ["SoftmaxSimulation", "simulate_softmax", "train_array", "bayes_point", "generate_softmax",
           "denoiser_distance", "SOFTMAX_BACKENDS", "SOFTMAX_INITS"]

SOFTMAX_BACKENDS = ("numba", "numpy", "cupy")
SOFTMAX_INITS = ("informed", "small")
_DATA_STREAM = 0xDA7B
_GEN_STREAM = 0x6E5


def train_array(xp, x1, job_seed_index, job_tix, seeds, alpha, beta, c, b, U, W, state, *, epochs, step0, draws, lr,
                lam_u, lam_w, optimizer, beta1=0.9, beta2=0.999, adam_eps=1e-8):
    """Array-module mirror of :func:`flowphase.validation._softmax_numba.softmax_train_kernel` (in place).

    ``state`` is a dict of the Adam moments (``mc, vc, mb, vb, mU, vU, mW, vW``); returns the last losses (J,).
    """
    from flowphase.validation.simulator.rng import noise_rows
    from flowphase.validation.simulator.update import adam_array

    J, K, d = U.shape
    n = x1.shape[1]
    R = n * draws
    sqd = math.sqrt(d)
    rows = np.arange(R)
    nu = rows // draws
    X1 = x1[xp.asarray(job_seed_index)][:, nu, :]                       # (J, R, d)
    al, be = xp.asarray(alpha)[:, None, None], xp.asarray(beta)[:, None, None]
    js = np.asarray(seeds)[np.asarray(job_seed_index)]
    loss = None
    for ep in range(int(epochs)):
        step = int(step0) + ep
        x = al * noise_rows(xp, js, step, np.asarray(job_tix), rows, d) + be * X1
        lg = xp.einsum("jrd,jkd->jrk", x, W) / sqd + b[:, None, :]
        lg = lg - lg.max(axis=-1, keepdims=True)
        pi = xp.exp(lg)
        pi = pi / pi.sum(axis=-1, keepdims=True)
        r = c[:, None, None] * x + xp.einsum("jrk,jkd->jrd", pi, U) - X1
        scale = 2.0 / (R * d)
        loss = (r * r).sum(axis=(1, 2)) / (R * d) + (lam_u * (U * U).sum(axis=(1, 2))
                                                      + lam_w * (W * W).sum(axis=(1, 2))) / (n * d)
        gc = scale * (r * x).sum(axis=(1, 2))
        gU = scale * xp.einsum("jrk,jrd->jkd", pi, r) + 2.0 * lam_u / (n * d) * U
        gk = scale * xp.einsum("jrd,jkd->jrk", r, U)
        dl = pi * (gk - (pi * gk).sum(axis=-1, keepdims=True))
        gb = dl.sum(axis=1)
        gW = xp.einsum("jrk,jrd->jkd", dl, x) / sqd + 2.0 * lam_w / (n * d) * W
        if optimizer == "gd":
            c -= lr * gc
            b -= lr * gb
            U -= lr * d * gU
            W -= lr * d * gW
        else:
            t = step + 1.0
            c1, c2 = 1.0 - beta1 ** t, 1.0 - beta2 ** t
            for p_, g_, mk, vk in ((c, gc, "mc", "vc"), (b, gb, "mb", "vb"), (U, gU, "mU", "vU"), (W, gW, "mW", "vW")):
                p_[...] = adam_array(xp, p_, state[mk], state[vk], g_, lr, c1, c2, beta1, beta2, adam_eps)
    return loss


@dataclass
class SoftmaxSimulation:
    """Trained softmax denoisers: ``params`` c (S, T), b (S, T, K), U, W (S, T, K, d); the grid and the data."""

    mixture: KMixture
    schedule: Schedule
    ts: np.ndarray
    taus: np.ndarray
    seeds: list
    means: np.ndarray
    params: dict
    loss: np.ndarray
    data: dict
    config: dict = field(default_factory=dict)


def bayes_point(mixture: KMixture, means, tau, interpolant=None):
    """(c*, b*, U*, W*) of the Bayes denoiser at tau (module notes)."""
    _, be, D, c, m, _, _ = coefficients(tau, mixture.sigma, interpolant)
    d = means.shape[1]
    return c, np.log(mixture.p), m * np.asarray(means), (be * math.sqrt(d) / D) * np.asarray(means)


def _check(name, v, lo=1):
    if isinstance(v, bool) or int(v) != v or int(v) < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def simulate_softmax(mixture: KMixture, schedule: Schedule, *, d: int, n: int, n_times: int = 80, ts=None,
                     seeds: Sequence[int] = (0,), epochs: int = 400, optimizer: str = "adam", lr: float = 1e-2,
                     draws: int = 1, lam_u: float = 0.0, lam_w: float = 0.0, init: str = "informed",
                     init_scale: float = 1e-3, labels: str = "exact", backend: str = "numba", means_seed: int = 0,
                     job_chunk: int = 8, progress: bool = False, array_module=None,
                     beta1: float = 0.9, beta2: float = 0.999, adam_eps: float = 1e-8) -> SoftmaxSimulation:
    """Train the K-head softmax denoiser at every grid time for every seed (module notes).

    The means are ``mixture.means(d, rotate=means_seed)`` (a random orthonormal frame, dense coordinates).
    """
    if not isinstance(mixture, KMixture):
        raise ValueError("mixture must be a KMixture")
    d, n, epochs, draws = _check("d", d, 2), _check("n", n), _check("epochs", epochs), _check("draws", draws)
    if optimizer not in ("adam", "gd"):
        raise ValueError(f"optimizer must be 'adam' or 'gd', got {optimizer!r}")
    if backend not in SOFTMAX_BACKENDS:
        raise ValueError(f"backend must be one of {SOFTMAX_BACKENDS}, got {backend!r}")
    if init not in SOFTMAX_INITS:
        raise ValueError(f"init must be one of {SOFTMAX_INITS}, got {init!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be finite and > 0, got {lr!r}")
    if lam_u < 0 or lam_w < 0:
        raise ValueError("lam_u and lam_w must be >= 0")
    ts = schedule.grid(_check("n_times", n_times, 2)) if ts is None else np.asarray(ts, dtype=float)
    taus = np.asarray(schedule.tau(ts), dtype=float)
    if np.any(taus >= 1.0):
        raise ValueError("training times must have tau < 1")
    seeds = [int(s) for s in seeds]
    S, T, K = len(seeds), ts.size, mixture.K
    M = mixture.means(d, rotate=means_seed)
    x1 = np.empty((S, n, d))
    lab = np.empty((S, n), dtype=np.int64)
    for i, sd in enumerate(seeds):
        x1[i], lab[i], _ = mixture.sample(n, rng=np.random.default_rng([sd, _DATA_STREAM]), labels=labels, means=M)
    J = S * T
    jsi = np.repeat(np.arange(S), T)
    jtix = np.tile(np.arange(T), S)
    al = np.array([coefficients(t, mixture.sigma)[0] for t in taus])[jtix]
    be = np.array([coefficients(t, mixture.sigma)[1] for t in taus])[jtix]
    if init == "informed":
        cm = np.stack([np.stack([x1[i][lab[i] == k].mean(0) if np.any(lab[i] == k) else np.zeros(d)
                                 for k in range(K)]) for i in range(S)])
        U = cm[jsi].copy()
        W = U.copy()
        c = np.zeros(J)
        b = np.zeros((J, K))
    else:
        rng = np.random.default_rng([seeds[0], 0x1418])
        c, b = init_scale * rng.standard_normal(J), init_scale * rng.standard_normal((J, K))
        U, W = init_scale * rng.standard_normal((J, K, d)), init_scale * rng.standard_normal((J, K, d))
    state = {k: np.zeros_like(v) for k, v in (("mc", c), ("vc", c), ("mb", b), ("vb", b), ("mU", U), ("vU", U),
                                              ("mW", W), ("vW", W))}
    loss = np.zeros(J)
    chunk = max(1, int(epochs) // 20) if progress else int(epochs)
    it = range(0, int(epochs), chunk)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc=f"softmax sim d={d}")
    seeds_arr = np.asarray(seeds, dtype=np.int64)
    for e0 in it:
        ne = min(chunk, int(epochs) - e0)
        if backend == "numba":
            from flowphase.validation._softmax_numba import OPT_ADAM, OPT_GD, softmax_train_kernel

            softmax_train_kernel(x1, jsi, jtix, seeds_arr, al, be, c, b, U, W, state["mc"], state["vc"], state["mb"],
                                 state["vb"], state["mU"], state["vU"], state["mW"], state["vW"], ne, e0, draws,
                                 float(lr), float(lam_u), float(lam_w), OPT_GD if optimizer == "gd" else OPT_ADAM,
                                 beta1, beta2, adam_eps, loss)
        else:
            from flowphase.validation.simulator.backends import get_array_module, to_numpy as _to_numpy

            xp = get_array_module(backend, array_module)
            for j0 in range(0, J, int(job_chunk)):
                sl = slice(j0, min(J, j0 + int(job_chunk)))
                arrs = [xp.asarray(a[sl]) for a in (c, b, U, W)]
                st = {k: xp.asarray(v[sl]) for k, v in state.items()}
                ls = train_array(xp, xp.asarray(x1), jsi[sl], jtix[sl], seeds_arr, al[sl], be[sl], *arrs, st, epochs=ne,
                                 step0=e0, draws=draws, lr=float(lr), lam_u=float(lam_u), lam_w=float(lam_w),
                                 optimizer=optimizer, beta1=beta1, beta2=beta2, adam_eps=adam_eps)
                for a, v in zip((c, b, U, W), arrs):
                    a[sl] = _to_numpy(v)
                for k in state:
                    state[k][sl] = _to_numpy(st[k])
                loss[sl] = _to_numpy(ls)
    for nm, a in (("c", c), ("b", b), ("U", U), ("W", W), ("loss", loss)):
        check_finite(f"softmax simulation parameter {nm}", a)
    params = {"c": c.reshape(S, T), "b": b.reshape(S, T, K), "U": U.reshape(S, T, K, d), "W": W.reshape(S, T, K, d)}
    cfg = dict(d=d, n=n, n_times=T, epochs=int(epochs), optimizer=optimizer, lr=lr, draws=draws, lam_u=lam_u,
               lam_w=lam_w, init=init, labels=labels, backend=backend, means_seed=means_seed)
    return SoftmaxSimulation(mixture=mixture, schedule=schedule, ts=ts, taus=taus, seeds=seeds, means=M,
                             params=params, loss=loss.reshape(S, T), data={"x1": x1, "labels": lab}, config=cfg)


def _learned_f(X, c, b, U, W):
    lg = X @ W.T / math.sqrt(X.shape[1]) + b[None, :]
    lg -= lg.max(axis=1, keepdims=True)
    pi = np.exp(lg)
    pi /= pi.sum(axis=1, keepdims=True)
    return c * X + pi @ U


def denoiser_distance(sim: SoftmaxSimulation, seed_index: int, time_index: int, *, n_test: int = 512, rng=0) -> float:
    """``E|f_learned(x) - f*(x)|^2 / d`` on fresh ``x_tau`` (gauge-free distance to the Bayes point)."""
    tau = float(sim.taus[time_index])
    P = {k: v[seed_index, time_index] for k, v in sim.params.items()}
    a, be = coefficients(tau, sim.mixture.sigma)[:2]
    x1, _, _ = sim.mixture.sample(int(n_test), rng=np.random.default_rng(rng), labels="categorical", means=sim.means)
    X = a * np.random.default_rng([rng, 5]).standard_normal(x1.shape) + be * x1
    c, bb, U, W = bayes_point(sim.mixture, sim.means, tau)
    diff = _learned_f(X, P["c"], P["b"], P["U"], P["W"]) - _learned_f(X, c, bb, U, W)
    return float((diff * diff).sum() / diff.size)


def generate_softmax(sim: SoftmaxSimulation, *, n_gen: int = 1024, seed: int = 0) -> dict:
    """Euler generation with every seed's learned field; ``p_hat_k`` per seed and mean +- stderr (module notes)."""
    n_gen = _check("n_gen", n_gen, 2)
    taus = sim.taus
    if np.any(np.diff(taus) < 0):
        raise ValueError("generation needs an increasing grid")
    mix, d = sim.mixture, sim.means.shape[1]
    per_soft, per_hard = [], []
    for i in range(len(sim.seeds)):
        X = np.random.default_rng([seed + 7919 * i, _GEN_STREAM]).standard_normal((n_gen, d))
        for k in range(taus.size - 1):
            h = taus[k + 1] - taus[k]
            a, be, _, _, _, da, db = coefficients(taus[k], mix.sigma)
            f = _learned_f(X, sim.params["c"][i, k], sim.params["b"][i, k], sim.params["U"][i, k],
                           sim.params["W"][i, k])
            X = X + h * ((da / a) * X + (db - da * be / a) * f)
        check_finite("generated samples (softmax)", X)
        pi = posterior(mix, X, taus[-1], sim.means)
        per_soft.append(pi.mean(0))
        per_hard.append(np.bincount(pi.argmax(1), minlength=mix.K) / n_gen)
    soft, hard = np.array(per_soft), np.array(per_hard)
    S = soft.shape[0]
    se = soft.std(0, ddof=1) / math.sqrt(S) if S > 1 else np.sqrt(soft[0] * (1 - soft[0]) / n_gen)
    return {"p": mix.p.tolist(), "p_hat": soft.mean(0).tolist(), "p_hat_se": se.tolist(),
            "p_hard": hard.mean(0).tolist(), "per_seed": soft.tolist(),
            "max_error": float(np.max(np.abs(soft.mean(0) - mix.p))), "n_gen": n_gen, "tau_end": float(taus[-1])}
