"""Interpolants ``x_tau = alpha(tau) x0 + beta(tau) x1`` between the noise x0 and the data x1 (PAPER §1.2).

``alpha`` multiplies the **noise** and ``beta`` the **data** (PREDECESSOR uses the opposite letters;
``docs/notation.md``).  A :class:`~flowphase.theory.problem.Problem` carries one; the schedules of
:mod:`flowphase.theory.problem` map the training time t to tau.
"""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Interpolant", "LinearInterpolant", "TrigonometricInterpolant", "CustomInterpolant"]


class Interpolant(abc.ABC):
    """x_tau = alpha(tau) x0 + beta(tau) x1 on tau in [0, 1]; alpha multiplies the noise.

    Subclasses give ``alpha, beta`` and their derivatives ``dalpha, dbeta`` in tau
    (PAPER §1.2).  All accept floats or NumPy arrays.
    """

    name = "interpolant"

    @abc.abstractmethod
    def alpha(self, tau):
        """alpha as a function of tau."""

    @abc.abstractmethod
    def beta(self, tau):
        """beta as a function of tau."""

    @abc.abstractmethod
    def dalpha(self, tau):
        """dalpha as a function of tau."""

    @abc.abstractmethod
    def dbeta(self, tau):
        """dbeta as a function of tau."""

    def to_dict(self) -> dict:
        return {"kind": self.name}


@dataclass(frozen=True)
class LinearInterpolant(Interpolant):
    """alpha = 1 - tau, beta = tau (PAPER §1.2; the authors' code)."""

    name = "linear"

    def alpha(self, tau):
        return 1.0 - np.asarray(tau, dtype=float) if np.ndim(tau) else 1.0 - float(tau)

    def beta(self, tau):
        return np.asarray(tau, dtype=float) if np.ndim(tau) else float(tau)

    def dalpha(self, tau):
        return -np.ones_like(np.asarray(tau, dtype=float)) if np.ndim(tau) else -1.0

    def dbeta(self, tau):
        return np.ones_like(np.asarray(tau, dtype=float)) if np.ndim(tau) else 1.0


@dataclass(frozen=True)
class TrigonometricInterpolant(Interpolant):
    """alpha = cos(pi tau / 2), beta = sin(pi tau / 2) (PREDECESSOR §2.2, schedule independence)."""

    name = "trigonometric"

    def alpha(self, tau):
        return np.cos(0.5 * np.pi * np.asarray(tau, dtype=float)) if np.ndim(tau) else math.cos(0.5 * math.pi * tau)

    def beta(self, tau):
        return np.sin(0.5 * np.pi * np.asarray(tau, dtype=float)) if np.ndim(tau) else math.sin(0.5 * math.pi * tau)

    def dalpha(self, tau):
        if np.ndim(tau):
            return -0.5 * np.pi * np.sin(0.5 * np.pi * np.asarray(tau, dtype=float))
        return -0.5 * math.pi * math.sin(0.5 * math.pi * tau)

    def dbeta(self, tau):
        if np.ndim(tau):
            return 0.5 * np.pi * np.cos(0.5 * np.pi * np.asarray(tau, dtype=float))
        return 0.5 * math.pi * math.cos(0.5 * math.pi * tau)


@dataclass(frozen=True)
class CustomInterpolant(Interpolant):
    """Any alpha(tau), beta(tau) with derivatives; checked for alpha(0)=1, beta(0)=0, beta(1)=1."""

    alpha_fn: Callable = None
    beta_fn: Callable = None
    dalpha_fn: Callable = None
    dbeta_fn: Callable = None
    name: str = "custom"

    def __post_init__(self):
        for nm in ("alpha_fn", "beta_fn", "dalpha_fn", "dbeta_fn"):
            if not callable(getattr(self, nm)):
                raise ValueError(f"{nm} must be callable")
        a0, b0, a1, b1 = (float(self.alpha_fn(0.0)), float(self.beta_fn(0.0)),
                          float(self.alpha_fn(1.0)), float(self.beta_fn(1.0)))
        if not (abs(a0 - 1.0) < 1e-9 and abs(b0) < 1e-9 and abs(b1 - 1.0) < 1e-9 and abs(a1) < 1e-9):
            raise ValueError("a custom interpolant needs alpha(0)=1, beta(0)=0, alpha(1)=0, beta(1)=1; "
                             f"got alpha(0)={a0}, beta(0)={b0}, alpha(1)={a1}, beta(1)={b1}")

    def alpha(self, tau):
        return self.alpha_fn(tau)

    def beta(self, tau):
        return self.beta_fn(tau)

    def dalpha(self, tau):
        return self.dalpha_fn(tau)

    def dbeta(self, tau):
        return self.dbeta_fn(tau)
