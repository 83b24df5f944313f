"""GET/HEAD /feeds/{slug}.{rss|atom|json}: published bytes with validators, or a 304.

The plain feed only reads what publish stored, through the two-level cache (process
memory, invalidated by publish announcements ← Redis; see feedcache.py), so a 304 or an
unchanged 200 usually costs no Redis round trip. Variants (filters, combined categories,
deltas) are answered by their own modules through the same `respond`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web
from redis.exceptions import RedisError

from syndicator.models import Config
from syndicator.render import feed_url, hub_url
from syndicator.runtime import Runtime
from syndicator.store.feeds import StoredFeed
from syndicator.web.delta import serve_delta
from syndicator.web.feedcache import FeedCache
from syndicator.web.lastgood import LAST_GOOD
from syndicator.web.negotiation import choose_coding
from syndicator.web.query import QueryError, parse_query_string
from syndicator.web.representation import (
    Prepared,
    Representation,
    Validators,
    error_response,
    prepare,
    ttl_cache_control,
)
from syndicator.web.target import TargetError, UnknownCategory, parse_target, unknown_category_response
from syndicator.web.variants import serve_variant

RUNTIME = web.AppKey("runtime", Runtime)
FEED_CACHE = web.AppKey("feed_cache", FeedCache)
# Where a feed request's bytes came from, for the metrics (web/readiness.py counts it).
CACHE_OUTCOME = web.RequestKey("cache_outcome", str)
# The outcomes of a plain feed answered from the FeedCache (`FeedCache.lookup`), which
# holds it already: LastGood keeps no second copy of these responses.
HELD_BY_FEED_CACHE = frozenset({"memory", "stale", "redis"})
HOT_TARGETS_MAX = 1024


@dataclass(frozen=True)
class HotPath:
    """What a plain feed's answer reads, under one app key: on the hot path each
    `app[KEY]` is a Python call, and a 304 costs about 167 of them in all (aiohttp's own:
    about 131).

    `prepared`: (slug, fmt, coding) → the answers prepared for one published version
    under one configuration (`PreparedFeed`, made by `prepared_feed`); another version, or
    a reloaded configuration (which may change the site address in the links), prepares
    anew. `targets`: (name as routed, Accept-Encoding as sent) → (configuration, slug,
    format, coding) of a plain feed URL that `serve_feed` answered from its stored feed,
    so that the next request for it is answered by `held_answer` without parsing the
    name, the query or the coding again; cleared at HOT_TARGETS_MAX (names and
    Accept-Encoding values are few per site)."""

    runtime: Runtime
    cache: FeedCache
    prepared: dict[tuple[str, str, str], PreparedFeed]
    targets: dict[tuple[str, str | None], tuple[Config, str, str, str]]


HOT = web.AppKey("hot_path", HotPath)


@dataclass(frozen=True)
class PreparedFeed:
    """A published version's answers in one coding, and what they were prepared from."""

    feed: StoredFeed  # compared by identity: the FeedCache hands out one object per version
    config: Config  # compared by identity: a reload replaces runtime.config
    answers: Prepared


def prepared_feed(hot: HotPath, feed: StoredFeed, slug: str, fmt: str, coding: str) -> Prepared:
    """The finished header sets and body of `feed` in `coding`: made once per published
    version (and configuration), then only looked up."""
    runtime, table = hot.runtime, hot.prepared
    key = (slug, fmt, coding)
    held: PreparedFeed | None = table.get(key)
    if held is not None and held.feed is feed and held.config is runtime.config:
        return held.answers
    site = runtime.site_url
    answers = prepare(
        Representation(
            validators=Validators(feed.etag(coding), feed.last_modified),
            media_type=feed.media_type,
            coding=coding,
            self_url=feed_url(site, slug, fmt),
            cache_control=ttl_cache_control(feed.ttl_minutes),
            body=feed.bodies.get(coding, b""),
            hub_url=hub_url(site),
        )
    )
    table[key] = PreparedFeed(feed, runtime.config, answers)
    return answers


