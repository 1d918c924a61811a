"""Long work says what it is doing on stderr, and how far it is: on a terminal, or when
DERIVE_PROGRESS=1 asks; never into a pipe unasked (scripts read stderr for errors)."""

from __future__ import annotations

import pytest

from derive.cli import main
from derive.cli.io import Progress


@pytest.fixture
def progress_on(monkeypatch):
    monkeypatch.setenv("DERIVE_PROGRESS", "1")


def test_latex_document_reports_derivations_sections_and_pairs(progress_on, capsys, tmp_path):
    out = tmp_path / "doc.tex"
    assert main(["latex", "gaussian", "exponential", "--standalone", "-o", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "deriving 1/2: gaussian" in err and "deriving 2/2: exponential" in err
    assert "writing LaTeX 2/2: exponential" in err
    assert "building section 1/1: infotheory.tex.j2" in err
    assert "information theory: KL within 2/2: exponential" in err


def test_new_reports_its_stages(progress_on, capsys):
    argv = ["new", "--density", r"\lambda e^{-\lambda y}", "--observed", "y", "--param"]
    assert main([*argv, "lambda", "--positive", "lambda", "--support", "0,oo", "--json"]) == 0
    err = capsys.readouterr().err.splitlines()
    stages = [line.split(":")[0] for line in err if line.startswith("derive new ")]
    assert stages == [f"derive new {i}/3" for i in (1, 2, 3)], err


def test_latex_all_reports_each_entry_it_derives(progress_on, capsys):
    """(`derive list` no longer derives: it reads each entry's declared standard.)"""
    from derive.catalog import CATALOG
    from derive.relative import RELATIVE

    assert main(["latex", "--all"]) == 0
    err = capsys.readouterr().err.splitlines()
    total = len(CATALOG) + len(RELATIVE)
    assert err[-1] == f"deriving {total}/{total}: {list(RELATIVE)[-1]}"


def test_quiet_into_a_pipe_unless_asked(monkeypatch, capsys):
    monkeypatch.delenv("DERIVE_PROGRESS", raising=False)
    assert main(["list"]) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("DERIVE_PROGRESS", "0")
    assert not Progress().enabled


def test_a_terminal_gets_one_rewritten_line():
    class Terminal:
        text = ""

        def isatty(self):
            return True

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    stream = Terminal()
    report = Progress(stream)
    report("deriving", 1, 2, "gaussian")
    report("deriving", 2, 2, "laplace")
    report.close()
    assert stream.text == ("\r\033[Kderiving 1/2: gaussian\r\033[Kderiving 2/2: laplace\r\033[K")
