"""Drop-in PyTorch samplers (validation/pytorch/samplers.py, adaptive.py) against independent references:
scipy's KS test against each density's exact cdf, the convention formulas and diffusers' own scheduler, Monte-Carlo
integrals with their standard errors, and planted synthetic losses."""
import io
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy import stats  # noqa: E402

from flowphase.theory.densities import (Beta, CosMap, Dilation, EDMLogNormal, LogitNormal, MixtureDensity,  # noqa
                                        ModeSampling, ResolutionShift, Uniform, Windows, phase_aware)
from flowphase.validation.pytorch.adaptive import LossAwareSampler, PhaseAwareSampler  # noqa: E402
from flowphase.validation.pytorch.samplers import (CONVENTIONS, TimestepSampler, from_convention,  # noqa: E402
                                                   to_convention)
from flowphase.validation.tolerances import tolerance  # noqa: E402

DENSITIES = [Uniform(), LogitNormal(0.0, 1.0), LogitNormal(-0.5, 0.7), ModeSampling(1.29), CosMap(),
             EDMLogNormal(-1.2, 1.2), Beta(2.0, 3.0), ResolutionShift(3.0, Uniform()), Dilation(2.0, 1e4),
             Windows([(0.1, 0.2), (0.5, 0.6)], [0.3, 0.4]),
             phase_aware(LogitNormal(0.0, 1.0), [(0.0, 0.02)], 0.5)]
K = tolerance("sampler_monte_carlo").k


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("dens", DENSITIES, ids=lambda d: d.spec)
def test_sampled_law_is_the_density(dens):
    s = TimestepSampler(dens)
    assert s.table_error < 5e-5
    t = s(100_000, generator=_gen(1)).double().numpy()
    assert t.shape == (100_000,) and np.all((t >= 0) & (t <= 1))
    ks = stats.kstest(t, dens.cdf)
    assert ks.pvalue > 1e-3, (dens.spec, ks)


@pytest.mark.parametrize("dens", [LogitNormal(0.0, 1.0), EDMLogNormal(-1.2, 1.2)], ids=lambda d: d.spec)
def test_tail_mass_in_the_decision_window_is_exact(dens):
    """The tiny mass a logit-normal puts in tau < 1/sqrt(d) (d = 2500) comes out right (exact outer cells)."""
    s = TimestepSampler(dens)
    n = 2_000_000
    t = s(n, generator=_gen(2)).double().numpy()
    a = 0.02
    expect = dens.mass(0.0, a) * n
    got = np.sum(t <= a)
    assert abs(got - expect) <= K * math.sqrt(expect) + 1, (got, expect)


def test_convention_round_trips_and_formulas():
    tau = torch.rand(10_000, generator=_gen(3), dtype=torch.float64).clamp_min(1e-9)
    for conv in CONVENTIONS:
        v = to_convention(tau, conv, 1000)
        back = from_convention(v, conv, 1000)
        if conv == "diffusers-timesteps":
            assert v.dtype == torch.int64 and int(v.min()) >= 1 and int(v.max()) <= 1000
            assert torch.allclose(back, (torch.floor(tau * 1000) + 0.5) / 1000)
            k = torch.arange(1, 1001)
            assert torch.equal(to_convention(from_convention(k, conv, 1000), conv, 1000), k)
        else:
            assert torch.allclose(back, tau, rtol=1e-12, atol=1e-12), conv
    assert torch.allclose(to_convention(tau, "diffusers"), 1 - tau)
    assert torch.allclose(to_convention(tau, "edm"), (1 - tau) / tau)
    assert torch.equal(to_convention(tau, "torchcfm"), tau)


def test_conventions_draw_the_same_times():
    base = TimestepSampler(LogitNormal(0.3, 1.1))(5000, generator=_gen(4)).double()
    for conv in CONVENTIONS:
        s = TimestepSampler(LogitNormal(0.3, 1.1), convention=conv)
        t = s(5000, generator=_gen(4))
        assert torch.allclose(s.tau_of(t).double(), base if conv != "diffusers-timesteps"
                              else (torch.floor(base * 1000) + 0.5) / 1000, rtol=1e-5, atol=1e-6), conv


