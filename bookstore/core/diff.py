"""Diffs between two versions of a notebook, or a version and the file as it is now.

A side of a diff is a :class:`DiffSide`: what it is (a version id and the path it was
saved under, or the current file) and the notebook, or the bytes it is parsed from.

Big diffs never hold the event loop: sides are parsed, validated and diffed in a worker
thread, and above :data:`PROCESS_DIFF_BYTES` (both sides together) in a separate process
that also writes the JSON reply (:func:`diff_reply`), since parsing and encoding JSON
keep Python's interpreter lock for their whole length.  The diff itself is nbdime's
(:func:`nbdime.diff_notebooks`), whose format JupyterLab's nbdime widgets render as is;
:func:`diff_summary` counts what changed in words.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import DiffTooLarge, InvalidRequest, UnsupportedContent
from ..keys import is_notebook_path
from ..notebooks import read_notebook, run_cpu
from ..timestamps import json_default
from .history import History

__all__ = [
    "CURRENT",
    "LATEST",
    "PROCESS_DIFF_BYTES",
    "CurrentNotebook",
    "DiffResult",
    "DiffSide",
    "diff_notebooks",
    "diff_pool",
    "diff_refs",
    "diff_reply",
    "diff_side",
    "diff_sides",
    "diff_summary",
    "diff_versions",
    "nbdime_diff",
    "shutdown_diff_pool",
]

#: Diff references that are not version ids: the file as it is now, the newest version.
CURRENT, LATEST = "current", "latest"
#: Diffs of bigger sides (bytes, both together) run in a separate process.
PROCESS_DIFF_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class DiffSide:
    """One side of a diff: ``reference`` says what it is (``id``, ``path``,
    ``last_modified``, ``current``), ``notebook`` is the parsed notebook (None: not parsed
    yet, see :meth:`parsed`), ``size`` its size in bytes, ``body`` its bytes when known."""

    reference: dict[str, Any]
    notebook: dict[str, Any] | None
    size: int
    body: bytes | None = None

    @classmethod
    def current(
        cls,
        path: str,
        notebook: dict[str, Any] | None,
        size: int,
        last_modified: datetime | None,
        body: bytes | None = None,
    ) -> DiffSide:
        """The side of the workspace file ``path`` as it is now."""
        reference = {"id": None, "path": path, "last_modified": last_modified, "current": True}
        return cls(reference, notebook, size, body)

    def parsed(self) -> dict[str, Any]:
        """The notebook, parsed and validated from :attr:`body` if need be (CPU-bound)."""
        if self.notebook is not None:
            return self.notebook
        assert self.body is not None
        notebook: dict[str, Any] = read_notebook(self.body)
        return notebook


#: Reads the workspace file ``path`` as it is now (through Jupyter, or from disk).
CurrentNotebook = Callable[[str], Awaitable[DiffSide]]


async def stored_side(history: History, path: str, ref: str) -> DiffSide:
    """The side of a stored version, ``ref`` being a version id or ``latest``."""
    stored, saved_path = await history.find(path, None if ref == LATEST else ref)
    reference = {
        "id": stored.info.version_id,
        "path": saved_path,
        "last_modified": stored.info.last_modified,
        "current": False,
    }
    return DiffSide(reference, None, len(stored.body), stored.body)


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


def _diff_sides(base: DiffSide, remote: DiffSide) -> DiffResult:
    """Parse (if need be) and diff two sides (CPU-bound)."""
    base_notebook = base.parsed()
    diff = nbdime_diff(base_notebook, remote.parsed())
    return DiffResult(
        base=base.reference, remote=remote.reference, base_notebook=base_notebook, diff=diff
    )


def _reply_bytes(path: str, content: bool, base: DiffSide, remote: DiffSide) -> bytes:
    """The JSON reply of a diff of ``path`` (CPU-bound; runs in :func:`diff_pool` too)."""
    result = _diff_sides(base, remote)
    return json.dumps(result.to_dict(path, content=content), default=json_default).encode()


async def diff_notebooks(base: DiffSide, remote: DiffSide) -> DiffResult:
    """Diff two sides, off the event loop when they are large."""
    return await run_cpu(base.size + remote.size, _diff_sides, base, remote)


class _Pools:
    """Where the diff process pool is kept between diffs."""

    diff: ProcessPoolExecutor | None = None


def diff_pool() -> ProcessPoolExecutor:
    """The one worker process big diffs run in (started on first use; a fresh
    interpreter, not a fork of the server)."""
    if _Pools.diff is None:
        context = multiprocessing.get_context("spawn")
        _Pools.diff = ProcessPoolExecutor(max_workers=1, mp_context=context)
    return _Pools.diff


def shutdown_diff_pool() -> None:
    """Stop the diff worker process, if it was started."""
    pool, _Pools.diff = _Pools.diff, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


async def diff_reply(base: DiffSide, remote: DiffSide, path: str, *, content: bool) -> bytes:
    """The JSON reply of the diff routes, made off the event loop: in a worker thread, or
    above :data:`PROCESS_DIFF_BYTES` in the diff process (sides sent as bytes)."""
    size = base.size + remote.size
    if size <= PROCESS_DIFF_BYTES or base.body is None or remote.body is None:
        return await run_cpu(size, _reply_bytes, path, content, base, remote)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(diff_pool(), _reply_bytes, path, content, base, remote)
    except BrokenProcessPool:
        shutdown_diff_pool()  # the worker died (e.g. out of memory): the next diff starts one
        raise DiffTooLarge(
            "The diff's worker process stopped before it finished (the notebooks may be too "
            "large for this server's memory)."
        ) from None


def diff_refs(area: str, path: str, base: str | None, remote: str | None) -> tuple[str, str]:
    """Check what a diff of ``path`` in ``area`` compares: a notebook, and a ``base``;
    ``remote`` defaults to ``current`` in the workspace, else ``latest``."""
    if not is_notebook_path(path):
        raise UnsupportedContent("Diffs are for notebooks (.ipynb) only.")
    if not base:
        raise InvalidRequest("'base' is required: a version id, 'latest' or 'current'.")
    return base, remote or (CURRENT if area == "workspace" else LATEST)


async def diff_sides(
    history: History,
    path: str,
    base: str | None,
    remote: str | None,
    current_notebook: CurrentNotebook,
) -> tuple[DiffSide, DiffSide]:
    """The two sides of a diff of notebook ``path`` from ``base`` to ``remote`` (version
    ids, ``latest`` or ``current``, checked by :func:`diff_refs`), not parsed yet."""
    base, remote = diff_refs(history.area, path, base, remote)
    base_side, remote_side = await asyncio.gather(
        diff_side(history, path, base, current_notebook),
        diff_side(history, path, remote, current_notebook),
    )
    return base_side, remote_side


async def diff_versions(
    history: History,
    path: str,
    base: str | None,
    remote: str | None,
    current_notebook: CurrentNotebook,
) -> DiffResult:
    """The diff of notebook ``path`` from ``base`` to ``remote`` (see :func:`diff_sides`)."""
    base_side, remote_side = await diff_sides(history, path, base, remote, current_notebook)
    return await diff_notebooks(base_side, remote_side)
