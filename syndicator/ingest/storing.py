"""Store a batch of normalised articles, apply retention, and request publishing.

Shared by feed and page ingest. A run first writes which indexes it is about to touch
under its own run key; only after publish was requested is that marker removed. A run
that finds a marker left by a run that died in between publishes those indexes too, so a
crash between storing and publishing never leaves a feed stale.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from syndicator import metrics
from syndicator.models import ALL_CATEGORY, Article
from syndicator.publish import request_publish
from syndicator.runtime import Runtime
from syndicator.store.articles import apply_retention, upsert_article


def indexes_for(runtime: Runtime, categories: tuple[str, ...]) -> tuple[str, ...]:
    """Every category index an article goes into: its categories, their parents, `all`."""
    slugs: list[str] = []
    for slug in categories or (ALL_CATEGORY,):
        slugs.extend(runtime.config.category_with_ancestors(slug))
    return tuple(dict.fromkeys(slugs))


async def store_articles(
    runtime: Runtime, run_key: str, articles: list[Article], *, now: datetime
) -> tuple[Counter[str], set[str]]:
    """Upsert `articles` into their indexes; returns outcome counts and the touched indexes."""
    redis, keys = runtime.redis, runtime.keys
    planned = {a.id: indexes_for(runtime, a.categories) for a in articles}
    all_planned = sorted({slug for indexes in planned.values() for slug in indexes})
    left_over = await redis.hget(keys.pending_publish, run_key)
    await redis.hset(keys.pending_publish, run_key, json.dumps(all_planned))

    counts: Counter[str] = Counter()
    touched: set[str] = set(json.loads(left_over)) if left_over else set()
    for article in articles:
        result = await upsert_article(redis, keys, article, planned[article.id], now=now)
        counts[result.outcome.value] += 1
        metrics.count_articles({result.outcome.value: 1}, article.source_id)
        touched.update(result.indexes)

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
    return counts, touched
