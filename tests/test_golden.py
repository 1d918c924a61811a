"""Golden derivations: `derive show` for three catalog entries, reviewed line by line.

logistic (a loss recognised through a rewrite: softplus form = 2·log cosh + constant), negative
binomial (special functions: lgamma and log1p, parametrisation notes) and tweedie (an unknown
c(y, φ) dropped exactly, the deviance recovered), student-t (log Γ, a long sum broken into
lines) and categorical-logit (steps that leave the expression unchanged say so instead of
repeating it).  The terminal view is the contract: the answer first, formulas fitted to 80
columns (conftest sets COLUMNS=80).  A change here must be reviewed, then the file regenerated
with `COLUMNS=80 derive show NAME > tests/golden/show_NAME.txt`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.cli import main

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(
    "name", ["logistic", "negative-binomial", "tweedie", "student-t", "categorical-logit"]
)
def test_show_matches_the_reviewed_derivation(name, capsys):
    assert main(["show", name]) == 0
    out = capsys.readouterr().out
    assert out == (GOLDEN / f"show_{name}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("columns", [80, 60])
@pytest.mark.parametrize("name", ["student-t", "categorical-logit", "label-smoothing", "tweedie"])
def test_show_fits_the_terminal(name, columns, capsys, monkeypatch):
    """Every line fits COLUMNS (the 2-D form where it fits, the one-line form broken at + and −
    where it does not), and the summary comes before the steps."""
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["show", name]) == 0
    out = capsys.readouterr().out
    too_long = [line for line in out.splitlines() if len(line) > columns]
    assert too_long == []
    assert out.index("loss") < out.index("derivation:") < out.index("1. ")
