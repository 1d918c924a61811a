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


def slot(args, unicode: bool):
    """(store, entry name) where this run's output is kept, or None without a usable cache."""
    from .. import cache

    store = cache.default_store()
    if store is None:
        return None
    fields = {k: v for k, v in vars(args).items() if k not in _IGNORED}
    width = shutil.get_terminal_size((80, 24)).columns
    text = json.dumps([cache.code_version(), fields, unicode, width], sort_keys=True, default=repr)
    return store, f"out-{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"


def recall(slot) -> tuple[str, list[str]] | None:
    """(stdout text, stderr lines) of an earlier identical run, or None."""
    store, entry = slot
    content = store.load(entry)
    if content is None:
        return None
    try:
        out, err = json.loads(content)
    except ValueError:
        return None
    if not isinstance(out, str) or not all(isinstance(line, str) for line in err):
        return None
    return out, err


def keep(slot, out, err: list[str], cut_short: bool) -> None:
    """Keep a finished run's output for :func:`recall`, where that is safe (see the module)."""
    if isinstance(out, str) and not cut_short:
        store, entry = slot
        store.store(entry, json.dumps([out, err]).encode())
