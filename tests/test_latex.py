"""LaTeX for papers: the printer's notation, the templates' text, the round trip via a parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sympy as sp
from conftest import derivation, draw
from latex2sympy2 import latex2sympy

from derive import functions as F
from derive import latex
from derive.cli import main
from derive.numeric import evaluate
from derive.spec import CLASS_INDEX as k
from derive.spec import N_CLASSES as K

GOLDEN = Path(__file__).parent / "golden"

y, mu, eta, z = sp.symbols("y mu eta z", real=True)
sigma, lam = sp.symbols("sigma lambda", positive=True)
p = sp.Symbol("p", positive=True)
i, n = sp.symbols("i n", integer=True, positive=True)
Y, P = sp.IndexedBase("y"), sp.IndexedBase("p")


# ---------------------------------------------------------------------------- the printer


@pytest.mark.parametrize(
    "expr, settings, expected",
    [
        ((y - mu) ** 2, {"observed": (y,)}, r"\left(y - \mu\right)^{2}"),
        ((mu - y) ** 2, {"observed": (y,)}, r"\left(y - \mu\right)^{2}"),
        (sp.Abs(mu - y), {"observed": (y,)}, r"\left|y - \mu\right|"),
        (sp.cos(mu - y), {"observed": (y,)}, r"\cos\left(y - \mu\right)"),
        (sp.exp(eta) - y * eta, {"observed": (y,), "learned": (eta,)}, r"e^{\eta} - y \eta"),
        (lam - y * sp.log(lam), {"observed": (y,), "learned": (lam,)}, r"\lambda - y \log \lambda"),
        (
            (y - mu) ** 2 / (2 * sigma**2) + sp.log(sigma) + sp.log(2 * sp.pi) / 2,
            {"observed": (y,), "learned": (mu,)},
            r"\frac{\left(y - \mu\right)^{2}}{2 \sigma^{2}} + \log \sigma"
            r" + \frac{1}{2} \log 2 \pi",
        ),
        (1 - y, {"observed": (y,)}, r"1 - y"),
        (sp.log(1 - p), {}, r"\log\left(1 - p\right)"),
        (sp.log(sigma), {"ln_notation": True}, r"\ln \sigma"),
        (F.log1p(p), {"ln_notation": True}, r"\ln\left(1 + p\right)"),
        (F.softplus(z) - y * z, {"observed": (y,)}, r"\operatorname{softplus}\left(z\right) - y z"),
        (
            sp.exp(-((y - mu) ** 2) / 2),
            {"observed": (y,)},
            r"\exp\left(- \frac{\left(y - \mu\right)^{2}}{2}\right)",
        ),
        (
            sp.Product(P[k] ** Y[k], (k, 1, K), (i, 1, n)),
            {},
            r"\prod_{i=1}^{n} \prod_{k=1}^{K} p_{k}^{y_{k}}",
        ),
        (
            -sp.Sum(sp.log(P[k]) * Y[k], (k, 1, K)),
            {"observed": (Y,)},
            r"- \sum_{k=1}^{K} y_{k} \log p_{k}",
        ),
        (sp.Symbol("shape", positive=True), {}, r"\mathrm{shape}"),
        (sp.Symbol("ℓ"), {}, r"\ell"),
        (mu, {"names": {"mu": r"\hat{y}"}}, r"\hat{y}"),
        (sp.Symbol("mu_i"), {"names": {"mu": r"\hat{y}"}}, r"\hat{y}_{i}"),
    ],
)
def test_printer_notation(expr, settings, expected):
    assert latex.tex(expr, **settings) == expected


def test_tex_and_equation_keep_their_signatures():
    assert latex.tex(mu) == r"\mu"
    assert latex.equation(sp.Symbol("a"), 1 / (2 * sigma**2)) == r"a = \frac{1}{2 \sigma^{2}}"


def test_a_log_that_is_not_last_in_a_product_keeps_its_parentheses():
    a = sp.Symbol("a", positive=True)
    assert latex.tex(sp.log(y) * sp.log(a)) == r"\left(\log a\right) \log y"


def test_long_expressions_break_between_terms():
    expr = sum(sp.Symbol(f"x{j}") ** 2 for j in range(12))
    whole = latex.tex(expr)
    rows = latex.lines(expr, width=20)
    assert len(rows) > 1
    assert all(row.startswith(("+ ", "- ")) for row in rows[1:])
    assert " ".join(rows) == whole
    assert latex.lines(expr, width=1000) == [whole]


def test_a_long_sum_breaks_inside_sized_parentheses():
    body = sum(sp.Symbol(f"x{j}") ** 2 for j in range(12))
    rows = latex.lines(sp.Sum(body, (i, 1, n)), width=20)
    assert rows[0].startswith(r"\sum_{i=1}^{n} \Bigl(") and rows[-1].endswith(r"\Bigr)")


def test_an_incomplete_beta_breaks_between_and_inside_its_arguments():
    """I_x(a, b) lists two of its three arguments in parentheses: a wide one breaks there, its
    subscript x kept with the name (the censored binomial's cases in two columns)."""
    x = 1 - sp.exp(z) / (sp.exp(z) + 1)
    expr = -sp.log(F.ibeta(n - y + sp.Symbol("m"), y + 1, x))
    whole = latex.tex(expr)
    rows = latex.lines(expr, width=12)
    assert len(rows) > 1
    assert rows[0].startswith(r"- \log\Bigl(I_{%s}\Bigl(" % latex.tex(x))
    assert rows[-1].endswith(r"\Bigr)\Bigr)")
    assert all(latex.printer._width(row) <= 12 for row in rows[1:])
    joined = " ".join(rows).replace(r"\Bigl(", r"\left(").replace(r"\Bigr)", r"\right)")
    inner = whole.removeprefix(r"- \log ")  # broken, the logarithm brackets its argument
    assert re.sub(r"\s+", "", joined) == re.sub(r"\s+", "", r"-\log\left(%s\right)" % inner)
    assert latex.lines(expr, width=1000) == [whole]


def test_the_reciprocal_of_a_wide_product_breaks_into_reciprocals_of_its_factors():
    """1/((a + b)(c + d)) on narrow lines as 1/(a + b) · 1/(c + d), the same value once parsed
    back (the inverse link of the truncated binomial in two columns)."""
    a, b, c, d = sp.symbols("a b c d", positive=True)
    expr = 1 / ((a**2 + b**2 + 3 * a * b + 7) * (c**2 + d**2 + 5 * c * d + 11))
    rows = latex.lines(expr, width=14)
    assert len(rows) == 2 and all(row.startswith(r"\frac{1}{") for row in rows)
    assert all(latex.printer._width(row) <= 14 for row in rows)
    parsed = latex2sympy(" ".join(rows))
    point = {a: 0.3, b: 1.7, c: 2.9, d: 0.45}
    assert float(parsed.subs({sp.Symbol(str(s)): v for s, v in point.items()})) == pytest.approx(
        float(expr.subs(point)), rel=1e-12
    )


def test_width_estimate():
    assert latex.printer._width(r"\frac{a}{b c d}") < latex.printer._width("a b c d")
    assert latex.printer._width(r"\left(x\right)") == latex.printer._width("(x)")


# ---------------------------------------------------------------------------- text filters


def test_escape_and_code():
    assert latex.escape("a_b & 50% #1 {x} ~ ^") == (
        r"a\_b \& 50\% \#1 \{x\} \textasciitilde{} \textasciicircum{}"
    )
    assert latex.escape("σ² × 2 − 1") == (
        r"\ensuremath{\sigma}\textsuperscript{2} \ensuremath{\times} 2 \ensuremath{-} 1"
    )
    assert latex.escape("ŷ, é, ç") == r"\^{y}, \'{e}, \c{c}"
    # identifiers break at dots only, never inside a name (mse_loss stays whole)
    assert latex.code("torch.mse_loss") == r"\texttt{torch.}\allowbreak{}\texttt{mse\_loss}"
    # prose naming implementations: the identifiers (and their arguments) in typewriter type
    assert latex.breakable("torch mse_loss") == r"torch \texttt{mse\_loss}"
    assert latex.breakable("−log_prob of torch.distributions.StudentT less its constant") == (
        r"\ensuremath{-}\texttt{log\_prob} of \texttt{torch.}\allowbreak{}"
        r"\texttt{distributions.}\allowbreak{}\texttt{StudentT} less its constant"
    )
    assert latex.breakable("torch nll_loss(log p); cross_entropy(log p, y) with targets") == (
        r"torch \texttt{nll\_loss(}\allowbreak{}\texttt{log p)}; "
        r"\texttt{cross\_entropy(}\allowbreak{}\texttt{log p, y)} with targets"
    )
    assert latex.breakable("1 − cos of the angle, MixtureSameFamily(π)") == (
        r"1 \ensuremath{-} cos of the angle, MixtureSameFamily(\ensuremath{\pi})"
    )


# ---------------------------------------------------------------------------- fragments


@pytest.mark.parametrize("entry", ["gaussian", "bernoulli-logit"])
def test_fragment_golden(entry):
    text = latex.fragment(derivation(entry))
    assert text == (GOLDEN / f"latex_{entry}.tex").read_text(encoding="utf-8")


def test_fragment_structure(name):
    text = latex.fragment(derivation(name))
    body = text[text.index(r"\begin{align}") : text.index(r"\end{align}")]
    labels = re.findall(r"\\label\{([^}]*)\}", text)
    assert len(labels) == len(set(labels)), "duplicate labels"
    assert {f"eq:{name}:density", f"eq:{name}:loss", f"eq:{name}:relation"} <= set(labels)
    assert all(label.startswith(f"eq:{name}:") for label in labels)
    assert "\n\n" not in body, "a blank line ends the align"
    assert all(ord(c) < 128 for c in text), "pdflatex needs ASCII (or escaped) text"
    assert text.count("{") == text.count("}")
    assert not body.rstrip().endswith("\\\\"), "a trailing \\\\ adds an empty numbered row"


def test_every_step_kind_has_its_own_text():
    from derive.derivation import STEP_KINDS

    source = (latex.template_dir() / "fragment.tex.j2").read_text()
    table = re.search(r"set STEPS = \{([^}]*)\}", source).group(1)  # kind: its macro
    handled = {k for k, m in re.findall(r'"(\w+)": step_(\w+)', table) if k == m} | {"density"}
    assert all(r"\BLOCK{macro step_%s(" % k in source for k in handled - {"density"})
    assert set(STEP_KINDS) <= handled, "a new step kind falls back to 'which gives'"


def test_notation_renames_symbols_and_uses_ln():
    notation = latex.Notation(ln=True, names={"mu": r"\hat{y}"})
    text = latex.fragment(derivation("gaussian"), notation)
    assert r"\mathcal{L}(y, \hat{y}) &= \left(y - \hat{y}\right)^{2}" in text
    assert r"\log" not in text and r"\ln \sigma" in text


def test_ln_reaches_the_whole_document():
    text = latex.document([derivation("poisson-log")], latex.Notation(ln=True), sections=())
    assert r"\ln q_\theta(y_i)" in text and r"\log" not in text


def test_display_density_equals_the_recorded_density(name, rng):
    d = derivation(name)
    shown = latex.documents.display_density(d.dist)
    if shown is None:
        pytest.skip("the declaration only builds evaluated; the recorded form is shown")
    for _ in range(2):
        values, _ = draw(d, rng)
        values.update(_fixed_and_declared(d, rng))
        a, b = evaluate(d.density, values, 30), evaluate(shown.doit(), values, 30)
        assert abs(a - b) <= 1e-20 * (1 + abs(a))


def _fixed_and_declared(d, rng):
    dist = d.dist
    out = {}
    for v in dist.params:
        out[dist.sym(v)] = v.draw(rng)
    return out


# ---------------------------------------------------------------------------- round trip


#: The parser's names for the primitives (single-argument calls are rewritten to two arguments,
#: the only form latex2sympy2 reads as a call whatever the argument).
CALLS = {
    r"\operatorname{softplus}": ("softplus", lambda x, _: F.softplus(x)),
    r"\Gamma": ("Gamma", lambda x, _: sp.gamma(x)),
    r"\sigma": ("sigmoid", lambda x, _: F.sigmoid(x)),
    r"\Phi": ("ndtr", lambda x, _: F.ndtr(x)),
    r"\operatorname{huber}": ("huber", lambda x, k_: F.huber(x, k_)),
    r"I_{0}": ("besseli", lambda x, _: sp.besseli(0, x)),
}


def normalise(text: str) -> str:
    """What latex2sympy2 reads: plain parentheses, \\ln for the natural log, calls it can parse
    (min as an absolute value), and π_k (a mixture weight) renamed, since the parser takes \\pi
    for the constant."""
    text = text.replace(r"\left", "").replace(r"\right", "")
    text = text.replace(r"\pi_{", r"\varpi_{")
    text = _rewrite_calls(_rewrite_min(text))
    text = _brace_sum_bodies(text)
    return re.sub(r"\\log(?![A-Za-z])", r"\\ln", text)


def _rewrite_min(text: str) -> str:
    """min(a, b) as (a + b − |a − b|)/2: latex2sympy2 reads no call with two arguments inside
    another call's arguments (softplus(−min(u, −l)) of a log-diff-exp)."""
    while (start := text.rfind(r"\min(")) >= 0:
        depth, j, comma = 1, start + len(r"\min("), None
        while depth:
            ch = text[j]
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if ch == "," and depth == 1:
                comma = j
            j += 1
        a, b = text[start + len(r"\min(") : comma], text[comma + 1 : j - 1]
        text = text[:start] + rf"(\frac{{({a}) + ({b}) - |({a}) - ({b})|}}{{2}})" + text[j:]
    return text


def _brace_sum_bodies(text: str) -> str:
    """\\sum_{…}^{…} f(x) + … as (\\sum_{…}^{…}{f(x)}) + …: latex2sympy2 reads a call as a sum's
    body only in braces, and the sum as one argument of a call only in parentheses (the ordinal
    cutpoints Σ_{k=2}^{y} softplus(θ_k))."""
    pattern = re.compile(r"\\sum_\{[^{}]*\}\^\{[^{}]*\}\s*(?=\\mathrm\{\w+\}\()")
    start = 0
    while (match := pattern.search(text, start)) is not None:
        j = text.index("(", match.end())
        depth, j = 1, j + 1
        while depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        body = text[match.end() : j]
        if body.endswith(", 0)"):  # and with one argument: a comma in a sum ends the call
            body = body[: -len(", 0)")] + ")"
        text = (
            text[: match.start()]
            + "("
            + text[match.start() : match.end()]
            + "{"
            + body
            + "})"
            + text[j:]
        )
        start = match.end() + 2
    return text


def _rewrite_calls(text: str) -> str:
    for macro, (name, _) in CALLS.items():
        pattern = re.compile(re.escape(macro) + r"(?:_\{([^{}]*)\})?\(")
        start = 0
        while (match := pattern.search(text, start)) is not None:
            depth, j = 1, match.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            inner = text[match.end() : j - 1]
            call = rf"\mathrm{{{name}}}({inner}, {match.group(1) or 0})"
            text = text[: match.start()] + call + text[j:]
            start = match.start() + 1
    return text


def parse_back(text: str, d, settings: dict):
    """The derivation's expression that ``text`` denotes, through latex2sympy2."""
    parsed = latex2sympy(normalise(text))
    targets = list(d.variables)
    if any(isinstance(t, sp.IndexedBase) for t in targets):
        targets += [k, K]
    symbols = {}
    for target in targets:
        shown = target[k] if isinstance(target, sp.IndexedBase) else target
        symbols[latex2sympy(normalise(latex.tex(shown, **settings)))] = shown
        if isinstance(target, sp.IndexedBase):  # a component by number (the first cutpoint θ₁)
            one = target[1]
            symbols[latex2sympy(normalise(latex.tex(one, **settings)))] = one
    parsed = parsed.xreplace(symbols)
    functions = {name: fn for name, fn in CALLS.values()}

    def call(e):
        name = re.sub(r"^\\mathrm\{(\w+)\}$", r"\1", str(e.func))
        return functions[name](*e.args, *([0] if len(e.args) == 1 else []))

    return parsed.replace(lambda e: isinstance(e, sp.core.function.AppliedUndef), call)


def test_the_printed_loss_parses_back_to_the_derived_loss(name, rng):
    """The printed loss read back by latex2sympy2 has the loss's value; a loss given by cases
    (ordinal), which the parser cannot read as one, case by case at points in the case."""
    d = derivation(name)
    settings = latex.Notation().settings(d)
    cases = d.loss.args if isinstance(d.loss, sp.Piecewise) else [(d.loss, sp.true)]
    for value, condition in cases:
        back = parse_back(latex.tex(value, **settings), d, settings)
        tried = 0
        for _ in range(200):
            values, _ = draw(d, rng)
            if condition is not sp.true and not bool(condition.subs(_scalars(d, values))):
                continue
            a, b = evaluate(value, values, 30), evaluate(back, values, 30)
            assert abs(a - b) <= 1e-20 * (1 + abs(a)), (name, back)
            tried += 1
            if tried == 3:
                break
        assert tried == 3, (name, condition)


def _scalars(d, values):
    """The scalar values, and the number of classes K of the vectors."""
    out = {s: v for s, v in values.items() if not isinstance(s, sp.IndexedBase)}
    lengths = {len(v) for s, v in values.items() if isinstance(s, sp.IndexedBase)}
    return {**out, K: lengths.pop()} if lengths else out


def test_the_round_trip_catches_a_wrong_printer(monkeypatch):
    """The check can fail: a printer that drops the parentheses of a power is caught."""
    d = derivation("gaussian")
    settings = latex.Notation().settings(d)
    wrong = latex.tex(d.loss, **settings).replace(r"\left(", "").replace(r"\right)", "")
    back = parse_back(wrong, d, settings)
    values = {d.observed: 1.5, d.learned[0]: 0.25, d.fixed[0]: 1.0}
    assert abs(evaluate(back, values) - evaluate(d.loss, values)) > 0.1


# ---------------------------------------------------------------------------- CLI


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_prints_the_fragment(capsys):
    status, out, _ = run(capsys, "latex", "gaussian")
    assert status == 0
    assert out == (GOLDEN / "latex_gaussian.tex").read_text(encoding="utf-8")


def test_cli_notation_options(capsys):
    status, out, _ = run(capsys, "latex", "gaussian", "--ln", "--symbol", r"mu=\hat{y}")
    assert status == 0
    assert r"\mathcal{L}(y, \hat{y}) &= \left(y - \hat{y}\right)^{2}" in out
    assert r"C &= \ln \sigma + \frac{1}{2} \ln 2 \pi" in out


def test_cli_writes_a_standalone_document(capsys, tmp_path):
    target = tmp_path / "g.tex"
    status, out, _ = run(capsys, "latex", "gaussian", "laplace", "--standalone", "-o", str(target))
    text = target.read_text()
    assert status == 0 and out == ""
    assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
    assert r"\label{sec:chain}" in text and r"\label{tab:summary}" in text
    assert text.count(r"\section{") >= 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["latex"], "give at least one NAME, or --all"),
        (["latex", "gaussian", "--all"], "give NAME... or --all, not both"),
        (["latex", "gausian"], "unknown distribution 'gausian'"),
        (["latex", "gaussian", "--pdf"], "--pdf needs -o FILE.tex"),
        (["latex", "gaussian", "--symbol", "mu"], "--symbol 'mu': expected NAME=LATEX"),
        (["latex", "gaussian", "-o", "/nonexistent/dir/g.tex"], "cannot write /nonexistent/dir"),
    ],
)
def test_cli_bad_input(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("derive: error: ") and message in err
    assert err.count("\n") == 1


def test_cli_pdf_without_a_tex_engine(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    target = tmp_path / "g.tex"
    status, _, err = run(capsys, "latex", "gaussian", "--pdf", "-o", str(target))
    assert status == 2 and "neither pdflatex nor latexmk is on PATH" in err
    assert not target.exists()


# ---------------------------------------------------------------------------- sections


def test_a_section_passed_in_is_rendered_after_the_distributions(monkeypatch, tmp_path):
    (tmp_path / "extra.tex.j2").write_text(
        "\\section{Extra}\\label{sec:extra} \\VAR{section.data.count} distributions.\n"
    )
    import jinja2

    env = latex.environment()
    monkeypatch.setattr(
        env, "loader", jinja2.ChoiceLoader([env.loader, jinja2.FileSystemLoader(tmp_path)])
    )
    extra = latex.Section("extra.tex.j2", lambda ds, notation: {"count": len(ds)})
    text = latex.document([derivation("gaussian")], sections=[extra])
    assert "\\section{Extra}\\label{sec:extra} 1 distributions." in text
    assert text.index("sec:extra") > text.index("eq:gaussian:relation")
    assert "sec:infotheory" not in text  # only the sections passed in


def test_the_python_document_is_the_commands(tmp_path, capsys):
    """derive.latex.document() from Python and `derive latex --standalone` write one document,
    the information-theory section included (sections are passed in, not registered at
    import)."""
    import derive.relative

    names = ["gaussian", "poisson", "label-smoothing"]
    target = tmp_path / "doc.tex"
    assert main(["latex", *names, "--standalone", "-o", str(target)]) == 0
    ours = latex.document(derive.relative.derivations(names))
    assert target.read_text() == ours
    assert r"\label{sec:infotheory}" in ours and r"\label{sec:gaussian}" in ours


# ---------------------------------------------------------------------------- cases, paper forms


def test_cases_print_one_case_a_row_and_take_a_minus_inside():
    cases = sp.Piecewise((p, sp.Eq(y, 0)), (1 - p, True))
    assert latex.tex(cases) == (
        r"\begin{cases} p & \text{for}\: y = 0 \\ 1 - p & \text{otherwise} \end{cases}"
    )
    assert latex.tex(-cases) == (
        r"\begin{cases} - p & \text{for}\: y = 0 \\ p - 1 & \text{otherwise} \end{cases}"
    )


def test_a_wide_case_breaks_inside_its_row_and_a_narrow_column_puts_conditions_below():
    from derive.latex.printer import _width

    long = sum((sp.log(sigma + j * y) for j in range(1, 9)), sp.S.Zero)
    cases = sp.Piecewise((long, sp.Eq(y, 0)), (p, True))
    (wide,) = latex.lines(cases, 40)
    assert r"\begin{array}[t]{@{}l@{}}" in wide and r"& \text{for}\: y = 0" in wide
    assert _width(wide) <= 40
    (narrow,) = latex.lines(cases, 16)
    assert r"\quad \text{for}\: y = 0" in narrow and "&" not in narrow  # under its case
    assert r"p, \quad \text{otherwise}" in narrow  # a short case keeps its condition beside it
    # every term is still there, once
    for j in range(1, 9):
        assert narrow.count(latex.tex(sp.log(sigma + j * y))) == 1


def test_a_chain_of_nested_heads_stands_on_a_line_of_its_own():
    """−log(exp(−softplus(−min(Σ …: nothing to break before the Σ, so the line ends after the
    chain's last bracket (the ordinal losses' cases overflowed by 6–55 pt without it)."""
    from derive.latex.printer import _split_openers, _width

    heads = r"- \log\Bigl(\exp\Bigl(- \operatorname{softplus}\Bigl(- \min\Bigl("
    content = r"\sum_{k=2}^{y + 1} \operatorname{softplus}\left(\theta_{k}\right)"
    assert _split_openers(heads + content, 20) == [heads, content]
    assert _split_openers(heads + content, 1000) == [heads + content]  # fits: left alone
    short = r"- \log\Bigl(\sigma\Bigl(" + content  # two heads only: kept together
    assert _split_openers(short, _width(short) / 3) == [short]
    inside = r"\log\left(\exp\Bigl(\sigma\Bigl(x\Bigr)\Bigr)\right) + " + content  # in \left…\right
    assert _split_openers(inside, 5) == [inside]
    for columns in (1, 2):
        text = latex.fragment(derivation("ordinal-logit"), latex.Notation.preset(columns=columns))
        assert r"\min\Bigl( \\ \quad {}\sum_{k=2}^{y + 1}" in text
        assert r"\min\Bigl( \\ \quad {}\sum_{k=2}^{y} " in text


def test_exponential_family_paper_forms():
    from derive.catalog import get
    from derive.latex.expfamily import paper_constant

    assert r"h(y) &= \frac{1}{\sqrt{2 \pi}}" in latex.fragment(derivation("gaussian-hetero"))
    text = latex.fragment(derivation("gaussian"))  # σ fixed: part of h(y)
    assert r"h(y) &= \frac{1}{\sqrt{2 \pi \sigma^{2}}} \exp\left(" in text
    base = sp.sqrt(2) * sp.exp(-(y**2) / (2 * sigma**2)) / (2 * sp.sqrt(sp.pi) * sigma)
    at = {y: 0.7, sigma: 1.9}
    assert abs(float(paper_constant(base, (y,)).doit().subs(at)) - float(base.subs(at))) < 1e-15
    c = sp.sqrt(2) / (2 * sp.sqrt(sp.pi))
    shown = paper_constant(c)
    assert latex.tex(shown) == r"\frac{1}{\sqrt{2 \pi}}"
    assert abs(float(shown.doit()) - 1 / (2 * 3.141592653589793) ** 0.5) < 1e-15
    assert latex.tex(paper_constant(sp.sqrt(2) * y)) == r"\sqrt{2} y"  # not y/√(1/2)
    assert latex.tex(paper_constant(1 / sp.pi)) == r"\frac{1}{\pi}"
    t = latex.tex(latex.documents.display_density(get("student-t")))
    assert t.endswith(
        r"\left(1 + \frac{\left(\frac{y - \mu}{s}\right)^{2}}{\nu}\right)^{- \frac{\nu + 1}{2}}"
    )


def test_a_primitive_of_compound_arguments_is_defined_on_plain_variables():
    from derive.latex.documents import _primitive_definitions

    expr = F.log_ndtr((sp.log(y) - mu) / sigma)
    (definition,) = _primitive_definitions(expr, None, {})
    assert definition["lhs"] == r"\log \Phi\left(u\right)"
    (kept,) = _primitive_definitions(F.softplus(z), None, {})
    assert kept["lhs"] == r"\operatorname{softplus}\left(z\right)"


def test_a_sum_in_front_of_a_broken_factor_keeps_its_parentheses():
    nu = sp.Symbol("nu", positive=True)
    expr = -(nu / 2 + sp.S.Half) * sp.log((y - mu) ** 2 / nu + 1 + sp.exp(y) + sp.exp(mu))
    first, second, *_ = latex.lines(expr, 12)  # SymPy distributes the minus: (−ν/2 − 1/2)
    assert first == r"\left(- \frac{\nu}{2} - \frac{1}{2}\right)" and second.startswith(r"\log")


def test_a_coefficient_stays_in_front_of_the_expectation_it_multiplies():
    """(ν/2 + 1/2) 𝔼_P[T] broken across lines keeps its order: the coefficient, then 𝔼 (an
    expectation is a factor a product breaks around, as an integral is)."""
    from derive.infotheory import Expectation

    nu, y, mu, s = sp.symbols("nu y mu s", positive=True)
    stat = sp.log(1 + (y - mu) ** 2 / (nu * s**2))
    expr = (nu / 2 + sp.S.Half) * Expectation(stat)
    whole = latex.lines(expr, 200)
    assert len(whole) == 1 and whole[0].startswith(r"\left(\frac{\nu}{2} + \frac{1}{2}\right)")
    broken = latex.lines(expr, 14)
    assert broken[0] == r"\left(\frac{\nu}{2} + \frac{1}{2}\right)"
    assert broken[1].startswith(r"\mathbb{E}_{P}")


def test_the_paper_density_does_not_depend_on_what_was_computed_before():
    """Huber's declared density calls a normaliser that integrates (cached once computed);
    unevaluated, SymPy cannot integrate, so a process that had not computed it before showed
    the recorded form huber(μ − y) (a warm run of the document), one that had the paper form
    huber(y − μ) (a cold one).  Now both show the paper form."""
    from derive.catalog import get, huber_normaliser
    from derive.latex.notation import display_density

    huber_normaliser.cache_clear()
    first = display_density(get("huber"))
    again = display_density(get("huber"))
    assert first is not None and first == again
    assert latex.tex(first).count(r"\operatorname{huber}_{k}\left(y - \mu\right)") == 1


def test_a_censored_likelihood_indexes_both_bounds_and_word_subscripts_keep_apart():
    """The prose names both bounds; L = Π p(y_lower,i, y_upper,i | …): every observed variable
    of a censored density is the i-th sample's in the likelihood (y_upper was left unindexed
    there), and a word subscript is set apart from its index (y_{lower,i}, not y_{lower i},
    which TeX sets as "loweri")."""
    from composites import COMPOSITES

    from derive.derivation import derive_cached

    text = latex.fragment(derive_cached(COMPOSITES["weibull --censored --link lambda=log"]()))
    likelihood = text[text.index(r"L(\lambda)") :].split(r"\end{cases}")[0]
    assert "y_{lower,i}" in likelihood and "y_{upper,i}" in likelihood
    assert re.search(r"y_\{upper\}(?!,)", likelihood) is None, likelihood
    assert "lower i" not in text and "upper i" not in text
    # both bounds are named, with their domains (∞ included: y_upper = ∞ is right-censored)
    assert r"observations $y_{lower} \in [0, \infty]$ and $y_{upper} \in [0, \infty]$" in text
    assert latex.tex(sp.Symbol("y_i")) == "y_{i}" and latex.tex(sp.Symbol("x_mu_i")) == r"x_{\mu i}"


def test_a_negated_sum_of_negative_terms_reads_as_the_positive_sum():
    """−(−ν/2 − 1/2) log x (the expanded −log q of a Student-t) reads (ν/2 + 1/2) log x, alone
    and as a term of a sum, whole or broken."""
    from derive.latex.printer import lines

    nu, x, s = sp.symbols("nu x s", positive=True)
    term = sp.Mul(-1, sp.Add(-nu / 2, -sp.S.Half), sp.log(x), evaluate=False)
    assert latex.tex(term) == r"\left(\frac{\nu}{2} + \frac{1}{2}\right) \log x"
    expr = sp.Add(sp.log(s), sp.log(nu) / 2, term, evaluate=False)
    assert r"\left(- \frac{\nu}{2}" not in latex.tex(expr)  # SymPy's sum printer signed it so
    assert lines(expr, 14) == [
        r"\frac{1}{2} \log \nu + \log s",
        r"+ \left(\frac{\nu}{2} + \frac{1}{2}\right) \log x",
    ]


def _written_out(expr):
    """``expr`` with each named F(y) and S(y) of a display replaced by its definition."""
    from derive.display import Named

    return expr.replace(lambda e: isinstance(e, Named), lambda e: e.form(*e.args))


@pytest.mark.parametrize(
    "key, points",
    [
        ("laplace --censored", [(0.3, 0.3), (0.3, sp.oo), (-sp.oo, 0.5), (-0.2, 0.7), (9, 12)]),
        ("cauchy --truncated -1,2", [(-0.5,), (1.9,)]),
        ("inverse-gaussian --truncated 1,2", [(1.2,), (1.9,)]),
    ],
)
def test_a_family_that_declares_s_has_f_and_s_named_in_its_composites(key, points):
    """The rows of a composite of an entry with a declared S read F(y_upper), S(y_lower) and
    their logs, each defined once (F and S below the density, log F and log S in stable
    primitives at the stable step); the named derivation is the derivation: its loss with F and
    S written out equals the derived loss, in every case.  An entry without S keeps its rows."""
    from composites import COMPOSITES

    from derive.composite import named
    from derive.derivation import derive, derive_cached

    dist = COMPOSITES[key]()
    d, shown = derive_cached(dist), derive(named(dist))
    text = latex.fragment(d)
    # a definition's row: the name, or the name on a row of its own (wider than the column)
    assert len(re.findall(r"^&?F\\left\(y\\right\) ", text, re.M)) == 1  # once, then by name
    assert re.search(r"^&?\\log [FS]\\left\(y\\right\) ", text, re.M)
    observed = [dist.sym(v) for v in dist.observations]
    mu = dist.sym(dist.learned[0])
    fixed = {dist.sym(v): sp.Rational(13, 10) for v in dist.fixed}
    for values in points:
        at = {**dict(zip(observed, values, strict=True)), mu: sp.Rational(1, 10), **fixed}
        want = float(d.loss.subs(at).evalf(30))
        got = float(_written_out(shown.loss).subs(at).evalf(30))
        assert got == pytest.approx(want, rel=1e-12), values
    plain = latex.fragment(derive_cached(COMPOSITES["gaussian --truncated -1,2"]()))
    assert r"F\left(" not in plain and r"S\left(" not in plain


def test_an_exponential_family_quantity_too_long_for_the_page_is_named_not_written():
    """The truncated inverse Gaussian's Fisher information holds its normaliser's derivatives
    (more than a page of lines): the section names it; the catalog's entries write every
    quantity out."""
    from composites import COMPOSITES

    from derive.derivation import derive_cached

    text = latex.fragment(derive_cached(COMPOSITES["inverse-gaussian --truncated 0,3"]()))
    assert re.search(r"\$\\mathcal\{I\}\(\\mu\)\$ (is|are) not written out", text), text[-600:]
    assert "not written out" not in latex.fragment(derivation("inverse-gaussian"))
