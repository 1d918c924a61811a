"""Truncation of a count family beyond zero truncation: the Poisson CDF declared as the
regularized upper incomplete gamma, P(Y ≤ y) = Q(y + 1, λ); against scipy.stats.poisson and,
where P(lo ≤ Y ≤ hi) is far in a tail, mpmath at 50 digits."""

from __future__ import annotations

import warnings

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


# ---------------------------------------------------------------------------- NB and binomial

ALPHA, N = 0.6, 12.0


@pytest.mark.parametrize("lo, hi", [(3, 20), (2, "oo"), (0, 6)])
def test_truncated_negative_binomial_equals_scipy(lo, hi, rng):
    """P(Y ≤ y) = I_p(r, y + 1), r = 1/α, p = 1/(1 + αμ): scipy's nbinom(r, p)."""
    m = load(get("negative-binomial").truncated(str(lo), str(hi)))
    top = np.inf if hi == "oo" else hi
    y = rng.integers(lo, (lo + 30 if hi == "oo" else hi) + 1, 50).astype(float)
    mu = rng.uniform(0.3, 15.0, 50)
    law = stats.nbinom(1 / ALPHA, 1 / (1 + ALPHA * mu))
    mass = law.cdf(top) - law.cdf(lo - 1)
    want = -(law.logpmf(y) - np.log(mass))
    np.testing.assert_allclose(m.nll(y, mu, ALPHA, reduction="none"), want, rtol=1e-11)


@pytest.mark.parametrize("lo, hi", [(2, "n"), (3, 8), (0, 5)])
def test_truncated_binomial_equals_scipy(lo, hi, rng):
    """P(Y ≤ y) = I_{1−p}(n − y, y + 1): scipy's binom(n, p); an end may be the fixed n."""
    m = load(get("binomial").truncated(str(lo), str(hi)))
    top = N if hi == "n" else hi
    y = rng.integers(lo, top + 1, 50).astype(float)
    p = rng.uniform(0.05, 0.95, 50)
    law = stats.binom(N, p)
    want = -(law.logpmf(y) - np.log(law.cdf(top) - law.cdf(lo - 1)))
    np.testing.assert_allclose(m.nll(y, p, N, reduction="none"), want, rtol=1e-11)


def test_the_intercept_of_a_truncated_nb_with_a_log_link_minimises_scipy_s_nll(rng):
    """Its gradient has incomplete betas of the margin: no closed form (sympy's solve had searched
    for one for minutes), so the module bisects the mean gradient, quietly where the bracket
    reaches margins the gradient overflows at. Oracle: scipy's truncated nbinom, minimised."""
    from scipy import optimize

    m = load(get("negative-binomial").truncated("2", "30").link(mu="log"), grad=True)
    y = rng.integers(2, 31, 400).astype(float)

    def mean_nll(log_mu):
        law = stats.nbinom(1 / ALPHA, 1 / (1 + ALPHA * np.exp(log_mu)))
        return -np.mean(law.logpmf(y) - np.log(law.cdf(30) - law.cdf(1)))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        start = m.intercept(y, ALPHA)
    best = optimize.minimize_scalar(mean_nll, bracket=(start - 1, start + 1)).x
    assert start == pytest.approx(best, abs=1e-5)


def test_the_gradient_of_a_truncated_nb_with_a_log_link_is_finite_at_large_means():
    """The normaliser's derivative has (alpha mu)^k / (1 + alpha mu)^n, k <= n: each factor
    overflows beyond log mu = 709/k (the gradient was NaN from log mu = 23), the ratio never; it is
    emitted in log space. Oracle: mpmath's value of the derived gradient at 60 digits. Where the
    gradient is near 0 its terms cancel (y against the mean), so it is checked in absolute terms
    there, relative below."""
    import sympy as sp

    from derive.derivation import derive
    from derive.numeric import evaluate

    d = derive(get("negative-binomial").truncated("2", "30").link(mu="log"))
    m = load(d, grad=True)
    symbols = {v.name: s for s, v in d.variables.items()}
    slope = sp.diff(d.loss, symbols["log_mu"])
    for y, alpha in ((5.0, 0.5), (29.0, 0.1), (2.0, 2.0)):
        for log_mu in (3.0, 15.0, 23.0, 30.0, 40.0):
            got = m.gradient(np.array([y]), np.array([log_mu]), np.array([alpha]))[0]
            point = {symbols["y"]: y, symbols["log_mu"]: log_mu, symbols["alpha"]: alpha}
            exact = float(evaluate(slope, point, dps=60))
            assert np.isfinite(got)
            assert got == pytest.approx(exact, rel=1e-7, abs=1e-12), (y, alpha, log_mu)


