"""Real data without downloads: an imbalanced 0/1 digits set, a small VP-SDE diffusion model, a classifier.

Data (PAPER §6.2, scaled down): scikit-learn's bundled 8×8 handwritten digits.  The paper's imbalanced
set keeps all zeros and ``int(0.25 * #zeros)`` ones, i.e. 80 % zeros (178 zeros + 44 ones = 222
images, 80.2 % zeros).  Pixels are mapped from [0, 16] to [-1, 1].

Model (PAPER §6.3, with an MLP instead of the UNet): the **VP-SDE** with the linear rate
``rate(s) = beta_min + (beta_max - beta_min) s``, ``beta_min = 0.1``, ``beta_max = 20`` (the paper calls the rate
beta(s); here ``beta`` is the data coefficient, as everywhere in flowphase: docs/notation.md).
**Time convention: diffusion time s in [0, 1], s = 0 data, s = 1 noise** (the authors' MNIST code);
the GMM/schedule convention is tau = 1 - s (tau = 0 noise).  The noisy input is
``x_s = beta(s) x + alpha(s) noise`` with data coefficient
``beta(s) = exp(-(beta_min s + (beta_max - beta_min) s^2 / 2) / 2)`` and noise coefficient
``alpha(s) = sqrt(1 - beta(s)^2)`` (the paper's b(s), a(s)).  The network predicts the noise (the paper's
epsilon loss, loss weight w(s) = 1); the training times s are drawn from a time density (uniform, or a
:class:`flowphase.numerics.schedules.PiecewiseSchedule` converted with s = 1 - tau).

Network: ``noise_hat = W3 silu(W2 silu(W1 [x, emb(s)] + b1) + b2) + b3`` with the sinusoidal time
embedding ``emb(s) = [sin(pi 2^k s), cos(pi 2^k s)]_{k < n_freq}``.  Forward and backward are
hand-written array kernels compiled with numba (``@njit(cache=True)``, float64); they are written in
NumPy array style so that ``NUMBA_DISABLE_JIT=1`` runs them as plain NumPy.  The Adam step is the package's
one numba Adam step, :func:`flowphase.validation.simulator.update.adam_vector`, applied to each raveled
weight array and its slice of the flat moment vectors (with the JIT off, its NumPy twin
:func:`~flowphase.validation.simulator.update.adam_array`: the same numbers, bit for bit).

Sampling: reverse-time SDE with Euler–Maruyama (PAPER §6.4),
``x <- x + ds (rate(s) x / 2 - rate(s) noise_hat / alpha(s)) + sqrt(rate(s) ds) z``, from ``s_start`` down to
``s_end = 1e-3``, then one Tweedie denoising step ``(x - alpha noise_hat) / beta``, clipped to [-1, 1].

Letters (docs/notation.md): ``alpha``/``beta`` the noise/data coefficients, ``s`` the diffusion time of the
authors' code (s = 0 data; in the GMM modules ``s`` is the mode label and the diffusion time is tau = 1 - s).
"""
from __future__ import annotations

import math
import contextlib
from dataclasses import dataclass, field

import numba
import numpy as np
from numba import njit

from flowphase.validation.simulator.update import adam_array, adam_vector

__all__ = [
    "BETA_MIN",
    "BETA_MAX",
    "vp_coefficients",
    "load_imbalanced_digits",
    "DigitsClassifier",
    "train_classifier",
    "MLPDenoiser",
    "train_denoiser",
    "sample_reverse",
    "forward_noise",
]

BETA_MIN = 0.1
BETA_MAX = 20.0


# ----------------------------------------------------------------------------- data
@dataclass
class DigitsData:
    """The imbalanced training set and the full 0/1 pool (for the classifier).

    Attributes
    ----------
    x : (n, 64) float64 in [-1, 1]  training images
    labels : (n,) int  0 or 1
    zero_fraction : float  fraction of zeros in ``x``
    pool_x, pool_labels : every 0 and 1 of the bundled data set
    """

    x: np.ndarray
    labels: np.ndarray
    zero_fraction: float
    pool_x: np.ndarray
    pool_labels: np.ndarray


