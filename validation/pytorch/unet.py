"""A small U-Net in the family of diffusers' ``UNet2DModel`` (the authors' MNIST network), sized for CPUs.

Same building blocks as ``UNet2DModel`` (Ho et al.'s DDPM U-Net): a sinusoidal embedding of the time
passed as ``1000 * s`` (s = 0 data, s = 1 noise, the authors' convention) followed by a two-layer MLP;
residual blocks ``GroupNorm -> SiLU -> Conv3x3`` twice, with the time embedding added in between; one
down-sampling (stride-2 convolution) per level and nearest-neighbour up-sampling with skip
connections; single-head self-attention at the lowest resolution (the authors put attention in two of
their four blocks).  The authors' channels are ``(128, 128, 256, 512)`` at 32×32; here ``channels`` is
scaled down so that a model trains on a shared two-core CPU in minutes: the MNIST experiment uses
``channels=(16, 32)`` with a 2×2 space-to-depth stem (``patch=2``: the network runs at 14×14 and 7×7,
attention at 7×7), 99 380 parameters (:func:`count_parameters`, reported in every result JSON); at
``channels=(8, 16)`` (25 500 parameters) the generated images were not digits after 600 steps.

Why not ``diffusers.UNet2DModel`` itself: its smallest useful configuration (blocks ``(16, 32, 32)``, one layer
per block, no attention; 0.27 M parameters) cost 0.28 s per training step of batch 64 and 2.6 ms per 28×28 image
forward on the project's two cores, and the U-Turn (1000 reverse steps per unit of s) plus the re-allocation
arms (25 models, 1000 generated images each) would not fit the hour the full run is allowed; this network costs
0.052 CPU-s per training step of batch 32 and 0.59 ms per image forward (one thread).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SmallUNet", "count_parameters", "time_embedding"]


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of the (already scaled) time ``t`` (shape ``(B,)``) to ``(B, dim)``, as diffusers'
    ``Timesteps(dim, flip_sin_to_cos=True, downscale_freq_shift=0)``: ``[cos(t f_k), sin(t f_k)]``,
    ``f_k = 10000^(-k / (dim / 2))``."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    arg = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(arg), torch.sin(arg)], dim=1)


def _groups(c: int) -> int:
    for g in (8, 4, 2, 1):
        if c % g == 0:
            return g
    return 1


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, t_dim: int):
        super().__init__()
        self.n1 = nn.GroupNorm(_groups(c_in), c_in)
        self.c1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.t = nn.Linear(t_dim, c_out)
        self.n2 = nn.GroupNorm(_groups(c_out), c_out)
        self.c2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, temb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(F.silu(temb))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return h + self.skip(x)


class Attention(nn.Module):
    """Single-head self-attention over the pixels (diffusers' ``Attention`` with one head), residual."""

    def __init__(self, c: int):
        super().__init__()
        self.norm = nn.GroupNorm(_groups(c), c)
        self.qkv = nn.Linear(c, 3 * c)
        self.out = nn.Linear(c, c)

    def forward(self, x):
        b, c, h, w = x.shape
        y = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        q, k, v = self.qkv(y).chunk(3, dim=-1)
        y = F.scaled_dot_product_attention(q, k, v)
        return x + self.out(y).transpose(1, 2).reshape(b, c, h, w)


class SmallUNet(nn.Module):
    """ε-prediction U-Net ``eps_hat = net(x_s, 1000 s)`` for one-channel images whose side is divisible by
    ``patch * 2 ** (len(channels) - 1)`` (28 = 2 · 2 · 7 with ``patch=2`` and two levels; 8 = 4 · 2 with three).

    Parameters
    ----------
    channels : sequence of int
        Channels per resolution level (one down-sampling between consecutive levels).
    attention : bool
        Self-attention in the bottleneck (the lowest resolution).
    in_channels : int
        Image channels (1 for MNIST and the 8×8 digits).
    patch : int
        Space-to-depth stem: the image is folded into ``patch × patch`` blocks (``pixel_unshuffle``) before the
        first convolution and unfolded after the last (``pixel_shuffle``), so that the network runs at
        ``1/patch`` of the resolution while its input and output stay full-size images (28×28 MNIST runs at
        14×14 and 7×7 with ``patch=2`` and two levels).
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 32), *, attention: bool = True, in_channels: int = 1,
                 patch: int = 1):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) < 1 or min(channels) < 1:
            raise ValueError(f"channels must be a non-empty sequence of positive ints, got {channels!r}")
        if int(patch) < 1:
            raise ValueError(f"patch must be a positive integer, got {patch!r}")
        self.channels = channels
        self.patch = int(patch)
        in_channels = in_channels * self.patch ** 2
        self.t_dim = 4 * channels[0]
        self.t_mlp = nn.Sequential(nn.Linear(channels[0], self.t_dim), nn.SiLU(), nn.Linear(self.t_dim, self.t_dim))
        self.inp = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        c_prev = channels[0]
        for i, c in enumerate(channels):
            self.down.append(ResBlock(c_prev, c, self.t_dim))
            c_prev = c
            if i < len(channels) - 1:
                self.pool.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid = ResBlock(c_prev, c_prev, self.t_dim)
        self.attn = Attention(c_prev) if attention else None
        self.up = nn.ModuleList()
        for i, c in reversed(list(enumerate(channels))):
            self.up.append(ResBlock(c_prev + c, c, self.t_dim))
            c_prev = c
        self.out_norm = nn.GroupNorm(_groups(c_prev), c_prev)
        self.out = nn.Conv2d(c_prev, in_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def downsampling(self) -> int:
        return self.patch * 2 ** (len(self.channels) - 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x``: (B, C, H, W) noisy images; ``t``: (B,) the time scaled as the authors' ``1000 * s``."""
        if x.shape[-1] % self.downsampling or x.shape[-2] % self.downsampling:
            raise ValueError(f"image side must be divisible by {self.downsampling}, got {tuple(x.shape[-2:])}")
        temb = self.t_mlp(time_embedding(t, self.channels[0]))
        if self.patch > 1:
            x = F.pixel_unshuffle(x, self.patch)
        h = self.inp(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, temb)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        h = self.mid(h, temb)
        if self.attn is not None:
            h = self.attn(h)
        for j, block in enumerate(self.up):
            skip = skips.pop()
            if h.shape[-1] != skip.shape[-1]:
                h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = block(torch.cat([h, skip], dim=1), temb)
        h = self.out(F.silu(self.out_norm(h)))
        return F.pixel_shuffle(h, self.patch) if self.patch > 1 else h


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
