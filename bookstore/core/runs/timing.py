"""When scheduled runs fire: cron expressions, presets, time zones and which ticks are due.

Pure logic (the standard library, :mod:`zoneinfo` and cronsim); nothing here reads a
database or a clock, except :func:`preview` when it is given no ``now``.  Every instant
this module returns is an aware UTC :class:`~datetime.datetime`; a naive one it is given
is taken to be UTC (as :func:`bookstore.timestamps.utc` does).

A schedule is a five-field cron expression ``minute hour day-of-month month day-of-week``
(cronsim's syntax: ``*``, ``a-b``, ``a,b``, ``/n``, month and day names, ``L``, ``LW``,
``5L``, ``MON#2``; when neither day field starts with ``*`` a day matches either of
them) or a preset of :data:`PRESETS`, read in an IANA time zone.  Seconds fields and
``@reboot`` are refused.

Daylight saving time (cronsim's rule, the one Debian's cron follows; the tests pin it
with exact instants):

* **Fixed-time schedules**, whose minute and hour fields both start with something else
  than ``*`` (``30 2 * * *``, ``0 9-17 * * 1-5``, ``@daily``), are matched against the
  local wall clock, and each matching wall-clock time fires at most once.  A time that
  does not exist (the clocks jump over it) fires at the first instant after the jump; a
  time that exists twice fires only at its first occurrence (the one in summer time).
  So ``30 2 * * *`` fires exactly once on every local day: in Europe/Paris at
  01:00 UTC on 2026-03-29 (02:30 does not exist; 03:00 CEST) and at 00:30 UTC on
  2026-10-25 (02:30 CEST, not again at 02:30 CET); in America/New_York at 07:00 UTC on
  2026-03-08 (03:00 EDT), and ``30 1 * * *`` at 05:30 UTC on 2026-11-01 (01:30 EDT).
* **Schedules whose minute or hour field starts with** ``*`` (``0 * * * *``,
  ``*/15 2 * * *``, ``0 */2 * * *``) follow real time: they fire at every real instant
  whose local reading matches.  ``@hourly`` fires once an hour on the hour in UTC
  through both changes (23 times on Paris's spring day, 25 on its autumn day); a
  wall-clock reading that never happens does not fire (``*/15 2 * * *`` does not fire
  on 2026-03-29 in Paris) and one that happens twice fires twice (8 times on
  2026-10-25).

A daily job therefore fires exactly once per local day; nothing is adjusted on top of
cronsim except that every sequence returned is strictly increasing in UTC (cronsim can
hand back the first occurrence of a repeated time when asked for times after its second
one; such a time is dropped, not returned out of order).
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from ...errors import InvalidRequest
from ...timestamps import format_timestamp, utc

__all__ = [
    "DEFAULT_GRACE",
    "MAX_TICKS_PER_PASS",
    "MISSED_POLICIES",
    "PRESETS",
    "DueTicks",
    "Schedule",
    "check_missed_policy",
    "due_fire_times",
    "parse_schedule",
    "preview",
]

#: The presets a schedule may name instead of five fields (case-insensitive).
PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekdays": "0 0 * * 1-5",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

#: A tick is on time while ``now - tick <= DEFAULT_GRACE``; later, it was missed.
DEFAULT_GRACE: timedelta = timedelta(seconds=60)

#: The most ticks one pass of the scheduler looks at (the newest ones).
MAX_TICKS_PER_PASS = 1000

#: What ``missed`` may be: see :func:`due_fire_times`.
MISSED_POLICIES = ("skip", "latest", "all")

_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_ACCEPTED = (
    "0-59",
    "0-23",
    "1-31 or L or LW",
    "1-12 or JAN-DEC",
    "0-7 or SUN-SAT (0 and 7 are Sunday), 5L or MON#2",
)
_HOW = "use five fields 'minute hour day-of-month month day-of-week' or a preset such as @daily"
_MAX_CRON_LENGTH = 256
_MAX_ZONE_LENGTH = 100
# IANA names: ASCII letters, digits, '_', '+', '-' in '/'-separated parts; no dots, so no
# '..', no 'zone.tab', and no absolute or odd path ever reaches zoneinfo's file lookup.
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
# How far before cronsim's reverse estimate the authoritative forward walk starts (more
# than any daylight saving shift, which is where the two directions may disagree).
_ANCHOR_MARGIN = timedelta(hours=3)


@dataclass(frozen=True)
class Schedule:
    """A validated cron expression in a time zone.

    Constructing one validates and normalizes: a preset is expanded, whitespace collapsed
    and names upper-cased, so equal schedules compare equal.
    """

    expression: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "expression", _normalize_cron(self.expression))
        _load_zone(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone the expression is read in."""
        return _zone(self.timezone)

    def next_fire_times(self, after: datetime, count: int) -> list[datetime]:
        """The next ``count`` (0 to :data:`MAX_TICKS_PER_PASS`) fire times strictly after
        ``after``, ascending, in UTC (fewer if the schedule stops firing)."""
        if not 0 <= count <= MAX_TICKS_PER_PASS:
            raise InvalidRequest(
                f"count: {count} is out of range; ask for 0 to {MAX_TICKS_PER_PASS} fire times"
            )
        times: list[datetime] = []
        if count == 0:
            return times
        for tick in self._forward(utc(after)):
            times.append(tick)
            if len(times) == count:
                break
        return times

    def fire_times_between(
        self, start: datetime, end: datetime, limit: int = MAX_TICKS_PER_PASS
    ) -> tuple[list[datetime], bool]:
        """The fire times ``t`` with ``start < t <= end``, ascending, in UTC, and False; or,
        when there are more than ``limit``, the newest ``limit`` of them and True.

        The work is bounded by ``limit``, not by the span: cronsim's reverse iterator walks
        back from ``end`` to the ``limit + 1``-th newest tick, and the forward walk (the
        one :meth:`next_fire_times` uses, which decides) starts a few hours before that
        tick instead of at ``start``.  A per-minute schedule down for five years costs
        about ``2 * limit + 180`` steps, not 2.6 million.
        """
        if limit < 1:
            raise InvalidRequest(
                f"limit: {limit} is out of range; use a whole number of at least 1"
            )
        start, end = utc(start), utc(end)
        if end <= start:
            return [], False
        anchor = self._reverse_anchor(start, end, limit)
        lower = start if anchor is None else max(start, anchor - _ANCHOR_MARGIN)
        while True:
            newest: deque[datetime] = deque(maxlen=limit)
            total = 0
            for tick in self._forward(lower):
                if tick > end:
                    break
                newest.append(tick)
                total += 1
            if total > limit:
                return list(newest), True
            if lower <= start:
                return list(newest), False
            # The reverse estimate was too late (cronsim disagreeing with itself): widen.
            lower = max(start, end - 2 * (end - lower))

    def _forward(self, after: datetime) -> Iterator[datetime]:
        """Every fire time strictly after ``after`` (UTC), strictly increasing."""
        last = after
        for local in CronSim(self.expression, after.astimezone(self.zone)):
            tick = local.astimezone(timezone.utc)
            if tick > last:
                last = tick
                yield tick

    def _reverse_anchor(self, start: datetime, end: datetime, limit: int) -> datetime | None:
        """About the ``limit + 1``-th newest fire time in ``(start, end]``, or None when
        the reverse walk finds no more than ``limit`` there."""
        found = 0
        previous: datetime | None = None
        origin = (end + timedelta(seconds=1)).astimezone(self.zone)
        for local in CronSim(self.expression, origin, reverse=True):
            tick = local.astimezone(timezone.utc)
            if tick <= start:
                return None
            if tick <= end and (previous is None or tick < previous):
                previous = tick
                found += 1
                if found > limit:
                    return tick
        return None


