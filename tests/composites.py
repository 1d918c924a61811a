"""Composite declarations under test (derive/composite.py), by the command line that names them.

Each is built through the Python API; the oracles for each live in tests/test_composite.py."""

from __future__ import annotations

from derive.catalog import get

COMPOSITES = {
    "weibull --censored --link lambda=log": lambda: (
        get("weibull").censored().link(**{"lambda": "log"})
    ),
    "lognormal --censored": lambda: get("lognormal").censored(),
    "gamma --censored --link mu=log": lambda: get("gamma").censored().link(mu="log"),
    "log-logistic --censored --link alpha=log": lambda: (
        get("log-logistic").censored().link(alpha="log")
    ),
    "gaussian-hetero --censored": lambda: get("gaussian-hetero").censored(),
    "gaussian --truncated -1,2": lambda: get("gaussian").truncated(-1, 2),
    "gaussian-hetero --truncated 0,oo --link sigma=log": lambda: (
        get("gaussian-hetero").truncated(0, "oo").link(sigma="log")
    ),
    "exponential --truncated 0,3": lambda: get("exponential").truncated(0, 3),
    "gaussian-hetero --discretised 1/2": lambda: get("gaussian-hetero").discretised("1/2"),
    "weibull --discretised 1": lambda: get("weibull").discretised(1),
    "laplace --censored": lambda: get("laplace").censored(),
    "cauchy --censored": lambda: get("cauchy").censored(),
    "laplace --truncated -oo,2": lambda: get("laplace").truncated("-oo", 2),
    "cauchy --truncated 0,oo": lambda: get("cauchy").truncated(0, "oo"),
    "laplace --truncated -1,2": lambda: get("laplace").truncated(-1, 2),
    "asymmetric-laplace --censored": lambda: get("asymmetric-laplace").censored(),
    "asymmetric-laplace --truncated -1,2": lambda: get("asymmetric-laplace").truncated(-1, 2),
    "asymmetric-laplace --discretised 1/2": lambda: get("asymmetric-laplace").discretised("1/2"),
    "cauchy --truncated -1,2": lambda: get("cauchy").truncated(-1, 2),
    "inverse-gaussian --truncated 1,2": lambda: get("inverse-gaussian").truncated(1, 2),
    "laplace --discretised 1/2": lambda: get("laplace").discretised("1/2"),
    "cauchy --discretised 1": lambda: get("cauchy").discretised(1),
    "inverse-gaussian --censored --link mu=log": lambda: (
        get("inverse-gaussian").censored().link(mu="log")
    ),
    "inverse-gaussian --truncated 0,3": lambda: get("inverse-gaussian").truncated(0, 3),
    "inverse-gaussian --discretised 1/2": lambda: get("inverse-gaussian").discretised("1/2"),
    "student-t --censored": lambda: get("student-t").censored(),
    "student-t --discretised 1": lambda: get("student-t").discretised(1),
    "poisson-log --censored": lambda: get("poisson-log").censored(),
    "negative-binomial --link mu=log --censored": lambda: (
        get("negative-binomial").link(mu="log").censored()
    ),
    "binomial --link p=logit --censored": lambda: get("binomial").link(p="logit").censored(),
    "binomial --truncated 2,n --link p=logit": lambda: (
        get("binomial").truncated(2, "n").link(p="logit")
    ),
    "poisson-log --zero-inflated": lambda: get("poisson-log").zero_inflated(),
    "negative-binomial --link mu=log --zero-inflated": lambda: (
        get("negative-binomial").link(mu="log").zero_inflated()
    ),
    "poisson-log --hurdle": lambda: get("poisson-log").hurdle(),
    "negative-binomial --link mu=log --hurdle": lambda: (
        get("negative-binomial").link(mu="log").hurdle()
    ),
    "gaussian-hetero --mixture 3 --link sigma=log": lambda: (
        get("gaussian-hetero").mixture(3).link(sigma="log")
    ),
    "poisson-log --mixture 2": lambda: get("poisson-log").mixture(2),
    "gaussian-hetero --link sigma=log": lambda: get("gaussian-hetero").link(sigma="log"),
    "gaussian-hetero --link sigma=logvar": lambda: get("gaussian-hetero").link(sigma="logvar"),
    "gaussian-hetero --link sigma=softplus": lambda: get("gaussian-hetero").link(sigma="softplus"),
    "bernoulli --link p=probit": lambda: get("bernoulli").link(p="probit"),
    "bernoulli --link p=logit": lambda: get("bernoulli").link(p="logit"),
    "poisson-log --link lambda=identity": lambda: get("poisson-log").link(**{"lambda": "identity"}),
}

NAMES = list(COMPOSITES)
