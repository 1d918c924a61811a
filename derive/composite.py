"""Composite likelihoods: new declarations made from old ones.

Each modifier takes a :class:`~derive.spec.Distribution` and returns another, so the derivation,
recognition, LaTeX, code, gradients and objectives work on it unchanged:

    censored        observed (y_lower, y_upper), xgboost's AFT convention: the density where the
                    bounds are equal, S(y_lower) where y_upper = ∞, F(y_upper) where y_lower is the
                    support's lower end, F(y_upper) − F(y_lower) otherwise (for a count, whose
                    bounds are integers: 1 − F(y_lower − 1) and F(y_upper) − F(y_lower − 1))
    truncated       f(y) / (F(hi) − F(lo)) on [lo, hi]
    discretised     F(y + w/2) − F(y − w/2): y is the centre of a bin of width w
    zero_inflated   π + (1 − π) f(0) at y = 0, (1 − π) f(y) above; π = σ(logit_pi)
    hurdle          π at y = 0, (1 − π) f(y) / (1 − f(0)) above; π = σ(logit_pi)
    mixture         Σₖ wₖ f(y | θₖ), w = softmax(logit_w)
    link            a parameter learned on another scale: log, logit, probit, softplus, logvar

Cases are SymPy Piecewise expressions (shown as cases in LaTeX and the terminal); each case
carries, in ``guards``, values of the observed variables that satisfy it, which the emitted code
substitutes where the case does not apply (no unused case is evaluated where it overflows).
The stable forms of the cases are rules on the declaration (``rules``): the log of a difference of
probabilities is a log-diff-exp of log-probabilities, the log of a sum a log-add-exp.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import sympy as sp

from .display import NamedCDF, NamedSurvival
from .errors import UserError
from .functions import (
    COMPLEMENTS,
    Rule,
    complement,
    logdiffexp,
    ndtr,
    one_minus,
    rename_index,
    sigmoid,
    softplus,
    stabilise,
    stdtr,
)
from .spec import CLASS_INDEX, MODIFIERS, N_CLASSES, Distribution, Link, Var


class NotApplicable(UserError):
    """A modifier that does not apply to the declaration it is given."""


# ---------------------------------------------------------------------------- stable case forms


def _probability_factor(f) -> bool:
    """A factor whose log has a stable closed form: a positive quantity, e^x, σ(x), Φ(x), T_ν(t), a
    regularized CDF primitive (P, Q, I), atan2(c, x) with c > 0 (in (0, π)), the smaller of
    such probabilities."""
    if isinstance(f, (sp.exp, sigmoid, ndtr, stdtr, *COMPLEMENTS)) or f.is_positive:
        return True
    if isinstance(f, sp.atan2):
        return bool(f.args[0].is_positive)
    if isinstance(f, sp.Min):
        return all(_probability(a) or _is_log_difference(sp.log(a)) for a in f.args)
    if _is_log_sum(sp.log(f)):  # the inverse Gaussian's Φ(a) + e^{2λ/μ}Φ(b)
        return True
    # 1 − σ(x), 1 − Φ(x), 1 − T_ν(t)
    return one_minus(f, (sigmoid, ndtr, stdtr)) is not None


def _probability(term) -> bool:
    return all(_probability_factor(f) for f in sp.Mul.make_args(term))


def _stable_log(p):
    """log p with the logs expanded and the stable rules applied (log min(P, Q) is
    min(log P, log Q): the log is increasing)."""
    if isinstance(p, sp.Min):
        return sp.Min(*(_stable_log(a) for a in p.args))
    if _is_log_sum(sp.log(p)):  # a declared sum of two probabilities
        return _log_sum(sp.log(p))
    # a difference of two probabilities (a declared F or S); 1 − F is the standard rules' own
    if _is_log_difference(sp.log(p)) and not any(t.is_number for t in p.args):
        return _log_difference(sp.log(p))
    return stabilise(sp.expand_log(sp.log(p), force=True))[0]


def _is_log_difference(e) -> bool:
    if not (isinstance(e, sp.log) and isinstance(e.args[0], sp.Add) and len(e.args[0].args) == 2):
        return False
    first, second = e.args[0].args
    signs = {t.could_extract_minus_sign() for t in (first, second)}
    return signs == {True, False} and all(
        _probability(t) or _probability(-t) for t in (first, second)
    )


#: CDFs symmetric about 0 in their last argument (F(−x) = 1 − F(x)): an interval in the upper
#: tail is reflected
SYMMETRIC = (ndtr, sigmoid, stdtr)


def _terms(e) -> tuple:
    """(P, Q) of log(P − Q)."""
    first, second = e.args[0].args
    return (second, -first) if first.could_extract_minus_sign() else (first, -second)


def _is_cdf_interval(e) -> bool:
    """log(F(b) − F(a)) of a CDF primitive with a directly evaluated complement (P, Q, I)."""
    if not _is_log_difference(e):
        return False
    p, q = _terms(e)
    return type(p) is type(q) and type(p) in COMPLEMENTS


def _log_difference(e):
    p, q = _terms(e)
    if type(p) is type(q) and isinstance(p, SYMMETRIC):
        # F(b) − F(a) = F(−a) − F(−b): taking min(b, −a) and min(a, −b) keeps the interval in
        # the lower tail, where log F is accurate (in the upper tail both logs round to 0)
        if p.args[:-1] == q.args[:-1]:  # the same shape (T_ν's ν)
            f, shape, b, a = type(p), p.args[:-1], p.args[-1], q.args[-1]
            p, q = f(*shape, sp.Min(b, -a)), f(*shape, sp.Min(a, -b))
    elif type(p) is type(q) and type(p) in COMPLEMENTS:
        # F(b) − F(a) = S(a) − S(b) with S = 1 − F evaluated directly (Q for P, I_{1−x}(b, a)
        # for I_x(a, b)): min(F(b), S(a)) and min(F(a), S(b)) are the pair of the two forms
        # whose values stay away from 1 (F where F(a) + F(b) ≤ 1, S elsewhere), where their logs
        # keep their digits (far in the upper tail both log F round to 0); no branch.  These
        # primitives are computed as probabilities, not as logs, so the log is taken of the
        # difference itself (as accurate as logdiffexp of their logs): where the smaller
        # underflows to 0 (harmlessly) no log 0 is formed, whose gradient 0·∞ would be NaN,
        # and the derivative is (P′ − Q′)/(P − Q)
        return sp.log(sp.Min(p, complement(q)) - sp.Min(q, complement(p)))
    return logdiffexp(_stable_log(p), _stable_log(q))


def _is_log_sum(e) -> bool:
    if not (isinstance(e, sp.log) and isinstance(e.args[0], sp.Add) and len(e.args[0].args) == 2):
        return False
    terms = e.args[0].args
    return not any(t.is_number for t in terms) and all(_probability(t) for t in terms)


def _log_sum(e):
    a, b = (_stable_log(t) for t in e.args[0].args)
    return a + softplus(b - a)


#: The composites' own rewrite rules (each an identity for probabilities P > Q > 0, A, B > 0).
LOG_DIFFERENCE = (
    "log(P − Q) = logdiffexp(log P, log Q)",
    Rule(lambda e: _is_log_difference(e) and not _is_cdf_interval(e), _log_difference),
)
CDF_INTERVAL = (
    "F(b) − F(a) = min(F(b), S(a)) − min(F(a), S(b)), with S = 1 − F evaluated directly: the "
    "pair of forms whose values stay away from 1",
    Rule(_is_cdf_interval, _log_difference),
)
LOG_SUM = ("log(eᵃ + eᵇ) = a + softplus(b − a)", Rule(_is_log_sum, _log_sum))


# ---------------------------------------------------------------------------- helpers


def _name(dist: Distribution, modifier: str, again) -> dict:
    """The fields every composite sets: its name, base and modifiers, and how to make it again
    from another base (``again``: the modifier applied to a declaration)."""
    base = dist.base or dist
    modifiers = (*dist.modifiers, modifier)
    before = dist.rebuild or (lambda b: b)
    return {
        "name": " ".join((base.name, *modifiers)),
        "base": base,
        "modifiers": modifiers,
        "rebuild": lambda b: again(before(b)),
        "standard": None,  # a composite's loss is what recognition finds, not the base's
    }


def _scalar(dist: Distribution, flag: str):
    if dist.vector:
        raise NotApplicable(f"{flag} does not apply to {dist.name}: a vector family")


def _cdf(dist: Distribution, flag: str):
    if dist.cdf is None:
        raise NotApplicable(f"{flag} needs a CDF, and {dist.name} declares none")


def _survival(dist: Distribution, y, *params):
    """S(y) = 1 − F(y): the declared survival function where the entry has one."""
    if dist.sf is not None:
        return dist.sf(y, *params)
    return 1 - dist.cdf(y, *params)


def _interval(dist: Distribution, b, a, *params):
    """F(b) − F(a); where the entry declares S, min(F(b), S(a)) − min(F(a), S(b)), the same
    difference (F(b) ≤ S(a) exactly when F(a) ≤ S(b)) taken between the two forms whose values
    stay away from 1, where 1 − F would have lost the digits of S."""
    F, S = dist.cdf, dist.sf
    if S is None:
        return F(b, *params) - F(a, *params)
    return sp.Min(F(b, *params), S(a, *params)) - sp.Min(F(a, *params), S(b, *params))


def _continuous(dist: Distribution, flag: str):
    if dist.discrete:
        raise NotApplicable(f"{flag} is not supported for the discrete family {dist.name}")


def _bounds(dist):
    lo, hi = dist.support_bounds
    return sp.sympify(lo), sp.sympify(hi)


def _interior(lo, hi):
    """Two points a < b inside (lo, hi) (numbers or infinite ends)."""
    if lo.is_finite and hi.is_finite:
        return lo + (hi - lo) / 4, lo + 3 * (hi - lo) / 4
    if lo.is_finite:
        return lo + 1, lo + 2
    if hi.is_finite:
        return hi - 2, hi - 1
    return sp.S(-1), sp.S.One


def _fresh(dist, name):
    taken = {v.name for v in dist.variables}
    while name in taken:
        name += "_"
    return name


def _args(dist, values):
    """Split the composite's arguments into (observed..., params..., fixed...) of ``dist``."""
    n_obs = len(dist.observations)
    n_par = len(dist.params)
    return values[:n_obs], values[n_obs : n_obs + n_par], values[n_obs + n_par :]


