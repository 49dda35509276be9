"""Diffs between two versions of a notebook, or a version and the file as it is now.

A side of a diff is a :class:`DiffSide`: what it is (a version id and the path it was
saved under, or the current file) and the notebook.  The diff itself is nbdime's
(:func:`nbdime.diff_notebooks`), whose format JupyterLab's nbdime widgets render as is;
:func:`diff_summary` counts what changed in words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import InvalidRequest, UnsupportedContent
from ..keys import is_notebook_path
from ..notebooks import read_notebook, run_cpu
from .history import History

__all__ = [
    "CURRENT",
    "LATEST",
    "CurrentNotebook",
    "DiffResult",
    "DiffSide",
    "diff_notebooks",
    "diff_refs",
    "diff_side",
    "diff_summary",
    "diff_versions",
    "nbdime_diff",
]

#: Diff references that are not version ids: the file as it is now, the newest version.
CURRENT, LATEST = "current", "latest"


@dataclass(frozen=True)
class DiffSide:
    """One side of a diff: ``reference`` says what it is (``id``, ``path``,
    ``last_modified``, ``current``), ``notebook`` is the parsed notebook, ``size`` its
    size in bytes."""

    reference: dict[str, Any]
    notebook: dict[str, Any]
    size: int

    @classmethod
    def current(
        cls, path: str, notebook: dict[str, Any], size: int, last_modified: datetime | None
    ) -> DiffSide:
        """The side of the workspace file ``path`` as it is now."""
        reference = {"id": None, "path": path, "last_modified": last_modified, "current": True}
        return cls(reference, notebook, size)


#: Reads the workspace file ``path`` as it is now (through Jupyter, or from disk).
CurrentNotebook = Callable[[str], Awaitable[DiffSide]]


async def stored_side(history: History, path: str, ref: str) -> DiffSide:
    """The side of a stored version, ``ref`` being a version id or ``latest``."""
    stored, saved_path = await history.find(path, None if ref == LATEST else ref)
    notebook = await run_cpu(len(stored.body), read_notebook, stored.body)
    reference = {
        "id": stored.info.version_id,
        "path": saved_path,
        "last_modified": stored.info.last_modified,
        "current": False,
    }
    return DiffSide(reference, notebook, len(stored.body))


async def diff_side(
    history: History, path: str, ref: str, current_notebook: CurrentNotebook
) -> DiffSide:
    """One side of a diff of ``path``: ``ref`` is a version id, ``latest``, or
    ``current`` (the workspace file now, read by ``current_notebook``)."""
    if ref != CURRENT:
        return await stored_side(history, path, ref)
    if history.area != "workspace":
        raise InvalidRequest("'current' names a workspace file; use 'latest' or an id.")
    return await current_notebook(path)


@dataclass(frozen=True)
class DiffResult:
    """An nbdime diff between two notebooks, with what each side is."""

    base: dict[str, Any]
    remote: dict[str, Any]
    base_notebook: dict[str, Any]
    diff: list[Any]

    def to_dict(self, path: str, *, content: bool = True) -> dict[str, Any]:
        """The JSON reply of the diff routes."""
        return {
            "path": path,
            "base": self.base,
            "remote": self.remote,
            "diff": self.diff,
            "summary": diff_summary(self.diff),
            "base_notebook": self.base_notebook if content else None,
        }


def diff_summary(diff: list[Any]) -> dict[str, Any]:
    """Count the cells added, removed and changed in an nbdime notebook diff."""
    added = removed = changed = 0
    metadata_changed = False
    for entry in diff:
        if entry.get("key") == "cells" and entry.get("op") == "patch":
            for cell_op in entry.get("diff", []):
                op = cell_op.get("op")
                if op == "addrange":
                    added += len(cell_op.get("valuelist", []))
                elif op == "removerange":
                    removed += int(cell_op.get("length", 0))
                elif op == "patch":
                    changed += 1
        elif entry.get("key") == "cells":
            changed += 1
        else:
            metadata_changed = True
    parts = [
        _count(added, "added"),
        _count(removed, "removed"),
        _count(changed, "changed"),
    ]
    text = ", ".join(part for part in parts if part)
    if metadata_changed:
        text = f"{text}, metadata changed" if text else "metadata changed"
    return {
        "cells_added": added,
        "cells_removed": removed,
        "cells_changed": changed,
        "metadata_changed": metadata_changed,
        "text": text or "no changes",
    }


def _count(number: int, what: str) -> str:
    if not number:
        return ""
    return f"{number} cell{'s' if number != 1 else ''} {what}"


def nbdime_diff(base: dict[str, Any], remote: dict[str, Any]) -> list[Any]:
    """nbdime's notebook diff (imported on first use: nbdime is large)."""
    import nbdime

    return list(nbdime.diff_notebooks(base, remote))


async def diff_notebooks(base: DiffSide, remote: DiffSide) -> DiffResult:
    """Diff two sides, off the event loop when they are large."""
    diff = await run_cpu(base.size + remote.size, nbdime_diff, base.notebook, remote.notebook)
    return DiffResult(
        base=base.reference, remote=remote.reference, base_notebook=base.notebook, diff=diff
    )


def diff_refs(area: str, path: str, base: str | None, remote: str | None) -> tuple[str, str]:
    """Check what a diff of ``path`` in ``area`` compares: a notebook, and a ``base``;
    ``remote`` defaults to ``current`` in the workspace, else ``latest``."""
    if not is_notebook_path(path):
        raise UnsupportedContent("Diffs are for notebooks (.ipynb) only.")
    if not base:
        raise InvalidRequest("'base' is required: a version id, 'latest' or 'current'.")
    return base, remote or (CURRENT if area == "workspace" else LATEST)


async def diff_versions(
    history: History,
    path: str,
    base: str | None,
    remote: str | None,
    current_notebook: CurrentNotebook,
) -> DiffResult:
    """The diff of notebook ``path`` from ``base`` to ``remote`` (version ids, ``latest``
    or ``current``, checked by :func:`diff_refs`)."""
    base, remote = diff_refs(history.area, path, base, remote)
    base_side, remote_side = await asyncio.gather(
        diff_side(history, path, base, current_notebook),
        diff_side(history, path, remote, current_notebook),
    )
    return await diff_notebooks(base_side, remote_side)
