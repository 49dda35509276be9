"""History, contents models and diffs against the embedded store, without a server."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

import nbformat
import pytest

from bookstore.core.areas import StoreAreas
from bookstore.core.diff import (
    CURRENT,
    LATEST,
    DiffSide,
    diff_refs,
    diff_summary,
    diff_versions,
)
from bookstore.core.history import History, VersionItem, area_path, contents_model
from bookstore.errors import (
    InvalidNotebook,
    InvalidPath,
    InvalidRequest,
    ObjectNotFound,
    UnsupportedContent,
    VersionNotFound,
)
from bookstore.stores.base import ObjectStore
from tests.notebooks import make_notebook

WHEN = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def notebook_bytes(*sources: str) -> bytes:
    """A notebook of code cells; a cell's id is its position, so diffs match cells by it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(source, id=f"cell-{n}") for n, source in enumerate(sources)
    ]
    return str(nbformat.writes(nb)).encode()


def notebook(*sources: str) -> Any:
    """The notebook of :func:`notebook_bytes` as Jupyter reads it (sources as strings)."""
    return nbformat.reads(notebook_bytes(*sources).decode(), as_version=4)


async def workspace(areas: StoreAreas) -> History:
    return await areas.history("workspace")


async def test_versions_newest_first_in_pages(areas: StoreAreas, store: ObjectStore) -> None:
    ids = [await store.put("ws/ada/n.ipynb", notebook_bytes(str(n))) for n in range(5)]
    history = await workspace(areas)
    first = await history.list_versions("n.ipynb", limit=2)
    assert [item.id for item in first.items] == ids[:-3:-1]
    assert [item.is_latest for item in first.items] == [True, False]
    assert first.next_token is not None
    rest = await history.list_versions("n.ipynb", limit=10, token=first.next_token)
    assert [item.id for item in rest.items] == ids[2::-1]
    assert rest.next_token is None
    with pytest.raises(InvalidPath, match="not valid"):
        await history.list_versions("other.ipynb", token=first.next_token)
    assert (await history.list_versions("never.ipynb")).items == []


async def test_find_a_version_or_the_latest(areas: StoreAreas, store: ObjectStore) -> None:
    old = await store.put("ws/ada/n.ipynb", b"old")
    await store.put("ws/ada/n.ipynb", b"new")
    history = await workspace(areas)
    assert (await history.find("n.ipynb", None))[0].body == b"new"
    assert (await history.find("n.ipynb", old))[0].body == b"old"
    with pytest.raises(VersionNotFound):
        await history.find("n.ipynb", "no-such-version")
    with pytest.raises(InvalidPath, match="printable ASCII"):
        await history.find("n.ipynb", "with space")
    with pytest.raises(ObjectNotFound, match="never archived, or deleted"):
        await history.find("never.ipynb", None)
    published = await areas.history("published")
    with pytest.raises(ObjectNotFound, match="is not published"):
        await published.find("never.ipynb", None)


@pytest.mark.parametrize(
    ("area", "given", "checked"),
    [
        ("workspace", "a/b.txt", "a/b.txt"),
        ("workspace", "a/b.ipynb/", "a/b.ipynb"),
        ("published", "r.ipynb", "r.ipynb"),
    ],
)
def test_area_paths(area: str, given: str, checked: str) -> None:
    assert area_path(area, given) == checked


@pytest.mark.parametrize(
    ("area", "given", "message"),
    [
        ("workspace", "/etc/passwd", "must be relative"),
        ("workspace", "", "A file path is required"),
        ("workspace", "a/../b", "'..' segments"),
        ("published", "notes.txt", "does not name a notebook"),
    ],
)
def test_area_paths_refused(area: str, given: str, message: str) -> None:
    with pytest.raises(InvalidPath, match=message):
        area_path(area, given)


# -- contents models -----------------------------------------------------------------------


def item(path: str) -> VersionItem:
    return VersionItem(id="v1", last_modified=WHEN, size=0, is_latest=True, path=path)


