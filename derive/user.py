r"""`derive new`: a distribution declared by its density, typed in LaTeX or given in SymPy.

    derive new --density '\frac{\beta^\alpha}{\Gamma(\alpha)} y^{\alpha-1} e^{-\beta y}' \
        --observed y --param alpha beta --positive alpha beta --support 0,oo

The density is read (:mod:`derive.parse`), its symbols get the assumptions their role implies
(real unless declared ``--positive`` or ``--probability``; the observed variable's from
``--support`` and ``--discrete``), and three checks run before the derivation:

1. the observed variable and every parameter occur in the density, and nothing else undeclared;
2. the density is non-negative (and real) at random points of the support and the parameters'
   domains;
3. it normalises: quadrature (continuous) or summation (discrete) at random parameter values, and
   where that does not give 1, the symbolic integral or sum.  A density that does not normalise is
   refused with the integral found; ``--normalize`` divides by it.

Everything runs under a time budget (``--timeout``, default 30 s).  The same from Python:
``declare(expr_or_tex, observed="y", params=["mu"], ...)`` returns the checked declaration and
``new(...)`` its derivation.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from .budget import NO_BUDGET, Expired, TimeBudget
from .errors import UserError, shown
from .numeric import NUMERIC_ERRORS, compiled
from .parse import IDENTIFIER, MAX_DIGITS, Parsed, parse_latex
from .progress import Report
from .spec import CLASS_INDEX, N_CLASSES, Distribution, Var

DEFAULT_TIMEOUT = 30.0
#: Part of the budget the symbolic integral may use before quadrature's answer stands.
SYMBOLIC_SHARE = 0.4
#: Seconds the symbolic integral may take on its first try, before quadrature.
FIRST_SYMBOLIC = 4.0
TOLERANCE = 1e-6  # |∫ p − 1| accepted from quadrature
CLASSES = 3  # K used to check vector densities numerically


# ---------------------------------------------------------------------------- declaration


@dataclass
class Declared:
    """A checked declaration and what the checks found (for the echo before the derivation)."""

    dist: Distribution
    source: str
    readings: tuple[str, ...] = ()
    checks: list[str] = field(default_factory=list)
    normaliser: sp.Expr | None = None

    @property
    def density(self) -> sp.Expr:
        return self.dist.density_expr()


class _Formula:
    """The density as a function of the declaration's symbols, in order."""

    def __init__(self, expr, symbols):
        self.expr, self.symbols = expr, tuple(symbols)

    def __call__(self, *args):
        return self.expr.xreplace(dict(zip(self.symbols, args, strict=True)))


