"""Diffs between two versions of a notebook, or a version and the file as it is now.

A side of a diff is a :class:`DiffSide`: what it is (a version id and the path it was
saved under, or the current file) and the notebook, or the bytes it is parsed from.

Big diffs never hold the event loop: sides are parsed, validated and diffed in a worker
thread, and above :data:`PROCESS_DIFF_BYTES` (both sides together) in a separate process
that also writes the JSON reply (:func:`diff_reply`), since parsing and encoding JSON
keep Python's interpreter lock for their whole length (:mod:`.diff_worker`).  The diff
itself is nbdime's
(:func:`nbdime.diff_notebooks`), whose format JupyterLab's nbdime widgets render as is,
less what the request's :class:`~.diff_filter.DiffOptions` hide (filtered where the diff
is made, in the thread or the process); :func:`diff_summary` counts what is left in words.

The server keeps recent replies in a :class:`~.diff_cache.DiffCache`
(:func:`cached_diff_reply`): a side is keyed by its resolved version id (``latest`` is
looked up with one HEAD), the workspace file by the hash of its bytes.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import errors as errors_module
from ..errors import BookstoreError, DiffTooLarge, InvalidRequest, UnsupportedContent
from ..keys import check_version_id, is_notebook_path
from ..notebooks import read_notebook, run_cpu
from ..timestamps import json_default
from .archive.spool import pending_seq
from .diff_cache import DiffCache, DiffKey
from .diff_filter import NO_OPTIONS, DiffOptions, filter_diff
from .history import History

__all__ = [
    "CURRENT",
    "LATEST",
    "PROCESS_DIFF_BYTES",
    "CurrentNotebook",
    "DiffOptions",
    "DiffResult",
    "DiffSide",
    "cached_diff_reply",
    "diff_notebooks",
    "diff_refs",
    "diff_reply",
    "diff_side",
    "diff_sides",
    "diff_summary",
    "diff_versions",
    "nbdime_diff",
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
    """An nbdime diff between two notebooks (less what ``options`` hide), with what
    each side is."""

    base: dict[str, Any]
    remote: dict[str, Any]
    base_notebook: dict[str, Any]
    diff: list[Any]
    options: DiffOptions = NO_OPTIONS

    def to_dict(self, path: str, *, content: bool = True) -> dict[str, Any]:
        """The JSON reply of the diff routes."""
        return {
            "path": path,
            "base": self.base,
            "remote": self.remote,
            "diff": self.diff,
            "summary": diff_summary(self.diff),
            "options": self.options.to_dict(),
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


def _diff_sides(base: DiffSide, remote: DiffSide, options: DiffOptions = NO_OPTIONS) -> DiffResult:
    """Parse (if need be) and diff two sides, less what ``options`` hide (CPU-bound)."""
    base_notebook = base.parsed()
    diff = filter_diff(nbdime_diff(base_notebook, remote.parsed()), options, base_notebook)
    return DiffResult(
        base=base.reference,
        remote=remote.reference,
        base_notebook=base_notebook,
        diff=diff,
        options=options,
    )


def reply_bytes(
    path: str,
    content: bool,
    base: DiffSide,
    remote: DiffSide,
    options: DiffOptions = NO_OPTIONS,
) -> bytes:
    """The JSON reply of a diff of ``path`` (CPU-bound; :mod:`.diff_worker` runs it too)."""
    result = _diff_sides(base, remote, options)
    return json.dumps(result.to_dict(path, content=content), default=json_default).encode()


async def diff_notebooks(
    base: DiffSide, remote: DiffSide, options: DiffOptions = NO_OPTIONS
) -> DiffResult:
    """Diff two sides, off the event loop when they are large."""
    return await run_cpu(base.size + remote.size, _diff_sides, base, remote, options)


#: The exit status of a diff worker that refused its input (the reply says why).
WORKER_REFUSED = 3

_log = logging.getLogger(__name__)


class DiffWorker:
    """One long-lived worker process for big diffs (``python -m
    bookstore.core.diff_worker``, started on first use and again if it dies): the sides go
    in as bytes on its stdin, the JSON reply comes back on its stdout.  One diff at a
    time; the pipes are driven from a worker thread, so the event loop never waits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def _started(self) -> subprocess.Popen[bytes]:
        process = self._process
        if process is None or process.poll() is not None:
            process = self._process = subprocess.Popen(
                [sys.executable, "-m", "bookstore.core.diff_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return process

    def run(self, header: dict[str, Any], base: bytes, remote: bytes) -> tuple[int, bytes]:
        """One exchange (blocking): ``(status, reply)``; status -1 when the worker died."""
        with self._lock:
            process = self._started()
            assert process.stdin is not None
            assert process.stdout is not None
            try:
                process.stdin.write(json.dumps(header, default=json_default).encode() + b"\n")
                process.stdin.write(base)
                process.stdin.write(remote)
                process.stdin.flush()
                status_line = process.stdout.readline()
                answer = json.loads(status_line)
                reply = process.stdout.read(int(answer["size"]))
            except (OSError, ValueError, KeyError):
                self.close_locked()
                return -1, b""
            return int(answer["status"]), reply

    def close(self) -> None:
        """Stop the worker process, if it runs."""
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()


#: The server's diff worker.
DIFF_WORKER = DiffWorker()
atexit.register(DIFF_WORKER.close)


async def diff_in_process(
    base: DiffSide,
    remote: DiffSide,
    path: str,
    *,
    content: bool,
    options: DiffOptions = NO_OPTIONS,
) -> bytes:
    """:func:`reply_bytes` in :data:`DIFF_WORKER`'s process."""
    base_body, remote_body = base.body, remote.body
    assert base_body is not None
    assert remote_body is not None
    header = {
        "path": path,
        "content": content,
        "options": options.to_dict(),
        "base": base.reference,
        "remote": remote.reference,
        "base_size": len(base_body),
        "remote_size": len(remote_body),
    }
    status, reply = await asyncio.to_thread(DIFF_WORKER.run, header, base_body, remote_body)
    if status == 0:
        return reply
    if status == WORKER_REFUSED:
        refused = json.loads(reply)
        error_class = getattr(errors_module, str(refused.get("error")), None)
        if isinstance(error_class, type) and issubclass(error_class, BookstoreError):
            raise error_class(str(refused.get("message")))
    _log.warning("bookstore: the diff worker process stopped during a diff of %r", path)
    raise DiffTooLarge(
        "The diff's worker process stopped before it finished (the notebooks may be too "
        "large for this server's memory)."
    )


async def diff_reply(
    base: DiffSide,
    remote: DiffSide,
    path: str,
    *,
    content: bool,
    options: DiffOptions = NO_OPTIONS,
) -> bytes:
    """The JSON reply of the diff routes, made off the event loop: in a worker thread, or
    above :data:`PROCESS_DIFF_BYTES` in a worker process (sides sent as bytes)."""
    size = base.size + remote.size
    if size <= PROCESS_DIFF_BYTES or base.body is None or remote.body is None:
        return await run_cpu(size, reply_bytes, path, content, base, remote, options)
    return await diff_in_process(base, remote, path, content=content, options=options)


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
    *,
    options: DiffOptions = NO_OPTIONS,
) -> DiffResult:
    """The diff of notebook ``path`` from ``base`` to ``remote`` (see :func:`diff_sides`),
    less what ``options`` hide."""
    base_side, remote_side = await diff_sides(history, path, base, remote, current_notebook)
    return await diff_notebooks(base_side, remote_side, options)


async def cached_diff_reply(
    cache: DiffCache,
    history: History,
    path: str,
    base: str,
    remote: str,
    *,
    current_notebook: CurrentNotebook,
    content: bool,
    options: DiffOptions = NO_OPTIONS,
) -> bytes:
    """:func:`diff_reply` of ``path`` from ``base`` to ``remote`` (checked by
    :func:`diff_refs`), from ``cache`` when it holds it (then no version is read).

    A stored side is keyed by its version id (``latest``: the id one HEAD gives now), the
    workspace file (``current``, read every time) by the SHA-256 of its bytes and its
    modification time.  Pending saves, and sides the cache cannot name, are never cached."""
    current: DiffSide | None = None
    if CURRENT in (base, remote):
        if history.area != "workspace":
            raise InvalidRequest("'current' names a workspace file; use 'latest' or an id.")
        current = await current_notebook(path)
    refs = (base, remote)
    names = await asyncio.gather(*(_cache_name(history, path, ref, current) for ref in refs))
    key: DiffKey | None = None
    if cache.enabled and None not in names:
        key = DiffKey(
            area=history.area,
            key=history.key_for(path),
            base=str(names[0]),
            remote=str(names[1]),
            options=options.cache_key(),
            content=content,
        )
        cached = cache.get(key)
        if cached is not None:
            return cached

    async def side(ref: str, name: str | None) -> DiffSide:
        if ref == CURRENT:
            assert current is not None
            return current
        # A resolved 'latest' is read by its id: the reply is the one its key names.
        if ref == LATEST and name is not None:
            ref = name.removeprefix("v:")
        return await stored_side(history, path, ref)

    base_side, remote_side = await asyncio.gather(side(base, names[0]), side(remote, names[1]))
    reply = await diff_reply(base_side, remote_side, path, content=content, options=options)
    if key is not None:
        cache.put(key, reply)
    return reply


async def _cache_name(
    history: History, path: str, ref: str, current: DiffSide | None
) -> str | None:
    """What a side is, for the cache: ``v:<id>`` of a stored version, ``sha256:…`` of the
    workspace file; None when it cannot be named (a pending save, an unreadable
    ``latest``: the diff itself then says what is wrong)."""
    if ref == CURRENT:
        if current is None or current.body is None:
            return None
        digest = await run_cpu(len(current.body), _sha256, current.body)
        modified = current.reference.get("last_modified")
        when = modified.isoformat() if isinstance(modified, datetime) else str(modified)
        return f"sha256:{digest}@{when}"
    if ref == LATEST:
        try:
            info = await history.store.head(history.key_for(path))
        except BookstoreError:
            return None
        return f"v:{info.version_id}" if info.version_id else None
    check_version_id(ref)
    if pending_seq(ref) is not None:
        return None
    return f"v:{ref}"


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
