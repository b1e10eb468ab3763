"""``flowphase theory ...``: the asymptotic theory on the command line (JSON on stdout).

Sub-commands (keys exactly as written):

* ``overlaps --t T [problem flags] [--theory exact|paper] [--d D] [--n-plus K] --json`` ->
  ``{"t", "phase", "theory", "branch", "c", "m", "omega", "b", "z_plus", "z_minus", "a_plus", "a_minus", "sqrt_r",
  "sqrt_q"}``; ``overlaps --t T1,T2,... | --grid T`` -> ``{"problem", "theory", "times": [{the same keys
  and "tau", "q_eta", "q_xi", "converged"}, ...], "jumps"}`` in one call (learned_curve)
* ``generated [problem flags] [--theory exact|paper] [--sampler euler|heun|continuous] [--d D] [--n-plus K]
  [--grid T] --json`` -> ``{"theory", "p_hat", "mean_overlap", "variance", ...}`` (exact: the sampler on the
  authors' T-point grid, default T = 80); ``generated --theory paper --t T1,T2,... | --grid T`` -> ``{"problem",
  "transition", "p_hat", "times": [...]}`` with the generated-sample statistics at each sampler time
  (:func:`flowphase.numerics.generation.generated_along_flow`)
* ``mse --t T [--p] [--sigma] [--kappa] [--no-dilation] [--d D] --json`` -> ``{"t", "mse"}``; ``mse --t a,b,... |
  --grid T [--d D]`` -> ``{"output": "mse-curve", "t", "tau", "mse", ...}`` (:mod:`.theory_mse`)
* ``cui --t T --n N --sigma S [--lam 0.1] --json`` -> learned parameters, flow statistics at t and end-of-flow
  quantities
* ``speciation --d D [--sigma 1] [--n N] --json`` -> ``{"t_s", "phi_at_t_s"[, "t_c"]}``
* ``dynamics --t T --epochs E [--init small|random|informed] [problem flags] --json``
"""
from __future__ import annotations

import math

from . import dump_json, parse_n
from ._args import Applies, check_input_file, float_list, float_or_inf, given

#: the most times one call evaluates (``--t`` list, ``--grid T``): about 30 s of work on one core
MAX_TIMES = 10_000


def _problem_flags(p, with_n=True, noise=("fresh", "fixed", "notebook")):
    p.add_argument("--p", type=float, default=0.8, bounds=(0.0, 1.0, "()"), help="weight of the + mode")
    p.add_argument("--sigma", type=float, default=1.0, bounds=(1e-8, 1e8), help="within-mode standard deviation")
    p.add_argument("--kappa", type=float, default=2.0, bounds=(1e-12, 1e6), help="dilation constant")
    if with_n:
        p.add_argument("--n", type=parse_n, default=math.inf, help="training-set size: an integer in [1, 1e15] or inf")
        p.add_argument("--lam-u", type=float, default=2.0, bounds=(0.0, 1e12), help="ridge on u (theory units)")
        p.add_argument("--lam-w", type=float, default=2.0, bounds=(0.0, 1e12), help="ridge on w (theory units)")
        p.add_argument("--noise", choices=noise, default="fresh",
                       help="noise convention of the training loss" if len(noise) > 1 else
                       "the dynamics describe fresh noise (the only value)")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")


def _resolved_theory(args) -> str:
    """The theory a command line runs: ``--theory``, else exact where it is defined (fresh noise, 2 <= n < inf,
    :func:`flowphase.numerics.learned.resolve_theory`), else paper."""
    if args.theory is not None:
        return args.theory
    n, noise = getattr(args, "n", math.inf), getattr(args, "noise", "fresh")
    return "exact" if noise == "fresh" and math.isfinite(n) and n >= 2 else "paper"


def _paper_path(args) -> str:
    return "--theory paper" if args.theory == "paper" else \
        "the paper's theory (the default here: n = inf or noise other than fresh)"


