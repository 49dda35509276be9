"""History: list, read, diff and restore the versions of workspace and published files.

Two *areas* hold versions: the **workspace** (every save archived under
``{workspace_prefix}/{path}``, see :mod:`bookstore.archive`) and the **published**
notebooks (``{published_prefix}/{path}``, see :mod:`bookstore.publish`).  A
:class:`History` reads one area; the handlers at the end of this module serve it.

Workspace histories follow renames: when the newest version of a key carries
``renamed-from`` metadata (written by the archiver when Jupyter renamed the file), the
listing continues with the old path's versions from before the rename, and a version
id from an older name is found through the same chain.
"""

from __future__ import annotations

import asyncio
import base64
import json
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import ensure_async
from nbformat.v4.rwbase import strip_transient
from tornado import web

from .archive import (
    LINEAGE_START_FIELD,
    RENAMED_FROM_FIELD,
    RENAMED_FROM_VERSION_FIELD,
    lineage_of,
)
from .clone import clone_page_url
from .errors import (
    InvalidPath,
    InvalidRequest,
    ObjectNotFound,
    UnsupportedContent,
    VersionNotFound,
)
from .handlers import BookstoreAPIHandler
from .notebook_files import (
    DEFAULT_MIMETYPES,
    file_model,
    is_notebook_path,
    read_notebook,
    run_cpu,
)
from .publish import notebook_path
from .s3_paths import normalize_path, s3_key
from .stores.base import (
    MAX_PAGE_SIZE,
    ObjectInfo,
    ObjectStore,
    Page,
    usable_page_token,
    usable_version_id,
)

if TYPE_CHECKING:
    from .clone import WorkspaceWriter

__all__ = [
    "DiffResult",
    "History",
    "VersionItem",
    "diff_summary",
    "parse_limit",
]

