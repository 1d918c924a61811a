"""Independent references (scipy.stats, torch, sklearn), keyed by catalog name / standard id.

Oracles live here, never in the package.  Each SCIPY entry maps a dict of values (by variable name,
raw learned outputs included) to the log-density from scipy.  REFERENCES maps a standard id to the
public implementations that define that loss, each taking the same dict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats


def _softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _categorical_logpmf(y, p):
    # y may be a probability vector: the cross-entropy Σ y_k log p_k (one-hot: scipy multinomial)
    y = np.asarray(y, dtype=float)
    if np.all((y == 0) | (y == 1)):
        return stats.multinomial.logpmf(y, 1, p)
    return float(np.sum(special.xlogy(y, p)))


def _huber_logpdf(y, mu, k):
    """log of exp(−huber(r))/Z with Z by scipy quadrature over the three pieces of ρ_k."""

    def f(r):
        return np.exp(-special.huber(k, r))

    z = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13)[0] for a, b in _pieces(k))
    return -special.huber(k, y - mu) - np.log(z)


def _pieces(k):
    return ((-np.inf, -k), (-k, k), (k, np.inf))


def _asymmetric_laplace_logpdf(v):
    tau, sigma = v["tau"], v["sigma"]
    kappa = np.sqrt(tau / (1 - tau))
    return stats.laplace_asymmetric.logpdf(
        v["y"], kappa, loc=v["mu"], scale=sigma / np.sqrt(tau * (1 - tau))
    )


def ordinal_cutpoints(c_raw):
    """c_1 = r_1, c_k = c_{k−1} + softplus(r_k) (numpy, over the last axis)."""
    r = np.asarray(c_raw, dtype=float)
    steps = np.concatenate([r[..., :1], np.logaddexp(0.0, r[..., 1:])], axis=-1)
    return np.cumsum(steps, axis=-1)


def _ordinal_logpmf(cdf):
    """log(F(c_{y+1} − η) − F(c_y − η)) with c_0 = −∞, c_{K+1} = +∞, from scipy.special; an
    interval above 0 as F(η − c_y) − F(η − c_{y+1}) (F symmetric), where 1 − F has its digits."""

    def logpmf(v):
        c = ordinal_cutpoints(v["theta"])
        ends = np.concatenate([[-np.inf], c, [np.inf]])
        y = int(v["y"])
        lo, hi = ends[y] - v["eta"], ends[y + 1] - v["eta"]
        if lo > 0:
            lo, hi = -hi, -lo
        return float(np.log(cdf(hi) - cdf(lo)))

    return logpmf


def statsmodels_ordinal_loglike(y, eta, c_raw, distr):
    """statsmodels OrderedModel(distr).loglikeobs at η = x·β (β = 1) and the thresholds of
    c_raw (statsmodels: c_1, then log increments), one value per observation."""
    import pandas as pd
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    c = ordinal_cutpoints(c_raw)
    y, eta = np.atleast_1d(y).astype(int), np.atleast_1d(np.asarray(eta, dtype=float))
    n = len(y)
    # a second row with another x: OrderedModel refuses an exog column that is constant
    endog = pd.Series(pd.Categorical(np.append(y, 0), categories=range(len(c) + 1), ordered=True))
    exog = np.append(eta, eta[0] + 1.0)[:, None]
    params = np.concatenate([[1.0], c[:1], np.log(np.diff(c))])
    return OrderedModel(endog, exog, distr=distr).loglikeobs(params)[:n]


#: catalog name -> logpdf(values) using scipy
SCIPY = {
    "ordinal-logit": _ordinal_logpmf(special.expit),
    "ordinal-probit": _ordinal_logpmf(special.ndtr),
    "gaussian": lambda v: stats.norm.logpdf(v["y"], v["mu"], v["sigma"]),
    "gaussian-hetero": lambda v: stats.norm.logpdf(v["y"], v["mu"], v["sigma"]),
    "laplace": lambda v: stats.laplace.logpdf(v["y"], v["mu"], v["b"]),
    "asymmetric-laplace": _asymmetric_laplace_logpdf,
    "cauchy": lambda v: stats.cauchy.logpdf(v["y"], v["mu"], v["gamma"]),
    "student-t": lambda v: stats.t.logpdf(v["y"], v["nu"], v["mu"], v["s"]),
    "logistic": lambda v: stats.logistic.logpdf(v["y"], v["mu"], v["s"]),
    "huber": lambda v: _huber_logpdf(v["y"], v["mu"], v["k"]),
    "lognormal": lambda v: stats.lognorm.logpdf(v["y"], v["sigma"], scale=np.exp(v["mu"])),
    "bernoulli": lambda v: stats.bernoulli.logpmf(v["y"], v["p"]),
    "bernoulli-logit": lambda v: stats.bernoulli.logpmf(v["y"], special.expit(v["z"])),
    "binomial": lambda v: stats.binom.logpmf(v["y"], v["n"], v["p"]),
    "categorical": lambda v: _categorical_logpmf(v["y"], v["p"]),
    "categorical-logit": lambda v: _categorical_logpmf(v["y"], _softmax(v["z"])),
    "poisson": lambda v: stats.poisson.logpmf(v["y"], v["lambda"]),
    "poisson-log": lambda v: stats.poisson.logpmf(v["y"], np.exp(v["eta"])),
    "negative-binomial": lambda v: stats.nbinom.logpmf(
        v["y"], 1 / v["alpha"], 1 / (1 + v["alpha"] * v["mu"])
    ),
    "gamma": lambda v: stats.gamma.logpdf(v["y"], v["shape"], scale=v["mu"] / v["shape"]),
    "exponential": lambda v: stats.expon.logpdf(v["y"], scale=1 / v["lambda"]),
    "inverse-gaussian": lambda v: stats.invgauss.logpdf(
        v["y"], v["mu"] / v["lambda"], scale=v["lambda"]
    ),
    "weibull": lambda v: stats.weibull_min.logpdf(v["y"], v["k"], scale=v["lambda"]),
    "log-logistic": lambda v: stats.fisk.logpdf(v["y"], v["beta"], scale=v["alpha"]),
    "beta": lambda v: stats.beta.logpdf(v["y"], v["a"], v["b"]),
    "dirichlet": lambda v: stats.dirichlet.logpdf(v["y"], v["alpha"]),
    "von-mises": lambda v: stats.vonmises.logpdf(v["y"], v["kappa"], loc=v["mu"]),
    "gaussian-mixture": lambda v: special.logsumexp(
        np.log(v["pi"]) + stats.norm.logpdf(v["y"], v["mu"], v["sigma"])
    ),
}


@dataclass(frozen=True)
class Reference:
    """A public implementation of a standard loss.

    ``exact``: it returns the standard loss itself (same value, scale and sign).  Otherwise it is a
    −log-likelihood that differs from the standard loss by terms free of the learned parameters:
    its differences between two parameter values equal ours (same scale and sign, no offset)."""

    label: str
    loss: object  # values dict -> float
    exact: bool = True


def _one(x):
    return np.atleast_1d(np.asarray(x, dtype=float))


def _sklearn_references():
    from sklearn import metrics
    from sklearn._loss.loss import (
        HalfGammaLoss,
        HalfPoissonLoss,
        HalfTweedieLoss,
        HuberLoss,
        PinballLoss,
    )

    def half(loss, raw):
        """sklearn's Half* losses plus their constant_to_optimal_zero: half the deviance."""
        return lambda v: (
            2
            * float(
                loss(v).loss(y_true=_one(v["y"]), raw_prediction=_one(raw(v)))[0]
                + loss(v).constant_to_optimal_zero(_one(v["y"]))[0]
            )
        )

    return {
        "mse": [Reference("sklearn mean_squared_error", lambda v: metrics.mean_squared_error(
            _one(v["y"]), _one(v["mu"])))],
        "mae": [Reference("sklearn mean_absolute_error", lambda v: metrics.mean_absolute_error(
            _one(v["y"]), _one(v["mu"])))],
        "bce": [Reference("sklearn log_loss", lambda v: metrics.log_loss(
            _one(v["y"]), _one(v["p"]), labels=[0, 1]))],
        "poisson_log": [Reference("sklearn HalfPoissonLoss", lambda v: float(
            HalfPoissonLoss().loss(y_true=_one(v["y"]), raw_prediction=_one(v["eta"]))[0]))],
        "pinball": [
            Reference("sklearn mean_pinball_loss", lambda v: metrics.mean_pinball_loss(
                _one(v["y"]), _one(v["mu"]), alpha=v["tau"])),
            Reference("sklearn PinballLoss", lambda v: float(PinballLoss(quantile=v["tau"]).loss(
                y_true=_one(v["y"]), raw_prediction=_one(v["mu"]))[0])),
        ],
        "huber": [Reference("sklearn HuberLoss", lambda v: float(HuberLoss(delta=v["k"]).loss(
            y_true=_one(v["y"]), raw_prediction=_one(v["mu"]))[0]))],
        # sklearn applies the squared log error to 1 + y and 1 + ŷ: pass y − 1 and e^μ − 1
        "mse_log": [Reference("sklearn mean_squared_log_error", lambda v: (
            metrics.mean_squared_log_error(_one(v["y"] - 1), _one(np.expm1(v["mu"])))))],
        "gamma_deviance": [
            Reference("sklearn mean_gamma_deviance", lambda v: metrics.mean_gamma_deviance(
                _one(v["y"]), _one(v["mu"]))),
            Reference("sklearn HalfGammaLoss", half(lambda v: HalfGammaLoss(),
                                                    lambda v: np.log(v["mu"]))),
        ],
        "inverse_gaussian": [Reference(
            "sklearn mean_tweedie_deviance(power=3)", lambda v: metrics.mean_tweedie_deviance(
                _one(v["y"]), _one(v["mu"]), power=3))],
        "tweedie": [
            Reference("sklearn mean_tweedie_deviance", lambda v: metrics.mean_tweedie_deviance(
                _one(v["y"]), _one(v["mu"]), power=v["power"])),
            Reference("sklearn HalfTweedieLoss", half(lambda v: HalfTweedieLoss(power=v["power"]),
                                                      lambda v: np.log(v["mu"]))),
        ],
    }  # fmt: skip


