"""The GBM objective's one shared pass (gradient and hessian together) against the
closed forms written out here, at more examples than one block, in float64 and float32; and the
objective benchmark end to end at a tiny size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import NAMES
from scipy.special import expit
from test_codegen import batch, derivation

from derive.codegen import load

CLOSED_FORMS = {
    "poisson-log": lambda y, eta: (np.exp(eta) - y, np.exp(eta)),
    "bernoulli-logit": lambda y, z: (expit(z) - y, expit(z) * expit(-z)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_objective_matches_the_closed_form(name, dtype, rng):
    m = load(name, grad=True)
    n = 2 * m._BLOCK + 5
    raw = (2 * rng.normal(size=n)).astype(dtype)
    y = (rng.poisson(2.0, n) if name == "poisson-log" else rng.integers(0, 2, n)).astype(dtype)
    g, h = m.sklearn_objective(y, raw)
    assert g.dtype == dtype and h.dtype == dtype and g.shape == h.shape == (n,)
    want_g, want_h = CLOSED_FORMS[name](y.astype(np.float64), raw.astype(np.float64))
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(g, want_g, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(h, np.maximum(want_h, np.finfo(dtype).eps), rtol=rtol)
    np.testing.assert_array_equal(g, m.gradient(y, raw))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_hessian_floor_only_where_a_block_needs_it_same_values(dtype):
    """The blocked objective floors a block's hessian only where the block's minimum is below eps
    or NaN: a hessian that underflows in the middle block of 3 is floored there, a NaN (from a NaN
    margin) stays NaN and does not hide an underflow beside it in the same block, and the other
    blocks are left as computed; the result is np.maximum(h, eps) everywhere."""
    m = load("poisson-log", grad=True)
    n = 3 * m._BLOCK + 7
    eta = np.linspace(-3, 3, n).astype(dtype)
    eta[m._BLOCK + 3] = -800  # e^-800 underflows to 0
    eta[2 * m._BLOCK + 11], eta[2 * m._BLOCK + 12] = np.nan, -800  # NaN beside an underflow
    y = np.ones(n, dtype)
    g, h = m.sklearn_objective(y, eta)
    with np.errstate(under="ignore"):
        want_h = np.maximum(np.exp(eta), np.finfo(dtype).eps)
    np.testing.assert_array_equal(h, want_h)
    assert h[m._BLOCK + 3] == h[2 * m._BLOCK + 12] == np.finfo(dtype).eps
    assert np.isnan(h[2 * m._BLOCK + 11]) and np.isnan(g[2 * m._BLOCK + 11])
    np.testing.assert_array_equal(g, m.gradient(y, eta))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bernoulli_objective_keeps_relative_accuracy_at_confident_margins(dtype, rng):
    """Margins of ±30, ±40 and ±700 over more than one block: a confident right negative's
    gradient sigma(-40) = 4.2e-18 keeps its relative accuracy (scipy's expit in float64 as the
    oracle), nothing is NaN or overflows, and the hessian is floored at the dtype's epsilon."""
    m = load("bernoulli-logit", grad=True)
    n = 3 * m._BLOCK + 7
    raw = rng.choice(np.array([-700.0, -40.0, -30.0, 0.0, 30.0, 40.0, 700.0]), n)
    y = (raw > 0).astype(float)  # every prediction right
    raw32 = raw.astype(dtype)
    with np.errstate(over="raise", invalid="raise"):
        g, h = m.sklearn_objective(y.astype(dtype), raw32)
    exact_g = expit(raw32.astype(float)) - y
    exact_h = np.maximum(
        expit(raw32.astype(float)) * expit(-raw32.astype(float)), np.finfo(dtype).eps
    )
    eps, tiny = float(np.finfo(dtype).eps), np.finfo(dtype).tiny
    # y = 0, margin < 0: g = sigma(margin), tiny, relative accuracy (below `tiny`: subnormal)
    keep = (raw < 0) & (np.abs(exact_g) >= tiny)
    np.testing.assert_allclose(g[keep], exact_g[keep], rtol=8 * eps)
    assert np.all(np.abs(g[(raw < 0) & ~keep]) <= 2 * tiny)
    # y = 1, margin > 0: g = sigma(margin) - 1 cancels (as for expit): absolute accuracy
    assert np.all(np.abs(g[raw >= 0] - exact_g[raw >= 0]) <= eps)
    np.testing.assert_allclose(h, exact_h, rtol=8 * float(np.finfo(dtype).eps))


