"""Display forms for the terminal: the one Unicode printer and the display-only objects the
outputs share (ψ for polygamma).  Text only; nothing here prints."""

from __future__ import annotations

import unicodedata
from contextlib import contextmanager

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pretty import pretty_symbology
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm
from sympy.printing.str import StrPrinter


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


def _suffixed(name, unicode=True):
    """μ_p for mu_p (SymPy writes μₚ beside μ_q: there is no subscript q)."""
    base, _, suffix = name.rpartition("_")
    if base and suffix in ("p", "q"):
        return sp.pretty(sp.Symbol(base), use_unicode=unicode) + "_" + suffix
    return None


class Pretty(PrettyPrinter):
    """Unicode maths, terms in the order given, parameters suffixed _p / _q shown alike
    (μ_p beside μ_q, not μₚ beside μ_q)."""

    def __init__(self, unicode: bool = True):
        super().__init__({"use_unicode": unicode, "wrap_line": False, "order": "none"})

    def _suffixed(self, name):
        return _suffixed(name, self._use_unicode)

    def _print_Symbol(self, e, bold_name=False):
        shown = self._suffixed(e.name)
        return prettyForm(shown) if shown else super()._print_Symbol(e, bold_name)

    def _print_Max(self, e):
        """max(a, b) (SymPy's pretty printer falls back to str(): Max(0, -f*y + 1))."""
        return self._print_Function(e, func_name="max")

    def _print_Min(self, e):
        return self._print_Function(e, func_name="min")

    def _print_loggamma(self, e):
        """log Γ(x), as papers write it (SymPy prints the function's name, loggamma)."""
        name = "log Γ" if self._use_unicode else "log Gamma"  # laid out at its printed width
        return prettyForm(*prettyForm(*self._print(e.args[0]).parens()).left(name))

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


_TO_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")

#: How the one-line form names functions: as papers write them, not as Python does.
_NAMES = {"loggamma": "log Γ", "gamma": "Γ", "lgamma": "log Γ", "polygamma": "ψ"}


def _cases(printer, e) -> list[str]:
    """Each case of a Piecewise as "value for condition" (the last, "value otherwise")."""
    return [
        f"{printer._print(value)} "
        + ("otherwise" if cond is sp.true else f"for {printer._print(cond)}")
        for value, cond in e.args
    ]


