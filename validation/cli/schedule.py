"""``flowphase schedule ...``: from a loss curve to windows to a schedule to a sampler's times, and the atlas.

Time convention of every output: tau in [0, 1], 0 pure noise, 1 data (docs/schedules.md); a CSV in another
convention is converted on reading (``--convention``).

* ``detect (--csv FILE [--column C] [--convention torchcfm|diffusers|edm|...] | --from MSE.json) [--rel-height 0.1]
  [--min-sharpness 3] [--min-size 0.05] --json`` -> ``{"windows": [{"start", "end", "size", "peak", "sharpness",
  "resolution", "resolved"}, ...], "column", "criterion", "source", "convention"}``; ``--from`` reads the curve of
  ``flowphase theory mse --grid T | --t a,b,...`` (its ``tau`` and ``mse``);
* ``design (--from WINDOWS.json | --windows "a:b[:size],...") [--mass 0.5] [--base SPEC] [--t-max 1]
  [--accept-unresolved] [--out FILE] --json`` -> a schedule JSON; ``--from`` reads the output of ``schedule detect``
  or of ``theory windows``; an unresolved window (``resolved: false``) is refused unless ``--accept-unresolved``;
  without ``--base`` the piecewise schedule (mass in the windows, uniform elsewhere), with ``--base SPEC`` the
  density ``phase_aware(SPEC, windows, mass)``;
* ``sample (--schedule SCHEDULE.json | --density SPEC [--d D]) (--k K [--seed S] | --grid T) [--convention C]
  [--num-train-timesteps N] --json`` -> ``{"tau": [...], "spec", "what"[, "convention", "values"]}``; every JSON that
  is not a schedule is refused (one line, exit 2);
* ``evaluate --density SPEC [--density ...] --d D[,D2...] [--T 80] [--n N|inf] [--p 0.8] [--sigma 1]
  [--mixture two-mode|hierarchy] [--min-T] [--tol 0.01] --json`` -> one JSON object with top-level ``p_hat`` and
  ``max_weight_error`` (several densities or d: ``{"rows": [...]}``), :mod:`flowphase.numerics.atlas`.
"""
from __future__ import annotations

import math
from pathlib import Path

from . import check_input_file, check_output_file, dump_json, parse_n
from ._args import float_list

#: most times ``schedule sample`` prints (its JSON grows by ~20 bytes per time)
MAX_SAMPLE = 10 ** 7
#: largest grid of ``schedule evaluate`` (n = inf; the exact finite-n field: MAX_T_FINITE_N)
MAX_T = 2 ** 21
MAX_T_FINITE_N = 4096


def _read_text(path, what: str) -> str:
    """The text of an input file: a folder, a missing/unreadable or non-UTF-8 file -> one-line ValueError."""
    check_input_file(path, what)
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what} {path}: not a UTF-8 text file") from None


# ----------------------------------------------------------------------------- detect
def _mse_curve(path):
    """(tau, eps) of a `theory mse` curve JSON."""
    import numpy as np

    from flowphase.numerics.schedules import load_json_object

    obj = load_json_object(_read_text(path, "--from"), f"--from {path}")
    if obj.get("output") != "mse-curve":
        if "mse" in obj and not isinstance(obj["mse"], list):
            raise ValueError(f"--from {path}: one MSE value, not a curve; run 'flowphase theory mse --grid T' "
                             "(or --t a,b,...)")
        raise ValueError(f"--from {path}: not the JSON of 'flowphase theory mse --grid T | --t a,b,...' "
                         f"(no \"output\": \"mse-curve\")")
    try:
        tau, eps = np.asarray(obj["tau"], dtype=float), np.asarray(obj["mse"], dtype=float)
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"--from {path}: the curve needs numeric 'tau' and 'mse' lists") from None
    return tau, eps


def _csv_curve(args):
    import numpy as np

    from flowphase.numerics.detect import read_curve_csv
    from flowphase.theory.conventions import tau_from

    check_input_file(args.csv, "--csv")
    t, y, col = read_curve_csv(args.csv, args.column)
    if args.convention != "flowphase":
        try:
            t = np.asarray(tau_from(args.convention, t, num_train_timesteps=args.num_train_timesteps), dtype=float)
        except ValueError as exc:
            raise ValueError(f"--csv {args.csv}: the time column in convention {args.convention!r}: {exc}") from None
        order = np.argsort(t, kind="stable")
        t, y = t[order], y[order]
    return t, y, col


