"""Our own WebSub subscriptions to upstream hubs: one per feed source that advertises a hub.

A Redis hash per source (`Keys.upstream_subscription`) holds what we asked for (hub, topic,
lease), how to recognise the hub's requests (the random callback path, the secret) and
where the subscription stands (`state`), so that the web process (which answers the hub's
verification and pushes) and the workers (which subscribe, renew and ingest) share it.
Delivery health is counters in the same hash, incremented atomically where each push is
judged: accepted, unsigned, wrongly signed, refused (too large, unusable).

States: `pending` (asked, the hub has not verified yet), `active` (verified, lease
running), `denied` (the hub said no, or later cancelled), `failed` (the hub's answer to
our request was not 2xx, or it could not be reached), `unsubscribing` (we asked it to stop).
The callback path maps back to the source in one hash (`Keys.upstream_callbacks`), and a
sorted set (`Keys.upstream_renewals`) says when each active subscription is renewed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from syndicator.store.atomic import atomic
from syndicator.store.keys import Keys

STATES = ("pending", "active", "denied", "failed", "unsubscribing")
COUNTERS = ("pushes", "pushes_unsigned", "pushes_bad_signature", "pushes_refused")
"""Delivery health: pushes ingested, dropped for a missing or a wrong signature, refused."""


@dataclass(frozen=True)
class UpstreamSubscription:
    """One subscription of ours (times UTC). `secret` is never shown (see `public`)."""

    source_id: str
    hub: str
    topic: str
    callback_path: str
    secret: str
    lease_seconds: int  # asked for; the hub's verification says what it granted
    state: str
    requested_at: datetime
    verified_at: datetime | None = None
    expires_at: datetime | None = None
    reason: str = ""  # why denied or failed
    pushes: int = 0
    pushes_unsigned: int = 0
    pushes_bad_signature: int = 0
    pushes_refused: int = 0
    last_push_at: datetime | None = None
    last_push: str = ""  # the last push's outcome line (`3 new, 1 changed`, `bad signature`)

    def live(self, now: datetime) -> bool:
        """Whether the hub should be pushing to us now: verified and within its lease."""
        return self.state == "active" and self.expires_at is not None and self.expires_at > now


def new_callback_path() -> str:
    """An unguessable path segment: a push to it must come from the hub we gave it to."""
    return secrets.token_urlsafe(24)


def new_secret() -> str:
    """The `hub.secret` for one subscription (32 bytes of randomness, well under 200 bytes)."""
    return secrets.token_urlsafe(32)


def _iso(when: datetime | None) -> str:
    return when.astimezone(UTC).isoformat() if when else ""


def _time(raw: bytes | None) -> datetime | None:
    text = raw.decode() if raw else ""
    return datetime.fromisoformat(text) if text else None


def _text(raw: bytes | None) -> str:
    return raw.decode() if raw else ""


async def save_subscription(redis: Redis, keys: Keys, sub: UpstreamSubscription) -> None:
    """Write `sub` (a new or changed request), keeping the delivery counters as they are.

    A previous subscription of the source under another callback path is forgotten: its
    path no longer answers, so a hub still pushing to it is told 404."""
    key = keys.upstream_subscription(sub.source_id)
    old_path = await redis.hget(key, "callback_path")
    async with atomic(redis) as pipe:
        if old_path and old_path.decode() != sub.callback_path:
            pipe.hdel(keys.upstream_callbacks, old_path.decode())
        pipe.hset(
            key,
            mapping={
                "source_id": sub.source_id,
                "hub": sub.hub,
                "topic": sub.topic,
                "callback_path": sub.callback_path,
                "secret": sub.secret,
                "lease_seconds": sub.lease_seconds,
                "state": sub.state,
                "requested_at": _iso(sub.requested_at),
                "verified_at": _iso(sub.verified_at),
                "expires_at": _iso(sub.expires_at),
                "reason": sub.reason,
            },
        )
        pipe.hset(keys.upstream_callbacks, sub.callback_path, sub.source_id)
        await pipe.execute()


async def load_subscription(redis: Redis, keys: Keys, source_id: str) -> UpstreamSubscription | None:
    """The source's subscription, or None when it has none."""
    raw = await redis.hgetall(keys.upstream_subscription(source_id))
    if not raw or b"hub" not in raw:
        return None
    got = {k.decode(): v for k, v in raw.items()}
    return UpstreamSubscription(
        source_id=source_id,
        hub=_text(got.get("hub")),
        topic=_text(got.get("topic")),
        callback_path=_text(got.get("callback_path")),
        secret=_text(got.get("secret")),
        lease_seconds=int(_text(got.get("lease_seconds")) or 0),
        state=_text(got.get("state")) or "pending",
        requested_at=_time(got.get("requested_at")) or datetime.now(UTC),
        verified_at=_time(got.get("verified_at")),
        expires_at=_time(got.get("expires_at")),
        reason=_text(got.get("reason")),
        pushes=int(_text(got.get("pushes")) or 0),
        pushes_unsigned=int(_text(got.get("pushes_unsigned")) or 0),
        pushes_bad_signature=int(_text(got.get("pushes_bad_signature")) or 0),
        pushes_refused=int(_text(got.get("pushes_refused")) or 0),
        last_push_at=_time(got.get("last_push_at")),
        last_push=_text(got.get("last_push")),
    )


