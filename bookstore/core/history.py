"""History: list and read the versions of workspace and published files.

Two *areas* hold versions: the **workspace** (every save archived under
``{workspace_prefix}/{path}``, see :mod:`bookstore.core.archive`) and the **published**
notebooks (``{published_prefix}/{path}``, see :mod:`bookstore.core.publish`).  A
:class:`History` reads one area.

Workspace histories follow renames: when the newest version of a key carries
``renamed-from`` metadata (written by the archiver when Jupyter renamed the file), the
listing continues with the old path's versions from before the rename, and a version
id from an older name is found through the same chain.

Histories are read-your-writes: saves still waiting in the archive spool head the first
page of a workspace listing, marked ``pending`` (ids ``pending-<n>``), and can be read
and diffed from the spool; once archived, such an id still finds the version it became
(as long as the archiver remembers it).
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import unquote

from ..errors import InvalidPath, ObjectNotFound, VersionNotFound
from ..keys import check_version_id, is_notebook_path, normalize_path, notebook_path, s3_key
from ..notebooks import DEFAULT_MIMETYPES, file_model, read_notebook, run_cpu
from ..stores.base import ObjectInfo, ObjectStore, Page, StoredObject
from ..tokens import INVALID_TOKEN, MAX_PAGE_SIZE, decode_token, encode_token, usable_page_token
from .archive.lineage import (
    LINEAGE_START_FIELD,
    RENAMED_FROM_FIELD,
    RENAMED_FROM_VERSION_FIELD,
    lineage_of,
)
from .archive.spool import Spool, SpoolEntry, pending_id, pending_seq

__all__ = [
    "MAX_RENAME_HOPS",
    "History",
    "PendingSaves",
    "VersionItem",
    "area_path",
    "contents_model",
]

#: How many rename hops a listing or a lookup follows at most (a guard against loops).
MAX_RENAME_HOPS = 64


class PendingSaves(Protocol):
    """Saves recorded but not archived yet: the server's archiver, or (read from disk by
    the command line) its spool."""

    def pending_saves(self, key: str) -> list[SpoolEntry]:
        """The pending saves of ``key``, newest first."""

    def version_of(self, seq: int) -> str | None:
        """The version the save ``seq`` became, when known."""


@dataclass(frozen=True)
class VersionItem:
    """One version in a listing: its id, time, size, whether it is the newest of a live
    file, the path it was saved under (an older name, before a rename), and the store's
    content hash (``etag``: the MD5 hex of the bytes for the single-part uploads bookstore
    makes, the same on a server-side copy; ``""`` when the store reports none), which
    tells versions with the same bytes apart from the others, e.g. the published one."""

    id: str
    last_modified: datetime
    size: int
    is_latest: bool
    path: str
    etag: str = ""
    #: True for a save still waiting in the archive spool (not a stored version yet).
    pending: bool = False

    @classmethod
    def from_info(cls, info: ObjectInfo, path: str) -> VersionItem:
        """The item for a stored (or pending, see :func:`pending_info`) version of ``path``."""
        return cls(
            id=str(info.version_id),
            last_modified=info.last_modified,
            size=info.size,
            is_latest=info.is_latest,
            path=path,
            etag=info.etag,
            pending=pending_seq(str(info.version_id)) is not None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``last_modified`` stays a datetime for the handler's encoder)."""
        return {
            "id": self.id,
            "last_modified": self.last_modified,
            "size": self.size,
            "is_latest": self.is_latest,
            "path": self.path,
            "etag": self.etag,
            "pending": self.pending,
        }


def pending_info(entry: SpoolEntry, *, size: int | None = None, latest: bool = True) -> ObjectInfo:
    """A pending save described like a stored version (id ``pending-<seq>``)."""
    return ObjectInfo(
        key=entry.key,
        version_id=pending_id(entry.seq),
        size=entry.size if size is None else size,
        last_modified=datetime.fromtimestamp(entry.saved_at, timezone.utc),
        is_latest=latest,
    )


