"""The torch backend's nn.Module losses against torch.nn.functional, forward and backward.

    python benchmarks/bench_torch_module.py [--n N] [--repeat R]

Prints, side by side, the median time of loss(...).backward() for derive's module, for the
emitted loss() it wraps (the cost of the formula itself), and for the torch function it matches,
with the ratios module ÷ loss() (the module's own overhead) and module ÷ torch, on CPU in
float32 with one thread (on a shared machine, several threads make the timings noise).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from derive.codegen import load


def timed(f, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f().backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cases(n):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(n, 10, generator=g, requires_grad=True)
    idx = torch.randint(0, 10, (n,), generator=g)
    w = torch.rand(10, generator=g)
    logit = torch.randn(n, generator=g, requires_grad=True)
    label = torch.randint(0, 2, (n,), generator=g).float()
    mu = torch.randn(n, generator=g, requires_grad=True)
    sigma = (0.5 + torch.rand(n, generator=g)).requires_grad_()
    y = torch.randn(n, generator=g)
    cat = load("categorical-logit", "torch")
    bce = load("bernoulli-logit", "torch")
    gauss = load("gaussian-hetero", "torch")
    onehot = F.one_hot(idx, 10).float()
    pw = torch.tensor(2.0)
    return [  # (label, the module, the module's own loss() on the same values, torch)
        (
            "cross_entropy (indices)",
            lambda: cat.CategoricalLogitLoss()(z, idx),
            lambda: cat.loss(onehot, z),
            lambda: F.cross_entropy(z, idx),
        ),
        (
            "cross_entropy (weight, smoothing)",
            lambda: cat.CategoricalLogitLoss(weight=w, label_smoothing=0.1)(z, idx),
            lambda: cat.loss(onehot, z),
            lambda: F.cross_entropy(z, idx, weight=w, label_smoothing=0.1),
        ),
        (
            "bce_with_logits (pos_weight)",
            lambda: bce.BernoulliLogitLoss(pos_weight=pw)(logit, label),
            lambda: bce.loss(label, logit),
            lambda: F.binary_cross_entropy_with_logits(logit, label, pos_weight=pw),
        ),
        (
            "gaussian_nll_loss",
            lambda: gauss.GaussianHeteroLoss()(mu, sigma, y),
            lambda: gauss.loss(y, mu, sigma),
            lambda: F.gaussian_nll_loss(mu, y, sigma**2),
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    header = ("module ms", "loss() ms", "torch ms", "÷ loss()", "÷ torch")
    print(f"{'loss (N=%d)' % args.n:<34}" + "".join(f"{h:>11}" for h in header))
    for label, *fs in cases(args.n):
        a, b, c = (timed(f, args.repeat) for f in fs)
        row = (f"{1e3 * a:.2f}", f"{1e3 * b:.2f}", f"{1e3 * c:.2f}", f"{a / b:.2f}", f"{a / c:.2f}")
        print(f"{label:<34}" + "".join(f"{r:>11}" for r in row))


if __name__ == "__main__":
    main()
