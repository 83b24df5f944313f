"""A batch upsert is the same as one upsert after another (issue 9), against a real Redis.

Ingest stores a feed's articles in batches (`upsert_articles`: one WATCH/MULTI per batch)
so that 100,000 entries do not take half a million round trips. The merge rules must not
notice: the same starting store, the same articles, give the same records, indexes,
URL index, eviction markers and outcomes whether they go one at a time or in one batch,
including articles of a batch that land on what an earlier article of the same batch
wrote.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import timedelta

from redis.asyncio import Redis

from syndicator.models import Article, Category, Enclosure, Upstream
from syndicator.store.articles import (
    UPSERT_BATCH,
    Outcome,
    UpsertResult,
    apply_retention,
    upsert_article,
    upsert_articles,
)
from syndicator.store.codec import article_from_json, article_to_json
from syndicator.store.keys import Keys
from tests.builders import STORE_TIME, make_article

INDEXES = ("tech", "all")
LATER = STORE_TIME + timedelta(hours=1)


def article(n: int, *, source: str = "s1", url: str | None = None, body: str | None = None) -> Article:
    return make_article(n, "tech", source=source, url=url, body=body)


async def seed(redis: Redis, keys: Keys) -> None:
    """Articles 0-3 stored from s1; article 3 then evicted by age (and still upstream)."""
    for n in range(4):
        await upsert_article(redis, keys, article(n), ("tech",), now=STORE_TIME)
    category = Category(slug="tech", title="Tech", retention_age=timedelta(hours=2, minutes=30))
    evicted = await apply_retention(redis, keys, category, now=STORE_TIME, evicted_memory=timedelta(days=30))
    assert evicted == [article(3).id]


async def dump(redis: Redis, keys: Keys) -> dict[str, object]:
    """Every key under `keys.prefix` (prefix removed) with its value, whatever its type."""
    state: dict[str, object] = {}
    async for raw_key in redis.scan_iter(match=f"{keys.prefix}*", count=500):
        key = raw_key.decode()
        kind = (await redis.type(key)).decode()
        if kind == "string":
            value: object = await redis.get(key)
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            value = sorted(await redis.smembers(key))
        elif kind == "hash":
            value = sorted((await redis.hgetall(key)).items())
        else:
            raise AssertionError(f"unexpected {kind} at {key}")
        state[key.removeprefix(keys.prefix)] = value
    return state


async def one_at_a_time(
    redis: Redis, keys: Keys, batch: list[tuple[Article, tuple[str, ...]]]
) -> list[UpsertResult]:
    return [await upsert_article(redis, keys, a, indexes, now=LATER) for a, indexes in batch]


async def test_a_batch_of_mixed_outcomes_equals_one_upsert_after_another(redis, prefix):
    alone, batched = Keys(f"{prefix}alone:"), Keys(f"{prefix}batch:")
    for keys in (alone, batched):
        await seed(redis, keys)
    fresh = article(10)
    batch = [
        (fresh, INDEXES),  # new
        (article(1, body="edited"), INDEXES),  # changed
        (article(2), ("tech",)),  # unchanged
        (article(2), INDEXES),  # unchanged, but into a new index (`all`)
        (article(7, source="s2", url=article(0).url), INDEXES),  # merged via the stored URL
        (article(3), ("tech",)),  # evicted, nowhere live: not re-added
        (article(3), INDEXES),  # evicted from tech, new to all
        (fresh, INDEXES),  # again in the same batch: unchanged
        (article(8, source="s2", url=fresh.url), INDEXES),  # merged into this batch's new one
        (article(8, source="s2", url=fresh.url), INDEXES),  # and again: already a source
    ]

    expected = await one_at_a_time(redis, alone, batch)
    got = await upsert_articles(redis, batched, batch, now=LATER)

    assert got == expected
    assert [r.outcome for r in got] == [
        Outcome.NEW,
        Outcome.CHANGED,
        Outcome.UNCHANGED,
        Outcome.UNCHANGED,
        Outcome.MERGED,
        Outcome.EVICTED,
        Outcome.NEW,
        Outcome.UNCHANGED,
        Outcome.MERGED,
        Outcome.UNCHANGED,
    ]
    assert got[3].indexes == ("all",) and got[2].indexes == ()
    assert got[6].indexes == ("all",)
    assert await dump(redis, batched) == await dump(redis, alone)


async def test_batches_longer_than_one_transaction_equal_one_upsert_after_another(redis, prefix):
    """Past UPSERT_BATCH the batch splits; an article merges into one of an earlier split."""
    alone, batched = Keys(f"{prefix}alone:"), Keys(f"{prefix}batch:")
    for keys in (alone, batched):
        await seed(redis, keys)
    first = [(article(100 + n), INDEXES) for n in range(UPSERT_BATCH)]
    second = [
        (replace(article(5000 + n, source="s2", url=a.url), title=f"Other {n}").hashed(), INDEXES)
        for n, (a, _indexes) in enumerate(first[:50])
    ]
    batch = [*first, *second, *first[:10]]

    expected = await one_at_a_time(redis, alone, batch)
    got = await upsert_articles(redis, batched, batch, now=LATER)

    assert got == expected
    assert {r.outcome for r in got[UPSERT_BATCH : UPSERT_BATCH + 50]} == {Outcome.MERGED}
    assert await dump(redis, batched) == await dump(redis, alone)


def test_a_record_is_the_json_of_its_dataclass_fields():
    """`article_to_json` builds the record field by field (asdict was most of its cost);
    what Redis holds must not change: the JSON of `dataclasses.asdict`, dates in ISO."""
    full = replace(
        article(1),
        enclosures=(Enclosure("https://upstream.example/a.mp3", "audio/mpeg", 12),),
        images=(Enclosure("https://upstream.example/i.png", "image/png"),),
        upstream=Upstream(title="Upstream", id="urn:x", link=None, author="Ann"),
        sources=("s1", "s2"),
        first_seen=None,
    )
    for record in (article(2), full):
        data = asdict(record)
        for key in ("published", "updated", "first_seen"):
            data[key] = data[key].isoformat() if data[key] else None
        data["indexes"] = list(INDEXES)
        assert article_to_json(record, indexes=INDEXES) == json.dumps(
            data, ensure_ascii=False, separators=(",", ":")
        )
        assert article_from_json(article_to_json(record, indexes=INDEXES)) == (record, INDEXES)
