"""The GBM objective's one shared pass (gradient and hessian together) against the
closed forms written out here, at more examples than one block, in float64 and float32; and the
objective benchmark end to end at a tiny size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from derive.codegen import load

CLOSED_FORMS = {
    "poisson-log": lambda y, eta: (np.exp(eta) - y, np.exp(eta)),
    "bernoulli-logit": lambda y, z: (expit(z) - y, expit(z) * expit(-z)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_objective_matches_the_closed_form(name, dtype, rng):
    m = load(name, grad=True)
    n = 2 * m._BLOCK + 5
    raw = (2 * rng.normal(size=n)).astype(dtype)
    y = (rng.poisson(2.0, n) if name == "poisson-log" else rng.integers(0, 2, n)).astype(dtype)
    g, h = m.sklearn_objective(y, raw)
    assert g.dtype == dtype and h.dtype == dtype and g.shape == h.shape == (n,)
    want_g, want_h = CLOSED_FORMS[name](y.astype(np.float64), raw.astype(np.float64))
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(g, want_g, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(h, np.maximum(want_h, np.finfo(dtype).eps), rtol=rtol)
    np.testing.assert_array_equal(g, m.gradient(y, raw))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bernoulli_objective_keeps_relative_accuracy_at_confident_margins(dtype, rng):
    """Margins of ±30, ±40 and ±700 over more than one block: a confident right negative's
    gradient sigma(-40) = 4.2e-18 keeps its relative accuracy (scipy's expit in float64 as the
    oracle), nothing is NaN or overflows, and the hessian is floored at the dtype's epsilon."""
    m = load("bernoulli-logit", grad=True)
    n = 3 * m._BLOCK + 7
    raw = rng.choice(np.array([-700.0, -40.0, -30.0, 0.0, 30.0, 40.0, 700.0]), n)
    y = (raw > 0).astype(float)  # every prediction right
    raw32 = raw.astype(dtype)
    with np.errstate(over="raise", invalid="raise"):
        g, h = m.sklearn_objective(y.astype(dtype), raw32)
    exact_g = expit(raw32.astype(float)) - y
    exact_h = np.maximum(
        expit(raw32.astype(float)) * expit(-raw32.astype(float)), np.finfo(dtype).eps
    )
    eps, tiny = float(np.finfo(dtype).eps), np.finfo(dtype).tiny
    # y = 0, margin < 0: g = sigma(margin), tiny, relative accuracy (below `tiny`: subnormal)
    keep = (raw < 0) & (np.abs(exact_g) >= tiny)
    np.testing.assert_allclose(g[keep], exact_g[keep], rtol=8 * eps)
    assert np.all(np.abs(g[(raw < 0) & ~keep]) <= 2 * tiny)
    # y = 1, margin > 0: g = sigma(margin) - 1 cancels (as for expit): absolute accuracy
    assert np.all(np.abs(g[raw >= 0] - exact_g[raw >= 0]) <= eps)
    np.testing.assert_allclose(h, exact_h, rtol=8 * float(np.finfo(dtype).eps))


def test_objective_benchmark_runs():
    pytest.importorskip("xgboost")
    script = Path(__file__).parent.parent / "benchmarks" / "bench_objective.py"
    tiny = ["--n", "5000", "--rows", "500", "--rounds", "2", "--repeat", "1"]
    done = subprocess.run(
        [sys.executable, str(script), *tiny],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    verdicts = [line for line in done.stdout.splitlines() if " target " in line]
    assert len(verdicts) == 4 and all(v.endswith(("MET", "NOT MET")) for v in verdicts)
