"""Every emitted GBM objective trains: real xgboost and LightGBM models (small seeded data, few
rounds) reach the held-out fit of the built-in objective of the same family, with finite
predictions inside the parameter's range; and each of the four APIs (xgb.train, lgb.train,
XGB*/LGBM* estimators) works by name, predictions going through inverse_link.

The held-out score is the mean negative log-likelihood from scipy.stats (tests/oracles.py), or an
sklearn deviance where scipy has no distribution: independent of the emitted module."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from conftest import NAMES
from oracles import SCIPY
from scipy import special

from derive.codegen import load

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

ROWS, ROUNDS = 3000, 60
XGB = {"max_depth": 3, "eta": 0.3, "nthread": 1, "seed": 0}
LGB = {"learning_rate": 0.3, "num_leaves": 8, "num_threads": 1, "seed": 0, "verbose": -1}


def _signal(X):
    return 0.6 * X[:, 0] - 0.4 * X[:, 1] + 0.3 * X[:, 2] * X[:, 3]


def _tweedie(rng, mu, p=1.5, phi=1.0):
    """Compound Poisson–gamma draws with mean mu, variance phi·mu^p."""
    counts = rng.poisson(mu ** (2 - p) / (phi * (2 - p)))
    scale = phi * (p - 1) * mu ** (p - 1)
    shape = (2 - p) / (p - 1)
    return np.where(counts > 0, rng.gamma(np.maximum(counts, 1) * shape, scale), 0.0)


@dataclass(frozen=True)
class Case:
    """How to train and judge one entry: data from the signal, the fixed values, the built-in
    objective of its family (xgboost, LightGBM) with the map from its margin to the entry's
    parameter, the parameter's range, and the held-out score (mean NLL unless stated)."""

    data: object  # (rng, signal) -> y
    fixed: dict = field(default_factory=dict)
    xgb: dict | None = None
    lgb: dict | None = None
    to_param: object = staticmethod(lambda margin: margin)
    low: float = -np.inf
    high: float = np.inf
    label: object = None  # (y, fixed) -> (label, weight) for the built-ins, where they differ
    score: object = None  # (y, θ, fixed) -> held-out score; default: mean NLL by scipy
    within: float = 0.02  # relative difference allowed from the built-in's held-out score
    aft: bool = False  # xgboost's survival:aft takes the (exact) labels as interval bounds


def _nll(name, case):
    def score(y, theta, fixed):
        param = load(name, grad=True).PARAMS[0].rstrip("_")
        return -float(np.mean(SCIPY[name]({"y": y, param: theta, **_names(fixed)})))

    return case.score or score


def _names(fixed):
    return {k.rstrip("_"): v for k, v in fixed.items()}


def _gamma_mean(margin):
    return np.exp(margin)


def _tweedie_deviance(y, theta, fixed):
    from sklearn.metrics import mean_tweedie_deviance

    return mean_tweedie_deviance(y, theta, power=fixed["power"])


LOCATION = {"xgb": {"objective": "reg:squarederror"}, "lgb": {"objective": "regression"}}
# no max_delta_step: the built-in hessians are then the exact exp(η) the module emits
POISSON = {
    "xgb": {"objective": "count:poisson", "max_delta_step": 0.0},
    "lgb": {"objective": "poisson", "poisson_max_delta_step": 1e-12},
}
GAMMA = {"xgb": {"objective": "reg:gamma"}, "lgb": {"objective": "gamma"}}
BINARY = {"xgb": {"objective": "binary:logistic"}, "lgb": {"objective": "binary"}}

