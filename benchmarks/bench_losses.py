"""The emitted numpy losses, side by side with torch CPU (eager), sklearn's Cython losses,
scipy.stats and a memory-bandwidth reference, in one run, at two sizes and two dtypes.

    python benchmarks/bench_losses.py [--n 4000000] [--small 1024] [--repeat 7] [--classes 10]
                                      [--dtype float64 float32] [--avx2] [--markdown]
                                      [--backend numpy|numba]

One thread, ``reduction="mean"``, N values per input array (the softmax cross-entropy takes N
logits, N/classes rows), best CPU time of --repeat rounds after one warm-up; at the small size each
timing is a loop of calls (the per-call overhead is what is measured there).  Ratios are
time(derive) / time(other): below 1 is faster.  "nll ÷ scipy" compares derive's full ``nll`` with
scipy.stats' −logpdf; "÷ bandwidth" compares with numpy summing the same inputs (one read of each).
"checks" is what the emitted value checks cost on top of the loss (labels outside [0, 1] refused)
and on top of the nll (+inf outside the support, NaN outside a parameter's domain): the same call
with the checks left out, side by side.  "extra MiB" is the peak memory the loss allocates on top of
its inputs (tracemalloc).  ``--avx2`` runs numpy and torch with their AVX-512 kernels disabled
(NPY_DISABLE_CPU_FEATURES, ATEN_CPU_CAPABILITY=avx2), as on a CPU without AVX-512.  The header
names the CPU, its SIMD level as numpy sees it, and the library versions; the targets of issue 16
and 11 are printed MET / NOT MET.  ``--markdown`` prints the same as a Markdown table (the
README's).  ``--backend`` chooses the emitted module: numba (the default where numba is installed:
numpy's module, with `loss`'s reductions compiled into one loop) or numpy.  In the numba kernels
the label check runs inside the loop, so "checks" measures the same kernel twice there, and their
buffers (O(block)) come from numba's allocator, which tracemalloc does not see; they compile in
the check before the timings.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread, set before numpy, torch and sklearn load their pools

#: numpy's and torch's AVX-512 kernels, disabled by --avx2 (set before either is imported)
AVX512 = (
    "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL "
    "AVX512_SPR X86_V4"
)
if "--avx2" in sys.argv[1:]:
    os.environ["NPY_DISABLE_CPU_FEATURES"] = AVX512
    os.environ["ATEN_CPU_CAPABILITY"] = "avx2"

import numpy as np  # noqa: E402 (after the thread and SIMD settings above)

# the checkout's derive, not an installed copy (a script's own folder comes first on sys.path)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class Case:
    """One loss: the catalog entry that emits it, its inputs, and the other implementations."""

    label: str
    entry: str
    inputs: Callable  # (rng, n, classes) -> {argument: array or number}
    torch: Callable  # (tensors by argument) -> scalar, mean reduction
    scipy: Callable  # (arrays by argument) -> mean −logpdf
    sklearn: Callable | None = None  # (arrays by argument) -> mean loss


def _gaussian(rng, n, classes):
    return {"y": rng.normal(size=n), "mu": rng.normal(size=n), "sigma": 1.0}


def _gaussian_hetero(rng, n, classes):
    return {"y": rng.normal(size=n), "mu": rng.normal(size=n), "sigma": rng.uniform(0.5, 2, n)}


def _bernoulli_logit(rng, n, classes):
    return {"y": rng.integers(0, 2, n).astype(float), "z": 3 * rng.normal(size=n)}


def _poisson_log(rng, n, classes):
    eta = rng.normal(size=n)
    return {"y": rng.poisson(np.exp(eta)).astype(float), "eta": eta}


def _categorical_logit(rng, n, classes):
    rows = n // classes
    return {
        "y": np.eye(classes)[rng.integers(0, classes, rows)],
        "z": 2 * rng.normal(size=(rows, classes)),
    }


def _torch_cases():
    import torch.nn.functional as F

    return {
        "mse": lambda a: F.mse_loss(a["mu"], a["y"]),
        "bce_logits": lambda a: F.binary_cross_entropy_with_logits(a["z"], a["y"]),
        "poisson_log": lambda a: F.poisson_nll_loss(a["eta"], a["y"], log_input=True),
        # torch takes the variance: σ² is computed outside the timed call (torch's advantage)
        "gaussian_nll": lambda a: F.gaussian_nll_loss(a["mu"], a["y"], a["var"], eps=1e-300),
        "softmax_ce": lambda a: F.cross_entropy(a["z"], a["y"]),  # probability targets
    }


def _sklearn_cases():
    from sklearn._loss.loss import (
        HalfBinomialLoss,
        HalfMultinomialLoss,
        HalfPoissonLoss,
        HalfSquaredError,
    )

    def multinomial(a):
        loss = HalfMultinomialLoss(n_classes=a["z"].shape[1])
        return loss(a["labels"], a["z"], n_threads=1)

    return {
        # sklearn's half squared error is half the MSE: the same work
        "mse": lambda a: HalfSquaredError()(a["y"], a["mu"], n_threads=1),
        "bce_logits": lambda a: HalfBinomialLoss()(a["y"], a["z"], n_threads=1),
        "poisson_log": lambda a: HalfPoissonLoss()(a["y"], a["eta"], n_threads=1),
        "softmax_ce": multinomial,
    }


def _scipy_cases():
    from scipy import special, stats

    return {
        "mse": lambda a: -np.mean(stats.norm.logpdf(a["y"], a["mu"], a["sigma"])),
        "bce_logits": lambda a: -np.mean(stats.bernoulli.logpmf(a["y"], special.expit(a["z"]))),
        "poisson_log": lambda a: -np.mean(stats.poisson.logpmf(a["y"], np.exp(a["eta"]))),
        "gaussian_nll": lambda a: -np.mean(stats.norm.logpdf(a["y"], a["mu"], a["sigma"])),
        "softmax_ce": lambda a: (
            -np.mean(stats.multinomial.logpmf(a["y"], 1, special.softmax(a["z"], axis=-1)))
        ),
    }


CASES = (
    ("mse", "gaussian", _gaussian),
    ("bce_logits", "bernoulli-logit", _bernoulli_logit),
    ("poisson_log", "poisson-log", _poisson_log),
    ("gaussian_nll", "gaussian-hetero", _gaussian_hetero),
    ("softmax_ce", "categorical-logit", _categorical_logit),
)


def best(functions, repeat, loops=1):
    """{name: best CPU time per call in milliseconds} of ``repeat`` rounds after one warm-up
    round; each round calls every function ``loops`` times, in turn, so that a slow spell of the
    machine falls on all of them alike, and each round starts one further along the list, so
    that every function follows every other equally often (a call right after one that wrote
    32 MB pays for the dirty cache lines it left: 3–9 % of a loss at 4M, which a fixed order
    would charge to the first function alone).

    Every implementation runs on one thread, so its CPU time is its wall time on an idle
    machine, and unlike wall time it does not count the time other processes hold the core."""
    times = {name: [] for name in functions}
    names = list(functions)
    for round_ in range(repeat + 1):
        turn = round_ % len(names)
        for name in names[turn:] + names[:turn]:
            f = functions[name]
            start = time.process_time()
            for _ in range(loops):
                f()
            if round_:
                times[name].append((time.process_time() - start) / loops)
    return {name: 1e3 * min(t) for name, t in times.items()}


def peak_extra_mib(f):
    """Peak memory f allocates while it runs (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        f()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def machine():
    """Lines naming the CPU, numpy's SIMD level and the library versions."""
    import scipy
    import sklearn
    import torch
    from numpy._core._multiarray_umath import __cpu_features__ as features

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    levels = [level for level in ("X86_V2", "X86_V3", "X86_V4") if features.get(level)]
    simd = [f for f in ("AVX2", "FMA3", "AVX512F", "AVX512_SKX", "AVX512_SPR") if features.get(f)]
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES")
    return [
        f"CPU: {model}, {os.cpu_count()} cores; numpy SIMD: {levels[-1] if levels else 'baseline'} "
        f"({' '.join(simd) or 'no AVX'}){'; AVX-512 disabled (--avx2)' if disabled else ''}; "
        f"torch CPU capability: {torch.backends.cpu.get_cpu_capability()}",
        f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, scipy {scipy.__version__}",
    ]


def _unchecked(module, function):
    """The same call without its value checks (labels, support and domain masks)."""
    f = getattr(module, "_" + function)
    plan = getattr(module, f"_{function.upper()}_PLAN", None)
    return lambda *args: module._reduce(f, args, "mean", plan)


def run(n, repeat, classes, dtype, small=False, backend="numpy"):
    import torch

    from derive.codegen import load

    torch.set_num_threads(1)
    torch_fns, sklearn_fns, scipy_fns = _torch_cases(), _sklearn_cases(), _scipy_cases()
    rng = np.random.default_rng(0)
    loops = max(1, 200_000 // n) if small else 1
    rows = []
    for label, entry, make in CASES:
        module = load(entry, backend=backend)
        values = make(rng, n, classes)
        values = {k: v.astype(dtype) if isinstance(v, np.ndarray) else v for k, v in values.items()}
        args = [values[name] for name in (*module.OBSERVED, *module.PARAMS, *module.FIXED)]
        arrays = {k: np.asarray(v, dtype=dtype) for k, v in values.items()}
        tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
        if "sigma" in arrays:
            tensors["var"] = tensors["sigma"] ** 2
        if label == "softmax_ce":
            arrays["labels"] = np.argmax(arrays["y"], axis=1).astype(dtype)
        # check before timing: the same number, up to rounding, from derive and torch
        ours, theirs = float(module.loss(*args)), float(torch_fns[label](tensors))
        assert math.isclose(ours, theirs, rel_tol=1e-9 if dtype == np.float64 else 1e-4), (
            label,
            ours,
            theirs,
        )
        sk = sklearn_fns.get(label)
        inputs = [a for a in args if np.ndim(a) > 0]
        unchecked = _unchecked(module, "loss")
        functions = {
            "derive": lambda module=module, args=args: module.loss(*args),
            "unchecked": lambda f=unchecked, args=args: f(*args),
            "torch": lambda f=torch_fns[label], t=tensors: f(t),
        }
        if not small:
            functions["nll"] = lambda module=module, args=args: module.nll(*args)
            nll_unchecked = _unchecked(module, "nll")
            functions["nll unchecked"] = lambda f=nll_unchecked, args=args: f(*args)
            functions["sum"] = lambda inputs=inputs: sum(float(a.sum()) for a in inputs)
            if dtype == np.float64:
                functions["scipy"] = lambda f=scipy_fns[label], a=arrays: f(a)
        if sk:
            functions["sklearn"] = lambda f=sk, a=arrays: f(a)
        ms = best(functions, repeat, loops)
        get = ms.get
        rows.append(
            {
                "loss": label,
                "derive ms": ms["derive"],
                "÷ torch": ms["derive"] / ms["torch"],
                "÷ sklearn": ms["derive"] / ms["sklearn"] if sk else None,
                "nll ÷ scipy": get("nll") / get("scipy") if "scipy" in ms else None,
                "÷ bandwidth": ms["derive"] / ms["sum"] if "sum" in ms else None,
                # only where the module has value checks (elsewhere it would be noise)
                "checks %": (
                    100 * (ms["derive"] / ms["unchecked"] - 1)
                    if hasattr(module, "_labels")
                    else None
                ),
                "nll checks %": (
                    100 * (ms["nll"] / ms["nll unchecked"] - 1)
                    if "nll" in ms and hasattr(module, "_domain")
                    else None
                ),
                "extra MiB": peak_extra_mib(lambda module=module, args=args: module.loss(*args)),
                "torch ms": ms["torch"],
                "sklearn ms": get("sklearn"),
            }
        )
    return rows


def geo(values):
    return math.exp(sum(map(math.log, values)) / len(values))


def targets(rows, small):
    """(text, met, goal) of the issue's targets for one table."""
    torch_ratios = [r["÷ torch"] for r in rows]
    sklearn_ratios = [r["÷ sklearn"] for r in rows if r["÷ sklearn"] is not None]
    out = []
    if not small:
        out.append(
            (f"geo-mean ÷ torch = {geo(torch_ratios):.2f}", geo(torch_ratios) <= 0.5, "≤ 0.5")
        )
    out.append((f"slowest ÷ torch = {max(torch_ratios):.2f}", max(torch_ratios) <= 1, "≤ 1 (each)"))
    out.append(
        (f"slowest ÷ sklearn = {max(sklearn_ratios):.2f}", max(sklearn_ratios) <= 1, "≤ 1 (each)")
    )
    if not small:
        checks = max(r["checks %"] for r in rows if r["checks %"] is not None)
        out.append((f"loss checks cost = {checks:.1f} %", checks <= 10, "≤ 10 %"))
        memory = max(r["extra MiB"] for r in rows)
        out.append((f"peak extra memory = {memory:.2f} MiB", memory <= 8, "≤ 8 MiB"))
    return out


COLUMNS = (
    "loss", "derive ms", "÷ torch", "÷ sklearn", "nll ÷ scipy", "÷ bandwidth", "checks %",
    "nll checks %", "extra MiB", "torch ms", "sklearn ms",
)  # fmt: skip


def _cell(row, c):
    value = row[c]
    if c == "loss":
        return value
    if value is None:
        return "—"
    digits = 4 if c.endswith("ms") and value < 1 else 1 if c.endswith(("ms", "%")) else 2
    return f"{value:.{digits}f}"


def table(rows, title, small, markdown=False):
    lines = [title, ""]
    if markdown:
        lines.append("| " + " | ".join(COLUMNS) + " |")
        lines.append("|" + "|".join("---" if c == "loss" else "---:" for c in COLUMNS) + "|")
        lines += ["| " + " | ".join(_cell(r, c) for c in COLUMNS) + " |" for r in rows]
    else:
        widths = {c: max(len(c), 9) for c in COLUMNS}
        lines.append("  ".join(f"{c:<12}" if c == "loss" else f"{c:>{widths[c]}}" for c in COLUMNS))
        for r in rows:
            lines.append(
                "  ".join(
                    f"{_cell(r, c):<12}" if c == "loss" else f"{_cell(r, c):>{widths[c]}}"
                    for c in COLUMNS
                )
            )
    lines.append("")
    found = targets(rows, small)
    for text, ok, goal in found:
        lines.append(
            f"{'- ' if markdown else ''}{text:<34} target {goal:<11} {'MET' if ok else 'NOT MET'}"
        )
    return lines, all(ok for _, ok, _ in found)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4_000_000, help="values per input array")
    parser.add_argument("--small", type=int, default=1024, help="the minibatch size (0: none)")
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds (best is reported)")
    parser.add_argument("--classes", type=int, default=10, help="classes of softmax_ce")
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    parser.add_argument("--avx2", action="store_true", help="numpy and torch without AVX-512")
    parser.add_argument("--markdown", action="store_true", help="print Markdown (the README's)")
    parser.add_argument(
        "--backend",
        choices=("numpy", "numba"),
        default="numba" if importlib.util.find_spec("numba") else "numpy",
        help="the emitted module timed (default: numba where it is installed)",
    )
    args = parser.parse_args(argv)
    lines = machine()
    if args.backend == "numba":
        import numba

        lines[1] += f", numba {numba.__version__}"
    if args.markdown:
        lines[0] = "**Measured on** " + lines[0]
    lines.append(
        f"derive's emitted {args.backend} loss, reduction='mean', one thread; ratios are "
        "time(derive) / time(other), below 1 is faster"
    )
    every = True
    sizes = [(args.n, False)] + ([(args.small, True)] if args.small else [])
    for n, small in sizes:
        for dtype in args.dtype:
            rows = run(n, args.repeat, args.classes, np.dtype(dtype), small, args.backend)
            title = (
                f"N = {n:,} {dtype} (softmax_ce: {n // args.classes:,} rows x {args.classes} "
                f"classes){', per call' if small else ''}"
            )
            text, met = table(rows, ("### " if args.markdown else "") + title, small, args.markdown)
            lines += ["", *text]
            every = every and met
    lines += ["", f"every target: {'MET' if every else 'NOT MET'}"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