def named(dist: Distribution) -> Distribution | None:
    """``dist`` made again from its base with the base's F and S as the named functions F(y)
    and S(y) (display.Named), for a display that writes log S(y_l) where F and S would be
    written out; None where the base declares no survival function (its F fits as written) or
    nothing in ``dist`` takes F or S."""
    base = dist.base
    if base is None or base.sf is None or dist.rebuild is None:
        return None
    F, S = (
        type(kind.__name__, (kind,), {"form": staticmethod(form)})
        for kind, form in ((NamedCDF, base.cdf), (NamedSurvival, base.sf))
    )
    shown = dist.rebuild(replace(base, cdf=F, sf=S))
    return shown if shown.density_expr().has(NamedCDF, NamedSurvival) else None


# ---------------------------------------------------------------------------- censoring

_BOUND = {(0, sp.oo): "nonnegative_bound", (0, 1): "unit_bound"}


class _Censoring(NamedTuple):
    """What censoring reads off a family's kind: the bounds' constraint, the point below a lower
    bound (P(Y ≥ l) = 1 − F(below(l))), the text of the cases, and a point inside each case
    (exact, right, left, interval) for the guards."""

    constraint: object  # (lo, hi) -> constraint name
    below: object  # l -> the point F is taken at for P(Y ≥ l)
    texts: tuple[str, str]  # (survival, interval) as the notes write them
    inside: object  # (lo, hi) -> {case: (lower, upper)}


