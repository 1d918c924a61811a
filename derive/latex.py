"""The one configured LaTeX printer.  Python passes math fragments from here to the templates."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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


def template_dir() -> Path:
    """Where the templates are: inside the installed package, or templates/ in a source checkout."""
    installed = Path(__file__).parent / "templates"
    return installed if installed.is_dir() else Path(__file__).parent.parent / "templates"


@lru_cache(maxsize=1)
def environment():
    """The one Jinja environment: TeX-safe delimiters (\\BLOCK{…}, \\VAR{…}, \\#{…}), no escaping
    of maths, filters from one table."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_statement_prefix=None,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(FILTERS)
    return env


def render_template(name: str, **context) -> str:
    return environment().get_template(name).render(**context)


#: Jinja filters: math through the one printer, text escaped explicitly.
FILTERS = {"tex": tex}
