"""Does the theory's ranking of training densities survive a network shared over time? (docs/shared_network.md)

The atlas (``flowphase schedule evaluate``) ranks densities on the paper's model: a denoiser trained per time on
the density's grid of T = 80 times and sampled by Euler on that grid.  Real models share one network over all
times and are sampled on a grid of the user's choice.  Here a PyTorch velocity MLP with a time embedding
(:class:`VelocityMLP`) is trained by conditional flow matching,

    x_tau = (1 - tau) x0 + tau x1,   x0 ~ N(0, I_d) (noise),   x1 ~ data,   loss = |v(x_tau, tau) - (x1 - x0)|^2 / d,

(flowphase's linear interpolant, :class:`flowphase.theory.problem.LinearInterpolant`: alpha = 1 - tau multiplies the
noise) on fresh data at every step (n = infinity), at equal budget (steps, batch, network, optimiser) with the
training times drawn from each arm's sampler, and every model is sampled with one ODE solver on one grid for all
arms: Heun on a uniform grid of ``ode_steps`` steps of tau.  A diagnostic second sampler is the atlas's own:
Euler on the arm density's grid ``tau_k = F^{-1}(k/80)``, so that the effect of the training density and that
of the sampler's grid can be told apart.  The same two samplers applied to the exact (Bayes) velocity field
(:func:`bayes_p_hat`, the flow closes on ``y = mu.x/sqrt(d)``) give the solver's own error and the atlas's
per-time number.

Problems: the two-mode mixture ``p N(+mu, sigma^2) + (1-p) N(-mu, sigma^2)``, ``|mu|^2 = d`` (p = 0.8,
sigma = 1), at several d, and a 4-mode hierarchy (:class:`flowphase.theory.mixtures.Hierarchy`).  Measured per
model: p_hat (fraction of generated points in the mode of weight p, by the sign of ``mu.x``; K modes: the nearest
mean), the + mode's mean ``<mu.x>/d`` and within-mode variance ``|x - mu|^2/d``; over seeds: means and standard
errors.  One JSON per (problem, d, arm, seed) under ``OUT/shared-network-runs/`` makes the run resumable.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from flowphase.numerics.detect import detect_windows, gmm_bayes_mse
from flowphase.theory.densities import Density, Dilation, LogitNormal, Uniform, phase_aware
from flowphase.theory.mixtures import Hierarchy
from flowphase.validation._io import atomic_write_json

from .adaptive import PhaseAwareSampler
from .samplers import TimestepSampler

__all__ = ["ARMS", "HIERARCHY", "ExperimentConfig", "QUICK", "FULL", "VelocityMLP", "two_mode_window",
           "hierarchy_window", "make_sampler", "train_model", "generate", "measure", "bayes_p_hat", "field_diagnostic", "run_one",
           "run_experiment", "summarise"]

#: the arms, in plotting order
ARMS = ("uniform", "logit-normal", "dilation", "phase-aware", "online")
#: the 4-mode hierarchy of the experiment: the weights of the ``hierarchy`` figure's example, sibling separations
#: eps = 0.3, large enough for every mode to be told apart at d = 256 (sibling distance 6.8 sigma, nearest-mean
#: error < 1e-3)
HIERARCHY = Hierarchy(coarse=(0.6, 0.4), fine=((0.8, 0.2), (0.6, 0.4)), eps=(0.3, 0.3))
P, SIGMA, KAPPA, MASS = 0.8, 1.0, 2.0, 0.5


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes of one run (equal for every arm)."""

    ds: tuple = (256, 1024, 4096)
    hierarchy_d: Optional[int] = 256
    seeds: tuple = (0, 1, 2, 3, 4)
    steps: int = 500
    batch: int = 256
    width: int = 64
    lr: float = 2e-3
    n_gen: int = 800
    ode_steps: int = 200
    atlas_T: int = 80
    online_bins: int = 256
    online_every: int = 50
    arms: tuple = ARMS

    def to_dict(self):
        return asdict(self)


QUICK = ExperimentConfig(ds=(256,), hierarchy_d=None, seeds=(0, 1, 2), steps=300, n_gen=500, ode_steps=100,
                         arms=("uniform", "logit-normal", "dilation"))
FULL = ExperimentConfig()


