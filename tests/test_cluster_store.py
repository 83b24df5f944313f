"""Near-duplicate clusters as stored: the cost of a lookup, the bounded `related` list,
taking a copy down, and the fingerprint backfill of a store from before clustering."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from itertools import combinations

import pytest

from syndicator.fingerprint import BANDS, fingerprint
from syndicator.ingest import ingest_source
from syndicator.models import RELATED_SHOWN, Article, Related
from syndicator.operate.takedown import hide
from syndicator.process.cluster import COMPARED, ranked
from syndicator.publish import publish_category
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles, upsert_article
from syndicator.store.clusters import BUCKET_DIGITS, StoredPrint, band_members
from syndicator.store.codec import article_from_json
from syndicator.store.feeds import load_feed
from syndicator.store.keys import Keys
from syndicator.store.schema import MigrationRun, migrate, store_version
from tests.builders import make_article, write_config
from tests.test_cluster import ATOM, ORIGINAL, copy_page, entries
from tests.test_schema import untag_store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------- cost of a lookup


def zipf_article(n: int, rng: random.Random) -> Article:
    """~250 words from a 2,000-word vocabulary with a Zipf distribution, as bench/cluster.py
    writes them: unrelated articles share frequent phrases, as news does."""
    words = rng.choices([f"w{i}" for i in range(2000)], [1 / (i + 1) for i in range(2000)], k=250)
    return replace(make_article(n, "news"), content_html="<p>" + " ".join(words) + "</p>").hashed()


def test_unrelated_articles_sharing_frequent_phrases_rarely_share_a_band():
    """Bands of neighbouring bins made such pairs candidates about 18 times as often as
    bins far apart (76 of these 44,850 pairs instead of none): the candidates per
    article grew with the store."""
    rng = random.Random(7)
    prints = [fingerprint(zipf_article(n, rng)) for n in range(300)]
    bands = [set(enumerate(p.bands)) for p in prints if p is not None]
    assert len(bands) == 300
    sharing = sum(bool(a & b) for a, b in combinations(bands, 2))
    assert sharing < 20, sharing


def test_only_the_candidates_sharing_the_most_bands_are_compared():
    hits = Counter({f"c{i:02}": 1 for i in range(30)})
    hits.update({"copy": 9, "close": 4})
    chosen = ranked(hits)
    assert len(chosen) == COMPARED
    assert chosen[:2] == ["copy", "close"] and chosen[2:] == [f"c{i:02}" for i in range(COMPARED - 2)]
    assert ranked(Counter({"only": 1})) == ["only"]


# ---------------------------------------------------------------- the bounded related list


def runtime_for(tmp_path, redis_url: str, prefix: str, sources: list[dict[str, object]]) -> Runtime:
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "world", "title": "World"}, {"slug": "tech", "title": "Tech"}],
        sources=sources,
    )
    return Runtime.open(config, redis_url)


def as_copy_of(rep: Article, n: int, category: str) -> Article:
    """What the clustering step sends to the store for copy `n` of `rep`: its own id and
    source, under the representative's URL, itself as `related`."""
    own = make_article(n, category, source=f"portal{n}")
    link = f"https://portal{n}.example/copy"
    related = Related(link, f"Copy {n}", own.source_id, f"Portal {n}", own.id, own.categories)
    return replace(own, url=rep.url, related=(related,))


