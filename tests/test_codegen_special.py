"""Stable special functions in emitted code, against mpmath at the tails: the backend mappings of
log Φ (log_ndtr), erfcx, log(1 − eˣ) and log(eᵃ − eᵇ), in float64 and float32."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import special

from derive.codegen.backends import NUMPY, TORCH, Printer
from derive.functions import erfcx, log1mexp, log_ndtr, logdiffexp


@pytest.fixture(autouse=True)
def _precision():
    """50 significant digits for this module's mpmath references, restored afterwards."""
    with mpmath.workdps(50):
        yield


x = sp.Symbol("x", real=True)
a, b = sp.symbols("a b", real=True)
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}

#: each primitive with its mpmath definition and, per dtype, points where the exact value is
#: representable in that dtype (both tails included)
CASES = {
    "log_ndtr": (
        log_ndtr(x),
        lambda v: mpmath.log(mpmath.ncdf(v)) if v < 0 else mpmath.log1p(-mpmath.ncdf(-v)),
        {
            "float64": [-1e5, -300.0, -38.5, -5.0, 0.0, 1.0, 8.5, 30.0],
            "float32": [-1e3, -14.0, -3.0, 0.0, 2.0, 5.0],
        },
    ),
    "erfcx": (
        erfcx(x),
        lambda v: mpmath.exp(v**2) * mpmath.erfc(v),
        {"float64": [-20.0, -1.0, 0.0, 3.0, 27.0, 1e10], "float32": [-5.0, 0.0, 3.0, 10.0, 1e6]},
    ),
    "log1mexp": (
        log1mexp(x),
        lambda v: mpmath.log(-mpmath.expm1(v)),
        {
            "float64": [-800.0, -40.0, -0.7, -0.6, -1e-5, -1e-300],
            "float32": [-80.0, -0.7, -0.6, -1e-30],
        },
    ),
}


def _helpers(lib):
    """The emitted module's own _log1mexp, from the template (rendered for an entry that needs it:
    the exponential truncated to [0, 1] has log(1 − e^−λ) in its NLL)."""
    from derive.codegen.emit import _load, module_source
    from derive.spec import Distribution, Var

    dist = Distribution(
        name="truncated-exponential",
        title="test",
        observed=Var("y", "unit_interval"),
        params=(Var("lam", "positive"),),
        density=lambda y, lam: lam * sp.exp(-lam * y) / (1 - sp.exp(-lam)),
    )
    source = module_source(dist, backend=lib)
    assert "_log1mexp(" in source
    return _load(source, dist.name, lib).__dict__


def _evaluate(expr, lib, dtype, **values):
    names = {s: s.name for s in expr.free_symbols}
    if lib == "numpy":
        code = Printer(NUMPY, names).doprint(expr)
        space = {"np": np, "special": special, **_helpers("numpy")}
        env = {k: np.asarray(v, dtype) for k, v in values.items()}
        with np.errstate(all="ignore"):
            out = eval(code, {**space, **env})
        assert np.asarray(out).dtype == dtype
        return float(out)
    torch = pytest.importorskip("torch")
    code = Printer(TORCH, names).doprint(expr)
    space = {"torch": torch, **_helpers("torch")}
    env = {k: torch.tensor(v, dtype=getattr(torch, dtype)) for k, v in values.items()}
    out = eval(code, {**space, **env})
    assert out.dtype == getattr(torch, dtype)
    return float(out)


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_primitive_in_code_matches_mpmath_at_the_tails(name, dtype, lib):
    expr, reference, points = CASES[name]
    for v in points[dtype]:
        exact = reference(mpmath.mpf(np.asarray(v, dtype).item()))
        got = _evaluate(expr, lib, dtype, x=v)
        assert np.isfinite(got), (v, got)
        assert got == pytest.approx(float(exact), rel=TOLERANCE[dtype], abs=1e-300), v


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_logdiffexp_in_code_near_one_and_near_zero(lib):
    """log(F(u) − F(l)) from log F: both near 1 (logs near 0), both tiny, far apart."""
    for av, bv in ((-1e-12, -3e-12), (-700.0, -700.5), (-2.0, -800.0), (0.0, -1e-20)):
        exact = av + mpmath.log(-mpmath.expm1(bv - av))
        got = _evaluate(logdiffexp(a, b), lib, "float64", a=av, b=bv)
        assert got == pytest.approx(float(exact), rel=1e-12), (av, bv)


def test_the_derivative_of_log_ndtr_stays_finite_in_the_lower_tail():
    """φ(x)/Φ(x) ≈ −x where both underflow: the derivative is printed through erfcx."""
    d = sp.diff(log_ndtr(x), x)
    for v in (-1e6, -40.0, 0.0, 8.0):
        exact = mpmath.npdf(v) / mpmath.ncdf(v)
        assert _evaluate(d, "numpy", "float64", x=v) == pytest.approx(float(exact), rel=1e-12)
