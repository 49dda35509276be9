"""The archiver's history operations (rename, delete) against each real store: ordered with
the saves around them, durable across a restart, and idempotent when replayed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bookstore.core.archive import Archiver, Spool, archive_version
from bookstore.core.history import History
from bookstore.errors import StoreUnavailable
from bookstore.keys import s3_key
from bookstore.stores.base import ObjectStore


def doc(text: bytes) -> bytes:
    """A JSON document standing for a notebook's bytes (the archiver stores only whole
    JSON objects under a ``.ipynb`` name)."""
    return b'{"v": "' + text + b'"}'


def make_archiver(store: ObjectStore, spool_dir: Path, prefix: str, *, up: bool = True) -> Archiver:
    async def open_store() -> ObjectStore:
        if not up:
            raise StoreUnavailable("the store is down (test)")
        return store

    return Archiver(
        open_store=open_store,
        spool=Spool(spool_dir),
        workspace_prefix=f"{prefix}/workspace",
        file_types=["notebook"],
        retry_max_delay=0.05,
    )


async def history_of(store: ObjectStore, prefix: str, path: str) -> list[tuple[str, bytes]]:
    """(saved path, body) of every version of ``path``, newest first, through renames."""
    history = History(store, f"{prefix}/workspace", area="workspace", follows_renames=True)
    page = await history.list_versions(path, limit=1000)
    assert page.next_token is None
    bodies = []
    for item in page.items:
        stored, saved_path = await history.find(path, item.id)
        assert saved_path == item.path
        bodies.append((item.path, stored.body))
    return bodies


async def test_rename_follows_saves_queued_before_it(
    store: ObjectStore, prefix: str, tmp_path: Path
) -> None:
    archiver = make_archiver(store, tmp_path / "spool", prefix)
    archiver.archive_bytes("a.ipynb", doc(b"1"))
    archiver.archive_bytes("a.ipynb", doc(b"2"))
    archiver.record_rename("a.ipynb", "b.ipynb")  # before the saves above are uploaded
    archiver.archive_bytes("b.ipynb", doc(b"3"))
    archiver.archive_bytes("a.ipynb", doc(b"new a"))  # a new file under the old name
    assert await archiver.drain(timeout=30)
    assert await history_of(store, prefix, "b.ipynb") == [
        ("b.ipynb", doc(b"3")),
        ("b.ipynb", doc(b"2")),
        ("a.ipynb", doc(b"1")),
    ]
    assert [body for _, body in await history_of(store, prefix, "a.ipynb")] == [
        doc(b"new a"),
        doc(b"2"),
        doc(b"1"),
    ]
    assert archiver.pending == 0
    await archiver.stop()


async def test_a_save_equal_to_the_archivers_last_is_kept_after_another_writer(
    store: ObjectStore, prefix: str, tmp_path: Path
) -> None:
    """The command line and papermill add versions behind a server's archiver
    (``archive_version``): a save equal to the one the archiver last uploaded is then a new
    version, not skipped as identical."""
    archiver = make_archiver(store, tmp_path / "spool", prefix)
    archiver.archive_bytes("a.ipynb", doc(b"A"))
    assert await archiver.drain(timeout=30)
    key = s3_key(f"{prefix}/workspace", "a.ipynb")
    assert await archive_version(store, key, "a.ipynb", doc(b"C")) is not None
    archiver.archive_bytes("a.ipynb", doc(b"A"))
    assert await archiver.drain(timeout=30)
    assert await history_of(store, prefix, "a.ipynb") == [
        ("a.ipynb", doc(b"A")),
        ("a.ipynb", doc(b"C")),
        ("a.ipynb", doc(b"A")),
    ]
    assert archiver.skipped_identical == 0
    archiver.archive_bytes("a.ipynb", doc(b"A"))  # Now identical to the latest version.
    assert await archiver.drain(timeout=30)
    assert archiver.skipped_identical == 1
    assert len(await history_of(store, prefix, "a.ipynb")) == 3
    await archiver.stop()


async def test_rename_waits_in_the_spool_while_the_store_is_down(
    store: ObjectStore, prefix: str, tmp_path: Path
) -> None:
    up = make_archiver(store, tmp_path / "spool", prefix)
    up.archive_bytes("x.ipynb", doc(b"1"))
    assert await up.drain(timeout=30)
    await up.stop()

    down = make_archiver(store, tmp_path / "spool", prefix, up=False)
    down.archive_bytes("x.ipynb", doc(b"2"))
    down.record_rename("x.ipynb", "y.ipynb")
    down.record_delete("y.ipynb")
    assert not await down.drain(timeout=0.3)
    assert down.pending == 3
    await down.stop()

    restarted = make_archiver(store, tmp_path / "spool", prefix)
    await restarted.start()
    assert await restarted.drain(timeout=30)
    assert restarted.pending == 0
    versions = await History(
        store, f"{prefix}/workspace", area="workspace", follows_renames=True
    ).list_versions("y.ipynb")
    assert [item.path for item in versions.items] == ["y.ipynb", "x.ipynb"]
    assert not any(item.is_latest for item in versions.items)  # y was deleted
    await restarted.stop()


async def test_a_replayed_rename_does_not_copy_twice(
    store: ObjectStore, prefix: str, tmp_path: Path
) -> None:
    archiver = make_archiver(store, tmp_path / "spool", prefix)
    archiver.archive_bytes("p.ipynb", doc(b"1"))
    archiver.record_rename("p.ipynb", "q.ipynb")
    assert await archiver.drain(timeout=30)
    # As if the server died after the copy, before the spool entry was removed.
    again = make_archiver(store, tmp_path / "spool2", prefix)
    again.record_rename("p.ipynb", "q.ipynb")
    assert await again.drain(timeout=30)
    assert await history_of(store, prefix, "q.ipynb") == [("q.ipynb", doc(b"1"))]
    await archiver.stop()
    await again.stop()


async def test_unknown_spool_actions_are_set_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    rename = spool.add_operation(
        "rename", "k/a", "a.ipynb", target_key="k/b", target_path="b.ipynb"
    )
    (tmp_path / "00000000000000000001.entry").write_bytes(
        b'{"key": "k", "path": "p", "saved_at": 1, "action": "explode"}\n'
    )
    entries: list[Any] = Spool(tmp_path).open()
    assert entries == [rename]
    assert (entries[0].action, entries[0].target_key, entries[0].target_path) == (
        "rename",
        "k/b",
        "b.ipynb",
    )
    assert spool.failed_count() == 1
