"""Standard losses and recognition.

A derived loss *is* the standard loss L when ∂θ(loss − a·L) ≡ 0 for every learned θ with a positive
constant a: same minimisers, same gradient field up to scale.  That is proven symbolically and
witnessed numerically at random points; when no registered loss passes both, the answer is None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import permutations

import mpmath
import numpy as np
import sympy as sp

from .composite import ordinal_loss
from .functions import (
    elementary,
    huber,
    log1p,
    logcosh,
    loggamma,
    logsumexp,
    ndtr,
    sigmoid,
    softplus,
    stabilise,
    xlogy,
)
from .numeric import NUMERIC_ERRORS, compiled, evaluate, numeric_extrema
from .spec import CLASS_INDEX as k
from .spec import N_CLASSES as K
from .spec import Var
from .symbolic import canon, identically_zero


@dataclass(frozen=True)
class Standard:
    """A named loss: ``form(y, *learned, *extras)`` in its reference scale and sign."""

    id: str
    title: str
    form: Callable[..., sp.Expr]
    n_learned: int = 1
    n_extra: int = 0
    vector: bool = False
    reference: str = ""
    #: given by cases (a Piecewise in the observed value): only a loss by cases can be one
    cases: bool = False


STANDARDS: dict[str, Standard] = {}


def register(std: Standard) -> Standard:
    STANDARDS[std.id] = std
    return std


for _std in (
    Standard(
        "mse",
        "mean squared error",
        lambda y, mu: (y - mu) ** 2,
        reference="torch mse_loss",
    ),
    Standard(
        "gaussian_nll",
        "Gaussian negative log-likelihood",
        lambda y, mu, sigma: (sp.log(sigma**2) + (y - mu) ** 2 / sigma**2) / 2,
        n_learned=2,
        reference="torch gaussian_nll_loss (var = σ²)",
    ),
    Standard(
        "mae",
        "mean absolute error",
        lambda y, mu: sp.Abs(y - mu),
        reference="torch l1_loss",
    ),
    Standard(
        "bce",
        "binary cross-entropy",
        lambda y, p: -(xlogy(y, p) + xlogy(1 - y, 1 - p)),
        reference="torch binary_cross_entropy",
    ),
    Standard(
        "bce_logits",
        "binary cross-entropy with logits",
        lambda y, z: softplus(z) - y * z,
        reference="torch binary_cross_entropy_with_logits",
    ),
    Standard(
        "softmax_cross_entropy",
        "softmax cross-entropy",
        lambda y, z: logsumexp(z[k], k, K) - sp.Sum(y[k] * z[k], (k, 1, K)),
        vector=True,
        reference="torch cross_entropy (probability targets)",
    ),
    Standard(
        "poisson",
        "Poisson loss",
        lambda y, lam: lam - y * sp.log(lam),
        reference="torch poisson_nll_loss(log_input=False)",
    ),
    Standard(
        "poisson_log",
        "Poisson loss on the log-rate",
        lambda y, eta: sp.exp(eta) - y * eta,
        reference="torch poisson_nll_loss(log_input=True)",
    ),
    Standard(
        "pinball",
        "pinball (quantile) loss",
        # ρ_τ(r) = max(τr, (τ − 1)r) = r(τ − ½) + |r|/2 with r = y − μ
        lambda y, mu, tau: (y - mu) * (tau - sp.S.Half) + sp.Abs(y - mu) / 2,
        n_extra=1,
        reference="sklearn PinballLoss(quantile=τ), mean_pinball_loss(alpha=τ)",
    ),
    Standard(
        "cauchy",
        "Cauchy (Lorentzian) loss",
        lambda y, mu, g: log1p(((y - mu) / g) ** 2),
        n_extra=1,
        reference="scipy.optimize.least_squares loss='cauchy': ρ(z) = log(1 + z), z = (r/γ)²",
    ),
    Standard(
        "student_t",
        "Student-t loss",
        lambda y, mu, nu, s: (nu + 1) / 2 * log1p(((y - mu) / s) ** 2 / nu),
        n_extra=2,
        reference="−log_prob of torch.distributions.StudentT less its constant",
    ),
    Standard(
        "logcosh",
        "log-cosh loss",
        lambda y, mu, s: logcosh((y - mu) / (2 * s)),
        n_extra=1,
        reference="tf.keras.losses.log_cosh at s = 1/2",
    ),
    Standard(
        "huber",
        "Huber loss",
        lambda y, mu, k: huber(y - mu, k),
        n_extra=1,
        reference="torch huber_loss(delta=k), sklearn HuberLoss(delta=k)",
    ),
    Standard(
        "mse_log",
        "mean squared error of log y",
        lambda y, mu: (sp.log(y) - mu) ** 2,
        reference="the MSE of log y against μ = log ŷ; not sklearn's mean_squared_log_error, "
        "which applies it to log(1 + y) and log(1 + ŷ)",
    ),
    Standard(
        "binomial",
        "binomial loss",
        lambda y, p, n: -(xlogy(y, p) + xlogy(n - y, 1 - p)),
        n_extra=1,
        reference="−log_prob of torch.distributions.Binomial less log C(n, y)",
    ),
    Standard(
        "negative_binomial",
        "negative binomial (NB2) loss",
        lambda y, mu, alpha: (y + 1 / alpha) * log1p(alpha * mu) - y * sp.log(alpha * mu),
        n_extra=1,
        reference="statsmodels NegativeBinomial nb2, terms in μ",
    ),
    Standard(
        "gamma_deviance",
        "gamma deviance",
        lambda y, mu: 2 * (sp.log(mu) - sp.log(y) + y / mu - 1),
        reference="sklearn mean_gamma_deviance; 2 × (HalfGammaLoss + its constant)",
    ),
    Standard(
        "exponential",
        "exponential loss",
        lambda y, lam: lam * y - sp.log(lam),
        reference="−log_prob of torch.distributions.Exponential",
    ),
    Standard(
        "inverse_gaussian",
        "inverse Gaussian deviance",
        lambda y, mu: (y - mu) ** 2 / (y * mu**2),
        reference="sklearn mean_tweedie_deviance(power=3)",
    ),
    Standard(
        "tweedie",
        "Tweedie deviance",
        lambda y, mu, p: (
            2
            * (
                y ** (2 - p) / ((1 - p) * (2 - p))
                - y * mu ** (1 - p) / (1 - p)
                + mu ** (2 - p) / (2 - p)
            )
        ),
        n_extra=1,
        reference="sklearn mean_tweedie_deviance(power=p); 2 × (HalfTweedieLoss + its constant)",
    ),
    Standard(
        "weibull",
        "Weibull loss",
        lambda y, lam, k: (y / lam) ** k + k * sp.log(lam),
        n_extra=1,
        reference="−log_prob of torch.distributions.Weibull, terms in λ",
    ),
    Standard(
        "log_logistic",
        "log-logistic loss",
        lambda y, alpha, beta: 2 * log1p((y / alpha) ** beta) + beta * sp.log(alpha),
        n_extra=1,
        reference="−log_prob of scipy.stats.fisk(c=β, scale=α), terms in α",
    ),
    Standard(
        "beta_nll",
        "beta negative log-likelihood",
        lambda y, a, b: (
            loggamma(a)
            + loggamma(b)
            - loggamma(a + b)
            - (a - 1) * sp.log(y)
            - (b - 1) * sp.log(1 - y)
        ),
        n_learned=2,
        reference="−log_prob of torch.distributions.Beta",
    ),
    Standard(
        "cosine",
        "cosine loss",
        lambda y, mu: 1 - sp.cos(y - mu),
        reference="1 − cos of the angle between the target and predicted directions",
    ),
    Standard(
        "cross_entropy",
        "cross-entropy",
        lambda y, p: -sp.Sum(y[k] * sp.log(p[k]), (k, 1, K)),
        vector=True,
        reference="torch nll_loss(log p); cross_entropy(log p, y) with probability targets",
    ),
    Standard(
        "dirichlet_nll",
        "Dirichlet negative log-likelihood",
        lambda y, alpha: (
            sp.Sum(loggamma(alpha[k]), (k, 1, K))
            - loggamma(sp.Sum(alpha[k], (k, 1, K)))
            - sp.Sum((alpha[k] - 1) * sp.log(y[k]), (k, 1, K))
        ),
        vector=True,
        reference="−log_prob of torch.distributions.Dirichlet",
    ),
    Standard(
        "mdn",
        "mixture density network loss",
        lambda y, w, mu, sigma: (
            -logsumexp(
                sp.log(w[k])
                - sp.log(sigma[k])
                - sp.log(2 * sp.pi) / 2
                - (y - mu[k]) ** 2 / (2 * sigma[k] ** 2),
                k,
                K,
            )
        ),
        n_learned=3,
        vector=True,
        reference="−log_prob of torch MixtureSameFamily(Categorical(π), Normal(μ, σ))",
    ),
    Standard(
        "ordinal_logit",
        "cumulative-logit (ordinal) loss",
        lambda y, eta, raw: ordinal_loss(sigmoid, y, eta, raw),
        n_learned=2,
        vector=True,
        cases=True,
        reference="−log-likelihood of statsmodels OrderedModel(distr='logit')",
    ),
    Standard(
        "ordinal_probit",
        "cumulative-probit (ordinal) loss",
        lambda y, eta, raw: ordinal_loss(ndtr, y, eta, raw),
        n_learned=2,
        vector=True,
        cases=True,
        reference="−log-likelihood of statsmodels OrderedModel(distr='probit')",
    ),
):
    register(_std)


@dataclass(frozen=True)
class Match:
    standard: Standard
    scale: sp.Expr  # a > 0 with kept == a * form + (terms free of the learned parameters)
    form: sp.Expr


def content(expr, exclude: Sequence[sp.Basic]) -> sp.Expr:
    """The positive factor, free of ``exclude``, common to every term of ``expr`` that involves
    ``exclude`` (terms without them are constants: they do not bear on a scale)."""
    terms = [t for t in sp.Add.make_args(sp.expand_mul(expr)) if t.has(*exclude)] or [sp.S.One]
    common = None
    for term in terms:
        coeff, rest = term.as_coeff_Mul()
        factors = {f for f in sp.Mul.make_args(rest) if not f.has(*exclude)}
        factors.add(abs(coeff))
        common = factors if common is None else _common(common, factors)
    a = sp.Mul(*(common or {sp.S.One}))
    return a if a.is_positive else sp.S.One


def _common(left: set, right: set) -> set:
    out = {f for f in left & right if not f.is_Number}
    nums = [f for f in left if f.is_Number], [f for f in right if f.is_Number]
    if nums[0] and nums[1] and nums[0][0].is_Rational and nums[1][0].is_Rational:
        out.add(sp.gcd(nums[0][0], nums[1][0]))
    return out


def _scale_candidates(kept, form, learned, exclude):
    if kept == form:
        yield sp.S.One
    scalar = [t for t in learned if isinstance(t, sp.Symbol)]
    if scalar:
        theta = scalar[0]
        ratio = canon(sp.diff(kept, theta) / sp.diff(form, theta))
        yield ratio
    yield content(kept, exclude) / content(form, exclude)


def proven_constant(diff_expr, learned) -> bool:
    """True when ``diff_expr`` is symbolically free of every learned parameter."""
    reduced = canon(diff_expr)
    if not reduced.has(*learned):
        return True
    for theta in learned:
        if isinstance(theta, sp.IndexedBase):
            return False  # for vector parameters only a canonical form free of them is accepted
        if not identically_zero(sp.diff(diff_expr, theta)):
            return False
    return True


def witness_constant(
    diff_expr, variables: dict[sp.Basic, Var], learned, seed: int = 0, dps: int = 30
) -> bool:
    """Numeric witness: the difference takes the same value at random learned parameters."""
    rng = np.random.default_rng(seed)
    for _ in range(3):
        shared = {s: v.draw(rng) for s, v in variables.items() if s not in learned}
        values = [
            evaluate(
                diff_expr,
                {**shared, **{s: variables[s].draw(rng) for s in learned}},
                dps,
            )
            for _ in range(2)
        ]
        if abs(values[0] - values[1]) > sp.Float(10) ** (-(dps - 10)) * (1 + abs(values[0])):
            return False
    return True


class _Probe:
    """Float values of expressions at a few random points: a cheap necessary condition for
    ``kept = a·form + c`` (a > 0, a and c free of θ) before any symbolic work.

    ``count`` data points (two unless told) share the fixed parameters; at each, three draws of
    the learned parameters.  The differences kept(θᵢ) − kept(θ₁) must be one positive multiple
    of form(θᵢ) − form(θ₁), the same multiple at every data point."""

    def __init__(
        self, kept, observed, variables, learned, classes: int = 3, seed: int = 1, count: int = 2
    ):
        rng = np.random.default_rng(seed)
        fixed = {
            s: v.draw(rng, classes)
            for s, v in variables.items()
            if s != observed and s not in learned
        }
        self.points = []
        for _ in range(count):
            data = {**fixed, observed: variables[observed].draw(rng, classes)}
            self.points.append(
                [
                    {**data, **{s: variables[s].draw(rng, classes) for s in learned}}
                    for _ in range(3)
                ]
            )
        self.classes = classes
        self._kept_expr = kept

    @cached_property
    def kept(self):
        return self.values(self._kept_expr)

    def values(self, expr):
        """expr at every point (nested like ``points``), or None where it is not a real number."""
        expr = numeric_extrema(elementary(expr)).subs(K, self.classes).doit()
        scalars = {s for s in self.points[0][0] if isinstance(s, sp.Symbol)}
        args = [*(expr.free_symbols & scalars), *expr.atoms(sp.Indexed)]
        try:
            f = compiled(expr)
            out = []
            for data_point in self.points:
                row = []
                for point in data_point:
                    value = f({a: mpmath.mpf(float(_lookup(point, a))) for a in args})
                    if not isinstance(value, mpmath.mpf | float | int) or not mpmath.isfinite(
                        value
                    ):
                        return None
                    row.append(float(value))
                out.append(row)
        except (*NUMERIC_ERRORS, KeyError):
            return self._evaluated(expr)
        return out

    def _evaluated(self, expr):
        """expr at every point through evalf (slower than the compiled tree, which cannot take
        a sum whose limit is data, such as the ordinal cutpoint Σ_{j ≤ y}), or None."""
        try:
            out = [[float(evaluate(expr, point, 20)) for point in row] for row in self.points]
        except (TypeError, ValueError, ZeroDivisionError, KeyError, OverflowError):
            return None
        return out if all(np.isfinite(v) for row in out for v in row) else None

    def matches(self, form) -> bool:
        theirs = self.values(form)
        if self.kept is None or theirs is None:
            return False
        ratios = []
        for ours, other in zip(self.kept, theirs, strict=True):
            for i in (1, 2):
                d_ours, d_other = ours[i] - ours[0], other[i] - other[0]
                if abs(d_other) < 1e-12 * (1 + abs(other[0])):
                    return False  # the form does not move with θ here: no scale to compare
                ratios.append(d_ours / d_other)
        return ratios[0] > 0 and all(
            abs(r - ratios[0]) <= 1e-6 * abs(ratios[0]) for r in ratios[1:]
        )


def _lookup(point, arg):
    if isinstance(arg, sp.Indexed):
        return point[arg.base][int(arg.indices[0]) - 1]
    return point[arg]


def recognise(kept, observed, learned, fixed, variables, cases=False) -> Match | None:
    """The registered standard loss that ``kept`` is, up to a positive scale, or None; a loss
    given by cases (``cases``) is compared with the standards given by cases only."""
    vector = any(isinstance(t, sp.IndexedBase) for t in (observed, *learned))
    candidates = [
        std
        for std in STANDARDS.values()
        if std.n_learned == len(learned) and std.vector == vector and std.cases == cases
    ]
    if not candidates:
        return None
    exclude = [observed, *learned, k]
    probe = _Probe(kept, observed, variables, learned)
    # where the few points agree, more before any symbolic work: a loss equal to a standard one
    # away from a kink (a binned Laplace is the MAE plus a constant for |y − μ| > w/2) passes
    # the first and fails here, where the symbolic proof would take a minute to fail
    wide = _Probe(kept, observed, variables, learned, seed=2, count=8)
    for std in candidates:
        for extras in permutations(fixed, std.n_extra):
            # the reference form through the same rewrite pass as the derivation (so, e.g., a
            # constant inside a logsumexp is pulled out of both alike)
            form = stabilise(std.form(observed, *learned, *extras))[0]
            if form != kept and not (probe.matches(form) and wide.matches(form)):
                continue
            for a in _scale_candidates(kept, form, learned, exclude):
                if a.has(*exclude) or not a.is_positive:
                    continue
                rest = kept - a * form
                # the cheap numeric witness first: it rules out most candidates before any proof
                if witness_constant(rest, variables, learned) and proven_constant(rest, learned):
                    return Match(std, a, form)
    return None


# ---------------------------------------------------------------------------- penalties
#
# A regulariser is −log p(w) of a prior on a weight, less its normaliser: recognised like a loss,
# as λ·P(w) + (terms free of w) with λ > 0 free of w, for each registered form P.


@dataclass(frozen=True)
class Penalty:
    """A named penalty on one weight w: ``form(w, *extras)``; ``parts`` names the atoms of a
    composite penalty (elastic net = l1 + l2), which is recognised term by term."""

    id: str
    title: str
    form: Callable[..., sp.Expr] | None = None
    n_extra: int = 0
    parts: tuple[str, ...] = ()
    reference: str = ""


PENALTIES: dict[str, Penalty] = {
    p.id: p
    for p in (
        Penalty(
            "l2", "L2 (ridge, weight decay) penalty", lambda w: w**2, reference="sklearn Ridge"
        ),
        Penalty("l1", "L1 (lasso) penalty", lambda w: sp.Abs(w), reference="sklearn Lasso"),
        Penalty(
            "elastic_net",
            "elastic-net penalty",
            parts=("l1", "l2"),
            reference="sklearn ElasticNet",
        ),
        Penalty(
            "log",
            "log (Student-t / Cauchy) penalty",
            lambda w, c: log1p(w**2 / c),
            n_extra=1,
            reference="the non-convex log penalty of a heavy-tailed prior",
        ),
        Penalty("huber", "Huber penalty", lambda w, k: huber(w, k), n_extra=1, reference="Huber"),
        Penalty("logcosh", "log-cosh penalty", lambda w, s: logcosh(w / (2 * s)), n_extra=1),
        Penalty(
            "horseshoe_like",
            "horseshoe-like penalty",
            lambda w, t: -sp.log(sp.log(1 + t**2 / w**2)),
            n_extra=1,
            reference="Bhadra et al. (2019), the horseshoe-like prior",
        ),
    )
}


@dataclass(frozen=True)
class PenaltyMatch:
    penalty: Penalty
    strengths: dict  # atom id → λ > 0: penalty = Σ λ_atom·P_atom(w) + (terms free of w)
    extras: tuple = ()  # the arguments of the form after w (expressions of the fixed scales)


def _extra_candidates(pen, w, fixed, n_extra):
    """Arguments for a form's extras: the fixed scales and their products (log(1 + w²/(ν s²)))."""
    if n_extra == 0:
        yield ()
        return
    seen = set()
    pool = list(fixed)
    for term in sp.preorder_traversal(pen):  # the w-free factor next to w² inside the penalty
        if isinstance(term, sp.Mul) and term.has(w):
            rest = term.as_independent(w, as_Add=False)[0]
            if rest.free_symbols and rest.is_positive:
                pool += [rest, 1 / rest]
    for extra in pool:
        if extra not in seen:
            seen.add(extra)
            yield (extra,)


