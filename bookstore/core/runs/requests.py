"""The bodies of run and schedule requests, checked field by field.

Every field has one parser that names the field in its error (``InvalidRequest``, 400),
so ``POST /runs``, ``POST /schedules``, ``PATCH /schedules/{id}`` and the command line
refuse the same things the same way.  A PATCH accepts exactly :data:`PATCHABLE`; every
one of them takes effect (a contract test per field), anything else is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidRequest
from ...keys import check_version_id, notebook_path
from .notify import parse_targets
from .parameters import check_templates
from .timing import check_missed_policy, parse_schedule

__all__ = [
    "OVERLAP_POLICIES",
    "PATCHABLE",
    "RETRY_CAUSES",
    "TEMPLATE_NAMES",
    "SourceRef",
    "parse_run_request",
    "parse_schedule_patch",
    "parse_schedule_request",
    "parse_source",
]

OVERLAP_POLICIES = ("skip", "queue", "allow", "cancel_previous")
RETRY_CAUSES = ("error", "timeout", "lost")
#: The names a string parameter may use as ``{{ name }}``.
TEMPLATE_NAMES = ("fire_time", "date", "run_id", "schedule")
#: Most retries a run may have.
MAX_RETRIES = 10
#: Longest timeout, seconds (a week).
MAX_TIMEOUT = 7 * 24 * 3600.0
MAX_NAME = 200

_RUN_FIELDS = {
    "path", "published_path", "version_id", "parameters", "kernel_name",
    "execution_timeout", "wall_timeout", "slow_after", "output_path", "max_retries",
    "retry_on", "retry_backoff", "notify",
}  # fmt: skip
_SCHEDULE_ONLY = {
    "name", "version_policy", "cron", "timezone", "missed", "max_catchup", "overlap",
    "paused",
}  # fmt: skip
#: The fields ``PATCH /schedules/{id}`` changes (``revision`` guards the change).
PATCHABLE = frozenset((_RUN_FIELDS | _SCHEDULE_ONLY) - {"path", "published_path"})


@dataclass(frozen=True)
class SourceRef:
    """Which notebook a run executes: an area (``workspace``/``published``) and path,
    and a pinned version id (None: the latest at each start)."""

    area: str
    path: str
    version_id: str | None


def _object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidRequest(f"The {what} must be a JSON object.")
    return body


def _unknown(body: Mapping[str, Any], allowed: set[str] | frozenset[str], what: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidRequest(
            f"Unknown field(s) {', '.join(map(repr, unknown))} in the {what}; it takes "
            f"{', '.join(sorted(allowed))}."
        )


def parse_source(body: Mapping[str, Any]) -> SourceRef:
    """``path`` (workspace) or ``published_path``, and ``version_id``."""
    has_path, has_published = body.get("path") is not None, body.get("published_path") is not None
    if has_path == has_published:
        raise InvalidRequest(
            "Give exactly one of 'path' (a workspace notebook) or 'published_path' (a "
            "published one)."
        )
    area = "workspace" if has_path else "published"
    field = "path" if has_path else "published_path"
    path = notebook_path(body[field], what=field)
    version = body.get("version_id")
    return SourceRef(area, path, None if version is None else check_version_id(version))


def _number(
    body: Mapping[str, Any], name: str, *, low: float, high: float, integer: bool = False
) -> float | int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequest(f"{name}: expected a number, got {type(value).__name__}.")
    if integer and not isinstance(value, int):
        if not (math.isfinite(value) and value.is_integer()):
            raise InvalidRequest(f"{name}: expected a whole number, got {value!r}.")
        value = int(value)  # JSON does not tell 2 from 2.0
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidRequest(f"{name}: must be from {low:g} to {high:g}, not {value!r}.")
    return value


def _timeout(body: Mapping[str, Any], name: str) -> float | None:
    value = _number(body, name, low=0.0, high=MAX_TIMEOUT)
    return float(value) if value else None


def _text(body: Mapping[str, Any], name: str, *, max_length: int = MAX_NAME) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidRequest(f"{name}: expected a non-empty string of at most {max_length} chars.")
    if any(ord(ch) < 32 for ch in value):
        raise InvalidRequest(f"{name}: control characters are not allowed.")
    return value.strip()


def _kernel(body: Mapping[str, Any]) -> str | None:
    value = _text(body, "kernel_name")
    if value is not None and not all(ch.isalnum() or ch in "-_." for ch in value):
        raise InvalidRequest(
            f"kernel_name: {value!r} is not a kernel name (letters, digits, '-', '_', '.')."
        )
    return value


def _retry_on(body: Mapping[str, Any]) -> list[str] | None:
    value = body.get("retry_on")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest(f"retry_on: expected a list of {', '.join(RETRY_CAUSES)}.")
    bad = [item for item in value if item not in RETRY_CAUSES]
    if bad:
        raise InvalidRequest(
            f"retry_on: {bad[0]!r} is not a cause; use any of {', '.join(RETRY_CAUSES)}."
        )
    return sorted(set(value))


def _parameters(body: Mapping[str, Any]) -> dict[str, Any] | None:
    value = body.get("parameters")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidRequest("parameters: expected a JSON object of name: value.")
    check_templates(value, TEMPLATE_NAMES)
    return dict(value)


def _output_path(body: Mapping[str, Any]) -> str | None:
    value = body.get("output_path")
    if value is None:
        return None
    return notebook_path(value, what="output_path")


def _choice(body: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if value not in choices:
        raise InvalidRequest(f"{name}: {value!r} is not one of {', '.join(choices)}.")
    return str(value)


def _flag(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name}: expected true or false.")
    return value


#: Field -> its parser, for the fields shared by runs and schedules.
_PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "parameters": _parameters,
    "kernel_name": _kernel,
    "execution_timeout": lambda body: _timeout(body, "execution_timeout"),
    "wall_timeout": lambda body: _timeout(body, "wall_timeout"),
    "slow_after": lambda body: _timeout(body, "slow_after"),
    "output_path": _output_path,
    "max_retries": lambda body: _number(body, "max_retries", low=0, high=MAX_RETRIES, integer=True),
    "retry_on": _retry_on,
    "retry_backoff": lambda body: _number(body, "retry_backoff", low=0.0, high=3600.0),
    "notify": lambda body: (
        None if body.get("notify") is None else [t.to_json() for t in parse_targets(body["notify"])]
    ),
    "name": lambda body: _text(body, "name"),
    "version_policy": lambda body: _choice(body, "version_policy", ("pinned", "latest")),
    "missed": lambda body: _choice(body, "missed", ("skip", "latest", "all")),
    "max_catchup": lambda body: _number(body, "max_catchup", low=1, high=1000, integer=True),
    "overlap": lambda body: _choice(body, "overlap", OVERLAP_POLICIES),
    "paused": lambda body: _flag(body, "paused"),
    "version_id": lambda body: (
        None if body.get("version_id") is None else check_version_id(body["version_id"])
    ),
}


def _parse_fields(body: Mapping[str, Any], names: set[str] | frozenset[str]) -> dict[str, Any]:
    return {name: _PARSERS[name](body) for name in names if name in _PARSERS}


def parse_run_request(body: Any) -> tuple[SourceRef, dict[str, Any]]:
    """``POST /api/bookstore/runs``: the source and the other fields (None: default)."""
    body = _object(body, "run request")
    _unknown(body, _RUN_FIELDS, "run request")
    return parse_source(body), _parse_fields(body, _RUN_FIELDS - {"path", "published_path"})


def _timing(cron: Any, zone: Any) -> tuple[str, str]:
    """The normalized cron expression and the time zone of a schedule, checked."""
    if not isinstance(cron, str):
        raise InvalidRequest("cron: expected a five-field cron expression or a preset (@daily).")
    if not isinstance(zone, str):
        raise InvalidRequest("timezone: expected an IANA time zone name, e.g. 'Europe/Paris'.")
    return parse_schedule(cron, zone).expression, zone


def parse_schedule_request(body: Any) -> tuple[SourceRef, dict[str, Any]]:
    """``POST /api/bookstore/schedules``: the source and the schedule's fields."""
    body = _object(body, "schedule")
    allowed = _RUN_FIELDS | _SCHEDULE_ONLY
    _unknown(body, allowed, "schedule")
    source = parse_source(body)
    if "cron" not in body:
        raise InvalidRequest("cron: a schedule needs one, e.g. '0 6 * * 1-5' or '@daily'.")
    fields = _parse_fields(body, allowed - {"path", "published_path"})
    fields["cron"], fields["timezone"] = _timing(body["cron"], body.get("timezone", "UTC"))
    if fields.get("version_policy") == "pinned" and source.version_id is None:
        raise InvalidRequest("version_policy: 'pinned' needs a version_id.")
    check_missed_policy(fields.get("missed") or "skip", fields.get("max_catchup") or 10)
    return source, fields


