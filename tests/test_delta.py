"""RFC 3229 `A-IM: feed` deltas over real HTTP, with real publishes between the requests.

Each test publishes versions of a category by changing what the upstream serves and
ingesting it (publish runs inline), then asks as a delta-capable reader holding some
version's ETag would, and checks the items it gets back by their titles.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import brotli
import feedparser
import jsonschema
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.store import manifests
from syndicator.store.manifests import Manifest, ManifestItem, kept_versions, save_manifest
from syndicator.web.app import create_app
from syndicator.web.delta import DELTA_CACHE, accepts_feed_im, cut_delta
from tests.builders import BASE_TIME, Item, items, one_feed_config, rss
from tests.harness import SCHEMA
from tests.upstream import Upstream

FEED = "/feeds/news.rss"


@dataclass
class Site:
    upstream: Upstream
    runtime: Runtime
    servers: list[TestServer]
    http: ClientSession
    items: list[Item]

    async def publish(self, new_items: list[Item]) -> None:
        """Serve `new_items` upstream and ingest them: exactly one new feed version."""
        before = await self.runtime.redis.get(self.runtime.keys.feed_version("news"))
        self.items = new_items
        self.upstream.put("/feed.rss", rss(new_items), "application/rss+xml")
        await ingest_source(self.runtime, "web")
        after = await self.runtime.redis.get(self.runtime.keys.feed_version("news"))
        assert int(after) == int(before or 0) + 1

    async def get(self, path: str = FEED, server: int = 0, method: str = "GET", **headers: str):
        headers = {"Accept-Encoding": "identity", **headers}
        url = self.servers[server].make_url(path)
        async with self.http.request(method, url, headers=headers) as resp:
            return resp.status, resp.headers.copy(), await resp.read()

    async def etag(self, path: str = FEED, **headers: str) -> str:
        status, response_headers, _ = await self.get(path, **headers)
        assert status == 200
        return response_headers["ETag"]


def newer(n: int, hours: int) -> Item:
    """An item published `hours` after the first batch's newest."""
    return Item(
        guid=f"new-{n}",
        title=f"new title {n}",
        link=f"https://web.example/new/{n}",
        published=BASE_TIME + timedelta(hours=hours),
        body=f"<p>new body {n}</p>",
    )


def titles(body: bytes) -> list[str]:
    if body.startswith(b"{"):
        return [item["title"] for item in json.loads(body)["items"]]
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    return [entry.title for entry in parsed.entries]


@pytest.fixture
async def site(tmp_path, upstream, redis, redis_url, prefix) -> AsyncIterator[Site]:
    first = items("web", 5)
    upstream.put("/feed.rss", rss(first), "application/rss+xml")
    config = one_feed_config(
        tmp_path,
        upstream,
        redis_url=redis_url,
        prefix=prefix,
        path="/feed.rss",
        source_id="web",
        slug="news",
        title="News",
        poll_interval="10m",
    )
    runtime = Runtime.open(config, redis_url)
    await ingest_source(runtime, "web")
    # Two apps, each with its own Runtime and delta cache: two web processes on one Redis.
    runtimes = [Runtime.open(config, redis_url) for _ in range(2)]
    servers = [TestServer(create_app(r)) for r in runtimes]
    for server in servers:
        await server.start_server()
    async with ClientSession(auto_decompress=False) as http:
        yield Site(upstream, runtime, servers, http, first)
    for server in servers:
        await server.close()
    for r in (runtime, *runtimes):
        await r.close()


async def four_versions(site: Site) -> dict[int, str]:
    """v1 (5 items) → v2 adds A → v3 edits item 2 → v4 adds B; the RSS ETag of each."""
    etags = {1: await site.etag()}
    await site.publish([newer(1, 1), *site.items])
    etags[2] = await site.etag()
    edited = [replace(i, body="<p>edited body</p>") if i.guid == "web-2" else i for i in site.items]
    await site.publish(edited)
    etags[3] = await site.etag()
    await site.publish([newer(2, 2), *site.items])
    etags[4] = await site.etag()
    assert len(set(etags.values())) == 4
    return etags


