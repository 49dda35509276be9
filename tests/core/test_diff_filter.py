"""Diff options (``hide``, ``only``) on nbdime's diffs of real notebooks: papermill runs of
one report and hand edits of a run (``tests/data/diff``, made by its ``make_notebooks.py``),
through the thread and the worker-process paths of the diff routes."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import nbdime
import nbformat
import pytest
from nbdime.diff_format import DiffEntry

from bookstore.core.diff import (
    DiffSide,
    diff_in_process,
    diff_notebooks,
    diff_summary,
    reply_bytes,
)
from bookstore.core.diff_filter import HIDE_PARTS, NO_OPTIONS, DiffOptions, filter_diff
from bookstore.errors import InvalidRequest

DATA = Path(__file__).resolve().parents[1] / "data" / "diff"


@cache
def _body(name: str) -> bytes:
    return (DATA / f"{name}.ipynb").read_bytes()


def read(name: str) -> Any:
    """One of the notebooks of ``tests/data/diff``, as Jupyter reads it."""
    return nbformat.reads(_body(name).decode(), as_version=4)


def nbdime_diff(base: str, remote: str) -> list[Any]:
    return list(nbdime.diff_notebooks(read(base), read(remote)))


def filtered(base: str, remote: str, hide: str = "", only: str | None = None) -> list[Any]:
    options = DiffOptions.parse(hide, only)
    return filter_diff(nbdime_diff(base, remote), options, read(base))


def summary(diff: list[Any]) -> str:
    return str(diff_summary(diff)["text"])


def cell_patches(diff: list[Any]) -> list[dict[str, Any]]:
    """The cells' list operations of a notebook diff."""
    return [op for entry in diff if entry["key"] == "cells" for op in entry["diff"]]


def cell_keys(diff: list[Any]) -> dict[int, set[str]]:
    """Cell index -> the keys its patch changes."""
    return {
        op["key"]: {change["key"] for change in op["diff"]}
        for op in cell_patches(diff)
        if op["op"] == "patch"
    }


def walk(entries: list[Any]) -> Iterator[dict[str, Any]]:
    """Every entry of a diff, nested ones too."""
    for entry in entries:
        yield entry
        if entry.get("op") == "patch":
            yield from walk(entry.get("diff", []))


# -- parsing ------------------------------------------------------------------------------


def test_options_parse_and_describe_themselves() -> None:
    options = DiffOptions.parse(" outputs, metadata,,outputs ", None)
    assert options.hide == {"outputs", "metadata"}
    assert options.to_dict() == {"hide": ["metadata", "outputs"], "only": None}
    assert DiffOptions.parse(["metadata", "outputs"], "").cache_key() == options.cache_key()
    assert DiffOptions.parse("", "outputs").to_dict() == {"hide": [], "only": "outputs"}
    assert DiffOptions.parse("papermill", "outputs").only == "outputs"
    assert DiffOptions.parse(None, None) == NO_OPTIONS
    assert not NO_OPTIONS.filters
    assert DiffOptions.from_dict(options.to_dict()) == options
    keys = {DiffOptions.parse(part, None).cache_key() for part in HIDE_PARTS}
    assert len(keys | {NO_OPTIONS.cache_key(), DiffOptions.parse("", "outputs").cache_key()}) == 6


def test_only_outputs_wins_over_hiding_them() -> None:
    options = DiffOptions.parse("outputs,metadata", "outputs")
    assert options.to_dict() == {"hide": ["metadata"], "only": "outputs"}
    assert options == DiffOptions.parse("metadata", "outputs")


