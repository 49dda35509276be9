"""A real `jupyter server` killed with SIGKILL while archives are pending loses nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jupyter_process import JupyterServer
from tests.notebooks import first_cell, make_notebook
from tests.s3rig import SeaweedFS


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    servers: list[JupyterServer] = []

    def make(settings: dict[str, Any]) -> JupyterServer:
        server = JupyterServer(tmp_path, settings)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def test_sigkill_with_pending_archives_loses_nothing(
    seaweedfs: SeaweedFS, s3_prefix: str, tmp_path: Path, server_factory: Any
) -> None:
    settings = seaweedfs.settings_dict(
        workspace_prefix=f"{s3_prefix}/workspace",
        archive_spool_dir=str(tmp_path / "spool"),
        archive_retry_max_delay=0.5,
    )
    first = server_factory(settings)
    first.start()
    notebook = make_notebook(cells=3)
    seaweedfs.stop()
    try:
        for n in range(20):
            notebook["cells"][0]["source"] = f"before crash {n}"
            first.request(
                "PUT", "api/contents/crash.ipynb", {"type": "notebook", "content": notebook}
            )
        assert first.request("GET", "api/bookstore/archive")["pending"] == 20
        first.kill()
    finally:
        seaweedfs.start()

    second = server_factory(settings)
    second.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = second.request("GET", "api/bookstore/archive")
        if status["pending"] == 0 and status["archived"] == 20:
            break
        time.sleep(0.25)
    assert (status["pending"], status["archived"], status["failed"]) == (0, 20, 0)

    client = seaweedfs.client()
    key = f"{s3_prefix}/workspace/crash.ipynb"
    listed = client.list_object_versions(Bucket=seaweedfs.bucket, Prefix=key)["Versions"]
    bodies = [
        client.get_object(Bucket=seaweedfs.bucket, Key=key, VersionId=v["VersionId"])["Body"].read()
        for v in listed
        if v["Key"] == key
    ]
    newest_first = [first_cell(body) for body in bodies]
    assert newest_first == [f"before crash {n}" for n in reversed(range(20))]
    newest = client.get_object(Bucket=seaweedfs.bucket, Key=key)["Body"].read()
    assert first_cell(newest) == "before crash 19"
    assert newest == (first.root / "crash.ipynb").read_bytes()
