"""The emitted numpy losses, side by side with torch CPU, sklearn's Cython losses, scipy.stats and a
memory-bandwidth reference, in one run.

    python benchmarks/bench_losses.py [--n 4000000] [--repeat 7] [--classes 10]

One thread, float64, N values per input array (4M by default; the softmax cross-entropy takes N
logits, N/classes rows), ``reduction="mean"``, best CPU time of --repeat runs after one warm-up.
Ratios are time(derive) / time(other): below 1 is faster.  The scipy column compares derive's
full ``nll`` with scipy.stats' −logpdf (both are the full negative log-density); the bandwidth
reference sums the same input arrays (numpy's sum: one read of each input, no arithmetic to
speak of).  Peak extra memory is what the derive call allocates on top of its inputs
(tracemalloc; numpy reports its buffers to it).
"""

from __future__ import annotations

import argparse
import math
import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread, set before numpy, torch and sklearn load their pools

import numpy as np  # noqa: E402 (after the thread settings above)


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


def best(functions, repeat):
    """{name: best CPU time in milliseconds} of ``repeat`` rounds after one warm-up round; each
    round calls every function once, in turn, so that a slow spell of the machine falls on all
    of them alike.

    Every implementation runs on one thread, so its CPU time is its wall time on an idle
    machine, and unlike wall time it does not count the time other processes hold the core."""
    times = {name: [] for name in functions}
    for round_ in range(repeat + 1):
        for name, f in functions.items():
            start = time.process_time()
            f()
            if round_:
                times[name].append(time.process_time() - start)
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


def _format(value, width, digits=2):
    return f"{'—':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def run(n, repeat, classes):
    import torch

    from derive.codegen import load

    torch.set_num_threads(1)
    torch_fns, sklearn_fns, scipy_fns = _torch_cases(), _sklearn_cases(), _scipy_cases()
    rng = np.random.default_rng(0)
    rows = []
    for label, entry, make in CASES:
        module = load(entry)
        values = make(rng, n, classes)
        args = [values[name] for name in (*module.OBSERVED, *module.PARAMS, *module.FIXED)]
        arrays = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
        tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
        if "sigma" in arrays:
            tensors["var"] = tensors["sigma"] ** 2
        if label == "softmax_ce":
            arrays["labels"] = np.argmax(arrays["y"], axis=1).astype(np.float64)
        # check before timing: the same number, up to rounding, from derive and torch
        ours, theirs = float(module.loss(*args)), float(torch_fns[label](tensors))
        assert math.isclose(ours, theirs, rel_tol=1e-9), (label, ours, theirs)
        sk = sklearn_fns.get(label)
        inputs = [a for a in args if np.ndim(a) > 0]
        functions = {
            "derive": lambda module=module, args=args: module.loss(*args),
            "nll": lambda module=module, args=args: module.nll(*args),
            "torch": lambda f=torch_fns[label], t=tensors: f(t),
            "scipy": lambda f=scipy_fns[label], a=arrays: f(a),
            "sum": lambda inputs=inputs: sum(float(a.sum()) for a in inputs),
        }
        if sk:
            functions["sklearn"] = lambda f=sk, a=arrays: f(a)
        ms = best(functions, repeat)
        derive_ms, nll_ms, torch_ms = ms["derive"], ms["nll"], ms["torch"]
        sklearn_ms, scipy_ms, bandwidth_ms = ms.get("sklearn"), ms["scipy"], ms["sum"]
        memory = peak_extra_mib(lambda module=module, args=args: module.loss(*args))
        rows.append(
            {
                "loss": label,
                "derive ms": derive_ms,
                "÷ torch": derive_ms / torch_ms,
                "÷ sklearn": derive_ms / sklearn_ms if sklearn_ms else None,
                "nll ÷ scipy": nll_ms / scipy_ms,
                "÷ bandwidth": derive_ms / bandwidth_ms,
                "extra MiB": memory,
                "torch ms": torch_ms,
                "sklearn ms": sklearn_ms,
                "scipy ms": scipy_ms,
                "sum ms": bandwidth_ms,
            }
        )
    return rows


def report(rows, n, classes):
    columns = list(rows[0])
    widths = {c: max(len(c), 9) for c in columns}
    lines = [
        f"derive emitted numpy loss, reduction='mean': float64, one thread, N = {n:,} values "
        f"per input (softmax_ce: {n // classes:,} rows x {classes} classes)",
        "ratios are time(derive) / time(other); below 1 is faster",
        "",
        "  ".join(f"{c:>{widths[c]}}" if c != "loss" else f"{c:<12}" for c in columns),
    ]
    for row in rows:
        cells = []
        for c in columns:
            if c == "loss":
                cells.append(f"{row[c]:<12}")
            else:
                cells.append(_format(row[c], widths[c], 1 if c.endswith("ms") else 2))
        lines.append("  ".join(cells))
    torch_ratios = [r["÷ torch"] for r in rows]
    geo = math.exp(sum(map(math.log, torch_ratios)) / len(torch_ratios))
    sklearn_ratios = [r["÷ sklearn"] for r in rows if r["÷ sklearn"] is not None]
    mse = next(r for r in rows if r["loss"] == "mse")
    memory = max(r["extra MiB"] for r in rows)
    targets = [
        (f"geo-mean ÷ torch = {geo:.2f}", geo <= 0.5, "≤ 0.5"),
        (f"slowest ÷ torch = {max(torch_ratios):.2f}", max(torch_ratios) <= 1, "≤ 1"),
        (f"slowest ÷ sklearn = {max(sklearn_ratios):.2f}", max(sklearn_ratios) <= 1, "≤ 1"),
        (f"mse ÷ bandwidth = {mse['÷ bandwidth']:.2f}", mse["÷ bandwidth"] <= 1.3, "≤ 1.3"),
        (f"peak extra memory = {memory:.2f} MiB", memory <= 8, "≤ 8 MiB"),
    ]
    lines.append("")
    for text, ok, goal in targets:
        lines.append(f"{text:<34} target {goal:<8} {'met' if ok else 'NOT MET'}")
    return "\n".join(lines), all(ok for _, ok, _ in targets)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4_000_000, help="values per input array")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs (best is reported)")
    parser.add_argument("--classes", type=int, default=10, help="classes of softmax_ce")
    args = parser.parse_args(argv)
    text, _ = report(run(args.n, args.repeat, args.classes), args.n, args.classes)
    print(text)


if __name__ == "__main__":
    main()
