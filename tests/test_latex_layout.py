"""The LaTeX fits the page: no overfull box wider than 1 pt for any catalog entry, as fragments
\\input into a one-column and a two-column article, and as the standalone document in both
layouts (one pdflatex run per document, the whole catalog in each; the log is parsed).  And the
numbering: only the key equations carry numbers by default."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sympy as sp
from conftest import NAMES, derivation, pdflatex

from derive import latex

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")

#: The preamble a paper needs for a fragment: amsmath and amssymb, nothing else.
ARTICLE = r"""\documentclass%s{article}
\usepackage{amsmath}
\usepackage{amssymb}
\begin{document}
%s
\end{document}
"""

#: Layouts by column preset: the class options of the article the fragments go into.
LAYOUTS = {1: "", 2: "[twocolumn]"}

#: TeX reports boxes overfull by a hair (rounding): only wider ones are layout faults.
TOLERANCE_PT = 1.0


def overfull(log: str, source: Path) -> list[str]:
    """Each overfull box wider than the tolerance, with the source lines it comes from."""
    text = source.read_text().splitlines()
    found = []
    for m in re.finditer(r"Overfull \\[hv]box \(([\d.]+)pt too (?:wide|high)\)[^\n]*", log):
        if float(m.group(1)) <= TOLERANCE_PT:
            continue
        lines = re.search(r"lines (\d+)--(\d+)", m.group(0))
        where = ""
        if lines:
            first, last = int(lines.group(1)), int(lines.group(2))
            where = " | " + " ".join(text[first - 1 : last])[:300]
        found.append(m.group(0) + where)
    return found


def fragments(notation) -> str:
    return "\n".join(latex.fragment(derivation(name), notation) for name in NAMES)


@needs_tex
@pytest.mark.parametrize("columns", sorted(LAYOUTS))
def test_every_fragment_fits_the_column(tmp_path, columns):
    """Every entry, those whose loss is given by cases (the ordinal entries) among them."""
    assert any(derivation(name).loss.has(sp.Piecewise) for name in NAMES)
    notation = latex.Notation.preset(columns=columns)
    source = tmp_path / "fragments.tex"
    source.write_text(ARTICLE % (LAYOUTS[columns], fragments(notation)))
    assert overfull(pdflatex(source), source) == []


@needs_tex
@pytest.mark.parametrize("columns", sorted(LAYOUTS))
def test_the_standalone_document_fits_the_page(tmp_path, columns):
    """The whole catalog with the information-theory section, one pass (the layout of a line
    does not depend on the references)."""
    notation = latex.Notation.preset(columns=columns)
    source = tmp_path / "document.tex"
    ds = [derivation(name) for name in NAMES]
    source.write_text(latex.document(ds, notation))
    log = pdflatex(source)
    assert overfull(log, source) == []
    assert "Float too large" not in log, "the summary table is taller than a page"


def test_key_numbering_numbers_the_density_nll_loss_and_relation():
    d = derivation("gaussian")
    text = latex.fragment(d)
    labels = re.findall(r"\\label\{eq:gaussian:([\w-]+)\}", text)
    # the derivation's rows: only the key ones (the exponential-family section adds its own)
    assert [x for x in labels if x != "deviance"] == ["density", "nll", "loss", "relation"]
    every = latex.fragment(d, latex.Notation(number="all"))
    assert len(re.findall(r"\\label", every)) > len(labels)
    none = latex.fragment(d, latex.Notation(number="none"))
    assert re.findall(r"\\label\{([^}]*)\}", none) == []  # the deviance's too


def test_identical_consecutive_rows_are_merged_with_the_reason():
    text = latex.fragment(derivation("categorical-logit"))
    own = text[: text.index("\\end{align}")]  # the derivation's align, not expfamily
    rows = re.findall(r"&= ([^\n]*)", own)
    assert len(rows) == len(set(rows)), rows
    assert "already written in numerically stable primitives" in text
    assert r"\label{eq:categorical-logit:loss}" in text


def test_unknown_symbol_names_are_refused_in_one_line(capsys):
    from derive.cli import main

    assert main(["latex", "gaussian", "--symbol", "nu=\\nu"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'nu': no such variable in gaussian" in err and "y, mu, sigma" in err


def _composites_overfull(tmp_path, columns, names):
    from composites import COMPOSITES

    from derive.derivation import derive_cached

    notation = latex.Notation.preset(columns=columns)
    body = "\n".join(latex.fragment(derive_cached(COMPOSITES[n]()), notation) for n in names)
    source = tmp_path / "composites.tex"
    source.write_text(ARTICLE % (LAYOUTS[columns], body))
    return overfull(pdflatex(source), source)


@needs_tex
@pytest.mark.parametrize("columns", sorted(LAYOUTS))
def test_every_composite_fragment_fits_the_column(tmp_path, columns):
    """The composites of tests/composites.py (cases of censored, zero-inflated and hurdle
    likelihoods broken inside each case, or with their conditions under them; the censored
    counts' incomplete beta functions I_x(a, b) broken between and inside their arguments)."""
    from composites import COMPOSITES

    assert _composites_overfull(tmp_path, columns, list(COMPOSITES)) == []


def _case_lines(text: str) -> set[str]:
    """Each line TeX sets inside a ``cases`` of ``text`` (a case, or one line of a broken case)."""
    from derive.latex.printer import _split_top

    found = set()
    for body in re.findall(r"\\begin\{cases\}(.*?)\\end\{cases\}", text):
        for row in _split_top(body, r"\\"):
            for cell in _split_top(row, "&"):
                inner = re.fullmatch(
                    r"\s*\\begin\{array\}\[t\]\{@\{\}l@\{\}\}(.*)\\end\{array\}\s*", cell
                )
                for line in _split_top(inner.group(1), r"\\") if inner else [cell]:
                    if line.strip() and r"\begin" not in line:
                        found.add(line.strip())
    return found


@needs_tex
def test_the_width_of_maths_inside_cases_is_estimated_in_text_style(tmp_path):
    """The lines of the composites' cases (two columns), set by TeX in text style as ``cases``
    sets them: the estimate the line breaking uses is never narrower than TeX's box, and for
    lines with fractions (smaller in text style) closer to it (median 0.82 of it, was 0.76:
    cases broke where a typesetter would not)."""
    from composites import COMPOSITES

    from derive.derivation import derive_cached
    from derive.latex.printer import PT_PER_UNIT, _width

    notation = latex.Notation.preset(columns=2)
    lines: set[str] = set()
    for key in (
        "weibull --censored --link lambda=log",
        "gamma --censored --link mu=log",
        "negative-binomial --link mu=log --hurdle",
    ):
        lines |= _case_lines(latex.fragment(derive_cached(COMPOSITES[key]()), notation))
    lines = sorted(lines)
    assert len(lines) > 30
    body = "\n".join(
        r"\setbox0\hbox{$\textstyle %s$}\typeout{W%d:\the\wd0}" % (line, k)
        for k, line in enumerate(lines)
    )
    source = tmp_path / "widths.tex"
    source.write_text(ARTICLE % ("", body + "\nwidths"))  # a page, so that a PDF is made
    measured = {int(k): float(w) for k, w in re.findall(r"W(\d+):([\d.]+)pt", pdflatex(source))}
    assert len(measured) == len(lines)
    ratios = []
    for k, line in enumerate(lines):
        estimate = _width(line, 1.0) * PT_PER_UNIT
        assert measured[k] <= estimate + TOLERANCE_PT + 0.5, (line, measured[k], estimate)
        if r"\frac" in line:
            ratios.append(measured[k] / estimate)
    ratios.sort()
    assert ratios[len(ratios) // 2] > 0.79, ratios  # the display estimate: 0.76


@needs_tex
def test_a_kl_section_takes_the_two_column_width(tmp_path, capsys):
    """`derive kl P Q --latex --columns 2` is broken for a column of a two-column article (its
    one-column lines overflowed that column by 16–45 pt); --columns without --latex is refused."""
    from derive.cli import main

    assert main(["kl", "student-t", "student-t", "--latex", "--columns", "2"]) == 0
    body = capsys.readouterr().out
    source = tmp_path / "kl.tex"
    source.write_text(ARTICLE % (LAYOUTS[2], body))
    assert overfull(pdflatex(source), source) == []
    assert main(["kl", "gaussian", "gaussian", "--columns", "2"]) == 2
    assert "add --latex" in capsys.readouterr().err
