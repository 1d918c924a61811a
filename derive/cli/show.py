"""`derive list` and `derive show NAME [--json | --markdown]`."""

from __future__ import annotations

import json
import shutil

from ..errors import UserError
from .modifiers import add_arguments as add_modifiers


def _list(args) -> str:
    from .io import unicode_stdout

    unicode = unicode_stdout(args)
    rows, others = _catalog_rows()
    if args.json:  # the catalog of distributions (the names other tools rely on)
        keys = ("name", "standard", "title")
        return json.dumps(
            [dict(zip(keys, row, strict=True)) for row in rows],
            indent=2,
            ensure_ascii=not unicode,
        )
    width = max(len(r[0]) for r in rows + others)
    std_width = max(len(r[1]) for r in rows + others)
    lines = [f"{'name':<{width}}  {'loss':<{std_width}}  distribution"]
    lines += [f"{n:<{width}}  {s:<{std_width}}  {t}" for n, s, t in rows]
    lines += ["", "losses that are not likelihoods (`derive show` accepts them too):"]
    lines.append(f"{'name':<{width}}  {'relative to':<{std_width}}  loss")
    lines += [f"{n:<{width}}  {s:<{std_width}}  {t}" for n, s, t in others]
    if unicode:
        return "\n".join(lines)
    from ..display import ascii_text

    return ascii_text("\n".join(lines))


def _catalog_rows() -> tuple[list, list]:
    """(name, standard id, title) of every catalog entry — the standard as declared, which the
    tests check each derivation reports — and (name, relative to, title) of every loss that is not
    a likelihood.  Nothing is derived; a repeated `derive list` is a replay that imports neither
    SymPy nor the catalog."""
    from ..catalog import CATALOG
    from ..relative import RELATIVE

    rows = [(name, dist.standard or "—", dist.title) for name, dist in CATALOG.items()]
    others = [(rel.name, rel.relative_to, rel.title) for rel in RELATIVE.values()]
    return rows, others


def _show(args) -> str:
    from ..derivation import Derivation
    from ..display import ascii_text
    from ..relative import derivations
    from ..report import as_dict, deviance_lines, markdown, prior_lines, render
    from .io import unicode_stdout

    if args.modifiers:
        from ..derivation import derive_cached
        from .modifiers import modified

        derivation = derive_cached(modified(args.name, args))
    else:
        (derivation,) = derivations([args.name], args.progress)
    unicode = unicode_stdout(args)
    extras = args.deviance or args.prior is not None
    if extras and not isinstance(derivation, Derivation):
        flag = "--deviance" if args.deviance else "--prior"
        raise UserError(f"{flag} needs a likelihood; {args.name} is a loss that is not one")
    if args.json:
        data = as_dict(derivation, deviance=args.deviance, prior=args.prior)
        return json.dumps(data, indent=2, ensure_ascii=not unicode)
    if args.markdown:
        text = markdown(derivation)
        return text if unicode else ascii_text(text)
    width = shutil.get_terminal_size((80, 24)).columns
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
    p = sub.add_parser(
        "list",
        help="list the distributions and their losses, and the losses that are not likelihoods",
    )
    p.add_argument("--json", action="store_true", help="one JSON array (the distributions)")
    p.set_defaults(handler=_list, replayable=True)
    p = sub.add_parser(
        "show",
        help="show a derivation: the loss, its scale and dropped terms first, then the steps",
        description="Show how the loss of NAME follows from its negative log-likelihood: the "
        "summary (standard loss, scale a, dropped terms) first, then each step. Formulas are "
        "fitted to the terminal's width (COLUMNS, default 80).",
    )
    p.add_argument("name", help="a name `derive list` shows")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument(
        "--json", action="store_true", help="one JSON object: every field of the derivation"
    )
    shown.add_argument(
        "--markdown", action="store_true", help="Markdown with $…$ math (for notebooks, READMEs)"
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
    p.set_defaults(handler=_show, replayable=True)
