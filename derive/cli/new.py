"""`derive new --density TEX --observed Y --param P ...`: a density typed in LaTeX, checked and
derived (the engine is derive.user)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from ..errors import UserError, shown
from .modifiers import add_arguments as add_modifiers

#: derive.user.DEFAULT_TIMEOUT (a test keeps them equal), here so that --help imports no SymPy.
DEFAULT_TIMEOUT = 30.0


def _echo(declared, derivation, unicode: bool = True) -> str:
    """What was read and checked, shown before the derivation so a misreading is visible."""
    from ..derivation import Density
    from ..display import equation

    dist = declared.dist
    lhs = Density(derivation.observed, tuple(dist.sym(v) for v in (*dist.params, *dist.fixed)))
    lines = ["read the density as", equation(lhs, declared.density, unicode=unicode)]
    if declared.readings:
        lines.append("   reading " + "; ".join(declared.readings))
    lines.append("checked: " + "; ".join(declared.checks))
    return "\n".join(lines)


def _reading(declared, derivation) -> str:
    """One line: the density as read, how ambiguous notation was read, what was checked."""
    from ..derivation import Density
    from ..display import inline

    dist = declared.dist
    lhs = Density(derivation.observed, tuple(dist.sym(v) for v in (*dist.params, *dist.fixed)))
    parts = [f"read the density as {inline(lhs)} = {inline(declared.density)}"]
    parts += [f"{r}" for r in declared.readings]
    return "; ".join(parts + declared.checks[-1:])


def _check_output(path: str | None) -> None:
    if path is None:
        return
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UserError(f"cannot write {path}: directory {directory} does not exist")
    if target.is_dir():
        raise UserError(f"cannot write {path}: it is a directory")


def _command(args) -> str:
    from ..budget import TimeBudget
    from ..user import declare

    _check_output(args.output)
    budget = TimeBudget(args.timeout, started=getattr(args, "started", None))
    with budget.running():
        declared = declare(
            args.density,
            args.observed,
            args.param,
            args.fixed,
            discrete=args.discrete,
            support=args.support,
            positive=args.positive,
            probability=args.probability,
            name=args.name,
            normalize=args.normalize,
            budget=budget,
            report=args.progress,
        )
        from ..derivation import derive_cached
        from ..user import check_real
        from .latex import notation_of
        from .modifiers import apply

        dist = apply(declared.dist, args)
        notation = notation_of(args)
        notation.check(dist.variables, dist.name)  # --symbol names a variable, whatever the output
        args.progress("derive new", 3, 3, "deriving the loss")
        derivation = check_real(derive_cached(dist))
        text = _output(args, declared, derivation, notation)
    if args.latex or args.standalone or args.code:  # outputs without the reading: on stderr
        args.progress.note(f"derive: {_reading(declared, derivation)}")
    return text


def _output(args, declared, derivation, notation) -> str:
    from ..display import ascii_text
    from ..report import as_dict, render
    from .io import unicode_stdout

    if args.json:
        data = as_dict(derivation)
        data["input"] = declared.source
        data["readings"] = list(declared.readings)
        data["checks"] = list(declared.checks)
        return json.dumps(data, indent=2, ensure_ascii=not unicode_stdout(args))
    if args.latex or args.standalone:
        return _latex(args, derivation, notation)
    if args.code:
        return _code(derivation)
    width = shutil.get_terminal_size((80, 24)).columns
    unicode = unicode_stdout(args)
    text = _echo(declared, derivation, unicode) + "\n\n" + render(derivation, width, unicode)
    return text if unicode else ascii_text(text)


def _latex(args, derivation, notation) -> str:
    """The LaTeX `derive latex` writes for a catalog entry: the fragment, or with --standalone
    the whole document (its sections for the catalog, such as information theory, left out),
    in the notation of --ln, --symbol, --columns/--width and --number."""
    from ..latex import document, fragment

    if args.standalone:
        return document([derivation], notation, sections=())
    return fragment(derivation, notation)


def _code(derivation) -> str:
    """The module `derive code` emits (numpy): arguments observed, params, fixed, in order."""
    from ..codegen import module_source

    return module_source(derivation)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--timeout {shown(text)}: give a number of seconds") from None
    if not (0 < value <= 86400) or math.isnan(value):
        raise UserError(
            f"--timeout {shown(text, quote=False)}: give a number of seconds above 0 "
            "(at most a day)"
        )
    return value


def add_commands(sub) -> None:
    p = sub.add_parser(
        "new",
        help="derive the loss of a new distribution, its density typed in LaTeX",
        description="Read a density written in LaTeX, check it, and derive its loss. Symbols are "
        r"named as the parser reads them (\mu is mu, x_m is x_m, \hat{y} is y_hat) and are "
        "real unless declared --positive or --probability; the observed variable takes its "
        "domain from --support and --discrete. Bounds and densities that start with '-' "
        "need '=': --support=-oo,0.",
    )
    p.add_argument("--density", required=True, metavar="TEX", help="the density, in LaTeX")
    p.add_argument("--observed", required=True, metavar="Y", help="the observed variable")
    p.add_argument(
        "--param",
        required=True,
        action="extend",
        nargs="+",
        metavar="P",
        help="the learned parameters (list them, or repeat --param)",
    )
    p.add_argument(
        "--fixed",
        action="extend",
        nargs="+",
        default=[],
        metavar="F",
        help="known constants of the density",
    )
    p.add_argument("--discrete", action="store_true", help="the observed variable is a count")
    p.add_argument(
        "--support",
        metavar="LO,HI",
        help="the observed variable's support: numbers, oo, pi or a --fixed symbol "
        "(default -oo,oo; 0,oo when --discrete)",
    )
    p.add_argument(
        "--positive", action="extend", nargs="+", default=[], metavar="S", help="declare S > 0"
    )
    p.add_argument(
        "--probability",
        action="extend",
        nargs="+",
        default=[],
        metavar="S",
        help="declare S in (0, 1)",
    )
    p.add_argument("--name", default="new", help="a name for the distribution (default: new)")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--json", action="store_true", help="one JSON object: every field of the derivation"
    )
    group.add_argument("--latex", action="store_true", help="the derivation as a LaTeX fragment")
    group.add_argument(
        "--standalone",
        action="store_true",
        help="the derivation as a complete LaTeX document (as `derive latex --standalone`)",
    )
    group.add_argument("--code", action="store_true", help="the numpy module, as `derive code`")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically)")
    p.add_argument("--normalize", action="store_true", help="divide by the integral if it is not 1")
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"give up after S seconds (default {DEFAULT_TIMEOUT:g})",
    )
    add_modifiers(p)
    from .latex import add_notation_options

    add_notation_options(p)  # --ln, --symbol, --columns/--width, --number: as `derive latex`
    p.set_defaults(handler=_command, replayable=True)
