"""Turning notebook paths into object keys, safely.

A key is ``{prefix}/{path}``.  Both parts are normalised (surrounding slashes
dropped) and refused with :class:`~bookstore.errors.InvalidPath` when they could
escape their prefix or name something odd: ``..`` or ``.`` segments, empty
segments (``a//b``), backslashes, control characters, or more than 1,024 bytes.
So a key never contains ``..``, a leading ``/`` or ``//``.
"""

from __future__ import annotations

from .errors import InvalidPath

__all__ = ["normalize_path", "s3_display_path", "s3_key", "s3_path"]

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
