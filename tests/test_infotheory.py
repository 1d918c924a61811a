"""Entropy, cross-entropy and KL (derive.infotheory) against independent oracles.

torch.distributions (kl_divergence, entropy) where it has the pair, numerical integration or
summation of scipy.stats log-densities where it does not; the declared expectations against
quadrature; the proofs (H(P, Q) = H(P) + KL, KL(P ‖ P) = 0, stationarity at Q = P), KL ≥ 0 at
random parameters, infinite and bad pairs, the classics.  torch is a test-only oracle.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from oracles import SCIPY
from scipy import integrate, special, stats

import derive.infotheory as it
from derive.catalog import CATALOG
from derive.errors import UserError
from derive.numeric import evaluate
from derive.spec import Moment

torch = pytest.importorskip("torch")
# scipy's log-densities overflow harmlessly far in the tails, where the integrands are cut off
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
D = torch.distributions

K = 3  # classes drawn for vector families

# The families against themselves, and cross-family pairs whose KL is finite and closed.
SELF = [
    "gaussian",
    "gaussian-hetero",
    "laplace",
    "bernoulli",
    "bernoulli-logit",
    "categorical",
    "categorical-logit",
    "poisson",
    "poisson-log",
    "exponential",
    "gamma",
    "beta",
    "dirichlet",
    "lognormal",
    "weibull",
    "cauchy",
    "von-mises",
    "binomial",
]
CROSS = [
    ("gaussian", "laplace"),
    ("laplace", "gaussian"),
    ("gaussian", "gaussian-hetero"),
    ("bernoulli", "poisson"),
    ("bernoulli", "binomial"),
    ("binomial", "poisson"),
    ("exponential", "gamma"),
    ("gamma", "exponential"),
    ("exponential", "gaussian"),
    ("gamma", "gaussian"),
    ("beta", "gaussian"),
    ("beta", "exponential"),
    ("beta", "gamma"),
    ("exponential", "weibull"),
    ("exponential", "laplace"),
    ("lognormal", "gamma"),
    ("gamma", "lognormal"),
    ("beta", "lognormal"),
]
PAIRS = [(n, n) for n in SELF] + CROSS
INFINITE = [
    ("gaussian", "exponential", "is not inside"),
    ("gaussian", "gamma", "is not inside"),
    ("laplace", "beta", "is not inside"),
    ("exponential", "beta", "is not inside"),
    ("poisson", "bernoulli", "is not inside"),
    ("gaussian", "poisson", "is continuous"),
    ("poisson", "gaussian", "is discrete"),
    ("categorical", "dirichlet", "is discrete"),
    ("dirichlet", "categorical", "is continuous"),
]


def _ids(pairs):
    return [f"{p}-{q}" for p, q, *_ in pairs]


# ---------------------------------------------------------------------------- oracles


def _t(x):
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


#: catalog name -> the torch distribution of the declared parameters (values by name)
TORCH = {
    "gaussian": lambda v: D.Normal(_t(v["mu"]), _t(v["sigma"])),
    "gaussian-hetero": lambda v: D.Normal(_t(v["mu"]), _t(v["sigma"])),
    "laplace": lambda v: D.Laplace(_t(v["mu"]), _t(v["b"])),
    "bernoulli": lambda v: D.Bernoulli(probs=_t(v["p"])),
    "bernoulli-logit": lambda v: D.Bernoulli(probs=_t(v["p"])),
    "categorical": lambda v: D.Categorical(probs=_t(v["p"])),
    "categorical-logit": lambda v: D.Categorical(probs=_t(v["p"])),
    "poisson": lambda v: D.Poisson(_t(v["lambda"])),
    "poisson-log": lambda v: D.Poisson(_t(v["lambda"])),
    "exponential": lambda v: D.Exponential(_t(v["lambda"])),
    "gamma": lambda v: D.Gamma(_t(v["shape"]), _t(v["shape"] / v["mu"])),
    "beta": lambda v: D.Beta(_t(v["a"]), _t(v["b"])),
    "dirichlet": lambda v: D.Dirichlet(_t(v["alpha"])),
    "lognormal": lambda v: D.LogNormal(_t(v["mu"]), _t(v["sigma"])),
    "weibull": lambda v: D.Weibull(_t(v["lambda"]), _t(v["k"])),
    "cauchy": lambda v: D.Cauchy(_t(v["mu"]), _t(v["gamma"])),
    "binomial": lambda v: D.Binomial(int(v["n"]), probs=_t(v["p"])),
}


def _draw(pair, rng):
    """Values from the declared constraints: (symbol -> value for P, for Q; name -> value, …)."""
    out = []
    for dist in (pair.p, pair.q or pair.p):
        by_name = {}
        for v in (*dist.params, *dist.fixed):
            by_name[v.name] = v.draw(rng, K)
        out.append(by_name)
    if pair.q is not None:  # supports bounded by a parameter (the binomial's n) must nest
        top_p, top_q = (_top(d, v) for d, v in ((pair.p, out[0]), (pair.q, out[1])))
        bound_by = sp.sympify(pair.p.support_bounds[1])
        if top_p > top_q and isinstance(bound_by, sp.Symbol):
            out[0][bound_by.name] = top_q
    bound_p = {s: out[0][v.name] for s, v in zip(pair.params_p, _vars(pair.p), strict=True)}
    bound_q = {}
    if pair.q is not None:
        bound_q = {s: out[1][v.name] for s, v in zip(pair.params_q, _vars(pair.q), strict=True)}
    return bound_p, bound_q, out[0], out[1]


def _vars(dist):
    return (*dist.params, *dist.fixed)


def _top(dist, values):
    """The upper end of the support at parameter values (by name)."""
    hi = sp.sympify(dist.support_bounds[1])
    return float(hi.xreplace({dist.symbols[n]: x for n, x in values.items()}))


#: log-densities in mpmath, where float64 cannot resolve y near a singular end of the support
MPMATH = {
    "beta": lambda v: (
        lambda y: (
            (v["a"] - 1) * mpmath.log(y)
            + (v["b"] - 1) * mpmath.log1p(-y)
            - mpmath.log(mpmath.beta(v["a"], v["b"]))
        )
    ),
}


def _scipy_logpdf(dist, values):
    """log p(y) from scipy.stats (tests/oracles.py), in the declared parameters; an mpmath
    log-density (taking mpmath numbers) for the families in MPMATH."""
    if dist.name in MPMATH:
        return MPMATH[dist.name](values)
    name = {"bernoulli-logit": "bernoulli", "poisson-log": "poisson"}.get(dist.name, dist.name)
    logpdf = SCIPY[name]
    return lambda y: float(logpdf({**values, "y": float(y)}))


def _expect(dist, values, f, breaks=()):
    """𝔼_P[f(y)] by numerical integration / summation of scipy's density (scalar y).

    On (0, ∞) and (0, 1) the integral is taken in u = log y or u = logit y, which tames heavy
    tails and endpoint singularities; on ℝ it is split at ``breaks`` (kinks of f)."""
    logp = _scipy_logpdf(dist, values)
    lo, hi = dist.support_bounds
    if dist.discrete:
        top = int(_top(dist, values)) if _top(dist, values) != math.inf else 400
        total = 0.0
        for y in range(int(lo), top + 1):
            lp = logp(float(y))
            if lp > -300:
                total += math.exp(lp) * f(float(y))
        return total
    if dist.name in MPMATH:  # tanh-sinh quadrature at 30 digits resolves y near the ends
        with mpmath.workdps(20):
            return float(mpmath.quad(lambda y: mpmath.exp(logp(y)) * f(y), [lo, 0.5, hi]))
    lo, hi = float(lo), float(hi)
    if (lo, hi) == (0.0, math.inf):
        lo, hi = -math.inf, math.inf

        def to_y(u):
            return math.exp(u) if u < 700 else math.inf

        jacobian = to_y
    elif (lo, hi) == (0.0, 1.0):
        to_y, lo, hi = special.expit, -math.inf, math.inf

        def jacobian(u):
            return special.expit(u) * special.expit(-u)
    else:
        to_y, jacobian = (lambda u: u), (lambda u: 1.0)

    support = tuple(float(b) for b in dist.support_bounds)

    def integrand(u):
        y = to_y(u)
        if not 0 < jacobian(u) < math.inf or y in support:  # y rounded onto the boundary
            return 0.0
        lp = logp(y) + math.log(jacobian(u))
        if lp < -300:  # negligible, and where scipy's log-densities underflow to −∞
            return 0.0
        value = math.exp(lp) * f(y)
        assert math.isfinite(value), (dist.name, values, y)
        return value

    edges = [lo, *sorted(b for b in breaks if lo < b < hi), hi]
    return sum(
        integrate.quad(integrand, a, b, limit=200, epsabs=1e-13, epsrel=1e-11)[0]
        for a, b in itertools.pairwise(edges)
    )


def _torch_kl(p, q, vp, vq):
    if p.name not in TORCH or q.name not in TORCH:
        return None
    try:
        return float(D.kl_divergence(TORCH[p.name](vp), TORCH[q.name](vq)))
    except NotImplementedError:
        return None


def _torch_entropy(p, vp):
    if p.name not in TORCH:
        return None
    try:
        return float(TORCH[p.name](vp).entropy())
    except NotImplementedError:
        return None


def _value(expr, bound):
    return float(evaluate(expr, bound, dps=30))


# ---------------------------------------------------------------------------- pairs vs oracles


@pytest.mark.parametrize("p, q", PAIRS, ids=_ids(PAIRS))
def test_pair_matches_oracles(p, q):
    pair = it.divergence(p, q)
    assert pair.infinite is None and pair.kl.is_finite is not False
    rng = np.random.default_rng(20261130 + len(p) * 31 + len(q))
    for draw in range(3):
        bound_p, bound_q, vp, vq = _draw(pair, rng)
        bound = {**bound_p, **bound_q}
        kl = _value(pair.kl, bound)
        entropy = _value(pair.entropy_p, bound_p)
        cross = _value(pair.cross_entropy, bound)
        assert kl >= -1e-10, (vp, vq)
        if (ref := _torch_kl(pair.p, pair.q, vp, vq)) is not None:
            assert kl == pytest.approx(ref, rel=1e-8, abs=1e-10), (vp, vq)
        if (ref := _torch_entropy(pair.p, vp)) is not None:
            assert entropy == pytest.approx(ref, rel=1e-8, abs=1e-10), vp
        if draw == 0 and not pair.p.observed.vector:  # numerically, from scipy's log-densities
            logp, logq = _scipy_logpdf(pair.p, vp), _scipy_logpdf(pair.q, vq)
            breaks = [v["mu"] for v in (vp, vq) if "mu" in v]
            reference = _expect(pair.p, vp, lambda y, logq=logq: -logq(y), breaks)
            assert cross == pytest.approx(reference, rel=1e-6), (vp, vq)
            reference = _expect(pair.p, vp, lambda y, logp=logp: -logp(y), breaks)
            assert entropy == pytest.approx(reference, rel=1e-6, abs=1e-9), vp
            ratio = lambda y, logp=logp, logq=logq: logp(y) - logq(y)  # noqa: E731
            reference = _expect(pair.p, vp, ratio, breaks)
            assert kl == pytest.approx(reference, rel=1e-6, abs=1e-9), (vp, vq)


@pytest.mark.parametrize("p, q", PAIRS, ids=_ids(PAIRS))
def test_identity_and_self_divergence_are_proven(p, q):
    pair = it.divergence(p, q)
    assert pair.proofs["identity"] is True
    if it._same_family(pair.p, pair.q):
        assert pair.proofs["self"] is True
        assert pair.proofs.get("stationary", True) is True
    assert not pair.explicit or pair.p.discrete  # only series over counts stay explicit


def test_poisson_entropy_is_an_explicit_series_and_its_kl_is_closed():
    pair = it.divergence("poisson", "poisson")
    (explicit,) = pair.explicit
    assert explicit.source == "series-explicit" and explicit.stat == sp.log(sp.factorial(pair.y))
    assert pair.entropy_p.has(sp.Sum) and not pair.kl.has(sp.Sum)
    lam_p, lam_q = pair.params_p[0], pair.params_q[0]
    assert pair.kl == lam_p * sp.log(lam_p / lam_q) - lam_p + lam_q
    value = _value(pair.entropy_p, {lam_p: 3.7})
    assert value == pytest.approx(stats.poisson(3.7).entropy(), rel=1e-10)
    assert any("no closed form" in note for note in pair.notes())


def test_the_familiar_gaussian_form():
    pair = it.divergence("gaussian", "gaussian")
    mu_p, s_p, mu_q, s_q = sp.symbols("mu_p sigma_p mu_q sigma_q", positive=True)
    mu_p, mu_q = sp.Symbol("mu_p", real=True), sp.Symbol("mu_q", real=True)
    familiar = sp.log(s_q / s_p) + (s_p**2 + (mu_p - mu_q) ** 2) / (2 * s_q**2) - sp.S.Half
    assert pair.kl == familiar
    assert (
        str(pair.kl)
        == "log(sigma_q/sigma_p) - 1/2 + (sigma_p**2 + (mu_p - mu_q)**2)/(2*sigma_q**2)"
    )
    assert [str(s) for s in pair.params_p] == ["mu_p", "sigma_p"]


def test_proofs_can_fail():
    pair = it.divergence("gaussian", "gaussian")
    assert not it.is_zero(pair.cross_entropy - pair.entropy_p - pair.kl + sp.log(2))
    assert not it.is_zero(pair.kl)  # KL(P ‖ Q) itself is not identically zero
    mu_p = pair.params_p[0]
    assert not it.is_zero(pair.kl - mu_p**2 + mu_p**2 * (1 + sp.Rational(1, 10**12)))


def test_kl_is_nonnegative_at_many_random_parameters():
    rng = np.random.default_rng(7)
    for p, q in PAIRS:
        pair = it.divergence(p, q)
        for _ in range(2):
            bound_p, bound_q, vp, vq = _draw(pair, rng)
            assert _value(pair.kl, {**bound_p, **bound_q}) >= -1e-10, (p, q, vp, vq)


# ---------------------------------------------------------------------------- declared expectations


def _arguments(kind, value, side, values, rng):
    """(symbolic, numeric) arguments to check a declared statistic at: random where the
    declaration allows any, the ones it names (``Moment.at``) where it covers only those."""
    if isinstance(value, Moment) and value.at is not None:
        bound = {side.symbols[n]: x for n, x in values.items()}
        return [(value.at, tuple(float(sp.sympify(a).xreplace(bound)) for a in value.at))]
    m = float(rng.uniform(-2, 2))
    if kind in ("(y - m)^2", "|y - m|", "cos(y - m)", "(log y - m)^2"):
        return [((sp.Float(x),), (x,)) for x in (-abs(m), abs(m))]
    if kind == "y^s":
        return [((sp.Float(x),), (x,)) for x in (float(rng.uniform(0.3, 2.5)), 1.0)]
    if kind == "log(1 + ((y - m)/g)^2)":
        g = float(rng.uniform(0.2, 5))
        return [((sp.Float(m), sp.Float(g)), (m, g))]
    return [((), ())]


_STATISTIC = {
    "y": lambda y: y,
    "(y - m)^2": lambda y, m: (y - m) ** 2,
    "|y - m|": lambda y, m: abs(y - m),
    "y^s": lambda y, s: y**s,
    "log y": lambda y: mpmath.log(y),
    "log(1 - y)": lambda y: mpmath.log1p(-y),
    "(log y - m)^2": lambda y, m: (mpmath.log(y) - m) ** 2,
    "log(1 + ((y - m)/g)^2)": lambda y, m, g: math.log1p(((y - m) / g) ** 2),
    "log(1 + exp(-(y - m)/g))": lambda y, m, g: np.logaddexp(0, -(y - m) / g),
    "cos(y - m)": lambda y, m: math.cos(y - m),
}

SCALAR_FAMILIES = [n for n, d in CATALOG.items() if d.expectations and not d.observed.vector]


def _declared(value, symbolic):
    """The declared value at ``symbolic`` arguments as a Moment, or None (no closed form)."""
    declared = value(*symbolic) if callable(value) else value
    if declared is None or isinstance(declared, Moment):
        return declared
    return Moment(declared)


@pytest.mark.parametrize("name", SCALAR_FAMILIES)
def test_declared_expectations_match_quadrature(name):
    dist = CATALOG[name]
    side = it._Side(dist, "p")
    table = dist.expectations(side.y, *side.params)
    rng = np.random.default_rng(11)
    values = {v.name: v.draw(rng) for v in _vars(dist)}
    bound = {side.symbols[n]: x for n, x in values.items()}
    checked = expected = 0
    for kind, value in table.items():
        for symbolic, numeric in _arguments(kind, value, side, values, rng):
            declared = _declared(value, symbolic)
            if declared is None:  # no closed form there: nothing declared
                continue
            expected += 1
            if not sp.sympify(declared.exists).xreplace(bound):
                continue  # does not exist here: tests/test_infotheory_conditions.py checks that
            f = _STATISTIC[kind]
            breaks = [x for x in (*numeric[:1], values.get("mu")) if x is not None]
            reference = _expect(dist, values, lambda y, f=f, a=numeric: f(y, *a), breaks)
            assert _value(declared.value, bound) == pytest.approx(reference, rel=1e-7, abs=1e-9), (
                kind,
                numeric,
                values,
            )
            checked += 1
    if checked == 0:
        pytest.skip(f"{name}: no declared expectation exists at the drawn parameters")
    assert checked <= expected


def test_expectations_are_declared_only_where_they_exist():
    side = it._Side(CATALOG["exponential"], "p")
    table = CATALOG["exponential"].expectations(side.y, *side.params)
    assert table["y^s"](sp.Integer(-1)).exists is sp.false  # 𝔼[1/y] = ∞ under the exponential
    assert table["y^s"](sp.Rational(-1, 2)).exists is sp.true
    side = it._Side(CATALOG["student-t"], "p")
    table = CATALOG["student-t"].expectations(side.y, *side.params)
    mu, nu, s = side.params
    engine = it._Expectations(side)
    term = table["log(1 + ((y - m)/g)^2)"]
    assert term.at is not None and not all(map(it._equal, (mu + 1, sp.sqrt(nu) * s), term.at))
    engine.statistic(sp.log(1 + (side.y - mu) ** 2 / (nu * s**2)))
    assert engine.used[sp.log(1 + (side.y - mu) ** 2 / (nu * s**2))].source == "declared"


def test_declared_vector_expectations():
    rng = np.random.default_rng(5)
    alpha = rng.uniform(0.2, 5, K)
    side = it._Side(CATALOG["dirichlet"], "p")
    table = CATALOG["dirichlet"].expectations(side.y, *side.params)
    bound = {side.params[0]: alpha}
    for k in range(1, K + 1):
        # the marginal of a Dirichlet component is Beta(α_k, Σα − α_k)
        marginal = stats.beta(alpha[k - 1], alpha.sum() - alpha[k - 1])
        log_mean, _ = integrate.quad(
            lambda y, marginal=marginal: math.log(y) * marginal.pdf(y), 0, 1, limit=200
        )
        assert _value(table["log y_k"](k), bound) == pytest.approx(log_mean, rel=1e-8)
        assert _value(table["y_k"](k), bound) == pytest.approx(marginal.mean(), rel=1e-12)
        assert log_mean == pytest.approx(
            special.digamma(alpha[k - 1]) - special.digamma(alpha.sum())
        )
    p = rng.dirichlet(np.ones(K))
    side = it._Side(CATALOG["categorical"], "p")
    table = CATALOG["categorical"].expectations(side.y, *side.params)
    onehots = np.eye(K)
    for k in range(1, K + 1):  # 𝔼[y_k] = Σ_j p_j e_j[k]
        assert _value(table["y_k"](k), {side.params[0]: p}) == pytest.approx(p @ onehots[:, k - 1])


# ---------------------------------------------------------------------------- infinite, bad pairs


@pytest.mark.parametrize("p, q, why", INFINITE, ids=_ids(INFINITE))
def test_infinite_pairs_say_why(p, q, why):
    pair = it.divergence(p, q)
    assert pair.kl == sp.oo and pair.cross_entropy == sp.oo
    assert why in pair.infinite and p in pair.infinite and q in pair.infinite
    assert pair.entropy_p.is_finite is not False
    rng = np.random.default_rng(3)
    _, _, vp, vq = _draw(pair, rng)
    if (ref := _torch_kl(pair.p, pair.q, vp, vq)) is not None:
        assert ref == math.inf


def test_support_condition_on_fixed_parameters():
    pair = it.divergence("binomial", "binomial")
    assert pair.condition is not None and pair.infinite is None
    assert "n_p ≤ n_q" in " ".join(pair.notes())
    n_p, n_q = pair.params_p[1], pair.params_q[1]
    assert pair.condition.subs({n_p: 3, n_q: 5}) is sp.true
    assert pair.condition.subs({n_p: 5, n_q: 3}) is sp.false


@pytest.mark.parametrize(
    "p, q, message",
    [
        ("gaussian", "categorical", "y is a scalar under gaussian and a vector"),
        ("dirichlet", "beta", "y is a vector over K classes under dirichlet"),
        ("tweedie", "gaussian", "tweedie: the full NLL"),
    ],
)
def test_bad_pairs_are_user_errors(p, q, message):
    if p not in CATALOG or q not in CATALOG:
        pytest.skip(f"{p} or {q} is not in the catalog yet")
    with pytest.raises(UserError, match=message):
        it.divergence(p, q)


# ---------------------------------------------------------------------------- classics


def test_vae_term():
    classic = it.vae_kl()
    assert classic.proven
    mu, sigma = sp.Symbol("mu_p", real=True), sp.Symbol("sigma_p", positive=True)
    value = classic.steps[1].rhs
    familiar = classic.claim[1]
    assert _value(familiar, {mu: 0.3, sigma: 1.7}) == pytest.approx(
        _value(value, {mu: 0.3, sigma: 1.7})
    )
    ref = float(D.kl_divergence(D.Normal(_t(0.3), _t(1.7)), D.Normal(_t(0.0), _t(1.0))))
    assert _value(value, {mu: 0.3, sigma: 1.7}) == pytest.approx(ref, rel=1e-12)


def test_label_smoothing_identity():
    classic = it.label_smoothing()
    assert classic.proven
    # numerically: smoothed cross-entropy = (1 − ε)·CE(t, q) + ε·(log K + KL(U ‖ q))
    rng = np.random.default_rng(2)
    q, eps = rng.dirichlet(np.ones(K)), 0.1
    t = np.eye(K)[1]
    smoothed = (1 - eps) * t + eps / K
    lhs = -np.sum(smoothed * np.log(q))
    u = np.full(K, 1 / K)
    rhs = (1 - eps) * -np.log(q[1]) + eps * (np.log(K) + np.sum(u * np.log(u / q)))
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("name", [n for n, _ in PAIRS[: len(SELF)] if n != "binomial"])
def test_expected_loss_is_entropy_plus_kl(name):
    """𝔼_P[a·loss + dropped] = H(P) + KL(P ‖ Q): the loss is least at Q = P."""
    assert it.expected_loss(name).proven


def test_expected_loss_for_the_mse():
    classic = it.expected_loss("gaussian")
    expected = next(s.rhs for s in classic.steps if s.kind == "expected-loss")
    mu_p, mu_q = sp.Symbol("mu_p", real=True), sp.Symbol("mu_q", real=True)
    sigma_p = sp.Symbol("sigma_p", positive=True)
    assert sp.expand(expected - (sigma_p**2 + (mu_p - mu_q) ** 2)) == 0  # noise + bias²


# ---------------------------------------------------------------------------- statistics


def test_statistics_are_recognised():
    y, m, g = sp.Symbol("y", real=True), sp.Symbol("m", real=True), sp.Symbol("g", positive=True)
    match = it.STATISTICS
    assert match["(y - m)^2"]((m - y) ** 2, y) == (m,)
    assert match["(y - m)^2"](y**2, y) == (0,)
    assert match["|y - m|"](sp.Abs(m - y), y) == (m,)
    assert match["|y - m|"](sp.Abs(2 * y - m), y) is None
    assert match["y^s"](y**g, y) == (g,)
    assert match["log(1 + ((y - m)/g)^2)"](sp.log(1 + (y - m) ** 2 / g**2), y) == (m, g)
    assert match["log(1 + exp(-(y - m)/g))"](sp.log(1 + sp.exp((m - y) / g)), y) == (m, g)
    assert match["log(1 + exp(-(y - m)/g))"](sp.log(1 + sp.exp((y - m) / g)), y) is None


# ---------------------------------------------------------------------------- fallbacks


def test_series_in_closed_form():
    engine = it._Expectations(it._Side(CATALOG["poisson"], "p"))
    y, lam = engine.y, engine.side.params[0]
    assert sp.expand(engine.statistic(y**2) - (lam**2 + lam)) == 0  # 𝔼 y² = λ² + λ
    assert engine.used[y**2].source == "series"


def test_integral_in_closed_form():
    engine = it._Expectations(it._Side(CATALOG["exponential"], "p"))
    y, lam = engine.y, engine.side.params[0]
    assert sp.cancel(engine.statistic(sp.exp(-y)) - lam / (lam + 1)) == 0
    assert engine.used[sp.exp(-y)].source == "integral"


def test_bounded_integral_is_kept_explicit(monkeypatch):
    monkeypatch.setattr(it, "TIME_LIMIT", 0.3)
    engine = it._Expectations(it._Side(CATALOG["logistic"], "p"))
    m = sp.Symbol("m", real=True)
    statistic = sp.log(1 + sp.exp((m - engine.y) / 2))  # not the logistic's own scale
    value = engine.statistic(statistic)
    assert isinstance(value, sp.Integral) and engine.used[statistic].source == "integral-explicit"


ENTROPY_ONLY = {  # closed entropies whose families have no closed KL against themselves
    "student-t": lambda v: float(D.StudentT(_t(v["nu"]), _t(v["mu"]), _t(v["s"])).entropy()),
    "logistic": lambda v: stats.logistic(v["mu"], v["s"]).entropy(),
    "asymmetric-laplace": lambda v: stats.laplace_asymmetric(
        math.sqrt(v["tau"] / (1 - v["tau"])),
        v["mu"],
        v["sigma"] / math.sqrt(v["tau"] * (1 - v["tau"])),
    ).entropy(),
}


@pytest.mark.parametrize("name", [n for n in ENTROPY_ONLY if n in CATALOG])
def test_closed_entropies(name):
    pair = it.entropy(name)
    assert not pair.explicit
    rng = np.random.default_rng(13)
    for _ in range(3):
        bound, _, values, _ = _draw(pair, rng)
        assert _value(pair.entropy_p, bound) == pytest.approx(ENTROPY_ONLY[name](values), rel=1e-9)
