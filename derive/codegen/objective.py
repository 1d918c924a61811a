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

A single vector output on the class axis (the categorical-logit's K logits, xgboost's
multi:softprob) is learned as K margins m_k, one tree per class and round.  Its objective is the
per-class gradient ∂loss/∂m_k and the diagonal of the Hessian ∂²loss/∂m_k², derived by SymPy over
the class index; only an unconstrained vector (logits) gets one.  The boosting step fits each
class's tree on its own diagonal, as if the classes were independent, while the Hessian H couples
them (for the softmax, diag(p) − p pᵀ): the diagonal is doubled, which majorises H for every p and
K (2·diag(H) − H is positive semi-definite; checked at drawn points for K = 3 and 5 before the
objective is emitted), so the K simultaneous steps never overshoot.  This is xgboost's own
multi:softprob hessian, 2p(1 − p); LightGBM's multiclass uses K/(K − 1)·p(1 − p), which for K > 2 is
no majoriser (p = (½, ½, 0) along (1, −1, 0)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..derivation import Derivation
from ..functions import logsumexp, rename_index, sigmoid
from ..spec import CLASS_INDEX, N_CLASSES, NATURAL_LINKS
from .rewrite import elementary, prepare

#: The raw margin the booster learns, in the objective's formulas.
MARGIN = sp.Symbol("margin", real=True)

#: The raw margins of a vector output (class axis last), m_j for class j, in the objective's
#: formulas.
CLASS_MARGIN = sp.IndexedBase("margin", real=True)

#: The free class index of per-class outputs: ∂/∂z_j.  A Dummy, so it never meets a user's symbol.
J = sp.Dummy("j", integer=True, positive=True)

#: The factor on the diagonal hessian of a vector output (see the module's docstring).
DIAGONAL_SCALE = 2

#: The numbers of classes at which the majoriser and the intercept of a vector output are checked.
CHECK_CLASSES = (3, 5)

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
    classes: bool = False  # a vector output: K margins (CLASS_MARGIN[J]), class axis last


class NoObjective(Exception):
    """The entry has no GBM objective; the message says why (and what would give one)."""


def natural_link(d: Derivation) -> str:
    """The margin's link: the declaration's natural link, or the identity where the learned
    output is unconstrained (a scalar, or a vector of class logits); :class:`NoObjective`
    otherwise."""
    dist = d.dist
    if len(d.learned) != 1:
        raise NoObjective(
            f"{dist.name} learns {len(d.learned)} outputs: GBM objectives are emitted for a single "
            "raw output only (a scalar, or the class logits of multi:softprob)"
        )
    (var,) = dist.learned
    if var.vector and var.constraint != "real":
        raise NoObjective(
            f"{dist.name}: the raw output {var.name} {var.domain.text} is a constrained vector, so "
            "a booster's unbounded margins would leave its range; a multi-output objective "
            "(multi:softprob) needs unconstrained class logits (categorical-logit learns them)"
        )
    if dist.natural_link is not None:
        return dist.natural_link
    if var.constraint == "real":
        return "identity"
    raise NoObjective(
        f"{dist.name}: the raw output {var.name} {var.domain.text} is constrained and the "
        "declaration names no natural link, so a booster's unbounded margin would leave its "
        "range; declare one (natural_link='log' for rates and means, 'logit' for probabilities)"
    )


_HEAVISIDE = sp.Function("heaviside")


def _numeric(expr, symbols):
    """A numpy function of ``symbols`` (through scipy for special functions), its common
    subexpressions computed once (a derivative of min/max terms printed as a tree is exponential
    in their depth).  The derivatives of min, max and |x| hold step functions: Heaviside as numpy's
    (SymPy prints it as a select that fails on scalar conditions) and the Dirac delta 0, as
    everywhere but at the kink."""
    from scipy import special

    # derive's primitives that scipy spells otherwise (the others print as scipy's names)
    spelled = {"ibeta": special.betainc, "heaviside": np.heaviside}
    expr = (
        elementary(expr)
        .replace(sp.Heaviside, lambda x, h=sp.S.Half: _HEAVISIDE(x, h))
        .replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    )
    return sp.lambdify(symbols, expr, modules=[spelled, "scipy", "numpy"], cse=True)


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
    if d.dist.learned[0].vector:
        return _class_objective(d)
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
    # a kink in y (min, max, |·|, a step) is no affine gradient: refused before simplify, which
    # takes minutes on the min/max terms of a binned Laplace
    kinks = g.atoms(sp.Min, sp.Max, sp.Abs, sp.Heaviside, sp.sign)
    if not g.has(y) or any(kink.has(y) for kink in kinks):
        return None
    if sp.simplify(sp.diff(g, y, 2)) != 0:
        return None
    # solve finds a closed form through exp and log (every catalog intercept: log ȳ, logit ȳ, ...);
    # with another function of the margin it finds none, after minutes on a truncated
    # negative binomial's incomplete betas
    if any(f.func not in (sp.exp, sp.log) for f in g.atoms(sp.Function) if f.has(MARGIN)):
        return None
    try:
        solutions = sp.solve(g.subs(y, YBAR), MARGIN, dict=True)
    except (NotImplementedError, ValueError):
        return None
    real = [s[MARGIN] for s in solutions if not s[MARGIN].has(sp.I)]
    return real[0] if len(real) == 1 else None


# ---------------------------------------------------------------------------- class axis


def _fresh_bound(expr):
    """Give every class reduction inside ``expr`` its own bound index, so that substituting for a
    free index cannot reach into a nested sum that reuses the same letter."""

    def fresh(e):
        k = sp.Dummy("k", integer=True, positive=True)
        if isinstance(e, sp.Sum):
            ((old, lo, hi),) = e.limits
            return sp.Sum(e.function.xreplace({old: k}), (k, lo, hi))
        f, old, K = e.args
        return logsumexp(f.xreplace({old: k}), k, K)

    return expr.replace(
        lambda e: (isinstance(e, sp.Sum) and len(e.limits) == 1) or isinstance(e, logsumexp),
        fresh,
    )


def collapse_deltas(expr, j):
    """Σₖ f(k)·δ(k, j) = f(j) for j in 1..K: sums that differentiation leaves over a delta."""

    def collapse(total):
        (k, lo, hi), body = total.limits[0], total.function
        out = sp.S.Zero
        for term in sp.Add.make_args(sp.expand_mul(body)):
            delta = next(
                (
                    f
                    for f in sp.Mul.make_args(term)
                    if isinstance(f, sp.KroneckerDelta) and set(f.args) == {k, j}
                ),
                None,
            )
            if delta is None:
                out += sp.Sum(term, (k, lo, hi))
            elif (lo, hi) == (1, N_CLASSES):
                out += _fresh_bound(term / delta).xreplace({k: j})
            else:  # a partial sum (the ordinal cutpoints): j contributes where lo ≤ j ≤ hi
                inside = sp.Piecewise((1, sp.And(j >= lo, j <= hi)), (0, True))
                out += _fresh_bound(term / delta).xreplace({k: j}) * inside
        return out

    expr = expr.replace(
        lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1 and e.has(sp.KroneckerDelta),
        collapse,
    )
    return rename_index(expr, CLASS_INDEX)


def derivative(expr, wrt, vector: bool):
    """∂expr/∂wrt; for a vector the per-class derivative ∂/∂wrt_j (free index :data:`J`)."""
    if vector:
        return collapse_deltas(sp.diff(expr, wrt[J]), J)
    return sp.diff(expr, wrt)


#: The mean of the observed vectors (class axis last), in a vector output's intercept.
CLASS_YBAR = sp.IndexedBase("ybar", real=True)


def _class_objective(d: Derivation) -> Objective:
    """The objective of one unconstrained vector output: K margins, the identity link."""
    loss = prepare(d.loss)[0].xreplace({d.learned[0]: CLASS_MARGIN})
    gradient = prepare(derivative(loss, CLASS_MARGIN, True))[0]
    exact = prepare(derivative(gradient, CLASS_MARGIN, True))[0]
    rng = np.random.default_rng(0)
    for classes in CHECK_CLASSES:
        if not _majorised(d, loss, exact, classes, rng):
            raise NoObjective(
                f"{d.dist.name}: {DIAGONAL_SCALE}× the diagonal of the Hessian on the class "
                "margins does not majorise the Hessian, so independent per-class boosting steps "
                "could overshoot"
            )
    surrogate = (
        f"the exact diagonal of the Hessian, ∂²loss/∂m_k², is multiplied by {DIAGONAL_SCALE}: each "
        "class's tree is fitted on its own gradient and diagonal as if the classes were "
        "independent, while the Hessian H couples them (diag(p) − p pᵀ for the softmax); "
        f"{DIAGONAL_SCALE}·diag(H) majorises H for every p and K (checked at drawn points), so "
        "the K simultaneous Newton steps never overshoot. It is xgboost's multi:softprob hessian, "
        "2p(1 − p); LightGBM's multiclass takes K/(K − 1)·p(1 − p), no majoriser for K > 2"
    )
    hessian = prepare(DIAGONAL_SCALE * exact)[0]
    intercept = _class_intercept(d, gradient, rng)
    return Objective(
        "identity", CLASS_MARGIN[J], gradient, hessian, surrogate, intercept, classes=True
    )


def _concrete(expr, classes: int, j: int | None = None):
    """expr with K = classes (class reductions written out) and the free index J = j."""
    expr = elementary(expr if j is None else expr.xreplace({J: j}))
    return expr.subs(N_CLASSES, classes).doit()


def _components(exprs):
    """A numpy function of the components of the vectors in ``exprs`` (x[1], x[2], ...), called
    with a {IndexedBase: array of K values} mapping, and returning the values of ``exprs``."""
    indexed = sorted(set().union(*(sp.sympify(e).atoms(sp.Indexed) for e in exprs)), key=str)
    plain = [sp.Dummy() for _ in indexed]
    rename = dict(zip(indexed, plain, strict=True))
    f = sp.lambdify(plain, [sp.sympify(e).xreplace(rename) for e in exprs], modules="numpy")

    def call(values):
        return f(*(values[x.base][int(x.indices[0]) - 1] for x in indexed))

    return call


def _class_draws(d: Derivation, classes: int, rng, count: int = 40) -> list[dict]:
    """Draws {IndexedBase: K values} of the observed and the margins; margins spread from
    near-uniform classes to one dominant class (where the majoriser is tight)."""
    dist = d.dist
    out = []
    for i in range(count):
        values = dist.draw(rng, classes)
        draw = {dist.sym(dist.observed): np.asarray(values[dist.observed.name], dtype=float)}
        draw[CLASS_MARGIN] = rng.normal(size=classes) * (0.3, 1.0, 3.0, 6.0)[i % 4]
        out.append(draw)
    return out


def _majorised(d: Derivation, loss, exact, classes: int, rng) -> bool:
    """At drawn points: the per-class hessian ``exact`` is the diagonal of the full Hessian of
    ``loss`` (K = classes), positive, and DIAGONAL_SCALE·diag(H) − H is positive semi-definite."""
    margins = [CLASS_MARGIN[i] for i in range(1, classes + 1)]
    full = sp.hessian(_concrete(loss, classes), margins)
    diagonal = [_concrete(exact, classes, j) for j in range(1, classes + 1)]
    values = _components([*full, *diagonal])
    with np.errstate(all="ignore"):
        for draw in _class_draws(d, classes, rng):
            got = np.asarray(values(draw), dtype=float)
            H, diag = got[: classes * classes].reshape(classes, classes), got[classes * classes :]
            scale = np.max(np.abs(H))
            if not (np.all(np.isfinite(got)) and np.all(diag > 0)):
                return False
            if not np.allclose(np.diag(H), diag, rtol=1e-9, atol=1e-15 * scale):
                return False
            slack = np.linalg.eigvalsh(DIAGONAL_SCALE * np.diag(diag) - H).min()
            if slack < -1e-12 * scale:
                return False
    return True


def _class_intercept(d: Derivation, gradient, rng):
    """The constant margins minimising the mean loss, as an expression in the class means ȳ_j:
    where the gradient is affine in y, m* solves g(ȳ, m) = 0 for every class.  Class margins are
    determined up to a common shift where the loss depends on them through log Σₖ e^(mₖ) only;
    the root taken sets it to 0 (softmax(m*) = ȳ gives m* = log ȳ).
    The root is checked at drawn means; None where there is no such closed form."""
    y = d.dist.sym(d.dist.observed)
    if sp.diff(elementary(gradient), y[J], 2) != 0:
        return None
    g = gradient.xreplace({y: CLASS_YBAR})
    shift = sp.Dummy("shift")
    g = g.replace(lambda e: isinstance(e, logsumexp) and e.has(CLASS_MARGIN), lambda e: shift)
    if any(e.has(CLASS_MARGIN) for e in g.atoms(sp.Sum)):
        return None
    try:
        roots = sp.solve(g, CLASS_MARGIN[J])
    except (NotImplementedError, ValueError):
        return None
    if len(roots) != 1:
        return None
    root = prepare(sp.expand_log(roots[0].subs(shift, 0), force=True))[0]
    for classes in CHECK_CLASSES:  # g(ȳ, m*) = 0 in every class, at drawn class means
        mean = gradient.xreplace({y: CLASS_YBAR})
        values = _components([_concrete(mean, classes, j) for j in range(1, classes + 1)])
        start = _components([_concrete(root, classes, j) for j in range(1, classes + 1)])
        for draw in _class_draws(d, classes, rng, 10):
            ybar = draw[y] / draw[y].sum()
            margins = np.asarray(start({CLASS_YBAR: ybar}), dtype=float)
            residual = np.asarray(values({CLASS_YBAR: ybar, CLASS_MARGIN: margins}), dtype=float)
            if not np.all(np.abs(residual) <= 1e-12):
                return None
    return root


# ---------------------------------------------------------------------------- shared exponentials


def share_exponentials(exprs) -> list:
    """The objective's formulas with σ(x) and σ(−x), where both occur, written over one
    e^(−|x|) that CSE then shares (two exponentials where the two σ take four):

        σ(x)·σ(−x) = e^(−|x|) / (1 + e^(−|x|))²,   σ(±x) = e^(min(±x, 0)) / (1 + e^(−|x|)),

    with e^(min(±x, 0)) spelled max(e^(−|x|), sign(±x)): e^(−|x|) ≤ 1 where sign(±x) = 1, equal to
    e^(min(±x, 0)) where sign(±x) is −1 or 0 (e^0 = 1), and NaN where x is; the same values, bit
    for bit, without the second exponential (a sign and a maximum cost half its pass).  Neither
    exponent is positive, so nothing overflows and a tiny value keeps its relative accuracy, as
    the σ helper's own form; the bernoulli-logit hessian σ(m)σ(−m) is the product."""
    exprs = [sp.sympify(e) for e in exprs]
    found = set().union(*(e.atoms(sigmoid) for e in exprs))
    pairs = {f.args[0] for f in found if sigmoid(-f.args[0]) in found}
    if not pairs:
        return exprs

    def tail(x):
        return sp.exp(-sp.Abs(x))

    def product(e):
        for x in pairs:
            if e.has(sigmoid(x)) and e.has(sigmoid(-x)):
                e = e.subs(sigmoid(x) * sigmoid(-x), tail(x) / (1 + tail(x)) ** 2)
        return e

    def spelled(f):
        x = f.args[0]
        key = x if x in pairs else -x
        return sp.Max(tail(key), sp.sign(x)) / (1 + tail(key)) if key in pairs else f

    return [product(e).replace(lambda f: isinstance(f, sigmoid), spelled) for e in exprs]