#: options that only the exact finite-n theory reads
EXACT_ONLY = Applies(lambda a: _resolved_theory(a) == "exact", _paper_path, "--theory exact")
#: options that only the paper's theory reads
PAPER_ONLY = Applies(lambda a: _resolved_theory(a) == "paper",
                     lambda a: "--theory exact" if a.theory == "exact" else
                     "the exact theory (the default for fresh noise and 2 <= n < inf; pass --theory paper)",
                     "--theory paper")


def _problem(args, dilated=True):
    from flowphase.theory.problem import Problem

    kw = dict(p=args.p, sigma=args.sigma)
    if hasattr(args, "n"):
        kw.update(n=args.n, lam_u=args.lam_u, lam_w=args.lam_w, noise=args.noise)
    if dilated:
        return Problem.dilated(kappa=args.kappa, **kw)
    return Problem.undilated(**kw)


def _time_list(args):
    """(times, is_list): ``--grid T`` (the authors' grid t_k = 2k/T) or ``--t`` as one value or a list."""
    if (args.grid is None) == (args.t is None):
        raise ValueError("give exactly one of --t and --grid")
    if args.grid is not None:
        return None, True
    ts = float_list(args.t, "--t", max_len=MAX_TIMES)
    return ts, len(ts) > 1


#: keys without a value where the encoder direction is flat (phase 2, the exact theory's saturated branch:
#: ``LearnedCurve`` documents NaN there, ``LearnedParameters`` gives None)
_FLAT_UNDEFINED = ("omega", "b", "z_plus", "z_minus", "sqrt_r")


def _overlaps_grid(prob, ts, args):
    """All theory overlaps at many times in one call (learned_curve: continuation + jump detection)."""
    cu = _strategy(args, prob).curve(prob, ts)
    keys = ("c", "m", "omega", "b", "z_plus", "z_minus", "a_plus", "a_minus", "sqrt_r", "sqrt_q", "q_eta", "q_xi")
    rows = []
    for k, t in enumerate(cu.t):
        row = {"t": float(t), "tau": float(cu.tau[k]), "phase": int(cu.phase[k]), "theory": cu.theory,
               "branch": cu.branch[k]}
        for key in keys:
            arr = getattr(cu, key)
            # null only where the theory documents no value (an array the theory does not give, or an encoder
            # direction that is flat: phase 2, or the saturated branch); any other NaN stays NaN and the strict JSON
            # output refuses it (a non-converged point is an error, not a null)
            flat = int(cu.phase[k]) == 2 or cu.branch[k] == "saturated"
            undefined = arr is None or (flat and key in _FLAT_UNDEFINED and math.isnan(float(arr[k])))
            row[key] = None if undefined else float(arr[k])
        row["converged"] = bool(cu.converged[k])
        rows.append(row)
    return {"problem": prob.to_dict(), "theory": cu.theory, "times": rows, "jumps": [vars(j).copy() for j in cu.jumps]}


def _overlaps(args):
    prob = _problem(args)
    ts, is_list = _time_list(args)
    if is_list:
        ts = prob.schedule.grid(args.grid) if ts is None else ts
        print(dump_json(_overlaps_grid(prob, ts, args)))
        return 0
    args.t = ts[0]
    res = _strategy(args, prob).overlaps(prob, args.t)
    out = {"t": args.t, "phase": int(res.phase), "theory": res.theory, "branch": res.branch, "c": res.c,
           "m": res.m, "omega": res.omega, "b": res.b, "z_plus": res.z_plus, "z_minus": res.z_minus,
           "a_plus": res.a_plus, "a_minus": res.a_minus, "sqrt_r": res.sqrt_r, "sqrt_q": res.sqrt_q}
    print(dump_json(out))
    return 0


def _theory_flags(p):
    p.add_argument("--theory", choices=("exact", "paper"), default=None,
                   help="finite-n theory: exact (the default for fresh noise and 2 <= n < inf) or paper")
    p.add_argument("--d", type=parse_n, default=None, applies=EXACT_ONLY,
                   help="exact theory: dimension at which it is evaluated, an integer or inf (default inf)")
    p.add_argument("--n-plus", type=int, default=None, bounds=(0, 10 ** 15), applies=EXACT_ONLY,
                   help="exact theory: realised + class count (default round(p n))")


