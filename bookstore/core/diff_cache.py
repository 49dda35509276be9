"""A bounded LRU of diff replies, so a diff asked for again is not computed again.

A diff of two stored versions never changes: its reply (the JSON bytes the diff routes
send) is kept under a :class:`DiffKey` naming the area, the store key, each side by what
makes it what it is (a stored version by its id, the workspace file by the SHA-256 of its
bytes and its modification time), the options and the content flag.  The cache holds at
most ``max_bytes`` of replies and ``max_entries`` entries, dropping the least recently used
first; a reply bigger than a quarter of ``max_bytes`` is not kept.  It is used from the
event loop only (no locking).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["DEFAULT_CACHE_BYTES", "DEFAULT_CACHE_ENTRIES", "DiffCache", "DiffKey"]

#: The default bounds: 64 MB of replies, 256 of them.
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
DEFAULT_CACHE_ENTRIES = 256


@dataclass(frozen=True)
class DiffKey:
    """What one diff reply depends on.  ``base`` and ``remote`` name a side:
    ``"v:<version id>"`` or ``"sha256:<hex>@<modified>"`` (the workspace file)."""

    area: str
    key: str
    base: str
    remote: str
    options: str
    content: bool


class DiffCache:
    """Diff replies by :class:`DiffKey`, least recently used dropped first.
    ``max_bytes`` 0 turns the cache off."""

    def __init__(
        self, max_bytes: int = DEFAULT_CACHE_BYTES, max_entries: int = DEFAULT_CACHE_ENTRIES
    ) -> None:
        self.max_bytes = max(0, max_bytes)
        self.max_entries = max(0, max_entries)
        self._replies: OrderedDict[DiffKey, bytes] = OrderedDict()
        #: The bytes held now.
        self.size = 0
        #: Lookups answered, and not, since the start.
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        """Whether replies are kept at all."""
        return self.max_bytes > 0 and self.max_entries > 0

    def __len__(self) -> int:
        return len(self._replies)

    def get(self, key: DiffKey) -> bytes | None:
        """The reply kept under ``key`` (now the most recently used), else None."""
        reply = self._replies.get(key)
        if reply is None:
            self.misses += 1
            return None
        self._replies.move_to_end(key)
        self.hits += 1
        return reply

    def put(self, key: DiffKey, reply: bytes) -> None:
        """Keep ``reply`` under ``key``, dropping the least recently used replies beyond
        the bounds (a reply over a quarter of ``max_bytes`` is not kept)."""
        if not self.enabled or len(reply) > self.max_bytes // 4:
            return
        previous = self._replies.pop(key, None)
        if previous is not None:
            self.size -= len(previous)
        self._replies[key] = reply
        self.size += len(reply)
        while self.size > self.max_bytes or len(self._replies) > self.max_entries:
            _, dropped = self._replies.popitem(last=False)
            self.size -= len(dropped)

    def clear(self) -> None:
        """Forget every reply."""
        self._replies.clear()
        self.size = 0
