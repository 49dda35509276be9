"""Every acknowledged save becomes exactly one version: bookstore's part of Jupyter's save.

:class:`SaveRecorder` wraps the ``save`` of the server's (async) contents manager:

* saves of one path run **one at a time**, in arrival order (jupyter_server writes a
  file in place, so two saves of one path at once tear it, on disk and in the archive);
* after Jupyter wrote the file, and **before the save is answered**, the bytes just
  written are copied into the archive spool in a worker thread: the file cannot change
  in between (the next save of that path waits), so the version is exactly this save;
* when the spool's disk is full the bytes are held in memory and archived all the same
  (the archive status says *failing* and why); the save fails only if the file just
  written cannot be read back;
* a notebook nested deeper than :data:`~bookstore.notebooks.MAX_NESTING` levels is
  refused with a 400 before anything is written (nbformat's validation would recurse
  past Python's limit, and Jupyter answer a 500).

A synchronous contents manager (bookstore 2.x's ``BookstoreContentsArchiver``) keeps
the post-save hook: its saves run on the event loop one at a time already.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_server.services.contents.manager import AsyncContentsManager
from tornado import web

from ..core.archive import Archiver, SpooledSave, SpoolEntry
from ..errors import BookstoreError, status_for
from ..notebooks import check_nesting

__all__ = ["SaveRecorder"]

Save = Callable[..., Awaitable[dict[str, Any]]]


@dataclass
class _PathLock:
    """The lock of one path, and how many saves hold or wait for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(frozen=True)
class LastSave:
    """The last save of a path the recorder archived: its spool entry, and the file's
    modification time Jupyter answered (to tell a later change made outside Jupyter)."""

    entry: SpoolEntry
    last_modified: Any


class SaveRecorder:
    """Serialises the saves of each path and records each in ``archiver``'s spool before
    Jupyter answers it."""

    def __init__(
        self,
        contents_manager: Any,
        archiver: Archiver,
        log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self.contents_manager = contents_manager
        self.archiver = archiver
        self.log = log
        self._locks: dict[str, _PathLock] = {}
        #: os_path of each path being saved, noted by the post-save hook.
        self._written: dict[str, str] = {}
        self._last: dict[str, LastSave] = {}
        self._original: Save | None = None

    def install(self) -> bool:
        """Hook into the contents manager; True when its saves are serialised (async
        manager), False when only its post-save hook records them (sync manager)."""
        manager = self.contents_manager
        if isinstance(manager, AsyncContentsManager):
            self._original = manager.save
            manager.save = self.save  # type: ignore[method-assign]
            manager.register_post_save_hook(self._note_written)
            return True
        manager.register_post_save_hook(self._record_sync)
        return False

    def last_save(self, path: str) -> LastSave | None:
        """The last save of ``path`` recorded since the server started."""
        return self._last.get(path.strip("/"))

    # -- the async path ---------------------------------------------------------------

    async def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        """The contents manager's ``save``, one at a time per path, recorded in the spool
        before it returns."""
        assert self._original is not None
        path = path.strip("/")
        if model.get("type") == "directory" or not self.archiver.archives(path):
            return await self._original(model, path)
        holder = self._locks.setdefault(path, _PathLock())
        holder.users += 1
        try:
            async with holder.lock:
                return await self._save_and_record(model, path)
        finally:
            holder.users -= 1
            if holder.users == 0:
                del self._locks[path]

    async def _save_and_record(self, model: dict[str, Any], path: str) -> dict[str, Any]:
        assert self._original is not None
        if model.get("type") == "notebook" and "content" in model:
            await _check_nesting(model["content"])
        self._written.pop(path, None)
        result = await self._original(model, path)
        os_path = self._written.pop(path, None)
        if os_path is None or not self.archiver.should_archive(result):
            return result
        try:
            spooled = await asyncio.to_thread(self.archiver.spool_save, path, os_path)
        except OSError as exc:
            raise _unrecorded(path, exc) from None
        self._accepted(path, spooled, result)
        return result

    def _note_written(self, model: dict[str, Any], os_path: str, **kwargs: Any) -> None:
        """Post-save hook: remember where the save in progress was written (for the paths
        :meth:`save` records; it takes the note back)."""
        path = str(model.get("path", "")).strip("/")
        if path in self._locks:
            self._written[path] = os_path

    # -- the sync path ----------------------------------------------------------------

    def _record_sync(self, model: dict[str, Any], os_path: str, **kwargs: Any) -> None:
        """Post-save hook of a synchronous contents manager: record the save inline."""
        if not self.archiver.should_archive(model):
            return
        path = str(model["path"]).strip("/")
        try:
            spooled = self.archiver.spool_save(path, os_path)
        except OSError as exc:
            raise _unrecorded(path, exc) from None
        self._accepted(path, spooled, model)

    def _accepted(self, path: str, spooled: SpooledSave, result: dict[str, Any]) -> None:
        entry = self.archiver.accept_save(spooled)
        self._last[path] = LastSave(entry, result.get("last_modified"))


#: Notebooks with fewer cells and outputs than this are checked on the event loop (a
#: 200 KB notebook of 40 cells: 0.17 ms, less than a hop to a worker thread).
INLINE_NESTING_CHECK_ITEMS = 1000


async def _check_nesting(content: Any) -> None:
    """Refuse a notebook nested too deeply (a 400 naming the limit); a big notebook is
    walked in a worker thread."""
    try:
        if _items(content) < INLINE_NESTING_CHECK_ITEMS:
            check_nesting(content)
        else:
            await asyncio.to_thread(check_nesting, content)
    except BookstoreError as exc:
        raise web.HTTPError(status_for(exc), str(exc).replace("%", "%%")) from None


def _items(content: Any) -> int:
    """How many cells and outputs a notebook model has (what its walk's cost grows with)."""
    cells = content.get("cells") if isinstance(content, dict) else None
    if not isinstance(cells, list):
        return 0
    outputs = (cell.get("outputs") for cell in cells if isinstance(cell, dict))
    return len(cells) + sum(len(o) for o in outputs if isinstance(o, list))


def _unrecorded(path: str, exc: OSError) -> web.HTTPError:
    """The error answered when a save was written but cannot be read back to archive."""
    reason = exc.strerror or type(exc).__name__
    return web.HTTPError(
        503,
        f"The file {path!r} was saved, but bookstore could not read it back to keep it as "
        f"a version ({reason}). Save again; if this persists, check the server's disk.",
    )
