"""The authors' VP-SDE in PyTorch: forward marginals, ε-prediction loss and the reverse (ancestral) sampler.

**Time conventions.**  The authors' MNIST code (PAPER §6.3) uses the diffusion time **s ∈ [0, 1], s = 0 data,
s = 1 noise**, with the linear rate ``rate(s) = beta_min + (beta_max - beta_min) s`` (``beta_min = 0.1``,
``beta_max = 20``) and passes ``1000 s`` to the network.  flowphase's densities and samplers
(:mod:`flowphase.theory.densities`, :class:`flowphase.validation.pytorch.samplers.TimestepSampler` in the
``torchcfm`` convention) use **tau ∈ [0, 1], tau = 0 pure noise, tau = 1 data**.  The map is

    tau = 1 - s,    s = 1 - tau,

an order-reversing bijection of [0, 1] that sends data to data (s = 0 ↔ tau = 1) and noise to noise
(s = 1 ↔ tau = 0).  It is the only map that is affine and keeps both end points' meaning; it maps a density of
tau to the density of s by reflection (``p_s(s) = p_tau(1 - s)``), so a window ``[s_a, s_b]`` is the window
``[1 - s_b, 1 - s_a]`` in tau with the same mass.  It relabels the time only: the noise level at a given s is
the VP-SDE's, not the linear interpolant's that tau parametrises in the GMM theory (no reparametrisation of the
noise level is implied, as in the authors' own use of "s" and "t0 = 1 - s" on one axis).

**Marginals** (letters of docs/notation.md: ``beta`` the data coefficient, ``alpha`` the noise coefficient):
``x_s = beta(s) x_0 + alpha(s) eps`` with
``beta(s) = exp(-(beta_min s + (beta_max - beta_min) s^2 / 2) / 2)`` and ``alpha(s) = sqrt(1 - beta(s)^2)``
(the paper's b(s), a(s)).

**Reverse sampler**: the DDPM ancestral step between grid times ``s > s'`` (the exact Gaussian posterior
``q(x_{s'} | x_s, x_0)`` with ``x_0`` replaced by the clipped Tweedie estimate
``x0_hat = clip((x_s - alpha(s) eps_hat) / beta(s), -1, 1)``, diffusers' ``DDPMScheduler(clip_sample=True)``);
with 1000 steps per unit of s it coincides with the authors' Euler–Maruyama reverse SDE to O(ds).  The last step
returns ``x0_hat`` at the last grid time.  Measured trade-off (docs/mnist.md): with the exact noise predictor of
Gaussian data of variance 0.09 the ancestral step regenerates variances 0.065 / 0.080 / 0.086 with 50 / 200 /
1000 steps per unit (it drops the posterior variance of ``x_0``), Euler–Maruyama 0.096 / 0.090 / 0.089.  The
ancestral step with clipping is used because it is the sampler the network size was validated with (the
U-Net of the full run generated recognisable zeros with it at 50 steps); at 1000 steps per unit (the U-Turn)
the two agree to O(ds).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

__all__ = ["BETA_MIN", "BETA_MAX", "S_MIN", "SAMPLER", "vp_beta_alpha", "tau_from_s", "s_from_tau", "forward_noise",
           "eps_loss", "reverse_sample"]

BETA_MIN = 0.1
BETA_MAX = 20.0
#: smallest training / sampling time: alpha(0) = 0 leaves eps undefined at s = 0 exactly
S_MIN = 1e-3
#: the reverse sampler (part of the checkpoint keys of generated statistics)
SAMPLER = "ddpm-ancestral-clip"


def vp_beta_alpha(s, beta_min: float = BETA_MIN, beta_max: float = BETA_MAX):
    """``(beta(s), alpha(s))`` for a tensor or array ``s`` (s = 0 data); same type as ``s``."""
    if isinstance(s, torch.Tensor):
        s64 = s.double()
        beta = torch.exp(-0.5 * (beta_min * s64 + 0.5 * (beta_max - beta_min) * s64 * s64))
        alpha = torch.sqrt(torch.clamp(1.0 - beta * beta, min=0.0))
        return beta.to(s.dtype if s.is_floating_point() else torch.float32), alpha.to(
            s.dtype if s.is_floating_point() else torch.float32)
    s = np.asarray(s, dtype=float)
    beta = np.exp(-0.5 * (beta_min * s + 0.5 * (beta_max - beta_min) * s * s))
    return beta, np.sqrt(np.maximum(1.0 - beta * beta, 0.0))


def tau_from_s(s):
    """flowphase's time ``tau = 1 - s`` (0 noise) from the authors' ``s`` (0 data)."""
    return 1.0 - s


def s_from_tau(tau):
    """The authors' ``s = 1 - tau`` (0 data) from flowphase's ``tau`` (0 noise)."""
    return 1.0 - tau


def _bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.reshape((-1,) + (1,) * (x.dim() - 1))


def forward_noise(x0: torch.Tensor, s: torch.Tensor, generator: Optional[torch.Generator] = None):
    """``(x_s, eps)``: the closed-form marginal ``x_s = beta(s) x0 + alpha(s) eps`` for per-sample times ``s``."""
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    beta, alpha = vp_beta_alpha(s.to(x0.dtype))
    return _bcast(beta, x0) * x0 + _bcast(alpha, x0) * eps, eps


def eps_loss(net, x0: torch.Tensor, s: torch.Tensor, generator: Optional[torch.Generator] = None):
    """Per-example unweighted ε-prediction MSE (the authors' loss) and the per-example MSE of the clipped Tweedie
    estimate of ``x0`` (the data-prediction error the online phase-aware sampler reads).

    Returns ``(loss_eps, loss_x0)``, both of shape ``(B,)``; the time is passed to the network as ``1000 s``.
    """
    xs, eps = forward_noise(x0, s, generator)
    eps_hat = net(xs, 1000.0 * s)
    dims = tuple(range(1, x0.dim()))
    loss = ((eps_hat - eps) ** 2).mean(dim=dims)
    with torch.no_grad():
        beta, alpha = vp_beta_alpha(s.to(x0.dtype))
        x0_hat = torch.clamp((xs - _bcast(alpha, xs) * eps_hat) / _bcast(beta, xs), -1.0, 1.0)
        loss_x0 = ((x0_hat - x0) ** 2).mean(dim=dims)
    return loss, loss_x0


@torch.inference_mode()
def reverse_sample(net, x: torch.Tensor, s_start, *, steps_per_unit: int, s_end: float = S_MIN,
                   generator: Optional[torch.Generator] = None, chunk: int = 1024) -> torch.Tensor:
    """Regenerate images from noisy ``x`` at per-sample start times ``s_start`` down to ``s_end``, then return the
    clipped Tweedie estimate of ``x_0`` (module docstring).

    All samples share one grid of ``steps_per_unit`` steps per unit of s on ``[s_end, 1]``; a sample joins the
    reverse chain when the grid reaches its start time (rounded to the grid), so a sample started at ``s`` takes
    ``round((s - s_end) * steps_per_unit)`` ancestral steps (the U-Turn of PAPER §6.1 with 1000 steps per unit).
    """
    if int(steps_per_unit) < 1:
        raise ValueError(f"steps_per_unit must be a positive integer, got {steps_per_unit!r}")
    n = x.shape[0]
    s0 = torch.as_tensor(s_start, dtype=torch.float64).flatten()
    if s0.numel() == 1:
        s0 = s0.expand(n).clone()
    if s0.numel() != n or bool(((s0 <= s_end) | (s0 > 1.0)).any()):
        raise ValueError(f"s_start must be one time or one per sample in ({s_end}, 1]")
    n_grid = int(round((1.0 - s_end) * steps_per_unit))
    grid = torch.linspace(1.0, s_end, n_grid + 1, dtype=torch.float64)     # descending
    start_idx = torch.clamp(torch.round((1.0 - s0) / (1.0 - s_end) * n_grid).long(), 0, n_grid - 1)
    x = x.clone().float()
    first = int(start_idx.min())
    for k in range(first, n_grid):
        act = torch.nonzero(start_idx <= k).flatten()
        if act.numel() == 0:
            continue
        s_now, s_next = float(grid[k]), float(grid[k + 1])
        b_now, a_now = (float(v) for v in vp_beta_alpha(np.array(s_now)))
        b_next, a_next = (float(v) for v in vp_beta_alpha(np.array(s_next)))
        xa = x[act]
        t_in = torch.full((xa.shape[0],), 1000.0 * s_now, dtype=torch.float32)
        eps_hat = torch.cat([net(xa[i:i + chunk], t_in[i:i + chunk]) for i in range(0, xa.shape[0], chunk)])
        x0_hat = torch.clamp((xa - a_now * eps_hat) / b_now, -1.0, 1.0)
        if k == n_grid - 1:
            x[act] = x0_hat
            continue
        b_ratio = b_now / b_next
        var_step = a_now ** 2 - b_ratio ** 2 * a_next ** 2          # Var(x_s | x_s')
        mean = (b_next * var_step / a_now ** 2) * x0_hat + (b_ratio * a_next ** 2 / a_now ** 2) * xa
        std = math.sqrt(max(var_step * a_next ** 2 / a_now ** 2, 0.0))
        z = torch.randn(xa.shape, generator=generator, dtype=xa.dtype)
        x[act] = mean + std * z
    return x
