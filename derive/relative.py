"""Losses that are not likelihoods, derived relative to the cross-entropy they modify.

The catalog holds distributions; these losses are not the negative log-likelihood of any of them,
so they live in their own registry (`derive show NAME` shows them; `derive list` lists only the
distributions).  Each derivation says what the loss is in terms of the cross-entropy, and answers
the question a likelihood must pass: is exp(−loss) normalisable over the outcomes y, with a
normaliser Z(θ) = Σ_y exp(−loss(y, θ)) that does not depend on the learned θ?  Z is derived, and
two exact values at different θ (a proof that Z varies) or a symbolic proof that it is constant
settle the answer.

Steps are :class:`~derive.derivation.Step` records; here ``data["relation"]`` is "=" or "≥"
(``lhs ≥ rhs`` for the steps of a bound).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from .catalog import CATALOG, UnknownDistribution, get
from .derivation import Step, _Applied, derive_cached, inline, warm_cache
from .functions import rename_index, split_sums, xlogy
from .spec import CLASS_INDEX as k
from .spec import N_CLASSES as K
from .spec import Var
from .symbolic import canon, identically_zero
from .views import Viewable

_j = sp.Symbol("j", integer=True, positive=True)

#: The kinds of step a relative derivation records (its ``data["relation"]`` is "=" or "≥").
RELATIVE_STEP_KINDS = (
    "definition",  # the loss as used in practice
    "relation",  # the loss in terms of the cross-entropy
    "normaliser",  # Z(θ) = Σ_y exp(−loss(y, θ))
    "witness",  # Z at two parameter values (or a proof that Z is constant)
    "bound",  # one step of an inequality, lhs ≥ rhs
)


@dataclass(frozen=True)
class Relative:
    """A loss declared by its formula and derived against a catalog entry's cross-entropy."""

    name: str
    title: str
    relative_to: str  # the catalog entry whose cross-entropy it modifies
    observed: Var
    params: tuple[Var, ...]  # the learned outputs
    loss: Callable  # (observed, *params, *fixed) -> expression
    fixed: tuple[Var, ...] = ()
    relate: Callable | None = None  # (derivation record) -> steps relating it to cross-entropy
    witness_point: Callable | None = None  # symbols -> two points of θ (and fixed values)
    outcomes: tuple = ()  # a finite scalar support, e.g. (−1, 1); vectors: the one-hot vertices
    notes: str = ""
    references: tuple[str, ...] = ()

    @property
    def variables(self) -> tuple[Var, ...]:
        return (self.observed, *self.params, *self.fixed)

    def symbols(self) -> dict[str, sp.Basic]:
        return {v.name: v.symbol() for v in self.variables}

    def derive(self) -> RelativeDerivation:
        return _derive(self)


@dataclass(repr=False)
class RelativeDerivation(Viewable):
    """What `derive show` prints for a relative loss; the fields mirror :class:`Derivation`'s."""

    relative: Relative
    observed: sp.Basic
    learned: tuple[sp.Basic, ...]
    fixed: tuple[sp.Basic, ...]
    loss: sp.Expr
    normaliser: sp.Expr  # Z(θ) = Σ_y exp(−loss)
    normalisable: bool | None  # True: Z proven constant in θ; False: two values differ
    statement: str
    steps: list[Step] = field(default_factory=list)
    bound: tuple[sp.Expr, sp.Expr, str] | None = None  # (lhs, rhs, condition): lhs ≥ rhs

    @property
    def name(self) -> str:
        return self.relative.name

    @property
    def standard(self):
        return None  # not a likelihood: no standard loss of the catalog


def _step(kind, note, lhs, rhs, relation="=", **data):
    return Step(kind, note, lhs, rhs, {"relation": relation, **data})


# ---------------------------------------------------------------------------- normalisers


def _linear_in(loss, y):
    """Write ``loss`` as rest + Σₖ yₖ·hₖ (rest free of y); return (rest, h) or None."""
    rest, h = [], []
    for term in sp.Add.make_args(split_sums(loss)):
        if not term.has(y):
            rest.append(term)
            continue
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        if len(sums) != 1:
            return None
        outer = term / sums[0]
        inner = sp.cancel(sums[0].function / y[sums[0].limits[0][0]])
        if inner.has(y) or outer.has(y):
            return None
        h.append(outer * inner.subs(sums[0].limits[0][0], k))
    return sp.Add(*rest), sp.Add(*h)


