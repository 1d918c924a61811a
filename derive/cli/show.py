"""`derive list` and `derive show NAME`."""

from __future__ import annotations

import json
import shutil

from ..errors import UserError
from .modifiers import add_arguments as add_modifiers


def _list(args) -> str:
    from .io import unicode_stdout

    unicode = unicode_stdout(args)
    rows = _catalog_rows(args.progress)
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
    if unicode:
        return "\n".join(lines)
    from ..display import ascii_text

    return ascii_text("\n".join(lines))


def _catalog_rows(progress) -> list[tuple[str, str, str]]:
    """(name, standard id, title) of every catalog entry.  Kept in the derivation cache under
    derive's code version, so a repeated `derive list` imports neither SymPy nor the catalog;
    otherwise every entry is derived (and cached)."""
    from .. import cache

    store = cache.default_store()
    entry = f"list-{cache.code_version()}.json"
    content = store.load(entry) if store is not None else None
    if content is not None:
        try:
            version, rows = json.loads(content)
            if version == cache.code_version():
                return [tuple(row) for row in rows]
        except ValueError:
            pass
    from ..catalog import CATALOG
    from ..derivation import standard_of
    from ..progress import tracked

    rows = [
        (name, standard_of(CATALOG[name]) or "—", CATALOG[name].title)
        for name in tracked(CATALOG, "deriving", progress)
    ]
    if store is not None:
        store.store(entry, json.dumps([cache.code_version(), rows]).encode())
    return rows


def _show(args) -> str:
    from ..derivation import Derivation
    from ..display import ascii_text
    from ..relative import derivation_of
    from ..report import as_dict, deviance_lines, prior_lines, render
    from .io import unicode_stdout

    if args.modifiers:
        from ..derivation import derive_cached
        from .modifiers import modified

        derivation = derive_cached(modified(args.name, args))
    else:
        derivation = derivation_of(args.name)
    unicode = unicode_stdout(args)
    extras = args.deviance or args.prior is not None
    if extras and not isinstance(derivation, Derivation):
        flag = "--deviance" if args.deviance else "--prior"
        raise UserError(f"{flag} needs a likelihood; {args.name} is a loss that is not one")
    if args.json:
        data = as_dict(derivation, deviance=args.deviance, prior=args.prior)
        return json.dumps(data, indent=2, ensure_ascii=not unicode)
    width = shutil.get_terminal_size((100, 24)).columns
    out = [render(derivation, width=width, unicode=unicode)]
    if args.deviance:
        from ..expfamily import deviance

        reason = deviance(derivation).reason
        if reason:
            raise UserError(reason)
        out += ["", *deviance_lines(derivation, unicode)]
    if args.prior is not None:
        out += ["", *prior_lines(args.prior, derivation, unicode)]
    text = "\n".join(out)
    return text if unicode else ascii_text(text)


def add_commands(sub) -> None:
    p = sub.add_parser("list", help="list the catalog of distributions and their losses")
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(handler=_list)
    p = sub.add_parser("show", help="show the derivation of a catalog entry")
    p.add_argument("name", help="a catalog name (see `derive list`)")
    p.add_argument(
        "--json", action="store_true", help="one JSON object (every key of the derivation)"
    )
    p.add_argument(
        "--deviance",
        action="store_true",
        help="also the unit deviance d(y, θ) = 2φ(ℓ(y; θ̂) − ℓ(y; θ)) and the constant that turns "
        "the loss into it",
    )
    p.add_argument(
        "--prior",
        metavar="PRIOR",
        help="also the MAP objective of a linear predictor w·x under this prior on the weights "
        "(see `derive prior --help`)",
    )
    add_modifiers(p)
    p.set_defaults(handler=_show)
