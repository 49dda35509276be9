"""The run service with its runner on a real embedded Dask cluster and the embedded
store: retries, a killed worker, cancel through another process's handle, a stopping
or dead server, queued overlap, and notifications delivered once each (a real SMTP
server and a real webhook receiver)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4

from bookstore.config import BookstoreRuns, BookstoreSettings
from bookstore.core.access import Actor
from bookstore.core.archive import archive_version
from bookstore.core.areas import StoreAreas
from bookstore.core.runs.db import RunDB
from bookstore.core.runs.service import RunService
from bookstore.stores.base import ObjectStore
from tests.core.runs_rows import in_last_cell, run_row

ADA = Actor(username="ada")
RUN_TIMEOUT = 120.0


def notebook(body: str) -> bytes:
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    parameters = v4.new_code_cell('marker = ""')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, v4.new_code_cell(body)]
    return str(nbformat.writes(nb)).encode()


def first_attempt_then(marker: Path, first: str) -> str:
    """A cell that does ``first`` on the first attempt (no marker yet), and passes after."""
    return (
        "import os, pathlib\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "if not m.exists():\n"
        "    m.write_text('seen')\n"
        f"    {first}\n"
        "print('done')"
    )


async def put_source(store: ObjectStore, path: str, body: bytes) -> str:
    version = await archive_version(store, f"ws/ada/{path}", path, body)
    assert version is not None
    return version


def make_service(
    settings: BookstoreSettings, store: ObjectStore, url: str, **runs: Any
) -> RunService:
    async def open_store() -> ObjectStore:
        return store

    options = {"workers": 1, "poll_interval": 0.1, "lease_seconds": 3.0, **runs}
    return RunService(
        BookstoreRuns(database_url=url, **options),
        settings,
        open_store,
        lambda user: StoreAreas(settings, open_store, username=user),
        claim_owner="ada",
    )


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.sqlite'}"


@pytest.fixture
def service(
    settings: BookstoreSettings, store: ObjectStore, db_url: str, jp_asyncio_loop: Any
) -> Iterator[RunService]:
    running = make_service(settings, store, db_url, fire_schedules=False)
    jp_asyncio_loop.run_until_complete(running.start())
    yield running
    jp_asyncio_loop.run_until_complete(running.close())


async def wait_until(
    service: RunService, run_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        run = await service.get_run(ADA, run_id)
        if done(run):
            return run
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.05)


def final(run: dict[str, Any]) -> bool:
    return run["state"] not in ("QUEUED", "RUNNING")


async def retry_of(service: RunService, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        page = await service.list_runs(ADA, limit=100)
        retries = [run for run in page.runs if run["retry_of"] == run_id]
        if retries:
            return retries[0]
        assert time.monotonic() < deadline, page.runs
        await asyncio.sleep(0.05)


async def test_a_failed_run_is_retried_per_its_policy(
    service: RunService, store: ObjectStore, tmp_path: Path
) -> None:
    body = notebook(first_attempt_then(tmp_path / "m", "raise ValueError('flaky')"))
    await put_source(store, "flaky.ipynb", body)
    run, _ = await service.submit(
        ADA, {"path": "flaky.ipynb", "max_retries": 2, "retry_on": ["error"], "retry_backoff": 0}
    )
    run = await wait_until(service, run["id"], final)
    assert run["state"] == "FAILED"
    assert run["error"]["ename"] == "ValueError"
    retry = await wait_until(service, (await retry_of(service, run["id"]))["id"], final)
    assert retry["state"] == "COMPLETED"
    assert retry["attempt"] == 2
    assert retry["trigger"] == "retry"
    page = await service.list_runs(ADA, limit=100)
    assert len(page.runs) == 2, "one retry, not one per server pass"


async def test_a_killed_worker_loses_the_run_and_it_is_retried(
    service: RunService, store: ObjectStore, tmp_path: Path
) -> None:
    body = notebook(first_attempt_then(tmp_path / "m", "import time; time.sleep(600)"))
    await put_source(store, "long.ipynb", body)
    run, _ = await service.submit(
        ADA, {"path": "long.ipynb", "max_retries": 1, "retry_on": ["lost"], "retry_backoff": 0}
    )
    await wait_until(service, run["id"], in_last_cell)
    client = await service.engine.client()
    pids = await client.run(os.getpid)
    for pid in pids.values():
        os.kill(pid, signal.SIGKILL)
    run = await wait_until(service, run["id"], final)
    assert run["state"] == "LOST", run
    assert "worker" in run["error"]["evalue"]
    retry = await wait_until(service, (await retry_of(service, run["id"]))["id"], final)
    assert retry["state"] == "COMPLETED", retry


async def test_cancel_through_another_handle_stops_the_run(
    service: RunService,
    store: ObjectStore,
    settings: BookstoreSettings,
    db_url: str,
) -> None:
    await put_source(store, "sleep.ipynb", notebook("import time\ntime.sleep(600)"))
    run, _ = await service.submit(ADA, {"path": "sleep.ipynb"})
    await wait_until(service, run["id"], in_last_cell)
    other = make_service(settings, store, db_url)
    await other.start(execute=False, fire=False)
    asked = time.monotonic()
    await other.cancel(ADA, run["id"])
    run = await wait_until(other, run["id"], final)
    took = time.monotonic() - asked
    await other.close()
    assert run["state"] == "CANCELLED", (run, took)
    assert run["output"]["version_id"], "the partial output is a version"


async def test_a_stopping_server_does_not_wait_for_its_runs(
    settings: BookstoreSettings, store: ObjectStore, db_url: str
) -> None:
    running = make_service(settings, store, db_url)
    await running.start(fire=False)
    await put_source(store, "sleep.ipynb", notebook("import time\ntime.sleep(600)"))
    run, _ = await running.submit(ADA, {"path": "sleep.ipynb"})
    await wait_until(running, run["id"], in_last_cell)
    started = time.monotonic()
    await running.close(timeout=5)
    assert time.monotonic() - started < 30, "closing returned (it never waits for a run)"
    db = RunDB(db_url)
    stopped = db.require_run(run["id"])
    db.close()
    assert stopped["state"] == "LOST"
    assert stopped["error"]["evalue"] == "the server running it stopped"


async def test_the_reconciler_marks_a_dead_servers_runs_lost_and_retries_them(
    settings: BookstoreSettings, store: ObjectStore, db_url: str
) -> None:
    await put_source(store, "a.ipynb", notebook("print('ok')"))
    db = RunDB(db_url)
    orphan, _ = db.create_run(
        run_row(not_before=time.time() - 100, max_retries=1, retry_on=["lost"])
    )
    db.claim_runs("dead-server", now=time.time() - 100, lease=3, limit=1)
    db.close()
    running = make_service(settings, store, db_url)
    await running.start(fire=False)
    try:
        lost = await wait_until(running, orphan["id"], final)
        assert lost["state"] == "LOST"
        retry = await wait_until(running, (await retry_of(running, orphan["id"]))["id"], final)
        assert retry["state"] == "COMPLETED", retry
    finally:
        await running.close()


async def test_overlap_queue_starts_the_next_run_when_the_previous_ends(
    settings: BookstoreSettings, store: ObjectStore, db_url: str
) -> None:
    running = make_service(settings, store, db_url, workers=2, max_concurrent_runs=2)
    await running.start(fire=False)
    try:
        await put_source(store, "q.ipynb", notebook("print('ok')"))
        schedule = await running.create_schedule(
            ADA, {"path": "q.ipynb", "cron": "@yearly", "overlap": "queue"}
        )
        first = await running.run_schedule_now(ADA, schedule["id"])
        second = await running.run_schedule_now(ADA, schedule["id"])
        first = await wait_until(running, first["id"], final)
        second = await wait_until(running, second["id"], final)
        assert first["state"] == second["state"] == "COMPLETED"
        assert second["started_at"] >= first["finished_at"]
    finally:
        await running.close()


async def test_notifications_are_delivered_once_each(
    settings: BookstoreSettings,
    store: ObjectStore,
    db_url: str,
    smtp_server: Any,
    webhook_server: Any,
) -> None:
    running = make_service(
        settings, store, db_url, smtp_host=smtp_server.host, smtp_port=smtp_server.port
    )
    await running.start(fire=False)
    try:
        await put_source(store, "n.ipynb", notebook("1 / 0"))
        notify = [
            {"email": "ada@example.org", "on": ["started", "failed"]},
            {"webhook": webhook_server.url, "on": ["failed", "succeeded"]},
        ]
        run, _ = await running.submit(ADA, {"path": "n.ipynb", "notify": notify})
        run = await wait_until(running, run["id"], final)
        assert run["state"] == "FAILED"
        mails = await asyncio.to_thread(smtp_server.wait_for, lambda got: len(got) >= 2)
        hooks = await asyncio.to_thread(webhook_server.wait_for, lambda got: len(got) >= 1)
        db = RunDB(db_url)
        deadline = time.monotonic() + 30
        while True:  # a send is recorded just after the receiver has it
            sent = db.notifications_of(run["id"])
            if all(row["state"] == "sent" for row in sent) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        db.close()
        assert sorted(row["event"] for row in sent) == ["failed", "failed", "started"]
        assert [row["state"] for row in sent] == ["sent"] * 3
        # Some passes later, still exactly those.
        for _ in range(5):
            await running.runner.step()  # type: ignore[union-attr]
        assert len(smtp_server.messages) == 2
        assert len(webhook_server.requests) == 1
        subjects = sorted(str(mail.message["Subject"]) for mail in mails)
        assert any("failed" in subject for subject in subjects), subjects
        assert hooks[0].body["bookstore"]["dedup_key"] == f"{run['id']}:failed"
    finally:
        await running.close()
