"""``flowphase uturn --dataset digits [--quick] --out DIR``: U-Turn curves, decision window, re-allocation.

Writes ``DIR/uturn.json``, ``DIR/uturn.png`` and ``DIR/uturn.pdf`` atomically
(:func:`flowphase.validation.uturn.make_uturn_figure`) and prints a JSON summary.  Time convention:
diffusion time s (0 data, 1 noise); the paper's U-Turn axis is t0 = 1 - s.
"""
from __future__ import annotations

import sys

from . import check_output_dir, dump_json


def _uturn(args):
    if args.dataset != "digits":
        raise ValueError(f"--dataset must be 'digits' (the bundled scikit-learn set), got {args.dataset!r}")
    check_output_dir(args.out)         # before computing or importing the pipeline
    from flowphase.validation.uturn import make_uturn_figure

    log = (lambda msg: print(msg, file=sys.stderr)) if args.verbose else None
    paths = make_uturn_figure(args.out, quick=args.quick, reallocate=not args.no_reallocate, log=log)
    import json

    res = json.loads(open(paths["json"]).read())
    out = {"paths": paths, "classifier_accuracy": res["classifier"]["heldout_accuracy"],
           "window": res["window"], "generated_p0": res["uniform_model"]["p0_hat"]}
    if "reallocation" in res:
        out["reallocation"] = res["reallocation"]["summary"]
    print(dump_json(out))
    return 0


def register(subparsers):
    p = subparsers.add_parser("uturn", help="U-Turn decision window and training-time re-allocation on real digits")
    p.add_argument("--dataset", default="digits", help="'digits' (scikit-learn's bundled 8x8 digits)")
    p.add_argument("--quick", action="store_true", help="small budgets (about half a minute)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-reallocate", action="store_true", help="skip the uniform-vs-reallocated comparison")
    p.add_argument("--verbose", action="store_true", help="progress on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    p.set_defaults(func=_uturn)
