"""Training-time densities as schedule objects, in flowphase's time tau (0 pure noise, 1 data).

One protocol (:class:`Density`) for every density practitioners use to draw training times, plus the paper's
dilation and the window schedules of the MSE-jump detector, so that the theory can rank them
(``flowphase.numerics.atlas``) and a training loop can sample from them
(``flowphase.validation.pytorch.samplers``):

* ``pdf(tau)``, ``cdf(tau)``, ``quantile(u)`` -- vectorised (arrays in, arrays out; a scalar gives a float);
* ``sample(k, rng)`` -- ``k`` i.i.d. draws (exact, or by inversion);
* ``grid(T)`` -- the density's sampling grid ``tau_k = F^{-1}(k/T)``, ``k = 0..T-1`` (``tau_0 = 0`` is pure
  noise; with ``F^{-1}(u) = inf{tau : F(tau) >= u}`` this holds for every density);
* ``mass(a, b) = F(b) - F(a)``; ``to_dict()`` / :func:`density_from_dict` (round trip); ``spec`` (the CLI string,
  :func:`parse_density`).

Conventions of the families (docs/schedules.md): SD3 (Esser et al. 2024) writes ``z_t = (1 - t) x0 + t eps`` with
``t = 1 - tau``; its logit-normal ``logit(t) ~ N(m, s^2)`` is ``logit(tau) ~ N(-m, s^2)`` here, and its mode and
cosmap densities are symmetric under ``t -> 1 - t``.  EDM's ``ln sigma ~ N(P_mean, P_std^2)`` with
``sigma = (1 - tau)/tau`` (the linear interpolant divided by tau) is exactly the logit-normal with
``m = P_mean, s = P_std``.  SD3's resolution shift ``t' = S t / (1 + (S - 1) t)`` is, in tau,
``tau' = tau / (S - (S - 1) tau)`` (S > 1 moves mass towards noise).  The paper's dilation (PAPER §1.3) puts
half of the grid uniformly on ``[0, kappa/sqrt(d)]`` and half uniformly on the rest.

Pure numpy/scipy (theory layer: no numba, no torch).  The protocol and the closed-form families live in
:mod:`flowphase.theory.density_base`, the piecewise-uniform densities and mixtures in
:mod:`flowphase.theory.density_windows`; this module re-exports them and holds the dict and string forms.
"""
from __future__ import annotations

import re
from typing import Tuple

from flowphase.theory.density_base import (DENSITY_SPECS, MODE_SCALE_MAX, Beta, CosMap, Density, EDMLogNormal,
                                           LogitNormal, ModeSampling, ResolutionShift, Uniform)
from flowphase.theory.density_windows import (Dilation, MixtureDensity, PhaseAware, Windows, _window_list,
                                              phase_aware)

__all__ = ["Density", "Uniform", "LogitNormal", "EDMLogNormal", "ModeSampling", "CosMap", "Beta", "ResolutionShift",
           "Windows", "Dilation", "MixtureDensity", "PhaseAware", "phase_aware", "density_from_dict",
           "parse_density", "MODE_SCALE_MAX", "DENSITY_SPECS"]

# ----------------------------------------------------------------------------- dict and string forms
#: the keys each kind's JSON may hold (besides ``kind`` and the informational ``_INFO_KEYS``)
_KEYS = {"uniform": set(), "logit-normal": {"m", "s"}, "logitnormal": {"m", "s"}, "edm": {"p_mean", "p_std"},
         "lognormal": {"p_mean", "p_std"}, "mode": {"scale"}, "cosmap": set(), "beta": {"a", "b"},
         "shift": {"shift", "base"}, "dilation": {"kappa", "d"}, "windows": {"windows"}, "piecewise": {"windows", "t_max"},
         "mix": {"components", "weights"}, "phase-aware": {"base", "mass", "windows"}}
_INFO_KEYS = {"kind", "spec", "convention", "window_mass", "name"}


