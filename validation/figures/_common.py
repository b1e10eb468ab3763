"""Helpers shared by the figure modules: the Agg backend, the simulator backend, one-unit file writes, and the
problem a figure is built for (:func:`figure_problem`, :func:`figure_size`, :func:`finish`).

Every figure builder has the signature ``build(out_dir, *, quick=False, problem=None, d=None, n=None, ...)``:
``problem`` (a :class:`~flowphase.theory.problem.Problem`) replaces the figure's default problem in the
parameters the figure depends on (its ``problem_fields``; any other parameter must keep the default's value,
otherwise ``ValueError`` names it), ``d`` and ``n`` replace the simulated dimension and number of training
samples where the figure has one (``ValueError`` where the figure sweeps that axis).  Without them a figure
computes exactly what it computed before these options existed.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional, Sequence

import numba
import numpy as np

from flowphase.validation._io import atomic_write_group, figure_bytes, json_bytes

__all__ = ["SIM_BACKEND", "OVERLAP_COLORS", "OVERLAP_KEYS", "PROBLEM_FIELDS", "plt", "save_figure", "spread",
           "figure_builder", "figure_problem", "figure_size", "finish"]

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


#: the problem parameters a figure may take from the user's problem (``flowphase reproduce --p --sigma ...``)
PROBLEM_FIELDS = ("p", "sigma", "kappa", "lam_u", "lam_w", "noise")


def _values(problem) -> dict:
    return {"p": problem.p, "sigma": problem.sigma, "kappa": problem.kappa, "lam_u": problem.training.lam_u,
            "lam_w": problem.training.lam_w, "noise": problem.training.noise, "schedule": problem.schedule.name}


def figure_builder(default_problem, fields: Sequence[str], *, sizes: Sequence[str] = (), check=None):
    """Mark a figure builder with its default problem, the problem fields it takes, the sizes (``d``, ``n``) it
    takes and an optional ``check(problem)`` (raises ``ValueError``) of a problem it cannot use;
    :func:`flowphase.validation.reproduce.reproduce` reads them to build the user's problem from options and to
    refuse an option a figure does not take before any work starts."""
    unknown = set(fields) - set(PROBLEM_FIELDS)
    if unknown:
        raise ValueError(f"unknown problem field(s) {sorted(unknown)}; choose from {PROBLEM_FIELDS}")

    def mark(build):
        build.default_problem = default_problem
        build.problem_fields = tuple(fields)
        build.size_options = tuple(sizes)
        build.check_problem = check
        return build
    return mark


def figure_problem(figure: str, problem, default, fields: Sequence[str]):
    """The problem figure ``figure`` is built for: ``default`` when ``problem`` is None, else ``problem``, whose
    parameters outside ``fields`` must equal the default's (``ValueError`` naming the first that does not)."""
    from flowphase.theory.problem import Problem

    if problem is None:
        return default
    if not isinstance(problem, Problem):
        raise ValueError(f"figure {figure!r}: problem must be a flowphase Problem, got {type(problem).__name__}")
    got, ref = _values(problem), _values(default)
    if got["schedule"] != ref["schedule"]:
        raise ValueError(f"figure {figure!r}: problem must have the {ref['schedule']} schedule, got "
                         f"{got['schedule']}")
    for k in PROBLEM_FIELDS:
        if k not in fields and got[k] != ref[k]:
            raise ValueError(f"figure {figure!r} does not take {k} (fixed at {ref[k]!r}); it takes "
                             + (", ".join(fields) if fields else "no problem parameter"))
    return problem


def figure_size(figure: str, name: str, value, problem, default, *, swept: bool = False):
    """A size ``name`` ('d' or 'n') of figure ``figure``: ``value`` if given, else the problem's own (finite)
    value, else ``default``.  ``swept``: the figure sweeps this axis, so neither may be given."""
    own = None if problem is None else getattr(problem, name)
    own = None if own is None or (isinstance(own, float) and math.isinf(own)) else own
    if swept:
        if value is not None or own is not None:
            raise ValueError(f"figure {figure!r} sweeps {name} (values {default}); {name} cannot be set")
        return default
    v = value if value is not None else own
    if v is None:
        return default
    if isinstance(v, bool) or not float(v).is_integer() or not 2 <= float(v) <= 10 ** 7:
        raise ValueError(f"figure {figure!r}: {name} must be an integer in [2, 1e7], got {v!r}")
    return int(v)


def finish(fig, out_dir, name: str, data: dict, *, claims, rows=(), caption: str = "", problem=None,
           sizes: Optional[dict] = None):
    """Attach the problem, sizes and the computed claims (with verdicts) to ``data``, write the PNG/PDF/JSON as
    one unit and return the :class:`~flowphase.validation.claims.FigureOutput`."""
    from flowphase.validation.claims import FigureOutput, claims_record

    if problem is not None:
        data["problem"] = problem.to_dict()
    if sizes is not None:
        data["sizes"] = dict(sizes)
    data.update(claims_record(claims))
    paths = save_figure(fig, out_dir, name, data)
    return FigureOutput(name, paths, data, rows=list(rows), claims=list(claims), caption=caption)
