"""Archiving: every successful save becomes a version under ``{workspace_prefix}/{path}``.

How a save travels (see :class:`Archiver`):

1. Jupyter's contents manager saves the file, then calls the post-save hooks.  Only a
   save that was written (and, for notebooks, passed validation) reaches them.
2. :meth:`Archiver.post_save_hook` copies the saved bytes into the :mod:`spool
   <bookstore.spool>` (one local file copy) and returns: the save never waits for
   the object store and never fails because of it.
3. One background task per key uploads that key's entries in save order.  Content
   identical to the last archived version makes no new version.  When the store is
   unreachable, the task retries with exponential backoff, keeping the order; the log
   says what failed once, and again when archiving works again.
4. A server that dies leaves its entries in the spool; the next start replays them.

History follows renames.  Renaming (or deleting) a file in Jupyter records a history
operation in the spool, in order with the saves around it:

* **delete** puts a delete marker on the file's key: its versions stay listed and
  readable, none is "latest", and a new file of that name starts a fresh lineage;
* **rename** ``a -> b`` copies the newest version of ``a`` to a new version of ``b``
  with metadata ``renamed-from: a`` and ``renamed-from-version: <id>``, then deletes
  ``a`` as above.  Every later version of ``b`` carries these fields forward (plus
  ``lineage-start``, the id of that first copy), so :mod:`bookstore.versions` can list
  ``b``'s history and continue with ``a``'s versions from before the rename.

The seed's :class:`ArchiveRecord` and :class:`BookstoreContentsArchiver` remain for
code and configuration that name them.
"""

from __future__ import annotations

import asyncio
import bisect
import getpass
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import quote

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.services.contents.filemanager import FileContentsManager
from traitlets.config import LoggingConfigurable

from .errors import InvalidPath, ObjectNotFound, StoreError
from .s3_paths import s3_key
from .spool import Spool, SpoolEntry
from .stores.base import ObjectStore

__all__ = [
    "ArchiveRecord",
    "Archiver",
    "BookstoreContentsArchiver",
    "archive_version",
    "archived_type",
    "default_spool_dir",
    "expand_prefix",
    "server_username",
]

#: Content types stored with archived versions, by Jupyter contents type.
CONTENT_TYPES = {"notebook": "application/x-ipynb+json"}
#: The metadata field holding the sha256 of an archived version's bytes.
SHA256_FIELD = "sha256"
#: The metadata field holding the save time (ISO 8601).
SAVED_AT_FIELD = "saved-at"
#: Metadata of a version whose file was renamed: the old path (percent-encoded) ...
RENAMED_FROM_FIELD = "renamed-from"
#: ... the version of the old path it continues ...
RENAMED_FROM_VERSION_FIELD = "renamed-from-version"
#: ... and the id of the first version under the new name (absent on that version itself).
LINEAGE_START_FIELD = "lineage-start"
LINEAGE_FIELDS = (RENAMED_FROM_FIELD, RENAMED_FROM_VERSION_FIELD, LINEAGE_START_FIELD)


def lineage_of(info: Any) -> dict[str, str]:
    """The lineage fields of a stored version (an :class:`ObjectInfo` with metadata),
    with ``lineage-start`` filled in when the version is the first under its name."""
    lineage = {name: info.metadata[name] for name in LINEAGE_FIELDS if name in info.metadata}
    if RENAMED_FROM_FIELD in lineage and LINEAGE_START_FIELD not in lineage:
        lineage[LINEAGE_START_FIELD] = str(info.version_id)
    return lineage


@dataclass
class _Latest:
    """What the archiver knows of a key's newest version."""

    sha: str | None
    lineage: dict[str, str] = field(default_factory=dict)


@dataclass
class _Rendezvous:
    """A rename waits in the queues of both keys: the target's worker signals it arrived
    (its earlier entries are done), the source's worker performs it and signals done."""

    target_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ArchiveRecord(NamedTuple):
    """A notebook to archive: its path, its content and when it was queued (the seed's API)."""

    filepath: str
    content: str
    queued_time: float