@dataclass(frozen=True)
class DueTicks:
    """What one pass of the scheduler does with the ticks since its last pass."""

    #: The ticks to start a run for, ascending, in UTC.
    to_run: list[datetime]
    #: The ticks not run, each with the reason a person reads, ascending.
    skipped: list[tuple[datetime, str]]
    #: More than :data:`MAX_TICKS_PER_PASS` ticks were due: only the newest are listed
    #: above; the older ones are neither run nor listed.
    truncated: bool = False


def parse_schedule(cron: str, timezone: str = "UTC") -> Schedule:
    """The :class:`Schedule` of a cron expression or preset in an IANA time zone; an
    :class:`~bookstore.errors.InvalidRequest` naming the field when either is not valid."""
    return Schedule(_require_text("cron", cron), _require_text("timezone", timezone))


def check_missed_policy(missed: str, max_catchup: int) -> None:
    """Refuse (:class:`~bookstore.errors.InvalidRequest`) a ``missed`` policy that is not
    one of :data:`MISSED_POLICIES`, or a ``max_catchup`` that is not a whole number >= 1."""
    if missed not in MISSED_POLICIES:
        raise InvalidRequest(
            f"missed: {missed!r} is not a missed-run policy; use 'skip' (run only ticks on "
            "time), 'latest' (run the newest missed tick) or 'all' (catch up to max_catchup)"
        )
    catchup: object = max_catchup
    if isinstance(catchup, bool) or not isinstance(catchup, int) or catchup < 1:
        raise InvalidRequest(
            f"max_catchup: {max_catchup!r} is not allowed; use a whole number of at least 1"
        )


