# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Compare flowphase with your own PyTorch trainer
#
# A paired replication (docs/pytorch_recipe.md): the authors' training loop written in PyTorch and flowphase's
# simulator train on **the same data and the same N(0, 1) initial parameters**; flowphase runs several noise
# streams of that one experiment, whose spread is the noise floor.  Needs torch (`pip install -e ".[bench]"`).
#
# Writes `pytorch_pairing.{png,pdf,json}`: per overlap and time, PyTorch − flowphase next to flowphase − flowphase
# (another noise stream), and the z-scores.  Set `QUICK = False` for d = 1000, n = 128 on the authors' 80-point grid.

# %%
import json
import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from flowphase.theory.problem import Problem  # noqa: E402
from flowphase.validation.simulator.rng import noise_rows  # noqa: E402
from flowphase.validation.pairing import overlaps_of, paired_comparison  # noqa: E402
from flowphase.validation.simulator import OVERLAP_NAMES, simulate  # noqa: E402

QUICK = os.environ.get("FLOWPHASE_QUICK", "1") == "1"
OUT = Path(os.environ.get("FLOWPHASE_OUT", "notebook-output"))
OUT.mkdir(parents=True, exist_ok=True)

if QUICK:
    D, N, EPOCHS, STREAMS, TORCH_RUNS = 100, 16, 200, 8, 2
    pr = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, d=D, n=N, lam_u=2.0, lam_w=2.0)
    TS = np.array([0.0, 0.25, 0.5, 1.0, 1.5])
else:
    D, N, EPOCHS, STREAMS, TORCH_RUNS = 1000, 128, 3000, 8, 2
    pr = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, d=D, n=N, lam_u=2.0, lam_w=2.0)
    TS = pr.schedule.grid(80)
LR, LAM, T = 1e-2, 2.0, len(TS)

# %% [markdown]
# ## The shared experiment: data and initial parameters drawn once

# %%
rng = np.random.default_rng(2024)
x1, s, _ = pr.mixture.sample(N, D, rng=rng)
init = {"c": rng.standard_normal(T), "b": rng.standard_normal(T), "u": rng.standard_normal((T, D)),
        "w": rng.standard_normal((T, D))}


# %% [markdown]
# ## Your trainer: the authors' loop in PyTorch
#
# `n * MSELoss` over all (T, n, d) elements is the theory loss divided by T, so the coupled weight decay is
# `wd = 2 lam / (d T)` (lam = wd d T / 2) and Adam's eps is `1e-8 / T`.

# %%
def torch_train(seed=0, noise=None):
    f64 = torch.float64
    c, b, u, w = (torch.tensor(init[k], dtype=f64, requires_grad=True) for k in ("c", "b", "u", "w"))
    opt = torch.optim.Adam([{"params": [c, b], "weight_decay": 0.0},
                            {"params": [u, w], "weight_decay": 2 * LAM / (D * T)}], lr=LR, eps=1e-8 / T)
    alpha, beta, _, _ = pr.coefficients(TS)
    al = torch.tensor(np.broadcast_to(alpha, (T,)).copy(), dtype=f64)[:, None, None]
    be = torch.tensor(np.broadcast_to(beta, (T,)).copy(), dtype=f64)[:, None, None]
    X1 = torch.tensor(x1, dtype=f64)
    gen = torch.Generator().manual_seed(seed)
    for step in range(EPOCHS):
        x0 = torch.randn(T, N, D, generator=gen, dtype=f64) if noise is None else torch.tensor(noise(step))
        xt = al * x0 + be * X1[None]
        z = (xt @ w[:, :, None])[..., 0] / math.sqrt(D) + b[:, None]
        f = c[:, None, None] * xt + torch.tanh(z)[..., None] * u[:, None, :]
        loss = N * torch.nn.functional.mse_loss(f, X1.expand(T, N, D))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return overlaps_of(*(v.detach().numpy() for v in (c, b, u, w)))


# %% [markdown]
# ## 1. Same noise: the loop is the simulator's loop

# %%
sim1 = simulate(pr, ts=TS, seeds=[7], protocol="authors", epochs=EPOCHS, data={"x1": x1, "s": s},
                init_params=init, progress=False)
same = torch_train(noise=lambda step: noise_rows(np, [7] * T, step, np.arange(T), np.arange(N), D))
same_noise_gap = float(np.abs(same - sim1.overlaps[0]).max())
print(f"max |PyTorch - flowphase| with flowphase's noise: {same_noise_gap:.2e}")

# %% [markdown]
# ## 2. Own noise: PyTorch against flowphase's noise floor

# %%
sim = simulate(pr, ts=TS, seeds=range(STREAMS), protocol="authors", epochs=EPOCHS, data={"x1": x1, "s": s},
               init_params=init, progress=False)
ours = np.stack([torch_train(seed=1 + r) for r in range(TORCH_RUNS)])
tab = paired_comparison(sim, ours)
print(f"RMS z = {tab.rms_z():.2f}, max |z| = {tab.max_abs_z():.2f}")
for q, v in tab.summary().items():
    print(f"{q:7s} max|torch - fp| = {v['max_abs_other_minus_flowphase']:.4f}   "
          f"max|fp - fp| = {v['max_abs_flowphase_minus_flowphase']:.4f}   max|z| = {v['max_abs_z']:.2f}")

# %%
fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharex=True)
for ax, q in zip(axes.ravel(), OVERLAP_NAMES):
    rows = [r for r in tab.rows if r["quantity"] == q]
    t = [r["t"] for r in rows]
    ax.fill_between(t, [-2 * r["flowphase_sd"] for r in rows], [2 * r["flowphase_sd"] for r in rows], color="0.85",
                    label="±2 sd between flowphase streams")
    ax.plot(t, [r["other_minus_flowphase"] for r in rows], "o-", label="PyTorch mean − flowphase mean")
    ax.plot(t, [r["flowphase_minus_flowphase"] for r in rows], "s--", label="flowphase − flowphase (other stream)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title(q)
axes[0, 0].legend(fontsize=7)
for ax in axes[1]:
    ax.set_xlabel("t")
fig.suptitle(f"paired replication, same data and init (d = {D}, n = {N}, {EPOCHS} Adam steps)")
fig.tight_layout()
fig.savefig(OUT / "pytorch_pairing.png", dpi=120)
fig.savefig(OUT / "pytorch_pairing.pdf")

# %%
record = {"params": {"d": D, "n": N, "epochs": EPOCHS, "lr": LR, "lam": LAM, "ts": TS.tolist(), "streams": STREAMS,
                     "torch_runs": TORCH_RUNS, "torch": torch.__version__, "problem": pr.to_dict(),
                     "config": sim.config},
          "same_noise_max_abs_difference": same_noise_gap, "rms_z": tab.rms_z(), "max_abs_z": tab.max_abs_z(),
          "summary": tab.summary(), "rows": tab.rows}
(OUT / "pytorch_pairing.json").write_text(json.dumps(record, indent=1))