async def test_related_lists_the_newest_copies_and_counts_the_others(tmp_path, redis, redis_url, prefix):
    sources = [{"id": "s1", "url": "https://up.example/f.rss", "categories": ["world"]}]
    runtime = runtime_for(tmp_path, redis_url, prefix, sources)
    rep = make_article(0, "world")
    extra = 3
    try:
        await upsert_article(runtime.redis, runtime.keys, rep, ("world", "all"), now=NOW)
        for n in range(1, RELATED_SHOWN + extra + 1):
            copy = as_copy_of(rep, n, "world")
            await upsert_article(runtime.redis, runtime.keys, copy, ("world", "all"), now=NOW)
        [stored] = await newest_articles(runtime.redis, runtime.keys, "world", 10)
        await publish_category(runtime, "world", now=NOW)
        atom = await load_feed(runtime.redis, runtime.keys, "world", "atom", "identity")
        jsonfeed = await load_feed(runtime.redis, runtime.keys, "world", "json", "identity")
    finally:
        await runtime.close()
    # The newest RELATED_SHOWN are listed, the oldest `extra` counted; all are members.
    assert [r.id for r in stored.related] == [
        as_copy_of(rep, n, "world").id for n in range(extra + 1, RELATED_SHOWN + extra + 1)
    ]
    assert stored.related_more == extra
    assert len(stored.sources) == 1 + RELATED_SHOWN + extra
    assert (stored.content_hash, stored.updated) == (rep.content_hash, rep.updated)
    assert atom is not None and jsonfeed is not None
    [entry] = entries(atom.bodies["identity"])
    assert len(entry.findall(f"{ATOM}link[@rel='related']")) == RELATED_SHOWN
    assert f"Portal {RELATED_SHOWN + extra}</a> and {extra} more</p>" in (
        entry.findtext(f"{ATOM}content") or ""
    )
    [item] = json.loads(jsonfeed.bodies["identity"])["items"]
    assert len(item["_syndicator"]["also_reported_by"]) == RELATED_SHOWN
    assert item["_syndicator"]["also_reported_by_more"] == extra


# ---------------------------------------------------------------- taking a copy down


def pages_config(tmp_path, upstream, redis_url: str, prefix: str, *, world_clusters: bool = True) -> Runtime:
    """The seed article in `world`; two portals' copies of it in `tech` and `culture/film`
    (a nested category: its parent `culture` is implied), and a third in `tech`."""
    sources = [
        ("zhbf", "/zhbf.html", "world"),
        ("east", "/east.html", "tech"),
        ("south", "/south.html", "culture/film"),
        ("west", "/west.html", "tech"),
    ]
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[
            {"slug": slug, "title": slug.title(), "language": "zh", "near_duplicates": world_clusters}
            if slug == "world"
            else {"slug": slug, "title": slug.title(), "language": "zh"}
            for slug in ("world", "tech", "culture/film")
        ],
        sources=[
            {
                "id": sid,
                "title": f"Source {sid}",
                "url": upstream.url(path),
                "kind": "page",
                "categories": [slug],
                "timezone": "Asia/Shanghai",
                "allow_private_network": True,
            }
            for sid, path, slug in sources
        ],
    )
    upstream.put("/zhbf.html", ORIGINAL.encode(), "text/html; charset=utf-8")
    for host, path in (("east", "/east.html"), ("south", "/south.html"), ("west", "/west.html")):
        header = f"本文转载自{host}门户网,转载请注明出处。"
        footer = f"责任编辑:{host} 版权声明:凡注明来源{host}门户网的作品,未经授权不得转载。"
        page = copy_page(f"www.{host}.example", header, footer)
        upstream.put(path, page.encode(), "text/html; charset=utf-8")
    return Runtime.open(config, redis_url)


async def in_index(runtime: Runtime, slug: str, article_id: str) -> bool:
    return await runtime.redis.zscore(runtime.keys.category_index(slug), article_id) is not None


async def record(runtime: Runtime, article_id: str) -> tuple[Article, tuple[str, ...]]:
    return article_from_json(await runtime.redis.get(runtime.keys.article(article_id)))


