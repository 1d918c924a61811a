"""The torch backend's nn.Module loss classes follow torch's conventions: argument order
(input..., target), class-index targets, weight / pos_weight / ignore_index / label_smoothing, shape
checks and the clamp of the variance.  Oracle: torch.nn.functional, values and autograd gradients,
in float32 and float64."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from derive.codegen import load  # noqa: E402

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(rtol=2e-5, atol=2e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}
REDUCTIONS = ["none", "mean", "sum"]


def module(name):
    return load(name, "torch")


def close(a, b, dtype):
    torch.testing.assert_close(a, b, **TOL[dtype])


def both(ours, theirs, inputs, dtype):
    """Values, and the gradients of their sum with respect to ``inputs``, agree."""
    a, b = ours(), theirs()
    close(a, b, dtype)
    ga = torch.autograd.grad(a.sum(), inputs)
    gb = torch.autograd.grad(b.sum(), inputs)
    for x, y in zip(ga, gb, strict=True):
        close(x, y, dtype)


def logits(n, k, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (3 * torch.randn(n, k, generator=g, dtype=dtype)).requires_grad_()


def indices(n, k, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, k, (n,), generator=g)


# ---------------------------------------------------------------------------- categorical


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"weight": True},
        {"ignore_index": 2},
        {"label_smoothing": 0.1},
        {"weight": True, "ignore_index": 0, "label_smoothing": 0.2},
    ],
    ids=lambda o: "-".join(o) or "plain",
)
def test_cross_entropy_class_indices(dtype, reduction, options):
    m = module("categorical-logit")
    z, y = logits(12, 4, dtype), indices(12, 4)
    kw = dict(options)
    if kw.pop("weight", False):
        kw["weight"] = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=dtype)
    ours = m.CategoricalLogitLoss(reduction=reduction, **kw)
    both(
        lambda: ours(z, y),
        lambda: F.cross_entropy(z, y, reduction=reduction, **kw),
        (z,),
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probabilities(dtype, reduction, smoothing, weighted):
    m = module("categorical-logit")
    z = logits(9, 3, dtype)
    g = torch.Generator().manual_seed(3)
    y = torch.softmax(torch.randn(9, 3, generator=g, dtype=dtype), -1)
    weight = torch.tensor([0.3, 1.0, 2.5], dtype=dtype) if weighted else None
    ours = m.CategoricalLogitLoss(weight=weight, reduction=reduction, label_smoothing=smoothing)
    both(
        lambda: ours(z, y),
        lambda: F.cross_entropy(
            z, y, weight=weight, reduction=reduction, label_smoothing=smoothing
        ),
        (z,),
        dtype,
    )


def test_cross_entropy_one_hot_equals_indices():
    m = module("categorical-logit")
    z, y = logits(8, 5, torch.float64), indices(8, 5)
    loss = m.CategoricalLogitLoss()
    close(loss(z, F.one_hot(y, 5).double()), loss(z, y), torch.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_on_probabilities(dtype, reduction, weighted):
    """`categorical` takes probabilities p; torch's nll_loss takes log p."""
    m = module("categorical")
    g = torch.Generator().manual_seed(4)
    p = torch.softmax(torch.randn(10, 4, generator=g, dtype=dtype), -1).requires_grad_()
    y = indices(10, 4)
    weight = torch.tensor([1.0, 0.2, 3.0, 0.7], dtype=dtype) if weighted else None
    ours = m.CategoricalLoss(weight=weight, reduction=reduction, ignore_index=1)
    both(
        lambda: ours(p, y),
        lambda: F.nll_loss(torch.log(p), y, weight=weight, reduction=reduction, ignore_index=1),
        (p,),
        dtype,
    )


def test_the_torch_habits_that_went_wrong():
    """Logits first, indices of shape (N, 1) or (N,): right, or one clear error."""
    m = module("categorical-logit")
    z = torch.tensor([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], dtype=torch.float64)
    y = torch.tensor([2, 0])
    loss = m.CategoricalLogitLoss()
    close(loss(z, y), F.cross_entropy(z, y), torch.float64)
    with pytest.raises(ValueError, match=r"squeeze\(-1\)"):
        loss(z, y[:, None])
    with pytest.raises(ValueError, match="no implicit broadcasting"):
        loss(z, F.one_hot(y, 3).double()[:1])
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        loss(z, torch.tensor([3, 0]))
    with pytest.raises(ValueError, match="class weight"):
        m.CategoricalLogitLoss(weight=torch.ones(2))(z, y)
    with pytest.raises(ValueError, match="label_smoothing"):
        m.CategoricalLogitLoss(label_smoothing=1.5)


# ---------------------------------------------------------------------------- binary


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits(dtype, reduction, weight, pos_weight):
    m = module("bernoulli-logit")
    g = torch.Generator().manual_seed(5)
    z = (4 * torch.randn(6, 3, generator=g, dtype=dtype)).requires_grad_()
    y = torch.randint(0, 2, (6, 3), generator=g).to(dtype)
    kw = {}
    if weight:
        kw["weight"] = torch.rand(6, 3, generator=g, dtype=dtype)
    if pos_weight:
        kw["pos_weight"] = torch.tensor([0.5, 2.0, 4.0], dtype=dtype)
    ours = m.BernoulliLogitLoss(reduction=reduction, **kw)
    both(
        lambda: ours(z, y),
        lambda: F.binary_cross_entropy_with_logits(z, y, reduction=reduction, **kw),
        (z,),
        dtype,
    )


