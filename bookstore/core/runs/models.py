"""Runs and schedules as the REST API, the command line and notifications show them."""

from __future__ import annotations

from typing import Any

from ...timestamps import format_epoch

__all__ = ["run_model", "schedule_model"]


def _time(value: float | None) -> str | None:
    return format_epoch(value) if value is not None else None


def run_model(row: dict[str, Any]) -> dict[str, Any]:
    """A run row as JSON: state, progress, source, output, provenance and error."""
    started, finished = row.get("started_at"), row.get("finished_at")
    duration = round(finished - started, 3) if started is not None and finished else None
    output_version = row.get("output_version_id")
    return {
        "id": row["id"],
        "state": row["state"],
        "owner": row["owner"],
        "schedule_id": row.get("schedule_id"),
        "trigger": row["trigger"],
        "fire_time": _time(row.get("fire_time")),
        "reason": row.get("reason"),
        "source": {
            "area": row["source_area"],
            "path": row["source_path"],
            "key": row["source_key"],
            "version_id": row.get("version_id"),
            "version_policy": row["version_policy"],
        },
        "parameters": row["parameters"],
        "kernel_name": row.get("kernel_name"),
        "execution_timeout": row.get("execution_timeout"),
        "wall_timeout": row.get("wall_timeout"),
        "output": {
            "path": row["output_path"],
            "key": row["output_key"],
            "version_id": output_version,
        },
        "progress": {
            "cells_done": row.get("cells_done") or 0,
            "cells_total": row.get("cells_total") or 0,
            "current_cell": row.get("current_cell"),
        },
        "slow_after": row.get("slow_after"),
        "attempt": row.get("attempt", 1),
        "max_retries": row.get("max_retries", 0),
        "retry_on": row.get("retry_on") or [],
        "retry_backoff": row.get("retry_backoff", 0.0),
        "notify": row.get("notify") or [],
        "retry_of": row.get("retry_of"),
        "error": row.get("error"),
        "cancel_requested": bool(row.get("cancel_requested")),
        "engine": row.get("engine"),
        "created_at": _time(row["created_at"]),
        "not_before": _time(row.get("not_before")),
        "started_at": _time(started),
        "finished_at": _time(finished),
        "duration_s": duration,
    }


def schedule_model(
    row: dict[str, Any], *, next_fire_times: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """A schedule row as JSON (with its next fire times when given)."""
    return {
        "id": row["id"],
        "name": row["name"],
        "owner": row["owner"],
        "source": {
            "area": row["source_area"],
            "path": row["source_path"],
            "key": row["source_key"],
            "version_id": row.get("version_id"),
            "version_policy": row["version_policy"],
        },
        "parameters": row["parameters"],
        "kernel_name": row.get("kernel_name"),
        "cron": row["cron"],
        "timezone": row["timezone"],
        "execution_timeout": row.get("execution_timeout"),
        "wall_timeout": row.get("wall_timeout"),
        "slow_after": row.get("slow_after"),
        "output": {"path": row["output_path"], "key": row["output_key"]},
        "missed": row["missed"],
        "max_catchup": row["max_catchup"],
        "overlap": row["overlap"],
        "max_retries": row["max_retries"],
        "retry_on": row["retry_on"],
        "retry_backoff": row["retry_backoff"],
        "notify": row["notify"],
        "paused": bool(row["paused"]),
        "revision": row["revision"],
        "created_at": _time(row["created_at"]),
        "updated_at": _time(row["updated_at"]),
        "next_fire_times": next_fire_times or [],
    }
