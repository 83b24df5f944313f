"""Idempotent article upserts, category indexes and retention.

A job may run twice, or on two workers at once (arq delivers at least once). Every write
here is therefore an optimistic compare-and-set step (store/atomic.py: watch, compute, a
Lua script that writes only if what was read is unchanged) that recomputes from what
Redis holds, so repeating it changes nothing: the same upstream item always lands on the
same record, `updated` moves only when the content hash moves, an id that retention
evicted stays evicted while the upstream still lists it, a body read from an item's page
(`full_text_url`) is kept when the feed's summary of it comes again, and an article an
operator took down (its id or canonical URL tombstoned, store/takedown.py) is never
stored again: outcome `hidden`, which the ingest report counts.

Hashes are compared under one definition: a stored record hashed under an older one
(`hash_version` below models.HASH_VERSION) is rehashed from its own fields first. If only
the definition changed, the record quietly gets the new hash and version: `updated` stays,
the outcome is "unchanged" and no feed is re-published.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import WatchError

from syndicator.models import HASH_VERSION, RELATED_SHOWN, Article, Category
from syndicator.store.atomic import Atomic, atomic, get_many, is_cluster, run_script
from syndicator.store.codec import article_from_json, article_to_json
from syndicator.store.keys import Keys


def order_key(article: Article) -> tuple[float, str]:
    """The sort key of THE feed order; sort with `reverse=True` (or use `in_feed_order`).

    Newest `published` first; equal times by id, descending. That is exactly the order in
    which Redis returns a category index (ZREVRANGE: score descending, then member
    descending by bytes, which for UTF-8 is code point order), so every slice of an index
    is a prefix of the feed: the plain feed's first N items are `?limit=N`, retention's
    oldest are the feed's last, and archive numbering (ZRANGE, oldest first) agrees. A
    tie-break ascending by id would need every reader to fetch all the ties at its edge.
    """
    return (article.published.timestamp(), article.id)


def in_feed_order(articles: Iterable[Article]) -> list[Article]:
    """`articles` newest first, ties by id descending: the order every feed renders."""
    return sorted(articles, key=order_key, reverse=True)


class Outcome(enum.StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    MERGED = "merged"  # same canonical URL already stored from another source
    EVICTED = "evicted"  # retention removed it earlier; still upstream, so not re-added
    HIDDEN = "hidden"  # an operator took it down (store/takedown.py): its id or URL is tombstoned


@dataclass(frozen=True)
class UpsertResult:
    article_id: str
    outcome: Outcome
    indexes: tuple[str, ...]  # category indexes whose feed this upsert changed


def _merge(old: Article, new: Article, now: datetime) -> Article:
    """The record after `new` (same id) arrives: content from `new`, identity dates from `old`."""
    published = old.published if new.date_estimated and old.date_estimated else new.published
    updated = new.updated if new.updated > old.updated else now
    return replace(
        new,
        published=published,
        date_estimated=new.date_estimated and old.date_estimated,
        updated=max(updated, published),
        first_seen=old.first_seen or new.first_seen,
        sources=old.sources or (new.source_id,),
        related=old.related,  # near-duplicates that joined stay with the representative
        related_more=old.related_more,
    )


KEPT_ARTICLES = 1024
"""Decoded records `newest_articles` keeps (`_kept_article`): the articles of twenty
default feed pages, about 8 KB each with their record's bytes."""


UPSERT_BATCH = 200
"""Articles per transaction in `upsert_articles` (and ids per step of `apply_retention`).

Big enough that 100,000 entries take a few thousand round trips instead of half a million;
small enough that planning a batch and encoding its ~1,600 commands hold the event loop
for tens of milliseconds, not the 250-700 ms that 500 took under `serve` (measured), and
that a batch retried after a WatchError repeats little."""


async def upsert_article(
    redis: Redis,
    keys: Keys,
    article: Article,
    indexes: tuple[str, ...],
    *,
    now: datetime,
) -> UpsertResult:
    """Store `article` in its record and in the category `indexes` (slug, parents, `all`).

    A batch of one (`upsert_articles`): there is one way of upserting, so one and many
    cannot drift apart."""
    [result] = await upsert_articles(redis, keys, [(article, indexes)], now=now)
    return result


