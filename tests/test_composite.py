"""Composite likelihoods (derive/composite.py) against independent oracles: lifelines' AFT
fitters, xgboost's survival:aft, statsmodels' zero-inflated, hurdle and ordered models, torch's
MixtureSameFamily, scipy's truncated families and CDF differences; numerics at the tails and at
±30 raw outputs; bad input."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import special, stats

from derive.catalog import CATALOG, get
from derive.codegen.emit import load
from derive.composite import NotApplicable
from derive.errors import UserError
from derive.numeric import evaluate

_MODULES = {}


def module(dist, grad=False, backend="numpy"):
    """The emitted module of a composite, built once per session (composites are named by their
    command line, so the name is the key)."""
    key = (dist.name, grad, backend)
    if key not in _MODULES:
        _MODULES[key] = load(dist, backend=backend, grad=grad)
    return _MODULES[key]


def _censored_sample(rng, n=40, scale=2.0, shape=1.5):
    """Weibull times with every kind of row: exact, right-, left- and interval-censored."""
    t = scale * rng.weibull(shape, n)
    lower, upper = t.copy(), t.copy()
    kind = rng.integers(0, 4, n)
    upper[kind == 1] = np.inf  # right-censored at t
    lower[kind == 2] = 0.0  # left-censored: below t
    upper[kind == 3] = t[kind == 3] * 1.7  # an interval around t
    lower[kind == 3] = t[kind == 3] * 0.6
    return lower, upper


# ---------------------------------------------------------------------------- censoring


def test_censored_weibull_cases_against_scipy(rng):
    m = module(get("weibull").censored().link(**{"lambda": "log"}))
    lower, upper = _censored_sample(rng)
    r, k = 0.4, 1.3
    dist = stats.weibull_min(k, scale=np.exp(r))
    want = np.where(
        lower == upper,
        -dist.logpdf(lower),
        np.where(
            np.isinf(upper),
            -dist.logsf(lower),
            np.where(
                lower == 0,
                -dist.logcdf(upper),
                -np.log(dist.cdf(np.where(np.isinf(upper), 1, upper)) - dist.cdf(lower)),
            ),
        ),
    )
    assert m.OBSERVED == ("y_lower", "y_upper") and m.PARAMS == ("log_lambda",)
    np.testing.assert_allclose(m.nll(lower, upper, r, k, reduction="none"), want, rtol=1e-12)


@pytest.mark.parametrize(
    "name, fitter, build, params",
    [
        (
            "weibull",
            "WeibullAFTFitter",
            lambda: get("weibull").censored(),
            lambda p: (np.exp(p["lambda_"]), np.exp(p["rho_"])),
        ),
        (
            "lognormal",
            "LogNormalAFTFitter",
            lambda: get("lognormal").censored(),
            lambda p: (p["mu_"], np.exp(p["sigma_"])),
        ),
        (
            "log-logistic",
            "LogLogisticAFTFitter",
            lambda: get("log-logistic").censored(),
            lambda p: (np.exp(p["alpha_"]), np.exp(p["beta_"])),
        ),
    ],
)
def test_right_censored_nll_is_lifelines_log_likelihood(name, fitter, build, params, rng):
    lifelines = pytest.importorskip("lifelines")
    import pandas as pd

    t = 2.0 * rng.weibull(1.5, 60)
    event = rng.random(60) < 0.7
    df = pd.DataFrame({"T": t, "E": event.astype(int)})
    fit = getattr(lifelines, fitter)().fit(df, "T", "E")
    fitted = {p: fit.params_.loc[(p, "Intercept")] for p in fit.params_.index.get_level_values(0)}
    m = module(build())
    upper = np.where(event, t, np.inf)
    ours = m.nll(t, upper, *params(fitted), reduction="sum")
    assert ours == pytest.approx(-fit.log_likelihood_, rel=1e-9)


# xgboost's AFT: log y = margin + σ Z; Z normal, logistic or extreme (Gumbel minimum).
AFT = {
    "normal": (lambda: get("lognormal").censored(), lambda s: {"sigma": s}),
    "logistic": (
        lambda: get("log-logistic").censored().link(alpha="log"),
        lambda s: {"beta": 1 / s},
    ),
    "extreme": (
        lambda: get("weibull").censored().link(**{"lambda": "log"}),
        lambda s: {"k": 1 / s},
    ),
}


def _dmatrix(xgb, x, lower, upper, margin):
    d = xgb.DMatrix(x)
    d.set_float_info("label_lower_bound", lower)
    d.set_float_info("label_upper_bound", upper)
    d.set_base_margin(np.full(len(lower), margin))
    return d


@pytest.mark.parametrize("distribution", list(AFT))
def test_interval_censored_nll_is_xgboost_aft_nloglik(distribution, rng):
    xgb = pytest.importorskip("xgboost")
    build, fixed = AFT[distribution]
    lower, upper = _censored_sample(rng, 50)
    x = rng.normal(size=(50, 2))
    margin, scale = 0.5, 0.8
    d = _dmatrix(xgb, x, lower, upper, margin)
    params = {
        "objective": "survival:aft",
        "eval_metric": "aft-nloglik",
        "aft_loss_distribution": distribution,
        "aft_loss_distribution_scale": scale,
        "learning_rate": 0.0,
        "max_depth": 1,
        "nthread": 1,
    }
    booster = xgb.train(params, d, num_boost_round=1)
    assert np.allclose(booster.predict(d, output_margin=True), margin)
    # xgboost 3.2's metric takes the distribution's scale from set_param, not from train's params
    # (it evaluates with σ = 1 otherwise)
    booster.set_param(params)
    theirs = float(booster.eval(d).split(":")[1])
    m = module(build())
    ours = m.nll(lower, upper, margin, *fixed(scale).values(), reduction="mean")
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_training_with_the_emitted_objective_matches_xgboost_aft(rng):
    """Weibull with a log link is xgboost's AFT with the extreme distribution (σ = 1/k)."""
    xgb = pytest.importorskip("xgboost")
    k = 1.5
    n = 400
    x = rng.normal(size=(n, 3))
    t = np.exp(0.5 * x[:, 0] - 0.3 * x[:, 1]) * rng.weibull(k, n)
    lower, upper = t.copy(), t.copy()
    right = rng.random(n) < 0.3
    upper[right] = np.inf
    margin = float(np.log(np.median(t)))
    train, test = slice(0, 300), slice(300, n)
    dtrain = _dmatrix(xgb, x[train], lower[train], upper[train], margin)
    dtest = _dmatrix(xgb, x[test], lower[test], upper[test], margin)
    common = {
        "eval_metric": "aft-nloglik",
        "aft_loss_distribution": "extreme",
        "aft_loss_distribution_scale": 1 / k,
        # stumps and small steps: xgboost clips its AFT gradient to ±15 and hessian to [1e-16, 15]
        # (ours are exact), which deeper trees with larger steps amplify into different models
        "learning_rate": 0.05,
        "max_depth": 1,
        "min_child_weight": 0.0,
        "seed": 0,
        "nthread": 1,  # threads only contend on a loaded CI machine (10× slower there)
    }
    rounds = 200
    builtin = xgb.train({**common, "objective": "survival:aft"}, dtrain, rounds)
    m = module(get("weibull").censored().link(**{"lambda": "log"}), grad=True)

    def objective(predt, dmat):
        return m.xgboost_objective(predt, dmat, k=k)

    custom = xgb.train({**common, "disable_default_eval_metric": 0}, dtrain, rounds, obj=objective)
    for b in (builtin, custom):  # the metric's σ (see the test above)
        b.set_param(common)
    metric = {b: float(b.eval(dtest).split(":")[1]) for b in (builtin, custom)}
    ours = m.nll(lower[test], upper[test], custom.predict(dtest, output_margin=True), k)
    assert ours == pytest.approx(metric[custom], rel=1e-6)
    assert metric[custom] == pytest.approx(metric[builtin], rel=0.01)


