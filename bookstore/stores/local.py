"""The embedded local store: a versioned object store in one directory on disk.

Used when no S3 bucket is configured.  Layout under ``local_store_dir``::

    index.sqlite3        SQLite index (WAL journal, synchronous=FULL) of every version
    blobs/ab/abcd…       content-addressed bodies, named by their SHA-256

A put writes (and fsyncs) the body's blob first, then inserts the version row in one
transaction: a process killed at any moment leaves at worst an orphan blob, never a
torn version or a corrupt index.  A permanent version delete works the other way round:
it deletes the row in one transaction, then, in a second one, removes the blob if no
version uses it any more (identical bodies share a blob).  A put checks, inside its
transaction, that its blob is still there (a concurrent delete may just have removed
it) and writes it again if not; SQLite's write lock orders both, across processes too.
All disk and SQLite work runs in a bounded thread pool (``max_threads``), never on the
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..errors import InvalidPath, ObjectNotFound, StoreError, StoreUnavailable, VersionNotFound
from ..tokens import INVALID_TOKEN, clamp_limit, decode_token, encode_token
from .base import (
    CHUNK_SIZE,
    FileBody,
    ObjectInfo,
    ObjectStore,
    Page,
    StoredObject,
    StoreSettings,
    StoreStatus,
    check_key,
    check_text,
    transfer_progress,
)

__all__ = ["LocalStore"]

R = TypeVar("R")

#: Name of the SQLite index inside the store directory.
INDEX_NAME = "index.sqlite3"
#: Name of the directory of content-addressed bodies inside the store directory.
BLOBS_NAME = "blobs"
#: What :meth:`LocalStore.check` reports as the location (never an absolute path).
LOCATION = "embedded"
#: Version of the index schema, kept in ``PRAGMA user_version``.
SCHEMA_VERSION = 1
#: Seconds a connection waits for another process's write lock before failing.
BUSY_TIMEOUT = 30.0
#: How often a put writes its blob again when a concurrent version delete removed it.
BLOB_ATTEMPTS = 3

_MAX_SEQ = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    version_id TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_us INTEGER NOT NULL,
    content_type TEXT,
    metadata TEXT NOT NULL DEFAULT '{{}}',
    is_delete_marker INTEGER NOT NULL DEFAULT 0,
    blob TEXT
);
CREATE INDEX IF NOT EXISTS versions_key_seq ON versions (key, seq);
CREATE INDEX IF NOT EXISTS versions_blob ON versions (blob);
CREATE TABLE IF NOT EXISTS latest (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
PRAGMA user_version = {SCHEMA_VERSION};
"""

#: Columns of a version row plus ``latest_seq``, the seq of its key's current version.
_VERSION_COLUMNS = (
    "v.seq, v.key, v.version_id, v.size, v.etag, v.last_modified_us, v.content_type, "
    "v.metadata, v.is_delete_marker, v.blob"
)
_WITH_LATEST = f"{_VERSION_COLUMNS}, (SELECT l.seq FROM latest l WHERE l.key = v.key) AS latest_seq"


def _now_us() -> int:
    """The current time in microseconds since the Unix epoch (patched by tests)."""
    return time.time_ns() // 1000


