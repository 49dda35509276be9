""":class:`RunService`: runs and schedules for one server, the command line or the
standalone scheduler.

It owns the database, the engine, the runner and the scheduler loop.  Every request
names who asks (an :class:`~bookstore.core.access.Actor`): a user sees and manages only
their own runs and schedules (a JupyterHub admin sees everybody's); a run reads a
workspace notebook of its owner or a published notebook, and writes its output into
its owner's workspace (``BookstoreRuns.output_prefix``), under the keys worked out
when the run or schedule is created, so whoever executes it acts with its owner's
prefixes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ...config import BookstoreRuns, BookstoreSettings
from ...errors import Conflict, InvalidRequest, NotAllowed, ObjectNotFound
from ...keys import s3_key
from ...stores.base import ObjectStore
from ...tokens import clamp_limit, decode_token, encode_token
from ..access import Actor
from ..areas import StoreAreas
from .db import RunDB, new_id
from .engine import DaskEngine, store_settings_of
from .models import run_model, schedule_model
from .notify import MailSettings
from .parameters import check_parameters, declared_parameters
from .requests import SourceRef, parse_run_request, parse_schedule_patch, parse_schedule_request
from .runner import Runner, RunnerOptions, notification_rows
from .scheduler import run_row_for_schedule, tick
from .states import RunState
from .timing import parse_schedule, preview

__all__ = ["RunPage", "RunService", "runs_available"]

log = logging.getLogger(__name__)

#: Schedule defaults (a field a request leaves out).
SCHEDULE_DEFAULTS: dict[str, Any] = {
    "missed": "skip",
    "max_catchup": 10,
    "overlap": "skip",
    "max_retries": 0,
    "retry_on": ["lost"],
    "retry_backoff": 30.0,
    "notify": [],
    "paused": False,
}
#: Run defaults.
RUN_DEFAULTS: dict[str, Any] = {
    "max_retries": 0,
    "retry_on": ["lost"],
    "retry_backoff": 30.0,
    "notify": [],
}


def runs_available() -> str | None:
    """None when the ``bookstore[runs]`` dependencies are importable, else why not."""
    try:
        import cronsim  # noqa: F401
        import distributed  # noqa: F401
        import papermill  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        return f"runs need bookstore[runs] (pip install 'bookstore[runs]'): {exc}"
    return None


@dataclass(frozen=True)
class RunPage:
    """One page of runs, newest first."""

    runs: list[dict[str, Any]]
    next_token: str | None


class RunService:
    """Runs and schedules: the database, the engine, the runner and the scheduler.

    ``open_store`` returns the started store; ``areas_for(username)`` the store areas of
    a user.  ``claim_owner`` limits the runs this process executes (and the schedules it
    fires) to one user's — a single-user server never executes another user's code;
    None (``jupyter bookstore scheduler``) executes everybody's.
    """

    def __init__(
        self,
        settings: BookstoreRuns,
        store_settings: BookstoreSettings,
        open_store: Callable[[], Awaitable[ObjectStore]],
        areas_for: Callable[[str], StoreAreas],
        *,
        claim_owner: str | None,
        run_url: Callable[[str], str | None] | None = None,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        self.settings = settings
        self.store_settings = store_settings
        self.open_store = open_store
        self.areas_for = areas_for
        self.claim_owner = claim_owner
        self.run_url = run_url
        self.log = logger or log
        self.server_id = f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
        self._db: RunDB | None = None
        self.engine = DaskEngine(settings, log=logging.getLogger("bookstore.runs"))
        self.runner: Runner | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._starting: asyncio.Lock | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether :meth:`start` opened the database."""
        return self._db is not None

    @property
    def db(self) -> RunDB:
        """The database (after :meth:`start`)."""
        if self._db is None:
            raise NotAllowed("Runs are not started on this server yet.")
        return self._db

    async def start(
        self,
        *,
        execute: bool | None = None,
        fire: bool | None = None,
        only_runs: set[str] | None = None,
    ) -> None:
        """Open the database; start the runner (``execute``, default
        ``BookstoreRuns.execute_runs``; only the runs in ``only_runs`` when given, a set
        the caller may add to) and the scheduler loop (``fire``, default
        ``BookstoreRuns.fire_schedules``).  The engine starts with the first run."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._db is None:
                await self._start(execute=execute, fire=fire, only_runs=only_runs)

    async def _start(
        self, *, execute: bool | None, fire: bool | None, only_runs: set[str] | None
    ) -> None:
        self._db = await asyncio.to_thread(RunDB, self.settings.database_url)
        if self.settings.execute_runs if execute is None else execute:
            self.runner = Runner(
                self._db,
                self.engine,
                self.open_store,
                store_settings_of(self.store_settings),
                RunnerOptions(
                    server_id=self.server_id,
                    lease=self.settings.lease_seconds,
                    poll_interval=self.settings.poll_interval,
                    max_concurrent=self.settings.max_concurrent_runs,
                    owner=self.claim_owner,
                    only_runs=only_runs,
                    mail=self.mail_settings(),
                    run_url=self.run_url,
                    run_env=lambda run: {"BOOKSTORE_AS_USER": run["owner"]},
                ),
            )
            self.runner.start()
        if self.settings.fire_schedules if fire is None else fire:
            self._tick_task = asyncio.get_running_loop().create_task(self._tick_loop())

    def mail_settings(self) -> MailSettings:
        """The mail server of email notifications."""
        settings = self.settings
        return MailSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
            sender=settings.mail_from,
        )

    async def close(self, timeout: float = 5.0) -> None:
        """Stop firing and supervising (never waiting for runs: this server's running
        runs become LOST and are retried per policy), then stop the engine (at most
        ``timeout`` seconds)."""
        self._closed = True
        if self._tick_task is not None:
            self._tick_task.cancel()
            await asyncio.gather(self._tick_task, return_exceptions=True)
        if self.runner is not None:
            await self.runner.close()
        try:
            await asyncio.wait_for(self.engine.close(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            self.log.warning("bookstore: the Dask engine did not stop within %.0f s", timeout)
        if self._db is not None:
            self._db.close()

    async def _tick_loop(self) -> None:
        while not self._closed:
            try:
                await self.fire_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("bookstore: the scheduler's pass failed; trying again")
            await asyncio.sleep(self.settings.tick_interval)

    async def fire_due(self, now: datetime | None = None) -> None:
        """One scheduler pass (every due tick of every schedule fired once)."""
        moment = now or datetime.now(timezone.utc)
        report = await asyncio.to_thread(
            tick, self.db, self.server_id, moment, owner=self.claim_owner
        )
        for run_id in report.skipped:
            run = await asyncio.to_thread(self.db.get_run, run_id)
            if run is not None:
                rows = notification_rows(run, "skipped")
                if rows:
                    await asyncio.to_thread(self.db.enqueue_notifications, rows)
        if report.queued and self.runner is not None:
            self.runner.wake()

    # -- access ---------------------------------------------------------------------------

    @staticmethod
    def _visible(actor: Actor, row: dict[str, Any]) -> bool:
        return bool(row["owner"] == actor.username or actor.is_admin)

    async def _run_of(self, actor: Actor, run_id: str) -> dict[str, Any]:
        run = await asyncio.to_thread(self.db.get_run, run_id)
        if run is None or not self._visible(actor, run):
            raise ObjectNotFound(f"There is no run {run_id!r} of yours.")
        return run

    async def _schedule_of(self, actor: Actor, schedule_id: str) -> dict[str, Any]:
        schedule = await asyncio.to_thread(self.db.get_schedule, schedule_id)
        if schedule is None or not self._visible(actor, schedule):
            raise ObjectNotFound(f"There is no schedule {schedule_id!r} of yours.")
        return schedule

    # -- sources --------------------------------------------------------------------------

    async def _read_source(self, actor: Actor, source: SourceRef) -> tuple[str, bytes, str]:
        """The key, the bytes and the version id of a run's source, for ``actor``."""
        areas = self.areas_for(actor.username)
        history = await areas.history(source.area)
        stored, _ = await history.find(source.path, source.version_id)
        version = stored.info.version_id or ""
        return history.key_for(source.path), stored.body, version

    async def parameters(self, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
        """The parameters the notebook declares (for the run dialog)."""
        from .requests import parse_source

        source = parse_source(body)
        key, notebook, version = await self._read_source(actor, source)
        declared = await asyncio.to_thread(declared_parameters, notebook)
        return {
            "source": {"area": source.area, "path": source.path, "key": key},
            "version_id": version,
            "parameters": [parameter.to_json() for parameter in declared],
        }

    def _output(
        self, actor: Actor, folder: str, source: SourceRef, given: str | None
    ) -> tuple[str, str]:
        output_path = given or posixpath.join(self.settings.output_prefix, folder, source.path)
        if source.area == "workspace" and output_path == source.path:
            raise InvalidRequest(
                "output_path: a run may not write its output over the notebook it runs; "
                "choose another path."
            )
        try:
            prefix = self.areas_for(actor.username).workspace_prefix()
        except NotAllowed as exc:
            raise NotAllowed(f"Runs write their output into your workspace: {exc}") from None
        return output_path, s3_key(prefix, output_path)

    # -- runs -----------------------------------------------------------------------------

    async def submit(
        self, actor: Actor, body: Any, *, idempotency_key: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Queue a run of a stored version now; ``(run, created)`` — a request repeated
        with the same ``idempotency_key`` answers the first run, not a second one."""
        source, fields = parse_run_request(body)
        _check_mail(self.settings, fields.get("notify"))
        if idempotency_key is not None:
            _check_idempotency_key(idempotency_key)
            existing = await asyncio.to_thread(
                self.db.find_idempotent, actor.username, idempotency_key
            )
            if existing is not None:
                return run_model(existing), False
        key, notebook, version = await self._read_source(actor, source)
        declared = await asyncio.to_thread(declared_parameters, notebook)
        parameters = check_parameters(declared, fields.get("parameters") or {})
        output_path, output_key = self._output(actor, "adhoc", source, fields.get("output_path"))
        row = {
            "owner": actor.username,
            "trigger": "manual",
            "state": RunState.QUEUED.value,
            "source_area": source.area,
            "source_path": source.path,
            "source_key": key,
            "version_policy": "pinned" if source.version_id else "latest",
            "version_id": source.version_id,
            "parameters": parameters,
            "kernel_name": fields.get("kernel_name") or self.settings.default_kernel,
            "execution_timeout": _or(
                fields.get("execution_timeout"), self.settings.default_execution_timeout
            ),
            "wall_timeout": _or(fields.get("wall_timeout"), self.settings.default_wall_timeout),
            "slow_after": fields.get("slow_after"),
            "output_path": output_path,
            "output_key": output_key,
            "overlap": None,
            "idempotency_key": idempotency_key,
            **{name: _default(fields, name, RUN_DEFAULTS) for name in RUN_DEFAULTS},
        }
        del version  # "latest" is resolved when the run starts
        run, created = await asyncio.to_thread(self.db.create_run, row)
        if self.runner is not None:
            self.runner.wake()
        return run_model(run), created

    async def get_run(self, actor: Actor, run_id: str) -> dict[str, Any]:
        """One run of ``actor``'s."""
        return run_model(await self._run_of(actor, run_id))

    async def list_runs(
        self,
        actor: Actor,
        *,
        path: str | None = None,
        schedule_id: str | None = None,
        states: list[str] | None = None,
        limit: int = 50,
        page_token: str | None = None,
        everybody: bool = False,
    ) -> RunPage:
        """``actor``'s runs (an admin's ``everybody``: all users'), newest first."""
        if states:
            bad = [state for state in states if state not in RunState.__members__]
            if bad:
                raise InvalidRequest(
                    f"state: {bad[0]!r} is not a run state; use any of "
                    f"{', '.join(RunState.__members__)}."
                )
        before = None
        if page_token:
            decoded = decode_token(page_token)
            try:
                before = (float(decoded["created_at"]), str(decoded["id"]))
            except (KeyError, TypeError, ValueError):
                raise InvalidRequest(
                    "The page token is not valid: pass back a next_token from this listing."
                ) from None
        limit = clamp_limit(limit)
        owner = None if (everybody and actor.is_admin) else actor.username
        rows = await asyncio.to_thread(
            self.db.list_runs,
            owner=owner,
            schedule_id=schedule_id,
            source_path=path,
            states=states,
            before=before,
            limit=limit + 1,
        )
        token = None
        if len(rows) > limit:
            rows = rows[:limit]
            token = encode_token({"created_at": rows[-1]["created_at"], "id": rows[-1]["id"]})
        return RunPage([run_model(row) for row in rows], token)

    async def cancel(self, actor: Actor, run_id: str) -> dict[str, Any]:
        """Cancel a run (a queued one at once; a running one within about a second,
        whichever server runs it); 409 when it has finished."""
        await self._run_of(actor, run_id)
        run = await asyncio.to_thread(self.db.request_cancel, run_id)
        if self.runner is not None:
            self.runner.wake()
        return run_model(run)

    async def run_log(self, actor: Actor, run_id: str, offset: int = 0) -> dict[str, Any]:
        """The captured stdout/stderr of a run from character ``offset`` on (readable
        while it runs)."""
        run = await self._run_of(actor, run_id)
        text = run.get("log") or ""
        if offset < 0:
            raise InvalidRequest("offset: must be 0 or more.")
        return {
            "id": run_id,
            "state": run["state"],
            "offset": offset,
            "log": text[offset:],
            "next_offset": len(text),
        }

    async def run_notebook(self, actor: Actor, run_id: str) -> bytes:
        """The run's notebook: the stored output once it has one, the partial output
        while it runs."""
        run = await self._run_of(actor, run_id)
        if run.get("output_version_id"):
            store = await self.open_store()
            stored = await store.get(run["output_key"], version_id=run["output_version_id"])
            return stored.body
        if run.get("partial"):
            return bytes(run["partial"])
        raise ObjectNotFound(f"Run {run_id} has no output yet ({run['state']}).")

    # -- schedules ------------------------------------------------------------------------

    def _with_preview(self, row: dict[str, Any]) -> dict[str, Any]:
        upcoming: list[dict[str, str]] = []
        if not row["paused"]:
            upcoming = preview(parse_schedule(row["cron"], row["timezone"]), 5)
        return schedule_model(row, next_fire_times=upcoming)

    async def create_schedule(self, actor: Actor, body: Any) -> dict[str, Any]:
        """Create a schedule of a stored notebook."""
        source, fields = parse_schedule_request(body)
        _check_mail(self.settings, fields.get("notify"))
        key, notebook, _ = await self._read_source(actor, source)
        declared = await asyncio.to_thread(declared_parameters, notebook)
        parameters = check_parameters(declared, fields.get("parameters") or {})
        policy = fields.get("version_policy") or ("pinned" if source.version_id else "latest")
        pinned_version = source.version_id if policy == "pinned" else None
        name = fields.get("name") or posixpath.splitext(posixpath.basename(source.path))[0]
        output_path, output_key = self._output(
            actor, _folder_name(name), source, fields.get("output_path")
        )
        row = {
            "owner": actor.username,
            "name": name,
            "source_area": source.area,
            "source_path": source.path,
            "source_key": key,
            "version_policy": policy,
            "version_id": pinned_version,
            "parameters": parameters,
            "kernel_name": fields.get("kernel_name") or self.settings.default_kernel,
            "cron": fields["cron"],
            "timezone": fields["timezone"],
            "execution_timeout": _or(
                fields.get("execution_timeout"), self.settings.default_execution_timeout
            ),
            "wall_timeout": _or(fields.get("wall_timeout"), self.settings.default_wall_timeout),
            "slow_after": fields.get("slow_after"),
            "output_path": output_path,
            "output_key": output_key,
            **{name: _default(fields, name, SCHEDULE_DEFAULTS) for name in SCHEDULE_DEFAULTS},
        }
        schedule = await asyncio.to_thread(self.db.create_schedule, row)
        return self._with_preview(schedule)

    async def get_schedule(self, actor: Actor, schedule_id: str) -> dict[str, Any]:
        """One schedule with its next fire times and its last run."""
        schedule = self._with_preview(await self._schedule_of(actor, schedule_id))
        last = await asyncio.to_thread(self.db.list_runs, schedule_id=schedule_id, limit=1)
        schedule["last_run"] = run_model(last[0]) if last else None
        return schedule

    async def list_schedules(
        self, actor: Actor, *, everybody: bool = False
    ) -> list[dict[str, Any]]:
        """``actor``'s schedules (an admin's ``everybody``: all users')."""
        owner = None if (everybody and actor.is_admin) else actor.username
        rows = await asyncio.to_thread(self.db.list_schedules, owner=owner)
        last = await asyncio.to_thread(self.db.last_runs, [row["id"] for row in rows])
        models = []
        for row in rows:
            model = self._with_preview(row)
            model["last_run"] = run_model(last[row["id"]]) if row["id"] in last else None
            models.append(model)
        return models

    async def update_schedule(self, actor: Actor, schedule_id: str, body: Any) -> dict[str, Any]:
        """Change a schedule; every field given takes effect at the next tick of every
        server, or the whole change is refused (400/409)."""
        current = await self._schedule_of(actor, schedule_id)
        owner = Actor(username=current["owner"])  # an admin edits it as its owner's
        changes = parse_schedule_patch(body, current)
        _check_mail(self.settings, changes.get("notify"))
        revision = changes.pop("_revision", None)
        if "parameters" in changes or "version_id" in changes:
            source = SourceRef(
                current["source_area"],
                current["source_path"],
                changes.get("version_id", current["version_id"]),
            )
            _, notebook, _ = await self._read_source(owner, source)
            declared = await asyncio.to_thread(declared_parameters, notebook)
            changes["parameters"] = check_parameters(
                declared, changes.get("parameters", current["parameters"])
            )
        if changes.get("version_policy") == "latest":
            changes["version_id"] = None
        if "output_path" in changes:
            source = SourceRef(current["source_area"], current["source_path"], None)
            changes["output_path"], changes["output_key"] = self._output(
                owner, "", source, changes["output_path"]
            )
        now = time.time()
        timing_changed = any(
            name in changes and changes[name] != current[name] for name in ("cron", "timezone")
        )
        resumed = changes.get("paused") is False and current["paused"]
        if timing_changed or resumed:
            changes["timing_since"] = now
        if "kernel_name" in changes and changes["kernel_name"] is None:
            changes["kernel_name"] = self.settings.default_kernel
        updated = await asyncio.to_thread(
            self.db.update_schedule, schedule_id, changes, expected_revision=revision
        )
        return self._with_preview(updated)

    async def delete_schedule(self, actor: Actor, schedule_id: str) -> None:
        """Delete a schedule; its runs stay (queued ones are cancelled)."""
        await self._schedule_of(actor, schedule_id)
        for run in await asyncio.to_thread(self.db.active_runs_of, schedule_id):
            if run["state"] == RunState.QUEUED.value:
                with contextlib.suppress(Conflict):
                    await asyncio.to_thread(self.db.request_cancel, run["id"])
        await asyncio.to_thread(self.db.delete_schedule, schedule_id)

    async def set_paused(self, actor: Actor, schedule_id: str, paused: bool) -> dict[str, Any]:
        """Pause or resume (a resumed schedule does not catch up what it missed paused)."""
        return await self.update_schedule(actor, schedule_id, {"paused": paused})

    async def run_schedule_now(self, actor: Actor, schedule_id: str) -> dict[str, Any]:
        """Queue a run of a schedule now (trigger ``manual``), outside its timing."""
        schedule = await self._schedule_of(actor, schedule_id)
        row = run_row_for_schedule(
            schedule, trigger="manual", fire_time=time.time(), output_key=schedule["output_key"]
        )
        row["state"] = RunState.QUEUED.value
        run, _ = await asyncio.to_thread(self.db.create_run, row)
        if self.runner is not None:
            self.runner.wake()
        return run_model(run)

    @staticmethod
    def preview(cron: Any, zone: Any, count: Any = 5) -> list[dict[str, str]]:
        """The next ``count`` (1-50) fire times of a cron expression in a time zone."""
        if not isinstance(cron, str) or not cron:
            raise InvalidRequest("cron: expected a five-field cron expression or a preset.")
        if not isinstance(zone, str) or not zone:
            raise InvalidRequest("timezone: expected an IANA time zone name.")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 50:
            raise InvalidRequest("count: expected a whole number from 1 to 50.")
        return preview(parse_schedule(cron, zone), count)


def _check_mail(settings: BookstoreRuns, notify: Any) -> None:
    """Refuse (400) email targets on a server without a mail server."""
    if settings.smtp_host or not notify:
        return
    for index, target in enumerate(notify):
        if isinstance(target, dict) and "email" in target:
            raise InvalidRequest(
                f"notify[{index}].email: email notifications are off on this server "
                "(BookstoreRuns.smtp_host is not set); use a webhook, or ask its operator."
            )


def _or(value: Any, default: float) -> float | None:
    if value is not None:
        return float(value) or None
    return default or None


def _default(fields: dict[str, Any], name: str, defaults: dict[str, Any]) -> Any:
    value = fields.get(name)
    return defaults[name] if value is None else value


def _folder_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name).strip("-.")
    return cleaned or "schedule"


def _check_idempotency_key(key: str) -> None:
    if not key or len(key) > 200 or any(ord(ch) < 33 or ord(ch) > 126 for ch in key):
        raise InvalidRequest(
            "Idempotency-Key: expected 1 to 200 visible ASCII characters (e.g. a UUID)."
        )
