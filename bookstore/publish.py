"""bookstore 2.x's ``bookstore.publish``; publishing lives in :mod:`bookstore.core.publish`,
its handler in :mod:`bookstore.server.handlers.publish`."""

from .server.handlers.publish import BookstorePublishAPIHandler, BookstorePublishHandler

__all__ = ["BookstorePublishAPIHandler", "BookstorePublishHandler"]
