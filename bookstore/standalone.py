"""bookstore without a Jupyter server: the store, configured exactly like the server.

The ``jupyter bookstore`` command (:mod:`bookstore.cli`) and the papermill handler
(:mod:`bookstore.papermill_io`) work straight against the store, for scripts and CI
pipelines with no server running.  :class:`StandaloneBookstore` gives them what the
server extension has:

* the same configuration: Jupyter's config files (``jupyter_config``,
  ``jupyter_server_config``, then ``jupyter_bookstore_config``, ``.py`` or ``.json``, in
  every directory of ``jupyter --paths``, over the ``BookstoreSettings`` of bookstore
  2.x's ``jupyter_notebook_config``), the ``JPYNB_S3_*`` variables, and the embedded
  local store when no ``s3_bucket`` is set;
* the same keys: the workspace and published areas of
  :class:`~bookstore.core.areas.StoreAreas`;
* the same workspace: the server's ``ServerApp.root_dir`` (else the nearest folder
  above the current directory that a server left its archive spool for, else the
  current directory), whose files it writes the way Jupyter does (atomically) and
  archives the way the server does, so a restore or a clone made here is a version like
  one made in JupyterLab.

:class:`LoopThread` runs these coroutines for synchronous callers (papermill) on one
private event loop, so a whole run shares one store client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from jupyter_core.paths import jupyter_config_path
from traitlets.config import Application, Config

from .config import BookstoreSettings, load_legacy_settings
from .core.access import Actor
from .core.archive import Spool, archive_version, archived_type, default_spool_dir
from .core.areas import StoreAreas
from .core.audit import AuditEvent, origin
from .errors import BookstoreError, InvalidPath, NotAllowed, WorkspaceError
from .keys import normalize_path, s3_key
from .stores.base import ObjectStore, StoreStarter, StoreStatus

__all__ = [
    "CONFIG_FILES",
    "LoopThread",
    "StandaloneBookstore",
    "load_config",
    "write_file_atomically",
]

T = TypeVar("T")

#: The config files read, in order (a later file wins over an earlier one).
CONFIG_FILES = ("jupyter_config", "jupyter_server_config", "jupyter_bookstore_config")


def load_config(paths: list[str] | None = None) -> Config:
    """The configuration a Jupyter server started here would read (bookstore's parts).

    ``paths``: the config directories, highest priority first (default: Jupyter's
    config path, i.e. ``JUPYTER_CONFIG_DIR``, then the user's, the environment's and the
    system's directories).
    """
    reader = Application()
    search = jupyter_config_path() if paths is None else paths
    for name in CONFIG_FILES:
        reader.load_config_file(name, path=search)
    return load_legacy_settings(search).beneath(Config(reader.config))


def _configured_root_dir(config: Config) -> str:
    server = config.get("ServerApp", {})
    for name in ("root_dir", "notebook_dir"):
        value = server.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def _root_dir(given: str | None, config: Config, settings: BookstoreSettings) -> tuple[str, str]:
    """The workspace root and where it came from: ``--root-dir``, else
    ``ServerApp.root_dir`` (or ``notebook_dir``), else the nearest folder holding the
    current directory that a server on it left an archive spool for, else the current
    directory."""
    if given:
        return given, "--root-dir"
    configured = _configured_root_dir(config)
    if configured:
        return configured, "ServerApp.root_dir"
    found = _root_with_a_spool(settings)
    if found is not None:
        return found, "the archive spool of a server started there"
    return os.getcwd(), "the current directory"


def _root_with_a_spool(settings: BookstoreSettings) -> str | None:
    """The nearest folder from the current directory up whose default archive spool
    exists (a server ran with it as its root): each folder as the shell names it
    (``PWD``, symlinks kept, as a server started there keys its spool), then resolved.
    None when ``archive_spool_dir`` is set (spools are then not by root)."""
    if settings.archive_spool_dir:
        return None
    cwd = Path(os.getcwd())
    shell = os.environ.get("PWD", "")
    names = [cwd]
    try:
        if shell and os.path.isabs(shell) and os.path.samefile(shell, cwd):
            names.insert(0, Path(os.path.abspath(shell)))
    except OSError:
        pass
    for depth in range(len(cwd.parts)):
        for name in names:
            if depth >= len(name.parts):
                continue
            folder = name.parents[depth - 1] if depth else name
            if os.path.isdir(default_spool_dir(str(folder))):
                return str(folder)
    return None


class StandaloneBookstore:
    """The configured store, its areas and the workspace folder, with no server.

    Use it as an async context manager (the store is started on first use and closed on
    exit).  ``root_dir`` overrides ``ServerApp.root_dir``; without either, the root is
    the nearest folder above the current directory that a server on it left an archive
    spool for, else the current directory (:attr:`root_source` says which).  Workspace
    paths are local paths (relative to the current directory) inside it.

    ``as_user`` acts for that user: their workspace prefix, and only the keys their
    ``clone_allowed_prefixes`` allow may be read by name (:meth:`check_read`).  The same
    holds in a JupyterHub user's session (``JUPYTERHUB_USER`` set) without it; an
    operator's shell may read any key, as bookstore 2.x did.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        root_dir: str | None = None,
        as_user: str | None = None,
        **settings: Any,
    ) -> None:
        self.config = load_config() if config is None else config
        self.settings = BookstoreSettings(config=self.config, **settings)
        root, self.root_source = _root_dir(root_dir, self.config, self.settings)
        # Made absolute with its symlinks kept, as the server does (its spool is keyed by it).
        self.root_dir = Path(os.path.abspath(os.path.expanduser(root)))
        self.store: ObjectStore = self.settings.make_store()
        self.as_user = as_user or None
        self.areas = StoreAreas(
            self.settings,
            self.ready_store,
            pending=lambda: Spool(self.spool_dir()),
            username=self.as_user,
        )
        self._starter = StoreStarter(self.store)

    # -- for whom ----------------------------------------------------------------------

    @property
    def actor(self) -> Actor:
        """Who acts: ``as_user``, else the user this process runs for."""
        return Actor(username=self.areas.username)

    @property
    def restricted(self) -> bool:
        """Whether reads by key follow ``clone_allowed_prefixes`` (acting for a user)."""
        return self.as_user is not None or bool(os.environ.get("JUPYTERHUB_USER"))

    def check_read(self, key: str, verb: str = "read") -> None:
        """Refuse (403) reading ``key`` by name for a user whose policy does not allow it."""
        if self.restricted:
            self.areas.clone_policy().check(key, verb)

    def check_write(self, key: str) -> None:
        """Refuse (403) writing ``key`` by name for a user: only keys they may read, and
        never a published key (publishing records an owner; use ``jupyter bookstore
        publish``)."""
        if not self.restricted:
            return
        self.check_read(key, "write")
        try:
            published = self.areas.published_prefix()
        except NotAllowed:
            return
        if key == published or key.startswith(published + "/"):
            raise NotAllowed(
                f"You may not write {key!r} directly: publish with `jupyter bookstore "
                "publish` or the Publish command, which record who published it."
            )

    async def record(self, event: AuditEvent) -> None:
        """Append ``event`` to the audit trail (from the command line); a failure is
        reported on stderr, the action being done already."""
        event = AuditEvent(**{**event.__dict__, "origin": origin("cli")})
        try:
            log = await self.areas.audit_log()
            await log.record(event)
        except NotAllowed:
            return
        except BookstoreError as exc:
            sys.stderr.write(
                f"jupyter bookstore: warning: the audit record was not written: {exc}\n"
            )

    async def ready_store(self) -> ObjectStore:
        """The started store (started on first call)."""
        return await self._starter.ready()

    async def close(self) -> None:
        """Close the store if it was started."""
        await self._starter.close()

    async def __aenter__(self) -> StandaloneBookstore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def status(self) -> StoreStatus:
        """Probe the store now."""
        return await self._starter.status()

    # -- the workspace folder --------------------------------------------------------

    def workspace_path(self, local_path: str | os.PathLike[str]) -> str:
        """The workspace path (relative to ``root_dir``, ``/``-separated) of a local file
        given relative to the current directory or absolute.

        Raises :class:`~bookstore.errors.InvalidPath` when it lies outside ``root_dir``.
        """
        given = Path(os.path.abspath(os.path.expanduser(local_path)))
        # As written, else with symlinks resolved on both sides (a root or a current
        # directory reached through a symlink).
        for candidate, root in ((given, self.root_dir), (given.resolve(), self.root_dir.resolve())):
            if candidate.is_relative_to(root):
                relative = candidate.relative_to(root)
                break
        else:
            raise InvalidPath(
                f"{os.fspath(local_path)!r} is outside the workspace root {str(self.root_dir)!r} "
                "(set ServerApp.root_dir, or pass --root-dir)."
            )
        relative_path = relative.as_posix()
        path = "" if relative_path == "." else normalize_path(relative_path)
        if not path:
            raise InvalidPath("The workspace root itself is a folder, not a file.")
        return path

    def local_path(self, path: str) -> Path:
        """The file of workspace path ``path`` (which must stay under ``root_dir``)."""
        return self.root_dir / normalize_path(path)

    def archives(self, path: str) -> bool:
        """True when the server would archive saves of ``path`` (its type, a prefix)."""
        settings = self.settings
        if not archived_type(path, settings.archive_file_types):
            return False
        try:
            self.areas.workspace_prefix()
        except NotAllowed:
            return False
        return True

    async def write_workspace_file(
        self, path: str, body: bytes, *, overwrite: bool = False
    ) -> str | None:
        """Write ``body`` to workspace file ``path`` atomically (creating folders) and
        archive it as the server archives a save.  With ``overwrite``, what an archived
        file holds now is archived first, so overwriting never loses it.

        Returns the new version id (``None`` when not archived, or identical to the latest
        version).  Raises :class:`~bookstore.errors.WorkspaceError` (409) when the file
        exists and ``overwrite`` is false.
        """
        target = self.local_path(path)
        if overwrite and self.archives(path) and await asyncio.to_thread(target.is_file):
            await self.archive_workspace_bytes(path, await asyncio.to_thread(target.read_bytes))
        await asyncio.to_thread(write_file_atomically, target, body, overwrite=overwrite)
        return await self.archive_workspace_bytes(path, body)

    async def archive_workspace_bytes(self, path: str, body: bytes) -> str | None:
        """Archive ``body`` as the next version of workspace file ``path`` (when the
        server would archive it); the new version id, ``None`` when not archived or
        identical to the latest version."""
        if not self.archives(path):
            return None
        store = await self.ready_store()
        key = s3_key(self.areas.workspace_prefix(), path)
        return await archive_version(store, key, path, body)

    # -- what a server left to archive ------------------------------------------------

    def spool_dir(self) -> str:
        """The archive spool of a server on this ``root_dir``."""
        return self.settings.archive_spool_dir or default_spool_dir(str(self.root_dir))

    def pending_archives(self) -> tuple[int, int]:
        """``(pending, failed)`` entries in that spool (saves not yet in the store)."""
        return Spool(self.spool_dir()).counts()


def write_file_atomically(target: Path, body: bytes, *, overwrite: bool = False) -> None:
    """Write ``body`` to ``target`` through a temporary file and a rename (so the file is
    never half-written), creating folders; :class:`WorkspaceError` (409) when it exists
    and ``overwrite`` is false, or is a folder."""
    if target.is_dir():
        raise WorkspaceError(f"{target.name!r} is a folder.", 409)
    if target.exists() and not overwrite:
        raise WorkspaceError(f"{target.name!r} exists already (overwrite it with --force).", 409)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}")
    try:
        with open(temporary, "xb") as out:  # Mode 0o666 less the umask, as any new file.
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class LoopThread:
    """One private event loop in a daemon thread, for synchronous callers.

    :meth:`run` waits for a coroutine's result; it works whether or not the calling
    thread runs an event loop of its own (e.g. papermill called from a notebook).
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="bookstore-loop", daemon=True
        )
        self._thread.start()
        self._lock = threading.Lock()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and return its result (or raise its error)."""
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(
            coroutine, self._loop
        )
        return future.result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        with self._lock:
            if self._loop.is_closed():
                return
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
