"""The retention planner and policy, as pure functions: which versions a policy keeps, why,
and which it drops (no store; every time is given)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from traitlets import TraitError

from bookstore.config import BookstoreSettings
from bookstore.core.retention import (
    DROP_REASONS,
    KEEP_REASONS,
    Decision,
    PruneReport,
    RetentionPolicy,
    RetentionRules,
    plan_versions,
)
from bookstore.stores.base import ObjectInfo

#: A fixed "now", half past midnight UTC (hour and day buckets are UTC).
NOW = datetime(2026, 3, 10, 0, 30, tzinfo=timezone.utc)


def version(version_id: str, age: timedelta, *, size: int = 10, latest: bool = False) -> ObjectInfo:
    return ObjectInfo(
        key="ws/a.ipynb",
        version_id=version_id,
        size=size,
        last_modified=NOW - age,
        is_latest=latest,
    )


def days(n: float) -> timedelta:
    return timedelta(days=n)


def kept(decisions: list[Decision]) -> list[str]:
    return [d.version_id for d in decisions if d.keep]


def reasons(decisions: list[Decision]) -> dict[str, str]:
    return {d.version_id: d.reason for d in decisions}


def test_every_reason_is_described() -> None:
    decisions = plan_versions(
        [version("v0", days(0), latest=True), version("v1", days(100))],
        RetentionPolicy(daily_days=50),
        now=NOW,
    )
    assert {d.reason for d in decisions} <= set(KEEP_REASONS) | set(DROP_REASONS)


def test_no_versions_no_decisions() -> None:
    assert plan_versions([], RetentionPolicy(), now=NOW) == []


def test_keep_all_days_keeps_everything_younger_and_its_boundary_is_exclusive() -> None:
    versions = [version(f"v{n}", days(n), size=100 + n, latest=n == 0) for n in range(11)]
    policy = RetentionPolicy(keep_all_days=7, hourly_days=7, daily_days=7)
    decisions = plan_versions(versions, policy, now=NOW)
    assert kept(decisions) == [f"v{n}" for n in range(7)]
    assert reasons(decisions) == {
        "v0": "latest",
        **{f"v{n}": "recent" for n in range(1, 7)},
        **{f"v{n}": "expired" for n in range(7, 11)},  # exactly 7 days old: no longer recent
    }
    # Each decision carries what the report shows: id, time, size.
    assert [(d.version_id, d.last_modified, d.size) for d in decisions] == [
        (v.version_id, v.last_modified, v.size) for v in versions
    ]


def test_hourly_window_keeps_the_newest_version_of_each_hour() -> None:
    # Every 10 minutes from 8 days + 5 minutes back, over 3 hours: 18 versions.
    start = days(8) + timedelta(minutes=5)
    versions = [version("latest", timedelta(0), latest=True)] + [
        version(f"m{n}", start + timedelta(minutes=10 * n)) for n in range(18)
    ]
    decisions = plan_versions(versions, RetentionPolicy(), now=NOW)
    by_hour: dict[datetime, str] = {}
    for info in versions[1:]:
        by_hour.setdefault(info.last_modified.replace(minute=0, second=0), str(info.version_id))
    assert len(by_hour) in (3, 4)
    assert kept(decisions) == ["latest", *by_hour.values()]
    dropped = [d for d in decisions if not d.keep]
    assert dropped
    assert {d.reason for d in dropped} == {"hourly"}
    assert {d.reason for d in decisions if d.keep and d.version_id != "latest"} == {"hourly"}


def test_an_hour_already_kept_as_recent_keeps_no_older_version() -> None:
    # NOW is 00:30: 7 days minus 10 minutes is 00:40 and 7 days plus 10 minutes is 00:20,
    # the same UTC hour on either side of keep_all_days.
    versions = [
        version("latest", timedelta(0), latest=True),
        version("recent", days(7) - timedelta(minutes=10)),
        version("same-hour", days(7) + timedelta(minutes=10)),
        version("hour-before", days(7) + timedelta(minutes=40)),
    ]
    decisions = plan_versions(versions, RetentionPolicy(), now=NOW)
    assert reasons(decisions) == {
        "latest": "latest",
        "recent": "recent",
        "same-hour": "hourly",
        "hour-before": "hourly",
    }
    assert kept(decisions) == ["latest", "recent", "hour-before"]


def test_daily_window_keeps_the_newest_of_each_day_until_daily_days() -> None:
    # Three versions a day, at 22:00, 12:00 and 02:00 UTC, from 31 to 40 days old.
    day0 = datetime(2026, 2, 7, tzinfo=timezone.utc)  # 31 days before NOW's date
    versions = [version("latest", timedelta(0), latest=True)]
    for n in range(10):
        for hour in (22, 12, 2):
            moment = day0 - timedelta(days=n) + timedelta(hours=hour)
            versions.append(version(f"d{n}h{hour}", NOW - moment))
    policy = RetentionPolicy(keep_all_days=7, hourly_days=30, daily_days=38)
    decisions = plan_versions(versions, policy, now=NOW)
    ages = {str(v.version_id): (NOW - v.last_modified) / days(1) for v in versions}
    expected_kept = ["latest"] + [f"d{n}h22" for n in range(10) if ages[f"d{n}h22"] < 38]
    assert kept(decisions) == expected_kept
    for decision in decisions[1:]:
        age = ages[decision.version_id]
        if age >= 38:
            assert decision.reason == "expired", decision
        else:
            assert decision.reason == "daily", decision
            assert decision.keep == decision.version_id.endswith("h22")


def test_daily_days_none_keeps_one_a_day_forever() -> None:
    versions = (
        [version("latest", timedelta(0), latest=True)]
        + [version(f"y{n}", days(365 * n) + timedelta(hours=1)) for n in range(1, 6)]
        + [version("y5-earlier", days(365 * 5) + timedelta(hours=2))]
    )
    decisions = plan_versions(versions, RetentionPolicy(), now=NOW)
    assert kept(decisions) == ["latest", "y1", "y2", "y3", "y4", "y5"]
    assert reasons(decisions)["y5-earlier"] == "daily"


def test_keep_all_days_none_keeps_every_version_forever() -> None:
    versions = [version(f"v{n}", days(100 * n), latest=n == 0) for n in range(5)]
    decisions = plan_versions(versions, RetentionPolicy(keep_all_days=None), now=NOW)
    assert kept(decisions) == [f"v{n}" for n in range(5)]


def test_zero_windows_keep_only_what_is_protected() -> None:
    versions = [version(f"v{n}", timedelta(minutes=n), latest=n == 0) for n in range(5)]
    policy = RetentionPolicy(keep_all_days=0, hourly_days=0, daily_days=0)
    decisions = plan_versions(versions, policy, now=NOW, protected={"v3": "pinned"})
    assert kept(decisions) == ["v0", "v3"]


def test_max_versions_caps_the_newest_and_protected_versions_count() -> None:
    versions = [version(f"v{n}", timedelta(minutes=n), latest=n == 0) for n in range(8)]
    policy = RetentionPolicy(max_versions=3)
    decisions = plan_versions(versions, policy, now=NOW, protected={"v1": "named", "v6": "pinned"})
    # v0 (latest) and v1 (named) take two of the three places; v2 the last; v6 is pinned.
    assert kept(decisions) == ["v0", "v1", "v2", "v6"]
    assert reasons(decisions) == {
        "v0": "latest",
        "v1": "named",
        "v2": "recent",
        "v3": "max_versions",
        "v4": "max_versions",
        "v5": "max_versions",
        "v6": "pinned",
        "v7": "max_versions",
    }


def test_max_versions_applies_after_the_windows() -> None:
    # One version an hour, 10 to 20 days old: the hourly window keeps each; the cap 4.
    versions = [version("latest", timedelta(0), latest=True)] + [
        version(f"h{n}", days(10) + timedelta(hours=n)) for n in range(12)
    ]
    decisions = plan_versions(versions, RetentionPolicy(max_versions=4), now=NOW)
    assert kept(decisions) == ["latest", "h0", "h1", "h2"]
    assert {d.reason for d in decisions if not d.keep} == {"max_versions"}


def test_max_versions_of_one_keeps_only_the_latest() -> None:
    versions = [version(f"v{n}", timedelta(seconds=n), latest=n == 0) for n in range(4)]
    decisions = plan_versions(versions, RetentionPolicy(max_versions=1), now=NOW)
    assert kept(decisions) == ["v0"]


@pytest.mark.parametrize("reason", ["pinned", "named", "published", "run", "lineage"])
def test_every_protection_keeps_a_version_the_policy_would_drop(reason: str) -> None:
    versions = [version("v0", timedelta(0), latest=True), version("old", days(400))]
    policy = RetentionPolicy(daily_days=30)
    assert kept(plan_versions(versions, policy, now=NOW)) == ["v0"]
    decisions = plan_versions(versions, policy, now=NOW, protected={"old": reason})
    assert reasons(decisions) == {"v0": "latest", "old": reason}
    assert kept(decisions) == ["v0", "old"]


def test_a_set_of_protected_ids_means_pinned() -> None:
    versions = [version("v0", timedelta(0), latest=True), version("old", days(400))]
    decisions = plan_versions(versions, RetentionPolicy(daily_days=30), now=NOW, protected={"old"})
    assert reasons(decisions)["old"] == "pinned"


def test_the_latest_is_the_newest_stored_version_after_pending_saves() -> None:
    versions = [
        version("pending-12", timedelta(0)),
        version("pending-11", timedelta(seconds=1)),
        version("stored", days(400)),
        version("older", days(401)),
    ]
    policy = RetentionPolicy(keep_all_days=0, hourly_days=0, daily_days=0)
    decisions = plan_versions(versions, policy, now=NOW)
    assert reasons(decisions) == {
        "pending-12": "pending",
        "pending-11": "pending",
        "stored": "latest",
        "older": "expired",
    }


def test_a_version_marked_latest_is_kept_wherever_it_is_listed() -> None:
    versions = [version("v0", days(400)), version("v1", days(401), latest=True)]
    policy = RetentionPolicy(keep_all_days=0, hourly_days=0, daily_days=0)
    assert kept(plan_versions(versions, policy, now=NOW)) == ["v0", "v1"]


def test_a_version_newer_than_now_is_recent() -> None:
    versions = [version("latest", -timedelta(hours=1), latest=True), version("skewed", -days(1))]
    decisions = plan_versions(versions, RetentionPolicy(keep_all_days=0, max_versions=5), now=NOW)
    assert reasons(decisions)["skewed"] == "recent"


# -- the policy ---------------------------------------------------------------------------------


def test_rules_pick_the_longest_prefix_by_whole_segments() -> None:
    rules = RetentionRules.parse(
        {
            "": {"keep_all_days": 1},
            "reports": {"max_versions": 5},
            "/reports/q1/": {"keep_all_days": None},
        }
    )
    assert rules.policy_for("a.ipynb") == ("", RetentionPolicy(keep_all_days=1))
    assert rules.policy_for("reports/a.ipynb") == ("reports", RetentionPolicy(max_versions=5))
    assert rules.policy_for("reports-old/a.ipynb") == ("", RetentionPolicy(keep_all_days=1))
    assert rules.policy_for("reports/q1/a.ipynb") == (
        "reports/q1",
        RetentionPolicy(keep_all_days=None),
    )
    assert rules.policy_for("reports") == ("reports", RetentionPolicy(max_versions=5))
    assert rules.to_dict()["reports"] == {
        "keep_all_days": 7.0,
        "hourly_days": 30.0,
        "daily_days": None,
        "max_versions": 5,
    }


def test_rules_without_a_matching_prefix_keep_everything() -> None:
    rules = RetentionRules.parse({"scratch": {}})
    assert rules
    assert rules.policy_for("reports/a.ipynb") is None
    assert rules.policy_for("scratch/b.ipynb") == ("scratch", RetentionPolicy())
    assert not RetentionRules.parse({})


def test_the_setting_is_validated_and_completed() -> None:
    settings = BookstoreSettings(retention={"/team/": {"daily_days": 90, "max_versions": 200}})
    assert settings.retention == {
        "team": {"keep_all_days": 7.0, "hourly_days": 30.0, "daily_days": 90.0, "max_versions": 200}
    }
    assert BookstoreSettings().retention == {}
    assert BookstoreSettings(retention_interval=3600).retention_interval == 3600.0


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"a": 7}, ["retention['a'] must be a dict", "keep_all_days"]),
        ({"a": {"keep_days": 7}}, ["unknown setting(s) 'keep_days'", "max_versions"]),
        ({"a": {"keep_all_days": "7"}}, ["keep_all_days must be a number of days"]),
        ({"a": {"keep_all_days": True}}, ["keep_all_days must be a number"]),
        ({"a": {"hourly_days": -1}}, ["hourly_days must be 0 or more days"]),
        ({"a": {"daily_days": float("inf")}}, ["daily_days must be 0 or more days"]),
        ({"a": {"hourly_days": 3}}, ["hourly_days (3) is shorter than keep_all_days (7)"]),
        ({"a": {"daily_days": 10}}, ["daily_days (10) is shorter than hourly_days (30)"]),
        ({"a": {"max_versions": 0}}, ["max_versions must be a whole number, 1 or more"]),
        ({"a": {"max_versions": 2.5}}, ["max_versions must be a whole number"]),
        ({"../a": {}}, ["'..'", "relative to the workspace"]),
        ({"a": {}, "a/": {}}, ["two prefixes name 'a'"]),
    ],
)
def test_bad_settings_say_what_to_fix(value: object, words: list[str]) -> None:
    with pytest.raises(TraitError) as raised:
        BookstoreSettings(retention=value)
    for word in words:
        assert word in str(raised.value), (word, str(raised.value))
    with pytest.raises(TraitError):
        RetentionRules.parse(value)


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_bad_retention_interval(bad: float) -> None:
    with pytest.raises(TraitError, match="retention_interval must be 0"):
        BookstoreSettings(retention_interval=bad)


def test_the_report_of_nothing() -> None:
    report = PruneReport(dry_run=True, prefix="", now=NOW, rules=RetentionRules())
    document = report.to_dict()
    assert document["totals"] == {
        "files": 0,
        "files_without_policy": 0,
        "versions": 0,
        "kept": 0,
        "dropped_versions": 0,
        "dropped_bytes": 0,
        "deleted_versions": 0,
        "deleted_bytes": 0,
        "failed": 0,
    }
    assert document["dropped"] == []
    assert document["now"] == "2026-03-10T00:30:00.000Z"
