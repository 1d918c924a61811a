"""The special-function primitives and rewrite rules the catalog added, against mpmath and scipy
at ordinary and extreme inputs: values, derivatives, the rules as identities, and their LaTeX."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import special

from derive.functions import (
    PRIMITIVES,
    REWRITE_RULES,
    SPECIAL_RULES,
    elementary,
    erfcx,
    gammainc,
    gammaincc,
    huber,
    ibeta,
    log1mexp,
    log1p,
    log_erf,
    log_i0,
    log_ndtr,
    logcosh,
    logdiffexp,
    loggamma,
    logsumexp,
    stabilise,
    stdtr,
)
from derive.latex import tex
from derive.numeric import evaluate

x = sp.Symbol("x", real=True)
w = sp.Symbol("w", positive=True)
n = sp.Symbol("n", integer=True, nonnegative=True)
m = sp.Symbol("m", integer=True, nonnegative=True)
k = sp.Symbol("k", integer=True, positive=True)
DPS = 50


def _value(expr, **values):
    """expr at values, through its elementary form, with DPS digits (SymPy's evalf, mpmath)."""
    symbols = {str(s): s for s in expr.free_symbols}
    bound = elementary(expr).subs(
        {symbols[name]: sp.Float(v, DPS) for name, v in values.items() if name in symbols}
    )
    return mpmath.mpf(str(sp.N(bound.doit(), DPS)))


def _close(a, b):
    tiny = mpmath.mpf(10)
    return mpmath.almosteq(mpmath.mpf(a), mpmath.mpf(b), rel_eps=tiny**-40, abs_eps=tiny**-45)


# ---------------------------------------------------------------------------- primitives

REFERENCE = {  # independent definitions, evaluated by mpmath
    loggamma: lambda v: mpmath.loggamma(v),
    log1p: lambda v: mpmath.log1p(v),
    logcosh: lambda v: mpmath.log(mpmath.cosh(v)),
    log_i0: lambda v: mpmath.log(mpmath.besseli(0, v)),
}
POINTS = {
    loggamma: [1e-8, 0.3, 1.0, 2.5, 40.0, 1e5],
    log1p: [-0.5, 1e-30, 1e-8, 0.7, 1e6],
    logcosh: [-800.0, -3.0, 1e-9, 0.5, 40.0, 800.0],
    log_i0: [1e-6, 0.5, 3.0, 40.0, 800.0, 1e4],
}


@pytest.mark.parametrize("fn", list(REFERENCE), ids=lambda f: f.__name__)
@mpmath.workdps(DPS)
def test_primitive_values_and_derivatives(fn):
    for v in POINTS[fn]:
        assert _close(
            _value(fn(w if fn is not logcosh else x), **{"w": v, "x": v}), REFERENCE[fn](v)
        )
        numeric = mpmath.diff(REFERENCE[fn], mpmath.mpf(v), h=mpmath.mpf(v) * 1e-20 or 1e-20)
        arg = x if fn is logcosh else w
        symbolic = _value(sp.diff(fn(arg), arg), **{str(arg): v})
        assert mpmath.almosteq(symbolic, numeric, rel_eps=mpmath.mpf(10) ** -15), (fn, v)


def test_huber_is_scipy_huber_with_its_derivatives():
    r, kk = sp.Symbol("r", real=True), sp.Symbol("kk", positive=True)
    for rv in (-1e6, -2.0, -0.3, 0.0, 0.7, 1.2, 50.0):
        for kv in (0.1, 1.0, 1.35):
            assert float(_value(huber(r, kk), r=rv, kk=kv)) == pytest.approx(
                special.huber(kv, rv), rel=1e-15, abs=1e-300
            )
            # ∂r is the clipped residual (torch's and sklearn's gradient), ∂k by finite difference
            assert float(_value(sp.diff(huber(r, kk), r), r=rv, kk=kv)) == np.clip(rv, -kv, kv)
            dk = (special.huber(kv + 1e-7, rv) - special.huber(kv - 1e-7, rv)) / 2e-7
            assert float(_value(sp.diff(huber(r, kk), kk), r=rv, kk=kv)) == pytest.approx(
                dk, rel=1e-6, abs=1e-7
            )


def test_even_primitives_take_one_canonical_sign():
    y, mu = sp.symbols("y mu", real=True)
    assert logcosh(mu - y) == logcosh(y - mu) and huber(mu - y, w) == huber(y - mu, w)
    assert logcosh(0) == 0 and huber(0, w) == 0 and log_i0(0) == 0


def test_loggamma_stays_unevaluated_at_symbolic_integers():
    assert isinstance(loggamma(n + 1), loggamma)  # SymPy's own would become log(gamma(n + 1))
    assert loggamma(sp.Integer(5)) == sp.log(24)


def test_every_primitive_has_a_derivative_an_elementary_form_and_latex():
    z = sp.IndexedBase("z", real=True)
    calls = {  # primitive -> (a call, the variable to differentiate by)
        "sigmoid": ((x,), x),
        "softplus": ((x,), x),
        "xlogy": ((x, w), w),
        "logsumexp": ((z[k], k, sp.Symbol("K", integer=True, positive=True)), z[1]),
        "loggamma": ((w,), w),
        "log1p": ((w,), w),
        "logcosh": ((x,), x),
        "huber": ((x, w), x),
        "log_i0": ((w,), w),
        "ndtr": ((x,), x),
        "log_ndtr": ((x,), x),
        "log_erf": ((w,), w),
        "mills": ((x,), x),
        "erfcx": ((x,), x),
        "log1mexp": ((-w,), w),
        "logdiffexp": ((x, x - w), w),
        "gammainc": ((w, w), w),
        "gammaincc": ((w, w), w),
        "ibeta": ((w, w, w / (1 + w)), w),
        "stdtr": ((w, x), x),
    }
    assert set(calls) == {fn.__name__ for fn in PRIMITIVES}
    direct = (loggamma, gammainc, gammaincc, ibeta, stdtr)  # evaluated by mpmath as they are
    for fn in PRIMITIVES:
        args, by = calls[fn.__name__]
        expr = fn(*args)
        assert not isinstance(sp.diff(expr, by), sp.Derivative), fn
        assert not (elementary(expr).atoms(*PRIMITIVES) - elementary(expr).atoms(*direct)), fn
        assert tex(expr), fn


@pytest.mark.parametrize("a, x", [(2.5, 1e-150), (2.5, 0.7), (0.3, 40.0), (2.5, 650.0)])
def test_regularized_incomplete_gamma_keeps_both_tails(a, x):
    """P and Q each by their own integral (mpmath), against scipy where it is representable and
    against 1: P + Q = 1; the x-derivative is the gamma density."""
    from scipy import special

    P, Q = gammainc(sp.Float(a), sp.Float(x)), gammaincc(sp.Float(a), sp.Float(x))
    p, q = float(evaluate(P, {}, 30)), float(evaluate(Q, {}, 30))
    assert p == pytest.approx(special.gammainc(a, x), rel=1e-12, abs=1e-300)
    assert q == pytest.approx(special.gammaincc(a, x), rel=1e-12, abs=1e-300)
    assert abs(evaluate(P + Q, {}, 30) - 1) < 1e-25
    t = sp.Symbol("t", positive=True)
    slope = sp.diff(gammainc(sp.Float(a), t), t).subs(t, sp.Float(x))
    assert float(evaluate(slope, {}, 30)) == pytest.approx(
        float(mpmath.exp(-x) * mpmath.mpf(x) ** (a - 1) / mpmath.gamma(a)), rel=1e-12
    )


@pytest.mark.parametrize("a, b, x", [(2.0, 3.0, 0.4), (1.4, 31.0, 0.96), (150.0, 1.4, 1e-3)])
def test_regularized_incomplete_beta_and_its_complement(a, b, x):
    """I_x(a, b) by mpmath against scipy.special.betainc; its complement I_{1−x}(b, a) against
    scipy's betaincc (1 − I where that is representable) and mpmath's upper integral; the
    x-derivative is the beta density."""
    from scipy import special

    from derive.functions import complement

    t = sp.Symbol("t", positive=True)
    value = float(evaluate(ibeta(sp.Float(a), sp.Float(b), sp.Float(x)), {}, 30))
    assert value == pytest.approx(special.betainc(a, b, x), rel=1e-12, abs=1e-300)
    upper = complement(ibeta(sp.Float(a), sp.Float(b), t)).subs(t, sp.Float(x))
    with mpmath.workdps(30):
        want = mpmath.betainc(a, b, x, 1, regularized=True)
    assert float(evaluate(upper, {}, 30)) == pytest.approx(float(want), rel=1e-12)
    assert float(evaluate(upper, {}, 30)) == pytest.approx(special.betaincc(a, b, x), rel=1e-10)
    slope = sp.diff(ibeta(sp.Float(a), sp.Float(b), t), t).subs(t, sp.Float(x))
    density = mpmath.mpf(x) ** (a - 1) * (1 - mpmath.mpf(x)) ** (b - 1) / mpmath.beta(a, b)
    assert float(evaluate(slope, {}, 30)) == pytest.approx(float(density), rel=1e-12)
    assert ibeta(0, b, t) == 1 and ibeta(a, 0, t) == 0  # scipy's limits at a = 0 and b = 0


@pytest.mark.parametrize(
    "expr, expected",
    [
        (loggamma(w), r"\log \Gamma\left(w\right)"),
        (log1p(w), r"\log\left(1 + w\right)"),
        (logcosh(x), r"\log\cosh\left(x\right)"),
        (huber(x, w), r"\operatorname{huber}_{w}\left(x\right)"),
        (log_i0(w), r"\log I_{0}\left(w\right)"),
        (log_ndtr(x), r"\log \Phi\left(x\right)"),
        (erfcx(x), r"\operatorname{erfcx}\left(x\right)"),
        (log1mexp(-w), r"\log\left(1 - e^{- w}\right)"),
    ],
)
def test_latex_of_each_new_primitive(expr, expected):
    assert tex(expr) == expected


#: the primitives of the censored and Φ/erf densities, by an independent mpmath definition, at
#: ordinary points and in both tails (where Φ underflows, 1 − Φ rounds to 1, erfc underflows)
TAIL_REFERENCE = {
    log_ndtr: (lambda v: mpmath.log(mpmath.ncdf(v)), [-1e4, -40.0, -5.0, 0.0, 0.3, 9.0, 40.0]),
    erfcx: (lambda v: mpmath.exp(v**2) * mpmath.erfc(v), [-20.0, -1.0, 0.0, 2.0, 30.0, 1e6]),
    log1mexp: (lambda v: mpmath.log(1 - mpmath.exp(v)), [-800.0, -3.0, -0.5, -1e-20]),
    log_erf: (lambda v: mpmath.log(mpmath.erf(v)), [1e-6, 1e-3, 0.5, 1.0, 4.0, 9.0]),
}


@pytest.mark.parametrize("fn", list(TAIL_REFERENCE), ids=lambda f: f.__name__)
@mpmath.workdps(DPS)
def test_tail_primitive_values_and_derivatives(fn):
    reference, points = TAIL_REFERENCE[fn]
    for v in points:
        exact = reference(mpmath.mpf(v))
        assert mpmath.almosteq(_value(fn(x), x=v), exact, rel_eps=mpmath.mpf(10) ** -30), v
        numeric = mpmath.diff(reference, mpmath.mpf(v))
        symbolic = _value(sp.diff(fn(x), x), x=v)
        assert mpmath.almosteq(symbolic, numeric, rel_eps=mpmath.mpf(10) ** -20), (fn, v)


@mpmath.workdps(DPS)
def test_logdiffexp_value_and_derivatives():
    a, b = sp.symbols("a b", real=True)
    for av, bv in ((0.0, -1e-18), (-1e-10, -2e-10), (-3.0, -700.0), (500.0, 499.0)):
        exact = mpmath.log(mpmath.exp(av) - mpmath.exp(bv))
        assert _close(_value(logdiffexp(a, b), a=av, b=bv), exact)
        for var, h in ((a, (1, 0)), (b, (0, 1))):
            numeric = mpmath.diff(
                lambda p, q: mpmath.log(mpmath.exp(p) - mpmath.exp(q)), (av, bv), h
            )
            symbolic = _value(sp.diff(logdiffexp(a, b), var), a=av, b=bv)
            assert mpmath.almosteq(symbolic, numeric, rel_eps=mpmath.mpf(10) ** -20)


# ---------------------------------------------------------------------------- rewrite rules

K3 = 3
RULE_INPUTS = {  # note -> (expression, the points it is checked at)
    "log Γ(x) = lgamma(x)": (sp.log(sp.gamma(w)), [{"w": v} for v in (1e-6, 0.5, 3.0, 170.5)]),
    "log x! = lgamma(x + 1)": (sp.log(sp.factorial(n)), [{"n": v} for v in (0, 1, 7, 300)]),
    "log C(n, k) = lgamma(n + 1) − lgamma(k + 1) − lgamma(n − k + 1)": (
        sp.log(sp.binomial(n, m)),
        [{"n": a, "m": b} for a, b in ((5, 0), (10, 3), (200, 100))],
    ),
    "log Φ(x) = log_ndtr(x), log(1 − Φ(x)) = log_ndtr(−x), log erfc(u) = log 2 + log_ndtr(−√2u)": (
        sp.log((1 + sp.erf(x / sp.sqrt(2))) / 2) + sp.log(1 - sp.erf(x)) + sp.log(3 * sp.erfc(w)),
        [{"x": a, "w": b} for a, b in ((-3.0, 0.5), (0.0, 2.0), (4.0, 6.0))],
    ),
    "log(c·erf(u)) = log c + log_erf(u) (c > 0)": (
        sp.log(3 * sp.erf(w)) + sp.log(sp.erf(x + 2)),
        [{"w": a, "x": b} for a, b in ((1e-8, 0.0), (0.7, 1.5), (5.0, 2.0))],
    ),
    "log I₀(x) = log_i0(x)": (sp.log(sp.besseli(0, w)), [{"w": v} for v in (1e-3, 2.0, 600.0)]),
    "log Σₖ cₖ·exp(fₖ) = logsumexp(log cₖ + fₖ)": (
        sp.log(sp.Sum(w * sp.exp(x * k) / k, (k, 1, K3))),
        [{"w": a, "x": b} for a, b in ((0.5, -700.0), (2.0, 0.0), (1e-3, 30.0))],
    ),
    "logsumexp(f + c) = c + logsumexp(f) for c free of k": (
        logsumexp(x * k + w, k, K3),
        [{"w": a, "x": b} for a, b in ((0.5, -700.0), (2.0, 1.5))],
    ),
    "log(1 + x) = log1p(x) for x ≥ 0": (sp.log(1 + w**2), [{"w": v} for v in (1e-20, 0.3, 1e5)]),
}


@pytest.mark.parametrize("note, rule", SPECIAL_RULES, ids=[note for note, _ in SPECIAL_RULES])
def test_each_special_rule_fires_and_is_an_identity(note, rule):
    before, points = RULE_INPUTS[note]
    after, fired = stabilise(before)
    assert note in fired and after != before
    for point in points:
        assert _close(_value(after, **point), _value(before, **point)), point


def test_every_special_rule_has_an_input():
    assert set(RULE_INPUTS) == {note for note, _ in SPECIAL_RULES}
    assert REWRITE_RULES[-len(SPECIAL_RULES) :] == SPECIAL_RULES


def test_log1p_fires_only_where_the_argument_is_known_nonnegative():
    assert stabilise(sp.log(1 + x))[1] == []  # x real: no sign known
    assert stabilise(sp.log(1 - w))[1] == []
    assert stabilise(sp.log(1 + sp.exp(x)))[1] == ["log(1 + eˣ) = softplus(x)"]


def test_lgamma_rules_keep_values_where_gamma_overflows():
    """log Γ(200) is finite while Γ(200) overflows float64: the rule is what makes code stable."""
    after, _ = stabilise(sp.log(sp.gamma(w)))
    f = sp.lambdify(w, after, modules="scipy")
    assert f(200.0) == pytest.approx(float(mpmath.loggamma(200)), rel=1e-14)
