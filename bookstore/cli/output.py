"""What ``jupyter bookstore`` prints: tables, times, sizes, JSON documents and the
progress bars of long transfers."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO

from ..stores.base import transfer_progress
from ..timestamps import json_default

__all__ = [
    "PROGRESS_DELAY",
    "format_size",
    "format_time",
    "print_json",
    "print_table",
    "progress",
    "shown_path",
    "with_names",
]

#: Transfers shorter than this (seconds) show no progress bar.
PROGRESS_DELAY = 0.5


def format_size(size: int | None) -> str:
    """A size for people: ``512 B``, ``1.5 KB``, ``2.0 MB`` (powers of 1,000)."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


def format_time(value: str | datetime | None) -> str:
    """A time for people, in the local time zone (``-`` for none)."""
    if value is None:
        return "-"
    when = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def print_table(rows: list[list[str]], out: TextIO) -> None:
    """Print ``rows`` as aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        out.write("  ".join(cells).rstrip() + "\n")


def with_names(rows: list[list[str]], items: Sequence[Any]) -> list[list[str]]:
    """A table of versions (a header row, then one row per item of ``items``) with a
    ``NAME`` column when one of them is named."""
    if not any(getattr(item, "name", None) for item in items):
        return rows
    named = [[*row, item.name or ""] for row, item in zip(rows[1:], items, strict=True)]
    return [[*rows[0], "NAME"], *named]


def print_json(document: Any, out: TextIO) -> None:
    """Print ``document`` as indented JSON (times as RFC 3339 with milliseconds)."""
    out.write(json.dumps(document, indent=2, default=json_default) + "\n")


@contextmanager
def progress(label: str, enabled: bool) -> Iterator[None]:
    """A progress bar on stderr for transfers that take more than a moment: downloads
    report their bytes through the store's :data:`~bookstore.stores.base.transfer_progress`;
    an upload shows its label and elapsed time.  Shown only on a terminal."""
    if not enabled:
        yield
        return
    from tqdm import tqdm

    bar = tqdm(
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        delay=PROGRESS_DELAY,
        leave=False,
        file=sys.stderr,
        disable=None,
    )

    def received(chunk: int, total: int) -> None:
        if total and bar.total != total:
            bar.reset(total=total)
        bar.update(chunk)
        if total and bar.n >= total and time.monotonic() - started >= PROGRESS_DELAY:
            bar.refresh()  # show the end, however soon after the last refresh it came

    started = time.monotonic()
    token = transfer_progress.set(received)
    try:
        yield
    finally:
        transfer_progress.reset(token)
        bar.close()


def shown_path(path: str) -> str:
    """``path`` relative to the current directory when it lies below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