@pytest.mark.parametrize(
    ("hide", "only", "words"),
    [
        ("output", None, ["'output'", "execution_count, metadata, outputs, papermill"]),
        ("outputs,sources", None, ["'sources'"]),
        ("", "source", ["'only' takes outputs", "'source'"]),
    ],
)
def test_options_refused_with_what_is_allowed(
    hide: str, only: str | None, words: list[str]
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        DiffOptions.parse(hide, only)
    for word in words:
        assert word in str(refused.value)


# -- filtering real diffs -------------------------------------------------------------------


def test_no_options_is_nbdimes_diff_as_is() -> None:
    diff = nbdime_diff("run-a", "run-b")
    assert filter_diff(diff, NO_OPTIONS, read("run-a")) is diff


def test_filtering_leaves_the_diff_it_filters_alone() -> None:
    diff = nbdime_diff("run-a", "run-b")
    before = copy.deepcopy(diff)
    for hide in (*HIDE_PARTS, ",".join(HIDE_PARTS)):
        filter_diff(diff, DiffOptions.parse(hide, None), read("run-a"))
    filter_diff(diff, DiffOptions.parse("", "outputs"), read("run-a"))
    assert diff == before


def test_two_runs_with_the_same_parameters_differ_only_in_papermills_records() -> None:
    diff = nbdime_diff("run-a", "run-a2")
    assert summary(diff) == "7 cells changed, metadata changed"
    assert filtered("run-a", "run-a2", "papermill") == []
    # Metadata hidden: what is left is the random id papermill gives its injected cell.
    left = filtered("run-a", "run-a2", "metadata")
    assert list(cell_keys(left).values()) == [{"id"}]
    [index] = cell_keys(left)
    assert "injected-parameters" in read("run-a").cells[index].metadata["tags"]


def test_hide_papermill_keeps_other_metadata_and_real_changes() -> None:
    diff = filtered("run-a", "run-b", "papermill")
    keys = cell_keys(diff)
    # The injected parameters changed, and so did the outputs of the three cells using them.
    assert summary(diff) == "4 cells changed"
    assert sorted(keys.values(), key=sorted) == [{"outputs"}] * 3 + [{"source"}]
    for entry in walk(diff):
        assert entry.get("key") not in {"papermill", "execution"}, entry
        assert isinstance(entry, DiffEntry)  # nbdime's pretty-printer reads its attributes
    # A notebook metadata change that is not papermill's stays.
    edited = filtered("run-a", "edited", "papermill")
    assert [entry["key"] for entry in edited] == ["cells", "metadata"]
    assert [change["key"] for change in edited[1]["diff"]] == ["authors"]


def test_hide_outputs() -> None:
    diff = filtered("run-a", "run-b", "outputs")
    assert all("outputs" not in keys for keys in cell_keys(diff).values())
    assert summary(diff) == "7 cells changed, metadata changed"  # papermill's records remain
    assert summary(filtered("run-a", "run-b", "outputs,papermill")) == "1 cell changed"
    # Added cells stay as they are.
    edited = filtered("run-a", "edited", "outputs")
    assert summary(edited) == "1 cell added, 1 cell changed, metadata changed"
    added = [op for op in cell_patches(edited) if op["op"] == "addrange"]
    assert [cell["source"] for op in added for cell in op["valuelist"]] == ["A note added by hand."]


def test_hide_metadata_hides_the_cells_and_the_notebooks() -> None:
    diff = filtered("run-a", "edited", "metadata")
    assert [entry["key"] for entry in diff] == ["cells"]
    assert summary(diff) == "1 cell added, 1 cell changed"
    assert list(cell_keys(diff).values()) == [{"source"}]


def test_hide_execution_counts_of_cells_and_of_their_results() -> None:
    diff = nbdime_diff("run-a", "rerun")
    assert summary(diff) == "5 cells changed"
    # The cells' counts, and the counts of their execute_result outputs.
    keys = cell_keys(diff)
    assert {"execution_count"} <= set.union(*keys.values())
    assert any(keys_of == {"execution_count", "outputs"} for keys_of in keys.values())
    assert filtered("run-a", "rerun", "execution_count") == []
    assert filtered("run-a", "rerun", "", "outputs") == []
    # Without the counts hidden, a re-run is a change of each cell (outputs too).
    assert summary(filtered("run-a", "rerun", "outputs")) == "5 cells changed"


def test_only_outputs() -> None:
    diff = filtered("run-a", "run-b", "", "outputs")
    assert [entry["key"] for entry in diff] == ["cells"]
    assert list(cell_keys(diff).values()) == [{"outputs"}] * 3
    for entry in walk(diff):
        assert entry.get("key") != "execution_count", entry
    # The outputs that changed are the ones the new parameters give.
    stream = next(
        change for op in cell_patches(diff) for outputs in op["diff"] for change in outputs["diff"]
    )
    assert stream["op"] == "patch"
    # Added cells stay; the edited source and the metadata go.
    assert summary(filtered("run-a", "edited", "", "outputs")) == "1 cell added"


def test_a_part_changed_as_a_whole_is_shown_or_hidden_whole() -> None:
    """nbdime's ``replace``/``add`` of a whole dict or list (no patch to take apart)."""
    replaced_cells = [{"op": "replace", "key": "cells", "value": []}]
    assert filter_diff(replaced_cells, DiffOptions.parse("outputs", None)) == replaced_cells
    added_metadata = [
        {"op": "patch", "key": "cells", "diff": [
            {"op": "patch", "key": 0, "diff": [
                {"op": "add", "key": "metadata", "value": {"papermill": {}}},
            ]},
        ]},
    ]  # fmt: skip
    assert filter_diff(added_metadata, DiffOptions.parse("papermill", None)) == added_metadata
    assert filter_diff(added_metadata, DiffOptions.parse("metadata", None)) == []


# -- the reply, in a thread and in the worker process ---------------------------------------


def side(name: str, version: str) -> DiffSide:
    body = _body(name)
    reference = {"id": version, "path": "report.ipynb", "last_modified": None, "current": False}
    return DiffSide(reference, None, len(body), body)


async def test_diff_results_carry_their_options_and_count_what_is_left() -> None:
    options = DiffOptions.parse("papermill", None)
    result = await diff_notebooks(side("run-a", "a"), side("run-a2", "a2"), options)
    assert result.diff == []
    document = result.to_dict("report.ipynb", content=False)
    assert document["options"] == {"hide": ["papermill"], "only": None}
    assert document["summary"]["text"] == "no changes"
    whole = (await diff_notebooks(side("run-a", "a"), side("run-a2", "a2"))).to_dict("r")
    assert whole["options"] == {"hide": [], "only": None}
    assert whole["summary"]["cells_changed"] == 7


@pytest.mark.parametrize(("hide", "only"), [("papermill", None), ("", "outputs"), ("", None)])
async def test_the_worker_process_applies_the_options_too(hide: str, only: str | None) -> None:
    options = DiffOptions.parse(hide, only)
    base, remote = side("run-a", "a"), side("run-b", "b")
    in_process = await diff_in_process(base, remote, "report.ipynb", content=True, options=options)
    in_thread = reply_bytes("report.ipynb", True, base, remote, options)
    assert json.loads(in_process) == json.loads(in_thread)
    reply = json.loads(in_process)
    assert reply["options"] == options.to_dict()
    assert reply["summary"] == diff_summary(filtered("run-a", "run-b", hide, only))
