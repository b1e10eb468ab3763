"""``flowphase schedule ...``: from a loss curve to a schedule to a sampler's times (PAPER §4, §6).

Sub-commands (time convention: tau in [0, 1], 0 noise, 1 data, unless the user's CSV says otherwise —
the detector works in the units of the CSV's first column):

* ``detect --csv FILE [--column mse] [--rel-height 0.1] [--min-sharpness 3] [--min-size 0.05] --json``
  -> ``{"windows": [{"start", "end", "size"}, ...], "column", "criterion"}`` (the CSV has a header row;
  the first column is time);
* ``design (--from DETECT.json | --windows "a:b[:size],...") [--mass 0.5] [--t-max 1] [--out FILE] --json``
  -> a schedule JSON (:class:`flowphase.numerics.schedules.PiecewiseSchedule`);
* ``sample --schedule SCHEDULE.json (--k K [--seed S] | --grid T) --json``
  -> ``{"tau": [...]}``: K training times drawn from the density, or the T-point sampler grid.
"""
from __future__ import annotations

from pathlib import Path

from . import check_input_file, check_output_file, dump_json


def _detect(args):
    from flowphase.numerics.detect import detect_windows, read_curve_csv

    check_input_file(args.csv, "--csv")
    t, y, col = read_curve_csv(args.csv, args.column)
    wins = detect_windows(t, y, rel_height=args.rel_height, min_sharpness=args.min_sharpness,
                          min_size=args.min_size)
    out = {"windows": [{"start": w.start, "end": w.end, "size": w.size} for w in wins],
           "details": [w.to_dict() for w in wins], "column": col,
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


def _design(args):
    from flowphase.numerics.schedules import design_schedule, load_json_object

    if (args.from_file is None) == (args.windows is None):
        raise ValueError("give exactly one of --from (a detect JSON) or --windows")
    if args.out is not None:
        check_output_file(args.out, "--out")     # before any work
    if args.from_file is not None:
        obj = load_json_object(_read_text(args.from_file, "--from"), f"--from {args.from_file}")
        windows = obj.get("windows")
        if not isinstance(windows, list) or not windows:
            raise ValueError(f"{args.from_file}: no 'windows' list to design from")
    else:
        windows = _parse_windows(args.windows)
    try:
        sched = design_schedule(windows, mass=args.mass, t_max=args.t_max)
    except ValueError as exc:
        if args.from_file is None:
            raise
        raise ValueError(f"{args.from_file}: {exc}") from None
    out = sched.to_dict()
    out["window_mass"] = sched.window_mass()
    text = dump_json(out)
    if args.out:
        from flowphase.validation._io import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    print(text)
    return 0


def _sample(args):
    import numpy as np

    from flowphase.numerics.schedules import PiecewiseSchedule

    if (args.k is None) == (args.grid is None):
        raise ValueError("give exactly one of --k (random training times) or --grid (sampler grid)")
    for name, v in (("--k", args.k), ("--grid", args.grid)):
        if v is not None and not 1 <= v <= MAX_SAMPLE:
            raise ValueError(f"{name} must lie in [1, {MAX_SAMPLE}], got {v}")
    if not 0 <= args.seed:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    text = _read_text(args.schedule, "--schedule")
    try:
        sched = PiecewiseSchedule.from_json(text)
    except ValueError as exc:
        raise ValueError(f"{args.schedule}: {exc}") from None
    if args.k is not None:
        tau = sched.sample(args.k, np.random.default_rng(args.seed))
        out = {"tau": tau, "kind": "training times tau ~ p(tau)"}
    else:
        out = {"t": sched.grid(args.grid), "tau": sched.tau_grid(args.grid),
               "kind": "sampler grid tau(t_k), t_k = t_max k / T"}
    print(dump_json(out))
    return 0


#: most times ``schedule sample`` prints (its JSON grows by ~20 bytes per time)
MAX_SAMPLE = 10 ** 7


def _read_text(path, what: str) -> str:
    """The text of an input file: a folder, a missing/unreadable or non-UTF-8 file -> one-line ValueError."""
    check_input_file(path, what)
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what} {path}: not a UTF-8 text file") from None


def register(subparsers):
    p = subparsers.add_parser("schedule", help="detect phase transitions, design schedules, sample times")
    sub = p.add_subparsers(dest="schedule_command", required=True)

    d = sub.add_parser("detect", help="windows of a loss/MSE curve from a CSV (header row, first column = time)")
    d.add_argument("--csv", required=True, help="CSV file with a header row; first column is time")
    d.add_argument("--column", default=None, help="value column (default: the second column)")
    d.add_argument("--rel-height", type=float, default=0.1, help="window = slope >= rel_height * peak slope")
    d.add_argument("--min-sharpness", type=float, default=3.0, help="peak slope / mean slope threshold")
    d.add_argument("--min-size", type=float, default=0.05, help="minimum jump, fraction of total variation")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=_detect)

    g = sub.add_parser("design", help="a schedule JSON that oversamples the windows")
    g.add_argument("--from", dest="from_file", default=None, help="JSON output of 'schedule detect'")
    g.add_argument("--windows", default=None, help="explicit windows 'start:end[:size],...' in tau")
    g.add_argument("--mass", type=float, default=0.5, help="fraction of training times in the windows")
    g.add_argument("--t-max", type=float, default=1.0, help="range of the dilated time t")
    g.add_argument("--out", default=None, help="also write the schedule JSON to this file (atomically)")
    g.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    g.set_defaults(func=_design)

    s = sub.add_parser("sample", help="training times or the sampler grid of a schedule JSON")
    s.add_argument("--schedule", required=True, help="schedule JSON from 'schedule design'")
    s.add_argument("--k", type=int, default=None, help="number of random training times")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--grid", type=int, default=None, help="number of grid points T of the sampler")
    s.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    s.set_defaults(func=_sample)
