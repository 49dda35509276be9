"""The Dask cluster runs execute on, and the job each run is in a worker.

:class:`DaskEngine` holds one asynchronous ``distributed.Client``: to an existing
scheduler (``BookstoreRuns.scheduler_address``), to a cluster class (dask-gateway,
dask-kubernetes…), or to an embedded ``LocalCluster`` started on the first run.  Dask's
own re-run of a task whose worker died is off (``allowed-failures`` 0 on the embedded
scheduler): the task fails with ``KilledWorker`` and bookstore decides (the run is LOST,
retried per its policy).

:func:`run_job` is what a worker executes: it builds the store from the settings the job
carries, reads the source version, runs it (:func:`.execute.execute_notebook`) and writes
the output notebook as the next version of the output key, with the run's provenance in
``metadata.bookstore.run`` and as object metadata.  While it runs it publishes progress
(cells, current cell, log, partial notebook) in the Dask scheduler's metadata and watches a Dask
``Event`` for cancel; the supervising server reads the one and sets the other.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import nbformat

from ...config import BookstoreRuns, BookstoreSettings
from ...stores.base import ObjectStore
from ..archive import archive_version
from .execute import Outcome, Progress, RunHooks, execute_notebook

__all__ = ["DaskEngine", "RunJob", "job_result", "run_job", "store_settings_of"]

#: Seconds between two progress publications of a worker.
PROGRESS_INTERVAL = 0.25

#: Object metadata fields of a run output version.
RUN_FIELD = "bookstore-run"
RUN_STATE_FIELD = "bookstore-run-state"


def store_settings_of(settings: BookstoreSettings) -> dict[str, Any]:
    """The store's configuration as plain values a worker can rebuild it from."""
    names = [
        "s3_access_key_id",
        "s3_secret_access_key",
        "s3_endpoint_url",
        "s3_region_name",
        "s3_bucket",
        "max_threads",
        "local_store_dir",
        "local_store_bucket",
    ]
    values: dict[str, Any] = {name: getattr(settings, name) for name in names}
    if settings.store_class is not None:
        cls = settings.store_class
        values["store_class"] = f"{cls.__module__}.{cls.__qualname__}"
    return values


@dataclass(frozen=True)
class RunJob:
    """Everything a worker needs for one attempt of a run."""

    run_id: str
    source_key: str
    version_id: str
    output_key: str
    output_path: str
    parameters: dict[str, Any]
    kernel_name: str
    execution_timeout: float | None
    wall_timeout: float | None
    provenance: dict[str, Any]
    store: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)


def _progress_key(run_id: str) -> list[str]:
    return ["bookstore-progress", run_id]


def _cancel_name(run_id: str) -> str:
    return f"bookstore-cancel-{run_id}"


def run_job(job: RunJob) -> dict[str, Any]:
    """Execute ``job`` in this worker; the result the runner records (a dict of plain
    values: ``state``, ``error``, ``output_version_id``, ``cells_done``, ``cells_total``,
    ``log``, ``started_at``, ``finished_at``, ``host``)."""
    from distributed import Event, get_client

    client = get_client()
    cancel_event = Event(_cancel_name(job.run_id), client=client)
    lock = threading.Lock()

    def on_progress(progress: Progress) -> None:
        report: dict[str, Any] = {
            "cells_done": progress.cells_done,
            "cells_total": progress.cells_total,
            "current_cell": progress.current_cell,
            "log": progress.log,
        }
        if progress.partial is not None:
            report["partial"] = json.dumps(progress.partial)
        with lock:
            try:
                client.set_metadata(_progress_key(job.run_id), report)
            except Exception:  # the scheduler going away must not fail the run
                logging.getLogger(__name__).debug("progress not published", exc_info=True)

    def cancelled() -> bool:
        try:
            return bool(cancel_event.is_set())
        except Exception:
            return False

    store = _make_store(job.store)
    outcome = asyncio.run(_execute(job, store, RunHooks(on_progress, cancelled)))
    return outcome


async def _execute(job: RunJob, store: ObjectStore, hooks: RunHooks) -> dict[str, Any]:
    await store.start()
    try:
        source = await store.get(job.source_key, version_id=job.version_id)
        old_env = {name: os.environ.get(name) for name in job.env}
        os.environ.update(job.env)
        try:
            outcome = await asyncio.to_thread(
                execute_notebook,
                source.body,
                job.parameters,
                kernel_name=job.kernel_name,
                execution_timeout=job.execution_timeout,
                wall_timeout=job.wall_timeout,
                hooks=hooks,
                progress_interval=PROGRESS_INTERVAL,
            )
        finally:
            for name, value in old_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        output_version = await _store_output(store, job, outcome)
        return {**job_result(outcome), "output_version_id": output_version}
    finally:
        await store.close()


def job_result(outcome: Outcome) -> dict[str, Any]:
    """The plain values of ``outcome`` a runner records."""
    return {
        "state": outcome.state.value,
        "error": outcome.error,
        "cells_done": outcome.cells_done,
        "cells_total": outcome.cells_total,
        "log": outcome.log,
        "started_at": outcome.started_at,
        "finished_at": outcome.finished_at,
        "host": socket.gethostname(),
    }


