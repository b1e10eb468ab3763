"""``flowphase reproduce NAME|all --out DIR [--quick]``."""
from __future__ import annotations

from . import check_output_dir, dump_json


def _run(args):
    from flowphase.validation.reproduce import _resolve, reproduce

    for nm in args.names:
        if nm != "all":
            _resolve(nm)               # unknown names refused before anything else
    check_output_dir(args.out)         # before computing
    outs = reproduce(args.names, args.out, quick=args.quick, progress=not args.no_progress, size=args.size)
    summary = {o.name: {"seconds": round(o.seconds, 2), "files": o.paths,
                        "claims": [c.to_dict() for c in o.claims]} for o in outs}
    print(dump_json(summary))
    return 0


def register(subparsers):
    p = subparsers.add_parser("reproduce", help="rebuild the paper's figures (PNG, PDF, JSON) and REPORT.md")
    p.add_argument("names", nargs="+", help="figure name(s) or 'all'")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quick", action="store_true", help="small sizes (minutes on 2 cores)")
    p.add_argument("--size", choices=("quick", "default", "paper"), default=None,
                   help="paper: the authors' full size (overlaps-authors only; resumable from checkpoints in --out)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)
