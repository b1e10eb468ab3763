"""MNIST IDX loader on small IDX files written by the test (raw struct packing as the reference)."""
import gzip
import struct

import numpy as np
import pytest

from flowphase.validation.mnist_idx import imbalanced_subset, load_mnist, read_idx, write_idx


def _write_raw_idx(path, arr, code=0x08, compress=False):
    """Independent writer with struct (big-endian header), as the MNIST files are laid out."""
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    if compress:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_pair(tmp_path, compress):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labs = np.array([0, 1, 0, 0, 1, 0, 9], dtype=np.uint8)
    sfx = ".gz" if compress else ""
    ip = _write_raw_idx(tmp_path / f"train-images-idx3-ubyte{sfx}", imgs, compress=compress)
    lp = _write_raw_idx(tmp_path / f"train-labels-idx1-ubyte{sfx}", labs, compress=compress)
    x, y = load_mnist(ip, lp)
    assert x.shape == (7, 784) and y.tolist() == labs.tolist()
    np.testing.assert_allclose(x, imgs.reshape(7, -1) / 127.5 - 1.0)
    assert x.min() >= -1 and x.max() <= 1
    xr, _ = load_mnist(ip, lp, scale="raw")
    np.testing.assert_array_equal(xr, imgs.reshape(7, -1))


def test_round_trip_other_dtypes(tmp_path):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    write_idx(tmp_path / "a.idx.gz", a)
    b = read_idx(tmp_path / "a.idx.gz")
    assert b.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    c = np.array([-3, 5, 70000], dtype=np.int32)
    write_idx(tmp_path / "c.idx", c)
    np.testing.assert_array_equal(read_idx(tmp_path / "c.idx"), c)


@pytest.mark.parametrize("head,msg", [
    (b"\x01\x00\x08\x01", "bad IDX magic"),
    (b"\x00\x00\x07\x01", "bad IDX magic"),
    (b"\x00\x00\x08\x00", "bad IDX magic"),
    (b"\x00\x00", "not an IDX"),
])
def test_bad_magic(tmp_path, head, msg):
    f = tmp_path / "bad.idx"
    f.write_bytes(head + (struct.pack(">I", 3) + b"\x01\x02\x03" if len(head) == 4 else b""))
    with pytest.raises(ValueError, match=msg):
        read_idx(f)


def test_size_mismatch_and_pair_checks(tmp_path):
    f = tmp_path / "short.idx"
    f.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 5) + b"\x01\x02")
    with pytest.raises(ValueError, match="need 5"):
        read_idx(f)
    ip = _write_raw_idx(tmp_path / "i", np.zeros((3, 2, 2)))
    lp = _write_raw_idx(tmp_path / "l", np.zeros(4))
    with pytest.raises(ValueError, match="3 images but 4 labels"):
        load_mnist(ip, lp)


def test_imbalanced_subset_counts():
    labels = np.array([0] * 40 + [1] * 30 + [2] * 5)
    x = np.arange(labels.size)[:, None].astype(float)
    xs, ys = imbalanced_subset(x, labels, ratio=0.25)
    assert (ys == 0).sum() == 40 and (ys == 1).sum() == 10 and np.mean(ys == 0) == pytest.approx(0.8)
    np.testing.assert_array_equal(labels[xs[:, 0].astype(int)], ys)
    with pytest.raises(ValueError, match="ratio"):
        imbalanced_subset(x, labels, ratio=1.0)