CASES = {
    "gaussian": Case(lambda r, s: s + r.normal(size=s.shape), {"sigma": 1.0}, **LOCATION),
    "laplace": Case(
        lambda r, s: s + r.laplace(size=s.shape),
        {"b": 1.0},
        xgb={"objective": "reg:absoluteerror"},
        lgb={"objective": "l1"},
    ),
    "asymmetric-laplace": Case(
        lambda r, s: s + r.laplace(size=s.shape),
        {"tau": 0.8, "sigma": 1.0},
        xgb={"objective": "reg:quantileerror", "quantile_alpha": 0.8},
        lgb={"objective": "quantile", "alpha": 0.8},
    ),
    "huber": Case(
        lambda r, s: s + r.standard_t(3, size=s.shape),
        {"k": 1.0},
        xgb={"objective": "reg:pseudohubererror", "huber_slope": 1.0},
        lgb={"objective": "huber", "alpha": 1.0},
    ),
    # robust location families: no built-in of their own; judged against the squared error's
    # location fit, in their own likelihood
    # (the Cauchy's surrogate hessian, its curvature at the mode, is 4× its Fisher information:
    # its steps are the shortest, and it ends 2.5% short of the squared error's fit in 60 rounds)
    "cauchy": Case(
        lambda r, s: s + 0.5 * r.logistic(size=s.shape), {"gamma": 0.5}, within=0.03, **LOCATION
    ),
    "student-t": Case(
        lambda r, s: s + 0.5 * r.logistic(size=s.shape), {"nu": 4.0, "s": 0.5}, **LOCATION
    ),
    "logistic": Case(lambda r, s: s + 0.5 * r.logistic(size=s.shape), {"s": 0.5}, **LOCATION),
    "von-mises": Case(
        lambda r, s: np.angle(np.exp(1j * (0.5 * s + r.vonmises(0, 4, size=s.shape)))),
        {"kappa": 4.0},
        **LOCATION,
    ),
    "lognormal": Case(
        lambda r, s: np.exp(s + 0.5 * r.normal(size=s.shape)),
        {"sigma": 0.5},
        label=lambda y, fixed: (np.log(y), None),
        **LOCATION,
    ),
    # log y is logistic with location log α, scale 1/β: xgboost's survival:aft with exact
    # labels is the same model; LightGBM has none (its squared error on log y as a yardstick)
    "log-logistic": Case(
        lambda r, s: np.exp(s + r.logistic(size=s.shape) / 3.0),
        {"beta": 3.0},
        xgb={
            "objective": "survival:aft",
            "aft_loss_distribution": "logistic",
            "aft_loss_distribution_scale": 1 / 3.0,
        },
        lgb={"objective": "regression"},
        to_param=np.exp,
        low=0.0,
        label=lambda y, fixed: (np.log(y), None),
        aft=True,
    ),
    "bernoulli": Case(
        lambda r, s: (r.random(s.shape) < special.expit(2 * s)).astype(float),
        to_param=special.expit,
        low=0.0,
        high=1.0,
        **BINARY,
    ),
    "bernoulli-logit": Case(
        lambda r, s: (r.random(s.shape) < special.expit(2 * s)).astype(float), **BINARY
    ),
    "binomial": Case(
        lambda r, s: r.binomial(5, special.expit(s)).astype(float),
        {"n": 5.0},
        to_param=special.expit,
        low=0.0,
        high=1.0,
        # y/n with weight n has the binomial's gradient; LightGBM's binary needs 0/1 labels
        label=lambda y, fixed: (y / fixed["n"], np.full(len(y), fixed["n"])),
        xgb=BINARY["xgb"],
        lgb={"objective": "cross_entropy"},
    ),
    "poisson": Case(
        lambda r, s: r.poisson(np.exp(s + 0.5)).astype(float), to_param=np.exp, low=0.0, **POISSON
    ),
    "poisson-log": Case(lambda r, s: r.poisson(np.exp(s + 0.5)).astype(float), **POISSON),
    "negative-binomial": Case(
        lambda r, s: r.negative_binomial(2.0, 1 / (1 + 0.5 * np.exp(s + 1))).astype(float),
        {"alpha": 0.5},
        to_param=np.exp,
        low=0.0,
        **POISSON,
    ),
    "gamma": Case(
        lambda r, s: r.gamma(2.0, np.exp(s) / 2.0),
        {"shape": 2.0},
        to_param=np.exp,
        low=0.0,
        **GAMMA,
    ),
    "exponential": Case(  # the rate is 1/mean: the gamma family's mean fit, inverted
        lambda r, s: r.exponential(np.exp(s)),
        to_param=lambda margin: np.exp(-margin),
        low=0.0,
        **GAMMA,
    ),
    "inverse-gaussian": Case(
        lambda r, s: r.wald(np.exp(0.5 * s), 4.0),
        {"lambda_": 4.0},
        to_param=np.exp,
        low=0.0,
        **GAMMA,
    ),
    "tweedie": Case(
        lambda r, s: _tweedie(r, np.exp(s)),
        {"power": 1.5, "phi": 1.0},
        xgb={"objective": "reg:tweedie", "tweedie_variance_power": 1.5},
        lgb={"objective": "tweedie", "tweedie_variance_power": 1.5},
        to_param=np.exp,
        low=0.0,
        score=_tweedie_deviance,
    ),
    "weibull": Case(  # scale = mean/Γ(1 + 1/k): the gamma family's mean fit, rescaled
        lambda r, s: np.exp(s) * r.weibull(1.5, size=s.shape),
        {"k": 1.5},
        to_param=lambda margin: np.exp(margin) / special.gamma(1 + 1 / 1.5),
        low=0.0,
        **GAMMA,
    ),
}

