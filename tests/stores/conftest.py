"""The ``store`` fixture: each contract test runs once per backend (embedded and S3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bookstore.config import BookstoreSettings
from bookstore.stores.base import ObjectStore
from bookstore.stores.local import LocalStore
from bookstore.stores.s3 import S3Store


@pytest.fixture(params=["local", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Any, jp_asyncio_loop: Any
) -> Iterator[ObjectStore]:
    """A started store of each backend; S3 is the session's real SeaweedFS."""
    instance: ObjectStore
    if request.param == "local":
        instance = LocalStore(settings=BookstoreSettings(local_store_dir=str(tmp_path / "store")))
    else:
        seaweedfs = request.getfixturevalue("seaweedfs")
        instance = S3Store(settings=seaweedfs.settings())
    jp_asyncio_loop.run_until_complete(instance.start())
    yield instance
    jp_asyncio_loop.run_until_complete(instance.close())


@pytest.fixture
def prefix(request: pytest.FixtureRequest, store: ObjectStore) -> str:
    """A key prefix of this test's own (the S3 bucket is shared by the session)."""
    if isinstance(store, S3Store):
        return str(request.getfixturevalue("s3_prefix"))
    return "t"
