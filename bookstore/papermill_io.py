"""papermill I/O for ``bookstore://`` URLs: run a stored notebook version, store the result.

papermill finds :class:`BookstoreHandler` through the ``papermill.io`` entry point, so
with bookstore installed::

    papermill "bookstore://workspace/report.ipynb?version=<id>" \\
        bookstore://runs/report.ipynb -p x 1

reads exactly that version of the workspace notebook ``report.ipynb``, executes it with
``x = 1`` and stores the executed notebook as a new version of the key
``runs/report.ipynb``.  The store and its keys are configured exactly as for the Jupyter
server (see :mod:`bookstore.standalone`): Jupyter's config files, the ``JPYNB_S3_*``
variables, the embedded local store when no bucket is set.

URL grammar
-----------

``bookstore://workspace/<path>``
    The workspace area: the versions the server archives of the Jupyter file ``<path>``,
    key ``{workspace_prefix}/<path>`` (``{username}`` expanded).
``bookstore://published/<path>``
    The published area, key ``{published_prefix}/<path>``.
``bookstore://<key>``
    Any other key of the configured bucket, e.g. ``bookstore://runs/report.ipynb`` is the
    key ``runs/report.ipynb``.

The path is percent-decoded (``my%20report.ipynb``; write a literal ``?`` or ``#`` in a
name as ``%3F``, ``%23``) and must be a clean relative key: no ``.`` or ``..`` segments,
no empty segments, no backslashes, no control characters.  One query parameter exists:

``?version=<id>``
    On a read, that exact version (an unknown id fails with
    :class:`~bookstore.errors.VersionNotFound`); without it, the latest version.  It is
    refused on a write: every write makes a new version.

Reading for a user
------------------

When the process acts for a user (``BOOKSTORE_AS_USER`` names them, as a server running
papermill for one of its users sets it; or ``JUPYTERHUB_USER`` is set, in a JupyterHub
user's session), ``{username}`` is that user, a read by key must lie under their
``BookstoreSettings.clone_allowed_prefixes`` (else :class:`~bookstore.errors.NotAllowed`),
and so must a write, which may not go into the published area (publishing records an
owner: use ``jupyter bookstore publish``).  Otherwise (an operator's shell) any key of
the bucket may be read and written.

Any other query parameter, a fragment, or a malformed path raises
:class:`BookstoreURLError` (a ``ValueError``); store failures raise the errors of
:mod:`bookstore.errors`.  Every message names the URL and says what to do.

Writes
------

papermill writes the output notebook many times during a run (after each cell, on
autosave, at the end).  Each stored write would be an immutable version, so while a run
is in progress (``metadata.papermill.end_time`` is ``None``) nothing is stored; the
final write (``end_time`` set) and the single write of ``--prepare-only`` (no
``end_time``) are.  When a cell failed, papermill writes once more after the final write,
with its error marker cell on top: that is a second version.  A write is archived the way the server
archives a save (:func:`bookstore.core.archive.archive_version`): content identical to the
latest version makes no new version, and a write into the workspace area is the next
version of that file, continuing its history (also across renames).  Only the store is
written: a workspace file on disk is not changed.

Each stored notebook carries its provenance in ``metadata.bookstore.provenance``::

    {"source": {"url": ..., "bucket": ..., "key": ..., "version_id": ...},
     "parameters": {"x": 1},
     "executed_at": "2024-05-01T12:00:00.123Z",
     "status": "completed",
     "papermill_version": "2.7.0", "bookstore_version": "3.0.0"}

``source`` is the notebook papermill read (``metadata.papermill.input_path``) with the
version actually read, also when its URL named none (the handler remembers what each read
returned in this process); ``executed_at`` is papermill's ``end_time`` (else the time of
the write), in UTC; ``status`` is ``completed``, ``failed`` (a cell raised),
``prepared`` (``--prepare-only``) or ``written`` (not a papermill run).

One :class:`~bookstore.standalone.StandaloneBookstore` and one
:class:`~bookstore.standalone.LoopThread` serve the whole process (created on first use,
closed at exit or by :func:`close_bookstore`), so a run shares one store client.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote

import nbformat

from ._version import __version__
from .errors import (
    BookstoreError,
    InvalidNotebook,
    InvalidPath,
    NotAllowed,
    ObjectNotFound,
    StoreError,
    VersionNotFound,
)
from .keys import normalize_path, s3_key
from .notebooks import notebook_bytes
from .stores.base import StoredObject, list_all_keys
from .timestamps import format_timestamp

# papermill imports every registered handler's module on its own import: the store
# machinery (the configuration, the store and botocore) is imported on first use only.
if TYPE_CHECKING:
    from .standalone import StandaloneBookstore

__all__ = [
    "AS_USER_ENV",
    "PROVENANCE_FIELD",
    "SCHEME",
    "SOURCE_KEY_FIELD",
    "SOURCE_VERSION_FIELD",
    "BookstoreHandler",
    "BookstoreURL",
    "BookstoreURLError",
    "SourceVersion",
    "close_bookstore",
    "parse_url",
]

#: The scheme this handler serves (the name of the ``papermill.io`` entry point).
SCHEME = "bookstore://"
#: The environment variable naming the user papermill reads and writes for.
AS_USER_ENV = "BOOKSTORE_AS_USER"
#: Where the provenance goes in a stored notebook: ``metadata[BOOKSTORE][PROVENANCE]``.
PROVENANCE_FIELD = "provenance"
_METADATA_FIELD = "bookstore"
#: The named areas (the first URL segment); anything else is a plain key.
_AREAS = ("workspace", "published")
#: Object metadata fields of a stored run: the source key (percent-encoded) and version.
SOURCE_KEY_FIELD = "source-key"
SOURCE_VERSION_FIELD = "source-version"


class BookstoreURLError(InvalidPath):
    """A malformed ``bookstore://`` URL (a ``ValueError``); the message names the URL
    and says how to write it."""


@dataclass(frozen=True)
class BookstoreURL:
    """A parsed ``bookstore://`` URL.

    ``area`` is ``"workspace"``, ``"published"`` or ``None`` (``path`` is then the whole
    key); ``path`` is percent-decoded and normalised (``""`` names the area or bucket
    itself, allowed only for listings); ``version_id`` is the ``?version=`` value.
    """

    url: str
    area: str | None
    path: str
    version_id: str | None = None

    def key(self, bookstore: StandaloneBookstore) -> str:
        """The object key under ``bookstore``'s configured prefixes.

        Raises :class:`~bookstore.errors.NotAllowed` when the area's prefix is unset or
        unusable.
        """
        try:
            if self.area is None:
                return s3_key("", self.path)
            return s3_key(bookstore.areas.key_prefix(self.area), self.path)
        except NotAllowed as exc:
            raise NotAllowed(
                f"{self.url}: {exc} Set it in the Jupyter config, or name the key "
                "itself (bookstore://<key>)."
            ) from None

    def child_url(self, relative: str) -> str:
        """The URL of ``relative`` (a ``/``-separated path) below this URL's path."""
        path = f"{self.path}/{relative}" if self.path else relative
        head = f"{self.area}/" if self.area else ""
        return f"{SCHEME}{head}{quote(path, safe='/')}"


