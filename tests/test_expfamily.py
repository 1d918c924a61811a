"""Exponential-family verdicts, derived quantities and unit deviances, against independent oracles:
scipy.stats (log-densities, moments, Fisher information by quadrature), statsmodels (canonical
links, deviance residuals), sklearn (mean deviances, half losses with constant_to_optimal_zero)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from conftest import NAMES, derivation
from oracles import SCIPY
from oracles_expfamily import (
    REASON,
    SK_DEVIANCES,
    SK_HALF_LOSSES,
    SM_DEVIANCES,
    SM_LINKS,
    VERDICT,
    sklearn_deviance,
    sklearn_half_losses,
    statsmodels_deviance,
    statsmodels_links,
)
from scipy import stats

from derive import expfamily
from derive.numeric import evaluate
from derive.spec import CLASS_INDEX


def _family(name):
    return expfamily.verdict(derivation(name)).family


def _declared_values(d, rng):
    """Values by symbol for the observed, declared and fixed variables (linked entries: the
    declared parameter from its raw output through the link)."""
    by_symbol, by_name = _draw(d, rng)
    for link in d.dist.links:
        raw = d.dist.symbols[link.raw.name]
        expr = d.dist.link_expr(link)
        if raw.is_Symbol:
            value = float(evaluate(expr, {raw: by_symbol[raw]}))
        else:  # a vector link (softmax): one class at a time
            z = by_symbol[raw]
            value = np.array(
                [float(evaluate(expr.subs(CLASS_INDEX, i + 1), {raw: z})) for i in range(len(z))]
            )
        if True:
            by_symbol[d.dist.symbols[link.param]] = value
            by_name[link.param] = value
    return by_symbol, by_name


def _draw(d, rng):
    by_name = d.dist.draw(rng)
    by_symbol = {d.dist.symbols[n]: v for n, v in by_name.items()}
    return by_symbol, by_name


def test_every_verdict_names_a_catalog_entry():
    assert set(VERDICT) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_verdict(name):
    if name not in VERDICT:
        pytest.skip(f"{name}: no textbook verdict in tests/oracles_expfamily.py")
    v = expfamily.verdict(derivation(name))
    expected = VERDICT[name]
    if expected == "not":
        assert v.family is None
        assert v.reason.startswith("not an exponential family") and "\n" not in v.reason
        assert REASON[name] in v.reason
    else:
        assert v.family is not None, v.reason
        assert v.family.curved == (expected == "curved")


@pytest.mark.parametrize("name", NAMES)
def test_form_is_the_log_density(name, rng):
    """log h + (η·T − A)/φ against scipy's logpdf at random points (the tweedie: against the
    declared density, since c(y, φ) has no closed form), for every entry the engine finds in
    exponential-family form."""
    d = derivation(name)
    verdict = expfamily.verdict(d)
    if verdict.family is None:
        pytest.skip(f"{name}: {verdict.reason}")
    f = _family(name)
    K = sp.Symbol("K", integer=True, positive=True)
    terms = []
    for s in f.statistics:
        product = s.natural * s.stat
        terms.append(
            sp.Sum(product, (sp.Symbol("k", integer=True, positive=True), 1, K))
            if s.vector
            else product
        )
    logp = f.log_base + (sp.Add(*terms) - f.log_partition) / f.dispersion
    for _ in range(4):
        values, by_name = _declared_values(d, rng)
        if name not in SCIPY:  # c(y, φ) without a closed form (the Tweedie): the declaration
            expected = float(evaluate(sp.log(d.density).expand(force=True) - logp, values))
            assert abs(expected) < 1e-12
            continue
        ours = float(evaluate(logp, values))
        assert ours == pytest.approx(SCIPY[name](by_name), rel=1e-9, abs=1e-9)


ONE_PARAMETER = [
    "gaussian",
    "lognormal",
    "bernoulli",
    "bernoulli-logit",
    "binomial",
    "poisson",
    "poisson-log",
    "negative-binomial",
    "gamma",
    "exponential",
    "inverse-gaussian",
    "tweedie",
    "weibull",
]

#: catalog name -> (values) -> a frozen scipy distribution (the declared parameters)
FROZEN = {
    "gaussian": lambda v: stats.norm(v["mu"], v["sigma"]),
    "lognormal": lambda v: stats.lognorm(v["sigma"], scale=np.exp(v["mu"])),
    "bernoulli": lambda v: stats.bernoulli(v["p"]),
    "bernoulli-logit": lambda v: stats.bernoulli(v["p"]),
    "binomial": lambda v: stats.binom(int(v["n"]), v["p"]),
    "poisson": lambda v: stats.poisson(v["lambda"]),
    "poisson-log": lambda v: stats.poisson(v["lambda"]),
    "negative-binomial": lambda v: stats.nbinom(1 / v["alpha"], 1 / (1 + v["alpha"] * v["mu"])),
    "gamma": lambda v: stats.gamma(v["shape"], scale=v["mu"] / v["shape"]),
    "exponential": lambda v: stats.expon(scale=1 / v["lambda"]),
    "inverse-gaussian": lambda v: stats.invgauss(v["mu"] / v["lambda"], scale=v["lambda"]),
    "weibull": lambda v: stats.weibull_min(v["k"], scale=v["lambda"]),
}


@pytest.mark.parametrize("name", ONE_PARAMETER)
def test_one_parameter_quantities_are_derived(name):
    f = _family(name)
    for attr in (
        "mean",
        "variance",
        "variance_function",
        "canonical_link",
        "inverse_link",
        "fisher",
    ):
        assert getattr(f, attr) is not None, attr
    assert f.convex is True


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_mean_variance_and_fisher_against_scipy(name, rng):
    """E[T] = A′/η′, Var T = φ·V and I(θ) against scipy's expectations of T, (T − E T)² and the
    squared score (the score by a central difference of scipy's logpdf)."""
    d = derivation(name)
    f = _family(name)
    (theta,) = f.params
    (stat,) = f.statistics
    for _ in range(2):
        _check_moments(name, d, f, theta, stat, *_declared_values(d, rng))


def _check_moments(name, d, f, theta, stat, values, by_name):
    y = d.observed
    frozen = FROZEN[name](by_name)
    T = sp.lambdify(y, stat.stat.subs({s: v for s, v in values.items() if s != y}), "numpy")
    mean = float(evaluate(f.mean, values))
    variance = float(evaluate(f.dispersion * f.variance, values))
    fisher = float(evaluate(f.fisher, values))
    kw = {"lb": 0, "ub": min(400, frozen.support()[1])} if d.dist.discrete else {}
    assert frozen.expect(T, **kw) == pytest.approx(mean, rel=1e-6)
    assert frozen.expect(lambda t: (T(t) - mean) ** 2, **kw) == pytest.approx(variance, rel=1e-5)
    h = 1e-5 * max(1.0, abs(by_name[theta.name]))

    def logp(t, shift):
        moved = FROZEN[name]({**by_name, theta.name: by_name[theta.name] + shift})
        return moved.logpmf(t) if d.dist.discrete else moved.logpdf(t)

    def score(t):
        return ((logp(t, h) - logp(t, -h)) / (2 * h)) ** 2

    assert frozen.expect(score, **kw) == pytest.approx(fisher, rel=1e-4)


@pytest.mark.parametrize("name", SM_LINKS)
def test_canonical_link_is_statsmodels_canonical_link(name, rng):
    """The derived g(μ) equals statsmodels' canonical link up to an affine map a·g_sm + b (a ≠ 0):
    the same GLM, coefficients rescaled (gamma: −1/μ against 1/μ)."""
    pytest.importorskip("statsmodels")
    d = derivation(name)
    f = _family(name)
    values, by_name = _declared_values(d, rng)
    fixed = {s: v for s, v in values.items() if s in d.fixed}
    link = sp.lambdify(f.mean_symbol, f.canonical_link.subs(fixed), "numpy")
    mus = _mean_grid(d, f, values)
    ours = np.array([float(link(m)) for m in mus])
    theirs = statsmodels_links()[name](by_name)(mus)
    a, b = np.polyfit(theirs, ours, 1)
    assert abs(a) > 1e-6
    np.testing.assert_allclose(ours, a * theirs + b, rtol=1e-9, atol=1e-9)
    # and the inverse link inverts it
    inverse = sp.lambdify(f.eta_symbol, f.inverse_link.subs(fixed), "numpy")
    np.testing.assert_allclose([float(inverse(e)) for e in ours], mus, rtol=1e-9)


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("bernoulli-logit", True),
        ("poisson-log", True),
        ("gaussian", True),
        ("lognormal", True),
        ("bernoulli", False),
        ("poisson", False),
        ("gamma", False),
    ],
)
def test_link_is_canonical(name, canonical):
    assert _family(name).link_is_canonical is canonical


