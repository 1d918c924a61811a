"""Entropy, cross-entropy and KL divergence of catalog distributions, derived by linearity.

    H(P, Q) = 𝔼_P[−log q(y)],    H(P) = H(P, P),    KL(P ‖ Q) = 𝔼_P[log p(y) − log q(y)]

The negative log-density of a catalog entry is a sum of terms c·T(y): a coefficient c free of the
observation times a *statistic* T of it (y, (y − m)², |y − m|, log y, log(1 − y), y_k, log y_k …).
Expectation is linear, so 𝔼_P[−log q(y)] = Σ c·𝔼_P[T(y)] needs 𝔼_P of a few statistics only,
found in this order:

1. declared on the family's declaration in derive/catalog.py (``expectations=``), each with the
   condition under which it exists (the tests check every entry against quadrature or summation
   at high precision, on both sides of its condition; nothing here is trusted);
2. linearity again, after a polynomial expansion of T ((y − m)² = y² − 2my + m²);
3. an exact sum over a finite support (Bernoulli: y ∈ {0, 1});
4. a series over the counts, summed in closed form when SymPy manages within :data:`TIME_LIMIT`,
   else kept as an explicit Σ and said so (the Poisson entropy has no closed form);
5. an integral within the time limit, else kept explicit and said so.

Whether a summed or integrated expectation exists is decided from its integrand's tails
(:mod:`derive.tails`), never from the closed form SymPy returns: a result that uses an expectation
states its condition (``finite when shape_p > 1``), and KL(P ‖ Q), which lies in [0, ∞], is +∞
where the integral of p·log(p/q) diverges at an end of the support, said with the reason.  What
cannot be shown convergent is never reported finite.

The KL divergence is the expectation of the log-density ratio, computed on its own rather than as
the difference H(P, Q) − H(P), so H(P, Q) = H(P) + KL(P ‖ Q) is a check: it is proven per pair with
a fixed sequence of targeted transforms (never a global ``simplify``), and so are KL(P ‖ P) = 0 and
the stationarity of H(P, Q) in Q's parameters at Q = P.  A pair whose supports do not nest has
KL = ∞, reported with the reason; a pair whose observations differ (a scalar and a vector) is bad
input.  Densities are the declared ones, in the declared parameters (links are not applied):
each parameter is suffixed ``_p`` or ``_q``, so ``kl gaussian gaussian`` is
KL(N(μ_p, σ_p²) ‖ N(μ_q, σ_q²)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm

from .budget import bounded
from .catalog import CATALOG, get
from .derivation import Step, derive_cached, expand_logs, memoised
from .display import inline, pretty
from .errors import UserError
from .functions import PRIMITIVES, elementary, huber, loggamma, split_sums
from .spec import CLASS_INDEX, N_CLASSES, Distribution, Moment, Var
from .symbolic import canonical_sums, identically_zero
from .tails import integrable, log_abs, sum_integrable
from .views import Viewable

#: Seconds one fallback (a series or an integral) may run before it is kept explicit.
TIME_LIMIT = 3.0
#: Seconds the tails of one integrand may take to decide whether its integral converges.
TAIL_LIMIT = 3.0

# ---------------------------------------------------------------------------- display objects


def _name(text):
    """A display name as a Symbol (display objects keep their text in args, so they rebuild)."""
    return text if isinstance(text, sp.Symbol) else sp.Symbol(text)


class _Label(sp.Expr):
    """A display-only name with its text and LaTeX: H(P, Q), KL(P ‖ Q)."""

    def __new__(cls, text, latex):
        return sp.Expr.__new__(cls, _name(text), _name(latex))

    def _latex(self, printer, exp=None):
        return self.args[1].name if exp is None else r"%s^{%s}" % (self.args[1].name, exp)

    def _pretty(self, printer):
        return prettyForm(self.args[0].name)

    def _sympystr(self, printer):
        return self.args[0].name


H_PQ = _Label("H(P, Q)", r"H\left(P, Q\right)")
H_P = _Label("H(P)", r"H\left(P\right)")
KL_PQ = _Label("KL(P ‖ Q)", r"\operatorname{KL}\left(P \,\middle\|\, Q\right)")


class _Density(sp.Expr):
    """Display of ``p(y | θ)`` / ``q(y | θ)``."""

    is_positive = True

    def __new__(cls, name, y, params):
        return sp.Expr.__new__(cls, _name(name), y, sp.Tuple(*params))

    def _latex(self, printer, exp=None):
        name, y, params = self.args
        inner = ", ".join(printer._print(p) for p in params)
        out = r"%s(%s \mid %s)" % (name.name, printer._print(y), inner)  # as p(y | θ) everywhere
        return out if exp is None else r"%s^{%s}" % (out, exp)

    def _pretty(self, printer):
        name, y, params = self.args
        inner = ", ".join(printer.doprint(p) for p in params)
        return prettyForm(f"{name.name}({printer.doprint(y)} | {inner})")

    def _sympystr(self, printer):
        name, y, params = self.args
        return f"{name.name}({y} | {', '.join(map(str, params))})"


class _LogDensity(sp.Expr):
    """Display of ``log q(y | θ)`` without the parentheses SymPy puts around an applied function."""

    def __new__(cls, density):
        return sp.Expr.__new__(cls, density)

    def _latex(self, printer, exp=None):
        out = r"\log %s" % printer._print(self.args[0])
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)

    def _pretty(self, printer):
        return prettyForm(*printer._print(self.args[0]).left("log "))

    def _sympystr(self, printer):
        return f"log {printer._print(self.args[0])}"


class Expectation(sp.Expr):
    """𝔼_P[T]: an expectation under P, shown as such (also the value of one kept explicit)."""

    def __new__(cls, stat, under="P"):
        return sp.Expr.__new__(cls, sp.sympify(stat), _name(under))

    def _latex(self, printer, exp=None):
        stat, under = self.args
        out = r"\mathbb{E}_{%s}\left[%s\right]" % (under.name, printer._print(stat))
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)

    def _pretty(self, printer):
        stat, under = self.args
        form = prettyForm(*printer._print(stat).parens("[", "]"))
        return prettyForm(*form.left(f"𝔼_{under.name}"))

    def _sympystr(self, printer):
        stat, under = self.args
        return f"E_{under.name}[{printer._print(stat)}]"


# ---------------------------------------------------------------------------- statistics


def _expand_outside_functions(g):
    """Products and integer powers of sums expanded, function arguments left alone:
    (y − μ)²/y = y − 2μ + μ²/y, but log(1 + (y − μ)²) stays as declared."""
    applied = {f: sp.Dummy() for f in g.atoms(sp.Function)}
    expanded = sp.expand(g.xreplace(applied), power_exp=False, log=False)
    return expanded.xreplace({d: f for f, d in applied.items()})


def _shift(e, y):
    """m when e = ±(y − m) with m free of y, else None."""
    const, rest = e.as_independent(y, as_Add=True)
    if rest == y:
        return -const
    if rest == -y:
        return const
    return None


def _square_of(g, base_match):
    if g.is_Pow and g.exp == 2:
        return base_match(g.base)
    return None


def _stat_y(g, y):
    return () if g == y else None


def _stat_centred_square(g, y):
    m = _square_of(g, lambda b: _shift(b, y))
    return None if m is None else (m,)


def _stat_abs(g, y):
    m = _shift(g.args[0], y) if isinstance(g, sp.Abs) else None
    return None if m is None else (m,)


def _stat_power(g, y):
    if g == y:
        return (sp.S.One,)
    if g.is_Pow and g.base == y and not g.exp.has(y):
        return (g.exp,)
    return None


def _stat_log(g, y):
    return () if g == sp.log(y) else None


def _stat_log1m(g, y):
    return () if g == sp.log(1 - y) else None


def _stat_log_square(g, y):
    def base(b):
        const, rest = b.as_independent(y, as_Add=True)
        return -const if rest == sp.log(y) else const if rest == -sp.log(y) else None

    m = _square_of(g, base)
    return None if m is None else (m,)


def _stat_log_factorial(g, y):
    if g == sp.log(sp.factorial(y)) or (isinstance(g, sp.loggamma) and g.args[0] == y + 1):
        return ()
    return None


def _stat_component(g, y):
    if isinstance(g, sp.Indexed) and g.base == y:
        return (g.indices[0],)
    return None


def _stat_log_component(g, y):
    if isinstance(g, sp.log):
        return _stat_component(g.args[0], y)
    return None


def _stat_log_cauchy(g, y):
    """log(1 + c·(y − m)²) as (m, g) with c = 1/g²."""
    if not isinstance(g, sp.log):
        return None
    const, rest = g.args[0].as_independent(y, as_Add=True)
    if const != 1:
        return None
    c, square = rest.as_independent(y, as_Add=False)
    m = _stat_centred_square(square, y)
    if m is None or not c.is_positive:
        return None
    return (m[0], 1 / sp.sqrt(c))


def _stat_log_logistic(g, y):
    """log(1 + e^{−(y − m)/g}) as (m, g)."""
    if not isinstance(g, sp.log):
        return None
    const, rest = g.args[0].as_independent(y, as_Add=True)
    rest = sp.powsimp(rest)
    if const != 1 or not isinstance(rest, sp.exp):
        return None
    argument = sp.expand(rest.args[0])
    slope = argument.coeff(y)
    if slope.has(y) or sp.expand(argument - slope * y).has(y) or not (-slope).is_positive:
        return None
    scale = -1 / slope
    return (sp.expand((argument + y / scale) * scale), scale)


def _stat_cos(g, y):
    m = _shift(g.args[0], y) if isinstance(g, sp.cos) else None
    return None if m is None else (m,)


#: The statistics a family may declare 𝔼 of: kind -> matcher(T, y) returning the kind's arguments
#: (the shift m, the power s, the class index k) or None.  Tried in this order.
STATISTICS: dict[str, Callable] = {
    "y": _stat_y,
    "(y - m)^2": _stat_centred_square,
    "|y - m|": _stat_abs,
    "y^s": _stat_power,
    "log y": _stat_log,
    "log(1 - y)": _stat_log1m,
    "(log y - m)^2": _stat_log_square,
    "log y!": _stat_log_factorial,
    "log(1 + ((y - m)/g)^2)": _stat_log_cauchy,
    "log(1 + exp(-(y - m)/g))": _stat_log_logistic,
    "cos(y - m)": _stat_cos,
    "y_k": _stat_component,
    "log y_k": _stat_log_component,
}


# ---------------------------------------------------------------------------- one side of a pair


class _Side:
    """One distribution of a pair, its parameters suffixed: mu → mu_p."""

    def __init__(self, dist: Distribution, suffix: str):
        self.dist, self.suffix = dist, suffix
        raws = tuple(link.raw for link in dist.links)
        self.vars = (*dist.params, *dist.fixed)
        self.symbols = {
            v.name: Var(f"{v.name}_{suffix}", v.constraint, v.vector).symbol()
            for v in (*self.vars, *raws)
        }
        self.y = dist.sym(dist.observed)

    @property
    def params(self) -> tuple:
        return tuple(self.symbols[v.name] for v in self.vars)

    def density(self, y=None):
        return self.dist.density(self.y if y is None else y, *self.params)

    def nll(self, y):
        """−log density, expanded, as a function of ``y`` (expanded under this side's own
        assumptions on y, which hold for the other side's y once the supports nest)."""
        return neg_log(self.density()).xreplace({self.y: y})

    def label(self, name, y):
        return _Density(name, y, self.params)

    def log(self, name, y):
        return _LogDensity(self.label(name, y))

    @property
    def scalar_params(self):
        return tuple(s for s in self.params if isinstance(s, sp.Symbol))

    @property
    def simplex_params(self):
        return tuple(self.symbols[v.name] for v in self.vars if v.vector and v.domain.simplex)


def neg_log(density):
    """−log density with the logarithms expanded (log Π = Σ log, under the declared assumptions)."""
    expr = -sp.log(density)
    for _ in range(4):  # log(A·Π/Π) needs a second pass once expand_log has split it
        new = split_sums(expand_logs(expr))
        if new == expr:
            break
        expr = new
    return expr


def _same_family(p: Distribution, q: Distribution) -> bool:
    """Equal declared densities when given the same symbols (gaussian and gaussian-hetero)."""
    if [(v.constraint, v.vector) for v in (*p.params, *p.fixed)] != [
        (v.constraint, v.vector) for v in (*q.params, *q.fixed)
    ]:
        return False
    side = _Side(p, "p")
    return sp.expand(side.density() - q.density(side.y, *side.params)) == 0


# ---------------------------------------------------------------------------- supports


@dataclass(frozen=True)
class Support:
    lo: sp.Expr
    hi: sp.Expr
    discrete: bool
    vector: bool

    def __str__(self):
        if self.vector:
            return "one-hot vectors" if self.discrete else "the probability simplex"
        show = {sp.oo: "∞", -sp.oo: "−∞"}
        lo, hi = (show.get(b, pretty(b)) for b in (self.lo, self.hi))
        if self.discrete:
            if self.hi == sp.oo:
                return f"{{{lo}, {pretty(self.lo + 1)}, {pretty(self.lo + 2)}, …}}"
            if self.lo.is_Integer and self.hi.is_Integer and self.hi - self.lo < 4:
                return "{" + ", ".join(str(v) for v in range(int(self.lo), int(self.hi) + 1)) + "}"
            return f"{{{lo}, …, {hi}}}"
        return "ℝ" if (self.lo, self.hi) == (-sp.oo, sp.oo) else f"({lo}, {hi})"

    def inside(self, other: Support) -> bool | None:
        """Whether this support lies inside ``other``; None where that depends on parameters."""
        inside = sp.And(sp.Le(other.lo, self.lo), sp.Le(self.hi, other.hi))
        return bool(inside) if inside in (sp.true, sp.false) else None

    def condition(self, other: Support):
        """Where this support lies inside ``other`` (a relation between parameters)."""
        return sp.And(sp.Le(other.lo, self.lo), sp.Le(self.hi, other.hi))


def support(dist: Distribution, side: _Side | None = None) -> Support:
    """The observation's support, in ``side``'s symbols where bounds involve parameters
    (the binomial's n)."""
    lo, hi = (sp.sympify(b) for b in dist.support_bounds)
    if side is not None:
        rename = {dist.symbols[v.name]: side.symbols[v.name] for v in side.vars}
        lo, hi = lo.xreplace(rename), hi.xreplace(rename)
    # a relaxed constraint (the categorical's simplex) is normalised over its discrete outcomes
    onehot = dist.observed.domain.relaxed
    return Support(lo, hi, dist.discrete or onehot, dist.observed.vector)


def _check_available(dist: Distribution) -> None:
    if reason := dist.unavailable.get("infotheory"):
        raise UserError(f"{dist.name}: {reason}")
    if reason := dist.unavailable.get("nll"):
        raise UserError(f"{dist.name}: {reason}; entropy and KL need the full density")


def _infinite_reason(P: _Side, Q: _Side) -> tuple[str | None, str | None]:
    """(Why KL(P ‖ Q) = ∞, or None; the condition under which it is finite where that depends on
    parameters, or None)."""
    p, q = P.dist, Q.dist
    sp_, sq = support(p, P), support(q, Q)
    if sp_.vector != sq.vector:
        shape = {False: "a scalar", True: "a vector over K classes"}
        raise UserError(
            f"cannot compare {p.name} with {q.name}: y is {shape[sp_.vector]} under {p.name} "
            f"and {shape[sq.vector]} under {q.name}"
        )
    kind = {True: "discrete", False: "continuous"}
    if sp_.discrete != sq.discrete:
        if sp_.discrete:
            why = "P has atoms, to which Q's density gives probability 0"
        else:
            why = "P puts all its mass off Q's countable support"
        reason = (
            f"{p.name} is {kind[sp_.discrete]} on {sp_} and {q.name} is {kind[sq.discrete]} "
            f"on {sq}: {why}"
        )
        return reason, None
    inside = sp_.inside(sq)
    if inside is False:
        return (
            f"the support of {p.name}, {sp_}, is not inside that of {q.name}, {sq}: P gives "
            "positive probability where q(y) = 0"
        ), None
    if inside is None:
        return None, sp_.condition(sq)
    return None, None


# ---------------------------------------------------------------------------- expectations


#: Where an expectation came from (keys of :class:`Expected`; the templates write their own prose).
SOURCES = {
    "declared": "declared for the family, checked against quadrature in the tests",
    "finite": "exact sum over the finite support",
    "series": "series summed in closed form",
    "series-explicit": "series with no closed form: kept as an explicit sum",
    "integral": "integral in closed form",
    "integral-explicit": "integral with no closed form found in time: kept explicit",
    "explicit": "no closed form known: kept as an expectation",
    "divergent": "does not exist: the integrand's tails are not integrable",
}


@dataclass(frozen=True)
class Expected:
    """𝔼_P[stat] = value, where it came from (a key of :data:`SOURCES`), and where it exists:
    ``exists`` is true, false, a relation between P's parameters, or None where existence could
    not be shown (nothing built on it is reported finite)."""

    stat: sp.Expr
    value: sp.Expr
    source: str
    exists: sp.Basic | None = sp.true


def _equal(a, b):
    return sp.expand(sp.sympify(a) - b) == 0


def _refined(condition):
    """A condition with the symbols' assumptions applied (shape + 1 > 0 is true for shape > 0)."""
    if condition is None or condition in (sp.true, sp.false):
        return condition
    from .tails import tidy_relation

    condition = sp.sympify(condition)
    if isinstance(condition, sp.core.relational.Relational):
        return tidy_relation(condition)
    return condition


class _Expectations:
    """𝔼_P of functions of y under one side, by linearity, memoised, recording what it used."""

    def __init__(self, side: _Side):
        self.side, self.y = side, side.y
        declared = side.dist.expectations
        self.table = declared(side.y, *side.params) if declared else {}
        self.support = support(side.dist, side)
        self.used: dict[sp.Expr, Expected] = {}
        self._touched: list[Expected] = []

    def collect(self, expr) -> tuple[sp.Expr, tuple[Expected, ...]]:
        """𝔼_P[expr] and the expectations it is built from (their conditions are its own)."""
        self._touched = []
        value = self.of(expr)
        touched, self._touched = tuple(dict.fromkeys(self._touched)), []
        return value, touched

    def of(self, expr) -> sp.Expr:
        """𝔼_P[expr], term by term."""
        out = []
        for term in sp.Add.make_args(sp.sympify(expr)):
            if not term.has(self.y):
                out.append(term)
                continue
            coeff, g = term.as_independent(self.y, as_Add=False)
            if isinstance(g, sp.Sum):  # 𝔼 Σ_k = Σ_k 𝔼 over the class axis
                out.append(coeff * sp.Sum(self.of(g.function), *g.limits))
            else:
                out.append(coeff * self.statistic(g))
        return sp.Add(*out)

    def statistic(self, g) -> sp.Expr:
        if g in self.used:
            self._touched.append(self.used[g])
            return self.used[g].value
        for kind, match in STATISTICS.items():
            if kind in self.table and (args := match(g, self.y)) is not None:
                value = self.table[kind]
                value = value(*args) if callable(value) else value
                if isinstance(value, Moment):
                    if value.at is not None and not (
                        len(value.at) == len(args) and all(map(_equal, args, value.at))
                    ):
                        continue  # declared at other arguments only
                    exists = _refined(value.exists)
                    if exists is sp.false:
                        return self._record(g, Expectation(g), "divergent", sp.false)
                    return self._record(g, value.value, "declared", exists)
                if value is not None:
                    return self._record(g, value, "declared")
        if isinstance(g, sp.Add):
            return self.of(g)
        expanded = _expand_outside_functions(g)
        if expanded != g:
            return self.of(expanded)
        return self._record(g, *self._fallback(g))

    def values(self):
        return [e.value for e in self.used.values()]

    @property
    def total(self) -> tuple:
        """Σ_y p(y) and ∫ p(y) dy over the support: both 1 (the catalog tests the normalisation),
        which a proof needs once a constant is split out of an explicit series."""
        s, y, density = self.support, self.y, self.side.density()
        if s.vector:
            return ()
        return (sp.Sum(density, (y, s.lo, s.hi)), sp.Integral(density, (y, s.lo, s.hi)))

    def _record(self, g, value, source, exists=sp.true):
        self.used[g] = Expected(g, value, source, exists)
        self._touched.append(self.used[g])
        return value

    def exists(self, g):
        """Where 𝔼_P[g] exists, from the tails of p·g (None: not decided in time)."""
        s, y = self.support, self.y
        log_p = -self.side.nll(y)
        found = bounded(
            lambda: integrable(log_p, log_abs(g), y, s.lo, s.hi, s.discrete), TAIL_LIMIT
        )
        return self.within_constraints(found)

    def within_constraints(self, condition):
        """``condition`` decided where the parameters' constraints decide it: a parameter in
        (0, 1) (SymPy knows it positive only) is written 1/(1 + t) with t > 0, so that
        sign(τ − 1) < 0 is seen to hold."""
        if condition is None or condition in (sp.true, sp.false):
            return condition
        t = sp.Dummy("t", positive=True)
        unit = {
            self.side.symbols[v.name]: 1 / (1 + t)
            for v in self.side.vars
            if not v.vector and v.domain.support == (0, 1) and not v.domain.discrete
        }
        if not unit or not condition.has(*unit):
            return condition
        decided = condition.xreplace(unit)
        return decided if decided in (sp.true, sp.false) else condition

    def sum_exists(self, expr):
        """Where 𝔼_P|expr| is finite for a sum of statistics, term by term (see
        :func:`derive.tails.sum_integrable`); None where not decided in time."""
        s, y = self.support, self.y
        terms = sp.Add.make_args(_expand_outside_functions(sp.sympify(expr)))
        log_p = -self.side.nll(y)
        found = bounded(
            lambda: sum_integrable(log_p, terms, y, s.lo, s.hi, s.discrete), 4 * TAIL_LIMIT
        )
        return self.within_constraints(found)

    def _fallback(self, g):
        s, y = self.support, self.y
        if s.vector:
            return Expectation(g), "explicit", None
        density = self.side.density()
        if s.discrete and s.lo.is_Integer and s.hi.is_Integer:
            values = range(int(s.lo), int(s.hi) + 1)
            return sp.Add(*((density * g).subs(y, v) for v in values)), "finite", sp.true
        exists = _refined(self.exists(g))
        if s.discrete:
            series = sp.Sum(density * g, (y, s.lo, s.hi))
            if exists is sp.false:
                return split_sums(series), "divergent", exists
            closed = bounded(series.doit, TIME_LIMIT)
            if closed is not None and not closed.has(sp.Sum) and closed.is_finite is not False:
                return closed, "series", exists
            return split_sums(series), "series-explicit", exists
        integral = sp.Integral(density * g, (y, s.lo, s.hi))
        if exists is sp.false:
            return integral, "divergent", exists
        # conds="none": the value where the integral converges, which `exists` states
        closed = bounded(
            lambda: sp.integrate(density * g, (y, s.lo, s.hi), conds="none"), TIME_LIMIT
        )
        if closed is not None and not closed.has(sp.Integral) and closed.is_finite is not False:
            return closed, "integral", exists
        return integral, "integral-explicit", exists


# ---------------------------------------------------------------------------- tidying and proofs


def _positive_orientation(c) -> bool:
    """Whether c reads better than −c as a coefficient: 1 − p over p − 1, λ over −λ."""
    if isinstance(c, sp.Add):
        const, _ = c.as_coeff_Add()
        if const != 0:
            return const > 0
    return not c.could_extract_minus_sign()


def _is_log_term(e):
    return isinstance(e.as_coeff_Mul()[1], sp.log)


def _over_logs(term):
    """c·(log a − log b) as the terms c·log a, −c·log b (an Add of logarithms only)."""
    adds = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Add)]
    if len(adds) == 1 and all(_is_log_term(a) for a in adds[0].args):
        return sp.Add.make_args(sp.expand_mul(term))
    return (term,)


