"""The ``dynamics`` figure: overlap ODE lines over finite-d GD points (issue 7, :mod:`~flowphase.validation.dynamics_compare`)."""
from __future__ import annotations

from flowphase.validation.claims import Claim, FigureOutput

__all__ = ["dynamics_figure"]


def dynamics_figure(out_dir, quick: bool = False) -> FigureOutput:
    """Issue 7's learning-dynamics figure (ODE lines over simulator points)."""
    from flowphase.validation.dynamics_compare import make_dynamics_figure

    res = make_dynamics_figure(out_dir, quick=quick)
    claims = [Claim(c["text"], bool(c["confirmed"]), c.get("detail", "")) for c in res.get("claims", [])]
    data = {k: v for k, v in res.items() if k not in ("paths", "claims", "rows", "caption")}
    return FigureOutput("dynamics", [str(p) for p in res["paths"]], data, rows=list(res.get("rows", [])),
                        claims=claims, caption=res.get("caption", ""))
