"""The stable-form benchmark runs end to end at a small size: every row's emitted NLL agrees with
its naive formula (the script asserts it) and is printed (speed is not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "bench_stable_forms.py"


def test_benchmark_prints_a_row_per_layout():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--n", "2000", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()[1:]
    entries = ["cauchy"] + ["student-t"] * 4 + ["negative-binomial"] * 3
    assert [r.split()[0] for r in rows] == entries
    assert all(float(r.split()[-1]) > 0 for r in rows)
