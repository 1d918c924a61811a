"""LaTeX for papers: the one configured printer, the one Jinja environment, and `derive latex`.

Python passes math fragments from :class:`Printer` and plain data to the templates in
``templates/*.tex.j2``; every word of prose lives in the templates.  The printer adds what a paper
needs on top of SymPy's: terms in the order a derivation reads ((y − μ)², not (−μ + y)²; the terms
with a learned parameter before the constants), the observed variable first in products, ``\\log x``
without parentheses for atoms, ``\\ln`` on request, symbol names (μ → ŷ), nested sums and products,
and long expressions broken across lines (:func:`lines`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.simplify.radsimp import fraction

from .errors import UserError

SETTINGS = {"ln_notation": False, "mul_symbol": None, "fold_short_frac": False}

#: Symbol names that SymPy does not know how to print (Unicode names of display-only symbols).
_UNICODE_NAMES = {"ℓ": r"\ell", "ı": r"\imath", "∞": r"\infty"}


def _unicode_tex(char: str) -> str | None:
    """``\\alpha`` for α, ``\\Delta`` for Δ, the table above for the rest; None if unknown."""
    if char in _UNICODE_NAMES:
        return _UNICODE_NAMES[char]
    name = unicodedata.name(char, "")
    match = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER (\w+)", name)
    if not match:
        return None
    letter = match.group(2).lower()
    letter = {"lamda": "lambda"}.get(letter, letter)
    return "\\" + (letter if match.group(1) == "SMALL" else letter.capitalize())


def _is_atom(expr) -> bool:
    return (
        isinstance(expr, (sp.Symbol, sp.Indexed, sp.IndexedBase))
        or expr.is_NumberSymbol
        or (expr.is_Integer and expr.is_positive)
    )


class Printer(LatexPrinter):
    """SymPy's LaTeX printer with derive's notation (see the module docstring).

    Extra settings: ``observed`` (symbols printed first in products), ``learned`` (terms with them
    come first in the outermost sums), ``names`` (variable name → LaTeX, such as
    ``{"mu": "\\hat{y}"}``), ``density`` (the density's name when a variable is called ``p``).
    """

    _default_settings: ClassVar[dict] = {
        **LatexPrinter._default_settings,
        "observed": (),
        "learned": (),
        "names": {},
        "density": None,
    }

    def __init__(self, settings=None):
        super().__init__({**SETTINGS, **(settings or {})})
        self._outer: set[int] = set()

    def _print(self, expr, **kwargs):
        # Our own _print_<Class> wins over a class's _latex (SymPy asks _latex first).
        for cls in type(expr).__mro__:
            own = _OWN.get(cls.__name__)
            if own is not None:
                return own(self, expr, **kwargs)
        text = super()._print(expr, **kwargs)
        if self._settings["ln_notation"] and hasattr(expr, "_latex"):
            text = re.sub(r"\\log(?![A-Za-z])", r"\\ln", text)  # primitives that write \log
        return text

    def _print_applied(self, expr, exp=None):
        """p(y | μ, σ), L(μ), ℓ(μ): display-only applications, with plain parentheses."""
        name, args = expr.args
        shown = [self._print(a) for a in args]
        if getattr(expr, "separator", "") and len(shown) > 1:
            inner = r"%s \mid %s" % (shown[0], ", ".join(shown[1:]))
        else:
            inner = ", ".join(shown)
        shown = self._print(name)
        if type(expr).__name__ == "Density" and self._settings["density"]:
            shown = self._settings["density"]
        text = "%s(%s)" % (shown, inner)
        return text if exp is None else r"%s^{%s}" % (text, exp)

    # ---------------------------------------------------------------- term and factor order

    def doprint(self, expr) -> str:
        self._outer = {id(a) for a in _outer_adds(expr)}
        return super().doprint(expr)

    def _has_learned(self, term) -> bool:
        learned = self._settings["learned"]
        return bool(learned) and term.has(*learned)

    def _has_observed(self, term) -> bool:
        observed = self._settings["observed"]
        return bool(observed) and term.has(*observed)

    def _term_key(self, term, outer: bool):
        """Nested sums: plus before minus, symbols before numbers, the observed variable first
        (y − μ, 1 − p).  Outermost sums put the terms with a learned parameter (and plain
        rationals, as in 1 − cos θ) before the rest (the constants a derivation drops)."""
        negative = term.could_extract_minus_sign()
        key = (negative, term.is_number, not self._has_observed(term))
        if not outer:
            return key
        return (not (self._has_learned(term) or term.is_Rational), *key)

    def _as_ordered_terms(self, expr, order=None):
        terms = (
            list(expr.args) if not isinstance(expr, sp.Add) else expr.as_ordered_terms(order=None)
        )
        outer = id(expr) in self._outer
        ranked = sorted(enumerate(terms), key=lambda it: (self._term_key(it[1], outer), it[0]))
        return [term for _, term in ranked]

    def _is_observed_factor(self, factor) -> bool:
        observed = self._settings["observed"]
        if isinstance(factor, sp.Pow):
            factor = factor.base
        if isinstance(factor, sp.Indexed):
            factor = factor.base
        return factor in observed

    def _ordered_factors(self, factors):
        """Numbers, then factors of the observed variable alone (y, 1 − y, Σ y_k), then the rest."""

        def observed_only(f):
            return self._is_observed_factor(f) or (
                self._has_observed(f) and not self._has_learned(f)
            )

        def rank(f):
            if f.is_number:
                return 0
            if isinstance(f, sp.log):
                return 4  # log x last: "α log y", never "log y α"
            if isinstance(f, sp.exp):
                return 3
            return 1 if observed_only(f) else 2

        return sorted(factors, key=lambda f: (rank(f), f.sort_key()))

    def _convert_factors(self, factors, alone: bool = False) -> str:
        """Factors side by side; ``alone``: a lone factor (a numerator or denominator) needs no
        brackets."""
        if alone and len(factors) == 1:
            return self._print(factors[0])
        out, last = "", None
        factors = self._ordered_factors(factors)
        for i, factor in enumerate(factors):
            text = self._print(factor)
            bare_log = isinstance(factor, sp.log) and not text.endswith(r"\right)")
            if (bare_log and i < len(factors) - 1) or self._needs_mul_brackets(
                factor, first=i == 0, last=i == len(factors) - 1
            ):
                text = r"\left(%s\right)" % text
            if out:
                both_numbers = last is not None and last.is_Number and factor.is_Number
                out += r" \cdot " if both_numbers else " "
            out += text
            last = factor
        return out

    def _print_Mul(self, expr):
        if not isinstance(expr, sp.Mul) or not expr.is_commutative:
            return super()._print_Mul(expr)
        if expr.could_extract_minus_sign():
            positive = -expr
            text = self._print(positive)
            return "- " + (r"\left(%s\right)" % text if positive.is_Add else text)
        coeff, rest = expr.as_coeff_Mul()
        numer, denom = fraction(rest, exact=True)
        nf, df = list(sp.Mul.make_args(numer)), list(sp.Mul.make_args(denom))
        nf = [f for f in nf if f != 1]
        df = [f for f in df if f != 1]
        front = any(isinstance(f, (sp.Function, sp.Add)) for f in nf) and not any(
            f.is_Pow for f in nf
        )
        if coeff.is_Rational and coeff.q != 1 and not df and front:
            # ½ log σ², ½ (a + b): the coefficient in front reads better than a fraction
            if coeff.p != 1:
                nf.insert(0, sp.Integer(coeff.p))
            return r"\frac{1}{%d} %s" % (coeff.q, self._convert_factors(nf))
        if coeff.is_Rational:
            if coeff.p != 1:
                nf.insert(0, sp.Integer(coeff.p))
            if coeff.q != 1:
                df.insert(0, sp.Integer(coeff.q))
        elif coeff != 1:
            nf.insert(0, coeff)
        if not df:
            return self._convert_factors(nf) if nf else "1"
        bottom = self._convert_factors(df, alone=True)
        nf = self._ordered_factors(nf)
        if (
            nf
            and isinstance(nf[-1], sp.exp)
            and r"\exp" in self._print(nf[-1])
            and not any(f.has(sp.Add, sp.exp) for f in df)
            and not any(f.has(sp.exp) for f in nf[:-1])
        ):
            # 1/√(2πσ²) exp(…): the normaliser in front of a long exponential
            top = self._convert_factors(nf[:-1], alone=True) if nf[:-1] else "1"
            return r"\frac{%s}{%s} %s" % (top, bottom, self._print(nf[-1]))
        return r"\frac{%s}{%s}" % (self._convert_factors(nf, alone=True) if nf else "1", bottom)

    def _prefer_flipped(self, base) -> bool:
        """For |b| and b^(2m): print −b instead of b when that puts the observed term first
        with a plus sign (|y − μ| rather than |μ − y|)."""
        if not isinstance(base, sp.Add) or not self._settings["observed"]:
            return False

        def score(e):
            terms = self._as_ordered_terms(e)
            observed_negative = any(
                self._has_observed(t) and t.could_extract_minus_sign() for t in terms
            )
            return (observed_negative, terms[0].could_extract_minus_sign())

        return score(-base) < score(base)

    def _print_Pow(self, expr):
        if expr.exp.is_Integer and expr.exp.is_even and self._prefer_flipped(expr.base):
            return super()._print_Pow(sp.Pow(-expr.base, expr.exp, evaluate=False))
        return super()._print_Pow(expr)

    def _print_cos(self, expr, exp=None):
        # cos is even: cos(y − μ) rather than SymPy's cos(μ − y)
        arg = expr.args[0]
        if self._prefer_flipped(arg):
            arg = -arg
        name = r"\cos" if exp is None else r"\cos^{%s}" % exp
        return r"%s\left(%s\right)" % (name, self._print(arg))

    def _print_Abs(self, expr, exp=None):
        arg = expr.args[0]
        if self._prefer_flipped(arg):
            arg = -arg
        text = r"\left|%s\right|" % self._print(arg)
        return text if exp is None else r"%s^{%s}" % (text, exp)

    # ---------------------------------------------------------------- functions

    def _print_log(self, expr, exp=None):
        name = r"\ln" if self._settings["ln_notation"] else r"\log"
        arg = expr.args[0]
        simple = (
            _is_atom(arg)
            or isinstance(arg, (sp.factorial, sp.Function, sp.Sum))
            or getattr(arg, "is_Function", False)
            or type(arg).__name__ == "Density"
            or (isinstance(arg, sp.Pow) and _is_atom(arg.base) and arg.exp.is_Integer)
            or (isinstance(arg, sp.Mul) and all(map(_is_atom, arg.args)) and arg.is_number)
        ) and not isinstance(arg, sp.Abs)
        inner = self._print(arg)
        text = f"{name} {inner}" if simple else r"%s\left(%s\right)" % (name, inner)
        return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)

    def _print_exp(self, expr, exp=None):
        arg = self._print(expr.args[0])
        if _width(arg) <= 8 and r"\frac" not in arg:
            text = r"e^{%s}" % arg
            return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)
        text = r"\exp\left(%s\right)" % arg
        return text if exp is None else r"%s^{%s}" % (text, exp)

    def _print_Indexed(self, expr):
        base = self._print(expr.base)
        index = "".join(self._print(i) for i in expr.indices)
        subscript = re.fullmatch(r"(.*)_\{([^{}]*)\}", base)
        if subscript:  # y_i indexed by k reads y_{ik}
            return "%s_{%s%s}" % (subscript.group(1), subscript.group(2), index)
        return "%s_{%s}" % (base, index)

    def limits(self, expr) -> str:
        """``\\sum_{i=1}^{n} \\sum_{k=1}^{K}`` for a Σ (or Π) over several limits: nested, the
        outermost first, rather than one Σ with a stacked subscript."""
        operator = "prod" if isinstance(expr, sp.Product) else "sum"
        return " ".join(
            r"\%s_{%s=%s}^{%s}" % (operator, *map(self._print, limit))
            for limit in reversed(expr.limits)
        )

    def _nested(self, expr) -> str:
        body = expr.function
        inner = self._print(body)
        inner = r"\left(%s\right)" % inner if isinstance(body, sp.Add) else inner
        return f"{self.limits(expr)} {inner}"

    _print_Sum = _print_Product = _nested

    # ---------------------------------------------------------------- names

    def _print_Symbol(self, expr, style="plain"):
        names = self._settings["names"]
        if expr.name in names:
            return names[expr.name]
        stem, _, index = expr.name.rpartition("_")
        if stem in names and index == "i":  # the sample symbol y_i of a renamed y
            return "%s_{i}" % names[stem]
        if not all(ord(c) < 128 for c in expr.name):  # ℓ, display-only names
            return "".join(_unicode_tex(c) or c for c in expr.name)
        stem, supers, subs = self._split_super_sub(expr.name)
        if len(stem) > 1 and not stem.startswith("\\"):  # multi-letter names: upright
            stem = r"\mathrm{%s}" % stem
        return stem + "".join(
            f"{mark}{{{' '.join(parts)}}}" for mark, parts in (("^", supers), ("_", subs)) if parts
        )

    def _needs_mul_brackets(self, expr, first=False, last=False) -> bool:
        # Γ(Σ α_j) carries its own parentheses: SymPy brackets any factor that contains a Σ.
        if isinstance(expr, sp.Function) and not isinstance(expr, sp.log):
            return False
        return super()._needs_mul_brackets(expr, first=first, last=last)


def _print_logsumexp(printer, expr, exp=None):
    """log Σ_k e^{f}, with the exponential written like every other (\\exp(…) when long)."""
    f, k, K = expr.args
    limits = sp.Sum(f, (k, 1, K))
    text = r"\log %s %s" % (printer.limits(limits), printer._print(sp.exp(f, evaluate=False)))
    return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)


#: Classes printed by derive's printer even where they define ``_latex``, by class name.
_OWN = {"_Applied": Printer._print_applied, "logsumexp": _print_logsumexp}


def _outer_adds(expr) -> list:
    """The sums of terms a derivation line lists: the expression itself, the body of a Σ, the
    summands of an unevaluated sum.  Terms with a learned parameter come first in these."""
    if isinstance(expr, sp.Add):
        out = [expr]
        for arg in expr.args:
            if isinstance(arg, sp.Add):
                out.append(arg)
        return out
    if isinstance(expr, (sp.Sum, sp.Product)):
        return _outer_adds(expr.function)
    if isinstance(expr, sp.Mul):
        coeff, rest = expr.as_coeff_Mul()
        if coeff == -1 or coeff.is_Rational:
            return _outer_adds(rest) if isinstance(rest, sp.Add) else []
    return []


def tex(expr, **settings) -> str:
    """LaTeX of one expression."""
    return Printer(settings).doprint(sp.sympify(expr))


def equation(lhs, rhs, **settings) -> str:
    """LaTeX of ``lhs = rhs``."""
    return f"{tex(lhs, **settings)} = {tex(rhs, **settings)}"


# ---------------------------------------------------------------------------- line breaking

_ZERO_WIDTH = {"left", "right", "Bigl", "Bigr", "bigl", "bigr", "nonumber", "displaystyle"}
_SPACES = {",": 0.2, ";": 0.3, ":": 0.25, "!": 0.0, " ": 0.3, "quad": 1.0, "qquad": 2.0}
_NAMED = {"log", "ln", "exp", "sin", "cos", "tan", "max", "min", "arg"}


def _group(text: str, i: int) -> tuple[str, int]:
    """The brace group (or single token) starting at ``text[i]``, and the index after it."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return "", i
    if text[i] != "{":
        if text[i] == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", text[i:])
            return m.group(0), i + len(m.group(0))
        return text[i], i + 1
    depth, j = 0, i
    while j < len(text):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j], j + 1
        j += 1
    return text[i + 1 :], len(text)


