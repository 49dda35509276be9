"""Cloning: copy a stored object (any version) or a file of ``fs_cloning_basedir`` into
the workspace, through the server's contents manager.

* ``GET /bookstore/clone?s3_bucket=&s3_key=[&s3_version_id=]`` and
  ``GET /bookstore/fs-clone?relpath=`` render landing pages with a Clone button;
* ``POST /api/bookstore/clone`` ``{s3_bucket?, s3_key, s3_version_id?, target_path?}`` and
  ``POST /api/bookstore/fs-clone`` ``{relpath, target_path?}`` clone and answer the
  contents model of the new file.

Bytes are written exactly as stored (notebooks are validated first, never re-serialised),
an existing file is never overwritten (``x.ipynb`` becomes ``x-1.ipynb``), and nothing is
written when anything is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import ensure_async
from tornado import web

from .errors import (
    BucketNotFound,
    InvalidPath,
    InvalidRequest,
    NotAllowed,
    ObjectNotFound,
    WorkspaceError,
)
from .handlers import BookstoreAPIHandler
from .notebook_files import (
    DEFAULT_MIMETYPES,
    file_model,
    is_notebook_path,
    notebook_node,
    run_cpu,
)
from .pages import BookstorePageHandler
from .s3_paths import normalize_path
from .stores.base import ObjectInfo, ObjectStore

__all__ = [
    "BookstoreCloneAPIHandler",
    "BookstoreCloneHandler",
    "BookstoreFSCloneAPIHandler",
    "BookstoreFSCloneHandler",
    "CloneRequest",
    "FileSystemSource",
    "S3CloneSource",
    "WorkspaceWriter",
]

#: Longest string accepted in a clone request field.
_MAX_FIELD = 2048


def _text_field(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"Must have a {name!r} to clone from.")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name!r} must be a string.")
    if len(value) > _MAX_FIELD:
        raise InvalidRequest(f"{name!r} is longer than {_MAX_FIELD} characters.")
    return value


@dataclass(frozen=True)
class CloneRequest:
    """What to clone from the store, and where to (``target_path`` relative to the root)."""

    s3_bucket: str | None
    s3_key: str
    s3_version_id: str | None = None
    target_path: str | None = None
    #: Whether the reply carries the file's content (like ``?content=0`` of Jupyter's API).
    with_content: bool = True

    @classmethod
    def from_json(cls, data: Any) -> CloneRequest:
        """Parse ``POST /api/bookstore/clone``'s body; :class:`InvalidRequest` when malformed."""
        if not isinstance(data, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        return cls(
            s3_bucket=_text_field(data, "s3_bucket"),
            s3_key=_text_field(data, "s3_key", required=True) or "",
            s3_version_id=_text_field(data, "s3_version_id"),
            target_path=_text_field(data, "target_path"),
            with_content=_content_flag(data),
        )


def _content_flag(data: dict[str, Any]) -> bool:
    value = data.get("content", True)
    if not isinstance(value, bool):
        raise InvalidRequest("'content' must be true or false.")
    return value


#: The longest file or folder name most file systems take, in bytes.
MAX_NAME_BYTES = 255


def _check_name_length(name: str, advice: str = "choose a shorter target_path") -> None:
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidPath(
            f"The name {name[:40]!r}… is longer than {MAX_NAME_BYTES} bytes; {advice}."
        )


def _mtime(stat: os.stat_result) -> datetime:
    return datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc)


