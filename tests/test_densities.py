"""Training-time densities (theory/densities.py) and time conventions (theory/conventions.py).

References: scipy.stats.kstest of the draws against the cdf; the draws of each family's *own* recipe (SD3's formulas
in SD3's t = 1 - tau, EDM's ln sigma ~ N, the paper's tau(t) on t in [0, 2]) against our cdf; scipy quad for the
normalisation; central differences of the cdf for the pdf.
"""
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from flowphase.theory import conventions as cv
from flowphase.theory import densities as dn

D = 1e4
SPECS = ["uniform", "logit-normal:0,1", "logit-normal:0.5,0.7", "mode:1.29", "mode:-0.5", "cosmap", "edm:-1.2,1.2",
         "beta:2,3", "beta:0.5,0.5", "shift:3", "shift:3,logit-normal:0,1", "dilation:2",
         "windows:0.01-0.05=0.4;0.3-0.4=0.2", "phase-aware:logit-normal:0,1@0.01-0.06,0.5",
         "phase-aware:cosmap@0.001-0.01=0.3;0.2-0.3=0.7,0.25", "mix:0.5*uniform+0.5*logit-normal:0,1",
         "mix:0.25*beta:2,3+0.75*mode:1"]


@pytest.fixture(params=SPECS)
def density(request):
    return dn.parse_density(request.param, d=D)


def _kinks(den):
    """Break points of piecewise parts (for quad)."""
    pts = set()
    stack = [den]
    while stack:
        x = stack.pop()
        if isinstance(x, dn.Windows):
            pts.update(float(e) for e in x._edges)
        if isinstance(x, dn.MixtureDensity):
            stack.extend(x.components)
    return sorted(p for p in pts if 0 < p < 1)


def test_sample_matches_cdf_ks(density):
    x = density.sample(4000, np.random.default_rng(1))
    assert x.shape == (4000,) and np.all((x >= 0) & (x <= 1))
    assert stats.kstest(x, density.cdf).pvalue > 1e-3


def test_pdf_normalised_and_derivative_of_cdf(density):
    pts = _kinks(density)
    total, _ = integrate.quad(density.pdf, 0.0, 1.0, points=pts or None, limit=400)
    assert total == pytest.approx(1.0, abs=2e-6)
    tau = np.linspace(0.02, 0.98, 49)
    tau = tau[np.min(np.abs(tau[:, None] - np.asarray(pts + [2.0])[None, :]), axis=1) > 2e-4]
    h = 1e-6
    fd = (density.cdf(tau + h) - density.cdf(tau - h)) / (2 * h)
    np.testing.assert_allclose(density.pdf(tau), fd, rtol=1e-5, atol=1e-6)


def test_quantile_inverts_cdf_and_grid(density):
    u = np.linspace(0.0, 1.0, 101)
    q = density.quantile(u)
    assert np.all(np.diff(q) >= 0) and q[0] == 0.0 and q[-1] == 1.0
    np.testing.assert_allclose(density.cdf(q), u, atol=1e-12)
    g = density.grid(80)
    assert g.shape == (80,) and g[0] == 0.0
    np.testing.assert_allclose(density.cdf(g), np.arange(80) / 80, atol=1e-12)
    assert density.mass(0.1, 0.3) == pytest.approx(density.cdf(0.3) - density.cdf(0.1))
    assert isinstance(density.quantile(0.5), float) and isinstance(density.pdf(0.5), float)


def test_dict_and_spec_round_trip(density):
    import json

    back = dn.density_from_dict(json.loads(json.dumps(density.to_dict())), dim=D)
    assert back == density and back.spec == density.spec
    again = dn.parse_density(density.spec, d=D)
    u = np.linspace(0, 1, 17)
    np.testing.assert_allclose(again.quantile(u), density.quantile(u), atol=1e-12)


# ----------------------------------------------------------------------------- each family against its own recipe
def _ks_recipe(den, draws):
    assert stats.kstest(draws, den.cdf).pvalue > 1e-3


def test_sd3_recipes():
    rng = np.random.default_rng(7)
    u = rng.random(5000)
    s = 1.29  # SD3: t = f_mode(u) = 1 - u - s (cos^2(pi u/2) - 1 + u), t = 1 noise
    _ks_recipe(dn.ModeSampling(s), 1.0 - (1.0 - u - s * (np.cos(np.pi * u / 2) ** 2 - 1.0 + u)))
    _ks_recipe(dn.CosMap(), 1.0 - (1.0 - 1.0 / (np.tan(np.pi * u / 2) + 1.0)))  # SD3 cosmap, tau = 1 - t
    m, sd = 0.7, 0.6  # SD3 logit-normal: t = sigmoid(m + s z), tau = 1 - t
    _ks_recipe(dn.LogitNormal(m, sd), 1.0 - special.expit(m + sd * rng.standard_normal(5000)))
    pm, ps = -1.2, 1.2  # EDM: ln sigma ~ N(P_mean, P_std^2), sigma = (1 - tau)/tau
    _ks_recipe(dn.EDMLogNormal(pm, ps), 1.0 / (1.0 + np.exp(pm + ps * rng.standard_normal(5000))))
    shift = 3.0  # SD3 shift on sigma = 1 - tau of a uniform base: sigma' = S sigma / (1 + (S - 1) sigma)
    sig = 1.0 - rng.random(5000)
    _ks_recipe(dn.ResolutionShift(shift), 1.0 - shift * sig / (1.0 + (shift - 1.0) * sig))
    assert dn.ResolutionShift(3.0).mass(0.0, 0.5) > 0.5  # S > 1 moves mass to noise


