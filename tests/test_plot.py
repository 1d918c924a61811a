"""`derive plot`: the figure's curves are the derived losses, and the file is written."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import derivation

from derive import plot
from derive.cli import main

pytest.importorskip("matplotlib")


@pytest.fixture
def derived(monkeypatch):
    """`derive plot` on the test session's cached derivations."""
    from derive.catalog import get

    monkeypatch.setattr(
        "derive.relative.derivations",
        lambda names, report=None: [derivation(get(n).name) for n in names],
    )


def test_location_losses_share_the_residual_row():
    rows = plot.panels([derivation(n) for n in ("gaussian", "laplace", "bernoulli-logit")])
    assert [[c.name for c in row.curves] for row in rows] == [
        ["gaussian", "laplace"],
        ["bernoulli-logit", "bernoulli-logit"],
    ]
    assert rows[0].xlabel.startswith("residual")


def test_curves_are_the_losses_and_their_derivatives():
    (row,) = plot.panels([derivation("gaussian")], points=5)
    (curve,) = row.curves
    r = np.linspace(-4, 4, 5)
    np.testing.assert_allclose(curve.loss, r**2)  # (y − μ)² with r = y − μ
    np.testing.assert_allclose(curve.gradient, 2 * r)  # ∂/∂r
    (row,) = plot.panels([derivation("bernoulli-logit")], points=3)
    at_zero, at_one = row.curves
    z = np.linspace(-4, 4, 3)
    np.testing.assert_allclose(at_one.loss, np.log1p(np.exp(-z)))  # softplus(z) − z
    np.testing.assert_allclose(at_zero.gradient, 1 / (1 + np.exp(-z)))  # σ(z) − y, y = 0


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_the_figure_file_is_written(tmp_path, capsys, derived, suffix):
    target = tmp_path / f"robust{suffix}"
    argv = ["plot", "gaussian", "laplace", "cauchy", "huber", "poisson-log", "-o", str(target)]
    assert main(argv) == 0
    assert target.stat().st_size > 10_000
    magic = {".png": b"\x89PNG", ".pdf": b"%PDF"}[suffix]
    assert target.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left
    assert f"wrote {target}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["plot", "gaussian", "-o", "g.txt"], "give a file ending in .png, .pdf, .svg"),
        (["plot", "categorical-logit", "-o", "c.png"], "cannot plot categorical-logit"),
        (["plot", "gausian"], "unknown distribution 'gausian'"),
    ],
)
def test_bad_input(capsys, derived, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_without_matplotlib_the_error_says_what_to_install(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", "gaussian", "-o", str(tmp_path / "g.png")]) == 2
    assert "pip install 'derive-losses[plot]'" in capsys.readouterr().err


def test_set_holds_a_parameter_and_labels_it():
    """--set nu=5: the Student-t curve is (ν+1)/2·log1p(r²/ν) at ν = 5, not the Cauchy's ν = 1."""
    (row,) = plot.panels(
        [derivation("student-t"), derivation("cauchy")], points=5, values={"nu": 5}
    )
    student, cauchy = row.curves
    r = np.linspace(-4, 4, 5)
    np.testing.assert_allclose(student.loss, 3 * np.log1p(r**2 / 5))
    np.testing.assert_allclose(cauchy.loss, np.log1p(r**2))
    assert "\\nu = 5" in student.label and "=" not in cauchy.label.split(":")[1]
    (default,) = plot.panels([derivation("student-t")], points=5)
    np.testing.assert_allclose(default.curves[0].loss, np.log1p(r**2))  # ν = 1: the Cauchy


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "nu=0"], "--set nu=0: nu of student-t must be > 0"),
        (["--set", "nu"], "expected PARAM=NUMBER"),
        (["--set", "nu=five"], "expected PARAM=NUMBER"),
        (["--set", "foo=1"], "no plotted entry has a parameter 'foo'"),
        (["--set", "mu=1"], "mu is on the x-axis"),
    ],
)
def test_bad_set_is_one_line(tmp_path, capsys, derived, argv, message):
    target = tmp_path / "t.png"
    assert main(["plot", "student-t", *argv, "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not target.exists()


def test_every_curve_stays_visible_beside_the_mse():
    """Beside robust losses the MSE is cut at the top, so the others fill the axes."""
    rows = plot.panels([derivation(n) for n in ("gaussian", "laplace", "cauchy")])
    _bottom, top = plot._ylim([c.loss for c in rows[0].curves])
    assert top < 16 and top >= 1.6 * 4 * 0.99  # the MAE reaches 4; the MSE 16
    assert plot._ylim([c.loss for c in rows[0].curves[1:]]) is None  # nothing to cut
