"""The emitted modules refuse bad arrays instead of guessing (issue 11, point 5): integer inputs are
converted to the floating dtype before any arithmetic, an observed array that would be broadcast
to a larger shape or a class axis that disagrees raises ValueError naming the shapes, `nll` is +inf
outside the support and NaN outside a parameter's domain (as scipy.stats' −logpdf is), and `loss`
refuses labels outside [0, 1].  Oracles: scipy.stats and the float arithmetic of the same values."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from conftest import NAMES, derivation
from scipy import stats

from derive.codegen import module_source
from derive.codegen.emit import _load, arguments, labels_range


@cache
def module(name, backend="numpy"):
    return _load(module_source(derivation(name), backend, grad=True), name, backend)


@cache
def truncated_exponential(backend="numpy"):
    """The exponential truncated to [0, c] (`derive new`): the support depends on a fixed c."""
    from derive.user import new

    d = new(
        r"\frac{\lambda e^{-\lambda y}}{1 - e^{-\lambda c}}",
        "y",
        ["lambda"],
        ["c"],
        support="0,c",
        positive=["lambda", "c"],
        name="truncexp",
    )
    return _load(module_source(d, backend), "truncexp", backend)


# ---------------------------------------------------------------------------- integer inputs


def test_int64_targets_are_converted_before_arithmetic():
    m = module("gaussian")
    y, mu = np.array([4_000_000_000, 0]), np.array([0, 3])  # (4e9)² overflows int64
    got = m.loss(y, mu, 1, reduction="none")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, (y.astype(float) - mu) ** 2)
    assert float(m.loss(y, mu, 1)) == pytest.approx((1.6e19 + 9) / 2, rel=1e-15)


def test_int8_inputs_do_not_wrap():
    m = module("gaussian")
    y, mu = np.array([100, -100], np.int8), np.array([-100, 100], np.int8)
    np.testing.assert_array_equal(m.loss(y, mu, 1, reduction="none"), [40000.0, 40000.0])


def test_integers_take_the_float32_of_the_other_arguments():
    m = module("poisson-log")
    eta = np.array([0.5, -1.0, 2.0], np.float32)
    got = m.loss(np.array([1, 0, 7]), eta, reduction="none")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.exp(eta) - eta * [1, 0, 7], rtol=1e-6)
    assert m.loss(np.array([1, 0, 7]), eta).dtype == np.float32


def test_torch_converts_integer_tensors():
    torch = pytest.importorskip("torch")
    m = module("gaussian", "torch")
    y = torch.tensor([4_000_000_000, 0])
    got = m.loss(y, torch.tensor([0, 3]), 1.0, reduction="none")
    assert got.dtype.is_floating_point and float(got[0]) == pytest.approx(1.6e19, rel=1e-6)


# ---------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_observed_broadcast_to_a_larger_shape_is_refused(backend):
    if backend == "torch":
        torch = pytest.importorskip("torch")
        as_array = torch.as_tensor
    else:
        as_array = np.asarray
    m = module("gaussian", backend)
    y, mu = as_array(np.zeros(5)), as_array(np.zeros((5, 1)))
    for f in (m.loss, m.nll):
        with pytest.raises(ValueError, match=r"\(5,\).*\(5, 1\)"):
            f(y, mu, 1.0)
    with pytest.raises(ValueError, match=r"\(5,\).*\(5, 1\)"):
        m.gradient(y, mu, 1.0)
    # a scalar observation against many parameters, and parameters broadcast to y, are fine
    assert np.shape(m.loss(as_array(0.5), as_array(np.zeros(5)), 1.0, reduction="none")) == (5,)
    assert np.shape(m.loss(as_array(np.zeros((5, 2))), mu, 1.0, reduction="none")) == (5, 2)


def test_class_indices_for_one_hot_targets_are_refused():
    m = module("categorical-logit")
    z = np.zeros((6, 4))
    labels = np.array([0, 1, 2, 3, 0, 1])
    with pytest.raises(ValueError, match="class"):
        m.loss(labels, z)
    with pytest.raises(ValueError, match="class"):
        m.loss(labels[:, None], z)  # (N, 1) would broadcast over the classes
    with pytest.raises(ValueError, match="class"):
        m.loss(np.eye(3)[labels % 3], z)  # 3 classes against 4
    assert float(m.loss(np.eye(4)[labels], z)) == pytest.approx(np.log(4))


def test_torch_class_axis_is_checked():
    torch = pytest.importorskip("torch")
    m = module("categorical-logit", "torch")
    with pytest.raises(ValueError, match="class"):
        m.loss(torch.tensor([0.0, 1.0, 2.0]), torch.zeros(3, 4))


# ---------------------------------------------------------------------------- nll outside


def test_truncated_exponential_nll_is_inf_beyond_the_truncation():
    m = truncated_exponential()
    lam, c = 1.3, 2.0
    y = np.array([0.5, 1.9, 2.5, -0.1])
    oracle = -stats.truncexpon(b=lam * c, scale=1 / lam).logpdf(y)
    got = m.nll(y, lam, c, reduction="none")
    np.testing.assert_allclose(got, oracle, rtol=1e-12)
    assert np.isposinf(got[2:]).all()
    assert np.isposinf(m.nll(y, lam, c))


#: (entry, observed values, parameters, scipy's log-density): each has values outside the support
OUTSIDE = [
    ("poisson", [2.0, -1.0, 2.5], [1.7], lambda y, lam: stats.poisson.logpmf(y, lam)),
    ("bernoulli", [1.0, 0.5, 2.0], [0.3], lambda y, p: stats.bernoulli.logpmf(y, p)),
    ("binomial", [3.0, 6.0, -1.0], [0.4, 5.0], lambda y, p, n: stats.binom.logpmf(y, n, p)),
    ("exponential", [1.0, -0.5], [2.0], lambda y, lam: stats.expon.logpdf(y, scale=1 / lam)),
]


@pytest.mark.parametrize("name, y, params, oracle", OUTSIDE)
def test_nll_outside_the_support_is_inf_as_scipy(name, y, params, oracle):
    m = module(name)
    y = np.array(y)
    got = m.nll(y, *params, reduction="none")
    np.testing.assert_allclose(got, -oracle(y, *params), rtol=1e-10)
    assert np.isposinf(m.nll(y, *params)) and np.isposinf(m.nll(y, *params, reduction="sum"))


def test_nll_with_a_parameter_outside_its_domain_is_nan_as_scipy():
    m = module("gaussian-hetero")
    y, mu, sigma = np.array([0.1, 0.2, 0.3]), np.zeros(3), np.array([1.0, -1.0, 0.0])
    got = m.nll(y, mu, sigma, reduction="none")
    expected = -stats.norm.logpdf(y, mu, sigma)
    np.testing.assert_allclose(got[:1], expected[:1], rtol=1e-12)
    assert np.isnan(got[1:]).all() and np.isnan(expected[1:]).all()
    assert np.isnan(m.nll(y, mu, sigma))


def test_blocked_nll_flags_a_single_bad_value_in_any_block():
    m = module("poisson")
    n = 3 * m._BLOCK + 17
    y, lam = np.ones(n), np.full(n, 2.0)
    assert np.isfinite(m.nll(y, lam))
    y[-1] = -1.0
    assert np.isposinf(m.nll(y, lam))
    lam[m._BLOCK + 5] = -2.0
    assert np.isnan(m.nll(y, lam))


#: (entry, the good observed value, the parameters, scipy's log-density, bad observed values):
#: the support checks of the blocked nll, each bound and the integer test
LAST_BLOCK = [
    (
        "bernoulli-logit",
        1.0,
        [0.4],
        lambda y, z: stats.bernoulli.logpmf(y, 1 / (1 + np.exp(-z))),
        [-1.0, 1.5, 0.5, "subnormal", "below 1", np.nan],
    ),
    ("beta", 0.5, [2.0, 3.0], lambda y, a, b: stats.beta.logpdf(y, a, b), [-0.25, 1.5, np.inf]),
    ("poisson", 2.0, [1.5], lambda y, lam: stats.poisson.logpmf(y, lam), [-1.0, 2.5, -np.inf]),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, good, params, oracle, bads", LAST_BLOCK)
def test_blocked_nll_is_inf_for_a_value_outside_the_support_in_the_last_block_only(
    name, good, params, oracle, bads, dtype
):
    """The value checks of numbers and broadcast arrays run once per call, those of full-size
    arrays block by block: a bad observed value in the last block (of 3, N > _BLOCK) still makes
    the mean and sum +inf, as scipy's -logpdf and the element-wise masks say.  NaN is +inf for a
    discrete support (NaN is no integer), as the masks give."""
    m = module(name)
    n = 3 * m._BLOCK + 17
    y = np.full(n, good, dtype)
    full = [np.full(n, p, dtype) for p in params]
    assert np.isfinite(m.nll(y, *full)) and np.isfinite(m.nll(y, *params))
    if name == "bernoulli-logit":  # -0.0 is a label 0 (its bits fail the fast test)
        assert np.isfinite(m.nll(np.where(np.arange(n) == n - 1, dtype(-0.0), y), *full))
    edges = {
        "subnormal": np.finfo(dtype).smallest_subnormal,
        "below 1": np.nextafter(dtype(1), dtype(0)),
    }
    for bad in bads:
        y[-1] = bad = edges.get(bad, bad)
        masks = m.nll(y[-3:], *[p[-3:] for p in full], reduction="none")
        if not np.isnan(bad):  # scipy: -logpmf(NaN) is NaN
            assert np.isposinf(-oracle(float(y[-1]), *params))
        assert np.isposinf(masks[-1]) and np.isfinite(masks[:-1]).all(), (bad, masks)
        for reduction in ("mean", "sum"):
            assert np.isposinf(m.nll(y, *full, reduction=reduction)), (bad, reduction)
            assert np.isposinf(m.nll(y, *params, reduction=reduction)), (bad, reduction)
        y[-1] = good


@pytest.mark.parametrize(
    "sigma",
    [-1.0, 0.0, np.array(0.0), np.array([-1.0]), "last"],
    ids=["float", "zero", "0-d", "(1,)", "last-of-full"],
)
def test_blocked_nll_is_nan_for_a_parameter_outside_its_domain_given_once_or_in_the_last_block(
    sigma,
):
    """A number or broadcast array is checked once per call, a full-size one block by block:
    sigma <= 0 gives NaN either way (scipy: norm.logpdf with scale <= 0 is NaN), also where an
    observed value outside the support sits beside it (NaN wins over +inf, as the masks say).
    A Python 0.0 gives NaN, not the ZeroDivisionError of 1/sigma**2 in the blocked sum."""
    m = module("gaussian")
    n = 3 * m._BLOCK + 17
    y, mu = np.linspace(-1, 1, n), np.zeros(n)
    if isinstance(sigma, str):
        sigma = np.ones(n)
        sigma[-1] = 0.0
    assert np.isnan(stats.norm.logpdf(0.0, 0.0, np.ravel(sigma)[-1]))
    assert np.isnan(m.nll(y[-2:], mu[-2:], np.ravel(sigma)[-1], reduction="none")).all()
    for reduction in ("mean", "sum"):
        assert np.isnan(m.nll(y, mu, sigma, reduction=reduction))
    assert np.isfinite(m.nll(y, mu, 1.0)) and np.isfinite(m.nll(y, mu, np.array([1.0])))
    p = module("poisson")
    yp = np.ones(n)
    yp[-1] = -1.0
    assert np.isposinf(p.nll(yp, 2.0))
    assert np.isnan(p.nll(yp, -2.0)) and np.isnan(p.nll(yp, np.array([0.0])))
    lam = np.full(n, 2.0)
    lam[-1] = 0.0
    assert np.isnan(p.nll(yp, lam))


#: (entry, argument, bad values, what the nll is then, scipy's log-density at the bad value or
#: None): bounds a blocked nll checks only where a block's sum is not finite (_NONFINITE_CHECKS:
#: the nll has a term c*log(x), -inf or NaN wherever x is below the bound)
NONFINITE = [
    ("gaussian-hetero", "sigma", [0.0, -0.0, -1.0, -1e-30], "nan",
     lambda y, mu, sigma: stats.norm.logpdf(y, mu, sigma)),
    ("laplace", "b", [0.0, -2.0], "nan", lambda y, mu, b: stats.laplace.logpdf(y, mu, b)),
    ("exponential", "lambda_", [0.0, -0.5], "nan",
     lambda y, lam: stats.expon.logpdf(y, scale=1 / lam) if lam else np.nan),
    ("student-t", "nu", [0.0, -3.0], "nan", lambda y, mu, nu, s: stats.t.logpdf(y, nu, mu, s)),
    ("student-t", "s", [-0.0, -1.0], "nan", lambda y, mu, nu, s: stats.t.logpdf(y, nu, mu, s)),
    ("lognormal", "y", [-1.0, -1e-30], "inf",
     lambda y, mu, sigma: stats.lognorm.logpdf(y, sigma, scale=np.exp(mu))),
]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, argument, bads, expected, oracle", NONFINITE)
def test_checks_implied_by_a_nonfinite_sum_still_flag_the_last_block(
    name, argument, bads, expected, oracle, dtype
):
    """A bound that _NONFINITE_CHECKS lists runs only on a block (or a small call) whose sum is
    not finite: a bad value in the last block of 3, or in a call of fewer than _BLOCK examples,
    still gives NaN (a parameter) or +inf (an observed value), as the element-wise masks and
    scipy's -logpdf say; a good call is finite."""
    m = module(name)
    names = [*m.OBSERVED, *m.PARAMS, *m.FIXED]
    position = names.index(argument)
    row = [i for i, (_, indices, _) in enumerate(m._DOMAIN_CHECKS) if indices == (position,)]
    assert row and set(row) <= set(m._NONFINITE_CHECKS), (row, m._NONFINITE_CHECKS)
    n = 3 * m._BLOCK + 17
    values = [np.linspace(0.5, 2.0, n).astype(dtype) for _ in names]
    for call in (values, [v[-100:] for v in values]):
        assert np.isfinite(m.nll(*call))
    check = np.isnan if expected == "nan" else np.isposinf
    for bad in bads:
        values[position][-1] = bad
        at = [float(v[-1]) for v in values]
        assert check(-oracle(*at)), (bad, oracle(*at))
        masks = m.nll(*[v[-3:] for v in values], reduction="none")
        assert check(masks[-1]) and np.isfinite(masks[:-1]).all(), (bad, masks)
        for reduction in ("mean", "sum"):
            for call in (values, [v[-100:] for v in values]):
                assert check(m.nll(*call, reduction=reduction)), (bad, reduction, len(call[0]))
        values[position][-1] = 1.0


