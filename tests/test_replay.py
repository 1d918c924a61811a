"""A repeated command is answered from the cache (derive/cli/replay.py): the same stdout and
stderr, without importing SymPy; nothing is replayed across a change of what the output
depends on, from an entry we did not write, or from a run a time limit cut short."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from derive.cli import main
from derive.cli import show as show_command

LOMAX = [
    "new",
    "--density",
    r"\frac{\alpha}{\lambda}\left(1+\frac{y}{\lambda}\right)^{-(\alpha+1)}",
    "--observed",
    "y",
    "--param",
    "alpha",
    "lambda",
    "--positive",
    "alpha",
    "lambda",
    "--support",
    "0,oo",
    "--name",
    "lomax",
]

# the command in a fresh process; on stderr's last line whether SymPy was imported
_PROBE = (
    "import sys; from derive.cli import main; rc = main(sys.argv[1:]); "
    "sys.stderr.write('\\nSYMPY ' + str('sympy' in sys.modules)); sys.exit(rc)"
)


def _run(args, cache_dir, columns="80"):
    env = dict(os.environ, DERIVE_CACHE="1", DERIVE_CACHE_DIR=str(cache_dir), COLUMNS=columns)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr
    err, _, imported = done.stderr.rpartition("\nSYMPY ")
    return done.stdout, err, imported == "True"


@pytest.mark.parametrize(
    "args", [["show", "gaussian"], ["show", "poisson", "--json"], [*LOMAX, "--latex"]]
)
def test_a_repeated_command_prints_the_same_without_sympy(args, tmp_path):
    first = _run(args, tmp_path)
    again = _run(args, tmp_path)
    assert first[2] and not again[2]  # the first run derived, the second replayed
    assert again[:2] == first[:2]
    if "--latex" in args:  # the reading goes to stderr, and is replayed there
        assert again[1].startswith("derive: read the density as p(y | α, λ)")


def test_what_the_output_depends_on_is_part_of_the_key(tmp_path):
    wide = _run(["show", "student-t"], tmp_path, columns="200")
    narrow = _run(["show", "student-t"], tmp_path, columns="40")
    assert narrow[2]  # not a replay of the wide run
    assert narrow[0] != wide[0] and max(map(len, narrow[0].splitlines())) <= 40
    other = _run([*LOMAX[:-1], "lomax2", "--latex"], tmp_path)
    assert other[2] and "lomax2" in other[0]


def test_an_entry_we_did_not_write_is_not_replayed(tmp_path):
    first = _run(["show", "gaussian"], tmp_path)
    for entry in tmp_path.glob("out-*.json"):
        data = entry.read_bytes()
        entry.write_bytes(data.replace(b"mean squared error", b"mean squared ERROR"))
    again = _run(["show", "gaussian"], tmp_path)
    assert again[2] and again[0] == first[0]


def test_a_run_cut_short_by_a_time_limit_is_not_kept(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    calls = []
    handler = show_command._show

    def slow(args):  # as a derivation whose check ran out of time
        from derive.budget import bounded

        calls.append(bounded(lambda: __import__("time").sleep(2), 0.05))
        return handler(args)

    monkeypatch.setattr(show_command, "_show", slow)
    for _ in range(2):
        assert main(["show", "exponential"]) == 0
    assert calls == [None, None]  # computed both times: the first result was not kept
    capsys.readouterr()
    monkeypatch.setattr(show_command, "_show", handler)
    assert main(["show", "exponential"]) == 0  # kept this time
    first = capsys.readouterr().out
    monkeypatch.setattr(show_command, "_show", lambda args: pytest.fail("not replayed"))
    assert main(["show", "exponential"]) == 0
    assert capsys.readouterr().out == first


def test_a_replay_writes_the_file_of_o(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "poisson.py"
    assert main(["code", "poisson", "-o", str(out)]) == 0
    written = out.read_text()
    out.unlink()
    assert main(["code", "poisson", "-o", str(out)]) == 0
    assert out.read_text() == written
