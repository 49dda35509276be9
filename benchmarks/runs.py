"""Runs against the least they must cost: papermill alone, and raw Dask submits.

Three measurements, side by side in one run, on the embedded store in a temporary folder
and an embedded Dask ``LocalCluster``:

* ``submit -> COMPLETED`` of a trivial two-cell notebook through :class:`RunService` on a
  warm cluster of one worker, against ``papermill.execute_notebook`` of the same notebook
  in this process (each starts a kernel). Goal: p50 under 2 s, at most 50 ms over
  papermill.
* ``50 queued runs on 2 workers``: the time until all 50 are COMPLETED, against 50 raw
  ``client.submit`` of the same papermill call on a ``LocalCluster`` of 2 workers (the
  throughput ratio; goal at least 0.9).
* ``cancel -> CANCELLED``: a run in ``time.sleep`` cancelled through another handle on
  the database (as from another server), 5 times (goal: within 1 s).
* ``tick -> claimed``: with per-minute schedules fired by the service's scheduler loop,
  the delay from each tick's time to its run being claimed (p99; goal under 1 s). It waits
  for ``--ticks`` minute boundaries (default 2).

Usage: ``.venv/bin/python benchmarks/runs.py [--rounds N] [--queued N] [--ticks N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from _report import print_rows, summarize
from nbformat import v4

from bookstore.config import BookstoreRuns, BookstoreSettings
from bookstore.core.access import Actor
from bookstore.core.archive import archive_version
from bookstore.core.areas import StoreAreas
from bookstore.core.runs.service import RunService
from bookstore.stores.base import ObjectStore

USER = Actor(username="bench")


def notebook(body: str) -> bytes:
    """A two-cell notebook: a ``parameters`` cell (``x = 1``), then ``body``."""
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    parameters = v4.new_code_cell("x = 1")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, v4.new_code_cell(body)]
    return str(nbformat.writes(nb)).encode()


def trivial_notebook() -> bytes:
    """The notebook every measure runs: one cell printing a parameter."""
    return notebook("print(x + 1)")


def papermill_once(source: str, output: str) -> float:
    """One bare papermill execution (ms)."""
    import papermill

    started = time.perf_counter()
    papermill.execute_notebook(
        source, output, parameters={"x": 2}, kernel_name="python3", progress_bar=False
    )
    return (time.perf_counter() - started) * 1000


async def wait_final(service: RunService, run_id: str) -> dict[str, Any]:
    while True:
        run = await service.get_run(USER, run_id)
        if run["state"] not in ("QUEUED", "RUNNING"):
            return run
        await asyncio.sleep(0.01)


def make_service(settings: BookstoreSettings, store: ObjectStore, url: str, **options: Any) -> Any:
    async def open_store() -> ObjectStore:
        return store

    return RunService(
        BookstoreRuns(database_url=url, **options),
        settings,
        open_store,
        lambda user: StoreAreas(settings, open_store, username=user),
        claim_owner=USER.username,
    )


async def latency(settings: BookstoreSettings, store: ObjectStore, tmp: Path, rounds: int) -> Any:
    service = make_service(settings, store, f"sqlite:///{tmp / 'latency.sqlite'}", workers=1)
    await service.start(fire=False)
    source = tmp / "trivial.ipynb"
    source.write_bytes(trivial_notebook())
    bookstore_ms: list[float] = []
    papermill_ms: list[float] = []
    try:
        for round_ in range(rounds + 2):  # two warm-up rounds
            started = time.perf_counter()
            run, _ = await service.submit(USER, {"path": "trivial.ipynb", "parameters": {"x": 2}})
            done = await wait_final(service, run["id"])
            took = (time.perf_counter() - started) * 1000
            assert done["state"] == "COMPLETED", done
            bare = await asyncio.to_thread(papermill_once, str(source), str(tmp / "out.ipynb"))
            if round_ >= 2:
                bookstore_ms.append(took)
                papermill_ms.append(bare)
    finally:
        await service.close()
    return bookstore_ms, papermill_ms


def raw_dask_batch(source: str, tmp: Path, count: int) -> float:
    """``count`` papermill runs submitted straight to a 2-worker LocalCluster (s)."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.gather(client.map(_raw_run, [source], [str(tmp / "warm.ipynb")], pure=False))
        started = time.perf_counter()
        futures = [
            client.submit(_raw_run, source, str(tmp / f"raw-{n}.ipynb"), pure=False)
            for n in range(count)
        ]
        client.gather(futures)
        return time.perf_counter() - started


def _raw_run(source: str, output: str) -> None:
    import papermill

    papermill.execute_notebook(
        source, output, parameters={"x": 2}, kernel_name="python3", progress_bar=False
    )


async def throughput(settings: BookstoreSettings, store: ObjectStore, tmp: Path, count: int) -> Any:
    service = make_service(
        settings, store, f"sqlite:///{tmp / 'batch.sqlite'}", workers=2, max_concurrent_runs=2
    )
    await service.start(fire=False)
    try:
        warm, _ = await service.submit(USER, {"path": "trivial.ipynb"})
        await wait_final(service, warm["id"])
        started = time.perf_counter()
        ids = [
            (await service.submit(USER, {"path": "trivial.ipynb"}))[0]["id"] for _ in range(count)
        ]
        states = [(await wait_final(service, run_id))["state"] for run_id in ids]
        elapsed = time.perf_counter() - started
    finally:
        await service.close()
    assert states == ["COMPLETED"] * count, states
    return elapsed


