"""``flowphase simulate``: train the finite-d denoisers and print JSON.

``flowphase simulate --d D --n N --t T1,T2,... [--p] [--sigma] [--kappa] [--lam-u] [--lam-w]
[--noise fresh|fixed] [--no-dilation] [--epochs E] [--seeds S] [--backend numba|numpy|cupy]
[--protocol theory|authors] [--data FILE.npz] [--init-params FILE.npz] [--export FILE.npz]
[--generate N_GEN] --json``
-> ``{"runs": [...], "mean": {"<t>": {"c", "m", "omega", "b", "sqrt_q", "sqrt_r"}}, "stderr": {...},
"protocol", "sign_degenerate", "problem", "config"}``; with
``--generate`` the whole grid (``--grid`` points, default 80) is trained as well and the output
adds ``"p_hat"``, ``"mean_overlap"`` and ``"variance"`` of the generated samples (mean over seeds).

``--protocol`` selects the preset of :mod:`flowphase.validation.protocols` (the library's
``simulate(protocol=...)``, same table); ``--epochs``, ``--optimizer``, ``--lr``, ``--lr-final``,
``--draws``, ``--init`` and ``--labels`` override it when given.  ``--data`` / ``--init-params`` read
``x1, s`` / ``c, b, u, w`` from an NPZ file (e.g. a previous ``--export``, layout in
:func:`flowphase.validation.sim_inputs.save_npz`).
"""
from __future__ import annotations

import math

import numpy as np

from . import dump_json

KEYS = ("c", "m", "omega", "b", "sqrt_q", "sqrt_r")


def _times(text):
    fields = str(text).split(",")
    if len(fields) > 10_000:
        raise ValueError(f"--t holds {len(fields)} times, at most 10000 allowed")
    if any(x.strip() == "" for x in fields):
        raise ValueError(f"--t must be a comma-separated list of times without empty entries, got {text!r}")
    try:
        ts = [float(x) for x in fields]
    except ValueError:
        raise ValueError(f"--t must be a comma-separated list of times, got {text!r}") from None
    if not ts or not all(math.isfinite(t) for t in ts):
        raise ValueError(f"--t must be a non-empty list of finite times, got {text!r}")
    return ts


def _bounded(name, v, lo, hi):
    if v is not None and not lo <= v <= hi:
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}], got {v!r}")


