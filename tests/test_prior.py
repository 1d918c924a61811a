"""Regularisers as log-priors: the derived penalties and their strengths against sklearn's Ridge,
Lasso and ElasticNet (minimising the emitted MAP objective with scipy.optimize gives their
coefficients at the derived strength), and statsmodels GLMs with the derived canonical link
against minimising the emitted loss."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from conftest import derivation

from derive.errors import UserError
from derive.functions import elementary
from derive.numeric import evaluate
from derive.prior import derive_prior, map_objective

#: prior → (penalty id, strengths by atom as functions of the scales by name)
EXPECTED = {
    "gaussian": ("l2", {"l2": lambda v: 1 / (2 * v["sigma_w"] ** 2)}),
    "laplace": ("l1", {"l1": lambda v: 1 / v["b_w"]}),
    "student-t": ("log", {"log": lambda v: (v["nu_w"] + 1) / 2}),
    "cauchy": ("log", {"log": lambda v: 1.0}),
    "logistic": ("logcosh", {"logcosh": lambda v: 2.0}),
    "huber": ("huber", {"huber": lambda v: 1.0}),
    "horseshoe-like": ("horseshoe_like", {"horseshoe_like": lambda v: 1.0}),
    "elastic-net": (
        "elastic_net",
        {"l1": lambda v: 1 / v["b_w"], "l2": lambda v: 1 / (2 * v["tau"] ** 2)},
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_penalty_is_recognised_with_its_strength(name):
    prior = derive_prior(name)
    penalty_id, strengths = EXPECTED[name]
    assert prior.standard == penalty_id
    values = {str(s): 0.7 + i for i, s in enumerate(prior.scales)}
    by_symbol = {s: values[str(s)] for s in prior.scales}
    for atom, expected in strengths.items():
        got = float(evaluate(prior.match.strengths[atom], by_symbol))
        assert got == pytest.approx(expected(values), rel=1e-12)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_prior_normalises_and_penalty_plus_dropped_is_minus_log_density(name):
    """∫ p(w) dw = 1 by scipy quadrature, and penalty + dropped = −log p(w) at a few w."""
    from scipy import integrate

    prior = derive_prior(name)
    by_symbol = {s: 0.7 + 0.5 * i for i, s in enumerate(prior.scales)}
    density = sp.lambdify(prior.weight, elementary(prior.density.subs(by_symbol)), "scipy")

    def finite(w):  # exp(−w/s)/(1 + exp(−w/s))² is inf/inf far in the tail, where it is 0
        with np.errstate(all="ignore"):
            return np.nan_to_num(density(w), nan=0.0)

    total = sum(
        integrate.quad(finite, a, b, epsabs=0, epsrel=1e-11, limit=400)[0]
        for a, b in ((-np.inf, -1), (-1, 0), (0, 1), (1, np.inf))
    )
    assert total == pytest.approx(1.0, rel=1e-8)
    for w in (-2.3, -0.4, 0.9, 3.1):
        split = float(evaluate(prior.penalty + prior.dropped, {**by_symbol, prior.weight: w}))
        assert split == pytest.approx(-np.log(density(w)), rel=1e-10)


@pytest.mark.parametrize("name", ["flat", "jeffreys", "1/w"])
def test_improper_prior_is_named(name):
    with pytest.raises(UserError, match="improper") as info:
        derive_prior(name)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["poisson", "gaussian-hetero", "no-such-prior"])
def test_bad_prior(name):
    with pytest.raises(UserError):
        derive_prior(name)


def test_ridge_strength_is_noise_over_prior_variance():
    m = map_objective(derivation("gaussian"), derive_prior("gaussian"))
    sigma, sigma_w = sp.symbols("sigma sigma_w", positive=True)
    assert sp.simplify(m.strengths_loss["l2"] - sigma**2 / sigma_w**2) == 0


# ---------------------------------------------------------------------------- sklearn oracles


def _data(n=120, p=5, seed=7):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    w = np.array([1.5, -2.0, 0.0, 0.7, 0.0])[:p]
    return X, w, rng


def _module(prior):
    from derive.codegen.emit import load

    return load("gaussian", prior=prior)


def _strength(name, prior, atom, values):
    m = map_objective(derivation(name), derive_prior(prior))
    by_symbol = {sp.Symbol(k, positive=True): v for k, v in values.items()}
    return float(evaluate(m.strengths_loss[atom], by_symbol))


def _minimise_smooth(module, X, y, args):
    from scipy.optimize import minimize

    res = minimize(
        module.map_objective,
        np.zeros(X.shape[1]),
        args=(X, y, *args),
        jac=module.map_gradient,
        method="L-BFGS-B",
        options={"ftol": 0, "gtol": 1e-13, "maxiter": 10_000},
    )
    return res.x


def _minimise_l1(module, X, y, args):
    """min over w = u − v, u, v ≥ 0: the penalty is separable and P(u − v) = P(u) + P(−v) at the
    minimiser (u·v = 0), so the bounded problem is smooth and its gradient is the emitted one."""
    from scipy.optimize import minimize

    p = X.shape[1]
    fixed, scales = args[:1], args[1:]

    def f(uv):
        u, v = uv[:p], uv[p:]
        data = module.map_objective(u - v, X, y, *fixed, *scales) - module.penalty(u - v, *scales)
        return data + module.penalty(u, *scales) + module.penalty(-v, *scales)

    def g(uv):
        u, v = uv[:p], uv[p:]
        data = module.map_gradient(u - v, X, y, *fixed, *scales) - module.penalty_gradient(
            u - v, *scales
        )
        pos = module.penalty_gradient(np.maximum(u, 1e-300), *scales)
        neg = module.penalty_gradient(-np.maximum(v, 1e-300), *scales)
        return np.concatenate([data + pos, -data - neg])

    res = minimize(
        f,
        np.full(2 * p, 0.1),
        jac=g,
        method="L-BFGS-B",
        bounds=[(0, None)] * (2 * p),
        options={"ftol": 0, "gtol": 1e-14, "maxiter": 20_000, "maxcor": 30},
    )
    return res.x[:p] - res.x[p:]


def test_gaussian_prior_is_ridge():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import Ridge

    X, w, rng = _data()
    sigma, sigma_w = 0.8, 0.5
    y = X @ w + rng.normal(0, sigma, len(X))
    ours = _minimise_smooth(_module("gaussian"), X, y, (sigma, sigma_w))
    alpha = _strength("gaussian", "gaussian", "l2", {"sigma": sigma, "sigma_w": sigma_w})
    ridge = Ridge(alpha=alpha, fit_intercept=False, tol=1e-14).fit(X, y)
    np.testing.assert_allclose(ours, ridge.coef_, atol=1e-6)


def test_laplace_prior_is_lasso():
    """sklearn's Lasso minimises (1/(2n))‖y − Xw‖² + α‖w‖₁: α = (λ/a)/(2n)."""
    pytest.importorskip("sklearn")
    from sklearn.linear_model import Lasso

    X, w, rng = _data()
    sigma, b_w = 0.8, 0.02
    y = X @ w + rng.normal(0, sigma, len(X))
    ours = _minimise_l1(_module("laplace"), X, y, (sigma, b_w))
    lam = _strength("gaussian", "laplace", "l1", {"sigma": sigma, "b_w": b_w})
    lasso = Lasso(alpha=lam / (2 * len(X)), fit_intercept=False, tol=1e-14, max_iter=100_000)
    lasso.fit(X, y)
    assert np.sum(lasso.coef_ == 0) >= 1  # the test exercises the kink
    np.testing.assert_allclose(ours, lasso.coef_, atol=1e-6)


