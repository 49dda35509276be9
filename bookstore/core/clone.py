"""Cloning: where a clone comes from, and what a clone request says.

A clone copies a stored object (any version, of an allowed bucket:
:class:`S3CloneSource`) or a file of ``fs_cloning_basedir`` (:class:`FileSystemSource`)
into the workspace.  Writing it is the server's part (its contents manager) or the
command line's; either way the bytes are written exactly as stored (notebooks are
validated first, never re-serialised), and nothing is written when anything is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import BucketNotFound, InvalidPath, InvalidRequest, NotAllowed, ObjectNotFound
from ..keys import normalize_path
from ..stores.base import ObjectInfo, ObjectStore
from .access import ClonePolicy

__all__ = [
    "MAX_NAME_BYTES",
    "CloneRequest",
    "FileSystemCloneRequest",
    "FileSystemSource",
    "S3CloneSource",
    "check_name_length",
    "modified_time",
    "object_name",
]

#: Longest string accepted in a clone request field.
_MAX_FIELD = 2048


def _text_field(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"Must have a {name!r} to clone from.")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name!r} must be a string.")
    if len(value) > _MAX_FIELD:
        raise InvalidRequest(f"{name!r} is longer than {_MAX_FIELD} characters.")
    return value


@dataclass(frozen=True)
class CloneRequest:
    """What to clone from the store, and where to (``target_path`` relative to the root)."""

    s3_bucket: str | None
    s3_key: str
    s3_version_id: str | None = None
    target_path: str | None = None
    #: Whether the reply carries the file's content (like ``?content=0`` of Jupyter's API).
    with_content: bool = True

    @classmethod
    def from_json(cls, data: Any) -> CloneRequest:
        """Parse ``POST /api/bookstore/clone``'s body; :class:`InvalidRequest` when malformed."""
        if not isinstance(data, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        return cls(
            s3_bucket=_text_field(data, "s3_bucket"),
            s3_key=_text_field(data, "s3_key", required=True) or "",
            s3_version_id=_text_field(data, "s3_version_id"),
            target_path=_text_field(data, "target_path"),
            with_content=_content_flag(data),
        )

    @classmethod
    def from_query(cls, get: Any) -> CloneRequest:
        """Parse the landing page's query, ``get(name)`` giving a parameter or None."""
        return cls.from_json({name: get(name) for name in _CLONE_QUERY})


_CLONE_QUERY = ("s3_bucket", "s3_key", "s3_version_id", "target_path")


@dataclass(frozen=True)
class FileSystemCloneRequest:
    """What to clone from ``fs_cloning_basedir`` (``relpath``), and where to."""

    relpath: Any
    target_path: str | None = None
    with_content: bool = True

    @classmethod
    def from_json(cls, data: Any) -> FileSystemCloneRequest:
        """Parse ``POST /api/bookstore/fs-clone``'s body; :class:`InvalidRequest` when
        malformed (the source itself is checked by :meth:`FileSystemSource.resolve`)."""
        if not isinstance(data, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        return cls(
            relpath=data.get("relpath"),
            target_path=_text_field(data, "target_path"),
            with_content=_content_flag(data),
        )

    @property
    def name(self) -> str:
        """The file name the clone gets by default."""
        return posixpath.basename(str(self.relpath))


def _content_flag(data: dict[str, Any]) -> bool:
    value = data.get("content", True)
    if not isinstance(value, bool):
        raise InvalidRequest("'content' must be true or false.")
    return value


#: The longest file or folder name most file systems take, in bytes.
MAX_NAME_BYTES = 255


def check_name_length(name: str, advice: str = "choose a shorter target_path") -> None:
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidPath(
            f"The name {name[:40]!r}… is longer than {MAX_NAME_BYTES} bytes; {advice}."
        )


def modified_time(stat: os.stat_result) -> datetime:
    """When a file was last modified, as an aware UTC datetime."""
    return datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc)


def object_name(key: str) -> str:
    """The file name a cloned object gets: the last segment of its key."""
    return posixpath.basename(key.rstrip("/"))


class S3CloneSource:
    """Objects that may be cloned: any version of a key the ``policy`` allows (every key
    when it is None: the command line of an operator), in an allowed bucket."""

    def __init__(
        self, store: ObjectStore, allowed_buckets: list[str], policy: ClonePolicy | None = None
    ) -> None:
        self.store = store
        self.allowed_buckets = allowed_buckets or [store.bucket]
        self.policy = policy

    def bucket_store(self, bucket: str | None) -> ObjectStore:
        """The store for ``bucket`` (default: the configured one); 403 when not allowed."""
        bucket = bucket or self.store.bucket
        if bucket not in self.allowed_buckets:
            raise NotAllowed(
                f"Cloning from bucket {bucket!r} is not allowed on this server "
                "(BookstoreSettings.clone_allowed_buckets)."
            )
        return self.store.for_bucket(bucket)

    def key(self, key: str) -> str:
        """``key`` normalised; :class:`InvalidPath` when it names no object,
        :class:`NotAllowed` (403) when the policy refuses it (before the store is asked,
        so the answer is the same whether the key exists or not)."""
        normalized = normalize_path(key, what="s3_key")
        if not normalized or key.endswith("/"):
            raise InvalidPath(f"The s3_key {key!r} does not name an object.")
        if self.policy is not None:
            self.policy.check(normalized)
        return normalized

    @contextlib.contextmanager
    def _missing_bucket(self, bucket: str) -> Iterator[None]:
        try:
            yield
        except BucketNotFound:
            raise ObjectNotFound(f"The bucket {bucket!r} does not exist.") from None

    async def describe(self, request: CloneRequest) -> ObjectInfo:
        """Size, time and version of the object to clone (404 when there is none)."""
        with self._missing_bucket(request.s3_bucket or self.store.bucket):
            store = self.bucket_store(request.s3_bucket)
            return await store.head(self.key(request.s3_key), request.s3_version_id)

    async def fetch(self, request: CloneRequest) -> tuple[ObjectInfo, bytes]:
        """The object's info and bytes."""
        with self._missing_bucket(request.s3_bucket or self.store.bucket):
            store = self.bucket_store(request.s3_bucket)
            stored = await store.get(self.key(request.s3_key), request.s3_version_id)
        return stored.info, stored.body


class FileSystemSource:
    """Files under ``fs_cloning_basedir`` that may be cloned (symlinks resolved first)."""

    def __init__(self, basedir: str) -> None:
        self.basedir = Path(basedir).resolve()

    def resolve(self, relpath: Any) -> Path:
        """The file ``relpath`` names; :class:`ObjectNotFound` (404) for anything that is
        not a regular file inside the base dir.  Messages name ``relpath`` only."""
        if not isinstance(relpath, str) or not relpath:
            raise InvalidRequest("Must have a 'relpath' to clone from.")
        shown = relpath if len(relpath) <= 200 else relpath[:200] + "…"
        missing = ObjectNotFound(f"No file {shown!r} can be cloned from the file system.")
        if (
            relpath.startswith("/")
            or relpath.endswith("/")
            or "\x00" in relpath
            or len(relpath) > _MAX_FIELD
        ):
            raise missing
        try:
            normalize_path(relpath, what="relpath")
            path = (self.basedir / relpath).resolve()
            if not path.is_relative_to(self.basedir) or not path.is_file():
                raise missing
        except (InvalidPath, OSError, RuntimeError, ValueError):
            # Escapes, loops, names too long for the file system, undecodable text.
            raise missing from None
        return path

    async def describe(self, relpath: Any) -> os.stat_result:
        """``stat`` of the file (off the event loop)."""
        path = self.resolve(relpath)
        return await asyncio.to_thread(path.stat)

    async def read(self, relpath: Any) -> bytes:
        """The file's bytes (off the event loop)."""
        path = self.resolve(relpath)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except OSError:
            raise ObjectNotFound(f"The file {relpath!r} could not be read.") from None