def _names(values, flag) -> list[str]:
    """Names from the command line or Python: strings, comma-separated or repeated."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out = []
    for value in values:
        if not isinstance(value, str):
            raise UserError(f"{flag}: expected a name, got {shown(value)}")
        for name in value.split(","):
            name = name.strip()
            if not IDENTIFIER.match(name):
                raise UserError(
                    f"{flag} {shown(name)} is not a symbol name (a letter, then letters, digits, _)"
                )
            if len(name) > MAX_NAME:
                raise UserError(f"{flag} {shown(name)}: a name has at most {MAX_NAME} characters")
            out.append(name)
    return out


#: The longest name of a symbol or a distribution.
MAX_NAME = 64
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)\Z")
_INFINITE = {"oo": sp.oo, "+oo": sp.oo, "inf": sp.oo, "+inf": sp.oo, "-oo": -sp.oo, "-inf": -sp.oo}
_CONSTANTS = {"pi": sp.pi, "-pi": -sp.pi, "2pi": 2 * sp.pi}


def _bound(text: str, fixed: Sequence[str]):
    text = text.strip().replace("\\infty", "oo").replace("∞", "oo").replace("\\pi", "pi")
    text = text.replace(" ", "")
    if text in _INFINITE:
        return _INFINITE[text]
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if _NUMBER.match(text):
        digits = sum(c.isdigit() for c in text)
        if digits > MAX_DIGITS:
            raise UserError(
                f"--support bound {shown(text)} has {digits} digits; the limit is {MAX_DIGITS}"
            )
        return sp.Rational(text)  # a validated digit string: no parsing of expressions
    if IDENTIFIER.match(text):
        if text not in fixed:
            raise UserError(
                f"--support bound {shown(text)} is not a fixed symbol; a bound is a number, oo, pi "
                f"or a --fixed symbol"
            )
        return text
    raise UserError(f"--support bound {shown(text)} is not a number, oo, pi or a --fixed symbol")


def _python_bound(bound, fixed: Sequence[str]):
    if isinstance(bound, str):
        return _bound(bound, fixed)
    if isinstance(bound, sp.Symbol):
        return _bound(bound.name, fixed)
    if isinstance(bound, bool) or not isinstance(bound, (int, float, sp.Number, sp.NumberSymbol)):
        raise UserError(f"support bound {shown(bound)}: a number, oo, pi or a fixed symbol")
    if isinstance(bound, float):
        return sp.oo if bound == math.inf else -sp.oo if bound == -math.inf else sp.Rational(bound)
    return sp.S(bound) if isinstance(bound, int) else bound


def _support(support, fixed: Sequence[str]):
    if support is None:
        return None
    if isinstance(support, str):
        text = support.strip().strip("()[]")
        parts = text.split(",")
        if len(parts) != 2:
            raise UserError(f"--support {shown(support)}: give two bounds, LO,HI (e.g. 0,oo)")
        lo, hi = (_bound(p, fixed) for p in parts)
    else:
        if len(support) != 2:
            raise UserError("support: give two bounds (lo, hi)")
        lo, hi = (_python_bound(b, fixed) for b in support)
    if isinstance(lo, sp.Basic) and isinstance(hi, sp.Basic) and not lo < hi:
        raise UserError(f"--support: the lower bound {lo} is not below the upper bound {hi}")
    return lo, hi


def _observed_constraint(discrete, vector, lo, hi, fixed_vars):
    """The observed variable's constraint and the support it should override, if any."""

    def nonnegative(bound):
        if isinstance(bound, str):
            return fixed_vars[bound].constraint in ("positive", "unit_interval", "count")
        return bound >= 0

    if vector:
        if (lo, hi) not in ((0, 1), (0, sp.oo), (-sp.oo, sp.oo)):
            raise UserError("a vector observed variable lies on the simplex; drop --support")
        return ("onehot" if discrete else "simplex"), None
    if discrete:
        if not nonnegative(lo):
            raise UserError(
                f"a discrete observed variable counts from 0 or more; the support starts at {lo}"
            )
        if not isinstance(lo, str) and not lo.is_integer:
            raise UserError(f"a discrete support starts at an integer, not {lo}")
        constraint = "binary" if (lo, hi) == (0, 1) else "count"
    elif nonnegative(lo) and lo != -sp.oo:
        constraint = "unit_interval" if (lo, hi) == (0, 1) else "positive"
    else:
        constraint = "real"
    from .spec import CONSTRAINTS

    natural = CONSTRAINTS[constraint].support
    return constraint, (None if (lo, hi) == tuple(natural) else (lo, hi))


