"""``POST /api/bookstore/clone`` and ``POST /api/bookstore/fs-clone``: clone into the
workspace and answer the contents model of the new file.

Both write a workspace file, so Jupyter's authorizer must allow ``write`` on
``contents`` as well; a store clone reads only keys of ``clone_allowed_prefixes``.  An
existing file is never overwritten (``x.ipynb`` becomes ``x-1.ipynb``); the landing
pages that lead here are in :mod:`bookstore.server.pages.clone`.  Each clone, and each
refused one, is in the audit trail.
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
        bucket = request.s3_bucket or source.store.bucket
        async with self.audited(
            "clone", bucket=bucket, key=request.s3_key, version_id=request.s3_version_id
        ) as record:
            await self.require("write", "contents", "cloning into the workspace")
            info, body = await source.fetch(request)
            model = await self.services.writer.clone_bytes(
                object_name(request.s3_key),
                body,
                request.target_path,
                with_content=request.with_content,
            )
            record.update(key=info.key, version_id=info.version_id, path=model["path"])
        model["s3_path"] = f"s3://{bucket}/{info.key}"
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
        async with self.audited("fs-clone", source={"relpath": str(request.relpath)}) as record:
            await self.require("write", "contents", "cloning into the workspace")
            content = await source.read(request.relpath)
            model = await self.services.writer.clone_bytes(
                request.name, content, request.target_path, with_content=request.with_content
            )
            record.update(path=model["path"])
        model["relpath"] = request.relpath
        self.finish_json(model)
