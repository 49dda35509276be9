"""One pass of the scheduler: every due tick of every schedule, fired once.

Any number of servers call :func:`tick` (each every ``BookstoreRuns.tick_interval``);
schedules are read fresh from the database on every pass, so an edit through one server
is seen by all at their next pass.  For each schedule the due ticks since its last fire
(or since its timing last changed) are worked out by :func:`.timing.due_fire_times`
under its ``missed`` policy; each tick is then claimed in the database together with
its run (:meth:`.db.RunDB.claim_tick`), so it fires once whichever servers try.

A tick not run is a SKIPPED run saying why (missed while no scheduler ran, superseded
under ``missed=latest``, over ``max_catchup``, or ``overlap=skip`` while the previous
run still runs).  ``overlap=cancel_previous`` cancels the running ones first;
``overlap=queue`` queues the run and the runner starts it when the previous ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .db import RunDB
from .states import RunState
from .timing import due_fire_times, parse_schedule

__all__ = ["TickReport", "run_row_for_schedule", "tick"]

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    """What one pass did: runs queued and ticks skipped (by this server)."""

    queued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


def run_row_for_schedule(
    schedule: dict[str, Any], *, trigger: str, fire_time: float | None, output_key: str
) -> dict[str, Any]:
    """The run of ``schedule`` (without state), as a row of the runs table."""
    return {
        "owner": schedule["owner"],
        "schedule_id": schedule["id"],
        "trigger": trigger,
        "fire_time": fire_time,
        "source_area": schedule["source_area"],
        "source_path": schedule["source_path"],
        "source_key": schedule["source_key"],
        "version_policy": schedule["version_policy"],
        "version_id": schedule["version_id"],
        "parameters": schedule["parameters"],
        "kernel_name": schedule["kernel_name"],
        "execution_timeout": schedule["execution_timeout"],
        "wall_timeout": schedule["wall_timeout"],
        "slow_after": schedule["slow_after"],
        "output_path": schedule["output_path"],
        "output_key": output_key,
        "attempt": 1,
        "max_retries": schedule["max_retries"],
        "retry_on": schedule["retry_on"],
        "retry_backoff": schedule["retry_backoff"],
        "overlap": schedule["overlap"],
        "notify": schedule["notify"],
    }


def tick(
    db: RunDB,
    server_id: str,
    now: datetime,
    *,
    owner: str | None = None,
    output_key_of: Any = None,
) -> TickReport:
    """Fire every due tick of the unpaused schedules (of ``owner`` when given).

    ``output_key_of(schedule)`` gives the output key of a schedule's runs (default:
    the ``output_key`` the schedule row carries).
    """
    report = TickReport()
    now = now.astimezone(timezone.utc)
    for schedule in db.list_schedules(owner=owner, include_paused=False):
        try:
            _fire(db, server_id, schedule, now=now, report=report, output_key_of=output_key_of)
        except Exception:  # one broken schedule must not stop the others
            log.exception("bookstore: could not fire schedule %s", schedule["id"])
    return report


def _fire(
    db: RunDB,
    server_id: str,
    schedule: dict[str, Any],
    *,
    now: datetime,
    report: TickReport,
    output_key_of: Any,
) -> None:
    timing = parse_schedule(schedule["cron"], schedule["timezone"])
    last = db.last_fire(schedule["id"])
    since_epoch = max(last or 0.0, schedule["timing_since"])
    since = datetime.fromtimestamp(since_epoch, timezone.utc)
    due = due_fire_times(
        timing,
        since=since,
        now=now,
        missed=schedule["missed"],
        max_catchup=schedule["max_catchup"],
    )
    if not due.to_run and not due.skipped:
        return
    output_key = output_key_of(schedule) if output_key_of else schedule["output_key"]
    for moment, reason in due.skipped:
        row = run_row_for_schedule(
            schedule, trigger="schedule", fire_time=moment.timestamp(), output_key=output_key
        )
        row.update(state=RunState.SKIPPED.value, reason=reason, finished_at=now.timestamp())
        run = db.claim_tick(schedule["id"], moment.timestamp(), server_id, row)
        if run is not None:
            report.skipped.append(run["id"])
    for moment in due.to_run:
        row = run_row_for_schedule(
            schedule, trigger="schedule", fire_time=moment.timestamp(), output_key=output_key
        )
        active = db.active_runs_of(schedule["id"])
        overlap = schedule["overlap"]
        if active and overlap == "skip":
            running = ", ".join(run["id"] for run in active)
            row.update(
                state=RunState.SKIPPED.value,
                reason=f"the previous run ({running}) was still running (overlap=skip)",
                finished_at=now.timestamp(),
            )
        else:
            row["state"] = RunState.QUEUED.value
        run = db.claim_tick(schedule["id"], moment.timestamp(), server_id, row)
        if run is None:
            continue  # another server fired this tick
        if run["state"] == RunState.SKIPPED.value:
            report.skipped.append(run["id"])
            continue
        report.queued.append(run["id"])
        if overlap == "cancel_previous":
            for previous in active:
                db.request_cancel(previous["id"])
                report.cancelled.append(previous["id"])