def _continuous_inside(lo, hi):
    a, b = _interior(lo, hi)
    return {"exact": (a, a), "right": (a, sp.oo), "left": (lo, a), "interval": (a, b)}


#: By kind: continuous (P(Y ≥ l) = 1 − F(l)) and discrete (a count's P(Y ≥ l) = 1 − F(l − 1);
#: its bounds are integers, and each case's point the first counts of its support, where the
#: probability is positive for any parameters: pmf(lo), P(Y ≥ lo + 1), F(lo), pmf(lo + 1))
CENSORING = {
    False: _Censoring(
        lambda lo, hi: _BOUND.get((lo, hi), "bound"),
        lambda l: l,
        ("S = 1 − F", "F({u}) − F({l})"),
        _continuous_inside,
    ),
    True: _Censoring(
        lambda lo, hi: "count_bound",
        lambda l: l - 1,
        ("P(Y ≥ {l}) = 1 − F({l} − 1)", "F({u}) − F({l} − 1)"),
        lambda lo, hi: {
            "exact": (lo, lo),
            "right": (lo + 1, sp.oo),
            "left": (lo, lo),
            "interval": (lo + 1, lo + 1),
        },
    ),
}


def censored(dist: Distribution) -> Distribution:
    """Observed bounds (y_lower, y_upper) in xgboost's AFT convention (see the module text); for
    a count, P(Y ≥ y_lower) = 1 − F(y_lower − 1) and F(y_upper) − F(y_lower − 1)."""
    flag = "--censored"
    _scalar(dist, flag)
    _cdf(dist, flag)
    if dist.also_observed:
        raise NotApplicable(f"{flag} applies once: {dist.name} is already censored")
    y = dist.observed
    lo, hi = _bounds(dist)
    kind = CENSORING[dist.discrete]
    # a count's support may end at a fixed parameter (binomial: n); its lower end is a number
    if lo.free_symbols or (hi.free_symbols and not dist.discrete):
        raise NotApplicable(f"{flag} needs a support with numeric ends, not {lo}..{hi}")
    constraint = kind.constraint(lo, hi)
    lower = Var(f"{y.name}_lower", constraint, doc=f"lower bound of {y.name} ({y.doc})")
    upper = Var(f"{y.name}_upper", constraint, doc=f"upper bound of {y.name} (∞: right-censored)")

    def cases(y_l, y_u, *rest):
        params = rest
        f = dist.density(y_l, *params)
        survival = _survival(dist, kind.below(y_l), *params)
        left = dist.cdf(y_u, *params)
        interval = _interval(dist, y_u, kind.below(y_l), *params)
        at_lower = sp.Eq(y_l, lo) if lo.is_infinite else y_l <= lo
        return sp.Piecewise(
            (f, sp.Eq(y_l, y_u)),
            (survival, sp.Eq(y_u, sp.oo)),
            (left, at_lower),
            (interval, True),
        )

    probe = replace(dist, observed=lower, also_observed=(upper,), density=cases, symbols_=None)
    y_l, y_u = probe.symbols[lower.name], probe.symbols[upper.name]
    at_lower = sp.Eq(y_l, lo) if lo.is_infinite else y_l <= lo
    inside = kind.inside(lo, hi)
    conditions = {
        "exact": sp.Eq(y_l, y_u),
        "right": sp.Eq(y_u, sp.oo),
        "left": at_lower,
        "interval": sp.true,
    }
    guards = {
        cond: dict(zip((lower.name, upper.name), inside[case], strict=True))
        for case, cond in conditions.items()
    }
    survival_text, interval_text = (t.format(l=lower.name, u=upper.name) for t in kind.texts)
    cdf_text = sp.sstr(dist.cdf_expr())
    return replace(
        probe,
        **_name(dist, flag, censored),
        title=f"{dist.title}, censored",
        notes=(
            f"Censored observations (xgboost's survival:aft convention): each is an interval "
            f"[{lower.name}, {upper.name}]; exact where the bounds are equal (the density), "
            f"right-censored where {upper.name} = ∞ (the survival function {survival_text}), "
            f"left-censored where {lower.name} = {sp.sstr(lo)} (the CDF F), interval-censored "
            f"otherwise ({interval_text}). F({y.name}) = {cdf_text} is "
            f"declared on {dist.base.name if dist.base else dist.name} and checked against its "
            f"density (dF/d{y.name} = p, F at the lower end = 0). " + dist.notes
        ),
        cdf=None,
        sf=None,
        rules=(*dist.rules, LOG_DIFFERENCE, CDF_INTERVAL),
        guards=guards,
        unavailable={
            **dist.unavailable,
            "normalisation": "a censored observation is an interval: a probability, not a density",
            "scipy": "scipy.stats has no censored families (the tests use lifelines and xgboost)",
        },
    )


