"""Publisher and Catalog against the embedded store, without a server."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from bookstore.core.access import Actor
from bookstore.core.areas import StoreAreas
from bookstore.core.catalog import Catalog, catalog_prefix
from bookstore.core.publish import PublishRequest, parse_publish_request
from bookstore.errors import (
    InvalidNotebook,
    InvalidPath,
    InvalidRequest,
    NotAllowed,
    ObjectNotFound,
    UnsupportedContent,
    VersionNotFound,
)
from bookstore.stores.base import ObjectStore
from tests.notebooks import make_notebook

#: The user the tests publish as.
ADA = Actor("ada")


def notebook(marker: str) -> dict[str, Any]:
    return make_notebook(marker, cells=1, output_bytes=10)


async def publish(areas: StoreAreas, path: str, marker: str) -> dict[str, Any]:
    publisher = await areas.publisher()
    return await publisher.publish(path, PublishRequest(content=notebook(marker)), ADA)


async def test_publish_makes_a_version_with_the_bytes_jupyter_saves(
    areas: StoreAreas, store: ObjectStore
) -> None:
    result = await publish(areas, "team/report.ipynb", "one")
    assert result["key"] == "pub/team/report.ipynb"
    assert result["path"] == "team/report.ipynb"
    assert result["s3_path"] == "s3://local/pub/team/report.ipynb"
    stored = await store.get(result["key"], result["versionID"])
    assert json.loads(stored.body)["cells"][0]["source"] == ["# Notebook one"]  # as saved
    assert result["etag"] == hashlib.md5(stored.body, usedforsecurity=False).hexdigest()
    assert result["etag"] == stored.info.etag
    assert result["size"] == len(stored.body)


async def test_every_publish_is_a_new_version_and_unpublish_keeps_them(
    areas: StoreAreas, store: ObjectStore
) -> None:
    first = await publish(areas, "r.ipynb", "1")
    second = await publish(areas, "r.ipynb", "2")
    publisher = await areas.publisher()
    described = await publisher.describe("r.ipynb", ADA)
    assert described["versionID"] == second["versionID"]
    assert described["last_modified"] is not None
    assert described["may_manage"] is True
    assert (await publisher.describe("r.ipynb", Actor("bob")))["may_manage"] is False
    await publisher.unpublish("r.ipynb", ADA)
    with pytest.raises(ObjectNotFound, match=r"'r\.ipynb' is not published"):
        await publisher.describe("r.ipynb", ADA)
    with pytest.raises(ObjectNotFound):
        await publisher.unpublish("r.ipynb", ADA)
    kept = (await store.get("pub/r.ipynb", first["versionID"])).body
    assert json.loads(kept)["cells"][0]["source"] == ["# Notebook 1"]


async def test_publish_an_archived_version_server_side(
    areas: StoreAreas, store: ObjectStore
) -> None:
    saved = await store.put("ws/ada/draft.ipynb", json.dumps(notebook("draft")).encode())
    publisher = await areas.publisher()
    result = await publisher.publish(
        "final.ipynb", PublishRequest(version_id=saved, source_path="draft.ipynb"), ADA
    )
    assert result["source"] == {"path": "draft.ipynb", "version_id": saved}
    copied = await store.get("pub/final.ipynb", result["versionID"])
    assert copied.body == (await store.get("ws/ada/draft.ipynb", saved)).body
    with pytest.raises(VersionNotFound):
        await publisher.publish(
            "final.ipynb", PublishRequest(version_id="nope", source_path="draft.ipynb"), ADA
        )


async def test_an_archived_version_needs_a_workspace_prefix(
    areas: StoreAreas, store: ObjectStore
) -> None:
    areas.settings.workspace_prefix = ""
    publisher = await areas.publisher()
    assert publisher.workspace_prefix is None
    with pytest.raises(NotAllowed, match="needs a usable"):
        await publisher.publish(
            "a.ipynb", PublishRequest(version_id="v", source_path="a.ipynb"), ADA
        )


async def test_publishing_off_and_bad_content(areas: StoreAreas) -> None:
    publisher = await areas.publisher()
    with pytest.raises(InvalidNotebook, match="nbformat 4"):
        await publisher.publish("a.ipynb", PublishRequest(content={"nbformat": 3}), ADA)
    with pytest.raises(InvalidPath, match="does not name a notebook"):
        await publisher.publish("a.txt", PublishRequest(content=notebook("x")), ADA)
    areas.settings.published_prefix = ""
    with pytest.raises(NotAllowed, match="Publishing is off"):
        await areas.publisher()


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ([], InvalidRequest, "must be a JSON object"),
        ({"type": "notebook"}, InvalidRequest, "The body must be"),
        ({"type": "file", "content": "x"}, UnsupportedContent, "not type 'file'"),
        ({"version_id": ""}, InvalidRequest, "'version_id' must be"),
        ({"version_id": "v", "source_path": "/abs.ipynb"}, InvalidPath, "must be relative"),
    ],
)
def test_publish_bodies_refused(body: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_publish_request(body, "a.ipynb")


def test_publish_bodies_taken() -> None:
    content = notebook("x")
    assert parse_publish_request({"type": "notebook", "content": content}, "a.ipynb", size=9) == (
        PublishRequest(content=content, size=9)
    )
    assert parse_publish_request({"version_id": "v"}, "a.ipynb") == PublishRequest(
        version_id="v", source_path="a.ipynb"
    )


# -- the catalog ---------------------------------------------------------------------------


async def catalog(areas: StoreAreas) -> Catalog:
    return Catalog(await areas.history("published"))


async def test_the_catalog_lists_by_path_with_the_latest_version(areas: StoreAreas) -> None:
    for path in ["b.ipynb", "a/one.ipynb", "a/two.ipynb", "Alpha.ipynb"]:
        await publish(areas, path, path)
    latest = await publish(areas, "b.ipynb", "again")
    page = await (await catalog(areas)).page()
    assert [item.path for item in page.items] == [
        "Alpha.ipynb",
        "a/one.ipynb",
        "a/two.ipynb",
        "b.ipynb",
    ]
    assert page.next_token is None
    item = page.items[-1]
    assert (item.key, item.bucket, item.version_id) == ("pub/b.ipynb", "local", latest["versionID"])
    assert item.etag == latest["etag"]


async def test_the_catalog_filters_and_pages(areas: StoreAreas) -> None:
    for n in range(7):
        await publish(areas, f"team/r{n}.ipynb", str(n))
        await publish(areas, f"other/R{n}.ipynb", str(n))
    listing = await catalog(areas)
    seen: list[str] = []
    token = None
    while True:
        page = await listing.page("", "r", limit=3, token=token)
        assert len(page.items) <= 3
        seen.extend(item.path for item in page.items)
        token = page.next_token
        if token is None:
            break
    assert len(seen) == 14  # "r" matches R in any case
    folder = await listing.page("team/", "", limit=100)
    assert [item.path for item in folder.items] == [f"team/r{n}.ipynb" for n in range(7)]
    first = await listing.page("", "r", limit=3)
    assert first.next_token is not None
    with pytest.raises(InvalidPath, match="not valid"):
        await listing.page("team/", "r", limit=3, token=first.next_token)  # another listing


async def test_unpublished_notebooks_leave_the_catalog(areas: StoreAreas) -> None:
    await publish(areas, "gone.ipynb", "x")
    await publish(areas, "kept.ipynb", "x")
    await (await areas.publisher()).unpublish("gone.ipynb", ADA)
    page = await (await catalog(areas)).page()
    assert [item.path for item in page.items] == ["kept.ipynb"]


@pytest.mark.parametrize(
    ("given", "prefix"), [("", ""), ("reports/", "reports/"), ("rep", "rep"), ("/a/", None)]
)
def test_catalog_prefixes(given: str, prefix: str | None) -> None:
    if prefix is None:
        with pytest.raises(InvalidPath, match="must be relative"):
            catalog_prefix(given)
    else:
        assert catalog_prefix(given) == prefix