def _width(text: str) -> float:
    """A rough display width of LaTeX maths, in characters (enough to decide line breaks)."""
    width, i = 0.0, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", text[i:])
            command, i = m.group(1), i + len(m.group(0))
            if command in _ZERO_WIDTH:
                continue
            if command in _SPACES:
                width += _SPACES[command]
            elif command in ("frac", "tfrac", "dfrac", "binom"):
                a, i = _group(text, i)
                b, i = _group(text, i)
                width += max(_width(a), _width(b)) + 0.5
            elif command in ("operatorname", "mathrm", "text", "texttt", "mathit"):
                a, i = _group(text, i)
                width += 0.85 * len(a)
            elif command in ("sqrt",):
                a, i = _group(text, i)
                width += _width(a) + 1.5
            elif command in ("sum", "prod"):
                width += 2.0
                for mark in "_^":
                    if i < len(text) and text[i] == mark:
                        _, i = _group(text, i + 1)
            elif command in _NAMED:
                width += len(command)
            elif command in ("hat", "bar", "tilde", "mathcal", "mathbb", "boldsymbol"):
                a, i = _group(text, i)
                width += _width(a)
            else:
                width += 1.0
        elif c in "^_":
            a, i = _group(text, i + 1)
            width += 0.6 * _width(a)
        elif c in "{} ":
            i += 1
        elif c in "+-=":
            width += 1.6
            i += 1
        else:
            width += 1.0
            i += 1
    return width


