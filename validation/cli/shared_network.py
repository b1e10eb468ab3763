"""``flowphase shared-network [--quick | --size full] --out DIR [--d 256,1024,4096] [--seeds 0,1,2,3,4]``.

Trains the shared velocity MLP of :mod:`flowphase.validation.pytorch.shared_network` with every training-time
sampler at equal budget, samples it on one fine grid and on each density's T = 80 grid, and writes
``DIR/shared-network.{png,pdf,json}`` (:mod:`flowphase.validation.figures.shared_network`; claims with computed
verdicts in the JSON).  One JSON per trained model in ``CACHE/shared-network-runs/`` (``--cache``, default
``DIR``) makes an interrupted run resume.  Needs the optional extra ``torch`` (``pip install 'flowphase[torch]'``).
Prints a JSON summary: paths, the p_hat table and the verdicts.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys

from . import check_output_dir, dump_json


def _ints(text, what, lo, hi):
    try:
        vals = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not vals or any(not lo <= v <= hi for v in vals) or len(set(vals)) != len(vals):
        raise ValueError(f"{what} must be distinct integers in [{lo}, {hi}], got {text!r}")
    return tuple(vals)


def _config(args):
    if args.quick and args.size not in (None, "quick"):
        raise ValueError("give either --quick or --size, not both")
    size = "quick" if args.quick else (args.size or "full")
    if size not in ("quick", "full"):
        raise ValueError(f"--size must be 'quick' or 'full', got {args.size!r}")
    from flowphase.validation.pytorch.shared_network import FULL, QUICK

    cfg = QUICK if size == "quick" else FULL
    kw = {}
    if args.d is not None:
        kw["ds"] = _ints(args.d, "--d", 64, 65536)
    if args.seeds is not None:
        kw["seeds"] = _ints(args.seeds, "--seeds", 0, 2 ** 31 - 1)
        if len(kw["seeds"]) < 2:
            raise ValueError("--seeds needs at least two seeds (the standard errors are over seeds)")
    if args.no_hierarchy:
        kw["hierarchy_d"] = None
    return dataclasses.replace(cfg, **kw), size


def _run(args):
    if importlib.util.find_spec("torch") is None:
        raise ValueError("shared-network needs PyTorch: pip install 'flowphase[torch]'")
    cfg, size = _config(args)          # every argument checked before any computation
    check_output_dir(args.out)
    if args.cache is not None:
        check_output_dir(args.cache, "--cache")
    from flowphase.validation.figures.shared_network import shared_network_figure

    out = shared_network_figure(args.out, cfg, cache_dir=args.cache, progress=args.progress)
    table = [{"problem": r["problem"], "d": r["d"], "arm": r["arm"], "p_hat": r["fine"]["p_hat"]["mean"],
              "p_hat_se": r["fine"]["p_hat"]["se"], "p_hat_T80": r["atlas_grid"]["p_hat"]["mean"],
              "p_hat_T80_se": r["atlas_grid"]["p_hat"]["se"],
              "max_weight_error": r["fine"]["max_weight_error"]["mean"]} for r in out.data["rows"]]
    print(dump_json({"size": size, "paths": out.paths, "rows": table,
                     "claims": [{"claim": c.text, "verdict": c.verdict} for c in out.claims],
                     "seconds": out.seconds}))
    return 0


def register(subparsers):
    p = subparsers.add_parser("shared-network", help="does the atlas's density ranking survive a shared network? "
                                                     "(needs the torch extra)")
    p.add_argument("--quick", action="store_true", help="the CI size (about a minute)")
    p.add_argument("--size", default=None, help="'quick' or 'full' (default full: about 25 CPU-minutes)")
    p.add_argument("--out", required=True, help="output folder of shared-network.{png,pdf,json}")
    p.add_argument("--cache", default=None, help="folder of the per-model results (default: --out)")
    p.add_argument("--d", default=None, help="two-mode dimensions, comma-separated (default 256,1024,4096)")
    p.add_argument("--seeds", default=None, help="seeds, comma-separated (default 0,1,2,3,4)")
    p.add_argument("--no-hierarchy", action="store_true", help="skip the 4-mode hierarchy")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=False, help="progress on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    p.set_defaults(func=_run)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: flowphase shared-network ...")