# ---------------------------------------------------------------------------- truncation


def _bound_value(dist, value, default):
    """A truncation end: a number, ±∞ ('oo', '-oo'), or the name of a fixed parameter."""
    if value is None:
        return default
    if isinstance(value, str):
        text = value.strip()
        if text in ("oo", "+oo", "inf", "+inf"):
            return sp.oo
        if text in ("-oo", "-inf"):
            return -sp.oo
        fixed = {v.name: dist.sym(v) for v in dist.fixed}
        if text in fixed:
            return fixed[text]
        try:
            number = float(text)
        except ValueError:
            names = ", ".join(fixed) or "none"
            raise NotApplicable(
                f"truncation end {text!r} is neither a number, oo/-oo nor a fixed parameter of "
                f"{dist.name} (fixed: {names})"
            ) from None
        return sp.nsimplify(number, rational=True) if number == int(number) else sp.Float(number)
    return sp.sympify(value)


def truncated(dist: Distribution, lo=None, hi=None) -> Distribution:
    """f(y) / P(lo ≤ Y ≤ hi), on [lo, hi]."""
    flag = "--truncated"
    _scalar(dist, flag)
    if dist.also_observed:
        raise NotApplicable(f"{flag} after --censored is not supported: truncate first")
    s_lo, s_hi = _bounds(dist)
    lo, hi = _bound_value(dist, lo, s_lo), _bound_value(dist, hi, s_hi)
    numeric = not (lo.free_symbols or hi.free_symbols)
    # each comparison that can be decided (a support may end at a fixed parameter: binomial n)
    if numeric and (
        any(rel is sp.true for rel in (lo >= hi, lo < s_lo, hi > s_hi))
        or (lo == s_lo and hi == s_hi)
    ):
        raise NotApplicable(
            f"{flag} {sp.sstr(lo)},{sp.sstr(hi)} must be a proper interval inside the support "
            f"[{sp.sstr(s_lo)}, {sp.sstr(s_hi)}] of {dist.name}"
        )
    if dist.discrete and any(e.is_number and e.is_finite and not e.is_integer for e in (lo, hi)):
        raise NotApplicable(
            f"{flag} {sp.sstr(lo)},{sp.sstr(hi)}: the ends of a count's truncation are integers"
        )
    zero_truncation = dist.discrete and s_lo == 0 and lo == 1 and hi == s_hi
    if not zero_truncation:
        _cdf(dist, flag)

    def probability(*params):
        if zero_truncation:
            return 1 - dist.density(sp.S.Zero, *params)
        below = lo - 1 if dist.discrete else lo
        if hi == s_hi:
            return _survival(dist, below, *params)
        if lo == s_lo:
            return dist.cdf(hi, *params)
        return _interval(dist, hi, below, *params)

    def density(y, *rest):
        return dist.density(y, *rest) / probability(*rest)

    def cdf(y, *rest):
        F = dist.cdf
        lower = sp.S.Zero if lo == s_lo else F(lo - 1 if dist.discrete else lo, *rest)
        return (F(y, *rest) - lower) / probability(*rest)

    def sf(y, *rest):
        upper = sp.S.Zero if hi == s_hi else dist.sf(hi, *rest)
        return (dist.sf(y, *rest) - upper) / probability(*rest)

    ends = f"{sp.sstr(lo)},{sp.sstr(hi)}"
    return replace(
        dist,
        **_name(dist, f"{flag} {ends}", lambda b: truncated(b, lo, hi)),
        title=f"{dist.title}, truncated to [{sp.sstr(lo)}, {sp.sstr(hi)}]",
        density=density,
        cdf=None if dist.cdf is None else cdf,
        sf=None if dist.sf is None else sf,
        support=(lo, hi),
        symbols_=None,
        notes=f"Truncated to [{sp.sstr(lo)}, {sp.sstr(hi)}]: the density divided by the "
        f"probability of that interval under the untruncated law. " + dist.notes,
        rules=(*dist.rules, LOG_DIFFERENCE, CDF_INTERVAL),
    )


