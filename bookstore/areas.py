"""The areas of a store, as the settings define them: the workspace (archived saves) and
the published notebooks.

:class:`StoreAreas` turns :class:`~bookstore.bookstore_config.BookstoreSettings` into the
objects that work on one area: a :class:`~bookstore.versions.History`, a
:class:`~bookstore.publish.Publisher`, an :class:`~bookstore.clone.S3CloneSource`.  The
server extension (:mod:`bookstore.app`) and the tools that run without a server (the
``jupyter bookstore`` command, the papermill handler; see :mod:`bookstore.standalone`)
share it, so both read and write the same keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .archive import expand_prefix, server_username
from .bookstore_config import BookstoreSettings
from .clone import S3CloneSource
from .errors import InvalidPath, NotAllowed
from .publish import Publisher
from .s3_paths import s3_key
from .stores.base import ObjectStore
from .versions import History

__all__ = ["AREAS", "StoreAreas"]

#: The names of the areas.
AREAS = ("workspace", "published")


class StoreAreas:
    """The workspace and published areas of the store that ``open_store`` returns started.

    ``known_lineage`` answers, for a workspace key, the rename lineage an archiver
    already knows (saving a HEAD per listing); ``None`` when nothing archives here.
    """

    def __init__(
        self,
        settings: BookstoreSettings,
        open_store: Callable[[], Awaitable[ObjectStore]],
        *,
        known_lineage: Callable[[str], dict[str, str] | None] | None = None,
    ) -> None:
        self.settings = settings
        self._open_store = open_store
        self._known_lineage = known_lineage

    def workspace_key_prefix(self) -> str:
        """The workspace prefix of this user, as a key (``{username}`` expanded).

        Raises :class:`~bookstore.errors.InvalidPath` for an unsafe prefix.
        """
        prefix = expand_prefix(self.settings.workspace_prefix, server_username())
        return s3_key(prefix)

    def published_key_prefix(self) -> str:
        """The published prefix as a key; :class:`NotAllowed` when it is empty or unsafe."""
        try:
            published_prefix = s3_key(self.settings.published_prefix)
        except InvalidPath as exc:
            raise NotAllowed(f"Publishing is off: {exc}") from None
        if not published_prefix:
            raise NotAllowed("Publishing is off: BookstoreSettings.published_prefix is empty.")
        return published_prefix

    def usable_workspace_prefix(self) -> str:
        """The workspace prefix as a key; :class:`NotAllowed` when it is empty or unsafe."""
        try:
            prefix = self.workspace_key_prefix()
        except InvalidPath as exc:
            raise NotAllowed(f"Workspace history is off: {exc}") from None
        if not prefix:
            raise NotAllowed(
                "Workspace history is off: BookstoreSettings.workspace_prefix is empty."
            )
        return prefix

    def key_prefix(self, area: str) -> str:
        """The key prefix of ``area`` (``"workspace"`` or ``"published"``)."""
        if area == "published":
            return self.published_key_prefix()
        return self.usable_workspace_prefix()

    async def history(self, area: str) -> History:
        """The :class:`~bookstore.versions.History` of ``"workspace"`` or ``"published"``.

        Raises :class:`~bookstore.errors.NotAllowed` when that prefix is unusable.
        """
        if area == "published":
            return History(await self._open_store(), self.published_key_prefix(), area=area)
        prefix = self.usable_workspace_prefix()
        return History(
            await self._open_store(),
            prefix,
            area=area,
            follows_renames=True,
            known_lineage=self._known_lineage,
        )

    async def publisher(self) -> Publisher:
        """A :class:`~bookstore.publish.Publisher` on the started store.

        Raises :class:`~bookstore.errors.NotAllowed` when ``published_prefix`` is unusable.
        """
        published_prefix = self.published_key_prefix()
        try:
            workspace_prefix: str | None = self.workspace_key_prefix() or None
        except InvalidPath:
            workspace_prefix = None
        return Publisher(
            await self._open_store(),
            published_prefix=published_prefix,
            workspace_prefix=workspace_prefix,
        )

    async def s3_clone_source(self) -> S3CloneSource:
        """Where clones come from; :class:`NotAllowed` when ``enable_s3_cloning`` is off."""
        if not self.settings.enable_s3_cloning:
            raise NotAllowed(
                "Cloning from the store is turned off "
                "(BookstoreSettings.enable_s3_cloning is False)."
            )
        return S3CloneSource(await self._open_store(), list(self.settings.clone_allowed_buckets))
