"""Diff options: hide parts of nbdime's notebook diff, or keep only the outputs' changes.

The diff stays nbdime's (:func:`nbdime.diff_notebooks`): :func:`filter_diff` only removes
entries from it, so nbdime's widgets and pretty-printer render the rest as they are.

* ``hide`` is a set of :data:`HIDE_PARTS`: ``outputs``, ``metadata`` (the cells' and the
  notebook's), ``execution_count`` (the cells' and their outputs' counts) and
  ``papermill`` (what papermill writes: the ``papermill`` key of the notebook's
  metadata, the ``papermill`` and ``execution`` keys of the cells' metadata, and the
  random id of the cell it injects the parameters in);
* ``only="outputs"`` keeps the changes of the cells' outputs (without their counts) and
  drops everything else; it wins over ``hide=outputs`` (the options then say
  ``outputs`` is not hidden).

Cells whose changes were all hidden become unchanged (their patch is dropped), and so
does the cells' list when nothing in it is left; added and removed cells stay, with their
content as is.  A part that changed as a whole (nbdime's ``replace`` or ``add`` of a
cell's ``metadata``, say) is hidden or shown as a whole.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidRequest

__all__ = [
    "HIDE_PARTS",
    "NO_OPTIONS",
    "ONLY_PARTS",
    "DiffOptions",
    "filter_diff",
]

#: What ``hide`` may name.
HIDE_PARTS = ("execution_count", "metadata", "outputs", "papermill")
#: What ``only`` may name.
ONLY_PARTS = ("outputs",)
#: The keys papermill writes into a notebook's metadata, and into each cell's.
PAPERMILL_NOTEBOOK_KEYS = frozenset({"papermill"})
PAPERMILL_CELL_KEYS = frozenset({"papermill", "execution"})
#: The tag of the cell papermill injects the parameters in (with a new random id each run).
INJECTED_PARAMETERS_TAG = "injected-parameters"


@dataclass(frozen=True)
class DiffOptions:
    """What a diff leaves out: ``hide`` (parts of :data:`HIDE_PARTS`) or ``only``
    (``"outputs"``, or None for everything)."""

    hide: frozenset[str] = field(default_factory=frozenset)
    only: str | None = None

    @classmethod
    def parse(cls, hide: str | Iterable[str] | None, only: str | None) -> DiffOptions:
        """The options of a request: ``hide`` comma-separated (or a list of words),
        ``only`` one word; :class:`InvalidRequest` naming the allowed words otherwise."""
        words = hide.split(",") if isinstance(hide, str) else list(hide or [])
        parts = {word.strip() for word in words if word.strip()}
        unknown = sorted(parts.difference(HIDE_PARTS))
        if unknown:
            raise InvalidRequest(
                f"'hide' cannot hide {', '.join(map(repr, unknown))}: it takes any of "
                f"{', '.join(HIDE_PARTS)}, separated by commas."
            )
        only = (only or "").strip() or None
        if only is not None and only not in ONLY_PARTS:
            raise InvalidRequest(f"'only' takes {' or '.join(ONLY_PARTS)}, not {only!r}.")
        if only == "outputs":
            # what the outputs' changes are shown for: hiding them too would show nothing
            parts.discard("outputs")
        return cls(frozenset(parts), only)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DiffOptions:
        """The options of :meth:`to_dict` (checked again)."""
        data = data or {}
        return cls.parse(list(data.get("hide") or []), data.get("only"))

    @property
    def filters(self) -> bool:
        """Whether these options leave anything out."""
        return bool(self.hide) or self.only is not None

    def to_dict(self) -> dict[str, Any]:
        """The ``options`` of a diff reply: ``{"hide": [sorted], "only": None|str}``."""
        return {"hide": sorted(self.hide), "only": self.only}

    def cache_key(self) -> str:
        """One string per distinct set of options (for caches)."""
        return f"hide={','.join(sorted(self.hide))};only={self.only or ''}"


#: No options: the whole diff.
NO_OPTIONS = DiffOptions()


def filter_diff(
    diff: list[Any], options: DiffOptions, base: dict[str, Any] | None = None
) -> list[Any]:
    """nbdime's notebook ``diff`` without what ``options`` leave out (a new list; the
    entries kept are shared).  ``base`` is the diff's base notebook: it tells which cell
    papermill injected (whose id changes on every run)."""
    if not options.filters:
        return diff
    base_cells = base.get("cells") if isinstance(base, dict) else None
    kept: list[Any] = []
    for entry in diff:
        key = entry.get("key")
        if key == "cells":
            if entry.get("op") == "patch":
                cells = _filter_cells(entry.get("diff", []), options, base_cells)
                if cells:
                    kept.append(_with_diff(entry, cells))
            else:
                kept.append(entry)  # the whole list replaced: nothing to take apart
            continue
        if options.only is not None:
            continue  # the notebook's own fields are no output
        if key == "metadata":
            if "metadata" in options.hide:
                continue
            if "papermill" in options.hide:
                metadata = _without_keys(entry, PAPERMILL_NOTEBOOK_KEYS)
                if metadata is not None:
                    kept.append(metadata)
                continue
        kept.append(entry)
    return kept


def _filter_cells(
    operations: list[Any], options: DiffOptions, base_cells: list[Any] | None
) -> list[Any]:
    """The cells' list diff without hidden changes; emptied cell patches dropped."""
    kept: list[Any] = []
    for operation in operations:
        if operation.get("op") != "patch":
            kept.append(operation)  # cells added or removed
            continue
        index = operation.get("key")
        base_cell = None
        if isinstance(base_cells, list) and isinstance(index, int) and 0 <= index < len(base_cells):
            base_cell = base_cells[index]
        changes = _filter_cell(operation.get("diff", []), options, base_cell)
        if changes:
            kept.append(_with_diff(operation, changes))
    return kept