# ---------------------------------------------------------------------------- discretisation


def discretised(dist: Distribution, width=1) -> Distribution:
    """P(y − w/2 < Y ≤ y + w/2): the observed y is the centre of a bin of width w."""
    flag = "--discretised"
    _scalar(dist, flag)
    _continuous(dist, flag)
    _cdf(dist, flag)
    w = sp.nsimplify(width, rational=True) if not isinstance(width, sp.Basic) else width
    if not (w.is_number and w.is_positive):
        raise NotApplicable(f"{flag} {width}: the bin width must be a positive number")

    def density(y, *rest):
        return _interval(dist, y + w / 2, y - w / 2, *rest)

    return replace(
        dist,
        **_name(dist, f"{flag} {sp.sstr(w)}", lambda b: discretised(b, w)),
        title=f"{dist.title}, discretised to bins of width {sp.sstr(w)}",
        density=density,
        cdf=None,
        sf=None,
        symbols_=None,
        notes=f"Binned data: y is the centre of a bin of width {sp.sstr(w)} and the probability "
        f"is F(y + {sp.sstr(w / 2)}) − F(y − {sp.sstr(w / 2)}); bins lie inside the support. "
        + dist.notes,
        rules=(*dist.rules, LOG_DIFFERENCE, CDF_INTERVAL),
        unavailable={
            **dist.unavailable,
            "normalisation": "a probability per bin: it sums to one over the bins, it does not "
            "integrate to one",
            "scipy": "scipy.stats has no discretised families (the tests use CDF differences)",
        },
    )


