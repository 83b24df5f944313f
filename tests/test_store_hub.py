"""The hub's subscription store against a real Redis: one record per (topic, callback),
indexes kept with it, expired leases never returned, a topic forgotten with its last one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from syndicator.store.hub import (
    HubSubscription,
    load_subscription,
    remove_subscription,
    save_within_limit,
    subscription_id,
    subscriptions_for,
    topics,
)
from syndicator.store.keys import Keys

TOPIC = "https://example.test/feeds/world.xml"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _sub(topic: str, callback: str, *, lease: int = 3600, secret: str = "") -> HubSubscription:
    return HubSubscription(
        id=subscription_id(topic, callback),
        topic=topic,
        callback=callback,
        secret=secret,
        lease_seconds=lease,
        expires_at=NOW + timedelta(seconds=lease),
        created_at=NOW,
        verified_at=NOW,
    )


async def test_round_trip_and_indexes(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    sub = _sub(TOPIC, "http://cb.test/a", secret="s3cret")
    await save_within_limit(redis, keys, sub, per_host=0)
    assert await load_subscription(redis, keys, sub.id) == sub
    assert await subscriptions_for(redis, keys, TOPIC, now=NOW) == [sub]
    assert await topics(redis, keys) == [TOPIC]
    assert await redis.smembers(keys.hub_host("cb.test")) == {sub.id.encode()}
    assert await redis.zscore(keys.hub_expiry, sub.id) == sub.expires_at.timestamp()
    acked = replace(sub, acked_version=7, failing_since=NOW)
    await save_within_limit(redis, keys, acked, per_host=0)
    assert await load_subscription(redis, keys, sub.id) == acked


async def test_same_pair_is_one_subscription_and_expired_are_not_returned(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    short = _sub(TOPIC, "http://cb.test/a", lease=60)
    other = _sub(TOPIC, "http://cb.test/b", lease=7200)
    await save_within_limit(redis, keys, short, per_host=0)
    await save_within_limit(redis, keys, other, per_host=0)
    assert [s.id for s in await subscriptions_for(redis, keys, TOPIC, now=NOW)] == sorted(
        [short.id, other.id]
    )
    later = NOW + timedelta(seconds=61)
    assert await subscriptions_for(redis, keys, TOPIC, now=later) == [other]
    renewed = replace(short, lease_seconds=7200, expires_at=later + timedelta(hours=2))
    await save_within_limit(redis, keys, renewed, per_host=0)
    assert len(await subscriptions_for(redis, keys, TOPIC, now=later)) == 2
    assert await redis.scard(keys.hub_topic(TOPIC)) == 2


async def test_remove_forgets_topic_with_its_last_subscription(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    a, b = _sub(TOPIC, "http://cb.test/a"), _sub(TOPIC, "http://other.test/b")
    await save_within_limit(redis, keys, a, per_host=0)
    await save_within_limit(redis, keys, b, per_host=0)
    assert await remove_subscription(redis, keys, a.id) == a
    assert await topics(redis, keys) == [TOPIC]
    assert await load_subscription(redis, keys, a.id) is None
    assert await redis.scard(keys.hub_host("cb.test")) == 0
    assert await remove_subscription(redis, keys, b.id) == b
    assert await topics(redis, keys) == []
    assert await redis.zcard(keys.hub_expiry) == 0
    assert await remove_subscription(redis, keys, b.id) is None
