"""The built-in declarations: one registry, one short entry per distribution.

Each entry is data: the density as a SymPy expression of its variables, the constraints of those
variables, an optional link, and the parametrisation notes users need.  Everything else (the NLL,
the split, the standard loss, LaTeX, code) is derived from it.
"""

from __future__ import annotations

import difflib
from functools import cache

from sympy import (
    Abs,
    EulerGamma,
    Function,
    Max,
    Min,
    Piecewise,
    Product,
    S,
    Sum,
    Symbol,
    atan2,
    besseli,
    binomial,
    cos,
    digamma,
    erf,
    exp,
    factorial,
    gamma,
    integrate,
    log,
    oo,
    pi,
    polygamma,
    sqrt,
)

from . import composite  # registers the modifiers (get(name).censored(), …); ordinal parts
from .errors import shown
from .functions import (
    BETA_SURVIVAL,
    GAMMA_SURVIVAL,
    gammainc,
    gammaincc,
    huber,
    ibeta,
    ndtr,
    sigmoid,
    stdtr,
)
from .spec import CLASS_INDEX as k
from .spec import N_CLASSES as K
from .spec import Distribution, Link, Moment, Var

CATALOG: dict[str, Distribution] = {}

_j = Symbol("j", integer=True, positive=True)  # a second class index, for normalisers


class UnknownDistribution(KeyError):
    """An unknown name: the message offers the closest known ones (``known``: the names that
    were accepted where it was asked; the catalog by default)."""

    def __init__(self, name, known=None):
        super().__init__(name)
        self.known = tuple(CATALOG if known is None else known)

    def __str__(self):
        name = self.args[0]
        close = difflib.get_close_matches(str(name), self.known, n=3, cutoff=0.6)
        close += [k for k in self.known if str(name) and k.startswith(str(name)) and k not in close]
        close = close[:3]
        hint = ", ".join(close[:-1]) + " or " + close[-1] if len(close) > 1 else "".join(close)
        hint = f"did you mean {hint}? " if close else ""
        return (
            f"unknown distribution {shown(name)}; {hint}(`derive list` shows the "
            f"{len(self.known)} known names)"
        )


def register(dist: Distribution) -> Distribution:
    if dist.name in CATALOG:
        raise ValueError(f"duplicate catalog name {dist.name!r}")
    CATALOG[dist.name] = dist
    return dist


def get(name: str) -> Distribution:
    """The catalog's declaration called ``name``.

    Parameters:
        name: a catalog name, as `derive list` shows them ("gaussian", "poisson-log", ...).

    Raises :class:`UnknownDistribution` (a KeyError) naming the closest known names.

    >>> import derive
    >>> dist = derive.get("poisson-log")
    >>> dist.title, [v.name for v in dist.learned]
    ('Poisson, log-rate output', ['eta'])
    """
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownDistribution(name) from None


# ---------------------------------------------------------------------------- densities


def _gaussian(y, mu, sigma):
    return exp(-((y - mu) ** 2) / (2 * sigma**2)) / sqrt(2 * pi * sigma**2)


def _gaussian_cdf(y, mu, sigma):
    return ndtr((y - mu) / sigma)


def _bernoulli(y, p):
    return p**y * (1 - p) ** (1 - y)


def _poisson(y, lam):
    return lam**y * exp(-lam) / factorial(y)


def _poisson_cdf(y, lam):
    """P(Y ≤ y) = Q(y + 1, λ) at an integer y (the regularized upper incomplete gamma)."""
    return gammaincc(y + 1, lam)


def _categorical(y, p):
    return Product(p[k] ** y[k], (k, 1, K))


def _check_loss(r, tau):
    """ρ_τ(r) = r(τ − 1[r < 0]) written without a branch: r(τ − ½) + |r|/2."""
    return r * (tau - S.Half) + Abs(r) / 2


def _asymmetric_laplace(y, mu, tau, sigma):
    return tau * (1 - tau) / sigma * exp(-_check_loss(y - mu, tau) / sigma)


def _asymmetric_laplace_cdf(y, mu, tau, sigma):
    """F = τe^{(1−τ)r/σ} below μ, 1 − (1−τ)e^{−τr/σ} above (r = y − μ), without a branch:
    e^{(1−τ)min(r, 0)/σ} − (1−τ)e^{−ρ_τ(r)/σ}, as the Laplace's (τ = ½)."""
    r = y - mu
    return exp((1 - tau) * Min(r, 0) / sigma) - (1 - tau) * exp(-_check_loss(r, tau) / sigma)


def _asymmetric_laplace_sf(y, mu, tau, sigma):
    """S = 1 − τe^{(1−τ)r/σ} below μ, (1−τ)e^{−τr/σ} above: e^{−τ max(r, 0)/σ} − τe^{−ρ_τ(r)/σ}."""
    r = y - mu
    return exp(-tau * Max(r, 0) / sigma) - tau * exp(-_check_loss(r, tau) / sigma)


def _laplace_cdf(y, mu, b):
    """F = ½e^{r/b} below μ, 1 − ½e^{−r/b} above: e^{min(r, 0)/b} − ½e^{−|r|/b}."""
    return exp(Min(y - mu, 0) / b) - exp(-Abs(y - mu) / b) / 2


