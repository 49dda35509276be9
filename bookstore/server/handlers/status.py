"""``GET /api/bookstore`` (release, feature flags, store state) and its archive state."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import BookstoreAPIHandler

__all__ = ["ArchiveStatusHandler", "BookstoreVersionHandler"]


class BookstoreVersionHandler(BookstoreAPIHandler):
    """``GET /api/bookstore``: release, feature flags and store state.

    Frontends use it for feature detection.
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer ``{"release", "features", "store", "archive"}``."""
        self.finish(await self.services.features())


class ArchiveStatusHandler(BookstoreAPIHandler):
    """``GET /api/bookstore/archive``: pending and failed archives, the last error."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer the archiver's state."""
        archiver = self.services.archiver
        if archiver is not None:
            await archiver.start()
        self.finish(self.services.archive_status())