@dataclass(frozen=True)
class SourceVersion:
    """What a read returned: the URL read, and the bucket, key and version behind it."""

    url: str
    bucket: str | None
    key: str | None
    version_id: str | None

    def to_dict(self) -> dict[str, str | None]:
        """The ``source`` of a provenance record."""
        return {
            "url": self.url,
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
        }


def parse_url(url: str, *, file: bool = True) -> BookstoreURL:
    """Parse a ``bookstore://`` URL (see the module documentation for the grammar).

    ``file``: the URL must name a file (not end in ``/``, not name an area or the bucket
    itself); pass ``False`` for listings.  Raises :class:`BookstoreURLError`.
    """
    if not isinstance(url, str) or not url.startswith(SCHEME):
        raise BookstoreURLError(f"{url!r} is not a bookstore URL (bookstore://<path>).")
    rest = url[len(SCHEME) :]
    if "#" in rest:
        raise BookstoreURLError(
            f"{url}: '#' starts a fragment, which bookstore URLs do not have; "
            "write a '#' in a name as %23."
        )
    raw_path, has_query, query = rest.partition("?")
    version_id = _parse_query(url, query) if has_query else None
    if raw_path.startswith("/"):
        raise BookstoreURLError(
            f"{url}: the path must follow bookstore:// directly "
            "(bookstore://workspace/<path>, bookstore://published/<path> or bookstore://<key>)."
        )
    try:
        decoded = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        raise BookstoreURLError(
            f"{url}: the percent-encoded path is not UTF-8; encode names as UTF-8."
        ) from None
    if file and (not decoded or decoded.endswith("/")):
        raise BookstoreURLError(
            f"{url}: names a folder, not a notebook; add the file name "
            "(e.g. bookstore://workspace/report.ipynb)."
        )
    try:
        path = normalize_path(decoded)
    except InvalidPath as exc:
        raise BookstoreURLError(f"{url}: {exc}") from None
    area, _, below = path.partition("/")
    if area in _AREAS:
        if file and not below:
            raise BookstoreURLError(
                f"{url}: names the {area} area, not a notebook; "
                f"add its path (bookstore://{area}/<path>)."
            )
        return BookstoreURL(url, area, below, version_id)
    return BookstoreURL(url, None, path, version_id)


