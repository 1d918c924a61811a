"""LaTeX of the losses that are not likelihoods (derive.relative): a fragment per entry through
relative.tex.j2, `derive latex NAME`, and their section of the standalone document."""

from __future__ import annotations

import re
import shutil
from functools import cache

import pytest
from conftest import derivation

from derive import catalog, latex
from derive.cli import main
from derive.relative import RELATIVE, RELATIVE_STEP_KINDS

RELATIVE_NAMES = list(RELATIVE)


@cache
def relative(name):
    return RELATIVE[name].derive()


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("name", RELATIVE_NAMES)
def test_relative_fragment_structure(name):
    d = relative(name)
    text = latex.fragment(d)
    body = text[text.index(r"\begin{align}") : text.index(r"\end{align}")]
    labels = re.findall(r"\\label\{([^}]*)\}", text)
    assert len(labels) == len(set(labels)), "duplicate labels"
    assert all(label.startswith(f"eq:{name}:") for label in labels)
    assert {f"eq:{name}:definition", f"eq:{name}:normaliser"} <= set(labels)
    assert body.count(r"\intertext{") == len(d.steps) - 1 + (d.normalisable is False)
    assert all(ord(c) < 128 for c in text), "pdflatex needs ASCII (or escaped) text"
    assert text.count("{") == text.count("}")
    assert "\n\n" not in body, "a blank line ends the align"
    assert not body.rstrip().endswith("\\\\"), "a trailing \\\\ adds an empty numbered row"
    relations = [s.data["relation"] for s in d.steps]
    assert body.count(r"&\geq ") == relations.count("≥")
    assert text.startswith(f"% derive: {name} -- ")


def test_every_relative_step_kind_has_its_text():
    source = (latex.template_dir() / "relative.tex.j2").read_text()
    handled = set(re.findall(r's\.kind == "(\w+)"', source)) | {"definition", "relation", "bound"}
    assert set(RELATIVE_STEP_KINDS) <= handled


def test_label_smoothing_fragment():
    text = latex.fragment(relative("label-smoothing"))
    assert (
        "q_{k} &= y_{k} \\left(1 - \\epsilon\\right) + \\frac{\\epsilon}{K}\n"
        " \\label{eq:label-smoothing:relation}"
    ) in text
    assert (
        r"\ell(y, z) &= \left(1 - \epsilon\right) \left(\log \sum_{k=1}^{K} e^{z_{k}}"
        r" - \sum_{k=1}^{K} y_{k} z_{k}\right) + \epsilon \left(\log \sum_{k=1}^{K} e^{z_{k}}"
        r" - \frac{\sum_{k=1}^{K} z_{k}}{K}\right)"
    ) in text
    assert "Z(z) &= 1,\n \\label{eq:label-smoothing:witness-1}" in text
    assert r"outcomes (the one-hot vectors $e_{j}$, $j = 1, \dots, K$)" in text
    assert r"at $z = (0, 2)$, $\epsilon = \frac{1}{5}$ it is" in text


def test_focal_fragment():
    text = latex.fragment(relative("focal"))
    assert (
        r"\ell(y, p) &= - \sum_{k=1}^{K} y_{k} \left(1 - p_{k}\right)^{\gamma} \log p_{k}"
        "\n \\label{eq:focal:definition}"
    ) in text
    assert (
        r"\left. \ell(y, p) \right|_{\substack{ \gamma=0 }} &= - \sum_{k=1}^{K} y_{k} \log p_{k}"
    ) in text
    assert (
        "\\left(1 - p_{k}\\right)^{\\gamma} &\\geq 1 - \\gamma p_{k}\n \\label{eq:focal:bound}"
    ) in text
    assert text.count(r"\mathrm{FL}(y, p) &\geq") == 1, "the repeated left-hand side is blank"
    assert "\n&\\geq \\gamma \\sum_{k=1}^{K} p_{k} \\log p_{k}" in text
    assert r"\label{eq:focal:bound-4}" in text
    assert r"Z(p) &= 2^{\frac{3}{4}} \approx 1.68179," in text
    assert r"$\gamma \in [0, \infty)$" in text
    assert r"gives $\ell(y, p) + \log Z(p)$, a different loss." in text


