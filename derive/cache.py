"""The on-disk store under the derivation cache: bytes in, the same bytes out, or nothing.

It cannot be turned against its user (the rules ssh applies to ``~/.ssh``):

* the directory, the key file and every entry must be owned by the current user and not
  writable by group or others; otherwise :class:`CacheWarning` says so in one line and the
  cache is not used (the caller derives afresh);
* each entry carries an HMAC-SHA256 of its content under a per-user secret (``key``, 32 random
  bytes, mode 0600, in the directory), checked before anything reads the content: a planted
  or copied file is never unpickled;
* the content records the key it was written for (the caller compares it with what it asked);
* writes go to a temporary file renamed into place; on any failure (a full disk included) the
  temporary file is removed.

Nothing here prints: the warning goes through :mod:`warnings`, and the CLI shows it.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import stat
import warnings
from functools import lru_cache
from importlib import metadata
from pathlib import Path

MAGIC = b"derive-cache-1\n"
KEY_FILE = "key"
KEY_BYTES = 32


def default_directory() -> Path | None:
    """The cache directory: $DERIVE_CACHE_DIR, else $XDG_CACHE_HOME/derive or ~/.cache/derive;
    None when DERIVE_CACHE=0 turns the cache off."""
    if os.environ.get("DERIVE_CACHE", "1") == "0":
        return None
    root = os.environ.get("DERIVE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "derive"
    )
    return Path(root)


def template_dir() -> Path:
    """Where the templates are: inside the installed package, or templates/ in a source checkout."""
    package = Path(__file__).parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


@lru_cache(maxsize=1)
def code_version() -> str:
    """derive's own source, its templates and SymPy's version (read without importing SymPy): a
    change to any invalidates every entry."""
    digest = hashlib.sha256(metadata.version("sympy").encode())
    for path in sorted(Path(__file__).parent.rglob("*.py")) + sorted(template_dir().glob("*.j2")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def default_store() -> Store | None:
    """The store in :func:`default_directory`, or None (off, unwritable or unsafe)."""
    directory = default_directory()
    return None if directory is None else open_store(directory)


class CacheWarning(UserWarning):
    """The derivation cache was not used: the message says why, in one line."""


def _unsafe(st: os.stat_result, what: str, path: Path, secret: bool = False) -> str | None:
    """Why ``st`` may not be trusted (a ``secret`` may not even be readable by others), or None."""
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"{what} {path} is owned by uid {st.st_uid}, not by you (uid {os.getuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{what} {path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    if secret and st.st_mode & 0o077:
        return f"{what} {path} is readable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _refuse(reason: str) -> None:
    warnings.warn(
        f"derivation cache not used: {reason}; fix it (chmod go-w, or another "
        "DERIVE_CACHE_DIR) or set DERIVE_CACHE=0",
        CacheWarning,
        stacklevel=5,
    )


def _directory(directory: Path, create: bool) -> bool:
    """Whether ``directory`` may hold entries (created 0700 when asked and missing)."""
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        if not create:
            return False
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            st = os.stat(directory)
        except OSError:
            return False  # unwritable: the cache is an optimisation only
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    reason = _unsafe(st, "the cache directory", directory)
    if reason:
        _refuse(reason)
        return False
    return True


def _read_private(path: Path, secret: bool = False) -> bytes | None:
    """The content of ``path`` if it is a regular file we own that others cannot write; None if
    it is missing; refused (a warning, then None) otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _refuse(f"{path} is a symbolic link")
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            _refuse(f"{path} is not a regular file")
            return None
        reason = _unsafe(st, "the key file" if secret else "the cache file", path, secret)
        if reason:
            _refuse(reason)
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes, mode: int = 0o600, replace: bool = True) -> bool:
    """Write ``data`` to a temporary file in ``path``'s directory, then move it into place
    (``replace`` false: only if ``path`` does not exist yet).  Nothing is left behind on failure."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError:
        return False
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # atomic, and fails where another process was first
        return True
    except OSError:
        return False
    finally:  # BaseException too: a time budget's alarm may land here
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError:
            pass


def _key(directory: Path) -> bytes | None:
    """The per-user secret of ``directory``, made on first use; None if it cannot be trusted."""
    path = directory / KEY_FILE
    key = _read_private(path, secret=True)
    if key is None and not path.exists():
        _write_atomic(path, os.urandom(KEY_BYTES), replace=False)
        key = _read_private(path, secret=True)
    if key is not None and len(key) != KEY_BYTES:
        _refuse(f"the key file {path} is not {KEY_BYTES} bytes")
        return None
    return key


class Store:
    """A checked cache directory and its key (see :func:`open_store`)."""

    def __init__(self, directory: Path, key: bytes):
        self.directory, self._key = directory, key

    def _mac(self, content: bytes) -> bytes:
        return hmac.new(self._key, content, hashlib.sha256).digest()

    def load(self, name: str) -> bytes | None:
        """The content stored under ``name`` if the entry and its HMAC check out."""
        data = _read_private(self.directory / name)
        if data is None or not data.startswith(MAGIC):
            return None
        mac, content = data[len(MAGIC) : len(MAGIC) + 32], data[len(MAGIC) + 32 :]
        if not hmac.compare_digest(mac, self._mac(content)):
            return None  # not written by us under this key: never read further
        return content

    def store(self, name: str, content: bytes) -> bool:
        """Store ``content`` under ``name``, atomically."""
        return _write_atomic(self.directory / name, MAGIC + self._mac(content) + content)


def open_store(directory: Path) -> Store | None:
    """The cache in ``directory`` (made, mode 0700, if missing), or None where it cannot be
    used: unwritable (silently), or unsafe (a :class:`CacheWarning`)."""
    if not _directory(directory, create=True):
        return None
    key = _key(directory)
    return None if key is None else Store(directory, key)