def _atom(pen, w, fixed, variables, atoms) -> tuple[Penalty, sp.Expr, tuple] | None:
    for penalty in atoms:
        for extras in _extra_candidates(pen, w, fixed, penalty.n_extra):
            form = stabilise(penalty.form(w, *extras))[0]
            for a in _scale_candidates(pen, form, [w], [w]):
                if a.has(w) or not a.is_positive:
                    continue
                rest = pen - a * form
                if witness_constant(rest, variables, [w]) and proven_constant(rest, [w]):
                    return penalty, a, extras
    return None


def recognise_penalty(pen, w, fixed, variables) -> PenaltyMatch | None:
    """The registered penalty that ``pen`` (terms in w) is, with its strengths, or None: first
    as one form, then term by term as a composite of atoms (elastic net)."""
    atoms = [p for p in PENALTIES.values() if p.form is not None]
    whole = _atom(pen, w, fixed, variables, atoms)
    if whole is not None:
        penalty, a, extras = whole
        return PenaltyMatch(penalty, {penalty.id: a}, extras)
    found = {}
    for term in sp.Add.make_args(sp.expand(pen)):
        one = _atom(term, w, fixed, variables, [p for p in atoms if p.n_extra == 0])
        if one is None:
            return None
        found[one[0].id] = found.get(one[0].id, 0) + one[1]
    for composite in (p for p in PENALTIES.values() if p.parts):
        if set(found) == set(composite.parts):
            return PenaltyMatch(composite, found)
    return None
