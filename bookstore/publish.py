"""Publishing: put a polished notebook under the published prefix for others to clone.

``PUT /api/bookstore/publish/{path}`` takes either the notebook itself
(``{"type": "notebook", "content": {...}}``) or names an archived version to publish
server-side (``{"version_id": "...", "source_path"?: "..."}``).  Every publish is a new
version of ``{published_prefix}/{path}``; ``DELETE`` unpublishes (the history stays).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .clone import clone_page_url
from .errors import (
    InvalidPath,
    InvalidRequest,
    NotAllowed,
    ObjectNotFound,
    UnsupportedContent,
)
from .handlers import BookstoreAPIHandler
from .notebook_files import NOTEBOOK_CONTENT_TYPE, is_notebook_path, notebook_bytes, run_cpu
from .s3_paths import normalize_path, s3_key
from .stores.base import ObjectInfo, ObjectStore

__all__ = [
    "BookstorePublishHandler",
    "PublishRequest",
    "Publisher",
    "notebook_path",
    "parse_publish_request",
]


def notebook_path(path: str, *, what: str = "notebook path") -> str:
    """Normalise a notebook path from a URL or body; refuse absolute, escaping or
    non-notebook paths with :class:`InvalidPath`."""
    if not isinstance(path, str) or not path.strip("/"):
        raise InvalidPath(f"A {what} is required, e.g. 'reports/summary.ipynb'.")
    if path.startswith("/"):
        raise InvalidPath(f"The {what} {path!r} must be relative, not absolute.")
    normalized = normalize_path(path, what=what)
    if not is_notebook_path(normalized):
        raise InvalidPath(f"The {what} {normalized!r} does not name a notebook (.ipynb).")
    return normalized


@dataclass(frozen=True)
class PublishRequest:
    """A parsed publish body: the notebook, or an archived version to publish."""

    content: Any = None
    version_id: str | None = None
    source_path: str | None = None
    #: Size of the request body, in bytes.
    size: int = 0


def parse_publish_request(body: Any, path: str, *, size: int = 0) -> PublishRequest:
    """Check the shape of a publish body (already parsed JSON).

    Raises :class:`InvalidRequest` (400) for a wrong shape and
    :class:`UnsupportedContent` (415) for a ``type`` other than ``"notebook"``.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if "version_id" in body:
        version_id = body["version_id"]
        if not isinstance(version_id, str) or not version_id or len(version_id) > 1024:
            raise InvalidRequest("'version_id' must be a non-empty string.")
        source = body.get("source_path", path)
        return PublishRequest(
            version_id=version_id, source_path=notebook_path(source, what="source_path")
        )
    kind = body.get("type")
    if kind is None or "content" not in body:
        raise InvalidRequest(
            'The body must be {"type": "notebook", "content": <notebook>} '
            'or {"version_id": "<archived version>"}.'
        )
    if kind != "notebook":
        raise UnsupportedContent(f"Only notebooks can be published, not type {kind!r}.")
    return PublishRequest(content=body["content"], size=size)


class Publisher:
    """Publish, describe and unpublish notebooks in one store."""

    def __init__(
        self, store: ObjectStore, *, published_prefix: str, workspace_prefix: str | None
    ) -> None:
        """``workspace_prefix`` is None when archiving has no usable prefix (then no
        archived version can be published)."""
        self.store = store
        self.published_prefix = published_prefix
        self.workspace_prefix = workspace_prefix

    def key_for(self, path: str) -> str:
        """The published key of notebook ``path``."""
        return s3_key(self.published_prefix, notebook_path(path))

    def result(self, key: str, version_id: str, *, etag: str, **extra: Any) -> dict[str, Any]:
        """The reply of a publish: the seed's ``s3_path``/``versionID`` plus details.

        ``etag`` is the store's content hash of the published version, the one version
        listings report: a workspace version with the same ``etag`` has the same bytes.
        """
        path = key[len(self.published_prefix.strip("/")) :].strip("/")
        return {
            "s3_path": f"s3://{self.store.bucket}/{key}",
            "versionID": version_id,
            "bucket": self.store.bucket,
            "key": key,
            "path": path,
            "etag": etag,
            **extra,
        }

    async def publish(self, path: str, request: PublishRequest) -> dict[str, Any]:
        """Publish ``request`` at ``path``; every call makes a new version."""
        key = self.key_for(path)
        if request.version_id is not None:
            return await self._publish_version(key, request)
        body = await run_cpu(request.size, notebook_bytes, request.content)
        version_id = await self.store.put(
            key,
            body,
            content_type=NOTEBOOK_CONTENT_TYPE,
            metadata={"sha256": hashlib.sha256(body).hexdigest()},
        )
        # The ETag both stores give a single-part put: the MD5 hex of the body (no HEAD).
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        return self.result(key, version_id, etag=etag, size=len(body))

    async def _publish_version(self, key: str, request: PublishRequest) -> dict[str, Any]:
        """Copy an archived version server-side (its bytes were validated when saved)."""
        assert request.version_id is not None
        assert request.source_path is not None
        if not self.workspace_prefix:
            raise NotAllowed(
                "Publishing an archived version needs a usable "
                "BookstoreSettings.workspace_prefix; send the notebook's content instead."
            )
        source_key = s3_key(self.workspace_prefix, request.source_path)
        source = await self.store.head(source_key, request.version_id)
        version_id = await self.store.copy(source_key, key, version_id=source.version_id)
        # A server-side copy keeps the source's bytes, hence its ETag.
        return self.result(
            key,
            version_id,
            etag=source.etag,
            size=source.size,
            source={"path": request.source_path, "version_id": source.version_id},
        )

    async def info(self, path: str) -> ObjectInfo:
        """The latest published version of ``path``; :class:`ObjectNotFound` if unpublished."""
        key = self.key_for(path)
        try:
            return await self.store.head(key)
        except ObjectNotFound:
            raise ObjectNotFound(f"{notebook_path(path)!r} is not published.") from None

    async def unpublish(self, path: str) -> None:
        """Hide the published notebook; its versions stay readable."""
        await self.info(path)
        await self.store.delete(self.key_for(path))


class BookstorePublishHandler(BookstoreAPIHandler):
    """``/api/bookstore/publish/{path}``: publish (PUT), describe (GET), unpublish (DELETE)."""

    async def publisher(self) -> Publisher:
        """A :class:`Publisher` on the started store (403 when publishing is off)."""
        return await self.bookstore.publisher()

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        """Publish the notebook in the body, or an archived version, at ``path``."""
        path = notebook_path(path)
        request = parse_publish_request(self.json_body(), path, size=len(self.request.body))
        publisher = await self.publisher()
        self.finish(self._with_clone_url(await publisher.publish(path, request)))

    def _with_clone_url(self, result: dict[str, Any]) -> dict[str, Any]:
        """Add the landing-page link that clones exactly this published version."""
        url = clone_page_url(self.base_url, result["bucket"], result["key"], result["versionID"])
        return {**result, "clone_url": url}

    # bookstore 2.2 published with POST; keep old clients working.
    post = put

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Describe the latest published version of ``path`` (404 when not published)."""
        publisher = await self.publisher()
        info = await publisher.info(path)
        assert info.version_id is not None
        result = publisher.result(
            info.key,
            info.version_id,
            etag=info.etag,
            size=info.size,
            last_modified=info.last_modified,
        )
        self.finish_json(self._with_clone_url(result))

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        """Unpublish ``path``: it disappears from the catalog, its history stays."""
        publisher = await self.publisher()
        await publisher.unpublish(path)
        self.set_status(204)
        self.finish()
