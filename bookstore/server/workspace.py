"""The server's workspace: files read and written through Jupyter's contents manager.

:class:`WorkspaceWriter` writes what bookstore puts into the workspace (clones,
restores) the way a save from JupyterLab is written, so the contents manager's checks,
hooks (bookstore's archiver among them) and events all apply; it reads the current
file for diffs the same way.  Messages never show the server's root directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from functools import partial
from typing import Any

from jupyter_server.utils import ensure_async
from tornado import web

from ..core.clone import check_name_length
from ..core.diff import DiffSide
from ..errors import InvalidPath, InvalidRequest, ObjectNotFound, WorkspaceError
from ..keys import is_notebook_path, normalize_path
from ..notebooks import DEFAULT_MIMETYPES, file_model, notebook_node, run_cpu

__all__ = ["WorkspaceWriter"]


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
            check_name_length(part)
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
                check_name_length(name)
                path = f"{folder}/{name}" if folder else name
                saved: dict[str, Any] = await ensure_async(cm.save(model, path))
        return saved

    async def overwrite(self, path: str, body: bytes) -> dict[str, Any]:
        """Write ``body`` as the file ``path`` (replacing it, creating missing folders),
        byte for byte; a notebook must be valid (:class:`InvalidNotebook`).  Returns the
        contents model without content."""
        for part in path.split("/"):
            check_name_length(part, "the file system cannot hold it: too long a name")
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

    async def current_notebook(self, path: str) -> DiffSide:
        """The workspace notebook ``path`` as it is now (a side of a diff)."""
        cm = self.contents_manager
        with self.contents_errors():
            if not await ensure_async(cm.file_exists(path)):
                raise ObjectNotFound(f"There is no file {path!r} in the workspace.")
            model = await ensure_async(cm.get(path, content=True, type="file", format="text"))
        # The bytes as saved: parsed (without the trust flags Jupyter adds on reading, never
        # stored) where the diff runs, off the event loop.
        body = await run_cpu(len(model["content"]), str.encode, model["content"], "utf-8")
        return DiffSide.current(path, None, len(body), model.get("last_modified"), body)
