"""Diff options (``hide``, ``only``) and the diff cache through the real routes, on papermill
runs of one report saved as versions (``tests/data/diff``), on both backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bookstore.server.app import BookstoreApp
from tests.api.test_history import (
    archived,
    fetch_json,  # the fixture, taking query strings in URLs
    save,
)
from tests.server_fixtures import both_backends

__all__ = ["fetch_json"]

pytestmark = both_backends

DATA = Path(__file__).resolve().parents[1] / "data" / "diff"


def run(name: str) -> dict[str, Any]:
    notebook: dict[str, Any] = json.loads((DATA / f"{name}.ipynb").read_text())
    return notebook


async def save_runs(fetch_json: Any, app: BookstoreApp, path: str, *names: str) -> list[str]:
    """Save ``path`` as each run in turn (each archived before the next); the version
    ids, oldest first."""
    for name in names:
        await save(fetch_json, path, run(name))
        await archived(app)
    status, listing = await fetch_json(f"api/bookstore/workspace/{path}/versions")
    assert status == 200, listing
    return [item["id"] for item in listing["versions"]][::-1]


def cell_keys(reply: dict[str, Any]) -> list[set[str]]:
    return [
        {change["key"] for change in op["diff"]}
        for entry in reply["diff"]
        if entry["key"] == "cells"
        for op in entry["diff"]
        if op["op"] == "patch"
    ]


async def test_hide_and_only(fetch_json: Any, bookstore_app: BookstoreApp) -> None:
    a, a2, b = await save_runs(fetch_json, bookstore_app, "rep.ipynb", "run-a", "run-a2", "run-b")
    url = "api/bookstore/workspace/rep.ipynb/diff"

    status, whole = await fetch_json(f"{url}?base={a}&remote={a2}")
    assert status == 200, whole
    assert whole["options"] == {"hide": [], "only": None}
    assert whole["summary"]["text"] == "7 cells changed, metadata changed"
    status, same = await fetch_json(f"{url}?base={a}&remote={a2}&hide=papermill")
    assert status == 200, same
    assert (same["diff"], same["summary"]["text"]) == ([], "no changes")
    assert same["options"] == {"hide": ["papermill"], "only": None}

    status, hidden = await fetch_json(f"{url}?base={a}&remote={b}&hide=papermill,outputs&content=0")
    assert status == 200, hidden
    assert hidden["options"]["hide"] == ["outputs", "papermill"]
    assert cell_keys(hidden) == [{"source"}]  # the injected parameters
    assert hidden["base_notebook"] is None
    # The parameter repeated means the same.
    status, repeated = await fetch_json(
        url,
        params=[
            ("base", a),
            ("remote", b),
            ("content", "0"),
            ("hide", "papermill"),
            ("hide", "outputs"),
        ],
    )
    assert status == 200, repeated
    assert repeated["diff"] == hidden["diff"]

    status, outputs = await fetch_json(f"{url}?base={a}&remote={b}&only=outputs")
    assert status == 200, outputs
    assert outputs["options"] == {"hide": [], "only": "outputs"}
    assert cell_keys(outputs) == [{"outputs"}] * 3
    assert outputs["summary"]["text"] == "3 cells changed"
    assert outputs["base_notebook"]["cells"]  # nbdime's widgets need it, options or not

    # The file now (remote=current by default) is filtered too.
    status, to_now = await fetch_json(f"{url}?base={a2}&only=outputs")
    assert status == 200, to_now
    assert to_now["remote"]["current"] is True
    assert to_now["summary"]["text"] == "3 cells changed"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("hide=output", ["'output'", "execution_count, metadata, outputs, papermill"]),
        ("hide=outputs,cells", ["'cells'"]),
        ("only=source", ["'only' takes outputs"]),
    ],
)
async def test_bad_options_are_400s(
    fetch_json: Any, bookstore_app: BookstoreApp, query: str, words: list[str]
) -> None:
    status, reply = await fetch_json(f"api/bookstore/workspace/x.ipynb/diff?base=latest&{query}")
    assert status == 400, reply
    for word in words:
        assert word in reply["message"]


async def test_published_diffs_take_the_options(
    fetch_json: Any, bookstore_app: BookstoreApp
) -> None:
    for name in ("run-a", "run-a2"):
        status, reply = await fetch_json(
            "api/bookstore/publish/team/rep.ipynb",
            method="PUT",
            body={"type": "notebook", "content": run(name)},
        )
        assert status == 200, reply
    status, listing = await fetch_json("api/bookstore/published/team/rep.ipynb/versions")
    assert status == 200, listing
    newest, oldest = (item["id"] for item in listing["versions"])
    url = f"api/bookstore/published/team/rep.ipynb/diff?base={oldest}"
    status, whole = await fetch_json(url)
    assert status == 200, whole
    assert whole["remote"]["id"] == newest
    assert whole["summary"]["cells_changed"] == 7
    status, hidden = await fetch_json(url + "&hide=papermill")
    assert status == 200, hidden
    assert hidden["summary"]["text"] == "no changes"


async def test_a_repeated_diff_is_answered_from_the_cache(
    fetch_json: Any, bookstore_app: BookstoreApp, jp_root_dir: Path
) -> None:
    cache = bookstore_app.services.diff_cache
    a, b = await save_runs(fetch_json, bookstore_app, "c.ipynb", "run-a", "run-b")
    url = "api/bookstore/workspace/c.ipynb/diff"
    status, first = await fetch_json(f"{url}?base={a}&remote=latest")
    assert status == 200, first
    hits = cache.hits
    status, again = await fetch_json(f"{url}?base={a}&remote={b}")
    assert (status, again) == (200, first)  # 'latest' was b: the same key
    assert cache.hits == hits + 1
    # The file as it is now: keyed by its bytes.
    status, to_now = await fetch_json(f"{url}?base={a}")
    assert status == 200, to_now
    assert to_now["summary"]["text"] == first["summary"]["text"]
    status, again = await fetch_json(f"{url}?base={a}")
    assert (status, again) == (200, to_now)
    assert cache.hits == hits + 2
    # Changed on disk (outside Jupyter): not the cached reply.
    (jp_root_dir / "c.ipynb").write_text(json.dumps(run("run-a")))
    status, changed = await fetch_json(f"{url}?base={a}")
    assert status == 200, changed
    assert changed["diff"] == []
    assert cache.hits == hits + 2