#: The width (in :func:`_width` characters) of a derivation line in a one-column article.
WIDTH = 48


def _pieces(printer: Printer, expr) -> tuple[str, list[str], str]:
    """(prefix, terms with their signs, suffix): where a long expression may be broken."""
    if isinstance(expr, sp.Sum) and isinstance(expr.function, sp.Add):
        prefix = printer.limits(expr) + r" \Bigl("
        _, terms, _ = _pieces(printer, expr.function)
        return prefix, terms, r"\Bigr)"
    if not isinstance(expr, sp.Add):
        return "", [printer._print(expr)], ""
    out = []
    for i, term in enumerate(printer._as_ordered_terms(expr)):
        sign = ""
        if i and term.could_extract_minus_sign():
            sign, term = "- ", -term
        elif i:
            sign = "+ "
        text = printer._print(term)
        if printer._needs_add_brackets(term):
            text = r"\left(%s\right)" % text
        out.append(sign + text)
    return "", out, ""


def lines(expr, width: float = WIDTH, first: float | None = None, **settings) -> list[str]:
    """``expr`` as LaTeX lines no wider than ``width`` (``first``: the room on the first line);
    breaks fall between the terms of a sum, or inside the parentheses of a Σ over a sum.
    Continuation lines start with their sign; a template joins them with ``\\\\ &\\quad {}``."""
    printer = Printer(settings)
    whole = printer.doprint(sp.sympify(expr))
    first = width if first is None else first
    if _width(whole) <= first:
        return [whole]
    prefix, terms, suffix = _pieces(printer, sp.sympify(expr))
    out, current, room = [], prefix, first
    for term in terms:
        if current.strip() and current != prefix and _width(current + term) > room:
            out.append(current.rstrip())
            current, room = "", width - 2
        current += term + " "
    out.append((current.rstrip() + " " + suffix).rstrip())
    return out


