"""POST /api/bookstore/clone and the GET /bookstore/clone landing page, on both backends."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.notebooks import first_cell, make_notebook
from tests.server_fixtures import bookstore_time, both_backends

pytestmark = both_backends

NOTEBOOK_BYTES = (json.dumps(make_notebook("stored", cells=3), indent=2) + "\n").encode()


@pytest.fixture
def store(bookstore_app: Any, jp_asyncio_loop: Any) -> Any:
    """The server's started store."""
    return jp_asyncio_loop.run_until_complete(bookstore_app.ready_store())


def workspace_files(root: Path) -> list[str]:
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and ".ipynb_checkpoints" not in path.parts
    )


async def test_clone_latest_notebook_byte_exact(
    fetch_json: Any, store: Any, key_root: str, jp_root_dir: Path
) -> None:
    key = f"{key_root}/published/team/report.ipynb"
    version = await store.put(key, NOTEBOOK_BYTES)
    status, model = await fetch_json(
        "api/bookstore/clone", method="POST", body={"s3_bucket": store.bucket, "s3_key": key}
    )
    assert status == 200, model
    assert model["name"] == "report.ipynb"
    assert model["path"] == "report.ipynb"
    assert model["type"] == "notebook"
    assert model["format"] == "json"
    assert model["writable"] is True
    assert model["created"]
    assert model["last_modified"]
    assert "mimetype" in model
    assert model["content"]["cells"][0]["source"] == "# Notebook stored"
    assert model["s3_path"] == f"s3://{store.bucket}/{key}"
    assert model["versionID"] == version
    assert (jp_root_dir / "report.ipynb").read_bytes() == NOTEBOOK_BYTES
    # The reply is the model Jupyter itself answers for the new file, with bookstore's
    # times (RFC 3339 with milliseconds) where Jupyter writes microseconds.
    _, contents = await fetch_json("api/contents/report.ipynb")
    assert {**model, "s3_path": None, "versionID": None} == {
        **contents,
        "created": bookstore_time(contents["created"]),
        "last_modified": bookstore_time(contents["last_modified"]),
        "s3_path": None,
        "versionID": None,
    }


async def test_reply_without_content(
    fetch_json: Any, store: Any, key_root: str, jp_root_dir: Path
) -> None:
    key = f"{key_root}/published/lean.ipynb"
    await store.put(key, NOTEBOOK_BYTES)
    status, model = await fetch_json(
        "api/bookstore/clone", method="POST", body={"s3_key": key, "content": False}
    )
    assert status == 200, model
    assert model["content"] is None
    assert model["type"] == "notebook"
    assert model["path"] == "lean.ipynb"
    assert (jp_root_dir / "lean.ipynb").read_bytes() == NOTEBOOK_BYTES
    status, reply = await fetch_json(
        "api/bookstore/clone", method="POST", body={"s3_key": key, "content": "no"}
    )
    assert status == 400
    assert "'content' must be true or false" in reply["message"]


async def test_clone_a_past_version(fetch_json: Any, store: Any, key_root: str) -> None:
    key = f"{key_root}/published/v.ipynb"
    old = await store.put(key, nbformat.writes(nbformat.from_dict(make_notebook("old"))).encode())
    await store.put(key, nbformat.writes(nbformat.from_dict(make_notebook("new"))).encode())
    status, model = await fetch_json(
        "api/bookstore/clone", method="POST", body={"s3_key": key, "s3_version_id": old}
    )
    assert status == 200, model
    assert model["versionID"] == old
    assert model["content"]["cells"][0]["source"] == "# Notebook old"