async def upsert_articles(
    redis: Redis,
    keys: Keys,
    batch: Sequence[tuple[Article, tuple[str, ...]]],
    *,
    now: datetime,
) -> list[UpsertResult]:
    """Upsert each `(article, indexes)` of `batch`, in order; one result per article.

    Exactly as if each were upserted alone, one after the other, but in one optimistic
    transaction per `UPSERT_BATCH` articles: every key a batch reads is read up front in a
    few multi-key commands under WATCH, the batch is planned in order against those values
    and its own earlier writes (`_Snapshot`), and all its writes go in one atomic step
    (store/atomic.py). A concurrent write to anything it read (WatchError) replans the
    whole batch. On a Redis Cluster the step is atomic per article record, the records
    written first: a conflict after some were written leaves them so, and the replan
    writes their indexes and reports them as the cut-short plan did (`_Written`), since
    from the records alone they would look unchanged.
    """
    results: list[UpsertResult] = []
    for start in range(0, len(batch), UPSERT_BATCH):
        chunk = batch[start : start + UPSERT_BATCH]
        cut_short: dict[str, _Written] = {}
        while True:
            async with atomic(redis) as pipe:
                try:
                    snapshot = await _Snapshot.read(pipe, keys, chunk)
                    snapshot.cut_short = cut_short
                    pipe.multi()
                    planned = [snapshot.plan(pipe, article, indexes, now) for article, indexes in chunk]
                    await pipe.execute()
                    break
                except WatchError:
                    # On a cluster some records may be written already (store/atomic.py):
                    # the next plan finishes those as this one would have. (On one Redis
                    # nothing was: an equal record is another process's.)
                    if is_cluster(redis):
                        cut_short = {**cut_short, **snapshot.attempted}
                    continue
        results.extend(planned)
        await asyncio.sleep(0)  # the loop answers between batches, however fast Redis is
    return results


class _Snapshot:
    """What a batch of upserts reads, as Redis held it under WATCH, plus the batch's own writes.

    Planning article k of a batch must see what articles 0..k-1 wrote, as it would if each
    were its own transaction: records and URL-index entries written earlier in the batch
    replace the values read. Records are kept as the JSON Redis would hold, so a later
    article of the batch decodes exactly what a separate transaction would have read.
    Eviction markers need no overlay: an upsert only refreshes the score of a marker that
    exists, never adds or removes one.
    """

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.records: dict[str, str | bytes | None] = {}  # article id -> stored JSON
        self.urls: dict[str, str | None] = {}  # URL-index key -> article id
        self.evicted: set[tuple[str, str]] = set()  # (slug, article id) with a marker
        self.hidden_ids: set[str] = set()  # tombstoned ids among the batch's
        self.hidden_urls: set[str] = set()  # tombstoned canonical URLs among the batch's
        self.attempted: dict[str, _Written] = {}  # record id -> what this plan writes there
        self.cut_short: dict[str, _Written] = {}  # the same, of attempts a conflict cut short

    @classmethod
    async def read(
        cls, pipe: Atomic, keys: Keys, batch: Sequence[tuple[Article, tuple[str, ...]]]
    ) -> _Snapshot:
        """WATCH and read every key the batch's plans can look at, in a few round trips."""
        snapshot = cls(keys)
        slugs = sorted({slug for _article, indexes in batch for slug in indexes})
        url_keys = sorted({keys.url_index(a.url) for a, _indexes in batch if a.url})
        # The tombstones first: a takedown committing while this batch plans makes it replan.
        await pipe.watch(keys.hidden_ids, keys.hidden_urls, *(keys.evicted(s) for s in slugs), *url_keys)
        batch_ids = sorted({a.id for a, _indexes in batch})
        urls = sorted({a.url for a, _indexes in batch if a.url})
        if batch_ids:
            hidden = await pipe.hmget(keys.hidden_ids, batch_ids)
            snapshot.hidden_ids = {i for i, h in zip(batch_ids, hidden, strict=True) if h is not None}
        if urls:
            hidden = await pipe.hmget(keys.hidden_urls, urls)
            snapshot.hidden_urls = {u for u, h in zip(urls, hidden, strict=True) if h is not None}
        if url_keys:
            indexed = await get_many(pipe.redis, url_keys)
            snapshot.urls = {k: v.decode() if v else None for k, v in zip(url_keys, indexed, strict=True)}
        # Records an article may land on: its own, or the one its URL is indexed under.
        ids = sorted({a.id for a, _indexes in batch} | {i for i in snapshot.urls.values() if i})
        record_keys = [keys.article(i) for i in ids]
        await pipe.watch(*record_keys, lead=True)  # on a cluster, records are written first
        snapshot.records = dict(zip(ids, await get_many(pipe.redis, record_keys), strict=True))
        for slug in slugs:
            scores = await pipe.zmscore(keys.evicted(slug), ids)
            snapshot.evicted.update(
                (slug, i) for i, score in zip(ids, scores, strict=True) if score is not None
            )
        return snapshot

    def plan(self, pipe: Atomic, article: Article, indexes: tuple[str, ...], now: datetime) -> UpsertResult:
        """Queue `article`'s writes on `pipe` (after MULTI) and remember them; its result."""
        keys = self.keys
        if article.id in self.hidden_ids or (article.url and article.url in self.hidden_urls):
            return UpsertResult(article.id, Outcome.HIDDEN, ())  # taken down: nothing written
        url_key = keys.url_index(article.url) if article.url else None
        target_id = article.id
        if url_key:
            indexed = self.urls.get(url_key)
            if indexed and indexed != article.id and self.records.get(indexed):
                target_id = indexed

        raw = self.records.get(target_id)
        stored: Article | None = None
        stored_indexes: tuple[str, ...] = ()
        if raw:
            stored, stored_indexes = article_from_json(raw)

        live_indexes = [s for s in indexes if (s, target_id) not in self.evicted]
        evicted_from = [s for s in indexes if s not in live_indexes]
        for slug in evicted_from:  # seen upstream again: remember the eviction for longer
            pipe.zadd(keys.evicted(slug), {target_id: now.timestamp()})

        planned = _plan_upsert(article, target_id, stored, stored_indexes, live_indexes, now)
        earlier = self.cut_short.get(target_id)
        if planned.record is None and earlier is not None and _same(raw, earlier.raw):
            # Written by an attempt cut short: finish its writes and report its result.
            _write(pipe, keys, earlier.record, earlier.indexes, earlier.url_key)
            self.attempted[target_id] = earlier
            return earlier.result
        if planned.record is not None:
            written = _write(pipe, keys, planned.record, planned.indexes, url_key)
            self.records[planned.record.id] = written
            self.attempted[planned.record.id] = _Written(
                written, planned.result, planned.record, planned.indexes, url_key
            )
            if url_key:
                self.urls[url_key] = planned.record.id
        return planned.result


