"""A repeated command answered from the cache: what a command that only computes printed on
stdout and stderr, kept under derive's code version and everything its output depends on (the
parsed arguments, the terminal's width, whether stdout takes Unicode).

A replayed command imports neither SymPy nor the catalog.  Nothing is kept from a run that
failed, that returned no text (it wrote files itself), or in which a time limit cut an attempt
short (the result could differ on a quieter machine).  The entry is plain JSON in the checked
store of :mod:`derive.cache` (HMAC under the directory's key), never code or a pickle.
"""

from __future__ import annotations

import hashlib
import json
import shutil

#: Parsed fields that do not change what a command prints.
_IGNORED = frozenset({"progress", "started", "handler", "replayable"})


def _entry(args, unicode: bool) -> str:
    from .. import cache

    fields = {k: v for k, v in vars(args).items() if k not in _IGNORED}
    width = shutil.get_terminal_size((80, 24)).columns
    text = json.dumps([cache.code_version(), fields, unicode, width], sort_keys=True, default=repr)
    return f"out-{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"


def _store():
    from .. import cache

    return cache.default_store()


def recall(args, unicode: bool) -> tuple[str, list[str]] | None:
    """(stdout text, stderr lines) of an earlier identical run, or None."""
    store = _store()
    content = store.load(_entry(args, unicode)) if store is not None else None
    if content is None:
        return None
    try:
        out, err = json.loads(content)
    except ValueError:
        return None
    if not isinstance(out, str) or not all(isinstance(line, str) for line in err):
        return None
    return out, err


def keep(args, unicode: bool, out, err: list[str], cut_short: bool) -> None:
    """Keep a finished run's output for :func:`recall`, where that is safe (see the module)."""
    if not isinstance(out, str) or cut_short or (store := _store()) is None:
        return
    store.store(_entry(args, unicode), json.dumps([out, err]).encode())
