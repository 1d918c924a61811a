"""Entries whose CDF is written with min/max or an arctangent declare the survival function S
beside it (laplace, cauchy, student-t): F + S = 1, S keeps its digits where F → 1, and
their censored, truncated and discretised likelihoods hold to mpmath at 60 digits in the tails,
where scipy's differences of CDFs round to 0 (log 0 = −∞).  The oracle works at 700 digits: 1 − F
at 800 scales is e^{−800}, and its log needs the digits below 1e−348."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from scipy import special, stats

from derive.catalog import CATALOG, get
from derive.codegen.emit import load
from derive.numeric import evaluate

#: the entries on the real line with a declared S (the inverse Gaussian's tests are below)
WITH_SF = [
    name for name, dist in CATALOG.items() if dist.sf is not None and name != "inverse-gaussian"
]

#: mpmath CDFs written as the textbook cases (not the declared expressions), with the fixed
#: parameters the tests use, and the scipy law of the same parameters
ORACLES = {
    "laplace": (
        (1.5,),
        lambda x, mu, b: mp.exp((x - mu) / b) / 2 if x < mu else 1 - mp.exp(-(x - mu) / b) / 2,
        lambda mu, b: stats.laplace(mu, b),
    ),
    "student-t": (
        (3.0, 1.5),
        lambda x, mu, nu, s: (
            mp.betainc(nu / 2, mp.mpf(1) / 2, 0, nu / (nu + ((x - mu) / s) ** 2), regularized=True)
            / 2
            if x < mu
            else 1
            - mp.betainc(
                nu / 2, mp.mpf(1) / 2, 0, nu / (nu + ((x - mu) / s) ** 2), regularized=True
            )
            / 2
        ),
        lambda mu, nu, s: stats.t(nu, mu, s),
    ),
    "asymmetric-laplace": (
        (0.3, 1.5),
        lambda x, mu, tau, s: (
            tau * mp.exp((1 - tau) * (x - mu) / s)
            if x < mu
            else 1 - (1 - tau) * mp.exp(-tau * (x - mu) / s)
        ),
        lambda mu, tau, s: stats.laplace_asymmetric(
            np.sqrt(tau / (1 - tau)), mu, s / np.sqrt(tau * (1 - tau))
        ),
    ),
    "cauchy": (
        (0.7,),
        lambda x, mu, g: mp.mpf(1) / 2 + mp.atan((x - mu) / g) / mp.pi,
        lambda mu, g: stats.cauchy(mu, g),
    ),
}

#: far in each tail, in units of the scale: e^{−800} underflows, 1 − F rounds to 0 from ~37
TAILS = {"laplace": 800.0, "asymmetric-laplace": 800.0, "cauchy": 1e15, "student-t": 1e6}
#: bins as far out as float64 resolves them: the Cauchy's F(y ± ½) agree to 1 part in 2|y|,
#: so at |y| = 1e4 their difference keeps 12 digits (at 1e15, none)
BINS = {**TAILS, "cauchy": 1e4, "student-t": 1e3}


def _F(name, x, mu):
    fixed, F, _ = ORACLES[name]
    if x == np.inf:
        return mp.mpf(1)
    if x == -np.inf:
        return mp.mpf(0)
    return F(mp.mpf(x), mp.mpf(mu), *map(mp.mpf, fixed))


def _minus_log_interval(name, lo, hi, mu):
    """−log(F(hi) − F(lo)) at 700 digits (or more: mp.diff works above the caller's)."""
    with mp.workdps(max(700, mp.mp.dps)):
        return -mp.log(_F(name, hi, mu) - _F(name, lo, mu))


#: the entries under the tail tests: those with a declared S and Student's t (T_ν, symmetric:
#: its survival and intervals are reflected into the lower tail as Φ's are)
TAILED = sorted(ORACLES)


def test_every_entry_with_a_declared_survival_function_has_an_oracle():
    declared = {name for name, dist in CATALOG.items() if dist.sf is not None}
    assert declared == {*WITH_SF, "inverse-gaussian"} and set(WITH_SF) <= set(TAILED)


@pytest.mark.parametrize("name", WITH_SF)
def test_survival_is_one_minus_the_cdf_and_keeps_its_digits(name, rng):
    dist = CATALOG[name]
    y = dist.sym(dist.observed)
    F, S = dist.cdf_expr(), dist.sf_expr()
    fixed, _, _ = ORACLES[name]
    far = TAILS[name]
    for mu in rng.normal(0, 2, 3):
        point = {
            dist.sym(dist.params[0]): mu,
            **dict(zip(map(dist.sym, dist.fixed), fixed, strict=True)),
        }
        for x in (mu - far, mu - 3.0, mu, mu + 0.4, mu + 3.0, mu + far):
            at = {**point, y: x}
            assert float(evaluate(F + S, at)) == pytest.approx(1, abs=1e-30)
            # each as a float64 expression, against the textbook cases at 60 digits
            f = sp.lambdify(
                [y], (F.xreplace(point), S.xreplace(point)), [{"ibeta": special.betainc}, "numpy"]
            )
            got_F, got_S = (float(v[0]) for v in f(np.array([x])))
            with mp.workdps(700):
                want = _F(name, x, mu)
                assert got_F == pytest.approx(float(want), rel=1e-13)
                assert got_S == pytest.approx(float(1 - want), rel=1e-13)


def _cases(name, mu):
    """(lower, upper) rows of every case, near the centre and far in both tails."""
    far = TAILS[name]
    rows = [
        (0.3, 0.3),  # exact
        (0.3, np.inf),  # right-censored
        (-np.inf, 0.5),  # left-censored
        (-1.0, 2.0),  # interval
        (mu + far, np.inf),  # right-censored where 1 − F rounds to 0
        (-np.inf, mu - far),  # left-censored where F underflows (Laplace)
        (mu + far, mu + 1.2 * far),  # an interval in the upper tail
        (mu - 1.2 * far, mu - far),  # and in the lower
        (mu - far, mu + far),  # almost everything
    ]
    return (np.array(c) for c in zip(*rows, strict=True))


@pytest.mark.parametrize("name", TAILED)
def test_censored_nll_holds_in_both_tails(name):
    fixed, _, law = ORACLES[name]
    mu = 0.25
    lower, upper = _cases(name, mu)
    m = load(get(name).censored())
    got = m.nll(lower, upper, np.full(lower.shape, mu), *fixed, reduction="none")
    want = []
    for lo, hi in zip(lower, upper, strict=True):
        if lo == hi:
            want.append(-law(mu, *fixed).logpdf(lo))
        else:
            want.append(float(_minus_log_interval(name, lo, hi, mu)))
    # the last row's −log(1 − 2e-16) takes its digits from atan2 near π for the Cauchy: an
    # absolute error below 1e-18
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-17)
    # scipy's naive difference loses the tail rows: the reason for the declared S
    with np.errstate(divide="ignore"):
        naive = -np.log(law(mu, *fixed).cdf(upper) - law(mu, *fixed).cdf(lower))
    assert not np.all(np.isfinite(naive[4:8])) or name == "cauchy"