def _filter_cell(entries: list[Any], options: DiffOptions, base_cell: Any) -> list[Any]:
    """One cell's changes without the hidden ones."""
    hide = options.hide
    kept: list[Any] = []
    for entry in entries:
        key = entry.get("key")
        left: dict[str, Any] | None = entry
        if options.only == "outputs":
            if key != "outputs":
                continue
            left = _outputs_without_counts(entry)
        elif key in hide:
            continue  # outputs, metadata or execution_count
        elif key == "outputs" and "execution_count" in hide:
            left = _outputs_without_counts(entry)
        elif key == "metadata" and "papermill" in hide:
            left = _without_keys(entry, PAPERMILL_CELL_KEYS)
        elif key == "id" and "papermill" in hide and _injected(base_cell):
            continue
        if left is not None:
            kept.append(left)
    return kept


def _without_keys(entry: dict[str, Any], keys: frozenset[str]) -> dict[str, Any] | None:
    """A dict's patch without the changes of ``keys``; None when nothing is left.  A dict
    added, removed or replaced whole stays as it is."""
    if entry.get("op") != "patch":
        return entry
    changes = [change for change in entry.get("diff", []) if change.get("key") not in keys]
    return _with_diff(entry, changes) if changes else None


def _outputs_without_counts(entry: dict[str, Any]) -> dict[str, Any] | None:
    """A cell's outputs patch without the outputs' ``execution_count`` changes; None
    when nothing is left."""
    if entry.get("op") != "patch":
        return entry
    outputs: list[Any] = []
    for change in entry.get("diff", []):
        left = change
        if change.get("op") == "patch":
            left = _without_keys(change, frozenset({"execution_count"}))
        if left is not None:
            outputs.append(left)
    return _with_diff(entry, outputs) if outputs else None


def _with_diff(entry: dict[str, Any], diff: list[Any]) -> dict[str, Any]:
    """A copy of the patch ``entry`` with ``diff`` as its changes, of the entry's own class
    (nbdime's pretty-printer reads its ``DiffEntry`` by attribute)."""
    patched = copy.copy(entry)
    patched["diff"] = diff
    return patched


def _injected(cell: Any) -> bool:
    """Whether ``cell`` is the one papermill injected the parameters in."""
    if not isinstance(cell, dict):
        return False
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return isinstance(tags, list) and INJECTED_PARAMETERS_TAG in tags
