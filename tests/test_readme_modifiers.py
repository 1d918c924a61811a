"""The README's entry × modifier table says what the Python API does: ✓ where the modifier builds
a declaration, — where it refuses in one line (NotApplicable); every catalog entry has its row."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from derive.catalog import CATALOG, get
from derive.composite import NotApplicable

README = Path(__file__).resolve().parent.parent / "README.md"

#: the table's modifier columns, each as the call it stands for (a truncation inside the support)
MODIFIERS = {
    "--censored": lambda d: d.censored(),
    "--truncated": lambda d: d.truncated(*_inside(d)),
    "--discretised": lambda d: d.discretised(1),
    "--zero-inflated": lambda d: d.zero_inflated(),
    "--hurdle": lambda d: d.hurdle(),
    "--mixture": lambda d: d.mixture(2),
}


def _inside(d):
    """Ends of a proper sub-interval of the support: [1, 5] on a support from 0, else [−1, 2]
    (a count's support ending at n: [1, n])."""
    lo, hi = (sp.sympify(b) for b in d.support_bounds)
    if d.discrete:
        return 1, 5 if hi.is_number else hi
    if (lo, hi) == (0, 1):
        return "1/4", "3/4"
    return (1, 5) if lo == 0 else (-1, 2)


def _table():
    lines = README.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| entry | --censored"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return rows


def test_every_catalog_entry_has_a_row():
    assert set(_table()) == set(CATALOG)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_the_row_says_what_the_api_does(name):
    row = _table()[name]
    for column, build in MODIFIERS.items():
        try:
            build(get(name))
            applies = True
        except NotApplicable:
            applies = False
        assert row[column].startswith("✓") == applies, (name, column, row[column])
