"""``GET …/versions?q=TEXT``: searching a notebook's history through the real routes (the
replies checked against the OpenAPI document), on both backends."""

from __future__ import annotations

from typing import Any

from bookstore.server.app import BookstoreApp
from tests.api.test_history import (
    archived,
    fetch_json,  # the fixture, taking query strings in URLs
    save,
    small_notebook,
)
from tests.server_fixtures import both_backends

__all__ = ["fetch_json"]

pytestmark = both_backends


def with_output(marker: str, text: str) -> dict[str, Any]:
    notebook = small_notebook(marker)
    notebook["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [text]}]
    return notebook


async def test_search_sources_and_outputs(fetch_json: Any, bookstore_app: BookstoreApp) -> None:
    for notebook in (
        with_output("first", "revenue: 10\n"),
        with_output("second", "costs: 3\n"),
        with_output("Third REVENUE report", "nothing\n"),
    ):
        await save(fetch_json, "s/report.ipynb", notebook)
        await archived(bookstore_app)
    status, listing = await fetch_json("api/bookstore/workspace/s/report.ipynb/versions")
    assert status == 200, listing
    third, _, first = (item["id"] for item in listing["versions"])

    status, found = await fetch_json("api/bookstore/workspace/s/report.ipynb/versions?q=Revenue")
    assert status == 200, found
    assert [item["id"] for item in found["versions"]] == [third, first]
    assert found["versions"][0]["matches"] == [
        {"cell": 0, "cell_type": "markdown", "snippet": "# Notebook Third REVENUE report"}
    ]
    assert found["versions"][1]["matches"] == [
        {"cell": 1, "cell_type": "code", "snippet": "revenue: 10"}
    ]
    assert found["versions"][0]["name"] is None  # the usual fields are there
    assert found["search"] == {
        "q": "Revenue",
        "scanned": 3,
        "scan_limit": 200,
        "exhausted": True,
        "skipped": 0,
    }
    assert found["next_token"] is None

    # limit bounds the matches; the token scans on.
    status, page = await fetch_json(
        "api/bookstore/workspace/s/report.ipynb/versions?q=revenue&limit=1"
    )
    assert status == 200, page
    assert [item["id"] for item in page["versions"]] == [third]
    assert (page["search"]["scanned"], page["search"]["exhausted"]) == (1, False)
    status, rest = await fetch_json(
        "api/bookstore/workspace/s/report.ipynb/versions",
        params={"q": "revenue", "page_token": page["next_token"]},
    )
    assert status == 200, rest
    assert [item["id"] for item in rest["versions"]] == [first]

    status, none = await fetch_json("api/bookstore/workspace/s/report.ipynb/versions?q=absent")
    assert (status, none["versions"], none["search"]["exhausted"]) == (200, [], True)
    # Named or pinned only: none is.
    status, named = await fetch_json(
        "api/bookstore/workspace/s/report.ipynb/versions?q=revenue&named=1"
    )
    assert (status, named["versions"], named["search"]["scanned"]) == (200, [], 3)


async def test_bad_queries_are_400s(fetch_json: Any, bookstore_app: BookstoreApp) -> None:
    url = "api/bookstore/workspace/s.ipynb/versions"
    for query in ("", "   ", "x" * 201):
        status, reply = await fetch_json(url, params={"q": query})
        assert status == 400, reply
        assert "'q'" in reply["message"]
    status, reply = await fetch_json(url, params={"q": "x", "page_token": "garbage"})
    assert status == 400, reply


async def test_search_published_versions(fetch_json: Any, bookstore_app: BookstoreApp) -> None:
    for marker in ("draft", "final answer"):
        status, reply = await fetch_json(
            "api/bookstore/publish/team/p.ipynb",
            method="PUT",
            body={"type": "notebook", "content": small_notebook(marker)},
        )
        assert status == 200, reply
    status, found = await fetch_json("api/bookstore/published/team/p.ipynb/versions?q=ANSWER")
    assert status == 200, found
    assert [item["matches"][0]["snippet"] for item in found["versions"]] == [
        "# Notebook final answer"
    ]
