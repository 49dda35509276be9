"""A huge notebook is archived whole (streamed: multipart on S3) and diffed in a worker
process, while the server keeps answering everyone else.

The notebook is about 40 MB here (above every size threshold: 8 MB parts, 16 MB process
diffs) to keep the suite short; ``benchmarks/huge_notebooks.py`` measures 100 MB.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bookstore.core.diff import PROCESS_DIFF_BYTES
from bookstore.server.app import BookstoreApp
from bookstore.stores.base import CHUNK_SIZE
from tests.notebooks import make_notebook
from tests.server_fixtures import both_backends

pytestmark = both_backends


async def test_a_huge_notebook_is_archived_whole_and_diffed_while_others_are_served(
    jp_fetch: Any, fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
) -> None:
    archiver = bookstore_app.archiver
    assert archiver is not None
    notebook = make_notebook("huge", cells=40, output_bytes=1_000_000)
    for marker in ("first", "second"):
        notebook["cells"][0]["source"] = marker
        body = json.dumps({"type": "notebook", "format": "json", "content": notebook})
        response = await jp_fetch("api", "contents", "huge.ipynb", method="PUT", body=body)
        assert response.code in (200, 201)
        assert await archiver.drain(timeout=120)
    size = (jp_root_dir / "huge.ipynb").stat().st_size
    assert size > max(2 * CHUNK_SIZE, PROCESS_DIFF_BYTES)

    status, listed = await fetch_json("api/bookstore/workspace/huge.ipynb/versions")
    assert status == 200, listed
    newest, oldest = listed["versions"]
    assert newest["size"] == size
    store = await bookstore_app.ready_store()
    history = await bookstore_app.services.history("workspace")
    stored = await store.get(history.key_for("huge.ipynb"), newest["id"])
    assert stored.body == (jp_root_dir / "huge.ipynb").read_bytes()

    # While the diff runs, the server answers other requests.
    diff = asyncio.ensure_future(
        fetch_json(
            "api/bookstore/workspace/huge.ipynb/diff",
            params={"base": oldest["id"], "remote": newest["id"], "content": "false"},
            request_timeout=300,  # the first big diff starts the diff worker process
        )
    )
    answered_during_diff = 0
    while not diff.done():
        status, _ = await fetch_json("api/bookstore/archive")
        assert status == 200
        answered_during_diff += 0 if diff.done() else 1
    status, result = await diff
    assert status == 200, result
    assert result["summary"]["text"] == "1 cell changed"
    assert answered_during_diff > 0