@pytest.mark.parametrize("raw", [-30.0, 30.0])
@pytest.mark.parametrize("name", list(AFT))
def test_censored_gradients_are_finite_at_extreme_raw_outputs(name, raw, rng):
    build, fixed = AFT[name]
    m = module(build(), grad=True)
    lower, upper = _censored_sample(rng, 20)
    with np.errstate(all="ignore"):  # an exp that overflows to ∞ where a case is not used
        g = m.gradient(lower, upper, raw, *fixed(0.8).values())
        h = m.hessian(lower, upper, raw, *fixed(0.8).values())
        v = m.nll(lower, upper, raw, *fixed(0.8).values(), reduction="none")
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(h)), (g, h)
    assert np.all(np.isfinite(v) | (v == np.inf))


def test_censored_gradient_against_torch_autograd(rng):
    torch = pytest.importorskip("torch")
    dist = get("log-logistic").censored().link(alpha="log")
    m, t = module(dist, grad=True), module(dist, backend="torch")
    lower, upper = _censored_sample(rng, 20)
    raw = torch.tensor(rng.normal(size=20), dtype=torch.float64, requires_grad=True)
    beta = torch.tensor(1.7, dtype=torch.float64)  # a Python float would be float32 in torch
    value = t.loss(torch.tensor(lower), torch.tensor(upper), raw, beta, reduction="sum")
    (grad,) = torch.autograd.grad(value, raw)
    np.testing.assert_allclose(
        m.gradient(lower, upper, raw.detach().numpy(), 1.7), grad.numpy(), rtol=1e-10
    )