def load_imbalanced_digits(ones_ratio: float = 0.25, seed: int = 0) -> DigitsData:
    """All zeros plus ``int(ones_ratio * #zeros)`` random ones of sklearn's digits (PAPER §6.2).

    ``ones_ratio = 0.25`` gives 80 % zeros.  Pixels: ``x / 8 - 1`` in [-1, 1].
    """
    if not 0.0 < float(ones_ratio) <= 1.0:
        raise ValueError(f"ones_ratio must lie in (0, 1], got {ones_ratio!r}")
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    keep = (y == 0) | (y == 1)
    pool_x = X[keep].astype(np.float64) / 8.0 - 1.0
    pool_y = y[keep].astype(np.int64)
    zeros = np.flatnonzero(pool_y == 0)
    ones = np.flatnonzero(pool_y == 1)
    rng = np.random.default_rng(seed)
    n1 = int(ones_ratio * zeros.size)
    idx = np.concatenate([zeros, rng.choice(ones, size=n1, replace=False)])
    rng.shuffle(idx)
    x = np.ascontiguousarray(pool_x[idx])
    lab = pool_y[idx]
    return DigitsData(x=x, labels=lab, zero_fraction=float(np.mean(lab == 0)), pool_x=pool_x, pool_labels=pool_y)


# ----------------------------------------------------------------------------- classifier
@dataclass
class DigitsClassifier:
    """0-vs-1 logistic-regression classifier with its held-out accuracy."""

    model: object
    accuracy: float
    n_test: int

    def predict(self, x) -> np.ndarray:
        """Predicted digit (0 or 1) for images in [-1, 1]."""
        return self.model.predict(np.clip(np.asarray(x, dtype=float), -1.5, 1.5))

    def confidence(self, x) -> np.ndarray:
        """Probability of the predicted class (a sample-quality proxy)."""
        return self.model.predict_proba(np.clip(np.asarray(x, dtype=float), -1.5, 1.5)).max(axis=1)


