"""Naming and pinning versions through the REST API (``PATCH …/versions/{id}``), the
notes in listings (``named=1`` too), versions and checkpoints; its errors, its permission
and its audit records — on SeaweedFS and the embedded store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer

from bookstore.server.app import BookstoreApp
from tests.api.test_history import archived, save, save_versions, small_notebook
from tests.s3proxy import S3Proxy
from tests.s3rig import SeaweedFS
from tests.server_fixtures import both_backends

VERSIONS = "api/bookstore/workspace/{path}/versions"


def versions_url(path: str, version_id: str | None = None) -> str:
    url = VERSIONS.format(path=path)
    return url if version_id is None else f"{url}/{version_id}"


async def annotate(fetch_json: Any, path: str, version_id: str, body: Any) -> tuple[int, Any]:
    result: tuple[int, Any] = await fetch_json(
        versions_url(path, version_id),
        method="PATCH",
        body=body,
        allow_nonstandard_methods=True,
    )
    return result


async def listed(fetch_json: Any, path: str, **params: str) -> list[dict[str, Any]]:
    status, page = await fetch_json(versions_url(path), params=params)
    assert status == 200, page
    return list(page["versions"])


def notes(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(item["name"], item["description"], item["pinned"]) for item in items]


async def audit_events(fetch_json: Any, app: BookstoreApp) -> list[dict[str, Any]]:
    status, trail = await fetch_json("api/bookstore/audit", params={"action": "annotate"})
    assert status == 200, trail
    return list(trail["events"])


@both_backends
class TestAnnotate:
    async def test_name_describe_pin_and_list(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        v3, v2, v1 = await save_versions(fetch_json, bookstore_app, "r/n.ipynb", ["1", "2", "3"])
        status, item = await annotate(
            fetch_json, "r/n.ipynb", v1, {"name": " sent to review ", "description": "a\nb"}
        )
        assert status == 200, item
        assert (item["id"], item["path"], item["is_latest"]) == (v1, "r/n.ipynb", False)
        assert (item["name"], item["description"], item["pinned"]) == (
            "sent to review",
            "a\nb",
            False,
        )
        assert item["named_by"]
        status, item = await annotate(fetch_json, "r/n.ipynb", v2, {"pinned": True})
        assert status == 200, item
        assert (item["name"], item["pinned"]) == (None, True)

        versions = await listed(fetch_json, "r/n.ipynb")
        assert [v["id"] for v in versions] == [v3, v2, v1]
        assert notes(versions) == [
            (None, None, False),
            (None, None, True),
            ("sent to review", "a\nb", False),
        ]
        for flag in ("1", "true", "yes"):
            assert [v["id"] for v in await listed(fetch_json, "r/n.ipynb", named=flag)] == [v2, v1]
        assert len(await listed(fetch_json, "r/n.ipynb", named="0")) == 3
        paged = await listed(fetch_json, "r/n.ipynb", named="1", limit="1")
        assert [v["id"] for v in paged] == [v2]
        status, reply = await fetch_json(versions_url("r/n.ipynb"), params={"named": "maybe"})
        assert status == 400, reply
        assert "'named'" in reply["message"]

        status, model = await fetch_json(versions_url("r/n.ipynb", v1), params={"content": "0"})
        assert status == 200, model
        assert model["version"]["name"] == "sent to review"
        status, checkpoints = await fetch_json("api/contents/r/n.ipynb/checkpoints")
        assert status == 200, checkpoints
        by_id = {checkpoint["id"]: checkpoint for checkpoint in checkpoints}
        assert by_id[v1]["name"] == "sent to review"
        assert "name" not in by_id[v2]
        assert "name" not in by_id[v3]

        # Unpin, rename, clear: the reply and the listing agree.
        status, item = await annotate(
            fetch_json, "r/n.ipynb", v2, {"pinned": False, "name": "renamed"}
        )
        assert (status, item["name"], item["pinned"]) == (200, "renamed", False)
        status, item = await annotate(
            fetch_json, "r/n.ipynb", v1, {"name": None, "description": ""}
        )
        assert (status, item["name"], item["description"], item["named_by"]) == (
            200,
            None,
            None,
            None,
        )
        assert [v["id"] for v in await listed(fetch_json, "r/n.ipynb", named="1")] == [v2]

        events = await audit_events(fetch_json, bookstore_app)
        assert len(events) == 4
        assert {event["outcome"] for event in events} == {"ok"}
        newest = events[0]
        assert (newest["path"], newest["version_id"]) == ("r/n.ipynb", v1)
        assert newest["result"] == {"name": None, "description": None, "pinned": False}

    async def test_bad_requests_are_400_and_write_nothing(
        self, fetch_json: Any, jp_fetch: Any, bookstore_app: BookstoreApp, key_root: str
    ) -> None:
        (v1,) = await save_versions(fetch_json, bookstore_app, "b.ipynb", ["1"])
        for body, words in [
            (b"{not json", "not valid JSON"),
            (b"", "has no body"),
            ([], "JSON object"),
            ({"title": "x"}, "Unknown field(s) 'title'"),
            ({"name": "x" * 121}, "at most 120"),
            ({"name": "two\nlines"}, "control character"),
            ({"description": "d" * 2001}, "at most 2000"),
            ({"pinned": "yes"}, "'pinned' must be true or false"),
        ]:
            status, reply = await annotate(fetch_json, "b.ipynb", v1, body)
            assert status == 400, (body, reply)
            assert words in reply["message"], (body, reply)
        status, reply = await annotate(fetch_json, "b.ipynb", "with space", {"name": "x"})
        assert status == 400, reply
        assert "printable ASCII" in reply["message"]
        store = await bookstore_app.ready_store()
        settings = bookstore_app.services.settings
        assert (await store.list_keys(f"{settings.annotations_prefix}/{key_root}/")).items == []
        assert notes(await listed(fetch_json, "b.ipynb")) == [(None, None, False)]
        assert await audit_events(fetch_json, bookstore_app) == []

    async def test_unknown_versions_and_files_are_404(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        (v1,) = await save_versions(fetch_json, bookstore_app, "u.ipynb", ["1"])
        for path, version in [
            ("u.ipynb", "no-such-version"),
            ("never.ipynb", v1),
            ("u.ipynb", "pending-123456"),
        ]:
            status, reply = await annotate(fetch_json, path, version, {"name": "x"})
            assert status == 404, (path, version, reply)
            assert reply["message"]

    async def test_names_follow_a_rename(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        d2, d1 = await save_versions(fetch_json, bookstore_app, "draft.ipynb", ["1", "2"])
        assert (await annotate(fetch_json, "draft.ipynb", d1, {"name": "first"}))[0] == 200
        assert (await annotate(fetch_json, "draft.ipynb", d2, {"name": "last draft"}))[0] == 200
        status, _ = await fetch_json(
            "api/contents/draft.ipynb", method="PATCH", body={"path": "final.ipynb"}
        )
        assert status == 200
        await archived(bookstore_app)
        await save(fetch_json, "final.ipynb", small_notebook("3"))
        await archived(bookstore_app)
        versions = await listed(fetch_json, "final.ipynb")
        assert [v["path"] for v in versions] == ["final.ipynb", "final.ipynb", "draft.ipynb"]
        assert [v["name"] for v in versions] == [None, "last draft", "first"]
        named = await listed(fetch_json, "final.ipynb", named="1")
        assert [v["name"] for v in named] == ["last draft", "first"]
        # Annotating the old version through the new name.
        status, item = await annotate(fetch_json, "final.ipynb", d1, {"pinned": True})
        assert (status, item["path"], item["name"], item["pinned"]) == (
            200,
            "draft.ipynb",
            "first",
            True,
        )


class DenyWritingContents(Authorizer):
    """Allows everything but writing files."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return (action, resource) != ("write", "contents")


