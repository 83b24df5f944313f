"""A bounded, in-process LRU for rendered feed variants.

Filtered, combined, delta and archive documents are rendered and compressed once per
(version(s), query) and then served from here, never once per request. The cache is
bounded twice — by entry count and by the total of the sizes callers declare — so a
crawler walking every `?q=` cannot grow a web process without limit: the least recently
used entries go first. It is deliberately not thread-safe: one event loop owns it, and
nothing here awaits, so no two coroutines interleave inside a call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from syndicator.errors import SyndicatorError

DEFAULT_MAX_ENTRIES = 512
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class CacheError(SyndicatorError, ValueError):
    """A RenderCache was configured or used with an impossible value."""


@dataclass
class CacheStats:
    """Counters a test (or an operator) can read: how often the cache saved a render."""

    hits: int = 0
    misses: int = 0
    puts: int = 0
    evictions: int = 0


class RenderCache:
    """LRU by key; evicts least recently used entries until both bounds hold.

    `put(key, value, size)`: `size` is what the entry costs in bytes (e.g. the sum of its
    coded bodies); an entry larger than `max_bytes` on its own is not stored at all (it
    would evict everything and still not fit).
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_entries < 1:
            raise CacheError(f"max_entries must be at least 1, got {max_entries}")
        if max_bytes < 1:
            raise CacheError(f"max_bytes must be at least 1, got {max_bytes}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> Any | None:
        """The value stored under `key` (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is None:
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry[0]

    def put(self, key: Hashable, value: Any, size: int) -> bool:
        """Store `value` under `key`; False when it alone exceeds `max_bytes` (not stored)."""
        if size < 0:
            raise CacheError(f"size must not be negative, got {size}")
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        if size > self.max_bytes:
            return False
        self._entries[key] = (value, size)
        self._bytes += size
        self.stats.puts += 1
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, evicted_size) = self._entries.popitem(last=False)
            self._bytes -= evicted_size
            self.stats.evictions += 1
        return True

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
