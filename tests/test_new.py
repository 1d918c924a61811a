r"""`derive new`: densities typed the way papers write them, checked against scipy.stats.

Each corpus entry is LaTeX as a paper prints it, the declaration a user would type, and an
independent oracle (a scipy.stats log-density written here, never derived from the LaTeX).  The
derived NLL must equal −log p of the oracle at random points of the declared domains.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
import sympy as sp
from scipy import special, stats

from derive.cli import main
from derive.derivation import derive
from derive.numeric import evaluate
from derive.user import declare, new


class _Kumaraswamy(stats.rv_continuous):
    """Defined by its CDF only: scipy differentiates it numerically, an oracle independent of the
    density typed in the corpus."""

    def _cdf(self, x, a, b):
        return 1 - (1 - x**a) ** b


_KUMARASWAMY = _Kumaraswamy(a=0, b=1, name="kumaraswamy")


def _softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


@dataclass(frozen=True)
class Entry:
    id: str
    tex: str
    declaration: dict
    oracle: object  # values by name -> log-density (scipy)
    standard: str | None = None  # asserted only where DESIGN.md fixes it
    tolerance: float = 1e-8
    marks: tuple = field(default=())


CORPUS = [
    # ---- the catalog's own, in several notations -------------------------------------------
    Entry(
        "gaussian",
        r"\frac{1}{\sqrt{2\pi\sigma^2}}\exp\left(-\frac{(y-\mu)^2}{2\sigma^2}\right)",
        dict(observed="y", params=["mu"], fixed=["sigma"], positive=["sigma"]),
        lambda v: stats.norm.logpdf(v["y"], v["mu"], v["sigma"]),
        "mse",
    ),
    Entry(
        "gaussian-hetero, standardised",
        r"\frac{1}{\sigma\sqrt{2\pi}}\, e^{-\frac{1}{2}\left(\frac{y-\mu}{\sigma}\right)^{2}}",
        dict(observed="y", params=["mu", "sigma"], positive=["sigma"]),
        lambda v: stats.norm.logpdf(v["y"], v["mu"], v["sigma"]),
        "gaussian_nll",
    ),
    Entry(
        "gaussian, (2πσ²)^(-1/2) and braces",
        r"(2\pi\sigma^2)^{-1/2}\exp\left\{-\frac{1}{2\sigma^2}(y-\mu)^2\right\}",
        dict(observed="y", params=["mu"], fixed=["sigma"], positive=["sigma"]),
        lambda v: stats.norm.logpdf(v["y"], v["mu"], v["sigma"]),
        "mse",
    ),
    Entry(
        "laplace",
        r"\frac{1}{2b}\exp\left(-\frac{|y-\mu|}{b}\right)",
        dict(observed="y", params=["mu"], fixed=["b"], positive=["b"]),
        lambda v: stats.laplace.logpdf(v["y"], v["mu"], v["b"]),
        "mae",
    ),
    Entry(
        "laplace, \\lvert and e^",
        r"\tfrac{1}{2b}\, e^{-\left\lvert y-\mu \right\rvert / b}",
        dict(observed="y", params=["mu"], fixed=["b"], positive=["b"]),
        lambda v: stats.laplace.logpdf(v["y"], v["mu"], v["b"]),
        "mae",
    ),
    Entry(
        "bernoulli",
        r"p^{y}(1-p)^{1-y}",
        dict(observed="y", params=["p"], probability=["p"], discrete=True, support="0,1"),
        lambda v: stats.bernoulli.logpmf(v["y"], v["p"]),
        "bce",
    ),
    Entry(
        "bernoulli-logit, \\sigma(z)",
        r"\sigma(z)^{y}\,\bigl(1-\sigma(z)\bigr)^{1-y}",
        dict(observed="y", params=["z"], discrete=True, support="0,1"),
        lambda v: stats.bernoulli.logpmf(v["y"], special.expit(v["z"])),
        "bce_logits",
    ),
    Entry(
        "poisson",
        r"\frac{\lambda^{y} e^{-\lambda}}{y!}",
        dict(observed="y", params=["lambda"], positive=["lambda"], discrete=True),
        lambda v: stats.poisson.logpmf(v["y"], v["lambda"]),
        "poisson",
    ),
    Entry(
        "poisson-log",
        r"\frac{\exp\left(\eta y - e^{\eta}\right)}{y!}",
        dict(observed="y", params=["eta"], discrete=True),
        lambda v: stats.poisson.logpmf(v["y"], np.exp(v["eta"])),
        "poisson_log",
    ),
    Entry(
        "binomial, \\choose",
        r"{n \choose y} p^y (1-p)^{n-y}",
        dict(
            observed="y",
            params=["p"],
            fixed=["n"],
            probability=["p"],
            discrete=True,
            support="0,n",
        ),
        lambda v: stats.binom.logpmf(v["y"], v["n"], v["p"]),
    ),
    Entry(
        "categorical, \\prod over k",
        r"\prod_{k=1}^{K} p_k^{y_k}",
        dict(observed="y", params=["p"], probability=["p"], discrete=True),
        lambda v: stats.multinomial.logpmf(v["y"], 1, v["p"]),
    ),
    Entry(
        "categorical-logit, softmax written out",
        r"\prod_{k=1}^{K}\left(\frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}\right)^{y_k}",
        dict(observed="y", params=["z"], discrete=True),
        lambda v: stats.multinomial.logpmf(v["y"], 1, _softmax(v["z"])),
        "softmax_cross_entropy",
    ),
    Entry(
        "gamma, shape and rate",
        r"\frac{\beta^{\alpha}}{\Gamma(\alpha)}\, y^{\alpha-1} e^{-\beta y}",
        dict(observed="y", params=["alpha", "beta"], positive=["alpha", "beta"], support="0,oo"),
        lambda v: stats.gamma.logpdf(v["y"], v["alpha"], scale=1 / v["beta"]),
    ),
    Entry(
        "beta, gamma functions",
        r"\frac{\Gamma(a+b)}{\Gamma(a)\Gamma(b)}\, y^{a-1}(1-y)^{b-1}",
        dict(observed="y", params=["a", "b"], positive=["a", "b"], support="0,1"),
        lambda v: stats.beta.logpdf(v["y"], v["a"], v["b"]),
    ),
    Entry(
        "beta, \\operatorname{B}",
        r"\frac{y^{\alpha-1}(1-y)^{\beta-1}}{\operatorname{B}(\alpha,\beta)}",
        dict(observed="y", params=["alpha", "beta"], positive=["alpha", "beta"], support="0,1"),
        lambda v: stats.beta.logpdf(v["y"], v["alpha"], v["beta"]),
    ),
    Entry(
        "student-t, location-scale",
        r"\frac{\Gamma\left(\frac{\nu+1}{2}\right)}{\Gamma\left(\frac{\nu}{2}\right)\sqrt{\pi\nu}\,s}"
        r"\left(1+\frac{1}{\nu}\left(\frac{y-\mu}{s}\right)^2\right)^{-\frac{\nu+1}{2}}",
        dict(observed="y", params=["mu", "nu", "s"], positive=["nu", "s"]),
        lambda v: stats.t.logpdf(v["y"], v["nu"], v["mu"], v["s"]),
    ),
    Entry(
        "cauchy, square brackets",
        r"\frac{1}{\pi\gamma\left[1+\left(\frac{y-\mu}{\gamma}\right)^2\right]}",
        dict(observed="y", params=["mu"], fixed=["gamma"], positive=["gamma"]),
        lambda v: stats.cauchy.logpdf(v["y"], v["mu"], v["gamma"]),
    ),
    Entry(
        "logistic",
        r"\frac{e^{-(y-\mu)/s}}{s\left(1+e^{-(y-\mu)/s}\right)^{2}}",
        dict(observed="y", params=["mu"], fixed=["s"], positive=["s"]),
        lambda v: stats.logistic.logpdf(v["y"], v["mu"], v["s"]),
    ),
    Entry(
        "lognormal, \\ln",
        r"\frac{1}{y\sigma\sqrt{2\pi}}\exp\left(-\frac{(\ln y-\mu)^2}{2\sigma^2}\right)",
        dict(observed="y", params=["mu"], fixed=["sigma"], positive=["sigma"], support="0,oo"),
        lambda v: stats.lognorm.logpdf(v["y"], v["sigma"], scale=np.exp(v["mu"])),
    ),
    Entry(
        "weibull",
        r"\frac{k}{\lambda}\left(\frac{y}{\lambda}\right)^{k-1} e^{-(y/\lambda)^{k}}",
        dict(
            observed="y", params=["lambda"], fixed=["k"], positive=["lambda", "k"], support="0,oo"
        ),
        lambda v: stats.weibull_min.logpdf(v["y"], v["k"], scale=v["lambda"]),
    ),
    Entry(
        "inverse gaussian",
        r"\sqrt{\frac{\lambda}{2\pi y^{3}}}\exp\left(-\frac{\lambda(y-\mu)^2}{2\mu^2 y}\right)",
        dict(
            observed="y", params=["mu"], fixed=["lambda"], positive=["mu", "lambda"], support="0,oo"
        ),
        lambda v: stats.invgauss.logpdf(v["y"], v["mu"] / v["lambda"], scale=v["lambda"]),
    ),
    Entry(
        "dirichlet, \\sum and \\prod without limits",
        r"\frac{\Gamma\left(\sum_k \alpha_k\right)}{\prod_k \Gamma(\alpha_k)}"
        r"\prod_{k=1}^{K} y_k^{\alpha_k-1}",
        dict(observed="y", params=["alpha"], positive=["alpha"]),
        lambda v: stats.dirichlet.logpdf(v["y"], v["alpha"]),
    ),
    # ---- beyond the catalog -----------------------------------------------------------------
    Entry(
        "log-logistic",
        r"\frac{(\beta/\alpha)(y/\alpha)^{\beta-1}}{\left(1+(y/\alpha)^{\beta}\right)^{2}}",
        dict(observed="y", params=["alpha", "beta"], positive=["alpha", "beta"], support="0,oo"),
        lambda v: stats.fisk.logpdf(v["y"], v["beta"], scale=v["alpha"]),
    ),
    Entry(
        "fréchet",
        r"\frac{\alpha}{s}\left(\frac{y}{s}\right)^{-1-\alpha}"
        r"e^{-\left(\frac{y}{s}\right)^{-\alpha}}",
        dict(observed="y", params=["alpha", "s"], positive=["alpha", "s"], support="0,oo"),
        lambda v: stats.invweibull.logpdf(v["y"], v["alpha"], scale=v["s"]),
    ),
    Entry(
        "kumaraswamy",
        r"a b y^{a-1}{(1-y^a)}^{b-1}",
        dict(observed="y", params=["a", "b"], positive=["a", "b"], support="0,1"),
        lambda v: _KUMARASWAMY.logpdf(v["y"], v["a"], v["b"]),
        tolerance=1e-5,  # scipy differentiates the CDF numerically
    ),
    Entry(
        "lomax",
        r"\frac{\alpha}{\lambda}\left[1+\frac{y}{\lambda}\right]^{-(\alpha+1)}",
        dict(
            observed="y", params=["alpha", "lambda"], positive=["alpha", "lambda"], support="0,oo"
        ),
        lambda v: stats.lomax.logpdf(v["y"], v["alpha"], scale=v["lambda"]),
    ),
    Entry(
        "zero-truncated poisson",
        r"\frac{\lambda^{y}}{\left(e^{\lambda}-1\right) y!}",
        dict(observed="y", params=["lambda"], positive=["lambda"], discrete=True, support="1,oo"),
        lambda v: stats.poisson.logpmf(v["y"], v["lambda"]) - stats.poisson.logsf(0, v["lambda"]),
    ),
    Entry(
        "pareto, x_m bounds the support",
        r"\frac{\alpha x_m^{\alpha}}{y^{\alpha+1}}",
        dict(
            observed="y",
            params=["alpha"],
            fixed=["x_m"],
            positive=["alpha", "x_m"],
            support="x_m,oo",
        ),
        lambda v: stats.pareto.logpdf(v["y"], v["alpha"], scale=v["x_m"]),
    ),
    Entry(
        "von mises, Bessel I_0",
        r"\frac{e^{\kappa\cos(y-\mu)}}{2\pi I_0(\kappa)}",
        dict(observed="y", params=["mu", "kappa"], positive=["kappa"], support="-pi,pi"),
        lambda v: stats.vonmises.logpdf(v["y"], v["kappa"], loc=v["mu"]),
    ),
    Entry(
        "geometric (failures before the first success)",
        r"p\,(1-p)^{y}",
        dict(observed="y", params=["p"], probability=["p"], discrete=True),
        lambda v: stats.geom.logpmf(v["y"], v["p"], loc=-1),
    ),
    Entry(
        "negative binomial, \\binom of a sum",
        r"\binom{y+r-1}{y}(1-p)^{r}p^{y}",
        dict(
            observed="y",
            params=["p"],
            fixed=["r"],
            probability=["p"],
            positive=["r"],
            discrete=True,
        ),
        lambda v: stats.nbinom.logpmf(v["y"], v["r"], 1 - v["p"]),
    ),
    Entry(
        "rayleigh",
        r"\frac{y}{\sigma^2}\,e^{-y^2/(2\sigma^2)}",
        dict(observed="y", params=["sigma"], positive=["sigma"], support="0,oo"),
        lambda v: stats.rayleigh.logpdf(v["y"], scale=v["sigma"]),
    ),
    Entry(
        "beta-binomial, B(a, b) without \\operatorname",
        r"\binom{n}{y}\frac{B(y+\alpha,\,n-y+\beta)}{B(\alpha,\beta)}",
        dict(
            observed="y",
            params=["alpha", "beta"],
            fixed=["n"],
            positive=["alpha", "beta"],
            discrete=True,
            support="0,n",
        ),
        lambda v: stats.betabinom.logpmf(v["y"], v["n"], v["alpha"], v["beta"]),
    ),
]


@pytest.fixture(scope="module")
def derived():
    cache = {}

    def get(entry):
        if entry.id not in cache:
            declared = declare(entry.tex, **entry.declaration)
            cache[entry.id] = declared, derive(declared.dist)
        return cache[entry.id]

    return get


def _draw(dist, rng):
    """Values by symbol for every variable, the observed one inside its support."""
    values = {}
    for var in (*dist.params, *dist.fixed):
        values[dist.sym(var)] = var.draw(rng)
    y = dist.observed
    if y.vector:
        values[dist.sym(y)] = y.draw(rng)
        return values
    lo, hi = (b.xreplace(values) if isinstance(b, sp.Basic) else b for b in dist.support_bounds)
    lo, hi = float(lo), float(hi)
    if dist.discrete:
        top = lo + 30 if hi == np.inf else hi
        values[dist.sym(y)] = float(rng.integers(int(lo), int(top) + 1))
    elif np.isfinite(lo) and np.isfinite(hi):
        values[dist.sym(y)] = rng.uniform(lo, hi)
    elif np.isfinite(lo):
        values[dist.sym(y)] = lo + rng.exponential(2.0) + 1e-3
    else:
        values[dist.sym(y)] = rng.normal(0, 3)
    return values


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 20
    assert len({e.id for e in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("entry", CORPUS, ids=[e.id for e in CORPUS])
def test_corpus_nll_matches_scipy(entry, derived, rng):
    _, d = derived(entry)
    dist = d.dist
    compared = 0
    for _ in range(20):
        values = _draw(dist, rng)
        by_name = {str(s): v for s, v in values.items()}
        expected = -float(entry.oracle(by_name))
        if not np.isfinite(expected):  # the oracle under/overflows (scipy works in doubles)
            continue
        compared += 1
        if compared > 4:
            break
        got = float(evaluate(d.nll, values, 30))
        assert got == pytest.approx(expected, rel=entry.tolerance, abs=entry.tolerance), by_name
        rebuilt = float(evaluate(d.scale * d.loss + d.dropped, values, 30))
        assert rebuilt == pytest.approx(got, rel=1e-12, abs=1e-12)
    assert compared > 4
    if entry.standard is not None:
        assert d.standard is not None and d.standard.id == entry.standard


# ---------------------------------------------------------------------------- the command


def run(capsys, *argv):
    status = main(["new", *argv])
    out, err = capsys.readouterr()
    return status, out, err


GAUSS = r"\frac{1}{\sqrt{2\pi\sigma^2}}\exp\left(-\frac{(y-\mu)^2}{2\sigma^2}\right)"
GAUSS_ARGS = ("--density", GAUSS, "--observed", "y", "--param", "mu", "--fixed", "sigma")


def test_terminal_view_echoes_the_parsed_density_first(capsys):
    status, out, err = run(capsys, *GAUSS_ARGS, "--positive", "sigma")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "read the density as"
    assert "p(y | μ, σ) =" in out.split("1. the density of one observation")[0]
    assert any(line.startswith("checked: non-negative at") for line in lines)
    assert "standard loss: mse" in out


def test_json_has_every_design_key_and_the_reading(capsys):
    status, out, _ = run(capsys, *GAUSS_ARGS, "--positive", "sigma", "--json", "--name", "g2")
    data = json.loads(out)
    assert status == 0
    assert data.keys() >= {
        "name", "title", "observed", "params", "fixed", "density", "nll", "loss", "dropped",
        "scale", "standard", "latex", "steps",
    }  # fmt: skip
    assert (data["name"], data["observed"], data["params"], data["fixed"]) == (
        "g2",
        ["y"],
        ["mu"],
        ["sigma"],
    )
    assert (data["standard"], data["loss"], data["scale"]) == (
        "mse",
        "(-mu + y)**2",
        "1/(2*sigma**2)",
    )
    assert data["input"] == GAUSS
    assert any("normalises" in c for c in data["checks"])


def test_repeated_and_comma_separated_names(capsys):
    tex = r"\frac{1}{\sigma\sqrt{2\pi}} e^{-(y-\mu)^2/(2\sigma^2)}"
    for argv in (
        ("--param", "mu", "--param", "sigma", "--positive", "sigma"),
        ("--param", "mu", "sigma", "--positive", "sigma"),
        ("--param", "mu,sigma", "--positive", "sigma"),
    ):
        status, out, _ = run(capsys, "--density", tex, "--observed", "y", *argv, "--json")
        assert status == 0 and json.loads(out)["params"] == ["mu", "sigma"]


def test_symbols_are_real_unless_declared():
    declared = declare(GAUSS, "y", ["mu"], ["sigma"], positive=["sigma"])
    sym = declared.dist.symbols
    assert sym["mu"].is_real and sym["mu"].is_positive is None
    assert sym["sigma"].is_positive
    assert sym["y"].is_real and sym["y"].is_positive is None
    beta = declare(
        r"\frac{\Gamma(a+b)}{\Gamma(a)\Gamma(b)} y^{a-1}(1-y)^{b-1}",
        "y",
        ["a", "b"],
        positive=["a", "b"],
        support="0,1",
    )
    assert beta.dist.observed.constraint == "unit_interval" and beta.dist.symbols["y"].is_positive
    counts = declare(r"\frac{\lambda^y e^{-\lambda}}{y!}", "y", ["lambda"], positive=["lambda"],
                     discrete=True)  # fmt: skip
    y = counts.dist.symbols["y"]
    assert y.is_integer and y.is_nonnegative
    p = declare(r"p^y(1-p)^{1-y}", "y", ["p"], probability=["p"], discrete=True, support="0,1")
    assert p.dist.params[0].constraint == "unit_interval" and p.dist.observed.constraint == "binary"


def test_a_fixed_bound_of_a_count_support_is_a_count():
    declared = declare(
        r"\binom{n}{y} p^y (1-p)^{n-y}", "y", ["p"], ["n"], probability=["p"], discrete=True,
        support="0,n",
    )  # fmt: skip
    n = declared.dist.symbols["n"]
    assert n.is_integer and n.is_nonnegative
    assert declared.dist.support == (0, n)


EXPONENTIAL = (
    *("--density", r"\lambda e^{-\lambda y}", "--observed", "y", "--param", "lambda"),
    *("--positive", "lambda", "--support", "0,oo"),
)


def test_python_keyword_names_work(capsys):
    status, out, _ = run(capsys, *EXPONENTIAL, "--json")
    data = json.loads(out)
    assert status == 0 and data["params"] == ["lambda"]
    lam, y = sp.Symbol("lambda", positive=True), sp.Symbol("y", positive=True)
    assert data["nll"] == str(lam * y - sp.log(lam))


def test_code_is_the_module_derive_code_emits(capsys, tmp_path):
    target = tmp_path / "expo.py"
    status, out, err = run(capsys, *EXPONENTIAL, "--code", "-o", str(target))
    assert (status, out) == (0, "")
    assert err == (
        "derive: read the density as p(y | λ) = λ·exp(-λ·y); e as Euler's number; normalises: "
        "the symbolic integral over (0, ∞) is 1\n"
    )
    spec = importlib.util.spec_from_file_location("expo", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (module.OBSERVED, module.PARAMS, module.FIXED) == (("y",), ("lambda_",), ())
    y, lam = np.array([0.3, 1.2, 4.0]), np.array([2.0, 0.5, 1.5])
    got = module.nll(y, lam, reduction="none")
    np.testing.assert_allclose(got, -stats.expon.logpdf(y, scale=1 / lam), rtol=1e-12)


def test_code_arguments_are_observed_params_fixed(capsys, tmp_path):
    target = tmp_path / "student.py"
    tex = (
        r"\frac{\Gamma(\frac{\nu+1}{2})}{\Gamma(\frac{\nu}{2})\sqrt{\pi\nu}\,s}"
        r"\left(1+\frac{(y-\mu)^2}{\nu s^2}\right)^{-\frac{\nu+1}{2}}"
    )
    argv = ("--observed", "y", "--param", "mu", "s", "--fixed", "nu", "--positive", "s", "nu")
    status, _, _ = run(capsys, "--density", tex, *argv, "--code", "-o", str(target))
    assert status == 0
    spec = importlib.util.spec_from_file_location("student", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (module.OBSERVED, module.PARAMS, module.FIXED) == (("y",), ("mu", "s"), ("nu",))
    y, mu, scale, df = np.array([0.3, -2.0]), np.array([1.0, 0.5]), np.array([2.0, 0.7]), 3.5
    got = module.nll(y, mu, scale, df, reduction="none")
    np.testing.assert_allclose(got, -stats.t.logpdf(y, df, mu, scale), rtol=1e-10)


def test_latex_is_the_fragment_of_the_derivation(capsys):
    from derive.latex import fragment

    status, out, _ = run(capsys, *EXPONENTIAL, "--latex")
    assert status == 0 and r"\begin{align}" in out
    d = new(r"\lambda e^{-\lambda y}", "y", ["lambda"], positive=["lambda"], support="0,oo")
    expected = fragment(d)
    assert out == (expected if expected.endswith("\n") else expected + "\n")


def test_the_same_from_python_with_a_sympy_expression():
    y, mu = sp.symbols("y mu")  # no assumptions: the declaration sets them
    sigma = sp.Symbol("sigma", positive=True)
    density = sp.exp(-((y - mu) ** 2) / (2 * sigma**2)) / sp.sqrt(2 * sp.pi * sigma**2)
    d = new(density, "y", ["mu"], ["sigma"], positive=["sigma"])
    assert d.standard is not None and d.standard.id == "mse"
    from_tex = new(GAUSS, "y", ["mu"], ["sigma"], positive=["sigma"])
    assert sp.srepr(d.nll) == sp.srepr(from_tex.nll)


def test_normalize_divides_by_the_integral(capsys):
    argv = ("--density", r"e^{-(y-\mu)^2}", "--observed", "y", "--param", "mu", "--json")
    status, _, err = run(capsys, *argv)
    assert status == 2 and "its integral over (-∞, ∞) is sqrt(pi), not 1" in err
    assert "--normalize" in err
    status, out, _ = run(capsys, *argv, "--normalize")
    data = json.loads(out)
    assert status == 0 and data["standard"] == "mse"
    assert any("divided by its integral" in c and "sqrt(pi)" in c for c in data["checks"])


def test_normalize_of_a_sum_depending_on_the_parameter():
    declared = declare(
        r"\frac{\lambda^y}{y!}", "y", ["lambda"], positive=["lambda"], discrete=True, normalize=True
    )
    assert declared.normaliser == sp.exp(declared.dist.symbols["lambda"])
    d = derive(declared.dist)
    lam = declared.dist.symbols["lambda"]
    y = declared.dist.symbols["y"]
    value = float(evaluate(d.nll, {lam: 2.5, y: 3}, 30))
    assert value == pytest.approx(-stats.poisson.logpmf(3, 2.5), rel=1e-10)


# ---------------------------------------------------------------------------- bad input


def bad(capsys, *argv):
    """Run, and check the contract: exit 2, nothing on stdout, one line on stderr."""
    status, out, err = run(capsys, *argv)
    assert status == 2, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("derive: error: "), err
    assert "Traceback" not in err
    return err


Y_MU = ("--observed", "y", "--param", "mu")


@pytest.mark.parametrize(
    "argv, message",
    [
        ((r"\frac{1}{}", *Y_MU), "cannot read the density near «\\frac {1}{⟨here⟩}»"),
        ((r"\frac{1}{", *Y_MU), "unbalanced brackets"),
        ((r"e^{-(y-\mu)^2} \int", *Y_MU), "an integral"),
        ((r"e^{-(y-\mu)^2} dy", *Y_MU), "a differential ('dy'"),
        ((r"e^{-(y-\mu)^2} E", *Y_MU), "a capital E"),
        ((r"p(y) = x = 2", *Y_MU), "more than one '='"),
        ((r"\operatorname{foo}(y)", *Y_MU), r"unknown function \operatorname{foo}(…)"),
        ((r"f(y, \mu)", *Y_MU), "unknown function f(…, …)"),
        ((r"I e^{-y}", *Y_MU), "I reads as the imaginary unit"),
        ((GAUSS, *Y_MU), "the density uses sigma, which is not declared: add --param sigma"),
        ((GAUSS, *Y_MU, "nu", "--fixed", "sigma"), "the parameter nu does not occur"),
        ((r"e^{-\mu}", *Y_MU), "the observed variable y does not occur in the density"),
        ((r"e^{-|y-\mu|}/2", *Y_MU, "e"), "the parameter e does not occur in the density (e reads"),
        ((GAUSS, *Y_MU, "--fixed", "sigma", "c"), "the fixed symbol c occurs neither"),
        (
            (r"\frac{1}{\sigma(2\pi)^{1/2}} e^{-(y-\mu)^2/(2\sigma^2)}", *Y_MU, "--fixed", "sigma"),
            r"\sigma(…) is ambiguous: sigma is declared as a variable",
        ),
    ],
)
def test_bad_density_is_one_line(capsys, argv, message):
    err = bad(capsys, "--density", *argv)
    assert message in err


def test_a_density_that_does_not_normalise_is_refused_with_its_integral(capsys):
    err = bad(capsys, "--density", r"\frac{1}{\sqrt{\pi}} e^{-(y-\mu)^2/2}", *Y_MU)
    assert "does not normalise: its integral over (-∞, ∞) is sqrt(2), not 1" in err
    err = bad(capsys, "--density", r"\lambda^y e^{-\lambda}", "--observed", "y", "--param",
              "lambda", "--positive", "lambda", "--discrete")  # fmt: skip
    assert "does not normalise: its sum over {0, …, ∞}" in err  # diverges where λ ≥ 1


def test_a_negative_density_is_refused(capsys):
    err = bad(capsys, "--density", r"\frac{1}{\sigma\sqrt{2\pi}} e^{-(y-\mu)^2/(2\sigma^2)}",
              *Y_MU, "--fixed", "sigma")  # fmt: skip
    assert "the density is negative at" in err and "sigma=-" in err
    assert "is sigma meant to be --positive" in err


def test_a_complex_density_is_refused(capsys):
    err = bad(capsys, "--density", r"\sqrt{y-\mu}\, e^{-(y-\mu)}", *Y_MU)
    assert "the density is not real at" in err


def test_a_divergent_density_is_refused(capsys):
    err = bad(capsys, "--density", r"\frac{e^{-\mu^2}}{y}", *Y_MU, "--support", "1,oo")
    assert "does not normalise" in err


def test_cannot_normalize_without_a_closed_form(capsys):
    err = bad(capsys, "--density", r"e^{-y^4 - \mu y - \cosh(y)}", *Y_MU, "--normalize")
    assert "cannot --normalize" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (("--param", "a-b"), "--param 'a-b' is not a symbol name"),
        (("--param", "__import__('os')"), "is not a symbol name"),
        (("--param", "µ"), "'µ' is not a symbol name"),
        (("--param", "mu", "--fixed", "mu"), "mu is declared twice (--param and --fixed)"),
        (("--param", "mu", "--positive", "y"), "the observed variable takes its domain"),
        (("--param", "mu", "--positive", "nu"), "--positive nu: not a --param or --fixed"),
        (("--param", "mu", "--positive", "mu", "--probability", "mu"), "both --positive and"),
        (("--param", "mu", "--support", "oo"), "give two bounds"),
        (("--param", "mu", "--support", "a,oo"), "'a' is not a fixed symbol"),
        (("--param", "mu", "--support", "1,0"), "lower bound 1 is not below the upper bound 0"),
        (("--param", "mu", "--support", "1+1,oo"), "'1+1' is not a number"),
        (("--param", "mu", "--discrete", "--support=-1,oo"), "counts from 0 or more"),
        (("--param", "mu", "--name", "a b"), "--name 'a b'"),
        (("--param", "mu", "--timeout", "0"), "--timeout 0"),
        (("--param", "mu", "--timeout", "soon"), "--timeout 'soon'"),
        (("--param", "mu", "--json", "--latex"), "not allowed with argument"),
        (("--param",), "expected at least one argument"),
    ],
)
def test_bad_arguments_are_one_line(capsys, argv, message):
    err = bad(capsys, "--density", r"\frac{1}{2} e^{-|y-\mu|}", "--observed", "y", *argv)
    assert message in err


def test_missing_density(capsys):
    assert "required: --density" in bad(capsys, "--observed", "y", "--param", "mu")


LAPLACE = (r"\frac{1}{2}e^{-|y-\mu|}", *Y_MU)


def test_unwritable_path_is_refused_before_deriving(capsys, monkeypatch):
    import derive.derivation

    monkeypatch.setattr(derive.derivation, "derive_cached", lambda d: pytest.fail("derived"))
    err = bad(capsys, "--density", *LAPLACE, "-o", "/nonexistent/dir/out.json", "--json")
    assert (
        "cannot write /nonexistent/dir/out.json: directory /nonexistent/dir does not exist" in err
    )


def test_a_failure_never_touches_the_output_file(capsys, tmp_path):
    target = tmp_path / "out.json"
    target.write_text("precious\n")
    bad(capsys, "--density", r"e^{-|y-\mu|}", *Y_MU, "--json", "-o", str(target))
    assert target.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_success_writes_the_file_whole(capsys, tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old\n")
    status, out, err = run(capsys, "--density", *LAPLACE, "--json", "-o", str(target))
    assert (status, out, err) == (0, "", "")
    assert json.loads(target.read_text())["standard"] == "mae"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_timeout_is_a_clear_error(capsys, monkeypatch):
    import derive.derivation

    def slow(dist):
        time.sleep(30)

    monkeypatch.setattr(derive.derivation, "derive_cached", slow)
    start = time.monotonic()
    err = bad(capsys, "--density", *LAPLACE, "--timeout", "1.5")
    assert time.monotonic() - start < 10
    assert "gave up after 1.5 s (--timeout)" in err


def test_timeout_inside_sympy_is_caught_even_where_sympy_catches_exceptions(capsys, monkeypatch):
    import derive.derivation

    def busy(dist):  # a loop that swallows every Exception, as parts of SymPy do
        while True:
            with contextlib.suppress(Exception):
                sp.integrate(sp.exp(-(sp.Symbol("t") ** 2)), sp.Symbol("t"))

    monkeypatch.setattr(derive.derivation, "derive_cached", busy)
    start = time.monotonic()
    assert "gave up after 1 s" in bad(capsys, "--density", *LAPLACE, "--timeout", "1")
    assert time.monotonic() - start < 10


def test_timeout_landing_in_a_finaliser_stays_one_line(capsys, monkeypatch):
    """Python cannot raise from ``__del__`` or a GC callback: it prints "Exception ignored …" with
    a traceback.  The budget drops its alarm there quietly and fires again 0.1 s later."""
    import derive.derivation

    def spin(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass

    class Slow:
        def __del__(self):
            spin(0.05)

    def busy(dist):
        while True:
            Slow()  # finalised at once: half the time is spent inside __del__
            spin(0.05)

    monkeypatch.setattr(derive.derivation, "derive_cached", busy)
    start = time.monotonic()
    err = bad(capsys, "--density", *LAPLACE, "--timeout", "1")
    assert "gave up after 1 s" in err and "Exception ignored" not in err
    assert time.monotonic() - start < 10


@pytest.mark.parametrize(
    "density, message",
    [
        ("(" * 300 + "y" + ")" * 300, "nested"),
        (r"\exp(" * 40 + "y" + ")" * 40, "nested"),
        ("|y" * 30 + "|" * 30, "|…| bars"),
        ("y+" * 2000 + "y", "characters long"),
        (r"2^{2^{2^{2^{20}}}} e^{-|y-\mu|}", "too large to compute"),
        (r"\frac{e^{-|y-\mu|}}{100000!}", "too large to compute exactly"),
        (r"\binom{1000000}{500000} e^{-|y-\mu|}", "too large to compute exactly"),
    ],
)
def test_pathological_input_is_refused_quickly(capsys, density, message):
    start = time.monotonic()
    err = bad(capsys, "--density", density, *Y_MU)
    assert time.monotonic() - start < 3.0
    assert message in err


def test_no_user_string_reaches_eval_exec_or_sympify(capsys, monkeypatch, tmp_path):
    """A whole run, and a run with hostile input: every string handed to eval, exec or SymPy's
    parser is recorded, and none carries the user's text."""
    import builtins

    import latex2sympy2
    import sympy.parsing.sympy_parser as sympy_parser

    seen = []

    def spy(name, original):
        def wrapper(source, *args, **kwargs):
            if isinstance(source, str):
                seen.append(source)
            return original(source, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(builtins, "eval", spy("eval", builtins.eval))
    monkeypatch.setattr(builtins, "exec", spy("exec", builtins.exec))
    monkeypatch.setattr(sympy_parser, "parse_expr", spy("parse", sympy_parser.parse_expr))
    monkeypatch.setattr(latex2sympy2, "parse_expr", spy("parse", latex2sympy2.parse_expr))
    marker = "qqzeta"
    tex = r"\frac{1}{2\mathrm{qqzeta}} e^{-|y-\mu|/\mathrm{qqzeta}}"
    status, _, _ = run(capsys, "--density", tex, *Y_MU, "--fixed", marker, "--positive", marker)
    assert status == 0
    pwned = tmp_path / "pwned"
    hostile = f"__import__('os').system('touch {pwned}')"
    bad(capsys, "--density", hostile, *Y_MU)
    bad(capsys, "--density", r"\variable{x}", *Y_MU)
    bad(capsys, "--density", *LAPLACE, "--fixed", f"__import__('os').system('touch {pwned}')")
    assert not pwned.exists()
    assert not [s for s in seen if marker in s or "__import__" in s or "variable" in s]
