"""Pruning on both backends (SeaweedFS and the embedded store): a notebook with 1,000
versions, a dry run that deletes nothing, a prune that leaves exactly the planned versions
and keeps every protected one, and its one audit event.  Versions are made now; a ``now``
far in the future makes them old (the stores' own times are never faked)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bookstore.config import BookstoreSettings
from bookstore.core.annotations import Annotations
from bookstore.core.archive.lineage import (
    LINEAGE_START_FIELD,
    RENAMED_FROM_FIELD,
    RENAMED_FROM_VERSION_FIELD,
)
from bookstore.core.areas import StoreAreas
from bookstore.core.audit import AuditLog
from bookstore.core.retention import Pruner, PruneReport, pruner_for, run_versions_reader
from bookstore.errors import NotAllowed, VersionNotFound
from bookstore.stores.base import ObjectInfo, ObjectStore
from tests.core.runs_rows import run_row, schedule_row
from tests.paging import all_versions
from tests.server_fixtures import both_backends

pytestmark = both_backends

#: How many versions the big notebook gets, and how many puts run at once.
VERSIONS = 1000
PUTS_AT_ONCE = 32
#: "Now" for the prune: the versions are a year old by then.
A_YEAR_ON = timedelta(days=365)


class Workspace:
    """The store, its areas and audit trail, for one test."""

    def __init__(self, settings: BookstoreSettings, store: ObjectStore, runs_url: str) -> None:
        self.settings = settings
        self.store = store
        self.runs_url = runs_url

        async def open_store() -> ObjectStore:
            return store

        self.areas = StoreAreas(settings, open_store, username="ada")
        self.prefix = self.areas.workspace_prefix()

    def key(self, path: str) -> str:
        return f"{self.prefix}/{path}"

    async def audit(self) -> AuditLog:
        return await self.areas.audit_log()

    async def annotations(self) -> Annotations:
        return await self.areas.annotations()

    async def pruner(self) -> Pruner:
        log = await self.audit()
        return await pruner_for(
            self.areas, run_versions=run_versions_reader(self.runs_url), record=log.record
        )

    async def prune_events(self) -> list[dict[str, Any]]:
        log = await self.audit()
        return (await log.page(action="prune", limit=100)).items


@pytest.fixture
def workspace(
    bookstore_config: dict[str, Any], key_root: str, tmp_path: Path, jp_asyncio_loop: Any
) -> Iterator[Workspace]:
    settings = BookstoreSettings(
        **bookstore_config,
        annotations_prefix=f"{key_root}/annotations",
        retention={"": {"keep_all_days": 7, "hourly_days": 30, "daily_days": None}},
    )
    store = settings.make_store()
    jp_asyncio_loop.run_until_complete(store.start())
    yield Workspace(settings, store, f"sqlite:///{tmp_path / 'runs.sqlite'}")
    jp_asyncio_loop.run_until_complete(store.close())


async def put_versions(store: ObjectStore, key: str, count: int) -> list[str]:
    """``count`` versions of ``key`` of distinct bodies and sizes, put concurrently (at most
    :data:`PUTS_AT_ONCE` at a time); their ids."""
    limit = asyncio.Semaphore(PUTS_AT_ONCE)

    async def put(n: int) -> str:
        async with limit:
            return await store.put(key, f"version {n:04d};".encode() * (1 + n % 5))

    return list(await asyncio.gather(*(put(n) for n in range(count))))


def newest_of_each_day(listed: list[ObjectInfo]) -> set[str]:
    """What the daily window keeps of versions listed newest first."""
    days: dict[Any, str] = {}
    for info in listed:
        days.setdefault(info.last_modified.astimezone(timezone.utc).date(), str(info.version_id))
    return set(days.values())


async def protect(workspace: Workspace, key: str, ids: list[str]) -> dict[str, str]:
    """Protect a version or two of ``key`` in every way; ``{version id: reason}``."""
    store = workspace.store
    notes = await workspace.annotations()
    await notes.annotate(key, ids[100], {"pinned": True}, "ada")
    await notes.annotate(key, ids[900], {"pinned": True}, "ada")
    await notes.annotate(key, ids[500], {"name": "sent to review"}, "ada")
    await notes.annotate(key, ids[600], {"description": "a description protects nothing"}, "ada")
    published_body = (await store.get(key, ids[300])).body
    await store.put(f"{workspace.settings.published_prefix}/history.ipynb", published_body)
    from bookstore.core.runs.db import RunDB

    db = RunDB(workspace.runs_url)
    try:
        db.create_run(
            run_row(source_key=key, version_id=ids[700], output_key=key, output_version_id=ids[800])
        )
        db.create_schedule(schedule_row(source_key=key, version_id=ids[950]))
    finally:
        db.close()
    return {
        ids[0]: "latest",
        ids[100]: "pinned",
        ids[900]: "pinned",
        ids[500]: "named",
        ids[300]: "published",
        ids[700]: "run",
        ids[800]: "run",
        ids[950]: "run",
    }


def check_dry_run(
    dry: PruneReport, expected_dropped: list[ObjectInfo], kept: int, by_day: int
) -> None:
    assert dry.deleted == []
    assert dry.files == 1
    assert dry.versions == VERSIONS
    assert len(dry.dropped) == VERSIONS - kept
    assert {item.version_id for item in dry.dropped} == {
        str(info.version_id) for info in expected_dropped
    }
    assert dry.dropped_bytes == sum(info.size for info in expected_dropped)
    assert {item.reason for item in dry.dropped} == {"daily"}
    assert {item.path for item in dry.dropped} == {"big/history.ipynb"}
    assert dry.kept == kept
    expected_reasons = {"latest": 1, "pinned": 2, "named": 1, "published": 1, "run": 3}
    if by_day:  # the newest of today is the latest; versions made before midnight: one more
        expected_reasons["daily"] = by_day
    assert dry.kept_by_reason == expected_reasons
    document = dry.to_dict()
    assert document["dry_run"] is True
    assert document["totals"]["dropped_versions"] == len(expected_dropped)
    assert document["totals"]["dropped_bytes"] == dry.dropped_bytes
    assert document["totals"]["deleted_versions"] == 0
    assert set(document["dropped"][0]) == {"path", "version_id", "last_modified", "size", "reason"}


async def check_audit(
    workspace: Workspace, key: str, report: PruneReport, expected_dropped: list[ObjectInfo]
) -> None:
    events = await workspace.prune_events()
    assert len(events) == 1
    event = events[0]
    assert (event["action"], event["user"], event["key"]) == ("prune", "ada", workspace.prefix)
    assert event["result"]["deleted_versions"] == len(expected_dropped)
    assert event["result"]["deleted_bytes"] == report.deleted_bytes
    assert event["result"]["failed"] == 0
    assert {tuple(pair) for pair in event["result"]["deleted"]} == {
        (key, str(info.version_id)) for info in expected_dropped
    }


async def test_a_thousand_versions_dry_run_then_prune(
    workspace: Workspace, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = workspace.store
    key = workspace.key("big/history.ipynb")
    await put_versions(store, key, VERSIONS)
    listed = await all_versions(store, key)
    assert len(listed) == VERSIONS
    ids = [str(info.version_id) for info in listed]  # newest first
    protected = await protect(workspace, key, ids)
    # A year on, one version a day stays (all were made today, maybe across midnight).
    by_day = newest_of_each_day(listed) - set(protected)
    expected_kept = set(protected) | by_day
    expected_dropped = [info for info in listed if info.version_id not in expected_kept]
    now = datetime.now(timezone.utc) + A_YEAR_ON
    pruner = await workspace.pruner()

    dry = await pruner.run("", dry_run=True, now=now)

    assert [str(info.version_id) for info in await all_versions(store, key)] == ids
    assert await workspace.prune_events() == []
    check_dry_run(dry, expected_dropped, len(expected_kept), len(by_day))

    started = time.perf_counter()
    report = await pruner.run("", dry_run=False, now=now)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\n[retention] {backend}: pruned {len(report.deleted)} of {VERSIONS} versions "
            f"({report.deleted_bytes} bytes) in {elapsed:.2f} s"
        )

    assert report.failed == []
    assert {item.version_id for item in report.deleted} == {item.version_id for item in dry.dropped}
    assert report.deleted_bytes == dry.dropped_bytes
    left = await all_versions(store, key)
    assert [str(info.version_id) for info in left] == [i for i in ids if i in expected_kept]
    assert left[0].version_id == ids[0]
    assert left[0].is_latest
    assert (await store.get(key)).info.version_id == ids[0]
    for version_id in protected:
        assert (await store.get(key, version_id)).info.version_id == version_id
    with pytest.raises(VersionNotFound):
        await store.get(key, str(expected_dropped[0].version_id))
    await check_audit(workspace, key, report, expected_dropped)

    # Again: nothing left to drop, no second event.
    again = await pruner.run("", dry_run=False, now=now)
    assert again.dropped == []
    assert len(await workspace.prune_events()) == 1


async def test_prefixes_policies_and_files_without_a_policy(workspace: Workspace) -> None:
    store = workspace.store
    settings = workspace.settings
    settings.retention = {
        "reports": {"keep_all_days": 0, "hourly_days": 0, "daily_days": 0},
        "reports/keep": {"keep_all_days": None},
    }
    ids = {}
    for path in ("reports/a.ipynb", "reports/keep/b.ipynb", "reports-old/c.ipynb", "d.ipynb"):
        ids[path] = await put_versions(store, workspace.key(path), 3)
    pruner = await workspace.pruner()

    only_a = await pruner.run("reports/a.ipynb", dry_run=True)
    assert {item.path for item in only_a.dropped} == {"reports/a.ipynb"}
    assert only_a.files == 1

    report = await pruner.run("reports", dry_run=False)
    assert report.files == 2
    assert {item.path for item in report.deleted} == {"reports/a.ipynb"}
    assert len(report.deleted) == 2
    assert report.kept_by_reason == {"latest": 2, "recent": 2}
    for path, count in (
        ("reports/a.ipynb", 1),
        ("reports/keep/b.ipynb", 3),
        ("reports-old/c.ipynb", 3),
        ("d.ipynb", 3),
    ):
        assert len(await all_versions(store, workspace.key(path))) == count, path

    everything = await pruner.run("", dry_run=True)
    assert everything.files == 2
    assert everything.files_without_policy == 2
    assert everything.dropped == []


async def test_rename_lineage_is_kept(workspace: Workspace) -> None:
    """``a`` was renamed ``b`` (its history continues from ``a``'s version ``a2``), and a
    new ``a`` was saved since: ``a2`` and ``b``'s first version stay, so ``b``'s history
    still reaches ``a``'s pinned ``a0``."""
    store = workspace.store
    workspace.settings.retention = {"": {"keep_all_days": 0, "hourly_days": 0, "daily_days": 0}}
    a, b = workspace.key("a.ipynb"), workspace.key("b.ipynb")
    a_ids = [await store.put(a, f"a{n}".encode()) for n in range(3)]
    lineage = {RENAMED_FROM_FIELD: "a.ipynb", RENAMED_FROM_VERSION_FIELD: a_ids[2]}
    b_first = await store.put(b, b"a2", metadata=lineage)
    b_ids = [b_first] + [
        await store.put(b, f"b{n}".encode(), metadata={**lineage, LINEAGE_START_FIELD: b_first})
        for n in range(3)
    ]
    a_new = await store.put(a, b"a new file")
    await (await workspace.annotations()).annotate(a, a_ids[0], {"pinned": True}, "ada")
    report = await (await workspace.pruner()).run("", dry_run=False)
    assert report.kept_by_reason == {"latest": 2, "lineage": 2, "pinned": 1}
    assert [item.version_id for item in report.deleted] == [a_ids[1], *b_ids[1:3][::-1]]
    assert {str(i.version_id) for i in await all_versions(store, a)} == {a_new, a_ids[2], a_ids[0]}
    assert {str(i.version_id) for i in await all_versions(store, b)} == {b_ids[-1], b_first}
    history = await workspace.areas.history("workspace")
    listing = await history.list_versions("b.ipynb")
    assert [(item.path, item.id) for item in listing.items] == [
        ("b.ipynb", b_ids[-1]),
        ("b.ipynb", b_first),
        ("a.ipynb", a_ids[0]),
    ]


async def test_no_policy_refuses(workspace: Workspace) -> None:
    workspace.settings.retention = {}
    with pytest.raises(NotAllowed, match="No retention policy is configured"):
        await workspace.pruner()


async def test_an_unreadable_runs_database_stops_the_prune(
    workspace: Workspace, tmp_path: Path
) -> None:
    store = workspace.store
    key = workspace.key("a.ipynb")
    await put_versions(store, key, 3)
    (tmp_path / "runs.sqlite").write_bytes(b"not a database" * 100)
    pruner = await workspace.pruner()
    with pytest.raises(NotAllowed, match="Cannot read the runs database"):
        await pruner.run("", dry_run=False, now=datetime.now(timezone.utc) + A_YEAR_ON)
    assert len(await all_versions(store, key)) == 3