class Linear(StrPrinter):
    """Mathematical notation on one line: σ², 1/(2·σ²), √x, log Γ(1 + y), |x|, Σ_(k=1..K) …
    (SymPy's str() writes Python: σ**2, 1/(2*σ**2), sqrt(x), loggamma(1 + y), Abs(x))."""

    def __init__(self):
        super().__init__({"order": "none"})

    def _print_Symbol(self, e):
        return _suffixed(e.name) or sp.pretty(e, use_unicode=True)

    def _print_Indexed(self, e):
        return self._print(e.base.label) + "[" + ", ".join(self._print(i) for i in e.indices) + "]"

    def _print_Pi(self, e):
        return "π"

    def _print_Exp1(self, e):
        return "e"

    def _print_Infinity(self, e):
        return "∞"

    def _print_NegativeInfinity(self, e):
        return "-∞"

    def _print_Abs(self, e):
        return "|" + self._print(e.args[0]) + "|"

    def _print_Equality(self, e):
        return f"{self._print(e.lhs)} = {self._print(e.rhs)}"

    def _print_Piecewise(self, e):
        """Cases as a reader writes them on one line: {a for y = 0; b for y = K; c otherwise}."""
        cases = [
            f"{self._print(value)} "
            + ("otherwise" if cond is sp.true else f"for {self._print(cond)}")
            for value, cond in e.args
        ]
        return "{" + "; ".join(cases) + "}"

    def _print_Max(self, e):
        return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Min(self, e):
        return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Pow(self, e, rational=False):
        base, power = e.args
        if power is sp.S.Half:
            return "√" + self.parenthesize(base, PRECEDENCE["Atom"], strict=True)
        if power.is_Integer and power > 0:
            shown = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
            return shown + str(power).translate(_TO_SUPERSCRIPT)
        if power.is_Number and power.is_negative:
            return "1/" + self.parenthesize(sp.Pow(base, -power, evaluate=False), PRECEDENCE["Mul"])
        shown = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        exponent = self._print(power)
        atomic = precedence(power) >= PRECEDENCE["Atom"] and not exponent.startswith("-")
        return f"{shown}^{exponent}" if atomic else f"{shown}^({exponent})"

    def _print_Function(self, e):
        name = _NAMES.get(type(e).__name__, type(e).__name__)
        return name + "(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Polygamma(self, e):
        order, x = e.args
        name = {0: "ψ", 1: "ψ′"}.get(int(order), f"ψ^({order})")
        return f"{name}({self._print(x)})"

    def _print_Sum(self, e):
        limits = ", ".join(
            f"{self._print(i)}={self._print(a)}..{self._print(b)}" for i, a, b in e.limits
        )
        return f"Σ_({limits}) " + self.parenthesize(e.function, PRECEDENCE["Mul"])

    def _print_Product(self, e):
        limits = ", ".join(
            f"{self._print(i)}={self._print(a)}..{self._print(b)}" for i, a, b in e.limits
        )
        return f"Π_({limits}) " + self.parenthesize(e.function, PRECEDENCE["Mul"])

    def _print(self, expr, **kwargs):
        if type(expr).__name__ == "logsumexp":  # log Σ exp, as papers write it (its str() is code)
            expr = expr.as_sum()
        return super()._print(expr, **kwargs)

    def _print_Mul(self, e):
        return super()._print_Mul(e).replace("*", "·")


def linear(expr) -> str:
    """``expr`` on one line, in mathematical notation (see :class:`Linear`)."""
    return Linear().doprint(display(expr))


def inline(expr, unicode: bool = True) -> str:
    """One line: the 2-D form when it fits on one line, else the one-line mathematical form."""
    expr = display(expr)
    with _symbology(unicode):
        text = Pretty(unicode).doprint(expr)
    if "\n" not in text:
        return text
    if not unicode:
        return sp.sstr(expr)
    return linear(expr)


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


def _breaks(text: str) -> list[tuple[int, float, int]]:
    """(position, priority, characters dropped) of each place a long line may break: before a
    + or − (dropping the space), after a · (a product too long for a line), shallowest first."""
    out, depth = [], 0
    for position, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if char == " " and text[position + 1 : position + 3] in ("+ ", "- "):
            out.append((position, depth, 1))
        elif char == "·":
            out.append((position + 1, depth + 0.5, 0))
    return out


def _chunks(text: str, room: int) -> list[str]:
    """``text`` cut where :func:`_breaks` allows, shallowest first, into pieces of at most
    ``room`` characters where it can be."""
    breaks = [b for b in _breaks(text) if 0 < b[0] < len(text)]
    if len(text) <= room or not breaks:
        return [text]
    priority = min(p for _, p, _ in breaks)
    cuts = [(c, drop) for c, p, drop in breaks if p == priority]
    starts = [0] + [c + drop for c, drop in cuts]
    ends = [c for c, _ in cuts] + [len(text)]
    pieces = [text[a:b] for a, b in zip(starts, ends, strict=True)]
    return [chunk for piece in pieces for chunk in _chunks(piece, room)]


def _filled(first: str, text: str, pad: str, width: int) -> list[str]:
    """``first`` + ``text`` filled to ``width`` columns; continuation lines start with ``pad``."""
    lines, line = [], first
    for number, chunk in enumerate(_chunks(text, width - len(pad))):
        gap = "" if number == 0 or line.endswith("·") else " "
        if number and len(line) + len(gap) + len(chunk) > width:
            lines.append(line.rstrip())
            line, gap = pad, ""
        line += gap + chunk
    return [*lines, line.rstrip()]


