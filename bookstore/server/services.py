"""What the server's handlers call: one :class:`BookstoreServices` per Jupyter server.

It holds the configuration, the one store the whole server shares (started on first
use, closed at shutdown), the store's areas, the archiver and the workspace writer, and
answers the few questions that need several of them (the feature flags, a restore).
:class:`~bookstore.server.app.BookstoreApp` builds it and puts it in the tornado settings
under :data:`SERVICES_KEY`; handlers never import the app.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..config import BookstoreRuns, BookstoreSettings, validate_bookstore
from ..core.access import Actor
from ..core.annotations import check_changes
from ..core.archive import Archiver
from ..core.areas import StoreAreas
from ..core.audit import AuditEvent, AuditLog
from ..core.catalog import Catalog
from ..core.clone import FileSystemSource, S3CloneSource
from ..core.diff_cache import DiffCache
from ..core.history import History, VersionItem
from ..core.publish import Publisher
from ..core.restore import RestoreResult, Written, restore
from ..errors import BookstoreError, NotAllowed
from ..stores.base import ObjectStore, StoreStarter, StoreStatus

if TYPE_CHECKING:
    from ..core.runs.service import RunService
from .saves import SaveRecorder
from .workspace import WorkspaceWriter

__all__ = ["SERVICES_KEY", "BookstoreServices"]

#: The tornado settings key of the server's :class:`BookstoreServices`.
SERVICES_KEY = "bookstore_services"


class BookstoreServices:
    """bookstore inside one Jupyter server: store, areas, archiver and workspace.

    ``archiver`` is None when archiving is off (no archived types, or no usable
    workspace prefix); it is set by the app once the contents manager's hooks are in.
    """

    def __init__(
        self,
        settings: BookstoreSettings,
        store: ObjectStore,
        writer: WorkspaceWriter,
        log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self.settings = settings
        self.store = store
        self.writer = writer
        self.log = log
        self.archiver: Archiver | None = None
        #: Records each save in the archiver's spool (None when archiving is off).
        self.saves: SaveRecorder | None = None
        self._starter = StoreStarter(store)
        self._last_status: StoreStatus | None = None
        #: Audit records being written (see :meth:`record`).
        self._audit_writes: set[asyncio.Task[None]] = set()
        self.areas = StoreAreas(
            settings,
            self.ready_store,
            known_lineage=self._known_lineage,
            pending=lambda: self.archiver,
        )
        #: Runs and schedules (None when off, or without ``bookstore[runs]``).
        self.runs: RunService | None = None
        #: Why runs are off (the message of their routes' 403).
        self.runs_off_reason = "Runs are off on this server (BookstoreRuns.enabled)."
        #: Recent diff replies (``diff_cache_mb``; see :mod:`bookstore.core.diff_cache`).
        self.diff_cache = DiffCache(max(0, settings.diff_cache_mb) * 1024 * 1024)

    def areas_for(self, username: str) -> StoreAreas:
        """The store areas of ``username`` (this server's own for its user)."""
        if username == self.areas.username:
            return self.areas
        return StoreAreas(self.settings, self.ready_store, username=username)

    def enable_runs(self, run_settings: BookstoreRuns, run_url: Any = None) -> None:
        """Set up runs and schedules for this server's user (started by :meth:`start_runs`)."""
        from ..core.runs.service import RunService, runs_available

        missing = runs_available()
        if missing is not None:
            self.runs_off_reason = f"Runs are off on this server: {missing}"
            self.log.info("bookstore: %s", self.runs_off_reason)
            return
        self.runs = RunService(
            run_settings,
            self.settings,
            self.ready_store,
            self.areas_for,
            claim_owner=self.areas.username,
            run_url=run_url,
            logger=self.log,
        )

    async def run_service(self) -> RunService:
        """The started run service (started on first use, or at the server's start);
        :class:`NotAllowed` when runs are off here."""
        if self.runs is None:
            raise NotAllowed(self.runs_off_reason)
        await self.start_runs()
        if self.runs is None:
            raise NotAllowed(self.runs_off_reason)
        return self.runs

    async def start_runs(self) -> None:
        """Open the runs database and start the runner and the scheduler loop; when the
        database does not open, runs are off (logged, and said by their routes)."""
        runs = self.runs
        if runs is None or runs.started:
            return
        try:
            await runs.start()
        except Exception as exc:
            self.log.error("bookstore: runs are off: their database did not open: %s", exc)
            self.runs_off_reason = (
                "Runs are off on this server: its runs database "
                "(BookstoreRuns.database_url) did not open."
            )
            self.runs = None

    def _known_lineage(self, key: str) -> dict[str, str] | None:
        archiver = self.archiver
        return archiver.known_lineage(key) if archiver is not None else None

    # -- the store --------------------------------------------------------------------

    async def ready_store(self) -> ObjectStore:
        """The started store; starts it on first call (concurrent callers share one start)."""
        return await self._starter.ready()

    async def store_status(self) -> StoreStatus:
        """Probe the store now, logging when its state changes."""
        status = await self._starter.status()
        if status != self._last_status:
            self._log_status(status)
        self._last_status = status
        return status

    def _log_status(self, status: StoreStatus) -> None:
        where = f"{status.backend} store, bucket {status.bucket!r} ({status.location})"
        if not status.usable:
            self.log.error("bookstore: %s is not usable: %s", where, status.error)
        elif not status.versioned:
            self.log.warning(
                "bookstore: %s has versioning %s: each archive overwrites the last one and "
                "no history is kept. Enable versioning on the bucket.",
                where,
                status.versioning,
            )
        else:
            self.log.info("bookstore: using %s with versioning enabled", where)

    async def close(self, timeout: float | None = None) -> None:
        """Stop runs (never waiting for them), write the pending audit records (at most
        ``timeout`` seconds; those left are logged as lost), then close the store if it
        was started."""
        if self.runs is not None:
            await self.runs.close(timeout or 5.0)
        if not await self.flush_audit(timeout):
            self.log.error(
                "bookstore: %d audit records were not written before the server stopped",
                len(self._audit_writes),
            )
        await self._starter.close()

    # -- what the routes ask ------------------------------------------------------------

    async def features(self) -> dict[str, Any]:
        """The ``GET /api/bookstore`` document: release, feature flags and store state."""
        status = await self.store_status()
        return {
            "release": __version__,
            "features": {
                **validate_bookstore(self.settings, status),
                "runs_valid": self.runs is not None,
            },
            "store": status.to_dict(),
            "archive": self.archive_status(),
        }

    def archive_status(self) -> dict[str, Any]:
        """The archiver's state (``{"enabled": false}`` when archiving is off)."""
        if self.archiver is None:
            return {"enabled": False}
        return {"enabled": True, **self.archiver.status()}

    async def history(self, area: str) -> History:
        """The history of ``"workspace"`` or ``"published"`` (NotAllowed when it is off)."""
        return await self.areas.history(area)

    async def catalog(self) -> Catalog:
        """The published notebooks (NotAllowed when publishing is off)."""
        return Catalog(await self.areas.history("published"))

    async def publisher(self) -> Publisher:
        """Publish and unpublish (NotAllowed when publishing is off)."""
        return await self.areas.publisher()

    async def s3_clone_source(self) -> S3CloneSource:
        """Objects this server's user may clone (``clone_allowed_prefixes``; NotAllowed
        when cloning from the store is off)."""
        return await self.areas.s3_clone_source()

    async def audit_log(self) -> AuditLog:
        """The audit trail (NotAllowed when ``audit_prefix`` is off)."""
        return await self.areas.audit_log()

    def record(self, event: AuditEvent) -> None:
        """Append ``event`` to the audit trail, when there is one, in the background: the
        action it records is done, so its reply does not wait for this put (a store
        failure is logged).  :meth:`flush_audit` waits for what is still being written;
        the audit route and the server's shutdown do.  The event's time is now, not when
        the put happens."""
        at = datetime.now(timezone.utc)
        task = asyncio.get_running_loop().create_task(self._record(event, at))
        self._audit_writes.add(task)
        task.add_done_callback(self._audit_writes.discard)

    async def _record(self, event: AuditEvent, at: datetime) -> None:
        try:
            log = await self.areas.audit_log()
            await log.record(event, at)
        except NotAllowed:
            return  # no audit trail configured
        except BookstoreError as exc:
            self.log.error(
                "bookstore: could not write the audit record of %s by %s: %s",
                event.action,
                event.user,
                exc,
            )

    async def flush_audit(self, timeout: float | None = None) -> bool:
        """Wait (at most ``timeout`` seconds) until this server's audit records are
        written; False when some are still pending."""
        pending = set(self._audit_writes)
        if not pending:
            return True
        _, still = await asyncio.wait(pending, timeout=timeout)
        return not still

    def fs_clone_source(self) -> FileSystemSource:
        """Files that may be cloned (NotAllowed when ``fs_cloning_basedir`` is unusable)."""
        return self.areas.file_system_source()

    async def restore(self, path: str, version_id: str) -> RestoreResult:
        """Write a version of ``path`` over the workspace file; the save becomes a new
        version (its id once archived, within ``checkpoint_timeout`` seconds)."""
        return await restore(await self.history("workspace"), path, version_id, self)

    async def annotate(self, path: str, version_id: str, changes: Any, actor: Actor) -> VersionItem:
        """Name, describe or pin a version of workspace file ``path``; a pending save's
        id waits (at most ``checkpoint_timeout``) for the version it becomes."""
        check_changes(changes)  # a malformed body is a 400 whatever the configuration
        await self.areas.annotations()  # NotAllowed, naming the setting, when off
        history = await self.history("workspace")
        return await history.annotate(
            path, version_id, changes, actor.username, wait_for_archive=self._wait_archived
        )

    async def _wait_archived(self, path: str) -> None:
        archiver = self.archiver
        if archiver is not None:
            await archiver.flush(path, self.settings.checkpoint_timeout)

    async def write_restored(self, path: str, body: bytes) -> Written:
        """Save ``body`` as ``path`` through the contents manager and wait (at most
        ``checkpoint_timeout``) for the archiver to make it a version."""
        model = await self.writer.overwrite(path, body)
        archiver = self.archiver
        if archiver is None or not archiver.archives(path):
            return Written("off", model=model)
        if await archiver.flush(path, self.settings.checkpoint_timeout):
            return Written("archived", model=model)
        return Written("pending", model=model)
