"""Names, descriptions and pins of versions (``bookstore.core.annotations``) and the
listings that carry them, on the embedded store and on SeaweedFS: kept in the store
(a restart reads them back), following renames, never lost to concurrent writes, and
bad input refused with nothing written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bookstore.config import BookstoreSettings
from bookstore.core.annotations import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    Annotations,
    VersionNote,
    check_changes,
)
from bookstore.core.archive import Archiver, Spool
from bookstore.core.areas import StoreAreas
from bookstore.core.history import History
from bookstore.errors import Conflict, InvalidRequest, NotAllowed, VersionNotFound
from bookstore.stores.base import ObjectStore
from tests.server_fixtures import both_backends

#: The version fields listings had before names and pins (kept as they were).
OLD_FIELDS = {"id", "last_modified", "size", "is_latest", "path", "etag", "pending"}


def doc(text: str) -> bytes:
    """A JSON document standing for a notebook's bytes."""
    return json.dumps({"v": text}).encode()


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, backend: str, key_root: str, tmp_path: Path
) -> BookstoreSettings:
    """This test's prefixes on the backend under test."""
    prefixes = {
        "workspace_prefix": f"{key_root}/ws/{{username}}",
        "published_prefix": f"{key_root}/pub",
        "annotations_prefix": f"{key_root}/notes",
    }
    if backend == "s3":
        return request.getfixturevalue("seaweedfs").settings(**prefixes)  # type: ignore[no-any-return]
    return BookstoreSettings(local_store_dir=str(tmp_path / "store"), **prefixes)


@pytest.fixture
def store(settings: BookstoreSettings, jp_asyncio_loop: Any) -> Iterator[ObjectStore]:
    """A started store of the backend under test."""
    started = settings.make_store()
    jp_asyncio_loop.run_until_complete(started.start())
    yield started
    jp_asyncio_loop.run_until_complete(started.close())


def areas_of(settings: BookstoreSettings, store: ObjectStore, **kwargs: Any) -> StoreAreas:
    async def open_store() -> ObjectStore:
        return store

    return StoreAreas(settings, open_store, username="ada", **kwargs)


@pytest.fixture
def areas(settings: BookstoreSettings, store: ObjectStore) -> StoreAreas:
    return areas_of(settings, store)


async def workspace(areas: StoreAreas) -> History:
    return await areas.history("workspace")


async def put_versions(store: ObjectStore, key: str, count: int) -> list[str]:
    """``count`` versions of ``key``; their ids, oldest first."""
    return [await store.put(key, doc(str(n))) for n in range(count)]


def notes_of(items: list[Any]) -> list[tuple[str | None, str | None, bool]]:
    return [(item.name, item.description, item.pinned) for item in items]


# -- checking changes (pure) ---------------------------------------------------------------


