"""Exponential-family form, derived from a derivation, and the unit deviance.

The log-density of a declaration is split, term by term, into

    log p(y | θ) = (η(θ)·T(y) − A(θ)) / φ + log h(y),

terms with y and θ as products f(θ)·g(y) (each g a sufficient statistic T_j, its coefficient the
natural parameter η_j), terms with θ alone (−A/φ), and terms free of θ (log h).  A term that
couples y and θ in any other way is the reason the entry is not an exponential family.  The form is
then proven equal to the log-density with the project's zero prover
(:func:`derive.standard.identically_zero`).  The dispersion φ is the positive factor of the
coefficient made of fixed parameters only (σ² for the Gaussian, 1/k for the gamma).

For one scalar parameter and one statistic everything a GLM needs follows from the form, with no
inversion: the mean E[T] = A′(θ)/η′(θ), the variance function V = (dE[T]/dθ)/η′(θ) = A″(η),
Var T = φ·V, the Fisher information (A″(θ) − η″(θ)·E[T])/φ, and the canonical link g(μ) = η(θ(μ))
(θ(μ) solved from E[T] = μ where the parameter is not already the mean).  The NLL is convex in the
canonical parameter because its second derivative there is V/φ > 0, which is proven.

The unit deviance is d(y, θ) = 2φ(ℓ(y; θ̂(y)) − ℓ(y; θ)), where θ̂(y) maximises the likelihood of
the single observation y (the saturated model).  Since NLL = a·loss + C, d = 2φa(loss − loss(θ̂)):
loss(θ̂), free of θ, is the constant that turns the loss into the deviance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .budget import bounded
from .derivation import distribute
from .display import linear
from .functions import COMPLEMENTS, elementary, stabilise, xlogy
from .spec import CLASS_INDEX, N_CLASSES
from .symbolic import identically_zero

#: Seconds SymPy's solver may take for a saturated model before it counts as not found.
SOLVE_SECONDS = 5.0


@dataclass(frozen=True)
class Statistic:
    """One sufficient statistic T(y) and its natural parameter η(θ) (dispersion factored out)."""

    stat: sp.Expr
    natural: sp.Expr
    vector: bool = False  # a per-class component: Σₖ ηₖ Tₖ, k the class index


@dataclass(frozen=True)
class Family:
    """An exponential-family form: log p = (Σ_j η_j T_j − A)/φ + log h, proven equal."""

    statistics: tuple[Statistic, ...]
    log_partition: sp.Expr  # A, in the declared parameters
    log_base: sp.Expr  # log h(y), may involve fixed parameters
    dispersion: sp.Expr  # φ > 0
    params: tuple  # the declared parameters θ
    curved: bool = False  # more statistics than parameters: η(θ) lies on a curve
    # the one-parameter quantities (None where the family has more than one parameter)
    mean: sp.Expr | None = None  # E[T] in θ
    variance: sp.Expr | None = None  # V = A''(η), in θ
    mean_symbol: sp.Symbol | None = None
    variance_function: sp.Expr | None = None  # V(μ)
    canonical_link: sp.Expr | None = None  # g(μ) = η
    inverse_link: sp.Expr | None = None  # g⁻¹(η) = μ
    eta_symbol: sp.Symbol | None = None
    log_partition_eta: sp.Expr | None = None  # A(η)
    fisher: sp.Expr | None = None  # I(θ) in the declared parameter
    convex: bool | None = None  # NLL convex in the canonical parameter, proven
    link_is_canonical: bool | None = None  # the declared link is the canonical one
    notes: tuple[str, ...] = ()

    @property
    def base(self) -> sp.Expr:
        """h(y) = exp(log h), each c·log u shown as u^c."""
        factors = []
        for term in sp.Add.make_args(self.log_base):
            logs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.log)]
            if len(logs) == 1:
                factors.append(logs[0].args[0] ** (term / logs[0]))
            else:
                factors.append(sp.exp(term))
        return sp.Mul(*factors)


@dataclass(frozen=True)
class Verdict:
    """The exponential-family verdict of one derivation: the form, or why there is none."""

    family: Family | None
    reason: str = ""  # one line, when family is None
    coupling: sp.Expr | None = None  # the term that couples y and θ non-linearly, if that is why
    params: tuple = ()


@dataclass(frozen=True)
class Deviance:
    """d(y, θ) = 2φ(ℓ(y; θ̂) − ℓ(y; θ)) = factor·(loss − loss_constant), proven ≥ 0."""

    unit: sp.Expr | None  # in the learned (raw) parameters, like the loss
    declared: sp.Expr | None  # in the declared parameters
    saturated: dict = field(default_factory=dict)  # declared parameter → θ̂(y)
    saturated_nll: sp.Expr | None = None  # −ℓ(y; θ̂)
    loss_constant: sp.Expr | None = None  # loss(θ̂): d = factor·(loss − loss_constant)
    factor: sp.Expr | None = None  # 2φa
    proof: str = ""
    reason: str = ""  # why there is none


# ---------------------------------------------------------------------------- helpers


def _declared_nll(d) -> sp.Expr:
    """−log p in the declared parameters, logs expanded (the derivation's "expand" step)."""
    step = next(s for s in d.steps if s.kind == "expand")
    return step.rhs


def _declared(d):
    return tuple(d.dist.sym(v) for v in d.dist.params)


def _tidy(expr) -> sp.Expr:
    """The shortest of a few equal forms (small expressions only: η, A, E[T], V): SymPy's exact
    rewrites (powsimp, cancel, factor), and logcombine, which forces log rules and so is kept only
    where the zero prover shows it equal."""
    expr = sp.sympify(expr)
    if expr.has(*COMPLEMENTS):  # a truncated family's moments, through its CDF: not small
        return expr
    inside_logs = expr.replace(sp.log, lambda a: sp.log(sp.factor(sp.cancel(sp.together(a)))))
    exact = [expr, sp.powsimp(expr), sp.factor(sp.cancel(sp.together(expr))), inside_logs]
    best = _absorb_sign(min(exact, key=_size))
    combined = sp.logcombine(best, force=True)
    if _size(combined) < _size(best) and identically_zero(combined - expr):
        return combined
    return best


def _absorb_sign(expr):
    """−a·(b − c) → a·(c − b): the minus sign taken into a sum factor, or into a sum raised to an
    odd power (μ(1 − μ), not −μ(μ − 1); 1/(p(1 − p)), not −1/(p(p − 1)))."""
    coeff, rest = expr.as_coeff_Mul()
    if not coeff.is_negative:
        return expr
    factors = list(sp.Mul.make_args(rest))
    for i, f in enumerate(factors):
        base, power = f.as_base_exp()
        if isinstance(base, sp.Add) and power.is_integer and power.is_odd:
            factors[i] = (-base) ** power
            return sp.Mul(-coeff, *factors)
    return expr


def _size(expr):
    """Operations, then occurrences of symbols (μ^(1−p) over μ·μ^(−p)), then nodes."""
    nodes = list(sp.preorder_traversal(expr))
    return sp.count_ops(expr), sum(isinstance(n, sp.Symbol) for n in nodes), len(nodes)


def _positivity_form(expr, d) -> sp.Expr:
    """``expr`` with each bounded variable written through a positive symbol u, so that SymPy's
    assumptions see its bounds: x ∈ (0, 1) as u/(1 + u), the Tweedie power as 1 + u/(1 + u)."""
    maps = {
        "unit_interval": lambda u: u / (1 + u),
        "tweedie_power": lambda u: 1 + u / (1 + u),
    }
    subs = {}
    for var in d.dist.variables:
        symbol = d.dist.sym(var)
        if var.constraint in maps and isinstance(symbol, sp.Symbol) and expr.has(symbol):
            subs[symbol] = maps[var.constraint](sp.Dummy(var.name, positive=True))
    return expr.subs(subs)


def proven_sign(expr, d, nonnegative: bool = False) -> bool:
    """True when ``expr`` is proven > 0 (or ≥ 0) under the declared constraints, by SymPy's
    assumptions on a few equal forms (1 − cos x also as 2 sin²(x/2))."""
    forms = []
    for e in (expr, elementary(expr)):
        e = _positivity_form(e, d)
        forms.append(e)
        # a truncated family's moments hold its CDF (P, Q, I) and their derivatives: factoring
        # such an expression can run for minutes and cannot decide its sign (they are opaque
        # to it; their own positivity is in the plain form's assumptions)
        if not e.has(*COMPLEMENTS):
            forms.append(sp.factor(sp.cancel(sp.together(e))))
        if e.has(sp.cos):
            forms.append(sp.expand(e.replace(sp.cos, lambda x: 1 - 2 * sp.sin(x / 2) ** 2)))
    return any((f.is_nonnegative if nonnegative else f.is_positive) is True for f in forms)


def xlogy_form(expr, y, params=()):
    """Σ c·log u gathered by u, and C·log u written xlogy(C, u) where C involves the data: the two
    differ only where C = 0 and u = 0, where C·log u is nan and the limit is 0 (y log y at y = 0,
    y log p at p = y = 0)."""
    logs: dict = {}
    rest = []
    for term in sp.Add.make_args(distribute(expr)):
        found = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.log)]
        if len(found) == 1:
            logs[found[0].args[0]] = logs.get(found[0].args[0], 0) + term / found[0]
        else:
            rest.append(term)
    out = [
        _xlogy(sp.factor(c), u) if c.has(y) and u.has(y, *params) else c * sp.log(u)
        for u, c in logs.items()
    ]
    return sp.Add(*rest, *out)


