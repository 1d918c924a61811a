"""LaTeX for papers: the one configured printer (:mod:`.printer`), the one Jinja environment and
the documents' contexts (:mod:`.document`, :mod:`.infotheory`), and PDF builds (:mod:`.pdf`).

Python passes math fragments from the printer and plain data to ``templates/*.tex.j2``; every
word of prose lives in the templates.
"""

from .documents import (
    RELATIONS,
    SECTIONS,
    Notation,
    Section,
    document,
    fragment,
    fragment_context,
    latex_of,
    relative_context,
    steps_of,
    variables_of,
)
from .pdf import BuildFailed, build_pdf, tex_engine
from .printer import COLUMNS, WIDTH, Printer, equation, lines, tex
from .templates import FILTERS, breakable, code, environment, escape, render_template, template_dir

__all__ = [
    "COLUMNS",
    "FILTERS",
    "RELATIONS",
    "SECTIONS",
    "WIDTH",
    "BuildFailed",
    "Notation",
    "Printer",
    "Section",
    "breakable",
    "build_pdf",
    "code",
    "document",
    "environment",
    "equation",
    "escape",
    "fragment",
    "fragment_context",
    "latex_of",
    "lines",
    "record_latex",
    "relative_context",
    "render_template",
    "steps_of",
    "template_dir",
    "tex",
    "tex_engine",
    "variables_of",
]


def record_latex(record) -> str:
    """The LaTeX of a record: the fragment of a derivation (or of a loss that is not a
    likelihood), the section of an entropy / KL pair."""
    from ..infotheory import Pair
    from .infotheory import pair_section

    return pair_section(record) if isinstance(record, Pair) else fragment(record)