def _parse_query(url: str, query: str) -> str:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise BookstoreURLError(
            f"{url}: malformed query {query!r}; the only parameter is ?version=<id>."
        ) from None
    names = [name for name, _ in pairs]
    unknown = sorted({name for name in names if name != "version"})
    if unknown:
        raise BookstoreURLError(
            f"{url}: unknown query parameter {', '.join(map(repr, unknown))}; "
            "the only parameter is ?version=<id>."
        )
    if len(pairs) != 1:
        raise BookstoreURLError(f"{url}: give ?version= once.")
    version_id = pairs[0][1]
    if not version_id:
        raise BookstoreURLError(
            f"{url}: ?version= is empty; give a version id, or drop it to read the latest."
        )
    return version_id


# -- the process's store ---------------------------------------------------------------


class _Session:
    """The process's configured store, its private loop, and what was read."""

    def __init__(self) -> None:
        from .standalone import LoopThread, StandaloneBookstore

        # A server running papermill for one of its users names them here.
        self.bookstore = StandaloneBookstore(as_user=os.environ.get(AS_USER_ENV) or None)
        self.loop = LoopThread()
        self.reads: dict[str, SourceVersion] = {}
        self.lock = threading.Lock()

    def close(self) -> None:
        try:
            self.loop.run(self.bookstore.close(), timeout=30)
        except RuntimeError:
            pass  # too late in the interpreter's shutdown to use threads: nothing to save
        finally:
            self.loop.close()


_SESSION_LOCK = threading.Lock()
_session_holder: list[_Session] = []


def _session() -> _Session:
    with _SESSION_LOCK:
        if not _session_holder:
            _session_holder.append(_Session())
        return _session_holder[0]


def close_bookstore() -> None:
    """Close the process's store and loop (done at exit); the next use opens them again,
    reading the configuration anew."""
    with _SESSION_LOCK:
        session = _session_holder.pop() if _session_holder else None
    if session is not None:
        session.close()


atexit.register(close_bookstore)