@pytest.mark.parametrize("name", TAILED)
def test_censored_gradient_is_finite_in_both_tails_and_matches_differences(name):
    fixed, _, _ = ORACLES[name]
    mu = 0.25
    lower, upper = _cases(name, mu)
    m = load(get(name).censored(), grad=True)
    with np.errstate(all="raise"):
        g = m.gradient(lower, upper, np.full(lower.shape, mu), *fixed)
    assert np.all(np.isfinite(g))
    h = 1e-6
    for i, (lo, hi) in enumerate(zip(lower, upper, strict=True)):
        if lo == hi:
            continue

        with mp.workdps(700):
            want = float(mp.diff(lambda m_, a=lo, b=hi: _minus_log_interval(name, a, b, m_), mu))
        assert g[i] == pytest.approx(want, rel=1e-6, abs=h), (lo, hi)


@pytest.mark.parametrize("name", TAILED)
def test_truncated_nll_is_the_renormalised_density(name):
    """At one end, either way, near the centre and far in the tails (S(LO) or F(HI) is the
    normaliser); between two ends, near the centre and in either tail (T_ν(HI) − T_ν(LO)
    reflected into the lower tail for Student's t; min(F(HI), S(LO)) − min(F(LO), S(HI)) where
    the entry declares S)."""
    fixed, _, law = ORACLES[name]
    mu, far = 0.25, TAILS[name]
    ends = [("-1", "oo"), (str(far), "oo"), ("-oo", "2"), ("-oo", str(-far))]
    ends += [("-1", "2"), (str(far / 2), str(far)), (str(-far), str(-far / 2))]
    for lo, hi in ends:
        m = load(get(name).truncated(lo, hi))
        lo, hi = ({"oo": np.inf, "-oo": -np.inf}.get(e) or float(e) for e in (lo, hi))
        if np.isfinite(lo) and np.isfinite(hi):
            inside = np.linspace(lo, hi, 7)[1:-1]
        else:
            inside = lo + np.arange(1, 6) if np.isfinite(lo) else hi - np.arange(1, 6)
        got = m.nll(inside, np.full(inside.shape, mu), *fixed, reduction="none")
        log_mass = -float(_minus_log_interval(name, lo, hi, mu))
        want = [-law(mu, *fixed).logpdf(v) + log_mass for v in inside]
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("name", TAILED)
def test_discretised_nll_is_the_bin_probability(name):
    fixed, _, law = ORACLES[name]
    mu, far = 0.25, BINS[name]
    m = load(get(name).discretised(1))
    y = np.array([-far, -3.0, 0.0, 0.5, 4.0, far])
    got = m.nll(y, np.full(y.shape, mu), *fixed, reduction="none")
    want = [float(_minus_log_interval(name, v - 0.5, v + 0.5, mu)) for v in y]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    central = law(mu, *fixed)
    np.testing.assert_allclose(  # scipy, where its difference keeps its digits
        got[1:5], -np.log(central.cdf(y[1:5] + 0.5) - central.cdf(y[1:5] - 0.5)), rtol=1e-10
    )