def train_classifier(data: DigitsData, test_fraction: float = 0.5, seed: int = 0) -> DigitsClassifier:
    """Logistic regression on the 0/1 pool, accuracy on a held-out stratified split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    xtr, xte, ytr, yte = train_test_split(data.pool_x, data.pool_labels, test_size=test_fraction,
                                          random_state=seed, stratify=data.pool_labels)
    model = LogisticRegression(C=0.1, max_iter=2000).fit(xtr, ytr)
    acc = float(np.mean(model.predict(xte) == yte))
    return DigitsClassifier(model=model, accuracy=acc, n_test=int(yte.size))


# ----------------------------------------------------------------------------- VP-SDE
def vp_coefficients(s, beta_min: float = BETA_MIN, beta_max: float = BETA_MAX):
    """(beta(s), alpha(s), rate(s)) of the VP-SDE: data coefficient, noise coefficient, rate; s = 0 data, s = 1 noise
    (PAPER §6.3; the paper writes b(s), a(s) and beta(s)).

    ``beta = exp(-(beta_min s + (beta_max - beta_min) s^2 / 2) / 2)``, ``alpha = sqrt(1 - beta^2)``,
    ``rate = beta_min + (beta_max - beta_min) s`` (``beta_min``, ``beta_max``: the end points of the rate, the
    paper's names).
    """
    s = np.asarray(s, dtype=float)
    beta = np.exp(-0.5 * (beta_min * s + 0.5 * (beta_max - beta_min) * s * s))
    return beta, np.sqrt(1.0 - beta * beta), beta_min + (beta_max - beta_min) * s


@njit(cache=True)
def _embed(s, n_freq):
    out = np.empty((s.shape[0], 2 * n_freq))
    for k in range(n_freq):
        f = math.pi * 2.0 ** k
        out[:, k] = np.sin(f * s)
        out[:, n_freq + k] = np.cos(f * s)
    return out


@njit(cache=True)
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@njit(cache=True)
def _forward(xin, W1, b1, W2, b2, W3, b3):
    z1 = np.dot(xin, W1) + b1
    h1 = z1 * _sigmoid(z1)
    z2 = np.dot(h1, W2) + b2
    h2 = z2 * _sigmoid(z2)
    out = np.dot(h2, W3) + b3
    return out, z1, h1, z2, h2


@njit(cache=True)
def _dsilu(z):
    sg = _sigmoid(z)
    return sg * (1.0 + z * (1.0 - sg))


def _adam_numpy(p, m, v, g, lr_k, bc1, bc2, beta1, beta2, eps):
    """:func:`adam_vector` with the JIT off: the package's NumPy Adam step :func:`adam_array` (the same
    arithmetic elementwise, bit for bit, as array operations instead of a Python loop over every weight)."""
    p[...] = adam_array(np, p, m, v, g, lr_k, bc1, bc2, beta1, beta2, eps)


#: the Adam step of :func:`_train_step`: the numba kernel, or its NumPy twin under ``NUMBA_DISABLE_JIT=1``
_adam_step = _adam_numpy if numba.config.DISABLE_JIT else adam_vector


@njit(cache=True)
def _loss_and_grads(x, noise, s, n_freq, beta_min, beta_max, W1, b1, W2, b2, W3, b3):
    """Noise-prediction loss mean((noise_hat(x_s, s) - noise)^2) of a batch and its gradients (PAPER §6.3).

    ``x_s = beta(s) x + alpha(s) noise``; returns ``(loss, gW1, gb1, gW2, gb2, gW3, gb3)``.
    """
    B, dim = x.shape
    log_beta = -0.5 * (beta_min * s + 0.5 * (beta_max - beta_min) * s * s)
    beta = np.exp(log_beta)
    alpha = np.sqrt(1.0 - beta * beta)
    xs = beta.reshape(-1, 1) * x + alpha.reshape(-1, 1) * noise
    xin = np.concatenate((xs, _embed(s, n_freq)), axis=1)
    out, z1, h1, z2, h2 = _forward(xin, W1, b1, W2, b2, W3, b3)
    res = out - noise
    loss = np.mean(res * res)
    go = 2.0 * res / (B * dim)
    gW3 = np.dot(h2.T, go)
    gb3 = go.sum(axis=0)
    gz2 = np.dot(go, W3.T) * _dsilu(z2)
    gW2 = np.dot(h1.T, gz2)
    gb2 = gz2.sum(axis=0)
    gz1 = np.dot(gz2, W2.T) * _dsilu(z1)
    gW1 = np.dot(xin.T, gz1)
    gb1 = gz1.sum(axis=0)
    return loss, gW1, gb1, gW2, gb2, gW3, gb3


@njit(cache=True)
def _train_step(x, noise, s, n_freq, beta_min, beta_max, W1, b1, W2, b2, W3, b3, M, V, step, lr):
    """One Adam step (beta1 = 0.9, beta2 = 0.999, eps = 1e-8; ``step`` = t, counted from 1) on the
    noise-prediction loss of a batch, with the package's numba Adam step
    :func:`flowphase.validation.simulator.update.adam_vector` on each raveled parameter array (its NumPy twin
    :func:`~flowphase.validation.simulator.update.adam_array` under ``NUMBA_DISABLE_JIT=1``).

    ``M``/``V`` hold the Adam moments of the six parameter arrays, flattened and concatenated in the
    order W1, b1, W2, b2, W3, b3.  Updates the parameters in place (``reshape(-1)`` of a C-contiguous
    array is a view) and returns the batch loss.
    """
    loss, gW1, gb1, gW2, gb2, gW3, gb3 = _loss_and_grads(x, noise, s, n_freq, beta_min, beta_max,
                                                         W1, b1, W2, b2, W3, b3)
    beta1, beta2 = 0.9, 0.999
    bc1 = 1.0 - beta1 ** step
    bc2 = 1.0 - beta2 ** step
    off = 0
    for p, g in ((W1.reshape(-1), gW1.reshape(-1)), (b1, gb1), (W2.reshape(-1), gW2.reshape(-1)), (b2, gb2),
                 (W3.reshape(-1), gW3.reshape(-1)), (b3, gb3)):
        n = p.size
        _adam_step(p, M[off:off + n], V[off:off + n], g, lr, bc1, bc2, beta1, beta2, 1e-8)
        off += n
    return loss


@njit(cache=True)
def _noise_hat(x, s_scalar, n_freq, W1, b1, W2, b2, W3, b3):
    s = np.full(x.shape[0], s_scalar)
    xin = np.concatenate((x, _embed(s, n_freq)), axis=1)
    out, z1, h1, z2, h2 = _forward(xin, W1, b1, W2, b2, W3, b3)
    return out


@njit(cache=True)
def _reverse_step(x, s, ds, z, noise_scale, n_freq, beta_min, beta_max, W1, b1, W2, b2, W3, b3):
    """Euler–Maruyama step of the reverse VP-SDE from s to s - ds (PAPER §6.4)."""
    beta = math.exp(-0.5 * (beta_min * s + 0.5 * (beta_max - beta_min) * s * s))
    alpha = math.sqrt(1.0 - beta * beta)
    rate = beta_min + (beta_max - beta_min) * s
    e = _noise_hat(x, s, n_freq, W1, b1, W2, b2, W3, b3)
    return x + ds * (0.5 * rate * x - rate * e / alpha) + noise_scale * math.sqrt(rate * ds) * z


def _single_thread_blas():
    """Limit BLAS to one thread: the matrices here are small and threading overhead dominates (13x)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


