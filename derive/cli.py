"""The `derive` command.

Each feature module contributes its sub-commands through ``add_commands(subparsers)``; a command's
handler takes the parsed arguments and returns the text to print (or writes a file itself).  Bad
input raises :class:`UserError` (or an unknown name): one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import UserError

#: Modules that add sub-commands, in the order `derive --help` lists them.
FEATURES = (
    "derive.cli",
    "derive.codegen.cli",
    "derive.new",
    "derive.latex",
    "derive.plot",
    "derive.infotheory",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2, like every other
        raise UserError(f"{message} (see `{self.prog} --help`)")


def write_output(text: str, path: str | None) -> None:
    """Print ``text``, or write it to ``path`` atomically (a temporary file, then a rename)."""
    if path is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UserError(f"cannot write {path}: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a written file gets the usual mode
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------- list / show


def _derivation(name: str):
    from .catalog import get
    from .derivation import derive_cached
    from .relative import RELATIVE

    if name in RELATIVE:  # a loss that is not a likelihood, derived relative to cross-entropy
        return RELATIVE[name].derive()
    return derive_cached(get(name))


def progress(items, label: str):
    """Yield ``items``, reporting "label i/n: item" on stderr when it is a terminal."""
    items = list(items)
    tty = sys.stderr.isatty()
    for number, item in enumerate(items, start=1):
        if tty:
            sys.stderr.write(f"\r\033[K{label} {number}/{len(items)}: {item}")
            sys.stderr.flush()
        yield item
    if tty:
        sys.stderr.write("\r\033[K")


def _list(args) -> str:
    from .catalog import CATALOG
    from .derivation import standard_of

    rows = [
        (name, standard_of(CATALOG[name]) or "—", CATALOG[name].title)
        for name in progress(CATALOG, "deriving")
    ]
    if args.json:
        keys = ("name", "standard", "title")
        return json.dumps(
            [dict(zip(keys, row, strict=True)) for row in rows], indent=2, ensure_ascii=False
        )
    width = max(len(r[0]) for r in rows)
    std_width = max(len(r[1]) for r in rows)
    lines = [f"{'name':<{width}}  {'loss':<{std_width}}  distribution"]
    lines += [f"{n:<{width}}  {s:<{std_width}}  {t}" for n, s, t in rows]
    return "\n".join(lines)


def _show(args) -> str:
    from .report import as_dict, render

    derivation = _derivation(args.name)
    if args.json:
        return json.dumps(as_dict(derivation), indent=2, ensure_ascii=False)
    return render(derivation, width=shutil.get_terminal_size((100, 24)).columns)


def add_commands(sub) -> None:
    p = sub.add_parser("list", help="list the catalog of distributions and their losses")
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(handler=_list)
    p = sub.add_parser("show", help="show the derivation of a catalog entry")
    p.add_argument("name", help="a catalog name (see `derive list`)")
    p.add_argument("--json", action="store_true", help="one JSON object (DESIGN.md keys)")
    p.set_defaults(handler=_show)


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="derive",
        description="Derive standard losses as negative log-likelihoods of distributions.",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in FEATURES:
        importlib.import_module(module).add_commands(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    from .catalog import UnknownDistribution

    try:
        args = parser().parse_args(argv)
        text = args.handler(args)
        if text is not None:
            write_output(text, getattr(args, "output", None))
    except (UserError, UnknownDistribution) as exc:
        print(f"derive: error: {' '.join(str(exc).splitlines())}", file=sys.stderr)  # one line
        return 2
    except KeyboardInterrupt:
        print("derive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not bad input: still one line, exit 1, no traceback
        if os.environ.get("DERIVE_TRACEBACK"):
            raise
        detail = " ".join(str(exc).split())[:300]
        print(
            f"derive: internal error: {type(exc).__name__}: {detail} "
            "(a bug; set DERIVE_TRACEBACK=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
    return 0
