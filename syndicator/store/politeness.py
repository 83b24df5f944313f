"""Per-host politeness shared by every worker: a concurrency limit and a crawl delay.

Crawling a listing enqueues many page jobs, and any number of workers may run them; the
limit must hold across all of them, so it lives in Redis. One Lua script decides
atomically: a request may start when fewer than `limit` leases on the host are live and
the host's crawl delay has passed since the last start; otherwise the caller is told how
long to wait. Leases expire, so a worker killed mid-fetch does not block the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from syndicator.errors import SyndicatorError
from syndicator.store.keys import Keys

# KEYS[1] leases zset (token → expiry ms), KEYS[2] next-start time (ms)
# ARGV: token, limit, delay_ms, lease_ms, now_ms  →  0 when granted, else ms to wait
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[5])
local now = tonumber(ARGV[5])
local next_start = tonumber(redis.call('GET', KEYS[2]) or '0')
if next_start > now then return next_start - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(50, math.min(1000, tonumber(first[2]) - now))
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 2)
redis.call('SET', KEYS[2], now + tonumber(ARGV[3]), 'PX', math.max(1, tonumber(ARGV[3])) + 1000)
return 0
"""


class HostBusy(SyndicatorError):
    """The host stayed busy for longer than the caller was willing to wait."""


@contextlib.asynccontextmanager
async def host_slot(
    redis: Redis,
    keys: Keys,
    host: str,
    *,
    limit: int,
    delay: float,
    lease: float = 120.0,
    max_wait: float = 60.0,
) -> AsyncIterator[None]:
    """Hold one of `host`'s `limit` request slots, at least `delay` s after the last start."""
    token = uuid.uuid4().hex
    leases, next_start = keys.host_leases(host), keys.host_next(host)
    deadline = time.monotonic() + max_wait
    while True:
        wait_ms = int(
            await redis.eval(
                _ACQUIRE,
                2,
                leases,
                next_start,
                token,
                limit,
                int(delay * 1000),
                int(lease * 1000),
                int(time.time() * 1000),
            )
        )
        if wait_ms <= 0:
            break
        if time.monotonic() + wait_ms / 1000 > deadline:
            raise HostBusy(f"{host}: no request slot within {max_wait:.0f}s")
        await asyncio.sleep(wait_ms / 1000)
    try:
        yield
    finally:
        await redis.zrem(leases, token)
