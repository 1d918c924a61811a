"""PDF builds: a standalone document compiled by latexmk or pdflatex in a private temporary
directory.  The PDF comes back as bytes; writing it (and the log of a failed build) is the
caller's."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import UserError


class BuildFailed(UserError):
    """The TeX engine stopped: the message names the first error; ``log`` is the whole log."""

    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


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


def first_error(log: str) -> str:
    """The first ``! …`` line of a TeX log with its ``l.N`` line number."""
    rows = log.splitlines()
    for number, line in enumerate(rows):
        if line.startswith("!"):
            where = next((ln for ln in rows[number + 1 : number + 4] if ln.startswith("l.")), "")
            return f"{line.lstrip('! ')} {where}".strip()
    return "see the log"


def build_pdf(
    source: str, name: str = "document", report: Callable[[str], None] | None = None
) -> tuple[bytes, str]:
    """Compile the standalone document ``source``; return the PDF's bytes and the log.

    Two pdflatex passes resolve the references (latexmk decides by itself).  A failure raises
    :class:`BuildFailed` naming the first TeX error.
    """
    command = tex_engine()
    with tempfile.TemporaryDirectory(prefix="derive-tex-") as tmp:
        work = Path(tmp) / f"{name}.tex"
        work.write_text(source, encoding="utf-8")
        passes = 1 if command[0] == "latexmk" else 2
        for number in range(1, passes + 1):
            if report is not None:
                report(f"{command[0]} {work.name} (pass {number}/{passes})")
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
            pdf = work.with_suffix(".pdf")
            if result.returncode != 0 or not pdf.exists():
                raise BuildFailed(f"{command[0]} failed on {name}.tex: {first_error(log)}", log)
        return pdf.read_bytes(), log
