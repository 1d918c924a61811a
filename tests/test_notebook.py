"""docs/tour.ipynb executes from top to bottom (nbconvert), and shows derivations as Markdown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_tour_executes():
    pytest.importorskip("torch")
    nbformat = pytest.importorskip("nbformat")
    execute = pytest.importorskip("nbconvert.preprocessors")
    nb = nbformat.read(ROOT / "docs" / "tour.ipynb", as_version=4)
    # the kernel imports this checkout's derive, whatever is installed
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    runner = execute.ExecutePreprocessor(timeout=300, kernel_name="python3")
    runner.preprocess(nb, {"metadata": {"path": str(ROOT)}})
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert len(shown) == 2 and "student-t" in shown[0] and "$$" in shown[0]
    assert any("KL(exponential" in s for s in shown)
    # the torch cell asserts its parity with torch.nn.functional.cross_entropy itself
    assert any("assert torch.allclose" in cell.source for cell in nb.cells)
