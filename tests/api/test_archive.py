"""Every save through the contents API becomes a version: in order, none lost, none doubled."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bookstore.server.app import BookstoreApp
from bookstore.stores.base import ObjectStore
from tests.notebooks import first_cell, make_notebook
from tests.paging import all_versions
from tests.server_fixtures import both_backends

pytestmark = both_backends


@pytest.fixture
def workspace_prefix(key_root: str) -> str:
    return f"{key_root}/workspace"


async def save(jp_fetch: Any, path: str, notebook: dict[str, Any]) -> Any:
    return await jp_fetch(
        "api",
        "contents",
        path,
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": notebook}),
    )


async def markers(store: ObjectStore, key: str) -> list[str]:
    """The first-cell marker of every version of ``key``, oldest first."""
    listed = await all_versions(store, key)
    bodies = await asyncio.gather(*(store.get(key, v.version_id) for v in reversed(listed)))
    return [first_cell(obj.body) for obj in bodies]


async def test_two_hundred_quick_saves_make_two_hundred_versions(
    jp_fetch: Any, bookstore_app: BookstoreApp, jp_root_dir: Path, workspace_prefix: str
) -> None:
    notebook = make_notebook(cells=40, output_bytes=5000)
    assert len(json.dumps(notebook)) > 190_000
    for n in range(200):
        notebook["cells"][0]["source"] = f"# save {n}"
        response = await save(jp_fetch, "nb/quick.ipynb", notebook)
        assert response.code == (201 if n == 0 else 200)
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=120)

    store = await bookstore_app.ready_store()
    key = f"{workspace_prefix}/nb/quick.ipynb"
    assert await markers(store, key) == [f"# save {n}" for n in range(200)]
    newest = await store.get(key)
    assert newest.body == (jp_root_dir / "nb" / "quick.ipynb").read_bytes()
    assert bookstore_app.archive_status()["state"] == "ok"


@pytest.fixture
def jp_root_dir(jp_root_dir: Path) -> Path:
    (jp_root_dir / "nb").mkdir()
    return jp_root_dir


async def test_concurrent_saves_to_twenty_notebooks(
    jp_fetch: Any, bookstore_app: BookstoreApp, workspace_prefix: str
) -> None:
    async def save_five_times(name: str) -> None:
        notebook = make_notebook(cells=5, output_bytes=2000)
        for n in range(5):
            notebook["cells"][0]["source"] = f"{name} {n}"
            await save(jp_fetch, f"nb/{name}.ipynb", notebook)

    names = [f"book{i:02d}" for i in range(20)]
    await asyncio.gather(*(save_five_times(name) for name in names))
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=120)

    store = await bookstore_app.ready_store()
    for name in names:
        key = f"{workspace_prefix}/nb/{name}.ipynb"
        assert await markers(store, key) == [f"{name} {n}" for n in range(5)]


async def test_identical_saves_leave_one_version(
    jp_fetch: Any, bookstore_app: BookstoreApp, workspace_prefix: str
) -> None:
    notebook = make_notebook("same", cells=2)
    for _ in range(4):
        await save(jp_fetch, "nb/same.ipynb", notebook)
    notebook["cells"][0]["source"] = "changed"
    await save(jp_fetch, "nb/same.ipynb", notebook)
    await save(jp_fetch, "nb/same.ipynb", notebook)
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=60)

    store = await bookstore_app.ready_store()
    assert await markers(store, f"{workspace_prefix}/nb/same.ipynb") == [
        "# Notebook same",
        "changed",
    ]
    assert bookstore_app.archive_status()["skipped_identical"] == 4


async def test_failed_saves_leave_no_version(
    jp_fetch: Any, bookstore_app: BookstoreApp, workspace_prefix: str
) -> None:
    store = await bookstore_app.ready_store()
    # A folder that does not exist: the save fails, nothing is written.
    missing = await jp_fetch(
        "api",
        "contents",
        "no-such-folder/a.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": make_notebook()}),
        raise_error=False,
    )
    assert missing.code >= 400
    # Content that is not a notebook at all.
    broken = await jp_fetch(
        "api",
        "contents",
        "nb/broken.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": "not a notebook"}),
        raise_error=False,
    )
    assert broken.code >= 400
    # A notebook that fails nbformat validation: Jupyter writes it but flags it.
    invalid = make_notebook()
    invalid["cells"][0]["cell_type"] = "no-such-cell-type"
    flagged = await save(jp_fetch, "nb/invalid.ipynb", invalid)
    assert json.loads(flagged.body)["message"]
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=30)

    for name in ("no-such-folder/a.ipynb", "nb/broken.ipynb", "nb/invalid.ipynb"):
        assert await all_versions(store, f"{workspace_prefix}/{name}") == []


async def test_only_configured_types_are_archived(
    jp_fetch: Any, bookstore_app: BookstoreApp, workspace_prefix: str
) -> None:
    await jp_fetch(
        "api",
        "contents",
        "nb/notes.txt",
        method="PUT",
        body=json.dumps({"type": "file", "format": "text", "content": "hello"}),
    )
    await save(jp_fetch, "nb/real.ipynb", make_notebook("real", cells=1))
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=30)
    store = await bookstore_app.ready_store()
    assert await all_versions(store, f"{workspace_prefix}/nb/notes.txt") == []
    assert len(await all_versions(store, f"{workspace_prefix}/nb/real.ipynb")) == 1


async def test_rename_and_delete_keep_every_version(
    jp_fetch: Any, bookstore_app: BookstoreApp, workspace_prefix: str
) -> None:
    await save(jp_fetch, "nb/old.ipynb", make_notebook("before", cells=1))
    await jp_fetch(
        "api", "contents", "nb/old.ipynb", method="PATCH", body=json.dumps({"path": "nb/new.ipynb"})
    )
    await save(jp_fetch, "nb/new.ipynb", make_notebook("after", cells=1))
    await jp_fetch("api", "contents", "nb/new.ipynb", method="DELETE")
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=30)

    store = await bookstore_app.ready_store()
    old_key, new_key = f"{workspace_prefix}/nb/old.ipynb", f"{workspace_prefix}/nb/new.ipynb"
    assert await markers(store, old_key) == ["# Notebook before"]
    # The rename copied the old name's newest version over; the delete hid the key.
    assert await markers(store, new_key) == ["# Notebook before", "# Notebook after"]
    for key in (old_key, new_key):
        assert not any(version.is_latest for version in await all_versions(store, key))


async def test_archive_status_route(jp_fetch: Any, bookstore_app: BookstoreApp) -> None:
    await save(jp_fetch, "nb/s.ipynb", make_notebook("s", cells=1))
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=30)
    response = await jp_fetch("api", "bookstore", "archive")
    status = json.loads(response.body)
    assert status["enabled"] is True
    assert status["state"] == "ok"
    assert status["pending"] == 0
    assert status["failed"] == 0
    assert status["archived"] == 1
    assert status["last_archived_time"]
    overview = json.loads((await jp_fetch("api", "bookstore")).body)
    assert overview["archive"]["archived"] == 1