def test_hinge_fragment():
    text = latex.fragment(relative("hinge"))
    assert r"\ell(y, f) &= \max\left(0, 1 - y f\right)" in text
    assert r"$y \in \{-1, +1\}$" in text and r"$y \in \{-1, 1\}$" in text
    joined = text.replace("\n \\nonumber\\\\\n&\\quad {}", " ")  # a row broken for the width
    assert (
        r"Z(f) &= \exp\left(- \max\left(0, f + 1\right)\right)"
        r" + \exp\left(- \max\left(0, 1 - f\right)\right)"
    ) in joined
    assert "Z(f) &= \\frac{2}{e} \\approx 0.735759,\n \\label{eq:hinge:witness-1}" in text
    assert "Z(f) &= 1 + e^{-3} \\approx 1.04979.\n \\label{eq:hinge:witness-2}" in text


def test_cli_prints_the_relative_fragments(capsys):
    status, out, err = run(capsys, "latex", "focal")
    assert status == 0 and err == ""
    assert out.rstrip("\n") == latex.fragment(relative("focal")).rstrip("\n")
    status, out, _ = run(capsys, "latex", "hinge", "focal", "--ln")
    assert status == 0 and out.index("derive: hinge") < out.index("derive: focal")
    assert r"\ln Z(p)" in out and r"\log" not in out


@pytest.mark.parametrize("argv", [["latex", "focl"], ["latex", "focal", "focl"]])
def test_cli_unknown_name_still_fails_with_one_line(capsys, argv):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("derive: error: ") and "unknown distribution 'focl'" in err
    assert err.count("\n") == 1


def _small_all_document(capsys, monkeypatch, target):
    """`derive latex --all --standalone` over a two-entry catalog and every relative loss."""
    small = {name: catalog.CATALOG[name] for name in ("categorical", "categorical-logit")}
    monkeypatch.setattr(catalog, "CATALOG", small)
    monkeypatch.setattr(
        "derive.relative.derivations", lambda names, report=None: [derivation(n) for n in names]
    )
    monkeypatch.setattr("derive.latex.documents.SECTIONS", ())
    status, out, _ = run(capsys, "latex", "--all", "--standalone", "-o", str(target))
    assert status == 0 and out == ""
    return target.read_text()


def test_all_standalone_has_the_section_after_the_distributions(capsys, monkeypatch, tmp_path):
    text = _small_all_document(capsys, monkeypatch, tmp_path / "all.tex")
    section = text.index(r"\section{Losses that are not likelihoods}\label{sec:relative}")
    assert section > text.index(r"\label{eq:categorical-logit:relation}")
    for name in RELATIVE_NAMES:
        assert text.index(rf"\label{{sec:{name}}}") > section
        assert rf"\label{{eq:{name}:definition}}" in text
    assert r"(Section~\ref{sec:categorical-logit})" in text
    labels = set(re.findall(r"\\label\{([^}]*)\}", text))
    refs = set(re.findall(r"\\(?:eq)?ref\{([^}]*)\}", text))
    assert refs <= labels, "undefined references"
    assert all(ord(c) < 128 for c in text)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_relative_latex_compiles(capsys, monkeypatch, tmp_path):
    from test_latex_pdf import BARE, pdflatex, warnings

    # the three fragments in a bare article with amsmath and amssymb: one pdflatex run
    for name in RELATIVE_NAMES:
        (tmp_path / f"{name}.tex").write_text(latex.fragment(relative(name)))
    source = tmp_path / "fragments.tex"
    source.write_text(BARE % "\n".join(rf"\input{{{name}}}" for name in RELATIVE_NAMES))
    log = pdflatex(source)
    assert [w for w in warnings(log) if "Rerun to get cross-references" not in w] == []
    # the standalone document with the section: no undefined references after two passes
    document = tmp_path / "all.tex"
    _small_all_document(capsys, monkeypatch, document)
    assert warnings(pdflatex(document, passes=2)) == []