def density_from_dict(d: dict, *, dim=None, strict: bool = True) -> Density:
    """Rebuild a density from :meth:`Density.to_dict` (also the older schedule JSONs: ``piecewise`` window
    schedules with relative weights, ``lognormal``, ``logitnormal``); anything else -> ``ValueError``.

    ``dim`` is the dimension of a ``dilation`` stored without its ``d``; ``strict`` refuses unknown keys (typos).
    """
    if not isinstance(d, dict):
        raise ValueError(f"a density must be a JSON object, got {type(d).__name__}")
    kind = d.get("kind")
    if strict and isinstance(kind, str) and kind in _KEYS:
        unknown = sorted(set(d) - _KEYS[kind] - _INFO_KEYS)
        if unknown:
            raise ValueError(f"density JSON of kind {kind!r} has unknown key(s) {', '.join(map(repr, unknown))} "
                             f"(allowed: {', '.join(sorted(_KEYS[kind] | {'kind', 'spec'}))})")
    try:
        if kind == "uniform":
            return Uniform()
        if kind in ("logit-normal", "logitnormal"):
            return LogitNormal(d.get("m", 0.0), d.get("s", 1.0))
        if kind in ("edm", "lognormal"):
            return EDMLogNormal(d.get("p_mean", -1.2), d.get("p_std", 1.2))
        if kind == "mode":
            return ModeSampling(d["scale"])
        if kind == "cosmap":
            return CosMap()
        if kind == "beta":
            return Beta(d["a"], d["b"])
        if kind == "shift":
            return ResolutionShift(d["shift"], density_from_dict(d.get("base", {"kind": "uniform"}), dim=dim,
                                                                 strict=strict))
        if kind == "dilation":
            return Dilation(d.get("kappa", 2.0), d.get("d", dim))
        if kind == "windows":
            ws = _window_dicts(d["windows"], strict)
            return Windows(ws, [w["mass"] for w in ws])
        if kind == "piecewise":  # numerics.schedules.PiecewiseSchedule: relative weights on a uniform background
            ws = d["windows"]
            pairs = _window_list(ws)
            rel = [float(w.get("weight", 1.0)) if isinstance(w, dict) else float(w[2]) if len(w) > 2 else 1.0
                   for w in ws]
            cover = sum(b - a for a, b in pairs)
            total = sum(r * (b - a) for r, (a, b) in zip(rel, pairs)) + (1.0 - cover)
            return Windows(pairs, [r * (b - a) / total for r, (a, b) in zip(rel, pairs)])
        if kind == "mix":
            return MixtureDensity([density_from_dict(c, dim=dim, strict=strict) for c in d["components"]], d["weights"])
        if kind == "phase-aware":
            ws = _window_dicts(d["windows"], strict, need_mass=False)
            return PhaseAware(density_from_dict(d["base"], dim=dim, strict=strict), ws, d["mass"],
                              shares=[w["mass"] for w in ws] if all("mass" in w for w in ws) else None)
    except (KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"density JSON of kind {kind!r} is missing or has a bad field: {exc}") from None
    raise ValueError(f"not a density/schedule JSON: kind={str(kind)[:40]!r} (expected one of {', '.join(_KEYS)})")


def _window_dicts(ws, strict: bool, need_mass: bool = True):
    if not isinstance(ws, list) or not all(isinstance(w, dict) for w in ws):
        raise ValueError("'windows' must be a list of {start, end, mass} objects")
    for i, w in enumerate(ws):
        unknown = set(w) - {"start", "end", "mass"}
        if strict and unknown:
            raise ValueError(f"window {i} has unknown key(s) {', '.join(map(repr, sorted(unknown)))} "
                             f"(allowed: start, end, mass)")
        if need_mass and "mass" not in w:
            raise ValueError(f"window {i} needs a 'mass'")
    return ws


_MIX_SPLIT = re.compile(r"\+(?=\s*(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*\*)")


def _nums(name: str, text: str, count: Tuple[int, int]):
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if not count[0] <= len(parts) <= count[1]:
        want = str(count[0]) if count[0] == count[1] else f"{count[0]} to {count[1]}"
        raise ValueError(f"density {name!r} takes {want} comma-separated number(s), got {text!r}")
    out = []
    for p in parts:
        try:
            out.append(float(p))
        except ValueError:
            raise ValueError(f"density {name!r}: {p!r} is not a number") from None
    return out