@dataclass(frozen=True)
class _Segment:
    """Where a history listing stands: in the versions of ``path``, after ``skip_through``
    (exclusive), down to ``stop_at`` (inclusive), then on to ``link`` (older name)."""

    path: str
    store_token: str | None = None
    skip_through: str | None = None
    stop_at: str | None = None
    link: tuple[str, str] | None = None

    def encode(self, listed: str) -> str:
        """The page token continuing the listing of ``listed`` from here."""
        return encode_token(
            {
                "r": listed,
                "p": self.path,
                "t": self.store_token,
                "s": self.skip_through,
                "e": self.stop_at,
                "l": list(self.link) if self.link else None,
            }
        )

    @classmethod
    def decode(cls, token: str, listed: str) -> _Segment:
        """The segment in a page token issued for the listing of ``listed``."""
        data = decode_token(token)
        try:
            if data["r"] != listed:
                raise ValueError("a token of another listing")
            link = data["l"]
            segment = cls(
                path=normalize_path(data["p"]),
                store_token=_optional_ascii(data["t"]),
                skip_through=_optional_ascii(data["s"]),
                stop_at=_optional_ascii(data["e"]),
                link=(normalize_path(link[0]), _ascii(link[1])) if link is not None else None,
            )
        except (ValueError, TypeError, KeyError, IndexError, InvalidPath):
            raise InvalidPath(INVALID_TOKEN) from None
        if not segment.path:
            raise InvalidPath("The page token is not valid: it names no file.")
        return segment


def _ascii(value: Any) -> str:
    """A store token or version id from a page token: printable ASCII, like the ones
    stores issue (anything else could not even travel to S3)."""
    if not usable_page_token(value):
        raise TypeError("not a printable ASCII string")
    return str(value)


def _optional_ascii(value: Any) -> str | None:
    return None if value is None else _ascii(value)


def _link(lineage: dict[str, str]) -> tuple[str, str] | None:
    """The (older path, version) a lineage continues, if any."""
    if RENAMED_FROM_FIELD not in lineage or RENAMED_FROM_VERSION_FIELD not in lineage:
        return None
    try:
        return normalize_path(unquote(lineage[RENAMED_FROM_FIELD])), lineage[
            RENAMED_FROM_VERSION_FIELD
        ]
    except InvalidPath:
        return None


def area_path(area: str, path: str) -> str:
    """A path of ``area`` as a user gave it (a URL), checked: any relative file path in
    the workspace, a notebook path among published notebooks (:class:`InvalidPath`)."""
    if area == "published":
        return notebook_path(path)
    if path.startswith("/"):
        raise InvalidPath(f"The path {path!r} must be relative, not absolute.")
    normalized = normalize_path(path)
    if not normalized:
        raise InvalidPath("A file path is required, e.g. 'reports/summary.ipynb'.")
    return normalized


