"""bookstore 2.x's ``bookstore.clone``; cloning lives in :mod:`bookstore.core.clone`, its
handlers in :mod:`bookstore.server.handlers.clone` and :mod:`bookstore.server.pages.clone`."""

from .server.handlers.clone import BookstoreCloneAPIHandler, BookstoreFSCloneAPIHandler
from .server.pages.clone import BookstoreCloneHandler, BookstoreFSCloneHandler

__all__ = [
    "BookstoreCloneAPIHandler",
    "BookstoreCloneHandler",
    "BookstoreFSCloneAPIHandler",
    "BookstoreFSCloneHandler",
]