async def test_existing_files_are_never_overwritten(
    fetch_json: Any, store: Any, key_root: str, jp_root_dir: Path
) -> None:
    key = f"{key_root}/published/x.ipynb"
    await store.put(key, NOTEBOOK_BYTES)
    (jp_root_dir / "x.ipynb").write_text("mine")
    paths = []
    for _ in range(2):
        status, model = await fetch_json("api/bookstore/clone", method="POST", body={"s3_key": key})
        assert status == 200, model
        paths.append(model["path"])
    assert paths == ["x-1.ipynb", "x-2.ipynb"]
    assert (jp_root_dir / "x.ipynb").read_text() == "mine"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("copy.ipynb", "copy.ipynb"),
        ("deep/er/copy.ipynb", "deep/er/copy.ipynb"),
        ("deep/", "deep/x.ipynb"),
        ("/rooted/copy.ipynb", "rooted/copy.ipynb"),
    ],
)
async def test_target_path_is_relative_to_the_root(
    fetch_json: Any, store: Any, key_root: str, jp_root_dir: Path, target: str, expected: str
) -> None:
    key = f"{key_root}/published/x.ipynb"
    await store.put(key, NOTEBOOK_BYTES)
    status, model = await fetch_json(
        "api/bookstore/clone", method="POST", body={"s3_key": key, "target_path": target}
    )
    assert status == 200, model
    assert model["path"] == expected
    assert (jp_root_dir / expected).read_bytes() == NOTEBOOK_BYTES


async def test_existing_folder_as_target_keeps_the_name(
    fetch_json: Any, store: Any, key_root: str, jp_root_dir: Path
) -> None:
    key = f"{key_root}/published/x.ipynb"
    await store.put(key, NOTEBOOK_BYTES)
    (jp_root_dir / "inbox").mkdir()
    status, model = await fetch_json(
        "api/bookstore/clone", method="POST", body={"s3_key": key, "target_path": "inbox"}
    )
    assert status == 200, model
    assert model["path"] == "inbox/x.ipynb"


@pytest.mark.parametrize(
    ("body_bytes", "name"),
    [
        (b"line one\r\nline two\r\n\xef\xbb\xbfbom and \xc3\xa9\n", "notes.txt"),
        (bytes(range(256)) * 4, "blob.bin"),
        (b"", "empty.csv"),
    ],
)
async def test_other_objects_are_cloned_byte_exact(
    fetch_json: Any, store: Any, key_root: str, jp_root_dir: Path, body_bytes: bytes, name: str
) -> None:
    key = f"{key_root}/published/files/{name}"
    await store.put(key, body_bytes)
    status, model = await fetch_json("api/bookstore/clone", method="POST", body={"s3_key": key})
    assert status == 200, model
    assert model["type"] == "file"
    assert (jp_root_dir / name).read_bytes() == body_bytes
    if model["format"] == "base64":
        assert base64.b64decode(model["content"]) == body_bytes
    else:
        assert model["content"].encode() == body_bytes
    _, contents = await fetch_json(f"api/contents/{name}")
    for field in ("name", "path", "type", "format", "mimetype", "content", "size", "writable"):
        assert model[field] == contents[field], field


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"s3_key": "{root}/published/missing.ipynb"}, 404, "not found"),
        ({"s3_key": "{root}/published/x.ipynb", "s3_version_id": "nope"}, 404, "no version"),
        ({"s3_key": "{root}/published/x.ipynb", "s3_bucket": "someone-elses"}, 403, "not allowed"),
        ({"s3_key": ""}, 400, "Must have a 's3_key'"),
        ({"s3_bucket": "b"}, 400, "Must have a 's3_key'"),
        ({"s3_key": 5}, 400, "must be a string"),
        ({"s3_key": "{root}/published/x.ipynb", "target_path": "../out.ipynb"}, 400, "'..'"),
        ({"s3_key": "{root}/published/x.ipynb", "target_path": "a//b.ipynb"}, 400, "empty"),
        ({"s3_key": "{root}/published/x.ipynb", "target_path": ".hidden/x.ipynb"}, 400, "hidden"),
        ({"s3_key": "{root}/published/x.ipynb", "target_path": ["x"]}, 400, "must be a string"),
        ({"s3_key": "{root}/../etc/passwd"}, 400, "'..'"),
        ({"s3_key": "{root}/published/"}, 400, "does not name an object"),
        ({"s3_key": "{root}/published/broken.ipynb"}, 422, "not valid JSON"),
        ({"s3_key": "{root}/published/bad-schema.ipynb"}, 422, "Not a valid notebook"),
        ({"s3_key": "{root}/published/note.txt", "target_path": "n.ipynb"}, 422, "not valid JSON"),
    ],
)
async def test_refused_clones_write_nothing(
    fetch_json: Any,
    store: Any,
    key_root: str,
    jp_root_dir: Path,
    body: dict[str, Any],
    status: int,
    words: str,
) -> None:
    await store.put(f"{key_root}/published/x.ipynb", NOTEBOOK_BYTES)
    await store.put(f"{key_root}/published/broken.ipynb", b"{ this is not json")
    await store.put(f"{key_root}/published/bad-schema.ipynb", b'{"nbformat": 4, "cells": 1}')
    await store.put(f"{key_root}/published/note.txt", b"plain text")
    before = workspace_files(jp_root_dir)
    body = {k: v.replace("{root}", key_root) if isinstance(v, str) else v for k, v in body.items()}
    got, reply = await fetch_json("api/bookstore/clone", method="POST", body=body)
    assert got == status, reply
    assert words in reply["message"]
    assert str(jp_root_dir) not in reply["message"]
    assert workspace_files(jp_root_dir) == before


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'"s3_key"', b"null", b"\xff"])
async def test_malformed_bodies_are_400(fetch_json: Any, body: bytes) -> None:
    status, reply = await fetch_json("api/bookstore/clone", method="POST", body=body)
    assert status == 400, reply
    assert reply["message"]


