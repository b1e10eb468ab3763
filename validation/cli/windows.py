"""``flowphase theory windows``: decision windows, decision times and the designed schedule of a K-mode mixture.

``flowphase theory windows --weights 0.5,0.3,0.2 --gram "1,0.9,-1;0.9,1,-1;-1,-1,1" --d 10000 --json``
or ``flowphase theory windows --hierarchy "0.6,0.4/0.8,0.2;0.6,0.4" --eps 0.15,0.02 --d 10000 --json``
prints ``{"mixture", "d", "windows", "split_windows", "decisions", "schedule"}`` (theory in
:mod:`flowphase.numerics.multimode.windows`).
"""
from __future__ import annotations

from . import dump_json


def _floats(text, what):
    from ._args import float_list   # empty entries (0.5,,0.5), junk, NaN, inf and subnormals refused

    return float_list(text, what, max_len=1000)


def _gram(text):
    rows = [_floats(r, "--gram row") for r in str(text).split(";") if r.strip()]
    if any(len(r) != len(rows) for r in rows):
        raise ValueError(f"--gram must be a square matrix (rows separated by ';'), got {len(rows)} rows of lengths "
                         f"{[len(r) for r in rows]}")
    return rows


def _hierarchy(text):
    if "/" not in str(text):
        raise ValueError("--hierarchy must read COARSE/FINE_1;FINE_2;... e.g. '0.6,0.4/0.8,0.2;0.6,0.4'")
    coarse, fine = str(text).split("/", 1)
    return _floats(coarse, "--hierarchy parent weights"), [_floats(f, "--hierarchy child weights")
                                                          for f in fine.split(";") if f.strip()]


def _windows(args):
    from flowphase.numerics.multimode.windows import schedule_from_mixture
    from flowphase.theory.mixtures import Hierarchy, KMixture

    if not args.d >= 1 or args.d != int(args.d):
        raise ValueError(f"--d must be an integer >= 1, got {args.d}")
    if (args.hierarchy is None) == (args.gram is None):
        raise ValueError("give either --hierarchy or --weights with --gram")
    if args.hierarchy is not None:
        coarse, fine = _hierarchy(args.hierarchy)
        eps = _floats(args.eps, "--eps")
        H = Hierarchy(coarse=tuple(coarse), fine=tuple(tuple(f) for f in fine), eps=eps[0] if len(eps) == 1 else eps,
                      sigma=args.sigma, gamma=args.gamma, d_ref=args.d_ref)
        mix = H.mixture(args.d)
    else:
        if args.weights is None:
            raise ValueError("--gram needs --weights")
        mix = KMixture(weights=tuple(_floats(args.weights, "--weights")), gram=_gram(args.gram), sigma=args.sigma,
                       d=args.d)
    if not 6 <= args.qmc_m <= 16:
        raise ValueError(f"--qmc-m must lie in [6, 16], got {args.qmc_m}")
    sched, an = schedule_from_mixture(mix, args.d, mass=args.mass, t_max=args.t_max, m=args.qmc_m)
    out = an.to_dict()
    out["schedule"] = sched.to_dict()
    out["schedule"]["window_mass"] = sched.window_mass()
    print(dump_json(out))
    return 0


def register_windows(sub):
    """Add ``windows`` to the ``theory`` sub-commands."""
    p = sub.add_parser("windows", help="K-mode mixture: decision windows, decision times, designed schedule")
    p.add_argument("--weights", default=None, help="mode weights, comma-separated (with --gram)")
    p.add_argument("--gram", default=None, help="Gram matrix mu_k.mu_l/d, rows separated by ';'")
    p.add_argument("--hierarchy", default=None, help="two-level tree 'COARSE/FINE_1;FINE_2;...'")
    from ._args import Applies   # the hierarchy's separation law: read with --hierarchy only

    tree = Applies(lambda a: a.hierarchy is not None, "--weights/--gram (it applies to --hierarchy)")
    p.add_argument("--eps", default="0.1", applies=tree,
                   help="sibling separation(s) 1 - G = eps^2 (one, or one per parent)")
    p.add_argument("--gamma", type=float, default=0.0, applies=tree, help="eps(d) = eps (d/d_ref)^-gamma")
    p.add_argument("--d-ref", type=float, default=100.0, applies=tree, help="reference dimension of eps")
    p.add_argument("--sigma", type=float, default=1.0, help="within-mode standard deviation")
    p.add_argument("--d", type=float, required=True, help="dimension")
    p.add_argument("--mass", type=float, default=0.6, help="fraction of the grid put into the windows")
    p.add_argument("--t-max", type=float, default=1.0, help="range of the designed schedule's time t")
    p.add_argument("--qmc-m", type=int, default=11, help="2^m scrambled Sobol points per set (8 sets)")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    p.set_defaults(func=_windows)
