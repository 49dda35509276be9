"""Publishing: put a polished notebook under the published prefix for others to clone.

A publish takes either the notebook itself (``{"type": "notebook", "content": {...}}``)
or names an archived version to publish server-side (``{"version_id": "...",
"source_path"?: "..."}``).  Every publish is a new version of
``{published_prefix}/{path}``; unpublishing hides it (the history stays).

A publication has an owner, the user who first published at its path (kept in each
version's metadata, :data:`~bookstore.core.access.OWNER_FIELD`, with who published that
version).  Only the owner, the ``publication_editors`` and JupyterHub admins may publish
over it or unpublish it (:func:`~bookstore.core.access.check_may_manage`); once
unpublished, the path is free again.  The check reads the latest version's metadata
first (one HEAD, concurrent with serialising the notebook); two users publishing at one
new path at the same instant are not told apart (S3 has no portable conditional put).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest, NotAllowed, ObjectNotFound, UnsupportedContent
from ..keys import check_version_id, notebook_path, s3_key
from ..notebooks import NOTEBOOK_CONTENT_TYPE, notebook_bytes, run_cpu
from ..stores.base import ObjectInfo, ObjectStore
from .access import (
    OWNER_FIELD,
    PUBLISHED_BY_FIELD,
    Actor,
    check_may_manage,
    name_field,
    name_in,
)
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
        self,
        store: ObjectStore,
        *,
        published_prefix: str,
        workspace_prefix: str | None,
        editors: Sequence[str] = (),
    ) -> None:
        """``workspace_prefix`` is None when archiving has no usable prefix (then no
        archived version can be published); ``editors`` may manage every publication
        (``BookstoreSettings.publication_editors``)."""
        self.store = store
        self.published_prefix = published_prefix
        self.workspace_prefix = workspace_prefix
        self.editors = tuple(editors)

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

    async def publish(self, path: str, request: PublishRequest, actor: Actor) -> dict[str, Any]:
        """Publish ``request`` at ``path`` for ``actor``; every call makes a new version.
        :class:`NotAllowed` (403, naming the owner) when ``actor`` may not manage it."""
        key = self.key_for(path)
        if request.version_id is not None:
            return await self._publish_version(key, path, request, actor)
        current, body = await asyncio.gather(
            self._current(key), run_cpu(request.size, notebook_bytes, request.content)
        )
        owner = self._check(current, path, actor)
        metadata = {SHA256_FIELD: hashlib.sha256(body).hexdigest(), **_names(owner, actor)}
        version_id = await self.store.put(
            key, body, content_type=NOTEBOOK_CONTENT_TYPE, metadata=metadata
        )
        # The ETag both stores give a single-part put: the MD5 hex of the body (no HEAD).
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        return self.result(
            key, version_id, etag=etag, size=len(body), owner=owner, published_by=actor.username
        )

    async def _publish_version(
        self, key: str, path: str, request: PublishRequest, actor: Actor
    ) -> dict[str, Any]:
        """Copy an archived version server-side (its bytes were validated when saved)."""
        assert request.version_id is not None
        assert request.source_path is not None
        if not self.workspace_prefix:
            raise NotAllowed(
                "Publishing an archived version needs a usable "
                "BookstoreSettings.workspace_prefix; send the notebook's content instead."
            )
        source_key = s3_key(self.workspace_prefix, request.source_path)
        current, source = await asyncio.gather(
            self._current(key), self.store.head(source_key, request.version_id)
        )
        owner = self._check(current, path, actor)
        version_id = await self.store.copy(
            source_key,
            key,
            version_id=source.version_id,
            metadata={**source.metadata, **_names(owner, actor)},
            content_type=source.content_type or NOTEBOOK_CONTENT_TYPE,
        )
        # A server-side copy keeps the source's bytes, hence its ETag.
        return self.result(
            key,
            version_id,
            etag=source.etag,
            size=source.size,
            owner=owner,
            published_by=actor.username,
            source={"path": request.source_path, "version_id": source.version_id},
        )

    async def _current(self, key: str) -> ObjectInfo | None:
        try:
            return await self.store.head(key)
        except ObjectNotFound:
            return None

    def _check(self, current: ObjectInfo | None, path: str, actor: Actor) -> str:
        """The owner the new version keeps (the current one, else ``actor``); refuses
        when ``actor`` may not manage the publication."""
        owner = name_in(current.metadata, OWNER_FIELD) if current is not None else None
        check_may_manage(actor, owner, notebook_path(path), self.editors)
        return owner or actor.username

    async def info(self, path: str) -> ObjectInfo:
        """The latest published version of ``path``; :class:`ObjectNotFound` if unpublished."""
        key = self.key_for(path)
        try:
            return await self.store.head(key)
        except ObjectNotFound:
            raise ObjectNotFound(f"{notebook_path(path)!r} is not published.") from None

    async def describe_if_published(self, path: str, actor: Actor) -> dict[str, Any] | None:
        """:meth:`describe`, or None when ``path`` is not published (never, or
        unpublished since)."""
        info = await self._current(self.key_for(path))
        return None if info is None else self._describe(info, path, actor)

    async def describe(self, path: str, actor: Actor) -> dict[str, Any]:
        """The latest published version of ``path`` as a publish reply, with its time, its
        owner and whether ``actor`` may manage it; :class:`ObjectNotFound` if unpublished."""
        return self._describe(await self.info(path), path, actor)

    def _describe(self, info: ObjectInfo, path: str, actor: Actor) -> dict[str, Any]:
        try:
            self._check(info, path, actor)
            may_manage = True
        except NotAllowed:
            may_manage = False
        return self.result(
            info.key,
            info.version_id,
            etag=info.etag,
            size=info.size,
            last_modified=info.last_modified,
            owner=name_in(info.metadata, OWNER_FIELD),
            published_by=name_in(info.metadata, PUBLISHED_BY_FIELD),
            may_manage=may_manage,
        )

    async def unpublish(self, path: str, actor: Actor) -> ObjectInfo:
        """Hide the published notebook (its versions stay readable) for ``actor``;
        answers the version that was latest.  :class:`NotAllowed` when ``actor`` may not
        manage it."""
        info = await self.info(path)
        self._check(info, path, actor)
        await self.store.delete(self.key_for(path))
        return info


def _names(owner: str, actor: Actor) -> dict[str, str]:
    return {OWNER_FIELD: name_field(owner), PUBLISHED_BY_FIELD: name_field(actor.username)}
