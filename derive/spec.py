"""The declaration of a distribution: data, not a class per distribution.

A :class:`Var` names a variable and its :class:`Constraint`.  The constraint is declared once and
used twice: it sets the SymPy assumptions of the symbol (so logs expand soundly) and the range that
tests draw values from.  A :class:`Distribution` is the density plus its variables, an optional link
from the raw model output to a parameter, and prose for the outputs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp


@dataclass(frozen=True)
class Constraint:
    """A domain: SymPy assumptions, a value inside it, a sampler for tests, and how it reads."""

    name: str
    assumptions: Mapping[str, bool]
    reference: sp.Expr  # a point inside the domain (used to evaluate θ-free remainders)
    sample: Callable[[np.random.Generator, tuple], np.ndarray]
    text: str  # how "x <text>" reads in a terminal, e.g. "∈ ℝ", "> 0"
    support: tuple = (-sp.oo, sp.oo)
    discrete: bool = False
    simplex: bool = False  # vectors only: components sum to one over the class axis
    #: a continuous relaxation of a discrete support: the density is normalised over the discrete
    #: outcomes (the one-hot vertices), values in between are soft targets (cross-entropy)
    relaxed: bool = False


def _uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def _with_zeros(sample, share=0.2):
    """``sample``, with about ``share`` of the values exactly zero (the edge of the support)."""

    def draw(rng, shape):
        values = sample(rng, shape)
        return np.where(rng.random(shape) < share, 0.0, values)

    return draw


def _simplex(rng, shape):
    w = rng.gamma(1.0, 1.0, shape)
    return w / w.sum(axis=-1, keepdims=True)


CONSTRAINTS = {
    c.name: c
    for c in (
        Constraint("real", {"real": True}, sp.S.Zero, _uniform(-4, 4), "∈ ℝ"),
        Constraint(
            "positive",
            {"positive": True},
            sp.S.One,
            _uniform(0.2, 5),
            "> 0",
            (0, sp.oo),
        ),
        Constraint(
            "unit_interval",
            {"positive": True},
            sp.S.Half,
            _uniform(0.02, 0.98),
            "∈ (0, 1)",
            (0, 1),
        ),
        Constraint(
            "binary",
            {"integer": True, "nonnegative": True},
            sp.S.Zero,
            lambda rng, shape: rng.integers(0, 2, shape).astype(float),
            "∈ {0, 1}",
            (0, 1),
            discrete=True,
        ),
        Constraint(
            "count",
            {"integer": True, "nonnegative": True},
            sp.S.Zero,
            lambda rng, shape: rng.integers(0, 25, shape).astype(float),
            "∈ ℕ",
            (0, sp.oo),
            discrete=True,
        ),
        Constraint(
            "nonnegative",
            {"nonnegative": True},
            sp.S.One,
            _with_zeros(_uniform(0.2, 5)),
            "≥ 0",
            (0, sp.oo),
        ),
        Constraint(
            "positive_integer",
            {"integer": True, "positive": True},
            sp.S.One,
            lambda rng, shape: rng.integers(1, 31, shape).astype(float),
            "∈ {1, 2, …}",
            (1, sp.oo),
            discrete=True,
        ),
        Constraint(
            # a class of an ordinal outcome, 0..K with K cutpoints (draws: K = 3, the tests'
            # number of classes; a declaration's support (0, K) binds K to the draw's)
            "ordinal",
            {"integer": True, "nonnegative": True},
            sp.S.Zero,
            lambda rng, shape: rng.integers(0, 4, shape).astype(float),
            "∈ {0, 1, …, K}",
            (0, sp.oo),
            discrete=True,
        ),
        Constraint(
            "angle",
            {"real": True},
            sp.S.Zero,
            _uniform(-np.pi, np.pi),
            "∈ (−π, π]",
            (-sp.pi, sp.pi),
        ),
        Constraint(
            "sign",
            {"integer": True, "nonzero": True},
            sp.S.One,
            lambda rng, shape: rng.choice([-1.0, 1.0], shape),
            "∈ {−1, +1}",
            (-1, 1),
            discrete=True,
        ),
        Constraint(
            # SymPy cannot assume 1 < p < 2; "positive" is what it can use, tests draw from (1, 2)
            "tweedie_power",
            {"positive": True},
            sp.Rational(3, 2),
            _uniform(1.05, 1.95),
            "∈ (1, 2)",
            (1, 2),
        ),
        # the bounds of a censored observation: a bound may be infinite (y_upper = ∞)
        Constraint(
            "bound",
            {"extended_real": True},
            sp.S.Zero,
            _uniform(-4, 4),
            "∈ [−∞, ∞]",
        ),
        Constraint(
            "nonnegative_bound",
            {"extended_nonnegative": True},
            sp.S.One,
            _uniform(0.2, 5),
            "∈ [0, ∞]",
            (0, sp.oo),
        ),
        Constraint(
            # a censored count's bounds: integers, or ∞ (y_upper = ∞: right-censored); SymPy's
            # integer assumption excludes ∞, so the integrality is the code's value check
            "count_bound",
            {"extended_nonnegative": True},
            sp.S.Zero,
            lambda rng, shape: rng.integers(0, 25, shape).astype(float),
            "∈ ℕ ∪ {∞}",
            (0, sp.oo),
            discrete=True,
        ),
        Constraint(
            "unit_bound",
            {"extended_nonnegative": True},
            sp.S.Half,
            _uniform(0.02, 0.98),
            "∈ [0, 1]",
            (0, 1),
        ),
        Constraint(
            "simplex",
            {"nonnegative": True},
            sp.S.One / sp.Symbol("K", integer=True, positive=True),  # the centre of the simplex
            _simplex,
            "∈ Δᴷ (Σₖ = 1)",
            (0, 1),
            simplex=True,
            relaxed=True,
        ),
        Constraint(
            "open_simplex",
            {"positive": True},
            sp.S.One / sp.Symbol("K", integer=True, positive=True),
            _simplex,
            "∈ Δᴷ (Σₖ = 1, yₖ > 0)",
            (0, 1),
            simplex=True,
        ),
        Constraint(
            "onehot",
            {"integer": True, "nonnegative": True},
            sp.S.Zero,
            lambda rng, shape: np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])],
            "one-hot (Σₖ = 1)",
            (0, 1),
            discrete=True,
            simplex=True,
        ),
    )
}


#: A symbol name as derive new and the CLI accept it (``mu``, ``x_m``); a declaration built in
#: Python may use any name: code and LaTeX make it data (python_name, the printer).
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Var:
    """A named variable with a constraint; ``vector`` variables carry the class axis (index k)."""

    name: str
    constraint: str = "real"
    vector: bool = False
    doc: str = ""

    def __post_init__(self):
        if self.constraint not in CONSTRAINTS:
            raise ValueError(f"unknown constraint {self.constraint!r} for {self.name!r}")

    @property
    def domain(self) -> Constraint:
        return CONSTRAINTS[self.constraint]

    def symbol(self):
        if self.vector:
            return sp.IndexedBase(self.name, **self.domain.assumptions)
        return sp.Symbol(self.name, **self.domain.assumptions)

    def draw(self, rng: np.random.Generator, classes: int = 3):
        """A random value from the declared constraint: a float, or ``classes`` components for a
        vector variable (the one way tests and checks draw values)."""
        value = self.domain.sample(rng, (classes,) if self.vector else ())
        return value if self.vector else float(value)


@dataclass(frozen=True)
class Link:
    """The raw, unconstrained model output ``raw`` and the map ``param = inverse(raw)``."""

    param: str
    raw: Var
    inverse: Callable  # raw symbol (or raw[k], K for vectors) -> parameter expression
    name: str  # e.g. "sigmoid", "exp", "softmax"


@dataclass(frozen=True)
class NaturalLink:
    """How an unconstrained margin m stands for a constrained parameter θ: θ = inverse(m),
    m = forward(θ).  Gradient boosting (and any model whose raw output is unbounded) learns m."""

    name: str
    inverse: Callable  # margin symbol -> parameter expression
    forward: Callable  # parameter value -> margin value (numpy), for draws and starts
    text: str  # how θ reads in terms of the margin, e.g. "exp(m)"


def _natural_links() -> dict[str, NaturalLink]:
    from .functions import sigmoid

    return {
        link.name: link
        for link in (
            NaturalLink("identity", lambda m: m, lambda p: p, "m"),
            NaturalLink("log", sp.exp, np.log, "exp(m)"),
            NaturalLink("logit", sigmoid, lambda p: np.log(p) - np.log1p(-p), "sigmoid(m)"),
        )
    }


#: The links a declaration can name as its ``natural_link`` (log for rates and means, logit for
#: probabilities).
NATURAL_LINKS = _natural_links()


#: The checks a catalog entry can declare unavailable (with a reason) or loosen (a tolerance):
#: "normalisation" (∫ p = 1 by quadrature), "nll" (the full −log p can be evaluated), "scipy"
#: (a scipy.stats oracle exists), "split" (nll = a·loss + dropped, numerically), "infotheory"
#: (entropy and KL of the declared density).
CHECKS = ("normalisation", "nll", "scipy", "split", "infotheory")


@dataclass(frozen=True)
class Moment:
    """𝔼 of one statistic of the observation, as a declaration states it: the value, the condition
    on the parameters under which the expectation exists (finite), and, for a statistic declared
    at particular arguments only (the Student-t's own location and scale), those arguments.

    ``exists`` is a SymPy relation (``shape > 1``), ``sp.true`` or ``sp.false`` (𝔼|y| of a Cauchy:
    ``value`` is then unused); the information-theory engine states it with every result that
    uses the expectation and gives +∞ outside it."""

    value: sp.Expr = sp.nan
    exists: sp.Basic = sp.true
    at: tuple | None = None

    @classmethod
    def never(cls) -> Moment:
        """An expectation that exists for no parameter values."""
        return cls(sp.nan, sp.false)


# The class axis of vector families: k = 1..K.
CLASS_INDEX = sp.Symbol("k", integer=True, positive=True)
N_CLASSES = sp.Symbol("K", integer=True, positive=True)


#: Modifier name -> function(distribution, ...) -> distribution; filled by derive/composite.py.
MODIFIERS: dict[str, Callable] = {}


def _modifier(name: str) -> Callable:
    if name not in MODIFIERS:
        raise RuntimeError(f"the {name} modifier is registered by derive.composite: import it")
    return MODIFIERS[name]


@dataclass(frozen=True)
class Distribution:
    """A declared density and everything the outputs need to present it.

    ``density`` is called with the symbols of ``observed``, ``params`` and ``fixed`` (in that
    order; vector variables arrive as ``IndexedBase`` and the class axis is ``CLASS_INDEX`` over
    ``1..N_CLASSES``).  ``links`` map a declared parameter to the raw output learned instead.
    """

    name: str
    title: str
    observed: Var
    params: tuple[Var, ...]
    density: Callable
    fixed: tuple[Var, ...] = ()
    links: tuple[Link, ...] = ()
    support: tuple | None = None  # overrides the observed constraint's support
    notes: str = ""  # parametrisation conventions, shown by `show` and in LaTeX
    references: tuple[str, ...] = ()
    #: the standard loss the derivation must arrive at (DESIGN.md's catalog arrow), or None;
    #: declared, never trusted: tests check the derivation reports it
    standard: str | None = None
    symbols_: Mapping[str, sp.Basic] = field(default=None, compare=False, repr=False)
    #: checks that cannot be made for this entry, each with the reason (see :data:`CHECKS`)
    unavailable: Mapping[str, str] = field(default_factory=dict, compare=False)
    #: tolerances that differ from the tests' defaults, by check name (see :data:`CHECKS`)
    tolerances: Mapping[str, float] = field(default_factory=dict, compare=False)
    #: the link from an unconstrained margin to the single learned parameter where that parameter
    #: is constrained (a rate, a mean, a probability): the GBM objectives work on the margin
    #: (a key of :data:`NATURAL_LINKS`); None where the learned output is already unconstrained
    natural_link: str | None = None
    #: the CDF F(y) = P(Y ≤ y), called like ``density`` (checked against it in the tests: dF/dy
    #: is the density, F is 0 at the lower end of the support); what censoring, truncation and
    #: discretisation are made from
    cdf: Callable | None = field(default=None, compare=False)
    #: the survival function S(y) = 1 − F(y), called like ``cdf``, where 1 − F would lose its
    #: digits as F → 1 and no rule recovers them (a CDF written with min/max, an arctangent);
    #: checked in the tests (F + S = 1).  With it, survival is S and an interval F(b) − F(a) is
    #: min(F(b), S(a)) − min(F(a), S(b)): the pair of forms whose values stay away from 1
    sf: Callable | None = field(default=None, compare=False)
    #: further observed variables, after ``observed`` (a censored observation's upper bound)
    also_observed: tuple[Var, ...] = ()
    #: rewrite rules the derivation's stable step applies after the standard ones, each
    #: (note, Rule): composites state the forms of their own cases here (log-diff-exp, …)
    rules: tuple = field(default=(), compare=False)
    #: for code: a value inside the support for each observed variable (by name), substituted in
    #: the rows where a case does not apply, so no unused case overflows (the "double where")
    guards: Mapping[str, sp.Expr] = field(default_factory=dict, compare=False)
    #: the declaration this one was made from, and the modifiers applied (composite.py)
    base: Distribution | None = field(default=None, compare=False, repr=False)
    modifiers: tuple[str, ...] = ()
    #: base -> this declaration made again from another version of its base (the modifiers
    #: re-applied in order); the LaTeX builds one whose F and S are named (composite.named)
    rebuild: Callable | None = field(default=None, compare=False, repr=False)
    #: 𝔼 of statistics of the observation in closed form, for entropy and KL: called with the
    #: symbols of observed, params and fixed (as ``density``), it returns {statistic kind (a key of
    #: derive.infotheory.STATISTICS): value, :class:`Moment`, or callable(*the kind's arguments)
    #: -> value, :class:`Moment` or None where there is no closed form for those arguments}.
    #: What it leaves out is summed or integrated; the tests check each entry by quadrature.
    expectations: Callable | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.natural_link is not None and self.natural_link not in NATURAL_LINKS:
            raise ValueError(f"{self.name}: unknown natural link {self.natural_link!r}")
        for key in (*self.unavailable, *self.tolerances):
            if key not in CHECKS:
                raise ValueError(f"{self.name}: unknown check {key!r}; known: {', '.join(CHECKS)}")

    @property
    def observations(self) -> tuple[Var, ...]:
        """Every observed variable: ``observed``, then ``also_observed``."""
        return (self.observed, *self.also_observed)

    @property
    def variables(self) -> tuple[Var, ...]:
        return (
            *self.observations,
            *self.params,
            *self.fixed,
            *(link.raw for link in self.links),
        )

    @cached_property
    def symbols(self) -> dict[str, sp.Basic]:
        """Each variable's SymPy symbol, by name (built once, so every use shares assumptions)."""
        if self.symbols_ is not None:
            return dict(self.symbols_)
        return {v.name: v.symbol() for v in self.variables}

    def sym(self, var: Var):
        return self.symbols[var.name]

    @property
    def vector(self) -> bool:
        return any(v.vector for v in self.variables)

    @property
    def discrete(self) -> bool:
        return self.observed.domain.discrete

    @property
    def learned(self) -> tuple[Var, ...]:
        """The variables a model outputs: each declared parameter, or its raw link variable."""
        raw = {link.param: link.raw for link in self.links}
        return tuple(raw.get(p.name, p) for p in self.params)

    @property
    def support_bounds(self) -> tuple:
        """(lo, hi) of the observed variable; may involve fixed parameters (binomial: (0, n))."""
        if self.support is None:
            return self.observed.domain.support
        return tuple(sp.sympify(b) for b in self.support)

    def draw(self, rng: np.random.Generator, classes: int = 3) -> dict[str, object]:
        """Random values, by variable name, for the observed, learned and fixed variables, from
        the declared constraints; the observed value respects a support that depends on
        parameters (fixed values that leave it empty, n < 2 for a binomial truncated to [2, n],
        are drawn again).  Vector variables get ``classes`` components (the class axis)."""
        bounds = self.support_bounds
        for _ in range(100):
            values = {v.name: v.draw(rng, classes) for v in (*self.learned, *self.fixed)}
            by_symbol = {
                self.symbols[name]: val for name, val in values.items() if np.ndim(val) == 0
            }
            by_symbol[N_CLASSES] = classes  # a support up to the number of classes (ordinal)
            ends = [sp.sympify(b).subs(by_symbol) for b in bounds]
            if not all(e.is_number for e in ends) or bool(ends[0] <= ends[1]):
                break
        # each observed variable (a censored observation's bounds too) inside the support
        for y in self.observations:
            value = y.draw(rng, classes)
            if self.support is not None and tuple(bounds) != tuple(y.domain.support):
                lo, hi = (float(sp.sympify(b).subs(by_symbol)) for b in bounds)
                if y.domain.discrete:
                    top = hi if np.isfinite(hi) else lo + 24
                    value = rng.integers(int(lo), int(top) + 1, np.shape(value)).astype(float)
                elif np.isfinite(lo) and np.isfinite(hi):
                    value = rng.uniform(lo, hi, np.shape(value))
                elif np.isfinite(lo):  # [lo, ∞): the domain's draws, folded above lo
                    value = lo + np.abs(value)
                else:
                    value = hi - np.abs(value)
            values[y.name] = value if y.vector else float(value)
        # several observed variables (a censored observation's bounds): in increasing order
        observed = [v.name for v in self.observations]
        for name, value in zip(observed, sorted(values[n] for n in observed), strict=True):
            if len(observed) > 1:
                values[name] = value
        return values

    def density_expr(self) -> sp.Expr:
        args = [self.sym(v) for v in (*self.observations, *self.params, *self.fixed)]
        return self.density(*args)

    def cdf_expr(self) -> sp.Expr | None:
        """F(y) in the declared parameters, or None where the entry declares no CDF."""
        if self.cdf is None:
            return None
        return self.cdf(*(self.sym(v) for v in (self.observed, *self.params, *self.fixed)))

    def sf_expr(self) -> sp.Expr | None:
        """S(y) in the declared parameters, or None where the entry declares none."""
        if self.sf is None:
            return None
        return self.sf(*(self.sym(v) for v in (self.observed, *self.params, *self.fixed)))

    # -- modifiers: each returns a new declaration made from this one.  derive/composite.py
    # registers them in MODIFIERS (it sits above this module, so it is not imported from here;
    # derive.catalog imports it)
    def censored(self) -> Distribution:
        return _modifier("censored")(self)

    def truncated(self, lo=None, hi=None) -> Distribution:
        return _modifier("truncated")(self, lo, hi)

    def discretised(self, width=1) -> Distribution:
        return _modifier("discretised")(self, width)

    def zero_inflated(self) -> Distribution:
        return _modifier("zero_inflated")(self)

    def hurdle(self) -> Distribution:
        return _modifier("hurdle")(self)

    def mixture(self, components) -> Distribution:
        return _modifier("mixture")(self, components)

    def link(self, **kinds: str) -> Distribution:
        return _modifier("link")(self, **kinds)

    def fingerprint(self) -> str:
        """A stable key for this declaration (used to cache derivations on disk); computed once
        per declaration (the srepr of its density is not cheap)."""
        known = self.__dict__.get("_fingerprint")
        if known is None:
            known = self._fingerprint_of()
            object.__setattr__(self, "_fingerprint", known)  # frozen: a memo, not a field
        return known

    def _fingerprint_of(self) -> str:
        parts = [self.name, self.title, self.notes, sp.srepr(self.density_expr())]
        for v in self.variables:
            parts.append(f"{v.name}:{v.constraint}:{v.vector}")
        for link in self.links:
            parts.append(f"{link.param}<-{link.name}:{sp.srepr(self.link_expr(link))}")
        parts.append(repr(self.support))
        parts.append(repr(self.modifiers))
        for v in self.also_observed:
            parts.append(f"also {v.name}:{v.constraint}")
        return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()

    def link_expr(self, link: Link) -> sp.Expr:
        raw = self.symbols[link.raw.name]
        if link.raw.vector:
            return link.inverse(raw, CLASS_INDEX, N_CLASSES)
        return link.inverse(raw)

    def describe_vars(self) -> list[tuple[str, str, str]]:
        """(role, name, domain text) for observed, learned and fixed variables."""
        rows = [("observed", v) for v in self.observations]
        rows += [("learned", v) for v in self.learned]
        rows += [("fixed", v) for v in self.fixed]
        return [(role, v.name, v.domain.text) for role, v in rows]