async def test_three_versions_behind_gets_exactly_what_it_missed(site):
    etags = await four_versions(site)
    status, headers, body = await site.get(**{"A-IM": "feed", "If-None-Match": etags[1]})
    assert status == 226
    # Adds and the edit, newest first; the four unchanged items are not sent.
    assert titles(body) == ["new title 2", "new title 1", "web title 2"]
    edited = feedparser.parse(body).entries[2]
    assert "edited body" in edited.content[0].value
    assert headers["IM"] == "feed"
    assert headers["ETag"] == etags[4]  # the current version's ETag, not one of the delta
    assert headers["Cache-Control"] == "no-store, im"
    assert {v.strip() for v in headers["Vary"].split(",")} == {"Accept-Encoding", "A-IM", "If-None-Match"}
    assert headers["Delta-Base"] == etags[1]
    assert headers["Content-Type"].startswith("application/rss+xml")
    assert (
        headers["Link"]
        == '<http://feeds.test/hub>; rel="hub", <http://feeds.test/feeds/news.rss>; rel="self"'
    )
    _, plain_headers, plain = await site.get()
    assert headers["Last-Modified"] == plain_headers["Last-Modified"]
    # The same channel metadata as the full feed: a normal feed document with fewer items.
    full_feed, delta_feed = feedparser.parse(plain).feed, feedparser.parse(body).feed
    for field in ("title", "link", "subtitle", "language"):
        assert delta_feed[field] == full_feed[field], field
    assert len(titles(plain)) == 7
    # Cut from the stored bytes: channel head and each kept item exactly as in the full feed.
    assert body.split(b"<item>")[0] == plain.split(b"<item>")[0]
    for block in body.split(b"<item>")[1:]:
        assert b"<item>" + block.split(b"</item>")[0] in plain


async def test_one_version_behind_current_and_several_etags(site):
    etags = await four_versions(site)
    status, _, body = await site.get(**{"A-IM": "feed", "If-None-Match": etags[3]})
    assert status == 226 and titles(body) == ["new title 2"]
    status, _, body = await site.get(**{"A-IM": "feed", "If-None-Match": etags[2]})
    assert status == 226 and titles(body) == ["new title 2", "web title 2"]
    # The current version: 304 with the plain feed's headers, as without A-IM.
    status, headers, body = await site.get(**{"A-IM": "feed", "If-None-Match": etags[4]})
    assert status == 304 and body == b""
    assert headers["ETag"] == etags[4] and headers["Cache-Control"].startswith("public")
    # Several ETags: the newest kept version among them is the base.
    status, headers, body = await site.get(
        **{"A-IM": "feed", "If-None-Match": f"{etags[1]}, W/{etags[3]}, {etags[2]}"}
    )
    assert status == 226 and titles(body) == ["new title 2"]
    assert headers["Delta-Base"] == etags[3]
    status, _, _ = await site.get(**{"A-IM": "feed", "If-None-Match": f"{etags[1]}, {etags[4]}"})
    assert status == 304


async def test_atom_and_json_deltas(site):
    atom_v1 = await site.etag("/feeds/news.atom")
    json_v1 = await site.etag("/feeds/news.json")
    await site.publish([newer(1, 1), *site.items])
    status, headers, body = await site.get("/feeds/news.atom", **{"A-IM": "feed", "If-None-Match": atom_v1})
    assert status == 226 and titles(body) == ["new title 1"]
    assert headers["Content-Type"].startswith("application/atom+xml")
    status, headers, body = await site.get("/feeds/news.json", **{"A-IM": "feed", "If-None-Match": json_v1})
    assert status == 226 and titles(body) == ["new title 1"]
    assert headers["Access-Control-Allow-Origin"] == "*"
    jsonschema.validate(json.loads(body), SCHEMA, format_checker=jsonschema.FormatChecker())
    # An RSS ETag names no version of the JSON feed: the full feed.
    rss_now = await site.etag()
    status, _, body = await site.get("/feeds/news.json", **{"A-IM": "feed", "If-None-Match": rss_now})
    assert status == 200 and len(titles(body)) == 6


async def test_too_old_and_unknown_etags_get_the_full_feed(site, monkeypatch):
    monkeypatch.setattr(manifests, "KEEP_VERSIONS", 2)
    etags = await four_versions(site)
    assert await kept_versions(site.runtime.redis, site.runtime.keys, "news") == [4, 3]
    _, _, full = await site.get()
    v4 = etags[4].strip('"')
    wrong_digest = f'"{v4.rsplit("-", 1)[0]}-000000000000"'.replace("v4-", "v3-")
    for tag in (etags[1], etags[2], '"unrelated"', wrong_digest, '"v99-rss-0123456789ab"'):
        status, headers, body = await site.get(**{"A-IM": "feed", "If-None-Match": tag})
        assert status == 200, tag
        assert body == full and headers["ETag"] == etags[4]
        assert "IM" not in headers
    status, _, body = await site.get(**{"A-IM": "feed", "If-None-Match": etags[3]})
    assert status == 226 and titles(body) == ["new title 2"]


