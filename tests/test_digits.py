"""Digits data, VP-SDE coefficients, the hand-written MLP backward pass and Adam, training and sampling."""
import math

import numpy as np
import pytest

from flowphase.validation import digits as D
from flowphase.validation.tolerances import agrees
from flowphase.validation.digits import (MLPDenoiser, forward_noise, load_imbalanced_digits, sample_reverse,
                                         train_classifier, train_denoiser, vp_coefficients)


@pytest.fixture(scope="module")
def data():
    return load_imbalanced_digits()


def test_imbalanced_set(data):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    n0 = int(np.sum(y == 0))
    assert (data.labels == 0).sum() == n0 == 178
    assert (data.labels == 1).sum() == int(0.25 * n0) == 44
    assert data.zero_fraction == pytest.approx(178 / 222)
    assert data.x.min() == -1.0 and data.x.max() == 1.0
    # every training image is a bundled image of its class, scaled x/8 - 1
    ref = X / 8.0 - 1.0
    for img, lab in zip(data.x[:20], data.labels[:20]):
        assert np.any(np.all(np.abs(ref[y == lab] - img) < 1e-12, axis=1))
    with pytest.raises(ValueError, match="ones_ratio"):
        load_imbalanced_digits(ones_ratio=0.0)


def test_classifier_accuracy(data):
    clf = train_classifier(data)
    assert clf.accuracy >= 0.98
    assert clf.n_test == 180


def test_vp_coefficients():
    beta, alpha, rate = vp_coefficients(np.array([0.0, 0.5, 1.0]))
    # PAPER §6.3: b(1) = exp(-(0.1 + 9.95)/2) = 0.0066 (the paper's b is the data coefficient beta)
    assert beta[2] == pytest.approx(math.exp(-5.025), rel=1e-12) and round(beta[2], 4) == 0.0066
    assert beta[0] == 1.0 and alpha[0] == 0.0
    np.testing.assert_allclose(alpha ** 2 + beta ** 2, 1.0)
    np.testing.assert_allclose(rate, [0.1, 10.05, 20.0])
    # d ln beta / ds = -rate/2 (the VP-SDE drift), by finite differences
    s, h = 0.37, 1e-6
    dlnb = (math.log(vp_coefficients(s + h)[0]) - math.log(vp_coefficients(s - h)[0])) / (2 * h)
    assert dlnb == pytest.approx(-0.5 * vp_coefficients(s)[2], rel=1e-7)


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    net = MLPDenoiser.init(6, 7, 2, rng)
    for p in net.params:  # non-trivial biases and output layer
        p += 0.3 * rng.standard_normal(p.shape)
    x = rng.uniform(-1, 1, (5, 6))
    noise = rng.standard_normal((5, 6))
    s = rng.uniform(0.05, 0.95, 5)
    args = (x, noise, s, net.n_freq, 0.1, 20.0)
    loss, *grads = D._loss_and_grads(*args, *net.params)
    for p, g in zip(net.params, grads):
        flat, gflat = p.reshape(-1), np.asarray(g).reshape(-1)
        for i in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + 1e-6
            lp = D._loss_and_grads(*args, *net.params)[0]
            flat[i] = old - 1e-6
            lm = D._loss_and_grads(*args, *net.params)[0]
            flat[i] = old
            assert gflat[i] == pytest.approx((lp - lm) / 2e-6, rel=1e-5, abs=1e-9)


def test_adam_step_matches_reference():
    rng = np.random.default_rng(1)
    net = MLPDenoiser.init(4, 5, 2, rng)
    x, noise, s = rng.uniform(-1, 1, (3, 4)), rng.standard_normal((3, 4)), np.array([0.2, 0.5, 0.8])
    before = [p.copy() for p in net.params]
    _, *grads = D._loss_and_grads(x, noise, s, 2, 0.1, 20.0, *net.params)
    size = sum(p.size for p in net.params)
    M, V = np.zeros(size), np.zeros(size)
    lr = 1e-2
    D._train_step(x, noise, s, 2, 0.1, 20.0, *net.params, M, V, 1.0, lr)
    # first Adam step: m_hat = g, v_hat = g^2  ->  p - lr g / (|g| + 1e-8)
    for p0, p1, g in zip(before, net.params, grads):
        np.testing.assert_allclose(p1, p0 - lr * g / (np.abs(g) + 1e-8), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(M, 0.1 * np.concatenate([np.asarray(g).reshape(-1) for g in grads]))


def test_second_adam_step_uses_bias_corrections():
    """Two steps (t = 1, 2) against Adam written out in NumPy on the flat parameter vector (Kingma & Ba, alg. 1):
    the bias corrections 1 - beta^t and the in-place update of the weight matrices through their raveled views."""
    rng = np.random.default_rng(4)
    net = MLPDenoiser.init(4, 5, 2, rng)
    size = sum(p.size for p in net.params)
    M, V = np.zeros(size), np.zeros(size)
    m, v = np.zeros(size), np.zeros(size)
    flat = np.concatenate([p.reshape(-1) for p in net.params])
    for t, lr in ((1, 1e-2), (2, 5e-3)):
        x, noise, s = rng.uniform(-1, 1, (3, 4)), rng.standard_normal((3, 4)), rng.uniform(0.1, 0.9, 3)
        _, *grads = D._loss_and_grads(x, noise, s, 2, 0.1, 20.0, *net.params)
        g = np.concatenate([np.asarray(gi).reshape(-1) for gi in grads])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        flat = flat - lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        D._train_step(x, noise, s, 2, 0.1, 20.0, *net.params, M, V, float(t), lr)
    np.testing.assert_allclose(np.concatenate([p.reshape(-1) for p in net.params]), flat, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(M, m, rtol=1e-12)
    np.testing.assert_allclose(V, v, rtol=1e-12)


def test_forward_noise_moments():
    x = np.full((40000, 2), 0.5)
    s = 0.4
    beta, alpha, _ = vp_coefficients(s)
    xs = forward_noise(x, s, np.random.default_rng(2))
    n = xs.size
    assert agrees("vp_forward_moments", xs.mean(), 0.5 * beta, alpha / math.sqrt(n))
    assert agrees("vp_forward_moments", xs.var(), alpha * alpha, alpha * alpha * math.sqrt(2 / n))


def test_training_reduces_loss_and_samples_look_like_digits(data):
    net = train_denoiser(data.x, 600, batch=64, hidden=64, lr=3e-3, seed=0)
    first, last = net.losses[:50].mean(), net.losses[-100:].mean()
    assert first > 0.8  # an untrained noise predictor has loss ~ Var(noise) = 1
    assert last < 0.5 * first
    # the model beats the best constant-free baseline noise_hat = 0 on held-out noise at s = 0.5
    rng = np.random.default_rng(3)
    beta, alpha, _ = vp_coefficients(0.5)
    z = rng.standard_normal(data.x.shape)
    mse = np.mean((net.predict_noise(beta * data.x + alpha * z, 0.5) - z) ** 2)
    assert np.array_equal(net.eps(beta * data.x[:3], 0.5), net.predict_noise(beta * data.x[:3], 0.5))  # former name
    assert mse < 0.5
    x = sample_reverse(net, rng.standard_normal((50, 64)), s_start=1.0, steps_per_unit=100, rng=rng)
    assert x.shape == (50, 64) and np.all(np.abs(x) <= 1.0)
    with pytest.raises(ValueError, match="s_start"):
        sample_reverse(net, x, s_start=0.0)
    with pytest.raises(ValueError, match="x must be"):
        train_denoiser(np.zeros(5), 10)