# ---------------------------------------------------------------------------- templates


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


_TEXT_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "–": "--",
    "—": "---",
    "²": r"\textsuperscript{2}",
    "³": r"\textsuperscript{3}",
}

#: Mathematical characters in plain text, written as maths (no text-companion fonts needed).
_TEXT_MATH = {
    "−": "-",
    "×": r"\times",
    "·": r"\cdot",
    "±": r"\pm",
    "≤": r"\leq",
    "≥": r"\geq",
    "≠": r"\neq",
    "≈": r"\approx",
    "‖": r"\|",
    "∈": r"\in",
    "→": r"\to",
    "∞": r"\infty",
    "∂": r"\partial",
    "Σ": r"\Sigma",
    "√": r"\surd",
    "½": r"\tfrac{1}{2}",
    "ₖ": r"_{k}",
    "ᵢ": r"_{i}",
}


#: Text accents by combining character (ŷ → \^{y}, é → \'{e}).
_ACCENTS = {
    "0300": "`",
    "0301": "'",
    "0302": "^",
    "0303": "~",
    "0304": "=",
    "0308": '"',
    "0327": "c",
}


def escape(text) -> str:
    """Plain text for LaTeX, in ASCII: the special characters escaped, accented letters as
    accents, Greek letters and mathematical signs as maths."""
    out = []
    for char in str(text):
        parts = unicodedata.decomposition(char).split()
        if char in _TEXT_SPECIALS:
            out.append(_TEXT_SPECIALS[char])
        elif char in _TEXT_MATH:
            out.append(r"\ensuremath{%s}" % _TEXT_MATH[char])
        elif ord(char) > 127 and _unicode_tex(char):
            out.append(r"\ensuremath{%s}" % _unicode_tex(char))
        elif len(parts) == 2 and parts[1] in _ACCENTS and int(parts[0], 16) < 128:
            out.append("\\%s{%s}" % (_ACCENTS[parts[1]], chr(int(parts[0], 16))))
        else:
            out.append(char)
    return "".join(out)


