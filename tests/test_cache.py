"""The on-disk derivation cache: an optimisation that never changes an answer."""

from __future__ import annotations

import pytest

from derive import derivation as dv
from derive.catalog import get


def _cached(tmp_path, monkeypatch, name="bernoulli-logit"):
    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    return dv.derive_cached(get(name))


def test_cache_round_trip_gives_the_same_derivation(tmp_path, monkeypatch):
    fresh = _cached(tmp_path, monkeypatch)
    (entry,) = tmp_path.glob("bernoulli-logit-*.pickle")
    again = _cached(tmp_path, monkeypatch)
    for field in dv._FIELDS:
        assert getattr(again, field) == getattr(fresh, field), field
    assert again.standard is fresh.standard and entry.exists()


def test_corrupt_entry_is_derived_again(tmp_path, monkeypatch):
    _cached(tmp_path, monkeypatch)
    (entry,) = tmp_path.glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    assert _cached(tmp_path, monkeypatch).standard.id == "bce_logits"


def test_unwritable_cache_dir_falls_back_to_deriving(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(blocker / "sub"))
    assert dv.derive_cached(get("poisson")).standard.id == "poisson"


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_CACHE", "0")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    dv.derive_cached(get("poisson"))
    assert list(tmp_path.iterdir()) == []


def test_information_theory_results_load_from_the_one_cache(tmp_path, monkeypatch):
    """A KL pair is stored beside the derivations (one cache, keyed by both declarations) and
    loads equal to the computed one without computing it again."""
    from derive import infotheory as it

    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    it.divergence.cache_clear()
    fresh = it.divergence("exponential", "exponential")
    (entry,) = tmp_path.glob("kl-exponential_exponential-*.pickle")
    it.divergence.cache_clear()

    def fail(*args):
        raise AssertionError("computed again")

    monkeypatch.setattr(it, "_divergence", fail)
    again = it.divergence("exponential", "exponential")
    it.divergence.cache_clear()
    assert entry.exists()
    assert (again.kl, again.cross_entropy, again.entropy_p) == (
        fresh.kl,
        fresh.cross_entropy,
        fresh.entropy_p,
    )
    assert again.proofs == fresh.proofs and again.steps == fresh.steps
    assert again.p is get("exponential")


def _cut_short_once(seconds):
    """A computation whose one time-limited attempt runs out (for the worker test below)."""
    import time

    from derive.budget import bounded

    bounded(lambda: time.sleep(seconds), 0.01)


def _cores():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@pytest.mark.skipif((_cores() or 1) < 2, reason="one core: warm_cache computes nothing")
def test_pairs_computed_in_worker_processes_load_equal_to_computed_ones(tmp_path, monkeypatch):
    """derive.derivation.warm_cache: forked workers fill the one cache; the parent then loads
    each pair without computing it, equal to a pair computed here with the cache off; the
    attempts the workers' time limits cut short count for the parent (a result computed under a
    time limit is not kept for replay); with the cache off nothing is computed ahead."""
    from derive import infotheory as it
    from derive.budget import cut_short
    from derive.derivation import warm_cache

    names = [("exponential", "exponential"), ("poisson", "poisson"), ("gaussian", "exponential")]
    monkeypatch.setenv("DERIVE_CACHE", "0")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    it.divergence.cache_clear()
    fresh = [it.divergence(*pair) for pair in names]
    it.divergence.cache_clear()
    warm_cache(it.divergence, names)  # the cache is off: nothing is stored anywhere
    assert list(tmp_path.iterdir()) == []

    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    heard = []
    warm_cache(it.divergence, names, lambda *args: heard.append(args), "KL")
    assert len(list(tmp_path.glob("kl-*.pickle"))) == len(names)
    # each pair reported as a worker finishes it, in the order they finish
    assert [(label, n, total) for label, n, total, _ in heard] == [("KL", n, 3) for n in (1, 2, 3)]
    assert sorted(item for *_, item in heard) == sorted(" ".join(pair) for pair in names)

    def fail(*args):
        raise AssertionError("computed again")

    monkeypatch.setattr(it, "_divergence", fail)
    for pair, computed in zip(names, fresh, strict=True):
        loaded = it.divergence(*pair)
        assert (loaded.kl, loaded.cross_entropy, loaded.entropy_p) == (
            computed.kl,
            computed.cross_entropy,
            computed.entropy_p,
        )
        assert loaded.proofs == computed.proofs and loaded.steps == computed.steps
    it.divergence.cache_clear()

    before = cut_short()
    warm_cache(_cut_short_once, [(0.5,), (0.5,), (0.5,)])
    assert cut_short() - before == 3