#: How many rename hops a listing or a lookup follows at most (a guard against loops).
MAX_RENAME_HOPS = 64
#: Diff references that are not version ids.
CURRENT, LATEST = "current", "latest"


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

    @classmethod
    def from_info(cls, info: ObjectInfo, path: str) -> VersionItem:
        """The item for a stored version of ``path``."""
        return cls(
            id=str(info.version_id),
            last_modified=info.last_modified,
            size=info.size,
            is_latest=info.is_latest,
            path=path,
            etag=info.etag,
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
        }


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
        data = {
            "r": listed,
            "p": self.path,
            "t": self.store_token,
            "s": self.skip_through,
            "e": self.stop_at,
            "l": list(self.link) if self.link else None,
        }
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, listed: str) -> _Segment:
        """The segment in a page token issued for the listing of ``listed``."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
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
            raise InvalidPath(
                "The page token is not valid: pass back a next_token from this listing."
            ) from None
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


def check_version_id(version_id: str) -> str:
    """Refuse a malformed version id (400); an unknown one is found out by the store (404)."""
    if not usable_version_id(version_id):
        raise InvalidPath(
            "A version id is printable ASCII without spaces, at most 1024 characters."
        )
    return version_id


def parse_limit(value: str | None, default: int) -> int:
    """A page size from a query string: an integer from 1 to 1000."""
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"'limit' must be an integer from 1 to {MAX_PAGE_SIZE}.")
    return limit


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
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.area = area
        self.follows_renames = follows_renames
        self._known_lineage = known_lineage

    def key_for(self, path: str) -> str:
        """The object key of ``path`` in this area."""
        return s3_key(self.prefix, path)

    # -- listing ----------------------------------------------------------------------

    async def list_versions(
        self, path: str, *, limit: int = 100, token: str | None = None
    ) -> Page[VersionItem]:
        """The versions of ``path``, newest first, continuing through older names."""
        items: list[VersionItem] = []
        segment: _Segment | None
        if token:
            segment = _Segment.decode(token, path)
        else:
            key = self.key_for(path)
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
        return Page(items=items, next_token=next_token)

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

    async def find(self, path: str, version_id: str | None) -> tuple[Any, str]:
        """The stored version (a :class:`~bookstore.stores.base.StoredObject`) and the path
        it was saved under; the latest when ``version_id`` is None."""
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

    async def notebook_side(
        self, path: str, ref: str
    ) -> tuple[dict[str, Any], dict[str, Any], int]:
        """A stored side of a diff, ``ref`` being a version id or ``latest``: (reference,
        notebook, size)."""
        stored, saved_path = await self.find(path, None if ref == LATEST else ref)
        notebook = await run_cpu(len(stored.body), read_notebook, stored.body)
        reference = {
            "id": stored.info.version_id,
            "path": saved_path,
            "last_modified": stored.info.last_modified,
            "current": False,
        }
        return reference, notebook, len(stored.body)

    async def diff_side(
        self,
        path: str,
        ref: str,
        current_notebook: Callable[[str], Awaitable[tuple[dict[str, Any], dict[str, Any], int]]],
    ) -> tuple[dict[str, Any], dict[str, Any], int]:
        """One side of a diff, ``ref`` being a version id, ``latest``, or ``current`` (the
        workspace file now, from ``current_notebook``): (reference, notebook, size)."""
        if ref != CURRENT:
            return await self.notebook_side(path, ref)
        if self.area != "workspace":
            raise InvalidRequest("'current' names a workspace file; use 'latest' or an id.")
        return await current_notebook(path)

    async def read_model(
        self, path: str, version_id: str | None, *, content: bool = True
    ) -> dict[str, Any]:
        """A contents-style model of a version (read-only), with a ``version`` item."""
        stored, saved_path = await self.find(path, version_id)
        return await contents_model(
            path, stored.body, VersionItem.from_info(stored.info, saved_path), content=content
        )


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


# -- diffs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffResult:
    """An nbdime diff between two notebooks, with what each side is."""

    base: dict[str, Any]
    remote: dict[str, Any]
    base_notebook: dict[str, Any]
    diff: list[Any]

    def to_dict(self, path: str, *, content: bool = True) -> dict[str, Any]:
        """The JSON reply of the diff routes."""
        return {
            "path": path,
            "base": self.base,
            "remote": self.remote,
            "diff": self.diff,
            "summary": diff_summary(self.diff),
            "base_notebook": self.base_notebook if content else None,
        }


def diff_summary(diff: list[Any]) -> dict[str, Any]:
    """Count the cells added, removed and changed in an nbdime notebook diff."""
    added = removed = changed = 0
    metadata_changed = False
    for entry in diff:
        if entry.get("key") == "cells" and entry.get("op") == "patch":
            for cell_op in entry.get("diff", []):
                op = cell_op.get("op")
                if op == "addrange":
                    added += len(cell_op.get("valuelist", []))
                elif op == "removerange":
                    removed += int(cell_op.get("length", 0))
                elif op == "patch":
                    changed += 1
        elif entry.get("key") == "cells":
            changed += 1
        else:
            metadata_changed = True
    parts = [
        _count(added, "added"),
        _count(removed, "removed"),
        _count(changed, "changed"),
    ]
    text = ", ".join(part for part in parts if part)
    if metadata_changed:
        text = f"{text}, metadata changed" if text else "metadata changed"
    return {
        "cells_added": added,
        "cells_removed": removed,
        "cells_changed": changed,
        "metadata_changed": metadata_changed,
        "text": text or "no changes",
    }


def _count(number: int, what: str) -> str:
    if not number:
        return ""
    return f"{number} cell{'s' if number != 1 else ''} {what}"


def nbdime_diff(base: dict[str, Any], remote: dict[str, Any]) -> list[Any]:
    """nbdime's notebook diff (imported on first use: nbdime is large)."""
    import nbdime

    return list(nbdime.diff_notebooks(base, remote))


async def diff_notebooks(
    base: tuple[dict[str, Any], dict[str, Any], int],
    remote: tuple[dict[str, Any], dict[str, Any], int],
) -> DiffResult:
    """Diff two (reference, notebook, size) sides, off the event loop when they are large."""
    size = base[2] + remote[2]
    diff = await run_cpu(size, nbdime_diff, base[1], remote[1])
    return DiffResult(base=base[0], remote=remote[0], base_notebook=base[1], diff=diff)


# -- handlers ------------------------------------------------------------------------------


def _flag(handler: web.RequestHandler, name: str, default: bool = True) -> bool:
    value = handler.get_query_argument(name, None)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes"}:
        return True
    if value.lower() in {"0", "false", "no"}:
        return False
    raise InvalidRequest(f"'{name}' must be 0 or 1.")


