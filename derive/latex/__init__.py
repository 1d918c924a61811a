"""LaTeX for papers: the one configured printer (:mod:`.printer`), the one Jinja environment and
the documents' contexts (:mod:`.document`, :mod:`.infotheory`), and PDF builds (:mod:`.pdf`).

Python passes math fragments from the printer and plain data to ``templates/*.tex.j2``; every
word of prose lives in the templates.
"""

from .documents import (
    FILTERS,
    RELATIONS,
    SECTIONS,
    Notation,
    Section,
    breakable,
    code,
    document,
    environment,
    escape,
    fragment,
    fragment_context,
    relative_context,
    render_template,
    template_dir,
)
from .pdf import BuildFailed, build_pdf, tex_engine
from .printer import WIDTH, Printer, equation, lines, tex

__all__ = [
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
    "lines",
    "relative_context",
    "render_template",
    "template_dir",
    "tex",
    "tex_engine",
]
