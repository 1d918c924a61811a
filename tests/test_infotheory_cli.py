"""`derive kl` and `derive entropy` as a user runs them: terminal text, --json, --latex, bad input;
the LaTeX section and the standalone-document section compile."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import derive.cli
import derive.latex.infotheory as itex
from derive.catalog import CATALOG
from derive.derivation import derive as derive_entry
from derive.latex import render_template

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def run(capsys, monkeypatch):
    # the kl and entropy commands alone, through the real entry point and its error handling
    monkeypatch.setattr(derive.cli, "COMMANDS", ("show", "info"))

    def invoke(*argv):
        status = derive.cli.main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


def test_kl_gaussian_gaussian_golden(run):
    status, out, err = run("kl", "gaussian", "gaussian")
    assert (status, err) == (0, "")
    assert out == (GOLDEN / "infotheory_kl_gaussian_gaussian.txt").read_text(encoding="utf-8")


def test_kl_json_keys_and_values(run):
    status, out, _ = run("kl", "gaussian", "gaussian", "--json")
    data = json.loads(out)
    assert status == 0
    assert {"p", "q", "params_p", "params_q", "kl", "entropy_p", "cross_entropy", "latex"} <= set(
        data
    )
    assert (data["p"], data["q"]) == ("gaussian", "gaussian")
    assert (data["params_p"], data["params_q"]) == (["mu_p", "sigma_p"], ["mu_q", "sigma_q"])
    assert (
        data["kl"] == "log(sigma_q/sigma_p) - 1/2 + (sigma_p**2 + (mu_p - mu_q)**2)/(2*sigma_q**2)"
    )
    assert data["entropy_p"] == "log(sigma_p) + 1/2 + log(2*pi)/2"
    assert data["cross_entropy"] == (
        "log(sigma_q) + log(2*pi)/2 + (sigma_p**2 + (mu_p - mu_q)**2)/(2*sigma_q**2)"
    )
    assert data["latex"] == {
        "kl": r"- \frac{1}{2} + \log\left(\frac{\sigma_{q}}{\sigma_{p}}\right) + "
        r"\frac{\sigma_{p}^{2} + \left(\mu_{p} - \mu_{q}\right)^{2}}{2 \sigma_{q}^{2}}",
        "entropy_p": r"\frac{1}{2} + \log \sigma_{p} + \frac{1}{2} \log 2 \pi",
        "cross_entropy": r"\log \sigma_{q} + \frac{\sigma_{p}^{2} + "
        r"\left(\mu_{p} - \mu_{q}\right)^{2}}{2 \sigma_{q}^{2}} + \frac{1}{2} \log 2 \pi",
    }
    assert data["finite"] is True and all(data["proofs"].values())


def test_kl_json_params_are_declared_learned_then_fixed(run):
    _, out, _ = run("kl", "bernoulli-logit", "gamma", "--json")
    data = json.loads(out)
    assert data["params_p"] == ["p_p"] and data["params_q"] == ["mu_q", "shape_q"]
    assert data["finite"] is False and "continuous" in data["infinite_reason"]
    assert data["kl"] == "oo" and data["cross_entropy"] == "oo"


def test_infinite_pair_in_the_terminal(run):
    status, out, _ = run("kl", "gaussian", "exponential")
    assert status == 0
    summary = " ".join(out[: out.index("derivation:")].split())  # the result comes first
    assert summary.endswith(
        "KL(P ‖ Q) = ∞ note: KL(P ‖ Q) = ∞: the support of gaussian, ℝ, is not inside that of "
        "exponential, (0, ∞): P gives positive probability where q(y) = 0"
    )


def test_entropy_json_and_explicit_series(run):
    status, out, _ = run("entropy", "poisson", "--json")
    data = json.loads(out)
    assert status == 0 and data["p"] == "poisson" and data["params_p"] == ["lambda_p"]
    assert "q" not in data and "kl" not in data
    assert data["entropy_p"].startswith("-lambda_p*log(lambda_p) + lambda_p + exp(-lambda_p)*Sum(")
    assert data["explicit"][0]["statistic"] == "log(factorial(y))"
    assert "no closed form" in data["explicit"][0]["why"]
    _, out, _ = run("entropy", "poisson")
    note = "note: 𝔼_P[log(y!)]: series with no closed form: kept as an explicit sum"
    assert note in " ".join(out.split())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["kl", "gaussian", "categorical"], "cannot compare gaussian with categorical"),
        (["kl", "gausian", "gaussian"], "unknown distribution 'gausian'"),
        (["kl", "gaussian"], "the following arguments are required: Q"),
        (["entropy", "tweedie"], "tweedie: the full NLL"),
        (["kl", "gaussian", "gaussian", "--json", "--latex"], "not allowed with argument"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, argv, message):
    if any(a in ("tweedie", "categorical") and a not in CATALOG for a in argv):
        pytest.skip("not in the catalog yet")
    status, out, err = run(*argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("derive: error: ") and message in err


def test_output_file(run, tmp_path):
    target = tmp_path / "kl.tex"
    status, out, _ = run("kl", "exponential", "gamma", "--latex", "-o", str(target))
    assert status == 0 and out == ""
    text = target.read_text(encoding="utf-8")
    assert text.startswith("% derive: kl exponential gamma")
    assert r"\label{eq:kl:exponential:gamma:kl}" in text


# ---------------------------------------------------------------------------- LaTeX

PREAMBLE = r"""\documentclass{article}
\usepackage[T1]{fontenc}\usepackage{lmodern}\usepackage[margin=2.5cm]{geometry}
\usepackage{amsmath}\usepackage{amssymb}\allowdisplaybreaks
\begin{document}
"""


def _compile(tmp_path, body):
    if shutil.which("pdflatex") is None:
        pytest.skip("no pdflatex")
    (tmp_path / "t.tex").write_text(PREAMBLE + body + "\n\\end{document}\n", encoding="utf-8")
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in done.stdout.splitlines() if line.startswith("!")]
    assert done.returncode == 0, errors
    return done.stdout


def test_latex_section_for_a_pair():
    text = itex.latex_section("gaussian", "gaussian")
    assert text.startswith("% derive: kl gaussian gaussian\n")
    assert (
        r"\section{Gaussian, fixed variance: entropy, cross-entropy and KL divergence}"
        r"\label{sec:kl:gaussian:gaussian}" in text
    )
    assert (
        r"&= - \frac{1}{2} + \log\left(\frac{\sigma_{q}}{\sigma_{p}}\right) + "
        r"\frac{\sigma_{p}^{2} + \left(\mu_{p} - \mu_{q}\right)^{2}}{2 \sigma_{q}^{2}}" in text
    )
    assert "reduces to $0$" in text and "not proven" not in text


def test_latex_sections_compile(tmp_path):
    body = "\n".join(
        [
            itex.latex_section("gaussian", "gaussian"),
            itex.latex_section("poisson", "poisson"),
            itex.latex_section("dirichlet", "dirichlet"),
            itex.latex_section("binomial", "binomial"),
            itex.latex_section("gaussian", "exponential"),
            itex.latex_section("gamma"),
        ]
    )
    log = _compile(tmp_path, body)
    assert "Overfull" not in log


def test_document_section_compiles(tmp_path):
    derivations = [derive_entry(CATALOG[n]) for n in ("gaussian", "categorical-logit")]
    data = itex.document_context(derivations)
    assert [c["key"] for c in data["classics"]] == [
        "vae",
        "label-smoothing",
        "expected-loss-gaussian",
    ]
    assert all(c["proven"] for c in data["classics"])
    body = render_template("infotheory.tex.j2", section={"data": data}, distributions=[])
    assert body.startswith(r"\section{Entropy, cross-entropy and KL divergence}")
    _compile(tmp_path, body)


def _under_p(stat, y, pdf, lo, hi, discrete):
    """𝔼_P[stat] by scipy (quadrature, or a sum over the counts): the oracle of a kept value."""
    import numpy as np
    import sympy as sp
    from scipy import integrate

    f = sp.lambdify(y, stat, modules=["scipy", "numpy"])
    if discrete:
        ks = np.arange(int(lo), 150)  # p(150) < 1e-200 here; 170! overflows
        return float(np.sum(pdf(ks) * np.array([float(f(k)) for k in ks])))
    return integrate.quad(lambda t: pdf(t) * f(t), lo, hi, limit=200)[0]


@pytest.mark.parametrize("name", ["inverse-gaussian", "poisson"])
def test_an_expectation_without_closed_form_is_its_own_equation(name):
    """The integral (a series over the counts) is written once, as the definition
    𝔼_P[T] = ∫ p(y | θ) T dy on its own row; the results name 𝔼_P[T] instead of repeating it
    inside their rows.  The named results, with 𝔼_P[T] computed by scipy, are scipy's
    cross-entropy, entropy and KL (quadrature / summation of the scipy densities)."""
    import numpy as np
    import sympy as sp
    from scipy import integrate, stats

    from derive.infotheory import Expectation, divergence

    pair = divergence(name, name)
    (kept,) = pair.explicit
    text = itex.pair_section(pair)
    y = pair.y
    if name == "poisson":
        definition = r"= \sum_{y=0}^{\infty} p(y \mid \lambda_{p}) \log y!"
    else:
        definition = r"= \int\limits_{0}^{\infty} p(y \mid \mu_{p}, \lambda_{p}) \log y\, dy"
    assert definition in text
    for key in ("cross-entropy", "entropy", "kl"):  # the numbered results
        label = r"\label{eq:kl:%s:%s:%s}" % (name, name, key)
        equation = text[: text.index(label)].rsplit(r"\begin{align}", 1)[1]
        assert r"\int" not in equation and r"\sum_{y" not in equation, key
    assert text.count(r"\int") + text.count(r"\sum_{y") == 1

    context = itex.pair_context(pair)
    rows = {g["kind"]: g["rows"] for g in context["groups"]}
    assert "mathbb{E}" in "".join(rows["cross-entropy"][0]["lines"])

    if name == "poisson":
        values = {pair.params_p[0]: 2.5, pair.params_q[0]: 1.3}
        p = stats.poisson(2.5)
        q = stats.poisson(1.3)
        ks = np.arange(0, 150)

        def under_p(f):
            return float(np.sum(p.pmf(ks) * f(ks)))

        oracle = {"pdf": p.pmf, "lo": 0, "hi": np.inf, "discrete": True}
    else:
        (mu_p, lam_p), (mu_q, lam_q) = pair.params_p, pair.params_q
        values = {mu_p: 1.5, lam_p: 2.0, mu_q: 0.8, lam_q: 3.0}
        p = stats.invgauss(1.5 / 2.0, scale=2.0)
        q = stats.invgauss(0.8 / 3.0, scale=3.0)

        def under_p(f):
            return integrate.quad(lambda t: p.pdf(t) * f(t), 0, np.inf, limit=200)[0]

        oracle = {"pdf": p.pdf, "lo": 0, "hi": np.inf, "discrete": False}
    number = _under_p(kept.stat, y, **oracle)
    shown = itex._Kept(pair)
    expected = {
        "cross": under_p(lambda t: -q.logpmf(t) if name == "poisson" else -q.logpdf(t)),
        "entropy": under_p(lambda t: -p.logpmf(t) if name == "poisson" else -p.logpdf(t)),
    }
    expected["kl"] = expected["cross"] - expected["entropy"]
    for key, value in (
        ("cross", pair.cross_entropy),
        ("entropy", pair.entropy_p),
        ("kl", pair.kl),
    ):
        named = shown.named(value)
        assert not named.has(sp.Integral) and not named.has(sp.Sum), key
        numeric = named.xreplace({Expectation(kept.stat): sp.Float(number)}).xreplace(values)
        assert float(numeric) == pytest.approx(expected[key], rel=1e-7, abs=1e-9), key
