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

from IPython.display import Image, display

from flowphase.validation.reproduce import reproduce

QUICK = os.environ.get("FLOWPHASE_QUICK", "1") == "1"
OUT = Path(os.environ.get("FLOWPHASE_OUT", "notebook-output"))

# %%
(result,) = reproduce(['cui-flow'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'cui-flow.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)

# %%
(result,) = reproduce(['cui-mse'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'cui-mse.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)
