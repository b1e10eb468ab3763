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
# # Learned overlaps: theory vs finite-d training (PAPER §5 Figure A, §3.6)
#
# The learned parameters c, m, ω, b of the per-time denoiser along the dilated schedule. Change the problem
# and simulation sizes through `flowphase.validation.figures.overlaps.OVERLAPS_SIZES` or call
# `overlaps_data(...)` directly.
#
# Set `QUICK = False` for the documented default sizes (see the README for run times).

# %%
import os
from pathlib import Path

try:
    from IPython.display import Image, display
except ImportError:   # run as a plain script with the core install: name the file instead of showing it
    Image, display = (lambda filename: f"figure: {filename}"), print

from flowphase.validation.claims import format_claims
from flowphase.validation.reproduce import reproduce

QUICK = os.environ.get("FLOWPHASE_QUICK", "1") == "1"
OUT = Path(os.environ.get("FLOWPHASE_OUT", "notebook-output"))

# %% [markdown]
# ## The library in a few calls
#
# Small sizes, a few seconds: problem → theory curve (`learned_curve`) → finite-d training (`simulate`) → table (`compare`) → plot.
# The cells after it build the figure of the paper with `reproduce`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowphase.numerics.learned import learned_curve
from flowphase.theory.problem import Problem
from flowphase.validation.compare import compare
from flowphase.validation.simulator import simulate

# problem: two-mode mixture (p, sigma), time dilation (kappa), n training points, ridge lambda
problem = Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, n=32, lam_u=2.0, lam_w=2.0)
d = 400
# solve: the exact finite-n theory of the learned overlaps at the simulator's d
ts = np.linspace(0.02, 1.98, 50)
theory = learned_curve(problem, ts, d=d)
# simulate: finite-d training (default protocol: GD on the exact fresh-noise objective), 2 seeds
sim = simulate(problem, d=d, ts=[0.25, 0.5, 1.0, 1.5], seeds=range(2), epochs=300, progress=False)
# compare: one row per (t, quantity) with simulated mean, standard error and theory
table = compare(problem, d=d, simulation=sim)
for row in table.rows:
    if row["quantity"] in ("m", "omega"):
        print(f"t={row['t']:.2f} {row['quantity']:5s} sim {row['sim_mean']:.4f} +- {row['sim_stderr']:.4f}"
              f"  theory {row['theory']:.4f}")
# plot
fig, ax = plt.subplots(figsize=(6, 3.5))
for j, name in ((1, "m"), (2, "omega")):
    ax.plot(ts, getattr(theory, name), label=f"{name}: exact theory, d = {d}")
    ax.errorbar(sim.ts, sim.mean()[:, j], sim.stderr()[:, j], fmt="o", label=f"{name}: simulation")
ax.set_xlabel("t (dilated time)")
ax.legend(fontsize=7)
plt.show()

# %%
(result,) = reproduce(['overlaps'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'overlaps.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md

# %%
(result,) = reproduce(['overlaps-authors'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'overlaps-authors.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md

# %%
(result,) = reproduce(['simplification'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'simplification.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md