async def test_cloned_notebook_does_not_become_trusted(
    fetch_json: Any, store: Any, key_root: str, jp_root_dir: Path, jp_serverapp: Any
) -> None:
    notebook = nbformat.from_dict(make_notebook("js", cells=1))
    notebook.cells[1].outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": "<script>alert(1)</script>"}, metadata={}
        )
    ]
    notebook.cells[1].metadata["trusted"] = True
    key = f"{key_root}/published/js.ipynb"
    await store.put(key, json.dumps(notebook).encode())
    status, model = await fetch_json("api/bookstore/clone", method="POST", body={"s3_key": key})
    assert status == 200, model
    on_disk = nbformat.read(jp_root_dir / "js.ipynb", as_version=4)
    assert not jp_serverapp.contents_manager.notary.check_signature(on_disk)
    assert model["content"]["cells"][1]["metadata"].get("trusted") is False


async def test_cloned_notebook_is_archived_in_the_workspace(
    fetch_json: Any, store: Any, bookstore_app: Any, key_root: str
) -> None:
    key = f"{key_root}/published/arch.ipynb"
    await store.put(key, NOTEBOOK_BYTES)
    status, model = await fetch_json("api/bookstore/clone", method="POST", body={"s3_key": key})
    assert status == 200, model
    await bookstore_app.archiver.drain()
    archived = await store.get(f"{key_root}/workspace/arch.ipynb")
    assert archived.body == NOTEBOOK_BYTES


class TestOtherBuckets:
    """``clone_allowed_buckets`` decides which buckets may be cloned from."""

    @pytest.fixture
    def bookstore_config(
        self, bookstore_config: dict[str, Any], backend: str, request: pytest.FixtureRequest
    ) -> dict[str, Any]:
        if backend == "s3":
            seaweedfs = request.getfixturevalue("seaweedfs")
            allowed = [seaweedfs.bucket, seaweedfs.unversioned_bucket, "no-such-bucket-here"]
        else:
            allowed = ["local", "no-such-bucket-here"]
        # [""]: every key of an allowed bucket, as bookstore 2.x cloned.
        return {
            **bookstore_config,
            "clone_allowed_buckets": allowed,
            "clone_allowed_prefixes": [""],
        }

    async def test_listed_bucket_clones_and_missing_bucket_is_404(
        self, fetch_json: Any, store: Any, key_root: str, backend: str, request: Any
    ) -> None:
        if backend == "s3":
            seaweedfs = request.getfixturevalue("seaweedfs")
            other = seaweedfs.unversioned_bucket
            seaweedfs.client().put_object(
                Bucket=other, Key=f"{key_root}/shared.ipynb", Body=NOTEBOOK_BYTES
            )
        else:
            other = "local"
            await store.put(f"{key_root}/shared.ipynb", NOTEBOOK_BYTES)
        status, model = await fetch_json(
            "api/bookstore/clone",
            method="POST",
            body={"s3_bucket": other, "s3_key": f"{key_root}/shared.ipynb"},
        )
        assert status == 200, model
        assert model["s3_path"] == f"s3://{other}/{key_root}/shared.ipynb"

        status, reply = await fetch_json(
            "api/bookstore/clone",
            method="POST",
            body={"s3_bucket": "no-such-bucket-here", "s3_key": "a.ipynb"},
        )
        assert status == 404, reply
        assert "does not exist" in reply["message"]