def normaliser(rel: Relative, loss, y) -> sp.Expr:
    """Z(θ) = Σ_y exp(−loss(y, θ)) over the outcomes: the given finite scalar support, or the
    one-hot vertices e_j of the class axis (for a loss linear in y: loss(e_j) = rest + h_j)."""
    if rel.observed.vector:
        parts = _linear_in(loss, y)
        if parts is None:
            raise ValueError(f"{rel.name}: the loss is not linear in {y}; no vertex normaliser")
        rest, h = parts
        return sp.Sum(sp.exp(-(rest + h.subs(k, _j))), (_j, 1, K))
    return sp.Add(*(sp.exp(-loss.subs(y, value)) for value in rel.outcomes))


def _at(expr, point, classes=2):
    """expr at an exact point (vectors as tuples of K = ``classes`` components)."""
    expr = expr.subs(K, classes).doit()
    scalar = {s: v for s, v in point.items() if not isinstance(s, sp.IndexedBase)}
    vectors = {s[c + 1]: v[c] for s, v in point.items() if isinstance(s, sp.IndexedBase)
               for c in range(classes)}  # fmt: skip
    return expr.xreplace(vectors).subs(scalar)


def _settle(rel, z, learned, points):
    """True when Z is proven constant in θ, False when it takes two different values."""
    z = rename_index(z, k).xreplace(  # Σₖ pₖ = 1 for a learned vector on the simplex
        {
            sp.Sum(sym, (k, 1, K)): sp.S.One
            for v, sym in zip(rel.params, learned, strict=True)
            if v.vector and v.domain.simplex
            for sym in [sym[k]]
        }
    )
    scalars = [t for t in learned if isinstance(t, sp.Symbol)]
    if scalars and len(scalars) == len(learned):
        if all(identically_zero(sp.diff(z, t)) for t in scalars):
            return True, None
    elif not canon(z).has(*learned):
        return True, None
    values = [_at(z, p) for p in points]
    if abs(sp.N(values[0] - values[1], 30)) > sp.Float(10) ** -20:
        return False, values
    return None, values


# ---------------------------------------------------------------------------- the pipeline


def _derive(rel: Relative) -> RelativeDerivation:
    sym = rel.symbols()
    y = sym[rel.observed.name]
    learned = tuple(sym[v.name] for v in rel.params)
    fixed = tuple(sym[v.name] for v in rel.fixed)
    loss = rel.loss(y, *learned, *fixed)
    ell = _Applied("ℓ", (y, *learned))
    steps = [_step("definition", rel.title, ell, loss)]
    record = RelativeDerivation(rel, y, learned, fixed, loss, sp.S.Zero, None, "", steps)
    if rel.relate is not None:
        steps += rel.relate(record, sym)

    z = normaliser(rel, loss, y)
    record.normaliser = z
    z_lhs = _Applied("Z", learned)
    over = "the one-hot outcomes e_j" if rel.observed.vector else f"y {rel.observed.domain.text}"
    steps.append(
        _step("normaliser", f"a likelihood needs Σ_y exp(−ℓ) free of θ: sum over {over}", z_lhs, z)
    )
    points = rel.witness_point(sym)
    normalisable, values = _settle(rel, z, learned, points)
    record.normalisable = normalisable
    names = ", ".join(map(str, learned))
    if normalisable is False:
        shown = "; ".join(f"Z = {inline(v)} ≈ {sp.N(v, 6)}" for v in values)
        note = f"Z at two values of {names}: {shown}"
        steps.append(_step("witness", note, values[0], values[1], "≠", points=points))
        record.statement = (
            f"{rel.name} is not the negative log-likelihood of any distribution of y given "
            f"{names}: Z({names}) = Σ_y exp(−ℓ) varies with {names}, so exp(−ℓ) has no "
            f"normaliser free of {names}; normalising it gives ℓ + log Z({names}), a different "
            "loss."
        )
    elif normalisable:
        steps.append(_step("witness", f"Z does not depend on {names}", z_lhs, z))
        record.statement = f"{rel.name}: exp(−ℓ) normalises with Z free of {names}."
    else:
        record.statement = f"{rel.name}: whether Z depends on {names} was not settled."
    return record


# ---------------------------------------------------------------------------- the registry

RELATIVE: dict[str, Relative] = {}


def register(rel: Relative) -> Relative:
    if rel.name in RELATIVE:
        raise ValueError(f"duplicate relative loss {rel.name!r}")
    RELATIVE[rel.name] = rel
    return rel


def _sum(f):
    return sp.Sum(f, (k, 1, K))


def _cross_entropy_loss(name):
    """The derived standard loss of a catalog entry (as data: it is never retyped here)."""
    return derive_cached(get(name)).loss


# label smoothing -------------------------------------------------------------------------


