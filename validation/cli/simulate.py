"""``flowphase simulate``: train the finite-d denoisers and print JSON.

``flowphase simulate --d D --n N --t T1,T2,... | --grid T [--p] [--sigma] [--kappa] [--lam-u] [--lam-w]
[--weight-decay WD]
[--noise fresh|fixed] [--no-dilation] [--epochs E] [--seeds S] [--backend numba|numpy|cupy]
[--protocol theory|authors] [--data FILE.npz] [--init-params FILE.npz] [--export FILE.npz]
[--generate N_GEN] [--checkpoint FILE.npz] --json``
-> ``{"runs": [...], "mean": {"<t>": {"c", "m", "omega", "b", "sqrt_q", "sqrt_r"}}, "stderr": {...},
"protocol", "sign_degenerate", "problem", "config"}``; with
``--generate`` the whole grid (``--grid`` points, default 80) is trained as well and the output
adds ``"p_hat"``, ``"mean_overlap"`` and ``"variance"`` of the generated samples (mean over seeds).

``--protocol`` selects the preset of :mod:`flowphase.validation.protocols` (the library's
``simulate(protocol=...)``, same table); ``--epochs``, ``--optimizer``, ``--lr``, ``--lr-final``,
``--draws``, ``--init`` and ``--labels`` override it when given.  ``--data`` / ``--init-params`` read
``x1, s`` / ``c, b, u, w`` from an NPZ file (e.g. a previous ``--export``, layout in
:func:`flowphase.validation.simulator.save_npz`).  ``--grid T`` without ``--t`` trains the authors' T-point grid
(e.g. with ``--init-params`` holding their T networks).  ``--weight-decay WD`` gives the ridge as the authors'
PyTorch weight decay, ``lam = WD d T / 2`` with this run's d and number of times T.  ``--lr`` also takes the names
of the authors' two rates, ``authors-code`` (1e-2) and ``authors-paper`` (1e-4).  ``--checkpoint FILE.npz``
makes the run resumable (run the same command again after an interruption).
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from flowphase.theory.records import OVERLAP_NAMES

from . import dump_json
from ._args import Applies, check_input_file, check_output_file, float_list, given


def _times(text):
    return float_list(text, "--t", max_len=10_000)


def _lr(text):
    """A learning rate: a number or a name of :data:`flowphase.validation.protocols.AUTHORS_LR`."""
    import argparse

    from flowphase.validation.protocols import resolve_lr

    try:
        return float(resolve_lr(text, "--lr"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _grid_times(args):
    """The authors' ``--grid T`` times of the (dilated or undilated) schedule."""
    from flowphase.theory.problem import Problem

    return list((Problem.undilated() if args.no_dilation else Problem.dilated()).schedule.grid(int(args.grid)))


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
    if args.t is None and "grid" not in given(args):
        raise ValueError("give the times: --t T1,T2,... or --grid T")
    ts = _times(args.t) if args.t is not None else _grid_times(args)
    if args.export is not None:          # checked before any training: a bad path must not cost the run
        if not str(args.export).endswith(".npz"):
            raise ValueError(f"--export must name an .npz file, got {args.export!r}")
        check_output_file(args.export, "--export")
    if args.checkpoint is not None:
        if not str(args.checkpoint).endswith(".npz"):
            raise ValueError(f"--checkpoint must name an .npz file, got {args.checkpoint!r}")
        check_output_file(args.checkpoint, "--checkpoint")
    data, init_params, stored = _npz_inputs(args, ts)
    _use_stored_problem(args, stored)
    kw = dict(p=args.p, sigma=args.sigma, d=args.d, n=args.n, lam_u=args.lam_u, lam_w=args.lam_w, noise=args.noise)
    prob = Problem.undilated(**kw) if args.no_dilation else Problem.dilated(kappa=args.kappa, **kw)
    prob.schedule.check_t(ts)
    grid = prob.schedule.grid(args.grid) if args.generate is not None else np.zeros(0)
    all_ts = np.unique(np.concatenate([np.asarray(ts, float), grid]))
    if init_params is not None and len(all_ts) != len(ts):
        raise ValueError("--init-params gives one set per --t time: with --generate give the times by --grid T alone")
    if init_params is not None and not np.array_equal(all_ts, np.asarray(ts, float)):
        raise ValueError("--init-params needs the --t times in increasing order without repeats")
    import contextlib

    from flowphase.validation._io import exclusive_lock

    # two runs never share one checkpoint: the second is refused at once (the lock dies with its process)
    lock = exclusive_lock(args.checkpoint, "--checkpoint") if args.checkpoint is not None else contextlib.nullcontext()
    with lock:
        sim = simulate(prob, ts=all_ts, seeds=range(args.seeds), protocol=args.protocol, epochs=args.epochs,
                       optimizer=args.optimizer, lr=args.lr, lr_final=args.lr_final, draws=args.draws,
                       init=args.init, labels=args.labels, data=data, init_params=init_params, backend=args.backend,
                       progress=args.progress, keep_params=args.generate is not None or args.export is not None,
                       weight_decay=args.weight_decay, checkpoint=args.checkpoint,
                       checkpoint_every=args.checkpoint_every)
    idx = [int(np.argmin(np.abs(all_ts - t))) for t in ts]
    mean, se = sim.mean(), sim.stderr()
    names = OVERLAP_NAMES
    out = {
        "runs": [{"seed": int(s), "overlaps": {f"{ts[k]:g}": dict(zip(names, map(float, sim.overlaps[i, j])))
                                               for k, j in enumerate(idx)}} for i, s in enumerate(sim.seeds)],
        "mean": {f"{ts[k]:g}": {q: float(mean[j, names.index(q)]) for q in names} for k, j in enumerate(idx)},
        "stderr": {f"{ts[k]:g}": {q: float(se[j, names.index(q)]) for q in names} for k, j in enumerate(idx)},
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


#: problem keys an export stores (``config`` array) and the options that set them
_STORED = (("p", "--p"), ("sigma", "--sigma"), ("kappa", "--kappa"), ("lam_u", "--lam-u"), ("lam_w", "--lam-w"),
           ("noise", "--noise"))


def _npz_inputs(args, ts):
    """``(data, init_params, stored)`` read from the ``--data`` / ``--init-params`` NPZ files (None when absent):
    shapes checked from the file headers before anything is decompressed, the times stored with initial parameters
    checked against ``--t``, and ``stored`` the problem recorded in a ``--data`` export (None for plain arrays)."""
    from flowphase.validation.simulator.inputs import export_meta, read_npz

    for flag, path in (("--data", args.data), ("--init-params", args.init_params)):
        if path is not None:
            if not str(path).endswith(".npz"):
                raise ValueError(f"{flag} must name an .npz file, got {path!r}")
            check_input_file(path, flag)
    n, d, T, S = args.n, args.d, len(ts), args.seeds
    data = init = stored = None
    if args.data is not None:
        z = read_npz(args.data, ("x1", "s"), what="--data", optional=("config",),
                     shapes={"x1": [(n, d), (S, n, d)], "s": [(n,), (S, n)], "config": [()]})
        data = {"x1": z["x1"], "s": z["s"]}
        if "config" in z:
            stored = export_meta(z["config"], args.data)["problem"]
    if args.init_params is not None:
        z = read_npz(args.init_params, ("c", "b", "u", "w"), what="--init-params", optional=("ts",),
                     shapes={"c": [(T,), (S, T)], "b": [(T,), (S, T)], "u": [(T, d), (S, T, d)],
                             "w": [(T, d), (S, T, d)], "ts": [(T,)]})
        if "ts" in z and not np.allclose(np.asarray(z["ts"], float), ts, rtol=0.0, atol=1e-12):
            stored_ts = ",".join(f"{t:g}" for t in np.asarray(z["ts"], float))
            raise ValueError(f"--init-params {args.init_params} holds the parameters of the times {stored_ts}, "
                             f"--t gives {args.t}; pass --t {stored_ts}")
        init = {k: z[k] for k in ("c", "b", "u", "w")}
    return data, init, stored


def _use_stored_problem(args, stored) -> None:
    """Train on the problem a ``--data`` export was drawn from: its p, sigma, kappa, ridges and noise are used
    where the command line gives none, and a different value given on the command line is refused."""
    if stored is None:
        return
    done = given(args)
    dilated = stored.get("schedule", "dilated") == "dilated"
    if "no_dilation" in done and dilated:
        raise ValueError(f"--no-dilation contradicts the problem stored in --data {args.data} (dilated schedule); "
                         "drop --no-dilation")
    args.no_dilation = not dilated
    for d_or_n in ("d", "n"):
        if d_or_n in stored and float(stored[d_or_n]) != float(getattr(args, d_or_n)):
            raise ValueError(f"--{d_or_n} {getattr(args, d_or_n)} contradicts the problem stored in --data {args.data} "
                             f"({d_or_n} = {stored[d_or_n]:g})")
    for key, flag in _STORED:
        if key not in stored or (key == "kappa" and args.no_dilation):
            continue
        value = stored[key]
        dest = flag.lstrip("-").replace("-", "_")
        mine = getattr(args, dest)
        same = value == mine if isinstance(value, str) else \
            isinstance(value, (int, float)) and math.isclose(float(value), float(mine), rel_tol=1e-12, abs_tol=0.0)
        if dest in done and not same:
            raise ValueError(f"{flag} {mine} contradicts the problem stored in --data {args.data} ({key} = {value}); "
                             f"drop {flag} to train on the stored problem")
        if not same:
            setattr(args, dest, type(mine)(value) if not isinstance(value, str) else value)


def register(subparsers):
    p = subparsers.add_parser("simulate", help="finite-d simulation of the per-time denoisers (JSON)")
    p.add_argument("--d", type=int, required=True, help="dimension")
    p.add_argument("--n", type=int, required=True, help="number of training points")
    p.add_argument("--t", default=None, help="comma-separated schedule times, e.g. 0.5,1.5 (or --grid T)")
    p.add_argument("--p", type=float, default=0.8, help="weight of the + mode")
    p.add_argument("--sigma", type=float, default=1.0, help="within-mode standard deviation")
    p.add_argument("--kappa", type=float, default=2.0, help="dilation constant")
    p.add_argument("--lam-u", type=float, default=2.0, help="ridge on u (theory units; lam = wd d T / 2)")
    p.add_argument("--lam-w", type=float, default=2.0, help="ridge on w (theory units)")
    p.add_argument("--weight-decay", type=float, default=None, metavar="WD", bounds=(0.0, 1e6),
                   applies=Applies(lambda a: not ({"lam_u", "lam_w"} & given(a)), "--lam-u / --lam-w (one ridge)"),
                   help="the authors' PyTorch weight decay instead of --lam-u/--lam-w: lam = WD d T / 2 with this "
                        "run's d and number of times T (the default lam = 2 is WD = 1e-5 only at d = 5000, T = 80)")
    p.add_argument("--noise", choices=("fresh", "fixed"), default="fresh")
    p.add_argument("--no-dilation", action="store_true", help="undilated schedule tau = t on [0, 1]")
    p.add_argument("--protocol", choices=("theory", "authors"), default="theory",
                   help="training preset (README protocol table); the flags below override it")
    p.add_argument("--epochs", type=int, default=None, help="full-batch optimisation steps (theory: 400)")
    p.add_argument("--seeds", type=int, default=4, help="number of seeds (0 .. S-1)")
    p.add_argument("--backend", choices=("numba", "numpy", "cupy"), default="numba")
    p.add_argument("--generate", type=int, default=None, metavar="N_GEN",
                   help="also train the whole grid and generate N_GEN samples per seed")
    with_generate = Applies(lambda a: a.generate is not None, "a run without --generate")
    p.add_argument("--grid", type=int, default=80, bounds=(2, 10 ** 5),
                   applies=Applies(lambda a: a.generate is not None or a.t is None, "--t without --generate"),
                   help="the authors' T-point grid: the training times when --t is not given, and the grid of "
                        "--generate (authors: 80)")
    p.add_argument("--method", choices=("euler", "heun"), default="euler", applies=with_generate,
                   help="integrator for --generate")
    p.add_argument("--draws", type=int, default=None,
                   help="fresh noise draws per point per step (0 = exact expectation; theory: 0 fresh, 1 fixed)")
    p.add_argument("--optimizer", choices=("gd", "adam"), default=None, help="theory: gd, authors: adam")
    p.add_argument("--lr", type=_lr, default=None,
                   help="theory: 0.25, authors: 0.01; a number or a name: authors-code (1e-2, the authors' committed "
                        "code and the authors preset), authors-paper (1e-4, the paper's rate, --size paper)")
    p.add_argument("--lr-final", type=float, default=None, help="geometric decay target (default: constant lr)")
    p.add_argument("--init", choices=("small", "random", "informed"), default=None,
                   applies=Applies(lambda a: a.init_params is None, "--init-params (the file gives the start)"),
                   help="theory: small, authors: random")
    p.add_argument("--labels", choices=("bernoulli", "exact"), default=None,
                   applies=Applies(lambda a: a.data is None, "--data (the file gives the labels)"),
                   help="how the labels of drawn data are drawn (default bernoulli)")
    p.add_argument("--data", default=None, metavar="FILE.npz", help="training data: arrays x1 (n, d), s (n,)")
    p.add_argument("--init-params", default=None, metavar="FILE.npz",
                   help="initial parameters: arrays c, b (T,) and u, w (T, d) for the --t times")
    p.add_argument("--export", default=None, metavar="FILE.npz", help="write the trained parameters and data")
    p.add_argument("--checkpoint", default=None, metavar="FILE.npz",
                   help="resumable run: checkpoint here and continue from it when the same command runs again")
    p.add_argument("--checkpoint-every", type=int, default=1000, bounds=(1, 10 ** 7),
                   applies=Applies(lambda a: a.checkpoint is not None, "a run without --checkpoint"),
                   help="epochs between checkpoints")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=False,
                   help="tqdm progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    p.set_defaults(func=_run)
