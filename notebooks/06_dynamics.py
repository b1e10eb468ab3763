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
# # Learning dynamics in overlap space
#
# Gradient-flow ODE trajectories of the overlaps against the simulator, epoch by epoch.
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
# Small sizes, a few seconds: finite-d gradient descent of one denoiser against the exact overlap map (`simulate_gd_overlaps`, `iterate_gd_map`).
# The cells after it build the figure of the paper with `reproduce`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowphase.numerics import dynamics as D
from flowphase.theory.problem import Problem
from flowphase.validation.dynamics_compare import simulate_gd_overlaps

problem, t, d, eta, steps, batch = Problem.dilated(), 0.5, 300, 0.04, 60, 256
# simulate: finite-d full-batch GD of the per-time denoiser (a fresh batch of 256 points each step)
sim = simulate_gd_overlaps(problem, t, d, steps, eta=eta, init="small", seed=1, batch=batch, record_every=5)
# solve: the exact GD map of the overlaps from the same initial overlaps, finite-batch noise term included
# (D.integrate_overlaps gives the gradient-flow ODE; the figure below draws it)
y0 = np.array([sim[k][0] for k in D.STATE_NAMES])
gd = D.iterate_gd_map(problem.replace(d=d), t, y0, eta, steps, record_every=5, sgd=eta * d / batch,
                      n_quad=61).as_dict()
# compare + plot
print("max |theory - simulation|:", {k: round(float(np.max(np.abs(gd[k] - sim[k]))), 4) for k in ("m", "omega", "b")})
fig, ax = plt.subplots(figsize=(6, 3.5))
for k in ("m", "omega", "b"):
    line, = ax.plot(sim["s"] / eta, gd[k], label=f"{k}: GD map")
    ax.plot(sim["s"] / eta, sim[k], "o", ms=3, color=line.get_color())
ax.set_xlabel("GD step")
ax.legend()
plt.show()

# %%
(result,) = reproduce(['dynamics'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'dynamics.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md
