"""`derive code NAME [--backend numpy|torch|jax|numba] [--grad] [--tests FILE] [-o FILE]`."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError, shown
from .io import write_output
from .modifiers import add_arguments as add_modifiers

#: The backends' names (derive.codegen.backends.BACKENDS; a test keeps the two equal), listed here
#: so that building the argument parser does not import SymPy's printers.
BACKEND_NAMES = ("numpy", "torch", "jax", "numba")


def _code(args) -> str | None:
    from ..codegen.emit import module_source, test_source

    target = args.name
    if args.modifiers:
        from .modifiers import modified

        target = modified(args.name, args)
    source = module_source(target, args.backend, args.grad, args.prior)
    if args.tests is None:
        return source
    if args.output is None:
        raise UserError("--tests needs -o FILE: the tests import the module by its file name")
    module = Path(args.output).stem
    if not module.isidentifier():
        raise UserError(
            f"cannot import {shown(args.output, quote=False)} from tests: {shown(module)} is not a "
            "module name"
        )
    tests = test_source(target, module, args.backend, args.grad)
    write_output(source, args.output)
    write_output(tests, args.tests)
    return None


def add_commands(sub) -> None:
    p = sub.add_parser(
        "code",
        help="emit a self-contained module with the loss (numpy, torch, jax or numba)",
        description="Emit fast, numerically stable code for a catalog entry: OBSERVED, PARAMS, "
        "FIXED, STANDARD, loss(), nll() and, with --grad, gradient(), hessian() and GBM "
        "objectives.",
    )
    p.add_argument("name", help="a catalog name (see `derive list`)")
    p.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        default="numpy",
        help="array library (numba: the numpy module, its loss compiled)",
    )
    p.add_argument(
        "--grad",
        action="store_true",
        help="also gradient and hessian wrt each raw learned output (and xgboost/lightgbm "
        "objectives for a single scalar output, numpy and numba backends)",
    )
    p.add_argument(
        "--tests",
        metavar="FILE",
        help="also write a pytest file pinning the module to mpmath reference values (needs -o)",
    )
    p.add_argument(
        "--prior",
        metavar="PRIOR",
        help="also penalty(), penalty_gradient(), map_objective() and map_gradient() for a "
        "linear predictor X @ w under this prior on the weights",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the module here (default stdout)")
    add_modifiers(p)
    p.set_defaults(handler=_code, replayable=True)