def _xlogy(c, u):
    """xlogy(c, u) with the sign and numbers outside: −2·xlogy(y, y), not xlogy(−2y, y)."""
    if c == 0:
        return sp.S.Zero
    number, rest = c.as_coeff_Mul()
    if rest.could_extract_minus_sign():
        number, rest = -number, -rest
    return number * xlogy(rest, u)


def _expand_coupled(term, y):
    """Multiply out a term in which y and a parameter meet, so that products separate:
    (y − μ)² → y² − 2yμ + μ², (y/λ)^k → y^k λ^(−k), cos(y − μ) → cos y cos μ + sin y sin μ."""
    term = sp.expand_trig(term) if term.has(sp.cos, sp.sin) else term
    term = sp.expand_power_base(term, force=True)
    return sp.Add.make_args(sp.expand(term, log=False, power_base=True))


def _separate(term, y, params):
    """(f(θ), g(y), vector) with term = f·g, or None where y and θ do not separate."""
    coeff, rest = term.as_independent(y, as_Add=False)
    if rest.has(*params):
        body = [f for f in sp.Mul.make_args(rest) if isinstance(f, sp.Sum)]
        if len(body) == 1 and len(body[0].limits) == 1:
            outer = sp.Mul(*(f for f in sp.Mul.make_args(rest) if f is not body[0]))
            inner = _separate(body[0].function, y, params)
            if inner is not None and not outer.has(*params):
                f, g, _ = inner
                index = body[0].limits[0][0]
                return (
                    coeff * f.xreplace({index: CLASS_INDEX}),
                    outer * g.xreplace({index: CLASS_INDEX}),
                    True,
                )
        return None
    numeric, stat = rest.as_coeff_Mul()
    return coeff * numeric, stat, False


