"""The terminal's one-line form reads as mathematics, long formulas fit the width, and steps that
read alike are told apart from steps that change the expression."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.display import fitted, inline, linear, reading
from derive.functions import log1p, loggamma, logsumexp

y, mu = sp.symbols("y mu", real=True)
sigma, nu = sp.symbols("sigma nu", positive=True)
k, j, K = sp.symbols("k j K", integer=True, positive=True)
z = sp.IndexedBase("z")


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (1 / (2 * sigma**2), "1/(2·σ²)"),
        (loggamma(1 + y), "log Γ(1 + y)"),
        (sp.sqrt(2 * sp.pi) * sigma, "σ·√2·√π"),
        (sp.Abs(y - mu), "|μ - y|"),
        (sp.Max(0, 1 - y * mu), "max(0, 1 - μ·y)"),
        (sigma**nu, "σ^ν"),
        (sp.exp(-y), "exp(-y)"),
        (sp.Sum(z[k], (k, 1, K)), "Σ_(k=1..K) z[k]"),
        (logsumexp(z[k], k, K), "log(Σ_(k=1..K) exp(z[k]))"),
        (sp.Symbol("mu_p") - sp.Symbol("mu_q"), "μ_p - μ_q"),
    ],
)
def test_one_line_form_is_mathematical_notation(expr, text):
    shown = linear(expr)
    assert shown.replace(" ", "") == text.replace(" ", "")
    assert "**" not in shown and "*" not in shown and "loggamma" not in shown


def test_inline_falls_back_to_the_mathematical_one_line_form():
    assert inline(1 / (2 * sigma**2)) == "1/(2·σ²)"  # the 2-D form needs three lines
    assert inline(y - mu) == "y - μ"  # one line already: the 2-D printer's own


@pytest.mark.parametrize("width", [40, 60, 80])
def test_fitted_keeps_to_the_width(width):
    long = sum(loggamma(nu / 2 + i) * log1p((y - mu) ** 2 / (nu * sigma**2)) for i in range(6))
    text = fitted(sp.Symbol("loss"), long, width=width)
    assert max(map(len, text.splitlines())) <= width
    assert "loss = " in text.splitlines()[0]
    short = fitted(sp.Symbol("a"), 1 / (2 * sigma**2), width=width)
    assert short.splitlines()[1] == "   a = ────"  # the 2-D form where it fits


def test_reading_ignores_index_names_but_not_the_factorisation():
    assert reading(sp.log(sp.Sum(sp.exp(z[j]), (j, 1, K)))) == reading(logsumexp(z[k], k, K))
    factored = sp.Mul(1 / (2 * sigma**2), (y - mu) ** 2, evaluate=False)
    assert reading(factored) != reading((y - mu) ** 2 / (2 * sigma**2))


def test_cases_too_wide_for_the_terminal_are_one_case_a_line():
    """A loss given by cases (the ordinal entries) that does not fit in 2-D is written as a reader
    writes cases, one a line — never SymPy's Piecewise((…, Eq(y, 0)), …)."""
    y, a = sp.symbols("y a", real=True)
    wide = sum(sp.Symbol(f"term_{i}") for i in range(30))
    cases = sp.Piecewise((sp.log(1 + a), sp.Eq(y, 0)), (wide, y < 5), (a * y, True))
    text = fitted(sp.Symbol("loss"), cases, width=60)
    lines = text.splitlines()
    assert "Piecewise" not in text and "Eq(" not in text
    assert lines[0] == "   loss = {log(1 + a) for y = 0;"
    assert lines[-1].endswith("a·y otherwise}") and all(len(line) <= 60 for line in lines)
    assert sum(line.rstrip().endswith(";") for line in lines) == 2  # three cases
