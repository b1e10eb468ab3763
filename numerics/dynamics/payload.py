"""The JSON payload of ``flowphase theory dynamics``: overlaps along the learning dynamics, as a library function.

:func:`dynamics_payload` integrates the overlap gradient flow of :mod:`flowphase.numerics.dynamics` from one of
the simulator's initialisations for a number of epochs of a training convention (balanced, theory, authors,
mean: :func:`flowphase.theory.dynamics.ode_time_per_step`; or the noise-dominated Adam clock of
:func:`flowphase.numerics.dynamics.adam_epochs`) and returns every column with the problem record.  Used by
:meth:`flowphase.numerics.theories.PaperAnsatz.dynamics_payload` (which ``flowphase theory dynamics`` prints) and by
:mod:`flowphase.validation.authors_paper`.
"""
from __future__ import annotations

import math

import numpy as np

from flowphase.numerics.dynamics import (ADAM_S_MAX, MAX_EPOCHS, MAX_STIFF_TIME, STATE_NAMES, adam_epochs,
                                         initial_overlaps, integrate_overlaps)
from flowphase.numerics.results import ConvergenceError
from flowphase.theory.checks import as_int, as_real
from flowphase.theory.dynamics import ode_time_per_step
from flowphase.theory.records import problem_from_keys

__all__ = ["dynamics_payload", "CONVENTIONS"]

#: the epoch -> ODE-time conventions of :func:`dynamics_payload`
CONVENTIONS = ("balanced", "theory", "authors", "mean", "adam")


def _real_arg(name, v) -> float:
    return as_real(name, v)                 # a finite real (theory/checks.py)


def _int_arg(name, v, lo, hi) -> int:
    return as_int(name, v, lo, hi)