OBJECTIVES = [n for n in NAMES if hasattr(load(n, grad=True), "xgboost_objective")]

#: Entries whose objective learns K class margins (multi:softprob), trained in their own tests.
MULTICLASS = {"categorical-logit"}


def test_every_objective_has_a_training_case():
    assert set(OBJECTIVES) == set(CASES) | MULTICLASS


def _data(name, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(ROWS, 4))
    return X, CASES[name].data(rng, _signal(X))


def _api(name):
    m = load(name, grad=True)
    fixed = CASES[name].fixed
    return m, (m.with_fixed(**fixed) if fixed else m)


def _fits(name):
    """Held-out parameters: (custom xgboost, built-in xgboost, custom LightGBM, built-in LightGBM),
    every model starting from the module's intercept."""
    case = CASES[name]
    _, api = _api(name)
    (X, y), (Xt, _) = _data(name, 1), _data(name, 2)
    start = api.intercept(y)
    label, weight = case.label(y, case.fixed) if case.label else (y, None)
    built_start = case.to_param(start)  # the built-ins start from the same parameter value
    built_margin = _margin_of(case, built_start)
    dcustom = xgb.DMatrix(X, label=y, base_margin=np.full(len(y), start))
    dbuilt = xgb.DMatrix(X, label=label, weight=weight, base_margin=np.full(len(y), built_margin))
    if case.aft:
        dbuilt = xgb.DMatrix(X, base_margin=np.full(len(y), built_margin))
        dbuilt.set_float_info("label_lower_bound", y)
        dbuilt.set_float_info("label_upper_bound", y)
    custom = xgb.train(XGB, dcustom, ROUNDS, obj=api.xgboost_objective)
    built = xgb.train({**XGB, **case.xgb}, dbuilt, ROUNDS)
    lcustom = lgb.train(
        {**LGB, "objective": api.lightgbm_objective},
        lgb.Dataset(X, y, init_score=np.full(len(y), start)),
        ROUNDS,
    )
    lbuilt = lgb.train(
        {**LGB, **case.lgb},
        lgb.Dataset(X, label, weight=weight, init_score=np.full(len(y), built_margin)),
        ROUNDS,
    )
    dtest = xgb.DMatrix(Xt, base_margin=np.full(len(Xt), start))
    dtest_built = xgb.DMatrix(Xt, base_margin=np.full(len(Xt), built_margin))
    return (
        api.inverse_link(custom.predict(dtest, output_margin=True)),
        case.to_param(built.predict(dtest_built, output_margin=True)),
        api.inverse_link(lcustom.predict(Xt, raw_score=True) + start),
        case.to_param(lbuilt.predict(Xt, raw_score=True) + built_margin),
    )