def test_python_numbers_alone_are_one_example():
    """Every argument a Python float: one example, as scipy gives it (this raised
    AttributeError: the formula's value was a float, not an array)."""
    m = module("gaussian")
    for reduction in ("mean", "sum"):
        got = m.nll(0.5, 1.0, 2.0, reduction=reduction)
        assert got == pytest.approx(-stats.norm.logpdf(0.5, 1.0, 2.0), rel=1e-14)
        assert got.dtype == np.float64
        assert m.loss(0.5, 1.0, 2.0, reduction=reduction) == pytest.approx(
            float(m.loss(np.array([0.5]), 1.0, 2.0)), rel=1e-15
        )
    assert np.isnan(m.nll(0.5, 1.0, -2.0))
    bce = module("bernoulli-logit")
    assert bce.nll(1.0, 0.3) == pytest.approx(-stats.bernoulli.logpmf(1, 1 / (1 + np.exp(-0.3))))


def test_complex_arguments_keep_every_check():
    """A complex log of a negative number is finite, so the non-finite rule does not hold there:
    complex arguments are checked as before (NaN for sigma = -1, as the element-wise masks say)."""
    m = module("gaussian-hetero")
    for n in (100, 3 * m._BLOCK + 17):
        y, mu, sigma = np.ones(n, complex), np.zeros(n, complex), np.ones(n, complex)
        sigma[-1] = -1.0
        with np.errstate(invalid="ignore", divide="ignore"):
            assert np.isnan(m.nll(y[-3:], mu[-3:], sigma[-3:], reduction="none")[-1])
            assert np.isnan(m.nll(y, mu, sigma)), n


