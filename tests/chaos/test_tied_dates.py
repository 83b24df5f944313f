"""One item order everywhere, even when many items share a publication time (issue 9, item 7).

The plain feed and `?limit=N` used to break ties differently (20 items differed in one
store). Now there is one order (store.articles.order_key: newest first, ties by id
descending, which is the category index's own order), and the plain feed, every variant
and the archive pages all follow it.
"""

from __future__ import annotations

import itertools
import json
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


def tied_items() -> list[Item]:
    """60 items in groups of 7 sharing a publication time, listed in a shuffled order."""
    order = sorted(range(TOTAL), key=lambda i: (i * 37) % TOTAL)
    return [
        Item(
            guid=f"tie-{i}",
            title=f"Tied {i}",
            link=f"https://tie.example/posts/{i}",
            published=BASE_TIME - timedelta(hours=i // 7),
            body=f"<p>body {i}</p>",
        )
        for i in order
    ]


@pytest.fixture
async def site(
    tmp_path, upstream, redis_url, prefix
) -> AsyncIterator[tuple[TestServer, ClientSession, Runtime]]:
    upstream.put("/tie.rss", rss(tied_items()), "application/rss+xml")
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Tech", "items_per_feed": PER_FEED}],
        sources=[
            {
                "id": "tie",
                "url": upstream.url("/tie.rss"),
                "categories": ["tech"],
                "allow_private_network": True,
            }
        ],
    )
    runtime = Runtime.open(config, redis_url)
    await ingest_source(runtime, "tie")  # stores and publishes inline (no queue)
    server = TestServer(create_app(runtime))
    await server.start_server()
    async with ClientSession() as http:
        yield server, http, runtime
    await server.close()
    await runtime.close()


async def item_ids(server: TestServer, http: ClientSession, path: str, fmt: str) -> list[str]:
    async with http.get(server.make_url(path)) as resp:
        assert resp.status == 200, (path, await resp.text())
        body = await resp.read()
    if fmt == "json":
        return [item["id"] for item in json.loads(body)["items"]]
    return [entry.id for entry in feedparser.parse(body).entries]


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
