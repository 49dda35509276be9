"""Rows of the runs database for the tests of bookstore.core.runs."""

from __future__ import annotations

from typing import Any

from bookstore.core.runs.db import RunDB


def run_row(**overrides: Any) -> dict[str, Any]:
    """A queued ad-hoc run of ``a.ipynb`` by ``ada``."""
    row: dict[str, Any] = {
        "owner": "ada",
        "trigger": "manual",
        "state": "QUEUED",
        "source_area": "workspace",
        "source_path": "a.ipynb",
        "source_key": "ws/ada/a.ipynb",
        "version_policy": "latest",
        "version_id": None,
        "parameters": {},
        "kernel_name": "python3",
        "output_path": "runs/adhoc/a.ipynb",
        "output_key": "ws/ada/runs/adhoc/a.ipynb",
        "max_retries": 0,
        "retry_on": ["lost"],
        "retry_backoff": 0.0,
        "notify": [],
    }
    row.update(overrides)
    return row


def schedule_row(**overrides: Any) -> dict[str, Any]:
    """A per-minute schedule of ``a.ipynb`` by ``ada``."""
    row: dict[str, Any] = {
        "owner": "ada",
        "name": "a",
        "source_area": "workspace",
        "source_path": "a.ipynb",
        "source_key": "ws/ada/a.ipynb",
        "version_policy": "latest",
        "version_id": None,
        "parameters": {},
        "kernel_name": "python3",
        "cron": "* * * * *",
        "timezone": "UTC",
        "output_path": "runs/a/a.ipynb",
        "output_key": "ws/ada/runs/a/a.ipynb",
        "missed": "skip",
        "max_catchup": 10,
        "overlap": "allow",
        "max_retries": 0,
        "retry_on": ["lost"],
        "retry_backoff": 0.0,
        "notify": [],
    }
    row.update(overrides)
    return row


def states_of(db: RunDB, schedule_id: str) -> dict[str, int]:
    """How many runs of a schedule are in each state."""
    counts: dict[str, int] = {}
    for run in db.list_runs(schedule_id=schedule_id, limit=10_000):
        counts[run["state"]] = counts.get(run["state"], 0) + 1
    return counts


def in_last_cell(run: dict[str, Any]) -> bool:
    """The run is executing its last cell (a long one)."""
    progress = run["progress"]
    return bool(
        progress["current_cell"] is not None
        and progress["cells_total"]
        and progress["cells_done"] >= progress["cells_total"] - 1
    )