def test_only_log_terms_mark_a_check_as_implied():
    """The rule behind _NONFINITE_CHECKS marks a bound x >= 0 (x > 0) only where the nll has a
    term c*log(x) with c a number: not bernoulli's or poisson's support (y = 0.5 or y = -1 give a
    finite nll), not poisson's rate (its term -y*log(lam) has no numeric coefficient)."""
    assert module("bernoulli-logit")._NONFINITE_CHECKS == ()
    assert module("poisson-log")._NONFINITE_CHECKS == ()
    assert module("poisson")._NONFINITE_CHECKS == ()
    lognormal = module("lognormal")
    marked = [lognormal._DOMAIN_CHECKS[i][1] for i in lognormal._NONFINITE_CHECKS]
    assert sorted(marked) == [(0,), (2,)]  # y < 0 and sigma <= 0


def test_in_unit_decides_only_what_the_bounds_say():
    """_in_unit (one integer maximum over the bits) is True only where every value lies in
    [+0, 1]: compared with numpy's own min/max on each edge, float32 and float64."""
    m = module("bernoulli-logit")
    tiny = np.finfo(np.float64).tiny
    for dtype in (np.float64, np.float32):
        for values in (
            [0.0, 1.0],
            [0.5, tiny],
            [-0.0, 1.0],
            [1.0, np.nextafter(1.0, 2.0)],
            [np.nan, 0.5],
            [-1e-300, 0.0],
            [np.inf, 0.0],
            [0.25],
        ):
            x = np.array(values, dtype)
            exact = bool(np.min(x) >= 0 and np.max(x) <= 1) and not np.signbit(x).any()
            assert m._in_unit(x) == exact, (values, dtype)
            if not m._in_unit(x):  # then the exact check decides: never a wrong "inside"
                continue
            assert np.min(x) >= 0 and np.max(x) <= 1
    assert m._in_unit(0.5) and not m._in_unit(1.5) and not m._in_unit(float("nan"))
    assert not m._in_unit(np.array([0.5], ">f8")) and not m._in_unit(np.zeros(0))


