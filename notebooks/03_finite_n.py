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
# Small sizes, a few seconds: the phase-1 encoder overlap at several n (`learned_curve`, exact finite-n theory) and one simulation against it.
# The cells after it build the figure of the paper with `reproduce`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from flowphase.numerics.learned import learned_curve, learned_parameters
from flowphase.theory.problem import Problem
from flowphase.validation.compare import compare
from flowphase.validation.simulator import simulate

# solve: the phase-1 learned encoder overlap omega(t) at several n (exact finite-n theory, d = inf)
ts = np.linspace(0.02, 1.0, 30)
curves = {n: learned_curve(Problem.dilated(n=n), ts) for n in (16, 64, 256)}
print("omega(t = 0.5):", {n: round(float(learned_parameters(Problem.dilated(n=n), 0.5).omega), 4)
                          for n in (16, 64, 256)}, "n = inf:", learned_parameters(Problem.dilated(), 0.5).omega)
# simulate + compare at n = 16, d = 300 (2 seeds)
problem = Problem.dilated(n=16)
sim = simulate(problem, d=300, ts=[0.5], seeds=range(2), epochs=300, progress=False)
row = compare(problem, d=300, simulation=sim).row(0.5, "omega")
print(f"n = 16, d = 300: omega sim {row['sim_mean']:.4f} +- {row['sim_stderr']:.4f}, theory {row['theory']:.4f}")
# plot
fig, ax = plt.subplots(figsize=(6, 3.5))
for n, cur in curves.items():
    ax.plot(ts, cur.omega, label=f"n = {n}")
ax.plot(ts, 2 * ts, "k--", label="n = inf (kappa t)")
ax.set_xlabel("t (phase 1)")
ax.set_ylabel("omega")
ax.legend()
plt.show()

# %%
(result,) = reproduce(['finite-n'], OUT, quick=QUICK, progress=False)
display(Image(filename=str(OUT / 'finite-n.png')))
print(format_claims(result))   # CONFIRMED / REFUTED / INCONCLUSIVE, the words of REPORT.md
