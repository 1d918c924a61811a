"""Text into generated source: the one escaping function, and the check of what was generated.

Every string that enters an emitted module (notes, titles, names, the derivation's LaTeX, error
messages) is written by :func:`pystr` as a Python string literal that reads back as exactly that
text: a raw ``r\"\"\"…\"\"\"`` where the raw form is exact (LaTeX stays readable), else an escaped
``\"\"\"…\"\"\"``.  :func:`check` then parses the module and compares it with a *skeleton* rendered
from the same context with every literal blanked: the two trees must be identical apart from the
strings' contents, and the literals must read back as the texts given.  So no text, whatever it
holds (quotes, backslashes, ``\\N{``, newlines, Jinja syntax, NUL, lone surrogates from undecodable
bytes), can add or change a statement.
"""

from __future__ import annotations

import ast
from collections import Counter

_QUOTE = '"'


def _raw_exact(text: str) -> bool:
    """Whether ``r\"\"\"text\"\"\"`` is valid source that reads back as ``text``."""
    return (
        '"""' not in text
        and not text.endswith((_QUOTE, "\\"))
        and all(ch in "\n\t" or ch.isprintable() for ch in text)
    )


def _escape(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch == _QUOTE:
        return '\\"'
    if ch in "\n\t" or ch.isprintable():
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def pystr(text) -> str:
    """``text`` as a triple-quoted Python literal whose value is exactly ``text``."""
    text = str(text)
    if _raw_exact(text):
        return 'r"""' + text + '"""'
    return '"""' + "".join(map(_escape, text)) + '"""'


class Literals:
    """A Jinja filter recording the texts it writes; ``blank`` writes an empty literal instead,
    for the skeleton."""

    def __init__(self, blank: bool = False):
        self.blank = blank
        self.texts: list[str] = []

    def __call__(self, text) -> str:
        self.texts.append(str(text))
        return '""""""' if self.blank else pystr(text)


def _shape(tree: ast.AST) -> tuple[str, Counter]:
    """The tree's dump with every string blanked, and the strings it held (the tree is changed:
    it is freshly parsed for this)."""
    strings: Counter = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings[node.value] += 1
            node.value = ""
    return ast.dump(tree), strings


def check(source: str, skeleton: str, texts: list[str]) -> None:
    """Raise ``RuntimeError`` unless ``source`` parses, has exactly the statements of
    ``skeleton`` (strings aside), one module docstring, and literals reading back as ``texts``."""
    try:
        tree = ast.parse(source)
        expected = ast.parse(skeleton)
    except (SyntaxError, ValueError) as exc:
        raise RuntimeError(f"the emitted module does not parse: {exc}") from None
    (shape, found), (wanted, _) = _shape(tree), _shape(expected)
    if shape != wanted:
        raise RuntimeError("the emitted module's statements differ from the template's")
    docstrings = [n for n in tree.body if isinstance(n, ast.Expr)]
    if len(docstrings) != 1 or docstrings[0] is not tree.body[0]:
        raise RuntimeError("the emitted module must have exactly one docstring and no expression")
    if Counter(texts) - found:
        raise RuntimeError("a text in the emitted module does not read back as given")
