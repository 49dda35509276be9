"""History routes: list, read, diff and restore versions; renames and deletes; published
history and catalog — on SeaweedFS and the embedded store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from bookstore.server.app import BookstoreApp
from tests.notebooks import make_notebook
from tests.server_fixtures import both_backends

pytestmark = both_backends


@pytest.fixture
def fetch_json(fetch_json: Any) -> Any:
    """The shared ``fetch_json``, taking the query string as part of the URL."""

    async def fetch(url: str, **kwargs: Any) -> tuple[int, Any]:
        url, _, query = url.partition("?")
        if query:
            kwargs["params"] = dict(parse_qsl(query, keep_blank_values=True))
        result: tuple[int, Any] = await fetch_json(url, **kwargs)
        return result

    return fetch


def small_notebook(marker: str, *, cells: int = 2) -> dict[str, Any]:
    """A small notebook whose cells keep their ids from one call to the next."""
    notebook = make_notebook(marker, cells=cells, output_bytes=20)
    for n, cell in enumerate(notebook["cells"]):
        cell["id"] = f"cell-{n}"
    return notebook


async def save(fetch_json: Any, path: str, notebook: dict[str, Any]) -> None:
    parts = path.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        status, reply = await fetch_json(
            "api/contents/" + folder, method="PUT", body={"type": "directory"}
        )
        assert status in (200, 201), reply
    status, reply = await fetch_json(
        "api/contents/" + path,
        method="PUT",
        body={"type": "notebook", "format": "json", "content": notebook},
    )
    assert status in (200, 201), reply


async def archived(app: BookstoreApp) -> None:
    """Wait until bookstore heard every contents event (renames and deletes of folders
    are recorded by a task) and archived everything."""
    assert app.serverapp is not None
    await app.serverapp.contents_manager.event_logger.gather_listeners()
    assert app.archiver is not None
    assert await app.archiver.drain(timeout=30)


async def save_versions(
    fetch_json: Any, app: BookstoreApp, path: str, markers: list[str]
) -> list[str]:
    """Save ``path`` once per marker (each archived before the next); the version ids,
    newest first."""
    for marker in markers:
        await save(fetch_json, path, small_notebook(marker))
        await archived(app)
    status, listing = await fetch_json(f"api/bookstore/workspace/{path}/versions")
    assert status == 200, listing
    return [item["id"] for item in listing["versions"]]


def marker_of(model: dict[str, Any]) -> str:
    return str(model["content"]["cells"][0]["source"]).removeprefix("# Notebook ")


def marker_on_disk(path: Path) -> str:
    source = json.loads(path.read_text())["cells"][0]["source"]
    return "".join(source).removeprefix("# Notebook ")


async def listing(fetch_json: Any, path: str, **query: Any) -> list[dict[str, Any]]:
    """Every version of a workspace path, following next_token."""
    items: list[dict[str, Any]] = []
    token = None
    while True:
        params = {key: str(value) for key, value in query.items()}
        if token:
            params["page_token"] = token
        status, page = await fetch_json(f"api/bookstore/workspace/{path}/versions", params=params)
        assert status == 200, page
        items.extend(page["versions"])
        token = page["next_token"]
        if token is None:
            return items


class TestWorkspaceVersions:
    async def test_lists_every_save_newest_first_with_pages(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        ids = await save_versions(fetch_json, bookstore_app, "r/a.ipynb", ["1", "2", "3"])
        assert len(ids) == 3
        status, page = await fetch_json("api/bookstore/workspace/r/a.ipynb/versions?limit=2")
        assert status == 200
        assert page["path"] == "r/a.ipynb"
        assert [item["id"] for item in page["versions"]] == ids[:2]
        assert page["next_token"]
        first, second = page["versions"]
        assert first["is_latest"]
        assert not second["is_latest"]
        assert first["path"] == "r/a.ipynb"
        assert first["size"] > 0
        assert first["last_modified"].endswith("Z")
        assert [item["id"] for item in await listing(fetch_json, "r/a.ipynb", limit=1)] == ids

    async def test_unknown_path_lists_nothing(self, fetch_json: Any) -> None:
        status, page = await fetch_json("api/bookstore/workspace/never/saved.ipynb/versions")
        assert status == 200
        assert page == {"path": "never/saved.ipynb", "versions": [], "next_token": None}

    @pytest.mark.parametrize(
        ("query", "fragment"),
        [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=x", "limit"),
            ("page_token=%", "page token"),
        ],
    )
    async def test_bad_page_requests_are_400(
        self, fetch_json: Any, query: str, fragment: str
    ) -> None:
        status, reply = await fetch_json(f"api/bookstore/workspace/a.ipynb/versions?{query}")
        assert status == 400
        assert fragment in reply["message"]

    async def test_bad_paths_are_400(self, fetch_json: Any) -> None:
        status, reply = await fetch_json("api/bookstore/workspace/a/../../b.ipynb/versions")
        assert status in (400, 404)  # tornado may normalise the URL itself
        status, reply = await fetch_json("api/bookstore/workspace/a\\b.ipynb/versions")
        assert status == 400
        assert "backslash" in reply["message"]

    async def test_reads_a_version(self, fetch_json: Any, bookstore_app: BookstoreApp) -> None:
        ids = await save_versions(fetch_json, bookstore_app, "b.ipynb", ["old", "new"])
        status, model = await fetch_json(f"api/bookstore/workspace/b.ipynb/versions/{ids[1]}")
        assert status == 200, model
        assert marker_of(model) == "old"
        assert model["type"] == "notebook"
        assert model["format"] == "json"
        assert model["writable"] is False
        assert model["path"] == "b.ipynb"
        assert model["version"]["id"] == ids[1]
        assert model["version"]["is_latest"] is False
        status, bare = await fetch_json(
            f"api/bookstore/workspace/b.ipynb/versions/{ids[0]}?content=0"
        )
        assert status == 200
        assert bare["content"] is None
        assert bare["format"] is None

    async def test_unknown_and_malformed_ids(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        await save_versions(fetch_json, bookstore_app, "c.ipynb", ["x"])
        status, reply = await fetch_json("api/bookstore/workspace/c.ipynb/versions/nope123")
        assert status == 404
        assert "nope123" in reply["message"]
        status, reply = await fetch_json("api/bookstore/workspace/c.ipynb/versions/a b")
        assert status == 400
        assert "version id" in reply["message"]

    async def test_reads_a_text_file_version(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
    ) -> None:
        """With ``file`` archived too, other files have a history."""
        assert bookstore_app.archiver is not None
        bookstore_app.archiver.file_types.add("file")
        status, _ = await fetch_json(
            "api/contents/notes.txt",
            method="PUT",
            body={"type": "file", "format": "text", "content": "héllo\n"},
        )
        assert status == 201
        await archived(bookstore_app)
        versions = await listing(fetch_json, "notes.txt")
        status, model = await fetch_json(
            f"api/bookstore/workspace/notes.txt/versions/{versions[0]['id']}"
        )
        assert status == 200
        assert model["type"] == "file"
        assert model["format"] == "text"
        assert model["content"] == "héllo\n"
        assert model["mimetype"] == "text/plain"


class TestDiff:
    async def test_diff_against_the_current_file(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        ids = await save_versions(fetch_json, bookstore_app, "d.ipynb", ["one"])
        changed = small_notebook("two", cells=3)
        await save(fetch_json, "d.ipynb", changed)
        status, reply = await fetch_json(f"api/bookstore/workspace/d.ipynb/diff?base={ids[0]}")
        assert status == 200, reply
        assert reply["base"]["id"] == ids[0]
        assert reply["remote"] == {
            "id": None,
            "path": "d.ipynb",
            "last_modified": reply["remote"]["last_modified"],
            "current": True,
        }
        summary = reply["summary"]
        assert summary["cells_added"] + summary["cells_changed"] >= 2
        assert "cell" in summary["text"]
        assert marker_of({"content": reply["base_notebook"]}) == "one"
        cells = [entry for entry in reply["diff"] if entry["key"] == "cells"]
        assert [entry["op"] for entry in cells] == ["patch"]

    async def test_diff_between_versions_and_identical(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        ids = await save_versions(fetch_json, bookstore_app, "e.ipynb", ["one", "two"])
        status, reply = await fetch_json(
            f"api/bookstore/workspace/e.ipynb/diff?base={ids[1]}&remote={ids[0]}&content=0"
        )
        assert status == 200, reply
        assert reply["summary"]["cells_changed"] == 1
        assert reply["summary"]["text"] == "1 cell changed"
        assert reply["base_notebook"] is None
        status, same = await fetch_json("api/bookstore/workspace/e.ipynb/diff?base=latest")
        assert status == 200
        assert same["diff"] == []
        assert same["summary"]["text"] == "no changes"

    async def test_diff_errors(self, fetch_json: Any, bookstore_app: BookstoreApp) -> None:
        await save_versions(fetch_json, bookstore_app, "f.ipynb", ["one"])
        status, reply = await fetch_json("api/bookstore/workspace/f.ipynb/diff")
        assert status == 400
        assert "base" in reply["message"]
        status, reply = await fetch_json("api/bookstore/workspace/f.txt/diff?base=latest")
        assert status == 415
        status, reply = await fetch_json("api/bookstore/workspace/f.ipynb/diff?base=zzz")
        assert status == 404
        status, reply = await fetch_json("api/bookstore/workspace/gone.ipynb/diff?base=latest")
        assert status == 404


class TestRestore:
    async def test_restore_makes_a_new_version(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
    ) -> None:
        ids = await save_versions(fetch_json, bookstore_app, "g/r.ipynb", ["1", "2", "3"])
        status, reply = await fetch_json(
            f"api/bookstore/workspace/g/r.ipynb/versions/{ids[2]}", method="POST", body=b""
        )
        assert status == 200, reply
        assert reply["restored_from"]["id"] == ids[2]
        assert reply["archive"] == "archived"
        assert reply["version_id"] not in ids
        assert reply["model"]["path"] == "g/r.ipynb"
        assert marker_on_disk(jp_root_dir / "g" / "r.ipynb") == "1"
        versions = await listing(fetch_json, "g/r.ipynb")
        assert [item["id"] for item in versions] == [reply["version_id"], *ids]

    async def test_restore_unknown_version_changes_nothing(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
    ) -> None:
        await save_versions(fetch_json, bookstore_app, "h.ipynb", ["1"])
        before = (jp_root_dir / "h.ipynb").read_bytes()
        status, _ = await fetch_json(
            "api/bookstore/workspace/h.ipynb/versions/unknown1", method="POST", body=b""
        )
        assert status == 404
        assert (jp_root_dir / "h.ipynb").read_bytes() == before


class TestRenamesAndDeletes:
    async def test_history_follows_a_rename(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
    ) -> None:
        old_ids = await save_versions(fetch_json, bookstore_app, "draft.ipynb", ["1", "2"])
        status, _ = await fetch_json(
            "api/contents/draft.ipynb", method="PATCH", body={"path": "final.ipynb"}
        )
        assert status == 200
        await archived(bookstore_app)
        await save(fetch_json, "final.ipynb", small_notebook("3"))
        await archived(bookstore_app)

        versions = await listing(fetch_json, "final.ipynb")
        assert [item["path"] for item in versions] == ["final.ipynb", "final.ipynb", "draft.ipynb"]
        assert versions[2]["id"] == old_ids[1]
        markers = []
        for item in versions:
            status, model = await fetch_json(
                f"api/bookstore/workspace/final.ipynb/versions/{item['id']}"
            )
            assert status == 200, model
            markers.append(marker_of(model))
        assert markers == ["3", "2", "1"]
        # Pages of one follow the rename too.
        assert [item["id"] for item in await listing(fetch_json, "final.ipynb", limit=1)] == [
            item["id"] for item in versions
        ]
        # The old name keeps its versions, none of them latest.
        old = await listing(fetch_json, "draft.ipynb")
        assert [item["id"] for item in old] == old_ids
        assert not any(item["is_latest"] for item in old)
        # A version from before the rename restores under the new name.
        status, reply = await fetch_json(
            f"api/bookstore/workspace/final.ipynb/versions/{old_ids[1]}", method="POST", body=b""
        )
        assert status == 200, reply
        assert marker_on_disk(jp_root_dir / "final.ipynb") == "1"

    async def test_two_renames_and_a_folder_rename(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        await save_versions(fetch_json, bookstore_app, "p/one.ipynb", ["a", "b"])
        for old, new in [("p/one.ipynb", "p/two.ipynb"), ("p", "q")]:
            status, reply = await fetch_json(
                f"api/contents/{old}", method="PATCH", body={"path": new}
            )
            assert status == 200, reply
            await archived(bookstore_app)
        await save(fetch_json, "q/two.ipynb", small_notebook("c"))
        await archived(bookstore_app)
        versions = await listing(fetch_json, "q/two.ipynb")
        # The copies made by the renames stand for the versions they copied: no doubles.
        assert [item["path"] for item in versions] == ["q/two.ipynb", "q/two.ipynb", "p/one.ipynb"]
        status, model = await fetch_json(
            f"api/bookstore/workspace/q/two.ipynb/versions/{versions[-1]['id']}"
        )
        assert status == 200
        assert marker_of(model) == "a"

    async def test_a_folder_renamed_right_after_a_save(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        """The save may still wait for its upload when the folder is renamed."""
        await save(fetch_json, "fast/n.ipynb", small_notebook("1"))
        status, _ = await fetch_json("api/contents/fast", method="PATCH", body={"path": "slow"})
        assert status == 200
        await archived(bookstore_app)
        await save(fetch_json, "slow/n.ipynb", small_notebook("2"))
        await archived(bookstore_app)
        versions = await listing(fetch_json, "slow/n.ipynb")
        assert [item["path"] for item in versions] == ["slow/n.ipynb", "slow/n.ipynb"]
        status, model = await fetch_json(
            f"api/bookstore/workspace/slow/n.ipynb/versions/{versions[1]['id']}"
        )
        assert marker_of(model) == "1"

    async def test_a_new_file_under_an_old_name_starts_over(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        await save_versions(fetch_json, bookstore_app, "x.ipynb", ["1"])
        status, _ = await fetch_json(
            "api/contents/x.ipynb", method="PATCH", body={"path": "y.ipynb"}
        )
        assert status == 200
        await archived(bookstore_app)
        await save(fetch_json, "x.ipynb", small_notebook("new x"))
        await archived(bookstore_app)
        y = await listing(fetch_json, "y.ipynb")
        assert [item["path"] for item in y] == ["y.ipynb"]
        x = await listing(fetch_json, "x.ipynb")
        assert [item["is_latest"] for item in x] == [True, False]

    async def test_a_deleted_file_keeps_its_history(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
    ) -> None:
        ids = await save_versions(fetch_json, bookstore_app, "del/me.ipynb", ["1", "2"])
        status, _ = await fetch_json("api/contents/del/me.ipynb", method="DELETE")
        assert status == 204
        await archived(bookstore_app)
        versions = await listing(fetch_json, "del/me.ipynb")
        assert [item["id"] for item in versions] == ids
        assert not any(item["is_latest"] for item in versions)
        status, reply = await fetch_json(
            f"api/bookstore/workspace/del/me.ipynb/versions/{ids[1]}", method="POST", body=b""
        )
        assert status == 200, reply
        assert marker_on_disk(jp_root_dir / "del" / "me.ipynb") == "1"
        versions = await listing(fetch_json, "del/me.ipynb")
        assert len(versions) == 3
        assert versions[0]["is_latest"]


async def publish(fetch_json: Any, path: str, marker: str) -> str:
    status, reply = await fetch_json(
        f"api/bookstore/publish/{path}",
        method="PUT",
        body={"type": "notebook", "content": small_notebook(marker)},
    )
    assert status == 200, reply
    return str(reply["versionID"])


class TestPublished:
    async def test_published_history_read_and_diff(self, fetch_json: Any) -> None:
        first = await publish(fetch_json, "team/report.ipynb", "v1")
        second = await publish(fetch_json, "team/report.ipynb", "v2")
        status, page = await fetch_json("api/bookstore/published/team/report.ipynb/versions")
        assert status == 200, page
        assert [item["id"] for item in page["versions"]] == [second, first]
        status, model = await fetch_json(
            f"api/bookstore/published/team/report.ipynb/versions/{first}"
        )
        assert status == 200
        assert marker_of(model) == "v1"
        status, latest = await fetch_json("api/bookstore/published/team/report.ipynb")
        assert status == 200
        assert marker_of(latest) == "v2"
        assert latest["version"]["id"] == second
        status, diff = await fetch_json(
            f"api/bookstore/published/team/report.ipynb/diff?base={first}"
        )
        assert status == 200, diff
        assert diff["remote"]["id"] == second
        assert diff["summary"]["cells_changed"] == 1
        status, _ = await fetch_json(
            f"api/bookstore/published/team/report.ipynb/diff?base={first}&remote=current"
        )
        assert status == 400

    async def test_unpublished_and_bad_paths(self, fetch_json: Any) -> None:
        status, reply = await fetch_json("api/bookstore/published/nothing.ipynb")
        assert status == 404
        status, reply = await fetch_json("api/bookstore/published/notes.txt/versions")
        assert status == 400
        assert ".ipynb" in reply["message"]

    async def test_catalog_lists_filters_and_pages(self, fetch_json: Any) -> None:
        for path in ["a/one.ipynb", "a/two.ipynb", "b/Three.ipynb"]:
            await publish(fetch_json, path, path)
        version = await publish(fetch_json, "a/one.ipynb", "again")
        status, page = await fetch_json("api/bookstore/published")
        assert status == 200, page
        assert [item["path"] for item in page["items"]] == [
            "a/one.ipynb",
            "a/two.ipynb",
            "b/Three.ipynb",
        ]
        one = page["items"][0]
        assert one["version_id"] == version
        assert one["size"] > 0
        assert "bookstore/clone?" in one["clone_url"]
        assert page["next_token"] is None
        status, page = await fetch_json("api/bookstore/published?prefix=a/")
        assert [item["path"] for item in page["items"]] == ["a/one.ipynb", "a/two.ipynb"]
        status, page = await fetch_json("api/bookstore/published?q=three")
        assert [item["path"] for item in page["items"]] == ["b/Three.ipynb"]
        paths = []
        token = ""
        while True:
            status, page = await fetch_json(f"api/bookstore/published?limit=1{token}")
            assert status == 200, page
            assert len(page["items"]) == 1
            paths.append(page["items"][0]["path"])
            if page["next_token"] is None:
                break
            token = "&page_token=" + page["next_token"]
        assert paths == ["a/one.ipynb", "a/two.ipynb", "b/Three.ipynb"]
        status, page = await fetch_json("api/bookstore/published?limit=1&q=t&page_token=x")
        assert status == 400


def rich_notebook(marker: str) -> dict[str, Any]:
    """A notebook with what Jupyter splits into lines on save (multi-line sources, stream
    text, text mimebundles) and non-ASCII text, so its bytes differ from a naive dump."""
    notebook = small_notebook(marker)
    notebook["cells"].append(
        {
            "cell_type": "code",
            "id": "cell-rich",
            "execution_count": 7,
            "metadata": {"tags": ["r\u00e9sum\u00e9"]},
            "source": "for n in range(2):\n    print(n)\n",
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": "0\n1\n"},
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "text/plain": "<table>\n2 rows",
                        "text/html": "<b>\u00e9t\u00e9</b>\n<i>x</i>\n",
                        "application/json": {"a": [1, 2]},
                    },
                },
            ],
        }
    )
    notebook["cells"].append(
        {
            "cell_type": "markdown",
            "id": "cell-md",
            "metadata": {},
            "source": f"## {marker}\n\n* one\n* two",
        }
    )
    return notebook


async def workspace_versions(fetch_json: Any, path: str) -> list[dict[str, Any]]:
    status, page = await fetch_json(f"api/bookstore/workspace/{path}/versions")
    assert status == 200, page
    return list(page["versions"])


async def published_etags(fetch_json: Any, path: str) -> tuple[str, str]:
    """The etag of ``path`` in GET /api/bookstore/publish/{path} and in the catalog."""
    status, info = await fetch_json(f"api/bookstore/publish/{path}")
    assert status == 200, info
    status, catalog = await fetch_json(f"api/bookstore/published?prefix={path}")
    assert status == 200, catalog
    (item,) = [item for item in catalog["items"] if item["path"] == path]
    assert item["version_id"] == info["versionID"]
    return info["etag"], item["etag"]


class TestEtags:
    """The UI marks the workspace version that is published by equal ``etag``."""

    async def test_published_content_has_the_etag_of_its_saved_version(
        self,
        fetch_json: Any,
        bookstore_app: BookstoreApp,
        jp_root_dir: Path,
    ) -> None:
        path = "team/etag.ipynb"
        await save(fetch_json, path, rich_notebook("one"))
        await archived(bookstore_app)
        on_disk = (jp_root_dir / "team" / "etag.ipynb").read_bytes()
        (saved,) = await workspace_versions(fetch_json, path)
        assert saved["etag"] == hashlib.md5(on_disk, usedforsecurity=False).hexdigest()

        # Publish what the contents API answers, as the UI and the client do; it marks
        # code cells trusted, which is never stored.
        status, model = await fetch_json(f"api/contents/{path}")
        assert status == 200, model
        assert any("trusted" in cell["metadata"] for cell in model["content"]["cells"])
        status, published = await fetch_json(
            f"api/bookstore/publish/{path}",
            method="PUT",
            body={"type": "notebook", "content": model["content"]},
        )
        assert status == 200, published
        assert published["etag"] == saved["etag"]
        assert published["size"] == saved["size"] == len(on_disk)
        store = await bookstore_app.ready_store()
        assert (await store.get(published["key"])).body == on_disk  # byte for byte
        assert await published_etags(fetch_json, path) == (saved["etag"], saved["etag"])
        status, page = await fetch_json(f"api/bookstore/published/{path}/versions")
        assert status == 200, page
        assert [item["etag"] for item in page["versions"]] == [saved["etag"]]

        # Another save: a new version with another etag; the published one stays put.
        await save(fetch_json, path, rich_notebook("two"))
        await archived(bookstore_app)
        newer, older = await workspace_versions(fetch_json, path)
        assert older == {**saved, "is_latest": False}
        assert newer["etag"] not in ("", saved["etag"])
        on_disk = (jp_root_dir / "team" / "etag.ipynb").read_bytes()
        assert newer["etag"] == hashlib.md5(on_disk, usedforsecurity=False).hexdigest()
        assert await published_etags(fetch_json, path) == (saved["etag"], saved["etag"])
        status, model = await fetch_json(f"api/bookstore/workspace/{path}/versions/{newer['id']}")
        assert status == 200, model
        assert model["version"] == newer

        # Publish the newer version, then the older one again, server-side by version id.
        for version in (newer, older):
            status, reply = await fetch_json(
                f"api/bookstore/publish/{path}",
                method="PUT",
                body={"version_id": version["id"], "source_path": path},
            )
            assert status == 200, reply
            assert reply["etag"] == version["etag"]
            assert await published_etags(fetch_json, path) == (version["etag"], version["etag"])
        status, page = await fetch_json(f"api/bookstore/published/{path}/versions")
        assert [item["etag"] for item in page["versions"]] == [
            older["etag"],
            newer["etag"],
            older["etag"],
        ]

    async def test_a_restored_version_keeps_its_etag(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        await save_versions(fetch_json, bookstore_app, "back.ipynb", ["1", "2"])
        newer, older = await workspace_versions(fetch_json, "back.ipynb")
        assert newer["etag"] != older["etag"]
        status, reply = await fetch_json(
            f"api/bookstore/workspace/back.ipynb/versions/{older['id']}", method="POST", body=b""
        )
        assert status == 200, reply
        assert reply["restored_from"] == older
        restored = (await workspace_versions(fetch_json, "back.ipynb"))[0]
        assert restored["id"] == reply["version_id"]
        assert restored["etag"] == older["etag"]  # the same bytes again


class TestAreasOff:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "workspace_prefix": "", "published_prefix": ""}

    async def test_history_without_prefixes_is_403(self, fetch_json: Any) -> None:
        for url in [
            "api/bookstore/workspace/a.ipynb/versions",
            "api/bookstore/published",
            "api/bookstore/published/a.ipynb/versions",
        ]:
            status, reply = await fetch_json(url)
            assert status == 403, url
            assert "prefix" in reply["message"]

    async def test_malformed_input_is_400_before_the_area_is_403(self, fetch_json: Any) -> None:
        """A request that is wrong in itself says so, whatever the configuration."""
        for url in [
            "api/bookstore/published?prefix=/abs",
            "api/bookstore/published?prefix=a//b",
            "api/bookstore/published?limit=0",
            "api/bookstore/workspace/a.ipynb/versions?limit=ten",
            "api/bookstore/workspace/a.ipynb/diff",
        ]:
            status, _ = await fetch_json(url)
            assert status == 400, url