# ---------------------------------------------------------------------------- deviance

#: the entries with no saturated model, and the word their reason names
NO_DEVIANCE = {
    "gaussian-hetero": "unbounded",
    "beta": "unbounded",
    "gaussian-mixture": "mixture",
    "dirichlet": "vector",
    "categorical": "vector",
    "categorical-logit": "vector",
    "asymmetric-laplace": "not proven",
    "log-logistic": "not proven",  # α̂ = y maximises (t = (y/α)^β = 1), not proven by the engine
    # P(y) = 1 only in the limit c_y − η → −∞, c_{y+1} − η → ∞: no finite saturated cutpoints
    "ordinal-logit": "vector",
    "ordinal-probit": "vector",
}


@pytest.mark.parametrize("name", NAMES)
def test_deviance_or_reason(name):
    dev = expfamily.deviance(derivation(name))
    if name in NO_DEVIANCE:
        assert dev.unit is None
        assert dev.reason.startswith(f"no saturated model for {name}") and "\n" not in dev.reason
        assert NO_DEVIANCE[name] in dev.reason
    else:
        assert dev.unit is not None, dev.reason
        assert dev.proof


DEVIANCES = [n for n in NAMES if n not in NO_DEVIANCE]


@pytest.mark.parametrize("name", DEVIANCES)
def test_deviance_is_zero_at_the_saturated_model_and_positive_elsewhere(name, rng):
    """d(y, θ) ≥ 0 at random points, d(y, θ̂(y)) = 0, and d = 2φ(ℓ(y; θ̂) − ℓ(y; θ)) from the
    declared NLL (the identity between the unit and the declared forms)."""
    d = derivation(name)
    dev = expfamily.deviance(d)
    ((theta, hat),) = dev.saturated.items()
    for _ in range(5):
        values, _ = _declared_values(d, rng)
        at = float(evaluate(dev.declared, values))
        assert at >= -1e-12
        saturated = {**values, theta: float(evaluate(hat, values))}
        if theta.is_positive and saturated[theta] == 0:
            continue  # y = 0 for the Tweedie: θ̂ = 0 is outside the mean's domain μ > 0
        assert abs(float(evaluate(dev.declared, saturated))) < 1e-12
        unit = float(evaluate(dev.unit, {**values, **_raw_values(d, values)}))
        assert unit == pytest.approx(at, rel=1e-9, abs=1e-12)