# ----------------------------------------------------------------------------- the model
@dataclass
class MLPDenoiser:
    """Parameters of the noise-prediction MLP (see the module docstring)."""

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    W3: np.ndarray
    b3: np.ndarray
    n_freq: int = 8
    beta_min: float = BETA_MIN
    beta_max: float = BETA_MAX
    losses: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def init(cls, dim: int = 64, hidden: int = 128, n_freq: int = 8, rng=None) -> "MLPDenoiser":
        """He-style initialisation; last layer small."""
        rng = np.random.default_rng(rng)
        din = dim + 2 * n_freq
        return cls(W1=rng.standard_normal((din, hidden)) * math.sqrt(2.0 / din), b1=np.zeros(hidden),
                   W2=rng.standard_normal((hidden, hidden)) * math.sqrt(2.0 / hidden), b2=np.zeros(hidden),
                   W3=rng.standard_normal((hidden, dim)) * 0.1 / math.sqrt(hidden), b3=np.zeros(dim),
                   n_freq=int(n_freq))

    @property
    def params(self):
        return (self.W1, self.b1, self.W2, self.b2, self.W3, self.b3)

    def predict_noise(self, x, s: float) -> np.ndarray:
        """Predicted noise at diffusion time s (s = 0 data, 1 noise)."""
        return _noise_hat(np.ascontiguousarray(x, dtype=np.float64), float(s), self.n_freq, *self.params)

    #: the former name of :meth:`predict_noise` (the paper's "epsilon prediction")
    eps = predict_noise