async def test_a_notebook_version_as_jupyter_gives_it() -> None:
    body = notebook_bytes("print(1)\nprint(2)")
    model = await contents_model("f/n.ipynb", body, item("f/old.ipynb"))
    assert model["name"] == "n.ipynb"
    assert (model["type"], model["format"], model["writable"]) == ("notebook", "json", False)
    # Sources as one string, as Jupyter's contents API answers.
    assert model["content"]["cells"][0]["source"] == "print(1)\nprint(2)"
    assert model["size"] == len(body)
    assert model["last_modified"] == model["created"] == WHEN
    assert model["version"]["path"] == "f/old.ipynb"
    lean = await contents_model("f/n.ipynb", body, item("f/n.ipynb"), content=False)
    assert lean["content"] is None
    assert lean["format"] is None


async def test_text_and_binary_versions() -> None:
    text = await contents_model("notes.md", "é\n".encode(), item("notes.md"))
    assert (text["type"], text["format"], text["content"]) == ("file", "text", "é\n")
    assert text["mimetype"] == "text/markdown"
    binary = await contents_model("blob.bin", b"\xff\x00", item("blob.bin"))
    assert binary["format"] == "base64"
    assert base64.b64decode(binary["content"]) == b"\xff\x00"
    assert binary["mimetype"] == "application/octet-stream"


async def test_a_broken_notebook_version_is_invalid_not_a_crash() -> None:
    with pytest.raises(InvalidNotebook, match="not valid JSON"):
        await contents_model("n.ipynb", b"{", item("n.ipynb"))


# -- diffs ---------------------------------------------------------------------------------


def test_diff_summary_counts_cells() -> None:
    import nbdime

    summary = diff_summary(
        list(nbdime.diff_notebooks(notebook("a", "b", "c"), notebook("a", "B", "c", "d", "e")))
    )
    assert (summary["cells_added"], summary["cells_removed"], summary["cells_changed"]) == (2, 0, 1)
    assert summary["text"] == "2 cells added, 1 cell changed"
    assert diff_summary([])["text"] == "no changes"
    metadata = [{"op": "patch", "key": "metadata", "diff": []}]
    assert diff_summary(metadata) == {
        "cells_added": 0,
        "cells_removed": 0,
        "cells_changed": 0,
        "metadata_changed": True,
        "text": "metadata changed",
    }


async def test_diff_two_versions_and_the_current_file(
    areas: StoreAreas, store: ObjectStore
) -> None:
    first = await store.put("ws/ada/n.ipynb", notebook_bytes("x = 1"))
    await store.put("ws/ada/n.ipynb", notebook_bytes("x = 2"))
    history = await workspace(areas)
    asked: list[str] = []

    async def current(path: str) -> DiffSide:
        asked.append(path)
        return DiffSide.current(path, notebook("x = 3", "y = 4"), 10, WHEN)

    result = await diff_versions(history, "n.ipynb", first, LATEST, current)
    assert result.base["id"] == first
    assert result.remote["current"] is False
    assert diff_summary(result.diff)["text"] == "1 cell changed"
    assert asked == []
    to_now = await diff_versions(history, "n.ipynb", LATEST, None, current)  # remote: current
    assert asked == ["n.ipynb"]
    assert to_now.remote == {"id": None, "path": "n.ipynb", "last_modified": WHEN, "current": True}
    document = to_now.to_dict("n.ipynb", content=False)
    assert document["summary"]["text"] == "1 cell added, 1 cell changed"
    assert document["base_notebook"] is None


async def test_diffs_refused(areas: StoreAreas) -> None:
    async def current(path: str) -> Any:
        raise AssertionError("not read")

    with pytest.raises(UnsupportedContent, match="notebooks"):
        diff_refs("workspace", "notes.txt", "v", None)
    with pytest.raises(InvalidRequest, match="'base' is required"):
        diff_refs("workspace", "n.ipynb", "", None)
    assert diff_refs("published", "n.ipynb", "v", None) == ("v", LATEST)
    assert diff_refs("workspace", "n.ipynb", "v", None) == ("v", CURRENT)
    published = await areas.history("published")
    with pytest.raises(InvalidRequest, match="'current' names a workspace file"):
        await diff_versions(published, "n.ipynb", CURRENT, LATEST, current)


async def test_make_notebook_sides_validate(areas: StoreAreas, store: ObjectStore) -> None:
    await store.put("ws/ada/bad.ipynb", json.dumps({"nbformat": 4}).encode())
    history = await workspace(areas)

    async def current(path: str) -> DiffSide:
        return DiffSide.current(path, make_notebook(), 1, None)

    with pytest.raises(InvalidNotebook):
        await diff_versions(history, "bad.ipynb", LATEST, CURRENT, current)
