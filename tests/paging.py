"""Following ``next_token`` through a store's listings, for tests."""

from __future__ import annotations

from bookstore.stores.base import ObjectInfo, ObjectStore


async def version_pages(store: ObjectStore, key: str, limit: int = 1000) -> list[list[ObjectInfo]]:
    """Every page of ``key``'s versions, newest first, checking each page's size."""
    pages: list[list[ObjectInfo]] = []
    token = None
    while True:
        page = await store.list_versions(key, limit=limit, token=token)
        assert len(page.items) <= limit
        pages.append(page.items)
        token = page.next_token
        if token is None:
            return pages


async def all_versions(store: ObjectStore, key: str, limit: int = 1000) -> list[ObjectInfo]:
    """Every version of ``key``, newest first."""
    return [item for page in await version_pages(store, key, limit) for item in page]
