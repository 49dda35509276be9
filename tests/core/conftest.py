"""Fixtures of the domain's unit tests: the embedded store in a temporary folder, and the
areas bookstore's settings make of it (no Jupyter server; each test takes milliseconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bookstore.config import BookstoreSettings
from bookstore.core.areas import StoreAreas
from bookstore.stores.base import ObjectStore
from bookstore.stores.local import LocalStore


@pytest.fixture
def settings(tmp_path: Path) -> BookstoreSettings:
    """The embedded store in ``tmp_path``, with the prefixes of a hub's user."""
    return BookstoreSettings(
        local_store_dir=str(tmp_path / "store"),
        workspace_prefix="ws/{username}",
        published_prefix="pub",
    )


@pytest.fixture
def store(settings: BookstoreSettings, jp_asyncio_loop: Any) -> Iterator[ObjectStore]:
    """A started :class:`LocalStore`."""
    local = LocalStore(settings=settings)
    jp_asyncio_loop.run_until_complete(local.start())
    yield local
    jp_asyncio_loop.run_until_complete(local.close())


@pytest.fixture
def areas(
    settings: BookstoreSettings, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> StoreAreas:
    """The areas of ``store`` for the user ``ada``."""
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")

    async def open_store() -> ObjectStore:
        return store

    return StoreAreas(settings, open_store)


@pytest.fixture(params=["sqlite", "postgresql"])
def runs_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A runs database: a SQLite file, then a fresh database of the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db(runs_db_url: str) -> Iterator[Any]:
    """An open :class:`~bookstore.core.runs.db.RunDB` on ``runs_db_url``."""
    from bookstore.core.runs.db import RunDB

    handle = RunDB(runs_db_url)
    yield handle
    handle.close()
