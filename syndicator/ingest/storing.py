"""Process and store a batch of normalised articles, apply retention, and request publishing.

Shared by feed and page ingest. Each chunk goes through the processing stage
(`syndicator.process`: filters, …) just before it is stored; what the stage drops is
never stored. A run first writes which indexes it is about to touch
under its own run key; only after publish was requested is that marker removed. A run
that finds a marker left by a run that died in between publishes those indexes too, so a
crash between storing and publishing never leaves a feed stale.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from datetime import datetime

from syndicator import metrics
from syndicator.errors import SyndicatorError
from syndicator.fingerprint import Computed
from syndicator.models import ALL_CATEGORY, Article
from syndicator.process import Chain
from syndicator.publish import request_publish
from syndicator.runtime import Runtime
from syndicator.store.articles import apply_retention, upsert_articles
from syndicator.store.takedown import hide_article


async def withdraw(
    runtime: Runtime, dropped: list[Article], chain: Chain, *, now: datetime
) -> list[tuple[str, ...]]:
    """Take out of the store the dropped articles stored before (a rule added since, or an
    edit upstream that a rule now blocks), so a dropped article is in no feed. Only those
    this source alone lists; no tombstone, so one the rules no longer drop comes back.
    Returns the categories each left (to be published again)."""
    if not dropped:
        return []
    redis, keys = runtime.redis, runtime.keys
    async with redis.pipeline(transaction=False) as pipe:
        for article in dropped:
            pipe.exists(keys.article(article.id))
        stored = await pipe.execute()
    source = chain.context.source.id
    left: list[tuple[str, ...]] = []
    for article, exists in zip(dropped, stored, strict=True):
        if not exists:
            continue
        hidden = await hide_article(
            redis,
            keys,
            article.id,
            slugs=runtime.config.categories,
            now=now,
            who="filters",
            tombstoned=False,
            only_source=source,
        )
        if hidden is not None:
            left.append(tuple(s for s in hidden.categories if s in runtime.config.categories))
    return left


def indexes_for(runtime: Runtime, categories: tuple[str, ...]) -> tuple[str, ...]:
    """Every category index an article goes into: its categories, their parents, `all`."""
    slugs: list[str] = []
    for slug in categories or (ALL_CATEGORY,):
        slugs.extend(runtime.config.category_with_ancestors(slug))
    return tuple(dict.fromkeys(slugs))


Chunk = tuple[list[Article], Mapping[str, Computed]]
"""A chunk of articles to store, with the fingerprints computed ahead for some of them
(by article id: `process.step.Batch.computed`)."""


class CutShort(SyndicatorError):
    """The chunks' source failed (`cause`) after the chunks before were stored: those stay
    stored and were published; `counts` and `touched` are theirs."""

    def __init__(self, cause: Exception, counts: Counter[str], touched: set[str]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.reason: str = getattr(cause, "reason", None) or f"{type(cause).__name__}: {cause}"
        self.counts = counts
        self.touched = touched


async def store_articles(
    runtime: Runtime, run_key: str, articles: list[Article], *, now: datetime, chain: Chain | None = None
) -> tuple[Counter[str], set[str]]:
    """Upsert `articles` into their indexes; returns outcome counts and the touched indexes."""
    categories = {a.categories for a in articles}

    async def one() -> AsyncIterator[Chunk]:
        yield articles, {}

    return await store_article_chunks(runtime, run_key, one(), categories, now=now, chain=chain)


async def store_article_chunks(
    runtime: Runtime,
    run_key: str,
    chunks: AsyncIterable[Chunk],
    categories: Iterable[tuple[str, ...]],
    *,
    now: datetime,
    chain: Chain | None = None,
) -> tuple[Counter[str], set[str]]:
    """`store_articles` for articles that come a chunk at a time; `categories` are theirs
    (those known before the first chunk: a chunk with others adds them to the marker).

    `chain` (the ingest's processing stage) runs on each chunk before it is stored; its
    dropped articles are counted as `filtered`. Ingest always passes one; without it
    (tests of the store, re-ingest of stored records) articles are stored as given.

    Why chunks: a feed of 100,000 entries held as one list of Articles grows the heap so
    much that Python's full garbage collections, each a pass over every object, held the
    event loop for 100-370 ms apiece. Taken one chunk at a time (feed ingest's chunks are
    normalised in the parse pool while the ones before are stored: `ingest.pipeline`), at
    most a few chunks are alive. `categories` is what the publish marker below needs up
    front.

    When `chunks` raises (a normalise job failed), the chunks stored before are kept,
    their indexes retained and published as after a complete run, and CutShort is raised
    with their counts: nothing stored is lost, and the failure reaches the report.
    """
    redis, keys = runtime.redis, runtime.keys
    # A feed's articles share a few category tuples: compute each one's indexes once.
    by_categories = {c: indexes_for(runtime, c) for c in set(categories)}
    all_planned = sorted({slug for indexes in by_categories.values() for slug in indexes})
    left_over = await redis.hget(keys.pending_publish, run_key)
    await redis.hset(keys.pending_publish, run_key, json.dumps(all_planned))

    counts: Counter[str] = Counter()
    touched: set[str] = set(json.loads(left_over)) if left_over else set()
    by_source: dict[str, Counter[str]] = {}  # the same counts per source, for the metrics
    failure: Exception | None = None
    source = aiter(chunks)
    while True:
        try:
            chunk, computed = await anext(source)
        except StopAsyncIteration:
            break
        except Exception as exc:  # the chunks before stay stored and get published below
            failure = exc
            break
        if chain is not None:
            processed = await chain.process(chunk, computed)
            chunk = processed.articles
            gone = [d.article for d in processed.dropped if d.withdraw]
            withdrawn = await withdraw(runtime, gone, chain, now=now)
            if withdrawn:
                counts["withdrawn"] += len(withdrawn)
                touched.update(slug for slugs in withdrawn for slug in slugs)
                planned = sorted(set(all_planned) | touched)  # publish them even after a crash
                await redis.hset(keys.pending_publish, run_key, json.dumps(planned))
        for article in chunk:  # a step may have changed an article's categories
            if article.categories not in by_categories:
                by_categories[article.categories] = indexes_for(runtime, article.categories)
                if not set(by_categories[article.categories]) <= set(all_planned):
                    all_planned = sorted(set(all_planned).union(by_categories[article.categories]))
                    planned = sorted(set(all_planned) | touched)  # publish them even after a crash
                    await redis.hset(keys.pending_publish, run_key, json.dumps(planned))
        batch = [(article, by_categories[article.categories]) for article in chunk]
        if not batch:
            continue
        results = await upsert_articles(redis, keys, batch, now=now)
        for (article, _indexes), result in zip(batch, results, strict=True):
            counts[result.outcome.value] += 1
            by_source.setdefault(article.source_id, Counter())[result.outcome.value] += 1
            touched.update(result.indexes)
    for source_id, outcomes in by_source.items():
        metrics.count_articles(outcomes, source_id)
    if chain is not None:
        chain.add_to(counts)

    for slug in sorted(touched):
        evicted = await apply_retention(
            redis,
            keys,
            runtime.config.categories[slug],
            now=now,
            evicted_memory=runtime.config.settings.evicted_memory,
        )
        if evicted:
            counts["retired"] += len(evicted)
    if touched:
        await request_publish(runtime, sorted(touched))
    await redis.hdel(keys.pending_publish, run_key)
    if failure is not None:
        raise CutShort(failure, counts, touched) from failure
    return counts, touched