async def _store_output(store: ObjectStore, job: RunJob, outcome: Outcome) -> str | None:
    """Write the (possibly partial) output as the next version of the output key."""
    notebook = nbformat.reads(outcome.output.decode("utf-8"), as_version=4)
    provenance = {
        **job.provenance,
        "state": outcome.state.value,
        "started_at": _iso(outcome.started_at),
        "finished_at": _iso(outcome.finished_at),
        "duration_s": round(outcome.finished_at - outcome.started_at, 3),
        "cells_done": outcome.cells_done,
        "cells_total": outcome.cells_total,
    }
    if outcome.error is not None:
        provenance["error"] = {
            name: outcome.error.get(name) for name in ("cell_index", "ename", "evalue")
        }
    bookstore_meta = dict(notebook.metadata.get("bookstore", {}))
    bookstore_meta["run"] = provenance
    notebook.metadata["bookstore"] = bookstore_meta
    body = nbformat.writes(notebook).encode("utf-8")
    metadata = {RUN_FIELD: job.run_id, RUN_STATE_FIELD: outcome.state.value}
    version = await archive_version(store, job.output_key, job.output_path, body, metadata=metadata)
    if version is None:  # identical to the latest version: that version is this output
        version = (await store.head(job.output_key)).version_id
    return version


def _iso(epoch: float) -> str:
    from ...timestamps import format_epoch

    return format_epoch(epoch)


def _make_store(values: dict[str, Any]) -> ObjectStore:
    values = dict(values)
    store_class = values.pop("store_class", None)
    settings = BookstoreSettings(**values)
    if store_class:
        module, _, name = store_class.rpartition(".")
        settings.store_class = getattr(importlib.import_module(module), name)
    return settings.make_store()


class DaskEngine:
    """The Dask cluster of one server (or of ``jupyter bookstore scheduler``)."""

    def __init__(self, settings: BookstoreRuns, log: logging.Logger | None = None) -> None:
        self.settings = settings
        self.log = log or logging.getLogger(__name__)
        self._client: Any = None
        self._cluster: Any = None
        self._starting: asyncio.Lock | None = None

    @property
    def description(self) -> str:
        """What runs execute on, for provenance and logs."""
        if self.settings.scheduler_address:
            return f"dask {self.settings.scheduler_address}"
        if self.settings.cluster_class:
            return f"dask {self.settings.cluster_class}"
        return f"dask LocalCluster ({self.settings.workers} workers)"

    @property
    def started(self) -> bool:
        """Whether the client is connected."""
        return self._client is not None

    async def client(self) -> Any:
        """The connected client (the cluster started on the first call)."""
        if self._client is not None:
            return self._client
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._client is None:
                self._client = await self._connect()
        return self._client

    async def _connect(self) -> Any:
        import dask
        from distributed import Client, LocalCluster

        settings = self.settings
        dask.config.set({"distributed.scheduler.allowed-failures": 0})
        if settings.scheduler_address:
            self.log.info("bookstore: runs go to the Dask scheduler %s", settings.scheduler_address)
            return await Client(settings.scheduler_address, asynchronous=True)
        if settings.cluster_class:
            module, _, name = settings.cluster_class.rpartition(".")
            cls = getattr(importlib.import_module(module), name)
            self._cluster = await cls(asynchronous=True, **settings.cluster_options)
        else:
            started = time.monotonic()
            self._cluster = await LocalCluster(
                n_workers=settings.workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=settings.worker_memory,
                host="127.0.0.1",
                dashboard_address=None,
                # Its dashboard on a free local port, not 8787 (which may be taken: a warning).
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                asynchronous=True,
            )
            self.log.info(
                "bookstore: started an embedded Dask cluster of %d workers in %.1f s",
                settings.workers,
                time.monotonic() - started,
            )
        return await Client(self._cluster, asynchronous=True)

    async def submit(self, job: RunJob) -> Any:
        """Start ``job`` on a worker; its future."""
        client = await self.client()
        return client.submit(run_job, job, key=f"bookstore-run-{job.run_id}", pure=False)

    async def progress(self, run_id: str) -> dict[str, Any] | None:
        """The latest progress a run's worker published, or None."""
        client = await self.client()
        value = await client.get_metadata(_progress_key(run_id), default=None)
        return value if isinstance(value, dict) else None

    async def cancel(self, run_id: str) -> None:
        """Tell a run's worker to stop it (SIGINT to its kernel, then kill)."""
        from distributed import Event

        client = await self.client()
        await Event(_cancel_name(run_id), client=client).set()

    async def forget(self, run_id: str) -> None:
        """Drop a finished run's progress and cancel flag from the scheduler."""
        from distributed import Event

        client = await self.client()
        try:
            await client.set_metadata(_progress_key(run_id), None)
            await Event(_cancel_name(run_id), client=client).clear()
        except Exception:  # best effort: the scheduler keeps little per run
            self.log.debug("bookstore: could not forget run %s", run_id, exc_info=True)

    async def close(self) -> None:
        """Disconnect, and stop the embedded cluster (runs on it end with it)."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            await client.close(timeout=2)
        if cluster is not None:
            await cluster.close(timeout=5)