def _explain(exc: BookstoreError, url: BookstoreURL, key: str) -> BookstoreError:
    """The store's error again, naming the URL and saying what to do (raise it ``from``
    :func:`_cause`)."""
    if isinstance(exc, VersionNotFound):
        return VersionNotFound(
            f"{url.url}: {key!r} has no version {url.version_id!r}. Use a version id from "
            "the notebook's history, or drop ?version= to read the latest version."
        )
    if isinstance(exc, ObjectNotFound):
        return ObjectNotFound(
            f"{url.url}: there is no notebook {key!r} in the store (never written, or "
            "deleted). Check the path, and the area's prefix in BookstoreSettings."
        )
    if isinstance(exc, StoreError):
        message = f"{url.url}: the store failed: {exc}"
        try:
            return type(exc)(message)
        except TypeError:  # a backend's subclass with a constructor of its own
            return StoreError(message)
    return exc


def _cause(exc: BookstoreError) -> BookstoreError | None:
    """What to chain to :func:`_explain`'s error: nothing when its message says it all."""
    return None if isinstance(exc, ObjectNotFound) else exc


# -- provenance --------------------------------------------------------------------------


def _executed_at(papermill: dict[str, Any]) -> str:
    end_time = papermill.get("end_time")
    if isinstance(end_time, str):
        try:
            return format_timestamp(datetime.fromisoformat(end_time.replace("Z", "+00:00")))
        except ValueError:
            pass
    return format_timestamp(datetime.now(timezone.utc))


def _status(papermill: dict[str, Any] | None) -> str:
    if papermill is None:
        return "written"
    if "end_time" not in papermill:
        return "prepared"
    return "failed" if papermill.get("exception") else "completed"


def _papermill_version(papermill: dict[str, Any]) -> str | None:
    """The running papermill's version (else the one the notebook records)."""
    try:
        from papermill import __version__ as papermill_version
    except ImportError:  # pragma: no cover - written without papermill installed
        version = papermill.get("version")
        return version if isinstance(version, str) else None
    return str(papermill_version)


def _source(session: _Session, input_path: Any) -> SourceVersion | None:
    """What the run read: remembered from this process's read, else parsed from the URL."""
    if not isinstance(input_path, str) or not input_path:
        return None
    with session.lock:
        remembered = session.reads.get(input_path)
    if remembered is not None:
        return remembered
    if not input_path.startswith(SCHEME):
        return SourceVersion(input_path, None, None, None)
    try:
        parsed = parse_url(input_path)
        key: str | None = parsed.key(session.bookstore)
    except BookstoreError:
        return SourceVersion(input_path, None, None, None)
    return SourceVersion(input_path, session.bookstore.store.bucket, key, parsed.version_id)


def _in_progress(papermill: dict[str, Any] | None) -> bool:
    return papermill is not None and "end_time" in papermill and papermill["end_time"] is None


# -- the handler -------------------------------------------------------------------------


