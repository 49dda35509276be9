"""``/api/bookstore/publish/{path}``: publish (PUT, and POST as bookstore 2.2 did),
describe (GET) and unpublish (DELETE) a notebook."""

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
        self.finish(self._with_clone_url(await publisher.publish(path, request)))

    # bookstore 2.2 published with POST; keep old clients working.
    post = put

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Describe the latest published version of ``path`` (404 when not published)."""
        publisher = await self.services.publisher()
        self.finish_json(self._with_clone_url(await publisher.describe(path)))

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        """Unpublish ``path``: it disappears from the catalog, its history stays."""
        publisher = await self.services.publisher()
        await publisher.unpublish(path)
        self.set_status(204)
        self.finish()

    def _with_clone_url(self, result: dict[str, Any]) -> dict[str, Any]:
        """Add the landing-page link that clones exactly this published version."""
        url = self.clone_url(result["bucket"], result["key"], result["versionID"])
        return {**result, "clone_url": url}


#: bookstore 2.5's name of the handler.
BookstorePublishAPIHandler = BookstorePublishHandler
