"""Histories follow renames and deletes: bookstore listens to Jupyter's contents events
(``jupyter_server``'s event logger) instead of replacing the contents manager."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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

    async def __call__(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """A contents event: record a rename or a delete."""
        action = data.get("action")
        if action not in {"rename", "delete"}:
            return
        archiver = self.archiver
        path = str(data.get("path", "")).strip("/")
        old = str(data.get("source_path", "")).strip("/") if action == "rename" else path
        try:
            # The file itself first, before any await: later saves queue after it.
            if archiver.archives(old):
                if action == "rename":
                    archiver.record_rename(old, path)
                else:
                    archiver.record_delete(old)
            # A folder: every archived key under it (stored, or still waiting to be).
            folder = archiver.key_for(old) + "/"
            waiting = archiver.queued_keys(folder)
            store = await self._open_store()
            for key in sorted(waiting | set(await list_all_keys(store, folder))):
                inner = key[len(folder) :]
                if action == "rename":
                    archiver.record_rename(f"{old}/{inner}", f"{path}/{inner}")
                else:
                    archiver.record_delete(f"{old}/{inner}")
        except Exception as exc:
            self.log.warning(
                "bookstore: the history of %r may not follow its %s: %s", old, action, exc
            )
