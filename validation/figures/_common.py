"""Plotting helpers shared by the figure modules: the Agg backend, the simulator backend, one-unit file writes."""
from __future__ import annotations

from pathlib import Path
from typing import List

import numba
import numpy as np

from flowphase.validation._io import atomic_write_group, figure_bytes, json_bytes

__all__ = ["SIM_BACKEND", "OVERLAP_COLORS", "OVERLAP_KEYS", "plt", "save_figure", "spread"]

#: simulator backend: the numba kernels, or their NumPy reference when numba's JIT is disabled (debugging)
SIM_BACKEND = "numpy" if numba.config.DISABLE_JIT else "numba"
#: the four learned overlaps of the overlaps figures and their colours
OVERLAP_KEYS = ("c", "m", "omega", "b")
OVERLAP_COLORS = {"c": "tab:blue", "m": "tab:orange", "omega": "tab:green", "b": "tab:red"}


def plt():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def spread(values) -> float:
    """``max - min`` of the finite values."""
    v = np.asarray(values, dtype=float)
    return float(np.nanmax(v) - np.nanmin(v))


def save_figure(fig, out_dir, name: str, data: dict) -> List[str]:
    """Write ``name``.png/.pdf/.json as one unit; return the paths.

    All three are rendered in memory and written to temporaries first; the three renames follow back to
    back with the JSON last, so a figure whose JSON is present is complete.
    """
    pyplot = plt()
    out_dir = Path(out_dir)
    try:
        items = [(out_dir / f"{name}.png", figure_bytes(fig, "png", dpi=130, bbox_inches="tight")),
                 (out_dir / f"{name}.pdf", figure_bytes(fig, "pdf", bbox_inches="tight")),
                 (out_dir / f"{name}.json", json_bytes(data))]
    finally:
        pyplot.close(fig)
    return [str(p) for p in atomic_write_group(items)]
