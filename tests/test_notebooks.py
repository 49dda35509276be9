"""bookstore/notebooks.py: the nesting limit (``check_nesting``) and what publishing and
reading stored notebooks do with documents nested too deeply or with whole floats."""

from __future__ import annotations

import json
import time
from typing import Any

import nbformat
import pytest

from bookstore.errors import DocumentTooDeep, InvalidNotebook, InvalidRequest
from bookstore.notebooks import (
    MAX_NESTING,
    check_nesting,
    nesting_exceeds,
    notebook_bytes,
    parse_notebook_bytes,
    read_notebook,
    validate_notebook,
)
from tests.notebooks import make_notebook


def nested(depth: int, *, make: Any = dict) -> Any:
    """A document ``depth`` levels deep: ``{"a": {"a": ... {}}}`` (or lists)."""
    document = make()
    for _ in range(depth - 1):
        document = {"a": document} if make is dict else [document]
    return document


def notebook_with_metadata(depth: int) -> dict[str, Any]:
    """A valid notebook whose metadata nests so that the notebook is ``depth`` deep."""
    notebook: dict[str, Any] = json.loads(json.dumps(make_notebook(cells=1, output_bytes=10)))
    notebook["metadata"]["deep"] = nested(depth - 2)
    return notebook


def test_the_limit_is_a_documented_constant() -> None:
    assert MAX_NESTING == 100
    assert DocumentTooDeep.http_status == 400
    assert issubclass(DocumentTooDeep, InvalidRequest)


@pytest.mark.parametrize("make", [dict, list])
def test_the_document_itself_is_level_one(make: Any) -> None:
    check_nesting(nested(MAX_NESTING, make=make))
    with pytest.raises(DocumentTooDeep) as raised:
        check_nesting(nested(MAX_NESTING + 1, make=make))
    assert str(raised.value) == (
        "The notebook is nested more than 100 levels deep (in its metadata or outputs); "
        "bookstore accepts at most 100."
    )
    check_nesting(nested(5, make=make), limit=5)
    with pytest.raises(DocumentTooDeep, match="more than 4 levels"):
        check_nesting(nested(5, make=make), limit=4)


@pytest.mark.parametrize("scalar", [None, True, 0, 1.5, "text", ""])
def test_scalars_and_empty_containers(scalar: Any) -> None:
    check_nesting(scalar, limit=0)
    assert not nesting_exceeds([], 1)
    assert nesting_exceeds([], 0)
    assert nesting_exceeds({"a": [scalar]}, 1)
    assert not nesting_exceeds({"a": [scalar]}, 2)


def test_the_deepest_branch_counts_wherever_it_is() -> None:
    wide = {"cells": [{"outputs": [{"data": {"x": "y"}}]}] * 50, "metadata": {}}
    wide["cells"] = [*wide["cells"], {"metadata": nested(MAX_NESTING)}]
    # The root, "cells" and the cell are 3 levels above the deep branch.
    assert nesting_exceeds(wide, MAX_NESTING + 2)
    assert not nesting_exceeds(wide, MAX_NESTING + 3)


def test_notebook_nodes_and_subclasses_are_walked() -> None:
    node = nbformat.from_dict(notebook_with_metadata(MAX_NESTING + 1))
    with pytest.raises(DocumentTooDeep):
        check_nesting(node)
    check_nesting(nbformat.from_dict(notebook_with_metadata(MAX_NESTING)))


def test_never_recurses_however_deep() -> None:
    very_deep = nested(200_000)
    assert nesting_exceeds(very_deep, 150_000)
    assert not nesting_exceeds(very_deep, 200_000)


def test_a_large_notebook_is_walked_quickly() -> None:
    """About 30 MB of lines in lists (the worst case: one object per line)."""
    lines = ["x" * 40 + "\n"] * 500
    cell = {"source": lines, "outputs": [{"text": lines, "data": {"text/plain": lines}}]}
    notebook = json.loads(json.dumps({"cells": [cell] * 500, "metadata": {}}))
    started = time.perf_counter()
    check_nesting(notebook)
    assert time.perf_counter() - started < 2.0


def test_publishing_refuses_a_deep_notebook_with_a_400() -> None:
    with pytest.raises(DocumentTooDeep, match="more than 100 levels deep"):
        notebook_bytes(notebook_with_metadata(800))
    with pytest.raises(DocumentTooDeep):
        notebook_bytes(notebook_with_metadata(MAX_NESTING + 1))
    assert notebook_bytes(notebook_with_metadata(MAX_NESTING))


def test_a_deep_stored_notebook_is_unreadable_not_a_crash() -> None:
    """Stored bytes nested too deeply are an invalid notebook (422), never a RecursionError
    (nbformat's conversion recurses)."""
    body = json.dumps(notebook_with_metadata(800)).encode()
    for read in (parse_notebook_bytes, read_notebook):
        with pytest.raises(InvalidNotebook, match="nested more than 100 levels deep"):
            read(body)
    with pytest.raises(InvalidNotebook, match="nested more than 100 levels deep"):
        validate_notebook(notebook_with_metadata(MAX_NESTING + 1))
    too_deep_for_json = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(InvalidNotebook, match="100 levels deep"):
        parse_notebook_bytes(too_deep_for_json)


def test_whole_floats_in_integer_fields_are_integers() -> None:
    """JSON's ``5.0`` is the number ``5``; nbformat's draft-4 schema takes only ints."""
    notebook = json.loads(json.dumps(make_notebook(cells=1, output_bytes=10)))
    notebook["nbformat_minor"] = 5.0
    notebook["metadata"]["orig_nbformat"] = 4.0  # validated, then dropped (transient)
    notebook["metadata"]["ratio"] = 2.0  # not an integer field: kept as sent
    code = notebook["cells"][1]
    code["execution_count"] = 3.0
    code["outputs"].append(
        {"output_type": "execute_result", "execution_count": 3.0, "data": {}, "metadata": {}}
    )
    sent = json.dumps(notebook)
    stored = json.loads(notebook_bytes(notebook))
    assert json.dumps(notebook) == sent  # the caller's notebook is not changed
    assert type(stored["nbformat_minor"]) is int
    assert "orig_nbformat" not in stored["metadata"]
    assert type(stored["cells"][1]["execution_count"]) is int
    assert type(stored["cells"][1]["outputs"][1]["execution_count"]) is int
    assert stored["metadata"]["ratio"] == 2.0
    assert type(stored["metadata"]["ratio"]) is float
    notebook["nbformat_minor"] = 5.5
    with pytest.raises(InvalidNotebook, match="nbformat_minor"):
        notebook_bytes(notebook)