def test_elastic_net_prior_is_elastic_net():
    """sklearn's ElasticNet: (1/(2n))‖y − Xw‖² + αρ‖w‖₁ + ½α(1 − ρ)‖w‖²; with λ₁, λ₂ the derived
    strengths in the loss's units, αρ = λ₁/(2n) and α(1 − ρ) = λ₂/n."""
    pytest.importorskip("sklearn")
    from sklearn.linear_model import ElasticNet

    X, w, rng = _data()
    sigma, b_w, tau = 0.8, 0.02, 0.3
    y = X @ w + rng.normal(0, sigma, len(X))
    ours = _minimise_l1(_module("elastic-net"), X, y, (sigma, b_w, tau))
    values = {"sigma": sigma, "b_w": b_w, "tau": tau}
    l1 = _strength("gaussian", "elastic-net", "l1", values) / (2 * len(X))
    l2 = _strength("gaussian", "elastic-net", "l2", values) / len(X)
    alpha = l1 + l2
    net = ElasticNet(alpha=alpha, l1_ratio=l1 / alpha, fit_intercept=False, tol=1e-14,
                     max_iter=100_000).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(ours, net.coef_, atol=1e-6)


# ---------------------------------------------------------------------------- statsmodels GLMs


#: catalog name -> (statsmodels family with its canonical link, a sampler of y given the mean,
#: the learned output as a function of the canonical parameter η)
def _glms():
    from statsmodels.genmod import families

    return {
        "poisson-log": (families.Poisson(), lambda rng, m: rng.poisson(m)),
        "bernoulli-logit": (families.Binomial(), lambda rng, m: (rng.random(m.shape) < m) * 1.0),
        "gaussian": (families.Gaussian(), lambda rng, m: m + rng.normal(0, 1, m.shape)),
    }