def breakable(text) -> str:
    """:func:`escape`, with line breaks allowed after the underscores, dots and opening
    parentheses of identifiers (torch.nn.functional.mse_loss, MixtureSameFamily(…))."""
    text = escape(text).replace(r"\_", r"\_\allowbreak{}")
    return re.sub(r"([.(])(?=\w)", r"\1\\allowbreak{}", text)


def code(text) -> str:
    """An identifier such as ``torch.nn.functional.mse_loss`` in typewriter type, breakable
    after its dots and underscores."""
    parts = re.split(r"(?<=[._(,])", str(text))
    return r"\allowbreak{}".join(r"\texttt{%s}" % escape(part) for part in parts if part)


#: Jinja filters: math through the one printer, text escaped explicitly.
FILTERS = {"tex": tex, "escape": escape, "breakable": breakable, "code": code}


# ---------------------------------------------------------------------------- notation


@dataclass(frozen=True)
class Notation:
    """How a derivation is written: ``\\ln`` or ``\\log``, symbol names by variable name
    (``{"mu": r"\\hat{y}"}``), and the line width for breaking long expressions."""

    ln: bool = False
    names: Mapping[str, str] = field(default_factory=dict)
    width: float = WIDTH

    def settings(self, d) -> dict:
        dist = d.dist
        sample = _sample(d)
        declared = tuple(dist.sym(v) for v in dist.params)
        taken = {v.name for v in dist.variables} | set(self.names.values())
        return {
            "ln_notation": self.ln,
            "names": dict(self.names),
            "density": "f" if "p" in taken else None,
            "observed": (d.observed, sample),
            "learned": tuple(dict.fromkeys((*d.learned, *declared))),
        }


def _sample(d):
    """The symbol of the i-th observation (y_i) as the recorded likelihood step uses it."""
    y = d.observed
    name = f"{y.name if isinstance(y, sp.Symbol) else y.label.name}_i"
    for step in d.steps:
        if step.kind == "likelihood":
            for node in sp.preorder_traversal(step.rhs):
                if isinstance(node, (sp.Symbol, sp.IndexedBase)) and str(node) == name:
                    return node
    return sp.IndexedBase(name) if isinstance(y, sp.IndexedBase) else sp.Symbol(name)


def _link_equation(dist, link, settings) -> str:
    """``p = σ(z)``; ``p_k = e^{z_k} / Σ_j e^{z_j}`` for a vector parameter."""
    from .spec import CLASS_INDEX

    param = dist.symbols[link.param]
    shown = param[CLASS_INDEX] if isinstance(param, sp.IndexedBase) else param
    return equation(shown, dist.link_expr(link), **settings)


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.:-]+", "-", text).strip("-") or "x"


def _primitive_definitions(expr, before, settings) -> list[str]:
    """``f(x) = definition`` for each stable primitive that ``expr`` introduces (its first use),
    skipped where the primitive already prints as its definition (log-sum-exp, x log y)."""
    from .functions import PRIMITIVES

    out = []
    seen = set()
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, PRIMITIVES) or type(node) in seen:
            continue
        if before is not None and before.has(type(node)):
            continue
        seen.add(type(node))
        rewrite = getattr(node, "_eval_rewrite_as_exp", None)
        if rewrite is None:
            continue
        with sp.evaluate(False):  # rewrite this primitive only, not its arguments
            definition = rewrite(*node.args)
        lhs, rhs = tex(node, **settings), tex(definition, **settings)
        if lhs != rhs:
            out.append({"lhs": lhs, "rhs": rhs, "inline": _width(lhs + rhs) <= 30})
    return out


class _Whole(sp.UnevaluatedExpr):
    """A subexpression shown as written (√(2πσ²) stays one root); prints as its content."""

    is_commutative = True


def _display_density(dist):
    """The density as declared, for display: each √ of a product kept whole (√(2πσ²), not
    √2 √π σ).  Falls back to None when the declaration cannot be rebuilt that way."""

    def rebuild(e):
        if not e.args or isinstance(e, (sp.Indexed, sp.IndexedBase)):
            return e
        args = [rebuild(a) for a in e.args]
        if isinstance(e, sp.Pow) and e.exp in (sp.S.Half, -sp.S.Half):
            base = sp.sympify(args[0])
            if isinstance(base, sp.Mul) and len(base.args) > 1:
                root = _Whole(sp.Pow(base, sp.S.Half, evaluate=False))
                return root if e.exp == sp.S.Half else 1 / root
        return e.func(*args)

    try:
        with sp.evaluate(False):
            declared = dist.density_expr()
        return rebuild(declared)
    except Exception:  # a declaration that only builds evaluated: show the recorded form
        return None


