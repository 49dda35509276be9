"""The OpenAPI 3.1 document of bookstore's REST API, shipped in the package and served.

The document lives in ``bookstore/openapi.yaml``; :func:`load_spec` reads it once and
``GET /api/bookstore/openapi.json`` (:class:`OpenAPIHandler`) answers it as JSON, with
``servers`` set to the server's ``base_url`` so that tools calling the API from the
document reach this server (also under JupyterHub, e.g. ``/user/kylek/``).
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from typing import Any

import yaml
from jupyter_server.auth.decorator import authorized
from tornado import web

from .._version import __version__
from .handlers.base import BookstoreAPIHandler

__all__ = ["SPEC_RESOURCE", "OpenAPIHandler", "load_spec"]

#: The file name of the document inside the ``bookstore`` package.
SPEC_RESOURCE = "openapi.yaml"


@functools.cache
def _cached_spec() -> dict[str, Any]:
    text = importlib.resources.files("bookstore").joinpath(SPEC_RESOURCE).read_text("utf-8")
    spec = yaml.safe_load(text)
    if not isinstance(spec, dict):  # pragma: no cover - the shipped file is a mapping
        raise TypeError(f"bookstore/{SPEC_RESOURCE} is not a YAML mapping")
    return spec


def load_spec() -> dict[str, Any]:
    """The OpenAPI document as a dict (the file is read once; each call returns a copy
    the caller may modify)."""
    return copy.deepcopy(_cached_spec())


class OpenAPIHandler(BookstoreAPIHandler):
    """``GET /api/bookstore/openapi.json``: the OpenAPI document of bookstore's REST API."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer the document as JSON, with ``servers`` set to this server's base URL
        and ``info.version`` to the running release."""
        spec = _cached_spec()
        spec = {
            **spec,
            "info": {**spec["info"], "version": __version__},
            "servers": [{"url": self.base_url}],
        }
        self.finish_json(spec)