def _raw_values(d, values):
    """The raw learned outputs that give the declared parameters in ``values`` (inverse links
    of the scalar catalog entries: logit, log)."""
    out = {}
    for link in d.dist.links:
        raw = d.dist.symbols[link.raw.name]
        p = values[d.dist.symbols[link.param]]
        out[raw] = INVERSE_LINKS[link.name](p)
    return out


def _mean_range(d, f, values):
    """Where the mean lives: (lo, hi) from the observed support (hi a fixed symbol for the
    binomial's n), or the whole line where the mean is not positive (the log-normal's μ)."""
    if not f.mean_symbol.is_positive:
        return -np.inf, np.inf
    fixed = {s: v for s, v in values.items() if s in d.fixed}
    lo, hi = (float(sp.sympify(b).subs(fixed)) for b in d.dist.support_bounds)
    return lo, hi


def _mean_grid(d, f, values):
    lo, hi = _mean_range(d, f, values)
    if np.isfinite(hi):
        return lo + (hi - lo) * np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    if not np.isfinite(lo):
        return np.array([-2.0, -0.5, 0.3, 1.0, 2.5])
    return float(evaluate(f.mean, values)) * np.array([0.3, 0.5, 0.8, 1.1, 1.7])


#: observed constraint -> (rng, mean, hi) -> a sample y in the support around that mean
SAMPLES = {
    "binary": lambda rng, mu, hi: (rng.random(mu.size) < mu).astype(float),
    "count": lambda rng, mu, hi: (
        (
            rng.binomial(int(hi), mu / hi) if np.isfinite(hi) else rng.poisson(mu)  # zeros included
        ).astype(float)
    ),
    "real": lambda rng, mu, hi: mu + rng.normal(0, 1, mu.size),
    "positive": lambda rng, mu, hi: rng.gamma(2.0, mu / 2.0),
    "nonnegative": lambda rng, mu, hi: np.where(
        rng.random(mu.size) < 0.2, 0.0, rng.gamma(2.0, mu / 2.0)
    ),
}


