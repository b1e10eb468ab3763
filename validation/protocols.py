"""Named training protocols of the finite-d simulator, one table for the library and the CLI.

A protocol fixes every optimisation knob of :func:`flowphase.validation.simulator.simulate` that is
not part of the :class:`~flowphase.theory.problem.Problem` (which holds p, sigma, kappa, n, lam_u,
lam_w and the noise convention).  ``simulate(problem, protocol=NAME, **overrides)`` and
``flowphase simulate --protocol NAME [--flag ...]`` resolve the same table through
:func:`resolve_protocol`; an explicitly given keyword / flag overrides the preset and is listed in
the recorded ``config["overrides"]``.

* ``'theory'`` (the default): full-batch gradient descent (step ``lr/n`` on c, b and ``lr d/n`` on
  u, w) on the exact expectation over the fresh noise (``draws=0``; 1 draw where the exact
  expectation is not available: ``noise='fixed'`` or Cui's sign model), constant ``lr = 0.25``, small
  initialisation ``1e-3 N(0, 1)``, 400 steps.  It converges to the minimiser the theory describes
  (PAPER §3.9.1), which is what the theory-vs-simulation figures compare with.
* ``'authors'``: the committed ``learnGMM.run`` of the paper's authors (PAPER §2.3, §7.4): Adam
  (betas 0.9, 0.999, eps 1e-8), constant ``lr = 1e-2``, c, b ~ N(0, 1) and u, w with i.i.d. N(0, 1)
  entries, one fresh x0 per data point and step (``draws=1``), Bernoulli(p) labels, 40 000 steps.
  Its weight decay ``wd`` maps to the problem's ``lam = wd d T / 2``
  (:func:`flowphase.theory.problem.weight_decay_to_lambda`; ``simulate(weight_decay=wd)`` /
  ``flowphase simulate --weight-decay WD`` do it with the run's own d and T).

The authors used two learning rates, each with one name here (:data:`AUTHORS_LR`):
``'authors-code'`` = 1e-2 (:data:`LR_AUTHORS_CODE`, the committed ``learnGMM.run``, the ``authors`` preset) and
``'authors-paper'`` = 1e-4 (:data:`LR_AUTHORS_PAPER`, the rate PAPER §2.3 states, the full-size run
``flowphase reproduce overlaps-authors --size paper``).  ``simulate(lr=...)`` and ``--lr`` take either name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

__all__ = ["Protocol", "PROTOCOLS", "DEFAULT_PROTOCOL", "PROTOCOL_KEYS", "resolve_protocol", "protocol_table",
           "LR_AUTHORS_CODE", "LR_AUTHORS_PAPER", "AUTHORS_LR", "resolve_lr"]

#: the simulate() keywords a protocol sets
PROTOCOL_KEYS = ("epochs", "optimizer", "lr", "lr_final", "draws", "labels", "init", "init_scale", "betas", "eps")
DEFAULT_PROTOCOL = "theory"
#: the learning rate of the authors' committed code (``learnGMM.run``; the ``authors`` preset)
LR_AUTHORS_CODE = 1e-2
#: the learning rate the paper states (PAPER §2.3; the full-size run ``--size paper``)
LR_AUTHORS_PAPER = 1e-4
#: the names of the authors' two learning rates
AUTHORS_LR = {"authors-code": LR_AUTHORS_CODE, "authors-paper": LR_AUTHORS_PAPER}


def resolve_lr(lr, name: str = "lr"):
    """A learning rate given as a number, a name of :data:`AUTHORS_LR`, or None (unchanged)."""
    if isinstance(lr, str):
        if lr not in AUTHORS_LR:
            try:
                return float(lr)
            except ValueError:
                raise ValueError(f"{name} must be a number or one of {tuple(AUTHORS_LR)}, got {lr!r}") from None
        return AUTHORS_LR[lr]
    return lr


@dataclass(frozen=True)
class Protocol:
    """One preset: ``settings`` maps every key of :data:`PROTOCOL_KEYS` to its value.

    ``lr_final=None`` means a constant learning rate (``lr_final = lr``); ``draws=0`` (exact
    expectation over the fresh noise) falls back to 1 where it is not available.
    """

    name: str
    summary: str
    settings: Dict[str, object] = field(default_factory=dict)


PROTOCOLS: Dict[str, Protocol] = {
    "theory": Protocol("theory", "converging default: full-batch GD on the exact fresh-noise expectation",
                       dict(epochs=400, optimizer="gd", lr=0.25, lr_final=None, draws=0, labels="bernoulli",
                            init="small", init_scale=1e-3, betas=(0.9, 0.999), eps=1e-8)),
    "authors": Protocol("authors", "the authors' learnGMM.run: Adam, constant lr 1e-2, N(0,1) init, one fresh draw",
                        dict(epochs=40000, optimizer="adam", lr=LR_AUTHORS_CODE, lr_final=None, draws=1,
                             labels="bernoulli",
                             init="random", init_scale=1.0, betas=(0.9, 0.999), eps=1e-8)),
}


def resolve_protocol(protocol: Optional[str], *, noise: str = "fresh", model: str = "tanh",
                     **given) -> Tuple[dict, dict]:
    """Protocol settings with the explicitly given keywords (those not ``None``) applied on top.

    Parameters
    ----------
    protocol : str or None
        A key of :data:`PROTOCOLS` (None: :data:`DEFAULT_PROTOCOL`).
    noise, model : str
        Where the preset's ``draws=0`` is not available (``noise='fixed'`` or ``model='sign'``) it
        becomes 1; an explicit ``draws`` is left to the simulator's own validation.
    **given
        Keys of :data:`PROTOCOL_KEYS`; ``None`` means "not given".

    Returns
    -------
    (settings, record)
        ``settings``: a value for every key (``lr_final`` numeric: ``lr`` when constant).
        ``record``: ``{"protocol": name, "overrides": sorted given keys}`` for the run's config.
    """
    name = DEFAULT_PROTOCOL if protocol is None else protocol
    if name not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {tuple(PROTOCOLS)}, got {protocol!r}")
    unknown = set(given) - set(PROTOCOL_KEYS)
    if unknown:
        raise ValueError(f"not protocol settings: {sorted(unknown)}")
    out = dict(PROTOCOLS[name].settings)
    given = {k: (resolve_lr(v, k) if k in ("lr", "lr_final") else v) for k, v in given.items()}
    overrides = sorted(k for k, v in given.items() if v is not None)
    for k in overrides:
        out[k] = given[k]
    if "draws" not in overrides and out["draws"] == 0 and (noise != "fresh" or model != "tanh"):
        out["draws"] = 1
    if out["lr_final"] is None:
        out["lr_final"] = out["lr"]
    return out, {"protocol": name, "overrides": overrides}


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


def protocol_table() -> str:
    """Markdown table of the presets (the README's protocol table is this text)."""
    names = list(PROTOCOLS)
    lines = ["| setting | " + " | ".join(f"`{n}`" + (" (default)" if n == DEFAULT_PROTOCOL else "") for n in names)
             + " |", "|---|" + "---|" * len(names)]
    for k in PROTOCOL_KEYS:
        vals = []
        for n in names:
            v = PROTOCOLS[n].settings[k]
            vals.append("constant (= lr)" if k == "lr_final" and v is None else _fmt(v))
        lines.append(f"| `{k}` | " + " | ".join(vals) + " |")
    return "\n".join(lines)

