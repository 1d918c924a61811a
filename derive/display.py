"""Display forms for the terminal: the one Unicode printer and the display-only objects the
outputs share (ψ for polygamma).  Text only; nothing here prints."""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm


class Polygamma(sp.Expr):
    """Display of polygamma(n, x) as ψ(x), ψ′(x), ψ⁽ⁿ⁾(x) (SymPy prints the function's name)."""

    def __new__(cls, order, x):
        return sp.Expr.__new__(cls, sp.sympify(order), sp.sympify(x))

    def _latex(self, printer, exp=None):
        order, x = self.args
        name = {0: r"\psi", 1: r"\psi'"}.get(int(order), r"\psi^{(%s)}" % order)
        out = r"%s\left(%s\right)" % (name, printer._print(x))
        return out if exp is None else r"%s^{%s}" % (out, exp)

    def _pretty(self, printer):
        order, x = self.args
        name = {0: "ψ", 1: "ψ′"}.get(int(order), f"ψ^({order})")
        return prettyForm(*prettyForm(*printer._print(x).parens()).left(name))

    def _sympystr(self, printer):
        return "polygamma(%s, %s)" % tuple(printer._print(a) for a in self.args)


def display(expr):
    """``expr`` as the outputs show it: polygamma(0, x) as ψ(x), polygamma(1, x) as ψ′(x)."""
    return sp.sympify(expr).replace(
        lambda e: isinstance(e, sp.polygamma) and e.args[0].is_Integer,
        lambda e: Polygamma(*e.args),
    )


class Pretty(PrettyPrinter):
    """Unicode maths, terms in the order given, parameters suffixed _p / _q shown alike
    (μ_p beside μ_q, not μₚ beside μ_q)."""

    def __init__(self, unicode: bool = True):
        super().__init__({"use_unicode": unicode, "wrap_line": False, "order": "none"})

    def _suffixed(self, name):
        base, _, suffix = name.rpartition("_")
        if base and suffix in ("p", "q"):
            return sp.pretty(sp.Symbol(base), use_unicode=self._use_unicode) + "_" + suffix
        return None

    def _print_Symbol(self, e, bold_name=False):
        shown = self._suffixed(e.name)
        return prettyForm(shown) if shown else super()._print_Symbol(e, bold_name)

    def _print_Indexed(self, e):
        shown = self._suffixed(e.base.name) or sp.pretty(
            e.base.label, use_unicode=self._use_unicode
        )
        return prettyForm(shown + "[" + ", ".join(self.doprint(i) for i in e.indices) + "]")


def pretty(expr, unicode: bool = True) -> str:
    """The 2-D form of ``expr``."""
    return Pretty(unicode).doprint(display(expr))


def inline(expr, unicode: bool = True) -> str:
    """One line: the 2-D form when it fits on one line, else str() with symbols and π shown by
    their Unicode names."""
    expr = display(expr)
    text = Pretty(unicode).doprint(expr)
    if "\n" not in text:
        return text
    if not unicode:
        return sp.sstr(expr)
    names = {s: sp.Symbol(sp.pretty(s, use_unicode=True)) for s in expr.free_symbols}
    names[sp.pi] = sp.Symbol("π")
    return sp.sstr(expr.xreplace(names))


def equation(lhs, *rhs, indent: str = "   ", relation: str = "=", unicode: bool = True) -> str:
    """``lhs = rhs = …`` (or another relation) laid out on a common baseline, indented."""
    printer = Pretty(unicode)
    forms = [printer._print(display(lhs))]
    for r in rhs:
        forms += [prettyForm(f" {relation} "), printer._print(display(r))]
    form = prettyForm(*forms[0].right(*forms[1:]))
    return "\n".join(indent + line.rstrip() for line in form.render(wrap_line=False).splitlines())
