"""Publishing: put a polished notebook under the published prefix for others to clone.

A publish takes either the notebook itself (``{"type": "notebook", "content": {...}}``)
or names an archived version to publish server-side (``{"version_id": "...",
"source_path"?: "..."}``).  Every publish is a new version of
``{published_prefix}/{path}``; unpublishing hides it (the history stays).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest, NotAllowed, ObjectNotFound, UnsupportedContent
from ..keys import check_version_id, notebook_path, s3_key
from ..notebooks import NOTEBOOK_CONTENT_TYPE, notebook_bytes, run_cpu
from ..stores.base import ObjectInfo, ObjectStore
from .archive.lineage import SHA256_FIELD

__all__ = ["PublishRequest", "Publisher", "parse_publish_request"]


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
        if not isinstance(version_id, str) or not version_id:
            raise InvalidRequest("'version_id' must be a non-empty string.")
        source = body.get("source_path", path)
        return PublishRequest(
            version_id=check_version_id(version_id),
            source_path=notebook_path(source, what="source_path"),
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

    def result(
        self, key: str, version_id: str | None, *, etag: str, **extra: Any
    ) -> dict[str, Any]:
        """The reply of a publish: bookstore 2.x's ``s3_path``/``versionID`` plus details.

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
            metadata={SHA256_FIELD: hashlib.sha256(body).hexdigest()},
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

    async def describe(self, path: str) -> dict[str, Any]:
        """The latest published version of ``path`` as a publish reply, with its time;
        :class:`ObjectNotFound` if unpublished."""
        info = await self.info(path)
        return self.result(
            info.key,
            info.version_id,
            etag=info.etag,
            size=info.size,
            last_modified=info.last_modified,
        )

    async def unpublish(self, path: str) -> None:
        """Hide the published notebook; its versions stay readable."""
        await self.info(path)
        await self.store.delete(self.key_for(path))