async def test_without_a_im_the_feed_behaves_as_ever(site):
    etags = await four_versions(site)
    _, plain_headers, full = await site.get()
    for headers in (
        {"If-None-Match": etags[1]},
        {"A-IM": "feed;q=0", "If-None-Match": etags[1]},
        {"A-IM": "vcdiff", "If-None-Match": etags[1]},
        {"A-IM": "feed"},  # no version named: nothing to compute a delta from
    ):
        status, response_headers, body = await site.get(**headers)
        assert status == 200, headers
        assert body == full and "IM" not in response_headers
        assert response_headers["Vary"] == plain_headers["Vary"] == "Accept-Encoding"
    # A-IM token matching is case-insensitive and honours q-values.
    status, _, _ = await site.get(**{"A-IM": "vcdiff, FEED;q=0.5", "If-None-Match": etags[1]})
    assert status == 226


async def test_compressed_deltas_decode_to_the_identity_delta(site):
    v1 = {c: await site.etag(**{"Accept-Encoding": c}) for c in ("identity", "gzip", "br")}
    await site.publish([newer(1, 1), *site.items])
    _, _, identity = await site.get(**{"A-IM": "feed", "If-None-Match": v1["identity"]})
    assert titles(identity) == ["new title 1"]
    current = {c: await site.etag(**{"Accept-Encoding": c}) for c in ("identity", "gzip", "br")}
    for coding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        # The held version's ETag may be of any coding; the response is in the chosen one.
        for held in v1.values():
            status, headers, body = await site.get(
                **{"A-IM": "feed", "If-None-Match": held, "Accept-Encoding": coding}
            )
            assert status == 226
            assert headers["Content-Encoding"] == coding
            assert headers["ETag"] == current[coding]
            assert decode(body) == identity


async def test_two_web_processes_give_identical_deltas(site):
    etags = await four_versions(site)
    answers = []
    for server in (0, 1):
        status, headers, body = await site.get(
            server=server, **{"A-IM": "feed", "If-None-Match": etags[2], "Accept-Encoding": "gzip"}
        )
        assert status == 226
        answers.append((headers["ETag"], headers["Last-Modified"], body))
    assert answers[0] == answers[1]
    caches = [s.app[DELTA_CACHE] for s in site.servers]
    assert [c.stats.puts for c in caches] == [1, 1]  # each process cut it itself
    # Asked again, a process serves the delta it already cut (no render per request).
    again = await site.get(server=0, **{"A-IM": "feed", "If-None-Match": etags[2], "Accept-Encoding": "gzip"})
    assert again[2] == answers[0][2]
    assert caches[0].stats.puts == 1 and caches[0].stats.hits >= 1
    # HEAD: the delta's headers without its body.
    status, headers, body = await site.get(
        server=1, method="HEAD", **{"A-IM": "feed", "If-None-Match": etags[2]}
    )
    assert status == 226 and body == b"" and headers["IM"] == "feed"


async def test_manifests_are_idempotent_and_trimmed_under_concurrent_publishers(redis, prefix, monkeypatch):
    from syndicator.store.keys import Keys

    monkeypatch.setattr(manifests, "KEEP_VERSIONS", 3)
    keys = Keys(prefix)

    def manifest(version: int) -> Manifest:
        item = ManifestItem(f"urn:uuid:{version:032x}", "2026-01-01T00:00:00Z", f"{version:016x}")
        return Manifest(version, (item,), {"rss": f"v{version}-rss-{version:012x}"})

    await asyncio.gather(*(save_manifest(redis, keys, "c", manifest(v)) for v in range(1, 11)))
    assert await kept_versions(redis, keys, "c") == [10, 9, 8]
    before = await redis.hgetall(keys.manifests("c"))
    await save_manifest(redis, keys, "c", manifest(10))  # a retried publish job
    await save_manifest(redis, keys, "c", manifest(2))  # a slow publisher's old version
    assert await redis.hgetall(keys.manifests("c")) == before


def test_a_im_parsing():
    assert accepts_feed_im("feed")
    assert accepts_feed_im("vcdiff, Feed ; q=0.3")
    assert not accepts_feed_im("feed;q=0")
    assert not accepts_feed_im("feeds, vcdiff")
    assert not accepts_feed_im(None)


def test_cut_delta_keeps_everything_but_the_dropped_items():
    body = (
        b"<?xml version='1.0' encoding='UTF-8'?>\n<rss version=\"2.0\"><!-- <item> -->\n"
        b'<channel><title a="x>y">T</title>\n'
        b"  <item><guid>a</guid><description><![CDATA[</item><item>]]></description></item>\n"
        b'  <item><guid>b</guid><enclosure url="u" length="1" type="t"/></item>\n'
        b"</channel></rss>\n"
    )
    assert cut_delta("rss", body, {"a", "b"}) == body
    only_b = cut_delta("rss", body, {"b"})
    assert only_b == body.replace(
        b"\n  <item><guid>a</guid><description><![CDATA[</item><item>]]></description></item>", b""
    )
    assert [entry.id for entry in feedparser.parse(only_b).entries] == ["b"]
    assert b"<item>" not in cut_delta("rss", body, set()).split(b"-->")[1]
