"""Numbers from derived expressions, the one evaluator: :func:`evaluate` at one point to any
precision (SymPy's evalf; the second, numeric witness of symbolic claims, and the tests' value of a
derived formula; vector variables take sequences, whose length fixes the number of classes K), and
:func:`compiled` for many points (an mpmath function tree: derive new's checks and quadrature,
recognition's probe)."""

from __future__ import annotations

from collections.abc import Mapping

import mpmath
import numpy as np
import sympy as sp

from .functions import elementary, sigmoid, softplus, xlogy
from .spec import N_CLASSES


def _number(value, symbol, dps):
    if symbol.is_integer and float(value).is_integer():
        return sp.Integer(int(value))
    return sp.Float(float(value), dps)


def bind(expr, values: Mapping[sp.Basic, object], dps: int = 40):
    """Substitute numbers for symbols (and sequences for ``IndexedBase``), expanding class sums."""
    lengths = {len(v) for s, v in values.items() if isinstance(s, sp.IndexedBase)}
    if len(lengths) > 1:
        raise ValueError(f"vector arguments disagree on the number of classes: {sorted(lengths)}")
    expr = sp.sympify(expr)
    if lengths:
        expr = expr.subs(N_CLASSES, lengths.pop()).doit()
    scalars, components = {}, {}
    for symbol, value in values.items():
        if isinstance(symbol, sp.IndexedBase):
            for i, v in enumerate(np.ravel(value), start=1):
                components[symbol[i]] = _number(v, symbol, dps)
        else:
            scalars[symbol] = _number(value, symbol, dps)
    # a sum whose limits are data (the ordinal cutpoint c_y = Σ_{j ≤ y} …) has numeric limits
    # once the scalars are in: each becomes its number, put in with the scalars, so that a Min
    # of such sums is not built of symbolic sums (each took 13-17 ms of assumptions: 2 s of
    # recognising ordinal-probit)
    sums = {}
    for total in expr.atoms(sp.Sum):
        bound = total.xreplace(scalars)
        if all(b.is_Integer for _, *ab in bound.limits for b in ab):
            sums[total] = elementary(bound.doit().xreplace(components))
    # the components after the scalars (c[y + 1] is c[2] once y = 1 is in); the values first,
    # then the elementary forms: xlogy(0, 0) is 0, 0·log 0 would be nan
    return elementary(expr.xreplace({**scalars, **sums}).xreplace(components))


def evaluate(expr, values: Mapping[sp.Basic, object], dps: int = 40) -> sp.Float:
    """The value of ``expr`` at ``values`` with ``dps`` significant digits."""
    out = bind(expr, values, dps).evalf(dps)
    if out.free_symbols:
        names = ", ".join(sorted(map(str, out.free_symbols)))
        raise ValueError(f"no value given for {names}")
    return out


# ------------------------------------------------------------- many points: an mpmath tree


class Unsupported(Exception):
    """An expression node the mpmath compiler has no function for."""


_SPECIAL = {sp.oo: mpmath.inf, -sp.oo: -mpmath.inf, sp.zoo: mpmath.nan, sp.nan: mpmath.nan}


def _mp_number(node):
    """A constant as mpmath sees it: mpf, or mpc when complex (the checks then name it)."""
    value = node.evalf(mpmath.mp.dps + 5)
    if value in _SPECIAL:
        return _SPECIAL[value]
    re, im = value.as_real_imag()
    if not (re.is_number and im.is_number):
        raise Unsupported(f"cannot evaluate {node}")
    re, im = (mpmath.mpf(sp.Float(part, mpmath.mp.dps + 5)._mpf_) for part in (re, im))
    return re if im == 0 else mpmath.mpc(re, im)


# Quadrature on an infinite range evaluates the density at nodes as large as 1e300: mpmath then
# spends minutes reducing exp's or cos's argument.  Past these sizes the answer is known.
_HUGE = mpmath.mpf(10) ** 1000
_HUGE_ANGLE = mpmath.mpf(10) ** 1000


def _real_huge(x, limit=_HUGE):
    return not isinstance(x, mpmath.mpc) and abs(x) > limit


def _mp_exp(x):
    if _real_huge(x):
        return mpmath.inf if x > 0 else mpmath.mpf(0)
    return mpmath.exp(x)


def _mp_pow(b, e):
    if b == 0 and e < 0:
        return mpmath.inf
    if not isinstance(b, mpmath.mpc) and not isinstance(e, mpmath.mpc) and b > 0:
        return _mp_exp(e * mpmath.log(b)) if b != 1 else mpmath.mpf(1)
    return mpmath.power(b, e)


def _guard(fn, big):
    """``fn``, or ``big(x)`` for a real argument beyond reach (the limit, not the work)."""

    def guarded(*args):
        x = args[-1]
        if _real_huge(x):
            return big(x)
        return fn(*args)

    return guarded


def _angle(fn):
    # |sin|, |cos| ≤ 1: at a node past 1e1000 every integrable density's other factors vanish
    return lambda x: mpmath.mpf(0) if _real_huge(x, _HUGE_ANGLE) else fn(x)


class _Extremum(sp.Function):
    """min or max of its arguments, with none of SymPy's symbolic comparisons: rebuilt of symbolic
    arguments (a class sum expanded), a Min costs 13-17 ms of assumptions; its value is the
    same."""

    def _eval_evalf(self, prec):
        values = [a.evalf(prec) for a in self.args]
        if all(v.is_real and v.is_number for v in values):
            return self.pick(values)
        return None


