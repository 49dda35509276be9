"""Exceptions raised by bookstore's Python client (:mod:`bookstore.client`).

Every error the client raises derives from :class:`BookstoreClientError`; ``str(err)``
says what happened and what to do about it (it never contains the server's token)::

    BookstoreClientError
    ├── ServerNotFoundError             no running Jupyter server could be used
    ├── ServerConnectionError           the server did not answer (refused, timed out)
    ├── TokenRequiredError              the server needs a token or password the client lacks
    ├── NotebookNotIdentifiedError      the kernel's notebook cannot be told apart
    │   └── NotInKernelError            not running inside a Jupyter kernel
    └── BookstoreAPIError               the server answered an HTTP error (status, message)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BookstoreAPIError",
    "BookstoreClientError",
    "NotInKernelError",
    "NotebookNotIdentifiedError",
    "ServerConnectionError",
    "ServerNotFoundError",
    "TokenRequiredError",
]


class BookstoreClientError(Exception):
    """Base class of every error raised by bookstore's client."""


class ServerNotFoundError(BookstoreClientError):
    """No running Jupyter server was found, or none of them could be reached."""


class ServerConnectionError(BookstoreClientError):
    """A request to the Jupyter server failed before any answer (refused, timed out)."""


class TokenRequiredError(BookstoreClientError):
    """The Jupyter server needs authentication the client cannot give: it has a password
    but no token (a password is for browsers), or it refused a request sent without one."""


class NotebookNotIdentifiedError(BookstoreClientError):
    """The notebook this kernel belongs to cannot be told apart.

    The kernel runs on no Jupyter server (papermill, nbconvert, ``jupyter console``),
    no notebook session uses it, or several do. ``kernel_id`` is the kernel's id when
    known, ``paths`` the notebook paths of the sessions found (empty if none).
    """

    def __init__(
        self, message: str, *, kernel_id: str | None = None, paths: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.kernel_id = kernel_id
        self.paths = list(paths)


class NotInKernelError(NotebookNotIdentifiedError):
    """The code does not run inside a Jupyter kernel (or ipykernel is not installed), so
    there is no "current notebook"."""


class BookstoreAPIError(BookstoreClientError):
    """The server answered an HTTP error.

    ``status`` is the HTTP status, ``message`` the server's explanation (the ``message``
    of its JSON error body ``{"message": ..., "reason": ...}``, else the HTTP reason
    phrase), ``reason`` the body's ``reason``, ``method`` and ``url`` the request.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reason: str | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.message = message
        self.reason = reason
        self.method = method
        self.url = url
        request = f"{method} {url}".strip()
        prefix = f"{request} failed" if request else "Request failed"
        super().__init__(f"{prefix} with HTTP {status}: {message}")
