"""The emitted torch losses under torch.compile on a GPU, against torch.nn.functional and the
device's copy bandwidth, in one prepared run (well under 3 minutes on one GPU).

    python benchmarks/gpu_bench.py [--device cuda] [--n 67108864] [--dtype float32]
                                   [--repeat 20] [--compile-backend inductor] [--reference-compiled]

For each loss (mse, bce_logits, poisson_log, gaussian_nll, softmax_ce): the emitted module's
``loss(..., reduction="mean")`` (``derive code ENTRY --backend torch``) under ``torch.compile``,
F.* eager (and compiled with --reference-compiled), the best time of --repeat calls after warm-up
(CUDA events on a GPU), the bytes the loss must read (its input arrays) over that time, and that
bandwidth as a share of the device's copy bandwidth (``dst.copy_(src)`` of the same size, bytes
read + written).  Goal: ≥ 85 % of copy bandwidth for the memory-bound losses, printed MET / NOT MET.

``--device cpu --n 4096 --repeat 1 --compile-backend eager`` is the dry run the tests make: every
path is exercised (dynamo traces the emitted code) without a GPU or a C++ compiler.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

GOAL = 0.85
MEMORY_BOUND = ("mse", "bce_logits", "poisson_log", "gaussian_nll")


def inputs(torch, label, n, classes, dtype, device):
    g = torch.Generator(device="cpu").manual_seed(0)

    def normal(*shape):
        return torch.randn(*shape, generator=g, dtype=dtype).to(device)

    if label == "mse":
        return {"y": normal(n), "mu": normal(n), "sigma": 1.0}
    if label == "bce_logits":
        return {"y": (normal(n) > 0).to(dtype), "z": 3 * normal(n)}
    if label == "poisson_log":
        eta = normal(n)
        return {"y": torch.poisson(eta.exp()), "eta": eta}
    if label == "gaussian_nll":
        return {"y": normal(n), "mu": normal(n), "sigma": 0.5 + normal(n).abs()}
    rows = n // classes
    index = torch.randint(0, classes, (rows,), generator=g).to(device)
    return {
        "y": torch.nn.functional.one_hot(index, classes).to(dtype),
        "z": 2 * normal(rows, classes),
    }


def references(F):
    return {
        "mse": lambda a: F.mse_loss(a["mu"], a["y"]),
        "bce_logits": lambda a: F.binary_cross_entropy_with_logits(a["z"], a["y"]),
        "poisson_log": lambda a: F.poisson_nll_loss(a["eta"], a["y"], log_input=True),
        "gaussian_nll": lambda a: F.gaussian_nll_loss(a["mu"], a["y"], a["var"]),
        "softmax_ce": lambda a: F.cross_entropy(a["z"], a["y"]),
    }


ENTRIES = {
    "mse": "gaussian",
    "bce_logits": "bernoulli-logit",
    "poisson_log": "poisson-log",
    "gaussian_nll": "gaussian-hetero",
    "softmax_ce": "categorical-logit",
}


def timer(torch, device):
    """best(f, repeat) -> seconds of the fastest call (CUDA events on a GPU)."""
    cuda = device.startswith("cuda")

    def best(f, repeat):
        f()  # warm-up (and compilation)
        f()
        times = []
        for _ in range(repeat):
            if cuda:
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(True)
                start.record()
                f()
                stop.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(stop) / 1e3)
            else:
                t = time.perf_counter()
                f()
                times.append(time.perf_counter() - t)
        return min(times)

    return best


def copy_bandwidth(torch, best, n, dtype, device, repeat):
    """Bytes per second that dst.copy_(src) moves (read + write) for n values."""
    src = torch.empty(n, dtype=dtype, device=device).uniform_()
    dst = torch.empty_like(src)
    return 2 * src.numel() * src.element_size() / best(lambda: dst.copy_(src), repeat)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n", type=int, default=1 << 26, help="values per input array")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--compile-backend", default="inductor")
    parser.add_argument("--reference-compiled", action="store_true", help="also compile F.*")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from derive.codegen import load

    device, dtype = args.device, getattr(torch, args.dtype)
    if device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("gpu_bench: no CUDA device (use --device cpu for the dry run)")
    best = timer(torch, device)
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    print(f"device: {name}; torch {torch.__version__}; {args.dtype}; N = {args.n:,}")
    copy = copy_bandwidth(torch, best, args.n, dtype, device, args.repeat)
    print(f"copy bandwidth (read + write): {copy / 1e9:.1f} GB/s")
    refs = references(F)
    header = f"{'loss':<13} {'derive ms':>10} {'F.* ms':>9} {'÷ F.*':>6}"
    if args.reference_compiled:
        header += f" {'F.* compiled ms':>16} {'÷':>6}"
    print(header + f" {'GB/s':>7} {'÷ copy':>7}  goal")
    every = True
    for label, entry in ENTRIES.items():
        module = load(entry, backend="torch")
        a = inputs(torch, label, args.n, args.classes, dtype, device)
        if "sigma" in a and label == "gaussian_nll":
            a["var"] = a["sigma"] ** 2
        names = (*module.OBSERVED, *module.PARAMS, *module.FIXED)
        values = [a[k] for k in names]
        ours = torch.compile(module.loss, backend=args.compile_backend)
        got, want = float(ours(*values)), float(refs[label](a))
        assert abs(got - want) <= 1e-3 * max(1.0, abs(want)), (label, got, want)
        t_ours = best(lambda ours=ours, values=values: ours(*values), args.repeat)
        t_ref = best(lambda f=refs[label], a=a: f(a), args.repeat)
        line = f"{label:<13} {1e3 * t_ours:>10.3f} {1e3 * t_ref:>9.3f} {t_ours / t_ref:>6.2f}"
        if args.reference_compiled:
            compiled = torch.compile(refs[label], backend=args.compile_backend)
            t_comp = best(lambda f=compiled, a=a: f(a), args.repeat)
            line += f" {1e3 * t_comp:>16.3f} {t_ours / t_comp:>6.2f}"
        read = sum(v.numel() * v.element_size() for v in values if torch.is_tensor(v))
        share = read / t_ours / copy
        verdict = ""
        if label in MEMORY_BOUND:
            ok = share >= GOAL
            every &= ok
            verdict = f"≥ {GOAL:.0%} {'MET' if ok else 'NOT MET'}"
        print(line + f" {read / t_ours / 1e9:>7.1f} {share:>7.0%}  {verdict}")
        del a, values
    print(f"every goal: {'MET' if every else 'NOT MET'}")


if __name__ == "__main__":
    main()