def test_diffusers_timesteps_match_diffusers_logit_normal_pipeline():
    """diffusers' SD3 training draws u = sigmoid(N(m, s)), indices = (u N).long(), timesteps[indices] of
    FlowMatchEulerDiscreteScheduler.  diffusers' u is tau (index 0 = timestep N = noise), so its logit_mean m is the
    mean of logit(tau): flowphase's LogitNormal(-m, s) (SD3's parameter, logit of t = 1 - tau), not LogitNormal(m, s)."""
    diffusers = pytest.importorskip("diffusers")
    from diffusers.training_utils import compute_density_for_timestep_sampling

    sched = diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000)
    n, m, s = 200_000, 0.7, 0.8
    u = compute_density_for_timestep_sampling("logit_normal", n, logit_mean=m, logit_std=s, generator=_gen(5))
    ref = sched.timesteps[(u * 1000).long()].double()
    ours = TimestepSampler(LogitNormal(-m, s), convention="diffusers-timesteps")(n, generator=_gen(6)).double()
    wrong = TimestepSampler(LogitNormal(m, s), convention="diffusers-timesteps")(n, generator=_gen(6)).double()
    assert abs(float(ref.mean() - wrong.mean())) > 100 * K * math.sqrt(ref.var() / n + wrong.var() / n)
    se = math.sqrt(ref.var() / n + ours.var() / n)
    assert abs(float(ref.mean() - ours.mean())) <= K * se
    assert torch.allclose(sched.sigmas[:1000].double(), sched.timesteps.double() / 1000, atol=1e-6)
    # the sigma convention: sigma = k / N
    sig = TimestepSampler(LogitNormal(-m, s), convention="diffusers")(n, generator=_gen(6)).double()
    assert torch.allclose(torch.ceil(sig * 1000 - 1e-6).clamp(1, 1000), ours, atol=1.0)


def test_generator_reproducibility():
    for s in (TimestepSampler(Beta(2.0, 3.0)), TimestepSampler(Beta(2.0, 3.0), stratified=True),
              LossAwareSampler(n_bins=10), PhaseAwareSampler(LogitNormal(0.0, 1.0))):
        a, b, c = s(1000, generator=_gen(7)), s(1000, generator=_gen(7)), s(1000, generator=_gen(8))
        assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("dens", [Uniform(), LogitNormal(0.0, 1.0), Dilation(2.0, 400)], ids=lambda d: d.spec)
def test_stratified_one_draw_per_stratum(dens):
    B = 997
    s = TimestepSampler(dens, stratified=True, dtype=torch.float64)
    t = s(B, generator=_gen(9)).numpy()
    F = np.sort(dens.cdf(t))
    j = np.arange(B)
    slack = s.table_error + 1e-12
    assert np.all(F >= j / B - slack) and np.all(F <= (j + 1) / B + slack)
    assert np.all(np.diff(t) >= 0)  # in stratum order


@pytest.mark.parametrize("dens", [Dilation(2.0, 1e4), Beta(1.5, 1.5),
                                  MixtureDensity([LogitNormal(0.0, 1.0), Uniform()], [0.7, 0.3])],
                         ids=lambda d: d.spec)
def test_importance_weights_keep_the_uniform_objective_unbiased(dens):
    """E_p[w(t) L(t)] = int_0^1 L = (e^2 - 1)/2 for L = e^(2 tau); the weights have mean 1 under the sampler."""
    s = TimestepSampler(dens, dtype=torch.float64)
    t = s(400_000, generator=_gen(10))
    w = s.importance_weights(t).numpy()
    y = w * np.exp(2 * t.numpy())
    ref = (math.e ** 2 - 1) / 2
    assert abs(y.mean() - ref) <= K * y.std() / math.sqrt(len(y))
    assert abs(w.mean() - 1.0) <= K * w.std() / math.sqrt(len(w))
    # the plain mean estimates the re-weighted objective int p L instead: a measurable difference here
    assert abs(np.exp(2 * t.numpy()).mean() - ref) > K * np.exp(2 * t.numpy()).std() / math.sqrt(len(y))


def test_importance_weights_integer_timesteps_are_1_over_N_P():
    s = TimestepSampler(Beta(2.0, 2.0), convention="diffusers-timesteps", num_train_timesteps=50)
    k = s(300_000, generator=_gen(11))
    w = s.importance_weights(k).double().numpy()
    L = np.cos(k.numpy() / 10.0) + 2.0
    ref = np.mean(np.cos(np.arange(1, 51) / 10.0) + 2.0)
    y = w * L
    assert abs(y.mean() - ref) <= K * y.std() / math.sqrt(len(y))


def test_importance_weights_refuse_a_window_only_density():
    s = TimestepSampler(Windows([(0.2, 0.4)], [1.0]))
    with pytest.raises(ValueError, match="vanishes"):
        s.importance_weights(torch.tensor([0.1, 0.3]))


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="convention"):
        TimestepSampler(Uniform(), convention="ddpm")
    with pytest.raises(ValueError, match="density"):
        TimestepSampler("uniform")
    with pytest.raises(ValueError, match="batch_size"):
        TimestepSampler(Uniform())(-1)
    with pytest.raises(ValueError, match="mass"):
        PhaseAwareSampler(Uniform(), mass=1.5)
    with pytest.raises(ValueError, match="n_bins"):
        LossAwareSampler(n_bins=1)


def _feed(s, steps, gen, f, noise=0.1):
    for _ in range(steps):
        t = s(256, generator=gen)
        tau = s_tau(s, t)
        s.update(t, f(tau) * (1.0 + noise * torch.randn(256, generator=gen, dtype=torch.float64)))


def s_tau(s, t):
    return from_convention(t, s.convention, s.num_train_timesteps).double()


