"""Exceptions raised by bookstore, each with the HTTP status it is answered with.

Every error that bookstore raises derives from :class:`BookstoreError`.  Storage
backends translate their own errors (botocore's ``ClientError``, ``OSError``, …)
into this hierarchy exactly once, chaining the original as ``__cause__``; nothing
above the store layer ever sees a backend-specific exception::

    BookstoreError              500  anything else
    ├── InvalidPath             400  a path or key that could escape its prefix
    ├── InvalidRequest          400  a malformed body or parameter
    │   └── DocumentTooDeep     400  a notebook or body nested too deeply
    ├── UnsupportedContent      415  a body of a type the route does not take
    ├── InvalidNotebook         422  content that is not a valid notebook
    ├── NotAllowed              403  a feature turned off, a bucket not allowed
    ├── Conflict                409  the resource is not in a state that allows it
    ├── WorkspaceError          (*)  Jupyter's contents manager refused (its status kept)
    └── StoreError              500  anything else a store operation can fail with
        ├── ObjectNotFound      404  no such key (or the key is deleted)
        │   └── VersionNotFound 404  the key exists but not that version id
        ├── BucketNotFound      503  the configured bucket does not exist
        ├── AccessDenied        503  credentials refused or not allowed
        └── StoreUnavailable    503  endpoint unreachable, timeouts, 5xx

The status lives on the class (:attr:`BookstoreError.http_status`; a
:class:`WorkspaceError` carries its own), so the REST handlers, the checkpoints of
Jupyter's contents API and the command line's exit statuses read it from one place
(:func:`status_for`).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "BookstoreError",
    "BucketNotFound",
    "Conflict",
    "DiffTooLarge",
    "DocumentTooDeep",
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
    "status_for",
]


class BookstoreError(Exception):
    """Base class of every bookstore error; ``str(err)`` is safe to show a user."""

    #: The HTTP status a request failing with this error is answered with.
    http_status: ClassVar[int] = 500


class InvalidPath(BookstoreError, ValueError):
    """A notebook path or object key that is empty, absolute or escapes its prefix."""

    http_status: ClassVar[int] = 400


class InvalidRequest(BookstoreError):
    """A request body or parameter that is malformed or missing."""

    http_status: ClassVar[int] = 400


class DocumentTooDeep(InvalidRequest):
    """A JSON document nested deeper than bookstore accepts (see ``notebooks.MAX_NESTING``)."""

    http_status: ClassVar[int] = 400


class DiffTooLarge(BookstoreError):
    """A diff the server could not finish (its worker process stopped)."""

    http_status: ClassVar[int] = 413


class UnsupportedContent(BookstoreError):
    """A body whose declared type the route does not accept (e.g. not a notebook)."""

    http_status: ClassVar[int] = 415


class InvalidNotebook(BookstoreError):
    """Content that should be a notebook but is not valid JSON or nbformat."""

    http_status: ClassVar[int] = 422


class NotAllowed(BookstoreError):
    """The server's configuration does not allow this (a feature off, a bucket not listed)."""

    http_status: ClassVar[int] = 403


class Conflict(BookstoreError):
    """The request does not fit the resource's current state (e.g. cancelling a finished
    run, or editing a schedule someone else just changed)."""

    http_status: ClassVar[int] = 409


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

    http_status: ClassVar[int] = 404


class VersionNotFound(ObjectNotFound):
    """The key exists but has no version with the requested id."""


class BucketNotFound(StoreError):
    """The configured bucket does not exist."""

    http_status: ClassVar[int] = 503


class AccessDenied(StoreError):
    """The store refused the credentials or the operation."""

    http_status: ClassVar[int] = 503


class StoreUnavailable(StoreError):
    """The store could not be reached or answered with a server error."""

    http_status: ClassVar[int] = 503


def status_for(error: BookstoreError) -> int:
    """The HTTP status ``error`` is reported with."""
    if isinstance(error, WorkspaceError):
        return error.status
    return error.http_status
