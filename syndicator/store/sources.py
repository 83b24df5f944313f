"""Per-source fetch state and the schedule of due sources.

The state is a Redis hash so operators can read it directly and so that each field can be
updated without a read-modify-write. The due set is one sorted set scored by the next
due time: the scheduler asks Redis "who is due" instead of scanning every source.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from syndicator.models import Source, Validators
from syndicator.store.keys import Keys

MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class SourceState:
    """What the workers know about one source, as read back from Redis."""

    etag: str | None = None
    last_modified: str | None = None
    last_attempt: str | None = None
    last_success: str | None = None
    last_status: str | None = None  # "200 ok: 3 new, 1 changed", "304 not modified", …
    last_error: str | None = None
    last_error_at: str | None = None
    consecutive_errors: int = 0
    next_due: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def validators(self) -> Validators:
        return Validators(etag=self.etag, last_modified=self.last_modified)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


async def load_state(redis: Redis, keys: Keys, source_id: str) -> SourceState:
    raw = {k.decode(): v.decode() for k, v in (await redis.hgetall(keys.source_state(source_id))).items()}
    return SourceState(
        etag=raw.get("etag") or None,
        last_modified=raw.get("last_modified") or None,
        last_attempt=raw.get("last_attempt"),
        last_success=raw.get("last_success"),
        last_status=raw.get("last_status"),
        last_error=raw.get("last_error") or None,
        last_error_at=raw.get("last_error_at"),
        consecutive_errors=int(raw.get("consecutive_errors", 0)),
        next_due=raw.get("next_due"),
        warnings=tuple(w for w in raw.get("warnings", "").split("\n") if w),
    )


def next_poll(source: Source, now: datetime, consecutive_errors: int = 0) -> datetime:
    """When to poll next: the interval with ±10 % jitter, doubled per consecutive error."""
    base = (
        source.poll_interval * (2 ** min(consecutive_errors, 10))
        if consecutive_errors
        else source.poll_interval
    )
    base = min(base, max(MAX_BACKOFF, source.poll_interval))
    jitter = base.total_seconds() * random.uniform(-0.1, 0.1)
    return now + base + timedelta(seconds=jitter)


async def record_success(
    redis: Redis,
    keys: Keys,
    source: Source,
    *,
    now: datetime,
    validators: Validators,
    status: str,
    warnings: tuple[str, ...] = (),
) -> None:
    due = next_poll(source, now)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            keys.source_state(source.id),
            mapping={
                "etag": validators.etag or "",
                "last_modified": validators.last_modified or "",
                "last_attempt": _iso(now),
                "last_success": _iso(now),
                "last_status": status,
                "consecutive_errors": 0,
                "next_due": _iso(due),
                "warnings": "\n".join(warnings),
            },
        )
        pipe.hdel(keys.source_state(source.id), "last_error")
        pipe.zadd(keys.due, {source.id: due.timestamp()})
        await pipe.execute()


async def record_failure(redis: Redis, keys: Keys, source: Source, *, now: datetime, error: str) -> int:
    """Record a failed poll (stored items stay as they are); returns the error count."""
    state_key = keys.source_state(source.id)
    errors = int(await redis.hincrby(state_key, "consecutive_errors", 1))
    due = next_poll(source, now, errors)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            state_key,
            mapping={
                "last_attempt": _iso(now),
                "last_error": error,
                "last_error_at": _iso(now),
                "last_status": "error",
                "next_due": _iso(due),
            },
        )
        pipe.zadd(keys.due, {source.id: due.timestamp()})
        await pipe.execute()
    return errors


async def due_sources(redis: Redis, keys: Keys, sources: dict[str, Source], now: datetime) -> list[str]:
    """Enabled sources whose next poll time has come; new sources are due at once."""
    enabled = [s.id for s in sources.values() if s.enabled]
    if enabled:
        await redis.zadd(keys.due, {sid: now.timestamp() for sid in enabled}, nx=True)
    due = await redis.zrangebyscore(keys.due, "-inf", now.timestamp())
    return [d.decode() for d in due if d.decode() in sources and sources[d.decode()].enabled]


async def record_page_failure(redis: Redis, keys: Keys, source_id: str, *, now: datetime, error: str) -> None:
    """A page found through a listing or sitemap failed; the listing's own state is untouched."""
    state_key = keys.source_state(source_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(state_key, "page_errors", 1)
        pipe.hset(state_key, mapping={"last_page_error": error, "last_page_error_at": _iso(now)})
        await pipe.execute()


async def record_unmapped(redis: Redis, keys: Keys, source_id: str, path: str) -> None:
    """An upstream category path no rule maps: counted so operators can add a rule."""
    state_key = keys.source_state(source_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(state_key, "unmapped", 1)
        pipe.hset(state_key, "last_unmapped", path)
        await pipe.execute()
