"""The `derive` command as a user runs it: list, show, --json, bad input."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NAMES

from derive.cli import main

GOLDEN = Path(__file__).parent / "golden"
REQUIRED_KEYS = {
    "name", "title", "observed", "params", "fixed", "density", "nll", "loss", "dropped",
    "scale", "standard", "latex", "steps",
}  # fmt: skip


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_names_every_entry_with_its_loss(capsys):
    status, out, _ = run(capsys, "list")
    assert status == 0
    distributions, _others = out.split("\n\n")
    lines = distributions.splitlines()
    assert lines[0].split() == ["name", "loss", "distribution"]
    assert [line.split()[0] for line in lines[1:]] == NAMES
    assert lines[1].split()[:2] == ["gaussian", "mse"]


def test_list_also_names_the_losses_that_are_not_likelihoods(capsys):
    """Every name `show` accepts is listed: the second group holds the relative losses."""
    from derive.relative import RELATIVE

    status, out, _ = run(capsys, "list")
    heading, columns, *rows = out.split("\n\n")[1].splitlines()
    assert status == 0 and "not likelihoods" in heading
    assert columns.split() == ["name", "relative", "to", "loss"]
    assert [row.split()[:2] for row in rows] == [[r.name, r.relative_to] for r in RELATIVE.values()]
    for name in ("label-smoothing", "focal", "hinge"):
        assert run(capsys, "show", name)[0] == 0


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["show", "gausian"], "did you mean gaussian"),
        (["show", "student"], "did you mean student-t"),
        (["show", "label-smothing"], "did you mean label-smoothing"),
        (["code", "poison"], "did you mean poisson"),
        (["kl", "gaussian", "laplce"], "did you mean laplace"),
    ],
)
def test_unknown_names_get_the_closest_known_ones(capsys, argv, suggestion):
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "") and suggestion in err and len(err.splitlines()) == 1


def test_help_texts_do_not_mention_files_users_do_not_have():
    import argparse

    from derive.cli import parser

    top = parser()
    (commands,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    texts = [top.format_help(), *(p.format_help() for p in commands.choices.values())]
    assert len(texts) > 5 and not [t for t in texts if "DESIGN" in t]


def test_list_json(capsys):
    status, out, _ = run(capsys, "list", "--json")
    rows = json.loads(out)
    assert status == 0 and [r["name"] for r in rows] == NAMES
    assert {r["name"]: r["standard"] for r in rows}["poisson-log"] == "poisson_log"


def test_show_gaussian_golden(capsys):
    status, out, _ = run(capsys, "show", "gaussian")
    assert status == 0
    assert out == (GOLDEN / "show_gaussian.txt").read_text(encoding="utf-8")


def test_show_json_has_every_design_key(capsys, name):
    status, out, _ = run(capsys, "show", name, "--json")
    data = json.loads(out)
    assert status == 0 and data.keys() >= REQUIRED_KEYS
    assert {"density", "nll", "loss", "dropped"} <= data["latex"].keys()
    assert all({"note", "latex"} <= step.keys() for step in data["steps"])
    assert data["name"] == name


def test_show_json_values_for_gaussian(capsys):
    _, out, _ = run(capsys, "show", "gaussian", "--json")
    data = json.loads(out)
    assert (data["observed"], data["params"], data["fixed"]) == (["y"], ["mu"], ["sigma"])
    assert (data["loss"], data["scale"], data["standard"]) == (
        "(-mu + y)**2",
        "1/(2*sigma**2)",
        "mse",
    )
    assert data["dropped"] == "log(sigma) + log(2*pi)/2"


def test_show_json_params_are_the_raw_learned_outputs(capsys):
    _, out, _ = run(capsys, "show", "bernoulli-logit", "--json")
    assert json.loads(out)["params"] == ["z"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["show", "gausian"], "unknown distribution 'gausian'"),
        (["show"], "the following arguments are required: name"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["list", "--bogus"], "unrecognized arguments: --bogus"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("derive: error: ") and message in err


def test_python_dash_m_and_no_traceback():
    env = {**os.environ, "DERIVE_CACHE": "0"}
    ok = subprocess.run(
        [sys.executable, "-m", "derive", "show", "poisson"], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0 and "standard loss: poisson" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "derive", "show", "nope"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stdout == ""


def test_written_file_has_the_usual_mode_and_no_temporary_is_left(tmp_path, monkeypatch):
    import os

    from derive.cli import write_output

    mask = os.umask(0o022)
    try:
        write_output("text", str(tmp_path / "out.txt"))
    finally:
        os.umask(mask)
    assert (tmp_path / "out.txt").read_text() == "text"
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_unwritable_output_is_one_line_and_nothing_written(tmp_path, capsys):
    status, out, err = run(capsys, "latex", "gaussian", "-o", str(tmp_path / "missing" / "x.tex"))
    assert status == 2 and out == "" and "missing" in err and err.count("\n") == 1
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("name", ["gaussian", "categorical-logit", "focal"])
def test_show_markdown_carries_the_derivation_as_math(capsys, name):
    """--markdown: the summary, then each step of --json (its LaTeX in $$…$$), nothing 2-D."""
    status, out, _ = run(capsys, "show", name, "--markdown")
    assert status == 0 and out.startswith(f"### {name} — ")
    _, data, _ = run(capsys, "show", name, "--json")
    data = json.loads(data)
    latexes = [s["latex"] for s in data["steps"]]
    runs = [b for a, b in itertools.pairwise([None, *latexes]) if a != b]  # no repeats shown
    assert all(f"$$ {latex} $$" in out for latex in latexes)
    assert out.count("   $$ ") == len(runs)
    assert out.count("$") % 2 == 0 and "⎛" not in out and "───" not in out
    assert out.index("**Derivation**") > out.index("$$" if data.get("scale") is None else "$a = ")


def test_help_and_a_repeated_list_import_no_sympy(tmp_path):
    """`derive --help` never needs SymPy; `derive list` needs it once, then reads its table from
    the (checked) derivation cache."""
    import subprocess
    import sys

    probe = (
        "import atexit, sys; atexit.register(lambda: print('sympy' in sys.modules, "
        "'numpy' in sys.modules, file=sys.stderr)); from derive.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "DERIVE_CACHE": "1", "DERIVE_CACHE_DIR": str(tmp_path / "cache")}

    def run(*argv):
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, env=env
        )
        return done.returncode, done.stdout, done.stderr.strip().splitlines()[-1]

    status, out, imported = run("--help")
    assert status == 0 and "list" in out and imported == "False False"
    first = run("list")
    assert first[0] == 0 and first[2] == "True True"  # derived once
    second = run("list")
    assert second[:2] == first[:2] and second[2] == "False False"
