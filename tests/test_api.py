"""The public Python API re-exported by `derive`, and that importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import derive


def test_every_public_name_resolves():
    for name in derive.__all__:
        assert getattr(derive, name) is not None, name


def test_docstring_example():
    d = derive.derive(derive.get("bernoulli-logit"))
    assert (str(d.loss), d.scale, d.dropped, d.standard.id) == (
        "-y*z + softplus(z)",
        1,
        0,
        "bce_logits",
    )


def test_import_derive_does_not_import_sympy():
    code = "import sys, derive; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