async def test_taking_a_copy_down_takes_away_the_categories_only_it_brought(
    tmp_path, upstream, redis, redis_url, prefix
):
    runtime = pages_config(tmp_path, upstream, redis_url, prefix)
    try:
        for sid in ("zhbf", "east", "south", "west"):
            await ingest_source(runtime, sid, now=datetime.now(UTC))
        [rep] = await newest_articles(runtime.redis, runtime.keys, "world", 10)
        joined, _ = await record(runtime, rep.id)
        east, south, west = (
            next(r.id for r in joined.related if r.source_id == s) for s in ("east", "south", "west")
        )
        assert joined.categories == ("world", "tech", "culture/film")
        slugs = ("world", "tech", "culture", "culture/film")
        assert [await in_index(runtime, s, rep.id) for s in slugs] == [True] * 4

        # `south` alone brought `culture/film` (and `culture`): the representative leaves both.
        await hide(runtime, south, who="test")
        after_south, indexes = await record(runtime, rep.id)
        culture_feed = await load_feed(runtime.redis, runtime.keys, "culture/film", "atom", "identity")
        in_culture = await in_index(runtime, "culture", rep.id)
        # `east` brought `tech`, but `west` has it too: the representative stays in `tech`.
        await hide(runtime, east, who="test")
        after_east, _ = await record(runtime, rep.id)
        in_tech = await in_index(runtime, "tech", rep.id)
        # Now `west` is the last copy in `tech`: taking it down takes `tech` away.
        await hide(runtime, west, who="test")
        after_west, last_indexes = await record(runtime, rep.id)
        tech = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
    finally:
        await runtime.close()
    assert after_south.categories == ("world", "tech") and set(indexes) == {"world", "tech", "all"}
    assert not in_culture
    assert culture_feed is not None and entries(culture_feed.bodies["identity"]) == []
    assert {r.source_id for r in after_south.related} == {"east", "west"}
    assert after_east.categories == ("world", "tech") and in_tech
    assert [r.source_id for r in after_east.related] == ["west"]
    assert after_west.categories == ("world",) and after_west.related == ()
    assert set(last_indexes) == {"world", "all"} and tech == []
    assert after_west.sources == ("zhbf",)
    assert (after_west.content_hash, after_west.updated) == (rep.content_hash, rep.updated)


# ---------------------------------------------------------------- backfill of old stores


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
async def test_migration_fingerprints_articles_stored_before_clustering(
    tmp_path, upstream, redis, redis_url, prefix
):
    keys = Keys(prefix)
    # The old code: no clustering, so the stored article has no fingerprint and no bands.
    old = pages_config(tmp_path, upstream, redis_url, prefix, world_clusters=False)
    try:
        first = await ingest_source(old, "zhbf", now=datetime.now(UTC))
        [rep] = await newest_articles(redis, keys, "world", 10)
    finally:
        await old.close()
    assert first.counts == {"new": 1}
    assert not await redis.exists(keys.fingerprint(rep.id))
    await redis.sadd(keys.lsh_band(0, "00ff00ff00ff00ff"), rep.id)  # a band of layout 2
    moved = await untag_store(redis, prefix)  # the key names before layout 5
    await redis.set(keys.schema_version, 2)

    report = await migrate(redis, keys, batch_size=1)
    assert report.line() == (  # layout 5 moves those keys and the fingerprint layout 3 wrote
        f"store at schema 2; migrated to 3: 1 article, 4: {BANDS} band sets, 5: {moved + 1} keys"
    )
    assert await store_version(redis, keys) == 5
    assert await redis.exists(keys.fingerprint(rep.id))
    assert not [k async for k in redis.scan_iter(match=keys.match("lsh:*"))]  # layout 3's sets are gone
    written = {k async for k in redis.scan_iter(match=keys.match("bands:*"))}
    assert len(written) == BANDS  # one value a band, each in its band's bucket

    new = pages_config(tmp_path, upstream, redis_url, prefix)
    try:
        copy = await ingest_source(new, "east", now=datetime.now(UTC))
        [joined] = await newest_articles(redis, keys, "tech", 10)
    finally:
        await new.close()
    assert copy.counts == {"merged": 1}, copy.counts
    assert joined.id == rep.id and [r.source_id for r in joined.related] == ["east"]


