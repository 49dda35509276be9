"""The base of bookstore's handlers: authorization, the services, and errors mapped once.

Every handler requires Jupyter's authentication and authorization (resource
``"bookstore"``); a route that also writes or reads workspace files asks Jupyter's
authorizer for ``"contents"`` too (:meth:`BookstoreHandlerMixin.require`), so
JupyterHub's scopes and custom authorizers decide.  A
:class:`~bookstore.errors.BookstoreError` raised below the handlers becomes a JSON error
``{"message", "reason"}`` with the status its class carries
(:func:`~bookstore.errors.status_for`), never a 500 with a traceback.  Publish,
unpublish, restore and clone are written to the audit trail, refusals included
(:meth:`BookstoreHandlerMixin.audited`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import quote, urlencode

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ...core.access import Actor
from ...core.audit import AuditEvent, origin
from ...errors import BookstoreError, DocumentTooDeep, InvalidRequest, NotAllowed, status_for
from ...notebooks import MAX_NESTING, nesting_exceeds, run_cpu
from ...timestamps import json_default
from ..identity import actor_of
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

    def allowed_methods(self) -> list[str]:
        """The HTTP methods this route answers (the handler's own), for ``Allow``."""
        return [
            method
            for method in self.SUPPORTED_METHODS
            if getattr(type(self), method.lower(), None)
            is not getattr(web.RequestHandler, method.lower(), None)
        ]

    def set_allow_header(self, status_code: int) -> None:
        """Say which methods the route takes on a 405 (tornado's answer to any other)."""
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The error as the base handler writes it, with ``Allow`` on a 405."""
        self.set_allow_header(status_code)
        super().write_error(status_code, **kwargs)

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

    @property
    def actor(self) -> Actor:
        """The person asking (see :mod:`bookstore.server.identity`)."""
        return actor_of(self.current_user, self.identity_provider)

    async def require(self, action: str, resource: str, needed_for: str) -> None:
        """Refuse (403) unless Jupyter's authorizer lets the user do ``action``
        (``read``/``write``) on ``resource`` (e.g. ``contents``), which ``needed_for``
        (what the route does, in words) needs."""
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, action, resource)
        )
        if not allowed:
            raise NotAllowed(
                f"You are not authorized to {action} {resource} on this server, which "
                f"{needed_for} needs (Jupyter's authorizer refused {action!r} on "
                f"{resource!r})."
            )

    @contextlib.asynccontextmanager
    async def audited(self, action: str, **fields: Any) -> AsyncIterator[dict[str, Any]]:
        """Record ``action`` in the audit trail once the block ends (written in the
        background: :meth:`BookstoreServices.record`): ``outcome: ok``, or ``refused`` with
        the message when it raises :class:`NotAllowed` (other errors did nothing and are
        not recorded).  The block may add fields to the dict it gets."""
        record = dict(fields)
        try:
            yield record
        except NotAllowed as refusal:
            self._record(action, record, outcome="refused", message=str(refusal))
            raise
        self._record(action, record, outcome="ok")

    def _record(self, action: str, fields: dict[str, Any], **outcome: Any) -> None:
        actor = self.actor
        event = AuditEvent(
            action=action,
            user=actor.username,
            server_user=self.services.areas.username or None,
            origin=origin(
                "server",
                remote_ip=self.request.remote_ip,
                server=os.environ.get("JUPYTERHUB_SERVER_NAME"),
            ),
            **fields,
            **outcome,
        )
        self.services.record(event)


class BookstoreAPIHandler(BookstoreHandlerMixin, APIHandler):
    """Base of bookstore's JSON handlers: errors as JSON, bodies parsed in one place."""

    def options(self, *args: Any, **kwargs: Any) -> None:
        """Jupyter's CORS preflight answer, with ``Allow`` naming the route's methods."""
        self.set_header("Allow", ", ".join(self.allowed_methods()))
        super().options(*args, **kwargs)

    async def json_body(self, *, check_nesting: bool = True) -> Any:
        """The request body parsed as JSON (in a worker thread when it is large);
        :class:`InvalidRequest` when it is not JSON, :class:`DocumentTooDeep` when it nests
        more than :data:`~bookstore.notebooks.MAX_NESTING` levels (unless
        ``check_nesting`` is false: publish checks the notebook that is most of its body)."""
        body = self.request.body
        if not body:
            raise InvalidRequest("The request has no body; send a JSON object.")
        return await run_cpu(len(body), _parse_json_body, body, check_nesting)

    def finish_json(self, model: Any, status: int = 200) -> None:
        """Answer ``model`` as JSON (times as RFC 3339 with milliseconds)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(model, default=json_default))


def _parse_json_body(body: bytes, check_nesting: bool) -> Any:
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _body_too_deep() from None
    if check_nesting and nesting_exceeds(parsed, MAX_NESTING):
        raise _body_too_deep()
    return parsed


def _body_too_deep() -> DocumentTooDeep:
    return DocumentTooDeep(
        f"The request body is nested more than {MAX_NESTING} levels deep; bookstore "
        f"accepts at most {MAX_NESTING} (a notebook's metadata and outputs included)."
    )
