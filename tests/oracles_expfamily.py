"""Oracles for the exponential-family verdicts, canonical links and deviances (tests only).

VERDICT: the textbook verdict of every catalog entry ("form": a regular exponential family,
"curved", or "not"); LINKS: the statsmodels link each derived canonical link must equal up to an
affine map a·g + b; DEVIANCE: sklearn / statsmodels unit deviances, each taking (y, mean, values).
"""

from __future__ import annotations

import numpy as np

VERDICT = {
    "gaussian": "form",
    "gaussian-hetero": "form",
    "laplace": "not",
    "asymmetric-laplace": "not",
    "cauchy": "not",
    "student-t": "not",
    "logistic": "not",
    "huber": "not",
    "lognormal": "form",
    "bernoulli": "form",
    "bernoulli-logit": "form",
    "binomial": "form",
    "categorical": "form",
    "categorical-logit": "form",
    "poisson": "form",
    "poisson-log": "form",
    "negative-binomial": "form",
    "gamma": "form",
    "exponential": "form",
    "inverse-gaussian": "form",
    "tweedie": "form",
    "weibull": "form",
    "log-logistic": "not",
    "beta": "form",
    "dirichlet": "form",
    "von-mises": "curved",
    "gaussian-mixture": "not",
    # a multinomial in the class probabilities, but not in (η, c): P(y) = F(c_{y+1} − η) −
    # F(c_y − η) is no exp(T(y)·g(θ) − A(θ)) (McCullagh 1980: a multivariate GLM, not an EF in η)
    "ordinal-logit": "not",
    "ordinal-probit": "not",
}

#: the words the reason of a "not" verdict must contain
REASON = {
    "gaussian-mixture": "mixture",
    "laplace": "coupled",
    "asymmetric-laplace": "coupled",
    "cauchy": "coupled",
    "student-t": "coupled",
    "logistic": "coupled",
    "huber": "coupled",
    "log-logistic": "coupled",
    "ordinal-logit": "coupled",
    "ordinal-probit": "coupled",
}


#: the entries each oracle map below covers (static, so that collecting the tests imports neither
#: statsmodels nor sklearn)
SM_LINKS = ("gaussian", "lognormal", "bernoulli", "bernoulli-logit", "binomial", "poisson",
            "poisson-log", "negative-binomial", "gamma", "exponential", "inverse-gaussian",
            "tweedie")  # fmt: skip
SM_DEVIANCES = ("gaussian", "poisson", "poisson-log", "gamma", "inverse-gaussian", "tweedie",
                "bernoulli", "bernoulli-logit", "binomial", "negative-binomial")  # fmt: skip
SK_DEVIANCES = ("gaussian", "poisson", "poisson-log", "gamma", "inverse-gaussian", "tweedie")
SK_HALF_LOSSES = ("poisson-log", "bernoulli-logit", "gamma", "tweedie", "gaussian")


def statsmodels_links():
    """catalog name -> a function (values) -> statsmodels link object of the canonical link."""
    from statsmodels.genmod.families import links

    return {
        "gaussian": lambda v: links.Identity(),
        "lognormal": lambda v: links.Identity(),
        "bernoulli": lambda v: links.Logit(),
        "bernoulli-logit": lambda v: links.Logit(),
        # statsmodels' binomial link acts on the proportion μ/n: logit(μ/n) = log(μ/(n − μ))
        "binomial": lambda v: _on_proportion(links.Logit(), v["n"]),
        "poisson": lambda v: links.Log(),
        "poisson-log": lambda v: links.Log(),
        "negative-binomial": lambda v: links.NegativeBinomial(alpha=v["alpha"]),
        "gamma": lambda v: links.InversePower(),
        "exponential": lambda v: links.InversePower(),
        "inverse-gaussian": lambda v: links.InverseSquared(),
        "tweedie": lambda v: links.Power(1 - v["power"]),
    }


class _on_proportion:
    def __init__(self, link, n):
        self.link, self.n = link, n

    def __call__(self, mu):
        return self.link(mu / self.n)


def statsmodels_deviance():
    """catalog name -> (y, mu, values) -> statsmodels' unit deviance (resid_dev²)."""
    from statsmodels.genmod import families

    def unit(family, y, mu, **kw):
        return family.resid_dev(np.asarray(y, float), np.asarray(mu, float), **kw) ** 2

    return {
        "gaussian": lambda y, mu, v: unit(families.Gaussian(), y, mu),
        "poisson": lambda y, mu, v: unit(families.Poisson(), y, mu),
        "poisson-log": lambda y, mu, v: unit(families.Poisson(), y, mu),
        "gamma": lambda y, mu, v: unit(families.Gamma(), y, mu),
        "inverse-gaussian": lambda y, mu, v: unit(families.InverseGaussian(), y, mu),
        "tweedie": lambda y, mu, v: unit(families.Tweedie(var_power=v["power"], eql=True), y, mu),
        "bernoulli": lambda y, mu, v: unit(families.Binomial(), y, mu),
        "bernoulli-logit": lambda y, mu, v: unit(families.Binomial(), y, mu),
        # proportions y/n with n trials as variance weights: n·d(y/n, p)
        "binomial": lambda y, mu, v: unit(
            families.Binomial(),
            np.asarray(y) / v["n"],
            np.asarray(mu) / v["n"],
            var_weights=np.full(np.shape(y), v["n"]),
        ),
        "negative-binomial": lambda y, mu, v: unit(
            families.NegativeBinomial(alpha=v["alpha"]), y, mu
        ),
    }


def sklearn_deviance():
    """catalog name -> (y, mu, values) -> sklearn's mean deviance (sklearn.metrics)."""
    from sklearn import metrics

    return {
        "gaussian": lambda y, mu, v: metrics.mean_tweedie_deviance(y, mu, power=0),
        "poisson": lambda y, mu, v: metrics.mean_poisson_deviance(y, mu),
        "poisson-log": lambda y, mu, v: metrics.mean_poisson_deviance(y, mu),
        "gamma": lambda y, mu, v: metrics.mean_gamma_deviance(y, mu),
        "inverse-gaussian": lambda y, mu, v: metrics.mean_tweedie_deviance(y, mu, power=3),
        "tweedie": lambda y, mu, v: metrics.mean_tweedie_deviance(y, mu, power=v["power"]),
    }


def sklearn_half_losses():
    """catalog name -> (y, raw, values) -> 2·(half loss + constant_to_optimal_zero), per example,
    from sklearn._loss on the raw prediction (the learned output of the catalog entry)."""
    from sklearn._loss import loss as L

    def twice(loss, y, raw):
        y, raw = np.asarray(y, float), np.asarray(raw, float)
        return 2 * (loss.loss(y, raw) + loss.constant_to_optimal_zero(y))

    return {
        "poisson-log": lambda y, raw, v: twice(L.HalfPoissonLoss(), y, raw),
        "bernoulli-logit": lambda y, raw, v: twice(L.HalfBinomialLoss(), y, raw),
        # the gamma and Tweedie half losses take log μ; our learned output is μ itself
        "gamma": lambda y, mu, v: twice(L.HalfGammaLoss(), y, np.log(mu)),
        "tweedie": lambda y, mu, v: twice(L.HalfTweedieLoss(power=v["power"]), y, np.log(mu)),
        "gaussian": lambda y, mu, v: twice(L.HalfSquaredError(), y, mu),
    }