def _combine_logs(expr):
    """c·log a − c·log b → c·log(a/b), log 2/2 + log π/2 → log(2π)/2 (terms with equal ±c), and
    each coefficient in its readable orientation: −(1 − p)·log(1 − p), not (p − 1)·log(1 − p)."""
    groups: dict[sp.Expr, list] = {}
    rest = []
    for term in (t for outer in sp.Add.make_args(expr) for t in _over_logs(outer)):
        logs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.log)]
        if len(logs) != 1 or logs[0].has(sp.Sum, sp.Integral):
            rest.append(term)
            continue
        coeff = sp.Mul(*(f for f in sp.Mul.make_args(term) if f is not logs[0]))
        sign = 1 if _positive_orientation(coeff) else -1
        groups.setdefault(sign * coeff, []).append((sign, logs[0].args[0]))
    out = list(rest)
    for coeff, members in groups.items():
        if all(sign < 0 for sign, _ in members):
            sign, members = -1, [(-s, a) for s, a in members]
        else:
            sign = 1
        argument = sp.Mul(*(a**s for s, a in members))
        numerator, denominator = argument.as_numer_denom()
        if numerator == 1 and denominator != 1:  # log(1/σ) → −log σ
            sign, argument = -sign, denominator
        log = sp.log(argument)
        out.append(-sp.Mul(coeff, log, evaluate=False) if sign < 0 else coeff * log)
    return sp.Add(*out)