@pytest.mark.parametrize("n", [4, 10, 29, 30, 31, 60])
def test_a_binomial_truncation_above_n_ends_at_n(n, rng):
    """--truncated 2,30 holds for any n: above n the CDF is 1 (I_x(0, b) = 1), not I_x(n − 30, …)
    = NaN; the gradient is finite there too. Oracle: scipy's binom(n, p) on [2, min(30, n)]."""
    m = load(get("binomial").truncated("2", "30"), grad=True)
    y = rng.integers(2, min(30, n) + 1, 40).astype(float)
    p = rng.uniform(0.05, 0.95, 40)
    law = stats.binom(n, p)
    want = -(law.logpmf(y) - np.log(law.cdf(30) - law.cdf(1)))
    np.testing.assert_allclose(m.nll(y, p, float(n), reduction="none"), want, rtol=1e-11)
    assert np.all(np.isfinite(m.gradient(y, p, float(n))))


def test_far_upper_truncations_of_nb_and_binomial_keep_their_digits():
    """P(Y ≥ 150) under NB(r = 1/α, μ = 1) ≈ 1e−33 and P(150 ≤ Y ≤ 180), and P(Y ≥ 11) under
    binomial(12, 0.05) ≈ 6e−14, where 1 − F rounds to 0 or to a few digits; mpmath at 50
    digits (the incomplete beta's upper tail, I_{1−p}(b, a))."""
    with mpmath.workdps(50):
        r, q = 1 / mpmath.mpf(ALPHA), mpmath.mpf(ALPHA) / (1 + mpmath.mpf(ALPHA))
        log_pmf = (
            mpmath.loggamma(160 + r) - mpmath.loggamma(r) - mpmath.loggamma(161)
            + r * mpmath.log(1 - q) + 160 * mpmath.log(q)
        )  # fmt: skip
        right = mpmath.betainc(150, r, 0, q, regularized=True)
        inside = right - mpmath.betainc(181, r, 0, q, regularized=True)
        p = mpmath.mpf(1) / 20
        bin_log_pmf = mpmath.log(12) + 11 * mpmath.log(p) + mpmath.log(1 - p)
        bin_right = mpmath.betainc(11, 2, 0, p, regularized=True)
    y = np.array([160.0])
    got = load(get("negative-binomial").truncated("150", "oo")).nll(y, 1.0, ALPHA, reduction="none")
    assert got[0] == pytest.approx(float(-(log_pmf - mpmath.log(right))), rel=1e-11)
    got = load(get("negative-binomial").truncated("150", "180")).nll(
        y, 1.0, ALPHA, reduction="none"
    )
    assert got[0] == pytest.approx(float(-(log_pmf - mpmath.log(inside))), rel=1e-11)
    got = load(get("binomial").truncated("11", "n")).nll(
        np.array([11.0]), 0.05, N, reduction="none"
    )
    assert got[0] == pytest.approx(float(-(bin_log_pmf - mpmath.log(bin_right))), rel=1e-11)
    assert 1 - stats.nbinom.cdf(149, 1 / ALPHA, 1 / (1 + ALPHA)) == 0.0  # the naive form there


@pytest.mark.parametrize("ends, words", [(("2.5", "7"), "integers"), (("3", "2"), "proper")])
def test_a_count_truncation_needs_integer_ends_in_order(ends, words):
    from derive.composite import NotApplicable

    with pytest.raises(NotApplicable, match=words):
        get("negative-binomial").truncated(*ends)