def _means(name, d, f, values, rng, size=40):
    """(y, mean, fixed by name) on a sample: a mean in its range, y in the support around it."""
    by_name = {v.name: float(values[d.dist.sym(v)]) for v in d.dist.fixed}
    lo, hi = _mean_range(d, f, values)
    if np.isfinite(hi):
        mu = lo + (hi - lo) * rng.uniform(0.05, 0.95, size)
    elif np.isfinite(lo):
        mu = rng.uniform(0.2, 8, size) if d.dist.discrete else rng.uniform(0.3, 4, size)
    else:
        mu = rng.normal(0, 2, size)
    return SAMPLES[d.dist.observed.domain.name](rng, mu, hi), mu, by_name


#: a declared link's name -> its inverse (the raw output that gives the parameter)
INVERSE_LINKS = {"sigmoid": lambda p: np.log(p / (1 - p)), "exp": np.log}


def _raw_of_mean(d, f, mu, by_name):
    """The raw output the emitted module takes for the mean ``mu``: the declared parameter that
    has this mean (f.mean solved for it), then the inverse of its declared link if it has one."""
    (theta,) = f.params
    fixed = {d.dist.sym(v): by_name[v.name] for v in d.dist.fixed}
    m = sp.Dummy("m", positive=True)
    (param,) = sp.solve(sp.Eq(f.mean.subs(fixed), m), theta)
    param = sp.lambdify(m, param, "numpy")(mu)
    links = [link for link in d.dist.links if link.param == theta.name]
    return INVERSE_LINKS[links[0].name](param) if links else param


def _our_deviance(name, d, y, mu, by_name):
    """The emitted module's deviance() at the mean mu (the raw output through the link)."""
    from derive.codegen.emit import load

    module = load(name)
    param = _raw_of_mean(d, _family(name), mu, by_name)
    fixed = [by_name[v.name] for v in d.dist.fixed]
    return module.deviance(y, param, *fixed, reduction="none")


@pytest.mark.parametrize("name", SM_DEVIANCES)
def test_deviance_against_statsmodels(name, rng):
    pytest.importorskip("statsmodels")
    d = derivation(name)
    f = _family(name)
    values, _ = _declared_values(d, rng)
    y, mu, by_name = _means(name, d, f, values, rng)
    ours = _our_deviance(name, d, y, mu, by_name)
    theirs = statsmodels_deviance()[name](y, mu, by_name)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", SK_DEVIANCES)
