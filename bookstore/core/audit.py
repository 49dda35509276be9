"""The audit trail: every publish, unpublish, restore and clone, kept in the store.

Each event is **its own object**, ``{audit_prefix}/{inverted time}-{random}.json``, written
once and never changed: every server of a hub appends to one trail without coordinating,
it survives restarts, and a listing in key order is newest first (the key starts with
``10**13 - <milliseconds since 1970>``, zero-padded).  A bucket policy may allow servers
``PutObject`` on the prefix and nothing else (see the README).

Refused attempts (a clone outside the policy, a publish over someone else's notebook) are
recorded too, with ``outcome: "refused"`` and the message the user got.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidPath, InvalidRequest, NotAllowed, ObjectNotFound
from ..keys import prefixes_overlap, s3_key
from ..stores.base import ObjectStore, Page
from ..timestamps import format_timestamp
from ..tokens import decode_scan_token, encode_scan_token

__all__ = ["ACTIONS", "AuditEvent", "AuditLog", "audit_key_prefix", "origin"]

#: What is recorded.
ACTIONS = ("publish", "unpublish", "restore", "clone", "fs-clone", "annotate", "prune")

#: Outcomes of an audited action.
OUTCOMES = ("ok", "refused")

_INVERT_MS = 10**13
#: How many event objects one page request reads at most while filtering.
_SCAN_LIMIT = 1000


def origin(via: str, **details: str | None) -> dict[str, str]:
    """Where an action came from: ``via`` (``server`` or ``cli``), this host, and e.g. the
    client's address or the JupyterHub server name (empty details left out)."""
    found = {"via": via, "host": socket.gethostname()}
    found.update({name: value for name, value in details.items() if value})
    return found


@dataclass(frozen=True)
class AuditEvent:
    """One audited action.  ``key``/``version_id`` name the stored object acted on (the
    published key, the clone's source, the restored version); ``path`` the workspace file
    written or read, when there is one."""

    action: str
    user: str
    key: str | None = None
    version_id: str | None = None
    path: str | None = None
    bucket: str | None = None
    outcome: str = "ok"
    message: str | None = None
    #: The user whose workspace the server serves (differs from ``user`` when shared).
    server_user: str | None = None
    source: dict[str, Any] | None = None
    #: What the action produced, e.g. the version a restored file became.
    result: dict[str, Any] | None = None
    origin: dict[str, str] = field(default_factory=dict)
    time: str = ""
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, without empty fields."""
        return {name: value for name, value in asdict(self).items() if value is not None}


def audit_key_prefix(prefix: str, *, inside: dict[str, str | None]) -> str:
    """``BookstoreSettings.audit_prefix`` as a key; :class:`NotAllowed` when it is empty,
    unsafe, or lies inside (or around) one of the area prefixes in ``inside``
    (``{setting: key prefix}``)."""
    try:
        key = s3_key(prefix)
    except InvalidPath as exc:
        raise NotAllowed(f"The audit trail is off: {exc}") from None
    if not key:
        raise NotAllowed("The audit trail is off: BookstoreSettings.audit_prefix is empty.")
    for setting, area in inside.items():
        if area and prefixes_overlap(key, area):
            raise NotAllowed(
                f"The audit trail is off: BookstoreSettings.audit_prefix {key!r} overlaps "
                f"BookstoreSettings.{setting} {area!r}; give it a prefix of its own."
            )
    return key


class AuditLog:
    """The audit trail under ``prefix`` of ``store``."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    async def record(self, event: AuditEvent, at: datetime | None = None) -> AuditEvent:
        """Append ``event`` stamped with an id and the time ``at`` which it happened (now
        by default: a record written later, in the background, passes the action's
        time, so the trail keeps the actions' order); returns it as stored."""
        now = at or datetime.now(timezone.utc)
        millis = int(now.timestamp() * 1000)
        event_id = f"{_INVERT_MS - millis:013d}-{secrets.token_hex(6)}"
        stamped = AuditEvent(**{**asdict(event), "time": format_timestamp(now), "id": event_id})
        body = json.dumps(stamped.to_dict(), sort_keys=True).encode("utf-8")
        await self.store.put(
            f"{self.prefix}/{event_id}.json", body, content_type="application/json"
        )
        return stamped

    async def page(
        self,
        *,
        limit: int = 50,
        token: str | None = None,
        user: str | None = None,
        action: str | None = None,
    ) -> Page[dict[str, Any]]:
        """Up to ``limit`` events, newest first, of ``user`` and/or ``action`` when given."""
        if action is not None and action not in ACTIONS:
            raise InvalidRequest(f"'action' must be one of {', '.join(ACTIONS)}.")
        filters = [user, action]
        store_token, consumed = decode_scan_token(token, filters) if token else (None, 0)
        found: list[dict[str, Any]] = []
        scanned = 0
        while True:
            want = limit if user is None and action is None else 100
            listing = await self.store.list_keys(
                self.prefix + "/", limit=consumed + want, token=store_token
            )
            entries = listing.items[consumed:]
            events = await asyncio.gather(*(self._read(info.key) for info in entries))
            for index, event in enumerate(events):
                if len(found) == limit:
                    return Page(
                        items=found,
                        next_token=encode_scan_token(filters, store_token, consumed + index),
                    )
                if event is None:
                    continue
                if user is not None and event.get("user") != user:
                    continue
                if action is not None and event.get("action") != action:
                    continue
                found.append(event)
            scanned += len(entries)
            if listing.next_token is None:
                return Page(items=found, next_token=None)
            store_token, consumed = listing.next_token, 0
            if len(found) == limit or scanned >= _SCAN_LIMIT:
                return Page(items=found, next_token=encode_scan_token(filters, store_token, 0))

    async def _read(self, key: str) -> dict[str, Any] | None:
        try:
            stored = await self.store.get(key)
        except ObjectNotFound:
            return None
        try:
            event = json.loads(stored.body)
        except ValueError:
            return None
        return event if isinstance(event, dict) else None
