"""Items of `full_text` sources held back from every feed until their full text is stored.

A new item of a `full_text` feed source is not upserted when its feed is read: its record
waits here (`Keys.held`, one hash per source), in no category index, so no feed shows it
— plain, filtered, archived or as a delta, since all of them read the indexes. It leaves
when its page job stores it with the page's body, or fails and stores it as it came, or
when `full_text_wait` has passed (`Keys.held_due`, scored by that time; the scheduler
releases what came due). Either way it is stored by the one upsert, whose merge rule
keeps a body read from the page over the feed's summary, so the two ways out may run in
any order, twice, or at once and still store the same record.

Which items are new: an id the source's feed listed before (`Keys.full_text_seen`,
refreshed on every poll and forgotten after `evicted_memory` unlisted), that is held, or
that is already stored, is not; its link is fetched once, not on every poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from syndicator.models import Article
from syndicator.store.atomic import atomic
from syndicator.store.codec import article_from_json, article_to_json
from syndicator.store.keys import Keys


@dataclass(frozen=True)
class Triage:
    """A batch of a `full_text` source's articles sorted by what the feed read means for
    them: `new` ids (fetch their page), `waiting` ids (held already: still not stored)."""

    new: frozenset[str]
    waiting: frozenset[str]


def _member(source_id: str, article_id: str) -> str:
    return f"{source_id} {article_id}"


async def triage(
    redis: Redis, keys: Keys, source_id: str, ids: Sequence[str], *, now: datetime, memory: timedelta
) -> Triage:
    """Which of `ids` (one poll's articles of `source_id`) are new and which are waiting;
    and remember them all as listed now (forgetting ids unlisted for longer than `memory`)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return Triage(frozenset(), frozenset())
    seen_key = keys.full_text_seen(source_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hmget(keys.held(source_id), ids)
        pipe.zmscore(seen_key, ids)
        for article_id in ids:
            pipe.exists(keys.article(article_id))
        held, seen, *stored = await pipe.execute()
    waiting = frozenset(i for i, h in zip(ids, held, strict=True) if h is not None)
    new = frozenset(
        i for i, h, s, e in zip(ids, held, seen, stored, strict=True) if h is None and s is None and not e
    )
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(seen_key, {i: now.timestamp() for i in ids})
        pipe.zremrangebyscore(seen_key, "-inf", f"({(now - memory).timestamp()}")
        await pipe.execute()
    return Triage(new, waiting)


async def hold(redis: Redis, keys: Keys, articles: Sequence[Article], *, release_at: datetime) -> None:
    """Hold `articles` (each under its own source) until `release_at` at the latest."""
    if not articles:
        return
    async with atomic(redis) as pipe:
        for article in articles:
            pipe.hset(keys.held(article.source_id), article.id, article_to_json(article, indexes=()))
        pipe.zadd(keys.held_due, {_member(a.source_id, a.id): release_at.timestamp() for a in articles})
        await pipe.execute()


async def held_article(redis: Redis, keys: Keys, source_id: str, article_id: str) -> Article | None:
    """The held record of `article_id`, or None when it is not (or no longer) held."""
    raw = await redis.hget(keys.held(source_id), article_id)
    return article_from_json(raw)[0] if raw else None


async def held_articles(redis: Redis, keys: Keys, source_id: str, ids: Sequence[str]) -> list[Article]:
    """The held records of those `ids` still held, in order."""
    if not ids:
        return []
    raws = await redis.hmget(keys.held(source_id), list(ids))
    return [article_from_json(raw)[0] for raw in raws if raw]


async def due(redis: Redis, keys: Keys, *, now: datetime, limit: int = 500) -> list[tuple[str, str]]:
    """Held items whose wait is over at `now`, as (source id, article id), oldest first."""
    members = await redis.zrangebyscore(keys.held_due, "-inf", now.timestamp(), start=0, num=limit)
    pairs = [m.decode().split(" ", 1) for m in members]
    return [(p[0], p[1]) for p in pairs if len(p) == 2]


async def unhold(redis: Redis, keys: Keys, source_id: str, ids: Sequence[str]) -> None:
    """Forget that `ids` of `source_id` are held (after they were stored, or given up)."""
    if not ids:
        return
    async with atomic(redis) as pipe:
        pipe.hdel(keys.held(source_id), *ids)
        pipe.zrem(keys.held_due, *(_member(source_id, i) for i in ids))
        await pipe.execute()


async def held_count(redis: Redis, keys: Keys, source_id: str) -> int:
    """How many of `source_id`'s items wait for their full text now."""
    return int(await redis.hlen(keys.held(source_id)))