# ---------------------------------------------------------------------------- labels in loss

LABELLED = [n for n in NAMES if labels_range(derivation(n), arguments(derivation(n)))]


def test_labelled_entries_are_the_probability_outputs():
    assert {"bernoulli", "bernoulli-logit", "categorical", "categorical-logit"} <= set(LABELLED)
    assert "gaussian" not in LABELLED and "poisson" not in LABELLED


@pytest.mark.parametrize("bad", [-1.0, 1.5])
@pytest.mark.parametrize("name", ["bernoulli", "bernoulli-logit"])
def test_bce_refuses_labels_outside_the_unit_interval(name, bad):
    m = module(name)
    param = np.full(4, 0.3 if name == "bernoulli" else 0.7)
    y = np.array([0.0, 1.0, bad, 1.0])
    for reduction in ("none", "mean", "sum"):
        with pytest.raises(ValueError, match=r"y must lie in \[0, 1\]"):
            m.loss(y, param, reduction=reduction)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m.loss(bad, 0.3)
    y = np.zeros(2 * m._BLOCK + 3)  # the blocked path checks every block
    y[-1] = bad
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m.loss(y, np.full_like(y, 0.3))
    assert float(m.loss(np.array([0.0, 1.0, 0.25]), param[:3])) > 0  # soft labels are fine


