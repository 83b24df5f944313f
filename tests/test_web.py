"""Serving over real HTTP: validators, 304s, content codings, HEAD, errors, index, health."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import brotli
import feedparser
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from lxml import html as lxml_html

from syndicator.ingest import ingest_source
from syndicator.runtime import Runtime
from syndicator.web.app import create_app
from syndicator.web.feeds import HOT, RUNTIME
from tests.builders import items, one_feed_config, rss


@pytest.fixture
async def served(
    tmp_path, upstream, redis, redis_url, prefix
) -> AsyncIterator[tuple[TestServer, ClientSession]]:
    upstream.put("/feed.rss", rss(items("web", 5)), "application/rss+xml")
    config = one_feed_config(
        tmp_path,
        upstream,
        redis_url=redis_url,
        prefix=prefix,
        path="/feed.rss",
        source_id="web",
        slug="tech/python",
        title="Python",
        poll_interval="10m",
    )
    runtime = Runtime.open(config, redis_url)
    await ingest_source(runtime, "web")
    server = TestServer(create_app(runtime))
    await server.start_server()
    # auto_decompress off: the test sees exactly the bytes and headers a client receives.
    async with ClientSession(auto_decompress=False) as http:
        yield server, http
    await server.close()
    await runtime.close()


async def get(served, path: str, **headers: str):
    server, http = served
    headers = {"Accept-Encoding": "identity", **headers}
    async with http.get(server.make_url(path), headers=headers) as resp:
        return resp.status, resp.headers.copy(), await resp.read()


async def test_feed_headers_and_media_types(served):
    for ext, media_type in (
        ("rss", "application/rss+xml"),
        ("atom", "application/atom+xml"),
        ("json", "application/feed+json"),
    ):
        status, headers, body = await get(served, f"/feeds/tech/python.{ext}")
        assert status == 200
        assert headers["Content-Type"].startswith(media_type)
        assert headers["ETag"].startswith('"') and headers["Last-Modified"].endswith("GMT")
        assert headers["Cache-Control"] == "public, max-age=600"
        assert headers["Vary"] == "Accept-Encoding"
        assert headers["Link"] == (
            f'<http://feeds.test/hub>; rel="hub", <http://feeds.test/feeds/tech/python.{ext}>; rel="self"'
        )
        assert ("Access-Control-Allow-Origin" in headers) == (ext == "json")
        assert len(body) == int(headers["Content-Length"])


async def test_parent_category_serves_child_items(served):
    _, _, body = await get(served, "/feeds/tech.atom")
    assert [e.title for e in feedparser.parse(body).entries] == [f"web title {i}" for i in range(5)]


async def test_conditional_requests(served):
    _, headers, _ = await get(served, "/feeds/tech/python.rss")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    cases = [
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": f'"other", W/{etag}'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": modified}, 304),
        ({"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 200),
        ({"If-None-Match": '"other"', "If-Modified-Since": modified}, 200),  # INM decides
    ]
    for request_headers, expected in cases:
        status, response_headers, body = await get(
            served, "/feeds/tech/python.rss", **{"Accept-Encoding": "identity", **request_headers}
        )
        assert status == expected, request_headers
        if status == 304:
            assert body == b""
            for name in ("ETag", "Cache-Control", "Vary", "Date"):
                assert name in response_headers, name
            assert response_headers["ETag"] == etag


async def test_content_codings_each_with_their_own_etag(served):
    _, plain_headers, plain = await get(served, "/feeds/tech/python.atom")
    _, gz_headers, gz = await get(served, "/feeds/tech/python.atom", **{"Accept-Encoding": "gzip"})
    _, br_headers, br = await get(served, "/feeds/tech/python.atom", **{"Accept-Encoding": "gzip;q=0.5, br"})
    assert gz_headers["Content-Encoding"] == "gzip" and gzip.decompress(gz) == plain
    assert br_headers["Content-Encoding"] == "br" and brotli.decompress(br) == plain
    assert len({plain_headers["ETag"], gz_headers["ETag"], br_headers["ETag"]}) == 3
    # A gzip ETag does not validate the identity representation.
    status, _, _ = await get(
        served,
        "/feeds/tech/python.atom",
        **{"Accept-Encoding": "identity", "If-None-Match": gz_headers["ETag"]},
    )
    assert status == 200


async def test_head_sends_headers_without_body(served):
    server, http = served
    async with http.head(server.make_url("/feeds/tech/python.json")) as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) > 0
        assert await resp.read() == b""


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/feeds/nope.rss", "no category 'nope'"),
        ("/feeds/tech/python.xml", "unknown feed format 'xml'"),
        ("/feeds/tech", "unknown feed format"),
    ],
)
async def test_unknown_feeds_are_404_with_a_reason(served, path, message):
    status, _, body = await get(served, path)
    assert status == 404
    assert message in body.decode()
    assert "Traceback" not in body.decode()


async def test_index_lists_every_category_with_autodiscovery(served):
    status, headers, body = await get(served, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = lxml_html.fromstring(body)
    alternates = page.xpath("//link[@rel='alternate']/@href")
    for slug in ("all", "tech", "tech/python"):
        for ext in ("rss", "atom", "json"):
            assert f"http://feeds.test/feeds/{slug}.{ext}" in alternates
    assert len(page.xpath("//a[contains(@href, '/feeds/')]")) == 9


async def test_index_says_which_opml_to_import(served):
    _, _, body = await get(served, "/")
    page = lxml_html.fromstring(body)
    assert page.xpath("//link[@rel='outline']/@href") == ["http://feeds.test/opml.xml"]
    (note,) = page.xpath("//p[a[contains(@href, 'opml.xml')]]")
    assert [(a.get("href"), a.text_content()) for a in note.xpath("a")] == [
        ("http://feeds.test/opml.xml", "OPML"),
        ("http://feeds.test/opml.xml?all=1", "Every feed (OPML)"),
    ]
    text = " ".join(note.text_content().split())
    assert "in a feed reader" in text and "stores each article once per category" in text
    assert "?own=1" in text and "all and each parent with its children's articles" in text


async def test_healthz_says_alive_and_readyz_says_ready(served):
    status, _, body = await get(served, "/healthz")
    assert status == 200 and json.loads(body) == {"status": "alive"}
    status, _, body = await get(served, "/readyz")
    ready = json.loads(body)
    assert status == 200 and ready["status"] == "ready" and ready["redis"] == "ok"


async def test_no_request_runs_through_a_middleware_chain(served):
    """Feed requests are the hot path (issue 16): aiohttp runs every request of an app
    through a chain of wrapper calls once the app or any of its sub-applications has
    middleware, so none has any; each handler is wrapped when it is added (web/errors.py)."""
    server, _ = served
    subapps = [info["app"] for r in server.app.router.resources() if "app" in (info := r.get_info())]
    assert subapps, "the admin API is a sub-application"
    assert [list(app.middlewares) for app in (server.app, *subapps)] == [[] for _ in range(1 + len(subapps))]


REPEATED = [
    ("GET", "/feeds/tech/python.rss", {}),
    ("GET", "/feeds/tech/python.atom", {"Accept-Encoding": "gzip"}),
    ("GET", "/feeds/tech/python.json", {"Accept-Encoding": "gzip;q=0.5, br"}),
    ("GET", "/feeds/tech.rss", {"Accept-Encoding": "gzip, deflate, br"}),
    ("HEAD", "/feeds/tech/python.rss", {"Accept-Encoding": "gzip"}),
    ("GET", "/feeds/tech/python.rss", {"If-None-Match": "*"}),
    ("GET", "/feeds/tech/python.rss", {"If-None-Match": '"other"'}),
    ("GET", "/feeds/tech/python.rss", {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}),
]


async def test_a_repeated_request_is_answered_from_its_held_target_exactly_as_the_first(served):
    """The second request for a plain feed URL with the same Accept-Encoding is answered by
    `feeds.held_answer` (one look-up of what the first worked out): status, headers and
    bytes must be the first answer's, conditional requests included."""
    server, http = served
    for method, path, extra in REPEATED:
        answers = []
        for _ in range(2):
            headers = {"Accept-Encoding": "identity", **extra}
            async with http.request(method, server.make_url(path), headers=headers) as resp:
                sent = {k: v for k, v in resp.headers.items() if k != "Date"}
                answers.append((resp.status, sent, await resp.read()))
        assert answers[0] == answers[1], (method, path, extra)
        name = path.removeprefix("/feeds/")
        assert (name, {"Accept-Encoding": "identity", **extra}["Accept-Encoding"]) in server.app[HOT].targets
    # A conditional request answered from the held target: the 304 of that coding's ETag.
    _, gz_headers, _ = await get(served, "/feeds/tech/python.atom", **{"Accept-Encoding": "gzip"})
    status, _, body = await get(
        served, "/feeds/tech/python.atom", **{"Accept-Encoding": "gzip", "If-None-Match": gz_headers["ETag"]}
    )
    assert (status, body) == (304, b"")


