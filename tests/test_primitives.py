"""Stable primitives and rewrite rules against mpmath, at ordinary and extreme inputs."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from derive.functions import (
    STABLE_RULES,
    elementary,
    logsumexp,
    ndtr,
    sigmoid,
    softplus,
    stabilise,
    stdtr,
    xlogy,
)
from derive.spec import CLASS_INDEX as k
from derive.spec import N_CLASSES as K


@pytest.fixture(autouse=True)
def _precision():
    """60 significant digits for this module's mpmath references, restored afterwards."""
    with mpmath.workdps(60):
        yield


x = sp.Symbol("x", real=True)
w = sp.Symbol("w", positive=True)
POINTS = [-745.0, -40.0, -1.5, 0.0, 0.25, 3.0, 40.0, 700.0]

REFERENCE = {  # independent formulas, evaluated by mpmath
    sigmoid: lambda v: 1 / (1 + mpmath.exp(-v)),
    softplus: lambda v: mpmath.log1p(mpmath.exp(v)),
}


def _value(expr, **values):
    """Evaluate by mpmath at 800 digits (enough for the cancellations of the naive forms at
    |x| = 700), rounded to the working 60."""
    symbols = {str(s): s for s in expr.free_symbols}
    names = sorted(values)
    # T_ν as its cases of the regularized incomplete beta (mpmath's betainc)
    expr = elementary(expr).replace(stdtr, lambda nu, t: stdtr(nu, t).rewrite(sp.exp))
    betainc = {"ibeta": lambda a, b, z: mpmath.betainc(a, b, 0, z, regularized=True)}
    f = sp.lambdify([symbols[n] for n in names], expr.doit(), modules=[betainc, "mpmath"])
    with mpmath.workdps(800):
        out = f(*(mpmath.mpf(values[n]) for n in names))
    return +out


@pytest.mark.parametrize("fn", [sigmoid, softplus], ids=lambda f: f.__name__)
@pytest.mark.parametrize("v", POINTS)
def test_primitive_values_and_derivatives(fn, v):
    assert mpmath.almosteq(_value(fn(x), x=v), REFERENCE[fn](v), rel_eps=mpmath.mpf(10) ** -50)
    numeric = mpmath.diff(REFERENCE[fn], mpmath.mpf(v))
    symbolic = _value(sp.diff(fn(x), x), x=v)
    assert mpmath.almosteq(symbolic, numeric, rel_eps=mpmath.mpf(10) ** -40, abs_eps=1e-300)


def test_xlogy_is_zero_at_zero_and_differentiates():
    assert xlogy(0, 0) == 0 and xlogy(0, w) == 0
    assert sp.diff(xlogy(x, w), x) == sp.log(w) and sp.diff(xlogy(x, w), w) == x / w
    assert _value(xlogy(x, w), x=3, w=2) == 3 * mpmath.log(2)


def test_logsumexp_value_and_gradient():
    z = sp.IndexedBase("z", real=True)
    vals = [mpmath.mpf(v) for v in (-3.0, 0.5, 700.0)]
    lse = logsumexp(z[k], k, K).subs(K, 3)
    bound = lse.doit().subs({z[i + 1]: v for i, v in enumerate(vals)})
    expected = mpmath.log(sum(mpmath.exp(v) for v in vals))
    assert mpmath.almosteq(mpmath.mpf(str(sp.N(bound, 60))), expected, rel_eps=1e-50)
    j = sp.Symbol("j", integer=True, positive=True)
    grad = sp.diff(logsumexp(z[k], k, K), z[j]).doit()  # the softmax of component j
    grad3 = grad.subs({K: 3, j: 2}).doit().subs({z[i + 1]: v for i, v in enumerate(vals)})
    softmax2 = mpmath.exp(vals[1]) / sum(mpmath.exp(v) for v in vals)
    assert mpmath.almosteq(mpmath.mpf(str(sp.N(grad3, 60))), softmax2, rel_eps=1e-40)


RULE_INPUTS = {
    "log σ(x) = −softplus(−x)": sp.log(sigmoid(x)),
    "log(1 − σ(x)) = −softplus(x)": sp.log(1 - sigmoid(x)),
    "log(1 + eˣ) = softplus(x)": sp.log(1 + sp.exp(x)),
    "log Σ exp = logsumexp": sp.log(sp.Sum(sp.exp(x * k), (k, 1, 3))),
    # Φ at x/20 (±35 at the extreme points): SymPy writes Φ(−x) as 1 − erfc(x)/2, whose
    # cancellation at Φ(−700) ≈ 1e−106406 is beyond the 800 digits of the reference
    "log Φ(x) = log_ndtr(x)": sp.log(ndtr(x / 20)),
    "log(1 − Φ(x)) = log_ndtr(−x)": sp.log(1 - ndtr(x / 20)),
    "log(1 − T_ν(t)) = log T_ν(−t)": sp.log(1 - stdtr(3, x / 20)),
}


@pytest.mark.parametrize("note, rule", STABLE_RULES, ids=[n for n, _ in STABLE_RULES])
@pytest.mark.parametrize("v", [-700.0, -30.0, 0.0, 2.5, 30.0, 700.0])
def test_each_stable_rule_fires_and_is_an_identity(note, rule, v):
    before = RULE_INPUTS[note]
    after, fired = stabilise(before)
    assert fired == [note] and after != before
    assert mpmath.almosteq(_value(after, x=v), _value(before, x=v), rel_eps=1e-45)


def test_every_rule_has_an_input():
    assert set(RULE_INPUTS) == {note for note, _ in STABLE_RULES}
