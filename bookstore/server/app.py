"""The jupyter_server extension: :class:`BookstoreApp` reads the configuration, builds
the server's :class:`~bookstore.server.services.BookstoreServices`, hooks archiving and
checkpoints into the contents manager, and registers the routes."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from jupyter_server.services.contents.checkpoints import AsyncCheckpoints
from traitlets.config import Config

from .._version import __version__
from ..config import BookstoreRuns, BookstoreSettings, load_legacy_settings
from ..core.archive import Archiver, Spool, default_spool_dir
from ..core.diff import DIFF_WORKER
from ..errors import NotAllowed
from ..stores.base import ObjectStore
from .checkpoints import BookstoreCheckpoints
from .contents_manager import BookstoreContentsArchiver
from .events import ContentsEventListener
from .retention import RetentionPass
from .routes import ROUTES
from .saves import SaveRecorder
from .services import SERVICES_KEY, BookstoreServices
from .workspace import WorkspaceWriter

__all__ = ["BookstoreApp"]


class BookstoreApp(ExtensionApp):
    """bookstore as a jupyter_server 2 extension.

    Builds :class:`~bookstore.config.BookstoreSettings` from the server's configuration
    (and, beneath it, bookstore 2.x's ``jupyter_notebook_config`` files), creates the
    one store the whole server shares (started on first use or at server start, closed
    at shutdown) and registers the HTTP handlers.
    """

    name = "bookstore"
    description = "Storage workflows for Jupyter notebooks"
    version = __version__
    load_other_extensions = True
    classes = [ServerApp, BookstoreSettings, BookstoreRuns]

    bookstore_settings: BookstoreSettings
    services: BookstoreServices
    run_settings: BookstoreRuns
    #: The background retention pass (None: ``retention_interval`` is 0).
    retention: RetentionPass | None = None

    def initialize_settings(self) -> None:
        """Create the settings, the services (the store not yet started) and the
        archiver, and hook them into the contents manager."""
        assert self.serverapp is not None
        self.bookstore_settings = BookstoreSettings(parent=self, config=self._settings_config())
        store = self.bookstore_settings.make_store(log=self.log)
        writer = WorkspaceWriter(self.serverapp.contents_manager, self.serverapp.root_dir)
        self.services = BookstoreServices(self.bookstore_settings, store, writer, self.log)
        self.services.archiver = self._make_archiver()
        self.run_settings = BookstoreRuns(parent=self, config=self.config)
        if self.run_settings.enabled:
            self.services.enable_runs(self.run_settings, self._run_url)
        self.settings[SERVICES_KEY] = self.services
        self._install_checkpoints()
        self._follow_renames()

    def _settings_config(self) -> Config:
        """The server's configuration, over the ``BookstoreSettings`` that bookstore 2.x
        users keep in ``jupyter_notebook_config`` (jupyter_server reads it no more)."""
        legacy = load_legacy_settings(list(self.config_file_paths), log=self.log)
        if not legacy.files:
            return self.config
        self.log.info(legacy.advice())
        return legacy.beneath(self.config)

    # -- what the rest of the server and the tests reach ---------------------------------

    @property
    def archiver(self) -> Archiver | None:
        """The archiver (None when archiving is off)."""
        return self.services.archiver

    async def ready_store(self) -> ObjectStore:
        """The started store (started on first call)."""
        return await self.services.ready_store()

    def archive_status(self) -> dict[str, Any]:
        """The archiver's state, as ``GET /api/bookstore/archive`` answers it."""
        return self.services.archive_status()

    # -- wiring ---------------------------------------------------------------------------

    def _make_archiver(self) -> Archiver | None:
        """Hook archiving into the server's contents manager (whatever its class)."""
        settings = self.bookstore_settings
        if not settings.archive_file_types:
            return None
        try:
            workspace_prefix = self.services.areas.workspace_prefix()
        except NotAllowed as exc:
            log = self.log.error if settings.workspace_prefix.strip("/") else self.log.info
            log("bookstore: archiving is off: %s", exc)
            return None
        assert self.serverapp is not None
        contents_manager = self.serverapp.contents_manager
        spool_dir = settings.archive_spool_dir or default_spool_dir(self.serverapp.root_dir)
        archiver = Archiver(
            open_store=self.services.ready_store,
            spool=Spool(spool_dir),
            workspace_prefix=workspace_prefix,
            file_types=list(settings.archive_file_types),
            retry_max_delay=settings.archive_retry_max_delay,
            parent=self,
            log=self.log,
        )
        self.services.saves = SaveRecorder(contents_manager, archiver, self.log)
        if not self.services.saves.install():
            self.log.info(
                "bookstore: the contents manager %s is not async; its saves are archived by "
                "a post-save hook, and saves of one file at once are not serialised",
                type(contents_manager).__name__,
            )
        if isinstance(contents_manager, BookstoreContentsArchiver):
            contents_manager.archiver = archiver
        return archiver

    def _run_url(self, run_id: str) -> str | None:
        """The link to a run in notifications (this server's REST route)."""
        assert self.serverapp is not None
        url = self.serverapp.connection_url
        return f"{url.rstrip('/')}/api/bookstore/runs/{run_id}" if url else None

    def _install_checkpoints(self) -> None:
        """Serve versions as the contents manager's checkpoints (``enable_checkpoints``)."""
        assert self.serverapp is not None
        contents_manager = self.serverapp.contents_manager
        archiver = self.services.archiver
        if not self.bookstore_settings.enable_checkpoints or archiver is None:
            return
        if not isinstance(contents_manager.checkpoints, AsyncCheckpoints):
            self.log.info(
                "bookstore: the contents manager %s is not async; Jupyter's own checkpoints "
                "stay (bookstore's history is still served by its API)",
                type(contents_manager).__name__,
            )
            return
        checkpoints = BookstoreCheckpoints(
            history=partial(self.services.history, "workspace"),
            archiver=archiver,
            saves=self.services.saves,
            writer=self.services.writer,
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
        archiver = self.services.archiver
        if archiver is not None:
            listener = ContentsEventListener(archiver, self.services.ready_store, self.log)
            listener.listen_to(self.serverapp.contents_manager)

    def initialize_handlers(self) -> None:
        """Register bookstore's routes (:data:`~bookstore.server.routes.ROUTES`)."""
        self.handlers.extend(ROUTES)

    # -- lifecycle ------------------------------------------------------------------------

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Start the store, report its state and replay pending archives."""
        await self.services.store_status()
        if self.services.archiver is not None:
            await self.services.archiver.start()
        await self.services.start_runs()
        self._start_retention()

    def _start_retention(self) -> None:
        """Start the background retention pass when ``retention_interval`` asks for one."""
        settings = self.bookstore_settings
        if settings.retention_interval <= 0:
            return
        if not settings.retention:
            self.log.warning(
                "bookstore: BookstoreSettings.retention_interval is set but retention is "
                "empty: no retention pass runs"
            )
            return
        self.retention = RetentionPass(
            self.services, settings.retention_interval, self.run_settings.database_url, self.log
        )
        self.retention.start()
        self.log.info("bookstore: a retention pass runs every %g s", settings.retention_interval)

    async def stop_extension(self) -> None:
        """Stop the retention pass, let pending archives finish briefly, then close the
        store."""
        if self.retention is not None:
            await self.retention.stop()
        if self.services.archiver is not None:
            await self.services.archiver.stop(self.bookstore_settings.archive_shutdown_timeout)
        await self.services.close(self.bookstore_settings.archive_shutdown_timeout)
        await asyncio.to_thread(DIFF_WORKER.close)