async def test_configured_feeds_are_plain_routes_answering_as_the_pattern_does(served):
    """Each configured category's feed URLs are plain routes (a dict look-up in aiohttp's
    router, no regex: issue 16); the same feed named through the pattern route (here by a
    percent-encoded `/`) gets the same answers, first and repeated, and a method other
    than GET and HEAD is a 405 on both."""
    server, http = served
    paths = {info.get("path") for info in (r.get_info() for r in server.app.router.resources())}
    for name in ("tech/python", "tech", "all"):
        assert {f"/feeds/{name}.{ext}" for ext in ("rss", "atom", "json")} <= paths, name
    assert "/feeds/tech%2Fpython.rss" not in paths
    for method, extra in (
        ("GET", {}),
        ("GET", {"Accept-Encoding": "gzip"}),
        ("HEAD", {}),
        ("GET", {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}),
    ):
        answers = []
        for path in ("/feeds/tech/python.rss", "/feeds/tech%2Fpython.rss") * 2:
            headers = {"Accept-Encoding": "identity", **extra}
            async with http.request(method, server.make_url(path), headers=headers) as resp:
                sent = {k: v for k, v in resp.headers.items() if k != "Date"}
                answers.append((resp.status, sent, await resp.read()))
        assert answers[0][0] == 200 and answers.count(answers[0]) == 4, (method, extra)
    etag = (await get(served, "/feeds/tech/python.rss"))[1]["ETag"]
    for path in ("/feeds/tech/python.rss", "/feeds/tech%2Fpython.rss"):
        assert (await get(served, path, **{"If-None-Match": etag}))[::2] == (304, b"")
        async with http.post(server.make_url(path)) as resp:
            assert (resp.status, resp.headers["Allow"]) == (405, "GET,HEAD"), path


