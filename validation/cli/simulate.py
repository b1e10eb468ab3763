"""``flowphase simulate``: train the finite-d denoisers and print JSON (issue 3 contract).

``flowphase simulate --d D --n N --t T1,T2,... [--p] [--sigma] [--kappa] [--lam-u] [--lam-w]
[--noise fresh|fixed] [--no-dilation] [--epochs E] [--seeds S] [--backend numba|numpy|cupy]
[--generate N_GEN] --json``
-> ``{"runs": [...], "mean": {"<t>": {"c", "m", "omega", "b"}}, "stderr": {...}}``; with
``--generate`` the whole grid (``--grid`` points, default 80) is trained as well and the output
adds ``"p_hat"``, ``"mean_overlap"`` and ``"variance"`` of the generated samples (mean over seeds).
"""
from __future__ import annotations

import math

import numpy as np

from . import dump_json

KEYS = ("c", "m", "omega", "b")


def _times(text):
    try:
        ts = [float(x) for x in str(text).split(",") if x.strip() != ""]
    except ValueError:
        raise ValueError(f"--t must be a comma-separated list of times, got {text!r}") from None
    if not ts or not all(math.isfinite(t) for t in ts):
        raise ValueError(f"--t must be a non-empty list of finite times, got {text!r}")
    return ts


def _run(args):
    from flowphase.theory.problem import Problem
    from flowphase.validation.sampling import generate_from_params
    from flowphase.validation.simulate import simulate

    if args.d is None or args.d < 2:
        raise ValueError(f"--d must be an integer >= 2, got {args.d!r}")
    if args.n is None or args.n < 1:
        raise ValueError(f"--n must be an integer >= 1, got {args.n!r}")
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    if args.generate is not None and args.generate < 2:
        raise ValueError(f"--generate must be >= 2, got {args.generate}")
    ts = _times(args.t)
    kw = dict(p=args.p, sigma=args.sigma, d=args.d, n=args.n, lam_u=args.lam_u, lam_w=args.lam_w, noise=args.noise)
    prob = Problem.undilated(**kw) if args.no_dilation else Problem.dilated(kappa=args.kappa, **kw)
    prob.schedule.check_t(ts)
    draws = args.draws if args.draws is not None else (0 if args.noise == "fresh" else 1)
    grid = prob.schedule.grid(args.grid) if args.generate is not None else np.zeros(0)
    all_ts = np.unique(np.concatenate([np.asarray(ts, float), grid]))
    sim = simulate(prob, ts=all_ts, seeds=range(args.seeds), epochs=args.epochs, optimizer=args.optimizer,
                   lr=args.lr, lr_final=args.lr_final if args.lr_final is not None else args.lr, draws=draws,
                   init=args.init, labels=args.labels, backend=args.backend, progress=args.progress,
                   keep_params=args.generate is not None)
    idx = [int(np.argmin(np.abs(all_ts - t))) for t in ts]
    mean, se = sim.mean(), sim.stderr()
    names = ("c", "m", "omega", "b", "sqrt_q", "sqrt_r")
    out = {
        "runs": [{"seed": int(s), "overlaps": {f"{ts[k]:g}": dict(zip(names, map(float, sim.overlaps[i, j])))
                                               for k, j in enumerate(idx)}} for i, s in enumerate(sim.seeds)],
        "mean": {f"{ts[k]:g}": {q: float(mean[j, names.index(q)]) for q in KEYS} for k, j in enumerate(idx)},
        "stderr": {f"{ts[k]:g}": {q: float(se[j, names.index(q)]) for q in KEYS} for k, j in enumerate(idx)},
        "problem": prob.to_dict(),
        "config": sim.config,
    }
    if args.generate is not None:
        gidx = [int(np.argmin(np.abs(all_ts - t))) for t in grid]
        stats = []
        for i in range(len(sim.seeds)):
            st, _ = generate_from_params(prob, grid, sim.params["c"][i, gidx], sim.params["b"][i, gidx],
                                         sim.params["u"][i, gidx], sim.params["w"][i, gidx], n_gen=args.generate,
                                         seed=i, method=args.method, backend=args.backend)
            stats.append(st)
        for key in ("p_hat", "mean_overlap", "variance"):
            out[key] = float(np.mean([s[key] for s in stats]))
        out["generate"] = {"n_gen": args.generate, "method": args.method, "grid": int(args.grid),
                           "t_end": float(grid[-1]), "per_seed": stats}
    print(dump_json(out))
    return 0


def register(subparsers):
    p = subparsers.add_parser("simulate", help="finite-d simulation of the per-time denoisers (JSON)")
    p.add_argument("--d", type=int, required=True, help="dimension")
    p.add_argument("--n", type=int, required=True, help="number of training points")
    p.add_argument("--t", required=True, help="comma-separated schedule times, e.g. 0.5,1.5")
    p.add_argument("--p", type=float, default=0.8, help="weight of the + mode")
    p.add_argument("--sigma", type=float, default=1.0, help="within-mode standard deviation")
    p.add_argument("--kappa", type=float, default=2.0, help="dilation constant")
    p.add_argument("--lam-u", type=float, default=2.0, help="ridge on u (theory units; lam = wd d T / 2)")
    p.add_argument("--lam-w", type=float, default=2.0, help="ridge on w (theory units)")
    p.add_argument("--noise", choices=("fresh", "fixed"), default="fresh")
    p.add_argument("--no-dilation", action="store_true", help="undilated schedule tau = t on [0, 1]")
    p.add_argument("--epochs", type=int, default=400, help="full-batch optimisation steps")
    p.add_argument("--seeds", type=int, default=4, help="number of seeds (0 .. S-1)")
    p.add_argument("--backend", choices=("numba", "numpy", "cupy"), default="numba")
    p.add_argument("--generate", type=int, default=None, metavar="N_GEN",
                   help="also train the whole grid and generate N_GEN samples per seed")
    p.add_argument("--grid", type=int, default=80, help="grid points for --generate (authors: 80)")
    p.add_argument("--method", choices=("euler", "heun"), default="euler", help="integrator for --generate")
    p.add_argument("--draws", type=int, default=None,
                   help="fresh noise draws per point per step (0 = exact expectation; default 0 fresh, 1 fixed)")
    p.add_argument("--optimizer", choices=("gd", "adam"), default="gd")
    p.add_argument("--lr", type=float, default=0.25)
    p.add_argument("--lr-final", type=float, default=None, help="geometric decay target (default: constant lr)")
    p.add_argument("--init", choices=("small", "random", "informed"), default="small")
    p.add_argument("--labels", choices=("bernoulli", "exact"), default="bernoulli")
    p.add_argument("--progress", action="store_true", help="tqdm progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    p.set_defaults(func=_run)