def test_objective_benchmark_runs():
    pytest.importorskip("xgboost")
    script = Path(__file__).parent.parent / "benchmarks" / "bench_objective.py"
    tiny = ["--n", "5000", "--rows", "500", "--rounds", "2", "--repeat", "1"]
    done = subprocess.run(
        [sys.executable, str(script), *tiny],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    verdicts = [line for line in done.stdout.splitlines() if " target " in line]
    assert len(verdicts) == 4 and all(v.endswith(("MET", "NOT MET")) for v in verdicts)


# ---------------------------------------------------------------------------- multi:softprob


def _torch_derivatives(labels, z):
    """torch autograd of F.cross_entropy (sum over rows) at z: the gradient and the diagonal of
    each row's Hessian (rows are independent, so d(sum_i g_ik)/dz_ik = H_i[k, k])."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(zt, torch.as_tensor(labels), reduction="sum")
    (grad,) = torch.autograd.grad(loss, zt, create_graph=True)
    columns = [
        torch.autograd.grad(grad[:, k].sum(), zt, retain_graph=True)[0][:, k]
        for k in range(z.shape[1])
    ]
    return grad.detach().numpy(), torch.stack(columns, 1).detach().numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("classes", [3, 5])
def test_multiclass_objective_against_torch_autograd(classes, dtype, rng):
    """The categorical-logit objective over more than one block: the gradient is torch's, the
    hessian twice the diagonal of torch's Hessian (xgboost's multi:softprob surrogate), floored
    at the dtype's epsilon; class indices are turned into one-hot rows."""
    m = load("categorical-logit", grad=True)
    n = 2 * m._BLOCK // classes + 7
    z = (3 * rng.normal(size=(n, classes))).astype(dtype)
    labels = rng.integers(0, classes, n)
    g, h = m.sklearn_objective(labels.astype(dtype), z)
    assert g.dtype == h.dtype == dtype and g.shape == h.shape == (n, classes)
    want_g, want_diag = _torch_derivatives(labels, z.astype(np.float64))
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(g, want_g, rtol=rtol, atol=rtol)
    want_h = np.maximum(2 * want_diag, np.finfo(dtype).eps)
    # 1 − p_k = −expm1(z_k − logsumexp z) loses relative digits as p_k → 1 (z_k − logsumexp z
    # cancels): absolute accuracy there, as σ(m) − 1 in the bernoulli objective
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(h, want_h, rtol=4 * rtol, atol=16 * eps)
    # the public gradient / hessian take the one-hot rows, and give the exact diagonal
    onehot = np.eye(classes, dtype=dtype)[labels]
    np.testing.assert_array_equal(g, m.gradient(onehot, z))
    np.testing.assert_allclose(m.hessian(onehot, z), want_diag, rtol=4 * rtol, atol=8 * eps)


def test_multiclass_objective_against_finite_differences(rng):
    """Central differences of an independent loss, logsumexp(z) − z_label (scipy): ∂/∂z_k and
    ∂²/∂z_k² (the hessian / 2, the surrogate's factor), in float64."""
    from scipy.special import logsumexp

    m = load("categorical-logit", grad=True)
    z = 2 * rng.normal(size=(40, 4))
    labels = rng.integers(0, 4, 40)
    g, h = m.sklearn_objective(labels.astype(float), z)

    def f(row, i):
        return logsumexp(row) - row[labels[i]]

    for i in range(len(z)):
        for k in range(4):
            e = np.zeros(4)
            e[k] = 1.0
            d1 = (f(z[i] + 1e-6 * e, i) - f(z[i] - 1e-6 * e, i)) / 2e-6
            # the five-point stencil, step 1e-3: truncation O(1e-12), rounding O(1e-10)
            at = [f(z[i] + j * 1e-3 * e, i) for j in (-2, -1, 0, 1, 2)]
            d2 = (-at[0] + 16 * at[1] - 30 * at[2] + 16 * at[3] - at[4]) / (12 * 1e-6)
            assert g[i, k] == pytest.approx(d1, abs=1e-8)
            assert h[i, k] / 2 == pytest.approx(d2, abs=1e-8)