def _laplace_sf(y, mu, b):
    return exp(-Max(y - mu, 0) / b) - exp(-Abs(y - mu) / b) / 2


@cache
def huber_normaliser(k_: Symbol):
    """Z(k) = ∫ exp(−ρ_k(r)) dr over ℝ, derived piecewise by SymPy: the Gaussian core on [−k, k]
    and two exponential tails."""
    r = Symbol("r", real=True)
    # manual integration, and the tail without Meijer G functions: 0.1 s, not 0.7 s
    core = integrate(exp(-(r**2) / 2), (r, -k_, k_), manual=True)
    tail = integrate(exp(-(k_ * r - k_**2 / 2)), (r, k_, oo), meijerg=False)
    return core + 2 * tail


def _student_t(y, mu, nu, s):
    normaliser = gamma((nu + 1) / 2) / (gamma(nu / 2) * sqrt(nu * pi) * s)
    return normaliser * (1 + ((y - mu) / s) ** 2 / nu) ** (-(nu + 1) / 2)


def _negative_binomial(y, mu, alpha):
    r = 1 / alpha  # NB2: variance μ + αμ²
    return (
        gamma(y + r)
        / (gamma(r) * factorial(y))
        * (1 / (1 + alpha * mu)) ** r
        * (alpha * mu / (1 + alpha * mu)) ** y
    )


def _negative_binomial_cdf(y, mu, alpha):
    """P(Y ≤ y) = I_p(r, y + 1) at an integer y, r = 1/α and p = 1/(1 + αμ) (the regularized
    incomplete beta; scipy nbinom(r, p).cdf)."""
    return ibeta(1 / alpha, y + 1, 1 / (1 + alpha * mu))


def _binomial_cdf(y, p, n):
    """P(Y ≤ y) = I_{1−p}(max(n − y, 0), y + 1) at an integer y ≥ 0: 1 from y = n on
    (I_x(0, b) = 1), so a truncation or a censoring bound above n is the support's end, not NaN."""
    return ibeta(Max(n - y, 0), y + 1, 1 - p)


def _gamma(y, mu, shape):
    return (shape / mu) ** shape * y ** (shape - 1) * exp(-shape * y / mu) / gamma(shape)


def _gamma_cdf(y, mu, shape):
    return gammainc(shape, shape * y / mu)


def _inverse_gaussian(y, mu, lam):
    return sqrt(lam / (2 * pi * y**3)) * exp(-lam * (y - mu) ** 2 / (2 * mu**2 * y))


def _inverse_gaussian_cdf(y, mu, lam):
    """F = Φ(√(λ/y)(y/μ − 1)) + e^{2λ/μ} Φ(−√(λ/y)(y/μ + 1)): two positive terms."""
    root = sqrt(lam / y)
    return ndtr(root * (y / mu - 1)) + exp(2 * lam / mu) * ndtr(-root * (y / mu + 1))


def _inverse_gaussian_sf(y, mu, lam):
    """S = Φ(−√(λ/y)(y/μ − 1)) − e^{2λ/μ} Φ(−√(λ/y)(y/μ + 1)): a log-diff-exp of their logs."""
    root = sqrt(lam / y)
    return ndtr(-root * (y / mu - 1)) - exp(2 * lam / mu) * ndtr(-root * (y / mu + 1))


#: The Tweedie family's c(y, φ): positive, with no closed form for 1 < power < 2.
_c = Function("c", positive=True)


def _tweedie(y, mu, power, phi):
    # exponential-dispersion form exp((yθ − κ(θ))/φ)·c(y, φ), θ = μ^(1−p)/(1−p), κ = μ^(2−p)/(2−p)
    theta = mu ** (1 - power) / (1 - power)
    kappa = mu ** (2 - power) / (2 - power)
    return exp((y * theta - kappa) / phi) * _c(y, phi)


def _weibull(y, lam, shape):
    return shape / lam * (y / lam) ** (shape - 1) * exp(-((y / lam) ** shape))


def _beta(y, a, b):
    return gamma(a + b) / (gamma(a) * gamma(b)) * y ** (a - 1) * (1 - y) ** (b - 1)


def _dirichlet(y, alpha):
    return (
        gamma(Sum(alpha[_j], (_j, 1, K)))
        / Product(gamma(alpha[k]), (k, 1, K))
        * Product(y[k] ** (alpha[k] - 1), (k, 1, K))
    )


def _von_mises(y, mu, kappa):
    return exp(kappa * cos(y - mu)) / (2 * pi * besseli(0, kappa))


def _gaussian_mixture(y, weights, mu, sigma):
    return Sum(weights[k] * _gaussian(y, mu[k], sigma[k]), (k, 1, K))


# ---------------------------------------------------------------------------- expectations
#
# 𝔼 of the statistics each family's information theory needs (derive.infotheory.STATISTICS names
# the kinds), each with the condition under which it exists.  A table receives the family's
# symbols in declaration order (observed, params, fixed).  The Bernoulli needs none: its
# expectations are exact sums over the support.  What a table leaves out is summed or integrated,
# with its existence decided from the integrand's tails.  tests/test_infotheory.py checks every
# entry against quadrature, on both sides of its condition.


