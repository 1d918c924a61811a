"""`-o FILE` behaves like the tools users know (issue 11): a regular file is replaced
atomically and keeps its permission bits, a hard-linked file is rewritten in place, a symlink is
followed, a FIFO or a character device is written as a stream and never replaced, a directory is
refused in one line."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from derive.cli import main
from derive.cli.io import write_output

SOURCE = "def loss(y):\n    return y\n"


def code_to(capsys, path):
    status = main(["code", "gaussian", "-o", str(path)])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_new_file_gets_the_usual_mode(tmp_path):
    mask = os.umask(0o022)
    try:
        write_output(SOURCE, str(tmp_path / "m.py"))
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "m.py").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]  # no temporary left


def test_an_existing_private_file_keeps_its_mode_and_is_replaced(tmp_path):
    target = tmp_path / "m.py"
    target.write_text("old")
    target.chmod(0o600)
    before = target.stat().st_ino
    write_output(SOURCE, str(target))
    assert target.read_text() == SOURCE
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino != before  # replaced by a rename, not rewritten
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


def test_a_hard_link_is_kept(tmp_path):
    target, other = tmp_path / "m.py", tmp_path / "also.py"
    target.write_text("old")
    os.link(target, other)
    write_output(SOURCE, str(target))
    assert other.read_text() == SOURCE  # both names see the new content
    assert target.stat().st_ino == other.stat().st_ino


def test_a_symlink_is_followed_and_its_target_replaced(tmp_path):
    real = tmp_path / "real.py"
    real.write_text("old")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    write_output(SOURCE, str(link))
    assert link.is_symlink() and real.read_text() == SOURCE


def test_a_fifo_is_written_as_a_stream(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    status, out, err = code_to(capsys, fifo)
    reader.join(timeout=60)
    assert (status, out, err) == (0, "", "")
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO
    assert received and received[0].startswith('r"""') and "def loss(" in received[0]


def test_dev_null_is_written_not_replaced(capsys):
    status, _, err = code_to(capsys, "/dev/null")
    assert (status, err) == (0, "")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
def test_a_private_character_device_stays_a_device(tmp_path, capsys):
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
    status, _, err = code_to(capsys, device)
    assert (status, err) == (0, "")
    assert stat.S_ISCHR(device.stat().st_mode)


def test_a_directory_is_refused_in_one_line(tmp_path, capsys):
    status, out, err = code_to(capsys, tmp_path)
    assert status == 2 and out == "" and err.count("\n") == 1 and "is a directory" in err


def test_a_long_missing_directory_is_echoed_cut(tmp_path, capsys):
    path = tmp_path / ("d" * 300) / "m.py"
    status, _, err = code_to(capsys, path)
    assert status == 2 and err.count("\n") == 1 and len(err) < 300