class TestCloningOff:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "enable_s3_cloning": False}

    async def test_api_and_page_are_403(self, fetch_json: Any, jp_fetch: Any) -> None:
        status, reply = await fetch_json(
            "api/bookstore/clone", method="POST", body={"s3_key": "a.ipynb"}
        )
        assert status == 403
        assert "enable_s3_cloning" in reply["message"]
        page = await jp_fetch("bookstore/clone", params={"s3_key": "a.ipynb"}, raise_error=False)
        assert page.code == 403
        assert b"enable_s3_cloning" in page.body


class TestSyncContentsManager:
    """Clones work with a synchronous contents manager too."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config: Any) -> Any:
        jp_server_config.ServerApp.contents_manager_class = (
            "jupyter_server.services.contents.filemanager.FileContentsManager"
        )
        return jp_server_config

    async def test_clone(
        self, fetch_json: Any, store: Any, key_root: str, jp_root_dir: Path
    ) -> None:
        key = f"{key_root}/published/sync.ipynb"
        await store.put(key, NOTEBOOK_BYTES)
        (jp_root_dir / "sync.ipynb").write_text("taken")
        status, model = await fetch_json(
            "api/bookstore/clone", method="POST", body={"s3_key": key, "target_path": "sub/"}
        )
        assert status == 200, model
        assert model["path"] == "sub/sync.ipynb"
        assert first_cell((jp_root_dir / "sub/sync.ipynb").read_bytes()) == "# Notebook stored"


# -- the landing page ------------------------------------------------------------------


async def test_landing_page_shows_what_will_be_cloned(
    jp_fetch: Any, store: Any, key_root: str, jp_base_url: str
) -> None:
    key = f"{key_root}/published/<b>odd</b> & name.ipynb"
    version = await store.put(key, NOTEBOOK_BYTES)
    page = await jp_fetch("bookstore/clone", params={"s3_bucket": store.bucket, "s3_key": key})
    assert page.code == 200
    html = page.body.decode()
    assert "&lt;b&gt;odd&lt;/b&gt; &amp; name.ipynb" in html
    assert "<b>odd</b>" not in html
    assert version in html
    assert "(latest)" in html
    assert f"{len(NOTEBOOK_BYTES):,} bytes" in html
    assert f"{jp_base_url}api/bookstore/clone" in html
    assert 'id="clone-button"' in html


async def test_landing_page_for_a_past_version(jp_fetch: Any, store: Any, key_root: str) -> None:
    key = f"{key_root}/published/p.ipynb"
    old = await store.put(key, NOTEBOOK_BYTES)
    await store.put(key, NOTEBOOK_BYTES + b" ")
    page = await jp_fetch(
        "bookstore/clone",
        params={"s3_key": f"/{key}", "s3_version_id": old, "target_path": "inbox/"},
    )
    html = page.body.decode()
    assert old in html
    assert "(latest)" not in html
    assert 'value="inbox/"' in html
    assert f'id="clone-key">{key}<' in html


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 400, "Must have a &#39;s3_key&#39;"),
        ({"s3_key": "{root}/published/none.ipynb"}, 404, "not found"),
        ({"s3_key": "{root}/published/p.ipynb", "s3_version_id": "zzz"}, 404, "no version"),
        ({"s3_key": "{root}/published/p.ipynb", "s3_bucket": "elsewhere"}, 403, "not allowed"),
        ({"s3_key": "{root}/../p.ipynb"}, 400, "&#39;..&#39;"),
    ],
)
async def test_landing_page_errors_are_pages_in_words(
    jp_fetch: Any,
    store: Any,
    key_root: str,
    jp_root_dir: Path,
    params: dict[str, str],
    status: int,
    words: str,
) -> None:
    await store.put(f"{key_root}/published/p.ipynb", NOTEBOOK_BYTES)
    params = {k: v.replace("{root}", key_root) for k, v in params.items()}
    page = await jp_fetch("bookstore/clone", params=params, raise_error=False)
    assert page.code == status
    html = page.body.decode()
    assert page.headers["Content-Type"].startswith("text/html")
    assert f"<h1>{status}:" in html
    assert words in html
    assert str(jp_root_dir) not in html
    assert "Traceback" not in html
