"""Untrusted text stays data in emitted modules (issue 11): whatever a user's text holds, the
module imports with no side effect and its docstrings carry the text as given."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import sys

import pytest
from scipy import stats

from derive.catalog import get
from derive.codegen import emit, literal
from derive.codegen.emit import module_source, python_name
from derive.derivation import derive

#: Each would run PAYLOAD were it pasted into a docstring or a string literal unescaped.
HOSTILE = [
    '"""; PAYLOAD; r"""',
    '""";PAYLOAD;"""',
    "'''; PAYLOAD; '''",
    '\\"""; PAYLOAD; r"""',
    '\\\\"""; PAYLOAD #',
    'ends in a quote"',
    "ends in a backslash\\",
    "\\N{ and \\u12 and \\x and \\",
    '\n"""\nPAYLOAD\nr"""\n',
    '\r\n"""\rPAYLOAD\r"""',
    '\u2028"""\u2029PAYLOAD\x0c"""',
    "{{ PAYLOAD }} {% if true %}x{% endif %} {# c #}",
    'nul \x00 here """\x00PAYLOAD',
    "undecodable bytes \udcff\udcfe (argv's surrogateescape)",
    "tab\tand bell\x07 and escape \x1b[2J",
    '"' * 7,
    "\\" * 7,
]


def _payloads(canary):
    code = f"__import__('pathlib').Path({str(canary)!r}).touch()"
    return [text.replace("PAYLOAD", code) for text in HOSTILE]


def _words(text: str) -> str:
    return " ".join(text.split())


