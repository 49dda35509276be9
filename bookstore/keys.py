"""Turning notebook paths into object keys, safely; prefixes and version ids.

A key is ``{prefix}/{path}``.  Both parts are normalised (surrounding slashes
dropped) and refused with :class:`~bookstore.errors.InvalidPath` when they could
escape their prefix or name something odd: ``..`` or ``.`` segments, empty
segments (``a//b``), backslashes, control characters, or more than 1,024 bytes.
So a key never contains ``..``, a leading ``/`` or ``//``.

The prefixes of the two areas are decided here, once: :func:`workspace_key_prefix`
(``{username}`` expanded) and :func:`published_key_prefix` raise
:class:`~bookstore.errors.NotAllowed` when a prefix is empty or unsafe, and every
caller (the feature flags, the archiver, the history routes, the command line) asks them.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from typing import Any

from .errors import InvalidPath, NotAllowed

__all__ = [
    "MAX_KEY_BYTES",
    "check_version_id",
    "expand_prefix",
    "is_notebook_path",
    "normalize_path",
    "notebook_path",
    "prefixes_overlap",
    "published_key_prefix",
    "s3_display_path",
    "s3_key",
    "s3_path",
    "server_username",
    "usable_version_id",
    "workspace_key_prefix",
]

#: S3's limit on the length of a key, in UTF-8 bytes.
MAX_KEY_BYTES = 1024


def normalize_path(path: str, *, what: str = "path") -> str:
    """Return ``path`` without surrounding slashes, or raise :class:`InvalidPath`.

    An empty result is allowed (it means "the prefix itself"); callers that need a
    file name check for it.
    """
    if not isinstance(path, str):
        raise InvalidPath(f"The {what} must be a string.")
    stripped = path.strip("/")
    if not stripped:
        return ""
    if any(ord(char) < 32 or char == "\x7f" for char in stripped):
        raise InvalidPath(f"The {what} contains a control character.")
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPath(f"The {what} is not valid Unicode text (a lone surrogate).") from None
    if "\\" in stripped:
        raise InvalidPath(f"The {what} {stripped!r} contains a backslash; use '/'.")
    for segment in stripped.split("/"):
        if segment == "":
            raise InvalidPath(f"The {what} {stripped!r} has an empty segment ('//').")
        if segment in (".", ".."):
            raise InvalidPath(f"The {what} {stripped!r} may not contain '{segment}' segments.")
    return stripped


def s3_key(prefix: str, path: str = "") -> str:
    """Compute the object key of ``path`` under ``prefix``.

    >>> s3_key("workspace", "notebooks/mine.ipynb")
    'workspace/notebooks/mine.ipynb'
    """
    parts = [part for part in (normalize_path(prefix, what="prefix"), normalize_path(path)) if part]
    key = "/".join(parts)
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidPath(f"The key for {path!r} is longer than {MAX_KEY_BYTES} bytes.")
    return key


def s3_path(bucket: str, prefix: str, path: str = "") -> str:
    """Compute the path ``{bucket}/{key}`` of ``path`` under ``prefix``."""
    key = s3_key(prefix, path)
    return f"{bucket}/{key}" if key else bucket


def s3_display_path(bucket: str, prefix: str, path: str = "") -> str:
    """Create the display name ``s3://{bucket}/{key}``, for logs and replies."""
    return f"s3://{s3_path(bucket, prefix, path)}"


def is_notebook_path(path: str) -> bool:
    """True for a path or key that names a notebook (``.ipynb``)."""
    return path.lower().endswith(".ipynb")


def notebook_path(path: Any, *, what: str = "notebook path") -> str:
    """Normalise a notebook path from a URL or body; refuse absolute, escaping or
    non-notebook paths with :class:`InvalidPath`."""
    if not isinstance(path, str) or not path.strip("/"):
        raise InvalidPath(f"A {what} is required, e.g. 'reports/summary.ipynb'.")
    if path.startswith("/"):
        raise InvalidPath(f"The {what} {path!r} must be relative, not absolute.")
    normalized = normalize_path(path, what=what)
    if not is_notebook_path(normalized):
        raise InvalidPath(f"The {what} {normalized!r} does not name a notebook (.ipynb).")
    return normalized


# -- the prefixes of the two areas -------------------------------------------------------


def server_username() -> str:
    """The user this server runs for: JupyterHub's ``JUPYTERHUB_USER``, else the OS user;
    ``""`` when neither can be told (a container's user id without a passwd entry)."""
    try:
        return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
    except (KeyError, OSError):
        return ""


def expand_prefix(prefix: str, username: str) -> str:
    """Fill ``{username}`` in a workspace prefix; a username is one key segment."""
    if "{username}" not in prefix:
        return prefix
    if not username:
        raise InvalidPath(
            "bookstore cannot tell which user this server runs for; set JUPYTERHUB_USER."
        )
    if "/" in username or username in {".", ".."}:
        raise InvalidPath(f"The user name {username!r} cannot be used in a key.")
    return prefix.replace("{username}", username)


def prefixes_overlap(first: str, second: str) -> bool:
    """True when one key prefix lies inside the other (or they are the same), by whole
    segments: ``published`` and ``published/x`` overlap, ``pub`` and ``published`` not."""
    return first == second or first.startswith(second + "/") or second.startswith(first + "/")


def workspace_key_prefix(template: str, username: str, published: str | None = None) -> str:
    """The workspace prefix (``BookstoreSettings.workspace_prefix``) of ``username`` as
    a key; :class:`NotAllowed` when it is empty or unsafe, or overlaps the ``published``
    prefix (a user named ``published`` under ``{username}``): workspace history is off."""
    key = _area_prefix(
        lambda: expand_prefix(template, username), "Workspace history", "workspace_prefix"
    )
    if published and prefixes_overlap(key, published):
        raise NotAllowed(
            f"Workspace history is off: the workspace prefix {key!r} overlaps "
            f"BookstoreSettings.published_prefix {published!r}; give the workspaces a first "
            "segment of their own, e.g. 'workspace/{username}'."
        )
    return key


def published_key_prefix(prefix: str) -> str:
    """The published prefix (``BookstoreSettings.published_prefix``) as a key;
    :class:`NotAllowed` when it is empty or unsafe (publishing is off)."""
    return _area_prefix(lambda: prefix, "Publishing", "published_prefix")


def _area_prefix(prefix: Callable[[], str], feature: str, setting: str) -> str:
    """``prefix()`` as a key; :class:`NotAllowed` ("``feature`` is off") when it is empty
    or unsafe."""
    try:
        key = s3_key(prefix())
    except InvalidPath as exc:
        raise NotAllowed(f"{feature} is off: {exc}") from None
    if not key:
        raise NotAllowed(f"{feature} is off: BookstoreSettings.{setting} is empty.")
    return key


# -- version ids -------------------------------------------------------------------------


def usable_version_id(version_id: Any) -> bool:
    """True when ``version_id`` could be a version id at all (printable ASCII, as S3's are):
    anything else names no version."""
    return (
        isinstance(version_id, str)
        and 0 < len(version_id) <= 1024
        and all("!" <= char <= "~" for char in version_id)
    )


def check_version_id(version_id: Any) -> str:
    """Refuse a malformed version id (:class:`InvalidPath`, 400); an unknown one is found
    out by the store (404)."""
    if not usable_version_id(version_id):
        raise InvalidPath(
            "A version id is printable ASCII without spaces, at most 1024 characters."
        )
    return str(version_id)