def _margin_of(case, theta):
    """The built-in's margin for a parameter value (inverting case.to_param numerically)."""
    lo, hi = -50.0, 50.0
    increasing = case.to_param(1.0) > case.to_param(0.0)
    for _ in range(200):
        mid = (lo + hi) / 2
        if (case.to_param(mid) < theta) == increasing:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@pytest.mark.parametrize("name", sorted(CASES))
def test_emitted_objective_trains_like_the_builtin(name):
    case = CASES[name]
    _, api = _api(name)
    _, yt = _data(name, 2)
    score = _nll(name, case)
    xgb_custom, xgb_built, lgb_custom, lgb_built = _fits(name)
    for theta in (xgb_custom, lgb_custom):
        assert np.all(np.isfinite(theta))
        assert np.all((theta > case.low) & (theta < case.high)), (theta.min(), theta.max())
    constant = score(
        yt, np.full(len(yt), api.inverse_link(api.intercept(_data(name, 1)[1]))), case.fixed
    )
    for custom, built in ((xgb_custom, xgb_built), (lgb_custom, lgb_built)):
        got, reference = score(yt, custom, case.fixed), score(yt, built, case.fixed)
        assert got < constant - 0.2 * abs(constant - reference)  # it learned
        assert abs(got - reference) <= case.within * abs(reference), (got, reference)


# ---------------------------------------------------------------------------- the four APIs


