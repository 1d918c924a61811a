"""Losses that are not likelihoods (label smoothing, focal, hinge): their relation to the
cross-entropy, their normalisers and the focal bound, against torch, sklearn and numpy written out
from the definitions."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import sympy as sp
from scipy import special

from derive.catalog import CATALOG
from derive.cli import main
from derive.numeric import evaluate
from derive.relative import RELATIVE, Relative, likelihood
from derive.spec import Var

N_POINTS = 8
_k = sp.Symbol("k", integer=True, positive=True)
_K = sp.Symbol("K", integer=True, positive=True)


@pytest.fixture(scope="module")
def derived():
    return {name: rel.derive() for name, rel in RELATIVE.items()}


def _values(d, rng, classes=3):
    rel = d.relative
    sym = rel.symbols()
    out = {}
    for v in rel.variables:
        out[v.name] = v.draw(rng, classes)
    return {sym[name]: value for name, value in out.items()}, out


def _onehot(rng, classes=3):
    return np.eye(classes)[rng.integers(classes)]


# ---------------------------------------------------------------------------- the verdicts


@pytest.mark.parametrize("name", list(RELATIVE))
def test_none_of_them_is_a_likelihood(name, derived):
    d = derived[name]
    answer, statement = likelihood(name)
    assert d.normalisable is False and answer is False
    assert "not the negative log-likelihood" in statement and name in statement
    kinds = [s.kind for s in d.steps]
    assert kinds[0] == "definition" and "normaliser" in kinds and kinds[-1] == "witness"


def test_the_same_test_says_cross_entropies_are_likelihoods():
    """Control: the normaliser machinery, run on the cross-entropies, proves them normalised."""
    ce = Relative(
        name="ce",
        title="cross-entropy",
        relative_to="categorical",
        observed=Var("y", "simplex", vector=True),
        params=(Var("p", "simplex", vector=True),),
        loss=lambda y, p: -sp.Sum(y[_k] * sp.log(p[_k]), (_k, 1, _K)),
        witness_point=lambda s: [{s["p"]: (0.5, 0.5)}, {s["p"]: (0.25, 0.75)}],
    )
    logistic = Relative(
        name="logistic",
        title="logistic loss, labels ±1",
        relative_to="bernoulli-logit",
        observed=Var("y", "sign"),
        params=(Var("f", "real"),),
        loss=lambda y, f: sp.log(1 + sp.exp(-y * f)),
        witness_point=lambda s: [{s["f"]: 0}, {s["f"]: 2}],
        outcomes=(-1, 1),
    )
    for rel in (ce, logistic):
        d = rel.derive()
        assert d.normalisable is True, rel.name
        assert "normalises" in d.statement


# ---------------------------------------------------------------------------- normalisers


def _z_hinge(values):
    return sum(np.exp(-max(0.0, 1 - y * values["f"])) for y in (-1, 1))


def _z_focal(values):
    p, g = values["p"], values["gamma"]
    return float(np.sum(p ** ((1 - p) ** g)))


def _z_label_smoothing(values):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    z, eps = torch.as_tensor(values["z"], dtype=torch.float64), values["epsilon"]
    classes = len(values["z"])
    return sum(
        float(torch.exp(-F.cross_entropy(z[None], torch.eye(classes, dtype=torch.float64)[j][None],
                                         label_smoothing=eps)))
        for j in range(classes)
    )  # fmt: skip


#: Σ_y exp(−loss(y, θ)) from each loss's definition, in numpy or torch (K = len of the vectors).
NORMALISERS = {"hinge": _z_hinge, "focal": _z_focal, "label-smoothing": _z_label_smoothing}


def _z_independent(name, values):
    return NORMALISERS[name](values)


@pytest.mark.parametrize("name", list(RELATIVE))
def test_normaliser_matches_the_definition(name, derived, rng):
    d = derived[name]
    for _ in range(N_POINTS):
        by_symbol, by_name = _values(d, rng)
        ours = float(evaluate(d.normaliser, by_symbol))
        assert ours == pytest.approx(_z_independent(name, by_name), rel=1e-12)


@pytest.mark.parametrize("name", list(RELATIVE))
def test_witness_values_are_two_different_values_of_z(name, derived):
    d = derived[name]
    (witness,) = [s for s in d.steps if s.kind == "witness"]
    points = witness.data["points"]
    values = []
    for point in points:
        by_name = {str(s): (np.array(v, dtype=float) if isinstance(v, tuple) else float(v))
                   for s, v in point.items()}  # fmt: skip
        values.append(_z_independent(name, by_name))
    assert values[0] == pytest.approx(float(witness.lhs), rel=1e-12)
    assert values[1] == pytest.approx(float(witness.rhs), rel=1e-12)
    assert abs(values[0] - values[1]) > 1e-3


# ---------------------------------------------------------------------------- label smoothing


def test_label_smoothing_is_torchs(derived, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    d = derived["label-smoothing"]
    for _ in range(N_POINTS):
        by_symbol, v = _values(d, rng)
        for y in (v["y"], _onehot(rng)):  # probability and one-hot targets
            by_symbol[d.observed] = y
            expected = F.cross_entropy(
                torch.as_tensor(v["z"])[None], torch.as_tensor(y)[None],
                label_smoothing=v["epsilon"],
            )  # fmt: skip
            assert float(evaluate(d.loss, by_symbol)) == pytest.approx(float(expected), rel=1e-12)


def test_label_smoothing_decomposes_into_ce_and_uniform_cross_entropy(derived, rng):
    d = derived["label-smoothing"]
    (step,) = [s for s in d.steps if "ce" in s.data]
    for _ in range(N_POINTS):
        by_symbol, v = _values(d, rng)
        z, y, eps = v["z"], v["y"], v["epsilon"]
        log_p = z - special.logsumexp(z)
        ce, uniform = -(y @ log_p), -log_p.mean()
        assert float(evaluate(step.data["ce"], by_symbol)) == pytest.approx(ce, rel=1e-12)
        assert float(evaluate(step.data["uniform"], by_symbol)) == pytest.approx(uniform, rel=1e-12)
        assert float(evaluate(d.loss, by_symbol)) == pytest.approx(
            (1 - eps) * ce + eps * uniform, rel=1e-12
        )


# ---------------------------------------------------------------------------- focal


def _focal_np(y, p, g):
    return float(-np.sum(y * (1 - p) ** g * np.log(p)))


def _kl_minus_entropy(y, p, g):
    return float(np.sum(special.xlogy(y, y) - y * np.log(p)) + g * np.sum(p * np.log(p)))


def test_focal_loss_is_its_definition(derived, rng):
    d = derived["focal"]
    for _ in range(N_POINTS):
        by_symbol, v = _values(d, rng)
        assert float(evaluate(d.loss, by_symbol)) == pytest.approx(
            _focal_np(v["y"], v["p"], v["gamma"]), rel=1e-12
        )


@pytest.mark.parametrize("classes", [2, 3, 7])
def test_focal_bound_holds_and_each_step_is_between(derived, rng, classes):
    """FL ≥ KL(y ‖ p) − γ·H(p) for γ ≥ 1 at random points (one-hot and soft targets), and the
    chain of bound steps descends."""
    d = derived["focal"]
    _, rhs, condition = d.bound
    assert condition == "γ ≥ 1"
    # the steps bounding FL itself (the first, Bernoulli's inequality, bounds one factor)
    chain = [s.rhs for s in d.steps if s.kind == "bound" and s.rhs.has(sp.Sum)]
    assert len(chain) == 3
    y_sym, p_sym = d.observed, d.learned[0]
    (g_sym,) = d.fixed
    for _ in range(40):
        p = rng.dirichlet(np.ones(classes) * rng.uniform(0.2, 3))
        p = np.clip(p, 1e-12, None) / np.clip(p, 1e-12, None).sum()
        y = _onehot(rng, classes) if rng.random() < 0.5 else rng.dirichlet(np.ones(classes))
        g = rng.uniform(1, 5)
        fl = _focal_np(y, p, g)
        bound = _kl_minus_entropy(y, p, g)
        assert fl >= bound - 1e-12
        point = {y_sym: y, p_sym: p, g_sym: g}
        assert float(evaluate(rhs, point)) == pytest.approx(bound, rel=1e-10, abs=1e-12)
        values = [fl] + [float(evaluate(e, point)) for e in chain]
        assert all(a >= b - 1e-10 for a, b in itertools.pairwise(values)), values


def test_the_focal_bound_needs_gamma_at_least_one(derived):
    """Bernoulli's inequality, the first step, fails for γ < 1: the stated condition matters."""
    d = derived["focal"]
    (bernoulli,) = [s for s in d.steps if s.note.startswith("Bernoulli")]
    p, g = d.learned[0], d.fixed[0]
    k = sp.Symbol("k", integer=True, positive=True)
    at = {p[k]: sp.Rational(1, 2)}
    assert bernoulli.lhs.subs(at).subs(g, 2) >= bernoulli.rhs.subs(at).subs(g, 2)
    assert bernoulli.lhs.subs(at).subs(g, sp.Rational(1, 2)) < bernoulli.rhs.subs(at).subs(
        g, sp.Rational(1, 2)
    )


