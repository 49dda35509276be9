"""The one timestamp format of bookstore's replies: RFC 3339 in UTC with a fixed
millisecond fraction, ``2026-05-01T12:00:00.120Z``.

Every route (versions, publish, catalog, archive status, checkpoints, contents models of
clones) and the command line's ``--json`` write times this way, so the strings sort in
time order and every client parses one shape.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

__all__ = ["format_epoch", "format_timestamp", "json_default", "to_millisecond", "utc"]


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def to_millisecond(moment: datetime) -> datetime:
    """``moment`` in UTC, cut to the millisecond its formatted form shows."""
    moment = utc(moment)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_timestamp(moment: datetime) -> str:
    """``moment`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC; the fraction cut, not rounded)."""
    return utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_epoch(seconds: float) -> str:
    """A Unix time as :func:`format_timestamp` writes it."""
    return format_timestamp(datetime.fromtimestamp(seconds, timezone.utc))


def json_default(value: Any) -> Any:
    """``json.dumps(..., default=json_default)``: datetimes as :func:`format_timestamp`."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
