"""Ordinal regression (ordinal-logit, ordinal-probit) against independent oracles.

statsmodels OrderedModel (loglike at given parameters), mpmath at 50 digits far in the tails
(η = ±30), torch autograd of an independent torch formula, finite differences; the emitted code
in numpy and torch, float32 and float64.  The catalog-wide checks (normalisation, scipy.special
oracle, split, recognition, steps) run on both entries in test_catalog.py."""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from oracles import ordinal_cutpoints, statsmodels_ordinal_loglike

from derive.catalog import get
from derive.codegen.emit import load
from derive.composite import cutpoints
from derive.numeric import evaluate
from derive.spec import N_CLASSES

DISTR = {"ordinal-logit": "logit", "ordinal-probit": "probit"}
NAMES = tuple(DISTR)
_MODULES = {}


def module(name, backend="numpy", grad=True):
    key = (name, backend, grad)
    if key not in _MODULES:
        _MODULES[key] = load(name, backend=backend, grad=grad)
    return _MODULES[key]


def _cdf_mp(name):
    if name == "ordinal-logit":
        return lambda x: 1 / (1 + mpmath.exp(-x))
    return mpmath.ncdf


def _nll_mp(name, y, eta, c_raw):
    """−log(F(c_{y+1} − η) − F(c_y − η)) at 50 digits, the cutpoints from c_raw likewise; an
    interval above 0 reflected (F symmetric), one around 0 as 1 − both tails, so that the
    difference keeps its digits."""
    F = _cdf_mp(name)
    with mpmath.workdps(50):
        r = [mpmath.mpf(float(v)) for v in c_raw]
        c = [r[0]]
        for v in r[1:]:
            c.append(c[-1] + mpmath.log1p(mpmath.exp(v)))
        ends = [-mpmath.inf, *c, mpmath.inf]
        lo, hi = ends[int(y)] - eta, ends[int(y) + 1] - eta
        if lo > 0:
            lo, hi = -hi, -lo
        if hi > 0:  # P near 1: 1 − (F(lo) + F(−hi)), the two tails each accurate
            return float(-mpmath.log1p(-(F(lo) + F(-hi))))
        return float(-mpmath.log(F(hi) - F(lo)))


def _sample(rng, n, classes, spread=1.0):
    c_raw = rng.normal(0, spread, (n, classes))
    eta = rng.normal(0, 1.5 * spread, n)
    y = rng.integers(0, classes + 1, n).astype(float)
    return y, eta, c_raw


def test_the_cutpoints_increase_for_any_raw_output(rng):
    """c_k = r_1 + Σ_{j=2}^{k} softplus(r_j), from the declaration, is increasing (even for raw
    increments of −30) and equals the numpy cumulative sum."""
    import sympy as sp

    r = sp.IndexedBase("r", real=True)
    raw = np.array([0.3, -30.0, 2.0, -1.0])
    c = [float(evaluate(cutpoints(r, sp.Integer(k), N_CLASSES), {r: raw})) for k in range(1, 5)]
    assert np.all(np.diff(c) > 0)
    np.testing.assert_allclose(c, ordinal_cutpoints(raw), rtol=1e-15)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("classes", [1, 2, 4])