# ---------------------------------------------------------------------------- zeros


def _zero_probability(dist, flag):
    _scalar(dist, flag)
    if dist.also_observed:
        raise NotApplicable(
            f"{flag} after --censored is not supported: a censored observation is an "
            "interval, not a count"
        )
    lo, _ = _bounds(dist)
    if not dist.discrete or lo != 0:
        raise NotApplicable(
            f"{flag} applies to discrete families whose support starts at 0, not {dist.name}"
        )
    if _bounds(dist)[1] == 1:
        raise NotApplicable(
            f"{flag} does not apply to {dist.name}: a binary outcome has no "
            "excess zeros to model (it is a model of zero vs one already)"
        )
    name = _fresh(dist, "pi")
    param = Var(name, "unit_interval", doc="probability of a structural zero")
    raw = Var(f"logit_{name}", "real", doc=f"logit of {name}")
    return param, Link(name, raw, sigmoid, "sigmoid")


def _with_zero_part(dist, flag, cases, title, notes):
    param, link = _zero_probability(dist, flag)
    base_params = len(dist.params)

    def density(y, *rest):
        params, pi, fixed = rest[:base_params], rest[base_params], rest[base_params + 1 :]
        return cases(y, pi, lambda v: dist.density(v, *params, *fixed))

    out = replace(
        dist,
        **_name(dist, flag, lambda b: _with_zero_part(b, flag, cases, title, notes)),
        title=f"{dist.title}, {title}",
        params=(*dist.params, param),
        links=(*dist.links, link),
        natural_link=None,  # two outputs: no single-margin objective
        density=density,
        cdf=None,
        sf=None,
        symbols_=None,
        notes=notes + " " + dist.notes,
        rules=(*dist.rules, LOG_SUM, LOG_DIFFERENCE, CDF_INTERVAL),
        unavailable={**dist.unavailable, "scipy": "scipy.stats has no zero-inflated families"},
    )
    y = out.sym(out.observed)
    return replace(
        out, guards={sp.Eq(y, 0): {out.observed.name: 0}, sp.true: {out.observed.name: 1}}
    )


def zero_inflated(dist: Distribution) -> Distribution:
    """π + (1 − π) f(0) at y = 0, (1 − π) f(y) for y > 0."""

    def cases(y, pi, f):
        return sp.Piecewise((pi + (1 - pi) * f(sp.S.Zero), sp.Eq(y, 0)), ((1 - pi) * f(y), True))

    return _with_zero_part(
        dist,
        "--zero-inflated",
        cases,
        "zero-inflated",
        "Zero-inflated: a structural zero with probability π = σ(logit_pi), else a draw from the "
        "family; at y = 0 the log-probability is log(π + (1 − π) f(0)), taken as a log-add-exp "
        "of the two log-probabilities.",
    )


def hurdle(dist: Distribution) -> Distribution:
    """π at y = 0, (1 − π) f(y) / (1 − f(0)) for y > 0 (the zero-truncated family)."""

    def cases(y, pi, f):
        return sp.Piecewise((pi, sp.Eq(y, 0)), ((1 - pi) * f(y) / (1 - f(sp.S.Zero)), True))

    return _with_zero_part(
        dist,
        "--hurdle",
        cases,
        "hurdle",
        "Hurdle: a zero with probability π = σ(logit_pi); positive counts from the family "
        "truncated at zero, f(y)/(1 − f(0)), with log(1 − f(0)) as a log1mexp.",
    )


