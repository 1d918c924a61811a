"""Every catalog entry, against independent oracles: normalisation, scipy, the split invariant,
recognition.  Adding an entry to the catalog puts it under every test here."""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import derivation, draw
from oracles import EXPECTED_STANDARD, SCIPY, torch_losses

from derive.functions import elementary
from derive.numeric import evaluate
from derive.spec import CLASS_INDEX, N_CLASSES
from derive.standard import identically_zero

N_POINTS = 6


def _mp(bound):
    return {sp.oo: mpmath.inf, -sp.oo: -mpmath.inf}.get(bound) or mpmath.mpf(float(bound))


def _integrate(d, params, classes=3):
    """∫ p(y|θ) dy over the support (sum for discrete), by mpmath at 30 digits."""
    dist = d.dist
    y = dist.sym(dist.observed)
    density = elementary(d.density)
    declared = {dist.sym(v): v for v in (*dist.params, *dist.fixed)}
    if dist.observed.vector:  # sum over the one-hot (or simplex vertex) outcomes
        density = density.subs(N_CLASSES, classes).doit()
        total = mpmath.mpf(0)
        for j in range(classes):
            onehot = {y[c + 1]: int(c == j) for c in range(classes)}
            values = {**onehot}
            for s, v in params.items():
                values.update({s[c + 1]: v[c] for c in range(classes)})
            total += mpmath.mpf(str(sp.N(density.xreplace(values), 30)))
        return total
    bound = density.xreplace({s: sp.Float(params[s], 30) for s in declared})
    f = sp.lambdify(y, bound, modules="mpmath")
    lo, hi = (_mp(b) for b in dist.support_bounds)
    if dist.discrete:
        return mpmath.nsum(f, [lo, hi])
    return mpmath.quad(f, [lo, params.get(dist.sym(dist.params[0]), 0), hi])


def test_density_normalises(name, rng):
    d = derivation(name)
    dist = d.dist
    with mpmath.workdps(30):
        for _ in range(3):
            params = {}
            for v in (*dist.params, *dist.fixed):
                shape = (3,) if v.vector else ()
                value = v.domain.sample(rng, shape)
                params[dist.sym(v)] = value if v.vector else float(value)
            assert abs(_integrate(d, params) - 1) < 1e-12, params


def test_nll_matches_scipy(name, rng):
    d = derivation(name)
    for _ in range(N_POINTS):
        by_symbol, by_name = draw(d, rng)
        ours = float(evaluate(d.nll, by_symbol))
        expected = -float(SCIPY[name](by_name))
        assert ours == pytest.approx(expected, rel=1e-10, abs=1e-10), by_name


def test_split_invariant_symbolic(name):
    d = derivation(name)
    assert identically_zero(d.nll - (d.scale * d.loss + d.dropped))
    for theta in d.learned:
        assert not d.scale.has(theta)
        assert not d.dropped.has(theta)
    assert d.scale.is_positive


def test_split_invariant_numeric(name, rng):
    d = derivation(name)
    for _ in range(N_POINTS):
        by_symbol, _ = draw(d, rng)
        nll = evaluate(d.nll, by_symbol, dps=40)
        parts = evaluate(d.scale * d.loss + d.dropped, by_symbol, dps=40)
        assert abs(nll - parts) < 1e-30 * (1 + abs(nll))


def test_dropped_terms_do_not_move_the_minimiser(name, rng):
    """The dropped part is the same at two random learned values with the data held fixed."""
    d = derivation(name)
    by_symbol, _ = draw(d, rng)
    other = dict(by_symbol)
    for theta in d.learned:
        var = d.variables[theta]
        other[theta] = var.domain.sample(rng, (3,) if var.vector else ())
    a = evaluate(d.nll - d.scale * d.loss, by_symbol)
    b = evaluate(d.nll - d.scale * d.loss, other)
    assert abs(a - b) < 1e-25


def test_recognised_standard(name):
    d = derivation(name)
    assert d.standard is not None and d.standard.id == EXPECTED_STANDARD[name]


def test_standard_scale_and_sign_match_torch(name, rng):
    torch = torch_losses()
    if torch is None:
        pytest.skip("torch is not installed")
    d = derivation(name)
    for _ in range(N_POINTS):
        by_symbol, by_name = draw(d, rng)
        ours = float(evaluate(d.loss, by_symbol))
        expected = float(torch[d.standard.id](by_name))
        assert ours == pytest.approx(expected, rel=1e-9, abs=1e-9), by_name


def test_steps_are_recorded_in_order(name):
    kinds = [s.kind for s in derivation(name).steps]
    assert kinds[:5] == ["density", "likelihood", "loglik", "nll", "expand"]
    assert kinds[-2:] == ["split", "scale"]


def test_each_step_is_an_identity_with_the_nll(name, rng):
    """Every step from the expansion on has the same value as −log p at random points."""
    d = derivation(name)
    by_symbol, _ = draw(d, rng)
    target = evaluate(d.nll, by_symbol)
    for step in d.steps:
        if step.kind in ("density", "likelihood", "loglik", "nll", "expand"):
            continue  # these are in the declared (not linked) parameters
        # 1e-12: a simplex target drawn in float64 sums to one only to ~1e-16
        assert abs(evaluate(step.rhs, by_symbol) - target) < 1e-12, step.note


def test_vector_sums_stay_symbolic():
    d = derivation("categorical-logit")
    assert d.loss.has(sp.Sum) and d.loss.has(N_CLASSES) and d.loss.has(CLASS_INDEX)


@pytest.mark.parametrize("classes", [2, 5])
def test_categorical_any_number_of_classes(classes, rng):
    d = derivation("categorical-logit")
    for y, z in itertools.islice(
        ((rng.dirichlet(np.ones(classes)), rng.normal(0, 3, classes)) for _ in range(9)), 3
    ):
        ours = float(evaluate(d.nll, {d.observed: y, d.learned[0]: z}))
        expected = float(np.logaddexp.reduce(z) - y @ z)
        assert ours == pytest.approx(expected, rel=1e-12)
