"""The areas of a store, as the settings define them: the workspace (archived saves) and
the published notebooks.

:class:`StoreAreas` turns :class:`~bookstore.config.BookstoreSettings` into the objects
that work on one area: a :class:`~bookstore.core.history.History`, a
:class:`~bookstore.core.publish.Publisher`, an :class:`~bookstore.core.clone.S3CloneSource`.
The server extension (:mod:`bookstore.server`) and the tools that run without a server
(the ``jupyter bookstore`` command, the papermill handler; see :mod:`bookstore.standalone`)
share it, so both read and write the same keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..config import BookstoreSettings
from ..errors import NotAllowed
from ..keys import published_key_prefix, server_username, workspace_key_prefix
from ..stores.base import ObjectStore
from .access import ClonePolicy
from .annotations import Annotations, annotations_key_prefix
from .audit import AuditLog, audit_key_prefix
from .clone import FileSystemSource, S3CloneSource
from .history import History, PendingSaves
from .publish import Publisher

__all__ = ["AREAS", "StoreAreas"]

#: The names of the areas.
AREAS = ("workspace", "published")


class StoreAreas:
    """The workspace and published areas of the store that ``open_store`` returns started.

    ``known_lineage`` answers, for a workspace key, the rename lineage an archiver
    already knows (saving a HEAD per listing); ``None`` when nothing archives here.
    ``pending`` returns what knows the saves not archived yet (the archiver, or its spool
    read from disk), so workspace histories list them.  ``username`` is the user whose
    workspace this is (default: the user the process runs for, :func:`server_username`).
    """

    def __init__(
        self,
        settings: BookstoreSettings,
        open_store: Callable[[], Awaitable[ObjectStore]],
        *,
        known_lineage: Callable[[str], dict[str, str] | None] | None = None,
        pending: Callable[[], PendingSaves | None] | None = None,
        username: str | None = None,
    ) -> None:
        self.settings = settings
        self._open_store = open_store
        self._known_lineage = known_lineage
        self._pending = pending
        self.username = server_username() if username is None else username

    def workspace_prefix(self) -> str:
        """The workspace prefix of this workspace's user as a key (``{username}``
        expanded); :class:`NotAllowed` when it is empty or unsafe."""
        return workspace_key_prefix(
            self.settings.workspace_prefix,
            self.username,
            self._prefix_or_none(self.published_prefix),
        )

    def _prefix_or_none(self, prefix: Callable[[], str]) -> str | None:
        try:
            return prefix()
        except NotAllowed:
            return None

    def clone_policy(self) -> ClonePolicy:
        """``BookstoreSettings.clone_allowed_prefixes`` for this workspace's user."""
        return ClonePolicy.for_user(
            self.settings.clone_allowed_prefixes,
            self.username,
            workspace_prefix=self._prefix_or_none(self.workspace_prefix),
            published_prefix=self._prefix_or_none(self.published_prefix),
        )

    def published_prefix(self) -> str:
        """The published prefix as a key; :class:`NotAllowed` when it is empty or unsafe."""
        return published_key_prefix(self.settings.published_prefix)

    def key_prefix(self, area: str) -> str:
        """The key prefix of ``area`` (``"workspace"`` or ``"published"``)."""
        if area == "published":
            return self.published_prefix()
        return self.workspace_prefix()

    async def history(self, area: str) -> History:
        """The :class:`~bookstore.core.history.History` of ``"workspace"`` or
        ``"published"``; :class:`NotAllowed` when that prefix is unusable."""
        if area == "published":
            prefix = self.published_prefix()
            store = await self._open_store()
            return History(store, prefix, area=area, annotations=self._annotations_of(store))
        prefix = self.workspace_prefix()
        store = await self._open_store()
        return History(
            store,
            prefix,
            area=area,
            follows_renames=True,
            known_lineage=self._known_lineage,
            pending=self._pending() if self._pending is not None else None,
            annotations=self._annotations_of(store),
        )

    async def publisher(self) -> Publisher:
        """A :class:`~bookstore.core.publish.Publisher` on the started store;
        :class:`NotAllowed` when ``published_prefix`` is unusable."""
        published_prefix = self.published_prefix()
        return Publisher(
            await self._open_store(),
            published_prefix=published_prefix,
            workspace_prefix=self._prefix_or_none(self.workspace_prefix),
            editors=list(self.settings.publication_editors),
        )

    async def s3_clone_source(self, *, restricted: bool = True) -> S3CloneSource:
        """Where clones come from: the keys of :meth:`clone_policy` (every key when not
        ``restricted``: an operator's command line); :class:`NotAllowed` when
        ``enable_s3_cloning`` is off."""
        if not self.settings.enable_s3_cloning:
            raise NotAllowed(
                "Cloning from the store is turned off "
                "(BookstoreSettings.enable_s3_cloning is False)."
            )
        return S3CloneSource(
            await self._open_store(),
            list(self.settings.clone_allowed_buckets),
            self.clone_policy() if restricted else None,
        )

    def audit_prefix(self) -> str:
        """The audit trail's prefix as a key; :class:`NotAllowed` when it is off."""
        return audit_key_prefix(
            self.settings.audit_prefix,
            inside={
                "workspace_prefix": self._prefix_or_none(self.workspace_prefix),
                "published_prefix": self._prefix_or_none(self.published_prefix),
            },
        )

    async def audit_log(self) -> AuditLog:
        """The audit trail; :class:`NotAllowed` when ``audit_prefix`` is off or unusable."""
        prefix = self.audit_prefix()
        return AuditLog(await self._open_store(), prefix)

    def annotations_prefix(self) -> str:
        """The prefix of the version notes' indexes as a key; :class:`NotAllowed` when it
        is empty or overlaps an area."""
        return annotations_key_prefix(
            self.settings.annotations_prefix,
            inside={
                "workspace_prefix": self._prefix_or_none(self.workspace_prefix),
                "published_prefix": self._prefix_or_none(self.published_prefix),
            },
        )

    async def annotations(self) -> Annotations:
        """The names, descriptions and pins of versions; :class:`NotAllowed` when
        ``annotations_prefix`` is off or unusable."""
        prefix = self.annotations_prefix()
        return Annotations(await self._open_store(), prefix)

    def _annotations_of(self, store: ObjectStore) -> Annotations | None:
        """The version notes on ``store`` (None when ``annotations_prefix`` is unusable:
        histories then list no names)."""
        try:
            return Annotations(store, self.annotations_prefix())
        except NotAllowed:
            return None

    def file_system_source(self) -> FileSystemSource:
        """Files that may be cloned; :class:`NotAllowed` unless ``fs_cloning_basedir`` is
        an absolute, existing directory."""
        if not self.settings.fs_cloning_usable:
            raise NotAllowed(
                "Cloning from the file system is turned off on this server "
                "(BookstoreSettings.fs_cloning_basedir is not an existing absolute directory)."
            )
        return FileSystemSource(self.settings.fs_cloning_basedir)
