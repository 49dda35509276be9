"""What a stored version records about itself, and how one more version is added.

Every archived version carries object metadata: the sha256 of its bytes (so an identical
save makes no new version), the save time, and, once its file was renamed, its lineage:

* ``renamed-from``: the old path (percent-encoded) whose history it continues;
* ``renamed-from-version``: the version of the old path it continues;
* ``lineage-start``: the id of the first version under the new name (absent on that
  version itself, where :func:`lineage_of` fills it in).

:func:`put_version` is the one way a version is added, by the archiver of a server and
by the writers without one (:func:`archive_version`: ``jupyter bookstore restore``,
papermill), so both carry the lineage forward alike.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import ObjectNotFound
from ...notebooks import NOTEBOOK_CONTENT_TYPE
from ...stores.base import FileBody, ObjectStore
from ...timestamps import format_epoch

__all__ = [
    "CONTENT_TYPES",
    "LINEAGE_FIELDS",
    "LINEAGE_START_FIELD",
    "RENAMED_FROM_FIELD",
    "RENAMED_FROM_VERSION_FIELD",
    "SAVED_AT_FIELD",
    "SHA256_FIELD",
    "LatestVersion",
    "archive_version",
    "archived_type",
    "file_type",
    "lineage_of",
    "put_version",
    "stored_latest",
]

#: Content types stored with archived versions, by Jupyter contents type.
CONTENT_TYPES = {"notebook": NOTEBOOK_CONTENT_TYPE}
#: The metadata field holding the sha256 of an archived version's bytes.
SHA256_FIELD = "sha256"
#: The metadata field holding the save time.
SAVED_AT_FIELD = "saved-at"
#: Metadata of a version whose file was renamed: the old path (percent-encoded) ...
RENAMED_FROM_FIELD = "renamed-from"
#: ... the version of the old path it continues ...
RENAMED_FROM_VERSION_FIELD = "renamed-from-version"
#: ... and the id of the first version under the new name (absent on that version itself).
LINEAGE_START_FIELD = "lineage-start"
LINEAGE_FIELDS = (RENAMED_FROM_FIELD, RENAMED_FROM_VERSION_FIELD, LINEAGE_START_FIELD)


def lineage_of(info: Any) -> dict[str, str]:
    """The lineage fields of a stored version (an :class:`ObjectInfo` with metadata),
    with ``lineage-start`` filled in when the version is the first under its name."""
    lineage = {name: info.metadata[name] for name in LINEAGE_FIELDS if name in info.metadata}
    if RENAMED_FROM_FIELD in lineage and LINEAGE_START_FIELD not in lineage:
        lineage[LINEAGE_START_FIELD] = str(info.version_id)
    return lineage


@dataclass
class LatestVersion:
    """What is known of a key's newest version: its content hash (None: no version) and
    the lineage the next version carries forward."""

    sha: str | None
    lineage: dict[str, str] = field(default_factory=dict)
    #: Its version id, when known.
    version_id: str | None = None


def file_type(path: str) -> str:
    """The Jupyter contents type a path is archived as: ``notebook`` or ``file`` (as
    Jupyter's contents manager decides it, by a lower-case ``.ipynb``)."""
    return "notebook" if path.endswith(".ipynb") else "file"


def archived_type(path: str, file_types: list[str] | set[str]) -> bool:
    """True when saves of ``path`` are archived under ``archive_file_types``."""
    return file_type(path) in file_types


async def stored_latest(store: ObjectStore, key: str) -> LatestVersion:
    """The content hash and lineage of ``key``'s latest version, as the store has it."""
    try:
        info = await store.head(key)
    except ObjectNotFound:
        return LatestVersion(None)
    return LatestVersion(info.metadata.get(SHA256_FIELD), lineage_of(info), info.version_id)


async def put_version(
    store: ObjectStore,
    key: str,
    path: str,
    body: bytes | FileBody,
    *,
    sha: str,
    saved_at: float,
    latest: LatestVersion,
    metadata: Mapping[str, str] | None = None,
) -> str:
    """Put ``body`` (bytes, or bytes waiting in a file) as the next version of ``key``
    (the file ``path``), carrying the lineage of ``latest`` (bookstore's own fields win
    over ``metadata``)."""
    content_type = CONTENT_TYPES.get(file_type(path), "application/octet-stream")
    fields = {
        **(metadata or {}),
        SHA256_FIELD: sha,
        SAVED_AT_FIELD: format_epoch(saved_at),
        **latest.lineage,
    }
    if isinstance(body, FileBody):
        return await store.put_file(key, body, content_type=content_type, metadata=fields)
    return await store.put(key, body, content_type=content_type, metadata=fields)


async def archive_version(
    store: ObjectStore,
    key: str,
    path: str,
    body: bytes,
    *,
    saved_at: float | None = None,
    metadata: Mapping[str, str] | None = None,
) -> str | None:
    """Archive ``body`` as the next version of ``key`` (the file ``path``) the way the
    archiver does, for writers outside a server (e.g. ``jupyter bookstore restore``),
    with extra object ``metadata`` (ASCII).  Content identical to the latest version
    makes no new version: the result is then ``None``, else the new version id."""
    sha = hashlib.sha256(body).hexdigest()
    latest = await stored_latest(store, key)
    if sha == latest.sha:
        return None
    when = time.time() if saved_at is None else saved_at
    return await put_version(
        store, key, path, body, sha=sha, saved_at=when, latest=latest, metadata=metadata
    )
