"""Flat records shared by every layer: the overlap names, and problems from flat key records.

:data:`OVERLAP_NAMES` is the one list of the overlaps of a network ``f(x) = c x + u tanh(w.x/sqrt(d) + b)``
(``docs/notation.md``): the simulator's arrays, the theories' records and every JSON payload use these names in
this order.

:func:`problem_from_keys` is what ``flowphase theory dynamics`` and the dynamics payloads of
:mod:`flowphase.numerics.dynamics.payload` and :mod:`flowphase.numerics.exact.dynamics` use to turn
``{"p": .., "sigma": .., "kappa": .., "d": .., "n": .., "lam_u": .., "lam_w": ..}`` into a dilated
:class:`~flowphase.theory.problem.Problem` (missing or ``None`` keys take the Problem defaults; the strings
``"inf"`` / ``"infinity"`` mean infinity).  The ranges are checked by :class:`Problem` itself.
"""
from __future__ import annotations

import math

from flowphase.theory.problem import Problem

__all__ = ["OVERLAP_NAMES", "PROBLEM_KEYS", "problem_from_keys"]

#: the overlaps of a network, in this order everywhere: skip connection ``c``, ``m = u.mu/d``, ``omega = w.mu/d``,
#: bias ``b``, ``sqrt_q = |u|/sqrt(d)``, ``sqrt_r = |w|/sqrt(d)``
OVERLAP_NAMES = ("c", "m", "omega", "b", "sqrt_q", "sqrt_r")

#: the keys of a dilated problem in a flat record
PROBLEM_KEYS = ("p", "sigma", "kappa", "d", "n", "lam_u", "lam_w")


def problem_from_keys(record: dict) -> Problem:
    """A dilated :class:`Problem` from the keys :data:`PROBLEM_KEYS` of ``record`` (others ignored)."""
    kw = {}
    for k in PROBLEM_KEYS:
        if record.get(k) is not None:
            val = record[k]
            if isinstance(val, str) and val.lower() in ("inf", "infinity"):
                val = math.inf
            kw[k] = float(val)
    for k in ("d", "n"):
        if k in kw and math.isfinite(kw[k]):
            kw[k] = int(kw[k]) if kw[k] == int(kw[k]) else kw[k]
    return Problem.dilated(**kw)