def _poisson(seed, n=3000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, rng.poisson(np.exp(_signal(X) + 0.5)).astype(float)


def test_each_api_by_name_with_the_rate_output_poisson():
    """xgb.train, lgb.train, XGBRegressor and LGBMRegressor with the emitted objectives of
    `poisson` (rate output, log margin): predictions through inverse_link match the built-in
    count:poisson / poisson models, and every rate is positive."""
    m = load("poisson", grad=True)
    (X, y), (Xt, _) = _poisson(3), _poisson(4)
    start = m.intercept(y)
    assert start == pytest.approx(np.log(y.mean()), rel=1e-12)
    assert m.inverse_link(start) == pytest.approx(y.mean(), rel=1e-12)
    base, base_t = np.full(len(y), start), np.full(len(Xt), start)
    builtin_x = xgb.train(
        {**XGB, "objective": "count:poisson", "max_delta_step": 0.0},
        xgb.DMatrix(X, label=y, base_margin=base),
        ROUNDS,
    ).predict(xgb.DMatrix(Xt, base_margin=base_t))
    builtin_l = lgb.train(
        {**LGB, "objective": "poisson", "poisson_max_delta_step": 1e-12},
        lgb.Dataset(X, y, init_score=base),
        ROUNDS,
    ).predict(Xt, raw_score=True)
    builtin_l = np.exp(builtin_l + start)
    fits = {
        "xgb.train": m.inverse_link(
            xgb.train(
                XGB, xgb.DMatrix(X, label=y, base_margin=base), ROUNDS, obj=m.xgboost_objective
            ).predict(xgb.DMatrix(Xt, base_margin=base_t), output_margin=True)
        ),
        "lgb.train": m.inverse_link(
            lgb.train(
                {**LGB, "objective": m.lightgbm_objective},
                lgb.Dataset(X, y, init_score=base),
                ROUNDS,
            ).predict(Xt, raw_score=True)
            + start
        ),
        "XGBRegressor": m.inverse_link(
            xgb.XGBRegressor(
                objective=m.sklearn_objective, n_estimators=ROUNDS, max_depth=3,
                learning_rate=0.3, n_jobs=1, random_state=0,
            )
            .fit(X, y, base_margin=base)
            .predict(Xt, base_margin=base_t, output_margin=True)
        ),
        "LGBMRegressor": m.inverse_link(
            lgb.LGBMRegressor(
                objective=m.sklearn_objective, n_estimators=ROUNDS, num_leaves=8,
                learning_rate=0.3, n_jobs=1, random_state=0, verbose=-1,
            )
            .fit(X, y, init_score=base)
            .predict(Xt, raw_score=True)
            + start
        ),
    }  # fmt: skip
    for api, rate in fits.items():
        assert np.all(np.isfinite(rate) & (rate > 0)), api
        reference = builtin_x if api.startswith("XGB") or api == "xgb.train" else builtin_l
        np.testing.assert_allclose(rate, reference, rtol=5e-3, err_msg=api)


def test_classifiers_and_weights_with_bernoulli():
    """XGBClassifier / LGBMClassifier with the probability-output bernoulli's sklearn_objective
    (logit margin) and sample weights match binary:logistic / binary with the same weights."""
    m = load("bernoulli", grad=True)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 4))
    y = (rng.random(3000) < special.expit(2 * _signal(X))).astype(float)
    w = rng.uniform(0.5, 2.0, size=3000)
    start = m.intercept(y)  # unweighted start for both: what matters is that they agree
    base = np.full(len(y), start)
    options = {"n_estimators": ROUNDS, "learning_rate": 0.3, "n_jobs": 1, "random_state": 0}
    xgb_opts = {**options, "max_depth": 3}
    lgb_opts = {**options, "num_leaves": 8, "verbose": -1}
    custom = xgb.XGBClassifier(objective=m.sklearn_objective, **xgb_opts)
    custom.fit(X, y, sample_weight=w, base_margin=base)
    builtin = xgb.XGBClassifier(objective="binary:logistic", **xgb_opts)
    builtin.fit(X, y, sample_weight=w, base_margin=base)
    p = m.inverse_link(custom.predict(X, base_margin=base, output_margin=True))
    assert np.all((p > 0) & (p < 1))
    np.testing.assert_allclose(p, builtin.predict_proba(X, base_margin=base)[:, 1], atol=2e-3)
    lcustom = lgb.LGBMClassifier(objective=m.sklearn_objective, **lgb_opts)
    lcustom.fit(X, y, sample_weight=w, init_score=base)
    lbuilt = lgb.LGBMClassifier(objective="binary", **lgb_opts)
    lbuilt.fit(X, y, sample_weight=w, init_score=base)
    p = m.inverse_link(lcustom.predict(X, raw_score=True) + start)
    expected = special.expit(lbuilt.predict(X, raw_score=True) + start)
    np.testing.assert_allclose(p, expected, atol=2e-3)


def test_fixed_parameters_are_bound_with_with_fixed():
    m = load("laplace", grad=True)
    with pytest.raises(TypeError, match=r"with_fixed\(b=\.\.\.\)"):
        m.sklearn_objective(np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError):  # never defaulted
        m.xgboost_objective(np.zeros(3), None)
    api = m.with_fixed(b=2.0)
    y = np.array([0.0, 1.0, 2.0, 10.0])
    g, h = api.sklearn_objective(y, np.full(4, 1.5), np.array([1.0, 1.0, 2.0, 1.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0, -2.0, -1.0])  # sign(m − y), weighted
    np.testing.assert_array_equal(h, [1.0, 1.0, 2.0, 1.0])  # the constant 1, weighted
    odd = np.array([0.0, 1.0, 2.0, 10.0, 3.0])
    assert api.intercept(odd) == pytest.approx(2.0, abs=1e-9)  # the median: the MAE's minimiser


def test_intercepts_without_a_closed_form_minimise_the_mean_loss():
    """The quantile for the pinball, a root of the mean gradient elsewhere (numerically)."""
    m = load("asymmetric-laplace", grad=True)
    y = np.random.default_rng(6).normal(size=2001)
    assert m.intercept(y, 0.8, 1.0) == pytest.approx(np.quantile(y, 0.8), abs=2e-3)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("gaussian-hetero", "a single raw output only"),
        ("beta", "a single raw output only"),
        ("gaussian-mixture", "a single raw output only"),
        ("categorical", "needs unconstrained class logits (categorical-logit"),
        ("dirichlet", "needs unconstrained class logits (categorical-logit"),
    ],
)
def test_entries_without_an_objective_say_why(name, why):
    m = load(name, grad=True)
    assert not hasattr(m, "xgboost_objective") and not hasattr(m, "intercept")
    assert why in m.NO_GBM_OBJECTIVE


