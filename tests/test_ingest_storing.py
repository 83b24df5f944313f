"""Storing a batch: which feeds an article reaches, and that they get published
(syndicator/ingest/storing.py).

An article in `qinggan/gushi` must also appear in `qinggan` and `all`; an article with no
category appears in `all` only. A run writes its planned indexes under a run key before
storing and removes the key only after publish was requested, so the indexes of a run that
died in between are published by the next run; retention evictions are counted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from syndicator.ingest.storing import indexes_for, store_articles
from syndicator.models import Article
from syndicator.runtime import Runtime
from tests.builders import make_article, write_config

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
async def runtime(tmp_path, redis, redis_url, prefix) -> AsyncIterator[Runtime]:
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        sources=[],
        categories=[
            {"slug": "tech", "title": "Technology", "retention_count": 2},
            {"slug": "qinggan", "title": "情感"},
            {"slug": "qinggan/gushi", "title": "故事"},
        ],
    )
    opened = Runtime.open(config, redis_url)  # no queue: publish runs inline
    yield opened
    await opened.close()


def article(n: int, *categories: str) -> Article:
    return make_article(n, *categories, now=NOW)


@pytest.mark.parametrize(
    ("categories", "indexes"),
    [
        (("qinggan/gushi",), ("qinggan/gushi", "qinggan", "all")),
        (("tech", "qinggan/gushi"), ("tech", "all", "qinggan/gushi", "qinggan")),
        (("qinggan", "qinggan/gushi"), ("qinggan", "all", "qinggan/gushi")),  # each once
        ((), ("all",)),
    ],
)
def test_an_article_reaches_its_categories_their_parents_and_all(runtime, categories, indexes):
    assert indexes_for(runtime, categories) == indexes


async def published_version(runtime: Runtime, slug: str) -> bytes | None:
    return await runtime.redis.hget(runtime.keys.feed(slug, "rss"), "version")


async def test_storing_counts_outcomes_and_publishes_every_touched_feed(runtime):
    counts, touched = await store_articles(
        runtime, "run-1", [article(1, "qinggan/gushi"), article(2)], now=NOW
    )

    assert counts == {"new": 2}
    assert touched == {"qinggan/gushi", "qinggan", "all"}
    for slug in touched:
        assert await published_version(runtime, slug) == b"1", slug
    assert await published_version(runtime, "tech") is None
    assert await runtime.redis.hget(runtime.keys.pending_publish, "run-1") is None

    again, touched_again = await store_articles(runtime, "run-1", [article(1, "qinggan/gushi")], now=NOW)
    assert (again, touched_again) == ({"unchanged": 1}, set())


async def test_a_run_that_died_before_publishing_is_published_by_the_next(runtime):
    # What a run that crashed between storing and publishing leaves behind.
    await runtime.redis.hset(runtime.keys.pending_publish, "run-1", json.dumps(["tech", "all"]))

    counts, touched = await store_articles(runtime, "run-1", [], now=NOW)

    assert counts == {}
    assert touched == {"tech", "all"}
    assert await published_version(runtime, "tech") == b"1"
    assert await runtime.redis.hget(runtime.keys.pending_publish, "run-1") is None


async def test_retention_evictions_are_counted_as_retired(runtime):
    batch = [article(n, "tech") for n in range(1, 5)]

    counts, _ = await store_articles(runtime, "run-1", batch, now=NOW)

    assert counts == {"new": 4, "retired": 2}
    assert await runtime.redis.zcard(runtime.keys.category_index("tech")) == 2
