"""The scheduler's pass: exactly one run per tick with several servers (threads and real
processes, on SQLite and PostgreSQL), edits seen by all, the missed and overlap policies."""

from __future__ import annotations

import multiprocessing
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bookstore.core.runs.db import RunDB
from bookstore.core.runs.scheduler import tick
from bookstore.core.runs.states import RunState
from tests.core.runs_rows import schedule_row, states_of

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def minute(n: int, seconds: float = 1.0) -> datetime:
    """``n`` minutes after T0, a little after the tick."""
    return T0 + timedelta(minutes=n, seconds=seconds)


def _server(
    url: str, name: str, rounds: int, start: Any, end: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    db = RunDB(url)
    queued = 0
    for n in range(1, rounds + 1):
        start.wait()
        queued += len(tick(db, name, minute(n)).queued)
        end.wait()
    db.close()
    results.put((name, queued))


@pytest.mark.parametrize("servers", [2, 4])
def test_server_processes_fire_each_tick_once_and_see_edits(
    db: RunDB, runs_db_url: str, servers: int
) -> None:
    """``servers`` processes pass over the schedules at the same simulated minutes; an
    edit made between two minutes is in the runs of every later minute."""
    schedule = db.create_schedule(
        schedule_row(timing_since=T0.timestamp(), parameters={"edition": 1})
    )
    rounds, edit_at = 12, 7
    context = multiprocessing.get_context("spawn")
    start, end = context.Barrier(servers + 1), context.Barrier(servers + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_server, args=(runs_db_url, f"s{i}", rounds, start, end, results))
        for i in range(servers)
    ]
    for process in processes:
        process.start()
    for n in range(1, rounds + 1):
        if n == edit_at:
            db.update_schedule(schedule["id"], {"parameters": {"edition": 2}})
        start.wait(timeout=60)
        end.wait(timeout=60)
    totals = dict(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    runs = db.list_runs(schedule_id=schedule["id"], limit=100)
    fire_times = sorted(run["fire_time"] for run in runs)
    assert fire_times == [(T0 + timedelta(minutes=n)).timestamp() for n in range(1, rounds + 1)]
    assert sum(totals.values()) == rounds, totals
    for run in runs:
        edition = 2 if run["fire_time"] >= (T0 + timedelta(minutes=edit_at)).timestamp() else 1
        assert run["parameters"] == {"edition": edition}
    assert db.count_fires(schedule["id"]) == rounds


def test_a_paused_schedule_does_not_fire(db: RunDB) -> None:
    schedule = db.create_schedule(schedule_row(timing_since=T0.timestamp(), paused=True))
    assert tick(db, "s1", minute(3)).queued == []
    assert db.count_runs(schedule_id=schedule["id"]) == 0


@pytest.mark.parametrize(
    ("missed", "max_catchup", "runs", "skipped"),
    [("skip", 10, 0, 10), ("latest", 10, 1, 9), ("all", 3, 3, 7), ("all", 20, 10, 0)],
)
def test_missed_ticks_under_each_policy(
    db: RunDB, missed: str, max_catchup: int, runs: int, skipped: int
) -> None:
    """Ten ticks missed (the scheduler was down), the newest 90 s ago: past the grace."""
    schedule = db.create_schedule(
        schedule_row(
            cron="*/5 * * * *",
            timing_since=T0.timestamp(),
            missed=missed,
            max_catchup=max_catchup,
        )
    )
    report = tick(db, "s1", minute(50, seconds=90))
    assert (len(report.queued), len(report.skipped)) == (runs, skipped)
    counts = states_of(db, schedule["id"])
    assert counts.get("QUEUED", 0) == runs
    assert counts.get("SKIPPED", 0) == skipped
    reasons = {
        run["reason"] for run in db.list_runs(schedule_id=schedule["id"], states=["SKIPPED"])
    }
    assert all(reason and f"missed={missed}" in reason for reason in reasons), reasons
    assert tick(db, "s2", minute(50, seconds=95)).queued == [], "nothing twice"


def test_an_on_time_tick_runs_under_missed_skip(db: RunDB) -> None:
    schedule = db.create_schedule(schedule_row(timing_since=T0.timestamp()))
    report = tick(db, "s1", minute(1, seconds=30))
    assert len(report.queued) == 1
    assert report.skipped == []
    assert states_of(db, schedule["id"]) == {"QUEUED": 1}


def _active(db: RunDB, schedule_id: str) -> list[str]:
    return [run["id"] for run in db.active_runs_of(schedule_id)]


def test_overlap_skip_records_the_tick_as_skipped(db: RunDB) -> None:
    schedule = db.create_schedule(schedule_row(timing_since=T0.timestamp(), overlap="skip"))
    first = tick(db, "s1", minute(1)).queued
    second = tick(db, "s1", minute(2))
    assert second.queued == []
    assert len(second.skipped) == 1
    (skipped,) = db.list_runs(schedule_id=schedule["id"], states=["SKIPPED"])
    assert first[0] in skipped["reason"]
    assert "overlap=skip" in skipped["reason"]


def test_overlap_allow_and_queue_queue_every_tick(db: RunDB) -> None:
    for policy in ("allow", "queue"):
        schedule = db.create_schedule(schedule_row(timing_since=T0.timestamp(), overlap=policy))
        tick(db, "s1", minute(1), owner=None)
        tick(db, "s1", minute(2), owner=None)
        assert len(_active(db, schedule["id"])) == 2
        db.update_schedule(schedule["id"], {"paused": True})


def test_overlap_cancel_previous_cancels_the_running_run(db: RunDB) -> None:
    db.create_schedule(schedule_row(timing_since=T0.timestamp(), overlap="cancel_previous"))
    (first,) = tick(db, "s1", minute(1)).queued
    db.claim_runs("s1", now=time.time(), lease=30, limit=1)
    report = tick(db, "s1", minute(2))
    assert report.cancelled == [first]
    assert db.require_run(first)["cancel_requested"]
    (second,) = report.queued
    assert db.require_run(second)["state"] == RunState.QUEUED.value


def test_a_timing_change_counts_ticks_from_the_change(db: RunDB) -> None:
    schedule = db.create_schedule(schedule_row(timing_since=T0.timestamp()))
    tick(db, "s1", minute(1))
    db.update_schedule(
        schedule["id"], {"cron": "0 * * * *", "timing_since": minute(30).timestamp()}
    )
    report = tick(db, "s1", minute(59))
    assert report.queued == [], "no minute ticks of the old timing"
    assert report.skipped == []
    assert len(tick(db, "s1", minute(60)).queued) == 1
