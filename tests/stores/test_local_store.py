"""Tests of the embedded local store beyond the shared contract: persistence, crash
safety, pagination at scale, concurrency, timestamps, copy/delete and prefix ranges."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import bookstore
from bookstore.config import BookstoreSettings
from bookstore.errors import InvalidPath, ObjectNotFound, StoreUnavailable, VersionNotFound
from bookstore.stores import local as local_module
from bookstore.stores.base import ObjectInfo
from bookstore.stores.local import LocalStore
from tests.paging import version_pages

REPO_ROOT = Path(bookstore.__file__).resolve().parents[1]


def make_store(root: Path, **settings: Any) -> LocalStore:
    return LocalStore(settings=BookstoreSettings(local_store_dir=str(root), **settings))


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def local_store(store_dir: Path, jp_asyncio_loop: Any) -> Iterator[LocalStore]:
    store = make_store(store_dir)
    jp_asyncio_loop.run_until_complete(store.start())
    yield store
    jp_asyncio_loop.run_until_complete(store.close())


async def all_keys(store: LocalStore, prefix: str, limit: int = 1000) -> list[str]:
    keys: list[str] = []
    token = None
    while True:
        page = await store.list_keys(prefix, limit=limit, token=token)
        assert len(page.items) <= limit
        keys += [item.key for item in page.items]
        token = page.next_token
        if token is None:
            return keys


def blob_files(root: Path) -> list[Path]:
    return [p for p in (root / "blobs").rglob("*") if p.is_file()]


def replace_with_file(path: Path) -> None:
    """Move the directory ``path`` away and put an empty file in its place."""
    path.rename(path.with_name(f"{path.name}-moved"))
    path.write_bytes(b"")


# -- layout and lifecycle -----------------------------------------------------------------


async def test_start_creates_directory_index_and_wal(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "er" / "store"
    async with make_store(root) as store:
        await store.put("a.ipynb", b"x")
    assert (root / "index.sqlite3").is_file()
    assert (root / "blobs").is_dir()
    with sqlite3.connect(root / "index.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == local_module.SCHEMA_VERSION


async def test_blobs_are_content_addressed_and_shared(
    local_store: LocalStore, store_dir: Path
) -> None:
    body = b"same bytes"
    digest = hashlib.sha256(body).hexdigest()
    await local_store.put("a", body)
    await local_store.put("a", body)
    await local_store.put("b", body)
    await local_store.copy("a", "c")
    assert blob_files(store_dir) == [store_dir / "blobs" / digest[:2] / digest]
    assert (store_dir / "blobs" / digest[:2] / digest).read_bytes() == body


async def test_persists_across_close_and_reopen(local_store: LocalStore, store_dir: Path) -> None:
    first = await local_store.put(
        "w/a.ipynb", b"one", content_type="application/json", metadata={"sha": "1"}
    )
    second = await local_store.put("w/a.ipynb", b"two")
    await local_store.put("w/gone.ipynb", b"bye")
    await local_store.delete("w/gone.ipynb")
    copied = await local_store.copy("w/a.ipynb", "p/a.ipynb", version_id=first)
    versions_before = (await local_store.list_versions("w/a.ipynb")).items
    keys_before = (await local_store.list_keys("")).items
    await local_store.close()

    async with make_store(store_dir) as reopened:
        assert (await reopened.get("w/a.ipynb")).body == b"two"
        old = await reopened.get("w/a.ipynb", first)
        assert old.body == b"one"
        assert old.info.content_type == "application/json"
        assert dict(old.info.metadata) == {"sha": "1"}
        assert (await reopened.list_versions("w/a.ipynb")).items == versions_before
        assert (await reopened.list_keys("")).items == keys_before
        assert [item.key for item in keys_before] == ["p/a.ipynb", "w/a.ipynb"]
        with pytest.raises(ObjectNotFound):
            await reopened.get("w/gone.ipynb")
        copy = await reopened.get("p/a.ipynb", copied)
        assert (copy.body, dict(copy.info.metadata)) == (b"one", {"sha": "1"})

        third = await reopened.put("w/a.ipynb", b"three")
        assert third not in {first, second}
        latest = await reopened.head("w/a.ipynb")
        assert latest.version_id == third
        assert latest.last_modified > versions_before[0].last_modified


async def test_lifecycle_errors_and_idempotent_start(store_dir: Path) -> None:
    store = make_store(store_dir)
    with pytest.raises(StoreUnavailable, match="not started"):
        await store.put("a", b"x")
    await store.start()
    await store.start()  # a second start is a no-op
    await store.put("a", b"x")
    await store.close()
    await store.close()  # so is a second close
    with pytest.raises(StoreUnavailable):
        await store.get("a")
    await store.start()  # and the store can be started again
    assert (await store.get("a")).body == b"x"
    await store.close()


async def test_start_failures_name_no_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    store = make_store(blocker / "store")
    with pytest.raises(StoreUnavailable) as failed:
        await store.start()
    assert str(tmp_path) not in str(failed.value)
    assert isinstance(failed.value.__cause__, OSError)
    assert not (await store.check()).usable

    with pytest.raises(StoreUnavailable, match="absolute"):
        await make_store(Path("relative/store")).start()


async def test_check(local_store: LocalStore, store_dir: Path) -> None:
    status = await local_store.check()
    assert status.to_dict() == {
        "backend": "local",
        "bucket": "local",
        "location": "embedded",
        "reachable": True,
        "bucket_exists": True,
        "versioning": "Enabled",
        "usable": True,
        "error": None,
    }
    assert not [name for name in os.listdir(store_dir) if name.startswith(".probe")]

    # The directory vanishes and a file takes its place: check reports, never raises.
    replace_with_file(store_dir)
    broken = await local_store.check()
    assert not broken.usable
    assert broken.error is not None
    assert "failed to write to its directory" in broken.error
    assert str(store_dir.parent) not in broken.error


async def test_check_of_a_store_not_started_or_closed(store_dir: Path) -> None:
    store = make_store(store_dir, local_store_bucket="mine")
    status = await store.check()
    assert (status.usable, status.bucket, status.location) == (False, "mine", "embedded")
    await store.start()
    assert (await store.check()).versioned
    await store.close()
    assert not (await store.check()).usable


# -- crash safety -------------------------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from bookstore.config import BookstoreSettings
    from bookstore.stores.local import LocalStore

    async def writer(store, worker):
        # independent writers: whenever one reports a put, the others are mid-put
        for n in range(worker, 10**9, 4):
            body = (b"%d " % n) * (1 + 7919 * (n % 13))
            version_id = await store.put(f"k{n % 3}", body, metadata={"n": str(n)})
            print(version_id, flush=True)

    async def main(root):
        store = LocalStore(settings=BookstoreSettings(local_store_dir=root, max_threads=4))
        await store.start()
        await asyncio.gather(*(writer(store, worker) for worker in range(4)))

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_killed_writer_leaves_a_consistent_store(store_dir: Path) -> None:
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _WRITER,
        str(store_dir),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
    )
    assert writer.stdout is not None
    acknowledged: list[str] = []
    try:
        while len(acknowledged) < 200:
            line = await asyncio.wait_for(writer.stdout.readline(), 30)
            assert line, "the writer died on its own"
            acknowledged.append(line.decode().strip())
    finally:
        writer.send_signal(signal.SIGKILL)  # three other puts are in flight
        await writer.wait()
    assert writer.returncode == -signal.SIGKILL

    with sqlite3.connect(store_dir / "index.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    async with make_store(store_dir) as store:
        listed: list[ObjectInfo] = []
        for key in ("k0", "k1", "k2"):
            for page in await version_pages(store, key, limit=1000):
                listed += page
        assert set(acknowledged) <= {item.version_id for item in listed}
        for info in listed:
            obj = await store.get(info.key, info.version_id)
            assert len(obj.body) == info.size
            assert hashlib.md5(obj.body).hexdigest() == info.etag
        # every blob, orphan or not, is complete: its name is its content's hash
        for blob in blob_files(store_dir):
            if not blob.name.startswith(".tmp-"):
                assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
        # and the store keeps working
        version_id = await store.put("k0", b"after the crash")
        assert (await store.get("k0")).info.version_id == version_id


# -- pagination, concurrency, timestamps ----------------------------------------------------


async def test_1100_versions_paginate_newest_first(local_store: LocalStore) -> None:
    key = "many.ipynb"
    ids: list[str] = []
    for start in range(0, 1100, 100):
        # chunks run concurrently; chunk after chunk is strictly newer
        ids += await asyncio.gather(
            *(local_store.put(key, f"{n}".encode()) for n in range(start, start + 100))
        )
    assert len(set(ids)) == 1100

    by_thousand = await version_pages(local_store, key, limit=1000)
    assert [len(page) for page in by_thousand] == [1000, 100]
    by_hundred = await version_pages(local_store, key, limit=100)
    assert [len(page) for page in by_hundred] == [100] * 11
    flat = [item for page in by_thousand for item in page]
    assert [item.version_id for item in flat] == [
        item.version_id for page in by_hundred for item in page
    ]
    assert len({item.version_id for item in flat}) == 1100
    assert {item.version_id for item in flat} == set(ids)
    # newest first, chunk by chunk
    for n, start in enumerate(range(0, 1100, 100)):
        chunk = flat[1000 - start : 1100 - start]
        assert {item.version_id for item in chunk} == set(ids[start : start + 100]), n
    times = [item.last_modified for item in flat]
    assert all(newer > older for newer, older in itertools.pairwise(times))
    assert [item.is_latest for item in flat] == [True] + [False] * 1099
    assert flat[0].version_id == (await local_store.head(key)).version_id

    # limits are clamped to 1..1000
    assert len((await local_store.list_versions(key, limit=5000)).items) == 1000
    assert len((await local_store.list_versions(key, limit=0)).items) == 1


async def test_pagination_skips_delete_markers(local_store: LocalStore) -> None:
    key = "churn.ipynb"
    kept = []
    for n in range(6):
        kept.append(await local_store.put(key, f"{n}".encode()))
        await local_store.delete(key)
    pages = await version_pages(local_store, key, limit=1)
    assert [len(page) for page in pages] == [1] * 6
    assert [page[0].version_id for page in pages] == kept[::-1]
    assert not any(page[0].is_latest for page in pages)


async def test_bad_page_tokens(local_store: LocalStore) -> None:
    await local_store.put("a", b"x")
    for token in ("nope", "-1", "0", "1.5", "\uff19", str(2**64)):
        with pytest.raises(InvalidPath):
            await local_store.list_versions("a", token=token)
    for token in ("!!!", "_w"):
        with pytest.raises(InvalidPath):
            await local_store.list_keys("", token=token)


async def test_concurrent_puts_are_all_kept(local_store: LocalStore) -> None:
    key = "busy.ipynb"
    bodies = [f"save {n}".encode() * (n + 1) for n in range(50)]
    ids = await asyncio.gather(*(local_store.put(key, body) for body in bodies))
    assert len(set(ids)) == 50
    listed = (await local_store.list_versions(key, limit=1000)).items
    assert {item.version_id for item in listed} == set(ids)
    stored = await asyncio.gather(*(local_store.get(key, vid) for vid in ids))
    assert [obj.body for obj in stored] == bodies
    times = [item.last_modified for item in listed]
    assert len(set(times)) == 50
    assert times == sorted(times, reverse=True)


async def test_a_single_worker_thread_serves_concurrent_calls(
    store_dir: Path,
) -> None:
    async with make_store(store_dir, max_threads=1) as store:
        ids = await asyncio.gather(*(store.put(f"k{n % 4}", b"%d" % n) for n in range(20)))
        assert len(set(ids)) == 20
        objects, keys = await asyncio.gather(
            asyncio.gather(*(store.get(f"k{n % 4}", vid) for n, vid in enumerate(ids))),
            store.list_keys(""),
        )
        assert [obj.body for obj in objects] == [b"%d" % n for n in range(20)]
        assert [item.key for item in keys.items] == ["k0", "k1", "k2", "k3"]


async def test_last_modified_strictly_increases_on_a_stuck_clock(
    local_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = 1_700_000_000_123_456
    monkeypatch.setattr(local_module, "_now_us", lambda: frozen)
    for n in range(5):
        await local_store.put("a", b"%d" % n)
    await local_store.delete("a")
    await local_store.put("a", b"back")
    await local_store.copy("a", "b")
    await local_store.put("b", b"b2")
    # the clock goes back an hour: still strictly after the key's last entry
    monkeypatch.setattr(local_module, "_now_us", lambda: frozen - 3_600_000_000)
    await local_store.put("a", b"later")

    times = [item.last_modified for item in (await local_store.list_versions("a")).items]
    assert len(times) == 7
    steps = [newer - older for newer, older in itertools.pairwise(times)]
    # one microsecond per entry, newest first; the delete marker took one too
    one, two = timedelta(microseconds=1), timedelta(microseconds=2)
    assert steps == [one, two, one, one, one, one]
    assert times[-1].timestamp() == pytest.approx(frozen / 1e6)
    assert times[-1].utcoffset() == timedelta(0)
    # another key has its own clock
    b_times = [item.last_modified for item in (await local_store.list_versions("b")).items]
    assert [t - b_times[-1] for t in b_times] == [timedelta(microseconds=1), timedelta(0)]
    assert b_times[-1] == times[-1]


async def test_last_modified_follows_the_clock(local_store: LocalStore) -> None:
    before = local_module._datetime(local_module._now_us())
    await local_store.put("a", b"x")
    after = local_module._datetime(local_module._now_us())
    assert before <= (await local_store.head("a")).last_modified <= after


# -- get, head, copy, delete ---------------------------------------------------------------


async def test_version_lookups(local_store: LocalStore) -> None:
    mine = await local_store.put("mine", b"1")
    other = await local_store.put("other", b"2")
    newer = await local_store.put("mine", b"3")

    old = await local_store.head("mine", mine)
    assert (old.version_id, old.is_latest, old.size) == (mine, False, 1)
    assert (await local_store.head("mine", newer)).is_latest
    for bad in (other, "0" * 32, "", "\udcff"):
        with pytest.raises(VersionNotFound):
            await local_store.get("mine", bad)
        with pytest.raises(VersionNotFound):
            await local_store.head("mine", bad)
    with pytest.raises(ObjectNotFound) as missing:
        await local_store.get("never")
    assert not isinstance(missing.value, VersionNotFound)


async def test_delete_keeps_history_and_is_idempotent(
    local_store: LocalStore, store_dir: Path
) -> None:
    first = await local_store.put("d", b"one", metadata={"m": "1"})
    await local_store.delete("d")
    await local_store.delete("d")  # already deleted: no second marker
    await local_store.delete("never")  # missing: nothing written

    with pytest.raises(ObjectNotFound):
        await local_store.head("d")
    old = await local_store.get("d", first)
    assert (old.body, old.info.is_latest, dict(old.info.metadata)) == (b"one", False, {"m": "1"})
    assert await all_keys(local_store, "") == []
    with sqlite3.connect(store_dir / "index.sqlite3") as db:
        markers = db.execute(
            "SELECT key, version_id FROM versions WHERE is_delete_marker = 1"
        ).fetchall()
    assert [key for key, _ in markers] == ["d"]
    # a delete marker's id is not a readable version
    with pytest.raises(VersionNotFound):
        await local_store.get("d", markers[0][1])

    again = await local_store.put("d", b"two")
    assert await all_keys(local_store, "") == ["d"]
    listed = (await local_store.list_versions("d")).items
    assert [(item.version_id, item.is_latest) for item in listed] == [
        (again, True),
        (first, False),
    ]


async def test_copy(local_store: LocalStore) -> None:
    v1 = await local_store.put("src", b"one", content_type="text/plain", metadata={"a": "b"})
    await local_store.put("src", b"two")
    await local_store.delete("src")

    with pytest.raises(ObjectNotFound):
        await local_store.copy("src", "dst")  # the latest is deleted
    copied = await local_store.copy("src", "dst", version_id=v1)  # an old version still copies
    assert copied != v1
    obj = await local_store.get("dst")
    assert (obj.body, obj.info.version_id, obj.info.is_latest) == (b"one", copied, True)
    assert (obj.info.content_type, dict(obj.info.metadata)) == ("text/plain", {"a": "b"})
    assert obj.info.etag == hashlib.md5(b"one").hexdigest()
    assert obj.info.last_modified > (await local_store.head("src", v1)).last_modified

    other = await local_store.put("other", b"x")
    with pytest.raises(VersionNotFound):
        await local_store.copy("src", "dst", version_id=other)
    with pytest.raises(ObjectNotFound):
        await local_store.copy("missing", "dst")
    assert len((await local_store.list_versions("dst")).items) == 1
    # copying a key onto itself adds a version
    again = await local_store.copy("dst", "dst")
    assert [item.version_id for item in (await local_store.list_versions("dst")).items] == [
        again,
        copied,
    ]


async def test_invalid_keys(local_store: LocalStore) -> None:
    for key in ("", "a\x00b", "bad \udc80 surrogate"):
        with pytest.raises(InvalidPath):
            await local_store.put(key, b"x")
        with pytest.raises(InvalidPath):
            await local_store.get(key)
        with pytest.raises(InvalidPath):
            await local_store.head(key)
        with pytest.raises(InvalidPath):
            await local_store.delete(key)
        with pytest.raises(InvalidPath):
            await local_store.list_versions(key)
        with pytest.raises(InvalidPath):
            await local_store.copy(key, "ok")
        with pytest.raises(InvalidPath):
            await local_store.copy("ok", key)
    for prefix in ("a\x00", "\ud800"):
        with pytest.raises(InvalidPath):
            await local_store.list_keys(prefix)


async def test_disk_errors_become_store_unavailable(
    local_store: LocalStore, store_dir: Path
) -> None:
    version_id = await local_store.put("a", b"lost body")
    for blob in blob_files(store_dir):
        blob.unlink()
    with pytest.raises(StoreUnavailable) as lost:
        await local_store.get("a", version_id)
    assert str(store_dir) not in str(lost.value)
    assert (await local_store.head("a")).version_id == version_id  # the index still answers

    replace_with_file(store_dir / "blobs")
    with pytest.raises(StoreUnavailable) as failed:
        await local_store.put("b", b"new")
    assert str(store_dir) not in str(failed.value)
    assert isinstance(failed.value.__cause__, OSError)
    with pytest.raises(ObjectNotFound):
        await local_store.head("b")  # no row without its blob


# -- key listing ----------------------------------------------------------------------------

TRICKY_KEYS = [
    "a",
    "a%",
    "a%b",
    "a_",
    "a_b",
    "aXb",
    "ab",
    "a\\b",
    "a/b",
    "a0",
    "b",
    "e/x",
    "é",
    "é/x",
    "éa",
    "ê",
    "日本/ノート.ipynb",
    "日本語",
    "\ud7ff",
    "\ud7ffz",
    "\ue000",
    "\U0001f600/emoji",
    "\U0010ffff",
    "\U0010ffffa",
    "\U0010ffff\U0010ffff",
]

TRICKY_PREFIXES = [
    "",
    "a",
    "a%",
    "a_",
    "a\\",
    "a/",
    "é",
    "é/",
    "e",
    "日本",
    "\ud7ff",
    "\U0001f600",
    "\U0010ffff",
    "\U0010ffff\U0010ffff",
    "zzz",
]


async def test_list_keys_with_tricky_prefixes(local_store: LocalStore) -> None:
    await asyncio.gather(*(local_store.put(key, key.encode()) for key in TRICKY_KEYS))
    assert await all_keys(local_store, "") == sorted(TRICKY_KEYS)
    for prefix in TRICKY_PREFIXES:
        expected = sorted(key for key in TRICKY_KEYS if key.startswith(prefix))
        assert await all_keys(local_store, prefix) == expected, prefix
        assert await all_keys(local_store, prefix, limit=2) == expected, prefix


async def test_list_keys_reports_latest_versions(local_store: LocalStore) -> None:
    await local_store.put("p/a", b"old")
    newest = await local_store.put("p/a", b"newest", content_type="text/plain")
    await local_store.put("p/b", b"b")
    await local_store.delete("p/b")
    await local_store.put("q", b"outside")

    items = (await local_store.list_keys("p/")).items
    assert len(items) == 1
    (item,) = items
    assert (item.key, item.version_id, item.size, item.is_latest) == ("p/a", newest, 6, True)
    assert item.etag == hashlib.md5(b"newest").hexdigest()
    assert item.last_modified == (await local_store.head("p/a")).last_modified


def test_prefix_upper_bound() -> None:
    bound = local_module._prefix_upper_bound
    assert bound("") is None
    assert bound("a") == "b"
    assert bound("a%") == "a&"
    assert bound("\ud7ff") == "\ue000"
    assert bound("a\U0010ffff") == "b"
    assert bound("\U0010ffff\U0010ffff") is None


# -- permanent version deletes ---------------------------------------------------------------


async def test_delete_version_frees_a_blob_only_when_no_version_uses_it(
    local_store: LocalStore, store_dir: Path
) -> None:
    body = b"shared bytes"
    blob = store_dir / "blobs" / hashlib.sha256(body).hexdigest()[:2]
    first = await local_store.put("a", body)
    second = await local_store.put("b", body)
    only = await local_store.put("a", b"only mine")
    await local_store.delete_version("a", first)
    assert blob_files(store_dir) != []
    assert (await local_store.get("b", second)).body == body
    await local_store.delete_version("b", second)
    await local_store.delete_version("a", only)
    assert blob_files(store_dir) == []
    assert not any(blob.iterdir())
    with sqlite3.connect(store_dir / "index.sqlite3") as db:
        assert db.execute(
            "SELECT COUNT(*) FROM versions WHERE is_delete_marker = 0"
        ).fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM latest").fetchone() == (0,)


@pytest.mark.parametrize("method", ["put", "put_file"])
async def test_a_put_whose_blob_a_delete_removes_meanwhile_writes_it_again(
    local_store: LocalStore, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """The race a prune and a save of the same bytes can run: the put finds (or writes)
    its blob, then a delete of the last version using that blob removes it before the
    put's row is in.  The put must notice and write the blob again."""
    body = b"bytes a prune is deleting"
    doomed = await local_store.put("k", body)
    original_write, original_copy = local_store._write_blob, local_store._copy_blob
    raced: list[bool] = []

    def delete_once() -> None:
        if not raced:
            raced.append(True)
            local_store._delete_version_sync("k", doomed)

    def write_then_delete(digest: str, content: bytes) -> None:
        original_write(digest, content)
        delete_once()

    def copy_then_delete(file_body: Any) -> tuple[str, str, int]:
        copied = original_copy(file_body)
        delete_once()
        return copied

    monkeypatch.setattr(local_store, "_write_blob", write_then_delete)
    monkeypatch.setattr(local_store, "_copy_blob", copy_then_delete)
    if method == "put":
        version_id = await local_store.put("k", body)
    else:
        from typing import IO

        from bookstore.stores.base import FileBody

        def open_body() -> IO[bytes]:
            return file.open("rb")

        file = Path(local_store.settings.local_store_dir).parent / "body"
        file.write_bytes(body)
        version_id = await local_store.put_file("k", FileBody(open_body, len(body)))
    assert raced == [True]
    assert (await local_store.get("k", version_id)).body == body
    assert [item.version_id for item in (await local_store.list_versions("k")).items] == [
        version_id
    ]