def test_multiclass_hessian_majorises_torch_hessian(rng):
    """2·diag(H) − H is positive semi-definite for torch's full Hessian H of a row (K = 2..6,
    margins from near-uniform to one dominant class): the K independent per-class steps never
    overshoot; and K/(K − 1)·diag(H) (LightGBM's) is not, at p = (1/2, 1/2, 0)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    m = load("categorical-logit", grad=True)

    def hessian(row, label):
        return torch.autograd.functional.hessian(
            lambda r: F.cross_entropy(r[None], torch.tensor([label])), torch.tensor(row)
        ).numpy()

    for classes in range(2, 7):
        for scale in (0.3, 1.0, 3.0, 8.0):
            row = scale * rng.normal(size=classes)
            _, h = m.sklearn_objective(np.array([0.0]), row[None])
            H = hessian(row, 0)
            assert np.linalg.eigvalsh(np.diag(h[0]) - H).min() >= -1e-12
    H = hessian(np.array([0.0, 0.0, -60.0]), 0)
    assert np.linalg.eigvalsh(1.5 * np.diag(np.diag(H)) - H).min() < -0.1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_multiclass_objective_at_confident_margins(dtype, rng):
    """Margins of ±40 and ±700 over more than one block: no overflow or NaN; a wrong class's
    gradient p = e^(−80) or e^(−1400) keeps its relative accuracy, to the rounding of its
    exponent (scipy's softmax in float64 as the oracle); the hessian is floored at the dtype's
    epsilon."""
    from scipy.special import softmax

    m = load("categorical-logit", grad=True)
    n = m._BLOCK + 11
    z = rng.choice(np.array([-700.0, -40.0, 0.0, 40.0, 700.0]), (n, 3)).astype(dtype)
    labels = z.argmax(axis=1)
    with np.errstate(over="raise", invalid="raise"):
        g, h = m.sklearn_objective(labels.astype(dtype), z)
    p = softmax(z.astype(np.float64), axis=1)
    wrong = np.arange(3) != labels[:, None]
    keep = wrong & (p >= np.finfo(dtype).tiny)
    eps = float(np.finfo(dtype).eps)
    # e^(z − logsumexp z) is exact to the rounding of its exponent, ε·|z| (|z| = 700 here)
    rtol = 4 * eps * (1 + 700)
    np.testing.assert_allclose(g[keep], p[keep], rtol=rtol)
    assert np.all(np.abs(g - (p - np.eye(3)[labels])) <= rtol)
    exact = np.maximum(2 * p * (1 - p), eps)
    np.testing.assert_allclose(h, exact, rtol=rtol)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_multiclass_intercept_and_inverse_link_in_every_backend(backend, rng):
    """The torch and jax modules' intercept (log of the class frequencies, computed here) and
    inverse_link (the identity: the margins are the logits) agree with numpy's."""
    pytest.importorskip(backend)
    m = load("categorical-logit", backend=backend, grad=True)
    labels = rng.integers(0, 4, 300)
    onehot = np.eye(4)[labels]
    want = np.log(np.bincount(labels, minlength=4) / 300)
    got = np.asarray(m.intercept(onehot))  # jax without x64 computes in float32
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(got.dtype).eps)
    np.testing.assert_allclose(
        np.asarray(load("categorical-logit", grad=True).intercept(onehot)), want
    )
    z = rng.normal(size=(5, 4))
    got = np.asarray(m.inverse_link(z))
    np.testing.assert_array_equal(got, z.astype(got.dtype))


# ---------------------------------------------------------------------------- the blocked pass

OBJECTIVES = [n for n in NAMES if hasattr(load(n, grad=True), "xgboost_objective")]


