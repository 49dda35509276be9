"""``POST /api/bookstore/clone`` and ``POST /api/bookstore/fs-clone``: clone into the
workspace and answer the contents model of the new file.

An existing file is never overwritten (``x.ipynb`` becomes ``x-1.ipynb``); the landing
pages that lead here are in :mod:`bookstore.server.pages.clone`.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...core.clone import CloneRequest, FileSystemCloneRequest, object_name
from ...errors import InvalidRequest
from .base import BookstoreAPIHandler

__all__ = ["BookstoreCloneAPIHandler", "BookstoreFSCloneAPIHandler"]


class BookstoreCloneAPIHandler(BookstoreAPIHandler):
    """``POST /api/bookstore/clone``: clone an object (any version) into the workspace."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Clone ``{s3_bucket?, s3_key, s3_version_id?, target_path?}``; answer the
        contents model plus ``s3_path`` and ``versionID``."""
        request = CloneRequest.from_json(await self.json_body())
        source = await self.services.s3_clone_source()
        info, body = await source.fetch(request)
        model = await self.services.writer.clone_bytes(
            object_name(request.s3_key),
            body,
            request.target_path,
            with_content=request.with_content,
        )
        model["s3_path"] = f"s3://{request.s3_bucket or source.store.bucket}/{info.key}"
        model["versionID"] = info.version_id
        self.finish_json(model)

    def build_post_model_response(self, model: dict[str, Any], target_path: str) -> dict[str, Any]:
        """bookstore 2.x's helper, kept: ``model`` with its ``path`` set to ``target_path``."""
        return {**model, "path": target_path}


class BookstoreFSCloneAPIHandler(BookstoreAPIHandler):
    """``POST /api/bookstore/fs-clone``: clone a file of ``fs_cloning_basedir``."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Clone ``{relpath, target_path?}`` and answer the new file's contents model."""
        body = await self.json_body()
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        source = self.services.fs_clone_source()  # 403 when off, before the fields
        request = FileSystemCloneRequest.from_json(body)
        content = await source.read(request.relpath)
        model = await self.services.writer.clone_bytes(
            request.name, content, request.target_path, with_content=request.with_content
        )
        model["relpath"] = request.relpath
        self.finish_json(model)
