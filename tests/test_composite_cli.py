"""The MODIFIERS flags on `show`, `code`, `latex` and `new`: composable, in order, the same
declarations as the Python API; a modifier that does not apply is one line and exit status 2."""

from __future__ import annotations

import ast
import json
import shutil

import numpy as np
import pytest
from scipy import stats

from derive.catalog import get
from derive.cli import main
from derive.derivation import derive_cached


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_show_json_of_a_composite_is_the_api_derivation(capsys):
    status, out, _ = run(capsys, "show", "weibull", "--censored", "--link", "lambda=log", "--json")
    assert status == 0
    data = json.loads(out)
    api = derive_cached(get("weibull").censored().link(**{"lambda": "log"}))
    assert data["name"] == "weibull --censored --link lambda=log"
    assert data["observed"] == ["y_lower", "y_upper"] and data["params"] == ["log_lambda"]
    assert data["nll"] == str(api.nll) and data["standard"] is None
    assert "cases" in data["latex"]["nll"]  # the cases, not an opaque function


def test_modifiers_apply_in_the_order_given(capsys):
    _, first, _ = run(capsys, "show", "negative-binomial", "--link", "mu=log", "--hurdle", "--json")
    assert json.loads(first)["params"] == ["log_mu", "logit_pi"]
    status, _, err = run(capsys, "show", "negative-binomial", "--hurdle", "--link", "mu=log")
    assert status == 0, err


def test_terminal_shows_the_cases(capsys):
    status, out, _ = run(capsys, "show", "poisson-log", "--zero-inflated")
    assert status == 0
    assert "for y = 0" in out and "otherwise" in out


def test_code_of_a_censored_composite(capsys, tmp_path):
    path = tmp_path / "aft.py"
    status, _, err = run(capsys, "code", "lognormal", "--censored", "--grad", "-o", str(path))
    assert status == 0, err
    source = path.read_text()
    ast.parse(source)
    namespace = {}
    exec(compile(source, str(path), "exec"), namespace)
    assert namespace["OBSERVED"] == ("y_lower", "y_upper")
    assert "label_lower_bound" in source
    # LightGBM and the scikit-learn API pass one label per row, not the bounds: each refuses,
    # naming the objective that reads them
    for name, call in (
        ("lightgbm_objective", lambda f: f(np.zeros(2), object(), sigma=0.7)),
        ("sklearn_objective", lambda f: f(np.zeros(2), np.zeros(2))),
    ):
        with pytest.raises(NotImplementedError, match=r"xgboost_objective.*label_lower_bound"):
            call(namespace[name])
    y = np.array([1.5])
    want = -stats.lognorm.logsf(y, 0.7, scale=np.exp(0.2))
    got = namespace["nll"](y, np.array([np.inf]), 0.2, 0.7, reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_latex_of_composites_compiles(capsys, tmp_path):
    if shutil.which("pdflatex") is None and shutil.which("latexmk") is None:
        pytest.skip("no TeX engine")
    out = tmp_path / "doc.tex"
    argv = ["latex", "weibull", "lognormal", "--censored", "--standalone", "--pdf", "-o", str(out)]
    status, _, err = run(capsys, *argv)
    assert status == 0, err
    assert out.with_suffix(".pdf").stat().st_size > 1000
    out = tmp_path / "mix.tex"
    argv = ["latex", "gaussian-hetero", "--mixture", "2", "--link", "sigma=log", "--standalone"]
    status, _, err = run(capsys, *argv, "--pdf", "-o", str(out))
    assert status == 0, err


def test_new_takes_the_modifiers(capsys):
    status, out, err = run(
        capsys,
        "new",
        "--density",
        r"\lambda e^{-\lambda y}",
        "--observed",
        "y",
        "--param",
        "lambda",
        "--positive",
        "lambda",
        "--support",
        "0,oo",
        "--link",
        "lambda=log",
        "--json",
    )
    assert status == 0, err
    data = json.loads(out)
    assert data["params"] == ["log_lambda"]
    assert data["standard"] is None or data["standard"] == "exponential"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["show", "gaussian", "--zero-inflated"], "--zero-inflated"),
        (["show", "categorical", "--censored"], "vector"),
        (["show", "gaussian-hetero", "--link", "sigma=cube"], "unknown link"),
        (["show", "gaussian-hetero", "--link", "tau=log"], "tau"),
        (["show", "gaussian-hetero", "--link", "sigma"], "PARAM=KIND"),
        (["show", "exponential", "--truncated=-1,2"], "inside the support"),
        (["show", "gaussian", "--mixture", "0"], "at least one"),
        (["code", "gaussian", "--truncated", "1"], "LO,HI"),
        (["latex", "--all", "--censored"], "NAME"),
    ],
)
def test_a_modifier_that_does_not_apply_is_one_line_and_exit_2(capsys, argv, words):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_code_tests_of_a_censored_composite_pass(capsys, tmp_path):
    """`derive code --tests` pins a composite's module to mpmath values of its derivation."""
    import subprocess
    import sys

    module, tests = tmp_path / "aft.py", tmp_path / "test_aft.py"
    argv = ["code", "weibull", "--censored", "--grad", "-o", str(module), "--tests", str(tests)]
    status, _, err = run(capsys, *argv)
    assert status == 0, err
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:]


@pytest.mark.parametrize("flag", [["--truncated", "0,1"], ["--censored"], ["--discretised", "1"]])
def test_new_densities_have_no_cdf_to_truncate_censor_or_discretise(capsys, flag):
    """`derive new` declares a density, not its CDF: a modifier made from the CDF is refused in
    one line naming it, exit 2, and nothing is derived."""
    density = r"\frac{1}{\sigma \sqrt{2\pi}} e^{-\frac{(y-\mu)^2}{2\sigma^2}}"
    argv = ["new", "--density", density, "--observed", "y", "--param", "mu", "--fixed", "sigma"]
    status, out, err = run(capsys, *argv, "--positive", "sigma", *flag)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and f"{flag[0]} needs a CDF" in err