def test_dilation_matches_paper_tau_of_t():
    kappa, d = 2.0, 1e4
    e = kappa / math.sqrt(d)
    t = 2.0 * np.random.default_rng(3).random(5000)  # PAPER §1.3: tau = kappa t/sqrt(d) on [0, 1], then linear
    tau = np.where(t <= 1.0, e * t, e + (1 - e) * (t - 1.0))
    dil = dn.Dilation(kappa, d)
    _ks_recipe(dil, tau)
    assert dil.mass(0.0, e) == pytest.approx(0.5)
    tg = 2.0 * np.arange(80) / 80
    np.testing.assert_allclose(dil.grid(80), np.where(tg <= 1, e * tg, e + (1 - e) * (tg - 1)), atol=1e-15)


def test_phase_aware_moves_the_mass():
    base = dn.LogitNormal(0, 1)
    pa = dn.phase_aware(base, [(0.01, 0.03), (0.2, 0.25)], 0.4)
    win = base.mass(0.01, 0.03) + base.mass(0.2, 0.25)
    assert pa.mass(0.01, 0.03) + pa.mass(0.2, 0.25) == pytest.approx(0.6 * win + 0.4)
    assert pa.mass(0.01, 0.03) == pytest.approx(0.6 * base.mass(0.01, 0.03) + 0.4 * 0.02 / 0.07)


def test_legacy_schedule_json_loads_as_windows():
    from flowphase.numerics.schedules import design_schedule

    sch = design_schedule([{"start": 0.0, "end": 0.02, "size": 1.0}], mass=0.6)
    den = dn.density_from_dict(sch.to_dict())
    assert den.mass(0.0, 0.02) == pytest.approx(0.6)
    tau = np.linspace(0, 1, 33)
    np.testing.assert_allclose(den.cdf(tau), sch.cdf(tau), atol=1e-12)


@pytest.mark.parametrize("spec, words", [
    ("logit-normal:0,-1", "s must lie in (0"), ("mode:3", "mode scale must lie in [-1"), ("beta:0,1", "beta a"),
    ("dilation:2", "needs the dimension d"), ("edm:0", "takes 2"), ("shift:0", "shift S must lie"),
    ("nope", "unknown density"), ("windows:0.5-0.2=0.3", "0 <= start < end <= 1"),
    ("windows:0.1-0.2=0.7;0.3-0.4=0.6", "sum to at most 1"), ("phase-aware:uniform@0.1-0.2,1.5", "mass must lie"),
    ("mix:0.5*uniform+0.5*", "non-empty"), ("mix:-1*uniform", "mixture weights must lie in (0"), ("", "non-empty"),
])
def test_parse_errors_name_the_parameter(spec, words):
    with pytest.raises(ValueError) as err:
        dn.parse_density(spec, d=None)
    assert words in str(err.value)


def test_dilation_needs_small_kappa_over_sqrt_d_and_bad_dicts():
    with pytest.raises(ValueError, match="kappa/sqrt"):
        dn.Dilation(2.0, 3.0)
    with pytest.raises(ValueError, match="not a density"):
        dn.density_from_dict({"p_hat": 0.8})
    with pytest.raises(ValueError, match="u must lie in"):
        dn.Uniform().quantile(1.5)
    with pytest.raises(ValueError, match="NaN"):
        dn.Uniform().cdf(np.nan)


# ----------------------------------------------------------------------------- conventions
@pytest.mark.parametrize("name", [c for c in cv.TIME_CONVENTIONS if c != "diffusers-timesteps"])
def test_time_convention_round_trip(name):
    tau = np.concatenate([[0.0, 1.0], np.random.default_rng(0).random(100)])
    back = cv.tau_from(name, cv.tau_to(name, tau))
    np.testing.assert_allclose(back, tau, rtol=1e-14, atol=1e-15)


def test_time_convention_values():
    assert cv.tau_to("torchcfm", 0.3) == 0.3 and cv.tau_to("diffusers", 0.3) == pytest.approx(0.7)
    assert cv.tau_to("edm", 0.2) == pytest.approx(4.0) and cv.tau_to("edm", 0.0) == math.inf
    # diffusers FlowMatchEulerDiscreteScheduler: timesteps N..1, sigma = timestep / N
    ts = cv.tau_to("diffusers-timesteps", np.array([0.0, 0.3, 0.9995, 1.0]), num_train_timesteps=1000)
    assert ts.tolist() == [1000, 700, 1, 1] and ts.dtype == np.int64
    ints = np.arange(1, 1001)
    np.testing.assert_array_equal(cv.tau_to("diffusers-timesteps", cv.tau_from("diffusers-timesteps", ints)), ints)
    tau = np.random.default_rng(1).random(1000)
    lost = tau - cv.tau_from("diffusers-timesteps", cv.tau_to("diffusers-timesteps", tau))
    assert np.all((lost >= -1e-12) & (lost < 1e-3))
    with pytest.raises(ValueError, match="convention must be one of"):
        cv.tau_to("ddim", 0.5)
    with pytest.raises(ValueError, match="tau must lie in"):
        cv.tau_to("torchcfm", 1.2)


def test_edm_is_logit_normal_and_diffusers_scheduler_agrees():
    tau = np.linspace(0.01, 0.99, 23)
    np.testing.assert_allclose(dn.EDMLogNormal(-1.2, 1.2).cdf(tau), dn.LogitNormal(-1.2, 1.2).cdf(tau), rtol=1e-14)
    diffusers = pytest.importorskip("diffusers")
    sch = diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000)
    sig = sch.sigmas.numpy()[:-1] if len(sch.sigmas) == 1001 else sch.sigmas.numpy()
    ts = sch.timesteps.numpy()
    np.testing.assert_allclose(cv.tau_from("diffusers-timesteps", ts), cv.tau_from("diffusers", sig[:len(ts)]),
                               atol=1e-6)
