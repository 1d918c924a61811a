"""The emitted modules, for every catalog entry, against independent oracles: mpmath evaluation of
the derived formulas, scipy.stats, torch.nn.functional, central finite differences.  Adding an
entry to the catalog puts it under every test here; an entry the code generator cannot emit fails
with the name of what is missing."""

from __future__ import annotations

import tracemalloc
from functools import cache

import numpy as np
import oracles
import pytest
import sympy as sp
from conftest import NAMES, derivation
from oracles import SCIPY, torch_losses
from sympy.core.function import AppliedUndef

from derive.codegen import BACKENDS, Unsupported, module_source
from derive.codegen.backends import NUMPY, Printer
from derive.codegen.emit import _load, arguments, python_name
from derive.numeric import evaluate
from derive.report import latex_of

N = 6  # random examples per test
CLASSES = 3


@cache
def module(name, backend="numpy"):
    """The emitted module (with --grad), from the tests' shared derivation."""
    return _load(module_source(derivation(name), backend, grad=True), name, backend)


def batch(d, rng, n=N, classes=CLASSES, dtype=np.float64):
    """(arguments, {argument: array of n examples}) drawn from the declared constraints."""
    args = arguments(d)
    values = {}
    for a in args:
        shape = (n, classes) if a.vector else (n,)
        values[a] = a.var.domain.sample(rng, shape).astype(dtype)
    return args, values


def point(args, values, i, key="symbol"):
    return {getattr(a, key) if key == "symbol" else a.var.name: values[a][i] for a in args}


def undefined(expr):
    return bool(sp.sympify(expr).atoms(AppliedUndef))


def call(m, function, args, values, **kwargs):
    return getattr(m, function)(*(values[a] for a in args), **kwargs)


# ---------------------------------------------------------------------------- formulas


@pytest.mark.parametrize("function", ["loss", "nll"])
def test_numpy_matches_the_derived_formula_in_mpmath(name, function, rng):
    d, m = derivation(name), module(name)
    args, values = batch(d, rng)
    expr = getattr(d, function)
    if undefined(expr):  # e.g. Tweedie's normaliser: an explicit error, never a wrong number
        with pytest.raises(NotImplementedError, match="no closed form"):
            call(m, function, args, values, reduction="none")
        return
    got = call(m, function, args, values, reduction="none")
    assert got.shape == (N,) and got.dtype == np.float64
    for i in range(N):
        expected = float(evaluate(expr, point(args, values, i), dps=40))
        assert got[i] == pytest.approx(expected, rel=1e-11, abs=1e-11), point(args, values, i)


def unavailable(d, check):
    """The reason a catalog entry states for a check it cannot have (spec.Distribution)."""
    return getattr(d.dist, "unavailable", {}).get(check)


def test_nll_matches_scipy(name, rng):
    d, m = derivation(name), module(name)
    if unavailable(d, "scipy"):
        pytest.skip(f"{name}: {unavailable(d, 'scipy')}")
    if name not in SCIPY:
        pytest.fail(f"tests/oracles.py SCIPY has no logpdf oracle for {name!r}")
    args, values = batch(d, rng)
    got = call(m, "nll", args, values, reduction="none")
    for i in range(N):
        expected = -float(SCIPY[name](point(args, values, i, key="name")))
        assert got[i] == pytest.approx(expected, rel=1e-10, abs=1e-10)


ROLES = ("observed", "learned", "fixed")


def test_module_contract(name):
    d, m = derivation(name), module(name)
    args = arguments(d)
    names = {role: tuple(a.name for a in args if a.role == role) for role in ROLES}
    assert tuple(names[role] for role in ROLES) == (m.OBSERVED, m.PARAMS, m.FIXED)
    assert (d.standard.id if d.standard else None,) == (m.STANDARD,)
    assert all(n.isidentifier() for n in m.OBSERVED + m.PARAMS + m.FIXED)
    latex = latex_of(d)  # the derivation's LaTeX, as `show --json` gives it
    assert latex["loss"] in m.__doc__ and latex["nll"] in m.__doc__
    # one raw output: a scalar, or one vector of unconstrained class logits (multi:softprob)
    (learned, *more) = d.dist.learned
    single = not more and (not d.dist.vector or (learned.vector and learned.constraint == "real"))
    assert hasattr(m, "xgboost_objective") == single == hasattr(m, "lightgbm_objective")