def _strategy(args, prob):
    """The theory strategy of a command line: ``--theory`` (else :func:`flowphase.numerics.learned.resolve_theory`)
    through :func:`flowphase.numerics.theories.theory_from_name`, at ``--d`` (default inf) with ``--n-plus``."""
    from flowphase.numerics.learned import resolve_theory
    from flowphase.numerics.theories import theory_from_name

    return theory_from_name(resolve_theory(prob, args.theory), d=args.d, n_plus=args.n_plus)


#: ``--sampler`` of the paper's d = inf theory -> its t = 1+ transition (heun: the exact theory only)
PAPER_SAMPLERS = {"euler": "euler", "continuous": "exact"}
#: the sampler each theory runs when ``--sampler`` is not given
DEFAULT_SAMPLER = {"exact": "euler", "paper": "continuous"}


def _generated(args):
    prob = _problem(args)
    strategy = _strategy(args, prob)
    sampler = args.sampler or DEFAULT_SAMPLER[strategy.name]
    if strategy.name == "paper" and sampler not in PAPER_SAMPLERS:
        raise ValueError(f"--sampler {sampler} applies to --theory exact only (the paper's theory: "
                         f"{' or '.join(PAPER_SAMPLERS)})")
    if strategy.name == "paper" and (args.t is not None or args.grid is not None):
        from flowphase.numerics.generation import generated_along_flow

        ts, _ = _time_list(args)
        ts = prob.schedule.grid(args.grid) if ts is None else ts
        out = generated_along_flow(prob, ts, transition=PAPER_SAMPLERS[sampler])
        print(dump_json({"problem": prob.to_dict(), "theory": "paper", **out}))
        return 0
    if strategy.name == "exact":
        # the exact learned field on the authors' grid, pushed through the 3-D flow (docs/exact_theory.md)
        n_times = 80 if args.grid is None else args.grid
        res = strategy.generated(prob, sampler=sampler, n_times=n_times)
        print(dump_json({"theory": "exact", "sampler": sampler, "d": strategy.d_value, "n_times": n_times,
                         "p_hat": res.p_hat, "mean_overlap": res.mean_overlap, "variance": res.variance}))
        return 0
    res = strategy.generated(prob, sampler=sampler)
    print(dump_json({"theory": "paper", "p_hat": res.p_hat, "mean_overlap": res.mean_overlap,
                     "variance": res.variance}))
    return 0


def _cui(args):
    from flowphase.numerics.cui import cui_cli_record

    print(dump_json(cui_cli_record(t=args.t, n=args.n, sigma=args.sigma, lam=args.lam)))
    return 0


def _speciation(args):
    from flowphase.numerics.speciation import cloning_probability, collapse_time, speciation_time

    if not args.d >= 1:
        raise ValueError(f"d must be >= 1, got {args.d}")
    t_s = speciation_time(args.d, sigma=args.sigma)
    out = {"t_s": t_s, "phi_at_t_s": float(cloning_probability(t_s, args.d, sigma=args.sigma))}
    if args.n is not None:
        out["t_c"] = collapse_time(args.n, args.d, sigma=args.sigma)
    print(dump_json(out))
    return 0


