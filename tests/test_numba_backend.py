"""The numba backend: numpy's module whose reductions of `loss` run as one compiled loop.

Its kernels are checked against the numpy module (itself checked against scipy, torch and mpmath
in test_codegen.py) for every catalog entry that has one, across block boundaries, in float64 and
float32 and at extreme raw outputs; its own exp, log and log1p against mpmath at 40 digits; and
every input the kernel does not take (broadcasting, strides, lists, integers, mixed dtypes,
reduction="none") against the numpy code it falls back to."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from contextlib import contextmanager
from functools import cache

import mpmath
import numpy as np
import pytest
from conftest import NAMES, derivation
from test_codegen import BENCHMARKED, batch, call, module, point

from derive.codegen import module_source
from derive.codegen.emit import _load, arguments
from derive.numeric import evaluate

numba = pytest.importorskip("numba")

N = 5000  # examples: the kernel sums blocks of 2048, so three blocks, the last partial

#: Catalog entries with no kernel, and why.
NO_KERNEL = {
    "beta": "its loss has the offset of the log-beta function, which has no scalar form here",
    "ordinal-logit": "partial class sums (the cutpoints up to the observed class)",
    "ordinal-probit": "partial class sums (the cutpoints up to the observed class)",
}


@contextmanager
def counted(m):
    """The sizes the module's kernel is called with, while in the block (m._KERNELS is what
    _reduce reads)."""
    saved, calls = dict(m._KERNELS), []
    for f, kernels in saved.items():
        m._KERNELS[f] = tuple(
            lambda *args, kernel=kernel: (calls.append(args[0]), kernel(*args))[1]
            for kernel in kernels
        )
    try:
        yield calls
    finally:
        m._KERNELS.update(saved)


@cache
def numba_module(name):
    """The numba module of a catalog entry, with --grad (its objectives are numpy's code)."""
    return _load(module_source(derivation(name), "numba", grad=True), name, "numba")


def test_every_entry_has_a_module_and_a_kernel_unless_listed(name):
    m = numba_module(name)
    assert bool(m._KERNELS) == (name not in NO_KERNEL), name
    assert m.gradient and m.loss.__module__ == m.__name__


#: float32 (the same kernel, compiled again for float32 arrays) on the benchmarked entries
FLOAT32 = [*BENCHMARKED, "student-t", "negative-binomial", "gaussian-mixture"]


@pytest.mark.parametrize(
    "name, dtype",
    [(n, np.float64) for n in NAMES] + [(n, np.float32) for n in FLOAT32 if n in NAMES],
)
def test_kernel_mean_and_sum_equal_numpy(name, dtype, rng):
    d, m = derivation(name), numba_module(name)
    if not m._KERNELS:
        pytest.skip(f"{name} has no kernel")
    ref = module(name)
    args, values = batch(d, rng, n=N, dtype=dtype)
    with counted(m) as calls:
        for reduction in ("mean", "sum"):
            got = call(m, "loss", args, values, reduction=reduction)
            expected = call(ref, "loss", args, values, reduction=reduction)
            assert type(got) is np.dtype(dtype).type
            rel = 1e-12 if dtype == np.float64 else 2e-6
            assert float(got) == pytest.approx(float(expected), rel=rel, abs=rel), reduction
    assert calls == [N, N]  # the kernel ran, over every example


EXTREMES = {  # entry: (argument, values) at raw outputs where a naive formula overflows
    "bernoulli-logit": ("z", [-745.0, -700.0, -40.0, -30.0, 0.0, 30.0, 40.0, 700.0, 745.0]),
    "poisson-log": ("eta", [-700.0, -30.0, 0.0, 30.0, 200.0, 700.0]),
    "gaussian-hetero": ("sigma", [1e-300, 1e-30, 1e-5, 1.0, 1e5, 1e300]),
}


@pytest.mark.parametrize("entry", sorted(EXTREMES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_at_extreme_raw_outputs_matches_mpmath(entry, dtype, rng):
    """At the float64 or float32 inputs, against mpmath's value rounded to that dtype (inf where
    it overflows it)."""
    d, m = derivation(entry), numba_module(entry)
    name, raw = EXTREMES[entry]
    args, values = batch(d, rng, n=len(raw), dtype=dtype)
    (arg,) = [a for a in args if a.name == name]
    with np.errstate(over="ignore", under="ignore"):
        values[arg] = np.array(raw, dtype)
    mpmath.mp.dps = 40
    rel = 1e-13 if dtype == np.float64 else 2e-6
    with counted(m) as calls:
        for i in range(len(raw)):
            if values[arg][i] == 0 or not np.isfinite(values[arg][i]):
                continue  # outside the dtype's range
            one = {a: values[a][i : i + 1].copy() for a in args}
            got = call(m, "loss", args, one, reduction="sum")
            with np.errstate(over="ignore"):
                expected = dtype(float(evaluate(d.loss, point(args, values, i), dps=40)))
            assert type(got) is dtype
            assert float(got) == pytest.approx(float(expected), rel=rel, abs=1e-300), raw[i]
    assert calls and set(calls) == {1}


def _vectorised(f):
    """f over an array, in a compiled loop with the kernels' error model."""

    @numba.njit(error_model="numpy")
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = f(x[i])
        return out

    return apply


def _ulps(got, exact):
    exact = np.array([float(v) for v in exact])
    finite = np.isfinite(exact) & (exact != 0)
    assert np.array_equal(np.isinf(got), np.isinf(exact))
    assert np.array_equal(got[exact == 0], exact[exact == 0])
    return (np.abs(got[finite] - exact[finite]) / np.spacing(np.abs(exact[finite]))).max()


def test_the_kernels_exp_log_and_log1p_are_within_one_ulp_of_mpmath():
    """Over their whole range, subnormals and the edges of overflow included."""
    m = numba_module("poisson-log")
    rng = np.random.default_rng(7)
    mpmath.mp.dps = 40
    edges = [709.782712893384, 709.7827128933841, -708.4, -720.0, -745.13, -745.14, 0.0, 1e-300]
    x = np.concatenate([rng.uniform(-746, 710, 4000), rng.uniform(-1, 1, 1000), edges])
    assert _ulps(_vectorised(m._k_exp)(x), (mpmath.exp(v) for v in x)) <= 1
    positive = np.concatenate([np.exp(rng.uniform(-744, 709, 4000)), [5e-324, 1e-310, 1.0, 2.0]])
    positive = np.append(positive, np.finfo(float).max)
    assert _ulps(_vectorised(m._k_log)(positive), (mpmath.log(v) for v in positive)) <= 1
    u = np.concatenate([positive[:-1], -rng.random(1000), -np.exp(rng.uniform(-740, 0, 1000))])
    assert _ulps(_vectorised(m._k_log1p)(u), (mpmath.log1p(v) for v in u)) <= 1
    unit = np.concatenate([rng.random(4000), np.exp(rng.uniform(-740, 0, 1000)), [0.0, 1.0]])
    assert _ulps(_vectorised(m._k_log1p_unit)(unit), (mpmath.log1p(v) for v in unit)) <= 1
    specials = np.array([np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(_vectorised(m._k_exp)(specials), [np.inf, 0.0, np.nan])
    np.testing.assert_array_equal(
        _vectorised(m._k_log)(np.array([0.0, -1.0, np.inf, np.nan])),
        [-np.inf, np.nan, np.inf, np.nan],
    )
    np.testing.assert_array_equal(
        _vectorised(m._k_log1p)(np.array([-1.0, -2.0, np.inf])), [-np.inf, np.nan, np.inf]
    )


def test_the_float32_kernels_exp_log_and_log1p_are_within_two_ulp_of_mpmath():
    m = numba_module("poisson-log")
    rng = np.random.default_rng(8)
    f32 = np.float32
    x = np.concatenate([rng.uniform(-103, 88.7, 4000), rng.uniform(-1, 1, 1000)]).astype(f32)
    x = np.append(x, f32([88.72, -87.3, -100.0, -103.9, 0.0]))

    def ulps(got, exact):
        exact = np.array([float(v) for v in exact]).astype(f32)  # the float32 rounding of it
        assert np.array_equal(np.isinf(got), np.isinf(exact)) and got.dtype == f32
        finite = np.isfinite(exact) & (exact != 0)
        diff = np.abs(got[finite].astype(float) - exact[finite].astype(float))
        return (diff / np.spacing(np.abs(exact[finite]))).max()

    assert ulps(_vectorised(m._k_exp32)(x), (mpmath.exp(float(v)) for v in x)) <= 2
    positive = np.exp(rng.uniform(-103, 88, 4000)).astype(f32)
    positive = np.append(positive, f32([1e-45, 1e-40, 1.0, 2.0, np.finfo(f32).max]))
    assert ulps(_vectorised(m._k_log32)(positive), (mpmath.log(float(v)) for v in positive)) <= 2
    u = np.concatenate([positive[:-1], -rng.random(1000).astype(f32)])
    assert ulps(_vectorised(m._k_log1p32)(u), (mpmath.log1p(float(v)) for v in u)) <= 2
    unit = np.concatenate([rng.random(4000), np.exp(rng.uniform(-100, 0, 1000))]).astype(f32)
    assert ulps(_vectorised(m._k_log1p_unit32)(unit), (mpmath.log1p(float(v)) for v in unit)) <= 2


@pytest.mark.parametrize("entry", ["bernoulli-logit", "poisson-log", "categorical-logit"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_kernel_loop_is_vectorised(entry, dtype):
    """The point of the kernels: their loops compile to SIMD code (256-bit registers on AVX2),
    in float32 with 8 lanes of float32 arithmetic."""
    m = numba_module(entry)
    args = [np.zeros((64, 3) if a.vector else 64, dtype) for a in arguments(derivation(entry))]
    m.loss(*args)
    kernel = m._KERNELS[m._loss][dtype == np.float32]
    assembly = kernel.inspect_asm(kernel.signatures[0])
    kind = "ps" if dtype == np.float32 else "pd"
    packed = len(re.findall(rf"\tv\w+{kind}\t.*%[yz]mm", assembly))
    assert packed > 20, f"{packed} packed {dtype.__name__} instructions on wide registers"


def _falls_back(m, ref, cases, taken):
    """Each of `cases` equals the numpy module's loss without a kernel call, and `taken` (the
    kernel's case) with one, of its size."""
    with counted(m) as calls:
        for args in cases:
            for reduction in ("mean", "sum", "none"):
                np.testing.assert_allclose(
                    m.loss(*args, reduction=reduction),
                    ref.loss(*args, reduction=reduction),
                    rtol=1e-13,
                )
        assert calls == []
        assert float(m.loss(*taken)) == pytest.approx(float(ref.loss(*taken)), rel=1e-13)
    assert calls == [np.size(taken[0])]


def test_inputs_the_kernel_does_not_take_fall_back_to_numpy(rng):
    m, ref = numba_module("gaussian-hetero"), module("gaussian-hetero")
    y, mu, sigma = rng.normal(size=(40, 3)), rng.normal(size=(40, 3)), rng.uniform(0.5, 2, (40, 3))
    cases = [
        (y, mu, sigma[:1]),  # broadcast
        (y.T.copy().T, mu, sigma),  # Fortran order
        (y[:, ::2], mu[:, ::2], sigma[:, ::2]),  # strided
        (y.tolist(), mu, sigma),  # a list
        (y.astype(np.float32), mu, sigma),  # mixed dtypes
        (np.rint(y).astype(np.int64), mu, sigma),  # integers
    ]
    _falls_back(m, ref, cases, (y, 0.0, 1.5))  # numbers go to the kernel as they are


def test_labels_outside_the_unit_interval_are_refused_as_in_numpy(rng):
    m = numba_module("bernoulli-logit")
    z = rng.normal(size=N)
    y = (rng.random(N) < 0.5).astype(float)
    y[N - 3] = 1.5
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\].*from 0.0 to 1.5"):
        m.loss(y, z)
    y[N - 3] = np.nan  # NaN passes, as in numpy: the loss is NaN
    assert np.isnan(m.loss(y, z))
    y[N - 3] = -0.0
    assert np.isfinite(m.loss(y, z))


def test_derive_code_emits_a_module_that_needs_numpy_and_numba(tmp_path):
    out = tmp_path / "m.py"
    cmd = [sys.executable, "-m", "derive", "code", "poisson-log", "--backend", "numba", "-o", out]
    subprocess.run(cmd, check=True, capture_output=True)
    source = out.read_text()
    ast.parse(source)
    assert re.search(r"it needs only numpy and (scipy.special and )?numba\.", source)
    assert "derive code poisson-log --backend numba" in source


def test_vector_kernel_at_extreme_logits_matches_mpmath():
    """categorical-logit's rows: a log-sum-exp shifted by each row's maximum, in the kernel."""
    d, m = derivation("categorical-logit"), numba_module("categorical-logit")
    args = arguments(d)
    z = np.array(
        [[1000.0, -1000.0, 0.0], [-800.0, -800.0, -800.0], [40.0, 0.0, -40.0], [1e-3, 0, 0]]
    )
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])
    values = dict(zip(args, (y, z), strict=True))
    with counted(m) as calls:
        for i in range(len(z)):
            got = m.loss(y[i : i + 1], z[i : i + 1], reduction="sum")
            expected = float(evaluate(d.loss, point(args, values, i), dps=40))
            assert float(got) == pytest.approx(expected, rel=1e-13), (z[i], got)
    assert calls == [1] * len(z)


def test_vectors_the_kernel_does_not_take_fall_back_to_numpy(rng):
    m, ref = numba_module("gaussian-mixture"), module("gaussian-mixture")
    y = rng.normal(size=50)
    pi = rng.dirichlet(np.ones(4), 50)
    mu, sigma = rng.normal(size=(50, 4)), rng.uniform(0.5, 2, (50, 4))
    cases = [
        (y, pi, mu, sigma[:, :1]),  # one class, broadcast over the others
        (y, pi, mu, sigma[:1]),  # one row, broadcast over the examples
        (y, pi, mu.T.copy().T, sigma),  # Fortran order
    ]
    _falls_back(m, ref, cases, (y, pi, mu, sigma))