class TestWithoutWritePermission:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: Any) -> Any:
        jp_server_config.ServerApp.authorizer_class = DenyWritingContents
        return jp_server_config

    async def test_annotating_is_403_and_audited_as_refused(
        self, fetch_json: Any, bookstore_app: BookstoreApp, key_root: str
    ) -> None:
        store = await bookstore_app.ready_store()
        key = f"{key_root}/workspace/w.ipynb"
        version = await store.put(key, json.dumps(small_notebook("1")).encode())
        status, reply = await annotate(fetch_json, "w.ipynb", version, {"name": "x"})
        assert status == 403, reply
        assert "not authorized to write contents" in reply["message"]
        assert notes(await listed(fetch_json, "w.ipynb")) == [(None, None, False)]
        (event,) = await audit_events(fetch_json, bookstore_app)
        assert (event["outcome"], event["version_id"]) == ("refused", version)


class TestAnnotationsOff:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "annotations_prefix": bookstore_config["workspace_prefix"]}

    async def test_annotating_is_403_naming_the_setting(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        (v1,) = await save_versions(fetch_json, bookstore_app, "o.ipynb", ["1"])
        status, reply = await annotate(fetch_json, "o.ipynb", v1, {"name": "x"})
        assert status == 403, reply
        assert "annotations_prefix" in reply["message"]
        assert notes(await listed(fetch_json, "o.ipynb")) == [(None, None, False)]
        # A malformed body is still a 400 first.
        status, reply = await annotate(fetch_json, "o.ipynb", v1, {"nom": "x"})
        assert status == 400, reply


@pytest.fixture
def s3_proxy(seaweedfs: SeaweedFS) -> Iterator[S3Proxy]:
    """SeaweedFS behind a proxy that can hold puts (saves stay pending)."""
    proxy = S3Proxy(seaweedfs.s3_port).start()
    yield proxy
    proxy.stop()


async def pending_save(
    fetch_json: Any, app: BookstoreApp, proxy: S3Proxy, path: str
) -> tuple[str, str]:
    """(archived id, pending id): ``path`` archived once, then saved with puts held."""
    (first,) = await save_versions(fetch_json, app, path, ["1"])
    proxy.hold_puts()
    await save(fetch_json, path, small_notebook("2"))
    pending, stored = await listed(fetch_json, path)
    assert pending["pending"], pending
    assert stored["id"] == first, stored
    return first, str(pending["id"])


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
class TestPendingSaves:
    @pytest.fixture
    def bookstore_config(
        self, bookstore_config: dict[str, Any], s3_proxy: S3Proxy
    ) -> dict[str, Any]:
        return {**bookstore_config, "s3_endpoint_url": s3_proxy.endpoint_url}

    async def test_a_pending_id_names_the_version_it_becomes(
        self, fetch_json: Any, bookstore_app: BookstoreApp, s3_proxy: S3Proxy
    ) -> None:
        _, pending = await pending_save(fetch_json, bookstore_app, s3_proxy, "p.ipynb")
        request = asyncio.ensure_future(
            annotate(fetch_json, "p.ipynb", pending, {"name": "saved and named"})
        )
        s3_proxy.release_puts()
        status, item = await request
        assert status == 200, item
        assert not item["pending"]
        assert item["is_latest"]
        assert item["name"] == "saved and named"
        newest = (await listed(fetch_json, "p.ipynb"))[0]
        assert (newest["id"], newest["name"]) == (item["id"], "saved and named")


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
class TestPendingSavesTooSlow:
    @pytest.fixture
    def bookstore_config(
        self, bookstore_config: dict[str, Any], s3_proxy: S3Proxy
    ) -> dict[str, Any]:
        return {
            **bookstore_config,
            "s3_endpoint_url": s3_proxy.endpoint_url,
            "checkpoint_timeout": 0.3,
        }

    async def test_a_save_still_pending_is_409(
        self, fetch_json: Any, bookstore_app: BookstoreApp, s3_proxy: S3Proxy
    ) -> None:
        _, pending = await pending_save(fetch_json, bookstore_app, s3_proxy, "slow.ipynb")
        try:
            status, reply = await annotate(fetch_json, "slow.ipynb", pending, {"pinned": True})
            assert status == 409, reply
            assert "not archived yet; try again" in reply["message"]
        finally:
            s3_proxy.release_puts()
        assert bookstore_app.archiver is not None
        assert await bookstore_app.archiver.drain(timeout=60)
        status, item = await annotate(fetch_json, "slow.ipynb", pending, {"pinned": True})
        assert (status, item["pinned"], item["pending"]) == (200, True, False)