def _cut(text: str, limit: int = 160) -> str:
    """A long term shown by its start (a censored likelihood's Piecewise is pages long)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dispersion(natural, params):
    """φ: the product of the proven-positive factors of η that involve only fixed parameters."""
    if not isinstance(natural, sp.Mul):
        return sp.S.One
    factors = [f for f in natural.args if f.free_symbols and not f.has(*params) and f.is_positive]
    return 1 / sp.Mul(*factors) if factors else sp.S.One


# ---------------------------------------------------------------------------- the form


def _not_one(d) -> str:
    """A reason known before any algebra: a support that moves with a parameter, a mixture."""
    dist = d.dist
    declared = _declared(d)
    for bound in dist.support_bounds:
        if sp.sympify(bound).has(*declared):
            return f"not an exponential family: the support depends on {bound}"
    density = d.density
    if isinstance(density, sp.Sum) and density.has(*declared):
        return "not an exponential family: a mixture (the density is a sum over components)"
    return ""


def form(d) -> Verdict:
    """The exponential-family form of a derivation, proven, or the one-line reason it is not."""
    reason = _not_one(d)
    if reason:
        return Verdict(None, reason)
    y = d.observed
    params = _declared(d)
    logp = -_declared_nll(d)
    coupled: dict[tuple, sp.Expr] = {}  # (T, vector) → Σ η/φ
    partition, base = [], []
    for raw_term in sp.Add.make_args(sp.expand_mul(logp)):
        if not raw_term.has(*params):
            base.append(raw_term)
            continue
        if not raw_term.has(y):
            partition.append(raw_term)
            continue
        for term in _expand_coupled(raw_term, y):
            if not term.has(*params):
                base.append(term)
            elif not term.has(y):
                partition.append(term)
            else:
                parts = _separate(term, y, params)
                if parts is None:
                    shown = raw_term if raw_term.count_ops() < 40 else term
                    return Verdict(
                        None,
                        "not an exponential family: y and "
                        + ", ".join(map(linear, params))
                        + f" are coupled non-linearly in {_cut(linear(shown))}",
                        coupling=shown,
                        params=params,
                    )
                f, g, vector = parts
                coupled[(g, vector)] = coupled.get((g, vector), sp.S.Zero) + f
    if not coupled:
        return Verdict(None, "not an exponential family: no term couples y and the parameters")
    keys = list(coupled)
    naturals_full = [sp.factor_terms(coupled[key]) for key in keys]
    phis = {_dispersion(n, params) for n in naturals_full}
    phi = phis.pop() if len(phis) == 1 else sp.S.One
    statistics = tuple(
        Statistic(stat, _tidy(n * phi), vector)
        for (stat, vector), n in zip(keys, naturals_full, strict=True)
    )
    log_partition = _tidy(-phi * sp.Add(*partition))
    log_base = sp.Add(*base)
    if not _proven_form(statistics, log_partition, log_base, phi, logp):
        return Verdict(None, "the separated form could not be proven equal to the log-density")
    n_params = sum(1 for v in d.dist.params)
    vector_params = any(v.vector for v in d.dist.params)
    curved = not vector_params and len(statistics) > n_params
    family = Family(statistics, log_partition, log_base, phi, params, curved=curved)
    if len(statistics) == 1 and n_params == 1 and not vector_params and not curved:
        family = _one_parameter(d, family)
    else:
        notes = []
        if curved:
            notes.append(
                f"curved: {len(statistics)} statistics for {n_params} parameter(s), so η(θ) lies "
                "on a curve; no canonical link"
            )
        else:
            notes.append(
                "several parameters: the mean and variance functions are given for "
                "one-parameter families only"
            )
        family = Family(**{**family.__dict__, "notes": tuple(notes)})
    return Verdict(family)


def _proven_form(statistics, log_partition, log_base, phi, logp) -> bool:
    coupled = []
    for s in statistics:
        product = s.natural * s.stat
        if s.vector:
            product = sp.Sum(product, (CLASS_INDEX, 1, N_CLASSES))
        coupled.append(product)
    rebuilt = (sp.Add(*coupled) - log_partition) / phi + log_base
    difference = rebuilt - logp
    if difference.has(sp.cos, sp.sin):  # cos(y − μ) was separated by the angle-sum identity
        difference = sp.expand_trig(difference)
    return identically_zero(difference)


def _solve_unique(equation, symbol):
    """The one solution of ``equation = 0`` for ``symbol``, or None (also when SymPy's solver
    runs out of time or recurses without end, as it does on a CDF difference)."""
    if any(f.has(symbol) for f in sp.sympify(equation).atoms(*COMPLEMENTS)):
        # the unknown inside a regularized incomplete gamma or beta (a censored, discretised or
        # truncated likelihood's CDF): SymPy has no inverse of them and would spend the whole
        # time limit to return nothing (5 s of `derive code gamma --discretised 1`)
        return None
    solutions = bounded(lambda: sp.solve(equation, symbol, dict=True), SOLVE_SECONDS)
    if solutions is None:
        return None
    values = [s[symbol] for s in solutions if symbol in s]
    return values[0] if len(values) == 1 else None


def _one_parameter(d, family: Family) -> Family:
    """Mean, variance function, canonical link, Fisher information and convexity, from the form."""
    (theta,) = family.params
    (stat,) = family.statistics
    eta_t, A_t, phi = stat.natural, family.log_partition, family.dispersion
    d_eta = sp.diff(eta_t, theta)
    mean = _tidy(sp.diff(A_t, theta) / d_eta)
    variance = _tidy(sp.diff(mean, theta) / d_eta)
    fisher = _tidy((sp.diff(A_t, theta, 2) - sp.diff(eta_t, theta, 2) * mean) / phi)
    mean_positive = proven_sign(mean, d)
    mu = sp.Symbol("mu", positive=True) if mean_positive else sp.Symbol("mu", real=True)
    sign = {True: "positive", False: "negative"}
    eta_sign = next((sign[s] for s in (True, False) if proven_sign(eta_t if s else -eta_t, d)), "")
    eta = sp.Symbol("eta", **({eta_sign: True} if eta_sign else {"real": True}))
    notes = []
    if A_t.has(*COMPLEMENTS):
        # a truncated family: A(θ) holds the untruncated CDF (P, Q, I), which no solver inverts
        # (SymPy's runs to its time limit): the mean is A′(θ), with no θ(μ) in closed form
        theta_of_mu = None
        notes.append("truncated: the mean A′(θ) holds the CDF, θ(μ) has no closed form")
    else:
        theta_of_mu = mu if identically_zero(mean - theta) else _solve_unique(mean - mu, theta)
    variance_function = link = inverse = A_eta = None
    if theta_of_mu is not None:
        variance_function = _tidy(variance.subs(theta, theta_of_mu))
        link = _tidy(eta_t.subs(theta, theta_of_mu))
        inverse_mu = _solve_unique(link - eta, mu)
        if inverse_mu is not None:
            inverse = _tidy(inverse_mu)
    theta_of_eta = _solve_unique(eta_t - eta, theta)
    if theta_of_eta is not None:
        A_eta = _tidy(A_t.subs(theta, theta_of_eta))
        if inverse is None:
            inverse = _tidy(mean.subs(theta, theta_of_eta))
    convex = proven_sign(variance / phi, d)
    if not convex:
        notes.append("A″(η) = V > 0 could not be proven under the declared constraints")
    canonical = None
    link_decl = {link_.param: link_ for link_ in d.dist.links}
    if theta.name in link_decl:
        raw = d.dist.symbols[link_decl[theta.name].raw.name]
        composed = eta_t.subs(theta, d.dist.link_expr(link_decl[theta.name]))
        canonical = identically_zero(composed - raw)
    elif not d.dist.links:
        canonical = bool(identically_zero(eta_t - theta))
    return Family(
        **{
            **family.__dict__,
            "mean": mean,
            "variance": variance,
            "mean_symbol": mu,
            "variance_function": variance_function,
            "canonical_link": link,
            "inverse_link": inverse,
            "eta_symbol": eta,
            "log_partition_eta": A_eta,
            "fisher": fisher,
            "convex": convex,
            "link_is_canonical": canonical,
            "notes": tuple(notes),
        }
    )


_VERDICTS: dict[tuple, Verdict] = {}


def verdict(d) -> Verdict:
    """:func:`form`, memoised per declaration (by its fingerprint)."""
    key = (d.dist.name, d.dist.fingerprint())
    if key not in _VERDICTS:
        _VERDICTS[key] = form(d)
    return _VERDICTS[key]


# ---------------------------------------------------------------------------- deviance


def _saturated(d, family):
    """θ̂(y) for the one declared scalar parameter: E[T] = T(y) for an exponential family, else y
    itself where θ lives where y does (a location), else the one root of ∂NLL/∂θ."""
    (theta,) = _declared(d)
    y = d.observed
    if family is not None and family.mean is not None:
        (stat,) = family.statistics
        if family.mean.has(*COMPLEMENTS):  # a truncated family's mean holds its CDF (P, Q, I):
            return None  # E_θ[T] = T(y) has no solution in closed form (and proving so is slow)
        if identically_zero(family.mean - theta):
            return stat.stat
        return _solve_unique(family.mean - stat.stat, theta)
    nll = _declared_nll(d)
    gradient = sp.diff(elementary(nll), theta)
    if identically_zero(gradient.subs(theta, y)) or not gradient.has(theta):
        return y
    root = _solve_unique(gradient, theta)
    if root is not None:
        return root
    return y  # a location whose gradient has a kink at y (|y − μ|): proven below or refused


def deviance(d) -> Deviance:
    """The unit deviance of a derivation, or the reason there is none."""
    dist = d.dist
    params = _declared(d)
    if "mixture" in _not_one(d):
        return Deviance(None, None, reason=f"no saturated model for {dist.name}: a mixture")
    if dist.also_observed:  # refused before any solve: the search is slow and cannot succeed
        return Deviance(
            None,
            None,
            reason=f"no saturated model for {dist.name}: a censored observation is an interval, "
            "whose probability has its supremum at a boundary of the parameter",
        )
    # as above: refused before the search, which is slow (seconds) and finds no closed form
    unsaturated = {
        "--truncated": "the truncation's normaliser depends on the parameter",
        "--discretised": "the probability of a bin is a difference of CDFs",
    }
    for modifier, why in unsaturated.items():
        if any(m.startswith(modifier) for m in dist.modifiers):
            return Deviance(
                None,
                None,
                reason=f"no saturated model for {dist.name}: {why}, so the maximiser of one "
                "observation's likelihood has no closed form",
            )
    if len(params) != 1 or any(v.vector for v in dist.params):
        if any(v.vector for v in dist.params):
            why = "a vector family: the saturated model is not derived for vector parameters"
        else:
            why = (
                f"{len(params)} learned parameters: one observation's likelihood has no "
                "maximiser over them in closed form (with a scale or a concentration learned "
                "it is unbounded)"
            )
        return Deviance(None, None, reason=f"no saturated model for {dist.name}: {why}")
    v = verdict(d)
    family = v.family
    (theta,) = params
    hat = _saturated(d, family)
    if hat is None:
        return Deviance(
            None, None, reason=f"no saturated model for {dist.name}: θ̂(y) has no closed form"
        )
    phi = family.dispersion if family is not None else sp.S.One
    nll = _declared_nll(d)
    saturated_nll = nll.subs(theta, hat)
    declared_dev = 2 * phi * (nll - saturated_nll)
    proof = ""
    if family is not None and family.mean is not None and family.convex:
        proof = (
            "exponential family: ℓ(y; η) is strictly concave in η (A″ = V > 0, proven) and "
            "stationary where E[T] = T(y), so θ̂ is its unique maximiser"
        )
    elif proven_sign(sp.expand_log(declared_dev, force=True), d, nonnegative=True):
        proof = "d ≥ 0 proven from the declared constraints (SymPy's assumptions)"
    else:
        convex = proven_sign(sp.diff(elementary(nll), theta, 2), d)
        stationary = identically_zero(sp.diff(elementary(nll), theta).subs(theta, hat))
        if convex and stationary:
            proof = "∂²NLL/∂θ² > 0 (proven) and ∂NLL/∂θ = 0 at θ̂: θ̂ is the unique maximiser"
    if not proof:
        return Deviance(
            None,
            None,
            reason=f"no saturated model for {dist.name}: θ̂ = {sp.sstr(hat)} was not proven to "
            "maximise the likelihood of one observation",
        )
    if not identically_zero(declared_dev.subs(theta, hat)):
        return Deviance(None, None, reason=f"d(y, θ̂) = 0 could not be proven for {dist.name}")
    # the loss is in the learned (raw) parameters: d = 2φa(loss − loss_constant)
    factor = 2 * phi * d.scale
    y = d.observed
    saturated_stable = stabilise(sp.expand_log(saturated_nll, force=True))[0]
    loss_constant = xlogy_form(
        _terms((saturated_stable - d.dropped) / d.scale, y, params), y, params
    )
    if _zero_on_finite_support(loss_constant, d):
        loss_constant = sp.S.Zero
    unit = factor * (d.loss - loss_constant)
    return Deviance(
        unit=unit,
        declared=xlogy_form(_terms(sp.expand_log(declared_dev, force=True), y, params), y, params),
        saturated={theta: hat},
        saturated_nll=saturated_nll,
        loss_constant=loss_constant,
        factor=factor,
        proof=proof,
    )


def _zero_on_finite_support(expr, d) -> bool:
    """Whether ``expr`` (in y and fixed parameters) is exactly 0 at every point of a finite
    numeric support, such as the labels {0, 1}: then it is 0 wherever y can be."""
    lo, hi = d.dist.support_bounds
    if not d.dist.discrete or not (sp.sympify(lo).is_Integer and sp.sympify(hi).is_Integer):
        return False
    return all(expr.subs(d.observed, v) == 0 for v in range(int(lo), int(hi) + 1))


def _terms(expr, y, params):
    """Expanded, powers gathered (μ²·μ^(−p) → μ^(2−p)), and the terms with the same dependence
    on y and θ combined, their coefficient factored."""
    groups: dict = {}
    for term in sp.Add.make_args(distribute(sp.expand_log(expr, force=True))):
        coeff, dependent = sp.powsimp(term).as_independent(y, *params, as_Add=False)
        groups[dependent] = groups.get(dependent, 0) + coeff
    return sp.Add(*(sp.factor(c) * dependent for dependent, c in groups.items()))
