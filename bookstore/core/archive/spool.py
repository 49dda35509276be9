"""The archive spool: pending archives recorded on local disk before a save returns.

Each pending archive is one file ``{seq:020d}.entry`` in the spool directory: a first
line of JSON (the object key, the notebook path, the save time) followed by the saved
bytes.  It is written to a hidden temporary name and renamed into place, so an entry
is either complete or absent, whatever moment the process dies at.  Sequence numbers
grow across restarts (they start from the clock and never go below the highest one
on disk), so sorting by ``seq`` replays saves in the order they happened.

Content waits on disk, not in memory: an entry in memory is a few fields.  The one
exception is a save the spool could not take (its disk is full): :meth:`Spool.hold`
keeps those bytes in memory instead, so the save is still archived, in order, and the
archiver reports why (:class:`SpoolFull`).

The pending saves of a key can be listed (:func:`pending_id` names them in histories)
and read back, by the server's archiver and, from disk, by the command line.

Besides saves, the spool records *history operations* (a rename or a delete of a file,
see :mod:`bookstore.core.archive.archiver`): entries with an ``action`` and no body, replayed in the
same order as the saves around them.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["PENDING_ID_PREFIX", "Spool", "SpoolEntry", "pending_id", "pending_seq"]

#: What an entry can record.
ACTIONS = frozenset({"save", "rename", "delete"})
_SUFFIX = ".entry"
_FAILED_DIR = "failed"
#: How the versions listing names a save still waiting in the spool: ``pending-<seq>``.
PENDING_ID_PREFIX = "pending-"


def pending_id(seq: int) -> str:
    """The id a listing gives the pending save ``seq``."""
    return f"{PENDING_ID_PREFIX}{seq}"


def pending_seq(version_id: str) -> int | None:
    """The spool sequence number a :func:`pending_id` names (None: not a pending id)."""
    if not version_id.startswith(PENDING_ID_PREFIX):
        return None
    digits = version_id[len(PENDING_ID_PREFIX) :]
    return int(digits) if digits.isdigit() and len(digits) <= 20 else None


@dataclass(frozen=True, order=True)
class SpoolEntry:
    """One pending archive: ``seq`` orders entries; the content stays in ``file``."""

    seq: int
    key: str
    path: str
    saved_at: float
    #: Where the entry waits on disk (None: held in memory, see :meth:`Spool.hold`).
    file: Path | None
    #: ``"save"`` (the body is the saved file), ``"rename"`` or ``"delete"``.
    action: str = "save"
    #: For a rename: the new key and path.
    target_key: str = ""
    target_path: str = ""
    #: The saved bytes, for an entry held in memory only.
    body: bytes | None = field(default=None, compare=False, repr=False)
    #: The size of the saved bytes (``-1`` when unknown: an entry read back from disk).
    size: int = field(default=-1, compare=False)


class Spool:
    """A directory of pending archives; safe to use from several threads."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._last_seq = 0

    def open(self) -> list[SpoolEntry]:
        """Create the directory, drop half-written files, and return what is pending, in order."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / _FAILED_DIR).mkdir(exist_ok=True)
        for leftover in self.directory.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)
        entries = []
        for file in self.directory.glob(f"*{_SUFFIX}"):
            entry = self._read_header(file)
            if entry is None:
                self._move_to_failed(file)
            else:
                entries.append(entry)
        entries.sort()
        with self._lock:
            self._last_seq = max([self._last_seq, *(entry.seq for entry in entries)])
        return entries

    def _next_seq(self) -> int:
        with self._lock:
            self._last_seq = max(self._last_seq + 1, time.time_ns())
            return self._last_seq

    def add_file(self, key: str, path: str, source: str | os.PathLike[str]) -> SpoolEntry:
        """Record the current bytes of the file ``source`` as a pending archive of ``key``;
        :class:`OSError` when the spool cannot take them (e.g. its disk is full)."""
        with open(source, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            entry = self._write(key, path, lambda dst: shutil.copyfileobj(src, dst, 1 << 20))
        return dataclasses.replace(entry, size=size)

    def hold(self, key: str, path: str, content: bytes) -> SpoolEntry:
        """Record ``content`` as a pending archive of ``key`` in memory only (the spool could
        not take it); it orders with the entries on disk and is lost if the process dies."""
        return SpoolEntry(
            seq=self._next_seq(),
            key=key,
            path=path,
            saved_at=time.time(),
            file=None,
            body=content,
            size=len(content),
        )

    def add_bytes(self, key: str, path: str, content: bytes) -> SpoolEntry:
        """Record ``content`` as a pending archive of ``key``."""
        return self._write(key, path, lambda dst: dst.write(content))

    def add_operation(
        self, action: str, key: str, path: str, *, target_key: str = "", target_path: str = ""
    ) -> SpoolEntry:
        """Record a history operation (``"rename"`` to ``target_key``, or ``"delete"``)."""
        extra = {"action": action, "target_key": target_key, "target_path": target_path}
        return self._write(key, path, lambda dst: None, extra)

    def _write(
        self,
        key: str,
        path: str,
        write_body: Callable[[IO[bytes]], object],
        extra: dict[str, str] | None = None,
    ) -> SpoolEntry:
        seq = self._next_seq()
        saved_at = time.time()
        fields = {"key": key, "path": path, "saved_at": saved_at, **(extra or {})}
        header = json.dumps(fields) + "\n"
        final = self.directory / f"{seq:020d}{_SUFFIX}"
        temporary = self.directory / f".{seq:020d}.tmp"
        try:
            try:
                dst = open(temporary, "wb")  # noqa: SIM115 (closed by the with below)
            except FileNotFoundError:
                # First entry, before open() ran (or the directory was removed).
                self.directory.mkdir(parents=True, exist_ok=True)
                dst = open(temporary, "wb")  # noqa: SIM115
            with dst:
                dst.write(header.encode("utf-8"))
                write_body(dst)
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        extra = extra or {}
        return SpoolEntry(
            seq=seq,
            key=key,
            path=path,
            saved_at=saved_at,
            file=final,
            action=extra.get("action", "save"),
            target_key=extra.get("target_key", ""),
            target_path=extra.get("target_path", ""),
        )

    @staticmethod
    def read_body(entry: SpoolEntry) -> bytes:
        """The saved bytes of ``entry``."""
        if entry.file is None:
            return entry.body or b""
        with open(entry.file, "rb") as file:
            file.readline()
            return file.read()

    @staticmethod
    def open_body(entry: SpoolEntry) -> IO[bytes]:
        """A binary file positioned at the saved bytes of ``entry`` (on disk)."""
        if entry.file is None:
            raise ValueError("the entry is held in memory")
        file = open(entry.file, "rb")  # noqa: SIM115 (the caller closes it)
        file.readline()
        return file

    @staticmethod
    def remove(entry: SpoolEntry) -> None:
        """Forget ``entry`` once it is archived."""
        if entry.file is not None:
            entry.file.unlink(missing_ok=True)

    def fail(self, entry: SpoolEntry) -> None:
        """Set ``entry`` aside in ``failed/``: it can never be archived as it is."""
        if entry.file is not None:
            self._move_to_failed(entry.file)

    def entries(self) -> list[SpoolEntry]:
        """What is pending on disk, in order, read without changing anything (a server may
        be using the spool: the command line lists its pending saves this way)."""
        if not self.directory.is_dir():
            return []
        found = (self._read_header(file) for file in self.directory.glob(f"*{_SUFFIX}"))
        return sorted(entry for entry in found if entry is not None)

    def pending_saves(self, key: str) -> list[SpoolEntry]:
        """The saves of ``key`` waiting on disk, newest first (read-only, see :meth:`entries`)."""
        return [e for e in reversed(self.entries()) if e.action == "save" and e.key == key]

    def version_of(self, seq: int) -> str | None:
        """Which version a save became is known only to the archiver that uploaded it."""
        return None

    def counts(self) -> tuple[int, int]:
        """``(pending, failed)`` entries on disk, read without opening the spool (a server
        may be using it)."""
        if not self.directory.is_dir():
            return 0, 0
        return len(list(self.directory.glob(f"*{_SUFFIX}"))), self.failed_count()

    def failed_count(self) -> int:
        """How many entries were set aside."""
        return sum(1 for _ in (self.directory / _FAILED_DIR).glob(f"*{_SUFFIX}*"))

    def _move_to_failed(self, file: Path) -> None:
        target = self.directory / _FAILED_DIR / file.name
        for n in itertools.count(1):
            if not target.exists():
                break
            target = target.with_name(f"{file.name}.{n}")
        os.replace(file, target)

    @staticmethod
    def _read_header(file: Path) -> SpoolEntry | None:
        try:
            seq = int(file.name[: -len(_SUFFIX)])
            with open(file, "rb") as handle:
                header = json.loads(_first_line(handle))
            if header.get("action", "save") not in ACTIONS:
                return None
            return SpoolEntry(
                seq=seq,
                key=str(header["key"]),
                path=str(header["path"]),
                saved_at=float(header["saved_at"]),
                file=file,
                action=str(header.get("action", "save")),
                target_key=str(header.get("target_key", "")),
                target_path=str(header.get("target_path", "")),
            )
        except (ValueError, KeyError, TypeError, OSError):
            return None


def _first_line(handle: IO[bytes]) -> bytes:
    line = handle.readline(1 << 16)
    if not line.endswith(b"\n"):
        raise ValueError("spool entry without a complete header")
    return line