def fragment_context(d, notation: Notation | None = None) -> dict:
    """Plain data and math fragments for ``fragment.tex.j2``: everything the template says about
    one derivation (no prose)."""
    from .spec import CLASS_INDEX, N_CLASSES

    notation = notation or Notation()
    settings = notation.settings(d)
    dist = d.dist

    def T(expr):
        return tex(expr, **settings)

    # Every row of an align starts where its widest left-hand side ends.
    column = max(_width(T(step.lhs)) for step in d.steps) if d.steps else 0

    def L(expr, extra=""):
        room = notation.width - column - _width(extra)
        return lines(expr, room - 2, first=room, **settings)

    def var(v, role):
        symbol = dist.sym(v)
        domain = v.domain
        lo, hi = dist.support_bounds if role == "observed" else domain.support
        return {
            "name": v.name,
            "tex": T(symbol),
            "role": role,
            "constraint": v.constraint,
            "vector": v.vector,
            "discrete": domain.discrete,
            "simplex": domain.simplex,
            "lo": T(lo),
            "next": T(lo + 1),
            "hi": T(hi),
            "unbounded": hi == sp.oo,
        }

    links = {link.param: link for link in dist.links}
    by_symbol = {dist.sym(v): v for v in dist.variables}
    display = _display_density(dist)
    i, n = sp.Symbol("i", integer=True, positive=True), sp.Symbol("n", integer=True, positive=True)

    steps, previous_lhs, previous_rhs, used = [], None, None, {}
    for step in d.steps:
        used[step.kind] = used.get(step.kind, 0) + 1
        label = step.kind if used[step.kind] == 1 else f"{step.kind}-{used[step.kind]}"
        lhs = T(step.lhs)
        rhs = step.rhs
        if display is not None and step.kind == "density":
            rhs = display
        elif display is not None and step.kind == "likelihood":
            over_i = [lim for lim in step.rhs.limits if lim[0] == step.data.get("i", i)]
            rhs = sp.Product(display.xreplace({d.observed: _sample(d)}), *over_i)
        elif display is not None and step.kind == "nll":
            rhs = -sp.log(display, evaluate=False)
        ctx = {
            "kind": step.kind,
            "label": _label(f"eq:{dist.name}:{label}"),
            "lhs": lhs,
            "same_lhs": previous_lhs is not None and step.lhs == previous_lhs,
            "lines": L(rhs),
        }
        data = step.data
        if step.kind == "likelihood":
            ctx.update(n=T(data.get("n", n)), i=T(data.get("i", i)))
        elif step.kind == "expand":
            ctx["assumptions"] = [
                var(by_symbol[s], "assumed")
                for s, _ in data.get("assumptions", ())
                if s in by_symbol and by_symbol[s].constraint != "real"
            ]
        elif step.kind == "link":
            param = data["param"]
            shown = param[CLASS_INDEX] if isinstance(param, sp.IndexedBase) else param
            ctx.update(
                param=T(param),
                raw=T(data["raw"]),
                link=data["link"],
                link_equation=equation(shown, data["inverse"], **settings),
                definitions=_primitive_definitions(data["inverse"], None, settings)
                + _primitive_definitions(step.rhs, data["inverse"], settings),
            )
        elif step.kind == "simplex":
            y = data["vector"]
            total = sp.Sum(y[CLASS_INDEX], (CLASS_INDEX, 1, N_CLASSES))
            ctx.update(vector=T(y), constraint=equation(total, 1, **settings))
        elif step.kind == "stable":
            ctx["definitions"] = _primitive_definitions(step.rhs, previous_rhs, settings)
        elif step.kind == "split":
            kept, dropped = data["kept"], data["dropped"]
            ctx.update(
                kept=L(kept, "+ C,"),
                dropped=L(dropped),
                dropped_zero=dropped == 0,
                learned=[T(t) for t in data["learned"]],
            )
        elif step.kind == "scale":
            split = next((s for s in d.steps if s.kind == "split"), None)
            before = split.data["dropped"] if split is not None else None
            ctx.update(
                scale=T(data["scale"]),
                unit_scale=data["scale"] == 1,
                loss=L(data["loss"]),
                dropped=L(data["dropped"]),
                dropped_zero=data["dropped"] == 0,
                dropped_changed=before is not None and sp.expand(data["dropped"] - before) != 0,
                split_shown=before is not None and before != 0,
            )
        steps.append(ctx)
        previous_lhs, previous_rhs = step.lhs, step.rhs

    standard = d.standard
    return {
        "name": dist.name,
        "title": dist.title,
        "observed": var(dist.observed, "observed"),
        "declared": [var(v, "declared") for v in dist.params],
        "learned": [var(v, "learned") for v in dist.learned],
        "fixed": [var(v, "fixed") for v in dist.fixed],
        "links": [
            {
                "param": T(dist.symbols[p]),
                "raw": T(dist.symbols[link.raw.name]),
                "equation": _link_equation(dist, link, settings),
            }
            for p, link in links.items()
        ],
        "loss_args": ", ".join(T(s) for s in (d.observed, *d.learned)),
        "nll_lhs": steps[-1]["lhs"] if steps else "",
        "standard": (
            {"id": standard.id, "title": standard.title, "reference": standard.reference}
            if standard is not None
            else None
        ),
        "references": list(dist.references),
        "steps": steps,
        "label": _label(dist.name),
        "k": T(CLASS_INDEX),
        "K": T(N_CLASSES),
    }


# ---------------------------------------------------------------------------- relative losses

#: The LaTeX of the relation a step states (``data["relation"]`` of a relative loss's steps).
RELATIONS = {"=": "=", "≥": r"\geq", "≠": r"\neq"}