# ---------------------------------------------------------------------------- hinge


def test_hinge_is_sklearns(derived, rng):
    """Against sklearn's hinge_loss over a batch holding both labels (its label binariser
    misreads a batch of one)."""
    hinge_loss = pytest.importorskip("sklearn.metrics").hinge_loss
    d = derived["hinge"]
    ys, fs, ours = [], [], []
    for y in (-1.0, 1.0) * N_POINTS:
        by_symbol, v = _values(d, rng)
        by_symbol[d.observed] = y
        ys.append(y)
        fs.append(v["f"])
        ours.append(float(evaluate(d.loss, by_symbol)))
    assert np.mean(ours) == pytest.approx(hinge_loss(ys, fs), rel=1e-12)
    assert ours == pytest.approx(np.maximum(0, 1 - np.array(ys) * fs), rel=1e-12)


# ---------------------------------------------------------------------------- the command


def test_show_says_hinge_is_not_a_likelihood(capsys):
    assert main(["show", "hinge"]) == 0
    out = capsys.readouterr().out
    assert "not a likelihood" in out and "not the negative log-likelihood" in out
    assert main(["show", "focal", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["likelihood"] is False and data["standard"] is None
    assert data["bound"]["condition"] == "γ ≥ 1"
    assert all({"note", "latex", "relation"} <= s.keys() for s in data["steps"])


def test_list_keeps_to_the_distributions(capsys):
    assert main(["list", "--json"]) == 0
    names = [row["name"] for row in json.loads(capsys.readouterr().out)]
    assert names == list(CATALOG) and not set(names) & set(RELATIVE)
