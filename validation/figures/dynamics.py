"""The ``dynamics`` figure: overlap ODE lines over finite-d GD points (issue 7, ``validation/dynamics_compare.py``)."""
from __future__ import annotations

from flowphase.validation.claims import Claim, FigureOutput

__all__ = ["dynamics_figure"]


def dynamics_figure(out_dir, quick: bool = False) -> FigureOutput:
    """Issue 7's learning-dynamics figure (ODE lines over simulator points)."""
    from flowphase.validation.dynamics_compare import make_dynamics_figure

    res = make_dynamics_figure(out_dir, quick=quick)
    claims = [Claim(c["text"], c.get("verdict", bool(c.get("confirmed"))), c.get("detail", ""), c.get("reason", ""))
              for c in res.get("claims", [])]
    data = {k: v for k, v in res.items() if k not in ("paths", "claims", "rows", "caption")}
    return FigureOutput("dynamics", [str(p) for p in res["paths"]], data, rows=list(res.get("rows", [])),
                        claims=claims, caption=res.get("caption", ""))
