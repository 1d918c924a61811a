"""Latency of the commands as a user meets them, each a fresh process, with the targets of issue 16.

    python benchmarks/bench_latency.py [--repeat 3]

Rows: `derive show gaussian` with a warm cache; `derive new` of the README's Lomax density with an
empty cache (cold) and repeated with the same cache; the whole catalog derived from scratch in one
fresh process without the cache (import included); `derive --help` and `derive list` (warm
cache) for reference.  Median of --repeat runs, wall time and CPU time (user + system of the
child: on a shared machine the CPU figure is the one that does not depend on the load).  A target
is judged on the CPU time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DERIVE = [sys.executable, "-m", "derive"]
LOMAX = [
    "new",
    "--density",
    r"\frac{\alpha}{\lambda}\left(1+\frac{y}{\lambda}\right)^{-(\alpha+1)}",
    "--observed",
    "y",
    "--param",
    "alpha",
    "lambda",
    "--positive",
    "alpha",
    "lambda",
    "--support",
    "0,oo",
    "--name",
    "lomax",
]
CATALOG = (
    "from derive.catalog import CATALOG\n"
    "from derive.derivation import derive\n"
    "for d in CATALOG.values(): derive(d)\n"
)


def timed(argv, env):
    """(wall seconds, CPU seconds of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median(runs):
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def measure(repeat):
    rows = []
    cache = tempfile.mkdtemp(prefix="derive-bench-")
    os.chmod(cache, 0o700)
    env = {**os.environ, "DERIVE_CACHE_DIR": cache, "DERIVE_CACHE": "1"}

    def empty():
        for entry in os.listdir(cache):
            path = os.path.join(cache, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)

    try:
        timed([*DERIVE, "show", "gaussian"], env)  # fills the cache
        runs = [timed([*DERIVE, "show", "gaussian"], env) for _ in range(repeat)]
        rows.append(("derive show gaussian, warm cache", *median(runs), 0.5))
        cold = []
        for _ in range(repeat):
            empty()
            cold.append(timed([*DERIVE, *LOMAX], env))
        rows.append(("derive new (README's Lomax), empty cache", *median(cold), 2.0))
        again = [timed([*DERIVE, *LOMAX], env) for _ in range(repeat)]
        rows.append(("derive new (Lomax), repeated", *median(again), 0.5))
        for label, argv in (("derive --help", ["--help"]), ("derive list, warm cache", ["list"])):
            runs = [timed([*DERIVE, *argv], env) for _ in range(repeat)]
            rows.append((label, *median(runs), None))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    nocache = {**os.environ, "DERIVE_CACHE": "0"}
    runs = [timed([sys.executable, "-c", CATALOG], nocache) for _ in range(repeat)]
    rows.append(("whole catalog from scratch (fresh process)", *median(runs), 5.0))
    return rows


def report(rows):
    width = max(len(r[0]) for r in rows)
    lines = [f"{'command':<{width}}  {'wall s':>7}  {'CPU s':>7}  target (CPU)"]
    every = True
    for label, wall, cpu, goal in rows:
        verdict = ""
        if goal is not None:
            ok = cpu <= goal
            every &= ok
            verdict = f"≤ {goal:g} s  {'MET' if ok else 'NOT MET'}"
        lines.append(f"{label:<{width}}  {wall:>7.2f}  {cpu:>7.2f}  {verdict}")
    lines += ["", f"every target: {'MET' if every else 'NOT MET'}"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_losses import machine

    print("\n".join(machine()))
    print(report(measure(args.repeat)))


if __name__ == "__main__":
    main()
