"""Takedown: an article removed from everything readers see, and tombstoned so it stays out.

`hide_article` removes the record from every category index it is in (and every
configured one, in case the record's list is behind), from the per-source indexes, the
archive sequences and the eviction sets, deletes the record and its URL-index entry, and
removes it from its near-duplicate cluster (store/clusters.py: a representative's
fingerprint and copies' entries; a copy, which has no record, leaves its representative's
`related`), and writes two tombstones: the id in `{prefix}hidden-ids` and the canonical URL in
`{prefix}hidden-urls`. The upsert (store/articles.py) reads both under WATCH and stores
nothing for an article whose id or URL is tombstoned — outcome `hidden` — so no re-ingest,
forced or not, through this source or another carrying the same URL, brings it back.

All of it is one optimistic transaction over the record, its URL-index entry and the
tombstones: an ingest storing the same article at the same moment either commits first
(and is then removed) or replans and finds the tombstone. The feeds still hold the article
until each category it was in is published again (operate/takedown.py asks for that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.store.atomic import atomic
from syndicator.store.clusters import drop_copy, forget
from syndicator.store.codec import article_from_json
from syndicator.store.keys import Keys


@dataclass(frozen=True)
class Tombstone:
    """A hidden article: its id, canonical URL, title, first source, when and by whom."""

    article_id: str
    url: str
    title: str
    source_id: str
    at: str
    who: str
    reason: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Tombstone | None:
        try:
            data = json.loads(raw)
            return cls(**{k: str(data.get(k, "")) for k in cls.__dataclass_fields__})
        except (ValueError, TypeError, AttributeError):
            return None


@dataclass(frozen=True)
class Hidden:
    """What `hide_article` did: the tombstone, and the categories the article left
    (empty when it was hidden already: nothing changed)."""

    tombstone: Tombstone
    categories: tuple[str, ...]
    already: bool = False


async def hidden_id_for_url(redis: Redis, keys: Keys, canonical_url: str) -> str | None:
    """The id of the hidden article with this canonical URL, if one is hidden."""
    raw = await redis.hget(keys.hidden_urls, canonical_url)
    return raw.decode() if raw else None


async def stored_id_for_url(redis: Redis, keys: Keys, canonical_url: str) -> str | None:
    """The id of the stored article with this canonical URL (the URL index), if any."""
    raw = await redis.get(keys.url_index(canonical_url))
    return raw.decode() if raw else None


async def tombstone(redis: Redis, keys: Keys, article_id: str) -> Tombstone | None:
    raw = await redis.hget(keys.hidden_ids, article_id)
    return Tombstone.from_json(raw) if raw else None


async def hide_article(
    redis: Redis,
    keys: Keys,
    article_id: str,
    *,
    slugs: Iterable[str],
    now: datetime,
    who: str,
    reason: str = "",
    tombstoned: bool = True,
    only_source: str | None = None,
) -> Hidden | None:
    """Hide `article_id` (see the module); None when no such article is stored or hidden.

    `slugs` are the configured categories: the article is removed from each of their
    indexes as well as from those its record lists. `tombstoned=False` removes the
    article without a tombstone, so a later ingest may store it again (the processing
    stage withdrawing an article its filters now drop); with `only_source`, only when
    that source is the article's one source (None otherwise: another still lists it)."""
    configured = list(slugs)
    record_key = keys.article(article_id)
    while True:
        async with atomic(redis) as pipe:
            try:
                await pipe.watch(record_key, keys.hidden_ids)
                raw = await pipe.get(record_key)
                if raw is None and not tombstoned:
                    await pipe.reset()
                    return None
                if raw is None:
                    existing = await pipe.hget(keys.hidden_ids, article_id)
                    await pipe.reset()
                    stone = Tombstone.from_json(existing) if existing else None
                    if stone is not None:
                        return Hidden(stone, (), already=True)
                    return await _hide_copy(redis, keys, article_id, now=now, who=who, reason=reason)
                article, indexes = article_from_json(raw)
                if only_source is not None and set((article.source_id, *article.sources)) != {only_source}:
                    await pipe.reset()
                    return None
                url_key = keys.url_index(article.url) if article.url else None
                if url_key:
                    await pipe.watch(url_key)
                    indexed = await pipe.get(url_key)
                else:
                    indexed = None
                all_slugs = list(dict.fromkeys((*indexes, *configured)))
                sources = list(dict.fromkeys((article.source_id, *article.sources)))
                stone = Tombstone(
                    article_id=article_id,
                    url=article.url or "",
                    title=article.title,
                    source_id=article.source_id,
                    at=now.isoformat(timespec="seconds"),
                    who=who,
                    reason=reason,
                )
                pipe.multi()
                for slug in all_slugs:
                    pipe.zrem(keys.category_index(slug), article_id)
                    pipe.zrem(keys.sequence(slug), article_id)
                    pipe.zrem(keys.evicted(slug), article_id)
                    for source_id in sources:
                        pipe.zrem(keys.source_index(slug, source_id), article_id)
                pipe.delete(record_key)
                if url_key and indexed is not None and indexed.decode() == article_id:
                    pipe.delete(url_key)
                if tombstoned:
                    pipe.hset(keys.hidden_ids, article_id, stone.to_json())
                    if article.url:
                        pipe.hset(keys.hidden_urls, article.url, article_id)
                await pipe.execute()
                await forget(redis, keys, article_id)  # its cluster: its copies stand alone again
                return Hidden(stone, tuple(indexes))
            except WatchError:
                continue


async def _hide_copy(
    redis: Redis, keys: Keys, article_id: str, *, now: datetime, who: str, reason: str
) -> Hidden | None:
    """Hide a near-duplicate copy (no record of its own: an entry of its representative's
    `related`, store/clusters.py): the entry goes, the copy's id is tombstoned so it does
    not join again, and its representative's categories are republished."""
    copy = await drop_copy(redis, keys, article_id)
    if copy is None:
        return None
    stone = Tombstone(
        article_id=article_id,
        url=copy.related.url,
        title=copy.related.title,
        source_id=copy.related.source_id,
        at=now.isoformat(timespec="seconds"),
        who=who,
        reason=reason,
    )
    async with atomic(redis) as pipe:
        pipe.hset(keys.hidden_ids, article_id, stone.to_json())
        if copy.related.url:
            pipe.hset(keys.hidden_urls, copy.related.url, article_id)
        await pipe.execute()
    return Hidden(stone, copy.indexes)


async def unhide_article(redis: Redis, keys: Keys, article_id: str) -> Tombstone | None:
    """Lift the tombstones of `article_id` (its id and URL); the tombstone, or None when it
    was not hidden. The article comes back only when a source lists it again."""
    stone = await tombstone(redis, keys, article_id)
    if stone is None:
        return None
    async with atomic(redis) as pipe:
        pipe.hdel(keys.hidden_ids, article_id)
        if stone.url:
            pipe.hdel(keys.hidden_urls, stone.url)
        await pipe.execute()
    return stone


async def hidden_articles(redis: Redis, keys: Keys) -> list[Tombstone]:
    """Every hidden article, most recently hidden first."""
    stones = [Tombstone.from_json(raw) for raw in (await redis.hgetall(keys.hidden_ids)).values()]
    return sorted((s for s in stones if s is not None), key=lambda s: s.at, reverse=True)
