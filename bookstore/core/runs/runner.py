"""The runner of one server: it starts queued runs on the engine, watches them, records
how they end, retries them per policy, reconciles runs whose server died and sends the
notifications.

Every look is one pass of :meth:`Runner.step` (every ``poll_interval``, or at once when
a run is submitted here):

* **dispatch**: up to ``max_concurrent`` runs at once; each is claimed in the database
  (RUNNING with a lease, :meth:`.db.RunDB.claim_runs`), its version resolved (``latest``
  is the newest at start) and sent to the engine;
* **supervise**: the leases are renewed every third of their length; the progress the
  worker publishes is written to the run; a cancel asked through any server (a flag in
  the database) is forwarded to the worker; a finished job's result becomes the run's
  final state (a worker that died: LOST);
* **retry**: a FAILED (``error``), TIMED_OUT (``timeout``) or LOST (``lost``) run with
  retries left gets a new queued run (``retry_of``), due after a doubling backoff; the
  idempotency key ``retry:<id>`` makes that happen once whichever server sees it;
* **reconcile** (at start and every lease): runs whose lease expired are LOST (their
  server died) and retried;
* **notify**: due notifications are claimed and sent (at least once: a failed send is
  retried with backoff; the receiver de-duplicates by the dedup key).

Closing never waits for runs: this server's running runs are marked LOST at once
("the server stopped") and retried per policy by whichever server runs next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import BookstoreError, ObjectNotFound
from ...stores.base import ObjectStore
from .db import RunDB
from .engine import DaskEngine, RunJob
from .models import run_model
from .notify import MailSettings, Notification, NotificationFailed, parse_targets, send
from .parameters import render_templates
from .states import RunState

__all__ = [
    "FINAL_EVENTS",
    "MAX_BACKOFF",
    "Runner",
    "RunnerOptions",
    "notification_rows",
    "retry_row",
]

log = logging.getLogger(__name__)

#: The notification event of each final state.
FINAL_EVENTS = {
    RunState.COMPLETED: "succeeded",
    RunState.FAILED: "failed",
    RunState.TIMED_OUT: "failed",
    RunState.LOST: "lost",
    RunState.SKIPPED: "skipped",
}
#: The ``retry_on`` cause of each state.
RETRY_CAUSES = {RunState.FAILED: "error", RunState.TIMED_OUT: "timeout", RunState.LOST: "lost"}
#: The longest wait before a retry, seconds.
MAX_BACKOFF = 3600.0
#: Seconds between two progress reads of one run.
PROGRESS_EVERY = 0.25
#: Attempts of one notification before it is given up (``failed``).
NOTIFY_ATTEMPTS = 8


def retry_row(run: dict[str, Any], now: float) -> dict[str, Any] | None:
    """The new run retrying ``run`` (final) when its policy asks for one, else None."""
    cause = RETRY_CAUSES.get(RunState(run["state"]))
    if cause is None or cause not in (run.get("retry_on") or []):
        return None
    attempt = int(run.get("attempt") or 1)
    if attempt > int(run.get("max_retries") or 0):
        return None
    delay = min(float(run.get("retry_backoff") or 0.0) * 2 ** (attempt - 1), MAX_BACKOFF)
    skip = {
        "id", "state", "reason", "error", "cells_done", "cells_total", "current_cell", "log",
        "partial", "started_at", "finished_at", "updated_at", "lease_owner", "lease_until",
        "cancel_requested", "output_version_id", "created_at", "engine",
    }  # fmt: skip
    row = {name: value for name, value in run.items() if name not in skip}
    if run["version_policy"] == "latest":
        row["version_id"] = None  # the newest at the retry's start
    row.update(
        state=RunState.QUEUED.value,
        trigger="retry",
        attempt=attempt + 1,
        retry_of=run["id"],
        idempotency_key=f"retry:{run['id']}",
        not_before=now + delay,
    )
    return row


def notification_rows(run: dict[str, Any], event: str) -> list[dict[str, Any]]:
    """The ``(run, event, target)`` rows of the targets of ``run`` that want ``event``."""
    try:
        targets = parse_targets(run.get("notify") or [])
    except BookstoreError:
        return []
    return [
        {
            "run_id": run["id"],
            "event": event,
            "target": json.dumps(target.to_json(), sort_keys=True),
        }
        for target in targets
        if event in target.events
    ]


@dataclass
class RunnerOptions:
    """How one runner behaves (from ``BookstoreRuns``)."""

    server_id: str
    lease: float = 15.0
    poll_interval: float = 0.2
    max_concurrent: int = 4
    #: Claim only this user's runs (a single-user server); None: everybody's.
    owner: str | None = None
    #: Claim only these runs (``jupyter bookstore run --wait``: its own); None: any.
    only_runs: set[str] | None = None
    mail: MailSettings = field(default_factory=MailSettings)
    #: The link to a run in notifications.
    run_url: Callable[[str], str | None] | None = None
    #: Environment variables of each run's kernel, by owner.
    run_env: Callable[[dict[str, Any]], dict[str, str]] | None = None


@dataclass
class _Active:
    run: dict[str, Any]
    future: Any
    started: float
    progress_at: float = 0.0
    cancel_sent: bool = False
    slow_noted: bool = False
    progress_seen: tuple[Any, ...] = ()


class Runner:
    """Dispatch, supervision, retries, reconciliation and notifications of one server."""

    def __init__(
        self,
        db: RunDB,
        engine: DaskEngine,
        open_store: Callable[[], Awaitable[ObjectStore]],
        store_settings: dict[str, Any],
        options: RunnerOptions,
    ) -> None:
        self.db = db
        self.engine = engine
        self.open_store = open_store
        self.store_settings = store_settings
        self.options = options
        self.active: dict[str, _Active] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._next_renew = 0.0
        self._next_reconcile = 0.0
        self._session: Any = None
        self._loop_ref: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the loop (in the running event loop)."""
        if self._task is None:
            self._loop_ref = asyncio.get_running_loop()
            self._task = self._loop_ref.create_task(self._loop())

    def wake(self) -> None:
        """Look at the queue now (a run was just submitted)."""
        self._wake.set()

    def _wake_threadsafe(self) -> None:
        loop = self._loop_ref
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def close(self) -> None:
        """Stop at once: this server's running runs become LOST (retried per policy)."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for run_id in list(self.active):
            self.active.pop(run_id)
            lost = await asyncio.to_thread(
                self.db.transition,
                run_id,
                RunState.LOST,
                expected=[RunState.RUNNING],
                error={"ename": "Lost", "evalue": "the server running it stopped"},
            )
            if lost is not None:
                await self._after_final(lost)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _loop(self) -> None:
        while not self._closing:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bookstore: the runner's pass failed; trying again")
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.options.poll_interval)
            self._wake.clear()

    # -- one pass -------------------------------------------------------------------------

    async def step(self) -> None:
        """One look at leases, the queue, the running runs and the notifications."""
        now = time.time()
        if now >= self._next_reconcile:
            self._next_reconcile = now + self.options.lease
            await self.reconcile()
        if self.active and now >= self._next_renew:
            self._next_renew = now + self.options.lease / 3
            await self._renew()
        await self._supervise()
        await self._dispatch()
        await self._notify()

    async def reconcile(self) -> None:
        """Mark LOST the runs whose server died (lease expired), and retry them."""
        lost = await asyncio.to_thread(self.db.expire_leases, time.time())
        for run in lost:
            log.warning("bookstore: run %s was lost (its server stopped renewing it)", run["id"])
            await self._after_final(run)

    async def _renew(self) -> None:
        ids = list(self.active)
        held = await asyncio.to_thread(
            self.db.renew, self.options.server_id, ids, time.time() + self.options.lease
        )
        for run_id in set(ids) - held:
            # Another server decided (our lease had expired): stop supervising it.
            log.warning("bookstore: lost the lease of run %s; no longer supervising it", run_id)
            self.active.pop(run_id)
            await self.engine.cancel(run_id)

    async def _dispatch(self) -> None:
        capacity = self.options.max_concurrent - len(self.active)
        if capacity <= 0 or self._closing:
            return
        if not self.engine.started:
            # Start the cluster before claiming: a claim's lease must not run out while
            # the cluster starts (another server would take the run for lost).
            due = await asyncio.to_thread(
                self.db.has_due_runs, time.time(), self.options.owner, self.options.only_runs
            )
            if not due:
                return
            await self.engine.client()
        claimed = await asyncio.to_thread(
            self.db.claim_runs,
            self.options.server_id,
            now=time.time(),
            lease=self.options.lease,
            limit=capacity,
            owner=self.options.owner,
            ids=self.options.only_runs,
        )
        for run in claimed:
            await self._start(run)

    async def _start(self, run: dict[str, Any]) -> None:
        run_id = run["id"]
        if run.get("schedule_id"):
            schedule = await asyncio.to_thread(self.db.get_schedule, run["schedule_id"])
            run = {**run, "schedule_name": schedule["name"] if schedule else None}
        try:
            version_id = await self._resolve_version(run)
        except ObjectNotFound as exc:
            await self._final(
                run_id, RunState.FAILED, error={"ename": "SourceNotFound", "evalue": str(exc)}
            )
            return
        except BookstoreError as exc:
            await self._final(
                run_id, RunState.FAILED, error={"ename": "StoreUnavailable", "evalue": str(exc)}
            )
            return
        await asyncio.to_thread(
            self.db.update_run,
            run_id,
            self.options.server_id,
            version_id=version_id,
            engine=self.engine.description,
        )
        run = {**run, "version_id": version_id, "engine": self.engine.description}
        env = self.options.run_env(run) if self.options.run_env else {}
        job = RunJob(
            run_id=run_id,
            source_key=run["source_key"],
            version_id=version_id,
            output_key=run["output_key"],
            output_path=run["output_path"],
            parameters=_rendered_parameters(run),
            kernel_name=run["kernel_name"] or "python3",
            execution_timeout=run.get("execution_timeout") or None,
            wall_timeout=run.get("wall_timeout") or None,
            provenance=_provenance(run),
            store=self.store_settings,
            env={**env, "BOOKSTORE_RUN_ID": run_id},
        )
        try:
            future = await self.engine.submit(job)
        except Exception as exc:
            log.exception("bookstore: could not send run %s to the engine", run_id)
            await self._final(
                run_id,
                RunState.FAILED,
                error={"ename": "EngineUnavailable", "evalue": f"{type(exc).__name__}: {exc}"},
            )
            return
        self.active[run_id] = _Active(run, future, time.time())
        # Collect the result as soon as it is there, not at the next poll.
        future.add_done_callback(lambda _: self._wake_threadsafe())
        self._next_renew = min(self._next_renew, time.time() + self.options.lease / 3)
        await self._enqueue(run, "started")

    async def _resolve_version(self, run: dict[str, Any]) -> str:
        store = await self.open_store()
        if run["version_policy"] == "pinned" and run.get("version_id"):
            info = await store.head(run["source_key"], version_id=run["version_id"])
        else:
            info = await store.head(run["source_key"])
        if info.version_id is None:  # pragma: no cover - heads always report one
            raise ObjectNotFound(f"{run['source_key']} has no version id")
        return info.version_id

    async def _supervise(self) -> None:
        if not self.active:
            return
        now = time.time()
        cancels = await asyncio.to_thread(self.db.cancel_requested, list(self.active))
        for run_id, entry in list(self.active.items()):
            if entry.future.done():
                await self._collect(run_id, entry)
                continue
            if run_id in cancels and not entry.cancel_sent:
                entry.cancel_sent = True
                await self.engine.cancel(run_id)
            if now - entry.progress_at >= PROGRESS_EVERY:
                entry.progress_at = now
                await self._record_progress(run_id, entry)
            slow_after = entry.run.get("slow_after")
            if slow_after and not entry.slow_noted and now - entry.started > slow_after:
                entry.slow_noted = True
                await self._enqueue(entry.run, "too_slow")

    async def _record_progress(self, run_id: str, entry: _Active) -> None:
        report = await self.engine.progress(run_id)
        if not report:
            return
        seen = (report.get("cells_done"), report.get("current_cell"), len(report.get("log") or ""))
        if seen == entry.progress_seen:
            return  # nothing new: no write
        entry.progress_seen = seen
        fields: dict[str, Any] = {
            "cells_done": int(report.get("cells_done") or 0),
            "cells_total": int(report.get("cells_total") or 0),
            "current_cell": report.get("current_cell"),
            "log": str(report.get("log") or ""),
        }
        partial = report.get("partial")
        if isinstance(partial, str):
            fields["partial"] = partial.encode("utf-8")
        await asyncio.to_thread(self.db.update_run, run_id, self.options.server_id, **fields)

    async def _collect(self, run_id: str, entry: _Active) -> None:
        self.active.pop(run_id, None)
        try:
            result = await entry.future
        except Exception as exc:
            name = type(exc).__name__
            if name == "KilledWorker":
                state, error = (
                    RunState.LOST,
                    {
                        "ename": "Lost",
                        "evalue": "the Dask worker running it died (KilledWorker)",
                    },
                )
            else:
                state, error = RunState.FAILED, {"ename": name, "evalue": str(exc)[:2000]}
            await self._final(run_id, state, error=error)
            return
        finally:
            await self.engine.forget(run_id)
        state = RunState(result["state"])
        await self._final(
            run_id,
            state,
            error=result.get("error"),
            output_version_id=result.get("output_version_id"),
            cells_done=result.get("cells_done", 0),
            cells_total=result.get("cells_total", 0),
            current_cell=None,
            log=result.get("log", ""),
            partial=None,
        )

    async def _final(self, run_id: str, state: RunState, **fields: Any) -> None:
        run = await asyncio.to_thread(
            self.db.transition, run_id, state, expected=[RunState.RUNNING], **fields
        )
        if run is None:
            return  # another server decided first (it saw our lease expire)
        await self._after_final(run)

    async def _after_final(self, run: dict[str, Any]) -> None:
        event = FINAL_EVENTS.get(RunState(run["state"]))
        if event is not None:
            await self._enqueue(run, event)
        retry = retry_row(run, time.time())
        if retry is not None:
            new, created = await asyncio.to_thread(self.db.create_run, retry)
            if created:
                log.info("bookstore: run %s retried as %s", run["id"], new["id"])

    async def _enqueue(self, run: dict[str, Any], event: str) -> None:
        rows = notification_rows(run, event)
        if rows:
            await asyncio.to_thread(self.db.enqueue_notifications, rows)

    # -- notifications ----------------------------------------------------------------

    async def _notify(self) -> None:
        due = await asyncio.to_thread(
            self.db.claim_notifications, self.options.server_id, now=time.time(), lease=60.0
        )
        for row in due:
            await self._deliver(row)

    async def _deliver(self, row: dict[str, Any]) -> None:
        import aiohttp

        run = await asyncio.to_thread(self.db.get_run, row["run_id"])
        targets = parse_targets([json.loads(row["target"])]) if run is not None else []
        if run is None or not targets:
            await asyncio.to_thread(self.db.finish_notification, row, sent=False)
            return
        model = run_model(run)
        if run.get("schedule_id"):
            schedule = await asyncio.to_thread(self.db.get_schedule, run["schedule_id"])
            model["schedule_name"] = schedule["name"] if schedule else None
        if self.options.run_url is not None:
            model["url"] = self.options.run_url(run["id"])
        notification = Notification(
            event=row["event"], dedup_key=f"{run['id']}:{row['event']}", run=model
        )
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            await send(notification, targets[0], mail=self.options.mail, session=self._session)
        except NotificationFailed as exc:
            attempts = int(row["attempts"]) + 1
            log.warning(
                "bookstore: notification %s of run %s failed (attempt %d): %s",
                row["event"],
                run["id"],
                attempts,
                exc,
            )
            await asyncio.to_thread(
                self.db.finish_notification,
                row,
                sent=False,
                error=str(exc),
                retry_at=time.time() + min(2.0**attempts, 600.0),
                max_attempts=NOTIFY_ATTEMPTS,
            )
            return
        await asyncio.to_thread(self.db.finish_notification, row, sent=True)


def _rendered_parameters(run: dict[str, Any]) -> dict[str, Any]:
    """The run's parameters with ``{{ fire_time }}`` (UTC), ``{{ date }}`` (its UTC day),
    ``{{ run_id }}`` and ``{{ schedule }}`` (the schedule's name) filled in."""
    from ...timestamps import format_epoch

    moment = run.get("fire_time") or run["created_at"]
    fire_time = format_epoch(moment)
    context = {
        "fire_time": fire_time,
        "date": fire_time[:10],
        "run_id": run["id"],
        "schedule": run.get("schedule_name") or run.get("schedule_id") or "",
    }
    return render_templates(run["parameters"], context)


def _provenance(run: dict[str, Any]) -> dict[str, Any]:
    """``metadata.bookstore.run`` of the output (the worker adds state and timings)."""
    from ...timestamps import format_epoch

    return {
        "id": run["id"],
        "schedule_id": run.get("schedule_id"),
        "schedule_name": run.get("schedule_name"),
        "trigger": run["trigger"],
        "fire_time": format_epoch(run["fire_time"]) if run.get("fire_time") else None,
        "user": run["owner"],
        "source": {
            "area": run["source_area"],
            "path": run["source_path"],
            "key": run["source_key"],
            "version_id": run["version_id"],
            "version_policy": run["version_policy"],
        },
        "parameters": _rendered_parameters(run),
        "attempt": run.get("attempt", 1),
        "retry_of": run.get("retry_of"),
        "engine": run.get("engine"),
        "kernel_name": run.get("kernel_name"),
        "created_at": format_epoch(run["created_at"]),
    }
