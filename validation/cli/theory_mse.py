"""``flowphase theory mse``: the Bayes denoising MSE eps at one time or along a whole curve, at d = inf or finite d.

``flowphase theory mse --t T [--p] [--sigma] [--kappa] [--no-dilation] [--d D] --json``

* one ``--t`` value at d = inf -> ``{"t", "mse"}``; with a finite ``--d`` -> ``{"t", "tau", "d", "mse"}``;
* ``--t a,b,...`` or ``--grid T`` (the schedule's grid ``t_k = t_max k/T``, k = 0..T-1) -> one process for a whole
  curve: ``{"output": "mse-curve", "problem", "d", "dilated", "t": [...], "tau": [...], "mse": [...],
  "convention"}``, the input of ``flowphase schedule detect --from``.

d = inf is the asymptotic curve (:func:`flowphase.numerics.mse.mse_curve`); a finite d the exact finite-d Bayes MSE
(:func:`flowphase.numerics.mse.bayes_mse`) at tau(t) of the schedule at that d.
"""
from __future__ import annotations

import math

from . import dump_json
from ._args import float_list, float_or_inf


def _mse(args):
    import numpy as np

    from flowphase.numerics.mse import bayes_mse, mse_curve
    from flowphase.theory.problem import Problem

    from .theory import MAX_TIMES

    if (args.grid is None) == (args.t is None):
        raise ValueError("give exactly one of --t (a time or a comma-separated list) and --grid T")
    d = args.d
    kw = dict(p=args.p, sigma=args.sigma)
    prob = Problem.undilated(**kw) if args.no_dilation else Problem.dilated(kappa=args.kappa, **kw)
    if math.isfinite(d):
        prob = prob.replace(d=d)
    ts = prob.schedule.grid(args.grid) if args.grid is not None else \
        np.asarray(float_list(args.t, "--t", max_len=MAX_TIMES), dtype=float)
    prob.schedule.check_t(ts)
    tau = np.asarray(prob.tau(ts), dtype=float)
    eps = mse_curve(prob, ts) if math.isinf(d) else np.asarray(bayes_mse(prob, tau, d=d), dtype=float)
    if args.grid is None and ts.size == 1:
        out = {"t": float(ts[0]), "mse": float(eps[0])}
        if math.isfinite(d):
            out = {"t": float(ts[0]), "tau": float(tau[0]), "d": d, "mse": float(eps[0])}
        print(dump_json(out))
        return 0
    print(dump_json({"output": "mse-curve", "problem": {"p": args.p, "sigma": args.sigma,
                                                         "kappa": None if args.no_dilation else args.kappa},
                     "d": d, "dilated": not args.no_dilation, "t": ts, "tau": tau, "mse": eps,
                     "convention": "tau in [0, 1]: 0 noise, 1 data; t the schedule time"}))
    return 0


def register_mse(sub):
    """Add ``mse`` to the ``theory`` sub-commands."""
    from .theory import MAX_TIMES, _problem_flags

    p = sub.add_parser("mse", help="Bayes denoising MSE per dimension at a time, or along a curve (--t list, --grid)")
    p.add_argument("--t", default=None,
                   help="dilated time in [0, 2] (undilated tau in [0, 1] with --no-dilation), or a comma-separated list")
    p.add_argument("--grid", type=int, default=None, metavar="T", bounds=(1, MAX_TIMES),
                   help="the whole curve on the schedule's grid t_k = t_max k/T, k = 0..T-1 (instead of --t)")
    p.add_argument("--d", type=float_or_inf, default=math.inf, bounds=(1.0, math.inf),
                   help="dimension: inf (the d -> infinity curve) or finite (the exact finite-d Bayes MSE)")
    _problem_flags(p, with_n=False)
    p.add_argument("--no-dilation", action="store_true")
    p.set_defaults(func=_mse)
