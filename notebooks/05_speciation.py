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
# # Biroli et al.: speciation and the cloning probability (PREDECESSOR §4)
#
# φ(t) vs t/t_S for several d.
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
# Small sizes, a few seconds: the speciation time and the cloning probability (`speciation_time`, `cloning_probability`).
# The cells after it build the figure of the paper with `reproduce`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowphase.numerics.speciation import cloning_probability, speciation_time

# solve: speciation time t_S = ln(d)/2 (OU time, PREDECESSOR §4) and the cloning probability around it
for d in (100, 1000, 10000):
    print(f"d = {d}: t_S = {speciation_time(d):.3f}")
x = np.linspace(0.2, 2.0, 60)
fig, ax = plt.subplots(figsize=(6, 3.5))
for d in (100, 1000, 10000):
    ax.plot(x, cloning_probability(x * speciation_time(d), d), label=f"d = {d}")
ax.set_xlabel("t / t_S")
ax.set_ylabel("P(two clones end in the same class)")
ax.legend()
plt.show()

# %%
(result,) = reproduce(['speciation'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'speciation.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md