def _torch_references():
    import torch
    import torch.nn.functional as F
    from torch import distributions as D

    def t(x):
        return torch.as_tensor(np.asarray(x, dtype=np.float64))

    def neg_log_prob(make):
        return lambda v: -float(make(v).log_prob(t(v["y"])))

    return {
        "mse": [Reference("torch mse_loss", lambda v: F.mse_loss(
            t(v["mu"]), t(v["y"]), reduction="none"))],
        "gaussian_nll": [Reference("torch gaussian_nll_loss", lambda v: F.gaussian_nll_loss(
            t(v["mu"]), t(v["y"]), t(v["sigma"]) ** 2, reduction="none", eps=1e-300))],
        "mae": [Reference("torch l1_loss", lambda v: F.l1_loss(
            t(v["mu"]), t(v["y"]), reduction="none"))],
        "bce": [Reference("torch binary_cross_entropy", lambda v: F.binary_cross_entropy(
            t(v["p"]), t(v["y"]), reduction="none"))],
        "bce_logits": [Reference(
            "torch binary_cross_entropy_with_logits", lambda v: F.binary_cross_entropy_with_logits(
                t(v["z"]), t(v["y"]), reduction="none"))],
        "softmax_cross_entropy": [Reference("torch cross_entropy", lambda v: F.cross_entropy(
            t(v["z"])[None], t(v["y"])[None], reduction="none")[0])],
        "poisson": [Reference("torch poisson_nll_loss", lambda v: F.poisson_nll_loss(
            t(v["lambda"]), t(v["y"]), log_input=False, full=False, eps=0.0, reduction="none"))],
        "poisson_log": [Reference("torch poisson_nll_loss(log_input)", lambda v: F.poisson_nll_loss(
            t(v["eta"]), t(v["y"]), log_input=True, full=False, reduction="none"))],
        "huber": [Reference("torch huber_loss", lambda v: F.huber_loss(
            t(v["mu"]), t(v["y"]), delta=v["k"], reduction="none"))],
        # torch's cross_entropy takes logits; log p are logits of p (log-softmax(log p) = log p)
        "cross_entropy": [Reference("torch cross_entropy(log p)", lambda v: F.cross_entropy(
            torch.log(t(v["p"]))[None], t(v["y"])[None], reduction="none")[0])],
        "exponential": [Reference("torch Exponential", neg_log_prob(
            lambda v: D.Exponential(t(v["lambda"]))))],
        "beta_nll": [Reference("torch Beta", neg_log_prob(
            lambda v: D.Beta(t(v["a"]), t(v["b"]))))],
        "dirichlet_nll": [Reference("torch Dirichlet", neg_log_prob(
            lambda v: D.Dirichlet(t(v["alpha"]))))],
        "mdn": [Reference("torch MixtureSameFamily", neg_log_prob(
            lambda v: D.MixtureSameFamily(D.Categorical(probs=t(v["pi"])),
                                          D.Normal(t(v["mu"]), t(v["sigma"])))))],
        "cauchy": [Reference("torch Cauchy", neg_log_prob(
            lambda v: D.Cauchy(t(v["mu"]), t(v["gamma"]))), exact=False)],
        "student_t": [Reference("torch StudentT", neg_log_prob(
            lambda v: D.StudentT(t(v["nu"]), t(v["mu"]), t(v["s"]))), exact=False)],
        "binomial": [Reference("torch Binomial", neg_log_prob(
            lambda v: D.Binomial(int(v["n"]), probs=t(v["p"]))), exact=False)],
        "negative_binomial": [Reference("torch NegativeBinomial", neg_log_prob(
            lambda v: D.NegativeBinomial(t(1 / v["alpha"]), probs=t(
                v["alpha"] * v["mu"] / (1 + v["alpha"] * v["mu"])))), exact=False)],
        "weibull": [Reference("torch Weibull", neg_log_prob(
            lambda v: D.Weibull(t(v["lambda"]), t(v["k"]))), exact=False)],
    }  # fmt: skip


def references() -> dict[str, list[Reference]]:
    """standard id -> the public implementations installed here (torch, sklearn)."""
    out: dict[str, list[Reference]] = {}
    for build in (_torch_references, _sklearn_references):
        try:
            table = build()
        except ImportError:
            continue
        for std, refs in table.items():
            out.setdefault(std, []).extend(refs)
    return out


def torch_losses():
    """standard id -> torch reference taking the values dict; None when torch is absent.

    (Kept for existing callers: the exact torch references of :func:`references`.)"""
    try:
        table = _torch_references()
    except ImportError:
        return None
    return {std: refs[0].loss for std, refs in table.items() if refs[0].exact}
