"""Stable special functions in emitted code, against mpmath at the tails: the backend mappings of
log Φ (log_ndtr), erfcx, log(1 − eˣ) and log(eᵃ − eᵇ), in float64 and float32."""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import special

from derive.codegen.backends import NUMPY, TORCH, Printer
from derive.functions import erfcx, log1mexp, log_erf, log_ndtr, logdiffexp


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
    "log_erf": (
        log_erf(x),
        # near 1, erf(v) = 1 − erfc(v) beyond the working precision: log1p of −erfc
        lambda v: mpmath.log1p(-mpmath.erfc(v)) if v > 1 else mpmath.log(mpmath.erf(v)),
        {
            "float64": [5e-324, 1e-300, 1e-9, 1e-8, 0.3, 0.999, 1.0, 6.0, 26.0],
            "float32": [1e-45, 1e-30, 1e-8, 0.3, 1.0, 3.0, 9.0],
        },
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


@functools.cache
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
    space = _load(source, dist.name, lib).__dict__
    # and _log_erf, from a density with a bare erf(u) in its log (not 1 ± erf(u), which is Φ)
    erf_dist = Distribution(
        name="erf-test",
        title="test",
        observed=Var("y", "positive"),
        params=(Var("c", "positive"),),
        density=lambda y, c: sp.erf(c * y) * sp.exp(-y),
    )
    erf_source = module_source(erf_dist, backend=lib)
    assert "_log_erf(" in erf_source
    space["_log_erf"] = _load(erf_source, erf_dist.name, lib).__dict__["_log_erf"]
    return space


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


# ---------------------------------------------------------------------------- helpers and extremes


def _module(name, lib):
    from derive.codegen import load

    if lib == "torch":
        pytest.importorskip("torch")
    return load(name, backend=lib)


def _as(lib, dtype, v):
    if lib == "numpy":
        return np.asarray(v, dtype)
    import torch

    return torch.tensor(v, dtype=getattr(torch, dtype))


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lgamma_ratio_helper_matches_mpmath(lib, dtype):
    """log Γ(x + d) − log Γ(x) on both sides of the switch to the Stirling difference (x = 10),
    at x where the plain difference cancels (1e12: relative error 1e-4 in float64); one point at
    a time (numpy's helper takes one branch alone where every example is on one side) and all
    in one array (both branches, selected)."""
    f = _module("student-t", lib).__dict__["_lgamma_ratio"]
    points = [(1e12, 0.5), (1e12, 3.0), (5e5, 0.5), (10.0, 0.5), (9.99, 2.0), (0.3, 5.0)]
    points.append((40.0, 1e4))
    exact = [
        float(
            mpmath.loggamma(mpmath.mpf(np.asarray(xv, dtype).item()) + dv)
            - mpmath.loggamma(mpmath.mpf(np.asarray(xv, dtype).item()))
        )
        for xv, dv in points
    ]
    for (xv, dv), want in zip(points, exact, strict=True):
        got = float(f(_as(lib, dtype, xv), _as(lib, dtype, dv)))
        assert got == pytest.approx(want, rel=TOLERANCE[dtype]), (xv, dv)
    xs, ds = (_as(lib, dtype, [p[i] for p in points]) for i in (0, 1))
    got = [float(v) for v in f(xs, ds)]
    assert got == pytest.approx(exact, rel=TOLERANCE[dtype])


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_saddle_point_helpers_match_mpmath(lib, dtype):
    """The Stirling remainder on both sides of its switch (10), and x e − (x − 1) log r on both
    sides of its series (|e| = 0.18), at x where the plain difference cancels, and at r = 0."""
    space = _module("gamma", lib).__dict__
    stirling, deviance = space["_lgamma_stirling"], space["_saddle_deviance"]
    for z in (1e-30, 0.5, 1.0, 9.99, 10.0, 10.01, 1e4, 1e15):
        zv = mpmath.mpf(np.asarray(z, dtype).item())
        exact = mpmath.loggamma(zv) - (zv - 0.5) * mpmath.log(zv) + zv
        got = float(stirling(_as(lib, dtype, z)))
        assert got == pytest.approx(float(exact), rel=TOLERANCE[dtype]), z
    for xv, ev in (
        (1e12, 1e-7),
        (1e8, -0.17),
        (1e8, 0.19),
        (1e6, 3.0),
        (2.5, -0.999),
        (7.0, 1e-30),
    ):
        x_, e_ = (mpmath.mpf(np.asarray(t, dtype).item()) for t in (xv, ev))
        exact = x_ * e_ - (x_ - 1) * mpmath.log1p(e_)
        args = (_as(lib, dtype, xv), _as(lib, dtype, ev), _as(lib, dtype, float(1 + e_)))
        assert float(deviance(*args)) == pytest.approx(float(exact), rel=TOLERANCE[dtype]), xv
    edge = [
        float(deviance(_as(lib, dtype, xv), _as(lib, dtype, -1.0), _as(lib, dtype, 0.0)))
        for xv in (1.0, 3.0, 0.5)
    ]
    assert edge == [-1.0, np.inf, -np.inf]


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_beta_offset_helper_is_exact_to_its_rounding(lib, dtype):
    """b·y − a·(1 − y) from error-free products: within one rounding of the exact value where
    the products cancel (a = b ~ 1e8 .. 1e15 near the mean), at y whose 1 − y rounds, on the
    support edges, and finite (the products' own rounding kept) where Veltkamp's split of a or b
    would overflow; the result in the inputs' dtype."""
    f = _module("beta", lib).__dict__["_beta_offset"]
    big = 1e36 if dtype == "float32" else 1e306
    cases = [
        (1e8, 1e8, 0.5001),
        (1e8, 1e8, 0.49997),
        (1e8, 3e8, 0.2499),
        (3e7, 1e8, 1e-3),  # 1 − y rounds
        (1e5, 1e5, 0.6),
        (1e8, 1e8, 0.0),
        (1e8, 1e8, 1.0),
        (big, 2.0, 0.5),
    ] + ([(1e15, 1e15, 0.5000001), (1e12, 3e12, 0.25000001)] if dtype == "float64" else [])
    eps = float(np.finfo(dtype).eps)
    for av, bv, yv in cases:
        a_, b_, y_ = (mpmath.mpf(np.asarray(t, dtype).item()) for t in (av, bv, yv))
        exact = b_ * y_ - a_ * (1 - y_)
        got = f(*(_as(lib, dtype, t) for t in (av, bv, yv)))
        assert str(got.dtype).endswith(dtype)
        bound = eps * (abs(exact) if av < big else max(a_, b_))
        assert abs(float(got) - exact) <= bound, (av, bv, yv, float(got), float(exact))


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_beta_and_gamma_nll_over_a_grid_match_mpmath(lib, dtype):
    """The beta and gamma NLL over shape parameters from 0.3 to 1e8 (1e12 in float64) and
    observations across the support: at the mean, 1, 3 and 300 standard deviations off it, and
    near both ends, each against mpmath at 60 digits.  Off the mean at large shapes the beta's
    b·y − a·(1 − y) cancels (each ~a, the difference ~√a): rounded, it moved the float32 NLL by
    a·|y − p|·6e-8 (rel. 2.5e-4 at y = 0.5001, a = b = 1e8), hence its error-free products."""
    beta, gamma = _module("beta", lib), _module("gamma", lib)
    shapes = (0.3, 1.0, 7.0, 10.0, 300.0, 1e5, 1e8) + ((1e12,) if dtype == "float64" else ())
    worst = 0.0
    with mpmath.workdps(60):
        for a_ in shapes:
            for b_ in shapes:
                mean = a_ / (a_ + b_)
                sd = (mean * (1 - mean) / (a_ + b_ + 1)) ** 0.5
                for y_ in {mean, mean + sd, mean - 3 * sd, mean + 300 * sd, 1e-3, 0.999, 0.5001}:
                    if not 0 < y_ < 1 or not 0 < np.asarray(y_, dtype) < 1:
                        continue
                    y, a, b = (_mp(np.asarray(t, dtype).item()) for t in (y_, a_, b_))
                    truth = (
                        -(a - 1) * mpmath.log(y)
                        - (b - 1) * mpmath.log1p(-y)
                        + mpmath.log(mpmath.beta(a, b))
                    )
                    got = float(
                        beta.nll(*(_as(lib, dtype, float(t)) for t in (y, a, b)), reduction="none")
                    )
                    worst = max(worst, abs(got - float(truth)) / max(abs(float(truth)), 1.0))
            for mu_ in (1e-3, 2.0, 1e5):
                for y_ in {
                    mu_,
                    mu_ * (1 + a_**-0.5),
                    mu_ * (1 - 3 * a_**-0.5),
                    mu_ * 1e-2,
                    mu_ * 30,
                }:
                    if y_ <= 0:
                        continue
                    y, mu, k = (_mp(np.asarray(t, dtype).item()) for t in (y_, mu_, a_))
                    truth = (
                        mpmath.loggamma(k)
                        - k * mpmath.log(k / mu)
                        - (k - 1) * mpmath.log(y)
                        + k * y / mu
                    )
                    got = float(
                        gamma.nll(
                            *(_as(lib, dtype, float(t)) for t in (y, mu, k)), reduction="none"
                        )
                    )
                    worst = max(worst, abs(got - float(truth)) / max(abs(float(truth)), 1.0))
    assert worst < TOLERANCE[dtype], worst


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pinball_loss_near_tau_0_and_1_matches_mpmath(lib, dtype):
    """ρ_τ(y − μ) = τ·max(y − μ, 0) + (1 − τ)·max(μ − y, 0), each part ≥ 0: |r|/2 + (τ − ½)r
    cancelled to τr (relative error 8e-8 at τ = 1e-10 in float64, all of it in float32)."""
    m = _module("asymmetric-laplace", lib)
    taus = (1e-10, 1e-6, 0.3, 1 - 1e-6, 1 - 1e-10)
    for tau in taus:
        if np.asarray(tau, dtype) == 1:  # 1 − 1e-10 rounds to 1 in float32: outside (0, 1)
            continue
        for y_, mu_ in ((3.0, 1.0), (1.0, 3.0), (1e-5, 0.0), (0.0, 1e-5), (-1e30, 2.0)):
            y, mu, t = (_mp(np.asarray(v, dtype).item()) for v in (y_, mu_, tau))
            exact = t * (y - mu) if y > mu else (t - 1) * (y - mu)
            got = m.loss(*(_as(lib, dtype, v) for v in (y_, mu_, tau, 1.0)), reduction="none")
            assert float(got) == pytest.approx(float(exact), rel=TOLERANCE[dtype]), (tau, y_, mu_)


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_dirichlet_nll_on_the_closed_simplex(lib):
    """A component yₖ = 0 contributes (αₖ − 1)·log yₖ as xlogy: 0 at αₖ = 1 (finite, as
    scipy.stats.dirichlet), +∞ for αₖ > 1 (density 0: scipy's logpdf is −∞) and −∞ for αₖ < 1,
    the limit of a density that is unbounded there (scipy refuses that point). It was NaN."""
    from scipy import stats

    m = _module("dirichlet", lib)
    y = [[0.0, 0.3, 0.7], [0.0, 0.3, 0.7], [0.2, 0.8, 0.0], [0.1, 0.2, 0.7]]
    alpha = [[1.0, 2.0, 3.0], [2.0, 2.0, 3.0], [0.5, 4.0, 1.0], [0.5, 4.0, 1.5]]
    got = m.nll(_as(lib, "float64", y), _as(lib, "float64", alpha), reduction="none")
    got = [float(g) for g in got]
    expected = [-stats.dirichlet.logpdf(yi, ai) for yi, ai in zip(y, alpha, strict=True)]
    assert got == pytest.approx(expected, rel=1e-13)
    assert expected[1] == np.inf
    y_edge = _as(lib, "float64", [[0.0, 0.3, 0.7]])
    edge = m.nll(y_edge, _as(lib, "float64", [[0.5, 2.0, 3.0]]), reduction="none")
    assert float(edge[0]) == -np.inf


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_log1p_square_helper_matches_mpmath(lib, dtype):
    f = _module("cauchy", lib).__dict__["_log1p_square"]
    big = {"float64": [1e300, 1e160], "float32": [1e30, 1e20]}[dtype]
    for v in (*big, 3.0, 1.0, 0.999, 1e-3, 1e-20, 0.0, -2.0):
        exact = mpmath.log1p(mpmath.mpf(np.asarray(v, dtype).item()) ** 2)
        got = float(f(_as(lib, dtype, v)))
        assert got == pytest.approx(float(exact), rel=TOLERANCE[dtype], abs=1e-300), v


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_expit_helper_matches_mpmath_and_keeps_dtype(dtype):
    """The numpy module's own sigmoid (e^min(x, 0) / (1 + e^-|x|)) against mpmath: tiny values
    in the lower tail keep their relative accuracy, nothing overflows, ±inf and NaN pass."""
    from derive.codegen import load

    f = load("bernoulli-logit", grad=True)._expit  # the gradient is sigmoid(z) - y
    points = {
        "float64": [-745.0, -700.0, -40.0, -30.0, -1.0, -1e-8, 0.0, 1e-8, 2.5, 30.0, 40.0, 800.0],
        "float32": [-103.0, -87.0, -40.0, -1.0, 0.0, 1.0, 16.0, 40.0, 100.0],
    }[dtype]
    x = np.asarray(points, dtype)
    got = f(x)
    assert got.dtype == dtype
    for v, g in zip(x, got, strict=True):
        exact = 1 / (1 + mpmath.exp(-mpmath.mpf(v.item())))
        if exact < np.finfo(dtype).tiny:  # the subnormal range: absolute accuracy only
            assert abs(g - float(exact)) <= np.finfo(dtype).smallest_subnormal * 2, v
        else:
            assert g == pytest.approx(float(exact), rel=4 * float(np.finfo(dtype).eps)), v  # 4 ulps
    inf, nan = np.asarray([np.inf, -np.inf, np.nan], dtype), f(np.asarray(-1e5, dtype))
    assert f(inf)[:2].tolist() == [1.0, 0.0] and np.isnan(f(inf)[2]) and nan == 0.0


def _mp(value):
    return mpmath.mpf(float(value))


#: (catalog name, arguments, dtype, the exact −log density by mpmath): the extremes where the
#: emitted NLL used to cancel, overflow or give NaN (issue 12, point 6)
EXTREMES = [
    # NB2 at α = 1e-12: the Poisson limit; log Γ(y + 1/α) − log Γ(1/α) cancelled (off by 1.7e-4)
    (
        "negative-binomial",
        (3.0, 2.5, 1e-12),
        "float64",
        lambda y, mu, a: (
            -(
                mpmath.loggamma(y + 1 / a)
                - mpmath.loggamma(1 / a)
                - mpmath.loggamma(y + 1)
                - (1 / a) * mpmath.log1p(a * mu)
                + y * (mpmath.log(a * mu) - mpmath.log1p(a * mu))
            )
        ),
    ),
    # Student-t at ν = 1e12: the Gaussian limit (off by 3.3e-4 in float64, 0 in float32)
    *(
        (
            "student-t",
            (1.3, 0.2, 1e12, 1.0),
            dtype,
            lambda y, mu, nu, s: (
                -(
                    mpmath.loggamma((nu + 1) / 2)
                    - mpmath.loggamma(nu / 2)
                    - mpmath.log(mpmath.sqrt(nu * mpmath.pi) * s)
                    - (nu + 1) / 2 * mpmath.log1p(((y - mu) / s) ** 2 / nu)
                )
            ),
        )
        for dtype in ("float64", "float32")
    ),
    # Cauchy at huge residuals: (r/γ)² overflowed (inf in float32 at 1e20, float64 at 1e160)
    *(
        (
            "cauchy",
            (r, 0.0, 1.0),
            dtype,
            lambda y, mu, g: mpmath.log(mpmath.pi * g) + mpmath.log1p(((y - mu) / g) ** 2),
        )
        for r, dtype in ((1e20, "float32"), (1e160, "float64"), (1e300, "float64"))
    ),
    # von Mises at κ = 1e8 in float32 (−8.0: log I₀(κ) − κ cos r cancelled)
    (
        "von-mises",
        (0.1, 0.1, 1e8),
        "float32",
        lambda y, mu, k: (
            -(k * mpmath.cos(y - mu) - mpmath.log(2 * mpmath.pi * mpmath.besseli(0, k)))
        ),
    ),
    # beta at a = b = 1e8 and gamma at shape 1e6: lgamma terms ~1e9 cancelling to ~10 (float32
    # gave −128 and −5.0); the saddle-point forms (Stirling remainders, x e − (x − 1) log r)
    *(
        (
            "beta",
            values,
            dtype,
            lambda y, a, b: (
                -(a - 1) * mpmath.log(y)
                - (b - 1) * mpmath.log1p(-y)
                + mpmath.log(mpmath.beta(a, b))
            ),
        )
        for values in (
            (0.5, 1e8, 1e8),
            (0.25, 1e8, 3e8),
            (0.4, 1e4, 1.5e4),
            (1e-30, 0.5, 20.0),
            # off the mean: b·y − a·(1 − y) ~1e4 from products ~5e7 (float32 was rel. 2.5e-4)
            (0.5001, 1e8, 1e8),
            (0.2499, 1e8, 3e8),
            (0.6, 1e5, 1e5),
        )
        for dtype in ("float64", "float32")
    ),
    *(
        (
            "gamma",
            values,
            dtype,
            lambda y, mu, k: (
                mpmath.loggamma(k) - k * mpmath.log(k / mu) - (k - 1) * mpmath.log(y) + k * y / mu
            ),
        )
        for values in ((2.0, 2.0, 1e6), (2.001, 2.0, 1e6), (1e-3, 1.0, 1e8), (30.0, 1.0, 0.01))
        for dtype in ("float64", "float32")
    ),
    # closed support edges, finite in scipy (NaN from 0·log 0 before)
    ("beta", (0.0, 1.0, 2.0), "float64", lambda y, a, b: -mpmath.log(2)),
    ("beta", (1.0, 2.0, 1.0), "float64", lambda y, a, b: -mpmath.log(2)),
    ("weibull", (0.0, 2.0, 1.0), "float64", lambda y, lam, k: mpmath.log(lam)),
    ("gamma", (0.0, 2.0, 1.0), "float64", lambda y, mu, k: mpmath.log(mu)),
    ("gamma", (0.0, 2.0, 20.0), "float64", lambda y, mu, k: mpmath.inf),
    ("beta", (0.0, 30.0, 20.0), "float64", lambda y, a, b: mpmath.inf),
]


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize(
    "name, values, dtype, exact", EXTREMES, ids=[f"{e[0]}-{e[2]}-{e[1][0]:g}" for e in EXTREMES]
)
def test_nll_at_the_extremes_matches_mpmath(name, values, dtype, exact, lib):
    m = _module(name, lib)
    args = [_as(lib, dtype, v) for v in values]
    got = float(m.nll(*args, reduction="none"))
    with mpmath.workdps(60):
        truth = exact(*(_mp(np.asarray(v, dtype).item()) for v in values))
    if mpmath.isinf(truth):  # a density of 0 on the edge of the support
        assert got == float(truth)
        return
    assert np.isfinite(got)
    assert got == pytest.approx(float(truth), rel=TOLERANCE[dtype], abs=1e-300), (got, truth)


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_logit_loss_keeps_its_relative_accuracy_when_confident_and_right(lib):
    """Mean BCE at z ≈ 40 with y = 1 is log1p(e^−40) ≈ 4.2e-18 (it was 1.6e-15 from
    softplus(z) − z), and the cross-entropy of a confident wrong prediction stays exact."""
    m = _module("bernoulli-logit", lib)
    z, y = [40.0, 38.0, 42.0, -30.0, 30.0], [1.0, 1.0, 1.0, 0.0, 0.0]
    exact = [mpmath.log1p(mpmath.exp(-t)) for t in (40, 38, 42, 30)]
    exact.append(30 + mpmath.log1p(mpmath.exp(-30)))
    got = m.loss(_as(lib, "float64", y), _as(lib, "float64", z), reduction="mean")
    assert float(got) == pytest.approx(float(sum(exact) / 5), rel=1e-12)
    got = m.loss(_as(lib, "float64", y[:3]), _as(lib, "float64", z[:3]), reduction="mean")
    assert float(got) == pytest.approx(float(sum(exact[:3]) / 3), rel=1e-12)


# ---------------------------------------------------------------------------- typed densities


def _new(density, observed, params, fixed=(), **kw):
    from derive.codegen import load
    from derive.user import declare

    return load(declare(density, observed, params, fixed, **kw).dist)


def test_a_density_with_phi_is_stable_in_its_lower_tail():
    """The skew normal 2/s φ(r/s) Φ(α r/s): log Φ becomes log_ndtr, finite and exact where Φ
    underflows (α r/s = −40: log Φ = −804.6), against scipy and mpmath."""
    density = r"\frac{2}{s}\frac{1}{\sqrt{2\pi}} e^{-\frac{(y-\mu)^2}{2 s^2}}"
    m = _new(
        density + r" \Phi(\alpha \frac{y-\mu}{s})", "y", ["mu"], ["s", "alpha"], positive=["s"]
    )
    assert "log_ndtr" in m.__source__
    for y, mu, s, alpha in ((-4.0, 0.0, 1.0, 10.0), (-40.0, 0.0, 1.0, 1.0), (0.3, 0.1, 2.0, 3.0)):
        got = float(m.nll(y, mu, s, alpha, reduction="none"))
        with mpmath.workdps(60):
            r = (_mp(y) - mu) / s
            exact = -(
                mpmath.log(2 / s) + mpmath.log(mpmath.npdf(r)) + mpmath.log(mpmath.ncdf(alpha * r))
            )
        assert np.isfinite(got)
        assert got == pytest.approx(float(exact), rel=1e-12)
        if y > -5:
            from scipy import stats

            reference = -stats.skewnorm.logpdf(y, alpha, loc=mu, scale=s)
            assert got == pytest.approx(reference, rel=1e-10)


def test_a_normaliser_with_erfc_is_stable_far_in_the_tail():
    """The Gaussian truncated to y > 0, normalised by erfc(−μ/√2)/2 = Φ(μ): far in the tail
    (μ = −40, where erfc(28.3) underflows) log Φ(μ) = −804.6 stays exact."""
    m = _new(
        r"\frac{2}{\sqrt{2\pi}\mathrm{erfc}(-\frac{\mu}{\sqrt{2}})} e^{-\frac{(y-\mu)^2}{2}}",
        "y", ["mu"], support="0,oo",
    )  # fmt: skip
    assert "log_ndtr" in m.__source__
    for y, mu in ((0.5, -40.0), (0.01, -3.0), (2.0, 1.0), (1.0, 9.0)):
        got = float(m.nll(y, mu, reduction="none"))
        with mpmath.workdps(60):
            exact = -(mpmath.log(mpmath.npdf(_mp(y) - mu)) - mpmath.log(mpmath.ncdf(mu)))
        assert got == pytest.approx(float(exact), rel=1e-12), mu


def test_gamma_and_beta_of_numbers_fold_to_numbers():
    """Γ(1/3) in the generalised normal's normaliser (it crashed code generation) and
    B(1/2, ν/2) in a Student-t as a paper writes it, against scipy."""
    from scipy import stats

    m = _new(r"\frac{3}{2\Gamma(\frac{1}{3})} e^{-|y-\mu|^3}", "y", ["mu"])
    for y in (-2.0, 0.1, 3.0):
        assert float(m.nll(y, 0.5, reduction="none")) == pytest.approx(
            -stats.gennorm.logpdf(y, 3, loc=0.5), rel=1e-12
        )
    density = r"\frac{1}{\sqrt{\nu} B(\frac{1}{2}, \frac{\nu}{2})}"
    density += r" (1 + \frac{(y-\mu)^2}{\nu})^{-\frac{\nu+1}{2}}"
    t = _new(density, "y", ["mu"], ["nu"], positive=["nu"])
    for y, nu in ((0.5, 3.0), (1e200, 2.0), (2.0, 1e12)):
        exact = -stats.t.logpdf(y, nu) if y < 1e100 else None
        got = float(t.nll(y, 0.0, nu, reduction="none"))
        assert np.isfinite(got)
        if exact is not None:
            assert got == pytest.approx(exact, rel=1e-11)


@pytest.mark.parametrize("rows", [3, 102, 5000])
def test_softmax_cross_entropy_float32_mean_against_scipy(rows):
    """The float32 mean of the softmax cross-entropy (a one-pass sum of the row log-sum-exps less
    the dot product z . y, accumulated in float64) against scipy's logsumexp in float64, at
    confident logits (+-30, +-40) where the two sums nearly cancel, and at ordinary ones."""
    from scipy.special import logsumexp

    from derive.codegen import load

    m = load("categorical-logit")
    rng = np.random.default_rng(rows)
    classes = rng.integers(0, 10, rows)
    y = np.eye(10)[classes]
    for scale, confident in ((2.0, False), (40.0, True), (30.0, True)):
        z = scale * rng.normal(size=(rows, 10))
        if confident:  # the true class far ahead: each loss is tiny
            z[np.arange(rows), classes] = np.abs(z).max(axis=1) + scale
        z32, y32 = z.astype(np.float32), y.astype(np.float32)
        exact = np.mean(
            logsumexp(z32.astype(float), axis=1) - np.sum(z32 * y32, axis=1, dtype=float)
        )
        got = m.loss(y32, z32)
        assert got.dtype == np.float32
        scale_of_terms = float(np.mean(np.abs(z32).max(axis=1)))
        # float32 rounding of each log-sum-exp: a few ulps of the logits' size, not of the sum's
        assert abs(float(got) - exact) <= 8 * float(np.finfo(np.float32).eps) * scale_of_terms, (
            scale,
            float(got),
            exact,
        )
        assert float(m.loss(y32, z32, reduction="sum")) == pytest.approx(
            rows * float(got), rel=1e-6
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logsumexp_without_the_shift_matches_mpmath_at_the_edges_of_its_range(dtype):
    """_logsumexp skips the per-row shift where every value lies inside _EXP_RANGE (less log K at
    the top): at the edges of that range, just outside it (the shifted path), with all terms
    tiny, with one far ahead, and with inf and NaN, each array against mpmath's exact
    log-sum-exp of the same floats, to 16 ulps of max(1, |result|); the dtype is kept."""
    from derive.codegen import load

    m = load("categorical-logit")
    bound = m._EXP_RANGE[np.dtype(dtype)]
    k = 10
    top = bound - np.log(2) * k.bit_length()  # the highest maximum taking the unshifted path
    eps = float(np.finfo(dtype).eps)
    edge = np.nextafter(dtype(top), dtype(0))
    rows = {
        "ordinary": np.linspace(-3, 3, k),
        "all at the bottom": np.full(k, -bound),
        "bottom and top": np.r_[np.full(k - 1, -bound), edge],
        "all tiny": np.linspace(-bound, -bound + 1, k),
        "one far ahead": np.r_[np.zeros(k - 1), 40.0],
        "above the top": np.r_[np.zeros(k - 1), top + 1],
        "below the bottom": np.r_[np.zeros(k - 1), -bound - 1],
        "far below": np.full(k, -2 * bound),
        "far above": np.r_[np.zeros(k - 1), 2 * bound],
        "inf": np.r_[np.zeros(k - 1), np.inf],
        "nan": np.r_[np.zeros(k - 1), np.nan],
    }
    for label, row in rows.items():
        for z in (np.asarray(row, dtype)[None, :], np.tile(np.asarray(row, dtype), (3, 2, 1))):
            got = m._logsumexp(z)
            assert got.dtype == dtype and got.shape == z.shape[:-1], label
            values = [float(v) for v in z.reshape(-1, k)[0]]
            if any(np.isnan(values)):
                assert np.isnan(got).all(), label
                continue
            if any(np.isinf(values)):
                assert np.isposinf(got).all(), label
                continue
            with mpmath.workdps(50):
                exact = float(mpmath.log(mpmath.fsum(mpmath.exp(v) for v in values)))
            tolerance = 16 * eps * max(1.0, abs(exact))
            assert np.all(np.abs(got.astype(float) - exact) <= tolerance), (label, got, exact)
            kept = m._logsumexp(z, keepdims=True)
            assert kept.shape == (*z.shape[:-1], 1)
            np.testing.assert_array_equal(kept[..., 0], got)


def test_select_evaluates_only_a_branch_some_example_takes():
    """The numpy module's lazy np.where: np.where's value in every case (mixed, all, none, a
    Python bool, a branch smaller than the condition), and an untaken branch never called."""
    from derive.codegen import load

    select = load("beta")._select  # the beta NLL's saddle-point form is its first branch

    def never():
        raise AssertionError("evaluated a branch no example takes")

    x = np.linspace(-2.0, 2.0, 9)
    for cond in (x > 0, x > 5, x > -5):
        expected = np.where(cond, x * 2, -x)
        got = select(cond, lambda: x * 2, lambda: -x)
        np.testing.assert_array_equal(got, expected)
        assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(select(x > 5, never, lambda: -x), -x)
    np.testing.assert_array_equal(select(x > -5, lambda: x, never), x)
    np.testing.assert_array_equal(select(False, never, lambda: x), x)
    column = np.ones((9, 1))  # the branch broadcasts against a wider condition: np.where's shape
    np.testing.assert_array_equal(
        select(x > -5, lambda: column, lambda: -column), np.where(x > -5, column, -column)
    )


@functools.cache
def _bernoulli_logit():
    from conftest import derivation

    from derive.codegen import module_source
    from derive.codegen.emit import _load

    return _load(module_source(derivation("bernoulli-logit")), "bernoulli_logit", "numpy")


@pytest.mark.parametrize("by_log", [False, True])
def test_log1p_of_a_unit_value_is_log1p_to_a_few_ulp_in_float32(monkeypatch, by_log):
    """The float32 log1p of softplus, log(w) + (u − (w − 1))/w on AVX2 (numpy's log is SIMD there,
    its log1p the C library's), against mpmath over [0, 1]: tiny values, where w rounds to 1, the
    ends and NaN."""
    module = _bernoulli_logit()
    monkeypatch.setattr(module, "_LOG1P_BY_LOG", by_log)
    rng = np.random.default_rng(0)
    u = np.concatenate(
        [
            rng.uniform(0, 1, 2000),
            10 ** rng.uniform(-37, 0, 2000),
            [0.0, 1.0, 2**-24, 2**-23, 1 - 2**-24],
        ]
    ).astype(np.float32)
    got = module._log1p_unit(u)
    assert got.dtype == np.float32
    exact = np.array([float(mpmath.log1p(mpmath.mpf(float(v)))) for v in u])
    ulps = np.abs(got - exact) / np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert ulps.max() <= 3, (u[ulps.argmax()], ulps.max())
    assert np.isnan(module._log1p_unit(np.array([np.nan], np.float32)))[0]


@pytest.mark.parametrize("by_log", [False, True])
def test_float32_bce_keeps_its_relative_accuracy_at_confident_logits(monkeypatch, by_log):
    """(max(z, 0) − yz) + log1p(e^−|z|) per example and blocked, in float32, against mpmath's
    log(1 + e^z) − yz: the confident right predictions (z = ±40: 4.2e−18) keep their digits."""
    module = _bernoulli_logit()
    monkeypatch.setattr(module, "_LOG1P_BY_LOG", by_log)
    z = np.array(
        [-80.0, -40.0, -17.0, -3.0, -1e-3, 0.0, 1e-3, 0.5, 3.0, 17.0, 40.0, 80.0, 1e30], np.float32
    )
    for y in (np.zeros_like(z), np.ones_like(z)):
        exact = np.array(
            [
                float(mpmath.log1p(mpmath.exp(float(zi))) - float(yi) * float(zi))
                for yi, zi in zip(y, z, strict=True)
            ]
        )
        got = module.loss(y, z, reduction="none")
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, exact, rtol=4e-7, atol=0)
    y = np.tile(np.float32([0, 1]), 40_000)  # blocked: more than one block of examples
    z = np.resize(z, y.size)
    wide = module.loss(y.astype(np.float64), z.astype(np.float64), reduction="sum")
    np.testing.assert_allclose(module.loss(y, z, reduction="sum"), wide, rtol=1e-6)