@dataclass(frozen=True)
class _Written:
    """What a plan wrote for one record: its JSON, and what finishing it again takes."""

    raw: str
    result: UpsertResult
    record: Article
    indexes: tuple[str, ...]
    url_key: str | None


@dataclass(frozen=True)
class _Plan:
    result: UpsertResult
    record: Article | None = None  # what to write; None: nothing to write
    indexes: tuple[str, ...] = ()  # the indexes `record` is written under (and listed in)


def _plan_upsert(
    article: Article,
    target_id: str,
    stored: Article | None,
    stored_indexes: tuple[str, ...],
    live_indexes: list[str],
    now: datetime,
) -> _Plan:
    """The merge rules, pure: what `article` does to the record `target_id` (`stored`)."""
    if stored is None:
        if not live_indexes:
            return _Plan(UpsertResult(target_id, Outcome.EVICTED, ()))
        record = replace(article, sources=(article.source_id,), first_seen=article.first_seen or now)
        return _Plan(UpsertResult(target_id, Outcome.NEW, tuple(live_indexes)), record, tuple(live_indexes))

    if target_id != article.id or stored.source_id != article.source_id:
        # The same article through a second source: the first source owns the content.
        if article.source_id in stored.sources:
            return _Plan(UpsertResult(target_id, Outcome.UNCHANGED, ()))
        # A near-duplicate (process/cluster.py sent it here under the representative's URL)
        # adds its link to `related`; neither adds to the content hash or moves `updated`.
        # The list keeps the newest RELATED_SHOWN; older ones are counted in `related_more`.
        known = {r.url for r in stored.related}
        # Where the copy is (its categories and their indexes: parents) and what of it the
        # representative was not in before: taking the copy down takes that away again.
        reach = tuple(dict.fromkeys((*article.categories, *live_indexes)))
        added = tuple(c for c in reach if c not in stored.categories and c not in stored_indexes)
        joined = tuple(
            replace(r, categories=reach, added=added) for r in article.related if r.url not in known
        )
        related = (*stored.related, *joined)
        dropped = max(0, len(related) - RELATED_SHOWN)
        record = replace(
            stored,
            sources=(*stored.sources, article.source_id),
            categories=tuple(dict.fromkeys((*stored.categories, *article.categories))),
            related=related[dropped:],
            related_more=stored.related_more + dropped,
        )
        all_indexes = tuple(dict.fromkeys((*stored_indexes, *live_indexes)))
        return _Plan(UpsertResult(target_id, Outcome.MERGED, all_indexes), record, all_indexes)

    article = _keep_full_text(stored, article)
    added = tuple(s for s in live_indexes if s not in stored_indexes)
    stale = stored.hash_version < HASH_VERSION  # hashed under an older definition
    new_hash = _current_hash(article)
    content_changed = _current_hash(stored) != new_hash
    refreshed = not content_changed and _unhashed(stored) != _unhashed(article)
    if not content_changed and not added and not stale and not refreshed:
        return _Plan(UpsertResult(target_id, Outcome.UNCHANGED, ()))
    if content_changed:
        record = _merge(stored, article, now)
    else:  # same content: `updated` stays; only a newer hash definition or what it leaves out
        record = stored
        if stale:
            record = replace(record, content_hash=new_hash, hash_version=HASH_VERSION)
        if refreshed:
            record = replace(record, images=article.images, upstream=article.upstream)
    all_indexes = tuple(dict.fromkeys((*stored_indexes, *live_indexes)))
    if content_changed:
        return _Plan(UpsertResult(target_id, Outcome.CHANGED, all_indexes), record, all_indexes)
    # Refreshed presentation (images read from the content, the upstream feed's details)
    # is published again everywhere the article is; a new index alone only there. The
    # record is written under all of its indexes either way.
    published = all_indexes if refreshed else added
    return _Plan(UpsertResult(target_id, Outcome.UNCHANGED, published), record, all_indexes)


