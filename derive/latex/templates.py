"""The one Jinja environment for LaTeX (TeX-safe delimiters, filters from one table) and the
escaping of text that enters a template."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ..cache import template_dir
from .printer import _unicode_tex, tex


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
    "′": "'",
    "″": "''",
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


#: An identifier in prose: a name with an underscore or a dot inside it (mse_loss,
#: torch.distributions.StudentT); its arguments, where it is called, belong to it.
_IDENTIFIER = re.compile(r"[A-Za-z][\w.]*?(?:_|\.(?=\w))[\w.]*\w")


def _called(text: str, end: int) -> int:
    """The end of the argument list ``(…)`` starting at ``text[end]``, if one does."""
    if not text.startswith("(", end):
        return end
    depth = 0
    for i in range(end, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return end


def breakable(text) -> str:
    """Prose naming implementations ("torch mse_loss", "−log_prob of
    torch.distributions.StudentT less its constant"): :func:`escape`, the identifiers (with
    their arguments) in typewriter type, breakable only after their dots and opening
    parentheses (:func:`code`)."""
    text, out, start = str(text), [], 0
    for m in _IDENTIFIER.finditer(text):
        if m.start() < start:
            continue  # inside the arguments of the one before
        end = _called(text, m.end())
        out += [escape(text[start : m.start()]), code(text[m.start() : end])]
        start = end
    return "".join([*out, escape(text[start:])])


def code(text) -> str:
    """An identifier such as ``torch.nn.functional.mse_loss`` in typewriter type, breakable
    only after its dots and opening parentheses (and at the spaces of a description), never
    inside a name."""
    parts = re.split(r"(?<=[.(])(?=\w)", str(text))
    return r"\allowbreak{}".join(r"\texttt{%s}" % escape(part) for part in parts if part)


#: Jinja filters: math through the one printer, text escaped explicitly.
def comment(text) -> str:
    """Text for a TeX comment line (``% derive: NAME``): escaped, on one line — a newline in a
    name from Python would end the comment and run what follows."""
    return escape(" ".join(str(text).split()))


FILTERS = {"tex": tex, "escape": escape, "comment": comment, "breakable": breakable, "code": code}
