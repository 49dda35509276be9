"""The archiver: every successful save becomes a version under ``{workspace_prefix}/{path}``.

How a save travels (see :class:`Archiver`):

1. Jupyter's contents manager saves the file (the server layer's
   :class:`~bookstore.server.saves.SaveRecorder` lets one save per path run at a time).
   Only a save that was written (and, for notebooks, passed validation) is archived.
2. Before the save is answered, :meth:`Archiver.spool_save` copies the bytes just
   written into the :mod:`spool <bookstore.core.archive.spool>` (held in memory when the
   spool's disk is full) and :meth:`Archiver.accept_save` queues them: the save never
   waits for the object store and never fails because of it.
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
  with its lineage (:mod:`~bookstore.core.archive.lineage`), then deletes ``a`` as
  above, so :mod:`bookstore.core.history` can list ``b``'s history and continue with
  ``a``'s versions from before the rename.

bookstore 2.x's :class:`ArchiveRecord` remains for code that names it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import errno
import hashlib
import os
import shutil
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import quote

from jupyter_core.paths import jupyter_data_dir
from traitlets.config import LoggingConfigurable

from ...errors import InvalidPath, StoreError
from ...keys import s3_key
from ...stores.base import FileBody, ObjectStore
from ...timestamps import format_epoch, format_timestamp
from .lineage import (
    LINEAGE_START_FIELD,
    RENAMED_FROM_FIELD,
    RENAMED_FROM_VERSION_FIELD,
    SAVED_AT_FIELD,
    SHA256_FIELD,
    LatestVersion,
    archived_type,
    file_type,
    put_version,
    stored_latest,
)
from .spool import Spool, SpoolEntry

__all__ = [
    "UPLOAD_START_DELAY",
    "ArchiveRecord",
    "Archiver",
    "SpooledSave",
    "default_spool_dir",
]


class SpooledSave(NamedTuple):
    """A save recorded by :meth:`Archiver.spool_save`: its entry, and why the spool could
    not take it when the entry is held in memory instead."""

    entry: SpoolEntry
    problem: OSError | None = None


@dataclass
class _Rendezvous:
    """A rename waits in the queues of both keys: the target's worker signals it arrived
    (its earlier entries are done), the source's worker performs it and signals done."""

    target_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ArchiveRecord(NamedTuple):
    """A notebook to archive: its path, its content and when it was queued (bookstore
    2.x's record, taken by ``BookstoreContentsArchiver.archive``)."""

    filepath: str
    content: str
    queued_time: float


