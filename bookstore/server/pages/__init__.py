"""HTML landing pages: a Jinja environment with autoescaping and a page handler base.

Pages are rendered from ``templates/`` next to this module; every value is
HTML-escaped, and errors render ``error.html`` with the status and a message in words
(never an empty body, never a traceback or a server path).  The clone pages are in
:mod:`.clone`.
"""

from __future__ import annotations

from functools import cache
from http.client import responses
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from tornado import web

from ..handlers.base import BookstoreHandlerMixin

__all__ = ["TEMPLATE_DIR", "BookstorePageHandler", "template_environment"]

#: Where the page templates live.
TEMPLATE_DIR = Path(__file__).parent / "templates"


@cache
def template_environment() -> Environment:
    """The Jinja environment of bookstore's pages (autoescaping on)."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


class BookstorePageHandler(BookstoreHandlerMixin):
    """Base of bookstore's HTML pages: rendering, and errors as pages."""

    def get_template(self, name: str) -> Template:
        """The Jinja template ``name`` of bookstore's pages (bookstore 2.x's name, kept)."""
        return template_environment().get_template(name)

    def query_value(self, name: str) -> str | None:
        """A query parameter exactly as sent (tornado's default strips surrounding
        whitespace, which would change a key or a path), or None."""
        return self.get_query_argument(name, None, strip=False)

    def render_page(self, template_name: str, /, **params: Any) -> str:
        """Render ``template_name`` with ``params`` plus ``base_url`` and the XSRF token."""
        template = self.get_template(template_name)
        if "xsrf_token" not in params:
            params["xsrf_token"] = self.xsrf_token.decode("ascii")
        return template.render(base_url=self.base_url, **params)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Render ``error.html``: the status, its name and a message a person can act on
        (with ``Allow`` on a 405)."""
        self.set_allow_header(status_code)
        message = ""
        exc_info = kwargs.get("exc_info")
        if exc_info is not None:
            error = exc_info[1]
            if isinstance(error, web.HTTPError) and error.log_message:
                message = error.log_message % error.args if error.args else error.log_message
        if status_code >= 500 or not message:
            message = message if status_code < 500 else ""
            message = message or "The server could not complete this request."
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(
            self.render_page(
                "error.html",
                # Errors can come before the user is known (tornado refusing the request
                # early), when no XSRF token can be made; the error page needs none.
                xsrf_token="",
                status_code=status_code,
                status_message=responses.get(status_code, "Error"),
                message=message,
            )
        )
