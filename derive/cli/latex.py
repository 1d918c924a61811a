"""`derive latex NAME... | --all [--standalone] [-o FILE] [--pdf]`."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError, shown
from .io import write_output
from .modifiers import add_arguments as add_modifiers


def _variables(names) -> list:
    """The variables of the entries ``names`` (catalog or relative losses), in order."""
    from ..catalog import get
    from ..relative import RELATIVE

    out = []
    for name in names:
        if name in RELATIVE:
            rel = RELATIVE[name]
            out += [rel.observed, *rel.params, *rel.fixed]
        else:
            out += list(get(name).variables)
    return out


def notation_of(args):
    """The Notation of `derive latex` / `derive new --latex`: --ln, --symbol, --columns/--width,
    --number (refusing bad values in one line)."""
    from ..latex import Notation

    names = {}
    for item in getattr(args, "symbol", None) or ():
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise UserError(f"--symbol {shown(item)}: expected NAME=LATEX, e.g. mu=\\hat{{y}}")
        names[name] = value
    return Notation.preset(
        columns=getattr(args, "columns", None),
        width=getattr(args, "width", None),
        ln=args.ln,
        names=names,
        number=getattr(args, "number", None) or "key",
    )


def add_layout_options(p) -> None:
    """The line-breaking width of the LaTeX: --columns or --width (also `derive kl/entropy`)."""
    p.add_argument(
        "--columns",
        type=int,
        choices=(1, 2),
        help="break lines for one column of a standard article (345 pt, the default) or one "
        "column of a two-column article (229.5 pt); a standalone document is set that way",
    )
    p.add_argument("--width", type=float, metavar="PT", help="break lines for this width, in pt")


def add_notation_options(p) -> None:
    """The options of the paper notation, shared by `derive latex` and `derive new`."""
    p.add_argument("--ln", action="store_true", help="write natural logarithms as \\ln")
    p.add_argument(
        "--symbol",
        action="append",
        metavar="NAME=LATEX",
        help="print a variable under another name, e.g. --symbol 'mu=\\hat{y}' (repeatable)",
    )
    add_layout_options(p)
    p.add_argument(
        "--number",
        choices=("key", "all", "none"),
        default="key",
        help="number (and label) the key equations: density, NLL, loss, NLL = a·loss + C "
        "(key, the default), every row (all) or none",
    )


def _latex(args):
    from ..catalog import CATALOG
    from ..latex import (
        BuildFailed,
        build_pdf,
        document,
        fragment,
        tex_engine,
    )
    from ..relative import RELATIVE, derivations

    if args.all and args.names:
        raise UserError("give NAME... or --all, not both")
    if not args.all and not args.names:
        raise UserError("give at least one NAME, or --all (see `derive list`)")
    if args.pdf and args.output is None:
        raise UserError("--pdf needs -o FILE.tex: the PDF is written next to it")
    if args.pdf:
        tex_engine()  # fail before deriving anything when there is no engine
    names = list(CATALOG) + list(RELATIVE) if args.all else list(dict.fromkeys(args.names))
    notation = notation_of(args)
    notation.check(_variables(names), ", ".join(names))  # before any derivation
    if args.modifiers:
        if args.all:
            raise UserError("modifiers apply to named entries: give NAME..., not --all")
        from ..derivation import derive_cached
        from .modifiers import modified

        modified_entries = [modified(name, args) for name in names]  # all checked first
        ds = [derive_cached(dist) for dist in modified_entries]
    else:
        ds = derivations(names, args.progress)
    if args.standalone or args.pdf:
        text = document(ds, notation, report=args.progress)
    else:
        text = "\n".join(fragment(d, notation) for d in ds)
    if not args.pdf:
        return text
    tex_path = Path(args.output)
    write_output(text, args.output)
    try:
        pdf, _ = build_pdf(text, tex_path.stem, args.progress.say)
    except BuildFailed as exc:
        log = tex_path.with_suffix(".log")
        try:
            write_output(exc.log, str(log))
        except UserError:
            raise exc from None
        raise UserError(f"{exc}; the log is {log}") from None
    write_output(pdf, str(tex_path.with_suffix(".pdf")))
    args.progress.note(f"derive: wrote {tex_path.with_suffix('.pdf')}")
    return None


def add_commands(sub) -> None:
    p = sub.add_parser(
        "latex",
        help="LaTeX of derivations: a fragment per entry, or a standalone document",
        description="Write the derivation of each NAME as LaTeX for a paper: a text line per "
        "step and an amsmath align with labels (eq:NAME:loss, ...). --standalone writes a whole "
        "document with the general argument and a summary table; --pdf compiles it.",
    )
    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="catalog names (see `derive list`), or losses that are not likelihoods "
        "(see `derive show`)",
    )
    p.add_argument(
        "--all", action="store_true", help="every catalog entry and every loss that is not one"
    )
    p.add_argument(
        "--standalone", action="store_true", help="a complete document, not \\input fragments"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also compile FILE (implies --standalone) with latexmk or pdflatex",
    )
    add_notation_options(p)
    add_modifiers(p)
    p.set_defaults(handler=_latex, replayable=True)