def dynamics_payload(args: dict, *, problem=None) -> dict:
    """Payload of ``flowphase theory dynamics --t T --epochs E [--init] [problem flags] --json``.

    A library function; the CLI prints it.

    ``problem``: a dilated :class:`~flowphase.theory.problem.Problem` (default: built from the problem keys of
    ``args`` by :func:`~flowphase.theory.records.problem_from_keys`).  Keys of ``args``: ``t`` (required), ``epochs`` (required), ``init`` (small|random|informed,
    default small), ``lr`` (default 0.01), ``convention`` (``balanced`` default, or ``theory``,
    ``authors``, ``mean``: :func:`~flowphase.theory.dynamics.ode_time_per_step`; or ``adam``: the
    noise-dominated Adam clock of :func:`~flowphase.numerics.dynamics.adam_epochs` with ``draws`` noises per point, d = inf ODE,
    finite n and d required), ``n_times``
    (T of the authors' convention, default 80), ``points`` (records, default 201), ``seed``,
    ``scale`` (small init), and the problem keys ``p, sigma, kappa, d, n, lam_u, lam_w``.

    Returns ``{"epochs", "c", "m", "omega", "b", "r", "q", "a", "v", "s", "problem", ...}`` with the
    overlaps along the gradient flow started from the chosen initialisation, sign-canonicalised so that
    the final omega is >= 0 (``(u, w, b) -> -(u, w, b)`` is a symmetry).
    """
    if args.get("t") is None or args.get("epochs") is None:
        raise ValueError("t and epochs are required")

    def opt(key, default):          # honour 0 and other falsy values: only None means "not given"
        v = args.get(key)
        return default if v is None else v

    t = _real_arg("t", args["t"])
    epochs = _real_arg("epochs", args["epochs"])
    if not 0 < epochs <= MAX_EPOCHS:
        raise ValueError(f"epochs must lie in (0, {MAX_EPOCHS:.0e}], got {args['epochs']!r}")
    problem = problem_from_keys(args) if problem is None else problem
    conv = opt("convention", "balanced")
    lr = _real_arg("lr", opt("lr", 0.01))
    if not 0 < lr <= 1e6:
        raise ValueError(f"lr must lie in (0, 1e6], got {lr!r}")
    n_times = _int_arg("n_times", opt("n_times", 80), 1, 10 ** 6)
    if conv not in CONVENTIONS:
        raise ValueError(f"convention must be balanced, theory, authors, mean or adam, got {conv!r}")
    if conv != "balanced" and not math.isfinite(problem.d):
        raise ValueError(f"convention {conv!r} needs a finite d (pass --d)")
    points = _int_arg("points", opt("points", 201), 2, 100_000)
    if args.get("draws") is not None and conv != "adam":
        raise ValueError(f"draws applies only to the adam convention, got convention {conv!r}")
    draws = _int_arg("draws", opt("draws", 1), 1, 10 ** 6)
    init = opt("init", "small")
    scale = _real_arg("scale", opt("scale", 0.1))
    if not 0 <= scale <= 1e3:
        raise ValueError(f"scale must lie in [0, 1e3], got {scale!r}")
    y0 = initial_overlaps(init, problem, t, seed=_int_arg("seed", opt("seed", 0), 0, 2 ** 63 - 1), scale=scale)
    ep = np.linspace(0.0, epochs, points)
    if conv == "adam":
        # noise-dominated Adam on the encoder's clock (adam_epochs); rows = n x draws fresh-noise rows
        if not math.isfinite(problem.n):
            raise ValueError("convention 'adam' needs a finite n (pass --n)")
        rows = int(problem.n) * draws
        s_end = 1.0
        while True:
            s_grid = np.concatenate([[0.0], np.geomspace(1e-4 * s_end, s_end, 400)])
            tr = integrate_overlaps(problem, t, y0, s_grid, rho=1.0, d=math.inf)
            ep_s = adam_epochs(problem, t, tr, lr, rows)
            if ep_s[-1] >= epochs or s_end * 8.0 > ADAM_S_MAX:
                # bounded work: beyond ADAM_S_MAX the clock has stalled (vanishing gradient)
                break
            s_end *= 8.0
        cols = {name: np.interp(ep, ep_s, tr.value[:, i]) for i, name in enumerate(STATE_NAMES)}
        cols["s"] = np.interp(ep, ep_s, s_grid)
        ds = float("nan")
        nfev = tr.info["nfev"]
        adam_clock = float(ep_s[-1])
        if not adam_clock >= epochs:
            raise ConvergenceError(f"the Adam clock stalls at {adam_clock:.3g} epochs by ODE time {s_end:g} (the "
                                   f"gradient vanishes), short of epochs={epochs:g}: the adam convention cannot "
                                   "describe this run (try convention 'mean' or 'theory')")
    else:
        ds = ode_time_per_step(lr, problem.n if conv in ("theory", "authors") else 1.0,
                               problem.d if math.isfinite(problem.d) else 1.0, conv, n_times)
        rho = 1.0 if conv == "balanced" else float(problem.d)
        stiff = float(ep[-1]) * ds * max(rho, 1.0)   # the adaptive integrator takes ~5 steps per unit of it
        if not stiff <= MAX_STIFF_TIME:
            raise ValueError(f"epochs={epochs:g} with convention {conv!r} is {stiff:.3g} units of stiff ODE time, "
                             f"over the budget {MAX_STIFF_TIME:.0e} (~1 minute); use at most "
                             f"{MAX_STIFF_TIME / (ds * max(rho, 1.0)):.3g} epochs")
        tr = integrate_overlaps(problem, t, y0, ep * ds, rho=rho)
        cols = tr.as_dict()
        nfev = tr.info["nfev"]
    if cols["omega"][-1] < 0:          # canonical sign omega >= 0 at the end (PAPER §2.2, §7.12)
        for name in ("m", "a", "omega", "b"):
            cols[name] = -np.asarray(cols[name])
    out = {"epochs": ep.tolist()}
    for name, col in cols.items():
        out[name] = np.asarray(col).tolist()
    out.update({"t": t, "init": init, "lr": lr, "convention": conv,
                "ode_time_per_epoch": None if conv == "adam" else ds,
                "problem": problem.to_dict(), "nfev": nfev})
    return out
