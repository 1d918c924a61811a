"""LaTeX for papers: the one configured printer, the one Jinja environment, and `derive latex`.

Python passes math fragments from :class:`Printer` and plain data to the templates in
``templates/*.tex.j2``; every word of prose lives in the templates.  The printer adds what a paper
needs on top of SymPy's: terms in the order a derivation reads ((y − μ)², not (−μ + y)²; the terms
with a learned parameter before the constants), the observed variable first in products, ``\\log x``
without parentheses for atoms, ``\\ln`` on request, symbol names (μ → ŷ), nested sums and products,
and long expressions broken across lines (:func:`lines`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar

import sympy as sp
from sympy.printing.latex import LatexPrinter

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


def fraction(expr) -> tuple:
    """(numerator, denominator) of a product, unevaluated: SymPy's ``fraction(expr, exact=True)``
    without its ``is_constant`` test (seconds over a document), which only numbers pass here."""
    numer, denom = [], []
    for term in sp.Mul.make_args(expr):
        if term.is_commutative and (term.is_Pow or isinstance(term, sp.exp)):
            base, ex = term.as_base_exp()
            if ex.is_negative:
                if ex is sp.S.NegativeOne:
                    denom.append(base)
                elif ex.is_number:
                    denom.append(sp.Pow(base, -ex))
                else:
                    numer.append(term)
            else:
                numer.append(term)
        elif term.is_Rational and not term.is_Integer:
            if term.p != 1:
                numer.append(term.p)
            denom.append(term.q)
        else:
            numer.append(term)
    return sp.Mul(*numer, evaluate=False), sp.Mul(*denom, evaluate=False)


def _flat_factors(expr) -> list:
    """The factors of a product, nested unevaluated products flattened."""
    out = []
    for a in expr.args:
        out.extend(_flat_factors(a) if isinstance(a, sp.Mul) else [a])
    return out


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
        self._powered: set[int] = set()  # sums raised to a power that is not an integer
        self._number_first = False
        self._size = None  # while breaking the inside of cases: text style (see _width)

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
        if args and isinstance(args[0], sp.Tuple):  # several observed: p(a, b | θ)
            args = (*args[0], *args[1:])
            shown = [self._print(a) for a in args]
            n = len(expr.args[1][0])
            shown = [", ".join(shown[:n]), *shown[n:]]
        else:
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
        if self._number_first:  # 1 + x²/ν under a power: the number first, as textbooks write
            key = (negative, not term.is_number, not self._has_observed(term))
        if not outer:
            return key
        return (not (self._has_learned(term) or term.is_Rational), *key)

    def _as_ordered_terms(self, expr, order=None):
        terms = (
            list(expr.args) if not isinstance(expr, sp.Add) else expr.as_ordered_terms(order=None)
        )
        outer = id(expr) in self._outer
        self._number_first = id(expr) in self._powered
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
        """Numbers, a density p(y | θ), then factors of the observed variable alone (y, 1 − y,
        Σ y_k), then the rest."""

        def observed_only(f):
            return self._is_observed_factor(f) or (
                self._has_observed(f) and not self._has_learned(f)
            )

        def rank(f):
            if f.is_number:
                return 0
            if type(f).__name__ == "_Density":  # ∫ p(y | θ) T(y) dy: the density first
                return 0.5
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

    def _print_Add(self, expr, order=None):
        """SymPy's sum, its terms signed as the line breaker signs them (:func:`_signed`)."""
        out = []
        for sign, term in _signed(self, expr):
            text = self._print(term)
            bracket = self._needs_add_brackets(term)
            out.append(sign + (r"\left(%s\right)" % text if bracket else text))
        return " ".join(out)

    def _print_Mul(self, expr):
        if not isinstance(expr, sp.Mul) or not expr.is_commutative:
            return super()._print_Mul(expr)
        flat = _flat_factors(expr)
        if sp.S.NegativeOne in flat:  # an unevaluated −x (a declaration as written)
            others = [a for a in flat if a is not sp.S.NegativeOne]
            odd = (len(flat) - len(others)) % 2
            positive = others[0] if len(others) == 1 else sp.Mul(*others, evaluate=False)
            if odd and isinstance(positive, sp.Piecewise):
                return self._print(negated(positive))
            flipped = _sum_negated(positive) if odd else None
            if flipped is not None:  # −(−a − b) log x reads (a + b) log x
                return self._print(flipped)
            text = self._print(positive)
            text = r"\left(%s\right)" % text if positive.is_Add and odd else text
            return ("- " if odd else "") + text
        if expr.could_extract_minus_sign():
            positive = -expr
            if isinstance(positive, sp.Piecewise):  # −{a, b} reads {−a, −b}
                return self._print(negated(positive))
            text = self._print(positive)
            return "- " + (r"\left(%s\right)" % text if positive.is_Add else text)
        coeff, rest = expr.as_coeff_Mul()
        numer, denom = fraction(rest)
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
        if isinstance(expr.base, sp.Add) and not expr.exp.is_integer:
            self._powered.add(id(expr.base))
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

    def _print_beta(self, expr, exp=None):
        """B(a, b) with its arguments as maths (SymPy's printer writes them as plain text)."""
        args = ", ".join(self._print(a) for a in expr.args)
        name = r"\operatorname{B}" if exp is None else r"\operatorname{B}^{%s}" % exp
        return r"%s\left(%s\right)" % (name, args)

    def _print_atan2(self, expr, exp=None):
        r"""atan2(a, b) as a name and its arguments, which the line breaker can break between
        (SymPy's printer writes \operatorname{atan}_{2}{…}, one unbreakable piece)."""
        args = ", ".join(self._print(a) for a in expr.args)
        name = r"\operatorname{atan2}" if exp is None else r"\operatorname{atan2}^{%s}" % exp
        return r"%s\left(%s\right)" % (name, args)

    def _print_Indexed(self, expr):
        base = self._print(expr.base)
        index = "".join(self._print(i) for i in expr.indices)
        subscript = re.fullmatch(r"(.*)_\{([^{}]*)\}", base)
        if subscript:  # y_i indexed by k reads y_{ik}; log_σ by k log_{σ k}; y_lower y_{lower,k}
            sub = subscript.group(2)
            gap = " " if re.search(r"\\[A-Za-z]+$", sub) else ""
            gap = "," if re.search(r"(^|[ ,])[A-Za-z]{2,}$", sub) else gap
            return "%s_{%s%s%s}" % (subscript.group(1), sub, gap, index)
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
        # a name from Python may hold anything: only its letters, digits and _ reach the maths
        name = "".join(c for c in expr.name if c.isalnum() or c == "_") or "x"
        if not all(ord(c) < 128 for c in name):  # ℓ, display-only names
            return "".join(_unicode_tex(c) or c for c in name)
        stem, supers, subs = self._split_super_sub(name)
        if len(stem) > 1 and not stem.startswith("\\"):  # multi-letter names: upright
            stem = r"\mathrm{%s}" % stem
        return stem + "".join(
            f"{mark}{{{_joined(parts)}}}" for mark, parts in (("^", supers), ("_", subs)) if parts
        )

    def _print_Piecewise(self, expr):
        return cases([([self._print(e)], self.condition(c)) for e, c in expr.args])

    def condition(self, cond) -> str:
        """The condition of a case: "for y = 0", "otherwise"."""
        return r"\text{otherwise}" if cond == sp.true else r"\text{for}\: %s" % self._print(cond)

    def _needs_mul_brackets(self, expr, first=False, last=False) -> bool:
        # Γ(Σ α_j) carries its own parentheses: SymPy brackets any factor that contains a Σ.
        if isinstance(expr, sp.Function) and not isinstance(expr, sp.log):
            return False
        return super()._needs_mul_brackets(expr, first=first, last=last)