def declare(
    density,
    observed: str,
    params: Iterable[str],
    fixed: Iterable[str] = (),
    *,
    discrete: bool = False,
    support=None,
    positive: Iterable[str] = (),
    probability: Iterable[str] = (),
    name: str = "new",
    title: str | None = None,
    normalize: bool = False,
    budget: TimeBudget = NO_BUDGET,
    seed: int = 0,
    report: Report | None = None,
) -> Declared:
    """A checked :class:`Distribution` from a density (LaTeX text or a SymPy expression).

    Symbols are matched by name (``\\mu`` is ``mu``, ``x_m`` is ``x_m``); a SymPy expression's
    symbols may carry any assumptions, the declaration sets them afresh.  Raises
    :class:`UserError` naming the problem.

    Parameters (as `derive new`'s options): density (LaTeX or SymPy), observed (the observed
    variable's name), params (learned), fixed; discrete (a count), support ((lo, hi) of the
    observed variable), positive and probability (names of symbols > 0 / in (0, 1)), name and
    title (how outputs call it), normalize (divide by the normaliser when it is not 1), report
    (a derive.progress callback that hears of each stage).

    >>> import derive
    >>> declared = derive.declare(r"\\lambda e^{-\\lambda y}", "y", ["lambda"],
    ...                           support=(0, "oo"), positive=["lambda"])
    >>> declared.dist.name, declared.checks[-1]
    ('new', 'normalises: the symbolic integral over (0, ∞) is 1')
    """
    observed_name = _names(observed, "--observed")
    if len(observed_name) != 1:
        raise UserError("--observed: give exactly one observed variable")
    (y_name,) = observed_name
    param_names = _names(params, "--param")
    fixed_names = _names(fixed, "--fixed")
    positive_names = _names(positive, "--positive")
    probability_names = _names(probability, "--probability")
    if not param_names:
        raise UserError("--param: give at least one learned parameter")
    _distinct(y_name, param_names, fixed_names)
    for flag, names in (("--positive", positive_names), ("--probability", probability_names)):
        for n in names:
            if n == y_name:
                raise UserError(
                    f"{flag} {n}: the observed variable takes its domain from --support and "
                    "--discrete"
                )
            if n not in param_names and n not in fixed_names:
                raise UserError(f"{flag} {n}: not a --param or --fixed symbol")
    both = set(positive_names) & set(probability_names)
    if both:
        raise UserError(f"{sorted(both)[0]} is declared both --positive and --probability")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,%d}" % (MAX_NAME - 1), name or ""):
        raise UserError(
            f"--name {shown(name)}: use letters, digits, '-', '_' and '.', "
            f"at most {MAX_NAME} characters"
        )
    bounds = _support(support, fixed_names)

    declared_names = [y_name, *param_names, *fixed_names]
    if report is not None:  # the stages that can take seconds (see derive.progress)
        report("derive new", 1, 3, "reading the density")
    parsed = _read(density, declared_names)
    expr = parsed.expr
    used, vectors = parsed.names, parsed.vectors
    _check_names(expr, parsed, y_name, param_names, fixed_names, used, vectors, bounds)

    def constraint(n):
        if n in probability_names:
            return "simplex" if n in vectors else "unit_interval"
        if n in positive_names:
            return "positive"
        return "real"

    fixed_vars = {}
    for n in fixed_names:
        c = constraint(n)
        if bounds and n in bounds and discrete:
            if n in probability_names:
                raise UserError(f"{n} bounds a discrete support: a count, not a probability")
            c = "count"  # the upper end of a count: a non-negative integer
        fixed_vars[n] = Var(n, c, vector=n in vectors)
    lo, hi = bounds or ((sp.S.Zero, sp.oo) if discrete else (-sp.oo, sp.oo))
    y_constraint, override = _observed_constraint(discrete, y_name in vectors, lo, hi, fixed_vars)
    y_var = Var(y_name, y_constraint, vector=y_name in vectors)
    param_vars = tuple(Var(n, constraint(n), vector=n in vectors) for n in param_names)
    fixed_tuple = tuple(fixed_vars[n] for n in fixed_names)

    ordered = (y_var, *param_vars, *fixed_tuple)
    symbols = {v.name: v.symbol() for v in ordered}
    plain = [sp.IndexedBase(v.name) if v.vector else sp.Symbol(v.name) for v in ordered]
    expr = expr.xreplace(dict(zip(plain, [symbols[v.name] for v in ordered], strict=True)))
    if override is not None:
        override = tuple(symbols[b] if isinstance(b, str) else b for b in override)
    source = density if isinstance(density, str) else sp.sstr(density)
    dist = Distribution(
        name=name,
        title=title or "density declared with `derive new`",
        observed=y_var,
        params=param_vars,
        fixed=fixed_tuple,
        density=_Formula(expr, [symbols[v.name] for v in ordered]),
        support=override,
        symbols_=symbols,
        notes=f"density as given: {source}",
    )
    out = Declared(dist, source, parsed.readings)
    if report is not None:
        report("derive new", 2, 3, "checking that it is a density (sign, normalisation)")
    _check_density(out, normalize, budget, seed)
    return out


def _distinct(y, params, fixed):
    seen = {}
    for role, names in (("--observed", [y]), ("--param", params), ("--fixed", fixed)):
        for n in names:
            if n in seen:
                where = role if seen[n] == role else f"{seen[n]} and {role}"
                raise UserError(f"{n} is declared twice ({where})")
            seen[n] = role


def _read(density, declared_names) -> Parsed:
    if isinstance(density, str):
        return parse_latex(density, declared_names)
    if isinstance(density, sp.Basic) and not isinstance(density, sp.logic.boolalg.Boolean):
        expr = sp.sympify(density, strict=True)  # a SymPy object already: nothing is parsed
        plain = {}
        for s in expr.free_symbols:
            if isinstance(s, sp.Symbol) and s not in (CLASS_INDEX, N_CLASSES):
                plain[s] = sp.Symbol(s.name)
        for base in expr.atoms(sp.IndexedBase):
            plain[base] = sp.IndexedBase(base.label.name)
        return Parsed(expr.xreplace(plain), sp.sstr(expr))
    raise UserError("the density must be LaTeX text or a SymPy expression")


_HINTS = {"e": "e reads as Euler's number", "pi": "\\pi reads as the constant π"}


def _check_names(expr, parsed, y, params, fixed, used, vectors, bounds):
    declared = {y, *params, *fixed}
    every = used | vectors
    undeclared = sorted(every - declared)
    if undeclared:
        n = undeclared[0]
        raise UserError(
            f"the density uses {n}, which is not declared: add --param {n} or --fixed {n}"
            + (f" (read the density as {sp.sstr(expr)})" if len(sp.sstr(expr)) < 120 else "")
        )
    both = used & vectors
    if both:
        n = sorted(both)[0]
        raise UserError(f"{n} is used both as a scalar and as a vector {n}_k")
    for role, names in (("observed variable", [y]), ("parameter", params)):
        for n in names:
            if n not in every:
                hint = f" ({_HINTS[n]})" if n in _HINTS else ""
                raise UserError(f"the {role} {n} does not occur in the density{hint}")
    in_support = {b for b in (bounds or ()) if isinstance(b, str)}
    for n in fixed:
        if n not in every and n not in in_support:
            hint = f" ({_HINTS[n]})" if n in _HINTS else ""
            raise UserError(
                f"the fixed symbol {n} occurs neither in the density nor the support{hint}"
            )
    for n in ("k", "K"):
        if vectors and n in declared:
            raise UserError(f"{n} names the class axis (k = 1..K) of this density; rename {n}")
    if vectors and y not in vectors:
        raise UserError(
            f"the density sums over a class index, but the observed {y} is not indexed ({y}_k)"
        )


