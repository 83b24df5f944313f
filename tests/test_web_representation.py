"""The one HTTP behaviour every feed URL shares (syndicator/web/representation.py).

Stored feeds, variants, deltas and archive pages all answer through `respond()`, so its
rules are checked here once, over a real loopback server serving fixed representations:
If-None-Match (weak comparison) decides over If-Modified-Since; a 304 repeats the headers
a cache needs (ETag, Cache-Control, Vary, Link, Last-Modified) and carries no body; only a
200 may turn into a 304; JSON feeds are readable cross-origin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from syndicator.web.representation import (
    Representation,
    Validators,
    error_response,
    respond,
    ttl_cache_control,
)

MODIFIED = datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC)
MODIFIED_HTTP = "Fri, 20 Nov 2026 08:00:00 GMT"
ETAG = '"v7-rss-0a1b2c3d4e5f"'
SELF = "http://feeds.test/feeds/tech.rss"


def representation(**changes: object) -> Representation:
    fields: dict[str, object] = dict(
        validators=Validators(ETAG, MODIFIED),
        media_type="application/rss+xml; charset=utf-8",
        coding="identity",
        self_url=SELF,
        cache_control=ttl_cache_control(30),
        body=b"<rss/>",
    )
    fields.update(changes)
    return Representation(**fields)  # type: ignore[arg-type]


SERVED = {
    "/rss": representation(),
    "/undated": representation(validators=Validators(ETAG, None)),
    "/json-gzip": representation(media_type="application/feed+json", coding="gzip", body=b"\x1f\x8b..."),
    "/delta": representation(status=226, headers={"IM": "feed"}),
}


async def handle(request: web.Request) -> web.Response:
    if request.path == "/error":
        return error_response(400, "limit: must be a whole number, not 'x'", Allow="GET, HEAD")
    return respond(request, SERVED[request.path])


@pytest.fixture
async def served() -> AsyncIterator[tuple[TestServer, ClientSession]]:
    app = web.Application()
    app.router.add_get("/{name:.*}", handle)
    server = TestServer(app)
    await server.start_server()
    async with ClientSession(auto_decompress=False) as http:
        yield server, http
    await server.close()


async def get(served, path: str, method: str = "GET", **headers: str):
    server, http = served
    async with http.request(method, server.make_url(path), headers=headers) as resp:
        return resp.status, resp.headers.copy(), await resp.read()


async def test_a_200_carries_every_validator_and_cache_header(served):
    status, headers, body = await get(served, "/rss")

    assert (status, body) == (200, b"<rss/>")
    assert headers["ETag"] == ETAG
    assert headers["Last-Modified"] == MODIFIED_HTTP
    assert headers["Cache-Control"] == "public, max-age=1800"
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Link"] == f'<{SELF}>; rel="self"'
    assert headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert "Content-Encoding" not in headers
    assert "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"If-None-Match": ETAG}, 304),
        ({"If-None-Match": f"W/{ETAG}"}, 304),  # weak comparison
        ({"If-None-Match": f'"v6-rss-000000000000", {ETAG}'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"v6-rss-000000000000"'}, 200),
        ({"If-Modified-Since": MODIFIED_HTTP}, 304),
        ({"If-Modified-Since": "Fri, 20 Nov 2026 07:59:59 GMT"}, 200),
        ({"If-Modified-Since": "not a date"}, 200),
        # If-None-Match decides; If-Modified-Since is then ignored (RFC 9110 §13.1.3) both ways.
        ({"If-None-Match": ETAG, "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 304),
        ({"If-None-Match": '"v6-rss-000000000000"', "If-Modified-Since": MODIFIED_HTTP}, 200),
    ],
)
async def test_conditional_get(served, conditions, expected):
    status, _, body = await get(served, "/rss", **conditions)

    assert status == expected
    assert body == (b"" if expected == 304 else b"<rss/>")


async def test_a_304_repeats_what_a_cache_needs_and_nothing_else(served):
    status, headers, body = await get(served, "/json-gzip", **{"If-None-Match": ETAG})

    assert (status, body) == (304, b"")
    assert headers["ETag"] == ETAG
    assert headers["Cache-Control"] == "public, max-age=1800"
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Last-Modified"] == MODIFIED_HTTP
    assert headers["Link"] == f'<{SELF}>; rel="self"'
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Encoding" not in headers


async def test_without_a_date_only_the_etag_can_give_a_304(served):
    by_date = await get(served, "/undated", **{"If-Modified-Since": "Fri, 20 Nov 2099 08:00:00 GMT"})
    by_etag = await get(served, "/undated", **{"If-None-Match": ETAG})

    assert by_date[0] == 200 and "Last-Modified" not in by_date[1]
    assert by_etag[0] == 304


async def test_only_a_200_becomes_a_304(served):
    status, headers, body = await get(served, "/delta", **{"If-None-Match": ETAG})

    assert (status, body) == (226, b"<rss/>")
    assert headers["IM"] == "feed"
    assert headers["ETag"] == ETAG


async def test_json_feeds_are_cross_origin_and_say_their_coding(served):
    status, headers, body = await get(served, "/json-gzip")

    assert (status, body) == (200, b"\x1f\x8b...")
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "application/feed+json"
    assert headers["Access-Control-Allow-Origin"] == "*"


async def test_head_sends_the_headers_of_the_body_without_it(served):
    status, headers, body = await get(served, "/rss", method="HEAD")

    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(len(b"<rss/>"))
    assert headers["ETag"] == ETAG


async def test_errors_are_one_plain_line(served):
    status, headers, body = await get(served, "/error")

    assert status == 400
    assert body == b"limit: must be a whole number, not 'x'\n"
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("minutes", "header"), [(1, "max-age=60"), (60, "max-age=3600"), (1440, "max-age=3600")]
)
def test_ttl_becomes_max_age_of_at_most_an_hour(minutes, header):
    assert ttl_cache_control(minutes) == f"public, {header}"
