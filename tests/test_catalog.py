"""Every catalog entry, against independent oracles: normalisation, scipy, the split invariant,
recognition, the public implementations of its standard loss.  Adding an entry to the catalog puts
it under every test here; an entry states on itself which checks it cannot take, and why."""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import NAMES, derivation, draw, require, tolerance
from oracles import SCIPY, references
from sympy.core.function import AppliedUndef

from derive.catalog import CATALOG
from derive.numeric import bind, compiled, evaluate
from derive.spec import CLASS_INDEX, N_CLASSES
from derive.symbolic import identically_zero

N_POINTS = 6


def _mp(bound):
    infinite = {sp.oo: mpmath.inf, -sp.oo: -mpmath.inf}
    return infinite[bound] if bound in infinite else mpmath.mpf(str(sp.N(bound, 40)))


def _leaves(e):
    """The arguments of nested min/max, flattened: min(k, max(−k, r)) → k, −k, r."""
    if isinstance(e, sp.Min | sp.Max):
        return [leaf for arg in e.args for leaf in _leaves(arg)]
    return [e]


def _kinks(expr, y, lo, hi):
    """Where a non-smooth piece of ``expr`` (|u|, min, max) may switch, inside (lo, hi):
    quadrature splits there, so a kink is an endpoint rather than a point it must resolve."""
    points = set()
    for atom in expr.atoms(sp.Abs, sp.Min, sp.Max):
        if isinstance(atom, sp.Abs):
            pairs = [(atom.args[0], sp.S.Zero)]
        else:
            pairs = itertools.combinations(_leaves(atom), 2)
        for a, b in pairs:
            for root in sp.solve(a - b, y):
                if root.is_real and lo < root < hi:
                    points.add(_mp(root))
    return sorted(points)


def _function(expr, y):
    """``expr`` as an mpmath function of ``y`` (derive's evaluator, itself checked against evalf
    in test_numeric.py: past 1e1000 an exponential is its limit, where lambdify would spend hours
    on e^(−e^(1e300)) at a Gumbel's far tail)."""
    f = compiled(expr)
    return lambda value: f({y: value})


def _quad(expr, y, lo, hi, points):
    """∫ expr dy over [lo, hi] by tanh-sinh at the working precision.  Within δ of a finite end
    the variable is y = end ± e^u, u ∈ [−400, log δ], substituted symbolically (so 1 − y is e^u
    exactly): an integrable singularity |y − end|^(s−1) (gamma and Weibull shapes, beta
    concentrations below 1) becomes e^(su), smooth; the mass left below e^(−400) is under
    e^(−80) for s ≥ 0.2, the least any constraint draws."""
    u = sp.Dummy("u", real=True)
    width = hi - lo
    delta = min(1, width / 4) if width.is_finite else sp.S.One
    total, a, b = mpmath.mpf(0), lo, hi
    for end, sign in ((lo, 1), (hi, -1)):
        if end.is_finite:
            near = _function(expr.subs(y, end + sign * sp.exp(u)) * sp.exp(u), u)
            total += mpmath.quad(near, [-400, _mp(sp.log(delta))])
    a = lo + delta if lo.is_finite else lo
    b = hi - delta if hi.is_finite else hi
    inner = sorted(p for p in points if _mp(a) < p < _mp(b))
    return total + mpmath.quad(_function(expr, y), [_mp(a), *inner, _mp(b)])