def tidy(expr, simplex=(), factors=()):
    """The fixed presentation pass: canonical class sums, terms collected on the expectations
    they share ((1 − k_q)·𝔼 log y + (k_p − 1)·𝔼 log y = (k_p − k_q)·𝔼 log y), logarithms
    combined."""
    expr = canonical_sums(expr, simplex)
    factors = [f for f in factors if isinstance(f, sp.Add)]
    if factors:
        expr = sp.collect(expr, factors)
    return _combine_logs(expr)


def is_zero(expr, simplex=(), total=()) -> bool:
    """The thorough prover (derive.symbolic.identically_zero) on an information-theory identity."""
    return identically_zero(expr, simplex=simplex, total=total, thorough=True)


# ---------------------------------------------------------------------------- the record


@dataclass(repr=False)
class Pair(Viewable):
    """Entropy, cross-entropy and KL of one pair (or the entropy alone, with ``q`` None)."""

    p: Distribution
    q: Distribution | None
    params_p: tuple
    params_q: tuple
    y: sp.Basic
    entropy_p: sp.Expr
    cross_entropy: sp.Expr | None = None
    kl: sp.Expr | None = None
    infinite: str | None = None  # why KL(P ‖ Q) = ∞
    supports: tuple = ()  # (P's, Q's) where KL(P ‖ Q) = ∞
    condition: sp.Basic | None = None  # where the supports nest for some parameters only: when
    expected: tuple[Expected, ...] = ()
    proofs: dict[str, bool] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    #: where the result (KL and cross-entropy; the entropy for an entropy alone) is finite beyond
    #: the supports: true, a relation between the parameters, or None where not shown
    exists: sp.Basic | None = sp.true
    otherwise: str | None = None  # why KL(P ‖ Q) = ∞ where ``exists`` fails
    unshown: tuple[Expected, ...] = ()  # expectations used whose existence was not shown

    @property
    def explicit(self) -> tuple[Expected, ...]:
        """The expectations kept explicit (no closed form): said so wherever results are shown."""
        return tuple(e for e in self.expected if e.source.endswith("explicit"))

    @property
    def finite(self) -> bool | None:
        """False where KL (or the entropy alone) is ∞ for every parameter value, True where it
        is finite (under :attr:`finite_when`), None where finiteness was not shown."""
        value = self.entropy_p if self.q is None else self.kl
        if value == sp.oo or self.exists is sp.false:
            return False
        return None if self.exists is None else True

    @property
    def finite_when(self) -> sp.Basic | None:
        """The whole condition under which the result is finite (supports and expectations);
        None where there is none (finite for every parameter value) or none was shown."""
        parts = [c for c in (self.condition, self.exists) if c is not None and c is not sp.true]
        return sp.And(*parts) if parts else None

    def kl_at(self, values: dict) -> tuple[sp.Expr, str | None]:
        """KL(P ‖ Q) at parameter values (symbol -> number): (+∞, why) outside the condition,
        else (the value, None).  Raises ValueError where finiteness was not shown."""
        if self.kl == sp.oo:
            return sp.oo, self.infinite
        if self.exists is None:
            raise ValueError(f"KL({self.p.name} ‖ {self.q.name}) was not shown finite")
        if self.condition is not None and not self.condition.xreplace(values):
            return sp.oo, "the supports do not nest"
        if not sp.sympify(self.exists).xreplace(values):
            return sp.oo, self.otherwise
        return self.kl.xreplace(values), None

    def notes(self) -> list[str]:
        out = []
        if self.infinite:
            out.append(f"KL(P ‖ Q) = ∞: {self.infinite}")
        if self.condition is not None:
            where = inline(self.condition)
            out.append(f"finite where {where} (the supports nest); KL(P ‖ Q) = ∞ elsewhere")
        what = "H(P)" if self.q is None else "KL(P ‖ Q)"
        if self.exists is not None and self.exists not in (sp.true, sp.false):
            tail = f"; {what} = ∞ otherwise" if self.q is not None else ""
            why = f" ({self.otherwise})" if self.otherwise else ""
            out.append(f"finite when {inline(self.exists)}{tail}{why}")
        if self.exists is None:
            stats = ", ".join(f"𝔼_P[{inline(e.stat)}]" for e in self.unshown)
            out.append(f"{what} not shown finite: the convergence of {stats} was not decided")
        for e in self.explicit:
            out.append(f"𝔼_P[{inline(e.stat)}]: {SOURCES[e.source]}")
        return out


