"""The diff replies' cache: an LRU bounded by bytes and entries, and what a cached reply is
keyed by (the versions' ids, ``latest`` resolved, the workspace file's bytes, the options)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import nbformat
import pytest

from bookstore.core.areas import StoreAreas
from bookstore.core.diff import CURRENT, LATEST, DiffSide, cached_diff_reply
from bookstore.core.diff_cache import DiffCache, DiffKey
from bookstore.core.diff_filter import DiffOptions
from bookstore.errors import ObjectNotFound
from bookstore.stores.base import ObjectStore


def key(n: int, content: bool = True) -> DiffKey:
    return DiffKey("workspace", "ws/n.ipynb", f"v:{n}", "v:x", "", content)


def test_least_recently_used_goes_first() -> None:
    cache = DiffCache(max_bytes=1000, max_entries=3)
    for n in range(3):
        cache.put(key(n), b"x" * 10)
    assert cache.get(key(0)) == b"x" * 10  # now the most recently used
    cache.put(key(3), b"y")
    assert cache.get(key(1)) is None
    assert [cache.get(key(n)) is not None for n in (0, 2, 3)] == [True, True, True]
    assert len(cache) == 3
    assert cache.size == 21
    assert (cache.hits, cache.misses) == (4, 1)
    assert cache.get(key(0, content=False)) is None


def test_bounded_by_bytes() -> None:
    cache = DiffCache(max_bytes=100, max_entries=100)
    for n in range(5):
        cache.put(key(n), bytes(20))
    cache.put(key(5), bytes(25))
    assert cache.size <= 100
    assert cache.get(key(0)) is None
    assert cache.get(key(5)) is not None
    # A reply over a quarter of the bytes is not kept (it would push out many others).
    cache.put(key(6), bytes(26))
    assert cache.get(key(6)) is None
    # Replacing a reply counts its bytes once.
    cache.put(key(5), bytes(10))
    assert cache.size == sum(20 for n in range(2, 5)) + 10
    cache.clear()
    assert (len(cache), cache.size) == (0, 0)


def test_zero_bytes_is_off() -> None:
    cache = DiffCache(max_bytes=0)
    assert not cache.enabled
    cache.put(key(0), b"x")
    assert cache.get(key(0)) is None


# -- cached_diff_reply ------------------------------------------------------------------


def notebook_bytes(*sources: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s, id=f"c{n}") for n, s in enumerate(sources)]
    return str(nbformat.writes(nb)).encode()


class Workspace:
    """The workspace file ``n.ipynb``, as the server's writer reads it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.modified = datetime(2026, 5, 1, tzinfo=timezone.utc)
        self.reads = 0

    async def __call__(self, path: str) -> DiffSide:
        self.reads += 1
        return DiffSide.current(path, None, len(self.body), self.modified, self.body)


async def test_a_repeated_diff_comes_from_the_cache(areas: StoreAreas, store: ObjectStore) -> None:
    v1 = await store.put("ws/ada/n.ipynb", notebook_bytes("x = 1"))
    v2 = await store.put("ws/ada/n.ipynb", notebook_bytes("x = 2"))
    history = await areas.history("workspace")
    cache = DiffCache()
    now = Workspace(notebook_bytes("x = 3"))

    async def diff(base: str, remote: str, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("content", True)
        reply = await cached_diff_reply(
            cache, history, "n.ipynb", base, remote, current_notebook=now, **kwargs
        )
        return dict(json.loads(reply))

    first = await diff(v1, v2)
    assert (cache.hits, len(cache)) == (0, 1)
    assert await diff(v1, v2) == first
    assert cache.hits == 1
    # 'latest' is the newest version's id: the same reply, from the cache.
    assert await diff(v1, LATEST) == first
    assert cache.hits == 2
    # Other options, or no content, are other replies.
    hidden = await diff(v1, v2, options=DiffOptions.parse("outputs", None))
    assert hidden["options"]["hide"] == ["outputs"]
    assert (await diff(v1, v2, content=False))["base_notebook"] is None
    assert (cache.hits, len(cache)) == (2, 3)

    # A new version: 'latest' names it now.
    v3 = await store.put("ws/ada/n.ipynb", notebook_bytes("x = 2", "y = 1"))
    newer = await diff(v1, LATEST)
    assert newer["remote"]["id"] == v3
    assert newer["summary"]["text"] == "1 cell added, 1 cell changed"

    # The workspace file is read each time, and keyed by its bytes.
    to_now = await diff(v2, CURRENT)
    assert to_now["remote"]["current"] is True
    hits = cache.hits
    assert await diff(v2, CURRENT) == to_now
    assert cache.hits == hits + 1
    assert now.reads == 2
    now.body = notebook_bytes("x = 4")
    changed = await diff(v2, CURRENT)
    assert changed != to_now
    assert cache.hits == hits + 1
    # Saved again with the same bytes: its new time is in the reply, so not the old reply.
    now.modified = datetime(2026, 5, 2, tzinfo=timezone.utc)
    assert (await diff(v2, CURRENT))["remote"]["last_modified"] == "2026-05-02T00:00:00.000Z"


async def test_what_is_never_cached(areas: StoreAreas, store: ObjectStore) -> None:
    history = await areas.history("workspace")
    cache = DiffCache()
    now = Workspace(notebook_bytes("x = 1"))
    # A file never archived: 'latest' cannot be named; the diff says why.
    with pytest.raises(ObjectNotFound, match="no latest version"):
        await cached_diff_reply(
            cache, history, "n.ipynb", LATEST, CURRENT, current_notebook=now, content=True
        )
    assert len(cache) == 0
    # Off: nothing kept.
    v1 = await store.put("ws/ada/n.ipynb", notebook_bytes("x = 0"))
    off = DiffCache(max_bytes=0)
    for _ in range(2):
        await cached_diff_reply(
            off, history, "n.ipynb", v1, CURRENT, current_notebook=now, content=True
        )
    assert (len(off), off.hits) == (0, 0)
