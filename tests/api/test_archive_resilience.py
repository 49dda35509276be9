"""Archiving through an S3 outage, per-user workspaces, and status while failing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bookstore.server.app import BookstoreApp
from tests.api.test_archive import markers, save
from tests.notebooks import make_notebook
from tests.paging import all_versions
from tests.s3rig import SeaweedFS


@pytest.fixture
def jp_root_dir(jp_root_dir: Path) -> Path:
    (jp_root_dir / "nb").mkdir()
    return jp_root_dir


class TestS3Outage:
    @pytest.fixture
    def bookstore_config(
        self, seaweedfs: SeaweedFS, s3_prefix: str, tmp_path: Path
    ) -> dict[str, Any]:
        return seaweedfs.settings_dict(
            workspace_prefix=f"{s3_prefix}/workspace",
            archive_spool_dir=str(tmp_path / "spool"),
            archive_retry_max_delay=0.5,
        )

    async def test_saves_during_an_outage_all_arrive_in_order(
        self,
        jp_fetch: Any,
        bookstore_app: BookstoreApp,
        seaweedfs: SeaweedFS,
        s3_prefix: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        key = f"{s3_prefix}/workspace/nb/outage.ipynb"
        notebook = make_notebook(cells=3)
        seaweedfs.stop()
        try:
            for n in range(50):
                notebook["cells"][0]["source"] = f"outage {n}"
                response = await save(jp_fetch, "nb/outage.ipynb", notebook)
                assert response.code in (200, 201)
            for _ in range(200):
                status = json.loads((await jp_fetch("api", "bookstore", "archive")).body)
                if status["state"] == "failing":
                    break
                await asyncio.sleep(0.1)
            assert status["state"] == "failing"
            assert status["pending"] == 50
            assert status["last_error"]
            assert seaweedfs.secret_key not in status["last_error"]
        finally:
            seaweedfs.start()  # from the main thread: see SeaweedFS.start

        assert bookstore_app.archiver is not None
        assert await bookstore_app.archiver.drain(timeout=120)
        store = await bookstore_app.ready_store()
        assert await markers(store, key) == [f"outage {n}" for n in range(50)]
        status = json.loads((await jp_fetch("api", "bookstore", "archive")).body)
        assert (status["state"], status["pending"], status["archived"]) == ("ok", 0, 50)
        # The log says it once, not once per retry or per notebook.
        messages = [record.getMessage() for record in caplog.records]
        assert sum("archiving failed" in message for message in messages) == 1
        assert sum("archiving works again" in message for message in messages) == 1


class TestPerUserWorkspace:
    @pytest.fixture
    def bookstore_config(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        monkeypatch.setenv("JUPYTERHUB_USER", "kylek")
        return {
            "local_store_dir": str(tmp_path / "store"),
            "archive_spool_dir": str(tmp_path / "spool"),
            "workspace_prefix": "workspace/{username}",
        }

    async def test_username_fills_the_prefix(
        self, jp_fetch: Any, bookstore_app: BookstoreApp
    ) -> None:
        await save(jp_fetch, "nb/mine.ipynb", make_notebook("mine", cells=1))
        assert bookstore_app.archiver is not None
        assert await bookstore_app.archiver.drain(timeout=30)
        store = await bookstore_app.ready_store()
        assert len(await all_versions(store, "workspace/kylek/nb/mine.ipynb")) == 1
        status = json.loads((await jp_fetch("api", "bookstore", "archive")).body)
        assert status["workspace_prefix"] == "workspace/kylek"


class TestArchivingOff:
    @pytest.fixture
    def bookstore_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"local_store_dir": str(tmp_path / "store"), "archive_file_types": []}

    async def test_no_archiver_and_flag_off(
        self, jp_fetch: Any, bookstore_app: BookstoreApp
    ) -> None:
        await save(jp_fetch, "nb/x.ipynb", make_notebook("x", cells=1))
        assert bookstore_app.archiver is None
        body = json.loads((await jp_fetch("api", "bookstore")).body)
        assert body["features"]["archive_valid"] is False
        assert body["archive"] == {"enabled": False}


class TestUnsafeWorkspacePrefix:
    @pytest.fixture
    def bookstore_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"local_store_dir": str(tmp_path / "store"), "workspace_prefix": "../escape"}

    async def test_archiving_is_off_and_saves_still_work(
        self, jp_fetch: Any, bookstore_app: BookstoreApp
    ) -> None:
        response = await save(jp_fetch, "nb/x.ipynb", make_notebook("x", cells=1))
        assert response.code == 201
        assert bookstore_app.archiver is None
        body = json.loads((await jp_fetch("api", "bookstore")).body)
        assert body["features"]["archive_valid"] is False
        assert body["features"]["publish_valid"] is True
        assert body["archive"] == {"enabled": False}
