"""The one prover: canonical forms and proofs that an expression is identically zero.

Recognition (∂θ(loss − L) ≡ 0), the split of the NLL, the information-theory identities and the
checks of declared closed forms all ask :func:`identically_zero`.
"""

from __future__ import annotations

import sympy as sp
from sympy.functions.elementary.hyperbolic import HyperbolicFunction

from .budget import bounded
from .functions import LOG_GAMMA_RULES, apply_rules, elementary, loggamma, rename_index, split_sums
from .spec import CLASS_INDEX, N_CLASSES

#: Seconds one of the prover's slower transforms may run before it gives up ("not proven").
TIME_LIMIT = 3.0

k = CLASS_INDEX


def canon(expr) -> sp.Expr:
    """A canonical form for zero tests: elementary functions, hyperbolic functions as exponentials,
    summed sums, cancelled fractions."""
    expr = elementary(sp.sympify(expr))
    expr = expr.replace(lambda e: isinstance(e, HyperbolicFunction), lambda e: e.rewrite(sp.exp))
    expr = split_sums(rename_index(expr, k))
    expr = sp.expand(sp.powsimp(expr.doit()))
    return sp.cancel(sp.together(expr))


def _zero_by_points(expr, depth: int) -> bool:
    """Canonically zero, or zero at one point with every partial derivative so (recursively, to
    ``depth``).

    A point where the value is proven zero is enough (the derivatives vanish everywhere): 0 for
    real symbols and 1/2 for positive ones (inside (0, ∞) and (0, 1)), else 1/2 throughout.
    Integer symbols are treated as real, which is sound: an identity on ℝ holds on ℤ.
    """
    e = canon(expr)
    if e == 0:
        return True
    symbols = [s for s in e.free_symbols if isinstance(s, sp.Symbol)]
    if depth == 0 or not symbols or e.has(sp.Indexed):
        return False
    points = (
        {s: sp.S.Half if s.is_positive else sp.S.Zero for s in symbols},
        dict.fromkeys(symbols, sp.S.Half),
    )
    if all(canon(e.subs(point)) != 0 for point in points):
        return False
    return all(_zero_by_points(sp.diff(e, s), depth - 1) for s in symbols)


def identically_zero(expr, depth: int = 2, simplex=(), total=(), thorough: bool = False) -> bool:
    """Prove ``expr ≡ 0``.  False means "not proven", never "proven non-zero".

    In order, cheapest first: the canonical form (:func:`canon`); zero at one point with every
    partial derivative identically zero, to ``depth``.  That is all the pipeline asks for, many
    times per derivation (most of its questions have the answer "not zero").  ``thorough`` is for
    the few identities the information theory proves: first a fixed sequence of targeted
    transforms — stable primitives to exp/log, logarithms expanded under the assumptions, one
    spelling of log-gamma, class sums canonical (Σₖ pₖ = 1 for the vectors in ``simplex``, each
    total probability in ``total`` = 1), polynomial expansion, exponentials as positive symbols
    (log(1 + e^{−z}) = log(1 + e^{z}) − z) — and a time-limited ``cancel``, then the canonical form
    and the points, time-limited too.
    """
    if not thorough:
        return _zero_by_points(expr, depth)
    # the information theory's expressions keep explicit expectations (unevaluated integrals and
    # series): its transforms come first, and the canonical form (which evaluates what it can)
    # only as a last, time-limited attempt
    if _by_transforms(expr, simplex, total):
        return True
    return bounded(lambda: _zero_by_points(expr, depth), TIME_LIMIT) is True


def _by_transforms(expr, simplex, total) -> bool:
    e = _expanded(elementary(sp.sympify(expr)), simplex, total)
    if e == 0:
        return True
    if e.has(sp.exp):
        e = bounded(lambda: _expanded(_exponentials_as_symbols(e), simplex, total), TIME_LIMIT)
        if e is None:
            return False
        if e == 0:
            return True
    return bounded(lambda: sp.cancel(sp.together(e)) == 0, TIME_LIMIT) is True


# ---------------------------------------------------------------------------- transforms


def _class_sums(e):
    return isinstance(e, sp.Sum) and len(e.limits) == 1 and e.limits[0][1:] == (1, N_CLASSES)


def canonical_sums(expr, simplex=(), total=()):
    """Class sums split, their index named k, Σ_k c = K·c, Σ_k p_k = 1 on a simplex, and the total
    probability 1 (``total``: Σ_y p(y) or ∫ p(y) dy as they are written)."""
    expr = split_sums(expr)
    expr = expr.replace(
        lambda e: _class_sums(e) and e.limits[0][0] != CLASS_INDEX,
        lambda e: sp.Sum(e.function.subs(e.limits[0][0], CLASS_INDEX), (CLASS_INDEX, 1, N_CLASSES)),
    )
    expr = expr.replace(
        lambda e: _class_sums(e) and not e.function.has(e.limits[0][0]),
        lambda e: e.function * N_CLASSES,
    )
    ones = {sp.Sum(p[CLASS_INDEX], (CLASS_INDEX, 1, N_CLASSES)): sp.S.One for p in simplex}
    ones.update({t: sp.S.One for t in total})
    return expr.xreplace(ones)


def _exponentials_as_symbols(e):
    """log(1 + e^{−z}) = log(1 + e^{z}) − z, made visible: each e^{±a} becomes x^{±1} for a positive
    symbol x, log arguments are put over a common denominator and split, then x = e^{a} again."""
    arguments = {}
    for atom in e.atoms(sp.exp):
        a = atom.args[0]
        key = -a if a.could_extract_minus_sign() else a
        arguments.setdefault(key, sp.Dummy("x", positive=True))
    if not arguments:
        return e
    inverse = {x: key for key, x in arguments.items()}

    def as_power(a):
        key = -a if a.could_extract_minus_sign() else a
        return arguments[key] ** (-1 if key != a else 1)

    e = e.replace(lambda f: isinstance(f, sp.exp), lambda f: as_power(f.args[0]))
    e = e.replace(
        lambda f: isinstance(f, sp.log), lambda f: sp.log(sp.factor(sp.together(f.args[0])))
    )
    e = sp.expand_log(e, force=True)
    e = e.xreplace({sp.log(x): key for x, key in inverse.items()})
    return e.xreplace({x: sp.exp(key) for x, key in inverse.items()})


def _log_gammas(e):
    """log y! → log Γ(y + 1), log Γ(x) → log Γ(x), log C(n, y) → log Γ(n + 1) − log Γ(y + 1) −
    log Γ(n − y + 1): one spelling for each log-gamma (the derivation's rules, and SymPy's own
    loggamma as ours)."""
    e = apply_rules(e, LOG_GAMMA_RULES)[0]
    return e.replace(
        lambda f: isinstance(f, sp.loggamma) and type(f) is not loggamma,
        lambda f: loggamma(f.args[0]),
    )


def _expanded(e, simplex, total):
    e = _log_gammas(sp.expand_log(e, force=True))
    e = canonical_sums(sp.expand(canonical_sums(e, simplex, total)), simplex, total)
    return sp.expand(e)
