"""Searching a file's history: where a text occurs in a notebook (pure), and the bounded scan
of the versions newest first on the embedded store (pages, pending saves, renames)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4

from bookstore.core.archive import Spool
from bookstore.core.areas import StoreAreas
from bookstore.core.history_search import (
    MAX_MATCHES,
    SEARCH_SCAN_LIMIT,
    SNIPPET_CHARS,
    check_query,
    find_matches,
    search_versions,
)
from bookstore.errors import InvalidRequest
from bookstore.stores.base import ObjectStore

DATA = Path(__file__).resolve().parents[1] / "data" / "diff"


def notebook_bytes(*sources: str, outputs: list[Any] | None = None) -> bytes:
    nb = v4.new_notebook()
    nb.cells = [v4.new_code_cell(source, id=f"c{n}") for n, source in enumerate(sources)]
    if outputs and nb.cells:
        nb.cells[-1].outputs = outputs
    return str(nbformat.writes(nb)).encode()


# -- find_matches ---------------------------------------------------------------------------


def test_matches_in_sources_and_text_outputs_of_a_real_run() -> None:
    body = (DATA / "run-b.ipynb").read_bytes()
    # The injected parameters' source, and a stream output ("b [0.0, 1.0, ...]").
    assert find_matches(body, 'LABEL = "B"') == [
        {"cell": 2, "cell_type": "code", "snippet": '# Parameters n = 5 label = "b"'}
    ]
    [printed] = find_matches(body, "1.414, 1.732")
    assert printed["cell"] == 3
    assert printed["snippet"].startswith("b [0.0, 1.0, 1.414, 1.732")
    # An execute_result's text/plain, and a markdown cell.
    assert [m["cell"] for m in find_matches(body, "5")][:1] == [2]
    assert find_matches(body, "done.") == [{"cell": 6, "cell_type": "markdown", "snippet": "Done."}]
    assert find_matches(body, "not in this notebook") == []
    # Metadata is not searched (papermill's records are there).
    assert find_matches(body, "papermill") == []


def test_at_most_three_cells_and_short_snippets() -> None:
    long = "x = 1\n" * 40 + "TARGET = 'here'\n" + "y = 2\n" * 40
    body = notebook_bytes(*(long for _ in range(5)))
    matches = find_matches(body, "target")
    assert [m["cell"] for m in matches] == list(range(MAX_MATCHES))
    snippet = matches[0]["snippet"]
    assert len(snippet) <= SNIPPET_CHARS
    assert "TARGET = 'here'" in snippet
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    assert "\n" not in snippet
    # A hit longer than a snippet: its start.
    query = "word " * 39
    body = notebook_bytes("intro " + query + "end")
    [match] = find_matches(body, query.strip())
    assert len(match["snippet"]) <= SNIPPET_CHARS
    assert match["snippet"].startswith("…word word")


def test_outputs_of_every_kind() -> None:
    outputs = [
        v4.new_output("stream", name="stdout", text=["first line\n", "Second Line\n"]),
        v4.new_output("execute_result", data={"text/plain": "Result 42"}, execution_count=1),
        v4.new_output("display_data", data={"text/markdown": "**Bold** note"}),
        v4.new_output("display_data", data={"image/png": "aGVsbG8gd29ybGQ="}),
        v4.new_output("error", ename="KeyError", evalue="'missing key'", traceback=["tb"]),
    ]
    body = notebook_bytes("pass", outputs=outputs)
    for query in ("second line", "result 42", "bold** NOTE", "keyerror", "'missing KEY'"):
        assert [m["cell"] for m in find_matches(body, query)] == [0], query
    assert find_matches(body, "aGVsbG8") == []  # images are no text


def test_text_that_json_escapes_and_text_beyond_ascii() -> None:
    body = notebook_bytes(r'print("a \ b / c")', "naïve Straße", 'print("tab\there")')
    assert find_matches(body, r'"a \ b / c"')[0]["cell"] == 0
    assert find_matches(body, "NAÏVE")[0]["cell"] == 1
    assert find_matches(body, "tab\there")[0]["cell"] == 2
    # Written unlike Jupyter: non-ASCII as \\u escapes.
    nb = json.loads(notebook_bytes("Café olé"))
    escaped = json.dumps(nb, ensure_ascii=True).encode()
    assert b"Caf\\u00e9" in escaped
    assert find_matches(escaped, "café")[0]["cell"] == 0
    assert find_matches(escaped, "caf")[0]["cell"] == 0


def test_bytes_that_are_no_notebook_match_nothing() -> None:
    for body in (b"", b"\xff\xfe binary", b'{"cells": 3}', b"[1, 2]", b'{"no": "cells"} caf'):
        assert find_matches(body, "caf") == []


@pytest.mark.parametrize("query", [None, "", "   ", "x" * 201])
def test_queries_refused(query: str | None) -> None:
    with pytest.raises(InvalidRequest, match="'q'"):
        check_query(query)
    assert check_query("x" * 200) == "x" * 200


# -- the scan -------------------------------------------------------------------------------


async def put_versions(store: ObjectStore, key: str, sources: list[str]) -> list[str]:
    """One version per source, oldest first; their ids newest first."""
    ids = [await store.put(key, notebook_bytes(source)) for source in sources]
    return ids[::-1]


async def test_newest_first_in_pages_with_a_limit(areas: StoreAreas, store: ObjectStore) -> None:
    sources = [f"value = {n}" + ("  # needle" if n % 3 == 0 else "") for n in range(10)]
    ids = await put_versions(store, "ws/ada/s.ipynb", sources)
    history = await areas.history("workspace")
    matching = [ids[9 - n] for n in range(10) if n % 3 == 0][::-1]  # n = 9, 6, 3, 0

    everything = await search_versions(history, "s.ipynb", "NEEDLE")
    assert [hit.item.id for hit in everything.hits] == matching
    assert (everything.scanned, everything.exhausted, everything.next_token) == (10, True, None)
    assert everything.hits[0].matches == [
        {"cell": 0, "cell_type": "code", "snippet": "value = 9 # needle"}
    ]
    document = everything.to_dict("s.ipynb")
    assert document["search"] == {
        "q": "NEEDLE",
        "scanned": 10,
        "scan_limit": SEARCH_SCAN_LIMIT,
        "exhausted": True,
        "skipped": 0,
    }
    assert document["versions"][0]["id"] == matching[0]
    assert document["versions"][0]["matches"][0]["cell"] == 0

    # limit=2: stops right after the second match; the token goes on from there.
    first = await search_versions(history, "s.ipynb", "needle", limit=2)
    assert [hit.item.id for hit in first.hits] == matching[:2]
    assert first.scanned == 4  # versions 9, 8, 7, 6
    assert not first.exhausted
    rest = await search_versions(history, "s.ipynb", "needle", limit=2, token=first.next_token)
    assert [hit.item.id for hit in rest.hits] == matching[2:]
    # Version 0 matched last: the token was none at that point; nothing was left over.
    assert (
        rest.exhausted
        or (await search_versions(history, "s.ipynb", "needle", token=rest.next_token)).hits == []
    )
    # A listing's page token starts a search there too.
    listed = await history.list_versions("s.ipynb", limit=5)
    older = await search_versions(history, "s.ipynb", "needle", token=listed.next_token)
    assert [hit.item.id for hit in older.hits] == matching[2:]
    assert (await search_versions(history, "never.ipynb", "needle")).to_dict("x")["search"][
        "exhausted"
    ]


async def test_one_call_reads_at_most_the_scan_limit(areas: StoreAreas, store: ObjectStore) -> None:
    count = SEARCH_SCAN_LIMIT + 30
    sources = ["needle = 'oldest'"] + [f"x = {n}" for n in range(1, count)]
    ids = await put_versions(store, "ws/ada/long.ipynb", sources)
    history = await areas.history("workspace")
    first = await search_versions(history, "long.ipynb", "needle")
    assert (first.hits, first.scanned, first.exhausted) == ([], SEARCH_SCAN_LIMIT, False)
    assert first.next_token is not None
    rest = await search_versions(history, "long.ipynb", "needle", token=first.next_token)
    assert [hit.item.id for hit in rest.hits] == [ids[-1]]
    assert (rest.scanned, rest.exhausted, rest.next_token) == (30, True, None)


async def test_pending_saves_renames_and_named_versions(
    areas: StoreAreas, store: ObjectStore, tmp_path: Path
) -> None:
    await put_versions(store, "ws/ada/p.ipynb", ["stored = 'needle'", "stored = 2"])
    spool = Spool(tmp_path / "spool")
    spool.open()
    spool.add_bytes("ws/ada/p.ipynb", "p.ipynb", notebook_bytes("pending = 'needle'"))

    class Pending:
        def pending_saves(self, key: str) -> Any:
            return [entry for entry in spool.open() if entry.key == key][::-1]

        def version_of(self, seq: int) -> str | None:
            return None

    history = await areas.history("workspace")
    history._pending = Pending()  # what the server's archiver answers
    found = await search_versions(history, "p.ipynb", "needle")
    assert [hit.item.pending for hit in found.hits] == [True, False]
    assert found.scanned == 3
    assert found.hits[0].matches[0]["snippet"] == "pending = 'needle'"
    # named: only the named or pinned versions are read (none here).
    named = await search_versions(history, "p.ipynb", "needle", named=True)
    assert (named.hits, named.scanned) == ([], 3)