def _datetime(us: int) -> datetime:
    """The aware UTC datetime of ``us`` microseconds since the epoch (exact)."""
    return _EPOCH + timedelta(microseconds=us)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _prefix_upper_bound(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (None: no
    bound).  Code point order, which is SQLite's BINARY order on UTF-8 text."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop())
        if code == 0x10FFFF:
            continue
        code += 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates are never stored: skip them
            code = 0xE000
        return "".join(chars) + chr(code)
    return None


def _encode_key_token(key: str) -> str:
    """The token of a key listing continuing after ``key``."""
    return encode_token({"after": key})


def _decode_key_token(token: str) -> str:
    key = decode_token(token).get("after")
    if not isinstance(key, str) or not key or not _encodable(key):
        raise InvalidPath(INVALID_TOKEN)
    return key


def _encode_seq_token(key: str, seq: int) -> str:
    """The token of a version listing of ``key`` continuing below ``seq``."""
    return encode_token({"key": key, "before": seq})


def _decode_seq_token(token: str, key: str) -> int:
    fields = decode_token(token)
    seq = fields.get("before")
    if fields.get("key") != key or not isinstance(seq, int) or isinstance(seq, bool):
        raise InvalidPath(INVALID_TOKEN)
    if not 0 < seq <= _MAX_SEQ:
        raise InvalidPath(INVALID_TOKEN)
    return seq


def _fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename, a new file) durable; a no-op where the OS or
    file system cannot fsync directories."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _encode_metadata(metadata: Mapping[str, str]) -> str:
    """Metadata as the index keeps it."""
    return json.dumps({str(k): str(v) for k, v in metadata.items()}, sort_keys=True)


def _info(row: sqlite3.Row, *, with_metadata: bool = False) -> ObjectInfo:
    """The :class:`ObjectInfo` of a version row (selected with ``latest_seq``)."""
    return ObjectInfo(
        key=row["key"],
        version_id=row["version_id"],
        size=int(row["size"]),
        last_modified=_datetime(int(row["last_modified_us"])),
        etag=row["etag"],
        is_latest=row["seq"] == row["latest_seq"],
        content_type=row["content_type"],
        metadata=json.loads(row["metadata"]) if with_metadata else {},
    )


