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
def truncated_exponential():
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
    return _load(module_source(d), "truncexp", "numpy")


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


@pytest.mark.parametrize(
    "name, y, params, oracle",
    [
        ("poisson", [2.0, -1.0, 2.5], [1.7], lambda y, lam: stats.poisson.logpmf(y, lam)),
        ("bernoulli", [1.0, 0.5, 2.0], [0.3], lambda y, p: stats.bernoulli.logpmf(y, p)),
        ("binomial", [3.0, 6.0, -1.0], [0.4, 5.0], lambda y, p, n: stats.binom.logpmf(y, n, p)),
        ("exponential", [1.0, -0.5], [2.0], lambda y, lam: stats.expon.logpdf(y, scale=1 / lam)),
    ],
)
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