def test_jax_takes_the_student_t_cdf_from_its_betainc():
    """jax has no stdtr: the module's _stdtr (h below 0, 1 − h above) gives numpy's values, tails
    included, and a finite gradient."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    fixed, _, _ = ORACLES["student-t"]
    lower, upper = _cases("student-t", 0.25)
    mu = np.full(lower.shape, 0.25)
    want = load(get("student-t").censored()).nll(lower, upper, mu, *fixed, reduction="none")
    m = load(get("student-t").censored(), backend="jax")
    got = np.asarray(m.nll(lower, upper, mu, *fixed, reduction="none"))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    grad = jax.grad(lambda m_: m.loss(lower, upper, m_, *fixed, reduction="sum"))(mu)
    assert np.all(np.isfinite(np.asarray(grad)))


# ---------------------------------------------------------------------------- inverse Gaussian
#
# F = Φ(√(λ/y)(y/μ − 1)) + e^{2λ/μ}Φ(−√(λ/y)(y/μ + 1)) and S = Φ(−√(λ/y)(y/μ − 1)) − e^{2λ/μ}Φ(…):
# log F through log-sum-exp, log S through log-diff-exp of the log Φ's; e^{2λ/μ} overflows from
# λ/μ = 355 and S's two terms agree to 2μ/y far in the upper tail. The oracle: the same closed
# form at 300 digits, itself checked against the quadrature of the density.

IG_MU, IG_LAMBDA = 1.0, 2.0


def _ig_F(y, mu=IG_MU, lam=IG_LAMBDA):
    if y == np.inf:
        return mp.mpf(1)
    if y == 0:
        return mp.mpf(0)
    y, mu, lam = mp.mpf(y), mp.mpf(mu), mp.mpf(lam)
    root = mp.sqrt(lam / y)
    return mp.ncdf(root * (y / mu - 1)) + mp.exp(2 * lam / mu) * mp.ncdf(-root * (y / mu + 1))


def _ig_S(y, mu, lam):
    y, mu, lam = mp.mpf(y), mp.mpf(mu), mp.mpf(lam)
    root = mp.sqrt(lam / y)
    return mp.ncdf(-root * (y / mu - 1)) - mp.exp(2 * lam / mu) * mp.ncdf(-root * (y / mu + 1))


def _ig_minus_log_interval(lo, hi, mu=IG_MU, lam=IG_LAMBDA):
    """−log P(lo ≤ Y ≤ hi) at 300 digits; right-censored through S (1 − F at y = 1e4 would need
    2,200 digits; S's two terms agree to 4), or more where mp.diff works above the caller's."""
    with mp.workdps(max(300, mp.mp.dps)):
        if hi == np.inf:
            return -mp.log(_ig_S(lo, mu, lam))
        return -mp.log(_ig_F(hi, mu, lam) - _ig_F(lo, mu, lam))


@pytest.mark.parametrize("y", [0.05, 0.7, 1.0, 2.5, 9.0])
def test_the_inverse_gaussian_oracle_is_the_integral_of_its_density(y):
    with mp.workdps(40):
        mu, lam = mp.mpf(IG_MU), mp.mpf(IG_LAMBDA)

        def density(t):
            return mp.sqrt(lam / (2 * mp.pi * t**3)) * mp.exp(
                -lam * (t - mu) ** 2 / (2 * mu**2 * t)
            )

        assert mp.quad(density, [0, y / 2, y]) == pytest.approx(_ig_F(y), rel=1e-25)


def test_inverse_gaussian_survival_is_one_minus_the_cdf():
    """F + S = 1 at 40 digits, and F is scipy's invgauss.cdf in the middle."""
    dist = CATALOG["inverse-gaussian"]
    y, mu, lam = dist.sym(dist.observed), dist.sym(dist.params[0]), dist.sym(dist.fixed[0])
    F, S = dist.cdf_expr(), dist.sf_expr()
    law = stats.invgauss(IG_MU / IG_LAMBDA, scale=IG_LAMBDA)
    for x in (1e-3, 0.4, 1.0, 3.0, 40.0):
        at = {y: x, mu: IG_MU, lam: IG_LAMBDA}
        assert float(evaluate(F + S, at)) == pytest.approx(1, abs=1e-30)
        assert float(evaluate(F, at)) == pytest.approx(law.cdf(x), rel=1e-12, abs=1e-300)


#: (lower, upper, λ) rows: each case near the centre, far in both tails, and at λ/μ = 800,
#: where e^{2λ/μ} overflows float64
IG_ROWS = [
    (0.3, 0.3, IG_LAMBDA),  # exact
    (0.3, np.inf, IG_LAMBDA),  # right-censored
    (0.0, 0.5, IG_LAMBDA),  # left-censored
    (0.5, 2.0, IG_LAMBDA),  # interval
    (400.0, np.inf, IG_LAMBDA),  # S = e^{-400}: 1 − F is 0
    (1e4, np.inf, 1.0),  # S's terms agree to 2μ/y = 2e−4
    (0.0, 0.002, IG_LAMBDA),  # F = e^{-500}: underflows
    (30.0, 31.0, IG_LAMBDA),  # an interval in the upper tail
    (1e-3, 2e-3, IG_LAMBDA),  # and in the lower
    (2.0, 3.0, 800.0),  # e^{2λ/μ} = e^{1600}
    (0.0, 0.5, 800.0),
    (1.5, np.inf, 800.0),
]


def _ig_rows():
    lower, upper, lam = (np.array(c) for c in zip(*IG_ROWS, strict=True))
    return lower, upper, lam


def test_censored_inverse_gaussian_holds_in_both_tails():
    m = load(get("inverse-gaussian").censored())
    lower, upper, lam = _ig_rows()
    got = m.nll(lower, upper, np.full(lower.shape, IG_MU), lam, reduction="none")
    want = [
        -stats.invgauss(IG_MU / g, scale=g).logpdf(lo)
        if lo == hi
        else float(_ig_minus_log_interval(lo, hi, IG_MU, g))
        for lo, hi, g in zip(lower, upper, lam, strict=True)
    ]
    # S's two terms agree to 2e-4 at y = 1e4: the error of log S grows as ε·λy²/(4μ³)
    np.testing.assert_allclose(got, want, rtol=1e-11)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # scipy's difference
        law = stats.invgauss(IG_MU / lam, scale=lam)
        naive = -np.log(law.cdf(upper) - law.cdf(lower))
    assert not np.all(np.isfinite(naive[[4, 6, 8, 9]]))


def test_censored_inverse_gaussian_gradient_is_finite_in_the_tails_and_matches_differences():
    m = load(get("inverse-gaussian").censored(), grad=True)
    lower, upper, lam = _ig_rows()
    with np.errstate(all="raise", under="ignore"):  # e^{−1000} is 0, as it should be
        g = m.gradient(lower, upper, np.full(lower.shape, IG_MU), lam)
    assert np.all(np.isfinite(g))
    for i, (lo, hi, shape) in enumerate(zip(lower, upper, lam, strict=True)):
        if lo == hi:
            continue
        with mp.workdps(300):
            want = float(
                mp.diff(lambda m_, a=lo, b=hi, c=shape: _ig_minus_log_interval(a, b, m_, c), IG_MU)
            )
        assert g[i] == pytest.approx(want, rel=1e-6, abs=1e-6), (lo, hi, shape)


def test_truncated_and_discretised_inverse_gaussian_hold():
    """At one end either way (S(LO) or F(HI) the normaliser), between two ends (the min pair,
    far in the upper tail too), and bins of width 1/2."""
    law = stats.invgauss(IG_MU / IG_LAMBDA, scale=IG_LAMBDA)
    for lo, hi, inside in (
        ("2", "oo", [2.5, 4.0, 9.0]),
        ("300", "oo", [301.0, 310.0]),
        ("0", "3", [0.2, 1.0, 2.9]),
        ("1", "2", [1.1, 1.5, 1.9]),
        ("300", "400", [301.0, 350.0]),
    ):
        m = load(get("inverse-gaussian").truncated(lo, hi))
        bounds = [np.inf if e == "oo" else float(e) for e in (lo, hi)]
        y = np.array(inside)
        got = m.nll(y, np.full(y.shape, IG_MU), IG_LAMBDA, reduction="none")
        want = -law.logpdf(y) - float(_ig_minus_log_interval(*bounds))
        np.testing.assert_allclose(got, want, rtol=1e-12)
    m = load(get("inverse-gaussian").discretised("1/2"))
    y = np.array([0.5, 1.0, 3.0, 60.0])
    got = m.nll(y, np.full(y.shape, IG_MU), IG_LAMBDA, reduction="none")
    want = [float(_ig_minus_log_interval(v - 0.25, v + 0.25)) for v in y]
    np.testing.assert_allclose(got, want, rtol=1e-11)
