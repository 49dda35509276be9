"""The server's background retention pass (``BookstoreSettings.retention_interval``).

Every ``retention_interval`` seconds (counted from the end of the previous pass, so
passes never overlap) the server applies ``BookstoreSettings.retention`` to its user's
workspace with a :class:`~bookstore.core.retention.Pruner`, logs one line with the
counts, and writes one ``prune`` audit event when it deleted something.  A pass that
fails is logged and the next one runs as planned: the server never stops for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Set
from typing import Any

from ..core.audit import AuditEvent, origin
from ..core.retention import PruneReport, pruner_for, run_versions_reader
from ..errors import BookstoreError
from .services import BookstoreServices

__all__ = ["RetentionPass"]


class RetentionPass:
    """Prunes the workspace of ``services`` every ``interval`` seconds, from :meth:`start`
    until :meth:`stop`.  ``runs_database_url`` is read for the versions runs use when the
    server's own run service is not running."""

    def __init__(
        self,
        services: BookstoreServices,
        interval: float,
        runs_database_url: str,
        log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self.services = services
        self.interval = interval
        self.runs_database_url = runs_database_url
        self.log = log
        self._task: asyncio.Task[None] | None = None
        #: How many passes ran (ended, well or not).
        self.passes = 0

    def start(self) -> None:
        """Start the passes (the first one ``interval`` seconds from now)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the passes; a pass still running is cancelled (what it deleted by then is
        audited)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.run_once()

    async def run_once(self) -> PruneReport | None:
        """One pass; its report, or None when it failed (logged)."""
        started = time.monotonic()
        try:
            pruner = await pruner_for(
                self.services.areas,
                run_versions=self._run_versions(),
                record=self._record,
                pending=self.services.archiver,
                trigger="background",
            )
            report = await pruner.run("", dry_run=False)
        except asyncio.CancelledError:
            raise
        except BookstoreError as exc:
            self.log.error("bookstore: the retention pass failed: %s", exc)
            return None
        except Exception:
            self.log.exception("bookstore: the retention pass failed unexpectedly")
            return None
        finally:
            self.passes += 1
        failed = f", {len(report.failed)} failed" if report.failed else ""
        self.log.info(
            "bookstore: retention pass: %d files, %d versions; deleted %d (%d bytes), kept %d%s "
            "in %.2f s",
            report.files,
            report.versions,
            len(report.deleted),
            report.deleted_bytes,
            report.kept,
            failed,
            time.monotonic() - started,
        )
        return report

    def _run_versions(self) -> Callable[[], Awaitable[Set[tuple[str, str]]]]:
        runs = self.services.runs
        if runs is not None and runs.started:
            db = runs.db

            async def from_service() -> Set[tuple[str, str]]:
                return await asyncio.to_thread(db.versions_in_use)

            return from_service
        return run_versions_reader(self.runs_database_url)

    async def _record(self, event: AuditEvent) -> None:
        self.services.record(dataclasses.replace(event, origin=origin("server")))
        await self.services.flush_audit()
