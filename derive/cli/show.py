"""`derive list` and `derive show NAME`."""

from __future__ import annotations

import json
import shutil


def _list(args) -> str:
    from ..catalog import CATALOG
    from ..derivation import standard_of
    from ..display import ascii_text
    from ..progress import tracked
    from .io import unicode_stdout

    unicode = unicode_stdout(args)
    rows = [
        (name, standard_of(CATALOG[name]) or "—", CATALOG[name].title)
        for name in tracked(CATALOG, "deriving", args.progress)
    ]
    if args.json:
        keys = ("name", "standard", "title")
        return json.dumps(
            [dict(zip(keys, row, strict=True)) for row in rows],
            indent=2,
            ensure_ascii=not unicode,
        )
    width = max(len(r[0]) for r in rows)
    std_width = max(len(r[1]) for r in rows)
    lines = [f"{'name':<{width}}  {'loss':<{std_width}}  distribution"]
    lines += [f"{n:<{width}}  {s:<{std_width}}  {t}" for n, s, t in rows]
    return "\n".join(lines) if unicode else ascii_text("\n".join(lines))


def _show(args) -> str:
    from ..relative import derivation_of
    from ..report import as_dict, render
    from .io import unicode_stdout

    derivation = derivation_of(args.name)
    unicode = unicode_stdout(args)
    if args.json:
        return json.dumps(as_dict(derivation), indent=2, ensure_ascii=not unicode)
    width = shutil.get_terminal_size((100, 24)).columns
    return render(derivation, width=width, unicode=unicode)


def add_commands(sub) -> None:
    p = sub.add_parser("list", help="list the catalog of distributions and their losses")
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(handler=_list)
    p = sub.add_parser("show", help="show the derivation of a catalog entry")
    p.add_argument("name", help="a catalog name (see `derive list`)")
    p.add_argument(
        "--json", action="store_true", help="one JSON object (every key of the derivation)"
    )
    p.set_defaults(handler=_show)
