"""What a figure of ``flowphase reproduce`` returns: its files, table rows and the paper claims it checks.

Every claim carries a three-valued verdict computed from the plotted numbers:

* ``confirmed``: the numbers satisfy the claim;
* ``refuted``: they contradict it by more than the run's standard-error budget;
* ``inconclusive``: the measured difference lies within the standard-error budget, so this size (seeds,
  samples, dimension) cannot decide; the claim says why in ``reason``.

Two decision rules cover the claims of the figures, both with a noise budget ``noise`` (``k`` standard errors,
``k`` from the claim's entry of :mod:`flowphase.validation.tolerances`):

* :func:`within` for an agreement ``value <= limit`` (a deviation against its tolerance): confirmed when it
  holds, inconclusive when it fails by less than ``noise``, refuted beyond;
* :func:`exceeds` for an effect ``value > threshold`` (a difference the run must resolve): confirmed when
  ``value - noise > threshold``, refuted when ``value + noise < threshold``, inconclusive in between.

Without noise (theory-only numbers) both are two-valued.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, List, Tuple

__all__ = ["CONFIRMED", "REFUTED", "INCONCLUSIVE", "VERDICTS", "Claim", "FigureOutput", "within", "exceeds",
           "combine", "verdict_counts", "claims_record", "format_claims"]

CONFIRMED, REFUTED, INCONCLUSIVE = "confirmed", "refuted", "inconclusive"
VERDICTS = (CONFIRMED, REFUTED, INCONCLUSIVE)

#: a verdict and, for an inconclusive one, the reason
Decision = Tuple[str, str]


def _num(x) -> str:
    return f"{float(x):.3g}"


def within(value, limit, noise=0.0, what: str = "the deviation") -> Decision:
    """Decide the agreement ``value <= limit`` with a standard-error budget ``noise`` (>= 0)."""
    value, limit, noise = float(value), float(limit), float(noise)
    if not math.isfinite(value):
        return REFUTED, ""
    if value <= limit:
        return CONFIRMED, ""
    if value <= limit + noise:
        return INCONCLUSIVE, (f"{what} {_num(value)} exceeds the tolerance {_num(limit)} by less than the "
                              f"standard-error budget {_num(noise)}")
    return REFUTED, ""


def exceeds(value, threshold=0.0, noise=0.0, what: str = "the effect") -> Decision:
    """Decide the effect ``value > threshold`` with a standard-error budget ``noise`` (>= 0)."""
    value, threshold, noise = float(value), float(threshold), float(noise)
    if not math.isfinite(value):
        return REFUTED, ""
    if value - noise > threshold:
        return CONFIRMED, ""
    if value + noise < threshold or (noise == 0.0 and value <= threshold):
        return REFUTED, ""
    return INCONCLUSIVE, (f"{what} {_num(value)} lies within the standard-error budget ±{_num(noise)} of "
                          f"{_num(threshold)}")


def combine(decisions: Iterable[Decision]) -> Decision:
    """One decision for a claim made of several: refuted if any part is, else inconclusive if any is."""
    decisions = list(decisions)
    if any(v == REFUTED for v, _ in decisions):
        return REFUTED, ""
    reasons = [r for v, r in decisions if v == INCONCLUSIVE]
    if reasons:
        more = f" (and {len(reasons) - 1} more point(s))" if len(reasons) > 1 else ""
        return INCONCLUSIVE, reasons[0] + more
    return CONFIRMED, ""


@dataclass
class Claim:
    """One statement of the paper and this run's verdict on it.

    ``verdict`` is one of :data:`VERDICTS`; a bool is accepted (``True`` confirmed, ``False`` refuted), and so
    is a :data:`Decision` pair ``(verdict, reason)``.  An inconclusive claim must say why (``reason``);
    ``size`` (e.g. ``"2 seeds, d = 400"``) is appended to the reason.
    """

    text: str
    verdict: object
    detail: str = ""
    reason: str = ""
    size: str = ""

    def __post_init__(self):
        v = self.verdict
        if isinstance(v, tuple):
            v, reason = v
            self.reason = self.reason or reason
        if isinstance(v, bool) or type(v).__name__ == "bool_":
            v = CONFIRMED if bool(v) else REFUTED
        if v not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS} or a bool, got {v!r}")
        self.verdict = v
        if v == INCONCLUSIVE:
            if not self.reason:
                raise ValueError(f"claim {self.text!r}: an inconclusive verdict needs a reason")
            if self.size:
                self.reason = f"{self.reason} at this size ({self.size})"
        else:
            self.reason = ""

    @property
    def confirmed(self) -> bool:
        return self.verdict == CONFIRMED

    @property
    def refuted(self) -> bool:
        return self.verdict == REFUTED

    @property
    def decided(self) -> bool:
        """The run could decide the claim (confirmed or refuted)."""
        return self.verdict != INCONCLUSIVE

    def to_dict(self):
        return {"claim": self.text, "verdict": self.verdict, "confirmed": self.confirmed, "detail": self.detail,
                "reason": self.reason}


@dataclass
class FigureOutput:
    name: str
    paths: List[str]
    data: dict
    rows: List[dict] = field(default_factory=list)  # {"quantity", "theory", "simulation", "stderr"}
    claims: List[Claim] = field(default_factory=list)
    seconds: float = 0.0
    caption: str = ""


def verdict_counts(outputs) -> dict:
    """``{figure: {verdict: count}}`` over :class:`FigureOutput` objects."""
    return {o.name: {v: sum(c.verdict == v for c in o.claims) for v in VERDICTS} for o in outputs}


def claims_record(claims) -> dict:
    """``{"claims": [...], "verdicts": {verdict: count}}``: what a figure's JSON carries about its claims."""
    claims = list(claims)
    return {"claims": [c.to_dict() for c in claims],
            "verdicts": {v: sum(c.verdict == v for c in claims) for v in VERDICTS}}


def format_claims(output) -> str:
    """One line per claim of a :class:`FigureOutput`: ``VERDICT  figure: claim — detail`` (the words of
    REPORT.md: CONFIRMED, REFUTED, INCONCLUSIVE, the latter with its reason)."""
    lines = []
    for c in output.claims:
        tail = c.detail + (f" — inconclusive: {c.reason}" if c.reason else "")
        lines.append(f"{c.verdict.upper():12s} {output.name}: {c.text}" + (f" — {tail}" if tail else ""))
    return "\n".join(lines)
