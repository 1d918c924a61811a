"""The MODIFIERS flags (DESIGN.md), shared by `show`, `code`, `latex` and `new`: each makes a new
declaration from the named one (derive/composite.py), applied in the order given."""

from __future__ import annotations

import argparse

from ..errors import UserError, shown


class _InOrder(argparse.Action):
    """Appends (flag, value) to ``args.modifiers``, keeping the command line's order."""

    def __call__(self, parser, namespace, values, option_string=None):
        found = list(getattr(namespace, "modifiers", None) or [])
        found.append((self.dest, values))
        namespace.modifiers = found


#: flag -> (metavar or None for a switch, help)
FLAGS = {
    "censored": (
        None,
        "observed becomes (y_lower, y_upper), xgboost's AFT convention: exact where equal, "
        "right-censored where y_upper = inf, left-censored where y_lower is the support's "
        "lower end, interval otherwise",
    ),
    "truncated": ("LO,HI", "renormalised on [LO, HI]: numbers, oo/-oo or a fixed symbol"),
    "discretised": ("WIDTH", "y is the centre of the bin [y - WIDTH/2, y + WIDTH/2]"),
    "zero-inflated": (None, "a learned probability of a structural zero (raw output: its logit)"),
    "hurdle": (None, "zero vs positive; positives from the zero-truncated family"),
    "mixture": ("K", "K components of the family, weights as logits"),
    "link": (
        "PARAM=KIND",
        "learn PARAM through a link: identity, log, logvar (σ = exp(r/2)), softplus, logit, "
        "probit (repeatable)",
    ),
}


def add_arguments(parser) -> None:
    """The MODIFIERS flags, in their own argument group."""
    group = parser.add_argument_group("modifiers (composable, applied in the order given)")
    for flag, (metavar, text) in FLAGS.items():
        dest = flag.replace("-", "_")
        nargs = 0 if metavar is None else None
        group.add_argument(
            f"--{flag}", dest=dest, action=_InOrder, nargs=nargs, metavar=metavar, help=text
        )
    parser.set_defaults(modifiers=[])


def _truncated(dist, value):
    lo, sep, hi = value.partition(",")
    if not sep or not lo.strip() or not hi.strip():
        raise UserError(f"--truncated {shown(value)}: expected LO,HI, e.g. 0,oo")
    return dist.truncated(lo.strip(), hi.strip())


def _discretised(dist, value):
    from sympy import Rational

    try:
        width = Rational(value.strip())
    except (TypeError, ValueError):
        raise UserError(f"--discretised {shown(value)}: give the bin width as a number") from None
    return dist.discretised(width)


def _link(dist, value):
    param, sep, kind = value.partition("=")
    if not sep or not param.strip() or not kind.strip():
        raise UserError(f"--link {shown(value)}: expected PARAM=KIND, e.g. sigma=log")
    return dist.link(**{param.strip(): kind.strip()})


APPLY = {
    "censored": lambda dist, _: dist.censored(),
    "truncated": _truncated,
    "discretised": _discretised,
    "zero_inflated": lambda dist, _: dist.zero_inflated(),
    "hurdle": lambda dist, _: dist.hurdle(),
    "mixture": lambda dist, value: dist.mixture(value),
    "link": _link,
}


def apply(dist, args):
    """``dist`` with the modifiers of ``args`` applied, in the order they were given."""
    from .. import composite  # noqa: F401 (registers the modifiers)

    for flag, value in getattr(args, "modifiers", None) or ():
        dist = APPLY[flag](dist, value if not isinstance(value, list) else None)
    return dist


def modified(name: str, args):
    """The catalog entry ``name`` with the modifiers of ``args`` applied."""
    from ..catalog import get

    return apply(get(name), args)
