"""Bookstore's versions as Jupyter checkpoints, so JupyterLab and Notebook 7 use them as is.

With :class:`BookstoreCheckpoints` installed on the server's contents manager:

* the checkpoints are the newest versions, **newest first** (nbdime's "diff against
  checkpoint" takes the first: the last save), except on Jupyter's own route
  ``GET /api/contents/{path}/checkpoints``, whose frontends read the list oldest first:
  JupyterLab 4 and Notebook 7 show it reversed in File > "Revert Notebook to Checkpoint…"
  (so the newest on top), and take its last entry as the latest
  (``Context.restoreCheckpoint()`` without an id, the tab's "Last Checkpoint"), as the
  classic notebook did;
* ``POST /api/contents/{path}/checkpoints`` ("Save and create checkpoint", which
  JupyterLab runs after every save) waits until the save is archived and answers that
  version (the placeholder below after ``checkpoint_timeout``);
* ``POST /api/contents/{path}/checkpoints/{id}`` restores a version: the file is written
  through the contents manager, so the restore is archived as a new version;
* nbdime's "diff against checkpoint" (in the server, not through that route) reads the
  first listed checkpoint: the newest version, the last save.

Jupyter's own ``save`` asks for the checkpoints of every notebook it saves ("one checkpoint
should always exist") and creates one when there is none.  Bookstore answers that question
without the store (a pre-save hook marks the save in progress): the save is archived by
the post-save hook anyway, so a save never waits for, nor fails because of, the store.

While the store is unusable (unreachable, no bucket, credentials refused), listing and
creating checkpoints answer one placeholder, :data:`PENDING_CHECKPOINT_ID`, instead of an
error: JupyterLab would otherwise close every notebook it opens ("File Load Error") and
report every save as failed, although the saves are kept in the spool and become versions
when the store answers.  Restoring the placeholder answers 503.

Versions are never deleted: deleting a checkpoint is refused, and deleting or renaming a
file leaves its history to the archiver (which records both, see :mod:`bookstore.core.archive`).
Files that bookstore does not archive (by ``archive_file_types``) keep the checkpoints
the contents manager had before (Jupyter's ``.ipynb_checkpoints`` by default).
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import errno
import hashlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from jupyter_server import CallContext
from jupyter_server.services.contents.checkpoints import (
    AsyncCheckpoints,
    AsyncGenericCheckpointsMixin,
)
from jupyter_server.services.contents.handlers import CheckpointsHandler
from jupyter_server.utils import ensure_async
from tornado import web

from ..core.archive import Archiver
from ..core.archive.lineage import SHA256_FIELD
from ..core.history import History
from ..errors import (
    AccessDenied,
    BookstoreError,
    BucketNotFound,
    ObjectNotFound,
    StoreUnavailable,
    status_for,
)
from ..notebooks import file_model, read_notebook, run_cpu
from ..stores.base import ObjectInfo
from ..timestamps import format_timestamp, to_millisecond
from .saves import SaveRecorder
from .workspace import WorkspaceWriter

__all__ = ["PENDING_CHECKPOINT_ID", "BookstoreCheckpoints"]

#: The placeholder checkpoint answered while the store is unreachable.
PENDING_CHECKPOINT_ID = "bookstore-pending"
#: The store as a whole is unusable (unreachable, no bucket, credentials refused).
_STORE_DOWN = (StoreUnavailable, BucketNotFound, AccessDenied)

#: The path being saved by the current task (set by the pre-save hook).
_saving: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "bookstore_saving", default=None
)


class BookstoreCheckpoints(AsyncGenericCheckpointsMixin, AsyncCheckpoints):
    """Async checkpoints backed by the workspace history of bookstore.

    ``history`` returns the started workspace :class:`~bookstore.core.history.History`;
    ``archiver`` turns saves into versions; ``writer`` writes restored files;
    ``fallback`` serves the files bookstore does not archive; ``timeout`` bounds how
    long creating a checkpoint waits for the archive; ``limit`` is how many versions
    are listed.
    """

    def __init__(
        self,
        *,
        history: Callable[[], Awaitable[History]],
        archiver: Archiver,
        saves: SaveRecorder | None,
        writer: WorkspaceWriter,
        fallback: AsyncCheckpoints,
        timeout: float,
        limit: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._history = history
        self.archiver = archiver
        self.saves = saves
        self.writer = writer
        self.fallback = fallback
        self.timeout = timeout
        self.limit = limit

    def _ours(self, path: str) -> bool:
        return self.archiver.archives(path)

    def pre_save_hook(self, model: dict[str, Any], path: str, **kwargs: Any) -> None:
        """Jupyter pre-save hook: note which path this task is saving."""
        _saving.set(path.strip("/"))

    def post_save_hook(self, model: dict[str, Any], os_path: str, **kwargs: Any) -> None:
        """Jupyter post-save hook: the save is over."""
        _saving.set(None)

    async def create_checkpoint(self, contents_mgr: Any, path: str) -> dict[str, Any]:
        """Make sure the saved file is a version, and answer that version (the placeholder
        when the store is down or slower than ``timeout``: the save waits in the spool)."""
        path = path.strip("/")
        with _as_http_errors():
            if not self._ours(path):
                result: dict[str, Any] = await self.fallback.create_checkpoint(contents_mgr, path)
                return _formatted(result)
            try:
                info = await self._archived(contents_mgr, path)
            except _STORE_DOWN:
                info = None
        if info is None:
            return _pending_checkpoint()
        return {"id": info.version_id, "last_modified": format_timestamp(info.last_modified)}

    async def _archived(self, contents_mgr: Any, path: str) -> ObjectInfo | None:
        """The version the file ``path`` is now: the version its last save through Jupyter
        became, else (changed outside Jupyter, or not saved since the server started)
        the latest version if it holds the same bytes, else a new version of the file;
        None when the archive did not finish within ``timeout``."""
        history = await self._history()
        key = history.key_for(path)  # refuses a malformed path before anything else
        if not await ensure_async(contents_mgr.file_exists(path)):
            raise ObjectNotFound(f"There is no file {path!r} to checkpoint.")
        if self.archiver.store_failing:
            return None  # Each save would wait the whole timeout while the store fails.
        last = self.saves.last_save(path) if self.saves is not None else None
        if not await self.archiver.flush(path, self.timeout):
            return None
        if last is not None:
            current = await ensure_async(contents_mgr.get(path, content=False))
            version = self.archiver.version_of(last.entry.seq)
            if version is not None and current.get("last_modified") == last.last_modified:
                return await history.store.head(key, version)
        # Not a save this server recorded: the file's own bytes decide.
        model = await ensure_async(contents_mgr.get(path, content=True, type="file"))
        content = model["content"]
        body = content.encode("utf-8") if model["format"] == "text" else base64.b64decode(content)
        try:
            latest = await history.store.head(key)
        except ObjectNotFound:
            latest = None
        if latest is not None:
            sha = await run_cpu(len(body), _sha256, body)
            if latest.metadata.get(SHA256_FIELD) == sha:
                return latest
        entry = await self.archiver.record_bytes(path, body)
        if not await self.archiver.flush(path, self.timeout):
            return None
        version = self.archiver.version_of(entry.seq)
        return None if version is None else await history.store.head(key, version)

    async def list_checkpoints(self, path: str) -> list[dict[str, Any]]:
        """The newest ``limit`` versions, newest first (oldest first for Jupyter's own
        checkpoints route, see :func:`_for_jupyter_frontends`), each with a distinct
        ``last_modified`` (JupyterLab labels checkpoints by time only)."""
        if not self._ours(path):
            with _as_http_errors():
                listed: list[dict[str, Any]] = await self.fallback.list_checkpoints(path)
            return [_formatted(checkpoint) for checkpoint in listed]
        if _saving.get() == path.strip("/"):
            # Jupyter's save checking that a checkpoint exists: this save is about to be
            # archived, so one will.  No store round trip on the save path.
            return [{"id": "saving", "last_modified": format_timestamp(datetime.now(timezone.utc))}]
        if self.archiver.store_failing:
            # No store round trip (each would wait for the store's timeouts) while it fails.
            return [_pending_checkpoint()]
        with _as_http_errors():
            try:
                history = await self._history()
                page = await history.list_versions(path.strip("/"), limit=self.limit)
            except _STORE_DOWN:
                return [_pending_checkpoint()]
        checkpoints: list[dict[str, Any]] = []
        previous: datetime | None = None
        for item in page.items:
            when = to_millisecond(item.last_modified)
            if previous is not None and when >= previous:
                # Same millisecond (S3 listings have second precision): keep the order
                # visible in the times JupyterLab shows.
                when = previous - timedelta(milliseconds=1)
            previous = when
            checkpoint = {"id": item.id, "last_modified": format_timestamp(when)}
            if item.name is not None:
                checkpoint["name"] = item.name  # shown where a frontend knows the field
            checkpoints.append(checkpoint)
        if _for_jupyter_frontends():
            checkpoints.reverse()
        return checkpoints

    async def restore_checkpoint(self, contents_mgr: Any, checkpoint_id: str, path: str) -> None:
        """Write the version over the file, byte for byte (never signed trusted); the save
        is archived as a new version."""
        path = path.strip("/")
        with _as_http_errors():
            if not self._ours(path):
                await self.fallback.restore_checkpoint(contents_mgr, checkpoint_id, path)
                return
            body = await self._read(checkpoint_id, path)
            await self.writer.overwrite(path, body)

    async def get_notebook_checkpoint(self, checkpoint_id: Any, path: str) -> dict[str, Any]:
        """A version as ``{"type": "notebook", "content": nb}`` (nbdime passes the whole
        checkpoint model as ``checkpoint_id``)."""
        body = await self._read(checkpoint_id, path)
        with _as_http_errors():
            notebook = read_notebook(body)
        # Trust flags as the contents manager gives the file itself, so a diff against
        # the file shows only what changed.
        mark_trusted_cells = getattr(self.parent, "mark_trusted_cells", None)
        if mark_trusted_cells is not None:
            mark_trusted_cells(notebook, path)
        return {"type": "notebook", "content": notebook}

    async def get_file_checkpoint(self, checkpoint_id: Any, path: str) -> dict[str, Any]:
        """A version of a file as ``{"type": "file", "content", "format"}``."""
        model, _ = file_model(await self._read(checkpoint_id, path), notebook=False)
        return model

    async def _read(self, checkpoint_id: Any, path: str) -> bytes:
        if isinstance(checkpoint_id, dict):
            checkpoint_id = checkpoint_id.get("id")
        if checkpoint_id == PENDING_CHECKPOINT_ID:
            raise web.HTTPError(
                503,
                "That checkpoint stands for saves bookstore has not archived yet (the store "
                "is unreachable); they become versions when the store answers.",
            )
        with _as_http_errors():
            history = await self._history()
            stored, _ = await history.find(path.strip("/"), str(checkpoint_id))
        body: bytes = stored.body
        return body

    async def create_notebook_checkpoint(self, nb: Any, path: str) -> dict[str, Any]:
        """Not used: :meth:`create_checkpoint` archives the saved file itself."""
        raise NotImplementedError

    async def create_file_checkpoint(self, content: Any, format: str, path: str) -> dict[str, Any]:
        """Not used: :meth:`create_checkpoint` archives the saved file itself."""
        raise NotImplementedError

    async def delete_checkpoint(self, checkpoint_id: str, path: str) -> None:
        """Refused: bookstore never deletes a version."""
        if not self._ours(path):
            with _as_http_errors():
                await self.fallback.delete_checkpoint(checkpoint_id, path)
            return
        raise web.HTTPError(403, "bookstore keeps every version: checkpoints cannot be deleted.")

    async def rename_checkpoint(self, checkpoint_id: str, old_path: str, new_path: str) -> None:
        """The archiver records renames (see :mod:`bookstore.core.archive`)."""
        if not self._ours(old_path):
            with _as_http_errors():
                await self.fallback.rename_checkpoint(checkpoint_id, old_path, new_path)

    async def rename_all_checkpoints(self, old_path: str, new_path: str) -> None:
        """The archiver records renames; other files' checkpoints follow as in Jupyter."""
        if not self._ours(old_path):
            with _as_http_errors():
                await self.fallback.rename_all_checkpoints(old_path, new_path)

    async def delete_all_checkpoints(self, path: str) -> None:
        """A deleted file's history stays (the archiver marks it deleted)."""
        if not self._ours(path):
            with _as_http_errors():
                await self.fallback.delete_all_checkpoints(path)


