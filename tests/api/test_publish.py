"""PUT/GET/DELETE /api/bookstore/publish/{path} on SeaweedFS and the embedded store."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import pytest

from tests.notebooks import first_cell, make_notebook
from tests.paging import all_versions
from tests.server_fixtures import both_backends

pytestmark = both_backends


def publish_body(notebook: Any, kind: str = "notebook") -> dict[str, Any]:
    return {"type": kind, "content": notebook}


async def published_keys(bookstore_app: Any) -> list[str]:
    store = await bookstore_app.ready_store()
    prefix = bookstore_app.bookstore_settings.published_prefix
    page = await store.list_keys(prefix + "/")
    return [info.key for info in page.items]


async def test_publish_stores_a_new_version_each_time(
    fetch_json: Any, bookstore_app: Any, key_root: str
) -> None:
    store = await bookstore_app.ready_store()
    status, first = await fetch_json(
        "api/bookstore/publish/team/report.ipynb",
        method="PUT",
        body=publish_body(make_notebook("one")),
    )
    assert status == 200, first
    key = f"{key_root}/published/team/report.ipynb"
    assert first["s3_path"] == f"s3://{store.bucket}/{key}"
    assert first["key"] == key
    assert first["path"] == "team/report.ipynb"
    assert first["versionID"]
    assert first["clone_url"].endswith(
        f"bookstore/clone?s3_bucket={store.bucket}&s3_key={key.replace('/', '%2F')}"
        f"&s3_version_id={first['versionID']}"
    )

    status, second = await fetch_json(
        "api/bookstore/publish/team/report.ipynb",
        method="PUT",
        body=publish_body(make_notebook("one")),
    )
    assert status == 200
    assert second["versionID"] != first["versionID"]

    versions = await all_versions(store, key)
    assert [v.version_id for v in versions] == [second["versionID"], first["versionID"]]
    stored = await store.get(key, first["versionID"])
    assert first_cell(stored.body) == "# Notebook one"
    assert stored.info.content_type == "application/x-ipynb+json"
    assert stored.body.endswith(b"\n")
    # The reply's etag (computed, no HEAD) is the one the store reports: the body's MD5.
    assert first["etag"] == stored.info.etag
    assert first["etag"] == hashlib.md5(stored.body, usedforsecurity=False).hexdigest()


async def test_published_notebook_is_never_trusted(fetch_json: Any, bookstore_app: Any) -> None:
    notebook = make_notebook("x")
    notebook["metadata"]["signature"] = "sha256:forged"
    for cell in notebook["cells"]:
        cell["metadata"]["trusted"] = True
    status, reply = await fetch_json(
        "api/bookstore/publish/t.ipynb", method="PUT", body=publish_body(notebook)
    )
    assert status == 200, reply
    store = await bookstore_app.ready_store()
    stored = json.loads((await store.get(reply["key"])).body)
    assert "signature" not in stored["metadata"]
    assert all("trusted" not in cell["metadata"] for cell in stored["cells"])


async def test_post_still_publishes_for_old_clients(fetch_json: Any) -> None:
    status, reply = await fetch_json(
        "api/bookstore/publish/old.ipynb", method="POST", body=publish_body(make_notebook("o"))
    )
    assert status == 200
    assert reply["versionID"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("../escape.ipynb", "'..'"),
        ("a/../../escape.ipynb", "'..'"),
        ("/etc/abs.ipynb", "absolute"),
        ("a//b.ipynb", "empty segment"),
        ("./a.ipynb", "'.'"),
        ("notes.txt", "does not name a notebook"),
        ("folder/", "does not name a notebook"),
        ("", "required"),
        ("a\\b.ipynb", "backslash"),
    ],
)
async def test_bad_publish_paths_are_refused(
    fetch_json: Any, bookstore_app: Any, path: str, words: str
) -> None:
    status, reply = await fetch_json(
        f"api/bookstore/publish/{path}", method="PUT", body=publish_body(make_notebook("x"))
    )
    assert status == 400, reply
    assert words in reply["message"]
    assert await published_keys(bookstore_app) == []


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "no body"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"content": {}}', 400, '"type": "notebook"'),
        (b'{"type": "notebook"}', 400, '"type": "notebook"'),
        (b'{"type": "file", "content": "hello"}', 415, "Only notebooks"),
        (b'{"type": "notebook", "content": []}', 422, "JSON object"),
        (b'{"type": "notebook", "content": {"nbformat": 3}}', 422, "nbformat 4"),
        (
            b'{"type": "notebook", "content": {"nbformat": 4, "nbformat_minor": 5}}',
            422,
            "Not a valid notebook",
        ),
        (b'{"version_id": 12}', 400, "version_id"),
        (b'{"version_id": ""}', 400, "version_id"),
        (b'{"version_id": "v", "source_path": "../x.ipynb"}', 400, "'..'"),
        (b'\xff\xfe{"type"', 400, "not valid JSON"),
    ],
)
async def test_malformed_bodies_are_refused(
    fetch_json: Any, bookstore_app: Any, body: bytes, status: int, words: str
) -> None:
    got, reply = await fetch_json(
        "api/bookstore/publish/x.ipynb", method="PUT", body=body, allow_nonstandard_methods=True
    )
    assert got == status, reply
    assert words in reply["message"]
    assert "Traceback" not in json.dumps(reply)
    assert await published_keys(bookstore_app) == []


async def test_invalid_cell_gives_nbformats_reason(fetch_json: Any) -> None:
    notebook = make_notebook("x")
    notebook["cells"][0]["cell_type"] = "spreadsheet"
    status, reply = await fetch_json(
        "api/bookstore/publish/x.ipynb", method="PUT", body=publish_body(notebook)
    )
    assert status == 422
    assert reply["message"].startswith("Not a valid notebook: ")


async def test_publish_an_archived_version_server_side(
    jp_fetch: Any, fetch_json: Any, bookstore_app: Any, key_root: str
) -> None:
    for text in ("draft", "final"):
        await jp_fetch(
            "api/contents/work.ipynb",
            method="PUT",
            body=json.dumps({"type": "notebook", "content": make_notebook(text)}),
        )
    await bookstore_app.archiver.drain()
    store = await bookstore_app.ready_store()
    versions = await all_versions(store, f"{key_root}/workspace/work.ipynb")
    assert len(versions) == 2
    draft = versions[-1]

    status, reply = await fetch_json(
        "api/bookstore/publish/shared/work.ipynb",
        method="PUT",
        body={"version_id": draft.version_id, "source_path": "work.ipynb"},
    )
    assert status == 200, reply
    assert reply["source"] == {"path": "work.ipynb", "version_id": draft.version_id}
    published = await store.get(reply["key"])
    assert first_cell(published.body) == "# Notebook draft"
    assert reply["etag"] == draft.etag == published.info.etag != versions[0].etag

    # The source path defaults to the published path.
    status, reply = await fetch_json(
        "api/bookstore/publish/work.ipynb", method="PUT", body={"version_id": draft.version_id}
    )
    assert status == 200, reply


async def test_publishing_an_unknown_version_is_404(
    jp_fetch: Any, fetch_json: Any, bookstore_app: Any
) -> None:
    await jp_fetch(
        "api/contents/work.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "content": make_notebook("v")}),
    )
    await bookstore_app.archiver.drain()
    status, reply = await fetch_json(
        "api/bookstore/publish/work.ipynb", method="PUT", body={"version_id": "no-such-version"}
    )
    assert status == 404, reply
    status, reply = await fetch_json(
        "api/bookstore/publish/never.ipynb", method="PUT", body={"version_id": "whatever"}
    )
    assert status == 404, reply
    assert await published_keys(bookstore_app) == []


async def test_describe_and_unpublish_keep_history(
    fetch_json: Any, bookstore_app: Any, key_root: str
) -> None:
    status, reply = await fetch_json("api/bookstore/publish/gone.ipynb")
    assert status == 404
    assert "not published" in reply["message"]

    _, published = await fetch_json(
        "api/bookstore/publish/gone.ipynb", method="PUT", body=publish_body(make_notebook("g"))
    )
    status, info = await fetch_json("api/bookstore/publish/gone.ipynb")
    assert status == 200
    assert info["versionID"] == published["versionID"]
    assert info["etag"] == published["etag"] != ""
    assert info["size"] > 0
    assert info["last_modified"]

    status, _ = await fetch_json("api/bookstore/publish/gone.ipynb", method="DELETE")
    assert status == 204
    status, _ = await fetch_json("api/bookstore/publish/gone.ipynb")
    assert status == 404
    status, _ = await fetch_json("api/bookstore/publish/gone.ipynb", method="DELETE")
    assert status == 404
    assert await published_keys(bookstore_app) == []

    store = await bookstore_app.ready_store()
    versions = await all_versions(store, f"{key_root}/published/gone.ipynb")
    assert [v.version_id for v in versions] == [published["versionID"]]


async def test_concurrent_publishes_each_get_a_version(
    fetch_json: Any, bookstore_app: Any, key_root: str
) -> None:
    replies = await asyncio.gather(
        *(
            fetch_json(
                "api/bookstore/publish/busy.ipynb",
                method="PUT",
                body=publish_body(make_notebook(f"n{i}")),
            )
            for i in range(8)
        )
    )
    assert all(status == 200 for status, _ in replies)
    store = await bookstore_app.ready_store()
    versions = await all_versions(store, f"{key_root}/published/busy.ipynb")
    assert {v.version_id for v in versions} == {reply["versionID"] for _, reply in replies}


class TestPublishingOff:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "published_prefix": ""}

    async def test_publish_is_403_with_the_setting_named(self, fetch_json: Any) -> None:
        status, reply = await fetch_json(
            "api/bookstore/publish/x.ipynb", method="PUT", body=publish_body(make_notebook("x"))
        )
        assert status == 403
        assert "published_prefix" in reply["message"]


class TestNoWorkspacePrefix:
    """Without a usable workspace prefix no archived version exists to publish; the
    version id must not be looked up elsewhere in the bucket."""

    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "workspace_prefix": ""}

    async def test_version_publish_is_403_and_content_publish_works(
        self, fetch_json: Any, bookstore_app: Any
    ) -> None:
        store = await bookstore_app.ready_store()
        version = await store.put("x.ipynb", json.dumps(make_notebook("root")).encode())
        status, reply = await fetch_json(
            "api/bookstore/publish/x.ipynb", method="PUT", body={"version_id": version}
        )
        assert status == 403, reply
        assert "workspace_prefix" in reply["message"]
        assert await published_keys(bookstore_app) == []
        status, reply = await fetch_json(
            "api/bookstore/publish/x.ipynb", method="PUT", body=publish_body(make_notebook("x"))
        )
        assert status == 200, reply
