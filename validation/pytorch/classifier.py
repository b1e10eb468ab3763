"""The classifier of the U-Turn and of the evaluation: a small CNN trained on all ten classes of the bundled data.

Ten classes, not two, so that a generated image that is neither a 0 nor a 1 is not forced into either
(``p0_hat`` is the fraction classified 0 among all generated images).  Architecture: two blocks
``Conv3x3 -> ReLU -> MaxPool2`` (16 and 32 channels), a 64-unit ReLU layer (the **feature space** of the
Fréchet distance) and the 10-way linear read-out; Adam, cross-entropy.  Its accuracy is measured on a
held-out stratified 20 % of the bundled images that it never saw.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SmallCNN", "TrainedClassifier", "train_classifier", "frechet_distance"]


class SmallCNN(nn.Module):
    def __init__(self, image_side: int, n_classes: int = 10, features: int = 64):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        side = image_side // 4
        self.fc = nn.Linear(32 * side * side, features)
        self.head = nn.Linear(features, n_classes)

    def features(self, x):
        h = F.max_pool2d(F.relu(self.c1(x)), 2)
        h = F.max_pool2d(F.relu(self.c2(h)), 2)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x):
        return self.head(self.features(x))


@dataclass
class TrainedClassifier:
    """The trained CNN and its held-out accuracy (``n_test`` images)."""

    net: SmallCNN
    accuracy: float
    n_test: int
    epochs: int

    @torch.inference_mode()
    def _run(self, x, chunk=2048):
        x = torch.clamp(x.float(), -1.0, 1.0)
        feats, probs = [], []
        for i in range(0, x.shape[0], chunk):
            f = self.net.features(x[i:i + chunk])
            feats.append(f)
            probs.append(torch.softmax(self.net.head(f), dim=1))
        return torch.cat(feats), torch.cat(probs)

    def predict_proba(self, x) -> torch.Tensor:
        return self._run(x)[1]

    def evaluate(self, x) -> dict:
        """``{"pred", "confidence", "features"}`` of images ``x`` (clipped to [-1, 1]) as numpy arrays."""
        f, p = self._run(x)
        conf, pred = p.max(dim=1)
        return {"pred": pred.numpy(), "confidence": conf.numpy(), "features": f.double().numpy()}


def train_classifier(all_x: torch.Tensor, all_labels: torch.Tensor, *, epochs: int = 6, batch: int = 64,
                     lr: float = 2e-3, test_fraction: float = 0.2, seed: int = 0) -> TrainedClassifier:
    """Train :class:`SmallCNN` on ``1 - test_fraction`` of the images (stratified) and measure its accuracy on
    the rest."""
    y = all_labels.numpy()
    rng = np.random.default_rng(seed)
    test = np.zeros(y.size, dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        test[rng.choice(idx, size=int(round(test_fraction * idx.size)), replace=False)] = True
    xtr, ytr = all_x[~test], all_labels[~test]
    xte, yte = all_x[test], all_labels[test]
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = SmallCNN(int(all_x.shape[-1]))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(int(epochs)):
        perm = torch.randperm(xtr.shape[0], generator=g)
        for i in range(0, xtr.shape[0], batch):
            b = perm[i:i + batch]
            # small random shifts (±1 pixel) so that slightly misplaced generated strokes are still read
            xb = torch.roll(xtr[b], shifts=(int(torch.randint(-1, 2, (1,), generator=g)),
                                            int(torch.randint(-1, 2, (1,), generator=g))), dims=(2, 3))
            loss = F.cross_entropy(net(xb), ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.inference_mode():
        acc = float((net(xte).argmax(1) == yte).float().mean())
    return TrainedClassifier(net=net, accuracy=acc, n_test=int(yte.numel()), epochs=int(epochs))


def _sqrt_psd(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(0.5 * (c + c.T))
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows = samples):
    ``|m1 - m2|^2 + tr(C1 + C2 - 2 (C1^{1/2} C2 C1^{1/2})^{1/2})`` (the FID formula, here in the classifier's
    feature space); the square roots are taken of symmetric positive semi-definite matrices (eigh), so the
    result is real and >= 0."""
    f1, f2 = np.asarray(f1, dtype=float), np.asarray(f2, dtype=float)
    m1, m2 = f1.mean(0), f2.mean(0)
    c1, c2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    r1 = _sqrt_psd(c1)
    mid = np.trace(_sqrt_psd(r1 @ c2 @ r1))
    return float(max(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2.0 * mid, 0.0))