def _range(text: str) -> Tuple[float, float]:
    """'A-B' (tau, so A, B >= 0; a scientific exponent like 1e-3 is allowed): the split where both sides parse."""
    found = []
    for i, ch in enumerate(text):
        if ch == "-" and 0 < i < len(text) - 1:
            try:
                found.append((float(text[:i]), float(text[i + 1:])))
            except ValueError:
                pass
    if len(found) != 1:
        raise ValueError(f"window must be written A-B with 0 <= A < B <= 1, got {text!r}")
    return found[0]


def parse_density(spec: str, *, d=None) -> Density:
    """The density of a CLI string (``DENSITY_SPECS``; docs/schedules.md).

    ``uniform``, ``logit-normal:M,S``, ``mode:S``, ``cosmap``, ``edm:PMEAN,PSTD``, ``beta:A,B``, ``shift:S[,BASE]``,
    ``dilation:KAPPA`` (needs ``d``), ``windows:A-B=MASS[;C-D=MASS]`` (rest uniform),
    ``phase-aware:BASE@A-B[;C-D],MASS`` and ``mix:W1*SPEC1+W2*SPEC2``.  Bad input: ``ValueError`` naming the
    parameter and its range.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"density must be a non-empty string like 'logit-normal:0,1', got {spec!r}")
    spec = spec.strip()
    name, _, arg = spec.partition(":")
    name = name.strip().lower()
    if name == "uniform":
        _nums(name, arg, (0, 0))
        return Uniform()
    if name == "cosmap":
        _nums(name, arg, (0, 0))
        return CosMap()
    if name in ("logit-normal", "logitnormal"):
        m, s = [0.0, 1.0] if not arg else _nums(name, arg, (2, 2))
        return LogitNormal(m, s)
    if name == "edm":
        pm, ps = [-1.2, 1.2] if not arg else _nums(name, arg, (2, 2))
        return EDMLogNormal(pm, ps)
    if name == "mode":
        return ModeSampling(*_nums(name, arg, (1, 1)))
    if name == "beta":
        return Beta(*_nums(name, arg, (2, 2)))
    if name == "shift":
        s_text, _, base = arg.partition(",")
        (s,) = _nums(name, s_text, (1, 1))
        return ResolutionShift(s, parse_density(base, d=d) if base.strip() else Uniform())
    if name == "dilation":
        (kappa,) = [2.0] if not arg else _nums(name, arg, (1, 1))
        if d is None:
            raise ValueError("density 'dilation' needs the dimension d (CLI: --d)")
        return Dilation(kappa, d)
    if name == "windows":
        ws, ms = [], []
        for part in arg.split(";"):
            rng_text, eq, m = part.partition("=")
            if not eq:
                raise ValueError(f"windows must be written A-B=MASS[;C-D=MASS], got {part!r}")
            ws.append(_range(rng_text.strip()))
            ms.append(_nums("windows mass", m, (1, 1))[0])
        return Windows(ws, ms)
    if name == "phase-aware":
        base, at, rest = arg.rpartition("@")
        win_text, comma, mass_text = rest.rpartition(",")
        if not at or not comma or not base.strip():
            raise ValueError(f"phase-aware must be written phase-aware:BASE@A-B[;C-D],MASS, got {spec!r}")
        (mass,) = _nums("phase-aware mass", mass_text, (1, 1))
        ws, shares = [], []
        for part in win_text.split(";"):
            rng_text, eq, sh = part.partition("=")
            ws.append(_range(rng_text.strip()))
            shares.append(_nums("phase-aware share", sh, (1, 1))[0] if eq else None)
        if any(s is None for s in shares) and not all(s is None for s in shares):
            raise ValueError("phase-aware window shares: give '=SHARE' for every window or for none")
        return PhaseAware(parse_density(base, d=d), ws, mass, shares=None if shares[0] is None else shares)
    if name in ("mix", "mixture"):
        comps, weights = [], []
        for part in _MIX_SPLIT.split(arg):
            w_text, star, sub = part.partition("*")
            if not star:
                raise ValueError(f"mix must be written mix:W1*SPEC1+W2*SPEC2, got {part!r}")
            weights.append(_nums("mix weight", w_text, (1, 1))[0])
            comps.append(parse_density(sub, d=d))
        return MixtureDensity(comps, weights)
    raise ValueError(f"unknown density {name!r}; expected one of: {', '.join(DENSITY_SPECS)}")
