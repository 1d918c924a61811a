"""The test suite's own hygiene: test modules change no global state at import and import no
optional oracle unconditionally (the README's light run, `pip install -e '.[test]' && pytest`,
collects without torch, sklearn, xgboost, …)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = sorted(Path(__file__).parent.glob("*.py"))

#: Oracles and extras that are not in the test extra: import them with pytest.importorskip.
OPTIONAL = {"torch", "sklearn", "xgboost", "lightgbm", "statsmodels", "lifelines", "dask",
            "matplotlib", "jax", "numba", "nbconvert", "nbformat"}  # fmt: skip


def _top_level(path):
    return ast.parse(path.read_text(encoding="utf-8")).body


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.name)
def test_no_optional_oracle_is_imported_at_module_level(path):
    found = []
    for node in _top_level(path):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        found += [n for n in names if n.split(".")[0] in OPTIONAL]
    assert found == [], f"use pytest.importorskip for {found}"


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.name)
def test_no_module_level_assignment_to_library_state(path):
    """``mpmath.mp.dps = 50`` at import changes every later test: use mpmath.workdps in a
    fixture instead."""
    found = [
        ast.unparse(target)
        for node in _top_level(path)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Attribute)
    ]
    assert found == []
