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

Listed versions carry their notes (name, description, pin; see
:mod:`bookstore.core.annotations`): the index of each name a page's versions were saved
under is read once, the first one along with the listing.  The version a rename copied
to the new name shows the note of the version it was copied from, unless it has one of
its own.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote

from ..errors import (
    Conflict,
    InvalidPath,
    NotAllowed,
    ObjectNotFound,
    StoreError,
    VersionNotFound,
)
from ..keys import check_version_id, is_notebook_path, normalize_path, notebook_path, s3_key
from ..notebooks import DEFAULT_MIMETYPES, file_model, read_notebook, run_cpu
from ..stores.base import ObjectInfo, ObjectStore, Page, StoredObject
from ..tokens import INVALID_TOKEN, MAX_PAGE_SIZE, decode_token, encode_token, usable_page_token
from .access import Actor
from .annotations import Annotations, VersionNote, check_changes
from .archive.lineage import (
    LINEAGE_START_FIELD,
    RENAMED_FROM_FIELD,
    RENAMED_FROM_VERSION_FIELD,
    lineage_of,
)
from .archive.spool import Spool, SpoolEntry, pending_id, pending_seq

__all__ = [
    "MAX_RENAME_HOPS",
    "NAMED_SCAN_LIMIT",
    "History",
    "PendingSaves",
    "VersionItem",
    "area_path",
    "contents_model",
]

T = TypeVar("T")

_log = logging.getLogger(__name__)

#: How many rename hops a listing or a lookup follows at most (a guard against loops).
MAX_RENAME_HOPS = 64
#: How many versions one ``named`` listing request looks through at most; a page may then
#: hold fewer than ``limit`` versions, with a ``next_token`` to look on.
NAMED_SCAN_LIMIT = 5000

