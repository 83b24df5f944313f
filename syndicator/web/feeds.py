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
from syndicator.web.target import (
    EXTENSIONS,
    TargetError,
    UnknownCategory,
    parse_target,
    unknown_category_response,
)
from syndicator.web.variants import serve_variant

RUNTIME = web.AppKey("runtime", Runtime)
FEED_CACHE = web.AppKey("feed_cache", FeedCache)
# Where a feed request's bytes came from, for the metrics (web/readiness.py counts it).
CACHE_OUTCOME = web.RequestKey("cache_outcome", str)
# The outcomes of a plain feed answered from the FeedCache (`FeedCache.lookup`), which
# holds it already: LastGood keeps no second copy of these responses.
HELD_BY_FEED_CACHE = frozenset({"memory", "stale", "redis"})
HOT_TARGETS_MAX = 1024


@dataclass(frozen=True, slots=True)
class HeldTarget:
    """What `serve_stored` worked out for one plain feed URL and Accept-Encoding: the
    answer to the next such request while `feed` is still the version held and
    `config` the configuration (both compared by identity: the FeedCache holds one
    object per version, a reload replaces `runtime.config`)."""

    config: Config
    key: tuple[str, str]  # (slug, format): the feed's key in the FeedCache
    feed: StoredFeed
    answers: Prepared


@dataclass(frozen=True)
class HotPath:
    """What a plain feed's answer reads, bound to its route when the app is made: on the
    hot path each `app[KEY]` and each call costs (issue 16; bench/calls.py counts them).

    `prepared`: (slug, fmt, coding) → the answers prepared for one published version
    under one configuration (`PreparedFeed`, made by `prepared_feed`); another version, or
    a reloaded configuration (which may change the site address in the links), prepares
    anew. `targets`: (name as routed, Accept-Encoding as sent) → the `HeldTarget` of a
    plain feed URL that `serve_feed` answered from its stored feed, so that the next
    request for it is answered (errors.feed_handler) by one look-up, without parsing the
    name, the query or the coding again; cleared at HOT_TARGETS_MAX (names and
    Accept-Encoding values are few per site)."""

    runtime: Runtime
    cache: FeedCache
    prepared: dict[tuple[str, str, str], PreparedFeed]
    targets: dict[tuple[str, str | None], HeldTarget]


HOT = web.AppKey("hot_path", HotPath)


@dataclass(frozen=True)
class PreparedFeed:
    """A published version's answers in one coding, and what they were prepared from."""

    feed: StoredFeed  # compared by identity: the FeedCache hands out one object per version
    config: Config  # compared by identity: a reload replaces runtime.config
    answers: Prepared


def plain_feed_names(config: Config) -> list[str]:
    """The names of the configured categories' own feeds (`tech/python.rss`, …): each
    becomes a plain route. Slugs are `[a-z0-9_-]` parts joined by `/` (values.Slug), so
    the path as sent is the name as routed."""
    return [f"{slug}.{fmt}" for slug in config.categories for fmt in EXTENSIONS]


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
    request: web.Request, runtime: Runtime, slug: str, fmt: str, *, hot: str | None = None
) -> web.StreamResponse:
    """The plain, published feed of one category, from the two-level cache. `hot`: the
    feed's name as routed, for a request whose answer the route may give by itself next
    time (no query string, no A-IM), remembered as its `HeldTarget`."""
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
    answers = prepared_feed(paths, feed, slug, fmt, coding)
    if hot is not None:
        targets = paths.targets
        if len(targets) >= HOT_TARGETS_MAX:
            targets.clear()
        targets[hot, accept_encoding] = HeldTarget(runtime.config, (slug, fmt), feed, answers)
    return answers.answer(request)


async def serve_feed(request: web.Request, name: str | None = None) -> web.StreamResponse:
    """/feeds/`name` (None: the name the route matched), the general way."""
    if name is None:
        name = request.match_info["name"]
    runtime = request.app[RUNTIME]
    try:
        target = parse_target(runtime, name)
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
    return await serve_stored(request, runtime, target.slugs[0], target.fmt, hot=name if hot else None)