# ---------------------------------------------------------------------------- mixtures


def mixture(dist: Distribution, components) -> Distribution:
    """Σₖ wₖ f(y | θₖ) over K components, the weights as logits (w = softmax(logit_w))."""
    flag = "--mixture"
    try:
        count = int(components)
    except (TypeError, ValueError):
        raise NotApplicable(
            f"{flag} {components!r}: the number of components must be an integer"
        ) from None
    if count != components and str(count) != str(components).strip():
        raise NotApplicable(f"{flag} {components!r}: the number of components must be an integer")
    if count < 1:
        raise NotApplicable(f"{flag} {components}: a mixture needs at least one component")
    _scalar(dist, flag)
    if dist.also_observed or any(isinstance(p, sp.Piecewise) for p in [dist.density_expr()]):
        raise NotApplicable(f"{flag} of a family given by cases ({dist.name}) is not supported")
    k = CLASS_INDEX
    params = tuple(replace(v, vector=True, doc=f"{v.doc}, per component") for v in dist.params)
    links = tuple(
        Link(
            link.param,
            replace(link.raw, vector=True),
            lambda raw, k_, K_, inverse=link.inverse: inverse(raw[k_]),
            link.name,
        )
        for link in dist.links
    )
    weights_name = _fresh(dist, "w")
    weights = Var(weights_name, "simplex", vector=True, doc="mixture weights")
    logits = Var(f"logit_{weights_name}", "real", vector=True, doc="mixture logits")
    j = sp.Symbol("j", integer=True, positive=True)
    softmax = Link(
        weights_name,
        logits,
        lambda z, k_, K_: sp.exp(z[k_]) / sp.Sum(sp.exp(z[j]), (j, 1, K_)),
        "softmax",
    )
    n = len(dist.params)

    def density(y, *rest):
        vectors, w, fixed = rest[:n], rest[n], rest[n + 1 :]
        return sp.Sum(w[k] * dist.density(y, *(v[k] for v in vectors), *fixed), (k, 1, N_CLASSES))

    return replace(
        dist,
        **_name(dist, f"{flag} {count}", lambda b: mixture(b, count)),
        title=f"mixture of {count} {dist.title}",
        params=(*params, weights),
        links=(*links, softmax),
        natural_link=None,
        density=density,
        cdf=None,
        sf=None,
        symbols_=None,
        notes=f"A mixture of K = {count} components (the class axis, last, of every per-component "
        f"argument); weights w = softmax(logit_{weights_name}); the NLL is −logsumexp over the "
        f"components of log wₖ + log f(y | θₖ), as torch's MixtureSameFamily. " + dist.notes,
        unavailable={**dist.unavailable, "scipy": "scipy.stats has no mixtures (tests use torch)"},
    )


# ---------------------------------------------------------------------------- ordinal outcomes
#
# An ordinal outcome is an interval-censored latent score: y = k where c_k < η + ε ≤ c_{k+1}, with
# ε of CDF F (logistic: the cumulative logit; normal: the cumulative probit), K cutpoints on the
# class axis and K + 1 classes y ∈ {0, …, K} (c_0 = −∞, c_{K+1} = +∞).  The raw cutpoints r are
# kept increasing by construction: c_k = r_1 + Σ_{j=2}^{k} softplus(r_j).

_J = sp.Symbol("j", integer=True, positive=True)


def cutpoints(raw, k, K):
    """c_k = r_1 + Σ_{j=2}^{k} softplus(r_j): increasing in k for every raw vector r."""
    total = sp.Sum(softplus(raw[_J]), (_J, 2, k))
    return raw[1] + (total.doit() if k.is_Integer else total)


def ordinal_probability(F):
    """P(y | η, c) = F(c_{y+1} − η) − F(c_y − η), as its three cases (lowest, highest, between)."""

    def probability(y, eta, c):
        return sp.Piecewise(
            (F(c[1] - eta), sp.Eq(y, 0)),
            (1 - F(c[N_CLASSES] - eta), sp.Eq(y, N_CLASSES)),
            (F(c[y + 1] - eta) - F(c[y] - eta), True),
        )

    return probability


