"""benchmarks/gpu_bench.py's dry run on the CPU (tiny N, dynamo's eager backend): every path of the
GPU benchmark runs, the emitted torch losses trace under torch.compile and agree with F.*.  No
speed is asserted (the GPU figures come from a GPU run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "gpu_bench.py"


def test_gpu_bench_dry_run_on_cpu():
    pytest.importorskip("torch")
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--device",
            "cpu",
            "--n",
            "4096",
            "--repeat",
            "1",
            "--compile-backend",
            "eager",
            "--reference-compiled",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("device: CPU") and "copy bandwidth" in lines[1]
    rows = [line.split()[0] for line in lines[3:8]]
    assert rows == ["mse", "bce_logits", "poisson_log", "gaussian_nll", "softmax_ce"]
    assert sum(" MET" in line or "NOT MET" in line for line in lines[3:8]) == 4
    assert lines[-1].startswith("every goal: ")