class BookstoreHandler:
    """papermill's I/O handler for ``bookstore://`` URLs (registered through the
    ``papermill.io`` entry point ``bookstore://``)."""

    @classmethod
    def read(cls, path: str) -> str:
        """The notebook at ``path``: the version ``?version=`` names, else the latest."""
        url = parse_url(path)
        session = _session()
        key = url.key(session.bookstore)
        session.bookstore.check_read(key)
        try:
            stored, key = session.loop.run(cls._get(session, url, key))
        except BookstoreError as exc:
            raise _explain(exc, url, key) from _cause(exc)
        source = SourceVersion(path, session.bookstore.store.bucket, key, stored.info.version_id)
        with session.lock:
            session.reads[path] = source
        try:
            return stored.body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidNotebook(
                f"{path}: version {stored.info.version_id!r} is not UTF-8 text, so not a "
                "notebook; choose another version."
            ) from None

    @staticmethod
    async def _get(session: _Session, url: BookstoreURL, key: str) -> tuple[StoredObject, str]:
        """The stored version ``url`` names and its key; in an area, a version saved
        under an older name of the file (before a rename) too."""
        if url.area is None:
            store = await session.bookstore.ready_store()
            return await store.get(key, url.version_id), key
        history = await session.bookstore.areas.history(url.area)
        stored, saved_path = await history.find(url.path, url.version_id)
        return stored, history.key_for(saved_path)

    @classmethod
    def write(cls, buf: str | bytes, path: str) -> str | None:
        """Store the notebook ``buf`` as a new version at ``path``, with its provenance.

        Returns the new version id; ``None`` when nothing was stored (a run in progress,
        or content identical to the latest version).
        """
        url = parse_url(path)
        if url.version_id is not None:
            raise BookstoreURLError(
                f"{path}: ?version= is for reading; every write makes a new version. "
                "Drop ?version= from the output URL."
            )
        try:
            text = buf.decode("utf-8") if isinstance(buf, (bytes, bytearray)) else buf
            raw = json.loads(text)
            metadata = raw.get("metadata") if isinstance(raw, dict) else None
            papermill = metadata.get("papermill") if isinstance(metadata, dict) else None
            if not isinstance(papermill, dict):
                papermill = None
            if _in_progress(papermill):
                return None  # a save during the run (after a cell, autosave): not stored
            if not isinstance(raw, dict) or raw.get("nbformat") != 4:
                raw = json.loads(nbformat.writes(nbformat.reads(text, as_version=4)))
        except Exception as exc:
            raise InvalidNotebook(f"{path}: the output is not a notebook ({exc}).") from None
        session = _session()
        key = url.key(session.bookstore)
        session.bookstore.check_write(key)
        source = _source(session, papermill.get("input_path") if papermill else None)
        provenance: dict[str, Any] = {
            "source": source.to_dict() if source else None,
            "parameters": dict(papermill.get("parameters") or {}) if papermill else {},
            "executed_at": _executed_at(papermill or {}),
            "status": _status(papermill),
            "papermill_version": _papermill_version(papermill or {}),
            "bookstore_version": __version__,
        }
        metadata = raw.setdefault("metadata", {})
        if not isinstance(metadata.get(_METADATA_FIELD), dict):
            metadata[_METADATA_FIELD] = {}
        metadata[_METADATA_FIELD][PROVENANCE_FIELD] = provenance
        try:
            # One validation, and the bytes Jupyter (and papermill) would write.
            body = notebook_bytes(raw)
        except InvalidNotebook as exc:
            raise InvalidNotebook(f"{path}: the output is not stored: {exc}") from None
        extra: dict[str, Any] = {}
        if source is not None and source.key is not None:
            fields = {SOURCE_KEY_FIELD: quote(source.key, safe="/")}
            if source.version_id:
                fields[SOURCE_VERSION_FIELD] = source.version_id
            extra["metadata"] = fields
        try:
            return session.loop.run(cls._put(session, key, body, extra))
        except BookstoreError as exc:
            raise _explain(exc, url, key) from _cause(exc)

    @staticmethod
    async def _put(session: _Session, key: str, body: bytes, extra: dict[str, Any]) -> str | None:
        from .core.archive import archive_version

        store = await session.bookstore.ready_store()
        return await archive_version(store, key, key, body, **extra)

    @classmethod
    def listdir(cls, path: str) -> list[str]:
        """The files and folders (ending in ``/``) directly under ``path``, as URLs."""
        url = parse_url(path, file=False)
        if url.version_id is not None:
            raise BookstoreURLError(f"{path}: ?version= names a version of a file; drop it.")
        session = _session()
        prefix = url.key(session.bookstore)
        try:
            keys = session.loop.run(cls._keys(session, f"{prefix}/" if prefix else ""))
        except BookstoreError as exc:
            raise _explain(exc, url, prefix) from _cause(exc)
        children: dict[str, None] = {}
        for key in keys:
            relative = key[len(prefix) :].lstrip("/") if prefix else key
            name, below, _ = relative.partition("/")
            children[f"{name}/" if below else name] = None
        return [url.child_url(name) for name in children]

    @staticmethod
    async def _keys(session: _Session, prefix: str) -> list[str]:
        return await list_all_keys(await session.bookstore.ready_store(), prefix)

    @classmethod
    def pretty_path(cls, path: str) -> str:
        """The URL itself (papermill logs it)."""
        return path
