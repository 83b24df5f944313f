"""RFC 5005 archived feeds over real HTTP, with real publishes between requests.

Category `tech` keeps 3 items per feed, so archive page n holds the items numbered
3n-2 … 3n (oldest first) once the third of them has been published.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import brotli
import feedparser
import jsonschema
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from lxml import etree

from syndicator.ingest import ingest_source
from syndicator.models import Config
from syndicator.runtime import Runtime
from syndicator.store.archive import number_items, sequence_numbers
from syndicator.store.connection import connect
from syndicator.store.keys import Keys
from syndicator.web.app import create_app
from syndicator.web.archives import ARCHIVE_CACHE
from tests.builders import BASE_TIME, Item, rss, write_config
from tests.harness import SCHEMA

SITE = "http://feeds.test"
FH = "{http://purl.org/syndication/history/1.0}archive"
ATOM_LINK = "{http://www.w3.org/2005/Atom}link"
MEDIA = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}


def stream(count: int, *, edited: frozenset[int] = frozenset()) -> list[Item]:
    """Upstream items 0 … count-1, item k published k hours after BASE_TIME, newest first."""
    return [
        Item(
            guid=f"web-{k}",
            title=f"web title {k}",
            link=f"https://web.example/posts/{k}",
            published=BASE_TIME + timedelta(hours=k),
            body=f"<p>body {k}{' (edited)' if k in edited else ''}</p>",
        )
        for k in reversed(range(count))
    ]


@dataclass
class Site:
    upstream: object
    runtime: Runtime
    server: TestServer
    http: ClientSession
    extra_servers: list[TestServer] = field(default_factory=list)

    async def publish(self, count: int, *, edited: frozenset[int] = frozenset()) -> None:
        """The upstream now lists `count` items; ingest (which publishes inline)."""
        self.upstream.put("/feed.rss", rss(stream(count, edited=edited)), "application/rss+xml")
        await ingest_source(self.runtime, "web")

    async def get(self, path: str, server: TestServer | None = None, **headers: str):
        headers = {"Accept-Encoding": "identity", **headers}
        url = (server or self.server).make_url(path.removeprefix(SITE))
        async with self.http.get(url, headers=headers) as resp:
            return resp.status, resp.headers.copy(), await resp.read()


def site_config(tmp_path, upstream, redis_url, prefix, **category: object) -> Config:
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Tech", "items_per_feed": 3, **category}],
        sources=[
            {
                "id": "web",
                "url": upstream.url("/feed.rss"),
                "categories": ["tech"],
                "allow_private_network": True,
            }
        ],
    )


async def open_site(config: Config, upstream, redis_url: str) -> AsyncIterator[Site]:
    runtime = Runtime.open(config, redis_url)
    server = TestServer(create_app(runtime))
    await server.start_server()
    async with ClientSession(auto_decompress=False) as http:
        yield Site(upstream, runtime, server, http)
    await server.close()
    await runtime.close()


@pytest.fixture
async def site(tmp_path, upstream, redis, redis_url, prefix) -> AsyncIterator[Site]:
    async for value in open_site(site_config(tmp_path, upstream, redis_url, prefix), upstream, redis_url):
        yield value


def xml_links(body: bytes) -> dict[str, str]:
    """rel → href of the feed-level links (Atom `link`, RSS `atom:link`), self excluded."""
    root = etree.fromstring(body)
    parent = root.find("channel") if root.tag == "rss" else root
    found = {}
    for link in [*parent.findall(ATOM_LINK), *parent.findall("link")]:
        if link.get("rel") not in (None, "self", "alternate"):
            found[link.get("rel")] = link.get("href")
    return found


def is_archive(body: bytes) -> bool:
    root = etree.fromstring(body)
    parent = root.find("channel") if root.tag == "rss" else root
    return parent.find(FH) is not None


def guids(body: bytes) -> list[str]:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [e.link for e in parsed.entries]


def post(k: int) -> str:
    return f"https://web.example/posts/{k}"


async def test_pages_fill_and_become_archives(site):
    await site.publish(2)
    status, _, body = await site.get("/archive/tech/1.rss")
    assert status == 404 and b"no archive pages yet" in body
    _, _, feed = await site.get("/feeds/tech.rss")
    assert "prev-archive" not in xml_links(feed)

    await site.publish(3)  # page 1 is complete: items 0, 1, 2
    _, _, feed = await site.get("/feeds/tech.rss")
    assert xml_links(feed)["prev-archive"] == f"{SITE}/archive/tech/1.rss"
    status, headers, body = await site.get("/archive/tech/1.rss")
    assert status == 200 and headers["Content-Type"].startswith(MEDIA["rss"])
    assert guids(body) == [post(2), post(1), post(0)]  # newest first, like every feed

    await site.publish(7)  # pages 1 (0-2) and 2 (3-5); item 6 waits for page 3
    _, _, feed = await site.get("/feeds/tech.atom")
    assert xml_links(feed)["prev-archive"] == f"{SITE}/archive/tech/2.atom"
    _, _, body = await site.get("/archive/tech/2.atom")
    assert guids(body) == [post(5), post(4), post(3)]
    for bad in ("3.rss", "0.rss", "01.rss", "-1.rss", "x.rss", "２.rss"):
        status, _, body = await site.get(f"/archive/tech/{bad}")
        assert status == 404, bad
        assert b"archive page" in body and (b"pages 1 to 2" in body or b"whole number" in body), body
    status, _, body = await site.get("/archive/tech/3.rss")
    assert b"no archive page 3: category 'tech' has archive pages 1 to 2" in body
    status, _, body = await site.get("/archive/nope/1.rss")
    assert status == 404 and b"no category 'nope'" in body
    status, _, body = await site.get("/archive/tech/1.xml")
    assert status == 404 and b".rss, .atom or .json" in body


@pytest.mark.parametrize("fmt", ["rss", "atom"])
async def test_prev_archive_chain_collects_every_item_once(site, fmt):
    await site.publish(10)  # pages 1..3 hold items 0..8; the feed holds 9, 8, 7
    feed_url = f"{SITE}/feeds/tech.{fmt}"
    _, _, feed = await site.get(f"/feeds/tech.{fmt}")
    assert not is_archive(feed)
    collected = guids(feed)
    archived: list[str] = []
    url, pages = xml_links(feed).get("prev-archive"), []
    while url:
        status, headers, body = await site.get(url)
        assert status == 200, url
        assert headers["Link"] == f'<{url}>; rel="self"'
        links = xml_links(body)
        assert is_archive(body) and links["current"] == feed_url
        pages.append((url, links))
        archived.extend(guids(body))
        url = links.get("prev-archive")
    assert [u for u, _ in pages] == [f"{SITE}/archive/tech/{n}.{fmt}" for n in (3, 2, 1)]
    # next-archive points to the next newer archive; the newest archive has none.
    assert "next-archive" not in pages[0][1]
    assert pages[1][1]["next-archive"] == pages[0][0] and pages[2][1]["next-archive"] == pages[1][0]
    assert len(archived) == len(set(archived)) == 9  # no item in two archive pages
    assert set(archived) | set(collected) == {post(k) for k in range(10)}


async def test_json_next_url_chain_and_schema(site):
    await site.publish(10)
    _, _, body = await site.get("/feeds/tech.json")
    feed = json.loads(body)
    collected = [i["url"] for i in feed["items"]]
    pages = []
    while "next_url" in feed:
        assert feed["next_url"] != feed["feed_url"]
        status, headers, body = await site.get(feed["next_url"])
        assert status == 200 and headers["Content-Type"].startswith(MEDIA["json"])
        assert headers["Access-Control-Allow-Origin"] == "*"
        page = json.loads(body)
        jsonschema.validate(page, SCHEMA, format_checker=jsonschema.FormatChecker())
        assert page["feed_url"] == feed["next_url"]
        pages.append(page["feed_url"])
        collected.extend(i["url"] for i in page["items"])
        feed = page
    assert pages == [f"{SITE}/archive/tech/{n}.json" for n in (3, 2, 1)]
    assert len(collected) == 12 and set(collected) == {post(k) for k in range(10)}


async def fetch_pages(site: Site, pages: range) -> dict[tuple[int, str, str], tuple[str, bytes]]:
    out = {}
    for n in pages:
        for fmt in MEDIA:
            for coding in ("identity", "gzip", "br"):
                status, headers, body = await site.get(
                    f"/archive/tech/{n}.{fmt}", **{"Accept-Encoding": coding}
                )
                assert status == 200
                out[(n, fmt, coding)] = (headers["ETag"], body)
    return out


async def test_archives_stay_byte_identical_across_publications(site):
    await site.publish(7)
    before = await fetch_pages(site, range(1, 3))
    _, feed_headers, _ = await site.get("/feeds/tech.rss")

    await site.publish(8)  # a new item, no page completes
    _, new_feed_headers, _ = await site.get("/feeds/tech.rss")
    assert new_feed_headers["ETag"] != feed_headers["ETag"]
    assert await fetch_pages(site, range(1, 3)) == before
    for (n, fmt, coding), (etag, _) in before.items():
        status, _, _ = await site.get(
            f"/archive/tech/{n}.{fmt}", **{"Accept-Encoding": coding, "If-None-Match": etag}
        )
        assert status == 304

    await site.publish(9)  # page 3 completes: page 2 (RSS/Atom) gains next-archive, nothing else
    after = await fetch_pages(site, range(1, 4))
    for key, value in before.items():
        n, fmt, _ = key
        assert (after[key] == value) == (n == 1 or fmt == "json"), key
    _, _, page2 = await site.get("/archive/tech/2.atom")
    assert xml_links(page2)["next-archive"] == f"{SITE}/archive/tech/3.atom"
    assert guids(page2) == [post(5), post(4), post(3)]

    await site.publish(9, edited=frozenset({1}))  # an item of page 1 changes upstream
    edited = await fetch_pages(site, range(1, 4))
    for key, value in after.items():
        assert (edited[key] == value) == (key[0] != 1), key
    _, _, page1 = await site.get("/archive/tech/1.rss")
    assert b"body 1 (edited)" in page1


async def test_archive_http_headers_codings_and_cache(site):
    await site.publish(6)
    status, headers, body = await site.get("/archive/tech/1.atom")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=2592000"
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["ETag"].startswith('"a1-atom-')
    # Last-Modified: the newest `updated` among the page's items (item 2 is the newest).
    parsed = feedparser.parse(body)
    assert parsed.feed.updated_parsed == parsed.entries[0].updated_parsed
    assert headers["Last-Modified"] == "Fri, 20 Nov 2026 10:00:00 GMT"
    _, gz_headers, gz = await site.get("/archive/tech/1.atom", **{"Accept-Encoding": "gzip"})
    _, br_headers, br = await site.get("/archive/tech/1.atom", **{"Accept-Encoding": "br"})
    assert gzip.decompress(gz) == body and brotli.decompress(br) == body
    assert len({headers["ETag"], gz_headers["ETag"], br_headers["ETag"]}) == 3
    for conditional in ({"If-None-Match": headers["ETag"]}, {"If-Modified-Since": headers["Last-Modified"]}):
        status, not_modified, empty = await site.get("/archive/tech/1.atom", **conditional)
        assert status == 304 and empty == b""
        assert not_modified["Cache-Control"] == "public, max-age=2592000"
        assert not_modified["ETag"] == headers["ETag"]
    head_url = site.server.make_url("/archive/tech/1.atom")
    async with site.http.head(head_url, headers={"Accept-Encoding": "identity"}) as resp:
        assert resp.status == 200 and await resp.read() == b""
        assert resp.headers["ETag"] == headers["ETag"]

    cache = site.server.app[ARCHIVE_CACHE]
    puts = cache.stats.puts
    for _ in range(3):
        assert (await site.get("/archive/tech/1.atom"))[2] == body
    assert cache.stats.puts == puts  # served from the render cache, not rendered again

    # Another web process (same Redis) renders the same bytes with the same ETag.
    other = TestServer(create_app(site.runtime))
    await other.start_server()
    try:
        _, other_headers, other_body = await site.get("/archive/tech/1.atom", server=other)
    finally:
        await other.close()
    assert other_body == body and other_headers["ETag"] == headers["ETag"]


async def test_retention_shrinks_pages_then_410(tmp_path, upstream, redis, redis_url, prefix):
    config = site_config(tmp_path, upstream, redis_url, prefix, items_per_feed=2, retention_count=4)
    async for site in open_site(config, upstream, redis_url):
        await site.publish(4)  # pages 1 (items 0, 1) and 2 (items 2, 3)
        await site.publish(5)  # retention evicts item 0
        status, _, body = await site.get("/archive/tech/1.rss")
        assert status == 200 and guids(body) == [post(1)]
        await site.publish(6)  # … and item 1: page 1 has nothing left
        status, _, body = await site.get("/archive/tech/1.rss")
        assert status == 410
        assert body.decode() == (
            "archive page 1 of 'tech' is gone: retention removed every item it held; "
            "category 'tech' has archive pages 1 to 3\n"
        )
        status, _, body = await site.get("/archive/tech/2.json")
        assert status == 200 and [i["url"] for i in json.loads(body)["items"]] == [post(3), post(2)]
        # Evicted ids lose their numbers; a returning id would get a new one.
        numbers = await sequence_numbers(site.runtime.redis, site.runtime.keys, "tech")
        assert sorted(numbers.values()) == [3, 4, 5, 6]


async def test_numbering_is_atomic_idempotent_and_oldest_first(redis, redis_url, prefix):
    keys = Keys(prefix)
    ids = [f"id-{i:03d}" for i in range(60)]
    # Scores (publication times) in reverse id order, with a tie between the last two.
    await redis.zadd(keys.category_index("c"), {i: 1000 - n for n, i in enumerate(ids)} | {ids[-1]: 941})
    other = connect(redis_url)
    try:
        states = await asyncio.gather(
            *(number_items(client, keys, "c", 25) for client in (redis, other) for _ in range(4))
        )
    finally:
        await other.aclose()
    assert {s.assigned for s in states} == {60} and states[0].complete_pages == 2
    numbers = await sequence_numbers(redis, keys, "c")
    assert sorted(numbers.values()) == list(range(1, 61))
    oldest_first = sorted(ids, key=lambda i: (1000 - ids.index(i) if i != ids[-1] else 941, i))
    assert [i for i, _ in sorted(numbers.items(), key=lambda kv: kv[1])] == oldest_first

    await redis.zrem(keys.category_index("c"), ids[0])
    await redis.zadd(keys.category_index("c"), {"id-new": 2000})
    state = await number_items(redis, keys, "c", 25)
    numbers = await sequence_numbers(redis, keys, "c")
    assert state.assigned == 61 and numbers["id-new"] == 61 and ids[0] not in numbers
    await redis.zadd(keys.category_index("c"), {ids[0]: 1000})  # it returns: a new number
    assert (await number_items(redis, keys, "c", 25)).assigned == 62
    assert (await sequence_numbers(redis, keys, "c"))[ids[0]] == 62