def relative_context(d, notation: Notation | None = None) -> dict:
    """Plain data and math fragments for ``relative.tex.j2``: one loss that is not a likelihood
    (a :class:`~derive.relative.RelativeDerivation`), step by step (no prose)."""
    from .catalog import CATALOG
    from .spec import CLASS_INDEX, N_CLASSES

    notation = notation or Notation()
    rel = d.relative
    settings = {
        "ln_notation": notation.ln,
        "names": dict(notation.names),
        "density": None,
        "observed": (d.observed,),
        "learned": tuple(d.learned),
    }

    def T(expr):
        return tex(expr, **settings)

    ell = d.steps[0].lhs  # ℓ(y, θ)

    def shown_lhs(step):  # the loss itself reads ℓ(y, θ) on the left, after its definition
        return step.lhs if step.kind == "definition" else step.lhs.xreplace({d.loss: ell})

    column = max(_width(T(shown_lhs(s))) for s in d.steps if s.kind != "witness")

    def L(expr):
        room = notation.width - column
        return lines(expr, room - 2, first=room, **settings)

    def var(v, role):
        lo, hi = v.domain.support
        return {
            "name": v.name,
            "tex": T(v.symbol()),
            "role": role,
            "constraint": v.constraint,
            "vector": v.vector,
            "discrete": v.domain.discrete,
            "simplex": v.domain.simplex,
            "lo": T(lo),
            "next": T(lo + 1),
            "hi": T(hi),
            "unbounded": hi == sp.oo,
        }

    def point(values):
        out = []
        for symbol, value in values.items():
            vector = isinstance(value, tuple)
            shown = value if vector else (value,)
            out.append({"symbol": T(symbol), "vector": vector, "components": [T(c) for c in shown]})
        return out

    steps, previous_lhs, used = [], None, {}
    for step in d.steps:
        used[step.kind] = used.get(step.kind, 0) + 1
        label = step.kind if used[step.kind] == 1 else f"{step.kind}-{used[step.kind]}"
        lhs = shown_lhs(step)
        ctx = {
            "kind": step.kind,
            "note": step.note,
            "relation": RELATIONS[step.data["relation"]],
            "label": _label(f"eq:{rel.name}:{label}"),
            "lhs": T(lhs),
            "same_lhs": previous_lhs is not None and lhs == previous_lhs,
            "lines": L(step.rhs),
        }
        if step.kind == "witness" and step.data["relation"] == "≠":
            values = (step.lhs, step.rhs)
            ctx["points"] = [
                {
                    "at": point(at),
                    "lines": L(value),
                    "approx": None if value.is_Rational else f"{float(sp.N(value, 20)):.6g}",
                    "label": _label(f"eq:{rel.name}:{label}-{number}"),
                }
                for number, (at, value) in enumerate(
                    zip(step.data["points"], values, strict=True), 1
                )
            ]
        steps.append(ctx)
        previous_lhs = lhs

    entry = CATALOG.get(rel.relative_to)
    return {
        "name": rel.name,
        "title": rel.title,
        "label": _label(rel.name),
        "observed": var(rel.observed, "observed"),
        "learned": [var(v, "learned") for v in rel.params],
        "fixed": [var(v, "fixed") for v in rel.fixed],
        "onehot": rel.observed.vector,
        "outcomes": [T(value) for value in rel.outcomes],
        "relative_to": {
            "name": rel.relative_to,
            "title": entry.title if entry is not None else rel.relative_to,
            "label": _label(rel.relative_to),
        },
        "loss": T(ell),
        "normaliser": T(next(s.lhs for s in d.steps if s.kind == "normaliser")),
        "normalisable": d.normalisable,
        "notes": rel.notes,
        "references": list(rel.references),
        "steps": steps,
        "k": T(CLASS_INDEX),
        "K": T(N_CLASSES),
        "log": T(sp.log(sp.Symbol("x"))).removesuffix(" x"),
    }


# ---------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Section:
    """A section another module adds to the standalone document: a template in templates/ and a
    function from the document's derivations to that template's context (plain data and maths)."""

    template: str
    context: Callable[[list], dict]


#: Sections rendered after the distributions, in registration order (see :func:`register_section`).
SECTIONS: dict[str, Section] = {}


def register_section(template: str, context: Callable[[list], dict] = lambda ds: {}) -> Section:
    """Add ``template`` to every standalone document; ``context(derivations)`` gives its data.
    The template sees its data as ``section`` and the distributions as ``distributions``."""
    section = Section(template, context)
    SECTIONS[template] = section
    return section


def _is_relative(d) -> bool:
    from .relative import RelativeDerivation

    return isinstance(d, RelativeDerivation)


def fragment(d, notation: Notation | None = None) -> str:
    """The derivation of one entry: text lines and an amsmath ``align``, for ``\\input{}``.
    A loss that is not a likelihood (derive.relative) is written by ``relative.tex.j2``."""
    if _is_relative(d):
        return render_template("relative.tex.j2", r=relative_context(d, notation), standalone=False)
    return render_template("fragment.tex.j2", d=fragment_context(d, notation), standalone=False)


def document(derivations: Iterable, notation: Notation | None = None) -> str:
    """The standalone document: the general argument, a section per distribution, a summary,
    then a section on the losses that are not likelihoods (those of ``derivations`` that are
    derive.relative derivations) and the registered sections."""
    derivations = list(derivations)
    relatives = [d for d in derivations if _is_relative(d)]
    derivations = [d for d in derivations if not _is_relative(d)]
    notation = notation or Notation()
    contexts = [fragment_context(d, notation) for d in derivations]
    from . import __version__
    from .cli import progress

    sections = [
        {"template": name, "data": SECTIONS[name].context(derivations)}
        for name in progress(list(SECTIONS), "building section")
    ]

    return render_template(
        "document.tex.j2",
        distributions=contexts,
        relatives=[relative_context(d, notation) for d in relatives],
        sections=sections,
        version=__version__,
        log=tex(sp.log(sp.Symbol("x")), ln_notation=notation.ln).removesuffix(" x"),
    )


