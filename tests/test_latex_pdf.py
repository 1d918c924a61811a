"""The LaTeX compiles: every fragment inside a bare article, and the standalone document of the
whole catalog, with pdflatex, without errors or undefined references (one run per document)."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import NAMES, derivation, pdflatex

from derive import latex
from derive.cli import main, parser

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")

#: The preamble a paper needs for a fragment: amsmath and amssymb, nothing else.
BARE = r"""\documentclass{article}
\usepackage{amsmath}
\usepackage{amssymb}
\begin{document}
%s
\end{document}
"""

#: An equation wider than this past the margin is a line the printer should have broken.
OVERFULL_PT = 15.0


def warnings(log: str) -> list[str]:
    found = re.findall(r"LaTeX Warning: [^\n]*", log)
    found += [
        m.group(0)
        for m in re.finditer(r"Overfull \\hbox \(([\d.]+)pt too wide\)[^\n]*", log)
        if float(m.group(1)) > OVERFULL_PT
    ]
    return found


def test_every_fragment_compiles_in_a_bare_article(tmp_path):
    for name in NAMES:
        (tmp_path / f"{name}.tex").write_text(latex.fragment(derivation(name)))
    body = "\n".join(rf"\input{{{name}}}" for name in NAMES)
    source = tmp_path / "fragments.tex"
    source.write_text(BARE % body)
    log = pdflatex(source)  # one pass: only the first-run "rerun" notice is expected
    assert [w for w in warnings(log) if "Rerun to get cross-references" not in w] == []


def test_the_whole_catalog_compiles_standalone(tmp_path, monkeypatch, capsys):
    # the catalog's derivations from the test session's cache; sections other modules register
    # (on import, so import them all first) are compiled by their own tests
    parser()
    monkeypatch.setattr(
        "derive.relative.derivations", lambda names, report=None: [derivation(n) for n in names]
    )
    monkeypatch.setattr("derive.latex.documents.SECTIONS", ())
    source = tmp_path / "losses.tex"
    assert main(["latex", "--all", "--standalone", "-o", str(source)]) == 0
    log = pdflatex(source, passes=2)
    assert warnings(log) == [], "undefined references, rerun requests or overfull lines"
    text = source.read_text()
    for name in NAMES:
        assert rf"\label{{sec:{name}}}" in text and rf"\eqref{{eq:{name}:loss}}" in text


def test_pdf_option_builds_the_pdf_next_to_the_tex_file(tmp_path, capsys):
    source = tmp_path / "gaussian.tex"
    assert main(["latex", "gaussian", "--pdf", "-o", str(source)]) == 0
    _, err = capsys.readouterr()
    pdf = source.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and f"wrote {pdf}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gaussian.pdf", "gaussian.tex"]
    assert source.read_text().startswith(r"\documentclass")


def test_a_failing_build_says_why_and_keeps_the_log(tmp_path, capsys):
    with pytest.raises(latex.BuildFailed, match=r"Undefined control sequence") as failed:
        latex.build_pdf(BARE % r"\undefinedmacro", "broken")
    assert "Undefined control sequence" in failed.value.log


def test_a_failing_pdf_build_leaves_the_log_and_no_pdf(tmp_path, capsys, monkeypatch):
    import derive.latex.documents as document

    broken = document.render_template
    monkeypatch.setattr(
        document,
        "render_template",
        lambda *a, **k: broken(*a, **k).replace(
            "\\end{document}", "\\undefinedmacro\n\\end{document}"
        ),
    )
    source = tmp_path / "broken.tex"
    assert main(["latex", "gaussian", "--pdf", "-o", str(source)]) == 2
    err = capsys.readouterr().err
    assert "Undefined control sequence" in err and "broken.log" in err
    assert not source.with_suffix(".pdf").exists()
    assert source.with_suffix(".log").exists()