def test_deviance_against_sklearn_metrics(name, rng):
    pytest.importorskip("sklearn")
    d = derivation(name)
    values, _ = _declared_values(d, rng)
    y, mu, by_name = _means(name, d, _family(name), values, rng)
    ours = float(np.mean(_our_deviance(name, d, y, mu, by_name)))
    assert ours == pytest.approx(sklearn_deviance()[name](y, mu, by_name), rel=1e-9)


HALF_LOSS_CASES = [(n, None) for n in SK_HALF_LOSSES if n != "tweedie"]
HALF_LOSS_CASES += [("tweedie", p) for p in (1.2, 1.5, 1.8)]


@pytest.mark.parametrize("name, power", HALF_LOSS_CASES)
def test_deviance_against_sklearn_half_losses(name, power, rng):
    """2·(HalfXLoss + constant_to_optimal_zero) on the raw prediction; the Tweedie at several
    powers."""
    pytest.importorskip("sklearn")
    d = derivation(name)
    values, _ = _declared_values(d, rng)
    y, mu, by_name = _means(name, d, _family(name), values, rng)
    if power is not None:
        by_name["power"] = power
    ours = _our_deviance(name, d, y, mu, by_name)
    links = {link.param: INVERSE_LINKS[link.name] for link in d.dist.links}
    (theta,) = _family(name).params
    raw = links.get(theta.name, lambda m: m)(mu)  # the mean's own link: sklearn's raw prediction
    theirs = sklearn_half_losses()[name](y, raw, by_name)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["poisson", "poisson-log", "bernoulli-logit", "binomial"])
def test_deviance_is_finite_at_the_support_edge(name):
    """y = 0 (and y = n): 0·log 0 = 0 in the emitted code, in float32 and float64."""
    from derive.codegen.emit import load

    module = load(name)
    fixed = {"n": 5.0}
    for dtype in (np.float32, np.float64):
        top = {"binomial": 5.0, "bernoulli-logit": 1.0}.get(name, 3.0)
        y = np.array([0.0, 1.0, top], dtype)
        param = np.array([0.5, 0.5, 0.5], dtype)
        out = module.deviance(y, param, *(fixed[a] for a in module.FIXED), reduction="none")
        assert np.all(np.isfinite(out)) and np.all(out >= 0)


# ---------------------------------------------------------------------------- beyond the catalog


def test_a_derive_new_density_gets_a_verdict(capsys):
    """`derive new` (a Rayleigh density): T = y², η = −1/(2s²), and E[y²] = 2s² against scipy."""
    import json

    from derive.cli import main

    argv = ["new", "--density", r"\frac{y}{s^2} \exp(-\frac{y^2}{2 s^2})", "--observed", "y",
            "--param", "s", "--positive", "s", "--support", "0,oo", "--json"]  # fmt: skip
    assert main(argv) == 0
    family = json.loads(capsys.readouterr().out)["exponential_family"]
    assert family["sufficient_stat"] == "y**2"
    s = sp.Symbol("s", positive=True)
    mean = sp.sympify(family["mean"], locals={"s": s})
    assert float(mean.subs(s, 1.7)) == pytest.approx(stats.rayleigh(scale=1.7).moment(2))


def test_a_support_that_moves_with_the_parameter_is_the_reason():
    """Uniform(0, t) with t learned: the support depends on t, whatever the algebra says."""
    from derive.derivation import derive
    from derive.spec import Distribution, Var

    t = Var("t", "positive", doc="upper end")
    dist = Distribution(
        name="uniform-test",
        title="uniform on (0, t)",
        observed=Var("y", "positive"),
        params=(t,),
        density=lambda y, t: 1 / t,
        support=(0, t.symbol()),
    )
    v = expfamily.verdict(derive(dist))
    assert v.family is None and "support depends on t" in v.reason