# ---------------------------------------------------------------------------- multi:softprob


def _classes(seed, classes, n=ROWS):
    """Features and class indices 0..K-1 drawn from a softmax of a nonlinear signal."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    weights = np.random.default_rng(100 + classes).normal(size=(4, classes))
    logits = X @ weights + 0.5 * np.sin(X[:, :1] * np.arange(1, classes + 1))
    p = special.softmax(logits, axis=1)
    return X, (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)


def _log_loss(y, margins):
    """Mean multi-class log-loss of class indices y under softmax(margins) (scipy, and sklearn's
    log_loss as a second witness)."""
    from sklearn.metrics import log_loss

    got = -float(np.mean(special.log_softmax(margins, axis=1)[np.arange(len(y)), y]))
    probabilities = special.softmax(margins.astype(np.float64), axis=1)
    witness = log_loss(y, probabilities, labels=np.arange(margins.shape[1]))
    assert got == pytest.approx(witness, rel=1e-6)
    return got


def _probabilities(margins):
    """The class probabilities of the margins, checked finite, in [0, 1], rows summing to 1."""
    assert np.all(np.isfinite(margins))
    p = special.softmax(margins.astype(np.float64), axis=1)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    return p


@pytest.mark.parametrize("classes", [3, 5])
def test_multiclass_objective_trains_like_multi_softprob(classes):
    """xgb.train (hist) with the emitted categorical-logit objective and with the built-in
    multi:softprob, both from the module's intercept log ȳ: held-out log-loss within 2%, and
    LightGBM's with its built-in multiclass within 2% or better (LightGBM's hessian is
    K/(K − 1)·p(1 − p), the emitted one xgboost's 2p(1 − p): not the same steps)."""
    m = load("categorical-logit", grad=True)
    (X, y), (Xt, yt) = _classes(1, classes), _classes(2, classes)
    start = m.intercept(np.eye(classes)[y])
    np.testing.assert_allclose(start, np.log(np.bincount(y, minlength=classes) / len(y)))
    base, base_t = np.tile(start, (len(y), 1)), np.tile(start, (len(yt), 1))
    params = {**XGB, "tree_method": "hist", "num_class": classes}
    dtrain = xgb.DMatrix(X, label=y, base_margin=base)
    dtest = xgb.DMatrix(Xt, base_margin=base_t)
    custom = xgb.train(
        {**params, "disable_default_eval_metric": True}, dtrain, ROUNDS, obj=m.xgboost_objective
    )
    built = xgb.train({**params, "objective": "multi:softprob"}, dtrain, ROUNDS)
    margins = m.inverse_link(custom.predict(dtest, output_margin=True))
    assert margins.shape == (len(yt), classes)
    _probabilities(margins)
    constant = _log_loss(yt, base_t)
    got = _log_loss(yt, margins)
    reference = _log_loss(yt, built.predict(dtest, output_margin=True))
    assert got < constant - 0.2 * (constant - reference)  # it learned
    assert abs(got - reference) <= 0.02 * reference, (got, reference)
    # softprob's probabilities are the softmax of the custom model's margins, nearly exactly
    np.testing.assert_allclose(_probabilities(margins), built.predict(dtest), atol=1e-3)

    lparams = {**LGB, "num_class": classes}
    lcustom = lgb.train(
        {**lparams, "objective": m.lightgbm_objective}, lgb.Dataset(X, y, init_score=base), ROUNDS
    )
    lbuilt = lgb.train(
        {**lparams, "objective": "multiclass"}, lgb.Dataset(X, y, init_score=base), ROUNDS
    )
    lmargins = m.inverse_link(lcustom.predict(Xt, raw_score=True) + start)
    _probabilities(lmargins)
    got = _log_loss(yt, lmargins)
    reference = _log_loss(yt, lbuilt.predict(Xt, raw_score=True) + start)
    assert got < constant - 0.2 * (constant - reference)
    assert got <= 1.02 * reference, (got, reference)


