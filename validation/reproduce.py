"""``flowphase reproduce``: every theorem plot, as PNG + PDF + JSON, and a computed ``REPORT.md``.

A figure is a callable ``build(out_dir, *, quick=False, problem=None, d=None, n=None) -> FigureOutput``
registered under its name in :data:`FIGURES` (the figure modules are in :mod:`flowphase.validation.figures`).
It writes ``<name>.png``, ``<name>.pdf`` and ``<name>.json`` (the plotted numbers, every parameter that produced
them, the problem, and the claims with their verdicts) atomically, and returns the rows of its
theory-vs-simulation table and the paper claims it checks, each with a three-valued verdict (confirmed /
refuted / inconclusive at this size, :mod:`flowphase.validation.claims`) **computed** from the numbers it
plotted.

A figure can be built for the user's own problem: ``reproduce('overlaps', out, p=0.7, sigma=1.2)`` (or
``problem=Problem.dilated(...)``, ``d=``, ``n=``); a parameter the figure does not depend on, or a size it sweeps,
is refused with a ``ValueError`` before any work.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Dict, List

from ._io import atomic_write_text, clean_stale_temps
from .claims import VERDICTS, Claim, FigureOutput, claims_record, verdict_counts
from .figures import (cui, dynamics, finite_n, hierarchy, mode_fraction, mse, overlaps, simplification,
                      speciation, uturn)
from .figures._common import save_figure
from .figures import schedule_atlas  # noqa: E402  (the atlas of training-time densities)

__all__ = ["Claim", "FigureOutput", "FIGURES", "PROBLEM_OPTIONS", "register_figure", "reproduce", "write_report",
           "save_figure", "available_figures", "figure_options"]

#: the problem parameters a figure may take (``flowphase reproduce --p --sigma --kappa --lam-u --lam-w``)
PROBLEM_OPTIONS = ("p", "sigma", "kappa", "lam_u", "lam_w")

#: name -> build function ``build(out_dir, *, quick, **options) -> FigureOutput`` (the figure modules import
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
    "schedule-atlas": schedule_atlas.schedule_atlas_figure,
}


def register_figure(name: str, build: Callable[..., FigureOutput]) -> None:
    """Add (or replace) the figure ``name`` built by the callable ``build(out_dir, *, quick, **options)``."""
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


def figure_options(name: str) -> dict:
    """What figure ``name`` takes: ``{"problem": default problem dict or None, "fields": [...], "sizes": [...]}``."""
    build = _resolve(name)
    default = getattr(build, "default_problem", None)
    return {"problem": None if default is None else default.to_dict(),
            "fields": list(getattr(build, "problem_fields", ())), "sizes": list(getattr(build, "size_options", ()))}


def _figure_kwargs(name: str, build, problem, params: dict, d, n) -> dict:
    """The options of one figure's build call, every one checked before any figure is built."""
    default = getattr(build, "default_problem", None)
    fields = getattr(build, "problem_fields", ())
    sizes = getattr(build, "size_options", ())
    kw = {}
    if problem is not None or params:
        if default is None:
            raise ValueError(f"figure {name!r} takes no problem parameters (got "
                             + ", ".join(sorted(params) + (["problem"] if problem is not None else [])) + ")")
        for k in params:
            if k not in fields:
                raise ValueError(f"figure {name!r} does not take {k}; it takes "
                                 + (", ".join(fields) if fields else "no problem parameter"))
        base = default if problem is None else problem
        try:
            kw["problem"] = base.replace(**params) if params else base
        except ValueError as exc:
            raise ValueError(f"figure {name!r}: {exc}") from None
        if getattr(build, "check_problem", None) is not None:
            build.check_problem(kw["problem"])
    import math

    for key, value in (("d", d), ("n", n)):
        own = getattr(problem, key, None)
        if value is None and own is not None and math.isfinite(own) and key not in sizes:
            raise ValueError(f"figure {name!r} does not take {key} (it sweeps it or has no such size), but the "
                             f"problem has {key} = {own:g}")
        if value is not None:
            if key not in sizes:
                raise ValueError(f"figure {name!r} does not take {key} (it sweeps it or has no such size); it takes "
                                 + (", ".join(sizes) if sizes else "no size"))
            kw[key] = value
    return kw


def _ensure_claims(out: FigureOutput) -> None:
    """A figure whose builder did not write its claims into its JSON gets them added (atomically)."""
    import json

    js = [p for p in out.paths if str(p).endswith(".json")]
    if len(js) != 1:
        return
    data = json.loads(Path(js[0]).read_text())
    if isinstance(data, dict) and "claims" not in data:
        from ._io import atomic_write_json

        data.update(claims_record(out.claims))
        atomic_write_json(js[0], data)


def reproduce(names, out_dir, *, quick: bool = False, progress: bool = True, size=None, problem=None, d=None,
              n=None, **params) -> List[FigureOutput]:
    """Build the named figures (or ``'all'``) into ``out_dir``; with more than one figure also write REPORT.md.

    Parameters
    ----------
    names : str or list of str
        Figure names of :data:`FIGURES`, or ``'all'``.
    out_dir : path
        Output folder (created).
    quick : bool
        Small sizes (minutes on 2 cores).
    progress : bool
        Progress bar over the figures.
    size : {None, 'quick', 'default', 'paper'}
        ``'paper'`` builds the figures of :data:`PAPER_SIZE_FIGURES` at the authors' size.
    problem : flowphase.theory.problem.Problem, optional
        The problem every named figure is built for (each takes the parameters it depends on, see
        :func:`figure_options`); default: each figure's own default problem.
    d, n : int, optional
        Simulated dimension and number of training samples, for the figures that have one.
    **params
        ``p``, ``sigma``, ``kappa``, ``lam_u``, ``lam_w``: replace these in the problem.

    Every option is checked for every named figure before any work starts (``ValueError`` naming the
    figure and the option).
    """
    if size not in (None, "quick", "default", "paper"):
        raise ValueError(f"size must be quick, default or paper, got {size!r}")
    unknown = sorted(set(params) - set(PROBLEM_OPTIONS))
    if unknown:
        raise ValueError(f"unknown problem parameter(s) {unknown}; choose from {list(PROBLEM_OPTIONS)}")
    params = {k: v for k, v in params.items() if v is not None}
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
    calls = {}
    for nm in selected:
        build = _resolve(nm)  # validate every name and option before any work starts
        if size == "paper" and nm not in PAPER_SIZE_FIGURES:
            raise ValueError(f"--size paper is available for {list(PAPER_SIZE_FIGURES)}, not {nm!r}")
        calls[nm] = dict(_figure_kwargs(nm, build, problem, params, d, n), **({"size": size} if size else {}))
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
        res = _resolve(nm)(out_dir, quick=quick, **calls[nm])
        res.seconds = time.perf_counter() - t0
        _ensure_claims(res)
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
