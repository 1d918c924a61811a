"""What the CLI alone does: write results (the one writer of files), report progress on a
terminal, and show warnings as one line each."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from ..errors import UserError
from ..errors import shown as _shown


def unicode_stdout(args=None) -> bool:
    """Whether text for stdout may hold Unicode: it goes to a file (-o, UTF-8), or stdout's
    encoding can write the maths (``PYTHONIOENCODING=ascii`` or a C locale cannot)."""
    if args is not None and getattr(args, "output", None):
        return True
    try:
        "μσ—·ℝ⎛⎞─".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def write_output(content: str | bytes, path: str | None) -> None:
    """Print ``content``, or write it to ``path`` as the tools users know do:

    - a new or existing regular file is replaced atomically (a temporary file beside it, then a
      rename); an existing file keeps its permission bits (and owner, where allowed); a file with
      several hard links is rewritten in place, so that every name sees the new content;
    - a symbolic link is followed, and its target written by these rules;
    - anything else that exists (a FIFO, a character device such as /dev/null or /dev/stdout) is
      opened and written as a stream, never replaced;
    - a directory, or a path in a directory that does not exist, is refused in one line.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path is None:
        if isinstance(content, str):
            text = content if content.endswith("\n") else content + "\n"
            try:
                sys.stdout.write(text)
                return
            except UnicodeEncodeError:  # source or LaTeX for a terminal that cannot show it
                if not hasattr(sys.stdout, "buffer"):
                    raise
                data = text.encode("utf-8")  # what a file would hold (PEP 3120 for source)
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        return
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UserError(f"cannot write {_echo(path)}: {exc.strerror}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UserError(f"cannot write {_echo(path)}: it is a directory; give a file name")
    if info is not None and (not stat.S_ISREG(info.st_mode) or info.st_nlink > 1):
        _stream(data, target, path)
        return
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UserError(f"cannot write {_echo(path)}: directory {_echo(directory)} does not exist")
    _replace(data, target, directory, info, path)


def _echo(path) -> str:
    """A path as an error message shows it: on one line, cut to 80 characters."""
    return _shown(path, quote=False)


def _stream(data: bytes, target: Path, shown: str) -> None:
    """Write into what is at ``target`` (a FIFO, a device, a hard-linked file) without
    replacing it."""
    try:
        with open(target, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise UserError(f"cannot write {_echo(shown)}: {exc.strerror}") from None


def _replace(data: bytes, target: Path, directory: Path, info, shown: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {_echo(shown)}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if info is None:  # mkstemp makes 0600; a new file gets the usual mode
                os.fchmod(fh.fileno(), 0o666 & ~_umask())
            else:
                os.fchmod(fh.fileno(), stat.S_IMODE(info.st_mode))
                with contextlib.suppress(OSError):  # keeping the owner needs the right to
                    os.fchown(fh.fileno(), info.st_uid, info.st_gid)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {_echo(shown)}: {exc.strerror}") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Progress:
    """The progress callback the CLI hands down (see derive.progress): "label i/n: item" on one
    rewritten line of stderr when it is a terminal, or when DERIVE_PROGRESS=1 asks for it."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        forced = os.environ.get("DERIVE_PROGRESS")
        self.enabled = forced == "1" if forced in ("0", "1") else self.stream.isatty()
        self.tty = self.stream.isatty()
        self.shown = False
        self.notes: list[str] = []  # every note() so far, for a replay (derive.cli.replay)

    def __call__(self, label: str, number: int, total: int, item: str) -> None:
        if not self.enabled:
            return
        line = f"{label} {number}/{total}: {item}"
        self.stream.write(f"\r\033[K{line}" if self.tty else line + "\n")
        self.stream.flush()
        self.shown = True

    def say(self, message: str) -> None:
        """A message of its own (a PDF pass, a file written)."""
        if self.enabled:
            self.stream.write(("\r\033[K" if self.tty else "") + f"derive: {message}\n")
            self.stream.flush()

    def note(self, line: str) -> None:
        """A one-line message on stderr that is part of the command's answer (a warning, what
        was read), shown whether or not progress is; once, however often it is given."""
        if line in self.notes:
            return
        self.notes.append(line)
        self.stream.write(("\r\033[K" if self.shown and self.tty else "") + line + "\n")
        self.stream.flush()
        self.shown = False

    def close(self) -> None:
        if self.shown and self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()
        self.shown = False