@pytest.mark.parametrize("cls", ["loss", "phase"])
def test_adaptive_state_round_trip(cls):
    def make():
        return LossAwareSampler(n_bins=20) if cls == "loss" else PhaseAwareSampler(
            LogitNormal(0.0, 1.0), n_bins=64, detect_every=10, loss_kind="data")

    a = make()
    g = _gen(12)
    _feed(a, 60, g, lambda tau: 1.0 + 0.5 * (1 - torch.tanh((tau - 0.3) / 0.02)))
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = make()
    b.load_state_dict(torch.load(buf, weights_only=False))
    assert torch.equal(a(5000, generator=_gen(13)), b(5000, generator=_gen(13)))
    # the same further updates keep them identical
    ga, gb = _gen(14), _gen(14)
    _feed(a, 25, ga, lambda tau: 1.0 + tau)
    _feed(b, 25, gb, lambda tau: 1.0 + tau)
    assert torch.equal(a(5000, generator=_gen(15)), b(5000, generator=_gen(15)))
    with pytest.raises(ValueError):
        (LossAwareSampler(n_bins=20) if cls == "phase" else PhaseAwareSampler(Uniform())).load_state_dict(
            a.state_dict())


def test_loss_aware_converges_to_sqrt_second_moment():
    """Bin j's probability -> (1 - u) sqrt(E[L_j^2]) / sum + u / n_bins (improved-diffusion), L piecewise constant."""
    nb, u = 40, 0.001
    s = LossAwareSampler(n_bins=nb, uniform_prob=u)
    lev = 1.0 + 4.0 * np.arange(nb) / nb
    g = _gen(16)
    f = lambda tau: torch.as_tensor(lev)[torch.clamp((tau * nb).long(), 0, nb - 1)]  # noqa: E731
    assert np.allclose(s.weights(), 1.0 / nb)  # uniform until every bin is full
    _feed(s, 200, g, f, noise=0.1)
    ref = lev * math.sqrt(1.01)
    ref = (1 - u) * ref / ref.sum() + u / nb
    w = s.weights()
    # relative s.e. of sqrt(mean of 10 squares of (1 + 0.1 xi)) is about 0.2 / sqrt(10) / 2 = 0.032
    assert np.max(np.abs(w / ref - 1.0)) <= K * 0.032
    # the draws follow the weights
    n = 200_000
    t = s(n, generator=_gen(17)).double().numpy()
    freq = np.bincount(np.clip((t * nb).astype(int), 0, nb - 1), minlength=nb) / n
    assert np.all(np.abs(freq - w) <= K * np.sqrt(w * (1 - w) / n) + 1e-12)
    iw = s.importance_weights(torch.as_tensor(t[:1000])).double().numpy()
    assert np.allclose(iw, 1.0 / (nb * w[np.clip((t[:1000] * nb).astype(int), 0, nb - 1)]), rtol=1e-6)


def test_phase_aware_finds_a_planted_jump_window():
    """A data-prediction MSE with a tanh drop of width 0.01 at tau = 0.3: the detector's window contains 0.3, is
    narrow, and the sampler moves `mass` there (base logit-normal, 5 % uniform exploration)."""
    s = PhaseAwareSampler(LogitNormal(0.0, 1.0), mass=0.5, n_bins=200, detect_every=20, loss_kind="data")
    assert s.windows == []
    _feed(s, 100, _gen(18), lambda tau: 1.0 + 0.5 * (1 - torch.tanh((tau - 0.3) / 0.01)), noise=0.05)
    assert len(s.windows) == 1 and s.detections == 5
    a, b = s.windows[0]
    assert a < 0.3 < b and b - a < 0.1
    base = LogitNormal(0.0, 1.0).mass(a, b)
    expect = 0.95 * (0.5 + 0.5 * base) + 0.05 * (b - a)
    assert abs(s.window_mass() - expect) < 1e-9
    n = 100_000
    t = s(n, generator=_gen(19)).double().numpy()
    frac = np.mean((t >= a) & (t <= b))
    assert abs(frac - expect) <= K * math.sqrt(expect * (1 - expect) / n)


def test_phase_aware_velocity_loss_is_converted_to_the_mse():
    """A velocity loss eps(tau)/(1 - tau)^2 with a smooth eps has no window once converted; unconverted ('data')
    the 1/(1 - tau)^2 blow-up near tau = 1 is flagged."""
    f = lambda tau: (1.0 - 0.5 * tau) / (1.0 - tau).clamp_min(1e-4) ** 2  # noqa: E731
    conv = PhaseAwareSampler(Uniform(), n_bins=100, detect_every=50, loss_kind="velocity")
    raw = PhaseAwareSampler(Uniform(), n_bins=100, detect_every=50, loss_kind="data")
    _feed(conv, 50, _gen(20), f, noise=0.0)
    _feed(raw, 50, _gen(20), f, noise=0.0)
    assert conv.windows == []
    assert len(raw.windows) >= 1 and raw.windows[-1][1] > 0.9