def test_log_survival_stays_accurate_far_in_the_tail():
    """log S and log F of the log-normal through log_ndtr: finite and accurate at z = ±40."""
    m = module(get("lognormal").censored())
    y = np.exp(np.array([40.0, -40.0]))
    inf = np.array([np.inf, np.inf])
    right = m.nll(y, inf, 0.0, 1.0, reduction="none")
    np.testing.assert_allclose(right[0], -special.log_ndtr(-40.0), rtol=1e-12)
    left = m.nll(np.zeros(2), y, 0.0, 1.0, reduction="none")
    np.testing.assert_allclose(left[1], -special.log_ndtr(-40.0), rtol=1e-12)
    # an interval far in the upper tail: F(b) − F(a) = S(a) − S(b), both ≈ 1e-350
    interval = m.nll(np.exp([40.0]), np.exp([40.5]), 0.0, 1.0, reduction="none")
    with mpmath.workdps(50):
        exact = -mpmath.log(mpmath.ncdf(-40) - mpmath.ncdf(-40.5))
    assert np.isfinite(interval[0]) and interval[0] == pytest.approx(float(exact), rel=1e-10)


# ---------------------------------------------------------------------------- truncation


def test_truncated_gaussian_is_scipy_truncnorm(rng):
    m = module(get("gaussian").truncated(-1, 2))
    y = rng.uniform(-1, 2, 30)
    for mu, sigma in ((0.3, 1.2), (8.0, 0.5), (-40.0, 1.0)):
        want = -stats.truncnorm.logpdf(y, (-1 - mu) / sigma, (2 - mu) / sigma, mu, sigma)
        np.testing.assert_allclose(m.nll(y, mu, sigma, reduction="none"), want, rtol=1e-9)


def test_truncated_below_far_in_the_tail_is_finite():
    """Truncated to [0, ∞) with μ = −40σ: the normaliser 1 − Φ(40) ≈ 4e−350 underflows, its log
    through log_ndtr does not."""
    m = module(get("gaussian-hetero").truncated(0, "oo").link(sigma="log"))
    y = np.array([0.01, 0.5])
    ours = m.nll(y, -40.0, 0.0, reduction="none")
    want = -stats.truncnorm.logpdf(y, 40.0, np.inf, -40.0, 1.0)
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, want, rtol=1e-9)


def test_truncated_exponential_is_scipy_truncexpon(rng):
    m = module(get("exponential").truncated(0, 3))
    y = rng.uniform(0, 3, 30)
    for lam in (0.2, 1.0, 7.0):
        want = -stats.truncexpon.logpdf(y, 3 * lam, scale=1 / lam)
        np.testing.assert_allclose(m.nll(y, lam, reduction="none"), want, rtol=1e-11)


# ---------------------------------------------------------------------------- discretised