def _run(args):
    from flowphase.theory.problem import Problem
    from flowphase.validation.sampling import generate_from_params
    from flowphase.validation.simulator import simulate

    if args.d is None or args.d < 2:
        raise ValueError(f"--d must be an integer >= 2, got {args.d!r}")
    if args.n is None or args.n < 1:
        raise ValueError(f"--n must be an integer >= 1, got {args.n!r}")
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    if args.generate is not None and args.generate < 2:
        raise ValueError(f"--generate must be >= 2, got {args.generate}")
    from flowphase.validation.simulator import MAX_EPOCHS, MAX_SEEDS

    _bounded("--seeds", args.seeds, 1, MAX_SEEDS)
    _bounded("--epochs", args.epochs, 1, MAX_EPOCHS)
    _bounded("--generate", args.generate, 2, 10 ** 8)
    _bounded("--grid", args.grid, 2, 10 ** 5)
    _bounded("--draws", args.draws, 0, 10 ** 6)
    ts = _times(args.t)
    data, init_params = _npz_inputs(args)
    kw = dict(p=args.p, sigma=args.sigma, d=args.d, n=args.n, lam_u=args.lam_u, lam_w=args.lam_w, noise=args.noise)
    prob = Problem.undilated(**kw) if args.no_dilation else Problem.dilated(kappa=args.kappa, **kw)
    prob.schedule.check_t(ts)
    grid = prob.schedule.grid(args.grid) if args.generate is not None else np.zeros(0)
    all_ts = np.unique(np.concatenate([np.asarray(ts, float), grid]))
    if init_params is not None and len(all_ts) != len(ts):
        raise ValueError("--init-params gives one set per --t time: it cannot be combined with --generate")
    if init_params is not None and not np.array_equal(all_ts, np.asarray(ts, float)):
        raise ValueError("--init-params needs the --t times in increasing order without repeats")
    sim = simulate(prob, ts=all_ts, seeds=range(args.seeds), protocol=args.protocol, epochs=args.epochs,
                   optimizer=args.optimizer, lr=args.lr, lr_final=args.lr_final, draws=args.draws,
                   init=args.init, labels=args.labels, data=data, init_params=init_params, backend=args.backend,
                   progress=args.progress, keep_params=args.generate is not None or args.export is not None)
    idx = [int(np.argmin(np.abs(all_ts - t))) for t in ts]
    mean, se = sim.mean(), sim.stderr()
    names = ("c", "m", "omega", "b", "sqrt_q", "sqrt_r")
    out = {
        "runs": [{"seed": int(s), "overlaps": {f"{ts[k]:g}": dict(zip(names, map(float, sim.overlaps[i, j])))
                                               for k, j in enumerate(idx)}} for i, s in enumerate(sim.seeds)],
        "mean": {f"{ts[k]:g}": {q: float(mean[j, names.index(q)]) for q in KEYS} for k, j in enumerate(idx)},
        "stderr": {f"{ts[k]:g}": {q: float(se[j, names.index(q)]) for q in KEYS} for k, j in enumerate(idx)},
        "sign_degenerate": {f"{ts[k]:g}": int(sim.sign_degenerate[:, j].sum()) for k, j in enumerate(idx)},
        "protocol": sim.config["protocol"],
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
    if args.export is not None:
        out["export"] = sim.save_npz(args.export)
    print(dump_json(out))
    return 0


def _npz_inputs(args):
    """(data, init_params) read from the ``--data`` / ``--init-params`` NPZ files (None when absent)."""
    for flag, path in (("--data", args.data), ("--init-params", args.init_params), ("--export", args.export)):
        if path is not None and not str(path).endswith(".npz"):
            raise ValueError(f"{flag} must name an .npz file, got {path!r}")
    out = []
    for flag, path, keys in (("--data", args.data, ("x1", "s")), ("--init-params", args.init_params,
                                                                   ("c", "b", "u", "w"))):
        if path is None:
            out.append(None)
            continue
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise ValueError(f"{flag} {path}: missing arrays {missing} (expected {', '.join(keys)})")
            out.append({k: z[k] for k in keys})
    return tuple(out)


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
    p.add_argument("--protocol", choices=("theory", "authors"), default="theory",
                   help="training preset (README protocol table); the flags below override it")
    p.add_argument("--epochs", type=int, default=None, help="full-batch optimisation steps (theory: 400)")
    p.add_argument("--seeds", type=int, default=4, help="number of seeds (0 .. S-1)")
    p.add_argument("--backend", choices=("numba", "numpy", "cupy"), default="numba")
    p.add_argument("--generate", type=int, default=None, metavar="N_GEN",
                   help="also train the whole grid and generate N_GEN samples per seed")
    p.add_argument("--grid", type=int, default=80, help="grid points for --generate (authors: 80)")
    p.add_argument("--method", choices=("euler", "heun"), default="euler", help="integrator for --generate")
    p.add_argument("--draws", type=int, default=None,
                   help="fresh noise draws per point per step (0 = exact expectation; theory: 0 fresh, 1 fixed)")
    p.add_argument("--optimizer", choices=("gd", "adam"), default=None, help="theory: gd, authors: adam")
    p.add_argument("--lr", type=float, default=None, help="theory: 0.25, authors: 0.01")
    p.add_argument("--lr-final", type=float, default=None, help="geometric decay target (default: constant lr)")
    p.add_argument("--init", choices=("small", "random", "informed"), default=None,
                   help="theory: small, authors: random")
    p.add_argument("--labels", choices=("bernoulli", "exact"), default=None, help="default bernoulli")
    p.add_argument("--data", default=None, metavar="FILE.npz", help="training data: arrays x1 (n, d), s (n,)")
    p.add_argument("--init-params", default=None, metavar="FILE.npz",
                   help="initial parameters: arrays c, b (T,) and u, w (T, d) for the --t times")
    p.add_argument("--export", default=None, metavar="FILE.npz", help="write the trained parameters and data")
    p.add_argument("--progress", action="store_true", help="tqdm progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    p.set_defaults(func=_run)
