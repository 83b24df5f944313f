"""GET/HEAD /feeds/{slug}.{rss|atom|json}: published bytes with validators, or a 304.

The handler only reads what publish stored: validators first (a 304 never loads a body),
then the one body in the chosen content coding.
"""

from __future__ import annotations

from aiohttp import web

from syndicator.publish import ttl_minutes
from syndicator.render import feed_url
from syndicator.runtime import Runtime
from syndicator.store.feeds import StoredFeed, load_feed
from syndicator.web.negotiation import choose_coding, not_modified

RUNTIME = web.AppKey("runtime", Runtime)
EXTENSIONS = {"rss": "rss", "atom": "atom", "json": "json"}


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain")


def _common_headers(feed: StoredFeed, coding: str, self_url: str, ttl_seconds: int) -> dict[str, str]:
    return {
        "ETag": feed.etag(coding),
        "Last-Modified": feed.last_modified_http,
        "Cache-Control": f"public, max-age={ttl_seconds}",
        "Vary": "Accept-Encoding",
        "Link": f'<{self_url}>; rel="self"',
    }


async def serve_feed(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    name = request.match_info["name"]
    slug, dot, ext = name.rpartition(".")
    if not dot or ext not in EXTENSIONS:
        return _error(404, f"unknown feed format {ext!r} in {name!r}: use .rss, .atom or .json")
    if slug not in runtime.config.categories:
        known = ", ".join(sorted(runtime.config.categories))
        return _error(404, f"no category {slug!r}; categories: {known}")

    coding = choose_coding(request.headers.get("Accept-Encoding"))
    meta = await load_feed(runtime.redis, runtime.keys, slug, ext, None)
    if meta is None:
        response = _error(503, f"feed {slug!r} is not published yet; try again shortly")
        response.headers["Retry-After"] = "5"
        return response

    self_url = feed_url(runtime.site_url, slug, ext)
    ttl = min(60 * ttl_minutes(runtime, slug), 3600)
    headers = _common_headers(meta, coding, self_url, ttl)
    if not_modified(
        if_none_match=request.headers.get("If-None-Match"),
        if_modified_since=request.headers.get("If-Modified-Since"),
        etag=meta.etag(coding),
        last_modified=meta.last_modified,
    ):
        return web.Response(status=304, headers=headers)

    feed = await load_feed(runtime.redis, runtime.keys, slug, ext, coding)
    if feed is None or feed.version != meta.version:
        feed = feed or meta  # a publish landed between the reads: serve the newer, consistently
    headers = _common_headers(feed, coding, self_url, ttl)
    if coding != "identity":
        headers["Content-Encoding"] = coding
    if ext == "json":
        headers["Access-Control-Allow-Origin"] = "*"
    headers["Content-Type"] = feed.media_type
    # aiohttp sends the headers of this body but not the body itself for HEAD.
    return web.Response(status=200, headers=headers, body=feed.bodies.get(coding, b""))
