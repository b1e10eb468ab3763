"""``flowphase reproduce NAME|all --out DIR [--quick] [--p P --sigma S --kappa K --lam-u L --lam-w L --d D --n N]``."""
from __future__ import annotations

import argparse
import sys

from . import check_output_dir, dump_json

#: problem options of ``reproduce`` -> keyword of :func:`flowphase.validation.reproduce.reproduce`
_PROBLEM_FLAGS = (("--p", "p", "weight p of the + mode"), ("--sigma", "sigma", "within-mode standard deviation σ"),
                  ("--kappa", "kappa", "dilation constant κ"), ("--lam-u", "lam_u", "ridge penalty λ_u on u"),
                  ("--lam-w", "lam_w", "ridge penalty λ_w on w"))


def _figure_list() -> str:
    """The figure names with what each takes and its default problem (for ``--help``)."""
    from flowphase.validation.reproduce import available_figures, figure_options

    lines = ["figures (NAME; problem options it takes; its default problem):"]
    for nm in available_figures():
        opt = figure_options(nm)
        takes = [f"--{k.replace('_', '-')}" for k in opt["fields"]] + [f"--{k}" for k in opt["sizes"]]
        pr = opt["problem"]
        default = ("" if pr is None else
                   "; default " + ", ".join(f"{k}={pr[k]}" for k in ("p", "sigma", "kappa", "lam_u", "lam_w")
                                            if k in pr and k in opt["fields"]))
        lines.append(f"  {nm:18s} " + (" ".join(takes) if takes else "(no options)") + default)
    lines.append("  all                every figure above, and REPORT.md")
    return "\n".join(lines)


def _print_verdicts(outs) -> None:
    from flowphase.validation.claims import format_claims

    for o in outs:
        text = format_claims(o)
        if text:
            sys.stderr.write(text + "\n")


def _run(args):
    from flowphase.validation.reproduce import _resolve, reproduce

    for nm in args.names:
        if nm != "all":
            _resolve(nm)               # unknown names refused before anything else
    check_output_dir(args.out)         # before computing
    params = {key: getattr(args, key) for _, key, _ in _PROBLEM_FLAGS}
    outs = reproduce(args.names, args.out, quick=args.quick, progress=args.progress, size=args.size,
                     d=args.d, n=args.n, **params)
    summary = {o.name: {"seconds": round(o.seconds, 2), "files": o.paths,
                        "claims": [c.to_dict() for c in o.claims]} for o in outs}
    _print_verdicts(outs)
    print(dump_json(summary))
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "reproduce", help="rebuild the paper's figures (PNG, PDF, JSON with verdicts) and REPORT.md",
        description="Build figures as PNG, PDF and JSON (numbers, parameters, problem, claims with verdicts); "
                    "the verdicts are also printed, one line per claim, on stderr. Problem options replace the "
                    "figure's default problem in the parameters it depends on; an option a figure does not take "
                    "is refused before any work.",
        epilog=_figure_list(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+", metavar="NAME", help="figure name(s) (listed below) or 'all'")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quick", action="store_true", help="small sizes (minutes on 2 cores); default: off")
    p.add_argument("--size", choices=("quick", "default", "paper"), default=None,
                   help="paper: the authors' full size (overlaps-authors only; resumable from checkpoints in "
                        "--out); default: the default sizes")
    for flag, key, what in _PROBLEM_FLAGS:
        p.add_argument(flag, dest=key, type=float, default=None,
                       help=f"{what} (default: the figure's own, listed below)")
    p.add_argument("--d", type=int, default=None, help="simulated dimension d (default: the figure's own size)")
    p.add_argument("--n", type=int, default=None,
                   help="number of training samples n (default: the figure's own size)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="progress bar on stderr (default: %(default)s)")
    p.set_defaults(func=_run)
