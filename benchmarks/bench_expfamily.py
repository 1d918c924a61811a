"""Time the exponential-family verdict and the deviance of every catalog entry (derivations from
the cache, so only the new work is timed), and the share they add to `derive show`.

    python benchmarks/bench_expfamily.py
"""

from __future__ import annotations

import time

from derive import expfamily
from derive.catalog import CATALOG
from derive.derivation import derive_cached
from derive.report import render


def main() -> None:
    rows = []
    for name, dist in CATALOG.items():
        d = derive_cached(dist)
        start = time.perf_counter()
        expfamily.form(d)
        t_form = time.perf_counter() - start
        expfamily._VERDICTS.clear()
        start = time.perf_counter()
        render(d)  # the show text, the verdict included
        t_show = time.perf_counter() - start
        start = time.perf_counter()
        expfamily.deviance(d)
        t_dev = time.perf_counter() - start
        expfamily._VERDICTS.clear()
        rows.append((name, t_form, t_dev, t_show))
    print(f"{'entry':<20} {'form ms':>9} {'deviance ms':>12} {'show ms':>9} {'form ÷ show':>12}")
    for name, f, dv, s in rows:
        print(f"{name:<20} {1e3 * f:9.0f} {1e3 * dv:12.0f} {1e3 * s:9.0f} {f / s:12.2f}")
    total = [sum(r[i] for r in rows) for i in (1, 2, 3)]
    print(f"{'catalog':<20} {1e3 * total[0]:9.0f} {1e3 * total[1]:12.0f} {1e3 * total[2]:9.0f}"
          f" {total[0] / total[2]:12.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