def _detect(args):
    from flowphase.numerics.detect import detect_windows

    if (args.csv is None) == (args.from_file is None):
        raise ValueError("give exactly one of --csv (your per-time losses) or --from (a 'theory mse' curve JSON)")
    if args.from_file is not None:
        for flag, v, default in (("--column", args.column, None), ("--convention", args.convention, "flowphase")):
            if v != default:
                raise ValueError(f"{flag} applies to --csv only (a 'theory mse' curve is in tau)")
        t, y = _mse_curve(args.from_file)
        col, source = "mse", str(args.from_file)
    else:
        t, y, col = _csv_curve(args)
        source = str(args.csv)
    wins = detect_windows(t, y, rel_height=args.rel_height, min_sharpness=args.min_sharpness,
                          min_size=args.min_size)
    out = {"windows": [w.to_dict() for w in wins], "column": col, "source": source,
           "convention": "tau in [0, 1]: 0 noise, 1 data" + ("" if args.convention == "flowphase" else
                                                             f" (converted from {args.convention})"),
           "criterion": {"rel_height": args.rel_height, "min_sharpness": args.min_sharpness,
                         "min_size": args.min_size}}
    if args.json:
        print(dump_json(out))
    else:
        print(f"{len(wins)} window(s) in column {col!r}")
        for w in wins:
            print(f"  [{w.start:.6g}, {w.end:.6g}]  size {w.size:.4g}  peak {w.peak:.6g}"
                  f"{'' if w.resolved else '  (unresolved: refine the grid)'}")
    return 0


# ----------------------------------------------------------------------------- design
def _parse_windows(text):
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        fields = part.split(":")
        if len(fields) not in (2, 3):
            raise ValueError(f"--windows entries must be 'start:end' or 'start:end:size', got {part!r}")
        try:
            vals = [float(f) for f in fields]
        except ValueError:
            raise ValueError(f"--windows entry {part!r} is not numeric")
        out.append({"start": vals[0], "end": vals[1], "size": vals[2] if len(vals) == 3 else 1.0})
    if not out:
        raise ValueError("--windows is empty")
    return out


def _windows_from_file(path, accept_unresolved: bool):
    from flowphase.numerics.schedules import load_json_object

    obj = load_json_object(_read_text(path, "--from"), f"--from {path}")
    if "kind" in obj:
        raise ValueError(f"--from {path}: is a schedule (kind={str(obj['kind'])[:40]!r}), not windows; "
                         "sample it with 'flowphase schedule sample --schedule FILE'")
    windows = obj.get("windows")
    if not isinstance(windows, list) or not windows:
        raise ValueError(f"--from {path}: no 'windows' list to design from (the output of 'schedule detect' or "
                         "'theory windows')")
    for i, w in enumerate(windows):
        if isinstance(w, dict) and w.get("resolved") is False and not accept_unresolved:
            raise ValueError(f"--from {path}: window {i} [{w.get('start')!r}, {w.get('end')!r}] is not resolved "
                             f"(it spans fewer than 3 intervals of the curve's grid, spacing {w.get('resolution')!r}): "
                             "refine the grid there, or pass --accept-unresolved")
    return windows


def _design(args):
    from flowphase.numerics.schedules import design_schedule

    if (args.from_file is None) == (args.windows is None):
        raise ValueError("give exactly one of --from (a detect or theory-windows JSON) or --windows")
    if args.accept_unresolved and args.from_file is None:
        raise ValueError("--accept-unresolved applies to --from (windows given with --windows are taken as they are)")
    base = None
    if args.base is not None:
        from flowphase.theory.densities import parse_density

        base = parse_density(args.base)
        if args.t_max != 1.0:
            raise ValueError("--t-max applies to the piecewise schedule (without --base)")
    if args.out is not None:
        check_output_file(args.out, "--out")     # before any work
    windows = (_windows_from_file(args.from_file, args.accept_unresolved) if args.from_file is not None
               else _parse_windows(args.windows))
    try:
        if base is None:
            sched = design_schedule(windows, mass=args.mass, t_max=args.t_max)
            out = sched.to_dict()
            out["window_mass"] = sched.window_mass()
        else:
            from flowphase.numerics.schedules import _window_fields
            from flowphase.theory.densities import phase_aware

            fields = [_window_fields(w, i) for i, w in enumerate(windows)]
            sizes = [abs(float(f.get("size", 1.0))) for f in fields]
            den = phase_aware(base, [(f["start"], f["end"]) for f in fields], args.mass,
                              shares=sizes if sum(sizes) > 0 else None)
            out = den.to_dict()
            out["window_mass"] = [float(den.mass(a, b)) for a, b in den.windows.windows]
    except ValueError as exc:
        if args.from_file is None:
            raise
        raise ValueError(f"{args.from_file}: {exc}") from None
    text = dump_json(out)
    if args.out:
        from flowphase.validation._io import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    print(text)
    return 0