async def test_migration_rebands_fingerprints_of_the_previous_band_layout(redis, prefix):
    keys = Keys(prefix)
    rep = zipf_article(1, random.Random(3))
    found = fingerprint(rep)
    assert found is not None
    await upsert_article(redis, keys, rep, ("news", "all"), now=NOW)
    neighbours = tuple(f"old{band}" for band in range(BANDS))  # what layout 2 wrote
    await redis.set(keys.fingerprint(rep.id), StoredPrint.of(rep, found.signature, neighbours).to_json())
    for band, value in enumerate(neighbours):
        await redis.sadd(keys.lsh_band(band, value), rep.id)
    moved = await untag_store(redis, prefix)  # the key names before layout 5
    await redis.set(keys.schema_version, 2)

    report = await migrate(redis, keys)
    assert (
        report.line() == f"store at schema 2; migrated to 3: 1 article, 4: {BANDS} band sets, 5: {moved} keys"
    )
    stored = StoredPrint.from_json(await redis.get(keys.fingerprint(rep.id)))
    assert stored.bands == found.bands and stored.signature == found.signature
    assert not [k async for k in redis.scan_iter(match=keys.match("lsh:*"))]
    written = {k.decode() async for k in redis.scan_iter(match=keys.match("bands:*"))}
    assert written == {keys.lsh_bucket(band, value[:BUCKET_DIGITS]) for band, value in enumerate(found.bands)}
    members = await band_members(redis, keys, enumerate(found.bands))
    assert members == {(band, value): [rep.id] for band, value in enumerate(found.bands)}
    assert await band_members(redis, keys, [(band, f"old{band}") for band in range(BANDS)]) == {
        (band, f"old{band}"): [] for band in range(BANDS)
    }


async def test_migration_4_moves_band_sets_into_bucket_hashes_and_a_copy_still_clusters(
    tmp_path, upstream, redis, redis_url, prefix
):
    """A layout-3 store (a set a band value, as the code before layout 4 wrote them), with a
    band value two representatives share; the migration is interrupted after its first batch,
    resumed, and then a copy arriving finds its representative as before."""
    keys = Keys(prefix)
    new = pages_config(tmp_path, upstream, redis_url, prefix)
    try:
        await ingest_source(new, "zhbf", now=datetime.now(UTC))
        [rep] = await newest_articles(redis, keys, "world", 10)
    finally:
        await new.close()
    stored = StoredPrint.from_json(await redis.get(keys.fingerprint(rep.id)))
    buckets = [k async for k in redis.scan_iter(match=keys.match("bands:*"))]
    await redis.delete(*buckets)  # back to layout 3: the same entries as sets
    other = "f" * 32  # another representative sharing band 5's value
    for band, value in enumerate(stored.bands):
        await redis.sadd(keys.lsh_band(band, value), rep.id, *((other,) if band == 5 else ()))
    await untag_store(redis, prefix)  # the key names before layout 5
    await redis.set(keys.schema_version, 3)

    async def crash_after_some_sets(run: MigrationRun) -> None:
        if run.changed:
            raise Crash

    with pytest.raises(Crash):
        await migrate(redis, keys, batch_size=10, on_batch=crash_after_some_sets)
    assert await store_version(redis, keys) == 3  # not stamped: it did not finish
    left = [k async for k in redis.scan_iter(match=keys.match("lsh:*"))]
    assert len(left) < BANDS
    report = await migrate(redis, keys, batch_size=10)
    assert report.line().startswith("store at schema 3; migrated to 4: ")
    assert await store_version(redis, keys) == 5
    assert not [k async for k in redis.scan_iter(match=keys.match("lsh:*"))]
    members = await band_members(redis, keys, enumerate(stored.bands))
    assert members[5, stored.bands[5]] == sorted([rep.id, other])
    assert all(ids == [rep.id] for (band, _v), ids in members.items() if band != 5)

    new = pages_config(tmp_path, upstream, redis_url, prefix)
    try:
        copy = await ingest_source(new, "east", now=datetime.now(UTC))
        [joined] = await newest_articles(redis, keys, "tech", 10)
    finally:
        await new.close()
    assert copy.counts == {"merged": 1}, copy.counts
    assert joined.id == rep.id and [r.source_id for r in joined.related] == ["east"]


class Crash(Exception):
    pass