async def serve_stored(
    request: web.Request, runtime: Runtime, slug: str, fmt: str, *, hot: bool = False
) -> web.StreamResponse:
    """The plain, published feed of one category, from the two-level cache. `hot`: the
    request is one `held_answer` may answer next time (no query string, no A-IM)."""
    accept_encoding = request.headers.get("Accept-Encoding")
    coding = choose_coding(accept_encoding)
    app = request.app
    cache = app[FEED_CACHE]
    feed, request[CACHE_OUTCOME] = cache.held(slug, fmt) or await cache.lookup(slug, fmt)
    if feed is None:
        return error_response(
            503, f"feed {slug!r} is not published yet; try again shortly", **{"Retry-After": "5"}
        )
    paths = app[HOT]
    if hot:
        targets = paths.targets
        if len(targets) >= HOT_TARGETS_MAX:
            targets.clear()
        targets[request.match_info["name"], accept_encoding] = (runtime.config, slug, fmt, coding)
    return prepared_feed(paths, feed, slug, fmt, coding).answer(request)


def held_answer(request: web.Request) -> tuple[web.Response, str, str] | None:
    """The answer to a plain feed URL whose feed this process holds in memory, with its
    cache outcome and format, by one look-up of what `serve_feed` worked out for the same
    name and Accept-Encoding under the same configuration; None when `serve_feed` must
    answer (a query string, `A-IM`, a first request, a reloaded configuration, a feed not
    held). The answer is the one `serve_feed` would give: the same prepared headers and
    body, the same 304 test."""
    headers = request.headers
    if "?" in request.raw_path or "A-IM" in headers:
        return None
    hot = request.app[HOT]
    target = hot.targets.get((request.match_info["name"], headers.get("Accept-Encoding")))
    if target is None:
        return None
    config, slug, fmt, coding = target
    held = hot.cache.held(slug, fmt) if hot.runtime.config is config else None
    if held is None:
        return None
    feed, outcome = held
    return prepared_feed(hot, feed, slug, fmt, coding).answer(request), outcome, fmt


async def serve_feed(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    try:
        target = parse_target(runtime, request.match_info["name"])
    except UnknownCategory as exc:
        return await unknown_category_response(runtime, exc)
    except TargetError as exc:
        return error_response(404, str(exc))
    if target.renamed:
        # A renamed category (a former slug, `aliases`): 301 keeps readers, who update the URL.
        moved = f"{runtime.site_url}feeds/{quote(target.name, safe='/+')}.{target.fmt}"
        raise web.HTTPMovedPermanently(moved + (f"?{request.query_string}" if request.query_string else ""))
    try:
        query = parse_query_string(request.query_string, lambda: request.query.items())
    except QueryError as exc:
        return error_response(400, str(exc))
    if len(target.slugs) > 1 or not query.is_empty:  # is_empty: identity first
        request[CACHE_OUTCOME] = "variant"
        return await serve_variant(request, runtime, target, query)
    # RFC 3229 `A-IM: feed` + If-None-Match naming a version we keep: a 226 delta
    # (plain feed URLs only: a delta of a filtered variant would be cut from the wrong items).
    # (Only a request with `A-IM` can be one: the others skip the call.)
    if "A-IM" in request.headers and (not request.query_string or not request.query):
        try:
            delta = await serve_delta(request, runtime, target.slugs[0], target.fmt)
        except (RedisError, OSError):
            # Redis is down: the 226 this process sent for this very request, if it kept
            # one, is replayed (lastgood.py); else the plain feed, if held, is a correct
            # answer too (RFC 3229 lets a server ignore A-IM).
            if request.app[LAST_GOOD].holds(request):
                raise
            delta = None
        if delta is not None:
            request[CACHE_OUTCOME] = "delta"
            return delta
    hot = "A-IM" not in request.headers and "?" not in request.raw_path
    return await serve_stored(request, runtime, target.slugs[0], target.fmt, hot=hot)