class History:
    """The versions of the files of one area (workspace or published) of a store."""

    def __init__(
        self,
        store: ObjectStore,
        prefix: str,
        *,
        area: str,
        follows_renames: bool = False,
        known_lineage: Callable[[str], dict[str, str] | None] | None = None,
        pending: PendingSaves | None = None,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.area = area
        self.follows_renames = follows_renames
        self._known_lineage = known_lineage
        self._pending = pending

    def key_for(self, path: str) -> str:
        """The object key of ``path`` in this area."""
        return s3_key(self.prefix, path)

    # -- listing ----------------------------------------------------------------------

    async def list_versions(
        self, path: str, *, limit: int = 100, token: str | None = None
    ) -> Page[VersionItem]:
        """The versions of ``path``, newest first, continuing through older names.  The
        first page starts with the saves still pending (beyond ``limit``: they are few)."""
        items: list[VersionItem] = []
        segment: _Segment | None
        pending: list[VersionItem] = []
        if token:
            segment = _Segment.decode(token, path)
        else:
            key = self.key_for(path)
            pending = await self._pending_items(key, path)
            if self.follows_renames:
                page, lineage = await asyncio.gather(
                    self.store.list_versions(key, limit=limit), self.lineage(key)
                )
                first = _Segment(
                    path, stop_at=lineage.get(LINEAGE_START_FIELD), link=_link(lineage)
                )
            else:
                page = await self.store.list_versions(key, limit=limit)
                first = _Segment(path)
            segment = self._take(first, page, items)
        hops = 0
        while segment is not None and len(items) < limit and hops <= MAX_RENAME_HOPS:
            if segment.store_token is None and segment.skip_through is None:
                # This name's versions are done: go on to the older name.
                segment = await self._enter(segment.link) if segment.link else None
                hops += 1
            else:
                segment = await self._fill(segment, items, limit)
        next_token = segment.encode(path) if segment is not None else None
        if pending:
            items = pending + [replace(item, is_latest=False) for item in items]
        return Page(items=items, next_token=next_token)

    async def _pending_items(self, key: str, path: str) -> list[VersionItem]:
        if self._pending is None or self.area != "workspace":
            return []
        entries = self._pending.pending_saves(key)
        if not entries:
            return []
        sizes = await asyncio.to_thread(_body_sizes, entries)
        return [
            VersionItem.from_info(pending_info(entry, size=size, latest=n == 0), path)
            for n, (entry, size) in enumerate(zip(entries, sizes, strict=True))
        ]

    async def _find_pending(self, key: str, path: str, seq: int) -> StoredObject | str:
        """A pending save by sequence number: its bytes from the spool, or the id of the
        version it became since."""
        if self._pending is not None:
            for n, entry in enumerate(self._pending.pending_saves(key)):
                if entry.seq == seq:
                    try:
                        body = await asyncio.to_thread(Spool.read_body, entry)
                    except FileNotFoundError:
                        break  # archived meanwhile
                    return StoredObject(
                        info=pending_info(entry, size=len(body), latest=n == 0), body=body
                    )
            archived = self._pending.version_of(seq)
            if archived is not None:
                return archived
        raise VersionNotFound(
            f"The pending save {pending_id(seq)!r} of {path!r} is no longer pending; "
            "list the versions again to find it."
        )

    async def _fill(
        self, segment: _Segment, items: list[VersionItem], limit: int
    ) -> _Segment | None:
        """Read one store page of ``segment`` into ``items``; the segment left to read."""
        key = self.key_for(segment.path)
        if segment.skip_through is None:
            page = await self.store.list_versions(
                key, limit=limit - len(items), token=segment.store_token
            )
            return self._take(segment, page, items)
        # Entering an older name: skip its versions newer than the renamed one.
        page = await self.store.list_versions(key, limit=MAX_PAGE_SIZE, token=segment.store_token)
        ids = [info.version_id for info in page.items]
        if segment.skip_through not in ids:
            if page.next_token is None:
                return None  # the renamed version is gone: the history ends here
            return replace(segment, store_token=page.next_token)
        # Read again up to the renamed version, so the store's token resumes right after it.
        through = await self.store.list_versions(
            key, limit=ids.index(segment.skip_through) + 1, token=segment.store_token
        )
        if through.next_token is None:
            return replace(segment, store_token=None, skip_through=None, stop_at=None)
        return replace(segment, store_token=through.next_token, skip_through=None)

    @staticmethod
    def _take(
        segment: _Segment, page: Page[ObjectInfo], items: list[VersionItem]
    ) -> _Segment | None:
        """Add ``page``'s versions (down to the segment's end) to ``items``; return the
        segment left to read (without a store token when only its ``link`` is left)."""
        for info in page.items:
            items.append(VersionItem.from_info(info, segment.path))
            if segment.stop_at is not None and info.version_id == segment.stop_at:
                return replace(segment, store_token=None) if segment.link else None
        if page.next_token is None:
            return replace(segment, store_token=None) if segment.link else None
        return replace(segment, store_token=page.next_token)

    async def _enter(self, link: tuple[str, str]) -> _Segment | None:
        """The segment of the older name ``link`` = (path, renamed version)."""
        path, version_id = link
        try:
            info = await self.store.head(self.key_for(path), version_id)
        except ObjectNotFound:
            return None  # the older versions are gone (e.g. removed from the bucket by hand)
        lineage = lineage_of(info)
        older = _link(lineage)
        if lineage.get(LINEAGE_START_FIELD) == version_id:
            # The renamed version was itself the first under that name: nothing more here.
            return _Segment(path, link=older) if older else None
        return _Segment(
            path,
            store_token=None,
            skip_through=version_id,
            stop_at=lineage.get(LINEAGE_START_FIELD),
            link=older,
        )

    async def lineage(self, key: str) -> dict[str, str]:
        """The rename lineage recorded on ``key``'s newest version (``{}`` when none)."""
        if self._known_lineage is not None:
            known = self._known_lineage(key)
            if known is not None:
                return known
        try:
            return lineage_of(await self.store.head(key))
        except VersionNotFound:
            return {}
        except ObjectNotFound:
            pass
        # Deleted (or never saved): the newest version that exists.
        page = await self.store.list_versions(key, limit=1)
        if not page.items:
            return {}
        return lineage_of(await self.store.head(key, page.items[0].version_id))

    # -- reading ----------------------------------------------------------------------

    async def find(self, path: str, version_id: str | None) -> tuple[StoredObject, str]:
        """The stored version and the path it was saved under; the latest when
        ``version_id`` is None."""
        key = self.key_for(path)
        if version_id is None:
            try:
                return await self.store.get(key), path
            except ObjectNotFound:
                if self.area == "published":
                    raise ObjectNotFound(f"{path!r} is not published.") from None
                raise ObjectNotFound(
                    f"{path!r} has no latest version (never archived, or deleted)."
                ) from None
        check_version_id(version_id)
        seq = pending_seq(version_id)
        if seq is not None and self.area == "workspace":
            found = await self._find_pending(key, path, seq)
            if isinstance(found, StoredObject):
                return found, path
            version_id = found
        try:
            return await self.store.get(key, version_id), path
        except VersionNotFound:
            if not self.follows_renames:
                raise
        link = _link(await self.lineage(key))
        for _ in range(MAX_RENAME_HOPS):
            if link is None:
                break
            older_path, renamed_version = link
            older_key = self.key_for(older_path)
            try:
                return await self.store.get(older_key, version_id), older_path
            except VersionNotFound:
                pass
            try:
                link = _link(lineage_of(await self.store.head(older_key, renamed_version)))
            except ObjectNotFound:
                break
        raise VersionNotFound(f"There is no version {version_id!r} of {path!r}.")

    async def read_model(
        self, path: str, version_id: str | None, *, content: bool = True
    ) -> dict[str, Any]:
        """A contents-style model of a version (read-only), with a ``version`` item."""
        stored, saved_path = await self.find(path, version_id)
        return await contents_model(
            path, stored.body, VersionItem.from_info(stored.info, saved_path), content=content
        )


def _body_sizes(entries: list[SpoolEntry]) -> list[int]:
    """The sizes of pending saves' bytes (0 for one archived meanwhile)."""
    sizes = []
    for entry in entries:
        if entry.size >= 0:
            sizes.append(entry.size)
            continue
        try:
            with Spool.open_body(entry) as stream:
                sizes.append(os.fstat(stream.fileno()).st_size - stream.tell())
        except OSError:
            sizes.append(0)
    return sizes


async def contents_model(
    path: str, body: bytes, version: VersionItem, *, content: bool = True
) -> dict[str, Any]:
    """The contents-style model of ``body`` stored for ``path`` (Jupyter's shape)."""
    name = path.rpartition("/")[2]
    model: dict[str, Any] = {
        "name": name,
        "path": path,
        "type": "notebook" if is_notebook_path(path) else "file",
        "format": None,
        "mimetype": None,
        "content": None,
        "size": len(body),
        "last_modified": version.last_modified,
        "created": version.last_modified,
        "writable": False,
        "version": version.to_dict(),
    }
    if model["type"] == "file":
        model["mimetype"] = mimetypes.guess_type(name)[0]
    if not content:
        return model
    if model["type"] == "notebook":
        model.update(format="json", content=await run_cpu(len(body), read_notebook, body))
        return model
    # Text when it is UTF-8, else base64: as a clone or Jupyter's own contents API gives it.
    saved, _ = file_model(body, notebook=False)
    model.update(format=saved["format"], content=saved["content"])
    model["mimetype"] = model["mimetype"] or DEFAULT_MIMETYPES[saved["format"]]
    return model