def _dynamics(args):
    from flowphase.numerics.theories import theory_from_name
    from flowphase.theory.records import problem_from_keys

    if args.from_run:                   # the prediction from the run's own initial state, at the run's times
        from flowphase.validation.authors_prediction import predict_from_run

        check_input_file(args.run, "--run")
        print(dump_json(predict_from_run(args.run, epochs=args.epochs)))
        return 0
    if args.epochs is None:
        raise ValueError("--epochs is required (the epochs of the run the dynamics describe)")
    if args.run is not None:
        _problem_from_run(args)
    ts, is_list = _time_list(args)
    if ts is None:
        from flowphase.theory.problem import Problem

        ts = Problem.dilated().schedule.grid(int(args.grid))
    for t in ts:
        if not 0.0 <= t <= 2.0:
            raise ValueError(f"--t must lie in [0, 2], got {t!r}")
    name = _dynamics_theory(args)
    strategy = theory_from_name(name, d=args.d, n_plus=args.n_plus if name == "exact" else None)
    prob = problem_from_keys(vars(args))

    def one(t):
        return strategy.dynamics_payload(prob, float(t), epochs=args.epochs, convention=args.convention, lr=args.lr,
                                         init=args.init, seed=args.seed, points=args.points, draws=args.draws)

    if not is_list:
        print(dump_json(one(ts[0])))
    else:
        print(dump_json({"times": [one(t) for t in ts]}))
    return 0


def _problem_from_run(args):
    """The problem and ``--n-plus`` of a simulate export: its stored problem, n_+ counted in its data (a flag given
    explicitly must agree)."""
    import numpy as np

    from flowphase.validation.simulator.inputs import load_npz

    check_input_file(args.run, "--run")
    run = load_npz(args.run)
    pr = run["problem"]
    stored = {"p": pr["p"], "sigma": pr["sigma"], "d": float(pr["d"]), "n": float(pr["n"]), "lam_u": pr["lam_u"],
              "lam_w": pr["lam_w"]}
    if pr.get("kappa") is not None:
        stored["kappa"] = pr["kappa"]
    counts = sorted({int((np.asarray(s) > 0).sum()) for s in np.atleast_2d(run["data"]["s"])})
    if len(counts) == 1:
        stored["n_plus"] = counts[0]
    elif "n_plus" not in given(args):
        raise ValueError(f"--run {args.run}: its seeds have different + class counts {counts}; choose one with "
                         "--n-plus")
    for k, v in stored.items():
        if k in given(args) and float(getattr(args, k)) != float(v):
            raise ValueError(f"--{k.replace('_', '-')} {getattr(args, k)!r} differs from the run's {v!r} (--run "
                             f"{args.run}); leave it out")
        setattr(args, k, v)


def _dynamics_theory(args) -> str:
    """exact where it is defined (finite n), the paper's restricted ODE otherwise."""
    if args.theory is not None:
        return args.theory
    return "exact" if math.isfinite(args.n) else "paper"