class LocalStore(ObjectStore):
    """An :class:`~bookstore.stores.base.ObjectStore` in ``local_store_dir``: a SQLite
    index of versions plus content-addressed blob files; always versioned."""

    backend_name: ClassVar[str] = "local"

    def __init__(self, settings: StoreSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._executor: ThreadPoolExecutor | None = None
        self._root = Path()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()

    @property
    def bucket(self) -> str:
        """The configured ``local_store_bucket``."""
        return str(self.settings.local_store_bucket)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Create the store directory and index if needed and start the worker threads."""
        if self._executor is not None:
            return
        directory = str(self.settings.local_store_dir)
        if not directory or not os.path.isabs(directory):
            raise StoreUnavailable(
                "BookstoreSettings.local_store_dir must be an absolute directory path"
            )
        self._root = Path(directory)
        self._local = threading.local()
        self._connections = []
        executor = ThreadPoolExecutor(
            max_workers=self.settings.max_threads, thread_name_prefix="bookstore-local"
        )
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._setup)
        except BaseException:
            await asyncio.to_thread(self._shutdown, executor)
            raise
        self._executor = executor

    async def close(self) -> None:
        """Wait for running operations, stop the worker threads, close the index."""
        executor, self._executor = self._executor, None
        if executor is not None:
            try:
                await asyncio.to_thread(self._shutdown, executor)
            except RuntimeError:
                # The interpreter is exiting (an atexit hook): threads are refused, and
                # nothing else runs any more, so close right here.
                self._shutdown(executor)

    def _shutdown(self, executor: ThreadPoolExecutor) -> None:
        executor.shutdown(wait=True)
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(sqlite3.Error):
                connection.close()

    def _setup(self) -> None:
        """Create the directories and the schema (in a worker thread)."""
        with self._errors("create the local store"):
            self._root.mkdir(parents=True, exist_ok=True)
            (self._root / BLOBS_NAME).mkdir(exist_ok=True)
            connection = self._connection()
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                self.log.warning(
                    "bookstore: the local store's file system does not support SQLite's WAL "
                    "journal (using %s); reads may wait behind writes",
                    mode,
                )
            with self._write_lock:
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreUnavailable(
                        f"The local store was written by a newer bookstore "
                        f"(schema {version}, this one reads {SCHEMA_VERSION})"
                    )
                connection.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\nCOMMIT;")

    # -- threads, connections and errors -------------------------------------------------

    async def _run(self, func: Callable[..., R], *args: Any) -> R:
        """Run ``func(*args)`` in the worker pool."""
        executor = self._executor
        if executor is None:
            raise StoreUnavailable("The local store is not started")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, functools.partial(func, *args))
        except RuntimeError as exc:  # the pool was shut down meanwhile
            if self._executor is not executor:
                raise StoreUnavailable("The local store is closed") from exc
            raise

    def _connection(self) -> sqlite3.Connection:
        """This worker thread's own connection to the index."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self._root / INDEX_NAME,
                timeout=BUSY_TIMEOUT,
                isolation_level=None,
                check_same_thread=False,  # closed by close(), from another thread
            )
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; writers of this process queue on a lock (other processes
        on SQLite's busy timeout), readers never wait for it."""
        connection = self._connection()
        with self._write_lock:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Re-raise OSError and sqlite3 errors as :class:`StoreUnavailable` (no paths)."""
        try:
            yield
        except StoreError:
            raise
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"The local store failed to {action}: {exc}") from exc
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise StoreUnavailable(f"The local store failed to {action}: {reason}") from exc

    # -- blobs ---------------------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        return self._root / BLOBS_NAME / digest[:2] / digest

    def _write_blob(self, digest: str, body: bytes) -> None:
        """Write ``body`` as the blob ``digest`` atomically and durably, unless present."""
        path = self._blob_path(digest)
        if path.exists():
            return
        directory = path.parent
        if not directory.is_dir():
            directory.mkdir(exist_ok=True)
            _fsync_dir(directory.parent)
        temporary = directory / f".tmp-{uuid.uuid4().hex}"
        try:
            with open(temporary, "xb") as stream:
                stream.write(body)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        _fsync_dir(directory)

    def _read_blob(self, row: sqlite3.Row) -> bytes:
        try:
            return self._blob_path(str(row["blob"])).read_bytes()
        except FileNotFoundError as exc:
            raise StoreUnavailable(
                f"The content of version {row['version_id']} of {row['key']} is missing "
                "from the local store"
            ) from exc

    # -- index rows ----------------------------------------------------------------------

    @staticmethod
    def _next_time(connection: sqlite3.Connection, key: str) -> int:
        """Now, or 1 µs after the key's last entry if the clock has not moved past it."""
        now = _now_us()
        row = connection.execute(
            "SELECT last_modified_us FROM versions WHERE key = ? ORDER BY seq DESC LIMIT 1",
            (key,),
        ).fetchone()
        if row is not None and now <= row[0]:
            return int(row[0]) + 1
        return now

    def _insert_version(
        self,
        connection: sqlite3.Connection,
        key: str,
        *,
        size: int,
        etag: str,
        content_type: str | None,
        metadata: str,
        blob: str,
    ) -> str:
        version_id = uuid.uuid4().hex
        cursor = connection.execute(
            "INSERT INTO versions (key, version_id, size, etag, last_modified_us, "
            "content_type, metadata, is_delete_marker, blob) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
            (
                key,
                version_id,
                size,
                etag,
                self._next_time(connection, key),
                content_type,
                metadata,
                blob,
            ),
        )
        connection.execute(
            "INSERT OR REPLACE INTO latest (key, seq) VALUES (?, ?)", (key, cursor.lastrowid)
        )
        return version_id

    def _find(self, key: str, version_id: str | None) -> sqlite3.Row:
        """The row of the latest or the given version of ``key`` (with ``latest_seq``)."""
        connection = self._connection()
        row: sqlite3.Row | None
        if version_id is None:
            row = connection.execute(
                f"SELECT {_WITH_LATEST} FROM latest l2 JOIN versions v ON v.seq = l2.seq "
                "WHERE l2.key = ?",
                (key,),
            ).fetchone()
            if row is None:
                raise ObjectNotFound(f"{key} not found")
            return row
        row = None
        if isinstance(version_id, str) and _encodable(version_id):
            row = connection.execute(
                f"SELECT {_WITH_LATEST} FROM versions v WHERE v.version_id = ?", (version_id,)
            ).fetchone()
        if row is None or row["key"] != key or row["is_delete_marker"]:
            raise VersionNotFound(f"{key} has no version {version_id}")
        return row

    # -- worker-thread bodies ------------------------------------------------------------

    def _put_sync(
        self, key: str, body: bytes, content_type: str | None, metadata: Mapping[str, str]
    ) -> str:
        digest = hashlib.sha256(body).hexdigest()
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        encoded = _encode_metadata(metadata)
        with self._errors(f"store {key}"):
            for _ in range(BLOB_ATTEMPTS):
                self._write_blob(digest, body)
                with self._transaction() as connection:
                    if self._blob_path(digest).exists():  # not just removed by a delete
                        return self._insert_version(
                            connection,
                            key,
                            size=len(body),
                            etag=etag,
                            content_type=content_type,
                            metadata=encoded,
                            blob=digest,
                        )
        raise StoreUnavailable(f"The local store failed to store {key}: its blob kept vanishing")

    def _put_file_sync(
        self, key: str, body: FileBody, content_type: str | None, metadata: Mapping[str, str]
    ) -> str:
        """Like :meth:`_put_sync`, copying the body from its file in chunks (hashed on the way)."""
        encoded = _encode_metadata(metadata)
        with self._errors(f"store {key}"):
            for _ in range(BLOB_ATTEMPTS):
                digest, etag, size = self._copy_blob(body)
                with self._transaction() as connection:
                    if self._blob_path(digest).exists():  # not just removed by a delete
                        return self._insert_version(
                            connection,
                            key,
                            size=size,
                            etag=etag,
                            content_type=content_type,
                            metadata=encoded,
                            blob=digest,
                        )
        raise StoreUnavailable(f"The local store failed to store {key}: its blob kept vanishing")

    def _copy_blob(self, body: FileBody) -> tuple[str, str, int]:
        """Copy ``body`` into a blob, atomically and durably; its sha256, md5 and size."""
        blobs = self._root / BLOBS_NAME
        temporary = blobs / f".tmp-{uuid.uuid4().hex}"
        sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
        try:
            with body.open() as source, open(temporary, "xb") as stream:
                while chunk := source.read(CHUNK_SIZE):
                    sha.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                    stream.write(chunk)
                stream.flush()
                os.fsync(stream.fileno())
            digest = sha.hexdigest()
            path = self._blob_path(digest)
            if not path.parent.is_dir():
                path.parent.mkdir(exist_ok=True)
                _fsync_dir(blobs)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        _fsync_dir(path.parent)
        return digest, md5.hexdigest(), size

    def _get_sync(self, key: str, version_id: str | None) -> StoredObject:
        with self._errors(f"read {key}"):
            row = self._find(key, version_id)
            try:
                body = self._read_blob(row)
            except StoreUnavailable:
                # Deleted meanwhile (delete_version)?  Then say so, or read the new latest.
                again = self._find(key, version_id)
                if again["seq"] == row["seq"]:
                    raise
                row, body = again, self._read_blob(again)
        return StoredObject(info=_info(row, with_metadata=True), body=body)

    def _head_sync(self, key: str, version_id: str | None) -> ObjectInfo:
        with self._errors(f"read {key}"):
            row = self._find(key, version_id)
        return _info(row, with_metadata=True)

    def _delete_sync(self, key: str) -> None:
        with self._errors(f"delete {key}"), self._transaction() as connection:
            if connection.execute("SELECT 1 FROM latest WHERE key = ?", (key,)).fetchone():
                connection.execute(
                    "INSERT INTO versions (key, version_id, size, etag, last_modified_us, "
                    "is_delete_marker) VALUES (?, ?, 0, '', ?, 1)",
                    (key, uuid.uuid4().hex, self._next_time(connection, key)),
                )
                connection.execute("DELETE FROM latest WHERE key = ?", (key,))

    def _delete_version_sync(self, key: str, version_id: str) -> None:
        with self._errors(f"delete version {version_id} of {key}"):
            with self._transaction() as connection:
                row = connection.execute(
                    "SELECT seq, key, blob, is_delete_marker FROM versions WHERE version_id = ?",
                    (version_id,),
                ).fetchone()
                if row is None or row["key"] != key or row["is_delete_marker"]:
                    return  # no such version of this key: a no-op
                connection.execute("DELETE FROM versions WHERE seq = ?", (row["seq"],))
                latest = connection.execute(
                    "SELECT seq FROM latest WHERE key = ?", (key,)
                ).fetchone()
                if latest is not None and latest[0] == row["seq"]:
                    # As on S3: the entry before it becomes current (a delete marker: the
                    # key stays deleted).
                    previous = connection.execute(
                        "SELECT seq, is_delete_marker FROM versions WHERE key = ? "
                        "ORDER BY seq DESC LIMIT 1",
                        (key,),
                    ).fetchone()
                    if previous is None or previous["is_delete_marker"]:
                        connection.execute("DELETE FROM latest WHERE key = ?", (key,))
                    else:
                        connection.execute(
                            "UPDATE latest SET seq = ? WHERE key = ?", (previous["seq"], key)
                        )
            blob = row["blob"]
        if blob:
            self._collect_blob(str(blob))

    def _collect_blob(self, digest: str) -> None:
        """Remove blob ``digest`` when no version uses it (in a transaction of its own,
        after the row's: a crash in between leaves an orphan blob, never a torn version).
        A failure is only logged: the version is deleted already."""
        try:
            with self._transaction() as connection:
                used = connection.execute(
                    "SELECT 1 FROM versions WHERE blob = ? LIMIT 1", (digest,)
                ).fetchone()
                if used is None:
                    with contextlib.suppress(FileNotFoundError):
                        self._blob_path(digest).unlink()
        except (OSError, sqlite3.Error) as exc:
            self.log.warning(
                "bookstore: the local store kept the bytes of a deleted version: %s", exc
            )

    def _copy_sync(
        self,
        src_key: str,
        dst_key: str,
        version_id: str | None,
        metadata: str | None,
        content_type: str | None,
    ) -> str:
        with self._errors(f"copy {src_key}"), self._transaction() as connection:
            source = self._find(src_key, version_id)
            return self._insert_version(
                connection,
                dst_key,
                size=int(source["size"]),
                etag=source["etag"],
                content_type=source["content_type"]
                if metadata is None or content_type is None
                else content_type,
                metadata=source["metadata"] if metadata is None else metadata,
                blob=source["blob"],
            )

    def _list_versions_sync(self, key: str, limit: int, before: int) -> Page[ObjectInfo]:
        with self._errors(f"list the versions of {key}"):
            rows = (
                self._connection()
                .execute(
                    f"SELECT {_WITH_LATEST} FROM versions v WHERE v.key = ? AND v.seq < ? "
                    "AND v.is_delete_marker = 0 ORDER BY v.seq DESC LIMIT ?",
                    (key, before, limit + 1),
                )
                .fetchall()
            )
        page = rows[:limit]
        next_token = _encode_seq_token(key, int(page[-1]["seq"])) if len(rows) > limit else None
        return Page(items=[_info(row) for row in page], next_token=next_token)

    def _list_keys_sync(self, prefix: str, limit: int, after: str | None) -> Page[ObjectInfo]:
        conditions = ["l.key >= ?"]
        params: list[Any] = [prefix]
        upper = _prefix_upper_bound(prefix)
        if upper is not None:
            conditions.append("l.key < ?")
            params.append(upper)
        if after is not None:
            conditions.append("l.key > ?")
            params.append(after)
        params.append(limit + 1)
        with self._errors(f"list the keys under {prefix!r}"):
            rows = (
                self._connection()
                .execute(
                    f"SELECT {_VERSION_COLUMNS}, l.seq AS latest_seq FROM latest l "
                    f"JOIN versions v ON v.seq = l.seq WHERE {' AND '.join(conditions)} "
                    "ORDER BY l.key LIMIT ?",
                    params,
                )
                .fetchall()
            )
        page = rows[:limit]
        next_token = _encode_key_token(page[-1]["key"]) if len(rows) > limit else None
        return Page(items=[_info(row, with_metadata=True) for row in page], next_token=next_token)

    def _check_sync(self) -> None:
        with self._errors("write to its directory"):
            probe = self._root / f".probe-{uuid.uuid4().hex}"
            with open(probe, "xb") as stream:
                stream.write(b"bookstore")
            probe.unlink()
        with self._errors("read its index"):
            self._connection().execute("SELECT 1 FROM latest LIMIT 1").fetchall()

    # -- the ObjectStore interface -------------------------------------------------------

    async def put(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Store ``body`` as a new version of ``key``; returns its version id."""
        check_key(key)
        return await self._run(self._put_sync, key, bytes(body), content_type, metadata or {})

    async def put_file(
        self,
        key: str,
        body: FileBody,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Store the bytes of ``body`` as a new version of ``key``, copied in chunks."""
        check_key(key)
        return await self._run(self._put_file_sync, key, body, content_type, metadata or {})

    async def get(self, key: str, version_id: str | None = None) -> StoredObject:
        """The latest or the given version of ``key``, with its body."""
        check_key(key)
        stored: StoredObject = await self._run(self._get_sync, key, version_id)
        report = transfer_progress.get()
        if report is not None:
            report(len(stored.body), len(stored.body))
        return stored

    async def head(self, key: str, version_id: str | None = None) -> ObjectInfo:
        """The latest or the given version of ``key``, without its body."""
        check_key(key)
        return await self._run(self._head_sync, key, version_id)

    async def delete(self, key: str) -> None:
        """Write a delete marker for ``key`` (a no-op when it is missing or deleted)."""
        check_key(key)
        await self._run(self._delete_sync, key)

    async def delete_version(self, key: str, version_id: str) -> None:
        """Delete the row of that version (the previous one becomes the latest) and its
        blob unless another version shares it; a missing version is a no-op."""
        check_key(key)
        if not isinstance(version_id, str) or not _encodable(version_id):
            return
        await self._run(self._delete_version_sync, key, version_id)

    async def copy(
        self,
        src_key: str,
        dst_key: str,
        *,
        version_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> str:
        """A new version of ``dst_key`` sharing the blob of ``src_key``'s latest (or given)
        version, its content type and metadata (or ``metadata`` and ``content_type``, when
        given)."""
        check_key(src_key)
        check_key(dst_key)
        encoded = None if metadata is None else _encode_metadata(metadata)
        return await self._run(self._copy_sync, src_key, dst_key, version_id, encoded, content_type)

    async def list_versions(
        self, key: str, *, limit: int = 100, token: str | None = None
    ) -> Page[ObjectInfo]:
        """The versions of exactly ``key``, newest first, without delete markers."""
        check_key(key)
        before = _decode_seq_token(token, key) if token else _MAX_SEQ
        return await self._run(self._list_versions_sync, key, clamp_limit(limit), before)

    async def list_keys(
        self, prefix: str, *, limit: int = 1000, token: str | None = None
    ) -> Page[ObjectInfo]:
        """The current keys starting with ``prefix`` in code point order, each with its
        latest version (``version_id`` included)."""
        check_text(prefix, "key prefix")
        after = _decode_key_token(token) if token else None
        return await self._run(self._list_keys_sync, prefix, clamp_limit(limit), after)

    async def check(self) -> StoreStatus:
        """Probe that the directory is writable and the index readable; never raises."""
        if self._executor is None:
            return self._status(error="The local store is not started")
        try:
            await self._run(self._check_sync)
        except StoreError as exc:
            return self._status(error=str(exc))
        except Exception as exc:  # check() must never raise
            return self._status(error=f"Checking the local store failed ({type(exc).__name__})")
        return self._status()

    def _status(self, error: str | None = None) -> StoreStatus:
        started = self._executor is not None
        return StoreStatus(
            backend=self.backend_name,
            bucket=self.bucket,
            location=LOCATION,
            reachable=started,
            bucket_exists=started,
            versioning="Enabled" if started else "unknown",
            error=error,
        )
