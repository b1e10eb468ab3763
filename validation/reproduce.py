"""``flowphase reproduce``: every theorem plot, as PNG + PDF + JSON, and a computed ``REPORT.md``.

A figure is a callable ``build(out_dir, quick) -> FigureOutput`` registered under its name in
:data:`FIGURES` (the figure modules are in :mod:`flowphase.validation.figures`).  It writes ``<name>.png``,
``<name>.pdf`` and ``<name>.json`` (the plotted numbers and every parameter that produced them) atomically, and
returns the rows of its theory-vs-simulation table and the paper claims it checks, each with a three-valued
verdict (confirmed / refuted / inconclusive at this size, :mod:`flowphase.validation.claims`) **computed** from
the numbers it plotted.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Dict, List

from ._io import atomic_write_text, clean_stale_temps
from .claims import VERDICTS, Claim, FigureOutput, verdict_counts
from .figures import (cui, dynamics, finite_n, hierarchy, mode_fraction, mse, overlaps, simplification,
                      speciation, uturn)
from .figures._common import save_figure

__all__ = ["Claim", "FigureOutput", "FIGURES", "register_figure", "reproduce", "write_report",
           "save_figure"]

#: name -> build function ``build(out_dir, quick, **options) -> FigureOutput`` (the figure modules import
#: their heavy dependencies inside the functions, so this table costs no more than numpy and numba)
FIGURES: Dict[str, Callable[..., FigureOutput]] = {
    "overlaps": overlaps.overlaps_figure,
    "overlaps-authors": overlaps.overlaps_authors_figure,
    "mse": mse.mse_figure,
    "mode-fraction": mode_fraction.mode_fraction_figure,
    "simplification": simplification.simplification_figure,
    "finite-n": finite_n.finite_n_figure,
    "cui-flow": cui.cui_flow_figure,
    "cui-mse": cui.cui_mse_figure,
    "speciation": speciation.speciation_figure,
    "dynamics": dynamics.dynamics_figure,
    "uturn": uturn.uturn_figure,
    "hierarchy": hierarchy.hierarchy_figure,
}


def register_figure(name: str, build: Callable[..., FigureOutput]) -> None:
    """Add (or replace) the figure ``name`` built by the callable ``build(out_dir, quick, **options)``."""
    if not callable(build):
        raise TypeError(f"figure {name!r}: build must be a callable, got {type(build).__name__}")
    FIGURES[name] = build


def _resolve(name: str) -> Callable:
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; choose one of {sorted(FIGURES)} or 'all'")
    return FIGURES[name]


def available_figures() -> List[str]:
    """The registered figure names, in registry order."""
    return list(FIGURES)


#: figures that also build at the authors' full size (``size='paper'``, hours of CPU; resumable)
PAPER_SIZE_FIGURES = ("overlaps-authors",)


def reproduce(names, out_dir, quick: bool = False, progress: bool = True, size=None) -> List[FigureOutput]:
    """Build the named figures (or ``'all'``) into ``out_dir``; with ``'all'`` also write REPORT.md.

    ``size='paper'`` builds the figures of :data:`PAPER_SIZE_FIGURES` at the authors' size.
    """
    if size not in (None, "quick", "default", "paper"):
        raise ValueError(f"size must be quick, default or paper, got {size!r}")
    if size == "quick":
        quick, size = True, None
    elif size == "default":
        size = None
    import matplotlib

    matplotlib.use("Agg")
    if isinstance(names, str):
        names = [names]
    build_all = list(names) == ["all"]
    selected = available_figures() if build_all else list(names)
    for nm in selected:
        _resolve(nm)  # validate every name before any work starts
        if size == "paper" and nm not in PAPER_SIZE_FIGURES:
            raise ValueError(f"--size paper is available for {list(PAPER_SIZE_FIGURES)}, not {nm!r}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {str(out_dir)!r} is an existing file, not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out_dir)          # leftovers of a killed earlier run
    outputs = []
    try:
        from tqdm.auto import tqdm
        it = tqdm(selected, desc="figures", disable=not progress)
    except ImportError:  # pragma: no cover
        it = selected
    for nm in it:
        t0 = time.perf_counter()
        res = _resolve(nm)(out_dir, quick, **({"size": size} if size else {}))
        res.seconds = time.perf_counter() - t0
        outputs.append(res)
    if build_all or len(selected) > 1:
        write_report(outputs, out_dir, quick)
    return outputs


def _cell(text) -> str:
    """Markdown table cell: pipes escaped, one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt(x) -> str:
    if x is None:
        return "—"
    try:
        return f"{float(x):.4g}"
    except (TypeError, ValueError):
        return str(x)


def write_report(outputs: List[FigureOutput], out_dir, quick: bool) -> Path:
    """REPORT.md: verdict counts, one computed verdict per claim, each figure and its theory-vs-simulation table.

    Verdicts are three-valued (:mod:`flowphase.validation.claims`): CONFIRMED, REFUTED, or INCONCLUSIVE with the
    reason the run's size cannot decide.
    """
    counts = verdict_counts(outputs)
    lines = ["# flowphase reproduction report", "",
             f"Mode: {'quick' if quick else 'default'} sizes. Every verdict below is computed from the numbers "
             "plotted in the figure (see each figure's JSON): CONFIRMED, REFUTED (the numbers contradict the claim "
             "beyond its tolerance and standard-error budget) or INCONCLUSIVE (the difference lies within the "
             "standard-error budget: this size cannot decide; the reason is given).", "",
             "## Verdicts", "", "| figure | " + " | ".join(VERDICTS) + " |", "|---|" + "---|" * len(VERDICTS)]
    for name, c in counts.items():
        lines.append(f"| {name} | " + " | ".join(str(c[v]) for v in VERDICTS) + " |")
    lines.append("| **all** | " + " | ".join(str(sum(c[v] for c in counts.values())) for v in VERDICTS) + " |")
    lines += ["", "## Claims", "", "| figure | claim | verdict | detail |", "|---|---|---|---|"]
    for o in outputs:
        for c in o.claims:
            detail = c.detail + (f" — inconclusive: {c.reason}" if c.reason else "")
            lines.append(f"| {o.name} | {_cell(c.text)} | {c.verdict.upper()} | {_cell(detail)} |")
    lines.append("")
    for o in outputs:
        lines += [f"## {o.name}", "", f"![{o.name}]({o.name}.png)", ""]
        if o.caption:
            lines += [o.caption, ""]
        lines.append(f"Built in {o.seconds:.1f} s. Files: " + ", ".join(Path(p).name for p in o.paths))
        lines.append("")
        if o.rows:
            lines += ["| quantity | theory | simulation | stderr |", "|---|---|---|---|"]
            for r in o.rows:
                lines.append(f"| {_cell(r.get('quantity'))} | {_fmt(r.get('theory'))} | {_fmt(r.get('simulation'))} | "
                             f"{_fmt(r.get('stderr'))} |")
            lines.append("")
    return atomic_write_text(Path(out_dir) / "REPORT.md", "\n".join(lines) + "\n")
