"""Tests of the Biroli et al. speciation/collapse quantities (numerics/speciation.py, PREDECESSOR §4)."""
import math

import mpmath as mp
import numpy as np
import pytest
from scipy.optimize import brentq

from flowphase.numerics import speciation as S


def _mp_phi(t, d, sigma=1.0, m=1.0):
    """phi(t) = 1/2 int (G+^2 + G-^2)/(G+ + G-) dx with 30 digits, on the original form."""
    mp.mp.dps = 30
    t = mp.mpf(t)
    a = m * mp.sqrt(d) * mp.e ** (-t)
    gam = 1 - mp.e ** (-2 * t) + sigma ** 2 * mp.e ** (-2 * t)
    sd = mp.sqrt(gam)

    def f(x):
        gp = mp.npdf(x, a, sd)
        gm = mp.npdf(x, -a, sd)
        return (gp ** 2 + gm ** 2) / (gp + gm)

    return float(mp.quad(f, [-a - 40 * sd, -a, 0, a, a + 40 * sd]) / 2)


@pytest.mark.parametrize("t,d,sigma", [(0.3, 16, 1.0), (2.0, 256, 1.0), (3.4, 1024, 0.7), (5.0, 4096, 1.5)])
def test_cloning_vs_mpmath(t, d, sigma):
    assert S.cloning_probability(t, d, sigma) == pytest.approx(_mp_phi(t, d, sigma), abs=1e-10)


def test_cloning_limits_and_sharpening():
    assert S.cloning_probability(0.0, 100) == pytest.approx(1.0, abs=1e-12)
    assert S.cloning_probability(30.0, 100) == pytest.approx(0.5, abs=1e-12)
    below, above = [], []
    for d in (256, 1024, 4096, 16384):
        ts = S.speciation_time(d)
        lo, hi = S.cloning_probability([0.8 * ts, 1.2 * ts], d)
        below.append(lo)
        above.append(hi)
    assert np.all(np.diff(below) > 0) and np.all(np.diff(above) < 0)   # a step at t/t_S = 1 as d grows


def test_speciation_times():
    assert S.speciation_time(1000, 1.0) == pytest.approx(0.5 * math.log(1001), rel=1e-15)
    for d, ref in ((1000, 0.0306), (5000, 0.0139), (50000, 0.00445)):
        assert S.speciation_time_linear(d) == pytest.approx(ref, abs=6e-5)  # spec truncates 0.03065
        assert S.speciation_time_linear(d) == pytest.approx(S.ou_to_linear(S.speciation_time(d)), rel=1e-12)
        assert S.speciation_time_linear(d) == pytest.approx(1 / math.sqrt(d), rel=0.04)


def test_collapse_time_is_root_of_criterion():
    for n, d, sigma in ((128, 1000, 1.0), (10, 50, 0.5), (1000, 20, 2.0)):
        tc = S.collapse_time(n, d, sigma)
        root = brentq(lambda t: S.collapse_criterion(t, n, d, sigma), 1e-9, 50.0, xtol=1e-14)
        assert tc == pytest.approx(root, rel=1e-9)
        assert S.collapse_time_linear(n, d, sigma) == pytest.approx(S.ou_to_linear(tc), rel=1e-10)
    # for n = O(1): t_C^lin ~ sqrt(2 ln n)/(sigma sqrt d)
    assert S.collapse_time_linear(8, 1e6) == pytest.approx(math.sqrt(2 * math.log(8)) / 1e3, rel=5e-3)  # O(rho) correction
    # collapse comes after (at smaller OU time than) speciation for n = O(1)
    assert S.collapse_time(128, 1000) < S.speciation_time(1000)


def test_bad_input():
    with pytest.raises(ValueError, match="d must"):
        S.speciation_time(0)
    with pytest.raises(ValueError, match="n must"):
        S.collapse_time(1, 100)
    with pytest.raises(ValueError, match="t must"):
        S.cloning_probability(-1.0, 100)