def _for_jupyter_frontends() -> bool:
    """Whether the checkpoints listed go to Jupyter's ``GET
    /api/contents/{path}/checkpoints`` (the handler of this request, from jupyter_server's
    call context), whose frontends read the list oldest first: JupyterLab's revert dialog
    shows it reversed, its ``restoreCheckpoint()`` and "Last Checkpoint" take the last
    entry.  In-process callers (nbdime takes the first entry) get it newest first."""
    return isinstance(CallContext.get(CallContext.JUPYTER_HANDLER), CheckpointsHandler)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _pending_checkpoint() -> dict[str, Any]:
    """The placeholder checkpoint: saves kept in the spool, not yet versions."""
    return {
        "id": PENDING_CHECKPOINT_ID,
        "last_modified": format_timestamp(datetime.now(timezone.utc)),
    }


def _formatted(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint of Jupyter's own with its time written as bookstore writes times."""
    when = checkpoint.get("last_modified")
    if isinstance(when, datetime):
        return {**checkpoint, "last_modified": format_timestamp(when)}
    return checkpoint


#: Statuses for the file-system errors of Jupyter's own checkpoints (which Jupyter itself
#: would answer with a 500).
_OS_ERROR_STATUS: list[tuple[type[OSError], int, str]] = [
    (FileNotFoundError, 404, "There is no such file or checkpoint."),
    (IsADirectoryError, 400, "That path is a folder; folders have no checkpoints."),
    (NotADirectoryError, 400, "A part of that path is a file, not a folder."),
    (PermissionError, 403, "The server may not read or write that checkpoint."),
]


@contextlib.contextmanager
def _as_http_errors() -> Iterator[None]:
    """Bookstore errors (and the file-system errors of Jupyter's own checkpoints) inside
    Jupyter's contents API become HTTP errors with a status and a message in words."""
    try:
        yield
    except BookstoreError as exc:
        # Jupyter's contents handlers show log_message as is; tornado's log formats it.
        raise web.HTTPError(status_for(exc), str(exc).replace("%", "%%")) from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise web.HTTPError(400, "A name in that path is too long.") from None
        for cls, status, message in _OS_ERROR_STATUS:
            if isinstance(exc, cls):
                raise web.HTTPError(status, message) from None
        raise