def fitted(
    lhs, *rhs, width: int = 80, indent: str = "   ", relation: str = "=", unicode: bool = True
) -> str:
    """:func:`equation` when its 2-D form fits in ``width`` columns; otherwise the one-line
    form, broken before a + or − where a line would pass ``width`` (a long left-hand side gets
    lines of its own, the relation starting the next)."""
    shown = equation(lhs, *rhs, indent=indent, relation=relation, unicode=unicode)
    if max(map(len, shown.splitlines())) <= width:
        return shown
    left = linear(lhs)
    if len(indent) + len(left) <= width // 2:
        lines, pad = [], " " * (len(indent) + len(left) + len(relation) + 2)
        first = f"{indent}{left} {relation} "
    else:
        lines = _filled(indent, left, indent + "  ", width)
        pad = indent + " " * (len(relation) + 3)
        first = f"{indent}  {relation} "
    for r in rhs:
        if isinstance(r, sp.Piecewise):  # one case a line: {a for y = 0; ⏎ b otherwise}
            cases = _cases(Linear(), display(r))
            for i, case in enumerate(cases):
                text = ("{" if i == 0 else "") + case + (";" if i < len(cases) - 1 else "}")
                lines += _filled(first if i == 0 else pad + " ", text, pad + "  ", width)
        else:
            lines += _filled(first, linear(r), pad, width)
        first = pad[: -len(relation) - 2] + f"{relation} "
    return "\n".join(lines)


def reading(expr) -> str:
    """How ``expr`` reads, up to the names of summation indices (Σ_j e^(z_j) reads as
    Σ_k e^(z_k)) and with log-sum-exp as the sum it is shown as: two steps that read alike
    need not be shown twice."""

    def has_bound(e) -> bool:
        return any(
            isinstance(a, sp.Sum | sp.Product) or type(a).__name__ == "logsumexp"
            for a in sp.preorder_traversal(e)
        )

    def walk(e, depth):
        if not has_bound(e):  # nothing to rename: as it is (unevaluated products stay products)
            return e
        if type(e).__name__ == "logsumexp":
            e = e.as_sum()
        if isinstance(e, sp.Sum | sp.Product) and len(e.limits) == 1:
            ((index, lo, hi),) = e.limits
            fresh = sp.Dummy(f"i{depth}")
            body = walk(e.function.xreplace({index: fresh}), depth + 1)
            return type(e)(body, (fresh, walk(lo, depth), walk(hi, depth)))
        args = [walk(a, depth) for a in e.args]
        if isinstance(e, sp.Add | sp.Mul | sp.Pow):
            return e.func(*args, evaluate=False)
        return e.func(*args)

    try:
        return linear(walk(sp.sympify(expr), 0))
    except Exception:  # a form the walk cannot rebuild: compare as printed
        return linear(expr)


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


class Named(sp.Function):
    """A function a display writes by its name and first argument: F(y_u) for the CDF of the
    family at y_u, its parameters carried as the further arguments (so that the expression
    still depends on them).  Display only: its value at numbers is its ``form``'s."""

    symbol = "?"
    #: (args) -> the function written out, where a subclass has it: its value at numbers
    form = None
    is_real = True
    is_positive = True

    def _eval_evalf(self, prec):
        return None if self.form is None else self.form(*self.args).evalf(prec)

    def _latex(self, printer, exp=None):
        name = self.symbol if exp is None else r"%s^{%s}" % (self.symbol, exp)
        return r"%s\left(%s\right)" % (name, printer._print(self.args[0]))

    def _pretty(self, printer):
        return prettyForm(*prettyForm(*printer._print(self.args[0]).parens()).left(self.symbol))

    def _sympystr(self, printer):
        return "%s(%s)" % (self.symbol, printer._print(self.args[0]))


class NamedCDF(Named):
    symbol = "F"


class NamedSurvival(Named):
    symbol = "S"
