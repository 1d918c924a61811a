"""Time deriving the whole catalog from scratch (no on-disk cache): the budget is 10 s.

    DERIVE_CACHE=0 python benchmarks/bench_derive.py [--repeat N]

Prints each entry's time, then the total (wall and CPU: on a shared machine the CPU figure is the
one that does not depend on the load).  Exit status 1 when the best total exceeds the budget.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ["DERIVE_CACHE"] = "0"

BUDGET_S = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs; the best is reported")
    args = parser.parse_args()

    start = time.perf_counter()
    from derive.catalog import CATALOG
    from derive.derivation import derive

    imported = time.perf_counter() - start
    best = None
    for _ in range(args.repeat):
        per_entry = {}
        wall, cpu = time.perf_counter(), time.process_time()
        for name, dist in CATALOG.items():
            t = time.perf_counter()
            d = derive(dist)
            per_entry[name] = (time.perf_counter() - t, d.standard.id if d.standard else "—")
        run = (time.perf_counter() - wall, time.process_time() - cpu, per_entry)
        best = run if best is None or run[0] < best[0] else best
    wall, cpu, per_entry = best
    width = max(map(len, per_entry))
    for name, (seconds, std) in per_entry.items():
        print(f"{name:<{width}}  {seconds:6.3f} s  {std}")
    print(f"import {imported:.2f} s")
    print(
        f"derive all {len(per_entry)} entries: {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"(budget {BUDGET_S:.0f} s)"
    )
    return 0 if wall <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