PROOFS = {
    "identity": "H(P, Q) − H(P) − KL(P ‖ Q) ≡ 0",
    "self": "KL(P ‖ P) ≡ 0",
    "stationary": "∂H(P, Q)/∂θ_q = 0 at θ_q = θ_p",
}


def _expectation_steps(engine: _Expectations, family: str, since: int = 0) -> list[Step]:
    steps = []
    for e in list(engine.used.values())[since:]:
        steps.append(
            Step(
                "expectation",
                SOURCES[e.source],
                Expectation(e.stat),
                e.value,
                {"source": e.source, "family": family},
            )
        )
    return steps


def _entropy_of(side: _Side, engine: _Expectations, steps: list[Step]) -> sp.Expr:
    nll = side.nll(side.y)
    lhs = -side.log("p", side.y)
    steps.append(
        Step(
            "entropy-definition",
            "the entropy is P's expected negative log-density",
            H_P,
            Expectation(lhs),
        )
    )
    steps.append(Step("nll", "−log p is linear in statistics of y", lhs, nll))
    before = len(engine.used)
    value, used = engine.collect(nll)
    value = tidy(value, side.simplex_params, engine.values())
    steps += _expectation_steps(engine, side.dist.name, before)
    steps.append(Step("entropy", "by linearity of expectation", H_P, value))
    return value, used


