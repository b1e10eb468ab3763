"""One full training epoch over all grid times at the authors' size.

n = 128, d = 5000, T = 80 times, fresh noise (one new x0 per point and time), Adam step included.
Compares, in the same run:

* ``numba-projected`` -- :func:`flowphase.validation.simulator.projected_numba.train_projected`, the projected
                     sampler (draws the rows' coordinates in V = span{x1, w, u}, two d-vectors in V^perp and a
                     chi-square; the same law as the dense sampler);
* ``numpy-projected`` -- its NumPy twin (:func:`flowphase.validation.simulator.projected_array.train_projected_array`);
* ``numba``       -- :func:`flowphase.validation.simulator.dense_numba.train_kernel` (dense sampler: single pass
                     per row, counter-based noise drawn inside the pass, parallel over the 80 times);
* ``numpy-ref``   -- the same algorithm (same counter-based noise) in NumPy
                     (:func:`flowphase.validation.simulator.dense_array.train_array`);
* ``numpy-plain`` -- a plain NumPy epoch with ``Generator.standard_normal`` noise and fused algebra
                     (what one would write by hand);
* ``torch-cpu``   -- the authors' formulation in PyTorch eager with autograd (if ``torch`` is
                     importable; ``pip install flowphase[bench]``), otherwise reported as skipped;
* ``numba-exact`` -- the exact fresh-noise expectation kernel (K -> infinity, no random numbers).

The memory-bandwidth floor is ``bytes / bandwidth`` with bytes = 16 n d T (read the data row and
the noise row per point and time, f64; PAPER ENGINEERING notes) and the bandwidth measured here by
a parallel numba read and a STREAM triad (the larger of the two).  Every implementation runs in float64 and in
float32 (storage; the kernels accumulate in float64), each **in its own subprocess**, so that its peak memory
(peak RSS, VmHWM, of that process: interpreter, libraries, data and set-up included) is its own.  The four ratios are
printed per dtype: dense / projected, projected / floor, torch / projected, NumPy (plain) / projected.

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
    # Adam moments of u, w in the storage dtype (as the simulator and the authors' PyTorch run)
    return dict(state_s=np.zeros((T, 8)), state_v=np.zeros((T, 4, d), dtype=st["u"].dtype), hist=np.zeros((T, 1, 7)))


def _cast(st, dtype):
    """The state with data and parameters stored in ``dtype`` (alpha, beta stay float64)."""
    dt = np.dtype(dtype)
    return {k: (v.astype(dt) if k in ("x1", "c", "b", "u", "w") else v) for k, v in st.items()}


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
            train_kernel(st["x1"], np.zeros((1, 1, 1), dtype=st["x1"].dtype), js, jt, seeds, st["alpha"], st["beta"],
                         c, b, u, w, ka["state_s"], ka["state_v"], 0, 0, 1, r, 1, 1e-2, 1e-2, 1, 0.9, 0.999, 1e-8,
                         2.0, 2.0, False, True, True, 1_000_000, ka["hist"], np.zeros(T))
        if r > 0:                      # r = 0 compiles / warms the cache
            best.append(time.perf_counter() - t0)
    return min(best)


def time_projected(st, n, d, T, reps, array=False):
    from flowphase.validation.simulator.projected_array import train_projected_array
    from flowphase.validation.simulator.projected_numba import data_basis, train_projected

    x1 = st["x1"]
    dt = x1.dtype
    basis = data_basis(x1)
    basis = (basis[0].astype(dt), basis[1], basis[2])
    seeds = np.array([0], dtype=np.int64)
    js, jt = np.zeros(T, dtype=np.int64), np.arange(T, dtype=np.int64)
    best, cpu = [], []
    for r in range(reps + 1):
        c, b, u, w = (st[k].copy() for k in ("c", "b", "u", "w"))
        ka = _kernel_args(st, T, d)
        kw = dict(model=0, optimizer=0, K=1, step0=r, n_steps=1, lr=1e-2, lr_decay_to=1e-2, total_steps=1,
                  beta1=0.9, beta2=0.999, eps=1e-8, lam_u=2.0, lam_w=2.0, use_fixed=False, train_c=True,
                  train_b=True, record_every=1_000_000, hist=ka["hist"], gnorm2=np.zeros(T))
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
                              ka["hist"], np.zeros(T))
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
        train_array(np, st["x1"], np.zeros((1, 1, 1), dtype=st["x1"].dtype), js, jt, seeds, st["alpha"], st["beta"],
                    c, b, u, w, ka["state_s"], ka["state_v"], model=0, optimizer=0, K=1, step0=r, n_steps=1,
                    lr=1e-2, lr_decay_to=1e-2, total_steps=1, beta1=0.9, beta2=0.999, eps=1e-8, lam_u=2.0, lam_w=2.0,
                    use_fixed=False, train_c=True, train_b=True, record_every=1_000_000, hist=ka["hist"],
                    gnorm2=np.zeros(T), job_chunk=chunk)
        best.append(time.perf_counter() - t0)
    return min(best)


def time_numpy_plain(st, n, d, T, reps):
    """Plain NumPy: Generator noise, fused algebra (no n x d residual), Adam; loop over times (in st's dtype)."""
    rng = np.random.default_rng(0)
    x1 = st["x1"][0]
    dt = x1.dtype
    sqd = math.sqrt(d)
    best = []
    for _ in range(reps):
        u, w = st["u"].copy(), st["w"].copy()
        mu, vu, mw, vw = (np.zeros_like(u) for _ in range(4))
        t0 = time.perf_counter()
        for k in range(T):
            X = dt.type(st["alpha"][k]) * rng.standard_normal((n, d), dtype=dt) + dt.type(st["beta"][k]) * x1
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
    """The authors' loop: PyTorch eager + autograd + torch.optim.Adam on CPU (2 threads), in st's dtype."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    tdt = torch.float64 if st["x1"].dtype == np.float64 else torch.float32
    x1 = torch.tensor(st["x1"][0])
    al = torch.tensor(st["alpha"], dtype=tdt)[:, None, None]
    be = torch.tensor(st["beta"], dtype=tdt)[:, None, None]
    c = torch.tensor(st["c"], requires_grad=True)
    b = torch.tensor(st["b"], requires_grad=True)
    u = torch.tensor(st["u"], requires_grad=True)
    w = torch.tensor(st["w"], requires_grad=True)
    opt = torch.optim.Adam([{"params": [u, w], "weight_decay": 2 * 2.0 / (d * T)}, {"params": [c, b]}], lr=1e-2)
    best = []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        X = al * torch.randn(T, n, d, dtype=tdt) + be * x1[None]
        z = torch.einsum("tnd,td->tn", X, w) / math.sqrt(d) + b[:, None]
        f = c[:, None, None] * X + torch.tanh(z)[:, :, None] * u[:, None, :]
        loss = n * torch.mean((f - x1[None]) ** 2)
        loss.backward()
        opt.step()
        if r > 0:
            best.append(time.perf_counter() - t0)
    return min(best)


CASES = ("projected", "dense", "exact", "numpy-projected", "numpy-ref", "numpy-plain", "torch")
LABELS = {"projected": "numba projected (fresh, K=1)", "dense": "numba dense (fresh, K=1)",
          "exact": "numba exact expectation (K=inf)", "numpy-projected": "numpy projected (same numbers)",
          "numpy-ref": "numpy-ref dense (same algorithm)", "numpy-plain": "numpy-plain (Generator noise)",
          "torch": "torch-cpu eager+autograd (authors)"}


def run_case(case, dtype, n, d, T, reps) -> dict:
    """Time one implementation in this process: ``{"t": s, "cpu": s or None, "rss_mb": max RSS}``."""
    _, _, st = _setup(n, d, T)
    st = _cast(st, dtype)
    cpu = None
    if case == "projected":
        t, cpu = time_projected(st, n, d, T, reps)
    elif case == "numpy-projected":
        t, _ = time_projected(st, n, d, T, max(1, reps - 2), array=True)
    elif case == "dense":
        t = time_numba(st, n, d, T, reps)
    elif case == "exact":
        t = time_numba_exact(st, n, d, T, reps)
    elif case == "numpy-ref":
        t = time_numpy_ref(st, n, d, T, 1)
    elif case == "numpy-plain":
        t = time_numpy_plain(st, n, d, T, max(1, reps - 2))
    else:
        t = time_torch(st, n, d, T, max(1, reps - 2))
    return {"t": t, "cpu": cpu, "rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """Peak resident memory of this process image (VmHWM; ``ru_maxrss`` would include the forking parent's)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_subprocess(case, dtype, args) -> dict:
    import json
    import subprocess

    cmd = [sys.executable, os.path.abspath(__file__), "--case", case, "--dtype", dtype, "--n", str(args.n),
           "--d", str(args.d), "--T", str(args.T), "--reps", str(args.reps)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--d", type=int, default=5000)
    ap.add_argument("--T", type=int, default=80)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)      # worker mode (one subprocess per row)
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    n, d, T = args.n, args.d, args.T
    if args.case:
        import json

        print(json.dumps(run_case(args.case, args.dtype, n, d, T, args.reps)))
        return 0
    load0 = os.getloadavg()
    t_start = time.perf_counter()
    bw_triad, bw_read = measure_bandwidth()
    bytes_epoch = 16.0 * n * d * T
    floor = bytes_epoch / max(bw_read, bw_triad)
    print(f"epoch: n={n} d={d} T={T} fresh noise, K=1, Adam; bytes touched (16 n d T) = {bytes_epoch / 1e6:.0f} MB")
    print(f"bandwidth: read {bw_read / 1e9:.1f} GB/s, triad {bw_triad / 1e9:.1f} GB/s -> floor {floor * 1e3:.1f} ms "
          f"(float32 storage halves the data bytes: its own floor {floor / 2 * 1e3:.1f} ms)")
    res = {}
    for dtype in ("float64", "float32"):
        for case in CASES:
            res[dtype, case] = _in_subprocess(case, dtype, args)
    for dtype in ("float64", "float32"):
        print(f"\n{dtype}: time per epoch, peak memory (max RSS of the process running it)")
        for case in CASES:
            r = res[dtype, case]
            if r["t"] is None:
                print(f"  {LABELS[case]:36s} skipped (torch not importable)")
            else:
                print(f"  {LABELS[case]:36s} {r['t'] * 1e3:9.1f} ms   {r['rss_mb']:7.0f} MB")
        t = {case: res[dtype, case]["t"] for case in CASES}
        tp = t["projected"]
        print(f"  ratios ({dtype}): dense/projected = {t['dense'] / tp:.1f}x (target >= 10); projected/floor = "
              f"{tp / floor:.2f}x (target <= 2; 16 n d T bytes); "
              + (f"torch/projected = {t['torch'] / tp:.0f}x (target >= 50); " if t["torch"] else "torch: skipped; ")
              + f"numpy-plain/projected = {t['numpy-plain'] / tp:.1f}x; numpy-projected/projected = "
              f"{t['numpy-projected'] / tp:.1f}x; numpy-ref/dense = {t['numpy-ref'] / t['dense']:.1f}x")
        print(f"  dense/floor = {t['dense'] / floor:.1f}x ; exact/floor = {t['exact'] / floor:.1f}x (the exact kernel "
              f"reads 8 n d T bytes: {t['exact'] / (floor / 2):.1f}x its own floor); projected CPU time (all threads) "
              f"{res[dtype, 'projected']['cpu'] * 1e3:.1f} ms")
    t64, t32 = res["float64", "projected"]["t"], res["float32", "projected"]["t"]
    print(f"\nprojected f64/f32 = {t64 / t32:.2f}x; authors' run projection (3 seeds x 40 000 epochs, this load): "
          f"{3 * 40000 * t64 / 60:.0f} min f64, {3 * 40000 * t32 / 60:.0f} min f32")
    print(f"load average (1 min) at start / end: {load0[0]:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"benchmark wall time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
