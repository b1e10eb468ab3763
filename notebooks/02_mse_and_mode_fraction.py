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

from IPython.display import Image, display

from flowphase.validation.reproduce import reproduce

QUICK = os.environ.get("FLOWPHASE_QUICK", "1") == "1"
OUT = Path(os.environ.get("FLOWPHASE_OUT", "notebook-output"))

# %%
(result,) = reproduce(['mse'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'mse.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)

# %%
(result,) = reproduce(['mode-fraction'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'mode-fraction.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)