# ----------------------------------------------------------------------------- sample
def _density_arg(args):
    """The density of ``--schedule FILE`` or ``--density SPEC`` (``--d`` for a dilation)."""
    from flowphase.numerics.schedules import load_schedule
    from flowphase.theory.densities import parse_density

    if (args.schedule is None) == (args.density is None):
        raise ValueError("give exactly one of --schedule (a schedule JSON) or --density (a spec like logit-normal:0,1)")
    if args.density is not None:
        return parse_density(args.density, d=args.d)
    if args.d is not None:
        raise ValueError("--d applies to --density (a schedule JSON carries its own dimension)")
    text = _read_text(args.schedule, "--schedule")
    return load_schedule(text, f"--schedule {args.schedule}")


def _sample(args):
    import numpy as np

    from flowphase.theory.conventions import tau_to

    if (args.k is None) == (args.grid is None):
        raise ValueError("give exactly one of --k (random training times) or --grid (sampler grid)")
    for name, v in (("--k", args.k), ("--grid", args.grid)):
        if v is not None and not 1 <= v <= MAX_SAMPLE:
            raise ValueError(f"{name} must lie in [1, {MAX_SAMPLE}], got {v}")
    if not 0 <= args.seed:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.grid is not None and args.seed != 0:
        raise ValueError("--seed applies to --k (the grid is deterministic)")
    den = _density_arg(args)
    if args.k is not None:
        tau = den.sample(args.k, np.random.default_rng(args.seed))
        out = {"tau": tau, "what": "training times tau ~ p(tau)"}
    else:
        tau = den.grid(args.grid)
        out = {"tau": tau, "what": "sampler grid tau_k = F^-1(k/T), k = 0..T-1"}
    out["spec"] = den.spec
    if args.convention != "flowphase":
        out["convention"] = args.convention
        out["values"] = tau_to(args.convention, tau, num_train_timesteps=args.num_train_timesteps)
    print(dump_json(out))
    return 0


# ----------------------------------------------------------------------------- evaluate
def _evaluate(args):
    from flowphase.numerics import atlas as at

    specs = list(args.density)
    ds = []
    for text in args.d:
        ds += float_list(text, "--d", lo=2.0, hi=1e15, max_len=100)
    if not 2 <= args.T <= MAX_T:
        raise ValueError(f"--T must lie in [2, {MAX_T}], got {args.T}")
    if math.isfinite(args.n):
        if args.mixture != "two-mode":
            raise ValueError("--n (finite) applies to --mixture two-mode only (the exact finite-n theory)")
        if args.n < 2:
            raise ValueError(f"--n must be >= 2 for the exact finite-n theory (one point of each class), got {args.n}")
        if args.T > MAX_T_FINITE_N:
            raise ValueError(f"--T must be <= {MAX_T_FINITE_N} with a finite --n (one exact solve per grid time)")
        if args.min_T:
            raise ValueError("--min-T applies to n = inf (the Bayes field)")
    if args.mixture == "two-mode":
        problem = at.TwoMode(p=args.p, sigma=args.sigma)
    else:
        for flag, v, default in (("--p", args.p, 0.8), ("--sigma", args.sigma, 1.0)):
            if v != default:
                raise ValueError(f"{flag} applies to --mixture two-mode (the hierarchy has its own weights)")
        problem = at.KMode()
    # every density at every d is built before any computation: a bad spec is one line, exit 2, nothing run
    for s in specs:
        for d in ds:
            at.check_spec(s, d)
    rows = []
    for s in specs:
        for d in ds:
            den = at.density_at(s, problem, d)
            row = at.evaluate(problem, den, d, T=args.T, n=args.n).to_dict()
            row["spec"] = s
            if args.min_T:
                row["min_T"] = at.smallest_T(problem, lambda dd, s=s: at.density_at(s, problem, dd), d,
                                             tol=args.tol, T_max=args.T_max)
                row["tol"] = args.tol
            if args.windows:
                wins = at.decision_windows(problem, d)
                row["windows"] = [{"start": w["start"], "end": w["end"], "splits": w["splits"]} for w in wins]
                row["window_mass"] = at.window_masses(den, wins)
            rows.append(row)
    meta = {"problem": problem.to_dict(),
            "grid": "tau_k = F^-1(k/T), k = 0..T-1; Euler with the field at the left end; stops at tau_{T-1}"}
    out = dict(rows[0], **meta) if len(rows) == 1 else {"rows": rows, **meta}
    print(dump_json(out))
    return 0


