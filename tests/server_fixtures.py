"""Fixtures of the in-process Jupyter server with bookstore enabled (a pytest plugin loaded
by ``tests/conftest.py``): override ``bookstore_config`` to point it elsewhere, or
``server_extensions`` to load more extensions (e.g. JupyterLab)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from bookstore.timestamps import format_timestamp


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``"local"`` (the embedded store) unless parametrized indirectly with ``"s3"``."""
    return str(getattr(request, "param", "local"))


#: Apply to a module or test to run it on both backends (SeaweedFS and the embedded store).
both_backends = pytest.mark.parametrize("backend", ["local", "s3"], indirect=True)


def bookstore_time(jupyter_time: str) -> str:
    """A time as Jupyter's contents API writes it (microseconds), as bookstore writes it."""
    return format_timestamp(datetime.fromisoformat(jupyter_time.replace("Z", "+00:00")))


@pytest.fixture
def key_root(request: pytest.FixtureRequest, backend: str) -> str:
    """A key prefix owned by this test (the shared SeaweedFS bucket has many tests)."""
    if backend == "s3":
        return str(request.getfixturevalue("s3_prefix"))
    return "t"


@pytest.fixture
def bookstore_config(
    request: pytest.FixtureRequest, backend: str, key_root: str, tmp_path: Path
) -> dict[str, Any]:
    """``BookstoreSettings`` for the server under test: the embedded store by default,
    SeaweedFS for ``backend == "s3"``; workspace and published prefixes under ``key_root``."""
    config: dict[str, Any] = {
        "workspace_prefix": f"{key_root}/workspace",
        "published_prefix": f"{key_root}/published",
        "audit_prefix": f"{key_root}/audit",
        "archive_spool_dir": str(tmp_path / "spool"),
        "archive_retry_max_delay": 0.5,
    }
    if backend == "s3":
        config.update(request.getfixturevalue("seaweedfs").settings_dict())
    else:
        config["local_store_dir"] = str(tmp_path / "bookstore-store")
    return config


@pytest.fixture
def bookstore_app(jp_serverapp: Any) -> Any:
    """The running :class:`~bookstore.server.app.BookstoreApp`."""
    return jp_serverapp.web_app.settings["bookstore"]


@pytest.fixture
def server_extensions() -> dict[str, bool]:
    """Server extensions enabled in the server under test."""
    return {"bookstore": True}


@pytest.fixture
def jp_server_config(
    bookstore_config: dict[str, Any], server_extensions: dict[str, bool]
) -> Config:
    """Enable ``server_extensions`` with bookstore set up by ``bookstore_config``."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": dict(server_extensions)},
            "BookstoreSettings": bookstore_config,
        }
    )


@pytest.fixture
def fetch_json(jp_fetch: Any) -> Any:
    """``await fetch_json(*parts, method=..., body=...)`` -> (status, parsed JSON body).

    Every response of a route under ``api/bookstore`` is checked against the OpenAPI
    document (``bookstore/openapi.yaml``): its status must be documented and its body
    must match the documented schema (see ``tests/openapi_check.py``).
    """
    from jupyter_server.utils import url_path_join

    from tests.openapi_check import check_response

    async def fetch(*parts: str, **kwargs: Any) -> tuple[int, Any]:
        if isinstance(kwargs.get("body"), (dict, list)):
            kwargs["body"] = json.dumps(kwargs["body"])
        response = await jp_fetch(*parts, raise_error=False, **kwargs)
        body = response.body.decode() if response.body else ""
        parsed = json.loads(body) if body else None
        path = url_path_join(*parts).lstrip("/")
        if path == "api/bookstore" or path.startswith("api/bookstore/"):
            check_response(
                kwargs.get("method", "GET"),
                path,
                response.code,
                parsed,
                content_type=response.headers.get("Content-Type"),
            )
        return response.code, parsed

    return fetch
