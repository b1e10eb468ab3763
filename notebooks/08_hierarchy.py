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
# # Beyond two modes: a hierarchy, several decision windows and a designed schedule
#
# A 4-mode two-level mixture (parents 0.6/0.4, children 0.8/0.2 and 0.6/0.4, sibling separations
# ε = 0.15 and 0.02) has one decision window per split: the coarse split at τ ~ 1/√d and the sibling
# splits at τ ~ 1/(ε√d). The paper's dilation stretches only [0, κ/√d]; the schedule designed from the
# theory puts grid points into every window.
#
# Set `QUICK = False` for the documented default sizes (see docs/runtimes.md for run times).

# %%
import os
from pathlib import Path

try:
    from IPython.display import Image, display
except ImportError:   # run as a plain script with the core install: name the file instead of showing it
    Image, display = (lambda filename: f"figure: {filename}"), print

from flowphase.numerics.multimode import schedule_from_mixture
from flowphase.validation.figures.hierarchy import EXAMPLE
from flowphase.validation.claims import format_claims
from flowphase.validation.reproduce import reproduce

QUICK = os.environ.get("FLOWPHASE_QUICK", "1") == "1"
OUT = Path(os.environ.get("FLOWPHASE_OUT", "notebook-output"))

# %% [markdown]
# ## The library in a few calls
#
# Small sizes, a few seconds: the exact flow of a hierarchical mixture on two schedules (`projection_flow`).
# The cells after it build the figure of the paper with `reproduce`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowphase.numerics.multimode import projection_flow
from flowphase.theory.mixtures import hierarchical
from flowphase.theory.problem import TimeDilation, UniformSchedule

# problem: a hierarchical 4-mode mixture (two super-classes 0.6/0.4, each split 0.8/0.2 and 0.6/0.4)
d = 1000
mix = hierarchical((0.6, 0.4), ((0.8, 0.2), (0.6, 0.4)), d=d, eps=0.3)
# solve: the exact flow's generated mode weights on the authors' grid of 40 times, two schedules
res = {name: projection_flow(mix, sch, n_times=40, d=d, m=8, reps=2)
       for name, sch in (("time dilation", TimeDilation(2.0, d)), ("uniform", UniformSchedule()))}
for name, fw in res.items():
    print(f"{name:14s} p_hat =", np.round(fw.p_hat, 3), " weights =", np.round(mix.weights, 3))
fig, ax = plt.subplots(figsize=(6, 3.2))
x = np.arange(len(mix.weights))
ax.bar(x - 0.25, mix.weights, 0.25, label="mixture weights")
for i, (name, fw) in enumerate(res.items()):
    ax.bar(x + 0.25 * i, fw.p_hat, 0.25, label=name)
ax.set_xlabel("mode")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# One call from a mixture to a schedule: windows, decision times and the multi-window `PiecewiseSchedule`.

# %%
schedule, analysis = schedule_from_mixture(EXAMPLE.mixture(10_000), m=10 if QUICK else 12)
for w in analysis.windows:
    print(f"window tau in [{w['start']:.4g}, {w['end']:.4g}]  splits: {w['splits']}")
for dec in analysis.decisions:
    print(f"split {dec['split']:>20}: tau_bayes = {dec['tau_bayes']:.4g}, tau_spectral = {dec['tau_spectral']:.4g}")
print("mass per window piece:", [round(m, 3) for m in schedule.window_mass()])

# %%
(result,) = reproduce(['hierarchy'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'hierarchy.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md
