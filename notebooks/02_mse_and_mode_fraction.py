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
# # MSE jumps and the generated mode fraction (PAPER §3.5, §3.7, §4)
#
# The Bayes MSE ε(t) with and without dilation, and the generated p̂ vs d.
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
# Small sizes, a few seconds: the Bayes MSE along each schedule (`mse_curve`, `mse_jumps`) and generation with the exact velocity (`generate_bayes`).
# The cells after it build the figure of the paper with `reproduce`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowphase.numerics.mse import mse_curve, mse_jumps
from flowphase.theory.problem import Problem
from flowphase.validation.sampling import generate_bayes

dilated, plain = Problem.dilated(p=0.8), Problem.undilated(p=0.8)
# solve: the Bayes-optimal MSE along each schedule (d = inf) and its first-order jumps
t_dil, t_und = np.linspace(0, 1.99, 200), np.linspace(0, 0.99, 100)
mse_dil, mse_und = mse_curve(dilated, t_dil), mse_curve(plain, t_und)
print("jumps, dilated:", [(j.t, round(j.size, 4)) for j in mse_jumps(dilated)],
      "undilated:", [(j.t, round(j.size, 4)) for j in mse_jumps(plain)])
# simulate: generate with the exact (Bayes) velocity at d = 500 and count the + mode
for name, pr in (("dilated", Problem.dilated(p=0.8)), ("undilated", Problem.undilated(p=0.8))):
    g = generate_bayes(pr, d=500, n_gen=500)
    print(f"{name}: p_hat = {g.mean('p_hat'):.3f} +- {g.stderr('p_hat'):.3f} (p = 0.8)")
# plot
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(t_dil / 2, mse_dil, label="dilated (t/2)")
ax.plot(t_und, mse_und, label="undilated")
ax.set_xlabel("fraction of the schedule")
ax.set_ylabel("Bayes MSE")
ax.legend()
plt.show()

# %%
(result,) = reproduce(['mse'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'mse.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md

# %%
(result,) = reproduce(['mode-fraction'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'mode-fraction.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md
