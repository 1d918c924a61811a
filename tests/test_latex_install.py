"""The templates ship with the package: a plain (non-editable) install renders LaTeX."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

SCRIPT = """
import derive, derive.latex
from derive.catalog import CATALOG
from derive.derivation import derive as run
print(derive.__file__)
print(derive.latex.template_dir())
print(derive.latex.document([run(CATALOG["gaussian"])])[-200:])
"""


def test_a_wheel_carries_the_templates_and_renders_from_them(tmp_path):
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 68:
        pytest.skip("building offline needs setuptools >= 68 installed (pyproject's requirement)")
    source = tmp_path / "src"  # a copy, so the build leaves the checkout untouched
    for part in ("derive", "templates"):
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, source / part)
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*pip, str(source), "-w", str(tmp_path / "dist")],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    modules = ("module.py.j2", "module_numpy.py.j2", "module_torch.py.j2", "module_jax.py.j2")
    for template in ("fragment.tex.j2", "document.tex.j2", "macros.tex.j2", *modules):
        assert f"derive/templates/{template}" in names
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "DERIVE_CACHE": "0"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    module, templates, tail = result.stdout.split("\n", 2)
    site = tmp_path / "site" / "derive"
    assert Path(module) == site / "__init__.py" and Path(templates) == site / "templates"
    assert tail.rstrip().endswith(r"\end{document}")