def test_changes_are_checked_and_normalised() -> None:
    assert check_changes({}) == {}
    assert check_changes({"name": "  sent to review "}) == {"name": "sent to review"}
    assert check_changes({"name": ""}) == {"name": None}
    assert check_changes({"name": None, "pinned": False}) == {"name": None, "pinned": False}
    described = check_changes({"description": "line one\r\nline two\n"})
    assert described == {"description": "line one\nline two"}
    assert check_changes({"name": "é" * MAX_NAME_LENGTH})["name"] == "é" * MAX_NAME_LENGTH


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ([], "JSON object"),
        ("sent", "JSON object"),
        ({"title": "x"}, "Unknown field(s) 'title'"),
        ({"name": 3}, "'name' must be a string"),
        ({"name": "a\nb"}, "control character (U+000A)"),
        ({"name": "tab\there"}, "control character (U+0009)"),
        ({"name": "a\u2028b"}, "control character (U+2028)"),
        ({"name": "x" * (MAX_NAME_LENGTH + 1)}, f"at most {MAX_NAME_LENGTH}"),
        ({"description": "bell\x07"}, "only line breaks are allowed"),
        ({"description": "\ud800"}, "control character (U+D800)"),
        ({"description": "d" * (MAX_DESCRIPTION_LENGTH + 1)}, f"at most {MAX_DESCRIPTION_LENGTH}"),
        ({"pinned": "yes"}, "'pinned' must be true or false"),
        ({"pinned": 1}, "'pinned' must be true or false"),
    ],
)
def test_bad_changes_are_refused(changes: Any, words: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_changes(changes)
    assert words in str(refused.value)


# -- in the store ------------------------------------------------------------------------------


@both_backends
async def test_notes_are_listed_and_survive_a_restart(
    settings: BookstoreSettings, areas: StoreAreas, store: ObjectStore
) -> None:
    key = f"{areas.workspace_prefix()}/r/n.ipynb"
    v1, v2, v3 = await put_versions(store, key, 3)
    history = await workspace(areas)
    named = await history.annotate(
        "r/n.ipynb", v1, {"name": "sent to review", "description": "first draft"}, "ada"
    )
    assert (named.id, named.name, named.description, named.pinned, named.named_by) == (
        v1,
        "sent to review",
        "first draft",
        False,
        "ada",
    )
    pinned = await history.annotate("r/n.ipynb", v2, {"pinned": True}, "bob")
    assert (pinned.name, pinned.pinned, pinned.named_by) == (None, True, "bob")

    page = await history.list_versions("r/n.ipynb")
    assert [item.id for item in page.items] == [v3, v2, v1]
    assert notes_of(page.items) == [
        (None, None, False),
        (None, None, True),
        ("sent to review", "first draft", False),
    ]
    listed = page.items[2].to_dict()
    assert set(listed) > OLD_FIELDS
    assert listed["named_by"] == "ada"
    assert page.items[0].to_dict()["named_by"] is None

    # The index is one JSON object in the store, in the shape documented.
    index = await store.get(f"{settings.annotations_prefix}/{key}.json")
    entries = json.loads(index.body)["versions"]
    assert set(entries) == {v1, v2}
    assert entries[v1]["name"] == "sent to review"
    assert entries[v2] == {
        "name": None,
        "description": None,
        "pinned": True,
        "by": "bob",
        "at": entries[v2]["at"],
    }
    assert entries[v2]["at"].endswith("Z")

    # A new server: another store client, other areas; the notes are read back.
    restarted = settings.make_store()
    await restarted.start()
    try:
        again = await workspace(areas_of(settings, restarted))
        assert notes_of((await again.list_versions("r/n.ipynb")).items) == notes_of(page.items)
        model = await again.read_model("r/n.ipynb", v1, content=False)
        assert (model["version"]["name"], model["version"]["named_by"]) == (
            "sent to review",
            "ada",
        )
        assert (await again.read_model("r/n.ipynb", v3, content=False))["version"]["name"] is None
    finally:
        await restarted.close()


@both_backends
async def test_clearing_and_changing_fields_one_at_a_time(
    settings: BookstoreSettings, areas: StoreAreas, store: ObjectStore
) -> None:
    key = f"{areas.workspace_prefix()}/c.ipynb"
    (v1,) = await put_versions(store, key, 1)
    history = await workspace(areas)
    await history.annotate("c.ipynb", v1, {"name": "one", "description": "d", "pinned": True}, "a")
    item = await history.annotate("c.ipynb", v1, {"name": "two"}, "b")
    assert (item.name, item.description, item.pinned, item.named_by) == ("two", "d", True, "b")
    item = await history.annotate("c.ipynb", v1, {"description": None, "pinned": False}, "b")
    assert (item.name, item.description, item.pinned) == ("two", None, False)
    unchanged = await history.annotate("c.ipynb", v1, {}, "c")
    assert (unchanged.name, unchanged.named_by) == ("two", "b")
    cleared = await history.annotate("c.ipynb", v1, {"name": ""}, "b")
    assert (cleared.name, cleared.pinned, cleared.named_by) == (None, False, None)
    # An empty note leaves the index.
    index = await store.get(f"{settings.annotations_prefix}/{key}.json")
    assert json.loads(index.body) == {"versions": {}}
    assert (await history.list_versions("c.ipynb", named=True)).items == []


@both_backends
async def test_the_named_filter_pages_newest_first(areas: StoreAreas, store: ObjectStore) -> None:
    key = f"{areas.workspace_prefix()}/many.ipynb"
    ids = await put_versions(store, key, 14)
    history = await workspace(areas)
    noted = ids[1::3]  # 5 of them, some named, some only pinned
    for n, version in enumerate(noted):
        change = {"name": f"n{n}"} if n % 2 == 0 else {"pinned": True}
        await history.annotate("many.ipynb", version, change, "ada")
    # An unpinned, unnamed note (only a description) does not count as named.
    await history.annotate("many.ipynb", ids[0], {"description": "only words"}, "ada")

    everything = await history.list_versions("many.ipynb", named=True)
    assert [item.id for item in everything.items] == noted[::-1]
    assert everything.next_token is None
    pages, token = [], None
    while True:
        page = await history.list_versions("many.ipynb", named=True, limit=2, token=token)
        pages.append([item.id for item in page.items])
        token = page.next_token
        if token is None:
            break
    assert [version for page_ids in pages for version in page_ids] == noted[::-1]
    assert all(len(page_ids) == 2 for page_ids in pages[:-1])
    assert pages[0] == noted[:-3:-1]


@both_backends
async def test_a_note_follows_a_rename(
    settings: BookstoreSettings, areas: StoreAreas, store: ObjectStore, tmp_path: Path
) -> None:
    archiver = Archiver(
        open_store=lambda: asyncio.sleep(0, store),
        spool=Spool(tmp_path / "spool"),
        workspace_prefix=areas.workspace_prefix(),
        file_types=["notebook"],
        retry_max_delay=0.05,
    )
    archiver.archive_bytes("a.ipynb", doc("1"))
    archiver.archive_bytes("a.ipynb", doc("2"))
    assert await archiver.drain(timeout=30)
    history = await workspace(areas)
    a2, a1 = [item.id for item in (await history.list_versions("a.ipynb")).items]
    await history.annotate("a.ipynb", a1, {"name": "first"}, "ada")
    await history.annotate("a.ipynb", a2, {"name": "second", "description": "renamed"}, "ada")
    archiver.record_rename("a.ipynb", "b.ipynb")
    archiver.archive_bytes("b.ipynb", doc("3"))
    assert await archiver.drain(timeout=30)
    await archiver.stop()

    history = await workspace(areas)
    items = (await history.list_versions("b.ipynb")).items
    assert [item.path for item in items] == ["b.ipynb", "b.ipynb", "a.ipynb"]
    b3, copy, old = items
    assert old.id == a1
    # The version saved as a.ipynb keeps its name; the rename's copy shows its source's.
    assert notes_of(items) == [
        (None, None, False),
        ("second", "renamed", False),
        ("first", None, False),
    ]
    assert [item.id for item in (await history.list_versions("b.ipynb", named=True)).items] == [
        copy.id,
        a1,
    ]
    # Pages of one find the same notes (each page reads the index it needs).
    token = None
    for expected in notes_of(items):
        page = await history.list_versions("b.ipynb", limit=1, token=token)
        assert notes_of(page.items) == [expected]
        token = page.next_token

    # Pinning the copy keeps the name it showed; the note is the new name's own now.
    pinned = await history.annotate("b.ipynb", copy.id, {"pinned": True}, "bob")
    assert (pinned.path, pinned.name, pinned.pinned, pinned.named_by) == (
        "b.ipynb",
        "second",
        True,
        "bob",
    )
    # An old version, annotated through the new name, is noted in the old name's index.
    renamed = await history.annotate("b.ipynb", a1, {"name": "first of all"}, "bob")
    assert renamed.path == "a.ipynb"
    old_index = await store.get(f"{settings.annotations_prefix}/{history.key_for('a.ipynb')}.json")
    assert json.loads(old_index.body)["versions"][a1]["name"] == "first of all"
    assert notes_of((await history.list_versions("b.ipynb")).items) == [
        (None, None, False),
        ("second", "renamed", True),
        ("first of all", None, False),
    ]
    model = await history.read_model("b.ipynb", copy.id, content=False)
    assert (model["version"]["name"], model["version"]["pinned"]) == ("second", True)
    # The old name's own history keeps its own notes.
    assert notes_of((await history.list_versions("a.ipynb")).items) == [
        ("second", "renamed", False),
        ("first of all", None, False),
    ]
    assert b3.name is None


@both_backends
async def test_concurrent_annotates_of_one_key_are_all_kept(
    areas: StoreAreas, store: ObjectStore
) -> None:
    key = f"{areas.workspace_prefix()}/busy.ipynb"
    ids = await put_versions(store, key, 12)
    history = await workspace(areas)
    await asyncio.gather(
        *(
            history.annotate("busy.ipynb", version, {"name": f"v{n}"}, "ada")
            for n, version in enumerate(ids)
        ),
        # Two changes of one version at once: both fields end up set.
        history.annotate("busy.ipynb", ids[0], {"pinned": True}, "bob"),
        history.annotate("busy.ipynb", ids[1], {"description": "at once"}, "bob"),
    )
    by_id = {item.id: item for item in (await history.list_versions("busy.ipynb")).items}
    assert [by_id[version].name for version in ids] == [f"v{n}" for n in range(12)]
    assert by_id[ids[0]].pinned
    assert by_id[ids[1]].description == "at once"
    # Through separate Annotations objects (one per request, as the server makes them) too.
    first, second = await workspace(areas), await workspace(areas)
    await asyncio.gather(
        first.annotate("busy.ipynb", ids[2], {"pinned": True}, "ada"),
        second.annotate("busy.ipynb", ids[3], {"pinned": True}, "ada"),
    )
    listed = {item.id: item for item in (await history.list_versions("busy.ipynb")).items}
    assert listed[ids[2]].pinned
    assert listed[ids[3]].pinned


@both_backends
async def test_bad_input_and_unknown_versions_write_nothing(
    settings: BookstoreSettings, areas: StoreAreas, store: ObjectStore
) -> None:
    key = f"{areas.workspace_prefix()}/x.ipynb"
    (v1,) = await put_versions(store, key, 1)
    history = await workspace(areas)
    for bad in ({"name": "x" * 121}, {"pinned": "true"}, {"nom": "x"}, ["name"]):
        with pytest.raises(InvalidRequest):
            await history.annotate("x.ipynb", v1, bad, "ada")
    with pytest.raises(VersionNotFound):
        await history.annotate("x.ipynb", "no-such-version", {"name": "x"}, "ada")
    with pytest.raises(VersionNotFound):
        await history.annotate("never.ipynb", v1, {"name": "x"}, "ada")
    index_key = f"{settings.annotations_prefix}/{key}.json"
    assert (await store.list_versions(index_key)).items == []
    assert (await store.list_keys(f"{settings.annotations_prefix}/")).items == []


@both_backends
async def test_pending_ids_annotate_the_version_they_became(
    settings: BookstoreSettings, store: ObjectStore, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    areas = areas_of(settings, store, pending=lambda: spool)
    key = f"{areas.workspace_prefix()}/p.ipynb"
    (v1,) = await put_versions(store, key, 1)
    entry = spool.add_bytes(key, "p.ipynb", doc("pending"))
    history = await workspace(areas)
    pending = (await history.list_versions("p.ipynb")).items[0]
    assert pending.pending
    waited: list[str] = []

    async def wait(path: str) -> None:
        waited.append(path)

    with pytest.raises(Conflict, match="not archived yet; try again"):
        await history.annotate("p.ipynb", pending.id, {"name": "x"}, "ada", wait_for_archive=wait)
    assert waited == ["p.ipynb"]
    with pytest.raises(VersionNotFound, match="no pending save"):
        await history.annotate("p.ipynb", f"pending-{entry.seq + 7}", {"name": "x"}, "ada")

    class Archived:
        """What an archiver knows once it stored the save as ``v1``."""

        def pending_saves(self, key: str) -> list[Any]:
            return []

        def version_of(self, seq: int) -> str | None:
            return v1 if seq == entry.seq else None

    archived = await workspace(areas_of(settings, store, pending=Archived))
    item = await archived.annotate("p.ipynb", pending.id, {"name": "became v1"}, "ada")
    assert (item.id, item.name, item.pending) == (v1, "became v1", False)


@both_backends
async def test_published_versions_carry_their_notes(areas: StoreAreas, store: ObjectStore) -> None:
    published = await areas.history("published")
    key = published.key_for("team/report.ipynb")
    v1, v2 = await put_versions(store, key, 2)
    notes = await areas.annotations()
    await notes.annotate(key, v1, {"name": "launch"}, "ada")
    page = await published.list_versions("team/report.ipynb")
    assert [(item.id, item.name) for item in page.items] == [(v2, None), (v1, "launch")]
    assert [
        item.id for item in (await published.list_versions("team/report.ipynb", named=True)).items
    ] == [v1]


@both_backends
async def test_a_broken_index_is_ignored_and_replaced(
    settings: BookstoreSettings, areas: StoreAreas, store: ObjectStore
) -> None:
    key = f"{areas.workspace_prefix()}/broken.ipynb"
    (v1,) = await put_versions(store, key, 1)
    index_key = f"{settings.annotations_prefix}/{key}.json"
    await store.put(index_key, b"{not json")
    history = await workspace(areas)
    assert (await history.list_versions("broken.ipynb")).items[0].name is None
    await history.annotate("broken.ipynb", v1, {"name": "fixed"}, "ada")
    assert (await history.list_versions("broken.ipynb")).items[0].name == "fixed"
    # Entries of the wrong shape are skipped, the others read.
    body = {"versions": {v1: {"name": "ok"}, "other": {"pinned": "yes"}, "x": []}}
    await store.put(index_key, json.dumps(body).encode())
    assert await Annotations(store, settings.annotations_prefix).for_key(key) == {
        v1: VersionNote(name="ok")
    }


@both_backends
async def test_an_annotations_prefix_inside_an_area_is_refused(
    settings: BookstoreSettings, store: ObjectStore, key_root: str
) -> None:
    for n, prefix in enumerate((f"{key_root}/ws/ada/notes", f"{key_root}/pub", key_root, "")):
        settings.annotations_prefix = prefix
        areas = areas_of(settings, store)
        with pytest.raises(NotAllowed, match="annotations_prefix") as refused:
            await areas.annotations()
        assert "Version names and pins are off" in str(refused.value)
        path = f"o{n}.ipynb"
        (v1,) = await put_versions(store, f"{areas.workspace_prefix()}/{path}", 1)
        history = await workspace(areas)
        assert [item.name for item in (await history.list_versions(path)).items] == [None]
        with pytest.raises(NotAllowed, match="annotations_prefix"):
            await history.annotate(path, v1, {"name": "x"}, "ada")
