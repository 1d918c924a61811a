"""`derive code` as a user runs it: a module that imports without derive, stdout, --tests, bad
input."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from derive.cli import main
from derive.cli.code import BACKEND_NAMES


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def python(cwd, *args):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


WITHOUT_DERIVE = "import sys; sys.path.insert(0, '.'); sys.modules['derive'] = None; "


def test_emitted_module_imports_and_runs_without_derive(tmp_path, capsys):
    status, _, _ = run(capsys, "code", "bernoulli-logit", "-o", str(tmp_path / "loss.py"))
    assert status == 0
    source = (tmp_path / "loss.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    uses_special = "special." in source
    # numpy, and scipy.special only where a special function is used (the deviance's xlogy)
    assert imports == ["import numpy as np"] + (
        ["from scipy import special"] if uses_special else []
    )
    script = WITHOUT_DERIVE + (
        "import numpy as np, loss; "
        "print(loss.PARAMS, float(loss.loss(np.array([0.0, 1.0]), np.array([-1e4, 1e4]))))"
    )
    done = python(tmp_path, "-I", "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["('z',)", "0.0"]


def test_special_functions_import_scipy_special(capsys):
    status, out, _ = run(capsys, "code", "poisson", "--grad")
    assert status == 0
    assert "from scipy import special" in out and "special.gammaln(" in out
    assert 'PARAMS = ("lambda_",)' in out and "def loss(y, lambda_, reduction=" in out
    namespace = {}
    exec(compile(out, "<poisson>", "exec"), namespace)
    assert namespace["nll"](2.0, 3.0, reduction="none") == pytest.approx(
        3 - 2 * 1.0986122886681098 + 0.6931471805599453
    )


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_other_backends_import_only_their_library(backend, capsys):
    status, out, _ = run(capsys, "code", "categorical-logit", "--backend", backend, "--grad")
    assert status == 0
    tree = ast.parse(out)  # the import statements, not the text (the docstrings cite scipy.stats)
    nodes = list(ast.walk(tree))
    imported = {a.name for node in nodes if isinstance(node, ast.Import) for a in node.names}
    imported |= {node.module for node in nodes if isinstance(node, ast.ImportFrom)}
    assert {name.split(".")[0] for name in imported} - {"functools", "types"} == {backend}
    compile(out, "<emitted>", "exec")


def test_backend_names_are_the_backends():
    from derive.codegen import BACKENDS

    assert tuple(BACKENDS) == BACKEND_NAMES


@pytest.mark.parametrize(
    "argv, message",
    [
        (["code", "no-such"], "unknown distribution 'no-such'"),
        (["code", "gaussian", "--backend", "cuda"], "invalid choice: 'cuda'"),
        (["code", "gaussian", "--tests", "t.py"], "--tests needs -o FILE"),
    ],
)
def test_bad_input_is_one_line_and_status_2(argv, message, capsys):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_unwritable_path_leaves_no_file(tmp_path, capsys):
    target = tmp_path / "missing" / "loss.py"
    status, _, err = run(capsys, "code", "gaussian", "-o", str(target))
    assert status == 2 and "does not exist" in err and not target.exists()


PYTEST = ("-m", "pytest", "-q", "-p", "no:cacheprovider")


def _emit_with_tests(capsys, directory, name):
    module = directory / f"emitted_{name.replace('-', '_')}.py"
    tests = directory / f"test_{module.stem}.py"
    status, _, _ = run(capsys, "code", name, "--grad", "-o", str(module), "--tests", str(tests))
    assert status == 0
    return module, tests


def test_generated_tests_pass(tmp_path, capsys):
    names = ["bernoulli-logit", "categorical-logit", "poisson", "gaussian-hetero"]
    files = [_emit_with_tests(capsys, tmp_path, name)[1] for name in names]
    done = python(tmp_path, *PYTEST, *map(str, files))
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_tests_catch_a_wrong_module(tmp_path, capsys):
    module, tests = _emit_with_tests(capsys, tmp_path, "bernoulli-logit")
    source = module.read_text().replace("def _loss(", "def _loss_exact(")
    source += "\n\ndef _loss(*args):\n    return _loss_exact(*args) * (1 + 1e-6)\n"
    module.write_text(source)  # the loss, off by one part in a million
    done = python(tmp_path, *PYTEST, str(tests))
    assert done.returncode == 1 and "test_loss" in done.stdout
