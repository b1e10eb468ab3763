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


def _read_bytes(path) -> bytes:
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw


def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzip or not) into a NumPy array of its native dtype.

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
    expected = int(np.prod(shape)) * dt.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX data holds {len(raw) - header} bytes, dimensions {shape} need {expected}")
    return np.frombuffer(raw, dtype=dt, offset=header).reshape(shape).astype(dt.newbyteorder("="))


def write_idx(path, array) -> Path:
    """Write an array as an IDX file (uncompressed; ``.gz`` suffix -> gzip)."""
    arr = np.asarray(array)
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
    x = imgs.reshape(imgs.shape[0], -1).astype(np.float64)
    if scale == "pm1":
        x = x / 127.5 - 1.0
    elif scale == "unit":
        x = x / 255.0
    elif scale != "raw":
        raise ValueError(f"scale must be 'pm1', 'unit' or 'raw', got {scale!r}")
    return x, labs.astype(np.int64)


def imbalanced_subset(x, labels, majority: int = 0, minority: int = 1, ratio: float = 0.25, seed: int = 0):
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
