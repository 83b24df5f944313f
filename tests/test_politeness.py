"""Per-host politeness in Redis: the concurrency limit and crawl delay hold across workers."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from syndicator.store.connection import connect
from syndicator.store.keys import Keys
from syndicator.store.politeness import HostBusy, host_slot


async def test_concurrency_limit_holds_across_connections(redis, redis_url, prefix):
    keys = Keys(prefix)
    clients = [connect(redis_url) for _ in range(3)]  # as three workers would
    in_flight = 0
    peak = 0

    async def request(client) -> None:
        nonlocal in_flight, peak
        async with host_slot(client, keys, "example.com", limit=2, delay=0):
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.2)
            in_flight -= 1

    try:
        await asyncio.gather(*(request(clients[i % 3]) for i in range(6)))
    finally:
        for client in clients:
            await client.aclose()
    assert peak == 2


async def test_crawl_delay_spaces_request_starts(redis, prefix):
    keys = Keys(prefix)
    starts: list[float] = []

    async def request() -> None:
        async with host_slot(redis, keys, "example.com", limit=10, delay=0.3):
            starts.append(time.monotonic())

    await asyncio.gather(*(request() for _ in range(3)))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.25 for gap in gaps), gaps
    # Another host is not held back by this one's delay.
    began = time.monotonic()
    async with host_slot(redis, keys, "other.example", limit=1, delay=0.3):
        assert time.monotonic() - began < 0.25


async def test_busy_host_gives_up_with_a_clear_error(redis, prefix):
    keys = Keys(prefix)
    async with host_slot(redis, keys, "slow.example", limit=1, delay=0):
        with pytest.raises(HostBusy, match=r"slow\.example: no request slot within 0s"):
            async with host_slot(redis, keys, "slow.example", limit=1, delay=0, max_wait=0.1):
                pass


async def test_lease_of_a_dead_worker_expires(redis, prefix):
    keys = Keys(prefix)
    # A worker that died holding the only slot: its lease ends after `lease` seconds.
    holder = host_slot(redis, keys, "crash.example", limit=1, delay=0, lease=0.3)
    await holder.__aenter__()
    began = time.monotonic()
    async with host_slot(redis, keys, "crash.example", limit=1, delay=0, max_wait=5):
        waited = time.monotonic() - began
    assert 0.1 < waited < 3
