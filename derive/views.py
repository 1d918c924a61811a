"""What a record shows of itself: the thin delegations that make a :class:`~derive.derivation.
Derivation`, a :class:`~derive.relative.RelativeDerivation` and an information-theory
:class:`~derive.infotheory.Pair` readable in a terminal, in Markdown, in LaTeX and in Jupyter.

The records stay data: each method here imports its output (derive.report, derive.latex) when
called, never at import, so the layers still point down at import time (tests/test_layers.py
names this module's upward calls and checks that it holds nothing else).
"""

from __future__ import annotations


class Viewable:
    """Mixed into the record classes (which are dataclasses with ``repr=False``)."""

    __slots__ = ()

    def to_text(self, width: int = 80) -> str:
        """The terminal view: the summary first, then the steps, formulas fitted to ``width``
        columns (the 2-D form where it fits, a one-line form where it does not)."""
        from .report import render

        return render(self, width=width)

    def to_markdown(self) -> str:
        """Markdown with ``$…$`` / ``$$…$$`` math: the summary, then the numbered steps."""
        from .report import markdown

        return markdown(self)

    def to_latex(self) -> str:
        """The LaTeX fragment `derive latex NAME` writes (`derive kl --latex` for a pair)."""
        from .latex import record_latex

        return record_latex(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        from .report import summary_line

        return summary_line(self)
