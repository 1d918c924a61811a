r"""The LaTeX adapter: latex2sympy2 behind a wall that owns its failure modes.

A density typed the way papers write it goes through four stages, each of which refuses what it
cannot read with a :class:`ParseError` (one line that names the culprit):

1. **tokens** — the text is split into TeX tokens and checked for size (length, nesting depth,
   ``|`` bars) before anything expensive runs; sizing and spacing commands are dropped, ``\log``
   without a base becomes the natural log, ``\frac12`` gets its braces, ``p(y) = …`` keeps the
   right-hand side.
2. **calls** — function applications the parser misreads are taken out by this module and parsed
   argument by argument: ``\Gamma(\frac{\nu+1}{2})`` (latex2sympy2 reads a symbol Γ times a
   fraction), ``\operatorname{B}(a, b)``, ``\sigma(z)`` (the sigmoid), ``I_0(\kappa)`` (Bessel),
   ``\Phi``, ``\max``, ``\binom``; a symbol directly before ``(`` is a product, never an undefined
   function.  Each call is replaced by a placeholder atom.
3. **ANTLR** — the rest is lexed and parsed by latex2sympy2's ANTLR grammar only: tokens outside a
   whitelist (integrals, limits, differentials, matrices, relations, transposes…) are refused, the
   whole input must be consumed (the grammar silently drops a tail it cannot read), and the
   module's global state is reset around each conversion (a differential such as ``dx`` corrupts
   it for every later call).
4. **build** — the unevaluated tree is rebuilt bottom-up through one dispatch table: symbols get
   proper names (``\hat{y}`` → ``y_hat``, ``x_{\mathrm{m}}`` → ``x_m``), ``\log_b`` is divided out,
   numeric powers, factorials and binomials are size-checked *before* SymPy evaluates them, and
   sums over a class index ``k = 1..K`` turn ``y_k`` into ``y[k]``.

No user text is ever passed to ``eval``, ``exec``, ``sympify`` or ``parse_expr``: it reaches SymPy
only as the ANTLR parse tree, symbol names and digit strings.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import sympy as sp

from .errors import UserError, shown
from .functions import sigmoid, softplus
from .spec import CLASS_INDEX, IDENTIFIER, N_CLASSES

#: Sizes refused before parsing: ANTLR's Python runtime is slow on deep nesting (about 2 s at
#: depth 12), and nothing a paper writes comes close.
MAX_CHARS = 1000
MAX_DEPTH = 10
MAX_BARS = 8
#: Largest exact number (in decimal digits) the density may compute while it is being read.
MAX_DIGITS = 2000
#: Largest integer argument of a factorial, binomial or gamma function evaluated exactly.
MAX_FACTORIAL = 1000

PLACEHOLDER = "QZQ"  # never typed by a person; a text that contains it is refused


class ParseError(UserError):
    """The LaTeX cannot be read as a density; the message names the culprit."""


@dataclass(frozen=True)
class Parsed:
    """A density read from LaTeX.

    ``expr`` holds plain symbols (no assumptions: the caller sets them from each symbol's role) and
    ``IndexedBase(name)[k]`` for the components of vectors summed over the class index.
    ``readings`` says, in words, how each ambiguous notation was read.
    """

    expr: sp.Expr
    source: str
    readings: tuple[str, ...] = ()

    @property
    def names(self) -> set[str]:
        """Names of the scalar symbols (vector components, the class index and K excluded)."""
        scalar = self.expr.replace(lambda e: isinstance(e, sp.Indexed), lambda e: sp.S.One)
        return {
            s.name
            for s in scalar.free_symbols
            if isinstance(s, sp.Symbol) and s not in (CLASS_INDEX, N_CLASSES)
        }

    @property
    def vectors(self) -> set[str]:
        """Names of the vectors indexed over the class axis."""
        return {b.label.name for b in self.expr.atoms(sp.IndexedBase)}


# ---------------------------------------------------------------------------- symbol names

_WRAPPERS = (
    "mathrm|mathit|mathbf|mathsf|mathtt|mathnormal|mathbb|mathcal|mathscr|mathfrak|"
    "text|textit|textrm|textbf|textsf|operatorname|boldsymbol|bm"
)
_ACCENTS = {
    "hat": "hat",
    "widehat": "hat",
    "bar": "bar",
    "overline": "bar",
    "tilde": "tilde",
    "widetilde": "tilde",
    "dot": "dot",
    "ddot": "ddot",
    "vec": "vec",
    "overrightarrow": "vec",
    "check": "check",
    "widecheck": "check",
    "breve": "breve",
    "acute": "acute",
    "grave": "grave",
    "mathring": "ring",
}
_WRAPPER_RE = re.compile(r"\\(?:%s)\s*\{([^{}]*)\}" % _WRAPPERS)
_ACCENT_RE = re.compile(r"\\(%s)\s*\{([^{}]*)\}" % "|".join(_ACCENTS))


def symbol_name(raw: str) -> str:
    r"""The identifier a parsed symbol is known by: ``\hat{y}`` → ``y_hat``, ``\sigma_{0}`` →
    ``sigma_0``, ``x_{\mathrm{m}}`` → ``x_m``, ``y_{i,k}`` → ``y_i_k``."""
    name, previous = raw, None
    while name != previous:
        previous = name
        name = _WRAPPER_RE.sub(r"\1", name)
        name = _ACCENT_RE.sub(lambda m: f"{m[2]}_{_ACCENTS[m[1]]}", name)
    name = re.sub(r"\\([A-Za-z]+)", r"\1", name)
    name = re.sub(r"[{}]", "", name)
    name = re.sub(r"[\s,_]+", "_", name).strip("_")
    if not IDENTIFIER.match(name):
        raise ParseError(f"cannot use {shown(raw)} as a symbol name (letters, digits and _ only)")
    return name


# ---------------------------------------------------------------------------- the functions


@dataclass(frozen=True)
class Fn:
    """A function the adapter reads itself: how many arguments, how to build it, what to say."""

    build: Callable[..., sp.Expr]
    arity: tuple[int, ...]
    reading: str
    subscript: bool = False  # the order is the subscript: I_0(x), K_\nu(x)
    #: the reading where it differs with the number of arguments (Γ(a, x) is the incomplete Γ)
    by_arity: tuple[tuple[int, str], ...] = ()


def _phi(x):
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def _gamma(*args):
    """Γ(a), or with two arguments the upper incomplete Γ(a, x) = ∫_x^∞ t^(a−1) e^(−t) dt."""
    return sp.gamma(*args) if len(args) == 1 else sp.uppergamma(*args)


def _zeta(*args):
    """ζ(s), or with two arguments the Hurwitz ζ(s, a)."""
    return sp.zeta(*args)


_GAMMA = Fn(
    _gamma, (1, 2), "the gamma function Γ", by_arity=((2, "the upper incomplete gamma function"),)
)
_LOWER_GAMMA = Fn(sp.lowergamma, (2,), "the lower incomplete gamma function γ(a, x)")
_BETA = Fn(sp.beta, (2,), "the beta function B")
_SIGMOID = Fn(sigmoid, (1,), "the logistic sigmoid σ(z) = 1/(1 + e^(−z))")
_PHI = Fn(_phi, (1,), "the standard normal CDF Φ")
_ZETA = Fn(
    _zeta, (1, 2), "the Riemann zeta function ζ", by_arity=((2, "the Hurwitz zeta function"),)
)
_ERF = Fn(sp.erf, (1,), "the error function erf")
_ERFC = Fn(sp.erfc, (1,), "the complementary error function erfc")
_SECH = Fn(sp.sech, (1,), "the hyperbolic secant sech")
_CSCH = Fn(sp.csch, (1,), "the hyperbolic cosecant csch")
_ASINH = Fn(sp.asinh, (1,), "the inverse hyperbolic sine arsinh")
_ACOSH = Fn(sp.acosh, (1,), "the inverse hyperbolic cosine arcosh")
_ATANH = Fn(sp.atanh, (1,), "the inverse hyperbolic tangent artanh")
#: the functions whose numeric arguments are size-checked before SymPy evaluates them
_EXACT = (_gamma, sp.beta, sp.lowergamma, _zeta)

#: Bare heads (a letter or a Greek command) read as functions when a parenthesis follows with the
#: right number of arguments, unless the same name is declared as a variable: then it is ambiguous
#: and the reader is asked to say which.
BARE_FUNCTIONS: dict[str, Fn] = {
    r"\Gamma": _GAMMA,
    "B": _BETA,
    r"\sigma": _SIGMOID,
    r"\Phi": _PHI,
    r"\gamma": _LOWER_GAMMA,  # γ(a, x) only: γ(x) and γ·(…) stay products
    r"\zeta": _ZETA,
    r"\erf": _ERF,
    r"\erfc": _ERFC,
    r"\sech": _SECH,
    r"\csch": _CSCH,
    r"\arsinh": _ASINH,
    r"\arcsinh": _ASINH,
    r"\arcosh": _ACOSH,
    r"\arccosh": _ACOSH,
    r"\artanh": _ATANH,
    r"\arctanh": _ATANH,
    "I": Fn(sp.besseli, (1,), "the modified Bessel function of the first kind I", True),
    "K": Fn(sp.besselk, (1,), "the modified Bessel function of the second kind K", True),
}

#: Named heads: \operatorname{name}, \mathrm{name}, \text{name}, and the \max / \min commands.
NAMED_FUNCTIONS: dict[str, Fn] = {
    "Gamma": _GAMMA,
    "B": _BETA,
    "Beta": _BETA,
    "sigma": _SIGMOID,
    "sigmoid": _SIGMOID,
    "expit": _SIGMOID,
    "Phi": _PHI,
    "erf": _ERF,
    "erfc": _ERFC,
    "gamma": _LOWER_GAMMA,
    "zeta": _ZETA,
    "sech": _SECH,
    "csch": _CSCH,
    **dict.fromkeys(("arsinh", "arcsinh", "asinh"), _ASINH),
    **dict.fromkeys(("arcosh", "arccosh", "acosh"), _ACOSH),
    **dict.fromkeys(("artanh", "arctanh", "atanh"), _ATANH),
    "softplus": Fn(softplus, (1,), "softplus(x) = log(1 + e^x)"),
    "exp": Fn(sp.exp, (1,), "the exponential"),
    "log": Fn(sp.log, (1,), "the natural logarithm"),
    "ln": Fn(sp.log, (1,), "the natural logarithm"),
    "max": Fn(sp.Max, (2, 3, 4), "the maximum"),
    "min": Fn(sp.Min, (2, 3, 4), "the minimum"),
}

#: TeX commands with no mathematical content here.
_SIZING = {
    *(r"\left", r"\right", r"\middle", r"\mleft", r"\mright"),
    *(r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr"),
    *(r"\biggl", r"\biggr", r"\Biggl", r"\Biggr", r"\bigm", r"\Bigm"),
}
_SPACING = {
    *(r"\,", r"\;", r"\:", r"\!", "\\ ", "~", r"\quad", r"\qquad", r"\enspace", r"\thinspace"),
    *(r"\displaystyle", r"\textstyle", r"\scriptstyle", r"\limits", r"\nolimits"),
    *(r"\operatorname*", "$"),
}
_ALIASES = {
    r"\dfrac": r"\frac",
    r"\tfrac": r"\frac",
    r"\cfrac": r"\frac",
    r"\lvert": "|",
    r"\rvert": "|",
    r"\vert": "|",
    r"\lbrace": r"\{",
    r"\rbrace": r"\}",
    r"\ast": "*",
    r"\exponentialE": "e",
}


# ---------------------------------------------------------------------------- tokens

# Digits are single tokens, as in TeX (\frac12 is 1/2); text is re-joined without spaces.
_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\s+|.", re.DOTALL)
_OPEN = {"{": "}", "(": ")", "[": "]", r"\{": r"\}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _is_space(tok: str) -> bool:
    return tok.isspace()


def _next(tokens, i):
    """Index of the first non-space token at or after ``i`` (len(tokens) if none)."""
    while i < len(tokens) and _is_space(tokens[i]):
        i += 1
    return i


def _prev(tokens, i):
    """Index of the last non-space token before ``i`` (-1 if none)."""
    i -= 1
    while i >= 0 and _is_space(tokens[i]):
        i -= 1
    return i


def _matching(tokens, i):
    """Index of the bracket closing the one at ``i``; brackets of every kind must nest."""
    stack = []
    for j in range(i, len(tokens)):
        tok = tokens[j]
        if tok in _OPEN:
            stack.append(_OPEN[tok])
        elif tok in _CLOSE:
            if not stack or stack[-1] != tok:
                raise ParseError(f"unbalanced brackets: {tok!r} closes nothing that is open")
            stack.pop()
            if not stack:
                return j
    raise ParseError(f"unbalanced brackets: {tokens[i]!r} is never closed")


def _argument(tokens, i):
    """The TeX argument starting at ``i``: a brace group or one token.  Returns (tokens, end)."""
    i = _next(tokens, i)
    if i >= len(tokens):
        raise ParseError("a command is missing its argument at the end of the density")
    if tokens[i] == "{":
        j = _matching(tokens, i)
        return tokens[i + 1 : j], j + 1
    if tokens[i] in _CLOSE:
        raise ParseError(f"a command is missing its argument before {tokens[i]!r}")
    return [tokens[i]], i + 1


def _top_level(tokens):
    """(index, token) of each token outside every bracket."""
    depth = 0
    for i, tok in enumerate(tokens):
        depth += (tok in _OPEN) - (tok in _CLOSE)
        if depth == 0:
            yield i, tok


def _split_commas(tokens):
    """Split at the commas that are not inside brackets."""
    cuts = [i for i, tok in _top_level(tokens) if tok == ","]
    bounds = zip([-1, *cuts], [*cuts, len(tokens)], strict=True)
    return [tokens[start + 1 : end] for start, end in bounds]


def _check_size(text: str, tokens: list[str]) -> None:
    if len(text) > MAX_CHARS:
        raise ParseError(f"the density is {len(text)} characters long; the limit is {MAX_CHARS}")
    if PLACEHOLDER in text:
        raise ParseError(f"{PLACEHOLDER!r} is reserved; rename that symbol")
    depth = deepest = bars = 0
    for tok in tokens:
        if tok in _OPEN or tok == r"\left":
            depth += 1
            deepest = max(deepest, depth)
        elif tok in _CLOSE or tok == r"\right":
            depth -= 1
            if depth < 0:
                raise ParseError(f"unbalanced brackets: {tok!r} closes nothing that is open")
        elif tok in ("|", r"\lvert", r"\rvert", r"\vert"):
            bars += 1
    if depth > 0:
        raise ParseError("unbalanced brackets: one is opened and never closed")
    if deepest > 2 * MAX_DEPTH:  # \left( counts twice here; the exact check follows
        raise ParseError(f"the density is nested {deepest // 2}+ levels deep; the limit is "
                         f"{MAX_DEPTH}")  # fmt: skip
    if bars > MAX_BARS:
        raise ParseError(f"the density has {bars} |…| bars; the limit is {MAX_BARS}")


def _depth_check(tokens: list[str]) -> None:
    depth = 0
    for tok in tokens:
        if tok in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                raise ParseError(
                    f"the density is nested more than {MAX_DEPTH} levels deep; write it flatter"
                )
        elif tok in _CLOSE:
            depth -= 1


def _normalise(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Drop sizing and spacing, apply aliases, ``\\log`` → ``\\ln``, brace ``\\frac12``."""
    out, readings = [], []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in _SIZING:
            j = _next(tokens, i + 1)
            i = j + 1 if j < len(tokens) and tokens[j] == "." else i + 1
            continue
        if tok in _SPACING:
            out.append(" ")
            i += 1
            continue
        if tok == r"\begin":
            raise ParseError(
                r"\begin{…} environments (cases, matrices) have no place in a density: "
                "write one formula"
            )
        if tok in (r"\mathrm", r"\text", r"\operatorname", r"\mathit"):
            arg, end = _argument(tokens, i + 1)
            if "".join(arg).strip() == "e":
                out.append("e")
                i = end
                continue
            if "".join(arg).strip() == "d" and tok != r"\operatorname":
                raise ParseError(
                    r"\mathrm{d} reads as a differential; a density has no integral sign"
                )
        tok = _ALIASES.get(tok, tok)
        if tok == "e" and 0 < i < len(tokens) - 1 and tokens[i - 1].isdigit():
            after = tokens[i + 1 : i + 3]
            if after and (
                after[0].isdigit() or (after[0] in "+-" and "".join(after)[1:].isdigit())
            ):
                raise ParseError(r"E notation (such as 1e5) is not LaTeX: write 1 \times 10^{5}")
        if tok == r"\log":
            j = _next(tokens, i + 1)
            if j >= len(tokens) or tokens[j] != "_":
                tok = r"\ln"
                if "\\log as the natural logarithm" not in readings:
                    readings.append(r"\log as the natural logarithm")
        if tok in (r"\frac", r"\binom", r"\sqrt") and _needs_braces(tokens, i + 1, tok):
            out.append(tok)
            i += 1
            for _ in range(1 if tok == r"\sqrt" else 2):
                arg, i = _argument(tokens, i)
                out += ["{", *arg, "}"]
            continue
        out.append(tok)
        i += 1
    return out, readings


def _needs_braces(tokens, i, command):
    j = _next(tokens, i)
    if j >= len(tokens):
        raise ParseError(f"{command} is missing its argument")
    return tokens[j] not in ("{", "[")


def _right_hand_side(tokens: list[str], variables: Collection[str]) -> tuple[list[str], bool]:
    """``p(y | θ) = …`` → the right-hand side; an ``=`` inside brackets (sum limits) stays.
    The left-hand side must name the density (:func:`_check_name`)."""
    positions = [i for i, tok in _top_level(tokens) if tok == "="]
    if not positions:
        return tokens, False
    if len(positions) > 1:
        raise ParseError("the density has more than one '='; give the right-hand side only")
    rhs = tokens[positions[0] + 1 :]
    if not "".join(rhs).strip():
        raise ParseError("nothing follows '='; give the density's formula")
    _check_name(tokens[: positions[0]], variables)
    return rhs, True


#: What separates the arguments of the density's name: p(y | μ, σ), p(y \mid μ), f(y; μ).
_NAME_SEPARATORS = {",", "|", r"\mid", ";", r"\vert"}


def _check_name(lhs: list[str], variables: Collection[str]) -> None:
    r"""The text left of ``=`` must be the density's name: one letter, an optional subscript,
    then the declared symbols in brackets, ``p(y \mid \mu)``, ``f(y)``, ``p_\theta(y; x)``.
    Anything else is refused: it would be kept (as the input echoed) without being read."""
    text = "".join(lhs).strip()
    refused = ParseError(
        f"the left of '=' must name the density, as p(y \\mid \\mu) or f(y), not {shown(text)}"
    )
    toks = [t for t in lhs if not _is_space(t)]
    if len(toks) < 4 or not re.fullmatch(r"[A-Za-z]", toks[0]) or toks[-1] != ")":
        raise refused
    i = 1
    if toks[i] == "_":  # a label, p_\theta: any symbol name
        j = toks.index("}", i) if toks[i + 1] == "{" and "}" in toks[i:] else i + 1
        try:
            symbol_name("".join(toks[i + 1 : j + 1]))
        except ParseError:
            raise refused from None
        i = j + 1
    names: list[list[str]] = []
    if i >= len(toks) or toks[i] != "(":
        raise refused
    group: list[str] = []
    for tok in toks[i + 1 : -1]:
        if tok in _NAME_SEPARATORS:
            names.append(group)
            group = []
        elif tok in _OPEN or tok in _CLOSE or tok == "=":
            raise refused
        else:
            group.append(tok)
    names.append(group)
    for group in names:
        if not group:
            raise refused
        try:
            name = symbol_name("".join(group))
        except ParseError:
            raise refused from None
        if variables and name not in variables:
            raise ParseError(
                f"the left of '=' names {name}, which is not declared (--observed, --param, "
                "--fixed)"
            )


_INFIX = (r"\choose", r"\over", r"\atop")


def _infix_groups(tokens: list[str]) -> list[str]:
    r"""``{n \choose y}`` → ``\binom{n}{y}``, ``{a \over b}`` → ``\frac{a}{b}`` (the whole
    formula counts as a group, as in TeX)."""
    if not any(t in _INFIX for t in tokens):
        return tokens
    return _infix_group(tokens)


def _infix_group(tokens):
    inner, i = [], 0
    while i < len(tokens):
        if tokens[i] == "{":
            j = _matching(tokens, i)
            inner += _infix_group(tokens[i + 1 : j]) if j > i + 1 else ["{", "}"]
            i = j + 1
        else:
            inner.append(tokens[i])
            i += 1
    at = None
    for m, tok in _top_level(inner):
        if tok in _INFIX:
            if at is not None:
                raise ParseError(f"two of {inner[at]} / {tok} in one group; add braces")
            at = m
    if at is None:
        return ["{", *inner, "}"]
    if inner[at] == r"\atop":
        raise ParseError(r"\atop has no meaning in a density")
    command = r"\binom" if inner[at] == r"\choose" else r"\frac"
    return [command, "{", *inner[:at], "}", "{", *inner[at + 1 :], "}"]


# ---------------------------------------------------------------------------- ANTLR

_LOCK = threading.RLock()


def _allowed_tokens():
    from gen.PSLexer import PSLexer

    names = (
        "WS ADD SUB MUL DIV L_PAREN R_PAREN L_GROUP R_GROUP L_BRACE R_BRACE L_BRACE_VISUAL "
        "R_BRACE_VISUAL L_BRACE_CMD R_BRACE_CMD L_BRACKET R_BRACKET L_BRACK R_BRACK BAR L_VERT "
        "R_VERT VERT FUNC_SUM FUNC_PROD FUNC_LOG FUNC_LN FUNC_EXP FUNC_SIN FUNC_COS FUNC_TAN "
        "FUNC_CSC FUNC_SEC FUNC_COT FUNC_ARCSIN FUNC_ARCCOS FUNC_ARCTAN FUNC_SINH FUNC_COSH "
        "FUNC_TANH FUNC_SQRT CMD_TIMES CMD_CDOT CMD_DIV CMD_FRAC CMD_MATHIT UNDERSCORE CARET "
        "EXP_E LETTER_NO_E NUMBER ASSIGNMENT BANG GREEK_CMD OTHER_SYMBOL_CMD SYMBOL"
    )
    allowed = {getattr(PSLexer, n) for n in names.split()}
    allowed |= {getattr(PSLexer, f"T__{n}") for n in range(40)}  # accents and \mathrm & co.
    return allowed


_REFUSED = {
    "FUNC_INT": "an integral",
    "FUNC_LIM": "a limit",
    "DIFFERENTIAL": "a differential",
    "VARIABLE": r"a \variable",
    "PERCENT_NUMBER": "a percentage",
    "COMMA": "a comma outside a function's arguments",
    "IN": r"\in",
    "LT": "a comparison",
    "LTE": "a comparison",
    "GT": "a comparison",
    "GTE": "a comparison",
    "UNEQUAL": "a comparison",
    "EQUAL": "a comparison",
    "E_NOTATION_E": "a capital E",
    "E_NOTATION": "a number in E notation",
    "T__40": "a transpose",
    "T__41": "a transpose",
    "T__42": "a transpose",
    "T__43": "a prime",
}


def _token_name(ttype) -> str:
    from gen.PSLexer import PSLexer

    for name in dir(PSLexer):
        if (name.isupper() or name.startswith("T__")) and getattr(PSLexer, name) == ttype:
            return name
    return str(ttype)


class _Strict:
    """An ANTLR error listener that raises a one-line ParseError."""

    def __init__(self, show):
        self.show = show

    def syntaxError(self, recognizer, symbol, line, column, msg, e):
        near = self.show(column)
        raise ParseError(f"cannot read the density near {near}")

    def reportAmbiguity(self, *args):
        pass

    def reportAttemptingFullContext(self, *args):
        pass

    def reportContextSensitivity(self, *args):
        pass


_ALLOWED = None


def _antlr(text: str, show) -> sp.Basic:
    """Lex, check and parse ``text`` with latex2sympy2's grammar; return its unevaluated tree."""
    global _ALLOWED
    import latex2sympy2
    from antlr4 import CommonTokenStream, InputStream, Token
    from gen.PSLexer import PSLexer
    from gen.PSParser import PSParser

    if _ALLOWED is None:
        _ALLOWED = _allowed_tokens()
    with _LOCK:
        lexer = PSLexer(InputStream(text))
        lexer.removeErrorListeners()
        lexer.addErrorListener(_Strict(show))
        stream = CommonTokenStream(lexer)
        stream.fill()
        for tok in stream.tokens:
            if tok.type != Token.EOF and tok.type not in _ALLOWED:
                what = _REFUSED.get(_token_name(tok.type), "this")
                raise ParseError(
                    f"{what} ({shown(tok.text)}, near {show(tok.column)}) has no place in a density"
                )
        if not any(t.type != Token.EOF for t in stream.tokens):
            raise ParseError("the density is empty")
        parser = PSParser(stream)
        parser.removeErrorListeners()
        parser.addErrorListener(_Strict(show))
        tree = parser.math()
        if stream.LA(1) != Token.EOF:
            tok = stream.LT(1)
            raise ParseError(f"cannot read the density past {show(tok.column)}")
        relation = tree.relation()
        if tree.relation_list() is not None or relation is None or relation.expr() is None:
            raise ParseError("give the density as a formula, not an equation or a list")
        # latex2sympy2 keeps module-level state that a differential corrupts; start clean.
        latex2sympy2.var, latex2sympy2.variances, latex2sympy2.VARIABLE_VALUES = {}, {}, {}
        latex2sympy2.is_real = None
        try:
            return latex2sympy2.convert_relation(relation)
        finally:
            latex2sympy2.var, latex2sympy2.variances = {}, {}


# ---------------------------------------------------------------------------- the reader


@dataclass
class _Reader:
    """One parse: the placeholders handed out, the readings noted, the declared names."""

    variables: frozenset[str]
    placeholders: dict[str, tuple[sp.Expr, str]] = field(default_factory=dict)
    readings: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.readings:
            self.readings.append(text)

    # -- stage 2: calls ---------------------------------------------------------------------

    def placeholder(self, expr: sp.Expr, source: str) -> list[str]:
        name = f"{PLACEHOLDER}{len(self.placeholders)}"
        self.placeholders[name] = (expr, source)
        return [r"\mathit", "{", name, "}"]

    def calls(self, tokens: list[str], depth: int) -> list[str]:
        """Replace function calls by placeholders; a symbol before ``(`` multiplies it."""
        out: list[str] = []
        groups: list[bool] = []  # for each open brace: does it close a symbol's sub/accent?
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            taken = self.call(tokens, i, depth)
            if taken is not None:
                replacement, i = taken
                out += replacement
                continue
            if tok == r"\binom":
                top, j = _argument(tokens, i + 1)
                bottom, j = _argument(tokens, j)
                n, k = self.fragment(top, depth + 1), self.fragment(bottom, depth + 1)
                out += self.placeholder(_binomial(n, k), "".join(tokens[i:j]))
                i = j
                continue
            if tok == "{":
                before = out[_prev(out, len(out))] if out else ""
                groups.append(_names_symbol(out, before))
            elif tok == "}" and groups:
                closes_symbol = groups.pop()
                if closes_symbol and self.before_paren(tokens, i + 1):
                    out += ["}", r"\cdot", " "]
                    i += 1
                    continue
            out.append(tok)
            if _symbolic(tok, out) and self.before_paren(tokens, i + 1):
                paren = _next(tokens, i + 1)
                if len(_split_commas(tokens[paren + 1 : _matching(tokens, paren)])) > 1:
                    raise ParseError(f"unknown function {tok}(…, …)")
                out += [" ", r"\cdot", " "]
            i += 1
        return out

    @staticmethod
    def before_paren(tokens, i):
        j = _next(tokens, i)
        return j < len(tokens) and tokens[j] == "("

    def call(self, tokens, i, depth):
        """A function call starting at ``i``: (placeholder tokens, next index), or None."""
        tok = tokens[i]
        if tok in (r"\operatorname", r"\mathrm", r"\text", r"\mathit") or tok in (
            r"\max",
            r"\min",
        ):
            if tok in (r"\max", r"\min"):
                name, j = tok[1:], i + 1
                head = tok
            else:
                arg, j = _argument(tokens, i + 1)
                name = "".join(arg).strip()
                head = f"{tok}{{{name}}}"
            power, j = self.power(tokens, j, name in NAMED_FUNCTIONS)
            if not self.before_paren(tokens, j):
                if tok == r"\operatorname" or tok in (r"\max", r"\min"):
                    if name in NAMED_FUNCTIONS:
                        raise ParseError(f"write {tok}{{{name}}}(…) with parentheses")
                    return [r"\mathrm", "{", *name, "}"], j
                return None
            fn = NAMED_FUNCTIONS.get(name)
            if fn is None:
                raise ParseError(
                    f"unknown function {''.join(tokens[i:j]).strip()}(…); known: "
                    + ", ".join(sorted(NAMED_FUNCTIONS))
                )
            return self.apply(fn, None, tokens, i, j, depth, head, power)
        if tok in BARE_FUNCTIONS:
            fn = BARE_FUNCTIONS[tok]
            j, order = i + 1, None
            if fn.subscript:
                j = _next(tokens, j)
                if j >= len(tokens) or tokens[j] != "_":
                    return None
                sub, j = _argument(tokens, j + 1)
                order = sub
            power, j = self.power(tokens, j, not fn.subscript)
            if not self.before_paren(tokens, j):
                return None
            close = _matching(tokens, _next(tokens, j))
            args = _split_commas(tokens[_next(tokens, j) + 1 : close])
            if len(args) not in fn.arity:
                return None  # B(1 - x) is B times (1 - x)
            head = tok if order is None else f"{tok}_{''.join(order)}"
            declared = symbol_name(head)
            if declared in self.variables:
                raise ParseError(
                    f"{head}(…) is ambiguous: {declared} is declared as a variable, and "
                    f"{head}(…) also reads as {fn.reading}; write {head} \\cdot (…) for a "
                    f"product, or rename the variable"
                )
            return self.apply(fn, order, tokens, i, j, depth, head, power)
        return None

    def power(self, tokens, j, allowed: bool):
        """(The exponent's tokens, the index after it) for ``f^{n}(…)``, else (None, j)."""
        k = _next(tokens, j)
        if not allowed or k >= len(tokens) or tokens[k] != "^":
            return None, j
        exponent, after = _argument(tokens, k + 1)
        if not self.before_paren(tokens, after):
            return None, j
        return exponent, after

    def apply(self, fn, order, tokens, i, j, depth, head, power=None):
        j = _next(tokens, j)
        close = _matching(tokens, j)
        parts = _split_commas(tokens[j + 1 : close])
        if len(parts) not in fn.arity:
            raise ParseError(
                f"{head}(…) takes {' or '.join(map(str, fn.arity))} argument(s), not {len(parts)}"
            )
        args = [self.fragment(p, depth + 1) for p in parts]
        if order is not None:
            args = [self.fragment(order, depth + 1), *args]
        self.note(f"{head}(…) as {dict(fn.by_arity).get(len(parts), fn.reading)}")
        if fn.build in _EXACT:
            _integer_argument(head, *args)
        value = fn.build(*args)
        if power is not None:  # \operatorname{sech}^2(x) = sech(x)²
            value = _pow(value, self.fragment(power, depth + 1))
        return self.placeholder(value, "".join(tokens[i : close + 1])), close + 1

    # -- stages 3 and 4 ---------------------------------------------------------------------

    def fragment(self, tokens: list[str], depth: int) -> sp.Expr:
        """Read a token list (a whole density or one function argument) into an expression."""
        if depth > MAX_DEPTH:
            raise ParseError(f"function calls are nested more than {MAX_DEPTH} levels deep")
        if not "".join(tokens).strip():
            raise ParseError("an empty argument or group")
        tokens = self.calls(_infix_groups(tokens), depth)
        _depth_check(tokens)
        text = "".join(_spaced(tokens))

        def show(column):
            before, after = text[max(0, column - 12) : column], text[column : column + 12]
            for name, (_, source) in self.placeholders.items():
                before = before.replace(rf"\mathit{{{name}}}", source)
                after = after.replace(rf"\mathit{{{name}}}", source)
            return " ".join(f"«{before}⟨here⟩{after}»".split())

        raw = _convert(text, show)
        return self.build(raw)

    def build(self, raw) -> sp.Expr:
        if not isinstance(raw, sp.Basic):
            raise ParseError(f"cannot read {type(raw).__name__} as part of a density")
        if isinstance(raw, sp.Symbol):
            return self.symbol(raw.name)
        builder = _BUILDERS.get(type(raw))
        if builder is None:
            for cls, candidate in _BUILDERS.items():
                if isinstance(raw, cls):
                    builder = candidate
                    break
        if builder is None:
            raise ParseError(_unsupported(raw))
        return builder(self, raw)

    def symbol(self, raw: str) -> sp.Expr:
        match = re.search(r"%s\d+" % PLACEHOLDER, raw)
        if match:
            return self.placeholders[match[0]][0]
        name = symbol_name(raw)
        if re.sub(r"[\\{}\s]", "", raw) != name:
            self.note(f"{raw} as the symbol {name}")
        return sp.Symbol(name)


_SYMBOL_WRAPPERS = {f"\\{a}" for a in _ACCENTS} | {f"\\{w}" for w in _WRAPPERS.split("|")}


def _names_symbol(out: list[str], before: str) -> bool:
    """Does a brace group opened now belong to a symbol's name (a subscript, an accent)?"""
    if before in _SYMBOL_WRAPPERS:
        return True
    if before != "_":
        return False
    owner = _prev(out, _prev(out, len(out)))
    return owner < 0 or out[owner] not in (r"\log", r"\sum", r"\prod")


def _symbolic(tok: str, before: list[str]) -> bool:
    """A token that ends a symbol's name: a letter, a Greek command, a one-token subscript."""
    if len(tok) == 1:
        script = len(before) >= 2 and before[-2] == "_"
        if script and len(before) >= 3 and before[-3] in (r"\log", r"\sum", r"\prod"):
            return False
        return tok.isalpha() or (script and tok.isalnum())
    return tok.startswith("\\") and tok[1:] in _GREEK


_GREEK = {
    *("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta"),
    *("vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "varpi", "rho"),
    *("varrho", "sigma", "varsigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega"),
    *("Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"),
}


def _spaced(tokens):
    """Tokens joined back into text: a command never runs into the letter that follows it."""
    out = []
    for tok in tokens:
        out.append(" " if tok.isspace() else tok)
        if tok.startswith("\\") and tok[1:2].isalpha():
            out.append(" ")
    return out


def _reset_antlr():
    """Fresh prediction caches for latex2sympy2's lexer and parser.  ANTLR fills them as it
    parses; a parse interrupted half-way (a time budget's alarm, Ctrl-C) may leave one half
    updated, so the next parse in this process starts from empty ones (it is slower once)."""
    from antlr4.dfa.DFA import DFA
    from antlr4.PredictionContext import PredictionContextCache
    from gen.PSLexer import PSLexer
    from gen.PSParser import PSParser

    for cls in (PSLexer, PSParser):
        cls.decisionsToDFA = [DFA(s, i) for i, s in enumerate(cls.atn.decisionToState)]
    PSParser.sharedContextCache = PredictionContextCache()


def _convert(text, show):
    import gen.PSParser  # noqa: F401
    import latex2sympy2  # noqa: F401  (a missing dependency is a bug to report, not bad input)

    try:
        return _antlr(text, show)
    except (ParseError, ImportError):
        raise
    except RecursionError:
        raise ParseError("the density is nested too deeply to read") from None
    except Exception as exc:  # latex2sympy2 raises bare Exceptions, TypeErrors, IndexErrors…
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParseError(f"cannot read the density: {detail[:120]}") from None
    except BaseException:  # an interruption (a time budget, Ctrl-C): stopped anywhere
        _reset_antlr()
        raise


# ---------------------------------------------------------------------------- build


def _digits(x: sp.Rational) -> float:
    return max(abs(x.p).bit_length(), x.q.bit_length()) * 0.30103


def _pow(base, exponent):
    exact = base.is_Rational and exponent.is_Rational and abs(base) not in (0, 1)
    if exact and abs(float(exponent)) * _digits(base) > MAX_DIGITS:
        raise ParseError(
            f"the number {base}^{exponent} is too large to compute; the limit is "
            f"{MAX_DIGITS} digits"
        )
    return sp.Pow(base, exponent)


def _integer_argument(name, *args):
    for a in args:
        if a.is_Rational and abs(a) > MAX_FACTORIAL:
            raise ParseError(f"{name}({a}) is too large to compute exactly (limit {MAX_FACTORIAL})")


def _binomial(n, k):
    _integer_argument("binomial", n, k)
    return sp.binomial(n, k)


def _log(reader, raw):
    args = [reader.build(a) for a in raw.args]
    if len(args) == 1 or args[1] == sp.E:
        return sp.log(args[0])
    if args[1].is_number and (args[1].is_positive is False or args[1] == 1):
        raise ParseError(f"a logarithm to the base {args[1]} is undefined")
    return sp.log(args[0]) / sp.log(args[1])


def _sum(reader, raw):
    body = reader.build(raw.function)
    if len(raw.limits) != 1 or len(raw.limits[0]) != 3:
        raise ParseError("a sum or product needs limits: \\sum_{k=1}^{K}")
    index, lo, hi = raw.limits[0]
    if not isinstance(index, sp.Symbol):
        raise ParseError("the index of a sum must be a letter: \\sum_{k=1}^{K}")
    return type(raw)(body, (sp.Symbol(symbol_name(index.name)), reader.build(lo), reader.build(hi)))


def _factorial(reader, raw):
    (arg,) = (reader.build(a) for a in raw.args)
    _integer_argument("factorial", arg)
    return sp.factorial(arg)


def _rebuild(func):
    return lambda reader, raw: func(*(reader.build(a) for a in raw.args))


def _leaf(reader, raw):
    return raw


def _refuse(message):
    def refuse(reader, raw):
        raise ParseError(message)

    return refuse


_BUILDERS: dict[type, Callable] = {
    sp.Add: _rebuild(sp.Add),
    sp.Mul: _rebuild(sp.Mul),
    sp.Pow: lambda reader, raw: _pow(*(reader.build(a) for a in raw.args)),
    sp.exp: _rebuild(sp.exp),
    sp.log: _log,
    sp.factorial: _factorial,
    sp.Abs: _rebuild(sp.Abs),
    sp.Max: _rebuild(sp.Max),
    sp.Min: _rebuild(sp.Min),
    sp.Sum: _sum,
    sp.Product: _sum,
    sp.Integer: _leaf,
    sp.Rational: _leaf,
    sp.Float: _leaf,
    type(sp.E): _leaf,
    type(sp.pi): _leaf,
    type(sp.I): _refuse("I reads as the imaginary unit; a density is real (rename that symbol)"),
    type(sp.oo): _refuse("∞ cannot appear inside a density (only in --support)"),
    **{
        f: _rebuild(f)
        for f in (sp.sin, sp.cos, sp.tan, sp.sinh, sp.cosh, sp.tanh, sp.asin, sp.acos, sp.atan)
    },
    **{f: _rebuild(f) for f in (sp.csc, sp.sec, sp.cot)},
}


def _unsupported(raw) -> str:
    if isinstance(raw, sp.core.function.AppliedUndef):
        return f"unknown function {raw.func.__name__}(…)"
    return f"{type(raw).__name__} has no place in a density"


# ---------------------------------------------------------------------------- class sums


def _class_axis(expr: sp.Expr) -> sp.Expr:
    """Sums and products over an index k = 1..K: ``y_k`` → ``y[k]``, k → the class index.

    The outermost index becomes :data:`CLASS_INDEX`; a sum nested inside one gets its own index
    (a normaliser Σⱼ e^{z_j} inside Πₖ).  The upper limit becomes :data:`N_CLASSES`.
    """
    if not expr.has(sp.Sum, sp.Product):
        return expr
    counts: set[sp.Symbol] = set()

    def walk(e, bound):
        if isinstance(e, (sp.Sum, sp.Product)):
            index, lo, hi = e.limits[0]
            if lo != 1:
                raise ParseError(f"a sum over the class index runs from {index} = 1, not {lo}")
            if not isinstance(hi, sp.Symbol):
                raise ParseError(f"a sum over the class index runs to a symbol K, not {hi}")
            counts.add(hi)
            if bound:
                taken = {s.name for s in bound.values()}
                label = next(c for c in (index.name, "j", "l", "m", "k2") if c not in taken)
                new = sp.Symbol(label, integer=True, positive=True)
            else:
                new = CLASS_INDEX
            inner = {**bound, index.name: new}
            return type(e)(walk(e.function, inner), (new, 1, N_CLASSES))
        if isinstance(e, sp.Symbol):
            if e.name in bound:
                return bound[e.name]
            base, _, sub = e.name.rpartition("_")
            if base and sub in bound:
                return sp.IndexedBase(base)[bound[sub]]
            return e
        if not e.args:
            return e
        return e.func(*(walk(a, bound) for a in e.args))

    out = walk(expr, {})
    if len({c.name for c in counts}) > 1:
        raise ParseError("sums over the class index must all run to the same K")
    return out.xreplace({c: N_CLASSES for c in counts})


# ---------------------------------------------------------------------------- the entry point


def parse_latex(tex: str, variables: Collection[str] = ()) -> Parsed:
    r"""Read a density written in LaTeX.

    ``variables`` are the declared names: a bare function head with the same name (``\sigma`` with
    a variable sigma) is ambiguous and refused rather than guessed.  The parse may be
    interrupted anywhere (a time budget's alarm): ANTLR's shared caches are then reset.
    """
    if not isinstance(tex, str):
        raise ParseError("the density must be LaTeX text")
    text = tex.strip()
    raw_tokens = _tokens(text)
    _check_size(text, raw_tokens)
    if not text:
        raise ParseError("the density is empty")
    reader = _Reader(frozenset(variables))
    tokens, rhs = _right_hand_side(raw_tokens, variables)
    if rhs:
        reader.note("the right-hand side of '='")
    tokens, readings = _normalise(tokens)
    for r in readings:
        reader.note(r)
    if "e" in tokens:
        reader.note("e as Euler's number")
    if r"\pi" in tokens:
        reader.note(r"\pi as the constant π")
    expr = _class_axis(reader.fragment(_sum_limits(tokens), 0))
    return Parsed(expr, tex, tuple(reader.readings))


def _sum_limits(tokens):
    r"""Give every ``\sum`` and ``\prod`` braced limits: ``\sum_k`` and ``\sum_{k}`` (an index
    alone) run over the class axis, ``\sum_{k=1}^{K}``; ``\prod_{k=1}^K`` gets ``^{K}``."""
    out, i = [], 0
    while i < len(tokens):
        tok = tokens[i]
        j = _next(tokens, i + 1)
        if tok in (r"\sum", r"\prod") and j < len(tokens) and tokens[j] == "_":
            sub, end = _argument(tokens, j + 1)
            k = _next(tokens, end)
            if k < len(tokens) and tokens[k] == "^":
                upper, end = _argument(tokens, k + 1)
            else:
                upper = None
            text = "".join(sub).strip()
            if re.fullmatch(r"[A-Za-z]", text):
                sub, upper = [text, "=", "1"], upper or ["K"]
            if upper is None:
                raise ParseError(f"{tok}_{{{text}}} needs an upper limit: {tok}_{{k=1}}^{{K}}")
            out += [tok, "_", "{", *sub, "}", "^", "{", *upper, "}", " "]
            i = end
            continue
        out.append(tok)
        i += 1
    return out
