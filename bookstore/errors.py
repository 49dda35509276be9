"""Exceptions raised by bookstore.

Every error that bookstore raises derives from :class:`BookstoreError`.  Storage
backends translate their own errors (botocore's ``ClientError``, ``OSError``, …)
into this hierarchy exactly once, chaining the original as ``__cause__``; nothing
above the store layer ever sees a backend-specific exception::

    BookstoreError
    ├── InvalidPath                 a path or key that could escape its prefix
    ├── InvalidRequest              a malformed body or parameter
    ├── UnsupportedContent          a body of a type the route does not take
    ├── InvalidNotebook             content that is not a valid notebook
    ├── NotAllowed                  a feature turned off, a bucket not allowed
    ├── WorkspaceError              Jupyter's contents manager refused (its status kept)
    └── StoreError                  anything a store operation can fail with
        ├── ObjectNotFound          no such key (or the key is deleted)
        │   └── VersionNotFound     the key exists but not that version id
        ├── BucketNotFound          the configured bucket does not exist
        ├── AccessDenied            credentials refused or not allowed
        └── StoreUnavailable        endpoint unreachable, timeouts, 5xx

HTTP handlers map these to status codes at the edge (see ``bookstore.handlers``).
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "BookstoreError",
    "BucketNotFound",
    "InvalidNotebook",
    "InvalidPath",
    "InvalidRequest",
    "NotAllowed",
    "ObjectNotFound",
    "StoreError",
    "StoreUnavailable",
    "UnsupportedContent",
    "VersionNotFound",
    "WorkspaceError",
]


class BookstoreError(Exception):
    """Base class of every bookstore error; ``str(err)`` is safe to show a user."""


class InvalidPath(BookstoreError, ValueError):
    """A notebook path or object key that is empty, absolute or escapes its prefix."""


class InvalidRequest(BookstoreError):
    """A request body or parameter that is malformed or missing."""


class UnsupportedContent(BookstoreError):
    """A body whose declared type the route does not accept (e.g. not a notebook)."""


class InvalidNotebook(BookstoreError):
    """Content that should be a notebook but is not valid JSON or nbformat."""


class NotAllowed(BookstoreError):
    """The server's configuration does not allow this (a feature off, a bucket not listed)."""


class WorkspaceError(BookstoreError):
    """Jupyter's contents manager refused to read or write a workspace file; ``status``
    is the HTTP status it gave."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class StoreError(BookstoreError):
    """A store operation failed."""


class ObjectNotFound(StoreError):
    """The key does not exist in the store (or its latest version is a delete marker)."""


class VersionNotFound(ObjectNotFound):
    """The key exists but has no version with the requested id."""


class BucketNotFound(StoreError):
    """The configured bucket does not exist."""


class AccessDenied(StoreError):
    """The store refused the credentials or the operation."""


class StoreUnavailable(StoreError):
    """The store could not be reached or answered with a server error."""
