"""The clone landing pages: ``GET /bookstore/clone`` and ``GET /bookstore/fs-clone``
show what would be cloned, with a Clone button that calls the clone API and then opens
the new file (or say in words why it cannot be cloned)."""

from __future__ import annotations

import posixpath
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...core.clone import CloneRequest, modified_time, object_name
from ...stores.base import ObjectInfo
from . import BookstorePageHandler

__all__ = ["BookstoreCloneHandler", "BookstoreFSCloneHandler"]

#: How the pages show a time.
_PAGE_TIME = "%Y-%m-%d %H:%M:%S UTC"


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


class BookstoreCloneHandler(BookstorePageHandler):
    """``GET /bookstore/clone``: the landing page for cloning an object from the store."""

    def construct_template_params(
        self, s3_bucket: str, s3_object_key: str, info: ObjectInfo | None = None
    ) -> dict[str, Any]:
        """The landing page's parameters (bookstore 2.x's name, kept)."""
        return {
            "s3_bucket": s3_bucket,
            "s3_key": s3_object_key,
            "s3_version_id": info.version_id if info else None,
            "is_latest": info.is_latest if info else None,
            "size": info.size if info else None,
            "last_modified": info.last_modified.strftime(_PAGE_TIME) if info else "",
            "name": object_name(s3_object_key),
            "source": f"s3://{s3_bucket}/{s3_object_key}",
            "api_url": f"{self.base_url}api/bookstore/clone",
            "open_url_base": _open_url_base(self),
        }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Show what would be cloned, or say in words why it cannot be."""
        request = CloneRequest.from_query(self.query_value)
        source = await self.services.s3_clone_source()
        info = await source.describe(request)
        params = self.construct_template_params(
            request.s3_bucket or source.store.bucket, info.key, info
        )
        params["target_path"] = request.target_path or params["name"]
        self.finish(self.render_page("clone.html", **params))


class BookstoreFSCloneHandler(BookstorePageHandler):
    """``GET /bookstore/fs-clone?relpath=``: the landing page for cloning a local file."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Show the file to clone, or say why it cannot be."""
        source = self.services.fs_clone_source()
        relpath = self.query_value("relpath") or ""
        stat = await source.describe(relpath)
        name = posixpath.basename(relpath)
        self.finish(
            self.render_page(
                "fs_clone.html",
                relpath=relpath,
                name=name,
                target_path=self.query_value("target_path") or name,
                size=stat.st_size,
                last_modified=modified_time(stat).strftime(_PAGE_TIME),
                api_url=f"{self.base_url}api/bookstore/fs-clone",
                open_url_base=_open_url_base(self),
            )
        )
