"""The CDF primitives (Φ, log Φ, log-diff-exp) against mpmath at high precision, at ordinary and
extreme inputs, and their printed code against scipy in float64 and float32."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import special

from derive.codegen.backends import NUMPY, Printer
from derive.functions import elementary, log_ndtr, logdiffexp, ndtr, stabilise

x = sp.Symbol("x", real=True)
a, b = sp.symbols("a b", real=True)
DPS = 50


def _mp(expr, **values):
    bound = elementary(expr).subs(
        {sp.Symbol(k, real=True): sp.Float(v, DPS) for k, v in values.items()}
    )
    return mpmath.mpf(str(sp.N(bound, DPS)))


@mpmath.workdps(DPS)
@pytest.mark.parametrize("v", [-200.0, -38.5, -5.0, 0.0, 0.3, 8.5, 40.0])
def test_log_ndtr_and_its_derivative_against_mpmath(v):
    exact = mpmath.log(mpmath.ncdf(v))
    assert mpmath.almosteq(_mp(log_ndtr(x), x=v), exact, rel_eps=mpmath.mpf(10) ** -40)
    slope = mpmath.npdf(v) / mpmath.ncdf(v)
    assert mpmath.almosteq(_mp(sp.diff(log_ndtr(x), x), x=v), slope, rel_eps=mpmath.mpf(10) ** -30)
    assert mpmath.almosteq(_mp(sp.diff(ndtr(x), x), x=v), mpmath.npdf(v), rel_eps=1e-30, abs_eps=0)


@mpmath.workdps(DPS)
@pytest.mark.parametrize("av, bv", [(0.0, -1e-12), (-1e-3, -2e-3), (-700.0, -701.0), (5.0, -50.0)])
def test_logdiffexp_against_mpmath(av, bv):
    exact = mpmath.log(mpmath.exp(av) - mpmath.exp(bv))
    assert mpmath.almosteq(_mp(logdiffexp(a, b), a=av, b=bv), exact, rel_eps=1e-40)
    for by in (a, b):
        numeric = mpmath.diff(
            lambda t, by=by: mpmath.log(
                mpmath.exp(t if by == a else av) - mpmath.exp(t if by == b else bv)
            ),
            mpmath.mpf(av if by == a else bv),
        )
        assert mpmath.almosteq(
            _mp(sp.diff(logdiffexp(a, b), by), a=av, b=bv), numeric, rel_eps=1e-20
        )


def test_stable_rules_give_log_ndtr_for_both_tails():
    assert stabilise(sp.log(ndtr(x)))[0] == log_ndtr(x)
    assert stabilise(sp.log(1 - ndtr(x)))[0] == log_ndtr(-x)
    assert ndtr(sp.oo) == 1 and ndtr(-sp.oo) == 0 and logdiffexp(a, -sp.oo) == a


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_printed_code_is_accurate_at_extremes(dtype):
    names = {a: "a", b: "b", x: "x"}
    p = Printer(NUMPY, names)
    ns = {"np": np, "special": special}
    ns["_log1mexp"] = lambda t: np.where(t > -np.log(2), np.log(-np.expm1(t)), np.log1p(-np.exp(t)))
    av = np.array([0.0, -1e-3, -700.0, 5.0], dtype)
    bv = np.array([-1e-6, -2e-3, -701.0, -50.0], dtype)
    got = eval(p.doprint(logdiffexp(a, b)), ns, {"a": av, "b": bv})
    with mpmath.workdps(40):
        want = [
            float(mpmath.log(mpmath.exp(float(u)) - mpmath.exp(float(w))))
            for u, w in zip(av, bv, strict=True)
        ]
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    xv = np.array([-30.0, 0.0, 9.0], dtype)
    got = eval(p.doprint(log_ndtr(x)), ns, {"x": xv})
    np.testing.assert_allclose(got, special.log_ndtr(xv.astype(float)), rtol=1e-5)
    assert np.all(np.isfinite(got))
