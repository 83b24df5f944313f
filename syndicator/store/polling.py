"""When to poll a source next, and the cool-down of a host that said 429 or 503.

The next poll is

    next = clamp(max(adaptive, hint), min_poll_interval, max_poll_interval) ± 10 % jitter

- `adaptive` starts at the source's `poll_interval` and follows how often the source
  really changes: a poll that finds nothing new (a 304, or no new or changed article)
  stretches it by a quarter; a poll that finds a change brings it down to half the time
  since the previous change when that is shorter (so a source is polled about twice per
  change it makes). It is kept within the bounds, on the source's state. After a failure
  the interval doubles per consecutive error instead (up to 6 h, or the interval when
  longer), as before.
- `hint` is the longest of what the upstream asked (`fetch/hints.py`): Cache-Control
  max-age, Expires, RSS `<ttl>`, `sy:updatePeriod`, Retry-After on a 429 or 503.
- `min_poll_interval` defaults to the `poll_interval` (a source is never polled more often
  than configured unless the operator lowers it), `max_poll_interval` to a day (or the
  `poll_interval` when longer).

A 429 or 503 also cools its host down for every source and worker: a key in Redis
(`Keys.host_cooldown`) holds until when, and the fetch of any source on that host meets
`HostCoolingDown` before it connects — a scheduled poll is deferred to the end of the
cool-down, a page job retries then. The wait is the Retry-After (up to
`fetch.max_retry_after`), or `DEFAULT_COOLDOWN` when the upstream gave none.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from redis.asyncio import Redis

from syndicator.models import PollHint, Source
from syndicator.store.keys import Keys
from syndicator.store.politeness import HostBusy
from syndicator.values import format_duration

MAX_BACKOFF = timedelta(hours=6)
DEFAULT_MAX_POLL = timedelta(days=1)
DEFAULT_COOLDOWN = 300.0  # seconds a host cools down after a 429/503 without Retry-After
JITTER = 0.1
GROWTH = 1.25  # an unchanged poll stretches the adaptive interval by this factor


def poll_bounds(source: Source) -> tuple[float, float]:
    """(min, max) seconds between polls of `source`, defaults applied."""
    low = (source.min_poll_interval or source.poll_interval).total_seconds()
    high = (source.max_poll_interval or max(DEFAULT_MAX_POLL, source.poll_interval)).total_seconds()
    return low, max(low, high)


def next_adaptive(
    source: Source, adaptive: float | None, *, changed: bool, since_last_change: float | None
) -> float:
    """The adaptive interval (seconds) after a successful poll that did or did not find a change.

    `since_last_change`: seconds since the previous poll that found one (None: none yet)."""
    low, high = poll_bounds(source)
    current = adaptive if adaptive and adaptive > 0 else source.poll_interval.total_seconds()
    if not changed:
        current *= GROWTH
    elif since_last_change is not None and since_last_change > 0:
        current = min(current, since_last_change / 2)
    return min(max(current, low), high)


@dataclass(frozen=True)
class PollPlan:
    """The next poll: when, the interval it came from (before jitter), and why, in words."""

    due: datetime
    interval: float
    reason: str


def plan_poll(
    source: Source,
    now: datetime,
    *,
    adaptive: float | None = None,
    errors: int = 0,
    hint: PollHint | None = None,
) -> PollPlan:
    """The formula of the module's docstring; `adaptive` None: the `poll_interval`."""
    low, high = poll_bounds(source)
    base = adaptive if adaptive and adaptive > 0 else source.poll_interval.total_seconds()
    if errors:
        cap = max(MAX_BACKOFF.total_seconds(), base)
        base = min(base * 2 ** min(errors, 10), cap)
        why = f"backoff after {errors} error{'s' if errors > 1 else ''} {format_duration(base)}"
    elif adaptive and abs(adaptive - source.poll_interval.total_seconds()) > 0.5:
        at = " at min_poll_interval" if base <= low else " at max_poll_interval" if base >= high else ""
        why = f"adaptive interval{at} {format_duration(base)}"
    else:
        why = f"poll_interval {format_duration(base)}"
    interval = base
    if hint is not None and hint.seconds > interval:
        interval, why = hint.seconds, f"upstream hint: {hint.describe()}"
    if interval < low:
        interval, why = low, f"{why}, raised to min_poll_interval {format_duration(low)}"
    elif interval > high:
        interval, why = high, f"{why}, cut to max_poll_interval {format_duration(high)}"
    jitter = interval * random.uniform(-JITTER, JITTER)
    return PollPlan(now + timedelta(seconds=interval + jitter), interval, why)


# ---------------------------------------------------------------- host cool-down


class HostCoolingDown(HostBusy):
    """The host answered 429 or 503 (to any source, in any worker) and is cooling down."""

    def __init__(self, host: str, until: datetime, reason: str) -> None:
        super().__init__(f"{host} cooling down until {until.isoformat(timespec='seconds')}: {reason}")
        self.host = host
        self.until = until
        self.reason = reason

    def wait(self, now: datetime) -> float:
        return max(0.0, (self.until - now).total_seconds())


# KEYS[1] the cool-down; ARGV: until (ms), JSON, now (ms). Keeps the later of two.
_COOL = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and tonumber(decoded['until_ms'] or 0) >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', math.max(1, tonumber(ARGV[1]) - tonumber(ARGV[3])))
return 1
"""


def host_of(url: str) -> str:
    """The host a URL fetches from ('' for `file:` and anything without one)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


async def cool_down_host(
    redis: Redis, keys: Keys, url: str, *, now: datetime, seconds: float, status: int, source_id: str
) -> None:
    """Hold every fetch from `url`'s host for `seconds` (a later cool-down already set stays)."""
    host = host_of(url)
    if not host or seconds <= 0:
        return
    until = now + timedelta(seconds=seconds)
    until_ms = int(until.timestamp() * 1000)
    record = json.dumps({"until_ms": until_ms, "status": status, "source_id": source_id})
    await redis.eval(_COOL, 1, keys.host_cooldown(host), until_ms, record, int(now.timestamp() * 1000))


async def host_cooldown(redis: Redis, keys: Keys, url: str, *, now: datetime) -> HostCoolingDown | None:
    """The cool-down `url`'s host is in, or None."""
    host = host_of(url)
    if not host:
        return None
    raw = await redis.get(keys.host_cooldown(host))
    if raw is None:
        return None
    try:
        record = json.loads(raw)
        until = datetime.fromtimestamp(int(record["until_ms"]) / 1000, UTC)
        reason = f"HTTP {int(record['status'])} to source {record['source_id']}"
    except (TypeError, ValueError, KeyError):
        return None
    return HostCoolingDown(host, until, reason) if until > now else None


async def check_host(redis: Redis, keys: Keys, url: str, *, now: datetime | None = None) -> None:
    """Raise `HostCoolingDown` when `url`'s host is cooling down: call before every fetch."""
    cooling = await host_cooldown(redis, keys, url, now=now or datetime.now(UTC))
    if cooling is not None:
        raise cooling


def deferral(cooling: HostCoolingDown, now: datetime) -> datetime:
    """When a poll deferred by `cooling` runs: its end plus up to 10 % of the wait (at least
    a second), so the host's sources do not all come back in the same instant."""
    wait = cooling.wait(now)
    return cooling.until + timedelta(seconds=random.uniform(1.0, max(1.0, wait * JITTER) + 1.0))