# ---------------------------------------------------------------------------- PDF


def tex_engine() -> list[str]:
    """The command that turns a .tex file into a PDF: latexmk if installed, else pdflatex."""
    if shutil.which("latexmk"):
        return ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error"]
    if shutil.which("pdflatex"):
        return ["pdflatex", "-interaction=nonstopmode", "-halt-on-error"]
    raise UserError(
        "--pdf needs a TeX engine: neither pdflatex nor latexmk is on PATH "
        "(install TeX Live, e.g. `apt-get install texlive-latex-recommended`)"
    )


def _first_error(log: str) -> str:
    lines_ = log.splitlines()
    for number, line in enumerate(lines_):
        if line.startswith("!"):
            where = next((ln for ln in lines_[number + 1 : number + 4] if ln.startswith("l.")), "")
            return f"{line.lstrip('! ')} {where}".strip()
    return "see the log"


def build_pdf(source: Path, report: Callable[[str], None] = lambda message: None) -> Path:
    """Compile ``source`` (a standalone .tex file) to a PDF next to it.

    The engine runs in a temporary directory, so a failure leaves no partial PDF; the PDF is then
    moved into place.  Two pdflatex passes resolve the references (latexmk decides by itself).
    """
    command = tex_engine()
    source = Path(source)
    target = source.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="derive-tex-") as tmp:
        work = Path(tmp) / source.name
        shutil.copyfile(source, work)
        passes = 1 if command[0] == "latexmk" else 2
        for number in range(1, passes + 1):
            report(f"{command[0]} {source.name} (pass {number}/{passes})")
            result = subprocess.run(
                [*command, work.name],
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
            )
            log_path = work.with_suffix(".log")
            log = log_path.read_text(errors="replace") if log_path.exists() else result.stdout
            if result.returncode != 0 or not work.with_suffix(".pdf").exists():
                kept = source.with_suffix(".log")
                try:
                    kept.write_text(log)
                except OSError:
                    kept = None
                where = f"; the log is {kept}" if kept else ""
                raise UserError(f"{command[0]} failed on {source}: {_first_error(log)}{where}")
        try:
            os.replace(work.with_suffix(".pdf"), target)
        except OSError:
            try:
                shutil.move(str(work.with_suffix(".pdf")), target)
            except OSError as exc:
                raise UserError(f"cannot write {target}: {exc.strerror}") from None
    return target


# ---------------------------------------------------------------------------- `derive latex`


def derivations(names: Iterable[str]) -> list:
    """The derivations of ``names``, with progress on a terminal (derivations can take seconds)."""
    from .catalog import get
    from .cli import progress
    from .derivation import derive_cached

    names = list(names)
    dists = [get(name) for name in names]  # unknown names fail before any work
    return [derive_cached(dist) for dist in progress(dists, "deriving")]


def relative_derivations(names: Iterable[str]) -> list:
    """The derivations of the losses that are not likelihoods (derive.relative) among ``names``."""
    from .relative import RELATIVE

    return [RELATIVE[name].derive() for name in names]


def _notation(args) -> Notation:
    names = {}
    for item in args.symbol or ():
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise UserError(f"--symbol {item!r}: expected NAME=LATEX, e.g. mu=\\hat{{y}}")
        names[name] = value
    return Notation(ln=args.ln, names=names)


def _say(message: str) -> None:
    print(f"derive: {message}", file=sys.stderr, flush=True)


def _latex(args):
    from .catalog import CATALOG
    from .cli import write_output
    from .relative import RELATIVE

    if args.all and args.names:
        raise UserError("give NAME... or --all, not both")
    if not args.all and not args.names:
        raise UserError("give at least one NAME, or --all (see `derive list`)")
    if args.pdf and args.output is None:
        raise UserError("--pdf needs -o FILE.tex: the PDF is written next to it")
    if args.pdf:
        tex_engine()  # fail before deriving anything when there is no engine
    names = list(CATALOG) + list(RELATIVE) if args.all else list(dict.fromkeys(args.names))
    notation = _notation(args)
    catalog = [n for n in names if n not in RELATIVE]  # unknown names fail here, before work
    relative = [n for n in names if n in RELATIVE]
    found = dict(zip(catalog, derivations(catalog), strict=True))
    found.update(zip(relative, relative_derivations(relative), strict=True))
    ds = [found[name] for name in names]  # in the order given
    if args.standalone or args.pdf:
        text = document(ds, notation)
    else:
        text = "\n".join(fragment(d, notation) for d in ds)
    if not args.pdf:
        return text
    write_output(text, args.output)
    pdf = build_pdf(Path(args.output), _say if sys.stderr.isatty() else lambda message: None)
    _say(f"wrote {pdf}")
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
    p.add_argument("--ln", action="store_true", help="write natural logarithms as \\ln")
    p.add_argument(
        "--symbol",
        action="append",
        metavar="NAME=LATEX",
        help="print a variable under another name, e.g. --symbol 'mu=\\hat{y}' (repeatable)",
    )
    p.set_defaults(handler=_latex)
