"""`derive kl P Q` and `derive entropy P` (terminal, --json, --latex)."""

from __future__ import annotations

import json
import shutil

from ..errors import UserError
from .latex import add_layout_options


def _pair(args):
    from ..catalog import get
    from ..infotheory import divergence, entropy

    for name in (args.p, args.q):
        if name is not None:
            get(name)  # an unknown name fails before any progress is shown
    what = f"H({args.p})" if args.q is None else f"KL({args.p} ‖ {args.q})"
    args.progress("deriving", 1, 1, what)
    return entropy(args.p) if args.q is None else divergence(args.p, args.q)


def _command(args) -> str:
    if args.latex:
        from ..latex import Notation
        from ..latex.infotheory import latex_section

        notation = Notation.preset(columns=args.columns, width=args.width)
        return latex_section(args.p, args.q, notation)
    if args.columns is not None or args.width is not None:
        raise UserError("--columns and --width set the LaTeX's line width: add --latex")
    from ..report import as_dict, render
    from .io import unicode_stdout

    pair = _pair(args)
    unicode = unicode_stdout(args)
    if args.json:
        return json.dumps(as_dict(pair), indent=2, ensure_ascii=not unicode)
    return render(pair, width=shutil.get_terminal_size((80, 24)).columns, unicode=unicode)


def add_commands(sub) -> None:
    c = sub.add_parser("kl", help="KL divergence, cross-entropy and entropy of two catalog entries")
    c.add_argument("p", metavar="P", help="the reference distribution (a catalog name)")
    c.add_argument("q", metavar="Q", help="the model distribution (a catalog name)")
    e = sub.add_parser("entropy", help="entropy of a catalog entry")
    e.add_argument("p", metavar="P", help="a catalog name (see `derive list`)")
    e.set_defaults(q=None)
    for command in (c, e):
        shown = command.add_mutually_exclusive_group()
        shown.add_argument("--json", action="store_true", help="one JSON object")
        shown.add_argument("--latex", action="store_true", help="a LaTeX section (fragment)")
        command.add_argument("-o", "--output", metavar="FILE", help="write to FILE")
        add_layout_options(command)
        command.set_defaults(handler=_command, replayable=True)