def test_bce_with_logits_shape_mismatch_raises():
    m = module("bernoulli-logit")
    with pytest.raises(ValueError, match="no implicit broadcasting"):
        m.BernoulliLogitLoss()(torch.zeros(4), torch.zeros(4, 1))


# ---------------------------------------------------------------------------- Gaussian, Poisson


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss(dtype, reduction):
    """σ learned; torch takes var = σ².  σ = 0 and σ below 1e-3 hit torch's clamp var ≥ 1e-6:
    values and gradients (straight through the clamp) agree there too."""
    m = module("gaussian-hetero")
    g = torch.Generator().manual_seed(6)
    mu = torch.randn(8, generator=g, dtype=dtype).requires_grad_()
    sigma = torch.tensor([0.0, 1e-4, 5e-4, 0.01, 0.3, 1.0, 2.0, 7.0], dtype=dtype)
    sigma.requires_grad_()
    y = torch.randn(8, generator=g, dtype=dtype)
    ours = m.GaussianHeteroLoss(reduction=reduction)
    both(
        lambda: ours(mu, sigma, y),
        lambda: F.gaussian_nll_loss(mu, y, sigma**2, reduction=reduction),
        (mu, sigma),
        dtype,
    )
    assert torch.isfinite(ours(mu, sigma, y)).all()


def test_gaussian_eps_is_torchs():
    m = module("gaussian-hetero")
    mu, y = torch.zeros(1, dtype=torch.float64), torch.full((1,), 0.5, dtype=torch.float64)
    sigma = torch.zeros(1, dtype=torch.float64)
    for eps in (1e-6, 1e-2):
        close(
            m.GaussianHeteroLoss(eps=eps)(mu, sigma, y),
            F.gaussian_nll_loss(mu, y, sigma**2, eps=eps),
            torch.float64,
        )


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll_loss_log_input(dtype, reduction):
    m = module("poisson-log")
    g = torch.Generator().manual_seed(7)
    eta = (2 * torch.randn(10, generator=g, dtype=dtype)).requires_grad_()
    y = torch.poisson(torch.full((10,), 3.0, dtype=dtype), generator=g)
    weight = torch.rand(10, generator=g, dtype=dtype)
    both(
        lambda: m.PoissonLogLoss(weight=weight, reduction=reduction)(eta, y),
        lambda: (
            weight * F.poisson_nll_loss(eta, y, log_input=True, reduction="none")
            if reduction == "none"
            else getattr(torch, reduction)(weight * F.poisson_nll_loss(eta, y, reduction="none"))
        ),
        (eta,),
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_poisson_nll_loss_rate(dtype):
    """`poisson` takes the rate λ; torch's log_input=False adds eps = 1e-8 inside the log, which
    is below float32's resolution for λ ≥ 0.05 (ours clamps nothing: λ = 0 with y > 0 is +inf)."""
    m = module("poisson")
    g = torch.Generator().manual_seed(8)
    lam = (0.05 + 5 * torch.rand(10, generator=g, dtype=dtype)).requires_grad_()
    y = torch.poisson(torch.full((10,), 2.0, dtype=dtype), generator=g)
    a, b = (
        m.PoissonLoss(reduction="none")(lam, y),
        F.poisson_nll_loss(lam, y, False, reduction="none"),
    )
    torch.testing.assert_close(a, b, rtol=2e-6 if dtype == torch.float32 else 1e-7, atol=1e-7)
    ga, gb = (torch.autograd.grad(v.sum(), lam)[0] for v in (a, b))
    torch.testing.assert_close(ga, gb, rtol=2e-6 if dtype == torch.float32 else 1e-7, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_with_fixed_sigma(dtype, reduction):
    """`gaussian` (σ fixed): forward(mu, y, sigma); its loss is torch's squared error."""
    m = module("gaussian")
    g = torch.Generator().manual_seed(9)
    mu = torch.randn(5, generator=g, dtype=dtype).requires_grad_()
    y = torch.randn(5, generator=g, dtype=dtype)
    sigma = torch.tensor(0.7, dtype=dtype)
    both(
        lambda: m.GaussianLoss(reduction=reduction)(mu, y, sigma),
        lambda: F.mse_loss(mu, y, reduction=reduction),
        (mu,),
        dtype,
    )


# ---------------------------------------------------------------------------- every entry


def _entries():
    from derive.catalog import CATALOG

    return list(CATALOG)


@pytest.mark.parametrize("name", _entries())
def test_every_entry_has_a_loss_module_in_torch_order(name):
    """forward(learned..., target, fixed...) with reduction "none" is `loss` of the same values
    (drawn from the declared constraints, away from any clamp)."""
    import numpy as np

    from derive.catalog import get
    from derive.codegen.emit import class_name

    dist = get(name)
    m = module(name)
    rng = np.random.default_rng(0)
    draws = [dist.draw(rng) for _ in range(4)]
    values = {k: torch.tensor(np.array([d[k] for d in draws])) for k in draws[0]}
    learned = [values[v.name] for v in dist.learned]
    fixed = [values[v.name] for v in dist.fixed]
    y = values[dist.observed.name]
    ours = getattr(m, class_name(name))(reduction="none")(*learned, y, *fixed)
    close(ours, m.loss(y, *learned, *fixed, reduction="none"), torch.float64)
