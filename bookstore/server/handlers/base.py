"""The base of bookstore's handlers: authorization, the services, and errors mapped once.

Every handler requires Jupyter's authentication and authorization (resource
``"bookstore"``).  A :class:`~bookstore.errors.BookstoreError` raised below the handlers
becomes a JSON error ``{"message", "reason"}`` with the status its class carries
(:func:`~bookstore.errors.status_for`), never a 500 with a traceback.
"""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import quote, urlencode

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ...errors import BookstoreError, InvalidRequest, status_for
from ...timestamps import json_default
from ..services import SERVICES_KEY, BookstoreServices

__all__ = [
    "AUTH_RESOURCE",
    "BookstoreAPIHandler",
    "BookstoreHandlerMixin",
    "clone_page_url",
]

#: The resource name handed to Jupyter's authorizer for every bookstore route.
AUTH_RESOURCE = "bookstore"


def clone_page_url(base_url: str, bucket: str, key: str, version_id: str | None = None) -> str:
    """The landing-page URL that clones ``key`` (a link to share)."""
    query = {"s3_bucket": bucket, "s3_key": key}
    if version_id:
        query["s3_version_id"] = version_id
    return f"{base_url}bookstore/clone?{urlencode(query, quote_via=quote)}"


class BookstoreHandlerMixin(ExtensionHandlerMixin, JupyterHandler):
    """Shared by bookstore's API and page handlers: the services, errors with their status,
    and the extension's logger."""

    auth_resource = AUTH_RESOURCE

    @property
    def services(self) -> BookstoreServices:
        """The server's :class:`~bookstore.server.services.BookstoreServices`."""
        return cast(BookstoreServices, self.settings[SERVICES_KEY])

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Report a :class:`BookstoreError` with its own status and message."""
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], BookstoreError):
            error = exc_info[1]
            status_code = status_for(error)
            http_error = web.HTTPError(status_code, str(error))
            kwargs["exc_info"] = (web.HTTPError, http_error, exc_info[2])
        super().send_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log expected bookstore errors in one line, without a traceback."""
        if isinstance(value, BookstoreError):
            request = self.request
            self.log.warning("bookstore: %s %s: %s", request.method, request.path, value)
            return
        super().log_exception(typ, value, tb)

    def query_flag(self, name: str, default: bool = True) -> bool:
        """A boolean query parameter: ``1``/``true``/``yes`` or ``0``/``false``/``no``."""
        value = self.get_query_argument(name, None)
        if value is None:
            return default
        if value.lower() in {"1", "true", "yes"}:
            return True
        if value.lower() in {"0", "false", "no"}:
            return False
        raise InvalidRequest(f"'{name}' must be 0 or 1.")

    def clone_url(self, bucket: str, key: str, version_id: str | None) -> str:
        """This server's landing-page link that clones ``key`` at ``version_id``."""
        return clone_page_url(self.base_url, bucket, key, version_id)


class BookstoreAPIHandler(BookstoreHandlerMixin, APIHandler):
    """Base of bookstore's JSON handlers: errors as JSON, bodies parsed in one place."""

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
        """Answer ``model`` as JSON (times as RFC 3339 with milliseconds)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(model, default=json_default))
