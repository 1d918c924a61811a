"""Start-up and derivation speed of the `derive` command, measured as a user meets it.

    python benchmarks/bench_cli.py [--repeat N]

Prints the median wall time of `derive show gaussian` from a cold process with an empty cache and
with a warm one, of `python -c "import sympy"` alone (the floor), and of deriving the whole catalog
in one fresh process without the cache.
"""

from __future__ import annotations

import argparse
import os
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
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
    width = max(len(label) for label, _ in rows)
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds:6.3f} s")


if __name__ == "__main__":
    main()