def _import_file(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gaussian():
    return derive(get("gaussian"))


def _with(derivation, field, text):
    dist = derivation.dist
    if field in ("notes", "title", "name"):
        dist = dataclasses.replace(dist, **{field: text})
    elif field == "observed doc":
        dist = dataclasses.replace(dist, observed=dataclasses.replace(dist.observed, doc=text))
    elif field == "param doc":
        params = (dataclasses.replace(dist.params[0], doc=text), *dist.params[1:])
        dist = dataclasses.replace(dist, params=params)
    return dataclasses.replace(derivation, dist=dist)


FIELDS = ["notes", "title", "name", "observed doc", "param doc"]


@pytest.mark.parametrize("field", FIELDS)
def test_hostile_text_in_every_field_stays_a_docstring(gaussian, field, tmp_path):
    canary = tmp_path / "pwned"
    for i, text in enumerate(_payloads(canary)):
        source = module_source(_with(gaussian, field, text))
        path = tmp_path / f"m_{i}.py"
        path.write_text(source, encoding="utf-8")  # lone surrogates would not encode
        module = _import_file(path)
        assert not canary.exists(), (field, text)
        docs = [module.__doc__, module.loss.__doc__]
        assert _words(text) in _words(" ".join(docs)) or (
            field == "name" and _words(python_name(text)) in _words(module.__doc__)
        ), (field, text)
        assert module.nll(1.0, 0.5, 2.0) == pytest.approx(-stats.norm.logpdf(1.0, 0.5, 2.0))


def test_hostile_symbol_names_reach_the_latex_and_stay_data(tmp_path):
    """A symbol's name flows into the LaTeX of every docstring and into the argument list."""
    canary = tmp_path / "pwned"
    dist = get("laplace")
    for i, text in enumerate(_payloads(canary)[:6]):
        hostile = dataclasses.replace(dist.params[0], name=text)
        source = module_source(dataclasses.replace(dist, params=(hostile,)))
        path = tmp_path / f"m_{i}.py"
        path.write_text(source, encoding="utf-8")
        module = _import_file(path)
        assert not canary.exists(), text
        assert (python_name(text),) == module.PARAMS
        assert module.nll(1.0, 0.25, 2.0) == pytest.approx(-stats.laplace.logpdf(1.0, 0.25, 2.0))


def test_the_issues_exploit_is_refused(tmp_path, monkeypatch):
    """The reproduction from the issue: text left of '=' used to land raw in the docstring."""
    from derive.cli import main

    monkeypatch.chdir(tmp_path)
    density = (
        '""";__import__("os").system("touch pwned");r""" = '
        "\\frac{1}{\\sqrt{2\\pi}}e^{-(y-\\mu)^2/2}"
    )
    args = ["new", "--density", density, "--observed", "y", "--param", "mu", "--code"]
    assert main([*args, "-o", "m.py", "--timeout", "20"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_density_name_is_read_and_checked(tmp_path, capsys):
    from derive.parse import ParseError
    from derive.user import declare

    rhs = "\\frac{1}{\\sqrt{2\\pi}}e^{-(y-\\mu)^2/2}"
    for lhs in ("p(y\\mid\\mu)", "f(y)", "p(y | \\mu)", "p_\\theta(y; \\mu)", "q(y,\\mu)"):
        assert "right-hand side" in " ".join(declare(f"{lhs} = {rhs}", "y", ["mu"]).readings)
    for lhs in ("x + 1", "p(z)", "pp(y)", "p(y)(y)", "\\frac{a}{b}", '"""', "p(y\\mid\\nu)"):
        with pytest.raises(ParseError, match="left of '='"):
            declare(f"{lhs} = {rhs}", "y", ["mu"])


def test_a_hostile_density_through_the_cli_is_refused_or_escaped(tmp_path, monkeypatch):
    from derive.cli import main

    monkeypatch.chdir(tmp_path)
    canary = tmp_path / "pwned"
    rhs = "\\frac{1}{\\sqrt{2\\pi}}e^{-(y-\\mu)^2/2}"
    for text in _payloads(canary):
        for density in (f"{text} = {rhs}", f"{rhs} {text}", f"p(y\\mid\\mu) = {rhs} % {text}"):
            args = ["new", "--density", density, "--observed", "y", "--param", "mu", "--code"]
            status = main([*args, "--name", "g", "-o", str(tmp_path / "m.py"), "--timeout", "20"])
            assert status in (0, 2)
            if status == 0:
                _import_file(tmp_path / "m.py")
                sys.modules.pop("m", None)
            assert not canary.exists(), density


def test_hostile_tests_file_module_and_command(gaussian, tmp_path):
    canary = tmp_path / "pwned"
    for text in _payloads(canary)[:4]:
        source = emit.test_source(_with(gaussian, "name", text), "emitted")
        ast.parse(source)
        assert "emitted" in source and not canary.exists()
    with pytest.raises(Exception, match="module name"):
        emit.test_source(gaussian, "os; PAYLOAD")


def test_pystr_reads_back_exactly():
    samples = [*HOSTILE, "", "plain", "\\frac{1}{2}", "a\\\\", "\\'", "\U0001f600\ufeff"]
    samples += [chr(c) for c in range(0, 0x110000, 997)]
    for text in samples:
        assert ast.literal_eval(literal.pystr(text)) == text, repr(text)


def test_the_check_refuses_a_module_that_differs_from_its_template():
    good = 'r"""doc"""\nX = 1\n'
    literal.check(good, '""""""\nX = 1\n', ["doc"])
    for bad, why in [
        ('r"""doc"""\nX = 1\n__import__("os")\n', "differ"),
        ('r"""doc"""\nX = 2\n', "differ"),
        ('r"""doc\n', "parse"),
    ]:
        with pytest.raises(RuntimeError, match=why):
            literal.check(bad, '""""""\nX = 1\n', ["doc"])
    with pytest.raises(RuntimeError, match="read back"):
        literal.check(good, '""""""\nX = 1\n', ["other"])
    with pytest.raises(RuntimeError, match="one docstring"):
        literal.check('X = 1\n"""a"""\n', 'X = 1\n""""""\n', ["a"])


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_hostile_text_in_the_other_backends(gaussian, backend, tmp_path):
    """The torch and jax modules (with --grad, and torch's nn.Module class) pass the same check;
    the torch one also imports without side effect."""
    canary = tmp_path / "pwned"
    for i, text in enumerate(_payloads(canary)[:8]):
        for field in ("name", "notes"):
            source = module_source(_with(gaussian, field, text), backend, grad=True)
            if backend == "torch" and importlib.util.find_spec("torch"):
                path = tmp_path / f"t_{i}_{field.replace(' ', '_')}.py"
                path.write_text(source, encoding="utf-8")
                module = _import_file(path)
                assert module.__doc__ and not canary.exists(), (field, text)
            else:
                ast.parse(source)


def test_the_issues_exploit_through_the_python_api(gaussian, tmp_path):
    """derive.load(derive.new(...)) ran the payload at once: now the name is refused, and a
    hostile note loads as text."""
    import derive

    canary = tmp_path / "pwned"
    (payload, *_) = _payloads(canary)
    with pytest.raises(derive.errors.UserError, match="left of '='"):
        derive.new(f"{payload} = \\frac{{1}}{{\\sqrt{{2\\pi}}}}e^{{-(y-\\mu)^2/2}}", "y", ["mu"])
    module = derive.load(_with(gaussian, "notes", payload))
    assert _words(payload) in _words(module.__doc__) and not canary.exists()
