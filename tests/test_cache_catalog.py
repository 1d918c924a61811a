"""The on-disk cache really serves every catalog entry: a second call loads, never re-derives."""

from __future__ import annotations

import pickle

import sympy as sp
from conftest import NAMES

from derive import derivation as dv
from derive.catalog import CATALOG


def test_every_entry_loads_from_the_cache_without_deriving(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    fresh = {name: dv.derive_cached(CATALOG[name]) for name in NAMES}
    assert len(list(tmp_path.glob("*.pickle"))) == len(NAMES)

    def refuse(dist):
        raise AssertionError(f"{dist.name} was derived again instead of loaded")

    monkeypatch.setattr(dv, "derive", refuse)
    for name in NAMES:
        again = dv.derive_cached(CATALOG[name])
        for field in dv._FIELDS:
            assert getattr(again, field) == getattr(fresh[name], field), (name, field)


def test_display_applications_survive_pickling_and_rebuilding():
    y, mu = sp.symbols("y mu", real=True)
    density = dv.Density(y, (mu,))
    assert pickle.loads(pickle.dumps(density)) == density
    assert density.func(*density.args) == density
    assert density.subs(mu, 2) == dv.Density(y, (2,))
    assert str(density) == "p(y | mu)"