def _condition_of(used) -> tuple[sp.Basic, tuple[Expected, ...]]:
    """(Where every expectation in ``used`` exists, those whose existence was not shown)."""
    unshown = tuple(e for e in used if e.exists is None)
    return sp.And(*(e.exists for e in used if e.exists is not None)), unshown


def _why(used) -> str:
    parts = []
    for e in used:
        if e.exists is sp.false:
            parts.append(f"𝔼_P[{inline(e.stat)}] does not exist")
        elif e.exists is not None and e.exists is not sp.true:
            where = inline(e.exists)
            parts.append(f"𝔼_P[{inline(e.stat)}] exists only where {where}")
    return "; ".join(parts)


def _kl_exists(engine: _Expectations, used, ratio):
    """(Where KL(P ‖ Q) is finite, why it is ∞ elsewhere, the expectations not shown to exist).

    KL lies in [0, ∞]: log(p/q) ≥ 1 − q/p bounds its negative part, so it is +∞ exactly where
    ∫ p·|log(p/q)| diverges.  Where every expectation used exists that cannot happen; otherwise
    the tails of p·log(p/q) as a whole decide (terms may cancel), and where they cannot be decided
    nothing is claimed either way."""
    known, unshown = _condition_of(used)
    if known is sp.true and not unshown:
        return sp.true, None, ()
    whole = _refined(engine.sum_exists(ratio))
    why = _why(used)
    if whole is None:
        return None, None, unshown or tuple(e for e in used if e.exists is not sp.true)
    reason = "∫ p·log(p/q) diverges at an end of the support" + (f": {why}" if why else "")
    if whole is sp.false:
        return sp.false, reason, ()
    exists = sp.And(whole, known)
    return exists, (reason if exists is not sp.true else None), ()