async def source_for_callback(redis: Redis, keys: Keys, callback_path: str) -> str | None:
    """The source id a callback path was handed out for, or None (unknown or replaced)."""
    raw = await redis.hget(keys.upstream_callbacks, callback_path)
    return raw.decode() if raw else None


async def subscribed_sources(redis: Redis, keys: Keys) -> list[str]:
    """The source ids that have a subscription (one callback path each)."""
    return sorted({raw.decode() for raw in await redis.hvals(keys.upstream_callbacks)})


async def mark_verified(
    redis: Redis, keys: Keys, source_id: str, *, now: datetime, lease_seconds: int, renew_at: datetime
) -> None:
    """The hub verified our intent: active for `lease_seconds`, renewed at `renew_at`."""
    expires = datetime.fromtimestamp(now.timestamp() + lease_seconds, UTC)
    async with atomic(redis) as pipe:
        pipe.hset(
            keys.upstream_subscription(source_id),
            mapping={
                "state": "active",
                "verified_at": _iso(now),
                "expires_at": _iso(expires),
                "lease_seconds": lease_seconds,
                "reason": "",
            },
        )
        pipe.zadd(keys.upstream_renewals, {source_id: renew_at.timestamp()})
        await pipe.execute()


async def set_state(redis: Redis, keys: Keys, source_id: str, state: str, reason: str = "") -> None:
    """Move the subscription to `state` (denied, failed, unsubscribing…), saying why; a
    subscription that is not active is not renewed."""
    async with atomic(redis) as pipe:
        pipe.hset(keys.upstream_subscription(source_id), mapping={"state": state, "reason": reason})
        if state != "active":
            pipe.zrem(keys.upstream_renewals, source_id)
        await pipe.execute()


async def count_push(
    redis: Redis, keys: Keys, source_id: str, counter: str, *, now: datetime, line: str
) -> None:
    """One push judged: `counter` (one of COUNTERS) grows, and the last push is recorded."""
    if counter not in COUNTERS:
        raise ValueError(f"unknown push counter {counter!r}")
    key = keys.upstream_subscription(source_id)
    async with atomic(redis) as pipe:
        pipe.hincrby(key, counter, 1)
        pipe.hset(key, mapping={"last_push_at": _iso(now), "last_push": line})
        await pipe.execute()


async def due_renewals(redis: Redis, keys: Keys, now: datetime) -> list[str]:
    """The source ids whose subscription is due for renewal at `now`."""
    return [
        raw.decode() for raw in await redis.zrangebyscore(keys.upstream_renewals, "-inf", now.timestamp())
    ]


async def reschedule_renewal(redis: Redis, keys: Keys, source_id: str, at: datetime, reason: str) -> None:
    """Renew at `at` instead (a renewal out or failed); `reason` shown in health ("": none)."""
    async with atomic(redis) as pipe:
        pipe.zadd(keys.upstream_renewals, {source_id: at.timestamp()})
        pipe.hset(keys.upstream_subscription(source_id), "reason", reason)
        await pipe.execute()


async def stop_renewing(redis: Redis, keys: Keys, source_id: str, reason: str) -> None:
    """Let the lease run out: no renewal, the state kept, `reason` shown in health."""
    async with atomic(redis) as pipe:
        pipe.zrem(keys.upstream_renewals, source_id)
        pipe.hset(keys.upstream_subscription(source_id), "reason", reason)
        await pipe.execute()


async def remove_subscription(redis: Redis, keys: Keys, source_id: str) -> None:
    """Forget the source's subscription entirely (its callback path stops answering)."""
    path = await redis.hget(keys.upstream_subscription(source_id), "callback_path")
    async with atomic(redis) as pipe:
        if path:
            pipe.hdel(keys.upstream_callbacks, path.decode())
        pipe.delete(keys.upstream_subscription(source_id))
        pipe.zrem(keys.upstream_renewals, source_id)
        await pipe.execute()