# ---------------------------------------------------------------------------- numeric checks


def _safely(make, what):
    try:
        return make()
    except NUMERIC_ERRORS as exc:
        raise UserError(f"the density cannot be {what}: {exc}") from None


def _draw(var, symbol, rng):
    """A random value of a variable from its constraint's sampler (K components for vectors)."""
    value = var.draw(rng, CLASSES)
    if var.vector:
        return {symbol[i + 1]: mpmath.mpf(float(v)) for i, v in enumerate(value)}
    return {symbol: mpmath.mpf(value)}


def _expand_classes(expr):
    return expr.subs(N_CLASSES, CLASSES).doit() if expr.has(N_CLASSES) else expr


def _real(value, where):
    """``value`` as a real mpf; ``where()`` names the point in the error."""
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) > 1e-12 * max(1, abs(value.real)):
            raise UserError(f"the density is not real at {where()}: {mpmath.nstr(value, 6)}")
        value = value.real
    if mpmath.isnan(value):
        raise UserError(f"the density is undefined at {where()}")
    return value


def _where(env):
    return ", ".join(f"{s}={mpmath.nstr(v, 4)}" for s, v in env.items())


@dataclass
class _Draw:
    env: dict
    lo: object
    hi: object


def _parameter_draws(dist, rng, count):
    """Random values of every parameter and fixed symbol, with the support they imply."""
    out = []
    for _ in range(count):
        env = {}
        for var in (*dist.params, *dist.fixed):
            env.update(_draw(var, dist.sym(var), rng))
        lo, hi = (_bound_at(b, env) for b in dist.support_bounds)
        out.append(_Draw(env, lo, hi))
    return out


def _bound_at(bound, env):
    """A support bound at a draw: numbers stay exact, a fixed symbol takes its drawn value."""
    if isinstance(bound, sp.Symbol):
        return sp.Float(env[bound], 30)
    return sp.S(bound)


def _observations(dist, draw, rng, count):
    """Points of the support: integers for a discrete variable, spread values otherwise."""
    y = dist.sym(dist.observed)
    if dist.observed.vector:
        return [_draw(dist.observed, y, rng) for _ in range(count)]
    lo, hi = draw.lo, draw.hi
    if dist.discrete:
        top = int(lo) + 40 if hi == sp.oo else int(hi)
        return [{y: mpmath.mpf(int(v))} for v in rng.integers(int(lo), top + 1, count)]
    lo_f, hi_f = float(lo), float(hi)
    values = []
    for scale in rng.choice([0.05, 0.5, 2.0, 8.0], count):
        if math.isfinite(lo_f) and math.isfinite(hi_f):
            v = lo_f + (hi_f - lo_f) * rng.uniform(0.001, 0.999)
        elif math.isfinite(lo_f):
            v = lo_f + rng.exponential(scale) + 1e-6
        elif math.isfinite(hi_f):
            v = hi_f - rng.exponential(scale) - 1e-6
        else:
            v = rng.normal(0, scale)
        values.append({y: mpmath.mpf(v)})
    return values


def _check_density(declared: Declared, normalize: bool, budget: TimeBudget, seed: int) -> None:
    dist = declared.dist
    rng = np.random.default_rng(seed)
    expr = _expand_classes(dist.density_expr())
    evaluate = _safely(lambda: compiled(expr), "evaluated")
    draws = _parameter_draws(dist, rng, 6)
    with mpmath.workdps(20):
        points = 0
        for draw in draws:
            for obs in _observations(dist, draw, rng, 8):
                env = {**draw.env, **obs}
                where = _where(env)
                try:
                    value = _real(evaluate(env), lambda where=where: where)
                except NUMERIC_ERRORS as exc:
                    raise UserError(f"the density cannot be evaluated at {where} ({exc})") from None
                if value < 0:
                    raise UserError(
                        f"the density is negative at {where} ({mpmath.nstr(value, 6)})"
                        + _undeclared_hint(dist, env)
                    )
                if mpmath.isinf(value):
                    raise UserError(f"the density is infinite at {where}")
                points += 1
    declared.checks.append(f"non-negative at {points} random points")
    _check_normalised(declared, normalize, budget, rng)