#: Seconds a new upload task waits before its first upload.
UPLOAD_START_DELAY = 0.05
#: How many saves' version ids the archiver remembers (to answer "which version is it?").
REMEMBERED_VERSIONS = 4096


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
        self._last: dict[str, LatestVersion] = {}
        self._rendezvous: dict[int, _Rendezvous] = {}
        self._started = False
        self._idle: asyncio.Event | None = None
        self.archived = 0
        self.skipped_identical = 0
        self.last_error: str | None = None
        self.last_error_time: float | None = None
        self.last_archived_time: float | None = None
        self._failing = False
        #: Why the spool cannot take saves (None: it can), and how big the refused save was.
        self._spool_problem: str | None = None
        self._spool_problem_size = 0
        #: The version each recent save became (by spool sequence number).
        self._versions: OrderedDict[int, str] = OrderedDict()
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

    def should_archive(self, model: dict[str, Any]) -> bool:
        """True when the save Jupyter answered with ``model`` becomes a version: a type we
        archive, and (for a notebook) one that passed validation (no ``message``)."""
        return model.get("type") in self.file_types and not model.get("message")

    def spool_save(self, path: str, os_path: str) -> SpooledSave:
        """Copy the file just saved as ``path`` into the spool (blocking: run it in a
        worker thread, or inline for a synchronous contents manager).  When the spool
        cannot take it (its disk is full), the bytes are held in memory instead and the
        problem is reported; :class:`OSError` only when the saved file cannot be read."""
        key = self.key_for(path)
        try:
            return SpooledSave(self.spool.add_file(key, path, os_path))
        except OSError as exc:
            problem = exc
        with open(os_path, "rb") as saved:
            content = saved.read()
        return SpooledSave(self.spool.hold(key, path, content), problem)

    def accept_save(self, spooled: SpooledSave) -> SpoolEntry:
        """Queue a save :meth:`spool_save` recorded (on the event loop's thread)."""
        entry = spooled.entry
        if spooled.problem is not None:
            self._note_spool_problem(spooled.problem, entry.size)
        elif self._spool_problem is not None:
            self._clear_spool_problem()
        self._accept(entry)
        return entry

    async def record_bytes(self, path: str, content: bytes) -> SpoolEntry:
        """Queue ``content`` as the next version of ``path``, written to the spool in a
        worker thread (held in memory when the spool cannot take it)."""
        key = self.key_for(path)
        try:
            spooled = SpooledSave(await asyncio.to_thread(self.spool.add_bytes, key, path, content))
        except OSError as exc:
            spooled = SpooledSave(self.spool.hold(key, path, content), exc)
        return self.accept_save(spooled)

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
        held = self.held
        if held:
            self.log.error(
                "bookstore: %d saves held in memory (the spool could not take them) are not "
                "archived: their files are still in the workspace; save them again",
                held,
            )
        if self.pending - held:
            self.log.info(
                "bookstore: %d archives stay in the spool for next start", self.pending - held
            )

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
            # for the event loop (saves and clones reply sooner; the version lands a little
            # later).
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
        digest = await asyncio.to_thread(_digest, entry)
        if file_type(entry.path) == "notebook" and not digest.complete:
            raise ValueError("the saved bytes are not a complete notebook (torn or truncated)")
        store = await self._open_store()
        latest = await self._latest(store, entry.key)
        if digest.sha == latest.sha and entry.key in self._last:
            # Another writer (the command line, papermill) may have added versions since
            # this archiver last looked: a save is skipped only if the store agrees.
            latest = await stored_latest(store, entry.key)
        version = latest.version_id
        if digest.sha != latest.sha:
            body: bytes | FileBody = (
                entry.body
                if entry.body is not None
                else FileBody(partial(Spool.open_body, entry), digest.size)
            )
            try:
                version = await put_version(
                    store,
                    entry.key,
                    entry.path,
                    body,
                    sha=digest.sha,
                    saved_at=entry.saved_at,
                    latest=latest,
                )
            except BaseException:
                # The put may have been stored although it failed (its reply lost): the
                # retry asks the store for its latest version first, and skips the put if
                # it holds these bytes already.
                self._last.pop(entry.key, None)
                raise
            self.archived += 1
        else:
            self.skipped_identical += 1
        self._last[entry.key] = LatestVersion(digest.sha, latest.lineage, version)
        if version is not None:
            self._remember(entry.seq, version)
        await self._done(entry)

    def _remember(self, seq: int, version_id: str) -> None:
        self._versions[seq] = version_id
        while len(self._versions) > REMEMBERED_VERSIONS:
            self._versions.popitem(last=False)

    def version_of(self, seq: int) -> str | None:
        """The version id the save ``seq`` became (None: not archived yet, or forgotten)."""
        return self._versions.get(seq)

    def pending_saves(self, key: str) -> list[SpoolEntry]:
        """The saves of ``key`` recorded but not archived yet, newest first."""
        queue = self._queues.get(key, [])
        return [e for e in reversed(queue) if e.action == "save" and e.key == key]

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
        saved = source.info.metadata.get(SAVED_AT_FIELD) or format_timestamp(
            source.info.last_modified
        )
        copied = await store.put(
            entry.target_key,
            source.body,
            content_type=source.info.content_type,
            metadata={SHA256_FIELD: sha, SAVED_AT_FIELD: saved, **lineage},
        )
        self._last[entry.target_key] = LatestVersion(
            sha, {**lineage, LINEAGE_START_FIELD: copied}, copied
        )

    async def _latest(self, store: ObjectStore, key: str) -> LatestVersion:
        cached = self._last.get(key)
        return cached if cached is not None else await stored_latest(store, key)

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

    def _note_spool_problem(self, problem: OSError, size: int) -> None:
        first = self._spool_problem is None
        where = _display_dir(self.spool.directory)
        reason = "no space left on its disk" if problem.errno == errno.ENOSPC else _why(problem)
        self._spool_problem = (
            f"the archive spool ({where}) cannot take saves: {reason}; saves are held in "
            "memory until it can (they are lost if the server stops first)"
        )
        self._spool_problem_size = max(self._spool_problem_size, size)
        self.last_error = self._spool_problem
        self.last_error_time = time.time()
        if first:
            self.log.warning("bookstore: %s", self._spool_problem)

    def _clear_spool_problem(self) -> None:
        self._spool_problem = None
        self._spool_problem_size = 0
        self.log.info("bookstore: the archive spool takes saves again")

    def _spool_has_room(self) -> bool:
        """True when the spool's disk has room for the save it refused (and 1 MiB more)."""
        try:
            free = shutil.disk_usage(self.spool.directory).free
        except OSError:
            return False
        return free > self._spool_problem_size + (1 << 20)

    @property
    def held(self) -> int:
        """Saves held in memory because the spool could not take them."""
        return sum(
            1 for queue in self._queues.values() for entry in queue if entry.body is not None
        )

    # -- state ----------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Saves (and renames, deletes) recorded but not yet archived."""
        return len(self._known)

    @property
    def store_failing(self) -> bool:
        """True since the store last refused or could not be reached (until it answers)."""
        return self._failing

    @property
    def failing(self) -> bool:
        """True since the store last refused or could not be reached (until it answers),
        and while the spool cannot take saves."""
        return self._failing or self._spool_problem is not None

    def status(self) -> dict[str, Any]:
        """The archive state for ``GET /api/bookstore/archive``."""
        failed = self.spool.failed_count() if self.spool.directory.exists() else 0
        if self._spool_problem is not None and self._spool_has_room():
            self._clear_spool_problem()
        state = "failing" if self.failing else "pending" if self.pending else "ok"
        return {
            "state": state,
            "pending": self.pending,
            "held_in_memory": self.held,
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


def default_spool_dir(root_dir: str) -> str:
    """The spool of a server whose root dir is ``root_dir`` (when ``archive_spool_dir``
    is empty): ``bookstore-spool/<id>`` under the Jupyter data directory."""
    digest = hashlib.sha256(os.path.abspath(root_dir).encode()).hexdigest()[:16]
    return os.path.join(jupyter_data_dir(), "bookstore-spool", digest)


class _Digest(NamedTuple):
    sha: str
    size: int
    #: False when the bytes cannot be a whole JSON document (NUL bytes, or not ``{...}``).
    complete: bool


#: Bytes read at a time while hashing a spooled save.
_HASH_CHUNK = 1 << 20


def _digest(entry: SpoolEntry) -> _Digest:
    """The sha256 and size of ``entry``'s bytes, read in chunks, and whether they can be
    a whole notebook (a torn write leaves NUL bytes, a truncated one no closing brace)."""
    sha = hashlib.sha256()
    size, nul, first, last = 0, False, b"", b""
    with contextlib.ExitStack() as stack:
        if entry.body is not None:
            chunks: Any = [entry.body]
        else:
            stream = stack.enter_context(Spool.open_body(entry))
            chunks = iter(partial(stream.read, _HASH_CHUNK), b"")
        for chunk in chunks:
            sha.update(chunk)
            size += len(chunk)
            nul = nul or b"\0" in chunk
            stripped = chunk.strip()
            if stripped:
                first = first or stripped[:1]
                last = stripped[-1:]
    return _Digest(sha.hexdigest(), size, not nul and first == b"{" and last == b"}")


def _display_dir(directory: os.PathLike[str] | str) -> str:
    """A directory as a person reads it: under the home directory as ``~/...``."""
    text = os.fspath(directory)
    home = os.path.expanduser("~")
    if home not in ("", "/") and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home) :]
    return text


def _seq(entry: SpoolEntry) -> int:
    return entry.seq


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else format_epoch(timestamp)
