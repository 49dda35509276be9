"""The server's background retention pass (``BookstoreSettings.retention_interval``),
through the real Jupyter server on both backends: saves become versions, the pass prunes
them as the policy says, audits it, and a failing pass does not stop the next."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bookstore.server.app import BookstoreApp
from tests.notebooks import make_notebook
from tests.paging import all_versions
from tests.server_fixtures import both_backends

pytestmark = both_backends

#: Seconds the conditions below may take (they usually take well under one).
PATIENCE = 60.0


@pytest.fixture
def retention_interval() -> float:
    return 0.2


@pytest.fixture
def bookstore_config(
    bookstore_config: dict[str, Any], key_root: str, retention_interval: float
) -> dict[str, Any]:
    """A pass every ``retention_interval`` s keeping only the latest version of files under
    ``scratch``."""
    return {
        **bookstore_config,
        "annotations_prefix": f"{key_root}/annotations",
        "retention": {"scratch": {"keep_all_days": 0, "hourly_days": 0, "daily_days": 0}},
        "retention_interval": retention_interval,
    }


async def start(jp_serverapp: Any) -> BookstoreApp:
    """Start the server's extensions, as a server does once its event loop runs (the
    in-process test server never does it by itself); the bookstore app."""
    await jp_serverapp.extension_manager.start_all_extensions()
    app: BookstoreApp = jp_serverapp.web_app.settings["bookstore"]
    return app


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait until ``condition()`` holds (checked every 50 ms, at most :data:`PATIENCE` s)."""
    deadline = time.monotonic() + PATIENCE
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def save(jp_fetch: Any, path: str, marker: str) -> None:
    notebook = make_notebook(cells=2, output_bytes=10)
    notebook["cells"][0]["source"] = f"# {marker}"
    await jp_fetch(
        "api",
        "contents",
        path,
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": notebook}),
    )


async def test_the_background_pass_prunes_and_audits(
    jp_fetch: Any, fetch_json: Any, jp_serverapp: Any, key_root: str
) -> None:
    bookstore_app = await start(jp_serverapp)
    assert bookstore_app.retention is not None
    await jp_fetch(
        "api", "contents", "scratch", method="PUT", body=json.dumps({"type": "directory"})
    )
    for n in range(4):
        await save(jp_fetch, "scratch/a.ipynb", f"scratch {n}")
        await save(jp_fetch, "kept.ipynb", f"kept {n}")
    assert bookstore_app.archiver is not None
    assert await bookstore_app.archiver.drain(timeout=PATIENCE)
    store = await bookstore_app.ready_store()
    scratch, kept = f"{key_root}/workspace/scratch/a.ipynb", f"{key_root}/workspace/kept.ipynb"
    latest = (await store.head(scratch)).version_id

    async def pruned() -> bool:
        return [v.version_id for v in await all_versions(store, scratch)] == [latest]

    await until(pruned, "the pass to prune scratch/a.ipynb")
    assert len(await all_versions(store, kept)) == 4  # no policy covers it

    async def audited() -> list[dict[str, Any]]:
        status, page = await fetch_json(
            "api", "bookstore", "audit", params={"action": "prune", "limit": "100"}
        )
        assert status == 200
        return list(page["events"])

    async def all_audited() -> bool:
        events = await audited()
        deleted: int = sum(event["result"]["deleted_versions"] for event in events)
        return deleted == 3

    await until(all_audited, "the prune audit events")
    events = await audited()
    assert {event["result"]["trigger"] for event in events} == {"background"}
    assert {event["origin"]["via"] for event in events} == {"server"}
    assert {pair[0] for event in events for pair in event["result"]["deleted"]} == {scratch}
    # Passes that delete nothing write no event.
    retention = bookstore_app.retention
    before = retention.passes

    async def two_more_passes() -> bool:
        return retention.passes >= before + 2

    await until(two_more_passes, "two more passes")
    assert len(await audited()) == len(events)


async def test_a_failing_pass_is_logged_and_the_next_one_runs(
    jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bookstore_app = await start(jp_serverapp)
    retention = bookstore_app.retention
    assert retention is not None
    store = await bookstore_app.ready_store()
    calls = 0
    original = store.list_keys

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in a pass")
        return await original(*args, **kwargs)

    monkeypatch.setattr(store, "list_keys", failing_once)
    before = retention.passes

    async def two_passes() -> bool:
        return retention.passes >= before + 2

    await until(two_passes, "two passes")
    assert "the retention pass failed unexpectedly" in caplog.text
    assert "bookstore: retention pass: " in caplog.text
    assert bookstore_app.retention is retention  # still running


@pytest.mark.parametrize("retention_interval", [0.0])
async def test_no_pass_without_an_interval(jp_serverapp: Any) -> None:
    bookstore_app = await start(jp_serverapp)
    assert bookstore_app.bookstore_settings.retention_interval == 0
    assert bookstore_app.retention is None