# ----------------------------------------------------------------------------- the network
class VelocityMLP(torch.nn.Module):
    """``v(x, tau) = a(tau) x + W_out h``, ``h = MLP(W_in x + E(tau))``: a two-hidden-layer SiLU MLP of width
    ``width`` with the sinusoidal time embedding of DDPM (``1000 tau``, 64 frequencies from 1 to 1e-4) and a learned
    time-dependent skip ``a(tau)`` (a width-``width`` bottleneck cannot carry the identity part of the velocity;
    the skip plays the role of EDM's ``c_skip``)."""

    def __init__(self, d: int, width: int = 64, emb: int = 64):
        super().__init__()
        self.emb = emb
        self.time = torch.nn.Sequential(torch.nn.Linear(emb, width), torch.nn.SiLU(), torch.nn.Linear(width, width))
        self.inp = torch.nn.Linear(d, width)
        self.hid = torch.nn.Linear(width, width)
        self.out = torch.nn.Linear(width, d)
        self.skip = torch.nn.Linear(width, 1)
        half = emb // 2
        self.register_buffer("freqs", torch.exp(-math.log(1e4) * torch.arange(half) / half))

    def embed(self, tau):
        a = 1000.0 * tau[:, None] * self.freqs[None, :]
        return self.time(torch.cat([torch.sin(a), torch.cos(a)], dim=1))

    def forward(self, x, tau):
        e = self.embed(tau)
        h = torch.nn.functional.silu(self.inp(x) + e)
        h = torch.nn.functional.silu(self.hid(h) + e)
        return self.skip(torch.nn.functional.silu(e)) * x + self.out(h)


# ----------------------------------------------------------------------------- problems and windows
def _means(problem: str, d: int) -> np.ndarray:
    if problem == "two-mode":
        return np.stack([np.ones(d), -np.ones(d)])
    return HIERARCHY.mixture(d).means(d)


def _weights(problem: str, d: int) -> np.ndarray:
    return np.array([P, 1.0 - P]) if problem == "two-mode" else HIERARCHY.mixture(d).p


def two_mode_window(d: float) -> tuple:
    """The theory's decision window of the two-mode mixture: the detector on the finite-d Bayes MSE (PAPER §4),
    extended to tau = 0 (the grid starts there)."""
    tau = np.linspace(0.0, 0.999, 2000)
    wins = detect_windows(tau, gmm_bayes_mse(tau, d, p=P, sigma=SIGMA))
    if not wins:
        raise ValueError(f"no decision window of the two-mode Bayes MSE at d = {d} (d too small)")
    w = max(wins, key=lambda w: w.size)
    return (0.0, float(w.end))


def hierarchy_window(d: float) -> tuple:
    """The 4-mode hierarchy's merged decision window (:func:`flowphase.numerics.multimode.windows.analyse_windows`)."""
    from flowphase.numerics.multimode.windows import analyse_windows

    an = analyse_windows(HIERARCHY.mixture(d), d, m=9)
    return (0.0, float(max(w["end"] for w in an.windows)))


def arm_density(arm: str, problem: str, d: int) -> Density:
    """The fixed training density of an arm (the online arm starts from the logit-normal)."""
    if arm == "uniform":
        return Uniform()
    if arm in ("logit-normal", "online"):
        return LogitNormal(0.0, 1.0)
    if arm == "dilation":
        return Dilation(KAPPA, d)
    if arm == "phase-aware":
        win = two_mode_window(d) if problem == "two-mode" else hierarchy_window(d)
        return phase_aware(LogitNormal(0.0, 1.0), [win], MASS)
    raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")


def make_sampler(arm: str, problem: str, d: int, cfg: ExperimentConfig):
    dens = arm_density(arm, problem, d)
    if arm == "online":
        return PhaseAwareSampler(dens, mass=MASS, n_bins=cfg.online_bins, detect_every=cfg.online_every,
                                 loss_kind="velocity")
    return TimestepSampler(dens)


# ----------------------------------------------------------------------------- training and sampling
def _data(means_t, weights_t, n, generator):
    k = torch.multinomial(weights_t, n, replacement=True, generator=generator)
    return means_t[k] + SIGMA * torch.randn(n, means_t.shape[1], generator=generator), k


