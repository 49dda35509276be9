"""``/api/bookstore/publish/{path}``: publish (PUT, and POST as bookstore 2.2 did),
describe (GET) and unpublish (DELETE) a notebook.

A publication belongs to the user who first published it (see
:mod:`bookstore.core.publish`); publishing an archived workspace version also needs
``read`` on ``contents``.  Publishes and unpublishes, refused ones too, are audited.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...core.publish import parse_publish_request
from ...keys import notebook_path
from .base import BookstoreAPIHandler

__all__ = ["BookstorePublishAPIHandler", "BookstorePublishHandler"]


class BookstorePublishHandler(BookstoreAPIHandler):
    """``/api/bookstore/publish/{path}``: publish (PUT), describe (GET), unpublish (DELETE)."""

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        """Publish the notebook in the body, or an archived version, at ``path``."""
        path = notebook_path(path)
        # The notebook, most of the body, is checked for nesting where it is serialised.
        body = await self.json_body(check_nesting=False)
        request = parse_publish_request(body, path, size=len(self.request.body))
        publisher = await self.services.publisher()
        source = None
        if request.version_id is not None:
            source = {"path": request.source_path, "version_id": request.version_id}
        async with self.audited("publish", key=publisher.key_for(path), source=source) as record:
            if request.version_id is not None:
                await self.require("read", "contents", "publishing a workspace version")
            result = await publisher.publish(path, request, self.actor)
            record.update(version_id=result["versionID"], bucket=result["bucket"])
        self.finish(self._with_clone_url(result))

    # bookstore 2.2 published with POST; keep old clients working.
    post = put

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Describe the latest published version of ``path`` (404 when not published;
        with ``optional=true``, ``{"published": false, "path"}`` instead, and no warning
        in the log: "not published" is the normal case of a status check)."""
        optional = self.query_flag("optional", default=False)
        publisher = await self.services.publisher()
        if not optional:
            self.finish_json(self._with_clone_url(await publisher.describe(path, self.actor)))
            return
        described = await publisher.describe_if_published(path, self.actor)
        if described is None:
            self.finish_json({"published": False, "path": notebook_path(path)})
            return
        self.finish_json({**self._with_clone_url(described), "published": True})

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        """Unpublish ``path``: it disappears from the catalog, its history stays."""
        publisher = await self.services.publisher()
        async with self.audited("unpublish", key=publisher.key_for(path)) as record:
            info = await publisher.unpublish(path, self.actor)
            record.update(version_id=info.version_id, bucket=publisher.store.bucket)
        self.set_status(204)
        self.finish()

    def _with_clone_url(self, result: dict[str, Any]) -> dict[str, Any]:
        """Add the landing-page link that clones exactly this published version."""
        url = self.clone_url(result["bucket"], result["key"], result["versionID"])
        return {**result, "clone_url": url}


#: bookstore 2.5's name of the handler.
BookstorePublishAPIHandler = BookstorePublishHandler
