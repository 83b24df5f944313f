"""GET/HEAD /feeds/{slug}.{rss|atom|json}: published bytes with validators, or a 304.

The plain feed only reads what publish stored, in one round trip when it can: a
conditional request reads validators first (a 304 never loads a body), an unconditional
one reads validators and the one body in the chosen content coding together. Variants
(filters, combined categories, deltas) are answered by their own modules through the
same `respond`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from syndicator.render import feed_url
from syndicator.runtime import Runtime
from syndicator.store.feeds import load_feed
from syndicator.web.delta import serve_delta
from syndicator.web.negotiation import choose_coding
from syndicator.web.representation import (
    Representation,
    Validators,
    error_response,
    is_not_modified,
    not_modified_response,
    respond,
)

RUNTIME = web.AppKey("runtime", Runtime)
EXTENSIONS = ("rss", "atom", "json")
MAX_COMBINED = 10


class TargetError(Exception):
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
    """The plain, published feed of one category."""
    coding = choose_coding(request.headers.get("Accept-Encoding"))
    # One Redis round trip per request (each costs more than the rest of the request,
    # see bench/serve.py): a conditional request usually ends in a 304, so it reads the
    # validators only; an unconditional one needs the body anyway, so it reads both at
    # once (one HMGET: validators and body of the same version).
    conditional = "If-None-Match" in request.headers or "If-Modified-Since" in request.headers
    meta = await load_feed(runtime.redis, runtime.keys, slug, fmt, None if conditional else coding)
    if meta is None:
        return error_response(
            503, f"feed {slug!r} is not published yet; try again shortly", **{"Retry-After": "5"}
        )
    self_url = feed_url(runtime.site_url, slug, fmt)
    control = cache_control(meta.ttl_minutes)
    validators = Validators(meta.etag(coding), meta.last_modified)
    if is_not_modified(request, validators):
        return not_modified_response(
            validators, self_url=self_url, cache_control=control, media_type=meta.media_type
        )
    feed = meta
    if conditional:  # validators matched nothing: now the body (of the version then current)
        feed = await load_feed(runtime.redis, runtime.keys, slug, fmt, coding) or meta
    return respond(
        request,
        Representation(
            validators=Validators(feed.etag(coding), feed.last_modified),
            media_type=feed.media_type,
            coding=coding,
            self_url=self_url,
            cache_control=control,
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
