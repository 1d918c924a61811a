"""The benchmark runs end to end at a small size and prints its tables (speed is not asserted here:
the README records the full-size run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "bench_losses.py"
LOSSES = ["mse", "bce_logits", "poisson_log", "gaussian_nll", "softmax_ce"]


def run(*args):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--n", "40000", "--small", "256", "--repeat", "1", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize(
    "backend, dtypes", [("numpy", ["float64", "float32"]), ("numba", ["float32"])]
)  # (numba: one dtype, each compiles its kernels)
def test_benchmark_prints_the_side_by_side_tables(backend, dtypes):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    pytest.importorskip(backend)
    lines = run("--backend", backend, "--dtype", *dtypes)
    assert f"derive's emitted {backend} loss" in lines[2]
    assert lines[0].startswith("CPU: ") and "numpy SIMD: " in lines[0]
    assert "numpy " in lines[1] and "torch " in lines[1] and "scikit-learn " in lines[1]
    headers = [
        i for i, line in enumerate(lines) if line.startswith("loss ") and "derive ms" in line
    ]
    assert len(headers) == 2 * len(dtypes)  # 40,000 and 256 values, each dtype
    for i in headers:
        assert "÷ torch" in lines[i] and "÷ sklearn" in lines[i] and "checks %" in lines[i]
        assert [line.split()[0] for line in lines[i + 1 : i + 6]] == LOSSES
    verdicts = [line for line in lines if " target " in line]
    assert len(verdicts) == len(dtypes) * (5 + 2)
    assert all(line.endswith((" MET", " NOT MET")) for line in verdicts)
    assert lines[-1].startswith("every target: ")


def test_markdown_table():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    lines = run("--markdown", "--dtype", "float64", "--backend", "numpy")
    assert lines[0].startswith("**Measured on** CPU: ")
    rows = [line for line in lines if line.startswith("| ")]
    assert rows[0].startswith("| loss | derive ms | ÷ torch")
    assert [r.split(" | ")[0][2:] for r in rows[1:6]] == LOSSES


def test_composite_benchmark_prints_its_table():
    pytest.importorskip("torch")
    pytest.importorskip("statsmodels")
    script = SCRIPT.with_name("bench_composites.py")
    done = subprocess.run(
        [sys.executable, str(script), "--n", "20000", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert sum("--censored" in line for line in done.stdout.splitlines()) == 2
    assert "MixtureSameFamily" in done.stdout


def test_stable_form_benchmark_prints_a_row_per_layout():
    """bench_stable_forms.py at a small size: every row's emitted NLL agrees with its naive
    formula (the script asserts it) and is printed (speed is not asserted here)."""
    script = SCRIPT.with_name("bench_stable_forms.py")
    done = subprocess.run(
        [sys.executable, str(script), "--n", "2000", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()[1:]
    entries = ["cauchy"] + ["student-t"] * 4 + ["negative-binomial"] * 3
    assert [r.split()[0] for r in rows] == entries
    assert all(float(r.split()[-1]) > 0 for r in rows)
