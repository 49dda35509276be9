"""Search a file's history: the versions whose cells' source or text outputs contain a text.

:func:`search_versions` is a bounded scan, newest first: one call reads at most
:data:`SEARCH_SCAN_LIMIT` versions (in listing pages of at most :data:`SCAN_CHUNK`, at
most :data:`READ_CONCURRENCY` bodies read and searched at a time, parsed off the event
loop when large) and stops early once ``limit`` versions matched; its ``next_token`` (a
listing page token) scans on from there.  Versions bigger than
:data:`SEARCH_MAX_VERSION_BYTES` are not read (counted as ``skipped``).

:func:`find_matches` is the pure part: where a query occurs (case-insensitive) in a
notebook's cells, at most :data:`MAX_MATCHES` cells, each with a snippet of at most
:data:`SNIPPET_CHARS` characters around the hit.  Text outputs are ``stream`` text,
``text/plain`` and ``text/markdown`` results and displays, and errors' ``ename`` and
``evalue``.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest, ObjectNotFound
from ..notebooks import run_cpu
from .history import History, VersionItem

__all__ = [
    "MAX_MATCHES",
    "MAX_QUERY_CHARS",
    "SEARCH_SCAN_LIMIT",
    "SNIPPET_CHARS",
    "SearchHit",
    "SearchPage",
    "check_query",
    "find_matches",
    "search_versions",
]

#: Most versions one search call reads.
SEARCH_SCAN_LIMIT = 200
#: Versions listed (then read) per step of a scan.
SCAN_CHUNK = 25
#: Bodies read and searched at once.
READ_CONCURRENCY = 4
#: Versions bigger than this are not read by a search.
SEARCH_MAX_VERSION_BYTES = 64 * 1024 * 1024
#: The longest query.
MAX_QUERY_CHARS = 200
#: Matching cells reported per version, and the longest snippet.
MAX_MATCHES = 3
SNIPPET_CHARS = 120
#: The output mime types searched as text.
TEXT_MIMETYPES = ("text/plain", "text/markdown")
#: Queries made only of these can be looked for in the raw JSON first (a quick "no").
_RAW_SAFE = re.compile(r"[ !#-.0-\[\]-~]+")
_SPACES = re.compile(r"\s+")


def check_query(query: str | None) -> str:
    """The query of a search: 1 to :data:`MAX_QUERY_CHARS` characters, not only spaces
    (:class:`InvalidRequest` otherwise)."""
    if query is None or not query.strip():
        raise InvalidRequest("'q' must hold the text to search for (it is empty).")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidRequest(
            f"'q' is {len(query)} characters long; search for at most {MAX_QUERY_CHARS}."
        )
    return query


@dataclass(frozen=True)
class SearchHit:
    """A version that matched, and where (``{"cell", "cell_type", "snippet"}`` each)."""

    item: VersionItem
    matches: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The version's JSON form with its ``matches``."""
        return {**self.item.to_dict(), "matches": self.matches}


@dataclass(frozen=True)
class SearchPage:
    """One call's result: the matching versions (newest first), how many versions were
    read (``scanned``; ``skipped`` of them too big to read), whether the history is
    exhausted, and the token to scan on (None when exhausted)."""

    query: str
    hits: list[SearchHit]
    scanned: int
    skipped: int
    exhausted: bool
    next_token: str | None

    def to_dict(self, path: str) -> dict[str, Any]:
        """The JSON reply of ``GET …/versions?q=``."""
        return {
            "path": path,
            "versions": [hit.to_dict() for hit in self.hits],
            "next_token": self.next_token,
            "search": {
                "q": self.query,
                "scanned": self.scanned,
                "scan_limit": SEARCH_SCAN_LIMIT,
                "exhausted": self.exhausted,
                "skipped": self.skipped,
            },
        }


