"""The derivation cache cannot be turned against its user (issue 11): planted or copied entries
are never served, an unsafe directory is refused in one line, a failed write leaves nothing."""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import warnings

import pytest
import sympy as sp

from derive import cache
from derive import derivation as dv
from derive.catalog import get


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(directory))
    return directory


@pytest.fixture
def counted(monkeypatch):
    """Counts the derivations that really ran (a served entry runs none)."""
    calls = []
    real = dv.derive

    def derive(dist):
        calls.append(dist.name)
        return real(dist)

    monkeypatch.setattr(dv, "derive", derive)
    return calls


def _is_gaussian_mse(d):
    y, mu = d.observed, d.learned[0]
    return d.standard.id == "mse" and sp.expand(d.loss - (y - mu) ** 2) == 0


class _Canary:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').close()",))


def test_a_planted_pickle_is_never_loaded(cache_dir, tmp_path, counted):
    """The reproduction: a pickle under gaussian's predictable name ran as the invoking user."""
    canary = tmp_path / "pwned"
    dist = get("gaussian")
    dv.derive_cached(dist)  # the directory, its key and a genuine entry exist
    entry = cache_dir / dv._entry_name(dist)
    planted = pickle.dumps(_Canary(canary))
    for content in (planted, cache.MAGIC + b"\0" * 32 + planted, cache.MAGIC + planted):
        entry.write_bytes(content)
        assert _is_gaussian_mse(dv.derive_cached(dist))
        assert not canary.exists()
    assert counted == ["gaussian"] * 4  # each planted entry was derived afresh


def test_an_entry_of_another_distribution_is_not_served(cache_dir, counted):
    """The reproduction: laplace's valid entry copied under gaussian's name gave Abs(mu - y)."""
    laplace, gaussian = get("laplace"), get("gaussian")
    dv.derive_cached(laplace)
    shutil.copy(cache_dir / dv._entry_name(laplace), cache_dir / dv._entry_name(gaussian))
    assert _is_gaussian_mse(dv.derive_cached(gaussian))
    assert counted == ["laplace", "gaussian"]
    assert _is_gaussian_mse(dv.derive_cached(gaussian)) and len(counted) == 2  # now served


def _refusals(record):
    return [str(w.message) for w in record if issubclass(w.category, cache.CacheWarning)]


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770, 0o702])
def test_a_directory_others_can_write_is_refused(cache_dir, counted, mode):
    dv.derive_cached(get("poisson"))  # a genuine entry, then the directory is opened up
    os.chmod(cache_dir, mode)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert dv.derive_cached(get("poisson")).standard.id == "poisson"
        dv.derive_cached(get("laplace"))
    assert counted == ["poisson", "poisson", "laplace"]  # nothing read, nothing written
    assert len(list(cache_dir.glob("laplace-*"))) == 0
    (message, *_) = _refusals(record)
    assert "writable by group or others" in message and "\n" not in message


def test_a_directory_owned_by_another_user_is_refused(cache_dir, counted, monkeypatch):
    dv.derive_cached(get("poisson"))
    monkeypatch.setattr(os, "getuid", lambda: os.stat(cache_dir).st_uid + 1)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        dv.derive_cached(get("poisson"))
    assert counted == ["poisson", "poisson"]
    assert "not by you" in _refusals(record)[0]


def test_an_entry_owned_by_another_user_is_refused(cache_dir, counted, monkeypatch):
    dist = get("poisson")
    dv.derive_cached(dist)
    entry = cache_dir / dv._entry_name(dist)
    real_fstat, owner = os.fstat, os.stat(entry).st_uid

    def fstat(fd):  # the entry (only) appears to belong to someone else
        st = real_fstat(fd)
        if os.path.samestat(st, os.stat(entry)):
            return os.stat_result((st.st_mode, *st[1:4], owner + 1, *st[5:]))
        return st

    monkeypatch.setattr(os, "fstat", fstat)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        dv.derive_cached(dist)
    assert counted == ["poisson", "poisson"]
    assert "the cache file" in _refusals(record)[0] and "not by you" in _refusals(record)[0]


def test_an_entry_others_can_write_or_a_symlink_is_refused(cache_dir, counted, tmp_path):
    dist = get("poisson")
    dv.derive_cached(dist)
    entry = cache_dir / dv._entry_name(dist)
    os.chmod(entry, 0o666)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        dv.derive_cached(dist)
        assert "writable by group or others" in _refusals(record)[0]
        entry.unlink()
        dv.derive_cached(dist)  # written afresh, 0600
        assert oct(os.stat(entry).st_mode & 0o777) == "0o600"
        target = tmp_path / "elsewhere"
        os.replace(entry, target)
        entry.symlink_to(target)
        dv.derive_cached(dist)
        assert "symbolic link" in _refusals(record)[-1]
    assert counted == ["poisson"] * 4


def test_a_key_others_can_read_is_refused(cache_dir, counted):
    dv.derive_cached(get("poisson"))
    key = cache_dir / cache.KEY_FILE
    assert oct(os.stat(key).st_mode & 0o777) == "0o600" and len(key.read_bytes()) == 32
    os.chmod(key, 0o644)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        dv.derive_cached(get("poisson"))
    assert counted == ["poisson", "poisson"]
    assert "readable by group or others" in _refusals(record)[0]


def test_the_cache_directory_is_made_private(cache_dir):
    dv.derive_cached(get("poisson"))
    assert oct(os.stat(cache_dir).st_mode & 0o777) == "0o700"


def test_a_full_disk_leaves_no_temporary_file(cache_dir, counted, monkeypatch):
    """The reproduction: ENOSPC left a 0-byte temporary file in the cache on every run."""
    dv.derive_cached(get("laplace"))  # the directory and the key exist
    before = sorted(p.name for p in cache_dir.iterdir())

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    for name in ("poisson", "gaussian"):
        assert dv.derive_cached(get(name)).standard is not None
    assert sorted(p.name for p in cache_dir.iterdir()) == before
    monkeypatch.undo()
    shutil.rmtree(cache_dir)
    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(os, "write", full)  # not even the key can be written
    dv.derive_cached(get("poisson"))
    assert list(cache_dir.iterdir()) == []


def test_an_interrupted_write_leaves_no_temporary_file(cache_dir, monkeypatch):
    dv.derive_cached(get("laplace"))
    before = sorted(p.name for p in cache_dir.iterdir())

    def interrupted(fd, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dv.derive_cached(get("poisson"))
    assert sorted(p.name for p in cache_dir.iterdir()) == before


def test_any_name_stays_inside_the_cache_directory(cache_dir, tmp_path):
    import dataclasses

    dist = dataclasses.replace(get("poisson"), name="../../escaped/\x00\udcff")
    dv.derive_cached(dist)
    assert [p.parent for p in tmp_path.rglob("*.pickle")] == [cache_dir]


def test_the_cli_says_it_in_one_line(cache_dir, capsys):
    from derive.cli import main

    assert main(["show", "gaussian", "--json"]) == 0
    os.chmod(cache_dir, 0o777)
    capsys.readouterr()
    assert main(["show", "gaussian", "--json"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("derive: warning: derivation cache not used")