def train_model(problem: str, d: int, arm: str, seed: int, cfg: ExperimentConfig):
    """Train one network; returns (model, sampler, seconds, final mean loss)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(10_000 + seed)
    model = VelocityMLP(d, cfg.width)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sampler = make_sampler(arm, problem, d, cfg)
    means_t = torch.as_tensor(_means(problem, d), dtype=torch.float32)
    weights_t = torch.as_tensor(_weights(problem, d), dtype=torch.float32)
    t0 = time.perf_counter()
    losses = []
    for step in range(cfg.steps):
        tau = sampler(cfg.batch, generator=g)
        x1, _ = _data(means_t, weights_t, cfg.batch, g)
        x0 = torch.randn(cfg.batch, d, generator=g)
        xt = (1.0 - tau[:, None]) * x0 + tau[:, None] * x1
        per = ((model(xt, tau) - (x1 - x0)) ** 2).mean(dim=1)
        loss = per.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if hasattr(sampler, "update"):
            sampler.update(tau, per.detach())
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"training diverged ({problem}, d={d}, arm={arm}, seed={seed}, step={step})")
    return model, sampler, time.perf_counter() - t0, float(np.mean(losses[-50:]))


@torch.no_grad()
def generate(field, d: int, n: int, grid: np.ndarray, method: str, seed: int) -> torch.Tensor:
    """Integrate ``dx/dtau = field(x, tau)`` from ``x0 ~ N(0, I)`` at ``grid[0]`` to ``tau = 1`` (``grid`` holds the
    left ends of the steps); ``method`` ``"heun"`` or ``"euler"`` (field at the left end, the atlas's rule)."""
    g = torch.Generator().manual_seed(20_000 + seed)
    x = torch.randn(n, d, generator=g)
    ts = np.concatenate([np.asarray(grid, dtype=float), [1.0]])
    for a, b in zip(ts[:-1], ts[1:]):
        h = float(b - a)
        if h <= 0:
            continue
        ta = torch.full((n,), float(a))
        k1 = field(x, ta)
        if method == "euler":
            x = x + h * k1
        else:
            k2 = field(x + h * k1, torch.full((n,), float(b)))
            x = x + 0.5 * h * (k1 + k2)
    return x


def measure(problem: str, d: int, x: torch.Tensor) -> dict:
    """p_hat of every mode (two-mode: sign of mu.x; K modes: nearest mean) and the + / first mode's mean and
    within-mode variance."""
    M = torch.as_tensor(_means(problem, d), dtype=torch.float32)
    k = torch.argmax(x @ M.T, dim=1).numpy()
    K = M.shape[0]
    p_hat = np.bincount(k, minlength=K) / len(k)
    sel = torch.as_tensor(k == 0)
    xs = x[sel]
    mean0 = float((xs @ M[0]).mean() / d) if len(xs) else float("nan")
    var0 = float(((xs - M[0]) ** 2).sum(1).mean() / d) if len(xs) else float("nan")
    out = {"p_hat_modes": p_hat.tolist(), "max_weight_error": float(np.max(np.abs(p_hat - _weights(problem, d)))),
           "p_hat": float(p_hat[0]), "mode_mean": mean0, "mode_var": var0}
    return out


def bayes_p_hat(d: float, grid: np.ndarray, method: str, n: int = 200_000, seed: int = 0) -> float:
    """p_hat of the exact (Bayes) two-mode velocity field with the same solver and grid, on ``y = mu.x/sqrt(d)``:
    ``v_y = [m sqrt(d) alpha + y (tau sigma^2 - alpha)]/D``, ``m = tanh(h + tau sqrt(d) y/D)``,
    ``D = alpha^2 + tau^2 sigma^2``, ``alpha = 1 - tau``."""
    h = 0.5 * math.log(P / (1.0 - P))
    rd = math.sqrt(d)
    y = np.random.default_rng(seed).standard_normal(n)

    def v(y, t):
        a = 1.0 - t
        D = a * a + t * t * SIGMA ** 2
        return (np.tanh(h + t * rd * y / D) * rd * a + y * (t * SIGMA ** 2 - a)) / D

    ts = np.concatenate([np.asarray(grid, dtype=float), [1.0]])
    for a, b in zip(ts[:-1], ts[1:]):
        hstep = b - a
        if hstep <= 0:
            continue
        k1 = v(y, a)
        y = y + hstep * k1 if method == "euler" else y + 0.5 * hstep * (k1 + v(y + hstep * k1, b))
    return float(np.mean(y > 0))


@torch.no_grad()
def field_diagnostic(model, d: int, taus: Sequence[float] = (0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32),
                     n: int = 2000, seed: int = 123) -> List[dict]:
    """The learned two-mode velocity against the Bayes velocity on samples of ``x_tau``: the mean drift along the
    means, ``<mu.v>/d`` (Bayes: ``2p - 1 = 0.6`` at tau = 0, the push towards the majority mode), and the field error
    ``|v - v_Bayes|^2 / d``.  Used in docs/shared_network.md to show why a window-starved density loses p."""
    g = torch.Generator().manual_seed(seed)
    h = 0.5 * math.log(P / (1.0 - P))
    mu = torch.ones(d)
    rows = []
    for t in taus:
        s = torch.where(torch.rand(n, generator=g) < P, 1.0, -1.0)
        x1 = s[:, None] * mu + SIGMA * torch.randn(n, d, generator=g)
        x = (1.0 - t) * torch.randn(n, d, generator=g) + t * x1
        a = 1.0 - t
        D = a * a + t * t * SIGMA ** 2
        m = torch.tanh(h + t * (x @ mu) / D)
        vb = (m[:, None] * mu * a + x * (t * SIGMA ** 2 - a)) / D
        vn = model(x, torch.full((n,), float(t)))
        rows.append({"tau": float(t), "drift": float((vn @ mu).mean() / d), "drift_bayes": float((vb @ mu).mean() / d),
                     "field_error": float(((vn - vb) ** 2).mean())})
    return rows


# ----------------------------------------------------------------------------- one model, the whole run
def _run_path(out_dir: Path, problem: str, d: int, arm: str, seed: int, cfg: ExperimentConfig) -> Path:
    tag = f"w{cfg.width}-s{cfg.steps}-b{cfg.batch}-n{cfg.n_gen}-o{cfg.ode_steps}"
    return out_dir / "shared-network-runs" / f"{problem}-d{d}-{arm}-seed{seed}-{tag}.json"


def run_one(problem: str, d: int, arm: str, seed: int, cfg: ExperimentConfig, *, out_dir=None) -> dict:
    """Train, sample on the fine grid and on the atlas grid, measure; cached as one JSON under
    ``out_dir/shared-network-runs``."""
    path = None
    if out_dir is not None:
        path = _run_path(Path(out_dir), problem, d, arm, seed, cfg)
        if path.exists():
            return json.loads(path.read_text())
    model, sampler, secs, final_loss = train_model(problem, d, arm, seed, cfg)
    model.eval()
    fine = np.arange(cfg.ode_steps) / cfg.ode_steps
    t0 = time.perf_counter()
    res = {"problem": problem, "d": d, "arm": arm, "seed": seed, "train_seconds": secs, "final_loss": final_loss,
           "fine": measure(problem, d, generate(model, d, cfg.n_gen, fine, "heun", seed))}
    dens = sampler.density  # the online arm: its final density
    res["atlas_grid"] = measure(problem, d, generate(model, d, cfg.n_gen, dens.grid(cfg.atlas_T), "euler", seed))
    res["sample_seconds"] = time.perf_counter() - t0
    if arm == "online":
        res["online_windows"] = [list(w) for w in sampler.windows]
        res["online_detections"] = sampler.detections
        res["online_window_mass"] = sampler.window_mass()
    res["density"] = dens.spec
    if path is not None:
        atomic_write_json(path, res)
    return res


def _stats(vals) -> dict:
    v = np.asarray(vals, dtype=float)
    return {"mean": float(v.mean()), "se": float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan"),
            "values": v.tolist()}


def summarise(runs: List[dict]) -> Dict:
    """Per (problem, d, arm): mean and standard error over seeds of every measured number."""
    groups: Dict = {}
    for r in runs:
        groups.setdefault((r["problem"], r["d"], r["arm"]), []).append(r)
    rows = []
    for (problem, d, arm), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], ARMS.index(kv[0][2]))):
        row = {"problem": problem, "d": d, "arm": arm, "seeds": len(rs), "density": rs[0]["density"]}
        for where in ("fine", "atlas_grid"):
            row[where] = {key: _stats([r[where][key] for r in rs])
                          for key in ("p_hat", "max_weight_error", "mode_mean", "mode_var")}
        row["train_seconds"] = float(np.mean([r["train_seconds"] for r in rs]))
        if arm == "online":
            row["online_windows"] = [r["online_windows"] for r in rs]
            row["online_window_mass"] = _stats([r["online_window_mass"] for r in rs])
        rows.append(row)
    return rows