class S3CloneSource:
    """Objects that may be cloned: any key of an allowed bucket, any version."""

    def __init__(self, store: ObjectStore, allowed_buckets: list[str]) -> None:
        self.store = store
        self.allowed_buckets = allowed_buckets or [store.bucket]

    def bucket_store(self, bucket: str | None) -> ObjectStore:
        """The store for ``bucket`` (default: the configured one); 403 when not allowed."""
        bucket = bucket or self.store.bucket
        if bucket not in self.allowed_buckets:
            raise NotAllowed(
                f"Cloning from bucket {bucket!r} is not allowed on this server "
                "(BookstoreSettings.clone_allowed_buckets)."
            )
        return self.store.for_bucket(bucket)

    @staticmethod
    def _key(key: str) -> str:
        normalized = normalize_path(key, what="s3_key")
        if not normalized or key.endswith("/"):
            raise InvalidPath(f"The s3_key {key!r} does not name an object.")
        return normalized

    @contextlib.contextmanager
    def _missing_bucket(self, bucket: str) -> Iterator[None]:
        try:
            yield
        except BucketNotFound:
            raise ObjectNotFound(f"The bucket {bucket!r} does not exist.") from None

    async def describe(self, request: CloneRequest) -> ObjectInfo:
        """Size, time and version of the object to clone (404 when there is none)."""
        with self._missing_bucket(request.s3_bucket or self.store.bucket):
            store = self.bucket_store(request.s3_bucket)
            return await store.head(self._key(request.s3_key), request.s3_version_id)

    async def fetch(self, request: CloneRequest) -> tuple[ObjectInfo, bytes]:
        """The object's info and bytes."""
        with self._missing_bucket(request.s3_bucket or self.store.bucket):
            store = self.bucket_store(request.s3_bucket)
            stored = await store.get(self._key(request.s3_key), request.s3_version_id)
        return stored.info, stored.body


class FileSystemSource:
    """Files under ``fs_cloning_basedir`` that may be cloned (symlinks resolved first)."""

    def __init__(self, basedir: str) -> None:
        self.basedir = Path(basedir).resolve()

    def resolve(self, relpath: Any) -> Path:
        """The file ``relpath`` names; :class:`ObjectNotFound` (404) for anything that is
        not a regular file inside the base dir.  Messages name ``relpath`` only."""
        if not isinstance(relpath, str) or not relpath:
            raise InvalidRequest("Must have a 'relpath' to clone from.")
        shown = relpath if len(relpath) <= 200 else relpath[:200] + "…"
        missing = ObjectNotFound(f"No file {shown!r} can be cloned from the file system.")
        if relpath.startswith("/") or "\x00" in relpath or len(relpath) > _MAX_FIELD:
            raise missing
        try:
            normalize_path(relpath, what="relpath")
            path = (self.basedir / relpath).resolve()
            if not path.is_relative_to(self.basedir) or not path.is_file():
                raise missing
        except (InvalidPath, OSError, RuntimeError, ValueError):
            # Escapes, loops, names too long for the file system, undecodable text.
            raise missing from None
        return path

    async def describe(self, relpath: Any) -> os.stat_result:
        """``stat`` of the file (off the event loop)."""
        path = self.resolve(relpath)
        return await asyncio.to_thread(path.stat)

    async def read(self, relpath: Any) -> bytes:
        """The file's bytes (off the event loop)."""
        path = self.resolve(relpath)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except OSError:
            raise ObjectNotFound(f"The file {relpath!r} could not be read.") from None