def _same(raw: str | bytes | None, written: str) -> bool:
    """Whether the stored JSON `raw` is `written`."""
    return raw is not None and (raw.decode() if isinstance(raw, bytes) else raw) == written


def _keep_full_text(stored: Article, article: Article) -> Article:
    """`article` with the stored body read from its page, if the record has one and
    `article` (the feed's item again, with its summary for a body) has not: a full-text
    source's feed read after the page was stored changes nothing that did not change
    upstream, and a page read stored after the feed's item still wins."""
    if stored.full_text_url is None or article.full_text_url is not None:
        return article
    kept = replace(
        article,
        content_html=stored.content_html,
        images=stored.images,
        full_text_url=stored.full_text_url,
    )
    return kept.hashed()


def _unhashed(article: Article) -> tuple[object, ...]:
    """What a feed shows that the content hash leaves out, because it is derived from what
    the hash covers (images from the content) or names the container, not the article
    (the upstream feed's title and author): new code or a renamed feed refreshes it
    without moving `updated`."""
    return (article.images, article.upstream)


def _current_hash(article: Article) -> str:
    """The article's content hash under the current definition (recomputed if it is older)."""
    return article.content_hash if article.hash_version == HASH_VERSION else article.reader_hash()


def _write(pipe: Atomic, keys: Keys, record: Article, indexes: tuple[str, ...], url_key: str | None) -> str:
    """Queue the writes of `record` under `indexes`; returns the JSON stored for it."""
    raw = article_to_json(record, indexes=indexes)
    pipe.set(keys.article(record.id), raw)
    if url_key:
        pipe.set(url_key, record.id)
    score = record.published.timestamp()
    for slug in indexes:
        pipe.zadd(keys.category_index(slug), {record.id: score})
        # Counted against the first source, which owns the content (see apply_retention).
        pipe.zadd(keys.source_index(slug, record.source_id), {record.id: score})
        pipe.sadd(keys.index_sources(slug), record.source_id)
    return raw


async def rewrite_article(
    redis: Redis, keys: Keys, record: Article, indexes: tuple[str, ...], old_indexes: tuple[str, ...]
) -> None:
    """Write `record` as it is (no merge: `updated` is the caller's) under `indexes`, and
    take it out of the `old_indexes` it is no longer in. Reprocess's write (operate/reprocess.py)."""
    async with atomic(redis) as pipe:
        for slug in old_indexes:
            if slug not in indexes:
                pipe.zrem(keys.category_index(slug), record.id)
                pipe.zrem(keys.source_index(slug, record.source_id), record.id)
        _write(pipe, keys, record, indexes, keys.url_index(record.url) if record.url else None)
        await pipe.execute()


