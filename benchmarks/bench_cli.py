"""Start-up and derivation speed of the `derive` command, measured as a user meets it.

    python benchmarks/bench_cli.py [--repeat N]

Prints the median wall time of `derive show gaussian` from a cold process with an empty cache and
with a warm one, of `python -c "import sympy"` alone (the floor), of deriving the whole catalog
in one fresh process without the cache, and of the paper: `derive latex --all --standalone --pdf`
with an empty cache and with a warm one (derivations and information-theory results cached), with
the CPU seconds beside the wall time (a loaded machine stretches the wall time, not the CPU).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

DERIVE_ALL = (
    "from derive.catalog import CATALOG\n"
    "from derive.derivation import derive\n"
    "import time\n"
    "t = time.perf_counter()\n"
    "for d in CATALOG.values(): derive(d)\n"
    "print(len(CATALOG), time.perf_counter() - t)\n"
)


def wall(argv, env, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed(argv, env):
    """(wall seconds, CPU seconds of the process and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall_s = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall_s, cpu


def paper(repeat):
    """`derive latex --all --standalone --pdf`, cold then warm: [(label, wall, cpu)]."""
    rows = []
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "DERIVE_CACHE_DIR": cache, "DERIVE_CACHE": "1"}
        argv = [sys.executable, "-m", "derive", "latex", "--all", "--standalone", "--pdf"]
        argv += ["-o", os.path.join(out, "losses.tex")]
        rows.append(("derive latex --all --standalone --pdf, empty cache", *timed(argv, env)))
        warm = [timed(argv, env) for _ in range(repeat)]
        rows.append(
            (
                "derive latex --all --standalone --pdf, warm cache",
                statistics.median(w for w, _ in warm),
                statistics.median(c for _, c in warm),
            )
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--paper-repeat", type=int, default=3, help="warm runs of the paper")
    parser.add_argument("--paper-only", action="store_true", help="time only the paper")
    args = parser.parse_args()
    if args.paper_only:
        for label, wall_s, cpu in paper(args.paper_repeat):
            print(f"{label}  {wall_s:6.2f} s wall  {cpu:6.2f} s CPU")
        return
    show = [sys.executable, "-m", "derive", "show", "gaussian"]
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "DERIVE_CACHE_DIR": cache, "DERIVE_CACHE": "1"}
        cold = []
        for _ in range(args.repeat):
            for entry in os.listdir(cache):
                os.unlink(os.path.join(cache, entry))
            cold.append(wall(show, env, 1))
        rows.append(("derive show gaussian, empty cache", statistics.median(cold)))
        rows.append(("derive show gaussian, warm cache", wall(show, env, args.repeat)))
    rows.append(
        (
            "python -c 'import sympy' (floor)",
            wall([sys.executable, "-c", "import sympy"], os.environ, args.repeat),
        )
    )
    out = subprocess.run(
        [sys.executable, "-c", DERIVE_ALL],
        env={**os.environ, "DERIVE_CACHE": "0"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    rows.append((f"derive all {out[0]} catalog entries, in-process", float(out[1])))
    papers = paper(args.paper_repeat)
    width = max(len(label) for label, *_ in rows + papers)
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds:6.3f} s")
    for label, wall_s, cpu in papers:
        print(f"{label:<{width}}  {wall_s:6.3f} s  ({cpu:.2f} s CPU)")


if __name__ == "__main__":
    main()