def negated(expr: sp.Piecewise) -> sp.Piecewise:
    """−{a if c; b otherwise} as {−a if c; −b otherwise} (the minus taken inside the cases)."""
    return sp.Piecewise(*((-e, c) for e, c in expr.args))


def cases(rows, below: bool = False) -> str:
    """A ``cases`` environment from (lines of a case, its condition) pairs: a case of several
    lines as a top-aligned column whose continuation lines are indented.  ``below`` (a narrow
    column): no column of conditions; each condition follows its case on the same line where
    the case is one short line (the condition then starts with ``,``), else on a line of its
    own under it."""
    out = []
    for shown, condition in rows:
        if below and condition.startswith(","):
            shown = [shown[0] + condition]
        elif below:
            shown = [*shown[:-1], shown[-1] + ",", r"\quad " + condition]
        if len(shown) > 1:
            body = r" \\ \quad {}".join(shown)
            shown = [r"\begin{array}[t]{@{}l@{}} %s \end{array}" % body]
        out.append(shown[0] if below else "%s & %s" % (shown[0], condition))
    return r"\begin{cases} %s \end{cases}" % r" \\ ".join(out)


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


#: The width an environment adds around its columns (a brace), and between two columns.
_ENVIRONMENTS = {"cases": (1.0, 1.4), "array": (0.0, 0.0), "aligned": (0.0, 0.0)}
#: The environments whose cells TeX sets in text style.
_TEXT_STYLE = {"cases", "array"}