def test_nll_equals_statsmodels_ordered_model(name, classes, rng):
    """−(statsmodels OrderedModel loglikeobs) at the same η = x·β and thresholds (statsmodels
    parametrises them as c_1, log(c_2 − c_1), …; ours as c_1 = r_1, softplus(r_k) = c_k − c_{k−1}).
    statsmodels computes log(F(u) − F(l) + 1e-20) (it loses digits once P(y) < ~1e-5: 4e-8 of
    the value at P = 1e-11), so it is compared where P(y) > 1e-4, and every row with mpmath."""
    y, eta, c_raw = _sample(rng, 300, classes)
    ours = module(name).nll(y, eta, c_raw, reduction="none")
    theirs = -np.concatenate(
        [statsmodels_ordinal_loglike(y[i : i + 1], eta[i], c_raw[i], DISTR[name]) for i in
         range(len(y))]
    )  # fmt: skip
    exact = np.array([_nll_mp(name, *row) for row in zip(y, eta, c_raw, strict=True)])
    likely = exact < -np.log(1e-4)
    assert likely.sum() > 200
    np.testing.assert_allclose(ours[likely], theirs[likely], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(ours, exact, rtol=1e-13)
    # the loss is the NLL (nothing is dropped, a = 1), also summed and averaged
    assert module(name).loss(y, eta, c_raw, reduction="sum") == pytest.approx(exact.sum(), 1e-12)
    assert module(name).nll(y, eta, c_raw) == pytest.approx(exact.mean(), 1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("eta", [-30.0, 30.0, -8.0, 8.0])
def test_far_tails_match_mpmath_and_stay_finite(name, eta):
    """η = ±30 against cutpoints near 0: every class's probability is far in a tail (e^−30, Φ(−30)
    = 5e−198), where F(u) − F(l) and log(1 − F) lose every digit; the stable form keeps them."""
    c_raw = np.array([-1.0, 0.0, 0.5])
    y = np.arange(4.0)
    got = module(name).nll(y, eta, np.tile(c_raw, (4, 1)), reduction="none")
    expected = [_nll_mp(name, v, eta, c_raw) for v in y]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    grads = module(name).gradient(y, eta, np.tile(c_raw, (4, 1)))
    hessians = module(name).hessian(y, eta, np.tile(c_raw, (4, 1)))
    for g in (*grads, *hessians):
        assert np.all(np.isfinite(g))


def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_and_hessian_match_finite_differences(name, rng):
    y, eta, c_raw = _sample(rng, 50, 3)
    m = module(name)
    g_eta, g_raw = m.gradient(y, eta, c_raw)
    h_eta, h_raw = m.hessian(y, eta, c_raw)
    h = 1e-5
    np.testing.assert_allclose(
        g_eta, _fd(lambda e: m.nll(y, e, c_raw, reduction="none"), eta, h), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        h_eta, _fd(lambda e: m.gradient(y, e, c_raw)[0], eta, h), rtol=1e-6, atol=1e-8
    )
    for j in range(3):
        step = np.zeros(3)
        step[j] = 1.0
        np.testing.assert_allclose(
            g_raw[:, j],
            _fd(lambda t, s=step: m.nll(y, eta, c_raw + t * s, reduction="none"), 0.0, h),
            rtol=1e-6,
            atol=1e-8,
        )
        np.testing.assert_allclose(
            h_raw[:, j],
            _fd(lambda t, s=step, k=j: m.gradient(y, eta, c_raw + t * s)[1][:, k], 0.0, h),
            rtol=1e-6,
            atol=1e-8,
        )


def _torch_nll(name, y, eta, c_raw):
    """An independent torch formula: cumulative softplus cutpoints, torch's sigmoid or ndtr as
    the CDF, a gather of c_y and c_{y+1} by class index."""
    import torch

    steps = torch.cat([c_raw[..., :1], torch.nn.functional.softplus(c_raw[..., 1:])], dim=-1)
    c = torch.cumsum(steps, dim=-1)
    inf = torch.full_like(c[..., :1], float("inf"))
    ends = torch.cat([-inf, c, inf], dim=-1)
    index = y.long()[..., None]
    lo = torch.gather(ends, -1, index)[..., 0] - eta
    hi = torch.gather(ends, -1, index + 1)[..., 0] - eta
    F = torch.sigmoid if name == "ordinal-logit" else torch.special.ndtr
    # P = F(hi) − F(lo) = F(−lo) − F(−hi) = 1 − F(lo) − F(−hi): each where it keeps its digits
    tails = F(lo) + F(-hi)
    between = torch.where(lo > 0, F(-lo) - F(-hi), F(hi) - F(lo))
    return torch.where(tails < 0.5, -torch.log1p(-tails), -torch.log(between))


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_torch_autograd(name, rng):
    """Moderate values (torch's ndtr keeps ~9 digits at Φ(−7), where ours agree with mpmath to
    1e−15: the far tails are checked against mpmath above)."""
    torch = pytest.importorskip("torch")
    y, eta, c_raw = _sample(rng, 60, 4, spread=0.5)
    te = torch.tensor(eta, requires_grad=True)
    tc = torch.tensor(c_raw, requires_grad=True)
    value = _torch_nll(name, torch.tensor(y), te, tc)
    value.sum().backward()
    g_eta, g_raw = module(name).gradient(y, eta, c_raw)
    np.testing.assert_allclose(value.detach().numpy(), module(name).nll(y, eta, c_raw, "none"),
                               rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(g_eta, te.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(g_raw, tc.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_module_takes_class_indices(name, dtype, rng):
    """The torch backend's loss module: forward(eta, c_raw, target) with integer class indices
    (torch's convention for class targets), autograd through the emitted formula equal to the
    independent torch formula's, in float32 and float64."""
    torch = pytest.importorskip("torch")
    m = module(name, backend="torch", grad=False)
    loss = getattr(m, {"ordinal-logit": "OrdinalLogitLoss", "ordinal-probit": "OrdinalProbitLoss"}[
        name])()  # fmt: skip
    y, eta, c_raw = _sample(rng, 40, 3, spread=0.5)
    kind = getattr(torch, dtype)
    te = torch.tensor(eta, dtype=kind, requires_grad=True)
    tc = torch.tensor(c_raw, dtype=kind, requires_grad=True)
    target = torch.tensor(y, dtype=torch.long)
    out = loss(te, tc, target)
    assert out.dtype == kind and out.shape == ()
    out.backward()
    re = torch.tensor(eta, dtype=torch.float64, requires_grad=True)
    rc = torch.tensor(c_raw, dtype=torch.float64, requires_grad=True)
    ref = _torch_nll(name, target, re, rc).mean()
    ref.backward()
    tol = 1e-5 if dtype == "float32" else 1e-12
    assert out.item() == pytest.approx(ref.item(), rel=tol)
    np.testing.assert_allclose(te.grad.double().numpy(), re.grad.numpy(), rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(tc.grad.double().numpy(), rc.grad.numpy(), rtol=tol * 10, atol=tol)


@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name, rng):
    y, eta, c_raw = _sample(rng, 30, 3)
    got = module(name).nll(y.astype(np.float32), eta.astype(np.float32),
                           c_raw.astype(np.float32), reduction="none")  # fmt: skip
    assert got.dtype == np.float32
    expected = [
        _nll_mp(name, *row)
        for row in zip(y, eta.astype(np.float32), c_raw.astype(np.float32), strict=True)
    ]
    np.testing.assert_allclose(got, expected, rtol=2e-5)


@pytest.mark.parametrize("name", NAMES)
def test_a_class_outside_0_to_k_is_not_a_class(name):
    """y = K + 1 (or −1, or 1.5) is outside the support: +inf, as scipy's −logpmf."""
    c_raw = np.zeros((3, 3))
    got = module(name).nll(np.array([4.0, -1.0, 1.5]), np.zeros(3), c_raw, reduction="none")
    assert np.all(np.isposinf(got))


def test_the_declaration_reads_k_cutpoints_and_k_plus_1_classes():
    dist = get("ordinal-logit")
    assert [v.name for v in dist.learned] == ["eta", "theta"]
    assert dist.support_bounds == (0, N_CLASSES)
    assert "K + 1" in dist.notes and "statsmodels" in dist.notes


def _edge_rows(classes):
    """Every class (both ends, and each between where K ≥ 2) at η = −30, 0.4 and +30 against
    cutpoints around 0: the lowest and highest classes far in either tail."""
    y = np.repeat(np.arange(classes + 1.0), 3)
    eta = np.tile([-30.0, 0.4, 30.0], classes + 1)
    c_raw = np.tile(np.linspace(-0.5, 0.5, classes), (len(y), 1))
    return y, eta, c_raw


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("classes", [1, 2, 4])
def test_numpy_raises_no_floating_point_warning_at_any_class_count(name, classes):
    """K = 1 (two classes) has no class between the ends: the unused middle case used to be
    evaluated at c_{y+1} = c_y, log(0), and warned. Every numpy floating-point flag is an error
    here; the values are mpmath's (50 digits)."""
    y, eta, c_raw = _edge_rows(classes)
    m = module(name)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        values = m.nll(y, eta, c_raw, reduction="none")
        loss = m.loss(y, eta, c_raw, reduction="none")
        grads = m.gradient(y, eta, c_raw)
        hessians = m.hessian(y, eta, c_raw)
    expected = [_nll_mp(name, *row) for row in zip(y, eta, c_raw, strict=True)]
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    np.testing.assert_array_equal(loss, values)
    for g in (*grads, *hessians):
        assert np.all(np.isfinite(g))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("classes", [1, 2, 4])
def test_two_classes_match_statsmodels(name, classes, rng):
    """The edge rows' moderate values (η = 0.4) and random rows against statsmodels
    OrderedModel, where P(y) > 1e-4 (statsmodels adds 1e-20 inside its log, and rounds F(u) −
    F(l) near P = 1: an absolute error ~1e-16 on a loss near 0, hence the atol)."""
    y, eta, c_raw = _sample(rng, 60, classes)
    ey, eeta, ec = _edge_rows(classes)
    keep = eeta == 0.4
    y, eta, c_raw = (np.concatenate([a, b[keep]]) for a, b in ((y, ey), (eta, eeta), (c_raw, ec)))
    ours = module(name).nll(y, eta, c_raw, reduction="none")
    theirs = -np.concatenate(
        [statsmodels_ordinal_loglike(y[i : i + 1], eta[i], c_raw[i], DISTR[name]) for i in
         range(len(y))]
    )  # fmt: skip
    likely = ours < -np.log(1e-4)
    assert likely.sum() > len(y) // 2
    np.testing.assert_allclose(ours[likely], theirs[likely], rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("classes", [1, 2, 4])
def test_torch_module_gradients_are_finite_at_any_class_count(name, classes):
    """Autograd through the torch module's loss (torch.where passes 0 to the unused case, and
    0·∞ = NaN if that case is −∞: the double-where feeds it a finite point) at every class, η =
    ±30: finite, equal to numpy's derived gradient and to central finite differences of numpy's
    NLL."""
    torch = pytest.importorskip("torch")
    y, eta, c_raw = _edge_rows(classes)
    cls = {"ordinal-logit": "OrdinalLogitLoss", "ordinal-probit": "OrdinalProbitLoss"}[name]
    loss = getattr(module(name, backend="torch", grad=True), cls)(reduction="sum")
    te = torch.tensor(eta, requires_grad=True)
    tc = torch.tensor(c_raw, requires_grad=True)
    loss(te, tc, torch.tensor(y, dtype=torch.long)).backward()
    assert torch.isfinite(te.grad).all() and torch.isfinite(tc.grad).all()
    m = module(name)
    g_eta, g_raw = m.gradient(y, eta, c_raw)
    np.testing.assert_allclose(te.grad.numpy(), g_eta, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(tc.grad.numpy(), g_raw, rtol=1e-10, atol=1e-13)
    h = 1e-5
    fd_eta = _fd(lambda e: m.nll(y, e, c_raw, reduction="none"), eta, h)
    np.testing.assert_allclose(te.grad.numpy(), fd_eta, rtol=1e-6, atol=1e-7)
    for j in range(classes):
        step = np.zeros(classes)
        step[j] = 1.0
        fd = _fd(lambda t, s=step: m.nll(y, eta, c_raw + t * s, reduction="none"), 0.0, h)
        np.testing.assert_allclose(tc.grad.numpy()[:, j], fd, rtol=1e-6, atol=1e-7)
