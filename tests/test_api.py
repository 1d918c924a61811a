"""The public Python API re-exported by `derive`, and that importing it stays cheap."""

from __future__ import annotations

import doctest
import inspect
import subprocess
import sys

import pytest

import derive


def test_every_public_name_resolves():
    for name in derive.__all__:
        assert getattr(derive, name) is not None, name


def test_docstring_example():
    d = derive.derive(derive.get("bernoulli-logit"))
    assert (str(d.loss), d.scale, d.dropped, d.standard.id) == (
        "-y*z + softplus(z)",
        1,
        0,
        "bce_logits",
    )


def test_import_derive_does_not_import_sympy():
    code = "import sys, derive; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


PUBLIC_FUNCTIONS = ["get", "derive", "new", "declare", "load", "divergence", "entropy"]


def test_no_submodule_shadows_a_public_name():
    """Importing a submodule sets the package's attribute of its name: none may be public."""
    from pathlib import Path

    package = Path(derive.__file__).parent
    modules = {p.stem for p in package.glob("*.py")} | {
        p.parent.name for p in package.glob("*/__init__.py")
    }
    assert modules & set(derive.__all__) == set()


def test_public_names_stay_callable_however_the_package_is_used():
    """The issue's failure: after help(derive.new) or `import derive.<submodule>`, derive.new
    was the submodule and calling it raised TypeError."""
    code = (
        "import importlib, pydoc, derive\n"
        "names = " + repr(PUBLIC_FUNCTIONS) + "\n"
        "for n in names: pydoc.render_doc(getattr(derive, n))\n"
        "import derive.user, derive.catalog, derive.derivation, derive.infotheory, derive.codegen\n"
        "for n in names: assert callable(getattr(importlib.import_module('derive'), n)), n\n"
        "d = derive.new(r'\\frac{1}{2b} e^{-|y-\\mu|/b}', 'y', ['mu'], ['b'], positive=['b'])\n"
        "print(d.standard.id)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "mae"


def test_dir_lists_the_public_names():
    assert set(derive.__all__) <= set(dir(derive))


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_public_functions_document_parameters_and_an_example(name):
    """Each docstring names its parameters and carries an example, which runs (doctest)."""
    f = getattr(derive, name)
    doc = f.__doc__ or ""
    params = [p for p in inspect.signature(f).parameters if p not in ("kw", "budget", "seed")]
    assert ">>> " in doc
    assert [p for p in params if p not in doc] == []
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(f, name, globs={}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


@pytest.mark.parametrize("record", ["derivation", "relative", "divergence", "entropy"])
def test_records_present_themselves(record):
    """A notebook shows the key steps and the result (not a dataclass dump); to_text,
    to_markdown and to_latex give the terminal view, Markdown and the LaTeX fragment."""
    from derive.relative import derivation_of

    r = {
        "derivation": lambda: derive.derive(derive.get("student-t")),
        "relative": lambda: derivation_of("hinge"),
        "divergence": lambda: derive.divergence("gaussian", "laplace"),
        "entropy": lambda: derive.entropy("poisson"),
    }[record]()
    shown = r._repr_markdown_()
    assert shown == r.to_markdown() and "$$" in shown and "**Derivation**" in shown
    assert "dist=" not in shown and "Step(" not in shown
    assert len(repr(r)) < 200 and repr(r).startswith("<")
    text = r.to_text(60)
    assert max(map(len, text.splitlines())) <= 60 and "derivation:" in text
    latex = r.to_latex()
    assert latex.count(r"\begin{") == latex.count(r"\end{") > 0


def test_derivation_text_is_the_terminal_view(capsys):
    from derive.cli import main

    assert main(["show", "gaussian"]) == 0
    assert capsys.readouterr().out == derive.derive(derive.get("gaussian")).to_text(80) + "\n"
