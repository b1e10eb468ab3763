"""Gaussian expectations of the phase-1 activation against mpmath (PAPER §3.2)."""
import math

import mpmath as mp
import numpy as np
import pytest

from flowphase.numerics.quadrature import (default_rule, gauss_hermite, gaussian_moments, gaussian_moments_hessian,
                                           trapezoid_rule)


def _mp_moments(om, b, kt, p, dps=25):
    """(M_s, M_2, Ms_w, Ms_b, M2_w, M2_b, Ms_ww, Ms_wb, Ms_bb, M2_ww, M2_wb, M2_bb) by mpmath.quad."""
    with mp.workdps(dps):
        om, b, kt, p = (mp.mpf(x) for x in (om, b, kt, p))
        th = lambda sl, g: mp.tanh(b + om * (g + kt * sl))  # noqa: E731

        def E(f):
            return sum(w * mp.quad(lambda g: f(sl, g) * mp.npdf(g), [-mp.inf, -kt - 4, -kt, 0, kt, kt + 4, mp.inf])
                       for sl, w in ((1, p), (-1, 1 - p)))

        y = lambda sl, g: g + kt * sl  # noqa: E731
        se = lambda sl, g: 1 - th(sl, g) ** 2  # noqa: E731
        d2s = lambda sl, g: -2 * sl * th(sl, g) * se(sl, g)  # noqa: E731
        d22 = lambda sl, g: 2 * se(sl, g) * (1 - 3 * th(sl, g) ** 2)  # noqa: E731
        vals = [E(lambda sl, g: sl * th(sl, g)), E(lambda sl, g: th(sl, g) ** 2),
                E(lambda sl, g: sl * se(sl, g) * y(sl, g)), E(lambda sl, g: sl * se(sl, g)),
                E(lambda sl, g: 2 * th(sl, g) * se(sl, g) * y(sl, g)), E(lambda sl, g: 2 * th(sl, g) * se(sl, g)),
                E(lambda sl, g: d2s(sl, g) * y(sl, g) ** 2), E(lambda sl, g: d2s(sl, g) * y(sl, g)), E(d2s),
                E(lambda sl, g: d22(sl, g) * y(sl, g) ** 2), E(lambda sl, g: d22(sl, g) * y(sl, g)), E(d22)]
        return np.array([float(v) for v in vals])


def test_gauss_hermite_is_normalised_and_exact_for_polynomials():
    x, w = gauss_hermite(10)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    for k, ref in ((2, 1.0), (4, 3.0), (6, 15.0), (8, 105.0), (19, 0.0)):
        assert np.sum(w * x ** k) == pytest.approx(ref, rel=1e-12, abs=1e-10)


@pytest.mark.parametrize("point", [(0.8, 0.9, 0.6, 0.8), (0.3, 3.0, 0.2, 0.8), (0.7, 0.4, 1.0, 0.6)])
def test_gauss_hermite_against_mpmath(point):
    # the degree-80 rule reaches 1e-10 for omega <~ 0.8 (tanh poles at distance pi/(2 omega))
    x, w = gauss_hermite(80)
    ref = _mp_moments(*point)
    got = np.array(gaussian_moments(*point, x, w))
    np.testing.assert_allclose(got, ref[:6], rtol=0, atol=1e-10)


@pytest.mark.parametrize("point", [(1.4, 1.065, 1.0, 0.8), (2.0, 0.7, 2.0, 0.8), (0.7, 2.0, 0.3, 0.55)])
def test_default_rule_against_mpmath_with_second_derivatives(point):
    x, w = default_rule()
    ref = _mp_moments(*point)
    got = np.array(gaussian_moments_hessian(*point, x, w))
    np.testing.assert_allclose(got[:6], ref[:6], rtol=0, atol=1e-11)
    np.testing.assert_allclose(got[6:], ref[6:], rtol=0, atol=1e-10)  # second derivatives
    np.testing.assert_allclose(np.array(gaussian_moments(*point, x, w)), got[:6], rtol=0, atol=1e-15)


def test_trapezoid_converges_geometrically():
    ref = _mp_moments(4.0, 0.3, 2.0, 0.6)
    errs = []
    for N in (61, 121, 161):
        x, w = trapezoid_rule(N, 10.0)
        errs.append(np.max(np.abs(np.array(gaussian_moments(4.0, 0.3, 2.0, 0.6, x, w)) - ref[:6])))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-7


def test_moments_at_omega_zero_closed_form():
    # omega = 0: M_s = (2p-1) tanh b, M_2 = tanh^2 b, dM_s/db = (2p-1) sech^2 b
    x, w = default_rule()
    Ms, M2, Ms_w, Ms_b, M2_w, M2_b = gaussian_moments(0.0, 0.7, 1.3, 0.8, x, w)
    assert Ms == pytest.approx(0.6 * math.tanh(0.7), rel=1e-14)
    assert M2 == pytest.approx(math.tanh(0.7) ** 2, rel=1e-14)
    assert Ms_b == pytest.approx(0.6 / math.cosh(0.7) ** 2, rel=1e-13)
    assert Ms_w == pytest.approx(1.3 / math.cosh(0.7) ** 2, rel=1e-12)  # E[s * s kt] sech^2 = kt sech^2


@pytest.mark.parametrize("call", [lambda: gauss_hermite(0), lambda: gauss_hermite(2.5), lambda: trapezoid_rule(2),
                                  lambda: trapezoid_rule(11, -1.0)])
def test_bad_rule_parameters(call):
    with pytest.raises(ValueError):
        call()
