"""GBM objectives: the gradient and hessian of the loss on an unconstrained margin.

A booster adds trees to a raw margin m ∈ ℝ.  Where the single learned output θ is itself
unconstrained (a location, a logit, a log-rate) m is θ.  Where θ is constrained (a rate, a mean,
a probability) the declaration names its natural link (``Distribution.natural_link``: log for
rates and means, logit for probabilities) and the objective works on m with θ = inverse(m): the
loss is rewritten in m and differentiated by SymPy, so the chain rule is derived, never by hand.
An entry whose constrained output has no natural link gets no objective, with the reason.

The hessian a boosting step divides by must be positive.  Where the exact one is not, a surrogate
is used and stated (in the emitted docstring and :attr:`Objective.surrogate`):

* a kink (|y − θ|: the laplace, the asymmetric-laplace's pinball) has a Dirac delta for a second
  derivative, zero almost everywhere (a booster then learns nothing); the delta is replaced by
  the constant 1, the surrogate xgboost's reg:absoluteerror / reg:quantileerror and LightGBM's
  l1 / quantile use (before their leaf refresh).  Fisher scoring (the delta's expectation under
  the model, τ(1 − τ)/σ for the pinball) was tried and rejected: at τ = 0.8 its Newton steps of up
  to σ/(1 − τ) overshoot with xgboost's defaults (held-out pinball 0.52 against 0.42 built-in; the
  constant 1 gives 0.41);
* a hessian that vanishes or turns negative for some y (Huber's linear part, the Cauchy,
  Student-t and von Mises far from the centre, the inverse Gaussian on the log scale) is taken at
  y = θ, the value the margin predicts: for a location family the curvature at the mode, the
  largest one (a majoriser: a step never overshoots); for a hessian affine in y its expectation,
  the Fisher information (the inverse Gaussian: 2e^(−m)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..derivation import Derivation
from ..spec import NATURAL_LINKS
from .rewrite import elementary, prepare

#: The raw margin the booster learns, in the objective's formulas.
MARGIN = sp.Symbol("margin", real=True)

#: How many random points (from the declaration's constraints) decide that a hessian is positive.
DRAWS = 200


@dataclass(frozen=True)
class Objective:
    """What the GBM functions of an emitted module are made of (all in :data:`MARGIN`)."""

    link: str  # a key of NATURAL_LINKS
    inverse: sp.Expr  # θ as a function of the margin
    gradient: sp.Expr  # ∂loss/∂m
    hessian: sp.Expr  # the one a boosting step uses (exact, or the surrogate)
    surrogate: str  # "" where the hessian is exact, else what replaced it and why
    intercept: sp.Expr | None  # the margin minimising the mean loss, in ȳ and the fixed ones


class NoObjective(Exception):
    """The entry has no GBM objective; the message says why (and what would give one)."""


def natural_link(d: Derivation) -> str:
    """The margin's link: the declaration's natural link, or the identity where the learned
    output is unconstrained; :class:`NoObjective` otherwise."""
    dist = d.dist
    if len(d.learned) != 1 or dist.vector:
        what = "a vector output (a class axis)" if dist.vector else f"{len(d.learned)} outputs"
        raise NoObjective(
            f"{dist.name} learns {what}: GBM objectives are emitted for a single scalar raw "
            "output only (no multi-output objective such as multi:softprob)"
        )
    if dist.natural_link is not None:
        return dist.natural_link
    (var,) = dist.learned
    if var.constraint == "real":
        return "identity"
    raise NoObjective(
        f"{dist.name}: the raw output {var.name} {var.domain.text} is constrained and the "
        "declaration names no natural link, so a booster's unbounded margin would leave its "
        "range; declare one (natural_link='log' for rates and means, 'logit' for probabilities)"
    )


def _numeric(expr, symbols):
    """A numpy function of ``symbols`` (through scipy for special functions)."""
    from scipy import special

    # derive's primitives that scipy spells otherwise (the others print as scipy's names)
    spelled = {"ibeta": special.betainc}
    return sp.lambdify(symbols, elementary(expr), modules=[spelled, "scipy", "numpy"])


def _draws(d: Derivation, link: str, rng) -> dict:
    """Values by symbol for the observed, fixed and margin: from the declared constraints."""
    dist = d.dist
    out = {}
    for _ in range(DRAWS):
        values = dist.draw(rng)
        for var in (*dist.observations, *dist.fixed):
            out.setdefault(dist.sym(var), []).append(values[var.name])
        (var,) = dist.learned
        out.setdefault(MARGIN, []).append(NATURAL_LINKS[link].forward(values[var.name]))
    return {s: np.asarray(v, dtype=float) for s, v in out.items()}


def _positive(expr, values) -> bool:
    """expr > 0 (and finite) at every drawn point."""
    symbols = list(values)
    with np.errstate(all="ignore"):
        got = np.broadcast_to(_numeric(expr, symbols)(*values.values()), (DRAWS,))
    return bool(np.all(np.isfinite(got) & (got > 0)))


def objective(d: Derivation) -> Objective:
    """The GBM objective of a derivation with one scalar learned output (:class:`NoObjective`
    otherwise)."""
    link = natural_link(d)
    theta = d.learned[0]
    inverse = NATURAL_LINKS[link].inverse(MARGIN)
    loss = prepare(d.loss)[0].xreplace({theta: inverse})
    gradient = prepare(sp.diff(loss, MARGIN))[0]
    hessian = prepare(sp.diff(gradient, MARGIN))[0]
    if loss.has(sp.Piecewise):  # given by cases (censored bounds): no surrogate rule applies
        surrogate = (
            "the loss is given by cases (a censored or zero-inflated likelihood, not convex in "
            "every case): the exact hessian, floored at the machine epsilon where it is not "
            "positive"
        )
        return Objective(link, inverse, gradient, hessian, surrogate, None)
    values = _draws(d, link, np.random.default_rng(0))
    surrogate = ""
    if hessian.has(sp.DiracDelta):
        hessian = prepare(hessian.replace(sp.DiracDelta, lambda *args: sp.S.Zero) + 1)[0]
        surrogate = (
            "the loss has a kink: its second derivative, a Dirac delta at the kink, is replaced by "
            "the constant 1 (as xgboost's reg:absoluteerror and reg:quantileerror, LightGBM's l1 "
            "and quantile, before their leaf refresh); steps are then in units of the target"
        )
    elif not _positive(hessian, values) and not d.dist.also_observed:
        hessian = prepare(hessian.xreplace({d.observed: inverse}))[0]
        surrogate = (
            "the exact hessian vanishes or is negative for some y, so the hessian at y = θ (the "
            "value the margin predicts) is used: the curvature at the mode for a location family "
            "(the largest, so a step never overshoots), the Fisher information where the hessian "
            "is affine in y"
        )
    if not _positive(hessian, values):
        raise NoObjective(f"{d.dist.name}: no positive hessian on the margin ({hessian})")
    return Objective(link, inverse, gradient, hessian, surrogate, _intercept(d, gradient))


#: The mean of the observed values, in the intercept's formula.
YBAR = sp.Symbol("ybar", real=True)


def _intercept(d: Derivation, gradient):
    """The constant margin m* minimising the mean loss, where the gradient is affine in y (then
    Σᵢ g(yᵢ, m) = n·g(ȳ, m) and m* solves g(ȳ, m) = 0), as an expression in ȳ and the fixed
    arguments; None where it has no such closed form (the module then solves for it numerically).
    """
    g = elementary(gradient)
    y = d.observed
    if d.dist.also_observed or g.has(sp.Piecewise):  # bounds, or cases: solved numerically
        return None
    if not g.has(y) or sp.simplify(sp.diff(g, y, 2)) != 0:
        return None
    try:
        solutions = sp.solve(g.subs(y, YBAR), MARGIN, dict=True)
    except (NotImplementedError, ValueError):
        return None
    real = [s[MARGIN] for s in solutions if not s[MARGIN].has(sp.I)]
    return real[0] if len(real) == 1 else None
