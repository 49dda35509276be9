"""Histories follow renames and deletes: bookstore listens to Jupyter's contents events
(``jupyter_server``'s event logger) instead of replacing the contents manager."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from ..core.archive import Archiver
from ..stores.base import ObjectStore, list_all_keys

__all__ = ["ContentsEventListener"]


class ContentsEventListener:
    """Records the renames and deletes of archived files (and of folders holding them)
    with ``archiver``, in order with the saves around them."""

    def __init__(
        self,
        archiver: Archiver,
        open_store: Callable[[], Awaitable[ObjectStore]],
        log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self.archiver = archiver
        self._open_store = open_store
        self.log = log

    def listen_to(self, contents_manager: Any) -> bool:
        """Hear ``contents_manager``'s events; False when it emits none."""
        event_logger = getattr(contents_manager, "event_logger", None)
        if event_logger is None:
            return False
        event_logger.add_listener(schema_id=contents_manager.event_schema_id, listener=self)
        return True

    def __call__(
        self, logger: Any, schema_id: str, data: dict[str, Any]
    ) -> Coroutine[Any, Any, None]:
        """A contents event.  A rename or delete of an archived file is recorded at once,
        while Jupyter handles the request (so a save that follows queues after it); the
        files below a renamed or deleted folder are recorded by the coroutine returned,
        which jupyter_events runs as a task."""
        action = str(data.get("action"))
        path = str(data.get("path", "")).strip("/")
        old = str(data.get("source_path", "")).strip("/") if action == "rename" else path
        if action not in {"rename", "delete"}:
            return _done()
        try:
            if self.archiver.archives(old):
                self._record(action, old, path)
        except Exception as exc:
            self._warn(old, action, exc)
        return self._record_below(action, old, path)

    def _record(self, action: str, old: str, new: str) -> None:
        if action == "rename":
            self.archiver.record_rename(old, new)
        else:
            self.archiver.record_delete(old)

    async def _record_below(self, action: str, old: str, new: str) -> None:
        """Record the event for every archived key below the folder ``old`` (stored, or
        still waiting to be)."""
        archiver = self.archiver
        try:
            folder = archiver.key_for(old) + "/"
            waiting = archiver.queued_keys(folder)
            store = await self._open_store()
            for key in sorted(waiting | set(await list_all_keys(store, folder))):
                inner = key[len(folder) :]
                self._record(action, f"{old}/{inner}", f"{new}/{inner}")
        except Exception as exc:
            self._warn(old, action, exc)

    def _warn(self, path: str, action: str, exc: Exception) -> None:
        self.log.warning(
            "bookstore: the history of %r may not follow its %s: %s", path, action, exc
        )


async def _done() -> None:
    """Nothing more to do."""
