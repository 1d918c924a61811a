from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

import numpy as np
import pytest

# Tests never read or write the user's derivation cache; test_cache.py sets its own directory.
os.environ.setdefault("DERIVE_CACHE", "0")
# The terminal views are fitted to COLUMNS; the golden files are laid out at 80 columns.
os.environ["COLUMNS"] = "80"

from derive.catalog import CATALOG
from derive.derivation import derive

NAMES = list(CATALOG)


@cache
def derivation(name):
    """The derivation of a catalog entry, or of a loss that is not a likelihood (once a session)."""
    if name in CATALOG:
        return derive(CATALOG[name])
    from derive.relative import derivation_of

    return derivation_of(name)


def draw(d, rng, classes=3):
    """Random values for every variable of a derivation, from the declared constraints (and a
    support that depends on parameters, such as the binomial's 0 ≤ y ≤ n).

    Returns (symbol -> value, name -> value)."""
    by_name = d.dist.draw(rng, classes)
    by_symbol = {symbol: by_name[var.name] for symbol, var in d.variables.items()}
    return by_symbol, by_name


def require(d, check):
    """Skip, with the reason the catalog entry states, a check the entry declares unavailable."""
    reason = d.dist.unavailable.get(check)
    if reason is not None:
        pytest.skip(f"{d.name}: {check} unavailable: {reason}")


def tolerance(d, check, default):
    """The entry's tolerance for ``check`` where it declares one, else ``default``."""
    return d.dist.tolerances.get(check, default)


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)


def pdflatex(source: Path, passes: int = 1) -> str:
    """Compile ``source`` in its directory; return the log of the last pass (a TeX error, or
    no PDF, fails the test)."""
    for _ in range(passes):
        result = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
            cwd=source.parent,
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
        )
    log = source.with_suffix(".log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert result.returncode == 0 and not errors, "\n".join(errors) or log[-2000:]
    assert source.with_suffix(".pdf").stat().st_size > 1000
    return log
