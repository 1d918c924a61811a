"""Time deriving the whole catalog from scratch (no on-disk cache): the budget is 10 s.

    DERIVE_CACHE=0 python benchmarks/bench_derive.py [--repeat N]

Prints each entry's time, then the total (wall and CPU: on a shared machine the CPU figure is the
one that does not depend on the load).  Each repeat is a fresh process, so neither SymPy's caches
nor derive's in-memory ones carry over.  Exit status 1 when the best total exceeds the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ["DERIVE_CACHE"] = "0"

BUDGET_S = 10.0


def _run_once() -> dict:
    start = time.perf_counter()
    from derive.catalog import CATALOG
    from derive.derivation import derive

    imported = time.perf_counter() - start
    per_entry = {}
    wall, cpu = time.perf_counter(), time.process_time()
    for name, dist in CATALOG.items():
        t = time.perf_counter()
        d = derive(dist)
        per_entry[name] = (time.perf_counter() - t, d.standard.id if d.standard else "—")
    return {
        "import": imported,
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "entries": per_entry,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="fresh runs; the best is reported")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(_run_once()))
        return 0

    runs = []
    for _ in range(args.repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--once"], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout))
    best = min(runs, key=lambda r: r["wall"])
    width = max(map(len, best["entries"]))
    for name, (seconds, std) in best["entries"].items():
        print(f"{name:<{width}}  {seconds:6.3f} s  {std}")
    print(f"import {best['import']:.2f} s")
    print(
        f"derive all {len(best['entries'])} entries: {best['wall']:.2f} s wall, "
        f"{best['cpu']:.2f} s CPU (budget {BUDGET_S:.0f} s; best of {len(runs)} fresh runs)"
    )
    return 0 if best["wall"] <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