def test_discretised_gaussian_and_weibull_are_cdf_differences(rng):
    m = module(get("gaussian-hetero").discretised("1/2"))
    y = np.round(rng.normal(0, 3, 30) * 2) / 2
    want = -np.log(stats.norm.cdf(y + 0.25, 0.5, 2.0) - stats.norm.cdf(y - 0.25, 0.5, 2.0))
    np.testing.assert_allclose(m.nll(y, 0.5, 2.0, reduction="none"), want, rtol=1e-10)
    far = m.nll(np.array([60.0]), 0.0, 1.0, reduction="none")  # both CDFs round to 1
    with mpmath.workdps(50):
        exact = -mpmath.log(mpmath.ncdf(-59.75) - mpmath.ncdf(-60.25))
    assert float(far[0]) == pytest.approx(float(exact), rel=1e-10)
    w = module(get("weibull").discretised(1))
    y = np.arange(1.0, 8.0)
    want = -np.log(
        stats.weibull_min.cdf(y + 0.5, 1.4, scale=3) - stats.weibull_min.cdf(y - 0.5, 1.4, scale=3)
    )
    np.testing.assert_allclose(w.nll(y, 3.0, 1.4, reduction="none"), want, rtol=1e-10)


# ---------------------------------------------------------------------------- zeros


def _counts(rng, n=60):
    y = rng.poisson(2.5, n).astype(float)
    y[rng.random(n) < 0.3] = 0.0
    return y


def test_zero_inflated_poisson_is_statsmodels(rng):
    from statsmodels.discrete.count_model import ZeroInflatedPoisson

    y = _counts(rng)
    ones = np.ones((len(y), 1))
    model = ZeroInflatedPoisson(y, ones, exog_infl=ones, inflation="logit")
    infl, const = -0.4, 0.9
    m = module(get("poisson-log").zero_inflated())
    assert m.PARAMS == ("eta", "logit_pi")
    ours = m.nll(y, const, infl, reduction="sum")
    assert ours == pytest.approx(-model.loglike(np.array([infl, const])), rel=1e-12)


def test_zero_inflated_negative_binomial_is_statsmodels(rng):
    from statsmodels.discrete.count_model import ZeroInflatedNegativeBinomialP

    y = _counts(rng)
    ones = np.ones((len(y), 1))
    model = ZeroInflatedNegativeBinomialP(y, ones, exog_infl=ones, inflation="logit", p=2)
    infl, const, alpha = 0.3, 1.1, 0.7
    m = module(get("negative-binomial").link(mu="log").zero_inflated())
    assert m.PARAMS == ("log_mu", "logit_pi") and m.FIXED == ("alpha",)
    ours = m.nll(y, const, infl, alpha, reduction="sum")
    want = -model.loglike(np.array([infl, const, alpha]))
    assert ours == pytest.approx(want, rel=1e-11)


def test_zero_inflated_zero_branch_is_finite_at_extreme_raw_outputs():
    """log(π + (1 − π)e^{−λ}) as a log-add-exp: finite when π → 0 and λ → ∞ together."""
    m = module(get("poisson-log").zero_inflated(), grad=True)
    y = np.array([0.0, 0.0, 3.0, 3.0])
    for eta, z in ((30.0, -30.0), (-30.0, 30.0), (30.0, 30.0), (-30.0, -30.0)):
        v = m.nll(y, eta, z, reduction="none")
        g = m.gradient(y, eta, z)
        assert np.all(np.isfinite(v)) and all(np.all(np.isfinite(x)) for x in g), (eta, z)
    with mpmath.workdps(50):
        pi = 1 / (1 + mpmath.exp(30))
        exact = -mpmath.log(pi + (1 - pi) * mpmath.exp(-mpmath.exp(30)))
    assert m.nll(y[:1], 30.0, -30.0, reduction="none")[0] == pytest.approx(float(exact), rel=1e-12)


def test_hurdle_poisson_is_statsmodels(rng):
    from statsmodels.discrete.truncated_model import HurdleCountModel

    y = _counts(rng)
    ones = np.ones((len(y), 1))
    model = HurdleCountModel(y, ones, dist="poisson", zerodist="poisson")
    zero, const = 0.2, 0.9
    # statsmodels' zero part is a Poisson censored at one: P(y = 0) = exp(−exp(zero))
    pi = np.exp(-np.exp(zero))
    m = module(get("poisson-log").hurdle())
    ours = m.nll(y, const, special.logit(pi), reduction="sum")
    assert ours == pytest.approx(-model.loglike(np.array([zero, const])), rel=1e-11)