def train_denoiser(x: np.ndarray, n_steps: int, *, batch: int = 64, hidden: int = 128, lr: float = 2e-3,
                   time_sampler=None, seed: int = 0, n_freq: int = 8, s_min: float = 1e-3) -> MLPDenoiser:
    """Train the noise-prediction MLP for ``n_steps`` Adam steps (PAPER §6.3).

    Parameters
    ----------
    x : (n, dim) training images in [-1, 1]
    n_steps : int  number of gradient steps (the training budget)
    time_sampler : callable ``(k, rng) -> s`` in [0, 1] (s = 0 data), optional
        Training-time density; default uniform.  Times are clipped to ``[s_min, 1]``.
    lr : float  Adam learning rate, with a cosine decay to 0 over the run.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array (n, dim), got shape {x.shape}")
    if int(n_steps) < 1 or int(batch) < 1:
        raise ValueError(f"n_steps and batch must be >= 1, got {n_steps}, {batch}")
    rng = np.random.default_rng(seed)
    net = MLPDenoiser.init(x.shape[1], hidden, n_freq, rng)
    size = sum(p.size for p in net.params)
    M = np.zeros(size)
    V = np.zeros(size)
    losses = np.empty(int(n_steps))
    with _single_thread_blas():
        _train_loop(x, int(n_steps), int(batch), lr, time_sampler, rng, s_min, net, M, V, losses)
    if not np.all(np.isfinite(losses)):
        raise FloatingPointError("training diverged (non-finite loss); lower lr")
    net.losses = losses
    return net


def _train_loop(x, n_steps, batch, lr, time_sampler, rng, s_min, net, M, V, losses):
    for k in range(int(n_steps)):
        idx = rng.integers(0, x.shape[0], int(batch))
        s = rng.random(int(batch)) if time_sampler is None else np.asarray(time_sampler(int(batch), rng), dtype=float)
        s = np.clip(s, s_min, 1.0)
        noise = rng.standard_normal((int(batch), x.shape[1]))
        lr_k = lr * 0.5 * (1.0 + math.cos(math.pi * k / n_steps))
        losses[k] = _train_step(x[idx], noise, s, net.n_freq, net.beta_min, net.beta_max, *net.params,
                                M, V, float(k + 1), lr_k)


def forward_noise(x, s: float, rng=None) -> np.ndarray:
    """Noise images to diffusion time s in closed form: x_s = beta(s) x + alpha(s) z (PAPER §6.4).

    The authors simulate this leg with Euler–Maruyama; the closed form has the exact law.
    """
    beta, alpha, _ = vp_coefficients(float(s))
    rng = np.random.default_rng(rng)
    return beta * np.asarray(x, dtype=float) + alpha * rng.standard_normal(np.shape(x))


def sample_reverse(net: MLPDenoiser, x_start, *, s_start: float = 1.0, steps_per_unit: int = 1000,
                   rng=None, s_end: float = 1e-3, clip: bool = True) -> np.ndarray:
    """Run the reverse VP-SDE from ``s_start`` down to ``s_end``, then denoise (PAPER §6.4).

    Euler–Maruyama with ``ceil(steps_per_unit (s_start - s_end))`` equal steps (s = 0 data, s = 1
    noise), then the Tweedie denoising step ``x0_hat = (x - alpha(s_end) noise_hat) / beta(s_end)`` (the
    noise-parameterised score is singular at s = 0 on data with saturated pixels); with ``clip``
    the result is clipped to the data range [-1, 1] (as DDPM samplers do).
    """
    if not 0.0 < float(s_start) <= 1.0:
        raise ValueError(f"s_start must lie in (0, 1], got {s_start!r}")
    if not 0.0 < float(s_end) < float(s_start):
        raise ValueError(f"s_end must lie in (0, s_start), got {s_end!r}")
    rng = np.random.default_rng(rng)
    x = np.array(x_start, dtype=np.float64, copy=True)
    span = float(s_start) - float(s_end)
    n = max(1, int(math.ceil(steps_per_unit * span - 1e-9)))
    ds = span / n
    with _single_thread_blas():
        for k in range(n):
            s = float(s_start) - k * ds
            z = rng.standard_normal(x.shape)
            x = _reverse_step(x, s, ds, z, 1.0, net.n_freq, net.beta_min, net.beta_max, *net.params)
        beta, alpha, _ = vp_coefficients(float(s_end), net.beta_min, net.beta_max)
        x = (x - alpha * net.predict_noise(x, float(s_end))) / beta
    if not np.all(np.isfinite(x)):
        raise FloatingPointError("reverse SDE produced non-finite samples")
    return np.clip(x, -1.0, 1.0) if clip else x
