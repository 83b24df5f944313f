"""The store against a real Redis: idempotent upserts, dedupe by URL, retention memory."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from syndicator.models import Article, Category, Enclosure, Upstream
from syndicator.store.articles import Outcome, apply_retention, newest_articles, upsert_article
from syndicator.store.codec import article_from_json
from syndicator.store.keys import Keys
from tests.builders import make_article

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def article(n: int, *, source: str = "s1", url: str | None = None, body: str = "body") -> Article:
    return make_article(n, "tech", source=source, url=url, body=body, now=NOW)


INDEXES = ("tech", "all")


async def test_upsert_twice_changes_nothing(redis, prefix):
    keys = Keys(prefix)
    first = await upsert_article(redis, keys, article(1), INDEXES, now=NOW)
    raw_before = await redis.get(keys.article(first.article_id))
    second = await upsert_article(redis, keys, article(1), INDEXES, now=NOW + timedelta(hours=1))
    assert (first.outcome, second.outcome) == (Outcome.NEW, Outcome.UNCHANGED)
    assert second.indexes == ()
    assert await redis.get(keys.article(first.article_id)) == raw_before


async def test_edit_moves_updated_once(redis, prefix):
    keys = Keys(prefix)
    await upsert_article(redis, keys, article(1), INDEXES, now=NOW)
    later = NOW + timedelta(hours=2)
    edited = article(1, body="edited")
    changed = await upsert_article(redis, keys, edited, INDEXES, now=later)
    again = await upsert_article(redis, keys, edited, INDEXES, now=later + timedelta(hours=1))
    record, _ = article_from_json(await redis.get(keys.article(changed.article_id)))
    assert changed.outcome is Outcome.CHANGED and set(changed.indexes) == set(INDEXES)
    assert again.outcome is Outcome.UNCHANGED
    assert record.updated == later  # the upstream gave no newer date: the time we saw the edit
    assert record.published == article(1).published
    assert record.summary == "edited"


async def test_same_url_from_second_source_is_one_article(redis, prefix):
    keys = Keys(prefix)
    a = article(1, url="https://example.com/shared")
    b = replace(
        article(2, source="s2", url="https://example.com/shared"),
        title="Other title",
        categories=("tech/python",),
    )
    first = await upsert_article(redis, keys, a, INDEXES, now=NOW)
    second = await upsert_article(redis, keys, b, INDEXES, now=NOW)
    third = await upsert_article(redis, keys, b, INDEXES, now=NOW)
    assert second.article_id == first.article_id and second.outcome is Outcome.MERGED
    assert third.outcome is Outcome.UNCHANGED
    record, _ = article_from_json(await redis.get(keys.article(first.article_id)))
    assert record.sources == ("s1", "s2")
    assert record.categories == ("tech", "tech/python")
    assert record.title == "Article 1"
    assert await redis.zcard(keys.category_index("tech")) == 1


async def test_concurrent_upserts_store_once(redis, prefix):
    keys = Keys(prefix)
    articles = [article(n) for n in range(20)]
    results = await asyncio.gather(
        *(upsert_article(redis, keys, a, INDEXES, now=NOW) for a in articles + articles)
    )
    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.NEW) == 20 and outcomes.count(Outcome.UNCHANGED) == 20
    assert await redis.zcard(keys.category_index("tech")) == 20


async def test_retention_evicts_and_remembers(redis, prefix):
    keys = Keys(prefix)
    category = Category(slug="tech", title="Tech", retention_count=3)
    for n in range(5):
        await upsert_article(redis, keys, article(n), INDEXES, now=NOW)
    evicted = await apply_retention(redis, keys, category, now=NOW, evicted_memory=timedelta(days=30))
    newest = await newest_articles(redis, keys, "tech", 10)
    assert [a.title for a in newest] == ["Article 0", "Article 1", "Article 2"]
    assert evicted == sorted([article(3).id, article(4).id])
    # Still listed upstream: it must not come back into the feed it was retired from.
    again = await upsert_article(redis, keys, article(4), INDEXES, now=NOW + timedelta(hours=1))
    assert again.outcome is Outcome.UNCHANGED and again.indexes == ()
    assert await redis.zcard(keys.category_index("tech")) == 3
    # It is still in `all`, so its record stays.
    assert await redis.zscore(keys.category_index("all"), article(4).id) is not None


async def test_retention_by_age_deletes_orphans(redis, prefix):
    keys = Keys(prefix)
    category = Category(slug="tech", title="Tech", retention_age=timedelta(hours=2, minutes=30))
    for n in range(4):
        await upsert_article(redis, keys, article(n), ("tech",), now=NOW)
    evicted = await apply_retention(redis, keys, category, now=NOW, evicted_memory=timedelta(days=30))
    assert evicted == sorted([article(3).id])
    assert await redis.exists(keys.article(article(3).id)) == 0
    assert await redis.exists(keys.url_index(article(3).url)) == 0
    again = await upsert_article(redis, keys, article(3), ("tech",), now=NOW)
    assert again.outcome is Outcome.EVICTED
    assert await redis.exists(keys.article(article(3).id)) == 0
    assert await redis.zcard(keys.category_index("tech")) == 3


async def test_retention_takes_evicted_ids_out_of_their_source_indexes(redis, prefix):
    """Fair retention counts each source's items in its source index: an evicted id leaves
    its owner's (the record's first source), and an index entry without a record leaves
    every source's, so no count keeps an id the category no longer holds."""
    keys = Keys(prefix)
    category = Category(slug="tech", title="Tech", retention_count=2)
    for n, source in ((0, "a"), (1, "b"), (2, "a"), (3, "b")):
        await upsert_article(redis, keys, replace(article(n), source_id=source), ("tech",), now=NOW)
    orphan = article(4).id  # listed in the index and in b's source index, with no record
    await redis.zadd(keys.category_index("tech"), {orphan: 1.0})
    await redis.zadd(keys.source_index("tech", "b"), {orphan: 1.0})
    evicted = await apply_retention(redis, keys, category, now=NOW, evicted_memory=timedelta(days=30))
    assert evicted == sorted([article(2).id, article(3).id, orphan])
    left = {s: await redis.zrange(keys.source_index("tech", s), 0, -1) for s in ("a", "b")}
    assert left == {"a": [article(0).id.encode()], "b": [article(1).id.encode()]}


async def test_new_presentation_of_unchanged_content_is_stored_without_moving_updated(redis, prefix):
    """Images read from the content and the upstream feed's details are not hashed (they
    derive from hashed fields or name the container): code that reads more of them, or a
    renamed upstream feed, refreshes the record and republishes, and `updated` stays."""
    keys = Keys(prefix)
    plain = article(1)
    await upsert_article(redis, keys, plain, INDEXES, now=NOW)
    richer = replace(
        plain,
        images=(Enclosure(url="https://img.example/1.jpg", type="image/jpeg"),),
        upstream=Upstream(title="Upstream Weekly", id="https://upstream.example/feed"),
    )

    result = await upsert_article(redis, keys, richer, INDEXES, now=NOW + timedelta(hours=2))

    assert (result.outcome, result.indexes) == (Outcome.UNCHANGED, INDEXES)  # republished
    record, _ = article_from_json(await redis.get(keys.article(plain.id)))
    assert record.images == richer.images and record.upstream == richer.upstream
    assert record.updated == plain.updated
    again = await upsert_article(redis, keys, richer, INDEXES, now=NOW + timedelta(hours=3))
    assert (again.outcome, again.indexes) == (Outcome.UNCHANGED, ())