async def test_a_category_a_reload_adds_is_served_and_held_through_the_pattern_route(
    served, tmp_path, upstream, redis_url, prefix
):
    """Routes are made once, with the app: a category a reload adds has no plain route;
    the pattern route serves its feed, and its repeated requests from the held target."""
    server, _http = served
    runtime = server.app[RUNTIME]
    upstream.put("/news.rss", rss(items("news", 3)), "application/rss+xml")
    (tmp_path / "reloaded").mkdir()
    runtime.config = one_feed_config(
        tmp_path / "reloaded",
        upstream,
        redis_url=redis_url,
        prefix=prefix,
        path="/news.rss",
        source_id="news",
        slug="news",
    )
    await ingest_source(runtime, "news")
    first, again = [await get(served, "/feeds/news.atom") for _ in range(2)]
    assert first[0] == 200 and b"news title 2" in first[2]
    assert (first[0], first[2], first[1]["ETag"]) == (again[0], again[2], again[1]["ETag"])
    assert ("news.atom", "identity") in server.app[HOT].targets
    assert "/feeds/news.atom" not in {r.get_info().get("path") for r in server.app.router.resources()}


async def test_a_held_target_is_not_used_after_the_configuration_changes(
    served, tmp_path, upstream, redis_url, prefix
):
    """A reload replaces the configuration: a URL answered before must be judged again
    under the new one (here its category is gone: 410), never from the held target."""
    server, _http = served
    assert (await get(served, "/feeds/tech/python.rss"))[0] == 200
    assert (await get(served, "/feeds/tech/python.rss"))[0] == 200  # from the held target
    runtime = server.app[RUNTIME]
    (tmp_path / "reloaded").mkdir()
    runtime.config = one_feed_config(
        tmp_path / "reloaded", upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss", slug="news"
    )
    status, _, body = await get(served, "/feeds/tech/python.rss")
    assert status == 410 and b"category 'tech/python' was removed from the configuration" in body