#: (path, version id) of a version a rename copied -> the (older path, version) it copies.
_Copies = dict[tuple[str, str], tuple[str, str]]


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
    #: The version's name and description (see :mod:`bookstore.core.annotations`).
    name: str | None = None
    description: str | None = None
    #: Pinned: kept forever by retention.
    pinned: bool = False
    #: Who named or pinned it last.
    named_by: str | None = None

    @property
    def protected(self) -> bool:
        """True when the version is named or pinned."""
        return self.name is not None or self.pinned

    def with_note(self, note: VersionNote | None) -> VersionItem:
        """This item with ``note``'s name, description and pin (unchanged when None)."""
        if note is None:
            return self
        return replace(
            self,
            name=note.name,
            description=note.description,
            pinned=note.pinned,
            named_by=note.by,
        )

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
            "name": self.name,
            "description": self.description,
            "pinned": self.pinned,
            "named_by": self.named_by,
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
        annotations: Annotations | None = None,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.area = area
        self.follows_renames = follows_renames
        self._known_lineage = known_lineage
        self._pending = pending
        #: The versions' notes (None: none are read, and annotating is refused).
        self.annotations = annotations

    def key_for(self, path: str) -> str:
        """The object key of ``path`` in this area."""
        return s3_key(self.prefix, path)

    # -- listing ----------------------------------------------------------------------

    async def list_versions(
        self, path: str, *, limit: int = 100, token: str | None = None, named: bool = False
    ) -> Page[VersionItem]:
        """The versions of ``path``, newest first, continuing through older names, each
        with its note.  The first page starts with the saves still pending (beyond
        ``limit``: they are few).  ``named``: only the versions named or pinned (looking
        through at most :data:`NAMED_SCAN_LIMIT` versions per call)."""
        if named:
            return await self._list_named(path, limit, token)
        return await self._list(path, limit, token, notes=True)

    async def _list(
        self, path: str, limit: int, token: str | None, *, notes: bool
    ) -> Page[VersionItem]:
        items: list[VersionItem] = []
        segment: _Segment | None
        pending: list[VersionItem] = []
        copies: _Copies = {}
        resumed = _Segment.decode(token, path) if token else None
        first_path = resumed.path if resumed is not None else path
        # The first name's notes, read along with its versions.
        first_notes = (
            asyncio.ensure_future(self._notes(first_path))
            if notes and self.annotations is not None
            else None
        )
        try:
            if resumed is not None:
                segment = resumed
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
                segment = self._take(first, page, items, copies)
            hops = 0
            while segment is not None and len(items) < limit and hops <= MAX_RENAME_HOPS:
                if segment.store_token is None and segment.skip_through is None:
                    # This name's versions are done: go on to the older name.
                    segment = await self._enter(segment.link, copies) if segment.link else None
                    hops += 1
                else:
                    segment = await self._fill(segment, items, limit, copies)
            if first_notes is not None:
                items = await self._with_notes(items, copies, {first_path: await first_notes})
        finally:
            if first_notes is not None and not first_notes.done():
                first_notes.cancel()
            elif first_notes is not None and not first_notes.cancelled():
                first_notes.exception()  # retrieved: the listing's own error is raised
        next_token = segment.encode(path) if segment is not None else None
        if pending:
            items = pending + [replace(item, is_latest=False) for item in items]
        return Page(items=items, next_token=next_token)

    async def _list_named(self, path: str, limit: int, token: str | None) -> Page[VersionItem]:
        """The named or pinned versions of ``path``, newest first (see :meth:`list_versions`)."""
        found: list[VersionItem] = []
        scanned = 0
        while True:
            page = await self._list(path, MAX_PAGE_SIZE, token, notes=True)
            stored = [item for item in page.items if not item.pending]
            scanned += len(stored)
            for index, item in enumerate(stored):
                if not item.protected:
                    continue
                found.append(item)
                if len(found) < limit:
                    continue
                if index + 1 == len(stored):
                    return Page(items=found, next_token=page.next_token)
                # Stop right after this version: read the page again up to it, for a token
                # that continues there.
                through = await self._list(path, index + 1, token, notes=False)
                return Page(items=found, next_token=through.next_token)
            token = page.next_token
            if token is None or scanned >= NAMED_SCAN_LIMIT:
                return Page(items=found, next_token=token)

    async def _notes(self, path: str) -> dict[str, VersionNote]:
        """The notes of the versions saved as ``path`` (``{}`` without annotations).

        An index the store refuses or fails to give (e.g. an IAM policy without the
        annotations prefix) costs the names, not the history: the versions are listed
        without them, with a warning in the server's log."""
        if self.annotations is None:
            return {}
        key = self.key_for(path)
        try:
            return await self.annotations.for_key(key)
        except StoreError as exc:
            _log.warning("bookstore: the names and pins of %s are unreadable: %s", key, exc)
            return {}

    async def _with_notes(
        self,
        items: list[VersionItem],
        copies: _Copies,
        known: dict[str, dict[str, VersionNote]],
    ) -> list[VersionItem]:
        """``items`` with their notes: each from the index of the name it was saved under,
        else (a rename's copy) from the version it copies; every index read once, those
        not ``known`` yet at the same time."""
        chains = {(item.path, item.id): _chain(item.path, item.id, copies) for item in items}
        wanted = sorted({path for chain in chains.values() for path, _ in chain} - set(known))
        for path, notes in zip(
            wanted, await asyncio.gather(*(self._notes(path) for path in wanted)), strict=True
        ):
            known[path] = notes
        noted = []
        for item in items:
            note = next(
                (
                    known[path][version]
                    for path, version in chains[(item.path, item.id)]
                    if version in known[path]
                ),
                None,
            )
            noted.append(item.with_note(note))
        return noted

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
        self, segment: _Segment, items: list[VersionItem], limit: int, copies: _Copies
    ) -> _Segment | None:
        """Read one store page of ``segment`` into ``items``; the segment left to read."""
        key = self.key_for(segment.path)
        if segment.skip_through is None:
            page = await self.store.list_versions(
                key, limit=limit - len(items), token=segment.store_token
            )
            return self._take(segment, page, items, copies)
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
        segment: _Segment, page: Page[ObjectInfo], items: list[VersionItem], copies: _Copies
    ) -> _Segment | None:
        """Add ``page``'s versions (down to the segment's end) to ``items``; return the
        segment left to read (without a store token when only its ``link`` is left).
        The first version under a name a rename gave goes into ``copies``."""
        for info in page.items:
            items.append(VersionItem.from_info(info, segment.path))
            if segment.stop_at is not None and info.version_id == segment.stop_at:
                if segment.link:
                    copies[(segment.path, segment.stop_at)] = segment.link
                return replace(segment, store_token=None) if segment.link else None
        if page.next_token is None:
            return replace(segment, store_token=None) if segment.link else None
        return replace(segment, store_token=page.next_token)

    async def _enter(self, link: tuple[str, str], copies: _Copies) -> _Segment | None:
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
            if older:
                copies[link] = older
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
        return await self._walk(path, version_id, self.store.get)

    async def locate(self, path: str, version_id: str) -> tuple[ObjectInfo, str]:
        """Like :meth:`find` without the bytes, for a stored version (not a pending id)."""
        check_version_id(version_id)
        return await self._walk(path, version_id, self.store.head)

    async def _walk(
        self, path: str, version_id: str, fetch: Callable[[str, str], Awaitable[T]]
    ) -> tuple[T, str]:
        """``fetch(key, version_id)`` of the name ``version_id`` was saved under, looked
        for through the older names of ``path``; and that name."""
        key = self.key_for(path)
        try:
            return await fetch(key, version_id), path
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
                return await fetch(older_key, version_id), older_path
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
        """A contents-style model of a version (read-only), with a ``version`` item (and
        its note, whose index is read along with the version)."""
        if self.annotations is None:
            stored, saved_path = await self.find(path, version_id)
            item = VersionItem.from_info(stored.info, saved_path)
        else:
            (stored, saved_path), own = await asyncio.gather(
                self.find(path, version_id), self._notes(path)
            )
            note = await self.note_of(saved_path, stored.info, {path: own})
            item = VersionItem.from_info(stored.info, saved_path).with_note(note)
        return await contents_model(path, stored.body, item, content=content)

    # -- notes ----------------------------------------------------------------------------

    async def note_of(
        self,
        path: str,
        info: ObjectInfo,
        known: dict[str, dict[str, VersionNote]] | None = None,
    ) -> VersionNote | None:
        """The note the stored version ``info`` of ``path`` (the name it was saved under)
        shows: its own, else (the copy a rename made) that of the version it copies.
        ``known``: notes already read, by path."""
        return await self._note_from(path, str(info.version_id), lineage_of(info), known or {})

    async def _note_from(
        self,
        path: str,
        version_id: str,
        lineage: dict[str, str] | None,
        known: dict[str, dict[str, VersionNote]],
    ) -> VersionNote | None:
        """The note of ``version_id`` of ``path``, else of the versions it copies;
        ``lineage``: the version's (None: read when needed)."""
        if self.annotations is None:
            return None
        for _ in range(MAX_RENAME_HOPS):
            if path not in known:
                known[path] = await self._notes(path)
            note = known[path].get(version_id)
            if note is not None:
                return note
            if lineage is None:
                try:
                    lineage = lineage_of(await self.store.head(self.key_for(path), version_id))
                except ObjectNotFound:
                    return None
            link = _link(lineage)
            if link is None or lineage.get(LINEAGE_START_FIELD) != version_id:
                return None  # not the copy a rename made
            (path, version_id), lineage = link, None
        return None

    async def annotate(
        self,
        path: str,
        version_id: str,
        changes: Any,
        actor: Actor | str,
        *,
        wait_for_archive: Callable[[str], Awaitable[object]] | None = None,
    ) -> VersionItem:
        """Name, describe or pin a version of ``path`` (``changes``: see
        :func:`~bookstore.core.annotations.check_changes`, checked before anything else);
        the version's item with its note as it is now.

        A version saved under an older name is noted in that name's index.  A pending
        id (``pending-<n>``) notes the version the save became: when it is still
        pending, ``wait_for_archive(path)`` (if given) waits for the archiver, and
        :class:`~bookstore.errors.Conflict` (409) says to try again if it is still not
        archived."""
        checked = check_changes(changes)
        check_version_id(version_id)
        annotations = self.annotations
        if annotations is None:
            raise NotAllowed(
                "Versions cannot be named or pinned on this server: "
                "BookstoreSettings.annotations_prefix is empty or overlaps an area's prefix."
            )
        seq = pending_seq(version_id)
        if seq is not None and self.area == "workspace":
            version_id = await self._archived_version(path, seq, wait_for_archive)
        info, saved_path = await self.locate(path, version_id)
        stored_id = str(info.version_id)
        lineage = lineage_of(info)
        inherited = None
        link = _link(lineage)
        if link is not None and lineage.get(LINEAGE_START_FIELD) == stored_id:
            inherited = await self._note_from(link[0], link[1], None, {})
        note = await annotations.annotate(
            self.key_for(saved_path), stored_id, checked, actor, inherited=inherited
        )
        item = VersionItem.from_info(info, saved_path)
        return item.with_note(None if note.empty else note)

    async def _archived_version(
        self, path: str, seq: int, wait: Callable[[str], Awaitable[object]] | None
    ) -> str:
        """The version the pending save ``seq`` of ``path`` became (waiting with ``wait``)."""
        pending = self._pending
        version = pending.version_of(seq) if pending is not None else None
        if version is None:
            key = self.key_for(path)
            if pending is None or not any(entry.seq == seq for entry in pending.pending_saves(key)):
                raise VersionNotFound(
                    f"There is no pending save {pending_id(seq)!r} of {path!r}; "
                    "list the versions again."
                )
            if wait is not None:
                await wait(path)
                version = pending.version_of(seq)
        if version is None:
            raise Conflict(
                f"The save {pending_id(seq)!r} of {path!r} is not archived yet; try again."
            )
        return version


def _chain(path: str, version_id: str, copies: _Copies) -> list[tuple[str, str]]:
    """Where the note of ``version_id`` of ``path`` may be: its own, then (a rename's
    copy) that of the version it copies, and so on."""
    chain = [(path, version_id)]
    while len(chain) <= MAX_RENAME_HOPS and chain[-1] in copies:
        chain.append(copies[chain[-1]])
    return chain


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