def _label_smoothing(y, z, eps):
    return _at_target(_cross_entropy_loss("categorical-logit"), y, (1 - eps) * y[k] + eps / K)


def _at_target(ce, y, q):
    """The categorical-logit loss logsumexp(z) − Σ yₖzₖ (derived using Σ yₖ = 1) at another
    target q on the simplex: y → q, sums split."""
    return split_sums(
        ce.replace(
            lambda e: isinstance(e, sp.Indexed) and e.base == y,
            lambda e: sp.sympify(q).subs(k, e.indices[0]),
        )
    )


def _relate_label_smoothing(record, sym):
    y, eps = sym["y"], sym["epsilon"]
    ce = _cross_entropy_loss("categorical-logit")
    uniform = _at_target(ce, y, 1 / K)  # H(u, p), u the uniform distribution
    combined = sp.Add(
        sp.Mul(1 - eps, ce, evaluate=False), sp.Mul(eps, uniform, evaluate=False), evaluate=False
    )
    if not identically_zero(record.loss - combined):
        raise AssertionError("label smoothing: the decomposition did not prove")  # a bug here
    q, p = sp.IndexedBase("q"), sp.IndexedBase("p")
    return [
        _step("relation", "the smoothed target, on the simplex", q[k], (1 - eps) * y[k] + eps / K),
        _step(
            "relation",
            "the categorical-logit loss (cross-entropy of p = softmax(z)) against q",
            _Applied("H", (q, p)),
            record.loss,
        ),
        _step(
            "relation",
            "linear in the target: (1 − ε)·CE(y, z) + ε·H(u, p), u uniform",
            record.loss,
            combined,
            ce=ce,
            uniform=uniform,
        ),
        _step(
            "relation",
            "the minimiser over p is the smoothed target (Gibbs' inequality): never one-hot",
            p[k],
            (1 - eps) * y[k] + eps / K,
        ),
    ]


register(
    Relative(
        name="label-smoothing",
        title="label-smoothed softmax cross-entropy",
        relative_to="categorical-logit",
        observed=Var("y", "simplex", vector=True, doc="one-hot target"),
        params=(Var("z", "real", vector=True, doc="logits"),),
        fixed=(Var("epsilon", "unit_interval", doc="smoothing"),),
        loss=_label_smoothing,
        relate=_relate_label_smoothing,
        witness_point=lambda s: [
            {s["z"]: (0, 0), s["epsilon"]: sp.Rational(1, 5)},
            {s["z"]: (0, 2), s["epsilon"]: sp.Rational(1, 5)},
        ],
        notes="The model is still the categorical; the target changes: y → (1 − ε)y + ε/K. "
        "As torch's cross_entropy(z, y, label_smoothing=ε). It is the cross-entropy against a "
        "smoothed target, not the NLL of the observed label.",
        references=("torch.nn.functional.cross_entropy(label_smoothing=ε)",),
    )
)


# focal loss ------------------------------------------------------------------------------


def _focal(y, p, gamma):
    return -_sum(y[k] * (1 - p[k]) ** gamma * sp.log(p[k]))


def _relate_focal(record, sym):
    y, p, gamma = sym["y"], sym["p"], sym["gamma"]
    ce = _cross_entropy_loss("categorical")
    at_zero = record.loss.subs(gamma, 0)
    if not identically_zero(at_zero - ce):
        raise AssertionError("focal loss: γ = 0 is not the cross-entropy")  # a bug here
    fl = _Applied("FL", (y, p))
    cross = -_sum(y[k] * sp.log(p[k]))  # H(y, p)
    weighted = _sum(y[k] * p[k] * sp.log(p[k]))
    entropy_p = -_sum(p[k] * sp.log(p[k]))  # H(p)
    kl = _sum(xlogy(y[k], y[k])) - _sum(y[k] * sp.log(p[k]))  # KL(y ‖ p)
    entropy_y = -_sum(xlogy(y[k], y[k]))
    bound = kl - gamma * entropy_p
    record.bound = (record.loss, bound, "γ ≥ 1")
    return [
        _step(
            "relation",
            "at γ = 0 the focal loss is the cross-entropy (the categorical entry's loss)",
            sp.Subs(record.loss, gamma, 0),
            ce,
        ),
        _step(
            "bound",
            "Bernoulli's inequality, for 0 ≤ p ≤ 1 and γ ≥ 1",
            (1 - p[k]) ** gamma,
            1 - gamma * p[k],
            "≥",
        ),
        _step(
            "bound",
            "multiply by −yₖ log pₖ ≥ 0 and sum over k",
            fl,
            cross + gamma * weighted,
            "≥",
        ),
        _step(
            "bound",
            "yₖ ≤ 1 and pₖ log pₖ ≤ 0: Σ yₖ pₖ log pₖ ≥ Σ pₖ log pₖ = −H(p)",
            fl,
            cross - gamma * entropy_p,
            "≥",
        ),
        _step(
            "bound",
            "H(y, p) = KL(y ‖ p) + H(y) and H(y) ≥ 0 (equality for one-hot y): "
            "FL ≥ KL(y ‖ p) − γ·H(p) (Mukhoti et al. 2020)",
            fl,
            bound,
            "≥",
            entropy_y=entropy_y,
        ),
    ]


