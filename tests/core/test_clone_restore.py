"""Clone sources, clone requests, restore and the lineage of archived versions, against the
embedded store, without a server."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from bookstore.config import BookstoreSettings
from bookstore.core.archive import archive_version
from bookstore.core.archive.lineage import (
    LINEAGE_START_FIELD,
    RENAMED_FROM_FIELD,
    RENAMED_FROM_VERSION_FIELD,
    SAVED_AT_FIELD,
    SHA256_FIELD,
    lineage_of,
)
from bookstore.core.areas import StoreAreas
from bookstore.core.clone import CloneRequest, FileSystemCloneRequest, FileSystemSource
from bookstore.core.restore import RestoreResult, Written, restore
from bookstore.errors import InvalidRequest, NotAllowed, ObjectNotFound
from bookstore.stores.base import ObjectStore

# -- clone requests and sources ------------------------------------------------------------


def test_clone_requests() -> None:
    request = CloneRequest.from_json(
        {"s3_key": "pub/a.ipynb", "s3_version_id": "v", "content": False}
    )
    assert request == CloneRequest(None, "pub/a.ipynb", "v", None, with_content=False)
    query = {"s3_bucket": "b", "s3_key": "k.ipynb", "target_path": "", "s3_version_id": None}
    assert CloneRequest.from_query(query.get) == CloneRequest("b", "k.ipynb")
    fs = FileSystemCloneRequest.from_json({"relpath": "dir/x.ipynb", "target_path": "y.ipynb"})
    assert (fs.name, fs.target_path, fs.with_content) == ("x.ipynb", "y.ipynb", True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({}, "Must have a 's3_key'"),
        ({"s3_key": 3}, "'s3_key' must be a string"),
        ({"s3_key": "k" * 3000}, "longer than 2048"),
        ({"s3_key": "k", "content": "yes"}, "'content' must be true or false"),
    ],
)
def test_clone_requests_refused(body: Any, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        CloneRequest.from_json(body)


async def test_clone_any_version_of_an_allowed_bucket(
    areas: StoreAreas, store: ObjectStore
) -> None:
    first = await store.put("pub/a.ipynb", b"1")
    await store.put("pub/a.ipynb", b"2")
    source = await areas.s3_clone_source()
    info, body = await source.fetch(CloneRequest(None, "pub/a.ipynb", first))
    assert (info.version_id, body, info.is_latest) == (first, b"1", False)
    assert (await source.describe(CloneRequest("local", "pub/a.ipynb"))).is_latest
    with pytest.raises(NotAllowed, match="bucket 'elsewhere' is not allowed"):
        await source.fetch(CloneRequest("elsewhere", "pub/a.ipynb"))
    with pytest.raises(ObjectNotFound):
        await source.fetch(CloneRequest(None, "pub/missing.ipynb"))
    areas.settings.clone_allowed_buckets = ["local", "other"]
    source = await areas.s3_clone_source()
    with pytest.raises(ObjectNotFound, match="bucket 'other' does not exist"):
        await source.fetch(CloneRequest("other", "pub/a.ipynb"))
    areas.settings.enable_s3_cloning = False
    with pytest.raises(NotAllowed, match="enable_s3_cloning"):
        await areas.s3_clone_source()


async def test_files_of_the_clone_folder_only(tmp_path: Path) -> None:
    base = tmp_path / "shared"
    (base / "sub").mkdir(parents=True)
    (base / "sub" / "nb.ipynb").write_bytes(b"{}")
    (tmp_path / "secret.txt").write_text("no")
    os.symlink(tmp_path / "secret.txt", base / "link.txt")
    os.symlink(base / "sub" / "nb.ipynb", base / "inner-link.ipynb")
    source = FileSystemSource(str(base))
    assert await source.read("sub/nb.ipynb") == b"{}"
    assert await source.read("inner-link.ipynb") == b"{}"  # a link that stays inside
    assert (await source.describe("sub/nb.ipynb")).st_size == 2
    for relpath in [
        "../secret.txt",
        "link.txt",
        "/etc/passwd",
        "sub",
        "sub/../../secret.txt",
        "x\x00",
    ]:
        with pytest.raises(ObjectNotFound, match="can be cloned from the file system") as caught:
            source.resolve(relpath)
        assert str(tmp_path) not in str(caught.value)
    with pytest.raises(InvalidRequest, match="Must have a 'relpath'"):
        source.resolve(None)


def test_file_system_cloning_off(settings: BookstoreSettings, areas: StoreAreas) -> None:
    with pytest.raises(NotAllowed, match="fs_cloning_basedir"):
        areas.file_system_source()
    settings.fs_cloning_basedir = "relative/dir"
    with pytest.raises(NotAllowed):
        areas.file_system_source()


# -- restore -------------------------------------------------------------------------------


class Target:
    """A restore target that records what it was asked to write."""

    def __init__(self, store: ObjectStore, written: Written, *, archive: bool = True) -> None:
        self.store = store
        self.written = written
        self.archive = archive
        self.bodies: list[tuple[str, bytes]] = []

    async def write_restored(self, path: str, body: bytes) -> Written:
        self.bodies.append((path, body))
        if self.archive:
            await archive_version(self.store, f"ws/ada/{path}", path, body)
        return self.written


async def test_restore_writes_the_version_and_learns_the_new_one(
    areas: StoreAreas, store: ObjectStore
) -> None:
    old = await archive_version(store, "ws/ada/n.ipynb", "n.ipynb", b"old")
    await archive_version(store, "ws/ada/n.ipynb", "n.ipynb", b"new")
    assert old is not None
    target = Target(store, Written("archived"))
    result = await restore(await areas.history("workspace"), "n.ipynb", old, target)
    assert target.bodies == [("n.ipynb", b"old")]
    newest = (await store.head("ws/ada/n.ipynb")).version_id
    assert result.version_id == newest != old
    assert (result.archive, result.restored_from.id, result.restored_from.path) == (
        "archived",
        old,
        "n.ipynb",
    )
    assert set(result.to_dict()) == {"path", "restored_from", "version_id", "archive"}


async def test_restore_reports_what_the_writer_says(areas: StoreAreas, store: ObjectStore) -> None:
    old = await archive_version(store, "ws/ada/n.ipynb", "n.ipynb", b"old")
    assert old is not None
    history = await areas.history("workspace")
    model = {"path": "n.ipynb"}
    given = Written("archived", version_id="told", model=model)
    told = await restore(history, "n.ipynb", old, Target(store, given, archive=False))
    assert (told.version_id, told.to_dict()["model"]) == ("told", model)
    off = await restore(history, "n.ipynb", old, Target(store, Written("off"), archive=False))
    assert (off.archive, off.version_id) == ("off", None)
    pending = await restore(history, "n.ipynb", old, Target(store, Written("pending")))
    assert isinstance(pending, RestoreResult)
    assert (pending.archive, pending.version_id) == ("pending", None)


async def test_restore_of_a_file_never_archived_under_its_name(
    areas: StoreAreas, store: ObjectStore
) -> None:
    target = Target(store, Written("off"))
    with pytest.raises(ObjectNotFound):
        await restore(await areas.history("workspace"), "n.ipynb", "v1", target)
    assert target.bodies == []


# -- lineage -------------------------------------------------------------------------------


async def test_archive_version_records_hash_time_and_skips_identical(store: ObjectStore) -> None:
    first = await archive_version(store, "ws/a.ipynb", "a.ipynb", b"one", saved_at=0)
    assert first is not None
    info = await store.head("ws/a.ipynb")
    assert info.metadata[SHA256_FIELD] == hashlib.sha256(b"one").hexdigest()
    assert info.metadata[SAVED_AT_FIELD] == "1970-01-01T00:00:00.000Z"
    assert info.content_type == "application/x-ipynb+json"
    assert await archive_version(store, "ws/a.ipynb", "a.ipynb", b"one") is None
    assert await archive_version(store, "ws/b.txt", "b.txt", b"x") is not None
    assert (await store.head("ws/b.txt")).content_type == "application/octet-stream"


async def test_lineage_is_carried_forward(store: ObjectStore) -> None:
    lineage = {RENAMED_FROM_FIELD: "old.ipynb", RENAMED_FROM_VERSION_FIELD: "v0"}
    first = await store.put("ws/new.ipynb", b"copy", metadata=lineage)
    assert lineage_of(await store.head("ws/new.ipynb")) == {**lineage, LINEAGE_START_FIELD: first}
    await archive_version(store, "ws/new.ipynb", "new.ipynb", b"next save")
    assert lineage_of(await store.head("ws/new.ipynb")) == {**lineage, LINEAGE_START_FIELD: first}