#: The fields of a :class:`Pair` the cache keeps (the two declarations are looked up again).
_PAIR_FIELDS = tuple(f for f in Pair.__dataclass_fields__ if f not in ("p", "q"))


def _cached_pair(compute, p: Distribution, q: Distribution | None) -> Pair:
    """``compute()`` through the derivations' one on-disk cache (derive.derivation.memoised),
    keyed by the pair's names and declaration fingerprints and derive's version."""

    def save(pair):
        return {name: getattr(pair, name) for name in _PAIR_FIELDS}

    def restore(fields):
        return Pair(p=p, q=q, **fields)

    kind = "entropy" if q is None else "kl"
    return memoised(kind, (p,) if q is None else (p, q), compute, save, restore)


@cache
def entropy(name: str) -> Pair:
    """H(P) of a catalog entry, in its declared parameters suffixed _p (cached on disk).

    Parameters:
        name: a catalog name (`derive list`).

    Returns a :class:`Pair` with ``q`` None: ``entropy_p`` and the recorded ``steps``
    (``to_text()``, ``to_markdown()``, ``to_latex()``; a notebook shows it).

    >>> import derive
    >>> derive.entropy("exponential").entropy_p
    1 - log(lambda_p)
    """
    dist = get(name)
    _check_available(dist)
    return _cached_pair(lambda: _entropy(dist), dist, None)


def _entropy(dist: Distribution) -> Pair:
    _check_available(dist)
    side = _Side(dist, "p")
    engine = _Expectations(side)
    steps = [Step("densities", "the density", side.label("p", side.y), side.density())]
    value, used = _entropy_of(side, engine, steps)
    exists, unshown = _condition_of(used)
    return Pair(
        p=dist,
        q=None,
        params_p=side.params,
        params_q=(),
        y=side.y,
        entropy_p=value,
        expected=tuple(engine.used.values()),
        steps=steps,
        exists=None if unshown else exists,
        otherwise=_why(used) or None,
        unshown=unshown,
    )


@cache
def divergence(p_name: str, q_name: str) -> Pair:
    """H(P, Q), H(P) and KL(P ‖ Q) of two catalog entries, with the proofs (cached on
    disk).

    Parameters:
        p_name: the reference distribution P (a catalog name).
        q_name: the model Q (a catalog name); parameters are suffixed _p and _q.

    Returns a :class:`Pair`: ``kl``, ``cross_entropy``, ``entropy_p``, ``proofs`` (the
    identity H(P, Q) = H(P) + KL(P ‖ Q), KL(P ‖ P) = 0, …) and the recorded ``steps``.

    >>> import derive
    >>> pair = derive.divergence("exponential", "exponential")
    >>> pair.kl, all(pair.proofs.values())
    (log(lambda_p/lambda_q) - 1 + lambda_q/lambda_p, True)
    """
    p, q = get(p_name), get(q_name)
    _check_available(p)
    _check_available(q)
    return _cached_pair(lambda: _divergence(p, q), p, q)