def _gaussian_moments(y, mu, sigma):
    def abs_dev(m):  # 𝔼|y − m| = σ√(2/π)·e^{−d²/2σ²} + d·erf(d/σ√2), d = μ − m
        d = mu - m
        return sigma * sqrt(2 / pi) * exp(-(d**2) / (2 * sigma**2)) + d * erf(d / (sqrt(2) * sigma))

    return {"y": mu, "(y - m)^2": lambda m: sigma**2 + (mu - m) ** 2, "|y - m|": abs_dev}


def _laplace_moments(y, mu, b):
    return {
        "y": mu,
        "(y - m)^2": lambda m: 2 * b**2 + (mu - m) ** 2,
        "|y - m|": lambda m: Abs(mu - m) + b * exp(-Abs(mu - m) / b),
    }


def _categorical_moments(y, p):
    # Both declare y on the simplex so that the loss takes probability targets; as a distribution
    # their draws are one-hot (the constraint is a relaxation), which is what makes 𝔼[y_k] = p_k.
    return {"y_k": lambda k_: p[k_]}


def _exponential_moments(y, lam):
    def abs_dev(m):  # 𝔼|y − m| = m − 1/λ + 2e^{−λm}/λ for m > 0, 1/λ − m otherwise
        return Piecewise((m - 1 / lam + 2 * exp(-lam * m) / lam, m > 0), (1 / lam - m, True))

    return {
        "y": 1 / lam,
        "(y - m)^2": lambda m: 1 / lam**2 + (1 / lam - m) ** 2,
        "|y - m|": abs_dev,
        "y^s": lambda s: Moment(gamma(1 + s) / lam**s, s > -1),
        "log y": -EulerGamma - log(lam),
        "(log y - m)^2": lambda m: pi**2 / 6 + (-EulerGamma - log(lam) - m) ** 2,
    }


def _gamma_moments(y, mu, shape):
    log_mean = digamma(shape) - log(shape / mu)  # 𝔼 log y, rate shape/μ
    return {
        "y": mu,
        "(y - m)^2": lambda m: mu**2 / shape + (mu - m) ** 2,
        "y^s": lambda s: Moment((mu / shape) ** s * gamma(shape + s) / gamma(shape), s + shape > 0),
        "log y": log_mean,
        "(log y - m)^2": lambda m: polygamma(1, shape) + (log_mean - m) ** 2,
    }


def _beta_moments(y, a, b):
    mean, log_mean = a / (a + b), digamma(a) - digamma(a + b)
    return {
        "y": mean,
        "(y - m)^2": lambda m: a * b / ((a + b) ** 2 * (a + b + 1)) + (mean - m) ** 2,
        "y^s": lambda s: Moment(
            gamma(a + s) * gamma(a + b) / (gamma(a) * gamma(a + b + s)), s + a > 0
        ),
        "log y": log_mean,
        "log(1 - y)": digamma(b) - digamma(a + b),
        "(log y - m)^2": lambda m: polygamma(1, a) - polygamma(1, a + b) + (log_mean - m) ** 2,
    }


def _dirichlet_moments(y, alpha):
    total = Sum(alpha[_j], (_j, 1, K))
    return {
        "y_k": lambda k_: alpha[k_] / total,
        "log y_k": lambda k_: digamma(alpha[k_]) - digamma(total),
    }


def _lognormal_moments(y, mu, sigma):
    return {
        "y": exp(mu + sigma**2 / 2),
        "y^s": lambda s: exp(s * mu + s**2 * sigma**2 / 2),
        "log y": mu,
        "(log y - m)^2": lambda m: sigma**2 + (mu - m) ** 2,
    }


def _weibull_moments(y, lam, k_):
    return {
        "y": lam * gamma(1 + 1 / k_),
        "y^s": lambda s: Moment(lam**s * gamma(1 + s / k_), s + k_ > 0),
        "log y": log(lam) - EulerGamma / k_,
    }


def _cauchy_moments(y, mu, g0):
    # no moments; 𝔼 log((y − m)² + g²) = log((γ + g)² + (μ − m)²) (the Cauchy's Poisson kernel)
    return {
        "y": Moment.never(),
        "(y - m)^2": lambda m: Moment.never(),
        "|y - m|": lambda m: Moment.never(),
        "y^s": lambda s: Moment.never() if s.is_Integer and s >= 1 else None,
        "log(1 + ((y - m)/g)^2)": lambda m, g: log(((g0 + g) ** 2 + (mu - m) ** 2) / g**2),
    }


def _student_t_moments(y, mu, nu, s):
    # moments of order r exist for ν > r only; the entropy's term at the t's own location and scale
    return {
        "y": Moment(mu, nu > 1),
        "(y - m)^2": lambda m: Moment(s**2 * nu / (nu - 2) + (mu - m) ** 2, nu > 2),
        "log(1 + ((y - m)/g)^2)": Moment(
            digamma((nu + 1) / 2) - digamma(nu / 2), at=(mu, sqrt(nu) * s)
        ),
    }