class _HistoryHandler(BookstoreAPIHandler):
    """Shared by the history routes of one area."""

    area: ClassVar[str] = "workspace"

    def area_path(self, path: str) -> str:
        """Check a path from the URL: any relative path in the workspace, a notebook
        path among published notebooks."""
        if self.area == "published":
            return notebook_path(path)
        if path.startswith("/"):
            raise InvalidPath(f"The path {path!r} must be relative, not absolute.")
        normalized = normalize_path(path)
        if not normalized:
            raise InvalidPath("A file path is required, e.g. 'reports/summary.ipynb'.")
        return normalized

    async def history(self) -> History:
        """The :class:`History` of this handler's area (403 when it is not configured)."""
        return await self.bookstore.history(self.area)

    async def current_notebook(self, path: str) -> tuple[dict[str, Any], dict[str, Any], int]:
        """The workspace file as it is now, through the contents manager."""
        writer: WorkspaceWriter = self.bookstore.workspace_writer
        cm = self.contents_manager
        with writer.contents_errors():
            if not await ensure_async(cm.file_exists(path)):
                raise ObjectNotFound(f"There is no file {path!r} in the workspace.")
            model = await ensure_async(cm.get(path, content=True, type="notebook"))
        reference = {
            "id": None,
            "path": path,
            "last_modified": model.get("last_modified"),
            "current": True,
        }
        # Without the trust flags the contents manager adds on reading (never stored).
        notebook = strip_transient(model["content"])
        return reference, notebook, int(model.get("size") or 0)

    async def diff(self, path: str) -> None:
        """Answer the diff of ``?base=`` against ``?remote=``."""
        path = self.area_path(path)
        if not is_notebook_path(path):
            raise UnsupportedContent("Diffs are for notebooks (.ipynb) only.")
        base = self.get_query_argument("base", None)
        if not base:
            raise InvalidRequest("'base' is required: a version id, 'latest' or 'current'.")
        default_remote = CURRENT if self.area == "workspace" else LATEST
        remote = self.get_query_argument("remote", None) or default_remote
        with_content = _flag(self, "content")
        history = await self.history()
        base_side, remote_side = await asyncio.gather(
            history.diff_side(path, base, self.current_notebook),
            history.diff_side(path, remote, self.current_notebook),
        )
        result = await diff_notebooks(base_side, remote_side)
        self.finish_json(result.to_dict(path, content=with_content))


class VersionsHandler(_HistoryHandler):
    """``GET /api/bookstore/{area}/{path}/versions``: the versions, newest first."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Answer ``{"path", "versions", "next_token"}``."""
        path = self.area_path(path)
        limit = parse_limit(self.get_query_argument("limit", None), 100)
        token = self.get_query_argument("page_token", None) or None
        history = await self.history()
        page = await history.list_versions(path, limit=limit, token=token)
        self.finish_json(
            {
                "path": path,
                "versions": [item.to_dict() for item in page.items],
                "next_token": page.next_token,
            }
        )


class VersionHandler(_HistoryHandler):
    """``GET /api/bookstore/{area}/{path}/versions/{id}``: one version's content."""

    @web.authenticated
    @authorized
    async def get(self, path: str, version_id: str) -> None:
        """Answer a read-only contents model of the version."""
        path = self.area_path(path)
        check_version_id(version_id)
        history = await self.history()
        self.finish_json(await history.read_model(path, version_id, content=_flag(self, "content")))


class WorkspaceVersionHandler(VersionHandler):
    """Also ``POST``: restore the version into the workspace."""

    @web.authenticated
    @authorized
    async def post(self, path: str, version_id: str) -> None:
        """Write the version over the file; answer what was restored and the new version."""
        path = self.area_path(path)
        check_version_id(version_id)
        self.finish_json(await self.bookstore.restore(path, version_id))


class DiffHandler(_HistoryHandler):
    """``GET /api/bookstore/{area}/{path}/diff?base=&remote=``: an nbdime diff."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Answer the diff, its summary and the base notebook."""
        await self.diff(path)


class PublishedVersionsHandler(VersionsHandler):
    """Versions of a published notebook."""

    area = "published"


class PublishedVersionHandler(VersionHandler):
    """One version of a published notebook."""

    area = "published"


class PublishedDiffHandler(DiffHandler):
    """Diffs between versions of a published notebook."""

    area = "published"


