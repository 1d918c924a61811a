"""Golden derivations: `derive show` for three catalog entries, reviewed line by line.

logistic (a loss recognised through a rewrite: softplus form = 2·log cosh + constant), negative
binomial (special functions: lgamma and log1p, parametrisation notes) and tweedie (an unknown
c(y, φ) dropped exactly, the deviance recovered).  A change here must be reviewed, then the file
regenerated with `derive show NAME > tests/golden/show_NAME.txt`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.cli import main

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", ["logistic", "negative-binomial", "tweedie"])
def test_show_matches_the_reviewed_derivation(name, capsys):
    assert main(["show", name]) == 0
    out = capsys.readouterr().out
    assert out == (GOLDEN / f"show_{name}.txt").read_text(encoding="utf-8")