def _logistic_moments(y, mu, s):
    return {"y": mu, "log(1 + exp(-(y - m)/g))": Moment(S.One, at=(mu, s))}


def _asymmetric_laplace_moments(y, mu, tau, sigma):
    # P(y > μ) = 1 − τ; beyond μ the tails are exponential with means σ/τ (right), σ/(1 − τ) (left)
    right, left = (1 - tau) * sigma / tau, tau * sigma / (1 - tau)
    return {"y": mu + right - left, "|y - m|": Moment(right + left, at=(mu,))}


def _von_mises_moments(y, mu, kappa):
    return {"cos(y - m)": lambda m: besseli(1, kappa) / besseli(0, kappa) * cos(mu - m)}


def _inverse_gaussian_moments(y, mu, lam):
    # every moment exists, negative ones too; these two have short closed forms
    return {"y": mu, "y^s": lambda s: {1: mu, -1: 1 / mu + 1 / lam}.get(s)}


def _mean(name):
    """The table of a family whose one declared expectation is its mean (a parameter expression)."""
    return lambda y, *params: {"y": name(*params)}


# ---------------------------------------------------------------------------- variables

Y = Var("y", "real", doc="target")
Y_POSITIVE = Var("y", "positive", doc="positive target")
MU = Var("mu", "real", doc="location (the prediction)")
MEAN = Var("mu", "positive", doc="mean (the prediction)")
BERNOULLI_Y = Var("y", "binary", doc="label in {0, 1}")
P = Var("p", "unit_interval", doc="probability of y = 1")
COUNT = Var("y", "count", doc="count")
LAMBDA = Var("lambda", "positive", doc="rate (mean)")
SIMPLEX_Y = Var("y", "simplex", vector=True, doc="one-hot or probability target")


def _fixed(name, constraint="positive", doc=""):
    return Var(name, constraint, doc=doc)


# ---------------------------------------------------------------------------- location-scale

register(
    Distribution(
        name="gaussian",
        title="Gaussian, fixed variance",
        standard="mse",
        observed=Y,
        params=(Var("mu", "real", doc="mean (the prediction)"),),
        fixed=(_fixed("sigma", doc="noise standard deviation"),),
        density=_gaussian,
        cdf=_gaussian_cdf,
        expectations=_gaussian_moments,
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
        standard="gaussian_nll",
        observed=Y,
        params=(
            Var("mu", "real", doc="mean (the prediction)"),
            _fixed("sigma", doc="standard deviation"),
        ),
        density=_gaussian,
        cdf=_gaussian_cdf,
        expectations=_gaussian_moments,
        notes="μ is the mean and σ a standard deviation; torch's gaussian_nll_loss takes the "
        "variance σ². "
        "A network should output log σ (or log σ²) and exponentiate.",
        references=("torch.nn.functional.gaussian_nll_loss",),
    )
)

register(
    Distribution(
        name="laplace",
        title="Laplace, fixed scale",
        standard="mae",
        observed=Y,
        params=(Var("mu", "real", doc="median (the prediction)"),),
        fixed=(_fixed("b", doc="scale"),),
        density=lambda y, mu, b: exp(-Abs(y - mu) / b) / (2 * b),
        cdf=_laplace_cdf,
        sf=_laplace_sf,
        expectations=_laplace_moments,
        notes="μ is the median (the minimiser of the MAE is the conditional median); b is the "
        "scale (variance 2b²).",
        references=(
            "torch.nn.functional.l1_loss",
            "sklearn.metrics.mean_absolute_error",
        ),
    )
)

register(
    Distribution(
        name="asymmetric-laplace",
        title="Asymmetric Laplace, fixed quantile level and scale",
        standard="pinball",
        observed=Y,
        params=(Var("mu", "real", doc="τ-quantile (the prediction)"),),
        fixed=(
            _fixed("tau", "unit_interval", doc="quantile level"),
            _fixed("sigma", doc="scale"),
        ),
        density=_asymmetric_laplace,
        cdf=_asymmetric_laplace_cdf,
        sf=_asymmetric_laplace_sf,
        expectations=_asymmetric_laplace_moments,
        notes="Quantile-regression form (Yu & Moyeed 2001): p = τ(1−τ)/σ · exp(−ρ_τ((y−μ)/σ)) with "
        "ρ_τ(r) = r(τ − 1[r<0]) = r(τ − ½) + |r|/2, so μ is the τ-quantile. scipy's "
        "laplace_asymmetric(κ) is the same law with κ = √(τ/(1−τ)) and scale σ/√(τ(1−τ)). "
        "The pinball loss is sklearn's PinballLoss(quantile=τ) and mean_pinball_loss(alpha=τ).",
        references=("sklearn.metrics.mean_pinball_loss", "sklearn PinballLoss"),
    )
)

