"""Phase-transition detector: locate jumps and steep regions of a loss/MSE curve on a grid (PAPER §4).

A feature is decided where the denoising MSE (or a trained per-time loss, or a U-Turn curve) drops
abruptly (PAPER §4, §6.1); the schedule should oversample that window
(:func:`flowphase.numerics.schedules.design_schedule`).

Criterion (documented, with its resolution)
-------------------------------------------
Given a grid ``t_0 < ... < t_{N-1}`` (any spacing) and values ``y_i``:

1. interval slopes ``g_i = |y_{i+1} - y_i| / (t_{i+1} - t_i)`` and the mean absolute slope
   ``gbar = TV / (t_{N-1} - t_0)`` with ``TV = sum |y_{i+1} - y_i|``;
2. every local maximum of ``g`` with ``g_peak >= min_sharpness * gbar`` (default 3: at least three
   times steeper than the curve on average) seeds a window;
3. the window is the maximal run of intervals around the peak with ``g_i >= rel_height * g_peak``
   (default 0.1, the "10 %-width" of the slope peak); overlapping windows merge;
4. its ``size`` is ``|y(end) - y(start)|``; windows with ``size < min_size * TV`` are dropped
   (default 0.05).

For a logistic/tanh step ``H/2 tanh((t - t_c)/w)`` the 10 %-window is ``t_c ± 1.818 w`` and holds
``tanh(1.818) = 94.9 %`` of ``H``; with ``rel_height = 0.5`` (FWHM of the slope) it is ``t_c ± 0.881 w``
holding 70.7 %.  The window edges are grid points, so start and end are resolved to the local grid
spacing; a window covering fewer than ``min_points`` intervals is flagged ``resolved = False``
(refine the grid there).  The window width of a self-similar jump ``y = F((t - t_c)/w)`` scales as
``w``: for the GMM the jump of the undilated Bayes MSE at tau = 0 has width ``∝ 1/sqrt(d)``
(PAPER §1.4).

The module also gives the finite-d Bayes MSE of the two-mode GMM (:func:`gmm_bayes_mse`), the curve
the detector is checked on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from flowphase.numerics.mse import bayes_mse
from flowphase.theory.problem import Problem

__all__ = ["DetectedWindow", "detect_windows", "gmm_bayes_mse", "read_curve_csv"]


@dataclass(frozen=True)
class DetectedWindow:
    """A steep region ``[start, end]`` of the curve.

    Attributes
    ----------
    start, end : float
        Grid points bounding the region (same units as the grid).
    size : float
        ``|y(end) - y(start)|``: the height of the jump captured by the window.
    peak : float
        Midpoint of the steepest interval.
    sharpness : float
        Peak slope / mean absolute slope of the whole curve.
    resolution : float
        Largest grid spacing inside the window.
    resolved : bool
        ``True`` when the window spans at least ``min_points`` grid intervals.
    """

    start: float
    end: float
    size: float
    peak: float
    sharpness: float
    resolution: float
    resolved: bool

    @property
    def width(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "size": self.size, "peak": self.peak,
                "sharpness": self.sharpness, "resolution": self.resolution, "resolved": self.resolved}


#: largest |t| and |y| the detector accepts: differences and slopes stay finite
MAX_ABS = 1e150


def _check_curve(t, y, name_t="t", name_y="y"):
    t, y = np.asarray(t), np.asarray(y)
    if t.dtype.kind not in "iuf" or y.dtype.kind not in "iuf":
        raise ValueError(f"{name_t} and {name_y} must be real numeric arrays")
    t = t.astype(float)
    y = y.astype(float)
    if t.ndim != 1 or y.ndim != 1:
        raise ValueError(f"{name_t} and {name_y} must be 1-D arrays")
    if t.size != y.size:
        raise ValueError(f"{name_t} and {name_y} must have the same length, got {t.size} and {y.size}")
    if t.size < 3:
        raise ValueError(f"the curve needs at least 3 grid points, got {t.size}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{name_t} (the time grid) contains NaN or inf")
    if not np.all(np.isfinite(y)):
        bad = int(np.flatnonzero(~np.isfinite(y))[0])
        raise ValueError(f"{name_y} contains NaN or inf (first at row {bad}, {name_t}={t[bad]!r})")
    if not np.all(np.diff(t) > 0):
        bad = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise ValueError(f"the time grid {name_t} must be strictly increasing "
                         f"(row {bad + 1}: {t[bad + 1]!r} after {t[bad]!r})")
    if np.max(np.abs(t)) > MAX_ABS or np.max(np.abs(y)) > MAX_ABS:
        raise ValueError(f"{name_t} and {name_y} must lie within +-{MAX_ABS:g} (rescale the curve)")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        g = np.abs(np.diff(y)) / np.diff(t)
    if not np.all(np.isfinite(g)):
        raise ValueError(f"the slopes of the curve overflow (grid spacing of {name_t} too small for the values)")
    return t, y


def detect_windows(t, y, *, rel_height: float = 0.1, min_sharpness: float = 3.0, min_size: float = 0.05,
                   min_points: int = 3) -> List[DetectedWindow]:
    """Locate jumps and steep regions of a curve ``y(t)`` (PAPER §4 "MSE discontinuity").

    Parameters
    ----------
    t : array (N,), strictly increasing
    y : array (N,), finite
    rel_height : float in (0, 1)
        A window extends while the slope stays above ``rel_height`` times its peak slope.
    min_sharpness : float >= 1
        Peak slope must exceed ``min_sharpness`` times the curve's mean absolute slope.
    min_size : float in [0, 1)
        Minimum jump height as a fraction of the total variation.
    min_points : int >= 1
        Windows spanning fewer grid intervals are flagged ``resolved=False``.

    Returns
    -------
    list of :class:`DetectedWindow`, sorted by ``start``.  Empty when the curve has no steep region
    (for example a straight line).

    Notes
    -----
    The criterion and its resolution are described in the module docstring.
    """
    t, y = _check_curve(t, y)
    from flowphase.theory.checks import as_int, as_real

    rel_height = as_real("rel_height", rel_height, 0.0, hi=1.0, lo_open=True)
    if rel_height == 1.0:
        raise ValueError(f"rel_height must lie in (0, 1), got {rel_height!r}")
    min_sharpness = as_real("min_sharpness", min_sharpness, 1.0, hi=1e300)
    min_size = as_real("min_size", min_size, 0.0, hi=1.0)
    if min_size == 1.0:
        raise ValueError(f"min_size must lie in [0, 1), got {min_size!r}")
    min_points = as_int("min_points", min_points, 1)
    dt = np.diff(t)
    dy = np.diff(y)
    g = np.abs(dy) / dt
    tv = float(np.abs(dy).sum())
    if tv == 0.0:
        return []
    gbar = tv / (t[-1] - t[0])
    n = g.size
    # local maxima of the slope (plateaus: take the first interval of the plateau)
    left = np.concatenate([[-np.inf], g[:-1]])
    right = np.concatenate([g[1:], [-np.inf]])
    cand = np.flatnonzero((g > left) & (g >= right) & (g >= min_sharpness * gbar))
    cand = cand[np.argsort(-g[cand], kind="stable")]
    claimed = np.zeros(n, dtype=bool)
    spans = []
    for k in cand:
        if claimed[k]:
            continue
        thr = rel_height * g[k]
        i0 = k
        while i0 > 0 and g[i0 - 1] >= thr and not claimed[i0 - 1]:
            i0 -= 1
        i1 = k
        while i1 < n - 1 and g[i1 + 1] >= thr and not claimed[i1 + 1]:
            i1 += 1
        claimed[i0:i1 + 1] = True
        spans.append((i0, i1, k))
    # merge touching spans
    spans.sort()
    merged = []
    for i0, i1, k in spans:
        if merged and i0 <= merged[-1][1] + 1:
            j0, j1, kk = merged[-1]
            merged[-1] = (j0, max(j1, i1), kk if g[kk] >= g[k] else k)
        else:
            merged.append((i0, i1, k))
    out = []
    for i0, i1, k in merged:
        size = abs(y[i1 + 1] - y[i0])
        if size < min_size * tv:
            continue
        out.append(DetectedWindow(start=float(t[i0]), end=float(t[i1 + 1]), size=float(size),
                                  peak=float(0.5 * (t[k] + t[k + 1])), sharpness=float(g[k] / gbar),
                                  resolution=float(dt[i0:i1 + 1].max()),
                                  resolved=bool(i1 - i0 + 1 >= int(min_points))))
    return out


def gmm_bayes_mse(tau, d: float, p: float = 0.8, sigma: float = 1.0, n_quad: int = 101):
    """Per-dimension MSE of the exact (Bayes) denoiser of the two-mode GMM at finite d (PAPER §2.1, §1.4, §4).

    With x_tau = alpha x0 + tau x1 (alpha = 1 - tau), x1 = s mu + sigma eta, |mu|^2 = d and
    D = alpha^2 + tau^2 sigma^2:

    * given s, x1 | x_tau is Gaussian with per-coordinate variance ``sigma^2 alpha^2 / D`` and mean
      ``s mu + (tau sigma^2 / D)(x - tau s mu)``; the two class means differ by ``2 mu alpha^2 / D``;
    * the class posterior has log-odds ``L = 2h + 2 tau mu.x / D`` and ``mu.x = tau s d + sqrt(d D) g``
      with ``g ~ N(0, 1)``, so ``pi (1 - pi) = sech^2(L/2) / 4``.

    Hence ``eps(tau) = sigma^2 alpha^2 / D + (alpha^4 / D^2) E_{s,g}[sech^2(h + tau^2 d s / D + tau sqrt(d/D) g)]``,
    a 1-D Gaussian expectation (Gauss–Hermite, ``n_quad`` nodes).  ``eps(0) = sigma^2 + 4p(1-p)``;
    as d -> inf it drops to ``sigma^2 alpha^2/D`` (the phase-2 curve) within tau ~ 1/sqrt(d).

    Parameters
    ----------
    tau : float or array in [0, 1)
    d : float >= 1
    p : float in (0, 1)
    sigma : float > 0
    n_quad : int
    """
    if not (float(d) >= 1.0 and math.isfinite(float(d))):
        raise ValueError(f"d must be a finite number >= 1, got {d!r}")
    return bayes_mse(Problem.undilated(p=p, sigma=sigma), tau, d=float(d), n_quad=int(n_quad))


def read_curve_csv(path, column: Optional[str] = None):
    """Read a loss curve from a CSV with a header row; the first column is time.

    Parameters
    ----------
    path : str or Path
    column : str, optional
        Name of the value column (default: the second column).

    Returns
    -------
    (t, y, column_name)

    Raises
    ------
    ValueError
        Missing column, non-numeric cells, NaN, fewer than 3 rows or a non-monotone time grid.
    """
    import csv

    import os

    if os.path.isdir(path):
        raise ValueError(f"{path}: is a folder, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text (UTF-8) CSV file") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: malformed CSV ({exc})") from None
    if not rows:
        raise ValueError(f"{path}: empty CSV (a header row and data rows are needed)")
    header = [h.strip() for h in rows[0]]
    if len(header) < 2:
        raise ValueError(f"{path}: the CSV needs at least two columns (time, value), header is {header}")
    if column is None:
        j = 1
    elif column in header[1:]:
        j = header.index(column, 1)
    else:
        raise ValueError(f"{path}: column {column!r} not found; available columns: {header[1:]}")
    t, y = [], []
    for i, r in enumerate(rows[1:], start=2):
        if len(r) <= j:
            raise ValueError(f"{path}: row {i} has {len(r)} cells, column {header[j]!r} is missing")
        try:
            t.append(float(r[0]))
            y.append(float(r[j]))
        except ValueError:
            raise ValueError(f"{path}: row {i} is not numeric: {str(r)[:80]}") from None
    t, y = np.asarray(t), np.asarray(y)
    _check_curve(t, y, name_t=f"{path}: column {header[0]!r}", name_y=f"{path}: column {header[j]!r}")
    return t, y, header[j]