def run_experiment(cfg: ExperimentConfig, out_dir=None, progress: bool = False) -> dict:
    """Every (problem, d, arm, seed) of ``cfg`` (cached per model), the Bayes-field references, the summary."""
    torch.set_num_threads(1)
    tasks = [("two-mode", d) for d in cfg.ds] + ([("hierarchy", cfg.hierarchy_d)] if cfg.hierarchy_d else [])
    jobs = [(pr, d, arm, s) for pr, d in tasks for arm in cfg.arms for s in cfg.seeds]
    it = jobs
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(jobs, desc="shared network: models")
    runs = [run_one(pr, d, arm, s, cfg, out_dir=out_dir) for pr, d, arm, s in it]
    bayes = []
    fine = np.arange(cfg.ode_steps) / cfg.ode_steps
    for d in cfg.ds:
        row = {"d": d, "window": list(two_mode_window(d)), "fine_heun": bayes_p_hat(d, fine, "heun"), "atlas": {}}
        for arm in cfg.arms:
            if arm != "online":
                row["atlas"][arm] = bayes_p_hat(d, arm_density(arm, "two-mode", d).grid(cfg.atlas_T), "euler")
        bayes.append(row)
    out = {"config": cfg.to_dict(), "p": P, "sigma": SIGMA, "kappa": KAPPA, "mass": MASS,
           "hierarchy": HIERARCHY.to_dict(), "bayes": bayes, "rows": summarise(runs),
           "solver": f"Heun on the uniform grid of {cfg.ode_steps} steps of tau (the same for every arm); diagnostic: "
                     f"Euler on the arm density's grid F^-1(k/{cfg.atlas_T})"}
    if cfg.hierarchy_d:
        out["hierarchy_window"] = list(hierarchy_window(cfg.hierarchy_d))
    return out
