"""A full disk under the archive spool (and, for the embedded store, under the store):
every acknowledged save still becomes a version, the archive status says why it is
failing, and everything pending is archived, in order, once space returns.

The disk is a real 20 MB tmpfs (so the test needs the right to mount one: root, as on
CI); it is filled with a file until 1 MB is left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bookstore.server.app import BookstoreApp
from tests.notebooks import first_cell, make_notebook
from tests.paging import all_versions
from tests.server_fixtures import both_backends

pytestmark = both_backends

#: Size of the tmpfs, and the room left on it once filled.
DISK_MB, LEFT_MB = 20, 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 20 MB tmpfs, unmounted afterwards."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def bookstore_config(
    bookstore_config: dict[str, Any], small_disk: Path, backend: str
) -> dict[str, Any]:
    """The spool (and the embedded store) on the small disk."""
    config = {**bookstore_config, "archive_spool_dir": str(small_disk / "spool")}
    if backend == "local":
        config["local_store_dir"] = str(small_disk / "store")
    return config


def fill(disk: Path) -> Path:
    """Fill ``disk`` until :data:`LEFT_MB` is left; return the filler file."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as stream:
        stream.truncate(0)
        remaining = free - LEFT_MB * 1024 * 1024
        chunk = b"\0" * (1 << 20)
        while remaining > 0:
            stream.write(chunk[: min(len(chunk), remaining)])
            remaining -= len(chunk)
        stream.flush()
        os.fsync(stream.fileno())
    return filler


async def save(jp_fetch: Any, path: str, notebook: dict[str, Any]) -> int:
    body = json.dumps({"type": "notebook", "format": "json", "content": notebook})
    response = await jp_fetch("api", "contents", path, method="PUT", body=body)
    return int(response.code)


async def test_saves_on_a_full_spool_disk_become_versions_in_order(
    jp_fetch: Any,
    fetch_json: Any,
    bookstore_app: BookstoreApp,
    small_disk: Path,
    key_root: str,
    backend: str,
) -> None:
    """Before: 14 acknowledged saves made 10 versions (S3), 16 made 11 (embedded store),
    and the archive status said "ok"."""
    archiver = bookstore_app.archiver
    assert archiver is not None
    notebook = make_notebook("small", cells=2, output_bytes=100)
    assert await save(jp_fetch, "big.ipynb", notebook) == 201
    assert await archiver.drain(timeout=60)
    filler = fill(small_disk)

    markers = []
    for n in range(4):
        big = make_notebook(f"big {n}", cells=20, output_bytes=100_000)  # about 2 MB
        assert await save(jp_fetch, "big.ipynb", big) == 200
        markers.append(f"# Notebook big {n}")
    status, archive = await fetch_json("api/bookstore/archive")
    assert status == 200, archive
    assert archive["state"] == "failing", archive
    error = archive["last_error"]
    assert "no space left" in error.lower(), archive
    # The spool is on the full disk, and so is the embedded store: either may fail first.
    assert "spool" in error or (backend == "local" and "local store" in error), archive
    status, features = await fetch_json("api/bookstore")
    assert features["archive"]["state"] == "failing", features
    # The newest save is listed at once (pending, or archived already on S3).
    status, listed = await fetch_json("api/bookstore/workspace/big.ipynb/versions")
    assert status == 200, listed
    status, newest = await fetch_json(
        "api/bookstore/workspace/big.ipynb/versions", listed["versions"][0]["id"]
    )
    assert status == 200, newest
    assert newest["content"]["cells"][0]["source"] == markers[-1]

    if backend == "local":
        # The embedded store shares the full disk: the saves wait, held in memory.
        assert archive["held_in_memory"] >= 1, archive
    filler.unlink()
    assert await archiver.drain(timeout=60)
    store = await bookstore_app.ready_store()
    key = f"{key_root}/workspace/big.ipynb"
    versions = await all_versions(store, key)
    bodies = [(await store.get(key, v.version_id)).body for v in reversed(versions)]
    assert [first_cell(body) for body in bodies] == ["# Notebook small", *markers]

    # Space is back: the status says so, and the next save goes through the spool again.
    status, archive = await fetch_json("api/bookstore/archive")
    assert (archive["state"], archive["held_in_memory"]) == ("ok", 0), archive
    status, checkpoint = await fetch_json(
        "api/contents/big.ipynb/checkpoints", method="POST", body=""
    )
    assert status == 201, checkpoint
    assert checkpoint["id"] == versions[0].version_id