def due_fire_times(
    schedule: Schedule,
    *,
    since: datetime,
    now: datetime,
    missed: str,
    max_catchup: int,
    grace: timedelta = DEFAULT_GRACE,
) -> DueTicks:
    """The ticks ``t`` with ``since < t <= now``, split by the ``missed`` policy into the
    ones to run and the ones skipped.  A tick is late when ``now - t > grace``.

    * ``skip``: the ticks on time run; every late one is skipped;
    * ``latest``: the newest tick runs, late or not; every older one is skipped;
    * ``all``: the newest ``max_catchup`` ticks run (ticks on time count among them);
      the older ones are skipped.
    """
    check_missed_policy(missed, max_catchup)
    if grace < timedelta(0):
        raise InvalidRequest(f"grace: {grace} is negative; use a duration of 0 or more")
    now = utc(now)
    ticks, truncated = schedule.fire_times_between(since, now)
    if not ticks:
        return DueTicks([], [], truncated)
    if missed == "skip":
        to_run = [tick for tick in ticks if now - tick <= grace]
        skipped = [
            (
                tick,
                f"missed: the scheduler was not running at {_minute(tick)} (policy missed=skip)",
            )
            for tick in ticks
            if now - tick > grace
        ]
        return DueTicks(to_run, skipped, truncated)
    keep = 1 if missed == "latest" else max_catchup
    to_run = ticks[-keep:]
    older = ticks[:-keep]
    if missed == "latest":
        reason = f"superseded by the run at {_minute(to_run[-1])} (missed=latest)"
    else:
        reason = f"more than max_catchup={max_catchup} missed ticks (missed=all)"
    return DueTicks(to_run, [(tick, reason) for tick in older], truncated)


def preview(
    schedule: Schedule, count: int = 5, now: datetime | None = None
) -> list[dict[str, str]]:
    """The next ``count`` fire times after ``now`` (the clock when None), each as
    ``{"utc": "2026-03-29T01:00:00.000Z", "local": "2026-03-29T03:00:00+02:00"}``."""
    moment = datetime.now(timezone.utc) if now is None else now
    return [
        {
            "utc": format_timestamp(tick),
            "local": tick.astimezone(schedule.zone).isoformat(timespec="seconds"),
        }
        for tick in schedule.next_fire_times(moment, count)
    ]


def _minute(tick: datetime) -> str:
    return utc(tick).strftime("%Y-%m-%d %H:%M UTC")


def _require_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        example = "'0 * * * *' or '@daily'" if name == "cron" else "'Europe/Paris' or 'UTC'"
        raise InvalidRequest(f"{name}: must be a string such as {example}")
    return value