def _integrate(d, params, classes=3):
    """∫ p(y|θ) dy over the support (a sum for discrete y), by mpmath at 30 digits.

    Targets on a relaxed simplex sum over the K one-hot vertices; a probability-vector target
    integrates over the open simplex with K = 2 (one dimension: exact at 30 digits)."""
    dist = d.dist
    y = dist.sym(dist.observed)
    domain = dist.observed.domain
    vertices = dist.observed.vector and (domain.discrete or domain.relaxed)
    if dist.observed.vector and not vertices:
        classes = 2
        params = {s: v[:classes] if isinstance(s, sp.IndexedBase) else v for s, v in params.items()}
    bound = bind(d.density, params, dps=30)
    if vertices:
        bound = bound.subs(N_CLASSES, classes).doit()
        outcomes = [{y[c + 1]: int(c == j) for c in range(classes)} for j in range(classes)]
        return sum(mpmath.mpf(str(sp.N(bound.xreplace(o), 30))) for o in outcomes)
    if dist.observed.vector:  # the open simplex, K = 2: y₂ = 1 − y₁
        t = sp.Dummy("t", positive=True)
        on_simplex = bound.subs(N_CLASSES, classes).doit().xreplace({y[1]: t, y[2]: 1 - t})
        return _quad(on_simplex, t, sp.S.Zero, sp.S.One, [])
    scalars = {s: v for s, v in params.items() if isinstance(s, sp.Symbol)}
    if any(sp.sympify(b).has(N_CLASSES) for b in dist.support_bounds):
        # classes 0..K (ordinal): each class's probability, the cutpoints bound per class
        lo, hi = (int(sp.sympify(b).subs(N_CLASSES, classes)) for b in dist.support_bounds)
        return sum(
            mpmath.mpf(str(evaluate(d.density, {**params, y: v}, 30))) for v in range(lo, hi + 1)
        )
    lo, hi = (sp.sympify(b).subs(scalars) for b in dist.support_bounds)
    if dist.discrete:
        return mpmath.nsum(_function(bound, y), [_mp(lo), _mp(hi)])
    points = _kinks(bound, y, lo, hi)
    first = dist.sym(dist.params[0])
    if first in scalars and lo < scalars[first] < hi:
        points.append(mpmath.mpf(scalars[first]))
    return _quad(bound, y, lo, hi, points)


def test_density_normalises(name, rng):
    d = derivation(name)
    require(d, "normalisation")
    dist = d.dist
    with mpmath.workdps(30):
        for _ in range(3):
            params = {}
            for v in (*dist.params, *dist.fixed):
                params[dist.sym(v)] = v.draw(rng)
            total = _integrate(d, params)
            assert abs(total - 1) < tolerance(d, "normalisation", 1e-12), params


def _unknowns(expr, rng):
    """Unknown functions (the Tweedie c(y, φ)) replaced by random positive numbers: identities
    such as nll = a·loss + dropped hold whatever their value."""
    return {f: sp.Float(rng.uniform(0.5, 2.0)) for f in expr.atoms(AppliedUndef)}


def _value(expr, by_symbol, unknowns, dps=40):
    return evaluate(expr.xreplace(unknowns), by_symbol, dps)


def test_nll_matches_scipy(name, rng):
    d = derivation(name)
    require(d, "scipy")
    for _ in range(N_POINTS):
        by_symbol, by_name = draw(d, rng)
        ours = float(evaluate(d.nll, by_symbol))
        expected = -float(SCIPY[name](by_name))
        assert ours == pytest.approx(expected, rel=1e-10, abs=1e-10), by_name


def test_every_entry_has_a_scipy_oracle_or_states_why_not():
    stated = {n for n, dist in CATALOG.items() if "scipy" in dist.unavailable}
    assert set(SCIPY) == set(NAMES) - stated


def test_an_unavailable_nll_is_one_with_an_unknown_function(name):
    """An entry may declare its full NLL unavailable only when it really holds an unknown."""
    d = derivation(name)
    opaque = bool(d.nll.atoms(AppliedUndef))
    assert opaque == ("nll" in d.dist.unavailable)
    assert not d.loss.atoms(AppliedUndef)  # the loss is always available


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
        unknowns = _unknowns(d.nll, rng)
        nll = _value(d.nll, by_symbol, unknowns)
        parts = _value(d.scale * d.loss + d.dropped, by_symbol, unknowns)
        assert abs(nll - parts) < 1e-30 * (1 + abs(nll))


def test_dropped_terms_do_not_move_the_minimiser(name, rng):
    """The dropped part is the same at two random learned values with the data held fixed."""
    d = derivation(name)
    by_symbol, _ = draw(d, rng)
    other = dict(by_symbol)
    for theta in d.learned:
        var = d.variables[theta]
        other[theta] = var.draw(rng)
    unknowns = _unknowns(d.nll, rng)
    a = _value(d.nll - d.scale * d.loss, by_symbol, unknowns)
    b = _value(d.nll - d.scale * d.loss, other, unknowns)
    assert abs(a - b) < 1e-25 * (1 + abs(a))


def test_recognised_standard(name):
    d = derivation(name)
    # the declared standard (None: no registered standard loss is expected to match)
    assert (d.standard.id if d.standard else None) == d.dist.standard


REFERENCES = references()
PARITY = [
    (n, ref) for n in NAMES for ref in REFERENCES.get(CATALOG[n].standard, ())
]  # fmt: skip


