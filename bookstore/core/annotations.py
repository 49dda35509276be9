"""Names, descriptions and pins of versions, kept in the store next to the versions.

A version can be given a name ("sent to review"), a description, and a pin (retention
keeps it forever).  These *notes* live in the same store as the versions, in **one JSON
index object per notebook key**, ``{annotations_prefix}/{key}.json``::

    {"versions": {"<version id>": {"name": "sent to review", "description": null,
                                   "pinned": true, "by": "ada",
                                   "at": "2026-05-01T12:00:00.000Z"}}}

so they survive restarts, are shared by every server and the command line, and follow
renames: a version keeps its id and its key when its file is renamed, so the index of
the key it was saved under still holds its note (see
:meth:`bookstore.core.history.History.list_versions`).

Writes are a read-modify-write of the index (each a new version of the index object, in
a versioned bucket): concurrent :meth:`Annotations.annotate` calls on one key within a
process are serialised by a per-key lock, so none is lost; two processes writing the
same notebook's index at the same instant may lose one of the two changes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidPath, InvalidRequest, NotAllowed, ObjectNotFound
from ..keys import prefixes_overlap, s3_key
from ..stores.base import ObjectStore
from ..timestamps import format_timestamp
from .access import Actor

__all__ = [
    "ANNOTATION_FIELDS",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_NAME_LENGTH",
    "Annotations",
    "VersionNote",
    "annotations_key_prefix",
    "check_changes",
]

#: The fields a change (``PATCH …/versions/{id}``) may set.
ANNOTATION_FIELDS = ("name", "description", "pinned")
#: The longest name, in characters.
MAX_NAME_LENGTH = 120
#: The longest description, in characters.
MAX_DESCRIPTION_LENGTH = 2000

_log = logging.getLogger(__name__)

#: One lock per (bucket, index key) being written in this process; a lock nobody holds or
#: waits for is dropped.
_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()


@dataclass(frozen=True)
class VersionNote:
    """What is noted about one version: its name, description, whether it is pinned,
    who noted it last (``by``, a user name) and when (``at``, RFC 3339)."""

    name: str | None = None
    description: str | None = None
    pinned: bool = False
    by: str | None = None
    at: str | None = None

    @property
    def empty(self) -> bool:
        """True when the note says nothing (no name, no description, not pinned)."""
        return self.name is None and self.description is None and not self.pinned

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept in the index."""
        return {
            "name": self.name,
            "description": self.description,
            "pinned": self.pinned,
            "by": self.by,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> VersionNote | None:
        """The note of an index entry (None when the entry is malformed)."""
        if not isinstance(data, dict):
            return None
        name, description = data.get("name"), data.get("description")
        pinned, by, at = data.get("pinned", False), data.get("by"), data.get("at")
        if not all(isinstance(value, (str, type(None))) for value in (name, description, by, at)):
            return None
        if not isinstance(pinned, bool):
            return None
        return cls(name=name or None, description=description or None, pinned=pinned, by=by, at=at)


def annotations_key_prefix(prefix: str, *, inside: dict[str, str | None]) -> str:
    """``BookstoreSettings.annotations_prefix`` as a key; :class:`NotAllowed` when it is
    empty, unsafe, or lies inside (or around) one of the area prefixes in ``inside``
    (``{setting: key prefix}``), where its objects would look like notebooks."""
    try:
        key = s3_key(prefix)
    except InvalidPath as exc:
        raise NotAllowed(f"Version names and pins are off: {exc}") from None
    if not key:
        raise NotAllowed(
            "Version names and pins are off: BookstoreSettings.annotations_prefix is empty."
        )
    for setting, area in inside.items():
        if area and prefixes_overlap(key, area):
            raise NotAllowed(
                "Version names and pins are off: BookstoreSettings.annotations_prefix "
                f"{key!r} overlaps BookstoreSettings.{setting} {area!r}; give it a prefix "
                "of its own."
            )
    return key


def check_changes(changes: Any) -> dict[str, Any]:
    """A change to a version's note, checked and normalised: ``{"name", "description",
    "pinned"}``, each optional (absent: unchanged); ``""`` or ``None`` clears a name or a
    description (surrounding spaces are dropped).  :class:`InvalidRequest` naming the
    problem otherwise."""
    if not isinstance(changes, dict):
        raise InvalidRequest(
            'Send a JSON object, e.g. {"name": "sent to review"}, {"pinned": true}.'
        )
    unknown = sorted(str(field) for field in changes if field not in ANNOTATION_FIELDS)
    if unknown:
        raise InvalidRequest(
            f"Unknown field(s) {', '.join(map(repr, unknown))}; a version takes "
            f"{', '.join(map(repr, ANNOTATION_FIELDS))}."
        )
    checked: dict[str, Any] = {}
    if "name" in changes:
        checked["name"] = _text(changes["name"], "name", MAX_NAME_LENGTH, newlines=False)
    if "description" in changes:
        checked["description"] = _text(
            changes["description"], "description", MAX_DESCRIPTION_LENGTH, newlines=True
        )
    if "pinned" in changes:
        if not isinstance(changes["pinned"], bool):
            raise InvalidRequest("'pinned' must be true or false.")
        checked["pinned"] = changes["pinned"]
    return checked


def _text(value: Any, field: str, longest: int, *, newlines: bool) -> str | None:
    """A name or description as kept (None: cleared)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"'{field}' must be a string, or null to clear it.")
    text = value.replace("\r\n", "\n").strip()
    for char in text:
        category = unicodedata.category(char)
        if char == "\n" and newlines:
            continue
        if category in ("Cc", "Cs") or (not newlines and category in ("Zl", "Zp")):
            allowed = " (only line breaks are allowed)" if newlines else ""
            raise InvalidRequest(
                f"'{field}' contains a control character (U+{ord(char):04X}){allowed}."
            )
    if len(text) > longest:
        raise InvalidRequest(
            f"'{field}' is {len(text)} characters long; at most {longest} are allowed."
        )
    return text or None


class Annotations:
    """The version notes of the keys of ``store``, in index objects under ``prefix``."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    def index_key(self, key: str) -> str:
        """The key of the index object of notebook key ``key``."""
        return s3_key(self.prefix, f"{key}.json")

    @staticmethod
    def protected(note: VersionNote | None) -> bool:
        """True when ``note`` keeps its version from retention: named or pinned."""
        return note is not None and (note.name is not None or note.pinned)

    async def for_key(self, key: str) -> dict[str, VersionNote]:
        """The notes of the versions of ``key``, by version id (``{}`` when none)."""
        notes, _ = await self._read(key)
        return notes

    async def annotate(
        self,
        key: str,
        version_id: str,
        changes: Any,
        actor: Actor | str,
        *,
        inherited: VersionNote | None = None,
    ) -> VersionNote:
        """Apply ``changes`` (see :func:`check_changes`; checked before anything is read
        or written) to the note of ``version_id`` of ``key`` and store it; the note as it
        is now.  ``inherited`` is the note the version shows without one of its own (the
        version it was copied from by a rename), which the change then starts from.  A
        note left empty is removed from the index."""
        checked = check_changes(changes)
        index_key = self.index_key(key)
        by = actor.username if isinstance(actor, Actor) else actor
        lock = _locks.get((self.store.bucket, index_key))
        if lock is None:
            lock = _locks[(self.store.bucket, index_key)] = asyncio.Lock()
        async with lock:
            notes, raw = await self._read(key)
            before = notes.get(version_id) or inherited or VersionNote()
            if not checked:
                return before
            note = replace(
                before,
                **checked,
                by=by or None,
                at=format_timestamp(datetime.now(timezone.utc)),
            )
            entries = raw.setdefault("versions", {})
            if note.empty:
                if version_id not in entries:
                    return note
                del entries[version_id]
            else:
                entries[version_id] = note.to_dict()
            body = json.dumps(raw, sort_keys=True, ensure_ascii=False).encode("utf-8")
            await self.store.put(index_key, body, content_type="application/json")
        return note

    async def _read(self, key: str) -> tuple[dict[str, VersionNote], dict[str, Any]]:
        """The notes of ``key`` and the index document they come from (``{}`` when there
        is none, or it is not a valid index: a warning is logged, and the next write starts
        a new one; the old one stays an older version of the index object)."""
        index_key = self.index_key(key)
        try:
            stored = await self.store.get(index_key)
        except ObjectNotFound:
            return {}, {}
        try:
            document = json.loads(stored.body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("versions", {}), dict):
            _log.warning("bookstore: %s is not a valid annotations index; ignoring it", index_key)
            return {}, {}
        notes: dict[str, VersionNote] = {}
        for version_id, entry in document.get("versions", {}).items():
            note = VersionNote.from_dict(entry)
            if note is not None and not note.empty:
                notes[str(version_id)] = note
        return notes, document
