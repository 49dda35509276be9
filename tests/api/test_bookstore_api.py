"""GET /api/bookstore: release, feature flags and the store in use, for every kind of setup."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from bookstore import __version__
from bookstore.server.app import BookstoreApp
from tests.notebooks import make_notebook
from tests.s3rig import SeaweedFS

FEATURES = {
    "bookstore_valid",
    "archive_valid",
    "history_valid",
    "publish_valid",
    "s3_clone_valid",
    "fs_clone_valid",
    "runs_valid",
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_embedded_store_by_default(fetch_json: Any) -> None:
    status, body = await fetch_json("api", "bookstore")
    assert status == 200
    assert body["release"] == __version__ == "3.0.0.dev0"
    assert set(body["features"]) == FEATURES
    assert body["features"] == {
        "bookstore_valid": True,
        "archive_valid": True,
        "history_valid": True,
        "publish_valid": True,
        "s3_clone_valid": True,
        "fs_clone_valid": False,
        "runs_valid": True,
    }
    store = body["store"]
    assert store["backend"] == "local"
    assert store["bucket"] == "local"
    assert store["versioning"] == "Enabled"
    assert store["usable"] is True
    assert "bookstore-store" not in str(body), "no server path in the reply"


def test_loaded_by_the_server(jp_serverapp: object) -> None:
    manager = jp_serverapp.extension_manager  # type: ignore[attr-defined]
    assert "bookstore" in manager.extensions
    assert manager.extensions["bookstore"].enabled
    assert isinstance(next(iter(manager.extension_apps["bookstore"])), BookstoreApp)


async def test_trailing_slash_route(fetch_json: Any) -> None:
    status, body = await fetch_json("api", "bookstore/")
    assert status == 200
    assert body["release"] == __version__


async def test_requires_authentication(http_server_client: Any, jp_base_url: str) -> None:
    response = await http_server_client.fetch(
        f"{jp_base_url}api/bookstore", raise_error=False, headers={"Accept": "application/json"}
    )
    assert response.code == 403
    assert b"release" not in response.body


async def test_wrong_token_is_refused(http_server_client: Any, jp_base_url: str) -> None:
    response = await http_server_client.fetch(
        f"{jp_base_url}api/bookstore",
        raise_error=False,
        headers={"Authorization": "token not-the-token"},
    )
    assert response.code == 403


class TestVersionedSeaweedBucket:
    @pytest.fixture
    def bookstore_config(self, seaweedfs: SeaweedFS) -> dict[str, Any]:
        return seaweedfs.settings_dict()

    async def test_all_store_features_valid(self, fetch_json: Any, seaweedfs: SeaweedFS) -> None:
        status, body = await fetch_json("api", "bookstore")
        assert status == 200
        assert body["features"]["bookstore_valid"] is True
        assert body["features"]["archive_valid"] is True
        assert body["features"]["publish_valid"] is True
        assert body["features"]["s3_clone_valid"] is True
        assert body["store"]["backend"] == "s3"
        assert body["store"]["bucket"] == seaweedfs.bucket
        assert body["store"]["versioning"] == "Enabled"
        assert body["store"]["error"] is None
        assert seaweedfs.secret_key not in str(body)


class TestUnversionedBucket:
    @pytest.fixture
    def bookstore_config(self, seaweedfs: SeaweedFS) -> dict[str, Any]:
        return {**seaweedfs.settings_dict(), "s3_bucket": seaweedfs.unversioned_bucket}

    async def test_archive_is_reported_invalid(self, fetch_json: Any) -> None:
        status, body = await fetch_json("api", "bookstore")
        assert status == 200
        assert body["features"]["bookstore_valid"] is True
        assert body["features"]["publish_valid"] is True
        assert body["features"]["archive_valid"] is False
        assert body["store"]["versioning"] in {"Disabled", "Suspended"}


class TestMissingBucket:
    @pytest.fixture
    def bookstore_config(self, seaweedfs: SeaweedFS) -> dict[str, Any]:
        return {**seaweedfs.settings_dict(), "s3_bucket": "no-such-bucket-here"}

    async def test_store_features_invalid_with_reason(self, fetch_json: Any) -> None:
        status, body = await fetch_json("api", "bookstore")
        assert status == 200
        assert body["features"]["bookstore_valid"] is False
        assert body["features"]["archive_valid"] is False
        assert body["store"]["bucket_exists"] is False
        assert "no-such-bucket-here" in body["store"]["error"]


class TestUnreachableEndpoint:
    @pytest.fixture
    def bookstore_config(self, seaweedfs: SeaweedFS) -> dict[str, Any]:
        return {
            **seaweedfs.settings_dict(),
            "s3_endpoint_url": f"http://127.0.0.1:{closed_port()}",
        }

    async def test_answers_quickly_with_every_store_feature_off(self, fetch_json: Any) -> None:
        status, body = await fetch_json("api", "bookstore")
        assert status == 200
        features = body["features"]
        assert not any(features[flag] for flag in FEATURES - {"fs_clone_valid", "runs_valid"})
        assert body["store"]["reachable"] is False
        assert body["store"]["error"]


class TestEnvironmentOnlyConfiguration:
    @pytest.fixture
    def bookstore_config(
        self, seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch
    ) -> dict[str, Any]:
        for name, value in seaweedfs.s3_env().items():
            monkeypatch.setenv(name, value)
        return {}

    async def test_env_vars_select_s3(self, fetch_json: Any, seaweedfs: SeaweedFS) -> None:
        status, body = await fetch_json("api", "bookstore")
        assert status == 200
        assert body["store"]["backend"] == "s3"
        assert body["store"]["bucket"] == seaweedfs.bucket
        assert body["features"]["archive_valid"] is True


class TestFsCloning:
    @pytest.fixture
    def bookstore_config(self, tmp_path: Any) -> dict[str, Any]:
        return {"local_store_dir": str(tmp_path / "s"), "fs_cloning_basedir": str(tmp_path)}

    async def test_fs_clone_valid_with_existing_absolute_dir(self, fetch_json: Any) -> None:
        _, body = await fetch_json("api", "bookstore")
        assert body["features"]["fs_clone_valid"] is True


async def test_content_types_as_before(jp_fetch: Any) -> None:
    """The feature and archive documents and publish replies are tornado's JSON (with a
    charset), the other API replies bookstore's own ``application/json``."""
    for parts in (("api", "bookstore"), ("api", "bookstore", "archive")):
        response = await jp_fetch(*parts)
        assert response.headers["Content-Type"] == "application/json; charset=UTF-8", parts
    body = json.dumps({"type": "notebook", "content": make_notebook(cells=1)})
    response = await jp_fetch("api", "bookstore", "publish", "a.ipynb", method="PUT", body=body)
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    response = await jp_fetch("api", "bookstore", "workspace", "a.ipynb", "versions")
    assert response.headers["Content-Type"] == "application/json"
