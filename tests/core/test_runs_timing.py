"""The timing of scheduled runs: presets, validation, fire times across month ends, time
zones and daylight saving changes, and which ticks a scheduler pass runs or skips."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bookstore.core.runs.timing import (
    DEFAULT_GRACE,
    MAX_TICKS_PER_PASS,
    PRESETS,
    DueTicks,
    Schedule,
    check_missed_policy,
    due_fire_times,
    parse_schedule,
    preview,
)
from bookstore.errors import InvalidRequest

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(hours=n) for n in range(count)]


def local_day(zone: ZoneInfo, year: int, month: int, day: int) -> tuple[datetime, datetime]:
    """``(start, end)`` for fire_times_between: the local day, exactly."""
    first = datetime(year, month, day, tzinfo=zone)
    after = first + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    return first - timedelta(microseconds=1), after - timedelta(microseconds=1)


# --- presets and normalization ------------------------------------------------------


def test_the_presets() -> None:
    assert PRESETS == {
        "@hourly": "0 * * * *",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@weekdays": "0 0 * * 1-5",
        "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *",
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
    }
    for name, expression in PRESETS.items():
        schedule = parse_schedule(name)
        assert schedule.expression == expression
        assert schedule.timezone == "UTC"


@pytest.mark.parametrize("name", ["@DAILY", "@Daily", "  @daily  "])
def test_presets_are_case_insensitive(name: str) -> None:
    assert parse_schedule(name).expression == "0 0 * * *"


def test_a_preset_and_its_fields_are_one_schedule() -> None:
    assert parse_schedule("@midnight", "Europe/Paris") == parse_schedule(
        "0 0 * * *", "Europe/Paris"
    )
    assert parse_schedule("@daily") != parse_schedule("@daily", "Europe/Paris")


def test_expressions_are_normalized() -> None:
    assert parse_schedule("  0\t9  *  * mon-fri ").expression == "0 9 * * MON-FRI"
    assert parse_schedule("0 0 l * *").expression == "0 0 L * *"
    assert parse_schedule("0 0 * * 5l").expression == "0 0 * * 5L"


def test_the_constructor_validates_and_normalizes_too() -> None:
    assert Schedule("@hourly", "Europe/Paris") == Schedule("0 * * * *", "Europe/Paris")
    assert Schedule("0 * * * *").timezone == "UTC"
    assert Schedule("0 * * * *", "Europe/Paris").zone == PARIS
    assert asdict(parse_schedule("@daily", "Europe/Paris")) == {
        "expression": "0 0 * * *",
        "timezone": "Europe/Paris",
    }
    assert len({Schedule("@daily"), Schedule("0 0 * * *"), Schedule("@midnight")}) == 1
    with pytest.raises(InvalidRequest, match=r"^cron: "):
        Schedule("61 * * * *")
    with pytest.raises(InvalidRequest, match=r"^timezone: "):
        Schedule("0 * * * *", "Nowhere/City")


# --- validation -----------------------------------------------------------------------

HOW = "use five fields 'minute hour day-of-month month day-of-week' or a preset such as @daily"


def test_the_message_of_an_out_of_range_minute() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_schedule("61 * * * *")
    assert str(caught.value) == (
        "cron: '61 * * * *' is not a valid five-field cron expression "
        f"(minute 61 is out of range 0-59); {HOW}"
    )


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("* 24 * * *", "(hour 24 is out of range 0-23)"),
        ("0 0 0 * *", "(day-of-month 0 is out of range 1-31)"),
        ("0 0 32 * *", "(day-of-month 32 is out of range 1-31)"),
        ("0 0 * 13 *", "(month 13 is out of range 1-12)"),
        ("0 0 * * 8", "(day-of-week 8 is out of range 0-7)"),
        ("1,2,99 * * * *", "(minute 99 is out of range 0-59)"),
        ("0 20-25 * * *", "(hour 25 is out of range 0-23)"),
        ("*/0 * * * *", "(minute step '0' must be a whole number of at least 1)"),
        ("*/x * * * *", "(minute step 'x' must be a whole number of at least 1)"),
        ("5-1 * * * *", "(minute range 5-1 runs backwards)"),
        ("0 0 * * mon#6", "(day-of-week '#6' must be #1 to #5)"),
        ("0 0 31 2 *", "(day-of-month '31' never occurs in month '2')"),
        ("0 0 31 2,4 *", "(day-of-month '31' never occurs in month '2,4')"),
        ("a * * * *", "(minute 'a' is not valid: use 0-59, with *"),
        ("0 0 * janx *", "(month 'janx' is not valid: use 1-12 or JAN-DEC"),
        ("0 0 * * 1-foo", "(day-of-week '1-foo' is not valid: use 0-7 or SUN-SAT"),
        ("0 0 ? * *", "(day-of-month '?' is not valid: use 1-31 or L or LW"),
        ("٣ * * * *", "(minute '٣' is not valid"),
    ],
)
def test_each_field_is_named_in_the_message(cron: str, problem: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_schedule(cron)
    message = str(caught.value)
    assert message.startswith(f"cron: {cron!r} is not a valid five-field cron expression ")
    assert problem in message
    assert message.endswith(HOW)


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("", f"cron: an empty expression is not a schedule; {HOW}"),
        ("   ", f"cron: an empty expression is not a schedule; {HOW}"),
        ("garbage", f"cron: 'garbage' has 1 field; {HOW}"),
        ("0 0 * *", f"cron: '0 0 * *' has 4 fields; {HOW}"),
        (
            "0 0 0 * * *",
            "cron: '0 0 0 * * *' has 6 fields; bookstore schedules have no seconds "
            f"(or year) field; {HOW}",
        ),
        ("0 0 * * * * *", f"cron: '0 0 * * * * *' has 7 fields; {HOW}"),
    ],
)
def test_the_number_of_fields(cron: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_schedule(cron)
    assert str(caught.value) == message


def test_reboot_and_unknown_presets_are_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_schedule("@reboot")
    assert str(caught.value).startswith("cron: @reboot is not supported")
    assert "@hourly, @daily, @midnight" in str(caught.value)
    with pytest.raises(InvalidRequest) as caught:
        parse_schedule("@fortnightly")
    assert str(caught.value).startswith("cron: '@fortnightly' is not a known preset; use one of")


def test_a_huge_expression_is_refused() -> None:
    cron = "0," * 1000 + "1 * * * *"
    with pytest.raises(InvalidRequest) as caught:
        parse_schedule(cron)
    assert str(caught.value) == (
        f"cron: the expression is {len(cron)} characters long; at most 256 are accepted"
    )


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Olympus_Mons",
        "utc",  # the names are case-sensitive: 'UTC' is one
        "America",  # a folder of the database, not a zone
        "../etc",
        "../../../../etc/passwd",
        "/etc/localtime",
        "zone.tab",
        "leapseconds",  # a text file of the database
        "Europe/Paris ",
        "Europe//Paris",
        "a\x00b",
        "x" * 300,
    ],
)
def test_unknown_time_zones_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_schedule("@daily", name)
    message = str(caught.value)
    assert message.startswith("timezone: ")
    assert message.endswith(
        "; use an IANA name such as 'Europe/Paris', 'America/New_York' or 'UTC'"
    )
    assert len(message) < 300


def test_an_empty_time_zone_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"^timezone: an empty name is not a time zone; "):
        parse_schedule("@daily", "")


@pytest.mark.parametrize("name", ["UTC", "Europe/Paris", "Etc/GMT+5", "America/Port-au-Prince"])
def test_iana_names_are_accepted(name: str) -> None:
    assert parse_schedule("@daily", name).timezone == name


def test_values_that_are_not_strings_are_refused() -> None:
    number: Any = 5
    with pytest.raises(InvalidRequest, match=r"^cron: must be a string"):
        parse_schedule(number)
    with pytest.raises(InvalidRequest, match=r"^timezone: must be a string"):
        parse_schedule("@daily", number)


# --- next fire times --------------------------------------------------------------------


def test_next_fire_times_are_strictly_after() -> None:
    hourly = parse_schedule("@hourly")
    assert hourly.next_fire_times(at(2026, 1, 1, 10), 2) == [at(2026, 1, 1, 11), at(2026, 1, 1, 12)]
    just_after = at(2026, 1, 1, 10) + timedelta(microseconds=1)
    assert hourly.next_fire_times(just_after, 1) == [at(2026, 1, 1, 11)]
    just_before = at(2026, 1, 1, 10) - timedelta(microseconds=1)
    assert hourly.next_fire_times(just_before, 1) == [at(2026, 1, 1, 10)]
    assert hourly.next_fire_times(at(2026, 1, 1), 0) == []


def test_next_fire_times_are_aware_utc() -> None:
    (tick,) = parse_schedule("@daily", "Europe/Paris").next_fire_times(at(2026, 1, 1), 1)
    assert tick.tzinfo is UTC
    assert tick == at(2026, 1, 1, 23)


def test_a_naive_after_is_utc() -> None:
    naive = datetime(2026, 1, 1, 10)
    assert parse_schedule("@hourly").next_fire_times(naive, 1) == [at(2026, 1, 1, 11)]


def test_after_may_be_in_any_zone() -> None:
    schedule = parse_schedule("0 9 * * *", "Asia/Kolkata")
    same_instant = at(2026, 1, 1, 12).astimezone(ZoneInfo("Pacific/Auckland"))
    assert schedule.next_fire_times(same_instant, 2) == [
        at(2026, 1, 2, 3, 30),
        at(2026, 1, 3, 3, 30),
    ]


@pytest.mark.parametrize("count", [-1, MAX_TICKS_PER_PASS + 1])
def test_the_count_is_bounded(count: int) -> None:
    with pytest.raises(InvalidRequest, match=r"^count: .* ask for 0 to 1000 fire times"):
        parse_schedule("@hourly").next_fire_times(at(2026, 1, 1), count)


def test_month_ends() -> None:
    thirty_first = parse_schedule("0 12 31 * *")
    assert thirty_first.next_fire_times(at(2026, 1, 31, 12), 3) == [
        at(2026, 3, 31, 12),
        at(2026, 5, 31, 12),
        at(2026, 7, 31, 12),
    ]
    last_day = parse_schedule("0 0 L * *")
    assert last_day.next_fire_times(at(2026, 1, 15), 3) == [
        at(2026, 1, 31),
        at(2026, 2, 28),
        at(2026, 3, 31),
    ]
    assert parse_schedule("0 0 L 2 *").next_fire_times(at(2027, 3, 1), 1) == [at(2028, 2, 29)]
    assert parse_schedule("0 0 29 2 *").next_fire_times(at(2026, 1, 1), 2) == [
        at(2028, 2, 29),
        at(2032, 2, 29),
    ]
    assert parse_schedule("@monthly").next_fire_times(at(2026, 12, 31, 23, 59), 2) == [
        at(2027, 1, 1),
        at(2027, 2, 1),
    ]


def test_a_year_end_in_a_zone_ahead_of_utc() -> None:
    # Midnight of the 1st in Tokyo (UTC+9) is 15:00 UTC on the last day of the month before.
    assert parse_schedule("@monthly", "Asia/Tokyo").next_fire_times(at(2026, 11, 30), 2) == [
        at(2026, 11, 30, 15),
        at(2026, 12, 31, 15),
    ]


def test_weekdays_and_day_fields() -> None:
    weekdays = parse_schedule("@weekdays")  # 2026-01-02 is a Friday
    assert weekdays.next_fire_times(at(2026, 1, 1, 12), 3) == [
        at(2026, 1, 2),
        at(2026, 1, 5),
        at(2026, 1, 6),
    ]
    # Neither day field starts with '*': a day matching either fires.
    either = parse_schedule("0 0 1 * MON")
    assert either.next_fire_times(at(2026, 5, 28), 3) == [
        at(2026, 6, 1),  # the 1st, and a Monday
        at(2026, 6, 8),
        at(2026, 6, 15),
    ]


def test_a_local_time_follows_summer_time() -> None:
    nine = parse_schedule("0 9 * * *", "America/New_York")
    assert nine.next_fire_times(at(2026, 1, 10), 1) == [at(2026, 1, 10, 14)]  # EST, UTC-5
    assert nine.next_fire_times(at(2026, 7, 10), 1) == [at(2026, 7, 10, 13)]  # EDT, UTC-4


# --- daylight saving ------------------------------------------------------------------


def test_a_nonexistent_daily_time_fires_once_after_the_jump_in_paris() -> None:
    # 2026-03-29 02:00 CET: the clocks jump to 03:00 CEST, 02:30 never happens.
    schedule = parse_schedule("30 2 * * *", "Europe/Paris")
    assert schedule.next_fire_times(at(2026, 3, 27), 4) == [
        at(2026, 3, 27, 1, 30),  # 02:30 CET
        at(2026, 3, 28, 1, 30),
        at(2026, 3, 29, 1, 0),  # 03:00 CEST, the first instant after the jump
        at(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]


def test_a_repeated_daily_time_fires_once_at_its_first_occurrence_in_paris() -> None:
    # 2026-10-25 03:00 CEST: the clocks go back to 02:00 CET, 02:30 happens twice.
    schedule = parse_schedule("30 2 * * *", "Europe/Paris")
    assert schedule.next_fire_times(at(2026, 10, 23), 4) == [
        at(2026, 10, 23, 0, 30),
        at(2026, 10, 24, 0, 30),
        at(2026, 10, 25, 0, 30),  # 02:30 CEST; not again at 01:30 UTC (02:30 CET)
        at(2026, 10, 26, 1, 30),  # 02:30 CET
    ]


def test_asking_from_inside_the_repeated_hour_returns_nothing_earlier() -> None:
    schedule = parse_schedule("30 2 * * *", "Europe/Paris")
    inside = at(2026, 10, 25, 1, 15)  # 02:15 CET, after 02:30 CEST fired
    assert schedule.next_fire_times(inside, 2) == [at(2026, 10, 26, 1, 30), at(2026, 10, 27, 1, 30)]
    assert schedule.fire_times_between(inside, at(2026, 10, 26, 12)) == (
        [at(2026, 10, 26, 1, 30)],
        False,
    )


def test_new_york_spring_forward() -> None:
    # 2026-03-08 02:00 EST: the clocks jump to 03:00 EDT.
    schedule = parse_schedule("30 2 * * *", "America/New_York")
    assert schedule.next_fire_times(at(2026, 3, 7), 3) == [
        at(2026, 3, 7, 7, 30),  # 02:30 EST
        at(2026, 3, 8, 7, 0),  # 03:00 EDT
        at(2026, 3, 9, 6, 30),  # 02:30 EDT
    ]


def test_new_york_fall_back() -> None:
    # 2026-11-01 02:00 EDT: the clocks go back to 01:00 EST, 01:30 happens twice.
    one_thirty = parse_schedule("30 1 * * *", "America/New_York")
    assert one_thirty.next_fire_times(at(2026, 10, 31), 3) == [
        at(2026, 10, 31, 5, 30),
        at(2026, 11, 1, 5, 30),  # 01:30 EDT only, not 06:30 UTC (01:30 EST)
        at(2026, 11, 2, 6, 30),
    ]
    # 02:30 happens once that day, in EST.
    two_thirty = parse_schedule("30 2 * * *", "America/New_York")
    assert two_thirty.next_fire_times(at(2026, 10, 31, 12), 2) == [
        at(2026, 11, 1, 7, 30),
        at(2026, 11, 2, 7, 30),
    ]


@pytest.mark.parametrize(
    ("zone", "first", "last"),
    [
        ("Europe/Paris", (2026, 3, 20), (2026, 4, 5)),
        ("Europe/Paris", (2026, 10, 15), (2026, 11, 5)),
        ("America/New_York", (2026, 3, 1), (2026, 3, 15)),
        ("America/New_York", (2026, 10, 25), (2026, 11, 8)),
    ],
)
@pytest.mark.parametrize("cron", ["30 2 * * *", "30 1 * * *", "0 2 * * *", "59 1 * * *"])
def test_a_daily_job_fires_exactly_once_per_local_day(
    zone: str, first: tuple[int, int, int], last: tuple[int, int, int], cron: str
) -> None:
    schedule = parse_schedule(cron, zone)
    start, _ = local_day(schedule.zone, *first)
    _, end = local_day(schedule.zone, *last)
    ticks, truncated = schedule.fire_times_between(start, end)
    days = [tick.astimezone(schedule.zone).date() for tick in ticks]
    assert not truncated
    assert len(days) == len(set(days)) == (datetime(*last) - datetime(*first)).days + 1


@pytest.mark.parametrize(
    ("zone", "day", "first_utc", "count"),
    [
        ("Europe/Paris", (2026, 3, 29), at(2026, 3, 28, 23), 23),
        ("Europe/Paris", (2026, 10, 25), at(2026, 10, 24, 22), 25),
        ("America/New_York", (2026, 3, 8), at(2026, 3, 8, 5), 23),
        ("America/New_York", (2026, 11, 1), at(2026, 11, 1, 4), 25),
    ],
)
def test_hourly_fires_once_per_real_hour_through_the_changes(
    zone: str, day: tuple[int, int, int], first_utc: datetime, count: int
) -> None:
    schedule = parse_schedule("@hourly", zone)
    ticks, truncated = schedule.fire_times_between(*local_day(schedule.zone, *day))
    assert (ticks, truncated) == (hours(first_utc, count), False)


def test_wildcard_minutes_in_a_missing_or_repeated_hour() -> None:
    schedule = parse_schedule("*/15 2 * * *", "Europe/Paris")
    # 02:xx never happens on 2026-03-29: no fire that day.
    assert schedule.fire_times_between(*local_day(PARIS, 2026, 3, 29)) == ([], False)
    # 02:xx happens twice on 2026-10-25: eight fires, once for each real quarter hour.
    ticks, _ = schedule.fire_times_between(*local_day(PARIS, 2026, 10, 25))
    assert ticks == [at(2026, 10, 25, 0) + timedelta(minutes=15 * n) for n in range(8)]


def test_every_two_hours_across_the_fall_back() -> None:
    schedule = parse_schedule("0 */2 * * *", "Europe/Paris")
    assert schedule.next_fire_times(at(2026, 10, 24, 21), 4) == [
        at(2026, 10, 24, 22),  # 00:00 CEST
        at(2026, 10, 25, 0),  # 02:00 CEST
        at(2026, 10, 25, 1),  # 02:00 CET
        at(2026, 10, 25, 3),  # 04:00 CET
    ]


# --- fire times between -----------------------------------------------------------------


def test_start_is_exclusive_and_end_inclusive() -> None:
    hourly = parse_schedule("@hourly")
    assert hourly.fire_times_between(at(2026, 1, 1, 10), at(2026, 1, 1, 13)) == (
        [at(2026, 1, 1, 11), at(2026, 1, 1, 12), at(2026, 1, 1, 13)],
        False,
    )
    assert hourly.fire_times_between(at(2026, 1, 1, 10), at(2026, 1, 1, 10, 59)) == ([], False)
    assert hourly.fire_times_between(at(2026, 1, 1, 10), at(2026, 1, 1, 11)) == (
        [at(2026, 1, 1, 11)],
        False,
    )


def test_an_empty_or_backwards_span_has_no_ticks() -> None:
    hourly = parse_schedule("@hourly")
    assert hourly.fire_times_between(at(2026, 1, 1, 10), at(2026, 1, 1, 10)) == ([], False)
    assert hourly.fire_times_between(at(2026, 1, 1, 12), at(2026, 1, 1, 10)) == ([], False)


def test_more_than_the_limit_keeps_the_newest() -> None:
    hourly = parse_schedule("@hourly")
    start, end = at(2026, 1, 1), at(2026, 1, 1, 10)
    assert hourly.fire_times_between(start, end, limit=3) == (
        [at(2026, 1, 1, 8), at(2026, 1, 1, 9), at(2026, 1, 1, 10)],
        True,
    )
    assert hourly.fire_times_between(start, end, limit=10) == (hours(at(2026, 1, 1, 1), 10), False)
    assert hourly.fire_times_between(start, end, limit=9) == (hours(at(2026, 1, 1, 2), 9), True)


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(InvalidRequest, match=r"^limit: 0 is out of range"):
        parse_schedule("@hourly").fire_times_between(at(2026, 1, 1), at(2026, 1, 2), limit=0)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_a_per_minute_schedule_down_for_five_years(zone: str) -> None:
    schedule = parse_schedule("* * * * *", zone)
    end = at(2026, 1, 1, 12) + timedelta(seconds=30)
    ticks, truncated = schedule.fire_times_between(at(2021, 1, 1), end)
    assert truncated
    assert len(ticks) == MAX_TICKS_PER_PASS
    newest = at(2026, 1, 1, 12)
    assert ticks == [newest - timedelta(minutes=n) for n in reversed(range(MAX_TICKS_PER_PASS))]


def test_a_sparse_schedule_over_decades() -> None:
    ticks, truncated = parse_schedule("@yearly").fire_times_between(at(1990, 6, 1), at(2026, 6, 1))
    assert not truncated
    assert ticks == [at(year, 1, 1) for year in range(1991, 2027)]


@pytest.mark.parametrize(
    ("cron", "zone", "start", "end"),
    [
        ("*/10 * * * *", "Europe/Paris", at(2026, 3, 25), at(2026, 3, 29, 12)),
        ("*/10 * * * *", "Europe/Paris", at(2026, 10, 21), at(2026, 10, 25, 12)),
        ("30 2 * * *", "Europe/Paris", at(2026, 2, 1), at(2026, 12, 1)),
        ("*/15 1-2 * * *", "America/New_York", at(2026, 2, 1), at(2026, 11, 10)),
        ("0 */2 * * *", "Australia/Lord_Howe", at(2026, 3, 1), at(2026, 4, 10)),
    ],
)
def test_truncation_agrees_with_walking_forward(
    cron: str, zone: str, start: datetime, end: datetime
) -> None:
    # The newest ticks straddle a change: they are the ones walking forward finds.
    schedule = parse_schedule(cron, zone)
    walked: list[datetime] = []
    after = start
    while batch := [tick for tick in schedule.next_fire_times(after, 1000) if tick <= end]:
        walked.extend(batch)
        after = batch[-1]
    assert len(walked) > 200
    for limit in (50, 200):
        assert schedule.fire_times_between(start, end, limit) == (walked[-limit:], True)
    assert schedule.fire_times_between(start, end, len(walked)) == (walked, False)


# --- due fire times -----------------------------------------------------------------------


def due(
    cron: str,
    since: datetime,
    now: datetime,
    missed: str,
    max_catchup: int = 1,
    grace: timedelta = DEFAULT_GRACE,
) -> DueTicks:
    return due_fire_times(
        parse_schedule(cron),
        since=since,
        now=now,
        missed=missed,
        max_catchup=max_catchup,
        grace=grace,
    )


def test_skip_runs_the_ticks_on_time_and_skips_the_late_ones() -> None:
    result = due(
        "@hourly", at(2026, 1, 1, 5, 30), at(2026, 1, 1, 10) + timedelta(seconds=30), "skip"
    )
    assert result.to_run == [at(2026, 1, 1, 10)]
    assert result.skipped == [
        (
            tick,
            f"missed: the scheduler was not running at 2026-01-01 {tick.hour:02}:00 UTC "
            "(policy missed=skip)",
        )
        for tick in hours(at(2026, 1, 1, 6), 4)
    ]
    assert not result.truncated


def test_skip_with_nothing_on_time_runs_nothing() -> None:
    result = due("@hourly", at(2026, 1, 1, 5, 30), at(2026, 1, 1, 10, 30), "skip")
    assert result.to_run == []
    assert [tick for tick, _ in result.skipped] == hours(at(2026, 1, 1, 6), 5)


def test_the_grace_boundary() -> None:
    tick = at(2026, 1, 1, 10)
    since = tick - timedelta(minutes=30)
    on_time = due("@hourly", since, tick + DEFAULT_GRACE, "skip")
    assert (on_time.to_run, on_time.skipped) == ([tick], [])
    late = due("@hourly", since, tick + DEFAULT_GRACE + timedelta(microseconds=1), "skip")
    assert late.to_run == []
    assert [skipped for skipped, _ in late.skipped] == [tick]
    assert due("@hourly", since, tick, "skip", grace=timedelta(0)).to_run == [tick]
    wide = due("@hourly", since, tick + timedelta(minutes=5), "skip", grace=timedelta(minutes=5))
    assert wide.to_run == [tick]


def test_skip_may_run_two_ticks_on_time() -> None:
    now = at(2026, 1, 1, 10)
    result = due("* * * * *", now - timedelta(minutes=3), now, "skip")
    assert result.to_run == [now - timedelta(minutes=1), now]
    assert [tick for tick, _ in result.skipped] == [now - timedelta(minutes=2)]


def test_latest_runs_the_newest_tick_even_late() -> None:
    result = due("@hourly", at(2026, 1, 1, 5, 30), at(2026, 1, 1, 10, 30), "latest")
    assert result.to_run == [at(2026, 1, 1, 10)]
    assert result.skipped == [
        (tick, "superseded by the run at 2026-01-01 10:00 UTC (missed=latest)")
        for tick in hours(at(2026, 1, 1, 6), 4)
    ]


def test_latest_with_one_tick() -> None:
    result = due("@hourly", at(2026, 1, 1, 9, 30), at(2026, 1, 1, 10, 30), "latest")
    assert (result.to_run, result.skipped) == ([at(2026, 1, 1, 10)], [])


def test_all_runs_the_newest_max_catchup() -> None:
    since, now = at(2026, 1, 1, 5, 30), at(2026, 1, 1, 10, 30)
    result = due("@hourly", since, now, "all", max_catchup=3)
    assert result.to_run == [at(2026, 1, 1, 8), at(2026, 1, 1, 9), at(2026, 1, 1, 10)]
    assert result.skipped == [
        (at(2026, 1, 1, 6), "more than max_catchup=3 missed ticks (missed=all)"),
        (at(2026, 1, 1, 7), "more than max_catchup=3 missed ticks (missed=all)"),
    ]
    everything = due("@hourly", since, now, "all", max_catchup=5)
    assert (everything.to_run, everything.skipped) == (hours(at(2026, 1, 1, 6), 5), [])
    assert due("@hourly", since, now, "all", max_catchup=50).to_run == hours(at(2026, 1, 1, 6), 5)


def test_ticks_on_time_count_toward_max_catchup() -> None:
    now = at(2026, 1, 1, 10)
    result = due("* * * * *", now - timedelta(minutes=5), now, "all", max_catchup=1)
    assert result.to_run == [now]
    assert [tick for tick, _ in result.skipped] == [
        now - timedelta(minutes=n) for n in (4, 3, 2, 1)
    ]


@pytest.mark.parametrize("missed", ["skip", "latest", "all"])
def test_no_tick_is_due_in_an_empty_span(missed: str) -> None:
    now = at(2026, 1, 1, 10)
    assert due("@hourly", now, now, missed) == DueTicks([], [], False)
    assert due("@hourly", now + timedelta(hours=3), now, missed) == DueTicks([], [], False)
    assert due("@hourly", now - timedelta(minutes=59), now - timedelta(minutes=1), missed) == (
        DueTicks([], [], False)
    )


@pytest.mark.parametrize(
    ("missed", "runs", "skips"),
    # skip: the ticks at now and a minute before are on time (DEFAULT_GRACE is 60 s).
    [("skip", 2, MAX_TICKS_PER_PASS - 2), ("latest", 1, 999), ("all", 10, 990)],
)
def test_years_of_missed_ticks_are_truncated(missed: str, runs: int, skips: int) -> None:
    now = at(2026, 1, 1, 10)
    result = due("* * * * *", at(2021, 1, 1), now, missed, max_catchup=10)
    assert result.truncated
    assert (len(result.to_run), len(result.skipped)) == (runs, skips)
    assert result.to_run[-1] == now
    assert result.skipped[0][0] == now - timedelta(minutes=MAX_TICKS_PER_PASS - 1)


def test_due_ticks_in_a_zone() -> None:
    schedule = parse_schedule("30 2 * * *", "Europe/Paris")
    result = due_fire_times(
        schedule,
        since=at(2026, 3, 27),
        now=at(2026, 3, 29, 1) + timedelta(seconds=30),
        missed="all",
        max_catchup=5,
    )
    assert result.to_run == [at(2026, 3, 27, 1, 30), at(2026, 3, 28, 1, 30), at(2026, 3, 29, 1)]


@pytest.mark.parametrize("missed", ["", "never", "SKIP", "latest "])
def test_unknown_missed_policies_are_refused(missed: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        due("@hourly", at(2026, 1, 1), at(2026, 1, 2), missed)
    assert str(caught.value).startswith(
        f"missed: {missed!r} is not a missed-run policy; use 'skip'"
    )
    with pytest.raises(InvalidRequest):
        check_missed_policy(missed, 1)


@pytest.mark.parametrize("max_catchup", [0, -1, True, 1.5, "3"])
def test_max_catchup_must_be_a_whole_number_of_at_least_one(max_catchup: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        due("@hourly", at(2026, 1, 1), at(2026, 1, 2), "all", max_catchup=max_catchup)
    assert str(caught.value) == (
        f"max_catchup: {max_catchup!r} is not allowed; use a whole number of at least 1"
    )
    with pytest.raises(InvalidRequest, match=r"^max_catchup: "):
        check_missed_policy("skip", max_catchup)


def test_valid_policies_pass_the_check() -> None:
    for missed in ("skip", "latest", "all"):
        check_missed_policy(missed, 1)
    check_missed_policy("all", 10_000)


def test_a_negative_grace_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"^grace: "):
        due("@hourly", at(2026, 1, 1), at(2026, 1, 2), "skip", grace=timedelta(seconds=-1))


# --- preview --------------------------------------------------------------------------------


def test_preview_across_the_spring_change() -> None:
    schedule = parse_schedule("30 2 * * *", "Europe/Paris")
    assert preview(schedule, 3, now=at(2026, 3, 28, 12)) == [
        {"utc": "2026-03-29T01:00:00.000Z", "local": "2026-03-29T03:00:00+02:00"},
        {"utc": "2026-03-30T00:30:00.000Z", "local": "2026-03-30T02:30:00+02:00"},
        {"utc": "2026-03-31T00:30:00.000Z", "local": "2026-03-31T02:30:00+02:00"},
    ]


def test_preview_shows_the_repeated_hour_by_its_offset() -> None:
    schedule = parse_schedule("0 */2 * * *", "Europe/Paris")
    assert [entry["local"] for entry in preview(schedule, 2, now=at(2026, 10, 24, 23))] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]


def test_preview_format() -> None:
    entries = preview(parse_schedule("@hourly"))
    assert len(entries) == 5
    now = datetime.now(UTC)
    for entry in entries:
        assert set(entry) == {"utc", "local"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00\.000Z", entry["utc"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00\+00:00", entry["local"])
        moment = datetime.fromisoformat(entry["local"])
        assert now < moment <= now + timedelta(hours=5)
    assert [entry["utc"] for entry in entries] == sorted(entry["utc"] for entry in entries)


def test_preview_count() -> None:
    schedule = parse_schedule("@daily", "America/New_York")
    assert preview(schedule, 1, now=at(2026, 7, 1)) == [
        {"utc": "2026-07-01T04:00:00.000Z", "local": "2026-07-01T00:00:00-04:00"}
    ]
    assert preview(schedule, 0, now=at(2026, 7, 1)) == []
    with pytest.raises(InvalidRequest, match=r"^count: "):
        preview(schedule, -1)
