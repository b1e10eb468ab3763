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
# # Cui et al.: flow of summary statistics and MSE vs n (PREDECESSOR §2, §5)
#
# Their Figure 1 and the end-of-flow MSE / cosine vs n with the Bayes-optimal baseline.
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
# Small sizes, a few seconds: Cui et al.'s learned denoiser and the statistics of its generated flow (`cui_learned`, `cui_closed_form`).
# The cells after it build the figure of the paper with `reproduce`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowphase.numerics.cui import cui_closed_form, cui_learned

# problem: Cui et al.'s setting (PREDECESSOR §2): n = 8 points, sigma = 1.5, lambda = 0.1, linear interpolant
n, sigma, lam = 8, 1.5, 0.1
t = np.linspace(0.0, 0.99, 100)
# solve: the learned denoiser (c, m, q_xi, q_eta) and the closed-form statistics M, P of the generated flow
# (cui_flow integrates the same statistics as an ODE; the figure below uses it)
learned = cui_learned(t, n, sigma, lam)
closed = cui_closed_form(t, n, sigma, lam)
print("c(t = 0.5) =", float(cui_learned(0.5, n, sigma, lam)["c"][0]), " M(t -> 1) =", float(closed["M"][-1]))
# plot
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(t, learned["c"], label="learned c")
ax.plot(t, closed["M"], label="flow M")
ax.plot(t, closed["P"], label="flow P")
ax.set_xlabel("t")
ax.legend()
plt.show()

# %%
(result,) = reproduce(['cui-flow'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'cui-flow.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md

# %%
(result,) = reproduce(['cui-mse'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'cui-mse.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md