register(
    Distribution(
        name="cauchy",
        title="Cauchy, fixed scale",
        standard="cauchy",
        observed=Y,
        params=(Var("mu", "real", doc="location (median)"),),
        fixed=(_fixed("gamma", doc="scale (half width at half maximum)"),),
        density=lambda y, mu, g: 1 / (pi * g * (1 + ((y - mu) / g) ** 2)),
        # F = ½ + atan((y − μ)/γ)/π loses every digit in the lower tail; atan2 keeps them
        cdf=lambda y, mu, g: atan2(g, mu - y) / pi,
        sf=lambda y, mu, g: atan2(g, y - mu) / pi,
        expectations=_cauchy_moments,
        notes="γ is the half width at half maximum; the Cauchy has no mean, μ is its median. "
        "The loss log(1 + (r/γ)²) is the ρ(z) = log(1 + z) of scipy.optimize.least_squares("
        "loss='cauchy', f_scale=γ), which multiplies it by γ².",
    )
)

register(
    Distribution(
        name="student-t",
        title="Student's t, fixed degrees of freedom and scale",
        standard="student_t",
        observed=Y,
        params=(Var("mu", "real", doc="location"),),
        fixed=(_fixed("nu", doc="degrees of freedom"), _fixed("s", doc="scale")),
        density=_student_t,
        cdf=lambda y, mu, nu, s: stdtr(nu, (y - mu) / s),
        expectations=_student_t_moments,
        notes="s is a scale, not a standard deviation (the variance is s²ν/(ν−2) for ν > 2); "
        "ν → ∞ gives the Gaussian, ν = 1 the Cauchy. As torch.distributions.StudentT(df=ν, "
        "loc=μ, scale=s).",
        references=("torch.distributions.StudentT",),
    )
)

register(
    Distribution(
        name="logistic",
        title="Logistic, fixed scale",
        standard="logcosh",
        observed=Y,
        params=(Var("mu", "real", doc="location (mean)"),),
        fixed=(_fixed("s", doc="scale"),),
        density=lambda y, mu, s: exp(-(y - mu) / s) / (s * (1 + exp(-(y - mu) / s)) ** 2),
        cdf=lambda y, mu, s: sigmoid((y - mu) / s),
        expectations=_logistic_moments,
        notes="s is the scale (variance π²s²/3). With r = y − μ the NLL is "
        "r/s + 2·log(1 + e^(−r/s)) + log s = 2·log cosh(r/(2s)) + log 4s: the log-cosh loss, "
        "evaluated stably as |x| + softplus(−2|x|) − log 2. At s = ½ it is Keras' log_cosh.",
        references=("tf.keras.losses.log_cosh (s = 1/2)",),
    )
)

register(
    Distribution(
        name="huber",
        title="Huber's least-favourable density, fixed threshold",
        standard="huber",
        observed=Y,
        params=(Var("mu", "real", doc="location"),),
        fixed=(_fixed("k", doc="threshold between the quadratic and linear parts"),),
        density=lambda y, mu, k_: exp(-huber(y - mu, k_)) / huber_normaliser(k_),
        notes="Huber (1964): the density exp(−ρ_k(y−μ))/Z(k) whose NLL is the Huber loss "
        "ρ_k(r) = r²/2 for |r| ≤ k, k(|r| − k/2) beyond; Gaussian in the centre, Laplace in the "
        "tails. Z(k) = √(2π)·erf(k/√2) + 2e^(−k²/2)/k, integrated piecewise by SymPy. k is torch "
        "huber_loss's delta and sklearn HuberLoss's delta (there a quantile of the residuals).",
        references=("torch.nn.functional.huber_loss", "sklearn HuberLoss"),
    )
)

register(
    Distribution(
        name="lognormal",
        title="Log-normal, fixed log-scale",
        standard="mse_log",
        observed=Y_POSITIVE,
        params=(Var("mu", "real", doc="mean of log y (log of the median)"),),
        fixed=(_fixed("sigma", doc="standard deviation of log y"),),
        density=lambda y, mu, sigma: _gaussian(log(y), mu, sigma) / y,
        cdf=lambda y, mu, sigma: _gaussian_cdf(log(y), mu, sigma),
        expectations=_lognormal_moments,
        notes="μ and σ are the mean and standard deviation of log y: the median is e^μ, the mean "
        "e^(μ+σ²/2). The loss is the squared log error (log y − μ)² with μ = log ŷ; sklearn's "
        "mean_squared_log_error applies it to 1 + y and 1 + ŷ.",
        references=("sklearn.metrics.mean_squared_log_error",),
    )
)

# ---------------------------------------------------------------------------- discrete

register(
    Distribution(
        name="bernoulli",
        title="Bernoulli, probability output",
        standard="bce",
        observed=BERNOULLI_Y,
        params=(P,),
        density=_bernoulli,
        notes="p is a probability; prefer bernoulli-logit, whose loss is stable for any logit.",
        references=(
            "torch.nn.functional.binary_cross_entropy",
            "sklearn.metrics.log_loss",
        ),
        natural_link="logit",
    )
)

register(
    Distribution(
        name="bernoulli-logit",
        title="Bernoulli, logit output",
        standard="bce_logits",
        observed=BERNOULLI_Y,
        params=(P,),
        links=(Link("p", Var("z", "real", doc="logit"), sigmoid, "sigmoid"),),
        density=_bernoulli,
        notes="z is the logit, p = σ(z); the loss softplus(z) − yz is finite for every z.",
        references=("torch.nn.functional.binary_cross_entropy_with_logits",),
    )
)

