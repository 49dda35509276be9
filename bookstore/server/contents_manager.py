"""bookstore 2.x's contents manager, kept for configurations that name it
(``c.ServerApp.contents_manager_class = BookstoreContentsArchiver``)."""

from __future__ import annotations

from jupyter_server.services.contents.filemanager import FileContentsManager

from ..core.archive import Archiver, ArchiveRecord

__all__ = ["BookstoreContentsArchiver"]


class BookstoreContentsArchiver(FileContentsManager):
    """A FileContentsManager that archives (bookstore 2.x's class).

    Archiving no longer needs a special contents manager: the extension archives the
    saves of whatever contents manager the server uses.  Configuring this class still
    works; :meth:`archive` queues a record by hand.
    """

    archiver: Archiver | None = None

    async def archive(self, record: ArchiveRecord) -> None:
        """Queue ``record`` as the next version of its path."""
        if self.archiver is None:
            raise RuntimeError("bookstore's extension is not loaded: nothing archives")
        await self.archiver.record_bytes(record.filepath, record.content.encode("utf-8"))
