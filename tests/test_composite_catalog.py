"""Every composite in tests/composites.py under the checks every catalog entry takes: the split
nll = a·loss + dropped with the dropped part free of the learned parameters, each recorded step
equal to the NLL, the emitted code equal to the derivation at 40 digits (mpmath), and the code's
gradient equal to torch's autograd of the torch module."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import sympy as sp
from composites import COMPOSITES, NAMES

from derive.codegen import Unsupported
from derive.codegen.emit import arguments, load
from derive.derivation import derive
from derive.functions import ibeta, stdtr
from derive.numeric import evaluate


@cache
def derivation(name):
    return derive(COMPOSITES[name]())


@cache
def module(name, backend="numpy", grad=False):
    return load(derivation(name), backend=backend, grad=grad)


def _points(d, rng, count=4):
    """Values by variable name; a censored composite gets one row of each case."""
    dist = d.dist
    out = [dist.draw(rng) for _ in range(count)]
    if dist.also_observed:
        lower, upper = (v.name for v in dist.observations)
        lo = float(dist.support_bounds[0])
        out[0][upper] = out[0][lower]  # exact
        out[1][upper] = np.inf  # right-censored
        out[2][lower] = lo if np.isfinite(lo) else -np.inf  # left-censored
    return out


def _by_symbol(d, values):
    return {d.dist.symbols[name]: value for name, value in values.items()}


def _infinite(v):
    return np.ndim(v) == 0 and np.isinf(v)


def _mp(expr, d, values):
    """expr at values, at 40 digits; each case selected by its condition before any value is
    substituted in it (an unused case may not be defined there: log 0)."""
    observed = {d.dist.sym(v) for v in d.dist.observations}
    concrete = {
        s: (sp.oo if v > 0 else -sp.oo) if _infinite(v) else sp.Float(v, 40)
        for s, v in values.items()
        if s in observed
    }

    def select(pw):
        for value, cond in pw.args:
            if bool(cond.xreplace(concrete)):
                return value
        raise AssertionError(f"no case of {pw} holds")

    expr = expr.replace(lambda e: isinstance(e, sp.Piecewise), select)
    infinite = {s: v for s, v in concrete.items() if v in (sp.oo, -sp.oo)}
    finite = {s: v for s, v in values.items() if s not in infinite}
    return float(evaluate(expr.xreplace(infinite), finite))


@pytest.mark.parametrize("name", NAMES)
def test_split_identity_and_the_dropped_part(name, rng):
    d = derivation(name)
    assert not d.dropped.has(*d.learned) and not d.scale.has(*d.learned)
    for values in _points(d, rng):
        by_symbol = _by_symbol(d, values)
        nll = _mp(d.nll, d, by_symbol)
        split = _mp(d.scale * d.loss + d.dropped, d, by_symbol)
        assert split == pytest.approx(nll, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_each_step_after_the_link_is_the_nll(name, rng):
    d = derivation(name)
    for values in _points(d, rng):
        by_symbol = _by_symbol(d, values)
        target = _mp(d.nll, d, by_symbol)
        kinds = [step.kind for step in d.steps]
        # from the last link on (before it, steps are in the declared parameters)
        first = len(kinds) - kinds[::-1].index("link") - 1 if "link" in kinds else 4
        for step in d.steps[first:]:
            assert _mp(step.rhs, d, by_symbol) == pytest.approx(target, rel=1e-12), step.note


@pytest.mark.parametrize("name", NAMES)
def test_code_equals_the_derivation(name, rng):
    d = derivation(name)
    m = module(name, grad=True)
    args = arguments(d)
    for values in _points(d, rng):
        want = _mp(d.nll, d, _by_symbol(d, values))
        got = m.nll(*(np.asarray(values[a.var.name]) for a in args), reduction="sum")
        assert float(got) == pytest.approx(want, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_equals_torch_autograd(name, rng):
    torch = pytest.importorskip("torch")
    d = derivation(name)
    # the binomial / negative-binomial CDF, Student's t CDF: torch has no betainc nor stdtr
    if d.nll.has(ibeta, stdtr):
        with pytest.raises(Unsupported, match=r"(ibeta|stdtr) is not supported by the torch"):
            module(name, backend="torch")
        return _gradient_equals_finite_differences(d, module(name, grad=True), _points(d, rng))
    numpy_module, torch_module = module(name, grad=True), module(name, backend="torch")
    args = arguments(d)
    values = _points(d, rng)
    stacked = {}
    for a in args:  # the points as one batch
        column = [v[a.var.name] for v in values]
        stacked[a.var.name] = np.array(column, dtype=float)
    tensors = {
        name: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for name, v in stacked.items()
    }
    learned = [a for a in args if a.role == "learned"]
    total = torch_module.loss(*(tensors[a.var.name] for a in args), reduction="sum")
    grads = torch.autograd.grad(total, [tensors[a.var.name] for a in learned])
    ours = numpy_module.gradient(*(stacked[a.var.name] for a in args))
    ours = ours if isinstance(ours, tuple) else (ours,)
    for a, g, theirs in zip(learned, ours, grads, strict=True):
        np.testing.assert_allclose(g, theirs.numpy(), rtol=1e-9, atol=1e-12, err_msg=a.name)


def _gradient_equals_finite_differences(d, m, values):
    """Where torch cannot be the oracle: central differences of the numpy nll in each learned
    output, the others held."""
    args = arguments(d)
    stacked = {a.var.name: np.array([v[a.var.name] for v in values], dtype=float) for a in args}
    learned = [a for a in args if a.role == "learned"]
    ours = m.gradient(*(stacked[a.var.name] for a in args))
    ours = ours if isinstance(ours, tuple) else (ours,)
    h = 1e-6
    for a, g in zip(learned, ours, strict=True):
        up, down = dict(stacked), dict(stacked)
        up[a.var.name] = stacked[a.var.name] + h
        down[a.var.name] = stacked[a.var.name] - h
        nll = [m.nll(*(x[b.var.name] for b in args), reduction="none") for x in (up, down)]
        np.testing.assert_allclose(g, (nll[0] - nll[1]) / (2 * h), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name, rng):
    """float32 arguments give float32 values and gradients, within float32 rounding of float64."""
    d = derivation(name)
    m = module(name, grad=True)
    args = arguments(d)
    values = _points(d, rng)
    wide = [np.array([v[a.var.name] for v in values], dtype=np.float64) for a in args]
    narrow = [x.astype(np.float32) for x in wide]
    with np.errstate(all="ignore"):  # an unused case's exp may overflow where it is not selected
        want, got = m.nll(*wide, reduction="none"), m.nll(*narrow, reduction="none")
        grads = m.gradient(*narrow)
    assert got.dtype == np.float32
    assert all(g.dtype == np.float32 for g in (grads if isinstance(grads, tuple) else (grads,)))
    finite = np.isfinite(want)
    assert np.array_equal(finite, np.isfinite(got))
    np.testing.assert_allclose(got[finite], want[finite], rtol=2e-5, atol=2e-5)