_N = Var("n", "positive_integer", doc="number of trials")

register(
    Distribution(
        name="binomial",
        title="Binomial, probability output, fixed number of trials",
        standard="binomial",
        observed=Var("y", "count", doc="successes, 0 ≤ y ≤ n"),
        params=(Var("p", "unit_interval", doc="success probability"),),
        fixed=(_N,),
        density=lambda y, p, n: binomial(n, y) * p**y * (1 - p) ** (n - y),
        cdf=_binomial_cdf,
        rules=(BETA_SURVIVAL,),
        expectations=_mean(lambda p, n: n * p),
        support=(0, _N.symbol()),
        notes="y counts successes out of n trials with success probability p (scipy binom(n, p), "
        "torch Binomial(total_count=n, probs=p)); the mean is np. n = 1 is the Bernoulli.",
        references=("torch.distributions.Binomial",),
        natural_link="logit",
    )
)

register(
    Distribution(
        name="categorical",
        title="Categorical, probability output",
        standard="cross_entropy",
        observed=SIMPLEX_Y,
        params=(Var("p", "simplex", vector=True, doc="class probabilities"),),
        density=_categorical,
        expectations=_categorical_moments,
        notes="p are class probabilities over the class axis (last), Σₖ pₖ = 1; y is one-hot or "
        "a probability vector. torch's cross_entropy takes logits: pass log p (or use "
        "nll_loss(log p, class index)); prefer categorical-logit.",
        references=("torch.nn.functional.nll_loss", "torch.nn.functional.cross_entropy"),
    )
)

register(
    Distribution(
        name="categorical-logit",
        title="Categorical, logit (softmax) output",
        standard="softmax_cross_entropy",
        observed=SIMPLEX_Y,
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
        expectations=_categorical_moments,
        notes="z are logits over the class axis (last), p = softmax(z); y is one-hot or any "
        "probability vector (Σₖ yₖ = 1), as in torch's cross_entropy with probability targets.",
        references=("torch.nn.functional.cross_entropy",),
    )
)

register(
    Distribution(
        name="poisson",
        title="Poisson, rate output",
        standard="poisson",
        observed=COUNT,
        params=(LAMBDA,),
        density=_poisson,
        cdf=_poisson_cdf,
        rules=(GAMMA_SURVIVAL,),
        expectations=_mean(lambda lam: lam),
        notes="λ is the rate (the mean); prefer poisson-log, which learns η = log λ.",
        references=("torch.nn.functional.poisson_nll_loss(log_input=False)",),
        natural_link="log",
    )
)

register(
    Distribution(
        name="poisson-log",
        title="Poisson, log-rate output",
        standard="poisson_log",
        observed=COUNT,
        params=(LAMBDA,),
        links=(Link("lambda", Var("eta", "real", doc="log-rate"), exp, "exp"),),
        density=_poisson,
        cdf=_poisson_cdf,
        rules=(GAMMA_SURVIVAL,),
        expectations=_mean(lambda lam: lam),
        notes="η = log λ is the log-rate, as in a GLM with log link and xgboost's count:poisson.",
        references=(
            "torch.nn.functional.poisson_nll_loss(log_input=True)",
            "sklearn HalfPoissonLoss",
        ),
    )
)

register(
    Distribution(
        name="negative-binomial",
        title="Negative binomial (NB2), mean output, fixed dispersion",
        standard="negative_binomial",
        observed=COUNT,
        params=(MEAN,),
        fixed=(_fixed("alpha", doc="dispersion"),),
        density=_negative_binomial,
        cdf=_negative_binomial_cdf,
        rules=(BETA_SURVIVAL,),
        expectations=_mean(lambda mu, alpha: mu),
        notes="NB2 mean/dispersion form: mean μ, variance μ + αμ² (α → 0 is the Poisson). "
        "In counts/probabilities form (scipy nbinom(n, p), torch NegativeBinomial(total_count, "
        "probs)) n = 1/α and p = 1/(1 + αμ) is scipy's success probability; torch's probs is "
        "the complement αμ/(1 + αμ). statsmodels' NegativeBinomial(loglike_method='nb2') uses α.",
        references=("statsmodels NegativeBinomial (nb2)",),
        natural_link="log",
    )
)

# ---------------------------------------------------------------------------- positive

register(
    Distribution(
        name="gamma",
        title="Gamma, mean output, fixed shape",
        standard="gamma_deviance",
        observed=Y_POSITIVE,
        params=(MEAN,),
        fixed=(_fixed("shape", doc="shape (1/dispersion)"),),
        density=_gamma,
        cdf=_gamma_cdf,
        rules=(GAMMA_SURVIVAL,),
        expectations=_gamma_moments,
        notes="Mean/shape form: mean μ, shape k (variance μ²/k, dispersion φ = 1/k); scipy "
        "gamma(a=k, scale=μ/k), torch Gamma(concentration=k, rate=k/μ). The loss is the gamma "
        "deviance 2(log(μ/y) + y/μ − 1) of sklearn's mean_gamma_deviance, with a = k/2; "
        "sklearn's HalfGammaLoss is half of it, less a term in y, on the raw output log μ.",
        references=("sklearn.metrics.mean_gamma_deviance", "sklearn HalfGammaLoss"),
        natural_link="log",
    )
)

