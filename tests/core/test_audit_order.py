"""The audit trail lists actions in the order they happened, even when their records are
written in another order (the server writes them in the background, after answering)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bookstore.core.audit import AuditEvent, AuditLog
from bookstore.stores.base import ObjectStore


async def test_a_record_written_late_keeps_the_time_of_its_action(store: ObjectStore) -> None:
    log = AuditLog(store, "audit")
    acted = datetime.now(timezone.utc) - timedelta(seconds=5)
    later = await log.record(AuditEvent("clone", "carol", key="published/b.ipynb"))
    earlier = await log.record(AuditEvent("clone", "bob", key="published/a.ipynb"), acted)

    assert earlier.time < later.time
    assert earlier.time.startswith(acted.strftime("%Y-%m-%dT%H:%M:%S"))
    page = await log.page()
    assert [event["user"] for event in page.items] == ["carol", "bob"]  # newest first
