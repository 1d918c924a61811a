"""Whether an integral (or a series) of a density converges, decided from its tails.

∫ f over (lo, hi) converges when |f| is integrable at each end.  Near an end the integrands of
information theory behave like a power, |f(y)| ~ |y − e|^a at a finite end e and |y|^a at an
infinite one (times logarithms, or faster than any power), so the *index*

    a = lim log|f(y)| / log|y − e|      (y → e),        a = lim log|f(y)| / log|y|   (y → ±∞)

decides: convergent at a finite end when a > −1, at an infinite end when a < −1, divergent
otherwise; at a = −1 exactly, divergent where |y|·|f| does not tend to 0, undecided where it
does (1/(y log² y) converges).  Where a depends on parameters the boundary a = −1 is counted
divergent (the gamma's 𝔼[1/y] at shape 1 is).  SymPy
finds the limit with the parameters symbolic, so the answer is a condition on them
(``shape_p > 1``), or true, or false; None where the limit is not found (then nothing is claimed).

This is independent of any closed form: the information-theory engine uses it to state where an
expectation exists and to show a KL divergence infinite, and it is checked against quadrature in
tests/test_infotheory_conditions.py.  Interior singularities are not looked for: the statistics
of the catalog's log-densities are finite inside their supports.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

_u = sp.Dummy("u", positive=True)


@dataclass(frozen=True)
class End:
    """One end of the support and what the tails there decide."""

    at: sp.Expr  # the end: a number, a parameter expression, or ±∞
    index: sp.Expr | None  # the power a (±∞ for faster than any power); None: not found
    condition: sp.Basic | None  # where ∫ converges at this end: true, false, a relation, or None


def tidy_relation(relation):
    """c + a·θ > r as θ > (r − c)/a, the parameter alone on the left (a sign flips the relation)."""
    if not isinstance(relation, sp.core.relational.Relational):
        return relation
    lhs = relation.lhs - relation.rhs
    const, rest = lhs.as_coeff_Add()
    coeff, core = rest.as_coeff_Mul()
    if coeff == 0:
        return relation
    bound = -const / coeff
    op = type(relation)
    if coeff < 0:
        op = {sp.Gt: sp.Lt, sp.Lt: sp.Gt, sp.Ge: sp.Le, sp.Le: sp.Ge}.get(op, op)
    return op(core, bound)


def _stirling(e, y):
    """log Γ(x) → (x − ½)·log x − x for x growing with y: the same index at an infinite end,
    and limits SymPy finds at once (log y! defeats it for seconds)."""

    def leading(x):
        return (x - sp.S.Half) * sp.log(x) - x

    e = e.replace(
        lambda f: isinstance(f, sp.log) and isinstance(f.args[0], sp.factorial) and f.has(y),
        lambda f: leading(f.args[0].args[0] + 1),
    )
    e = e.replace(
        lambda f: isinstance(f, sp.log) and isinstance(f.args[0], sp.gamma) and f.has(y),
        lambda f: leading(f.args[0].args[0]),
    )
    return e.replace(
        lambda f: isinstance(f, sp.loggamma) and f.has(y), lambda f: leading(f.args[0])
    )


def _tail_forms(e):
    """e with each of derive's primitives that has a ``tail_form()`` replaced by it: its value
    near an infinite end (Huber's k|r| − k²/2, exact beyond its threshold).  SymPy takes the limit
    of a function it does not know as if it were bounded: log p with huber(y − μ) gave the index
    0, so every expectation under Huber's density "did not exist" (KL(huber ‖ laplace) = ∞)."""
    return e.replace(lambda f: callable(getattr(f, "tail_form", None)), lambda f: f.tail_form())


def _one_component(e, y):
    """(e with each log Σ_k c_k(y) of positive terms — a mixture's log-density — written as the
    log of one generic component c(y), the Dummies that stand for that component's parameters).

    With K components of positive weight, max_k log c_k ≤ log Σ_k c_k ≤ max_k log c_k + log K.
    So where log c(y) has the same index a at an end whatever the component's parameters (a
    number or ±∞: −∞ for Gaussian components), max_k log c_k has it, and so has log Σ; and where
    log c → −∞ with |log c| of index b, |log Σ| has index b too (a Gaussian mixture's log q is
    quadratic in its tails).  An index that depends on the Dummies (Student-t components:
    −(ν_k + 1)) would be the index of one component only: the caller then claims nothing.
    SymPy cannot take the limit of the sum over a symbolic number of terms itself."""
    found = {}

    def generic(term):
        for item in term.atoms(sp.Indexed):
            if item not in found:
                label = item.base.label
                known = {"positive": True} if label.is_nonnegative else {"real": True}
                # a weight that may be 0 is positive in a component that is present at all
                found[item] = sp.Dummy(str(label), **known)
        return term.xreplace(found)

    replaced = e.replace(
        lambda f: (
            isinstance(f, sp.log)
            and isinstance(f.args[0], sp.Sum)
            and f.args[0].function.has(y)
            and f.args[0].function.is_nonnegative
        ),
        lambda f: sp.log(generic(f.args[0].function)),
    )
    return replaced, set(found.values())


def _index(log_f, y, end, lower: bool):
    """The power a of |f| at ``end`` (see the module's docstring), or None."""
    log_f, generic = _one_component(log_f, y)
    if generic and end not in (sp.oo, -sp.oo) and log_f.subs(y, end).is_finite:
        # a mixture's log-density is finite at an end inside its support: |f| stays bounded
        # there (index 0, or more where it vanishes: integrable either way), and SymPy's limit
        # of log|log c(y)| / log(y − e) takes seconds
        return sp.S.Zero
    if end in (sp.oo, -sp.oo):
        inner = _tail_forms(_stirling(log_f, y)).xreplace({y: _u if end == sp.oo else -_u})
        value = sp.limit(inner / sp.log(_u), _u, sp.oo)
    else:
        gap = (y - end) if lower else (end - y)
        value = sp.limit(log_f / sp.log(gap), y, end, "+" if lower else "-")
    if value.has(sp.Limit, sp.nan, sp.zoo, *generic) or isinstance(value, sp.AccumBounds):
        return None
    return sp.cancel(value) if value.is_finite is not False else value


def _converges(index, infinite_end: bool):
    if index is None:
        return None
    if index in (sp.oo, -sp.oo):
        return sp.true if (index == -sp.oo) == infinite_end else sp.false
    relation = sp.Lt(index, -1) if infinite_end else sp.Gt(index, -1)
    if relation in (sp.true, sp.false):
        return relation
    return tidy_relation(relation) if relation.free_symbols else None


@cache
def _cached_index(log_f, y, end, lower):
    return _index(log_f, y, end, lower)


def _sum_of_indices(a, b):
    """The index of a product from its factors' (None where ∞ − ∞ leaves it open)."""
    if a is None or b is None:
        return None
    if {a, b} == {sp.oo, -sp.oo}:
        return None
    total = a + b
    return None if total.has(sp.nan) else total


def _ratio_test(log_p, log_t, y):
    """Σ_y p(y)·t(y) at y → ∞ by the ratio test: true (ratio < 1), false (> 1), None."""
    try:
        ratio = sp.gammasimp(sp.expand(sp.exp(sp.expand(log_p.subs(y, y + 1) - log_p))))
        ratio = sp.limit(ratio, y, sp.oo)
        step = _stirling(sp.expand(log_t.subs(y, y + 1)), y) - _stirling(log_t, y)
        growth = sp.limit(sp.exp(step), y, sp.oo)
    except (NotImplementedError, ValueError, TypeError):
        return None
    value = sp.together(ratio * growth)
    if value.has(sp.Limit) or not value.is_finite:
        return None
    numerator, denominator = value.as_numer_denom()  # value < 1 ⟺ numerator < denominator
    verdict = sp.Lt(sp.expand(numerator - denominator), 0)
    if verdict is sp.true:
        return sp.true
    if sp.Gt(sp.expand(numerator - denominator), 0) is sp.true:
        return sp.false
    return None


def ends(log_p, log_t, y, lo, hi, discrete: bool = False) -> tuple[End, ...]:
    """The two ends of ∫_lo^hi p·t (or Σ_lo^hi, ``discrete``), given log p and log|t|.

    The index of p at an end is found once (it is cached) and added to that of t, so a heavy
    density costs one limit, not one per statistic.  A sum has nothing to decide at a finite end
    but the value there (log 0 of a count at 0), and at an infinite end tries the ratio test."""
    out = []
    for end, lower in ((lo, True), (hi, False)):
        infinite = end in (sp.oo, -sp.oo)
        if discrete and not infinite:
            # the term at the end itself (log y at y = 0 is not finite; log y! is 0 there)
            value = (sp.exp(log_p) * sp.exp(log_t)).subs(y, end)
            ok = sp.true if value.is_finite else sp.false if value.is_infinite else None
            out.append(End(end, None, ok))
            continue
        if discrete and (verdict := _ratio_test(log_p, log_t, y)) is not None:
            out.append(End(end, None, verdict))
            continue
        index = _sum_of_indices(
            _cached_index(log_p, y, end, lower), _cached_index(log_t, y, end, lower)
        )
        if index is None:
            index = _index(log_p + log_t, y, end, lower)
        condition = _converges(index, infinite)
        if index == -1:  # y⁻¹ times what? a constant or more diverges; 1/log² y converges
            condition = _borderline(log_p + log_t, y, end, lower)
        out.append(End(end, index, condition))
    return tuple(out)


def _borderline(log_f, y, end, lower):
    """At index −1: divergent where |f|·|y − e| (|f|·|y| at ±∞) keeps away from 0, else None."""
    log_f, generic = _one_component(log_f, y)
    if generic:  # the bounds keep the index, not the limit of |f|·|y|
        return None
    if end in (sp.oo, -sp.oo):
        inner = _tail_forms(log_f).xreplace({y: _u if end == sp.oo else -_u}) + sp.log(_u)
        value = sp.limit(inner, _u, sp.oo)
    else:
        gap = (y - end) if lower else (end - y)
        value = sp.limit(log_f + sp.log(gap), y, end, "+" if lower else "-")
    return sp.false if value.is_finite or value == sp.oo else None


def integrable(log_p, log_t, y, lo, hi, discrete: bool = False):
    """Where ∫_lo^hi p·|t| (Σ for ``discrete``) is finite: true, false, a relation between the
    parameters, or None where one end is not decided (nothing is claimed then)."""
    conditions = [end.condition for end in ends(log_p, log_t, y, lo, hi, discrete)]
    if sp.false in conditions:
        return sp.false
    if None in conditions:
        return None
    return sp.And(*conditions)


def sum_integrable(log_p, terms, y, lo, hi, discrete: bool = False):
    """Where ∫ p·|Σ terms| is finite (Σ for ``discrete``), from the terms one at a time.

    At an end where at most one term is not integrable against p, the sum is integrable exactly
    where each term is; where several are not, the one of the strictly largest power at that end
    (at a finite end: the most singular) dominates the sum there and decides it, and equal powers
    decide together when their sum keeps the power.  Anything else is not decided: None."""
    terms = [t for t in terms if t.has(y)]
    per_term = [ends(log_p, log_abs(t), y, lo, hi, discrete) for t in terms]
    conditions = []
    for j, end in enumerate((lo, hi)):
        at_end = [(t, e[j]) for t, e in zip(terms, per_term, strict=True)]
        failing = [(t, e) for t, e in at_end if e.condition is not sp.true]
        if any(e.condition is None for _, e in failing):
            return None
        if len(failing) <= 1:
            conditions += [e.condition for _, e in failing]
            continue
        infinite = end in (sp.oo, -sp.oo)
        powers = []
        for t, _ in failing:
            power = _cached_index(log_abs(t), y, end, j == 0)
            if power is None or not power.is_number:
                return None
            powers.append(power)
        extreme = max(powers) if infinite else min(powers)
        tied = [t for (t, _), power in zip(failing, powers, strict=True) if power == extreme]
        leading = sp.Add(*tied)
        if len(tied) > 1 and _index(log_abs(leading), y, end, j == 0) != extreme:
            return None  # equal powers that cancel: not decided
        conditions.append(ends(log_p, log_abs(leading), y, lo, hi, discrete)[j].condition)
    return sp.And(*conditions)


def log_abs(expr):
    """log|expr| with the logarithm expanded where the assumptions allow (products and powers)."""
    parts = []
    for factor in sp.Mul.make_args(expr):
        base, exp = factor.as_base_exp()
        if base.is_positive or (exp.is_integer and base.is_real):
            parts.append(exp * sp.log(sp.Abs(base)) if not base.is_positive else exp * sp.log(base))
        else:
            parts.append(sp.log(sp.Abs(factor)))
    return sp.expand_log(sp.Add(*parts), force=False)


__all__ = ["End", "ends", "integrable", "log_abs", "sum_integrable", "tidy_relation"]
