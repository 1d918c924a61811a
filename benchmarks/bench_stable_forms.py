"""What the stable forms of the heavy-tailed and count NLLs cost over their naive formulas.

    python benchmarks/bench_stable_forms.py [--n 1000000] [--repeat 7]

The emitted numpy ``nll`` (reduction="mean") of cauchy, student-t and negative-binomial against
the same NLL written naively with scipy.special.gammaln and np.log1p (which loses its digits at
the extremes the emitted forms keep: ν = 1e12, α = 1e-12, residuals of 1e160), each at the
parameter layouts that decide the branches of the emitted log-gamma difference: one scalar
parameter for the data, per-example values all below or all above its switch (10), and mixed.
Best CPU time of --repeat rounds after one warm-up, in ms, one thread.
"""

from __future__ import annotations

import argparse
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402 (after the thread settings above)
from scipy import special  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_losses import best  # noqa: E402 (the checkout's derive first on sys.path)


def cases(rng, n):
    """(entry, layout, arguments, naive mean NLL)."""
    y = rng.standard_cauchy(n)
    mu, gamma = rng.normal(size=n), rng.uniform(0.5, 2.0, n)
    yield (
        "cauchy",
        "per example",
        (y, mu, gamma),
        lambda: np.mean(np.log(np.pi * gamma) + np.log1p(((y - mu) / gamma) ** 2)),
    )
    t = rng.standard_t(5, n)
    for layout, nu in (
        ("nu = 5", 5.0),
        ("nu in 1..15", rng.uniform(1, 15, n)),
        ("nu in 25..100", rng.uniform(25, 100, n)),
        ("nu in 1..100", rng.uniform(1, 100, n)),
    ):
        yield (
            "student-t",
            layout,
            (t, 0.0, nu, 1.0),
            lambda nu=nu: np.mean(
                special.gammaln(nu / 2)
                - special.gammaln((nu + 1) / 2)
                + 0.5 * np.log(np.pi * nu)
                + (nu + 1) / 2 * np.log1p(t**2 / nu)
            ),
        )
    k, m = rng.poisson(3, n).astype(float), rng.uniform(0.5, 10, n)
    for layout, alpha in (
        ("alpha = 0.5", 0.5),
        ("alpha = 0.01", 0.01),
        ("alpha in 0.01..2", rng.uniform(0.01, 2, n)),
    ):
        r = 1 / alpha
        yield (
            "negative-binomial",
            layout,
            (k, m, alpha),
            lambda r=r: np.mean(
                special.gammaln(k + 1)
                + special.gammaln(r)
                - special.gammaln(k + r)
                - r * np.log(r / (r + m))
                - k * np.log(m / (r + m))
            ),
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="examples")
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds (best is reported)")
    args = parser.parse_args(argv)
    from derive.codegen import load

    rng = np.random.default_rng(0)
    print(f"{'entry':18} {'layout':18} {'emitted ms':>10} {'naive ms':>9} {'ratio':>6}")
    for entry, layout, values, naive in cases(rng, args.n):
        module = load(entry)
        ours, theirs = float(module.nll(*values)), float(naive())
        assert abs(ours - theirs) <= 1e-9 * max(abs(theirs), 1.0), (entry, layout, ours, theirs)
        ms = best({"emitted": lambda m=module, v=values: m.nll(*v), "naive": naive}, args.repeat)
        emitted, plain = ms["emitted"], ms["naive"]
        print(f"{entry:18} {layout:18} {emitted:10.1f} {plain:9.1f} {emitted / plain:6.2f}")


if __name__ == "__main__":
    main()
