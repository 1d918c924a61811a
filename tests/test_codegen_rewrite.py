"""Every code rewrite rule: it fires, it is an identity (mpmath at 60 digits), and the numpy code
printed from its result is finite and accurate at extreme inputs where the naive form is not."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import special

from derive.codegen.backends import NUMPY, Printer
from derive.codegen.rewrite import (
    CODE_RULES,
    apply_rules,
    elementary,
    lgamma,
    lgamma_ratio,
    log1p,
    prepare,
    xlog1py,
)
from derive.functions import SPECIAL_RULES, log_i0, sigmoid, softplus, xlogy

x = sp.Symbol("x", real=True)
v = sp.Symbol("v", real=True)
w = sp.Symbol("w", positive=True)
u = sp.Symbol("u", positive=True)
neg = sp.Symbol("neg", negative=True)
n = sp.Symbol("n", integer=True, nonnegative=True)
m = sp.Symbol("m", integer=True, nonnegative=True)

#: note -> (input expression, points {symbol: value}, naive numpy value at the first point or
#: None); the first point of each is an extreme input where the naive form fails.
CASES = {
    "I_ν(x) = e^|x| ive(ν, x)": (
        sp.log(sp.besseli(1, w)),
        [{w: 1e5}, {w: 1000.0}, {w: 0.5}, {w: 30.0}],
        lambda: np.log(special.iv(1, 1e5)),
    ),
    "log(e^a·b) = a + log b": (
        sp.log(sp.exp(x) * w),
        [{x: 800.0, w: 2.0}, {x: -800.0, w: 1e-300}, {x: 1.0, w: 3.0}],
        lambda: np.log(np.exp(800.0) * 2.0),
    ),
    "cᵏeᵏᵍ(1 + ceᵍ)⁻ⁿ = exp(−k softplus(−s) − (n − k) softplus(s)), s = g + log c": (
        w**3 * sp.exp(3 * x) / (1 + w * sp.exp(x)) ** 4,
        [{x: 300.0, w: 2.0}, {x: -300.0, w: 0.5}, {x: 1.0, w: 3.0}, {x: 40.0, w: 1e-10}],
        lambda: 2.0**3 * np.exp(900.0) / (1 + 2.0 * np.exp(300.0)) ** 4,
    ),
    "log(c·x) = log c + log x (c > 0 a number)": (
        sp.log(3 * w),
        [{w: 1e308}, {w: 1e-300}, {w: 2.0}],
        lambda: np.log(3 * 1e308),
    ),
    "loggamma(x) = lgamma(x), kept unevaluated": (
        sp.loggamma(w),
        [{w: 1e300}, {w: 0.5}, {w: 1e5}],
        None,
    ),
    "log Γ(x) = lgamma(x)": (
        sp.log(sp.gamma(w)),
        [{w: 200.0}, {w: 1e5}, {w: 0.25}],
        lambda: np.log(special.gamma(200.0)),
    ),
    "log x! = lgamma(x + 1)": (
        sp.log(sp.factorial(n)),
        [{n: 1000}, {n: 0}, {n: 5}],
        lambda: np.log(special.factorial(1000.0)),
    ),
    "log C(n, k) = lgamma(n + 1) − lgamma(k + 1) − lgamma(n − k + 1)": (
        sp.log(sp.binomial(n + m, m)),
        [{n: 600, m: 500}, {n: 3, m: 2}, {n: 0, m: 0}],
        lambda: np.log(special.factorial(1100.0) / special.factorial(500.0) ** 2),
    ),
    "log B(a, b) = lgamma(a) + lgamma(b) − lgamma(a + b)": (
        sp.log(sp.beta(w, u)),
        [{w: 500.0, u: 600.0}, {w: 1e-3, u: 1e3}, {w: 2.5, u: 0.5}],
        lambda: np.log(special.beta(500.0, 600.0)),
    ),
    "log cosh x = |x| + softplus(−2|x|) − log 2": (
        sp.log(sp.cosh(x)),
        [{x: -800.0}, {x: 800.0}, {x: 0.1}, {x: 0.0}],
        lambda: np.log(np.cosh(-800.0)),
    ),
    "log xⁿ = n log x (x > 0)": (
        sp.log(w**2),
        [{w: 1e200}, {w: 1e-200}, {w: 3.0}],
        lambda: np.log(np.float64(1e200) ** 2),
    ),
    "log(1 − eˣ) = log1mexp(x)": (
        sp.log(1 - sp.exp(neg)),
        [{neg: -1e-20}, {neg: -50.0}, {neg: -1.0}],
        lambda: np.log(1 - np.exp(-1e-20)),
    ),
    "log(eᵃ + eᵇ) = logaddexp(a, b)": (
        sp.log(sp.exp(x) + sp.exp(v)),
        [{x: 800.0, v: 799.0}, {x: -800.0, v: -801.0}, {x: 0.5, v: -0.5}],
        lambda: np.log(np.exp(800.0) + np.exp(799.0)),
    ),
    "x·log y = xlogy(x, y)": (
        n * sp.log(w),
        [{n: 0, w: 1e-320}, {n: 3, w: 2.0}, {n: 7, w: 1e-300}],
        None,
    ),
    "xlogy(x, 1 + y) = xlog1py(x, y)": (
        sp.Function("xlogy_placeholder")(n, 1 + w),  # replaced below: xlogy(n, 1 + w)
        [{n: 3, w: 1e-20}, {n: 2, w: 1e300}, {n: 1, w: 0.5}],
        lambda: 3 * np.log(1 + 1e-20),
    ),
    "log(1 + x) = log1p(x)": (
        sp.log(1 + x),
        [{x: 1e-20}, {x: -0.5}, {x: 1e300}],
        lambda: np.log(1 + 1e-20),
    ),
    "eˣ − 1 = expm1(x)": (
        sp.exp(x) - 1,
        [{x: 1e-20}, {x: -1e-20}, {x: 5.0}],
        lambda: np.exp(1e-20) - 1,
    ),
    "1 − σ(x) = σ(−x)": (
        1 - sigmoid(x),
        [{x: 40.0}, {x: -40.0}, {x: 0.0}],
        lambda: 1 - special.expit(40.0),
    ),
    "lgamma(x + d) − lgamma(x) = lgamma_ratio(x, d)": (
        lgamma(w + n) - lgamma(w),  # the negative binomial's log Γ(y + 1/α) − log Γ(1/α)
        [{w: 1e12, n: 3}, {w: 2.5, n: 4}, {w: 40.0, n: 0}, {w: 1e-3, n: 7}],
        lambda: special.gammaln(1e12 + 3) - special.gammaln(1e12),
    ),
    "log1p(u²) = log1p_square(u)": (
        log1p((x - v) ** 2 / w**2),  # the Cauchy loss log(1 + ((y − μ)/γ)²)
        [{x: 1e200, v: 0.0, w: 1.0}, {x: 1.0, v: 0.5, w: 2.0}, {x: 3e-170, v: 0.0, w: 1.0}],
        lambda: np.log1p(np.float64(1e200) ** 2),
    ),
    "c₁ Σ f₁ + c₂ Σ f₂ = Σ (c₁ f₁ + c₂ f₂) for summands sharing a log": (
        # the Dirichlet's Σ log yₖ − Σ αₖ log yₖ: then Σ xlogy(1 − αₖ, yₖ), 0 at yₖ = 0, αₖ = 1
        sp.Sum(sp.log(u + n), (n, 1, 3)) - sp.Sum(w * sp.log(u + n), (n, 1, 3)),
        [{u: 0.5, w: 3.0}, {u: 1e-3, w: 1.0}, {u: 40.0, w: 0.2}],
        None,
    ),
    "c₁ log y + c₂ log y = (c₁ + c₂) log y": (
        sp.log(w) - x * sp.log(w),  # the beta's log y − a log y: then xlogy(1 − a, y)
        [{w: 1e-300, x: 1.0}, {w: 2.0, x: 3.0}, {w: 1e300, x: -2.0}],
        None,
    ),
    "log I₀(x) − x cos u = log ive(0, x) + 2x sin²(u/2)": (
        log_i0(w) - w * sp.cos(x),  # the von Mises NLL at κ = 1e8: I₀ overflows
        [{w: 1e8, x: 0.1}, {w: 0.5, x: 3.0}, {w: 800.0, x: 1e-9}],
        lambda: np.log(special.i0(1e8)) - 1e8 * np.cos(0.1),
    ),
    "c − c cos u = 2c sin²(u/2)": (
        1 - sp.cos(x),  # the cosine loss near r = 0
        [{x: 1e-8}, {x: 2.0}, {x: -3.1}],
        lambda: 1 - np.cos(1e-8),
    ),
    "softplus(z) − yz = (max(z, 0) − yz) + log1p(e^−|z|)": (
        softplus(x) - n * x,  # the logit loss, confident and right: log1p(e^−40) = 4.2e-18
        [{x: 40.0, n: 1}, {x: -30.0, n: 0}, {x: 0.5, n: 1}, {x: -700.0, n: 1}],
        lambda: np.logaddexp(0, 40.0) - 40.0,
    ),
    "c|t| + kt = (c + k) max(t, 0) + (c − k) max(−t, 0)": (
        # the pinball loss |t|/2 − (τ − ½)t at τ = 1e-14: t/2 − (½ − τ)t cancels to τt
        sp.Abs(v - x) / 2 - (w - sp.S.Half) * (v - x),
        [{x: 3.0, v: 1.0, w: 1e-14}, {x: 1.0, v: 3.0, w: 1 - 1e-14}, {x: -2.0, v: 5.0, w: 0.3}],
        lambda: abs(1.0 - 3.0) / 2 - (1e-14 - 0.5) * (1.0 - 3.0),
    ),
    "log B(a, b) + (1 − a) log y + (1 − b) log(1 − y) in saddle-point form (Stirling "
    "remainders and x·e − (x − 1) log(1 + e))": (
        # the beta NLL as the code rules leave it: each term ~a log a at a = b = 1e12
        lgamma(w) - lgamma_ratio(u, w) + xlog1py(1 - w, -x) + xlogy(1 - u, x),
        [
            {u: 1e12, w: 1e12, x: 0.5},
            {u: 1e8, w: 3e8, x: 0.2501},
            {u: 2.0, w: 5.0, x: 0.3},
            {u: 0.5, w: 2.0, x: 1e-300},
            {u: 1.0, w: 2.0, x: 1e-5},
            {u: 0.3, w: 0.7, x: 0.999},
        ],
        lambda: (
            special.gammaln(1e12)
            - special.gammaln(2e12)
            + special.gammaln(1e12)
            + 2 * (1 - 1e12) * np.log(0.5)
        ),
    ),
    "lgamma(k) − k log k + k log μ + k y/μ + (1 − k) log y in saddle-point form (Stirling "
    "remainder and x·e − (x − 1) log(1 + e))": (
        # the gamma NLL in mean μ and shape k: lgamma(k) and k log k cancel at k = 1e12
        w * sp.log(u) - w * sp.log(w) + lgamma(w) + xlogy(1 - w, x) + w * x / u,
        [
            {u: 2.0, w: 1e12, x: 2.0},
            {u: 2.0, w: 1e6, x: 2.001},
            {u: 1.0, w: 1.0, x: 1e-5},
            {u: 3.0, w: 0.5, x: 1e-300},
            {u: 1.0, w: 1e8, x: 1e-3},
        ],
        lambda: (
            1e12 * np.log(2.0)
            - 1e12 * np.log(1e12)
            + special.gammaln(1e12)
            + (1 - 1e12) * np.log(2.0)
            + 1e12
        ),
    ),
}


def _input(note):
    from derive.functions import xlogy

    expr, points, naive = CASES[note]
    if note.startswith("xlogy"):
        expr = xlogy(n, 1 + w)
    return expr, points, naive


def _mp(expr, point):
    bound = elementary(expr).xreplace(
        {s: (sp.Integer(val) if s.is_integer else sp.Float(val, 60)) for s, val in point.items()}
    )
    return mpmath.mpf(str(sp.N(bound, 60)))


NAMESPACE = {
    "np": np,
    "special": special,
    "_softplus": lambda t: np.logaddexp(0, t),  # independent implementations of the helpers
    "_expit": special.expit,
    "_select": lambda cond, a, b: np.where(cond, a(), b()),
    "_log1mexp": lambda t: np.log1p(-np.exp(t)) if t < -0.5 else np.log(-np.expm1(t)),
    # the helpers' own formulas are checked against mpmath in test_codegen_special.py
    "_lgamma_ratio": lambda a, d: float(
        mpmath.loggamma(mpmath.mpf(a) + mpmath.mpf(d)) - mpmath.loggamma(mpmath.mpf(a))
    ),
    "_log1p_square": lambda t: float(mpmath.log1p(mpmath.mpf(t) ** 2)),
    "_lgamma_stirling": lambda z: float(
        mpmath.loggamma(mpmath.mpf(z)) - (mpmath.mpf(z) - 0.5) * mpmath.log(z) + mpmath.mpf(z)
    ),
    # x e − (x − 1) log r at 60 digits, r = 1 + e: from r where |e| > 0.5 (r is computed
    # without rounding away what 1 + e would: y = 1e-300; xlogy semantics at r = 0), from e
    # below (as the helper's series: at x = 1e8 the roundings of e and r differ by x·1e-16)
    "_saddle_deviance": lambda x, e, r: float(
        mpmath.mpf(x) * (mpmath.mpf(r) - 1) - (0 if x == 1 else (mpmath.mpf(x) - 1) * mpmath.log(r))
        if abs(e) > 0.5
        else mpmath.mpf(x) * mpmath.mpf(e) - (mpmath.mpf(x) - 1) * mpmath.log1p(mpmath.mpf(e))
    ),
    "_beta_offset": lambda a, b, y: float(
        mpmath.mpf(b) * mpmath.mpf(y) - mpmath.mpf(a) * (1 - mpmath.mpf(y))
    ),
    "_softplus_minus": lambda z, y: float(
        mpmath.log1p(mpmath.exp(mpmath.mpf(z))) - mpmath.mpf(y) * mpmath.mpf(z)
    ),
}


def _numpy(expr, point):
    # a sum over numeric limits (a rule's test case) is written out: code only prints class sums
    expr = expr.replace(lambda e: isinstance(e, sp.Sum), lambda e: e.doit())
    names = {s: s.name for s in point}
    code = Printer(NUMPY, names).doprint(expr)
    values = {s.name: np.float64(val) for s, val in point.items()}
    with np.errstate(all="ignore"):
        return float(eval(code, {**NAMESPACE, **values}))


#: the code rules, and the derivation's special-function rules that code relies on (prepare()
#: applies those first, so the code rules need no copies of them)
RULES = CODE_RULES + tuple((note, rule) for note, rule in SPECIAL_RULES if note in CASES)


def test_every_rule_has_a_case():
    assert {note for note, _ in CODE_RULES} <= set(CASES)
    assert set(CASES) == {note for note, _ in RULES}


@pytest.mark.parametrize("note, rule", RULES, ids=[note for note, _ in RULES])
def test_rule_fires_is_an_identity_and_is_stable_in_float64(note, rule):
    before, points, naive = _input(note)
    after, fired = apply_rules(before, ((note, rule),))
    assert fired == [note] and after != before
    with mpmath.workdps(60):
        for point in points:
            exact = _mp(before, point)
            assert mpmath.almosteq(_mp(after, point), exact, rel_eps=mpmath.mpf(10) ** -45), point
            if not mpmath.isfinite(exact) or abs(exact) > 1e307:
                continue
            code, _ = prepare(after)  # the whole pass, as emitted code sees it
            got = _numpy(code, point)
            assert np.isfinite(got), (note, point)
            assert got == pytest.approx(float(exact), rel=1e-13, abs=1e-300), (note, point)
        if naive is not None:  # the first point is where the naive form breaks
            with np.errstate(all="ignore"):
                bad = naive()
            exact = float(_mp(before, points[0]))
            assert not np.isfinite(bad) or bad != pytest.approx(exact, rel=1e-6, abs=0)


def test_zero_log_zero_is_zero_after_the_xlogy_rule():
    after, _ = apply_rules(n * sp.log(w), CODE_RULES, passes=4)
    assert _numpy(after, {n: 0, w: 0.0}) == 0.0


def test_positive_factors_keep_the_log():
    """x·log y is only rewritten where x can vanish (a positive factor cannot)."""
    before = w * sp.log(u)
    after, fired = apply_rules(before, CODE_RULES, passes=4)
    assert after == before and fired == []


def test_a_guarded_case_with_the_class_count_gets_a_safe_log_difference_gap():
    """guard_cases: where a case's value involves K (its safe class may not exist: two ordinal
    classes), each logdiffexp(a, b) gets b = a − 1 outside the case; a case free of K (the
    censored interval) keeps its log-difference as it is, only its observed symbol guarded."""
    from derive.codegen.rewrite import Where, guard_cases
    from derive.functions import logdiffexp
    from derive.spec import N_CLASSES

    y, a, b = sp.symbols("y a b", real=True)
    cond = sp.Eq(y, 0)
    guards = {cond: {y: 0}, sp.true: {y: 1}}
    with_k = sp.Piecewise((a, cond), (logdiffexp(a * y, b * N_CLASSES), True))
    got = guard_cases(with_k, guards, [y])
    ya = Where(sp.Not(cond), y, 1)
    assert got.args[1][0] == logdiffexp(a * ya, Where(sp.Not(cond), b * N_CLASSES, a * ya - 1))
    without_k = sp.Piecewise((a, cond), (logdiffexp(a * y, b), True))
    assert guard_cases(without_k, guards, [y]).args[1][0] == logdiffexp(a * ya, b)
    # outside the case (y = 0): a·1 and a·1 − 1, a gap of −1 whatever K is
    safe = got.args[1][0].subs({y: 0, a: 2.0, b: 3.0, N_CLASSES: 1})
    assert (float(safe.args[0]), float(safe.args[1])) == (2.0, 1.0)
