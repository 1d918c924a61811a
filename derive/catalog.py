"""The built-in declarations: one registry, one short entry per distribution."""

from __future__ import annotations

from sympy import Abs, Product, Sum, Symbol, exp, factorial, pi, sqrt

from .functions import sigmoid
from .spec import CLASS_INDEX as k
from .spec import N_CLASSES as K
from .spec import Distribution, Link, Var

CATALOG: dict[str, Distribution] = {}

_j = Symbol("j", integer=True, positive=True)  # a second class index, for normalisers


class UnknownDistribution(KeyError):
    def __str__(self):
        name = self.args[0]
        return f"unknown distribution {name!r}; `derive list` shows the {len(CATALOG)} known names"


def register(dist: Distribution) -> Distribution:
    if dist.name in CATALOG:
        raise ValueError(f"duplicate catalog name {dist.name!r}")
    CATALOG[dist.name] = dist
    return dist


def get(name: str) -> Distribution:
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownDistribution(name) from None


def _gaussian(y, mu, sigma):
    return exp(-((y - mu) ** 2) / (2 * sigma**2)) / sqrt(2 * pi * sigma**2)


def _bernoulli(y, p):
    return p**y * (1 - p) ** (1 - y)


def _poisson(y, lam):
    return lam**y * exp(-lam) / factorial(y)


def _categorical(y, p):
    return Product(p[k] ** y[k], (k, 1, K))


Y = Var("y", "real", doc="target")
MU = Var("mu", "real", doc="mean (the prediction)")

register(
    Distribution(
        name="gaussian",
        title="Gaussian, fixed variance",
        observed=Y,
        params=(MU,),
        fixed=(Var("sigma", "positive", doc="noise standard deviation"),),
        density=_gaussian,
        notes="σ is a fixed standard deviation, not a variance; the MSE is the NLL up to the "
        "scale 1/(2σ²) and the constant log σ + ½ log 2π.",
        references=(
            "torch.nn.functional.mse_loss",
            "sklearn.metrics.mean_squared_error",
        ),
    )
)

register(
    Distribution(
        name="gaussian-hetero",
        title="Gaussian, learned mean and standard deviation",
        observed=Y,
        params=(MU, Var("sigma", "positive", doc="standard deviation")),
        density=_gaussian,
        notes="σ is a standard deviation; torch's gaussian_nll_loss takes the variance σ². "
        "A network should output log σ (or log σ²) and exponentiate.",
        references=("torch.nn.functional.gaussian_nll_loss",),
    )
)

register(
    Distribution(
        name="laplace",
        title="Laplace, fixed scale",
        observed=Y,
        params=(MU,),
        fixed=(Var("b", "positive", doc="scale"),),
        density=lambda y, mu, b: exp(-Abs(y - mu) / b) / (2 * b),
        notes="b is the scale (variance 2b²); the minimiser of the MAE is the conditional median.",
        references=(
            "torch.nn.functional.l1_loss",
            "sklearn.metrics.mean_absolute_error",
        ),
    )
)

BERNOULLI_Y = Var("y", "binary", doc="label in {0, 1}")
P = Var("p", "unit_interval", doc="probability of y = 1")

register(
    Distribution(
        name="bernoulli",
        title="Bernoulli, probability output",
        observed=BERNOULLI_Y,
        params=(P,),
        density=_bernoulli,
        notes="p is a probability; prefer bernoulli-logit, whose loss is stable for any logit.",
        references=(
            "torch.nn.functional.binary_cross_entropy",
            "sklearn.metrics.log_loss",
        ),
    )
)

register(
    Distribution(
        name="bernoulli-logit",
        title="Bernoulli, logit output",
        observed=BERNOULLI_Y,
        params=(P,),
        links=(Link("p", Var("z", "real", doc="logit"), sigmoid, "sigmoid"),),
        density=_bernoulli,
        notes="z is the logit, p = σ(z); the loss softplus(z) − yz is finite for every z.",
        references=("torch.nn.functional.binary_cross_entropy_with_logits",),
    )
)

register(
    Distribution(
        name="categorical-logit",
        title="Categorical, logit (softmax) output",
        observed=Var("y", "simplex", vector=True, doc="one-hot or probability target"),
        params=(Var("p", "simplex", vector=True, doc="class probabilities"),),
        links=(
            Link(
                "p",
                Var("z", "real", vector=True, doc="logits"),
                lambda z, k, K: exp(z[k]) / Sum(exp(z[_j]), (_j, 1, K)),
                "softmax",
            ),
        ),
        density=_categorical,
        notes="z are logits over the class axis (last), p = softmax(z); y is one-hot or any "
        "probability vector (Σₖ yₖ = 1), as in torch's cross_entropy with probability targets.",
        references=("torch.nn.functional.cross_entropy",),
    )
)

COUNT = Var("y", "count", doc="count")
LAMBDA = Var("lambda", "positive", doc="rate (mean)")

register(
    Distribution(
        name="poisson",
        title="Poisson, rate output",
        observed=COUNT,
        params=(LAMBDA,),
        density=_poisson,
        notes="λ is the rate (the mean); prefer poisson-log, which learns η = log λ.",
        references=("torch.nn.functional.poisson_nll_loss(log_input=False)",),
    )
)

register(
    Distribution(
        name="poisson-log",
        title="Poisson, log-rate output",
        observed=COUNT,
        params=(LAMBDA,),
        links=(Link("lambda", Var("eta", "real", doc="log-rate"), exp, "exp"),),
        density=_poisson,
        notes="η = log λ is the log-rate, as in a GLM with log link and xgboost's count:poisson.",
        references=(
            "torch.nn.functional.poisson_nll_loss(log_input=True)",
            "sklearn HalfPoissonLoss",
        ),
    )
)
