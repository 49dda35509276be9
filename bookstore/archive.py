"""bookstore 2.x's ``bookstore.archive``; archiving lives in :mod:`bookstore.core.archive`
and the contents manager in :mod:`bookstore.server.contents_manager`."""

from .core.archive import ArchiveRecord
from .server.contents_manager import BookstoreContentsArchiver

__all__ = ["ArchiveRecord", "BookstoreContentsArchiver"]
