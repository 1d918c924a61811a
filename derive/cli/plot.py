"""`derive plot NAME... [--set PARAM=VALUE ...] [-o FILE.png|.pdf|.svg]`."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from .io import write_output

#: The formats a figure is written in, by suffix (derive.plot.FORMATS; a test keeps them equal),
#: listed here so that building the parser imports neither SymPy nor numpy.
FORMATS = (".png", ".pdf", ".svg")


def _plot(args):
    from ..plot import _pyplot, figure, image
    from ..relative import derivations

    _pyplot()  # fail before deriving anything when matplotlib is missing
    names = list(dict.fromkeys(args.names))
    output = args.output or (f"{names[0]}.png" if len(names) == 1 else "losses.png")
    if Path(output).suffix.lower() not in FORMATS:
        raise UserError(f"cannot write {output}: give a file ending in {', '.join(FORMATS)}")
    fig = figure(derivations(names, args.progress), values=_values(args.set))
    try:
        data = image(fig, output)
    finally:
        _pyplot().close(fig)
    write_output(data, output)
    args.progress.note(f"derive: wrote {output}")
    return None


def _values(items) -> dict[str, float]:
    """``--set NAME=VALUE`` items as {name: value}; the plot checks names and domains."""
    values = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = None
        if not sep or not name.strip() or value is None:
            raise UserError(f"--set {item!r}: expected PARAM=NUMBER, e.g. --set nu=5")
        values[name.strip()] = value
    return values


def add_commands(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="plot each loss and its gradient against the prediction or residual (matplotlib)",
        description="Draw each loss (left) and its gradient (right). Location losses such as "
        "gaussian, laplace, cauchy, huber and student-t share one row against the residual; "
        "the others are drawn against their learned parameter.",
    )
    p.add_argument("names", nargs="+", metavar="NAME", help="catalog names (see `derive list`)")
    p.add_argument(
        "--set",
        action="append",
        metavar="PARAM=VALUE",
        help="hold a parameter at VALUE instead of its reference value (1 for a scale), in "
        "every entry that has it, e.g. --set nu=5 (repeatable)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="FILE.png, FILE.pdf or FILE.svg (default NAME.png, or losses.png for several)",
    )
    p.set_defaults(handler=_plot)
