"""Set-up stage of the finite-d simulator: training data and initial parameters, given or drawn.

:func:`setup_data_and_init` produces, for every seed, the training data ``x1 = s mu + sigma eta``
(PAPER §1.1) and the initial ``(c, b, u, w)`` of every job (seed, time) that
:func:`flowphase.validation.simulator.simulate` hands to its kernels.  Either may be **given** by the
user (a paired comparison with another implementation needs both the same data and the same
initial parameters):

* ``data``: ``{"x1": (n, d) or (S, n, d), "s": (n,) or (S, n)}`` (``"labels"`` is accepted for
  ``"s"``) or a tuple ``(x1, s)``; real floating x1, finite; labels exactly +1 or -1.  A single
  ``(n, d)`` set is shared by every seed.
* ``init_params``: ``{"c": (T,) or (S, T), "b": same, "u": (T, d) or (S, T, d), "w": same}``;
  real, finite.  A ``(T, ...)`` set is shared by every seed (then only the noise stream differs
  between seeds).  For Cui's tied sign model ``w`` is replaced by ``u`` and ``b`` by 0, as for the
  drawn initialisations.

Otherwise the data are drawn from the seed's data stream and the initialisation from its init
stream (:func:`draw_init`).  :func:`save_npz` / :func:`load_npz` store and read the trained
parameters, the data, the times, the seeds and the JSON config of a run (documented NPZ layout,
round-trips exactly).
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

__all__ = ["setup_data_and_init", "draw_init", "check_data", "check_init_params", "data_sizes",
           "save_npz", "load_npz", "read_npz", "npz_shapes", "NPZ_KEYS", "DATA_STREAM", "INIT_STREAM", "MAX_ABS"]

DATA_STREAM = 0xDA7A
INIT_STREAM = 0x1417
#: arrays of the NPZ export: params (S, T[, d]), data (S, n[, d]), ts (T,), seeds (S,), config (JSON text)
NPZ_KEYS = ("c", "b", "u", "w", "x1", "s", "ts", "seeds", "config")
#: largest magnitude accepted in given data and initial parameters: beyond it a finite input is refused as bad
#: input (it would overflow float32 storage, 3.4e38, or make the first step diverge, which is not a
#: convergence failure of the method)
MAX_ABS = 1e6


def _real_array(name, a, ndims):
    if isinstance(a, (str, bytes)) or a is None:
        raise ValueError(f"{name} must be a real array, got {type(a).__name__}")
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)) \
            or arr.dtype == np.bool_:
        raise ValueError(f"{name} must be a real (floating or integer) array, got dtype {arr.dtype}")
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} must be real, got dtype {arr.dtype}")
    big = float(np.max(np.abs(arr)))
    if big > MAX_ABS:
        raise ValueError(f"{name} must lie in [-{MAX_ABS:.0e}, {MAX_ABS:.0e}], got a value of magnitude {big:.3g}")
    return arr


def _split_data(data):
    if isinstance(data, dict):
        unknown = set(data) - {"x1", "s", "labels"}
        if unknown:
            raise ValueError(f"data has unknown keys {sorted(unknown)} (expected 'x1' and 's')")
        if "x1" not in data or ("s" not in data and "labels" not in data):
            raise ValueError("data must hold 'x1' and the labels 's'")
        if "s" in data and "labels" in data:
            raise ValueError("data: give the labels once, as 's' or 'labels'")
        return data["x1"], data["s"] if "s" in data else data["labels"]
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise ValueError("data must be a dict {'x1': ..., 's': ...} or a tuple (x1, s)")


def data_sizes(data):
    """(n, d) of given data (validates the array ranks only)."""
    x1, _ = _split_data(data)
    x1 = _real_array("data x1", x1, (2, 3))
    return int(x1.shape[-2]), int(x1.shape[-1])


def check_data(data, S: int, n: int, d: int, dtype):
    """Validated ``(x1 (S, n, d), s (S, n))`` from user data."""
    x1, s = _split_data(data)
    x1 = _real_array("data x1", x1, (2, 3))
    if not np.issubdtype(x1.dtype, np.floating):
        raise ValueError(f"data x1 must be a floating array, got dtype {x1.dtype}")
    s = _real_array("data labels s", s, (1, 2))
    if x1.shape[-2:] != (n, d):
        raise ValueError(f"data x1 must have shape (n, d) = ({n}, {d}) or (S, n, d), got {x1.shape}")
    if x1.ndim == 3 and x1.shape[0] != S:
        raise ValueError(f"data x1 has {x1.shape[0]} seeds, the run has {S}")
    if s.shape[-1] != n or (s.ndim == 2 and s.shape[0] != S) or s.ndim != x1.ndim - 1:
        raise ValueError(f"data labels s must have shape {(n,) if x1.ndim == 2 else (S, n)} (like x1), got {s.shape}")
    if not np.all(np.abs(s) == 1):
        raise ValueError("data labels s must be +1 or -1")
    x1 = np.broadcast_to(x1, (S, n, d)).astype(dtype)
    s = np.broadcast_to(s, (S, n)).astype(np.float64)
    return np.ascontiguousarray(x1), np.ascontiguousarray(s)


def check_init_params(init_params, S: int, T: int, d: int, dtype):
    """Validated initial ``c, b`` (S*T,) and ``u, w`` (S*T, d) from user parameters."""
    if not isinstance(init_params, dict):
        raise ValueError("init_params must be a dict with keys 'c', 'b', 'u', 'w'")
    unknown = set(init_params) - {"c", "b", "u", "w"}
    missing = {"c", "b", "u", "w"} - set(init_params)
    if unknown or missing:
        raise ValueError(f"init_params must have exactly the keys c, b, u, w (missing {sorted(missing)}, "
                         f"unknown {sorted(unknown)})")
    out = {}
    for key in ("c", "b"):
        a = _real_array(f"init_params {key}", init_params[key], (1, 2))
        if a.shape not in ((T,), (S, T)):
            raise ValueError(f"init_params {key} must have shape (T,) = ({T},) or (S, T) = ({S}, {T}), got {a.shape}")
        out[key] = np.broadcast_to(a, (S, T)).reshape(S * T).astype(dtype)
    for key in ("u", "w"):
        a = _real_array(f"init_params {key}", init_params[key], (2, 3))
        if a.shape not in ((T, d), (S, T, d)):
            raise ValueError(f"init_params {key} must have shape (T, d) = ({T}, {d}) or (S, T, d), got {a.shape}")
        out[key] = np.ascontiguousarray(np.broadcast_to(a, (S, T, d)).reshape(S * T, d).astype(dtype))
    return out["c"], out["b"], out["u"], out["w"]


def draw_init(rng, init, init_scale, model, T, d, x1, s, lam, dtype):
    """Initial (c, b, u, w) for the T jobs of one seed.

    ``random``: c, b ~ N(0,1), u, w ~ N(0, I) (the authors', PAPER §2.3); ``small``: all
    ``init_scale * N(0,1)``; ``informed``: u = w = sum_nu s^nu x1^nu / (n + lam), c = b = 0
    (PREDECESSOR §2.6: avoids the wrong sign pattern).
    """
    if init == "random":
        c = rng.standard_normal(T)
        b = rng.standard_normal(T)
        u = rng.standard_normal((T, d))
        w = rng.standard_normal((T, d))
    elif init == "small":
        c = init_scale * rng.standard_normal(T)
        b = init_scale * rng.standard_normal(T)
        u = init_scale * rng.standard_normal((T, d))
        w = init_scale * rng.standard_normal((T, d))
    else:
        v = (s[:, None] * x1).sum(axis=0) / (x1.shape[0] + lam)
        c = np.zeros(T)
        b = np.zeros(T)
        u = np.tile(v, (T, 1))
        w = u.copy()
    return c.astype(dtype), b.astype(dtype), u.astype(dtype), w.astype(dtype)


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def setup_data_and_init(problem, seeds, T, *, labels, init, init_scale, model, lam, dtype, data=None,
                        init_params=None):
    """Data, labels and initial parameters of every job, drawn per seed or given.

    Returns ``(x1 (S, n, d), s (S, n), c (J,), b (J,), u (J, d), w (J, d), record)`` with jobs ordered
    seed-major (job ``i T + k`` = seed i, time k); ``record`` holds the config entries
    (``data``, ``init_params``: ``'drawn'`` or ``'given'``, and a sha256 prefix of given arrays).
    """
    d, n = int(problem.d), int(problem.n)
    S = len(seeds)
    J = S * T
    record = {"data": "drawn", "init_params": "drawn"}
    if data is not None:
        x1, s_lab = check_data(data, S, n, d, dtype)
        record.update(data="given", data_sha256=_digest(x1, s_lab))
    else:
        x1 = np.empty((S, n, d), dtype=dtype)
        s_lab = np.empty((S, n))
        drawn = []
        for i, sd in enumerate(seeds):
            xs, ss, _ = problem.mixture.sample(n, d, rng=np.random.default_rng([sd, DATA_STREAM]), labels=labels)
            x1[i] = xs
            s_lab[i] = ss
            drawn.append(xs)
    if init_params is not None:
        c, b, u, w = check_init_params(init_params, S, T, d, dtype)
        record.update(init_params="given", init_sha256=_digest(c, b, u, w))
    else:
        c = np.empty(J, dtype=dtype)
        b = np.empty(J, dtype=dtype)
        u = np.empty((J, d), dtype=dtype)
        w = np.empty((J, d), dtype=dtype)
        for i, sd in enumerate(seeds):
            xs = drawn[i] if data is None else x1[i].astype(np.float64)
            ci, bi, ui, wi = draw_init(np.random.default_rng([sd, INIT_STREAM]), init, init_scale, model, T, d,
                                       xs, s_lab[i], lam, dtype)
            c[i * T:(i + 1) * T] = ci
            b[i * T:(i + 1) * T] = bi
            u[i * T:(i + 1) * T] = ui
            w[i * T:(i + 1) * T] = wi
    if model == "sign":     # tied weights, no bias (PREDECESSOR §1.3)
        w = u.copy()
        b = np.zeros_like(b)
    return x1, s_lab, c, b, u, w, record


# ----------------------------------------------------------------------------- NPZ export
def save_npz(result, path) -> str:
    """Write a :class:`~flowphase.validation.simulator.SimulationResult` to ``path`` (atomically).

    Layout (``numpy.load``): ``c, b`` (S, T) and ``u, w`` (S, T, d) — the final, sign-canonicalised
    parameters; ``x1`` (S, n, d) and ``s`` (S, n) — the training data; ``ts`` (T,), ``seeds`` (S,);
    ``config`` — a 0-d string array holding the JSON of ``{"problem": ..., "config": ...}``.
    Needs a result with ``keep_params=True``.
    """
    if not result.params or not result.data:
        raise ValueError("save_npz needs a simulation run with keep_params=True")
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"the export file must end in .npz, got {path!r}")
    from flowphase.validation._io import dump_json

    meta = dump_json({"problem": result.problem.to_dict(), "config": result.config})
    arrays = dict(c=result.params["c"], b=result.params["b"], u=result.params["u"], w=result.params["w"],
                  x1=result.data["x1"], s=result.data["s"], ts=np.asarray(result.ts, dtype=np.float64),
                  seeds=np.asarray(result.seeds, dtype=np.int64), config=np.array(meta))
    import io

    from flowphase.validation._io import atomic_write_bytes, clean_stale_temps

    # through the package's atomic writer: a hidden temporary named after this process (a killed export's
    # leftover is removed by the next write into the folder) and the mode of every other output (0644 under the
    # usual umask, where mkstemp alone gives 0600)
    clean_stale_temps(os.path.dirname(os.path.abspath(path)))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    return path


_NPZ_FIX = "re-create it (flowphase simulate --export FILE.npz, or numpy.savez)"


def npz_shapes(path, what: str = "file", fix: str = _NPZ_FIX) -> dict:
    """``{name: (shape, dtype)}`` of the arrays in an NPZ file, read from the headers only (nothing is decompressed
    beyond the first bytes of each member, so a zip bomb is measured before it is opened).

    A file that is not a readable NPZ is a ``ValueError`` naming it and the fix.
    """
    import zipfile

    path = os.fspath(path)
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                        np.lib.format.read_array_header_2_0
                    shape, _, dtype = reader(fh, max_header_size=10_000)
                out[info.filename[:-4]] = (tuple(int(k) for k in shape), dtype)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, SyntaxError) as exc:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise ValueError(f"{what} {path}: not a readable NPZ file ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:80] if str(exc) else 'damaged'}); {fix}") from None
    return out


def read_npz(path, keys, *, what: str = "file", shapes=None, optional=(), fix: str = _NPZ_FIX) -> dict:
    """Arrays ``keys`` (and those of ``optional`` present) of an NPZ file, checked before they are decompressed.

    ``shapes``: ``{key: [allowed shape, ...]}`` (``None`` in a shape matches any size there); a member whose header
    shape is not allowed, whose dtype is an object, or that holds more than 2**28 numbers is refused from its header.
    A damaged file is one ``ValueError`` naming the file and ``fix``.
    """
    import zipfile
    import zlib

    path = os.fspath(path)
    heads = npz_shapes(path, what, fix)
    missing = [k for k in keys if k not in heads]
    if missing:
        raise ValueError(f"{what} {path}: missing arrays {missing} (expected {', '.join(keys)})")
    wanted = list(keys) + [k for k in optional if k in heads]
    for k in wanted:
        shape, dtype = heads[k]
        if dtype.hasobject:
            raise ValueError(f"{what} {path}: array {k!r} holds Python objects (dtype {dtype}); only numbers and text "
                             "are read")
        if int(np.prod(shape, dtype=np.float64)) > 2 ** 28:
            raise ValueError(f"{what} {path}: array {k!r} has shape {shape}, over 2**28 numbers")
        allowed = (shapes or {}).get(k)
        if allowed is not None and not any(len(a) == len(shape) and all(x is None or x == y for x, y in zip(a, shape))
                                           for a in allowed):
            want = " or ".join(str(tuple("*" if x is None else x for x in a)) for a in allowed)
            raise ValueError(f"{what} {path}: array {k!r} has shape {shape}, expected {want}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in wanted}
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
        raise ValueError(f"{what} {path}: damaged NPZ file ({type(exc).__name__}); {fix}") from None


def export_meta(config, path) -> dict:
    """The ``{"problem", "config"}`` record stored in an export's ``config`` array (``ValueError`` if unreadable)."""
    try:
        meta = json.loads(str(config))
    except (ValueError, TypeError):
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("problem"), dict):
        raise ValueError(f"{path}: the 'config' array is not the JSON record of a flowphase export; re-create the file "
                         "with flowphase simulate --export")
    meta.setdefault("config", {})
    return meta


def load_npz(path) -> dict:
    """Read an export of :func:`save_npz`.

    Returns ``{"params": {c, b, u, w}, "data": {"x1", "s"}, "ts", "seeds", "problem", "config"}``;
    ``params`` and ``data`` can be passed straight back to ``simulate(init_params=..., data=...)``.
    """
    heads = npz_shapes(path, "export")
    missing = set(NPZ_KEYS) - set(heads)
    if missing:
        raise ValueError(f"{path}: not a flowphase simulation export (missing {sorted(missing)})")
    arr = read_npz(path, NPZ_KEYS, what="export")
    meta = export_meta(arr["config"], path)
    return {"params": {k: arr[k] for k in ("c", "b", "u", "w")}, "data": {"x1": arr["x1"], "s": arr["s"]},
            "ts": arr["ts"], "seeds": [int(s) for s in arr["seeds"]], "problem": meta["problem"],
            "config": meta["config"]}