def test_categorical_refuses_negative_targets():
    m = module("categorical-logit")
    y = np.array([[1.5, -0.5, 0.0], [0.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m.loss(y, np.zeros((2, 3)))


def test_the_module_docstring_states_the_conversions():
    m = module("bernoulli-logit")
    doc = " ".join(m.__doc__.split())
    assert "integer and boolean inputs are converted to the floating dtype" in doc
    assert "+inf where the observed value lies outside the support" in doc
    assert "raises ValueError for y outside [0, 1]" in doc


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_label_check_edges(dtype):
    """The bit-pattern shortcut agrees with the plain comparison at every edge of [0, 1]."""
    m = module("bernoulli-logit")
    z = np.zeros(3, dtype)
    for fine in (
        [0.0, 1.0, 0.5],
        [-0.0, 1.0, 0.0],
        [np.nan, 0.0, 1.0],
        [np.finfo(dtype).tiny, 1, 0],
    ):
        m.loss(np.array(fine, dtype), z)
    above = np.nextafter(dtype(1), dtype(2))
    for bad in (
        [0.0, above, 1.0],
        [-np.finfo(dtype).tiny, 0.0, 1.0],
        [np.inf, 0, 0],
        [-np.inf, 0, 0],
    ):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            m.loss(np.array(bad, dtype), z)


@pytest.mark.parametrize(
    "ydtype, zdtype", [("f8", "f8"), ("f4", "f4"), ("f4", "f8"), (">f8", "f8"), ("i8", "f8")]
)
def test_blocked_label_check_refuses_a_bad_label_in_any_block(ydtype, zdtype):
    """The blocked loss checks each block's labels with one integer maximum over their bits (set up
    once per call) and only a block that fails it exactly: a bad label in the middle block of 3 is
    refused with the range of that block, whatever the dtypes (labels float32 against float64
    margins, big-endian, integers) and the layout (a strided view); NaN and -0.0 pass."""
    m = module("bernoulli-logit")
    n = 3 * m._BLOCK + 17
    for strided in (False, True):
        y = np.zeros(2 * n if strided else n, ydtype)
        y[1::3] = 1
        y = y[::2] if strided else y
        z = np.full(n, 0.3, zdtype)
        if y.dtype.kind == "f":
            y[m._BLOCK + 1], y[m._BLOCK + 2] = np.nan, -0.0
        expected = m.loss(np.asarray(y, np.float64), z.astype(np.float64))
        assert float(m.loss(y, z)) == pytest.approx(float(expected), nan_ok=True)
        for bad in (-1, 2):
            y_bad = y.copy() if not strided else y
            keep = y_bad[m._BLOCK + 5]
            y_bad[m._BLOCK + 5] = bad
            with pytest.raises(ValueError) as error:
                m.loss(y_bad, z)
            low, high = (bad, 1) if bad < 0 else (0, bad)
            assert str(error.value) == (
                f"y must lie in [0, 1] (labels or probabilities); found values from {float(low)} "
                f"to {float(high)}"
            )
            y_bad[m._BLOCK + 5] = keep
    cm = module("categorical-logit")
    rows = 3 * cm._BLOCK // 4 + 5  # (rows, 4): more than _BLOCK values, several blocks
    y = np.eye(4)[np.arange(rows) % 4]
    y[-1, 2] = 1.5  # the last block only
    with pytest.raises(ValueError, match=r"found values from 0\.0 to 1\.5"):
        cm.loss(y, np.zeros((rows, 4)))


# ---------------------------------------------------------------------------- torch and jax


def _jax_in_float64():
    import jax

    jax.config.update("jax_enable_x64", True)  # as numpy: float64 unless told otherwise


#: backend: (its array module, the array constructor, set-up)
LIBRARIES = {
    "numpy": ("numpy", "asarray", None),
    "torch": ("torch", "as_tensor", None),
    "jax": ("jax.numpy", "asarray", _jax_in_float64),
}


def _array_constructor(backend):
    """The backend's array of a value, in numpy's dtype (float64 for a Python float, which torch
    would make float32); a skip, with the reason, where the library is absent."""
    module, constructor, setup = LIBRARIES[backend]
    lib = pytest.importorskip(module, reason=f"{backend} is not installed: its module is not run")
    if setup is not None:
        setup()
    make = getattr(lib, constructor)
    return lambda x: make(np.asarray(x))


@pytest.fixture(params=["torch", "jax"])
def other(request):
    """(backend, array constructor) for torch and jax: the same checks as numpy's module, run
    through the emitted source of each."""
    return request.param, _array_constructor(request.param)


@pytest.mark.parametrize("name, y, params, oracle", OUTSIDE)
def test_torch_and_jax_nll_outside_the_support_is_inf_as_numpy_and_scipy(
    other, name, y, params, oracle
):
    backend, as_array = other
    m, ref = module(name, backend), module(name)
    y = np.array(y)
    got = np.asarray(m.nll(as_array(y), *map(as_array, params), reduction="none"))
    expected = ref.nll(y, *params, reduction="none")
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
    assert np.isposinf(got).any()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got, -oracle(y, *params), rtol=1e-10)
    for reduction in ("mean", "sum"):
        assert np.isposinf(float(m.nll(as_array(y), *map(as_array, params), reduction=reduction)))


def test_torch_and_jax_nll_beyond_a_truncation_is_inf(other):
    backend, as_array = other
    m = truncated_exponential(backend)
    lam, c = 1.3, 2.0
    y = np.array([0.5, 1.9, 2.5, -0.1])
    oracle = -stats.truncexpon(b=lam * c, scale=1 / lam).logpdf(y)
    got = np.asarray(m.nll(as_array(y), as_array(lam), as_array(c), reduction="none"))
    np.testing.assert_allclose(got, oracle, rtol=1e-12)
    assert np.isposinf(got[2:]).all()
    assert np.isposinf(float(m.nll(as_array(y), as_array(lam), as_array(c))))


def test_torch_and_jax_nll_with_a_parameter_outside_its_domain_is_nan(other):
    backend, as_array = other
    m, ref = module("gaussian-hetero", backend), module("gaussian-hetero")
    y, mu, sigma = np.array([0.1, 0.2, 0.3]), np.zeros(3), np.array([1.0, -1.0, 0.0])
    got = np.asarray(m.nll(*map(as_array, (y, mu, sigma)), reduction="none"))
    expected = -stats.norm.logpdf(y, mu, sigma)
    np.testing.assert_allclose(got, ref.nll(y, mu, sigma, reduction="none"), rtol=1e-12)
    np.testing.assert_allclose(got[:1], expected[:1], rtol=1e-12)
    assert np.isnan(got[1:]).all() and np.isnan(expected[1:]).all()
    # NaN wins over +inf, in numpy's module too: a bad parameter and an observation outside
    m, ref = module("binomial", backend), module("binomial")
    y, p, n = np.array([1.0, 9.0]), np.array([0.4, 0.4]), np.array([5.0, 5.5])
    for reduction in ("none", "mean", "sum"):
        got = np.asarray(m.nll(*map(as_array, (y, p, n)), reduction=reduction))
        expected = ref.nll(y, p, n, reduction=reduction)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        assert np.isnan(got).any() and np.isnan(expected).any()
    assert np.isnan(got)


def _numpy_error(name, y, param, reduction):
    with pytest.raises(ValueError) as numpy_error:
        module(name).loss(y, param, reduction=reduction)
    return str(numpy_error.value)


@pytest.mark.parametrize("bad", [-1.0, 1.5])
@pytest.mark.parametrize("name", ["bernoulli", "bernoulli-logit"])
def test_torch_and_jax_refuse_labels_as_numpy(other, name, bad):
    backend, as_array = other
    m = module(name, backend)
    param = np.full(4, 0.3 if name == "bernoulli" else 0.7)
    y = np.array([0.0, 1.0, bad, 1.0])
    for reduction in ("none", "mean", "sum"):
        message = _numpy_error(name, y, param, reduction)
        with pytest.raises(ValueError) as error:
            m.loss(as_array(y), as_array(param), reduction=reduction)
        assert str(error.value) == message and message.startswith("y must lie in [0, 1]")
    soft = np.array([0.0, 1.0, 0.25])
    np.testing.assert_allclose(
        float(m.loss(as_array(soft), as_array(param[:3]))), module(name).loss(soft, param[:3])
    )


def test_torch_and_jax_refuse_negative_categorical_targets_as_numpy(other):
    backend, as_array = other
    y, z = np.array([[1.5, -0.5, 0.0], [0.0, 1.0, 0.0]]), np.zeros((2, 3))
    message = _numpy_error("categorical-logit", y, z, "mean")
    with pytest.raises(ValueError) as error:
        module("categorical-logit", backend).loss(as_array(y), as_array(z))
    assert str(error.value) == message


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_a_nan_label_does_not_hide_one_outside(backend):
    """NaN passes the label check (the loss is NaN there) but does not hide a 2.0 beside it."""
    as_array = _array_constructor(backend)
    m = module("bernoulli-logit", backend)
    with pytest.raises(ValueError, match=r"found values from 0.0 to 2.0"):
        m.loss(as_array(np.array([np.nan, 0.0, 2.0])), as_array(np.zeros(3)))
    assert np.isnan(float(m.loss(as_array(np.array([np.nan, 0.0, 1.0])), as_array(np.zeros(3)))))


def test_torch_compile_keeps_the_checks_in_one_graph():
    """Under torch.compile the masks are torch.where and the label check a device-side assert:
    one graph, no break; bad labels still raise (RuntimeError, as torch's own kernels do)."""
    torch = pytest.importorskip("torch")
    m = module("bernoulli-logit", "torch")
    y, z = torch.tensor([0.0, 1.0, 1.0]), torch.tensor([0.3, -2.0, 4.0])
    for f in (m.loss, m.nll):
        explanation = torch._dynamo.explain(f)(y, z)
        assert explanation.graph_count == 1 and explanation.graph_break_count == 0
    compiled = torch.compile(m.loss, backend="eager")
    assert float(compiled(y, z)) == pytest.approx(float(m.loss(y, z)), rel=1e-6)
    with pytest.raises(RuntimeError, match=r"y must lie in \[0, 1\]"):
        compiled(torch.tensor([0.0, 2.0, 1.0]), z)
    nll = torch.compile(m.nll, backend="eager")
    assert torch.isposinf(nll(torch.tensor([0.0, 0.5, 1.0]), z))


def test_jax_jit_traces_the_checks():
    """Under jax.jit nothing can raise on a value: labels outside [0, 1] give NaN instead; the
    nll masks are the same as in eager calls."""
    jax = pytest.importorskip("jax", reason="jax is not installed: its module is not run")
    _jax_in_float64()
    import jax.numpy as jnp

    m = module("bernoulli-logit", "jax")
    z = jnp.asarray([0.3, -2.0, 4.0])
    good, bad = jnp.asarray([0.0, 1.0, 1.0]), jnp.asarray([0.0, 2.0, 1.0])
    assert float(jax.jit(m.loss)(good, z)) == pytest.approx(float(m.loss(good, z)), rel=1e-12)
    assert np.isnan(float(jax.jit(m.loss)(bad, z)))
    eager = np.asarray(m.nll(jnp.asarray([0.0, 0.5, 1.0]), z, reduction="none"))
    traced = jax.jit(lambda y, z: m.nll(y, z, reduction="none"))(jnp.asarray([0.0, 0.5, 1.0]), z)
    np.testing.assert_array_equal(np.asarray(traced), eager)
    assert np.isposinf(eager[1])


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_torch_and_jax_docstrings_state_the_checks(backend):
    doc = " ".join(module_source(derivation("bernoulli-logit"), backend).split('"""')[1].split())
    assert "+inf where the observed value lies outside the support" in doc
    assert "raises ValueError for y outside [0, 1]" in doc
