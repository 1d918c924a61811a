"""The one evaluator (derive/numeric.py): the many-point mpmath tree agrees with SymPy's evalf at
one point, and with mpmath written by hand, including the nodes it has no function for (evalf
at that point), vector components, folded constants and arguments past the guards."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from derive.numeric import compiled, evaluate

y, mu, s = sp.symbols("y mu s", real=True)
x = sp.IndexedBase("x")

CASES = [
    (sp.exp(-((y - mu) ** 2) / (2 * s**2)) / sp.sqrt(2 * sp.pi * s**2), {y: 0.3, mu: -1.2, s: 0.7}),
    (sp.loggamma(y + 1) - y * sp.log(mu) + mu, {y: 7.0, mu: 2.5}),
    (sp.besseli(0, mu) * sp.cos(y - s), {y: 0.1, mu: 3.0, s: 1.0}),
    (sp.erfc(-y / sp.sqrt(2)) / 2, {y: -13.0}),  # Φ far in the left tail keeps its digits
    (sp.polygamma(1, y) + sp.log(x[1]) * x[2], {y: 2.5, x[1]: 0.3, x[2]: 4.0}),  # polygamma: evalf
]


@pytest.mark.parametrize(("expr", "point"), CASES)
def test_the_tree_agrees_with_evalf(expr, point):
    exact = evaluate(expr.xreplace({k: sp.Float(v, 40) for k, v in point.items()}), {}, dps=40)
    with mpmath.workdps(30):
        ours = compiled(expr)({k: mpmath.mpf(v) for k, v in point.items()})
        assert abs(ours - mpmath.mpf(str(exact))) <= mpmath.mpf(10) ** -25 * max(1, abs(ours))


def test_known_parts_are_folded_once_and_the_rest_varies():
    calls = []
    expr = sp.gamma(mu) * sp.exp(-y)
    f = compiled(expr, known={mu: mpmath.mpf(4)}, varying=[y])
    for value in (0.0, 1.0, 2.0):
        calls.append(f({y: mpmath.mpf(value)}))
    assert calls == [6 * mpmath.exp(-v) for v in (0, 1, 2)]


def test_arguments_past_the_guards_take_the_limit():
    f = compiled(sp.exp(-y) * sp.cos(y) + sp.exp(-(y**2)))
    assert f({y: mpmath.mpf(10) ** 1200}) == 0  # not minutes of argument reduction
    assert compiled(sp.tanh(y))({y: -(mpmath.mpf(10) ** 1200)}) == -1
