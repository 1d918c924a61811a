"""`derive new` on densities as papers write them: Φ and erf, Γ and B of numbers, heavy tails,
sech / arsinh / artanh, ζ and the incomplete gamma functions (issue 12.5).

Each density is declared from its LaTeX and its NLL compared with scipy.stats' log-density (or a
change of variables of one, stated in the entry) at random points; the checks that come before the
derivation (normalisation above all) must accept each of them.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy import special, stats
from test_new import Entry, _draw

from derive.derivation import derive
from derive.numeric import evaluate
from derive.user import declare

PAPERS = [
    Entry(
        "skew-normal (Φ)",
        r"\frac{2}{\omega}\,\frac{1}{\sqrt{2\pi}}e^{-\frac{(y-\xi)^2}{2\omega^2}}"
        r"\,\Phi\left(\alpha\frac{y-\xi}{\omega}\right)",
        dict(observed="y", params=["xi"], fixed=["omega", "alpha"], positive=["omega"]),
        lambda v: stats.skewnorm.logpdf(v["y"], v["alpha"], v["xi"], v["omega"]),
    ),
    Entry(
        "exponentially modified gaussian (erfc)",
        r"\frac{\lambda}{2}\exp\left(\frac{\lambda}{2}(2\mu+\lambda\sigma^2-2y)\right)"
        r"\operatorname{erfc}\left(\frac{\mu+\lambda\sigma^2-y}{\sqrt{2}\sigma}\right)",
        dict(observed="y", params=["mu"], fixed=["sigma", "lambda"], positive=["sigma", "lambda"]),
        lambda v: stats.exponnorm.logpdf(
            v["y"], 1 / (v["sigma"] * v["lambda"]), v["mu"], v["sigma"]
        ),
        tolerance=1e-7,
    ),
    Entry(
        "truncated normal on (0, oo) (Φ of a parameter)",
        r"\frac{1}{\sigma\,\Phi(\mu/\sigma)}\frac{1}{\sqrt{2\pi}}e^{-\frac{(y-\mu)^2}{2\sigma^2}}",
        dict(observed="y", params=["mu"], fixed=["sigma"], positive=["sigma"], support="0,oo"),
        lambda v: stats.truncnorm.logpdf(
            v["y"], -v["mu"] / v["sigma"], np.inf, v["mu"], v["sigma"]
        ),
    ),
    Entry(
        "generalised normal, shape 3 (Γ(1/3))",
        r"\frac{3}{2\alpha\Gamma(\frac{1}{3})}\exp\left(-\frac{|y-\mu|^3}{\alpha^3}\right)",
        dict(observed="y", params=["mu"], fixed=["alpha"], positive=["alpha"]),
        lambda v: stats.gennorm.logpdf(v["y"], 3, v["mu"], v["alpha"]),
    ),
    Entry(
        "chi, 3 degrees of freedom (Γ(3/2))",
        r"\frac{y^{2}e^{-y^2/(2s^2)}}{2^{1/2}\,s^{3}\,\Gamma(\frac{3}{2})}",
        dict(observed="y", params=["s"], positive=["s"], support="0,oo"),
        lambda v: stats.chi.logpdf(v["y"], 3, scale=v["s"]),
    ),
    Entry(
        "Student's t by B(1/2, ν/2)",
        r"\frac{1}{\sqrt{\nu}\,B(\frac{1}{2},\frac{\nu}{2})}\left(1+\frac{(y-\mu)^2}{\nu}\right)"
        r"^{-\frac{\nu+1}{2}}",
        dict(observed="y", params=["mu"], fixed=["nu"], positive=["nu"]),
        lambda v: stats.t.logpdf(v["y"], v["nu"], v["mu"]),
    ),
    Entry(
        "generalised logistic (type I)",
        r"\frac{c\,e^{-(y-\mu)}}{\left(1+e^{-(y-\mu)}\right)^{c+1}}",
        dict(observed="y", params=["mu"], fixed=["c"], positive=["c"]),
        lambda v: stats.genlogistic.logpdf(v["y"], v["c"], v["mu"]),
    ),
    Entry(
        "hyperbolic secant (sech)",
        r"\frac{1}{\pi s}\operatorname{sech}\left(\frac{y-\mu}{s}\right)",
        dict(observed="y", params=["mu"], fixed=["s"], positive=["s"]),
        lambda v: stats.hypsecant.logpdf(v["y"], v["mu"], v["s"]),
    ),
    Entry(
        "logistic by sech²",
        r"\frac{1}{4s}\operatorname{sech}^2\left(\frac{y-\mu}{2s}\right)",
        dict(observed="y", params=["mu"], fixed=["s"], positive=["s"]),
        lambda v: stats.logistic.logpdf(v["y"], v["mu"], v["s"]),
    ),
    Entry(
        "Johnson SU (arsinh)",
        r"\frac{\delta}{\lambda\sqrt{2\pi}}\frac{1}{\sqrt{1+\left(\frac{y-\xi}{\lambda}\right)^2}}"
        r"\exp\left(-\frac{1}{2}\left(\gamma+\delta\operatorname{arsinh}"
        r"\left(\frac{y-\xi}{\lambda}\right)\right)^2\right)",
        dict(
            observed="y",
            params=["xi"],
            fixed=["lambda", "gamma", "delta"],
            positive=["lambda", "delta"],
        ),
        lambda v: stats.johnsonsu.logpdf(v["y"], v["gamma"], v["delta"], v["xi"], v["lambda"]),
    ),
    Entry(
        "Fisher-z normal on (-1, 1) (artanh)",
        r"\frac{1}{(1-y^2)\sigma\sqrt{2\pi}}\exp\left(-\frac{(\operatorname{artanh}(y)-\mu)^2}"
        r"{2\sigma^2}\right)",
        dict(observed="y", params=["mu"], fixed=["sigma"], positive=["sigma"], support="-1,1"),
        # z = artanh y is N(μ, σ²), dz/dy = 1/(1 − y²)
        lambda v: (
            stats.norm.logpdf(np.arctanh(v["y"]), v["mu"], v["sigma"]) - np.log1p(-(v["y"] ** 2))
        ),
    ),
    Entry(
        "Zipf (ζ), exponent 1 + t",
        r"\frac{y^{-(1+t)}}{\zeta(1+t)}",
        dict(observed="y", params=["t"], positive=["t"], discrete=True, support="1,oo"),
        lambda v: stats.zipf.logpmf(v["y"], 1 + v["t"]),
    ),
    Entry(
        "generalised gamma",
        r"\frac{c\,y^{c a-1}e^{-y^{c}}}{\Gamma(a)}",
        dict(observed="y", params=["a"], fixed=["c"], positive=["a", "c"], support="0,oo"),
        lambda v: stats.gengamma.logpdf(v["y"], v["a"], v["c"]),
    ),
    Entry(
        "gamma truncated to (1, oo) (upper incomplete Γ)",
        r"\frac{y^{a-1}e^{-y}}{\Gamma(a, 1)}",
        dict(observed="y", params=["a"], positive=["a"], support="1,oo"),
        lambda v: stats.gamma.logpdf(v["y"], v["a"]) - stats.gamma.logsf(1, v["a"]),
    ),
    Entry(
        "gamma truncated to (0, 1) (lower incomplete γ)",
        r"\frac{y^{a-1}e^{-y}}{\gamma(a, 1)}",
        dict(observed="y", params=["a"], positive=["a"], support="0,1"),
        lambda v: stats.gamma.logpdf(v["y"], v["a"]) - stats.gamma.logcdf(1, v["a"]),
    ),
    Entry(
        "half-Cauchy (heavy tail)",
        r"\frac{2}{\pi s\left(1+(y/s)^2\right)}",
        dict(observed="y", params=["s"], positive=["s"], support="0,oo"),
        lambda v: stats.halfcauchy.logpdf(v["y"], scale=v["s"]),
    ),
    Entry(
        "Lévy (heavy tail, essential singularity at 0)",
        r"\sqrt{\frac{c}{2\pi}}\frac{e^{-\frac{c}{2y}}}{y^{3/2}}",
        dict(observed="y", params=["c"], positive=["c"], support="0,oo"),
        lambda v: stats.levy.logpdf(v["y"], scale=v["c"]),
    ),
    Entry(
        "Burr type XII (heavy tail)",
        r"c k\,y^{c-1}\left(1+y^{c}\right)^{-k-1}",
        dict(observed="y", params=["k"], fixed=["c"], positive=["c", "k"], support="0,oo"),
        lambda v: stats.burr12.logpdf(v["y"], v["c"], v["k"]),
    ),
    Entry(
        "Dagum / Burr type III (heavy tail)",
        r"\frac{a p}{y}\frac{y^{a p}}{\left(y^{a}+1\right)^{p+1}}",
        dict(observed="y", params=["p"], fixed=["a"], positive=["a", "p"], support="0,oo"),
        lambda v: stats.burr.logpdf(v["y"], v["a"], v["p"]),
    ),
    Entry(
        "log-Cauchy (heavy tail)",
        r"\frac{1}{\pi y}\frac{\sigma}{(\ln y-\mu)^2+\sigma^2}",
        dict(observed="y", params=["mu"], fixed=["sigma"], positive=["sigma"], support="0,oo"),
        # log y is Cauchy(μ, σ)
        lambda v: stats.cauchy.logpdf(np.log(v["y"]), v["mu"], v["sigma"]) - np.log(v["y"]),
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


def test_corpus_is_large_enough():
    assert len(PAPERS) >= 15
    assert len({e.id for e in PAPERS}) == len(PAPERS)


@pytest.mark.parametrize("entry", PAPERS, ids=[e.id for e in PAPERS])
def test_paper_density_nll_matches_scipy(entry, derived):
    declared, d = derived(entry)
    assert any(c.startswith("normalises") for c in declared.checks), declared.checks
    rng = np.random.default_rng(12)
    compared = 0
    for _ in range(40):
        values = _draw(d.dist, rng)
        by_name = {str(s): v for s, v in values.items()}
        expected = -float(entry.oracle(by_name))
        if not np.isfinite(expected):  # the oracle under/overflows (scipy works in doubles)
            continue
        got = float(evaluate(d.nll, values, 30))
        assert got == pytest.approx(expected, rel=entry.tolerance, abs=entry.tolerance), by_name
        rebuilt = float(evaluate(d.scale * d.loss + d.dropped, values, 30))
        assert rebuilt == pytest.approx(got, rel=1e-12, abs=1e-12)
        compared += 1
        if compared == 5:
            break
    assert compared == 5
    assert special is not None


def test_a_complex_nll_is_refused_naming_the_factor_and_the_fix():
    """a² > 0 keeps the density positive, but −log a² = −2 log a is complex for a < 0."""
    from derive.errors import UserError
    from derive.user import new

    with pytest.raises(UserError, match=r"log\(a\).*sign of a is unknown.*--positive a"):
        new(r"\frac{a^2}{2} e^{-a^2|y-\mu|}", observed="y", params=["mu"], fixed=["a"])
    d = new(
        r"\frac{a^2}{2} e^{-a^2|y-\mu|}", observed="y", params=["mu"], fixed=["a"], positive=["a"]
    )
    assert not d.nll.has(sp.I)


def test_heavy_tails_and_not_one():
    """A density with 0.9 of the mass is refused however its tails are; a correct heavy-tailed one
    is accepted."""
    from derive.errors import UserError

    with pytest.raises(UserError, match="does not normalise"):
        declare(
            r"\frac{0.9}{\pi s (1 + ((y-\mu)/s)^2)}",
            observed="y",
            params=["mu"],
            fixed=["s"],
            positive=["s"],
        )
    declared = declare(
        r"\frac{1}{\pi s (1 + ((y-\mu)/s)^2)}",
        observed="y",
        params=["mu"],
        fixed=["s"],
        positive=["s"],
    )
    assert any(c.startswith("normalises") for c in declared.checks)


@pytest.mark.parametrize(
    "tex, expected",
    [
        (r"\zeta(s)", lambda s, x, a: sp.zeta(s)),  # not ζ·s
        (r"\zeta(s, a)", lambda s, x, a: sp.zeta(s, a)),
        (r"\operatorname{sech}(x)", lambda s, x, a: sp.sech(x)),
        (r"\sech^{2}(x)", lambda s, x, a: sp.sech(x) ** 2),
        (r"\csch(x)", lambda s, x, a: sp.csch(x)),
        (r"\operatorname{arsinh}(x)", lambda s, x, a: sp.asinh(x)),
        (r"\operatorname{arcosh}(x)", lambda s, x, a: sp.acosh(x)),
        (r"\artanh(x)", lambda s, x, a: sp.atanh(x)),
        (r"\Gamma(a, x)", lambda s, x, a: sp.uppergamma(a, x)),
        (r"\gamma(a, x)", lambda s, x, a: sp.lowergamma(a, x)),
        (r"\gamma(x)", lambda s, x, a: sp.Symbol("gamma") * x),  # one argument: a product
        (r"\erf(x) + \operatorname{erfc}(x)", lambda s, x, a: sp.erf(x) + sp.erfc(x)),
        (r"\Gamma(\frac{1}{3})", lambda s, x, a: sp.gamma(sp.Rational(1, 3))),
    ],
)
def test_functions_papers_use_are_read(tex, expected):
    from derive.parse import parse_latex

    s, x, a = sp.symbols("s x a")
    assert sp.simplify(parse_latex(tex).expr - expected(s, x, a)) == 0
