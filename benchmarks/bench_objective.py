"""The emitted GBM objective: gradient + hessian against one loss evaluation, and xgb.train with the
emitted objective against xgboost's built-in one, side by side in one run.

    python benchmarks/bench_objective.py [--n 1000000] [--rows 100000] [--rounds 50] [--repeat 5]

One thread, float64.  "objective" is what xgboost_objective / sklearn_objective compute: the
gradient and the hessian in one blocked pass whose shared subexpressions (exp(η); e^(−|z|) for
σ(z) and σ(−z)) are computed once, each output's last operation writing straight into it; each
call's result is let go before the next, as a booster does (it copies them), so the next call
reuses the two output arrays instead of faulting in fresh pages (see the module's _outputs);
"gradient + hessian" is the two public functions called one after the other.  Both are divided by
one ``loss(..., reduction="mean")`` over the same N values.  The xgb.train rows time 50 boosting
rounds (hist, nthread=1) on ``--rows`` examples with 10 features, with ``obj=xgboost_objective``
and with the built-in objective (count:poisson, binary:logistic).  Best CPU time of --repeat.
"""

from __future__ import annotations

import argparse
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_losses import best, machine  # noqa: E402

#: (label, catalog entry, built-in xgboost objective, (rng, margin) -> labels)
CASES = (
    ("poisson_log", "poisson-log", "count:poisson", lambda rng, eta: rng.poisson(np.exp(eta))),
    (
        "bce_logits",
        "bernoulli-logit",
        "binary:logistic",
        lambda rng, z: rng.random(z.shape) < 1 / (1 + np.exp(-z)),
    ),
)


def objective_rows(n, repeat):
    from derive.codegen import load

    rng = np.random.default_rng(0)
    rows = []
    for label, entry, _, draw in CASES:
        m = load(entry, grad=True)
        margin = rng.normal(size=n)
        y = draw(rng, margin).astype(np.float64)
        ms = best(
            {
                "loss": lambda m=m, y=y, p=margin: m.loss(y, p),
                "objective": lambda m=m, y=y, p=margin: m.sklearn_objective(y, p),
                "gradient + hessian": lambda m=m, y=y, p=margin: (
                    m.gradient(y, p),
                    m.hessian(y, p),
                ),
            },
            repeat,
        )
        rows.append((label, ms["loss"], ms["objective"], ms["gradient + hessian"]))
    return rows


def train_rows(n, rounds, repeat):
    import xgboost as xgb

    from derive.codegen import load

    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 10))
    margin = 0.5 * X[:, 0] - 0.3 * X[:, 1] + 0.2 * np.sin(X[:, 2])
    rows = []
    for label, entry, builtin, draw in CASES:
        m = load(entry, grad=True)
        y = draw(rng, margin).astype(np.float64)
        dtrain = xgb.DMatrix(X, label=y, nthread=1)
        params = {"tree_method": "hist", "nthread": 1, "max_depth": 6, "verbosity": 0}

        def custom(dtrain=dtrain, params=params, m=m):
            xgb.train({**params, "base_score": 0.0}, dtrain, rounds, obj=m.xgboost_objective)

        def native(dtrain=dtrain, params=params, builtin=builtin):
            xgb.train({**params, "objective": builtin}, dtrain, rounds)

        ms = best({"emitted": custom, "built-in": native}, repeat)
        rows.append((label, builtin, ms["emitted"], ms["built-in"]))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="values for the objective rows")
    parser.add_argument("--rows", type=int, default=100_000, help="training rows for xgb.train")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    import xgboost

    lines = [*machine(), f"xgboost {xgboost.__version__}", ""]
    lines.append(f"GBM objective, N = {args.n:,} float64, one thread (ms; ratios ÷ one loss)")
    lines.append(
        f"{'loss':<12}  {'loss ms':>9}  {'objective ms':>12}  {'÷ loss':>7}  "
        f"{'grad+hess ms':>12}  {'÷ loss':>7}"
    )
    verdicts, every = [], True
    for label, loss, objective, separate in objective_rows(args.n, args.repeat):
        lines.append(
            f"{label:<12}  {loss:>9.2f}  {objective:>12.2f}  {objective / loss:>7.2f}  "
            f"{separate:>12.2f}  {separate / loss:>7.2f}"
        )
        ok = objective / loss <= 1.5
        every &= ok
        verdicts.append(
            f"{label} objective ÷ loss = {objective / loss:.2f}".ljust(40)
            + f" target ≤ 1.5   {'MET' if ok else 'NOT MET'}"
        )
    lines += ["", *verdicts, ""]
    lines.append(
        f"xgb.train, {args.rounds} rounds, hist, nthread=1, {args.rows:,} rows x 10 features (s)"
    )
    lines.append(f"{'loss':<12}  {'built-in':<16}  {'emitted s':>9}  {'built-in s':>10}  {'÷':>5}")
    verdicts = []
    for label, builtin, custom, native in train_rows(args.rows, args.rounds, args.repeat):
        ratio = custom / native
        seconds = f"{custom / 1e3:>9.2f}  {native / 1e3:>10.2f}"
        lines.append(f"{label:<12}  {builtin:<16}  {seconds}  {ratio:>5.2f}")
        ok = ratio <= 1.25
        every &= ok
        verdicts.append(
            f"{label} xgb.train ÷ built-in = {ratio:.2f}".ljust(40)
            + f" target ≤ 1.25  {'MET' if ok else 'NOT MET'}"
        )
    lines += ["", *verdicts, "", f"every target: {'MET' if every else 'NOT MET'}"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
