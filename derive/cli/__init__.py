"""The `derive` command: the only layer that reads argv, prints, or writes files.

Each module of this package adds its sub-commands through ``add_commands(subparsers)``; a
handler takes the parsed arguments and returns the text (or bytes) to write, or None when it
wrote files itself through :func:`.io.write_output`.  Building the parser imports no SymPy, so
`derive --help` is quick.  Bad input raises :class:`~derive.errors.UserError` (or an unknown
name): one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import warnings

from ..errors import UserError, shown
from .io import Progress, write_output

#: Modules that add sub-commands, in the order `derive --help` lists them.
COMMANDS = ("show", "code", "new", "latex", "plot", "info", "prior")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2, like every other
        raise UserError(f"{shown(message, quote=False, limit=200)} (see `{self.prog} --help`)")

    def _get_values(self, action, arg_strings):
        # `--timeout=--` is the value '--': argparse would drop it and hand back an empty list
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="derive",
        description="Derive standard losses as negative log-likelihoods of distributions.",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_commands(sub)
    return top


def _one_line(previous, note):
    """Warnings as one line on stderr (a progress ``note``, kept for a replay); a
    dependency's deprecation (shown only where a test or -W asks for it) goes to the hook that
    was there."""

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DeprecationWarning | PendingDeprecationWarning):
            return previous(message, category, filename, lineno, file, line)
        note(f"derive: warning: {' '.join(str(message).split())}")

    return show


def _run(args) -> None:
    """The command's handler, or its earlier identical run where it is ``replayable`` (see
    :mod:`.replay`: the same text and the same lines on stderr); then its text on stdout (or
    the file of -o)."""
    from . import replay
    from .io import unicode_stdout

    slot = replay.slot(args, unicode_stdout(args)) if getattr(args, "replayable", False) else None
    earlier = replay.recall(slot) if slot is not None else None
    if earlier is not None:
        result, lines = earlier
        for line in lines:
            args.progress.note(line)
    else:
        from ..budget import cut_short

        cut = cut_short()
        result = args.handler(args)
        if slot is not None:
            replay.keep(slot, result, args.progress.notes, cut_short() != cut)
    args.progress.close()
    if result is not None:
        write_output(result, getattr(args, "output", None))


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    progress = Progress()
    previous = warnings.showwarning
    warnings.showwarning = _one_line(previous, progress.note)
    try:
        args = parser().parse_args(argv)
        args.progress = progress
        args.started = started  # the time budgets count from here
        _run(args)
    except UserError as exc:
        progress.close()
        print(f"derive: error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line
        return 2
    except KeyError as exc:  # an unknown catalog name (derive.catalog.UnknownDistribution)
        from ..catalog import UnknownDistribution

        if not isinstance(exc, UnknownDistribution):
            return _internal(exc)
        progress.close()
        print(f"derive: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        progress.close()
        print("derive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        return _internal(exc)
    finally:
        warnings.showwarning = previous
    return 0


def _internal(exc: Exception) -> int:
    """A bug, not bad input: still one line, exit 1, no traceback (unless asked for)."""
    if os.environ.get("DERIVE_TRACEBACK"):
        raise exc
    detail = " ".join(str(exc).split())[:300]
    print(
        f"derive: internal error: {type(exc).__name__}: {detail} "
        "(a bug; set DERIVE_TRACEBACK=1 for the traceback)",
        file=sys.stderr,
    )
    return 1


__all__ = ["main", "parser", "write_output"]
