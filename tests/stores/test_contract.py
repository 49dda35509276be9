"""The object store contract: one suite, run unchanged against every backend."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timezone

import pytest

from bookstore.errors import InvalidPath, ObjectNotFound, VersionNotFound
from bookstore.stores.base import ObjectStore
from tests.paging import all_versions


async def put_many(store: ObjectStore, key: str, count: int, chunk: int = 16) -> list[str]:
    """Put ``count`` distinct bodies to ``key``, ``chunk`` at a time; return the version ids."""
    ids: list[str] = []
    for start in range(0, count, chunk):
        ids += await asyncio.gather(
            *(store.put(key, f"body {n}".encode()) for n in range(start, min(start + chunk, count)))
        )
    return ids


async def test_put_then_get_round_trips_body_and_info(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/nb/a.ipynb"
    body = b'{"cells": []}' * 100
    version_id = await store.put(key, body)
    assert version_id

    obj = await store.get(key)
    assert obj.body == body
    assert obj.info.key == key
    assert obj.info.version_id == version_id
    assert obj.info.size == len(body)
    assert obj.info.etag == hashlib.md5(body).hexdigest()
    assert obj.info.is_latest
    assert obj.info.last_modified.tzinfo is not None
    assert obj.info.last_modified.utcoffset() == timezone.utc.utcoffset(None)


async def test_every_put_is_a_new_version(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/a.ipynb"
    first = await store.put(key, b"one")
    second = await store.put(key, b"two")
    same_again = await store.put(key, b"two")
    assert len({first, second, same_again}) == 3

    assert (await store.get(key)).body == b"two"
    old = await store.get(key, first)
    assert old.body == b"one"
    assert old.info.version_id == first
    assert (await store.get(key, second)).body == b"two"


async def test_head_matches_get_without_body(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/h.ipynb"
    first = await store.put(key, b"first version")
    await store.put(key, b"second")
    info = await store.head(key, first)
    assert (info.key, info.version_id, info.size) == (key, first, len(b"first version"))
    latest = await store.head(key)
    assert latest.size == len(b"second")
    assert latest.version_id != first


async def test_empty_and_binary_bodies(store: ObjectStore, prefix: str) -> None:
    await store.put(f"{prefix}/empty", b"")
    assert (await store.get(f"{prefix}/empty")).body == b""
    binary = bytes(range(256)) * 10
    await store.put(f"{prefix}/bin.dat", binary)
    assert (await store.get(f"{prefix}/bin.dat")).body == binary


async def test_metadata_and_content_type_round_trip(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/m.ipynb"
    await store.put(
        key, b"{}", content_type="application/x-ipynb+json", metadata={"sha256": "abc", "n": "1"}
    )
    for info in ((await store.get(key)).info, await store.head(key)):
        assert info.content_type == "application/x-ipynb+json"
        assert dict(info.metadata) == {"sha256": "abc", "n": "1"}


async def test_unicode_and_spaces_in_keys(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/dossier été/naïve notebook (1).ipynb"
    version_id = await store.put(key, "é".encode())
    assert (await store.get(key, version_id)).body == "é".encode()
    page = await store.list_keys(f"{prefix}/dossier été/")
    assert [item.key for item in page.items] == [key]


async def test_missing_key_and_missing_version(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(ObjectNotFound) as missing:
        await store.get(f"{prefix}/nope.ipynb")
    assert not isinstance(missing.value, VersionNotFound)
    with pytest.raises(ObjectNotFound):
        await store.head(f"{prefix}/nope.ipynb")

    other_version = await store.put(f"{prefix}/other.ipynb", b"x")
    await store.put(f"{prefix}/mine.ipynb", b"y")
    with pytest.raises(VersionNotFound):
        await store.get(f"{prefix}/mine.ipynb", other_version)
    with pytest.raises(VersionNotFound):
        await store.head(f"{prefix}/mine.ipynb", other_version)


async def test_list_versions_is_exact_key_newest_first(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/a.ipynb"
    ids = [await store.put(key, f"v{n}".encode()) for n in range(3)]
    await store.put(f"{prefix}/a.ipynb.bak", b"not me")
    await store.put(f"{prefix}/a.ipynb2", b"not me either")
    await store.put(f"{prefix}/a.ipynb/inner", b"nor me")

    page = await store.list_versions(key)
    assert [item.version_id for item in page.items] == ids[::-1]
    assert {item.key for item in page.items} == {key}
    assert [item.is_latest for item in page.items] == [True, False, False]
    assert [item.size for item in page.items] == [2, 2, 2]
    times = [item.last_modified for item in page.items]
    assert times == sorted(times, reverse=True)
    assert page.next_token is None


async def test_list_versions_of_missing_key_is_empty(store: ObjectStore, prefix: str) -> None:
    page = await store.list_versions(f"{prefix}/never.ipynb")
    assert page.items == []
    assert page.next_token is None


async def test_list_versions_paginates_without_gaps(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/p.ipynb"
    ids = [await store.put(key, f"{n}".encode()) for n in range(25)]
    pages = []
    token = None
    while True:
        page = await store.list_versions(key, limit=10, token=token)
        pages.append([item.version_id for item in page.items])
        token = page.next_token
        if token is None:
            break
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [vid for page in pages for vid in page] == ids[::-1]


async def test_pagination_past_a_thousand_versions(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/many.ipynb"
    ids = await put_many(store, key, 1050)
    assert len(set(ids)) == 1050

    listed = await all_versions(store, key, limit=1000)
    assert len(listed) == 1050
    assert {item.version_id for item in listed} == set(ids)
    assert [item.is_latest for item in listed].count(True) == 1
    newest = (await store.get(key)).info.version_id
    assert listed[0].version_id == newest

    by_hundreds = await all_versions(store, key, limit=100)
    assert [item.version_id for item in by_hundreds] == [item.version_id for item in listed]


async def test_concurrent_puts_each_get_their_own_version(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/busy.ipynb"
    bodies = [f"save {n}".encode() for n in range(40)]
    ids = await asyncio.gather(*(store.put(key, body) for body in bodies))
    assert len(set(ids)) == 40
    listed = await all_versions(store, key, limit=1000)
    assert {item.version_id for item in listed} == set(ids)
    stored = await asyncio.gather(*(store.get(key, vid) for vid in ids))
    assert [obj.body for obj in stored] == bodies


async def test_list_keys_under_prefix(store: ObjectStore, prefix: str) -> None:
    names = ["b.ipynb", "a.ipynb", "sub/c.ipynb", "a.ipynb.bak"]
    for name in names:
        await store.put(f"{prefix}/pub/{name}", name.encode())
    await store.put(f"{prefix}/pub/a.ipynb", b"newer and longer")
    await store.put(f"{prefix}/pubx/d.ipynb", b"outside")
    await store.put(f"{prefix}/other/e.ipynb", b"outside")

    page = await store.list_keys(f"{prefix}/pub/")
    assert [item.key for item in page.items] == sorted(f"{prefix}/pub/{n}" for n in names)
    first = page.items[0]
    assert first.key == f"{prefix}/pub/a.ipynb"
    assert first.size == len(b"newer and longer")
    assert page.next_token is None


async def test_list_keys_paginates(store: ObjectStore, prefix: str) -> None:
    keys = [f"{prefix}/k/{n:03d}.ipynb" for n in range(23)]
    await asyncio.gather(*(store.put(key, b"x") for key in keys))
    listed: list[str] = []
    token = None
    while True:
        page = await store.list_keys(f"{prefix}/k/", limit=10, token=token)
        assert len(page.items) <= 10
        listed += [item.key for item in page.items]
        token = page.next_token
        if token is None:
            break
    assert listed == keys


async def test_delete_hides_key_but_keeps_history(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/gone.ipynb"
    first = await store.put(key, b"one")
    second = await store.put(key, b"two")
    await store.delete(key)

    with pytest.raises(ObjectNotFound):
        await store.get(key)
    with pytest.raises(ObjectNotFound):
        await store.head(key)
    assert (await store.get(key, first)).body == b"one"
    listed = await store.list_versions(key)
    assert [item.version_id for item in listed.items] == [second, first]
    assert not any(item.is_latest for item in listed.items)
    assert (await store.list_keys(f"{prefix}/")).items == []

    third = await store.put(key, b"three")
    assert (await store.get(key)).body == b"three"
    listed = await store.list_versions(key)
    assert [item.version_id for item in listed.items] == [third, second, first]
    assert [item.is_latest for item in listed.items] == [True, False, False]


async def test_delete_of_missing_key_is_a_no_op(store: ObjectStore, prefix: str) -> None:
    await store.delete(f"{prefix}/never.ipynb")
    with pytest.raises(ObjectNotFound):
        await store.get(f"{prefix}/never.ipynb")


async def test_copy_latest_and_given_version(store: ObjectStore, prefix: str) -> None:
    src = f"{prefix}/workspace/a.ipynb"
    first = await store.put(src, b"first")
    await store.put(src, b"second")

    copied = await store.copy(src, f"{prefix}/published/a.ipynb")
    assert (await store.get(f"{prefix}/published/a.ipynb", copied)).body == b"second"
    older = await store.copy(src, f"{prefix}/published/a.ipynb", version_id=first)
    assert older != copied
    assert (await store.get(f"{prefix}/published/a.ipynb")).body == b"first"
    # the source keeps its own history untouched
    assert len((await store.list_versions(src)).items) == 2


async def test_copy_keeps_or_replaces_the_metadata(store: ObjectStore, prefix: str) -> None:
    src = f"{prefix}/workspace/m.ipynb"
    dst = f"{prefix}/published/m.ipynb"
    await store.put(src, b"{}", content_type="application/x-ipynb+json", metadata={"a": "1"})
    await store.copy(src, dst)
    kept = await store.head(dst)
    assert dict(kept.metadata) == {"a": "1"}
    assert kept.content_type == "application/x-ipynb+json"
    await store.copy(src, dst, metadata={"a": "1", "owner": "bob"})
    replaced = await store.head(dst)
    assert dict(replaced.metadata) == {"a": "1", "owner": "bob"}
    assert replaced.content_type == "application/x-ipynb+json"  # the source's
    await store.copy(src, dst, metadata={"b": "2"}, content_type="text/plain")
    given = await store.head(dst)
    assert dict(given.metadata) == {"b": "2"}
    assert given.content_type == "text/plain"
    assert dict((await store.head(src)).metadata) == {"a": "1"}  # the source is untouched
    listed = await store.list_keys(f"{prefix}/published/")
    if listed.items[0].version_id is not None:  # such a listing carries the metadata too
        assert dict(listed.items[0].metadata) == {"b": "2"}


async def test_copy_of_missing_source(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(ObjectNotFound):
        await store.copy(f"{prefix}/missing.ipynb", f"{prefix}/dst.ipynb")
    other = await store.put(f"{prefix}/other.ipynb", b"x")
    await store.put(f"{prefix}/src.ipynb", b"y")
    with pytest.raises(VersionNotFound):
        await store.copy(f"{prefix}/src.ipynb", f"{prefix}/dst.ipynb", version_id=other)
    with pytest.raises(ObjectNotFound):
        await store.get(f"{prefix}/dst.ipynb")


async def test_check_reports_a_usable_versioned_store(store: ObjectStore) -> None:
    status = await store.check()
    assert status.usable
    assert status.versioned
    assert status.bucket == store.bucket
    assert status.error is None
    assert "/" not in status.location or status.location.startswith("http")


@pytest.mark.parametrize("bad_key", ["\ud800.ipynb", "nul\x00key", ""])
async def test_keys_no_backend_can_hold_are_invalid(
    store: ObjectStore, prefix: str, bad_key: str
) -> None:
    key = f"{prefix}/{bad_key}" if bad_key else ""
    with pytest.raises(InvalidPath):
        await store.put(key, b"x")
    with pytest.raises(InvalidPath):
        await store.get(key)
    with pytest.raises(InvalidPath):
        await store.list_versions(key)


@pytest.mark.parametrize("bad_version", ["\ud800", "\x00", "v\nx", "x" * 2000])
async def test_impossible_version_ids_are_not_found(
    store: ObjectStore, prefix: str, bad_version: str
) -> None:
    key = f"{prefix}/v.ipynb"
    await store.put(key, b"x")
    with pytest.raises(VersionNotFound):
        await store.get(key, bad_version)
    with pytest.raises(VersionNotFound):
        await store.head(key, bad_version)


async def test_delete_version_removes_exactly_that_version(store: ObjectStore, prefix: str) -> None:
    key = f"{prefix}/prune/a.ipynb"
    ids = [await store.put(key, f"v{n}".encode()) for n in range(4)]
    neighbour = await store.put(f"{prefix}/prune/a.ipynb.bak", b"v1")  # the same bytes

    await store.delete_version(key, ids[1])

    listed = await all_versions(store, key)
    assert [item.version_id for item in listed] == [ids[3], ids[2], ids[0]]
    assert [item.is_latest for item in listed] == [True, False, False]
    with pytest.raises(VersionNotFound):
        await store.get(key, ids[1])
    with pytest.raises(VersionNotFound):
        await store.head(key, ids[1])
    with pytest.raises(VersionNotFound):
        await store.copy(key, f"{prefix}/prune/copy.ipynb", version_id=ids[1])
    for version_id, body in ((ids[0], b"v0"), (ids[2], b"v2"), (ids[3], b"v3")):
        assert (await store.get(key, version_id)).body == body
    latest = await store.get(key)
    assert (latest.info.version_id, latest.body, latest.info.is_latest) == (ids[3], b"v3", True)
    assert not (await store.head(key, ids[2])).is_latest
    # A version of another key with the same bytes is untouched.
    assert (await store.get(f"{prefix}/prune/a.ipynb.bak", neighbour)).body == b"v1"
    keys = await store.list_keys(f"{prefix}/prune/")
    assert [item.key for item in keys.items] == [key, f"{prefix}/prune/a.ipynb.bak"]


async def test_delete_latest_version_makes_the_previous_one_latest(
    store: ObjectStore, prefix: str
) -> None:
    key = f"{prefix}/prune/latest.ipynb"
    first = await store.put(key, b"first")
    second = await store.put(key, b"second")

    await store.delete_version(key, second)

    latest = await store.get(key)
    assert (latest.info.version_id, latest.body, latest.info.is_latest) == (first, b"first", True)
    assert (await store.head(key)).version_id == first
    listed = await store.list_versions(key)
    assert [(item.version_id, item.is_latest) for item in listed.items] == [(first, True)]
    assert [item.key for item in (await store.list_keys(f"{prefix}/prune/")).items] == [key]
    third = await store.put(key, b"third")
    listed = await store.list_versions(key)
    assert [item.version_id for item in listed.items] == [third, first]

    # The last version gone: the key is gone, as if it never existed.
    for version_id in (third, first):
        await store.delete_version(key, version_id)
    with pytest.raises(ObjectNotFound):
        await store.get(key)
    assert (await store.list_versions(key)).items == []
    assert (await store.list_keys(f"{prefix}/prune/")).items == []


async def test_delete_version_behind_a_delete_marker_keeps_the_key_deleted(
    store: ObjectStore, prefix: str
) -> None:
    key = f"{prefix}/prune/gone.ipynb"
    first = await store.put(key, b"one")
    second = await store.put(key, b"two")
    await store.delete(key)

    await store.delete_version(key, second)

    with pytest.raises(ObjectNotFound):
        await store.get(key)
    listed = await store.list_versions(key)
    assert [(item.version_id, item.is_latest) for item in listed.items] == [(first, False)]
    assert (await store.get(key, first)).body == b"one"
    assert (await store.list_keys(f"{prefix}/prune/")).items == []


async def test_delete_version_of_a_missing_version_is_a_no_op(
    store: ObjectStore, prefix: str
) -> None:
    key = f"{prefix}/prune/keep.ipynb"
    mine = await store.put(key, b"mine")
    other = await store.put(f"{prefix}/prune/other.ipynb", b"other")

    await store.delete_version(key, mine)
    await store.delete_version(key, mine)  # deleted already
    await store.delete_version(key, other)  # a version of another key
    await store.delete_version(f"{prefix}/prune/never.ipynb", other)
    for impossible in ("\ud800", "v\nx", "x" * 2000):
        await store.delete_version(key, impossible)

    assert (await store.get(f"{prefix}/prune/other.ipynb", other)).body == b"other"
    assert (await store.list_versions(key)).items == []
    with pytest.raises(InvalidPath):
        await store.delete_version("", mine)


async def test_delete_version_keeps_shared_bytes_and_survives_concurrent_puts(
    store: ObjectStore, prefix: str
) -> None:
    """Identical bodies (which the embedded store keeps once) stay readable while other
    versions with those bytes are deleted and put at the same time."""
    key = f"{prefix}/prune/same.ipynb"
    body = b"the same bytes"
    old = [await store.put(key, body) for _ in range(6)]
    results = await asyncio.gather(
        *(store.delete_version(key, version_id) for version_id in old),
        *(store.put(key, body) for _ in range(5)),
    )
    survivors = [result for result in results if isinstance(result, str)]
    assert len(survivors) == 5
    listed = await all_versions(store, key)
    assert {item.version_id for item in listed} == set(survivors)
    stored = await asyncio.gather(*(store.get(key, version_id) for version_id in survivors))
    assert {obj.body for obj in stored} == {body}
    assert (await store.get(key)).body == body
