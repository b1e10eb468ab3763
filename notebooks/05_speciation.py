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

from IPython.display import Image, display

from flowphase.validation.reproduce import reproduce

QUICK = os.environ.get("FLOWPHASE_QUICK", "1") == "1"
OUT = Path(os.environ.get("FLOWPHASE_OUT", "notebook-output"))

# %%
(result,) = reproduce(['speciation'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'speciation.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)