def _undeclared_hint(dist, env):
    """Name the real symbols that were negative where the density was: the usual cause."""
    real = [
        v.name
        for v in (*dist.params, *dist.fixed)
        if v.constraint == "real" and not v.vector and env[dist.sym(v)] < 0
    ]
    if not real:
        return ""
    return f"; is {', '.join(real)} meant to be --positive or --probability?"


def _total(dist, expr, draw):
    """(∫ or Σ of the density over the support at one parameter draw, its error estimate).

    The integral is taken after a substitution that maps the support onto ℝ and turns heavy tails
    into exponential ones (y = lo + e^u on (lo, ∞), y = m + w·sinh u on ℝ, a logistic map on a
    bounded interval), split at the mode of the integrand and a few widths around it; mpmath's
    error estimate comes with it.  A series is summed twice by Euler–Maclaurin,
    its tail taken from two starting points, their difference being its error estimate."""
    y = dist.sym(dist.observed)
    if dist.observed.vector:
        components = [y[i + 1] for i in range(CLASSES)]
        evaluate = compiled(expr, draw.env, components)
        return _total_vector(dist, evaluate, components, draw)
    evaluate = compiled(expr, draw.env, [y])

    def f(v):
        env = {**draw.env, y: v}
        return _real(evaluate(env), lambda: _where(env))

    lo, hi = draw.lo, draw.hi
    if dist.discrete:
        return _series(f, int(lo), hi)
    lo_m = mpmath.mpf(float(lo)) if lo != -sp.oo else -mpmath.inf
    hi_m = mpmath.mpf(float(hi)) if hi != sp.oo else mpmath.inf
    to_y, jacobian = _substitution(lo_m, hi_m, draw)

    def g(u, far=690):
        if abs(u) > far:  # y past e^690: what is left of an integrable density is nothing
            return mpmath.mpf(0)
        v = to_y(u)
        if not lo_m < v < hi_m:  # rounded onto an end
            return mpmath.mpf(0)
        try:
            return f(v) * jacobian(u)
        except (OverflowError, UserError):
            if abs(v) > _FAR:  # ∞/∞ or a float conversion far out in a tail: nothing there
                return mpmath.mpf(0)
            raise

    centre, width, heavy = _spread(g)
    if not heavy:
        return mpmath.quad(g, _breaks(g), error=True, maxdegree=8)

    # tails heavy even in u (a log-Cauchy is a Cauchy in log y): a second map around the mode,
    # u = u₀ + w·sinh t, makes them light, and u runs to 1e7 (y = e^(1e7), density or not)
    def h(t):
        u = centre + width * mpmath.sinh(t)
        return g(u, far=10**7) * width * mpmath.cosh(t)

    return mpmath.quad(h, _breaks(h), error=True, maxdegree=8)


_FAR = mpmath.mpf("1e100")  # |y| past which a density that overflows is taken as 0


def _substitution(lo, hi, draw):
    """(u → y, dy/du) mapping ℝ onto (lo, hi) with heavy tails made light."""
    if mpmath.isfinite(lo) and mpmath.isfinite(hi):
        width = hi - lo
        return (
            lambda u: lo + width * mpmath.exp(-mpmath.log1p(mpmath.exp(-u))),
            lambda u: width / (4 * mpmath.cosh(u / 2) ** 2),
        )
    if mpmath.isfinite(lo):
        return (lambda u: lo + mpmath.exp(u)), mpmath.exp
    if mpmath.isfinite(hi):
        return (lambda u: hi - mpmath.exp(u)), mpmath.exp
    values = [abs(v) for v in draw.env.values() if mpmath.isfinite(v)]
    centre = mpmath.mpf(0)
    scale = max([mpmath.mpf(1), *values])
    return (lambda u: centre + scale * mpmath.sinh(u)), (lambda u: scale * mpmath.cosh(u))


def _spread(g):
    """(The mode of g on a grid of u ∈ [−40, 40], an eighth of the range where g exceeds 1e-8 of
    it, whether g is still above 1e-12 of it at the ends of the grid: a heavy tail in u)."""
    grid = [mpmath.mpf(k) / 4 for k in range(-160, 161)]
    values = []
    for u in grid:
        try:
            values.append(g(u))
        except NUMERIC_ERRORS:
            values.append(mpmath.mpf(0))
    best = max(values)
    if not best > 0:
        return mpmath.mpf(0), mpmath.mpf(1), False
    mode = grid[values.index(best)]
    inside = [u for u, v in zip(grid, values, strict=True) if v > best * mpmath.mpf("1e-8")]
    heavy = max(values[0], values[-1]) > best * mpmath.mpf("1e-12")  # not negligible at |u| = 40
    return mode, max((max(inside) - min(inside)) / 8, mpmath.mpf("0.25")), heavy


