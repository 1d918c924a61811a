"""The command line of the exponential-family work: `show --deviance`, `show --prior`,
`derive prior`, `code --prior`, and the `exponential_family` / `deviance` keys of `show --json`."""

from __future__ import annotations

import ast
import json

import pytest
from conftest import NAMES
from oracles_expfamily import VERDICT

from derive.cli import main


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("name", NAMES)
def test_show_json_has_the_exponential_family(capsys, name):
    status, out, _ = run(capsys, "show", name, "--json")
    data = json.loads(out)
    assert status == 0
    family = data["exponential_family"]
    if name in VERDICT:
        assert (family is None) == (VERDICT[name] == "not")
    if family is not None:
        keys = {"natural_param", "sufficient_stat", "log_partition", "base", "dispersion",
                "canonical_link", "mean", "variance", "latex"}  # fmt: skip
        assert keys <= family.keys()
        assert family["latex"]["natural_param"]
    else:
        assert data["exponential_family_reason"].startswith("not an exponential family")


def test_show_deviance(capsys):
    status, out, _ = run(capsys, "show", "poisson", "--deviance")
    assert status == 0
    assert "unit deviance" in out and "2⋅y⋅log(y)" in out


def test_show_json_deviance(capsys):
    status, out, _ = run(capsys, "show", "gamma", "--json", "--deviance")
    data = json.loads(out)
    assert status == 0 and data["deviance"]["saturated"] == {"mu": "y"}
    status, out, _ = run(capsys, "show", "gaussian-mixture", "--json", "--deviance")
    data = json.loads(out)
    assert status == 0 and data["deviance"] is None and "mixture" in data["deviance_reason"]


@pytest.mark.parametrize("name", ["gaussian-mixture", "dirichlet", "beta"])
def test_show_deviance_without_a_saturated_model(capsys, name):
    status, out, err = run(capsys, "show", name, "--deviance")
    assert status == 2 and out == ""
    assert err.startswith(f"derive: error: no saturated model for {name}")
    assert err.count("\n") == 1


def test_show_prior(capsys):
    status, out, _ = run(capsys, "show", "gaussian", "--prior", "laplace")
    assert status == 0
    assert "penalty: l1" in out and "MAP for the linear predictor" in out


@pytest.mark.parametrize("prior", ["flat", "jeffreys", "1/w"])
def test_improper_prior_exits_2(capsys, prior):
    for argv in (("prior", prior), ("show", "gaussian", "--prior", prior)):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == "" and "improper" in err and err.count("\n") == 1


def test_prior_json(capsys):
    status, out, _ = run(capsys, "prior", "gaussian", "--json")
    data = json.loads(out)
    assert status == 0 and data["standard"] == "l2"
    assert data["strengths"] == {"l2": "1/(2*sigma_w**2)"}


def test_prior_on_a_vector_entry_is_refused(capsys):
    status, _, err = run(capsys, "show", "categorical-logit", "--prior", "gaussian")
    assert status == 2 and "one scalar learned output" in err


def test_code_with_a_prior_parses(capsys):
    status, out, _ = run(capsys, "code", "poisson-log", "--prior", "elastic-net")
    assert status == 0
    names = {n.name for n in ast.parse(out).body if isinstance(n, ast.FunctionDef)}
    assert {"penalty", "penalty_gradient", "map_objective", "map_gradient", "deviance"} <= names
