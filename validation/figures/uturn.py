"""The ``uturn`` figure: U-Turn on the bundled digits, decision window and re-allocation (PAPER §6)."""
from __future__ import annotations

import math
from pathlib import Path

from flowphase.validation.claims import INCONCLUSIVE, REFUTED, Claim, FigureOutput, exceeds, within
from flowphase.validation.tolerances import claim_limit, claim_noise

__all__ = ["uturn_figure", "uturn_claims"]


def uturn_claims(result: dict) -> list:
    """The claims of the U-Turn figure, decided from its JSON (tolerances ``claim_uturn_*``).

    The re-allocation claim (PAPER §6.6) is decided by the 95 % Student-t interval over seeds of the paired
    difference ``|p0_hat - 0.8|(uniform) - |p0_hat - 0.8|(re-allocated)``: confirmed when it lies above 0,
    refuted when below, inconclusive when it contains 0 -- then the reason gives the half-width against the
    measured mean and the binomial floor ``sqrt(2 p (1 - p) / n_gen)`` of one seed's difference, which the
    seeds cannot average away at this size.
    """
    cfg = result["config"]
    acc, n_test = result["classifier"]["heldout_accuracy"], result["classifier"]["n_test"]
    err, err_se = 1.0 - acc, math.sqrt(max(acc * (1.0 - acc), 0.0) / max(n_test, 1))
    win = result.get("window")
    claims = [Claim("the 0-vs-1 classifier is accurate enough to read the feature (≥ 98 % held out)",
                    within(err, claim_limit("claim_uturn_accuracy"), claim_noise("claim_uturn_accuracy", err_se),
                           "the held-out error"),
                    f"held-out accuracy {acc:.4f} on {n_test} images", size=f"{n_test} held-out images"),
              Claim("the U-Turn localises a decision window for the class", win is not None,
                    "no window found" if win is None else
                    f"window in τ = 1 − s: [{win['tau_start']:.3f}, {win['tau_end']:.3f}]")]
    re = result.get("reallocation")
    if re is not None:
        diff = re["summary"]["error_uniform_minus_reallocated"]
        lo, hi = diff["ci95"]
        mean, half = diff["mean"], 0.5 * (hi - lo)
        n_seeds, n_gen = len(re["records"]["uniform"]), cfg["n_gen"]
        verdict, reason = exceeds(mean, claim_limit("claim_uturn_reallocation"), half,
                                  "the mean paired difference")
        if verdict == INCONCLUSIVE:
            p0 = re.get("target_p0", 0.8)
            floor = math.sqrt(2.0 * p0 * (1.0 - p0) / n_gen)
            reason = (f"the 95 % t-interval over {n_seeds} seeds [{lo:+.3f}, {hi:+.3f}] contains 0: its half-width "
                      f"{half:.3f} exceeds the measured |mean| {abs(mean):.3f} (one seed's binomial floor "
                      f"√(2p(1−p)/n_gen) = {floor:.3f})")
        detail = f"uniform − reallocated error: {mean:+.4f}, 95 % CI [{lo:+.4f}, {hi:+.4f}]"
        if verdict == REFUTED:
            detail += " (re-allocation worse)"
        claims.append(Claim("oversampling the window lowers |p̂₀ − 0.8| at equal budget (95 % CI above 0)",
                            (verdict, reason), detail,
                            size=f"{n_seeds} seeds x {n_gen} generated images, {cfg['train_steps']} training steps"))
    return claims


def uturn_figure(out_dir, quick: bool = False) -> FigureOutput:
    """The U-Turn figure on the bundled digits, with its decision window and re-allocation result."""
    import json

    from flowphase.validation.uturn import make_uturn_figure

    paths = make_uturn_figure(out_dir, quick=quick)
    result = json.loads(Path(paths["json"]).read_text())
    return FigureOutput("uturn", [paths["png"], paths["pdf"], paths["json"]], result, claims=uturn_claims(result))
