"""The one configured LaTeX printer.  Python passes math fragments from here to the templates."""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

SETTINGS = {"ln_notation": False, "mul_symbol": None, "fold_short_frac": False}


class Printer(LatexPrinter):
    """SymPy's LaTeX printer with derive's notation settings."""

    def __init__(self, settings=None):
        super().__init__({**SETTINGS, **(settings or {})})


def tex(expr, **settings) -> str:
    """LaTeX of one expression."""
    return Printer(settings).doprint(sp.sympify(expr))


def equation(lhs, rhs, **settings) -> str:
    """LaTeX of ``lhs = rhs``."""
    return f"{tex(lhs, **settings)} = {tex(rhs, **settings)}"
