"""MNIST IDX-file loader for users who have the files locally (no downloads; PAPER §6.2).

IDX format (LeCun et al.): a 4-byte big-endian magic number ``0x00 0x00 <dtype code> <ndim>``,
then ``ndim`` big-endian uint32 dimensions, then the data in row-major big-endian order.  MNIST uses
``0x00000803`` (uint8 images, n × 28 × 28) and ``0x00000801`` (uint8 labels, n).  Files may be
gzip-compressed (``.gz``, detected from the content, not the name).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "load_mnist", "imbalanced_subset", "write_idx"]

_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
           0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {v.str[1:]: k for k, v in _DTYPES.items()}


#: largest decompressed IDX file read (MNIST train images: 47 MB); guards against gzip bombs
MAX_BYTES = 2 ** 31


def _read_bytes(path) -> bytes:
    """File content (gunzipped when it starts with the gzip magic); every failure is a ``ValueError``
    naming the file: a folder, a missing/unreadable file, truncated or garbage gzip."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{path}: is a folder, not an IDX file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        import io
        import zlib

        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
                raw = fh.read(MAX_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from None
        if len(raw) > MAX_BYTES:
            raise ValueError(f"{path}: decompresses to more than {MAX_BYTES} bytes")
    return raw


def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzip or not) into a NumPy array of its native dtype.

    The values are returned as stored (a float IDX file may hold NaN); :func:`load_mnist` checks them.

    Raises
    ------
    ValueError
        Bad magic number (first two bytes not zero, unknown dtype code, ndim 0), truncated header or
        a data size that does not match the dimensions.
    """
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (must start with 0x0000)")
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES:
        raise ValueError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (unknown data type code 0x{code:02x})")
    if ndim == 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (zero dimensions)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dt = _DTYPES[code]
    import math

    expected = math.prod(shape) * dt.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX data holds {len(raw) - header} bytes, dimensions {shape} need {expected}")
    return np.frombuffer(raw, dtype=dt, offset=header).reshape(shape).astype(dt.newbyteorder("="))


def write_idx(path, array) -> Path:
    """Write an array as an IDX file (uncompressed; ``.gz`` suffix -> gzip)."""
    arr = np.asarray(array)
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"an IDX file holds an array with 1 to 255 dimensions, got {arr.ndim}")
    if max(arr.shape) > 2 ** 32 - 1:
        raise ValueError(f"IDX dimensions must be below 2**32, got shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"dtype {arr.dtype} cannot be stored in IDX")
    key = arr.dtype.newbyteorder(">").str[1:]
    if key not in _CODES:
        raise ValueError(f"dtype {arr.dtype} cannot be stored in IDX")
    code = _CODES[key]
    data = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes() + \
        arr.astype(_DTYPES[code]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        data = gzip.compress(data)
    from flowphase.validation._io import atomic_write_bytes

    return atomic_write_bytes(path, data)


def load_mnist(images_path, labels_path, scale: str = "pm1"):
    """Images (n, h*w) float64 and labels (n,) int64 from an MNIST image/label IDX pair.

    ``scale='pm1'`` maps [0, 255] to [-1, 1] (PAPER §6.2); ``'unit'`` to [0, 1]; ``'raw'`` keeps 0..255.
    """
    imgs = read_idx(images_path)
    labs = read_idx(labels_path)
    if imgs.ndim != 3:
        raise ValueError(f"{images_path}: image file must be 3-D (n, rows, cols), got shape {imgs.shape}")
    if labs.ndim != 1:
        raise ValueError(f"{labels_path}: label file must be 1-D, got shape {labs.shape}")
    if imgs.shape[0] != labs.shape[0]:
        raise ValueError(f"{imgs.shape[0]} images but {labs.shape[0]} labels")
    if imgs.size and (not np.all(np.isfinite(imgs)) or imgs.min() < 0 or imgs.max() > 255):
        raise ValueError(f"{images_path}: pixel values must be finite and lie in [0, 255]")
    if labs.dtype.kind == "f" or (labs.size and (labs.min() < 0 or labs.max() > 255)):
        raise ValueError(f"{labels_path}: labels must be integers in [0, 255]")
    x = imgs.reshape(imgs.shape[0], -1).astype(np.float64)
    if scale == "pm1":
        x = x / 127.5 - 1.0
    elif scale == "unit":
        x = x / 255.0
    elif scale != "raw":
        raise ValueError(f"scale must be 'pm1', 'unit' or 'raw', got {scale!r}")
    return x, labs.astype(np.int64)


def imbalanced_subset(x, labels, *, majority: int = 0, minority: int = 1, ratio: float = 0.25, seed: int = 0):
    """All ``majority`` images plus ``int(ratio * #majority)`` random ``minority`` ones (PAPER §6.2).

    ``ratio = 0.25`` gives 80 % majority (5923 zeros + 1480 ones on MNIST train).
    """
    labels = np.asarray(labels)
    maj = np.flatnonzero(labels == majority)
    mino = np.flatnonzero(labels == minority)
    k = int(ratio * maj.size)
    if k > mino.size:
        raise ValueError(f"ratio {ratio} needs {k} images of class {minority}, only {mino.size} available")
    rng = np.random.default_rng(seed)
    idx = np.concatenate([maj, rng.choice(mino, size=k, replace=False)])
    rng.shuffle(idx)
    return np.asarray(x)[idx], labels[idx]
