"""Page sizes and opaque page tokens: one codec for every listing.

A listing that has more answers a ``next_token``; passing it back continues right after
the last item.  Every token bookstore issues is :func:`encode_token` of a small JSON
object (URL-safe base64, no padding), and :func:`decode_token` refuses anything else with
:class:`~bookstore.errors.InvalidPath` (a client error, 400).  Each listing checks the
fields it finds, and that the token was issued for that listing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from .errors import InvalidPath, InvalidRequest

__all__ = [
    "INVALID_TOKEN",
    "MAX_PAGE_SIZE",
    "MAX_TOKEN_LENGTH",
    "clamp_limit",
    "decode_scan_token",
    "decode_token",
    "encode_scan_token",
    "encode_token",
    "parse_limit",
    "usable_page_token",
]

#: The most items one listing call may ask for (S3's own page limit).
MAX_PAGE_SIZE = 1000
#: The longest page token accepted (issued ones are far shorter).
MAX_TOKEN_LENGTH = 8192
#: What a token that is not one of the listing's own is refused with.
INVALID_TOKEN = "The page token is not valid: pass back a next_token from this listing."


def clamp_limit(limit: int) -> int:
    """Clamp a page size to ``1..MAX_PAGE_SIZE``."""
    return max(1, min(int(limit), MAX_PAGE_SIZE))


def parse_limit(value: str | None, default: int) -> int:
    """A page size from a query string: an integer from 1 to :data:`MAX_PAGE_SIZE`."""
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"'limit' must be an integer from 1 to {MAX_PAGE_SIZE}.")
    return limit


def usable_page_token(token: Any) -> bool:
    """True when ``token`` could be a page token some store issued (printable ASCII, at
    most :data:`MAX_TOKEN_LENGTH` characters); anything else is refused before it
    reaches a backend."""
    return (
        isinstance(token, str)
        and 0 < len(token) <= MAX_TOKEN_LENGTH
        and all("!" <= char <= "~" for char in token)
    )


def encode_token(fields: Mapping[str, Any]) -> str:
    """The page token carrying ``fields`` (JSON values)."""
    raw = json.dumps(dict(fields), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: Any) -> dict[str, Any]:
    """The fields of a token made by :func:`encode_token`; :class:`InvalidPath` otherwise."""
    if not usable_page_token(token):
        raise InvalidPath(INVALID_TOKEN)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # UnicodeDecodeError included
        raise InvalidPath(INVALID_TOKEN) from None
    if not isinstance(fields, dict):
        raise InvalidPath(INVALID_TOKEN)
    return fields


def encode_scan_token(listing: Any, store_token: str | None, consumed: int) -> str:
    """The token of a listing that filters a store listing: which listing (``listing``,
    any JSON value: its prefix and filters), the store's page token and how many entries
    of that store page are consumed."""
    return encode_token({"r": listing, "t": store_token, "n": consumed})


def decode_scan_token(token: str, listing: Any) -> tuple[str | None, int]:
    """``(store token, consumed)`` of a :func:`encode_scan_token` token issued for
    ``listing``; :class:`InvalidPath` for any other token."""
    data = decode_token(token)
    store_token = data.get("t")
    consumed = data.get("n")
    if (
        data.get("r") != listing
        or not (store_token is None or usable_page_token(store_token))
        or not isinstance(consumed, int)
        or isinstance(consumed, bool)
        or not 0 <= consumed <= MAX_PAGE_SIZE
    ):
        raise InvalidPath(INVALID_TOKEN)
    return store_token, consumed
