"""K-mode Gaussian mixtures with a Gram matrix, and a two-level hierarchical constructor.

``x1 = mu_k + sigma eta`` with probability ``p_k`` (k = 1..K), ``|mu_k|^2 = d``, shared within-mode
standard deviation ``sigma``.  The geometry of the means is the Gram matrix ``G_kl = mu_k.mu_l / d``
(unit diagonal, positive semi-definite).  The two-mode mixture of PAPER §1.1 is the case
``K = 2, G = [[1, -1], [-1, 1]]`` (:meth:`KMixture.from_two_mode`, :meth:`KMixture.to_two_mode`);
:class:`flowphase.theory.problem.Mixture` is unchanged.

Everything the n = infinity theory needs is K-dimensional: with a factor ``A`` (K x r, ``A A^T = G``)
the means are ``mu_k = sqrt(d) Q a_k`` for an orthonormal d x r frame Q, and the Bayes denoiser
depends on x only through ``z = Q^T x`` (``flowphase.numerics.multimode``).

Hierarchy (:class:`Hierarchy`, :func:`hierarchical`): P parents on a regular simplex (``G = -1/(P-1)``
between parent directions; antipodal for P = 2), each with m_i children displaced by ``r_i`` along a
regular simplex orthogonal to everything else, ``r_i^2 = eps_i^2 (m_i - 1)/m_i`` so that siblings have
``1 - G_kl = eps_i^2``.  The sibling separation may scale with d: ``eps_i(d) = eps_i (d/d_ref)^(-gamma)``
(``gamma = 1/4`` is the case where the fine window also vanishes under the paper's dilation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

import numpy as np

from .problem import Mixture
from flowphase.theory.checks import real as _real

__all__ = ["KMixture", "Hierarchy", "hierarchical", "agglomerative_tree"]

_TOL = 1e-9


def _check_d(d) -> float:
    d = _real("d", d)
    if not d >= 1.0:
        raise ValueError(f"d must lie in [1, inf], got {d!r}")
    if math.isfinite(d) and d != int(d):
        raise ValueError(f"d must be an integer (or inf), got {d!r}")
    return d


def _check_weights(weights) -> Tuple[float, ...]:
    w = np.asarray(weights, dtype=float).ravel()
    if w.size < 2:
        raise ValueError(f"a mixture needs at least 2 weights, got {w.size}")
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"weights must be finite and > 0, got {w.tolist()}")
    if abs(w.sum() - 1.0) > 1e-9:
        raise ValueError(f"weights must sum to 1, got sum {w.sum():.12g}")
    return tuple(float(x) for x in w)


def _check_gram(gram, K) -> np.ndarray:
    G = np.asarray(gram, dtype=float)
    if G.shape != (K, K):
        raise ValueError(f"gram must be a {K} x {K} matrix (one row per weight), got shape {G.shape}")
    if not np.all(np.isfinite(G)):
        raise ValueError("gram must be finite")
    if np.max(np.abs(G - G.T)) > _TOL:
        raise ValueError("gram must be symmetric")
    if np.max(np.abs(np.diag(G) - 1.0)) > _TOL:
        raise ValueError(f"gram must have a unit diagonal (|mu_k|^2 = d), got diagonal {np.diag(G).tolist()}")
    G = 0.5 * (G + G.T)
    np.fill_diagonal(G, 1.0)
    lo = float(np.linalg.eigvalsh(G).min())
    if lo < -1e-9:
        raise ValueError(f"gram must be positive semi-definite, smallest eigenvalue {lo:.3g}")
    off = G[~np.eye(K, dtype=bool)]
    if off.size and off.max() > 1.0 - 1e-12:
        raise ValueError("two modes coincide (G_kl = 1 for k != l); merge them")
    return G


def agglomerative_tree(gram) -> Tuple[Tuple[Tuple[int, ...], ...], ...]:
    """Binary split tree from a Gram matrix: repeatedly merge the two clusters with the largest mean G.

    Returns the splits root first, each as a tuple of its children (tuples of mode indices).
    """
    G = np.asarray(gram, dtype=float)
    clusters = [(k,) for k in range(G.shape[0])]
    merges = []
    while len(clusters) > 1:
        best, pair = -np.inf, None
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                v = G[np.ix_(clusters[i], clusters[j])].mean()
                if v > best + 1e-14:
                    best, pair = v, (i, j)
        i, j = pair
        a, b = clusters[i], clusters[j]
        merges.append((a, b))
        clusters = [c for n, c in enumerate(clusters) if n not in (i, j)] + [tuple(sorted(a + b))]
    return tuple(reversed(merges))


@dataclass(frozen=True)
class KMixture:
    """K-mode mixture ``sum_k p_k N(mu_k, sigma^2 I_d)`` given by its weights and Gram matrix (module notes).

    Parameters
    ----------
    weights : sequence of K floats > 0 summing to 1
    gram : K x K array, symmetric, unit diagonal, positive semi-definite, ``G_kl < 1`` for k != l
    sigma : float > 0, within-mode standard deviation
    d : int >= 1 or ``inf``
    tree : optional splits (root first), each a tuple of children (tuples of mode indices); default:
        :func:`agglomerative_tree` of the Gram matrix
    names : optional mode names
    """

    weights: Tuple[float, ...]
    gram: Tuple[Tuple[float, ...], ...]
    sigma: float = 1.0
    d: float = math.inf
    tree: Optional[Tuple] = None
    names: Optional[Tuple[str, ...]] = None
    _factor: np.ndarray = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        w = _check_weights(self.weights)
        G = _check_gram(self.gram, len(w))
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "gram", tuple(tuple(float(x) for x in row) for row in G))
        sigma = _real("sigma", self.sigma)
        if not 0.0 < sigma < math.inf:
            raise ValueError(f"sigma must lie in (0, inf), got {sigma!r}")
        object.__setattr__(self, "sigma", sigma)
        object.__setattr__(self, "d", _check_d(self.d))
        tree = agglomerative_tree(G) if self.tree is None else self._check_tree(self.tree, len(w))
        object.__setattr__(self, "tree", tree)
        if self.names is not None:
            if len(self.names) != len(w):
                raise ValueError(f"names must hold {len(w)} entries, got {len(self.names)}")
            object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        ev, V = np.linalg.eigh(G)
        keep = ev > 1e-10
        A = V[:, keep] * np.sqrt(ev[keep])
        object.__setattr__(self, "_factor", A)

    @staticmethod
    def _check_tree(tree, K):
        out = []
        for split in tree:
            children = tuple(tuple(int(k) for k in ch) for ch in split)
            if len(children) < 2 or any(len(ch) == 0 for ch in children):
                raise ValueError(f"each split needs at least two non-empty children, got {split!r}")
            flat = [k for ch in children for k in ch]
            if len(set(flat)) != len(flat) or min(flat) < 0 or max(flat) >= K:
                raise ValueError(f"split {split!r} repeats a mode or names a mode outside 0..{K - 1}")
            out.append(children)
        root = sorted(k for ch in out[0] for k in ch) if out else []
        if root != list(range(K)):
            raise ValueError("the first split of the tree must partition all modes")
        return tuple(out)

    # -- constructors
    @classmethod
    def from_vectors(cls, weights, means, sigma: float = 1.0, **kw) -> "KMixture":
        """Mixture from explicit means (K x d array with ``|mu_k|^2 = d``); d is taken from the array."""
        M = np.asarray(means, dtype=float)
        if M.ndim != 2:
            raise ValueError(f"means must be a K x d array, got shape {M.shape}")
        d = M.shape[1]
        norms = (M * M).sum(axis=1) / d
        if np.max(np.abs(norms - 1.0)) > 1e-8:
            raise ValueError(f"every mean needs |mu_k|^2 = d, got |mu_k|^2/d = {norms.tolist()}")
        return cls(weights=tuple(weights), gram=M @ M.T / d, sigma=sigma, d=d, **kw)

    @classmethod
    def from_two_mode(cls, mixture: Mixture) -> "KMixture":
        """The paper's two-mode mixture p N(+mu) + (1-p) N(-mu) as the K = 2 case (modes ``+``, ``-``)."""
        if not isinstance(mixture, Mixture):
            raise ValueError("mixture must be a flowphase.theory.problem.Mixture")
        return cls(weights=(mixture.p, 1.0 - mixture.p), gram=((1.0, -1.0), (-1.0, 1.0)), sigma=mixture.sigma,
                   d=mixture.d, names=("+", "-"))

    def to_two_mode(self) -> Mixture:
        """Back to :class:`Mixture` (only for K = 2 antipodal modes)."""
        if self.K != 2 or abs(self.gram[0][1] + 1.0) > 1e-12:
            raise ValueError("only a K = 2 mixture with antipodal means (G_12 = -1) is a two-mode Mixture")
        return Mixture(p=self.weights[0], sigma=self.sigma, d=self.d)

    def with_d(self, d) -> "KMixture":
        return KMixture(weights=self.weights, gram=self.gram, sigma=self.sigma, d=d, tree=self.tree, names=self.names)

    # -- properties
    @property
    def K(self) -> int:
        return len(self.weights)

    @property
    def p(self) -> np.ndarray:
        return np.asarray(self.weights)

    @property
    def G(self) -> np.ndarray:
        return np.asarray(self.gram)

    @property
    def factor(self) -> np.ndarray:
        """A (K x r) with ``A A^T = G``, r = rank G: row k is mu_k/sqrt(d) in an orthonormal frame of the span."""
        return self._factor.copy()

    @property
    def rank(self) -> int:
        return int(self._factor.shape[1])

    def split_weights(self, split) -> np.ndarray:
        """Prior weights of the children of a split (not renormalised)."""
        return np.array([self.p[list(ch)].sum() for ch in split])

    def split_separation(self, split) -> float:
        """Mean ``1 - G_kl`` over pairs across different children (= eps^2 for hierarchy siblings)."""
        vals = [1.0 - self.G[k, l] for i, a in enumerate(split) for b in split[i + 1:] for k in a for l in b]
        return float(np.mean(vals))

    def means(self, d: Optional[int] = None, rotate=None) -> np.ndarray:
        """Explicit means (K x d): ``sqrt(d) A`` in the first r coordinates, or rotated by a random orthogonal
        frame when ``rotate`` is a seed."""
        d = int(self.d if d is None else d)
        if d < self.rank:
            raise ValueError(f"d = {d} is smaller than the rank {self.rank} of the Gram matrix")
        M = np.zeros((self.K, d))
        if rotate is None:
            M[:, :self.rank] = math.sqrt(d) * self._factor
        else:
            Q, _ = np.linalg.qr(np.random.default_rng(rotate).standard_normal((d, self.rank)))
            M = math.sqrt(d) * self._factor @ Q.T
        return M

    def class_counts(self, n: int) -> np.ndarray:
        """Exact class counts for n points: largest-remainder rounding of p_k n."""
        n = int(n)
        raw = self.p * n
        cnt = np.floor(raw).astype(int)
        rest = n - cnt.sum()
        cnt[np.argsort(-(raw - cnt), kind="stable")[:rest]] += 1
        return cnt

    def sample(self, n: int, d: Optional[int] = None, rng=None, labels: str = "exact", means=None):
        """Draw n points ``x1 = mu_k + sigma eta``; returns ``(x1, k, eta)``.

        ``labels='exact'`` uses :meth:`class_counts` (shuffled), ``'categorical'`` i.i.d. labels.
        """
        if int(n) < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        rng = np.random.default_rng(rng)
        M = self.means(d) if means is None else np.asarray(means, dtype=float)
        if labels == "exact":
            k = np.repeat(np.arange(self.K), self.class_counts(n))
            rng.shuffle(k)
        elif labels == "categorical":
            k = rng.choice(self.K, size=int(n), p=self.p)
        else:
            raise ValueError(f"labels must be 'exact' or 'categorical', got {labels!r}")
        eta = rng.standard_normal((int(n), M.shape[1]))
        return M[k] + self.sigma * eta, k, eta

    def to_dict(self) -> dict:
        return {"weights": list(self.weights), "gram": [list(r) for r in self.gram], "sigma": self.sigma,
                "d": "inf" if math.isinf(self.d) else int(self.d),
                "tree": [[list(ch) for ch in split] for split in self.tree],
                **({"names": list(self.names)} if self.names else {})}