register(
    Relative(
        name="focal",
        title="focal loss (multi-class, probability output)",
        relative_to="categorical",
        observed=Var("y", "simplex", vector=True, doc="one-hot target"),
        params=(Var("p", "simplex", vector=True, doc="class probabilities"),),
        fixed=(Var("gamma", "nonnegative", doc="focusing parameter"),),
        loss=_focal,
        relate=_relate_focal,
        witness_point=lambda s: [
            {s["p"]: (sp.Rational(1, 2), sp.Rational(1, 2)), s["gamma"]: 2},
            {s["p"]: (sp.Rational(1, 4), sp.Rational(3, 4)), s["gamma"]: 2},
        ],
        notes="Lin et al. 2017: the cross-entropy re-weighted by (1 − pₖ)^γ, γ ≥ 0 (γ = 0 is the "
        "cross-entropy). Not a likelihood; bounded below by KL(y ‖ p) − γ·H(p) for γ ≥ 1, so "
        "minimising it also raises the entropy of p (Mukhoti et al. 2020).",
        references=("torchvision.ops.sigmoid_focal_loss (binary form)",),
    )
)


# hinge -----------------------------------------------------------------------------------


def _relate_hinge(record, sym):
    y, f = sym["y"], sym["f"]
    logistic = sp.log(1 + sp.exp(-y * f))  # bce_logits with labels ±1
    z_logistic = sum(sp.exp(-logistic.subs(y, v)) for v in (-1, 1))
    if not identically_zero(z_logistic - 1):
        raise AssertionError("the logistic loss should normalise")  # a bug here
    return [
        _step(
            "relation",
            "for comparison, the logistic loss log(1 + e^(−yf)) (bce_logits with y ∈ {−1, +1}) "
            "normalises: σ(f) + σ(−f) = 1",
            sum(sp.exp(-logistic.subs(y, v)) for v in (-1, 1)),
            sp.S.One,
        )
    ]


register(
    Relative(
        name="hinge",
        title="hinge loss (labels ±1, real score)",
        relative_to="bernoulli-logit",
        observed=Var("y", "sign", doc="label in {−1, +1}"),
        params=(Var("f", "real", doc="score (margin)"),),
        loss=lambda y, f: sp.Max(0, 1 - y * f),
        relate=_relate_hinge,
        witness_point=lambda s: [{s["f"]: 0}, {s["f"]: 2}],
        outcomes=(-1, 1),
        notes="y ∈ {−1, +1} and f is a real score; the SVM loss max(0, 1 − yf), as sklearn's "
        "hinge_loss and torch's MultiMarginLoss for two classes. No normalisable likelihood.",
        references=("sklearn.metrics.hinge_loss",),
    )
)


def likelihood(name: str) -> tuple[bool | None, str]:
    """Is the relative loss ``name`` a likelihood?  (answer, the statement that says why)."""
    d = RELATIVE[name].derive()
    return d.normalisable, d.statement


def derivation_of(name: str):
    """The derivation of any name `derive show` accepts: a catalog entry, or a loss that is not a
    likelihood (derived relative to cross-entropy)."""
    if name in RELATIVE:
        return RELATIVE[name].derive()
    _known(name)
    return derive_cached(get(name))


def _known(name: str) -> None:
    """Raise UnknownDistribution, offering the closest names `derive show` accepts."""
    if name not in CATALOG and name not in RELATIVE:
        raise UnknownDistribution(name, (*CATALOG, *RELATIVE))


def derivations(names, report=None) -> list:
    """The derivations of ``names`` in order; unknown names fail before any work, and ``report``
    (see derive.progress) hears of each (derivations can take seconds)."""
    from .progress import tracked

    names = list(names)
    for name in names:
        _known(name)
    warm_cache(derivation_of, [(name,) for name in names if name in CATALOG], report, "deriving")
    return [derivation_of(name) for name in tracked(names, "deriving", report)]
