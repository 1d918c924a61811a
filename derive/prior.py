"""Regularisers as log-priors: a prior p(w) on each weight of a linear predictor θ = w·x.

The MAP estimate minimises Σᵢ NLL(yᵢ; xᵢ·w) − Σⱼ log p(wⱼ).  The same steps as a likelihood's
derive the penalty: −log p(w), logs expanded, split into the terms in w (the penalty) and the
normaliser (dropped), and the penalty recognised as a registered form λ·P(w)
(:data:`derive.standard.PENALTIES`: l2, l1, elastic_net, log, …).  Since NLL = a·loss + C, the
MAP objective in the loss's own units is Σᵢ loss + (λ/a)·Σⱼ P(wⱼ): λ/a is the strength a library
takes, in the prior's and the noise's scales (ridge: σ²/τ²).

A prior is a catalog density placed on the weight (its location at 0, its fixed scales renamed
with a subscript w), or one of the few priors declared here that are not catalog entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from .catalog import CATALOG, get
from .derivation import Derivation, expand_logs
from .errors import UserError, shown
from .functions import stabilise
from .spec import Var
from .standard import PenaltyMatch, recognise_penalty

W = sp.Symbol("w", real=True)


@dataclass(frozen=True)
class PriorDecl:
    """A prior on one weight w that is not a catalog entry: its density and scales."""

    name: str
    title: str
    scales: tuple[Var, ...]
    density: Callable  # (w, *scales) -> expression
    notes: str = ""


@dataclass(frozen=True)
class Improper:
    """A prior that does not normalise: named, with what it would mean as a penalty."""

    name: str
    meaning: str


def _elastic_net(w, b, tau):
    core = sp.exp(-sp.Abs(w) / b - w**2 / (2 * tau**2))
    t = sp.Symbol("t", positive=True)
    half = sp.integrate(sp.exp(-t / b - t**2 / (2 * tau**2)), (t, 0, sp.oo))
    return core / (2 * half)


PRIORS: dict[str, PriorDecl] = {
    p.name: p
    for p in (
        PriorDecl(
            "horseshoe-like",
            "horseshoe-like prior (Bhadra et al. 2019)",
            (Var("tau", "positive", doc="global scale"),),
            lambda w, tau: sp.log(1 + tau**2 / w**2) / (2 * sp.pi * tau),
            notes="A closed-form density with the horseshoe's pole at 0 and Cauchy-like tails: "
            "p(w) = log(1 + τ²/w²)/(2πτ). The horseshoe itself has no closed-form density.",
        ),
        PriorDecl(
            "elastic-net",
            "elastic-net prior (a Laplace times a Gaussian, renormalised)",
            (Var("b_w", "positive", doc="Laplace scale"), Var("tau", "positive", doc="std")),
            _elastic_net,
            notes="p(w) ∝ exp(−|w|/b − w²/(2τ²)): the product of a Laplace and a Gaussian prior; "
            "its normaliser is derived by SymPy.",
        ),
    )
}

IMPROPER = {
    p.name: p
    for p in (
        Improper("flat", "∫ 1 dw = ∞; as a prior it would mean no penalty (the MAP is the MLE)"),
        Improper(
            "jeffreys",
            "p(w) ∝ 1/|w|: ∫ dw/|w| = ∞; it would mean the log penalty log|w|, unbounded below "
            "at w = 0",
        ),
    )
}
IMPROPER["1/w"] = IMPROPER["log-uniform"] = IMPROPER["jeffreys"]
IMPROPER["uniform"] = IMPROPER["flat"]


@dataclass
class PriorDerivation:
    """−log p(w) = penalty + dropped, the penalty recognised (or None)."""

    name: str
    title: str
    weight: sp.Symbol
    scales: tuple[sp.Symbol, ...]
    scale_vars: tuple[Var, ...]
    density: sp.Expr
    neglog: sp.Expr
    penalty: sp.Expr
    dropped: sp.Expr
    match: PenaltyMatch | None
    notes: str = ""

    @property
    def standard(self) -> str | None:
        return self.match.penalty.id if self.match else None


@dataclass
class MapObjective:
    """Σᵢ a·loss(yᵢ, xᵢ·w) + Σⱼ penalty(wⱼ): the negative log-posterior up to constants."""

    likelihood: Derivation
    prior: PriorDerivation
    strengths_loss: dict = field(default_factory=dict)  # atom → λ/a, in the loss's units


def _renamed(var: Var) -> Var:
    return Var(f"{var.name}_w", var.constraint, var.vector, var.doc)


def _from_catalog(name: str):
    dist = get(name)
    lo, hi = dist.support_bounds
    if (lo, hi) != (-sp.oo, sp.oo) or dist.observed.vector:
        raise UserError(
            f"cannot place {name} on a weight: its observed variable lies in "
            f"{dist.observed.domain.text}, a prior on a weight needs the whole real line"
        )
    if len(dist.params) != 1 or dist.links or dist.params[0].constraint != "real":
        raise UserError(
            f"cannot place {name} on a weight: a prior needs one real location parameter (set "
            f"to 0), {name} has {', '.join(v.name for v in dist.params)}"
        )
    scales = tuple(_renamed(v) for v in dist.fixed)
    symbols = tuple(v.symbol() for v in scales)
    density = dist.density(W, sp.S.Zero, *symbols)
    notes = f"The catalog's {name} density with its location at 0 and its scales renamed *_w."
    return dist.title, scales, symbols, density, notes


def _on_a_weight(name: str) -> bool:
    try:
        _from_catalog(name)
    except UserError:
        return False
    return True


def derive_prior(name: str) -> PriorDerivation:
    """The penalty of the prior ``name`` (a catalog density on w, or one of :data:`PRIORS`)."""
    if name in IMPROPER:
        raise UserError(f"prior {shown(name)} is improper: {IMPROPER[name].meaning}")
    if name in PRIORS:
        decl = PRIORS[name]
        scales = decl.scales
        symbols = tuple(v.symbol() for v in scales)
        title, density, notes = decl.title, decl.density(W, *symbols), decl.notes
    elif name in CATALOG:
        title, scales, symbols, density, notes = _from_catalog(name)
    else:
        known = ", ".join([*(n for n in CATALOG if _on_a_weight(n)), *PRIORS])
        raise UserError(f"unknown prior {shown(name)}; priors: {known} (improper: flat, jeffreys)")
    neglog = stabilise(expand_logs(-sp.log(density)))[0]
    penalty = sp.Add(*(t for t in sp.Add.make_args(neglog) if t.has(W)))
    dropped = sp.Add(*(t for t in sp.Add.make_args(neglog) if not t.has(W)))
    variables = {W: Var("w", "real"), **dict(zip(symbols, scales, strict=True))}
    match = recognise_penalty(penalty, W, symbols, variables)
    return PriorDerivation(
        name, f"{title}, on a weight w", W, symbols, scales, density, neglog, penalty, dropped,
        match, notes,
    )  # fmt: skip


def map_objective(d: Derivation, prior: PriorDerivation) -> MapObjective:
    """The MAP objective of a linear predictor w·x for one scalar learned output."""
    if len(d.learned) != 1 or d.dist.vector:
        raise UserError(
            f"--prior needs one scalar learned output for the linear predictor w·x; "
            f"{d.dist.name} has {', '.join(map(str, d.learned))}"
        )
    clash = {str(s) for s in prior.scales} & {str(s) for s in (*d.fixed, d.observed)}
    if clash:
        raise UserError(f"the prior's scales {', '.join(sorted(clash))} clash with {d.dist.name}")
    strengths = {}
    if prior.match is not None:
        strengths = {atom: sp.factor(lam / d.scale) for atom, lam in prior.match.strengths.items()}
    return MapObjective(d, prior, strengths)