def test_python_keywords_become_argument_names():
    m = module("poisson")
    assert m.PARAMS == ("lambda_",)
    assert m.loss(y=3.0, lambda_=2.0, reduction="none") == pytest.approx(2 - 3 * np.log(2))
    assert python_name("lambda") == "lambda_" and python_name("np") == "np_"
    assert python_name("σ") == "σ" and python_name("2x") == "arg_2x"
    assert python_name("_K") == "arg_K"


# ---------------------------------------------------------------------------- torch oracles

TORCH = torch_losses() or {}
TORCH_NAMES = [n for n in NAMES if derivation(n).standard and derivation(n).standard.id in TORCH]
LOGITS = {"sigmoid", "softmax"}  # links whose raw output is a logit


def _torch_value(name, args, values, i):
    return float(TORCH[derivation(name).standard.id](point(args, values, i, key="name")))


@pytest.mark.skipif(not TORCH, reason="torch is not installed")
@pytest.mark.parametrize("name", TORCH_NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_matches_torch(name, dtype, rng):
    d, m = derivation(name), module(name)
    args, values = batch(d, rng, dtype=dtype)
    got = call(m, "loss", args, values, reduction="none")
    assert got.dtype == dtype and np.all(np.isfinite(got))
    rel = 1e-11 if dtype == np.float64 else 2e-5
    for i in range(N):
        expected = _torch_value(name, args, {a: v.astype(np.float64) for a, v in values.items()}, i)
        assert got[i] == pytest.approx(expected, rel=rel, abs=rel * 10)


@pytest.mark.skipif(not TORCH, reason="torch is not installed")
@pytest.mark.parametrize("name", TORCH_NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_at_extreme_raw_outputs_matches_torch(name, dtype, rng):
    """Raw outputs at ±1e4: finite wherever torch is (logits always), and equal to it."""
    d, m = derivation(name), module(name)
    raw = [a for a in arguments(d) if a.role == "learned" and a.var.constraint == "real"]
    if not raw:
        pytest.skip(f"{name} has no unbounded raw output")
    logits = {link.raw.name for link in d.dist.links if link.name in LOGITS}
    for sign in (1.0, -1.0):
        args, values = batch(d, rng, dtype=dtype)
        for a in raw:
            values[a] = (sign * 1e4 * np.sign(values[a] + 0.5)).astype(dtype)
        got = call(m, "loss", args, values, reduction="none")
        grads = m.gradient(*(values[a] for a in args))
        as64 = {a: v.astype(np.float64) for a, v in values.items()}
        for i in range(N):
            expected = _torch_value(name, args, as64, i)
            if np.isfinite(expected):
                assert np.isfinite(got[i])
                assert got[i] == pytest.approx(expected, rel=1e-6, abs=1e-3)
        if any(a.var.name in logits for a in raw):
            assert np.all(np.isfinite(got))
            assert all(np.all(np.isfinite(g)) for g in (grads if len(raw) > 1 else [grads]))


def _exact_references():
    """standard id -> [(label, loss)] of public implementations that return the standard loss
    itself (tests/oracles.py: torch and sklearn)."""
    build = getattr(oracles, "references", None)
    if build is None:
        return {std: [("torch", f)] for std, f in TORCH.items()}
    return {std: [(r.label, r.loss) for r in refs if r.exact] for std, refs in build().items()}


EXACT = _exact_references()
EXACT_NAMES = [n for n in NAMES if derivation(n).standard and EXACT.get(derivation(n).standard.id)]


@pytest.mark.parametrize("name", EXACT_NAMES)
def test_loss_matches_every_exact_public_reference(name, rng):
    """torch.nn.functional, sklearn.metrics and sklearn._loss, where they have the loss."""
    d, m = derivation(name), module(name)
    args, values = batch(d, rng)
    got = call(m, "loss", args, values, reduction="none")
    for label, reference in EXACT[d.standard.id]:
        for i in range(N):
            expected = float(np.squeeze(reference(point(args, values, i, key="name"))))
            assert got[i] == pytest.approx(expected, rel=1e-10, abs=1e-10), label


# ---------------------------------------------------------------------------- derivatives


def _learned(m, args, values):
    learned = [a for a in args if a.role == "learned"]
    g, h = m.gradient(*(values[a] for a in args)), m.hessian(*(values[a] for a in args))
    return learned, (g,) if len(learned) == 1 else g, (h,) if len(learned) == 1 else h


def test_gradient_and_hessian_match_central_differences(name, rng):
    d, m = derivation(name), module(name)
    args, values = batch(d, rng)
    learned, grads, hessians = _learned(m, args, values)
    for index, (a, g, h) in enumerate(zip(learned, grads, hessians, strict=True)):
        assert g.shape == h.shape == values[a].shape
        for c in range(CLASSES) if a.vector else [slice(None)]:
            x = values[a]
            step = 1e-5 * (1 + np.abs(x[..., c]))
            shifted = []
            for sign in (1, -1):
                moved = x.copy()
                moved[..., c] = x[..., c] + sign * step
                shifted.append({**values, a: moved})
            f = [call(m, "loss", args, s, reduction="none") for s in shifted]
            scale = 1 + float(np.max(np.abs(call(m, "loss", args, values, reduction="none"))))
            fd = (f[0] - f[1]) / (2 * step)
            np.testing.assert_allclose(g[..., c], fd, rtol=1e-6, atol=1e-6 * scale)
            gs = [_learned(m, args, s)[1][index][..., c] for s in shifted]
            fd2 = (gs[0] - gs[1]) / (2 * step)
            np.testing.assert_allclose(h[..., c], fd2, rtol=1e-5, atol=1e-5 * scale)


# ---------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_mean_and_sum_equal_the_plain_reductions(name, dtype, rng):
    """More examples than one block, over two axes, with fixed arguments broadcast from scalars."""
    d, m = derivation(name), module(name)
    rows = m._BLOCK // 3 + 1001  # 3 rows: more examples than one block (_BLOCK)
    args, values = batch(d, rng, n=3 * rows, dtype=dtype)
    for a in args:
        if a.role == "fixed":
            values[a] = values[a][0]
        elif a.vector:
            values[a] = values[a].reshape(3, rows, CLASSES)
        else:
            values[a] = values[a].reshape(3, rows)
    none = call(m, "loss", args, values, reduction="none").astype(np.float64)
    assert none.shape == (3, rows)
    for reduction, combine in (("mean", np.mean), ("sum", np.sum)):
        got = call(m, "loss", args, values, reduction=reduction)
        assert got.dtype == dtype
        rel = 1e-12 if dtype == np.float64 else 1e-6
        assert float(got) == pytest.approx(float(combine(none)), rel=rel)


def test_none_keeps_the_broadcast_shape(name, rng):
    """Every argument a scalar but the last, which has 4 entries: "none" gives 4 values, also for
    formulas that do not involve the last argument."""
    d, m = derivation(name), module(name)
    args, values = batch(d, rng, n=4)
    last = args[-1]
    single = {a: (values[a][0] if a is not last else values[a]) for a in args}
    for function in ("loss", "nll"):
        if undefined(getattr(d, function)):
            continue
        out = call(m, function, args, single, reduction="none")
        assert np.shape(out) == (4,)
        assert float(call(m, function, args, single, reduction="sum")) == pytest.approx(
            float(np.sum(out))
        )
    with pytest.raises(ValueError, match="reduction"):
        call(m, "loss", args, single, reduction="average")


BENCHMARKED = ["gaussian", "bernoulli-logit", "poisson-log", "gaussian-hetero", "categorical-logit"]


@pytest.mark.parametrize("name", BENCHMARKED)
def test_reduction_memory_is_o_block(name, rng):
    """1M examples (8 MB per argument): the mean allocates well under 4 MiB on top of them."""
    d, m = derivation(name), module(name)
    args, values = batch(d, rng, n=1_000_000 // (CLASSES if d.dist.vector else 1))
    call(m, "loss", args, values)  # warm up
    tracemalloc.start()
    try:
        call(m, "loss", args, values)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"{peak / 2**20:.1f} MiB"


def test_dask_arrays_pass_through_numpy_dispatch(name, rng):
    da = pytest.importorskip("dask.array")
    d, m = derivation(name), module(name)
    args, values = batch(d, rng, n=40)
    lazy = {a: da.from_array(v, chunks=(10, *v.shape[1:])) for a, v in values.items()}
    out = call(m, "loss", args, lazy, reduction="none")
    assert isinstance(out, da.Array)  # nothing computed yet
    expected = call(m, "loss", args, values, reduction="none")
    np.testing.assert_allclose(out.compute(), expected, rtol=1e-13)
    mean = call(m, "loss", args, lazy, reduction="mean")
    assert isinstance(mean, da.Array)
    assert float(mean.compute()) == pytest.approx(float(np.mean(expected)), rel=1e-12)


# ---------------------------------------------------------------------------- backends


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numba"])
def test_every_entry_is_mapped_by_every_backend(name, backend):
    """Every function the catalog's formulas use has an entry in every backend's table (numba's
    table is numpy's: its modules, with --grad, are emitted and loaded for every entry in
    test_numba_backend.py)."""
    source = module_source(derivation(name), backend, grad=True)
    compile(source, f"<{name} {backend}>", "exec")


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_every_code_function_and_primitive_is_mapped(backend):
    """The functions the rewrite pass introduces and derive's primitives (derive.functions)."""
    from derive.codegen.rewrite import CODE_FUNCTIONS
    from derive.functions import PRIMITIVES

    printer = Printer(BACKENDS[backend], {})
    special = {"logsumexp"}  # printed by the printer itself, as a class-axis reduction
    missing = [
        f.__name__
        for f in (*CODE_FUNCTIONS, *PRIMITIVES)
        if f.__name__ not in special and printer._entry(f) is None
    ]
    assert not missing, f"{backend} has no mapping for {missing}"


def test_an_unmapped_function_is_an_error_naming_it():
    x = sp.Symbol("x")
    with pytest.raises(Unsupported, match="no numpy mapping for besselk"):
        Printer(NUMPY, {x: "x"}).doprint(sp.besselk(0, x))
    with pytest.raises(Unsupported, match="Piecewise branch exp"):
        Printer(NUMPY, {x: "x"}).doprint(sp.Piecewise((sp.exp(x), x < 0), (x, True)))
    extended = NUMPY.extend({sp.besselk: "special.kv({0}, {1})"})
    assert Printer(extended, {x: "x"}).doprint(sp.besselk(0, x)) == "special.kv(0, x)"
    assert sp.besselk not in NUMPY.table  # extending makes a copy


def _template(name):
    from derive.latex import template_dir

    return (template_dir() / name).read_text()


def test_the_shared_module_template_names_no_backend():
    """Each backend's differences live in its own template (module_numpy.py.j2, ...), which
    extends module.py.j2: the shared part neither branches on the backend nor spells an array
    library."""
    import re

    shared = _template("module.py.j2").split("-#}", 1)[1]  # after the header comment
    assert "backend" not in shared
    for prefix in ("np.", "torch.", "jnp.", "jsp.", "special."):
        assert not re.search(rf"(?<![\w.]){re.escape(prefix)}", shared), prefix
    for backend in BACKENDS.values():
        chain = _chain(backend.template)
        assert chain[-1] == "module.py.j2" and len(chain) == len(set(chain)), chain


def _chain(name):
    """The backend's template and those it extends, in turn, down to module.py.j2."""
    import re

    chain = [name]
    while found := re.findall(r'{% extends "([\w.]+)" %}', _template(chain[-1])):
        (parent,) = found
        chain.append(parent)
    return chain


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_every_helper_a_backend_calls_is_defined_by_its_templates(backend):
    """The helpers are read off the backend's table (one list, not a second copy of it), and
    every one of them is defined by the shared template or the backend's own."""
    b = BACKENDS[backend]
    text = "".join(map(_template, _chain(b.template)))
    assert "_softplus" in b.helpers and "_lgamma_ratio" in b.helpers
    missing = [h for h in b.helpers if f"\ndef {h}(" not in text]
    assert not missing, f"{backend} calls {missing}, which no template defines"


#: Backend functions less accurate than scipy's: (text in the emitted source, relative accuracy).
LESS_ACCURATE = (("torch.polygamma(", 1e-8),)  # torch's trigamma: ~1e-9 relative (scipy: 1e-15)


def _compare_backend(name, backend, to_numpy, autodiff, rng):
    """The backend's loss, nll, gradient and hessian equal numpy's, and its autodiff of the
    summed loss equals the symbolic gradient (an oracle independent of SymPy's derivative)."""
    d, m, ref = derivation(name), module(name, backend), module(name)
    rtol = max([1e-10, *(r for text, r in LESS_ACCURATE if text in m.__source__)])
    args, values = batch(d, rng)
    for function in ("loss", "nll"):
        if undefined(getattr(d, function)):
            continue
        expected = call(ref, function, args, values, reduction="none")
        got = to_numpy(call(m, function, args, values, reduction="none"))
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-11)
        mean = to_numpy(call(m, function, args, values, reduction="mean"))
        assert float(mean) == pytest.approx(float(np.mean(expected)), rel=1e-11, abs=1e-12)
    learned = [i for i, a in enumerate(args) if a.role == "learned"]
    automatic = autodiff(m.loss, [values[a] for a in args], learned)
    for function in ("gradient", "hessian"):
        expected = getattr(ref, function)(*(values[a] for a in args))
        got = getattr(m, function)(*(values[a] for a in args))
        if not isinstance(expected, tuple):
            expected, got = (expected,), (got,)
        for e, g in zip(expected, got, strict=True):
            np.testing.assert_allclose(to_numpy(g), e, rtol=rtol, atol=rtol)
        if function == "gradient":
            for e, g in zip(expected, automatic, strict=True):
                np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-9)


def _torch_autodiff(loss, values, learned):
    import torch

    tensors = [torch.tensor(v, requires_grad=i in learned) for i, v in enumerate(values)]
    grads = torch.autograd.grad(loss(*tensors, reduction="sum"), [tensors[i] for i in learned])
    return [g.numpy() for g in grads]


def _jax_autodiff(loss, values, learned):
    import jax

    def total(*args):
        return loss(*args, reduction="sum")

    grads = jax.jit(jax.grad(total, argnums=tuple(learned)))(*values)
    return [np.asarray(g) for g in grads]


def test_torch_backend_matches_numpy(name, rng):
    torch = pytest.importorskip("torch")
    to_numpy = lambda t: t.numpy() if torch.is_tensor(t) else t  # noqa: E731
    _compare_backend(name, "torch", to_numpy, _torch_autodiff, rng)


def test_jax_backend_matches_numpy(name, rng):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    _compare_backend(name, "jax", np.asarray, _jax_autodiff, rng)


@pytest.mark.parametrize("name", BENCHMARKED)
def test_torch_code_is_one_graph_for_torch_compile(name, rng):
    """torch.compile fuses what dynamo captures in one graph: no graph breaks, no fallbacks."""
    torch = pytest.importorskip("torch")
    d, m = derivation(name), module(name, "torch")
    args, values = batch(d, rng, n=64)
    tensors = [torch.from_numpy(values[a]) for a in args]
    explanation = torch._dynamo.explain(m.loss)(*tensors)
    assert explanation.graph_count == 1 and explanation.graph_break_count == 0
