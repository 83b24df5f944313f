"""One item order everywhere, even when many items share a publication time (issue 9, item 7).

The plain feed and `?limit=N` used to break ties differently (20 items differed in one
store). Now there is one order (store.articles.order_key: newest first, ties by id
descending, which is the category index's own order), and the plain feed, every variant
(`?limit=`, `?q=`, `?tag=`), combined feeds (`a+b`), deltas (RFC 3229, 226) and the
archive pages all follow it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import feedparser
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.store.articles import in_feed_order, newest_articles
from syndicator.web.app import create_app
from tests.builders import BASE_TIME, Item, rss, write_config

PER_FEED = 20
TOTAL = 60


def tied_items(name: str = "tie", *, newer: int = 0) -> list[Item]:
    """60 items in groups of 7 sharing a publication time, listed in a shuffled order; every
    third one's body says "alpha". `newer`: that many more (numbered from 60), newer than
    all of them and tied in groups of 7 too."""
    order = sorted(range(TOTAL + newer), key=lambda i: (i * 37) % (TOTAL + newer))
    return [
        Item(
            guid=f"{name}-{i}",
            title=f"Tied {name} {i}",
            link=f"https://{name}.example/posts/{i}",
            published=BASE_TIME - timedelta(hours=i // 7 if i < TOTAL else -1 - (i - TOTAL) // 7),
            body=f"<p>body {i}{' alpha' if i % 3 == 0 else ''}</p>",
        )
        for i in order
    ]


def tied_rss(entries: list[Item]) -> bytes:
    """`rss(entries)` with the category "even" on every item whose number is even."""
    return re.sub(
        rb"(<guid[^>]*>[a-z0-9]+-(\d+)</guid>)",
        lambda m: m.group(1) + (b"<category>even</category>" if int(m.group(2)) % 2 == 0 else b""),
        rss(entries),
    )


@pytest.fixture
async def site(
    tmp_path, upstream, redis_url, prefix
) -> AsyncIterator[tuple[TestServer, ClientSession, Runtime]]:
    upstream.put("/tie.rss", tied_rss(tied_items()), "application/rss+xml")
    upstream.put("/news.rss", tied_rss(tied_items("news")), "application/rss+xml")  # the same times
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[
            {"slug": slug, "title": slug.title(), "items_per_feed": PER_FEED} for slug in ("tech", "news")
        ],
        # Many filtered variants in a row from one reader: no render budget in the way.
        extra_server="variant_renders_per_minute = 0\nvariant_renders_per_second = 0",
        sources=[
            {
                "id": sid,
                "url": upstream.url(f"/{sid}.rss"),
                "categories": [slug],
                "allow_private_network": True,
            }
            for sid, slug in (("tie", "tech"), ("news", "news"))
        ],
    )
    runtime = Runtime.open(config, redis_url)
    for sid in ("tie", "news"):
        await ingest_source(runtime, sid)  # stores and publishes inline (no queue)
    server = TestServer(create_app(runtime))
    await server.start_server()
    async with ClientSession() as http:
        yield server, http, runtime
    await server.close()
    await runtime.close()


async def item_ids(
    server: TestServer, http: ClientSession, path: str, fmt: str, status: int = 200, **headers: str
) -> list[str]:
    async with http.get(server.make_url(path), headers=headers) as resp:
        assert resp.status == status, (path, await resp.text())
        body = await resp.read()
    if fmt == "json":
        served = [item["id"] for item in json.loads(body)["items"]]
    else:
        served = [entry.id for entry in feedparser.parse(body).entries]
    return [article_id(i) for i in served]


def article_id(served: str) -> str:
    """The store's article id of a served item id (Atom writes it as `urn:uuid:…`)."""
    return served.removeprefix("urn:uuid:").replace("-", "")


async def store_order(runtime: Runtime, slug: str) -> list:
    """Every article of the category, in the one order, as the store reads it."""
    return await newest_articles(runtime.redis, runtime.keys, slug, 200)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
