"""The jupyter_server extension: :class:`BookstoreApp` owns settings, the store and handlers."""

from __future__ import annotations

from functools import partial
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from jupyter_server.services.contents.checkpoints import AsyncCheckpoints

from ._version import __version__
from .archive import Archiver, BookstoreContentsArchiver, default_spool_dir
from .areas import StoreAreas
from .bookstore_config import BookstoreSettings, validate_bookstore
from .checkpoints import BookstoreCheckpoints
from .clone import FileSystemSource, S3CloneSource, WorkspaceWriter
from .errors import InvalidPath, NotAllowed, ObjectNotFound
from .publish import Publisher
from .spool import Spool
from .stores.base import ObjectStore, StoreStarter, StoreStatus, list_all_keys
from .versions import History, VersionItem

__all__ = ["BookstoreApp"]


class BookstoreApp(ExtensionApp):
    """bookstore as a jupyter_server 2 extension.

    Builds :class:`BookstoreSettings` from the server's configuration, creates the
    one store the whole server shares (started on first use or at server start,
    closed at shutdown) and registers the HTTP handlers.
    """

    name = "bookstore"
    description = "Storage workflows for Jupyter notebooks"
    version = __version__
    load_other_extensions = True
    classes = [ServerApp, BookstoreSettings]

    bookstore_settings: BookstoreSettings
    areas: StoreAreas
    store: ObjectStore
    archiver: Archiver | None
    workspace_writer: WorkspaceWriter

    def initialize_settings(self) -> None:
        """Create the settings, the (not yet started) store and the archiver."""
        self.bookstore_settings = BookstoreSettings(parent=self)
        self.store = self.bookstore_settings.make_store(log=self.log)
        self.areas = StoreAreas(
            self.bookstore_settings, self.ready_store, known_lineage=self._known_lineage
        )
        self._starter = StoreStarter(self.store)
        self._last_status: StoreStatus | None = None
        self.archiver = self._make_archiver()
        assert self.serverapp is not None
        self.workspace_writer = WorkspaceWriter(
            self.serverapp.contents_manager, self.serverapp.root_dir
        )
        self._install_checkpoints()
        self._follow_renames()

    def workspace_key_prefix(self) -> str:
        """The workspace prefix of this server's user, as a key (``{username}`` expanded).

        Raises :class:`~bookstore.errors.InvalidPath` for an unsafe prefix.
        """
        return self.areas.workspace_key_prefix()

    def _known_lineage(self, key: str) -> dict[str, str] | None:
        archiver = self.archiver
        return archiver.known_lineage(key) if archiver is not None else None

    def _make_archiver(self) -> Archiver | None:
        """Hook archiving into the server's contents manager (whatever its class)."""
        settings = self.bookstore_settings
        if not settings.archive_file_types or not settings.workspace_prefix.strip("/"):
            return None
        try:
            workspace_prefix = self.workspace_key_prefix()
        except InvalidPath as exc:
            self.log.error("bookstore: archiving is off: %s", exc)
            return None
        assert self.serverapp is not None
        contents_manager = self.serverapp.contents_manager
        spool_dir = settings.archive_spool_dir or default_spool_dir(self.serverapp.root_dir)
        archiver = Archiver(
            open_store=self.ready_store,
            spool=Spool(spool_dir),
            workspace_prefix=workspace_prefix,
            file_types=list(settings.archive_file_types),
            retry_max_delay=settings.archive_retry_max_delay,
            parent=self,
            log=self.log,
        )
        contents_manager.register_post_save_hook(archiver.post_save_hook)
        if isinstance(contents_manager, BookstoreContentsArchiver):
            contents_manager.archiver = archiver
        return archiver

    def _install_checkpoints(self) -> None:
        """Serve versions as the contents manager's checkpoints (``enable_checkpoints``)."""
        assert self.serverapp is not None
        contents_manager = self.serverapp.contents_manager
        if not self.bookstore_settings.enable_checkpoints or self.archiver is None:
            return
        if not isinstance(contents_manager.checkpoints, AsyncCheckpoints):
            self.log.info(
                "bookstore: the contents manager %s is not async; Jupyter's own checkpoints "
                "stay (bookstore's history is still served by its API)",
                type(contents_manager).__name__,
            )
            return
        checkpoints = BookstoreCheckpoints(
            history=partial(self.history, "workspace"),
            archiver=self.archiver,
            writer=self.workspace_writer,
            fallback=contents_manager.checkpoints,
            timeout=self.bookstore_settings.checkpoint_timeout,
            limit=self.bookstore_settings.max_checkpoints,
            parent=contents_manager,
            log=self.log,
        )
        contents_manager.checkpoints = checkpoints
        contents_manager.register_pre_save_hook(checkpoints.pre_save_hook)
        contents_manager.register_post_save_hook(checkpoints.post_save_hook)

    def _follow_renames(self) -> None:
        """Hear Jupyter's contents events, so histories follow renames and deletes."""
        assert self.serverapp is not None
        contents_manager = self.serverapp.contents_manager
        if self.archiver is None or getattr(contents_manager, "event_logger", None) is None:
            return
        contents_manager.event_logger.add_listener(
            schema_id=contents_manager.event_schema_id, listener=self._on_contents_event
        )

    async def _on_contents_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """Record renames and deletes of archived files (and of folders holding them)."""
        archiver = self.archiver
        action = data.get("action")
        if archiver is None or action not in {"rename", "delete"}:
            return
        path = str(data.get("path", "")).strip("/")
        old = str(data.get("source_path", "")).strip("/") if action == "rename" else path
        try:
            # The file itself first, before any await: later saves queue after it.
            if archiver.archives(old):
                if action == "rename":
                    archiver.record_rename(old, path)
                else:
                    archiver.record_delete(old)
            # A folder: every archived key under it (stored, or still waiting to be).
            folder = archiver.key_for(old) + "/"
            waiting = archiver.queued_keys(folder)
            store = await self.ready_store()
            for key in sorted(waiting | set(await list_all_keys(store, folder))):
                inner = key[len(folder) :]
                if action == "rename":
                    archiver.record_rename(f"{old}/{inner}", f"{path}/{inner}")
                else:
                    archiver.record_delete(f"{old}/{inner}")
        except Exception as exc:
            self.log.warning(
                "bookstore: the history of %r may not follow its %s: %s", old, action, exc
            )

    def initialize_handlers(self) -> None:
        """Register bookstore's routes."""
        from .clone import (
            BookstoreCloneAPIHandler,
            BookstoreCloneHandler,
            BookstoreFSCloneAPIHandler,
            BookstoreFSCloneHandler,
        )
        from .handlers import default_handlers
        from .openapi import OpenAPIHandler
        from .publish import BookstorePublishHandler
        from .versions import history_handlers

        self.handlers.extend(default_handlers)
        self.handlers.extend(history_handlers)
        self.handlers.extend(
            [
                (r"/api/bookstore/publish/(.*)", BookstorePublishHandler),
                (r"/api/bookstore/clone/?", BookstoreCloneAPIHandler),
                (r"/api/bookstore/fs-clone/?", BookstoreFSCloneAPIHandler),
                (r"/bookstore/clone/?", BookstoreCloneHandler),
                (r"/bookstore/fs-clone/?", BookstoreFSCloneHandler),
                (r"/api/bookstore/openapi\.json", OpenAPIHandler),
            ]
        )

    async def history(self, area: str) -> History:
        """The :class:`~bookstore.versions.History` of ``"workspace"`` or ``"published"``.

        Raises :class:`~bookstore.errors.NotAllowed` when that prefix is unusable.
        """
        return await self.areas.history(area)

    async def restore(self, path: str, version_id: str) -> dict[str, Any]:
        """Write a version of ``path`` over the workspace file; the save becomes a new
        version (its id once archived, within ``checkpoint_timeout`` seconds)."""
        history = await self.history("workspace")
        stored, saved_path = await history.find(path, version_id)
        model = await self.workspace_writer.overwrite(path, stored.body)
        archiver = self.archiver
        new_version: str | None = None
        state = "off"
        if archiver is not None and archiver.archives(path):
            state = "pending"
            if await archiver.flush(path, self.bookstore_settings.checkpoint_timeout):
                try:
                    new_version = (await history.store.head(history.key_for(path))).version_id
                    state = "archived"
                except ObjectNotFound:
                    pass
        return {
            "path": path,
            "restored_from": VersionItem.from_info(stored.info, saved_path).to_dict(),
            "version_id": new_version,
            "archive": state,
            "model": model,
        }

    async def publisher(self) -> Publisher:
        """A :class:`~bookstore.publish.Publisher` on the started store.

        Raises :class:`~bookstore.errors.NotAllowed` when ``published_prefix`` is unusable.
        """
        return await self.areas.publisher()

    async def s3_clone_source(self) -> S3CloneSource:
        """Where clones come from; :class:`NotAllowed` when ``enable_s3_cloning`` is off."""
        return await self.areas.s3_clone_source()

    def fs_clone_source(self) -> FileSystemSource:
        """Files that may be cloned; :class:`NotAllowed` unless ``fs_cloning_basedir`` is an
        absolute, existing directory."""
        basedir = self.bookstore_settings.fs_cloning_basedir
        if not self.bookstore_settings.fs_cloning_usable:
            raise NotAllowed(
                "Cloning from the file system is turned off on this server "
                "(BookstoreSettings.fs_cloning_basedir is not an existing absolute directory)."
            )
        return FileSystemSource(basedir)

    async def ready_store(self) -> ObjectStore:
        """The started store; starts it on first call (concurrent callers share one start)."""
        return await self._starter.ready()

    async def store_status(self) -> StoreStatus:
        """Probe the store now, logging when its state changes."""
        status = await self._starter.status()
        if status != self._last_status:
            self._log_status(status)
        self._last_status = status
        return status

    async def features(self) -> dict[str, Any]:
        """The ``GET /api/bookstore`` document: release, feature flags and store state."""
        status = await self.store_status()
        return {
            "release": __version__,
            "features": validate_bookstore(self.bookstore_settings, status),
            "store": status.to_dict(),
            "archive": self.archive_status(),
        }

    def archive_status(self) -> dict[str, Any]:
        """The archiver's state (``{"enabled": false}`` when archiving is off)."""
        if self.archiver is None:
            return {"enabled": False}
        return {"enabled": True, **self.archiver.status()}

    def _log_status(self, status: StoreStatus) -> None:
        where = f"{status.backend} store, bucket {status.bucket!r} ({status.location})"
        if not status.usable:
            self.log.error("bookstore: %s is not usable: %s", where, status.error)
        elif not status.versioned:
            self.log.warning(
                "bookstore: %s has versioning %s: each archive overwrites the last one and "
                "no history is kept. Enable versioning on the bucket.",
                where,
                status.versioning,
            )
        else:
            self.log.info("bookstore: using %s with versioning enabled", where)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Start the store, report its state and replay pending archives."""
        await self.store_status()
        if self.archiver is not None:
            await self.archiver.start()

    async def stop_extension(self) -> None:
        """Let pending archives finish briefly, then close the store."""
        if self.archiver is not None:
            await self.archiver.stop(self.bookstore_settings.archive_shutdown_timeout)
        await self._starter.close()
