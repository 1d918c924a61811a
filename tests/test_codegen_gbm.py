"""The GBM objectives of `derive code --grad`: a real XGBoost model trained with the emitted Poisson
objective reaches the fit of xgboost's built-in count:poisson."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NAMES
from test_codegen import batch, derivation, module

from derive.codegen import load


def _poisson_data(rng, n):
    X = rng.normal(size=(n, 4))
    eta = 0.6 * X[:, 0] - 0.4 * X[:, 1] + 0.3 * X[:, 2] * X[:, 3] + 0.5
    return X, rng.poisson(np.exp(eta)).astype(float)


def _deviance(y, eta):
    """Mean Poisson deviance at log-rate eta (an independent formula, scipy.special.xlogy)."""
    from scipy.special import xlogy

    mu = np.exp(eta)
    return float(np.mean(2 * (xlogy(y, y / mu) - (y - mu))))


def test_xgboost_with_the_emitted_poisson_objective_reaches_count_poisson():
    xgb = pytest.importorskip("xgboost")
    m = load("poisson-log", grad=True)
    rng = np.random.default_rng(7)
    X, y = _poisson_data(rng, 6000)
    Xt, yt = _poisson_data(rng, 4000)
    start = m.intercept(y)  # both models start from the MLE of the intercept, log ȳ
    assert start == pytest.approx(np.log(y.mean()), rel=1e-12)
    dtrain, dtest = xgb.DMatrix(X, label=y), xgb.DMatrix(Xt, label=yt)
    for d, n in ((dtrain, len(y)), (dtest, len(yt))):
        d.set_base_margin(np.full(n, start))
    # max_delta_step=0: the built-in hessian is then exp(η), the exact one the module emits
    params = {"max_depth": 3, "eta": 0.1, "max_delta_step": 0.0, "nthread": 1, "seed": 0}
    builtin = xgb.train({**params, "objective": "count:poisson"}, dtrain, num_boost_round=60)
    custom = xgb.train(params, dtrain, num_boost_round=60, obj=m.xgboost_objective)
    eta_builtin = builtin.predict(dtest, output_margin=True)
    eta_custom = custom.predict(dtest, output_margin=True)
    constant = _deviance(yt, np.full(len(yt), start))
    assert _deviance(yt, eta_custom) < 0.6 * constant  # it learned
    assert _deviance(yt, eta_custom) == pytest.approx(_deviance(yt, eta_builtin), rel=2e-3)
    np.testing.assert_allclose(eta_custom, eta_builtin, atol=2e-2)


INTERCEPTS = [n for n in NAMES if hasattr(module(n), "intercept")]


def test_the_classic_losses_have_an_intercept():
    assert {"gaussian", "bernoulli-logit", "poisson-log", "gamma", "tweedie"} <= set(INTERCEPTS)
    assert {"laplace", "asymmetric-laplace", "weibull", "poisson", "bernoulli"} <= set(INTERCEPTS)
    assert "categorical-logit" in INTERCEPTS  # K class margins


@pytest.mark.parametrize("name", INTERCEPTS)
def test_intercept_minimises_the_mean_loss(name, rng):
    """At the intercept the mean gradient vanishes, and nearby constants do worse (moving any
    one class margin, for a vector output)."""
    d, m = derivation(name), module(name)
    args, values = batch(d, rng, n=500)
    fixed = [values[a][0] for a in args if a.role == "fixed"]  # constant fixed arguments
    y = values[args[0]]
    if args[0].vector:  # probability rows: normalised (the declared simplex)
        y = y / y.sum(axis=-1, keepdims=True)
    theta = np.asarray(m.intercept(y, *fixed))  # a raw margin: the parameter is inverse_link(θ)
    shape = y.shape if theta.ndim else (len(y),)  # one margin per class, or one per row

    def mean_gradient(t):
        return np.mean(m.gradient(y, np.broadcast_to(m.inverse_link(t), shape), *fixed), axis=0)

    size = 1 + np.max(np.abs(theta))
    if "bisection" not in m.intercept.__doc__:  # a closed form: the mean gradient vanishes
        assert np.all(np.abs(mean_gradient(theta)) < 1e-9 * size)
    else:  # a root found numerically (|y − μ|'s mean gradient jumps): it changes sign there
        eps = 1e-9 * size
        assert mean_gradient(theta - eps) <= 1e-9 and mean_gradient(theta + eps) >= -1e-9

    def mean_loss(t):
        return float(m.loss(y, np.broadcast_to(m.inverse_link(t), shape), *fixed))

    step = 1e-3 * size
    for direction in np.eye(theta.size).reshape(-1, *theta.shape):
        nearby = min(mean_loss(theta - step * direction), mean_loss(theta + step * direction))
        assert mean_loss(theta) <= nearby + 1e-12


def test_objectives_of_a_kink_use_a_unit_hessian():
    """|y − μ| has a zero second derivative almost everywhere (the hessian that learned
    nothing): the objective's hessian is the constant 1, as xgboost's reg:absoluteerror."""
    m = load("laplace", grad=True)
    y = np.array([0.0, 1.0, 2.0], dtype=np.float32)
    mu = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    g, h = m.with_fixed(b=4.0).sklearn_objective(y, mu)
    np.testing.assert_array_equal(g, np.sign(mu - y))
    assert h.dtype == np.float32
    np.testing.assert_array_equal(h, np.float32(1.0))
    assert "the constant 1" in " ".join(m.__doc__.split())
    with pytest.raises(TypeError):  # fixed parameters are keyword-only, never defaulted
        m.lightgbm_objective(mu, None)


def test_lightgbm_with_the_emitted_poisson_objective():
    lgb = pytest.importorskip("lightgbm")
    m = load("poisson-log", grad=True)
    rng = np.random.default_rng(8)
    X, y = _poisson_data(rng, 4000)
    Xt, yt = _poisson_data(rng, 4000)
    model = lgb.LGBMRegressor(objective=m.sklearn_objective, n_estimators=60, verbose=-1)
    model.fit(X, y, init_score=np.full(len(y), np.log(y.mean())))
    eta = model.predict(Xt, raw_score=True) + np.log(y.mean())
    assert _deviance(yt, eta) < 0.6 * _deviance(yt, np.full(len(yt), np.log(y.mean())))