def _breaks(g):
    """Break points for tanh-sinh on ℝ: the mode of g on a grid of u and points around it, so that
    no narrow peak lies far from every node."""
    grid = [mpmath.mpf(k) / 4 for k in range(-160, 161)]
    best, mode = mpmath.mpf(-1), mpmath.mpf(0)
    values = []
    for u in grid:
        try:
            value = g(u)
        except NUMERIC_ERRORS:
            value = mpmath.mpf(0)
        values.append(value)
        if value > best:
            best, mode = value, u
    # where the integrand has fallen to 1e-8 of its peak on either side
    inside = [u for u, v in zip(grid, values, strict=True) if v > best * mpmath.mpf("1e-8")]
    lo, hi = (min(inside), max(inside)) if inside and best > 0 else (mpmath.mpf(-4), mpmath.mpf(4))
    inner = sorted({lo, (lo + mode) / 2, mode, (mode + hi) / 2, hi})
    return [-mpmath.inf, *inner, mpmath.inf]


def _series(f, lo: int, hi):
    """(Σ_{y ≥ lo} f(y), an error estimate): exact for a finite support."""
    if hi != sp.oo:
        return mpmath.fsum(f(mpmath.mpf(k)) for k in range(lo, int(hi) + 1)), 0

    near_term, far_term = f(mpmath.mpf(lo + 100)), f(mpmath.mpf(lo + 1000))
    if not mpmath.isfinite(far_term) or (near_term > 0 and far_term >= near_term):
        return mpmath.inf, 0  # the terms do not fall off: the series diverges

    def euler_maclaurin(head):  # the first terms exactly, the tail by Euler–Maclaurin
        exact = mpmath.fsum(f(mpmath.mpf(k)) for k in range(lo, lo + head))
        return exact + mpmath.nsum(f, [lo + head, mpmath.inf], method="euler-maclaurin")

    try:
        near, far = euler_maclaurin(10), euler_maclaurin(40)
    except (*NUMERIC_ERRORS, mpmath.libmp.NoConvergence):  # f not smooth between the integers
        richardson = mpmath.nsum(lambda k: f(mpmath.mpf(k)), [lo, mpmath.inf])
        return richardson, abs(richardson) * mpmath.mpf("1e-3")
    return far, abs(far - near)


def _total_vector(dist, evaluate, components, draw):
    if dist.discrete:
        total = 0
        for hot in range(CLASSES):
            env = {**draw.env, **{c: mpmath.mpf(int(i == hot)) for i, c in enumerate(components)}}
            total += _real(evaluate(env), lambda env=env: _where(env))
        return total, 0
    if CLASSES != 3:
        raise AssertionError("the simplex quadrature is written for K = 3")

    def f(u, v):  # y = (u, (1-u)v, (1-u)(1-v)), Jacobian 1 - u
        env = {**draw.env, components[0]: u, components[1]: (1 - u) * v}
        env[components[2]] = (1 - u) * (1 - v)
        return _real(evaluate(env), lambda: _where(env)) * (1 - u)

    return mpmath.quad(f, [0, 1], [0, 1], error=True, maxdegree=4)


@contextmanager
def _bounded_by(budget: TimeBudget, seconds: float):
    """``budget.limit(seconds)``; without a budget (the Python API's default) a budget of its own,
    so that a symbolic integral never runs unbounded."""
    if budget.seconds is not None:
        with budget.limit(seconds) as token:
            yield token
        return
    own = TimeBudget(seconds + 1.0)
    with own.running(), own.limit(seconds) as token:
        yield token


def _symbolic_total(dist, expr, budget, share=SYMBOLIC_SHARE, cap=10.0):
    """The symbolic ∫ or Σ over the support, or None (no closed form, or out of time).  A result
    SymPy gives under a convergence condition (a Piecewise) is its first case, with the condition:
    (total, condition)."""
    y = dist.sym(dist.observed)
    if dist.observed.vector:
        return None
    lo, hi = dist.support_bounds
    seconds = min(budget.remaining() * share, cap)
    try:
        with _bounded_by(budget, seconds) as token:
            if dist.discrete:  # an index as positive as the support allows (ζ needs y ≥ 1)
                k = sp.Dummy("k", integer=True, positive=bool(sp.sympify(lo) >= 1) or None)
                total = sp.summation(expr.xreplace({y: k}), (k, lo, hi))
            else:
                total = sp.integrate(expr, (y, lo, hi), conds="piecewise")
    except Expired as exc:
        if exc.token is not token:
            raise
        return None
    except Exception:  # SymPy's integrators fail in many ways; quadrature's answer stands
        return None
    condition = sp.true
    if isinstance(total, sp.Piecewise):
        total, condition = total.args[0]
    if total.has(sp.Integral, sp.Sum, sp.Piecewise, sp.nan, sp.zoo) or total.has(sp.oo):
        return None
    return total, condition


