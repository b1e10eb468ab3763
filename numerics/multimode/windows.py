"""Decision windows, decision times and the designed schedule of a K-mode mixture.

Pipeline (one call: :func:`schedule_from_mixture`):

1. :func:`flowphase.numerics.multimode.mse.mode_curves` gives, on a log grid of the signal-to-noise
   ratio ``s = beta sqrt(d/D)``, the normalised uncertainty ``V_S(s)`` of every split S of the mode tree
   (the split-resolved mode part of the Bayes MSE eps(tau)).
2. The phase-transition detector :func:`flowphase.numerics.detect.detect_windows` runs on each
   ``V_S(ln s)`` with ``rel_height = 0.3`` (the window holds the part of the drop where the slope exceeds 30 %
   of its peak; the default 10 %-width of a sigmoid in ln s spans a factor ~ 100 in s and makes the coarse and
   fine windows of eps = 0.1 siblings overlap); overlapping windows merge, their sizes (number of splits) add.
   On the sum ``W = sum_S V_S`` alone, with its default criteria, the detector finds nothing for the example
   of the figure (each drop is spread over a decade of s, below 3x the mean slope over the 5-decade grid) and
   with looser criteria merges neighbouring windows; hence each split is scanned separately (the plain
   curve's result is kept as ``raw_windows``).
3. The windows are mapped to physical time at dimension d, ``tau = tau_of_snr(s, d)``: a split whose
   children have separation ``1 - G = eps^2`` is decided at ``s ~ 1/eps``, i.e. ``tau ~ 1/(eps sqrt d)``.
4. :func:`design_multiwindow` turns them into a :class:`flowphase.numerics.schedules.PiecewiseSchedule`:
   a fraction ``mass`` of the grid goes into the windows (split in proportion to their size), each window
   cut into ``sub`` geometric pieces of equal mass (a piecewise-constant approximation of a log-uniform
   density, since the structure inside a window is self-similar in ln s).

Decision times of every split: ``bayes`` — the s (and tau) where ``V_S = 1/2``; ``spectral`` — the
generalisation of PREDECESSOR §4's speciation time, ``t_S = 1/2 ln Lambda_S`` with ``Lambda_S`` the largest
eigenvalue of the covariance of the data restricted to the cluster S (``d lambda_max(A_S^T (diag w - w w^T) A_S)
+ sigma^2``, w the cluster's renormalised weights), mapped to the linear interpolant with
:func:`flowphase.numerics.speciation.ou_to_linear`.  For K = 2 balanced antipodal modes it is
:func:`flowphase.numerics.speciation.speciation_time_linear` (tested).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from flowphase.numerics.detect import detect_windows
from flowphase.numerics.multimode.mse import ModeCurves, mode_curves, tau_of_snr
from flowphase.numerics.schedules import PiecewiseSchedule, design_schedule
from flowphase.numerics.speciation import ou_to_linear, speciation_time
from flowphase.theory.mixtures import KMixture

__all__ = ["WindowAnalysis", "analyse_windows", "spectral_speciation", "design_multiwindow",
           "schedule_from_mixture", "snr_grid"]


def snr_grid(mixture: KMixture, n: int = 120, s_min: float = 0.02, factor: float = 40.0) -> np.ndarray:
    """Log grid of s from ``s_min`` to ``factor / sqrt(min split separation)``."""
    dmin = min(mixture.split_separation(sp) for sp in mixture.tree)
    return np.geomspace(s_min, factor / math.sqrt(dmin), int(n))


def spectral_speciation(mixture: KMixture, split, d: float):
    """(Lambda_S, tau_S) of PREDECESSOR §4 generalised to the cluster of a split (module notes)."""
    modes = sorted(k for ch in split for k in ch)
    w = mixture.p[modes] / mixture.p[modes].sum()
    A = mixture.factor[modes]
    B = A.T @ (np.diag(w) - np.outer(w, w)) @ A
    lam = float(np.linalg.eigvalsh(B).max())
    Lam = d * lam + mixture.sigma ** 2
    if Lam <= 1.0:
        return Lam, 1.0
    return Lam, float(ou_to_linear(speciation_time(d, sigma=mixture.sigma, m_tilde=math.sqrt(lam))))


@dataclass
class WindowAnalysis:
    """Result of :func:`analyse_windows` (every number in s and in tau at dimension ``d``)."""

    mixture: KMixture
    d: float
    curves: ModeCurves
    split_windows: List[dict]
    windows: List[dict]
    raw_windows: List[dict]
    decisions: List[dict]
    info: dict = field(default_factory=dict)

    def design(self, mass: float = 0.6, t_max: float = 1.0, sub: int = 4) -> PiecewiseSchedule:
        return design_multiwindow(self.windows, mass=mass, t_max=t_max, sub=sub)

    def to_dict(self) -> dict:
        return {"mixture": self.mixture.to_dict(), "d": self.d, "windows": self.windows,
                "split_windows": self.split_windows, "raw_windows": self.raw_windows, "decisions": self.decisions,
                **self.info}


def _name(mixture, split):
    if mixture.names is None:
        return " | ".join(",".join(str(k) for k in ch) for ch in split)
    return " | ".join(",".join(mixture.names[k] for k in ch) for ch in split)


def analyse_windows(mixture: KMixture, d: Optional[float] = None, snr=None, tau_cap: float = 0.999,
                    rel_height: float = 0.3, **curve_kw) -> WindowAnalysis:
    """Windows and decision times of every split of ``mixture`` at dimension ``d`` (module notes)."""
    if not isinstance(mixture, KMixture):
        raise ValueError("mixture must be a KMixture")
    d = mixture.d if d is None else float(d)
    if not (math.isfinite(d) and d >= 1):
        raise ValueError(f"d must be a finite number >= 1, got {d!r}")
    s = snr_grid(mixture) if snr is None else np.asarray(snr, dtype=float)
    curve_kw.setdefault("m", 11)
    cur = mode_curves(mixture, s, **curve_kw)
    ls = np.log(s)
    split_w, decisions = [], []
    for i, sp in enumerate(mixture.tree):
        v = cur.V[i]
        found = detect_windows(ls, v, rel_height=rel_height)
        if not found:
            raise ValueError(f"the detector found no window for split {_name(mixture, sp)} on the s grid "
                             f"[{s[0]:.3g}, {s[-1]:.3g}]; widen the grid")
        wmax = max(found, key=lambda w: w.size)
        s_half = float(np.exp(np.interp(0.5, v[::-1], ls[::-1])))
        Lam, tau_spec = spectral_speciation(mixture, sp, d)
        split_w.append({"split": _name(mixture, sp), "s_start": float(np.exp(wmax.start)),
                        "s_end": float(np.exp(wmax.end)), "size": float(wmax.size)})
        decisions.append({"split": _name(mixture, sp), "children_weights": mixture.split_weights(sp).tolist(),
                          "separation": mixture.split_separation(sp), "s_half": s_half,
                          "tau_bayes": float(tau_of_snr(s_half, d, mixture.sigma)),
                          "Lambda": Lam, "tau_spectral": tau_spec})
    # merge overlapping split windows (in s)
    order = sorted(range(len(split_w)), key=lambda i: split_w[i]["s_start"])
    merged = []
    for i in order:
        w = split_w[i]
        if merged and w["s_start"] <= merged[-1]["s_end"]:
            m = merged[-1]
            m["s_end"] = max(m["s_end"], w["s_end"])
            m["size"] += w["size"]
            m["splits"].append(w["split"])
        else:
            merged.append({"s_start": w["s_start"], "s_end": w["s_end"], "size": w["size"], "splits": [w["split"]]})
    windows = []
    for m in merged:
        tau_lo = float(min(tau_of_snr(m["s_start"], d, mixture.sigma), tau_cap))
        tau_hi = float(min(tau_of_snr(m["s_end"], d, mixture.sigma), tau_cap))
        if windows and tau_lo <= windows[-1]["end"]:          # merged after the map (tau saturates at small d)
            windows[-1]["end"] = max(windows[-1]["end"], tau_hi)
            windows[-1]["size"] += m["size"]
            windows[-1]["splits"] += m["splits"]
            continue
        if tau_hi > tau_lo:
            windows.append({"start": tau_lo, "end": tau_hi, "size": m["size"], "splits": list(m["splits"]),
                            "s_start": m["s_start"], "s_end": m["s_end"]})
    raw = [{"s_start": float(np.exp(w.start)), "s_end": float(np.exp(w.end)), "size": w.size}
           for w in detect_windows(ls, cur.W)]
    return WindowAnalysis(mixture=mixture, d=d, curves=cur, split_windows=split_w, windows=windows,
                          raw_windows=raw, decisions=decisions,
                          info={"curve_stderr_max": float(cur.V_se.max()), "n_points": cur.n_points,
                                "method": cur.method})


def design_multiwindow(windows, mass: float = 0.6, t_max: float = 1.0, sub: int = 4) -> PiecewiseSchedule:
    """Multi-window schedule (module notes): ``windows`` are dicts ``{"start", "end"[, "size"]}`` in tau."""
    sub = int(sub)
    if sub < 1:
        raise ValueError(f"sub must be >= 1, got {sub}")
    pieces = []
    for w in windows:
        a, b, size = float(w["start"]), float(w["end"]), float(w.get("size", 1.0))
        if not 0.0 <= a < b <= 1.0:
            raise ValueError(f"window must satisfy 0 <= start < end <= 1, got [{a}, {b}]")
        lo = max(a, b * 1e-3)
        edges = np.geomspace(lo, b, sub + 1)
        edges[0] = a
        for x0, x1 in zip(edges[:-1], edges[1:]):
            pieces.append({"start": float(x0), "end": float(x1), "size": size / sub})
    if not pieces:
        raise ValueError("windows must not be empty")
    return design_schedule(pieces, mass=mass, t_max=t_max)


def schedule_from_mixture(mixture: KMixture, d: Optional[float] = None, mass: float = 0.6, t_max: float = 1.0,
                          sub: int = 4, **kw):
    """One call from a mixture to a schedule: ``(PiecewiseSchedule, WindowAnalysis)``."""
    an = analyse_windows(mixture, d, **kw)
    return an.design(mass=mass, t_max=t_max, sub=sub), an
