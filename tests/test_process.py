"""The processing stage: the chain's order and interface, and feed and page ingest running it.

Real Redis, a real loopback upstream, the real parse pool; the chain's own behaviour is
shown with small steps defined here, the wiring with the filter step and a block rule.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from syndicator.ingest import ingest_source
from syndicator.models import Article
from syndicator.operate.health import source_health
from syndicator.operate.preview import preview_source
from syndicator.process import STEPS, Batch, Chain, Dropped, ProcessContext
from syndicator.runtime import Runtime
from syndicator.store.articles import newest_articles
from tests.builders import STORE_TIME, items, make_article, one_feed_config, rss, write_config
from tests.conftest import SITE_ZHBF
from tests.test_preview import assert_nothing_stored, store_state

ARTICLE_PATH = "/qinggan/gushi/20231123/8812.html"
EXPECTED = json.loads((SITE_ZHBF / "article-8812.expected.json").read_text())


class Tag:
    """Appends its name to every title and annotates each article."""

    def __init__(self, name: str, *, applies: bool = True) -> None:
        self.name = name
        self._applies = applies
        self.calls = 0

    def applies(self, context: ProcessContext) -> bool:
        return self._applies

    async def run(self, batch: Batch, context: ProcessContext) -> Batch:
        self.calls += 1
        changed = [replace(a, title=f"{a.title} {self.name}") for a in batch.articles]
        return Batch(changed, [], {a.id: (f"seen by {self.name}",) for a in changed})


class DropOdd:
    """Drops articles whose title ends in an odd digit, counting under `odd`."""

    name = "drop-odd"

    def applies(self, context: ProcessContext) -> bool:
        return True

    async def run(self, batch: Batch, context: ProcessContext) -> Batch:
        kept: list[Article] = []
        dropped: list[Dropped] = []
        for article in batch.articles:
            number = int(article.title.split()[1])
            if number % 2:
                dropped.append(Dropped(article, "odd", f"article {number} is odd"))
                context.counts["odd"] += 1
            else:
                kept.append(article)
        return Batch(kept, dropped, batch.annotations)


async def test_the_chain_runs_applying_steps_in_order_and_keeps_drops_and_notes(
    tmp_path, upstream, redis, redis_url, prefix
):
    config = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/f.rss")
    runtime = Runtime.open(config, redis_url)
    try:
        first, skipped, second = Tag("first"), Tag("skipped", applies=False), Tag("second")
        chain = Chain(
            runtime, config.sources["feed"], now=STORE_TIME, steps=(first, skipped, DropOdd(), second)
        )
        assert [s.name for s in chain.steps] == ["first", "drop-odd", "second"]
        out = await chain.process([make_article(n, "tech") for n in range(4)])
        again = await chain.process([make_article(n, "tech") for n in range(4, 6)])
    finally:
        await runtime.close()
    # Order: `first` changed the titles before drop-odd read them; `second` saw only the kept.
    assert [a.title for a in out.articles] == ["Article 0 first second", "Article 2 first second"]
    assert [(d.rule, d.reason) for d in out.dropped] == [
        ("odd", "article 1 is odd"),
        ("odd", "article 3 is odd"),
    ]
    assert out.annotations[out.articles[0].id] == ("seen by first", "seen by second")
    assert set(out.annotations) == {a.id for a in out.articles}  # none for a dropped article
    assert skipped.calls == 0 and first.calls == 2  # once per chunk, the context shared
    assert len(again.articles) == 1
    assert chain.dropped == 3 and chain.rule_counts == {"odd": 3}


def test_the_documented_order_is_the_chain_order():
    import syndicator.process as process

    names = [step.name for step in STEPS]
    assert names == ["filters", "fulltext", "cluster"]
    doc = process.__doc__ or ""
    positions = [doc.index(f"`{name}` (process/{name}.py)") for name in names]
    assert positions == sorted(positions)


async def test_feed_ingest_runs_the_chain_and_blocked_items_are_never_stored(
    tmp_path, upstream, redis, redis_url, prefix
):
    feed_items = items("rss", 4)
    feed_items[1] = replace(feed_items[1], title="Sponsored: buy now")
    upstream.put("/f.rss", rss(feed_items), "application/rss+xml")
    config = one_feed_config(
        tmp_path,
        upstream,
        redis_url=redis_url,
        prefix=prefix,
        path="/f.rss",
        block=[{"field": "title", "words": ["sponsored"]}],
    )
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "feed", now=datetime.now(UTC))
        stored = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
        health = await source_health(runtime, "feed")
        again = await ingest_source(runtime, "feed", force=True)
        health_again = await source_health(runtime, "feed")
    finally:
        await runtime.close()
    assert report.counts["new"] == 3 and report.counts["filtered"] == 1, report.counts
    assert "1 filtered" in report.line()
    assert "Sponsored: buy now" not in [a.title for a in stored] and len(stored) == 3
    assert report.rule_counts == {"blocked: block[0]": 1}
    assert health.rule_counts == {"blocked: block[0]": 1}
    assert again.counts["filtered"] == 1  # blocked again, never stored
    assert health_again.rule_counts == {"blocked: block[0]": 2}  # counts add up over polls


async def test_page_ingest_runs_the_same_chain(tmp_path, upstream, redis, redis_url, prefix):
    upstream.put(ARTICLE_PATH, (SITE_ZHBF / "article-8812.utf8.html").read_bytes(), "text/html")
    title_word = EXPECTED["title"][:4]  # Chinese: matched as a substring, as `?q=` does
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "misc", "title": "其他", "language": "zh"}],
        sources=[
            {
                "id": "zhbf",
                "url": upstream.url(ARTICLE_PATH),
                "kind": "page",
                "categories": ["misc"],
                "timezone": "Asia/Shanghai",
                "allow_private_network": True,
                "block": [{"name": "no-such-story", "field": "title", "words": [title_word]}],
            }
        ],
    )
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "zhbf")
        stored = await newest_articles(runtime.redis, runtime.keys, "all", 10)
        health = await source_health(runtime, "zhbf")
    finally:
        await runtime.close()
    assert report.status == "updated"
    assert report.counts == {"filtered": 1}
    assert stored == []
    assert health.rule_counts == {"blocked: no-such-story": 1}


async def test_an_article_a_new_rule_blocks_is_withdrawn_from_store_and_feeds(
    tmp_path, upstream, redis, redis_url, prefix
):
    feed_items = items("rss", 3)
    upstream.put("/f.rss", rss(feed_items), "application/rss+xml")
    plain = one_feed_config(tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/f.rss")
    runtime = Runtime.open(plain, redis_url)
    try:
        first = await ingest_source(runtime, "feed")
        # The operator adds a rule; the next poll withdraws what it now blocks.
        runtime.config = one_feed_config(
            tmp_path,
            upstream,
            redis_url=redis_url,
            prefix=prefix,
            path="/f.rss",
            block=[{"field": "title", "words": ["title 1"]}],
        )
        second = await ingest_source(runtime, "feed", force=True)  # else a 304
        stored = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
        everything = await newest_articles(runtime.redis, runtime.keys, "all", 10)
        # The rule removed again: the article comes back (no tombstone).
        runtime.config = plain
        third = await ingest_source(runtime, "feed", force=True)
        back = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
    finally:
        await runtime.close()
    assert first.counts == {"new": 3}
    assert second.counts["withdrawn"] == 1 and second.counts["filtered"] == 1
    assert "tech" in second.touched and "all" in second.touched  # published again
    assert sorted(a.title for a in stored) == ["rss title 0", "rss title 2"]
    assert sorted(a.title for a in everything) == ["rss title 0", "rss title 2"]
    assert third.counts["new"] == 1
    assert len(back) == 3


async def test_an_article_stored_while_fresh_is_not_withdrawn_for_growing_old(
    tmp_path, upstream, redis, redis_url, prefix
):
    now = datetime.now(UTC)
    feed_items = [replace(item, published=now - timedelta(hours=1)) for item in items("rss", 2)]
    upstream.put("/f.rss", rss(feed_items), "application/rss+xml")
    config = one_feed_config(
        tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/f.rss", block=[{"older_than": "2d"}]
    )
    runtime = Runtime.open(config, redis_url)
    try:
        first = await ingest_source(runtime, "feed", now=now)
        later = await ingest_source(runtime, "feed", now=now + timedelta(days=3), force=True)
        stored = await newest_articles(runtime.redis, runtime.keys, "tech", 10)
    finally:
        await runtime.close()
    assert first.counts == {"new": 2}
    assert later.counts == {"filtered": 2}  # too old to store now, but not withdrawn
    assert len(stored) == 2


async def test_a_preview_shows_what_the_filters_would_drop_and_stores_nothing(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put("/f.rss", rss(items("pv", 3)), "application/rss+xml")
    config = one_feed_config(
        tmp_path,
        upstream,
        redis_url=redis_url,
        prefix=prefix,
        path="/f.rss",
        block=[{"field": "title", "words": ["pv title 1"]}],
    )
    runtime = Runtime.open(config, redis_url)
    try:
        before = await store_state(redis, prefix)
        result = await preview_source(runtime, config.sources["feed"])
        await assert_nothing_stored(redis, prefix, before)
    finally:
        await runtime.close()
    assert [a.title for a in result.articles] == ["pv title 0", "pv title 1", "pv title 2"]
    assert result.articles[1].warnings == (
        "would not be stored: blocked by block[0] (title words “pv title 1”)",
    )
    assert result.articles[0].warnings == () and result.articles[2].warnings == ()
