"""PyTorch parts (optional extra ``torch``): training-time samplers, the shared-network experiment, MNIST U-Net.

Importing this package does not import torch; the modules do:

* :mod:`flowphase.validation.pytorch.samplers` -- :class:`TimestepSampler` (any
  :class:`flowphase.theory.densities.Density` as a ``(batch,)`` tensor of training times in the torchcfm /
  flow_matching / diffusers / EDM convention) and its importance weights;
* :mod:`flowphase.validation.pytorch.adaptive` -- :class:`LossAwareSampler` (improved-diffusion's loss-second-moment
  resampler) and :class:`PhaseAwareSampler` (the MSE-jump detector run online on the training loss);
* :mod:`flowphase.validation.pytorch.shared_network` -- does the theory's ranking of training densities survive a
  network shared over time (docs/shared_network.md).

``from flowphase.validation.pytorch import TimestepSampler`` works (lazy attribute access).
"""
from __future__ import annotations

__all__ = ["TimestepSampler", "LossAwareSampler", "PhaseAwareSampler", "CONVENTIONS", "to_convention",
           "from_convention"]

_WHERE = {"TimestepSampler": "samplers", "CONVENTIONS": "samplers", "to_convention": "samplers",
          "from_convention": "samplers", "LossAwareSampler": "adaptive", "PhaseAwareSampler": "adaptive"}


def __getattr__(name):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