def server_username() -> str:
    """The user this server runs for: JupyterHub's ``JUPYTERHUB_USER``, else the OS user."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def expand_prefix(prefix: str, username: str) -> str:
    """Fill ``{username}`` in a workspace prefix; a username is one key segment."""
    if "/" in username or username in {"", ".", ".."}:
        raise InvalidPath(f"The user name {username!r} cannot be used in a key.")
    return prefix.replace("{username}", username)


#: Seconds a new upload task waits before its first upload.
UPLOAD_START_DELAY = 0.05


class Archiver(LoggingConfigurable):
    """Turns saves into versions, durably and in order, off the request path.

    ``open_store`` returns the started store (awaited once per upload, so a store that
    fails to start is retried like an unreachable one).  Construct it at server start:
    it opens the spool then, before any save can arrive.
    """

    def __init__(
        self,
        *,
        open_store: Callable[[], Awaitable[ObjectStore]],
        spool: Spool,
        workspace_prefix: str,
        file_types: list[str],
        retry_max_delay: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._open_store = open_store
        self.spool = spool
        self.workspace_prefix = workspace_prefix
        self.file_types = set(file_types)
        self.retry_max_delay = retry_max_delay
        self._queues: dict[str, list[SpoolEntry]] = {}
        self._known: set[int] = set()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._last: dict[str, _Latest] = {}
        self._rendezvous: dict[int, _Rendezvous] = {}
        self._started = False
        self._idle: asyncio.Event | None = None
        self.archived = 0
        self.skipped_identical = 0
        self.last_error: str | None = None
        self.last_error_time: float | None = None
        self.last_archived_time: float | None = None
        self._failing = False
        # Startup, before any save: list what the last run left (replayed once a loop runs).
        try:
            self._left_over = spool.open()
        except OSError as exc:
            self._left_over = []
            self._note_error(f"cannot open the archive spool: {_why(exc)}")

    # -- intake (on the save path) --------------------------------------------------

    def key_for(self, path: str) -> str:
        """The object key under which the saves of ``path`` are archived."""
        return s3_key(self.workspace_prefix, path)

    def post_save_hook(self, model: dict[str, Any], os_path: str, **kwargs: Any) -> None:
        """Jupyter post-save hook: record the saved file in the spool. Never raises."""
        try:
            if model.get("type") not in self.file_types or model.get("message"):
                # Not a type we archive, or a notebook that failed validation.
                return
            path = str(model["path"])
            entry = self.spool.add_file(self.key_for(path), path, os_path)
        except Exception as exc:
            self._note_error(f"could not record the save of {model.get('path')!r}: {_why(exc)}")
            return
        self._accept(entry)

    def archive_bytes(self, path: str, content: bytes) -> SpoolEntry:
        """Queue ``content`` as the next version of ``path`` (for callers outside a save)."""
        entry = self.spool.add_bytes(self.key_for(path), path, content)
        self._accept(entry)
        return entry

    def record_rename(self, old_path: str, new_path: str) -> SpoolEntry | None:
        """Queue "``old_path`` was renamed ``new_path``", so the history follows the file."""
        old_key, new_key = self.key_for(old_path), self.key_for(new_path)
        if old_key == new_key:
            return None
        entry = self.spool.add_operation(
            "rename", old_key, old_path, target_key=new_key, target_path=new_path
        )
        self._accept(entry)
        return entry

    def record_delete(self, path: str) -> SpoolEntry:
        """Queue "``path`` was deleted": its key gets a delete marker, its history stays."""
        entry = self.spool.add_operation("delete", self.key_for(path), path)
        self._accept(entry)
        return entry

    def archives(self, path: str) -> bool:
        """True when saves of ``path`` are archived (by its type, as the hook decides)."""
        return archived_type(path, self.file_types)

    def _accept(self, entry: SpoolEntry) -> None:
        if entry.seq in self._known:
            return
        self._known.add(entry.seq)
        self._ensure_started()
        keys = [entry.key, entry.target_key] if entry.action == "rename" else [entry.key]
        for key in keys:
            bisect.insort(self._queues.setdefault(key, []), entry, key=_seq)
            if key not in self._workers:
                self._workers[key] = asyncio.ensure_future(self._work(key))
        self._idle_event().clear()

    # -- lifecycle ------------------------------------------------------------------

    def _ensure_started(self) -> None:
        """On first use with a running loop: queue what the last run left, oldest first."""
        if self._started:
            return
        self._started = True
        entries, self._left_over = self._left_over, []
        if entries:
            self.log.info("bookstore: replaying %d archives left by the last run", len(entries))
        for entry in entries:
            self._accept(entry)

    async def start(self) -> None:
        """Start uploading what the last run left in the spool (idempotent)."""
        self._ensure_started()

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending; False if ``timeout`` passed first."""
        await self.start()
        try:
            await asyncio.wait_for(self._idle_event().wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def stop(self, timeout: float = 0.0) -> None:
        """Give pending uploads ``timeout`` seconds, then stop; the rest stays spooled."""
        if timeout > 0 and self.pending:
            await self.drain(timeout)
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if self.pending:
            self.log.info("bookstore: %d archives stay in the spool for next start", self.pending)

    async def flush(self, path: str, timeout: float | None = None) -> bool:
        """Wait until every save and operation recorded so far for ``path`` is done;
        False if ``timeout`` passed first (e.g. the store is unreachable)."""
        key = self.key_for(path)
        await self.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        while (worker := self._workers.get(key)) is not None:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait({worker}, timeout=remaining)
        return True

    def queued_keys(self, prefix: str) -> set[str]:
        """Keys starting with ``prefix`` that have saves or operations waiting."""
        return {key for key in self._queues if key.startswith(prefix)}

    def known_lineage(self, key: str) -> dict[str, str] | None:
        """The lineage of ``key``'s newest version, when this archiver knows it."""
        latest = self._last.get(key)
        return None if latest is None else dict(latest.lineage)

    def _idle_event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            self._idle.set()
        return self._idle

    # -- uploading ------------------------------------------------------------------

    async def _work(self, key: str) -> None:
        """Upload the entries of ``key`` oldest first, retrying until each is archived."""
        queue = self._queues[key]
        delay = 0.0
        try:
            # Let the request that saved the file answer before its upload competes with it
            # for the event loop (saves and clones reply sooner; the version lands ~50 ms later).
            await asyncio.sleep(UPLOAD_START_DELAY)
            while queue:
                entry = queue[0]
                try:
                    await self._apply(entry, key)
                except (InvalidPath, OSError, ValueError) as exc:
                    # This entry can never be archived as it is: set it aside.
                    self._note_error(f"set aside the {entry.action} of {entry.path!r}: {_why(exc)}")
                    await asyncio.to_thread(self.spool.fail, entry)
                    meeting = self._rendezvous.pop(entry.seq, None)
                    if meeting is not None:
                        meeting.done.set()
                except Exception as exc:
                    # The store is down or refuses (StoreError), or something unforeseen:
                    # keep the entry, keep the order, try again later.
                    if not isinstance(exc, StoreError):
                        self.log.exception("bookstore: unexpected error archiving %s", entry.key)
                    self._note_error(_why(exc), pending=True)
                    delay = min(max(delay * 2, 0.25), self.retry_max_delay)
                    await asyncio.sleep(delay)
                    continue
                delay = 0.0
                queue.pop(0)
                if entry.action != "rename" or key == entry.key:
                    self._known.discard(entry.seq)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
                if not queue:
                    del self._queues[key]
            if not self._workers:
                self._idle_event().set()

    async def _apply(self, entry: SpoolEntry, key: str) -> None:
        if entry.action == "rename":
            await self._rename(entry, key)
        elif entry.action == "delete":
            await self._delete(entry)
        else:
            await self._upload(entry)

    async def _upload(self, entry: SpoolEntry) -> None:
        body, sha = await asyncio.to_thread(_read_and_hash, entry)
        store = await self._open_store()
        latest = await self._latest(store, entry.key)
        if sha == latest.sha and entry.key in self._last:
            # Another writer (the command line, papermill) may have added versions since
            # this archiver last looked: a save is skipped only if the store agrees.
            latest = await _stored_latest(store, entry.key)
        if sha != latest.sha:
            await _put_version(
                store, entry.key, entry.path, body, sha=sha, saved_at=entry.saved_at, latest=latest
            )
            self.archived += 1
        else:
            self.skipped_identical += 1
        self._last[entry.key] = _Latest(sha, latest.lineage)
        await self._done(entry)

    async def _done(self, entry: SpoolEntry) -> None:
        self.last_archived_time = time.time()
        await asyncio.to_thread(self.spool.remove, entry)
        if self._failing:
            self._failing = False
            self.log.info("bookstore: archiving works again (%d pending)", self.pending - 1)

    async def _delete(self, entry: SpoolEntry) -> None:
        store = await self._open_store()
        await store.delete(entry.key)
        self._last.pop(entry.key, None)
        await self._done(entry)

    async def _rename(self, entry: SpoolEntry, key: str) -> None:
        """Run in both keys' workers; the source key's worker performs the rename once
        the target key's worker has reached it too."""
        meeting = self._rendezvous.setdefault(entry.seq, _Rendezvous())
        if key != entry.key:
            meeting.target_arrived.set()
            await meeting.done.wait()
            return
        await meeting.target_arrived.wait()
        store = await self._open_store()
        page = await store.list_versions(entry.key, limit=1)
        if page.items:
            newest = page.items[0]
            target = await self._latest(store, entry.target_key)
            if target.lineage.get(RENAMED_FROM_VERSION_FIELD) != newest.version_id:
                await self._copy_for_rename(store, entry, newest.version_id or "")
            if newest.is_latest:
                await store.delete(entry.key)
        self._last.pop(entry.key, None)
        await self._done(entry)
        meeting.done.set()
        self._rendezvous.pop(entry.seq, None)

    async def _copy_for_rename(self, store: ObjectStore, entry: SpoolEntry, version: str) -> None:
        source = await store.get(entry.key, version)
        sha = source.info.metadata.get(SHA256_FIELD) or hashlib.sha256(source.body).hexdigest()
        lineage = {
            RENAMED_FROM_FIELD: quote(entry.path, safe="/"),
            RENAMED_FROM_VERSION_FIELD: version,
        }
        saved = source.info.metadata.get(SAVED_AT_FIELD) or source.info.last_modified.isoformat()
        copied = await store.put(
            entry.target_key,
            source.body,
            content_type=source.info.content_type,
            metadata={SHA256_FIELD: sha, SAVED_AT_FIELD: saved, **lineage},
        )
        self._last[entry.target_key] = _Latest(sha, {**lineage, LINEAGE_START_FIELD: copied})

    async def _latest(self, store: ObjectStore, key: str) -> _Latest:
        cached = self._last.get(key)
        return cached if cached is not None else await _stored_latest(store, key)

    def _note_error(self, message: str, *, pending: bool = False) -> None:
        """Remember the error; log it once per outage (or once per set-aside entry)."""
        first = not (pending and self._failing)
        self.last_error = message
        self.last_error_time = time.time()
        if pending:
            self._failing = True
        if first:
            suffix = f"; {self.pending} saves wait in the spool, retrying" if pending else ""
            self.log.warning("bookstore: archiving failed: %s%s", message, suffix)

    # -- state ----------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Saves (and renames, deletes) recorded but not yet archived."""
        return len(self._known)

    @property
    def failing(self) -> bool:
        """True since the store last refused or could not be reached (until it answers)."""
        return self._failing

    def status(self) -> dict[str, Any]:
        """The archive state for ``GET /api/bookstore/archive``."""
        failed = self.spool.failed_count() if self.spool.directory.exists() else 0
        state = "failing" if self._failing else "pending" if self.pending else "ok"
        return {
            "state": state,
            "pending": self.pending,
            "failed": failed,
            "archived": self.archived,
            "skipped_identical": self.skipped_identical,
            "last_error": self.last_error,
            "last_error_time": _iso(self.last_error_time),
            "last_archived_time": _iso(self.last_archived_time),
            "workspace_prefix": self.workspace_prefix,
            "file_types": sorted(self.file_types),
        }


def _why(exc: BaseException) -> str:
    """A reason fit for users: an OSError's strerror, never the absolute path it names."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


async def _put_version(
    store: ObjectStore,
    key: str,
    path: str,
    body: bytes,
    *,
    sha: str,
    saved_at: float,
    latest: _Latest,
    metadata: Mapping[str, str] | None = None,
) -> str:
    """Put ``body`` as the next version of ``key``, carrying the lineage of ``latest``
    (bookstore's own fields win over ``metadata``)."""
    saved = datetime.fromtimestamp(saved_at, timezone.utc).isoformat()
    return await store.put(
        key,
        body,
        content_type=CONTENT_TYPES.get(_file_type(path), "application/octet-stream"),
        metadata={**(metadata or {}), SHA256_FIELD: sha, SAVED_AT_FIELD: saved, **latest.lineage},
    )


async def _stored_latest(store: ObjectStore, key: str) -> _Latest:
    """The content hash and lineage of ``key``'s latest version, as the store has it."""
    try:
        info = await store.head(key)
    except ObjectNotFound:
        return _Latest(None)
    return _Latest(info.metadata.get(SHA256_FIELD), lineage_of(info))


async def archive_version(
    store: ObjectStore,
    key: str,
    path: str,
    body: bytes,
    *,
    saved_at: float | None = None,
    metadata: Mapping[str, str] | None = None,
) -> str | None:
    """Archive ``body`` as the next version of ``key`` (the file ``path``) the way the
    :class:`Archiver` does, for writers outside a server (e.g. ``jupyter bookstore
    restore``), with extra object ``metadata`` (ASCII).  Content identical to the latest
    version makes no new version: the result is then ``None``, else the new version id."""
    sha = hashlib.sha256(body).hexdigest()
    latest = await _stored_latest(store, key)
    if sha == latest.sha:
        return None
    when = time.time() if saved_at is None else saved_at
    return await _put_version(
        store, key, path, body, sha=sha, saved_at=when, latest=latest, metadata=metadata
    )


def default_spool_dir(root_dir: str) -> str:
    """The spool of a server whose root dir is ``root_dir`` (when ``archive_spool_dir``
    is empty): ``bookstore-spool/<id>`` under the Jupyter data directory."""
    digest = hashlib.sha256(os.path.abspath(root_dir).encode()).hexdigest()[:16]
    return os.path.join(jupyter_data_dir(), "bookstore-spool", digest)


def archived_type(path: str, file_types: list[str] | set[str]) -> bool:
    """True when saves of ``path`` are archived under ``archive_file_types``."""
    return _file_type(path) in file_types


def _read_and_hash(entry: SpoolEntry) -> tuple[bytes, str]:
    body = Spool.read_body(entry)
    return body, hashlib.sha256(body).hexdigest()


def _seq(entry: SpoolEntry) -> int:
    return entry.seq


def _file_type(path: str) -> str:
    return "notebook" if path.endswith(".ipynb") else "file"


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


class BookstoreContentsArchiver(FileContentsManager):
    """A FileContentsManager that archives (the seed's class, kept for old configurations).

    Archiving no longer needs a special contents manager: the extension archives the
    saves of whatever contents manager the server uses.  Configuring this class still
    works; :meth:`archive` queues a record by hand.
    """

    archiver: Archiver | None = None

    async def archive(self, record: ArchiveRecord) -> None:
        """Queue ``record`` as the next version of its path."""
        if self.archiver is None:
            raise RuntimeError("bookstore's extension is not loaded: nothing archives")
        self.archiver.archive_bytes(record.filepath, record.content.encode("utf-8"))