def _divergence(p: Distribution, q: Distribution) -> Pair:
    P, Q = _Side(p, "p"), _Side(q, "q")
    reason, condition = _infinite_reason(P, Q)
    y = P.y
    engine = _Expectations(P)
    steps = [
        Step(
            "densities",
            "the two densities",
            P.label("p", y),
            P.density(),
            {"q": Q.label("q", Q.y), "q_density": Q.density()},
        )
    ]
    pair = Pair(p, q, P.params, Q.params, y, entropy_p=sp.S.Zero, condition=condition, steps=steps)
    if reason is not None:
        pair.entropy_p, _ = _entropy_of(P, engine, steps)
        pair.cross_entropy = pair.kl = sp.oo
        pair.infinite = reason
        pair.supports = (support(p, P), support(q, Q))
        steps.append(Step("infinite", reason, KL_PQ, sp.oo))
        pair.expected = tuple(engine.used.values())
        return pair

    simplex = P.simplex_params
    nll_q = Q.nll(y)
    lhs_q = -Q.log("q", y)
    steps.append(
        Step(
            "definition",
            "the cross-entropy is Q's expected negative log-density under P",
            H_PQ,
            Expectation(lhs_q),
        )
    )
    steps.append(Step("nll", "−log q is linear in statistics of y", lhs_q, nll_q))
    cross = tidy(engine.of(nll_q), simplex, engine.values())
    steps += _expectation_steps(engine, p.name)
    steps.append(Step("cross-entropy", "by linearity of expectation", H_PQ, cross))

    before = len(engine.used)
    nll_p = P.nll(y)
    entropy_p = tidy(engine.of(nll_p), simplex, engine.values())
    steps += _expectation_steps(engine, p.name, before)
    steps.append(Step("entropy", "the entropy is the cross-entropy with Q = P", H_P, entropy_p))

    ratio = nll_q - nll_p  # log p − log q: terms common to both cancel here, before 𝔼
    lhs_ratio = sp.Add(P.log("p", y), -Q.log("q", y), evaluate=False)
    steps.append(Step("log-ratio", "the log-density ratio", lhs_ratio, ratio))
    before = len(engine.used)
    kl, used = engine.collect(ratio)
    kl = tidy(kl, simplex, engine.values())
    steps += _expectation_steps(engine, p.name, before)
    pair.exists, pair.otherwise, pair.unshown = _kl_exists(engine, used, ratio)
    if pair.exists is sp.false:  # the integral diverges for every parameter value
        pair.entropy_p, pair.cross_entropy, pair.kl = entropy_p, sp.oo, sp.oo
        pair.infinite, pair.exists = pair.otherwise, sp.true
        pair.expected = tuple(engine.used.values())
        steps.append(Step("divergent", pair.infinite, KL_PQ, sp.oo))
        return pair
    steps.append(
        Step(
            "kl",
            "KL is the expected log-density ratio",
            KL_PQ,
            kl,
            {"expectation": Expectation(lhs_ratio)},
        )
    )

    pair.entropy_p, pair.cross_entropy, pair.kl = entropy_p, cross, kl
    pair.expected = tuple(engine.used.values())
    total = engine.total
    pair.proofs["identity"] = is_zero(cross - entropy_p - kl, simplex, total)
    if _same_family(p, q):
        same = dict(zip(Q.params, P.params, strict=True))
        pair.proofs["self"] = is_zero(kl.xreplace(same), simplex, total)
        continuous = [s for s in Q.scalar_params if not s.is_integer]
        if len(Q.scalar_params) == len(Q.params) and continuous:
            pair.proofs["stationary"] = all(
                is_zero(sp.diff(cross, theta).xreplace(same), simplex, total)
                for theta in continuous
            )
    return pair


# ---------------------------------------------------------------------------- classics


@dataclass
class Classic:
    """A known result re-derived from the pairs above, with its proof: ``lhs = rhs`` ≡ ``claim``."""

    key: str
    title: str
    steps: list[Step]
    claim: tuple  # (lhs, rhs): the result as it is usually written
    proven: bool


def vae_kl() -> Classic:
    """The VAE term KL(N(μ, σ²) ‖ N(0, 1)) = ½(μ² + σ² − 1 − log σ²), from the Gaussian pair."""
    pair = divergence("gaussian-hetero", "gaussian-hetero")
    (mu, sigma), (mu_q, sigma_q) = pair.params_p, pair.params_q
    prior = {mu_q: sp.S.Zero, sigma_q: sp.S.One}
    value = tidy(pair.kl.xreplace(prior))
    familiar = sp.Mul(
        sp.S.Half,
        sp.Add(mu**2, sigma**2, -1, -sp.log(sigma**2), evaluate=False),
        evaluate=False,
    )
    lhs = _Label(
        "KL(N(μ, σ²) ‖ N(0, 1))",
        r"\operatorname{KL}\left(\mathcal{N}(\mu_{p}, "
        r"\sigma_{p}^{2}) \,\middle\|\, \mathcal{N}(0, 1)\right)",
    )
    steps = [
        Step("kl", "KL between two Gaussians (the gaussian-hetero pair)", KL_PQ, pair.kl),
        Step("substitute", "the prior: μ_q = 0, σ_q = 1", lhs, value, {"values": prior}),
        Step("claim", "as usually written", lhs, familiar),
    ]
    return Classic("vae", "The VAE term", steps, (lhs, familiar), is_zero(value - familiar))


