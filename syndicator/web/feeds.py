"""GET/HEAD /feeds/{slug}.{rss|atom|json}: published bytes with validators, or a 304.

The plain feed only reads what publish stored, through the two-level cache (process
memory, invalidated by publish announcements ← Redis; see feedcache.py), so a 304 or an
unchanged 200 usually costs no Redis round trip. Variants (filters, combined categories,
deltas) are answered by their own modules through the same `respond`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from syndicator.errors import SyndicatorError
from syndicator.render import feed_url
from syndicator.runtime import Runtime
from syndicator.web.delta import serve_delta
from syndicator.web.feedcache import FeedCache
from syndicator.web.negotiation import choose_coding
from syndicator.web.representation import (
    Representation,
    Validators,
    error_response,
    respond,
)

RUNTIME = web.AppKey("runtime", Runtime)
FEED_CACHE = web.AppKey("feed_cache", FeedCache)
EXTENSIONS = ("rss", "atom", "json")
MAX_COMBINED = 10


class TargetError(SyndicatorError):
    """The path names no feed: unknown format or category. The message says which."""


@dataclass(frozen=True)
class FeedTarget:
    """What a feed path asks for: one or more categories (`a+b`) in one format."""

    slugs: tuple[str, ...]
    fmt: str

    @property
    def name(self) -> str:
        return "+".join(self.slugs)


def parse_target(runtime: Runtime, name: str) -> FeedTarget:
    slug_part, dot, ext = name.rpartition(".")
    if not dot or ext not in EXTENSIONS:
        raise TargetError(f"unknown feed format {ext!r} in {name!r}: use .rss, .atom or .json")
    slugs = tuple(dict.fromkeys(slug_part.split("+")))
    if len(slugs) > MAX_COMBINED:
        raise TargetError(f"at most {MAX_COMBINED} categories can be combined, got {len(slugs)}")
    for slug in slugs:
        if slug not in runtime.config.categories:
            known = ", ".join(sorted(runtime.config.categories))
            raise TargetError(f"no category {slug!r}; categories: {known}")
    return FeedTarget(slugs, ext)


def cache_control(ttl_minutes: int) -> str:
    """Shared caches and readers may keep a feed for its TTL (at most an hour)."""
    return f"public, max-age={min(60 * ttl_minutes, 3600)}"


async def serve_stored(request: web.Request, runtime: Runtime, slug: str, fmt: str) -> web.StreamResponse:
    """The plain, published feed of one category, from the two-level cache."""
    coding = choose_coding(request.headers.get("Accept-Encoding"))
    feed = await request.app[FEED_CACHE].get(slug, fmt)
    if feed is None:
        return error_response(
            503, f"feed {slug!r} is not published yet; try again shortly", **{"Retry-After": "5"}
        )
    return respond(
        request,
        Representation(
            validators=Validators(feed.etag(coding), feed.last_modified),
            media_type=feed.media_type,
            coding=coding,
            self_url=feed_url(runtime.site_url, slug, fmt),
            cache_control=cache_control(feed.ttl_minutes),
            body=feed.bodies.get(coding, b""),
        ),
    )


async def serve_feed(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    try:
        target = parse_target(runtime, request.match_info["name"])
    except TargetError as exc:
        return error_response(404, str(exc))
    # Imported here: variants builds on this module (FeedTarget, cache_control).
    from syndicator.web.query import QueryError, parse_query
    from syndicator.web.variants import serve_variant

    try:
        query = parse_query(request.query.items())
    except QueryError as exc:
        return error_response(400, str(exc))
    if len(target.slugs) > 1 or not query.is_empty:
        return await serve_variant(request, runtime, target, query)
    # RFC 3229 `A-IM: feed` + If-None-Match naming a version we keep: a 226 delta
    # (plain feed URLs only: a delta of a filtered variant would be cut from the wrong items).
    if not request.query:
        delta = await serve_delta(request, runtime, target.slugs[0], target.fmt)
        if delta is not None:
            return delta
    return await serve_stored(request, runtime, target.slugs[0], target.fmt)