async def search_versions(
    history: History,
    path: str,
    query: str,
    *,
    limit: int = 100,
    token: str | None = None,
    named: bool = False,
) -> SearchPage:
    """The versions of ``path`` (newest first, through older names) whose cells contain
    ``query``, scanning at most :data:`SEARCH_SCAN_LIMIT` versions from ``token`` (a
    listing or search page token) and at most ``limit`` matches; ``named``: only the
    named or pinned versions are read.  The saves still pending head the first scan like
    a listing's first page."""
    query = check_query(query)
    hits: list[SearchHit] = []
    scanned = skipped = 0
    gate = asyncio.Semaphore(READ_CONCURRENCY)
    while True:
        # Never more versions than could still match within ``limit``: the page token
        # then continues right after the last version searched.
        chunk = min(SCAN_CHUNK, SEARCH_SCAN_LIMIT - scanned, limit - len(hits))
        page = await history.list_versions(path, limit=chunk, token=token)
        token = page.next_token
        results = await asyncio.gather(
            *(
                _search_one(history, path, item, query, gate)
                for item in page.items
                if item.protected or not named
            )
        )
        if named:
            found = iter(results)
            results = [next(found) if item.protected else [] for item in page.items]
        for item, matches in zip(page.items, results, strict=True):
            if matches is None:
                skipped += 1
            elif matches:
                hits.append(SearchHit(item, matches))
        scanned += len(page.items)
        if token is None or scanned >= SEARCH_SCAN_LIMIT or len(hits) >= limit:
            break
    return SearchPage(query, hits, scanned, skipped, token is None, token)


async def _search_one(
    history: History, path: str, item: VersionItem, query: str, gate: asyncio.Semaphore
) -> list[dict[str, Any]] | None:
    """The matches in one version (``[]`` for a version gone meanwhile); None when it is
    too big to read."""
    if item.size > SEARCH_MAX_VERSION_BYTES:
        return None
    async with gate:
        try:
            if item.pending:
                stored, _ = await history.find(path, item.id)
            else:
                stored = await history.store.get(history.key_for(item.path), item.id)
        except ObjectNotFound:
            return []  # deleted since it was listed (retention)
        body = stored.body
        matches: list[dict[str, Any]] = await run_cpu(len(body), find_matches, body, query)
        return matches


def find_matches(body: bytes, query: str) -> list[dict[str, Any]]:
    """Where ``query`` occurs (case-insensitive) in the notebook ``body``: the first
    :data:`MAX_MATCHES` cells whose source or text outputs contain it, as ``{"cell":
    index, "cell_type", "snippet"}`` (CPU-bound).  Bytes that are no notebook match
    nothing."""
    ascii_only = query.isascii()
    if _RAW_SAFE.fullmatch(query) and query.lower().encode() not in body.lower():
        # Printable ASCII with nothing JSON escapes: it would be in the raw bytes too.
        return []
    try:
        notebook = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return []
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return []
    flags = re.IGNORECASE | (re.ASCII if ascii_only else 0)
    pattern = re.compile(re.escape(query), flags)
    matches: list[dict[str, Any]] = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        for text in _cell_texts(cell):
            found = pattern.search(text)
            if found is not None:
                matches.append(
                    {
                        "cell": index,
                        "cell_type": str(cell.get("cell_type", "")),
                        "snippet": _snippet(text, found.start(), found.end()),
                    }
                )
                break
        if len(matches) == MAX_MATCHES:
            break
    return matches


def _cell_texts(cell: dict[str, Any]) -> list[str]:
    """A cell's source, then its text outputs."""
    texts = [_text(cell.get("source"))]
    outputs = cell.get("outputs")
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            texts.append(_text(output.get("text")))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data")
            if isinstance(data, dict):
                texts.extend(_text(data.get(mimetype)) for mimetype in TEXT_MIMETYPES)
        elif kind == "error":
            texts.extend((_text(output.get("ename")), _text(output.get("evalue"))))
    return [text for text in texts if text]


def _text(value: Any) -> str:
    """A notebook's multi-line string (a string, or a list of lines)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(line for line in value if isinstance(line, str))
    return ""


def _snippet(text: str, start: int, end: int) -> str:
    """At most :data:`SNIPPET_CHARS` characters of ``text`` around ``start:end``, spaces
    collapsed, with ``…`` where it is cut."""
    room = SNIPPET_CHARS - 2  # for the ellipses
    hit = min(end - start, room)
    before = (room - hit) // 2
    left = max(0, start - before)
    right = min(len(text), left + room)
    left = max(0, right - room) if right - left < room else left
    window = _SPACES.sub(" ", text[left:right]).strip()
    if left > 0:
        window = "…" + window
    if right < len(text):
        window = window + "…"
    return window[:SNIPPET_CHARS]