@pytest.mark.parametrize("name", OBJECTIVES)
def test_blocked_objective_writes_what_the_formulas_give(name, rng):
    """More than one block of examples: the gradient and hessian written in place, block by
    block (_objective_into), are the formulas evaluated on the whole arrays at once
    (_objective_parts; the training tests and the mpmath tests check those), hessian floored."""
    d, m = derivation(name), load(name, grad=True)
    args, values = batch(d, rng, n=m._BLOCK + 7)
    inputs = [values[a] for a in args]
    if args[0].vector:  # probability rows on the simplex
        inputs[0] = inputs[0] / inputs[0].sum(axis=-1, keepdims=True)
    learned = [i for i, a in enumerate(args) if a.role == "learned"]
    for i in learned:  # margins: moderate raw values, whatever the link
        inputs[i] = rng.normal(size=inputs[i].shape)
    g, h = m._objective_values(*inputs, floor=True)
    want_g, want_h = (np.broadcast_to(o, g.shape) for o in m._objective_parts(*inputs))
    assert g.shape == h.shape == np.shape(inputs[learned[0]])
    np.testing.assert_allclose(g, want_g, rtol=1e-12, atol=1e-14 * np.max(np.abs(want_g)))
    want_h = np.maximum(want_h, np.finfo(h.dtype).eps)
    np.testing.assert_allclose(h, want_h, rtol=1e-12, atol=1e-14 * np.max(np.abs(want_h)))


def test_reused_outputs_are_never_ones_a_caller_holds():
    """The blocked objective reuses the arrays of its last result only where nothing refers to
    them any more: a result (or a view of it) that the caller keeps is never overwritten by a
    later call; a result let go is reused (no fresh pages per boosting round)."""
    m = load("poisson-log", grad=True)
    n = 3 * m._BLOCK
    y, zero, one = np.ones(n), np.zeros(n), np.ones(n)
    kept_g, kept_h = m.sklearn_objective(y, zero)
    view = m.sklearn_objective(y, zero)[0][:5]  # only a view of the second result is kept
    later_g, later_h = m.sklearn_objective(y, one)
    np.testing.assert_array_equal(kept_g, np.exp(0.0) - 1.0)
    np.testing.assert_array_equal(kept_h, 1.0)
    np.testing.assert_array_equal(view, 0.0)
    assert not np.shares_memory(later_g, kept_g) and not np.shares_memory(later_g, view)
    address = later_g.__array_interface__["data"][0]
    del later_g, later_h
    again, _ = m.sklearn_objective(y, zero)
    assert again.__array_interface__["data"][0] == address  # the released pair, reused
    np.testing.assert_array_equal(again, 0.0)


def test_shared_exponentials_are_the_sigmoids():
    """σ(x)σ(−x) = e^(−|x|)/(1 + e^(−|x|))² and σ(±x) = e^(min(±x, 0))/(1 + e^(−|x|)), the rewrite
    that lets σ(x) and σ(−x) share one exponential: against scipy's expit at the tails, with
    relative accuracy where the values are tiny."""
    import sympy as sp

    from derive.codegen.objective import share_exponentials
    from derive.functions import sigmoid

    x = sp.Symbol("x", real=True)
    exprs = share_exponentials([sigmoid(x) - 1, sigmoid(x) * sigmoid(-x), sigmoid(-x)])
    assert not any(e.has(sigmoid) for e in exprs)
    assert share_exponentials([sigmoid(x)]) == [sigmoid(x)]  # nothing to share: left alone
    points = np.array([-745.0, -700.0, -40.0, -1.0, -1e-9, 0.0, 1e-9, 1.0, 40.0, 700.0, 745.0])
    f = sp.lambdify(x, exprs, modules="numpy")
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # e^(−745): subnormal
        got = [np.asarray(v, dtype=float) for v in f(points)]
    s, t = expit(points), expit(-points)
    np.testing.assert_allclose(got[0], s - 1, rtol=4e-16, atol=2.3e-16)
    # at ±745 scipy underflows to 0; the shared form keeps e^(−745) = 4.9e-324 (subnormal)
    np.testing.assert_allclose(got[1], s * t, rtol=8e-16, atol=1e-323)
    np.testing.assert_allclose(got[2], t, rtol=4e-16, atol=1e-323)
