"""Restore: write a stored version over the workspace file, which makes it a new version.

The server (through Jupyter's contents manager, then its archiver) and the command line
(a file on disk, archived at once) write differently; :func:`restore` is the rest, for
both: find the version (also under an older name of the file), have it written, and
learn the id of the version the restored file now is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..errors import ObjectNotFound
from .history import History, VersionItem

__all__ = ["ArchiveState", "RestoreResult", "RestoreTarget", "Written", "restore"]

#: What became of the restored file's archive: ``archived`` (it is a version now),
#: ``pending`` (not within the time allowed; it waits in the spool) or ``off`` (its type
#: is not archived).
ArchiveState = Literal["archived", "pending", "off"]


@dataclass(frozen=True)
class Written:
    """What a :class:`RestoreTarget` did: the archive state, the new version id when the
    writer knows it, and the written file's contents model (the server's)."""

    archive: ArchiveState
    version_id: str | None = None
    model: dict[str, Any] | None = None


class RestoreTarget(Protocol):
    """Where a restored version is written."""

    async def write_restored(self, path: str, body: bytes) -> Written:
        """Write ``body`` over the workspace file ``path`` and archive it as a save."""
        ...


@dataclass(frozen=True)
class RestoreResult:
    """A finished restore: which version was restored and which version the file is now."""

    path: str
    restored_from: VersionItem
    version_id: str | None
    archive: ArchiveState
    model: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON reply (``model`` only when the writer gave one)."""
        document: dict[str, Any] = {
            "path": self.path,
            "restored_from": self.restored_from.to_dict(),
            "version_id": self.version_id,
            "archive": self.archive,
        }
        if self.model is not None:
            document["model"] = self.model
        return document


async def restore(
    history: History, path: str, version_id: str, target: RestoreTarget
) -> RestoreResult:
    """Write version ``version_id`` of workspace file ``path`` over the file through
    ``target``; the restored file becomes the file's newest version."""
    stored, saved_path = await history.find(path, version_id)
    written = await target.write_restored(path, stored.body)
    archive, new_version = written.archive, written.version_id
    if archive == "archived" and new_version is None:
        # Archived, but the writer did not learn the id (or the bytes equal the newest
        # version, which then is the restored state): the newest version is it.
        try:
            new_version = (await history.store.head(history.key_for(path))).version_id
        except ObjectNotFound:
            archive = "pending"
    return RestoreResult(
        path=path,
        restored_from=VersionItem.from_info(stored.info, saved_path),
        version_id=new_version,
        archive=archive,
        model=written.model,
    )