register(
    Distribution(
        name="exponential",
        title="Exponential, rate output",
        standard="exponential",
        observed=Y_POSITIVE,
        params=(Var("lambda", "positive", doc="rate (1/mean)"),),
        density=lambda y, lam: lam * exp(-lam * y),
        cdf=lambda y, lam: 1 - exp(-lam * y),
        expectations=_exponential_moments,
        notes="λ is the rate, the reciprocal of the mean (scipy expon(scale=1/λ), torch "
        "Exponential(rate=λ)). The gamma with shape 1.",
        references=("torch.distributions.Exponential",),
        natural_link="log",
    )
)

register(
    Distribution(
        name="inverse-gaussian",
        title="Inverse Gaussian, mean output, fixed shape",
        standard="inverse_gaussian",
        observed=Y_POSITIVE,
        params=(MEAN,),
        fixed=(_fixed("lambda", doc="shape"),),
        density=_inverse_gaussian,
        cdf=_inverse_gaussian_cdf,
        sf=_inverse_gaussian_sf,
        rules=(composite.LOG_SUM,),
        expectations=_inverse_gaussian_moments,
        notes="Mean μ and shape λ (variance μ³/λ); scipy invgauss(mu=μ/λ, scale=λ). The loss "
        "(y−μ)²/(yμ²) is the unit deviance, sklearn's mean_tweedie_deviance(power=3); a = λ/2.",
        references=("sklearn.metrics.mean_tweedie_deviance(power=3)",),
        natural_link="log",
    )
)

register(
    Distribution(
        name="tweedie",
        title="Tweedie compound Poisson–gamma, mean output, 1 < power < 2",
        standard="tweedie",
        observed=Var("y", "nonnegative", doc="nonnegative target (exact zeros allowed)"),
        params=(MEAN,),
        fixed=(
            _fixed("power", "tweedie_power", doc="variance power p"),
            _fixed("phi", doc="dispersion"),
        ),
        density=_tweedie,
        notes="Exponential-dispersion form: variance φμ^p with 1 < p < 2, a point mass at y = 0 "
        "and a continuous part on y > 0. c(y, φ) has no closed form (Dunn & Smyth evaluate it by "
        "series); it does not involve μ, so the pipeline drops it and the loss is exact: the "
        "Tweedie deviance of sklearn's mean_tweedie_deviance(power=p), a = 1/(2φ); sklearn's "
        "HalfTweedieLoss(power=p) is half of it, less a term in y, on the raw output log μ. The "
        "full NLL and its normalisation are not available in closed form.",
        references=(
            "sklearn.metrics.mean_tweedie_deviance",
            "sklearn HalfTweedieLoss",
        ),
        unavailable={
            "normalisation": "c(y, φ) has no closed form: the density cannot be integrated",
            "nll": "the full NLL contains −log c(y, φ), which has no closed form",
            "scipy": "scipy.stats has no Tweedie distribution",
        },
        natural_link="log",
    )
)

register(
    Distribution(
        name="weibull",
        title="Weibull, scale output, fixed shape",
        standard="weibull",
        observed=Y_POSITIVE,
        params=(Var("lambda", "positive", doc="scale"),),
        fixed=(_fixed("k", doc="shape"),),
        density=_weibull,
        cdf=lambda y, lam, shape: 1 - exp(-((y / lam) ** shape)),
        expectations=_weibull_moments,
        notes="λ is the scale (the 63rd percentile), k the shape; scipy weibull_min(c=k, "
        "scale=λ), torch Weibull(scale=λ, concentration=k). k = 1 is the exponential with rate "
        "1/λ.",
        references=("torch.distributions.Weibull",),
        natural_link="log",
    )
)

register(
    Distribution(
        name="log-logistic",
        title="Log-logistic (Fisk), scale output, fixed shape",
        standard="log_logistic",
        observed=Y_POSITIVE,
        params=(Var("alpha", "positive", doc="scale (the median)"),),
        fixed=(_fixed("beta", doc="shape"),),
        density=lambda y, a, b: (b / a) * (y / a) ** (b - 1) / (1 + (y / a) ** b) ** 2,
        cdf=lambda y, a, b: sigmoid(b * (log(y) - log(a))),
        natural_link="log",
        notes="α is the scale (the median), β the shape; log y is logistic with location log α "
        "and scale 1/β. scipy fisk(c=β, scale=α); lifelines' LogLogisticAFTFitter and xgboost's "
        "survival:aft with the logistic distribution model log α (aft_loss_distribution_scale "
        "= 1/β).",
        references=("scipy.stats.fisk", "lifelines LogLogisticAFTFitter"),
        # the tail ∝ y^(−β−1) is very heavy for the small shapes the tests draw (β ≈ 0.2)
        tolerances={"normalisation": 1e-6},
    )
)

