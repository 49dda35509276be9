"""Every acknowledged save becomes exactly one intact version: concurrent writers on one
notebook, a put whose reply is lost, read-your-writes histories, deep documents."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from bookstore.server.app import BookstoreApp
from tests.notebooks import first_cell, make_notebook
from tests.paging import all_versions
from tests.s3proxy import S3Proxy
from tests.s3rig import SeaweedFS
from tests.server_fixtures import both_backends


def save_body(notebook: dict[str, Any]) -> str:
    return json.dumps({"type": "notebook", "format": "json", "content": notebook})


async def save(jp_fetch: Any, path: str, notebook: dict[str, Any]) -> Any:
    return await jp_fetch("api", "contents", path, method="PUT", body=save_body(notebook))


@both_backends
async def test_ten_concurrent_writers_on_one_notebook_make_one_intact_version_per_save(
    jp_fetch: Any, bookstore_app: BookstoreApp, jp_root_dir: Path, key_root: str
) -> None:
    """10 clients x 20 saves of one 50 KB notebook: 200 versions, none torn, each client's
    saves in its order, the newest equal to the file (before: 10-23 versions, 12-19 torn)."""
    template = make_notebook(cells=10, output_bytes=5000)
    assert 45_000 < len(json.dumps(template)) < 60_000

    async def writer(client: int) -> None:
        notebook = json.loads(json.dumps(template))
        for n in range(20):
            notebook["cells"][0]["source"] = f"client {client} save {n}"
            response = await save(jp_fetch, "shared.ipynb", notebook)
            assert response.code in (200, 201)

    await asyncio.gather(*(writer(client) for client in range(10)))
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=120)

    store = await bookstore_app.ready_store()
    key = f"{key_root}/workspace/shared.ipynb"
    listed = await all_versions(store, key)
    bodies = [(await store.get(key, item.version_id)).body for item in reversed(listed)]
    for body in bodies:
        nbformat.validate(nbformat.reads(body.decode(), as_version=4))  # none torn
    markers = [first_cell(body) for body in bodies]
    assert len(markers) == 200
    assert sorted(markers) == sorted(f"client {c} save {n}" for c in range(10) for n in range(20))
    for client in range(10):
        own = [m for m in markers if m.startswith(f"client {client} ")]
        assert own == [f"client {client} save {n}" for n in range(20)]
    assert bodies[-1] == (jp_root_dir / "shared.ipynb").read_bytes()
    assert bookstore_app.archive_status()["failed"] == 0


@both_backends
async def test_each_save_is_listed_and_readable_the_moment_it_is_acknowledged(
    jp_fetch: Any, fetch_json: Any
) -> None:
    """Right after each save's reply, the newest listed version is that save (pending or
    archived) and reads back as it (before: 0 of 100 listed)."""
    notebook = make_notebook(cells=3, output_bytes=100)
    for n in range(20):
        notebook["cells"][0]["source"] = f"save {n}"
        assert (await save(jp_fetch, "ryw.ipynb", notebook)).code in (200, 201)
        status, listed = await fetch_json("api/bookstore/workspace/ryw.ipynb/versions")
        assert status == 200, listed
        newest = listed["versions"][0]
        assert newest["is_latest"], listed
        status, version = await fetch_json(
            "api/bookstore/workspace/ryw.ipynb/versions", newest["id"]
        )
        assert status == 200, version
        assert version["content"]["cells"][0]["source"] == f"save {n}"


async def test_a_deeply_nested_notebook_save_is_a_400_naming_the_limit(
    fetch_json: Any, jp_root_dir: Path
) -> None:
    notebook = json.loads(json.dumps(make_notebook(cells=1, output_bytes=10)))  # plain dicts
    deep: dict[str, Any] = {}
    for _ in range(800):
        deep = {"x": deep}
    notebook["metadata"]["deep"] = deep
    status, body = await fetch_json(
        "api/contents/deep.ipynb", method="PUT", body=save_body(notebook)
    )
    assert status == 400, body
    assert "100 levels" in body["message"]
    assert not (jp_root_dir / "deep.ipynb").exists()


async def test_a_diff_against_a_current_file_that_is_not_a_notebook_is_a_422(
    jp_fetch: Any, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
) -> None:
    assert (await save(jp_fetch, "broken.ipynb", make_notebook(cells=1))).code == 201
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=60)
    (jp_root_dir / "broken.ipynb").write_text("{not json")
    status, body = await fetch_json(
        "api/bookstore/workspace/broken.ipynb/diff", params={"base": "latest"}
    )
    assert status == 422, body
    assert "not valid JSON" in body["message"]


# -- S3 behind a proxy that holds puts or loses their replies -----------------------------


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
class TestBehindAProxy:
    """SeaweedFS reached through :class:`~tests.s3proxy.S3Proxy`, which holds puts or
    loses their replies."""

    @pytest.fixture
    def s3_proxy(self, seaweedfs: SeaweedFS) -> Iterator[S3Proxy]:
        proxy = S3Proxy(seaweedfs.s3_port).start()
        yield proxy
        proxy.stop()

    @pytest.fixture
    def bookstore_config(
        self, bookstore_config: dict[str, Any], s3_proxy: S3Proxy
    ) -> dict[str, Any]:
        """The SeaweedFS rig, reached through :class:`S3Proxy`."""
        return {**bookstore_config, "s3_endpoint_url": s3_proxy.endpoint_url}

    async def test_a_put_whose_reply_was_lost_is_stored_once(
        self, jp_fetch: Any, bookstore_app: BookstoreApp, s3_proxy: S3Proxy, key_root: str
    ) -> None:
        """SeaweedFS stores the put, the reply never arrives: the archiver asks the store
        before trying again, so the save is one version (before: botocore sent it again)."""
        store = await bookstore_app.ready_store()
        s3_proxy.drop_put_replies = 1
        notebook = make_notebook("once", cells=2, output_bytes=100)
        assert (await save(jp_fetch, "once.ipynb", notebook)).code == 201
        assert bookstore_app.archiver is not None
        assert await bookstore_app.archiver.drain(timeout=60)
        assert s3_proxy.dropped == 1
        listed = await all_versions(store, f"{key_root}/workspace/once.ipynb")
        assert len(listed) == 1, listed
        status = bookstore_app.archive_status()
        assert (status["archived"], status["skipped_identical"], status["state"]) == (0, 1, "ok")

    async def test_a_pending_save_is_listed_read_and_diffed_from_the_spool(
        self, jp_fetch: Any, fetch_json: Any, bookstore_app: BookstoreApp, s3_proxy: S3Proxy
    ) -> None:
        notebook = make_notebook("first", cells=2, output_bytes=100)
        assert (await save(jp_fetch, "p.ipynb", notebook)).code == 201
        assert bookstore_app.archiver is not None
        assert await bookstore_app.archiver.drain(timeout=60)

        s3_proxy.hold_puts()
        notebook["cells"][0]["source"] = "second"
        assert (await save(jp_fetch, "p.ipynb", notebook)).code == 200
        status, listed = await fetch_json("api/bookstore/workspace/p.ipynb/versions")
        assert status == 200, listed
        pending, archived = listed["versions"]
        assert (pending["pending"], pending["is_latest"]) == (True, True), listed
        assert pending["id"].startswith("pending-")
        assert (archived["pending"], archived["is_latest"]) == (False, False), listed

        status, version = await fetch_json(
            "api/bookstore/workspace/p.ipynb/versions", pending["id"]
        )
        assert status == 200, version
        assert version["content"]["cells"][0]["source"] == "second"
        assert version["version"]["pending"]
        status, diff = await fetch_json(
            "api/bookstore/workspace/p.ipynb/diff", params={"base": archived["id"]}
        )
        assert status == 200, diff
        status, diff = await fetch_json(
            "api/bookstore/workspace/p.ipynb/diff", params={"base": pending["id"]}
        )
        assert status == 200, diff
        assert diff["summary"]["text"] == "no changes"
        status, checkpoints = await fetch_json("api/contents/p.ipynb/checkpoints")
        assert [c["id"] for c in checkpoints] == [archived["id"], pending["id"]]

        s3_proxy.release_puts()
        assert await bookstore_app.archiver.drain(timeout=60)
        status, listed = await fetch_json("api/bookstore/workspace/p.ipynb/versions")
        newest = listed["versions"][0]
        assert (newest["pending"], newest["is_latest"]) == (False, True), listed
        # The pending id still finds the version it became.
        status, version = await fetch_json(
            "api/bookstore/workspace/p.ipynb/versions", pending["id"]
        )
        assert status == 200, version
        assert version["version"]["id"] == newest["id"]

    async def test_a_checkpoint_is_the_version_of_this_save(
        self, jp_fetch: Any, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
    ) -> None:
        """Jupyter's "create checkpoint" after a save answers the version holding exactly the
        file's bytes, also when the file changed outside Jupyter since."""
        store = await bookstore_app.ready_store()
        notebook = make_notebook("a", cells=2, output_bytes=100)
        assert (await save(jp_fetch, "c.ipynb", notebook)).code == 201
        status, checkpoint = await fetch_json(
            "api/contents/c.ipynb/checkpoints", method="POST", body=""
        )
        assert status == 201, checkpoint
        history = await bookstore_app.services.history("workspace")
        stored = await store.get(history.key_for("c.ipynb"), checkpoint["id"])
        assert stored.body == (jp_root_dir / "c.ipynb").read_bytes()

        changed = make_notebook("changed outside Jupyter", cells=2, output_bytes=100)
        nbformat.write(nbformat.from_dict(changed), str(jp_root_dir / "c.ipynb"))
        status, again = await fetch_json("api/contents/c.ipynb/checkpoints", method="POST", body="")
        assert status == 201, again
        assert again["id"] != checkpoint["id"]
        stored = await store.get(history.key_for("c.ipynb"), again["id"])
        assert (
            hashlib.sha256(stored.body).digest()
            == hashlib.sha256((jp_root_dir / "c.ipynb").read_bytes()).digest()
        )
