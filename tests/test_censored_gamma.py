"""Censored gamma (gamma --censored --link mu=log): the CDF declared as the regularized lower
incomplete gamma P(k, k·y/μ), the survival case as Q = gammaincc (never 1 − P), against
scipy.stats.gamma and, far in the upper tail, mpmath at 50 digits."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy import stats

from derive.catalog import get
from derive.codegen.emit import load

_M = {}


def module():
    if "m" not in _M:
        _M["m"] = load(get("gamma").censored().link(mu="log"), grad=True)
    return _M["m"]


def _rows(rng, n=60, k=2.5, log_mu=0.4):
    t = stats.gamma.rvs(k, scale=np.exp(log_mu) / k, size=n, random_state=rng)
    lower, upper = t.copy(), t.copy()
    kind = rng.integers(0, 4, n)
    upper[kind == 1] = np.inf  # right-censored
    lower[kind == 2] = 0.0  # left-censored
    lower[kind == 3], upper[kind == 3] = 0.5 * t[kind == 3], 1.8 * t[kind == 3]
    return lower, upper, np.full(n, log_mu), k


def _scipy_nll(lower, upper, log_mu, k):
    out = np.empty_like(lower)
    exact = lower == upper
    right = ~exact & np.isinf(upper)
    left = ~exact & ~right & (lower <= 0)
    interval = ~(exact | right | left)
    out[exact] = -stats.gamma.logpdf(lower[exact], k, scale=np.exp(log_mu[exact]) / k)
    out[right] = -stats.gamma.logsf(lower[right], k, scale=np.exp(log_mu[right]) / k)
    out[left] = -stats.gamma.logcdf(upper[left], k, scale=np.exp(log_mu[left]) / k)
    s = np.exp(log_mu[interval]) / k
    out[interval] = -np.log(
        stats.gamma.cdf(upper[interval], k, scale=s) - stats.gamma.cdf(lower[interval], k, scale=s)
    )
    return out


def test_every_case_equals_scipy(rng):
    lower, upper, log_mu, k = _rows(rng)
    got = module().nll(lower, upper, log_mu, k, reduction="none")
    np.testing.assert_allclose(got, _scipy_nll(lower, upper, log_mu, k), rtol=1e-10)


@pytest.mark.parametrize("x", [40.0, 300.0, 600.0])
def test_the_survival_case_keeps_its_digits_far_in_the_tail(x):
    """y_lower = x·μ/k: S = Q(k, x) down to 1e−250, where 1 − P(k, x) is 0 (log → −inf); against
    mpmath's regularized upper incomplete gamma at 50 digits."""
    k, log_mu = 2.5, 0.4
    y = np.array([x * np.exp(log_mu) / k])
    got = module().nll(y, np.array([np.inf]), log_mu, k, reduction="none")[0]
    with mpmath.workdps(50):
        want = -mpmath.log(mpmath.gammainc(k, mpmath.mpf(x), mpmath.inf, regularized=True))
    assert got == pytest.approx(float(want), rel=1e-12)
    naive = -np.log1p(-stats.gamma.cdf(y[0], k, scale=np.exp(log_mu) / k))
    assert x < 100 or not np.isfinite(naive)  # what the naive form gives there


def test_gradient_in_log_mu_matches_finite_differences(rng):
    lower, upper, log_mu, k = _rows(rng, n=40)
    m = module()
    g = m.gradient(lower, upper, log_mu, k)
    h = 1e-6
    fd = (
        m.nll(lower, upper, log_mu + h, k, reduction="none")
        - m.nll(lower, upper, log_mu - h, k, reduction="none")
    ) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    hess = m.hessian(lower, upper, log_mu, k)
    fd2 = (m.gradient(lower, upper, log_mu + h, k) - m.gradient(lower, upper, log_mu - h, k)) / (
        2 * h
    )
    np.testing.assert_allclose(hess, fd2, rtol=1e-5, atol=1e-7)


def test_right_censoring_at_zero_and_left_censoring_at_infinity_are_certain():
    """S(0) = 1 and F(∞) = 1: a bound that says nothing costs nothing."""
    m = module()
    got = m.nll(np.array([0.0, 0.0]), np.array([np.inf, np.inf]), np.array([0.4, -3.0]), 2.5,
                reduction="none")  # fmt: skip
    np.testing.assert_allclose(got, 0.0, atol=1e-15)


@pytest.mark.parametrize("x_lower, x_upper", [(40.0, 45.0), (300.0, 301.0), (0.7, 40.0)])
def test_an_interval_far_in_the_upper_tail_keeps_its_digits(x_lower, x_upper):
    """Both bounds in the upper tail (k·y/μ = 40..45: F within 1e−16 of 1, both log F round to
    0): F(u) − F(l) taken as Q(k, x_l) − Q(k, x_u), against mpmath's upper integrals at 50
    digits (the naive CDF difference is 0 there); an interval across the median stays F(u) −
    F(l)."""
    k, log_mu = 2.5, 0.4
    scale = np.exp(log_mu) / k
    lower, upper = np.array([x_lower * scale]), np.array([x_upper * scale])
    got = module().nll(lower, upper, log_mu, k, reduction="none")[0]
    with mpmath.workdps(50):
        q = [mpmath.gammainc(k, mpmath.mpf(x), mpmath.inf, regularized=True)
             for x in (x_lower, x_upper)]  # fmt: skip
        want = -mpmath.log(q[0] - q[1])
    assert got == pytest.approx(float(want), rel=1e-12)
    naive = stats.gamma.cdf(upper[0], k, scale=scale) - stats.gamma.cdf(lower[0], k, scale=scale)
    assert x_lower < 40 or naive == 0.0 or abs(naive / float(q[0] - q[1]) - 1) > 1e-3
