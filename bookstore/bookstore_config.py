"""bookstore 2.x's ``bookstore.bookstore_config``; the settings live in :mod:`bookstore.config`."""

from .config import BookstoreSettings, validate_bookstore

__all__ = ["BookstoreSettings", "validate_bookstore"]