def register(subparsers):
    theory = subparsers.add_parser("theory", help="asymptotic theory (JSON)")
    sub = theory.add_subparsers(dest="theory_command", required=True)

    p = sub.add_parser("overlaps", help="learned c, m, omega, b at time t (or all overlaps on a list / grid)")
    p.add_argument("--t", default=None, help="dilated time in [0, 2], or a comma-separated list of times")
    p.add_argument("--grid", type=int, default=None, metavar="T", bounds=(1, MAX_TIMES),
                   help="all overlaps on the authors' T-point grid t_k = 2k/T (instead of --t)")
    _problem_flags(p)
    _theory_flags(p)
    p.set_defaults(func=_overlaps)

    p = sub.add_parser("generated", help="generated mode fraction, mean overlap and variance")
    _problem_flags(p)
    _theory_flags(p)
    p.add_argument("--sampler", choices=("euler", "heun", "continuous"), default=None,
                   help="the sampler pushed through the learned field: euler (the authors' step; the exact theory's "
                        "default), continuous (the exact flow; the paper's default: its t = 1+ transition 'exact') "
                        "or heun (exact theory only)")
    p.add_argument("--t", default=None, applies=PAPER_ONLY,
                   help="paper's theory: sampler times (comma-separated), statistics along the flow")
    p.add_argument("--grid", type=int, default=None, metavar="T", bounds=(1, MAX_TIMES),
                   help="the sampler on the authors' T-point grid t_k = 2k/T: exact theory, its training/sampling "
                        "grid (default 80); paper's theory, statistics along the flow")
    p.set_defaults(func=_generated)

    from .theory_mse import register_mse  # the MSE at a time or along a curve (--t list | --grid, --d)

    register_mse(sub)

    p = sub.add_parser("cui", help="Cui et al. learned denoiser and flow statistics")
    p.add_argument("--t", type=float, required=True, bounds=(0.0, 1.0), help="Cui time (0 noise, 1 data)")
    p.add_argument("--n", type=int, required=True, bounds=(1, 10 ** 15), help="training-set size")
    p.add_argument("--sigma", type=float, required=True, bounds=(1e-8, 1e8), help="within-mode standard deviation")
    p.add_argument("--lam", type=float, default=0.1, bounds=(0.0, 1e12), help="ridge")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    p.set_defaults(func=_cui)

    p = sub.add_parser("speciation", help="Biroli et al. speciation and collapse times")
    p.add_argument("--d", type=float, required=True, bounds=(1.0, 1e300), help="dimension")
    p.add_argument("--sigma", type=float, default=1.0, bounds=(1e-8, 1e8), help="within-mode standard deviation")
    p.add_argument("--n", type=int, default=None, bounds=(1, 10 ** 15), help="training-set size (adds the collapse time)")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    p.set_defaults(func=_speciation)

    p = sub.add_parser("dynamics", help="gradient-flow overlap trajectory at one time t (or at a list / grid)")
    p.add_argument("--t", default=None, help="dilated time in [0, 2], or a comma-separated list of times")
    p.add_argument("--grid", type=int, default=None, metavar="T", bounds=(1, MAX_TIMES),
                   help="the trajectories at every time of the authors' T-point grid t_k = 2k/T (instead of --t)")
    p.add_argument("--run", default=None, metavar="FILE.npz",
                   help="a run (flowphase simulate --export): the problem and --n-plus are taken from it")
    p.add_argument("--from-run", action="store_true",
                   applies=Applies(lambda a: a.run is not None, "a call without --run"),
                   help="predict the run from its own initial state, at its times, with its optimiser (exact theory)")
    p.add_argument("--epochs", type=int, default=None, bounds=(1, 10 ** 7),
                   help="epochs of the run it describes (required; with --from-run: the run's by default)")
    p.add_argument("--init", choices=("small", "random", "informed"), default="small", help="initialisation")
    p.add_argument("--lr", type=float, default=None, bounds=(0.0, 1e6, "(]"),
                   help="learning rate of the simulator it describes (default 0.01; 1e-4 for the exact adam)")
    p.add_argument("--convention", choices=("balanced", "theory", "authors", "mean", "adam"), default=None,
                   help="how one epoch maps to ODE time (default balanced; see numerics.dynamics.payload)")
    p.add_argument("--draws", type=int, default=None, bounds=(1, 10 ** 6),
                   applies=Applies(lambda a: a.convention == "adam", "conventions other than adam"),
                   help="fresh noises per point per step (adam convention; default 1)")
    p.add_argument("--points", type=int, default=None, bounds=(2, 100_000), help="number of recorded epochs (default 201)")
    p.add_argument("--seed", type=int, default=None, bounds=(0, 2 ** 63 - 1), help="seed of the initialisation (default 0)")
    p.add_argument("--d", type=float_or_inf, default=math.inf, bounds=(1.0, math.inf),
                   help="dimension (inf: the d -> infinity ODE)")
    p.add_argument("--theory", choices=("exact", "paper"), default=None,
                   help="exact finite-n coordinates (the default for finite n) or the paper's ODE")
    p.add_argument("--n-plus", type=int, default=None, bounds=(0, 10 ** 15),
                   applies=Applies(lambda a: _dynamics_theory(a) == "exact",
                                   lambda a: "--theory paper" if a.theory else "n = inf (the paper's ODE)"),
                   help="exact theory: realised + class count (default round(p n))")
    _problem_flags(p, noise=("fresh",))
    p.set_defaults(func=_dynamics)

    from .windows import register_windows  # K-mode mixtures

    register_windows(sub)
