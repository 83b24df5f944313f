"""The subscriptions to Syndicator's WebSub hub: who wants which topic pushed, until when.

One hash per subscription (`Keys.hub_subscription`), plus indexes kept in the same
transaction: the ids per topic (`Keys.hub_topic`, what a fan-out reads), the topics that
have subscribers (`Keys.hub_topics`), the ids per callback host (`Keys.hub_host`, for the
per-host limit) and the lease ends (`Keys.hub_expiry`). A subscription's id is derived
from (topic, callback), so subscribing again to the same pair renews the one record
(WebSub §5.1: a (topic, callback) pair is one subscription).

A lease that has ended is not returned by `subscriptions_for`, even before anything
removes it: the hub must not push past the lease (§5.1), whatever the sweeper's delay.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.store.atomic import atomic
from syndicator.store.keys import Keys, hub_topic_key


def subscription_id(topic: str, callback: str) -> str:
    """The id of the subscription of `callback` to `topic`: one per pair."""
    return hashlib.sha256(f"{topic}\n{callback}".encode()).hexdigest()[:32]


def callback_host(callback: str) -> str:
    """The host of a callback URL, lower case (the per-host limit counts by it)."""
    return (urlsplit(callback).hostname or "").lower()


@dataclass(frozen=True)
class HubSubscription:
    """One verified subscription. `secret` is "" when the subscriber gave none (then
    deliveries are not signed). The last two fields belong to delivery (hub-delivery):
    the last version the subscriber acknowledged, and since when deliveries fail."""

    id: str
    topic: str
    callback: str
    secret: str
    lease_seconds: int
    expires_at: datetime
    created_at: datetime
    verified_at: datetime
    acked_version: int | None = None
    failing_since: datetime | None = None


_DATES = frozenset({"expires_at", "created_at", "verified_at", "failing_since"})
_INTS = frozenset({"lease_seconds", "acked_version"})
_FIELDS = tuple(f.name for f in fields(HubSubscription))


def _encode(sub: HubSubscription) -> dict[str, str]:
    """The hash fields of `sub`; a None field is written as "" (absent on read)."""
    out: dict[str, str] = {}
    for name in _FIELDS:
        value = getattr(sub, name)
        if value is None:
            out[name] = ""
        elif isinstance(value, datetime):
            out[name] = value.astimezone(UTC).isoformat()
        else:
            out[name] = str(value)
    return out


def _decode(raw: dict[bytes | str, bytes | str]) -> HubSubscription:
    data = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    values: dict[str, object] = {}
    for name in _FIELDS:
        text = data.get(name, "")
        if name in _DATES:
            values[name] = datetime.fromisoformat(text) if text else None
        elif name in _INTS:
            values[name] = int(text) if text else None
        else:
            values[name] = text
    return HubSubscription(**values)  # type: ignore[arg-type]


async def save_within_limit(redis: Redis, keys: Keys, sub: HubSubscription, *, per_host: int) -> bool:
    """Store `sub` (new or renewed) and its index entries, unless `sub` is new and its
    callback's host already has `per_host` subscriptions (0: no limit): then nothing is
    written and False returned. A renewal replaces the whole hash, so pass the delivery
    fields through (`dataclasses.replace`). Checked and written under WATCH, so two
    verifications finishing at once cannot both pass the last free place."""
    host_key = keys.hub_host(callback_host(sub.callback))
    while True:
        async with atomic(redis) as pipe:
            try:
                await pipe.watch(host_key)
                full = per_host and await pipe.scard(host_key) >= per_host
                if full and not await pipe.sismember(host_key, sub.id):
                    await pipe.unwatch()
                    return False
                pipe.multi()
                pipe.delete(keys.hub_subscription(sub.id))
                pipe.hset(keys.hub_subscription(sub.id), mapping=_encode(sub))
                pipe.sadd(keys.hub_topic(sub.topic), sub.id)
                pipe.hset(keys.hub_topics, hub_topic_key(sub.topic), sub.topic)
                pipe.sadd(host_key, sub.id)
                pipe.zadd(keys.hub_expiry, {sub.id: sub.expires_at.timestamp()})
                await pipe.execute()
                return True
            except WatchError:
                continue


async def load_subscription(redis: Redis, keys: Keys, subscription_id: str) -> HubSubscription | None:
    """The subscription `subscription_id`, expired or not; None if there is none."""
    raw = await redis.hgetall(keys.hub_subscription(subscription_id))
    return _decode(raw) if raw else None


async def subscriptions_for(
    redis: Redis, keys: Keys, topic: str, *, now: datetime | None = None
) -> list[HubSubscription]:
    """The subscriptions to `topic` whose lease has not ended (at `now`), by id."""
    now = now or datetime.now(UTC)
    ids = sorted(
        m.decode() if isinstance(m, bytes) else m for m in await redis.smembers(keys.hub_topic(topic))
    )
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for sid in ids:
            pipe.hgetall(keys.hub_subscription(sid))
        rows = await pipe.execute()
    subs = [_decode(raw) for raw in rows if raw]
    return [s for s in subs if s.expires_at > now]


async def topics(redis: Redis, keys: Keys) -> list[str]:
    """Every topic URL that has (or had, until its last subscription is removed) subscribers."""
    values = await redis.hvals(keys.hub_topics)
    return sorted(v.decode() if isinstance(v, bytes) else v for v in values)


async def remove_subscription(redis: Redis, keys: Keys, subscription_id: str) -> HubSubscription | None:
    """Remove a subscription and its index entries (and its topic from `topics` when it was
    the last one); return what was removed, or None if there was nothing (or another
    caller removed it first)."""
    sub = await load_subscription(redis, keys, subscription_id)
    if sub is None:
        await redis.zrem(keys.hub_expiry, subscription_id)
        return None
    async with atomic(redis) as pipe:
        pipe.delete(keys.hub_subscription(sub.id))
        pipe.srem(keys.hub_topic(sub.topic), sub.id)
        pipe.srem(keys.hub_host(callback_host(sub.callback)), sub.id)
        pipe.zrem(keys.hub_expiry, sub.id)
        deleted, *_ = await pipe.execute()
    await forget_topic_if_unused(redis, keys, sub.topic)
    # Two processes removing the same subscription at once: only the one whose DEL removed
    # the hash gets it back, so a `denied` notice (hub/intent.py) is sent once.
    return sub if deleted else None


async def forget_topic_if_unused(redis: Redis, keys: Keys, topic: str) -> None:
    """Forget `topic` in `hub_topics` if it has no subscription left. Its set and the
    topics hash are two slots of a cluster, so no one script: a subscription added between
    the count and the forgetting (it writes its set first) is seen by the second count,
    which puts the topic back."""
    key = hub_topic_key(topic)
    if await redis.scard(keys.hub_topic(topic)):
        return
    await redis.hdel(keys.hub_topics, key)
    if await redis.scard(keys.hub_topic(topic)):
        await redis.hset(keys.hub_topics, key, topic)


async def expired_ids(redis: Redis, keys: Keys, *, now: datetime, limit: int = 1000) -> list[str]:
    """Ids of subscriptions whose lease ended before `now` (oldest first, at most `limit`)."""
    ids = await redis.zrangebyscore(keys.hub_expiry, "-inf", f"({now.timestamp()}", start=0, num=limit)
    return [m.decode() if isinstance(m, bytes) else m for m in ids]


async def topic_ids(redis: Redis, keys: Keys, topic: str) -> list[str]:
    """Ids of every subscription to `topic`, expired or not."""
    return sorted(
        m.decode() if isinstance(m, bytes) else m for m in await redis.smembers(keys.hub_topic(topic))
    )


async def host_count(redis: Redis, keys: Keys, host: str) -> int:
    """How many subscriptions have their callback on `host` (the per-host limit)."""
    return int(await redis.scard(keys.hub_host(host)))


async def set_pending(redis: Redis, keys: Keys, subscription_id: str, nonce: str, *, ttl: int) -> None:
    """Remember `nonce` as the latest request for this (topic, callback) pair."""
    await redis.set(keys.hub_pending(subscription_id), nonce, ex=ttl)


_TAKE_PENDING = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""


async def is_pending(redis: Redis, keys: Keys, subscription_id: str, nonce: str) -> bool:
    """Whether `nonce` is still the latest request for the pair (no newer one superseded it)."""
    current = await redis.get(keys.hub_pending(subscription_id))
    return current is not None and (current.decode() if isinstance(current, bytes) else current) == nonce


async def take_pending(redis: Redis, keys: Keys, subscription_id: str, nonce: str) -> bool:
    """Atomically end the request `nonce` if it is still the latest; False if superseded."""
    return bool(await redis.eval(_TAKE_PENDING, 1, keys.hub_pending(subscription_id), nonce))
