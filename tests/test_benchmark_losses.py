"""The benchmark runs end to end at a small size and prints its table (speed is not asserted here:
the README records the full-size run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "bench_losses.py"


def test_benchmark_prints_the_side_by_side_table():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--n", "40000", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("loss"))
    assert "÷ torch" in header and "÷ sklearn" in header and "÷ bandwidth" in header
    rows = [line.split()[0] for line in lines[lines.index(header) + 1 :] if line.strip()][:5]
    assert rows == ["mse", "bce_logits", "poisson_log", "gaussian_nll", "softmax_ce"]
    assert sum("target" in line for line in lines) == 5