async def apply_retention(
    redis: Redis,
    keys: Keys,
    category: Category,
    *,
    now: datetime,
    evicted_memory: timedelta,
) -> list[str]:
    """Trim `category`'s index by count and age; returns the evicted ids.

    By count, fairly (`_count_victims`): one source flooding a shared category evicts its
    own oldest items, not the others'. By age: everything older than `retention_age`.
    Evicted ids go to the category's eviction set so a still-listed upstream item is not
    re-added as new; a record that is in no index any more is deleted.
    """
    index = keys.category_index(category.slug)
    sources = sorted(m.decode() for m in await redis.smembers(keys.index_sources(category.slug)))
    doomed: set[str] = set()
    over = await redis.zcard(index) - category.retention_count
    if over > 0:
        doomed.update(await _count_victims(redis, keys, category, sources, over))
    if category.retention_age is not None:
        cutoff = (now - category.retention_age).timestamp()
        doomed.update(m.decode() for m in await redis.zrangebyscore(index, "-inf", f"({cutoff}"))
    evicted_key = keys.evicted(category.slug)
    await redis.zremrangebyscore(evicted_key, "-inf", (now - evicted_memory).timestamp())
    victims = sorted(doomed)
    for start in range(0, len(victims), UPSERT_BATCH):
        # In batches, each trimmed atomically from every index and marked evicted before
        # its orphans go: a flood evicts ~100,000 ids at once, and one command listing
        # them all takes the event loop most of a second to encode.
        part = victims[start : start + UPSERT_BATCH]
        owners, unowned = await _owners(redis, keys, part)
        async with atomic(redis) as pipe:
            pipe.zrem(index, *part)
            for source_id in sources:
                owned = [*owners.get(source_id, ()), *unowned]
                if owned:
                    pipe.zrem(keys.source_index(category.slug, source_id), *owned)
            pipe.zadd(evicted_key, dict.fromkeys(part, now.timestamp()))
            await pipe.execute()
        await _delete_orphans(redis, keys, part)
    return victims