def label_smoothing() -> Classic:
    """Label smoothing: the cross-entropy against (1 − ε)·t + ε/K is (1 − ε)·H(T, Q) +
    ε·(log K + KL(U ‖ Q)): the ordinary loss plus a pull of Q toward the uniform U."""
    name = "categorical" if "categorical" in CATALOG else "categorical-logit"
    pair = divergence(name, name)
    p = pair.params_p[0]
    eps = sp.Symbol("epsilon", positive=True)
    t = sp.IndexedBase("t", nonnegative=True)
    K = N_CLASSES

    def with_p(expr, value):
        return expr.replace(
            lambda e: isinstance(e, sp.Indexed) and e.base == p, lambda e: value(e.indices[0])
        )

    smoothed = with_p(pair.cross_entropy, lambda k: (1 - eps) * t[k] + eps / K)
    target = with_p(pair.cross_entropy, lambda k: t[k])
    uniform = tidy(with_p(pair.kl, lambda k: 1 / K))
    split = tidy(smoothed)
    claim = sp.Add(
        sp.Mul(1 - eps, _Label("H(T, Q)", r"H\left(T, Q\right)"), evaluate=False),
        sp.Mul(
            eps,
            sp.Add(
                sp.log(K),
                _Label("KL(U ‖ Q)", r"\operatorname{KL}\left(U \,\middle\|\, Q\right)"),
                evaluate=False,
            ),
            evaluate=False,
        ),
        evaluate=False,
    )
    lhs = _Label("H(Pε, Q)", r"H\left(P_{\epsilon}, Q\right)")
    steps = [
        Step("cross-entropy", f"the cross-entropy of the {name} pair", H_PQ, pair.cross_entropy),
        Step("substitute", "smoothed targets p_k = (1 − ε)·t_k + ε/K, the sum split", lhs, split),
        Step(
            "target",
            "the cross-entropy against the one-hot target t",
            claim.args[0].args[1],
            target,
        ),
        Step(
            "uniform",
            "KL from the uniform U (p_k = 1/K) to Q",
            claim.args[1].args[1].args[1],
            uniform,
        ),
        Step("claim", "hence", lhs, claim),
    ]
    proven = is_zero(smoothed - ((1 - eps) * target + eps * (sp.log(K) + uniform)), (t,))
    return Classic("label-smoothing", "The label-smoothing identity", steps, (lhs, claim), proven)


def _statistics_visible(expr):
    """Stable primitives written out (xlogy(y, p) = y·log p, log1p(x) = log(1 + x), …) so that the
    statistics of y show; Huber's function stays (its expectation is explicit either way)."""
    return expr.replace(
        lambda e: isinstance(e, PRIMITIVES) and not isinstance(e, (huber, loggamma)),
        lambda e: elementary(e),
    )


def _substitute_link(expr, dist, side: _Side, link):
    """θ_q → its inverse link of the raw output, both in Q's symbols."""
    rename = {dist.symbols[name]: symbol for name, symbol in side.symbols.items()}
    value = dist.link_expr(link).xreplace(rename)
    param = side.symbols[link.param]
    if isinstance(param, sp.IndexedBase):
        return expr.replace(
            lambda e: isinstance(e, sp.Indexed) and e.base == param,
            lambda e: value.subs(CLASS_INDEX, e.indices[0]),
        )
    return expr.xreplace({param: value})


@cache
def expected_loss(name: str) -> Classic:
    """The link back to the losses: for the derived loss of ``name`` (a·loss + dropped = −log q),
    𝔼_P[a·loss + dropped] = H(P, Q) = H(P) + KL(P ‖ Q), so as a > 0 and the dropped terms do not
    involve Q, the expected loss is least where KL(P ‖ Q) = 0, at Q = P."""
    dist = get(name)
    d = derive_cached(dist)
    pair = divergence(name, name)
    P, Q = _Side(dist, "p"), _Side(dist, "q")
    rename = {dist.symbols[n]: s for n, s in Q.symbols.items()}
    loss, scale, dropped = (e.xreplace(rename) for e in (d.loss, d.scale, d.dropped))
    engine = _Expectations(P)
    expected = tidy(engine.of(_statistics_visible(loss)), P.simplex_params)
    expected_dropped = tidy(engine.of(_statistics_visible(dropped)), P.simplex_params)
    kl = pair.kl
    for link in dist.links:
        kl = _substitute_link(kl, dist, Q, link)
    learned = tuple(Q.symbols[v.name] for v in dist.learned)
    loss_lhs = Expectation(_Label("ℓ(y)", r"\ell\left(y\right)"))
    steps = [
        Step(
            "loss",
            f"the derived loss of {name}: −log q = a·ℓ + dropped",
            _Label("ℓ(y)", r"\ell\left(y\right)"),
            loss,
            {"scale": scale, "dropped": dropped},
        ),
        *_expectation_steps(engine, name),
        Step("expected-loss", "its expectation under P, by linearity", loss_lhs, expected),
        Step("kl", "KL(P ‖ Q) in the learned outputs", KL_PQ, kl),
    ]
    claim_rhs = sp.Add(H_P, KL_PQ, evaluate=False)
    claim_lhs = sp.Add(
        sp.Mul(scale, loss_lhs, evaluate=False),
        Expectation(_Label("dropped", r"\mathrm{dropped}")),
        evaluate=False,
    )
    steps.append(
        Step(
            "claim",
            "hence, with a > 0 and H(P) free of Q, the expected loss is least at Q = P",
            claim_lhs,
            claim_rhs,
            {"learned": learned},
        )
    )
    proven = is_zero(
        scale * expected + expected_dropped - pair.entropy_p - kl, P.simplex_params, engine.total
    )
    return Classic(
        f"expected-loss-{name}", f"Expected {name} loss", steps, (claim_lhs, claim_rhs), proven
    )


def classics() -> list[Classic]:
    """The classics of the document: the VAE term, label smoothing, the Gaussian expected loss."""
    return [vae_kl(), label_smoothing(), expected_loss("gaussian")]


# ---------------------------------------------------------------------------- presentation


def groups(steps) -> list[tuple[str, list[Step]]]:
    """Steps with consecutive expectations of one source gathered: [(kind, [step, …]), …]."""
    out: list[tuple[str, list[Step]]] = []
    for step in steps:
        if (
            step.kind == "expectation"
            and out
            and out[-1][0] == "expectation"
            and out[-1][1][0].data["source"] == step.data["source"]
        ):
            out[-1][1].append(step)
        else:
            out.append((step.kind, [step]))
    return out


__all__ = [
    "STATISTICS",
    "Expectation",
    "Pair",
    "divergence",
    "entropy",
    "is_zero",
    "neg_log",
    "support",
    "tidy",
]