def _normalize_cron(cron: str) -> str:
    """The five-field form of ``cron`` (a preset expanded, names upper-cased)."""
    text = _require_text("cron", cron).strip()
    if not text:
        raise InvalidRequest(f"cron: an empty expression is not a schedule; {_HOW}")
    if len(text) > _MAX_CRON_LENGTH:
        raise InvalidRequest(
            f"cron: the expression is {len(text)} characters long; "
            f"at most {_MAX_CRON_LENGTH} are accepted"
        )
    if text.startswith("@"):
        return _preset(text)
    parts = text.split()
    if len(parts) != len(_FIELDS):
        seconds = "; bookstore schedules have no seconds (or year) field" if len(parts) == 6 else ""
        raise InvalidRequest(
            f"cron: {text!r} has {len(parts)} field{'' if len(parts) == 1 else 's'}"
            f"{seconds}; {_HOW}"
        )
    expression = " ".join(parts).upper()
    problem = _cron_problem(parts)
    if problem is not None:
        raise InvalidRequest(
            f"cron: {text!r} is not a valid five-field cron expression ({problem}); {_HOW}"
        )
    return expression


def _preset(text: str) -> str:
    name = text.lower()
    if name in PRESETS:
        return PRESETS[name]
    known = ", ".join(PRESETS)
    if name == "@reboot":
        raise InvalidRequest(
            f"cron: @reboot is not supported (a schedule needs times to fire at); "
            f"use one of {known} or five fields 'minute hour day-of-month month day-of-week'"
        )
    raise InvalidRequest(
        f"cron: {text!r} is not a known preset; use one of {known} "
        "or five fields 'minute hour day-of-month month day-of-week'"
    )


def _cron_problem(parts: list[str]) -> str | None:
    """What is wrong with five fields, or None when cronsim takes them."""
    reference = datetime(2000, 1, 1, tzinfo=timezone.utc)
    for index, text in enumerate(parts):
        alone = ["*"] * len(_FIELDS)
        alone[index] = text.upper()
        try:
            CronSim(" ".join(alone), reference)
        except CronSimError:
            return _field_problem(index, text)
    try:
        next(CronSim(" ".join(parts).upper(), reference))
    except CronSimError:
        return f"day-of-month {parts[2]!r} never occurs in month {parts[3]!r}"
    except StopIteration:
        return "it would never fire"
    return None


def _field_problem(index: int, text: str) -> str:
    """What is wrong with field ``index``, the most precisely we can say."""
    name = _FIELDS[index]
    low, high = _RANGES[index]
    for term in text.split(","):
        base, slash, step = term.partition("/")
        if slash and not (_digits(step) and int(step) >= 1):
            return f"{name} step {step!r} must be a whole number of at least 1"
        if index == 4 and "#" in base:
            base, _, nth = base.partition("#")
            if not (_digits(nth) and 1 <= int(nth) <= 5):
                return f"{name} '#{nth}' must be #1 to #5"
        ends = base.split("-")
        for end in ends:
            if _digits(end) and not low <= int(end) <= high:
                return f"{name} {int(end)} is out of range {low}-{high}"
        if len(ends) == 2 and all(map(_digits, ends)) and int(ends[0]) > int(ends[1]):
            return f"{name} range {base} runs backwards"
    return (
        f"{name} {text!r} is not valid: use {_ACCEPTED[index]}, "
        "with * and ranges a-b, lists a,b or steps /n"
    )


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    """``ZoneInfo(name)``, kept: its own cache forgets zones no object holds."""
    return ZoneInfo(name)


def _load_zone(name: str) -> ZoneInfo:
    """The :class:`ZoneInfo` called ``name``; InvalidRequest when there is none."""
    name = _require_text("timezone", name)
    hint = "use an IANA name such as 'Europe/Paris', 'America/New_York' or 'UTC'"
    if not name:
        raise InvalidRequest(f"timezone: an empty name is not a time zone; {hint}")
    shown = name if len(name) <= _MAX_ZONE_LENGTH else name[:_MAX_ZONE_LENGTH] + "..."
    if len(name) > _MAX_ZONE_LENGTH or not _ZONE_NAME.fullmatch(name):
        raise InvalidRequest(f"timezone: {shown!r} is not an IANA time zone name; {hint}")
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidRequest(f"timezone: {shown!r} is not a known time zone; {hint}") from None
