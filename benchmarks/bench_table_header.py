"""Header de-duplication of wide tables: the old per-name list scan vs
:func:`qualcode.ingest.table.unique_header`, side by side in one run.

    python benchmarks/bench_table_header.py [N ...]     (default: 1000 2000 4000)
"""

from __future__ import annotations

import sys
import time

from qualcode.ingest.table import MAX_TABLE_COLUMNS, unique_header


def old_unique_header(raw_header: list[str]) -> list[str]:
    """The algorithm before issue 11 (a list scan per candidate name), for comparison."""
    header: list[str] = []
    for i, h in enumerate(raw_header):
        h = h.strip().lstrip("\ufeff") or f"column{i + 1}"
        base, k = h, 2
        while h in header:
            h, k = f"{base}_{k}", k + 1
        header.append(h)
    return header


def timed(fn, arg) -> tuple[float, list[str]]:
    t0 = time.perf_counter()
    out = fn(arg)
    return time.perf_counter() - t0, out


def main(sizes: list[int]) -> None:
    print(f"{'duplicates':>10} {'old s':>10} {'new s':>10} {'ratio':>8}")
    for n in sizes:
        raw = ["q"] * n
        t_new, new = timed(unique_header, raw)
        t_old, old = timed(old_unique_header, raw)
        assert new == old
        print(f"{n:>10} {t_old:>10.3f} {t_new:>10.4f} {t_old / max(t_new, 1e-9):>8.0f}x")
    t_lim, _ = timed(unique_header, ["q"] * MAX_TABLE_COLUMNS)
    print(f"new, at the column limit ({MAX_TABLE_COLUMNS} duplicates): {t_lim:.4f} s")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 2000, 4000])
