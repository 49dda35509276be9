"""The versioned object store interface every bookstore feature is written against.

A store holds *keys* (``workspace/me/a.ipynb``); each key has a history of immutable
*versions*, newest last written.  Semantics follow a versioned S3 bucket:

* ``put`` always creates a new version and returns its id, even when the body is
  unchanged; concurrent puts to one key each get their own version.
* ``delete`` hides the key (like an S3 delete marker): ``get``/``head`` of the key
  without a version id then raise :class:`~bookstore.errors.ObjectNotFound`, but every
  earlier version stays readable by id and listed by ``list_versions``.
* ``copy`` is server-side: the bytes never travel through bookstore.
* ``delete_version`` removes one version for good (S3's versioned ``DeleteObject``);
  deleting the latest makes the previous version the latest.  It is the only way
  history is ever lost, and only retention (:mod:`bookstore.core.retention`) calls it.
* A version id that does not exist, or belongs to another key, raises
  :class:`~bookstore.errors.VersionNotFound` (a subclass of ``ObjectNotFound``), except
  in ``delete_version``, where it is a no-op.
* A page token that the store did not issue for that listing raises
  :class:`~bookstore.errors.InvalidPath` (a client error).

All methods are coroutines; implementations must never block the event loop.
While :data:`transfer_progress` holds a callback, ``get`` reports the bytes it receives
(the command line shows them as a progress bar).
Errors are the ones of :mod:`bookstore.errors`, never a backend's own exceptions.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import IO, Any, ClassVar, Generic, Protocol, TypeVar

from traitlets import MetaHasTraits
from traitlets.config import Configurable, LoggingConfigurable

from ..errors import BucketNotFound, InvalidPath, StoreError
from ..keys import usable_version_id
from ..timestamps import format_timestamp
from ..tokens import MAX_PAGE_SIZE, clamp_limit, usable_page_token

__all__ = [
    "CHUNK_SIZE",
    "MAX_PAGE_SIZE",
    "FileBody",
    "ObjectInfo",
    "ObjectStore",
    "Page",
    "StoreSettings",
    "StoreStarter",
    "StoreStatus",
    "StoredObject",
    "check_key",
    "check_text",
    "clamp_limit",
    "list_all_keys",
    "transfer_progress",
    "usable_page_token",
    "usable_version_id",
]

T = TypeVar("T")
StoreT = TypeVar("StoreT", bound="ObjectStore")

#: ``callback(received, total)`` called by ``get`` as a body arrives (``received``: the
#: bytes of this chunk; ``total``: the body's size); ``None``: nothing reports.
transfer_progress: ContextVar[Callable[[int, int], None] | None] = ContextVar(
    "transfer_progress", default=None
)


@dataclass(frozen=True)
class FileBody:
    """Bytes to store that wait in a file: :attr:`open` returns a binary stream positioned
    at their start, :attr:`size` bytes long (the caller's stream is closed by the store).
    Stores read it in chunks, off the event loop, so a huge body is never in memory whole."""

    open: Callable[[], IO[bytes]]
    size: int

    def read_all(self) -> bytes:
        """The whole body (blocking: call it in a worker thread)."""
        with self.open() as stream:
            return stream.read(self.size)


#: Chunk size for reading a :class:`FileBody` (and, on S3, the size of each uploaded part).
CHUNK_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about one version of one key.

    ``version_id`` is ``None`` only in :meth:`ObjectStore.list_keys` results of a
    backend whose key listing does not report version ids (S3); ``metadata`` is
    filled by :meth:`ObjectStore.get` and :meth:`ObjectStore.head`, and by the
    :meth:`ObjectStore.list_keys` of a backend that reports version ids there.
    ``is_latest`` is exact everywhere, also for a version asked for by id.
    ``content_type`` is what the backend reports (S3 guesses one when none was given).
    """

    key: str
    version_id: str | None
    size: int
    last_modified: datetime
    etag: str = ""
    is_latest: bool = True
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (times as :func:`~bookstore.timestamps.format_timestamp`)."""
        return {
            "key": self.key,
            "version_id": self.version_id,
            "size": self.size,
            "last_modified": format_timestamp(self.last_modified),
            "etag": self.etag,
            "is_latest": self.is_latest,
        }


@dataclass(frozen=True)
class StoredObject:
    """One version of one key, with its bytes."""

    info: ObjectInfo
    body: bytes


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; pass ``next_token`` back to get the next page."""

    items: list[T]
    next_token: str | None = None


@dataclass(frozen=True)
class StoreStatus:
    """The result of :meth:`ObjectStore.check`: is the store usable, and does it keep history.

    ``versioning`` is ``"Enabled"``, ``"Suspended"``, ``"Disabled"`` or ``"unknown"``.
    """

    backend: str
    bucket: str
    location: str
    reachable: bool
    bucket_exists: bool
    versioning: str
    error: str | None = None

    @classmethod
    def not_started(cls, store: ObjectStore, error: str) -> StoreStatus:
        """The status of ``store`` when it could not even start (``error`` says why)."""
        return cls(
            backend=store.backend_name,
            bucket=store.bucket,
            location="",
            reachable=False,
            bucket_exists=False,
            versioning="unknown",
            error=error,
        )

    @property
    def usable(self) -> bool:
        """True when reads and writes can be expected to work."""
        return self.reachable and self.bucket_exists and self.error is None

    @property
    def versioned(self) -> bool:
        """True when every put keeps the previous versions."""
        return self.usable and self.versioning == "Enabled"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for ``GET /api/bookstore``."""
        return {
            "backend": self.backend,
            "bucket": self.bucket,
            "location": self.location,
            "reachable": self.reachable,
            "bucket_exists": self.bucket_exists,
            "versioning": self.versioning,
            "usable": self.usable,
            "error": self.error,
        }


class StoreSettings(Protocol):
    """What a backend reads of the configuration (``BookstoreSettings`` has all of it;
    a backend of another kind may add traits of its own, configured as its class)."""

    @property
    def s3_bucket(self) -> str: ...
    @property
    def s3_endpoint_url(self) -> str: ...
    @property
    def s3_region_name(self) -> str: ...
    @property
    def s3_access_key_id(self) -> str: ...
    @property
    def s3_secret_access_key(self) -> str: ...
    @property
    def max_threads(self) -> int: ...
    @property
    def local_store_dir(self) -> str: ...
    @property
    def local_store_bucket(self) -> str: ...


class _AbstractConfigurableMeta(MetaHasTraits, abc.ABCMeta):
    """Lets a traitlets Configurable declare abstract methods."""


class ObjectStore(LoggingConfigurable, metaclass=_AbstractConfigurableMeta):
    """A versioned object store; subclass it to plug in a backend.

    Construct with the configuration (:class:`StoreSettings`, e.g. the server's
    ``BookstoreSettings``, which also becomes the store's traitlets parent); call
    :meth:`start` once before use and :meth:`close` once at shutdown (or use ``async
    with``).  One instance serves the whole server.
    """

    #: Short name reported by ``GET /api/bookstore`` (``"s3"``, ``"local"``).
    backend_name: ClassVar[str] = ""

    def __init__(self, settings: StoreSettings, **kwargs: Any) -> None:
        if isinstance(settings, Configurable):
            kwargs.setdefault("parent", settings)
        super().__init__(**kwargs)
        self.settings = settings

    @property
    @abc.abstractmethod
    def bucket(self) -> str:
        """The name by which this store's bucket is addressed (``s3://{bucket}/…``)."""

    def for_bucket(self, bucket: str) -> ObjectStore:
        """This store's view of ``bucket``, sharing its connections (used to clone from
        other buckets).  A backend with a single bucket answers only for its own name.

        Raises :class:`~bookstore.errors.BucketNotFound` for a bucket it cannot address.
        """
        if bucket == self.bucket:
            return self
        raise BucketNotFound(f"The bucket {bucket!r} does not exist in this store")

    async def start(self) -> None:
        """Open connections and resources; called once before first use."""

    async def close(self) -> None:
        """Release connections and resources; called once at shutdown."""

    async def __aenter__(self: StoreT) -> StoreT:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abc.abstractmethod
    async def check(self) -> StoreStatus:
        """Probe the store: reachable, bucket present, versioning state. Never raises."""

    @abc.abstractmethod
    async def put(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Store ``body`` as a new version of ``key`` and return the new version id.

        ``metadata`` keys and values must be ASCII (an S3 constraint).
        """

    async def put_file(
        self,
        key: str,
        body: FileBody,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Like :meth:`put`, for bytes waiting in a file; backends stream big ones in chunks
        (this default reads the body whole, in a worker thread)."""
        content = await asyncio.to_thread(body.read_all)
        return await self.put(key, content, content_type=content_type, metadata=metadata)

    @abc.abstractmethod
    async def get(self, key: str, version_id: str | None = None) -> StoredObject:
        """Read the latest version of ``key``, or the version ``version_id``."""

    @abc.abstractmethod
    async def head(self, key: str, version_id: str | None = None) -> ObjectInfo:
        """Like :meth:`get` without the body."""

    @abc.abstractmethod
    async def list_versions(
        self, key: str, *, limit: int = 100, token: str | None = None
    ) -> Page[ObjectInfo]:
        """The versions of exactly ``key`` (not of other keys sharing the prefix), newest first.

        Delete markers are not listed; after a delete no version is ``is_latest``.
        A key that never existed gives an empty page.  ``limit`` is capped at
        :data:`MAX_PAGE_SIZE`; a page is never empty while ``next_token`` is set.
        """

    @abc.abstractmethod
    async def list_keys(
        self, prefix: str, *, limit: int = 1000, token: str | None = None
    ) -> Page[ObjectInfo]:
        """The current (not deleted) keys starting with ``prefix``, in key order, with
        their latest version.  ``limit`` is capped at :data:`MAX_PAGE_SIZE`."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Hide ``key``; its history stays readable.  Deleting a missing key is a no-op."""

    @abc.abstractmethod
    async def delete_version(self, key: str, version_id: str) -> None:
        """Remove the version ``version_id`` of ``key`` for good: its bytes cannot be read
        any more and it is no longer listed (retention uses this; :meth:`delete` only
        hides a key).  The other versions stay as they were.  Deleting the latest
        version makes the one before it the latest, as on S3 (unless that is a delete
        marker: the key then stays deleted).

        A version that does not exist (never did, was deleted already, belongs to another
        key, or its id could not be a version id at all) is a **no-op**, so a prune
        retried or run twice at once is harmless.  Bad keys raise
        :class:`~bookstore.errors.InvalidPath`; store failures their usual errors.
        """

    @abc.abstractmethod
    async def copy(
        self,
        src_key: str,
        dst_key: str,
        *,
        version_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> str:
        """Copy the latest (or the given) version of ``src_key`` server-side to a new
        version of ``dst_key``; return the new version id.  The copy keeps the source's
        content type and metadata, or gets exactly ``metadata`` (and ``content_type``,
        else the source's) when it is given."""


class StoreStarter:
    """Starts ``store`` on first use: concurrent callers share one start, and the caller
    after a failed start tries again.  Used by the server and by the tools without one."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._started: asyncio.Future[None] | None = None

    async def ready(self) -> ObjectStore:
        """The started store."""
        started = self._started
        if started is None or _failed(started):
            started = self._started = asyncio.ensure_future(self.store.start())
        await asyncio.shield(started)
        return self.store

    async def status(self) -> StoreStatus:
        """Start the store if need be and probe it; never raises."""
        try:
            store = await self.ready()
        except StoreError as exc:
            return StoreStatus.not_started(self.store, str(exc))
        return await store.check()

    async def close(self) -> None:
        """Close the store if it was started, after a start still running (a later
        :meth:`ready` starts it again)."""
        started, self._started = self._started, None
        if started is None:
            return
        await asyncio.wait([started])
        if not _failed(started):
            await self.store.close()


def _failed(started: asyncio.Future[None]) -> bool:
    """True when a start ended without starting the store (an error, or cancelled)."""
    return started.done() and (started.cancelled() or started.exception() is not None)


async def list_all_keys(store: ObjectStore, prefix: str) -> list[str]:
    """Every current key of ``store`` starting with ``prefix`` (all pages)."""
    keys: list[str] = []
    token = None
    while True:
        page = await store.list_keys(prefix, limit=MAX_PAGE_SIZE, token=token)
        keys.extend(info.key for info in page.items)
        token = page.next_token
        if token is None:
            return keys


def check_key(key: Any) -> None:
    """Refuse keys no backend can store faithfully: not a string, empty, NUL characters or
    lone surrogates (:class:`~bookstore.errors.InvalidPath`)."""
    check_text(key, "key")
    if not key:
        raise InvalidPath("An object key may not be empty")


def check_text(value: Any, what: str) -> None:
    """Refuse a string that cannot travel as UTF-8 or holds NUL characters."""
    if not isinstance(value, str):
        raise InvalidPath(f"An object {what} must be a string")
    if "\x00" in value:
        raise InvalidPath(f"An object {what} may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidPath(f"An object {what} must be valid Unicode") from exc