class WorkspaceWriter:
    """Saves new files into the workspace through the contents manager, never
    overwriting one: ``x.ipynb`` becomes ``x-1.ipynb``, ``x-2.ipynb``…"""

    def __init__(self, contents_manager: Any, root_dir: str) -> None:
        self.contents_manager = contents_manager
        self._root_dirs = sorted(
            {root_dir, os.path.abspath(root_dir), os.path.realpath(root_dir)}, key=len, reverse=True
        )
        self._lock = asyncio.Lock()

    @contextlib.contextmanager
    def contents_errors(self) -> Iterator[None]:
        """Contents-manager errors, with the server's root dir taken out of messages."""
        try:
            yield
        except web.HTTPError as exc:
            message = exc.log_message or ""
            if exc.args:
                with contextlib.suppress(TypeError, ValueError):
                    message = message % exc.args
            for root in self._root_dirs:
                if root and root != "/":
                    message = message.replace(root.rstrip("/") + "/", "").replace(root, "")
            raise WorkspaceError(message, exc.status_code) from None

    async def target(self, source_name: str, target_path: str | None) -> tuple[str, str]:
        """Split where to write into (folder, file name); a folder target keeps the
        source's name.  Refuses paths that leave the root or are hidden."""
        if not target_path:
            return "", source_name
        normalized = normalize_path(target_path, what="target_path")
        if not normalized:
            return "", source_name
        cm = self.contents_manager
        if not getattr(cm, "allow_hidden", False) and any(
            part.startswith(".") for part in normalized.split("/")
        ):
            raise InvalidPath(f"The target_path {normalized!r} is hidden (a part starts with '.').")
        for part in normalized.split("/"):
            _check_name_length(part)
        with self.contents_errors():
            is_folder = target_path.endswith("/") or await ensure_async(cm.dir_exists(normalized))
        if is_folder:
            return normalized, source_name
        folder, _, name = normalized.rpartition("/")
        return folder, name

    async def _make_folders(self, folder: str) -> None:
        cm = self.contents_manager
        parts = folder.split("/") if folder else []
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            if await ensure_async(cm.dir_exists(path)):
                continue
            if await ensure_async(cm.file_exists(path)):
                raise InvalidRequest(f"{path!r} is a file, so it cannot be a folder.")
            await ensure_async(cm.save({"type": "directory"}, path))

    async def write_new(self, folder: str, name: str, model: dict[str, Any]) -> dict[str, Any]:
        """Save ``model`` as a new file ``name`` in ``folder`` (created when missing) and
        return its contents model without content."""
        cm = self.contents_manager
        async with self._lock:
            with self.contents_errors():
                await self._make_folders(folder)
                name = await ensure_async(cm.increment_filename(name, folder, insert="-"))
                _check_name_length(name)
                path = f"{folder}/{name}" if folder else name
                saved: dict[str, Any] = await ensure_async(cm.save(model, path))
        return saved

    async def overwrite(self, path: str, body: bytes) -> dict[str, Any]:
        """Write ``body`` as the file ``path`` (replacing it, creating missing folders),
        byte for byte; a notebook must be valid (:class:`InvalidNotebook`).  Returns the
        contents model without content."""
        for part in path.split("/"):
            _check_name_length(part, "the file system cannot hold it: too long a name")
        notebook = is_notebook_path(path)
        save_model, _ = await run_cpu(len(body), partial(file_model, notebook=notebook), body)
        cm = self.contents_manager
        folder = path.rpartition("/")[0]
        async with self._lock:
            with self.contents_errors():
                if await ensure_async(cm.dir_exists(path)):
                    raise InvalidRequest(f"{path!r} is a folder in the workspace, not a file.")
                await self._make_folders(folder)
                saved: dict[str, Any] = await ensure_async(cm.save(save_model, path))
        return saved

    async def clone_bytes(
        self, source_name: str, body: bytes, target_path: str | None, *, with_content: bool = True
    ) -> dict[str, Any]:
        """Validate and write ``body`` (from a file called ``source_name``); return the new
        file's contents model, with its content unless ``with_content`` is false.

        The content of the reply is built from the bytes just validated and written (the
        same model Jupyter's ``get`` would answer, without reading and validating the file
        a second time).
        """
        folder, name = await self.target(source_name, target_path)
        if not name:
            raise InvalidPath(f"The target_path {target_path!r} names no file.")
        notebook = is_notebook_path(source_name) or is_notebook_path(name)
        save_model, parsed = await run_cpu(len(body), partial(file_model, notebook=notebook), body)
        saved = await self.write_new(folder, name, save_model)
        if not with_content:
            return saved
        if saved.get("type") == "notebook" and parsed is not None:
            # What nbformat.read gives, minus its second validation.
            content = notebook_node(parsed)
            self.contents_manager.mark_trusted_cells(content, saved["path"])
            saved.update(content=content, format="json")
        else:
            saved.update(content=save_model["content"], format=save_model["format"])
            if saved.get("mimetype") is None and saved.get("type") == "file":
                saved["mimetype"] = DEFAULT_MIMETYPES[save_model["format"]]
        return saved


def _open_url_base(handler: BookstorePageHandler) -> str:
    """Where the Clone button sends the user afterwards: JupyterLab's or Notebook 7's
    view of the file, or else the raw file."""
    manager = getattr(handler.serverapp, "extension_manager", None)
    extensions = getattr(manager, "extensions", {}) if manager is not None else {}

    def enabled(name: str) -> bool:
        return bool(getattr(extensions.get(name), "enabled", False))

    default_url = str(getattr(handler.serverapp, "default_url", ""))
    if enabled("jupyterlab") and (default_url.startswith("/lab") or not enabled("notebook")):
        return f"{handler.base_url}lab/tree/"
    if enabled("notebook"):
        return f"{handler.base_url}notebooks/"
    return f"{handler.base_url}files/"


def _basename(key: str) -> str:
    return posixpath.basename(key.rstrip("/"))