def test_multiclass_estimators_and_weights():
    """XGBClassifier / LGBMClassifier with sklearn_objective (class indices in, (N, K) margins)
    and sample weights: XGBClassifier matches multi:softprob with the same weights; a weight of
    2 is two copies of the row (the gradient and hessian are sums over rows)."""
    m = load("categorical-logit", grad=True)
    classes = 4
    (X, y), (Xt, yt) = _classes(3, classes), _classes(4, classes)
    w = np.random.default_rng(5).choice([1.0, 2.0], size=len(y))
    start = m.intercept(np.eye(classes)[y])
    base, base_t = np.tile(start, (len(y), 1)), np.tile(start, (len(yt), 1))
    options = {"n_estimators": ROUNDS, "learning_rate": 0.3, "n_jobs": 1, "random_state": 0}
    custom = xgb.XGBClassifier(objective=m.sklearn_objective, max_depth=3, **options)
    custom.fit(X, y, sample_weight=w, base_margin=base)
    built = xgb.XGBClassifier(objective="multi:softprob", max_depth=3, **options)
    built.fit(X, y, sample_weight=w, base_margin=base)
    p = _probabilities(custom.predict(Xt, base_margin=base_t, output_margin=True))
    np.testing.assert_allclose(p, built.predict_proba(Xt, base_margin=base_t), atol=1e-3)
    lcustom = lgb.LGBMClassifier(objective=m.sklearn_objective, num_leaves=8, verbose=-1, **options)
    lcustom.fit(X, y, sample_weight=w, init_score=base)
    lmargins = lcustom.predict(Xt, raw_score=True) + start
    assert _log_loss(yt, lmargins) < 0.9 * _log_loss(yt, base_t)
    g, h = m.sklearn_objective(y, base, w)
    copies = np.repeat(np.arange(len(y)), w.astype(int))
    g2, h2 = m.sklearn_objective(y[copies], base[copies])
    np.testing.assert_allclose(g.sum(axis=0), g2.sum(axis=0), atol=1e-9)
    np.testing.assert_allclose(h.sum(axis=0), h2.sum(axis=0), rtol=1e-12)


def test_multiclass_labels_are_checked():
    """Class indices outside 0..K-1 or not integers, and one margin per row (num_class unset),
    are refused naming what is wrong; probability rows with K values pass as they are."""
    m = load("categorical-logit", grad=True)
    margins = np.zeros((4, 3))
    for bad in ([0, 1, 3, 0], [0, 1, -1, 0], [0, 1.5, 2, 0], [0, np.nan, 1, 2]):
        with pytest.raises(ValueError, match=r"class labels must be integers 0\.\.2"):
            m.sklearn_objective(np.array(bad, dtype=float), margins)
    with pytest.raises(ValueError, match="num_class"):
        m.sklearn_objective(np.zeros(4), np.zeros(4))
    soft = np.full((4, 3), 1 / 3)
    g, _ = m.sklearn_objective(soft, margins)
    np.testing.assert_allclose(g, 0.0, atol=1e-15)  # softmax(0) = 1/3 = the target