async def ticks(
    settings: BookstoreSettings, store: ObjectStore, tmp: Path, count: int
) -> tuple[list[float], list[float]]:
    """Per-minute schedules fired by the service's loop on a warm cluster: for each tick,
    the delay to its claim in the database, and to its run's start (ms)."""
    service = make_service(settings, store, f"sqlite:///{tmp / 'ticks.sqlite'}", workers=1)
    await service.start()
    claims: list[float] = []
    starts: list[float] = []
    try:
        warm, _ = await service.submit(USER, {"path": "trivial.ipynb"})
        await wait_final(service, warm["id"])
        schedules = [
            await service.create_schedule(
                USER, {"path": "trivial.ipynb", "cron": "* * * * *", "name": f"s{n}"}
            )
            for n in range(3)
        ]
        db = service.db
        deadline = time.time() + 60 * count + 30
        while time.time() < deadline:
            fired = sum(len(db.fires_of(schedule["id"])) for schedule in schedules)
            if fired >= count * len(schedules):
                break
            await asyncio.sleep(0.5)
        for schedule in schedules:
            for fire in db.fires_of(schedule["id"]):
                claims.append((fire["claimed_at"] - fire["fire_time"]) * 1000)
                run = db.get_run(fire["run_id"])
                if run is not None and run["started_at"]:
                    starts.append((run["started_at"] - fire["fire_time"]) * 1000)
    finally:
        await service.close()
    return claims, starts


async def cancels(
    settings: BookstoreSettings, store: ObjectStore, tmp: Path, rounds: int
) -> list[float]:
    """Cancel through another handle on the database (as from another server): the time
    from the request to CANCELLED, with a cell in ``time.sleep`` (ms)."""
    url = f"sqlite:///{tmp / 'cancel.sqlite'}"
    running = make_service(settings, store, url, workers=1)
    other = make_service(settings, store, url)
    await running.start(fire=False)
    await other.start(execute=False, fire=False)
    took: list[float] = []
    try:
        for _ in range(rounds):
            run, _ = await running.submit(USER, {"path": "sleep.ipynb"})
            while True:
                progress = (await running.get_run(USER, run["id"]))["progress"]
                total = progress["cells_total"]
                in_cell = progress["current_cell"] is not None
                if in_cell and total and progress["cells_done"] >= total - 1:
                    break  # in the sleeping cell
                await asyncio.sleep(0.02)
            started = time.perf_counter()
            await other.cancel(USER, run["id"])
            while True:
                if (await other.get_run(USER, run["id"]))["state"] == "CANCELLED":
                    break
                await asyncio.sleep(0.01)
            took.append((time.perf_counter() - started) * 1000)
    finally:
        await other.close()
        await running.close()
    return took


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from bookstore.stores.local import LocalStore

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        settings = BookstoreSettings(
            local_store_dir=str(tmp / "store"), workspace_prefix="ws/{username}"
        )
        store = LocalStore(settings=settings)
        await store.start()
        await archive_version(store, "ws/bench/trivial.ipynb", "trivial.ipynb", trivial_notebook())
        bookstore_ms, papermill_ms = await latency(settings, store, tmp, args.rounds)
        batch = await throughput(settings, store, tmp, args.queued)
        raw = await asyncio.to_thread(raw_dask_batch, str(tmp / "trivial.ipynb"), tmp, args.queued)
        await archive_version(
            store, "ws/bench/sleep.ipynb", "sleep.ipynb", notebook("import time\ntime.sleep(600)")
        )
        cancelled = await cancels(settings, store, tmp, 5)
        claims, starts = await ticks(settings, store, tmp, args.ticks) if args.ticks else ([], [])
        await store.close()
    ours, bare = summarize(bookstore_ms), summarize(papermill_ms)
    rows = [
        ["measure", "bookstore", "baseline", "ratio / overhead"],
        [
            "submit->COMPLETED p50 (ms)",
            f"{ours['median_ms']:.0f}",
            f"{bare['median_ms']:.0f} papermill",
            f"+{ours['median_ms'] - bare['median_ms']:.0f} ms",
        ],
        [
            f"{args.queued} queued runs, 2 workers (s)",
            f"{batch:.1f}",
            f"{raw:.1f} raw dask",
            f"{raw / batch:.2f}x throughput",
        ],
    ]
    rows.append(
        [
            "cancel->CANCELLED p50/max (ms)",
            f"{statistics.median(cancelled):.0f}/{max(cancelled):.0f}",
            "from another handle",
            "",
        ]
    )
    if claims:
        rows.append(["tick->claimed p99 (ms)", f"{_p99(claims):.0f}", f"n={len(claims)}", ""])
    if starts:
        rows.append(["tick->run started p99 (ms)", f"{_p99(starts):.0f}", f"n={len(starts)}", ""])
    print_rows(rows, left=1)
    summary = {
        "submit_completed_p50_ms": ours["median_ms"],
        "papermill_p50_ms": bare["median_ms"],
        "overhead_ms": round(ours["median_ms"] - bare["median_ms"], 1),
        "batch_s": round(batch, 2),
        "raw_dask_s": round(raw, 2),
        "throughput_ratio": round(raw / batch, 3),
        "cancel_median_ms": round(statistics.median(cancelled), 1),
        "cancel_max_ms": round(max(cancelled), 1),
        "tick_claimed_p99_ms": round(_p99(claims), 1) if claims else None,
        "tick_claimed_median_ms": round(statistics.median(claims), 1) if claims else None,
        "tick_started_p99_ms": round(_p99(starts), 1) if starts else None,
    }
    print(json.dumps(summary))
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--queued", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=2)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