def test_hurdle_negative_binomial_against_scipy(rng):
    y = _counts(rng)
    mu, alpha, pi = 2.2, 0.6, 0.35
    nb = stats.nbinom(1 / alpha, 1 / (1 + alpha * mu))
    want = np.where(y == 0, -np.log(pi), -np.log1p(-pi) - nb.logpmf(y) + np.log(nb.sf(0)))
    m = module(get("negative-binomial").link(mu="log").hurdle())
    np.testing.assert_allclose(
        m.nll(y, np.log(mu), special.logit(pi), alpha, reduction="none"), want, rtol=1e-11
    )


# ---------------------------------------------------------------------------- mixtures


def test_gaussian_mixture_is_torch_mixture_same_family(rng):
    torch = pytest.importorskip("torch")
    D = torch.distributions
    m = module(get("gaussian-hetero").mixture(3).link(sigma="log"))
    assert m.PARAMS == ("mu", "log_sigma", "logit_w")
    y = rng.normal(0, 3, 20)
    mu, log_sigma, logits = (rng.normal(size=(20, 3)) for _ in range(3))
    mix = D.MixtureSameFamily(
        D.Categorical(logits=torch.tensor(logits)),
        D.Normal(torch.tensor(mu), torch.tensor(np.exp(log_sigma))),
    )
    want = -mix.log_prob(torch.tensor(y)).numpy()
    np.testing.assert_allclose(m.nll(y, mu, log_sigma, logits, reduction="none"), want, rtol=1e-11)


def test_poisson_mixture_is_torch_mixture_same_family(rng):
    torch = pytest.importorskip("torch")
    D = torch.distributions
    m = module(get("poisson-log").mixture(2), grad=True)
    y = rng.poisson(3, 20).astype(float)
    eta, logits = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
    mix = D.MixtureSameFamily(
        D.Categorical(logits=torch.tensor(logits)), D.Poisson(torch.tensor(np.exp(eta)))
    )
    want = -mix.log_prob(torch.tensor(y)).numpy()
    np.testing.assert_allclose(m.nll(y, eta, logits, reduction="none"), want, rtol=1e-11)
    g = m.gradient(y, eta * 30, logits * 30)  # finite at raw outputs near ±30 and beyond
    assert all(np.all(np.isfinite(x)) for x in g)


# ---------------------------------------------------------------------------- links


@pytest.mark.parametrize(
    "kind, sigma",
    [
        ("log", np.exp),
        ("logvar", lambda r: np.exp(r / 2)),
        ("softplus", lambda r: np.logaddexp(0, r)),
    ],
)
def test_links_of_the_standard_deviation(kind, sigma, rng):
    m = module(get("gaussian-hetero").link(sigma=kind), grad=True)
    assert m.PARAMS[1] == f"{kind}_sigma"
    y, mu, r = rng.normal(size=20), rng.normal(size=20), rng.normal(size=20)
    want = -stats.norm.logpdf(y, mu, sigma(r))
    np.testing.assert_allclose(m.nll(y, mu, r, reduction="none"), want, rtol=1e-12)
    g = m.gradient(y, mu, np.array([-30.0, 30.0] * 10))
    assert all(np.all(np.isfinite(x)) for x in g)


def test_probit_link_is_the_normal_cdf(rng):
    m = module(get("bernoulli").link(p="probit"), grad=True)
    y = rng.integers(0, 2, 30).astype(float)
    r = rng.normal(0, 1.5, 30)  # where scipy's Bernoulli of Φ(r) is still accurate
    want = -stats.bernoulli.logpmf(y, special.ndtr(r))
    np.testing.assert_allclose(m.nll(y, r, reduction="none"), want, rtol=1e-12)
    far = m.nll(np.array([1.0, 0.0]), np.array([-30.0, 30.0]), reduction="none")
    np.testing.assert_allclose(far, -special.log_ndtr(-30.0), rtol=1e-12)
    assert np.all(np.isfinite(m.gradient(np.array([1.0, 0.0]), np.array([-30.0, 30.0]))))


