"""HTTP handlers: thin adapters between Jupyter's web layer and bookstore's modules.

Every handler requires Jupyter's authentication and authorization (resource
``"bookstore"``).  Bookstore errors raised below the handlers become JSON errors
``{"message", "reason"}`` with the status of :data:`ERROR_STATUS`, never a 500
with a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from .errors import (
    AccessDenied,
    BookstoreError,
    BucketNotFound,
    InvalidNotebook,
    InvalidPath,
    InvalidRequest,
    NotAllowed,
    ObjectNotFound,
    StoreUnavailable,
    UnsupportedContent,
    WorkspaceError,
)

if TYPE_CHECKING:
    from .app import BookstoreApp

__all__ = [
    "AUTH_RESOURCE",
    "ArchiveStatusHandler",
    "BookstoreAPIHandler",
    "BookstoreHandlerMixin",
    "BookstoreVersionHandler",
    "default_handlers",
    "load_jupyter_server_extension",
]

#: The resource name handed to Jupyter's authorizer for every bookstore route.
AUTH_RESOURCE = "bookstore"

#: HTTP status for each bookstore error (most specific class first).
ERROR_STATUS: list[tuple[type[BookstoreError], int]] = [
    (InvalidPath, 400),
    (InvalidRequest, 400),
    (NotAllowed, 403),
    (UnsupportedContent, 415),
    (InvalidNotebook, 422),
    (ObjectNotFound, 404),
    (BucketNotFound, 503),
    (AccessDenied, 503),
    (StoreUnavailable, 503),
    (BookstoreError, 500),
]


def json_default(value: Any) -> Any:
    """JSON for what ``json`` cannot encode: datetimes (contents models) as ISO 8601 in
    UTC with a ``Z``, as Jupyter's own contents API writes them."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def status_for(error: BookstoreError) -> int:
    """The HTTP status a bookstore error is reported with."""
    if isinstance(error, WorkspaceError):
        return error.status
    return next(status for cls, status in ERROR_STATUS if isinstance(error, cls))


class BookstoreHandlerMixin(ExtensionHandlerMixin):
    """Shared by bookstore's API and page handlers: the app, and errors with their status."""

    auth_resource = AUTH_RESOURCE

    @property
    def bookstore(self) -> BookstoreApp:
        """The running :class:`~bookstore.app.BookstoreApp`."""
        return cast("BookstoreApp", self.extensionapp)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Report a :class:`BookstoreError` with its own status and message."""
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], BookstoreError):
            error = exc_info[1]
            status_code = status_for(error)
            http_error = web.HTTPError(status_code, str(error))
            kwargs["exc_info"] = (web.HTTPError, http_error, exc_info[2])
        super().send_error(status_code, **kwargs)  # type: ignore[misc]

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log expected bookstore errors in one line, without a traceback."""
        if isinstance(value, BookstoreError):
            request = self.request  # type: ignore[attr-defined]
            self.log.warning("bookstore: %s %s: %s", request.method, request.path, value)
            return
        super().log_exception(typ, value, tb)  # type: ignore[misc]


class BookstoreAPIHandler(BookstoreHandlerMixin, APIHandler):
    """Base of bookstore's JSON handlers: access to the app, errors as JSON."""

    def json_body(self) -> Any:
        """The request body parsed as JSON; :class:`InvalidRequest` when it is not."""
        body = self.request.body
        if not body:
            raise InvalidRequest("The request has no body; send a JSON object.")
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidRequest(f"The request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise InvalidRequest("The request body is nested too deeply.") from None

    def finish_json(self, model: Any, status: int = 200) -> None:
        """Answer ``model`` as JSON (dates in ISO 8601)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(model, default=json_default))


class BookstoreVersionHandler(BookstoreAPIHandler):
    """``GET /api/bookstore``: release, feature flags and store state.

    Frontends use it for feature detection.
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer ``{"release", "features", "store"}``."""
        self.finish(await self.bookstore.features())


class ArchiveStatusHandler(BookstoreAPIHandler):
    """``GET /api/bookstore/archive``: pending and failed archives, the last error."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer the archiver's state."""
        if self.bookstore.archiver is not None:
            await self.bookstore.archiver.start()
        self.finish(self.bookstore.archive_status())


default_handlers: list[tuple[str, type[web.RequestHandler]]] = [
    (r"/api/bookstore/?", BookstoreVersionHandler),
    (r"/api/bookstore/archive/?", ArchiveStatusHandler),
]


def load_jupyter_server_extension(nb_app: Any) -> None:
    """Load bookstore into a running server (the seed's entry point; kept for old configs).

    Current Jupyter finds the extension by itself; this only delegates to
    :class:`~bookstore.app.BookstoreApp`.
    """
    from .app import BookstoreApp

    BookstoreApp._load_jupyter_server_extension(nb_app)