@pytest.mark.parametrize("name", ["poisson-log", "bernoulli-logit", "gaussian"])
def test_statsmodels_glm_with_the_canonical_link(name):
    """The entry's learned output is the canonical parameter (link_is_canonical, derived): so
    minimising the emitted loss of θ = X·w is the GLM of statsmodels' family with its canonical
    link; the mean is the derived inverse canonical link."""
    pytest.importorskip("statsmodels")
    import statsmodels.api as sm
    from scipy.optimize import minimize

    from derive import expfamily
    from derive.codegen.emit import load

    d = derivation(name)
    family = expfamily.verdict(d).family
    assert family.link_is_canonical
    glm_family, sample = _glms()[name]
    X, w, rng = _data(n=300, p=3, seed=11)
    w = w * 0.4
    inverse = sp.lambdify(family.eta_symbol, family.inverse_link, "numpy")
    y = sample(rng, inverse(X @ w)).astype(float)
    module = load(name, grad=True)
    fixed = [1.0 for _ in d.dist.fixed]

    def f(v):
        return module.loss(y, X @ v, *fixed, reduction="sum")

    def g(v):
        return X.T @ module.gradient(y, X @ v, *fixed)

    ours = minimize(f, np.zeros(3), jac=g, method="BFGS", options={"gtol": 1e-12}).x
    theirs = sm.GLM(y, X, family=glm_family).fit(tol=1e-14).params
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_statsmodels_gamma_glm_with_the_derived_canonical_link():
    """gamma: the derived canonical link is g(μ) = −1/μ; minimising the emitted loss of
    μ = g⁻¹(X·w) gives statsmodels' Gamma GLM with its canonical InversePower link (1/μ = X·β),
    so w = −β."""
    pytest.importorskip("statsmodels")
    import statsmodels.api as sm
    from scipy.optimize import minimize
    from statsmodels.genmod import families

    from derive import expfamily
    from derive.codegen.emit import load

    family = expfamily.verdict(derivation("gamma")).family
    eta = family.eta_symbol
    inverse = sp.lambdify(eta, family.inverse_link, "numpy")
    slope = sp.lambdify(eta, sp.diff(family.inverse_link, eta), "numpy")
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(300), rng.uniform(0.5, 2.0, (300, 2))])
    beta = np.array([0.3, 0.4, 0.2])
    y = rng.gamma(3.0, (1 / (X @ beta)) / 3.0)
    module = load("gamma", grad=True)
    shape = 3.0

    def f(w):  # outside η < 0 the mean is not positive: a step there is refused
        z = X @ w
        return module.loss(y, inverse(z), shape, reduction="sum") if np.all(z < 0) else np.inf

    def g(w):
        z = X @ w
        return X.T @ (module.gradient(y, inverse(z), shape) * slope(z))

    ours = minimize(f, -beta, jac=g, method="BFGS", options={"gtol": 1e-10}).x
    theirs = sm.GLM(y, X, family=families.Gamma(families.links.InversePower())).fit(tol=1e-14)
    np.testing.assert_allclose(ours, -theirs.params, atol=1e-6)
