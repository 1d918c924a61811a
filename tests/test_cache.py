"""The on-disk derivation cache: an optimisation that never changes an answer."""

from __future__ import annotations

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
