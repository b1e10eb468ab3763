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
# # U-Turn on the bundled handwritten digits (PAPER §6)
#
# Noise real 0s and 1s to time s, regenerate, classify.
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
# Small sizes, a few seconds: the imbalanced digits and the closed-form VP forward noise the U-Turn experiment uses.
# The cells after it build the figure of the paper with `reproduce`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowphase.validation.digits import forward_noise, load_imbalanced_digits, vp_coefficients

# problem: sklearn's 8x8 digits, zeros and ones only, 80 % zeros (PAPER §6.2)
data = load_imbalanced_digits(ones_ratio=0.25, seed=0)
print("training images:", data.x.shape, " fraction of zeros:", round(data.zero_fraction, 3))
# the VP-SDE forward leg in closed form: x_s = b(s) x + a(s) z (s = 0 data, s = 1 noise)
s_grid = np.linspace(0, 1, 6)
fig, axes = plt.subplots(1, len(s_grid), figsize=(9, 1.8))
for ax, s in zip(axes, s_grid):
    ax.imshow(forward_noise(data.x[:1], float(s), np.random.default_rng(0)).reshape(8, 8), cmap="gray")
    ax.set_title(f"s = {s:.1f}, b = {vp_coefficients(s)[0]:.2f}", fontsize=7)
    ax.axis("off")
plt.show()
# the U-Turn experiment below trains a denoiser, noises to s and denoises back, and counts the classes

# %%
(result,) = reproduce(['uturn'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'uturn.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md
