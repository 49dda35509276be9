"""The OpenAPI 3.1 document of bookstore's REST API, shipped in the package and served.

The document lives in ``bookstore/openapi.yaml``; :func:`load_spec` reads it once and
``GET /api/bookstore/openapi.json`` (:class:`OpenAPIHandler`) answers it as JSON, with
``servers`` set to the server's ``base_url`` so that tools calling the API from the
document reach this server (also under JupyterHub, e.g. ``/user/kylek/``), and the
``maxLength`` of each path schema marked ``x-bookstore-area`` set from this server's key
prefix (:func:`served_spec`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib.resources
from collections.abc import Mapping
from typing import Any

import yaml
from jupyter_server.auth.decorator import authorized
from tornado import web

from .._version import __version__
from ..core.areas import AREAS
from ..errors import NotAllowed
from ..keys import MAX_KEY_BYTES
from .handlers.base import BookstoreAPIHandler

__all__ = ["SPEC_RESOURCE", "OpenAPIHandler", "load_spec", "path_max_length", "served_spec"]

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
        prefixes = {}
        for area in AREAS:
            # An area that is off answers 403 on its routes: the file's limits stay.
            with contextlib.suppress(NotAllowed):
                prefixes[area] = self.services.areas.key_prefix(area)
        self.finish_json(served_spec(self.base_url, prefixes))


def path_max_length(prefix: str) -> int:
    """The longest path (in characters) whose key ``{prefix}/{path}`` always fits S3's
    :data:`~bookstore.keys.MAX_KEY_BYTES` bytes: four bytes a character."""
    return max(0, (MAX_KEY_BYTES - len(prefix.encode("utf-8")) - 1) // 4)


def served_spec(base_url: str, prefixes: Mapping[str, str]) -> dict[str, Any]:
    """The document as served: ``servers`` is ``base_url``, ``info.version`` the running
    release, and each schema marked ``x-bookstore-area`` whose area has a prefix in
    ``prefixes`` gets that prefix's :func:`path_max_length`."""
    spec = _cached_spec()
    schemas = dict(spec["components"]["schemas"])
    for name, schema in schemas.items():
        area = schema.get("x-bookstore-area")
        if area in prefixes:
            schemas[name] = {**schema, "maxLength": path_max_length(prefixes[area])}
    return {
        **spec,
        "info": {**spec["info"], "version": __version__},
        "servers": [{"url": base_url}],
        "components": {**spec["components"], "schemas": schemas},
    }