async def _owners(redis: Redis, keys: Keys, article_ids: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Which source index holds each of `article_ids`: source id → its ids (the record's
    first source: `_write` counts an article there and nowhere else), and the ids without
    a record, which are taken out of every source's index as before.

    Why: a category at its limit evicts a couple of ids an ingest, and a ZREM from the
    source index of each of its sources (1,000 in `all` in bench/scale.py) for them was
    part of why ingest into a full category ran 2.5 times slower.
    """
    raws = await get_many(redis, [keys.article(i) for i in article_ids])
    owners: dict[str, list[str]] = {}
    unowned: list[str] = []
    for article_id, raw in zip(article_ids, raws, strict=True):
        if raw is None:
            unowned.append(article_id)
        else:
            owners.setdefault(article_from_json(raw)[0].source_id, []).append(article_id)
    return owners, unowned


def source_cap(category: Category) -> int:
    """The most items one source keeps in a full category: its share of retention_count."""
    return max(1, int(category.max_source_share * category.retention_count))


def plan_count_eviction(counts: dict[str, int], over: int, cap: int) -> dict[str, int]:
    """How many of its oldest items each source loses when a category is `over` by that many.

    `counts` are the category's items per source. First, if more than one source holds
    items, every source holding more than `cap` loses everything beyond it, even if that
    frees more than `over`: the share is a ceiling on a full category shared with others,
    so a flood is cut back at once rather than pushing one healthy item out per poll. A
    source alone in its category is never capped. Then, while the category is still over,
    the source holding the most items loses its oldest, one at a time: several floods
    that are each within their share pay among themselves, and a small source pays last.
    """
    take = {s: n - cap for s, n in counts.items() if n > cap} if len(counts) > 1 else {}
    remaining = over - sum(take.values())
    heap = [(-(n - take.get(s, 0)), s) for s, n in counts.items() if n - take.get(s, 0) > 0]
    heapq.heapify(heap)
    while remaining > 0 and heap:
        negative, source_id = heapq.heappop(heap)
        take[source_id] = take.get(source_id, 0) + 1
        remaining -= 1
        if negative + 1 < 0:
            heapq.heappush(heap, (negative + 1, source_id))
    return take


_COUNT_EACH = """
local counts = {}
for i, key in ipairs(KEYS) do counts[i] = redis.call('ZCARD', key) end
return counts
"""
"""KEYS: sorted sets (one category's source indexes: one hash tag); the ZCARD of each, in order."""


async def _count_victims(
    redis: Redis, keys: Keys, category: Category, sources: list[str], over: int
) -> set[str]:
    """The ids to evict from an index `over` its retention_count (see plan_count_eviction).

    Reads one count per source and each paying source's oldest ids from its source index
    (store layout 2), never the records. Ids a source index still holds but the category
    index no longer does are skipped; if the source indexes do not account for enough of
    the index (an id stored before them), the rest are the index's oldest, as before.
    """
    slug = category.slug
    index = keys.category_index(slug)
    # One script call, not a ZCARD a source: `all` holds every source (1,000 in
    # bench/scale.py), and a command each was most of why ingest into a full category
    # ran 2.5 times slower.
    counted = await run_script(redis, _COUNT_EACH, [keys.source_index(slug, s) for s in sources], [])
    counts = dict(zip(sources, counted, strict=True))
    take = plan_count_eviction({s: n for s, n in counts.items() if n}, over, source_cap(category))
    doomed: set[str] = set()
    if take:
        async with redis.pipeline(transaction=False) as pipe:
            for source_id, n in take.items():
                pipe.zrange(keys.source_index(slug, source_id), 0, n - 1)
            picked = [m.decode() for members in await pipe.execute() for m in members]
        for start in range(0, len(picked), UPSERT_BATCH):  # short commands: see apply_retention
            part = picked[start : start + UPSERT_BATCH]
            scores = await redis.zmscore(index, part)
            doomed.update(i for i, score in zip(part, scores, strict=True) if score is not None)
    if len(doomed) < over:  # not all of the index is in source indexes: its oldest, as before
        for member in await redis.zrange(index, 0, over + len(doomed) - 1):
            if len(doomed) >= over:
                break
            doomed.add(member.decode())
    return doomed


async def _delete_orphans(redis: Redis, keys: Keys, article_ids: list[str]) -> None:
    """Delete the records (and URL-index entries) of those `article_ids` in no index any more.

    Batched (a few round trips per call, not three per id) because a flood evicts tens of
    thousands at once; the `sleep(0)` lets the event loop answer between batches even when
    Redis replies faster than the loop would otherwise yield."""
    raws = await get_many(redis, [keys.article(i) for i in article_ids])
    records = [(i, *article_from_json(raw)) for i, raw in zip(article_ids, raws, strict=True) if raw]
    async with redis.pipeline(transaction=False) as pipe:
        for article_id, _article, indexes in records:
            for slug in indexes:
                pipe.zscore(keys.category_index(slug), article_id)
        scores = iter(await pipe.execute())
    orphans: list[tuple[str, Article]] = []
    for article_id, article, indexes in records:
        still_indexed = [next(scores) is not None for _slug in indexes]  # consumes its scores
        if not any(still_indexed):
            orphans.append((article_id, article))
    if orphans:
        async with atomic(redis) as pipe:
            for article_id, article in orphans:
                pipe.delete(keys.article(article_id))
                if article.url:
                    pipe.delete(keys.url_index(article.url))
            await pipe.execute()
    await asyncio.sleep(0)


async def newest_articles(redis: Redis, keys: Keys, slug: str, limit: int) -> list[Article]:
    """The `limit` first articles of an index in feed order (`order_key`).

    Publish reads these for every render, mostly the same records as the last time: a
    record read before is not decoded again (`_kept_article`)."""
    members = await redis.zrevrange(keys.category_index(slug), 0, max(limit - 1, 0))
    if not members:
        return []
    return in_feed_order(await load_articles(redis, keys, [m.decode() for m in members], reuse=True))


async def load_articles(
    redis: Redis, keys: Keys, ids: Iterable[str], *, reuse: bool = False
) -> list[Article]:
    """The stored articles of `ids` (those still stored), in that order; `reuse`: an
    article decoded from the same record bytes lately is the same object again."""
    ids = list(ids)
    if not ids:
        return []
    raws = await get_many(redis, [keys.article(i) for i in ids])
    if reuse:
        return [_kept_article(raw) for raw in raws if raw]
    return [article_from_json(raw)[0] for raw in raws if raw]


@functools.lru_cache(maxsize=KEPT_ARTICLES)
def _kept_article(raw: bytes) -> Article:
    """The article a record's bytes hold, decoded once while they are among the
    `KEPT_ARTICLES` decoded last: the same bytes always hold the same article, which is
    immutable. The renderers' entry caches (render/reuse.py) find it by identity then."""
    return article_from_json(raw)[0]
