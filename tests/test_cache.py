"""RenderCache: LRU order, both bounds, oversize entries, replacement accounting."""

from __future__ import annotations

import pytest

from syndicator.web.cache import CacheError, RenderCache


def test_get_returns_what_was_put_and_counts_hits_and_misses() -> None:
    cache = RenderCache(max_entries=4, max_bytes=100)
    assert cache.get("a") is None
    cache.put("a", b"one", 3)
    assert cache.get("a") == b"one"
    assert (cache.stats.hits, cache.stats.misses, cache.stats.puts) == (1, 1, 1)


def test_entry_bound_evicts_least_recently_used() -> None:
    cache = RenderCache(max_entries=2, max_bytes=100)
    cache.put("a", 1, 1)
    cache.put("b", 2, 1)
    assert cache.get("a") == 1  # a is now more recent than b
    cache.put("c", 3, 1)
    assert "b" not in cache
    assert cache.get("a") == 1 and cache.get("c") == 3
    assert cache.stats.evictions == 1


def test_byte_bound_evicts_until_total_fits() -> None:
    cache = RenderCache(max_entries=10, max_bytes=10)
    cache.put("a", "x", 4)
    cache.put("b", "y", 4)
    cache.put("c", "z", 5)  # 13 > 10: a goes, 9 left
    assert "a" not in cache and "b" in cache and "c" in cache
    assert cache.total_bytes == 9


def test_oversize_entry_is_not_stored_and_evicts_nothing() -> None:
    cache = RenderCache(max_entries=10, max_bytes=10)
    cache.put("a", "x", 4)
    assert cache.put("big", "y", 11) is False
    assert "big" not in cache and "a" in cache and cache.total_bytes == 4


def test_replacing_a_key_recounts_its_size() -> None:
    cache = RenderCache(max_entries=10, max_bytes=10)
    cache.put("a", "x", 8)
    cache.put("a", "y", 2)
    assert cache.total_bytes == 2 and len(cache) == 1 and cache.get("a") == "y"


def test_impossible_configuration_is_refused() -> None:
    with pytest.raises(CacheError, match="max_entries"):
        RenderCache(max_entries=0)
    with pytest.raises(CacheError, match="size"):
        RenderCache().put("a", 1, -1)