def parse_schedule_patch(body: Any, current: Mapping[str, Any]) -> dict[str, Any]:
    """``PATCH /api/bookstore/schedules/{id}``: the changed fields (as columns), each
    checked; ``revision`` (optional) is returned as ``_revision``."""
    body = _object(body, "schedule change")
    if "path" in body or "published_path" in body:
        raise InvalidRequest(
            "path: a schedule's notebook cannot change; create a new schedule for it."
        )
    _unknown(body, PATCHABLE | {"revision"}, "schedule change")
    changes: dict[str, Any] = {}
    for name in PATCHABLE:
        if name not in body:
            continue
        if body[name] is None and name not in {
            "execution_timeout", "wall_timeout", "slow_after", "version_id", "kernel_name",
        }:  # fmt: skip
            raise InvalidRequest(f"{name}: may not be null.")
        changes[name] = _PARSERS[name](body) if name in _PARSERS else body[name]
    if "cron" in body or "timezone" in body:
        changes["cron"], changes["timezone"] = _timing(
            body.get("cron", current["cron"]), body.get("timezone", current["timezone"])
        )
    policy = changes.get("version_policy", current["version_policy"])
    version = changes.get("version_id", current["version_id"])
    if policy == "pinned" and not version:
        raise InvalidRequest("version_policy: 'pinned' needs a version_id.")
    if "version_id" in changes and changes["version_id"] and "version_policy" not in changes:
        changes["version_policy"] = "pinned"
    check_missed_policy(
        changes.get("missed", current["missed"]), changes.get("max_catchup", current["max_catchup"])
    )
    revision = body.get("revision")
    if isinstance(revision, float) and revision.is_integer():
        revision = int(revision)
    if revision is not None:
        if isinstance(revision, bool) or not isinstance(revision, int):
            raise InvalidRequest("revision: expected the whole number the schedule was read with.")
        changes["_revision"] = revision
    return changes