@pytest.mark.parametrize(
    "name, ref", PARITY, ids=[f"{n}-{ref.label.replace(' ', '_')}" for n, ref in PARITY]
)
def test_standard_loss_matches_its_public_implementation(name, ref, rng):
    """The standard loss has the public implementation's scale and sign: the same value, or (for
    a library −log-likelihood) the same differences between two values of the learned outputs."""
    d = derivation(name)
    for _ in range(N_POINTS):
        by_symbol, by_name = draw(d, rng)
        ours = float(evaluate(d.loss, by_symbol))
        expected = float(ref.loss(by_name))
        if not ref.exact:
            other_symbol, other_name = dict(by_symbol), dict(by_name)
            for theta in d.learned:
                var = d.variables[theta]
                other_symbol[theta] = other_name[var.name] = var.draw(rng)
            ours -= float(evaluate(d.loss, other_symbol))
            expected -= float(ref.loss(other_name))
        assert ours == pytest.approx(expected, rel=1e-9, abs=1e-9), by_name


def test_every_standard_with_a_public_implementation_is_checked_against_it():
    """Each standard whose reference text names torch or sklearn has an oracle in REFERENCES."""
    named = {
        d.standard.id
        for d in map(derivation, NAMES)
        if any(lib in d.standard.reference for lib in ("torch", "sklearn"))
    }
    assert named <= set(REFERENCES), sorted(named - set(REFERENCES))


def test_steps_are_recorded_in_order(name):
    kinds = [s.kind for s in derivation(name).steps]
    assert kinds[:5] == ["density", "likelihood", "loglik", "nll", "expand"]
    assert kinds[-2:] == ["split", "scale"]


def test_each_step_is_an_identity_with_the_nll(name, rng):
    """Every step from the expansion on has the same value as −log p at random points."""
    d = derivation(name)
    by_symbol, _ = draw(d, rng)
    unknowns = _unknowns(d.nll, rng)
    target = _value(d.nll, by_symbol, unknowns)
    for step in d.steps:
        if step.kind in ("density", "likelihood", "loglik", "nll", "expand"):
            continue  # these are in the declared (not linked) parameters
        # 1e-12: a simplex target drawn in float64 sums to one only to ~1e-16
        assert abs(_value(step.rhs, by_symbol, unknowns) - target) < 1e-12, step.note


def test_notes_state_the_parametrisation(name):
    """Every entry carries parametrisation notes naming each of its parameters (a location μ
    may go without saying)."""
    dist = derivation(name).dist
    assert len(dist.notes) > 40
    greek = (
        "mu μ sigma σ lambda λ alpha α beta β gamma γ tau τ nu ν kappa κ phi φ pi π eta η power p"
    )
    symbols = dict(zip(greek.split()[::2], greek.split()[1::2], strict=True))
    for v in (*dist.params, *dist.fixed, *(link.raw for link in dist.links)):
        if v.name == "mu" and not v.vector:
            continue
        assert symbols.get(v.name, v.name) in dist.notes, v.name


def test_vector_sums_stay_symbolic():
    for name in ("categorical-logit", "categorical", "dirichlet", "gaussian-mixture"):
        d = derivation(name)
        assert d.loss.has(N_CLASSES) and d.loss.has(CLASS_INDEX), name


@pytest.mark.parametrize("classes", [2, 5])
def test_categorical_any_number_of_classes(classes, rng):
    d = derivation("categorical-logit")
    for y, z in itertools.islice(
        ((rng.dirichlet(np.ones(classes)), rng.normal(0, 3, classes)) for _ in range(9)), 3
    ):
        ours = float(evaluate(d.nll, {d.observed: y, d.learned[0]: z}))
        expected = float(np.logaddexp.reduce(z) - y @ z)
        assert ours == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("classes", [1, 2, 5])
def test_mixture_any_number_of_components(classes, rng):
    d = derivation("gaussian-mixture")
    for _ in range(3):
        values = d.dist.draw(rng, classes)
        ours = float(evaluate(d.nll, {s: values[v.name] for s, v in d.variables.items()}))
        assert ours == pytest.approx(-SCIPY["gaussian-mixture"](values), rel=1e-12)


def test_binomial_draws_respect_the_support(rng):
    d = derivation("binomial")
    for _ in range(50):
        values = d.dist.draw(rng)
        assert 0 <= values["y"] <= values["n"]
