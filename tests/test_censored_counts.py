"""Censored counts (poisson-log, negative-binomial and binomial --censored): the bounds
(y_lower, y_upper) in xgboost's AFT convention, with a count's P(Y ≥ l) = 1 − F(l − 1) and
F(u) − F(l − 1). Against scipy.stats (logpmf, logsf, logcdf, CDF differences), and far in the
tails (P ≈ 1e−60, F within 1e−13 of 1) against mpmath at 50 digits; gradients against finite
differences and torch autograd, at raw outputs ±30 where the probabilities are representable;
non-integer bounds refused as a non-integer count is (+inf)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy import stats

from derive.catalog import get
from derive.codegen import Unsupported
from derive.codegen.emit import load

ALPHA, N = 0.7, 12.0

#: name -> (declaration, the fixed arguments, raw -> scipy's frozen law)
FAMILIES = {
    "poisson-log": (
        lambda: get("poisson-log").censored(),
        (),
        lambda raw: stats.poisson(np.exp(raw)),
    ),
    "negative-binomial": (
        lambda: get("negative-binomial").link(mu="log").censored(),
        (ALPHA,),
        lambda raw: stats.nbinom(1 / ALPHA, 1 / (1 + ALPHA * np.exp(raw))),
    ),
    "binomial": (
        lambda: get("binomial").link(p="logit").censored(),
        (N,),
        lambda raw: stats.binom(N, 1 / (1 + np.exp(-raw))),
    ),
}
_MODULES = {}


def module(name, backend="numpy"):
    key = (name, backend)
    if key not in _MODULES:
        _MODULES[key] = load(FAMILIES[name][0](), backend=backend, grad=backend == "numpy")
    return _MODULES[key]


def _rows(rng, name, n=80):
    """One row of each case per four: exact, right-censored, left-censored, interval."""
    top = N if name == "binomial" else 40
    a = rng.integers(0, int(top) + 1, n).astype(float)
    b = rng.integers(0, int(top) + 1, n).astype(float)
    lower, upper = np.minimum(a, b), np.maximum(a, b)
    kind = np.arange(n) % 4
    upper[kind == 0] = lower[kind == 0]
    upper[kind == 1] = np.inf
    lower[kind == 2] = 0.0
    interval = kind == 3
    lower[interval] = np.maximum(lower[interval], 1.0)
    upper[interval] = np.maximum(upper[interval], lower[interval] + 1)
    if name == "binomial":
        upper[interval] = np.minimum(upper[interval], N - 1)
        lower[interval] = np.minimum(lower[interval], upper[interval] - 1)
    raw = rng.uniform(-2.0, 2.5, n)
    return lower, upper, raw


def _scipy_nll(law, lower, upper):
    exact = lower == upper
    right = ~exact & np.isinf(upper)
    left = ~exact & ~right & (lower <= 0)
    interval = ~(exact | right | left)
    out = np.empty_like(lower)
    out[exact] = -law.logpmf(lower)[exact]
    out[right] = -law.logsf(lower - 1)[right]
    out[left] = -law.logcdf(upper)[left]
    # the CDF difference, or where it is in the upper tail scipy's survival functions' (both
    # cdf values round to 1 there)
    below = law.cdf(lower - 1)
    with np.errstate(divide="ignore"):
        mass = np.where(below > 0.5, law.sf(lower - 1) - law.sf(upper), law.cdf(upper) - below)
        out[interval] = -np.log(mass)[interval]
    return out


@pytest.mark.parametrize("name", FAMILIES)
def test_every_case_equals_scipy(name, rng):
    lower, upper, raw = _rows(rng, name)
    _, fixed, law = FAMILIES[name]
    got = module(name).nll(lower, upper, raw, *fixed, reduction="none")
    np.testing.assert_allclose(got, _scipy_nll(law(raw), lower, upper), rtol=1e-10, atol=1e-13)


def test_a_binomial_censoring_bound_above_n_is_the_end_of_the_support(rng):
    """An interval [l, u] with u > n is P(Y ≥ l) (scipy's binom.sf is 0 there), and l = u > n
    has probability 0 (+inf); a bound above n had given NaN."""
    lower = np.array([3.0, 3.0, 0.0, N, N + 2.0])
    upper = np.array([N + 5.0, np.inf, N + 1.0, N + 3.0, N + 2.0])
    raw = rng.uniform(-2.0, 2.0, lower.size)
    law = FAMILIES["binomial"][2](raw)
    with np.errstate(divide="ignore"):  # survival functions: P(Y ≥ n) ≈ 1e−11 keeps its digits
        want = -np.log(law.sf(lower - 1) - law.sf(upper))
    got = module("binomial").nll(lower, upper, raw, N, reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-12)
    gradient = module("binomial").gradient(lower, upper, raw, N)
    assert np.isinf(want[-1]) and np.isfinite(gradient[:-1]).all()


def _mp_poisson(lam, k):
    """P(Y ≤ k) and P(Y ≥ k + 1) for Y ~ Poisson(λ), each by its own series at 50 digits."""
    below = mpmath.fsum(mpmath.exp(-lam + j * mpmath.log(lam) - mpmath.loggamma(j + 1))
                        for j in range(int(k) + 1))  # fmt: skip
    above = mpmath.gammainc(k + 1, 0, lam, regularized=True)
    return below, above


@pytest.mark.parametrize(
    "lower, upper",
    [(60, np.inf), (60, 70), (20, 30), (8, 9)],
    ids=["right P=1e-61", "interval 1e-61", "interval F near 1", "interval 1e-5"],
)
def test_poisson_tails_keep_their_digits(lower, upper):
    """λ = 2: P(Y ≥ 60) ≈ 1e−61, where 1 − F(59) is 0; P(20 ≤ Y ≤ 30) ≈ 5.8e−14, where F(19)
    and F(30) are both within 1e−13 of 1 (log F(30) − log F(19) keeps ~3 digits)."""
    with mpmath.workdps(50):
        lam = mpmath.mpf(2)
        _, at_least = _mp_poisson(lam, lower - 1)
        beyond = 0 if np.isinf(upper) else _mp_poisson(lam, upper)[1]
        want = -mpmath.log(at_least - beyond)
    got = module("poisson-log").nll(
        np.array([float(lower)]), np.array([upper]), np.array([np.log(2.0)]), reduction="none"
    )[0]
    assert got == pytest.approx(float(want), rel=1e-12)
    naive = stats.poisson.cdf(upper, 2.0) - stats.poisson.cdf(lower - 1, 2.0)
    if lower == 60:
        assert naive == 0.0  # what the naive form gives there: log 0


def test_negative_binomial_and_binomial_upper_tails_keep_their_digits():
    """P(Y ≥ l) and P(l ≤ Y ≤ u) in the upper tail, against mpmath's incomplete beta at 50
    digits: NB(r = 1/α, p) with μ = 1: P(Y ≥ 150) ≈ 1e−33; binomial(12, p = 0.1): P(Y ≥ 11)."""
    with mpmath.workdps(50):
        r, p = 1 / mpmath.mpf(ALPHA), 1 / (1 + mpmath.mpf(ALPHA))
        nb_right = mpmath.betainc(150, r, 0, 1 - p, regularized=True)  # P(Y ≥ 150)
        nb_interval = nb_right - mpmath.betainc(181, r, 0, 1 - p, regularized=True)
        q = mpmath.mpf(1) / 10
        bin_right = mpmath.betainc(11, 2, 0, q, regularized=True)  # P(Y ≥ 11), n = 12
    nb = module("negative-binomial").nll(
        np.array([150.0, 150.0]), np.array([np.inf, 180.0]), np.zeros(2), ALPHA, reduction="none"
    )
    np.testing.assert_allclose(nb, [-float(mpmath.log(nb_right)), -float(mpmath.log(nb_interval))],
                               rtol=1e-11)  # fmt: skip
    logit = np.log(0.1 / 0.9)
    got = module("binomial").nll(np.array([11.0]), np.array([np.inf]), logit, N, reduction="none")
    assert got[0] == pytest.approx(-float(mpmath.log(bin_right)), rel=1e-12)
    naive = 1 - stats.nbinom.cdf(149, 1 / ALPHA, 1 / (1 + ALPHA))
    assert naive == 0.0 or abs(naive / float(nb_right) - 1) > 1e-6  # the naive form there


@pytest.mark.parametrize("name", FAMILIES)
def test_non_integer_or_negative_bounds_are_outside_the_support(name):
    """As a non-integer count is for the uncensored family: +inf (scipy's −logpmf(2.5) = inf)."""
    _, fixed, _ = FAMILIES[name]
    m = module(name)
    lower = np.array([2.5, 2.0, -1.0, 2.0])
    upper = np.array([np.inf, 3.5, 3.0, 3.0])
    got = m.nll(lower, upper, np.zeros(4), *fixed, reduction="none")
    assert np.all(np.isposinf(got[:3])) and np.isfinite(got[3])
    assert np.isposinf(m.nll(lower, upper, np.zeros(4), *fixed, reduction="mean"))
    assert np.isposinf(-stats.poisson.logpmf(2.5, 1.0))  # the convention followed


def _representable(name, lower, upper, raw):
    """The exact rows, and the censored rows whose probability P is above 1e−147 (scipy's)."""
    r = np.full(lower.shape, raw)
    with np.errstate(all="ignore"):
        keep = (lower == upper) | (_scipy_nll(FAMILIES[name][2](r), lower, upper) < 337)
    assert np.sum(keep & (lower != upper)) >= 5  # censored rows remain at every raw output
    return lower[keep], upper[keep], r[keep]


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("raw", [-30.0, -3.0, 0.4, 3.0, 30.0])
def test_gradient_and_hessian_match_finite_differences(name, raw, rng):
    """Every case, float64, under np.errstate(all="raise") (underflow aside). The exact rows at
    every raw output; a censored row where its probability P is above 1e−147 (the hessian
    divides by P², which must be representable): P(Y ≥ 32 | λ = e⁻³⁰) ≈ 1e−450 and
    P(Y ≤ 40 | λ = e³⁰) = e^(−10¹³) are not, and their nll is +inf (no log-space incomplete
    gamma or beta: see the report)."""
    lower, upper, r = _representable(name, *_rows(rng, name, n=60)[:2], raw)
    _, fixed, _ = FAMILIES[name]
    m = module(name)
    with np.errstate(all="raise", under="ignore"):  # a gradient of 1e−320 may round to 0
        g, hess = m.gradient(lower, upper, r, *fixed), m.hessian(lower, upper, r, *fixed)
        h = 1e-5
        nll = [m.nll(lower, upper, r + s, *fixed, reduction="none") for s in (h, -h)]
        grads = [m.gradient(lower, upper, r + s, *fixed) for s in (h, -h)]
    assert np.all(np.isfinite(nll[0])) and np.all(np.isfinite(g)) and np.all(np.isfinite(hess))
    np.testing.assert_allclose(g, (nll[0] - nll[1]) / (2 * h), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hess, (grads[0] - grads[1]) / (2 * h), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("raw", [-30.0, -3.0, 0.4, 3.0, 30.0])
def test_poisson_gradient_equals_torch_autograd(raw, rng):
    """torch's autograd through where: finite where the unused cases see their guards' points."""
    torch = pytest.importorskip("torch")
    lower, upper, r = _representable("poisson-log", *_rows(rng, "poisson-log", n=60)[:2], raw)
    t = torch.tensor(r, dtype=torch.float64, requires_grad=True)
    lo, up = (torch.tensor(x, dtype=torch.float64) for x in (lower, upper))
    total = module("poisson-log", "torch").nll(lo, up, t, reduction="sum")
    (theirs,) = torch.autograd.grad(total, [t])
    assert torch.all(torch.isfinite(theirs))
    np.testing.assert_allclose(
        # torch's own incomplete gamma agrees with scipy's to ~2e−9 in these rows
        module("poisson-log").gradient(lower, upper, r),
        theirs.numpy(),
        rtol=1e-8,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        total.item(), module("poisson-log").nll(lower, upper, r, reduction="sum"), rtol=1e-10
    )


@pytest.mark.parametrize("name", FAMILIES)
def test_float32_in_float32_out(name, rng):
    lower, upper, raw = _rows(rng, name, n=40)
    _, fixed, law = FAMILIES[name]
    narrow = [x.astype(np.float32) for x in (lower, upper, raw)]
    # the fixed values as float32 too (a Python float α gives float64 already without
    # censoring: special.gammaln(1/α) of a Python float is a float64 scalar)
    got = module(name).nll(*narrow, *np.float32(fixed), reduction="none")
    assert got.dtype == np.float32
    want = _scipy_nll(law(raw), lower, upper)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["negative-binomial", "binomial"])
def test_torch_refuses_the_incomplete_beta_in_one_line(name):
    with pytest.raises(Unsupported) as info:
        module(name, "torch")
    message = str(info.value)
    assert "not supported by the torch backend" in message and "\n" not in message


@pytest.mark.parametrize("name", ["negative-binomial", "binomial"])
def test_jax_equals_numpy(name, rng):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    lower, upper, raw = _rows(rng, name, n=40)
    _, fixed, _ = FAMILIES[name]
    want = module(name).nll(lower, upper, raw, *fixed, reduction="none")
    got = np.asarray(module(name, "jax").nll(lower, upper, raw, *fixed, reduction="none"))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