def _tails_integrable(dist, expr, budget):
    """Whether ∫ p (Σ p) converges at the ends of the support, from the tails (derive.tails):
    true, false, a condition on the parameters, or None (not decided in time)."""
    from .tails import integrable

    if dist.observed.vector:
        return None
    y = dist.sym(dist.observed)
    lo, hi = (sp.sympify(b) for b in dist.support_bounds)
    try:
        with _bounded_by(budget, min(budget.remaining() * 0.1, 3.0)) as token:
            log_p = sp.expand_log(sp.log(expr), force=False)
            return integrable(log_p, sp.S.Zero, y, lo, hi, dist.discrete)
    except Expired as exc:
        if exc.token is not token:
            raise
        return None
    except Exception:  # SymPy's limits fail in many ways; nothing is claimed then
        return None


def _at_draws(expr, draws):
    try:
        return [compiled(_expand_classes(sp.sympify(expr)))(d.env) for d in draws]
    except NUMERIC_ERRORS:
        return [mpmath.nan for _ in draws]


def _holds(condition, draws) -> bool:
    if condition is sp.true:
        return True
    try:
        return all(
            bool(condition.xreplace({k: sp.Float(v, 30) for k, v in d.env.items()})) for d in draws
        )
    except TypeError:  # a condition SymPy cannot decide at numbers
        return False


def _check_normalised(declared: Declared, normalize: bool, budget: TimeBudget, rng) -> None:
    """The symbolic integral (or sum) decides first; quadrature with its error estimate next; a
    total neither settles is accepted with a stated warning, refused only when clearly not 1."""
    dist = declared.dist
    expr = dist.density_expr()
    simplex = dist.observed.vector and not dist.discrete  # a 2-D quadrature: one draw
    draws = _parameter_draws(dist, rng, 1 if simplex else 3)
    over = _interval_text(dist)
    how = "sum" if dist.discrete else "integral"
    found = _symbolic_total(dist, expr, budget, share=SYMBOLIC_SHARE / 2, cap=FIRST_SYMBOLIC)
    symbolic = values = None
    if found is not None and _holds(found[1], draws):
        symbolic = found[0]
        values = _at_draws(symbolic, draws)
        if all(abs(v - 1) <= 1e-12 for v in values):
            declared.checks.append(f"normalises: the symbolic {how} over {over} is 1")
            if normalize:
                declared.checks.append("--normalize: already normalised, nothing to divide")
            return
    if _tails_integrable(dist, expr, budget) is sp.false:
        raise UserError(
            f"the density does not normalise: its {how} over {over} diverges (its tails are "
            "not integrable)"
        )
    totals = _totals(dist, _expand_classes(expr), draws)
    for (total, error), draw in zip(totals, draws, strict=True):
        if not mpmath.isfinite(total) or not mpmath.isfinite(error):
            raise UserError(
                f"the density does not normalise: its {how} over {over} diverges "
                f"(at {_where(draw.env)})"
            )
    error = max(e for _, e in totals)
    close = [abs(t - 1) <= max(TOLERANCE, 4 * e) for t, e in totals]
    method = "summed" if dist.discrete else "quadrature"
    if symbolic is None and not all(close):
        found = _symbolic_total(dist, expr, budget)  # a second, longer try
        if found is not None and _holds(found[1], draws):
            symbolic, values = found[0], _at_draws(found[0], draws)
            if all(abs(v - 1) <= 1e-12 for v in values):
                declared.checks.append(f"normalises: the symbolic {how} over {over} is 1")
                return
    if all(close) and error <= TOLERANCE:
        declared.checks.append(
            f"normalises: the {how} over {over} is 1 at {len(draws)} random parameter "
            f"value{'s' if len(draws) > 1 else ''} ({method}, error ≤ {mpmath.nstr(error, 2)})"
        )
        if normalize:
            declared.checks.append("--normalize: already normalised, nothing to divide")
        return
    if symbolic is not None:
        agree = all(
            abs(v - t) <= max(1e-4 * max(1, abs(v)), 10 * e)
            for v, (t, e) in zip(values, totals, strict=True)
        )
        if agree:
            if normalize:
                _divide(declared, symbolic, budget, over)
                return
            raise UserError(
                f"the density does not normalise: its {how} over {over} is {sp.sstr(symbolic)}, "
                f"not 1; pass --normalize to divide by it"
            )
    shown = ", ".join(mpmath.nstr(t, 6) for t, _ in totals)
    at = "; ".join(_where(d.env) for d in draws)
    clearly = [abs(t - 1) > max(1e-3, 100 * e) for t, e in totals]
    if not any(clearly) and not normalize:
        declared.checks.append(
            f"warning: not confirmed to normalise: the {how} over {over} is {shown} "
            f"({method}, error estimate {mpmath.nstr(error, 2)}) and no closed form was found"
        )
        return
    found = "no closed form found" if symbolic is None else "SymPy's closed form disagrees"
    if normalize:
        raise UserError(
            f"cannot --normalize: the {how} over {over} is {shown} (at {at}) and {found}; "
            "divide by it in the formula"
        )
    raise UserError(
        f"the density does not normalise: its {how} over {over} is {shown}, not 1 "
        f"(at {at}; {found})"
    )


