"""Filtered and combined feeds over real HTTP: ?limit ?since ?q ?tag ?own, a+b, 304s, the cache."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

import feedparser
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from syndicator.ingest import ingest_source
from syndicator.publish import render_category
from syndicator.runtime import Runtime
from syndicator.store.feeds import save_version
from syndicator.web.app import create_app
from syndicator.web.variants import RENDER_THREADS, VARIANTS
from tests.builders import BASE_TIME, write_config
from tests.harness import serving
from tests.upstream import Upstream

SITE = "http://feeds.test/"
HUB_LINK = f'<{SITE}hub>; rel="hub", '  # WebSub discovery, before rel="self"


@dataclass(frozen=True)
class Entry:
    guid: str
    title: str
    hours_ago: float
    body: str = "<p>nothing special</p>"
    tags: tuple[str, ...] = ()
    link: str = ""


def rss_with_tags(entries: list[Entry]) -> bytes:
    items = "".join(
        f'<item><guid isPermaLink="false">{escape(e.guid)}</guid><title>{escape(e.title)}</title>'
        f"<link>{escape(e.link or f'https://up.example/{e.guid}')}</link>"
        f"<pubDate>{format_datetime(BASE_TIME - timedelta(hours=e.hours_ago))}</pubDate>"
        f"<description>{escape(e.body)}</description>"
        + "".join(f"<category>{escape(t)}</category>" for t in e.tags)
        + "</item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Up</title>'
        f"<link>https://up.example/</link><description>test</description>{items}</channel></rss>"
    ).encode()


SHARED_LINK = "https://shared.example/story"
TECH = [
    Entry("t0", "Rust 1.80 released", 0, "<p>The Rust team announces…</p>", ("Programming/Rust",)),
    Entry("t1", "关于陆海新通道技术的报道", 1, "<p>中文内容</p>", ("物流",)),
    Entry("t2", "Trust and safety", 2, "<p>A policy update</p>", ("Policy",)),
    Entry("t3", "Python tips", 3, "<p>Use pathlib</p>", ("programming/python",)),
    Entry("t4", "Shared story", 4, link=SHARED_LINK),
    Entry("t5", "日本語のニュース", 5, "<p>東京で発表</p>"),
    Entry("t6", "한국어 기사", 6, "<p>서울 뉴스</p>"),
]
WORLD = [
    Entry("w0", "World rust belt", 0.5),
    Entry("w1", "Shared story", 4, link=SHARED_LINK),
    Entry("w2", "Old world", 48),
]


@dataclass
class Site:
    server: TestServer
    http: ClientSession
    runtime: Runtime
    upstream: object

    async def get(self, path: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
        headers = {"Accept-Encoding": "identity", **headers}
        async with self.http.get(self.server.make_url(path), headers=headers) as resp:
            return resp.status, resp.headers.copy(), await resp.read()

    async def titles(self, path: str) -> list[str]:
        status, _, body = await self.get(path)
        assert status == 200, (path, body)
        return [e.title for e in feedparser.parse(body).entries]

    @property
    def renders(self) -> int:
        return self.server.app[VARIANTS].renders


@contextlib.asynccontextmanager
async def served(
    config, redis_url: str, upstream: Upstream, source_ids: tuple[str, ...]
) -> AsyncIterator[Site]:
    """The sources ingested into a real store and the app serving them on loopback."""
    async with (
        serving(config, redis_url, source_ids) as (runtime, server),
        ClientSession(auto_decompress=False) as http,
    ):
        yield Site(server, http, runtime, upstream)


@pytest.fixture
async def site(tmp_path, upstream, redis, redis_url, prefix) -> AsyncIterator[Site]:
    upstream.put("/tech.rss", rss_with_tags(TECH), "application/rss+xml")
    upstream.put("/world.rss", rss_with_tags(WORLD), "application/rss+xml")
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[
            {"slug": "tech", "title": "Tech", "items_per_feed": 5},
            {"slug": "world", "title": "World", "language": "fr"},
        ],
        sources=[
            {
                "id": src,
                "url": upstream.url(f"/{src}.rss"),
                "categories": [src],
                "allow_private_network": True,
                "poll_interval": poll,
            }
            for src, poll in (("tech", "10m"), ("world", "30m"))
        ],
    )
    async with served(config, redis_url, upstream, ("tech", "world")) as site:
        yield site


async def test_limit_cuts_newest_first_and_defaults_to_items_per_feed(site):
    assert await site.titles("/feeds/tech.rss?limit=2") == ["Rust 1.80 released", "关于陆海新通道技术的报道"]
    # Any filter without limit: the category's items_per_feed (5), like the plain feed.
    assert len(await site.titles("/feeds/tech.rss?since=2000-01-01")) == 5
    assert len(await site.titles("/feeds/tech.rss?limit=500")) == 7


@pytest.mark.parametrize(
    "since",
    [
        "2026-11-20T05:30:00Z",
        "2026-11-20T13:30:00%2B08:00",
        "2026-11-20T13:30:00+08:00",  # an unencoded + arrives as a space: still +08:00
        "2026-11-20t05:30:00.000z",
        str(int((BASE_TIME - timedelta(hours=2, minutes=30)).timestamp())),
    ],
)
async def test_since_in_each_form_selects_the_same_items(site, since):
    titles = await site.titles(f"/feeds/tech.rss?since={since}")
    assert titles == ["Rust 1.80 released", "关于陆海新通道技术的报道", "Trust and safety"]


async def test_since_date_is_midnight_utc_and_equal_instants_share_one_render(site):
    before = site.renders
    status, h1, b1 = await site.get("/feeds/tech.atom?since=2026-11-20&limit=50")
    assert status == 200, b1
    _, h2, b2 = await site.get("/feeds/tech.atom?limit=50&since=2026-11-20T00:00:00Z")
    _, h3, _ = await site.get(f"/feeds/tech.atom?since={int(BASE_TIME.timestamp()) - 8 * 3600}&limit=50")
    assert len(feedparser.parse(b1).entries) == 7  # 02:00 UTC onwards, all of today
    assert h1["ETag"] == h2["ETag"] == h3["ETag"] and b1 == b2
    assert site.renders == before + 1
    assert len(await site.titles("/feeds/tech.rss?since=2026-11-21")) == 0  # the future is fine


async def test_q_latin_terms_match_whole_words_and_are_anded(site):
    assert await site.titles("/feeds/tech.rss?q=rust") == ["Rust 1.80 released"]  # not "Trust"
    assert await site.titles("/feeds/tech.rss?q=RUST%20%20Released") == ["Rust 1.80 released"]
    assert await site.titles("/feeds/tech.rss?q=rust+python") == []
    assert await site.titles("/feeds/tech.rss?q=pathlib") == ["Python tips"]  # body text
    assert await site.titles("/feeds/tech.rss?q=%EF%BC%B2%EF%BC%B5%EF%BC%B3%EF%BC%B4") == [
        "Rust 1.80 released"  # full-width ＲＵＳＴ
    ]
    _, lower, _ = await site.get("/feeds/tech.rss?q=rust")
    _, upper, _ = await site.get("/feeds/tech.rss?q=%20RUST%20")
    assert lower["ETag"] == upper["ETag"]


@pytest.mark.parametrize(
    ("q", "title"),
    [
        ("陆海新通道", "关于陆海新通道技术的报道"),
        ("新通道技术", "关于陆海新通道技术的报道"),
        ("中文", "关于陆海新通道技术的报道"),
        ("東京", "日本語のニュース"),
        ("ニュース", "日本語のニュース"),
        ("서울", "한국어 기사"),
    ],
)
async def test_q_cjk_terms_match_as_substrings(site, q, title):
    assert await site.titles(f"/feeds/tech.rss?q={quote(q)}") == [title]


async def test_exclude_leaves_out_articles_with_any_of_its_words(site):
    everything = await site.titles("/feeds/tech.rss?limit=50")
    assert len(everything) == 7
    # rust OR 中文 (a substring, as in q); "Trust and safety" stays: rust is a whole word.
    left = await site.titles(f"/feeds/tech.rss?limit=50&exclude={quote('Rust 中文')}")
    assert left == [t for t in everything if t not in ("Rust 1.80 released", "关于陆海新通道技术的报道")]
    assert await site.titles("/feeds/tech.rss?limit=50&exclude=pathlib") == [
        t
        for t in everything
        if t != "Python tips"  # body text, as q looks there
    ]
    assert await site.titles("/feeds/tech.rss?q=rust&exclude=released") == []
    for fmt in ("atom", "json"):
        status, _, body = await site.get(f"/feeds/tech+world.{fmt}?exclude=rust")
        assert status == 200 and b"Rust 1.80" not in body and b"World rust belt" not in body
    _, lower, _ = await site.get("/feeds/tech.rss?exclude=rust")
    _, upper, _ = await site.get("/feeds/tech.rss?exclude=%20RUST")
    assert lower["ETag"] == upper["ETag"]


async def test_exclude_is_never_a_regular_expression(site):
    everything = await site.titles("/feeds/tech.rss?limit=50")
    assert await site.titles(f"/feeds/tech.rss?limit=50&exclude={quote('(a+)+$ .*')}") == everything


async def test_tag_is_case_insensitive_ored_and_matches_child_slugs(site):
    assert await site.titles("/feeds/tech.rss?tag=programming") == ["Rust 1.80 released", "Python tips"]
    assert await site.titles("/feeds/tech.rss?tag=PROGRAMMING/rust") == ["Rust 1.80 released"]
    assert await site.titles("/feeds/tech.rss?tag=policy&tag=%E7%89%A9%E6%B5%81") == [
        "关于陆海新通道技术的报道",
        "Trust and safety",
    ]
    _, a, _ = await site.get("/feeds/tech.rss?tag=Policy&tag=programming")
    _, b, _ = await site.get("/feeds/tech.rss?tag=programming&tag=policy")
    assert a["ETag"] == b["ETag"]


async def test_parameters_combine(site):
    path = "/feeds/tech.rss?tag=programming&q=rust&since=2026-11-20T07:00:00Z&limit=1"
    assert await site.titles(path) == ["Rust 1.80 released"]
    assert await site.titles("/feeds/tech.rss?tag=programming&since=2026-11-20T07:00:00Z") == [
        "Rust 1.80 released"
    ]


async def test_combined_feed_dedupes_orders_and_labels(site):
    status, headers, body = await site.get("/feeds/tech+world.rss?limit=50")
    assert status == 200
    parsed = feedparser.parse(body)
    titles = [e.title for e in parsed.entries]
    assert titles[:2] == ["Rust 1.80 released", "World rust belt"]
    assert titles.count("Shared story") == 1 and len(titles) == 9
    assert parsed.feed.title == "Tech + World"
    assert parsed.feed.language == "en"  # the first category's
    self_url = "http://feeds.test/feeds/tech+world.rss?limit=50"
    assert headers["Link"] == f'{HUB_LINK}<{self_url}>; rel="self"'
    assert [link.href for link in parsed.feed.links if link.rel == "self"] == [self_url]
    # Without a query: the largest items_per_feed of the two (World's default 50).
    assert len(await site.titles("/feeds/tech+world.atom")) == 9
    assert await site.titles("/feeds/world+tech.rss?q=rust") == ["Rust 1.80 released", "World rust belt"]


async def test_json_variant_feed_url_is_the_normalised_request_url(site):
    status, headers, body = await site.get("/feeds/tech.json?tag=Policy&q=%20Trust&limit=3")
    doc = json.loads(body)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert doc["feed_url"] == "http://feeds.test/feeds/tech.json?limit=3&q=trust&tag=policy"
    assert [i["title"] for i in doc["items"]] == ["Trust and safety"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=abc", "limit: must be an integer from 1 to 500, got 'abc'"),
        ("limit=0", "limit: must be an integer from 1 to 500, got '0'"),
        ("limit=501", "limit: must be an integer from 1 to 500"),
        ("limit=%EF%BC%95", "limit: write numbers in ASCII digits 0-9, got '５'"),  # full-width 5
        ("limit=5&limit=6", "limit: given 2 times"),
        ("limt=5", "limt: unknown parameter 'limt'"),
        ("_=123&x=1", "unknown parameters '_', 'x'"),
        ("since=yesterday", "since: expected RFC 3339"),
        ("since=2026-11-20T08:00:00", "since: '2026-11-20T08:00:00' has no time zone"),
        ("since=2026-02-30", "since: not a valid date or time"),
        ("q=", "q: must contain at least one search term"),
        ("q=" + "a" * 201, "q: at most 200 characters, got 201"),
        ("tag=", "tag: must not be empty"),
        (
            "own=2",
            "own: must be 1 (only articles filed directly under the category, not its children), got '2'",
        ),
        ("own=1&own=1", "own: given 2 times"),
        ("exclude=", "exclude: must contain at least one word to exclude"),
        ("exclude=%20%20", "exclude: must contain at least one word to exclude"),
        ("exclude=" + "a" * 201, "exclude: at most 200 characters, got 201"),
        ("exclude=a&exclude=b", "exclude: given 2 times"),
    ],
)
async def test_bad_parameters_are_400_naming_the_parameter(site, query, message):
    for path in (f"/feeds/tech.rss?{query}", f"/feeds/tech+world.atom?{query}"):
        status, headers, body = await site.get(path)
        assert status == 400, path
        assert headers["Content-Type"].startswith("text/plain")
        assert message in body.decode(), body


async def test_unknown_category_in_a_combination_is_404(site):
    status, _, body = await site.get("/feeds/tech+nope.rss")
    assert status == 404 and "no category 'nope'" in body.decode()


async def test_filtered_feed_304_by_etag_and_date_without_rendering(site):
    path = "/feeds/tech+world.rss?q=rust"
    status, headers, body = await site.get(path)
    assert status == 200
    renders = site.renders
    status, h304, b304 = await site.get(path, **{"If-None-Match": headers["ETag"]})
    assert (status, b304, h304["ETag"]) == (304, b"", headers["ETag"])
    assert h304["Cache-Control"] == headers["Cache-Control"] and h304["Vary"] == "Accept-Encoding"
    status, _, _ = await site.get(path, **{"If-Modified-Since": headers["Last-Modified"]})
    assert status == 304
    status, _, again = await site.get(path, **{"If-None-Match": '"other"'})
    assert status == 200 and again == body
    assert site.renders == renders  # neither the 304s nor the repeat rendered
    # The gzip representation has its own ETag and decodes to the same document.
    _, gz_headers, gz = await site.get(path, **{"Accept-Encoding": "gzip"})
    assert gz_headers["ETag"] != headers["ETag"] and gzip.decompress(gz) == body
    status, _, _ = await site.get(path, **{"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]})
    assert status == 200


async def test_validators_and_ttl_come_from_the_involved_feeds(site):
    # A later World version (as a publish an hour from now would store it).
    rendered, ttl = await render_category(site.runtime, "world")
    later = datetime.now(UTC) + timedelta(hours=1)
    await save_version(
        site.runtime.redis,
        site.runtime.keys,
        "world",
        rendered,
        ttl_minutes=ttl,
        now=later,
        base_url=site.runtime.site_url,
    )
    _, tech, _ = await site.get("/feeds/tech.rss")
    _, world, _ = await site.get("/feeds/world.rss")
    _, both, _ = await site.get("/feeds/tech+world.rss?limit=3")
    assert parsedate_to_datetime(world["Last-Modified"]) > parsedate_to_datetime(tech["Last-Modified"])
    assert both["Last-Modified"] == world["Last-Modified"]
    # TTLs: Tech polls every 10 minutes, World every 30: the combination keeps the shorter.
    assert (tech["Cache-Control"], world["Cache-Control"]) == ("public, max-age=600", "public, max-age=1800")
    assert both["Cache-Control"] == "public, max-age=600"
    assert both["ETag"] not in (tech["ETag"], world["ETag"])


async def test_concurrent_requests_for_one_variant_render_it_once(site):
    before = site.renders
    results = await asyncio.gather(*(site.get("/feeds/tech+world.json?q=shared") for _ in range(6)))
    assert {r[0] for r in results} == {200}
    assert len({r[1]["ETag"] for r in results}) == 1 and len({r[2] for r in results}) == 1
    assert site.renders == before + 1
    stats = site.server.app[VARIANTS].cache.stats
    assert stats.puts >= 1


async def test_head_on_a_variant_sends_headers_only(site):
    async with site.http.head(site.server.make_url("/feeds/tech.atom?q=rust")) as resp:
        assert resp.status == 200 and int(resp.headers["Content-Length"]) > 0
        assert await resp.read() == b""


async def test_a_new_publish_changes_the_filtered_feed(site):
    path = "/feeds/tech.rss?q=rust"
    _, old_headers, _ = await site.get(path)
    renders = site.renders
    site.upstream.put(
        "/tech.rss",
        rss_with_tags([Entry("t-new", "Rust 2.0 announced", -1, "<p>big</p>"), *TECH]),
        "application/rss+xml",
    )
    await ingest_source(site.runtime, "tech")
    status, headers, body = await site.get(path, **{"If-None-Match": old_headers["ETag"]})
    assert status == 200 and headers["ETag"] != old_headers["ETag"]
    assert [e.title for e in feedparser.parse(body).entries] == ["Rust 2.0 announced", "Rust 1.80 released"]
    assert site.renders == renders + 1


async def test_an_edit_older_than_the_plain_feed_still_reaches_the_filtered_feed(site):
    """t6 is not in the plain feed (items_per_feed 5), so editing it makes no new version;
    the filtered feed must still show the edit, under a new ETag."""
    path = "/feeds/tech.rss?q=seoul"
    _, before, body = await site.get(path)
    assert feedparser.parse(body).entries == []
    edited = [*TECH[:6], Entry("t6", "한국어 기사", 6, "<p>서울 뉴스 (Seoul)</p>")]
    site.upstream.put("/tech.rss", rss_with_tags(edited), "application/rss+xml")
    _, plain_before, _ = await site.get("/feeds/tech.rss")
    await ingest_source(site.runtime, "tech")
    _, plain_after, _ = await site.get("/feeds/tech.rss")
    assert plain_after["ETag"] == plain_before["ETag"]
    status, after, body = await site.get(path)
    assert status == 200 and after["ETag"] != before["ETag"]
    assert [e.title for e in feedparser.parse(body).entries] == ["한국어 기사"]


async def test_two_web_processes_serve_identical_variants(site):
    other = TestServer(create_app(site.runtime))
    await other.start_server()
    try:
        path = "/feeds/world+tech.atom?tag=programming&q=rust"
        _, h1, b1 = await site.get(path)
        async with site.http.get(other.make_url(path), headers={"Accept-Encoding": "br"}) as resp:
            br_etag = resp.headers["ETag"]
        async with site.http.get(other.make_url(path), headers={"Accept-Encoding": "identity"}) as resp:
            h2, b2 = resp.headers, await resp.read()
        assert h1["ETag"] == h2["ETag"] and b1 == b2 and br_etag.endswith('-br"')
    finally:
        await other.close()


async def test_plain_feed_is_untouched_by_variants(site):
    status, headers, _ = await site.get("/feeds/tech.rss")
    assert status == 200 and headers["ETag"].startswith('"v')
    assert headers["Link"] == f'{HUB_LINK}<http://feeds.test/feeds/tech.rss>; rel="self"'


# ---------------------------------------------------------------- ?own=1: a parent's own articles

PARENT = [
    Entry("p0", "Filed under tech", 1),
    Entry("p1", "Also under tech", 3),
    Entry("s", "Shared", 5, link=SHARED_LINK),
]
CHILD = [
    Entry("c0", "Filed under python", 0),
    Entry("c1", "Python again", 2),
    Entry("s", "Shared", 5, link=SHARED_LINK),
]


@pytest.fixture
async def nested(tmp_path, upstream, redis, redis_url, prefix) -> AsyncIterator[Site]:
    """tech ← one source; tech/python ← another; one article (SHARED_LINK) from both."""
    upstream.put("/parent.rss", rss_with_tags(PARENT), "application/rss+xml")
    upstream.put("/child.rss", rss_with_tags(CHILD), "application/rss+xml")
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Tech"}, {"slug": "tech/python", "title": "Python"}],
        sources=[
            {
                "id": src,
                "url": upstream.url(f"/{src}.rss"),
                "categories": [slug],
                "allow_private_network": True,
            }
            for src, slug in (("parent", "tech"), ("child", "tech/python"))
        ],
    )
    async with served(config, redis_url, upstream, ("parent", "child")) as site:
        yield site


async def feed_titles(site: Site, path: str) -> tuple[str, list[str], str]:
    """(the document's title, its item titles, its self URL) in any of the three formats."""
    status, _, body = await site.get(path)
    assert status == 200, (path, body)
    if path.split("?")[0].endswith(".json"):
        doc = json.loads(body)
        return doc["title"], [i["title"] for i in doc["items"]], doc["feed_url"]
    parsed = feedparser.parse(body)
    (self_url,) = [link.href for link in parsed.feed.links if link.rel == "self"]
    return parsed.feed.title, [e.title for e in parsed.entries], self_url


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
async def test_own_keeps_only_the_articles_filed_directly_under_the_category(nested, fmt):
    _, everything, _ = await feed_titles(nested, f"/feeds/tech.{fmt}")
    assert everything == [
        "Filed under python",
        "Filed under tech",
        "Python again",
        "Also under tech",
        "Shared",
    ]

    title, own, self_url = await feed_titles(nested, f"/feeds/tech.{fmt}?own=1")
    assert own == ["Filed under tech", "Also under tech", "Shared"]  # Shared: filed under both
    assert title == "Tech (own articles only)"
    assert self_url == f"http://feeds.test/feeds/tech.{fmt}?own=1"

    # A leaf's own articles are its feed; `all` has none of its own here.
    assert (await feed_titles(nested, f"/feeds/tech/python.{fmt}?own=1"))[1] == [
        "Filed under python",
        "Python again",
        "Shared",
    ]
    assert (await feed_titles(nested, f"/feeds/all.{fmt}?own=1"))[1] == []
    # With other filters and in a combination (own articles of either category).
    _, limited, self_url = await feed_titles(nested, f"/feeds/tech.{fmt}?own=%201%20&limit=1")
    assert limited == ["Filed under tech"] and self_url == f"http://feeds.test/feeds/tech.{fmt}?limit=1&own=1"
    _, combined, _ = await feed_titles(nested, f"/feeds/tech+all.{fmt}?own=1&q=filed")
    assert combined == ["Filed under tech"]  # "Filed under python" is in tech and all, own in neither


async def test_own_variant_is_cached_with_its_own_etag_and_304(nested):
    status, plain, _ = await nested.get("/feeds/tech.atom")
    status, headers, body = await nested.get("/feeds/tech.atom?own=1")
    assert status == 200 and headers["ETag"] != plain["ETag"]
    assert headers["Link"] == f'{HUB_LINK}<http://feeds.test/feeds/tech.atom?own=1>; rel="self"'
    renders = nested.renders
    status, h304, b304 = await nested.get("/feeds/tech.atom?own=1", **{"If-None-Match": headers["ETag"]})
    assert (status, b304, h304["ETag"]) == (304, b"", headers["ETag"])
    _, again, same = await nested.get("/feeds/tech.atom?own=%201")  # the same query, normalised
    assert again["ETag"] == headers["ETag"] and same == body
    assert nested.renders == renders


async def test_a_burst_of_distinct_renders_uses_the_render_threads_only(site):
    """Renders run on RENDER_THREADS threads of their own, however many are asked at once:
    each thread that compresses keeps ~20 MB of malloc arena, so a thread per concurrent
    render grew the web process by a step at every new peak (issue 16, bench/soak.py)."""
    before = set(threading.enumerate())
    renders = site.renders
    results = await asyncio.gather(*(site.get(f"/feeds/tech+world.rss?q=word{n}") for n in range(8)))
    assert [r[0] for r in results] == [200] * 8
    assert site.renders == renders + 8
    started = [t.name for t in set(threading.enumerate()) - before]
    assert len(started) <= RENDER_THREADS
    assert all(name.startswith("variant-render") for name in started), started