def _split_top(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` (``\\\\`` or ``&``) outside braces and environments."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text.startswith(r"\begin{", i):
            depth += 1
        elif text.startswith(r"\end{", i):
            depth -= 1
        elif text[i] in "{}":
            depth += 1 if text[i] == "{" else -1
        elif depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i = start = i + len(separator)
            continue
        elif text[i] == "\\":
            i += 1  # an escaped character (\{, \&) or the first letter of a command
        i += 1
    return [*parts, text[start:]]


def _environment(text: str, i: int, size: float | None = None) -> tuple[float, int]:
    """The width of the environment ``\\begin{name}…\\end{name}`` starting at ``text[i]`` (its
    widest row, column by column), and the index after it."""
    name = re.match(r"\\begin\{(\w+)\}(\[\w\]|)(\{[^{}]*\}|)", text[i:])
    start = i + len(name.group(0))
    depth, j = 1, start
    while depth and j < len(text):
        if text.startswith(r"\begin{", j):
            depth += 1
        elif text.startswith(r"\end{", j):
            depth -= 1
            if not depth:
                break
        j += 1
    body, end = text[start:j], j + len(r"\end{%s}" % name.group(1))
    brace, gap = _ENVIRONMENTS.get(name.group(1), (0.0, 0.0))
    inner = 1.0 if name.group(1) in _TEXT_STYLE else size  # cases: its cells in text style
    columns: list[float] = []
    for row in _split_top(body, r"\\"):
        for k, cell in enumerate(_split_top(row, "&")):
            if k >= len(columns):
                columns.append(0.0)
            columns[k] = max(columns[k], _width(cell, inner))
    return brace + sum(columns) + gap * max(len(columns) - 1, 0), end


#: Inside ``cases`` maths is set in text style: a fraction's numerator and denominator one size
#: smaller (script, then scriptscript, never smaller).  The sizes are
#: widths relative to text style, and ``_PAD`` the width a text-style fraction adds (its null
#: delimiters), calibrated against TeX: the width of every case line of the catalog and the
#: composites set in text style, at most the estimate (median 0.82 of it, as for display maths).
_SMALLER = {1.0: 0.78, 0.78: 0.6}
_PAD = 0.6


def _width(text: str, size: float | None = None) -> float:
    """A rough width of LaTeX maths, in characters (enough to decide line breaks): in display
    style, or with ``size`` (1.0 for text style, as inside ``cases``; 0.7 and 0.5 for the
    script sizes it nests) in text style, in units of that size."""
    width, i = 0.0, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if text.startswith(r"\begin{", i):
                shown, i = _environment(text, i, size)
                width += shown
                continue
            m = re.match(r"\\([A-Za-z]+|.)", text[i:])
            command, i = m.group(1), i + len(m.group(0))
            if command in _ZERO_WIDTH:
                continue
            if command in _SPACES:
                width += _SPACES[command]
            elif command in ("frac", "tfrac", "dfrac", "binom"):
                a, i = _group(text, i)
                b, i = _group(text, i)
                if size is None:
                    width += max(_width(a), _width(b)) + 0.5
                else:
                    inner = _SMALLER.get(size, size)
                    width += inner / size * max(_width(a, inner), _width(b, inner)) + _PAD
            elif command in ("operatorname", "mathrm", "text", "texttt", "mathit"):
                a, i = _group(text, i)
                width += 0.85 * len(a)
            elif command in ("sqrt",):
                a, i = _group(text, i)
                width += _width(a, size) + 1.5
            elif command in ("sum", "prod"):
                width += 2.0
                for mark in "_^":
                    if i < len(text) and text[i] == mark:
                        _, i = _group(text, i + 1)
            elif command in _NAMED:
                width += len(command)
            elif command in ("hat", "bar", "tilde", "mathcal", "mathbb", "boldsymbol"):
                a, i = _group(text, i)
                width += _width(a, size)
            else:
                width += 1.0
        elif c in "^_":
            a, i = _group(text, i + 1)
            width += 0.6 * _width(a, size)
        elif c in "{} ":
            i += 1
        elif c in "+-=":
            width += 1.6
            i += 1
        else:
            width += 1.0
            i += 1
    return width


#: Points per unit of :func:`_width` in a 10 pt article's display maths (calibrated on the
#: catalog: the overfull-box test in tests/test_latex_layout.py keeps it honest).
PT_PER_UNIT = 7.5

#: The line width of each column preset, in points: one column of a standard 10 pt article
#: (\\textwidth) and one column of ``\\documentclass[twocolumn]{article}`` (\\columnwidth).
COLUMNS = {1: 345.0, 2: 229.5}

#: The width (in :func:`_width` units) of a derivation line in a one-column article.
WIDTH = COLUMNS[1] / PT_PER_UNIT


def _measure(printer: Printer, text: str) -> float:
    """:func:`_width` in the style the printer is breaking for (text style inside ``cases``)."""
    return _width(text, printer._size)


def _signed(printer: Printer, expr) -> list[tuple[str, object]]:
    """The terms of a sum in print order, with the sign each is written with."""
    out = []
    for i, term in enumerate(printer._as_ordered_terms(expr)):
        sign = ""
        flipped = _sum_negated(-term) if term.could_extract_minus_sign() else None
        if flipped is not None:  # −(−a − b) log x is written + (a + b) log x
            sign, term = ("+ " if i else ""), flipped
        elif i and term.could_extract_minus_sign():
            sign, term = "- ", -term
        elif i:
            sign = "+ "
        out.append((sign, term))
    return out


def _wrapped(opener: str, inner: list[str], closer: str) -> list[str]:
    """``inner`` between an opening and a closing bracket that may fall on different lines."""
    if len(inner) == 1:
        return [opener + inner[0] + closer]
    return [opener + inner[0], *inner[1:-1], inner[-1] + closer]


def _breaking_factor(printer: Printer, expr):
    """The factor of a product to set on lines of its own: the widest exponential, logarithm,
    sum, Σ, integral, expectation or stable primitive (a normaliser stays in front of it)."""
    best, widest = None, 0.0
    for factor in expr.args:
        primitive = isinstance(factor, sp.Function) and hasattr(type(factor), "_latex")
        primitive = primitive or type(factor).__name__ == "Expectation"  # 𝔼_P[…], bracketed
        if primitive or isinstance(
            factor, (sp.exp, sp.log, sp.Add, sp.Sum, sp.Product, sp.Integral)
        ):
            width = _measure(printer, printer._print(factor))
            if width > widest:
                best, widest = factor, width
    return best


def _function_name(printer: Printer, f) -> str:
    name = r"\exp" if isinstance(f, sp.exp) else printer._print(sp.log(sp.Symbol("x")))
    return name.removesuffix(" x")


def _atoms(printer: Printer, expr, room: float) -> list[str]:
    """``expr`` as pieces of LaTeX that may be set on separate lines, each (where it can be)
    no wider than ``room``: the terms of a sum; the factors of a product around its widest
    exponential, logarithm, sum or Σ; the inside of those (between ``\\Bigl(`` and
    ``\\Bigr)``)."""
    whole = printer._print(expr)
    if _measure(printer, whole) <= room:
        return [whole]
    if isinstance(expr, sp.Add):
        out = []
        for sign, term in _signed(printer, expr):
            if printer._needs_add_brackets(term):
                parts = [r"\left(%s\right)" % printer._print(term)]
            else:
                parts = _atoms(printer, term, room - 1)
            out += [sign + parts[0], *parts[1:]]
        return out
    if isinstance(expr, (sp.Sum, sp.Product)):
        body = expr.function
        inner = _atoms(printer, body, room - 2)
        if isinstance(body, sp.Add):
            return _wrapped(printer.limits(expr) + r" \Bigl(", inner, r"\Bigr)")
        return [printer.limits(expr) + " " + inner[0], *inner[1:]]
    if isinstance(expr, sp.Piecewise):
        return [_broken_cases(printer, expr, room)]
    if isinstance(expr, sp.Mul) and expr.could_extract_minus_sign():
        positive = -expr
        if isinstance(positive, sp.Piecewise):
            return [_broken_cases(printer, negated(positive), room)]
        inner = _atoms(printer, positive, room - 2)
        if isinstance(positive, sp.Add):
            return _wrapped(r"- \Bigl(", inner, r"\Bigr)")
        return ["- " + inner[0], *inner[1:]]
    if isinstance(expr, (sp.exp, sp.log)):
        arg = expr.args[0]
        if isinstance(arg, sp.Piecewise):  # log {…}: the cases need no parentheses
            name = _function_name(printer, expr)
            return [name + " " + _broken_cases(printer, arg, room - _measure(printer, name))]
        breakable = (sp.Add, sp.Mul, sp.Sum, sp.Function, sp.Min, sp.Max)
        if not isinstance(arg, breakable) or _measure(printer, printer._print(arg)) <= 8:
            return [whole]
        inner = _atoms(printer, arg, room - 3)
        if len(inner) == 1:  # nothing to break inside: as printed, log x without brackets
            return [whole]
        return _wrapped(_function_name(printer, expr) + r"\Bigl(", inner, r"\Bigr)")
    if type(expr).__name__ == "logsumexp":
        f, k, K = expr.args
        limits = printer.limits(sp.Sum(f, (k, 1, K)))
        inner = _atoms(printer, f, room - 6)
        return _wrapped(
            r"%s %s \exp\Bigl(" % (_function_name(printer, sp.log(k)), limits), inner, r"\Bigr)"
        )
    if type(expr).__name__ == "Expectation":  # 𝔼_P[…] of derive.infotheory
        stat, under = expr.args
        inner = _atoms(printer, stat, room - 4)
        return _wrapped(r"\mathbb{E}_{%s}\Bigl[" % under.name, inner, r"\Bigr]")
    if isinstance(expr, sp.Integral) and len(expr.limits) == 1 and len(expr.limits[0]) == 3:
        y, lo, hi = expr.limits[0]  # as the printer writes it, \int\limits_a^b f\, dy
        body = expr.function
        opener = r"\int\limits_{%s}^{%s} " % (printer._print(lo), printer._print(hi))
        closer = r"\, d%s" % printer._print(y)
        if isinstance(body, sp.Add):
            opener, closer = opener + r"\Bigl(", r"\Bigr)" + closer
        return _wrapped(opener, _atoms(printer, body, room - 4), closer)
    if isinstance(expr, (sp.Function, sp.Min, sp.Max)) and expr.args:
        broken = _function_atoms(printer, expr, room)
        if broken is not None:
            return broken
    if isinstance(expr, sp.Pow) and expr.exp == -1 and isinstance(expr.base, sp.Add):
        return _wrapped(r"\Bigl(", _atoms(printer, expr.base, room - 3), r"\Bigr)^{-1}")
    if isinstance(expr, sp.Mul) and any(isinstance(a, sp.Mul) for a in expr.args):
        flat = _flat_factors(expr)  # an unevaluated product of products: one level
        others = [a for a in flat if a is not sp.S.NegativeOne]
        odd = (len(flat) - len(others)) % 2
        inner = _atoms(printer, sp.Mul(*others, evaluate=False), room - 1)
        return ["- " + inner[0], *inner[1:]] if odd else inner
    if isinstance(expr, sp.Mul):
        factor = _breaking_factor(printer, expr)
        if factor is None:
            return _fraction_atoms(printer, expr, room, whole)
        others = [a for a in expr.args if a is not factor]
        rest = others[0] if len(others) == 1 else expr.func(*others, evaluate=False)
        inner = _atoms(printer, factor, room - 2)
        if isinstance(factor, sp.Add) and len(inner) == 1:
            inner = [r"\left(%s\right)" % inner[0]]
        elif isinstance(factor, sp.Add):
            inner = _wrapped(r"\Bigl(", inner, r"\Bigr)")
        if rest == 1:
            return inner
        front = printer._print(rest)
        if isinstance(rest, sp.Add):  # (ν/2 + 1/2) log(…), never ν/2 + 1/2 log(…)
            front = r"\left(%s\right)" % front
        reciprocal = any(
            isinstance(f, sp.Pow) and f.exp == -1 and isinstance(f.base, sp.Add)
            for f in sp.Mul.make_args(rest)
        )
        limit = room / 2 if reciprocal else room  # 1/(a + b) …: the sum on lines of its own
        if _measure(printer, front) > limit:
            front = _atoms(printer, rest, limit)
            if isinstance(rest, sp.Add) and len(front) > 1:  # (a + b) c, never a + b c
                front = _wrapped(r"\Bigl(", front, r"\Bigr)")
            return [*front, *inner]
        if _measure(printer, front + " " + inner[0]) <= room:  # a product is not broken
            return [front + " " + inner[0], *inner[1:]]  # between its factors where it fits
        return [front, *inner]
    return [whole]


def _function_atoms(printer: Printer, expr, room: float) -> list[str] | None:
    """A function of wide arguments, ``f(a, b)``, broken between and inside its arguments when it
    prints as a name and its arguments in parentheses; a primitive that prints as its definition
    (log(e^a − e^b)) broken as that definition; None when neither holds."""
    if all(_is_atom(a) or a.is_number for a in expr.args):
        return None  # σ(z) has nothing to break
    marks = sp.symbols("X0:%d" % len(expr.args))  # short: e^{X_0}, never \exp(…)
    try:
        shown = printer._print(expr.func(*marks))
    except Exception:  # a function that refuses plain symbols
        return None
    texts = [printer._print(m) for m in marks]
    listed = _listed(shown, texts)
    if listed is not None:
        head = shown[: shown.rindex(r"\left(")]
        for k, arg in enumerate(expr.args):  # an argument outside the parentheses, I_x(a, b)
            if k not in listed:
                head = head.replace(texts[k], printer._print(arg))
        args = ", ".join(printer._print(expr.args[k]) for k in listed)
        if head != shown[: shown.rindex(r"\left(")] and (
            head + r"\left(%s\right)" % args != printer._print(expr)
        ):
            return None  # the head printed differently with its own argument
        inner = []
        for n, k in enumerate(listed):
            parts = _atoms(printer, expr.args[k], room - 3)
            inner += [*parts[:-1], parts[-1] + ("," if n < len(listed) - 1 else "")]
        return _wrapped(head + r"\Bigl(", inner, r"\Bigr)")
    rewrite = getattr(expr.func, "_eval_rewrite_as_exp", None)
    if rewrite is None or isinstance(expr, (sp.exp, sp.log)):
        return None
    with sp.evaluate(False):
        definition = rewrite(expr, *marks)
    if printer._print(definition) != shown:
        return None
    with sp.evaluate(False):
        definition = rewrite(expr, *expr.args)
    return _atoms(printer, definition, room)


def _listed(shown: str, texts: list[str]) -> list[int] | None:
    """The arguments (their indices, in print order) that ``shown``, a function printed with the
    placeholders ``texts``, lists in the parentheses it ends with, when each placeholder occurs
    once (``I_{X_2}(X_0, X_1)``: [0, 1]); None when it does not end with such parentheses."""
    if not shown.endswith(r"\right)") or r"\left(" not in shown:
        return None
    if any(shown.count(t) != 1 for t in texts):
        return None
    inside = shown[shown.rindex(r"\left(") + len(r"\left(") : -len(r"\right)")]
    parts = inside.split(", ")
    if not parts or any(p not in texts for p in parts):
        return None
    return [texts.index(p) for p in parts]


#: A fraction no wider than this (printer units) is never split into a coefficient and a factor.
_SHORT = 8.0


def _fraction_atoms(printer: Printer, expr, room: float, whole: str) -> list[str]:
    """A wide product without a sum to break: the factors free of the observed variable over
    the denominator, then the others ("Γ(…)/(…) · (1 + …)^(…)"); the reciprocal of a wide sum or
    product as that sum, broken, to the power −1, and that product as the product of the
    reciprocals of its factors."""
    if _measure(printer, whole) <= _SHORT:  # (y − μ)²/(2σ²) stays one piece
        return [whole]
    numer, denom = fraction(expr)
    if isinstance(denom, sp.Add) and numer == 1:
        inner = _atoms(printer, denom, room - 3)
        if len(inner) > 1:
            return _wrapped(r"\Bigl(", inner, r"\Bigr)^{-1}")
    if isinstance(denom, sp.Mul) and numer == 1:  # 1/(a b) as 1/a · 1/b, each whole if it fits
        out = []
        for f in printer._ordered_factors(list(denom.args)):
            reciprocal = sp.Pow(f, -1, evaluate=False)
            text = printer._print(reciprocal)
            out += _atoms(printer, reciprocal, room) if _measure(printer, text) > room else [text]
        return out
    factors = [f for f in sp.Mul.make_args(numer) if f != 1]
    front = [f for f in factors if not printer._has_observed(f)]
    back = [f for f in factors if printer._has_observed(f)]
    if not back and isinstance(denom, sp.Add):  # no observed variable known: 1/(a + b) · rest
        front, back = [], front
    if not back and isinstance(denom, sp.Mul):  # τ/(σ (a + b)) as τ · 1/σ · 1/(a + b)
        reciprocal = sp.Pow(denom, -1, evaluate=False)
        rest = _fraction_atoms(printer, reciprocal, room, printer._print(reciprocal))
        return [printer._print(numer), *rest]
    if not back or not (front or denom != 1):
        return [whole]
    head_expr = sp.Mul(*front, evaluate=False) / denom
    head = printer._print(head_expr)
    heads = _atoms(printer, head_expr, room) if _measure(printer, head) > room else [head]
    tail = []
    for factor in back:
        text = printer._print(factor)
        if isinstance(factor, sp.Add):
            text = r"\left(%s\right)" % text
        tail.append(text)
    return [*heads, *tail]


#: A case narrower than this fraction of the line beside its condition: the conditions go on
#: lines of their own, under their cases.
_CASE_ROOM = 0.55


def _broken_cases(printer: Printer, expr: sp.Piecewise, room: float) -> str:
    """The cases of ``expr`` no wider than ``room`` where they can be: each case broken into
    lines beside its condition, or, where that leaves a case too little room, under it.  The
    cases are measured in text style, as TeX sets them (smaller fractions, :func:`_width`)."""
    outer, printer._size = printer._size, 1.0
    try:
        conditions = [printer.condition(c) for _, c in expr.args]
        brace, gap = _ENVIRONMENTS["cases"]
        beside = room - brace - gap - max(_measure(printer, c) for c in conditions)
        below = beside < _CASE_ROOM * room
        case_room = room - brace - 1.0 if below else beside
        rows = []
        for (e, _), c in zip(expr.args, conditions, strict=True):
            shown = _pack(printer, e, case_room - 1.0, case_room)
            if below and len(shown) == 1 and _measure(printer, shown[0] + c) + 2.5 <= case_room:
                c = r", \quad " + c  # a short case keeps its condition on its line
            rows.append((shown, c))
    finally:
        printer._size = outer
    if not below and all(len(shown) == 1 for shown, _ in rows):
        return cases(rows)
    return cases(rows, below=below)


#: The brackets :func:`_atoms` opens with a line break allowed after them (never ``\\left``).
_OPENERS = (r"\Bigl(", r"\Bigl[")


def _openings(text: str) -> list[int]:
    """The indices just after each ``\\Bigl(`` of ``text`` outside braces, ``\\left…\\right``
    and environments: where a line may end inside the brackets it opens."""
    out, depth, i = [], 0, 0
    while i < len(text):
        if text.startswith((r"\begin{", r"\left"), i):
            depth += 1
        elif text.startswith((r"\end{", r"\right"), i):
            depth -= 1
        elif text[i] in "{}":
            depth += 1 if text[i] == "{" else -1
        elif depth == 0 and text.startswith(_OPENERS, i):
            i += len(_OPENERS[0])
            out.append(i)
            continue
        if text[i] == "\\":
            i += 1  # an escaped character or the first letter of a command
        i += 1
    return out


#: Nested brackets an atom must open before its first breakable content to be broken after them.
_CHAIN = 3


def _split_openers(atom: str, room: float, size: float | None = None) -> list[str]:
    """An atom wider than ``room`` that opens a chain of brackets before any content it could
    be broken at (−log(exp(−softplus(−min(Σ …): the heads on a line of their own, the content
    on the next."""
    cuts = _openings(atom)
    if _width(atom, size) <= room or len(cuts) < _CHAIN or cuts[-1] >= len(atom):
        return [atom]
    return [atom[: cuts[-1]], atom[cuts[-1] :].lstrip()]


def _pack(printer: Printer, expr, width: float, first: float) -> list[str]:
    """The atoms of ``expr`` packed greedily into lines: ``first`` wide, then ``width``; an atom
    wider than a line broken after the brackets it opens (:func:`_split_openers`)."""
    whole = printer._print(expr)
    if _measure(printer, whole) <= first:
        return [whole]
    out, current, room = [], "", first
    narrow = min(first, width)
    atoms = _atoms(printer, expr, narrow)
    for atom in [piece for a in atoms for piece in _split_openers(a, narrow, printer._size)]:
        if current and _measure(printer, current + atom) > room:
            out.append(current.rstrip())
            current, room = "", width
        current += atom if atom.endswith(_OPENERS) else atom + " "  # rejoined as it was
    out.append(current.rstrip())
    return out


def lines(expr, width: float = WIDTH, first: float | None = None, **settings) -> list[str]:
    """``expr`` as LaTeX lines no wider than ``width`` (``first``: the room on the first line);
    breaks fall between the terms of a sum, inside the parentheses of a Σ over a sum, of an
    exponential or a logarithm of a sum, or of a bracketed sum.  Continuation lines start with
    their sign; a template joins them with ``\\\\ &\\quad {}``."""
    printer = Printer(settings)
    expr = sp.sympify(expr)
    printer._outer = {id(a) for a in _outer_adds(expr)}
    return _pack(printer, expr, width, width if first is None else first)


def _joined(parts) -> str:
    """The parts of a sub- or superscript: y_{ik} for letters, y_{lower,i} where a part is a
    word (set as "loweri" without the comma)."""
    return ("," if any(len(p) > 1 and p.isalpha() for p in parts) else " ").join(parts)


def _sum_negated(product):
    """−``product`` written with the sign moved into a sum of negative terms among its factors:
    (a + b)·x for −((−a − b)·x); None where it has no such factor, or where the result would
    not be a product without a sign of its own."""
    if not isinstance(product, sp.Mul):
        return None
    for f in product.args:
        if f.is_Add and all(t.could_extract_minus_sign() for t in f.args):
            flipped = sp.Mul(*(-g if g is f else g for g in product.args))
            keeps = isinstance(flipped, sp.Mul) and not flipped.could_extract_minus_sign()
            return flipped if keeps else None
    return None