class PublishedNotebookHandler(_HistoryHandler):
    """``GET /api/bookstore/published/{path}``: the latest published version."""

    area = "published"

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Answer a read-only contents model (404 when not published)."""
        path = self.area_path(path)
        history = await self.history()
        self.finish_json(await history.read_model(path, None, content=_flag(self, "content")))


class PublishedCatalogHandler(_HistoryHandler):
    """``GET /api/bookstore/published``: everything published, in path order."""

    area = "published"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer ``{"items", "next_token"}``; ``prefix`` and ``q`` filter by path."""
        limit = parse_limit(self.get_query_argument("limit", None), 50)
        token = self.get_query_argument("page_token", None) or None
        prefix = self.get_query_argument("prefix", "")
        if prefix.startswith("/"):
            raise InvalidPath("'prefix' must be relative, e.g. 'reports/'.")
        normalized = normalize_path(prefix, what="prefix")
        if normalized and prefix.endswith("/"):
            normalized += "/"
        query = self.get_query_argument("q", "").strip().lower()
        history = await self.history()
        catalog = Catalog(history, self.base_url)
        page = await catalog.page(normalized, query, limit=limit, token=token)
        self.finish_json({"items": page.items, "next_token": page.next_token})


class Catalog:
    """The published notebooks, listed by path with their latest version."""

    def __init__(self, history: History, base_url: str) -> None:
        self.history = history
        self.base_url = base_url

    async def page(
        self, prefix: str, query: str, *, limit: int, token: str | None
    ) -> Page[dict[str, Any]]:
        """Up to ``limit`` published notebooks whose path starts with ``prefix`` and
        contains ``query``.  The token is (store token, entries of that page consumed)."""
        listing = [prefix, query]
        store_token, consumed = _decode_catalog_token(token, listing) if token else (None, 0)
        root = self.history.key_for("") + "/"
        found: list[ObjectInfo] = []
        next_token: str | None = None
        while True:
            page = await self.history.store.list_keys(
                root + prefix, limit=MAX_PAGE_SIZE if query else consumed + limit, token=store_token
            )
            entries = page.items[consumed:]
            for index, info in enumerate(entries):
                path = info.key[len(root) :]
                if query and query not in path.lower():
                    continue
                if len(found) == limit:
                    next_token = _encode_catalog_token(listing, store_token, consumed + index)
                    break
                found.append(info)
            if next_token is not None or page.next_token is None:
                break
            store_token, consumed = page.next_token, 0
            if len(found) == limit:
                next_token = _encode_catalog_token(listing, store_token, 0)
                break
        items = await asyncio.gather(*(self._item(info, root) for info in found))
        return Page(items=[item for item in items if item is not None], next_token=next_token)

    async def _item(self, info: ObjectInfo, root: str) -> dict[str, Any] | None:
        if info.version_id is None:
            # S3 key listings do not report version ids: ask for each (concurrently).
            try:
                info = await self.history.store.head(info.key)
            except ObjectNotFound:
                return None  # unpublished in the meantime
        bucket = self.history.store.bucket
        return {
            "path": info.key[len(root) :],
            "key": info.key,
            "bucket": bucket,
            "version_id": info.version_id,
            "last_modified": info.last_modified,
            "size": info.size,
            "etag": info.etag,
            "clone_url": clone_page_url(self.base_url, bucket, info.key, info.version_id),
        }


def _encode_catalog_token(listing: list[str], store_token: str | None, consumed: int) -> str:
    data = {"r": listing, "t": store_token, "n": consumed}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_catalog_token(token: str, listing: list[str]) -> tuple[str | None, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["r"] != listing:
            raise ValueError("a token of another listing")
        store_token = _optional_ascii(data["t"])
        consumed = data["n"]
        if not isinstance(consumed, int) or not 0 <= consumed <= MAX_PAGE_SIZE:
            raise ValueError("bad count")
    except (ValueError, TypeError, KeyError):
        raise InvalidPath(
            "The page token is not valid: pass back a next_token from this listing."
        ) from None
    return store_token, consumed


#: The routes of this module, registered by :class:`~bookstore.app.BookstoreApp`.
history_handlers: list[tuple[str, type[web.RequestHandler]]] = [
    (r"/api/bookstore/workspace/(.+)/versions/?", VersionsHandler),
    (r"/api/bookstore/workspace/(.+)/versions/([^/]+)", WorkspaceVersionHandler),
    (r"/api/bookstore/workspace/(.+)/diff/?", DiffHandler),
    (r"/api/bookstore/published/?", PublishedCatalogHandler),
    (r"/api/bookstore/published/(.+)/versions/?", PublishedVersionsHandler),
    (r"/api/bookstore/published/(.+)/versions/([^/]+)", PublishedVersionHandler),
    (r"/api/bookstore/published/(.+)/diff/?", PublishedDiffHandler),
    (r"/api/bookstore/published/(.+)", PublishedNotebookHandler),
]