def register(subparsers):
    from flowphase.theory.conventions import TIME_CONVENTIONS
    from flowphase.theory.densities import DENSITY_SPECS

    p = subparsers.add_parser("schedule", help="detect phase transitions, design schedules, sample times, "
                                               "evaluate densities (the atlas)")
    sub = p.add_subparsers(dest="schedule_command", required=True)

    d = sub.add_parser("detect", help="windows of a loss/MSE curve: a CSV of per-time losses or a 'theory mse' curve")
    d.add_argument("--csv", default=None, help="CSV file with a header row; first column is time")
    d.add_argument("--from", dest="from_file", default=None, help="JSON of 'flowphase theory mse --grid T'")
    d.add_argument("--column", default=None, help="CSV value column (default: the second column)")
    d.add_argument("--convention", choices=tuple(TIME_CONVENTIONS), default="flowphase",
                   help="convention of the CSV's time column (converted to tau, 0 noise, 1 data)")
    d.add_argument("--num-train-timesteps", type=int, default=1000, bounds=(1, 10 ** 9),
                   help="N of --convention diffusers-timesteps")
    d.add_argument("--rel-height", type=float, default=0.1, help="window = slope >= rel_height * peak slope")
    d.add_argument("--min-sharpness", type=float, default=3.0, help="peak slope / mean slope threshold")
    d.add_argument("--min-size", type=float, default=0.05, help="minimum jump, fraction of total variation")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=_detect)

    g = sub.add_parser("design", help="a schedule JSON that oversamples the windows")
    g.add_argument("--from", dest="from_file", default=None,
                   help="JSON output of 'schedule detect' or 'theory windows'")
    g.add_argument("--windows", default=None, help="explicit windows 'start:end[:size],...' in tau")
    g.add_argument("--mass", type=float, default=0.5, help="fraction of training times moved into the windows")
    g.add_argument("--base", default=None, help="base density (spec) to make phase-aware, e.g. logit-normal:0,1")
    g.add_argument("--t-max", type=float, default=1.0, help="range of the dilated time t (piecewise schedule)")
    g.add_argument("--accept-unresolved", action="store_true",
                   help="design from windows the detector flagged unresolved (only the grid spacing wide)")
    g.add_argument("--out", default=None, help="also write the schedule JSON to this file (atomically)")
    g.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    g.set_defaults(func=_design)

    s = sub.add_parser("sample", help="training times or the sampler grid of a schedule JSON or a density")
    s.add_argument("--schedule", default=None, help="schedule JSON ('schedule design', 'theory windows')")
    s.add_argument("--density", default=None, help="density spec: " + ", ".join(DENSITY_SPECS))
    s.add_argument("--d", type=float, default=None, bounds=(1.0, 1e15), help="dimension (for dilation:KAPPA)")
    s.add_argument("--k", type=int, default=None, help="number of random training times")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--grid", type=int, default=None, help="number of grid points T of the sampler")
    s.add_argument("--convention", choices=tuple(TIME_CONVENTIONS), default="flowphase",
                   help="also print the times in this convention ('values')")
    s.add_argument("--num-train-timesteps", type=int, default=1000, bounds=(1, 10 ** 9),
                   help="N of --convention diffusers-timesteps")
    s.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    s.set_defaults(func=_sample)

    e = sub.add_parser("evaluate", help="the atlas: generated mode weights of Euler on a density's grid")
    e.add_argument("--density", action="append", required=True,
                   help="density spec (repeatable): " + ", ".join(DENSITY_SPECS) +
                        "; also phase-aware:BASE@auto,MASS and designed:MASS (the problem's decision windows)")
    e.add_argument("--d", action="append", required=True, help="dimension(s), comma-separated or repeated")
    e.add_argument("--T", type=int, default=80, help="grid size T (tau_k = F^-1(k/T), k = 0..T-1)")
    e.add_argument("--n", type=parse_n, default=math.inf, help="training-set size (integer) or inf (Bayes field)")
    e.add_argument("--p", type=float, default=0.8, bounds=(0.0, 1.0, "()"), help="weight of the + mode")
    e.add_argument("--sigma", type=float, default=1.0, bounds=(1e-8, 1e8), help="within-mode standard deviation")
    e.add_argument("--mixture", choices=("two-mode", "hierarchy"), default="two-mode",
                   help="two-mode (p, sigma) or the 4-mode hierarchy of the hierarchy figure")
    e.add_argument("--min-T", action="store_true", help="also the smallest T with max_weight_error <= --tol")
    e.add_argument("--tol", type=float, default=0.01, bounds=(0.0, 1.0, "(]"), help="error threshold of --min-T")
    e.add_argument("--T-max", type=int, default=2 ** 18, bounds=(2, MAX_T), help="largest T --min-T tries")
    e.add_argument("--windows", action="store_true", help="also the decision windows and the mass in each")
    e.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    e.set_defaults(func=_evaluate)
