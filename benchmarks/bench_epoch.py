"""One full training epoch over all grid times at the authors' size (issue 3 and issue 13 benchmark).

n = 128, d = 5000, T = 80 times, fresh noise (one new x0 per point and time), Adam step included.
Compares, in the same run:

* ``numba-projected`` -- :func:`flowphase.validation._sim_proj.train_projected`, the projected sampler
                     (draws the rows' coordinates in V = span{x1, w, u}, two d-vectors in V^perp and a
                     chi-square; the same law as the dense sampler), float64 and float32;
* ``numpy-projected`` -- its NumPy twin (:func:`flowphase.validation._sim_proj_array.train_projected_array`);
* ``numba``       -- :func:`flowphase.validation._sim_numba.train_kernel` (single pass per row,
                     counter-based noise drawn inside the pass, parallel over the 80 times);
* ``numpy-ref``   -- the same algorithm (same counter-based noise) in NumPy
                     (:func:`flowphase.validation._sim_array.train_array`);
* ``numpy-plain`` -- a plain NumPy epoch with ``Generator.standard_normal`` noise and fused algebra
                     (what one would write by hand);
* ``torch-cpu``   -- the authors' formulation in PyTorch eager with autograd (if ``torch`` is
                     importable; ``pip install flowphase[bench]``), otherwise reported as skipped;
* ``numba-exact`` -- the exact fresh-noise expectation kernel (K -> infinity, no random numbers).

The memory-bandwidth floor is ``bytes / bandwidth`` with bytes = 16 n d T (read the data row and
the noise row per point and time, f64; PAPER ENGINEERING notes) and the bandwidth measured here by
a parallel numba read and a STREAM triad (the larger of the two).  Peak memory is the process's maximum RSS.

Run: ``python benchmarks/bench_epoch.py [--n 128 --d 5000 --T 80 --reps 3]``.  The machine is usually shared:
the load average is printed, and the projected sampler's CPU time (all threads) next to its wall time.
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time

# numba's OpenMP workers otherwise spin between kernels and steal the cores of the BLAS products (and of
# the other users of a shared machine); set OMP_WAIT_POLICY=active before running to measure spinning
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def _triad(a, b, c, s):
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


@njit(cache=True, parallel=True, fastmath=True)
def _read(a):
    tot = 0.0
    for i in prange(a.shape[0]):
        tot += a[i]
    return tot


def measure_bandwidth(nbytes=512 * 2 ** 20, reps=5):
    """Best-of-reps bandwidth (bytes/s) of a parallel read and of a STREAM triad (3 arrays)."""
    m = nbytes // 8
    a, b, c = np.zeros(m), np.ones(m), np.ones(m)
    _triad(a, b, c, 0.5)
    _read(b)
    tr, rd = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        _triad(a, b, c, 0.5)
        tr.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _read(b)
        rd.append(time.perf_counter() - t0)
    return 3 * 8 * m / min(tr), 8 * m / min(rd)


def _setup(n, d, T, seed=0):
    from flowphase.theory.problem import Problem

    pr = Problem.dilated(d=d, n=n)
    ts = pr.schedule.grid(T)
    al, be, _, _ = pr.coefficients(ts)
    x1, s, _ = pr.mixture.sample(n, d, rng=np.random.default_rng(seed))
    rng = np.random.default_rng(1)
    st = dict(x1=x1[None].copy(), alpha=np.asarray(al, float), beta=np.asarray(be, float),
              c=1e-3 * rng.standard_normal(T), b=1e-3 * rng.standard_normal(T),
              u=1e-3 * rng.standard_normal((T, d)), w=1e-3 * rng.standard_normal((T, d)))
    return pr, ts, st


def _kernel_args(st, T, d):
    return dict(state_s=np.zeros((T, 8)), state_v=np.zeros((T, 4, d)), hist=np.zeros((T, 1, 7)))


def time_numba(st, n, d, T, reps):
    from flowphase.validation.simulator.dense_numba import train_kernel

    seeds = np.array([0], dtype=np.int64)
    js, jt = np.zeros(T, dtype=np.int64), np.arange(T, dtype=np.int64)
    best = []
    for r in range(reps + 1):
        c, b, u, w = st["c"].copy(), st["b"].copy(), st["u"].copy(), st["w"].copy()
        ka = _kernel_args(st, T, d)
        t0 = time.perf_counter()
        with np.errstate(over="ignore"):
            train_kernel(st["x1"], np.zeros((1, 1, 1)), js, jt, seeds, st["alpha"], st["beta"], c, b, u, w,
                         ka["state_s"], ka["state_v"], 0, 0, 1, r, 1, 1e-2, 1e-2, 1, 0.9, 0.999, 1e-8, 2.0, 2.0,
                         False, True, True, 1_000_000, ka["hist"])
        if r > 0:                      # r = 0 compiles / warms the cache
            best.append(time.perf_counter() - t0)
    return min(best)


def time_projected(st, n, d, T, reps, dtype="float64", array=False):
    from flowphase.validation.simulator.projected_numba import data_basis, train_projected
    from flowphase.validation.simulator.projected_array import train_projected_array

    dt = np.dtype(dtype)
    x1 = st["x1"].astype(dt)
    basis = data_basis(x1)
    basis = (basis[0].astype(dt), basis[1], basis[2])
    seeds = np.array([0], dtype=np.int64)
    js, jt = np.zeros(T, dtype=np.int64), np.arange(T, dtype=np.int64)
    best, cpu = [], []
    for r in range(reps + 1):
        c, b, u, w = (st[k].astype(dt) for k in ("c", "b", "u", "w"))
        ka = _kernel_args(st, T, d)
        kw = dict(model=0, optimizer=0, K=1, step0=r, n_steps=1, lr=1e-2, lr_decay_to=1e-2, total_steps=1,
                  beta1=0.9, beta2=0.999, eps=1e-8, lam_u=2.0, lam_w=2.0, use_fixed=False, train_c=True,
                  train_b=True, record_every=1_000_000, hist=ka["hist"])
        t0, p0 = time.perf_counter(), time.process_time()
        with np.errstate(over="ignore"):
            if array:
                train_projected_array(np, x1, basis, js, jt, seeds, st["alpha"], st["beta"], c, b, u, w,
                                      ka["state_s"], ka["state_v"], **kw)
            else:
                train_projected(x1, basis, js, jt, seeds, st["alpha"], st["beta"], c, b, u, w, ka["state_s"],
                                ka["state_v"], **kw)
        if r > 0 or array:
            best.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - p0)
    return min(best), min(cpu)


def time_numba_exact(st, n, d, T, reps):
    from flowphase.validation.simulator.dense_numba import train_expected_kernel

    gq, wq = np.polynomial.hermite_e.hermegauss(48)
    wq = wq / wq.sum()
    js = np.zeros(T, dtype=np.int64)
    best = []
    for r in range(reps + 1):
        c, b, u, w = st["c"].copy(), st["b"].copy(), st["u"].copy(), st["w"].copy()
        ka = _kernel_args(st, T, d)
        t0 = time.perf_counter()
        train_expected_kernel(st["x1"], js, st["alpha"], st["beta"], c, b, u, w, ka["state_s"], ka["state_v"], gq,
                              wq, 0, r, 1, 1e-2, 1e-2, 1, 0.9, 0.999, 1e-8, 2.0, 2.0, True, True, 1_000_000,
                              ka["hist"])
        if r > 0:
            best.append(time.perf_counter() - t0)
    return min(best)


def time_numpy_ref(st, n, d, T, reps, chunk=8):
    from flowphase.validation.simulator.dense_array import train_array

    seeds = np.array([0], dtype=np.int64)
    js, jt = np.zeros(T, dtype=np.int64), np.arange(T, dtype=np.int64)
    best = []
    for r in range(reps):
        c, b, u, w = st["c"].copy(), st["b"].copy(), st["u"].copy(), st["w"].copy()
        ka = _kernel_args(st, T, d)
        t0 = time.perf_counter()
        train_array(np, st["x1"], np.zeros((1, 1, 1)), js, jt, seeds, st["alpha"], st["beta"], c, b, u, w,
                    ka["state_s"], ka["state_v"], 0, 0, 1, r, 1, 1e-2, 1e-2, 1, 0.9, 0.999, 1e-8, 2.0, 2.0, False,
                    True, True, 1_000_000, ka["hist"], job_chunk=chunk)
        best.append(time.perf_counter() - t0)
    return min(best)


def time_numpy_plain(st, n, d, T, reps):
    """Plain NumPy: Generator noise, fused algebra (no n x d residual), Adam; loop over times."""
    rng = np.random.default_rng(0)
    x1 = st["x1"][0]
    sqd = math.sqrt(d)
    best = []
    for _ in range(reps):
        u, w = st["u"].copy(), st["w"].copy()
        mu, vu, mw, vw = (np.zeros_like(u) for _ in range(4))
        t0 = time.perf_counter()
        for k in range(T):
            X = st["alpha"][k] * rng.standard_normal((n, d)) + st["beta"][k] * x1
            a = np.tanh(X @ w[k] / sqd + st["b"][k])
            uu = u[k] @ u[k]
            ur = st["c"][k] * (X @ u[k]) + a * uu - x1 @ u[k]
            gz = ur * (1 - a * a)
            gu = (2.0 / d) * (st["c"][k] * (a @ X) + (a @ a) * u[k] - a @ x1) + 4.0 * u[k] / d
            gw = (2.0 / d) * (gz @ X) / sqd + 4.0 * w[k] / d
            for g, m_, v_, p_ in ((gu, mu, vu, u), (gw, mw, vw, w)):
                m_[k] = 0.9 * m_[k] + 0.1 * g
                v_[k] = 0.999 * v_[k] + 0.001 * g * g
                p_[k] -= 1e-2 * (m_[k] / 0.1) / (np.sqrt(v_[k] / 0.001) + 1e-8)
        best.append(time.perf_counter() - t0)
    return min(best)


def time_torch(st, n, d, T, reps):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    x1 = torch.tensor(st["x1"][0])
    al = torch.tensor(st["alpha"])[:, None, None]
    be = torch.tensor(st["beta"])[:, None, None]
    c = torch.tensor(st["c"], requires_grad=True)
    b = torch.tensor(st["b"], requires_grad=True)
    u = torch.tensor(st["u"], requires_grad=True)
    w = torch.tensor(st["w"], requires_grad=True)
    opt = torch.optim.Adam([{"params": [u, w], "weight_decay": 2 * 2.0 / (d * T)}, {"params": [c, b]}], lr=1e-2)
    best = []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        X = al * torch.randn(T, n, d, dtype=torch.float64) + be * x1[None]
        z = torch.einsum("tnd,td->tn", X, w) / math.sqrt(d) + b[:, None]
        f = c[:, None, None] * X + torch.tanh(z)[:, :, None] * u[:, None, :]
        loss = n * torch.mean((f - x1[None]) ** 2)
        loss.backward()
        opt.step()
        if r > 0:
            best.append(time.perf_counter() - t0)
    return min(best)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--d", type=int, default=5000)
    ap.add_argument("--T", type=int, default=80)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    n, d, T = args.n, args.d, args.T
    load0 = os.getloadavg()
    pr, ts, st = _setup(n, d, T)
    t_pj, c_pj = time_projected(st, n, d, T, args.reps)
    rss_pj = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t_pj32, c_pj32 = time_projected(st, n, d, T, args.reps, dtype="float32")
    t_pjnp, _ = time_projected(st, n, d, T, max(1, args.reps - 2), array=True)
    bw_triad, bw_read = measure_bandwidth()
    bytes_epoch = 16.0 * n * d * T
    floor = bytes_epoch / max(bw_read, bw_triad)
    print(f"epoch: n={n} d={d} T={T} fresh noise, K=1, Adam; bytes touched (16 n d T) = {bytes_epoch / 1e6:.0f} MB")
    print(f"bandwidth: read {bw_read / 1e9:.1f} GB/s, triad {bw_triad / 1e9:.1f} GB/s -> floor {floor * 1e3:.1f} ms")
    t_nb = time_numba(st, n, d, T, args.reps)
    t_ex = time_numba_exact(st, n, d, T, args.reps)
    t_np = time_numpy_ref(st, n, d, T, max(1, args.reps - 2))
    t_pl = time_numpy_plain(st, n, d, T, max(1, args.reps - 2))
    t_th = time_torch(st, n, d, T, max(1, args.reps - 2))
    rows = [("numba projected (fresh, K=1) f64", t_pj), ("numba projected f32", t_pj32),
            ("numpy projected (same numbers)", t_pjnp), ("numba dense (fresh, K=1)", t_nb),
            ("numba exact expectation (K=inf)", t_ex),
            ("numpy-ref (same algorithm)", t_np), ("numpy-plain (Generator noise)", t_pl),
            ("torch-cpu eager+autograd", t_th)]
    for name, t in rows:
        print(f"  {name:34s} " + ("skipped (torch not importable)" if t is None else f"{t * 1e3:9.1f} ms"))
    print(f"ratios: numpy-ref/numba = {t_np / t_nb:.1f}x, numpy-plain/numba = {t_pl / t_nb:.1f}x, "
          + (f"torch/numba = {t_th / t_nb:.1f}x" if t_th else "torch: skipped"))
    print(f"numba / floor = {t_nb / floor:.1f}x ; numba-exact / floor = {t_ex / floor:.1f}x "
          f"(exact kernel reads 8 n d T bytes: {t_ex / (floor / 2):.1f}x its own floor)")
    print(f"projected sampler: dense/projected = {t_nb / t_pj:.1f}x (target >= 10), projected/floor = "
          f"{t_pj / floor:.2f}x (target <= 2), " + (f"torch/projected = {t_th / t_pj:.0f}x (target >= 50), "
                                                     if t_th else "torch: skipped, ")
          + f"numpy-plain/projected = {t_pl / t_pj:.1f}x, numpy-projected/projected = {t_pjnp / t_pj:.1f}x, "
          f"f64/f32 = {t_pj / t_pj32:.2f}x")
    print(f"projected sampler CPU time per epoch (all threads): f64 {c_pj * 1e3:.1f} ms, f32 {c_pj32 * 1e3:.1f} ms "
          f"(wall {t_pj * 1e3:.1f} / {t_pj32 * 1e3:.1f} ms)")
    print(f"authors' run projection (3 seeds x 40 000 epochs, this load): {3 * 40000 * t_pj / 60:.0f} min f64, "
          f"{3 * 40000 * t_pj32 / 60:.0f} min f32")
    print(f"peak memory (max RSS): projected f64 alone {rss_pj:.0f} MB; whole benchmark "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"load average (1 min) at start / end: {load0[0]:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
