"""Truncation of a count family beyond zero truncation: the Poisson CDF declared as the
regularized upper incomplete gamma, P(Y ≤ y) = Q(y + 1, λ); against scipy.stats.poisson and,
where P(lo ≤ Y ≤ hi) is far in a tail, mpmath at 50 digits."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy import stats

from derive.catalog import get
from derive.codegen.emit import load


@pytest.mark.parametrize("lo, hi", [(2, 10), (3, "oo"), (0, 4)])
def test_truncated_poisson_equals_scipy(lo, hi, rng):
    m = load(get("poisson").truncated(str(lo), str(hi)))
    top = np.inf if hi == "oo" else hi
    y = rng.integers(lo, (lo + 15 if hi == "oo" else hi) + 1, 50).astype(float)
    lam = rng.uniform(0.3, 12.0, 50)
    mass = stats.poisson.cdf(top, lam) - stats.poisson.cdf(lo - 1, lam)
    want = -(stats.poisson.logpmf(y, lam) - np.log(mass))
    np.testing.assert_allclose(m.nll(y, lam, reduction="none"), want, rtol=1e-11)


def test_a_far_upper_truncation_keeps_its_digits():
    """P(Y ≥ 60) at λ = 2 is 1e−61: 1 − F(59) is 0 in floating point, P(60, λ) is not."""
    m = load(get("poisson").truncated("60", "oo"))
    got = m.nll(np.array([61.0]), np.array([2.0]), reduction="none")[0]
    with mpmath.workdps(50):
        lam = mpmath.mpf(2)
        log_pmf = 61 * mpmath.log(lam) - lam - mpmath.loggamma(62)
        upper = mpmath.gammainc(60, 0, lam, regularized=True)  # P(Y ≥ 60)
        want = -(log_pmf - mpmath.log(upper))
    assert got == pytest.approx(float(want), rel=1e-12)
    assert 1 - stats.poisson.cdf(59, 2.0) == 0.0  # the naive form there


def test_gradient_of_a_truncated_poisson_log_rate_matches_finite_differences(rng):
    m = load(get("poisson").truncated("2", "10").link(**{"lambda": "log"}), grad=True)
    y = rng.integers(2, 11, 40).astype(float)
    eta = rng.uniform(-1.0, 2.5, 40)
    h = 1e-6
    fd = (m.nll(y, eta + h, reduction="none") - m.nll(y, eta - h, reduction="none")) / (2 * h)
    np.testing.assert_allclose(m.gradient(y, eta), fd, rtol=1e-6, atol=1e-8)
