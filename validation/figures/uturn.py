"""The ``uturn`` figure: U-Turn on the bundled digits, decision window and re-allocation (issue 5, PAPER §6)."""
from __future__ import annotations

from pathlib import Path

from flowphase.validation.claims import Claim, FigureOutput

__all__ = ["uturn_figure"]


def uturn_figure(out_dir, quick: bool = False) -> FigureOutput:
    """Issue 5's U-Turn figure on the bundled digits, with its decision window and re-allocation result."""
    import json

    from flowphase.validation.uturn import make_uturn_figure

    paths = make_uturn_figure(out_dir, quick=quick)
    result = json.loads(Path(paths["json"]).read_text())
    acc = result["classifier"]["heldout_accuracy"]
    win = result.get("window")
    claims = [Claim("the 0-vs-1 classifier is accurate enough to read the feature (≥ 98 % held out)", acc >= 0.98,
                    f"held-out accuracy {acc:.4f}"),
              Claim("the U-Turn localises a decision window for the class", win is not None,
                    "no window found" if win is None else
                    f"window in τ = 1 − s: [{win['tau_start']:.3f}, {win['tau_end']:.3f}]")]
    re = result.get("reallocation")
    if re is not None:
        diff = re["summary"]["error_uniform_minus_reallocated"]
        lo, hi = diff["ci95"]
        claims.append(Claim("oversampling the window lowers |p̂₀ − 0.8| at equal budget (95 % CI above 0)",
                            bool(lo > 0),
                            f"uniform − reallocated error: {diff['mean']:+.4f}, 95 % CI [{lo:+.4f}, {hi:+.4f}]"))
    return FigureOutput("uturn", [paths["png"], paths["pdf"], paths["json"]], result, claims=claims)
