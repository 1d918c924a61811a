"""The emitted numpy code of composite likelihoods, side by side with the usual ways to write them,
in one run.

    python benchmarks/bench_composites.py [--n 1000000] [--repeat 5]

One thread, float64, N examples, ``nll(..., reduction="mean")``, best CPU time of --repeat runs
after one warm-up.  Ratios are time(derive) / time(other): below 1 is faster.  "scipy" is the
per-case scipy.stats expression a user writes (np.where over logpdf / logsf / logcdf and a CDF
difference: every case evaluated on every row); "torch" is torch.distributions on CPU (mixtures);
"statsmodels" is ZeroInflatedPoisson.loglikeobs.
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402 (after the thread settings above)


def _best(f, repeat):
    f()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        f()
        times.append(time.process_time() - start)
    return min(times)


def _censored(rng, n):
    t = 2.0 * rng.weibull(1.5, n)
    lower, upper = t.copy(), t.copy()
    kind = rng.integers(0, 4, n)
    upper[kind == 1] = np.inf
    lower[kind == 2] = 0.0
    lower[kind == 3], upper[kind == 3] = 0.6 * t[kind == 3], 1.7 * t[kind == 3]
    return lower, upper


def _scipy_censored(dist, lower, upper):
    from scipy import stats  # noqa: F401 (dist is a frozen scipy distribution)

    with np.errstate(all="ignore"):
        exact = dist.logpdf(lower)
        right = dist.logsf(lower)
        left = dist.logcdf(upper)
        interval = np.log(dist.cdf(upper) - dist.cdf(lower))
    value = np.where(
        lower == upper,
        exact,
        np.where(np.isinf(upper), right, np.where(lower <= 0, left, interval)),
    )
    return -np.mean(value)


def cases(rng, n):
    from scipy import stats

    from derive.catalog import get
    from derive.codegen.emit import load

    out = []
    lower, upper = _censored(rng, n)
    r = rng.normal(0.5, 0.3, n)
    weibull = load(get("weibull").censored().link(**{"lambda": "log"}))
    out.append(
        (
            "weibull --censored --link lambda=log",
            lambda: weibull.nll(lower, upper, r, 1.5),
            {
                "scipy": lambda: _scipy_censored(
                    stats.weibull_min(1.5, scale=np.exp(r)), lower, upper
                )
            },
        )
    )
    lognormal = load(get("lognormal").censored())
    out.append(
        (
            "lognormal --censored",
            lambda: lognormal.nll(lower, upper, r, 0.8),
            {"scipy": lambda: _scipy_censored(stats.lognorm(0.8, scale=np.exp(r)), lower, upper)},
        )
    )
    y = rng.poisson(2.0, n).astype(float)
    y[rng.random(n) < 0.3] = 0.0
    eta, z = rng.normal(0.7, 0.2, n), rng.normal(-0.5, 0.2, n)
    zip_ = load(get("poisson-log").zero_inflated())

    def statsmodels_zip():
        from statsmodels.discrete.count_model import ZeroInflatedPoisson

        ones = np.ones((n, 1))
        model = ZeroInflatedPoisson(y, ones, exog_infl=ones, inflation="logit")
        return -np.mean(model.loglikeobs(np.array([-0.5, 0.7])))

    out.append(
        (
            "poisson-log --zero-inflated",
            lambda: zip_.nll(y, eta, z),
            {"statsmodels (constant parameters)": statsmodels_zip},
        )
    )
    k = 5
    ym = rng.normal(size=n)
    mu, log_sigma, logits = (rng.normal(size=(n, k)) for _ in range(3))
    mixture = load(get("gaussian-hetero").mixture(k).link(sigma="log"))

    def torch_mixture():
        import torch

        torch.set_num_threads(1)
        D = torch.distributions
        mix = D.MixtureSameFamily(
            D.Categorical(logits=torch.from_numpy(logits)),
            D.Normal(torch.from_numpy(mu), torch.from_numpy(log_sigma).exp()),
        )
        return -mix.log_prob(torch.from_numpy(ym)).mean()

    out.append(
        (
            f"gaussian-hetero --mixture {k} --link sigma=log",
            lambda: mixture.nll(ym, mu, log_sigma, logits),
            {"torch MixtureSameFamily": torch_mixture},
        )
    )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(20261130)
    rows = []
    for label, ours, others in cases(rng, args.n):
        mine = _best(ours, args.repeat)
        for other, f in others.items():
            theirs = _best(f, args.repeat)
            rows.append((label, other, mine, theirs))
    width = max(len(r[0]) for r in rows)
    other_width = max(len(r[1]) for r in rows)
    print(f"N = {args.n:,}; seconds (best of {args.repeat}); ratio = derive / other")
    print(f"{'composite':<{width}}  {'other':<{other_width}}  derive    other     ratio")
    for label, other, mine, theirs in rows:
        ratio = mine / theirs
        print(f"{label:<{width}}  {other:<{other_width}}  {mine:8.4f}  {theirs:8.4f}  {ratio:5.2f}")
    return rows


if __name__ == "__main__":
    main()
