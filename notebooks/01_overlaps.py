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
# # Learned overlaps: theory vs finite-d training (PAPER §5 Figure A, §3.6)
#
# The learned parameters c, m, ω, b of the per-time denoiser along the dilated schedule. Change the problem
# and simulation sizes through `flowphase.validation.figures.overlaps.OVERLAPS_SIZES` or call
# `overlaps_data(...)` directly.
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
(result,) = reproduce(['overlaps'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'overlaps.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)

# %%
(result,) = reproduce(['overlaps-authors'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'overlaps-authors.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)

# %%
(result,) = reproduce(['simplification'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'simplification.png')))
for claim in result.claims:
    print('CONFIRMED ' if claim.confirmed else 'NOT CONFIRMED ', claim.text, '--', claim.detail)
