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

from IPython.display import Image, display

from flowphase.validation.reproduce import reproduce

QUICK = os.environ.get("FLOWPHASE_QUICK", "1") == "1"
OUT = Path(os.environ.get("FLOWPHASE_OUT", "notebook-output"))

# %%
(result,) = reproduce(['uturn'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'uturn.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)
