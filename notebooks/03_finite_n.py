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
# # Finite-n generated statistics: Θ(1/n) (PAPER §3.5, §3.8)
#
# Generated mode mean and within-mode variance vs n with their closed forms.
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
(result,) = reproduce(['finite-n'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'finite-n.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)