register(
    Distribution(
        name="beta",
        title="Beta, learned concentrations",
        standard="beta_nll",
        observed=Var("y", "unit_interval", doc="proportion in (0, 1)"),
        params=(
            Var("a", "positive", doc="concentration α"),
            Var("b", "positive", doc="concentration β"),
        ),
        density=_beta,
        expectations=_beta_moments,
        notes="a, b are the two concentrations (scipy beta(a, b), torch Beta(concentration1=a, "
        "concentration0=b)); the mean is a/(a+b). For a mean/precision model use a = mφ, "
        "b = (1−m)φ.",
        references=("torch.distributions.Beta",),
    )
)

register(
    Distribution(
        name="dirichlet",
        title="Dirichlet, learned concentrations",
        standard="dirichlet_nll",
        observed=Var("y", "open_simplex", vector=True, doc="probability vector"),
        params=(Var("alpha", "positive", vector=True, doc="concentrations"),),
        density=_dirichlet,
        expectations=_dirichlet_moments,
        notes="α are concentrations over the class axis (last), y a probability vector with "
        "positive components (scipy dirichlet(α), torch Dirichlet(concentration=α)); the mean "
        "is α/Σα.",
        references=("torch.distributions.Dirichlet",),
    )
)

register(
    Distribution(
        name="von-mises",
        title="von Mises (circular), fixed concentration",
        standard="cosine",
        observed=Var("y", "angle", doc="angle in radians"),
        params=(Var("mu", "real", doc="mean direction"),),
        fixed=(_fixed("kappa", doc="concentration"),),
        density=_von_mises,
        expectations=_von_mises_moments,
        support=(-pi, pi),
        notes="y and μ are angles in radians (any period-2π representative); κ is the "
        "concentration (1/κ ≈ the variance for large κ). scipy vonmises(κ, loc=μ), torch "
        "VonMises(loc=μ, concentration=κ). The loss 1 − cos(y − μ) is the cosine loss, a = κ.",
        references=("torch.distributions.VonMises",),
    )
)

register(
    Distribution(
        name="gaussian-mixture",
        title="Gaussian mixture (mixture density network)",
        standard="mdn",
        observed=Y,
        params=(
            Var("pi", "simplex", vector=True, doc="mixture weights"),
            Var("mu", "real", vector=True, doc="component means"),
            Var("sigma", "positive", vector=True, doc="component standard deviations"),
        ),
        density=_gaussian_mixture,
        notes="π are mixture weights on the simplex (a network outputs softmax logits), μ the "
        "component means, σ the component standard deviations (output log σ and exponentiate); "
        "the class axis (last) indexes the components. As torch MixtureSameFamily("
        "Categorical(probs=π), Normal(μ, σ)); the loss is −logsumexp over the components.",
        references=("torch.distributions.MixtureSameFamily",),
    )
)

# ---------------------------------------------------------------------------- ordinal outcomes
#
# K cutpoints on the class axis, K + 1 ordered classes y ∈ {0, …, K}: a latent score η + ε is cut
# at c_1 < … < c_K (composite.py's ordinal section); the raw cutpoints r give c_k =
# r_1 + Σ_{j=2}^{k} softplus(r_j), increasing for every r.

_ORDINAL_Y = Var("y", "ordinal", doc="class index, 0..K (K cutpoints, K + 1 classes)")


def _ordinal(name, title, F, link_text, scipy_name, standard):
    register(
        Distribution(
            name=name,
            title=title,
            standard=standard,
            observed=_ORDINAL_Y,
            params=(
                Var("eta", "real", doc="latent score (the prediction)"),
                Var("c", "real", vector=True, doc="cutpoints, increasing"),
            ),
            links=(
                Link(
                    "c",
                    Var("theta", "real", vector=True, doc="raw cutpoints"),
                    composite.cutpoints,
                    "ordered",
                ),
            ),
            density=composite.ordinal_probability(F),
            support=(0, K),
            rules=(composite.LOG_DIFFERENCE,),
            guards=composite.ordinal_guards(_ORDINAL_Y.symbol()),
            notes=f"y ∈ {{0, …, K}} is the class index of K + 1 ordered classes (0-based, as "
            f"torch's class targets); η is the latent score and c the K increasing cutpoints "
            f"on the class axis (last): P(y) = F(c_{{y+1}} − η) − F(c_y − η) with c_0 = −∞, "
            f"c_{{K+1}} = +∞ and F the {link_text} CDF. The model outputs theta (θ, the raw "
            f"cutpoints): c_1 = θ_1, c_k = c_{{k−1}} + softplus(θ_k), ordered for every θ. "
            f"statsmodels OrderedModel(distr={scipy_name!r}) takes the same η = x·β and thresholds "
            f"c_1, c_1 + exp(t_2), …: θ_k = log(expm1(exp(t_k))).",
            references=(f"statsmodels OrderedModel(distr={scipy_name!r})",),
            unavailable={
                "infotheory": "the entropy and KL of an ordinal law are finite sums over its "
                "classes, not implemented for a symbolic number of cutpoints",
            },
        )
    )


_ordinal(
    "ordinal-logit",
    "Ordinal regression, cumulative logit",
    sigmoid,
    "logistic",
    "logit",
    "ordinal_logit",
)
_ordinal(
    "ordinal-probit",
    "Ordinal regression, cumulative probit",
    ndtr,
    "standard normal",
    "probit",
    "ordinal_probit",
)
