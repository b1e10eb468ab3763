"""Drop-in PyTorch training-time samplers built from any :class:`flowphase.theory.densities.Density`.

``sampler = TimestepSampler(LogitNormal(0, 1), convention="torchcfm")`` then ``t = sampler(batch_size)`` gives a
``(batch,)`` tensor that goes straight into the time argument of the library named by the convention
(docs/shared_network.md, "Samplers"):

=======================  ===========================================  ===========================================
convention               returned value                               libraries
=======================  ===========================================  ===========================================
``torchcfm``             ``t = tau`` (0 noise, 1 data), float          torchcfm ``sample_location_and_conditional_
``flow_matching``        ``t = tau``, float                            flow(x0, x1, t=t)``; facebookresearch/
                                                                       flow_matching ``AffineProbPath.sample(x_0,
                                                                       x_1, t)``
``diffusers``            ``sigma = 1 - tau`` (1 noise, 0 data), float  diffusers' flow-matching schedulers
``diffusers-timesteps``  integer ``k = N - floor(tau N)`` in 1..N,     ``scheduler.timesteps`` of
                         ``sigma = k / N`` (int64)                     ``FlowMatchEulerDiscreteScheduler``
                                                                       (``N = num_train_timesteps``)
``edm`` / ``k-diffusion`` ``sigma = (1 - tau) / tau`` in (0, inf)      EDM / k-diffusion (linear interpolant
                                                                       divided by tau)
=======================  ===========================================  ===========================================

Sampling is inverse-cdf on torch uniforms: the density's quantile is tabulated once on ``table_size + 1`` equally
spaced levels ``u_k = k / table_size`` and interpolated linearly in torch; the two outer cells
(``u < 1/table_size`` or ``u > 1 - 1/table_size``, a fraction ``2/table_size`` of the draws) are evaluated with the
exact numpy quantile, so the tails -- where a density such as the logit-normal puts its tiny mass in the decision
window ``tau ~ 1/sqrt(d)`` -- are exact.  The law error of the table, ``sup_u |F(Q_table(u)) - u|`` over the
interior cells (a bound on the KS distance between the sampled and the exact law, up to rounding), is measured
at construction and kept in :attr:`TimestepSampler.table_error` (at the default ``table_size = 16384``: 0 for the
uniform and the dilation, <= 4e-6 for the closed-form densities, <= 1e-4 for mixtures and the adaptive samplers;
benchmarks/bench_samplers.py); float32 uniforms add their resolution ``2^-24``.

Sampling density versus loss weight
-----------------------------------
The sampler changes **where the network is trained**: with per-sample losses ``L(t_i)`` the plain mean estimates
``int p(tau) L(tau) dtau``, i.e. the density ``p`` becomes part of the objective.  To keep the **uniform
objective** ``int_0^1 L(tau) dtau`` unbiased while sampling from ``p`` (improved-diffusion's ``1/(N p)``
convention), multiply each loss by :meth:`TimestepSampler.importance_weights` ``= 1/p(tau)`` (mean 1 under the
sampler; for integer timesteps ``1/(N P(k))``).  A loss weight ``w(tau)`` is a different knob: it changes the
objective to ``int p w L``; diffusers' ``compute_loss_weighting_for_sd3`` is such a weight, its
``compute_density_for_timestep_sampling`` a sampling density.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from flowphase.theory.densities import Density

__all__ = ["CONVENTIONS", "TimestepSampler", "to_convention", "from_convention", "stratified_uniforms",
           "check_convention"]

#: the named conventions of the returned tensor (module docstring)
CONVENTIONS = ("torchcfm", "flow_matching", "diffusers", "diffusers-timesteps", "edm", "k-diffusion")
_INT_CONVENTIONS = ("diffusers-timesteps",)
_MAX_BATCH = 10 ** 9


def check_convention(convention) -> str:
    if not isinstance(convention, str) or convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    return convention


def _check_n(num_train_timesteps) -> int:
    if isinstance(num_train_timesteps, bool) or not isinstance(num_train_timesteps, (int, np.integer)) \
            or not 1 <= int(num_train_timesteps) <= 10 ** 9:
        raise ValueError(f"num_train_timesteps must be an integer in [1, 1e9], got {num_train_timesteps!r}")
    return int(num_train_timesteps)


def to_convention(tau: torch.Tensor, convention: str, num_train_timesteps: int = 1000) -> torch.Tensor:
    """flowphase time ``tau`` (0 noise, 1 data) -> the value of ``convention`` (module docstring table)."""
    convention = check_convention(convention)
    if convention in ("torchcfm", "flow_matching"):
        return tau
    if convention == "diffusers":
        return 1.0 - tau
    if convention == "diffusers-timesteps":
        n = _check_n(num_train_timesteps)
        i = torch.clamp(torch.floor(tau.double() * n), 0, n - 1).long()
        return n - i
    return (1.0 - tau) / tau  # edm, k-diffusion: sigma = (1 - tau)/tau (inf at tau = 0)


def from_convention(value: torch.Tensor, convention: str, num_train_timesteps: int = 1000) -> torch.Tensor:
    """The inverse of :func:`to_convention`: ``tau`` of a value in ``convention`` (float64 for integer timesteps).

    Integer timesteps map to the midpoint ``tau = 1 - (k - 1/2)/N`` of their cell ``[1 - k/N, 1 - (k-1)/N)``
    (exact round trip ``k -> tau -> k``).
    """
    convention = check_convention(convention)
    if convention in ("torchcfm", "flow_matching"):
        return value
    if convention == "diffusers":
        return 1.0 - value
    if convention == "diffusers-timesteps":
        n = _check_n(num_train_timesteps)
        if value.dtype.is_floating_point:
            raise ValueError("diffusers-timesteps values must be an integer tensor (1..num_train_timesteps)")
        if value.numel() and (int(value.min()) < 1 or int(value.max()) > n):
            raise ValueError(f"diffusers-timesteps values must lie in 1..{n}")
        return 1.0 - (value.double() - 0.5) / n
    return 1.0 / (1.0 + value)  # sigma -> tau = 1/(1 + sigma); sigma = inf -> 0


def stratified_uniforms(batch_size: int, *, generator=None, device=None, dtype=torch.float64) -> torch.Tensor:
    """``u_i = (i + U_i) / B``: exactly one draw in each stratum ``[i/B, (i+1)/B)``, in stratum order (the draws
    are independent given their strata; pair them with an i.i.d. data batch, whose order is already random)."""
    u = torch.rand(batch_size, generator=generator, device=device, dtype=dtype)
    return (torch.arange(batch_size, device=device, dtype=dtype) + u) / batch_size


def _batch(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or not 0 <= int(batch_size) <= _MAX_BATCH:
        raise ValueError(f"batch_size must be an integer in [0, 1e9], got {batch_size!r}")
    return int(batch_size)


class TimestepSampler:
    """Training times from a density as a ``(batch,)`` tensor (module docstring).

    Parameters
    ----------
    density : flowphase.theory.densities.Density
        The sampling density ``p(tau)`` on ``tau`` in [0, 1] (0 noise, 1 data).
    convention : str
        One of :data:`CONVENTIONS`: what the returned tensor holds.
    stratified : bool
        One draw in each of the ``batch_size`` equal-probability strata of ``p`` (in stratum order).
    num_train_timesteps : int
        ``N`` of the ``diffusers-timesteps`` convention.
    table_size : int
        Cells of the tabulated quantile (module docstring; ``table_error`` is its measured law error).
    knots : array of tau, optional
        Build the table by inverting the cdf interpolated linearly between these knots instead of calling the
        density's quantile (milliseconds instead of a second for densities inverted by Newton's method; the
        adaptive samplers pass their base's table plus the window edges).  ``table_error`` measures the result.
    dtype : torch.dtype
        Floating dtype of the returned tensor (integer timesteps are int64).

    Notes
    -----
    ``sampler(batch_size, device=None, generator=None)`` draws; the same ``torch.Generator`` state gives the same
    tensor.  :meth:`importance_weights` gives ``1/p`` (mean 1 under the sampler) to keep the uniform objective
    unbiased; sampling density and loss weight are explained in the module docstring.
    """

    def __init__(self, density: Density, *, convention: str = "torchcfm", stratified: bool = False,
                 num_train_timesteps: int = 1000, table_size: int = 16384, dtype=torch.float32, knots=None):
        if not isinstance(density, Density):
            raise ValueError(f"density must be a flowphase.theory.densities.Density, got {type(density).__name__}")
        self.density = density
        self.convention = check_convention(convention)
        self.stratified = bool(stratified)
        self.num_train_timesteps = _check_n(num_train_timesteps)
        if isinstance(table_size, bool) or not isinstance(table_size, (int, np.integer)) \
                or not 16 <= int(table_size) <= 2 ** 24:
            raise ValueError(f"table_size must be an integer in [16, 2^24], got {table_size!r}")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"dtype must be a torch floating dtype, got {dtype!r}")
        self.table_size = int(table_size)
        self.dtype = dtype
        self._build_table(knots)

    # -- table
    def _build_table(self, knots=None):
        n = self.table_size
        u = np.arange(n + 1, dtype=float) / n
        if knots is None:
            q = np.asarray(self.density.quantile(u), dtype=float)
        else:  # invert the cdf interpolated between the knots (fast for numerically inverted densities)
            tk = np.unique(np.clip(np.concatenate([np.asarray(knots, dtype=float).ravel(), [0.0, 1.0]]), 0.0, 1.0))
            fk = np.maximum.accumulate(np.asarray(self.density.cdf(tk), dtype=float))
            keep = np.concatenate([[True], np.diff(fk) > 0])
            q = np.interp(u, fk[keep], tk[keep])
            q[0] = 0.0
        q = np.maximum.accumulate(np.clip(q, 0.0, 1.0))
        self._q_np = q
        self._tables = {}
        # law error of the interior cells
        um = (np.arange(1, n - 1) + 0.5) / n  # cell midpoints: where linear interpolation errs most
        qm = 0.5 * (q[1:n - 1] + q[2:n])
        self.table_error = float(np.max(np.abs(np.asarray(self.density.cdf(qm)) - um))) if n > 2 else 0.0

    def _table(self, device, dtype) -> torch.Tensor:
        key = (str(device), dtype)
        if key not in self._tables:
            self._tables[key] = torch.as_tensor(self._q_np, dtype=dtype, device=device)
        return self._tables[key]

    def tau_from_uniform(self, u: torch.Tensor) -> torch.Tensor:
        """``Q(u)`` for a tensor ``u`` in [0, 1) (one fused interpolation kernel in u's dtype, float32 or float64),
        tabulated in the interior cells, the exact numpy quantile in the two outer cells."""
        n = self.table_size
        dt = torch.float32 if u.dtype == torch.float32 else torch.float64
        u = u.to(dt)
        q = self._table(u.device, dt).view(1, 1, 1, n + 1)
        grid = torch.zeros(u.numel(), 2, dtype=dt, device=u.device)
        grid[:, 0] = u
        grid[:, 0].mul_(2.0).sub_(1.0)
        tau = torch.nn.functional.grid_sample(q, grid.view(1, 1, -1, 2), mode="bilinear",
                                              padding_mode="border", align_corners=True).view(-1)
        tail = (u < 1.0 / n) | (u >= 1.0 - 1.0 / n)
        if bool(tail.any()):
            idx = torch.nonzero(tail).squeeze(1)
            ut = u[idx].double().cpu().numpy()
            tau[idx] = torch.as_tensor(np.asarray(self.density.quantile(np.clip(ut, 0.0, 1.0)), dtype=float),
                                       dtype=tau.dtype, device=tau.device)
        return tau

    # -- drawing
    def sample_tau(self, batch_size: int, device=None, generator: Optional[torch.Generator] = None,
                   dtype=torch.float32) -> torch.Tensor:
        """``batch_size`` draws of flowphase's ``tau`` (``dtype`` float32 or float64; stratified draws are computed
        in float64 so that no draw leaves its stratum by rounding)."""
        b = _batch(batch_size)
        gdev = generator.device if generator is not None else device
        if self.stratified:
            u = stratified_uniforms(b, generator=generator, device=gdev)
        else:
            u = torch.rand(b, generator=generator, device=gdev, dtype=dtype)
        tau = self.tau_from_uniform(u).to(dtype)
        return tau if device is None else tau.to(device)

    def __call__(self, batch_size: int, device=None, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``(batch_size,)`` training times in this sampler's convention (module docstring)."""
        # float64 uniforms where float32 would blur the result: float64 output, or integer cells finer than 2^-16
        wide = self.dtype == torch.float64 or (self.convention in _INT_CONVENTIONS and self.num_train_timesteps > 2 ** 16)
        tau = self.sample_tau(batch_size, device=device, generator=generator,
                              dtype=torch.float64 if wide else torch.float32)
        if self.convention == "edm" or self.convention == "k-diffusion":
            tau = torch.clamp(tau, min=2.0 ** -60)  # quantile(0) = 0 would give sigma = inf
        out = to_convention(tau, self.convention, self.num_train_timesteps)
        return out if self.convention in _INT_CONVENTIONS else out.to(self.dtype)

    def tau_of(self, t: torch.Tensor) -> torch.Tensor:
        """flowphase's ``tau`` of values ``t`` in this sampler's convention."""
        return from_convention(torch.as_tensor(t), self.convention, self.num_train_timesteps)

    def importance_weights(self, t: torch.Tensor) -> torch.Tensor:
        """Loss multipliers that make the mean loss over draws of this sampler an unbiased estimate of the
        **uniform** objective ``int_0^1 L(tau) dtau``: ``1/p(tau)`` (for integer timesteps ``1/(N P(k))`` with
        ``P(k)`` the mass of the cell of ``k``), mean 1 under the sampler (improved-diffusion's ``1/(N p)``).

        Raises ``ValueError`` where ``p`` vanishes (a density that is zero on part of [0, 1], such as a window-only
        density, cannot keep the uniform objective unbiased).
        """
        t = torch.as_tensor(t)
        if self.convention in _INT_CONVENTIONS:
            n = self.num_train_timesteps
            tau0 = self.tau_of(t).cpu().numpy() - 0.5 / n  # left end of the cell
            p = np.asarray(self.density.mass(np.maximum(tau0, 0.0), np.minimum(tau0 + 1.0 / n, 1.0)), dtype=float) * n
        else:
            tau = self.tau_of(t).detach().double().cpu().numpy()
            p = np.asarray(self.density.pdf(tau), dtype=float)
        if np.any(~(p > 0)) or np.any(~np.isfinite(p)):
            raise ValueError("importance_weights: the sampling density vanishes (or is infinite) at some of t; "
                             "the uniform objective cannot be kept unbiased there")
        dev = t.device
        return torch.as_tensor(1.0 / p, dtype=self.dtype, device=dev)

    def to_dict(self) -> dict:
        return {"density": self.density.to_dict(), "convention": self.convention, "stratified": self.stratified,
                "num_train_timesteps": self.num_train_timesteps, "table_size": self.table_size,
                "table_error": self.table_error}

    def __repr__(self):
        return (f"TimestepSampler({self.density.spec!r}, convention={self.convention!r}, "
                f"stratified={self.stratified})")