class _Least(_Extremum):
    pick = staticmethod(min)


class _Greatest(_Extremum):
    pick = staticmethod(max)


def numeric_extrema(expr):
    """``expr`` with each Min and Max as a function that only evaluates (``evaluate``,
    ``compiled``): for expressions rebuilt many times on their way to numbers."""
    return expr.replace(sp.Min, _Least).replace(sp.Max, _Greatest)


#: SymPy class → mpmath function: the density evaluated at many points without SymPy in the loop.
_MPMATH = {
    sp.Add: lambda *a: mpmath.fsum(a),
    sp.Mul: lambda *a: mpmath.fprod(a),
    sp.Pow: _mp_pow,
    sp.exp: _mp_exp,
    sp.log: mpmath.log,
    sp.Abs: abs,
    sp.sin: _angle(mpmath.sin),
    sp.cos: _angle(mpmath.cos),
    sp.tan: _angle(mpmath.tan),
    sp.sinh: _guard(mpmath.sinh, lambda x: mpmath.inf if x > 0 else -mpmath.inf),
    sp.cosh: _guard(mpmath.cosh, lambda x: mpmath.inf),
    sp.tanh: _guard(mpmath.tanh, lambda x: mpmath.mpf(1 if x > 0 else -1)),
    sp.asin: mpmath.asin,
    sp.acos: mpmath.acos,
    sp.atan: mpmath.atan,
    sp.gamma: mpmath.gamma,
    sp.loggamma: mpmath.loggamma,
    sp.beta: mpmath.beta,
    sp.besseli: _guard(mpmath.besseli, lambda x: mpmath.inf),
    sp.besselk: _guard(mpmath.besselk, lambda x: mpmath.mpf(0)),
    sp.factorial: mpmath.factorial,
    sp.binomial: mpmath.binomial,
    sp.erf: mpmath.erf,
    sp.erfc: mpmath.erfc,
    sp.sech: _guard(mpmath.sech, lambda x: mpmath.mpf(0)),
    sp.csch: _guard(mpmath.csch, lambda x: mpmath.mpf(0)),
    sp.asinh: mpmath.asinh,
    sp.acosh: mpmath.acosh,
    sp.atanh: mpmath.atanh,
    sp.zeta: lambda *a: mpmath.zeta(*a),
    sp.uppergamma: lambda a, x: mpmath.gammainc(a, x, mpmath.inf),
    sp.lowergamma: lambda a, x: mpmath.gammainc(a, 0, x),
    sp.Max: lambda *a: max(a),
    sp.Min: lambda *a: min(a),
    _Greatest: lambda *a: max(a),
    _Least: lambda *a: min(a),
    sigmoid: lambda x: 1 / (1 + _mp_exp(-x)),
    softplus: lambda x: x if _real_huge(x) and x > 0 else mpmath.log1p(_mp_exp(x)),
    xlogy: lambda x, y: 0 if x == 0 else x * mpmath.log(y),
}


def _compile(expr, known, varying):
    """A function of ``{symbol or Indexed: mpf}`` evaluating ``expr`` with mpmath; subtrees free
    of ``varying`` are evaluated once, now, at ``known`` (parameters are fixed per draw)."""
    if not expr.free_symbols:
        value = _mp_number(expr)
        return lambda env: value
    if isinstance(expr, (sp.Symbol, sp.Indexed)):
        return lambda env: env[expr]
    fn = _MPMATH.get(type(expr))
    if fn is None:
        raise Unsupported(type(expr).__name__)
    parts = [_compile(a, known, varying) for a in expr.args]
    if known is not None and not expr.has(*varying):
        value = fn(*(p(known) for p in parts))
        return lambda env: value
    return lambda env: fn(*(p(env) for p in parts))


#: What mpmath raises for values outside a function's domain (poles, log 0, complex ordering).
NUMERIC_ERRORS = (ZeroDivisionError, ValueError, OverflowError, TypeError, Unsupported)


def _complements(expr):
    """1 ± erf(x) as erfc(∓x): Φ(x) = (1 + erf(x/√2))/2 far in its left tail is 1 − 1 at any
    fixed precision, erfc(−x/√2)/2 keeps its digits (a truncated normal's Φ(μ/σ) at μ/σ = −13)."""

    def complement(e):
        if not isinstance(e, sp.Add):
            return None
        const, rest = e.as_coeff_Add()
        coeff, f = rest.as_coeff_Mul()
        if const != 0 and abs(coeff) == abs(const) and isinstance(f, sp.erf):  # c(1 ± erf)
            return const * sp.erfc(-sp.sign(coeff / const) * f.args[0], evaluate=False)
        return None

    return expr.replace(lambda e: complement(e) is not None, complement)


def compiled(expr, known=None, varying=()):
    """``env -> value`` evaluated with mpmath at its working precision, for many points
    (quadrature nodes, random draws) without SymPy in the loop; ``env`` maps symbols and
    ``Indexed`` to numbers.  With ``known`` values, the parts free of ``varying`` are folded
    first.  A node without an mpmath function falls back to SymPy's evalf at that point."""
    expr = _complements(expr)
    try:
        return _compile(expr, known, tuple(varying))
    except Unsupported:
        atoms = expr.atoms(sp.Symbol, sp.Indexed)  # x[1] is replaced whole, before its x
        return lambda env: _mp_number(
            expr.xreplace({s: sp.Float(env[s], 30) for s in atoms if s in env})
        )