def _simplex_gram(m: int) -> np.ndarray:
    if m == 1:
        return np.ones((1, 1))
    return (1.0 + 1.0 / (m - 1)) * np.eye(m) - 1.0 / (m - 1)


@dataclass(frozen=True)
class Hierarchy:
    """Two-level tree (module notes): parent weights, within-parent child weights and sibling separations.

    Parameters
    ----------
    coarse : P >= 2 parent weights summing to 1
    fine : P sequences of child weights, each summing to 1 (a single child means no fine split)
    eps : sibling separation ``1 - G = eps^2`` at ``d_ref``; a float or one value per parent, in (0, 1]
    sigma : within-mode standard deviation
    gamma : ``eps(d) = eps (d/d_ref)^(-gamma)``, gamma >= 0 (0: eps fixed)
    d_ref : reference dimension of eps (needed when gamma > 0)
    """

    coarse: Tuple[float, ...]
    fine: Tuple[Tuple[float, ...], ...]
    eps: object = 0.1
    sigma: float = 1.0
    gamma: float = 0.0
    d_ref: float = 100.0

    def __post_init__(self):
        c = _check_weights(self.coarse)
        object.__setattr__(self, "coarse", c)
        if len(self.fine) != len(c):
            raise ValueError(f"fine must hold one weight list per parent ({len(c)}), got {len(self.fine)}")
        fine = []
        for i, f in enumerate(self.fine):
            f = np.asarray(f, dtype=float).ravel()
            if f.size == 1:
                if abs(f[0] - 1.0) > 1e-9:
                    raise ValueError(f"a single child must have weight 1, got {f[0]} for parent {i}")
                fine.append((1.0,))
            else:
                fine.append(_check_weights(f))
        object.__setattr__(self, "fine", tuple(fine))
        eps = np.broadcast_to(np.asarray(self.eps, dtype=float), (len(c),)).copy()
        if np.any(~np.isfinite(eps)) or np.any(eps <= 0) or np.any(eps > 1):
            raise ValueError(f"eps must lie in (0, 1], got {np.asarray(self.eps).tolist()}")
        object.__setattr__(self, "eps", tuple(float(e) for e in eps))
        sigma = _real("sigma", self.sigma)
        if not 0 < sigma < math.inf:
            raise ValueError(f"sigma must lie in (0, inf), got {sigma!r}")
        g = _real("gamma", self.gamma)
        if not 0 <= g < math.inf:
            raise ValueError(f"gamma must lie in [0, inf), got {g!r}")
        dr = _real("d_ref", self.d_ref)
        if not 1 <= dr < math.inf:
            raise ValueError(f"d_ref must be finite and >= 1, got {dr!r}")

    def eps_at(self, d) -> np.ndarray:
        """Sibling separations at dimension d (``eps (d/d_ref)^(-gamma)``, capped at 1)."""
        d = _check_d(d)
        if self.gamma > 0 and math.isinf(d):
            raise ValueError("a d-dependent eps (gamma > 0) needs a finite d")
        fac = 1.0 if self.gamma == 0 else (d / self.d_ref) ** (-self.gamma)
        return np.minimum(np.asarray(self.eps) * fac, 1.0)

    def mixture(self, d) -> KMixture:
        """The K-mode mixture at dimension d (modes named ``'i.j'``, parent i child j)."""
        eps = self.eps_at(d)
        P = len(self.coarse)
        GP = _simplex_gram(P)
        rows, weights, names, groups = [], [], [], []
        r2 = []
        for i, f in enumerate(self.fine):
            m = len(f)
            r2.append(0.0 if m == 1 else eps[i] ** 2 * (m - 1) / m)
            idx = []
            for j, q in enumerate(f):
                idx.append(len(weights))
                weights.append(self.coarse[i] * q)
                names.append(f"{i}.{j}")
                rows.append((i, j))
            groups.append(tuple(idx))
        K = len(weights)
        G = np.empty((K, K))
        for a, (i, j) in enumerate(rows):
            for b, (k, l) in enumerate(rows):
                if i == k:
                    GV = _simplex_gram(len(self.fine[i]))
                    G[a, b] = (1.0 - r2[i]) + r2[i] * GV[j, l]
                else:
                    G[a, b] = math.sqrt((1.0 - r2[i]) * (1.0 - r2[k])) * GP[i, k]
        tree = [tuple(groups)] + [tuple((k,) for k in g) for g in groups if len(g) > 1]
        w = np.asarray(weights)
        w = w / w.sum()
        return KMixture(weights=tuple(w), gram=G, sigma=self.sigma, d=d, tree=tuple(tree), names=tuple(names))

    def to_dict(self) -> dict:
        return {"coarse": list(self.coarse), "fine": [list(f) for f in self.fine], "eps": list(self.eps),
                "sigma": self.sigma, "gamma": self.gamma, "d_ref": self.d_ref}


def hierarchical(coarse: Sequence[float], fine: Sequence[Sequence[float]], d, *, eps=0.1, sigma: float = 1.0,
                 gamma: float = 0.0, d_ref: float = 100.0) -> KMixture:
    """Two-level hierarchical mixture at dimension d (see :class:`Hierarchy`)."""
    return Hierarchy(coarse=tuple(coarse), fine=tuple(tuple(f) for f in fine), eps=eps, sigma=sigma, gamma=gamma,
                     d_ref=d_ref).mixture(d)
