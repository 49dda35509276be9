"""The catalog: everything published, by path, with its latest version.

:meth:`Catalog.page` lists the published notebooks whose path starts with a prefix
and contains a text (any case), in path order, a page at a time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import InvalidPath, ObjectNotFound
from ..keys import normalize_path
from ..stores.base import ObjectInfo, Page
from ..tokens import MAX_PAGE_SIZE, decode_scan_token, encode_scan_token
from .access import OWNER_FIELD, PUBLISHED_BY_FIELD, name_in
from .history import History

__all__ = ["Catalog", "CatalogItem", "catalog_prefix"]


@dataclass(frozen=True)
class CatalogItem:
    """A published notebook: its path and the latest published version."""

    path: str
    key: str
    bucket: str
    version_id: str | None
    last_modified: datetime
    size: int
    etag: str
    #: Who first published at this path (None: published before bookstore 3).
    owner: str | None = None
    #: Who published the latest version (the owner or an editor).
    published_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``last_modified`` stays a datetime for the encoder)."""
        return {
            "owner": self.owner,
            "published_by": self.published_by,
            "path": self.path,
            "key": self.key,
            "bucket": self.bucket,
            "version_id": self.version_id,
            "last_modified": self.last_modified,
            "size": self.size,
            "etag": self.etag,
        }


def catalog_prefix(prefix: str) -> str:
    """A path prefix to list by, as given (``reports/`` lists a folder, ``rep`` every
    path starting so); refuses absolute or escaping prefixes (:class:`InvalidPath`)."""
    if prefix.startswith("/"):
        raise InvalidPath("'prefix' must be relative, e.g. 'reports/'.")
    normalized = normalize_path(prefix, what="prefix")
    if normalized and prefix.endswith("/"):
        normalized += "/"
    return normalized


class Catalog:
    """The published notebooks of ``history`` (the published area)."""

    def __init__(self, history: History) -> None:
        self.history = history

    async def page(
        self, prefix: str = "", query: str = "", *, limit: int = 50, token: str | None = None
    ) -> Page[CatalogItem]:
        """Up to ``limit`` published notebooks whose path starts with ``prefix`` (see
        :func:`catalog_prefix`) and contains ``query`` (any case).  The token is (store
        token, entries of that store page consumed)."""
        prefix = catalog_prefix(prefix)
        query = query.strip().lower()
        listing = [prefix, query]
        store_token, consumed = decode_scan_token(token, listing) if token else (None, 0)
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
                    next_token = encode_scan_token(listing, store_token, consumed + index)
                    break
                found.append(info)
            if next_token is not None or page.next_token is None:
                break
            store_token, consumed = page.next_token, 0
            if len(found) == limit:
                next_token = encode_scan_token(listing, store_token, 0)
                break
        items = await asyncio.gather(*(self._item(info, root) for info in found))
        return Page(items=[item for item in items if item is not None], next_token=next_token)

    async def _item(self, info: ObjectInfo, root: str) -> CatalogItem | None:
        if info.version_id is None:
            # S3 key listings do not report version ids: ask for each (concurrently).
            try:
                info = await self.history.store.head(info.key)
            except ObjectNotFound:
                return None  # unpublished in the meantime
        return CatalogItem(
            path=info.key[len(root) :],
            key=info.key,
            bucket=self.history.store.bucket,
            version_id=info.version_id,
            last_modified=info.last_modified,
            size=info.size,
            etag=info.etag,
            owner=name_in(info.metadata, OWNER_FIELD),
            published_by=name_in(info.metadata, PUBLISHED_BY_FIELD),
        )