def test_identity_link_removes_a_link():
    d = get("poisson-log").link(**{"lambda": "identity"})
    assert [v.name for v in d.learned] == ["lambda"] and not d.links


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: get("gaussian").zero_inflated(), "discrete"),
        (lambda: get("gaussian").hurdle(), "discrete"),
        (lambda: get("categorical").censored(), "vector"),
        (lambda: get("poisson").discretised(1), "discrete"),
        (lambda: get("poisson").censored().zero_inflated(), "after --censored"),
        (lambda: get("poisson").truncated("2.5", "7"), "integers"),
        (lambda: get("gaussian-hetero").link(sigma="cube"), "unknown link"),
        (lambda: get("gaussian-hetero").link(tau="log"), "not a parameter"),
        (lambda: get("gaussian").link(sigma="log"), "fixed"),
        (lambda: get("gaussian").link(mu="log"), "positive"),
        (lambda: get("exponential").truncated(-1, 2), "inside the support"),
        (lambda: get("gaussian").truncated(2, 1), "proper interval"),
        (lambda: get("gaussian").truncated("a", 1), "fixed parameter"),
        (lambda: get("gaussian").mixture(0), "at least one"),
        (lambda: get("gaussian").mixture("two"), "integer"),
        (lambda: get("beta").censored(), "CDF"),
        (lambda: get("gaussian").discretised(0), "positive"),
    ],
)
def test_a_modifier_that_does_not_apply_is_one_clear_line(build, words):
    with pytest.raises(UserError) as info:
        build()
    assert isinstance(info.value, NotApplicable)
    message = str(info.value)
    assert words in message and "\n" not in message


# ---------------------------------------------------------------------------- declared CDFs

WITH_CDF = [name for name, dist in CATALOG.items() if dist.cdf is not None]


@pytest.mark.parametrize("name", WITH_CDF)
def test_declared_cdf_is_the_integral_of_the_density(name, rng):
    """dF/dy is the density (symbolically, to a numeric witness) and F runs from 0 to 1 over the
    support, at parameters drawn from the declared constraints."""
    dist = CATALOG[name]
    y = dist.sym(dist.observed)
    F = dist.cdf_expr()
    if dist.discrete:  # F(y) − F(y − 1) is the probability, F(lo) = p(lo), F → 1
        step = F - F.subs(y, y - 1) - dist.density_expr()
        s_lo, s_hi = (sp.sympify(b) for b in dist.support_bounds)
        for _ in range(3):  # the declared parameters (poisson-log learns η, F is in λ)
            point = {dist.sym(v): v.draw(rng) for v in (*dist.params, *dist.fixed)}
            hi = float(s_hi.subs(point))  # a support up to a fixed parameter (binomial: n)
            top = int(hi) if np.isfinite(hi) else 400  # F there is 1 (exactly, or to 1e-25)
            point[y] = float(rng.integers(int(s_lo), min(top, 40)))  # y + 1 in the support
            lo = {**point, y: s_lo}
            assert abs(float(evaluate(step, {**point, y: point[y] + 1}))) < 1e-25
            assert float(evaluate(F - dist.density_expr(), lo)) == pytest.approx(0, abs=1e-25)
            assert float(evaluate(F, {**point, y: top})) == pytest.approx(1, abs=1e-25)
        return
    derivative = sp.diff(F, y) - dist.density_expr()
    lo, hi = dist.support_bounds
    for _ in range(3):
        values = dist.draw(rng)
        point = {dist.symbols[k]: v for k, v in values.items()}
        assert abs(float(evaluate(derivative, point))) < 1e-25
        # at the ends, or as near as heavy tails need (log-logistic: F ∝ y^β with β ≈ 0.2;
        # Cauchy: F ∝ 1/|y|)
        far = sp.Float("1e200") if lo == 0 else sp.Float("1e30")  # mpmath: erfc(1e200) overflows
        near = {0: sp.Float("1e-200"), sp.oo: far, -sp.oo: -far}
        for end, want in ((sp.sympify(lo), 0), (sp.sympify(hi), 1)):
            at = {**point, y: near.get(end, end)}
            assert float(evaluate(F, at)) == pytest.approx(want, abs=1e-25), end
