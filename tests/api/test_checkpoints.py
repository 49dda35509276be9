"""Jupyter's checkpoints API served from bookstore's versions (what JupyterLab's "Revert
Notebook to Checkpoint" and nbdime's "diff against checkpoint" call)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest

from bookstore.server.app import BookstoreApp
from bookstore.server.checkpoints import PENDING_CHECKPOINT_ID, BookstoreCheckpoints
from tests.api.test_history import archived, listing, marker_on_disk, save, small_notebook
from tests.server_fixtures import both_backends

#: bookstore's one timestamp format (RFC 3339, UTC, milliseconds), on checkpoints too.
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def checkpoint_time(item: dict[str, Any]) -> datetime:
    assert TIMESTAMP.fullmatch(item["last_modified"]), item
    return datetime.fromisoformat(item["last_modified"].replace("Z", "+00:00"))


@both_backends
class TestCheckpointsAreVersions:
    @pytest.fixture
    def server_extensions(self) -> dict[str, bool]:
        return {"bookstore": True, "nbdime": True}

    async def test_saves_list_as_checkpoints_newest_first(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        for marker in ["1", "2", "3"]:
            await save(fetch_json, "cp.ipynb", small_notebook(marker))
            status, created = await fetch_json(
                "api/contents/cp.ipynb/checkpoints", method="POST", body=b""
            )
            assert status == 201, created
        status, checkpoints = await fetch_json("api/contents/cp.ipynb/checkpoints")
        assert status == 200
        versions = await listing(fetch_json, "cp.ipynb")
        # Jupyter's order: oldest first (JupyterLab's dialog shows them reversed).
        assert [item["id"] for item in checkpoints] == [item["id"] for item in versions][::-1]
        assert created["id"] == versions[0]["id"]
        assert checkpoint_time(created) == checkpoint_time(checkpoints[-1])
        times = [checkpoint_time(item) for item in checkpoints]
        assert times == sorted(times)
        assert len(set(times)) == 3

    async def test_restore_a_checkpoint(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
    ) -> None:
        for marker in ["1", "2"]:
            await save(fetch_json, "rs.ipynb", small_notebook(marker))
        await archived(bookstore_app)
        status, checkpoints = await fetch_json("api/contents/rs.ipynb/checkpoints")
        assert len(checkpoints) == 2
        oldest = checkpoints[0]["id"]
        status, _ = await fetch_json(
            f"api/contents/rs.ipynb/checkpoints/{oldest}", method="POST", body=b""
        )
        assert status == 204
        assert marker_on_disk(jp_root_dir / "rs.ipynb") == "1"
        await archived(bookstore_app)
        status, checkpoints = await fetch_json("api/contents/rs.ipynb/checkpoints")
        assert len(checkpoints) == 3
        # A restored notebook is never signed trusted by the restore.
        on_disk = json.loads((jp_root_dir / "rs.ipynb").read_text())
        assert "signature" not in on_disk["metadata"]

    async def test_checkpoint_of_a_file_saved_outside_jupyter(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
    ) -> None:
        (jp_root_dir / "outside.ipynb").write_text(json.dumps(small_notebook("outside")))
        status, created = await fetch_json(
            "api/contents/outside.ipynb/checkpoints", method="POST", body=b""
        )
        assert status == 201, created
        versions = await listing(fetch_json, "outside.ipynb")
        assert [item["id"] for item in versions] == [created["id"]]

    async def test_unknown_checkpoint_and_delete(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        await save(fetch_json, "un.ipynb", small_notebook("1"))
        await archived(bookstore_app)
        status, reply = await fetch_json(
            "api/contents/un.ipynb/checkpoints/nosuchversion", method="POST", body=b""
        )
        assert status == 404
        assert "nosuchversion" in reply["message"]
        status, checkpoints = await fetch_json("api/contents/un.ipynb/checkpoints")
        status, reply = await fetch_json(
            f"api/contents/un.ipynb/checkpoints/{checkpoints[0]['id']}", method="DELETE"
        )
        assert status == 403
        assert "every version" in reply["message"]

    async def test_other_files_keep_jupyters_checkpoints(
        self, fetch_json: Any, jp_root_dir: Path
    ) -> None:
        status, _ = await fetch_json(
            "api/contents/notes.txt",
            method="PUT",
            body={"type": "file", "format": "text", "content": "v1"},
        )
        assert status == 201
        status, created = await fetch_json(
            "api/contents/notes.txt/checkpoints", method="POST", body=b""
        )
        assert status == 201
        assert created["id"] == "checkpoint"
        assert (jp_root_dir / ".ipynb_checkpoints" / "notes-checkpoint.txt").read_text() == "v1"
        checkpoint_time(created)  # Jupyter's own checkpoints, in bookstore's time format
        status, listed = await fetch_json("api/contents/notes.txt/checkpoints")
        assert [checkpoint_time(item) for item in listed] == [checkpoint_time(created)]

    async def test_nbdime_diffs_against_the_last_save(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path, jp_serverapp: Any
    ) -> None:
        await save(fetch_json, "nd.ipynb", small_notebook("1"))
        status, _ = await fetch_json("api/contents/nd.ipynb/checkpoints", method="POST", body=b"")
        assert status == 201
        status, reply = await fetch_json(
            "nbdime/api/diff", method="POST", body={"base": "checkpoint:nd.ipynb"}
        )
        assert status == 200, reply
        assert reply["diff"] == []
        saved = small_notebook("1")
        saved["cells"][0]["source"] = "# saved"
        await save(fetch_json, "nd.ipynb", saved)
        await archived(bookstore_app)
        # Changed since (outside Jupyter: not a version): nbdime takes the first checkpoint
        # listed, the newest version, so it shows only what changed since the last save.
        edited = small_notebook("1")
        edited["cells"][0]["source"] = "# edited"
        notebook = nbformat.from_dict(edited)
        jp_serverapp.contents_manager.notary.sign(notebook)  # trusted, as Jupyter's saves
        nbformat.write(notebook, jp_root_dir / "nd.ipynb")
        status, reply = await fetch_json(
            "nbdime/api/diff", method="POST", body={"base": "checkpoint:nd.ipynb"}
        )
        assert status == 200
        assert reply["base"]["cells"][0]["source"] == "# saved"
        [cells] = [entry for entry in reply["diff"] if entry["key"] == "cells"]
        assert [entry["key"] for entry in cells["diff"]] == [0]

    async def test_newest_first_in_the_server_oldest_first_on_jupyters_route(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_serverapp: Any
    ) -> None:
        """nbdime (in the server) reads the list newest first; JupyterLab (through
        ``GET /api/contents/{path}/checkpoints``) reverses it to show it newest first and
        takes its last entry as the latest, so that route answers it oldest first."""
        for marker in ["1", "2", "3"]:
            await save(fetch_json, "order.ipynb", small_notebook(marker))
            await archived(bookstore_app)
        versions = [item["id"] for item in await listing(fetch_json, "order.ipynb")]
        cm = jp_serverapp.contents_manager
        in_server = await cm.list_checkpoints("order.ipynb")
        assert [item["id"] for item in in_server] == versions
        times = [checkpoint_time(item) for item in in_server]
        assert times == sorted(times, reverse=True)
        status, routed = await fetch_json("api/contents/order.ipynb/checkpoints")
        assert status == 200
        assert routed == in_server[::-1]


class TestFewCheckpoints:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "max_checkpoints": 2}

    async def test_lists_only_the_newest_versions(
        self, fetch_json: Any, bookstore_app: BookstoreApp
    ) -> None:
        for marker in ["1", "2", "3"]:
            await save(fetch_json, "few.ipynb", small_notebook(marker))
            await archived(bookstore_app)
        versions = await listing(fetch_json, "few.ipynb")
        status, checkpoints = await fetch_json("api/contents/few.ipynb/checkpoints")
        assert status == 200
        assert [item["id"] for item in checkpoints] == [versions[1]["id"], versions[0]["id"]]


class TestSwitchedOff:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "enable_checkpoints": False}

    async def test_jupyters_own_checkpoints(
        self, fetch_json: Any, jp_serverapp: Any, jp_root_dir: Path
    ) -> None:
        assert not isinstance(jp_serverapp.contents_manager.checkpoints, BookstoreCheckpoints)
        await save(fetch_json, "off.ipynb", small_notebook("1"))
        status, created = await fetch_json(
            "api/contents/off.ipynb/checkpoints", method="POST", body=b""
        )
        assert status == 201
        assert created["id"] == "checkpoint"
        assert (jp_root_dir / ".ipynb_checkpoints" / "off-checkpoint.ipynb").exists()


class TestSyncContentsManager:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: Any) -> Any:
        jp_server_config.ServerApp.contents_manager_class = (
            "jupyter_server.services.contents.filemanager.FileContentsManager"
        )
        return jp_server_config

    async def test_keeps_jupyters_checkpoints(self, jp_serverapp: Any) -> None:
        assert not isinstance(jp_serverapp.contents_manager.checkpoints, BookstoreCheckpoints)


class TestStoreTooSlow:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        # A store that never answers (a closed port): archives wait in the spool.
        return {
            **bookstore_config,
            "s3_bucket": "notebooks",
            "s3_endpoint_url": "http://127.0.0.1:9",
            "checkpoint_timeout": 0.5,
        }

    async def test_saves_work_and_checkpoints_answer_a_placeholder(
        self, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
    ) -> None:
        """JupyterLab closes a notebook whose checkpoints cannot be listed, and reports a
        save whose checkpoint fails: both answer the placeholder while the store is down."""
        await save(fetch_json, "slow.ipynb", small_notebook("1"))
        status, created = await fetch_json(
            "api/contents/slow.ipynb/checkpoints", method="POST", body=b""
        )
        assert status == 201, created
        assert created["id"] == PENDING_CHECKPOINT_ID
        assert marker_on_disk(jp_root_dir / "slow.ipynb") == "1"
        assert bookstore_app.archiver is not None
        assert bookstore_app.archiver.pending == 1

        # Listing answers at once once the archiver knows the store fails.
        archiver = bookstore_app.archiver
        for _ in range(600):
            if archiver.failing:
                break
            await asyncio.sleep(0.05)
        assert archiver.failing
        status, listed = await fetch_json("api/contents/slow.ipynb/checkpoints")
        assert status == 200, listed
        assert [checkpoint["id"] for checkpoint in listed] == [PENDING_CHECKPOINT_ID]

        # Restoring the placeholder is refused in words; the file stays as saved.
        status, reply = await fetch_json(
            "api/contents/slow.ipynb/checkpoints", PENDING_CHECKPOINT_ID, method="POST", body=b""
        )
        assert status == 503, reply
        assert "not archived yet" in reply["message"]
        assert marker_on_disk(jp_root_dir / "slow.ipynb") == "1"

    async def test_listing_before_any_failure_answers_the_placeholder(
        self, fetch_json: Any, jp_root_dir: Path
    ) -> None:
        (jp_root_dir / "outside.ipynb").write_text(
            nbformat.writes(nbformat.from_dict(small_notebook("0")))
        )
        status, listed = await fetch_json("api/contents/outside.ipynb/checkpoints")
        assert status == 200, listed
        assert [checkpoint["id"] for checkpoint in listed] == [PENDING_CHECKPOINT_ID]