def ordinal_guards(y):
    """A class inside each case (the lowest, the highest, one between), for code."""
    return {
        sp.Eq(y, 0): {y.name: 0},
        sp.Eq(y, N_CLASSES): {y.name: N_CLASSES},
        sp.true: {y.name: 1},
    }


def ordinal_loss(F, y, eta, raw):
    """−log P(y | η, c(raw)) in its stable form (the cases' logs, log-diff-exp between)."""
    c = sp.IndexedBase("_c")
    p = ordinal_probability(F)(y, eta, c)
    p = p.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == c,
        lambda e: cutpoints(raw, e.indices[0], N_CLASSES),
    )
    cases = [(-_stable_log(value), cond) for value, cond in p.args]
    # the bound index named k, as the derivation names it
    return rename_index(stabilise(LOG_DIFFERENCE[1](sp.Piecewise(*cases)))[0], CLASS_INDEX)


# ---------------------------------------------------------------------------- links


class LinkKind(NamedTuple):
    inverse: object  # raw -> parameter
    name: str  # as the derivation writes it: param = name(raw)
    domains: tuple[str, ...]  # the parameter constraints it applies to
    prefix: str  # the raw output's name: prefix + param


LINKS = {
    "identity": LinkKind(None, "", (), ""),
    "log": LinkKind(sp.exp, "exp", ("positive",), "log_"),
    "logvar": LinkKind(lambda r: sp.exp(r / 2), "√exp", ("positive",), "logvar_"),
    "softplus": LinkKind(softplus, "softplus", ("positive",), "softplus_"),
    "logit": LinkKind(sigmoid, "sigmoid", ("unit_interval",), "logit_"),
    "probit": LinkKind(ndtr, "Φ", ("unit_interval",), "probit_"),
}


def link(dist: Distribution, **kinds: str) -> Distribution:
    """Each named parameter learned through a link: ``link(sigma="log")`` learns log σ."""
    out = dist
    for param, kind in kinds.items():
        out = _link_one(out, param, kind)
    return out


def _link_one(dist, param, kind):
    flag = f"--link {param}={kind}"
    if kind not in LINKS:
        raise NotApplicable(f"{flag}: unknown link {kind!r}; known: {', '.join(LINKS)}")
    declared = {v.name: v for v in dist.params}
    if param not in declared:
        fixed = {v.name for v in dist.fixed}
        learned = ", ".join(declared)
        why = "is fixed" if param in fixed else "is not a parameter"
        raise NotApplicable(f"{flag}: {param} {why} in {dist.name}; learned: {learned}")
    var = declared[param]
    spec = LINKS[kind]
    if spec.inverse is not None and var.constraint not in spec.domains:
        raise NotApplicable(
            f"{flag}: a {kind} link maps onto {' or '.join(spec.domains)} parameters; "
            f"{param} is {var.constraint}"
        )
    links = tuple(lk for lk in dist.links if lk.param != param)
    if spec.inverse is not None:
        raw = Var(
            _fresh(dist, spec.prefix + param), "real", vector=var.vector, doc=f"{kind} of {param}"
        )
        inverse = spec.inverse
        if var.vector:
            new = Link(param, raw, lambda r, k_, K_, f=inverse: f(r[k_]), spec.name)
        else:
            new = Link(param, raw, inverse, spec.name)
        order = {v.name: i for i, v in enumerate(dist.params)}
        links = tuple(sorted((*links, new), key=lambda lk: order[lk.param]))
    out = replace(
        dist, **_name(dist, flag, lambda b: _link_one(b, param, kind)), links=links, symbols_=None
    )
    return replace(out, natural_link=_natural_link(out))


#: The margin link a booster needs for a constrained single output (spec.NATURAL_LINKS)
_NATURAL = {"positive": "log", "unit_interval": "logit"}


def _natural_link(dist):
    """A single learned output: none where it is unconstrained, else by its constraint."""
    if len(dist.learned) != 1:
        return None
    return _NATURAL.get(dist.learned[0].constraint)


MODIFIERS.update(
    censored=censored,
    truncated=truncated,
    discretised=discretised,
    zero_inflated=zero_inflated,
    hurdle=hurdle,
    mixture=mixture,
    link=link,
)
