"""What a figure of ``flowphase reproduce`` returns: its files, table rows and the paper claims it checks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

__all__ = ["Claim", "FigureOutput"]


@dataclass
class Claim:
    """One statement of the paper and whether this run's numbers confirm it."""

    text: str
    confirmed: bool
    detail: str = ""

    def to_dict(self):
        return {"claim": self.text, "confirmed": bool(self.confirmed), "detail": self.detail}


@dataclass
class FigureOutput:
    name: str
    paths: List[str]
    data: dict
    rows: List[dict] = field(default_factory=list)  # {"quantity", "theory", "simulation", "stderr"}
    claims: List[Claim] = field(default_factory=list)
    seconds: float = 0.0
    caption: str = ""