async def test_plain_feed_and_limit_agree_on_tied_items(site, fmt):
    server, http, _ = site
    plain = await item_ids(server, http, f"/feeds/tech.{fmt}", fmt)
    assert len(plain) == PER_FEED and len(set(plain)) == PER_FEED
    for n in (1, 6, 7, 8, 13, 19, PER_FEED):  # cuts inside and at the edges of tied groups
        assert await item_ids(server, http, f"/feeds/tech.{fmt}?limit={n}", fmt) == plain[:n], n
    # Longer than the plain feed: it is a prefix of the longer list, in the same order.
    assert (await item_ids(server, http, f"/feeds/tech.{fmt}?limit=50", fmt))[:PER_FEED] == plain
    # The newest complete archive page holds exactly the plain feed's items (60 = 3 pages).
    assert await item_ids(server, http, f"/archive/tech/3.{fmt}", fmt) == plain


async def test_store_reads_follow_the_one_order(site):
    _, _, runtime = site
    everything = await newest_articles(runtime.redis, runtime.keys, "tech", TOTAL)
    assert everything == in_feed_order(everything)
    assert [a.published for a in everything] == sorted((a.published for a in everything), reverse=True)
    for a, b in itertools.pairwise(everything):
        if a.published == b.published:
            assert a.id > b.id  # ties: id descending, as the index (ZREVRANGE) returns them
    for n in (5, 7, 20):
        assert await newest_articles(runtime.redis, runtime.keys, "tech", n) == everything[:n]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
async def test_filtered_feeds_keep_the_one_order_of_tied_items(site, fmt):
    """`?q=` and `?tag=` select items; what they select comes in the plain feed's order."""
    server, http, runtime = site
    everything = await store_order(runtime, "tech")
    alpha = [a.id for a in everything if "alpha" in (a.content_html or "")]
    even = [a.id for a in everything if "even" in a.tags]
    assert 0 < len(alpha) < TOTAL and 0 < len(even) < TOTAL
    for query, expected in (("q=alpha", alpha), ("tag=even", even), ("q=alpha&tag=even", None)):
        want = expected if expected is not None else [i for i in alpha if i in set(even)]
        got = await item_ids(server, http, f"/feeds/tech.{fmt}?{query}", fmt)
        assert got == want[: len(got)] and len(got) == min(len(want), PER_FEED), query
        for n in (1, 7, 8):
            assert await item_ids(server, http, f"/feeds/tech.{fmt}?{query}&limit={n}", fmt) == got[:n], query


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
async def test_a_combined_feed_merges_tied_items_in_the_one_order(site, fmt):
    """tech and news hold items with the very same publication times: the combined feed is
    their merge in the one order (newest first, ties by id descending), not one then the other."""
    server, http, runtime = site
    merged = in_feed_order([*await store_order(runtime, "tech"), *await store_order(runtime, "news")])
    ids = [a.id for a in merged]
    combined = await item_ids(server, http, f"/feeds/tech+news.{fmt}", fmt)
    assert combined == ids[: len(combined)] and len(combined) >= PER_FEED
    news = {a.id for a in await store_order(runtime, "news")}
    assert 0 < sum(i in news for i in combined[:7]) < 7  # the first tied group mixes both
    assert (
        await item_ids(server, http, f"/feeds/news+tech.{fmt}", fmt) == combined
    )  # one feed, either spelling
    for n in (1, 7, 13):
        assert await item_ids(server, http, f"/feeds/tech+news.{fmt}?limit={n}", fmt) == combined[:n]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
async def test_a_delta_lists_the_new_tied_items_in_the_plain_feeds_order(site, upstream, fmt):
    """A reader holding the first version asks for a delta (A-IM: feed): the 226 lists the
    items new since then in the very order the new plain feed shows them."""
    server, http, runtime = site
    async with http.get(server.make_url(f"/feeds/tech.{fmt}")) as resp:
        first_etag = resp.headers["ETag"]
    upstream.put("/tie.rss", tied_rss(tied_items(newer=10)), "application/rss+xml")  # 10 newer, tied
    await ingest_source(runtime, "tie")
    plain = await item_ids(server, http, f"/feeds/tech.{fmt}", fmt)
    new = [a.id for a in await store_order(runtime, "tech") if a.published > BASE_TIME]
    assert len(new) == 10 and plain[:10] == new
    delta = await item_ids(
        server, http, f"/feeds/tech.{fmt}", fmt, status=226, **{"A-IM": "feed", "If-None-Match": first_etag}
    )
    assert delta == new
