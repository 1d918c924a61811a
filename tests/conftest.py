from __future__ import annotations

import os
from functools import cache

import numpy as np
import pytest

# Tests never read or write the user's derivation cache; test_cache.py sets its own directory.
os.environ.setdefault("DERIVE_CACHE", "0")

from derive.catalog import CATALOG
from derive.derivation import derive

NAMES = list(CATALOG)


@cache
def derivation(name):
    return derive(CATALOG[name])


def draw(d, rng, classes=3):
    """Random values for every variable of a derivation, from the declared constraints.

    Returns (symbol -> value, name -> value)."""
    by_symbol = {}
    for symbol, var in d.variables.items():
        shape = (classes,) if var.vector else ()
        value = var.domain.sample(rng, shape)
        by_symbol[symbol] = value if var.vector else float(value)
    return by_symbol, {str(s): v for s, v in by_symbol.items()}


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)