def _totals(dist, expr, draws):
    out = []
    with mpmath.workdps(15):
        for draw in draws:
            try:
                total = _total(dist, expr, draw)
            except NUMERIC_ERRORS as exc:
                raise UserError(
                    f"the density cannot be integrated at {_where(draw.env)} ({exc})"
                ) from None
            value, error = total if isinstance(total, tuple) else (total, 0)
            out.append((_real(value, lambda env=draw.env: _where(env)), error))
    return out


def _divide(declared, symbolic, budget, over):
    dist = declared.dist
    formula = dist.density
    normalised = _Formula(formula.expr / symbolic, formula.symbols)
    declared.dist = dataclasses.replace(dist, density=normalised)
    declared.normaliser = symbolic
    declared.checks.append(f"--normalize: divided by its integral over {over}, {sp.sstr(symbolic)}")
    _check_normalised(declared, False, budget, np.random.default_rng(1))


def _interval_text(dist):
    if dist.observed.vector:
        kind = "one-hot vectors" if dist.discrete else "simplex"
        return f"the {kind} (K = {CLASSES})"
    lo, hi = dist.support_bounds
    if dist.discrete:
        return f"{{{lo}, …, {hi}}}".replace("oo", "∞")
    return f"({lo}, {hi})".replace("oo", "∞")


# ---------------------------------------------------------------------------- derivation


def new(density, observed, params, fixed=(), *, timeout: float | None = DEFAULT_TIMEOUT, **kw):
    """Declare, check and derive: the :class:`~derive.derivation.Derivation` of a new density.

    Parameters:
        density: the density p(observed | params, fixed), as LaTeX text (``\\frac{1}{2b}
            e^{-|y-\\mu|/b}``) or a SymPy expression.
        observed: the observed variable's name ("y").
        params: the learned parameters' names (["mu"]).
        fixed: the fixed parameters' names (["b"]).
        timeout: seconds before giving up (None: no limit).
        **kw: as :func:`declare`: ``positive=[...]``, ``probability=[...]``, ``support=(lo, hi)``,
            ``discrete=True``, ``name=``, ``title=``, ``normalize=True``.

    Raises :class:`~derive.errors.UserError` naming what is wrong (an unknown symbol, a density
    that does not normalise, ...).

    >>> import derive
    >>> d = derive.new(r"\\frac{1}{2b} e^{-|y-\\mu|/b}", "y", ["mu"], ["b"], positive=["b"])
    >>> d.standard.id, d.scale
    ('mae', 1/b)
    """
    from .derivation import derive

    budget = TimeBudget(timeout)
    with budget.running():
        declared = declare(density, observed, params, fixed, budget=budget, **kw)
        return check_real(derive(declared.dist))


def check_real(derivation):
    """The derivation, or a UserError where its NLL takes the logarithm of a factor whose sign is
    unknown (complex where that factor is negative): the message names the factor and the
    declaration that fixes it."""
    dist = derivation.dist
    rng = np.random.default_rng(0)
    draws = [dist.draw(rng, CLASSES) for _ in range(12)]
    for log in sorted(derivation.nll.atoms(sp.log), key=sp.default_sort_key):
        argument = log.args[0]
        if (
            argument.is_nonnegative
            or _even(argument)
            or not _negative_somewhere(argument, dist, draws)
        ):
            continue
        unknown = sorted(
            (s for s in argument.free_symbols if s.is_nonnegative is not True), key=str
        )
        names = " ".join(str(s) for s in unknown) or sp.sstr(argument)
        raise UserError(
            f"the NLL takes log({sp.sstr(argument)}), and the sign of {names} is unknown: "
            f"the loss would be complex where it is negative; declare --positive {names} "
            "(or write |…| in the density)"
        )
    return derivation


def _negative_somewhere(argument, dist, draws) -> bool:
    """Whether ``argument`` is negative at one of the draws (values by name) of the variables."""
    scalar = {v.name: dist.sym(v) for v in dist.variables if not v.vector}
    if argument.has(sp.Indexed, sp.Sum, sp.Product):
        return False  # components and class sums: the density check has seen them positive
    for values in draws:
        env = {scalar[n]: sp.Float(x, 20) for n, x in values.items() if n in scalar}
        value = argument.xreplace(env).evalf(15)
        if value.is_number and value.is_real and value < 0:
            return True
    return False


def _even(argument) -> bool:
    """An even power or an absolute value: nonnegative whatever the sign of its base."""
    base, exponent = argument.as_base_exp()
    return isinstance(argument, sp.Abs) or (exponent.is_even is True and base.is_real is True)
