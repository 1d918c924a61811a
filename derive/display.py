"""Display forms for the terminal: the one Unicode printer and the display-only objects the
outputs share (ψ for polygamma).  Text only; nothing here prints."""

from __future__ import annotations

import unicodedata
from contextlib import contextmanager

import sympy as sp
from sympy.printing.pretty import pretty_symbology
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


@contextmanager
def _symbology(unicode: bool):
    """SymPy draws brackets, sums and bars from one table chosen by a module-wide flag (set at
    import from stdout's encoding), whatever the printer was asked: set it to match."""
    previous = pretty_symbology._use_unicode
    pretty_symbology._use_unicode = unicode
    try:
        yield
    finally:
        pretty_symbology._use_unicode = previous


def pretty(expr, unicode: bool = True) -> str:
    """The 2-D form of ``expr``."""
    with _symbology(unicode):
        return Pretty(unicode).doprint(display(expr))


def inline(expr, unicode: bool = True) -> str:
    """One line: the 2-D form when it fits on one line, else str() with symbols and π shown by
    their Unicode names."""
    expr = display(expr)
    with _symbology(unicode):
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
    with _symbology(unicode):
        forms = [printer._print(display(lhs))]
        for r in rhs:
            forms += [prettyForm(f" {relation} "), printer._print(display(r))]
        form = prettyForm(*forms[0].right(*forms[1:]))
        lines = form.render(wrap_line=False).splitlines()
    return "\n".join(indent + line.rstrip() for line in lines)


#: ASCII for the characters the text outputs use outside the maths (which SymPy prints in ASCII
#: itself when asked): the rest goes through :func:`ascii_text`'s general rules.
_ASCII = {
    "—": "-", "–": "-", "−": "-", "·": "*", "×": "x", "‖": "||", "ℓ": "l", "≥": ">=", "≤": "<=",
    "≠": "!=", "≈": "~", "∈": "in", "∉": "not in", "ℝ": "R", "ℕ": "N", "ℤ": "Z", "∞": "oo",
    "✓": "ok", "✗": "x", "′": "'", "″": "''", "→": "->", "←": "<-", "↦": "|->", "⟨": "<",
    "⟩": ">", "«": "<<", "»": ">>", "…": "...", "∑": "sum", "∏": "prod", "√": "sqrt", "∂": "d",
    "∫": "int", "±": "+-", "½": "1/2", "ϕ": "phi", "ϑ": "theta", "ϵ": "epsilon",
}  # fmt: skip
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-", strict=True))


def _ascii_char(ch: str) -> str:
    if ch.isascii():
        return ch
    if ch in _ASCII:
        return _ASCII[ch]
    if ch in _SUPERSCRIPTS:
        return "^" + _SUPERSCRIPTS[ch]
    if unicodedata.category(ch) == "Mn":  # a combining accent: P̂ as P
        return ""
    name = unicodedata.name(ch, "")
    if "SUBSCRIPT" in name:  # Σₖ as Sigma_k
        return "_" + unicodedata.normalize("NFKD", ch)
    if "SUPERSCRIPT" in name or "MODIFIER LETTER" in name:  # Δᴷ as Delta^K
        return "^" + unicodedata.normalize("NFKD", ch)
    if name.startswith("GREEK ") and " LETTER " in name:  # μ -> mu, Σ -> Sigma
        letter = name.rsplit(" LETTER ", 1)[1].split()[0].lower()
        return letter.capitalize() if "CAPITAL" in name else letter
    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return plain or "?"


def ascii_text(text: str) -> str:
    """``text`` in ASCII, for a terminal that cannot show Unicode: μ as mu, — as -, ℝ as R,
    x⁻¹ as x^-1, yᵢₖ as y_ik."""
    out, previous = [], ""
    for ch in text:
        piece = _ascii_char(ch)
        if piece[:1] in "^_" and len(piece) > 1 and previous[:1] == piece[:1]:
            piece = piece[1:]  # one marker for a run of super- or subscripts
        else:
            previous = piece
        out.append(piece)
    return "".join(out)
