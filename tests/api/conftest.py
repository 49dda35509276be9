"""In-process Jupyter server with bookstore enabled; override ``bookstore_config`` to
point it elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config


@pytest.fixture
def bookstore_config(tmp_path: Path) -> dict[str, Any]:
    """``BookstoreSettings`` for the server under test: the embedded store by default."""
    return {"local_store_dir": str(tmp_path / "bookstore-store")}


@pytest.fixture
def jp_server_config(bookstore_config: dict[str, Any]) -> Config:
    """Enable bookstore with ``bookstore_config``."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"bookstore": True}},
            "BookstoreSettings": bookstore_config,
        }
    )


@pytest.fixture
def fetch_json(jp_fetch: Any) -> Any:
    """``await fetch_json(*parts, method=..., body=...)`` -> (status, parsed JSON body)."""

    async def fetch(*parts: str, **kwargs: Any) -> tuple[int, Any]:
        if isinstance(kwargs.get("body"), (dict, list)):
            kwargs["body"] = json.dumps(kwargs["body"])
        response = await jp_fetch(*parts, raise_error=False, **kwargs)
        body = response.body.decode() if response.body else ""
        return response.code, json.loads(body) if body else None

    return fetch
