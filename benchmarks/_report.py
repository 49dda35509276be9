"""What the benchmarks share for reporting: percentiles, summaries and aligned tables.

Not a benchmark itself (``run_all.py`` skips ``_*.py``); the scripts import it as a
sibling module, since Python puts a script's own folder first on ``sys.path``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Sequence

#: The keys of :func:`summarize`, in table order.
FIELDS = ("median_ms", "p90_ms", "mean_ms", "min_ms", "max_ms")


def p90(values: Sequence[float]) -> float:
    """The 90th percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, p90, mean, min and max of ``values`` (ms), rounded to microseconds."""
    return {
        "median_ms": round(statistics.median(values), 3),
        "p90_ms": round(p90(values), 3),
        "mean_ms": round(statistics.fmean(values), 3),
        "min_ms": round(min(values), 3),
        "max_ms": round(max(values), 3),
    }


def print_rows(
    rows: Sequence[Sequence[str]], *, left: int, separators: Collection[int] = (0,)
) -> None:
    """Print ``rows`` as columns: the first ``left`` columns left-aligned, the others
    right-aligned, a dashed line after each row index in ``separators``."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if index in separators:
            print("  ".join("-" * width for width in widths))
