"""Sweep task parameters: kind, allowed range, default, and the coercion of spec values to canonical ones."""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Optional, Tuple

__all__ = ["Param", "REQUIRED", "scalar"]

#: marker default of a required parameter
REQUIRED = object()
_REQUIRED = REQUIRED
_frozen = dataclasses.dataclass(frozen=True)


@_frozen
class Param:
    """One task parameter: its kind, allowed range and default.

    kind : ``'real'`` (float in [low, high], ends open if ``*_open``), ``'int'`` (integer >= low),
    ``'count'`` (integer >= 1 or ``inf``; TOML ``inf`` or the string ``"inf"``), ``'choice'``.
    """

    kind: str
    default: object = _REQUIRED
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    choices: Tuple[str, ...] = ()
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "count":
            return "an integer >= 1 or inf" + ("" if self.high is None else f" (finite: at most {self.high:.0e})")
        if self.kind == "int":
            lo = int(self.low if self.low is not None else 0)
            return f"an integer >= {lo}" + ("" if self.high is None else f" (at most {int(self.high)})")
        lo = "-inf" if self.low is None else repr(float(self.low))
        hi = "inf" if self.high is None else repr(float(self.high))
        left = "(" if (self.low_open or self.low is None) else "["
        right = ")" if (self.high_open or self.high is None) else "]"
        return f"a real number in {left}{lo}, {hi}{right}"

    def coerce(self, name: str, value):
        """Return the canonical value or raise ``ValueError`` naming ``name``."""
        bad = ValueError(f"{name} must be {self.describe()}, got {value!r}")
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise bad
            return value
        if self.kind == "count":
            if isinstance(value, str) and value.strip().lower() in ("inf", "infinity"):
                return math.inf
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise bad
            v = float(value)
            if v == math.inf:
                return math.inf
            if not (math.isfinite(v) and v >= 1 and v == int(v)) or (self.high is not None and v > self.high):
                raise bad
            return int(v)
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise bad
            if self.low is not None and int(value) < self.low:
                raise bad
            if self.high is not None and int(value) > self.high:
                raise bad
            return int(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise bad
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            raise bad
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            raise bad
        if self.high is not None and (v > self.high or (self.high_open and v == self.high)):
            raise bad
        return v



def scalar(x):
    """A plain Python scalar from a result attribute (None kept: a flat direction)."""
    if x is None or isinstance(x, (str, bool)):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    return float(x)