class BookstoreCloneHandler(BookstorePageHandler):
    """``GET /bookstore/clone``: the landing page for cloning an object from the store."""

    def construct_template_params(
        self, s3_bucket: str, s3_object_key: str, info: ObjectInfo | None = None
    ) -> dict[str, Any]:
        """The landing page's parameters (the seed's name, kept)."""
        return {
            "s3_bucket": s3_bucket,
            "s3_key": s3_object_key,
            "s3_version_id": info.version_id if info else None,
            "is_latest": info.is_latest if info else None,
            "size": info.size if info else None,
            "last_modified": info.last_modified.strftime("%Y-%m-%d %H:%M:%S UTC") if info else "",
            "name": _basename(s3_object_key),
            "source": f"s3://{s3_bucket}/{s3_object_key}",
            "api_url": f"{self.base_url}api/bookstore/clone",
            "open_url_base": _open_url_base(self),
        }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Show what would be cloned, or say in words why it cannot be."""
        request = CloneRequest.from_json(
            {name: self.get_query_argument(name, None) for name in _CLONE_QUERY}
        )
        source = await self.bookstore.s3_clone_source()
        info = await source.describe(request)
        params = self.construct_template_params(
            request.s3_bucket or source.store.bucket, info.key, info
        )
        params["target_path"] = request.target_path or params["name"]
        self.finish(self.render_page("clone.html", **params))


_CLONE_QUERY = ("s3_bucket", "s3_key", "s3_version_id", "target_path")


class BookstoreCloneAPIHandler(BookstoreAPIHandler):
    """``POST /api/bookstore/clone``: clone an object (any version) into the workspace."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Clone and answer the contents model plus ``s3_path`` and ``versionID``."""
        request = CloneRequest.from_json(self.json_body())
        source = await self.bookstore.s3_clone_source()
        info, body = await source.fetch(request)
        bucket = request.s3_bucket or source.store.bucket
        model = await self.bookstore.workspace_writer.clone_bytes(
            _basename(request.s3_key), body, request.target_path, with_content=request.with_content
        )
        model["s3_path"] = f"s3://{bucket}/{info.key}"
        model["versionID"] = info.version_id
        self.finish_json(model)

    def build_post_model_response(self, model: dict[str, Any], target_path: str) -> dict[str, Any]:
        """The seed's helper, kept: ``model`` with its ``path`` set to ``target_path``."""
        return {**model, "path": target_path}


class BookstoreFSCloneHandler(BookstorePageHandler):
    """``GET /bookstore/fs-clone?relpath=``: the landing page for cloning a local file."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Show the file to clone, or say why it cannot be."""
        source = self.bookstore.fs_clone_source()
        relpath = self.get_query_argument("relpath", "")
        stat = await source.describe(relpath)
        name = posixpath.basename(relpath)
        self.finish(
            self.render_page(
                "fs_clone.html",
                relpath=relpath,
                name=name,
                target_path=self.get_query_argument("target_path", "") or name,
                size=stat.st_size,
                last_modified=_mtime(stat).strftime("%Y-%m-%d %H:%M:%S UTC"),
                api_url=f"{self.base_url}api/bookstore/fs-clone",
                open_url_base=_open_url_base(self),
            )
        )


class BookstoreFSCloneAPIHandler(BookstoreAPIHandler):
    """``POST /api/bookstore/fs-clone``: clone a file of ``fs_cloning_basedir``."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Clone ``{relpath, target_path?}`` and answer the new file's contents model."""
        data = self.json_body()
        if not isinstance(data, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        source = self.bookstore.fs_clone_source()
        relpath = data.get("relpath")
        target_path = _text_field(data, "target_path")
        with_content = _content_flag(data)
        body = await source.read(relpath)
        model = await self.bookstore.workspace_writer.clone_bytes(
            posixpath.basename(str(relpath)), body, target_path, with_content=with_content
        )
        model["relpath"] = relpath
        self.finish_json(model)


def clone_page_url(base_url: str, bucket: str, key: str, version_id: str | None = None) -> str:
    """The landing-page URL that clones ``key`` (a link to share)."""
    query = {"s3_bucket": bucket, "s3_key": key}
    if version_id:
        query["s3_version_id"] = version_id
    return f"{base_url}bookstore/clone?{urlencode(query, quote_via=quote)}"
